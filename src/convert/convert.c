/*
 * convert.c - stcheck convert and stcheck compare (docs/convert.md).
 *
 * Convert: the input is checked first, on the descriptor that is then converted; only a
 * passing PyTorch checkpoint is converted. Its plan (plan.c) is written as a safetensors file
 * exactly as the safetensors crate lays one out (tensor/tensor.rs prepare: tensors by dtype
 * descending then name, offsets accumulated, the header serde_json's compact form with
 * "__metadata__" first - its keys sorted here, the crate leaves a HashMap's order - padded with
 * spaces to a multiple of 8), so the same input always gives the same bytes. The output goes to
 * a temporary file beside OUTPUT, is fsynced, checked with stcheck's own validator in strict
 * mode, compared with the input tensor by tensor, and only then renamed to OUTPUT.
 */
#define _GNU_SOURCE /* copy_file_range (Linux) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/checked.h"
#include "../core/escape.h"
#include "convert.h"

/* ---- output sinks ----------------------------------------------------------------------- */

typedef struct {
    int fd;             /* -1: memory */
    unsigned char *mem; /* memory output */
    size_t len, cap, max;
} sink;

static int sink_write(sink *s, const void *p, size_t n)
{
    if (s->fd < 0) {
        if (n > s->max - s->len)
            return -1;
        if (s->cap - s->len < n) {
            size_t cap = s->cap ? s->cap : 4096;
            while (cap - s->len < n)
                cap = cap > s->max / 2 ? s->max : cap * 2;
            unsigned char *m = realloc(s->mem, cap);
            if (m == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
                return -1; /* GCOVR_EXCL_LINE: allocation failure */
            s->mem = m;
            s->cap = cap;
        }
        memcpy(s->mem + s->len, p, n);
        s->len += n;
        return 0;
    }
    const unsigned char *b = p;
    while (n > 0) {
        ssize_t w = write(s->fd, b, n);
        if (w < 0 && errno == EINTR) /* GCOVR_EXCL_BR_LINE: signals */
            continue;                /* GCOVR_EXCL_LINE: signals */
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ---- the header, as serde_json writes it ------------------------------------------------ */

typedef struct {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
    if (b->oom) /* GCOVR_EXCL_BR_LINE: allocation failure */
        return;
    if (b->cap - b->n < n + 1) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap - b->n < n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) { /* GCOVR_EXCL_BR_LINE: allocation failure */
            b->oom = 1;  /* GCOVR_EXCL_LINE: allocation failure */
            return;      /* GCOVR_EXCL_LINE: allocation failure */
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void puts_(sbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void put_u64(sbuf *b, uint64_t v)
{
    char d[24];
    int k = snprintf(d, sizeof(d), "%llu", (unsigned long long)v);
    put(b, d, (size_t)k);
}

/* serde_json's escaping: ", \ and the short forms, other controls as \u00xx, the rest raw */
static void put_json_str(sbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *e = c == '"'    ? "\\\""
                        : c == '\\' ? "\\\\"
                        : c == '\b' ? "\\b"
                        : c == '\f' ? "\\f"
                        : c == '\n' ? "\\n"
                        : c == '\r' ? "\\r"
                        : c == '\t' ? "\\t"
                                    : NULL;
        char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        if (e != NULL)
            puts_(b, e);
        else if (c < 0x20)
            put(b, u, 6);
        else
            put(b, (const char *)&s[i], 1);
    }
    put(b, "\"", 1);
}

typedef struct {
    const char *k, *v;
} kv;

static int kv_cmp(const void *a, const void *b)
{
    return strcmp(((const kv *)a)->k, ((const kv *)b)->k);
}

static int build_header(const st_cv_plan *p, sbuf *b, uint64_t *data_len)
{
    kv *meta = malloc((p->n_alias + 1) * sizeof(kv));
    size_t nm = 0;
    uint64_t off = 0;
    if (meta == NULL)                  /* GCOVR_EXCL_BR_LINE: allocation failure */
        return -1;                     /* GCOVR_EXCL_LINE: allocation failure */
    meta[nm++] = (kv){"format", "pt"}; /* an alias named so was refused (no_format_alias) */
    for (size_t i = 0; i < p->n_alias; i++)
        meta[nm++] = (kv){p->alias[i].name, p->alias[i].target};
    qsort(meta, nm, sizeof(kv), kv_cmp);
    puts_(b, "{\"__metadata__\":{");
    for (size_t i = 0; i < nm; i++) {
        if (i)
            put(b, ",", 1);
        put_json_str(b, meta[i].k, strlen(meta[i].k));
        put(b, ":", 1);
        put_json_str(b, meta[i].v, strlen(meta[i].v));
    }
    put(b, "}", 1);
    free(meta);
    for (size_t i = 0; i < p->n; i++) {
        const st_cv_tensor *t = &p->t[i];
        put(b, ",", 1);
        put_json_str(b, t->name, t->name_len);
        puts_(b, ":{\"dtype\":\"");
        puts_(b, st_dtype_name(t->dtype));
        puts_(b, "\",\"shape\":[");
        for (unsigned d = 0; d < t->rank; d++) {
            if (d)
                put(b, ",", 1);
            put_u64(b, t->shape[d]);
        }
        puts_(b, "],\"data_offsets\":[");
        put_u64(b, off);
        put(b, ",", 1);
        /* each tensor is at most its source's bytes or the member limit (amplified) */
        if (st_add_u64(off, t->nbytes, &off)) /* GCOVR_EXCL_BR_LINE: see above */
            return -1;                        /* a limit refused such sizes before: defensive */
        put_u64(b, off);
        puts_(b, "]}");
    }
    put(b, "}", 1);
    while (b->n % 8 != 0)
        put(b, " ", 1);
    *data_len = off;
    return b->oom ? -1 : 0; /* GCOVR_EXCL_BR_LINE: allocation failure */
}

/* ---- writing ---------------------------------------------------------------------------- */

/* A contiguous tensor to a file: the kernel copies page cache to page cache (what cp does),
 * from the input's descriptor (a file output always comes with a file input). What it does
 * not copy (no copy_file_range, another file system's refusal) goes through the window. */
static uint64_t copy_in_kernel(const st_src *src, const st_cv_tensor *t, const sink *out)
{
    uint64_t done = 0;
#ifdef __linux__
    loff_t in = (loff_t)(t->base + t->first * st_dtype_size(t->dtype));
    while (out->fd >= 0 && !t->swap && t->contiguous && done < t->nbytes) {
        size_t want = t->nbytes - done > (1u << 30) ? 1u << 30 : (size_t)(t->nbytes - done);
        ssize_t n = copy_file_range(src->fd, &in, out->fd, NULL, want, 0);
        if (n <= 0) /* GCOVR_EXCL_BR_LINE: a kernel or file system without it, a shrunk file */
            break;  /* GCOVR_EXCL_LINE: see above */
        done += (uint64_t)n;
    }
#endif
    return done;
}

static st_error write_plan(const st_src *src, const st_cv_plan *p, sink *out)
{
    sbuf h = {0};
    uint64_t data_len;
    unsigned char n8[8], *win = malloc(ST_CV_WINDOW);
    st_cv_cache cache = {0};
    st_error err = win == NULL ? ST_E_NOMEM : ST_OK; /* GCOVR_EXCL_BR_LINE: malloc */
    /* GCOVR_EXCL_BR_START: allocation failure */
    if (err == ST_OK && build_header(p, &h, &data_len) != 0)
        err = ST_E_NOMEM; /* GCOVR_EXCL_LINE: allocation failure */
    /* GCOVR_EXCL_BR_STOP */
    for (int i = 0; i < 8; i++)
        n8[i] = (unsigned char)((uint64_t)h.n >> (8 * i));
    if (err == ST_OK && (sink_write(out, n8, 8) != 0 || sink_write(out, h.p, h.n) != 0))
        err = ST_E_IO;
    for (size_t i = 0; err == ST_OK && i < p->n; i++) {
        const st_cv_tensor *t = &p->t[i];
        unsigned es = st_dtype_size(t->dtype);
        uint64_t per = ST_CV_WINDOW / es, copied = copy_in_kernel(src, t, out);
        if (copied % es != 0) /* GCOVR_EXCL_BR_LINE: a copy stopped inside an element */
            err = ST_E_IO;    /* GCOVR_EXCL_LINE: see above */
        /* a read of a file that passed its check fails only when it shrinks under us */
        for (uint64_t at = copied / es; err == ST_OK && at < t->numel;
             at += per) { /* GCOVR_EXCL_BR_LINE */
            uint64_t n = t->numel - at < per ? t->numel - at : per;
            err = st_cv_fill(src, t, at, n, win, &cache);
            if (err == ST_OK && /* GCOVR_EXCL_BR_LINE: see above */
                sink_write(out, win, (size_t)(n * st_dtype_size(t->dtype))) != 0)
                err = ST_E_IO;
        }
    }
    free(win);
    free(h.p);
    st_cv_cache_free(&cache);
    return err;
}

/* ---- checking the input ----------------------------------------------------------------- */

/* The ids of a report's findings (as many as fit). */
static void ids_of(const st_report *r, char *out, size_t size)
{
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < r->n_findings && k + 8 < size; i++)
        k += (size_t)snprintf(out + k, size - k, "%s%s", k ? " " : "", r->findings[i].id);
}

/* The reading a plan takes: the report's format, or "npz" for numpy.savez's zips. */
static const char *plan_format(const st_report *r)
{
    const char *fmt = st_report_format(r), *kind = st_report_kind(r);
    if (strcmp(fmt, "zip") == 0 && kind != NULL && strcmp(kind, "npz") == 0)
        return "npz";
    return fmt;
}

/* A plan of the input open on src, or the reason there is none (findings in r). */
static st_error input_plan(const st_ctx *ctx, st_report *r, const st_report *check,
                           const st_src *src, const char *name, st_cv_plan *p, int *refused)
{
    const char *fmt = plan_format(check);
    int checkpoint = strcmp(fmt, "pytorch") == 0 || strcmp(fmt, "pytorch-legacy") == 0 ||
                     strcmp(fmt, "pytorch-tar") == 0 || strcmp(fmt, "npz") == 0;
    st_error err =
        checkpoint ? st_cv_plan_build(ctx, r, src, name, fmt, 1, p, refused) : ST_E_UNSUPPORTED;
    if (err == ST_E_UNSUPPORTED)
        st_report_add(r, ST_R_CV_REFUSED, 0, 0,
                      "convert reads PyTorch zip, legacy and tar checkpoints and .npz; this is %s",
                      fmt);
    return err;
}

/* The check of the input open on fd (or, fd < 0, at path). A shard index checks its shards
 * from its folder, which a descriptor does not give: it is checked by path (its shards are
 * checked again, each on the descriptor it is read from, by shards.c). */
static st_report *check_input(st_ctx *ctx, int fd, const char *path)
{
    st_report *r = fd >= 0 ? st_check_fd(ctx, fd, path) : st_check_path(ctx, path);
    if (fd >= 0 && r != NULL && strcmp(st_report_format(r), "shard-index") == 0) {
        st_report_free(r);
        r = st_check_path(ctx, path);
    }
    return r;
}

/* The output on fd (or in memory) passes the validator and holds what the input holds. */
static int verify_output(const st_ctx *ctx, st_report *r, const st_src *in_src,
                         const st_cv_plan *in_plan, const st_src *out_src)
{
    st_ctx *v = st_ctx_clone(ctx);
    st_report *vr = NULL, *scratch = st_report_new(ctx, "output");
    st_cv_plan op = {0};
    int refused = 0, differs = 1, valid = 0;
    char ids[200] = "";
    if (v != NULL && scratch != NULL) { /* GCOVR_EXCL_BR_LINE: allocation failure */
        st_ctx_set_strict(v, 1);
        vr = out_src->fd >= 0 ? st_check_fd(v, out_src->fd, "output")
                              : st_check_buffer(v, out_src->mem, (size_t)out_src->size, "output");
        valid = st_report_verdict(vr) == ST_VERDICT_PASS;
        /* the header written starts with its length and '{': always identified as safetensors */
        valid = valid && strcmp(st_report_format(vr), "safetensors") == 0; /* GCOVR_EXCL_BR_LINE */
    }
    if (vr != NULL && !valid) /* GCOVR_EXCL_BR_LINE: vr is NULL only when memory ran out */
        ids_of(vr, ids, sizeof(ids));
    st_error perr = ST_E_UNSUPPORTED;
    if (valid)
        perr = st_cv_plan_build(ctx, scratch, out_src, "output", "safetensors", 0, &op, &refused);
    /* the strict validator passed the header this reader reads: it cannot refuse it */
    if (perr == ST_OK && !refused) /* GCOVR_EXCL_BR_LINE: see above */
        st_cv_compare(in_src, in_plan, out_src, &op, scratch, &differs);
    if (!valid)
        st_report_add(r, ST_R_CV_OUTPUT, 0, 0,
                      "the output fails stcheck --strict (%s); nothing is written", ids);
    else if (differs) /* GCOVR_EXCL_BR_LINE: written from the same plan; a difference is a bug */
        st_report_add(r, ST_R_CV_OUTPUT, 0, 0, /* GCOVR_EXCL_LINE: see above */
                      "the output read back differs from the input; nothing is written");
    st_cv_plan_free(&op);
    st_report_free(vr);
    st_report_free(scratch);
    st_ctx_free(v);
    return valid && !differs ? 0 : -1; /* GCOVR_EXCL_BR_LINE: differs, see above */
}

/* ---- files ------------------------------------------------------------------------------ */

int st_cv_open_input(const char *path, st_src *src)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) { /* GCOVR_EXCL_BR_LINE: fstat of an fd */
        close(fd);
        return -1;
    }
    *src = (st_src){fd, NULL, (uint64_t)st.st_size};
    return fd;
}

/* The folder of output ("." for a bare name, "/" for one in the root): 0, or -1 when too long. */
static int folder_of(const char *output, char *dir, size_t size)
{
    const char *slash = strrchr(output, '/');
    size_t n = slash == NULL ? 0 : (size_t)(slash - output) + (slash == output);
    if (n + 32 > size)
        return -1;
    memcpy(dir, slash == NULL ? "." : output, slash == NULL ? 1 : n);
    dir[slash == NULL ? 1 : n] = '\0';
    return 0;
}

static int temp_beside(const char *output, char *tmp, size_t size)
{
    if (folder_of(output, tmp, size) != 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(tmp + strlen(tmp), "/.stcheck-convert.XXXXXX", 25);
    int fd = mkstemp(tmp);
    if (fd >= 0)
        fchmod(fd, 0644);
    return fd;
}

int st_cv_temp_beside(const char *output, char *tmp)
{
    return temp_beside(output, tmp, 4200);
}

void st_cv_sync_dir(const char *output)
{
    char dir[4200];
    folder_of(output, dir, sizeof(dir)); /* it fitted for the temporary file */
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    fsync(fd); /* EBADF when it failed: the rename is done either way */
    close(fd);
}

static void output_failed(st_report *r, const char *what, int e)
{
    st_report_add(r, ST_R_CV_OUTPUT, 0, 0, "%s: %s; nothing is written", what, strerror(e));
    st_report_fail(r, ST_E_IO);
}

/* Writes the plan to a temporary file beside output (its name in tmp, 4200 bytes), verifies
 * and fsyncs it: 0; else -1, the temporary file removed and the reason in r. */
int st_cv_write_temp(const st_ctx *ctx, st_report *r, const st_src *src, const st_cv_plan *p,
                     const char *output, char *tmp)
{
    int fd = temp_beside(output, tmp, 4200);
    if (fd < 0) {
        output_failed(r, "cannot create a temporary file beside the output", errno);
        return -1;
    }
    sink s = {.fd = fd};
    st_error err = write_plan(src, p, &s);
    struct stat st;
#ifdef __linux__
    /* writeback starts now and runs while the output is verified from the page cache; the
     * fsync below, before the rename, waits for it (cp's time plus the verification, not plus
     * the disk) */
    if (err == ST_OK)
        sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
    if (err == ST_OK && fstat(fd, &st) != 0) /* GCOVR_EXCL_BR_LINE: fstat of an open fd */
        err = ST_E_IO;                       /* GCOVR_EXCL_LINE: see above */
    int ok = 0;
    if (err != ST_OK) {
        st_report_add(r, ST_R_CV_OUTPUT, 0, 0, "writing the output failed (%s); nothing is written",
                      st_error_name(err));
        st_report_fail(r, err);
    } else {
        st_src out = {fd, NULL, (uint64_t)st.st_size};
        ok = verify_output(ctx, r, src, p, &out) == 0; /* else ST673: the verdict fails */
        if (ok && fsync(fd) != 0) { /* GCOVR_EXCL_BR_LINE: a disk failing after the writes */
            output_failed(r, "cannot sync the output", errno); /* GCOVR_EXCL_LINE: see above */
            ok = 0;                                            /* GCOVR_EXCL_LINE: see above */
        }
    }
    close(fd);
    if (!ok)
        unlink(tmp);
    return ok ? 0 : -1;
}

/* Renames a verified temporary file to output: 0, or -1 (the reason in r; tmp is left). */
int st_cv_publish(st_report *r, const char *tmp, const char *output)
{
    if (rename(tmp, output) != 0) {
        output_failed(r, "cannot rename the output into place", errno);
        return -1;
    }
    return 0;
}

/* Writes the plan beside output, verifies it and renames it into place. */
static void write_file(const st_ctx *ctx, st_report *r, const st_src *src, const st_cv_plan *p,
                       const char *output)
{
    char tmp[4200];
    if (st_cv_write_temp(ctx, r, src, p, output, tmp) != 0)
        return;
    if (st_cv_publish(r, tmp, output) == 0)
        st_cv_sync_dir(output);
    else
        unlink(tmp);
}

/* convert.py records a removed name in __metadata__ only "if to_remove not in metadata": a
 * removed tensor named "format" would vanish without a record. Refused instead. */
static int no_format_alias(st_report *r, const st_cv_plan *p)
{
    for (size_t i = 0; i < p->n_alias; i++)
        if (strcmp(p->alias[i].name, "format") == 0) {
            st_report_add(r, ST_R_CV_REFUSED, 0, 0,
                          "the tensor \"format\" shares a storage and would be removed, but "
                          "__metadata__ cannot record it (its \"format\" key is \"pt\")");
            return 1;
        }
    return 0;
}

/* Amplification: a view repeating elements (stride 0) is written out in full, as torch's
 * contiguous() does; beyond the member limit that is a bomb, not a checkpoint. */
static int amplified(const st_ctx *ctx, st_report *r, const st_cv_plan *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->t[i].numel > p->t[i].span &&
            p->t[i].nbytes > st_ctx_get_limit(ctx, ST_LIMIT_MEMBER_BYTES)) {
            char s[160];
            st_report_add(r, ST_R_LIMIT, 0, 0,
                          "\"%s\" repeats its storage's elements into %llu bytes, over "
                          "the member limit",
                          st_escape(p->t[i].name, p->t[i].name_len, s, sizeof(s), 100),
                          (unsigned long long)p->t[i].nbytes);
            st_report_fail(r, ST_E_LIMIT);
            return 1;
        }
    return 0;
}

/* The plan convert writes for the input open on src, checked by r's check: 0, or -1 with the
 * reason in r (refused, or failed with the error). */
int st_cv_usable_plan(const st_ctx *ctx, st_report *r, const st_report *check, const st_src *src,
                      const char *name, st_cv_plan *p)
{
    int refused = 0;
    st_error err = input_plan(ctx, r, check, src, name, p, &refused);
    if (err != ST_OK)
        st_report_fail(r, err);
    return err == ST_OK && !refused && !amplified(ctx, r, p) && !no_format_alias(r, p) ? 0 : -1;
}

st_report *st_convert_path(st_ctx *ctx, const char *input, const char *output)
{
    st_src src;
    if (ctx == NULL || input == NULL || output == NULL)
        return NULL;
    int fd = st_cv_open_input(input, &src);
    if (fd < 0)
        return st_check_path(ctx, input); /* the reason, as a check gives it */
    st_report *r = check_input(ctx, fd, input);
    st_cv_plan p = {0};
    if (st_report_verdict(r) == ST_VERDICT_PASS && /* NULL (out of memory): could not check */
        strcmp(st_report_format(r), "shard-index") == 0)
        st_cv_convert_index(ctx, r, input, output);
    else if (st_report_verdict(r) == ST_VERDICT_PASS &&
             st_cv_usable_plan(ctx, r, r, &src, input, &p) == 0)
        write_file(ctx, r, &src, &p, output);
    st_cv_plan_free(&p);
    close(fd);
    return r;
}

st_report *st_cv_convert_buffer(st_ctx *ctx, const void *data, size_t size, unsigned char **out,
                                size_t *out_len, size_t max_out)
{
    st_src src = {-1, data, size};
    st_report *r = st_check_buffer(ctx, data, size, "input");
    st_cv_plan p = {0};
    sink s = {.fd = -1, .max = max_out};
    int refused = 0, ok = 0;
    *out = NULL;
    *out_len = 0;
    if (st_report_verdict(r) == ST_VERDICT_PASS) { /* NULL (out of memory): could not check */
        st_error err = input_plan(ctx, r, r, &src, "input", &p, &refused);
        ok = err == ST_OK && !refused && !amplified(ctx, r, &p) && !no_format_alias(r, &p);
        if (ok)
            err = write_plan(&src, &p, &s);
        if (err != ST_OK)
            st_report_fail(r, err);
        st_src o = {-1, s.mem, s.len};
        ok = ok && err == ST_OK && verify_output(ctx, r, &src, &p, &o) == 0;
    }
    if (ok) {
        *out = s.mem;
        *out_len = s.len;
    } else
        free(s.mem);
    st_cv_plan_free(&p);
    return r;
}

/* ---- compare ---------------------------------------------------------------------------- */

typedef struct {
    int fd;
    st_src src;
    st_cv_plan plan;
    st_cv_set set; /* a shard index: the shards' union (set.plan) */
} side;

static int load_side(st_ctx *ctx, st_report *r, const char *path, side *s)
{
    char shown[200], ids[200];
    st_escape(path, strlen(path), shown, sizeof(shown), 150);
    s->fd = st_cv_open_input(path, &s->src);
    st_report *cr = check_input(ctx, s->fd, path);
    if (cr == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
        return -1;  /* GCOVR_EXCL_LINE: allocation failure */
    st_verdict v = st_report_verdict(cr);
    ids_of(cr, ids, sizeof(ids));
    if (v != ST_VERDICT_PASS) {
        st_report_add(r, ST_R_CMP_INPUT, 0, 0, "%s %s (%s)", shown,
                      v == ST_VERDICT_FAIL ? "fails its checks" : "could not be checked", ids);
        if (v == ST_VERDICT_ERROR)
            st_report_fail(r, ST_E_UNSUPPORTED);
        st_report_free(cr);
        return -1;
    }
    if (strcmp(st_report_format(cr), "shard-index") == 0) {
        st_report_free(cr);
        if (st_cv_index_plan(ctx, r, path, &s->set) == 0)
            return 0;
        st_report_add(r, ST_R_CMP_INPUT, 0, 0, "%s cannot be compared (a shard cannot be read)",
                      shown);
        return -1;
    }
    int refused = 0;
    st_error err = st_cv_plan_build(ctx, r, &s->src, path, plan_format(cr), 0, &s->plan, &refused);
    st_report_free(cr);
    if (err != ST_OK || refused) {
        st_report_add(r, ST_R_CMP_INPUT, 0, 0, "%s cannot be compared (%s)", shown,
                      refused ? "its tensors cannot be rebuilt"
                              : "not a checkpoint or safetensors file");
        if (err != ST_OK)
            st_report_fail(r, err);
        return -1;
    }
    return 0;
}

st_report *st_compare_paths(st_ctx *ctx, const char *a, const char *b)
{
    if (ctx == NULL || a == NULL || b == NULL)
        return NULL;
    st_report *r = st_report_new(ctx, a);
    side sa = {.fd = -1}, sb = {.fd = -1};
    if (r == NULL) /* GCOVR_EXCL_BR_LINE: allocation failure */
        return NULL;
    r->format = "compare";
    int ok = load_side(ctx, r, a, &sa) == 0;
    ok = load_side(ctx, r, b, &sb) == 0 && ok;
    int differs = 0;
    if (ok) {
        st_error err = st_cv_compare(&sa.src, sa.set.s ? &sa.set.plan : &sa.plan, &sb.src,
                                     sb.set.s ? &sb.set.plan : &sb.plan, r, &differs);
        if (err != ST_OK) /* GCOVR_EXCL_BR_LINE: checked files fail reads only when they shrink */
            st_report_fail(r, err);
    }
    for (side *s = &sa; s != NULL; s = s == &sa ? &sb : NULL) {
        st_cv_plan_free(&s->plan);
        st_cv_set_free(&s->set);
        if (s->fd >= 0)
            close(s->fd);
    }
    return r;
}
