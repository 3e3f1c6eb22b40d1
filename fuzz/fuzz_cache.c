/*
 * fuzz_cache.c - the remote source (src/fetch/fetch.c + cache.c) fed by a fake transport whose
 * answers the input chooses. The input's first bytes pick the file size and, for each request,
 * a server behaviour (a proper 206, 200 ignoring Range, a shifted or lying Content-Range, a size
 * that changes, short or long bodies, drops, 5xx, redirects, a clock jumping past the
 * --fetch-timeout deadline); the rest are reads (offset,
 * length). Every byte a read returns must be the file's: never a short or shifted body parsed
 * as complete.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/fake_transport.h"
#include "core/report.h"
#include "fetch/fetch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    st_transport base;
    uint64_t size;
    const uint8_t *acts;
    size_t n_acts, at;
} fake;

/* A fake clock: the deadline is at 1,000 ms; behaviour 12 jumps past it. */
static uint64_t now_ms;

static uint64_t fake_clock(void)
{
    return now_ms;
}

static st_error fake_get(st_transport *t, const char *url, const char *const *headers, uint64_t off,
                         uint64_t len, st_body_fn fn, void *arg, st_http_resp *resp, char *err,
                         size_t err_size)
{
    fake *f = (fake *)t;
    (void)url;
    (void)headers;
    unsigned act = f->at < f->n_acts ? f->acts[f->at] : 0;
    f->at++;
    memset(resp, 0, sizeof(*resp));
    uint64_t a = off, b = len ? off + len : f->size, total = f->size;
    if (b > f->size)
        b = f->size;
    switch (act % 16) {
    case 1:
        snprintf(err, err_size, "dropped");
        return ST_E_IO;
    case 2:
        ft_line(resp, "HTTP/1.1 %u X", 500 + act / 16);
        return ST_OK;
    case 3:
        ft_line(resp, "HTTP/1.1 302 Found");
        ft_line(resp, "Location: %s", act & 16 ? "/again" : "file:///etc/passwd");
        return ST_OK;
    case 4:
        ft_line(resp, "HTTP/1.1 200 OK");
        if (act & 16)
            ft_line(resp, "Content-Length: %llu", (unsigned long long)(f->size + (act >> 5)));
        ft_body(fn, arg, resp, 0, f->size, 4096);
        return ST_OK;
    case 12: /* the deadline passes while this response comes */
        now_ms += 2000;
        break;
    case 5:
        ft_line(resp, "HTTP/1.1 416 Range Not Satisfiable");
        ft_line(resp, "Content-Range: bytes */%llu", (unsigned long long)(act >> 4));
        return ST_OK;
    default:
        break;
    }
    if (len == 0) {
        ft_line(resp, "HTTP/1.1 200 OK");
        ft_body(fn, arg, resp, 0, f->size, 4096);
        return ST_OK;
    }
    ft_line(resp, "HTTP/1.1 206 Partial Content");
    uint64_t shift = act % 16 == 6 ? act >> 4 : 0;
    total += act % 16 == 7 ? 1 + (act >> 4) : 0;
    if (b == 0) /* nothing to send for an empty file */
        b = a + 1;
    if (act % 16 != 8)
        ft_line(resp, "Content-Range: bytes %llu-%llu/%llu", (unsigned long long)(a + shift),
                (unsigned long long)(b - 1 + shift), (unsigned long long)total);
    if (act % 16 == 9)
        ft_line(resp, "Content-Encoding: gzip");
    uint64_t cut = act % 16 == 10 ? (act >> 4) + 1 : 0;
    uint64_t extra = act % 16 == 11 ? (act >> 4) + 1 : 0;
    ft_body(fn, arg, resp, a, (b > cut + a ? b - cut : a) + extra, 4096);
    return ST_OK;
}

static void fake_free(st_transport *t)
{
    (void)t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    static st_ctx *ctx;
    if (ctx == NULL)
        ctx = st_ctx_new();
    st_fetch_backoff_ms = 0;
    uint64_t fsize = (uint64_t)data[0] << 16 | (uint64_t)data[1] << 8 | data[2]; /* < 16 MiB */
    size_t n_acts = data[3] % 32;
    if (size < 4 + n_acts)
        return 0;
    fake f = {{fake_get, fake_free, 1000, 1, 0, 0, ""}, fsize, data + 4, n_acts, 0};
    st_fetch_clock_ms = fake_clock;
    now_ms = 0;
    st_report *r = st_report_new(ctx, "fuzz");
    st_error err;
    uint64_t max = (uint64_t)1 << (16 + data[3] % 12);
    st_remote *rm = st_remote_open(&f.base, r, "http://h.test/f", NULL, max, &err);
    if (rm != NULL && err == ST_OK) {
        st_src src;
        st_remote_src(rm, &src);
        if (st_remote_size(rm) != fsize && f.at <= 1 && n_acts == 0)
            abort();
        static unsigned char buf[1 << 19];
        for (size_t i = 4 + n_acts; i + 6 <= size; i += 6) {
            uint64_t off = ((uint64_t)data[i] << 16 | (uint64_t)data[i + 1] << 8 | data[i + 2]) * 7;
            size_t len =
                ((size_t)data[i + 3] << 16 | (size_t)data[i + 4] << 8 | data[i + 5]) % sizeof(buf);
            if (st_src_read(&src, off, buf, len) != ST_OK)
                continue;
            for (size_t k = 0; k < len; k++)
                if (buf[k] != ft_byte_at(off + k))
                    abort(); /* a byte that is not the file's */
        }
    }
    st_remote_close(rm);
    st_report_free(r);
    return 0;
}
