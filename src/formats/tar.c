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
#define NAME_LEN 260

typedef struct {
    char name[NAME_LEN]; /* as tarfile names it: ustar prefix "/" name, or pax/GNU long name */
    char link[NAME_LEN]; /* linkname of hard and symbolic links */
    uint64_t hdr_off;    /* first header block of the member (pax/GNU blocks included) */
    uint64_t data_off;   /* its data */
    uint64_t size;
    char type;
    unsigned char sparse; /* GNU sparse (old or pax): tarfile reassembles it from a map */
} tar_member;

typedef struct {
    st_input *in;
    st_report *r;
    tar_member *m;
    size_t n, cap;
    int tar_error; /* tarfile would raise a TarError (torch then tries the pickle format) */
} tar_walk;

/* tarfile's type classes (Lib/tarfile.py REGULAR_TYPES, SUPPORTED_TYPES): members of regular
 * or unknown types have data that extractfile returns; the others have none, and their size
 * field is not skipped (_proc_builtin), so the next header follows at once. */
static int is_regular(char t)
{
    return t == '0' || t == '\0' || t == '7' || t == 'S';
}
static int is_supported(char t)
{
    return is_regular(t) || (t >= '1' && t <= '6') || t == 'L' || t == 'K';
}
static int has_data(char t)
{
    return is_regular(t) || !is_supported(t);
}

/* Python's str.strip() whitespace for ASCII. */
static int py_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

/* tarfile.nti: base-256 when the first byte is 0200 or 0377; otherwise the text up to the
 * first NUL must be ASCII and int(text.strip() or "0", 8) - which takes a sign, a "0o" prefix
 * and single underscores between digits. -1 when tarfile raises, or when the value does not
 * fit 63 bits (then stcheck cannot follow it: reported as malformed). */
static int py_nti(const unsigned char *f, size_t len, int64_t *out)
{
    uint64_t v = 0;
    if (f[0] == 0x80 || f[0] == 0xff) {
        for (size_t i = 1; i < len; i++) {
            if (v >> 55)
                return -1;
            v = v << 8 | f[i];
        }
        if (f[0] == 0xff) { /* -(256 ** (len - 1) - v): only small magnitudes are followed */
            return -1;
        }
        *out = (int64_t)v;
        return 0;
    }
    size_t e = 0;
    while (e < len && f[e] != 0)
        e++;
    size_t i = 0;
    for (size_t k = 0; k < e; k++)
        if (f[k] >= 0x80)
            return -1;
    while (i < e && py_space(f[i]))
        i++;
    while (e > i && py_space(f[e - 1]))
        e--;
    if (i == e) {
        *out = 0;
        return 0;
    }
    int neg = 0;
    if (f[i] == '+' || f[i] == '-')
        neg = f[i++] == '-';
    if (e - i >= 2 && f[i] == '0' && (f[i + 1] == 'o' || f[i + 1] == 'O')) {
        i += 2;
        if (i < e && f[i] == '_')
            i++; /* int("0o_7", 8) is 7 */
    }
    int digits = 0, last_us = 0;
    for (; i < e; i++) {
        if (f[i] == '_') {
            if (last_us || digits == 0)
                return -1;
            last_us = 1;
            continue;
        }
        if (f[i] < '0' || f[i] > '7' || (v >> 60))
            return -1;
        v = v << 3 | (uint64_t)(f[i] - '0');
        digits++;
        last_us = 0;
    }
    if (digits == 0 || last_us)
        return -1;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

/* tarfile.calc_chksums: the unsigned and the signed sum, the checksum field counted as spaces. */
static int checksum_ok(const unsigned char *h)
{
    int64_t want = 0; /* set by py_nti on success; 0 keeps a mutant that ignores a failure
                         deterministic (tests/mutants.txt tar-h01) */
    if (py_nti(h + 148, 8, &want) != 0)
        return 0;
    int64_t u = 256, s = 256;
    for (unsigned i = 0; i < BLOCK; i++) {
        if (i >= 148 && i < 156)
            continue;
        u += h[i];
        s += (signed char)h[i];
    }
    return want == u || want == s;
}

/* TarInfo.frombuf: the checksum and every numeric field must parse, or tarfile rejects the
 * header (at offset 0: tarfile.open raises ReadError, and torch reads no tar). */
static int header_ok(const unsigned char *h, int64_t *size)
{
    static const unsigned short fields[][2] = {{100, 8},  {108, 8}, {116, 8},
                                               {136, 12}, {329, 8}, {337, 8}};
    int64_t v;
    if (!checksum_ok(h) || py_nti(h + 124, 12, size) != 0)
        return 0;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (py_nti(h + fields[i][0], fields[i][1], &v) != 0)
            return 0;
    return 1;
}

int st_tar_header_valid(const unsigned char *h, size_t n)
{
    int64_t size;
    if (n < BLOCK)
        return 0;
    for (unsigned i = 0; i < BLOCK; i++)
        if (h[i])
            return header_ok(h, &size);
    return 0; /* an end-of-archive block: tarfile opens it as an empty archive */
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

/* A read inside the file's size failed (an I/O error, or the file shrank): could not check. */
static st_error io_error(tar_walk *t, uint64_t off)
{
    st_report_add(t->r, ST_R_IO, off, 0, "could not read the tar archive");
    return ST_E_IO;
}

/* The next member's name, link, size and sparse state from pax or GNU headers. */
typedef struct {
    char name[NAME_LEN], link[NAME_LEN];
    uint64_t size;
    int has_name, has_link, has_size, sparse;
    int active;     /* an extended header was read for the next member */
    uint64_t start; /* first header block of the member */
} pending;

static int key_is(const unsigned char *k, size_t kl, const char *want)
{
    return kl == strlen(want) && memcmp(k, want, kl) == 0;
}

static void copy_text(char *dst, const unsigned char *src, size_t n)
{
    size_t k = 0;
    while (k < n && k < NAME_LEN - 1 && src[k] != 0)
        k++;
    memcpy(dst, src, k);
    dst[k] = '\0';
}

/* One pax record "LEN key=value\n" applied to the next member (Lib/tarfile.py _proc_pax and
 * _apply_pax_info: path, linkpath, size; GNU.sparse.* makes the member sparse). 0, or -1 when
 * tarfile would raise. */
static int pax_record(tar_walk *t, const unsigned char *kv, size_t kvl, pending *pd, uint64_t off)
{
    const unsigned char *eq = memchr(kv, '=', kvl);
    if (eq == NULL || eq == kv)
        return -1;
    size_t kl = (size_t)(eq - kv), vl = kvl - kl - 1;
    const unsigned char *v = eq + 1;
    if (key_is(kv, kl, "path") || key_is(kv, kl, "GNU.sparse.name")) {
        while (vl > 0 && v[vl - 1] == '/')
            vl--; /* _apply_pax_info: value.rstrip("/") */
        copy_text(pd->name, v, vl < NAME_LEN ? vl : NAME_LEN - 1);
        pd->has_name = 1;
    } else if (key_is(kv, kl, "linkpath")) {
        copy_text(pd->link, v, vl < NAME_LEN ? vl : NAME_LEN - 1);
        pd->has_link = 1;
    } else if (key_is(kv, kl, "size")) {
        uint64_t x = 0;
        int ok = vl > 0 && vl < 20;
        for (size_t k = 0; ok && k < vl; k++) {
            ok = v[k] >= '0' && v[k] <= '9';
            x = x * 10 + (uint64_t)(v[k] - '0');
        }
        if (!ok) { /* tarfile: int() failing gives 0; anything else: not followed */
            bad(t, off, "pax size is not a plain decimal number");
            return -1;
        }
        pd->size = x;
        pd->has_size = 1;
    } else if (kl > 11 && memcmp(kv, "GNU.sparse.", 11) == 0) {
        pd->sparse = 1;
    }
    return 0;
}

/* pax extended header records, parsed as _proc_pax does; NUL ends the list. */
static void pax_apply(tar_walk *t, const unsigned char *p, size_t n, pending *pd, uint64_t off)
{
    size_t i = 0;
    while (i < n && p[i] != 0) {
        size_t len = 0, j = i;
        while (j < n && j - i < 20 && p[j] >= '0' && p[j] <= '9')
            len = len * 10 + (size_t)(p[j++] - '0');
        if (j == i || j >= n || p[j] != ' ' || len < 5 || len > n - i || p[i + len - 1] != '\n' ||
            j + 1 > i + len - 1 || pax_record(t, p + j + 1, i + len - 1 - (j + 1), pd, off) != 0) {
            bad(t, off, "malformed pax extended header record");
            t->tar_error = 1;
            return;
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

/* Reads a pax or GNU long-name block's data (bounded) and applies it to the next member. */
static st_error extended(tar_walk *t, const unsigned char *h, uint64_t off, uint64_t size,
                         pending *pd)
{
    const st_src *src = t->in->src;
    uint64_t data = off + BLOCK;
    char type = (char)h[156];
    if (size > 1u << 20 || data + size > src->size) {
        bad(t, off, "extended header larger than 1 MiB or past the end");
        t->tar_error = 1;
        return ST_E_UNSUPPORTED;
    }
    unsigned char *p = malloc(size ? (size_t)size : 1);
    if (p == NULL)
        return ST_E_NOMEM;
    if (st_src_read(src, data, p, (size_t)size) != ST_OK) {
        free(p);
        return io_error(t, data);
    }
    if (type == 'L') {
        copy_text(pd->name, p, (size_t)size);
        pd->has_name = 1;
    } else if (type == 'K') {
        copy_text(pd->link, p, (size_t)size);
        pd->has_link = 1;
    } else if (type == 'g') {
        pending g;
        memset(&g, 0, sizeof(g));
        pax_apply(t, p, (size_t)size, &g, off);
        if (g.has_name || g.has_size || g.has_link || g.sparse)
            bad(t, off,
                "global pax header overrides member names or sizes: readers apply it "
                "differently");
    } else {
        pax_apply(t, p, (size_t)size, pd, off);
    }
    free(p);
    return ST_OK;
}

/* Old GNU sparse: extended sparse blocks follow the header while byte 482 (then 504) is set. */
static st_error skip_sparse_blocks(tar_walk *t, const unsigned char *h, uint64_t *data)
{
    unsigned char b[BLOCK];
    int more = h[482] != 0;
    while (more) {
        if (*data + BLOCK > t->in->src->size) {
            bad(t, *data, "GNU sparse header runs past the end");
            t->tar_error = 1;
            return ST_E_UNSUPPORTED;
        }
        if (st_src_read(t->in->src, *data, b, BLOCK) != ST_OK)
            return io_error(t, *data);
        more = b[504] != 0;
        *data += BLOCK;
    }
    return ST_OK;
}

/* Builds the member a real header describes, with what pax/GNU headers said before it. */
static void make_member(const unsigned char *h, const pending *pd, uint64_t data, uint64_t size,
                        tar_member *m)
{
    char nm[101], pre[156];
    memset(m, 0, sizeof(*m));
    m->type = (char)h[156];
    copy_text(nm, h, 100);
    copy_text(pre, h + 345, 155);
    /* frombuf: an old-style regular file whose name ends in "/" is a directory */
    if (m->type == '\0' && nm[0] != '\0' && nm[strlen(nm) - 1] == '/')
        m->type = '5';
    if (pd->has_name)
        memcpy(m->name, pd->name, sizeof(m->name));
    else
        /* frombuf: the ustar prefix, except for GNU types (old sparse data lives there) */
        snprintf(m->name, sizeof(m->name), "%s%s%s", m->type == 'S' ? "" : pre,
                 pre[0] && m->type != 'S' ? "/" : "", nm);
    if (m->type == '5') { /* isdir(): name.rstrip("/") */
        size_t k = strlen(m->name);
        while (k > 0 && m->name[k - 1] == '/')
            m->name[--k] = '\0';
    }
    if (pd->has_link)
        memcpy(m->link, pd->link, sizeof(m->link));
    else
        copy_text(m->link, h + 157, 100);
    m->hdr_off = pd->start;
    m->data_off = data;
    m->size = size;
    m->sparse = m->type == 'S' || pd->sparse;
}

/* One real (non-extended) header at off: the member, and where tarfile reads next. */
static st_error real_member(tar_walk *t, const unsigned char *h, uint64_t off, uint64_t size,
                            pending *pd, uint64_t *next)
{
    uint64_t data = off + BLOCK, padded;
    tar_member m;
    st_error err = ST_OK;
    if ((char)h[156] == 'S' && (err = skip_sparse_blocks(t, h, &data)) != ST_OK)
        return err;
    if (pd->has_size && pd->size != size)
        st_report_add(t->r, ST_R_TAR_MALFORMED, off, BLOCK,
                      "pax size %llu differs from the header's %llu: readers that ignore "
                      "pax headers see other bytes",
                      (unsigned long long)pd->size, (unsigned long long)size);
    if (pd->has_size)
        size = pd->size;
    make_member(h, pd, data, size, &m);
    if (add_member(t, &m) != 0)
        return ST_E_LIMIT;
    memset(pd, 0, sizeof(*pd));
    if (!has_data(m.type)) {
        *next = data; /* no data skipped: the next header follows at once */
        return ST_OK;
    }
    if (st_add_u64(size, BLOCK - 1, &padded) || st_add_u64(data, padded / BLOCK * BLOCK, next) ||
        data + size > t->in->src->size) {
        st_report_add(t->r, ST_R_TAR_MALFORMED, data, 0,
                      "member data of %llu bytes runs past the end of the file",
                      (unsigned long long)size);
        t->tar_error = 1; /* tarfile: ReadError("unexpected end of data") */
        t->n--;           /* not readable: not checked as if whole */
        return ST_E_UNSUPPORTED;
    }
    return ST_OK;
}

/* Walks every header as tarfile's TarFile.next does; returns ST_OK (problems are findings)
 * or an error. */
static st_error walk(tar_walk *t)
{
    const st_src *src = t->in->src;
    unsigned char h[BLOCK];
    uint64_t off = 0;
    pending pd;
    memset(&pd, 0, sizeof(pd));
    while (off + BLOCK <= src->size) {
        if (st_src_read(src, off, h, BLOCK) != ST_OK)
            return io_error(t, off);
        if (all_zero(h))
            return ST_OK; /* end of archive (trailing bytes are beyond what tarfile reads) */
        int64_t ssize;
        if (!header_ok(h, &ssize) || ssize < 0) {
            bad(t, off,
                "invalid tar header (checksum or numeric field): tarfile stops here, "
                "other readers resynchronise");
            if (pd.active || off == 0)
                t->tar_error = 1; /* SubsequentHeaderError, or no tar at all */
            return ST_OK;
        }
        uint64_t size = (uint64_t)ssize;
        char type = (char)h[156];
        if (!pd.active)
            pd.start = off;
        if (type == 'x' || type == 'X' || type == 'g' || type == 'L' || type == 'K') {
            st_error err = extended(t, h, off, size, &pd);
            if (err != ST_OK)
                return err == ST_E_UNSUPPORTED ? ST_OK : err;
            pd.active = 1;
            off += BLOCK + (size + BLOCK - 1) / BLOCK * BLOCK;
            continue;
        }
        st_error err = real_member(t, h, off, size, &pd, &off);
        if (err != ST_OK)
            return err == ST_E_UNSUPPORTED ? ST_OK : err;
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

/* The member tarfile returns for a name (TarFile._getmember): the last one, of any type. */
static const tar_member *find(const tar_walk *t, const char *name)
{
    for (size_t i = t->n; i-- > 0;)
        if (strcmp(t->m[i].name, name) == 0)
            return &t->m[i];
    return NULL;
}

/* os.path.normpath for the names _find_link_target compares: empty and "." components
 * dropped, ".." removes the previous component (kept at the start of a relative path). */
static void norm_path(const char *in, char *out, size_t size)
{
    size_t o = 0, starts[NAME_LEN / 2], depth = 0;
    int abs = in[0] == '/';
    if (abs)
        out[o++] = '/';
    for (const char *c = in; *c;) {
        const char *e = strchr(c, '/');
        size_t cl = e ? (size_t)(e - c) : strlen(c);
        if (cl == 2 && c[0] == '.' && c[1] == '.' && depth > 0) {
            o = starts[--depth];
        } else if (!(cl == 0 || (cl == 1 && c[0] == '.')) &&
                   !(abs && depth == 0 && cl == 2 && c[0] == '.' && c[1] == '.')) {
            size_t at = o;
            if (o > (size_t)abs)
                out[o++] = '/';
            if (o + cl >= size || depth >= sizeof(starts) / sizeof(starts[0]))
                break;
            memcpy(out + o, c, cl);
            o += cl;
            if (!(cl == 2 && c[0] == '.' && c[1] == '.'))
                starts[depth++] = at;
        }
        c += cl + (e != NULL);
    }
    if (o == 0)
        out[o++] = '.';
    out[o] = '\0';
}

/* TarFile._find_link_target: a hard link names an earlier member, a symbolic link a name
 * relative to its own folder, searched in the whole archive; both compared normalised. */
static const tar_member *link_target(const tar_walk *t, const tar_member *m)
{
    char want[2 * NAME_LEN + 2], w[2 * NAME_LEN + 2], cand[NAME_LEN];
    size_t limit = t->n;
    if (m->type == '2') {
        const char *slash = strrchr(m->name, '/');
        int dl = slash ? (int)(slash - m->name) : 0;
        snprintf(want, sizeof(want), "%.*s%s%s", dl, m->name, dl && m->link[0] ? "/" : "", m->link);
    } else {
        snprintf(want, sizeof(want), "%s", m->link);
        limit = (size_t)(m - t->m);
    }
    norm_path(want, w, sizeof(w));
    for (size_t i = limit; i-- > 0;) {
        norm_path(t->m[i].name, cand, sizeof(cand));
        if (strcmp(cand, w) == 0)
            return &t->m[i];
    }
    return NULL;
}

/* What tarfile.extractfile reads for m: m itself when its type has data (regular or unknown
 * types), a link's target followed a bounded number of times, or NULL (no data, not found,
 * or a chain stcheck does not follow). */
static const tar_member *resolve(const tar_walk *t, const tar_member *m)
{
    for (int hops = 0; m != NULL && hops < 8; hops++) {
        if (has_data(m->type))
            return m;
        if (m->type != '1' && m->type != '2')
            return NULL;
        m = link_target(t, m);
    }
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

/* 0; -1 when the member ends inside the field (ST312); -2 when the read failed (ST902). */
static int read_le(tar_walk *t, const tar_member *m, uint64_t pos, unsigned char *out, size_t n)
{
    if (m->data_off + m->size - pos < n) {
        st_report_add(t->r, ST_R_TORCH_STORAGE, pos, 0, "member \"%s\" ends inside a record",
                      nm(m).s);
        return -1;
    }
    if (st_src_read(t->in->src, pos, out, n) != ST_OK) {
        io_error(t, pos);
        return -2;
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
        int rc = read_le(t, m, pos, cnt, 8);
        if (rc != 0)
            return rc == -2 ? ST_E_IO : ST_OK;
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
        int rc = read_le(t, m, pos, nd, 4);
        if (rc != 0)
            return rc == -2 ? ST_E_IO : ST_OK;
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
    st_error err = st_src_read(t->in->src, m->data_off, buf, (size_t)m->size) == ST_OK
                       ? ST_OK
                       : io_error(t, m->data_off);
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

/* A torch part or member that is not a plain file: tarfile still reads data for it. */
static void irregular(tar_walk *t, const tar_member *m, const tar_member *data, int extracted)
{
    const char *what = m->sparse ? "a GNU sparse file tarfile reassembles from a map"
                       : m->type == '2' && extracted ? "a symbolic link: torch extracts it and "
                                                       "reads the file it names"
                       : m->type == '1' || m->type == '2' ? "a link to another member"
                       : m->type == '7'                   ? "a contiguous file (type 7)"
                                                          : "of an unknown type, read as a file";
    st_report_add(t->r, ST_R_TAR_IRREGULAR, m->hdr_off, 0,
                  "member \"%s\" (typeflag 0x%02x) is %s%s", nm(m).s, (unsigned char)m->type, what,
                  data == NULL && (m->type == '1' || m->type == '2') ? " that is missing" : "");
}

/* The data torch reads for part k: extractfile for "pickle", tar.extract (a symbolic link
 * becomes a real one, then opened) for "storages" and "tensors". */
static const tar_member *part_data(tar_walk *t, const tar_member *m, int k)
{
    if (m->type == '0' || m->type == '\0')
        return m;
    int extracted = k >= 2;
    const tar_member *d = extracted && m->type == '2' ? NULL : resolve(t, m);
    irregular(t, m, d, extracted);
    return d != NULL && d->sparse ? NULL : d;
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
        const tar_member *d = chosen[i] ? part_data(t, chosen[i], i) : NULL;
        if (chosen[i] == NULL)
            st_report_add(t->r, ST_R_TORCH_NO_PICKLE, 0, 0,
                          "the tar checkpoint lacks its \"%s\" member", parts[i]);
        else if (d != NULL)
            err = walk_part(t, d, i);
    }
    /* Earlier copies of a duplicated part (another reader may take the first) are framed the
     * same way; members torch never reads are reported and checked by content. */
    for (size_t i = 0; i < t->n && err == ST_OK; i++) {
        const tar_member *m = &t->m[i];
        int part = -1;
        for (int k = 0; k < 4; k++)
            if (strcmp(m->name, parts[k]) == 0)
                part = k;
        if (!has_data(m->type) || m->sparse || (part >= 0 && chosen[part] == m))
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

/* Every member with data (regular and unknown types, as extractfile reads them). */
static st_error check_members(tar_walk *t)
{
    st_error err = ST_OK;
    for (size_t i = 0; i < t->n && err == ST_OK; i++) {
        const tar_member *m = &t->m[i];
        if (m->sparse)
            irregular(t, m, NULL, 0);
        else if (has_data(m->type) && m->size > 0)
            err = check_one(t, m);
    }
    return err;
}

/* Nonzero when pickle.load from byte 0 imports or calls something before it stops: walked
 * into a scratch report (an ordinary tar header fails at its first opcodes, no finding). */
static int pickle_acts(st_input *in, st_error *err)
{
    st_report *probe = st_report_new(in->ctx, "");
    if (probe == NULL) {
        *err = ST_E_NOMEM;
        return 0;
    }
    st_input view = *in;
    view.report = probe;
    view.on_tensor = NULL;
    st_pk_job job = {.in = &view,
                     .src = in->src,
                     .end = in->src->size,
                     .profile = ST_PK_PROFILE_DATA,
                     .single = 1};
    st_pk_result res;
    *err = st_pickle_walk(&job, &res);
    st_pk_result_free(&res);
    /* a probe whose report ran out of memory may have lost the very imports it looked for:
     * walked again for real (fail closed) */
    int acts =
        probe->n_imports > 0 || probe->calls_total > 0 || *err != ST_OK || probe->err != ST_OK;
    st_report_free(probe);
    if (*err == ST_E_IO) { /* the bytes could not be read: could not check, not a polyglot */
        st_report_add(in->report, ST_R_IO, 0, 0, "could not read the file as a pickle");
        return 0;
    }
    *err = ST_OK; /* a probe that could not finish otherwise is walked again for real */
    return acts;
}

/* torch.load's _legacy_load tries tarfile first and, on any TarError, reads the same bytes as
 * legacy pickles from offset 0: when the first header is also a pickle (one that plausibly
 * parses, or one that imports or calls before it fails), both views are checked. */
static st_error pickle_view(st_input *in)
{
    st_error err = ST_OK;
    if (!st_pk_looks_like_pickle(in->head, in->head_len) && !pickle_acts(in, &err))
        return err;
    st_report_add(in->report, ST_R_LOADER_POLYGLOT, 0, BLOCK,
                  "the first tar header is also a pickle: torch.load reads the tar, and the "
                  "pickle when tarfile fails; both are checked");
    const char *format = in->report->format;
    err = st_rawpickle_check(in);
    in->report->format = format;
    return err;
}

st_error st_tar_check(st_input *in)
{
    tar_walk t = {in, in->report, NULL, 0, 0, 0};
    in->report->format = "tar";
    st_error err = walk(&t);
    if (err == ST_OK) {
        check_names(&t);
        err = find(&t, "pickle") != NULL && (find(&t, "storages") || find(&t, "tensors"))
                  ? check_torch(&t)
                  : check_members(&t);
    }
    free(t.m);
    st_error e2 = pickle_view(in);
    return err != ST_OK ? err : e2;
}

/* Python's tarfile.open accepts any first block whose checksum and numeric fields parse
 * (TarInfo.frombuf), with or without the ustar magic; torch.load tries it before the pickle
 * format, so it outranks the pickle sniff (but not a zip's first local header). */
int st_tar_sniff(const st_input *in)
{
    if (st_tar_header_valid(in->head, in->head_len))
        return 94;
    /* a ustar header tarfile refuses: no loader reads it as a tar, but nothing else may claim
     * it either; below the confidence of a second view */
    return in->head_len >= 262 && memcmp(in->head + 257, "ustar", 5) == 0 ? 50 : 0;
}

/* For stcheck convert (src/convert/tarplan.c), on a checkpoint that passed st_tar_check: the
 * data of sys_info, pickle, storages and tensors as tarfile returns them (the last member of
 * the name). A part that is missing or not a plain file (typeflag '0' or NUL) gets size
 * UINT64_MAX. Walk findings go to in->report (a scratch report: the check recorded them). */
st_error st_tar_torch_parts(st_input *in, uint64_t off[4], uint64_t size[4])
{
    static const char *const parts[] = {"sys_info", "pickle", "storages", "tensors"};
    tar_walk t = {in, in->report, NULL, 0, 0, 0};
    st_error err = walk(&t);
    for (int i = 0; i < 4; i++) {
        const tar_member *m = err == ST_OK ? find(&t, parts[i]) : NULL;
        int plain = m != NULL && (m->type == '0' || m->type == '\0') && !m->sparse;
        off[i] = plain ? m->data_off : 0;
        size[i] = plain ? m->size : UINT64_MAX;
    }
    free(t.m);
    return err;
}
