/*
 * build_archive.h - zip and tar records written byte by byte for the cmocka tests (test_zip.c,
 * test_tar.c, test_mutants.c, test_containers.c), into the bounded byte buffers of
 * byte_buf.h (a private copy of these writers in test_mutants.c once ran over its buffer).
 */
#ifndef ST_BUILD_ARCHIVE_H
#define ST_BUILD_ARCHIVE_H

#include <stdio.h>
#include <string.h>

#include "byte_buf.h"

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
