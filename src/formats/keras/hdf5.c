/*
 * keras/hdf5.c - a bounded, iterative reader of the HDF5 subset h5py 3.x writes for Keras.
 *
 * Implements (HDF5 File Format Specification version 3.0, libhdf5 1.10/1.12; docs/formats/
 * hdf5.md cites the sections): superblock versions 0-3 at offset 0 or a user-block offset
 * (512 * 2^n), object headers version 1 and 2 with continuation blocks, symbol-table groups
 * (version 1 B-tree of group nodes, symbol table nodes, local heap) and compact link-message
 * groups, attribute messages 1-3 (fixed and variable-length strings, the latter in global heap
 * collections), dataspace 1-2, datatype, filter pipeline 1-2, and data layout 1-4 (compact,
 * contiguous, and chunked with a version 1 B-tree index) of numeric datasets.
 *
 * Refused as "could not check", each with its own finding: superblock extensions and file
 * drivers, shared or unknown messages, dense (fractal-heap) link and attribute storage,
 * external links, external storage, virtual datasets, chunk indexes other than the version 1
 * B-tree, non-numeric datasets. Raw tensor bytes are never read: chunk and contiguous extents
 * are only checked to lie within the file.
 *
 * Everything read is hostile: addresses and sizes are checked against the file's length with
 * checked arithmetic, every block is read through st_src_read, and the walk uses an explicit
 * stack (never recursion on the file's depth) with every metadata address visited once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/checked.h"
#include "../../core/escape.h"
#include "hdf5.h"
#include "keras.h"

#define H5_UNDEF UINT64_MAX
#define H5_MAX_RANK 32          /* H5S_MAX_RANK */
#define H5_MAX_CHUNK (1u << 24) /* one object header chunk read at once (16 MiB) */
#define H5_PATH_MAX 256         /* bytes of a path kept for messages */
#define H5_NAME_MAX 65536       /* bytes of one link name */
#define H5_MAX_ABSENT_K 32      /* default B-tree K when the superblock does not say */
#define H5_BLOCK 65536          /* bytes read at once for metadata */

enum { IT_OBJ, IT_GBTREE, IT_SNOD, IT_CBTREE };

typedef struct {
    int kind;
    uint64_t addr;  /* absolute file offset */
    int level;      /* B-tree level expected, -1 when any */
    unsigned ndims; /* chunked: dimensionality including the element dimension */
    uint64_t heap;  /* groups: absolute offset of the local heap's data segment */
    uint64_t heap_len;
    unsigned depth; /* groups walked to reach it */
    int root;
    char *path;
} item;

typedef struct {
    st_input *in;
    st_report *r;
    const st_src *src;
    const char *member;
    uint64_t size, base;
    unsigned so, sl;               /* size of offsets and lengths */
    unsigned leaf_k, node_k, ck_k; /* B-tree K values */
    item *stack;
    size_t n, cap;
    uint64_t *seen; /* open-addressing set of visited addresses (0 is never stored: +1) */
    size_t seen_n, seen_cap;
    uint64_t objects, filtered;
    uint64_t meta;  /* bytes of metadata blocks read whole (see rd_block) */
    uint64_t names; /* bytes of link names read past their first 256 (see read_name) */
    char filters[128];
    /* the last block read: metadata is mostly written in order, and one pread per object
     * header, heap or node would dominate the time on files of many small datasets */
    uint64_t blk_off;
    size_t blk_len;
    unsigned char blk[H5_BLOCK];
} h5;

/* One object's messages, gathered before judging it. */
typedef struct {
    int space, type, layout, symtab, linfo, pipeline;
    uint64_t nelem;
    unsigned rank;
    unsigned tclass;
    int numeric;
    uint64_t tsize;
    unsigned lclass, cdims;
    uint64_t laddr, lsize;
    uint64_t btree, heap;
    unsigned nfilters;
} obj;

/* A bounded view of bytes already read, with the file offset of its first byte. */
typedef struct {
    const unsigned char *p;
    size_t n, pos;
    uint64_t off;
} cur;

static const char *mem_prefix(const h5 *w)
{
    return w->member ? w->member : "";
}

static const char *mem_sep(const h5 *w)
{
    return w->member ? ": " : "";
}

/* Records a finding prefixed with the member name; returns err so callers can stop with it. */
static st_error note(h5 *w, st_rule_id rule, uint64_t off, uint64_t len, st_error err,
                     const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static st_error note(h5 *w, st_rule_id rule, uint64_t off, uint64_t len, st_error err,
                     const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    st_report_add(w->r, rule, off, len, "%s%s%s", mem_prefix(w), mem_sep(w), msg);
    return err;
}

static const char *shown(const char *path, char *buf, size_t size)
{
    return st_escape(path[0] ? path : "/", strlen(path[0] ? path : "/"), buf, size, 200);
}

/* ---- bytes ----------------------------------------------------------------------------------- */

static int get(cur *c, size_t len, uint64_t *v)
{
    if (len > c->n - c->pos)
        return -1;
    uint64_t x = 0;
    for (size_t i = len; i > 0; i--)
        x = (x << 8) | c->p[c->pos + i - 1];
    c->pos += len;
    *v = x;
    return 0;
}

static int skip(cur *c, uint64_t len)
{
    if (len > c->n - c->pos)
        return -1;
    c->pos += (size_t)len;
    return 0;
}

/* An address field: all ones is HDF5's "undefined address". */
static int get_addr(const h5 *w, cur *c, uint64_t *v)
{
    if (get(c, w->so, v) != 0)
        return -1;
    if (w->so < 8 && *v == (UINT64_C(1) << (8 * w->so)) - 1)
        *v = H5_UNDEF;
    return 0;
}

static uint64_t cur_off(const cur *c)
{
    return c->off + c->pos;
}

/* The absolute offset of relative address a with len bytes there inside the file, or an
 * ST871 finding. */
static int inside(const h5 *w, uint64_t a, uint64_t len, uint64_t *abs)
{
    uint64_t end = 0;
    return a != H5_UNDEF && !st_add_u64(w->base, a, abs) && !st_add_u64(*abs, len, &end) &&
           end <= w->size;
}

static st_error locate(h5 *w, uint64_t a, uint64_t len, uint64_t at, const char *what,
                       uint64_t *abs)
{
    if (!inside(w, a, len, abs))
        return note(w, ST_R_HDF5_ADDRESS, at, 0, ST_E_UNSUPPORTED,
                    "%s at address %llu (+%llu bytes) lies outside the file (%llu bytes)", what,
                    (unsigned long long)a, (unsigned long long)len, (unsigned long long)w->size);
    return ST_OK;
}

static st_error rd(h5 *w, uint64_t abs, void *buf, size_t len)
{
    st_error e;
    if (len <= H5_BLOCK) {
        /* served from the block when it holds [abs, abs + len); else the block at abs is read
         * (callers located the range inside the file: abs + len <= size) */
        if (abs < w->blk_off || abs - w->blk_off > w->blk_len ||
            len > w->blk_len - (abs - w->blk_off)) {
            size_t n = w->size - abs < H5_BLOCK ? (size_t)(w->size - abs) : H5_BLOCK;
            w->blk_len = 0;
            e = st_src_read(w->src, abs, w->blk, n);
            if (e != ST_OK)
                return note(w, ST_R_IO, abs, len, e, "read of %zu bytes at %llu failed", len,
                            (unsigned long long)abs);
            w->blk_off = abs;
            w->blk_len = n;
        }
        memcpy(buf, w->blk + (abs - w->blk_off), len);
        return ST_OK;
    }
    e = st_src_read(w->src, abs, buf, len);
    if (e != ST_OK)
        return note(w, ST_R_IO, abs, len, e, "read of %zu bytes at %llu failed", len,
                    (unsigned long long)abs);
    return ST_OK;
}

/* Reads len bytes at absolute offset abs into a new buffer (the caller frees it). */
static st_error rd_alloc(h5 *w, uint64_t abs, uint64_t len, unsigned char **out)
{
    *out = malloc(len ? (size_t)len : 1);
    if (*out == NULL)      /* GCOVR_EXCL_BR_LINE: malloc failure */
        return ST_E_NOMEM; /* GCOVR_EXCL_LINE: malloc failure */
    st_error e = rd(w, abs, *out, (size_t)len);
    if (e != ST_OK) {
        free(*out);
        *out = NULL;
    }
    return e;
}

/* Reads a metadata block whole (object header chunk, B-tree node, symbol table node, global
 * heap collection). libhdf5 allocates each such block apart from the others, so in a real file
 * they add up to at most its size; blocks that overlap (continuation blocks one byte apart, each
 * 16 MiB) would make the walk cost objects x block size. Past twice the file's size plus 1 MiB
 * the walk stops: could not check (ST884). */
static st_error rd_block(h5 *w, uint64_t abs, uint64_t len, unsigned char **out)
{
    uint64_t cap = w->size * 2 + (1u << 20);
    /* len > cap cannot happen (callers located the block inside the file: len <= size); it
     * keeps cap - len from wrapping */
    if (len > cap || w->meta > cap - len) /* GCOVR_EXCL_BR_LINE: len > cap, see above */
        return note(w, ST_R_HDF5_LIMIT, abs, len, ST_E_LIMIT,
                    "the metadata blocks read add up to more than twice the file's size "
                    "(blocks that overlap): could not check");
    w->meta += len;
    return rd_alloc(w, abs, len, out);
}

/* Bob Jenkins' lookup3 hashlittle, as libhdf5's H5_checksum_lookup3 (H5checksum.c) computes
 * the checksums of version 2 superblocks and object headers. */
#define ROT(x, k) (((x) << (k)) | ((x) >> (32 - (k))))
uint32_t st_hdf5_lookup3(const unsigned char *k, size_t length)
{
    uint32_t a, b, c;
    a = b = c = 0xdeadbeefu + (uint32_t)length;
    while (length > 12) {
        a += k[0] + ((uint32_t)k[1] << 8) + ((uint32_t)k[2] << 16) + ((uint32_t)k[3] << 24);
        b += k[4] + ((uint32_t)k[5] << 8) + ((uint32_t)k[6] << 16) + ((uint32_t)k[7] << 24);
        c += k[8] + ((uint32_t)k[9] << 8) + ((uint32_t)k[10] << 16) + ((uint32_t)k[11] << 24);
        a -= c, a ^= ROT(c, 4), c += b;
        b -= a, b ^= ROT(a, 6), a += c;
        c -= b, c ^= ROT(b, 8), b += a;
        a -= c, a ^= ROT(c, 16), c += b;
        b -= a, b ^= ROT(a, 19), a += c;
        c -= b, c ^= ROT(b, 4), b += a;
        length -= 12;
        k += 12;
    }
    if (length == 0) /* GCOVR_EXCL_BR_LINE: every checksummed block has bytes before its sum */
        return c;    /* GCOVR_EXCL_LINE: as above */
    uint32_t v[3] = {0, 0, 0};
    for (size_t i = 0; i < length; i++)
        v[i / 4] += (uint32_t)k[i] << (8 * (i % 4));
    a += v[0], b += v[1], c += v[2];
    c ^= b, c -= ROT(b, 14);
    a ^= c, a -= ROT(c, 11);
    b ^= a, b -= ROT(a, 25);
    c ^= b, c -= ROT(b, 16);
    a ^= c, a -= ROT(c, 4);
    b ^= a, b -= ROT(a, 14);
    c ^= b, c -= ROT(b, 24);
    return c;
}

static st_error check_sum(h5 *w, const unsigned char *p, size_t n, uint64_t off, const char *what)
{
    uint32_t stored = (uint32_t)p[n - 4] | (uint32_t)p[n - 3] << 8 | (uint32_t)p[n - 2] << 16 |
                      (uint32_t)p[n - 1] << 24;
    if (st_hdf5_lookup3(p, n - 4) != stored)
        return note(w, ST_R_HDF5_CHECKSUM, off, n, ST_E_UNSUPPORTED,
                    "%s checksum does not match its bytes: libhdf5 refuses it", what);
    return ST_OK;
}

/* ---- visited set and stack ------------------------------------------------------------------- */

/* 1 when abs was visited before; records it otherwise (-1: out of memory). */
static int seen(h5 *w, uint64_t abs)
{
    uint64_t key = abs + 1; /* abs < file size < UINT64_MAX */
    if (w->seen_n * 2 >= w->seen_cap) {
        size_t ncap = w->seen_cap ? w->seen_cap * 2 : 256;
        uint64_t *t = calloc(ncap, sizeof(*t));
        if (t == NULL) /* GCOVR_EXCL_BR_LINE: malloc failure */
            return -1; /* GCOVR_EXCL_LINE: malloc failure */
        for (size_t i = 0; i < w->seen_cap; i++) {
            if (w->seen[i] == 0)
                continue;
            size_t j = (size_t)(w->seen[i] * 0x9e3779b97f4a7c15u >> 7) & (ncap - 1);
            while (t[j] != 0)
                j = (j + 1) & (ncap - 1);
            t[j] = w->seen[i];
        }
        free(w->seen);
        w->seen = t;
        w->seen_cap = ncap;
    }
    size_t j = (size_t)(key * 0x9e3779b97f4a7c15u >> 7) & (w->seen_cap - 1);
    while (w->seen[j] != 0) {
        if (w->seen[j] == key)
            return 1;
        j = (j + 1) & (w->seen_cap - 1);
    }
    w->seen[j] = key;
    w->seen_n++;
    return 0;
}

/* A metadata block (B-tree node, continuation) reached a second time: a cycle. */
static st_error visit_block(h5 *w, uint64_t abs, const char *what)
{
    int s = seen(w, abs);
    if (s < 0)             /* GCOVR_EXCL_BR_LINE: malloc failure */
        return ST_E_NOMEM; /* GCOVR_EXCL_LINE: malloc failure */
    if (s > 0)
        return note(w, ST_R_HDF5_REUSED, abs, 0, ST_E_UNSUPPORTED,
                    "%s at %llu is reached a second time (a cycle): could not check", what,
                    (unsigned long long)abs);
    return ST_OK;
}

static char *join(const char *parent, const unsigned char *name, size_t len)
{
    /* a path is kept for messages only, cut to H5_PATH_MAX bytes: every pending item holds one,
     * so a longer one would let 40-byte symbol table entries cost kilobytes each */
    size_t pl = strlen(parent), room;
    if (pl > H5_PATH_MAX - 1)
        pl = H5_PATH_MAX - 1;
    room = H5_PATH_MAX - 1 - pl;
    if (len > room)
        len = room;
    char *p = malloc(pl + len + 2);
    if (p == NULL)   /* GCOVR_EXCL_BR_LINE: malloc failure */
        return NULL; /* GCOVR_EXCL_LINE: malloc failure */
    memcpy(p, parent, pl);
    p[pl] = '/';
    memcpy(p + pl + 1, name, len);
    p[pl + 1 + len] = 0;
    return p;
}

static st_error push(h5 *w, item it, const char *path)
{
    it.path = NULL;
    if (st_grow(&w->stack, &w->cap, w->n, sizeof(item), 64) != 0) /* GCOVR_EXCL_BR_LINE */
        return ST_E_NOMEM; /* GCOVR_EXCL_LINE: malloc failure */
    size_t len = strlen(path) + 1;
    it.path = malloc(len);
    if (it.path == NULL)   /* GCOVR_EXCL_BR_LINE: malloc failure */
        return ST_E_NOMEM; /* GCOVR_EXCL_LINE: malloc failure */
    memcpy(it.path, path, len);
    w->stack[w->n++] = it;
    return ST_OK;
}

/* Pushes the object a link names (relative address a) below the group item g. */
static st_error push_child(h5 *w, const item *g, uint64_t a, const unsigned char *name, size_t len,
                           uint64_t at)
{
    uint64_t abs = 0;
    st_error e = locate(w, a, 1, at, "an object header a link names", &abs);
    if (e != ST_OK)
        return e;
    char *p = join(g->path, name, len);
    if (p == NULL)         /* GCOVR_EXCL_BR_LINE: malloc failure */
        return ST_E_NOMEM; /* GCOVR_EXCL_LINE: malloc failure */
    item it = {IT_OBJ, abs, -1, 0, 0, 0, g->depth + 1, 0, NULL};
    e = push(w, it, p);
    free(p);
    return e;
}

/* ---- datatypes and dataspaces (sections IV.A.2.b, IV.A.2.d) ---------------------------------- */

typedef struct {
    unsigned tclass, version;
    uint32_t bits;
    uint64_t size;
    int vlen_string;
} dtype;

static st_error parse_dtype(h5 *w, cur *c, dtype *t)
{
    uint64_t cv = 0, bits = 0, size = 0;
    uint64_t at = cur_off(c);
    if (get(c, 1, &cv) || get(c, 3, &bits) || get(c, 4, &size))
        return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                    "a datatype message is truncated");
    t->tclass = (unsigned)(cv & 15);
    t->version = (unsigned)(cv >> 4);
    t->bits = (uint32_t)bits;
    t->size = size;
    t->vlen_string = t->tclass == 9 && (bits & 15) == 1;
    if (t->version < 1 || t->version > 4 || t->tclass > 10 || size == 0)
        return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                    "a datatype (class %u, version %u, size %llu) is not one libhdf5 reads",
                    t->tclass, t->version, (unsigned long long)size);
    return ST_OK;
}

/* Numeric element types: fixed-point, floating-point, and enumerations of fixed-point (h5py's
 * bool). The first base-type byte of an enum follows the 8-byte datatype header. */
static int numeric(unsigned tclass, const cur *c)
{
    if (tclass == 8)
        return c->pos < c->n && (c->p[c->pos] & 15) == 0;
    return tclass <= 1;
}

typedef struct {
    unsigned rank;
    uint64_t nelem;
} dspace;

static st_error parse_space(h5 *w, cur *c, dspace *s)
{
    uint64_t at = cur_off(c), ver = 0, rank = 0, flags = 0, type = 1, d = 0, nelem = 1;
    if (get(c, 1, &ver) || get(c, 1, &rank) || get(c, 1, &flags))
        return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                    "a dataspace message is truncated");
    if (ver == 1) {
        if (skip(c, 5))
            return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                        "a dataspace message is truncated");
        type = rank == 0 ? 0 : 1;
    } else if (ver == 2) {
        if (get(c, 1, &type) || type > 2)
            return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                        "a dataspace message has no valid type");
    } else {
        return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                    "dataspace message version %llu is not one libhdf5 reads",
                    (unsigned long long)ver);
    }
    if (rank > H5_MAX_RANK || (type != 1 && rank != 0))
        return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                    "a dataspace has %llu dimensions (at most %d, none when scalar or null)",
                    (unsigned long long)rank, H5_MAX_RANK);
    for (unsigned i = 0; i < rank; i++) {
        if (get(c, w->sl, &d))
            return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                        "a dataspace message is truncated");
        if (st_mul_u64(nelem, d, &nelem))
            return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                        "a dataspace's element count overflows 64 bits");
    }
    /* maximum dimensions (flags bit 0) and, version 1 only, permutation indices (bit 1) */
    uint64_t extra = ((flags & 1) ? rank : 0) + (ver == 1 && (flags & 2) ? rank : 0);
    if (skip(c, extra * w->sl))
        return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                    "a dataspace message is truncated");
    s->rank = (unsigned)rank;
    s->nelem = type == 2 ? 0 : nelem;
    return ST_OK;
}

/* ---- global heap (section III.E) ------------------------------------------------------------- */

/* The object index idx of the global heap collection at relative address a, copied to a new
 * buffer *out of *len bytes (the caller frees it). */
static st_error gheap_get(h5 *w, uint64_t a, uint64_t idx, uint64_t at, unsigned char **out,
                          uint64_t *len)
{
    uint64_t abs = 0, csize = 0;
    unsigned hl = 8 + w->sl;
    unsigned char hdr[16], *buf = NULL;
    st_error e = locate(w, a, hl, at, "a global heap collection", &abs);
    if (e == ST_OK)
        e = rd(w, abs, hdr, hl);
    if (e != ST_OK)
        return e;
    cur c = {hdr, hl, 8, abs};
    (void)get(&c, w->sl, &csize);
    if (memcmp(hdr, "GCOL", 4) != 0 || hdr[4] != 1 || csize < hl)
        return note(w, ST_R_HDF5_MALFORMED, abs, hl, ST_E_UNSUPPORTED,
                    "no global heap collection (GCOL, version 1) at %llu", (unsigned long long)abs);
    if (csize > w->in->ctx->limits[ST_LIMIT_HEADER_BYTES])
        return note(w, ST_R_HDF5_LIMIT, abs, csize, ST_E_LIMIT,
                    "a global heap collection of %llu bytes is over the header-bytes limit",
                    (unsigned long long)csize);
    if ((e = locate(w, a, csize, at, "a global heap collection", &abs)) != ST_OK ||
        (e = rd_block(w, abs, csize, &buf)) != ST_OK)
        return e;
    c = (cur){buf, (size_t)csize, hl, abs};
    /* every object is read: H5HG__cache_heap_deserialize stores each object header it meets
     * under its index, so of two objects with one index libhdf5 reads the last */
    uint64_t found = 0, start = 0, size = 0;
    for (;;) {
        uint64_t oi = 0, osize = 0;
        if (get(&c, 2, &oi) || skip(&c, 6) || get(&c, w->sl, &osize) || oi == 0)
            break;
        uint64_t at_obj = c.pos;
        if (oi == idx && found++ == 0) {
            start = at_obj;
            size = osize;
        }
        if (skip(&c, osize)) {
            found = oi == idx ? 0 : found; /* the object wanted cut short: none to read */
            break;
        }
        (void)skip(&c, (8 - osize % 8) % 8); /* objects are padded to 8 bytes */
    }
    if (found == 1) {
        *out = malloc(size ? (size_t)size : 1);
        if (*out == NULL) {    /* GCOVR_EXCL_BR_LINE: malloc failure */
            free(buf);         /* GCOVR_EXCL_LINE: malloc failure */
            return ST_E_NOMEM; /* GCOVR_EXCL_LINE: malloc failure */
        }
        memcpy(*out, buf + start, (size_t)size);
        *len = size;
        free(buf);
        return ST_OK;
    }
    free(buf);
    if (found > 1)
        return note(w, ST_R_HDF5_MALFORMED, abs, csize, ST_E_UNSUPPORTED,
                    "global heap collection at %llu holds object %llu %llu times (libhdf5 "
                    "reads the last, other readers the first)",
                    (unsigned long long)abs, (unsigned long long)idx, (unsigned long long)found);
    return note(w, ST_R_HDF5_MALFORMED, abs, csize, ST_E_UNSUPPORTED,
                "global heap collection at %llu holds no object %llu", (unsigned long long)abs,
                (unsigned long long)idx);
}

/* ---- attributes (section IV.A.2.m) ----------------------------------------------------------- */

static int is_config(const unsigned char *name, size_t len)
{
    return (len == 12 && memcmp(name, "model_config", 12) == 0) ||
           (len == 15 && memcmp(name, "training_config", 15) == 0);
}

/* The string value of a root configuration attribute, judged as Keras configuration JSON. */
static st_error judge_config(h5 *w, const char *name, const dtype *t, const dspace *s, cur *c)
{
    uint64_t at = cur_off(c);
    unsigned char *str = NULL;
    uint64_t len = 0;
    st_error e = ST_OK;
    if (s->nelem != 1 || (t->tclass != 3 && !t->vlen_string))
        return note(w, ST_R_HDF5_CONFIG, at, 0, ST_E_UNSUPPORTED,
                    "the %s attribute is not a single string (class %u, %llu elements): "
                    "could not check",
                    name, t->tclass, (unsigned long long)s->nelem);
    if (t->tclass == 3) {
        len = t->size;
        str = malloc((size_t)len);
        if (str == NULL)       /* GCOVR_EXCL_BR_LINE: malloc failure */
            return ST_E_NOMEM; /* GCOVR_EXCL_LINE: malloc failure */
        memcpy(str, c->p + c->pos, (size_t)len);
        /* null-terminated or null-padded: the value ends at the first NUL (H5T_STR_NULLTERM);
         * space-padded strings lose their trailing spaces, which JSON ignores anyway */
        void *nul = memchr(str, 0, (size_t)len);
        if (nul != NULL)
            len = (uint64_t)((unsigned char *)nul - str);
    } else {
        uint64_t slen = 0, coll = 0, idx = 0;
        (void)get(c, 4, &slen);
        (void)get_addr(w, c, &coll);
        (void)get(c, 4, &idx);
        e = gheap_get(w, coll, idx, at, &str, &len);
        if (e != ST_OK)
            return e;
        if (slen > len) {
            free(str);
            return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                        "the %s attribute's string of %llu bytes is longer than its global "
                        "heap object (%llu bytes)",
                        name, (unsigned long long)slen, (unsigned long long)len);
        }
        len = slen;
    }
    char where[64];
    snprintf(where, sizeof where, "%s attribute", name);
    e = st_keras_check_config(w->in, str, (size_t)len, where);
    free(str);
    return e;
}

static st_error attribute(h5 *w, const item *it, cur *c)
{
    uint64_t at = cur_off(c), ver = 0, flags = 0, nlen = 0, tlen = 0, slen = 0, enc = 0;
    if (get(c, 1, &ver) || get(c, 1, &flags) || get(c, 2, &nlen) || get(c, 2, &tlen) ||
        get(c, 2, &slen) || (ver == 3 && get(c, 1, &enc)))
        return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                    "an attribute message is truncated");
    if (ver < 1 || ver > 3)
        return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                    "attribute message version %llu is not one libhdf5 reads",
                    (unsigned long long)ver);
    if (ver > 1 && (flags & 3) != 0)
        return note(w, ST_R_HDF5_UNSUPPORTED, at, 0, ST_E_UNSUPPORTED,
                    "an attribute's datatype or dataspace is shared: could not check");
    /* version 1 pads the name, datatype and dataspace to multiples of 8 */
    uint64_t pad = ver == 1 ? 7 : 0, nskip = (nlen + pad) & ~pad, tskip = (tlen + pad) & ~pad,
             sskip = (slen + pad) & ~pad;
    const unsigned char *name = c->p + c->pos;
    /* a NUL before the end: libhdf5 1.10.3+ refuses the name (H5O_attr_decode, HDFFV-10588),
     * older ones read it up to the NUL ("model_config\0x" is then model_config) */
    if (nlen == 0 || skip(c, nskip) || name[nlen - 1] != 0 ||
        memchr(name, 0, (size_t)nlen - 1) != NULL)
        return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                    "an attribute's name is empty, truncated, not NUL-terminated or holds a "
                    "NUL");
    cur tc = {c->p + c->pos, 0, 0, cur_off(c)}, sc;
    dtype t;
    dspace s;
    if (skip(c, tskip))
        return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                    "an attribute's datatype is truncated");
    tc.n = (size_t)tlen;
    sc = (cur){c->p + c->pos, 0, 0, cur_off(c)};
    if (skip(c, sskip))
        return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                    "an attribute's dataspace is truncated");
    sc.n = (size_t)slen;
    st_error e = parse_dtype(w, &tc, &t);
    if (e == ST_OK)
        e = parse_space(w, &sc, &s);
    if (e != ST_OK)
        return e;
    uint64_t need = 0;
    if (st_mul_u64(s.nelem, t.size, &need) || need > c->n - c->pos)
        return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                    "an attribute's data (%llu elements of %llu bytes) is larger than its "
                    "message",
                    (unsigned long long)s.nelem, (unsigned long long)t.size);
    if (t.vlen_string && t.size != 8u + w->so)
        return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                    "a variable-length string attribute has elements of %llu bytes, not %u",
                    (unsigned long long)t.size, 8u + w->so);
    if (it->root && is_config(name, (size_t)nlen - 1))
        return judge_config(w, (const char *)name, &t, &s, c);
    return ST_OK;
}

/* ---- links (sections IV.A.2.g, IV.A.2.c) ----------------------------------------------------- */

static st_error link_msg(h5 *w, const item *it, cur *c)
{
    uint64_t at = cur_off(c), ver = 0, flags = 0, type = 0, len = 0, v = 0;
    if (get(c, 1, &ver) || get(c, 1, &flags) || ver != 1 || (flags & 0xe0) != 0)
        return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                    "a link message is truncated or has an unknown version or flags");
    if (((flags & 8) && get(c, 1, &type)) || ((flags & 4) && skip(c, 8)) ||
        ((flags & 16) && skip(c, 1)) || get(c, (size_t)1 << (flags & 3), &len) || len == 0 ||
        len > H5_NAME_MAX || len > c->n - c->pos)
        return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                    "a link message's name is empty, too long or truncated");
    const unsigned char *name = c->p + c->pos;
    (void)skip(c, len);
    char nb[256], pb[256];
    if (type == 1)
        return ST_OK; /* soft link: a path inside this file, reached by its own hard link */
    if (type == 64)
        return note(w, ST_R_HDF5_EXTERNAL_LINK, at, 0, ST_E_UNSUPPORTED,
                    "link '%s' in group %s names an object in another file (external link): "
                    "could not check",
                    st_escape(name, (size_t)len, nb, sizeof nb, 100),
                    shown(it->path, pb, sizeof pb));
    if (type != 0)
        return note(w, ST_R_HDF5_UNSUPPORTED, at, 0, ST_E_UNSUPPORTED,
                    "link '%s' has user-defined link type %llu: could not check",
                    st_escape(name, (size_t)len, nb, sizeof nb, 100), (unsigned long long)type);
    if (get_addr(w, c, &v))
        return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                    "a hard link message is truncated");
    return push_child(w, it, v, name, (size_t)len, at);
}

/* Link info and attribute info: dense storage lives in a fractal heap, outside the subset. */
static st_error info_msg(h5 *w, cur *c, int attrs)
{
    uint64_t at = cur_off(c), ver = 0, flags = 0, heap = 0;
    if (get(c, 1, &ver) || get(c, 1, &flags) || ver != 0 ||
        ((flags & 1) && skip(c, attrs ? 2 : 8)) || get_addr(w, c, &heap))
        return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                    "a %s info message is truncated or has an unknown version",
                    attrs ? "attribute" : "link");
    if (heap != H5_UNDEF)
        return note(w, ST_R_HDF5_UNSUPPORTED, at, 0, ST_E_UNSUPPORTED,
                    "%s are stored densely (fractal heap at %llu): could not check",
                    attrs ? "attributes" : "links", (unsigned long long)heap);
    return ST_OK;
}

/* ---- datasets (sections IV.A.2.i, IV.A.2.l) -------------------------------------------------- */

static st_error layout_msg(h5 *w, obj *o, cur *c)
{
    uint64_t at = cur_off(c), ver = 0, cls = 0;
    if (get(c, 1, &ver) || ver < 1 || ver > 4)
        return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                    "data layout message version is not 1-4");
    o->laddr = H5_UNDEF;
    if (ver < 3) {
        uint64_t nd = 0;
        if (get(c, 1, &nd) || get(c, 1, &cls) || skip(c, 5) || cls > 2 || nd == 0 ||
            nd > H5_MAX_RANK + 1 || (cls != 0 && get_addr(w, c, &o->laddr)) || skip(c, 4 * nd) ||
            (cls == 2 && skip(c, 4)) || (cls == 0 && get(c, 4, &o->lsize)))
            return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                        "a version %llu data layout message is malformed", (unsigned long long)ver);
        o->lclass = (unsigned)cls;
        o->cdims = (unsigned)nd;
        o->lsize = cls == 1 ? H5_UNDEF : o->lsize; /* contiguous size: from the dataspace */
        return ST_OK;
    }
    if (get(c, 1, &cls))
        return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                    "a data layout message is truncated");
    o->lclass = (unsigned)cls;
    if (cls == 0) {
        if (get(c, 2, &o->lsize) || skip(c, o->lsize))
            return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                        "a compact data layout is truncated");
    } else if (cls == 1) {
        if (get_addr(w, c, &o->laddr) || get(c, w->sl, &o->lsize))
            return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                        "a contiguous data layout is truncated");
    } else if (cls == 2 && ver == 3) {
        uint64_t nd = 0;
        if (get(c, 1, &nd) || nd < 2 || nd > H5_MAX_RANK + 1 || get_addr(w, c, &o->laddr) ||
            skip(c, 4 * nd))
            return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                        "a chunked data layout is malformed");
        o->cdims = (unsigned)nd;
    } else if (cls == 2) {
        return note(w, ST_R_HDF5_UNSUPPORTED, at, 0, ST_E_UNSUPPORTED,
                    "chunked layout version 4 (single-chunk, fixed or extensible array, or "
                    "version 2 B-tree index): could not check");
    } else if (cls == 3) {
        return note(w, ST_R_HDF5_EXTERNAL_STORAGE, at, 0, ST_E_UNSUPPORTED,
                    "a virtual dataset maps data from other datasets or files: could not check");
    } else {
        return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                    "data layout class %llu is unknown", (unsigned long long)cls);
    }
    return ST_OK;
}

static const struct {
    unsigned id;
    const char *name;
} known_filters[] = {
    {1, "deflate"}, {2, "shuffle"},     {3, "fletcher32"}, {4, "szip"},
    {5, "nbit"},    {6, "scaleoffset"}, {32000, "lzf"}, /* h5py registers LZF itself (h5py/_conv,
                                                           lzf_filter.c) */
};

static void add_filter_name(h5 *w, const char *name)
{
    if (strstr(w->filters, name) != NULL)
        return;
    size_t l = strlen(w->filters);
    snprintf(w->filters + l, sizeof w->filters - l, "%s%s", l ? ", " : "", name);
}

static st_error pipeline_msg(h5 *w, obj *o, const item *it, cur *c)
{
    uint64_t at = cur_off(c), ver = 0, nf = 0;
    if (get(c, 1, &ver) || get(c, 1, &nf) || ver < 1 || ver > 2 || nf > 32 ||
        (ver == 1 && skip(c, 6)))
        return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                    "a filter pipeline message is malformed");
    for (uint64_t i = 0; i < nf; i++) {
        uint64_t id = 0, nl = 0, fl = 0, nv = 0;
        if (get(c, 2, &id) || ((ver == 1 || id >= 256) && get(c, 2, &nl)) || get(c, 2, &fl) ||
            get(c, 2, &nv) || skip(c, ver == 1 ? (nl + 7) & ~UINT64_C(7) : nl) ||
            skip(c, 4 * nv + (ver == 1 && (nv & 1) ? 4 : 0)))
            return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                        "a filter pipeline message is truncated");
        const char *name = NULL;
        for (size_t k = 0; k < sizeof known_filters / sizeof known_filters[0]; k++)
            if (known_filters[k].id == id)
                name = known_filters[k].name;
        char pb[256];
        if (name == NULL)
            note(w, ST_R_HDF5_FILTER_PLUGIN, at, 0, ST_OK,
                 "dataset %s uses filter %llu, which neither libhdf5 nor h5py provides: reading "
                 "it loads a plugin library (HDF5_PLUGIN_PATH)",
                 shown(it->path, pb, sizeof pb), (unsigned long long)id);
        add_filter_name(w, name ? name : "plugin");
    }
    o->nfilters = (unsigned)nf;
    return ST_OK;
}

/* Checks a dataset's storage once all of its messages are known. */
static st_error judge_dataset(h5 *w, const obj *o, const item *it, uint64_t at)
{
    char pb[256];
    if (!o->space || !o->type)
        return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                    "dataset %s has a layout but no %s message", shown(it->path, pb, sizeof pb),
                    o->space ? "datatype" : "dataspace");
    if (!o->numeric)
        return note(w, ST_R_HDF5_DATATYPE, at, 0, ST_E_UNSUPPORTED,
                    "dataset %s has datatype class %u, not a numeric one: could not check",
                    shown(it->path, pb, sizeof pb), o->tclass);
    uint64_t need = 0, abs = 0;
    if (st_mul_u64(o->nelem, o->tsize, &need))
        return note(w, ST_R_HDF5_DATA_RANGE, at, 0, ST_E_UNSUPPORTED,
                    "dataset %s's size overflows 64 bits", shown(it->path, pb, sizeof pb));
    if (o->nfilters)
        w->filtered++;
    if (o->lclass == 0) {
        if (o->lsize != need)
            return note(w, ST_R_HDF5_DATA_RANGE, at, 0, ST_E_UNSUPPORTED,
                        "compact dataset %s holds %llu bytes, its dataspace needs %llu",
                        shown(it->path, pb, sizeof pb), (unsigned long long)o->lsize,
                        (unsigned long long)need);
        return ST_OK;
    }
    if (o->lclass == 1) {
        uint64_t len = o->lsize == H5_UNDEF ? need : o->lsize;
        if (o->laddr == H5_UNDEF)
            return ST_OK; /* never written: reads give the fill value */
        if (len != need)
            return note(w, ST_R_HDF5_DATA_RANGE, at, 0, ST_E_UNSUPPORTED,
                        "contiguous dataset %s stores %llu bytes, its dataspace needs %llu",
                        shown(it->path, pb, sizeof pb), (unsigned long long)len,
                        (unsigned long long)need);
        uint64_t end = 0;
        if (st_add_u64(w->base, o->laddr, &abs) || st_add_u64(abs, len, &end) || end > w->size)
            return note(w, ST_R_HDF5_DATA_RANGE, at, 0, ST_E_UNSUPPORTED,
                        "contiguous dataset %s's data (%llu bytes at %llu) lies outside the file",
                        shown(it->path, pb, sizeof pb), (unsigned long long)len,
                        (unsigned long long)o->laddr);
        return ST_OK;
    }
    if (o->laddr == H5_UNDEF)
        return ST_OK; /* no chunk written */
    st_error e = locate(w, o->laddr, 8, at, "a chunk B-tree", &abs);
    if (e != ST_OK)
        return e;
    item c = {IT_CBTREE, abs, -1, o->cdims, 0, 0, it->depth, 0, NULL};
    return push(w, c, it->path);
}

/* ---- object headers (section IV.A) ----------------------------------------------------------- */

static st_error symtab_msg(h5 *w, obj *o, cur *c)
{
    uint64_t at = cur_off(c);
    if (get_addr(w, c, &o->btree) || get_addr(w, c, &o->heap))
        return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                    "a symbol table message is truncated");
    o->symtab++;
    return ST_OK;
}

static st_error message(h5 *w, obj *o, const item *it, unsigned type, unsigned flags, cur *c,
                        uint64_t *cont_addr, uint64_t *cont_len)
{
    uint64_t at = cur_off(c);
    dtype t;
    dspace s;
    st_error e;
    if (flags & 2)
        return note(w, ST_R_HDF5_UNSUPPORTED, at, 0, ST_E_UNSUPPORTED,
                    "message type %u is shared (stored in another object header or the shared "
                    "message heap): could not check",
                    type);
    switch (type) {
    case 0x00: /* NIL */
    case 0x04: /* fill value (old) */
    case 0x05: /* fill value */
    case 0x0a: /* group info */
    case 0x0d: /* comment */
    case 0x0e: /* modification time (old) */
    case 0x12: /* modification time */
    case 0x13: /* B-tree 'K' values */
    case 0x16: /* reference count */
        return ST_OK;
    case 0x01:
        if (o->space++)
            return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                        "an object header holds two dataspace messages");
        e = parse_space(w, c, &s);
        o->nelem = s.nelem;
        o->rank = s.rank;
        return e;
    case 0x02:
        o->linfo++;
        return info_msg(w, c, 0);
    case 0x03:
        if (o->type++)
            return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                        "an object header holds two datatype messages");
        e = parse_dtype(w, c, &t);
        o->tclass = t.tclass;
        o->numeric = numeric(t.tclass, c);
        o->tsize = t.size;
        return e;
    case 0x06:
        return link_msg(w, it, c);
    case 0x07:
        return note(w, ST_R_HDF5_EXTERNAL_STORAGE, at, 0, ST_E_UNSUPPORTED,
                    "a dataset's data is stored in external files: could not check");
    case 0x08:
        if (o->layout++)
            return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                        "an object header holds two data layout messages");
        return layout_msg(w, o, c);
    case 0x0b:
        if (o->pipeline++)
            return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                        "an object header holds two filter pipeline messages");
        return pipeline_msg(w, o, it, c);
    case 0x0c:
        return attribute(w, it, c);
    case 0x10:
        if (get_addr(w, c, cont_addr) || get(c, w->sl, cont_len))
            return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                        "a continuation message is truncated");
        return ST_OK;
    case 0x11:
        return symtab_msg(w, o, c);
    case 0x15:
        return info_msg(w, c, 1);
    default:
        return note(w, ST_R_HDF5_UNKNOWN_MESSAGE, at, 0, ST_E_UNSUPPORTED,
                    "message type %u (flags 0x%02x) is outside the subset Keras writes%s: could "
                    "not check",
                    type, flags,
                    (flags & 0x88) ? " and marked as one a reader must understand" : "");
    }
}

/* A list of continuation blocks still to read for one object header. */
typedef struct {
    uint64_t addr[64];
    uint64_t len[64];
    size_t n;
} conts;

/* Walks the messages in buf[0..n) (one chunk); v2 selects the version 2 message header. */
static st_error messages(h5 *w, obj *o, const item *it, const unsigned char *buf, size_t n,
                         uint64_t off, int v2, int corder, conts *k)
{
    cur c = {buf, n, 0, off};
    size_t hdr = v2 ? 4u + (corder ? 2u : 0u) : 8u;
    while (c.n - c.pos >= hdr) {
        uint64_t type = 0, size = 0, flags = 0, at = cur_off(&c);
        if (v2) {
            (void)get(&c, 1, &type);
            (void)get(&c, 2, &size);
            (void)get(&c, 1, &flags);
            (void)skip(&c, corder ? 2 : 0);
        } else {
            (void)get(&c, 2, &type);
            (void)get(&c, 2, &size);
            (void)get(&c, 1, &flags);
            (void)skip(&c, 3);
        }
        if (size > c.n - c.pos)
            return note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                        "message of type %llu (%llu bytes) runs past its object header chunk",
                        (unsigned long long)type, (unsigned long long)size);
        cur m = {c.p + c.pos, (size_t)size, 0, cur_off(&c)};
        uint64_t ca = H5_UNDEF, cl = 0;
        st_error e = message(w, o, it, (unsigned)type, (unsigned)flags, &m, &ca, &cl);
        if (e != ST_OK)
            return e;
        if (type == 0x10) {
            if (k->n == sizeof k->addr / sizeof k->addr[0])
                return note(w, ST_R_HDF5_LIMIT, at, 0, ST_E_LIMIT,
                            "an object header has more than %zu continuation blocks", k->n);
            k->addr[k->n] = ca;
            k->len[k->n++] = cl;
        }
        (void)skip(&c, size);
    }
    return ST_OK;
}

/* Reads one chunk at relative address a of len bytes (a continuation, or the first chunk). */
static st_error chunk(h5 *w, uint64_t a, uint64_t len, uint64_t at, unsigned char **buf,
                      uint64_t *abs)
{
    st_error e = locate(w, a, len, at, "an object header chunk", abs);
    if (e != ST_OK)
        return e;
    if (len > H5_MAX_CHUNK)
        return note(w, ST_R_HDF5_LIMIT, *abs, len, ST_E_LIMIT,
                    "an object header chunk of %llu bytes is over %u bytes",
                    (unsigned long long)len, H5_MAX_CHUNK);
    return rd_block(w, *abs, len, buf);
}

/* Reads the continuation blocks of one object header (k grows while they are read). */
static st_error continuations(h5 *w, obj *o, const item *it, int v2, int corder, conts *k)
{
    for (size_t i = 0; i < k->n; i++) {
        unsigned char *buf = NULL;
        uint64_t abs = 0;
        st_error e = chunk(w, k->addr[i], k->len[i], it->addr, &buf, &abs);
        if (e == ST_OK)
            e = visit_block(w, abs, "an object header continuation block");
        if (e == ST_OK && v2) {
            if (k->len[i] < 8 || memcmp(buf, "OCHK", 4) != 0)
                e = note(w, ST_R_HDF5_MALFORMED, abs, k->len[i], ST_E_UNSUPPORTED,
                         "continuation block at %llu has no OCHK signature",
                         (unsigned long long)abs);
            else if ((e = check_sum(w, buf, (size_t)k->len[i], abs, "a continuation block")) ==
                     ST_OK)
                e = messages(w, o, it, buf + 4, (size_t)k->len[i] - 8, abs + 4, 1, corder, k);
        } else if (e == ST_OK) {
            e = messages(w, o, it, buf, (size_t)k->len[i], abs, 0, 0, k);
        }
        free(buf);
        if (e != ST_OK)
            return e;
    }
    return ST_OK;
}

/* Version 1 object header prefix: version, reserved, message count, reference count, header
 * size, and 4 bytes of alignment (section IV.A.1.a). */
static st_error header_v1(h5 *w, obj *o, const item *it, conts *k, int *v2, int *corder)
{
    unsigned char p[16];
    st_error e = rd(w, it->addr, p, 16);
    if (e != ST_OK)
        return e;
    uint64_t size = p[8] | (uint64_t)p[9] << 8 | (uint64_t)p[10] << 16 | (uint64_t)p[11] << 24;
    *v2 = 0;
    *corder = 0;
    unsigned char *buf = NULL;
    uint64_t abs = 0;
    if ((e = chunk(w, it->addr - w->base + 16, size, it->addr, &buf, &abs)) != ST_OK)
        return e;
    e = messages(w, o, it, buf, (size_t)size, abs, 0, 0, k);
    free(buf);
    return e;
}

/* Version 2: "OHDR", version, flags, optional times and attribute phase change values, the
 * first chunk's size in 1-8 bytes, messages, checksum (section IV.A.1.b). */
static st_error header_v2(h5 *w, obj *o, const item *it, conts *k, int *v2, int *corder)
{
    unsigned char p[40]; /* the longest prefix: 6 + times 16 + phase change 4 + size 8 */
    uint64_t avail = w->size - it->addr < 40 ? w->size - it->addr : 40, size = 0;
    st_error e = rd(w, it->addr, p, (size_t)avail);
    if (e != ST_OK)
        return e;
    cur c = {p, (size_t)avail, 6, it->addr};
    unsigned flags = p[5];
    if (p[4] != 2 || (flags & 0xc0) || ((flags & 0x20) && skip(&c, 16)) ||
        ((flags & 0x10) && skip(&c, 4)) || get(&c, (size_t)1 << (flags & 3), &size))
        return note(w, ST_R_HDF5_MALFORMED, it->addr, 0, ST_E_UNSUPPORTED,
                    "object header at %llu has an unknown version or flags, or is truncated",
                    (unsigned long long)it->addr);
    *v2 = 1;
    *corder = (flags & 4) != 0;
    uint64_t total = 0, abs = 0;
    unsigned char *buf = NULL;
    if (st_add_u64(size, c.pos + 4, &total))
        return note(w, ST_R_HDF5_ADDRESS, it->addr, 0, ST_E_UNSUPPORTED,
                    "object header chunk size overflows");
    if ((e = chunk(w, it->addr - w->base, total, it->addr, &buf, &abs)) != ST_OK)
        return e;
    e = check_sum(w, buf, (size_t)total, abs, "an object header");
    if (e == ST_OK)
        e = messages(w, o, it, buf + c.pos, (size_t)size, abs + c.pos, 1, *corder, k);
    free(buf);
    return e;
}

/* The local heap of a symbol-table group: its data segment holds the link names. */
static st_error local_heap(h5 *w, uint64_t a, uint64_t at, uint64_t *seg, uint64_t *seg_len)
{
    unsigned char p[40];
    uint64_t abs = 0, dsize = 0, daddr = 0, hl = 8 + 2 * (uint64_t)w->sl + w->so;
    st_error e = locate(w, a, hl, at, "a local heap", &abs);
    if (e == ST_OK)
        e = rd(w, abs, p, (size_t)hl);
    if (e != ST_OK)
        return e;
    cur c = {p, (size_t)hl, 8, abs};
    (void)get(&c, w->sl, &dsize);
    (void)skip(&c, w->sl);
    (void)get_addr(w, &c, &daddr);
    if (memcmp(p, "HEAP", 4) != 0 || p[4] != 0)
        return note(w, ST_R_HDF5_MALFORMED, abs, hl, ST_E_UNSUPPORTED,
                    "no local heap (HEAP, version 0) at %llu", (unsigned long long)abs);
    *seg_len = dsize;
    return locate(w, daddr, dsize, abs, "a local heap's data segment", seg);
}

static st_error judge_object(h5 *w, obj *o, item *it)
{
    st_error e = ST_OK;
    if (o->symtab && (o->linfo || o->layout))
        return note(w, ST_R_HDF5_MALFORMED, it->addr, 0, ST_E_UNSUPPORTED,
                    "object header at %llu is both a symbol-table group and a new-style group "
                    "or dataset",
                    (unsigned long long)it->addr);
    if (o->symtab) {
        if (o->symtab > 1)
            return note(w, ST_R_HDF5_MALFORMED, it->addr, 0, ST_E_UNSUPPORTED,
                        "an object header holds two symbol table messages");
        uint64_t seg = 0, seg_len = 0, abs = 0;
        if ((e = local_heap(w, o->heap, it->addr, &seg, &seg_len)) != ST_OK ||
            (e = locate(w, o->btree, 8, it->addr, "a group B-tree", &abs)) != ST_OK)
            return e;
        item g = {IT_GBTREE, abs, -1, 0, seg, seg_len, it->depth, 0, NULL};
        return push(w, g, it->path);
    }
    if (o->layout)
        return judge_dataset(w, o, it, it->addr);
    return ST_OK;
}

static st_error walk_object(h5 *w, item *it)
{
    int s = seen(w, it->addr);
    char pb[256];
    if (s < 0)             /* GCOVR_EXCL_BR_LINE: malloc failure */
        return ST_E_NOMEM; /* GCOVR_EXCL_LINE: malloc failure */
    if (s > 0) {
        note(w, ST_R_HDF5_REUSED, it->addr, 0, ST_OK,
             "object %s at %llu was reached before (a second hard link or a cycle): not walked "
             "again",
             shown(it->path, pb, sizeof pb), (unsigned long long)it->addr);
        return ST_OK;
    }
    if (++w->objects > w->in->ctx->limits[ST_LIMIT_TENSORS])
        return note(w, ST_R_HDF5_LIMIT, it->addr, 0, ST_E_LIMIT,
                    "more than %llu objects (the tensors limit)",
                    (unsigned long long)w->in->ctx->limits[ST_LIMIT_TENSORS]);
    if (it->depth > w->in->ctx->limits[ST_LIMIT_TREE_DEPTH])
        return note(w, ST_R_HDF5_LIMIT, it->addr, 0, ST_E_LIMIT,
                    "groups nest deeper than %llu (the tree-depth limit)",
                    (unsigned long long)w->in->ctx->limits[ST_LIMIT_TREE_DEPTH]);
    unsigned char sig[4];
    st_error e = locate(w, it->addr - w->base, 16, it->addr, "an object header", &(uint64_t){0});
    if (e == ST_OK)
        e = rd(w, it->addr, sig, 4);
    if (e != ST_OK)
        return e;
    obj o;
    memset(&o, 0, sizeof o);
    conts *k = calloc(1, sizeof(*k));
    if (k == NULL)         /* GCOVR_EXCL_BR_LINE: malloc failure */
        return ST_E_NOMEM; /* GCOVR_EXCL_LINE: malloc failure */
    int v2 = 0, corder = 0;
    if (sig[0] == 1)
        e = header_v1(w, &o, it, k, &v2, &corder);
    else if (memcmp(sig, "OHDR", 4) == 0)
        e = header_v2(w, &o, it, k, &v2, &corder);
    else
        e = note(w, ST_R_HDF5_MALFORMED, it->addr, 0, ST_E_UNSUPPORTED,
                 "no object header (version 1, or OHDR) at %llu for %s",
                 (unsigned long long)it->addr, shown(it->path, pb, sizeof pb));
    if (e == ST_OK)
        e = continuations(w, &o, it, v2, corder, k);
    free(k);
    if (e == ST_OK)
        e = judge_object(w, &o, it);
    return e;
}

/* ---- version 1 B-trees, symbol table nodes (sections III.A.1, III.B, III.C) ------------------ */

static st_error btree_node(h5 *w, item *it)
{
    unsigned type = it->kind == IT_GBTREE ? 0 : 1;
    unsigned k2 = 2 * (type == 0 ? w->node_k : w->ck_k);
    uint64_t keysz = type == 0 ? w->sl : 8 + 8 * (uint64_t)it->ndims, hl = 8 + 2 * (uint64_t)w->so;
    uint64_t level = 0, used = 0, body = 0, abs = it->addr;
    unsigned char *buf = NULL;
    st_error e = visit_block(w, abs, "a B-tree node");
    if (e != ST_OK)
        return e;
    /* the node as libhdf5 sizes it: header, 2K children and 2K+1 keys (H5B__cache_deserialize) */
    body = hl + (uint64_t)k2 * (keysz + w->so) + keysz;
    if ((e = locate(w, abs - w->base, body, abs, "a B-tree node", &abs)) != ST_OK ||
        (e = rd_block(w, abs, body, &buf)) != ST_OK)
        return e;
    cur c = {buf, (size_t)body, 5, abs};
    (void)get(&c, 1, &level);
    (void)get(&c, 2, &used);
    (void)skip(&c, 2 * (uint64_t)w->so);
    if (memcmp(buf, "TREE", 4) != 0 || buf[4] != type || used > k2 ||
        (it->level >= 0 && level != (uint64_t)it->level)) {
        free(buf);
        return note(w, ST_R_HDF5_MALFORMED, abs, 0, ST_E_UNSUPPORTED,
                    "no %s B-tree node (TREE, type %u, level %d, at most %u entries) at %llu",
                    type ? "chunk" : "group", type, it->level, k2, (unsigned long long)abs);
    }
    for (uint64_t i = 0; i < used && e == ST_OK; i++) {
        uint64_t csize = 0, child = 0, cabs = 0, at = cur_off(&c);
        if (type == 1)
            (void)get(&c, 4, &csize);
        (void)skip(&c, keysz - (type == 1 ? 4 : 0));
        (void)get_addr(w, &c, &child);
        if (level > 0) {
            if ((e = locate(w, child, 8, at, "a B-tree child node", &cabs)) == ST_OK) {
                item n = *it;
                n.addr = cabs;
                n.level = (int)level - 1;
                e = push(w, n, it->path);
            }
        } else if (type == 0) {
            if ((e = locate(w, child, 8, at, "a symbol table node", &cabs)) == ST_OK) {
                item n = *it;
                n.kind = IT_SNOD;
                n.addr = cabs;
                e = push(w, n, it->path);
            }
        } else {
            char pb[256];
            if (csize == 0 || !inside(w, child, csize, &cabs))
                e = note(w, ST_R_HDF5_DATA_RANGE, at, 0, ST_E_UNSUPPORTED,
                         "a chunk of dataset %s (%llu bytes at %llu) lies outside the file",
                         shown(it->path, pb, sizeof pb), (unsigned long long)csize,
                         (unsigned long long)child);
        }
    }
    free(buf);
    return e;
}

/* A link name in a local heap, up to *len bytes: read 256 bytes, then 4 times more while no
 * NUL ends it. Every entry may name the same 64 KiB string, so what is read past the first 256
 * bytes (at most about 5 times the name's length) is counted: past 6 times the file's size
 * plus 1 MiB the walk stops, could not check (ST884). */
static st_error read_name(h5 *w, uint64_t abs, size_t *len, unsigned char **out)
{
    size_t step = 256, n;
    st_error e;
    for (;;) {
        n = *len < step ? *len : step;
        if (step > 256) {
            uint64_t cap = w->size * 6 + (1u << 20);
            if (w->names > cap - n) /* n <= 64 KiB < cap */
                return note(w, ST_R_HDF5_LIMIT, abs, n, ST_E_LIMIT,
                            "link names read add up to more than six times the file's size "
                            "(entries naming the same long string): could not check");
            w->names += n;
        }
        e = rd_alloc(w, abs, n, out);
        if (e != ST_OK || n == *len || memchr(*out, 0, n) != NULL)
            break;
        free(*out);
        *out = NULL;
        step *= 4;
    }
    *len = n;
    return e;
}

/* A symbol table node: "SNOD", version 1, reserved, entry count, then entries of link name
 * offset, object header address, cache type, reserved and 16 scratch bytes. */
static st_error snod(h5 *w, item *it)
{
    uint64_t esz = 2 * (uint64_t)w->so + 24, body = 0, n = 0, abs = it->addr;
    unsigned char *buf = NULL;
    st_error e = visit_block(w, abs, "a symbol table node");
    if (e != ST_OK)
        return e;
    body = 8 + 2 * (uint64_t)w->leaf_k * esz;
    if ((e = locate(w, abs - w->base, body, abs, "a symbol table node", &abs)) != ST_OK ||
        (e = rd_block(w, abs, body, &buf)) != ST_OK)
        return e;
    cur c = {buf, (size_t)body, 6, abs};
    (void)get(&c, 2, &n);
    if (memcmp(buf, "SNOD", 4) != 0 || buf[4] != 1 || n > 2 * (uint64_t)w->leaf_k) {
        free(buf);
        return note(w, ST_R_HDF5_MALFORMED, abs, 0, ST_E_UNSUPPORTED,
                    "no symbol table node (SNOD, version 1, at most %u entries) at %llu",
                    2 * w->leaf_k, (unsigned long long)abs);
    }
    for (uint64_t i = 0; i < n && e == ST_OK; i++) {
        uint64_t name_off = 0, oh = 0, ctype = 0, at = cur_off(&c);
        (void)get(&c, w->so, &name_off);
        (void)get_addr(w, &c, &oh);
        (void)get(&c, 4, &ctype);
        (void)skip(&c, 20);
        if (ctype == 2)
            continue; /* a soft link (its value in the scratch space) */
        if (name_off >= it->heap_len) {
            e = note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                     "a link name offset (%llu) lies outside the local heap (%llu bytes)",
                     (unsigned long long)name_off, (unsigned long long)it->heap_len);
            break;
        }
        uint64_t max = it->heap_len - name_off;
        size_t want = (size_t)(max < H5_NAME_MAX ? max : H5_NAME_MAX);
        unsigned char *name = NULL;
        if ((e = read_name(w, it->heap + name_off, &want, &name)) != ST_OK)
            break;
        unsigned char *nul = memchr(name, 0, want);
        if (nul == NULL || nul == name)
            e = note(w, ST_R_HDF5_MALFORMED, at, 0, ST_E_UNSUPPORTED,
                     "a link name in the local heap is empty or not NUL-terminated");
        else
            e = push_child(w, it, oh, name, (size_t)(nul - name), at);
        free(name);
    }
    free(buf);
    return e;
}

/* ---- superblock (section II.A) --------------------------------------------------------------- */

/* Sizes of offsets and lengths libhdf5 writes: 2, 4 or 8 bytes (bits 2, 4, 8 of 0x114). */
static int size_ok(unsigned size)
{
    return size < 9 && ((0x114u >> size) & 1u);
}

/* Reads the superblock at absolute offset at; on success root is the root object header's
 * absolute address and eof the end-of-file address it records (relative). */
static st_error superblock(h5 *w, uint64_t at, uint64_t *root, uint64_t *eof)
{
    unsigned char p[128] = {0};
    size_t n = (size_t)(w->size - at < sizeof p ? w->size - at : sizeof p);
    st_error e = rd(w, at, p, n);
    if (e != ST_OK)
        return e;
    w->base = at; /* libhdf5 moves the base address to the signature (H5F__super_read) */
    w->ck_k = H5_MAX_ABSENT_K;
    unsigned ver = p[8];
    uint64_t oh = H5_UNDEF, e64 = H5_UNDEF, ext = H5_UNDEF, base = 0, fs = 0, drv = 0, name = 0;
    if (n < 28)
        return note(w, ST_R_HDF5_SUPERBLOCK, at, n, ST_E_UNSUPPORTED,
                    "the superblock is truncated (%zu bytes)", n);
    if (ver > 3)
        return note(w, ST_R_HDF5_SUPERBLOCK, at, 9, ST_E_UNSUPPORTED,
                    "superblock version %u is not one this reader handles (0-3): could not check",
                    ver);
    if (ver <= 1) {
        w->so = p[13];
        w->sl = p[14];
        w->leaf_k = (unsigned)(p[16] | p[17] << 8);
        w->node_k = (unsigned)(p[18] | p[19] << 8);
        if (ver == 1)
            w->ck_k = (unsigned)(p[24] | p[25] << 8);
    } else {
        w->so = p[9];
        w->sl = p[10];
        w->leaf_k = 4; /* defaults: no symbol-table groups are written by these versions */
        w->node_k = 16;
    }
    if (!size_ok(w->so) || !size_ok(w->sl) || w->leaf_k == 0 || w->node_k == 0 || w->ck_k == 0)
        return note(w, ST_R_HDF5_SUPERBLOCK, at, n, ST_E_UNSUPPORTED,
                    "superblock sizes (offsets %u, lengths %u, B-tree K %u/%u/%u) are not ones "
                    "libhdf5 writes",
                    w->so, w->sl, w->leaf_k, w->node_k, w->ck_k);
    /* v0/v1: four addresses and the root's symbol table entry (two addresses, 24 bytes); v2/v3:
     * four addresses and the checksum */
    size_t start = ver == 1   ? 28
                   : ver == 0 ? 24
                              : 12,
           need = start + (ver <= 1 ? 6u * w->so + 24u : 4u * w->so + 4u);
    if (n < need)
        return note(w, ST_R_HDF5_SUPERBLOCK, at, n, ST_E_UNSUPPORTED,
                    "the superblock is truncated (%zu bytes, %zu needed)", n, need);
    cur c = {p, n, start, at};
    if (ver <= 1) {
        (void)get_addr(w, &c, &base);
        (void)get_addr(w, &c, &fs);
        (void)get_addr(w, &c, &e64);
        (void)get_addr(w, &c, &drv);
        (void)get_addr(w, &c, &name);
        (void)get_addr(w, &c, &oh);
        if (drv != H5_UNDEF)
            return note(w, ST_R_HDF5_UNSUPPORTED, at, n, ST_E_UNSUPPORTED,
                        "the superblock names a driver information block (multi or family "
                        "files): could not check");
    } else {
        (void)get_addr(w, &c, &base);
        (void)get_addr(w, &c, &ext);
        (void)get_addr(w, &c, &e64);
        (void)get_addr(w, &c, &oh);
        if ((e = check_sum(w, p, need, at, "the superblock")) != ST_OK)
            return e;
        if (ext != H5_UNDEF)
            return note(w, ST_R_HDF5_UNSUPPORTED, at, need, ST_E_UNSUPPORTED,
                        "the superblock has an extension (shared messages, file space or "
                        "driver settings): could not check");
    }
    /* libhdf5 compares the recorded end of file, moved with the superblock when the stored base
     * address is not where the signature was found, with the file's size (H5F__super_read:
     * "truncated file"); the unsigned arithmetic wraps as libhdf5's does */
    *eof = e64 == H5_UNDEF ? H5_UNDEF : e64 - base + at;
    return locate(w, oh, 16, at, "the root group's object header", root);
}

/* libhdf5 looks for the signature at 0 and at every power of two from 512 (H5FD_locate_signature)*/
static st_error find_superblock(h5 *w, uint64_t *at)
{
    for (uint64_t off = 0; off + 8 <= w->size; off = off ? off * 2 : 512) {
        unsigned char sig[8];
        st_error e = rd(w, off, sig, 8);
        if (e != ST_OK)
            return e;
        if (memcmp(sig, "\x89HDF\r\n\x1a\n", 8) == 0) {
            *at = off;
            return ST_OK;
        }
    }
    return note(w, ST_R_HDF5_SUPERBLOCK, 0, 0, ST_E_UNSUPPORTED,
                "no HDF5 signature at offset 0 or at a power of two from 512");
}

static st_error run(h5 *w)
{
    uint64_t at = 0, root = 0, eof = 0;
    st_error e = find_superblock(w, &at);
    if (e == ST_OK)
        e = superblock(w, at, &root, &eof);
    if (e != ST_OK)
        return e;
    if (eof != H5_UNDEF && eof > w->size)
        return note(w, ST_R_HDF5_ADDRESS, at, 0, ST_E_UNSUPPORTED,
                    "the superblock's end-of-file address (%llu) lies past the file's end (%llu "
                    "bytes): a truncated file libhdf5 refuses",
                    (unsigned long long)eof, (unsigned long long)w->size);
    item r = {IT_OBJ, root, -1, 0, 0, 0, 0, 1, NULL};
    if ((e = push(w, r, "")) != ST_OK) /* GCOVR_EXCL_BR_LINE: push fails only on malloc */
        return e;
    while (w->n > 0 && e == ST_OK) {
        item it = w->stack[--w->n];
        switch (it.kind) {
        case IT_OBJ:
            e = walk_object(w, &it);
            break;
        case IT_SNOD:
            e = snod(w, &it);
            break;
        default:
            e = btree_node(w, &it);
            break;
        }
        free(it.path);
    }
    if (e == ST_OK && w->filtered)
        note(w, ST_R_HDF5_FILTERS, 0, 0, ST_OK,
             "%llu chunked dataset%s filters (%s); their data is not decompressed",
             (unsigned long long)w->filtered, w->filtered == 1 ? " uses" : "s use", w->filters);
    return e;
}

st_error st_hdf5_check_src(st_input *in, const st_src *src, const char *member)
{
    h5 *w = calloc(1, sizeof(*w));
    if (w == NULL)         /* GCOVR_EXCL_BR_LINE: malloc failure */
        return ST_E_NOMEM; /* GCOVR_EXCL_LINE: malloc failure */
    w->in = in;
    w->r = in->report;
    w->src = src;
    w->member = member;
    w->size = src->size;
    st_error e = run(w);
    for (size_t i = 0; i < w->n; i++)
        free(w->stack[i].path);
    free(w->stack);
    free(w->seen);
    free(w);
    return e;
}

/* Where libhdf5 looks (H5FD_locate_signature: 0, then every power of two from 512 up to the
 * end): the head, then the rest of a local file with 8-byte reads (h5py.is_hdf5, which tf.keras
 * 2's load_model routes by, finds a file behind a user block of any size, so a pickle or zip
 * in front of one is a polyglot; formats.c checks HDF5 as a second view). A remote file is
 * searched past the head only when named .h5/.hdf5 (Keras 3's routing), each read being a
 * request. */
int st_hdf5_sniff(const st_input *in)
{
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    uint64_t off = 0;
    for (; off + 8 <= in->head_len; off = off ? off * 2 : 512)
        if (memcmp(in->head + off, sig, 8) == 0)
            return 85;
    int h5_name = st_name_has_suffix(in->name, ".h5") || st_name_has_suffix(in->name, ".hdf5");
    if (in->src == NULL || (in->src->fd == ST_SRC_CALLBACK && !h5_name))
        return 0;
    for (; off >= 512 && off <= in->src->size && in->src->size - off >= 8; off *= 2) {
        unsigned char b[8];
        if (st_src_read(in->src, off, b, 8) == ST_OK && memcmp(b, sig, 8) == 0)
            return 85;
    }
    return 0;
}

st_error st_hdf5_check(st_input *in)
{
    in->report->format = "hdf5";
    return st_hdf5_check_src(in, in->src, NULL);
}
