/*
 * test_report.c - escaping of hostile text, the text and JSON report formats, the rules table
 * and its documentation.
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
static void test_json_format(void **state)
{
    st_ctx *ctx = *state;
    size_t len;
    const char *hdr = "{\"a\":" T_U8_1 ",\"a\":" T_U8_1 "}";
    unsigned char *b = tu_frame(hdr, strlen(hdr), 1, 1, &len);
    st_report *r1 = st_check_buffer(ctx, b, len, "x\xff.safetensors");
    st_report *r2 = st_check_buffer(ctx, "junk", 4, "junk.bin");
    st_json_out *j = st_json_out_new();
    assert_int_equal(st_json_out_add(j, r1), 0);
    assert_int_equal(st_json_out_add(j, r2), 0);
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    assert_int_equal(st_json_out_write(j, f), 0);
    fclose(f);
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
    st_json_out_free(j);
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
        cmocka_unit_test(test_escape),      cmocka_unit_test(test_text_format),
        cmocka_unit_test(test_json_format), cmocka_unit_test(test_rules_documented),
        cmocka_unit_test(test_limits_api),  cmocka_unit_test(test_messages_printable),
    };
    return cmocka_run_group_tests(tests, tu_ctx_setup, tu_ctx_teardown);
}
