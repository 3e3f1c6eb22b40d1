/*
 * ctx.h - the checking context: limits and options shared by every check.
 */
#ifndef ST_CTX_H
#define ST_CTX_H

#include "rules.h"
#include "stcheck.h"

#define ST_FAIL_NONE 4          /* fail_on "none": findings never fail a file (report only) */
#define ST_MAX_POLICY_LIST 4096 /* entries in one policy list */

/* An owned list of strings (policy lists). */
typedef struct {
    char **v;
    size_t n;
} st_strlist;

int st_strlist_add(st_strlist *l, const char *s); /* 0, or -1 when out of memory */
void st_strlist_clear(st_strlist *l);

struct st_ctx {
    uint64_t limits[ST_LIMIT_COUNT_];
    st_severity sev[ST_R_COUNT_]; /* effective severity of every rule (policy) */
    int fail_on;                  /* lowest severity that fails a file, or ST_FAIL_NONE */
    int follow_symlinks; /* policy "symlinks": "follow" (links to files are checked either way) */
    int walk_git_store;  /* folder walks: walk a .git store too (policy "git_store": "check") */
    int digest;          /* compute each file's SHA-256 */
    int deep;            /* read every tensor: NaN/Inf counts (safetensors) */
    int expect;          /* a manifest was loaded: files must match it */
    st_strlist man_paths, man_digests; /* the manifest, sorted by path */
    st_strlist walk_ext;               /* -r: regular files checked only with these suffixes */
    size_t max_findings;               /* findings kept per report; the rest are counted only */
    st_strlist formats_allow;          /* empty: every format */
    st_strlist formats_deny;
    /* pickle verdicts (policy "pickle"): entries "module.name" or "module.*" */
    st_strlist pk_allow, pk_deny;
    int pk_replace_allow; /* the policy's allow list replaces the built-in one */
    int pk_replace_deny;  /* the policy's deny list replaces the built-in one */
    /* GGUF chat templates (policy "gguf.template_allow"): "filter:NAME", "test:NAME",
     * "global:NAME", "method:NAME", "name:NAME" or "attribute:NAME" added to the allowlist */
    st_strlist tpl_allow;
    /* Keras configurations (policy "keras.allow"): custom objects allowed by name,
     * "pkg.mod.Name", "pkg.*", "pkg>Name" (a registered name) or "Name" (no module) */
    st_strlist keras_allow;
    /* ONNX operator domains added to the allowlist (policy "onnx.allow_domains") */
    st_strlist onnx_domains;
    /* required safetensors __metadata__ (policy "safetensors.require_metadata"):
     * keys, and the value each must have ("" in meta_any: any value) */
    st_strlist meta_keys, meta_values;
    /* path overrides (policy "overrides"): globs and the policy text each applies */
    st_strlist ov_globs, ov_policies; /* ov_globs[i] holds globs separated by NUL-free '\n' */
    /* remote checks (src/fetch/): --max-fetch, --timeout, --header lines, --cacert (0 or 1) */
    uint64_t max_fetch;
    long fetch_timeout;
    long fetch_deadline; /* --fetch-timeout: seconds a URL's whole check may take */
    /* --no-private-addresses: no connection to a non-public address (src/fetch/addr.c) */
    int no_private_addrs;
    st_strlist fetch_headers, fetch_cacert;
};

/* Nonzero when the policy lets this format pass. */
int st_ctx_format_allowed(const st_ctx *ctx, const char *format);
/* A deep copy (NULL when out of memory). */
st_ctx *st_ctx_clone(const st_ctx *ctx);
/* The context that applies to a path: ctx itself, or a clone with every matching override
 * applied (free it with st_ctx_free when it differs from ctx). NULL when out of memory. */
st_ctx *st_ctx_for_path(st_ctx *ctx, const char *path);

#endif /* ST_CTX_H */
