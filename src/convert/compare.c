/*
 * compare.c - do two plans hold the same tensors: names, dtypes, shapes and bytes?
 *
 * Names are matched exactly (bytes). A name that is an alias (a removed name recorded in
 * __metadata__, or a name convert would remove) matches the same alias on the other side; a
 * name that is a tensor on one side and an alias on the other is a difference. Bytes are read
 * through st_cv_fill in windows, one window of each side at a time: memory is two windows and
 * two view caches, whatever the files' sizes.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/escape.h"
#include "convert.h"

typedef struct {
    const char *name;
    const st_cv_tensor *t;       /* NULL for an alias */
    const char *target;          /* alias target */
    const st_cv_tensor *removed; /* a checkpoint alias: the tensor it names; else NULL */
} entry;

static int entry_cmp(const void *pa, const void *pb)
{
    return strcmp(((const entry *)pa)->name, ((const entry *)pb)->name);
}

static entry *entries(const st_cv_plan *p, size_t *n)
{
    entry *e = malloc((p->n + p->n_alias + 1) * sizeof(entry));
    if (e == NULL)   /* GCOVR_EXCL_BR_LINE: allocation failure */
        return NULL; /* GCOVR_EXCL_LINE: allocation failure */
    for (size_t i = 0; i < p->n; i++)
        e[i] = (entry){p->t[i].name, &p->t[i], NULL, NULL};
    for (size_t i = 0; i < p->n_alias; i++)
        e[p->n + i] = (entry){p->alias[i].name, NULL, p->alias[i].target,
                              p->alias[i].t.name != NULL ? &p->alias[i].t : NULL};
    *n = p->n + p->n_alias;
    qsort(e, *n, sizeof(entry), entry_cmp);
    return e;
}

static const char *show(const char *s, char *buf, size_t size)
{
    return st_escape(s, strlen(s), buf, size, 100);
}

static void shape_text(const st_cv_tensor *t, char *out, size_t size)
{
    size_t k = 0;
    out[k++] = '[';
    for (unsigned d = 0; d < t->rank && k + 24 < size; d++)
        k += (size_t)snprintf(out + k, size - k, "%s%llu", d ? "," : "",
                              (unsigned long long)t->shape[d]);
    if (k + 2 < size) {
        out[k++] = ']';
        out[k] = '\0';
    } else
        memcpy(out + size - 5, "...]", 5);
}

typedef struct {
    unsigned char *wa, *wb;
    st_cv_cache ca, cb;
} bufs;

/* Counts differing elements and finds the first: windows of both sides side by side. */
static st_error compare_data(const st_src *sa, const st_cv_tensor *a, const st_src *sb,
                             const st_cv_tensor *b, bufs *w, st_report *r, int *differs)
{
    unsigned es = st_dtype_size(a->dtype);
    /* windows that stay in the CPU cache: the bytes pread copies are compared while hot (4 MiB
     * windows went to memory and back: a third of the speed) */
    uint64_t per = ST_CV_CMP_WINDOW / es, ndiff = 0, first = 0;
    for (uint64_t at = 0; at < a->numel; at += per) {
        uint64_t n = a->numel - at < per ? a->numel - at : per;
        st_error err = st_cv_fill(a->src ? a->src : sa, a, at, n, w->wa, &w->ca);
        if (err == ST_OK)
            err = st_cv_fill(b->src ? b->src : sb, b, at, n, w->wb, &w->cb);
        if (err != ST_OK)
            return err;
        if (memcmp(w->wa, w->wb, (size_t)(n * es)) == 0)
            continue;
        for (uint64_t i = 0; i < n; i++)
            if (memcmp(w->wa + i * es, w->wb + i * es, es) != 0 && ndiff++ == 0)
                first = at + i;
    }
    if (ndiff > 0) {
        char s[160];
        st_report_add(r, ST_R_CMP_DATA, 0, 0,
                      "\"%s\": %llu of %llu elements differ, the first at element %llu",
                      show(a->name, s, sizeof(s)), (unsigned long long)ndiff,
                      (unsigned long long)a->numel, (unsigned long long)first);
        *differs = 1;
    }
    return ST_OK;
}

static int same_meta(const st_cv_tensor *a, const st_cv_tensor *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank)
        return 0;
    return a->rank == 0 || memcmp(a->shape, b->shape, a->rank * sizeof(uint64_t)) == 0;
}

/* A removed name matches the same removal on the other side. A safetensors file records only
 * the kept name; two checkpoints know what each removed name holds, and that is compared: a
 * reshaped or transposed view of the kept tensor is not the kept tensor. */
static st_error compare_one(const st_src *sa, const entry *a, const st_src *sb, const entry *b,
                            bufs *w, st_report *r, int *differs)
{
    char s[160], x[160], y[160], sha[80], shb[80];
    const st_cv_tensor *ta = a->t, *tb = b->t;
    if (a->t == NULL || b->t == NULL) {
        int same = a->t == NULL && b->t == NULL && strcmp(a->target, b->target) == 0;
        if (same && (a->removed == NULL || b->removed == NULL))
            return ST_OK;
        if (!same) {
            st_report_add(r, ST_R_CMP_META, 0, 0,
                          "\"%s\": %s%s%s in the first file, %s%s%s in the "
                          "second",
                          show(a->name, s, sizeof(s)), a->t ? "a tensor" : "an alias of \"",
                          a->t ? "" : show(a->target, x, sizeof(x)), a->t ? "" : "\"",
                          b->t ? "a tensor" : "an alias of \"",
                          b->t ? "" : show(b->target, y, sizeof(y)), b->t ? "" : "\"");
            *differs = 1;
            return ST_OK;
        }
        ta = a->removed;
        tb = b->removed;
    }
    if (!same_meta(ta, tb)) {
        shape_text(ta, sha, sizeof(sha));
        shape_text(tb, shb, sizeof(shb));
        st_report_add(r, ST_R_CMP_META, 0, 0,
                      "\"%s\": %s %s in the first file, %s %s in the second",
                      show(a->name, s, sizeof(s)), st_dtype_name(ta->dtype), sha,
                      st_dtype_name(tb->dtype), shb);
        *differs = 1;
        return ST_OK;
    }
    return compare_data(sa, ta, sb, tb, w, r, differs);
}

st_error st_cv_compare(const st_src *sa, const st_cv_plan *a, const st_src *sb, const st_cv_plan *b,
                       st_report *r, int *differs)
{
    size_t na = 0, nb = 0, i = 0, j = 0;
    entry *ea = entries(a, &na), *eb = entries(b, &nb);
    bufs w = {malloc(ST_CV_WINDOW), malloc(ST_CV_WINDOW), {0}, {0}};
    st_error err = ea && eb && w.wa && w.wb ? ST_OK : ST_E_NOMEM; /* GCOVR_EXCL_BR_LINE: malloc */
    char s[160];
    *differs = 0;
    while (err == ST_OK && (i < na || j < nb)) {
        int c = i == na ? 1 : j == nb ? -1 : strcmp(ea[i].name, eb[j].name);
        if (c < 0)
            st_report_add(r, ST_R_CMP_MISSING, 0, 0, "\"%s\" is in the first file only",
                          show(ea[i++].name, s, sizeof(s)));
        else if (c > 0)
            st_report_add(r, ST_R_CMP_EXTRA, 0, 0, "\"%s\" is in the second file only",
                          show(eb[j++].name, s, sizeof(s)));
        else
            err = compare_one(sa, &ea[i++], sb, &eb[j++], &w, r, differs);
        *differs |= c != 0;
    }
    free(ea);
    free(eb);
    free(w.wa);
    free(w.wb);
    st_cv_cache_free(&w.ca);
    st_cv_cache_free(&w.cb);
    return err;
}
