/*
 * compressed.h - the bounded zlib/gzip inflate of compressed.c, shared with joblib.c (old
 * joblib's "ZF" files hold a zlib stream after their header).
 */
#ifndef ST_FORMATS_COMPRESSED_H
#define ST_FORMATS_COMPRESSED_H

#include <stddef.h>
#include <stdint.h>

#include "../core/source.h"

typedef struct {
    unsigned char *out; /* the decompressed bytes (the caller frees them, also on failure) */
    size_t len;
    uint64_t consumed; /* stream bytes inflate took, from the start offset */
    int over;          /* stopped at the size or ratio cap */
    int io_err;        /* a read failed */
} st_inflated;

/* Inflates the zlib (gzip: the gzip-wrapped) stream at src[off..] into at most max bytes;
 * beyond 256 MiB also at most ratio_cap bytes (UINT64_MAX: no ratio). Returns 0 when the stream
 * ended cleanly, 1 when it is corrupt or truncated, -1 when the cap was hit (res->over), a read
 * failed (res->io_err) or memory ran out (neither). */
int st_inflate_src(const st_src *src, uint64_t off, int gzip, size_t max, uint64_t ratio_cap,
                   st_inflated *res);

#endif /* ST_FORMATS_COMPRESSED_H */
