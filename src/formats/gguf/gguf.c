/*
 * gguf.c - structural validator for GGUF (llama.cpp, Ollama, LM Studio), versions 1-3,
 * little-endian.
 *
 * The reference is ggml's gguf_init_from_reader (ggml-org/ggml src/gguf.cpp at d99724f2), the
 * reader llama.cpp loads every model with: the same header checks, key/value types, tensor info
 * checks (63-byte names, n_dims <= 4, element and byte counts, block sizes) and the exact data
 * layout it requires (each tensor at the aligned end of the previous one). Beyond it, what
 * readers disagree on is refused too: keys and names with NUL bytes (llama.cpp's lookups stop at
 * them, other readers' do not), invalid UTF-8, BOOL bytes other than 0/1, nonzero padding,
 * bytes after the data section. Big-endian files are identified and not checked (could not
 * check); version 1 is checked with its 32-bit counts and reported as refused by llama.cpp.
 *
 * Reads: the metadata and tensor infos through a 64 KiB window (st_src_read only), the padding
 * between tensors, and the first bytes after the data section; tensor data only with --deep.
 * Every count and length is compared with the bytes that remain before it is used, and counts
 * are bounded first by a cheap lower bound of their encoded size. No recursion: nested arrays
 * are walked with an explicit stack bounded by the gguf_array_depth limit.
 */
#include <stdlib.h>
#include <string.h>

#include "../../core/checked.h"
#include "../../core/digest.h"
#include "../../core/escape.h"
#include "../pickle.h"
#include "gguf.h"

#define WINDOW (64u * 1024u)
#define MAX_KEY 65535u                     /* the specification's key length bound */
#define MAX_NAME 63u                       /* GGML_MAX_NAME - 1 */
#define MAX_STRING (1024u * 1024u * 1024u) /* GGUF_MAX_STRING_LENGTH */
#define MAX_ARRAY (1024u * 1024u * 1024u)  /* GGUF_MAX_ARRAY_ELEMENTS */
#define MAX_ALIGN (1u << 20)
#define SHOW 80

static const uint32_t value_size[GG_NTYPES] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

/* ---- bounded reader ------------------------------------------------------------------------- */

/* A pointer to the n (<= WINDOW) bytes at the reader's position, which then advances; NULL at
 * the end of the file (the caller reports it) or on a read error (g->err is set). */
static const unsigned char *take(st_gguf *g, size_t n)
{
    uint64_t end;
    if (st_add_u64(g->pos, n, &end) || end > g->size)
        return NULL;
    if (g->pos < g->boff || end > g->boff + g->blen) {
        size_t len = g->size - g->pos < WINDOW ? (size_t)(g->size - g->pos) : WINDOW;
        if (st_src_read(g->in->src, g->pos, g->buf, len) != ST_OK) {
            st_report_add(g->r, ST_R_IO, g->pos, len, "could not read the GGUF metadata");
            g->err = ST_E_IO;
            g->stop = 1;
            return NULL;
        }
        g->boff = g->pos;
        g->blen = len;
    }
    const unsigned char *p = g->buf + (g->pos - g->boff);
    g->pos = end;
    return p;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Records that the file ends before what a count or length announces, once; stops the walk. */
static int truncated(st_gguf *g, uint64_t at, const char *what)
{
    if (!g->stop)
        st_report_add(g->r, ST_R_GGUF_TRUNCATED, at, 0,
                      "%s runs past the end of the file (%llu bytes)", what,
                      (unsigned long long)g->size);
    g->stop = 1;
    return -1;
}

static int rd_u32(st_gguf *g, uint32_t *v, const char *what)
{
    uint64_t at = g->pos;
    const unsigned char *p = take(g, 4);
    if (p == NULL)
        return truncated(g, at, what);
    *v = le32(p);
    return 0;
}

static int rd_u64(st_gguf *g, uint64_t *v, const char *what)
{
    uint64_t at = g->pos;
    const unsigned char *p = take(g, 8);
    if (p == NULL)
        return truncated(g, at, what);
    *v = st_le64(p);
    return 0;
}

/* A count or length: 32 bits in version 1, 64 bits after. */
static int rd_len(st_gguf *g, uint64_t *v, const char *what)
{
    if (!g->v1)
        return rd_u64(g, v, what);
    uint32_t x;
    if (rd_u32(g, &x, what) != 0)
        return -1;
    *v = x;
    return 0;
}

static uint64_t remain(const st_gguf *g)
{
    return g->size - g->pos;
}

/* Advances over n bytes known to be in the file. */
static void skip(st_gguf *g, uint64_t n)
{
    g->pos += n;
}

/* ---- UTF-8 across chunks ----------------------------------------------------------------------
 */

typedef struct {
    unsigned need;        /* continuation bytes still expected */
    unsigned char lo, hi; /* bounds of the next continuation byte */
    int bad, ctl, nul;    /* invalid UTF-8; control bytes; NUL bytes */
    uint64_t first_nul;   /* index of the first NUL */
    uint64_t n;           /* bytes fed */
    uint64_t space_at;    /* index of the first ' ' after index 0 (merges), or UINT64_MAX */
} u8state;

static void u8_init(u8state *s)
{
    s->need = 0;
    s->lo = s->hi = 0;
    s->bad = s->ctl = s->nul = 0;
    s->n = 0;
    s->first_nul = UINT64_MAX;
    s->space_at = UINT64_MAX;
}

static void u8_lead(u8state *s, unsigned char c)
{
    if (c >= 0xC2 && c <= 0xDF)
        s->need = 1, s->lo = 0x80, s->hi = 0xBF;
    else if (c >= 0xE0 && c <= 0xEF)
        s->need = 2, s->lo = c == 0xE0 ? 0xA0 : 0x80, s->hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
        s->need = 3, s->lo = c == 0xF0 ? 0x90 : 0x80, s->hi = c == 0xF4 ? 0x8F : 0xBF;
    else
        s->bad = 1;
}

#define ONES UINT64_C(0x0101010101010101)
#define HIGH UINT64_C(0x8080808080808080)

/* Nonzero when none of the 8 bytes of w needs the byte loop: ASCII 0x21-0x7e (no control byte,
 * no DEL, no space, no UTF-8 sequence). Metadata is mostly such text, 8 bytes per step. */
static int plain8(uint64_t w)
{
    uint64_t low = (w - 0x21 * ONES) & ~w & HIGH; /* a byte below 0x21 */
    uint64_t del = (w + ONES) & HIGH;             /* 0x7f (or a high byte, tested too) */
    return ((w & HIGH) | low | del) == 0;
}

static void u8_feed(u8state *s, const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (s->need == 0 && i + 8 <= n) {
        uint64_t w;
        memcpy(&w, p + i, 8); /* only tested by bytes: the host's byte order does not matter */
        if (!plain8(w))
            break;
        i += 8;
    }
    for (; i < n; i++) {
        unsigned char c = p[i];
        if (s->need) {
            if (c < s->lo || c > s->hi) {
                s->bad = 1;
                s->need = 0;
                continue;
            }
            s->lo = 0x80, s->hi = 0xBF;
            s->need--;
        } else if (c >= 0x80) {
            u8_lead(s, c);
        } else if (c < 0x20 || c == 0x7F) {
            s->ctl = 1;
            if (c == 0 && !s->nul) {
                s->nul = 1;
                s->first_nul = s->n + i;
            }
        } else if (c == ' ' && s->space_at == UINT64_MAX && s->n + i > 0) {
            s->space_at = s->n + i;
        }
    }
    s->n += n;
}

static int u8_ok(const u8state *s)
{
    return !s->bad && s->need == 0;
}

/* ---- arena -------------------------------------------------------------------------------- */

/* Copies n bytes plus a NUL into the arena; its offset, or -1 (report failed). */
static long arena_put(st_gguf *g, const unsigned char *p, size_t n)
{
    uint64_t need;
    if (st_add_u64(g->alen, (uint64_t)n + 1, &need) ||
        need > g->ctx->limits[ST_LIMIT_HEADER_BYTES]) {
        st_report_add(g->r, ST_R_LIMIT, g->pos, 0,
                      "GGUF keys, names and captured strings exceed %llu bytes (header_bytes)",
                      (unsigned long long)g->ctx->limits[ST_LIMIT_HEADER_BYTES]);
        g->err = ST_E_LIMIT;
        g->stop = 1;
        return -1;
    }
    if (need > g->acap) {
        size_t cap = g->acap ? g->acap : 4096;
        while (cap < need)
            cap *= 2;
        char *a = realloc(g->arena, cap);
        if (a == NULL) {         /* GCOVR_EXCL_BR_LINE: malloc failure */
            g->err = ST_E_NOMEM; /* GCOVR_EXCL_LINE: malloc failure */
            g->stop = 1;         /* GCOVR_EXCL_LINE: malloc failure */
            return -1;           /* GCOVR_EXCL_LINE: malloc failure */
        }
        g->arena = a;
        g->acap = cap;
    }
    long off = (long)g->alen;
    if (n)
        memcpy(g->arena + g->alen, p, n);
    g->arena[g->alen + n] = '\0';
    g->alen = need;
    return off;
}

const char *st_gguf_show(const st_gguf *g, uint32_t off, uint32_t len, char *buf, size_t size)
{
    return st_escape(g->arena + off, len, buf, size, SHOW);
}

long st_gguf_find(const st_gguf *g, const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < g->nkv; i++)
        if (g->kv[i].trunc_len == n && memcmp(st_gguf_key(g, i), key, n) == 0)
            return (long)i;
    return -1;
}

/* Reads a string of length len at the position into the arena (len <= cap), checking UTF-8;
 * its arena offset or -1. */
static long read_small_string(st_gguf *g, uint64_t len, u8state *u)
{
    const unsigned char *p = take(g, (size_t)len);
    if (p == NULL)
        return -1; /* only on a read error: the caller checked len against remain() */
    u8_init(u);
    u8_feed(u, p, (size_t)len);
    return arena_put(g, p, (size_t)len);
}

/* Streams a string of len bytes (len <= remain()) through the UTF-8 check, capturing it into
 * the arena when capture is set. */
static int stream_string(st_gguf *g, uint64_t len, u8state *u, int capture, long *cap_off)
{
    u8_init(u);
    if (capture && (*cap_off = arena_put(g, NULL, 0)) < 0)
        return -1;
    while (len > 0) {
        size_t n = len < WINDOW ? (size_t)len : WINDOW;
        const unsigned char *p = take(g, n);
        if (p == NULL)
            return -1;
        u8_feed(u, p, n);
        if (capture) {
            g->alen--; /* drop the NUL and append */
            if (arena_put(g, p, n) < 0)
                return -1;
        }
        len -= n;
    }
    return 0;
}

/* ---- header --------------------------------------------------------------------------------- */

static int check_header(st_gguf *g)
{
    const unsigned char *p = take(g, 8);
    if (p == NULL)
        return truncated(g, 0, "the GGUF header");
    g->version = le32(p + 4);
    if (g->version != 0 && (g->version & 0xFFFFu) == 0) {
        st_report_add(g->r, ST_R_GGUF_BIG_ENDIAN, 4, 4,
                      "version field 0x%08x: a big-endian GGUF file (not checked byte-swapped)",
                      g->version);
        g->err = ST_E_UNSUPPORTED;
        return -1;
    }
    if (g->version == 0 || g->version > 3) {
        st_report_add(g->r, ST_R_GGUF_VERSION, 4, 4, "GGUF version %u is not 1, 2 or 3",
                      g->version);
        if (g->version > 3)
            g->err = ST_E_UNSUPPORTED;
        return -1;
    }
    g->v1 = g->version == 1;
    if (g->v1)
        st_report_add(g->r, ST_R_GGUF_V1, 4, 4,
                      "GGUF version 1: current llama.cpp refuses it (\"GGUFv1 is no longer "
                      "supported\")");
    if (rd_len(g, &g->n_tensors, "the tensor count") || rd_len(g, &g->n_kv, "the key count"))
        return -1;
    /* gguf.cpp reads both as int64_t and refuses negatives */
    if (g->n_tensors > (uint64_t)INT64_MAX || g->n_kv > (uint64_t)INT64_MAX) {
        st_report_add(g->r, ST_R_GGUF_LOADER_MAX, 8, g->v1 ? 8 : 16,
                      "negative tensor or key count (read as int64 by llama.cpp)");
        g->stop = 1;
        return -1;
    }
    /* Lower bounds of the encoded sizes: a key/value takes at least its length, one key byte,
     * its type and one value byte; a tensor info its name length, n_dims, type and offset. */
    uint64_t kv_min = g->v1 ? 10 : 14, ti_min = g->v1 ? 20 : 24, a, b, sum;
    if (st_mul_u64(g->n_kv, kv_min, &a) || st_mul_u64(g->n_tensors, ti_min, &b) ||
        st_add_u64(a, b, &sum) || sum > remain(g))
        return truncated(g, 8, "the key and tensor counts");
    if (g->n_kv > g->ctx->limits[ST_LIMIT_GGUF_KV] ||
        g->n_tensors > g->ctx->limits[ST_LIMIT_TENSORS]) {
        st_report_add(g->r, ST_R_LIMIT, 8, 0,
                      "%llu keys and %llu tensors: above the gguf_kv "
                      "(%llu) or tensors (%llu) limit",
                      (unsigned long long)g->n_kv, (unsigned long long)g->n_tensors,
                      (unsigned long long)g->ctx->limits[ST_LIMIT_GGUF_KV],
                      (unsigned long long)g->ctx->limits[ST_LIMIT_TENSORS]);
        g->err = ST_E_LIMIT;
        return -1;
    }
    g->kv = calloc(g->n_kv ? (size_t)g->n_kv : 1, sizeof(*g->kv));
    g->t = calloc(g->n_tensors ? (size_t)g->n_tensors : 1, sizeof(*g->t));
    if (g->kv == NULL || g->t == NULL) { /* GCOVR_EXCL_BR_LINE: malloc failure */
        g->err = ST_E_NOMEM;             /* GCOVR_EXCL_LINE: malloc failure */
        return -1;                       /* GCOVR_EXCL_LINE: malloc failure */
    }
    return 0;
}

/* ---- keys ----------------------------------------------------------------------------------- */

/* The specification's key grammar: lower_snake_case segments separated by '.', ASCII; '-'
 * is allowed too because real architecture names (command-r) carry it into keys. */
int st_gguf_key_grammar_ok(const char *k, size_t n)
{
    int seg = 0;
    for (size_t i = 0; i < n; i++) {
        char c = k[i];
        if (c == '.') {
            if (seg == 0)
                return 0;
            seg = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-') {
            seg++;
        } else {
            return 0;
        }
    }
    return seg > 0;
}

static int read_key(st_gguf *g, st_gguf_kv *kv)
{
    uint64_t len;
    char shown[SHOW + 8];
    kv->off = g->pos;
    if (rd_len(g, &len, "a key length") != 0)
        return -1;
    if (len > remain(g))
        return truncated(g, kv->off, "a key");
    if (len == 0 || len > MAX_KEY) {
        st_report_add(g->r, ST_R_GGUF_KEY_INVALID, kv->off, 0, "key of %llu bytes (%s)",
                      (unsigned long long)len,
                      len ? "above 65,535" : "llama.cpp refuses empty keys");
        if (len > MAX_STRING)
            st_report_add(g->r, ST_R_GGUF_LOADER_MAX, kv->off, 0,
                          "key length above llama.cpp's 1 GiB string limit");
        skip(g, len);
        return g->stop ? -1 : 0; /* key_len 0: the arena's empty string at offset 0 */
    }
    u8state u;
    long off = read_small_string(g, len, &u);
    if (off < 0)
        return -1;
    kv->key_off = (uint32_t)off;
    kv->key_len = (uint32_t)len;
    kv->trunc_len = u.nul ? (uint32_t)u.first_nul : (uint32_t)len;
    st_gguf_show(g, kv->key_off, kv->key_len, shown, sizeof(shown));
    if (!u8_ok(&u) || u.ctl)
        st_report_add(g->r, ST_R_GGUF_KEY_INVALID, kv->off, len + (g->v1 ? 4 : 8), "key \"%s\" %s",
                      shown,
                      !u8_ok(&u) ? "is not valid UTF-8"
                      : u.nul    ? "holds a NUL byte: llama.cpp's lookups stop there"
                                 : "holds control bytes");
    else if (!st_gguf_key_grammar_ok(st_gguf_key(g, (size_t)(kv - g->kv)), kv->key_len))
        st_report_add(g->r, ST_R_GGUF_KEY_GRAMMAR, kv->off, len + (g->v1 ? 4 : 8),
                      "key \"%s\" is not lower_snake_case segments separated by dots", shown);
    return 0;
}

/* ---- values --------------------------------------------------------------------------------- */

/* Keys whose string values are kept: the architecture and the chat templates. */
static int capture_key(const char *k, size_t n)
{
    static const char tpl[] = "tokenizer.chat_template";
    return (n == 20 && memcmp(k, "general.architecture", 20) == 0) ||
           (n >= sizeof(tpl) - 1 && memcmp(k, tpl, sizeof(tpl) - 1) == 0 &&
            (n == sizeof(tpl) - 1 || k[sizeof(tpl) - 1] == '.'));
}

static int is_merges(const char *k, size_t n)
{
    return n == 21 && memcmp(k, "tokenizer.ggml.merges", 21) == 0;
}

typedef struct {
    st_gguf *g;
    st_gguf_kv *kv;
    int capture, merges, index;
    uint64_t bad_utf8, bad_bool, no_space;
    uint64_t first_bad;
} val_ctx;

static int read_string_value(val_ctx *v, uint64_t at)
{
    st_gguf *g = v->g;
    uint64_t len;
    if (rd_len(g, &len, "a string length") != 0)
        return -1;
    if (len > remain(g))
        return truncated(g, at, "a string");
    if (len > MAX_STRING) {
        st_report_add(g->r, ST_R_GGUF_LOADER_MAX, at, 0,
                      "string of %llu bytes: above llama.cpp's 1 GiB limit",
                      (unsigned long long)len);
        v->kv->bad = 1;
    }
    int cap = v->capture && len <= g->ctx->limits[ST_LIMIT_TEMPLATE_BYTES];
    if (v->capture && !cap) {
        st_report_add(g->r, ST_R_LIMIT, at, len,
                      "string value of %llu bytes: above the chat_template_bytes limit (%llu)",
                      (unsigned long long)len,
                      (unsigned long long)g->ctx->limits[ST_LIMIT_TEMPLATE_BYTES]);
        g->err = ST_E_LIMIT;
    }
    u8state u;
    long off = -1;
    if (stream_string(g, len, &u, cap, &off) != 0)
        return -1;
    if (!u8_ok(&u) && v->bad_utf8++ == 0)
        v->first_bad = at;
    if (v->merges && u.space_at == UINT64_MAX)
        v->no_space++;
    if (cap) {
        v->kv->has_sval = 1;
        v->kv->sval_off = (uint32_t)off;
        v->kv->sval_len = (uint32_t)len;
    }
    return 0;
}

static void keep_scalar(st_gguf_kv *kv, unsigned type, const unsigned char *p)
{
    switch (type) {
    case GG_U8:
    case GG_BOOL:
        kv->u = p[0], kv->i = p[0];
        break;
    case GG_I8:
        kv->u = p[0], kv->i = (int8_t)p[0];
        break;
    case GG_U16:
        kv->u = (uint16_t)(p[0] | p[1] << 8), kv->i = (int64_t)kv->u;
        break;
    case GG_I16:
        kv->u = (uint16_t)(p[0] | p[1] << 8), kv->i = (int16_t)kv->u;
        break;
    case GG_U32:
        kv->u = le32(p), kv->i = (int64_t)kv->u;
        break;
    case GG_I32:
        kv->u = le32(p), kv->i = (int32_t)le32(p);
        break;
    case GG_F32: {
        uint32_t b = le32(p);
        float f;
        memcpy(&f, &b, 4);
        kv->f = f;
        break;
    }
    case GG_U64:
    case GG_I64:
        kv->u = st_le64(p), kv->i = (int64_t)kv->u;
        break;
    default: { /* GG_F64 */
        uint64_t b = st_le64(p);
        memcpy(&kv->f, &b, 8);
        break;
    }
    }
}

/* The elements of a layer index array (INT32, bytes <= remain()): their largest value into
 * kv->i, for gguf_keys.c to compare with the block count. Whole elements per chunk: WINDOW is
 * a multiple of 4. */
static int index_max(st_gguf *g, st_gguf_kv *kv, uint64_t bytes)
{
    while (bytes > 0) {
        size_t k = bytes < WINDOW ? (size_t)bytes : WINDOW;
        const unsigned char *p = take(g, k);
        if (p == NULL)
            return -1;
        for (size_t i = 0; i + 4 <= k; i += 4)
            if ((int32_t)le32(p + i) > kv->i)
                kv->i = (int32_t)le32(p + i);
        bytes -= k;
    }
    return 0;
}

/* n fixed-size elements of type; BOOL bytes are checked one by one. */
static int read_fixed(val_ctx *v, unsigned type, uint64_t n, uint64_t at)
{
    st_gguf *g = v->g;
    uint64_t bytes = n * value_size[type]; /* n was bounded by remain() / size */
    if (v->index && v->kv->type == GG_ARRAY && v->kv->etype == GG_I32)
        return index_max(g, v->kv, bytes); /* only at the top level: nested, etype is ARRAY */
    if (type != GG_BOOL) {
        if (n == 1 && v->kv->n == 1 && v->kv->type == type) {
            const unsigned char *p = take(g, value_size[type]);
            if (p == NULL)
                return -1;
            keep_scalar(v->kv, type, p);
        } else {
            skip(g, bytes);
        }
        return 0;
    }
    while (bytes > 0) {
        size_t k = bytes < WINDOW ? (size_t)bytes : WINDOW;
        const unsigned char *p = take(g, k);
        if (p == NULL)
            return -1;
        for (size_t i = 0; i < k; i++)
            if (p[i] > 1 && v->bad_bool++ == 0)
                v->first_bad = g->pos - k + i;
        if (n == 1 && v->kv->type == GG_BOOL)
            keep_scalar(v->kv, GG_BOOL, p);
        bytes -= k;
    }
    (void)at;
    return 0;
}

/* An array header (element type, count) at the position, checked against the bytes left. */
static int array_header(val_ctx *v, uint32_t *etype, uint64_t *n)
{
    st_gguf *g = v->g;
    uint64_t at = g->pos, min;
    if (rd_u32(g, etype, "an array type") != 0 || rd_len(g, n, "an array length") != 0)
        return -1;
    if (*etype >= GG_NTYPES) {
        st_report_add(g->r, ST_R_GGUF_VALUE_TYPE, at, 4, "array element type %u is not a GGUF type",
                      *etype);
        g->stop = 1;
        return -1;
    }
    min = *etype == GG_STRING  ? (g->v1 ? 4 : 8)
          : *etype == GG_ARRAY ? (g->v1 ? 8 : 12)
                               : value_size[*etype];
    if (st_mul_u64(*n, min, &min) || min > remain(g))
        return truncated(g, at, "an array");
    if (*n > MAX_ARRAY) {
        st_report_add(g->r, ST_R_GGUF_LOADER_MAX, at, 0,
                      "array of %llu elements: above llama.cpp's 2^30", (unsigned long long)*n);
        v->kv->bad = 1;
    }
    return 0;
}

typedef struct {
    uint32_t etype;
    uint64_t left;
} frame;

/* The strings of an array that lie wholly inside the reader's window, checked in place: the
 * vocabulary of a model is hundreds of thousands of short strings, and this loop is most of
 * the metadata's cost. Strings that cross the window's end (or are captured) take the general
 * path. */
static void string_run(val_ctx *v, frame *f)
{
    st_gguf *g = v->g;
    size_t lw = g->v1 ? 4 : 8;
    if (v->capture || g->pos < g->boff || g->pos > g->boff + g->blen)
        return;
    const unsigned char *p = g->buf + (g->pos - g->boff), *end = g->buf + g->blen;
    while (f->left > 0 && (size_t)(end - p) >= lw) {
        uint64_t len = g->v1 ? le32(p) : st_le64(p);
        if (len > (uint64_t)(end - p) - lw)
            break;
        u8state u;
        u8_init(&u);
        u8_feed(&u, p + lw, (size_t)len);
        if (!u8_ok(&u) && v->bad_utf8++ == 0)
            v->first_bad = g->boff + (uint64_t)(p - g->buf);
        if (v->merges && u.space_at == UINT64_MAX)
            v->no_space++;
        p += lw + len;
        f->left--;
    }
    g->pos = g->boff + (uint64_t)(p - g->buf);
}

/* An array value, nested arrays included, walked with an explicit stack. */
static int read_array(val_ctx *v)
{
    st_gguf *g = v->g;
    unsigned maxd = (unsigned)g->ctx->limits[ST_LIMIT_GGUF_ARRAY_DEPTH];
    frame st[64 + 1];
    unsigned d = 0;
    if (array_header(v, &st[0].etype, &st[0].left) != 0)
        return -1;
    v->kv->etype = (uint8_t)st[0].etype;
    v->kv->n = st[0].left;
    if (st[0].etype == GG_ARRAY)
        st_report_add(g->r, ST_R_GGUF_NESTED_ARRAY, v->kv->voff, 0,
                      "an array of arrays: llama.cpp refuses nested arrays");
    for (;;) {
        frame *f = &st[d];
        if (f->left == 0) {
            if (d == 0)
                return 0;
            d--;
            continue;
        }
        if (f->etype == GG_STRING) {
            string_run(v, f);
            if (f->left == 0)
                continue;
            f->left--;
            if (read_string_value(v, g->pos) != 0)
                return -1;
        } else if (f->etype == GG_ARRAY) {
            f->left--;
            if (d + 1 >= maxd) {
                st_report_add(g->r, ST_R_LIMIT, g->pos, 0,
                              "arrays nested deeper than %u (gguf_array_depth)", maxd);
                g->err = ST_E_LIMIT;
                g->stop = 1;
                return -1;
            }
            d++;
            if (array_header(v, &st[d].etype, &st[d].left) != 0)
                return -1;
        } else {
            if (read_fixed(v, f->etype, f->left, g->pos) != 0)
                return -1;
            f->left = 0;
        }
    }
}

static void value_findings(val_ctx *v)
{
    st_gguf *g = v->g;
    char shown[SHOW + 8];
    st_gguf_show(g, v->kv->key_off, v->kv->key_len, shown, sizeof(shown));
    if (v->bad_bool) {
        st_report_add(g->r, ST_R_GGUF_BOOL, v->first_bad, 1,
                      "key \"%s\": %llu BOOL value(s) neither 0 nor 1", shown,
                      (unsigned long long)v->bad_bool);
        v->kv->bad = 1;
    }
    if (v->bad_utf8) {
        st_report_add(g->r, ST_R_GGUF_STRING_UTF8, v->first_bad, 0,
                      "key \"%s\": %llu string(s) not valid UTF-8", shown,
                      (unsigned long long)v->bad_utf8);
        v->kv->bad = 1;
    }
    if (v->no_space)
        st_report_add(g->r, ST_R_GGUF_TOKENIZER, v->kv->voff, 0,
                      "key \"%s\": %llu merge(s) without a space after the first byte (llama.cpp "
                      "asserts on them)",
                      shown, (unsigned long long)v->no_space);
}

static int read_kv(st_gguf *g, st_gguf_kv *kv)
{
    uint32_t type;
    if (read_key(g, kv) != 0)
        return -1;
    uint64_t at = g->pos;
    if (rd_u32(g, &type, "a value type") != 0)
        return -1;
    kv->voff = g->pos;
    kv->n = 1;
    if (type >= GG_NTYPES) {
        char shown[SHOW + 8];
        st_report_add(g->r, ST_R_GGUF_VALUE_TYPE, at, 4,
                      "key \"%s\": value type %u is not a GGUF type",
                      st_gguf_show(g, kv->key_off, kv->key_len, shown, sizeof(shown)), type);
        g->stop = 1;
        return -1;
    }
    kv->type = (uint8_t)type;
    val_ctx v = {.g = g, .kv = kv};
    const char *k = st_gguf_key(g, (size_t)(kv - g->kv));
    v.capture = capture_key(k, kv->key_len) && type == GG_STRING;
    v.merges = is_merges(k, kv->key_len);
    v.index = st_gguf_is_layer_index(k, kv->key_len);
    kv->i = v.index ? -1 : 0;
    int rc;
    if (type == GG_STRING)
        rc = read_string_value(&v, kv->voff);
    else if (type == GG_ARRAY)
        rc = read_array(&v);
    else if (value_size[type] > remain(g))
        rc = truncated(g, kv->voff, "a value");
    else
        rc = read_fixed(&v, type, 1, kv->voff);
    if (rc == 0)
        value_findings(&v);
    return rc;
}

/* ---- duplicates (exact bytes, and up to a NUL) ------------------------------------------------
 */

typedef struct {
    const char *s;
    uint32_t len;
    uint32_t idx;
} name_ref;

static int cmp_ref(const void *a, const void *b)
{
    const name_ref *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    if (c != 0)
        return c;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int ref_eq(const name_ref *a, const name_ref *b)
{
    return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

static void name_of(const st_gguf *g, int keys, size_t i, uint32_t *off, uint32_t *len,
                    uint32_t *tl)
{
    *off = keys ? g->kv[i].key_off : g->t[i].name_off;
    *len = keys ? g->kv[i].key_len : g->t[i].name_len;
    *tl = keys ? g->kv[i].trunc_len : g->t[i].trunc_len;
}

static void report_dup(st_gguf *g, int keys, const name_ref *a, const name_ref *b, int view)
{
    char shown[SHOW + 8];
    uint32_t later = a->idx > b->idx ? a->idx : b->idx;
    st_escape(b->s, b->len, shown, sizeof(shown), SHOW);
    if (keys)
        st_report_add(g->r, ST_R_GGUF_KEY_DUPLICATE, g->kv[later].off, 0,
                      "key \"%s\" appears twice%s", shown,
                      view ? " up to a NUL byte (llama.cpp's lookups see one)" : "");
    else
        st_report_add(g->r, ST_R_GGUF_TENSOR_DUPLICATE, g->t[later].off, 0,
                      "tensor \"%s\" appears twice%s", shown,
                      view ? " up to a NUL byte (ggml_set_name truncates)" : "");
}

/* Duplicates by exact bytes (view 0), then pairs equal only up to a NUL (view 1): sorted, so
 * O(n log n) whatever the count. */
static void check_dups(st_gguf *g, int keys)
{
    size_t n = keys ? g->nkv : g->nt;
    name_ref *refs = malloc((n ? n : 1) * sizeof(*refs));
    if (refs == NULL) {      /* GCOVR_EXCL_BR_LINE: malloc failure */
        g->err = ST_E_NOMEM; /* GCOVR_EXCL_LINE: malloc failure */
        return;              /* GCOVR_EXCL_LINE: malloc failure */
    }
    int any_nul = 0;
    for (int view = 0; view < 2 && (view == 0 || any_nul); view++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t off, len, tl;
            name_of(g, keys, i, &off, &len, &tl);
            if (len == 0)
                continue; /* an invalid key or name, reported already */
            any_nul |= tl != len;
            refs[m++] = (name_ref){g->arena + off, view ? tl : len, (uint32_t)i};
        }
        qsort(refs, m, sizeof(*refs), cmp_ref);
        for (size_t i = 1; i < m; i++) {
            if (!ref_eq(&refs[i - 1], &refs[i]))
                continue;
            if (view == 1) { /* equal in full: the exact view reported it */
                uint32_t o1, l1, t1, o2, l2, t2;
                name_of(g, keys, refs[i - 1].idx, &o1, &l1, &t1);
                name_of(g, keys, refs[i].idx, &o2, &l2, &t2);
                if (l1 == l2 && memcmp(g->arena + o1, g->arena + o2, l1) == 0)
                    continue;
            }
            report_dup(g, keys, &refs[i - 1], &refs[i], view);
        }
    }
    free(refs);
}

/* ---- alignment --------------------------------------------------------------------------------
 */

static void check_alignment(st_gguf *g)
{
    g->alignment = 32; /* GGUF_DEFAULT_ALIGNMENT */
    long i = st_gguf_find(g, "general.alignment");
    if (i < 0)
        return;
    const st_gguf_kv *kv = &g->kv[i];
    if (kv->type != GG_U32) {
        st_report_add(g->r, ST_R_GGUF_ALIGNMENT, kv->off, 0,
                      "general.alignment is a %s, not a UINT32 (llama.cpp refuses the file)",
                      st_gguf_type_name(kv->type));
        g->stop = 1;
        return;
    }
    if (kv->u == 0 || (kv->u & (kv->u - 1)) != 0 || kv->u > MAX_ALIGN) {
        st_report_add(g->r, ST_R_GGUF_ALIGNMENT, kv->voff, 4, "general.alignment %llu is %s",
                      (unsigned long long)kv->u,
                      kv->u > MAX_ALIGN && (kv->u & (kv->u - 1)) == 0 ? "above 1 MiB"
                                                                      : "not a power of two");
        g->stop = 1;
        return;
    }
    g->alignment = kv->u;
}

/* ---- tensor infos -----------------------------------------------------------------------------
 */

static int read_tensor_name(st_gguf *g, st_gguf_tensor *t)
{
    uint64_t len;
    char shown[SHOW + 8];
    t->off = g->pos;
    if (rd_len(g, &len, "a tensor name length") != 0)
        return -1;
    if (len > remain(g))
        return truncated(g, t->off, "a tensor name");
    if (len > MAX_KEY) {
        st_report_add(g->r, ST_R_GGUF_TENSOR_NAME, t->off, 0,
                      "tensor name of %llu bytes: llama.cpp's limit is 63",
                      (unsigned long long)len);
        skip(g, len);
        return 0; /* name_len 0: the arena's empty string at offset 0 */
    }
    u8state u;
    long off = read_small_string(g, len, &u);
    if (off < 0)
        return -1;
    t->name_off = (uint32_t)off;
    t->name_len = (uint32_t)len;
    t->trunc_len = u.nul ? (uint32_t)u.first_nul : (uint32_t)len;
    st_gguf_show(g, t->name_off, t->name_len, shown, sizeof(shown));
    if (len > MAX_NAME)
        st_report_add(g->r, ST_R_GGUF_TENSOR_NAME, t->off, len,
                      "tensor name \"%s\" has %llu bytes: llama.cpp's limit is 63", shown,
                      (unsigned long long)len);
    else if (!u8_ok(&u) || u.ctl)
        st_report_add(g->r, ST_R_GGUF_TENSOR_NAME, t->off, len, "tensor name \"%s\" %s", shown,
                      !u8_ok(&u) ? "is not valid UTF-8"
                      : u.nul    ? "holds a NUL byte: ggml_set_name truncates it there"
                                 : "holds control bytes");
    return 0;
}

/* Element and byte counts exactly as gguf_init_from_reader checks them. */
static void check_tensor_size(st_gguf *g, st_gguf_tensor *t, const char *shown)
{
    const st_gguf_type *ty = st_gguf_type_get(t->type);
    if (ty == NULL || ty->blck == 0) {
        st_report_add(g->r, ST_R_GGUF_TENSOR_TYPE, t->off, 0, "tensor \"%s\": ggml type %u %s",
                      shown, t->type, ty == NULL ? "is unknown" : ty->name);
        return;
    }
    if (t->ne[0] % ty->blck != 0) {
        st_report_add(g->r, ST_R_GGUF_TENSOR_BLOCK, t->off, 0,
                      "tensor \"%s\" (%s): first dimension %lld is not a multiple of the block "
                      "size %u",
                      shown, ty->name, (long long)t->ne[0], ty->blck);
        return;
    }
    uint64_t ne = 1, rows = 1, bytes;
    for (int j = 0; j < 4; j++)
        ne *= (uint64_t)t->ne[j]; /* below INT64_MAX: checked by the caller */
    for (int j = 1; j < 4; j++)
        rows *= (uint64_t)t->ne[j];
    /* ggml's check; past it ne0/blck*size*rows = ne/blck*size cannot overflow */
    if (ne / ty->blck > UINT64_MAX / ty->size) {
        st_report_add(g->r, ST_R_GGUF_TENSOR_SHAPE, t->off, 0,
                      "tensor \"%s\": its size in bytes overflows", shown);
        return;
    }
    bytes = (uint64_t)t->ne[0] / ty->blck * ty->size * rows;
    t->nbytes = ne == 0 ? 0 : bytes;
    t->ok = 1;
}

static int read_shape(st_gguf *g, st_gguf_tensor *t, const char *shown)
{
    uint64_t at = g->pos;
    if (rd_u32(g, &t->n_dims, "a tensor's dimension count") != 0)
        return -1;
    if (t->n_dims > 4) {
        st_report_add(g->r, ST_R_GGUF_TENSOR_SHAPE, at, 4,
                      "tensor \"%s\" has %u dimensions: ggml allows 4", shown, t->n_dims);
        g->stop = 1; /* the rest of the infos cannot be found */
        return -1;
    }
    int bad = 0;
    for (uint32_t j = 0; j < 4; j++) {
        uint64_t d = 1;
        if (j < t->n_dims && rd_len(g, &d, "a tensor dimension") != 0)
            return -1;
        t->ne[j] = (int64_t)d;
        if (d > (uint64_t)INT64_MAX && !bad) {
            st_report_add(g->r, ST_R_GGUF_TENSOR_SHAPE, at, 0,
                          "tensor \"%s\": dimension %u is negative", shown, j);
            bad = 1;
        }
    }
    const int64_t *ne = t->ne;
    if (!bad && ne[0] && ne[1] && ne[2] && ne[3] &&
        (INT64_MAX / ne[1] <= ne[0] || INT64_MAX / ne[2] <= ne[0] * ne[1] ||
         INT64_MAX / ne[3] <= ne[0] * ne[1] * ne[2])) {
        st_report_add(g->r, ST_R_GGUF_TENSOR_SHAPE, at, 0,
                      "tensor \"%s\": element count (%lld, %lld, %lld, %lld) overflows int64",
                      shown, (long long)ne[0], (long long)ne[1], (long long)ne[2],
                      (long long)ne[3]);
        bad = 1;
    }
    return bad;
}

static int read_tensor(st_gguf *g, st_gguf_tensor *t)
{
    char shown[SHOW + 8];
    if (read_tensor_name(g, t) != 0)
        return -1;
    st_gguf_show(g, t->name_off, t->name_len, shown, sizeof(shown));
    int bad = read_shape(g, t, shown);
    if (bad < 0)
        return -1;
    if (rd_u32(g, &t->type, "a tensor type") != 0 || rd_u64(g, &t->offset, "a tensor offset") != 0)
        return -1;
    if (!bad)
        check_tensor_size(g, t, shown);
    return 0;
}

/* ---- data layout ------------------------------------------------------------------------------
 */

static uint64_t pad_to(uint64_t x, uint64_t a, int *ovf)
{
    uint64_t y;
    if (st_add_u64(x, a - 1, &y)) {
        *ovf = 1;
        return x;
    }
    return y & ~(a - 1);
}

/* Reports nonzero bytes in [from, to) (inside the file). Reads exactly those bytes: padding is
 * at most alignment - 1 bytes per tensor. */
static void check_zero(st_gguf *g, uint64_t from, uint64_t to, const char *where)
{
    g->boff = UINT64_MAX; /* the window is reused as a plain buffer */
    while (from < to) {
        size_t n = to - from < WINDOW ? (size_t)(to - from) : WINDOW;
        if (st_src_read(g->in->src, from, g->buf, n) != ST_OK) {
            st_report_add(g->r, ST_R_IO, from, n, "could not read the padding");
            g->err = ST_E_IO;
            return;
        }
        for (size_t i = 0; i < n; i++)
            if (g->buf[i] != 0) {
                st_report_add(g->r, ST_R_GGUF_PADDING, from + i, to - from - i,
                              "padding %s holds nonzero bytes (first 0x%02x)", where, g->buf[i]);
                return;
            }
        from += n;
    }
}

static const char *looks_like(const unsigned char *p, size_t n)
{
    if (n >= 4 && memcmp(p, "PK\x03\x04", 4) == 0)
        return "a zip archive";
    if (n >= 4 && memcmp(p, "PK\x05\x06", 4) == 0)
        return "a zip end record";
    if (n >= 2 && p[0] == 0x80 && p[1] >= 2 && p[1] <= 5)
        return "a pickle";
    if (n >= 4 && memcmp(p,
                         "\x7f"
                         "ELF",
                         4) == 0)
        return "an ELF executable";
    if (n >= 2 && memcmp(p, "MZ", 2) == 0)
        return "a PE executable";
    if (n >= 4 && memcmp(p, "GGUF", 4) == 0)
        return "another GGUF file";
    return NULL;
}

static void check_trailing(st_gguf *g, uint64_t end)
{
    if (end >= g->size)
        return;
    unsigned char head[16];
    /* up to 4 KiB: a protocol 0/1 pickle has no header, only opcodes that decode to a STOP */
    size_t w = g->size - end < 4096 ? (size_t)(g->size - end) : 4096;
    size_t n = w < sizeof(head) ? w : sizeof(head);
    g->pos = end;
    const unsigned char *p = take(g, w);
    if (p == NULL)
        return;
    memcpy(head, p, n);
    const char *what = looks_like(head, n);
    if (what == NULL && st_pk_looks_like_pickle(p, w))
        what = "a pickle";
    /* a zip appended anywhere is found from its end record: look in the last bytes too */
    for (size_t i = 0; what == NULL && i + 4 <= g->in->tail_len; i++)
        if (memcmp(g->in->tail + i, "PK\x05\x06", 4) == 0 && g->size - g->in->tail_len + i >= end)
            what = "a zip archive (end record in the last bytes)";
    char hex[3 * 16 + 1];
    for (size_t i = 0; i < n; i++) {
        static const char digits[] = "0123456789abcdef";
        hex[3 * i] = digits[head[i] >> 4];
        hex[3 * i + 1] = digits[head[i] & 15];
        hex[3 * i + 2] = i + 1 < n ? ' ' : '\0';
    }
    if (what != NULL)
        st_report_add(g->r, ST_R_GGUF_POLYGLOT, end, g->size - end,
                      "%llu bytes after the data section are %s (%s)",
                      (unsigned long long)(g->size - end), what, hex);
    else
        st_report_add(g->r, ST_R_GGUF_TRAILING, end, g->size - end,
                      "%llu bytes after the data section (first bytes %s)",
                      (unsigned long long)(g->size - end), hex);
}

/* Offsets as gguf_init_from_reader requires them; the data of every tensor inside the file;
 * padding zero; what follows the data section. */
static void check_layout(st_gguf *g)
{
    int ovf = 0;
    g->infos_end = g->pos;
    g->data_start = g->nt > 0 ? pad_to(g->pos, g->alignment, &ovf) : g->pos;
    if (g->data_start > g->size) {
        st_report_add(g->r, ST_R_GGUF_DATA_OUTSIDE, g->infos_end, 0,
                      "the data section would start at %llu, past the end of the file",
                      (unsigned long long)g->data_start);
        return;
    }
    uint64_t expect = 0;
    for (size_t i = 0; i < g->nt; i++) {
        st_gguf_tensor *t = &g->t[i];
        char shown[SHOW + 8];
        if (!t->ok)
            return; /* its size is unknown: nothing after it can be placed */
        st_gguf_show(g, t->name_off, t->name_len, shown, sizeof(shown));
        if (t->offset != expect) {
            st_report_add(g->r, ST_R_GGUF_TENSOR_OFFSET, t->off, 0,
                          "tensor \"%s\" has offset %llu; llama.cpp requires %llu (%s)", shown,
                          (unsigned long long)t->offset, (unsigned long long)expect,
                          t->offset % g->alignment ? "misaligned"
                          : t->offset < expect     ? "overlap or reordering"
                                                   : "gap");
            return;
        }
        uint64_t end = g->data_start + t->offset, pend; /* offset == expect: inside the file */
        if (st_add_u64(end, t->nbytes, &end) || end > g->size) {
            st_report_add(g->r, ST_R_GGUF_DATA_OUTSIDE, t->off, 0,
                          "tensor \"%s\" (%llu bytes at data offset %llu) ends past the end of "
                          "the file",
                          shown, (unsigned long long)t->nbytes, (unsigned long long)t->offset);
            return;
        }
        g->placed = i + 1;
        pend = pad_to(t->nbytes, g->alignment, &ovf);
        if (ovf || st_add_u64(expect, pend, &expect)) {
            st_report_add(g->r, ST_R_GGUF_TENSOR_SHAPE, t->off, 0,
                          "tensor \"%s\": the data section size overflows", shown);
            return;
        }
    }
    check_zero(g, g->infos_end, g->data_start, "before the data section");
    for (size_t i = 0; i < g->nt; i++) {
        uint64_t a = g->data_start + g->t[i].offset + g->t[i].nbytes;
        uint64_t b = i + 1 < g->nt ? g->data_start + g->t[i + 1].offset : g->data_start + expect;
        check_zero(g, a, b < g->size ? b : g->size, "after a tensor");
    }
    if (g->nt == 0)
        st_report_add(g->r, ST_R_GGUF_NO_TENSORS, 16, 0, "the file describes no tensors");
    uint64_t end = g->data_start + expect;
    check_trailing(g, end);
}

/* ---- --deep ------------------------------------------------------------------------------------
 */

static void deep_tensor(st_gguf *g, const st_gguf_tensor *t, unsigned char *buf)
{
    const st_gguf_type *ty = st_gguf_type_get(t->type);
    unsigned esz = st_float_size(ty->fk);
    uint64_t nan = 0, inf = 0, off = g->data_start + t->offset, left = t->nbytes;
    size_t chunk = WINDOW - WINDOW % 8;
    while (left > 0) {
        size_t n = left < chunk ? (size_t)left : chunk;
        if (st_src_read(g->in->src, off, buf, n) != ST_OK) {
            st_report_add(g->r, ST_R_IO, off, n, "could not read the tensor data");
            g->err = ST_E_IO;
            return;
        }
        st_count_nan_inf(ty->fk, buf, n / esz, &nan, &inf);
        off += n;
        left -= n;
    }
    if (nan || inf) {
        char shown[SHOW + 8];
        st_report_add(g->r, ST_R_GGUF_NAN_INF, g->data_start + t->offset, t->nbytes,
                      "tensor \"%s\" (%s) holds %llu NaN and %llu Inf values",
                      st_gguf_show(g, t->name_off, t->name_len, shown, sizeof(shown)), ty->name,
                      (unsigned long long)nan, (unsigned long long)inf);
    }
}

/* Only the tensors check_layout placed inside the file: past a layout error, an offset is
 * whatever the file says (data_start + offset + nbytes may even wrap around). */
static void deep_pass(st_gguf *g)
{
    for (size_t i = 0; i < g->placed; i++) {
        const st_gguf_tensor *t = &g->t[i];
        if (st_gguf_type_get(t->type)->fk != ST_FK_NONE)
            deep_tensor(g, t, g->buf);
    }
}

/* ---- entry points ------------------------------------------------------------------------------
 */

static void fill_report(st_gguf *g)
{
    st_report *r = g->r;
    r->tensor_count = g->nt;
    r->header_len = g->data_start;
    r->gguf_version = g->version;
    r->gguf_alignment = (uint32_t)g->alignment;
    r->gguf_kv_count = g->nkv;
    if (g->arch != NULL)
        st_escape(g->arch, g->arch_len, r->gguf_arch, sizeof(r->gguf_arch), 64);
    long i = st_gguf_find(g, "tokenizer.chat_template");
    if (i >= 0 && g->kv[i].has_sval) {
        /* without libcrypto the digest is left out (null in JSON) */
        st_sha256 *d = st_sha256_new();
        const char *t = g->arena + g->kv[i].sval_off;
        int ok =
            d != NULL && st_sha256_update(d, t, g->kv[i].sval_len) == 0; /* GCOVR_EXCL_BR_LINE */
        if (ok) /* GCOVR_EXCL_BR_LINE: no libcrypto */
            st_sha256_final(d, r->gguf_template_sha256);
        st_sha256_free(d);
    }
}

static void parse(st_gguf *g)
{
    if (check_header(g) != 0)
        return;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        if (read_kv(g, &g->kv[g->nkv]) != 0)
            break;
        g->nkv++;
    }
    if (g->nkv < g->n_kv)
        return;
    check_dups(g, 1);
    check_alignment(g);
    if (g->stop)
        return;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        if (read_tensor(g, &g->t[g->nt]) != 0)
            break;
        g->nt++;
    }
    check_dups(g, 0);
    if (g->nt < g->n_tensors)
        return;
    check_layout(g);
    if (g->ctx->deep && g->err == ST_OK)
        deep_pass(g);
}

st_error st_gguf_check(st_input *in)
{
    st_gguf g;
    memset(&g, 0, sizeof(g));
    g.in = in;
    g.r = in->report;
    g.ctx = in->ctx;
    g.size = in->src->size;
    in->report->format = "gguf";
    g.buf = malloc(WINDOW);
    if (g.buf == NULL) { /* GCOVR_EXCL_BR_LINE: malloc failure */
        st_report_add(g.r, ST_R_NOMEM, 0, 0, "no memory for the GGUF reader"); /* GCOVR_EXCL_LINE */
        return ST_E_NOMEM; /* GCOVR_EXCL_LINE: malloc failure */
    }
    g.boff = UINT64_MAX;
    /* offset 0: the empty string invalid names point to */
    long empty = arena_put(&g, NULL, 0);
    if (empty == 0) /* GCOVR_EXCL_BR_LINE: malloc failure */
        parse(&g);
    if (g.kv != NULL && g.nkv == g.n_kv && g.err != ST_E_IO)
        st_gguf_check_keys(&g);
    fill_report(&g);
    free(g.buf);
    free(g.kv);
    free(g.t);
    free(g.arena);
    return g.err;
}

int st_gguf_sniff(const st_input *in)
{
    return in->head_len >= 4 && memcmp(in->head, "GGUF", 4) == 0 ? 95 : 0;
}
