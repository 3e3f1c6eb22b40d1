/*
 * ctx.h - the checking context: limits and options shared by every check.
 */
#ifndef ST_CTX_H
#define ST_CTX_H

#include "rules.h"
#include "stcheck.h"

#define ST_FAIL_NONE 4 /* fail_on "none": findings never fail a file (report only) */
#define ST_MAX_FORMAT_LIST 32

struct st_ctx {
    uint64_t limits[ST_LIMIT_COUNT_];
    st_severity sev[ST_R_COUNT_]; /* effective severity of every rule (policy) */
    int fail_on;                  /* lowest severity that fails a file, or ST_FAIL_NONE */
    int follow_symlinks; /* folder walks: check a link to a file inside the root as that file */
    size_t max_findings; /* findings kept per report; the rest are counted only */
    char *formats_allow[ST_MAX_FORMAT_LIST]; /* empty: every format */
    size_t n_allow;
    char *formats_deny[ST_MAX_FORMAT_LIST];
    size_t n_deny;
};

/* Nonzero when the policy lets this format pass. */
int st_ctx_format_allowed(const st_ctx *ctx, const char *format);
void st_ctx_clear_formats(st_ctx *ctx);

#endif /* ST_CTX_H */
