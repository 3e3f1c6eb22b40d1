/*
 * escape.c - printable rendering of hostile text, and a strict UTF-8 decoder.
 */
#include "escape.h"

#include <stdint.h>
#include <stdlib.h>
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

int st_is_unsafe_cp(unsigned long cp)
{
    return st_is_invisible_cp(cp) || cp == 0x061C || cp == 0x180E || cp == 0x2028 || cp == 0x2029 ||
           (cp >= 0xFFF9 && cp <= 0xFFFB) || (cp >= 0xE0000 && cp <= 0xE007F) ||
           (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE;
}

char *st_escape(const void *in, size_t in_len, char *out, size_t out_size, size_t max_chars)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = in;
    size_t o = 0, i = 0;

    if (out_size == 0)
        return out;
    /* room for "..." and the NUL after max_chars (out_size - 4 would wrap below 4) */
    if (max_chars > (out_size > 4 ? out_size - 4 : 0))
        max_chars = out_size > 4 ? out_size - 4 : 0;
    while (i < in_len) {
        /* printable ASCII, nearly every byte of a real path or name, is kept without decoding */
        int ascii = p[i] >= 0x20 && p[i] < 0x7F;
        size_t n = ascii ? 1 : st_utf8_seq_len(p + i, in_len - i);
        int keep = ascii || (n > 0 && !st_is_unsafe_cp(st_utf8_decode(p + i, n)));
        size_t need = keep ? n : 4;
        if (o + need > max_chars) {
            if (o + 4 <= out_size) { /* room for "..." and the NUL (not in a tiny buffer) */
                memcpy(out + o, "...", 3);
                o += 3;
            }
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

char *st_escape_dup(const char *s)
{
    size_t n = strlen(s);
    /* GCOVR_EXCL_START: no string is a quarter of the address space long; kept so that the
     * size below can never wrap */
    if (n > (SIZE_MAX - 8) / 4)
        return NULL;
    /* GCOVR_EXCL_STOP */
    /* each byte yields at most 4; st_escape keeps 4 bytes of room for its "..." */
    size_t size = 4 * n + 8;
    char *out = malloc(size);
    return out ? st_escape(s, n, out, size, size) : NULL;
}

/* The escaped form of s, with its line feeds kept when lines is set. */
static char *escape_lines(const char *s, int lines)
{
    if (!lines)
        return st_escape_dup(s);
    size_t n = strlen(s);
    /* GCOVR_EXCL_BR_START: the size guard cannot fail (see st_escape_dup) */
    char *out = n <= (SIZE_MAX - 8) / 4 ? malloc(4 * n + 8) : NULL, *o = out;
    /* GCOVR_EXCL_BR_STOP */
    for (const char *p = s; out != NULL;) {
        size_t len = strcspn(p, "\n");
        st_escape(p, len, o, 4 * len + 8, 4 * len + 4); /* fits: never cut */
        o += strlen(o);
        if (p[len] == '\0')
            break;
        *o++ = '\n';
        p += len + 1;
    }
    return out;
}

char *st_escape_sarif(const char *s, int flags)
{
    char *e = escape_lines(s, flags & ST_SARIF_LINES);
    if (e == NULL)
        return NULL;
    size_t n = strlen(e);
    /* GCOVR_EXCL_BR_START: the size guard cannot fail (see st_escape_dup) */
    char *out = n <= (SIZE_MAX - 1) / 2 ? malloc(2 * n + 1) : NULL; /* each byte at most 2 */
    /* GCOVR_EXCL_BR_STOP */
    size_t o = 0;
    for (size_t i = 0; out != NULL && i < n; i++) {
        char c = e[i];
        if (c == '{' || c == '}')
            out[o++] = c; /* "{{" and "}}" are literal braces, not placeholders */
        else if (!(flags & ST_SARIF_MARKDOWN) && (c == '\\' || c == '[' || c == ']'))
            out[o++] = '\\'; /* embedded-link syntax: escaped link characters */
        out[o++] = c;
    }
    if (out != NULL)
        out[o] = '\0';
    free(e);
    return out;
}

int st_put_text(FILE *out, const char *s)
{
    char *e = st_escape_dup(s);
    int rc = e != NULL && fputs(e, out) >= 0 ? 0 : -1;
    free(e);
    return rc;
}

int st_put_xml(FILE *out, const char *s)
{
    char *e = st_escape_dup(s);
    if (e == NULL)
        return -1;
    int rc = 0;
    for (const char *p = e; rc == 0 && *p; p++) {
        const char *ent = *p == '&'    ? "&amp;"
                          : *p == '<'  ? "&lt;"
                          : *p == '>'  ? "&gt;"
                          : *p == '"'  ? "&quot;"
                          : *p == '\'' ? "&apos;"
                                       : NULL;
        rc = (ent ? fputs(ent, out) < 0 : fputc(*p, out) == EOF) ? -1 : 0;
    }
    free(e);
    return rc;
}
