/*
 * onnx_files.c - the files an ONNX model makes its loader read: external data (TensorProto
 * data_location EXTERNAL, onnx external_data_helper.py load_external_data_for_tensor,
 * onnxruntime tensorprotoutils.cc ReadExternalDataForTensor) and EPContext cache files
 * (embed_mode 0). Each is opened by its location beneath the model's folder descriptor, the
 * way index.c opens shards (st_input.open_dir; a remote model's siblings through open_sibling),
 * never read: only its size matters, and the bytes are never parsed as a model. Every tensor's
 * offset + length must lie within its file (overflow-checked) and no two tensors may overlap.
 * Ranges are sorted (file, offset), so many tensors cost n log n and memory linear in them,
 * bounded by the tensors limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/checked.h"
#include "../../core/ctx.h"
#include "../../core/escape.h"
#include "onnx_int.h"

int st_onnx_ext_add(walk *w, const char *loc, uint64_t off, uint64_t len, int has_len,
                    uint64_t where, int ep_context)
{
    if (w->ext_limited)
        return 1;
    if (w->n_ext >= w->in->ctx->limits[ST_LIMIT_TENSORS]) {
        w->ext_limited = 1;
        st_report_add(w->in->report, ST_R_LIMIT, where, 0,
                      "more than %llu tensors in external files (limit \"tensors\"): the files "
                      "were not checked",
                      (unsigned long long)w->in->ctx->limits[ST_LIMIT_TENSORS]);
        return 1;
    }
    size_t n = strlen(loc) + 1;
    char *p = malloc(n);
    /* GCOVR_EXCL_START: malloc failure */
    if (p == NULL || st_grow(&w->ext, &w->cap_ext, w->n_ext, sizeof(*w->ext), 16) != 0) {
        free(p);
        w->nomem = 1;
        return 1;
    }
    /* GCOVR_EXCL_STOP */
    memcpy(p, loc, n);
    w->ext[w->n_ext++] = (st_onnx_ext){
        p, off, len, where, (unsigned char)(has_len != 0), (unsigned char)(ep_context != 0)};
    return 0;
}

void st_onnx_ext_free(walk *w)
{
    for (size_t i = 0; i < w->n_ext; i++)
        free(w->ext[i].loc);
    free(w->ext);
    w->ext = NULL;
    w->n_ext = w->cap_ext = 0;
}

static int by_file_offset(const void *a, const void *b)
{
    const st_onnx_ext *x = a, *y = b;
    int c = strcmp(x->loc, y->loc);
    if (c != 0)
        return c;
    if (x->off != y->off)
        return x->off < y->off ? -1 : 1;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return (x->where > y->where) - (x->where < y->where);
}

static const char *shown(const char *s, char *buf, size_t size)
{
    return st_escape(s, strlen(s), buf, size, 160);
}

/* The report's list of files: one entry per distinct location, with its tensors and bytes. */
static void list_files(walk *w, size_t groups)
{
    struct st_onnx_facts *f = w->facts;
    f->files = calloc(groups, sizeof(*f->files));
    if (f->files == NULL) { /* GCOVR_EXCL_BR_LINE: malloc failure */
        w->nomem = 1;       /* GCOVR_EXCL_LINE: malloc failure */
        return;             /* GCOVR_EXCL_LINE: malloc failure */
    }
    for (size_t i = 0; i < w->n_ext; i++) {
        const st_onnx_ext *e = &w->ext[i];
        if (i == 0 || strcmp(e->loc, w->ext[i - 1].loc) != 0) {
            size_t n = strlen(e->loc) + 1;
            char *p = malloc(n);
            if (p == NULL) {  /* GCOVR_EXCL_BR_LINE: malloc failure */
                w->nomem = 1; /* GCOVR_EXCL_LINE: malloc failure */
                return;       /* GCOVR_EXCL_LINE: malloc failure */
            }
            memcpy(p, e->loc, n);
            f->files[f->n_files++].path = p;
        }
        st_onnx_file *file = &f->files[f->n_files - 1];
        if (e->ep_context)
            file->ep_context = 1;
        else {
            file->tensors++;
            /* a sum past 2^64 cannot lie in a file: it saturates (ST814 says why) */
            if (st_add_u64(file->bytes, e->len, &file->bytes))
                file->bytes = UINT64_MAX;
        }
    }
}

/* Tensors [i, j) in the file loc of size bytes: each range within it, none overlapping. */
static void judge_ranges(walk *w, size_t i, size_t j, uint64_t size, st_onnx_file *file)
{
    st_report *r = w->in->report;
    char a[200];
    uint64_t max_end = 0;
    for (size_t k = i; k < j; k++) {
        const st_onnx_ext *e = &w->ext[k];
        uint64_t end = 0;
        if (e->ep_context) {
            if (file->tensors == 0)
                file->bytes = size;
            continue;
        }
        if (e->off > size || !e->has_len) {
            if (e->off > size)
                st_report_add(r, ST_R_ONNX_EXTERNAL_RANGE, e->where, 0,
                              "external tensor offset %llu is past the end of \"%s\" (%llu "
                              "bytes)",
                              (unsigned long long)e->off, shown(e->loc, a, sizeof(a)),
                              (unsigned long long)size);
            continue;
        }
        if (st_add_u64(e->off, e->len, &end) || end > size) {
            st_report_add(r, ST_R_ONNX_EXTERNAL_RANGE, e->where, 0,
                          "external tensor bytes %llu + %llu run past the end of \"%s\" (%llu "
                          "bytes)",
                          (unsigned long long)e->off, (unsigned long long)e->len,
                          shown(e->loc, a, sizeof(a)), (unsigned long long)size);
            continue;
        }
        if (e->len > 0 && e->off < max_end)
            st_report_add(r, ST_R_ONNX_EXTERNAL_OVERLAP, e->where, 0,
                          "external tensor bytes %llu..%llu of \"%s\" overlap another tensor's "
                          "(up to %llu)",
                          (unsigned long long)e->off, (unsigned long long)end,
                          shown(e->loc, a, sizeof(a)), (unsigned long long)max_end);
        if (end > max_end)
            max_end = end;
    }
}

/* Opens loc beneath the model's folder (a plain relative path, judged by the walk: no '..',
 * not absolute) and returns its size; -1 with ST813 when it is not a readable regular file. */
static int local_size(walk *w, int dirfd, const st_onnx_ext *e, uint64_t *size)
{
    char a[200];
    int fd = openat(dirfd, e->loc, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    int err = errno;
    struct stat st;
    /* fstat of an open descriptor does not fail: that test is defence */
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) { /* GCOVR_EXCL_BR_LINE */
        st_report_add(w->in->report, ST_R_ONNX_EXTERNAL_MISSING, e->where, 0, "%s \"%s\" %s",
                      e->ep_context ? "EPContext cache file" : "external data file",
                      shown(e->loc, a, sizeof(a)),
                      fd < 0 && err == ENOENT ? "does not exist in the model's folder"
                                              : "is not a readable regular file");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    *size = (uint64_t)st.st_size;
    return 0;
}

/* A remote model: the file next to it, fetched through the sibling opener (its size only). */
static int remote_size(walk *w, const st_onnx_ext *e, uint64_t *size, int *unchecked)
{
    char a[200];
    st_input *in = w->in;
    st_report *scratch = st_report_new(in->ctx, e->loc);
    if (scratch == NULL) { /* GCOVR_EXCL_BR_LINE: malloc failure */
        w->nomem = 1;      /* GCOVR_EXCL_LINE: malloc failure */
        return -1;         /* GCOVR_EXCL_LINE: malloc failure */
    }
    void *h = NULL;
    st_src src;
    st_error err = in->open_sibling(in->sibling_arg, e->loc, scratch, &src, &h);
    if (err == ST_OK)
        *size = src.size;
    else if (err == ST_E_NOTFILE)
        st_report_add(in->report, ST_R_ONNX_EXTERNAL_MISSING, e->where, 0,
                      "%s \"%s\" does not exist in the model's folder",
                      e->ep_context ? "EPContext cache file" : "external data file",
                      shown(e->loc, a, sizeof(a)));
    else {
        st_report_add(in->report, ST_R_ONNX_EXTERNAL_UNCHECKED, e->where, 0,
                      "%s \"%s\" next to the model could not be fetched: not checked",
                      e->ep_context ? "EPContext cache file" : "external data file",
                      shown(e->loc, a, sizeof(a)));
        *unchecked = 1;
    }
    in->close_sibling(in->sibling_arg, h);
    st_report_free(scratch);
    return err == ST_OK ? 0 : -1;
}

st_error st_onnx_check_files(walk *w)
{
    st_input *in = w->in;
    if (w->ext_limited)
        return ST_E_LIMIT;
    if (w->n_ext == 0)
        return ST_OK;
    qsort(w->ext, w->n_ext, sizeof(*w->ext), by_file_offset);
    size_t groups = 0;
    for (size_t i = 0; i < w->n_ext; i++)
        groups += i == 0 || strcmp(w->ext[i].loc, w->ext[i - 1].loc) != 0;
    list_files(w, groups);
    if (w->nomem)          /* GCOVR_EXCL_BR_LINE: malloc failure */
        return ST_E_NOMEM; /* GCOVR_EXCL_LINE: malloc failure */
    int dirfd = in->open_dir ? in->open_dir(in->dir_arg) : -1;
    if (dirfd < 0 && in->open_sibling == NULL) {
        char a[200];
        /* The loader would read files stcheck cannot see: could not check (fail closed). */
        st_report_add(in->report, ST_R_ONNX_EXTERNAL_UNCHECKED, w->ext[0].where, 0,
                      "the model reads %zu external file%s (\"%s\"%s) from its folder, which is "
                      "not %s: not checked",
                      groups, groups == 1 ? "" : "s", shown(w->ext[0].loc, a, sizeof(a)),
                      groups > 1 ? ", ..." : "", in->open_dir ? "readable" : "known here");
        /* could not check, unless a policy turned ST812 off: it accepts unseen files */
        return in->ctx->sev[ST_R_ONNX_EXTERNAL_UNCHECKED] == ST_SEV_OFF ? ST_OK : ST_E_UNSUPPORTED;
    }
    int unchecked = 0;
    size_t file = 0;
    for (size_t i = 0; i < w->n_ext && !w->nomem; file++) { /* GCOVR_EXCL_BR_LINE: nomem */
        size_t j = i + 1;
        while (j < w->n_ext && strcmp(w->ext[j].loc, w->ext[i].loc) == 0)
            j++;
        uint64_t size = 0;
        int ok = dirfd >= 0 ? local_size(w, dirfd, &w->ext[i], &size)
                            : remote_size(w, &w->ext[i], &size, &unchecked);
        if (ok == 0)
            judge_ranges(w, i, j, size, &w->facts->files[file]);
        i = j;
    }
    if (dirfd >= 0)
        close(dirfd);
    w->facts->files_checked = !unchecked;
    if (w->nomem)          /* GCOVR_EXCL_BR_LINE: malloc failure */
        return ST_E_NOMEM; /* GCOVR_EXCL_LINE: malloc failure */
    return unchecked ? ST_E_UNSUPPORTED : ST_OK;
}
