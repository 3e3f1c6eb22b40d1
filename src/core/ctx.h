/*
 * ctx.h - the checking context: limits and options shared by every check.
 */
#ifndef ST_CTX_H
#define ST_CTX_H

#include "rules.h"
#include "stcheck.h"

struct st_ctx {
    uint64_t limits[ST_LIMIT_COUNT_];
    int strict;
    size_t max_findings; /* findings kept per report; the rest are counted only */
};

#endif /* ST_CTX_H */
