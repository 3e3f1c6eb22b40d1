/*
 * text.c - the plain-text report: one line per finding, then a verdict line.
 *
 *   PATH: SEVERITY ID: message [at offset O, length L]   (no range when O and L are both 0)
 *   PATH: FAIL (safetensors: 2 errors, 1 warning, 0 info)
 *
 * Paths and messages are escaped to printable text by the report; every string is escaped
 * again here with st_put_text (a no-op on escaped text), so no string in a report, however it
 * was made, can start a line of its own or carry a terminal escape sequence.
 */
#include <inttypes.h>
#include <string.h>

#include "../core/escape.h"
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

/* "PATH: " at the start of every line. */
static int put_path(FILE *out, const st_report *r)
{
    return st_put_text(out, r->path) != 0 || fputs(": ", out) < 0 ? -1 : 0;
}

static int write_finding(FILE *out, const st_report *r, const st_finding *f, int color)
{
    if (put_path(out, r) != 0 ||
        fprintf(out, "%s%s%s ", paint(color, sev_color(f->severity)), st_severity_name(f->severity),
                paint(color, "\033[0m")) < 0 ||
        st_put_text(out, f->id) != 0 || fputs(": ", out) < 0 || st_put_text(out, f->message) != 0)
        return -1;
    if (f->offset == 0 && f->length == 0) /* about the file, not a byte range: cannot open... */
        return fputs("\n", out) < 0 ? -1 : 0;
    return fprintf(out, " [at offset %" PRIu64 ", length %" PRIu64 "]\n", f->offset, f->length);
}

const char *st_escape_display(const char *s, char *buf, size_t size)
{
    if (s == NULL)
        s = "";
    return buf == NULL || size == 0 ? "" : st_escape(s, strlen(s), buf, size, size);
}

/* What the file is, as detail, when the format name does not say it: "xz [joblib]". */
static int put_kind(FILE *out, const st_report *r)
{
    const char *kind = st_report_kind(r);
    if (strcmp(kind, r->format) == 0)
        return 0;
    return fputs(" [", out) < 0 || st_put_text(out, kind) != 0 || fputc(']', out) == EOF ? -1 : 0;
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
    if (r->sha256[0] != '\0' &&
        (put_path(out, r) != 0 || fprintf(out, "sha256 %s\n", r->sha256) < 0))
        return -1;
    st_verdict v = st_report_verdict(r);
    const char *on = paint(color, v == ST_VERDICT_PASS ? "\033[32m" : "\033[31;1m");
    const char *off = paint(color, "\033[0m");
    int rc;
    if (put_path(out, r) != 0 ||
        fprintf(out, "%s%s%s (", on,
                v == ST_VERDICT_ERROR  ? "COULD NOT CHECK"
                : v == ST_VERDICT_PASS ? "PASS"
                                       : "FAIL",
                off) < 0 ||
        st_put_text(out, r->format) != 0 || put_kind(out, r) != 0)
        return -1;
    if (v == ST_VERDICT_ERROR)
        rc = fprintf(out, ": %s)\n", st_error_name(r->err));
    else
        rc = fprintf(out, ": %zu error%s, %zu warning%s, %zu info)\n", r->counts[ST_SEV_ERROR],
                     r->counts[ST_SEV_ERROR] == 1 ? "" : "s", r->counts[ST_SEV_WARNING],
                     r->counts[ST_SEV_WARNING] == 1 ? "" : "s", r->counts[ST_SEV_INFO]);
    return rc < 0 ? -1 : 0;
}
