/*
 * index.c - sharded checkpoint indexes (model.safetensors.index.json,
 * pytorch_model.bin.index.json, and their variants such as model.safetensors.index.fp16.json).
 *
 *   { "metadata": { "total_size": N, ... }, "weight_map": { "tensor": "shard file", ... } }
 *
 * The index is hostile input like any model file, so it goes through the strict scanner
 * (duplicate keys, UTF-8, grammar). Shard names must be plain names in the index's folder.
 * Every shard is checked with the full scanner, like a file given alone (identification, its
 * format's checks and every other view: a pickle shard in pytorch_model.bin.index.json is
 * judged as the pickle it is), and fails the index (ST618) when it fails. Each shard file
 * (inode) is opened and checked once however many names point at it: a Hugging Face cache
 * links every snapshot name to a blob, and an index naming 200 links to one large shard must
 * not parse it 200 times. Safetensors shards are also listed through the validator's tensor
 * hook: every tensor the index names must be in exactly the shard it names, no tensor may be
 * in two shard files, a shard tensor missing from the index is a warning, and
 * metadata.total_size must be the sum of the tensors' byte sizes (transformers does not check
 * it).
 *
 * Identification: loaders find an index by its name (transformers modeling_utils.py:
 * SAFE_WEIGHTS_INDEX_NAME, WEIGHTS_INDEX_NAME, _add_variant) and json.load it, which takes any
 * amount of leading whitespace; accelerate's load_checkpoint_in_model takes an index of any
 * .json name. So a file named like an index whose first non-whitespace byte (read as far as the
 * header_bytes limit, not a fixed window) opens an object is an index, and so is any *.json
 * whose top-level object has a "weight_map" key (found by the strict scanner, bounded by the
 * same limit).
 *
 * Unlike other format modules this one opens files: plain names, beneath the folder
 * descriptor the scanner hands over (the folder of the name the index was given by, so in a
 * cache the snapshot folder, not the blob's), following the shard's own symlink (the Hugging
 * Face cache links snapshots to blobs; where such a link leads is judged by the folder walk).
 * A remote index (a URL: no folder descriptor) opens its shards by the same plain names through
 * st_input.open_sibling (src/fetch/remote.c: fetched from the index URL's folder).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/checked.h"
#include "../core/escape.h"
#include "../json/json.h"
#include "format.h"

typedef struct {
    char *name; /* tensor name */
    size_t len;
    uint32_t shard; /* listed: index into shards; held: index into files */
    uint64_t nbytes;
} tname;

typedef struct {
    tname *v;
    size_t n, cap;
} tlist;

#define NO_FILE UINT32_MAX

/* One shard file: every shard name that opens the same inode shares it. */
typedef struct {
    dev_t dev;
    ino_t ino;
    uint32_t shard; /* the first shard name (sorted) that opens it: the one checked */
    uint32_t names; /* shard names that open it */
    int listed;     /* checked as safetensors: its tensors are in held */
} sfile;

typedef struct {
    st_input *in;
    st_report *r;
    char **shards;     /* distinct shard names, sorted */
    uint32_t *file_of; /* per shard: index into files, or NO_FILE (missing) */
    size_t n_shards;
    sfile *files;
    size_t n_files;
    tlist listed; /* weight_map entries */
    tlist refs;   /* while parsing: each entry's shard name, .shard = the entry's index */
    tlist held;   /* tensors found in safetensors shard files, .shard = the file */
    uint32_t cur; /* file being listed */
    int has_total, nomem;
    uint64_t total;
} idx;

static int tl_add(idx *x, tlist *l, const char *name, size_t len, uint32_t shard, uint64_t nb)
{
    /* GCOVR_EXCL_START: allocation failure */
    if (st_grow(&l->v, &l->cap, l->n, sizeof(*l->v), 64) != 0)
        return x->nomem = 1, -1;
    char *c = malloc(len + 1);
    if (c == NULL)
        return x->nomem = 1, -1;
    /* GCOVR_EXCL_STOP */
    memcpy(c, name, len);
    c[len] = '\0';
    l->v[l->n++] = (tname){c, len, shard, nb};
    return 0;
}

static void tl_free(tlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
}

static int by_name(const void *a, const void *b)
{
    const tname *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->name, y->name, n);
    if (c != 0)
        return c;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return (x->shard > y->shard) - (x->shard < y->shard);
}

static const char *shown(const char *s, size_t len, char *buf, size_t size)
{
    return st_escape(s, len, buf, size, 100);
}

/* ---- the index document ------------------------------------------------------------------ */

/* Gives every weight_map entry its shard id: the shard names, sorted, deduplicated. Sorting
 * (not a search per entry) keeps an index naming a million distinct shards linear-log. */
static int assign_shards(idx *x)
{
    if (x->refs.n > 1)
        qsort(x->refs.v, x->refs.n, sizeof(tname), by_name);
    /* GCOVR_EXCL_START: allocation failure */
    if ((x->shards = malloc((x->refs.n ? x->refs.n : 1) * sizeof(*x->shards))) == NULL)
        return x->nomem = 1, -1;
    /* GCOVR_EXCL_STOP */
    for (size_t i = 0; i < x->refs.n; i++) {
        tname *r = &x->refs.v[i];
        const char *last = x->n_shards ? x->shards[x->n_shards - 1] : NULL;
        if (last == NULL || strlen(last) != r->len || memcmp(last, r->name, r->len) != 0) {
            x->shards[x->n_shards++] = r->name; /* taken over from refs */
            r->name = NULL;
        }
        x->listed.v[r->shard].shard = (uint32_t)(x->n_shards - 1);
    }
    return 0;
}

/* A shard name is a plain file name: no folder part, no "." or "..", no NUL, not empty. */
static int plain_name(const st_json_tok *t)
{
    if (t->str_len == 0 || (t->flags & ST_JSON_F_NUL))
        return 0;
    if (memchr(t->str, '/', t->str_len) || memchr(t->str, '\\', t->str_len))
        return 0;
    return !(t->str_len <= 2 && memcmp(t->str, "..", t->str_len) == 0);
}

/* A well-formed token of the wrong kind. Scanner errors are not reported here: the token is
 * then unset, and parse_index reports the scanner's own offset and reason. */
static int bad_shape(idx *x, const st_json_tok *t, const char *what)
{
    st_report_add(x->r, ST_R_INDEX_INVALID, t->off, t->len, "%s", what);
    return -1;
}

/* Reads the next token, which must open an object. */
static int open_object(idx *x, st_json *j, const char *what)
{
    st_json_tok t;
    if (st_json_next(j, &t) != ST_JSON_OK)
        return -1;
    return t.type == ST_JT_OBJ_BEGIN ? 0 : bad_shape(x, &t, what);
}

static int parse_weight_map(idx *x, st_json *j)
{
    st_json_tok k, v;
    char a[128], b[128];
    if (open_object(x, j, "weight_map is not an object") != 0)
        return -1;
    for (;;) {
        if (st_json_next(j, &k) != ST_JSON_OK)
            return -1;
        if (k.type == ST_JT_OBJ_END)
            return 0;
        char *name = malloc(k.str_len + 1);
        size_t len = k.str_len;
        if (name == NULL)            /* GCOVR_EXCL_BR_LINE: allocation failure */
            return x->nomem = 1, -1; /* GCOVR_EXCL_LINE: allocation failure */
        memcpy(name, k.str, len);    /* the scanner may reuse key storage */
        if (st_json_next(j, &v) != ST_JSON_OK) {
            free(name);
            return -1;
        }
        int rc = 0;
        if (v.type != ST_JT_STRING)
            rc = bad_shape(x, &v, "a weight_map value is not a file name string");
        else if (!plain_name(&v))
            st_report_add(x->r, ST_R_INDEX_SHARD_NAME, v.off, v.len,
                          "tensor \"%s\" names shard \"%s\", not a plain file name in this folder",
                          shown(name, len, a, sizeof(a)), shown(v.str, v.str_len, b, sizeof(b)));
        else                                               /* (fails on allocation failure only) */
            rc = tl_add(x, &x->listed, name, len, 0, 0) || /* GCOVR_EXCL_BR_LINE */
                 tl_add(x, &x->refs, v.str, v.str_len, (uint32_t)(x->listed.n - 1), 0);
        free(name);
        if (rc != 0)
            return -1;
    }
}

static int parse_metadata(idx *x, st_json *j)
{
    st_json_tok k, v;
    if (open_object(x, j, "metadata is not an object") != 0)
        return -1;
    for (;;) {
        if (st_json_next(j, &k) != ST_JSON_OK)
            return -1;
        if (k.type == ST_JT_OBJ_END)
            return 0;
        int total = k.str_len == 10 && memcmp(k.str, "total_size", 10) == 0;
        if (st_json_next(j, &v) != ST_JSON_OK)
            return -1;
        if (total && !(v.type == ST_JT_NUMBER && (v.flags & ST_JSON_F_UINT)))
            return bad_shape(x, &v, "metadata.total_size is not a non-negative integer");
        if (total) {
            x->has_total = 1;
            x->total = v.u64;
        } else if (st_json_skip(j, &v) != ST_JSON_OK)
            return -1;
    }
}

static int parse_index(idx *x, const unsigned char *buf, size_t len)
{
    st_json *j = st_json_new(buf, len, (unsigned)x->in->ctx->limits[ST_LIMIT_JSON_DEPTH]);
    st_json_tok t;
    int rc = -1, seen_map = 0;
    if (j == NULL)               /* GCOVR_EXCL_BR_LINE: allocation failure */
        return x->nomem = 1, -1; /* GCOVR_EXCL_LINE: allocation failure */
    /* st_index_sniff saw '{' first, so the first token opens an object: defence only */
    if (open_object(x, j, "the index is not a JSON object") != 0) /* GCOVR_EXCL_BR_LINE */
        goto out;                                                 /* GCOVR_EXCL_LINE */
    for (;;) {
        if (st_json_next(j, &t) != ST_JSON_OK)
            goto out;
        if (t.type == ST_JT_OBJ_END)
            break;
        if (t.str_len == 10 && memcmp(t.str, "weight_map", 10) == 0) {
            seen_map = 1;
            if (parse_weight_map(x, j) != 0)
                goto out;
        } else if (t.str_len == 8 && memcmp(t.str, "metadata", 8) == 0) {
            if (parse_metadata(x, j) != 0)
                goto out;
        } else if (st_json_next(j, &t) != ST_JSON_OK || st_json_skip(j, &t) != ST_JSON_OK)
            goto out; /* other keys: loaders ignore them */
    }
    /* after the top-level object the scanner yields END or an error: the type test is defence */
    if (st_json_next(j, &t) != ST_JSON_OK || t.type != ST_JT_END) /* GCOVR_EXCL_BR_LINE */
        goto out;
    if (!seen_map) {
        st_report_add(x->r, ST_R_INDEX_INVALID, 0, len, "the index has no weight_map");
        goto out;
    }
    rc = 0;
out:
    /* GCOVR_EXCL_BR_START: nomem is set on allocation failure only */
    if (rc != 0 && !x->nomem && st_report_count_severity(x->r, ST_SEV_ERROR) == 0)
        /* GCOVR_EXCL_BR_STOP */
        st_report_add(x->r, ST_R_INDEX_INVALID, st_json_error_offset(j), 0, "not strict JSON: %s",
                      st_json_error_detail(j));
    st_json_free(j);
    return rc;
}

/* ---- the shards -------------------------------------------------------------------------- */

static void on_tensor(void *arg, const char *name, size_t len, uint64_t nbytes)
{
    idx *x = arg;
    tl_add(x, &x->held, name, len, x->cur, nbytes);
}

/* Why a shard failed, for the message: its format, verdict and first few finding ids. */
static void shard_summary(const st_report *s, char *buf, size_t size)
{
    size_t n = st_report_finding_count(s), used;
    /* GCOVR_EXCL_BR_START: a report's format is never NULL ("unknown" from st_report_new) */
    snprintf(buf, size, "%s, %s", st_report_format(s) ? st_report_format(s) : "unknown",
             st_verdict_name(st_report_verdict(s)));
    /* GCOVR_EXCL_BR_STOP */
    for (size_t i = 0, shown_ids = 0; i < n && shown_ids < 6; i++) {
        const st_finding *f = st_report_finding(s, i);
        if (f->severity < ST_SEV_WARNING)
            continue;
        used = strlen(buf);
        snprintf(buf + used, size - used, "%s%s", shown_ids ? " " : ": ", f->id);
        shown_ids++;
    }
}

/* Reads one shard's ends and checks it with the full scanner into scratch. */
static void scan_shard(idx *x, uint32_t f, const st_src *src, st_report *scratch)
{
    const char *name = x->shards[x->files[f].shard];
    unsigned char head[ST_HEAD_BYTES], tail[ST_HEAD_BYTES];
    uint64_t size = src->size;
    size_t n = size < sizeof(head) ? (size_t)size : sizeof(head);
    st_input in = {.ctx = x->in->ctx,
                   .report = scratch,
                   .src = src,
                   .head = head,
                   .head_len = n,
                   .tail = tail,
                   .tail_len = n,
                   .name = name,
                   .depth = x->in->depth + 1, /* no folder: a shard is never read as an index */
                   .on_tensor = on_tensor,
                   .tensor_arg = x};
    x->cur = f;
    if (st_src_read(src, 0, head, n) != ST_OK || st_src_read(src, size - n, tail, n) != ST_OK) {
        st_report_add(scratch, ST_R_IO, 0, 0, "could not read the shard");
        st_report_fail(scratch, ST_E_IO);
    } else
        st_scan_input(&in);
}

/* Checks one shard (src, or NULL when it could not be opened: scratch says why) with the full
 * scanner into a scratch report (its own findings belong to its own report when it is checked
 * as a file); its safetensors tensors are listed through the tensor hook. */
static void check_src(idx *x, uint32_t f, const st_src *src, st_report *scratch)
{
    char a[128], why[160];
    const char *name = x->shards[x->files[f].shard];
    if (src != NULL)
        scan_shard(x, f, src, scratch);
    /* GCOVR_EXCL_BR_START: the format is never NULL (defence only) */
    x->files[f].listed =
        st_report_format(scratch) != NULL && strcmp(st_report_format(scratch), "safetensors") == 0;
    /* GCOVR_EXCL_BR_STOP */
    if (st_report_verdict(scratch) != ST_VERDICT_PASS) {
        shard_summary(scratch, why, sizeof(why));
        st_report_add(x->r, ST_R_INDEX_SHARD_INVALID, 0, 0,
                      "shard \"%s\"%s fails its own checks (%s; check it to see why)",
                      shown(name, strlen(name), a, sizeof(a)),
                      x->files[f].names > 1 ? " (and the other names linked to it)" : "", why);
    }
}

static void check_file(idx *x, uint32_t f, int fd, uint64_t size)
{
    st_report *scratch = st_report_new(x->in->ctx, x->shards[x->files[f].shard]);
    /* GCOVR_EXCL_START: allocation failure */
    if (scratch == NULL) {
        x->nomem = 1;
        return;
    }
    /* GCOVR_EXCL_STOP */
    st_src src = {fd, NULL, size};
    check_src(x, f, &src, scratch);
    st_report_free(scratch);
}

typedef struct {
    dev_t dev;
    ino_t ino;
    uint32_t shard;
} inode_ref;

static int by_inode(const void *a, const void *b)
{
    const inode_ref *x = a, *y = b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    return (x->shard > y->shard) - (x->shard < y->shard);
}

/* Opens every shard name once (missing ones are findings) and groups the names by inode:
 * sorted, so that many names stay linear-log. */
static int find_files(idx *x, int dirfd, inode_ref *refs, size_t *n_refs)
{
    char a[128];
    *n_refs = 0;
    for (uint32_t i = 0; i < x->n_shards; i++) {
        const char *s = x->shards[i];
        int fd = openat(dirfd, s, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        int err = errno;
        struct stat st;
        x->file_of[i] = NO_FILE;
        /* fstat of an open descriptor does not fail: that test is defence */
        if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) /* GCOVR_EXCL_BR_LINE */
            st_report_add(x->r, ST_R_INDEX_SHARD_MISSING, 0, 0, "shard \"%s\" %s",
                          shown(s, strlen(s), a, sizeof(a)),
                          fd < 0 && err == ENOENT ? "does not exist in the index's folder"
                                                  : "is not a readable regular file");
        else
            refs[(*n_refs)++] = (inode_ref){st.st_dev, st.st_ino, i};
        if (fd >= 0)
            close(fd);
    }
    if (*n_refs > 1)
        qsort(refs, *n_refs, sizeof(*refs), by_inode);
    for (size_t k = 0; k < *n_refs; k++) {
        if (k == 0 || refs[k].dev != refs[k - 1].dev || refs[k].ino != refs[k - 1].ino)
            x->files[x->n_files++] = (sfile){refs[k].dev, refs[k].ino, refs[k].shard, 0, 0};
        x->files[x->n_files - 1].names++;
        x->file_of[refs[k].shard] = (uint32_t)(x->n_files - 1);
    }
    return 0;
}

static void open_shards(idx *x, int dirfd)
{
    char a[128];
    size_t n = x->n_shards ? x->n_shards : 1, n_refs;
    inode_ref *refs = malloc(n * sizeof(*refs));
    x->file_of = malloc(n * sizeof(*x->file_of));
    x->files = malloc(n * sizeof(*x->files));
    /* GCOVR_EXCL_START: allocation failure */
    if (refs == NULL || x->file_of == NULL || x->files == NULL) {
        free(refs);
        x->nomem = 1;
        return;
    }
    /* GCOVR_EXCL_STOP */
    find_files(x, dirfd, refs, &n_refs);
    free(refs);
    for (uint32_t f = 0; f < x->n_files && !x->nomem; f++) { /* GCOVR_EXCL_BR_LINE: nomem */
        const char *s = x->shards[x->files[f].shard];
        int fd = openat(dirfd, s, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        struct stat st;
        if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_dev == x->files[f].dev &&
            st.st_ino == x->files[f].ino)
            check_file(x, f, fd, (uint64_t)st.st_size);
        else /* replaced between the two opens: what was grouped is not what would be read */
            st_report_add(x->r, ST_R_INDEX_SHARD_INVALID, 0, 0,
                          "shard \"%s\" changed while the index was checked",
                          shown(s, strlen(s), a, sizeof(a)));
        if (fd >= 0)
            close(fd);
    }
}

/* A remote index (no folder descriptor): each shard name is its own file, fetched from the
 * index's folder (names are distinct, and a server has no inodes to share). A shard the server
 * says does not exist is missing; one that cannot be fetched fails like a shard that cannot be
 * read (its fetch findings summarised). */
static void fetch_shards(idx *x)
{
    char a[128];
    size_t n = x->n_shards ? x->n_shards : 1;
    x->file_of = malloc(n * sizeof(*x->file_of));
    x->files = malloc(n * sizeof(*x->files));
    /* GCOVR_EXCL_START: allocation failure */
    if (x->file_of == NULL || x->files == NULL) {
        x->nomem = 1;
        return;
    }
    /* GCOVR_EXCL_STOP */
    for (uint32_t i = 0; i < x->n_shards && !x->nomem; i++) { /* GCOVR_EXCL_BR_LINE: nomem */
        const char *s = x->shards[i];
        st_report *scratch = st_report_new(x->in->ctx, s);
        void *h = NULL;
        st_src src;
        x->file_of[i] = NO_FILE;
        if (scratch == NULL) { /* GCOVR_EXCL_BR_LINE: allocation failure */
            x->nomem = 1;      /* GCOVR_EXCL_LINE: allocation failure */
            break;             /* GCOVR_EXCL_LINE: allocation failure */
        }
        st_error e = x->in->open_sibling(x->in->sibling_arg, s, scratch, &src, &h);
        if (e == ST_E_NOTFILE)
            st_report_add(x->r, ST_R_INDEX_SHARD_MISSING, 0, 0,
                          "shard \"%s\" does not exist in the index's folder",
                          shown(s, strlen(s), a, sizeof(a)));
        else {
            uint32_t f = (uint32_t)x->n_files++;
            x->files[f] = (sfile){0, 0, i, 1, 0};
            x->file_of[i] = f;
            if (e != ST_OK)
                st_report_fail(scratch, e);
            check_src(x, f, e == ST_OK ? &src : NULL, scratch);
        }
        x->in->close_sibling(x->in->sibling_arg, h);
        st_report_free(scratch);
    }
}

/* A shard whose file was read and listed as safetensors (a missing one is reported as such). */
static int is_listed(const idx *x, uint32_t shard)
{
    uint32_t f = x->file_of[shard];
    return f != NO_FILE && x->files[f].listed;
}

/* The name a shard file is reported by: the first shard name that opens it. */
static const char *file_name(const idx *x, uint32_t f)
{
    return x->shards[x->files[f].shard];
}

/* Finds name in the sorted held list; returns the first match or NULL. */
static const tname *find_held(const idx *x, const tname *want)
{
    size_t lo = 0, hi = x->held.n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        tname key = *want;
        key.shard = 0;
        if (by_name(&x->held.v[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    const tname *h = lo < x->held.n ? &x->held.v[lo] : NULL;
    return h && h->len == want->len && memcmp(h->name, want->name, want->len) == 0 ? h : NULL;
}

/* Tensors in two shard files (names linking to one file are one shard), and total_size. */
static void compare_held(idx *x, uint64_t *sum, int *sum_ok)
{
    char a[128], b[128], c[128];
    *sum = 0;
    *sum_ok = 1;
    for (size_t i = 0; i < x->held.n; i++) {
        const tname *h = &x->held.v[i];
        const tname *prev = i > 0 ? &x->held.v[i - 1] : NULL;
        if (prev && prev->shard != h->shard && prev->len == h->len &&
            memcmp(prev->name, h->name, h->len) == 0) {
            const char *p = file_name(x, prev->shard), *q = file_name(x, h->shard);
            st_report_add(x->r, ST_R_INDEX_TENSOR_TWICE, 0, 0,
                          "tensor \"%s\" is in shard \"%s\" and in shard \"%s\"",
                          shown(h->name, h->len, a, sizeof(a)), shown(p, strlen(p), b, sizeof(b)),
                          shown(q, strlen(q), c, sizeof(c)));
        }
        if (h->nbytes == UINT64_MAX || st_add_u64(*sum, h->nbytes, sum))
            *sum_ok = 0;
    }
}

static void compare(idx *x)
{
    char a[128], b[128];
    if (x->held.n > 1) /* qsort(NULL, 0, ...) is undefined */
        qsort(x->held.v, x->held.n, sizeof(tname), by_name);
    if (x->listed.n > 1)
        qsort(x->listed.v, x->listed.n, sizeof(tname), by_name);
    uint64_t sum;
    int sum_ok;
    compare_held(x, &sum, &sum_ok);
    for (size_t i = 0; i < x->listed.n; i++) {
        const tname *l = &x->listed.v[i];
        if (!is_listed(x, l->shard))
            continue;
        uint32_t f = x->file_of[l->shard];
        const tname *h = find_held(x, l);
        int found = 0;
        for (; h && h < x->held.v + x->held.n && h->len == l->len &&
               memcmp(h->name, l->name, l->len) == 0;
             h++)
            found |= h->shard == f;
        if (!found)
            st_report_add(x->r, ST_R_INDEX_TENSOR_MISSING, 0, 0,
                          "the index puts tensor \"%s\" in shard \"%s\", which does not hold it",
                          shown(l->name, l->len, a, sizeof(a)),
                          shown(x->shards[l->shard], strlen(x->shards[l->shard]), b, sizeof(b)));
    }
    /* shard tensors the index does not list: search the sorted listed names */
    for (size_t i = 0, k = 0; i < x->held.n; i++) {
        const tname *h = &x->held.v[i];
        while (k < x->listed.n && by_name(&x->listed.v[k], &(tname){h->name, h->len, 0, 0}) < 0)
            k++;
        if (k >= x->listed.n || x->listed.v[k].len != h->len ||
            memcmp(x->listed.v[k].name, h->name, h->len) != 0) {
            const char *p = file_name(x, h->shard);
            st_report_add(x->r, ST_R_INDEX_TENSOR_UNLISTED, 0, 0,
                          "shard \"%s\" holds tensor \"%s\", which the index does not list",
                          shown(p, strlen(p), a, sizeof(a)), shown(h->name, h->len, b, sizeof(b)));
        }
    }
    int all_st = 1;
    for (uint32_t i = 0; i < x->n_shards; i++)
        all_st &= is_listed(x, i);
    if (x->has_total && all_st && sum_ok && sum != x->total)
        st_report_add(x->r, ST_R_INDEX_TOTAL_SIZE, 0, 0,
                      "metadata.total_size is %llu; the shards' tensors hold %llu bytes",
                      (unsigned long long)x->total, (unsigned long long)sum);
}

st_error st_index_check(st_input *in)
{
    idx x;
    memset(&x, 0, sizeof(x));
    x.in = in;
    x.r = in->report;
    in->report->format = "shard-index";
    uint64_t size = in->src->size;
    if (size > in->ctx->limits[ST_LIMIT_HEADER_BYTES]) {
        st_report_add(x.r, ST_R_LIMIT, 0, 0, "index of %llu bytes exceeds header_bytes",
                      (unsigned long long)size);
        return ST_E_LIMIT;
    }
    /* (size is never 0: the sniffer found a '{' in the file) */
    unsigned char *buf = malloc(size ? (size_t)size : 1); /* GCOVR_EXCL_BR_LINE */
    st_error err = ST_OK;
    if (buf == NULL)       /* GCOVR_EXCL_BR_LINE: allocation failure */
        return ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
    if (st_src_read(in->src, 0, buf, (size_t)size) != ST_OK) {
        st_report_add(x.r, ST_R_IO, 0, 0, "could not read the index");
        err = ST_E_IO;
        /* GCOVR_EXCL_BR_START: nomem and a failing assign_shards mean allocation failure */
    } else if (parse_index(&x, buf, (size_t)size) == 0 && !x.nomem && assign_shards(&x) == 0) {
        /* GCOVR_EXCL_BR_STOP */
        int dirfd = in->open_dir ? in->open_dir(in->dir_arg) : -1;
        if (dirfd < 0 && in->open_sibling != NULL) {
            fetch_shards(&x);
            if (!x.nomem) /* GCOVR_EXCL_BR_LINE: allocation failure */
                compare(&x);
        } else if (dirfd < 0)
            st_report_add(x.r, ST_R_INDEX_UNCHECKED, 0, 0,
                          "the index's folder is not %s: its %zu shard%s not checked",
                          in->open_dir ? "readable" : "known here", x.n_shards,
                          x.n_shards == 1 ? " was" : "s were");
        else {
            open_shards(&x, dirfd);
            close(dirfd);
            if (!x.nomem) /* GCOVR_EXCL_BR_LINE: allocation failure */
                compare(&x);
        }
    }
    if (x.nomem)          /* GCOVR_EXCL_BR_LINE: allocation failure */
        err = ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
    free(buf);
    tl_free(&x.listed);
    tl_free(&x.refs);
    tl_free(&x.held);
    for (size_t i = 0; i < x.n_shards; i++)
        free(x.shards[i]);
    free(x.shards);
    free(x.file_of);
    free(x.files);
    return err;
}

/* ---- identification ---------------------------------------------------------------------- */

/* A name a loader opens as an index: *.index.json, or *.index.<variant>.json as transformers'
 * _add_variant writes it (model.safetensors.index.fp16.json). */
static int index_name(const char *name)
{
    if (st_name_has_suffix(name, ".index.json"))
        return 1;
    if (!st_name_has_suffix(name, ".json"))
        return 0;
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    const char *dot = strstr(base, ".index.");
    return dot != NULL && dot + 7 < base + strlen(base) - 5;
}

static int json_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The first byte that is not JSON whitespace, read past any amount of it up to the
 * header_bytes limit (json.load skips it all); -1 when there is none. */
static int first_byte(const st_input *in)
{
    uint64_t limit = in->ctx->limits[ST_LIMIT_HEADER_BYTES];
    uint64_t end = in->src->size < limit ? in->src->size : limit;
    for (size_t i = 0; i < in->head_len; i++)
        if (!json_space(in->head[i]))
            return in->head[i];
    unsigned char chunk[4096];
    for (uint64_t off = in->head_len; off < end;) {
        size_t n = end - off < sizeof(chunk) ? (size_t)(end - off) : sizeof(chunk);
        if (st_src_read(in->src, off, chunk, n) != ST_OK)
            return -1;
        for (size_t i = 0; i < n; i++)
            if (!json_space(chunk[i]))
                return chunk[i];
        off += n;
    }
    return -1;
}

/* Whether the top-level object of buf has a "weight_map" key, by the strict scanner. JSON that
 * the scanner refuses but that mentions weight_map is an index too (Python's json may accept
 * what the scanner refuses; the check then reports why). */
static int has_weight_map(const st_input *in, const unsigned char *buf, size_t len)
{
    static const char key[] = "weight_map";
    st_json *j = st_json_new(buf, len, (unsigned)in->ctx->limits[ST_LIMIT_JSON_DEPTH]);
    st_json_tok t;
    /* GCOVR_EXCL_START: j is NULL on allocation failure only; the first token opens an object
     * (the sniffer saw '{' first), so the other tests are defence */
    int found = 0, refused = j == NULL || st_json_next(j, &t) != ST_JSON_OK;
    if (!refused && t.type != ST_JT_OBJ_BEGIN) {
        st_json_free(j);
        return 0;
    }
    /* GCOVR_EXCL_STOP */
    while (!refused && !found) {
        if (st_json_next(j, &t) != ST_JSON_OK) {
            refused = 1;
            break;
        }
        if (t.type == ST_JT_OBJ_END)
            break;
        found = t.str_len == 10 && memcmp(t.str, key, 10) == 0;
        refused = st_json_next(j, &t) != ST_JSON_OK || st_json_skip(j, &t) != ST_JSON_OK;
    }
    st_json_free(j);
    for (size_t i = 0; refused && !found && i + sizeof(key) - 1 <= len; i++)
        found = buf[i] == 'w' && memcmp(buf + i, key, sizeof(key) - 1) == 0;
    return found;
}

/* Identification by content, bounded by header_bytes: an index's name and a first
 * non-whitespace '{'; or any *.json whose top-level object has a weight_map. */
int st_index_sniff(const st_input *in)
{
    int named = index_name(in->name);
    if (!named && !st_name_has_suffix(in->name, ".json"))
        return 0;
    if (first_byte(in) != '{')
        return 0;
    if (named)
        return 90;
    uint64_t size = in->src->size;
    if (size > in->ctx->limits[ST_LIMIT_HEADER_BYTES])
        return 0;
    /* GCOVR_EXCL_BR_START: size is not 0 (a '{' was found); buf is NULL on allocation failure
     * and the read fails on an I/O error only */
    unsigned char *buf = malloc(size ? (size_t)size : 1);
    int found = buf != NULL && st_src_read(in->src, 0, buf, (size_t)size) == ST_OK &&
                has_weight_map(in, buf, (size_t)size);
    /* GCOVR_EXCL_BR_STOP */
    free(buf);
    return found ? 90 : 0;
}
