/*
 * json.c - strict RFC 8259 pull scanner for hostile input.
 *
 * Implements RFC 8259 (JSON) with UTF-8 as RFC 8259 section 8.1 requires. Refuses: invalid
 * UTF-8 (Unicode Table 3-7: overlong forms, surrogates, > U+10FFFF), raw control bytes in
 * strings, unknown or short escapes, lone surrogate escapes, leading zeros, "1.", ".5", "+1",
 * NaN/Infinity, comments, trailing commas, duplicate keys, nesting beyond the limit, and
 * anything after the top-level value except whitespace. See json.h for why cJSON is not used.
 */
#include "json.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../core/escape.h"

#define ARENA_BIT 0x80000000u
#define SMALL_OBJECT 8 /* keys checked on insertion; larger objects are sorted at close */

typedef struct {
    uint32_t raw_off;  /* offset of the opening quote in the input */
    uint32_t text_off; /* unescaped text: input offset, or arena offset with ARENA_BIT */
    uint32_t len;
    uint32_t hash;
} key_ent;

typedef struct {
    unsigned char is_obj;
    size_t key_base;   /* first key of this object in j->keys */
    size_t arena_mark; /* arena length when the object opened */
} frame;

enum { S_START, S_VALUE, S_VALUE_OR_END, S_KEY, S_KEY_OR_END, S_COMMA_OR_END, S_DONE, S_FINISHED };

struct st_json {
    const unsigned char *buf;
    size_t len, pos;
    unsigned max_depth, depth;
    frame *frames;
    int state;
    st_json_err err;
    size_t err_off;
    const char *err_detail;
    key_ent *keys;
    size_t nkeys, capkeys;
    char *arena; /* unescaped keys of the objects open now */
    size_t arena_len, arena_cap;
    char *scratch; /* unescaped value of the current STRING token */
    size_t scratch_cap;
    size_t leading_ws;
    int trailing_ws;
};

/* Bytes that may appear unescaped in a string and need no further checks. */
static unsigned char plain_byte[256];

static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void init_tables(void)
{
    for (int c = 0x20; c < 0x80; c++)
        plain_byte[c] = (c != '"' && c != '\\');
}

st_json *st_json_new(const unsigned char *buf, size_t len, unsigned max_depth)
{
    if (len >= ARENA_BIT || max_depth == 0)
        return NULL;
    pthread_once(&tables_once, init_tables);
    st_json *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return NULL;
    j->frames = calloc(max_depth, sizeof(frame));
    if (j->frames == NULL) {
        free(j);
        return NULL;
    }
    j->buf = buf;
    j->len = len;
    j->max_depth = max_depth;
    j->state = S_START;
    return j;
}

void st_json_free(st_json *j)
{
    if (j == NULL)
        return;
    free(j->frames);
    free(j->keys);
    free(j->arena);
    free(j->scratch);
    free(j);
}

size_t st_json_error_offset(const st_json *j)
{
    return j->err_off;
}
const char *st_json_error_detail(const st_json *j)
{
    return j->err_detail ? j->err_detail : "";
}
size_t st_json_leading_ws(const st_json *j)
{
    return j->leading_ws;
}
int st_json_trailing_nonspace_ws(const st_json *j)
{
    return j->trailing_ws;
}

static st_json_err fail(st_json *j, st_json_err e, size_t off, const char *detail)
{
    j->err = e;
    j->err_off = off;
    j->err_detail = detail;
    return e;
}

/* A byte that cannot start the expected token: invalid UTF-8 is reported as such (the header
 * is not text at all), anything else as a grammar error. */
static st_json_err unexpected(st_json *j, const char *detail)
{
    if (j->buf[j->pos] >= 0x80 && st_utf8_seq_len(j->buf + j->pos, j->len - j->pos) == 0)
        return fail(j, ST_JSON_E_UTF8, j->pos, "invalid UTF-8");
    return fail(j, ST_JSON_E_SYNTAX, j->pos, detail);
}

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void skip_ws(st_json *j)
{
    while (j->pos < j->len && is_ws(j->buf[j->pos]))
        j->pos++;
}

/* Reads "\uXXXX" at i (i points at the backslash). Returns 0 and the unit, or -1. */
static int read_u_escape(const st_json *j, size_t i, unsigned *unit)
{
    unsigned v = 0;
    if (j->len - i < 6 || j->buf[i] != '\\' || j->buf[i + 1] != 'u')
        return -1;
    for (size_t k = 2; k < 6; k++) {
        int h = st_hex_digit(j->buf[i + k]);
        if (h < 0)
            return -1;
        v = (v << 4) | (unsigned)h;
    }
    *unit = v;
    return 0;
}

/* Parses the escape at i (a backslash). Sets the code point and the raw length consumed.
 * Shared by validation and decoding so that both read the same thing. */
static st_json_err parse_escape(st_json *j, size_t i, unsigned long *cp, size_t *used)
{
    static const char simple_in[] = "\"\\/bfnrt";
    static const char simple_out[] = "\"\\/\b\f\n\r\t";
    unsigned hi, lo;

    if (i + 1 >= j->len)
        return fail(j, ST_JSON_E_SYNTAX, i, "unterminated escape");
    unsigned char c = j->buf[i + 1];
    const char *s = c ? strchr(simple_in, c) : NULL;
    if (s != NULL) {
        *cp = (unsigned char)simple_out[s - simple_in];
        *used = 2;
        return ST_JSON_OK;
    }
    if (c != 'u')
        return fail(j, ST_JSON_E_SYNTAX, i, "invalid escape");
    if (read_u_escape(j, i, &hi) != 0)
        return fail(j, ST_JSON_E_SYNTAX, i, "invalid \\u escape");
    if (hi >= 0xDC00 && hi <= 0xDFFF)
        return fail(j, ST_JSON_E_SYNTAX, i, "lone low surrogate escape");
    if (hi >= 0xD800 && hi <= 0xDBFF) {
        if (read_u_escape(j, i + 6, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
            return fail(j, ST_JSON_E_SYNTAX, i, "lone high surrogate escape");
        *cp = 0x10000ul + (((unsigned long)hi - 0xD800) << 10) + (lo - 0xDC00);
        *used = 12;
        return ST_JSON_OK;
    }
    *cp = hi;
    *used = 6;
    return ST_JSON_OK;
}

/* Pass 1: validates the string whose quote is at j->pos; sets *end to the closing quote. */
static st_json_err validate_string(st_json *j, size_t *end, unsigned *flags)
{
    size_t i = j->pos + 1;
    for (;;) {
        while (i < j->len && plain_byte[j->buf[i]])
            i++;
        if (i >= j->len)
            return fail(j, ST_JSON_E_SYNTAX, j->pos, "unterminated string");
        unsigned char c = j->buf[i];
        if (c == '"')
            break;
        if (c == '\\') {
            unsigned long cp;
            size_t used;
            if (parse_escape(j, i, &cp, &used) != ST_JSON_OK)
                return j->err;
            if (cp == 0)
                *flags |= ST_JSON_F_NUL;
            *flags |= ST_JSON_F_ESCAPED;
            i += used;
        } else if (c < 0x20) {
            return fail(j, ST_JSON_E_CONTROL, i,
                        c ? "raw control character in string" : "NUL byte in string");
        } else {
            size_t n = st_utf8_seq_len(j->buf + i, j->len - i);
            if (n == 0)
                return fail(j, ST_JSON_E_UTF8, i, "invalid UTF-8 in string");
            i += n;
        }
    }
    *end = i;
    return ST_JSON_OK;
}

/* Pass 2: decodes escapes of a validated string into out (room: raw length suffices, since
 * every escape is at least as long as the UTF-8 it stands for). */
static size_t decode_string(st_json *j, size_t start, size_t end, char *out)
{
    size_t o = 0;
    for (size_t i = start; i < end;) {
        if (j->buf[i] != '\\') {
            out[o++] = (char)j->buf[i++];
            continue;
        }
        unsigned long cp = 0;
        size_t used = 0;
        (void)parse_escape(j, i, &cp, &used); /* validated in pass 1 */
        o += st_utf8_encode((unsigned char *)out + o, cp);
        i += used;
    }
    return o;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need) {
        /* GCOVR_EXCL_BR_START: inputs are below 2^31 bytes, so need never nears SIZE_MAX */
        if (ncap > SIZE_MAX / 2 / elem)
            return -1; /* GCOVR_EXCL_LINE */
        /* GCOVR_EXCL_BR_STOP */
        ncap *= 2;
    }
    void *q = realloc(*p, ncap * elem);
    if (q == NULL)
        return -1;
    *p = q;
    *cap = ncap;
    return 0;
}

static const char *key_text(const st_json *j, const key_ent *k)
{
    if (k->text_off & ARENA_BIT)
        return j->arena + (k->text_off & ~ARENA_BIT);
    return (const char *)j->buf + k->text_off;
}

static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a: ordering aid only, never a safety property */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static int keys_equal(const st_json *j, const key_ent *a, const key_ent *b)
{
    return a->hash == b->hash && a->len == b->len &&
           memcmp(key_text(j, a), key_text(j, b), a->len) == 0;
}

/* qsort has no user pointer; the scanner in use is passed through a thread-local. */
static _Thread_local const st_json *sort_scanner;

static int key_cmp(const void *pa, const void *pb)
{
    const key_ent *a = pa, *b = pb;
    /* Unequal hashes are compared only when the whole object is sorted here, which happens
     * when the radix pass has no scratch memory (test_json's allocation failures). */
    if (a->hash != b->hash)
        return a->hash < b->hash ? -1 : 1;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    int c = memcmp(key_text(sort_scanner, a), key_text(sort_scanner, b), a->len);
    if (c != 0)
        return c;
    /* glibc's merge sort always passes the earlier element of an equal pair first; the other
     * order is kept for other qsort implementations. */
    return a->raw_off < b->raw_off ? -1 : (a->raw_off > b->raw_off); /* GCOVR_EXCL_BR_LINE */
}

/* LSD radix sort of key entries by hash (4 passes of 8 bits). Returns -1 when no scratch
 * memory is available. */
static int radix_by_hash(key_ent *k, size_t n)
{
    key_ent *tmp = malloc(n * sizeof(*tmp));
    if (tmp == NULL)
        return -1;
    key_ent *src = k, *dst = tmp;
    for (unsigned shift = 0; shift < 32; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++)
            count[((src[i].hash >> shift) & 0xFF) + 1]++;
        for (size_t b = 1; b < 257; b++)
            count[b] += count[b - 1];
        for (size_t i = 0; i < n; i++)
            dst[count[(src[i].hash >> shift) & 0xFF]++] = src[i];
        key_ent *t = src;
        src = dst;
        dst = t;
    }
    free(tmp); /* four passes: the result is back in k */
    return 0;
}

/* Sorted duplicate check for an object with many keys: radix by hash, then a comparison sort
 * inside each run of equal hashes. Crafted collisions make one long run, which is still
 * O(n log n): sorting cannot be slowed the way a hash table can. */
static st_json_err check_large_object(st_json *j, const frame *f)
{
    size_t n = j->nkeys - f->key_base;
    if (n <= SMALL_OBJECT)
        return ST_JSON_OK; /* checked on insertion (and j->keys may still be NULL) */
    key_ent *k = j->keys + f->key_base;
    sort_scanner = j;
    if (radix_by_hash(k, n) != 0)
        qsort(k, n, sizeof(*k), key_cmp);
    for (size_t run = 0; run < n;) {
        size_t end = run + 1;
        while (end < n && k[end].hash == k[run].hash)
            end++;
        if (end - run > 2)
            qsort(k + run, end - run, sizeof(*k), key_cmp);
        for (size_t i = run + 1; i < end; i++)
            if (keys_equal(j, &k[i - 1], &k[i])) {
                sort_scanner = NULL;
                /* key_cmp orders equal keys by offset, so the later copy is k[i]; the
                 * other case is kept in case the order of the sort ever changes. */
                /* GCOVR_EXCL_BR_START */
                size_t later = k[i].raw_off > k[i - 1].raw_off ? i : i - 1;
                /* GCOVR_EXCL_BR_STOP */
                return fail(j, ST_JSON_E_DUPKEY, k[later].raw_off, "duplicate key");
            }
        run = end;
    }
    sort_scanner = NULL;
    return ST_JSON_OK;
}

static st_json_err add_key(st_json *j, key_ent *e)
{
    frame *f = &j->frames[j->depth - 1];
    size_t n = j->nkeys - f->key_base;
    if (n < SMALL_OBJECT) {
        for (size_t i = f->key_base; i < j->nkeys; i++)
            if (keys_equal(j, &j->keys[i], e))
                return fail(j, ST_JSON_E_DUPKEY, e->raw_off, "duplicate key");
    }
    if (grow((void **)&j->keys, &j->capkeys, j->nkeys + 1, sizeof(key_ent)) != 0)
        return fail(j, ST_JSON_E_NOMEM, e->raw_off, "out of memory");
    j->keys[j->nkeys++] = *e;
    return ST_JSON_OK;
}

static st_json_err scan_string(st_json *j, st_json_tok *t, int is_key)
{
    size_t start = j->pos, end = 0;
    unsigned flags = 0;
    if (validate_string(j, &end, &flags) != ST_JSON_OK)
        return j->err;
    size_t raw = end - start - 1;
    t->type = is_key ? ST_JT_KEY : ST_JT_STRING;
    t->off = start;
    t->len = end + 1 - start;
    t->flags = flags;
    t->str = (const char *)j->buf + start + 1;
    t->str_len = raw;
    j->pos = end + 1;
    if (!(flags & ST_JSON_F_ESCAPED) && !is_key)
        return ST_JSON_OK;
    key_ent e = {(uint32_t)start, (uint32_t)(start + 1), (uint32_t)raw, 0};
    if (flags & ST_JSON_F_ESCAPED) {
        char **dst = is_key ? &j->arena : &j->scratch;
        size_t *cap = is_key ? &j->arena_cap : &j->scratch_cap;
        size_t base = is_key ? j->arena_len : 0;
        if (grow((void **)dst, cap, base + raw + 1, 1) != 0)
            return fail(j, ST_JSON_E_NOMEM, start, "out of memory");
        t->str_len = decode_string(j, start + 1, end, *dst + base);
        t->str = *dst + base;
        if (is_key) {
            e.text_off = (uint32_t)base | ARENA_BIT;
            e.len = (uint32_t)t->str_len;
            j->arena_len += t->str_len;
        }
    }
    if (!is_key)
        return ST_JSON_OK;
    e.hash = hash_bytes(t->str, t->str_len);
    return add_key(j, &e);
}

static st_json_err scan_number(st_json *j, st_json_tok *t)
{
    const unsigned char *b = j->buf;
    size_t i = j->pos, n = j->len;
    int neg = 0, frac = 0, exp = 0, big = 0;
    uint64_t v = 0;

    if (b[i] == '-') {
        neg = 1;
        i++;
    }
    if (i >= n || b[i] < '0' || b[i] > '9')
        return fail(j, ST_JSON_E_SYNTAX, j->pos, "invalid number");
    if (b[i] == '0') {
        i++;
        if (i < n && b[i] >= '0' && b[i] <= '9')
            return fail(j, ST_JSON_E_SYNTAX, j->pos, "number with a leading zero");
    } else {
        for (; i < n && b[i] >= '0' && b[i] <= '9'; i++)
            if (__builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, b[i] - '0', &v))
                big = 1;
    }
    if (i < n && b[i] == '.') {
        frac = 1;
        if (++i >= n || b[i] < '0' || b[i] > '9')
            return fail(j, ST_JSON_E_SYNTAX, i, "digit expected after '.'");
        while (i < n && b[i] >= '0' && b[i] <= '9')
            i++;
    }
    if (i < n && (b[i] == 'e' || b[i] == 'E')) {
        exp = 1;
        if (++i < n && (b[i] == '+' || b[i] == '-'))
            i++;
        if (i >= n || b[i] < '0' || b[i] > '9')
            return fail(j, ST_JSON_E_SYNTAX, i, "digit expected in exponent");
        while (i < n && b[i] >= '0' && b[i] <= '9')
            i++;
    }
    t->type = ST_JT_NUMBER;
    t->off = j->pos;
    t->len = i - j->pos;
    t->flags = 0;
    if (!neg && !frac && !exp)
        t->flags = big ? ST_JSON_F_UINT_BIG : ST_JSON_F_UINT;
    t->u64 = big ? 0 : v;
    j->pos = i;
    return ST_JSON_OK;
}

static st_json_err scan_literal(st_json *j, st_json_tok *t, const char *word, st_json_type ty)
{
    size_t n = strlen(word);
    if (j->len - j->pos < n || memcmp(j->buf + j->pos, word, n) != 0)
        return fail(j, ST_JSON_E_SYNTAX, j->pos, "invalid literal");
    t->type = ty;
    t->off = j->pos;
    t->len = n;
    t->flags = 0;
    j->pos += n;
    return ST_JSON_OK;
}

static st_json_err open_container(st_json *j, st_json_tok *t, int is_obj)
{
    if (j->depth >= j->max_depth)
        return fail(j, ST_JSON_E_DEPTH, j->pos, "nesting too deep");
    frame *f = &j->frames[j->depth++];
    f->is_obj = (unsigned char)is_obj;
    f->key_base = j->nkeys;
    f->arena_mark = j->arena_len;
    t->type = is_obj ? ST_JT_OBJ_BEGIN : ST_JT_ARR_BEGIN;
    t->off = j->pos++;
    t->len = 1;
    t->flags = 0;
    j->state = is_obj ? S_KEY_OR_END : S_VALUE_OR_END;
    return ST_JSON_OK;
}

static void after_value(st_json *j)
{
    j->state = j->depth == 0 ? S_DONE : S_COMMA_OR_END;
}

static st_json_err close_container(st_json *j, st_json_tok *t)
{
    frame *f = &j->frames[j->depth - 1];
    if (f->is_obj && check_large_object(j, f) != ST_JSON_OK)
        return j->err;
    j->nkeys = f->key_base;
    j->arena_len = f->arena_mark;
    t->type = f->is_obj ? ST_JT_OBJ_END : ST_JT_ARR_END;
    t->off = j->pos++;
    t->len = 1;
    t->flags = 0;
    j->depth--;
    after_value(j);
    return ST_JSON_OK;
}

static st_json_err scan_value(st_json *j, st_json_tok *t)
{
    st_json_err e;
    unsigned char c = j->buf[j->pos];
    switch (c) {
    case '{':
        return open_container(j, t, 1);
    case '[':
        return open_container(j, t, 0);
    case '"':
        e = scan_string(j, t, 0);
        break;
    case 't':
        e = scan_literal(j, t, "true", ST_JT_TRUE);
        break;
    case 'f':
        e = scan_literal(j, t, "false", ST_JT_FALSE);
        break;
    case 'n':
        e = scan_literal(j, t, "null", ST_JT_NULL);
        break;
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            e = scan_number(j, t);
            break;
        }
        return unexpected(j, "value expected");
    }
    if (e == ST_JSON_OK)
        after_value(j);
    return e;
}

static st_json_err scan_key(st_json *j, st_json_tok *t)
{
    if (j->buf[j->pos] != '"')
        return unexpected(j, "key expected");
    if (scan_string(j, t, 1) != ST_JSON_OK)
        return j->err;
    skip_ws(j);
    if (j->pos >= j->len)
        return fail(j, ST_JSON_E_SYNTAX, j->pos, "unexpected end of input");
    if (j->buf[j->pos] != ':')
        return unexpected(j, "':' expected after key");
    j->pos++;
    j->state = S_VALUE;
    return ST_JSON_OK;
}

static st_json_err finish(st_json *j, st_json_tok *t)
{
    while (j->pos < j->len && is_ws(j->buf[j->pos])) {
        if (j->buf[j->pos] != ' ')
            j->trailing_ws = 1;
        j->pos++;
    }
    if (j->pos < j->len)
        return fail(j, ST_JSON_E_TRAILING, j->pos, "data after the top-level value");
    t->type = ST_JT_END;
    t->off = j->pos;
    t->len = 0;
    t->flags = 0;
    j->state = S_FINISHED;
    return ST_JSON_OK;
}

static st_json_err step(st_json *j, st_json_tok *t)
{
    if (j->state == S_DONE || j->state == S_FINISHED)
        return finish(j, t);
    size_t before = j->pos;
    skip_ws(j);
    if (j->state == S_START)
        j->leading_ws = j->pos - before;
    if (j->pos >= j->len)
        return fail(j, ST_JSON_E_SYNTAX, j->pos, "unexpected end of input");
    unsigned char c = j->buf[j->pos];
    int in_obj = j->depth > 0 && j->frames[j->depth - 1].is_obj;
    switch (j->state) {
    case S_COMMA_OR_END:
        if (c == (in_obj ? '}' : ']'))
            return close_container(j, t);
        if (c != ',')
            return unexpected(j, "',' or end of container expected");
        j->pos++;
        j->state = in_obj ? S_KEY : S_VALUE;
        return step(j, t); /* one level only: the next state is never S_COMMA_OR_END */
    case S_KEY_OR_END:
        if (c == '}')
            return close_container(j, t);
        return scan_key(j, t);
    case S_KEY:
        return scan_key(j, t);
    case S_VALUE_OR_END:
        if (c == ']')
            return close_container(j, t);
        return scan_value(j, t);
    default: /* S_START, S_VALUE */
        return scan_value(j, t);
    }
}

st_json_err st_json_next(st_json *j, st_json_tok *t)
{
    if (j->err != ST_JSON_OK)
        return j->err;
    st_json_err e = step(j, t);
    t->depth = j->depth;
    return e;
}

st_json_err st_json_skip(st_json *j, const st_json_tok *tok)
{
    if (tok->type != ST_JT_OBJ_BEGIN && tok->type != ST_JT_ARR_BEGIN)
        return ST_JSON_OK;
    unsigned target = tok->depth - 1;
    st_json_tok t;
    for (;;) {
        st_json_err e = st_json_next(j, &t);
        if (e != ST_JSON_OK)
            return e;
        if ((t.type == ST_JT_OBJ_END || t.type == ST_JT_ARR_END) && t.depth == target)
            return ST_JSON_OK;
    }
}
