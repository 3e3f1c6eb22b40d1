/*
 * escape.h - make input-derived text safe to print.
 *
 * Tensor names, metadata and file names come from strangers. Before they reach a terminal, a
 * JSON document or an XML report they are reduced to printable text: valid UTF-8 without
 * control characters or invisible formatting (bidi overrides, zero-width characters) that could
 * forge output lines or hide text from a reviewer.
 */
#ifndef ST_ESCAPE_H
#define ST_ESCAPE_H

#include <stddef.h>

/* Writes at most out_size-1 bytes plus a NUL. Bytes that are not kept become "\xNN". When the
 * input does not fit in max_chars output bytes it is cut and "..." appended. Returns out. */
char *st_escape(const void *in, size_t in_len, char *out, size_t out_size, size_t max_chars);

/* Length of the valid UTF-8 sequence starting at p (1-4), or 0 when it is invalid (truncated,
 * overlong, surrogate, above U+10FFFF). Unicode 15, Table 3-7. */
size_t st_utf8_seq_len(const unsigned char *p, size_t avail);

/* Decodes a sequence that st_utf8_seq_len accepted. */
unsigned long st_utf8_decode(const unsigned char *p, size_t len);

/* Writes cp (<= U+10FFFF) as UTF-8 into out (room for 4 bytes); returns the length. */
size_t st_utf8_encode(unsigned char *out, unsigned long cp);

/* Value of a hexadecimal digit, or -1. */
int st_hex_digit(int c);

/* Nonzero for code points that render invisibly or reorder text: C0/C1 controls, DEL,
 * zero-width and bidi formatting characters, BOM. */
int st_is_invisible_cp(unsigned long cp);

#endif /* ST_ESCAPE_H */
