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
    st_error err;
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

/* Adds an object under key (taken over); a key given twice is refused. */
static void add_obj(tp *p, char *key, int kind, size_t storage, uint64_t off, uint64_t numel,
                    uint64_t at)
{
    if (find(p, key) >= 0) {
        unusable(p, at, "key \"", key + 1, "\" names two storages, views or tensors");
        free(key);
        return;
    }
    /* GCOVR_EXCL_BR_START: allocation failure */
    if (st_grow(&p->o, &p->cap_o, p->n_o, sizeof(obj), 16) != 0) {
        free(key);           /* GCOVR_EXCL_LINE: allocation failure */
        p->err = ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
        return;              /* GCOVR_EXCL_LINE: allocation failure */
    }
    /* GCOVR_EXCL_BR_STOP */
    p->o[p->n_o++] = (obj){key, kind, storage, off, numel};
    if (p->n_o * 2 > p->cap_hash) {
        if (rehash(p) != 0)      /* GCOVR_EXCL_BR_LINE: allocation failure */
            p->err = ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
        return;
    }
    size_t i = (size_t)fnv(key) & (p->cap_hash - 1);
    while (p->hash[i] != NONE)
        i = (i + 1) & (p->cap_hash - 1);
    p->hash[i] = (uint32_t)(p->n_o - 1);
}

/* ---- records ----------------------------------------------------------------------------- */

/* Nothing failed or was refused yet: the reading goes on. */
static int go(const tp *p)
{
    return p->err == ST_OK && !p->refused;
}

/* The bytes of one pickle at *pos (before end), framed by the walker the check used; *pos moves
 * past it. NULL when there is none (refused) or the walk failed (p->err). */
static unsigned char *frame(tp *p, uint64_t *pos, uint64_t end, size_t *len)
{
    st_pk_job job = {.in = p->in,
                     .src = p->src,
                     .start = *pos,
                     .end = end,
                     .profile = ST_PK_PROFILE_TORCH,
                     .single = 1,
                     .keyed_persid = 1};
    st_pk_result res;
    p->err = st_pickle_walk(&job, &res);
    int whole = p->err == ST_OK && !res.malformed && res.pickles == 1;
    uint64_t stop = res.stop_end;
    st_pk_result_free(&res);
    if (!whole) {
        if (p->err == ST_OK)
            unusable(p, *pos, "no whole pickle where torch reads the next record", "", "");
        return NULL;
    }
    unsigned char *buf = malloc((size_t)(stop - *pos) + 1);
    if (buf == NULL) {       /* GCOVR_EXCL_BR_LINE: allocation failure */
        p->err = ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
        return NULL;         /* GCOVR_EXCL_LINE: allocation failure */
    }
    /* the walk read these bytes: a read fails only when the file shrank under us */
    if (st_src_read(p->src, *pos, buf, (size_t)(stop - *pos)) != ST_OK) /* GCOVR_EXCL_BR_LINE */
        p->err = ST_E_IO;                                               /* GCOVR_EXCL_LINE */
    *len = (size_t)(stop - *pos);
    *pos = stop;
    return buf;
}

/* One record at *pos, interpreted as what (statedict.c) into rec (zeroed first). */
static void record(tp *p, uint64_t *pos, uint64_t end, st_sd_what what, st_sd *rec)
{
    size_t len = 0;
    int refused = 0;
    memset(rec, 0, sizeof(*rec));
    unsigned char *buf = frame(p, pos, end, &len);
    if (buf != NULL && p->err == ST_OK)
        p->err = st_sd_read(p->ctx, p->r, buf, len, *pos - len, ST_SD_TAR, what, rec, &refused);
    free(buf);
    p->refused |= refused;
}

/* A record count, within the storages limit (each record takes bytes: the loop is bounded by
 * the member anyway). */
static uint64_t count_of(tp *p, uint64_t *pos, uint64_t end)
{
    st_sd rec;
    record(p, pos, end, ST_SD_TAR_COUNT, &rec);
    uint64_t n = rec.count;
    st_sd_free(&rec);
    if (go(p) && n > st_ctx_get_limit(p->ctx, ST_LIMIT_PICKLE_STORAGES)) {
        st_report_add(p->r, ST_R_LIMIT, *pos, 0, "%llu records, over the storages limit",
                      (unsigned long long)n);
        p->err = ST_E_LIMIT;
    }
    return n;
}

/* ---- storages ---------------------------------------------------------------------------- */

static void add_storage(tp *p, st_sd *rec, uint64_t numel, uint64_t at)
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
        free(shown);         /* GCOVR_EXCL_LINE: allocation failure */
        p->err = ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
        return;              /* GCOVR_EXCL_LINE: allocation failure */
    }
    p->base[sd->n_storages] = at + 8;
    sd->storages[sd->n_storages++] = (st_sd_storage){shown, rec->rec_dtype, numel};
    char *key = rec->rec_key;
    rec->rec_key = NULL;
    add_obj(p, key, OBJ_STORAGE, sd->n_storages - 1, 0, numel, at);
}

/* The views: slices of a root storage or of an earlier view, under keys of their own (read
 * before any tensor: a root is a storage or a view). */
static void add_views(tp *p, st_sd *rec, uint64_t at)
{
    for (size_t i = 0; i < rec->n_views && go(p); i++) {
        st_sd_view *v = &rec->views[i];
        long root = find(p, v->root);
        if (root < 0) {
            unusable(p, at, "a storage view's root \"", v->root + 1, "\" is no storage");
            return;
        }
        obj o = p->o[root];
        if (v->offset > o.numel || v->numel > o.numel - v->offset) {
            unusable(p, at, "the storage view \"", v->target + 1, "\" lies outside its root");
            return;
        }
        char *key = v->target;
        v->target = NULL;
        add_obj(p, key, OBJ_VIEW, o.storage, o.off + v->offset, v->numel, at);
    }
}

/* After a storage record: the element count and the elements. */
static void storage_data(tp *p, st_sd *rec, uint64_t *pos, uint64_t end)
{
    unsigned char cnt[8];
    uint64_t numel = 0, bytes, stop;
    /* inside a member the walk found whole: a read fails only on I/O */
    int cut = end - *pos < 8 || st_src_read(p->src, *pos, cnt, 8) != ST_OK; /* GCOVR_EXCL_BR_LINE */
    if (!cut)
        numel = st_le64(cnt);
    if (cut || st_mul_u64(numel, st_dtype_size(rec->rec_dtype), &bytes) || bytes > end - *pos - 8) {
        unusable(p, *pos, "storage \"", rec->rec_key + 1, "\" runs past the end of its member");
        return;
    }
    stop = *pos + 8 + bytes;
    add_storage(p, rec, numel, *pos);
    *pos = stop;
}

static void tar_storages(tp *p, uint64_t pos, uint64_t end)
{
    st_sd rec;
    uint64_t n = count_of(p, &pos, end);
    for (uint64_t i = 0; i < n && go(p); i++) {
        record(p, &pos, end, ST_SD_TAR_STORAGE, &rec);
        if (go(p))
            storage_data(p, &rec, &pos, end);
        st_sd_free(&rec);
    }
    if (!go(p))
        return;
    record(p, &pos, end, ST_SD_TAR_VIEWS, &rec);
    if (go(p))
        add_views(p, &rec, pos);
    st_sd_free(&rec);
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
static void tensor_meta(tp *p, uint64_t *pos, uint64_t end, trec *t)
{
    unsigned char nd[8];
    /* inside a member the walk found whole: a read fails only on I/O */
    if (end - *pos < 8 || st_src_read(p->src, *pos, nd, 8) != ST_OK) { /* GCOVR_EXCL_BR_LINE */
        unusable(p, *pos, "a tensor record is cut short", "", "");
        return;
    }
    int64_t ndim = le_signed(nd, 4);
    uint64_t need = 16 * (uint64_t)(ndim < 0 ? 0 : ndim) + 8;
    if (ndim < 0 || (uint64_t)ndim > st_ctx_get_limit(p->ctx, ST_LIMIT_RANK) ||
        need > end - *pos - 8) {
        unusable(p, *pos,
                 "a tensor record's ndim is negative, over the rank limit or past its member", "",
                 "");
        return;
    }
    unsigned char *b = malloc((size_t)need);
    t->dims = malloc((size_t)(2 * ndim + 1) * sizeof(uint64_t));
    if (b == NULL || t->dims == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
        p->err = ST_E_NOMEM;          /* GCOVR_EXCL_LINE: allocation failure */
    else if (st_src_read(p->src, *pos + 8, b, (size_t)need) != ST_OK) /* GCOVR_EXCL_BR_LINE */
        p->err = ST_E_IO; /* GCOVR_EXCL_LINE: inside the member, as above */
    for (int64_t i = 0; i <= 2 * ndim && go(p); i++) {
        int64_t v = le_signed(b + 8 * i, 8);
        if (v < 0)
            unusable(p, *pos, "a tensor record's size, stride or offset is negative", "", "");
        if (i < 2 * ndim)
            t->dims[i] = (uint64_t)v;
        else
            t->offset = (uint64_t)v;
    }
    free(b);
    t->rank = (unsigned)ndim;
    *pos += 8 + need;
}

static void add_tensor(tp *p, st_sd *rec, uint64_t at, trec *t)
{
    long s = find(p, rec->rec_ref);
    if (s < 0 || p->o[s].kind == OBJ_TENSOR) {
        unusable(p, at, "a tensor's storage \"", rec->rec_ref + 1, "\" is no storage");
        return;
    }
    t->storage = p->o[s].storage;
    t->view_off = p->o[s].off;
    t->view_numel = p->o[s].numel;
    /* offsets are < 2^63 and a view lies in a storage the file holds: no overflow */
    t->offset += t->view_off;
    /* GCOVR_EXCL_BR_START: allocation failure */
    if (st_grow(&p->t, &p->cap_t, p->n_t, sizeof(trec), 16) != 0) {
        p->err = ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
        return;              /* GCOVR_EXCL_LINE: allocation failure */
    }
    /* GCOVR_EXCL_BR_STOP */
    p->t[p->n_t++] = *t;
    t->dims = NULL;
    char *key = rec->rec_key;
    rec->rec_key = NULL;
    add_obj(p, key, OBJ_TENSOR, p->n_t - 1, 0, 0, at);
}

static void tar_tensors(tp *p, uint64_t pos, uint64_t end)
{
    uint64_t n = count_of(p, &pos, end);
    for (uint64_t i = 0; i < n && go(p); i++) {
        st_sd rec;
        trec t = {0};
        uint64_t at = pos;
        record(p, &pos, end, ST_SD_TAR_TENSOR, &rec);
        if (go(p))
            tensor_meta(p, &pos, end, &t);
        if (go(p))
            add_tensor(p, &rec, at, &t);
        free(t.dims);
        st_sd_free(&rec);
    }
}

/* ---- the state dict ---------------------------------------------------------------------- */

/* Each name's tensor: the record its persistent id names. */
static void resolve(tp *p)
{
    for (size_t i = 0; i < p->sd->n_tensors && go(p); i++) {
        st_sd_tensor *s = &p->sd->tensors[i];
        long k = find(p, s->ref);
        char shown[160];
        if (k < 0 || p->o[k].kind != OBJ_TENSOR) {
            st_escape(s->name, s->name_len, shown, sizeof(shown), 100);
            st_report_add(
                p->r, k < 0 ? ST_R_CV_STORAGE : ST_R_CV_REFUSED, 0, 0, "\"%s\" is %s", shown,
                k < 0 ? "named by a key no tensor record has" : "a storage, not a tensor");
            p->refused = 1;
            return;
        }
        const trec *t = &p->t[p->o[k].storage];
        uint64_t *dims = malloc((2 * (size_t)t->rank + 1) * sizeof(uint64_t));
        if (dims == NULL) {      /* GCOVR_EXCL_BR_LINE: allocation failure */
            p->err = ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
            return;              /* GCOVR_EXCL_LINE: allocation failure */
        }
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
}

/* The object: one pickle from the member's start (torch's Unpickler.load reads no further). */
static void tar_pickle(tp *p, uint64_t pos, uint64_t end)
{
    size_t len = 0;
    unsigned char *buf = frame(p, &pos, end, &len);
    if (buf != NULL && p->err == ST_OK && len > st_ctx_get_limit(p->ctx, ST_LIMIT_MEMBER_BYTES)) {
        st_report_add(p->r, ST_R_LIMIT, 0, 0, "the pickle member is over the member limit");
        p->err = ST_E_LIMIT;
    }
    if (buf != NULL && p->err == ST_OK)
        p->err = st_sd_read(p->ctx, p->r, buf, len, pos - len, ST_SD_TAR, ST_SD_STATE_DICT, p->sd,
                            &p->refused);
    free(buf);
}

st_error st_cv_tar_sd(const st_ctx *ctx, st_report *r, st_input *in, st_sd *sd, uint64_t **base,
                      int *refused)
{
    uint64_t off[4], size[4];
    tp p = {.ctx = ctx, .r = r, .in = in, .src = in->src, .sd = sd};
    memset(sd, 0, sizeof(*sd));
    p.err = st_tar_torch_parts(in, off, size);
    if (p.err == ST_OK && (size[1] == UINT64_MAX || size[2] == UINT64_MAX || size[3] == UINT64_MAX))
        p.err = ST_E_UNSUPPORTED; /* the check found each part a plain file: defensive */
    if (go(&p))
        tar_pickle(&p, off[1], off[1] + size[1]);
    if (go(&p))
        tar_storages(&p, off[2], off[2] + size[2]);
    if (go(&p))
        tar_tensors(&p, off[3], off[3] + size[3]);
    if (go(&p))
        resolve(&p);
    for (size_t i = 0; i < p.n_o; i++)
        free(p.o[i].key);
    for (size_t i = 0; i < p.n_t; i++)
        free(p.t[i].dims);
    free(p.o);
    free(p.t);
    free(p.hash);
    *refused = p.refused;
    *base = p.base;
    return p.err;
}
