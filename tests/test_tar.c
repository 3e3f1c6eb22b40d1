/*
 * test_tar.c - every check of the tar walker (src/formats/tar.c) on archives built here header
 * by header (issue #12): tarfile's numeric fields and checksums, pax and GNU extended headers,
 * sparse members, truncation, member limits, unsafe and duplicate names, links, the framing of
 * a legacy torch tar checkpoint's storages and tensors; exact finding ids and verdicts, read and
 * allocation failures in turn.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_archive.h"
#include "test_fault.h"
#include "test_util.h"

/* ---- building archives ------------------------------------------------------------------- */

/* A pax extended header ('x', or 'g' global) holding the records given. */
static void tb_pax(ba_buf *t, char type, const char *records)
{
    ba_tar_member(t, "././@PaxHeader", records, strlen(records), type, NULL);
}

#define expect_tar(ctx, t, ids, verdict)                                                           \
    tu_expect_buf((ctx), (t)->b, (t)->n, "t.tar", (ids), (verdict))

/* Runs the tar check alone (no other views): its error and ids. */
static st_error tar_only(st_ctx *ctx, const ba_buf *t, char *ids, size_t size)
{
    return tf_run(ctx, st_tar_check, t->b, t->n, (size_t)-1, -1, ids, size, NULL);
}

#define expect_tar_only(ctx, t, ids, error)                                                        \
    do {                                                                                           \
        char got_[512];                                                                            \
        st_error e_ = tar_only((ctx), (t), got_, sizeof(got_));                                    \
        if (strcmp(got_, (ids)) != 0 || e_ != (error))                                             \
            fail_msg("ids \"%s\" error %d, expected \"%s\" error %d", got_, e_, (ids), (error));   \
    } while (0)

static const unsigned char pk[] = {0x80, 0x02, 'K', 0x01, '.'};

/* ---- numeric fields and checksums ----------------------------------------------------------- */

/* tarfile.nti on the size field (12 bytes), the uid field (8), the checksum (8). */
static void test_numeric_fields(void **state)
{
    (void)state;
    static const struct {
        size_t off, len;
        const char *v;
        size_t vlen;
        int valid;
    } cases[] = {
        {124, 12, "\t 5 \x1c", 5, 1}, /* str.strip() whitespace */
        {124, 12, "\x0b\x0c\r5\x1f", 5, 1},
        {124, 12, "0O5", 3, 1},                             /* "0O" prefix */
        {124, 12, "-0", 2, 1},                              /* a sign */
        {124, 12, "-5", 2, 1},                              /* negative: see walk */
        {124, 12, "5\xe9", 2, 0},                           /* not ASCII */
        {124, 12, "9", 1, 0},                               /* not octal */
        {124, 12, "\x80\0\0\0\0\0\0\0\0\0\0\x05", 12, 1},   /* base-256 */
        {124, 12, "\x80\x01\0\0\0\0\0\0\0\0\0\x05", 12, 0}, /* does not fit 63 bits */
        {124, 12, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xfb", 12, 0}, /* negative */
        {124, 12, "\xff\0\0\0\0\0\0\0\0\0\0\x05", 12, 0}, /* negative, small magnitude */
        {108, 8, "-7", 2, 1},                             /* uid: any int */
        {108, 8, "x", 1, 0},
        {116, 8, "8", 1, 0},
        {136, 12, "x", 1, 0},
        {329, 8, "x", 1, 0},
        {337, 8, "x", 1, 0},
    };
    unsigned char h[512];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ba_tar_header(h, "f", 5, '0', NULL);
        memset(h + cases[i].off, 0, cases[i].len);
        memcpy(h + cases[i].off, cases[i].v, cases[i].vlen);
        ba_tar_checksum(h, 0);
        if (st_tar_header_valid(h, 512) != cases[i].valid)
            fail_msg("case %zu: valid %d", i, st_tar_header_valid(h, 512));
    }
    /* a checksum field that is no number */
    ba_tar_header(h, "f", 5, '0', NULL);
    memcpy(h + 148, "zzzzzz", 6);
    assert_false(st_tar_header_valid(h, 512));
    assert_false(st_tar_header_valid(h, 100)); /* too short */
}

/* ---- walking ------------------------------------------------------------------------------ */

static void test_plain(void **state)
{
    st_ctx *ctx = *state;
    ba_buf t = {0};
    ba_tar_member(&t, "a.pkl", pk, sizeof(pk), '0', NULL);
    ba_tar_member(&t, "dir/", NULL, 0, '5', NULL);
    ba_tar_member(&t, "empty", NULL, 0, '0', NULL);
    ba_tar_end(&t);
    expect_tar(ctx, &t, "", ST_VERDICT_PASS);
    free(t.b);
    /* no end-of-archive blocks: tarfile reads to the end; a partial block after the last
     * member, or a file of no member, is malformed */
    memset(&t, 0, sizeof(t));
    ba_tar_member(&t, "a.pkl", pk, sizeof(pk), '0', NULL);
    expect_tar_only(ctx, &t, "", ST_OK);
    ba_zeros(&t, 100);
    expect_tar_only(ctx, &t, "ST320", ST_OK);
    t.n = 0;
    tb_pax(&t, 'x', "10 path=b\n");
    expect_tar_only(ctx, &t, "ST320", ST_OK);
    /* a negative size */
    t.n = 0;
    unsigned char h[512];
    ba_tar_header(h, "neg", 0, '0', NULL);
    memcpy(h + 124, "-5", 3);
    ba_tar_checksum(h, 0);
    ba_put(&t, h, 512);
    ba_tar_end(&t);
    expect_tar_only(ctx, &t, "ST320", ST_OK);
    free(t.b);
}

static void test_bad_headers(void **state)
{
    st_ctx *ctx = *state;
    ba_buf t = {0};
    /* a bad second header: tarfile stops, other readers go on */
    ba_tar_member(&t, "a.pkl", pk, sizeof(pk), '0', NULL);
    size_t second = t.n;
    ba_tar_member(&t, "b.pkl", pk, sizeof(pk), '0', NULL);
    ba_tar_end(&t);
    t.b[second + 148] = 'x';
    expect_tar_only(ctx, &t, "ST320", ST_OK);
    free(t.b);
    /* a bad header after a pax header: a SubsequentHeaderError */
    memset(&t, 0, sizeof(t));
    tb_pax(&t, 'x', "10 path=b\n");
    second = t.n;
    ba_tar_member(&t, "b", pk, sizeof(pk), '0', NULL);
    ba_tar_end(&t);
    t.b[second + 148] = 'x';
    expect_tar_only(ctx, &t, "ST320", ST_OK);
    free(t.b);
    /* member data past the end of the file */
    memset(&t, 0, sizeof(t));
    ba_tar_member(&t, "a.pkl", pk, sizeof(pk), '0', NULL);
    unsigned char h[512];
    ba_tar_header(h, "big", 100000, '0', NULL);
    ba_put(&t, h, 512);
    ba_tar_end(&t);
    expect_tar_only(ctx, &t, "ST320", ST_OK);
    /* a size so large that padding it overflows */
    t.n -= 1024 + 512;
    ba_tar_header(h, "big", 0, '0', NULL);
    memcpy(h + 124, "\x80\0\0\0\x7f\xff\xff\xff\xff\xff\xff\xff", 12);
    ba_tar_checksum(h, 0);
    ba_put(&t, h, 512);
    ba_tar_end(&t);
    expect_tar_only(ctx, &t, "ST320", ST_OK);
    free(t.b);
}

static void test_pax(void **state)
{
    st_ctx *ctx = *state;
    static const struct {
        const char *records;
        const char *ids;
    } cases[] = {
        {"13 path=b///\n", ""},           /* trailing slashes dropped */
        {"18 linkpath=x/y/z\n", ""},      /* applies to links only */
        {"12 size=999\n", "ST208,ST320"}, /* differs from the header (then reads on) */
        {"10 size=5\n", ""},              /* agrees */
        {"11 size=10\n", "ST208,ST320"},  /* differs, same blocks: the pax size is read */
        {"11 size=x5\n", "ST320"},        /* not a decimal number */
        {"9 size=\n", "ST320"},           /* empty */
        {"30 size=123456789012345678901\n", "ST320"}, /* too long */
        {"22 GNU.sparse.major=1\n", "ST324"},         /* sparse */
        {"21 GNU.sparse.name=b\n", ""},               /* a sparse file's name */
        {"15 mtime=123.4\n", ""},                     /* other keys: ignored */
        {"16 GNU.sparse=1\n", ""},                    /* "GNU.sparse" itself: too short */
        {"9 =value\n", "ST320"},                      /* empty key */
        {"11 novalue\n", "ST320"},                    /* no '=' */
        {"x path=b\n", "ST320"},                      /* no length */
        {"9path=bb\n", "ST320"},                      /* no space */
        {"3 p\n", "ST320"},                           /* shorter than 5 */
        {"99 path=b\n", "ST320"},                     /* longer than the data */
        {"10 path=bb", "ST320"},                      /* no newline at its end */
        {"123456789012345678901 path=b\n", "ST320"},  /* a length of 21 digits */
        {"10 path=b\n\0garbage", ""},                 /* NUL ends the records */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ba_buf t = {0};
        size_t rl = strlen(cases[i].records);
        if (i == sizeof(cases) / sizeof(cases[0]) - 1)
            rl += 8;
        ba_tar_member(&t, "././@PaxHeader", cases[i].records, rl, 'x', NULL);
        if (strstr(cases[i].records, "link"))
            ba_tar_member(&t, "b", NULL, 0, '2', "target");
        else
            ba_tar_member(&t, "b", pk, sizeof(pk), '0', NULL);
        ba_tar_member(&t, "target", pk, sizeof(pk), '0', NULL);
        ba_tar_end(&t);
        char got[512];
        st_error e = tar_only(ctx, &t, got, sizeof(got));
        if (strcmp(got, cases[i].ids) != 0)
            fail_msg("pax case %zu: ids \"%s\" error %d, expected \"%s\"", i, got, e, cases[i].ids);
        free(t.b);
    }
    /* a global header that overrides names or sizes: readers differ */
    static const char *const globals[] = {"10 path=b\n", "10 size=5\n", "15 linkpath=xy\n",
                                          "22 GNU.sparse.major=1\n"};
    for (size_t i = 0; i < 4; i++) {
        ba_buf t = {0};
        tb_pax(&t, 'g', globals[i]);
        ba_tar_member(&t, "b", pk, sizeof(pk), '0', NULL);
        ba_tar_end(&t);
        expect_tar_only(ctx, &t, "ST320", ST_OK);
        free(t.b);
    }
    ba_buf t = {0};
    tb_pax(&t, 'g', "15 mtime=123.4\n");
    ba_tar_member(&t, "b", pk, sizeof(pk), '0', NULL);
    ba_tar_end(&t);
    expect_tar_only(ctx, &t, "", ST_OK);
    free(t.b);
    /* an extended header past the end of the file, or over 1 MiB */
    memset(&t, 0, sizeof(t));
    unsigned char h[512];
    ba_tar_header(h, "././@PaxHeader", 5000, 'x', NULL);
    ba_put(&t, h, 512);
    ba_tar_end(&t);
    expect_tar_only(ctx, &t, "ST320", ST_OK);
    t.n = 0;
    ba_tar_header(h, "././@PaxHeader", (1u << 20) + 1, 'x', NULL);
    ba_put(&t, h, 512);
    ba_zeros(&t, (1u << 20) + 1024);
    expect_tar_only(ctx, &t, "ST320", ST_OK);
    free(t.b);
}

/* GNU long names and long link names ('L', 'K'). */
static void test_gnu_long(void **state)
{
    st_ctx *ctx = *state;
    ba_buf t = {0};
    char longname[300];
    memset(longname, 'n', sizeof(longname));
    longname[299] = '\0';
    ba_tar_member(&t, "././@LongLink", longname, 300, 'L', NULL);
    ba_tar_member(&t, "short", pk, sizeof(pk), '0', NULL);
    ba_tar_member(&t, "././@LongLink", "../escape", 10, 'K', NULL);
    ba_tar_member(&t, "link", NULL, 0, '1', "x");
    ba_tar_end(&t);
    expect_tar_only(ctx, &t, "", ST_OK);
    free(t.b);
}

/* Old GNU sparse members ('S') and their extension blocks. */
static void test_sparse(void **state)
{
    st_ctx *ctx = *state;
    ba_buf t = {0};
    unsigned char h[512], ext[512];
    ba_tar_header(h, "sparse", 5, 'S', NULL);
    h[482] = 1; /* one extension block follows */
    ba_tar_checksum(h, 0);
    ba_put(&t, h, 512);
    memset(ext, 0, sizeof(ext));
    ext[504] = 1; /* and another */
    ba_put(&t, ext, 512);
    ext[504] = 0;
    ba_put(&t, ext, 512);
    ba_put(&t, pk, sizeof(pk));
    ba_zeros(&t, 512 - sizeof(pk));
    ba_tar_end(&t);
    expect_tar_only(ctx, &t, "ST324", ST_OK);
    /* the extension blocks run past the end */
    t.n = 1024;
    expect_tar_only(ctx, &t, "ST320", ST_OK);
    free(t.b);
}

static void test_member_limit(void **state)
{
    st_ctx *ctx = *state;
    ba_buf t = {0};
    for (int i = 0; i < 3; i++) {
        char name[8];
        snprintf(name, sizeof(name), "m%d", i);
        ba_tar_member(&t, name, pk, sizeof(pk), '0', NULL);
    }
    ba_tar_end(&t);
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_ZIP_ENTRIES, 2), ST_OK);
    expect_tar_only(ctx, &t, "ST901", ST_E_LIMIT);
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_ZIP_ENTRIES, 100000), ST_OK);
    /* the member-size limit for a member checked by content */
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_MEMBER_BYTES, 4), ST_OK);
    expect_tar_only(ctx, &t, "ST901", ST_E_LIMIT);
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_MEMBER_BYTES, 1u << 30), ST_OK);
    free(t.b);
}

/* ---- names -------------------------------------------------------------------------------- */

static void test_names(void **state)
{
    st_ctx *ctx = *state;
    static const struct {
        const char *name;
        const char *ids;
    } cases[] = {
        {"/abs", "ST322"}, {"..", "ST322"}, {"../x", "ST322"}, {"a/../b", "ST322"},
        {"a/..", "ST322"}, {"a/..b", ""},   {"..a", ""},       {"a/b", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ba_buf t = {0};
        ba_tar_member(&t, cases[i].name, pk, sizeof(pk), '0', NULL);
        ba_tar_end(&t);
        char got[512];
        tar_only(ctx, &t, got, sizeof(got));
        if (strcmp(got, cases[i].ids) != 0)
            fail_msg("name \"%s\": ids \"%s\"", cases[i].name, got);
        free(t.b);
    }
    /* an empty name (through pax: a header name cannot be empty and valid) */
    ba_buf t = {0};
    tb_pax(&t, 'x', "8 path=\n");
    ba_tar_member(&t, "x", pk, sizeof(pk), '0', NULL);
    ba_tar_end(&t);
    expect_tar_only(ctx, &t, "ST322", ST_OK);
    free(t.b);
    /* the ustar prefix joins the name; a 100-byte name has no NUL */
    memset(&t, 0, sizeof(t));
    unsigned char h[512];
    char hundred[101];
    memset(hundred, 'h', 100);
    hundred[100] = '\0';
    ba_tar_header(h, hundred, sizeof(pk), '0', NULL);
    memcpy(h + 345, "pre", 3);
    ba_tar_checksum(h, 0);
    ba_put(&t, h, 512);
    ba_put(&t, pk, sizeof(pk));
    ba_zeros(&t, 512 - sizeof(pk));
    ba_tar_member(&t, "pre/", NULL, 0, '\0', NULL); /* old-style directory */
    ba_tar_member(&t, "dir//", NULL, 0, '5', NULL);
    ba_tar_member(&t, "x", pk, sizeof(pk), '0', NULL);
    ba_tar_member(&t, "x", pk, sizeof(pk), '0', NULL);
    ba_tar_member(&t, "x", pk, sizeof(pk), '0', NULL);
    ba_tar_end(&t);
    expect_tar_only(ctx, &t, "ST321", ST_OK);
    free(t.b);
}

/* ---- legacy torch checkpoints ------------------------------------------------------------- */

#define P2(body) "\x80\x02" body "."
#define BU1(c) "X\x01\0\0\0" c

static const char sys_info[] = P2("}");
static const char main_pk[] = P2("ccollections\nOrderedDict\n)R"
                                 "X\x06\0\0\0weight" BU1("1") "Qs");
static const char stor_count[] = P2("K\x01");
static const char stor_args[] = P2(BU1("0") "X\x03\0\0\0cpu"
                                            "ctorch\nFloatStorage\n\x87");
static const char views[] = P2("]");
static const char tens_args[] = P2(BU1("1") BU1("0") "ctorch\nFloatTensor\n\x87");

typedef struct {
    unsigned char b[1024];
    size_t n;
} blob;

static void bl_put(blob *x, const void *p, size_t n)
{
    assert_true(x->n + n <= sizeof(x->b));
    memcpy(x->b + x->n, p, n);
    x->n += n;
}
static void bl_u64(blob *x, uint64_t v)
{
    unsigned char t[8];
    for (int i = 0; i < 8; i++)
        t[i] = (unsigned char)(v >> (8 * i));
    bl_put(x, t, 8);
}
static void bl_u32(blob *x, uint32_t v)
{
    unsigned char t[4];
    for (int i = 0; i < 4; i++)
        t[i] = (unsigned char)(v >> (8 * i));
    bl_put(x, t, 4);
}

/* storages: count, (args, numel, data)..., views; numel and data bytes as given. */
static void storages(blob *x, uint64_t numel, size_t data, int with_views)
{
    x->n = 0;
    bl_put(x, stor_count, sizeof(stor_count) - 1);
    bl_put(x, stor_args, sizeof(stor_args) - 1);
    bl_u64(x, numel);
    static const unsigned char zero[64];
    bl_put(x, zero, data);
    if (with_views)
        bl_put(x, views, sizeof(views) - 1);
}

/* tensors: count, (args, ndim, 4 bytes, sizes, strides, offset)... */
static void tensors(blob *x, uint32_t ndim, int whole)
{
    x->n = 0;
    bl_put(x, stor_count, sizeof(stor_count) - 1);
    bl_put(x, tens_args, sizeof(tens_args) - 1);
    bl_u32(x, ndim);
    bl_u32(x, 0);
    if (whole) {
        bl_u64(x, 4);
        bl_u64(x, 1);
        bl_u64(x, 0);
    }
}

static void checkpoint(ba_buf *t, const blob *s, const blob *ts)
{
    memset(t, 0, sizeof(*t));
    ba_tar_member(t, "sys_info", sys_info, sizeof(sys_info) - 1, '0', NULL);
    ba_tar_member(t, "pickle", main_pk, sizeof(main_pk) - 1, '0', NULL);
    ba_tar_member(t, "storages", s->b, s->n, '0', NULL);
    ba_tar_member(t, "tensors", ts->b, ts->n, '0', NULL);
}

static void test_torch_tar(void **state)
{
    st_ctx *ctx = *state;
    blob s, ts;
    ba_buf t;
    storages(&s, 4, 16, 1);
    tensors(&ts, 1, 1);
    checkpoint(&t, &s, &ts);
    ba_tar_end(&t);
    st_report *r = st_check_buffer(ctx, t.b, t.n, "t.tar");
    tu_assert_ids(r, "");
    assert_int_equal(st_report_verdict(r), ST_VERDICT_PASS);
    assert_string_equal(st_report_format(r), "pytorch-tar");
    st_report_free(r);
    free(t.b);
    static const struct {
        uint64_t numel;
        size_t data;
        int views;
        uint32_t ndim;
        int whole;
        const char *ids;
    } cases[] = {
        {4, 16, 1, 1, 1, ""},
        {6, 16, 1, 1, 1, "ST312"},              /* storage runs past the member */
        {UINT64_MAX / 2, 16, 1, 1, 1, "ST312"}, /* numel x element size overflows */
        {4, 16, 0, 1, 1, ""},                   /* no views pickle */
        {4, 20, 1, 1, 1, "ST206"},              /* 4 stray bytes before the views pickle */
        {4, 16, 1, 0x80000000u, 1, "ST312"},    /* negative ndim */
        {4, 16, 1, 2000, 1, "ST312"},           /* ndim over the rank limit */
        {4, 16, 1, 2, 1, "ST312"},              /* record shorter than ndim needs */
        {4, 16, 1, 1, 0, "ST312"},              /* tensor record cut */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        storages(&s, cases[i].numel, cases[i].data, cases[i].views);
        tensors(&ts, cases[i].ndim, cases[i].whole);
        checkpoint(&t, &s, &ts);
        ba_tar_end(&t);
        char got[512];
        tar_only(ctx, &t, got, sizeof(got));
        if (strcmp(got, cases[i].ids) != 0)
            fail_msg("torch case %zu: ids \"%s\", expected \"%s\"", i, got, cases[i].ids);
        free(t.b);
    }
    /* a count record cut inside storages and tensors; trailing bytes after the last record */
    storages(&s, 4, 16, 1);
    tensors(&ts, 1, 1);
    s.n = 3;
    checkpoint(&t, &s, &ts);
    ba_tar_end(&t);
    expect_tar_only(ctx, &t, "ST205", ST_OK);
    free(t.b);
    s.n = 0;
    storages(&s, 4, 16, 1);
    bl_put(&s, "xyz", 3);
    ts.n = 3;
    checkpoint(&t, &s, &ts);
    ba_tar_end(&t);
    expect_tar_only(ctx, &t, "ST205,ST208", ST_OK);
    free(t.b);
    /* the element count cut; the ndim field cut */
    storages(&s, 4, 16, 1);
    s.n = sizeof(stor_count) - 1 + sizeof(stor_args) - 1 + 3;
    tensors(&ts, 1, 1);
    ts.n = sizeof(stor_count) - 1 + sizeof(tens_args) - 1 + 2;
    checkpoint(&t, &s, &ts);
    ba_tar_end(&t);
    expect_tar_only(ctx, &t, "ST312", ST_OK);
    free(t.b);
    /* a tensor record's args pickle broken */
    storages(&s, 4, 16, 1);
    tensors(&ts, 1, 1);
    ts.b[sizeof(stor_count) - 1 + 3] = 0xff;
    checkpoint(&t, &s, &ts);
    ba_tar_end(&t);
    expect_tar_only(ctx, &t, "ST205", ST_OK);
    free(t.b);
}

/* A record field cut by the end of the member where the member ends the file: the length
 * check, not a failing read, reports it. */
static void test_record_at_file_end(void **state)
{
    st_ctx *ctx = *state;
    blob ts;
    tensors(&ts, 1, 1);
    unsigned char st[512];
    size_t o = 0, k = 512 - 3 - 42;
    memcpy(st, stor_count, sizeof(stor_count) - 1);
    o += sizeof(stor_count) - 1;
    memcpy(st + o, "\x80\x02X", 3);
    o += 3;
    for (int i = 0; i < 4; i++)
        st[o++] = (unsigned char)(k >> (8 * i));
    memset(st + o, 'k', k);
    o += k;
    memcpy(st + o, "X\x03\0\0\0cpuctorch\nFloatStorage\n\x87.", 30);
    o += 30;
    memcpy(st + o, "\x04\0\0", 3); /* 3 of the element count's 8 bytes */
    o += 3;
    assert_int_equal(o, 512);
    ba_buf t = {0};
    ba_tar_member(&t, "sys_info", sys_info, sizeof(sys_info) - 1, '0', NULL);
    ba_tar_member(&t, "pickle", main_pk, sizeof(main_pk) - 1, '0', NULL);
    ba_tar_member(&t, "tensors", ts.b, ts.n, '0', NULL);
    ba_tar_member(&t, "storages", st, sizeof(st), '0', NULL); /* no end blocks after it */
    expect_tar_only(ctx, &t, "ST312", ST_OK);
    free(t.b);
}

/* Parts missing, duplicated, extra members, links and irregular types. */
static void test_torch_parts(void **state)
{
    st_ctx *ctx = *state;
    blob s, ts;
    ba_buf t;
    storages(&s, 4, 16, 1);
    tensors(&ts, 1, 1);
    /* sys_info and tensors missing */
    memset(&t, 0, sizeof(t));
    ba_tar_member(&t, "pickle", main_pk, sizeof(main_pk) - 1, '0', NULL);
    ba_tar_member(&t, "storages", s.b, s.n, '0', NULL);
    ba_tar_end(&t);
    expect_tar_only(ctx, &t, "ST314", ST_OK);
    free(t.b);
    /* an earlier copy of a part, an extra member, an empty extra member, a directory */
    checkpoint(&t, &s, &ts);
    ba_tar_member(&t, "pickle", main_pk, sizeof(main_pk) - 1, '0', NULL);
    ba_tar_member(&t, "notes", pk, sizeof(pk), '0', NULL);
    ba_tar_member(&t, "empty", NULL, 0, '0', NULL);
    ba_tar_member(&t, "d", NULL, 0, '5', NULL);
    ba_tar_end(&t);
    expect_tar_only(ctx, &t, "ST321,ST323", ST_OK);
    free(t.b);
    /* parts that are links: a symlink pickle to a member in a folder; a hard link to a
     * directory (no data); a symlink chain longer than stcheck follows; a missing target */
    static const struct {
        char type;
        const char *link;
        const char *ids;
    } links[] = {
        {'2', "sub/../real", "ST324"},
        {'2', "./real", "ST324"},
        {'1', "d", "ST324"},
        {'2', "loop", "ST324"},
        {'1', "missing", "ST324"},
        {'2', "/real", "ST324"},
        {'2', "", "ST324"},
        {'7', NULL, "ST324"},
        {'Z', NULL, "ST324"},
    };
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        memset(&t, 0, sizeof(t));
        ba_tar_member(&t, "real", pk, sizeof(pk), '0', NULL);
        ba_tar_member(&t, "d", NULL, 0, '5', NULL);
        ba_tar_member(&t, "loop", NULL, 0, '2', "loop");
        ba_tar_member(&t, "sys_info", sys_info, sizeof(sys_info) - 1, '0', NULL);
        if (links[i].link)
            ba_tar_member(&t, "pickle", NULL, 0, links[i].type, links[i].link);
        else
            ba_tar_member(&t, "pickle", main_pk, sizeof(main_pk) - 1, links[i].type, NULL);
        ba_tar_member(&t, "storages", s.b, s.n, '0', NULL);
        ba_tar_member(&t, "tensors", ts.b, ts.n, '0', NULL);
        ba_tar_end(&t);
        char got[512];
        tar_only(ctx, &t, got, sizeof(got));
        /* "real" is not a part: an extra member too */
        char want[64];
        snprintf(want, sizeof(want), "ST323,%s", links[i].ids);
        if (strcmp(got, want) != 0)
            fail_msg("link case %zu: ids \"%s\", expected \"%s\"", i, got, want);
        free(t.b);
    }
    /* a symlink in a folder: its target is relative to the folder */
    memset(&t, 0, sizeof(t));
    ba_tar_member(&t, "sys_info", sys_info, sizeof(sys_info) - 1, '0', NULL);
    ba_tar_member(&t, "pickle", main_pk, sizeof(main_pk) - 1, '0', NULL);
    ba_tar_member(&t, "x/s", s.b, s.n, '0', NULL);
    ba_tar_member(&t, "x/link", NULL, 0, '2', "s");
    ba_tar_member(&t, "storages", NULL, 0, '1', "x/link");
    ba_tar_member(&t, "tensors", ts.b, ts.n, '0', NULL);
    ba_tar_end(&t);
    /* x/s, an extra member, checked by content: a pickle and more */
    expect_tar_only(ctx, &t, "ST208,ST323,ST324", ST_OK);
    free(t.b);
    /* a sparse part: tarfile reassembles it, stcheck does not */
    memset(&t, 0, sizeof(t));
    ba_tar_member(&t, "sys_info", sys_info, sizeof(sys_info) - 1, '0', NULL);
    ba_tar_member(&t, "pickle", main_pk, sizeof(main_pk) - 1, 'S', NULL);
    ba_tar_member(&t, "storages", s.b, s.n, '0', NULL);
    ba_tar_member(&t, "tensors", ts.b, ts.n, '0', NULL);
    ba_tar_end(&t);
    expect_tar_only(ctx, &t, "ST324", ST_OK);
    free(t.b);
}

/* A hard link to a directory: tarfile's extractfile follows links only, so a member named
 * "." (what the directory's empty link name would normalise to) is never its data. */
static void test_link_to_directory(void **state)
{
    st_ctx *ctx = *state;
    blob s, ts;
    ba_buf t = {0};
    storages(&s, 4, 16, 1);
    tensors(&ts, 1, 1);
    ba_tar_member(&t, ".", NULL, 0, '0', NULL);
    ba_tar_member(&t, "d", NULL, 0, '5', NULL);
    ba_tar_member(&t, "sys_info", sys_info, sizeof(sys_info) - 1, '0', NULL);
    ba_tar_member(&t, "pickle", NULL, 0, '1', "d");
    ba_tar_member(&t, "storages", s.b, s.n, '0', NULL);
    ba_tar_member(&t, "tensors", ts.b, ts.n, '0', NULL);
    ba_tar_end(&t);
    expect_tar_only(ctx, &t, "ST324", ST_OK);
    free(t.b);
}

/* A sparse member in a plain tar. */
static void test_plain_sparse(void **state)
{
    st_ctx *ctx = *state;
    ba_buf t = {0};
    ba_tar_member(&t, "s", pk, sizeof(pk), 'S', NULL);
    ba_tar_end(&t);
    expect_tar_only(ctx, &t, "ST324", ST_OK);
    free(t.b);
}

/* Long link paths normalised: more components than the folder stack holds. */
static void test_deep_links(void **state)
{
    st_ctx *ctx = *state;
    ba_buf t = {0};
    char deep[256];
    size_t o = 0;
    while (o + 2 < 250)
        deep[o++] = 'a', deep[o++] = '/';
    deep[o] = '\0';
    ba_tar_member(&t, "././@LongLink", deep, strlen(deep) + 1, 'K', NULL);
    ba_tar_member(&t, "l", NULL, 0, '2', "x");
    ba_tar_member(&t, "l2", NULL, 0, '1', "a/./b/../../..");
    ba_tar_member(&t, "sys_info", sys_info, sizeof(sys_info) - 1, '0', NULL);
    ba_tar_member(&t, "pickle", NULL, 0, '1', "l");
    ba_tar_member(&t, "storages", NULL, 0, '1', "l2");
    ba_tar_end(&t);
    expect_tar_only(ctx, &t, "ST314,ST324", ST_OK);
    free(t.b);
}

/* ---- faults ------------------------------------------------------------------------------- */

static void test_faults(void **state)
{
    st_ctx *ctx = *state;
    blob s, ts;
    ba_buf t;
    storages(&s, 4, 16, 1);
    tensors(&ts, 1, 1);
    checkpoint(&t, &s, &ts);
    tb_pax(&t, 'x', "10 path=n\n");
    ba_tar_member(&t, "ignored", pk, sizeof(pk), '0', NULL);
    ba_tar_end(&t);
    tf_every_read_fails(ctx, st_tar_check, t.b, t.n);
    tf_each_read_fails_alone(ctx, st_tar_check, t.b, t.n);
    assert_true(tf_every_alloc_fails(ctx, st_tar_check, t.b, t.n) > 5);
    free(t.b);
    memset(&t, 0, sizeof(t));
    unsigned char h[512], ext[512];
    ba_tar_header(h, "sparse", 5, 'S', NULL);
    h[482] = 1;
    ba_tar_checksum(h, 0);
    ba_put(&t, h, 512);
    memset(ext, 0, sizeof(ext));
    ba_put(&t, ext, 512);
    ba_put(&t, pk, sizeof(pk));
    ba_zeros(&t, 512 - sizeof(pk));
    ba_tar_member(&t, "././@LongLink", "long", 5, 'L', NULL);
    ba_tar_member(&t, "x", pk, sizeof(pk), '0', NULL);
    ba_tar_end(&t);
    tf_every_read_fails(ctx, st_tar_check, t.b, t.n);
    tf_each_read_fails_alone(ctx, st_tar_check, t.b, t.n);
    free(t.b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numeric_fields),
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_pax),
        cmocka_unit_test(test_gnu_long),
        cmocka_unit_test(test_sparse),
        cmocka_unit_test(test_member_limit),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_torch_tar),
        cmocka_unit_test(test_torch_parts),
        cmocka_unit_test(test_plain_sparse),
        cmocka_unit_test(test_link_to_directory),
        cmocka_unit_test(test_record_at_file_end),
        cmocka_unit_test(test_deep_links),
        cmocka_unit_test(test_faults),
    };
    return cmocka_run_group_tests(tests, tu_ctx_setup, tu_ctx_teardown);
}
