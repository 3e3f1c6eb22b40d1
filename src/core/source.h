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
    int fd;                   /* -1 for a memory source, ST_SRC_CALLBACK for a callback one */
    const unsigned char *mem; /* memory source; for ST_SRC_CALLBACK an st_src_cb */
    uint64_t size;            /* size at open time */
} st_src;

/* A third kind of source, read through a callback (the remote source of src/fetch/: range
 * requests through a block cache). Kept in the existing fields, not new ones, so that every
 * {fd, mem, size} initializer in the format modules stays complete. The callback is called
 * only with ranges inside size and must deliver every byte or fail. */
#define ST_SRC_CALLBACK (-2)
typedef struct {
    st_error (*read)(void *arg, uint64_t off, void *buf, size_t len);
    void *arg;
} st_src_cb;

/* Fills src as a callback source of size bytes reading through cb (which must outlive it). */
void st_src_callback(st_src *src, const st_src_cb *cb, uint64_t size);

/* ST_OK, ST_E_IO (read failed or came up short), or ST_E_INVAL (range outside the source). */
st_error st_src_read(const st_src *src, uint64_t off, void *buf, size_t len);

#endif /* ST_SOURCE_H */
