/*
 * test_policy.c - policy loading: every key, layering with "extends", key-path errors, the
 * four shipped policies, and that rules/default.json states exactly the built-in behaviour.
 */
#include "test_util.h"

#include "core/ctx.h"
#include "core/rules.h"

#include <sys/stat.h>
#include <unistd.h>

#define T_U8_1 "{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}"

static st_ctx *with_policy(const char *json)
{
    char err[256];
    st_ctx *ctx = st_ctx_new();
    assert_non_null(ctx);
    if (st_ctx_load_policy_text(ctx, json, ST_RULES_DIR, err, sizeof(err)) != ST_OK)
        fail_msg("policy refused: %s", err);
    return ctx;
}

static void expect_error(const char *json, const char *path_prefix)
{
    char err[256] = "";
    st_ctx *ctx = st_ctx_new();
    char *before = st_ctx_policy_json(ctx);
    assert_int_equal(st_ctx_load_policy_text(ctx, json, ST_RULES_DIR, err, sizeof(err)),
                     ST_E_INVAL);
    if (strncmp(err, path_prefix, strlen(path_prefix)) != 0)
        fail_msg("error \"%s\" does not start with \"%s\"", err, path_prefix);
    char *after = st_ctx_policy_json(ctx); /* a refused policy changes nothing */
    assert_string_equal(before, after);
    free(before);
    free(after);
    st_ctx_free(ctx);
}

static void test_default_matches_builtin(void **state)
{
    (void)state;
    char err[256];
    st_ctx *a = st_ctx_new(), *b = st_ctx_new();
    assert_int_equal(st_ctx_load_policy(b, ST_RULES_DIR "/default.json", err, sizeof(err)), ST_OK);
    char *ja = st_ctx_policy_json(a), *jb = st_ctx_policy_json(b);
    assert_string_equal(ja, jb);
    free(ja);
    free(jb);
    st_ctx *c = with_policy("{\"extends\":\"default\"}"); /* the embedded copy */
    ja = st_ctx_policy_json(a);
    jb = st_ctx_policy_json(c);
    assert_string_equal(ja, jb);
    free(ja);
    free(jb);
    st_ctx_free(a);
    st_ctx_free(b);
    st_ctx_free(c);
}

static void test_severity_and_fail_on(void **state)
{
    (void)state;
    /* ST132 (empty name) is a warning by default: pass; raised to error: fail; off: gone */
    st_ctx *ctx = with_policy("{\"severity\":{\"ST132\":\"error\"}}");
    tu_expect(ctx, "{\"\":" T_U8_1 "}", 1, "ST132", ST_VERDICT_FAIL);
    st_ctx_free(ctx);
    ctx = with_policy("{\"severity\":{\"ST132\":\"off\"}}");
    tu_expect(ctx, "{\"\":" T_U8_1 "}", 1, "", ST_VERDICT_PASS);
    st_ctx_free(ctx);
    ctx = with_policy("{\"fail_on\":\"info\"}");
    tu_expect(ctx, "{}", 0, "ST138", ST_VERDICT_FAIL);
    st_ctx_free(ctx);
    ctx = with_policy("{\"fail_on\":\"none\"}");
    tu_expect(ctx, "{\"a\":" T_U8_1 ",\"a\":" T_U8_1 "}", 1, "ST114", ST_VERDICT_PASS);
    st_ctx_free(ctx);
    assert_int_equal(st_ctx_set_fail_on(ctx = st_ctx_new(), "warning"), ST_OK);
    tu_expect(ctx, "{\"\":" T_U8_1 "}", 1, "ST132", ST_VERDICT_FAIL);
    assert_int_equal(st_ctx_set_fail_on(ctx, "bogus"), ST_E_INVAL);
    st_ctx_free(ctx);
}

static void test_limits_and_formats(void **state)
{
    (void)state;
    st_ctx *ctx = with_policy("{\"limits\":{\"tensors\":1,\"json_depth\":8}}");
    assert_true(st_ctx_get_limit(ctx, ST_LIMIT_TENSORS) == 1);
    assert_true(st_ctx_get_limit(ctx, ST_LIMIT_JSON_DEPTH) == 8);
    tu_expect(ctx, "{\"a\":" T_U8_1 ",\"b\":" T_U8_1 "}", 1, "ST901", ST_VERDICT_ERROR);
    st_ctx_free(ctx);
    /* folder walks: the link resolution budget and the .git store choice */
    assert_true(st_ctx_get_limit(ctx = st_ctx_new(), ST_LIMIT_LINK_STEPS) == 1000000);
    st_ctx_free(ctx);
    ctx = with_policy("{\"limits\":{\"link_steps\":100},\"git_store\":\"check\"}");
    assert_true(st_ctx_get_limit(ctx, ST_LIMIT_LINK_STEPS) == 100);
    char *json = st_ctx_policy_json(ctx);
    assert_non_null(strstr(json, "\"git_store\":\t\"check\""));
    assert_non_null(strstr(json, "\"link_steps\":\t100"));
    free(json);
    st_ctx_free(ctx);
    ctx = with_policy("{\"formats\":{\"deny\":[\"pickle\"]}}");
    st_report *r = st_check_buffer(ctx, "\x80\x02N.", 4, "x.pkl");
    tu_assert_ids(r, "ST906");
    st_report_free(r);
    st_ctx_free(ctx);
    ctx = with_policy("{\"formats\":{\"allow\":[\"safetensors\"]}}");
    r = st_check_buffer(ctx, "\x80\x02N.", 4, "x.pkl");
    tu_assert_ids(r, "ST906");
    st_report_free(r);
    tu_expect(ctx, "{\"a\":" T_U8_1 "}", 1, "", ST_VERDICT_PASS);
    st_ctx_free(ctx);
}

static void test_shipped_policies(void **state)
{
    (void)state;
    char err[256];
    static const char *const names[] = {"default", "strict", "registry", "permissive"};
    for (size_t i = 0; i < 4; i++) {
        char path[512];
        st_ctx *ctx = st_ctx_new();
        snprintf(path, sizeof(path), "%s/%s.json", ST_RULES_DIR, names[i]);
        if (st_ctx_load_policy(ctx, path, err, sizeof(err)) != ST_OK)
            fail_msg("%s: %s", path, err);
        st_ctx_free(ctx);
    }
    st_ctx *reg = with_policy("{\"extends\":\"registry.json\"}"); /* relative to the base dir */
    st_report *r = st_check_buffer(reg, "(lp0\nI1\na.", 10, "x.pkl");
    tu_assert_ids(r, "ST906");
    assert_int_equal(st_report_verdict(r), ST_VERDICT_FAIL);
    st_report_free(r);
    st_ctx_free(reg);
    st_ctx *perm = with_policy("{\"extends\":\"permissive.json\"}");
    r = st_check_buffer(perm, "cos\nsystem\n(S'x'\ntR.", 20, "x.pkl");
    tu_assert_ids(r, "ST201");
    assert_int_equal(st_report_verdict(r), ST_VERDICT_PASS); /* report only */
    st_report_free(r);
    r = st_check_buffer(perm, "junk", 4, "x.bin");
    assert_int_equal(st_report_verdict(r), ST_VERDICT_ERROR); /* could not check still fails */
    st_report_free(r);
    st_ctx_free(perm);
}

static void test_errors_name_the_key(void **state)
{
    (void)state;
    expect_error("[]", "(document)");
    expect_error("{\"bogus\":1}", "bogus");
    expect_error("{\"fail_on\":\"sometimes\"}", "fail_on");
    expect_error("{\"severity\":{\"ST999\":\"error\"}}", "severity.ST999");
    expect_error("{\"severity\":{\"ST101\":\"fatal\"}}", "severity.ST101");
    expect_error("{\"severity\":[]}", "severity");
    expect_error("{\"limits\":{\"bogus\":1}}", "limits.bogus");
    expect_error("{\"limits\":{\"tensors\":-1}}", "limits.tensors");
    expect_error("{\"limits\":{\"tensors\":1.5}}", "limits.tensors");
    expect_error("{\"limits\":{\"header_bytes\":100000001}}", "limits.header_bytes");
    expect_error("{\"formats\":{\"allow\":\"pickle\"}}", "formats.allow");
    expect_error("{\"formats\":{\"maybe\":[]}}", "formats.maybe");
    expect_error("{\"extends\":\"no-such-file.json\"}", "extends");
    expect_error("{\"extends\":3}", "extends");
    expect_error("{\"severity\":{\"ST101\":\"off\"},\"limits\":{\"x\":1}}", "limits.x");
    expect_error("{\"symlinks\":\"always\"}", "symlinks");
    expect_error("{\"git_store\":\"walk\"}", "git_store");
    expect_error("{\"limits\":{\"link_steps\":0}}", "limits.link_steps");
    expect_error("{\"pickle\":{\"allow\":[\"os\"]}}", "pickle.allow");
    expect_error("{\"pickle\":{\"allow\":[\"a.*.b\"]}}", "pickle.allow");
    expect_error("{\"pickle\":{\"deny\":[\"x.y\", 3]}}", "pickle.deny");
    expect_error("{\"pickle\":{\"replace_allowlist\":\"yes\"}}", "pickle.replace_allowlist");
    expect_error("{\"pickle\":{\"maybe\":[]}}", "pickle.maybe");
    expect_error("{\"safetensors\":{\"require_metadata\":{\"format\":1}}}",
                 "safetensors.require_metadata.format");
    expect_error("{\"safetensors\":{\"other\":{}}}", "safetensors.other");
    expect_error("{\"overrides\":{}}", "overrides");
    expect_error("{\"overrides\":[{\"paths\":[],\"policy\":{}}]}", "overrides[0]");
    expect_error("{\"overrides\":[{\"paths\":[\"*.bin\"],\"policy\":{\"bogus\":1}}]}",
                 "overrides[0].policy.bogus");
    expect_error("{\"overrides\":[{\"paths\":[\"a\"],\"policy\":{}},"
                 "{\"paths\":[\"b\"],\"policy\":{\"severity\":{\"ST1\":\"off\"}}}]}",
                 "overrides[1].policy.severity.ST1");
    expect_error("{\"overrides\":[{\"paths\":[\"a\"],\"policy\":{\"extends\":\"default\"}}]}",
                 "overrides[0].policy.extends");
}

/* A pickle with one GLOBAL of module.name, then STOP (protocol 0 text). */
static st_report *check_global(st_ctx *ctx, const char *module, const char *name)
{
    char buf[256];
    int n = snprintf(buf, sizeof(buf), "c%s\n%s\n.", module, name);
    return st_check_buffer(ctx, buf, (size_t)n, "g.pkl");
}

static void expect_global(st_ctx *ctx, const char *module, const char *name, const char *ids)
{
    st_report *r = check_global(ctx, module, name);
    tu_assert_ids(r, ids);
    st_report_free(r);
}

static void test_pickle_lists(void **state)
{
    (void)state;
    st_ctx *base = st_ctx_new();
    expect_global(base, "mylib.models", "Net", "ST202");
    expect_global(base, "collections", "OrderedDict", "");
    expect_global(base, "os", "system", "ST201");
    expect_global(base, "numpy", "load", "ST201");
    st_ctx_free(base);

    /* allow: exact entries and module prefixes; a prefix does not reach a sibling module */
    st_ctx *ctx = with_policy("{\"pickle\":{\"allow\":[\"mylib.models.Net\",\"other.*\"],"
                              "\"deny\":[\"collections.OrderedDict\",\"evil.*\"]}}");
    expect_global(ctx, "mylib.models", "Net", "");
    expect_global(ctx, "mylib.models", "Net2", "ST202");
    expect_global(ctx, "other", "Thing", "");
    expect_global(ctx, "other.sub", "Thing", "");
    expect_global(ctx, "otherwise", "Thing", "ST202");
    /* deny: wins over the built-in allowlist, prefixes reach submodules */
    expect_global(ctx, "collections", "OrderedDict", "ST201");
    expect_global(ctx, "evil.deep", "x", "ST201");
    /* the built-in denylist still wins over a policy allow */
    st_ctx_free(ctx);
    ctx = with_policy("{\"pickle\":{\"allow\":[\"os.*\"]}}");
    expect_global(ctx, "os", "system", "ST201");
    st_ctx_free(ctx);

    /* replace_allowlist: only the policy's entries pass */
    ctx = with_policy("{\"pickle\":{\"allow\":[\"mylib.models.Net\"],\"replace_allowlist\":true}}");
    expect_global(ctx, "collections", "OrderedDict", "ST202");
    expect_global(ctx, "mylib.models", "Net", "");
    st_ctx_free(ctx);
    /* replace_denylist: the built-in denylist no longer applies (suspicious, not malicious) */
    ctx = with_policy("{\"pickle\":{\"replace_denylist\":true}}");
    expect_global(ctx, "os", "system", "ST202");
    st_ctx_free(ctx);
}

#define T_META(m) "{\"__metadata__\":" m ",\"a\":" T_U8_1 "}"

static void test_required_metadata(void **state)
{
    (void)state;
    st_ctx *ctx = with_policy(
        "{\"safetensors\":{\"require_metadata\":{\"format\":\"pt\",\"license\":true}}}");
    tu_expect(ctx, T_META("{\"format\":\"pt\",\"license\":\"mit\"}"), 1, "", ST_VERDICT_PASS);
    tu_expect(ctx, T_META("{\"format\":\"tf\",\"license\":\"mit\"}"), 1, "ST140", ST_VERDICT_FAIL);
    tu_expect(ctx, T_META("{\"format\":\"pt\"}"), 1, "ST140", ST_VERDICT_FAIL);
    tu_expect(ctx, "{\"a\":" T_U8_1 "}", 1, "ST140", ST_VERDICT_FAIL);
    tu_expect(ctx, T_META("{\"format\":\"pt\",\"license\":[]}"), 1, "ST131,ST140", ST_VERDICT_FAIL);
    st_report *r = tu_check(ctx, "{\"a\":" T_U8_1 "}", 1);
    assert_int_equal(st_report_count_severity(r, ST_SEV_ERROR), 2); /* both keys missing */
    st_report_free(r);
    st_ctx_free(ctx);
    ctx = st_ctx_new(); /* no requirement: no finding */
    tu_expect(ctx, "{\"a\":" T_U8_1 "}", 1, "", ST_VERDICT_PASS);
    st_ctx_free(ctx);
}

/* Overrides apply by glob to the path as given (below the root for -r), anchored at its start as
 * in .gitignore: "vendor/" and a star does not reach a/vendor/, an absolute path or ./a/vendor;
 * a pattern that starts with a double star and a slash matches at any depth, the root included. */
static void test_overrides(void **state)
{
    (void)state;
    char err[256], cwd[4096];
    st_ctx *ctx = with_policy(
        "{\"overrides\":[{\"paths\":[\"vendor/*\",\"*.pkl\",\"**/deps/*\"],"
        "\"policy\":{\"fail_on\":\"none\"}},"
        "{\"paths\":[\"legacy/*.pt\"],\"policy\":{\"severity\":{\"ST201\":\"warning\"}}}]}");
    char dir[] = "/tmp/st-ov-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(dir), 0);
    char path[256];
    const char *names[] = {"vendor/x.bin",   "a/vendor/y.bin", "x.pkl",
                           "legacy/z.pt",    "plain.bin",      "deps/d.bin",
                           "a/b/deps/e.bin", "./vendor/w.bin", "a/legacy/z.pt"};
    const st_verdict want[] = {ST_VERDICT_PASS, ST_VERDICT_FAIL, ST_VERDICT_PASS,
                               ST_VERDICT_PASS, ST_VERDICT_FAIL, ST_VERDICT_PASS,
                               ST_VERDICT_PASS, ST_VERDICT_PASS, ST_VERDICT_FAIL};
    const char *dirs[] = {"vendor", "a",   "a/vendor", "legacy",
                          "deps",   "a/b", "a/b/deps", "a/legacy"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        assert_int_equal(mkdir(dirs[i], 0700), 0);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        FILE *f = fopen(names[i], "wb");
        assert_non_null(f);
        fputs("cos\nsystem\n.", f);
        fclose(f);
        st_report *r = st_check_path(ctx, names[i]);
        if (st_report_verdict(r) != want[i])
            fail_msg("%s: verdict %d, expected %d", names[i], st_report_verdict(r), want[i]);
        if (i == 3)
            assert_int_equal(st_report_finding(r, 0)->severity, ST_SEV_WARNING);
        st_report_free(r);
    }
    /* an absolute path is matched as given: the relative pattern does not reach inside it */
    snprintf(path, sizeof(path), "%s/vendor/x.bin", dir);
    st_report *r = st_check_path(ctx, path);
    assert_int_equal(st_report_verdict(r), ST_VERDICT_FAIL);
    st_report_free(r);
    assert_int_equal(chdir(cwd), 0);
    /* the effective policy shows the overrides */
    char *json = st_ctx_policy_json(ctx);
    assert_non_null(strstr(json, "legacy/*.pt"));
    free(json);
    (void)err;
    st_ctx_free(ctx);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* prefix, n generated items (kind 0: "fN", 1: "kN":true, 2: "globNNNNN"), suffix; malloc'd. */
static char *list_policy(const char *prefix, const char *suffix, size_t n, int kind)
{
    size_t cap = strlen(prefix) + strlen(suffix) + n * 32 + 16, len = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    len += (size_t)snprintf(s + len, cap - len, "%s", prefix);
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(s + len, cap - len, i ? "," : "");
        if (kind == 0)
            len += (size_t)snprintf(s + len, cap - len, "\"f%zu\"", i);
        else if (kind == 1)
            len += (size_t)snprintf(s + len, cap - len, "\"k%zu\":true", i);
        else
            len += (size_t)snprintf(s + len, cap - len, "\"glob%05zu\"", i);
    }
    snprintf(s + len, cap - len, "%s", suffix);
    return s;
}

/* Every refusal of a value of the wrong kind, with the key path it names. */
static void test_errors_every_kind(void **state)
{
    (void)state;
    static const struct {
        const char *json, *path;
    } bad[] = {
        {"{\"severity\":{\"ST101\":1}}", "severity.ST101"},
        {"{\"limits\":[]}", "limits"},
        {"{\"limits\":{\"tensors\":\"1\"}}", "limits.tensors"},
        {"{\"limits\":{\"tensors\":1e300}}", "limits.tensors"},
        {"{\"limits\":{\"tensors\":0.5}}", "limits.tensors"},
        {"{\"formats\":1}", "formats"},
        {"{\"formats\":{\"allow\":[\"\"]}}", "formats.allow"},
        {"{\"formats\":{\"deny\":[1]}}", "formats.deny"},
        {"{\"pickle\":[]}", "pickle"},
        {"{\"pickle\":{\"allow\":[\"ab\"]}}", "pickle.allow"},
        {"{\"pickle\":{\"allow\":[\".a.b\"]}}", "pickle.allow"},
        {"{\"pickle\":{\"allow\":[\"abc\"]}}", "pickle.allow"},
        {"{\"pickle\":{\"allow\":[\"a..b\"]}}", "pickle.allow"},
        {"{\"pickle\":{\"allow\":[\"a*.b\"]}}", "pickle.allow"},
        {"{\"pickle\":{\"deny\":[\"ab.c*\"]}}", "pickle.deny"},
        {"{\"pickle\":{\"replace_denylist\":1}}", "pickle.replace_denylist"},
        {"{\"safetensors\":1}", "safetensors"},
        {"{\"safetensors\":{\"require_metadata\":[]}}", "safetensors.require_metadata"},
        {"{\"safetensors\":{\"require_metadata\":{\"k\":\"\"}}}", "safetensors.require_metadata.k"},
        {"{\"safetensors\":{\"require_metadata\":{\"k\":false}}}",
         "safetensors.require_metadata.k"},
        {"{\"walk_extensions\":\".bin\"}", "walk_extensions"},
        {"{\"fail_on\":1}", "fail_on"},
        {"{\"fail_on\":\"off\"}", "fail_on"},
        {"{\"symlinks\":1}", "symlinks"},
        {"{\"git_store\":1}", "git_store"},
        {"{\"description\":1}", "description"},
        {"{\"overrides\":[1]}", "overrides[0]"},
        {"{\"overrides\":[{\"paths\":[\"a\"],\"policy\":{},\"x\":1}]}", "overrides[0]"},
        {"{\"overrides\":[{\"paths\":\"a\",\"policy\":{}}]}", "overrides[0]"},
        {"{\"overrides\":[{\"paths\":[\"a\"],\"policy\":[]}]}", "overrides[0]"},
        {"{\"overrides\":[{\"paths\":[1],\"policy\":{}}]}", "overrides[0]"},
        {"{\"overrides\":[{\"paths\":[\"\"],\"policy\":{}}]}", "overrides[0]"},
        {"{\"overrides\":[{\"paths\":[\"a\\nb\"],\"policy\":{}}]}", "overrides[0]"},
        {"{\"overrides\":[{\"paths\":[\"a\"],\"policy\":{\"overrides\":[]}}]}",
         "overrides[0].policy.overrides"},
        {"{\"extends\":\"/dev/null\"}", "(document)"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_error(bad[i].json, bad[i].path);

    /* list and key-count bounds */
    char *s = list_policy("{\"formats\":{\"allow\":[", "]}}", 4097, 0);
    expect_error(s, "formats.allow");
    free(s);
    s = list_policy("{\"formats\":{\"allow\":[", "]}}", 4096, 0);
    st_ctx *ctx = with_policy(s);
    assert_int_equal(ctx->formats_allow.n, 4096);
    st_ctx_free(ctx);
    free(s);
    s = list_policy("{\"safetensors\":{\"require_metadata\":{", "}}}", 65, 1);
    expect_error(s, "safetensors.require_metadata.k64");
    free(s);
    s = list_policy("{\"overrides\":[{\"paths\":[", "],\"policy\":{}}]}", 500, 2);
    expect_error(s, "overrides[0]"); /* 500 globs of 9 bytes: over 4 KiB */
    free(s);

    /* the API's own refusals */
    char err[128] = "";
    ctx = st_ctx_new();
    assert_int_equal(st_ctx_load_policy_text(NULL, "{}", NULL, err, sizeof(err)), ST_E_INVAL);
    assert_int_equal(st_ctx_load_policy_text(ctx, NULL, NULL, err, sizeof(err)), ST_E_INVAL);
    assert_int_equal(st_ctx_load_policy_text(ctx, "{\"bogus\":1}", NULL, NULL, 0), ST_E_INVAL);
    assert_int_equal(st_ctx_load_policy(NULL, "default", err, sizeof(err)), ST_E_INVAL);
    assert_int_equal(st_ctx_load_policy(ctx, NULL, err, sizeof(err)), ST_E_INVAL);
    assert_int_equal(st_ctx_load_policy(ctx, "/no/such/policy.json", err, sizeof(err)), ST_E_IO);
    assert_string_equal(err, "cannot open: No such file or directory");
    assert_int_equal(st_ctx_load_policy(ctx, "/no/such/policy.json", NULL, 0), ST_E_IO);
    err[0] = 'x'; /* a buffer of size 0 is not written */
    assert_int_equal(st_ctx_load_policy(ctx, "/no/such/policy.json", err, 0), ST_E_IO);
    assert_int_equal(err[0], 'x');
    assert_int_equal(st_ctx_load_policy(ctx, "default", err, sizeof(err)), ST_OK);
    st_ctx_free(ctx);
}

/* Values of each key that are accepted, and the effective policy that shows them. */
static void test_accepted_values(void **state)
{
    (void)state;
    st_ctx *ctx = with_policy("{\"description\":\"d\",\"symlinks\":\"follow\",\"git_store\":"
                              "\"check\",\"walk_extensions\":[\".bin\",\".pt\"],"
                              "\"formats\":{\"allow\":[\"pickle\"]},"
                              "\"pickle\":{\"allow\":[\"a.*\",\"b.c\"]},"
                              "\"limits\":{\"pickle_opcodes\":9007199254740992},"
                              "\"safetensors\":{\"require_metadata\":{\"format\":\"pt\","
                              "\"license\":true}}}");
    assert_int_equal(ctx->follow_symlinks, 1);
    assert_int_equal(ctx->walk_git_store, 1);
    assert_int_equal(ctx->walk_ext.n, 2);
    char *json = st_ctx_policy_json(ctx);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"symlinks\":\t\"follow\""));
    assert_non_null(strstr(json, "\"git_store\":\t\"check\""));
    assert_non_null(strstr(json, "\"license\":\ttrue"));
    assert_non_null(strstr(json, "\"format\":\t\"pt\""));
    assert_non_null(strstr(json, "\".pt\""));
    assert_non_null(strstr(json, "\"a.*\""));
    free(json);
    st_ctx_free(ctx);
    ctx = with_policy("{\"symlinks\":\"report\",\"git_store\":\"skip\"}");
    assert_int_equal(ctx->follow_symlinks, 0);
    assert_int_equal(ctx->walk_git_store, 0);
    st_ctx_free(ctx);
}

/* "extends": relative to the policy's folder, to the working folder without one, bounded in
 * depth (a cycle) and in size. */
static void test_extends_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/st-ext-XXXXXX", cwd[4096], err[512];
    assert_non_null(mkdtemp(dir));
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(dir), 0);
    FILE *f = fopen("loop.json", "w");
    assert_non_null(f);
    fputs("{\"extends\":\"loop.json\"}", f);
    fclose(f);
    f = fopen("base.json", "w");
    assert_non_null(f);
    fputs("{\"fail_on\":\"warning\"}", f);
    fclose(f);
    f = fopen("big.json", "w");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), (4 << 20) + 1), 0);
    fclose(f);
    st_ctx *ctx = st_ctx_new();
    /* a bare name, no base folder: read from the working folder, which is then no folder */
    assert_int_equal(
        st_ctx_load_policy_text(ctx, "{\"extends\":\"base.json\"}", NULL, err, sizeof(err)), ST_OK);
    assert_int_equal(ctx->fail_on, ST_SEV_WARNING);
    assert_int_equal(st_ctx_load_policy(ctx, "base.json", err, sizeof(err)), ST_OK);
    assert_int_equal(st_ctx_load_policy(ctx, "loop.json", err, sizeof(err)), ST_E_INVAL);
    assert_string_equal(err, "extends: chain too long (a cycle?)");
    assert_int_equal(st_ctx_load_policy(ctx, "big.json", err, sizeof(err)), ST_E_INVAL);
    assert_string_equal(err, "extends: policy missing or larger than 4 MiB");
    assert_int_equal(
        st_ctx_load_policy_text(ctx, "{\"extends\":\"base.json\"}", dir, err, sizeof(err)), ST_OK);
    st_ctx_free(ctx);
    assert_int_equal(chdir(cwd), 0);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* Overrides: a pattern with a leading '/' names the path from the root of what is checked, and
 * two matching overrides apply in order to one copy of the context. */
static void test_override_matching(void **state)
{
    (void)state;
    st_ctx *ctx = with_policy("{\"overrides\":[{\"paths\":[\"/top.bin\"],\"policy\":{\"fail_on\":"
                              "\"warning\"}},{\"paths\":[\"*.bin\"],\"policy\":{\"severity\":"
                              "{\"ST201\":\"info\"}}}]}");
    st_ctx *c = st_ctx_for_path(ctx, "top.bin");
    assert_ptr_not_equal(c, ctx);
    assert_int_equal(c->fail_on, ST_SEV_WARNING);
    size_t st201 = (size_t)(st_rule_find("ST201") - st_rule_at(0));
    assert_int_equal(c->sev[st201], ST_SEV_INFO);
    st_ctx_free(c);
    c = st_ctx_for_path(ctx, "./top.bin");
    assert_int_equal(c->fail_on, ST_SEV_WARNING);
    st_ctx_free(c);
    c = st_ctx_for_path(ctx, "/top.bin"); /* an absolute path is matched as given */
    assert_int_equal(c->fail_on, ST_SEV_WARNING);
    st_ctx_free(c);
    c = st_ctx_for_path(ctx, "sub/top.bin"); /* not at the root: the second only */
    assert_int_equal(c->fail_on, ST_SEV_ERROR);
    st_ctx_free(c);
    assert_ptr_equal(st_ctx_for_path(ctx, "top.pt"), ctx); /* none: the context itself */
    st_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_matches_builtin), cmocka_unit_test(test_severity_and_fail_on),
        cmocka_unit_test(test_limits_and_formats),      cmocka_unit_test(test_shipped_policies),
        cmocka_unit_test(test_errors_name_the_key),     cmocka_unit_test(test_pickle_lists),
        cmocka_unit_test(test_required_metadata),       cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_errors_every_kind),       cmocka_unit_test(test_accepted_values),
        cmocka_unit_test(test_extends_files),           cmocka_unit_test(test_override_matching),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
