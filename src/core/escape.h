/*
 * escape.h - make input-derived text safe to print.
 *
 * Tensor names, metadata and file names come from strangers. Before they reach a terminal, a
 * JSON document or an XML report they are reduced to printable text: valid UTF-8 without
 * control characters, line separators, invisible formatting (bidi overrides, zero-width
 * characters) or noncharacters (U+FFFE, U+FFFF: not XML characters) that could forge output
 * lines, hide text from a reviewer or break a parser. Every byte not kept becomes "\xNN".
 * The form is idempotent: escaping escaped text changes nothing, so a writer may escape again
 * whatever the report already escaped.
 *
 * One function per output kind; every writer passes every string through its kind's function:
 *   text (terminal, text report)  st_put_text
 *   JSON (cJSON adds its quoting)  st_escape_dup
 *   SARIF message strings          st_escape_sarif
 *   XML (JUnit)                    st_put_xml
 */
#ifndef ST_ESCAPE_H
#define ST_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/* Writes at most out_size-1 bytes plus a NUL. Bytes that are not kept become "\xNN". When the
 * input does not fit in max_chars output bytes it is cut and "..." appended. Returns out. */
char *st_escape(const void *in, size_t in_len, char *out, size_t out_size, size_t max_chars);

/* The escaped form of a whole NUL-terminated string, never cut; malloc'd (free()), or NULL
 * when out of memory. For JSON: cJSON then adds JSON's own quoting. */
char *st_escape_dup(const char *s);

/* A SARIF message string (SARIF 2.1.0 3.11.5, 3.11.6), malloc'd or NULL: the escaped form with
 * "{" and "}" doubled (placeholders) and, in plain text, each backslash, "[" and "]" preceded
 * by a backslash so that no input text reads as an embedded link. Flags, for text of our own
 * (rule documentation), never for input-derived text:
 *   ST_SARIF_MARKDOWN  a formatted (GFM) message: only the braces are doubled
 *   ST_SARIF_LINES     line feeds are kept (paragraphs), not escaped */
enum { ST_SARIF_MARKDOWN = 1, ST_SARIF_LINES = 2 };
char *st_escape_sarif(const char *s, int flags);

/* Writes the escaped form of s (text output); 0, or -1 on a write error. */
int st_put_text(FILE *out, const char *s);

/* Writes the escaped form of s with XML's metacharacters as entities: valid in XML 1.0 text
 * and in attribute values in double or single quotes. 0, or -1 on a write error. */
int st_put_xml(FILE *out, const char *s);

/* Nonzero for code points st_escape never keeps: the invisible ones below, line and paragraph
 * separators, interlinear annotation, tag characters and noncharacters. */
int st_is_unsafe_cp(unsigned long cp);

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
