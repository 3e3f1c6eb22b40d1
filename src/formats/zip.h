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

#endif /* ST_ZIP_H */
