/*
 * report.c - findings list, counts and the verdict.
 */
#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

st_report *st_report_new(const st_ctx *ctx, const char *display_name)
{
    char buf[4096];
    st_report *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    if (display_name == NULL)
        display_name = "";
    st_escape(display_name, strlen(display_name), buf, sizeof(buf), sizeof(buf));
    r->path = strdup(buf);
    if (r->path == NULL) {
        free(r);
        return NULL;
    }
    r->format = "unknown";
    r->strict = ctx->strict;
    r->max_findings = ctx->max_findings;
    return r;
}

void st_report_free(st_report *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_findings; i++)
        free((char *)r->findings[i].message);
    free(r->findings);
    free(r->path);
    free(r);
}

void st_report_fail(st_report *r, st_error err)
{
    if (r->err == ST_OK)
        r->err = err;
}

static int reserve_finding(st_report *r)
{
    if (r->n_findings < r->cap_findings)
        return 0;
    size_t cap = r->cap_findings ? r->cap_findings * 2 : 16;
    st_finding *f = realloc(r->findings, cap * sizeof(*f));
    if (f == NULL)
        return -1;
    r->findings = f;
    r->cap_findings = cap;
    return 0;
}

static void store(st_report *r, const st_rule *rule, uint64_t offset, uint64_t length,
                  const char *msg)
{
    char *copy = strdup(msg);
    if (copy == NULL || reserve_finding(r) != 0) {
        free(copy);
        st_report_fail(r, ST_E_NOMEM);
        return;
    }
    st_finding *f = &r->findings[r->n_findings++];
    f->id = rule->id;
    f->severity = rule->severity;
    f->offset = offset;
    f->length = length;
    f->message = copy;
}

void st_report_add(st_report *r, st_rule_id rule_id, uint64_t offset, uint64_t length,
                   const char *fmt, ...)
{
    const st_rule *rule = st_rules_get(rule_id);
    char msg[1024];
    va_list ap;

    if (rule == NULL || rule->severity == ST_SEV_OFF)
        return;
    r->counts[rule->severity]++;
    /* Keep the list bounded: a hostile header can yield a finding per tensor. Counts stay
     * exact, so the verdict never depends on what was dropped. */
    if (r->n_findings >= r->max_findings) {
        if (!r->truncated) {
            r->truncated = 1;
            const st_rule *t = st_rules_get(ST_R_FINDINGS_TRUNCATED);
            r->counts[t->severity]++;
            store(r, t, 0, 0, "further findings are counted but not listed");
        }
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    store(r, rule, offset, length, msg);
}

st_verdict st_report_verdict(const st_report *r)
{
    if (r == NULL || r->err != ST_OK)
        return ST_VERDICT_ERROR;
    if (r->counts[ST_SEV_ERROR] > 0)
        return ST_VERDICT_FAIL;
    if (r->strict && r->counts[ST_SEV_WARNING] > 0)
        return ST_VERDICT_FAIL;
    return ST_VERDICT_PASS;
}

st_error st_report_error(const st_report *r)
{
    return r ? r->err : ST_E_INVAL;
}
const char *st_report_path(const st_report *r)
{
    return r->path;
}
const char *st_report_format(const st_report *r)
{
    return r->format;
}
uint64_t st_report_file_size(const st_report *r)
{
    return r->file_size;
}
uint64_t st_report_header_length(const st_report *r)
{
    return r->header_len;
}
uint64_t st_report_tensor_count(const st_report *r)
{
    return r->tensor_count;
}
size_t st_report_finding_count(const st_report *r)
{
    return r->n_findings;
}

const st_finding *st_report_finding(const st_report *r, size_t i)
{
    return i < r->n_findings ? &r->findings[i] : NULL;
}

size_t st_report_count_severity(const st_report *r, st_severity sev)
{
    if ((unsigned)sev > ST_SEV_ERROR)
        return 0;
    return r->counts[sev];
}
