/*
 * test_escape.c - the escaping functions of each output kind (src/core/escape.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/escape.h"
#include "stcheck.h"

/* Hostile inputs: controls, ESC sequences, CR/LF, invalid UTF-8, noncharacters, separators,
 * bidi, tags, metacharacters of XML, JSON and SARIF. */
static const char *const hostile[] = {
    "plain.safetensors",
    "a\nFORGED: PASS\r\x1b[2K\x07",
    "\x01\x1f\x7f\xc2\x80\xc2\x9f\xc2\x85",
    "\xff\xfe\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xe2\x82",
    "\xef\xbf\xbe\xef\xbf\xbf\xef\xb7\x90\xf0\x9f\xbf\xbf\xf4\x8f\xbf\xbe",
    "\xe2\x80\xa8\xe2\x80\xa9\xe2\x80\xae\xe2\x81\xa6\xd8\x9c\xf3\xa0\x80\x81\xef\xbf\xb9",
    "<a b=\"c\">&amp;'</a>]]>",
    "\"\\u0000\\\"}{",
    "[text](https://evil.example) {0} \\[x\\](1)",
    "\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80",
};

static char *escaped(const char *s)
{
    char *e = st_escape_dup(s);
    assert_non_null(e);
    return e;
}

static void test_unsafe_characters(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"\xef\xbf\xbe", "\\xef\\xbf\\xbe"},              /* U+FFFE: not XML */
        {"\xef\xbf\xbf", "\\xef\\xbf\\xbf"},              /* U+FFFF */
        {"\xef\xb7\x90", "\\xef\\xb7\\x90"},              /* U+FDD0 */
        {"\xf0\x9f\xbf\xbe", "\\xf0\\x9f\\xbf\\xbe"},     /* U+1FFFE */
        {"\xe2\x80\xa8", "\\xe2\\x80\\xa8"},              /* line separator */
        {"\xe2\x80\xa9", "\\xe2\\x80\\xa9"},              /* paragraph separator */
        {"\xf3\xa0\x80\x81", "\\xf3\\xa0\\x80\\x81"},     /* tag character */
        {"\xc2\x85", "\\xc2\\x85"},                       /* NEL (C1) */
        {"\x1b[31m", "\\x1b[31m"},                        /* ESC */
        {"\xc3\xa9\xef\xbf\xbd", "\xc3\xa9\xef\xbf\xbd"}, /* é, U+FFFD: kept */
        {"\xf4\x8f\xbf\xbd", "\xf4\x8f\xbf\xbd"},         /* U+10FFFD: kept */
        {"\xe2\x82", "\\xe2\\x82"},                       /* truncated */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *e = escaped(cases[i].in);
        assert_string_equal(e, cases[i].want);
        free(e);
    }
}

/* Writers escape again what the report escaped: that must change nothing. */
static void test_idempotent(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        char *once = escaped(hostile[i]), *twice = escaped(once);
        assert_string_equal(once, twice);
        for (const unsigned char *p = (const unsigned char *)once; *p; p++)
            assert_true(*p >= 0x20 && *p != 0x7f);
        free(once);
        free(twice);
    }
}

/* A buffer too small for "..." gets what fits and its NUL, and nothing past it. */
static void test_small_buffers(void **state)
{
    (void)state;
    for (size_t size = 1; size <= 12; size++) {
        char buf[32];
        memset(buf, 'Z', sizeof(buf));
        st_escape("\x1b\x1b\x1b\x1b\x1b", 5, buf, size, size);
        assert_true(strlen(buf) < size);
        for (size_t k = size; k < sizeof(buf); k++)
            assert_int_equal(buf[k], 'Z');
        memset(buf, 'Z', sizeof(buf));
        assert_true(strlen(st_escape_display("a\nb\xff long name", buf, size)) < size);
        for (size_t k = size; k < sizeof(buf); k++)
            assert_int_equal(buf[k], 'Z');
    }
    char buf[16];
    assert_string_equal(st_escape_display("abcdefghijklmnopqrstuvwxyz", buf, sizeof(buf)),
                        "abcdefghijkl...");
}

static void test_sarif(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int flags;
        const char *want;
    } cases[] = {
        {"[text](https://e.x) {0}", 0, "\\[text\\](https://e.x) {{0}}"},
        {"a\\[b\\](1)", 0, "a\\\\\\[b\\\\\\](1)"},
        {"x\n\x1b", 0, "x\\\\x0a\\\\x1b"},
        {"## T\n\n`{x}` [l](u) \\xff", ST_SARIF_LINES | ST_SARIF_MARKDOWN,
         "## T\n\n`{{x}}` [l](u) \\xff"},
        {"a\nb [c]\x1b\n", ST_SARIF_LINES, "a\nb \\[c\\]\\\\x1b\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *e = st_escape_sarif(cases[i].in, cases[i].flags);
        assert_non_null(e);
        assert_string_equal(e, cases[i].want);
        free(e);
    }
}

static char *written(int (*put)(FILE *, const char *), const char *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(put(f, s), 0);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void test_text_and_xml(void **state)
{
    (void)state;
    char *t = written(st_put_text, "a\nFORGED\r\x1b]0;x\x07\xef\xbf\xbe");
    assert_string_equal(t, "a\\x0aFORGED\\x0d\\x1b]0;x\\x07\\xef\\xbf\\xbe");
    free(t);
    char *x = written(st_put_xml, "<&>\"'\xef\xbf\xbf\x01]]>");
    assert_string_equal(x, "&lt;&amp;&gt;&quot;&apos;\\xef\\xbf\\xbf\\x01]]&gt;");
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unsafe_characters), cmocka_unit_test(test_idempotent),
        cmocka_unit_test(test_small_buffers),     cmocka_unit_test(test_sarif),
        cmocka_unit_test(test_text_and_xml),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
