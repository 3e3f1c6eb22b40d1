/*
 * test_formats_misc.c - numpy headers, the format table, nested inputs, NaN/Inf counting and
 * libmagic's second opinion, each check asserted by its exact finding ids and verdict (issue
 * #12: deleting a check must fail a test).
 */
#include "test_util.h"

#include "formats/deep.h"
#include "formats/format.h"

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
    char got[512];
    tu_ids(r, got, sizeof(got));
    if (strcmp(got, ids) != 0 || st_report_verdict(r) != verdict)
        fail_msg("%s: ids \"%s\" verdict %d, expected \"%s\" %d", what, got, st_report_verdict(r),
                 ids, verdict);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_npy_headers),   cmocka_unit_test(test_npy_versions),
        cmocka_unit_test(test_npy_object),    cmocka_unit_test(test_format_table),
        cmocka_unit_test(test_nan_inf_kinds), cmocka_unit_test(test_magic_describe),
    };
    return cmocka_run_group_tests(tests, tu_ctx_setup, tu_ctx_teardown);
}
