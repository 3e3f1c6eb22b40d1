/*
 * tar.c - POSIX tar archives, and the pre-2018 PyTorch checkpoints that are tar files.
 *
 * Our own bounded walk of 512-byte headers (ustar, GNU long names, pax path/size records):
 * Python's tarfile, which torch uses, honours pax "size" and GNU long names, and returns the
 * last member of a duplicated name, so those are what a loader sees and what is checked.
 * Header checksums, octal/base-256 sizes, names (absolute, "..", NUL) and truncation are checked.
 *
 * A torch tar checkpoint (torch/serialization.py, legacy tar format) holds:
 *   sys_info   one pickle
 *   pickle     the object: one pickle, its persistent ids name storages by key
 *   storages   pickle(count), then per storage pickle((key, location, storage_type)), an 8-byte
 *              element count and the elements, then pickle(storage views)
 *   tensors    pickle(count), then per tensor pickle((key, storage_id, type)), int32 ndim,
 *              4 skipped bytes, ndim int64 sizes, ndim int64 strides, int64 storage offset
 * torch cannot load it with weights_only=True: every load runs the full unpickler, so every
 * pickle is judged (torch profile) and the raw parts are framed exactly as torch reads them.
 * Members of other tar files are checked by content as nested inputs.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/checked.h"
#include "../core/escape.h"
#include "pickle.h"

#define BLOCK 512u

typedef struct {
    char name[260];    /* ustar prefix (155) + "/" + name (100), or a long name cut to fit */
    uint64_t hdr_off;  /* first header block of the member (pax/GNU blocks included) */
    uint64_t data_off; /* its data */
    uint64_t size;
    char type;
} tar_member;

typedef struct {
    st_input *in;
    st_report *r;
    tar_member *m;
    size_t n, cap;
} tar_walk;

static int octal_or_b256(const unsigned char *f, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (f[0] & 0x80) { /* GNU base-256: big-endian, top bit set */
        for (size_t i = 1; i < len; i++) {
            if (v >> 56)
                return -1;
            v = v << 8 | f[i];
        }
        *out = v;
        return (f[0] & 0x7f) == 0 ? 0 : -1;
    }
    size_t i = 0;
    while (i < len && f[i] == ' ')
        i++;
    int digits = 0;
    for (; i < len && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
        if (v >> 61)
            return -1;
        v = v << 3 | (uint64_t)(f[i] - '0');
    }
    for (; i < len; i++)
        if (f[i] != ' ' && f[i] != '\0')
            return -1;
    *out = v;
    return digits > 0 ? 0 : -1;
}

static int checksum_ok(const unsigned char *h)
{
    uint64_t want;
    if (octal_or_b256(h + 148, 8, &want) != 0)
        return 0;
    uint64_t sum = 0;
    for (unsigned i = 0; i < BLOCK; i++)
        sum += i >= 148 && i < 156 ? ' ' : h[i];
    return sum == want;
}

static int all_zero(const unsigned char *h)
{
    for (unsigned i = 0; i < BLOCK; i++)
        if (h[i])
            return 0;
    return 1;
}

static void bad(tar_walk *t, uint64_t off, const char *what)
{
    st_report_add(t->r, ST_R_TAR_MALFORMED, off, BLOCK, "%s", what);
}

/* pax extended header records "LEN key=value\n": path and size apply to the next member. */
static void pax_apply(tar_walk *t, const unsigned char *p, size_t n, char *path, size_t psize,
                      uint64_t *size, int *has_size, uint64_t off)
{
    size_t i = 0;
    while (i < n) {
        size_t len = 0, j = i;
        while (j < n && p[j] >= '0' && p[j] <= '9' && len < 100000)
            len = len * 10 + (size_t)(p[j++] - '0');
        if (j >= n || p[j] != ' ' || len == 0 || len > n - i || p[i + len - 1] != '\n') {
            bad(t, off, "malformed pax extended header record");
            return;
        }
        const unsigned char *kv = p + j + 1, *end = p + i + len - 1;
        const unsigned char *eq = memchr(kv, '=', (size_t)(end - kv));
        if (eq != NULL) {
            size_t kl = (size_t)(eq - kv), vl = (size_t)(end - eq - 1);
            if (kl == 4 && memcmp(kv, "path", 4) == 0 && vl < psize) {
                memcpy(path, eq + 1, vl);
                path[vl] = '\0';
            } else if (kl == 4 && memcmp(kv, "size", 4) == 0) {
                char num[32];
                uint64_t v = 0;
                int ok = vl > 0 && vl < sizeof(num);
                for (size_t k = 0; ok && k < vl; k++) {
                    ok = eq[1 + k] >= '0' && eq[1 + k] <= '9' && !(v > UINT64_MAX / 10);
                    v = v * 10 + (uint64_t)(eq[1 + k] - '0');
                }
                if (ok) {
                    *size = v;
                    *has_size = 1;
                } else
                    bad(t, off, "pax size is not a decimal number");
            }
        }
        i += len;
    }
}

static int add_member(tar_walk *t, const tar_member *m)
{
    if (t->n >= t->in->ctx->limits[ST_LIMIT_ZIP_ENTRIES]) {
        st_report_add(t->r, ST_R_LIMIT, m->hdr_off, 0, "more than %llu tar members",
                      (unsigned long long)t->in->ctx->limits[ST_LIMIT_ZIP_ENTRIES]);
        return -1;
    }
    if (st_grow(&t->m, &t->cap, t->n, sizeof(*t->m), 16) != 0)
        return -1;
    t->m[t->n++] = *m;
    return 0;
}

/* Walks every header; returns ST_OK (problems are findings) or an error. */
static st_error walk(tar_walk *t)
{
    const st_src *src = t->in->src;
    unsigned char h[BLOCK];
    char next_name[260] = "";
    uint64_t next_size = 0, off = 0;
    int has_size = 0;
    uint64_t start = 0;
    while (off + BLOCK <= src->size) {
        if (st_src_read(src, off, h, BLOCK) != ST_OK)
            return ST_E_IO;
        if (all_zero(h))
            return ST_OK; /* end of archive (trailing bytes are beyond what tarfile reads) */
        if (!checksum_ok(h)) {
            bad(t, off, "header checksum does not match: readers stop or resynchronise here");
            return ST_OK;
        }
        uint64_t size, data = off + BLOCK, padded;
        if (octal_or_b256(h + 124, 12, &size) != 0) {
            bad(t, off, "member size field is not a number");
            return ST_OK;
        }
        char type = (char)h[156];
        if (next_name[0] == '\0' && !has_size)
            start = off;
        if (type == 'x' || type == 'L') { /* applies to the next member */
            if (size > 1u << 20 || data + size > src->size) {
                bad(t, off, "extended header larger than 1 MiB or past the end");
                return ST_OK;
            }
            unsigned char *p = malloc(size ? (size_t)size : 1);
            if (p == NULL)
                return ST_E_NOMEM;
            if (st_src_read(src, data, p, (size_t)size) != ST_OK) {
                free(p);
                return ST_E_IO;
            }
            if (type == 'L') {
                size_t n = size < sizeof(next_name) - 1 ? (size_t)size : sizeof(next_name) - 1;
                memcpy(next_name, p, n);
                next_name[n] = '\0';
            } else
                pax_apply(t, p, (size_t)size, next_name, sizeof(next_name), &next_size, &has_size,
                          off);
            free(p);
        } else {
            tar_member m;
            memset(&m, 0, sizeof(m));
            if (next_name[0] != '\0')
                memcpy(m.name, next_name, sizeof(m.name));
            else {
                /* ustar: prefix "/" name; both NUL-padded */
                char nm[101], pre[156];
                memcpy(nm, h, 100);
                nm[100] = '\0';
                memcpy(pre, h + 345, 155);
                pre[155] = '\0';
                snprintf(m.name, sizeof(m.name), "%s%s%s", pre, pre[0] ? "/" : "", nm);
            }
            if (has_size && next_size != size)
                st_report_add(t->r, ST_R_TAR_MALFORMED, off, BLOCK,
                              "pax size %llu differs from the header's %llu: readers that ignore "
                              "pax headers see other bytes",
                              (unsigned long long)next_size, (unsigned long long)size);
            if (has_size)
                size = next_size;
            m.hdr_off = start;
            m.data_off = data;
            m.size = size;
            m.type = type;
            if (add_member(t, &m) != 0)
                return ST_E_LIMIT;
            next_name[0] = '\0';
            has_size = 0;
        }
        if (st_add_u64(size, BLOCK - 1, &padded) ||
            st_add_u64(data, padded / BLOCK * BLOCK, &off) || data + size > src->size) {
            st_report_add(t->r, ST_R_TAR_MALFORMED, data, 0,
                          "member data of %llu bytes runs past the end of the file",
                          (unsigned long long)size);
            if (t->n > 0 && t->m[t->n - 1].data_off == data)
                t->n--; /* not readable: not checked as if whole */
            return ST_OK;
        }
    }
    if (off < src->size || t->n == 0)
        bad(t, off, "archive ends without its end-of-archive blocks");
    return ST_OK;
}

/* ---- names ---------------------------------------------------------------------------------- */

typedef struct {
    const char *name;
    size_t i;
} name_pos;

static int by_name_then_pos(const void *a, const void *b)
{
    const name_pos *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : (x->i > y->i) - (x->i < y->i);
}

/* dup[i] = 1 when an earlier member has member i's name: sorted (no global state: walks run in
 * parallel), so hostile archives with tens of thousands of members stay linear-log. */
static unsigned char *duplicates(const tar_walk *t)
{
    name_pos *ix = malloc((t->n ? t->n : 1) * sizeof(*ix));
    unsigned char *dup = calloc(t->n ? t->n : 1, 1);
    if (ix == NULL || dup == NULL) {
        free(ix);
        free(dup);
        return NULL;
    }
    for (size_t i = 0; i < t->n; i++)
        ix[i] = (name_pos){t->m[i].name, i};
    if (t->n > 1)
        qsort(ix, t->n, sizeof(*ix), by_name_then_pos);
    for (size_t k = 1; k < t->n; k++)
        dup[ix[k].i] = strcmp(ix[k - 1].name, ix[k].name) == 0;
    free(ix);
    return dup;
}

static void check_names(tar_walk *t)
{
    char a[160];
    unsigned char *dup = duplicates(t);
    if (dup == NULL) {
        st_report_fail(t->r, ST_E_NOMEM);
        return;
    }
    for (size_t i = 0; i < t->n; i++) {
        const char *nm = t->m[i].name;
        const char *why = nm[0] == '/' ? "an absolute path"
                          : strcmp(nm, "..") == 0 || strncmp(nm, "../", 3) == 0 ||
                                  strstr(nm, "/../") || st_name_has_suffix(nm, "/..")
                              ? "a .. component"
                          : nm[0] == '\0' ? "empty"
                                          : NULL;
        if (why != NULL)
            st_report_add(t->r, ST_R_TAR_UNSAFE_NAME, t->m[i].hdr_off, 0,
                          "member name \"%s\" is %s", st_escape(nm, strlen(nm), a, sizeof(a), 120),
                          why);
        if (dup[i])
            st_report_add(t->r, ST_R_TAR_DUP_NAME, t->m[i].hdr_off, 0,
                          "member \"%s\" appears more than once; tarfile reads the last copy",
                          st_escape(nm, strlen(nm), a, sizeof(a), 120));
    }
    free(dup);
}

/* The member tarfile returns for a name: the last one. */
static const tar_member *find(const tar_walk *t, const char *name)
{
    for (size_t i = t->n; i-- > 0;)
        if (strcmp(t->m[i].name, name) == 0 && (t->m[i].type == '0' || t->m[i].type == '\0'))
            return &t->m[i];
    return NULL;
}

/* ---- torch tar members -------------------------------------------------------------------- */

/* A member name for messages: hostile bytes, escaped. */
typedef struct {
    char s[160];
} shown_name;

static shown_name nm(const tar_member *m)
{
    shown_name n;
    st_escape(m->name, strlen(m->name), n.s, sizeof(n.s), 120);
    return n;
}

/* Walks one pickle at *pos within the member; 0 when it was whole (then *pos is past it). */
static int one_pickle(tar_walk *t, const tar_member *m, uint64_t *pos, unsigned *elem,
                      st_error *err)
{
    st_pk_job job = {.in = t->in,
                     .src = t->in->src,
                     .start = *pos,
                     .end = m->data_off + m->size,
                     .member = m->name,
                     .profile = ST_PK_PROFILE_TORCH,
                     .single = 1,
                     .keyed_persid = 1};
    st_pk_result res;
    *err = st_pickle_walk(&job, &res);
    int ok = *err == ST_OK && !res.malformed && res.pickles == 1;
    if (ok) {
        *pos = res.stop_end;
        if (elem != NULL)
            *elem = res.storage_type_elem;
    }
    st_pk_result_free(&res);
    return ok ? 0 : -1;
}

static int read_le(tar_walk *t, const tar_member *m, uint64_t pos, unsigned char *out, size_t n)
{
    if (m->data_off + m->size - pos < n || st_src_read(t->in->src, pos, out, n) != ST_OK) {
        st_report_add(t->r, ST_R_TORCH_STORAGE, pos, 0, "member \"%s\" ends inside a record",
                      nm(m).s);
        return -1;
    }
    return 0;
}

static void trailing(tar_walk *t, const tar_member *m, uint64_t pos)
{
    uint64_t end = m->data_off + m->size;
    if (pos < end)
        st_report_add(t->r, ST_R_PK_TRAILING, pos, end - pos,
                      "%llu bytes follow the last record of member \"%s\"",
                      (unsigned long long)(end - pos), nm(m).s);
}

/* storages: count, then (args pickle, element count, elements)..., then the views pickle. */
static st_error walk_storages(tar_walk *t, const tar_member *m)
{
    uint64_t pos = m->data_off, end = m->data_off + m->size;
    st_error err;
    if (one_pickle(t, m, &pos, NULL, &err) != 0)
        return err;
    while (pos < end) {
        unsigned elem = 0;
        if (one_pickle(t, m, &pos, &elem, &err) != 0)
            return err;
        if (elem == 0) /* no storage type: the views pickle, the last record */
            break;
        unsigned char cnt[8];
        uint64_t bytes;
        if (read_le(t, m, pos, cnt, 8) != 0)
            return ST_OK;
        uint64_t numel = st_le64(cnt);
        if (st_mul_u64(numel, elem, &bytes) || bytes > end - pos - 8) {
            st_report_add(t->r, ST_R_TORCH_STORAGE, pos, 8,
                          "storage of %llu elements runs past the end of member \"%s\"",
                          (unsigned long long)numel, nm(m).s);
            return ST_OK;
        }
        pos += 8 + bytes;
    }
    trailing(t, m, pos);
    return ST_OK;
}

/* tensors: count, then (args pickle, ndim, 4 bytes, sizes, strides, offset)... */
static st_error walk_tensors(tar_walk *t, const tar_member *m)
{
    uint64_t pos = m->data_off, end = m->data_off + m->size;
    st_error err;
    if (one_pickle(t, m, &pos, NULL, &err) != 0)
        return err;
    while (pos < end) {
        unsigned char nd[4];
        if (one_pickle(t, m, &pos, NULL, &err) != 0)
            return err;
        if (read_le(t, m, pos, nd, 4) != 0)
            return ST_OK;
        uint32_t raw =
            (uint32_t)nd[0] | (uint32_t)nd[1] << 8 | (uint32_t)nd[2] << 16 | (uint32_t)nd[3] << 24;
        int64_t ndim = raw & 0x80000000u ? -1 : (int64_t)raw; /* torch reads a signed int32 */
        uint64_t need = 8 + 16 * (uint64_t)(ndim < 0 ? 0 : ndim) + 8;
        if (ndim < 0 || (uint64_t)ndim > t->in->ctx->limits[ST_LIMIT_RANK] || need > end - pos) {
            st_report_add(t->r, ST_R_TORCH_STORAGE, pos, 4,
                          "tensor record with %lld dimensions does not fit member \"%s\"",
                          (long long)ndim, nm(m).s);
            return ST_OK;
        }
        pos += need;
    }
    trailing(t, m, pos);
    return ST_OK;
}

static st_error walk_whole(tar_walk *t, const tar_member *m)
{
    uint64_t pos = m->data_off;
    st_error err;
    if (one_pickle(t, m, &pos, NULL, &err) != 0)
        return err;
    trailing(t, m, pos);
    return ST_OK;
}

/* A member checked by content, as an input of its own (within the nesting limit). */
static st_error check_one(tar_walk *t, const tar_member *m)
{
    if (m->size > t->in->ctx->limits[ST_LIMIT_MEMBER_BYTES]) {
        st_report_add(t->r, ST_R_LIMIT, m->data_off, 0, "member \"%s\" exceeds member_bytes",
                      nm(m).s);
        return ST_E_LIMIT;
    }
    unsigned char *buf = malloc(m->size ? (size_t)m->size : 1);
    if (buf == NULL)
        return ST_E_NOMEM;
    st_error err = st_src_read(t->in->src, m->data_off, buf, (size_t)m->size);
    if (err == ST_OK)
        err = st_check_nested(t->in, buf, (size_t)m->size, m->name);
    free(buf);
    return err;
}

/* Part k of a torch tar checkpoint, framed as torch reads it. */
static st_error walk_part(tar_walk *t, const tar_member *m, int k)
{
    return k < 2 ? walk_whole(t, m) : k == 2 ? walk_storages(t, m) : walk_tensors(t, m);
}

static st_error check_torch(tar_walk *t)
{
    static const char *const parts[] = {"sys_info", "pickle", "storages", "tensors"};
    const tar_member *chosen[4]; /* what tarfile returns for each part: the last copy */
    st_error err = ST_OK;
    t->r->format = "pytorch-tar";
    for (int i = 0; i < 4; i++)
        chosen[i] = find(t, parts[i]);
    for (int i = 0; i < 4 && err == ST_OK; i++) {
        if (chosen[i] == NULL)
            st_report_add(t->r, ST_R_TORCH_NO_PICKLE, 0, 0,
                          "the tar checkpoint lacks its \"%s\" member", parts[i]);
        else
            err = walk_part(t, chosen[i], i);
    }
    /* Earlier copies of a duplicated part (another reader may take the first) are framed the
     * same way; members torch never reads are reported and checked by content. */
    for (size_t i = 0; i < t->n && err == ST_OK; i++) {
        const tar_member *m = &t->m[i];
        int part = -1;
        for (int k = 0; k < 4; k++)
            if (strcmp(m->name, parts[k]) == 0)
                part = k;
        if ((m->type != '0' && m->type != '\0') || (part >= 0 && chosen[part] == m))
            continue;
        if (part >= 0)
            err = walk_part(t, m, part);
        else if (m->size > 0) {
            st_report_add(t->r, ST_R_TAR_EXTRA_MEMBER, m->hdr_off, 0,
                          "member \"%s\" is not part of a torch checkpoint", nm(m).s);
            err = check_one(t, m);
        }
    }
    return err;
}

/* ---- other tar files ---------------------------------------------------------------------- */

static st_error check_members(tar_walk *t)
{
    st_error err = ST_OK;
    for (size_t i = 0; i < t->n && err == ST_OK; i++) {
        const tar_member *m = &t->m[i];
        if ((m->type == '0' || m->type == '\0') && m->size > 0)
            err = check_one(t, m);
    }
    return err;
}

st_error st_tar_check(st_input *in)
{
    tar_walk t = {in, in->report, NULL, 0, 0};
    in->report->format = "tar";
    st_error err = walk(&t);
    if (err == ST_OK) {
        check_names(&t);
        err = find(&t, "pickle") != NULL && (find(&t, "storages") || find(&t, "tensors"))
                  ? check_torch(&t)
                  : check_members(&t);
    }
    free(t.m);
    return err;
}

int st_tar_sniff(const st_input *in)
{
    return in->head_len >= 262 && memcmp(in->head + 257, "ustar", 5) == 0 ? 88 : 0;
}
