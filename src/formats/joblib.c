/*
 * joblib.c - what old joblib (0.8-0.9) reads besides the pickle: its "ZF" compressed pickles
 * and the sibling files its NDArrayWrapper/ZNDArrayWrapper pickles name.
 *
 * ZF file (joblib/numpy_pickle_compat.py read_zfile, write_zfile): "ZF", the decompressed
 * length as Python hex text ("0x..") left-justified in 19 bytes, in joblib <= 0.8.4 one more
 * space, then a zlib stream to the end of the file. joblib.load still reads them today
 * (numpy_pickle_utils.py _detect_compressor -> load_compatibility): the stream is decompressed
 * within the absolute member-size limit (not a ratio: an all-zero array compresses 1000:1) and
 * the pickle inside checked as a nested input whose siblings are this file's siblings.
 *
 * Siblings (NDArrayWrapper.read: numpy.load(os.path.join(unpickler._dirname, filename),
 * allow_pickle=True); ZNDArrayWrapper.read: read_zfile of the same join): a plain name in the
 * pickle's folder is opened and checked - .npy as numpy.load reads it (object arrays' pickles
 * included), anything else numpy.load hands to pickle.load - and any other path (separators,
 * "..", absolute, empty) is an error. A missing sibling or an unknown folder: could not check.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/checked.h"
#include "../core/escape.h"
#include "compressed.h"
#include "pickle.h"
#include "pickle_values.h"

#define ZF_HEADER 21 /* len("ZF") + len(hex(2**64)) */

/* ---- ZF files ------------------------------------------------------------------------ */

static int zf_length(const unsigned char *h, uint64_t *len);

/* joblib.load reads every file that starts with "ZF" as a ZF file (numpy_pickle_utils.py
 * _detect_compressor): claimed when its length field is one int(text, 16) takes, or when it
 * starts "0x" as joblib writes it (a bad field is then reported, ST235). */
int st_zfile_sniff(const st_input *in)
{
    uint64_t len;
    if (in->head_len < 4 || memcmp(in->head, "ZF", 2) != 0)
        return 0;
    if (memcmp(in->head, "ZF0x", 4) == 0 ||
        (in->head_len >= ZF_HEADER && zf_length(in->head, &len) == 0))
        return 90;
    return 0;
}

static int blank(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r'); /* what int() strips from bytes */
}

/* int(text, 16) as Python reads the 19-byte field (read_zfile): optional whitespace around an
 * optional "0x" or "0X" and hex digits (single underscores between digits and a sign are
 * accepted by Python and refused here: no writer puts them). Returns 0 and the value, -1 when
 * Python would raise or the value exceeds 64 bits. */
static int zf_length(const unsigned char *h, uint64_t *len)
{
    size_t i = 2, end = ZF_HEADER;
    while (i < end && blank(h[i]))
        i++;
    while (end > i && blank(h[end - 1]))
        end--;
    if (end - i >= 2 && h[i] == '0' && (h[i + 1] == 'x' || h[i + 1] == 'X'))
        i += 2;
    if (i == end)
        return -1;
    *len = 0;
    for (; i < end; i++) {
        unsigned char c = h[i];
        unsigned d = c >= '0' && c <= '9'   ? c - '0'
                     : c >= 'a' && c <= 'f' ? c - 'a' + 10
                     : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                            : 16;
        if (d == 16 || *len >> 60)
            return -1;
        *len = *len << 4 | d;
    }
    return 0;
}

/* load_compatibility: ZipNumpyUnpickler(pickle._Unpickler).load() over the inflated bytes,
 * whatever they hold; its load_build reads NDArrayWrapper siblings only (plain = 2). */
static st_error zf_pickle(st_input *in, const unsigned char *buf, size_t len)
{
    size_t n = len < ST_HEAD_BYTES ? len : ST_HEAD_BYTES;
    if (!st_pk_looks_like_pickle(buf, n)) {
        /* the first opcode fails: joblib.load raises before anything runs (this is the raw
         * array data of a ZNDArrayWrapper sibling, or not joblib's at all) */
        st_report_add(in->report, ST_R_JL_ZFILE_DATA, ZF_HEADER, 0,
                      "the ZF content (%zu bytes) is not a pickle: raw array data", len);
        return ST_OK;
    }
    if (in->depth + 1 > in->ctx->limits[ST_LIMIT_NESTING]) {
        st_report_add(in->report, ST_R_LIMIT, 0, 0, "ZF pickle nested deeper than %llu",
                      (unsigned long long)in->ctx->limits[ST_LIMIT_NESTING]);
        return ST_E_LIMIT;
    }
    st_src src = {-1, buf, len};
    st_pk_result res;
    st_pk_job job = {.in = in,
                     .src = &src,
                     .end = len,
                     .member = "ZF pickle",
                     .profile = ST_PK_PROFILE_DATA,
                     .plain = 2,
                     .depth = in->depth + 1};
    st_error err = st_pickle_walk(&job, &res);
    st_pk_result_free(&res);
    return err;
}

st_error st_zfile_check(st_input *in)
{
    unsigned char h[ZF_HEADER + 1];
    uint64_t want;
    in->report->format = "joblib-zfile";
    if (in->src->size < ZF_HEADER + 1 || st_src_read(in->src, 0, h, ZF_HEADER + 1) != ST_OK ||
        zf_length(h, &want) != 0) {
        st_report_add(in->report, ST_R_JL_ZFILE_HEADER, 0, ZF_HEADER,
                      "ZF header: the length field is not hex text joblib reads");
        return ST_E_UNSUPPORTED;
    }
    /* joblib <= 0.8.4 (Python 2) wrote one more space; zlib data never starts with one */
    uint64_t start = h[ZF_HEADER] == ' ' ? ZF_HEADER + 1 : ZF_HEADER;
    uint64_t max = in->ctx->limits[ST_LIMIT_MEMBER_BYTES];
    if (max > SIZE_MAX) /* GCOVR_EXCL_BR_LINE: only where size_t is narrower than 64 bits */
        max = SIZE_MAX; /* GCOVR_EXCL_LINE: as above */
    /* no ratio limit: an all-zero array compresses 1000:1 */
    st_inflated z;
    int rc = st_inflate_src(in->src, start, 0, (size_t)max, UINT64_MAX, &z);
    st_error err = ST_OK;
    if (rc < 0) {
        st_report_add(in->report, z.over ? ST_R_ZIP_BOMB : ST_R_IO, start, 0, "ZF zlib stream: %s",
                      z.over ? "decompresses beyond the member-size limit"
                             : "could not be read (I/O or memory)");
        err = z.over ? ST_E_LIMIT : ST_E_IO;
    } else if (rc > 0) {
        /* zlib.decompress raises on a truncated or corrupt stream: joblib.load fails */
        st_report_add(in->report, ST_R_COMPRESSED_CORRUPT, start, in->src->size - start,
                      "ZF zlib stream is corrupt or truncated after %zu bytes", z.len);
    } else {
        if (z.len != want) /* an assert: skipped under python -O */
            st_report_add(in->report, ST_R_JL_ZFILE_LENGTH, 2, ZF_HEADER - 2,
                          "ZF header says %llu bytes; the stream holds %zu",
                          (unsigned long long)want, z.len);
        if (start + z.consumed < in->src->size) /* zlib.decompress ignores them */
            st_report_add(in->report, ST_R_COMPRESSED_TRAILING, start + z.consumed,
                          in->src->size - start - z.consumed,
                          "%llu bytes follow the ZF zlib stream",
                          (unsigned long long)(in->src->size - start - z.consumed));
        err = zf_pickle(in, z.out, z.len);
    }
    free(z.out);
    return err;
}

/* ---- siblings ------------------------------------------------------------------------ */

/* A name os.path.join keeps in the pickle's folder: no separator, not "." or "..", not empty.
 * Backslashes are refused too: joblib on Windows treats them as separators. */
static int plain_name(const char *name, size_t len)
{
    if (len == 0 || (len == 1 && name[0] == '.') || (len == 2 && memcmp(name, "..", 2) == 0))
        return 0;
    /* GCOVR_EXCL_BR_START: pickle.c refuses a name holding NUL before (ST230); kept */
    return memchr(name, '/', len) == NULL && memchr(name, '\\', len) == NULL &&
           memchr(name, '\0', len) == NULL;
    /* GCOVR_EXCL_BR_STOP */
}

/* numpy.load on the sibling (numpy/lib/npyio.py load): .npy magic -> format.read_array (object
 * arrays: pickle.load); zip magic -> an NpzFile that joblib cannot use; else pickle.load. */
static st_error check_npy_sibling(st_input *sib, const char *name, unsigned depth)
{
    unsigned char m[6];
    size_t n = sib->src->size < 6 ? (size_t)sib->src->size : 6;
    if (n > 0 && st_src_read(sib->src, 0, m, n) != ST_OK)
        return ST_E_IO;
    if (st_npy_sniff_bytes(m, n))
        return st_npy_check_src(sib, sib->src, name);
    if (n >= 4 && (memcmp(m, "PK\x03\x04", 4) == 0 || memcmp(m, "PK\x05\x06", 4) == 0)) {
        st_report_add(sib->report, ST_R_JL_SIBLING_PATH, 0, 0,
                      "sibling \"%s\" is a zip: numpy.load returns an NpzFile, not an array",
                      sib->name);
        return ST_OK;
    }
    st_pk_result res;
    st_pk_job job = {.in = sib,
                     .src = sib->src,
                     .end = sib->src->size,
                     .member = name,
                     .profile = ST_PK_PROFILE_DATA,
                     .single = 1,
                     .plain = 1,
                     .depth = depth + 1};
    st_error err = st_pickle_walk(&job, &res);
    st_pk_result_free(&res);
    return err;
}

static st_error check_open_sibling(st_input *in, int fd, uint64_t size, const char *name,
                                   const char *shown, int zfile, unsigned depth)
{
    st_src src = {fd, NULL, size};
    st_input sib = *in;
    sib.src = &src;
    sib.name = shown;
    sib.depth = in->depth + 1;
    sib.head = NULL;
    sib.head_len = 0;
    sib.tail = NULL;
    sib.tail_len = 0;
    sib.digest = NULL;
    if (!zfile)
        return check_npy_sibling(&sib, name, depth);
    /* ZNDArrayWrapper: read_zfile's bytes become the array's raw data (ndarray.__setstate__),
     * never a pickle: the header is checked, the data is not inflated. */
    unsigned char h[ZF_HEADER];
    uint64_t want;
    if (size < ZF_HEADER || st_src_read(&src, 0, h, ZF_HEADER) != ST_OK ||
        memcmp(h, "ZF", 2) != 0 || zf_length(h, &want) != 0)
        st_report_add(in->report, ST_R_JL_ZFILE_HEADER, 0, 0,
                      "sibling \"%s\" is not a ZF file joblib reads", shown);
    return ST_OK;
}

st_error st_joblib_sibling(st_input *in, const char *name, size_t len, int zfile, uint64_t offset,
                           unsigned depth)
{
    char shown[300];
    st_escape(name, len, shown, sizeof(shown), 240);
    if (!plain_name(name, len)) {
        st_report_add(in->report, ST_R_JL_SIBLING_PATH, offset, 1,
                      "joblib %s names \"%s\": not a plain file name in the pickle's folder",
                      zfile ? "ZNDArrayWrapper" : "NDArrayWrapper", shown);
        return ST_OK;
    }
    int dirfd = in->open_dir ? in->open_dir(in->dir_arg) : -1;
    if (dirfd < 0) {
        st_report_add(in->report, ST_R_JL_SIBLING_MISSING, offset, 1,
                      "joblib reads the sibling file \"%s\"; its folder is not %s", shown,
                      in->open_dir ? "readable" : "known here");
        st_report_fail(in->report, ST_E_UNSUPPORTED);
        return ST_OK;
    }
    char path[ST_PK_TEXT_MAX + 1];
    memcpy(path, name, len < sizeof(path) ? len : sizeof(path) - 1);
    path[len < sizeof(path) ? len : sizeof(path) - 1] = '\0';
    int fd = openat(dirfd, path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    close(dirfd);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        st_report_add(in->report, ST_R_JL_SIBLING_MISSING, offset, 1,
                      "joblib reads the sibling file \"%s\", which %s", shown,
                      fd < 0 && errno == ENOENT ? "does not exist"
                                                : "is not a readable regular file");
        if (fd >= 0)
            close(fd);
        st_report_fail(in->report, ST_E_IO);
        return ST_OK;
    }
    st_report_add(in->report, ST_R_JL_SIBLING, offset, 1,
                  "joblib reads the sibling file \"%s\" (%s); checked below", shown,
                  zfile ? "ZF raw array data" : "numpy.load with allow_pickle");
    st_error err = check_open_sibling(in, fd, (uint64_t)st.st_size, path, shown, zfile, depth);
    close(fd);
    return err;
}

/* ---- other readers of a joblib stream ------------------------------------------------- */

/* Findings that judge an import: what another reader of the same bytes would resolve. */
static int judges_import(const char *id)
{
    static const char *const ids[] = {"ST201", "ST202", "ST203", "ST204", "ST216"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        if (strcmp(id, ids[i]) == 0)
            return 1;
    return 0;
}

static int rule_of(const char *id, st_rule_id *out)
{
    for (int i = 0; i < ST_R_COUNT_; i++) /* GCOVR_EXCL_BR_LINE: the id is always found */
        if (strcmp(st_rules_get((st_rule_id)i)->id, id) == 0) {
            *out = (st_rule_id)i;
            return 0;
        }
    return -1; /* GCOVR_EXCL_LINE: every id judges_import lists is a rule */
}

/* One more walk of the stream (plain: 1 pickle.load, 3 joblib < 1.2) into a scratch report;
 * its import judgements from diverge on are added to the real one. Integrity faults are not:
 * for a real file, array bytes read as opcodes fail at once, and that failure runs nothing. */
static void view(const st_pk_job *job, int plain, uint64_t diverge, const char *reader)
{
    st_input in = *job->in;
    st_report *real = in.report;
    in.report = st_report_new(in.ctx, "view");
    if (in.report == NULL) {              /* GCOVR_EXCL_BR_LINE: allocation failure */
        st_report_fail(real, ST_E_NOMEM); /* GCOVR_EXCL_LINE: allocation failure */
        return;                           /* GCOVR_EXCL_LINE: allocation failure */
    }
    st_pk_job j = *job;
    j.in = &in;
    j.plain = plain;
    st_pk_result res;
    st_error err = st_pickle_walk(&j, &res);
    st_pk_result_free(&res);
    for (size_t i = 0; i < in.report->n_findings; i++) {
        const st_finding *f = &in.report->findings[i];
        st_rule_id rule;
        if (f->offset < diverge || !judges_import(f->id) || rule_of(f->id, &rule) != 0)
            continue;
        st_report_add(real, rule, f->offset, f->length,
                      "%s (as %s reads the bytes from offset %llu)", f->message, reader,
                      (unsigned long long)diverge);
    }
    for (size_t i = 0; i < in.report->n_imports; i++) {
        const st_import *m = &in.report->imports[i];
        if (m->offset >= diverge)
            st_report_add_import_as(real, m->module, m->name, m->written_module, m->written_name,
                                    m->member, m->judgement, m->offset);
    }
    if (err != ST_OK) { /* memory, a read, a limit: the view was not finished (fail closed) */
        for (size_t i = 0; i < in.report->n_findings; i++) {
            const st_finding *f = &in.report->findings[i];
            st_rule_id rule;
            if (strncmp(f->id, "ST90", 4) == 0 && rule_of(f->id, &rule) == 0)
                st_report_add(real, rule, f->offset, f->length, "%s (as %s reads the bytes)",
                              f->message, reader);
        }
        st_report_fail(real, err);
    }
    st_report_free(in.report);
}

void st_joblib_other_views(const void *job, uint64_t raw_at, uint64_t pad_at)
{
    view(job, 1, raw_at, "pickle.load");
    if (pad_at)
        view(job, 3, pad_at, "joblib < 1.2");
}
