/*
 * statedict.h - the strict value interpreter convert reads a checkpoint's state dict with
 * (internal).
 *
 * The pickle walker (formats/pickle.c) judges pickles; it builds no values. Conversion needs
 * the values: which name holds which tensor, built from which storage, with which offset, sizes
 * and strides. statedict.c interprets again, with its own small machine, a pickle that already
 * passed its check, and accepts only what torch.save writes for a state dict.
 */
#ifndef ST_CV_STATEDICT_H
#define ST_CV_STATEDICT_H

#include <stddef.h>
#include <stdint.h>

#include "../core/report.h"

/* dtypes, in the safetensors crate's Dtype order (its writer sorts by it, descending) */
typedef enum {
    ST_DT_BOOL = 0,
    ST_DT_U8,
    ST_DT_I8,
    ST_DT_F8_E5M2,
    ST_DT_F8_E4M3,
    ST_DT_I16,
    ST_DT_U16,
    ST_DT_F16,
    ST_DT_BF16,
    ST_DT_I32,
    ST_DT_U32,
    ST_DT_F32,
    ST_DT_F64,
    ST_DT_I64,
    ST_DT_U64,
    ST_DT_COUNT_
} st_dtype;

const char *st_dtype_name(st_dtype d);                      /* "F32", ... */
unsigned st_dtype_size(st_dtype d);                         /* bytes per element */
int st_dtype_parse(const char *s, size_t n, st_dtype *out); /* 0, or -1 for an unknown name */

/* A storage a persistent id names: ('storage', type, key, location, numel[, view]). */
typedef struct {
    char *key; /* the record key (NUL-terminated; keys holding NUL are refused) */
    st_dtype dtype;
    uint64_t numel; /* elements */
} st_sd_storage;

typedef struct {
    char *name; /* UTF-8, NUL-free */
    size_t name_len;
    size_t storage;  /* index into storages (a root storage) */
    uint64_t offset; /* first element, counted from the root storage's start */
    /* The storage object the tensor is rebuilt on, as convert.py's storage_ptr/storage_size see
     * it: the root (0, numel), or a legacy view of it (its offset and numel). */
    uint64_t view_off, view_numel;
    unsigned rank;
    uint64_t *size, *stride; /* rank entries each (one allocation) */
    char *ref;               /* tar: the tensor key its persistent id names ("i<int>"); else NULL */
} st_sd_tensor;

/* A tar checkpoint's storage view: (target key, root key, offset, numel). Keys of tar records
 * are Python ints or strs, kept as "i<decimal>" or "s<text>" (equal keys, equal strings). */
typedef struct {
    char *target, *root;
    uint64_t offset, numel;
} st_sd_view;

typedef struct {
    st_sd_storage *storages;
    size_t n_storages;
    st_sd_tensor *tensors; /* in the dict's order */
    size_t n_tensors;
    char **keys; /* legacy: the storage key list (the fifth pickle), when asked for */
    size_t n_keys;
    /* the records of a tar checkpoint's storages and tensors members (ST_SD_TAR_*) */
    uint64_t count;          /* TAR_COUNT */
    char *rec_key, *rec_ref; /* TAR_STORAGE: key; TAR_TENSOR: key and storage key */
    st_dtype rec_dtype;      /* TAR_STORAGE */
    st_sd_view *views;       /* TAR_VIEWS */
    size_t n_views;
} st_sd;

typedef enum {
    ST_SD_STATE_DICT,  /* the object pickle: a mapping of names to tensors */
    ST_SD_KEY_LIST,    /* a legacy checkpoint's list of storage keys */
    ST_SD_TAR_COUNT,   /* tar: the count of storage or tensor records (an int) */
    ST_SD_TAR_STORAGE, /* tar: (key, location, <T>Storage) */
    ST_SD_TAR_TENSOR,  /* tar: (key, storage key, <T>Tensor) */
    ST_SD_TAR_VIEWS,   /* tar: [(target key, root key, offset, numel), ...] */
} st_sd_what;

/* The pickle's dialect: persistent ids of a zip checkpoint, a legacy one (with the view
 * element), or a tar one (a tensor's key: an int, or a str int() reads). */
enum { ST_SD_ZIP = 0, ST_SD_LEGACY = 1, ST_SD_TAR = 2 };

/* Interprets the pickle in buf (one pickle, STOP at its end). legacy: ST_SD_ZIP, ST_SD_LEGACY
 * (persistent ids carry the sixth, view, element) or ST_SD_TAR. Refusals are ST670 findings in
 * r (returns ST_OK with *refused = 1); errors (memory, limits) are returned. */
st_error st_sd_read(const st_ctx *ctx, st_report *r, const unsigned char *buf, size_t len,
                    uint64_t base, int legacy, st_sd_what what, st_sd *out, int *refused);
void st_sd_free(st_sd *sd);

#endif /* ST_CV_STATEDICT_H */
