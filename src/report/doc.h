/*
 * doc.h - document writers over many reports (JSON, SARIF, JUnit) behind st_doc.
 *
 * Each writer keeps its own state; doc.c dispatches. They only read reports, whose text is
 * already escaped to printable ASCII (paths, messages), so writers need no input validation,
 * only the escaping their own syntax needs (JSON via cJSON, XML and URIs here).
 */
#ifndef ST_REPORT_DOC_H
#define ST_REPORT_DOC_H

#include <stdio.h>

#include "../core/report.h"

typedef struct {
    void *(*create)(void);
    int (*add)(void *state, const st_report *r);
    int (*write)(void *state, FILE *out);
    void (*destroy)(void *state);
} st_doc_ops;

extern const st_doc_ops st_doc_json_ops;
extern const st_doc_ops st_doc_sarif_ops;
extern const st_doc_ops st_doc_junit_ops;

/* Severity as SARIF and JUnit name it, and the verdict counters every document keeps. */
typedef struct {
    size_t files, passed, failed, errors;
} st_doc_tally;

void st_doc_count(st_doc_tally *t, const st_report *r);

#endif /* ST_REPORT_DOC_H */
