/*
 * json.c - the JSON report, written with cJSON (output only: cJSON's lax parsing never meets
 * hostile bytes here). Every string goes through st_json_text, so the document is valid UTF-8
 * JSON without control characters whatever a report holds.
 *
 * Schema (docs/report-json.md): { schema_version, tool, version, strict, files: [ { path,
 * size, format, kind, wrapper, verdict, error, header_length and tensor_count (safetensors
 * only), counts, findings: [ { id, severity, message, offset, length } ] } ], summary: { files,
 * passed, failed, could_not_check } }
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "../core/escape.h"
#include "../formats/onnx/onnx_facts.h"
#include "doc.h"

#define ST_JSON_SCHEMA_VERSION 1

/* Offsets are u64; a double represents them exactly up to 2^53, beyond which no real file
 * reaches (the value is still written, rounded). */
static int add_u64(cJSON *o, const char *k, uint64_t v)
{
    return cJSON_AddNumberToObject(o, k, (double)v) ? 0 : -1;
}

typedef struct {
    char *root;
    st_doc_tally t;
} repo_tally;

typedef struct {
    cJSON *root;
    cJSON *files;
    int strict;
    st_doc_tally t;
    repo_tally *repos; /* -r roots in order of first file */
    size_t n_repos;
} json_doc;

/* Counts a report under its repository (a walk's root); 0, or -1 when out of memory. */
static int tally_repo(json_doc *j, const st_report *r)
{
    if (r->repository == NULL)
        return 0;
    size_t i = 0;
    while (i < j->n_repos && strcmp(j->repos[i].root, r->repository) != 0)
        i++;
    if (i == j->n_repos) {
        repo_tally *p = realloc(j->repos, (j->n_repos + 1) * sizeof(*p));
        if (p == NULL)
            return -1;
        j->repos = p;
        memset(&p[i], 0, sizeof(p[i]));
        if ((p[i].root = strdup(r->repository)) == NULL)
            return -1;
        j->n_repos++;
    }
    st_doc_count(&j->repos[i].t, r);
    return 0;
}

/* "repositories": each root with its files' counts and a verdict: the worst of its files. */
static cJSON *repos_json(const json_doc *j)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a != NULL && i < j->n_repos; i++) {
        const st_doc_tally *t = &j->repos[i].t;
        st_verdict v = t->errors ? ST_VERDICT_ERROR : t->failed ? ST_VERDICT_FAIL : ST_VERDICT_PASS;
        cJSON *o = cJSON_CreateObject();
        if (o == NULL || !st_json_text(o, "root", j->repos[i].root) ||
            !st_json_text(o, "verdict", st_verdict_name(v)) || add_u64(o, "files", t->files) ||
            add_u64(o, "passed", t->passed) || add_u64(o, "failed", t->failed) ||
            /* GCOVR_EXCL_BR_START: cJSON_AddItemToArray fails only on NULL arguments */
            add_u64(o, "could_not_check", t->errors) || !cJSON_AddItemToArray(a, o)) {
            /* GCOVR_EXCL_BR_STOP */
            cJSON_Delete(o);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

static void *json_create(void)
{
    json_doc *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return NULL;
    j->root = cJSON_CreateObject();
    j->files = cJSON_CreateArray();
    if (j->root == NULL || j->files == NULL) {
        cJSON_Delete(j->root);
        cJSON_Delete(j->files);
        free(j);
        return NULL;
    }
    return j;
}

static void json_destroy(void *state)
{
    json_doc *j = state;
    cJSON_Delete(j->root);
    cJSON_Delete(j->files);
    for (size_t i = 0; i < j->n_repos; i++)
        free(j->repos[i].root);
    free(j->repos);
    free(j);
}

static cJSON *finding_json(const st_finding *f)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL)
        return NULL;
    if (!st_json_text(o, "id", f->id) ||
        !st_json_text(o, "severity", st_severity_name(f->severity)) ||
        !st_json_text(o, "message", f->message) || add_u64(o, "offset", f->offset) ||
        add_u64(o, "length", f->length)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *counts_json(const st_report *r)
{
    cJSON *c = cJSON_CreateObject();
    if (c == NULL)
        return NULL;
    if (add_u64(c, "error", r->counts[ST_SEV_ERROR]) ||
        add_u64(c, "warning", r->counts[ST_SEV_WARNING]) ||
        add_u64(c, "info", r->counts[ST_SEV_INFO])) {
        cJSON_Delete(c);
        return NULL;
    }
    return c;
}

/* GGUF: the tensor count and a "gguf" object (docs/report-json.md). */
static int add_gguf(cJSON *o, const st_report *r)
{
    cJSON *g = cJSON_AddObjectToObject(o, "gguf");
    if (g == NULL || add_u64(o, "tensor_count", r->tensor_count) ||
        add_u64(g, "version", r->gguf_version) || add_u64(g, "alignment", r->gguf_alignment) ||
        add_u64(g, "kv_count", r->gguf_kv_count) || add_u64(g, "tensor_count", r->tensor_count) ||
        add_u64(g, "data_offset", r->header_len))
        return -1;
    if ((r->gguf_arch[0] ? !st_json_text(g, "architecture", r->gguf_arch)
                         : !cJSON_AddNullToObject(g, "architecture")) ||
        (r->gguf_template_sha256[0]
             ? !cJSON_AddStringToObject(g, "chat_template_sha256", r->gguf_template_sha256)
             : !cJSON_AddNullToObject(g, "chat_template_sha256")))
        return -1;
    return 0;
}

/* ONNX models: an "onnx" object with ir_version, opsets, operator domains and external files
 * (docs/report-json.md, formats/onnx.md). */
static int add_onnx(cJSON *o, const st_report *r)
{
    const struct st_onnx_facts *f = r->onnx;
    if (f == NULL)
        return 0;
    cJSON *x = cJSON_AddObjectToObject(o, "onnx");
    cJSON *ops = x ? cJSON_AddObjectToObject(x, "opsets") : NULL;
    cJSON *doms = x ? cJSON_AddArrayToObject(x, "domains") : NULL;
    cJSON *files = x ? cJSON_AddArrayToObject(x, "external_files") : NULL;
    if (files == NULL || ops == NULL || doms == NULL || /* GCOVR_EXCL_BR_LINE: allocation */
        (f->has_ir_version ? add_u64(x, "ir_version", f->ir_version)
                           : !cJSON_AddNullToObject(x, "ir_version")))
        return -1; /* GCOVR_EXCL_LINE: allocation failure */
    for (size_t i = 0; i < f->n_opsets; i++) {
        char *k = st_escape_dup(f->opsets[i].domain);
        int bad = k == NULL || add_u64(ops, k, f->opsets[i].version); /* GCOVR_EXCL_BR_LINE */
        free(k);
        if (bad)       /* GCOVR_EXCL_BR_LINE: allocation failure */
            return -1; /* GCOVR_EXCL_LINE: allocation failure */
    }
    for (size_t i = 0; i < f->n_domains; i++) {
        char *e = st_escape_dup(f->domains[i]);
        cJSON *s = e ? cJSON_CreateString(e) : NULL; /* GCOVR_EXCL_BR_LINE: allocation */
        free(e);
        if (s == NULL || !cJSON_AddItemToArray(doms, s)) /* GCOVR_EXCL_BR_LINE: allocation */
            return -1;                                   /* GCOVR_EXCL_LINE: allocation */
    }
    for (size_t i = 0; i < f->n_files; i++) {
        cJSON *e = cJSON_CreateObject();
        /* GCOVR_EXCL_BR_START: allocation failure */
        if (e == NULL || !cJSON_AddItemToArray(files, e) ||
            !st_json_text(e, "path", f->files[i].path) ||
            add_u64(e, "tensors", f->files[i].tensors) || add_u64(e, "bytes", f->files[i].bytes) ||
            !cJSON_AddBoolToObject(e, "ep_context", f->files[i].ep_context))
            return -1; /* GCOVR_EXCL_LINE: allocation failure */
        /* GCOVR_EXCL_BR_STOP */
    }
    if (!cJSON_AddBoolToObject(x, "truncated", f->truncated) || /* GCOVR_EXCL_BR_LINE */
        !cJSON_AddBoolToObject(x, "external_files_checked", f->files_checked))
        return -1; /* GCOVR_EXCL_LINE: allocation failure */
    return 0;
}

/* Keras configurations (keras/keras.c): a "keras" object with the layer classes. */
static int add_keras(cJSON *o, const st_report *r)
{
    if (r->keras_layers == NULL && r->keras_version[0] == '\0')
        return 0;
    cJSON *k = cJSON_AddObjectToObject(o, "keras");
    cJSON *a = k ? cJSON_AddArrayToObject(k, "layer_classes") : NULL;
    if (a == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
        return -1; /* GCOVR_EXCL_LINE: allocation failure */
    for (const char *p = r->keras_layers; p != NULL && *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        char one[256];
        snprintf(one, sizeof(one), "%.*s", (int)(l < 255 ? l : 255), p);
        cJSON *s = cJSON_CreateString(one);
        if (s == NULL || !cJSON_AddItemToArray(a, s)) /* GCOVR_EXCL_BR_LINE: allocation */
            return -1;                                /* GCOVR_EXCL_LINE: allocation failure */
        p += l + (nl != NULL);
    }
    if (!cJSON_AddBoolToObject(k, "layer_classes_truncated", r->keras_layers_truncated) ||
        (r->keras_version[0] ? !st_json_text(k, "keras_version", r->keras_version)
                             : !cJSON_AddNullToObject(k, "keras_version")))
        return -1; /* GCOVR_EXCL_LINE: allocation failure */
    return 0;
}

/* URLs (docs/remote.md): what checking it cost; absent for local files. */
static int add_fetch(cJSON *o, const st_report *r)
{
    if (!r->remote)
        return 0;
    return add_u64(o, "bytes_fetched", r->bytes_fetched) || add_u64(o, "requests", r->requests) ? -1
                                                                                                : 0;
}

/* Only safetensors files have a header length and a tensor count: absent elsewhere, never a
 * false 0 (a PyTorch checkpoint's storages are not its tensors). */
static int add_sizes(cJSON *o, const st_report *r)
{
    if (strcmp(r->format, "gguf") == 0 && r->gguf_version != 0)
        return add_gguf(o, r);
    if (strcmp(r->format, "safetensors") != 0)
        return 0;
    return add_u64(o, "header_length", r->header_len) || add_u64(o, "tensor_count", r->tensor_count)
               ? -1
               : 0;
}

static cJSON *import_json(const st_import *im)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || !st_json_text(o, "module", im->module) || !st_json_text(o, "name", im->name) ||
        !st_json_text(o, "written_module", im->written_module) ||
        !st_json_text(o, "written_name", im->written_name) ||
        !st_json_text(o, "member", im->member) || !st_json_text(o, "judgement", im->judgement) ||
        add_u64(o, "offset", im->offset) || add_u64(o, "count", im->count)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static cJSON *call_json(const st_call *c)
{
    cJSON *o = cJSON_CreateObject();
    if (o == NULL || !st_json_text(o, "callable", c->callable) ||
        !st_json_text(o, "opcode", c->opcode) || !st_json_text(o, "member", c->member) ||
        add_u64(o, "offset", c->offset)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* Pickle evidence: every import and call site, so an auditor sees what loading would do. */
static int add_evidence(cJSON *o, const st_report *r)
{
    cJSON *imps = cJSON_AddArrayToObject(o, "imports");
    cJSON *calls = cJSON_AddArrayToObject(o, "calls");
    if (imps == NULL || calls == NULL || add_u64(o, "calls_total", r->calls_total))
        return -1;
    for (size_t i = 0; i < r->n_imports; i++) {
        cJSON *x = import_json(&r->imports[i]);
        /* GCOVR_EXCL_BR_START: cJSON_AddItemToArray fails only on NULL arguments */
        if (x == NULL || !cJSON_AddItemToArray(imps, x))
            /* GCOVR_EXCL_BR_STOP */
            return cJSON_Delete(x), -1;
    }
    for (size_t i = 0; i < r->n_calls; i++) {
        cJSON *x = call_json(&r->calls[i]);
        /* GCOVR_EXCL_BR_START: cJSON_AddItemToArray fails only on NULL arguments */
        if (x == NULL || !cJSON_AddItemToArray(calls, x))
            /* GCOVR_EXCL_BR_STOP */
            return cJSON_Delete(x), -1;
    }
    return 0;
}

static cJSON *file_json(const st_report *r)
{
    cJSON *o = cJSON_CreateObject(), *fs = cJSON_CreateArray(), *c = counts_json(r);
    /* cJSON_AddItemToObject copies the key: it fails when out of memory, the item not added */
    int bad = o == NULL || fs == NULL || c == NULL || !cJSON_AddItemToObject(o, "counts", c);
    if (!bad)
        c = NULL;
    for (size_t i = 0; !bad && i < r->n_findings; i++) {
        cJSON *f = finding_json(&r->findings[i]);
        /* GCOVR_EXCL_BR_START: cJSON_AddItemToArray fails only on NULL arguments */
        bad = f == NULL || !cJSON_AddItemToArray(fs, f);
        /* GCOVR_EXCL_BR_STOP */
    }
    bad = bad || !st_json_text(o, "path", r->path) || add_u64(o, "size", r->file_size) ||
          !st_json_text(o, "format", r->format) || !st_json_text(o, "kind", st_report_kind(r)) ||
          (r->wrapper ? !st_json_text(o, "wrapper", r->wrapper)
                      : !cJSON_AddNullToObject(o, "wrapper")) ||
          !st_json_text(o, "verdict", st_verdict_name(st_report_verdict(r))) ||
          (r->err == ST_OK ? !cJSON_AddNullToObject(o, "error")
                           : !st_json_text(o, "error", st_error_name(r->err))) ||
          add_sizes(o, r) || add_fetch(o, r) || add_keras(o, r) || add_onnx(o, r) ||
          (r->sha256[0] ? !st_json_text(o, "sha256", r->sha256)
                        : !cJSON_AddNullToObject(o, "sha256")) ||
          !cJSON_AddBoolToObject(o, "findings_truncated", r->truncated) ||
          (r->repository ? !st_json_text(o, "repository", r->repository)
                         : !cJSON_AddNullToObject(o, "repository"));
    if (bad) {
        cJSON_Delete(o);
        cJSON_Delete(fs);
        cJSON_Delete(c);
        return NULL;
    }
    if (!cJSON_AddItemToObject(o, "findings", fs)) {
        cJSON_Delete(fs);
        cJSON_Delete(o);
        return NULL;
    }
    if (add_evidence(o, r) != 0) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int st_write_jsonl(FILE *out, const st_report *r)
{
    cJSON *f = file_json(r);
    if (f == NULL)
        return -1;
    /* the schema version travels with every line, since lines are read one by one */
    char *text = cJSON_AddNumberToObject(f, "schema_version", ST_JSON_SCHEMA_VERSION)
                     ? cJSON_PrintUnformatted(f)
                     : NULL;
    cJSON_Delete(f);
    if (text == NULL)
        return -1;
    int rc = fputs(text, out) < 0 || fputc('\n', out) == EOF || fflush(out) != 0 ? -1 : 0;
    cJSON_free(text);
    return rc;
}

static int json_add(void *state, const st_report *r)
{
    json_doc *j = state;
    cJSON *f = file_json(r);
    /* GCOVR_EXCL_BR_START: cJSON_AddItemToArray fails only on NULL arguments */
    if (f == NULL || !cJSON_AddItemToArray(j->files, f)) {
        /* GCOVR_EXCL_BR_STOP */
        cJSON_Delete(f);
        return -1;
    }
    st_doc_count(&j->t, r);
    if (tally_repo(j, r) != 0)
        return -1;
    j->strict |= r->fail_on <= ST_SEV_WARNING;
    return 0;
}

static int build_root(json_doc *j)
{
    cJSON *s = cJSON_CreateObject();
    if (s == NULL || add_u64(s, "files", j->t.files) || add_u64(s, "passed", j->t.passed) ||
        add_u64(s, "failed", j->t.failed) || add_u64(s, "could_not_check", j->t.errors)) {
        cJSON_Delete(s);
        return -1;
    }
    if (!cJSON_AddNumberToObject(j->root, "schema_version", ST_JSON_SCHEMA_VERSION) ||
        !st_json_text(j->root, "tool", "stcheck") ||
        !st_json_text(j->root, "version", ST_VERSION_STRING) ||
        !cJSON_AddBoolToObject(j->root, "strict", j->strict)) {
        cJSON_Delete(s);
        return -1;
    }
    if (!cJSON_AddItemToObject(j->root, "files", j->files)) {
        cJSON_Delete(s);
        return -1; /* j->files stays ours: json_destroy frees it */
    }
    j->files = NULL;
    cJSON *repos = repos_json(j);
    if (repos == NULL || !cJSON_AddItemToObject(j->root, "repositories", repos)) {
        cJSON_Delete(repos);
        cJSON_Delete(s);
        return -1;
    }
    if (!cJSON_AddItemToObject(j->root, "summary", s)) {
        cJSON_Delete(s);
        return -1;
    }
    return 0;
}

static int json_write(void *state, FILE *out)
{
    json_doc *j = state;
    if (j->files != NULL && build_root(j) != 0)
        return -1;
    char *text = cJSON_Print(j->root);
    if (text == NULL)
        return -1;
    int rc = fputs(text, out) < 0 || fputc('\n', out) == EOF ? -1 : 0;
    cJSON_free(text);
    return rc;
}

const st_doc_ops st_doc_json_ops = {json_create, json_add, json_write, json_destroy};
