/*
 * pickle.h - the pickle opcode walker and the judgement of its imports (internal).
 *
 * The walker never unpickles: it decodes opcodes of protocols 0-5 and simulates CPython's
 * stack, mark stack and memo abstractly, recording every import, call site, BUILD and
 * persistent id. See pickle.c.
 */
#ifndef ST_PICKLE_H
#define ST_PICKLE_H

#include "format.h"

#define ST_PK_TEXT_MAX 256 /* longest dict key / dtype text the walker reads as a value */
/* Longest module and longest qualname judged, in bytes. A longer name is not judged on a part
 * of it: the import is an error of its own (ST216). CPython has no such limit; no real module
 * path or qualname comes near it. */
#define ST_PK_NAME_MAX 1024

typedef enum {
    ST_PK_PROFILE_TORCH, /* PyTorch checkpoints: weights_only's allowlist */
    ST_PK_PROFILE_DATA,  /* raw pickles, joblib, numpy object arrays: torch + numpy + joblib */
    /* H3: TorchScript archives, read by torch.jit.load's C++ unpickler (torch/csrc/jit/
     * serialization/unpickler.cpp readGlobal): its fixed globals; other names are archive classes
     */
    ST_PK_PROFILE_TORCHSCRIPT,
} st_pk_profile;

typedef enum { ST_PK_ALLOWED, ST_PK_SUSPICIOUS, ST_PK_MALICIOUS } st_pk_judgement;

/* Reconstructors whose class arguments may be data classes (see st_pk_is_data_class). */
typedef enum {
    ST_PK_RECON_NONE,
    ST_PK_RECON_ARRAY,  /* numpy _reconstruct(cls, shape, typecode): cls at 0 */
    ST_PK_RECON_MASKED, /* numpy.ma _mareconstruct(subtype, baseclass, shape, type): 0 and 1 */
    ST_PK_RECON_DTYPE,  /* numpy.dtype(obj, align, copy): obj at 0 */
} st_pk_recon;

/* A persistent id that names a storage: ('storage', type, key, location, numel[, view]). */
typedef struct {
    char key[64];
    uint64_t numel;
    unsigned elem_size; /* 0 when the storage type is not known */
    uint64_t offset;    /* of the BINPERSID opcode */
} st_pk_storage_ref;

typedef struct {
    st_input *in;
    const st_src *src;  /* the bytes holding the pickle stream */
    uint64_t start;     /* where the stream begins in src */
    uint64_t end;       /* where it must end */
    const char *member; /* container member name, NULL for the file itself */
    st_pk_profile profile;
    int single;       /* walk one pickle only (legacy torch walks its records one by one) */
    int torch_rules;  /* apply torch's opcode rules (BUILD, SETITEM, persistent ids) */
    int keyed_persid; /* persistent ids are keys the loader resolves (legacy tar checkpoints) */
    unsigned depth;   /* pickles nested in pickles (joblib object arrays) */
    int plain;        /* 0: read by joblib's NumpyUnpickler (BUILD on its array wrappers reads
                         the array); 1: by pickle.load (numpy object arrays, nested pickles:
                         BUILD only sets attributes); 2: by joblib's ZipNumpyUnpickler (old ZF
                         files: only NDArrayWrapper siblings are read); 3: by joblib < 1.2
                         (no padding byte before array data) */
} st_pk_job;

typedef struct {
    uint64_t stop_end; /* offset just past the last STOP walked */
    unsigned pickles;  /* complete pickles walked */
    int malformed;     /* the stream was malformed (a finding was recorded) */
    size_t n_storages;
    st_pk_storage_ref *storages; /* persistent ids naming storages (caller frees) */
    unsigned storage_type_elem;  /* element size of the last storage type imported, or 0 */
} st_pk_result;

/* Walks pickles from job->start. Returns ST_OK when the walk finished (findings recorded),
 * or an error (limit, I/O, memory) when it could not. */
st_error st_pickle_walk(const st_pk_job *job, st_pk_result *res);
void st_pk_result_free(st_pk_result *res);

/* Nonzero when the bytes at p plausibly begin a pickle: PROTO 2-5, or a protocol 0/1 stream
 * that decodes to a STOP within the window. */
int st_pk_looks_like_pickle(const unsigned char *p, size_t n);

/* numpy.c: item size of a numpy type string ('f4', '<U3', 'O8'); 0 on success. */
int st_npy_typestr(const unsigned char *s, size_t len, uint64_t *size, int *object);

/* pickle_globals.c */
void st_pk_map_py2(const char **module, const char **name);
/* Judges module.name under the profile's built-in lists and the policy's pickle lists in ctx
 * (NULL: built-in only). Order: policy deny, built-in deny (unless replaced), built-in allow
 * (unless replaced), policy allow; anything else is suspicious. */
st_pk_judgement st_pk_judge(const st_ctx *ctx, st_pk_profile profile, const char *module,
                            const char *name);
int st_pk_is_container_type(const char *module, const char *name);
/* Nonzero for numpy's own ndarray/scalar subclasses: data as the class argument of an allowed
 * reconstructor, a call judged by st_pk_judge when called (data profile only). */
int st_pk_is_data_class(const st_ctx *ctx, st_pk_profile profile, const char *module,
                        const char *name);
st_pk_recon st_pk_reconstructor(const char *full);
const char *st_pk_allow_deny_overlap(void);
unsigned st_pk_storage_elem_size(const char *module, const char *name);

#endif /* ST_PICKLE_H */
