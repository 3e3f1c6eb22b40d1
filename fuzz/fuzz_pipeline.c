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

typedef int (*writer)(FILE *, const st_report *);

static int w_text(FILE *f, const st_report *r)
{
    return st_write_text(f, r);
}
static int w_color(FILE *f, const st_report *r)
{
    return st_write_text_color(f, r, 1);
}
static int w_jsonl(FILE *f, const st_report *r)
{
    return st_write_jsonl(f, r);
}
static int w_doc(FILE *f, const st_report *r, st_doc_format fmt)
{
    st_doc *d = st_doc_new(fmt);
    int rc = d != NULL && st_doc_add(d, r) == 0 ? st_doc_write(d, f) : -1;
    st_doc_free(d);
    return rc;
}
static int w_json(FILE *f, const st_report *r)
{
    return w_doc(f, r, ST_DOC_JSON);
}
static int w_sarif(FILE *f, const st_report *r)
{
    return w_doc(f, r, ST_DOC_SARIF);
}
static int w_junit(FILE *f, const st_report *r)
{
    return w_doc(f, r, ST_DOC_JUNIT);
}

/* Runs a writer into memory and returns its output (free it). */
static char *capture(writer w, const st_report *r, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (f == NULL || w(f, r) != 0)
        abort();
    fclose(f);
    return buf;
}

/* JUnit XML: every '&' starts one of XML's five entities, and test cases open and close in
 * pairs (attribute and text escaping keep hostile names from breaking the markup). */
static void check_xml(const char *text)
{
    static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
    size_t open = 0, close = 0;
    for (const char *p = text; *p; p++) {
        if (*p == '&') {
            int ok = 0;
            for (size_t i = 0; i < 5; i++)
                ok |= strncmp(p, ents[i], strlen(ents[i])) == 0;
            if (!ok)
                abort();
        }
        open += strncmp(p, "<testcase ", 10) == 0;
        close += strncmp(p, "</testcase>", 11) == 0;
    }
    if (open != close || open == 0)
        abort();
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
    /* SARIF carries every rule's documentation (~100 KB per document): written for every
     * input it would cut executions twentyfold, so one input in 16 (by its bytes) gets it. */
    if (size > 0 && (data[0] ^ data[size - 1] ^ (uint8_t)size) % 16 == 0) {
        out = capture(w_sarif, r, &len);
        check_json(out);
        free(out);
    }
    out = capture(w_junit, r, &len);
    check_text(out, len, 0); /* XML: no control bytes */
    check_xml(out);
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
