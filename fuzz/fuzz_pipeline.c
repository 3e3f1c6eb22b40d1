/*
 * fuzz_pipeline.c - bytes -> the whole library: identification, every format module and view,
 * findings -> text and JSON reports. The writers are fuzzed too: whatever the input holds, their
 * output must be produced without error. The file name (which drives the name/content checks)
 * is chosen from the input's length.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "stcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static st_ctx *ctx;
    static FILE *sink;
    if (ctx == NULL) {
        ctx = st_ctx_new();
        sink = fopen("/dev/null", "w");
        if (ctx == NULL || sink == NULL)
            abort();
    }
    static const char *const names[] = {"fuzz.safetensors", "fuzz.pt", "fuzz.pkl", "fuzz"};
    st_report *r = st_check_buffer(ctx, data, size, names[size % 4]);
    if (r == NULL)
        abort();
    if (st_write_text(sink, r) != 0)
        abort();
    st_json_out *j = st_json_out_new();
    if (j == NULL || st_json_out_add(j, r) != 0 || st_json_out_write(j, sink) != 0)
        abort();
    st_json_out_free(j);
    /* Fail closed: a report with no error-level finding and no error must not be "fail", and
     * an error code must always give "could not check". */
    st_verdict v = st_report_verdict(r);
    if (st_report_error(r) != ST_OK && v != ST_VERDICT_ERROR)
        abort();
    if (st_report_count_severity(r, ST_SEV_ERROR) > 0 && v == ST_VERDICT_PASS)
        abort();
    st_report_free(r);
    return 0;
}
