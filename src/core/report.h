/*
 * report.h - the per-file report that format modules append findings to.
 *
 * Format modules never print: they call st_report_add. Adding never fails from the caller's
 * point of view; an allocation failure marks the report ST_E_NOMEM, which makes its verdict
 * "could not check" (fail closed).
 */
#ifndef ST_REPORT_H
#define ST_REPORT_H

#include "ctx.h"
#include "rules.h"

struct st_report {
    char *path;       /* escaped display name */
    char *repository; /* escaped folder root of a -r walk, or NULL */
    /* the name policies match (formats.allow): a stable list, docs/policy.md */
    const char *format;
    /* What the file is to the loader that reads it ("joblib", "npz", "torchscript", ...; NULL
     * until settled: the format name) and the compression or archive around it ("xz", "zlib",
     * "zip", or NULL). Settled by st_report_settle_kind once every check ran. */
    const char *kind;
    const char *wrapper;
    uint64_t file_size;
    uint64_t header_len;
    uint64_t tensor_count;
    /* GGUF (format "gguf"): version, alignment, key/value count, general.architecture
     * (escaped, "" when absent) and the SHA-256 of tokenizer.chat_template ("" when absent) */
    uint32_t gguf_version, gguf_alignment;
    uint64_t gguf_kv_count;
    char gguf_arch[72];
    char gguf_template_sha256[65];
    /* Keras (keras/keras.c): the configuration's layer classes, escaped and '\n'-separated
     * (NULL: none), how many, whether more were left out, and metadata.json's keras_version
     * (escaped; "" when absent) */
    char *keras_layers;
    size_t n_keras_layers;
    int keras_layers_truncated;
    char keras_version[48];
    /* ONNX: opsets, domains, external files (src/formats/onnx/onnx_facts.h), freed here */
    struct st_onnx_facts *onnx;
    st_error err;
    int fail_on;               /* from the context: lowest failing severity */
    const st_severity *sevmap; /* the context's severities, used while checking */
    size_t max_findings;
    st_finding *findings;
    size_t n_findings, cap_findings;
    size_t counts[ST_SEV_ERROR + 1]; /* every finding, kept or not */
    int truncated;
    st_import *imports; /* distinct imports, in order of first occurrence */
    size_t n_imports, cap_imports;
    st_call *calls; /* the first ST_MAX_CALLS call sites */
    size_t n_calls, cap_calls;
    uint64_t calls_total;
    char sha256[65]; /* "" when not computed */
    /* a URL checked through range requests (src/fetch/): what it cost */
    int remote;
    uint64_t bytes_fetched, requests;
};

#define ST_MAX_CALLS 10000
#define ST_KERAS_MAX_LAYER_CLASSES 256

/* Records a distinct import; returns its index, or -1 when memory ran out (the report is then
 * marked ST_E_NOMEM). Text is escaped for output. */
long st_report_add_import(st_report *r, const char *module, const char *name, const char *member,
                          const char *judgement, uint64_t offset);
/* The same, for a global the file names otherwise (written_*: its spelling before Python-2
 * mapping, module and name: after it). */
long st_report_add_import_as(st_report *r, const char *module, const char *name,
                             const char *written_module, const char *written_name,
                             const char *member, const char *judgement, uint64_t offset);
/* Settles kind and wrapper from the format, what a wrapper's content was and the imports. */
void st_report_settle_kind(st_report *r);
/* Records a call site (listed while fewer than ST_MAX_CALLS, counted always). */
void st_report_add_call(st_report *r, const char *callable, const char *opcode, const char *member,
                        uint64_t offset);

st_report *st_report_new(const st_ctx *ctx, const char *display_name);

/* Records a finding with the rule's severity. The message is printf-formatted; callers escape
 * input-derived text with st_escape first. */
void st_report_add(st_report *r, st_rule_id rule, uint64_t offset, uint64_t length, const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));

/* Marks the check as incomplete. The first error wins. */
void st_report_fail(st_report *r, st_error err);

#endif /* ST_REPORT_H */
