/*
 * statedict.c - a strict value interpreter for the state-dict pickles torch.save writes.
 *
 * It runs only after the whole input passed its checks, and accepts only the opcodes, globals
 * and shapes of values a state dict is made of (torch/serialization.py _save and _legacy_save,
 * torch/_tensor.py __reduce_ex__, collections.OrderedDict.__reduce__):
 *   PROTO FRAME MARK STOP NONE NEWTRUE NEWFALSE BININT BININT1 BININT2 LONG1
 *   BINUNICODE SHORT_BINUNICODE EMPTY_TUPLE TUPLE TUPLE1-3 EMPTY_DICT DICT SETITEM SETITEMS
 *   EMPTY_LIST APPEND APPENDS BINPUT LONG_BINPUT MEMOIZE BINGET LONG_BINGET
 *   GLOBAL STACK_GLOBAL of collections.OrderedDict, torch._utils._rebuild_tensor_v2,
 *   torch._utils._rebuild_parameter and torch.<T>Storage of the ten plain dtypes
 *   BINPERSID of ('storage', <T>Storage, key, location, numel[, view]) and REDUCE/BUILD of these.
 * Anything else - another opcode or global, a tensor with hooks or metadata, a value that is
 * not a tensor - is refused with a finding (ST670) naming it. The machine keeps its stack, mark
 * stack and memo in arrays bounded by the pickle's length and the context's limits; values are
 * indices into an arena, so nothing recurses on the input's nesting.
 */
#include "statedict.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/checked.h"
#include "../core/escape.h"

typedef struct {
    const char *name;
    const char *storage; /* torch.<storage> */
    const char *tensor;  /* torch.<tensor>: the legacy tensor type tar records name */
    unsigned size;
} dtype_info;

static const dtype_info dtypes[ST_DT_COUNT_] = {
    [ST_DT_BOOL] = {"BOOL", "BoolStorage", "BoolTensor", 1},
    [ST_DT_U8] = {"U8", "ByteStorage", "ByteTensor", 1},
    [ST_DT_I8] = {"I8", "CharStorage", "CharTensor", 1},
    [ST_DT_F8_E5M2] = {"F8_E5M2", NULL, NULL, 1},
    [ST_DT_F8_E4M3] = {"F8_E4M3", NULL, NULL, 1},
    [ST_DT_I16] = {"I16", "ShortStorage", "ShortTensor", 2},
    [ST_DT_U16] = {"U16", NULL, NULL, 2},
    [ST_DT_F16] = {"F16", "HalfStorage", "HalfTensor", 2},
    [ST_DT_BF16] = {"BF16", "BFloat16Storage", "BFloat16Tensor", 2},
    [ST_DT_I32] = {"I32", "IntStorage", "IntTensor", 4},
    [ST_DT_U32] = {"U32", NULL, NULL, 4},
    [ST_DT_F32] = {"F32", "FloatStorage", "FloatTensor", 4},
    [ST_DT_F64] = {"F64", "DoubleStorage", "DoubleTensor", 8},
    [ST_DT_I64] = {"I64", "LongStorage", "LongTensor", 8},
    [ST_DT_U64] = {"U64", NULL, NULL, 8},
};

const char *st_dtype_name(st_dtype d)
{
    return dtypes[d].name;
}

unsigned st_dtype_size(st_dtype d)
{
    return dtypes[d].size;
}

int st_dtype_parse(const char *s, size_t n, st_dtype *out)
{
    for (int i = 0; i < ST_DT_COUNT_; i++)
        if (strlen(dtypes[i].name) == n && memcmp(dtypes[i].name, s, n) == 0) {
            *out = (st_dtype)i;
            return 0;
        }
    return -1;
}

enum {
    K_NONE,
    K_BOOL,
    K_INT,
    K_BIGINT,
    K_STR,
    K_TUPLE,
    K_LIST,
    K_DICT,
    K_GLOBAL,
    K_STORAGE,
    K_TENSOR
};
enum { G_ODICT, G_REBUILD_V2, G_REBUILD_PARAM, G_STORAGE, G_TENSOR_TYPE };

static const char *const kind_names[] = {"None", "bool", "int",    "int",     "str",   "tuple",
                                         "list", "dict", "global", "storage", "tensor"};

typedef struct {
    uint8_t kind;
    uint8_t sub;   /* K_GLOBAL: which; K_STORAGE: a legacy view */
    int64_t i;     /* K_INT, K_BOOL; K_GLOBAL: dtype; K_STORAGE: storage; K_TENSOR: tensor */
    uint64_t a, n; /* K_STR: pool offset and length; K_TUPLE: kids offset and count;
                      K_STORAGE view: element offset and numel */
} val;

typedef struct {
    uint32_t owner, key, value; /* key UINT32_MAX: a list element */
} item;

typedef struct {
    size_t storage;
    uint64_t offset, view_off, view_numel;
    unsigned rank;
    size_t dims; /* index into the dims pool: sizes, then strides */
    int has_ref; /* tar: a tensor named by its key (ref), built from the tensors member */
    int64_t ref;
} rtensor;

#define NO_VAL UINT32_MAX

typedef struct {
    const st_ctx *ctx;
    st_report *r;
    const unsigned char *p;
    size_t len, pos, op_at;
    uint64_t base;
    int legacy;
    val *v;
    size_t nv, capv;
    uint32_t *kids;
    size_t nk, capk;
    char *pool;
    size_t npool, cappool;
    uint32_t *stack;
    size_t sp, capstack;
    size_t *marks;
    size_t nmarks, capmarks;
    uint32_t *memo;
    size_t capmemo, memo_count;
    item *items;
    size_t ni, capi;
    rtensor *t;
    size_t nt, capt;
    uint64_t *dims;
    size_t nd, capd;
    uint32_t *hash; /* storage keys: open addressing over out->storages */
    size_t caphash;
    st_sd *out;
    int refused, stopped;
    st_error err;
    char shown[200];
} vm;

static void refuse(vm *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(vm *m, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    if (m->refused || m->err != ST_OK)
        return;
    m->refused = 1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    st_report_add(m->r, ST_R_CV_REFUSED, m->base + m->op_at, 1, "%s", msg);
}

/* Input text as messages show it (escaped, cut). */
static const char *shown(vm *m, const char *s, size_t n)
{
    return st_escape(s, n, m->shown, sizeof(m->shown), 150);
}

static int failed(const vm *m)
{
    return m->refused || m->err != ST_OK;
}

static int nomem(vm *m)
{
    m->err = ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
    return -1;           /* GCOVR_EXCL_LINE: allocation failure */
}

/* ---- arena ----------------------------------------------------------------------------- */

static uint32_t new_val(vm *m, uint8_t kind)
{
    /* GCOVR_EXCL_BR_START: allocation failure */
    if (m->nv >= UINT32_MAX - 1 || st_grow(&m->v, &m->capv, m->nv, sizeof(val), 64) != 0) {
        /* GCOVR_EXCL_BR_STOP */
        nomem(m);      /* GCOVR_EXCL_LINE: allocation failure */
        return NO_VAL; /* GCOVR_EXCL_LINE: allocation failure */
    }
    m->v[m->nv] = (val){.kind = kind};
    return (uint32_t)m->nv++;
}

static int push(vm *m, uint32_t v)
{
    if (v == NO_VAL)
        return -1;
    if (m->sp >= st_ctx_get_limit(m->ctx, ST_LIMIT_PICKLE_STACK)) {
        st_report_add(m->r, ST_R_LIMIT, m->base + m->op_at, 1,
                      "the pickle stack exceeds the limit of %llu",
                      (unsigned long long)st_ctx_get_limit(m->ctx, ST_LIMIT_PICKLE_STACK));
        m->err = ST_E_LIMIT;
        return -1;
    }
    /* GCOVR_EXCL_BR_START: allocation failure */
    if (st_grow(&m->stack, &m->capstack, m->sp, sizeof(uint32_t), 64) != 0)
        return nomem(m); /* GCOVR_EXCL_LINE: allocation failure */
    /* GCOVR_EXCL_BR_STOP */
    m->stack[m->sp++] = v;
    return 0;
}

static size_t floor_sp(const vm *m)
{
    return m->nmarks ? m->marks[m->nmarks - 1] : 0;
}

static uint32_t pop(vm *m)
{
    if (m->sp <= floor_sp(m)) {
        refuse(m, "%s pops an empty stack", "an opcode");
        return NO_VAL;
    }
    return m->stack[--m->sp];
}

static uint32_t push_int(vm *m, int64_t x)
{
    uint32_t v = new_val(m, K_INT);
    if (v != NO_VAL)
        m->v[v].i = x;
    return v;
}

/* Items from the last mark to the top, removing the mark: *first and *n on the stack. */
static int pop_mark(vm *m, size_t *first, size_t *n)
{
    if (m->nmarks == 0) {
        refuse(m, "%s without a MARK", "an opcode");
        return -1;
    }
    *first = m->marks[--m->nmarks];
    *n = m->sp - *first;
    return 0;
}

/* ---- bytes ------------------------------------------------------------------------------ */

static int need(vm *m, size_t n)
{
    if (m->len - m->pos < n) {
        refuse(m, "the pickle ends inside %s", "an opcode");
        return -1;
    }
    return 0;
}

static uint64_t le(const unsigned char *p, unsigned n)
{
    uint64_t x = 0;
    for (unsigned i = n; i-- > 0;)
        x = (x << 8) | p[i];
    return x;
}

static uint32_t new_str(vm *m, const unsigned char *s, size_t n)
{
    uint32_t v = new_val(m, K_STR);
    if (v == NO_VAL)
        return NO_VAL;
    while (m->cappool - m->npool < n + 1) {
        size_t cap = m->cappool ? m->cappool * 2 : 256;
        char *p = realloc(m->pool, cap);
        if (p == NULL) {   /* GCOVR_EXCL_BR_LINE: allocation failure */
            nomem(m);      /* GCOVR_EXCL_LINE: allocation failure */
            return NO_VAL; /* GCOVR_EXCL_LINE: allocation failure */
        }
        m->pool = p;
        m->cappool = cap;
    }
    memcpy(m->pool + m->npool, s, n);
    m->pool[m->npool + n] = '\0';
    m->v[v].a = m->npool;
    m->v[v].n = n;
    m->npool += n + 1;
    return v;
}

static const char *str_of(const vm *m, uint32_t v)
{
    return m->pool + m->v[v].a;
}

static int is_str(const vm *m, uint32_t v, const char *s)
{
    return m->v[v].kind == K_STR && m->v[v].n == strlen(s) &&
           memcmp(str_of(m, v), s, m->v[v].n) == 0;
}

/* ---- opcodes: scalars ------------------------------------------------------------------- */

static int op_int(vm *m, unsigned n, int is_signed32)
{
    if (need(m, n))
        return -1;
    uint64_t x = le(m->p + m->pos, n);
    m->pos += n;
    int64_t s = is_signed32 ? (int64_t)(int32_t)(uint32_t)x : (int64_t)x;
    return push(m, push_int(m, s));
}

/* LONG1: a little-endian two's-complement integer of n bytes (n <= 8 kept, longer unusable) */
static int op_long1(vm *m)
{
    if (need(m, 1))
        return -1;
    size_t n = m->p[m->pos++];
    if (need(m, n))
        return -1;
    if (n > 8) {
        m->pos += n;
        return push(m, new_val(m, K_BIGINT));
    }
    uint64_t x = le(m->p + m->pos, (unsigned)n);
    if (n > 0 && n < 8 && (m->p[m->pos + n - 1] & 0x80))
        x |= ~(uint64_t)0 << (8 * n); /* sign extension */
    m->pos += n;
    return push(m, push_int(m, (int64_t)x));
}

static int op_unicode(vm *m, unsigned lenbytes)
{
    if (need(m, lenbytes))
        return -1;
    uint64_t n = le(m->p + m->pos, lenbytes);
    m->pos += lenbytes;
    if (n > m->len - m->pos)
        return need(m, m->len - m->pos + 1);
    uint32_t v = new_str(m, m->p + m->pos, (size_t)n);
    m->pos += (size_t)n;
    return push(m, v);
}

static int op_const(vm *m, uint8_t kind, int64_t x)
{
    uint32_t v = new_val(m, kind);
    if (v != NO_VAL)
        m->v[v].i = x;
    return push(m, v);
}

/* ---- opcodes: containers ---------------------------------------------------------------- */

static int make_tuple(vm *m, size_t first, size_t n)
{
    uint32_t v = new_val(m, K_TUPLE);
    if (v == NO_VAL)
        return -1;
    while (m->capk - m->nk < n)
        /* GCOVR_EXCL_BR_START: allocation failure */
        if (st_grow(&m->kids, &m->capk, m->capk, sizeof(uint32_t), 64) != 0)
            return nomem(m); /* GCOVR_EXCL_LINE: allocation failure */
    /* GCOVR_EXCL_BR_STOP */
    if (n > 0)
        memcpy(m->kids + m->nk, m->stack + first, n * sizeof(uint32_t));
    m->v[v].a = m->nk;
    m->v[v].n = n;
    m->nk += n;
    m->sp = first;
    return push(m, v);
}

static int op_tuple_n(vm *m, size_t n)
{
    if (m->sp - floor_sp(m) < n) {
        refuse(m, "%s pops an empty stack", "TUPLE");
        return -1;
    }
    return make_tuple(m, m->sp - n, n);
}

static int op_tuple_mark(vm *m)
{
    size_t first, n;
    if (pop_mark(m, &first, &n))
        return -1;
    return make_tuple(m, first, n);
}

static int add_item(vm *m, uint32_t owner, uint32_t key, uint32_t value)
{
    /* GCOVR_EXCL_BR_START: allocation failure */
    if (st_grow(&m->items, &m->capi, m->ni, sizeof(item), 64) != 0)
        return nomem(m); /* GCOVR_EXCL_LINE: allocation failure */
    /* GCOVR_EXCL_BR_STOP */
    m->items[m->ni++] = (item){owner, key, value};
    return 0;
}

/* SETITEM(S), APPEND(S), DICT: pairs or elements from the stack into a container */
static int fill(vm *m, uint32_t owner, size_t first, size_t n, int pairs)
{
    uint8_t want = pairs ? K_DICT : K_LIST;
    if (m->v[owner].kind != want) {
        refuse(m, "items are added to a %s", kind_names[m->v[owner].kind]);
        return -1;
    }
    if (pairs && n % 2 != 0) {
        refuse(m, "%s with an odd number of items", "SETITEMS");
        return -1;
    }
    for (size_t i = 0; i < n; i += pairs ? 2 : 1)
        if (add_item(m, owner, pairs ? m->stack[first + i] : NO_VAL,
                     m->stack[first + i + (pairs ? 1 : 0)]) != 0)
            return -1;
    m->sp = first;
    return 0;
}

static int op_additems(vm *m, int pairs)
{
    size_t first, n;
    if (pop_mark(m, &first, &n))
        return -1;
    if (first == floor_sp(m) && first == 0) {
        refuse(m, "%s has no container below its MARK", "SETITEMS/APPENDS");
        return -1;
    }
    return fill(m, m->stack[first - 1], first, n, pairs);
}

static int op_additem(vm *m, int pairs)
{
    size_t n = pairs ? 2 : 1;
    if (m->sp - floor_sp(m) < n + 1) {
        refuse(m, "%s pops an empty stack", pairs ? "SETITEM" : "APPEND");
        return -1;
    }
    return fill(m, m->stack[m->sp - n - 1], m->sp - n, n, pairs);
}

static int op_dict_mark(vm *m)
{
    size_t first, n;
    if (pop_mark(m, &first, &n))
        return -1;
    uint32_t d = new_val(m, K_DICT);
    if (d == NO_VAL || fill(m, d, first, n, 1) != 0)
        return -1;
    return push(m, d);
}

/* ---- memo ------------------------------------------------------------------------------- */

static int memo_put(vm *m, uint64_t idx)
{
    if (m->sp <= floor_sp(m)) {
        refuse(m, "%s of an empty stack", "a memo PUT");
        return -1;
    }
    /* Python's memo is a dict; torch's pickler numbers entries 0, 1, 2, ... An index beyond
     * the pickle's length cannot come from a pickler (each PUT takes two bytes at least). */
    if (idx >= m->len) {
        refuse(m, "%s beyond the pickle's length", "a memo index");
        return -1;
    }
    if (idx >= m->capmemo) {
        size_t cap = m->capmemo ? m->capmemo : 64;
        while (cap <= idx)
            cap *= 2;
        uint32_t *p = realloc(m->memo, cap * sizeof(uint32_t));
        if (p == NULL)       /* GCOVR_EXCL_BR_LINE: allocation failure */
            return nomem(m); /* GCOVR_EXCL_LINE: allocation failure */
        for (size_t i = m->capmemo; i < cap; i++)
            p[i] = NO_VAL;
        m->memo = p;
        m->capmemo = cap;
    }
    if (m->memo[idx] == NO_VAL)
        m->memo_count++;
    m->memo[idx] = m->stack[m->sp - 1];
    return 0;
}

static int memo_get(vm *m, uint64_t idx)
{
    if (idx >= m->capmemo || m->memo[idx] == NO_VAL) {
        refuse(m, "%s reads an empty memo slot", "a memo GET");
        return -1;
    }
    return push(m, m->memo[idx]);
}

static int op_memo(vm *m, unsigned n, int put)
{
    if (need(m, n))
        return -1;
    uint64_t idx = le(m->p + m->pos, n);
    m->pos += n;
    return put ? memo_put(m, idx) : memo_get(m, idx);
}

/* ---- globals ---------------------------------------------------------------------------- */

static int global_of(vm *m, const char *mod, size_t ml, const char *name, size_t nl)
{
    char full[300];
    uint32_t v = new_val(m, K_GLOBAL);
    if (v == NO_VAL)
        return -1;
    int torch = ml == 5 && memcmp(mod, "torch", 5) == 0;
    int utils = ml == 12 && memcmp(mod, "torch._utils", 12) == 0;
#define NAME_IS(s) (nl == strlen(s) && memcmp(name, s, nl) == 0)
    if (ml == 11 && memcmp(mod, "collections", 11) == 0 && NAME_IS("OrderedDict"))
        m->v[v].sub = G_ODICT;
    else if (utils && NAME_IS("_rebuild_tensor_v2"))
        m->v[v].sub = G_REBUILD_V2;
    else if (utils && NAME_IS("_rebuild_parameter"))
        m->v[v].sub = G_REBUILD_PARAM;
    else {
        int found = 0;
        for (int i = 0; torch && i < ST_DT_COUNT_ && !found; i++)
            if (dtypes[i].storage != NULL &&
                (NAME_IS(dtypes[i].storage) || NAME_IS(dtypes[i].tensor))) {
                m->v[v].sub = NAME_IS(dtypes[i].storage) ? G_STORAGE : G_TENSOR_TYPE;
                m->v[v].i = i;
                found = 1;
            }
#undef NAME_IS
        if (!found) {
            st_escape(mod, ml, full, 140, 120);
            size_t k = strlen(full);
            full[k++] = '.';
            st_escape(name, nl, full + k, sizeof(full) - k, 120);
            refuse(m, "the global %s is not part of a state dict convert rebuilds", full);
            return -1;
        }
    }
    return push(m, v);
}

static int op_global(vm *m)
{
    const unsigned char *s = m->p + m->pos, *end = m->p + m->len;
    const unsigned char *nl1 = memchr(s, '\n', (size_t)(end - s));
    const unsigned char *nl2 = nl1 ? memchr(nl1 + 1, '\n', (size_t)(end - nl1 - 1)) : NULL;
    if (nl2 == NULL)
        return need(m, m->len - m->pos + 1);
    m->pos = (size_t)(nl2 + 1 - m->p);
    return global_of(m, (const char *)s, (size_t)(nl1 - s), (const char *)nl1 + 1,
                     (size_t)(nl2 - nl1 - 1));
}

static int op_stack_global(vm *m)
{
    uint32_t name = pop(m), mod = name == NO_VAL ? NO_VAL : pop(m);
    if (mod == NO_VAL)
        return -1;
    if (m->v[name].kind != K_STR || m->v[mod].kind != K_STR) {
        refuse(m, "%s of a value that is not a string", "STACK_GLOBAL");
        return -1;
    }
    return global_of(m, str_of(m, mod), m->v[mod].n, str_of(m, name), m->v[name].n);
}

/* ---- persistent ids: storages ----------------------------------------------------------- */

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int rehash(vm *m)
{
    size_t cap = m->caphash ? m->caphash * 2 : 64;
    uint32_t *h = malloc(cap * sizeof(uint32_t));
    if (h == NULL)       /* GCOVR_EXCL_BR_LINE: allocation failure */
        return nomem(m); /* GCOVR_EXCL_LINE: allocation failure */
    for (size_t i = 0; i < cap; i++)
        h[i] = NO_VAL;
    for (size_t s = 0; s < m->out->n_storages; s++) {
        size_t i = (size_t)fnv(m->out->storages[s].key) & (cap - 1);
        while (h[i] != NO_VAL)
            i = (i + 1) & (cap - 1);
        h[i] = (uint32_t)s;
    }
    free(m->hash);
    m->hash = h;
    m->caphash = cap;
    return 0;
}

/* The storage a key names: the one seen before, or a new one. -1 on a refusal or an error. */
static long storage_for(vm *m, const char *key, st_dtype dt, uint64_t numel)
{
    st_sd *sd = m->out;
    size_t i = m->caphash ? (size_t)fnv(key) & (m->caphash - 1) : 0;
    for (; m->caphash && m->hash[i] != NO_VAL; i = (i + 1) & (m->caphash - 1)) {
        st_sd_storage *s = &sd->storages[m->hash[i]];
        if (strcmp(s->key, key) != 0)
            continue;
        if (s->dtype != dt || s->numel != numel) {
            refuse(m, "storage \"%s\" is named with two types or sizes",
                   shown(m, key, strlen(key)));
            return -1;
        }
        return (long)m->hash[i];
    }
    if (sd->n_storages >= st_ctx_get_limit(m->ctx, ST_LIMIT_PICKLE_STORAGES)) {
        st_report_add(m->r, ST_R_LIMIT, m->base + m->op_at, 1,
                      "more storages than the limit of %llu",
                      (unsigned long long)st_ctx_get_limit(m->ctx, ST_LIMIT_PICKLE_STORAGES));
        m->err = ST_E_LIMIT;
        return -1;
    }
    size_t cap = sd->n_storages; /* capacity tracked as the count: grow exactly */
    st_sd_storage *p = realloc(sd->storages, (cap + 1) * sizeof(*p));
    char *k = strdup(key);
    if (p != NULL)
        sd->storages = p;
    if (p == NULL || k == NULL) { /* GCOVR_EXCL_BR_LINE: allocation failure */
        free(k);                  /* GCOVR_EXCL_LINE: allocation failure */
        nomem(m);                 /* GCOVR_EXCL_LINE: allocation failure */
        return -1;                /* GCOVR_EXCL_LINE: allocation failure */
    }
    sd->storages[sd->n_storages++] = (st_sd_storage){k, dt, numel};
    if (sd->n_storages * 2 > m->caphash)
        return rehash(m) != 0 ? -1 : (long)(sd->n_storages - 1);
    size_t j = (size_t)fnv(k) & (m->caphash - 1);
    while (m->hash[j] != NO_VAL)
        j = (j + 1) & (m->caphash - 1);
    m->hash[j] = (uint32_t)(sd->n_storages - 1);
    return (long)(sd->n_storages - 1);
}

static int nonneg_int(const vm *m, uint32_t v, uint64_t *out)
{
    if (m->v[v].kind != K_INT || m->v[v].i < 0)
        return -1;
    *out = (uint64_t)m->v[v].i;
    return 0;
}

/* A plain string value usable as a key: NUL-free (C strings name records). */
static int plain_str(const vm *m, uint32_t v)
{
    return m->v[v].kind == K_STR && memchr(str_of(m, v), 0, m->v[v].n) == NULL;
}

/* A tensor as a tar checkpoint's pickle names it (legacy_load's persistent_load): its key,
 * deserialized_objects[int(saved_id)]. An int, or a str of ASCII digits with an optional '-'
 * (int() takes more - spaces, '_', '+', other scripts' digits - which torch.save never wrote:
 * refused). A tuple is a module's source record (the module class itself): refused. */
static int tar_persid(vm *m, uint32_t pid)
{
    const val *p = &m->v[pid];
    int64_t key = p->i;
    int ok = p->kind == K_INT;
    if (p->kind == K_STR && p->n > 0 && p->n <= 18) {
        const char *s = str_of(m, pid);
        size_t i = s[0] == '-' && p->n > 1;
        uint64_t x = 0;
        for (ok = 1; i < p->n && ok; i++) {
            ok = s[i] >= '0' && s[i] <= '9';
            x = x * 10 + (uint64_t)(s[i] - '0');
        }
        key = s[0] == '-' ? -(int64_t)x : (int64_t)x;
    }
    if (!ok) {
        refuse(m, "a persistent id is a %s, not a tensor key (an int, or a str of digits)",
               kind_names[p->kind]);
        return -1;
    }
    /* GCOVR_EXCL_BR_START: allocation failure */
    if (st_grow(&m->t, &m->capt, m->nt, sizeof(rtensor), 16) != 0)
        return nomem(m); /* GCOVR_EXCL_LINE: allocation failure */
    /* GCOVR_EXCL_BR_STOP */
    m->t[m->nt] = (rtensor){.has_ref = 1, .ref = key};
    uint32_t v = new_val(m, K_TENSOR);
    if (v == NO_VAL)
        return -1;
    m->v[v].i = (int64_t)m->nt++;
    return push(m, v);
}

/* ('storage', type, key, location, numel) or, legacy, with view_metadata None or
 * (view_key, offset, view_numel) */
static int op_persid(vm *m)
{
    uint32_t pid = pop(m);
    if (pid == NO_VAL)
        return -1;
    if (m->legacy == ST_SD_TAR)
        return tar_persid(m, pid);
    const val *t = &m->v[pid];
    size_t want = m->legacy ? 6 : 5;
    if (t->kind != K_TUPLE || t->n != want || !is_str(m, m->kids[t->a], "storage")) {
        refuse(m, "a persistent id is not %s",
               m->legacy ? "('storage', type, key, "
                           "location, numel, view)"
                         : "('storage', type, key, "
                           "location, numel)");
        return -1;
    }
    const uint32_t *k = m->kids + t->a;
    uint64_t numel, voff = 0, vnumel = 0;
    if (m->v[k[1]].kind != K_GLOBAL || m->v[k[1]].sub != G_STORAGE || !plain_str(m, k[2]) ||
        m->v[k[3]].kind != K_STR || nonneg_int(m, k[4], &numel) != 0) {
        refuse(m, "a storage persistent id has %s", "a field of another type");
        return -1;
    }
    int view = m->legacy && m->v[k[5]].kind != K_NONE;
    if (view) {
        const val *vm_ = &m->v[k[5]];
        const uint32_t *vk = m->kids + vm_->a;
        if (vm_->kind != K_TUPLE || vm_->n != 3 || !plain_str(m, vk[0]) ||
            nonneg_int(m, vk[1], &voff) != 0 || nonneg_int(m, vk[2], &vnumel) != 0) {
            refuse(m, "a storage view is not %s", "(key, offset, numel)");
            return -1;
        }
        uint64_t end;
        if (st_add_u64(voff, vnumel, &end) || end > numel) {
            refuse(m, "the storage view \"%s\" lies outside its storage",
                   shown(m, str_of(m, vk[0]), m->v[vk[0]].n));
            return -1;
        }
    }
    long s = storage_for(m, str_of(m, k[2]), (st_dtype)m->v[k[1]].i, numel);
    uint32_t v = s < 0 ? NO_VAL : new_val(m, K_STORAGE);
    if (v == NO_VAL)
        return -1;
    m->v[v].i = s;
    m->v[v].a = view ? voff : 0;
    m->v[v].n = view ? vnumel : numel;
    return push(m, v);
}

/* ---- calls ------------------------------------------------------------------------------ */

static int empty_dict(const vm *m, uint32_t v)
{
    if (m->v[v].kind != K_DICT)
        return 0;
    for (size_t i = 0; i < m->ni; i++)
        if (m->items[i].owner == v)
            return 0;
    return 1;
}

/* sizes and strides: tuples of non-negative ints of one length */
static int dims_of(vm *m, uint32_t size, uint32_t stride, unsigned *rank, size_t *at)
{
    const val *a = &m->v[size], *b = &m->v[stride];
    if (a->kind != K_TUPLE || b->kind != K_TUPLE || a->n != b->n ||
        a->n > st_ctx_get_limit(m->ctx, ST_LIMIT_RANK)) {
        refuse(m, "a tensor's %s are not two tuples of one rank", "size and stride");
        return -1;
    }
    size_t n = (size_t)a->n;
    while (m->capd - m->nd < 2 * n)
        /* GCOVR_EXCL_BR_START: allocation failure */
        if (st_grow(&m->dims, &m->capd, m->capd, sizeof(uint64_t), 64) != 0)
            return nomem(m); /* GCOVR_EXCL_LINE: allocation failure */
    /* GCOVR_EXCL_BR_STOP */
    for (size_t i = 0; i < 2 * n; i++) {
        uint32_t e = m->kids[(i < n ? a->a : b->a) + i % n];
        if (nonneg_int(m, e, &m->dims[m->nd + i]) != 0) {
            refuse(m, "a tensor's %s holds a value that is not an int >= 0",
                   i < n ? "size" : "stride");
            return -1;
        }
    }
    *rank = (unsigned)n;
    *at = m->nd;
    m->nd += 2 * n;
    return 0;
}

/* _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks) */
static int rebuild_v2(vm *m, const val *args)
{
    const uint32_t *k = m->kids + args->a;
    uint64_t off;
    if (args->n != 6) {
        refuse(m, "%s with other than six arguments (tensor metadata)", "_rebuild_tensor_v2");
        return -1;
    }
    if (m->v[k[0]].kind != K_STORAGE || nonneg_int(m, k[1], &off) != 0 ||
        m->v[k[4]].kind != K_BOOL || !empty_dict(m, k[5])) {
        refuse(m, "%s with arguments of other types, or backward hooks", "_rebuild_tensor_v2");
        return -1;
    }
    rtensor t = {
        .storage = (size_t)m->v[k[0]].i, .view_off = m->v[k[0]].a, .view_numel = m->v[k[0]].n};
    if (dims_of(m, k[2], k[3], &t.rank, &t.dims) != 0)
        return -1;
    if (st_add_u64(t.view_off, off, &t.offset)) {
        refuse(m, "%s overflows", "a storage offset");
        return -1;
    }
    /* GCOVR_EXCL_BR_START: allocation failure */
    if (st_grow(&m->t, &m->capt, m->nt, sizeof(rtensor), 16) != 0)
        return nomem(m); /* GCOVR_EXCL_LINE: allocation failure */
    /* GCOVR_EXCL_BR_STOP */
    m->t[m->nt] = t;
    uint32_t v = new_val(m, K_TENSOR);
    if (v == NO_VAL)
        return -1;
    m->v[v].i = (int64_t)m->nt++;
    return push(m, v);
}

static int op_reduce(vm *m)
{
    uint32_t args = pop(m), fn = args == NO_VAL ? NO_VAL : pop(m);
    if (fn == NO_VAL)
        return -1;
    const val *a = &m->v[args];
    if (m->v[fn].kind != K_GLOBAL || a->kind != K_TUPLE) {
        refuse(m, "REDUCE of a %s", kind_names[m->v[fn].kind]);
        return -1;
    }
    const uint32_t *k = m->kids + a->a;
    switch (m->v[fn].sub) {
    case G_ODICT:
        if (a->n != 0) {
            refuse(m, "%s built from arguments", "OrderedDict");
            return -1;
        }
        return push(m, new_val(m, K_DICT));
    case G_REBUILD_V2:
        return rebuild_v2(m, a);
    case G_REBUILD_PARAM:
        if (a->n != 3 || m->v[k[0]].kind != K_TENSOR || m->v[k[1]].kind != K_BOOL ||
            !empty_dict(m, k[2])) {
            refuse(m, "%s with other arguments than (tensor, bool, {})", "_rebuild_parameter");
            return -1;
        }
        return push(m, k[0]); /* a Parameter holds its tensor's storage view */
    default:
        refuse(m, "REDUCE of %s", "a storage or tensor type");
        return -1;
    }
}

/* BUILD on an OrderedDict: the state is its __dict__ (state_dict's _metadata), or None. */
static int op_build(vm *m)
{
    uint32_t state = pop(m);
    if (state == NO_VAL)
        return -1;
    if (m->sp <= floor_sp(m) || m->v[m->stack[m->sp - 1]].kind != K_DICT ||
        (m->v[state].kind != K_DICT && m->v[state].kind != K_NONE)) {
        refuse(m, "BUILD of something other than %s", "a dict's attributes");
        return -1;
    }
    return 0;
}

/* ---- the loop --------------------------------------------------------------------------- */

static int op_misc(vm *m, unsigned char op)
{
    switch (op) {
    case 0x80: /* PROTO */
        if (need(m, 1))
            return -1;
        if (m->p[m->pos] < 2 || m->p[m->pos] > 5) {
            refuse(m, "pickle protocol %s (torch.save writes 2)", "other than 2-5");
            return -1;
        }
        m->pos++;
        return 0;
    case 0x95: /* FRAME: a length prefix only */
        if (need(m, 8))
            return -1;
        m->pos += 8;
        return 0;
    case '(': /* MARK */
        /* GCOVR_EXCL_BR_START: allocation failure */
        if (st_grow(&m->marks, &m->capmarks, m->nmarks, sizeof(size_t), 16) != 0)
            return nomem(m); /* GCOVR_EXCL_LINE: allocation failure */
        /* GCOVR_EXCL_BR_STOP */
        m->marks[m->nmarks++] = m->sp;
        return 0;
    case '.': /* STOP */
        m->stopped = 1;
        return 0;
    case 0x94: /* MEMOIZE */
        return memo_put(m, m->memo_count);
    default: {
        char name[8] = "0x";
        name[2] = "0123456789abcdef"[op >> 4];
        name[3] = "0123456789abcdef"[op & 15];
        name[4] = '\0';
        refuse(m, "opcode %s is not part of a state dict convert rebuilds", name);
        return -1;
    }
    }
}

static int step(vm *m)
{
    m->op_at = m->pos;
    unsigned char op = m->p[m->pos++];
    switch (op) {
    case 'J':
        return op_int(m, 4, 1); /* BININT */
    case 'K':
        return op_int(m, 1, 0); /* BININT1 */
    case 'M':
        return op_int(m, 2, 0); /* BININT2 */
    case 0x8a:
        return op_long1(m);
    case 'X':
        return op_unicode(m, 4); /* BINUNICODE */
    case 0x8c:
        return op_unicode(m, 1); /* SHORT_BINUNICODE */
    case 'N':
        return op_const(m, K_NONE, 0);
    case 0x88:
        return op_const(m, K_BOOL, 1); /* NEWTRUE */
    case 0x89:
        return op_const(m, K_BOOL, 0); /* NEWFALSE */
    case ')':
        return make_tuple(m, m->sp, 0); /* EMPTY_TUPLE */
    case 0x85:
        return op_tuple_n(m, 1);
    case 0x86:
        return op_tuple_n(m, 2);
    case 0x87:
        return op_tuple_n(m, 3);
    case 't':
        return op_tuple_mark(m);
    case '}':
        return push(m, new_val(m, K_DICT)); /* EMPTY_DICT */
    case ']':
        return push(m, new_val(m, K_LIST)); /* EMPTY_LIST */
    case 'd':
        return op_dict_mark(m);
    case 's':
        return op_additem(m, 1); /* SETITEM */
    case 'u':
        return op_additems(m, 1); /* SETITEMS */
    case 'a':
        return op_additem(m, 0); /* APPEND */
    case 'e':
        return op_additems(m, 0); /* APPENDS */
    case 'q':
        return op_memo(m, 1, 1); /* BINPUT */
    case 'r':
        return op_memo(m, 4, 1); /* LONG_BINPUT */
    case 'h':
        return op_memo(m, 1, 0); /* BINGET */
    case 'j':
        return op_memo(m, 4, 0); /* LONG_BINGET */
    case 'c':
        return op_global(m);
    case 0x93:
        return op_stack_global(m);
    case 'Q':
        return op_persid(m); /* BINPERSID */
    case 'R':
        return op_reduce(m);
    case 'b':
        return op_build(m);
    default:
        return op_misc(m, op);
    }
}

/* ---- results ---------------------------------------------------------------------------- */

/* Valid UTF-8 without surrogates or overlong forms: a name the safetensors writer (a Rust
 * String) can hold. Python's pickle decodes BINUNICODE with surrogatepass, so a name holding a
 * lone surrogate loads in torch and cannot be written. */
static int utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i], len = c < 0x80                ? 1
                                 : c >= 0xc2 && c < 0xe0 ? 2
                                 : c >= 0xe0 && c < 0xf0 ? 3
                                 : c >= 0xf0 && c < 0xf5 ? 4
                                                         : 0;
        if (len == 0 || n - i < len)
            return 0;
        for (unsigned k = 1; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        if ((c == 0xe0 && s[i + 1] < 0xa0) || (c == 0xed && s[i + 1] >= 0xa0) ||
            (c == 0xf0 && s[i + 1] < 0x90) || (c == 0xf4 && s[i + 1] >= 0x90))
            return 0;
        i += len;
    }
    return 1;
}

static int name_cmp(const void *a, const void *b)
{
    const st_sd_tensor *x = a, *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    return c != 0 ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

static int take_tensor(vm *m, const item *it)
{
    st_sd *sd = m->out;
    const val *k = &m->v[it->key];
    if (k->kind != K_STR || !plain_str(m, it->key) ||
        !utf8_ok((const unsigned char *)str_of(m, it->key), k->n) ||
        is_str(m, it->key, "__metadata__")) {
        refuse(m,
               "a state dict key is %s (not a NUL-free UTF-8 name, or "
               "__metadata__)",
               k->kind == K_STR ? "an unusable string" : kind_names[k->kind]);
        return -1;
    }
    if (m->v[it->value].kind != K_TENSOR) {
        refuse(m, "\"%s\" is a %s, not a tensor", shown(m, str_of(m, it->key), k->n),
               kind_names[m->v[it->value].kind]);
        return -1;
    }
    const rtensor *t = &m->t[m->v[it->value].i];
    st_sd_tensor *o = &sd->tensors[sd->n_tensors];
    *o = (st_sd_tensor){.storage = t->storage,
                        .offset = t->offset,
                        .view_off = t->view_off,
                        .view_numel = t->view_numel,
                        .rank = t->rank};
    o->name = strdup(str_of(m, it->key));
    o->size = malloc((t->rank ? 2 * t->rank : 1) * sizeof(uint64_t));
    if (t->has_ref) {
        char ref[24];
        snprintf(ref, sizeof(ref), "i%lld", (long long)t->ref);
        o->ref = strdup(ref);
    }
    /* GCOVR_EXCL_BR_START: allocation failure */
    if (o->name == NULL || o->size == NULL || (t->has_ref && o->ref == NULL)) {
        /* GCOVR_EXCL_BR_STOP */
        free(o->name);   /* GCOVR_EXCL_LINE: allocation failure */
        free(o->size);   /* GCOVR_EXCL_LINE: allocation failure */
        return nomem(m); /* GCOVR_EXCL_LINE: allocation failure */
    }
    o->name_len = k->n;
    o->stride = o->size + t->rank;
    if (t->rank > 0) /* a tar tensor has no dims here (m->dims may be NULL) */
        memcpy(o->size, m->dims + t->dims, 2 * t->rank * sizeof(uint64_t));
    sd->n_tensors++;
    return 0;
}

static uint32_t dict_get(const vm *m, uint32_t d, const char *key)
{
    for (size_t i = 0; i < m->ni; i++)
        if (m->items[i].owner == d && is_str(m, m->items[i].key, key))
            return m->items[i].value;
    return NO_VAL;
}

static int take_state_dict(vm *m, uint32_t top)
{
    if (m->v[top].kind != K_DICT) {
        refuse(m, "the checkpoint holds a %s, not a state dict", kind_names[m->v[top].kind]);
        return -1;
    }
    uint32_t inner = dict_get(m, top, "state_dict"); /* convert.py: loaded["state_dict"] */
    if (inner != NO_VAL) {
        if (m->v[inner].kind != K_DICT) {
            refuse(m, "\"state_dict\" holds a %s, not a dict", kind_names[m->v[inner].kind]);
            return -1;
        }
        top = inner;
    }
    size_t n = 0;
    for (size_t i = 0; i < m->ni; i++)
        n += m->items[i].owner == top;
    m->out->tensors = calloc(n ? n : 1, sizeof(st_sd_tensor));
    if (m->out->tensors == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
        return nomem(m);         /* GCOVR_EXCL_LINE: allocation failure */
    for (size_t i = 0; i < m->ni; i++)
        if (m->items[i].owner == top && take_tensor(m, &m->items[i]) != 0)
            return -1;
    /* a key twice: Python keeps the last value at the first position; refused, no guess */
    st_sd_tensor *sorted = malloc((n ? n : 1) * sizeof(*sorted));
    if (sorted == NULL)  /* GCOVR_EXCL_BR_LINE: allocation failure */
        return nomem(m); /* GCOVR_EXCL_LINE: allocation failure */
    memcpy(sorted, m->out->tensors, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), name_cmp);
    for (size_t i = 1; i < n; i++)
        if (name_cmp(&sorted[i - 1], &sorted[i]) == 0) {
            refuse(m, "the state dict names \"%s\" twice",
                   shown(m, sorted[i].name, sorted[i].name_len));
            break;
        }
    free(sorted);
    return failed(m) ? -1 : 0;
}

static int take_keys(vm *m, uint32_t top)
{
    st_sd *sd = m->out;
    if (m->v[top].kind != K_LIST) {
        refuse(m, "the storage key list is a %s", kind_names[m->v[top].kind]);
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < m->ni; i++)
        n += m->items[i].owner == top;
    sd->keys = calloc(n ? n : 1, sizeof(char *));
    if (sd->keys == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
        return nomem(m);  /* GCOVR_EXCL_LINE: allocation failure */
    for (size_t i = 0; i < m->ni; i++) {
        if (m->items[i].owner != top)
            continue;
        if (!plain_str(m, m->items[i].value)) {
            refuse(m, "the storage key list holds a %s", kind_names[m->v[m->items[i].value].kind]);
            return -1;
        }
        /* GCOVR_EXCL_BR_START: allocation failure */
        if ((sd->keys[sd->n_keys] = strdup(str_of(m, m->items[i].value))) == NULL)
            return nomem(m); /* GCOVR_EXCL_LINE: allocation failure */
        /* GCOVR_EXCL_BR_STOP */
        sd->n_keys++;
    }
    return 0;
}

/* ---- tar records -------------------------------------------------------------------------- */

/* A tar record's key: a Python int ("i<decimal>") or a NUL-free str ("s<text>"); NULL when it is
 * neither (refused) or memory ran out. */
static char *tar_key(vm *m, uint32_t v, const char *what)
{
    const val *k = &m->v[v];
    char *out = NULL;
    if (k->kind == K_INT) {
        char d[24];
        snprintf(d, sizeof(d), "i%lld", (long long)k->i);
        out = strdup(d);
    } else if (plain_str(m, v)) {
        out = malloc((size_t)k->n + 2);
        if (out != NULL) { /* GCOVR_EXCL_BR_LINE: allocation failure */
            out[0] = 's';
            memcpy(out + 1, str_of(m, v), (size_t)k->n + 1);
        }
    } else {
        refuse(m, "%s is a %s, not an int or a str", what, kind_names[k->kind]);
        return NULL;
    }
    if (out == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
        nomem(m);    /* GCOVR_EXCL_LINE: allocation failure */
    return out;
}

/* A tuple of n items: its items, or NULL (refused). */
static const uint32_t *tuple_of(vm *m, uint32_t v, size_t n, const char *what)
{
    if (m->v[v].kind != K_TUPLE || m->v[v].n != n) {
        refuse(m, "%s is not a tuple of %zu", what, n);
        return NULL;
    }
    return m->kids + m->v[v].a;
}

/* (key, location, <T>Storage) and (key, storage key, <T>Tensor): legacy_load's records (the
 * tensor type is read and ignored, as torch ignores it) */
static int take_record(vm *m, uint32_t top, int storage)
{
    st_sd *sd = m->out;
    const uint32_t *k = tuple_of(m, top, 3, storage ? "a storage record" : "a tensor record");
    if (k == NULL)
        return -1;
    const val *g = &m->v[k[2]];
    if (g->kind != K_GLOBAL || g->sub != (storage ? G_STORAGE : G_TENSOR_TYPE) ||
        (storage && m->v[k[1]].kind != K_STR)) {
        refuse(m, "%s",
               storage ? "a storage record is not (key, location, torch.<T>Storage)"
                       : "a tensor record is not (key, storage key, torch.<T>Tensor)");
        return -1;
    }
    sd->rec_dtype = (st_dtype)g->i;
    if ((sd->rec_key = tar_key(m, k[0], "a record's key")) == NULL)
        return -1;
    if (!storage && (sd->rec_ref = tar_key(m, k[1], "a tensor's storage key")) == NULL)
        return -1;
    return 0;
}

/* [(target key, root key, offset, numel), ...]: the storage views */
static int take_views(vm *m, uint32_t top)
{
    st_sd *sd = m->out;
    if (m->v[top].kind != K_LIST) {
        refuse(m, "the storage views are a %s, not a list", kind_names[m->v[top].kind]);
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < m->ni; i++)
        n += m->items[i].owner == top;
    sd->views = calloc(n ? n : 1, sizeof(st_sd_view));
    if (sd->views == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
        return nomem(m);   /* GCOVR_EXCL_LINE: allocation failure */
    for (size_t i = 0; i < m->ni; i++) {
        if (m->items[i].owner != top)
            continue;
        const uint32_t *k = tuple_of(m, m->items[i].value, 4, "a storage view");
        st_sd_view *v = &sd->views[sd->n_views];
        if (k == NULL)
            return -1;
        if (nonneg_int(m, k[2], &v->offset) != 0 || nonneg_int(m, k[3], &v->numel) != 0) {
            refuse(m, "a storage view's %s", "offset or numel is not an int >= 0");
            return -1;
        }
        sd->n_views++; /* freed with sd from here on */
        if ((v->target = tar_key(m, k[0], "a view's key")) == NULL ||
            (v->root = tar_key(m, k[1], "a view's root key")) == NULL)
            return -1;
    }
    return 0;
}

static int take_tar(vm *m, uint32_t top, st_sd_what what)
{
    if (what == ST_SD_TAR_COUNT) {
        if (nonneg_int(m, top, &m->out->count) != 0) {
            refuse(m, "a record count is a %s, not an int >= 0", kind_names[m->v[top].kind]);
            return -1;
        }
        return 0;
    }
    if (what == ST_SD_TAR_VIEWS)
        return take_views(m, top);
    return take_record(m, top, what == ST_SD_TAR_STORAGE);
}

static void vm_free(vm *m)
{
    free(m->v);
    free(m->kids);
    free(m->pool);
    free(m->stack);
    free(m->marks);
    free(m->memo);
    free(m->items);
    free(m->t);
    free(m->dims);
    free(m->hash);
}

st_error st_sd_read(const st_ctx *ctx, st_report *r, const unsigned char *buf, size_t len,
                    uint64_t base, int legacy, st_sd_what what, st_sd *out, int *refused)
{
    vm m = {.ctx = ctx, .r = r, .p = buf, .len = len, .base = base, .legacy = legacy, .out = out};
    memset(out, 0, sizeof(*out));
    /* tuples point into kids: allocated up front, so an empty tuple's kids are never NULL */
    /* GCOVR_EXCL_BR_START: allocation failure */
    if (st_grow(&m.kids, &m.capk, 0, sizeof(uint32_t), 64) != 0)
        m.err = ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
    /* GCOVR_EXCL_BR_STOP */
    while (!failed(&m) && !m.stopped) {
        if (m.pos >= m.len) {
            m.op_at = m.pos;
            refuse(&m, "the pickle ends without %s", "STOP");
            break;
        }
        step(&m);
    }
    if (!failed(&m) && (m.sp != 1 || m.nmarks != 0))
        refuse(&m, "STOP leaves %s on the stack", "other than one value");
    if (!failed(&m)) {
        if (what == ST_SD_STATE_DICT)
            take_state_dict(&m, m.stack[0]);
        else if (what == ST_SD_KEY_LIST)
            take_keys(&m, m.stack[0]);
        else
            take_tar(&m, m.stack[0], what);
    }
    vm_free(&m);
    *refused = m.refused;
    if (m.err != ST_OK || m.refused) {
        st_sd_free(out);
        return m.err;
    }
    return ST_OK;
}

void st_sd_free(st_sd *sd)
{
    for (size_t i = 0; i < sd->n_storages; i++)
        free(sd->storages[i].key);
    for (size_t i = 0; i < sd->n_tensors; i++) {
        free(sd->tensors[i].name);
        free(sd->tensors[i].size);
        free(sd->tensors[i].ref);
    }
    for (size_t i = 0; i < sd->n_views; i++) {
        free(sd->views[i].target);
        free(sd->views[i].root);
    }
    free(sd->views);
    free(sd->rec_key);
    free(sd->rec_ref);
    for (size_t i = 0; i < sd->n_keys; i++)
        free(sd->keys[i]);
    free(sd->storages);
    free(sd->tensors);
    free(sd->keys);
    memset(sd, 0, sizeof(*sd));
}
