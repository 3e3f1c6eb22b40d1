/*
 * source.h - bounded, exact reads from a file descriptor or a memory buffer.
 *
 * Format modules read input only through st_src_read: every read names its offset and length,
 * is checked against the size the source had when it was opened, and either delivers every
 * byte asked for or fails. A file that shrinks while it is read is an I/O error, never a short
 * buffer parsed as if complete.
 */
#ifndef ST_SOURCE_H
#define ST_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "stcheck.h"

typedef struct {
    int fd;                   /* -1 for a memory source */
    const unsigned char *mem; /* memory source */
    uint64_t size;            /* size at open time */
} st_src;

/* ST_OK, ST_E_IO (read failed or came up short), or ST_E_INVAL (range outside the source). */
st_error st_src_read(const st_src *src, uint64_t off, void *buf, size_t len);

#endif /* ST_SOURCE_H */
