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
 *     "formats": { "allow": [ "safetensors", ... ], "deny": [ "pickle", ... ] } }
 * A policy is applied on top of what it extends. "default" is rules/default.json, compiled in
 * (so the binary needs no rules/ folder); it states exactly the built-in severities and limits
 * a new context starts with (a test keeps the two identical).
 */
#include <cjson/cJSON.h>
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

static int set_list(char **list, size_t *n, const cJSON *arr, const char *path, errbuf *e)
{
    if (!cJSON_IsArray(arr))
        return fail(e, path, "must be an array of format names");
    for (size_t i = 0; i < *n; i++)
        free(list[i]);
    *n = 0;
    for (const cJSON *it = arr->child; it != NULL; it = it->next) {
        if (!cJSON_IsString(it) || it->valuestring[0] == '\0')
            return fail(e, path, "must hold only non-empty strings");
        if (*n >= ST_MAX_FORMAT_LIST)
            return fail(e, path, "too many entries");
        if ((list[*n] = strdup(it->valuestring)) == NULL)
            return fail(e, path, "out of memory");
        (*n)++;
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
        int rc =
            strcmp(it->string, "allow") == 0  ? set_list(c->formats_allow, &c->n_allow, it, path, e)
            : strcmp(it->string, "deny") == 0 ? set_list(c->formats_deny, &c->n_deny, it, path, e)
                                              : fail(e, path, "unknown key (allow, deny)");
        if (rc != 0)
            return -1;
    }
    return 0;
}

static int apply_text(st_ctx *c, const char *json, const char *base_dir, int depth, errbuf *e);

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
    if (f == NULL)
        return fail(e, "extends", "cannot open the policy it names");
    char *text = malloc(MAX_POLICY_BYTES + 1);
    size_t n = text ? fread(text, 1, MAX_POLICY_BYTES + 1, f) : 0;
    fclose(f);
    if (text == NULL || n > MAX_POLICY_BYTES) {
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

static int apply_text(st_ctx *c, const char *json, const char *base_dir, int depth, errbuf *e)
{
    cJSON *doc = cJSON_Parse(json);
    int rc = 0;
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        return fail(e, "(document)", "not a JSON object");
    }
    const cJSON *ext = cJSON_GetObjectItemCaseSensitive(doc, "extends");
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
        } else if (strcmp(k, "description") == 0) {
            if (!cJSON_IsString(it))
                rc = fail(e, "description", "must be a string");
        } else {
            char path[64];
            snprintf(path, sizeof(path), "%.40s", k);
            rc = fail(e, path,
                      "unknown key (extends, description, fail_on, severity, limits, "
                      "formats, symlinks)");
        }
    }
    cJSON_Delete(doc);
    return rc;
}

/* Applies to a copy, so that a policy with an error leaves the context unchanged. */
st_error st_ctx_load_policy_text(st_ctx *ctx, const char *json, const char *base_dir, char *err,
                                 size_t err_size)
{
    char dummy[8];
    errbuf e = {err ? err : dummy, err ? err_size : sizeof(dummy)};
    st_ctx *tmp = st_ctx_new();
    if (ctx == NULL || json == NULL || tmp == NULL) {
        st_ctx_free(tmp);
        return ST_E_INVAL;
    }
    memcpy(tmp->limits, ctx->limits, sizeof(ctx->limits));
    memcpy(tmp->sev, ctx->sev, sizeof(ctx->sev));
    tmp->fail_on = ctx->fail_on;
    tmp->follow_symlinks = ctx->follow_symlinks;
    for (size_t i = 0; i < ctx->n_allow; i++)
        tmp->formats_allow[tmp->n_allow++] = strdup(ctx->formats_allow[i]);
    for (size_t i = 0; i < ctx->n_deny; i++)
        tmp->formats_deny[tmp->n_deny++] = strdup(ctx->formats_deny[i]);
    if (apply_text(tmp, json, base_dir, 0, &e) != 0) {
        st_ctx_free(tmp);
        return ST_E_INVAL;
    }
    st_ctx_clear_formats(ctx);
    *ctx = *tmp; /* takes over tmp's format strings */
    free(tmp);
    return ST_OK;
}

st_error st_ctx_load_policy(st_ctx *ctx, const char *path, char *err, size_t err_size)
{
    /* A file is loaded as the policy {"extends": path}: one code path for files and layers. */
    cJSON *doc = cJSON_CreateObject();
    if (doc == NULL || cJSON_AddStringToObject(doc, "extends", path) == NULL) {
        cJSON_Delete(doc);
        return ST_E_NOMEM;
    }
    char *json = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    if (json == NULL)
        return ST_E_NOMEM;
    st_error rc = st_ctx_load_policy_text(ctx, json, NULL, err, err_size);
    cJSON_free(json);
    return rc;
}

char *st_ctx_policy_json(const st_ctx *ctx)
{
    cJSON *doc = cJSON_CreateObject(), *sev = cJSON_CreateObject(), *lim = cJSON_CreateObject();
    cJSON *fmt = cJSON_CreateObject(), *allow = cJSON_CreateArray(), *deny = cJSON_CreateArray();
    char *out = NULL;
    if (doc && sev && lim && fmt && allow && deny) {
        cJSON_AddStringToObject(doc, "fail_on", sev_names[ctx->fail_on]);
        cJSON_AddStringToObject(doc, "symlinks", ctx->follow_symlinks ? "follow" : "report");
        for (size_t i = 0; i < st_rule_count(); i++)
            cJSON_AddStringToObject(sev, st_rule_at(i)->id, sev_names[ctx->sev[i]]);
        for (int i = 0; i < ST_LIMIT_COUNT_; i++)
            cJSON_AddNumberToObject(lim, limit_names[i], (double)ctx->limits[i]);
        for (size_t i = 0; i < ctx->n_allow; i++)
            cJSON_AddItemToArray(allow, cJSON_CreateString(ctx->formats_allow[i]));
        for (size_t i = 0; i < ctx->n_deny; i++)
            cJSON_AddItemToArray(deny, cJSON_CreateString(ctx->formats_deny[i]));
        cJSON_AddItemToObject(fmt, "allow", allow);
        cJSON_AddItemToObject(fmt, "deny", deny);
        cJSON_AddItemToObject(doc, "severity", sev);
        cJSON_AddItemToObject(doc, "limits", lim);
        cJSON_AddItemToObject(doc, "formats", fmt);
        out = cJSON_Print(doc);
        cJSON_Delete(doc);
        return out;
    }
    cJSON_Delete(doc);
    cJSON_Delete(sev);
    cJSON_Delete(lim);
    cJSON_Delete(fmt);
    cJSON_Delete(allow);
    cJSON_Delete(deny);
    return NULL;
}
