/*
 * zip.h - bounded zip structure walker and member reader (internal).
 */
#ifndef ST_ZIP_H
#define ST_ZIP_H

#include "format.h"

typedef struct {
    uint64_t local_off; /* local header, absolute in the source */
    uint64_t data_off;  /* compressed data, absolute */
    uint64_t csize, usize;
    uint32_t crc;
    uint16_t method, flags;
    uint32_t name_off, name_len; /* raw name bytes inside st_zip.cd */
    int readable;                /* local header sound: data can be read */
} st_zip_entry;

typedef struct {
    st_zip_entry *e;
    size_t n;
    unsigned char *cd; /* the central directory bytes */
    uint64_t cd_size, cd_start;
    uint64_t delta; /* bytes prepended to the archive */
} st_zip;

/* Nonzero when the first bytes are a local header or an (empty) end record. */
int st_zip_sniff_bytes(const unsigned char *p, size_t n);

/* Walks end record, central directory and every local header, recording findings (ST301-ST310).
 * ST_OK with z filled (even when findings were recorded); an error when it could not. */
st_error st_zip_walk(st_input *in, st_zip *z);
void st_zip_free(st_zip *z);

/* The entry's name as a NUL-terminated copy (NUL bytes in names were reported). */
void st_zip_name(const st_zip *z, const st_zip_entry *e, char *out, size_t size);

/* Reads (inflating as needed) up to max bytes of a member into a new buffer. With max >= the
 * member's size the whole member is read and its CRC and size checked (ST303). Returns ST_OK,
 * or an error after recording why (unsupported method, bomb, I/O). */
st_error st_zip_read(st_input *in, const st_zip *z, const st_zip_entry *e, uint64_t max,
                     unsigned char **out, size_t *len);

/* torch's reader (miniz 2.1.0 under PyTorchStreamReader): the archive as miniz finds it
 * (end record, ZIP64 locator offset, central directory at its recorded absolute offset, entries
 * by count). *ok = 0 when miniz would refuse it. Findings only for limits. */
st_error st_zip_walk_miniz(st_input *in, st_zip *z, int *ok);
/* miniz's heap-sorted index of entries (case-insensitive names), for st_zip_miniz_locate. */
uint32_t *st_zip_miniz_sorted(const st_zip *z);
/* The entry miniz's binary search returns for a name (a C string), or -1. */
long st_zip_miniz_locate(const st_zip *z, const uint32_t *sorted, const char *name);
/* Nonzero when two readings list the same entries (names, offsets, sizes) in the same order. */
int st_zip_same_view(const st_zip *a, const st_zip *b);

#endif /* ST_ZIP_H */
