/*
 * compressed.c - compressed streams: gzip (RFC 1952), zlib (RFC 1950), bzip2, xz and legacy
 * .lzma. joblib.dump(..., compress=...) writes a pickle through one of these; anything else
 * inside is identified by content in turn.
 *
 * Decompression streams through bounded buffers (zlib, libbz2, liblzma from Debian): the
 * output may not exceed the absolute member-size limit (1 GiB by default) nor, beyond 256 MiB,
 * the ratio limit times the input (so highly compressible arrays of real size pass), so a bomb
 * is a finding (ST311) and "could not check", never an exhausted machine. The decompressed bytes
 * are then checked as a nested input, within the nesting limit.
 */
#include <bzlib.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../core/checked.h"
#include "compressed.h"
#include "format.h"

enum { C_GZIP, C_ZLIB, C_BZIP2, C_XZ, C_LZMA, C_NONE };
static const char *const names[] = {"gzip", "zlib", "bzip2", "xz", "lzma"};

static int kind(const st_input *in)
{
    const unsigned char *h = in->head;
    size_t n = in->head_len;
    if (n >= 3 && h[0] == 0x1f && h[1] == 0x8b && h[2] == 8)
        return C_GZIP;
    if (n >= 4 && memcmp(h, "BZh", 3) == 0 && h[3] >= '1' && h[3] <= '9')
        return C_BZIP2;
    if (n >= 6 && memcmp(h,
                         "\xfd"
                         "7zXZ\0",
                         6) == 0)
        return C_XZ;
    /* .lzma "alone" header: properties byte 0x5d and a dictionary size, as joblib writes it */
    if (n >= 13 && h[0] == 0x5d && h[1] == 0 && h[2] == 0)
        return C_LZMA;
    if (n >= 2 && h[0] == 0x78 && ((unsigned)h[0] << 8 | h[1]) % 31 == 0)
        return C_ZLIB;
    return C_NONE;
}

int st_compressed_sniff(const st_input *in)
{
    int k = kind(in);
    /* zlib's two-byte header is weak evidence: any stronger claim wins */
    return k == C_NONE ? 0 : k == C_ZLIB ? 50 : 85;
}

/* A growing output buffer with a hard cap. */
typedef struct {
    unsigned char *p;
    size_t len, cap, max;
    uint64_t ratio_cap; /* input size x the ratio limit: applies beyond RATIO_FLOOR only */
    int over;
} outbuf;

/* Output up to this size is never a bomb, whatever the ratio: an all-zero array of 256 MiB
 * compresses 1000:1 and is real data. Beyond it the ratio limit applies too. */
#define RATIO_FLOOR ((size_t)256 << 20)

static unsigned char *out_room(outbuf *o, size_t *room)
{
    if (o->len > RATIO_FLOOR && o->len > o->ratio_cap) {
        o->over = 1;
        return NULL;
    }
    if (o->len == o->cap) {
        if (o->cap >= o->max) {
            o->over = 1;
            return NULL;
        }
        size_t cap = o->cap ? o->cap * 2 : 65536;
        if (cap > o->max)
            cap = o->max;
        unsigned char *q = realloc(o->p, cap);
        if (q == NULL)
            return NULL;
        o->p = q;
        o->cap = cap;
    }
    *room = o->cap - o->len;
    return o->p + o->len;
}

typedef struct {
    const st_src *src;
    uint64_t pos;
    unsigned char chunk[65536];
} inbuf;

static size_t in_next(inbuf *ib, int *io_err)
{
    uint64_t left = ib->src->size - ib->pos;
    size_t n = left < sizeof(ib->chunk) ? (size_t)left : sizeof(ib->chunk);
    if (n > 0 && st_src_read(ib->src, ib->pos, ib->chunk, n) != ST_OK) {
        *io_err = 1;
        return 0;
    }
    ib->pos += n;
    return n;
}

/* Each returns 0 when the stream ended cleanly, 1 when it is corrupt or truncated, -1 when
 * the output cap was hit or memory/I-O failed (o->over / *io_err tell which). */
static int run_zlib(inbuf *ib, outbuf *o, int gzip, int *io_err, uint64_t *consumed)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    /* GCOVR_EXCL_START: inflateInit2 fails only when zlib cannot allocate its state (inside
     * libz, out of reach of the tests' wrapped malloc) */
    if (inflateInit2(&z, gzip ? 16 + MAX_WBITS : MAX_WBITS) != Z_OK)
        return -1;
    /* GCOVR_EXCL_STOP */
    int rc = Z_OK, result = 1;
    for (;;) {
        if (z.avail_in == 0) {
            z.avail_in = (uInt)in_next(ib, io_err);
            z.next_in = ib->chunk;
            if (*io_err || z.avail_in == 0)
                break;
        }
        size_t room;
        unsigned char *dst = out_room(o, &room);
        if (dst == NULL) {
            result = -1;
            break;
        }
        uInt give = room > UINT32_MAX ? UINT32_MAX : (uInt)room;
        z.next_out = dst;
        z.avail_out = give;
        rc = inflate(&z, Z_NO_FLUSH);
        o->len += give - z.avail_out;
        if (rc == Z_STREAM_END) {
            result = 0;
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            break;
    }
    *consumed = ib->pos - z.avail_in;
    inflateEnd(&z);
    return *io_err ? -1 : result;
}

int st_inflate_src(const st_src *src, uint64_t off, int gzip, size_t max, uint64_t ratio_cap,
                   st_inflated *res)
{
    outbuf o = {NULL, 0, 0, max, ratio_cap, 0};
    uint64_t end = off;
    int rc = -1;
    memset(res, 0, sizeof(*res));
    inbuf *ib = malloc(sizeof(*ib));
    if (ib != NULL) {
        ib->src = src;
        ib->pos = off;
        rc = run_zlib(ib, &o, gzip, &res->io_err, &end);
    }
    free(ib);
    res->out = o.p;
    res->len = o.len;
    res->over = o.over;
    res->consumed = end - off;
    return rc;
}

static int run_bzip2(inbuf *ib, outbuf *o, int *io_err, uint64_t *consumed)
{
    bz_stream b;
    memset(&b, 0, sizeof(b));
    /* GCOVR_EXCL_START: with these constant arguments only an allocation failure inside
     * libbz2 makes the init fail */
    if (BZ2_bzDecompressInit(&b, 0, 0) != BZ_OK)
        return -1;
    /* GCOVR_EXCL_STOP */
    int result = 1;
    for (;;) {
        if (b.avail_in == 0) {
            b.avail_in = (unsigned)in_next(ib, io_err);
            b.next_in = (char *)ib->chunk;
            if (*io_err || b.avail_in == 0)
                break;
        }
        size_t room;
        unsigned char *dst = out_room(o, &room);
        if (dst == NULL) {
            result = -1;
            break;
        }
        unsigned give = room > UINT32_MAX ? UINT32_MAX : (unsigned)room;
        b.next_out = (char *)dst;
        b.avail_out = give;
        int rc = BZ2_bzDecompress(&b);
        o->len += give - b.avail_out;
        if (rc == BZ_STREAM_END) {
            result = 0;
            break;
        }
        if (rc != BZ_OK)
            break;
    }
    *consumed = ib->pos - b.avail_in;
    BZ2_bzDecompressEnd(&b);
    return *io_err ? -1 : result;
}

static int run_lzma(inbuf *ib, outbuf *o, int alone, int *io_err, uint64_t *consumed)
{
    lzma_stream l = LZMA_STREAM_INIT;
    /* the decoder's own memory is bounded too (a crafted dictionary size) */
    /* GCOVR_EXCL_START: with these constant arguments only an allocation failure inside
     * liblzma makes the init fail */
    if ((alone ? lzma_alone_decoder(&l, 256u << 20) : lzma_stream_decoder(&l, 256u << 20, 0)) !=
        LZMA_OK)
        return -1;
    /* GCOVR_EXCL_STOP */
    int result = 1;
    for (;;) {
        lzma_action act = LZMA_RUN;
        if (l.avail_in == 0) {
            l.avail_in = in_next(ib, io_err);
            l.next_in = ib->chunk;
            if (*io_err)
                break;
            if (l.avail_in == 0)
                act = LZMA_FINISH;
        }
        size_t room;
        unsigned char *dst = out_room(o, &room);
        if (dst == NULL) {
            result = -1;
            break;
        }
        l.next_out = dst;
        l.avail_out = room;
        lzma_ret rc = lzma_code(&l, act);
        o->len += room - l.avail_out;
        if (rc == LZMA_STREAM_END) {
            result = 0;
            break;
        }
        if (rc != LZMA_OK || act == LZMA_FINISH)
            break;
    }
    *consumed = ib->pos - l.avail_in;
    lzma_end(&l);
    return *io_err ? -1 : result;
}

st_error st_compressed_check(st_input *in)
{
    int k = kind(in);
    if (k == C_NONE)
        return ST_E_UNSUPPORTED;
    in->report->format = names[k];
    /* The absolute member-size limit bounds the output; the ratio only beyond RATIO_FLOOR:
     * joblib.dump(compress=3) of an all-zero array compresses about 1000:1. */
    uint64_t max = in->ctx->limits[ST_LIMIT_MEMBER_BYTES], consumed = 0, ratio_cap;
    if (max > SIZE_MAX)
        max = SIZE_MAX;
    if (st_mul_u64(in->src->size, in->ctx->limits[ST_LIMIT_ZIP_RATIO], &ratio_cap))
        ratio_cap = UINT64_MAX;
    outbuf o = {NULL, 0, 0, (size_t)max, ratio_cap, 0};
    inbuf *ib = malloc(sizeof(*ib));
    int io_err = 0, rc = -1;
    if (ib != NULL) {
        ib->src = in->src;
        ib->pos = 0;
        rc = k == C_GZIP || k == C_ZLIB ? run_zlib(ib, &o, k == C_GZIP, &io_err, &consumed)
             : k == C_BZIP2             ? run_bzip2(ib, &o, &io_err, &consumed)
                                        : run_lzma(ib, &o, k == C_LZMA, &io_err, &consumed);
    }
    free(ib);
    st_error err = ST_OK;
    if (rc < 0) {
        err = o.over ? ST_E_LIMIT : io_err ? ST_E_IO : ST_E_NOMEM;
        st_report_add(in->report,
                      o.over   ? ST_R_ZIP_BOMB
                      : io_err ? ST_R_IO
                               : ST_R_NOMEM,
                      0, 0, "%s stream: %s", names[k],
                      o.over   ? "decompresses beyond the size or ratio limit (bomb)"
                      : io_err ? "could not be read"
                               : "out of memory");
    } else if (rc > 0) {
        st_report_add(in->report, ST_R_COMPRESSED_CORRUPT, 0, in->src->size,
                      "%s stream is corrupt or truncated after %zu decompressed bytes", names[k],
                      o.len);
    } else {
        if (consumed < in->src->size)
            st_report_add(in->report, ST_R_COMPRESSED_TRAILING, consumed, in->src->size - consumed,
                          "%llu bytes follow the %s stream",
                          (unsigned long long)(in->src->size - consumed), names[k]);
        /* joblib.load reads old-joblib sibling files from the compressed file's folder */
        err = st_check_nested_in_folder(in, o.p, o.len, names[k]);
    }
    free(o.p);
    return err;
}
