/*
 * test_core.c - src/core directly: checked arithmetic, the context and its limits, the rule
 * table, SHA-256, escaping and UTF-8, the report (findings, imports, calls, kind, verdict), the
 * manifest parser and lookup, and positional reads from each kind of source. Each case asserts
 * the exact result, so removing a check fails a test.
 */
#include "read_whole.h"
#include "test_util.h"

#include <fcntl.h>
#include <unistd.h>

#include "core/checked.h"
#include "core/ctx.h"
#include "core/digest.h"
#include "core/escape.h"
#include "core/manifest.h"
#include "core/report.h"
#include "core/rules.h"
#include "core/source.h"

static void test_checked(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(st_add_u64(1, 2, &v), 0);
    assert_true(v == 3);
    assert_int_equal(st_add_u64(UINT64_MAX, 1, &v), 1);
    assert_int_equal(st_mul_u64(3, 5, &v), 0);
    assert_true(v == 15);
    assert_int_equal(st_mul_u64(UINT64_MAX / 2 + 1, 2, &v), 1);
    const unsigned char le[8] = {1, 2, 3, 4, 5, 6, 7, 0x80};
    assert_true(st_le64(le) == 0x8007060504030201ull);

    int *a = NULL;
    size_t cap = 0;
    assert_int_equal(st_grow(&a, &cap, 0, sizeof(int), 4), 0); /* first allocation */
    assert_int_equal(cap, 4);
    assert_int_equal(st_grow(&a, &cap, 3, sizeof(int), 4), 0); /* room left: unchanged */
    assert_int_equal(cap, 4);
    assert_int_equal(st_grow(&a, &cap, 4, sizeof(int), 4), 0); /* full: doubled */
    assert_int_equal(cap, 8);
    size_t huge = SIZE_MAX / 2 + 1; /* doubling the capacity overflows */
    assert_int_equal(st_grow(&a, &huge, huge, sizeof(int), 4), -1);
    size_t big = SIZE_MAX / 4; /* the byte count overflows */
    assert_int_equal(st_grow(&a, &big, big, sizeof(int), 4), -1);
    size_t none = 0; /* first capacity times the element size overflows */
    assert_int_equal(st_grow(&a, &none, 0, SIZE_MAX / 2, 4), -1);
    assert_int_equal(cap, 8);
    free(a);
}

static void test_ctx_limits_and_lists(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    assert_non_null(ctx);
    assert_true(st_ctx_get_limit(ctx, ST_LIMIT_JSON_DEPTH) == 64);
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_JSON_DEPTH, 1024), ST_OK);
    assert_true(st_ctx_get_limit(ctx, ST_LIMIT_JSON_DEPTH) == 1024);
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_JSON_DEPTH, 1025), ST_E_INVAL); /* hard max */
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_JSON_DEPTH, 0), ST_E_INVAL);
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_COUNT_, 1), ST_E_INVAL);
    assert_int_equal(st_ctx_set_limit(NULL, ST_LIMIT_JSON_DEPTH, 1), ST_E_INVAL);
    assert_true(st_ctx_get_limit(ctx, ST_LIMIT_JSON_DEPTH) == 1024);
    assert_true(st_ctx_get_limit(ctx, ST_LIMIT_COUNT_) == 0);
    assert_true(st_ctx_get_limit(NULL, ST_LIMIT_JSON_DEPTH) == 0);

    assert_int_equal(ctx->fail_on, ST_SEV_ERROR);
    st_ctx_set_strict(ctx, 0);
    assert_int_equal(ctx->fail_on, ST_SEV_ERROR);
    st_ctx_set_strict(NULL, 1);
    st_ctx_set_strict(ctx, 1);
    assert_int_equal(ctx->fail_on, ST_SEV_WARNING);
    assert_int_equal(st_ctx_set_fail_on(ctx, "info"), ST_OK);
    st_ctx_set_strict(ctx, 1); /* already stricter than warning: kept */
    assert_int_equal(ctx->fail_on, ST_SEV_INFO);
    assert_int_equal(st_ctx_set_fail_on(ctx, "none"), ST_OK);
    assert_int_equal(ctx->fail_on, ST_FAIL_NONE);
    assert_int_equal(st_ctx_set_fail_on(ctx, "error"), ST_OK);
    assert_int_equal(ctx->fail_on, ST_SEV_ERROR);
    assert_int_equal(st_ctx_set_fail_on(ctx, "off"), ST_E_INVAL); /* not a threshold */
    assert_int_equal(st_ctx_set_fail_on(ctx, "fatal"), ST_E_INVAL);
    assert_int_equal(st_ctx_set_fail_on(ctx, NULL), ST_E_INVAL);
    assert_int_equal(st_ctx_set_fail_on(NULL, "error"), ST_E_INVAL);
    assert_int_equal(ctx->fail_on, ST_SEV_ERROR);

    /* formats: deny wins, an empty allow list allows all, else only what it names */
    assert_true(st_ctx_format_allowed(ctx, "pickle"));
    assert_int_equal(st_strlist_add(&ctx->formats_deny, "numpy"), 0);
    assert_false(st_ctx_format_allowed(ctx, "numpy"));
    assert_true(st_ctx_format_allowed(ctx, "pickle"));
    assert_int_equal(st_strlist_add(&ctx->formats_allow, "safetensors"), 0);
    assert_int_equal(st_strlist_add(&ctx->formats_allow, "gguf"), 0);
    assert_true(st_ctx_format_allowed(ctx, "gguf"));
    assert_false(st_ctx_format_allowed(ctx, "pickle"));
    assert_false(st_ctx_format_allowed(ctx, "numpy"));

    /* a clone is deep: freeing the original leaves it intact */
    st_ctx *c = st_ctx_clone(ctx);
    assert_non_null(c);
    assert_ptr_not_equal(c->formats_allow.v, ctx->formats_allow.v);
    st_ctx_free(ctx);
    assert_int_equal(c->formats_allow.n, 2);
    assert_string_equal(c->formats_allow.v[1], "gguf");
    assert_string_equal(c->formats_deny.v[0], "numpy");
    assert_true(st_ctx_get_limit(c, ST_LIMIT_JSON_DEPTH) == 1024);
    st_strlist_clear(&c->formats_allow);
    assert_null(c->formats_allow.v);
    assert_int_equal(c->formats_allow.n, 0);
    st_ctx_free(c);
    st_ctx_free(NULL);

    /* switches */
    ctx = st_ctx_new();
    st_ctx_set_digest(NULL, 1);
    st_ctx_set_deep(NULL, 1);
    st_ctx_set_deep(ctx, 5);
    assert_int_equal(ctx->deep, 1);
    st_ctx_set_deep(ctx, 0);
    assert_int_equal(ctx->deep, 0);
    st_ctx_set_digest(ctx, 2);
    assert_int_equal(ctx->digest, 1);
    st_ctx_set_digest(ctx, 0);
    assert_int_equal(ctx->digest, 0);
    ctx->expect = 1; /* a manifest needs digests: they cannot be turned off */
    st_ctx_set_digest(ctx, 0);
    assert_int_equal(ctx->digest, 1);
    st_ctx_free(ctx);
}

static void test_rules_table(void **state)
{
    (void)state;
    assert_int_equal(st_rule_count(), ST_R_COUNT_);
    assert_ptr_equal(st_rule_at(0), st_rules_get((st_rule_id)0));
    assert_null(st_rule_at(ST_R_COUNT_));
    assert_null(st_rules_get(ST_R_COUNT_));
    const st_rule *t = st_rules_get(ST_R_FINDINGS_TRUNCATED);
    assert_string_equal(t->id, "ST905");
    assert_ptr_equal(st_rule_find("ST905"), t);
    assert_null(st_rule_find("ST000"));
    assert_null(st_rule_find(NULL));

    assert_string_equal(st_severity_name(ST_SEV_ERROR), "error");
    assert_string_equal(st_severity_name(ST_SEV_WARNING), "warning");
    assert_string_equal(st_severity_name(ST_SEV_INFO), "info");
    assert_string_equal(st_severity_name(ST_SEV_OFF), "off");
    assert_string_equal(st_severity_name((st_severity)9), "unknown");
    assert_string_equal(st_verdict_name(ST_VERDICT_PASS), "pass");
    assert_string_equal(st_verdict_name(ST_VERDICT_FAIL), "fail");
    assert_string_equal(st_verdict_name(ST_VERDICT_ERROR), "could not check");
    assert_string_equal(st_verdict_name((st_verdict)9), "unknown");
    static const char *const errs[] = {"ok",
                                       "i/o error",
                                       "out of memory",
                                       "limit reached",
                                       "unsupported format",
                                       "not a regular file",
                                       "invalid argument"};
    for (int e = ST_OK; e <= ST_E_INVAL; e++)
        assert_string_equal(st_error_name((st_error)e), errs[e]);
    assert_string_equal(st_error_name((st_error)99), "unknown error");

    /* explain: a section ends at the next heading, or at the end of the document */
    assert_null(st_rule_explain("ST000"));
    assert_null(st_rule_explain(NULL));
    char *s = st_rule_explain("ST906");
    assert_non_null(s);
    assert_true(strncmp(s, "## ST906 ", 9) == 0);
    assert_null(strstr(s, "\n## "));
    assert_int_equal(s[strlen(s) - 1], '\n');
    free(s);
    /* the last section of docs/rules.md runs to the end of the document */
    size_t n;
    char *doc = (char *)rw_read_file(ST_RULES_DOC, &n);
    assert_non_null(doc);
    char *last = NULL;
    for (char *p = strstr(doc, "\n## ST"); p != NULL; p = strstr(p + 1, "\n## ST"))
        last = p + 1;
    assert_non_null(last);
    char id[8];
    memcpy(id, last + 3, 5);
    id[5] = '\0';
    s = st_rule_explain(id);
    assert_non_null(s);
    assert_string_equal(s, last);
    free(s);
    free(doc);
}

static void test_sha256(void **state)
{
    (void)state;
    char hex[65];
    st_sha256 *d = st_sha256_new();
    assert_non_null(d);
    assert_int_equal(st_sha256_update(d, "a", 1), 0);
    assert_int_equal(st_sha256_update(d, "bc", 2), 0);
    assert_int_equal(st_sha256_final(d, hex), 0);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    st_sha256_free(d);
    st_sha256_free(NULL);
}

static void test_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        size_t avail, len;
    } seq[] = {
        {"A", 1, 1},
        {"\xc2\x80", 2, 2},
        {"\xdf\xbf", 2, 2},
        {"\xc1\xbf", 2, 0},         /* overlong lead */
        {"\xc2\x41", 2, 0},         /* second byte below 80 */
        {"\xc2\xc0", 2, 0},         /* second byte above BF */
        {"\xc2", 1, 0},             /* truncated */
        {"\xe0\xa0\x80", 3, 3},     /* smallest three-byte */
        {"\xe0\x9f\xbf", 3, 0},     /* overlong */
        {"\xed\x9f\xbf", 3, 3},     /* below the surrogates */
        {"\xed\xa0\x80", 3, 0},     /* a surrogate */
        {"\xe1\x80\x80", 3, 3},     /* E1: the full second-byte range */
        {"\xef\xbf\xbf", 3, 3},     /* EF */
        {"\xe1\x80\x41", 3, 0},     /* third byte below 80 */
        {"\xe1\x80\xc0", 3, 0},     /* third byte above BF */
        {"\xe1\x80", 2, 0},         /* truncated */
        {"\xf0\x90\x80\x80", 4, 4}, /* smallest four-byte */
        {"\xf0\x8f\xbf\xbf", 4, 0}, /* overlong */
        {"\xf4\x8f\xbf\xbf", 4, 4}, /* U+10FFFF */
        {"\xf4\x90\x80\x80", 4, 0}, /* above U+10FFFF */
        {"\xf1\x80\x80\x80", 4, 4}, /* F1 */
        {"\xf1\x80\x80\x7f", 4, 0}, /* fourth byte */
        {"\xf5\x80\x80\x80", 4, 0}, /* F5 never starts */
        {"\x80", 1, 0},             /* a continuation byte */
        {"\xff", 1, 0},
    };
    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
        if (st_utf8_seq_len((const unsigned char *)seq[i].s, seq[i].avail) != seq[i].len)
            fail_msg("case %zu: expected length %zu", i, seq[i].len);

    static const unsigned long cps[] = {0x41, 0x7FF, 0x800, 0xFFFF, 0x10000, 0x10FFFF};
    static const size_t lens[] = {1, 2, 3, 3, 4, 4};
    for (size_t i = 0; i < 6; i++) {
        unsigned char b[4];
        size_t n = st_utf8_encode(b, cps[i]);
        assert_int_equal(n, lens[i]);
        assert_int_equal(st_utf8_seq_len(b, n), n);
        assert_true(st_utf8_decode(b, n) == cps[i]);
    }

    assert_int_equal(st_hex_digit('0'), 0);
    assert_int_equal(st_hex_digit('9'), 9);
    assert_int_equal(st_hex_digit('a'), 10);
    assert_int_equal(st_hex_digit('f'), 15);
    assert_int_equal(st_hex_digit('A'), 10);
    assert_int_equal(st_hex_digit('F'), 15);
    static const int not_hex[] = {'/', ':', '@', 'G', '`', 'g', 0};
    for (size_t i = 0; i < sizeof(not_hex) / sizeof(not_hex[0]); i++)
        assert_int_equal(st_hex_digit(not_hex[i]), -1);

    /* each clause of the unsafe set, and neighbours just outside it */
    static const unsigned long unsafe[] = {0x1F,    0x7F,   0x9F,   0xAD,   0x200B, 0x200F,
                                           0x202A,  0x202E, 0x2060, 0x206F, 0xFEFF, 0x061C,
                                           0x180E,  0x2028, 0x2029, 0xFFF9, 0xFFFB, 0xE0000,
                                           0xE007F, 0xFDD0, 0xFDEF, 0xFFFE, 0x1FFFF};
    static const unsigned long safe[] = {0x20,    0x7E,   0xA0,   0xAE,   0x200A, 0x2010, 0x2027,
                                         0x2030,  0x205F, 0x2070, 0xFEFE, 0xFFF8, 0xFFFC, 0xDFFFD,
                                         0xE0080, 0xFDCF, 0xFDF0, 0xFFFD, 0x10000};
    for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++)
        if (!st_is_unsafe_cp(unsafe[i]))
            fail_msg("U+%04lX should be unsafe", unsafe[i]);
    for (size_t i = 0; i < sizeof(safe) / sizeof(safe[0]); i++)
        if (st_is_unsafe_cp(safe[i]))
            fail_msg("U+%04lX should be kept", safe[i]);
}

static void test_escape_cuts(void **state)
{
    (void)state;
    char out[64];
    memset(out, 'z', sizeof(out));
    assert_ptr_equal(st_escape("abc", 3, out, 0, 10), out); /* nothing written */
    assert_int_equal(out[0], 'z');
    st_escape("abc", 3, out, 4, 10); /* room for the cut mark only */
    assert_string_equal(out, "...");
    st_escape("abc", 3, out, 3, 10); /* too small even for that: empty */
    assert_string_equal(out, "");
    st_escape("abcdefgh", 8, out, 8, 100); /* at most 4 characters, then "..." */
    assert_string_equal(out, "abcd...");
    st_escape("abcdefgh", 8, out, sizeof(out), 3); /* max_chars below the room */
    assert_string_equal(out, "abc...");
    st_escape("a\x01\xe2\x80\x8b\xc3\xa9", 7, out, sizeof(out), 100);
    assert_string_equal(out, "a\\x01\\xe2\\x80\\x8b\xc3\xa9"); /* U+200B escaped bytewise */
    st_escape("\xc3\xa9\xff", 3, out, sizeof(out), 100);
    assert_string_equal(out, "\xc3\xa9\\xff");
    st_escape("ab\xc3\xa9", 4, out, sizeof(out), 3); /* a sequence is never split */
    assert_string_equal(out, "ab...");

    char *e = st_escape_dup("x\ny");
    assert_string_equal(e, "x\\x0ay");
    free(e);

    /* SARIF: braces doubled, link characters escaped unless Markdown, lines kept on request */
    e = st_escape_sarif("{a}[b]\\c\nd", 0);
    assert_string_equal(e, "{{a}}\\[b\\]\\\\c\\\\x0ad");
    free(e);
    e = st_escape_sarif("{a}[b]\\c\nd\n", ST_SARIF_MARKDOWN | ST_SARIF_LINES);
    assert_string_equal(e, "{{a}}[b]\\c\nd\n");
    free(e);
    e = st_escape_sarif("\x01\n", ST_SARIF_LINES);
    assert_string_equal(e, "\\\\x01\n");
    free(e);
}

/* Reads back what a writer put into a temporary file. */
static void expect_file(FILE *f, const char *want)
{
    char buf[256];
    rewind(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    assert_string_equal(buf, want);
}

static void test_escape_writers(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(st_put_text(f, "a\x1b[2Kb"), 0);
    expect_file(f, "a\\x1b[2Kb");
    fclose(f);
    f = tmpfile();
    assert_non_null(f);
    assert_int_equal(st_put_xml(f, "<a b=\"c\">&'\x01"), 0);
    expect_file(f, "&lt;a b=&quot;c&quot;&gt;&amp;&apos;\\x01");
    fclose(f);
    /* write errors: a stream opened for reading refuses writes */
    f = fopen("/dev/null", "r");
    assert_non_null(f);
    assert_int_equal(st_put_text(f, "abc"), -1);
    assert_int_equal(st_put_xml(f, "abc"), -1);
    assert_int_equal(st_put_xml(f, "&"), -1);
    fclose(f);
}

static st_report *new_report(st_ctx *ctx, const char *name)
{
    st_report *r = st_report_new(ctx, name);
    assert_non_null(r);
    return r;
}

static void test_report_findings(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    st_report *r = new_report(ctx, NULL);
    assert_string_equal(st_report_path(r), "");
    assert_int_equal(st_report_verdict(r), ST_VERDICT_PASS);
    assert_int_equal(st_report_error(r), ST_OK);
    assert_int_equal(st_report_error(NULL), ST_E_INVAL);
    assert_int_equal(st_report_verdict(NULL), ST_VERDICT_ERROR);
    st_report_add(r, ST_R_COUNT_, 0, 0, "not a rule"); /* ignored */
    assert_int_equal(st_report_finding_count(r), 0);
    st_report_add(r, ST_R_FINDINGS_TRUNCATED, 1, 2, "info %d", 7); /* info: passes */
    assert_int_equal(st_report_verdict(r), ST_VERDICT_PASS);
    const st_finding *f = st_report_finding(r, 0);
    assert_string_equal(f->id, "ST905");
    assert_string_equal(f->message, "info 7");
    assert_true(f->offset == 1 && f->length == 2);
    assert_null(st_report_finding(r, 1));
    assert_int_equal(st_report_count_severity(r, ST_SEV_INFO), 1);
    assert_int_equal(st_report_count_severity(r, (st_severity)4), 0);
    r->fail_on = ST_SEV_INFO;
    assert_int_equal(st_report_verdict(r), ST_VERDICT_FAIL);
    r->fail_on = ST_SEV_OFF; /* "off" never counts as a failing severity on its own */
    assert_int_equal(st_report_verdict(r), ST_VERDICT_FAIL);
    r->fail_on = ST_FAIL_NONE;
    assert_int_equal(st_report_verdict(r), ST_VERDICT_PASS);
    st_report_fail(r, ST_E_LIMIT);
    st_report_fail(r, ST_E_IO); /* the first error wins */
    assert_int_equal(st_report_error(r), ST_E_LIMIT);
    assert_int_equal(st_report_verdict(r), ST_VERDICT_ERROR);
    st_report_free(r);
    st_report_free(NULL);

    /* the policy's severities apply; OFF drops the finding; without a map, the rule's own */
    ctx->sev[ST_R_FINDINGS_TRUNCATED] = ST_SEV_OFF;
    r = new_report(ctx, "x");
    st_report_add(r, ST_R_FINDINGS_TRUNCATED, 0, 0, "dropped");
    assert_int_equal(st_report_finding_count(r), 0);
    assert_int_equal(st_report_count_severity(r, ST_SEV_INFO), 0);
    r->sevmap = NULL;
    st_report_add(r, ST_R_FINDINGS_TRUNCATED, 0, 0, "kept");
    assert_int_equal(st_report_count_severity(r, ST_SEV_INFO), 1);
    st_report_free(r);
    ctx->sev[ST_R_FINDINGS_TRUNCATED] = ST_SEV_INFO;

    /* a bounded list: past max_findings one ST905 is listed, the counts stay exact */
    ctx->max_findings = 2;
    ctx->sev[ST_R_FINDINGS_TRUNCATED] = ST_SEV_WARNING; /* the listed ST905 keeps its own */
    r = new_report(ctx, "x");
    for (int i = 0; i < 40; i++)
        st_report_add(r, ST_R_FINDINGS_TRUNCATED, (uint64_t)i, 0, "n%d", i);
    assert_int_equal(st_report_finding_count(r), 3);
    assert_int_equal(st_report_count_severity(r, ST_SEV_WARNING), 40);
    assert_int_equal(st_report_count_severity(r, ST_SEV_INFO), 1);
    assert_string_equal(st_report_finding(r, 2)->message,
                        "further findings are counted but not listed");
    assert_int_equal(st_report_finding(r, 2)->severity, ST_SEV_INFO);
    st_report_free(r);
    st_ctx_free(ctx);
}

static void test_report_imports_calls_kind(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    st_report *r = new_report(ctx, "a\nb");
    assert_string_equal(st_report_path(r), "a\\x0ab");
    for (int i = 0; i < 40; i++) { /* past the first allocation of 16 */
        char name[16];
        snprintf(name, sizeof(name), "n%d", i);
        assert_int_equal(st_report_add_import(r, "mod", name, i ? "m" : NULL, "allowed", 5), i);
    }
    assert_int_equal(st_report_add_import_as(r, "copy_reg", "_reconstructor", "copyreg",
                                             "_reconstructor", NULL, "allowed", 9),
                     40);
    assert_int_equal(st_report_import_count(r), 41);
    const st_import *im = st_report_import(r, 0);
    assert_string_equal(im->module, "mod");
    assert_string_equal(im->member, "");
    assert_int_equal(im->count, 1);
    im = st_report_import(r, 40);
    assert_string_equal(im->written_module, "copyreg");
    assert_null(st_report_import(r, 41));

    for (int i = 0; i < ST_MAX_CALLS + 5; i++)
        st_report_add_call(r, "builtins.eval", "REDUCE", i ? NULL : "data.pkl", (uint64_t)i);
    assert_int_equal(st_report_call_count(r), ST_MAX_CALLS);
    assert_true(st_report_call_total(r) == ST_MAX_CALLS + 5);
    assert_string_equal(st_report_call(r, 0)->member, "data.pkl");
    assert_string_equal(st_report_call(r, 1)->member, "");
    assert_null(st_report_call(r, ST_MAX_CALLS));

    /* kind: a pickle holding joblib's array wrapper is joblib's; a look-alike is not */
    r->format = "pickle";
    st_report_settle_kind(r);
    assert_string_equal(st_report_kind(r), "pickle");
    assert_null(st_report_wrapper(r));
    st_report_free(r);

    r = new_report(ctx, "j");
    st_report_add_import(r, "joblib.numpy_pickle", "NDArrayWrapper", NULL, "allowed", 0);
    r->format = "pickle";
    st_report_settle_kind(r);
    assert_string_equal(st_report_kind(r), "joblib");
    st_report_free(r);

    r = new_report(ctx, "j");
    st_report_add_import(r, "joblib.numpy_pickle", "load", NULL, "allowed", 0);
    st_report_add_import(r, "joblib.other", "NumpyArrayWrapper", NULL, "allowed", 0);
    r->format = "pickle";
    st_report_settle_kind(r);
    assert_string_equal(st_report_kind(r), "pickle");
    st_report_free(r);

    r = new_report(ctx, "z");
    assert_string_equal(st_report_kind(r), "unknown"); /* unsettled: the format */
    r->format = "joblib-zfile";
    st_report_settle_kind(r);
    assert_string_equal(st_report_kind(r), "joblib");
    assert_string_equal(st_report_wrapper(r), "zlib");
    st_report_free(r);

    r = new_report(ctx, "c"); /* a compressed wrapper's content: the wrapper is the format */
    r->format = "xz";
    r->kind = "numpy";
    st_report_settle_kind(r);
    assert_string_equal(st_report_kind(r), "numpy");
    assert_string_equal(st_report_wrapper(r), "xz");
    st_report_free(r);

    r = new_report(ctx, "n"); /* kind equal to the format: no wrapper */
    r->format = "numpy";
    r->kind = "numpy";
    st_report_settle_kind(r);
    assert_null(st_report_wrapper(r));
    st_report_free(r);

    r = new_report(ctx, "w"); /* wrapper set already (an .npz): kept */
    r->format = "zip";
    r->kind = "npz";
    r->wrapper = "zip";
    st_report_settle_kind(r);
    assert_string_equal(st_report_wrapper(r), "zip");
    r->file_size = 11;
    r->header_len = 12;
    r->tensor_count = 13;
    memcpy(r->sha256, "ab", 3);
    assert_true(st_report_file_size(r) == 11);
    assert_true(st_report_header_length(r) == 12);
    assert_true(st_report_tensor_count(r) == 13);
    assert_string_equal(st_report_sha256(r), "ab");
    assert_null(st_report_repository(r));
    assert_string_equal(st_report_format(r), "zip");
    st_report_free(r);
    st_ctx_free(ctx);
}

#define D1 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define D2 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static st_error parse(st_ctx *ctx, const char *text, char *err, size_t size)
{
    char *t = strdup(text);
    assert_non_null(t);
    st_error rc = st_manifest_parse(ctx, t, strlen(t), err, size);
    free(t);
    return rc;
}

static void test_manifest_parse(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    char err[128];
    static const struct {
        const char *text;
        const char *err;
    } bad[] = {
        {D1 "  a\nshort\n", "line 2: expected 64 hex digits, two separators and a path"},
        {"/" D1 " a", "line 1: expected 64 hex digits, two separators and a path"},
        {":" D1 " a", "line 1: expected 64 hex digits, two separators and a path"},
        {"G" D1 " a", "line 1: expected 64 hex digits, two separators and a path"},
        {"g" D1 " a", "line 1: expected 64 hex digits, two separators and a path"},
        {"@" D1 " a", "line 1: expected 64 hex digits, two separators and a path"},
        {D1 "\tsa", "line 1: expected \"  \" or \" *\" after the digest"},
        {D1 " -a", "line 1: expected \"  \" or \" *\" after the digest"},
        {D1 "  a\n" D2 "  a\n", "two different digests for one path"},
        {D1 "  z\n" D1 "  a\n" D2 "  a\n", "two different digests for one path"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_int_equal(parse(ctx, bad[i].text, err, sizeof(err)), ST_E_INVAL);
        assert_string_equal(err, bad[i].err);
        assert_int_equal(ctx->expect, 0);
    }
    char nul[] = D1 "  a\0b";
    assert_int_equal(st_manifest_parse(ctx, nul, sizeof(nul) - 1, err, sizeof(err)), ST_E_INVAL);
    assert_string_equal(err, "the manifest holds a NUL byte");

    /* upper-case digests, binary-mode "*", sha256sum's escaped names, blank lines, the same
     * pin twice, and no final newline */
    const char *good = "\n" D2 " *z/b.bin\n"
                       "\\" D1 "  new\\nline\\\\x\\t\n" D1 "  ./c\n" D1 "  ./c\n"
                       "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD  m";
    assert_int_equal(parse(ctx, good, err, sizeof(err)), ST_OK);
    assert_int_equal(ctx->expect, 1);
    assert_int_equal(ctx->digest, 1);
    assert_int_equal(ctx->man_paths.n, 5);
    assert_string_equal(st_manifest_find(ctx, "z/b.bin"), D2);
    assert_string_equal(st_manifest_find(ctx, "./z/b.bin"), D2); /* without "./" */
    assert_string_equal(st_manifest_find(ctx, "c"), D1);         /* with "./" */
    assert_string_equal(st_manifest_find(ctx, "./c"), D1);
    assert_string_equal(st_manifest_find(ctx, "new\nline\\x\\t"), D1);
    assert_string_equal(st_manifest_find(ctx, "m"), D1); /* lower-cased */
    assert_null(st_manifest_find(ctx, "a"));
    assert_null(st_manifest_find(ctx, "zz"));
    assert_null(st_manifest_find(ctx, "./zz"));
    char *longp = malloc(5000); /* too long to try with "./" */
    memset(longp, 'a', 4999);
    longp[4999] = '\0';
    assert_null(st_manifest_find(ctx, longp));
    free(longp);

    /* a second manifest replaces the first; an empty one pins nothing */
    assert_int_equal(parse(ctx, D1 "  only\n", err, sizeof(err)), ST_OK);
    assert_int_equal(ctx->man_paths.n, 1);
    assert_null(st_manifest_find(ctx, "m"));
    assert_int_equal(parse(ctx, "", err, sizeof(err)), ST_OK);
    assert_int_equal(ctx->man_paths.n, 0);
    st_ctx_free(ctx);
}

static void test_manifest_load(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    char err[128], path[] = "/tmp/stcheck-core-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = D1 "  x\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(st_ctx_load_manifest(ctx, path, err, sizeof(err)), ST_OK);
    assert_string_equal(st_manifest_find(ctx, "x"), D1);
    assert_int_equal(st_ctx_load_manifest(ctx, path, NULL, 0), ST_OK); /* no error buffer */
    /* over 64 MiB (a sparse file): refused without parsing */
    assert_int_equal(ftruncate(fd, (64 << 20) + 1), 0);
    assert_int_equal(st_ctx_load_manifest(ctx, path, err, sizeof(err)), ST_E_IO);
    assert_string_equal(err, "cannot read the manifest (missing, or over 64 MiB)");
    assert_int_equal(ftruncate(fd, 64 << 20), 0); /* exactly 64 MiB: read, then the NUL */
    assert_int_equal(st_ctx_load_manifest(ctx, path, err, sizeof(err)), ST_E_INVAL);
    assert_string_equal(err, "the manifest holds a NUL byte");
    close(fd);
    unlink(path);
    assert_int_equal(st_ctx_load_manifest(ctx, path, err, sizeof(err)), ST_E_IO);
    assert_int_equal(st_ctx_load_manifest(ctx, NULL, err, sizeof(err)), ST_E_IO);
    assert_int_equal(st_ctx_load_manifest(NULL, "/dev/null", NULL, 0), ST_E_IO);
    assert_string_equal(st_manifest_find(ctx, "x"), D1); /* failed loads change nothing */
    st_ctx_free(ctx);
}

static st_error cb_read(void *arg, uint64_t off, void *buf, size_t len)
{
    const char *text = arg;
    memcpy(buf, text + off, len);
    return off == 1 ? ST_E_IO : ST_OK;
}

static void test_sources(void **state)
{
    (void)state;
    char buf[8] = {0};
    const unsigned char mem[] = "abcdef";
    st_src m = {-1, mem, 6};
    assert_int_equal(st_src_read(&m, 2, buf, 3), ST_OK);
    assert_memory_equal(buf, "cde", 3);
    assert_int_equal(st_src_read(&m, 6, buf, 0), ST_OK);
    assert_int_equal(st_src_read(&m, 4, buf, 3), ST_E_INVAL);          /* past the end */
    assert_int_equal(st_src_read(&m, UINT64_MAX, buf, 2), ST_E_INVAL); /* offset wraps */

    st_src_cb cb = {cb_read, (void *)"0123456789"};
    st_src c;
    st_src_callback(&c, &cb, 10);
    assert_int_equal(c.fd, ST_SRC_CALLBACK);
    assert_true(c.size == 10);
    assert_int_equal(st_src_read(&c, 3, buf, 4), ST_OK);
    assert_memory_equal(buf, "3456", 4);
    assert_int_equal(st_src_read(&c, 1, buf, 1), ST_E_IO); /* the callback's own error */
    assert_int_equal(st_src_read(&c, 1, buf, 0), ST_OK);   /* nothing to read: no call */
    assert_int_equal(st_src_read(&c, 8, buf, 4), ST_E_INVAL);

    char path[] = "/tmp/stcheck-core-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "hello", 5), 5);
    st_src f = {fd, NULL, 5};
    assert_int_equal(st_src_read(&f, 1, buf, 4), ST_OK);
    assert_memory_equal(buf, "ello", 4);
    f.size = 10; /* the file shrank since its size was taken */
    assert_int_equal(st_src_read(&f, 3, buf, 4), ST_E_IO);
    f.size = UINT64_MAX; /* an offset pread cannot take */
    assert_int_equal(st_src_read(&f, (uint64_t)INT64_MAX + 1, buf, 1), ST_E_IO);
    close(fd);
    int wfd = open(path, O_WRONLY); /* pread fails (EBADF) */
    assert_true(wfd >= 0);
    st_src w = {wfd, NULL, 5};
    assert_int_equal(st_src_read(&w, 0, buf, 1), ST_E_IO);
    close(wfd);
    unlink(path);
}

/* ---- allocation failures -------------------------------------------------------------------
 *
 * Linked with --wrap for malloc, calloc, realloc and strdup (tests/CMakeLists.txt): once armed,
 * the k-th allocation fails. Every operation is run with k = 0, 1, ... until a run completes
 * without a failure; each failing run must report the failure (NULL, -1, ST_E_NOMEM or an
 * error verdict), never crash or leak (ASan and valgrind run this test). */
#define FA_WRAP_STRDUP
#include "fault_alloc.h"

/* One operation under injection: returns 1 when it reported a failure, 0 when it succeeded. */
typedef int (*fi_op)(st_ctx *ctx);

/* Runs op with the k-th allocation failing for k = 0, 1, ...; every run in which an allocation
 * failed must report failure, and the first run without one must succeed. Returns the number
 * of allocations the operation makes. */
static long fi_each(fi_op op, const char *what)
{
    for (long k = 0; k < 100000; k++) {
        st_ctx *ctx = st_ctx_new();
        assert_non_null(ctx);
        fa_hit = 0;
        fa_countdown = k;
        int failed = op(ctx);
        fa_countdown = -1;
        st_ctx_free(ctx);
        if (fa_hit && !failed)
            fail_msg("%s: allocation %ld failed unnoticed", what, k);
        if (!fa_hit) {
            if (failed)
                fail_msg("%s: failed with no allocation failure", what);
            return k;
        }
    }
    fail_msg("%s: never completed", what);
    return -1;
}

static int op_ctx(st_ctx *ctx)
{
    (void)ctx;
    st_ctx *c = st_ctx_new();
    st_ctx_free(c);
    return c == NULL;
}

static int op_clone(st_ctx *ctx)
{
    long saved = fa_countdown; /* the lists are built without injection */
    fa_countdown = -1;
    int ok = st_strlist_add(&ctx->pk_allow, "a.b") == 0 &&
             st_strlist_add(&ctx->pk_allow, "c.*") == 0 &&
             st_strlist_add(&ctx->walk_ext, ".bin") == 0;
    assert_true(ok);
    fa_countdown = saved;
    st_ctx *c = st_ctx_clone(ctx);
    if (c == NULL)
        return 1;
    assert_int_equal(c->pk_allow.n, 2);
    assert_string_equal(c->walk_ext.v[0], ".bin");
    st_ctx_free(c);
    return 0;
}

static int op_sha(st_ctx *ctx)
{
    (void)ctx;
    st_sha256 *d = st_sha256_new();
    st_sha256_free(d);
    return d == NULL;
}

static int op_explain(st_ctx *ctx)
{
    (void)ctx;
    char *s = st_rule_explain("ST905");
    free(s);
    return s == NULL;
}

static int op_escape(st_ctx *ctx)
{
    (void)ctx;
    char *a = st_escape_dup("x\n");
    char *b = st_escape_sarif("{a}\nb", ST_SARIF_LINES);
    char *c = st_escape_sarif("[a]", 0);
    FILE *f = fopen("/dev/null", "w");
    assert_non_null(f);
    int t = st_put_text(f, "t"), x = st_put_xml(f, "<");
    fclose(f);
    int failed = a == NULL || b == NULL || c == NULL || t != 0 || x != 0;
    if (!failed) {
        assert_string_equal(b, "{{a}}\nb");
        assert_string_equal(c, "\\[a\\]");
    }
    free(a);
    free(b);
    free(c);
    return failed;
}

static int op_report(st_ctx *ctx)
{
    st_report *r = st_report_new(ctx, "file.pkl");
    if (r == NULL)
        return 1;
    for (int i = 0; i < 20; i++) { /* 20: past the first allocation of each list */
        char n[8];
        snprintf(n, sizeof(n), "n%d", i);
        st_report_add_import_as(r, "m", n, "wm", "wn", "member", "allowed", 1);
        st_report_add_call(r, "m.n", "REDUCE", NULL, 2);
        st_report_add(r, ST_R_FINDINGS_TRUNCATED, 0, 0, "f%d", i);
    }
    int failed = st_report_error(r) == ST_E_NOMEM;
    if (failed)
        assert_int_equal(st_report_verdict(r), ST_VERDICT_ERROR);
    else {
        assert_int_equal(st_report_import_count(r), 20);
        assert_int_equal(st_report_call_count(r), 20);
        assert_int_equal(st_report_finding_count(r), 20);
    }
    st_report_free(r);
    return failed;
}

static int op_manifest(st_ctx *ctx)
{
    char text[] = D1 "  b\n" D1 "  a\n" D2 "  c\n";
    char err[64] = "";
    st_error rc = st_manifest_parse(ctx, text, sizeof(text) - 1, err, sizeof(err));
    if (rc == ST_OK) {
        assert_string_equal(st_manifest_find(ctx, "c"), D2);
        return 0;
    }
    assert_int_equal(rc, ST_E_NOMEM); /* never "invalid manifest" */
    assert_non_null(strstr(err, "out of memory"));
    assert_int_equal(ctx->expect, 0);
    return 1;
}

static int op_manifest_file(st_ctx *ctx)
{
    char err[128] = "";
    st_error rc = st_ctx_load_manifest(ctx, "/dev/null", err, sizeof(err));
    if (rc == ST_OK)
        return 0;
    assert_int_equal(rc, ST_E_IO);
    return 1;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    assert_int_equal(fi_each(op_ctx, "st_ctx_new"), 1);
    assert_true(fi_each(op_clone, "st_ctx_clone") >= 7);
    assert_int_equal(fi_each(op_sha, "st_sha256_new"), 1);
    assert_int_equal(fi_each(op_explain, "st_rule_explain"), 1);
    assert_true(fi_each(op_escape, "escaping") >= 6);
    assert_true(fi_each(op_report, "report") > 100);
    assert_true(fi_each(op_manifest, "manifest") >= 10);
    assert_int_equal(fi_each(op_manifest_file, "manifest file"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checked),
        cmocka_unit_test(test_ctx_limits_and_lists),
        cmocka_unit_test(test_rules_table),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_escape_cuts),
        cmocka_unit_test(test_escape_writers),
        cmocka_unit_test(test_report_findings),
        cmocka_unit_test(test_report_imports_calls_kind),
        cmocka_unit_test(test_manifest_parse),
        cmocka_unit_test(test_manifest_load),
        cmocka_unit_test(test_sources),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
