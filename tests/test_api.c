/*
 * test_api.c - the run-time version functions and st_doc_write_string (src/core/version.c,
 * src/report/docstr.c), which bindings/python uses in place of the header's macros and FILE *.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stcheck.h"

/* open_memstream fails on demand (tests/CMakeLists.txt links with --wrap=open_memstream). */
FILE *__real_open_memstream(char **buf, size_t *len);
FILE *__wrap_open_memstream(char **buf, size_t *len);
static int memstream_fails;

FILE *__wrap_open_memstream(char **buf, size_t *len)
{
    return memstream_fails ? NULL : __real_open_memstream(buf, len);
}

/* cJSON's allocations fail on demand: the JSON writer's own failure path. */
static int cjson_fails;
static void *failing_malloc(size_t n)
{
    return cjson_fails ? NULL : malloc(n);
}

static void test_versions(void **state)
{
    (void)state;
    assert_string_equal(st_version(), ST_VERSION_STRING);
    assert_int_equal(st_api_version(), ST_API_VERSION);
    assert_int_equal(st_api_version(), 1);
    st_free(NULL);
    st_free(malloc(8));
}

static st_report *small_report(st_ctx *ctx)
{
    static const char pickle[] = "\x80\x02]q\x00.";
    return st_check_buffer(ctx, pickle, sizeof(pickle) - 1, "list.pkl");
}

static void test_doc_string(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    st_report *r = small_report(ctx);
    assert_int_equal(st_report_verdict(r), ST_VERDICT_PASS);
    st_doc *d = st_doc_new(ST_DOC_JSON);
    assert_int_equal(st_doc_add(d, r), 0);
    char *s = st_doc_write_string(d);
    assert_non_null(s);
    assert_non_null(strstr(s, "\"list.pkl\""));
    assert_int_equal(s[strlen(s) - 1], '\n');
    st_free(s);
    st_doc_free(d);

    d = st_doc_new(ST_DOC_SARIF);
    assert_int_equal(st_doc_add(d, r), 0);
    s = st_doc_write_string(d);
    assert_non_null(strstr(s, "\"2.1.0\""));
    assert_non_null(strstr(s, "\"runs\""));
    st_free(s);
    st_doc_free(d);
    st_report_free(r);
    st_ctx_free(ctx);
    assert_null(st_doc_write_string(NULL));
}

static void test_doc_string_failures(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    st_report *r = small_report(ctx);
    st_doc *d = st_doc_new(ST_DOC_JSON);
    assert_int_equal(st_doc_add(d, r), 0);
    memstream_fails = 1;
    assert_null(st_doc_write_string(d));
    memstream_fails = 0;
    /* the writer fails (cJSON out of memory): no partial document is returned */
    cJSON_Hooks hooks = {failing_malloc, free};
    cJSON_InitHooks(&hooks);
    cjson_fails = 1;
    assert_null(st_doc_write_string(d));
    cjson_fails = 0;
    cJSON_InitHooks(NULL);
    st_doc_free(d);
    st_report_free(r);
    st_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_doc_string),
        cmocka_unit_test(test_doc_string_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
