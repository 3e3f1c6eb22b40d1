/*
 * test_report.c - escaping of hostile text, the text, JSON, SARIF and JUnit report formats, the
 * rules table and its documentation.
 */
#include "test_util.h"

#include <cjson/cJSON.h>
#include <dirent.h>

#include "core/escape.h"

#define T_U8_1 "{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}"

static void test_escape(void **state)
{
    (void)state;
    char out[64];
    assert_string_equal(st_escape("abc", 3, out, sizeof(out), 60), "abc");
    assert_string_equal(st_escape("a\nb", 3, out, sizeof(out), 60), "a\\x0ab");
    assert_string_equal(st_escape("\xc3\xa9", 2, out, sizeof(out), 60), "\xc3\xa9");
    assert_string_equal(st_escape("\xff", 1, out, sizeof(out), 60), "\\xff");
    assert_string_equal(st_escape("\xe2\x80\xae", 3, out, sizeof(out), 60), "\\xe2\\x80\\xae");
    assert_string_equal(st_escape("\x1b[31m", 5, out, sizeof(out), 60), "\\x1b[31m");
    assert_string_equal(st_escape("abcdefghij", 10, out, sizeof(out), 5), "abcde...");
    assert_string_equal(st_escape("abc", 3, out, 4, 60), "...");
}

/* Text: one exact line per finding, then the verdict line; names are escaped. */
static void test_text_format(void **state)
{
    st_ctx *ctx = *state;
    size_t len;
    const char *hdr = "{\"\":" T_U8_1 "}";
    unsigned char *b = tu_frame(hdr, strlen(hdr), 1, 1, &len);
    st_report *r = st_check_buffer(ctx, b, len, "dir/evil\nname.safetensors");
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    assert_non_null(f);
    assert_int_equal(st_write_text(f, r), 0);
    fclose(f);
    assert_string_equal(text,
                        "dir/evil\\x0aname.safetensors: warning ST132: tensor name is empty "
                        "[at offset 9, length 2]\n"
                        "dir/evil\\x0aname.safetensors: PASS (safetensors: 0 errors, 1 warning, "
                        "0 info)\n");
    free(text);
    st_report_free(r);
    free(b);
}

/* JSON: a valid document with every documented field. */
/* A document of the given format over two reports, as text (free it). */
static char *doc_text(st_doc_format fmt, const st_report *r1, const st_report *r2)
{
    st_doc *d = st_doc_new(fmt);
    assert_non_null(d);
    assert_int_equal(st_doc_add(d, r1), 0);
    assert_int_equal(st_doc_add(d, r2), 0);
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    assert_int_equal(st_doc_write(d, f), 0);
    fclose(f);
    st_doc_free(d);
    return text;
}

/* SARIF: every rule in tool.driver, a result per finding with line 1 as its primary region and
 * the byte range in a related location and properties; the unreadable file is a notification. */
static void test_sarif_document(void **state)
{
    st_ctx *ctx = *state;
    size_t len;
    const char *hdr = "{\"a\":" T_U8_1 ",\"a\":" T_U8_1 "}";
    unsigned char *b = tu_frame(hdr, strlen(hdr), 1, 1, &len);
    st_report *r1 = st_check_buffer(ctx, b, len, "dir/x y.safetensors");
    st_report *r2 = st_check_buffer(ctx, "junk", 4, "/nowhere/junk.bin");
    char *text = doc_text(ST_DOC_SARIF, r1, r2);
    cJSON *doc = cJSON_Parse(text);
    assert_non_null(doc);
    assert_string_equal(cJSON_GetObjectItem(doc, "version")->valuestring, "2.1.0");
    cJSON *run = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "runs"), 0);
    cJSON *driver = cJSON_GetObjectItem(cJSON_GetObjectItem(run, "tool"), "driver");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(driver, "rules")),
                     (int)st_rule_count());
    cJSON *res = cJSON_GetArrayItem(cJSON_GetObjectItem(run, "results"), 0);
    assert_string_equal(cJSON_GetObjectItem(res, "ruleId")->valuestring, "ST114");
    assert_string_equal(cJSON_GetObjectItem(res, "level")->valuestring, "error");
    cJSON *rule = cJSON_GetArrayItem(cJSON_GetObjectItem(driver, "rules"),
                                     cJSON_GetObjectItem(res, "ruleIndex")->valueint);
    assert_string_equal(cJSON_GetObjectItem(rule, "id")->valuestring, "ST114");
    cJSON *phys = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(res, "locations"), 0),
                                      "physicalLocation");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(phys, "artifactLocation"), "uri")->valuestring,
        "dir/x%20y.safetensors");
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(phys, "region"), "startLine")->valueint, 1);
    cJSON *rel = cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(res, "relatedLocations"), 0),
                            "physicalLocation"),
        "region");
    const st_finding *f0 = st_report_finding(r1, 0);
    assert_int_equal(cJSON_GetObjectItem(rel, "byteOffset")->valuedouble, (double)f0->offset);
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(res, "properties"), "byteLength")->valuedouble,
        (double)f0->length);
    assert_non_null(cJSON_GetObjectItem(res, "partialFingerprints"));
    cJSON *inv = cJSON_GetArrayItem(cJSON_GetObjectItem(run, "invocations"), 0);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(inv, "executionSuccessful")));
    cJSON *note = cJSON_GetArrayItem(cJSON_GetObjectItem(inv, "toolExecutionNotifications"), 0);
    cJSON *nphys = cJSON_GetObjectItem(
        cJSON_GetArrayItem(cJSON_GetObjectItem(note, "locations"), 0), "physicalLocation");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(nphys, "artifactLocation"), "uri")->valuestring,
        "file:///nowhere/junk.bin");
    cJSON_Delete(doc);
    free(text);
    st_report_free(r1);
    st_report_free(r2);
    free(b);
}

/* JUnit: one test case per file and id (duplicates merged), failures and errors counted. */
static void test_junit_document(void **state)
{
    st_ctx *ctx = *state;
    size_t len;
    const char *hdr = "{\"a\":" T_U8_1 ",\"a\":" T_U8_1 ",\"b\":" T_U8_1 ",\"b\":" T_U8_1 "}";
    unsigned char *b = tu_frame(hdr, strlen(hdr), 1, 1, &len);
    st_report *r1 = st_check_buffer(ctx, b, len, "a&b<c>.safetensors");
    st_report *r2 = st_check_buffer(ctx, "junk", 4, "junk.bin");
    char *text = doc_text(ST_DOC_JUNIT, r1, r2);
    assert_non_null(strstr(text, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    assert_non_null(strstr(text, "classname=\"a&amp;b&lt;c&gt;.safetensors\" name=\"ST114 "));
    /* two ST114 findings, one test case */
    const char *first = strstr(text, "name=\"ST114 ");
    assert_null(strstr(first + 1, "name=\"ST114 "));
    assert_non_null(strstr(text, "classname=\"junk.bin\" name=\"ST903 "));
    assert_non_null(strstr(text, "<error type="));
    assert_non_null(strstr(text, "<testsuites name=\"stcheck\" tests=\""));
    assert_non_null(strstr(text, "failures=\"1\" errors=\"1\""));
    free(text);
    st_report_free(r1);
    st_report_free(r2);
    free(b);
}

static void test_json_format(void **state)
{
    st_ctx *ctx = *state;
    size_t len;
    const char *hdr = "{\"a\":" T_U8_1 ",\"a\":" T_U8_1 "}";
    unsigned char *b = tu_frame(hdr, strlen(hdr), 1, 1, &len);
    st_report *r1 = st_check_buffer(ctx, b, len, "x\xff.safetensors");
    st_report *r2 = st_check_buffer(ctx, "junk", 4, "junk.bin");
    char *text = doc_text(ST_DOC_JSON, r1, r2);
    cJSON *doc = cJSON_Parse(text);
    assert_non_null(doc);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(doc, "schema_version")->valueint, 1);
    cJSON *files = cJSON_GetObjectItemCaseSensitive(doc, "files");
    assert_int_equal(cJSON_GetArraySize(files), 2);
    cJSON *f0 = cJSON_GetArrayItem(files, 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(f0, "path")->valuestring,
                        "x\\xff.safetensors");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(f0, "verdict")->valuestring, "fail");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(f0, "format")->valuestring, "safetensors");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(f0, "header_length")->valueint,
                     (int)(len - 9));
    cJSON *fd = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(f0, "findings"), 0);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(fd, "id")->valuestring, "ST114");
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(fd, "severity")->valuestring, "error");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(fd, "offset"));
    assert_non_null(cJSON_GetObjectItemCaseSensitive(fd, "length"));
    cJSON *f1 = cJSON_GetArrayItem(files, 1);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(f1, "verdict")->valuestring,
                        "could not check");
    cJSON *sum = cJSON_GetObjectItemCaseSensitive(doc, "summary");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(sum, "failed")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(sum, "could_not_check")->valueint, 1);
    cJSON_Delete(doc);
    free(text);
    st_report_free(r1);
    st_report_free(r2);
    free(b);
}

/* Ids are unique, well-formed, and each one is documented in docs/rules.md. */
static void test_rules_documented(void **state)
{
    (void)state;
    FILE *f = fopen(ST_RULES_DOC, "r");
    assert_non_null(f);
    static char doc[1 << 20];
    size_t n = fread(doc, 1, sizeof(doc) - 1, f);
    fclose(f);
    doc[n] = '\0';
    assert_true(st_rule_count() > 30);
    for (size_t i = 0; i < st_rule_count(); i++) {
        const st_rule *r = st_rule_at(i);
        assert_int_equal(strlen(r->id), 5);
        assert_memory_equal(r->id, "ST", 2);
        assert_ptr_equal(st_rule_find(r->id), r);
        char heading[32];
        snprintf(heading, sizeof(heading), "## %s ", r->id);
        if (strstr(doc, heading) == NULL)
            fail_msg("docs/rules.md has no section \"%s\"", heading);
    }
    assert_null(st_rule_find("ST000"));
    assert_null(st_rule_at(st_rule_count()));
}

static void test_limits_api(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    assert_true(st_ctx_get_limit(ctx, ST_LIMIT_HEADER_BYTES) == 100000000u);
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_COUNT_, 1), ST_E_INVAL);
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_JSON_DEPTH, 0), ST_E_INVAL);
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_TENSORS, 1), ST_OK);
    st_report *r = tu_check(ctx, "{\"a\":" T_U8_1 ",\"b\":" T_U8_1 "}", 1);
    tu_assert_ids(r, "ST901");
    assert_int_equal(st_report_verdict(r), ST_VERDICT_ERROR);
    st_report_free(r);
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_RANK, 2), ST_OK);
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_TENSORS, 10), ST_OK);
    r = tu_check(ctx, "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1],\"data_offsets\":[0,1]}}", 1);
    tu_assert_ids(r, "ST901");
    st_report_free(r);
    st_ctx_free(ctx);
}

/* Every message of every finding on every corpus file is printable: input-derived text (names,
 * members, keys) is always escaped. (Regression: a zip member name reached an .npy message raw;
 * found by fuzz_pipeline, corpus/zip/crash-npy-member-name-unescaped.zip.) */
static void test_messages_printable(void **state)
{
    static const char *const dirs[] = {"safetensors", "pickle", "pytorch",
                                       "zip",         "numpy",  "legacy"};
    size_t files = 0;
    for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
        char dir[512];
        snprintf(dir, sizeof(dir), "%s/%s", ST_CORPUS_DIR, dirs[d]);
        DIR *dh = opendir(dir);
        assert_non_null(dh);
        struct dirent *e;
        while ((e = readdir(dh)) != NULL) {
            char path[1024];
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            st_report *r = st_check_path(*state, path);
            assert_non_null(r);
            for (size_t i = 0; i < st_report_finding_count(r); i++)
                for (const unsigned char *m =
                         (const unsigned char *)st_report_finding(r, i)->message;
                     *m; m++)
                    if (*m < 0x20 || *m == 0x7f)
                        fail_msg("%s: control byte in: %s", path, st_report_finding(r, i)->id);
            st_report_free(r);
            files++;
        }
        closedir(dh);
    }
    assert_true(files > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),         cmocka_unit_test(test_text_format),
        cmocka_unit_test(test_json_format),    cmocka_unit_test(test_rules_documented),
        cmocka_unit_test(test_limits_api),     cmocka_unit_test(test_messages_printable),
        cmocka_unit_test(test_sarif_document), cmocka_unit_test(test_junit_document),
    };
    return cmocka_run_group_tests(tests, tu_ctx_setup, tu_ctx_teardown);
}
