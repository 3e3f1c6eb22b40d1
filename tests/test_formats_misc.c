/*
 * test_formats_misc.c - numpy headers, the format table, nested inputs, NaN/Inf counting and
 * libmagic's second opinion, each check asserted by its exact finding ids and verdict (issue
 * #12: deleting a check must fail a test).
 */
#include "test_util.h"

#include "core/ctx.h"
#include "formats/deep.h"
#include "formats/format.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* ---- .npy headers ----------------------------------------------------------------------- */

/* An .npy file: magic, version, header length (2 bytes in 1.0, 4 otherwise), the header text
 * padded with spaces so that the data starts at a multiple of 64 (nl: a closing '\n'), then
 * data_len zero bytes (or `data` when given). */
static unsigned char *npy(unsigned major, unsigned minor, const char *text, int nl,
                          const void *data, size_t data_len, size_t *out_len)
{
    size_t tl = strlen(text), hl = major == 1 ? 2 : 4, pre = 8 + hl;
    size_t body = tl + (nl ? 1 : 0);
    while ((pre + body) % 64 != 0)
        body++;
    unsigned char *b = calloc(1, pre + body + data_len + 1);
    assert_non_null(b);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    b[7] = (unsigned char)minor;
    for (size_t i = 0; i < hl; i++)
        b[8 + i] = (unsigned char)(body >> (8 * i));
    memset(b + pre, ' ', body);
    memcpy(b + pre, text, tl);
    if (nl)
        b[pre + body - 1] = '\n';
    if (data != NULL)
        memcpy(b + pre + body, data, data_len);
    *out_len = pre + body + data_len;
    return b;
}

typedef struct {
    const char *header;
    size_t data_len;
    const char *ids;
    st_verdict verdict;
} npy_case;

#define H(descr, order, shape)                                                                     \
    "{'descr': " descr ", 'fortran_order': " order ", 'shape': " shape ", }"

static const npy_case npy_cases[] = {
    /* valid: what numpy writes, and what its literal_eval also reads */
    {H("'<f4'", "False", "(2,)"), 8, "", ST_VERDICT_PASS},
    {H("'<f4'", "True", "(2, 3)"), 24, "", ST_VERDICT_PASS},
    {H("'<f4'", "False", "()"), 4, "", ST_VERDICT_PASS},
    {H("'<f4'", "False", "(3L,)"), 12, "", ST_VERDICT_PASS}, /* numpy on Python 2 */
    {"{\"descr\": \"<i2\", \"fortran_order\": False, \"shape\": (2,)}", 4, "", ST_VERDICT_PASS},
    {H("'f8'", "False", "(1,)"), 8, "", ST_VERDICT_PASS},
    {H("'|b1'", "False", "(3,)"), 3, "", ST_VERDICT_PASS},
    {H("'?'", "False", "(3,)"), 3, "", ST_VERDICT_PASS},
    {H("'|?1'", "False", "(3,)"), 3, "", ST_VERDICT_PASS},
    {H("'<U3'", "False", "(1,)"), 12, "", ST_VERDICT_PASS},
    {H("'<M8[ns]'", "False", "(1,)"), 8, "", ST_VERDICT_PASS},
    {H("'<m8'", "False", "(1,)"), 8, "", ST_VERDICT_PASS},
    {H("'|S5'", "False", "(2,)"), 10, "", ST_VERDICT_PASS},
    {H("'|V4'", "False", "(1,)"), 4, "", ST_VERDICT_PASS},
    {H("[('a', '<f4'), ('b', '<i2', (2,))]", "False", "(2,)"), 16, "", ST_VERDICT_PASS},
    {H("[('a', '<f4'),]", "False", "(1,)"), 4, "", ST_VERDICT_PASS},
    {H("[]", "False", "(5,)"), 0, "", ST_VERDICT_PASS},
    /* sizes */
    {H("'<f4'", "False", "(2,)"), 7, "ST402", ST_VERDICT_FAIL},
    {H("'<f4'", "False", "(2,)"), 9, "ST403", ST_VERDICT_PASS},
    {H("'<f4'", "False", "(4294967296, 4294967296, 4294967296)"), 0, "ST402", ST_VERDICT_FAIL},
    {H("'<f8'", "False", "(4611686018427387904,)"), 0, "ST402", ST_VERDICT_FAIL},
    /* type strings */
    {H("'<f'", "False", "(1,)"), 4, "ST401", ST_VERDICT_FAIL},
    {H("'<'", "False", "(1,)"), 4, "ST401", ST_VERDICT_FAIL},
    {H("''", "False", "(1,)"), 4, "ST401", ST_VERDICT_FAIL},
    {H("'|O4'", "False", "(1,)"), 8, "ST401", ST_VERDICT_FAIL},
    {H("'?2'", "False", "(1,)"), 2, "ST401", ST_VERDICT_FAIL},
    {H("'<U'", "False", "(1,)"), 4, "ST401", ST_VERDICT_FAIL},
    {H("'<U4611686018427387904'", "False", "(1,)"), 4, "ST401", ST_VERDICT_FAIL},
    {H("'<f99999999999999999999'", "False", "(1,)"), 4, "ST401", ST_VERDICT_FAIL},
    {H("'<M8[ns'", "False", "(1,)"), 8, "ST401", ST_VERDICT_FAIL},
    {H("'<f4['", "False", "(1,)"), 4, "ST401", ST_VERDICT_FAIL},
    {H("'<z4'", "False", "(1,)"), 4, "ST401", ST_VERDICT_FAIL},
    {H("'<f4x'", "False", "(1,)"), 4, "ST401", ST_VERDICT_FAIL},
    /* strings: no escapes, no controls, closed */
    {H("'<f\\\\4'", "False", "(1,)"), 4, "ST401", ST_VERDICT_FAIL},
    {H("'<f\t4'", "False", "(1,)"), 4, "ST401", ST_VERDICT_FAIL},
    {"{'descr': '<f4", 0, "ST401", ST_VERDICT_FAIL},
    {"{descr: '<f4', 'fortran_order': False, 'shape': (1,)}", 4, "ST401", ST_VERDICT_FAIL},
    /* shapes */
    {H("'<f4'", "False", "(,)"), 4, "ST401", ST_VERDICT_FAIL},
    {H("'<f4'", "False", "3"), 12, "ST401", ST_VERDICT_FAIL},
    {H("'<f4'", "False", "(3 4)"), 48, "ST401", ST_VERDICT_FAIL},
    {H("'<f4'", "False", "(x,)"), 4, "ST401", ST_VERDICT_FAIL},
    {H("'<f4'", "False", "(-1,)"), 4, "ST401", ST_VERDICT_FAIL},
    {H("'<f4'", "False", "(99999999999999999999,)"), 4, "ST401", ST_VERDICT_FAIL},
    /* structured fields */
    {H("[('a' '<f4')]", "False", "(1,)"), 4, "ST401", ST_VERDICT_FAIL},
    {H("[('a', '<f4') ('b', '<f4')]", "False", "(1,)"), 8, "ST401", ST_VERDICT_FAIL},
    {H("[('a', '<f4', (2,)]", "False", "(1,)"), 8, "ST401", ST_VERDICT_FAIL},
    {H("[('a', '<f4', (x,))]", "False", "(1,)"), 8, "ST401", ST_VERDICT_FAIL},
    {H("[('a', '<q4')]", "False", "(1,)"), 4, "ST401", ST_VERDICT_FAIL},
    {H("[(1, '<f4')]", "False", "(1,)"), 4, "ST401", ST_VERDICT_FAIL},
    {H("[['a', '<f4']]", "False", "(1,)"), 4, "ST401", ST_VERDICT_FAIL},
    {H("[('a', '<f4', (4294967296, 4294967296, 4294967296))]", "False", "(1,)"), 4, "ST401",
     ST_VERDICT_FAIL},
    {H("[('a', '<f4611686018427387904', (4,))]", "False", "(1,)"), 4, "ST401", ST_VERDICT_FAIL},
    {H("[('a', '<f9223372036854775808'), ('b', '<f9223372036854775808')]", "False", "(1,)"), 4,
     "ST401", ST_VERDICT_FAIL},
    {H("[('a', [('x', '<f4')])]", "False", "(1,)"), 4, "ST405", ST_VERDICT_ERROR},
    /* the dict: exactly the three keys, once each, nothing after it but spaces */
    {H("'<f4'", "1", "(1,)"), 4, "ST401", ST_VERDICT_FAIL},
    {H("'<f4'", "Tru", "(1,)"), 4, "ST401", ST_VERDICT_FAIL},
    {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", 4, "ST401",
     ST_VERDICT_FAIL},
    {"{'descr': '<f4', 'fortran_order': False, 'fortran_order': False, 'shape': (1,)}", 4, "ST401",
     ST_VERDICT_FAIL},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'shape': (1,)}", 4, "ST401",
     ST_VERDICT_FAIL},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4, "ST401",
     ST_VERDICT_FAIL},
    {"{'descr': '<f4', 'fortran_order': False}", 4, "ST401", ST_VERDICT_FAIL},
    {"{'descr': '<f4', 'shape': (1,)}", 4, "ST401", ST_VERDICT_FAIL},
    {"{'fortran_order': False, 'shape': (1,)}", 4, "ST401", ST_VERDICT_FAIL},
    {"{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", 4, "ST401", ST_VERDICT_FAIL},
    {"{'descr' '<f4', 'fortran_order': False, 'shape': (1,)}", 4, "ST401", ST_VERDICT_FAIL},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", 4, "ST401", ST_VERDICT_FAIL},
    {"['descr', '<f4']", 4, "ST401", ST_VERDICT_FAIL},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", 4, "ST401", ST_VERDICT_FAIL},
    /* the header text ends inside a string, a number, a field or a boolean */
    {"{'descr': '<f4',", 4, "ST401", ST_VERDICT_FAIL},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (3", 12, "ST401", ST_VERDICT_FAIL},
    {"{'descr': [('a',", 4, "ST401", ST_VERDICT_FAIL},
    {"{'descr': '<f4', 'fortran_order': Tr", 4, "ST401", ST_VERDICT_FAIL},
    {"{'descr': '<f4', 'fortran_order': Fal", 4, "ST401", ST_VERDICT_FAIL},
    /* the same, with no padding between the cut and the closing newline (10 + 53 + 1 bytes) */
    {"{'descr':                  '<f4', 'fortran_order': Tr", 4, "ST401", ST_VERDICT_FAIL},
    {"{'descr':                 '<f4', 'fortran_order': Fal", 4, "ST401", ST_VERDICT_FAIL},
    {"{'descr':  '<f4', 'fortran_order': False, 'shape': (3", 12, "ST401", ST_VERDICT_FAIL},
    /* 2^64 is 1844674407370955161 * 10 + 6: the addition overflows, not the product */
    {H("'<f4'", "False", "(18446744073709551616,)"), 4, "ST401", ST_VERDICT_FAIL},
    {H("'<f18446744073709551616'", "False", "(1,)"), 4, "ST401", ST_VERDICT_FAIL},
    {H("'<M8x'", "False", "(1,)"), 8, "ST401", ST_VERDICT_FAIL},
    {H("[('a', 5)]", "False", "(1,)"), 4, "ST401", ST_VERDICT_FAIL},
};

static void check_npy(st_ctx *ctx, const unsigned char *b, size_t len, const char *ids,
                      st_verdict verdict, const char *what)
{
    st_report *r = st_check_buffer(ctx, b, len, "t.npy");
    assert_non_null(r);
    tu_assert_report(r, what, ids, verdict);
    if (strcmp(ids, "") != 0)
        assert_string_equal(st_report_format(r), "numpy");
    st_report_free(r);
}

static void test_npy_headers(void **state)
{
    for (size_t i = 0; i < sizeof(npy_cases) / sizeof(npy_cases[0]); i++) {
        const npy_case *c = &npy_cases[i];
        size_t len;
        unsigned char *b = npy(1, 0, c->header, 1, NULL, c->data_len, &len);
        check_npy(*state, b, len, c->ids, c->verdict, c->header);
        free(b);
    }
}

/* Versions 2.0 and 3.0 have 4-byte header lengths; others are refused; the header ends in a
 * newline, within the file and within numpy's 10,000 bytes. */
static void test_npy_versions(void **state)
{
    static const char *const ok = H("'<f4'", "False", "(2,)");
    size_t len;
    unsigned char *b;
    for (unsigned v = 1; v <= 3; v++) {
        b = npy(v, 0, ok, 1, NULL, 8, &len);
        check_npy(*state, b, len, "", ST_VERDICT_PASS, "version");
        free(b);
    }
    static const unsigned char bad_versions[][2] = {{1, 1}, {2, 1}, {4, 0}, {0, 0}};
    for (size_t i = 0; i < 4; i++) {
        b = npy(bad_versions[i][0], bad_versions[i][1], ok, 1, NULL, 8, &len);
        check_npy(*state, b, len, "ST401", ST_VERDICT_FAIL, "bad version");
        free(b);
    }
    b = npy(1, 0, ok, 0, NULL, 8, &len); /* no newline */
    check_npy(*state, b, len, "ST401", ST_VERDICT_FAIL, "no newline");
    free(b);
    /* a 2.0 file cut inside its 4-byte length, and one of 9 bytes */
    b = npy(2, 0, ok, 1, NULL, 8, &len);
    check_npy(*state, b, 11, "ST401", ST_VERDICT_FAIL, "2.0 cut in its length");
    check_npy(*state, b, 9, "ST401", ST_VERDICT_FAIL, "9 bytes");
    /* header length past the end of the file */
    check_npy(*state, b, 40, "ST401", ST_VERDICT_FAIL, "header past the end");
    b[8] = 0x20;
    b[9] = 0x4e; /* 20,000 */
    check_npy(*state, b, len, "ST401", ST_VERDICT_FAIL, "header above 10,000");
    free(b);
    /* an empty header */
    static const unsigned char empty[10] = "\x93NUMPY\x01\x00\x00\x00";
    check_npy(*state, empty, sizeof(empty), "ST401", ST_VERDICT_FAIL, "empty header");
}

/* An object array's data is a pickle, walked with the data profile. */
static void test_npy_object(void **state)
{
    static const char pk_ok[] = "\x80\x02]q\x00(K\x01K\x02"
                                "e.";
    static const char pk_bad[] = "cos\nsystem\n(S'ls'\ntR.";
    size_t len;
    unsigned char *b = npy(1, 0, H("'|O'", "False", "(2,)"), 1, pk_ok, sizeof(pk_ok) - 1, &len);
    check_npy(*state, b, len, "ST404", ST_VERDICT_PASS, "object array");
    free(b);
    b = npy(1, 0, H("'|O8'", "False", "(1,)"), 1, pk_bad, sizeof(pk_bad) - 1, &len);
    check_npy(*state, b, len, "ST201,ST404", ST_VERDICT_FAIL, "object array importing os");
    free(b);
    b = npy(1, 0, H("[('a', '<f4'), ('b', '|O')]", "False", "(1,)"), 1, pk_ok, sizeof(pk_ok) - 1,
            &len);
    check_npy(*state, b, len, "ST404", ST_VERDICT_PASS, "object field");
    free(b);
}

/* ---- the format table and nested inputs --------------------------------------------------- */

static st_input input_over(st_ctx *ctx, st_report *r, st_src *src, const unsigned char *b, size_t n)
{
    st_input in = {.ctx = ctx,
                   .report = r,
                   .src = src,
                   .head = b,
                   .head_len = n,
                   .tail = b,
                   .tail_len = n,
                   .name = "x"};
    return in;
}

static void test_format_table(void **state)
{
    st_ctx *ctx = *state;
    static const unsigned char pk[] = "\x80\x02}q\x00.";
    st_src src = {-1, pk, sizeof(pk) - 1};
    st_report *r = st_report_new(ctx, "x");
    st_input in = input_over(ctx, r, &src, pk, sizeof(pk) - 1);
    const st_format *views[4];
    assert_int_equal(st_format_other_views(&in, NULL, views, 4), 1);
    assert_string_equal(views[0]->name, "pickle");
    assert_int_equal(st_format_other_views(&in, NULL, views, 0), 0);
    assert_false(st_name_has_suffix(NULL, ".npy"));
    assert_true(st_name_has_suffix("A.NPY", ".npy"));
    assert_false(st_name_has_suffix("y", ".npy"));
    /* nested content nobody recognises, and nesting past the limit */
    assert_int_equal(st_check_nested(&in, (const unsigned char *)"junk", 4, "m\n"),
                     ST_E_UNSUPPORTED);
    tu_assert_ids(r, "ST903");
    assert_string_equal(st_report_finding(r, 0)->message,
                        "content of \"m\\x0a\" is not a format stcheck recognises");
    in.depth = (unsigned)st_ctx_get_limit(ctx, ST_LIMIT_NESTING);
    assert_int_equal(st_check_nested(&in, pk, sizeof(pk) - 1, "deep"), ST_E_LIMIT);
    tu_assert_ids(r, "ST901,ST903");
    st_report_free(r);
    /* a member in a folder that is a pickle: its kind is what it is */
    r = st_report_new(ctx, "x");
    r->format = "zip";
    in = input_over(ctx, r, &src, pk, sizeof(pk) - 1);
    assert_int_equal(st_check_nested_in_folder(&in, pk, sizeof(pk) - 1, "m.pkl"), ST_OK);
    assert_string_equal(r->format, "zip");
    assert_string_equal(st_report_kind(r), "pickle");
    r->kind = "joblib"; /* settled before: kept */
    assert_int_equal(st_check_nested_in_folder(&in, pk, sizeof(pk) - 1, "m.pkl"), ST_OK);
    assert_string_equal(st_report_kind(r), "joblib");
    st_report_free(r);
}

/* ---- NaN and Inf counting (--deep) -------------------------------------------------------- */

static void test_nan_inf_kinds(void **state)
{
    (void)state;
    uint64_t nan = 0, inf = 0;
    /* complex64: two float32 per element: NaN, +Inf, 1.0, -Inf */
    static const unsigned char c64[16] = {0, 0, 0xc0, 0x7f, 0, 0, 0x80, 0x7f,
                                          0, 0, 0x80, 0x3f, 0, 0, 0x80, 0xff};
    st_count_nan_inf(ST_FK_C64, c64, 2, &nan, &inf);
    assert_int_equal(nan, 1);
    assert_int_equal(inf, 2);
    static const unsigned char e8m0[4] = {0xff, 0x7f, 0xff, 0x00};
    nan = inf = 0;
    st_count_nan_inf(ST_FK_E8M0, e8m0, 4, &nan, &inf);
    assert_int_equal(nan, 2);
    assert_int_equal(inf, 0);
    nan = inf = 0;
    st_count_nan_inf(ST_FK_NONE, e8m0, 4, &nan, &inf);
    st_count_nan_inf((st_float_kind)99, e8m0, 4, &nan, &inf);
    assert_int_equal(nan + inf, 0);
}

/* ---- libmagic -------------------------------------------------------------------------------- */

static void test_magic_describe(void **state)
{
    (void)state;
    char out[64] = "untouched";
    st_magic_describe((const unsigned char *)"hello\n", 6, out, 0);
    assert_string_equal(out, "untouched");
    st_magic_describe((const unsigned char *)"hello\n", 6, out, sizeof(out));
    assert_string_equal(out, "ASCII text");
    st_magic_describe((const unsigned char *)"hello\n", 6, out, 4);
    assert_string_equal(out, "ASC");
}

/* ---- what a folder holds besides models (textual.c) --------------------------------------- */

typedef struct {
    const char *name;
    const char *bytes;
    size_t len;
    const char *ids;    /* exact */
    const char *format; /* the report's format afterwards */
    st_error rc;
} nm_case;

#define B(s) s, sizeof(s) - 1

static const nm_case nm_cases[] = {
    {"e.lock", B(""), "ST608", "empty", ST_OK},
    /* media by magic number, with their sizes where the header states one */
    {"a.png", B("\x89PNG\r\n\x1a\n...."), "ST608", "media", ST_OK},
    {"a.jpg", B("\xff\xd8\xff\xe0"), "ST608", "media", ST_OK},
    {"a.gif", B("GIF87a\x01\x00"), "ST608", "media", ST_OK},
    {"a.gif", B("GIF89a\x01\x00"), "ST608", "media", ST_OK},
    {"a.webp", B("RIFF\x04\x00\x00\x00WEBP"), "ST608", "media", ST_OK},
    {"a.webp", B("RIFF\x05\x00\x00\x00WEBP"), "ST506", "unknown", ST_E_UNSUPPORTED},
    {"a.tif", B("II*\x00\x08\x00\x00\x00"), "ST608", "media", ST_OK},
    {"a.tif", B("MM\x00*\x00\x00\x00\x08"), "ST608", "media", ST_OK},
    {"a.bmp", B("BM\x0e\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), "ST608", "media", ST_OK},
    {"a.bmp", B("BM\x0f\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"), "ST506", "unknown",
     ST_E_UNSUPPORTED},
    {"a.pdf", B("%PDF-1.7\n"), "ST608", "media", ST_OK},
    {"a.wav", B("RIFF\x04\x00\x00\x00WAVE"), "ST608", "media", ST_OK},
    {"a.wav", B("RIFF\x03\x00\x00\x00WAVE"), "ST506", "unknown", ST_E_UNSUPPORTED},
    {"a.flac", B("fLaC\x00\x00"), "ST608", "media", ST_OK},
    {"a.ogg", B("OggS\x00\x02"), "ST608", "media", ST_OK},
    {"a.mp3", B("ID3\x03\x00\x00\x00\x00\x00\x00"), "ST608", "media", ST_OK},
    {"a.mp3", B("ID3abc"), "ST608", "text", ST_OK}, /* too short for a tag: text */
    {"a.bmp", B("BXaaaaaaaaaaaa"), "ST608", "text", ST_OK},
    /* sentencepiece: pieces (1) framed field by field, other fields skipped, nothing else */
    {"t.model",
     B("\x0a\x0b\x0a\x02"
       "ab\x15\x00\x00\x80\x3f\x18\x01\x12\x00"),
     "ST505", "sentencepiece", ST_OK},
    {"t.model", B("\x12\x00"), "ST506", "unknown", ST_E_UNSUPPORTED}, /* no pieces */
    {"t.model", B("\x0a\x02\x20\x00"), "ST506", "unknown", ST_E_UNSUPPORTED},
    {"t.model",
     B("\x0a\x03\x0a\x05"
       "a"),
     "ST506", "unknown", ST_E_UNSUPPORTED},
    {"t.model", B("\x0a\x03\x15\x00\x00"), "ST506", "unknown", ST_E_UNSUPPORTED},
    {"t.model", B("\x0a\x01\x18"), "ST506", "unknown", ST_E_UNSUPPORTED},
    {"t.model", B("\x0a\x02\x18\x80"), "ST506", "unknown", ST_E_UNSUPPORTED},
    {"t.model", B("\x0a\x01\x80"), "ST506", "unknown", ST_E_UNSUPPORTED},
    {"t.model", B("\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"), "ST506", "unknown",
     ST_E_UNSUPPORTED},
    {"t.model", B("\x08\x01"), "ST506", "unknown", ST_E_UNSUPPORTED},
    {"t.model", B("\x32\x00"), "ST506", "unknown", ST_E_UNSUPPORTED},
    {"t.model",
     B("\x0a\x05"
       "ab"),
     "ST506", "unknown", ST_E_UNSUPPORTED},
    {"t.model", B("\x0a\x02\x0a\x00\x0a"), "ST506", "unknown", ST_E_UNSUPPORTED},
    {"t.model", B("hello\n"), "ST608", "text", ST_OK},
    /* a piece's fields with the wrong wire types, a field 0, a length cut, a field past it */
    {"t.model", B("\x0a\x02\x08\x01"), "ST506", "unknown", ST_E_UNSUPPORTED},
    {"t.model", B("\x0a\x02\x10\x01"), "ST506", "unknown", ST_E_UNSUPPORTED},
    {"t.model", B("\x0a\x02\x1a\x00"), "ST506", "unknown", ST_E_UNSUPPORTED},
    {"t.model", B("\x02\x00"), "ST506", "unknown", ST_E_UNSUPPORTED},
    {"t.model", B("\x0a\x01\x0a"), "ST506", "unknown", ST_E_UNSUPPORTED},
    {"t.model", B("\x0a\x02\x15\x00\x00\x00\x00"), "ST506", "unknown", ST_E_UNSUPPORTED},
    /* msgpack: one map framing the file exactly */
    {"f.msgpack",
     B("\x81\xa1"
       "a\x01"),
     "ST505", "msgpack", ST_OK},
    {"f.msgpack",
     B("\xde\x00\x01\xa1"
       "a\xc0"),
     "ST505", "msgpack", ST_OK},
    {"f.msgpack",
     B("\xdf\x00\x00\x00\x01\xa1"
       "a\xc3"),
     "ST505", "msgpack", ST_OK},
    {"f.msgpack",
     B("\x81\xa1"
       "a\x92\xc2\xe0"),
     "ST505", "msgpack", ST_OK},
    {"f.msgpack", B("\x81\xc4\x01x\xc5\x00\x01x"), "ST505", "msgpack", ST_OK},
    {"f.msgpack", B("\x81\xc6\x00\x00\x00\x01x\xd9\x01x"), "ST505", "msgpack", ST_OK},
    {"f.msgpack", B("\x81\xda\x00\x01x\xdb\x00\x00\x00\x01x"), "ST505", "msgpack", ST_OK},
    {"f.msgpack", B("\x81\xc7\x01\x05x\xc8\x00\x01\x05x"), "ST505", "msgpack", ST_OK},
    {"f.msgpack", B("\x81\xc9\x00\x00\x00\x01\x05x\xdc\x00\x01\xc0"), "ST505", "msgpack", ST_OK},
    {"f.msgpack", B("\x81\xdd\x00\x00\x00\x01\xc0\xca\x00\x00\x00\x00"), "ST505", "msgpack", ST_OK},
    {"f.msgpack",
     B("\x81\xd4\x01\x02\xd8\x01"
       "0123456789abcdef"),
     "ST505", "msgpack", ST_OK},
    {"f.msgpack",
     B("\x81\xa1"
       "a\xc1"),
     "ST506", "unknown", ST_E_UNSUPPORTED},
    {"f.msgpack",
     B("\x81\xa1"
       "a"),
     "ST506", "unknown", ST_E_UNSUPPORTED},
    {"f.msgpack",
     B("\x81\xa3"
       "a"),
     "ST506", "unknown", ST_E_UNSUPPORTED},
    {"f.msgpack",
     B("\x81\xa1"
       "a\x01\x00"),
     "ST506", "unknown", ST_E_UNSUPPORTED},
    {"f.msgpack",
     B("\x81\xa1"
       "a\xdd\xff\xff\xff\xff"),
     "ST506", "unknown", ST_E_UNSUPPORTED},
    {"f.msgpack",
     B("\x81\xa1"
       "a\xc4"),
     "ST506", "unknown", ST_E_UNSUPPORTED},
    {"f.msgpack",
     B("\x81\xa1"
       "a\xc5\x00"),
     "ST506", "unknown", ST_E_UNSUPPORTED},
    {"f.msgpack",
     B("\x81\xa1"
       "a\xc6\x00"),
     "ST506", "unknown", ST_E_UNSUPPORTED},
    {"f.msgpack",
     B("\x81\xa1"
       "a\xc7"),
     "ST506", "unknown", ST_E_UNSUPPORTED},
    {"f.msgpack",
     B("\x81\xa1"
       "a\xc8\x00"),
     "ST506", "unknown", ST_E_UNSUPPORTED},
    {"f.msgpack",
     B("\x81\xa1"
       "a\xc9\x00"),
     "ST506", "unknown", ST_E_UNSUPPORTED},
    {"f.msgpack",
     B("\x81\xa1"
       "a\xdc\x00"),
     "ST506", "unknown", ST_E_UNSUPPORTED},
    {"f.msgpack",
     B("\x81\xa1"
       "a\xdd\x00"),
     "ST506", "unknown", ST_E_UNSUPPORTED},
    {"f.msgpack", B("\x91\x01"), "ST506", "unknown", ST_E_UNSUPPORTED}, /* an array */
    {"f.msgpack", B("{\"a\": 1}\n"), "ST608", "text", ST_OK},
    /* text: strict UTF-8 without controls but \t \n \v \f \r */
    {"README.md", B("h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xed\x9f\xbf\xf4\x8f\xbf\xbf\t\v\f\r\n"),
     "ST608", "text", ST_OK},
    {"a.txt", B("a\xe0\x80\x80"), "ST506", "unknown", ST_E_UNSUPPORTED}, /* overlong */
    {"a.txt", B("a\xed\xa0\x80"), "ST506", "unknown", ST_E_UNSUPPORTED}, /* surrogate */
    {"a.txt", B("a\xf4\x90\x80\x80"), "ST506", "unknown", ST_E_UNSUPPORTED},
    {"a.txt", B("a\xf0\x80\x80\x80"), "ST506", "unknown", ST_E_UNSUPPORTED},
    {"a.txt", B("a\xf5\x80\x80\x80"), "ST506", "unknown", ST_E_UNSUPPORTED},
    {"a.txt", B("a\xc1\x81"), "ST506", "unknown", ST_E_UNSUPPORTED},
    {"a.txt", B("a\xe2\x82"), "ST506", "unknown", ST_E_UNSUPPORTED}, /* cut */
    {"a.txt", B("a\x7f"), "ST506", "unknown", ST_E_UNSUPPORTED},
    {"a.txt", B("a\x1b[0m"), "ST506", "unknown", ST_E_UNSUPPORTED},
    {"dir/model.py", B("import torch\n"), "ST609", "python", ST_OK},
    {NULL, B("plain\n"), "ST608", "text", ST_OK},
    /* a text whose pickle view imports a module a loader finds is the pickle it is; so is one
     * that reaches the extension registry */
    {"notes.txt", B("cos\nsystem\n(S'ls'\ntR."), "ST201", "pickle", ST_OK},
    {"notes.txt", B("\x82\x01."), "ST204", "pickle", ST_OK},
};

static st_report *nonmodel(st_ctx *ctx, const char *name, const void *bytes, size_t len,
                           st_error *rc)
{
    st_report *r = st_report_new(ctx, name ? name : "(null)");
    assert_non_null(r);
    st_src src = {-1, bytes, len};
    st_input in = input_over(ctx, r, &src, bytes, len);
    in.name = name;
    *rc = st_nonmodel_check(&in);
    return r;
}

static void test_nonmodel(void **state)
{
    for (size_t i = 0; i < sizeof(nm_cases) / sizeof(nm_cases[0]); i++) {
        const nm_case *c = &nm_cases[i];
        st_error rc;
        st_report *r = nonmodel(*state, c->name, c->bytes, c->len, &rc);
        char got[256];
        tu_ids(r, got, sizeof(got));
        if (strcmp(got, c->ids) != 0 || strcmp(r->format, c->format) != 0 || rc != c->rc)
            fail_msg("case %zu (%s): ids \"%s\" format %s rc %d; expected \"%s\" %s %d", i, c->name,
                     got, r->format, rc, c->ids, c->format, c->rc);
        st_report_free(r);
    }
}

/* Module texts a pickle view imports: only a Python module path makes the text a pickle. */
static void test_nonmodel_module_names(void **state)
{
    static const struct {
        const char *bytes, *format;
    } cases[] = {
        {"ca_1.B\xc3\xa9\nf\n.", "pickle"}, /* identifiers, digits after the start, UTF-8 */
        {"c.a\nf\n.", "text"},              /* an empty component */
        {"ca..b\nf\n.", "text"},
        {"ca.\nf\n.", "text"},
        {"c1a\nf\n.", "text"}, /* starts with a digit */
        {"ca b\nf\n.", "text"},
        {"ca.1\nf\n.", "text"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        st_error rc;
        st_report *r = nonmodel(*state, "x.txt", cases[i].bytes, strlen(cases[i].bytes), &rc);
        if (strcmp(r->format, cases[i].format) != 0)
            fail_msg("%zu: format %s, expected %s", i, r->format, cases[i].format);
        if (strcmp(cases[i].format, "text") == 0)
            tu_assert_ids(r, "ST608");
        st_report_free(r);
    }
}

/* The kind of a text file, by its name. */
static void test_nonmodel_text_kinds(void **state)
{
    static const char *const names[][2] = {
        {"x.markdown", "markdown"},
        {"x.rst", "reStructuredText"},
        {"x.json", "JSON"},
        {"x.jsonl", "JSON Lines"},
        {"x.yaml", "YAML"},
        {"x.YML", "YAML"},
        {"x.toml", "TOML"},
        {"vocab.txt", "tokenizer vocabulary"},
        {"merges.txt", "tokenizer merges"},
        {"spm.vocab", "tokenizer vocabulary"},
        {"x.csv", "CSV"},
        {"x.tsv", "TSV"},
        {"setup.cfg", "configuration"},
        {"x.ini", "configuration"},
        {".gitattributes", "git attributes"},
        {"a/.gitignore", "git ignore list"},
        {"LICENSE", "licence"},
        {"NOTICE", "text"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        st_error rc;
        st_report *r = nonmodel(*state, names[i][0], "x\n", 2, &rc);
        tu_assert_ids(r, "ST608");
        char want[200];
        snprintf(want, sizeof(want),
                 "not a model file: %s text (UTF-8); no model format claims it and its pickle "
                 "view imports nothing; skipped",
                 names[i][1]);
        assert_string_equal(st_report_finding(r, 0)->message, want);
        st_report_free(r);
    }
}

/* A pickle view the walk could not finish (its opcode limit) is judged a pickle: fail closed. */
static void test_nonmodel_view_unfinished(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_PICKLE_OPCODES, 10), ST_OK);
    static const char text[] = "NNNNNNNNNNNNNNNNNNNNNNNNNNNNNN\n";
    st_error rc;
    st_report *r = nonmodel(ctx, "x.txt", text, sizeof(text) - 1, &rc);
    assert_string_equal(r->format, "pickle");
    tu_assert_ids(r, "ST901");
    assert_int_equal(st_report_verdict(r), ST_VERDICT_ERROR);
    st_report_free(r);
    st_ctx_free(ctx);
}

/* A policy may lower ST506: the file then is no longer "could not check". */
static void test_nonmodel_lowered(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    ctx->sev[ST_R_UNIDENTIFIED] = ST_SEV_WARNING; /* what a policy's severity map sets */
    st_error rc;
    st_report *r = nonmodel(ctx, "x.bin", "\x01\x02", 2, &rc);
    assert_int_equal(rc, ST_OK);
    tu_assert_ids(r, "ST506");
    st_report_free(r);
    st_ctx_free(ctx);
}

/* A file that shrank below the size it had when opened: reading the text fails (ST902). */
static void test_nonmodel_read_error(void **state)
{
    char path[] = "/tmp/st-nonmodel-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    static unsigned char text[70000];
    memset(text, 'a', sizeof(text));
    assert_int_equal(write(fd, text, sizeof(text)), (ssize_t)sizeof(text));
    st_src src = {fd, NULL, 200000};
    st_report *r = st_report_new(*state, "x.txt");
    st_input in = input_over(*state, r, &src, text, ST_HEAD_BYTES);
    in.name = "x.txt";
    assert_int_equal(st_nonmodel_check(&in), ST_E_IO);
    tu_assert_ids(r, "ST902");
    st_report_free(r);
    close(fd);
}

/* A sentencepiece or msgpack file that shrank: its framing runs into the missing bytes and
 * fails; not being text either, the file could not be checked. */
static void test_nonmodel_read_error_framed(void **state)
{
    static unsigned char b[70000];
    static const struct {
        const char *name;
        unsigned char head[6];
    } cases[] = {
        /* trainer_spec (2) of 69,996 bytes, then the next tag at 70,000 */
        {"x.model", {0x12, 0xec, 0xa2, 0x04}},
        /* a map whose key is a bin 32 of 69,994 bytes, then its value at 70,000 */
        {"x.msgpack", {0x81, 0xc6, 0x00, 0x01, 0x11, 0x6a}},
    };
    for (size_t i = 0; i < 2; i++) {
        char path[] = "/tmp/st-nonmodel-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        unlink(path);
        memset(b, 0, sizeof(b));
        memcpy(b, cases[i].head, sizeof(cases[i].head));
        assert_int_equal(write(fd, b, sizeof(b)), (ssize_t)sizeof(b));
        st_src src = {fd, NULL, 200000};
        st_report *r = st_report_new(*state, cases[i].name);
        st_input in = input_over(*state, r, &src, b, ST_HEAD_BYTES);
        in.name = cases[i].name;
        /* framing fails on the read error; the bytes are no text: could not check */
        assert_int_equal(st_nonmodel_check(&in), ST_E_UNSUPPORTED);
        tu_assert_ids(r, "ST506");
        st_report_free(r);
        close(fd);
    }
}

/* A joblib NDArrayWrapper read from a buffer: no folder is known, so its sibling cannot be
 * read (ST234, could not check); a path-like name is still an error (ST233). */
static void test_joblib_sibling_without_folder(void **state)
{
    static const char head[] = "\x80\x02"
                               "cjoblib.numpy_pickle\nNDArrayWrapper\n)\x81}("
                               "X\x08\x00\x00\x00subclass"
                               "cnumpy\nndarray\n"
                               "X\x08\x00\x00\x00"
                               "filenameX";
    static const char *const names[] = {"a.npy", "../a.npy"};
    static const char *const ids[] = {"ST234", "ST233"};
    static const st_verdict verdicts[] = {ST_VERDICT_ERROR, ST_VERDICT_FAIL};
    for (size_t i = 0; i < 2; i++) {
        unsigned char b[256];
        size_t hl = sizeof(head) - 1, nl = strlen(names[i]);
        memcpy(b, head, hl);
        b[hl] = (unsigned char)nl;
        memset(b + hl + 1, 0, 3);
        memcpy(b + hl + 4, names[i], nl);
        memcpy(b + hl + 4 + nl, "ub.", 3);
        st_report *r = st_check_buffer(*state, b, hl + 4 + nl + 3, "w.pkl");
        tu_assert_ids(r, ids[i]);
        assert_int_equal(st_report_verdict(r), verdicts[i]);
        if (i == 0)
            assert_non_null(
                strstr(st_report_finding(r, 0)->message, "its folder is not known here"));
        st_report_free(r);
    }
}

/* git-lfs pointers: the model was never downloaded. */
static void test_lfs_pointers(void **state)
{
#define LFS "version https://git-lfs.github.com/spec/v1\n"
    static const char oid64[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    static const struct {
        const char *text;
        int is_pointer;
        const char *oid;
    } cases[] = {
        {LFS "oid sha256:abc\nsize 12\n", 1, "abc"},
        {LFS "size 12\n", 1, "?"},
        {LFS "oid sha256:abc", 1, "abc"}, /* no newline after it */
        {LFS "xoid sha256:abc\n", 1, "?"},
        {LFS "oid sha256:"
             "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdefXYZ\n",
         1, oid64},
        {"version https://git-lfs.github.com/spec/v2\n", 0, NULL},
        {"version", 0, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = strlen(cases[i].text);
        st_src src = {-1, (const unsigned char *)cases[i].text, len};
        st_report *r = st_report_new(*state, "p.bin");
        st_input in = input_over(*state, r, &src, src.mem, len);
        assert_int_equal(st_lfs_pointer_check(&in), cases[i].is_pointer);
        if (cases[i].is_pointer) {
            tu_assert_ids(r, "ST507");
            assert_int_equal(st_report_verdict(r), ST_VERDICT_ERROR);
            char want[200];
            snprintf(want, sizeof(want),
                     "git-lfs pointer (oid sha256:%s): the file itself was never downloaded, so "
                     "the model was not seen; could not check",
                     cases[i].oid);
            assert_string_equal(st_report_finding(r, 0)->message, want);
        } else {
            tu_assert_ids(r, "");
        }
        st_report_free(r);
    }
    /* a pointer is below 1024 bytes */
    static char big[1100];
    memset(big, 'x', sizeof(big));
    memcpy(big, LFS, sizeof(LFS) - 1);
    st_src src = {-1, (const unsigned char *)big, sizeof(big)};
    st_report *r = st_report_new(*state, "p.bin");
    st_input in = input_over(*state, r, &src, src.mem, sizeof(big));
    assert_int_equal(st_lfs_pointer_check(&in), 0);
    st_report_free(r);
#undef LFS
}

/* ---- the scanner's entry points (scan.c) ------------------------------------------------- */

static void expect_io(st_report *r, const char *id, const char *message, st_verdict v)
{
    assert_non_null(r);
    tu_assert_report(r, id, id, v);
    if (message != NULL)
        assert_string_equal(st_report_finding(r, 0)->message, message);
    st_report_free(r);
}

static void test_scan_entry_points(void **state)
{
    st_ctx *ctx = *state;
    assert_null(st_check_buffer(NULL, "x", 1, "x"));
    assert_null(st_check_fd(NULL, 0, "x"));
    assert_null(st_check_path(NULL, "/etc/hostname"));
    /* no bytes behind a size: invalid, could not check */
    st_report *r = st_check_buffer(ctx, NULL, 5, "x");
    assert_int_equal(st_report_error(r), ST_E_INVAL);
    expect_io(r, "", NULL, ST_VERDICT_ERROR);
    expect_io(st_check_fd(ctx, -1, "bad-fd"), "ST902", "cannot stat: Bad file descriptor",
              ST_VERDICT_ERROR);
    expect_io(st_check_path(ctx, "/dev/null"), "ST601", "not a regular file (character device)",
              ST_VERDICT_ERROR);
    expect_io(st_check_path(ctx, "/etc/hostname/x"), "ST902", "cannot open: Not a directory",
              ST_VERDICT_ERROR);
    r = st_check_path(ctx, NULL);
    assert_int_equal(st_report_error(r), ST_E_INVAL);
    expect_io(r, "", NULL, ST_VERDICT_ERROR);
    char loop[] = "/tmp/st-loop-XXXXXX";
    assert_non_null(mkdtemp(loop));
    char link_path[64];
    snprintf(link_path, sizeof(link_path), "%s/a", loop);
    assert_int_equal(symlink("a", link_path), 0);
    expect_io(st_check_path(ctx, link_path), "ST902", "symbolic link loop: it points to \"a\"",
              ST_VERDICT_ERROR);
    unlink(link_path);
    rmdir(loop);
}

/* ---- folder walks (tree.c) --------------------------------------------------------------- */

static char tree_root[64];

static void tpath(char *out, size_t size, const char *rel)
{
    snprintf(out, size, "%s/%s", tree_root, rel);
}

static void tmkdir(const char *rel)
{
    char p[512];
    tpath(p, sizeof(p), rel);
    assert_int_equal(mkdir(p, 0700), 0);
}

static void twrite(const char *rel, const void *data, size_t len)
{
    char p[512];
    tpath(p, sizeof(p), rel);
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void tlink(const char *target, const char *rel)
{
    char p[512];
    tpath(p, sizeof(p), rel);
    assert_int_equal(symlink(target, p), 0);
}

static void tremove(const char *rel)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s/%s'", tree_root, rel);
    assert_int_equal(system(cmd), 0);
}

static void tree_fresh(void)
{
    if (tree_root[0] != '\0')
        tremove("");
    snprintf(tree_root, sizeof(tree_root), "/tmp/st-tree-XXXXXX");
    assert_non_null(mkdtemp(tree_root));
}

/* Walks the tree and checks every entry; returns "rel=IDS;rel=IDS;..." in walk order (the
 * root's own entry as "."), each with its verdict letter (P, F, E). */
static void tree_run(st_ctx *ctx, char *out, size_t size)
{
    st_tree *t = st_tree_open(ctx, tree_root);
    assert_non_null(t);
    out[0] = '\0';
    for (size_t i = 0; i < st_tree_count(t); i++) {
        st_report *r = st_tree_check(ctx, t, i);
        assert_non_null(r);
        char ids[256];
        tu_ids(r, ids, sizeof(ids));
        const char *path = st_report_path(r), *rel = path + strlen(tree_root);
        rel += *rel == '/';
        st_verdict v = st_report_verdict(r);
        size_t n = strlen(out);
        snprintf(out + n, size - n, "%s%s=%s:%c", n ? ";" : "", *rel ? rel : ".", ids,
                 v == ST_VERDICT_PASS   ? 'P'
                 : v == ST_VERDICT_FAIL ? 'F'
                                        : 'E');
        st_report_free(r);
    }
    assert_null(st_tree_check(ctx, t, st_tree_count(t)));
    assert_null(st_tree_check(NULL, t, 0));
    assert_null(st_tree_check(ctx, NULL, 0));
    st_tree_free(t);
}

#define TREE_EXPECT(ctx, want)                                                                     \
    do {                                                                                           \
        char got_[4096];                                                                           \
        tree_run((ctx), got_, sizeof(got_));                                                       \
        if (strcmp(got_, (want)) != 0)                                                             \
            fail_msg("walk:\n  got  %s\n  want %s", got_, (want));                                 \
    } while (0)

static const char safe_hdr[] = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";

static void tsafe(const char *rel)
{
    size_t len;
    unsigned char *b = tu_frame(safe_hdr, strlen(safe_hdr), 1, 1, &len);
    twrite(rel, b, len);
    free(b);
}

/* Links resolved by hand: ".", a name longer than NAME_MAX, a target as long as readlink can
 * return (cut: dangling), an absolute target met half-way, chains. */
static void test_tree_links(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    tree_fresh();
    tsafe("f.safetensors");
    tmkdir("d");
    tlink(".", "dot");
    char longname[300];
    memset(longname, 'n', 300);
    longname[299] = '\0';
    tlink(longname, "long-component");
    static char longtarget[4096];
    for (size_t i = 0; i + 2 < 4095; i += 2)
        memcpy(longtarget + i, "a/", 2);
    longtarget[4094] = 'b';
    longtarget[4095] = '\0';
    tlink(longtarget, "long-target");
    tlink("long-target", "via-long-target");
    tlink("/etc", "abs");
    tlink("abs/passwd", "via-abs");
    tlink("f.safetensors/x", "file-as-folder");
    tlink("d/../f.safetensors", "up-and-back.safetensors");
    tlink("../x", "up"); /* ".." from the root's own folder */
    tmkdir("d/e");
    tlink("../../f.safetensors", "d/e/up2.safetensors");
    TREE_EXPECT(
        ctx, "abs=ST604:F;d/e/up2.safetensors=ST605:P;dot=ST605:P;f.safetensors=:P;"
             "file-as-folder=ST602:F;long-component=ST602:F;long-target=ST602:F;"
             "up=ST604:F;up-and-back.safetensors=ST605:P;via-abs=ST604:F;via-long-target=ST602:F");
    st_ctx_free(ctx);
    tremove("");
}

/* The link_steps budget spent at each lookup resolution makes: the link's own path, a
 * component, a link met on the way. */
static void test_tree_link_budget(void **state)
{
    (void)state;
    tree_fresh();
    tsafe("f.safetensors");
    tmkdir("d");
    tlink("../f.safetensors", "d/l.safetensors"); /* its own path costs 2 */
    tlink("f.safetensors", "l2");
    tlink("l2", "l1"); /* l1 -> l2 -> f */
    static const struct {
        uint64_t steps;
        const char *want;
    } cases[] = {
        {1, "d/l.safetensors=ST901:E;f.safetensors=:P;l1=ST901:E;l2=ST901:E"},
        {3, "d/l.safetensors=ST605:P;f.safetensors=:P;l1=ST901:E;l2=ST901:E"},
        {7, "d/l.safetensors=ST605:P;f.safetensors=:P;l1=ST605:P;l2=ST901:E"},
        {1000, "d/l.safetensors=ST605:P;f.safetensors=:P;l1=ST605:P;l2=ST605:P"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        st_ctx *ctx = st_ctx_new();
        assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_LINK_STEPS, cases[i].steps), ST_OK);
        TREE_EXPECT(ctx, cases[i].want);
        st_ctx_free(ctx);
    }
    tremove("");
}

/* Special files, hard links (three names of one inode, two inodes), and the tree_entries
 * limit. */
static void test_tree_specials(void **state)
{
    (void)state;
    tree_fresh();
    tsafe("a.safetensors");
    tsafe("x.safetensors");
    char p1[512], p2[512];
    static const char *const more[] = {"b.safetensors", "c.safetensors"};
    tpath(p1, sizeof(p1), "a.safetensors");
    for (size_t i = 0; i < 2; i++) {
        tpath(p2, sizeof(p2), more[i]);
        assert_int_equal(link(p1, p2), 0);
    }
    tpath(p1, sizeof(p1), "x.safetensors");
    tpath(p2, sizeof(p2), "y.safetensors");
    assert_int_equal(link(p1, p2), 0);
    tpath(p1, sizeof(p1), "fifo");
    assert_int_equal(mkfifo(p1, 0600), 0);
    tpath(p1, sizeof(p1), "sock");
    int sfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    /* the precision bounds the copy: gcc -O0 -Werror=format-truncation (ci/coverage.sh) */
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%.*s", (int)sizeof(sa.sun_path) - 1, p1);
    assert_int_equal(bind(sfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(sfd);
    tlink("fifo", "to-fifo");
    st_ctx *ctx = st_ctx_new();
    TREE_EXPECT(ctx, "a.safetensors=:P;b.safetensors=ST606:P;c.safetensors=ST606:P;fifo=ST601:E;"
                     "sock=ST601:E;to-fifo=ST601:F;x.safetensors=:P;y.safetensors=ST606:P");
    st_tree *t = st_tree_open(ctx, tree_root);
    st_report *r = st_tree_check(ctx, t, 2);
    assert_non_null(strstr(st_report_finding(r, 0)->message, "a.safetensors\""));
    st_report_free(r);
    r = st_tree_check(ctx, t, 4);
    assert_string_equal(st_report_finding(r, 0)->message, "not a regular file (socket)");
    st_report_free(r);
    st_tree_free(t);
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_TREE_ENTRIES, 3), ST_OK);
    TREE_EXPECT(ctx, ".=ST901:E"); /* the folder's entries are not listed past the limit */
    st_ctx_free(ctx);
    tremove("");
}

/* Entries that changed between the walk and their check: a file removed, a file replaced by a
 * link, a folder replaced by a file. Opened without following links: ST607, never elsewhere. */
static void test_tree_changed(void **state)
{
    (void)state;
    tree_fresh();
    tsafe("gone.safetensors");
    tsafe("swapped.safetensors");
    tmkdir("d");
    tsafe("d/f.safetensors");
    tsafe("keep.safetensors");
    st_ctx *ctx = st_ctx_new();
    st_tree *t = st_tree_open(ctx, tree_root);
    assert_int_equal(st_tree_count(t), 4);
    tremove("gone.safetensors");
    tremove("swapped.safetensors");
    tlink("keep.safetensors", "swapped.safetensors");
    tremove("d");
    twrite("d", "x", 1);
    static const char *const want[] = {"ST607", "ST607", "", "ST607"};
    for (size_t i = 0; i < 4; i++) {
        st_report *r = st_tree_check(ctx, t, i);
        tu_assert_ids(r, want[i]);
        assert_int_equal(st_report_verdict(r), want[i][0] ? ST_VERDICT_ERROR : ST_VERDICT_PASS);
        st_report_free(r);
    }
    st_tree_free(t);
    st_ctx_free(ctx);
    tremove("");
}

/* A .git folder is git's own store only with objects/, refs/ and a HEAD naming a ref or a
 * commit (40 or 64 hex digits) on one line; anything else is walked like any folder. */
static void test_tree_git_store(void **state)
{
    (void)state;
    static const struct {
        const char *head; /* NULL: HEAD is a folder; "": no HEAD; "@": HEAD is a link */
        int store;
    } cases[] = {
        {"ref: refs/heads/main\n", 1},
        {"0123456789abcdef0123456789abcdef01234567\n", 1},
        {"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n", 1},
        {"0123456789abcdef0123456789abcdef0123456\n", 0},
        {"0123456789abcdef0123456789abcdef01234567x\n", 0},
        {"ref: refs/heads/a b\n", 0},
        {"ref: refs/heads/main\nmore\n", 0},
        {"ref: refs/heads/main", 0},
        {"\n", 0},
        {"", 0},
        {"@", 0},
        {NULL, 0},
    };
    st_ctx *ctx = st_ctx_new();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tree_fresh();
        tmkdir(".git");
        tmkdir(".git/objects");
        tmkdir(".git/refs");
        tsafe(".git/x.safetensors");
        if (cases[i].head == NULL)
            tmkdir(".git/HEAD");
        else if (strcmp(cases[i].head, "@") == 0)
            tlink("x.safetensors", ".git/HEAD");
        else if (cases[i].head[0] != '\0')
            twrite(".git/HEAD", cases[i].head, strlen(cases[i].head));
        char got[4096];
        tree_run(ctx, got, sizeof(got));
        const char *want = cases[i].store ? ".git=ST630:P" : NULL;
        if (want ? strcmp(got, want) != 0 : strstr(got, ".git/x.safetensors=:P") == NULL)
            fail_msg("HEAD case %zu: %s", i, got);
    }
    /* a store without refs/ (or with a file so named) is walked */
    tree_fresh();
    tmkdir(".git");
    tmkdir(".git/objects");
    twrite(".git/refs", "x", 1);
    twrite(".git/HEAD", "ref: refs/heads/main\n", 21);
    char got[4096];
    tree_run(ctx, got, sizeof(got));
    assert_null(strstr(got, "ST630"));
    /* a HEAD longer than any git writes */
    tremove(".git/refs");
    tmkdir(".git/refs");
    char big[200];
    memset(big, 'a', sizeof(big));
    big[199] = '\n';
    twrite(".git/HEAD", big, sizeof(big));
    tree_run(ctx, got, sizeof(got));
    assert_null(strstr(got, "ST630"));
    st_ctx_free(ctx);
    tremove("");
}

/* Paths longer than PATH_MAX below the root. 16 folders of 250-byte names (4,015 bytes) hold a
 * file and a link whose names take their paths past 4,095 bytes: the file cannot be opened one
 * component at a time from the root (ST902, could not check) and the link is not resolved
 * (ST901; cut, its folder would be another one). One more folder level cannot be listed at all
 * (ST902 for the folder). Link targets that chain past the resolver's buffer: a loop (ST603). */
static int deep_folder(int levels)
{
    int fd = open(tree_root, O_RDONLY | O_DIRECTORY);
    char name[251];
    memset(name, 'd', 250);
    name[250] = '\0';
    for (int i = 0; i < levels; i++) {
        assert_int_equal(mkdirat(fd, name, 0700), 0);
        int nfd = openat(fd, name, O_RDONLY | O_DIRECTORY);
        close(fd);
        fd = nfd;
        assert_true(fd >= 0);
    }
    return fd;
}

static void test_tree_long_paths(void **state)
{
    (void)state;
    tree_fresh();
    int fd = deep_folder(16);
    char name[251];
    memset(name, 'f', 250);
    name[250] = '\0';
    int ffd = openat(fd, name, O_WRONLY | O_CREAT, 0600);
    assert_int_equal(write(ffd, "x", 1), 1);
    close(ffd);
    name[0] = 'l';
    assert_int_equal(symlinkat("f", fd, name), 0);
    memset(name, 'g', 250); /* a short link whose target takes the path past PATH_MAX */
    assert_int_equal(symlinkat(name, fd, "s"), 0);
    close(fd);
    st_ctx *ctx = st_ctx_new();
    st_tree *t = st_tree_open(ctx, tree_root);
    assert_int_equal(st_tree_count(t), 3);
    static const char *const want[] = {"ST902", "ST901", "ST602"};
    static const st_verdict wantv[] = {ST_VERDICT_ERROR, ST_VERDICT_ERROR, ST_VERDICT_FAIL};
    for (size_t i = 0; i < 3; i++) {
        st_report *r = st_tree_check(ctx, t, i);
        tu_assert_ids(r, want[i]);
        assert_int_equal(st_report_verdict(r), wantv[i]);
        st_report_free(r);
    }
    st_tree_free(t);
    tree_fresh();
    close(deep_folder(17));
    static char got[8192];
    tree_run(ctx, got, sizeof(got));
    size_t gl = strlen(got);
    /* one entry: the 17th folder, which cannot be listed (its long name is cut by "...") */
    assert_true(gl > 10 && strchr(got, ';') == NULL);
    assert_string_equal(got + gl - 8, "=ST902:E");
    assert_memory_equal(got, "dddd", 4);
    tremove("");
    /* l1 -> l2/a/a/.../a (4,094 bytes), l2 -> l3/a/..., l3 -> l4/a/...: the components still to
     * walk outgrow twice PATH_MAX */
    tree_fresh();
    static char target[4096];
    static const char *const links[][2] = {{"l1", "l2"}, {"l2", "l3"}, {"l3", "l4"}};
    for (size_t i = 0; i < 3; i++) {
        memcpy(target, links[i][1], 2);
        for (size_t k = 2; k + 2 <= 4094; k += 2)
            memcpy(target + k, "/a", 2);
        target[4094] = '\0';
        tlink(target, links[i][0]);
    }
    TREE_EXPECT(ctx, "l1=ST603:F;l2=ST602:F;l3=ST602:F");
    st_ctx_free(ctx);
    tremove("");
}

/* The API's edges: no context or root, a folder that cannot be opened, a root given with
 * trailing slashes, and the filesystem root itself (displayed without a doubled slash). */
static void test_tree_api_edges(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    assert_null(st_tree_open(NULL, "/tmp"));
    assert_null(st_tree_open(ctx, NULL));
    assert_int_equal(st_tree_count(NULL), 0);
    st_tree_free(NULL);
    st_tree *t = st_tree_open(ctx, "/nonexistent-st-tree");
    assert_int_equal(st_tree_count(t), 1);
    st_report *r = st_tree_check(ctx, t, 0);
    tu_assert_ids(r, "ST902");
    assert_string_equal(st_report_path(r), "/nonexistent-st-tree");
    assert_int_equal(st_report_verdict(r), ST_VERDICT_ERROR);
    st_report_free(r);
    st_tree_free(t);
    tree_fresh();
    tsafe("f.safetensors");
    char slashed[128];
    snprintf(slashed, sizeof(slashed), "%s///", tree_root);
    t = st_tree_open(ctx, slashed);
    r = st_tree_check(ctx, t, 0);
    char want[128];
    snprintf(want, sizeof(want), "%s/f.safetensors", tree_root);
    assert_string_equal(st_report_path(r), want);
    st_report_free(r);
    st_tree_free(t);
    /* "/" listed to depth 1: deeper folders are limit entries; paths are displayed "/NAME" */
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_TREE_DEPTH, 1), ST_OK);
    t = st_tree_open(ctx, "/");
    assert_non_null(t);
    assert_true(st_tree_count(t) > 3);
    for (size_t i = 0; i < st_tree_count(t) && i < 3; i++) {
        r = st_tree_check(ctx, t, i);
        const char *p = st_report_path(r);
        if (!(p[0] == '/' && p[1] != '/'))
            fail_msg("entry %zu of /: %s", i, p);
        st_report_free(r);
    }
    st_tree_free(t);
    st_ctx_free(ctx);
    tremove("");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_npy_headers),
        cmocka_unit_test(test_npy_versions),
        cmocka_unit_test(test_npy_object),
        cmocka_unit_test(test_format_table),
        cmocka_unit_test(test_nan_inf_kinds),
        cmocka_unit_test(test_magic_describe),
        cmocka_unit_test(test_nonmodel),
        cmocka_unit_test(test_nonmodel_module_names),
        cmocka_unit_test(test_nonmodel_text_kinds),
        cmocka_unit_test(test_nonmodel_lowered),
        cmocka_unit_test(test_nonmodel_view_unfinished),
        cmocka_unit_test(test_nonmodel_read_error),
        cmocka_unit_test(test_lfs_pointers),
        cmocka_unit_test(test_nonmodel_read_error_framed),
        cmocka_unit_test(test_joblib_sibling_without_folder),
        cmocka_unit_test(test_tree_links),
        cmocka_unit_test(test_tree_link_budget),
        cmocka_unit_test(test_tree_specials),
        cmocka_unit_test(test_tree_changed),
        cmocka_unit_test(test_tree_git_store),
        cmocka_unit_test(test_tree_api_edges),
        cmocka_unit_test(test_tree_long_paths),
        cmocka_unit_test(test_scan_entry_points),
    };
    return cmocka_run_group_tests(tests, tu_ctx_setup, tu_ctx_teardown);
}
