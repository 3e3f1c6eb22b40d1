/*
 * pickle_values.h - typed records for the values that decide how joblib and numpy read the
 * bytes around a pickle (internal to the pickle walker).
 *
 * An abstract value of the walker (pickle.c) that stands for a numpy dtype, a joblib array
 * wrapper, a state dict or a small tuple refers to a record in a side table by its id. The
 * records are shared, like the objects they stand for: BUILD and SETITEM(S) update the record
 * through any reference (the stack, the memo, a dict that holds it), so a dtype that only
 * becomes an object dtype through a later BUILD is seen as the loader sees it. See
 * pickle_values.c and docs/formats/joblib.md.
 */
#ifndef ST_PICKLE_VALUES_H
#define ST_PICKLE_VALUES_H

#include <stddef.h>
#include <stdint.h>

/* A value as the records see it: kinds the walker knows, with exact content when known. */
typedef enum {
    ST_PKL_UNKNOWN, /* anything stcheck cannot tell apart (call results, persistent ids, ...) */
    ST_PKL_NONE,
    ST_PKL_BOOL,      /* i = 0 or 1 */
    ST_PKL_INT,       /* exact non-negative value in i */
    ST_PKL_NUMBER,    /* a number whose value is not known exactly (negative, big, float) */
    ST_PKL_STR,       /* text resolved: rec = pool offset + 1, i = length */
    ST_PKL_TEXT,      /* a str or bytes whose text was not resolved (too long, undecodable) */
    ST_PKL_SHAPE,     /* a tuple of exact non-negative ints: i = product (saturated flag below) */
    ST_PKL_GLOBAL,    /* an imported global: cls says which class, i = the walker's import index */
    ST_PKL_REC,       /* a record: rec = id */
    ST_PKL_DICT,      /* a dict: i = its identity (where it was made, + 1; 0 unknown) */
    ST_PKL_CONTAINER, /* a list, set or tuple without a record */
} st_pkl_kind;

/* Classes whose instances joblib's NumpyUnpickler.load_build replaces by an array. */
enum {
    ST_PKC_NONE,
    ST_PKC_NUMPY_WRAPPER,
    ST_PKC_ND_WRAPPER,
    ST_PKC_ZND_WRAPPER,
    ST_PKC_DTYPE,
    ST_PKC_ARRAY, /* numpy's _reconstruct: an ndarray whose BUILD state holds its dtype */
};

typedef struct {
    uint8_t kind;
    uint8_t cls;      /* GLOBAL: ST_PKC_* of the class */
    uint8_t overflow; /* SHAPE: the product does not fit 64 bits */
    uint8_t truthy;   /* 0 false, 1 true, 2 unknown (Python truthiness) */
    uint32_t rec;
    uint64_t i;
} st_pkl;

typedef struct st_pkvals st_pkvals;

/* The table; max bounds its records (beyond, values get none and count as unknown). */
st_pkvals *st_pkvals_new(uint64_t max);
void st_pkvals_free(st_pkvals *t);
/* Nonzero once a record could not be made (limit or memory): identities may then be lost, so
 * every later array decision is "unknown" (fail closed). */
int st_pkvals_exhausted(const st_pkvals *t);
/* Nonzero when that was memory: the walk could not finish (ST_E_NOMEM). */
int st_pkvals_out_of_memory(const st_pkvals *t);

/* A literal string for a record element (the pool copies it); returns the ST_PKL_STR value. */
st_pkl st_pkl_str(st_pkvals *t, const char *text, size_t len);
/* Text of an ST_PKL_STR value (NUL-terminated), or NULL. */
const char *st_pkl_text(const st_pkvals *t, const st_pkl *v, size_t *len);

/* A tuple of n items; returns the value standing for it: SHAPE when all items are exact ints,
 * a record when it may matter (dtype arguments and states, wrapper arguments, BUILD states),
 * else CONTAINER. An ST_PKL_STR item with rec 0 has its text in texts[i] (copied only when the
 * tuple is kept). */
st_pkl st_pkvals_tuple(st_pkvals *t, const st_pkl *items, const char *const *texts, size_t n);
/* Nonzero when a dict key matters to the records (an attribute the wrappers read). */
int st_pkvals_key_matters(const char *key);
/* SETITEM/SETITEMS of a key that matters on the dict whose identity is dict (a dict gets a
 * record only then: most never do). Key NULL: a key stcheck could not read (it may be any
 * attribute name). An ST_PKL_STR value with rec 0 has its text in text (or none: NULL). */
void st_pkvals_setitem(st_pkvals *t, uint64_t dict, const char *key, const st_pkl *value,
                       const char *text);

/* A call of callable (cls as in st_pkl) with args; how: 'R' REDUCE/INST/OBJ (runs __init__),
 * 'N' NEWOBJ(_EX) (__new__ only), 'C' copyreg._reconstructor/__newobj__ with the class as the
 * first argument. Returns the record of the object made (0: nothing tracked). */
uint32_t st_pkvals_call(st_pkvals *t, int cls, char how, const st_pkl *args);

/* BUILD state on target (a record). Returns the class whose instance now stands on the stack
 * (ST_PKC_* when joblib replaces it by an array), or ST_PKC_NONE. */
int st_pkvals_build(st_pkvals *t, uint32_t target, const st_pkl *state);

/* Nonzero when an ndarray.__setstate__ state (version, shape, dtype, is_fortran, rawdata)
 * holds an object-kind dtype whose flags say it holds no objects: numpy then copies the raw
 * bytes in as object references (numpy/core/src/multiarray/methods.c array_setstate). */
int st_pkvals_raw_objects(const st_pkvals *t, const st_pkl *state);

/* Nonzero when item pos of an arguments tuple is an object-kind dtype whose state cleared its
 * object flags: numpy.core.multiarray.scalar(dtype, bytes) then returns the object the bytes
 * point to, and numpy.core.numeric._frombuffer(bytes, dtype, ...) makes an object array of
 * them (multiarraymodule.c array_scalar, ctors.c PyArray_FromBuffer check the flags only).
 * Also nonzero when the dtype's flags cannot be told (a state value that is not a literal,
 * such as a numpy integer a call returned, which __setstate__'s "i" format takes). */
int st_pkvals_forged_object_dtype(const st_pkvals *t, const st_pkl *args, size_t pos);

/* How joblib's NumpyUnpickler reads the array of a wrapper after its BUILD
 * (joblib/numpy_pickle.py NumpyArrayWrapper.read, numpy_pickle_compat.py NDArrayWrapper.read,
 * ZNDArrayWrapper.read). */
typedef enum {
    ST_JL_RAW,     /* nbytes of raw data follow, after a padding byte when pad_byte */
    ST_JL_PICKLE,  /* a nested pickle follows (object dtype): pickle.load */
    ST_JL_SIBLING, /* numpy.load of the sibling file named by name (NDArrayWrapper) */
    ST_JL_ZFILE,   /* read_zfile of the sibling named by name (ZNDArrayWrapper) */
    ST_JL_FAILS,   /* the loader raises here: nothing after runs (why says why) */
    ST_JL_UNKNOWN, /* stcheck cannot tell exactly (why says why): fail closed */
} st_jl_how;

typedef struct {
    st_jl_how how;
    int pad_byte;
    int raw_objects; /* an object-kind dtype without its object flag: pointers from file bytes */
    uint64_t nbytes;
    const char *name;  /* ST_JL_SIBLING/ZFILE: the filename attribute's text */
    int has_subclass;  /* the subclass attribute is a global: read() reconstructs it */
    uint64_t subclass; /* its import index */
    size_t name_len;
    const char *why;
} st_jl_read;

void st_pkvals_joblib_read(const st_pkvals *t, uint32_t wrapper, st_jl_read *out);

/* joblib.c: checks the sibling file an NDArrayWrapper (zfile 0) or ZNDArrayWrapper (zfile 1)
 * names; offset is the BUILD's, depth the walk's. Findings go to in's report. */
#include "format.h"
st_error st_joblib_sibling(st_input *in, const char *name, size_t len, int zfile, uint64_t offset,
                           unsigned depth);
/* joblib.c: walks job's stream again as pickle.load reads it (from raw_at on, array bytes are
 * opcodes) and, when pad_at is set, as joblib < 1.2 reads it (no padding byte); imports those
 * walks judge from that offset on are added to the report. */
void st_joblib_other_views(const void *job, uint64_t raw_at, uint64_t pad_at);

#endif /* ST_PICKLE_VALUES_H */
