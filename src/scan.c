/*
 * scan.c - open, identify, dispatch: the one place a format is chosen.
 *
 * Each input is opened once and the very descriptor that was checked with fstat is the one
 * read. Only regular files are read; opening uses O_NONBLOCK so that a FIFO cannot stall the
 * scan before fstat refuses it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/digest.h"
#include "core/escape.h"
#include "core/manifest.h"
#include "formats/format.h"
#include "scan.h"

static int read_ends(st_report *r, const st_src *src, unsigned char *head, size_t head_len,
                     unsigned char *tail, size_t tail_len)
{
    if (st_src_read(src, 0, head, head_len) == ST_OK &&
        st_src_read(src, src->size - tail_len, tail, tail_len) == ST_OK)
        return 0;
    st_report_add(r, ST_R_IO, 0, head_len, "could not read the file's first and last bytes");
    st_report_fail(r, ST_E_IO);
    return -1;
}

static void identify_and_check(st_input *in, const st_dir *dir);

/* The file's SHA-256, unless a module already fed it every byte; then the --expect pin. */
static void finish_digest(const st_ctx *ctx, st_report *r, const st_src *src, st_input *in)
{
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = in->digest_done ? NULL : malloc(CHUNK);
    int ok = in->digest_done || buf != NULL;
    for (uint64_t off = 0; ok && !in->digest_done && off < src->size; off += CHUNK) {
        size_t n = src->size - off < CHUNK ? (size_t)(src->size - off) : CHUNK;
        ok = st_src_read(src, off, buf, n) == ST_OK && st_sha256_update(in->digest, buf, n) == 0;
    }
    free(buf);
    if (!ok || st_sha256_final(in->digest, r->sha256) != 0) {
        r->sha256[0] = '\0';
        st_report_add(r, ST_R_IO, 0, 0, "could not read the whole file for its SHA-256");
        st_report_fail(r, ST_E_IO);
        return;
    }
    if (!ctx->expect)
        return;
    const char *want = st_manifest_find(ctx, r->path);
    if (want == NULL)
        st_report_add(r, ST_R_DIGEST_UNPINNED, 0, 0,
                      "the manifest has no SHA-256 for this path (sha256 %s)", r->sha256);
    else if (strcmp(want, r->sha256) != 0)
        st_report_add(r, ST_R_DIGEST_MISMATCH, 0, src->size, "sha256 %s, the manifest pins %s",
                      r->sha256, want);
}

static void identify_and_check(st_input *inp, const st_dir *dir)
{
    const st_ctx *ctx = inp->ctx;
    st_report *r = inp->report;
    const unsigned char *head = inp->head;
    size_t n = inp->head_len;
    const char *name = inp->name;
    int walked = dir != NULL && dir->walked;
    if (st_lfs_pointer_check(inp)) /* git-lfs never fetched the file: nothing was seen */
        return;
    const st_format *fmt = st_format_identify(inp);
    if (fmt == NULL) {
        char what[256], shown[160];
        if (walked) { /* README, config.json, images: skipped only when identified (textual.c) */
            st_error e = st_nonmodel_check(inp);
            if (e != ST_OK)
                st_report_fail(r, e);
            return;
        }
        st_magic_describe(head, n, what, sizeof(what));
        st_report_add(r, ST_R_UNKNOWN_FORMAT, 0, n,
                      "content is not a format stcheck recognises (libmagic: %s)",
                      st_escape(what, strlen(what), shown, sizeof(shown), 120));
        st_report_fail(r, ST_E_UNSUPPORTED);
        return;
    }
    /* A name that lies about the content: loaders route by extension, so a pickle named
     * .safetensors reaches code that trusts it to be inert. */
    if (st_name_has_suffix(name, ".safetensors") && strcmp(fmt->name, "safetensors") != 0)
        st_report_add(r, ST_R_NAME_MISMATCH, 0, n, "named .safetensors, but the content is %s",
                      fmt->name);
    st_error err = fmt->check(inp);
    if (err != ST_OK)
        st_report_fail(r, err);
    /* Polyglots: every other view a reader could take of these bytes is checked too. */
    const st_format *views[4];
    size_t nv = st_format_other_views(inp, fmt, views, 4);
    const char *primary = r->format, *kind = r->kind;
    for (size_t i = 0; i < nv; i++) {
        err = views[i]->check(inp);
        if (err != ST_OK)
            st_report_fail(r, err);
    }
    r->format = primary;
    r->kind = kind;
    st_report_settle_kind(r);
    if (!st_ctx_format_allowed(ctx, r->format))
        st_report_add(r, ST_R_FORMAT_NOT_ALLOWED, 0, 0, "the policy does not allow %s files",
                      r->format);
}

void st_scan_input(st_input *in)
{
    identify_and_check(in, NULL);
}

static void run_formats(const st_ctx *ctx, st_report *r, const st_src *src, const char *name,
                        const st_dir *dir, const st_siblings *sib)
{
    unsigned char head[ST_HEAD_BYTES], tail[ST_HEAD_BYTES];
    size_t n = src->size < sizeof(head) ? (size_t)src->size : sizeof(head);
    st_input in = {.ctx = ctx,
                   .report = r,
                   .src = src,
                   .head = head,
                   .head_len = n,
                   .tail = tail,
                   .tail_len = n,
                   .name = name};
    if (dir != NULL) {
        in.open_dir = dir->open;
        in.dir_arg = dir->arg;
    }
    if (sib != NULL) {
        in.open_sibling = sib->open;
        in.close_sibling = sib->close;
        in.sibling_arg = sib->arg;
    }
    r->file_size = src->size;
    /* GCOVR_EXCL_START: libcrypto out of memory (st_sha256_new returns NULL only then) */
    if (ctx->digest && (in.digest = st_sha256_new()) == NULL) {
        st_report_add(r, ST_R_NOMEM, 0, 0, "SHA-256 is not available from libcrypto");
        st_report_fail(r, ST_E_NOMEM);
        return;
    }
    /* GCOVR_EXCL_STOP */
    if (read_ends(r, src, head, n, tail, n) == 0)
        identify_and_check(&in, dir);
    if (in.digest != NULL)
        finish_digest(ctx, r, src, &in);
    st_sha256_free(in.digest);
}

void st_scan_src(const st_ctx *ctx, st_report *r, const st_src *src, const char *name,
                 const st_dir *dir, const st_siblings *sib)
{
    run_formats(ctx, r, src, name, dir, sib);
}

static st_report *new_report(st_ctx *ctx, const char *name)
{
    if (ctx == NULL)
        return NULL;
    return st_report_new(ctx, name);
}

st_report *st_check_buffer(st_ctx *ctx, const void *data, size_t size, const char *display_name)
{
    st_report *r = new_report(ctx, display_name);
    if (r == NULL)
        return NULL;
    if (data == NULL && size > 0) {
        st_report_fail(r, ST_E_INVAL);
        return r;
    }
    st_src src = {-1, data, size};
    run_formats(ctx, r, &src, display_name, NULL, NULL);
    return r;
}

void st_scan_fd(const st_ctx *ctx, st_report *r, int fd, const char *name, const st_dir *dir)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        st_report_add(r, ST_R_IO, 0, 0, "cannot stat: %s", strerror(errno));
        st_report_fail(r, ST_E_IO);
        return;
    }
    if (!S_ISREG(st.st_mode)) {
        st_report_add(r, ST_R_NOT_REGULAR, 0, 0, "not a regular file (%s)",
                      S_ISDIR(st.st_mode)    ? "directory"
                      : S_ISFIFO(st.st_mode) ? "FIFO"
                      : S_ISSOCK(st.st_mode) ? "socket"
                      : S_ISCHR(st.st_mode)  ? "character device"
                      : S_ISBLK(st.st_mode)  ? "block device"
                                             : "special file");
        st_report_fail(r, ST_E_NOTFILE);
        return;
    }
    st_src src = {fd, NULL, (uint64_t)st.st_size};
    run_formats(ctx, r, &src, name, dir, NULL);
}

st_report *st_check_fd(st_ctx *ctx, int fd, const char *display_name)
{
    st_report *r = new_report(ctx, display_name);
    if (r == NULL)
        return NULL;
    st_scan_fd(ctx, r, fd, display_name, NULL);
    return r;
}

/* The folder of a path as given (its dirname, or "." for a bare name). */
static int open_parent(const void *arg)
{
    const char *path = arg, *slash = strrchr(path, '/');
    char dir[4096];
    if (slash == NULL)
        return open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= sizeof(dir)) /* GCOVR_EXCL_BR_LINE: open() refused a path this long already */
        return -1;        /* GCOVR_EXCL_LINE: as above */
    memcpy(dir, path, n);
    dir[n] = '\0';
    return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

void st_ctx_release(st_ctx *ctx, const st_ctx *base, st_report *r)
{
    if (ctx == base)
        return;
    if (r != NULL)
        r->sevmap = NULL; /* it pointed into ctx; the report is complete */
    st_ctx_free(ctx);
}

/* A path given to check that cannot be opened. A symbolic link to nothing is said to be one,
 * with where it points: "No such file or directory" about a name that is listed is a riddle. */
static void open_failed(st_report *r, const char *path, int err)
{
    char target[4096], shown[400];
    ssize_t n = err == ENOENT || err == ELOOP ? readlink(path, target, sizeof(target)) : -1;
    if (n >= 0) {
        st_escape(target, (size_t)n, shown, sizeof(shown), 300);
        st_report_add(r, ST_R_IO, 0, 0,
                      err == ENOENT ? "dangling symbolic link: it points to \"%s\", which does "
                                      "not exist"
                                    : "symbolic link loop: it points to \"%s\"",
                      shown);
    } else
        st_report_add(r, ST_R_IO, 0, 0, "cannot open: %s", strerror(err));
    st_report_fail(r, ST_E_IO);
}

st_report *st_check_path(st_ctx *base, const char *path)
{
    st_ctx *ctx = base && path ? st_ctx_for_path(base, path) : base; /* policy overrides */
    st_report *r = new_report(ctx, path);
    if (r == NULL) {
        st_ctx_release(ctx, base, NULL);
        return NULL;
    }
    if (path == NULL) { /* as a buffer without bytes: invalid (open(NULL) is undefined) */
        st_report_fail(r, ST_E_INVAL);
        st_ctx_release(ctx, base, r);
        return r;
    }
    int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        open_failed(r, path, errno);
        st_ctx_release(ctx, base, r);
        return r;
    }
    st_dir dir = {open_parent, path, 0};
    st_scan_fd(ctx, r, fd, path, &dir);
    close(fd);
    st_ctx_release(ctx, base, r);
    return r;
}
