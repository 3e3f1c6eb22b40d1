/*
 * fuzz_pipeline.c - bytes -> the whole library: identification, every format module and view,
 * findings -> every report writer (text, coloured text, JSON document, JSON Lines). Whatever
 * names and strings the input holds, the JSON output must parse and the text must stay free of
 * control characters other than the newlines (and, when asked, colour escapes) it writes.
 * The file name (which drives the name/content checks) is chosen from the input's length.
 */
#define _GNU_SOURCE 1 /* open_memstream */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*writer)(FILE *, const st_report *, st_json_out *);

static int w_text(FILE *f, const st_report *r, st_json_out *j)
{
    (void)j;
    return st_write_text(f, r);
}
static int w_color(FILE *f, const st_report *r, st_json_out *j)
{
    (void)j;
    return st_write_text_color(f, r, 1);
}
static int w_jsonl(FILE *f, const st_report *r, st_json_out *j)
{
    (void)j;
    return st_write_jsonl(f, r);
}
static int w_json(FILE *f, const st_report *r, st_json_out *j)
{
    return st_json_out_add(j, r) == 0 ? st_json_out_write(j, f) : -1;
}

/* Runs a writer into memory and returns its output (free it). */
static char *capture(writer w, const st_report *r, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    st_json_out *j = st_json_out_new();
    if (f == NULL || j == NULL || w(f, r, j) != 0)
        abort();
    fclose(f);
    st_json_out_free(j);
    return buf;
}

static void check_json(const char *text)
{
    cJSON *doc = cJSON_Parse(text);
    if (doc == NULL)
        abort();
    cJSON_Delete(doc);
}

static void check_text(const char *text, size_t len, int color)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < 0x20 && c != '\n' && !(color && c == 0x1b))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static st_ctx *ctx;
    static const char *const names[] = {"fuzz.safetensors", "fuzz.pt", "fuzz.pkl", "fuzz"};
    if (ctx == NULL && (ctx = st_ctx_new()) == NULL)
        abort();
    st_report *r = st_check_buffer(ctx, data, size, names[size % 4]);
    if (r == NULL)
        abort();
    size_t len;
    char *out = capture(w_text, r, &len);
    check_text(out, len, 0);
    free(out);
    out = capture(w_color, r, &len);
    check_text(out, len, 1);
    free(out);
    out = capture(w_json, r, &len);
    check_json(out);
    free(out);
    out = capture(w_jsonl, r, &len);
    check_json(out);
    free(out);
    /* Fail closed: an error code always gives "could not check"; an error never passes. */
    st_verdict v = st_report_verdict(r);
    if (st_report_error(r) != ST_OK && v != ST_VERDICT_ERROR)
        abort();
    if (st_report_count_severity(r, ST_SEV_ERROR) > 0 && v == ST_VERDICT_PASS)
        abort();
    st_report_free(r);
    return 0;
}
