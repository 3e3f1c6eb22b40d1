/*
 * convert_cmd.c - the `stcheck convert INPUT OUTPUT` and `stcheck compare A B` subcommands
 * (docs/convert.md). Exit codes as for checks: 0 converted / identical, 1 findings (refused,
 * differences, an input that fails its checks), 2 could not check or convert, 3 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "convert_cmd.h"
#include "stcheck.h"

enum { OPT_POLICY = 256 };

static void usage(FILE *out)
{
    fputs("usage: stcheck convert [--policy FILE] [--format text|json] [-q] INPUT OUTPUT\n"
          "       stcheck compare [--policy FILE] [--format text|json] [-q] A B\n"
          "INPUT, A and B may be shard indexes (*.index.json); a sharded INPUT's OUTPUT is a\n"
          "folder or an *.index.json name (docs/convert.md)\n",
          out);
}

static int exit_for(const st_report *r)
{
    return r == NULL ? 2 : (int)st_report_verdict(r);
}

static int emit(const st_report *r, int json, int quiet)
{
    if (json) {
        st_doc *d = st_doc_new(ST_DOC_JSON);
        int rc = d == NULL || st_doc_add(d, r) != 0 || st_doc_write(d, stdout) != 0;
        st_doc_free(d);
        return rc;
    }
    if (quiet && st_report_verdict(r) == ST_VERDICT_PASS)
        return 0;
    return st_write_text(stdout, r) != 0;
}

int st_cli_convert(int argc, char **argv)
{
    static const struct option longopts[] = {{"policy", required_argument, NULL, OPT_POLICY},
                                             {"format", required_argument, NULL, 'f'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int compare = strcmp(argv[0], "compare") == 0, json = 0, quiet = 0, c;
    const char *policy = NULL;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+f:qh", longopts, NULL)) != -1) {
        if (c == OPT_POLICY)
            policy = optarg;
        else if (c == 'f' && (strcmp(optarg, "json") == 0 || strcmp(optarg, "text") == 0))
            json = strcmp(optarg, "json") == 0;
        else if (c == 'q')
            quiet = 1;
        else if (c == 'h') {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "stcheck %s: bad option or argument (%s)\n", argv[0],
                    c == 'f' ? "--format takes text or json" : "see --help");
            return 3;
        }
    }
    if (argc - optind != 2) {
        usage(stderr);
        return 3;
    }
    st_ctx *ctx = st_ctx_new();
    char err[512];
    if (ctx == NULL) {
        fputs("stcheck: out of memory\n", stderr);
        return 2;
    }
    if (policy != NULL && st_ctx_load_policy(ctx, policy, err, sizeof(err)) != ST_OK) {
        fprintf(stderr, "stcheck: policy: %s\n", err);
        st_ctx_free(ctx);
        return 3;
    }
    const char *a = argv[optind], *b = argv[optind + 1];
    st_report *r = compare ? st_compare_paths(ctx, a, b) : st_convert_path(ctx, a, b);
    int code = exit_for(r);
    if (r == NULL)
        fputs("stcheck: out of memory\n", stderr);
    else if (emit(r, json, quiet) != 0)
        code = 2;
    if (r != NULL && !compare && code == 0 && !json && !quiet)
        printf("converted: %s\n", b);
    st_report_free(r);
    st_ctx_free(ctx);
    return code;
}
