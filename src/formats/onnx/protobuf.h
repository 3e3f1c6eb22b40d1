/*
 * protobuf.h - a bounded, iterative walker of the protobuf wire format (no protobuf library
 * touches hostile input).
 *
 * A cursor reads one message level at a time through st_src_read with a small window: every
 * varint, length and nested message is bounded by the bytes of the message holding it, nesting
 * is an explicit stack (never recursion) of at most ST_PB_MAX_DEPTH levels, and the number of
 * fields is bounded by ST_PB_MAX_FIELDS. Length-delimited fields are skipped unless the caller
 * enters them, so bytes fields (tensor data) are never read.
 */
#ifndef ST_PROTOBUF_H
#define ST_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

#include "../../core/source.h"

/* protobuf's default recursion limit (CodedInputStream::kDefaultRecursionLimit is 100) */
#define ST_PB_MAX_DEPTH 100
#define ST_PB_MAX_FIELDS (1u << 26)
#define ST_PB_WINDOW 4096

enum { ST_PB_VARINT = 0, ST_PB_I64 = 1, ST_PB_LEN = 2, ST_PB_I32 = 5 };

typedef enum {
    ST_PB_FIELD = 1,  /* a field was read */
    ST_PB_END = 0,    /* the current message ended exactly at its bound */
    ST_PB_BAD = -1,   /* malformed wire data (truncated, bad tag, wire type, varint) */
    ST_PB_LIMIT = -2, /* depth or field count over the limit */
    ST_PB_IO = -3     /* the source could not be read */
} st_pb_status;

typedef struct {
    uint32_t number;
    unsigned wire;
    uint64_t value; /* VARINT, I64, I32: the value */
    uint64_t off;   /* LEN: where the payload starts; others: where the value starts */
    uint64_t len;   /* LEN: payload length */
} st_pb_field;

typedef struct {
    const st_src *src;
    uint64_t pos, end;               /* the current message: [pos, end) */
    uint64_t stack[ST_PB_MAX_DEPTH]; /* the end of each enclosing message */
    unsigned depth;
    uint64_t fields;
    uint64_t max_fields; /* ST_PB_MAX_FIELDS unless a test lowers it */
    uint64_t bad_off;    /* where a BAD status was found */
    unsigned char win[ST_PB_WINDOW];
    uint64_t win_off;
    size_t win_len;
} st_pb_cursor;

/* A cursor over [off, off+len) of src, as the top-level message. */
void st_pb_init(st_pb_cursor *c, const st_src *src, uint64_t off, uint64_t len);
/* The next field of the current message. */
st_pb_status st_pb_next(st_pb_cursor *c, st_pb_field *f);
/* Makes the LEN field f (just returned by st_pb_next) the current message. */
st_pb_status st_pb_enter(st_pb_cursor *c, const st_pb_field *f);
/* Back to the enclosing message after st_pb_next returned ST_PB_END; 0 at the top level. */
int st_pb_leave(st_pb_cursor *c);
/* Copies min(f->len, size) payload bytes of a LEN field to buf (at most ST_PB_WINDOW). */
st_pb_status st_pb_bytes(st_pb_cursor *c, const st_pb_field *f, unsigned char *buf, size_t size);
/* Reads a varint from [p, p+n); returns its byte count, 0 when malformed or truncated. */
size_t st_pb_varint(const unsigned char *p, size_t n, uint64_t *out);

#endif /* ST_PROTOBUF_H */
