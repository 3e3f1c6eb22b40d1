/*
 * corpus_probe.c - reads one corpus file through the entry that consumes its kind and prints
 * the exact outcome on one line, for tests/corpus_test.py (corpus folders that are not whole
 * model files: JSON fragments, policies, --expect manifests).
 *
 *   corpus_probe json FILE      the strict JSON scanner, as fuzz_json drives it (depth 32):
 *                               "ok TOKENS" or "error KIND@OFFSET"
 *   corpus_probe manifest FILE  st_manifest_parse: "ok ENTRIES" or "error: MESSAGE"
 *   corpus_probe policy FILE    st_ctx_load_policy: "ok" or "error: MESSAGE"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctx.h"
#include "core/manifest.h"
#include "json/json.h"
#include "read_whole.h"
#include "stcheck.h"

static int probe_json(const char *text, size_t len)
{
    static const char *const kinds[] = {"OK",     "SYNTAX", "UTF8",     "CONTROL",
                                        "DUPKEY", "DEPTH",  "TRAILING", "NOMEM"};
    st_json *j = st_json_new((const unsigned char *)text, len, 32);
    if (j == NULL)
        return puts("error NEW") < 0;
    st_json_tok t;
    size_t tokens = 0;
    st_json_err e;
    while ((e = st_json_next(j, &t)) == ST_JSON_OK && t.type != ST_JT_END)
        tokens++;
    if (e == ST_JSON_OK)
        printf("ok %zu\n", tokens);
    else
        printf("error %s@%zu\n", (unsigned)e < 8 ? kinds[e] : "?", st_json_error_offset(j));
    st_json_free(j);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fputs("usage: corpus_probe json|manifest|policy FILE\n", stderr);
        return 2;
    }
    size_t len = 0;
    char *text = (char *)rw_read_file(argv[2], &len);
    st_ctx *ctx = st_ctx_new();
    char err[512] = "";
    int rc = 0;
    if (text == NULL || ctx == NULL) {
        perror(argv[2]);
        rc = 2;
    } else if (strcmp(argv[1], "json") == 0) {
        rc = probe_json(text, len);
    } else if (strcmp(argv[1], "manifest") == 0) {
        if (st_manifest_parse(ctx, text, len, err, sizeof(err)) == ST_OK)
            printf("ok %zu\n", ctx->man_paths.n);
        else
            printf("error: %s\n", err);
    } else if (strcmp(argv[1], "policy") == 0) {
        if (st_ctx_load_policy(ctx, argv[2], err, sizeof(err)) == ST_OK)
            puts("ok");
        else
            printf("error: %s\n", err);
    } else {
        fprintf(stderr, "corpus_probe: unknown kind %s\n", argv[1]);
        rc = 2;
    }
    st_ctx_free(ctx);
    free(text);
    return rc;
}
