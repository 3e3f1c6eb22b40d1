/*
 * tarplan.c - the state dict of a pre-0.4 tar checkpoint, as torch.load rebuilds it
 * (torch/serialization.py _legacy_load -> legacy_load, torch 1.13).
 *
 * legacy_load reads three members (tarfile's last member of each name; tar.c
 * st_tar_torch_parts finds them exactly as the check did):
 *   storages  pickle(count); per storage pickle((key, location, <T>Storage)), an 8-byte element
 *             count and the elements (UntypedStorage._new_with_file: little-endian); then
 *             pickle([(target key, root key, offset, numel), ...]): views, slices of a root
 *             storage (or of an earlier view) stored under their own keys
 *   tensors   pickle(count); per tensor pickle((key, storage key, <T>Tensor)), int32 ndim,
 *             4 bytes skipped, ndim int64 sizes, ndim int64 strides, int64 storage offset;
 *             the tensor is torch.tensor([], dtype).set_(storage, offset, sizes, strides)
 *   pickle    the object; a persistent id names a tensor: deserialized_objects[int(id)]
 * Storages, views and tensors share one dict (deserialized_objects): a key given twice would
 * replace an object, and is refused. Whatever torch would do silently - slices clamped to their
 * storage, set_ growing a storage with uninitialised bytes, records past a count - is refused
 * (ST670 for values, ST672 for storages and records): no guess is converted.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/checked.h"
#include "../core/escape.h"
#include "../formats/format.h"
#include "../formats/pickle.h"
#include "convert.h"

enum { OBJ_STORAGE, OBJ_VIEW, OBJ_TENSOR };

typedef struct {
    char *key;      /* "i<int>" or "s<str>" (statedict.h) */
    int kind;       /* OBJ_* */
    size_t storage; /* the root storage (storages and views) or the tensor record */
    uint64_t off, numel;
} obj;

typedef struct {
    size_t storage;
    uint64_t view_off, view_numel, offset;
    unsigned rank;
    uint64_t *dims; /* sizes, then strides */
} trec;

typedef struct {
    const st_ctx *ctx;
    st_report *r;
    st_input *in;
    const st_src *src;
    st_sd *sd;
    uint64_t *base;
    size_t cap_base;
    obj *o;
    size_t n_o, cap_o;
    uint32_t *hash; /* open addressing over o */
    size_t cap_hash;
    trec *t;
    size_t n_t, cap_t;
    int refused;
} tp;

#define NONE UINT32_MAX

/* ST672: "<before><key, escaped><after>" */
static int unusable(tp *p, uint64_t at, const char *before, const char *key, const char *after)
{
    char shown[120];
    st_escape(key, strlen(key), shown, sizeof(shown), 80);
    st_report_add(p->r, ST_R_CV_STORAGE, at, 0, "%s%s%s", before, shown, after);
    p->refused = 1;
    return -1;
}

/* ---- deserialized_objects ---------------------------------------------------------------- */

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static long find(const tp *p, const char *key)
{
    if (p->cap_hash == 0)
        return -1;
    for (size_t i = (size_t)fnv(key) & (p->cap_hash - 1); p->hash[i] != NONE;
         i = (i + 1) & (p->cap_hash - 1))
        if (strcmp(p->o[p->hash[i]].key, key) == 0)
            return (long)p->hash[i];
    return -1;
}

static int rehash(tp *p)
{
    size_t cap = p->cap_hash ? p->cap_hash * 2 : 64;
    uint32_t *h = malloc(cap * sizeof(uint32_t));
    if (h == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
        return -1; /* GCOVR_EXCL_LINE: allocation failure */
    for (size_t i = 0; i < cap; i++)
        h[i] = NONE;
    for (size_t k = 0; k < p->n_o; k++) {
        size_t i = (size_t)fnv(p->o[k].key) & (cap - 1);
        while (h[i] != NONE)
            i = (i + 1) & (cap - 1);
        h[i] = (uint32_t)k;
    }
    free(p->hash);
    p->hash = h;
    p->cap_hash = cap;
    return 0;
}

/* Adds an object under key (taken over). 0; -1 when refused (a key twice) or out of memory
 * (p->refused tells). */
static int add_obj(tp *p, char *key, int kind, size_t storage, uint64_t off, uint64_t numel,
                   uint64_t at)
{
    if (find(p, key) >= 0) {
        unusable(p, at, "key \"", key + 1, "\" names two storages, views or tensors");
        free(key);
        return -1;
    }
    /* GCOVR_EXCL_BR_START: allocation failure */
    if (st_grow(&p->o, &p->cap_o, p->n_o, sizeof(obj), 16) != 0) {
        free(key); /* GCOVR_EXCL_LINE: allocation failure */
        return -1; /* GCOVR_EXCL_LINE: allocation failure */
    }
    /* GCOVR_EXCL_BR_STOP */
    p->o[p->n_o++] = (obj){key, kind, storage, off, numel};
    if (p->n_o * 2 > p->cap_hash)
        return rehash(p);
    size_t i = (size_t)fnv(key) & (p->cap_hash - 1);
    while (p->hash[i] != NONE)
        i = (i + 1) & (p->cap_hash - 1);
    p->hash[i] = (uint32_t)(p->n_o - 1);
    return 0;
}

/* ---- records ----------------------------------------------------------------------------- */

/* One pickle at *pos (before end), framed by the walker the check used and interpreted as
 * what; *pos moves past it. ST_OK with p->refused set when it is not the record torch reads. */
static st_error record(tp *p, uint64_t *pos, uint64_t end, st_sd_what what, st_sd *rec)
{
    st_pk_job job = {.in = p->in,
                     .src = p->src,
                     .start = *pos,
                     .end = end,
                     .profile = ST_PK_PROFILE_TORCH,
                     .single = 1,
                     .keyed_persid = 1};
    st_pk_result res;
    int refused = 0;
    memset(rec, 0, sizeof(*rec));
    st_error err = st_pickle_walk(&job, &res);
    int whole = err == ST_OK && !res.malformed && res.pickles == 1;
    uint64_t stop = res.stop_end;
    st_pk_result_free(&res);
    if (err != ST_OK)
        return err;
    if (!whole) {
        unusable(p, *pos, "no whole pickle where torch reads the next record", "", "");
        return ST_OK;
    }
    unsigned char *buf = malloc((size_t)(stop - *pos) + 1);
    if (buf == NULL)       /* GCOVR_EXCL_BR_LINE: allocation failure */
        return ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
    err = st_src_read(p->src, *pos, buf, (size_t)(stop - *pos));
    if (err == ST_OK)
        err = st_sd_read(p->ctx, p->r, buf, (size_t)(stop - *pos), *pos, ST_SD_TAR, what, rec,
                         &refused);
    free(buf);
    p->refused |= refused;
    *pos = stop;
    return err;
}

/* A record count, within the storages limit (each record takes bytes: the loop is bounded by
 * the member anyway). */
static st_error count_of(tp *p, uint64_t *pos, uint64_t end, uint64_t *n)
{
    st_sd rec;
    st_error err = record(p, pos, end, ST_SD_TAR_COUNT, &rec);
    *n = rec.count;
    st_sd_free(&rec);
    if (err == ST_OK && !p->refused && *n > st_ctx_get_limit(p->ctx, ST_LIMIT_PICKLE_STORAGES)) {
        st_report_add(p->r, ST_R_LIMIT, *pos, 0, "%llu records, over the storages limit",
                      (unsigned long long)*n);
        err = ST_E_LIMIT;
    }
    return err;
}

/* ---- storages ---------------------------------------------------------------------------- */

static int add_storage(tp *p, st_sd *rec, uint64_t numel, uint64_t at)
{
    st_sd *sd = p->sd;
    st_sd_storage *s = realloc(sd->storages, (sd->n_storages + 1) * sizeof(*s));
    char *shown = strdup(rec->rec_key + 1);
    if (s != NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
        sd->storages = s;
    /* GCOVR_EXCL_BR_START: allocation failure */
    if (s == NULL || shown == NULL ||
        st_grow(&p->base, &p->cap_base, sd->n_storages, sizeof(uint64_t), 16) != 0) {
        /* GCOVR_EXCL_BR_STOP */
        free(shown); /* GCOVR_EXCL_LINE: allocation failure */
        return -1;   /* GCOVR_EXCL_LINE: allocation failure */
    }
    p->base[sd->n_storages] = at + 8;
    sd->storages[sd->n_storages++] = (st_sd_storage){shown, rec->rec_dtype, numel};
    char *key = rec->rec_key;
    rec->rec_key = NULL;
    return add_obj(p, key, OBJ_STORAGE, sd->n_storages - 1, 0, numel, at);
}

/* The views: slices of a root storage or of an earlier view, under keys of their own. */
static int add_views(tp *p, st_sd *rec, uint64_t at)
{
    for (size_t i = 0; i < rec->n_views; i++) {
        st_sd_view *v = &rec->views[i];
        long root = find(p, v->root);
        uint64_t end;
        if (root < 0 || p->o[root].kind == OBJ_TENSOR)
            return unusable(p, at, "a storage view's root \"", v->root + 1, "\" is no storage");
        obj o = p->o[root];
        if (st_add_u64(v->offset, v->numel, &end) || end > o.numel)
            return unusable(p, at, "the storage view \"", v->target + 1,
                            "\" lies outside its root");
        char *key = v->target;
        v->target = NULL;
        if (add_obj(p, key, OBJ_VIEW, o.storage, o.off + v->offset, v->numel, at) != 0)
            return -1;
    }
    return 0;
}

static st_error tar_storages(tp *p, uint64_t pos, uint64_t end)
{
    uint64_t n = 0;
    st_sd rec = {0};
    st_error err = count_of(p, &pos, end, &n);
    for (uint64_t i = 0; err == ST_OK && !p->refused && i < n; i++) {
        unsigned char cnt[8];
        uint64_t numel, bytes, stop;
        err = record(p, &pos, end, ST_SD_TAR_STORAGE, &rec);
        if (err != ST_OK || p->refused)
            break;
        if (end - pos < 8 || st_src_read(p->src, pos, cnt, 8) != ST_OK ||
            st_mul_u64(numel = st_le64(cnt), st_dtype_size(rec.rec_dtype), &bytes) ||
            st_add_u64(pos + 8, bytes, &stop) || stop > end)
            unusable(p, pos, "storage \"", rec.rec_key + 1, "\" runs past the end of its member");
        else if (add_storage(p, &rec, numel, pos) != 0 && !p->refused)
            err = ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
        else
            pos = stop;
        st_sd_free(&rec);
    }
    if (err == ST_OK && !p->refused)
        err = record(p, &pos, end, ST_SD_TAR_VIEWS, &rec);
    if (err == ST_OK && !p->refused && add_views(p, &rec, pos) != 0 && !p->refused)
        err = ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
    st_sd_free(&rec);
    return err;
}

/* ---- tensors ----------------------------------------------------------------------------- */

static int64_t le_signed(const unsigned char *b, unsigned n)
{
    uint64_t x = 0;
    for (unsigned i = n; i-- > 0;)
        x = x << 8 | b[i];
    if (n < 8 && (x >> (8 * n - 1)))
        x |= ~(uint64_t)0 << (8 * n);
    return (int64_t)x;
}

/* ndim, sizes, strides, offset after a tensor record; all >= 0 (set_ refuses negative sizes
 * and strides, and Python slicing reads a negative offset from the end) */
static int tensor_meta(tp *p, uint64_t *pos, uint64_t end, trec *t)
{
    unsigned char nd[8];
    if (end - *pos < 8 || st_src_read(p->src, *pos, nd, 8) != ST_OK)
        return unusable(p, *pos, "a tensor record is cut short", "", "");
    int64_t ndim = le_signed(nd, 4);
    uint64_t need = 16 * (uint64_t)(ndim < 0 ? 0 : ndim) + 8;
    if (ndim < 0 || (uint64_t)ndim > st_ctx_get_limit(p->ctx, ST_LIMIT_RANK) ||
        need > end - *pos - 8)
        return unusable(
            p, *pos, "a tensor record's ndim is negative, over the rank limit or past its member",
            "", "");
    unsigned char *b = malloc((size_t)need);
    t->dims = malloc((size_t)(2 * ndim + 1) * sizeof(uint64_t));
    int rc = b == NULL || t->dims == NULL ? -2 : 0; /* GCOVR_EXCL_BR_LINE: allocation failure */
    if (rc == 0 && st_src_read(p->src, *pos + 8, b, (size_t)need) != ST_OK)
        rc = unusable(p, *pos, "a tensor record cannot be read", "", "");
    for (int64_t i = 0; rc == 0 && i <= 2 * ndim; i++) {
        int64_t v = le_signed(b + 8 * i, 8);
        if (v < 0)
            rc = unusable(p, *pos, "a tensor record's size, stride or offset is negative", "", "");
        if (i < 2 * ndim)
            t->dims[i] = (uint64_t)v;
        else
            t->offset = (uint64_t)v;
    }
    free(b);
    t->rank = (unsigned)ndim;
    *pos += 8 + need;
    return rc;
}

static int add_tensor(tp *p, st_sd *rec, uint64_t at, trec *t)
{
    long s = find(p, rec->rec_ref);
    uint64_t off;
    if (s < 0 || p->o[s].kind == OBJ_TENSOR)
        return unusable(p, at, "a tensor's storage \"", rec->rec_ref + 1, "\" is no storage");
    t->storage = p->o[s].storage;
    t->view_off = p->o[s].off;
    t->view_numel = p->o[s].numel;
    if (st_add_u64(t->view_off, t->offset, &off))
        return unusable(p, at, "a tensor's offset overflows", "", "");
    t->offset = off;
    /* GCOVR_EXCL_BR_START: allocation failure */
    if (st_grow(&p->t, &p->cap_t, p->n_t, sizeof(trec), 16) != 0)
        return -1; /* GCOVR_EXCL_LINE: allocation failure */
    /* GCOVR_EXCL_BR_STOP */
    p->t[p->n_t++] = *t;
    t->dims = NULL;
    char *key = rec->rec_key;
    rec->rec_key = NULL;
    return add_obj(p, key, OBJ_TENSOR, p->n_t - 1, 0, 0, at);
}

static st_error tar_tensors(tp *p, uint64_t pos, uint64_t end)
{
    uint64_t n = 0;
    st_error err = count_of(p, &pos, end, &n);
    for (uint64_t i = 0; err == ST_OK && !p->refused && i < n; i++) {
        st_sd rec;
        trec t = {0};
        uint64_t at = pos;
        err = record(p, &pos, end, ST_SD_TAR_TENSOR, &rec);
        int rc = err == ST_OK && !p->refused ? tensor_meta(p, &pos, end, &t) : -1;
        if (rc == 0)
            rc = add_tensor(p, &rec, at, &t);
        if (rc == -2 || (rc != 0 && err == ST_OK && !p->refused))
            err = ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
        free(t.dims);
        st_sd_free(&rec);
    }
    return err;
}

/* ---- the state dict ---------------------------------------------------------------------- */

/* Each name's tensor: the record its persistent id names. */
static int resolve(tp *p)
{
    for (size_t i = 0; i < p->sd->n_tensors; i++) {
        st_sd_tensor *s = &p->sd->tensors[i];
        long k = find(p, s->ref);
        char shown[160];
        if (k < 0 || p->o[k].kind != OBJ_TENSOR) {
            st_escape(s->name, s->name_len, shown, sizeof(shown), 100);
            st_report_add(
                p->r, k < 0 ? ST_R_CV_STORAGE : ST_R_CV_REFUSED, 0, 0, "\"%s\" is %s", shown,
                k < 0 ? "named by a key no tensor record has" : "a storage, not a tensor");
            p->refused = 1;
            return 0;
        }
        const trec *t = &p->t[p->o[k].storage];
        uint64_t *dims = malloc((2 * (size_t)t->rank + 1) * sizeof(uint64_t));
        if (dims == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
            return -1;    /* GCOVR_EXCL_LINE: allocation failure */
        memcpy(dims, t->dims, 2 * (size_t)t->rank * sizeof(uint64_t));
        free(s->size);
        s->size = dims;
        s->stride = dims + t->rank;
        s->rank = t->rank;
        s->storage = t->storage;
        s->offset = t->offset;
        s->view_off = t->view_off;
        s->view_numel = t->view_numel;
    }
    return 0;
}

static st_error tar_pickle(tp *p, uint64_t pos, uint64_t end)
{
    st_pk_job job = {.in = p->in,
                     .src = p->src,
                     .start = pos,
                     .end = end,
                     .profile = ST_PK_PROFILE_TORCH,
                     .single = 1,
                     .keyed_persid = 1};
    st_pk_result res;
    st_error err = st_pickle_walk(&job, &res);
    int whole = err == ST_OK && !res.malformed && res.pickles == 1;
    uint64_t stop = res.stop_end;
    st_pk_result_free(&res);
    if (err != ST_OK || !whole) /* the check passed the member: defensive */
        return err != ST_OK ? err : ST_E_UNSUPPORTED;
    if (stop - pos > st_ctx_get_limit(p->ctx, ST_LIMIT_MEMBER_BYTES))
        return ST_E_LIMIT; /* the check's member limit held it: defensive */
    unsigned char *buf = malloc((size_t)(stop - pos) + 1);
    if (buf == NULL)       /* GCOVR_EXCL_BR_LINE: allocation failure */
        return ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
    err = st_src_read(p->src, pos, buf, (size_t)(stop - pos));
    if (err == ST_OK)
        err = st_sd_read(p->ctx, p->r, buf, (size_t)(stop - pos), pos, ST_SD_TAR, ST_SD_STATE_DICT,
                         p->sd, &p->refused);
    free(buf);
    return err;
}

st_error st_cv_tar_sd(const st_ctx *ctx, st_report *r, st_input *in, st_sd *sd, uint64_t **base,
                      int *refused)
{
    uint64_t off[4], size[4];
    tp p = {.ctx = ctx, .r = r, .in = in, .src = in->src, .sd = sd};
    st_error err = st_tar_torch_parts(in, off, size);
    memset(sd, 0, sizeof(*sd));
    if (err == ST_OK && (size[1] == UINT64_MAX || size[2] == UINT64_MAX || size[3] == UINT64_MAX))
        err = ST_E_UNSUPPORTED; /* the check found each part a plain file: defensive */
    if (err == ST_OK)
        err = tar_pickle(&p, off[1], off[1] + size[1]);
    if (err == ST_OK && !p.refused)
        err = tar_storages(&p, off[2], off[2] + size[2]);
    if (err == ST_OK && !p.refused)
        err = tar_tensors(&p, off[3], off[3] + size[3]);
    if (err == ST_OK && !p.refused && resolve(&p) != 0)
        err = ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
    for (size_t i = 0; i < p.n_o; i++)
        free(p.o[i].key);
    for (size_t i = 0; i < p.n_t; i++)
        free(p.t[i].dims);
    free(p.o);
    free(p.t);
    free(p.hash);
    *refused = p.refused;
    *base = p.base;
    return err;
}
