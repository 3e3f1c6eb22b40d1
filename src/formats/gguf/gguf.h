/*
 * gguf.h - internals of the GGUF validator shared by its files: the parse state (gguf.c), the
 * ggml type table (gguf_types.c), the well-known keys (gguf_keys.c) and the chat-template
 * checker (jinja.c). Nothing here is public: scan.c sees only st_gguf_sniff/st_gguf_check.
 */
#ifndef ST_GGUF_H
#define ST_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "../deep.h"
#include "../format.h"

/* GGUF value types (ggml gguf.h enum gguf_type) */
enum {
    GG_U8 = 0,
    GG_I8,
    GG_U16,
    GG_I16,
    GG_U32,
    GG_I32,
    GG_F32,
    GG_BOOL,
    GG_STRING,
    GG_ARRAY,
    GG_U64,
    GG_I64,
    GG_F64,
    GG_NTYPES
};

/* ---- ggml tensor types (gguf_types.c) ----------------------------------------------------- */
typedef struct {
    const char *name; /* ggml_type_name(), or NULL for an id never assigned */
    uint32_t blck;    /* elements per block; 0 for a removed type */
    uint32_t size;    /* bytes per block; 0 for a removed type */
    st_float_kind fk; /* --deep: NaN/Inf counting, ST_FK_NONE for the rest */
} st_gguf_type;

/* The entry of ggml type id t, or NULL when t is outside the table. */
const st_gguf_type *st_gguf_type_get(uint32_t t);
/* Ids in the table: GGML_TYPE_COUNT of the ggml revision it follows (docs/formats/gguf.md). */
uint32_t st_gguf_type_count(void);

/* ---- the parse state (gguf.c) --------------------------------------------------------------- */
typedef struct {
    uint32_t key_off, key_len; /* key bytes in the arena */
    uint32_t trunc_len;        /* length up to the first NUL (what strcmp sees) */
    uint8_t type, etype;       /* value type; for arrays the element type */
    uint8_t has_sval;          /* a string value captured in the arena */
    uint8_t bad;               /* the value failed a structural check */
    uint64_t n;                /* array elements (1 for a scalar) */
    uint64_t off;              /* file offset of the key */
    uint64_t voff;             /* file offset of the value */
    uint64_t u;                /* integer value (zero-extended), scalars */
    int64_t i;                 /* integer value (sign-extended), scalars; for a layer index
                                  array (st_gguf_is_layer_index) its largest element, -1 if none */
    double f;                  /* float value, scalars */
    uint32_t sval_off, sval_len;
} st_gguf_kv;

typedef struct {
    uint32_t name_off, name_len; /* name bytes in the arena */
    uint32_t trunc_len;
    uint32_t n_dims, type;
    int64_t ne[4];
    uint64_t off;    /* file offset of the tensor info */
    uint64_t offset; /* data offset, relative to the data section */
    uint64_t nbytes; /* ggml_nbytes */
    int ok;          /* shape and type valid: nbytes is meaningful */
} st_gguf_tensor;

typedef struct {
    st_input *in;
    st_report *r;
    const st_ctx *ctx;
    uint64_t size; /* file size */
    uint64_t pos;  /* reader position */
    unsigned char *buf;
    uint64_t boff; /* file offset of buf[0] */
    size_t blen;
    st_error err; /* first error that makes the verdict "could not check" */
    int stop;     /* structure unusable past this point */
    uint32_t version;
    int v1; /* version 1: 32-bit counts and lengths */
    uint64_t n_kv, n_tensors;
    st_gguf_kv *kv;
    size_t nkv, capkv;
    st_gguf_tensor *t;
    size_t nt, capt;
    char *arena;
    size_t alen, acap;
    uint64_t alignment;
    uint64_t infos_end, data_start;
    size_t placed;    /* tensors whose data check_layout found in place (--deep reads only those) */
    const char *arch; /* general.architecture in the arena (NUL-terminated), or NULL */
    size_t arch_len;
} st_gguf;

/* Finds a key by what llama.cpp's gguf_find_key compares (strcmp: bytes up to a NUL); -1. */
long st_gguf_find(const st_gguf *g, const char *key);
/* Key bytes (arena) of kv i */
static inline const char *st_gguf_key(const st_gguf *g, size_t i)
{
    return g->arena + g->kv[i].key_off;
}
/* The specification's key grammar (ASCII lower_snake_case segments separated by dots). */
int st_gguf_key_grammar_ok(const char *k, size_t n);
/* Escaped display form of arena bytes. */
const char *st_gguf_show(const st_gguf *g, uint32_t off, uint32_t len, char *buf, size_t size);

/* ---- well-known keys (gguf_keys.c) ---------------------------------------------------------- */
void st_gguf_check_keys(st_gguf *g);
/* Keys holding an INT32 array of layer numbers (their largest element is kept while parsing). */
int st_gguf_is_layer_index(const char *k, size_t n);
/* Name of a value type for messages. */
const char *st_gguf_type_name(unsigned type);

/* ---- chat templates (jinja.c) --------------------------------------------------------------- */
typedef enum {
    ST_JJ_SYNTAX = 1, /* cannot be tokenized or parsed */
    ST_JJ_DENIED,     /* outside the allowlist */
    ST_JJ_TEXT,       /* literal text emitted beyond role markers */
    ST_JJ_URL,        /* a URL or tool-call rewriting in emitted text */
    ST_JJ_LIMIT,      /* nesting deeper than allowed */
} st_jj_kind;

typedef struct {
    void (*found)(void *arg, st_jj_kind kind, size_t pos, size_t len, const char *what);
    void *arg;
    unsigned max_depth; /* nesting of blocks and expressions */
    /* the policy's additions (gguf.template_allow): "filter:NAME", "method:NAME", ... */
    char *const *extra;
    size_t n_extra;
} st_jj_sink;

/* Tokenizes and parses a template, reports through sink; returns the number of syntax,
 * denied and limit findings (0: the template is within the allowlist). Iterative. */
size_t st_jinja_check(const char *text, size_t len, const st_jj_sink *sink);

#endif /* ST_GGUF_H */
