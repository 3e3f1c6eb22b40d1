/*
 * report.c - findings list, counts and the verdict.
 */
#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../formats/onnx/onnx_facts.h"
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
    r->fail_on = ctx->fail_on;
    r->sevmap = ctx->sev;
    r->max_findings = ctx->max_findings;
    return r;
}

static char *escaped_dup(const char *s)
{
    char buf[1024];
    st_escape(s, strlen(s), buf, sizeof(buf), 600);
    return strdup(buf);
}

long st_report_add_import(st_report *r, const char *module, const char *name, const char *member,
                          const char *judgement, uint64_t offset)
{
    return st_report_add_import_as(r, module, name, module, name, member, judgement, offset);
}

long st_report_add_import_as(st_report *r, const char *module, const char *name,
                             const char *written_module, const char *written_name,
                             const char *member, const char *judgement, uint64_t offset)
{
    if (r->n_imports == r->cap_imports) {
        size_t cap = r->cap_imports ? r->cap_imports * 2 : 16;
        st_import *p = realloc(r->imports, cap * sizeof(*p));
        if (p == NULL)
            goto nomem;
        r->imports = p;
        r->cap_imports = cap;
    }
    st_import *im = &r->imports[r->n_imports];
    im->module = escaped_dup(module);
    im->name = escaped_dup(name);
    im->member = escaped_dup(member ? member : "");
    im->written_module = escaped_dup(written_module);
    im->written_name = escaped_dup(written_name);
    if (im->module == NULL || im->name == NULL || im->member == NULL ||
        im->written_module == NULL || im->written_name == NULL) {
        free((char *)im->module);
        free((char *)im->name);
        free((char *)im->member);
        free((char *)im->written_module);
        free((char *)im->written_name);
        goto nomem;
    }
    im->judgement = judgement;
    im->offset = offset;
    im->count = 1;
    return (long)r->n_imports++;
nomem:
    st_report_fail(r, ST_E_NOMEM);
    return -1;
}

void st_report_add_call(st_report *r, const char *callable, const char *opcode, const char *member,
                        uint64_t offset)
{
    r->calls_total++;
    if (r->n_calls >= ST_MAX_CALLS)
        return;
    if (r->n_calls == r->cap_calls) {
        size_t cap = r->cap_calls ? r->cap_calls * 2 : 16;
        st_call *p = realloc(r->calls, cap * sizeof(*p));
        if (p == NULL) {
            st_report_fail(r, ST_E_NOMEM);
            return;
        }
        r->calls = p;
        r->cap_calls = cap;
    }
    st_call *c = &r->calls[r->n_calls];
    c->callable = escaped_dup(callable);
    c->member = escaped_dup(member ? member : "");
    if (c->callable == NULL || c->member == NULL) {
        free((char *)c->callable);
        free((char *)c->member);
        st_report_fail(r, ST_E_NOMEM);
        return;
    }
    c->opcode = opcode;
    c->offset = offset;
    r->n_calls++;
}

size_t st_report_import_count(const st_report *r)
{
    return r->n_imports;
}
const st_import *st_report_import(const st_report *r, size_t i)
{
    return i < r->n_imports ? &r->imports[i] : NULL;
}
size_t st_report_call_count(const st_report *r)
{
    return r->n_calls;
}
const st_call *st_report_call(const st_report *r, size_t i)
{
    return i < r->n_calls ? &r->calls[i] : NULL;
}
uint64_t st_report_call_total(const st_report *r)
{
    return r->calls_total;
}

void st_report_free(st_report *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_imports; i++) {
        free((char *)r->imports[i].module);
        free((char *)r->imports[i].name);
        free((char *)r->imports[i].member);
        free((char *)r->imports[i].written_module);
        free((char *)r->imports[i].written_name);
    }
    free(r->imports);
    for (size_t i = 0; i < r->n_calls; i++) {
        free((char *)r->calls[i].callable);
        free((char *)r->calls[i].member);
    }
    free(r->calls);
    for (size_t i = 0; i < r->n_findings; i++)
        free((char *)r->findings[i].message);
    free(r->findings);
    st_onnx_facts_free(r->onnx);
    free(r->keras_layers);
    free(r->path);
    free(r->repository);
    free(r);
}

const char *st_report_repository(const st_report *r)
{
    return r->repository;
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

static void store(st_report *r, const st_rule *rule, st_severity sev, uint64_t offset,
                  uint64_t length, const char *msg)
{
    char *copy = strdup(msg);
    if (copy == NULL || reserve_finding(r) != 0) {
        free(copy);
        st_report_fail(r, ST_E_NOMEM);
        return;
    }
    st_finding *f = &r->findings[r->n_findings++];
    f->id = rule->id;
    f->severity = sev;
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

    if (rule == NULL)
        return;
    st_severity sev = r->sevmap ? r->sevmap[rule_id] : rule->severity;
    if (sev == ST_SEV_OFF)
        return; /* the policy turned this finding off */
    r->counts[sev]++;
    /* Keep the list bounded: a hostile header can yield a finding per tensor. Counts stay
     * exact, so the verdict never depends on what was dropped. */
    if (r->n_findings >= r->max_findings) {
        if (!r->truncated) {
            r->truncated = 1;
            const st_rule *t = st_rules_get(ST_R_FINDINGS_TRUNCATED);
            r->counts[t->severity]++;
            store(r, t, t->severity, 0, 0, "further findings are counted but not listed");
        }
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    store(r, rule, sev, offset, length, msg);
}

st_verdict st_report_verdict(const st_report *r)
{
    if (r == NULL || r->err != ST_OK)
        return ST_VERDICT_ERROR;
    for (int s = r->fail_on; s <= ST_SEV_ERROR; s++)
        if (s >= ST_SEV_INFO && r->counts[s] > 0)
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
const char *st_report_kind(const st_report *r)
{
    return r->kind != NULL ? r->kind : r->format;
}
const char *st_report_wrapper(const st_report *r)
{
    return r->wrapper;
}

/* A pickle is joblib's when it holds joblib's array wrappers (joblib.dump writes one per array;
 * a joblib file without arrays is a plain pickle to every reader). */
static int imports_joblib(const st_report *r)
{
    for (size_t i = 0; i < r->n_imports; i++)
        if (strncmp(r->imports[i].module, "joblib.numpy_pickle", 19) == 0 &&
            strstr(r->imports[i].name, "ArrayWrapper") != NULL)
            return 1;
    return 0;
}

void st_report_settle_kind(st_report *r)
{
    if (strcmp(r->format, "joblib-zfile") == 0) { /* old joblib's zlib-compressed pickle */
        r->kind = "joblib";
        r->wrapper = "zlib";
        return;
    }
    /* set already: a compression wrapper's content (formats.c) or an .npz (ziparchive.c) */
    if (r->kind != NULL && r->wrapper == NULL && strcmp(r->kind, r->format) != 0)
        r->wrapper = r->format;
    if (r->kind == NULL)
        r->kind = r->format;
    if (strcmp(r->kind, "pickle") == 0 && imports_joblib(r))
        r->kind = "joblib";
}

uint64_t st_report_file_size(const st_report *r)
{
    return r->file_size;
}
uint64_t st_report_header_length(const st_report *r)
{
    return r->header_len;
}
const char *st_report_sha256(const st_report *r)
{
    return r->sha256;
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
