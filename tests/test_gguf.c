/*
 * test_gguf.c - every check of the GGUF validator (src/formats/gguf/) on crafted buffers,
 * asserting the exact set of finding ids and the verdict; the chat-template checker on
 * templates directly.
 */
#include "test_util.h"

#include <fcntl.h>
#include <unistd.h>

#include "formats/gguf/gguf.h"

#define PASS ST_VERDICT_PASS
#define FAIL ST_VERDICT_FAIL
#define NOCHECK ST_VERDICT_ERROR

/* ---- a GGUF builder ------------------------------------------------------------------------ */

typedef struct {
    unsigned char *p;
    size_t n, cap;
    int v1;
    uint32_t nkv, nt;
    unsigned char *infos; /* tensor infos, written after the kvs */
    size_t ni, capi;
} gb;

static void raw(unsigned char **p, size_t *n, size_t *cap, const void *src, size_t len)
{
    if (*n + len > *cap) {
        *cap = (*n + len) * 2 + 64;
        *p = realloc(*p, *cap);
        assert_non_null(*p);
    }
    memcpy(*p + *n, src, len);
    *n += len;
}

static void put(gb *b, const void *src, size_t len)
{
    raw(&b->p, &b->n, &b->cap, src, len);
}

static void put_u32(gb *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    put(b, x, 4);
}

static void put_u64(gb *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static void put_len(gb *b, uint64_t v)
{
    if (b->v1)
        put_u32(b, (uint32_t)v);
    else
        put_u64(b, v);
}

static void put_str(gb *b, const char *s, size_t n)
{
    put_len(b, n);
    put(b, s, n);
}

static void key(gb *b, const char *k, uint32_t type)
{
    put_str(b, k, strlen(k));
    put_u32(b, type);
    b->nkv++;
}

static void kv_u32(gb *b, const char *k, uint32_t v)
{
    key(b, k, GG_U32);
    put_u32(b, v);
}

static void kv_str(gb *b, const char *k, const char *v)
{
    key(b, k, GG_STRING);
    put_str(b, v, strlen(v));
}

/* An array header: element type and count (elements follow through put*). */
static void kv_arr(gb *b, const char *k, uint32_t etype, uint64_t n)
{
    key(b, k, GG_ARRAY);
    put_u32(b, etype);
    put_len(b, n);
}

/* A tensor info, kept apart until finish(). */
static void tensor(gb *b, const char *name, uint32_t n_dims, const int64_t *ne, uint32_t type,
                   uint64_t offset)
{
    gb t = {.v1 = b->v1};
    put_str(&t, name, strlen(name));
    put_u32(&t, n_dims);
    for (uint32_t i = 0; i < n_dims; i++)
        put_len(&t, (uint64_t)ne[i]);
    put_u32(&t, type);
    put_u64(&t, offset);
    raw(&b->infos, &b->ni, &b->capi, t.p, t.n);
    free(t.p);
    b->nt++;
}

static void start(gb *b, uint32_t version)
{
    memset(b, 0, sizeof(*b));
    b->v1 = version == 1;
}

/* header + kvs + infos + padding to align + data bytes of data_len (filled with fill). */
static unsigned char *finish(gb *b, uint32_t version, size_t align, size_t data_len, int fill,
                             size_t *len)
{
    gb out = {.v1 = b->v1};
    put(&out, "GGUF", 4);
    put_u32(&out, version);
    put_len(&out, b->nt);
    put_len(&out, b->nkv);
    put(&out, b->p, b->n);
    put(&out, b->infos ? b->infos : (unsigned char *)"", b->ni);
    while (b->nt && out.n % align)
        put(&out, "", 1);
    for (size_t i = 0; i < data_len; i++) {
        unsigned char c = (unsigned char)fill;
        put(&out, &c, 1);
    }
    free(b->p);
    free(b->infos);
    *len = out.n;
    return out.p;
}

static void arch(gb *b)
{
    kv_str(b, "general.architecture", "llama");
}

static st_report *check(st_ctx *ctx, unsigned char *buf, size_t len)
{
    st_report *r = st_check_buffer(ctx, buf, len, "t.gguf");
    assert_non_null(r);
    free(buf);
    return r;
}

/* Checks buf (exact ids and verdict) and frees it. */
#define EXPECT(ctx, buf, len, ids, verdict)                                                        \
    do {                                                                                           \
        st_report *r_ = check((ctx), (buf), (len));                                                \
        tu_assert_report(r_, "t.gguf", (ids), (verdict));                                          \
        st_report_free(r_);                                                                        \
    } while (0)

static const int64_t NE8[4] = {8, 1, 1, 1};

/* A valid file: arch + one F32 tensor of 8 elements. */
static unsigned char *simple(uint32_t version, size_t *len)
{
    gb b;
    start(&b, version);
    arch(&b);
    tensor(&b, "a", 1, NE8, 0, 0);
    return finish(&b, version, 32, 32, 0, len);
}

static unsigned char *with_kv(void (*add)(gb *), uint32_t version, size_t *len);
static unsigned char *two(uint64_t off_b, size_t data, int fill, size_t *len);
static void k_grammar(gb *b);

/* ---- header --------------------------------------------------------------------------------- */

static void test_header(void **state)
{
    st_ctx *ctx = *state;
    size_t len;
    unsigned char *b = simple(3, &len);
    st_report *r = check(ctx, b, len);
    tu_assert_ids(r, "");
    assert_int_equal(st_report_verdict(r), PASS);
    assert_string_equal(st_report_format(r), "gguf");
    assert_int_equal(st_report_tensor_count(r), 1);
    st_report_free(r);

    b = simple(2, &len);
    EXPECT(ctx, b, len, "", PASS);
    b = simple(1, &len);
    EXPECT(ctx, b, len, "ST703", PASS);

    unsigned char h[24] = "GGUF";
    h[4] = 4; /* version 4 */
    EXPECT(ctx, memcpy(malloc(24), h, 24), 24, "ST701", NOCHECK);
    h[4] = 0;
    EXPECT(ctx, memcpy(malloc(24), h, 24), 24, "ST701", FAIL);
    h[7] = 3; /* big-endian 3 */
    EXPECT(ctx, memcpy(malloc(24), h, 24), 24, "ST702", NOCHECK);
    EXPECT(ctx, memcpy(malloc(6), h, 6), 6, "ST704", FAIL);
    memset(h + 4, 0, 20);
    h[4] = 3;
    EXPECT(ctx, memcpy(malloc(10), h, 10), 10, "ST704", FAIL); /* counts cut */
    h[15] = 0x80;                                              /* tensor count negative as int64 */
    EXPECT(ctx, memcpy(malloc(24), h, 24), 24, "ST705", FAIL);
    h[15] = 0;
    h[8] = 200; /* 200 tensors in 0 bytes */
    EXPECT(ctx, memcpy(malloc(24), h, 24), 24, "ST704", FAIL);
    h[8] = 0;
    EXPECT(ctx, memcpy(malloc(24), h, 24), 24, "ST724,ST732", PASS); /* empty, 8 trailing */
    /* 2^40 tensors: refused by the lower bound of 24 bytes each (ST704), before the tensors
     * limit (ST901) or any allocation is reached */
    h[13] = 1;
    EXPECT(ctx, memcpy(malloc(24), h, 24), 24, "ST704", FAIL);
    h[13] = 0;
    /* 1317624576693539402 keys of 14 bytes: the bound itself wraps to 12 bytes (16 follow the
     * counts) unless multiplied with an overflow check */
    uint64_t wrap = UINT64_C(1317624576693539402);
    unsigned char w[40] = {0};
    memcpy(w, h, 16);
    for (int i = 0; i < 8; i++)
        w[16 + i] = (unsigned char)(wrap >> (8 * i));
    EXPECT(ctx, memcpy(malloc(40), w, 40), 40, "ST704", FAIL);
    /* version 1: 32-bit counts (2^31 keys of 10 bytes in 16 bytes) */
    memset(h + 4, 0, 20);
    h[4] = 1;
    h[15] = 0x80;
    EXPECT(ctx, memcpy(malloc(24), h, 24), 24, "ST703,ST704", FAIL);
    /* big-endian versions 1 and 2 (and 3 above): never checked as little-endian */
    for (int v = 1; v <= 2; v++) {
        memset(h + 4, 0, 20);
        h[7] = (unsigned char)v;
        h[15] = 1; /* one tensor, as big-endian */
        EXPECT(ctx, memcpy(malloc(24), h, 24), 24, "ST702", NOCHECK);
    }

    /* limits: keys and tensors */
    st_ctx *low = st_ctx_new();
    assert_int_equal(st_ctx_set_limit(low, ST_LIMIT_GGUF_KV, 1), ST_OK);
    b = with_kv(k_grammar, 3, &len); /* two keys */
    EXPECT(low, b, len, "ST901", NOCHECK);
    st_ctx_free(low);
}

/* ---- keys and values ---------------------------------------------------------------------- */

static unsigned char *with_kv(void (*add)(gb *), uint32_t version, size_t *len)
{
    gb b;
    start(&b, version);
    arch(&b);
    add(&b);
    tensor(&b, "a", 1, NE8, 0, 0);
    return finish(&b, version, 32, 32, 0, len);
}

static void k_nul(gb *b)
{
    key(b, "x", GG_U8); /* the value, then a key with a NUL */
    put(b, "\1", 1);
    put_str(b, "general.na\0me", 13);
    put_u32(b, GG_U8);
    put(b, "\0", 1);
    b->nkv++;
}
static void k_empty(gb *b)
{
    put_str(b, "", 0);
    put_u32(b, GG_U8);
    put(b, "\0", 1);
    b->nkv++;
}
static void k_ctl(gb *b)
{
    kv_u32(b, "general.\tx", 1);
}
static void k_utf8(gb *b)
{
    kv_u32(b, "general.\xc3(", 1);
}
static void k_grammar(gb *b)
{
    kv_u32(b, "general.Name", 1);
}
static void k_grammar2(gb *b)
{
    kv_u32(b, "general..x", 1);
}
static void k_dup(gb *b)
{
    kv_str(b, "general.name", "a");
    kv_str(b, "general.name", "b");
}
static void k_dup_nul(gb *b)
{
    kv_str(b, "general.name", "a");
    put_str(b, "general.name\0x", 14);
    put_u32(b, GG_U8);
    put(b, "\0", 1);
    b->nkv++;
}
static void k_type(gb *b)
{
    key(b, "general.x", 99);
}
static void k_atype(gb *b)
{
    kv_arr(b, "general.x", 77, 1);
}
static void k_bool(gb *b)
{
    key(b, "llama.use_parallel_residual", GG_BOOL);
    put(b, "\2", 1);
}
static void k_bool_arr(gb *b)
{
    kv_arr(b, "general.flags", GG_BOOL, 3);
    put(b, "\0\1\5", 3);
}
static void k_utf8_val(gb *b)
{
    kv_str(b, "general.name", "\xe0\x80\x80");
}
static void k_utf8_arr(gb *b)
{
    kv_arr(b, "general.tags", GG_STRING, 2);
    put_str(b, "ok \xf0\x9f\x98\x80", 8);
    put_str(b, "\xf4\x90\x80\x80", 4);
}
static void k_nested(gb *b)
{
    kv_arr(b, "general.n", GG_ARRAY, 2);
    put_u32(b, GG_STRING);
    put_len(b, 1);
    put_str(b, "x", 1);
    put_u32(b, GG_ARRAY);
    put_len(b, 1);
    put_u32(b, GG_U16);
    put_len(b, 2);
    put(b, "\1\0\2\0", 4);
}
static void k_scalars(gb *b)
{
    static const uint32_t types[] = {GG_U8,  GG_I8,  GG_U16, GG_I16, GG_I32,
                                     GG_F32, GG_U64, GG_I64, GG_F64};
    static const char *const names[] = {"general.a", "general.b", "general.c",
                                        "general.d", "general.e", "general.f",
                                        "general.g", "general.h", "general.i"};
    static const unsigned sizes[] = {1, 1, 2, 2, 4, 4, 8, 8, 8};
    for (int i = 0; i < 9; i++) {
        key(b, names[i], types[i]);
        put(b, "\xff\xff\xff\xff\xff\xff\xff\xff", sizes[i]);
    }
    key(b, "general.t", GG_BOOL);
    put(b, "\1", 1);
    kv_arr(b, "general.ints", GG_I64, 2);
    put_u64(b, 1);
    put_u64(b, 2);
}

static void k_arr_huge(gb *b)
{
    kv_arr(b, "general.x", GG_U8, UINT64_MAX); /* skipping it would wrap the reader around */
}
static void k_arr_strings(gb *b)
{
    kv_arr(b, "general.x", GG_STRING, UINT64_C(1) << 61); /* 8 bytes each: 2^64 wraps to 0 */
}
static void k_type13(gb *b)
{
    key(b, "general.x", GG_NTYPES); /* 13: the first id past FLOAT64 */
}
static void k_atype13(gb *b)
{
    kv_arr(b, "general.x", GG_NTYPES, 1);
}
static void k_nested13(gb *b)
{
    kv_arr(b, "general.x", GG_ARRAY, 1);
    put_u32(b, GG_NTYPES);
    put_len(b, 0);
}

/* A key of n bytes ('a'...: grammar and namespace checks do not apply to one segment). */
static unsigned char *long_key(size_t n, size_t *len)
{
    gb b;
    start(&b, 3);
    arch(&b);
    char *k = malloc(n);
    assert_non_null(k);
    memset(k, 'a', n);
    put_str(&b, k, n);
    put_u32(&b, GG_U8);
    put(&b, "\0", 1);
    b.nkv++;
    free(k);
    tensor(&b, "a", 1, NE8, 0, 0);
    return finish(&b, 3, 32, 32, 0, len);
}

static void test_keys(void **state)
{
    st_ctx *ctx = *state;
    size_t len;
    unsigned char *b;
    b = long_key(65535, &len); /* the specification's bound */
    EXPECT(ctx, b, len, "", PASS);
    b = long_key(65536, &len);
    EXPECT(ctx, b, len, "ST706", FAIL);
    b = with_kv(k_arr_huge, 3, &len); /* array counts bounded by the bytes present */
    EXPECT(ctx, b, len, "ST704", FAIL);
    b = with_kv(k_arr_strings, 3, &len);
    EXPECT(ctx, b, len, "ST704", FAIL);
    b = with_kv(k_type13, 3, &len);
    EXPECT(ctx, b, len, "ST709", FAIL);
    b = with_kv(k_atype13, 3, &len);
    EXPECT(ctx, b, len, "ST709", FAIL);
    b = with_kv(k_nested13, 3, &len);
    EXPECT(ctx, b, len, "ST709,ST712", FAIL);
    b = with_kv(k_nul, 3, &len);
    EXPECT(ctx, b, len, "ST706", FAIL);
    b = with_kv(k_empty, 3, &len);
    EXPECT(ctx, b, len, "ST706", FAIL);
    b = with_kv(k_ctl, 3, &len);
    EXPECT(ctx, b, len, "ST706", FAIL);
    b = with_kv(k_utf8, 3, &len);
    EXPECT(ctx, b, len, "ST706", FAIL);
    b = with_kv(k_grammar, 3, &len);
    EXPECT(ctx, b, len, "ST707", PASS);
    b = with_kv(k_grammar2, 3, &len);
    EXPECT(ctx, b, len, "ST707", PASS);
    b = with_kv(k_dup, 3, &len);
    EXPECT(ctx, b, len, "ST708", FAIL);
    b = with_kv(k_dup_nul, 3, &len);
    EXPECT(ctx, b, len, "ST706,ST708", FAIL);
    b = with_kv(k_dup_nul, 1, &len);
    EXPECT(ctx, b, len, "ST703,ST706,ST708", FAIL);
    b = with_kv(k_type, 3, &len);
    EXPECT(ctx, b, len, "ST709", FAIL);
    b = with_kv(k_atype, 3, &len);
    EXPECT(ctx, b, len, "ST709", FAIL);
    b = with_kv(k_bool, 3, &len);
    EXPECT(ctx, b, len, "ST710", FAIL);
    b = with_kv(k_bool_arr, 3, &len);
    EXPECT(ctx, b, len, "ST710", FAIL);
    b = with_kv(k_utf8_val, 3, &len);
    EXPECT(ctx, b, len, "ST711", FAIL);
    b = with_kv(k_utf8_arr, 3, &len);
    EXPECT(ctx, b, len, "ST711", FAIL);
    b = with_kv(k_nested, 3, &len);
    st_report *r = check(ctx, b, len);
    tu_assert_ids(r, "ST712");
    assert_int_equal(st_report_verdict(r), PASS);
    assert_non_null(strstr(st_report_finding(r, 0)->message, "llama.cpp refuses nested arrays"));
    st_report_free(r);
    b = with_kv(k_nested, 1, &len);
    EXPECT(ctx, b, len, "ST703,ST712", PASS);
    b = with_kv(k_scalars, 3, &len);
    EXPECT(ctx, b, len, "", PASS);
    b = with_kv(k_scalars, 1, &len);
    EXPECT(ctx, b, len, "ST703", PASS);

    /* nesting deeper than the limit: could not check */
    st_ctx *low = st_ctx_new();
    assert_int_equal(st_ctx_set_limit(low, ST_LIMIT_GGUF_ARRAY_DEPTH, 1), ST_OK);
    b = with_kv(k_nested, 3, &len);
    EXPECT(low, b, len, "ST712,ST901", NOCHECK);
    /* the hard maximum of gguf_array_depth (64) is the walker's stack: 70 levels stop at it */
    assert_int_not_equal(st_ctx_set_limit(low, ST_LIMIT_GGUF_ARRAY_DEPTH, 65), ST_OK);
    assert_int_equal(st_ctx_set_limit(low, ST_LIMIT_GGUF_ARRAY_DEPTH, 64), ST_OK);
    gb d;
    start(&d, 3);
    arch(&d);
    kv_arr(&d, "general.deep", GG_ARRAY, 1);
    for (int i = 0; i < 70; i++) {
        put_u32(&d, i < 69 ? GG_ARRAY : GG_U8);
        put_len(&d, i < 69 ? 1 : 0);
    }
    tensor(&d, "a", 1, NE8, 0, 0);
    b = finish(&d, 3, 32, 32, 0, &len);
    EXPECT(low, b, len, "ST712,ST901", NOCHECK);
    assert_int_equal(st_ctx_set_limit(low, ST_LIMIT_GGUF_ARRAY_DEPTH, 1), ST_OK);
    /* keys and names beyond header_bytes in memory */
    assert_int_equal(st_ctx_set_limit(low, ST_LIMIT_HEADER_BYTES, 8), ST_OK);
    b = simple(3, &len);
    EXPECT(low, b, len, "ST901", NOCHECK);
    st_ctx_free(low);
}

/* Truncation at every point of a file with every kind of value: never a pass, never a crash. */
static void test_truncation(void **state)
{
    st_ctx *ctx = *state;
    size_t len;
    gb b;
    start(&b, 3);
    arch(&b);
    k_scalars(&b);
    k_nested(&b);
    k_bool_arr(&b);
    tensor(&b, "a", 1, NE8, 0, 0);
    unsigned char *full = finish(&b, 3, 32, 32, 0, &len);
    for (size_t cut = 4; cut + 32 < len; cut++) {
        st_report *r = st_check_buffer(ctx, full, cut, "t.gguf");
        assert_int_not_equal(st_report_verdict(r), PASS);
        st_report_free(r);
    }
    free(full);
}

/* ---- alignment ------------------------------------------------------------------------------ */

static unsigned char *aligned(uint32_t type, uint32_t value, size_t *len)
{
    gb b;
    start(&b, 3);
    arch(&b);
    key(&b, "general.alignment", type);
    if (type == GG_U32)
        put_u32(&b, value);
    else
        put(&b, "\0\1", 2);
    tensor(&b, "a", 1, NE8, 0, 0);
    tensor(&b, "b", 1, NE8, 0, value == 64 ? 64 : 32);
    return finish(&b, 3, value == 64 ? 64 : 32, 96, 0, len);
}

static void test_alignment(void **state)
{
    st_ctx *ctx = *state;
    size_t len;
    unsigned char *b = aligned(GG_U32, 64, &len);
    EXPECT(ctx, b, len, "", PASS);
    b = aligned(GG_U32, 48, &len);
    EXPECT(ctx, b, len, "ST713", FAIL);
    b = aligned(GG_U32, 0, &len);
    EXPECT(ctx, b, len, "ST713", FAIL);
    b = aligned(GG_U32, 1u << 21, &len);
    EXPECT(ctx, b, len, "ST713", FAIL);
    b = aligned(GG_U16, 0, &len);
    EXPECT(ctx, b, len, "ST713", FAIL);
}

/* ---- tensor infos ---------------------------------------------------------------------------- */

static unsigned char *one_tensor(const char *name, size_t nlen, uint32_t n_dims, const int64_t *ne,
                                 uint32_t type, size_t data, size_t *len)
{
    gb b;
    start(&b, 3);
    arch(&b);
    gb t = {0};
    put_str(&t, name, nlen);
    put_u32(&t, n_dims);
    for (uint32_t i = 0; i < n_dims; i++)
        put_u64(&t, (uint64_t)ne[i]);
    put_u32(&t, type);
    put_u64(&t, 0);
    raw(&b.infos, &b.ni, &b.capi, t.p, t.n);
    free(t.p);
    b.nt = 1;
    return finish(&b, 3, 32, data, 0, len);
}

static void test_tensors(void **state)
{
    st_ctx *ctx = *state;
    size_t len;
    char name[80];
    memset(name, 'n', sizeof(name));
    unsigned char *b = one_tensor(name, 63, 1, NE8, 0, 32, &len);
    EXPECT(ctx, b, len, "", PASS);
    b = one_tensor(name, 64, 1, NE8, 0, 32, &len);
    EXPECT(ctx, b, len, "ST714", FAIL);
    b = one_tensor("a\0b", 3, 1, NE8, 0, 32, &len);
    EXPECT(ctx, b, len, "ST714", FAIL);
    b = one_tensor("a\x80", 2, 1, NE8, 0, 32, &len);
    EXPECT(ctx, b, len, "ST714", FAIL);
    int64_t ne5[5] = {1, 1, 1, 1, 1};
    b = one_tensor("a", 1, 5, ne5, 0, 32, &len);
    EXPECT(ctx, b, len, "ST716", FAIL);
    int64_t neg[2] = {8, -1};
    b = one_tensor("a", 1, 2, neg, 0, 32, &len);
    EXPECT(ctx, b, len, "ST716", FAIL);
    int64_t big[2] = {INT64_C(1) << 32, INT64_C(1) << 31};
    b = one_tensor("a", 1, 2, big, 0, 32, &len);
    EXPECT(ctx, b, len, "ST716", FAIL);
    int64_t huge[4] = {INT64_C(1) << 40, INT64_C(1) << 20, 1, 1}; /* 2^60 F32: bytes overflow */
    b = one_tensor("a", 1, 4, huge, 0, 32, &len);
    EXPECT(ctx, b, len, "ST720", FAIL);
    int64_t i64[1] = {INT64_C(1) << 62}; /* I64: 2^65 bytes */
    b = one_tensor("a", 1, 1, i64, 27, 32, &len);
    EXPECT(ctx, b, len, "ST716", FAIL);
    int64_t i64b[1] = {(INT64_C(1) << 61) - 1}; /* I64: 2^64 - 8 bytes, past any file */
    b = one_tensor("a", 1, 1, i64b, 27, 32, &len);
    EXPECT(ctx, b, len, "ST720", FAIL);
    int64_t zero[2] = {0, 8};
    b = one_tensor("a", 1, 2, zero, 0, 0, &len);
    EXPECT(ctx, b, len, "", PASS);
    b = one_tensor("a", 1, 1, NE8, 43, 32, &len);
    EXPECT(ctx, b, len, "ST717", FAIL);
    b = one_tensor("a", 1, 1, NE8, 5, 32, &len); /* Q4_3: removed */
    EXPECT(ctx, b, len, "ST717", FAIL);
    b = one_tensor("a", 1, 1, NE8, 8, 32, &len); /* Q8_0 blocks of 32 */
    EXPECT(ctx, b, len, "ST718", FAIL);
    int64_t q[2] = {256, 2};
    b = one_tensor("a", 1, 2, q, 12, 288, &len); /* Q4_K: 2 rows of 144 bytes */
    EXPECT(ctx, b, len, "", PASS);
    /* a name longer than a key may be */
    gb t;
    start(&t, 3);
    arch(&t);
    gb info = {0};
    put_u64(&info, 70000);
    for (int i = 0; i < 70000; i++)
        put(&info, "n", 1);
    put_u32(&info, 1);
    put_u64(&info, 8);
    put_u32(&info, 0);
    put_u64(&info, 0);
    raw(&t.infos, &t.ni, &t.capi, info.p, info.n);
    free(info.p);
    t.nt = 1;
    b = finish(&t, 3, 32, 32, 0, &len);
    EXPECT(ctx, b, len, "ST714", FAIL);
    /* the tensors limit */
    st_ctx *low = st_ctx_new();
    assert_int_equal(st_ctx_set_limit(low, ST_LIMIT_TENSORS, 1), ST_OK);
    b = two(32, 64, 0, &len);
    EXPECT(low, b, len, "ST901", NOCHECK);
    st_ctx_free(low);
}

static void test_duplicates(void **state)
{
    st_ctx *ctx = *state;
    size_t len;
    gb b;
    start(&b, 3);
    arch(&b);
    tensor(&b, "a", 1, NE8, 0, 0);
    tensor(&b, "a", 1, NE8, 0, 32);
    unsigned char *p = finish(&b, 3, 32, 64, 0, &len);
    EXPECT(ctx, p, len, "ST715", FAIL);
    start(&b, 3);
    arch(&b);
    gb t = {0};
    put_str(&t, "a\0x", 3);
    put_u32(&t, 1);
    put_u64(&t, 8);
    put_u32(&t, 0);
    put_u64(&t, 0);
    put_str(&t, "a\0y", 3);
    put_u32(&t, 1);
    put_u64(&t, 8);
    put_u32(&t, 0);
    put_u64(&t, 32);
    put_str(&t, "a\0y", 3); /* exact duplicate too */
    put_u32(&t, 1);
    put_u64(&t, 8);
    put_u32(&t, 0);
    put_u64(&t, 64);
    raw(&b.infos, &b.ni, &b.capi, t.p, t.n);
    free(t.p);
    b.nt = 3;
    p = finish(&b, 3, 32, 96, 0, &len);
    EXPECT(ctx, p, len, "ST714,ST715", FAIL);
}

/* ---- data layout ------------------------------------------------------------------------------
 */

static unsigned char *two(uint64_t off_b, size_t data, int fill, size_t *len)
{
    gb b;
    start(&b, 3);
    arch(&b);
    int64_t ne4[1] = {4};
    tensor(&b, "a", 1, ne4, 0, 0);
    tensor(&b, "b", 1, NE8, 0, off_b);
    return finish(&b, 3, 32, data, fill, len);
}

static void test_layout(void **state)
{
    st_ctx *ctx = *state;
    size_t len;
    unsigned char *b = two(32, 64, 0, &len);
    EXPECT(ctx, b, len, "", PASS);
    b = two(64, 96, 0, &len);
    EXPECT(ctx, b, len, "ST719", FAIL); /* gap */
    b = two(16, 64, 0, &len);
    EXPECT(ctx, b, len, "ST719", FAIL); /* misaligned */
    b = two(0, 64, 0, &len);
    EXPECT(ctx, b, len, "ST719", FAIL); /* overlap */
    b = two(32, 60, 0, &len);
    EXPECT(ctx, b, len, "ST720", FAIL); /* second tensor cut */
    b = two(32, 64, 1, &len);
    EXPECT(ctx, b, len, "ST721", FAIL); /* nonzero fill: padding after a */
    /* the last tensor's padding absent: llama.cpp maps the tensor, fine */
    b = one_tensor("a", 1, 1, (int64_t[]){4}, 0, 16, &len);
    EXPECT(ctx, b, len, "", PASS);
    /* the data section starts past the end */
    b = simple(3, &len);
    EXPECT(ctx, b, len - 40, "ST720", FAIL);
    /* nonzero padding before the data section */
    b = simple(3, &len);
    b[len - 33] = 7;
    EXPECT(ctx, b, len, "ST721", FAIL);
}

static void test_trailing(void **state)
{
    st_ctx *ctx = *state;
    static const struct {
        const char *bytes;
        size_t n;
        const char *ids;
        st_verdict v;
    } t[] = {
        {"plain text", 10, "ST722", PASS},
        {"PK\3\4zip", 7, "ST723", FAIL},
        {"PK\5\6", 4, "ST723", FAIL},
        {"\x80\x04\x95", 3, "ST723", FAIL},
        {"\x7f"
         "ELF",
         4, "ST723", FAIL},
        {"MZ\x90", 3, "ST723", FAIL},
        {"GGUF", 4, "ST723", FAIL},
        {"xx PK\5\6 end record", 18, "ST723", FAIL},
        /* protocols 0 and 1 have no PROTO header: found by their opcodes up to a STOP */
        {"cos\nsystem\n(S'echo hi'\ntR.", 26, "ST723", FAIL},
        {"}q\0.", 4, "ST723", FAIL},
        {"Some notes, no pickle.", 22, "ST722", PASS},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        size_t len;
        unsigned char *b = simple(3, &len);
        b = realloc(b, len + t[i].n);
        memcpy(b + len, t[i].bytes, t[i].n);
        st_report *r = check(ctx, b, len + t[i].n);
        tu_assert_ids(r, t[i].ids);
        assert_int_equal(st_report_verdict(r), t[i].v);
        st_report_free(r);
    }
}

/* ---- well-known keys ------------------------------------------------------------------------ */

static unsigned char *keyed(void (*add)(gb *), size_t *len)
{
    gb b;
    start(&b, 3);
    add(&b);
    tensor(&b, "a", 1, NE8, 0, 0);
    return finish(&b, 3, 32, 32, 0, len);
}

static void w_good(gb *b)
{
    arch(b);
    kv_u32(b, "llama.block_count", 2);
    kv_u32(b, "llama.expert_count", 8);
    kv_u32(b, "llama.expert_used_count", 2);
    kv_arr(b, "llama.attention.head_count", GG_U32, 2);
    put_u64(b, 0x0000000400000004u);
    kv_arr(b, "tokenizer.ggml.tokens", GG_STRING, 2);
    put_str(b, "a", 1);
    put_str(b, "b", 1);
    kv_arr(b, "tokenizer.ggml.scores", GG_F32, 2);
    put_u64(b, 0);
    kv_arr(b, "tokenizer.ggml.merges", GG_STRING, 1);
    put_str(b, "a b", 3);
    kv_u32(b, "tokenizer.ggml.bos_token_id", 1);
    key(b, "split.no", GG_U16);
    put(b, "\0\0", 2);
    key(b, "split.count", GG_U16);
    put(b, "\2\0", 2);
    key(b, "split.tensors.count", GG_I32);
    put_u32(b, 1);
    kv_str(b, "tokenizer.chat_template.tool_use", "{{ messages[0].content }}");
    kv_arr(b, "general.tags", GG_STRING, 0);
}
static void w_prefix(gb *b)
{
    arch(b);
    kv_u32(b, "llamax.block_count", 1);
    kv_u32(b, "ll.x", 1);
    kv_u32(b, "llama.block_countx", 1);
    kv_u32(b, "llama.block_count", 600);
    kv_arr(b, "llama.attention.head_count_kv", GG_U32, 600);
    for (int i = 0; i < 600; i++)
        put_u32(b, 1);
    kv_arr(b, "tokenizer.ggml.scores", GG_F32, 3);
    put(b, "\0\0\0\0\0\0\0\0\0\0\0\0", 12);
}
static void w_arch_chars(gb *b)
{
    kv_str(b, "general.architecture", "a_b-c9Z");
}
static void w_arch_long(gb *b)
{
    kv_str(b, "general.architecture",
           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
}
static void w_arch_len(gb *b)
{
    kv_str(b, "general.architecture",
           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"); /* 64: fine */
    kv_u32(b, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.block_count", 1);
    key(b, "split.tensors.count", GG_I32);
    put_u32(b, 0xFFFFFFFFu);
}
static void w_arch_hyphen(gb *b)
{
    kv_str(b, "general.architecture", "command-r"); /* llama.cpp's LLM_ARCH_COMMAND_R name */
    kv_u32(b, "command-r.block_count", 2);
    kv_arr(b, "command-r.attention.head_count", GG_U32, 3); /* its own prefix: checked */
    put_u32(b, 1);
    put_u64(b, 0x0000000100000001u);
}
static void w_noarch(gb *b)
{
    kv_u32(b, "general.file_type", 1);
}
static void w_badarch(gb *b)
{
    kv_str(b, "general.architecture", "");
}
static void w_archtype(gb *b)
{
    kv_u32(b, "general.architecture", 1);
}
static void w_types(gb *b)
{
    arch(b);
    kv_str(b, "llama.block_count", "2");
    kv_arr(b, "general.tags", GG_U8, 0);
    kv_str(b, "tokenizer.chat_template.x", "");
    key(b, "tokenizer.chat_template.y", GG_U8);
    put(b, "\0", 1);
}
static void w_ns(gb *b)
{
    arch(b);
    kv_u32(b, "qwen2.block_count", 2);
    kv_u32(b, "nonamespace", 2);
}
static void w_layers(gb *b)
{
    arch(b);
    kv_u32(b, "llama.block_count", 0);
    kv_u32(b, "llama.expert_count", 1000);
    kv_u32(b, "llama.expert_used_count", 1001);
}
static void w_layers2(gb *b)
{
    arch(b);
    kv_u32(b, "llama.expert_used_count", 1);
    kv_arr(b, "llama.feed_forward_length", GG_I32, 1);
    put_u32(b, 1);
}
static void w_tok(gb *b)
{
    arch(b);
    kv_arr(b, "tokenizer.ggml.tokens", GG_STRING, 1);
    put_str(b, "a", 1);
    kv_arr(b, "tokenizer.ggml.token_type", GG_I32, 2);
    put_u64(b, 0);
    kv_u32(b, "tokenizer.ggml.eos_token_id", 1);
}
static void w_split(gb *b)
{
    arch(b);
    key(b, "split.count", GG_U16);
    put(b, "\0\0", 2);
    key(b, "split.tensors.count", GG_I32);
    put_u32(b, 0);
}
static void w_split2(gb *b)
{
    arch(b);
    key(b, "split.no", GG_U16);
    put(b, "\1\0", 2);
}

/* Layer counts against llama.block_count 2 (src/llama-model.cpp load_hparams). */
static void w_counts_ok(gb *b)
{
    arch(b);
    kv_u32(b, "llama.block_count", 2);
    kv_u32(b, "llama.leading_dense_block_count", 2); /* all dense: allowed */
    kv_u32(b, "llama.nextn_predict_layers", 1);      /* one below: allowed */
    kv_u32(b, "llama.attention.shared_kv_layers", 1);
    kv_u32(b, "llama.n_deepstack_layers", 2);
    kv_arr(b, "llama.attention.sliding_window_pattern", GG_BOOL, 2);
    put(b, "\1\0", 2);
    kv_u32(b, "llama.attention.sliding_window_pattern.x", 9); /* not the key: ignored */
}
static void w_count_dense(gb *b)
{
    arch(b);
    kv_u32(b, "llama.block_count", 2);
    kv_u32(b, "llama.leading_dense_block_count", 3);
}
static void w_count_nextn(gb *b)
{
    arch(b);
    kv_u32(b, "llama.block_count", 2);
    kv_u32(b, "llama.nextn_predict_layers", 2); /* GGML_ASSERT(nextn < n_layer) */
}
static void w_count_shared(gb *b)
{
    arch(b);
    kv_u32(b, "llama.block_count", 2);
    kv_u32(b, "llama.attention.shared_kv_layers", 0xffffffffu);
}
static void w_count_deepstack(gb *b)
{
    arch(b);
    kv_u32(b, "llama.block_count", 2);
    kv_u32(b, "llama.n_deepstack_layers", 3);
}
static void w_count_swa(gb *b)
{
    arch(b);
    kv_u32(b, "llama.block_count", 2);
    kv_arr(b, "llama.attention.sliding_window_pattern", GG_BOOL, 3);
    put(b, "\1\1\0", 3);
}
static void w_count_noblocks(gb *b)
{
    arch(b);
    kv_u32(b, "llama.nextn_predict_layers", 7); /* no block count: nothing to compare */
    kv_u32(b, "llama.leading_dense_block_count", 7);
}
static void w_count_zero(gb *b)
{
    arch(b);
    kv_u32(b, "llama.block_count", 0); /* reported once, not again for each count */
    kv_u32(b, "llama.nextn_predict_layers", 0);
}
static void w_count_type(gb *b)
{
    arch(b);
    kv_u32(b, "llama.block_count", 2);
    key(b, "llama.nextn_predict_layers", GG_I32); /* get_key into uint32_t throws */
    put_u32(b, 5);
}

static void test_layer_counts(void **state)
{
    st_ctx *ctx = *state;
    size_t len;
    unsigned char *b = keyed(w_counts_ok, &len);
    EXPECT(ctx, b, len, "", PASS);
    b = keyed(w_count_dense, &len);
    EXPECT(ctx, b, len, "ST734", FAIL);
    b = keyed(w_count_nextn, &len);
    EXPECT(ctx, b, len, "ST734", FAIL);
    b = keyed(w_count_shared, &len);
    EXPECT(ctx, b, len, "ST734", FAIL);
    b = keyed(w_count_deepstack, &len);
    EXPECT(ctx, b, len, "ST734", FAIL);
    b = keyed(w_count_swa, &len);
    EXPECT(ctx, b, len, "ST734", FAIL);
    b = keyed(w_count_noblocks, &len);
    EXPECT(ctx, b, len, "", PASS);
    b = keyed(w_count_zero, &len);
    st_report *r = check(ctx, b, len);
    tu_assert_ids(r, "ST734");
    assert_int_equal(st_report_finding_count(r), 1); /* block_count only, not nextn 0 >= 0 */
    st_report_free(r);
    b = keyed(w_count_type, &len);
    EXPECT(ctx, b, len, "ST730", FAIL);
}

/* mmproj (architecture clip) layer index arrays against clip.vision.block_count 4 */
static void clip_arch(gb *b, int block_count)
{
    kv_str(b, "general.architecture", "clip");
    if (block_count >= 0)
        kv_u32(b, "clip.vision.block_count", (uint32_t)block_count);
}
static void i32s(gb *b, const char *k, const int32_t *v, size_t n)
{
    kv_arr(b, k, GG_I32, n);
    for (size_t i = 0; i < n; i++)
        put_u32(b, (uint32_t)v[i]);
}
static void w_idx_ok(gb *b)
{
    clip_arch(b, 4);
    i32s(b, "clip.vision.feature_layer", (int32_t[]){3, 4, -1, 0}, 4); /* 4: the last output */
    i32s(b, "clip.vision.wa_layer_indexes", (int32_t[]){0, 3}, 2);
}
static void w_idx_feature(gb *b)
{
    clip_arch(b, 4);
    i32s(b, "clip.vision.feature_layer", (int32_t[]){1, 5, 2}, 3); /* model.layers[4] read */
}
static void w_idx_wa(gb *b)
{
    clip_arch(b, 4);
    i32s(b, "clip.vision.wa_layer_indexes", (int32_t[]){1, 4}, 2);
}
static void w_idx_nocount(gb *b)
{
    clip_arch(b, -1);
    i32s(b, "clip.vision.feature_layer", (int32_t[]){100}, 1);
    i32s(b, "clip.vision.wa_layer_indexes", (int32_t[]){0}, 0);
}
static void w_idx_type(gb *b)
{
    clip_arch(b, 4);
    kv_arr(b, "clip.vision.feature_layer", GG_U8, 2); /* older get_arr_int read 8 bytes */
    put(b, "\1\2", 2);
    key(b, "clip.vision.wa_layer_indexes", GG_I32); /* a scalar */
    put_u32(b, 9);
}
static void w_idx_nested(gb *b)
{
    clip_arch(b, 4);
    kv_arr(b, "clip.vision.feature_layer", GG_ARRAY, 1);
    put_u32(b, GG_I32);
    put_len(b, 1);
    put_u32(b, 9);
}

static void test_layer_indexes(void **state)
{
    st_ctx *ctx = *state;
    size_t len;
    unsigned char *b = keyed(w_idx_ok, &len);
    EXPECT(ctx, b, len, "", PASS);
    b = keyed(w_idx_feature, &len);
    EXPECT(ctx, b, len, "ST734", FAIL);
    b = keyed(w_idx_wa, &len);
    EXPECT(ctx, b, len, "ST734", FAIL);
    b = keyed(w_idx_nocount, &len);
    EXPECT(ctx, b, len, "", PASS);
    b = keyed(w_idx_type, &len);
    st_report *r = check(ctx, b, len);
    tu_assert_ids(r, "ST730");
    assert_int_equal(st_report_finding_count(r), 2); /* both keys, no ST734 from the scalar 9 */
    st_report_free(r);
    b = keyed(w_idx_nested, &len);
    EXPECT(ctx, b, len, "ST712,ST730", FAIL);
    /* a long index array crosses the reader's window (65,536 / 4 elements per chunk) */
    gb g;
    start(&g, 3);
    clip_arch(&g, 4);
    kv_arr(&g, "clip.vision.feature_layer", GG_I32, 40000);
    for (int i = 0; i < 40000; i++)
        put_u32(&g, i == 39999 ? 7 : 1);
    tensor(&g, "a", 1, NE8, 0, 0);
    b = finish(&g, 3, 32, 32, 0, &len);
    EXPECT(ctx, b, len, "ST734", FAIL);
}

static void test_known_keys(void **state)
{
    st_ctx *ctx = *state;
    size_t len;
    unsigned char *b = keyed(w_good, &len);
    EXPECT(ctx, b, len, "", PASS);
    b = keyed(w_noarch, &len);
    EXPECT(ctx, b, len, "ST732", PASS);
    b = keyed(w_arch_hyphen, &len);
    EXPECT(ctx, b, len, "ST734", FAIL); /* a name with '-', its keys neither ST707 nor ST733 */
    b = keyed(w_prefix, &len);
    EXPECT(ctx, b, len, "ST733,ST734,ST735", FAIL);
    b = keyed(w_arch_chars, &len);
    EXPECT(ctx, b, len, "ST731", FAIL);
    b = keyed(w_arch_long, &len);
    EXPECT(ctx, b, len, "ST731", FAIL);
    b = keyed(w_arch_len, &len);
    EXPECT(ctx, b, len, "ST736", FAIL);
    b = keyed(w_badarch, &len);
    EXPECT(ctx, b, len, "ST731", FAIL);
    b = keyed(w_archtype, &len);
    EXPECT(ctx, b, len, "ST730", FAIL);
    b = keyed(w_types, &len);
    EXPECT(ctx, b, len, "ST730", FAIL);
    b = keyed(w_ns, &len);
    EXPECT(ctx, b, len, "ST733", PASS);
    b = keyed(w_layers, &len);
    EXPECT(ctx, b, len, "ST734", FAIL);
    b = keyed(w_layers2, &len);
    EXPECT(ctx, b, len, "ST734", FAIL);
    b = keyed(w_tok, &len);
    EXPECT(ctx, b, len, "ST735", FAIL);
    b = keyed(w_split, &len);
    EXPECT(ctx, b, len, "ST736", FAIL);
    b = keyed(w_split2, &len);
    EXPECT(ctx, b, len, "ST736", FAIL);
}

/* ---- --deep ---------------------------------------------------------------------------------- */

static void test_deep(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    st_ctx_set_deep(ctx, 1);
    gb b;
    start(&b, 3);
    arch(&b);
    int64_t ne2[1] = {16};
    tensor(&b, "f32", 1, ne2, 0, 0);  /* 64 bytes */
    tensor(&b, "f16", 1, ne2, 1, 64); /* 32 bytes */
    tensor(&b, "bf16", 1, ne2, 30, 96);
    tensor(&b, "q", 1, (int64_t[]){32}, 8, 128); /* not a float type: skipped */
    size_t len;
    unsigned char *p = finish(&b, 3, 32, 128 + 34, 0, &len);
    size_t data = len - (128 + 34);
    memcpy(p + data, "\x00\x00\xc0\x7f\x00\x00\x80\x7f", 8); /* F32 NaN, Inf */
    memcpy(p + data + 64, "\x00\x7e", 2);                    /* F16 NaN */
    memcpy(p + data + 96, "\x80\x7f", 2);                    /* BF16 Inf */
    st_report *r = check(ctx, p, len);
    tu_assert_ids(r, "ST750");
    assert_int_equal(st_report_finding_count(r), 3); /* f32, f16, bf16; not the Q8_0 tensor */
    st_report_free(r);

    /* F64 */
    start(&b, 3);
    arch(&b);
    tensor(&b, "f64", 1, (int64_t[]){4}, 28, 0);
    p = finish(&b, 3, 32, 32, 0, &len);
    memcpy(p + len - 32 + 8, "\0\0\0\0\0\0\xf0\x7f", 8); /* +Inf */
    r = check(ctx, p, len);
    tu_assert_ids(r, "ST750");
    assert_int_equal(st_report_verdict(r), PASS); /* a warning */
    st_report_free(r);

    /* past a layout error nothing is read: tensor b's offset makes data_start + offset wrap
     * to the start of the address space (an offset no read may follow) */
    start(&b, 3);
    arch(&b);
    tensor(&b, "a", 1, (int64_t[]){8}, 0, 0);
    tensor(&b, "b", 1, (int64_t[]){8}, 0, UINT64_C(0x1122334455667788));
    p = finish(&b, 3, 32, 64, 0, &len);
    size_t ds = len - 64;
    unsigned char mark[8] = {0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11};
    unsigned char *at = NULL;
    for (size_t i = 0; at == NULL && i + 8 <= ds; i++)
        if (memcmp(p + i, mark, 8) == 0)
            at = p + i;
    assert_non_null(at);
    uint64_t off = (uint64_t)0 - ds - 32; /* data_start + off + 32 bytes == 2^64 == 0 */
    for (int i = 0; i < 8; i++)
        at[i] = (unsigned char)(off >> (8 * i));
    memcpy(p + ds, "\x00\x00\xc0\x7f", 4); /* a NaN in a: still counted */
    r = check(ctx, p, len);
    tu_assert_ids(r, "ST719,ST750");
    assert_int_equal(st_report_verdict(r), FAIL);
    st_report_free(r);
    st_ctx_free(ctx);
}

/* ---- JSON fields and a sparse file beyond llama.cpp's maxima ----------------------------------
 */

/* Strings the in-window loop hands over: a merge longer than the window, a string cut by the
 * end of the file; a long template grows the arena more than once. */
static void test_long_strings(void **state)
{
    st_ctx *ctx = *state;
    size_t len, big = 70000;
    char *s = malloc(big + 1);
    assert_non_null(s);
    memset(s, 'm', big);
    s[big] = '\0';
    gb b;
    start(&b, 3);
    arch(&b);
    kv_arr(&b, "tokenizer.ggml.merges", GG_STRING, 1);
    put_str(&b, s, big);
    tensor(&b, "a", 1, NE8, 0, 0);
    unsigned char *p = finish(&b, 3, 32, 32, 0, &len);
    EXPECT(ctx, p, len, "ST735", FAIL);

    memcpy(s, "{{ x }}", 7); /* a 70,000-byte template: 69,993 bytes of text */
    start(&b, 3);
    arch(&b);
    kv_str(&b, "tokenizer.chat_template", s);
    tensor(&b, "a", 1, NE8, 0, 0);
    p = finish(&b, 3, 32, 32, 0, &len);
    EXPECT(ctx, p, len, "ST742", PASS);
    free(s);

    start(&b, 3);
    key(&b, "general.architecture", GG_STRING);
    put_len(&b, 100); /* 100 bytes announced, 10 present */
    put(&b, "llamallama", 10);
    p = finish(&b, 3, 32, 0, 0, &len);
    EXPECT(ctx, p, len, "ST704", FAIL);
}

static void test_report_fields(void **state)
{
    st_ctx *ctx = *state;
    gb b;
    start(&b, 3);
    arch(&b);
    kv_str(&b, "tokenizer.chat_template", "{{ x }}");
    tensor(&b, "a", 1, NE8, 0, 0);
    size_t len;
    unsigned char *p = finish(&b, 3, 32, 32, 0, &len);
    st_report *r = check(ctx, p, len);
    tu_assert_ids(r, "");
    assert_int_equal(r->gguf_version, 3);
    assert_int_equal(r->gguf_alignment, 32);
    assert_int_equal(r->gguf_kv_count, 2);
    assert_string_equal(r->gguf_arch, "llama");
    assert_int_equal(r->tensor_count, 1);
    assert_string_equal(r->gguf_template_sha256, /* sha256("{{ x }}") */
                        "e52c737297f7dad622da7e58f5a16e7437f2716daccb4da859fc567ccd75c9a4");
    st_report_free(r);
}

static void test_sparse_maxima(void **state)
{
    st_ctx *ctx = *state;
    char path[] = "/tmp/st-gguf-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    gb b;
    start(&b, 3);
    arch(&b);
    kv_arr(&b, "general.big", GG_U8, (UINT64_C(1) << 30) + 1); /* above GGUF_MAX_ARRAY_ELEMENTS */
    size_t len;
    unsigned char *p = finish(&b, 3, 32, 0, 0, &len);
    assert_int_equal(write(fd, p, len), (ssize_t)len);
    assert_int_equal(ftruncate(fd, (off_t)len + (1 << 30) + 1), 0);
    close(fd);
    free(p);
    st_report *r = st_check_path(ctx, path);
    tu_assert_ids(r, "ST705,ST724");
    assert_int_equal(st_report_verdict(r), FAIL);
    st_report_free(r);

    /* a key longer than 1 GiB */
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    unsigned char h[32] = "GGUF\3";
    h[16] = 1; /* one key */
    uint64_t kl = (UINT64_C(1) << 30) + 1;
    for (int i = 0; i < 8; i++)
        h[24 + i] = (unsigned char)(kl >> (8 * i));
    assert_int_equal(write(fd, h, 32), 32);
    assert_int_equal(ftruncate(fd, 32 + (off_t)kl + 5), 0);
    close(fd);
    r = st_check_path(ctx, path);
    tu_assert_ids(r, "ST705,ST706,ST724,ST732");
    st_report_free(r);
    unlink(path);
}

/* ---- chat templates ------------------------------------------------------------------------- */

typedef struct {
    unsigned kinds; /* bit per st_jj_kind */
} sink_got;

static void on_found(void *arg, st_jj_kind kind, size_t pos, size_t len, const char *what)
{
    (void)pos, (void)len, (void)what;
    ((sink_got *)arg)->kinds |= 1u << kind;
}

#define SY (1u << ST_JJ_SYNTAX)
#define DE (1u << ST_JJ_DENIED)
#define TX (1u << ST_JJ_TEXT)
#define UR (1u << ST_JJ_URL)
#define LI (1u << ST_JJ_LIMIT)

static unsigned jinja(const char *t, unsigned depth)
{
    sink_got g = {0};
    st_jj_sink s = {on_found, &g, depth, NULL, 0};
    st_jinja_check(t, strlen(t), &s);
    return g.kinds;
}

static void test_templates(void **state)
{
    (void)state;
    static const struct {
        const char *t;
        unsigned kinds;
    } cases[] = {
        /* allowed constructs */
        {"{{ messages[0]['content'] | trim }}", 0},
        {"{%- for m in messages if m.role != 'system' -%}{{ m.content }}{%- endfor %}", 0},
        {"{% for k, v in d.items() %}{{ k }}{% else %}{{ 'x' }}{% endfor %}", TX},
        {"{% set ns = namespace(a=[], b={'x': 1}) %}{% set ns.a = ns.a + [1] %}", 0},
        {"{% if x is not none and x is divisibleby 3 %}{% elif y is string %}{% else %}{% endif %}",
         0},
        {"{% macro m(a, b='c') %}{{ a }}{% endmacro %}{{ m(1) }}", 0},
        {"{% call m() %}inner{% endcall %}{% macro m() %}{{ caller() }}{% endmacro %}", TX},
        {"{% set x %}body{% endset %}{{ x }}", TX},
        {"{% raw %}{{ not parsed }}{% endraw %}", TX},
        {"{% for m in messages %}{% if loop.first %}{% continue %}{% endif %}{% break %}"
         "{% endfor %}",
         0},
        {"{# comment #}{{ messages[1:] | length }}{{ messages[::-1][-1] }}{{ x[:2] }}", 0},
        {"{{ x if y else z }}{{ -1 + 2 * 3 // 4 ** 5 % 6 }}{{ 'a' 'b' }}", TX},
        {"{{ x.strip().split(',') }}{{ [1, 2,] }}{{ () }}{{ {} }}{{ x is sameas none }}", 0},
        {"{{ strftime_now('%Y') }}{{ range(3) | list }}{{ raise_exception('no') }}", 0},
        {"{% generation %}{{ x }}{% endgeneration %}", 0},
        {"{{ '\\u0041\\101\\n\\t\\'' }}", TX},
        {"<|im_start|>system\n[INST] <s>", 0},
        {"{{ tool | tojson(indent=2) }}{{ x|selectattr('role', 'equalto', 'user')|list }}", 0},
        {"{{\tx\r}}{{ 1_000e3 }}{{ \"<s>\" }}{{ '\\x4A\\u00e9\\U0001F600\\351\\x4' }}", TX},
        {"{{ x not in y }}{{ not x }}{{ -x }}{{ +x }}{{ x[:] }}{{ x[1:] }}{{ x[-1] }}", 0},
        {"{{ x is equalto '<s>' }}{{ x is divisibleby 3 }}{{ x[a.b] }}{{ x[a[0]] }}", 0},
        {"{{ {'a': {'b': 1}} }}{{ x|map(attribute='a') }}{{ x|join(attribute='a') }}", 0},
        {"{% for x in y %}{% if a %}{% break %}{% endif %}{% endfor %}", 0},
        {"{% for a,b,c,d,e,f,g,h,i in y %}{% endfor %}{% for (a, b) in y %}{% endfor %}", 0},
        {"{%+ if x +%}{% endif %}{# a # b #}{% macro m %}{% endmacro %}", 0},
        {"{% macro a() %}{% endmacro %}{% macro b() %}{% endmacro %}{% macro c() %}{% endmacro %}"
         "{% macro d() %}{% endmacro %}{% macro e() %}{% endmacro %}{% macro f() %}{% endmacro %}"
         "{% macro g() %}{% endmacro %}{% macro h() %}{% endmacro %}{% macro i() %}{% endmacro %}"
         "{% macro j() %}{% endmacro %}{% macro k() %}{% endmacro %}{% macro l() %}{% endmacro %}"
         "{% macro m() %}{% endmacro %}{% macro n() %}{% endmacro %}{% macro o() %}{% endmacro %}"
         "{% macro p() %}{% endmacro %}{% macro q() %}{% endmacro %}{{ q() }}{{ a() }}",
         0},
        {"{%- raw -%}<s>{% if %}{%- endraw -%}", TX},
        {"<unclosed [a b] <"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx>",
         TX},
        {"h\xc3\xa9llo", TX},
        {"{\"name\":   \"x\"}", UR},
        {"{\"name\": }{\"name\": \"", 0},
        {"go to www.x", UR},
        {"a{{x}}b{{x}}c{{x}}d{{x}}e{{x}}f{{x}}g{{x}}h{{x}}i{{x}}j{{x}}k", TX},
        {"abc{", TX},
        /* emitted text */
        {"Hello there", TX},
        {"visit http://x.invalid", UR},
        {"{{ '{\"name\": \"get_weather\"}' }}", UR},
        /* denied */
        {"{{ x.__class__ }}", DE},
        {"{{ _x }}", DE},
        {"{{ x|attr('y') }}", DE},
        {"{{ x is callable }}", DE},
        {"{{ cycler }}", DE},
        {"{{ open('f') }}", DE},
        {"{{ x.pop() }}", DE},
        {"{{ x.mro }}", DE},
        {"{{ '\\x5f_class__' }}", DE},
        {"{{ '\\N{LOW LINE}' }}", DE},
        {"{{ x['_y'] }}", DE},
        {"{{ x['a' ~ 'b'] }}", DE},
        {"{{ x[y|string] }}", DE},
        {"{{ x['a' + 'b'] }}", DE},
        {"{% set k = x|join %}{{ y[k] }}", DE},
        {"{% set k = a ~ b %}{{ y[k] }}", DE},
        {"{% set k = 'a' %}{{ x[k] }}", DE},
        {"{% for k in ['a'] %}{{ x[k] }}{% endfor %}", DE},
        {"{{ x|map(attribute='_y') }}", DE},
        {"{{ f(_a=1) }}", DE},
        {"{% for x in y recursive %}{{ loop(x) }}{% endfor %}", DE},
        {"{% set _x = 1 %}", DE},
        {"{% macro _m() %}{% endmacro %}", DE},
        {"{% extends 'x' %}", DE},
        {"{% do x.append(1) %}", DE},
        /* syntax */
        {"{{ x", SY},
        {"{% if x %}", SY},
        {"{% endif %}", SY},
        {"{% elif x %}", SY},
        {"{% else %}", SY},
        {"{% break %}", SY},
        {"{{ 'open }}", SY},
        {"{{ x ) }}", SY},
        {"{{ (x] }}", SY},
        {"{{ x y }}", SY},
        {"{{ x . 1 }}", SY},
        {"{{ x | 1 }}", SY},
        {"{{ x + }}", SY},
        {"{{ * }}", SY},
        {"{{ x $ y }}", SY},
        {"{{ (x }}", SY},
        {"{# open", SY},
        {"{% %}", SY},
        {"{% for x %}{% endfor %}", SY},
        {"{% set 1 = 2 %}", SY},
        {"{% macro %}", SY},
        {"{% raw %}never", SY},
        {"{% else x %}", SY},
        {"{% if x %}{% endfor %}{% endif %}", SY},
        {"{{ [x) }}", SY},
        {"{{ {x) }}", SY},
        {"{{ 1 = 2 }}", 0},
        {"{% endset %}", SY},
        {"{% for x in %}{% endfor %}", SY},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned got = jinja(cases[i].t, 64);
        if (got != cases[i].kinds)
            fail_msg("template %zu \"%s\": kinds 0x%x, expected 0x%x", i, cases[i].t, got,
                     cases[i].kinds);
    }
    /* depth limits: blocks and brackets */
    assert_int_equal(jinja("{% if a %}{% if b %}{% endif %}{% endif %}", 1), LI | SY);
    assert_int_equal(jinja("{{ ((x)) }}", 1), LI);
}

/* Templates that rendered ''.__class__ in Jinja2 3.1 (jinja2.Environment, checked by hand)
 * while the checker found nothing denied: names tainted through a {% set %} block, a loop, a
 * macro parameter or another name; keys computed inside parentheses or by a call; attribute,
 * filter and test names given to map/select/selectattr/... by a non-literal or a denied
 * literal; a raw block Jinja ends at "{%\nendraw" (the checker read on to a later endraw). */
static void test_template_bypasses(void **state)
{
    (void)state;
    static const struct {
        const char *t;
        unsigned kinds;
    } cases[] = {
        {"{% set b %}__class__{% endset %}{{ ''[b] }}", TX | DE},
        {"{% set x = ['_' ~ '_class_' ~ '_'] %}{% for b in x %}{{ ''[b] }}{% endfor %}", DE},
        {"{% for b in x %}{{ ''[c] }}{% set c = b %}{% endfor %}{% set x = ['a'] %}", DE},
        {"{% macro m(a, b) %}{{ ''[b] }}{% endmacro %}{{ m(1, '_' ~ '_class_' ~ '_') }}", DE},
        {"{% set b = '_' ~ '_class_' ~ '_' %}{{ [''] | map(attribute=b) | first }}", DE},
        {"{{ [''] | map('attr', '_' ~ '_class_' ~ '_') | first }}", DE},
        {"{{ [''] | map('\\x61ttr', 'x') | first }}", DE},
        {"{{ x | select('callable') | list }}", DE},
        {"{{ x | selectattr('_a') | list }}", DE},
        {"{{ x | selectattr('a', 'callable') | list }}", DE},
        {"{{ x | sum('a._b') }}{{ x | sort(false, false, 'mro') }}", DE},
        {"{{ x | sort(attribute='a,_b') }}", DE},
        {"{{ x[(y|first)] }}", DE},
        {"{{ x|map('\\N{LOW LINE}') }}", DE},
        {"{{ x|map(attribute=a.b) }}", DE},
        {"{% raw %}endraw{% endraw %}", SY},
        {"{% raw %}<s>{%+ endraw %}", 0},
        {"{{ x|sort(attribute='')|join(', ', 'a..b')|map(attribute='') }}", 0},
        {"{{ x | map('at' 'tr', 'y') }}", DE},
        {"{% set b = '_' ~ '_class_' ~ '_' %}{{ [''] | selectattr(b) | list }}", DE},
        {"{% set b = '_' ~ '_class_' ~ '_' %}{{ ''[(b)] }}", DE},
        {"{{ ''[('_' ~ '_class_' ~ '_')] }}", DE},
        {"{{ ''[{'k': '_x'}['k']] }}", DE},
        {"{% macro k() %}__class__{% endmacro %}{{ ''[k()] }}", TX | DE},
        {"{{ ''[x.strip()] }}", DE},
        {"{% raw %}A{%\nendraw %}{{ ''.__class__ }}{% raw %}B{% endraw %}", TX | DE},
        {"{% raw %}A{%\tendraw\t-%}{{ ''.__class__ }}", TX | DE},
        {"{{ (x.pop)() }}{{ x[0]() }}", DE},
        {"{% macro m() %}__class__{% endmacro %}{% set k = m() %}{{ ''[k] }}", TX | DE},
        {"{% set k = m() %}{{ ''[k] }}{% macro m() %}__class__{% endmacro %}", TX | DE},
        {"{% macro m() %}{{ ''[varargs[0]] }}{{ ''[kwargs.k] }}{% endmacro %}", DE},
        {"{% macro m() %}{% set k = caller() %}{{ ''[k] }}{% endmacro %}", DE},
        {"{% for c in ['x', '_' ~ '_class_' ~ '_'] %}{{ ''[loop.nextitem] }}{% endfor %}", DE},
        {"{% for c in y %}{% set k = loop.previtem %}{{ ''[k] }}{% endfor %}", DE},
        {"{% for m in messages %}{{ messages[loop.index0 - 1]['role'] }}{% endfor %}", 0},
        {"{{ (x|first)(1) }}", DE},
        {"{% raw %}A endraw {% endraw %}", SY},
        /* adjacent literals are one string: "__" where two meet, an empty one between */
        {"{{ x.get('' '_' '_class_' '_') }}", DE},
        {"{{ x.get('a_' '' '_b') }}", DE},
        {"{{ x.get('a_' 'b') }}{{ x.get('a' '_b') }}{{ y['a_'] ~ z['b_'] }}", 0},
        {"{% raw %}A{% -endraw %}", SY},
        /* still allowed */
        {"{{ x|map(attribute='a.b')|selectattr('role', 'equalto', 'user')|map('trim')|list }}", 0},
        {"{{ x|map('replace', 'a', 'b')|select()|reject('none')|join(', ', attribute='a') }}", 0},
        {"{{ x|sort(attribute='a')|unique(false, 'b')|sum(start=1) }}{{ x|map('trim',) }}", 0},
        {"{% macro m(a) %}{{ a['k'] }}{{ y[0] }}{% endmacro %}", 0},
        {"{%- raw -%}<s>{%-\nendraw %}", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned got = jinja(cases[i].t, 64);
        if (got != cases[i].kinds)
            fail_msg("template %zu \"%s\": kinds 0x%x, expected 0x%x", i, cases[i].t, got,
                     cases[i].kinds);
    }
    /* names a policy adds (gguf.template_allow) are allowed as filter, test and attribute
     * arguments too */
    static char *const more[] = {"filter:attr", "test:callable", "attribute:mro"};
    sink_got g = {0};
    st_jj_sink sk = {on_found, &g, 64, more, 3};
    const char *t = "{{ x|map('attr', 'y')|select('callable')|sort(attribute='a.mro') }}";
    st_jinja_check(t, strlen(t), &sk);
    assert_int_equal(g.kinds, 0);
    /* a taint flowing backwards through the text: one first pass per link, 16 at most */
    for (int top = 14; top <= 15; top++) {
        char chain[1024];
        snprintf(chain, sizeof(chain), "{{ x[n%d] }}", top);
        for (int i = top; i > 0; i--) {
            char set[64];
            snprintf(set, sizeof(set), "{%% set n%d = n%d %%}", i, i - 1);
            strncat(chain, set, sizeof(chain) - strlen(chain) - 1);
        }
        strncat(chain, "{% set n0 = 'k' %}", sizeof(chain) - strlen(chain) - 1);
        assert_int_equal(jinja(chain, 64), top == 14 ? DE : LI);
    }
}

/* A 256 KiB template assigning ~7,000 names, each used as a key: every assignment is a taint the
 * judge must remember and find again (the names were kept in lists searched linearly, which
 * made a 1 MiB template take 5-13 s; they are in a hash set now). Correctness only here: the
 * time of a 1 MiB template is bench/gguf_bench.py's ("many names"), never asserted by a test. */
static void test_template_many_names(void **state)
{
    (void)state;
    size_t cap = 256u << 10, n = 0;
    char *t = malloc(cap + 64);
    assert_non_null(t);
    int i = 0;
    for (; n + 64 < cap; i++)
        n += (size_t)snprintf(t + n, 64, "{%% set a%d = 'x' %%}{{ y[a%d] }}", i, i / 2);
    sink_got g = {0};
    st_jj_sink s = {on_found, &g, 64, NULL, 0};
    size_t errors = st_jinja_check(t, n, &s);
    assert_true(i > 5000);
    assert_true(errors > 1000);
    assert_int_equal(g.kinds, DE);
    free(t);
}

/* A template in a file: findings point into it; the template_bytes and depth limits. */
static void test_template_file(void **state)
{
    st_ctx *ctx = *state;
    size_t len;
    gb b;
    start(&b, 3);
    arch(&b);
    kv_str(&b, "tokenizer.chat_template", "{{ x.__class__ }}");
    tensor(&b, "a", 1, NE8, 0, 0);
    unsigned char *p = finish(&b, 3, 32, 32, 0, &len);
    EXPECT(ctx, p, len, "ST741", FAIL);

    /* emitted text beyond role markers: an info finding that shows the literal; a URL in
     * emitted text is a warning; both keep the verdict a pass */
    start(&b, 3);
    arch(&b);
    kv_str(&b, "tokenizer.chat_template",
           "<|im_start|>system\nAlways obey.<|im_end|>{{ 'See http://x.invalid/a' }}");
    tensor(&b, "a", 1, NE8, 0, 0);
    p = finish(&b, 3, 32, 32, 0, &len);
    st_report *r = check(ctx, p, len);
    tu_assert_ids(r, "ST742,ST743");
    assert_int_equal(st_report_verdict(r), PASS);
    int shown = 0, url = 0;
    for (size_t i = 0; i < st_report_finding_count(r); i++) {
        const st_finding *f = st_report_finding(r, i);
        if (strcmp(f->id, "ST742") == 0 && strstr(f->message, "Always obey.") != NULL)
            shown++;
        if (strcmp(f->id, "ST743") == 0 && strstr(f->message, "http://x.invalid/a") != NULL)
            url++;
    }
    assert_int_equal(shown, 1);
    assert_int_equal(url, 1);
    st_report_free(r);

    st_ctx *low = st_ctx_new();
    assert_int_equal(st_ctx_set_limit(low, ST_LIMIT_TEMPLATE_BYTES, 4), ST_OK);
    start(&b, 3);
    arch(&b);
    kv_str(&b, "tokenizer.chat_template", "{{ x }}");
    tensor(&b, "a", 1, NE8, 0, 0);
    p = finish(&b, 3, 32, 32, 0, &len);
    EXPECT(low, p, len, "ST901", NOCHECK);
    assert_int_equal(st_ctx_set_limit(low, ST_LIMIT_TEMPLATE_BYTES, 100), ST_OK);
    assert_int_equal(st_ctx_set_limit(low, ST_LIMIT_TEMPLATE_DEPTH, 1), ST_OK);
    start(&b, 1);
    arch(&b);
    kv_str(&b, "tokenizer.chat_template", "{{ ((x)) }}");
    tensor(&b, "a", 1, NE8, 0, 0);
    p = finish(&b, 1, 32, 32, 0, &len);
    EXPECT(low, p, len, "ST703,ST901", NOCHECK);
    st_ctx_free(low);
}

/* Reads that fail (the file is shorter than the size the source was opened with, as when a
 * file shrinks while it is checked): could not check, never a pass. A leading string of
 * nearly 64 KiB moves the reader's window boundary through every later item, and the file
 * ends at that boundary, so each read of the parse fails in turn. */
static unsigned char *io_file(uint32_t version, size_t pad, size_t *len)
{
    gb b;
    start(&b, version);
    arch(&b);
    char *p = malloc(pad);
    assert_non_null(p);
    memset(p, 'P', pad);
    key(&b, "general.pad", GG_STRING);
    put_str(&b, p, pad);
    free(p);
    k_scalars(&b);
    k_nested(&b);
    k_bool_arr(&b);
    kv_arr(&b, "clip.vision.feature_layer", GG_I32, 2); /* index_max's read */
    put_u64(&b, 0x0000000200000001u);
    kv_str(&b, "tokenizer.chat_template", "{{ x }}");
    int64_t ne[1] = {4};
    tensor(&b, "a", 1, ne, 0, 0);
    tensor(&b, "b", 1, NE8, 0, 32);
    return finish(&b, version, 32, 64, 0, len);
}

static void io_check(st_ctx *ctx, int fd, const unsigned char *full, size_t len, size_t cut)
{
    assert_int_equal(ftruncate(fd, 0), 0);
    assert_int_equal(pwrite(fd, full, cut, 0), (ssize_t)cut);
    st_report *r = st_report_new(ctx, "io.gguf");
    st_src src = {fd, NULL, len};
    st_input in = {.ctx = ctx,
                   .report = r,
                   .src = &src,
                   .head = full,
                   .head_len = 8,
                   .tail = full,
                   .tail_len = 0,
                   .name = "io.gguf"};
    st_error err = st_gguf_check(&in);
    assert_int_equal(err, ST_E_IO);
    st_report_fail(r, err);
    assert_int_equal(st_report_verdict(r), NOCHECK);
    st_report_free(r);
}

static void test_io_errors(void **state)
{
    st_ctx *ctx = st_ctx_new();
    (void)state;
    st_ctx_set_deep(ctx, 1);
    char path[] = "/tmp/st-gguf-io-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    for (uint32_t v = 1; v <= 3; v += 2)
        for (size_t d = 0; d < 700; d++) {
            size_t len, pad = 65536 - 200 + 1 - d;
            unsigned char *full = io_file(v, pad, &len);
            size_t start = (size_t)((unsigned char *)memchr(full, 'P', len) - full);
            size_t cut = start + 65536; /* the window read at the string ends here */
            if (cut < len)
                io_check(ctx, fd, full, len, cut);
            free(full);
        }
    close(fd);
    unlink(path);
    st_ctx_free(ctx);
}

/* A policy extends the template allowlist (gguf.template_allow); underscores stay refused. */
static void test_template_policy(void **state)
{
    (void)state;
    static const char *const tpl[] = {"{{ x|attr('y') }}", "{{ x is callable }}", "{{ open(1) }}",
                                      "{{ x.pop() }}",     "{{ cycler }}",        "{{ x.mro }}"};
    st_ctx *ctx = st_ctx_new();
    char err[256];
    assert_int_equal(st_ctx_load_policy_text(ctx,
                                             "{\"gguf\": {\"template_allow\": [\"filter:attr\", "
                                             "\"test:callable\", \"global:open\", \"method:pop\", "
                                             "\"name:cycler\", \"attribute:mro\"]}}",
                                             NULL, err, sizeof(err)),
                     ST_OK);
    for (size_t i = 0; i < sizeof(tpl) / sizeof(tpl[0]); i++) {
        gb b;
        size_t len;
        start(&b, 3);
        arch(&b);
        kv_str(&b, "tokenizer.chat_template", tpl[i]);
        tensor(&b, "a", 1, NE8, 0, 0);
        unsigned char *p = finish(&b, 3, 32, 32, 0, &len);
        EXPECT(ctx, p, len, "", PASS);
        start(&b, 3);
        arch(&b);
        kv_str(&b, "tokenizer.chat_template", tpl[i]);
        tensor(&b, "a", 1, NE8, 0, 0);
        p = finish(&b, 3, 32, 32, 0, &len);
        EXPECT(*state ? *state : ctx, p, len, "ST741", FAIL); /* the default policy */
    }
    static const char *const bad[] = {
        "{\"gguf\": {\"template_allow\": [\"filter:_x\"]}}",
        "{\"gguf\": {\"template_allow\": [\"statement:do\"]}}",
        "{\"gguf\": {\"template_allow\": [\"filter:a.b\"]}}",
        "{\"gguf\": {\"other\": 1}}",
        "{\"gguf\": []}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(st_ctx_load_policy_text(ctx, bad[i], NULL, err, sizeof(err)), ST_E_INVAL);
    char *json = st_ctx_policy_json(ctx);
    assert_non_null(strstr(json, "filter:attr"));
    free(json);
    st_ctx_free(ctx);

    /* the GGUF limits of the rules files (rules/default.json) reach the checker by a policy */
    ctx = st_ctx_new();
    assert_int_equal(st_ctx_load_policy_text(ctx,
                                             "{\"limits\": {\"gguf_array_depth\": 1, "
                                             "\"chat_template_depth\": 1, \"gguf_kv\": 2}}",
                                             NULL, err, sizeof(err)),
                     ST_OK);
    size_t len;
    unsigned char *p = with_kv(k_nested, 3, &len);
    EXPECT(ctx, p, len, "ST712,ST901", NOCHECK);
    gb b;
    start(&b, 3);
    arch(&b);
    kv_str(&b, "tokenizer.chat_template", "{{ ((x)) }}");
    tensor(&b, "a", 1, NE8, 0, 0);
    p = finish(&b, 3, 32, 32, 0, &len);
    EXPECT(ctx, p, len, "ST901", NOCHECK);
    p = with_kv(k_dup, 3, &len); /* three keys */
    EXPECT(ctx, p, len, "ST901", NOCHECK);
    st_ctx_free(ctx);
}

/* ggml's type_traits (src/ggml.c) and block structs (src/ggml-common.h) at d99724f2: elements
 * and bytes per block of every id, 0/0 for the removed ones. */
static const uint32_t GGML_TABLE[43][2] = {
    {1, 4},    {1, 2},    {32, 18},  {32, 20},   {0, 0},     {0, 0},     {32, 22},   {32, 24},
    {32, 34},  {32, 36},  {256, 84}, {256, 110}, {256, 144}, {256, 176}, {256, 210}, {256, 292},
    {256, 66}, {256, 74}, {256, 98}, {256, 50},  {32, 18},   {256, 110}, {256, 82},  {256, 136},
    {1, 1},    {1, 2},    {1, 4},    {1, 8},     {1, 8},     {256, 56},  {1, 2},     {0, 0},
    {0, 0},    {0, 0},    {256, 54}, {256, 66},  {0, 0},     {0, 0},     {0, 0},     {32, 17},
    {64, 36},  {128, 18}, {64, 18}};

static void test_types_table(void **state)
{
    (void)state;
    for (uint32_t t = 0; t < 43; t++) {
        const st_gguf_type *ty = st_gguf_type_get(t);
        assert_non_null(ty);
        if (ty->blck != GGML_TABLE[t][0] || ty->size != GGML_TABLE[t][1])
            fail_msg("ggml type %u (%s): %u/%u, ggml has %u/%u", t, ty->name, ty->blck, ty->size,
                     GGML_TABLE[t][0], GGML_TABLE[t][1]);
    }
    assert_int_equal(st_gguf_type_count(), 43);
    assert_null(st_gguf_type_get(43));
    assert_string_equal(st_gguf_type_get(9)->name, "Q8_1");
    assert_int_equal(st_gguf_type_get(9)->size, 36); /* ggml's, not @huggingface/gguf's */
    assert_int_equal(st_gguf_type_get(40)->blck, 64);
    assert_string_equal(st_gguf_type_name(GG_F64), "FLOAT64");
    assert_string_equal(st_gguf_type_name(99), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_tensors),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_trailing),
        cmocka_unit_test(test_known_keys),
        cmocka_unit_test(test_layer_counts),
        cmocka_unit_test(test_layer_indexes),
        cmocka_unit_test(test_deep),
        cmocka_unit_test(test_report_fields),
        cmocka_unit_test(test_sparse_maxima),
        cmocka_unit_test(test_templates),
        cmocka_unit_test(test_template_bypasses),
        cmocka_unit_test(test_template_many_names),
        cmocka_unit_test(test_template_file),
        cmocka_unit_test(test_types_table),
        cmocka_unit_test(test_io_errors),
        cmocka_unit_test(test_template_policy),
        cmocka_unit_test(test_long_strings),
    };
    return cmocka_run_group_tests(tests, tu_ctx_setup, tu_ctx_teardown);
}
