/*
 * source.c - exact positional reads.
 */
#include "source.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "checked.h"

st_error st_src_read(const st_src *src, uint64_t off, void *buf, size_t len)
{
    uint64_t end;
    if (st_add_u64(off, len, &end) || end > src->size)
        return ST_E_INVAL;
    if (src->fd == ST_SRC_CALLBACK) {
        const st_src_cb *cb = (const st_src_cb *)(const void *)src->mem;
        return len > 0 ? cb->read(cb->arg, off, buf, len) : ST_OK;
    }
    if (src->fd < 0) {
        if (len > 0)
            memcpy(buf, src->mem + off, len);
        return ST_OK;
    }
    unsigned char *p = buf;
    while (len > 0) {
        if (off > (uint64_t)INT64_MAX)
            return ST_E_IO;
        ssize_t n = pread(src->fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return ST_E_IO; /* error, or the file shrank since fstat */
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return ST_OK;
}

void st_src_callback(st_src *src, const st_src_cb *cb, uint64_t size)
{
    src->fd = ST_SRC_CALLBACK;
    src->mem = (const unsigned char *)(const void *)cb;
    src->size = size;
}
