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

static int write_finding(FILE *out, const st_report *r, const st_finding *f)
{
    return fprintf(out, "%s: %s %s: %s [at offset %" PRIu64 ", length %" PRIu64 "]\n", r->path,
                   st_severity_name(f->severity), f->id, f->message, f->offset, f->length);
}

int st_write_text(FILE *out, const st_report *r)
{
    for (size_t i = 0; i < r->n_findings; i++)
        if (write_finding(out, r, &r->findings[i]) < 0)
            return -1;
    st_verdict v = st_report_verdict(r);
    int rc;
    if (v == ST_VERDICT_ERROR)
        rc = fprintf(out, "%s: COULD NOT CHECK (%s: %s)\n", r->path, r->format,
                     st_error_name(r->err));
    else
        rc = fprintf(out, "%s: %s (%s: %zu error%s, %zu warning%s, %zu info)\n", r->path,
                     v == ST_VERDICT_PASS ? "PASS" : "FAIL", r->format, r->counts[ST_SEV_ERROR],
                     r->counts[ST_SEV_ERROR] == 1 ? "" : "s", r->counts[ST_SEV_WARNING],
                     r->counts[ST_SEV_WARNING] == 1 ? "" : "s", r->counts[ST_SEV_INFO]);
    return rc < 0 ? -1 : 0;
}
