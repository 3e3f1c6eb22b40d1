/*
 * json.h - strict, iterative, bounded JSON scanner for untrusted input.
 *
 * Why not cJSON: cJSON 1.7.15 accepts duplicate keys (returning the first, where serde and
 * Python keep the last), invalid UTF-8, raw control bytes, "\u0000" that truncates keys, "01"
 * and "1."; it reads integers as doubles (u64 above 2^53 round) and recurses on nesting depth.
 * Each of these lets a file mean one thing to stcheck and another to a loader. This scanner
 * implements RFC 8259 exactly and nothing more; cJSON stays for trusted input (policies) and for
 * writing JSON output.
 *
 * It is a pull scanner: st_json_next yields one token at a time, in a single pass, with an
 * explicit container stack (no recursion), so memory is bounded by the depth limit plus the keys
 * of the objects currently open. Duplicate keys are detected in every object, comparing the
 * unescaped text: small objects on insertion, large ones by sorting when they close (sorting
 * cannot be slowed by crafted hash collisions).
 */
#ifndef ST_JSON_H
#define ST_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    ST_JT_OBJ_BEGIN = 1,
    ST_JT_OBJ_END,
    ST_JT_ARR_BEGIN,
    ST_JT_ARR_END,
    ST_JT_KEY,
    ST_JT_STRING,
    ST_JT_NUMBER,
    ST_JT_TRUE,
    ST_JT_FALSE,
    ST_JT_NULL,
    ST_JT_END, /* the document ended cleanly */
} st_json_type;

typedef enum {
    ST_JSON_OK = 0,
    ST_JSON_E_SYNTAX,   /* grammar, escapes, lone surrogates, truncation */
    ST_JSON_E_UTF8,     /* invalid UTF-8 */
    ST_JSON_E_CONTROL,  /* raw control byte (or NUL) inside a string */
    ST_JSON_E_DUPKEY,   /* the same key twice in one object */
    ST_JSON_E_DEPTH,    /* nesting deeper than the limit */
    ST_JSON_E_TRAILING, /* non-whitespace after the top-level value */
    ST_JSON_E_NOMEM,
} st_json_err;

/* Token flags */
#define ST_JSON_F_ESCAPED 0x01u  /* string had escapes; str points into scanner storage */
#define ST_JSON_F_NUL 0x02u      /* string holds U+0000 (written as \u0000) */
#define ST_JSON_F_UINT 0x04u     /* number is a plain unsigned integer that fits u64 */
#define ST_JSON_F_UINT_BIG 0x08u /* number is a plain unsigned integer above u64 */

typedef struct {
    st_json_type type;
    size_t off;      /* first byte of the token in the input */
    size_t len;      /* raw length (strings include their quotes) */
    const char *str; /* KEY/STRING: unescaped text (not NUL-terminated) */
    size_t str_len;
    unsigned flags;
    uint64_t u64;   /* NUMBER with ST_JSON_F_UINT */
    unsigned depth; /* containers open after this token */
} st_json_tok;

typedef struct st_json st_json;

/* The input must outlive the scanner and be shorter than 2^31 bytes. NULL on allocation
 * failure or oversize input. */
st_json *st_json_new(const unsigned char *buf, size_t len, unsigned max_depth);
void st_json_free(st_json *j);

/* Next token. On error the scanner stays in error: later calls return the same error. */
st_json_err st_json_next(st_json *j, st_json_tok *t);

/* Consumes the rest of the value that begins with tok (a no-op for scalars). */
st_json_err st_json_skip(st_json *j, const st_json_tok *tok);

/* Where and why the last error happened. */
size_t st_json_error_offset(const st_json *j);
const char *st_json_error_detail(const st_json *j);

/* Whitespace around the top-level value, for formats that restrict it. */
size_t st_json_leading_ws(const st_json *j);        /* bytes of whitespace before the value */
int st_json_trailing_nonspace_ws(const st_json *j); /* tab/CR/LF seen after the value */

#endif /* ST_JSON_H */
