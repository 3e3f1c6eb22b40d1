/*
 * fuzz_policy.c - the policy parser (cJSON reading plus our validation) on any text, and the
 * effective-policy writer. Policies are trusted input, but a parser that crashes on a typo is
 * still a bug; "extends" paths are refused here so the target never touches the file system.
 */
#define _GNU_SOURCE 1 /* memmem */
#include <stdlib.h>
#include <string.h>

#include "stcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536 || memmem(data, size, "extends", 7) != NULL)
        return 0;
    char *text = malloc(size + 1);
    char err[256];
    st_ctx *ctx = st_ctx_new();
    if (text == NULL || ctx == NULL)
        abort();
    memcpy(text, data, size);
    text[size] = '\0';
    char *before = st_ctx_policy_json(ctx);
    st_error rc = st_ctx_load_policy_text(ctx, text, NULL, err, sizeof(err));
    char *after = st_ctx_policy_json(ctx);
    if (before == NULL || after == NULL)
        abort();
    if (rc != ST_OK && strcmp(before, after) != 0) /* a refused policy must change nothing */
        abort();
    if (rc != ST_OK && memchr(err, '\0', sizeof(err)) == NULL)
        abort();
    free(before);
    free(after);
    free(text);
    st_ctx_free(ctx);
    return 0;
}
