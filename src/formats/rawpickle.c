/*
 * rawpickle.c - a file that is a pickle stream: pickle.dump output, joblib without compression,
 * and legacy torch.save checkpoints (before PyTorch 1.6, or _use_new_zipfile_serialization=
 * False). Identified by content: PROTO, or a protocol 0/1 opcode stream.
 *
 * A raw pickle is judged by the data profile (torch + numpy + joblib allowlists); everything
 * after the first pickle is reported (pickle.load stops at STOP) and, when it parses as a
 * pickle, analysed too.
 *
 * A legacy torch checkpoint (torch/serialization.py _legacy_save) is five pickles - the magic
 * number 0x1950a86a20f9469cfc6c, the protocol version, sys_info, the object, the sorted list of
 * storage keys - then, for each key in sorted order, the storage: an 8-byte little-endian element
 * count and that many elements. All five pickles are judged by the torch profile and rules; the
 * storages are bounded against the persistent ids, never read beyond their counts.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/checked.h"
#include "../core/escape.h"
#include "pickle.h"

/* The first pickle of a legacy checkpoint as torch.save writes it: PROTO 2, LONG1 of the magic
 * number, STOP. */
static const unsigned char legacy_magic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                             0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};
/* MAGIC_NUMBER = 0x1950a86a20f9469cfc6c, little-endian */
static const unsigned char magic_le[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                           0x20, 0x6a, 0xa8, 0x50, 0x19};

/* A number up to 128 bits, little-endian 32-bit limbs; over = it grew past them. */
typedef struct {
    uint32_t l[4];
    int over;
} big;

static void big_muladd(big *b, unsigned base, unsigned digit)
{
    uint64_t carry = digit;
    for (int i = 0; i < 4; i++) {
        uint64_t v = (uint64_t)b->l[i] * base + carry;
        b->l[i] = (uint32_t)v;
        carry = v >> 32;
    }
    b->over |= carry != 0;
}

static int big_is_magic(const big *b)
{
    unsigned char le[16];
    for (int i = 0; i < 16; i++)
        le[i] = (unsigned char)(b->l[i / 4] >> (8 * (i % 4)));
    return !b->over && memcmp(le, magic_le, 10) == 0 && !le[10] && !le[11] && !le[12] && !le[13] &&
           !le[14] && !le[15];
}

static int py_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Python's int(text, 0), as the INT and LONG opcodes read it (Modules/_pickle.c load_int,
 * load_long: PyLong_FromString with base 0): whitespace, a sign, 0x/0o/0b prefixes, single
 * underscores between digits, no leading zeros in decimal. 1 when the value is the magic. */
static int text_is_magic(const unsigned char *p, size_t n)
{
    size_t i = 0;
    unsigned base = 10;
    big b;
    memset(&b, 0, sizeof(b));
    while (i < n && py_space(p[i]))
        i++;
    while (n > i && py_space(p[n - 1]))
        n--;
    if (i < n && p[i] == '+')
        i++; /* a minus sign cannot give the (positive) magic */
    if (n - i >= 2 && p[i] == '0') {
        unsigned char c = (unsigned char)(p[i + 1] | 0x20);
        base = c == 'x' ? 16 : c == 'o' ? 8 : c == 'b' ? 2 : 10;
        if (base != 10)
            i += 2;
        else
            return 0; /* "0..." in base 0 is zero or invalid */
    }
    int digits = 0, prev_us = 0, after_prefix = base != 10; /* "0x_1" is valid */
    for (; i < n; i++) {
        unsigned d;
        unsigned char c = p[i];
        if (c == '_') {
            if (prev_us || (digits == 0 && !after_prefix))
                return 0;
            prev_us = 1;
            continue;
        }
        d = c >= '0' && c <= '9'                     ? (unsigned)(c - '0')
            : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (unsigned)((c | 0x20) - 'a' + 10)
                                                     : 99;
        if (d >= base)
            return 0;
        big_muladd(&b, base, d);
        digits++;
        prev_us = 0;
    }
    return digits > 0 && !prev_us && big_is_magic(&b);
}

/* LONG1/LONG4 payload: little-endian two's complement. */
static int bytes_are_magic(const unsigned char *p, size_t n)
{
    if (n < 10 || memcmp(p, magic_le, 10) != 0)
        return 0;
    for (size_t i = 10; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

/* 1 when the first pickle in p (a prefix of the file) evaluates to the magic number however it
 * is encoded: torch's _legacy_load compares pickle.load(f) != MAGIC_NUMBER as integers. Only
 * integer opcodes with PROTO, FRAME and memo opcodes around them are followed; anything that
 * computes a value (a call) is judged by the pickle walk instead. */
static int first_pickle_is_magic(const unsigned char *p, size_t n)
{
    size_t i = 0;
    int found = 0;
    while (i < n) {
        unsigned char op = p[i++];
        const unsigned char *nl;
        size_t k;
        switch (op) {
        case 0x80: /* PROTO */
        case 'q':  /* BINPUT */
            i += 1;
            break;
        case 0x95: /* FRAME */
            i += 8;
            break;
        case 'r': /* LONG_BINPUT */
            i += 4;
            break;
        case 0x94: /* MEMOIZE */
            break;
        case 'p': /* PUT: a decimal line */
        case 'I':
        case 'L':
            nl = memchr(p + i, '\n', n - i);
            if (nl == NULL)
                return 0;
            k = (size_t)(nl - (p + i));
            if (op == 'L' && k > 0 && p[i + k - 1] == 'L')
                k--;
            if (op != 'p') {
                if (found)
                    return 0;
                found = text_is_magic(p + i, k);
                if (!found)
                    return 0;
            }
            i = (size_t)(nl - p) + 1;
            break;
        case 0x8a: /* LONG1 */
        case 0x8b: /* LONG4 */
            k = op == 0x8a ? 1 : 4;
            if (found || n - i < k)
                return 0;
            {
                size_t len = p[i];
                if (op == 0x8b) {
                    uint32_t v = (uint32_t)p[i] | (uint32_t)p[i + 1] << 8 |
                                 (uint32_t)p[i + 2] << 16 | (uint32_t)p[i + 3] << 24;
                    if (v & 0x80000000u)
                        return 0;
                    len = v;
                }
                i += k;
                if (n - i < len || !bytes_are_magic(p + i, len))
                    return 0;
                i += len;
                found = 1;
            }
            break;
        case '.':
            return found;
        default:
            return 0;
        }
    }
    return 0;
}

int st_rawpickle_sniff(const st_input *in)
{
    if (!st_pk_looks_like_pickle(in->head, in->head_len))
        return 0;
    return in->head[0] == 0x80 ? 90 : 70;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(((const st_pk_storage_ref *)a)->key, ((const st_pk_storage_ref *)b)->key);
}

/* Walks the storages after the fifth pickle, in sorted key order, against the ids. */
static st_error legacy_storages(st_input *in, st_pk_storage_ref *refs, size_t n, uint64_t pos)
{
    char shown[96];
    if (n > 1)
        qsort(refs, n, sizeof(*refs), key_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(refs[i].key, refs[i - 1].key) == 0)
            continue; /* views share their root storage */
        unsigned char cnt[8];
        uint64_t numel, bytes, end;
        st_escape(refs[i].key, strlen(refs[i].key), shown, sizeof(shown), 60);
        if (in->src->size - pos < 8) {
            st_report_add(in->report, ST_R_TORCH_STORAGE, pos, 0,
                          "storage \"%s\" is missing from the end of the file", shown);
            return ST_OK;
        }
        if (st_src_read(in->src, pos, cnt, 8) != ST_OK) { /* not "missing": could not check */
            st_report_add(in->report, ST_R_IO, pos, 8, "could not read storage \"%s\"", shown);
            return ST_E_IO;
        }
        numel = st_le64(cnt);
        if (numel != refs[i].numel) {
            st_report_add(in->report, ST_R_TORCH_STORAGE, pos, 8,
                          "storage \"%s\" records %llu elements; its persistent id says %llu",
                          shown, (unsigned long long)numel, (unsigned long long)refs[i].numel);
            return ST_OK;
        }
        if (refs[i].elem_size == 0 || st_mul_u64(numel, refs[i].elem_size, &bytes) ||
            st_add_u64(pos + 8, bytes, &end) || end > in->src->size) {
            st_report_add(in->report, ST_R_TORCH_STORAGE, pos, 8,
                          "storage \"%s\" of %llu elements runs past the end of the file", shown,
                          (unsigned long long)numel);
            return ST_OK;
        }
        pos = end;
    }
    if (pos < in->src->size)
        st_report_add(in->report, ST_R_PK_TRAILING, pos, in->src->size - pos,
                      "%llu bytes follow the last storage",
                      (unsigned long long)(in->src->size - pos));
    return ST_OK;
}

static st_error check_legacy(st_input *in)
{
    st_pk_job job = {.in = in,
                     .src = in->src,
                     .end = in->src->size,
                     .profile = ST_PK_PROFILE_TORCH,
                     .single = 1,
                     .torch_rules = 1};
    st_pk_storage_ref *refs = NULL;
    size_t n_refs = 0;
    st_error err = ST_OK;
    in->report->format = "pytorch-legacy";
    for (int k = 0; k < 5 && err == ST_OK; k++) {
        st_pk_result res;
        err = st_pickle_walk(&job, &res);
        int done = err == ST_OK && !res.malformed && res.pickles == 1;
        if (done && res.n_storages > 0) {
            st_pk_storage_ref *p = realloc(refs, (n_refs + res.n_storages) * sizeof(*p));
            if (p == NULL)
                err = ST_E_NOMEM;
            else {
                memcpy(p + n_refs, res.storages, res.n_storages * sizeof(*p));
                refs = p;
                n_refs += res.n_storages;
            }
        }
        job.start = res.stop_end;
        st_pk_result_free(&res);
        if (!done) {
            free(refs);
            return err; /* a malformed record was reported; what follows cannot be framed */
        }
    }
    if (err == ST_OK)
        err = legacy_storages(in, refs, n_refs, job.start);
    free(refs);
    return err;
}

st_error st_rawpickle_check(st_input *in)
{
    int canonical = in->head_len >= sizeof(legacy_magic) &&
                    memcmp(in->head, legacy_magic, sizeof(legacy_magic)) == 0;
    if (!canonical && first_pickle_is_magic(in->head, in->head_len))
        st_report_add(in->report, ST_R_LEGACY_MAGIC_ENCODING, 0, 0,
                      "the legacy torch magic number is written in another pickle encoding than "
                      "torch.save's; torch loads it all the same");
    if (canonical || first_pickle_is_magic(in->head, in->head_len))
        return check_legacy(in);
    st_pk_result res;
    st_pk_job job = {.in = in, .src = in->src, .end = in->src->size, .profile = ST_PK_PROFILE_DATA};
    in->report->format = "pickle";
    st_error err = st_pickle_walk(&job, &res);
    st_pk_result_free(&res);
    return err;
}
