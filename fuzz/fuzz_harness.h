/*
 * fuzz_harness.h - builds the internal st_input a format module receives, over fuzzer bytes,
 * for targets that drive one parser directly.
 */
#ifndef ST_FUZZ_HARNESS_H
#define ST_FUZZ_HARNESS_H

#include <stdlib.h>

#include "formats/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    st_src src;
    st_input in;
} fuzz_input;

static inline const st_ctx *fuzz_ctx(void)
{
    static st_ctx *ctx;
    if (ctx == NULL && (ctx = st_ctx_new()) == NULL)
        abort();
    return ctx;
}

static inline void fuzz_input_init(fuzz_input *f, const uint8_t *data, size_t size,
                                   const char *name)
{
    const st_ctx *ctx = fuzz_ctx();
    st_report *r = st_report_new(ctx, name);
    if (r == NULL)
        abort();
    size_t h = size < ST_HEAD_BYTES ? size : ST_HEAD_BYTES;
    f->src = (st_src){-1, data, size};
    f->in = (st_input){.ctx = ctx,
                       .report = r,
                       .src = &f->src,
                       .head = data,
                       .head_len = h,
                       .tail = data + size - h,
                       .tail_len = h,
                       .name = name};
}

/* Fail-closed invariants every check must keep, then frees the report. */
static inline void fuzz_input_finish(fuzz_input *f, st_error err)
{
    st_report *r = f->in.report;
    if (err != ST_OK)
        st_report_fail(r, err);
    if (st_report_error(r) != ST_OK && st_report_verdict(r) != ST_VERDICT_ERROR)
        abort();
    if (st_report_count_severity(r, ST_SEV_ERROR) > 0 && st_report_verdict(r) == ST_VERDICT_PASS)
        abort();
    for (size_t i = 0; i < st_report_finding_count(r); i++)
        if (st_rule_find(st_report_finding(r, i)->id) == NULL)
            abort();
    st_report_free(r);
}

#endif /* ST_FUZZ_HARNESS_H */
