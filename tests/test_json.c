/*
 * test_json.c - the strict JSON scanner: tokens, exact integers, escapes, UTF-8, duplicate
 * keys in small and large objects, depth, whitespace bookkeeping and skipping.
 */
#include "test_util.h"

#include "json/json.h"

static st_json *scan(const char *s, unsigned depth)
{
    st_json *j = st_json_new((const unsigned char *)s, strlen(s), depth);
    assert_non_null(j);
    return j;
}

/* Runs to the end; returns the final error (ST_JSON_OK when the document is valid). */
static st_json_err run(const char *s, unsigned depth)
{
    st_json *j = scan(s, depth);
    st_json_tok t;
    st_json_err e;
    while ((e = st_json_next(j, &t)) == ST_JSON_OK && t.type != ST_JT_END)
        ;
    st_json_free(j);
    return e;
}

static void test_valid_documents(void **state)
{
    (void)state;
    static const char *ok[] = {
        "{}",
        "[]",
        "0",
        "-0",
        "1.5e-3",
        "1E+2",
        "\"\"",
        "true",
        "false",
        "null",
        "{\"a\":[1,{\"b\":null}],\"c\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}",
        " \t\r\n{ \"a\" : 1 } \n",
        "\"\\ud83d\\ude00\"",
        "\"\xf0\x9f\x98\x80\"",
        "[\"\x7f\"]",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (run(ok[i], 16) != ST_JSON_OK)
            fail_msg("rejected valid JSON: %s", ok[i]);
}

static void test_invalid_documents(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        st_json_err err;
    } bad[] = {
        {"", ST_JSON_E_SYNTAX},
        {"{", ST_JSON_E_SYNTAX},
        {"{\"a\"}", ST_JSON_E_SYNTAX},
        {"{\"a\":}", ST_JSON_E_SYNTAX},
        {"[1,]", ST_JSON_E_SYNTAX},
        {"[,1]", ST_JSON_E_SYNTAX},
        {"01", ST_JSON_E_SYNTAX},
        {"1.", ST_JSON_E_SYNTAX},
        {".5", ST_JSON_E_SYNTAX},
        {"+1", ST_JSON_E_SYNTAX},
        {"1e", ST_JSON_E_SYNTAX},
        {"-", ST_JSON_E_SYNTAX},
        {"NaN", ST_JSON_E_SYNTAX},
        {"Infinity", ST_JSON_E_SYNTAX},
        {"tru", ST_JSON_E_SYNTAX},
        {"nul", ST_JSON_E_SYNTAX},
        {"[1 2]", ST_JSON_E_SYNTAX},
        {"{\"a\":1 \"b\":2}", ST_JSON_E_SYNTAX},
        {"\"\\u12\"", ST_JSON_E_SYNTAX},
        {"\"\\ud800\\u0041\"", ST_JSON_E_SYNTAX},
        {"\"\\\"", ST_JSON_E_SYNTAX},
        {"/* c */ {}", ST_JSON_E_SYNTAX},
        {"{1:2}", ST_JSON_E_SYNTAX},
        {"\"a\tb\"", ST_JSON_E_CONTROL},
        {"\"\xc2\"", ST_JSON_E_UTF8},
        {"\"\xe0\x80\x80\"", ST_JSON_E_UTF8},
        {"\"\xf5\x80\x80\x80\"", ST_JSON_E_UTF8},
        {"\"\x80\"", ST_JSON_E_UTF8},
        {"{} x", ST_JSON_E_TRAILING},
        {"1 2", ST_JSON_E_TRAILING},
        {"{\"a\":1,\"a\":2}", ST_JSON_E_DUPKEY},
        {"{\"a\":{\"x\":1,\"x\":1}}", ST_JSON_E_DUPKEY},
        {"[[[[[]]]]]", ST_JSON_E_DEPTH},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        st_json_err e = run(bad[i].text, 4);
        if (e != bad[i].err)
            fail_msg("\"%s\": error %d, expected %d", bad[i].text, e, bad[i].err);
    }
}

static void test_integers(void **state)
{
    (void)state;
    st_json *j =
        scan("[0,18446744073709551615,18446744073709551616,-1,1.0,2e3,9007199254740993]", 4);
    st_json_tok t;
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK);
    assert_int_equal(t.type, ST_JT_ARR_BEGIN);
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK);
    assert_int_equal(t.flags, ST_JSON_F_UINT);
    assert_true(t.u64 == 0);
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK);
    assert_int_equal(t.flags, ST_JSON_F_UINT);
    assert_true(t.u64 == UINT64_MAX);
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK);
    assert_int_equal(t.flags, ST_JSON_F_UINT_BIG);
    for (int i = 0; i < 3; i++) { /* -1, 1.0, 2e3: numbers, but not plain unsigned */
        assert_int_equal(st_json_next(j, &t), ST_JSON_OK);
        assert_int_equal(t.type, ST_JT_NUMBER);
        assert_int_equal(t.flags, 0);
    }
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK); /* 2^53 + 1: exact, unlike a double */
    assert_true(t.u64 == 9007199254740993ull);
    st_json_free(j);
}

static void test_escapes(void **state)
{
    (void)state;
    st_json *j = scan("{\"a\\u00e9\\ud83d\\ude00\\n\":\"x\\u0000y\"}", 4);
    st_json_tok t;
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK);
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK);
    assert_int_equal(t.type, ST_JT_KEY);
    assert_int_equal(t.str_len, 1 + 2 + 4 + 1);
    assert_memory_equal(t.str, "a\xc3\xa9\xf0\x9f\x98\x80\n", t.str_len);
    assert_true(t.flags & ST_JSON_F_ESCAPED);
    assert_false(t.flags & ST_JSON_F_NUL);
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK);
    assert_int_equal(t.type, ST_JT_STRING);
    assert_int_equal(t.str_len, 3);
    assert_memory_equal(t.str, "x\0y", 3);
    assert_true(t.flags & ST_JSON_F_NUL);
    st_json_free(j);
}

/* Many keys (sorted check) including escaped spellings of the same key. */
static void test_large_object_duplicates(void **state)
{
    (void)state;
    char buf[4096];
    size_t n = 1;
    buf[0] = '{';
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\"k%d\":0", i ? "," : "", i);
    snprintf(buf + n, sizeof(buf) - n, "}");
    assert_int_equal(run(buf, 4), ST_JSON_OK);
    snprintf(buf + n, sizeof(buf) - n, ",\"\\u006b50\":1}"); /* "k50" spelled with an escape */
    st_json *j = scan(buf, 4);
    st_json_tok t;
    st_json_err e;
    while ((e = st_json_next(j, &t)) == ST_JSON_OK && t.type != ST_JT_END)
        ;
    assert_int_equal(e, ST_JSON_E_DUPKEY);
    assert_int_equal(st_json_error_offset(j), n + 1); /* the later copy's opening quote */
    st_json_free(j);
}

static uint32_t fnv1a(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* 200,000 distinct keys: some share a 32-bit hash (birthday bound), which must not be taken
 * for duplicates; one real duplicate at the end must be found. */
static void test_hash_collisions_are_not_duplicates(void **state)
{
    (void)state;
    size_t nk = 200000, cap = nk * 24 + 64, n = 1;
    char *buf = malloc(cap);
    uint32_t *hs = malloc(nk * sizeof(*hs));
    assert_non_null(buf);
    assert_non_null(hs);
    buf[0] = '{';
    for (size_t i = 0; i < nk; i++) {
        char key[16];
        static uint64_t x = 88172645463325252ull; /* xorshift64: fixed seed, same keys each run */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int kl =
            snprintf(key, sizeof(key), "k%012llx", (unsigned long long)(x & 0xFFFFFFFFFFFFull));
        hs[i] = fnv1a(key, (size_t)kl);
        n += (size_t)snprintf(buf + n, cap - n, "%s\"%s\":0", i ? "," : "", key);
    }
    qsort(hs, nk, sizeof(*hs), cmp_u32);
    size_t collisions = 0;
    for (size_t i = 1; i < nk; i++)
        collisions += hs[i] == hs[i - 1];
    assert_true(collisions > 0); /* otherwise this test no longer covers equal-hash runs */
    snprintf(buf + n, cap - n, "}");
    assert_int_equal(run(buf, 4), ST_JSON_OK);
    const char *first = strchr(buf, '"'); /* repeat the first key at the end */
    snprintf(buf + n, cap - n, ",%.15s:1}", first);
    assert_int_equal(run(buf, 4), ST_JSON_E_DUPKEY);
    free(hs);
    free(buf);
}

static void test_whitespace_and_skip(void **state)
{
    (void)state;
    st_json *j = scan("\n  {\"a\":[1,{\"b\":[2]}],\"c\":3}  \t", 8);
    st_json_tok t;
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK);
    assert_int_equal(st_json_leading_ws(j), 3);
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK); /* key a */
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK); /* [ */
    assert_int_equal(st_json_skip(j, &t), ST_JSON_OK);
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK);
    assert_int_equal(t.type, ST_JT_KEY);
    assert_memory_equal(t.str, "c", 1);
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK);
    assert_true(t.u64 == 3);
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK);
    assert_int_equal(t.type, ST_JT_OBJ_END);
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK);
    assert_int_equal(t.type, ST_JT_END);
    assert_true(st_json_trailing_nonspace_ws(j));
    st_json_free(j);
}

/* Deep nesting is an error at the limit, never a stack overflow. */
static void test_depth_no_recursion(void **state)
{
    (void)state;
    size_t n = 1000000;
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, '[', n);
    s[n] = '\0';
    assert_int_equal(run(s, 1024), ST_JSON_E_DEPTH);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_documents),
        cmocka_unit_test(test_invalid_documents),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_large_object_duplicates),
        cmocka_unit_test(test_hash_collisions_are_not_duplicates),
        cmocka_unit_test(test_whitespace_and_skip),
        cmocka_unit_test(test_depth_no_recursion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
