/*
 * test_fault.h - fault injection for the container tests (test_zip.c, test_tar.c,
 * test_compressed.c): a source whose reads fail from the Nth on, and allocations that fail
 * from the Nth on (the program is linked with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc:
 * tests/CMakeLists.txt). Each check must then end in "could not check", never pass on
 * half-read bytes or crash.
 */
#ifndef ST_TEST_FAULT_H
#define ST_TEST_FAULT_H

#include "core/report.h"
#include "formats/format.h"
#include "test_util.h"

/* ---- allocation failures ------------------------------------------------------------------ */

#include "fault_alloc.h" /* with fa_sticky set: the failing allocation and every later one */

/* ---- read failures ---------------------------------------------------------------------- */

typedef struct {
    const unsigned char *b;
    size_t reads, fail_at;
    int once; /* only read fail_at fails (else: it and every later one) */
} tf_source;

static int tf_once; /* the mode of the next tf_run */

static inline st_error tf_read(void *arg, uint64_t off, void *buf, size_t len)
{
    tf_source *f = arg;
    size_t k = f->reads++;
    if (f->once ? k == f->fail_at : k >= f->fail_at) {
        memset(buf, 0xa5, len); /* what a check that ignored the failure would go on with */
        return ST_E_IO;
    }
    memcpy(buf, f->b + off, len);
    return ST_OK;
}

typedef st_error (*tf_check)(st_input *in);

/* Runs a format check on b (n bytes) through a source failing from read fail_at on, with
 * allocation alloc_at failing (-1: none). Returns the check's error, or the report's when the
 * check returned ST_OK; ids written to ids (sorted, as tu_ids); *reads: reads made. */
static inline st_error tf_run(st_ctx *ctx, tf_check fn, const unsigned char *b, size_t n,
                              size_t fail_at, long alloc_at, char *ids, size_t ids_size,
                              size_t *reads)
{
    tf_source f = {b, 0, fail_at, tf_once};
    st_src_cb cb = {tf_read, &f};
    st_src src;
    st_src_callback(&src, &cb, n);
    st_report *r = st_report_new(ctx, "t");
    assert_non_null(r);
    st_input in;
    memset(&in, 0, sizeof(in));
    in.ctx = ctx;
    in.report = r;
    in.src = &src;
    in.head = b;
    in.head_len = n < ST_HEAD_BYTES ? n : ST_HEAD_BYTES;
    in.tail_len = in.head_len;
    in.tail = b + n - in.tail_len;
    in.name = "t";
    fa_hit = 0;
    fa_sticky = 1;
    fa_countdown = alloc_at;
    st_error err = fn(&in);
    fa_countdown = -1;
    if (err == ST_OK)
        err = r->err;
    tu_ids(r, ids, ids_size);
    st_report_free(r);
    if (reads)
        *reads = f.reads;
    return err;
}

/* Every read of the check failing in turn: each is an I/O error (ST902 and ST_E_IO), never a
 * pass on half-read bytes. */
static inline void tf_every_read_fails(st_ctx *ctx, tf_check fn, const unsigned char *b, size_t n)
{
    char ids[512];
    size_t total;
    assert_int_equal(tf_run(ctx, fn, b, n, (size_t)-1, -1, ids, sizeof(ids), &total), ST_OK);
    assert_true(total > 0);
    for (size_t k = 0; k < total; k++) {
        st_error err = tf_run(ctx, fn, b, n, k, -1, ids, sizeof(ids), NULL);
        if (err != ST_E_IO || strstr(ids, "ST902") == NULL)
            fail_msg("read %zu of %zu failing: error %d, ids \"%s\"", k, total, err, ids);
    }
}

/* Each read of the check failing alone, the others succeeding: the check either reports the
 * I/O error (ST902, ST_E_IO) or finishes exactly as without the failure (a read whose failure
 * means "absent", such as a probe that is read again for real). A check that ignored a failed
 * read would go on with bytes it never got, and differ. */
static inline void tf_each_read_fails_alone(st_ctx *ctx, tf_check fn, const unsigned char *b,
                                            size_t n)
{
    char clean[512], ids[512];
    size_t total;
    st_error clean_err = tf_run(ctx, fn, b, n, (size_t)-1, -1, clean, sizeof(clean), &total);
    tf_once = 1;
    for (size_t k = 0; k < total; k++) {
        st_error err = tf_run(ctx, fn, b, n, k, -1, ids, sizeof(ids), NULL);
        int io = err == ST_E_IO && strstr(ids, "ST902") != NULL;
        if (!io && (err != clean_err || strcmp(ids, clean) != 0)) {
            tf_once = 0;
            fail_msg("read %zu of %zu failing alone: error %d, ids \"%s\" (clean: %d, \"%s\")", k,
                     total, err, ids, clean_err, clean);
        }
    }
    tf_once = 0;
}

/* Every allocation of the check failing in turn (and all after it): the check reports that it
 * could not finish (ST_E_NOMEM, or the report marked so). Returns how many allocations the
 * check made. */
static inline long tf_every_alloc_fails(st_ctx *ctx, tf_check fn, const unsigned char *b, size_t n)
{
    char ids[512];
    long k = 0;
    for (;; k++) {
        st_error err = tf_run(ctx, fn, b, n, (size_t)-1, k, ids, sizeof(ids), NULL);
        if (!fa_hit) {
            assert_int_equal(err, ST_OK);
            return k;
        }
        if (err == ST_OK)
            fail_msg("allocation %ld failing: the check passed (ids \"%s\")", k, ids);
    }
}

#endif /* ST_TEST_FAULT_H */
