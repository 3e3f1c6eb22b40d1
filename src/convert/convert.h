/*
 * convert.h - conversion plans: what tensors an input holds and where their bytes are
 * (internal to src/convert/).
 *
 * A plan is built from a checkpoint that passed its checks (plan.c: the state dict through
 * statedict.c, storages located as torch locates them, shared storages resolved as convert.py
 * resolves them) or from a safetensors file (its header). Writing (convert.c) and comparing
 * (compare.c) read tensors through st_cv_fill only, in windows: memory stays bounded whatever
 * the tensors' sizes.
 */
#ifndef ST_CV_CONVERT_H
#define ST_CV_CONVERT_H

#include "../core/source.h"
#include "../formats/format.h"
#include "statedict.h"

typedef struct {
    char *name; /* NUL-free UTF-8 */
    size_t name_len;
    st_dtype dtype;
    unsigned rank;
    uint64_t *shape;  /* rank entries, then rank source strides (in elements) */
    uint64_t *stride; /* = shape + rank */
    uint64_t base;    /* source byte offset of storage element 0 */
    uint64_t first;   /* source element index of the tensor's first element */
    uint64_t span;    /* source elements from first to the last one read, plus one */
    uint64_t numel, nbytes;
    const st_src *src; /* a shard set's tensor: its shard (else the plan's source) */
    int contiguous;    /* strides are the row-major ones: one read per window */
    int swap;          /* big-endian storage: swap each element */
} st_cv_tensor;

typedef struct {
    char *name, *target; /* a removed name and the kept tensor's name */
    st_cv_tensor t;      /* a checkpoint's: the removed tensor (compare checks it); else zeros */
} st_cv_alias;

typedef struct {
    st_cv_tensor *t; /* in the safetensors crate's order: dtype descending, then name */
    size_t n;
    st_cv_alias *alias; /* sorted by name */
    size_t n_alias;
} st_cv_plan;

void st_cv_plan_free(st_cv_plan *p);

/* Window reads: a cache for views whose elements are spread over at most ST_CV_CACHE bytes. */
#define ST_CV_WINDOW (4u << 20)
#define ST_CV_CACHE (8u << 20)
#define ST_CV_CMP_WINDOW (256u << 10) /* compare's windows: within ST_CV_WINDOW */
typedef struct {
    unsigned char *buf; /* ST_CV_CACHE bytes, allocated on first use */
    const st_cv_tensor *of;
    uint64_t *idx; /* odometer */
    unsigned cap_idx;
} st_cv_cache;
void st_cv_cache_free(st_cv_cache *c);

/* Writes count elements of t, from element first in row-major order, into out, as a
 * contiguous little-endian array. */
st_error st_cv_fill(const st_src *src, const st_cv_tensor *t, uint64_t first, uint64_t count,
                    unsigned char *out, st_cv_cache *c);

/* The plan of a checkpoint ("pytorch", "pytorch-legacy") or safetensors file that passed its
 * checks. Refusals and storage problems are findings in r (ST670-ST672; *refused set); with
 * notes, each alias is an ST674 too. Errors are returned. */
st_error st_cv_plan_build(const st_ctx *ctx, st_report *r, const st_src *src, const char *name,
                          const char *format, int notes, st_cv_plan *p, int *refused);

/* tarplan.c: the state dict of a tar checkpoint (format "pytorch-tar") that passed its checks,
 * its tensors resolved to storages, and *base (malloc'd: each storage's first byte). Refusals
 * are findings in r (*refused set); errors are returned. */
st_error st_cv_tar_sd(const st_ctx *ctx, st_report *r, st_input *in, st_sd *sd, uint64_t **base,
                      int *refused);

/* convert.c, for shards.c: the plan convert writes for an input its check passed (0, or -1
 * with the reason in r); a temporary file beside output (tmp: 4200 bytes) holding the plan,
 * verified and fsynced (0, or -1: removed, reason in r); its rename to output; the folder's
 * fsync. */
int st_cv_open_input(const char *path, st_src *src);
int st_cv_usable_plan(const st_ctx *ctx, st_report *r, const st_report *check, const st_src *src,
                      const char *name, st_cv_plan *p);
int st_cv_temp_beside(const char *output, char *tmp);
int st_cv_write_temp(const st_ctx *ctx, st_report *r, const st_src *src, const st_cv_plan *p,
                     const char *output, char *tmp);
int st_cv_publish(st_report *r, const char *tmp, const char *output);
void st_cv_sync_dir(const char *output);

/* shards.c: converts the shard index input (its check passed: r) to a set of safetensors
 * files and model.safetensors.index.json (docs/convert.md); and the union of an index's
 * shards' plans for compare. */
typedef struct {
    void *s; /* the shards, open */
    size_t n;
    st_cv_plan plan;
} st_cv_set;
void st_cv_convert_index(st_ctx *ctx, st_report *r, const char *input, const char *output);
int st_cv_index_plan(st_ctx *ctx, st_report *r, const char *path, st_cv_set *set);
void st_cv_set_free(st_cv_set *set);

/* Compares two plans; each difference is a finding (ST675-ST678) in r. *differs set when any. */
st_error st_cv_compare(const st_src *sa, const st_cv_plan *a, const st_src *sb, const st_cv_plan *b,
                       st_report *r, int *differs);

/* Converts a checkpoint held in memory into memory (the fuzz target): *out (malloc'd) and
 * *out_len only when the conversion passed every step; at most max_out bytes are written. */
st_report *st_cv_convert_buffer(st_ctx *ctx, const void *data, size_t size, unsigned char **out,
                                size_t *out_len, size_t max_out);

#endif /* ST_CV_CONVERT_H */
