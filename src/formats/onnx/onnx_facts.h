/*
 * onnx_facts.h - what an ONNX check learns about a model for the JSON report
 * (docs/report-json.md): ir_version, opset imports, the operator domains nodes use, and the
 * external data files tensors and EPContext nodes reference. Made by onnx.c, owned and freed by
 * the report (st_report.onnx), read by src/report/json.c.
 */
#ifndef ST_ONNX_FACTS_H
#define ST_ONNX_FACTS_H

#include <stddef.h>
#include <stdint.h>

/* opsets and domains kept per model: a real model has a handful; more set truncated */
#define ST_ONNX_FACTS_MAX 64

typedef struct {
    char *domain; /* escaped for display */
    uint64_t version;
} st_onnx_opset;

typedef struct {
    char *path;       /* the location as written, escaped for display */
    uint64_t tensors; /* tensors whose data it holds */
    uint64_t bytes;   /* their bytes (for an EPContext file: its size when checked) */
    int ep_context;   /* named by an EPContext node's ep_cache_context */
} st_onnx_file;

struct st_onnx_facts {
    int has_ir_version;
    uint64_t ir_version;
    st_onnx_opset opsets[ST_ONNX_FACTS_MAX];
    size_t n_opsets;
    char *domains[ST_ONNX_FACTS_MAX]; /* distinct, in order of first use */
    size_t n_domains;
    int truncated; /* more opsets or domains than kept */
    st_onnx_file *files;
    size_t n_files;
    /* 1: the external files were opened in the model's folder; 0: not (ST812) or none */
    int files_checked;
};

void st_onnx_facts_free(struct st_onnx_facts *f);

#endif /* ST_ONNX_FACTS_H */
