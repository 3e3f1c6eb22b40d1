/*
 * escape.c - printable rendering of hostile text, and a strict UTF-8 decoder.
 */
#include "escape.h"

#include <string.h>

size_t st_utf8_seq_len(const unsigned char *p, size_t avail)
{
    unsigned c = p[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF; /* bounds of the second byte */

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else
        return 0; /* 80..C1 and F5..FF never start a sequence */
    if (avail < n)
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

unsigned long st_utf8_decode(const unsigned char *p, size_t len)
{
    static const unsigned char lead_mask[5] = {0, 0x7F, 0x1F, 0x0F, 0x07};
    unsigned long cp = p[0] & lead_mask[len];
    for (size_t i = 1; i < len; i++)
        cp = (cp << 6) | (p[i] & 0x3F);
    return cp;
}

size_t st_utf8_encode(unsigned char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

int st_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int st_is_invisible_cp(unsigned long cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0xAD ||
           (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2060 && cp <= 0x206F) || cp == 0xFEFF;
}

char *st_escape(const void *in, size_t in_len, char *out, size_t out_size, size_t max_chars)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = in;
    size_t o = 0, i = 0;

    if (out_size == 0)
        return out;
    if (max_chars > out_size - 4)
        max_chars = out_size > 4 ? out_size - 4 : 0;
    while (i < in_len) {
        size_t n = st_utf8_seq_len(p + i, in_len - i);
        int keep = n > 0 && !st_is_invisible_cp(st_utf8_decode(p + i, n));
        size_t need = keep ? n : 4;
        if (o + need > max_chars) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (keep) {
            memcpy(out + o, p + i, n);
            i += n;
        } else {
            out[o] = '\\';
            out[o + 1] = 'x';
            out[o + 2] = hex[p[i] >> 4];
            out[o + 3] = hex[p[i] & 15];
            i++;
        }
        o += need;
    }
    out[o] = '\0';
    return out;
}
