/*
 * fuzz_manifest.c - the --expect manifest parser (sha256sum format, escaped names) and the
 * lookup over what it accepted, on any bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    char *text = malloc(size + 1);
    st_ctx *ctx = st_ctx_new();
    if (text == NULL || ctx == NULL)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    if (st_manifest_parse(ctx, text, size, err, sizeof(err)) == ST_OK) {
        /* every accepted path is found again, with its digest */
        for (size_t i = 0; i < ctx->man_paths.n; i++)
            if (st_manifest_find(ctx, ctx->man_paths.v[i]) == NULL)
                abort();
        (void)st_manifest_find(ctx, "./model.safetensors");
    }
    st_ctx_free(ctx);
    free(text);
    return 0;
}
