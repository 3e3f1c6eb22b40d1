/*
 * pickle_values.c - records for numpy dtypes, joblib array wrappers, their state dicts and the
 * small tuples that build them, updated as the loaders update the real objects.
 *
 * Sources (numpy 1.24 as Debian ships it; upstream numpy 2.x has the same code paths):
 *   - numpy.dtype(obj, align, copy) (descriptor.c arraydescr_new): copy=True, a non-native byte
 *     order, a sized flexible type or a datetime unit make a new descriptor; otherwise the
 *     builtin singleton comes back.
 *   - dtype.__setstate__ (descriptor.c arraydescr_setstate): a no-op on builtin singletons
 *     (their fields are None); on a new descriptor a state of 8 or 9 items (versions 3, 4) sets
 *     the flags outright - hasobject is flags & 1 whatever the type ('f8' can become an object
 *     dtype and 'O' can lose its flag); versions 0-2 recompute it from the type and the fields;
 *     for flexible types (V, S, U) elsize sets the item size.
 *   - joblib NumpyUnpickler.load_build (numpy_pickle.py): after BUILD, an instance of
 *     NumpyArrayWrapper or NDArrayWrapper (ZNDArrayWrapper is a subclass) is replaced by the
 *     array its read() returns; attributes come from __init__ (REDUCE) and the BUILD state
 *     (dict and slot state, pickle.py load_build).
 * Anything these rules do not decide exactly makes the record unknown; the walker then fails
 * closed rather than guess which bytes the loader reads.
 */
#include "pickle_values.h"

#include <stdlib.h>
#include <string.h>

#include "../core/checked.h"

int st_npy_typestr(const unsigned char *s, size_t len, uint64_t *size, int *object);

enum { R_TUPLE = 1, R_DTYPE, R_DICT, R_OBJ };
enum { A_SHAPE, A_DTYPE, A_ALIGN, A_FILENAME, A_MMAP, A_ORDER, A_SUBCLASS, A_INIT, A_COUNT };
static const char *const attr_names[A_COUNT] = {
    "shape",    "dtype",     "numpy_array_alignment_bytes", "filename", "allow_mmap", "order",
    "subclass", "init_args",
};

#define TUPLE_MAX 9  /* longest tuple given a record (dtype states have 9 items) */
#define TEXT_MAX 256 /* longest string kept */
#define POOL_MAX (32u << 20)

typedef struct {
    uint16_t have;   /* A_* bits set */
    uint8_t tainted; /* a key stcheck could not read was set: any attribute may have changed */
    st_pkl v[A_COUNT];
} attrs;

typedef struct {
    uint8_t type;
    uint8_t cls;       /* R_OBJ: ST_PKC_* */
    uint8_t dkind;     /* R_DTYPE: type character ('f', 'O', 'V', ...) */
    uint8_t hasobject; /* R_DTYPE */
    uint8_t known;     /* R_DTYPE: 0 when stcheck cannot tell it exactly */
    uint8_t newdescr;  /* R_DTYPE: 0 builtin singleton, 1 new descriptor, 2 unknown */
    uint32_t n;        /* R_TUPLE: items */
    uint64_t itemsize; /* R_DTYPE */
    size_t first;      /* R_TUPLE: first item in the item pool */
    attrs *a;          /* R_DICT, R_OBJ */
} rec;

typedef struct {
    uint64_t key; /* dict identity, 0 = empty slot */
    uint32_t rec;
} dslot;

struct st_pkvals {
    rec *recs; /* recs[0] unused: id 0 means "no record" */
    size_t n, cap;
    uint64_t max;
    st_pkl *items;
    size_t n_items, cap_items;
    char *pool;
    size_t n_pool, cap_pool;
    dslot *dicts; /* open addressing, a power of two */
    size_t n_dicts, cap_dicts;
    int exhausted;
};

st_pkvals *st_pkvals_new(uint64_t max)
{
    st_pkvals *t = calloc(1, sizeof(*t));
    if (t != NULL) {
        t->max = max;
        t->n = 1;
    }
    return t;
}

void st_pkvals_free(st_pkvals *t)
{
    if (t == NULL)
        return;
    for (size_t i = 1; i < t->n; i++)
        free(t->recs[i].a);
    free(t->recs);
    free(t->items);
    free(t->pool);
    free(t->dicts);
    free(t);
}

int st_pkvals_exhausted(const st_pkvals *t)
{
    return t == NULL || t->exhausted;
}

int st_pkvals_out_of_memory(const st_pkvals *t)
{
    return t != NULL && t->exhausted == 2;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    /* GCOVR_EXCL_START: need is bounded by the record limit, 9 items a record and the pool's
     * 32 MiB, far from overflowing; the checks stay for any future caller */
    while (c < need)
        if (__builtin_mul_overflow(c, (size_t)2, &c))
            return -1;
    size_t bytes;
    if (__builtin_mul_overflow(c, elem, &bytes))
        return -1;
    /* GCOVR_EXCL_STOP */
    void *q = realloc(*p, bytes);
    if (q == NULL)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

static uint32_t new_rec(st_pkvals *t, uint8_t type)
{
    if (t == NULL || t->exhausted)
        return 0;
    if (t->n >= t->max ||
        t->n >= UINT32_MAX) { /* GCOVR_EXCL_BR_LINE: max (REC_MAX, 2^21) is lower */
        t->exhausted = 1;
        return 0;
    }
    if (grow((void **)&t->recs, &t->cap, t->n + 1, sizeof(rec)) != 0) {
        t->exhausted = 2;
        return 0;
    }
    rec *r = &t->recs[t->n];
    memset(r, 0, sizeof(*r));
    r->type = type;
    return (uint32_t)t->n++;
}

static rec *get(const st_pkvals *t, uint32_t id, uint8_t type)
{
    if (t == NULL || id == 0 || id >= t->n || t->recs[id].type != type)
        return NULL;
    return &t->recs[id];
}

static size_t dict_slot(const st_pkvals *t, uint64_t key)
{
    size_t mask = t->cap_dicts - 1, i = (size_t)(key * 0x9E3779B97F4A7C15u) & mask;
    while (t->dicts[i].key != 0 && t->dicts[i].key != key)
        i = (i + 1) & mask;
    return i;
}

/* The record of the dict with identity key; with create, made when missing. */
static uint32_t dict_rec(st_pkvals *t, uint64_t key, int create)
{
    if (t->cap_dicts > 0) {
        size_t i = dict_slot(t, key);
        if (t->dicts[i].key == key)
            return t->dicts[i].rec;
    }
    if (!create)
        return 0;
    if ((t->n_dicts + 1) * 2 > t->cap_dicts) { /* keep the table at most half full */
        size_t cap = t->cap_dicts ? t->cap_dicts * 2 : 64, old = t->cap_dicts;
        dslot *prev = t->dicts;
        t->dicts = calloc(cap, sizeof(*t->dicts));
        if (t->dicts == NULL ||
            cap < old) { /* GCOVR_EXCL_BR_LINE: doubling a table of records never wraps */
            free(t->dicts);
            t->dicts = prev;
            t->exhausted = 2;
            return 0;
        }
        t->cap_dicts = cap;
        for (size_t k = 0; k < old; k++)
            if (prev[k].key != 0)
                t->dicts[dict_slot(t, prev[k].key)] = prev[k];
        free(prev);
    }
    uint32_t id = new_rec(t, R_DICT);
    if (id == 0)
        return 0;
    size_t i = dict_slot(t, key);
    t->dicts[i].key = key;
    t->dicts[i].rec = id;
    t->n_dicts++;
    return id;
}

static rec *get_v(const st_pkvals *t, const st_pkl *v, uint8_t type)
{
    if (v->kind == ST_PKL_DICT && type == R_DICT && v->i != 0)
        return get(t, dict_rec((st_pkvals *)t, v->i, 0), R_DICT);
    return v->kind == ST_PKL_REC ? get(t, v->rec, type) : NULL;
}

st_pkl st_pkl_str(st_pkvals *t, const char *text, size_t len)
{
    st_pkl v = {ST_PKL_TEXT, 0, 0, len > 0, 0, len};
    if (t == NULL || len > TEXT_MAX || t->n_pool + len + 1 > POOL_MAX)
        return v;
    if (grow((void **)&t->pool, &t->cap_pool, t->n_pool + len + 1, 1) != 0) {
        t->exhausted = 2;
        return v;
    }
    memcpy(t->pool + t->n_pool, text, len);
    t->pool[t->n_pool + len] = '\0';
    v.kind = ST_PKL_STR;
    v.rec = (uint32_t)t->n_pool + 1;
    t->n_pool += len + 1;
    return v;
}

const char *st_pkl_text(const st_pkvals *t, const st_pkl *v, size_t *len)
{
    if (t == NULL || v->kind != ST_PKL_STR || v->rec == 0 || v->rec > t->n_pool)
        return NULL;
    *len = (size_t)v->i;
    return t->pool + v->rec - 1;
}

/* ---- tuples -------------------------------------------------------------------------- */

/* Worth a record: may be numpy.dtype's arguments ('f8', False, True) or state (3, '<', ...),
 * a wrapper's or copyreg's arguments (they hold a class or a record), or a BUILD state pair.
 * Tuples of other values never decide how bytes are read, and real pickles hold millions. */
static int tuple_matters(const st_pkl *items, const char *const *texts, size_t n)
{
    if (n == 0 || n > TUPLE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (items[i].kind == ST_PKL_GLOBAL || items[i].kind == ST_PKL_REC ||
            (n == 2 && items[i].kind == ST_PKL_DICT)) /* a BUILD (state, slotstate) pair */
            return 1;
    int text0 = items[0].kind == ST_PKL_STR || items[0].kind == ST_PKL_TEXT;
    if (n <= 3 && items[0].kind == ST_PKL_STR && items[0].i <= 32) { /* dtype arguments */
        uint64_t size;
        int object = 0;
        for (size_t i = 1; i < n; i++)
            if (items[i].kind != ST_PKL_BOOL && items[i].kind != ST_PKL_INT)
                return 0;
        const char *t = items[0].rec ? NULL : texts[0];
        return t != NULL &&
               st_npy_typestr((const unsigned char *)t, (size_t)items[0].i, &size, &object) == 0;
    }
    if (n < 5)
        return 0;
    int ver0 = (items[0].kind == ST_PKL_INT || items[0].kind == ST_PKL_BOOL) && items[0].i <= 4;
    int endian1 = (items[1].kind == ST_PKL_STR || items[1].kind == ST_PKL_TEXT) && items[1].i == 1;
    return (ver0 && endian1) || (n == 5 && text0 && items[0].i == 1);
}

st_pkl st_pkvals_tuple(st_pkvals *t, const st_pkl *items, const char *const *texts, size_t n)
{
    st_pkl v = {ST_PKL_SHAPE, 0, 0, n > 0, 0, 1};
    size_t i = 0;
    for (; i < n && items[i].kind == ST_PKL_INT; i++)
        if (!v.overflow && st_mul_u64(v.i, items[i].i, &v.i))
            v.overflow = 1;
    if (i == n)
        return v; /* a tuple of ints is immutable: its product is exact for good */
    v = (st_pkl){ST_PKL_CONTAINER, 0, 0, 1, 0, 0};
    if (!tuple_matters(items, texts, n))
        return v;
    uint32_t id = new_rec(t, R_TUPLE);
    if (id == 0)
        return v;
    if (grow((void **)&t->items, &t->cap_items, t->n_items + n, sizeof(st_pkl)) != 0) {
        t->exhausted = 2;
        return v;
    }
    for (size_t k = 0; k < n; k++) {
        st_pkl e = items[k];
        if (e.kind == ST_PKL_STR && e.rec == 0)
            e = texts[k] ? st_pkl_str(t, texts[k], (size_t)e.i)
                         : (st_pkl){ST_PKL_TEXT, 0, 0, e.truthy, 0, e.i};
        t->items[t->n_items + k] = e;
    }
    rec *r = &t->recs[id];
    r->n = (uint32_t)n;
    r->first = t->n_items;
    t->n_items += n;
    v.kind = ST_PKL_REC;
    v.rec = id;
    return v;
}

static const st_pkl *item(const st_pkvals *t, const rec *tup, size_t i)
{
    return &t->items[tup->first + i];
}

/* ---- dicts and attributes ------------------------------------------------------------- */

/* The attributes of a dict or wrapper record, made on first use. */
static attrs *attrs_of(st_pkvals *t, rec *r)
{
    if (r->a == NULL && (r->a = calloc(1, sizeof(attrs))) == NULL)
        t->exhausted = 2;
    return r->a;
}

int st_pkvals_key_matters(const char *key)
{
    for (int k = 0; k < A_COUNT; k++)
        if (strcmp(key, attr_names[k]) == 0)
            return 1;
    return 0;
}

void st_pkvals_setitem(st_pkvals *t, uint64_t dict, const char *key, const st_pkl *value,
                       const char *text)
{
    if (dict == 0) { /* a dict whose identity is lost: any later array decision is unknown */
        t->exhausted = 1;
        return;
    }
    rec *d = get(t, dict_rec(t, dict, 1), R_DICT);
    attrs *a = d ? attrs_of(t, d) : NULL;
    if (a == NULL)
        return;
    if (key == NULL) {
        a->tainted = 1;
        return;
    }
    for (int k = 0; k < A_COUNT; k++)
        if (strcmp(key, attr_names[k]) == 0) {
            st_pkl v = *value;
            if (v.kind == ST_PKL_STR && v.rec == 0)
                v = text ? st_pkl_str(t, text, (size_t)v.i)
                         : (st_pkl){ST_PKL_TEXT, 0, 0, v.truthy, 0, v.i};
            a->have |= (uint16_t)(1u << k);
            a->v[k] = v;
        }
}

/* obj.__dict__.update(state) or setattr for each item (pickle.py load_build). */
static void merge(const st_pkvals *t, attrs *to, const st_pkl *state)
{
    const rec *d = get_v(t, state, R_DICT);
    if (d != NULL) {
        if (d->a == NULL)
            return; /* no key that matters was ever set */
        for (int k = 0; k < A_COUNT; k++)
            if (d->a->have & (1u << k)) {
                to->have |= (uint16_t)(1u << k);
                to->v[k] = d->a->v[k];
            }
        to->tainted |= d->a->tainted;
        return;
    }
    /* None, an empty or key-less dict, false values: nothing is set */
    if (state->kind == ST_PKL_NONE || state->kind == ST_PKL_CONTAINER ||
        state->kind == ST_PKL_DICT || state->truthy == 0)
        return;
    to->tainted = 1; /* a mapping stcheck does not follow */
}

/* ---- numpy dtypes --------------------------------------------------------------------- */

static int truth(const st_pkl *v)
{
    return v->truthy;
}

/* numpy.dtype(typestr[, align[, copy]]), as dtype.__reduce__ writes it. */
static uint32_t make_dtype(st_pkvals *t, const st_pkl *args)
{
    uint32_t id = new_rec(t, R_DTYPE);
    if (id == 0)
        return 0;
    rec *d = &t->recs[id];
    const rec *a = get_v(t, args, R_TUPLE);
    size_t len = 0;
    const char *s = a && a->n >= 1 && a->n <= 3 ? st_pkl_text(t, item(t, a, 0), &len) : NULL;
    uint64_t size;
    int object = 0;
    if (s == NULL || st_npy_typestr((const unsigned char *)s, len, &size, &object) != 0)
        return id; /* known = 0 */
    size_t k = strchr("<>|=", s[0]) ? 1 : 0;
    int copy = a->n >= 3 ? truth(item(t, a, 2)) : 0;
    d->dkind = (uint8_t)s[k];
    d->itemsize = size;
    d->hasobject = (uint8_t)object;
    d->known = 1;
    /* A new descriptor (whose __setstate__ applies): copy=True, a byte order other than the
     * native one, a sized flexible type. Datetimes with units are new too; without, unknown. */
    if (copy == 1 || s[0] == '>' || strchr("VSUa", s[k]) != NULL)
        d->newdescr = 1;
    else if (copy == 2 || s[k] == 'M' || s[k] == 'm')
        d->newdescr = 2;
    return id;
}

/* The item size and object flag a state gives a new descriptor; -1 when numpy raises or
 * stcheck cannot tell. */
static int apply_state(const st_pkvals *t, const rec *d, const rec *st, uint64_t *size,
                       int *hasobject)
{
    if (st == NULL || st->n < 7 || st->n > 9)
        return -1;
    const st_pkl *ver = item(t, st, 0), *endian = item(t, st, 1), *elsize = item(t, st, 5);
    const st_pkl *names = item(t, st, 3), *fields = item(t, st, 4);
    if ((ver->kind != ST_PKL_INT && ver->kind != ST_PKL_BOOL) || ver->i > 4)
        return -1;
    if ((endian->kind != ST_PKL_STR && endian->kind != ST_PKL_TEXT) || endian->i != 1)
        return -1;
    if ((names->kind == ST_PKL_NONE) != (fields->kind == ST_PKL_NONE))
        return -1; /* "inconsistent fields and names" */
    *size = d->itemsize;
    if (strchr("VSUa", d->dkind) != NULL) {
        if (elsize->kind != ST_PKL_INT)
            return -1;
        *size = elsize->i;
    }
    uint64_t flags = 0;
    if (st->n >= 8) {
        const st_pkl *f = item(t, st, 7);
        if (f->kind != ST_PKL_INT && f->kind != ST_PKL_BOOL)
            return -1;
        flags = f->i;
    }
    if (ver->i >= 3) {
        *hasobject = (int)(flags & 1);
        return 0;
    }
    /* versions 0-2: _descr_find_object over the type and its fields */
    if (fields->kind != ST_PKL_NONE)
        return -1;
    *hasobject = flags != 0 || d->dkind == 'O';
    return 0;
}

static void dtype_setstate(st_pkvals *t, rec *d, const st_pkl *state)
{
    if (!d->known || d->newdescr == 0)
        return; /* unknown stays unknown; a builtin singleton ignores its state */
    uint64_t size = 0;
    int obj = 0;
    if (apply_state(t, d, get_v(t, state, R_TUPLE), &size, &obj) != 0) {
        d->known = 0;
        return;
    }
    if (d->newdescr == 2 && (size != d->itemsize || obj != d->hasobject)) {
        d->known = 0; /* applies or not: the two readings differ */
        return;
    }
    d->itemsize = size;
    d->hasobject = (uint8_t)obj;
}

/* ---- wrappers ------------------------------------------------------------------------- */

/* __init__ of the wrapper classes (numpy_pickle.py, numpy_pickle_compat.py). */
static void wrapper_init(st_pkvals *t, rec *o, const st_pkl *args)
{
    const rec *a = get_v(t, args, R_TUPLE);
    attrs *at = attrs_of(t, o);
    if (at == NULL)
        return;
    static const int numpy_keys[] = {A_SUBCLASS, A_SHAPE, A_ORDER, A_DTYPE, A_MMAP, A_ALIGN};
    static const int nd_keys[] = {A_FILENAME, A_SUBCLASS, A_MMAP};
    const int *keys = o->cls == ST_PKC_NUMPY_WRAPPER ? numpy_keys : nd_keys;
    size_t need = o->cls == ST_PKC_NUMPY_WRAPPER ? 4 : o->cls == ST_PKC_ND_WRAPPER ? 2 : 3;
    size_t most = o->cls == ST_PKC_NUMPY_WRAPPER ? 6 : 3;
    if (a == NULL || a->n < need || a->n > most) {
        at->tainted = 1;
        return;
    }
    if (o->cls == ST_PKC_ZND_WRAPPER) { /* (filename, init_args, state) */
        at->have = 1u << A_FILENAME | 1u << A_INIT;
        at->v[A_FILENAME] = *item(t, a, 0);
        at->v[A_INIT] = *item(t, a, 1);
        return;
    }
    for (size_t i = 0; i < a->n; i++) {
        at->have |= (uint16_t)(1u << keys[i]);
        at->v[keys[i]] = *item(t, a, i);
    }
    if (o->cls == ST_PKC_NUMPY_WRAPPER && a->n < 6) { /* numpy_array_alignment_bytes=16 */
        at->have |= 1u << A_ALIGN;
        at->v[A_ALIGN] = (st_pkl){ST_PKL_INT, 0, 0, 1, 0, 16};
    }
}

uint32_t st_pkvals_call(st_pkvals *t, int cls, char how, const st_pkl *args)
{
    if (how == 'C') { /* copyreg._reconstructor(cls, object, None), copyreg.__newobj__(cls) */
        const rec *a = get_v(t, args, R_TUPLE);
        if (a == NULL || a->n == 0 || item(t, a, 0)->kind != ST_PKL_GLOBAL)
            return 0;
        cls = item(t, a, 0)->cls;
        if (cls == ST_PKC_DTYPE)
            return new_rec(t, R_DTYPE); /* dtype.__new__ without arguments: unknown */
    }
    if (cls == ST_PKC_DTYPE)
        return make_dtype(t, args); /* dtype(...) and dtype.__new__(dtype, ...) alike */
    if (cls == ST_PKC_NONE || cls == ST_PKC_ARRAY)
        return 0; /* an array's BUILD is judged on its state alone (st_pkvals_raw_objects) */
    uint32_t id = new_rec(t, R_OBJ);
    if (id == 0)
        return 0;
    rec *o = &t->recs[id];
    o->cls = (uint8_t)cls;
    if (how == 'R')
        wrapper_init(t, o, args);
    return id;
}

int st_pkvals_build(st_pkvals *t, uint32_t target, const st_pkl *state)
{
    if (t == NULL || target == 0 || target >= t->n)
        return ST_PKC_NONE;
    rec *r = &t->recs[target];
    if (r->type == R_DTYPE) {
        dtype_setstate(t, r, state);
        return ST_PKC_NONE;
    }
    if (r->type != R_OBJ || attrs_of(t, r) == NULL)
        return ST_PKC_NONE;
    /* (state, slotstate): both applied, in that order */
    const rec *pair = get_v(t, state, R_TUPLE);
    if (pair != NULL && pair->n == 2) {
        merge(t, r->a, item(t, pair, 0));
        merge(t, r->a, item(t, pair, 1));
    } else if (state->kind == ST_PKL_SHAPE && state->truthy) {
        r->a->tainted = 1; /* a tuple of ints: load_build raises; stcheck does not guess */
    } else {
        merge(t, r->a, state);
    }
    return r->cls;
}

int st_pkvals_raw_objects(const st_pkvals *t, const st_pkl *state)
{
    const rec *st = get_v(t, state, R_TUPLE);
    const rec *d = st && st->n == 5 ? get_v(t, item(t, st, 2), R_DTYPE) : NULL;
    return d != NULL && d->known && d->dkind == 'O' && !d->hasobject &&
           item(t, st, 4)->kind != ST_PKL_CONTAINER; /* a list is how objects are pickled */
}

int st_pkvals_forged_object_dtype(const st_pkvals *t, const st_pkl *args, size_t pos)
{
    const rec *a = get_v(t, args, R_TUPLE);
    const rec *d = a && pos < a->n ? get_v(t, item(t, a, pos), R_DTYPE) : NULL;
    return d != NULL && (!d->known || (d->dkind == 'O' && !d->hasobject));
}

/* ---- how joblib reads ----------------------------------------------------------------- */

static void numpy_wrapper_read(const st_pkvals *t, const attrs *a, st_jl_read *out)
{
    const st_pkl *shape = &a->v[A_SHAPE], *dt = &a->v[A_DTYPE], *al = &a->v[A_ALIGN];
    const rec *d = get_v(t, dt, R_DTYPE);
    out->how = ST_JL_UNKNOWN;
    if (!(a->have & (1u << A_SHAPE)) || !(a->have & (1u << A_DTYPE))) {
        out->how = ST_JL_FAILS;
        out->why = "joblib array wrapper without a shape or dtype attribute";
        return;
    }
    if (shape->kind != ST_PKL_SHAPE) {
        out->why = "its shape is not a tuple of literal integers";
        return;
    }
    if (d == NULL || !d->known) {
        out->why = "its dtype is not one stcheck can follow (numpy.dtype of a type string, and "
                   "a state of literal values)";
        return;
    }
    if (d->hasobject) {
        out->how = ST_JL_PICKLE;
        return;
    }
    if (shape->overflow || d->itemsize == 0) {
        out->how = ST_JL_FAILS;
        out->why = "joblib array size overflows or its item size is 0";
        return;
    }
    if (st_mul_u64(shape->i, d->itemsize, &out->nbytes)) {
        out->how = ST_JL_FAILS;
        out->why = "joblib array size overflows";
        return;
    }
    /* safe_get_numpy_array_alignment_bytes: getattr(..., None) is not None */
    if (a->have & (1u << A_ALIGN)) {
        if (al->kind == ST_PKL_UNKNOWN) {
            out->why = "whether numpy_array_alignment_bytes is None cannot be known";
            return;
        }
        out->pad_byte = al->kind != ST_PKL_NONE;
    }
    out->raw_objects = d->dkind == 'O';
    out->how = ST_JL_RAW;
}

void st_pkvals_joblib_read(const st_pkvals *t, uint32_t wrapper, st_jl_read *out)
{
    memset(out, 0, sizeof(*out));
    out->how = ST_JL_UNKNOWN;
    const rec *o = get(t, wrapper, R_OBJ);
    if (o == NULL || o->a == NULL || t->exhausted) {
        out->why = "stcheck ran out of value records before this array";
        return;
    }
    if (o->a->tainted) {
        out->why = "its state sets keys stcheck cannot read";
        return;
    }
    /* read(): numpy.core.multiarray._reconstruct(self.subclass, (0,), 'b') */
    const st_pkl *sub = &o->a->v[A_SUBCLASS];
    if (o->cls == ST_PKC_ZND_WRAPPER) { /* ZNDArrayWrapper.read: _reconstruct(*init_args) */
        const rec *init =
            (o->a->have & (1u << A_INIT)) ? get_v(t, &o->a->v[A_INIT], R_TUPLE) : NULL;
        sub = init && init->n == 3 ? item(t, init, 0) : NULL;
    } else if (!(o->a->have & (1u << A_SUBCLASS))) {
        sub = NULL;
    }
    if (sub != NULL && sub->kind == ST_PKL_GLOBAL) {
        out->has_subclass = 1;
        out->subclass = sub->i;
    }
    if (o->cls == ST_PKC_NUMPY_WRAPPER) {
        numpy_wrapper_read(t, o->a, out);
        return;
    }
    /* NDArrayWrapper.read: os.path.join(unpickler._dirname, self.filename) */
    const st_pkl *f = &o->a->v[A_FILENAME];
    if (!(o->a->have & (1u << A_FILENAME))) {
        out->how = ST_JL_FAILS;
        out->why = "joblib NDArrayWrapper without a filename attribute";
        return;
    }
    out->name = st_pkl_text(t, f, &out->name_len);
    if (out->name == NULL) {
        out->why = "its filename is not a literal string";
        return;
    }
    out->how = o->cls == ST_PKC_ZND_WRAPPER ? ST_JL_ZFILE : ST_JL_SIBLING;
}
