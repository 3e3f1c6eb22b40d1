/*
 * doc.h - document writers over many reports (JSON, SARIF, JUnit) behind st_doc.
 *
 * Each writer keeps its own state; doc.c dispatches. Report text (paths, messages, names) is
 * escaped when the report is made; writers pass every string once more through the escaping
 * function of their output kind (src/core/escape.h): JSON strings through st_json_text, SARIF
 * message strings through st_escape_sarif, XML through st_put_xml. URIs are percent-encoded.
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

struct cJSON;
/* Adds s to o under key as a JSON string in its escaped form (st_escape_dup): valid UTF-8
 * without controls whatever s holds. Returns the new item, or NULL when out of memory. */
struct cJSON *st_json_text(struct cJSON *o, const char *key, const char *s);

#endif /* ST_REPORT_DOC_H */
