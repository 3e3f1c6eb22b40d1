/*
 * doc.c - st_doc: one handle for every document format, dispatching to its writer.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "../core/escape.h"
#include "doc.h"

struct st_doc {
    const st_doc_ops *ops;
    void *state;
};

void st_doc_count(st_doc_tally *t, const st_report *r)
{
    st_verdict v = st_report_verdict(r);
    t->files++;
    t->passed += v == ST_VERDICT_PASS;
    t->failed += v == ST_VERDICT_FAIL;
    t->errors += v == ST_VERDICT_ERROR;
}

st_doc *st_doc_new(st_doc_format format)
{
    static const st_doc_ops *const ops[] = {&st_doc_json_ops, &st_doc_sarif_ops, &st_doc_junit_ops};
    if ((unsigned)format >= sizeof(ops) / sizeof(ops[0]))
        return NULL;
    st_doc *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->ops = ops[format];
    if ((d->state = d->ops->create()) == NULL) {
        free(d);
        return NULL;
    }
    return d;
}

int st_doc_add(st_doc *d, const st_report *r)
{
    return d == NULL || r == NULL ? -1 : d->ops->add(d->state, r);
}

int st_doc_write(st_doc *d, FILE *out)
{
    return d == NULL || out == NULL ? -1 : d->ops->write(d->state, out);
}

void st_doc_free(st_doc *d)
{
    if (d == NULL)
        return;
    d->ops->destroy(d->state);
    free(d);
}

cJSON *st_json_text(cJSON *o, const char *key, const char *s)
{
    char *e = st_escape_dup(s ? s : "");
    cJSON *item = e ? cJSON_AddStringToObject(o, key, e) : NULL;
    free(e);
    return item;
}
