/*
 * plan.c - from a checked input to the list of tensors it holds and where their bytes are.
 *
 * PyTorch zip checkpoints are read as torch.load reads them (torch/serialization.py _load,
 * PyTorchStreamReader): the folder is the first entry's name up to '/', records are found by
 * miniz's lookup, <folder>/data.pkl is the state dict and <folder>/data/<key> a storage's bytes.
 * A <folder>/byteorder record is honoured as torch >= 2.1 does ("little" or "big"; big-endian
 * storages are swapped; torch 1.13 ignores the record). Legacy checkpoints are read as
 * _legacy_load reads them: five pickles, then each storage of the key list, in the list's
 * order, as an 8-byte element count and the elements, little-endian (THPStorage_readFileRaw
 * always decodes little-endian). Storage records must be stored, not compressed: they are read
 * in place, never loaded whole.
 *
 * Shared storages follow safetensors' convert.py (_remove_duplicate_names): names whose tensors
 * sit on one storage object form a group; among those covering the whole storage, the first in
 * sorted order is kept and the others become aliases; a lone partial view is copied out; a
 * group of several with none complete is refused (ST671).
 */
#include <stdlib.h>
#include <string.h>

#include "../core/checked.h"
#include "../core/escape.h"
#include "../formats/pickle.h"
#include "../formats/zip.h"
#include "../json/json.h"
#include "convert.h"

void st_cv_plan_free(st_cv_plan *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->t[i].name);
        free(p->t[i].shape);
    }
    for (size_t i = 0; i < p->n_alias; i++) {
        free(p->alias[i].name);
        free(p->alias[i].target);
        free(p->alias[i].t.name);
        free(p->alias[i].t.shape);
    }
    free(p->t);
    free(p->alias);
    memset(p, 0, sizeof(*p));
}

void st_cv_cache_free(st_cv_cache *c)
{
    free(c->buf);
    free(c->idx);
    memset(c, 0, sizeof(*c));
}

/* ---- reading tensors -------------------------------------------------------------------- */

static void swap_elems(unsigned char *p, uint64_t n, unsigned es)
{
    for (uint64_t i = 0; i < n; i++, p += es)
        for (unsigned a = 0, b = es - 1; a < b; a++, b--) {
            unsigned char x = p[a];
            p[a] = p[b];
            p[b] = x;
        }
}

/* Gathers a view element by element through an odometer; the source from the cache when the
 * view's whole span fits it, else by one read per row run. */
static st_error gather(const st_src *src, const st_cv_tensor *t, uint64_t first, uint64_t count,
                       unsigned char *out, st_cv_cache *c)
{
    unsigned es = st_dtype_size(t->dtype), rank = t->rank;
    uint64_t span_bytes = t->span * es; /* fits: checked when the plan was built */
    int cached = span_bytes <= ST_CV_CACHE;
    if (rank > c->cap_idx) {
        uint64_t *p = realloc(c->idx, rank * sizeof(uint64_t));
        if (p == NULL)         /* GCOVR_EXCL_BR_LINE: allocation failure */
            return ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
        c->idx = p;
        c->cap_idx = rank;
    }
    if (cached && c->of != t) {
        /* GCOVR_EXCL_BR_START: allocation failure */
        if (c->buf == NULL && (c->buf = malloc(ST_CV_CACHE)) == NULL)
            return ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
        /* GCOVR_EXCL_BR_STOP */
        c->of = NULL;
        if (st_src_read(src, t->base + t->first * es, c->buf, (size_t)span_bytes) != ST_OK)
            return ST_E_IO;
        c->of = t;
    }
    uint64_t off = 0, rem = first; /* element offset from t->first of element `first` */
    for (unsigned d = rank; d-- > 0;) {
        c->idx[d] = rem % t->shape[d];
        rem /= t->shape[d];
        off += c->idx[d] * t->stride[d];
    }
    unsigned last = rank - 1; /* rank >= 1: a 0-d tensor is contiguous */
    while (count > 0) {
        uint64_t run = t->stride[last] == 1 ? t->shape[last] - c->idx[last] : 1;
        if (run > count)
            run = count;
        size_t bytes = (size_t)(run * es);
        if (cached)
            memcpy(out, c->buf + off * es, bytes);
        else if (st_src_read(src, t->base + (t->first + off) * es, out, bytes) != ST_OK)
            return ST_E_IO;
        out += bytes;
        count -= run;
        c->idx[last] += run - 1;
        off += (run - 1) * t->stride[last];
        for (unsigned d = rank; d-- > 0;) { /* advance by one element */
            if (++c->idx[d] < t->shape[d]) {
                off += t->stride[d];
                break;
            }
            off -= (t->shape[d] - 1) * t->stride[d];
            c->idx[d] = 0;
        }
    }
    return ST_OK;
}

st_error st_cv_fill(const st_src *src, const st_cv_tensor *t, uint64_t first, uint64_t count,
                    unsigned char *out, st_cv_cache *c)
{
    unsigned es = st_dtype_size(t->dtype);
    st_error err = ST_OK;
    if (count == 0)
        return ST_OK;
    if (t->contiguous) /* a failing read is an I/O error, whatever the source */
        err =
            st_src_read(src, t->base + (t->first + first) * es, out, (size_t)(count * es)) == ST_OK
                ? ST_OK
                : ST_E_IO;
    else
        err = gather(src, t, first, count, out, c);
    if (err == ST_OK && t->swap)
        swap_elems(out, count, es);
    return err;
}

/* ---- tensors from the state dict -------------------------------------------------------- */

typedef struct {
    const st_ctx *ctx;
    st_report *r;
    const st_src *src;
    st_sd sd;
    uint64_t *base; /* per storage: its first byte in src */
    int swap;
    int refused;
    int notes; /* record ST674 for each alias (convert; compare does not) */
} cpt;

/* numel, bytes and the last element read; refusals for views outside their storage */
static int tensor_geometry(cpt *c, const st_sd_tensor *s, st_cv_tensor *t)
{
    unsigned es = st_dtype_size(t->dtype);
    uint64_t numel = 1, last = 0, prod = 1;
    int contiguous = 1, bad = 0;
    for (unsigned d = s->rank; d-- > 0;) {
        uint64_t ext;
        bad |= st_mul_u64(numel, s->size[d], &numel);
        if (s->size[d] > 1 && s->stride[d] != prod)
            contiguous = 0;
        if (s->size[d] > 0) {
            bad |= st_mul_u64(s->size[d] - 1, s->stride[d], &ext);
            bad |= st_add_u64(last, ext, &last);
        }
        bad |= st_mul_u64(prod, s->size[d], &prod);
    }
    uint64_t end, vend;
    bad |= st_mul_u64(numel, es, &t->nbytes);
    bad |= st_add_u64(s->offset, last, &end);
    bad |= st_add_u64(s->view_off, s->view_numel, &vend);
    if (!bad && numel > 0 && end >= vend)
        bad = 1;
    if (bad) {
        char shown[160];
        st_report_add(c->r, ST_R_CV_STORAGE, 0, 0,
                      "tensor \"%s\" reaches past the end of its storage (or its "
                      "sizes overflow)",
                      st_escape(s->name, s->name_len, shown, sizeof(shown), 120));
        c->refused = 1;
        return -1;
    }
    t->numel = numel;
    t->first = s->offset;
    t->span = numel > 0 ? last + 1 : 0;
    t->contiguous = contiguous || numel <= 1;
    return 0;
}

/* A plan entry for state dict tensor s (a refusal sets c->refused and returns ST_OK). */
static st_error make_tensor(cpt *c, const st_sd_tensor *s, st_cv_tensor *t)
{
    t->dtype = c->sd.storages[s->storage].dtype;
    t->rank = s->rank;
    t->base = c->base[s->storage];
    t->swap = c->swap && st_dtype_size(t->dtype) > 1;
    if (tensor_geometry(c, s, t) != 0)
        return ST_OK;
    t->name = strdup(s->name);
    t->shape = malloc((s->rank ? 2 * s->rank : 1) * sizeof(uint64_t));
    if (t->name == NULL || t->shape == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
        return ST_E_NOMEM;                   /* GCOVR_EXCL_LINE: allocation failure */
    t->name_len = s->name_len;
    t->stride = t->shape + s->rank;
    memcpy(t->shape, s->size, 2 * s->rank * sizeof(uint64_t));
    return ST_OK;
}

static int bytes_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    int k = memcmp(a, b, al < bl ? al : bl);
    return k != 0 ? k : (al > bl) - (al < bl);
}

/* the safetensors crate's order: dtype descending, then name */
static int crate_cmp(const void *pa, const void *pb)
{
    const st_cv_tensor *a = pa, *b = pb;
    if (a->dtype != b->dtype)
        return a->dtype > b->dtype ? -1 : 1;
    return bytes_cmp(a->name, a->name_len, b->name, b->name_len);
}

static int alias_cmp(const void *pa, const void *pb)
{
    const st_cv_alias *a = pa, *b = pb;
    return strcmp(a->name, b->name);
}

/* storage object, then name: groups of convert.py's _find_shared_tensors, names sorted */
static const st_sd *g_sd;
static int group_cmp(const void *pa, const void *pb)
{
    const st_sd_tensor *a = &g_sd->tensors[*(const size_t *)pa];
    const st_sd_tensor *b = &g_sd->tensors[*(const size_t *)pb];
    if (a->storage != b->storage)
        return a->storage < b->storage ? -1 : 1;
    if (a->view_off != b->view_off)
        return a->view_off < b->view_off ? -1 : 1;
    if (a->view_numel != b->view_numel)
        return a->view_numel < b->view_numel ? -1 : 1;
    return bytes_cmp(a->name, a->name_len, b->name, b->name_len);
}

static int same_group(const st_sd_tensor *a, const st_sd_tensor *b)
{
    return a->storage == b->storage && a->view_off == b->view_off && a->view_numel == b->view_numel;
}

static int complete(const st_sd_tensor *s, const st_cv_tensor *t)
{
    return s->offset == s->view_off && t->numel == s->view_numel;
}

/* One group [lo, hi) of order: keep one complete tensor, alias the rest. */
static int resolve_group(cpt *c, const size_t *order, size_t lo, size_t hi, st_cv_tensor *all,
                         unsigned char *keep, st_cv_plan *p)
{
    const st_sd_tensor *t = c->sd.tensors;
    long kept = -1;
    for (size_t i = lo; i < hi && kept < 0; i++)
        if (complete(&t[order[i]], &all[order[i]]))
            kept = (long)order[i];
    if (hi - lo == 1 || t[order[lo]].view_numel == 0) {
        for (size_t i = lo; i < hi; i++) /* alone, or an empty storage: not grouped */
            keep[order[i]] = 1;
        return 0;
    }
    if (kept < 0) {
        char shown[160];
        st_report_add(c->r, ST_R_CV_SHARED, 0, 0,
                      "%zu tensors share storage \"%s\" and none covers it whole; "
                      "convert.py refuses them too",
                      hi - lo,
                      st_escape(c->sd.storages[t[order[lo]].storage].key,
                                strlen(c->sd.storages[t[order[lo]].storage].key), shown,
                                sizeof(shown), 100));
        c->refused = 1;
        return -1;
    }
    keep[kept] = 1;
    for (size_t i = lo; i < hi; i++) {
        if ((long)order[i] == kept)
            continue;
        st_cv_alias *a = &p->alias[p->n_alias];
        a->name = strdup(t[order[i]].name);
        a->target = strdup(t[kept].name);
        a->t = all[order[i]]; /* what the name holds: two checkpoints' aliases are compared */
        memset(&all[order[i]], 0, sizeof(all[order[i]]));
        p->n_alias++;
        if (a->name == NULL || a->target == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
            return -1;                            /* GCOVR_EXCL_LINE: allocation failure */
        char s1[160], s2[160];
        if (c->notes)
            st_report_add(c->r, ST_R_CV_ALIAS, 0, 0,
                          "\"%s\" shares its storage with \"%s\": left out, recorded in "
                          "__metadata__",
                          st_escape(t[order[i]].name, t[order[i]].name_len, s1, sizeof(s1), 70),
                          st_escape(t[kept].name, t[kept].name_len, s2, sizeof(s2), 70));
    }
    return 0;
}

/* ST_OK (a refusal sets c->refused), or ST_E_NOMEM */
static st_error resolve_shared(cpt *c, st_cv_tensor *all, st_cv_plan *p)
{
    size_t n = c->sd.n_tensors;
    size_t *order = malloc((n + 1) * sizeof(size_t));
    unsigned char *keep = calloc(n + 1, 1);
    p->alias = calloc(n + 1, sizeof(st_cv_alias));
    p->t = calloc(n + 1, sizeof(st_cv_tensor));
    if (!order || !keep || !p->alias || !p->t) { /* GCOVR_EXCL_BR_LINE: allocation failure */
        free(order);                             /* GCOVR_EXCL_LINE: allocation failure */
        free(keep);                              /* GCOVR_EXCL_LINE: allocation failure */
        return ST_E_NOMEM;                       /* GCOVR_EXCL_LINE: allocation failure */
    }
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    g_sd = &c->sd;
    qsort(order, n, sizeof(size_t), group_cmp);
    int rc = 0;
    for (size_t lo = 0, hi; rc == 0 && lo < n; lo = hi) {
        for (hi = lo + 1;
             hi < n && same_group(&c->sd.tensors[order[lo]], &c->sd.tensors[order[hi]]);)
            hi++;
        rc = resolve_group(c, order, lo, hi, all, keep, p);
    }
    for (size_t i = 0; i < n; i++)
        if (keep[i] && !c->refused) {
            p->t[p->n++] = all[i];
            memset(&all[i], 0, sizeof(all[i]));
        }
    free(order);
    free(keep);
    qsort(p->t, p->n, sizeof(*p->t), crate_cmp);
    qsort(p->alias, p->n_alias, sizeof(*p->alias), alias_cmp);
    return rc == 0 || c->refused ? ST_OK : ST_E_NOMEM; /* GCOVR_EXCL_BR_LINE: allocation */
}

static st_error plan_from_sd(cpt *c, st_cv_plan *p)
{
    size_t n = c->sd.n_tensors;
    st_cv_tensor *all = calloc(n + 1, sizeof(*all));
    st_error err = ST_OK;
    if (all == NULL)       /* GCOVR_EXCL_BR_LINE: allocation failure */
        return ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
    for (size_t i = 0; i < n && !c->refused; i++) {
        /* GCOVR_EXCL_BR_START: allocation failure */
        if (make_tensor(c, &c->sd.tensors[i], &all[i]) != ST_OK)
            err = ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
        /* GCOVR_EXCL_BR_STOP */
    }
    if (err == ST_OK && !c->refused) /* GCOVR_EXCL_BR_LINE: err is an allocation failure */
        err = resolve_shared(c, all, p);
    for (size_t i = 0; i < n; i++) {
        free(all[i].name);
        free(all[i].shape);
    }
    free(all);
    return err;
}

/* The storages' offsets, once their count is known. */
static st_error alloc_base(cpt *c)
{
    c->base = calloc(c->sd.n_storages + 1, sizeof(uint64_t));
    return c->base == NULL ? ST_E_NOMEM : ST_OK; /* GCOVR_EXCL_BR_LINE: allocation failure */
}

/* ---- zip checkpoints -------------------------------------------------------------------- */

static int storage_unusable(cpt *c, const char *key, const char *why)
{
    char shown[120];
    st_report_add(c->r, ST_R_CV_STORAGE, 0, 0, "storage \"%s\": %s",
                  st_escape(key, strlen(key), shown, sizeof(shown), 80), why);
    c->refused = 1;
    return -1;
}

static long locate(const st_zip *z, const uint32_t *sorted, const char *top, const char *rec)
{
    char key[4096 + 256]; /* top < 4096 bytes (zip_plan), rec < 256 (zip_storages) */
    size_t tl = strlen(top), rl = strlen(rec);
    memcpy(key, top, tl);
    memcpy(key + tl, rec, rl + 1);
    return st_zip_miniz_locate(z, sorted, key);
}

static int zip_byteorder(cpt *c, st_input *in, const st_zip *z, const uint32_t *sorted,
                         const char *top)
{
    long e = locate(z, sorted, top, "byteorder");
    unsigned char *buf = NULL;
    size_t len = 0;
    if (e < 0)
        return 0;
    /* the check read every record (method, CRC): this read cannot fail but for memory */
    if (st_zip_read(in, z, &z->e[e], 16, &buf, &len) != ST_OK) { /* GCOVR_EXCL_BR_LINE */
        free(buf);
        return storage_unusable(c, "byteorder", "the record cannot be read");
    }
    int ok =
        (len == 6 && memcmp(buf, "little", 6) == 0) || (len == 3 && memcmp(buf, "big", 3) == 0);
    c->swap = len == 3; /* this reader is little-endian only (checked at build time) */
    free(buf);
    return ok ? 0 : storage_unusable(c, "byteorder", "neither \"little\" nor \"big\"");
}

static int zip_storages(cpt *c, const st_zip *z, const uint32_t *sorted, const char *top)
{
    for (size_t i = 0; i < c->sd.n_storages; i++) {
        const st_sd_storage *s = &c->sd.storages[i];
        char rec[300];
        uint64_t bytes;
        if (strlen(s->key) > 200)
            return storage_unusable(c, s->key, "the key is too long");
        snprintf(rec, sizeof(rec), "data/%s", s->key);
        long e = locate(z, sorted, top, rec);
        if (e < 0)
            return storage_unusable(c, s->key, "no record");
        const st_zip_entry *ze = &z->e[e];
        if (ze->method != 0)
            return storage_unusable(c, s->key,
                                    "the record is compressed (convert reads stored "
                                    "records in place)");
        if (!ze->readable || ze->csize != ze->usize) /* GCOVR_EXCL_BR_LINE: the check's ST30x */
            return storage_unusable(c, s->key, "sizes disagree"); /* GCOVR_EXCL_LINE: ditto */
        if (st_mul_u64(s->numel, st_dtype_size(s->dtype), &bytes) || bytes > ze->usize)
            return storage_unusable(c, s->key, "the record is shorter than the storage");
        c->base[i] = ze->data_off;
    }
    return 0;
}

static st_error zip_plan(cpt *c, st_input *in, st_cv_plan *p)
{
    st_zip z;
    int ok = 0;
    uint32_t *sorted = NULL;
    unsigned char *pkl = NULL;
    size_t len = 0;
    char top[4096];
    st_error err = st_zip_walk_miniz(in, &z, &ok);
    if (err != ST_OK)
        return err;
    if (!ok || z.n == 0) {
        st_zip_free(&z);
        return ST_E_UNSUPPORTED; /* the check passed: torch's reader agrees; defensive */
    }
    const unsigned char *n0 = z.cd + z.e[0].name_off, *slash = memchr(n0, '/', z.e[0].name_len);
    size_t tl = slash ? (size_t)(slash - n0) + 1 : 0;
    if (tl == 0 || tl >= sizeof(top) || memchr(n0, 0, tl) != NULL) {
        st_zip_free(&z);
        return ST_E_UNSUPPORTED;
    }
    memcpy(top, n0, tl);
    top[tl] = '\0';
    sorted = st_zip_miniz_sorted(&z);
    long e = -1;
    if (sorted != NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
        e = locate(&z, sorted, top, "data.pkl");
    if (sorted == NULL)   /* GCOVR_EXCL_BR_LINE: allocation failure */
        err = ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
    else if (e < 0)
        err = ST_E_UNSUPPORTED;
    else
        err = st_zip_read(in, &z, &z.e[e], st_ctx_get_limit(c->ctx, ST_LIMIT_MEMBER_BYTES), &pkl,
                          &len);
    if (err == ST_OK)
        err = st_sd_read(c->ctx, c->r, pkl, len, z.e[e].data_off, 0, ST_SD_STATE_DICT, &c->sd,
                         &c->refused);
    if (err == ST_OK && !c->refused)
        err = alloc_base(c);
    if (err == ST_OK && !c->refused && zip_byteorder(c, in, &z, sorted, top) == 0 &&
        zip_storages(c, &z, sorted, top) == 0)
        err = plan_from_sd(c, p);
    free(pkl);
    free(sorted);
    st_zip_free(&z);
    return err;
}

/* ---- legacy checkpoints ----------------------------------------------------------------- */

/* the byte ranges of the five pickles, framed by the walker the check used */
static st_error legacy_frames(st_input *in, uint64_t start[6])
{
    st_pk_job job = {.in = in,
                     .src = in->src,
                     .end = in->src->size,
                     .profile = ST_PK_PROFILE_TORCH,
                     .single = 1,
                     .torch_rules = 1};
    for (int k = 0; k < 5; k++) {
        st_pk_result res;
        start[k] = job.start;
        st_error err = st_pickle_walk(&job, &res);
        int done = err == ST_OK && !res.malformed && res.pickles == 1;
        job.start = res.stop_end;
        st_pk_result_free(&res);
        if (err != ST_OK)
            return err;
        if (!done)
            return ST_E_UNSUPPORTED; /* the check passed: defensive */
    }
    start[5] = job.start;
    return ST_OK;
}

static st_error read_range(const st_src *src, uint64_t lo, uint64_t hi, unsigned char **out)
{
    if (hi - lo > SIZE_MAX - 1)
        return ST_E_LIMIT; /* GCOVR_EXCL_LINE: 32-bit hosts only */
    *out = malloc((size_t)(hi - lo) + 1);
    if (*out == NULL)      /* GCOVR_EXCL_BR_LINE: allocation failure */
        return ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
    return st_src_read(src, lo, *out, (size_t)(hi - lo));
}

/* _legacy_load: for key in deserialized_storage_keys, the count and the elements */
static int legacy_storages(cpt *c, const st_sd *keys, uint64_t pos)
{
    unsigned char *seen = calloc(c->sd.n_storages + 1, 1);
    int rc = seen ? 0 : -1; /* GCOVR_EXCL_BR_LINE: malloc */
    for (size_t k = 0; rc == 0 && k < keys->n_keys; k++) {
        size_t i = 0;
        while (i < c->sd.n_storages && strcmp(c->sd.storages[i].key, keys->keys[k]) != 0)
            i++;
        unsigned char cnt[8];
        uint64_t bytes, end;
        const st_sd_storage *s = &c->sd.storages[i < c->sd.n_storages ? i : 0];
        if (i == c->sd.n_storages || seen[i])
            rc = storage_unusable(c, keys->keys[k], "listed twice, or named by no tensor");
        else if (st_src_read(c->src, pos, cnt, 8) != ST_OK || st_le64(cnt) != s->numel ||
                 st_mul_u64(s->numel, st_dtype_size(s->dtype), &bytes) ||
                 st_add_u64(pos + 8, bytes, &end) || end > c->src->size)
            rc = storage_unusable(c, s->key, "its element count differs or it runs past the end");
        else {
            seen[i] = 1;
            c->base[i] = pos + 8;
            pos = end;
        }
    }
    for (size_t i = 0; rc == 0 && i < c->sd.n_storages; i++)
        if (!seen[i])
            rc = storage_unusable(c, c->sd.storages[i].key, "missing from the key list");
    free(seen);
    return rc;
}

static st_error legacy_plan(cpt *c, st_input *in, st_cv_plan *p)
{
    uint64_t at[6];
    unsigned char *obj = NULL, *lst = NULL;
    st_sd keys = {0};
    int refused2 = 0;
    st_error err = legacy_frames(in, at);
    if (err == ST_OK)
        err = read_range(c->src, at[3], at[4], &obj);
    if (err == ST_OK)
        err = read_range(c->src, at[4], at[5], &lst);
    if (err == ST_OK)
        err = st_sd_read(c->ctx, c->r, obj, (size_t)(at[4] - at[3]), at[3], 1, ST_SD_STATE_DICT,
                         &c->sd, &c->refused);
    if (err == ST_OK && !c->refused)
        err = st_sd_read(c->ctx, c->r, lst, (size_t)(at[5] - at[4]), at[4], 0, ST_SD_KEY_LIST,
                         &keys, &refused2);
    c->refused |= refused2;
    if (err == ST_OK && !c->refused)
        err = alloc_base(c);
    if (err == ST_OK && !c->refused && legacy_storages(c, &keys, at[5]) == 0)
        err = plan_from_sd(c, p);
    st_sd_free(&keys);
    free(obj);
    free(lst);
    return err;
}

/* ---- tar checkpoints (tarplan.c) ------------------------------------------------------- */

static st_error tar_plan(cpt *c, st_input *in, st_cv_plan *p)
{
    st_error err = st_cv_tar_sd(c->ctx, c->r, in, &c->sd, &c->base, &c->refused);
    if (err == ST_OK && !c->refused)
        err = plan_from_sd(c, p);
    return err;
}

/* ---- safetensors ------------------------------------------------------------------------ */

typedef struct {
    st_json *j;
    st_json_tok t;
    st_cv_plan *p;
    char **meta; /* key, value pairs */
    size_t n_meta;
    uint64_t data_start;
} stj;

static int tok(stj *s)
{
    return st_json_next(s->j, &s->t) == ST_JSON_OK ? 0 : -1;
}

static char *tok_str(const stj *s)
{
    char *x = malloc(s->t.str_len + 1);
    if (x != NULL) {
        memcpy(x, s->t.str, s->t.str_len);
        x[s->t.str_len] = '\0';
    }
    return x;
}

static int st_metadata(stj *s)
{
    if (tok(s) || s->t.type != ST_JT_OBJ_BEGIN)
        return -1;
    for (;;) {
        if (tok(s))
            return -1;
        if (s->t.type == ST_JT_OBJ_END)
            return 0;
        char **m = realloc(s->meta, (s->n_meta + 2) * sizeof(char *));
        if (m == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
            return -1; /* GCOVR_EXCL_LINE: allocation failure */
        s->meta = m;
        m[s->n_meta] = tok_str(s);
        m[s->n_meta + 1] = NULL;
        s->n_meta += 2;
        if (tok(s) || s->t.type != ST_JT_STRING || (m[s->n_meta - 1] = tok_str(s)) == NULL)
            return -1;
    }
}

static int uint_array(stj *s, uint64_t **v, unsigned *n)
{
    if (tok(s) || s->t.type != ST_JT_ARR_BEGIN)
        return -1;
    for (;;) {
        if (tok(s))
            return -1;
        if (s->t.type == ST_JT_ARR_END)
            return 0;
        if (s->t.type != ST_JT_NUMBER || !(s->t.flags & ST_JSON_F_UINT) || *n >= 4096)
            return -1;
        uint64_t *p = realloc(*v, (2 * (size_t)*n + 2) * sizeof(uint64_t));
        if (p == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
            return -1; /* GCOVR_EXCL_LINE: allocation failure */
        *v = p;
        p[(*n)++] = s->t.u64;
    }
}

static int st_tensor(stj *s, st_cv_tensor *t)
{
    uint64_t *off = NULL;
    unsigned n_off = 0;
    int have_dtype = 0, rc = 0;
    if (tok(s) || s->t.type != ST_JT_OBJ_BEGIN)
        return -1;
    while (rc == 0 && tok(s) == 0 && s->t.type == ST_JT_KEY) {
        if (s->t.str_len == 5 && memcmp(s->t.str, "dtype", 5) == 0)
            rc = tok(s) || s->t.type != ST_JT_STRING ||
                 st_dtype_parse(s->t.str, s->t.str_len, &t->dtype) != 0;
        else if (s->t.str_len == 5 && memcmp(s->t.str, "shape", 5) == 0)
            rc = uint_array(s, &t->shape, &t->rank);
        else if (s->t.str_len == 12 && memcmp(s->t.str, "data_offsets", 12) == 0)
            rc = uint_array(s, &off, &n_off);
        else
            rc = -1;
        have_dtype |= s->t.type == ST_JT_STRING;
    }
    if (t->shape == NULL)
        t->shape = calloc(1, sizeof(uint64_t));
    uint64_t numel = 1, prod = 1;
    for (unsigned d = 0; rc == 0 && d < t->rank; d++)
        rc = st_mul_u64(numel, t->shape[d], &numel);
    if (rc == 0 && (s->t.type != ST_JT_OBJ_END || !have_dtype || n_off != 2 || off[1] < off[0] ||
                    st_mul_u64(numel, st_dtype_size(t->dtype), &t->nbytes) ||
                    t->nbytes != off[1] - off[0] || t->shape == NULL))
        rc = -1;
    if (rc == 0) {
        t->stride = t->shape + t->rank;
        for (unsigned d = t->rank; d-- > 0;) {
            t->stride[d] = prod;
            prod *= t->shape[d] ? t->shape[d] : 1;
        }
        t->numel = numel;
        t->span = numel;
        t->contiguous = 1;
        t->first = off[0] / st_dtype_size(t->dtype);
        t->base = s->data_start + off[0] - t->first * st_dtype_size(t->dtype);
    }
    free(off);
    return rc;
}

static int st_header(stj *s)
{
    st_cv_plan *p = s->p;
    if (tok(s) || s->t.type != ST_JT_OBJ_BEGIN)
        return -1;
    for (;;) {
        if (tok(s))
            return -1;
        if (s->t.type == ST_JT_OBJ_END)
            return 0;
        if (s->t.str_len == 12 && memcmp(s->t.str, "__metadata__", 12) == 0) {
            if (st_metadata(s))
                return -1;
            continue;
        }
        st_cv_tensor *t = realloc(p->t, (p->n + 1) * sizeof(*t));
        if (t == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
            return -1; /* GCOVR_EXCL_LINE: allocation failure */
        p->t = t;
        t = &p->t[p->n++];
        memset(t, 0, sizeof(*t));
        if ((t->name = tok_str(s)) == NULL || memchr(s->t.str, 0, s->t.str_len) != NULL)
            return -1;
        t->name_len = s->t.str_len;
        if (st_tensor(s, t))
            return -1;
    }
}

static long find_tensor(const st_cv_plan *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->t[i].name, name) == 0)
            return (long)i;
    return -1;
}

/* __metadata__ {removed: kept}: a key naming no tensor whose value names one */
static int st_aliases(stj *s)
{
    st_cv_plan *p = s->p;
    p->alias = calloc(s->n_meta / 2 + 1, sizeof(st_cv_alias));
    if (p->alias == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
        return -1;        /* GCOVR_EXCL_LINE: allocation failure */
    for (size_t i = 0; i < s->n_meta; i += 2) {
        /* "format" is the format's record ("pt"), never a removed name, even beside a tensor
         * named "pt" (convert refuses to remove a tensor named "format": no_format_alias) */
        if (strcmp(s->meta[i], "format") == 0 || find_tensor(p, s->meta[i]) >= 0 ||
            find_tensor(p, s->meta[i + 1]) < 0)
            continue;
        p->alias[p->n_alias].name = s->meta[i];
        p->alias[p->n_alias++].target = s->meta[i + 1];
        s->meta[i] = s->meta[i + 1] = NULL;
    }
    qsort(p->alias, p->n_alias, sizeof(*p->alias), alias_cmp);
    return 0;
}

static st_error safetensors_plan(cpt *c, st_cv_plan *p)
{
    unsigned char n8[8], *hdr = NULL;
    stj s = {.p = p};
    st_error err = st_src_read(c->src, 0, n8, 8);
    uint64_t n = st_le64(n8);
    if (err == ST_OK && (n > c->src->size - 8 || n > 100000000))
        err = ST_E_UNSUPPORTED; /* the check passed: defensive */
    if (err == ST_OK)
        err = read_range(c->src, 8, 8 + n, &hdr);
    s.data_start = 8 + n;
    /* GCOVR_EXCL_BR_START: allocation failure */
    if (err == ST_OK && (s.j = st_json_new(hdr, (size_t)n, 64)) == NULL)
        err = ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
    /* GCOVR_EXCL_BR_STOP */
    if (err == ST_OK && (st_header(&s) != 0 || st_aliases(&s) != 0))
        err = ST_E_UNSUPPORTED; /* the check passed the header: defensive */
    for (size_t i = 0; err == ST_OK && i < p->n; i++)
        if (p->t[i].base + p->t[i].nbytes > c->src->size)
            err = ST_E_UNSUPPORTED; /* defensive: ST1xx covers it */
    if (err == ST_OK && p->n > 0)   /* no tensor: p->t is NULL, which qsort may not be given */
        qsort(p->t, p->n, sizeof(*p->t), crate_cmp);
    for (size_t i = 0; i < s.n_meta; i++)
        free(s.meta[i]);
    free(s.meta);
    st_json_free(s.j);
    free(hdr);
    return err;
}

/* ---- .npz of plain arrays ----------------------------------------------------------------- */

/* numpy's dtype.str of the plain numeric types (numpy/lib/format.py writes it as 'descr') */
static const struct {
    char code[3];
    st_dtype dt;
} npy_types[] = {{"f8", ST_DT_F64}, {"f4", ST_DT_F32}, {"f2", ST_DT_F16}, {"i8", ST_DT_I64},
                 {"i4", ST_DT_I32}, {"i2", ST_DT_I16}, {"i1", ST_DT_I8},  {"u8", ST_DT_U64},
                 {"u4", ST_DT_U32}, {"u2", ST_DT_U16}, {"u1", ST_DT_U8},  {"b1", ST_DT_BOOL}};

static int eat(const char **p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(end - *p) < n || memcmp(*p, lit, n) != 0)
        return -1;
    *p += n;
    return 0;
}

/* The header exactly as numpy's _write_array_header writes it:
 * "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }" then spaces and '\n'. */
static int npy_header(const char *h, size_t n, st_cv_tensor *t, int *fortran)
{
    const char *p = h, *end = h + n;
    unsigned k;
    if (eat(&p, end, "{'descr': '") || end - p < 4 || p[3] != '\'' ||
        (p[0] != '<' && p[0] != '>' && p[0] != '|'))
        return -1;
    for (k = 0; k < sizeof(npy_types) / sizeof(npy_types[0]); k++)
        if (memcmp(p + 1, npy_types[k].code, 2) == 0)
            break;
    if (k == sizeof(npy_types) / sizeof(npy_types[0]))
        return -1;
    t->dtype = npy_types[k].dt;
    t->swap = p[0] == '>' && st_dtype_size(t->dtype) > 1;
    p += 4;
    if (eat(&p, end, ", 'fortran_order': "))
        return -1;
    *fortran = eat(&p, end, "True") == 0;
    if ((!*fortran && eat(&p, end, "False")) || eat(&p, end, ", 'shape': ("))
        return -1;
    while (p < end && *p != ')') {
        uint64_t v = 0;
        if (*p < '0' || *p > '9' || t->rank >= 64)
            return -1;
        for (; p < end && *p >= '0' && *p <= '9'; p++)
            if (st_mul_u64(v, 10, &v) || st_add_u64(v, (uint64_t)(*p - '0'), &v))
                return -1;
        t->shape[t->rank++] = v;
        if (eat(&p, end, ", ") != 0 && eat(&p, end, ",") != 0 && (p >= end || *p != ')'))
            return -1;
    }
    if (eat(&p, end, "), }"))
        return -1;
    while (p < end && *p == ' ')
        p++;
    return p + 1 == end && *p == '\n' ? 0 : -1;
}

/* Strides of a C- or Fortran-ordered array; numel and bytes, overflow-checked. */
static int npy_layout(st_cv_tensor *t, int fortran)
{
    uint64_t prod = 1;
    t->stride = t->shape + t->rank;
    for (unsigned i = 0; i < t->rank; i++) {
        unsigned d = fortran ? i : t->rank - 1 - i;
        t->stride[d] = prod;
        if (st_mul_u64(prod, t->shape[d], &prod))
            return -1;
    }
    t->numel = prod;
    t->span = prod;
    t->contiguous = !fortran || t->rank <= 1;
    return st_mul_u64(prod, st_dtype_size(t->dtype), &t->nbytes);
}

static int name_order(const void *pa, const void *pb)
{
    return strcmp(((const st_cv_tensor *)pa)->name, ((const st_cv_tensor *)pb)->name);
}

/* One member: "<name>.npy", stored, a plain array (numpy.lib.format.read_array). */
static int npz_member(cpt *c, const st_zip *z, const st_zip_entry *e, st_cv_tensor *t)
{
    char name[4096], hdr[4096];
    unsigned char pre[12];
    st_zip_name(z, e, name, sizeof(name));
    size_t nl = strlen(name);
    if (nl < 4 || strcmp(name + nl - 4, ".npy") != 0)
        return storage_unusable(c, name, "not an .npy member");
    if (e->method != 0)
        return storage_unusable(c, name, "compressed (convert reads stored members in place)");
    if (e->usize < 12 || st_src_read(c->src, e->data_off, pre, 12) != ST_OK)
        return storage_unusable(c, name, "too short for an .npy header");
    int v1 = pre[6] == 1;
    uint64_t hl = (uint64_t)pre[8] | (uint64_t)pre[9] << 8; /* version 1: 2 bytes */
    if (!v1)                                                /* versions 2 and 3: 4 bytes */
        hl |= (uint64_t)pre[10] << 16 | (uint64_t)pre[11] << 24;
    uint64_t at = v1 ? 10 : 12, avail = e->usize - at;
    int fortran = 0;
    t->shape = calloc(129, sizeof(uint64_t));
    if (t->shape == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
        return -1;        /* GCOVR_EXCL_LINE: allocation failure */
    if (hl >= sizeof(hdr) || hl > avail ||
        st_src_read(c->src, e->data_off + at, hdr, (size_t)hl) != ST_OK ||
        npy_header(hdr, (size_t)hl, t, &fortran) != 0 || npy_layout(t, fortran) != 0 ||
        t->nbytes > avail - hl)
        return storage_unusable(c, name, "not a plain numeric array numpy writes");
    t->name_len = nl - 4;
    t->name = strdup(name);
    if (t->name == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
        return -1;       /* GCOVR_EXCL_LINE: allocation failure */
    t->name[nl - 4] = '\0';
    t->base = e->data_off + at + hl;
    return 0;
}

static st_error npz_plan(cpt *c, st_input *in, st_cv_plan *p)
{
    st_zip z;
    st_error err = st_zip_walk(in, &z);
    if (err != ST_OK) /* GCOVR_EXCL_BR_LINE: the check walked this archive */
        return err;   /* GCOVR_EXCL_LINE: see above */
    p->t = calloc(z.n + 1, sizeof(st_cv_tensor));
    p->alias = calloc(1, sizeof(st_cv_alias));
    if (p->t == NULL || p->alias == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
        err = ST_E_NOMEM;                 /* GCOVR_EXCL_LINE: allocation failure */
    for (size_t i = 0; err == ST_OK && i < z.n && !c->refused; i++, p->n++)
        if (npz_member(c, &z, &z.e[i], &p->t[i]) != 0 && !c->refused)
            err = ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
    st_zip_free(&z);
    if (err != ST_OK || c->refused)
        return err;
    qsort(p->t, p->n, sizeof(*p->t), name_order);
    for (size_t i = 1; i < p->n && !c->refused; i++)
        if (strcmp(p->t[i - 1].name, p->t[i].name) == 0)
            storage_unusable(c, p->t[i].name, "two members of this name");
    qsort(p->t, p->n, sizeof(*p->t), crate_cmp);
    return ST_OK;
}

/* ---- entry ------------------------------------------------------------------------------ */

st_error st_cv_plan_build(const st_ctx *ctx, st_report *r, const st_src *src, const char *name,
                          const char *format, int notes, st_cv_plan *p, int *refused)
{
    unsigned char head[ST_HEAD_BYTES];
    size_t hl = src->size < sizeof(head) ? (size_t)src->size : sizeof(head);
    /* The walkers record findings the check already recorded: they go to a scratch report. */
    st_report *scratch = st_report_new(ctx, name);
    cpt c = {.ctx = ctx, .r = r, .src = src, .notes = notes};
    st_input in = {.ctx = ctx,
                   .report = scratch,
                   .src = src,
                   .head = head,
                   .head_len = hl,
                   .tail = head,
                   .tail_len = 0,
                   .name = name};
    st_error err = scratch == NULL ? ST_E_NOMEM : st_src_read(src, 0, head, hl);
    memset(p, 0, sizeof(*p));
    if (err == ST_OK) {
        if (strcmp(format, "pytorch") == 0)
            err = zip_plan(&c, &in, p);
        else if (strcmp(format, "pytorch-legacy") == 0)
            err = legacy_plan(&c, &in, p);
        else if (strcmp(format, "pytorch-tar") == 0)
            err = tar_plan(&c, &in, p);
        else if (strcmp(format, "safetensors") == 0)
            err = safetensors_plan(&c, p);
        else if (strcmp(format, "npz") == 0)
            err = npz_plan(&c, &in, p);
        else
            err = ST_E_UNSUPPORTED;
    }
    *refused = c.refused;
    if (err != ST_OK || c.refused)
        st_cv_plan_free(p);
    st_sd_free(&c.sd);
    free(c.base);
    st_report_free(scratch);
    return err;
}
