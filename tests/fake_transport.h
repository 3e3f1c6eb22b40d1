/*
 * fake_transport.h - the pieces shared by the fake HTTP transports of tests/test_fetch.c (a
 * script of server behaviours) and fuzz/fuzz_cache.c (behaviours the input picks): the remote
 * file's bytes, a response header line, and a body sent in pieces. Each transport keeps its own
 * get() that chooses what to answer; no cmocka here (the fuzz target includes it too).
 */
#ifndef ST_FAKE_TRANSPORT_H
#define ST_FAKE_TRANSPORT_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fetch/fetch.h"

/* The byte at offset off of the remote file: position-dependent, so a shifted or short body
 * shows as wrong bytes. */
static inline unsigned char ft_byte_at(uint64_t off)
{
    return (unsigned char)((off * 131u) ^ (off >> 9));
}

/* One response header line (or the status line), printf-formatted, fed to the parser the way
 * the real transport feeds it. */
static inline void ft_line(st_http_resp *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void ft_line(st_http_resp *r, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    st_http_header_line(r, line, strlen(line));
}

/* The largest piece ft_body sends at once. */
#define FT_PIECE_MAX 8192

/* Sends [a, b) of the file to fn in pieces of `piece` bytes (at most FT_PIECE_MAX), after the
 * empty call that ends the headers; stops when fn asks. */
static inline void ft_body(st_body_fn fn, void *arg, st_http_resp *resp, uint64_t a, uint64_t b,
                           size_t piece)
{
    unsigned char buf[FT_PIECE_MAX];
    if (piece == 0 || piece > sizeof(buf))
        piece = sizeof(buf);
    fn(arg, NULL, 0, resp);
    while (a < b) {
        size_t n = b - a < piece ? (size_t)(b - a) : piece;
        for (size_t i = 0; i < n; i++)
            buf[i] = ft_byte_at(a + i);
        if (fn(arg, buf, n, resp) != 0)
            return;
        a += n;
    }
}

#endif /* ST_FAKE_TRANSPORT_H */
