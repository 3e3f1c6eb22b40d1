/*
 * protobuf.c - the bounded wire-format walker (protobuf.h). Wire format as specified in
 * https://protobuf.dev/programming-guides/encoding/ and read by protobuf's CodedInputStream
 * (io/coded_stream.cc): varints of at most 10 bytes, tags with a field number of 1..2^29-1,
 * lengths bounded by the enclosing message, nesting bounded by the recursion limit (100).
 * Groups (wire types 3 and 4) are not used by ONNX and are refused: fail closed.
 */
#include "protobuf.h"

#include <string.h>

/* bytes read after a jump of more than a window (protobuf.h ST_PB_WINDOW otherwise) */
#define ST_PB_JUMP_WINDOW 256

size_t st_pb_varint(const unsigned char *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n && i < 10; i++) {
        /* the 10th byte holds bit 63 only: anything more is not a 64-bit value */
        if (i == 9 && p[i] > 1)
            return 0;
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if ((p[i] & 0x80) == 0) {
            *out = v;
            return i + 1;
        }
    }
    return 0;
}

void st_pb_init(st_pb_cursor *c, const st_src *src, uint64_t off, uint64_t len)
{
    memset(c, 0, sizeof(*c));
    c->src = src;
    c->pos = off;
    c->end = off + len;
    c->max_fields = ST_PB_MAX_FIELDS;
}

/* Makes the window hold the bytes from off to at most the end of the current message;
 * returns how many bytes from off it holds. */
static st_pb_status window(st_pb_cursor *c, uint64_t off, size_t *avail)
{
    if (off < c->win_off || off >= c->win_off + c->win_len || c->win_off + c->win_len - off < 10) {
        uint64_t left = c->src->size - off;
        /* After a jump over a skipped field (tensor raw_data) the next tensor's metadata is
         * small: a short read, so that the bytes of the next raw_data are mostly not read. */
        size_t max =
            off > c->win_off + c->win_len + ST_PB_WINDOW ? ST_PB_JUMP_WINDOW : ST_PB_WINDOW;
        size_t n = left < max ? (size_t)left : max;
        if (st_src_read(c->src, off, c->win, n) != ST_OK)
            return ST_PB_IO;
        c->win_off = off;
        c->win_len = n;
    }
    uint64_t have = c->win_off + c->win_len - off;
    uint64_t room = c->end - off;
    *avail = (size_t)(have < room ? have : room);
    return ST_PB_FIELD;
}

static st_pb_status read_varint_slow(st_pb_cursor *c, uint64_t *out)
{
    size_t avail = 0;
    st_pb_status s = window(c, c->pos, &avail);
    if (s != ST_PB_FIELD)
        return s;
    size_t n = st_pb_varint(c->win + (c->pos - c->win_off), avail, out);
    if (n == 0) {
        c->bad_off = c->pos;
        return ST_PB_BAD;
    }
    c->pos += n;
    return ST_PB_FIELD;
}

static inline st_pb_status read_varint(st_pb_cursor *c, uint64_t *out)
{
    /* fast path: one- and two-byte varints (tags, most lengths) already in the window and
     * inside the current message */
    uint64_t rel = c->pos - c->win_off;
    if (c->pos >= c->win_off && rel + 2 <= c->win_len && c->end - c->pos >= 2) {
        const unsigned char *p = c->win + rel;
        if (p[0] < 0x80) {
            *out = p[0];
            c->pos += 1;
            return ST_PB_FIELD;
        }
        if (p[1] < 0x80) {
            *out = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
            c->pos += 2;
            return ST_PB_FIELD;
        }
    }
    return read_varint_slow(c, out);
}

static st_pb_status skip(st_pb_cursor *c, uint64_t n)
{
    if (c->end - c->pos < n) {
        c->bad_off = c->pos;
        return ST_PB_BAD;
    }
    c->pos += n;
    return ST_PB_FIELD;
}

/* Copies [off, off+n) from the window when it holds them (most strings and fixed values of a
 * metadata-dense model: one read per window, not one per field), else reads the source. */
static st_error copy_out(st_pb_cursor *c, uint64_t off, unsigned char *buf, size_t n)
{
    if (off >= c->win_off && off - c->win_off <= c->win_len &&
        n <= c->win_len - (off - c->win_off)) {
        memcpy(buf, c->win + (off - c->win_off), n);
        return ST_OK;
    }
    return st_src_read(c->src, off, buf, n);
}

static st_pb_status read_fixed(st_pb_cursor *c, unsigned n, uint64_t *out)
{
    uint64_t start = c->pos;
    st_pb_status s = skip(c, n);
    if (s != ST_PB_FIELD)
        return s;
    unsigned char b[8];
    /* GCOVR_EXCL_START: the bytes lie within the message, which lies within the source; a
     * failure here means the file changed while read */
    if (copy_out(c, start, b, n) != ST_OK)
        return ST_PB_IO;
    /* GCOVR_EXCL_STOP */
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)b[i] << (8 * i);
    *out = v;
    return ST_PB_FIELD;
}

st_pb_status st_pb_next(st_pb_cursor *c, st_pb_field *f)
{
    if (c->pos == c->end)
        return ST_PB_END;
    if (++c->fields > c->max_fields)
        return ST_PB_LIMIT;
    uint64_t tag_off = c->pos, tag = 0;
    st_pb_status s = read_varint(c, &tag);
    if (s != ST_PB_FIELD)
        return s;
    if (tag >> 3 == 0 || tag >> 3 > 0x1fffffff) {
        c->bad_off = tag_off;
        return ST_PB_BAD;
    }
    f->value = f->len = 0;
    f->number = (uint32_t)(tag >> 3);
    f->wire = (unsigned)(tag & 7);
    f->off = c->pos;
    switch (f->wire) {
    case ST_PB_VARINT:
        return read_varint(c, &f->value);
    case ST_PB_I64:
        return read_fixed(c, 8, &f->value);
    case ST_PB_I32:
        return read_fixed(c, 4, &f->value);
    case ST_PB_LEN:
        s = read_varint(c, &f->len);
        if (s != ST_PB_FIELD)
            return s;
        f->off = c->pos;
        return skip(c, f->len);
    default:
        c->bad_off = tag_off;
        return ST_PB_BAD;
    }
}

st_pb_status st_pb_enter(st_pb_cursor *c, const st_pb_field *f)
{
    if (c->depth >= ST_PB_MAX_DEPTH)
        return ST_PB_LIMIT;
    c->stack[c->depth++] = c->end;
    /* c->pos is already past the payload: it is where the enclosing message resumes */
    c->end = f->off + f->len;
    c->pos = f->off;
    return ST_PB_FIELD;
}

int st_pb_leave(st_pb_cursor *c)
{
    if (c->depth == 0)
        return 0;
    c->pos = c->end;
    c->end = c->stack[--c->depth];
    return 1;
}

st_pb_status st_pb_bytes(st_pb_cursor *c, const st_pb_field *f, unsigned char *buf, size_t size)
{
    size_t n = f->len < size ? (size_t)f->len : size;
    if (n > ST_PB_WINDOW) /* GCOVR_EXCL_BR_LINE: callers' buffers are at most a window */
        n = ST_PB_WINDOW; /* GCOVR_EXCL_LINE: as above */
    if (n > 0 && copy_out(c, f->off, buf, n) != ST_OK)
        return ST_PB_IO;
    return ST_PB_FIELD;
}
