/*
 * byte_buf.h - the bounded byte buffer the cmocka tests build their inputs in (archives:
 * build_archive.h; pickles: test_pickle.c, test_pickle_values.c). A ba_buf either grows on the
 * heap or is the caller's fixed array; a write past a fixed array's end, or an overwrite
 * outside the bytes written so far, fails the test instead of running over the buffer.
 */
#ifndef ST_BYTE_BUF_H
#define ST_BYTE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

/* Zero-initialised ({0}): an empty heap buffer the caller frees (free(w.b)). */
typedef struct {
    unsigned char *b;
    size_t n, cap;
    int fixed; /* b is the caller's array of cap bytes: never reallocated */
} ba_buf;

/* A buffer writing into the caller's array of cap bytes. */
static inline ba_buf ba_fixed(unsigned char *b, size_t cap)
{
    ba_buf w = {b, 0, cap, 1};
    return w;
}

static inline void ba_put(ba_buf *w, const void *p, size_t n)
{
    if (n == 0)
        return;
    if (n > w->cap - w->n) {
        if (w->fixed)
            fail_msg("byte buffer: %zu bytes past a buffer of %zu (%zu written)", n, w->cap, w->n);
        assert_true(w->n + n > w->n && w->n + n < SIZE_MAX / 4); /* no wrap-around */
        w->cap = (w->n + n) * 2 + 1024;
        w->b = realloc(w->b, w->cap);
        assert_non_null(w->b);
    }
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

/* n bytes of value c appended. */
static inline void ba_fill(ba_buf *w, unsigned char c, size_t n)
{
    unsigned char chunk[1024];
    memset(chunk, c, sizeof(chunk));
    while (n > 0) {
        size_t k = n < sizeof(chunk) ? n : sizeof(chunk);
        ba_put(w, chunk, k);
        n -= k;
    }
}

static inline void ba_zeros(ba_buf *w, size_t n)
{
    ba_fill(w, 0, n);
}

/* The low `bytes` bytes of v appended, little-endian (bytes <= 8). */
static inline void ba_le(ba_buf *w, uint64_t v, size_t bytes)
{
    unsigned char t[8];
    assert_true(bytes <= sizeof(t));
    for (size_t i = 0; i < bytes; i++)
        t[i] = (unsigned char)(v >> (8 * i));
    ba_put(w, t, bytes);
}
static inline void ba_u16(ba_buf *w, uint32_t v)
{
    ba_le(w, v & 0xFFFF, 2);
}
static inline void ba_u32(ba_buf *w, uint32_t v)
{
    ba_le(w, v, 4);
}
static inline void ba_u64(ba_buf *w, uint64_t v)
{
    ba_le(w, v, 8);
}

/* Little-endian integers overwritten at off, inside the bytes written so far. */
static inline void ba_set(ba_buf *w, size_t off, uint64_t v, size_t bytes)
{
    if (off > w->n || bytes > w->n - off)
        fail_msg("byte buffer: %zu bytes at %zu, past the %zu written", bytes, off, w->n);
    for (size_t i = 0; i < bytes; i++)
        w->b[off + i] = (unsigned char)(v >> (8 * i));
}
static inline void ba_set16(ba_buf *w, size_t off, uint32_t v)
{
    ba_set(w, off, v & 0xFFFF, 2);
}
static inline void ba_set32(ba_buf *w, size_t off, uint32_t v)
{
    ba_set(w, off, v, 4);
}
static inline void ba_set64(ba_buf *w, size_t off, uint64_t v)
{
    ba_set(w, off, v, 8);
}

#endif /* ST_BYTE_BUF_H */
