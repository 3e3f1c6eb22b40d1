/*
 * policy.c - policies: which findings fail a file, at what severity, under which limits and
 * for which formats. Policies are trusted input (written by the operator), so they are read
 * with cJSON - but still validated strictly, with errors that name the key path: unknown keys,
 * wrong types and out-of-range values are errors, never ignored.
 *
 * Schema (docs/policy.md):
 *   { "extends": "default" | "<path relative to this file>",
 *     "fail_on": "info" | "warning" | "error" | "none",
 *     "severity": { "ST136": "off" | "info" | "warning" | "error", ... },
 *     "limits": { "header_bytes": N, ... },
 *     "formats": { "allow": [ "safetensors", ... ], "deny": [ "pickle", ... ] },
 *     "symlinks": "report" | "follow",   (links to files are checked under their name either way)
 *     "git_store": "skip" | "check",
 *     "pickle": { "allow": [ "mod.name", "mod.*" ], "deny": [ ... ],
 *                 "replace_allowlist": bool, "replace_denylist": bool },
 *     "safetensors": { "require_metadata": { "format": "pt", "license": true } },
 *     "onnx": { "allow_domains": [ "com.example.ops" ] },
 *     "overrides": [ { "paths": [ "glob", ... ], "policy": { ...these keys... } } ] }
 * A policy is applied on top of what it extends. "default" is rules/default.json, compiled in
 * (so the binary needs no rules/ folder); it states exactly the built-in severities and limits
 * a new context starts with (a test keeps the two identical).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/ctx.h"
#include "default_policy.h" /* generated from rules/default.json */

#define MAX_EXTENDS 8
#define MAX_POLICY_BYTES (4u << 20)

static const char *const limit_names[ST_LIMIT_COUNT_] = {
    [ST_LIMIT_HEADER_BYTES] = "header_bytes",
    [ST_LIMIT_JSON_DEPTH] = "json_depth",
    [ST_LIMIT_TENSORS] = "tensors",
    [ST_LIMIT_RANK] = "rank",
    [ST_LIMIT_METADATA_VALUE] = "metadata_value",
    [ST_LIMIT_PICKLE_OPCODES] = "pickle_opcodes",
    [ST_LIMIT_PICKLE_STACK] = "pickle_stack",
    [ST_LIMIT_PICKLE_MEMO] = "pickle_memo",
    [ST_LIMIT_PICKLE_IMPORTS] = "pickle_imports",
    [ST_LIMIT_PICKLE_STORAGES] = "pickle_storages",
    [ST_LIMIT_ZIP_ENTRIES] = "zip_entries",
    [ST_LIMIT_MEMBER_BYTES] = "member_bytes",
    [ST_LIMIT_ZIP_RATIO] = "zip_ratio",
    [ST_LIMIT_NESTING] = "nesting",
    [ST_LIMIT_TREE_ENTRIES] = "tree_entries",
    [ST_LIMIT_TREE_DEPTH] = "tree_depth",
    [ST_LIMIT_LINK_STEPS] = "link_steps",
    [ST_LIMIT_GGUF_KV] = "gguf_kv",
    [ST_LIMIT_GGUF_ARRAY_DEPTH] = "gguf_array_depth",
    [ST_LIMIT_TEMPLATE_BYTES] = "chat_template_bytes",
    [ST_LIMIT_TEMPLATE_DEPTH] = "chat_template_depth",
};
static const char *const sev_names[] = {"off", "info", "warning", "error", "none"};

typedef struct {
    char *err;
    size_t size;
} errbuf;

static int fail(errbuf *e, const char *path, const char *what)
{
    snprintf(e->err, e->size, "%s: %s", path, what);
    return -1;
}

static int severity_of(const char *s, int allow_none)
{
    for (int i = 0; i < (allow_none ? 5 : 4); i++)
        if (strcmp(s, sev_names[i]) == 0)
            return i;
    return -1;
}

static int apply_severity(st_ctx *c, const cJSON *obj, errbuf *e)
{
    char path[64];
    if (!cJSON_IsObject(obj))
        return fail(e, "severity", "must be an object of finding id -> severity");
    for (const cJSON *it = obj->child; it != NULL; it = it->next) {
        snprintf(path, sizeof(path), "severity.%.20s", it->string);
        const st_rule *rule = st_rule_find(it->string);
        if (rule == NULL)
            return fail(e, path, "unknown finding id (see stcheck --list-rules)");
        int sev = cJSON_IsString(it) ? severity_of(it->valuestring, 0) : -1;
        if (sev < 0)
            return fail(e, path, "must be \"off\", \"info\", \"warning\" or \"error\"");
        c->sev[rule - st_rule_at(0)] = (st_severity)sev;
    }
    return 0;
}

static int apply_limits(st_ctx *c, const cJSON *obj, errbuf *e)
{
    char path[64];
    if (!cJSON_IsObject(obj))
        return fail(e, "limits", "must be an object of limit name -> number");
    for (const cJSON *it = obj->child; it != NULL; it = it->next) {
        snprintf(path, sizeof(path), "limits.%.30s", it->string);
        int k = -1;
        for (int i = 0; i < ST_LIMIT_COUNT_; i++)
            if (strcmp(it->string, limit_names[i]) == 0)
                k = i;
        if (k < 0)
            return fail(e, path, "unknown limit");
        /* cJSON reads numbers as doubles: only integers exactly representable are taken */
        double v = it->valuedouble;
        if (!cJSON_IsNumber(it) || v < 1 || v > 9007199254740992.0 || v != (double)(uint64_t)v)
            return fail(e, path, "must be a positive integer");
        if (st_ctx_set_limit(c, (st_limit)k, (uint64_t)v) != ST_OK)
            return fail(e, path, "above this limit's hard maximum");
    }
    return 0;
}

/* Replaces a list with a JSON array of non-empty strings. */
static int set_list(st_strlist *l, const cJSON *arr, const char *path, errbuf *e)
{
    if (!cJSON_IsArray(arr))
        return fail(e, path, "must be an array of strings");
    st_strlist_clear(l);
    for (const cJSON *it = arr->child; it != NULL; it = it->next) {
        if (!cJSON_IsString(it) || it->valuestring[0] == '\0')
            return fail(e, path, "must hold only non-empty strings");
        if (l->n >= ST_MAX_POLICY_LIST)
            return fail(e, path, "too many entries");
        if (st_strlist_add(l, it->valuestring) != 0) /* GCOVR_EXCL_BR_LINE: allocation failure */
            return fail(e, path, "out of memory");   /* GCOVR_EXCL_LINE: allocation failure */
    }
    return 0;
}

static int apply_formats(st_ctx *c, const cJSON *obj, errbuf *e)
{
    if (!cJSON_IsObject(obj))
        return fail(e, "formats", "must be an object with \"allow\" and/or \"deny\"");
    for (const cJSON *it = obj->child; it != NULL; it = it->next) {
        char path[64];
        snprintf(path, sizeof(path), "formats.%.20s", it->string);
        int rc = strcmp(it->string, "allow") == 0  ? set_list(&c->formats_allow, it, path, e)
                 : strcmp(it->string, "deny") == 0 ? set_list(&c->formats_deny, it, path, e)
                                                   : fail(e, path, "unknown key (allow, deny)");
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* A pickle list entry: "module.name" (exact) or "module.*" (the module and its submodules). */
static int valid_global(const char *s)
{
    size_t n = strlen(s);
    if (n < 3 || s[0] == '.' || strchr(s, '.') == NULL || strstr(s, "..") != NULL)
        return 0;
    const char *star = strchr(s, '*');
    return star == NULL || (star == s + n - 1 && s[n - 2] == '.');
}

static int apply_bool(int *out, const cJSON *v, const char *path, errbuf *e)
{
    if (!cJSON_IsBool(v))
        return fail(e, path, "must be true or false");
    *out = cJSON_IsTrue(v);
    return 0;
}

static int apply_pickle(st_ctx *c, const cJSON *obj, errbuf *e)
{
    if (!cJSON_IsObject(obj))
        return fail(e, "pickle",
                    "must be an object (allow, deny, replace_allowlist, "
                    "replace_denylist)");
    for (const cJSON *it = obj->child; it != NULL; it = it->next) {
        char path[64];
        snprintf(path, sizeof(path), "pickle.%.30s", it->string);
        int rc;
        if (strcmp(it->string, "allow") == 0 || strcmp(it->string, "deny") == 0) {
            st_strlist *l = it->string[0] == 'a' ? &c->pk_allow : &c->pk_deny;
            rc = set_list(l, it, path, e);
            for (size_t i = 0; rc == 0 && i < l->n; i++)
                if (!valid_global(l->v[i]))
                    rc = fail(e, path, "entries are \"module.name\" or \"module.*\"");
        } else if (strcmp(it->string, "replace_allowlist") == 0)
            rc = apply_bool(&c->pk_replace_allow, it, path, e);
        else if (strcmp(it->string, "replace_denylist") == 0)
            rc = apply_bool(&c->pk_replace_deny, it, path, e);
        else
            rc = fail(e, path, "unknown key (allow, deny, replace_allowlist, replace_denylist)");
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* gguf.template_allow entries: KIND:NAME, KIND one the template checker extends (statements
 * change the parse and are not extensible; a leading underscore is never allowed). */
static int valid_template_entry(const char *s)
{
    static const char *const kinds[] = {
        "filter:", "test:", "global:", "method:", "name:", "attribute:"};
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        size_t n = strlen(kinds[i]);
        if (strncmp(s, kinds[i], n) != 0 || s[n] == '\0' || s[n] == '_')
            continue;
        for (const char *p = s + n; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '_'))
                return 0;
        return 1;
    }
    return 0;
}

static int apply_gguf(st_ctx *c, const cJSON *obj, errbuf *e)
{
    if (!cJSON_IsObject(obj))
        return fail(e, "gguf", "must be an object (template_allow)");
    for (const cJSON *it = obj->child; it != NULL; it = it->next) {
        char path[64];
        snprintf(path, sizeof(path), "gguf.%.30s", it->string);
        if (strcmp(it->string, "template_allow") != 0)
            return fail(e, path, "unknown key (template_allow)");
        if (set_list(&c->tpl_allow, it, path, e) != 0)
            return -1;
        for (size_t i = 0; i < c->tpl_allow.n; i++)
            if (!valid_template_entry(c->tpl_allow.v[i]))
                return fail(e, path,
                            "entries are KIND:NAME, KIND one of filter, test, global, method, "
                            "name, attribute; NAME without a leading underscore");
    }
    return 0;
}

/* "keras": { "allow": [...] }: named custom objects a Keras configuration may reference
 * (docs/policy.md). Entries name what a config names: "pkg.mod.Name", "pkg.*", "pkg>Name" or
 * "Name"; a bare "*" would allow everything and is refused. */
static int apply_keras(st_ctx *c, const cJSON *obj, errbuf *e)
{
    if (!cJSON_IsObject(obj))
        return fail(e, "keras", "must be an object (allow)");
    for (const cJSON *it = obj->child; it != NULL; it = it->next) {
        char path[64];
        snprintf(path, sizeof(path), "keras.%.30s", it->string);
        if (strcmp(it->string, "allow") != 0)
            return fail(e, path, "unknown key (allow)");
        if (set_list(&c->keras_allow, it, path, e) != 0)
            return -1;
        for (size_t i = 0; i < c->keras_allow.n; i++) {
            const char *v = c->keras_allow.v[i];
            size_t n = strlen(v);
            if (strchr(v, '*') != NULL &&
                (n < 3 || strcmp(v + n - 2, ".*") != 0 || strchr(v, '*') != v + n - 1))
                return fail(e, path,
                            "entries are pkg.mod.Name, pkg.* (a module and its "
                            "submodules), pkg>Name or Name");
        }
    }
    return 0;
}

/* onnx.allow_domains: operator domains added to the ONNX allowlist (ST806), exact names of at
 * most 256 bytes (docs/formats/onnx.md). */
static int apply_onnx(st_ctx *c, const cJSON *obj, errbuf *e)
{
    if (!cJSON_IsObject(obj))
        return fail(e, "onnx", "must be an object (allow_domains)");
    for (const cJSON *it = obj->child; it != NULL; it = it->next) {
        char path[64];
        snprintf(path, sizeof(path), "onnx.%.30s", it->string);
        if (strcmp(it->string, "allow_domains") != 0)
            return fail(e, path, "unknown key (allow_domains)");
        if (set_list(&c->onnx_domains, it, path, e) != 0)
            return -1;
        for (size_t i = 0; i < c->onnx_domains.n; i++)
            if (strlen(c->onnx_domains.v[i]) > 256)
                return fail(e, path, "entries are domain names of at most 256 bytes");
    }
    return 0;
}

static int apply_require_metadata(st_ctx *c, const cJSON *obj, errbuf *e)
{
    const char *p = "safetensors.require_metadata";
    if (!cJSON_IsObject(obj))
        return fail(e, p, "must be an object of key -> required value (a string, or true)");
    st_strlist_clear(&c->meta_keys);
    st_strlist_clear(&c->meta_values);
    for (const cJSON *it = obj->child; it != NULL; it = it->next) {
        char path[96];
        snprintf(path, sizeof(path), "%s.%.40s", p, it->string);
        if (!cJSON_IsString(it) && !cJSON_IsTrue(it))
            return fail(e, path, "must be a string (the exact value) or true (any value)");
        if (c->meta_keys.n >= 64)
            return fail(e, path, "more than 64 required keys");
        /* GCOVR_EXCL_BR_START: allocation failure */
        if (st_strlist_add(&c->meta_keys, it->string) != 0 ||
            st_strlist_add(&c->meta_values, cJSON_IsString(it) ? it->valuestring : "") != 0)
            return fail(e, path, "out of memory"); /* GCOVR_EXCL_LINE */
        /* GCOVR_EXCL_BR_STOP */
        /* "" stands for "any value": an exact empty value is written as true's opposite */
        if (cJSON_IsString(it) && it->valuestring[0] == '\0')
            return fail(e, path, "an empty required value: use true to require the key only");
    }
    return 0;
}

static int apply_safetensors(st_ctx *c, const cJSON *obj, errbuf *e)
{
    if (!cJSON_IsObject(obj))
        return fail(e, "safetensors", "must be an object (require_metadata)");
    for (const cJSON *it = obj->child; it != NULL; it = it->next) {
        char path[64];
        snprintf(path, sizeof(path), "safetensors.%.30s", it->string);
        if (strcmp(it->string, "require_metadata") != 0)
            return fail(e, path, "unknown key (require_metadata)");
        if (apply_require_metadata(c, it, e) != 0)
            return -1;
    }
    return 0;
}

static int apply_text(st_ctx *c, const char *json, const char *base_dir, int depth, errbuf *e);
static int apply_doc(st_ctx *c, const cJSON *doc, const char *base_dir, int depth, errbuf *e,
                     int in_override);

/* "overrides": [ { "paths": [globs], "policy": {...} } ]: stored as text, validated now by
 * applying each to a scratch copy, and applied per file by st_ctx_for_path. */
static int apply_overrides(st_ctx *c, const cJSON *arr, const char *base_dir, int depth, errbuf *e)
{
    if (!cJSON_IsArray(arr))
        return fail(e, "overrides", "must be an array of { \"paths\": [...], \"policy\": {...} }");
    int i = 0;
    for (const cJSON *it = arr->child; it != NULL; it = it->next, i++) {
        char path[64];
        snprintf(path, sizeof(path), "overrides[%d]", i);
        const cJSON *paths = cJSON_GetObjectItemCaseSensitive(it, "paths");
        const cJSON *pol = cJSON_GetObjectItemCaseSensitive(it, "policy");
        if (!cJSON_IsObject(it) || cJSON_GetArraySize(it) != 2 || !cJSON_IsArray(paths) ||
            !cJSON_IsObject(pol) || cJSON_GetArraySize(paths) == 0)
            return fail(e, path,
                        "must be { \"paths\": [non-empty list of globs], \"policy\": {...} }");
        char globs[4096];
        size_t gl = 0;
        for (const cJSON *g = paths->child; g != NULL; g = g->next) {
            size_t n = cJSON_IsString(g) ? strlen(g->valuestring) : 0;
            if (n == 0 || strchr(g->valuestring, '\n') != NULL || gl + n + 1 >= sizeof(globs))
                return fail(e, path, "paths must be non-empty globs (4 KiB in all)");
            memcpy(globs + gl, g->valuestring, n);
            globs[gl + n] = '\n';
            gl += n + 1;
        }
        /* GCOVR_EXCL_BR_START: paths is a non-empty list, so gl > 0; scratch and text are NULL
         * and the list additions fail on allocation failure only */
        globs[gl ? gl - 1 : 0] = '\0';
        st_ctx *scratch = st_ctx_clone(c);
        char inner[600];
        errbuf e2 = {inner, sizeof(inner)};
        int rc = scratch ? apply_doc(scratch, pol, base_dir, depth + 1, &e2, 1) : -1;
        st_ctx_free(scratch);
        if (rc != 0) {
            snprintf(e->err, e->size, "%s.policy.%s", path, scratch ? inner : "out of memory");
            return -1;
        }
        char *text = cJSON_PrintUnformatted(pol);
        int bad = text == NULL || st_strlist_add(&c->ov_globs, globs) != 0 ||
                  st_strlist_add(&c->ov_policies, text) != 0;
        cJSON_free(text);
        if (bad)
            return fail(e, path, "out of memory"); /* GCOVR_EXCL_LINE: allocation failure */
        /* GCOVR_EXCL_BR_STOP */
    }
    return 0;
}

static int apply_extends(st_ctx *c, const cJSON *v, const char *base_dir, int depth, errbuf *e)
{
    if (!cJSON_IsString(v))
        return fail(e, "extends", "must be \"default\" or a path");
    if (depth >= MAX_EXTENDS)
        return fail(e, "extends", "chain too long (a cycle?)");
    if (strcmp(v->valuestring, "default") == 0)
        return apply_text(c, st_default_policy_json, NULL, depth + 1, e);
    char path[4096];
    if (v->valuestring[0] == '/' || base_dir == NULL)
        snprintf(path, sizeof(path), "%s", v->valuestring);
    else
        snprintf(path, sizeof(path), "%s/%s", base_dir, v->valuestring);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(e->err, e->size, "extends: cannot open \"%s\": %s", path, strerror(errno));
        return -1;
    }
    char *text = malloc(MAX_POLICY_BYTES + 1);
    size_t n = text ? fread(text, 1, MAX_POLICY_BYTES + 1, f) : 0; /* GCOVR_EXCL_BR_LINE: alloc */
    fclose(f);
    /* (text is NULL on allocation failure only) */
    if (text == NULL || n > MAX_POLICY_BYTES) { /* GCOVR_EXCL_BR_LINE */
        free(text);
        return fail(e, "extends", "policy missing or larger than 4 MiB");
    }
    text[n] = '\0';
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash != NULL)
        *slash = '\0';
    int rc = apply_text(c, text, slash ? dir : NULL, depth + 1, e);
    free(text);
    return rc;
}

static int apply_doc(st_ctx *c, const cJSON *doc, const char *base_dir, int depth, errbuf *e,
                     int in_override)
{
    int rc = 0;
    const cJSON *ext = cJSON_GetObjectItemCaseSensitive(doc, "extends");
    if (ext != NULL && in_override)
        return fail(e, "extends", "not allowed in an override");
    if (ext != NULL)
        rc = apply_extends(c, ext, base_dir, depth, e);
    for (const cJSON *it = doc->child; rc == 0 && it != NULL; it = it->next) {
        const char *k = it->string;
        if (strcmp(k, "extends") == 0)
            continue;
        else if (strcmp(k, "severity") == 0)
            rc = apply_severity(c, it, e);
        else if (strcmp(k, "limits") == 0)
            rc = apply_limits(c, it, e);
        else if (strcmp(k, "formats") == 0)
            rc = apply_formats(c, it, e);
        else if (strcmp(k, "pickle") == 0)
            rc = apply_pickle(c, it, e);
        else if (strcmp(k, "gguf") == 0)
            rc = apply_gguf(c, it, e);
        else if (strcmp(k, "onnx") == 0)
            rc = apply_onnx(c, it, e);
        else if (strcmp(k, "keras") == 0)
            rc = apply_keras(c, it, e);
        else if (strcmp(k, "walk_extensions") == 0)
            rc = set_list(&c->walk_ext, it, "walk_extensions", e);
        else if (strcmp(k, "safetensors") == 0)
            rc = apply_safetensors(c, it, e);
        else if (strcmp(k, "overrides") == 0 && !in_override)
            rc = apply_overrides(c, it, base_dir, depth, e);
        else if (strcmp(k, "fail_on") == 0) {
            int s = cJSON_IsString(it) ? severity_of(it->valuestring, 1) : -1;
            if (s < 1)
                rc = fail(e, "fail_on", "must be \"info\", \"warning\", \"error\" or \"none\"");
            else
                c->fail_on = s;
        } else if (strcmp(k, "symlinks") == 0) {
            const char *v = cJSON_IsString(it) ? it->valuestring : "";
            if (strcmp(v, "report") != 0 && strcmp(v, "follow") != 0)
                rc = fail(e, "symlinks", "must be \"report\" or \"follow\"");
            else
                c->follow_symlinks = strcmp(v, "follow") == 0;
        } else if (strcmp(k, "git_store") == 0) {
            const char *v = cJSON_IsString(it) ? it->valuestring : "";
            if (strcmp(v, "skip") != 0 && strcmp(v, "check") != 0)
                rc = fail(e, "git_store", "must be \"skip\" or \"check\"");
            else
                c->walk_git_store = strcmp(v, "check") == 0;
        } else if (strcmp(k, "description") == 0) {
            if (!cJSON_IsString(it))
                rc = fail(e, "description", "must be a string");
        } else {
            char path[64];
            snprintf(path, sizeof(path), "%.40s", k);
            rc = fail(e, path,
                      in_override ? "unknown key in an override (description, fail_on, severity, "
                                    "limits, formats, symlinks, git_store, pickle, gguf, "
                                    "keras, onnx, safetensors, walk_extensions)"
                                  : "unknown key (extends, description, fail_on, severity, "
                                    "limits, formats, symlinks, git_store, pickle, gguf, "
                                    "keras, onnx, safetensors, walk_extensions, overrides)");
        }
    }
    return rc;
}

static int apply_text(st_ctx *c, const char *json, const char *base_dir, int depth, errbuf *e)
{
    cJSON *doc = cJSON_Parse(json);
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        return fail(e, "(document)", "not a JSON object");
    }
    int rc = apply_doc(c, doc, base_dir, depth, e, 0);
    cJSON_Delete(doc);
    return rc;
}

/* Applies to a copy, so that a policy with an error leaves the context unchanged. */
st_error st_ctx_load_policy_text(st_ctx *ctx, const char *json, const char *base_dir, char *err,
                                 size_t err_size)
{
    char dummy[8];
    errbuf e = {err ? err : dummy, err ? err_size : sizeof(dummy)};
    if (ctx == NULL || json == NULL)
        return ST_E_INVAL;
    st_ctx *tmp = st_ctx_clone(ctx);
    if (tmp == NULL)       /* GCOVR_EXCL_BR_LINE: allocation failure */
        return ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
    if (apply_text(tmp, json, base_dir, 0, &e) != 0) {
        st_ctx_free(tmp);
        return ST_E_INVAL;
    }
    /* swap: ctx takes tmp's contents, tmp (now holding the old lists) is freed */
    st_ctx old = *ctx;
    *ctx = *tmp;
    *tmp = old;
    st_ctx_free(tmp);
    return ST_OK;
}

st_error st_ctx_load_policy(st_ctx *ctx, const char *path, char *err, size_t err_size)
{
    if (ctx == NULL || path == NULL)
        return ST_E_INVAL;
    /* The file the caller named is blamed itself, not as the "extends" it is loaded through. */
    FILE *f = strcmp(path, "default") == 0 ? NULL : fopen(path, "rb");
    if (f == NULL && strcmp(path, "default") != 0) {
        if (err != NULL && err_size > 0)
            snprintf(err, err_size, "cannot open: %s", strerror(errno));
        return ST_E_IO;
    }
    if (f != NULL)
        fclose(f);
    /* A file is loaded as the policy {"extends": path}: one code path for files and layers. */
    cJSON *doc = cJSON_CreateObject();
    /* GCOVR_EXCL_START: allocation failure */
    if (doc == NULL || cJSON_AddStringToObject(doc, "extends", path) == NULL) {
        cJSON_Delete(doc);
        return ST_E_NOMEM;
    }
    char *json = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (json == NULL)
        return ST_E_NOMEM;
    /* GCOVR_EXCL_STOP */
    st_error rc = st_ctx_load_policy_text(ctx, json, NULL, err, err_size);
    cJSON_free(json);
    return rc;
}

static cJSON *list_json(const st_strlist *l)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a != NULL && i < l->n; i++) /* GCOVR_EXCL_BR_LINE: a NULL: allocation */
        cJSON_AddItemToArray(a, cJSON_CreateString(l->v[i]));
    return a;
}

/* Adds the parts of the effective policy beyond severities and limits. */
static void add_more_json(cJSON *doc, const st_ctx *ctx)
{
    cJSON *fmt = cJSON_AddObjectToObject(doc, "formats");
    cJSON_AddItemToObject(fmt, "allow", list_json(&ctx->formats_allow));
    cJSON_AddItemToObject(fmt, "deny", list_json(&ctx->formats_deny));
    cJSON_AddStringToObject(doc, "symlinks", ctx->follow_symlinks ? "follow" : "report");
    cJSON_AddStringToObject(doc, "git_store", ctx->walk_git_store ? "check" : "skip");
    cJSON_AddItemToObject(doc, "walk_extensions", list_json(&ctx->walk_ext));
    cJSON *pk = cJSON_AddObjectToObject(doc, "pickle");
    cJSON_AddItemToObject(pk, "allow", list_json(&ctx->pk_allow));
    cJSON_AddItemToObject(pk, "deny", list_json(&ctx->pk_deny));
    cJSON_AddBoolToObject(pk, "replace_allowlist", ctx->pk_replace_allow);
    cJSON_AddBoolToObject(pk, "replace_denylist", ctx->pk_replace_deny);
    cJSON *gg = cJSON_AddObjectToObject(doc, "gguf");
    cJSON_AddItemToObject(gg, "template_allow", list_json(&ctx->tpl_allow));
    cJSON *ox = cJSON_AddObjectToObject(doc, "onnx");
    cJSON_AddItemToObject(ox, "allow_domains", list_json(&ctx->onnx_domains));
    cJSON *ke = cJSON_AddObjectToObject(doc, "keras");
    cJSON_AddItemToObject(ke, "allow", list_json(&ctx->keras_allow));
    cJSON *req =
        cJSON_AddObjectToObject(cJSON_AddObjectToObject(doc, "safetensors"), "require_metadata");
    for (size_t i = 0; req != NULL && i < ctx->meta_keys.n; i++) { /* GCOVR_EXCL_BR_LINE: alloc */
        if (ctx->meta_values.v[i][0] == '\0')
            cJSON_AddTrueToObject(req, ctx->meta_keys.v[i]);
        else
            cJSON_AddStringToObject(req, ctx->meta_keys.v[i], ctx->meta_values.v[i]);
    }
    cJSON *ov = cJSON_AddArrayToObject(doc, "overrides");
    for (size_t i = 0; ov != NULL && i < ctx->ov_globs.n; i++) { /* GCOVR_EXCL_BR_LINE: alloc */
        cJSON *o = cJSON_CreateObject(), *paths = cJSON_AddArrayToObject(o, "paths");
        char globs[4096];
        snprintf(globs, sizeof(globs), "%s", ctx->ov_globs.v[i]);
        char *save = NULL;
        for (char *g = strtok_r(globs, "\n", &save); g; g = strtok_r(NULL, "\n", &save))
            cJSON_AddItemToArray(paths, cJSON_CreateString(g));
        cJSON_AddItemToObject(o, "policy", cJSON_Parse(ctx->ov_policies.v[i]));
        cJSON_AddItemToArray(ov, o);
    }
}

/* Does the glob match the path? Patterns are anchored at the start of the path (below the walk
 * root for -r, the path as given otherwise), as in .gitignore: an uploaded folder named like an
 * operator's relaxed pattern must not inherit it. Only a pattern that starts with a double star
 * and a slash matches at any depth (the rest of it against the path and every part after a
 * '/'). '*' also matches '/', so "vendor/" followed by a star covers the whole folder. */
static int glob_matches(const char *glob, const char *path)
{
    while (strncmp(path, "./", 2) == 0)
        path += 2;
    if (glob[0] == '/' && path[0] != '/')
        glob++; /* "/x" names x at the root, as in .gitignore */
    if (strncmp(glob, "**/", 3) != 0)
        return fnmatch(glob, path, 0) == 0;
    glob += 3;
    for (const char *p = path;;) {
        if (fnmatch(glob, p, 0) == 0)
            return 1;
        const char *slash = strchr(p, '/');
        if (slash == NULL)
            return 0;
        p = slash + 1;
    }
}

static int any_glob(const char *globs, const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", globs);
    char *save = NULL;
    for (char *g = strtok_r(buf, "\n", &save); g; g = strtok_r(NULL, "\n", &save))
        if (glob_matches(g, path))
            return 1;
    return 0;
}

st_ctx *st_ctx_for_path(st_ctx *ctx, const char *path)
{
    st_ctx *c = ctx;
    for (size_t i = 0; i < ctx->ov_globs.n; i++) {
        if (!any_glob(ctx->ov_globs.v[i], path))
            continue;
        if (c == ctx && (c = st_ctx_clone(ctx)) == NULL) /* GCOVR_EXCL_BR_LINE: allocation */
            return NULL;                                 /* GCOVR_EXCL_LINE: allocation failure */
        char err[8];
        errbuf e = {err, sizeof(err)};
        apply_text(c, ctx->ov_policies.v[i], NULL, 1, &e); /* validated when loaded */
    }
    return c;
}

char *st_ctx_policy_json(const st_ctx *ctx)
{
    cJSON *doc = cJSON_CreateObject(), *sev = cJSON_CreateObject(), *lim = cJSON_CreateObject();
    char *out = NULL;
    if (doc && sev && lim) { /* GCOVR_EXCL_BR_LINE: allocation failure */
        cJSON_AddStringToObject(doc, "fail_on", sev_names[ctx->fail_on]);
        for (size_t i = 0; i < st_rule_count(); i++)
            cJSON_AddStringToObject(sev, st_rule_at(i)->id, sev_names[ctx->sev[i]]);
        for (int i = 0; i < ST_LIMIT_COUNT_; i++)
            cJSON_AddNumberToObject(lim, limit_names[i], (double)ctx->limits[i]);
        cJSON_AddItemToObject(doc, "severity", sev);
        cJSON_AddItemToObject(doc, "limits", lim);
        add_more_json(doc, ctx);
        out = cJSON_Print(doc);
        cJSON_Delete(doc);
        return out;
    }
    /* GCOVR_EXCL_START: allocation failure */
    cJSON_Delete(doc);
    cJSON_Delete(sev);
    cJSON_Delete(lim);
    return NULL;
    /* GCOVR_EXCL_STOP */
}
