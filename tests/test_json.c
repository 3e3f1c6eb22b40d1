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

/* Four keys with one FNV-1a hash (0x9979969d), found by a meet-in-the-middle search over
 * printable bytes (prefix, three bytes forward, two bytes back from the target): two of length
 * 6, one of 7, one of 8, so the comparison sort inside a run orders by length and by bytes. */
static const char *const colliding[] = {"collide", "x?3K[0", "zzztp<1m", "wh'>mM"};

/* Builds an object of 10 filler keys (so it is checked by sorting at close) followed by the
 * given keys; returns the offset of the last key's opening quote. */
static size_t collision_object(char *buf, size_t cap, const char *const *keys, size_t nkeys)
{
    size_t n = 1, last = 0;
    buf[0] = '{';
    for (int i = 0; i < 10; i++)
        n += (size_t)snprintf(buf + n, cap - n, "\"f%d\":0,", i);
    for (size_t i = 0; i < nkeys; i++) {
        last = n;
        n += (size_t)snprintf(buf + n, cap - n, "\"%s\":%zu%s", keys[i], i,
                              i + 1 < nkeys ? "," : "");
    }
    snprintf(buf + n, cap - n, "}");
    return last;
}

static st_json_err run_at(const char *s, size_t *err_off)
{
    st_json *j = scan(s, 4);
    st_json_tok t;
    st_json_err e;
    while ((e = st_json_next(j, &t)) == ST_JSON_OK && t.type != ST_JT_END)
        ;
    *err_off = st_json_error_offset(j);
    st_json_free(j);
    return e;
}

/* Runs of three and more equal hashes. The radix pass is stable, so keys of one hash stay in
 * document order; a duplicate separated from its first copy by another key of the same hash is
 * adjacent only after the comparison sort of the run. Without that sort (or with it limited to
 * longer runs) these duplicates are missed. */
static void test_equal_hash_runs_are_sorted(void **state)
{
    (void)state;
    char buf[512];
    size_t off;
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(fnv1a(colliding[i], strlen(colliding[i])), 0x9979969du);

    /* four distinct keys of one hash: no duplicate */
    collision_object(buf, sizeof(buf), colliding, 4);
    assert_int_equal(run_at(buf, &off), ST_JSON_OK);

    /* a run of exactly three: A B A */
    const char *aba[] = {colliding[1], colliding[0], colliding[1]};
    size_t last = collision_object(buf, sizeof(buf), aba, 3);
    assert_int_equal(run_at(buf, &off), ST_JSON_E_DUPKEY);
    assert_int_equal(off, last); /* the later copy */

    /* a run of five, the duplicate pair of equal length with another key of that length
     * between them: A B C D A (lengths 6 7 8 6 6) */
    const char *five[] = {colliding[1], colliding[0], colliding[2], colliding[3], colliding[1]};
    last = collision_object(buf, sizeof(buf), five, 5);
    assert_int_equal(run_at(buf, &off), ST_JSON_E_DUPKEY);
    assert_int_equal(off, last);

    /* the duplicate written with an escape sorts next to its plain copy */
    const char *esc[] = {"wh'>mM", colliding[0], colliding[2], "\\u0077h'>mM"};
    last = collision_object(buf, sizeof(buf), esc, 4);
    assert_int_equal(run_at(buf, &off), ST_JSON_E_DUPKEY);
    assert_int_equal(off, last);
}

/* Runs with an explicit length (inputs holding NUL bytes). */
static st_json_err run_n(const char *s, size_t len)
{
    st_json *j = st_json_new((const unsigned char *)s, len, 4);
    assert_non_null(j);
    st_json_tok t;
    st_json_err e;
    while ((e = st_json_next(j, &t)) == ST_JSON_OK && t.type != ST_JT_END)
        ;
    st_json_free(j);
    return e;
}

/* Each branch of the number, literal, escape and structure grammar, one input at a time. */
static void test_grammar_edges(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        st_json_err err;
    } cases[] = {
        {"-a", ST_JSON_E_SYNTAX},
        {"- ", ST_JSON_E_SYNTAX},
        {"-0", ST_JSON_OK},
        {"[-12]", ST_JSON_OK},
        {"184467440737095516150", ST_JSON_OK}, /* multiplication overflows: big */
        {"1.a", ST_JSON_E_SYNTAX},
        {"1. ", ST_JSON_E_SYNTAX},
        {"[1.25]", ST_JSON_OK},
        {"1.25", ST_JSON_OK},
        {"1e5", ST_JSON_OK},
        {"[1e5]", ST_JSON_OK},
        {"1e-5", ST_JSON_OK},
        {"1e+", ST_JSON_E_SYNTAX},
        {"1ea", ST_JSON_E_SYNTAX},
        {"1e ", ST_JSON_E_SYNTAX},
        {"trux", ST_JSON_E_SYNTAX},
        {"[true,false,null]", ST_JSON_OK},
        {"\"\\u12zz\"", ST_JSON_E_SYNTAX},
        {"\"\\u12Gz\"", ST_JSON_E_SYNTAX},
        {"\"\\x\"", ST_JSON_E_SYNTAX},
        {"\"\\", ST_JSON_E_SYNTAX},
        {"\"\\udc00\"", ST_JSON_E_SYNTAX},
        {"\"\\udfff\"", ST_JSON_E_SYNTAX},
        {"\"\\ue000\\uDBFF\\uDFFF\"", ST_JSON_OK},
        {"\"\\ud800\\ue000\"", ST_JSON_E_SYNTAX},
        {"\"\\ud800\\udbff\"", ST_JSON_E_SYNTAX},
        {"\"\\ud800\\n......\"", ST_JSON_E_SYNTAX},
        {"\"\\ud800abcdefgh\"", ST_JSON_E_SYNTAX},
        {"\"\\ud800\"", ST_JSON_E_SYNTAX},
        {"\"abc", ST_JSON_E_SYNTAX},
        {"\"a\x01\"", ST_JSON_E_CONTROL},
        {"{\"a\"", ST_JSON_E_SYNTAX},
        {"{\"a\"  ", ST_JSON_E_SYNTAX},
        {"{\"a\" \xff", ST_JSON_E_UTF8},
        {"\xc3\xa9", ST_JSON_E_SYNTAX}, /* valid UTF-8, but not a value */
        {"\xff", ST_JSON_E_UTF8},
        {"[\xc3\xa9]", ST_JSON_E_SYNTAX},
        {"{\xff:1}", ST_JSON_E_UTF8},
        {"[1 \xff]", ST_JSON_E_UTF8},
        {"[1}", ST_JSON_E_SYNTAX},
        {"{\"a\":1]", ST_JSON_E_SYNTAX},
        {"{\"a\":1,}", ST_JSON_E_SYNTAX},
        {"[ ]", ST_JSON_OK},
        {"{ }", ST_JSON_OK},
        {"{\"a\":1,\"b\":[]}", ST_JSON_OK},
        {"1 \n\r\t", ST_JSON_OK},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        st_json_err e = run(cases[i].text, 4);
        if (e != cases[i].err)
            fail_msg("\"%s\": error %d, expected %d", cases[i].text, e, cases[i].err);
    }
    /* NUL bytes: after a backslash, raw in a string */
    assert_int_equal(run_n("\"\\\0\"", 4), ST_JSON_E_SYNTAX);
    assert_int_equal(run_n("\"a\0\"", 4), ST_JSON_E_CONTROL);
}

static void test_scanner_api(void **state)
{
    (void)state;
    const unsigned char b[] = "[]";
    /* refused: no depth, input of 2^31 bytes (never read by st_json_new) */
    assert_null(st_json_new(b, 2, 0));
    assert_null(st_json_new(b, (size_t)1 << 31, 4));

    st_json *j = scan("[1 2]", 4);
    assert_string_equal(st_json_error_detail(j), ""); /* no error yet */
    st_json_tok t;
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK);
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK);
    assert_int_equal(st_json_next(j, &t), ST_JSON_E_SYNTAX);
    assert_int_equal(st_json_error_offset(j), 3);
    assert_string_equal(st_json_error_detail(j), "',' or end of container expected");
    assert_int_equal(st_json_next(j, &t), ST_JSON_E_SYNTAX); /* stays in error */
    st_json_free(j);
    st_json_free(NULL);

    /* after the end, the scanner keeps answering END */
    j = scan("{} ", 4);
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK);
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK);
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK);
    assert_int_equal(t.type, ST_JT_END);
    assert_false(st_json_trailing_nonspace_ws(j)); /* a space only */
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK);
    assert_int_equal(t.type, ST_JT_END);
    st_json_free(j);

    /* skipping a scalar is a no-op; skipping a broken container returns its error */
    j = scan("{\"a\":[1,{\"b\":tru}]}", 8);
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK);
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK);
    assert_int_equal(t.type, ST_JT_KEY);
    assert_int_equal(st_json_skip(j, &t), ST_JSON_OK);
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK);
    assert_int_equal(t.type, ST_JT_ARR_BEGIN);
    assert_int_equal(st_json_skip(j, &t), ST_JSON_E_SYNTAX);
    assert_string_equal(st_json_error_detail(j), "invalid literal");
    st_json_free(j);

    /* skipping an object stops at its own end, not at a nested one */
    j = scan("[{\"a\":{}},2]", 8);
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK);
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK);
    assert_int_equal(t.type, ST_JT_OBJ_BEGIN);
    assert_int_equal(st_json_skip(j, &t), ST_JSON_OK);
    assert_int_equal(st_json_next(j, &t), ST_JSON_OK);
    assert_true(t.u64 == 2);
    st_json_free(j);
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

/* ---- allocation failures -----------------------------------------------------------------
 *
 * Linked with --wrap for malloc, calloc and realloc (tests/CMakeLists.txt): once armed, the
 * k-th allocation fails. A failure is an error (NULL scanner or ST_JSON_E_NOMEM), never a
 * silent pass; a failure of the radix pass's scratch memory is no error at all: the object is
 * then sorted whole by the comparison sort, and must give the same answer. */
#include "fault_alloc.h"

/* Scans doc with the k-th allocation failing. Returns the final error, or -1 when the scanner
 * could not be made; *hit says whether an allocation failed. */
static int fi_run(const char *doc, long k, int *hit)
{
    fa_hit = 0;
    fa_countdown = k;
    st_json *j = st_json_new((const unsigned char *)doc, strlen(doc), 8);
    int e = -1;
    if (j != NULL) {
        st_json_tok t;
        while ((e = st_json_next(j, &t)) == ST_JSON_OK && t.type != ST_JT_END)
            ;
    }
    fa_countdown = -1;
    st_json_free(j);
    *hit = fa_hit;
    return e;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    /* a large object (sorted at its close) with escaped keys and an escaped string value;
     * the second document repeats a key whose hash differs from its neighbours' */
    static const char ok[] = "{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,"
                             "\"k7\":7,\"k\\u0038\":\"v\\n\",\"k9\":[9],\"k10\":{\"x\":1}}";
    static const char dup[] = "{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,"
                              "\"k7\":7,\"k\\u0038\":\"v\\n\",\"k9\":[9],\"k\\u0035\":5}";
    static const struct {
        const char *doc;
        int clean; /* the answer with no failure */
    } docs[] = {{ok, ST_JSON_OK}, {dup, ST_JSON_E_DUPKEY}};
    for (size_t d = 0; d < 2; d++) {
        int fallback = 0, nomem = 0, hit;
        long k;
        for (k = 0; k < 1000; k++) {
            int e = fi_run(docs[d].doc, k, &hit);
            if (!hit) {
                assert_int_equal(e, docs[d].clean);
                break;
            }
            if (e == docs[d].clean)
                fallback++; /* the radix scratch failed: sorted whole, same answer */
            else if (e == -1 || e == ST_JSON_E_NOMEM)
                nomem++;
            else
                fail_msg("document %zu, allocation %ld failed: error %d", d, k, e);
        }
        assert_true(k < 1000);
        assert_int_equal(fallback, 1); /* exactly one allocation is the radix scratch */
        assert_true(nomem >= 4);       /* scanner, frames, keys, arena, scratch */
    }
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
        cmocka_unit_test(test_equal_hash_runs_are_sorted),
        cmocka_unit_test(test_grammar_edges),
        cmocka_unit_test(test_scanner_api),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_whitespace_and_skip),
        cmocka_unit_test(test_depth_no_recursion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
