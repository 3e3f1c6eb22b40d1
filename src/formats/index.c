/*
 * index.c - sharded checkpoint indexes (model.safetensors.index.json,
 * pytorch_model.bin.index.json).
 *
 *   { "metadata": { "total_size": N, ... }, "weight_map": { "tensor": "shard file", ... } }
 *
 * The index is hostile input like any model file, so it goes through the strict scanner
 * (duplicate keys, UTF-8, grammar). Shard names must be plain names in the index's folder.
 * Each safetensors shard is listed through the safetensors validator's tensor hook: every
 * tensor the index names must be in exactly the shard it names, no tensor may be in two shards,
 * a shard tensor missing from the index is a warning, and metadata.total_size must be the sum
 * of the tensors' byte sizes (transformers does not check it). Shards of other formats
 * (pytorch_model-*.bin) are checked for existence only: listing a pickle's tensors would need
 * its state dict rebuilt.
 *
 * Unlike other format modules this one opens files: plain names, beneath the folder
 * descriptor the scanner hands over, following the shard's own symlink (the Hugging Face cache
 * links snapshots to blobs; where such a link leads is judged by the folder walk).
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
    uint32_t shard; /* index into shards */
    uint64_t nbytes;
} tname;

typedef struct {
    tname *v;
    size_t n, cap;
} tlist;

typedef struct {
    st_input *in;
    st_report *r;
    char **shards;         /* distinct shard names, sorted */
    unsigned char *opened; /* per shard: read and listed (safetensors) */
    size_t n_shards;
    tlist listed; /* weight_map entries */
    tlist refs;   /* while parsing: each entry's shard name, .shard = the entry's index */
    tlist held;   /* tensors found in safetensors shards */
    uint32_t cur; /* shard being listed */
    int has_total, nomem;
    uint64_t total;
} idx;

static int tl_add(idx *x, tlist *l, const char *name, size_t len, uint32_t shard, uint64_t nb)
{
    if (st_grow(&l->v, &l->cap, l->n, sizeof(*l->v), 64) != 0)
        return x->nomem = 1, -1;
    char *c = malloc(len + 1);
    if (c == NULL)
        return x->nomem = 1, -1;
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
    if ((x->shards = malloc((x->refs.n ? x->refs.n : 1) * sizeof(*x->shards))) == NULL)
        return x->nomem = 1, -1;
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

static int bad_shape(idx *x, const st_json_tok *t, const char *what)
{
    st_report_add(x->r, ST_R_INDEX_INVALID, t->off, t->len, "%s", what);
    return -1;
}

static int parse_weight_map(idx *x, st_json *j)
{
    st_json_tok k, v;
    char a[128], b[128];
    if (st_json_next(j, &k) != ST_JSON_OK || k.type != ST_JT_OBJ_BEGIN)
        return bad_shape(x, &k, "weight_map is not an object");
    for (;;) {
        if (st_json_next(j, &k) != ST_JSON_OK)
            return -1;
        if (k.type == ST_JT_OBJ_END)
            return 0;
        char *name = malloc(k.str_len + 1);
        size_t len = k.str_len;
        if (name == NULL)
            return x->nomem = 1, -1;
        memcpy(name, k.str, len); /* the scanner may reuse key storage */
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
        else
            rc = tl_add(x, &x->listed, name, len, 0, 0) ||
                 tl_add(x, &x->refs, v.str, v.str_len, (uint32_t)(x->listed.n - 1), 0);
        free(name);
        if (rc != 0)
            return -1;
    }
}

static int parse_metadata(idx *x, st_json *j)
{
    st_json_tok k, v;
    if (st_json_next(j, &k) != ST_JSON_OK || k.type != ST_JT_OBJ_BEGIN)
        return bad_shape(x, &k, "metadata is not an object");
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
    if (j == NULL)
        return x->nomem = 1, -1;
    if (st_json_next(j, &t) != ST_JSON_OK || t.type != ST_JT_OBJ_BEGIN) {
        bad_shape(x, &t, "the index is not a JSON object");
        goto out;
    }
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
    if (st_json_next(j, &t) != ST_JSON_OK || t.type != ST_JT_END)
        goto out;
    if (!seen_map) {
        st_report_add(x->r, ST_R_INDEX_INVALID, 0, len, "the index has no weight_map");
        goto out;
    }
    rc = 0;
out:
    if (rc != 0 && !x->nomem && st_report_count_severity(x->r, ST_SEV_ERROR) == 0)
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

/* Lists a safetensors shard's tensors through the validator, into a scratch report whose
 * verdict tells whether the shard passes its own checks. */
static void list_shard(idx *x, int fd, uint64_t size, const char *name)
{
    char a[128];
    st_report *scratch = st_report_new(x->in->ctx, name);
    if (scratch == NULL) {
        x->nomem = 1;
        return;
    }
    st_src src = {fd, NULL, size};
    unsigned char head[ST_HEAD_BYTES], tail[ST_HEAD_BYTES];
    size_t n = size < sizeof(head) ? (size_t)size : sizeof(head);
    st_input in = {.ctx = x->in->ctx,
                   .report = scratch,
                   .src = &src,
                   .head = head,
                   .head_len = n,
                   .tail = tail,
                   .tail_len = n,
                   .name = name,
                   .depth = x->in->depth + 1,
                   .on_tensor = on_tensor,
                   .tensor_arg = x};
    if (st_src_read(&src, 0, head, n) != ST_OK || st_src_read(&src, size - n, tail, n) != ST_OK ||
        st_safetensors_check(&in) != ST_OK || st_report_verdict(scratch) != ST_VERDICT_PASS)
        st_report_add(x->r, ST_R_INDEX_SHARD_INVALID, 0, 0,
                      "shard \"%s\" fails its own checks (check it to see why)",
                      shown(name, strlen(name), a, sizeof(a)));
    st_report_free(scratch);
}

static void open_shards(idx *x, int dirfd)
{
    char a[128];
    if ((x->opened = calloc(x->n_shards ? x->n_shards : 1, 1)) == NULL) {
        x->nomem = 1;
        return;
    }
    for (uint32_t i = 0; i < x->n_shards && !x->nomem; i++) {
        const char *s = x->shards[i];
        int fd = openat(dirfd, s, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            st_report_add(x->r, ST_R_INDEX_SHARD_MISSING, 0, 0, "shard \"%s\" %s",
                          shown(s, strlen(s), a, sizeof(a)),
                          fd < 0 && errno == ENOENT ? "does not exist in the index's folder"
                                                    : "is not a readable regular file");
        } else if (st_name_has_suffix(s, ".safetensors")) {
            x->cur = i;
            list_shard(x, fd, (uint64_t)st.st_size, s);
            x->opened[i] = 1;
        }
        if (fd >= 0)
            close(fd);
    }
}

/* A safetensors shard that was read and listed (a missing one is reported as such). */
static int is_safetensors(const idx *x, uint32_t shard)
{
    return x->opened[shard] && st_name_has_suffix(x->shards[shard], ".safetensors");
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

static void compare(idx *x)
{
    char a[128], b[128], c[128];
    if (x->held.n > 1) /* qsort(NULL, 0, ...) is undefined */
        qsort(x->held.v, x->held.n, sizeof(tname), by_name);
    if (x->listed.n > 1)
        qsort(x->listed.v, x->listed.n, sizeof(tname), by_name);
    uint64_t sum = 0;
    int sum_ok = 1;
    for (size_t i = 0; i < x->held.n; i++) {
        const tname *h = &x->held.v[i];
        const tname *prev = i > 0 ? &x->held.v[i - 1] : NULL;
        if (prev && prev->shard != h->shard && prev->len == h->len &&
            memcmp(prev->name, h->name, h->len) == 0)
            st_report_add(x->r, ST_R_INDEX_TENSOR_TWICE, 0, 0,
                          "tensor \"%s\" is in shard \"%s\" and in shard \"%s\"",
                          shown(h->name, h->len, a, sizeof(a)),
                          shown(x->shards[x->held.v[i - 1].shard],
                                strlen(x->shards[x->held.v[i - 1].shard]), b, sizeof(b)),
                          shown(x->shards[h->shard], strlen(x->shards[h->shard]), c, sizeof(c)));
        if (h->nbytes == UINT64_MAX || st_add_u64(sum, h->nbytes, &sum))
            sum_ok = 0;
    }
    for (size_t i = 0; i < x->listed.n; i++) {
        const tname *l = &x->listed.v[i];
        if (!is_safetensors(x, l->shard))
            continue;
        const tname *h = find_held(x, l);
        int found = 0;
        for (; h && h < x->held.v + x->held.n && h->len == l->len &&
               memcmp(h->name, l->name, l->len) == 0;
             h++)
            found |= h->shard == l->shard;
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
            memcmp(x->listed.v[k].name, h->name, h->len) != 0)
            st_report_add(x->r, ST_R_INDEX_TENSOR_UNLISTED, 0, 0,
                          "shard \"%s\" holds tensor \"%s\", which the index does not list",
                          shown(x->shards[h->shard], strlen(x->shards[h->shard]), a, sizeof(a)),
                          shown(h->name, h->len, b, sizeof(b)));
    }
    int all_st = 1;
    for (uint32_t i = 0; i < x->n_shards; i++)
        all_st &= is_safetensors(x, i);
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
    unsigned char *buf = malloc(size ? (size_t)size : 1);
    st_error err = ST_OK;
    if (buf == NULL)
        return ST_E_NOMEM;
    if (st_src_read(in->src, 0, buf, (size_t)size) != ST_OK) {
        st_report_add(x.r, ST_R_IO, 0, 0, "could not read the index");
        err = ST_E_IO;
    } else if (parse_index(&x, buf, (size_t)size) == 0 && !x.nomem && assign_shards(&x) == 0) {
        int dirfd = in->open_dir ? in->open_dir(in->dir_arg) : -1;
        if (dirfd < 0)
            st_report_add(x.r, ST_R_INDEX_UNCHECKED, 0, 0,
                          "the index's folder is not %s: its %zu shard%s not checked",
                          in->open_dir ? "readable" : "known here", x.n_shards,
                          x.n_shards == 1 ? " was" : "s were");
        else {
            open_shards(&x, dirfd);
            close(dirfd);
            if (!x.nomem)
                compare(&x);
        }
    }
    if (x.nomem)
        err = ST_E_NOMEM;
    free(buf);
    tl_free(&x.listed);
    tl_free(&x.refs);
    tl_free(&x.held);
    for (size_t i = 0; i < x.n_shards; i++)
        free(x.shards[i]);
    free(x.shards);
    free(x.opened);
    return err;
}

/* Identification: the name says index and the content opens a JSON object. */
int st_index_sniff(const st_input *in)
{
    if (!st_name_has_suffix(in->name, ".index.json"))
        return 0;
    for (size_t i = 0; i < in->head_len; i++) {
        unsigned char c = in->head[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            continue;
        return c == '{' ? 90 : 0;
    }
    return 0;
}
