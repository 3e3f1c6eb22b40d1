/*
 * fuzz_convert.c - stcheck convert on fuzzed checkpoints, output into memory. Whatever the
 * input, a conversion that produces bytes must produce a safetensors file stcheck's own
 * validator passes in strict mode, holding what the input holds (compare finds nothing), and
 * the same input must give the same bytes twice. Seeds (fuzz/CMakeLists.txt seeds_convert):
 * corpus/pytorch (zip checkpoints and tar checkpoints, valid-tar-*.pt: the tar path of
 * src/convert/tarplan.c) and corpus/legacy.
 */
#include <string.h>

#include "convert/convert.h"
#include "fuzz_harness.h"

static st_ctx *convert_ctx(void)
{
    static st_ctx *ctx;
    if (ctx == NULL) {
        if ((ctx = st_ctx_new()) == NULL)
            abort();
        st_ctx_set_limit(ctx, ST_LIMIT_MEMBER_BYTES, 1u << 22); /* bounded memory */
    }
    return ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1u << 20))
        return 0;
    st_ctx *ctx = convert_ctx();
    unsigned char *out = NULL, *again = NULL;
    size_t len = 0, len2 = 0;
    st_report *r = st_cv_convert_buffer(ctx, data, size, &out, &len, 1u << 24);
    if (r == NULL)
        abort();
    if (out != NULL) {
        if (st_report_verdict(r) != ST_VERDICT_PASS)
            abort(); /* bytes only from a passing conversion */
        st_ctx *strict = st_ctx_new();
        if (strict == NULL)
            abort();
        st_ctx_set_strict(strict, 1);
        st_report *v = st_check_buffer(strict, out, len, "output.safetensors");
        if (v == NULL || st_report_verdict(v) != ST_VERDICT_PASS ||
            strcmp(st_report_format(v), "safetensors") != 0)
            abort();
        st_report_free(v);
        st_ctx_free(strict);
        st_report *r2 = st_cv_convert_buffer(ctx, data, size, &again, &len2, 1u << 24);
        if (r2 == NULL || again == NULL || len2 != len || memcmp(out, again, len) != 0)
            abort(); /* byte-reproducible */
        st_report_free(r2);
    }
    if (st_report_error(r) != ST_OK && st_report_verdict(r) != ST_VERDICT_ERROR)
        abort();
    free(out);
    free(again);
    st_report_free(r);
    return 0;
}
