/*
 * test_compressed.c - every check of src/formats/compressed.c (gzip, zlib, bzip2, xz, .lzma)
 * on streams compressed here (issue #12): exact finding ids and verdicts for clean, corrupt,
 * truncated, trailing and oversized streams, read and allocation failures in turn.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <bzlib.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "test_fault.h"
#include "test_util.h"

enum { GZ, ZL, BZ, XZ, LZ, KINDS };
static const char *const kind_names[] = {"gzip", "zlib", "bzip2", "xz", "lzma"};

/* The payload: a small pickle (protocol 2, the int 1), or n zero bytes when n > 0. */
static unsigned char *payload(size_t n, size_t *len)
{
    static const unsigned char pk[] = {0x80, 0x02, 'K', 0x01, '.'};
    unsigned char *p = calloc(1, n ? n : sizeof(pk));
    assert_non_null(p);
    if (n == 0)
        memcpy(p, pk, sizeof(pk));
    *len = n ? n : sizeof(pk);
    return p;
}

static unsigned char *compress_as(int kind, const unsigned char *in, size_t n, size_t *out_len)
{
    size_t cap = n + n / 2 + 1024;
    unsigned char *out = malloc(cap);
    assert_non_null(out);
    if (kind == GZ || kind == ZL) {
        z_stream z;
        memset(&z, 0, sizeof(z));
        assert_int_equal(
            deflateInit2(&z, 9, Z_DEFLATED, kind == GZ ? 16 + 15 : 15, 8, Z_DEFAULT_STRATEGY),
            Z_OK);
        z.next_in = (unsigned char *)(uintptr_t)in;
        z.avail_in = (uInt)n;
        z.next_out = out;
        z.avail_out = (uInt)cap;
        assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
        *out_len = z.total_out;
        deflateEnd(&z);
    } else if (kind == BZ) {
        unsigned int ol = (unsigned int)cap;
        assert_int_equal(BZ2_bzBuffToBuffCompress((char *)out, &ol, (char *)(uintptr_t)in,
                                                  (unsigned int)n, 9, 0, 0),
                         BZ_OK);
        *out_len = ol;
    } else {
        lzma_stream l = LZMA_STREAM_INIT;
        if (kind == XZ) {
            assert_int_equal(lzma_easy_encoder(&l, 6, LZMA_CHECK_CRC64), LZMA_OK);
        } else {
            lzma_options_lzma opt;
            assert_false(lzma_lzma_preset(&opt, 6));
            assert_int_equal(lzma_alone_encoder(&l, &opt), LZMA_OK);
        }
        l.next_in = in;
        l.avail_in = n;
        l.next_out = out;
        l.avail_out = cap;
        assert_int_equal(lzma_code(&l, LZMA_FINISH), LZMA_STREAM_END);
        *out_len = l.total_out;
        lzma_end(&l);
    }
    return out;
}

/* Clean streams of every kind: the pickle inside is checked (the file passes), its format the
 * compression's. */
static void test_clean(void **state)
{
    st_ctx *ctx = *state;
    for (int k = 0; k < KINDS; k++) {
        size_t n, cn;
        unsigned char *p = payload(0, &n), *c = compress_as(k, p, n, &cn);
        st_report *r = st_check_buffer(ctx, c, cn, "t.bin");
        assert_non_null(r);
        tu_assert_ids(r, "");
        assert_int_equal(st_report_verdict(r), ST_VERDICT_PASS);
        assert_string_equal(st_report_format(r), kind_names[k]);
        st_report_free(r);
        free(p);
        free(c);
    }
}

/* Cut streams (ST503), corrupt ones (ST503), bytes after the stream (ST504). */
static void test_corrupt_truncated_trailing(void **state)
{
    st_ctx *ctx = *state;
    for (int k = 0; k < KINDS; k++) {
        size_t n, cn;
        unsigned char *p = payload(20000, &n), *c = compress_as(k, p, n, &cn);
        unsigned char *t = malloc(cn + 7);
        assert_non_null(t);
        memcpy(t, c, cn);
        /* truncated */
        tu_expect_buf(ctx, t, cn - 4, "t.bin", "ST503", ST_VERDICT_FAIL);
        /* corrupt: a deflate block of the reserved type 3; a bzip2 block magic, an xz stream
         * flags CRC that does not match; an LZMA range coder whose first byte is not 0 */
        static const size_t at[KINDS] = {10, 2, 4, 8, 13};
        t[at[k]] = k == GZ || k == ZL ? (unsigned char)(t[at[k]] | 6) : (unsigned char)~t[at[k]];
        st_report *r = st_check_buffer(ctx, t, cn, "t.bin");
        assert_non_null(r);
        tu_assert_report(r, kind_names[k], "ST503", ST_VERDICT_FAIL);
        st_report_free(r);
        /* trailing bytes after a clean stream (the zeros inside are no model: ST506 or none) */
        memcpy(t, c, cn);
        memcpy(t + cn, "garbage", 7);
        r = st_check_buffer(ctx, t, cn + 7, "t.bin");
        char got[256];
        tu_ids(r, got, sizeof(got));
        if (strstr(got, "ST504") == NULL || strstr(got, "ST503") != NULL)
            fail_msg("%s trailing: ids \"%s\"", kind_names[k], got);
        st_report_free(r);
        free(t);
        free(p);
        free(c);
    }
}

/* The member-size limit bounds the output: a bomb (ST311), could not check. */
static void test_bomb(void **state)
{
    st_ctx *ctx = *state;
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_MEMBER_BYTES, 10000), ST_OK);
    for (int k = 0; k < KINDS; k++) {
        size_t n, cn;
        unsigned char *p = payload(200000, &n), *c = compress_as(k, p, n, &cn);
        tu_expect_buf(ctx, c, cn, "t.bin", "ST311", ST_VERDICT_ERROR);
        free(p);
        free(c);
    }
    /* a limit above the first 64 KiB buffer: the buffer grows to it, then stops */
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_MEMBER_BYTES, 100000), ST_OK);
    size_t n, cn;
    unsigned char *p = payload(200000, &n), *c = compress_as(GZ, p, n, &cn);
    tu_expect_buf(ctx, c, cn, "t.bin", "ST311", ST_VERDICT_ERROR);
    free(p);
    free(c);
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_MEMBER_BYTES, 1u << 30), ST_OK);
}

/* Headers that are almost a compressed stream are not claimed. */
static void test_sniff(void **state)
{
    st_ctx *ctx = *state;
    static const struct {
        const char *h;
        size_t n;
        int claimed;
    } cases[] = {
        {"\x1f\x8b\x08", 3, 85},
        {"\x1f\x8b\x07", 3, 0},
        {"\x1f\x8c\x08", 3, 0},
        {"\x1e\x8b\x08", 3, 0},
        {"BZh9", 4, 85},
        {"BZh0", 4, 0},
        {"BZh:", 4, 0},
        {"BZh", 3, 0},
        {"\xfd"
         "7zXZ\0",
         6, 85},
        {"\xfd"
         "7zXY\0",
         6, 0},
        {"\x78\x9c", 2, 50},
        {"\x78\x9d", 2, 0},
        {"\x5d\0\0\x80\0\xff\xff\xff\xff\xff\xff\xff\xff", 13, 85},
        {"\x5d\0\x01\x80\0\xff\xff\xff\xff\xff\xff\xff\xff", 13, 0},
        {"\x5d\x01\0\x80\0\xff\xff\xff\xff\xff\xff\xff\xff", 13, 0},
        {"\x5d\0\0\x80\0\xff\xff\xff\xff\xff\xff\xff", 12, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        st_input in;
        memset(&in, 0, sizeof(in));
        in.head = (const unsigned char *)cases[i].h;
        in.head_len = cases[i].n;
        if (st_compressed_sniff(&in) != cases[i].claimed)
            fail_msg("case %zu: %d", i, st_compressed_sniff(&in));
    }
    /* the check refuses what it does not claim */
    char ids[64];
    assert_int_equal(tf_run(ctx, st_compressed_check, (const unsigned char *)"plain", 5, (size_t)-1,
                            -1, ids, sizeof(ids), NULL),
                     ST_E_UNSUPPORTED);
}

/* Read failures (ST902) and allocation failures in turn: could not check. */
static void test_faults(void **state)
{
    st_ctx *ctx = *state;
    for (int k = 0; k < KINDS; k++) {
        size_t n, cn;
        unsigned char *p = payload(0, &n), *c = compress_as(k, p, n, &cn);
        tf_every_read_fails(ctx, st_compressed_check, c, cn);
        tf_each_read_fails_alone(ctx, st_compressed_check, c, cn);
        assert_true(tf_every_alloc_fails(ctx, st_compressed_check, c, cn) >= 2);
        free(p);
        free(c);
    }
}

/* Old joblib's ZF files (joblib.c) inflate through compressed.c's st_inflate_src too: every
 * allocation failing in turn (the input buffer first, then the output) is "could not check". */
static void test_zfile_alloc_failures(void **state)
{
    size_t n, cn;
    unsigned char *p = payload(0, &n), *c = compress_as(ZL, p, n, &cn);
    unsigned char *zf = malloc(21 + cn);
    assert_non_null(zf);
    memcpy(zf, "ZF0x5                ", 21); /* read_zfile: the length as hex, 19 bytes */
    memcpy(zf + 21, c, cn);
    char ids[64];
    assert_int_equal(
        tf_run(*state, st_zfile_check, zf, 21 + cn, (size_t)-1, -1, ids, sizeof(ids), NULL), ST_OK);
    assert_string_equal(ids, "");
    assert_true(tf_every_alloc_fails(*state, st_zfile_check, zf, 21 + cn) >= 2);
    free(zf);
    free(p);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean),  cmocka_unit_test(test_corrupt_truncated_trailing),
        cmocka_unit_test(test_bomb),   cmocka_unit_test(test_sniff),
        cmocka_unit_test(test_faults), cmocka_unit_test(test_zfile_alloc_failures),
    };
    return cmocka_run_group_tests(tests, tu_ctx_setup, tu_ctx_teardown);
}
