/*
 * build_archive.h - zip and tar records written byte by byte for the cmocka tests (test_zip.c,
 * test_tar.c, test_mutants.c, test_containers.c). Every write is bounded: a ba_buf either grows
 * on the heap or is the caller's fixed array, and a write past a fixed array's end, or an
 * overwrite outside the bytes written so far, fails the test instead of running over the
 * buffer (a private copy of these writers in test_mutants.c once did).
 */
#ifndef ST_BUILD_ARCHIVE_H
#define ST_BUILD_ARCHIVE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- bytes ------------------------------------------------------------------------------- */

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
            fail_msg("archive builder: %zu bytes past a buffer of %zu (%zu written)", n, w->cap,
                     w->n);
        assert_true(w->n + n > w->n && w->n + n < SIZE_MAX / 4); /* no wrap-around */
        w->cap = (w->n + n) * 2 + 1024;
        w->b = realloc(w->b, w->cap);
        assert_non_null(w->b);
    }
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static inline void ba_zeros(ba_buf *w, size_t n)
{
    static const unsigned char z[1024];
    while (n > 0) {
        size_t k = n < sizeof(z) ? n : sizeof(z);
        ba_put(w, z, k);
        n -= k;
    }
}

/* Little-endian integers appended. */
static inline void ba_u16(ba_buf *w, uint32_t v)
{
    unsigned char t[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    ba_put(w, t, 2);
}
static inline void ba_u32(ba_buf *w, uint32_t v)
{
    ba_u16(w, v & 0xFFFF);
    ba_u16(w, v >> 16);
}
static inline void ba_u64(ba_buf *w, uint64_t v)
{
    ba_u32(w, (uint32_t)v);
    ba_u32(w, (uint32_t)(v >> 32));
}

/* Little-endian integers overwritten at off, inside the bytes written so far. */
static inline void ba_set(ba_buf *w, size_t off, uint64_t v, size_t bytes)
{
    if (off > w->n || bytes > w->n - off)
        fail_msg("archive builder: %zu bytes at %zu, past the %zu written", bytes, off, w->n);
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

/* ---- zip records (APPNOTE 4.3.7, 4.3.12, 4.3.14-16) --------------------------------------- */

/* What a local header and a central directory entry say of a member (version 20, times,
 * comments, disks and attributes zero). */
typedef struct {
    const char *name;
    size_t name_len;
    uint32_t flags, method, crc, csize, usize;
    const unsigned char *cext; /* central extra field */
    size_t cext_len;
} ba_zip_entry;

/* A local header (no extra field) and the name; the data is the caller's to append. */
static inline void ba_zip_local(ba_buf *w, const ba_zip_entry *e)
{
    ba_u32(w, 0x04034b50u);
    ba_u16(w, 20);
    ba_u16(w, e->flags);
    ba_u16(w, e->method);
    ba_u32(w, 0);
    ba_u32(w, e->crc);
    ba_u32(w, e->csize);
    ba_u32(w, e->usize);
    ba_u16(w, (uint32_t)e->name_len);
    ba_u16(w, 0);
    ba_put(w, e->name, e->name_len);
}

/* A central directory entry naming the local header at local_off. */
static inline void ba_zip_central(ba_buf *w, const ba_zip_entry *e, uint32_t local_off)
{
    ba_u32(w, 0x02014b50u);
    ba_u16(w, 20);
    ba_u16(w, 20);
    ba_u16(w, e->flags);
    ba_u16(w, e->method);
    ba_u32(w, 0);
    ba_u32(w, e->crc);
    ba_u32(w, e->csize);
    ba_u32(w, e->usize);
    ba_u16(w, (uint32_t)e->name_len);
    ba_u16(w, (uint32_t)e->cext_len);
    ba_u16(w, 0);
    ba_u16(w, 0);
    ba_u16(w, 0);
    ba_u32(w, 0);
    ba_u32(w, local_off);
    ba_put(w, e->name, e->name_len);
    ba_put(w, e->cext, e->cext_len);
}

/* The end of central directory record (one disk, no comment). */
static inline void ba_zip_end(ba_buf *w, uint32_t entries, uint32_t cd_size, uint32_t cd_off)
{
    ba_u32(w, 0x06054b50u);
    ba_u32(w, 0);
    ba_u16(w, entries);
    ba_u16(w, entries);
    ba_u32(w, cd_size);
    ba_u32(w, cd_off);
    ba_u16(w, 0);
}

/* The ZIP64 end record (56 bytes) and its locator naming it at e64_off (20 bytes). */
static inline void ba_zip64_end(ba_buf *w, uint64_t entries, uint64_t cd_size, uint64_t cd_off,
                                uint64_t e64_off)
{
    ba_u32(w, 0x06064b50u);
    ba_u64(w, 44);
    ba_u16(w, 45);
    ba_u16(w, 45);
    ba_u32(w, 0);
    ba_u32(w, 0);
    ba_u64(w, entries);
    ba_u64(w, entries);
    ba_u64(w, cd_size);
    ba_u64(w, cd_off);
    ba_u32(w, 0x07064b50u);
    ba_u32(w, 0);
    ba_u64(w, e64_off);
    ba_u32(w, 1);
}

/* ---- tar records (POSIX ustar, as Python's tarfile reads them) ----------------------------- */

/* The checksum: the sum of the header's bytes with the field counted as spaces, unsigned (or
 * signed: bytes above 0x7f count negative, which tarfile's calc_chksums accepts too), as six
 * octal digits, NUL, space. */
static inline void ba_tar_checksum(unsigned char h[512], int signed_sum)
{
    long sum = 0;
    memset(h + 148, ' ', 8);
    for (int i = 0; i < 512; i++)
        sum += signed_sum ? (signed char)h[i] : h[i];
    /* at most 512 x 255: six octal digits (the mask only tells the compiler so) */
    snprintf((char *)h + 148, 8, "%06o", (unsigned)(sum & 0777777));
    h[155] = ' ';
}

/* A ustar header: name (cut to its 100 bytes), size, typeflag, linkname (NULL: none). */
static inline void ba_tar_header(unsigned char h[512], const char *name, uint64_t size, char type,
                                 const char *link)
{
    memset(h, 0, 512);
    memcpy(h, name, strlen(name) < 100 ? strlen(name) : 100);
    memcpy(h + 100, "0000644", 7);
    memcpy(h + 108, "0000000", 7);
    memcpy(h + 116, "0000000", 7);
    assert_true(size <= 077777777777ull); /* eleven octal digits (base-256 is the caller's) */
    snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)(size & 077777777777ull));
    memcpy(h + 136, "00000000000", 11);
    h[156] = (unsigned char)type;
    if (link) {
        assert_true(strlen(link) <= 100); /* the linkname field */
        memcpy(h + 157, link, strlen(link));
    }
    memcpy(h + 257,
           "ustar\0"
           "00",
           8);
    ba_tar_checksum(h, 0);
}

/* A member: header, data, padding to 512 bytes. */
static inline void ba_tar_member(ba_buf *w, const char *name, const void *data, size_t len,
                                 char type, const char *link)
{
    unsigned char h[512];
    ba_tar_header(h, name, len, type, link);
    ba_put(w, h, 512);
    ba_put(w, data, len);
    ba_zeros(w, (512 - len % 512) % 512);
}

/* The end of the archive: two zero blocks. */
static inline void ba_tar_end(ba_buf *w)
{
    ba_zeros(w, 1024);
}

#endif /* ST_BUILD_ARCHIVE_H */
