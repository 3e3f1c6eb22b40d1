/*
 * text.c - the plain-text report: one line per finding, then a verdict line.
 *
 *   PATH: SEVERITY ID: message [at offset O, length L]
 *   PATH: FAIL (safetensors: 2 errors, 1 warning, 0 info)
 *
 * Paths and messages are already escaped to printable text by the report.
 */
#include <inttypes.h>

#include "../core/report.h"

/* ANSI colours, used only when asked (the CLI asks on a terminal, or with --color=always). */
static const char *paint(int color, const char *code)
{
    return color ? code : "";
}

static const char *sev_color(st_severity s)
{
    return s == ST_SEV_ERROR ? "\033[31m" : s == ST_SEV_WARNING ? "\033[33m" : "\033[36m";
}

static int write_finding(FILE *out, const st_report *r, const st_finding *f, int color)
{
    return fprintf(out, "%s: %s%s%s %s: %s [at offset %" PRIu64 ", length %" PRIu64 "]\n", r->path,
                   paint(color, sev_color(f->severity)), st_severity_name(f->severity),
                   paint(color, "\033[0m"), f->id, f->message, f->offset, f->length);
}

int st_write_text(FILE *out, const st_report *r)
{
    return st_write_text_color(out, r, 0);
}

int st_write_text_color(FILE *out, const st_report *r, int color)
{
    for (size_t i = 0; i < r->n_findings; i++)
        if (write_finding(out, r, &r->findings[i], color) < 0)
            return -1;
    if (r->sha256[0] != '\0' && fprintf(out, "%s: sha256 %s\n", r->path, r->sha256) < 0)
        return -1;
    st_verdict v = st_report_verdict(r);
    const char *on = paint(color, v == ST_VERDICT_PASS ? "\033[32m" : "\033[31;1m");
    const char *off = paint(color, "\033[0m");
    int rc;
    if (v == ST_VERDICT_ERROR)
        rc = fprintf(out, "%s: %sCOULD NOT CHECK%s (%s: %s)\n", r->path, on, off, r->format,
                     st_error_name(r->err));
    else
        rc =
            fprintf(out, "%s: %s%s%s (%s: %zu error%s, %zu warning%s, %zu info)\n", r->path, on,
                    v == ST_VERDICT_PASS ? "PASS" : "FAIL", off, r->format, r->counts[ST_SEV_ERROR],
                    r->counts[ST_SEV_ERROR] == 1 ? "" : "s", r->counts[ST_SEV_WARNING],
                    r->counts[ST_SEV_WARNING] == 1 ? "" : "s", r->counts[ST_SEV_INFO]);
    return rc < 0 ? -1 : 0;
}
