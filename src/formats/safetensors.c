/*
 * safetensors.c - structural validator for the safetensors format.
 *
 * Implements the format as specified by huggingface/safetensors (8-byte little-endian header
 * length N, N bytes of UTF-8 JSON, then the data section) and checks at least everything the
 * reference Rust crate 0.8 rejects (SafeTensors::read_metadata, Metadata::validate). Where the
 * reference is laxer than the specification it is refused too, because there loaders disagree:
 * duplicate keys (serde keeps the last, other parsers the first), tensors written as JSON arrays,
 * dtypes written as {"F32":null}, whitespace before '{' (a warning), and numbers that are not
 * plain integers. Only the header is read: the cost is O(N) whatever the file size.
 *
 * Memory: the header buffer, the scanner's keys of the objects open, and one 24-byte record per
 * tensor (no tree of JSON values), so millions of tensors stay below 3x the header size.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/checked.h"
#include "../core/escape.h"
#include "../core/digest.h"
#include "../json/json.h"
#include "deep.h"
#include "format.h"

#define ST_MAX_HEADER 100000000u /* the reference crate's MAX_HEADER_SIZE */
#define HDR_BASE 8u              /* file offset of the header's first byte */
#define NAME_SHOW 80             /* characters of a name shown in a message */

typedef struct {
    const char *name;
    unsigned bits;
} dtype_info;

/* The reference crate's Dtype enum with its bitsize(). */
static const dtype_info dtypes[] = {
    {"BOOL", 8},    {"U8", 8},          {"I8", 8},          {"F8_E5M2", 8}, {"F8_E4M3", 8},
    {"F8_E8M0", 8}, {"F8_E4M3FNUZ", 8}, {"F8_E5M2FNUZ", 8}, {"I16", 16},    {"U16", 16},
    {"F16", 16},    {"BF16", 16},       {"I32", 32},        {"U32", 32},    {"F32", 32},
    {"I64", 64},    {"U64", 64},        {"F64", 64},        {"C64", 64},    {"F4", 4},
    {"F6_E2M3", 6}, {"F6_E3M2", 6},
};
#define N_DTYPES (sizeof(dtypes) / sizeof(dtypes[0]))

typedef struct {
    uint64_t begin, end;
    uint32_t key_off;      /* opening quote of the tensor's name, header-relative */
    uint32_t key_len : 27; /* raw length including quotes (a header is < 2^27 bytes) */
    uint32_t dtype : 5;    /* index into dtypes (--deep), or DTYPE_NONE */
} tensor_rec;
#define DTYPE_NONE 31u /* above every index into dtypes */
_Static_assert(N_DTYPES < DTYPE_NONE, "DTYPE_NONE must not name a dtype");

typedef struct {
    st_input *in;
    st_report *r;
    st_json *j;
    const unsigned char *hdr;
    uint64_t n; /* header length */
    tensor_rec *recs;
    size_t nrecs, caprecs;
    uint64_t tensors;
    uint64_t meta_met; /* bit i: the policy's required metadata key i was seen as required */
} stf;

/* One tensor entry as parsed so far. */
typedef struct {
    uint32_t key_off, key_len;
    int have_dtype, have_shape, have_offsets;
    int dtype; /* index into dtypes, -1 when invalid */
    int shape_ok, offsets_ok;
    uint64_t count_nz; /* product of the nonzero dimensions */
    int count_overflow, any_zero;
    uint64_t begin, end;
} tensor_entry;

/* ---- helpers --------------------------------------------------------------------------- */

static int key_is(const st_json_tok *t, const char *s)
{
    size_t n = strlen(s);
    return t->str_len == n && memcmp(t->str, s, n) == 0;
}

static uint64_t foff(uint64_t hdr_off)
{
    return HDR_BASE + hdr_off;
}

/* Escaped display form of a tensor's name (raw JSON text between the quotes). */
static const char *show_name(const stf *s, uint32_t key_off, uint32_t key_len, char *buf,
                             size_t size)
{
    return st_escape(s->hdr + key_off + 1, key_len - 2, buf, size, NAME_SHOW);
}

/* Raw length, quotes included, of the string whose opening quote is at off. Only called on
 * strings the scanner has validated, so the closing quote exists inside the header. */
static size_t raw_string_len(const stf *s, size_t off)
{
    size_t i = off + 1;
    /* GCOVR_EXCL_BR_START: the bound i < s->n never ends the loop (a validated string) */
    while (i < s->n && s->hdr[i] != '"')
        i += s->hdr[i] == '\\' ? 2 : 1;
    return (i < s->n ? i + 1 : s->n) - off;
    /* GCOVR_EXCL_BR_STOP */
}

/* Maps a scanner error to its finding. Returns -1: the walk stops. */
static int json_error(stf *s, st_json_err e)
{
    uint64_t off = foff(st_json_error_offset(s->j));
    const char *d = st_json_error_detail(s->j);
    /* each case's lines are covered; the NOMEM branch only by an allocation failure */
    switch (e) { /* GCOVR_EXCL_BR_LINE */
    case ST_JSON_E_UTF8:
        st_report_add(s->r, ST_R_JSON_UTF8, off, 1, "header is not valid UTF-8: %s", d);
        break;
    case ST_JSON_E_CONTROL:
        st_report_add(s->r, ST_R_JSON_CONTROL, off, 1, "%s", d);
        break;
    case ST_JSON_E_DUPKEY: {
        char name[NAME_SHOW + 8];
        size_t k = st_json_error_offset(s->j), len = raw_string_len(s, k);
        st_report_add(
            s->r, ST_R_JSON_DUP_KEY, off, len,
            "duplicate key \"%s\": loaders disagree on which value wins",
            st_escape(s->hdr + k + 1, len >= 2 ? len - 2 : 0, name, sizeof(name), NAME_SHOW));
        break;
    }
    case ST_JSON_E_TRAILING:
        st_report_add(s->r, ST_R_JSON_TRAILING_DATA, off, HDR_BASE + s->n - off,
                      "non-whitespace bytes after the header's JSON object");
        break;
    case ST_JSON_E_DEPTH:
        st_report_add(s->r, ST_R_LIMIT, off, 0, "JSON nesting deeper than %llu",
                      (unsigned long long)s->in->ctx->limits[ST_LIMIT_JSON_DEPTH]);
        st_report_fail(s->r, ST_E_LIMIT);
        break;
    /* GCOVR_EXCL_START: allocation failure inside the scanner */
    case ST_JSON_E_NOMEM:
        st_report_add(s->r, ST_R_NOMEM, off, 0, "out of memory while scanning the header");
        st_report_fail(s->r, ST_E_NOMEM);
        break;
        /* GCOVR_EXCL_STOP */
    default:
        st_report_add(s->r, ST_R_JSON_SYNTAX, off, 1, "invalid JSON: %s", d);
        break;
    }
    return -1;
}

static int next(stf *s, st_json_tok *t)
{
    st_json_err e = st_json_next(s->j, t);
    if (e != ST_JSON_OK)
        return json_error(s, e);
    if (t->type == ST_JT_KEY && (t->flags & ST_JSON_F_NUL))
        st_report_add(s->r, ST_R_JSON_NUL_KEY, foff(t->off), t->len,
                      "key holds a \\u0000 escape; C-based parsers truncate it there");
    return 0;
}

/* Skips the rest of a value, still checking every key in it. */
static int skip_value(stf *s, const st_json_tok *first)
{
    if (first->type != ST_JT_OBJ_BEGIN && first->type != ST_JT_ARR_BEGIN)
        return 0;
    unsigned target = first->depth - 1;
    st_json_tok t;
    for (;;) {
        if (next(s, &t) != 0)
            return -1;
        if ((t.type == ST_JT_OBJ_END || t.type == ST_JT_ARR_END) && t.depth == target)
            return 0;
    }
}

static const char *tok_kind(const st_json_tok *t)
{
    switch (t->type) {
    case ST_JT_OBJ_BEGIN:
        return "an object";
    case ST_JT_ARR_BEGIN:
        return "an array";
    case ST_JT_STRING:
        return "a string";
    case ST_JT_NUMBER:
        return "a number";
    case ST_JT_NULL:
        return "null";
    default:
        return "a boolean";
    }
}

/* ---- tensor fields --------------------------------------------------------------------- */

static int parse_dtype(stf *s, tensor_entry *te)
{
    st_json_tok t;
    char buf[128];
    te->have_dtype = 1;
    te->dtype = -1;
    if (next(s, &t) != 0)
        return -1;
    if (t.type != ST_JT_STRING) {
        st_report_add(s->r, ST_R_DTYPE_NOT_STRING, foff(t.off), t.len, "dtype is %s, not a string",
                      tok_kind(&t));
        return skip_value(s, &t);
    }
    for (size_t i = 0; i < N_DTYPES; i++)
        if (key_is(&t, dtypes[i].name)) {
            te->dtype = (int)i;
            return 0;
        }
    st_report_add(s->r, ST_R_DTYPE_UNKNOWN, foff(t.off), t.len, "unknown dtype \"%s\"",
                  st_escape(t.str, t.str_len, buf, sizeof(buf), 40));
    return 0;
}

/* Consumes the elements of an array already opened, counting plain u64 integers. Calls back
 * for each one; anything else marks the array invalid. */
typedef int (*elem_fn)(stf *s, tensor_entry *te, uint64_t v, size_t index);

static int parse_uint_array(stf *s, tensor_entry *te, elem_fn fn, size_t *count, int *valid)
{
    st_json_tok t;
    *count = 0;
    *valid = 1;
    for (;;) {
        if (next(s, &t) != 0)
            return -1;
        if (t.type == ST_JT_ARR_END)
            return 0;
        if (t.type == ST_JT_NUMBER && (t.flags & ST_JSON_F_UINT)) {
            if (*valid && fn(s, te, t.u64, *count) != 0)
                return -1;
        } else {
            *valid = 0;
            if (skip_value(s, &t) != 0)
                return -1;
        }
        (*count)++;
    }
}

static int shape_dim(stf *s, tensor_entry *te, uint64_t v, size_t index)
{
    if (index >= s->in->ctx->limits[ST_LIMIT_RANK]) {
        st_report_add(s->r, ST_R_LIMIT, foff(te->key_off), te->key_len,
                      "tensor rank above the limit of %llu",
                      (unsigned long long)s->in->ctx->limits[ST_LIMIT_RANK]);
        st_report_fail(s->r, ST_E_LIMIT);
        return -1;
    }
    /* The product skips zero dimensions so that an overflow is caught whatever the order;
     * the reference stops at the first overflow in order, so [0, 2^63, 4] passes there. */
    if (v == 0)
        te->any_zero = 1;
    else if (st_mul_u64(te->count_nz, v, &te->count_nz))
        te->count_overflow = 1;
    return 0;
}

static int parse_shape(stf *s, tensor_entry *te)
{
    st_json_tok t;
    size_t count;
    int valid;
    te->have_shape = 1;
    te->shape_ok = 0;
    te->count_nz = 1;
    te->count_overflow = te->any_zero = 0;
    if (next(s, &t) != 0)
        return -1;
    if (t.type != ST_JT_ARR_BEGIN) {
        st_report_add(s->r, ST_R_SHAPE_INVALID, foff(t.off), t.len, "shape is %s, not an array",
                      tok_kind(&t));
        return skip_value(s, &t);
    }
    if (parse_uint_array(s, te, shape_dim, &count, &valid) != 0)
        return -1;
    if (!valid)
        st_report_add(s->r, ST_R_SHAPE_INVALID, foff(t.off), 0,
                      "shape holds a value that is not a plain integer in 0..2^64-1");
    te->shape_ok = valid;
    return 0;
}

static int offset_elem(stf *s, tensor_entry *te, uint64_t v, size_t index)
{
    (void)s;
    if (index == 0)
        te->begin = v;
    else if (index == 1)
        te->end = v;
    return 0;
}

static int parse_offsets(stf *s, tensor_entry *te)
{
    st_json_tok t;
    size_t count;
    int valid;
    te->have_offsets = 1;
    te->offsets_ok = 0;
    if (next(s, &t) != 0)
        return -1;
    if (t.type != ST_JT_ARR_BEGIN) {
        st_report_add(s->r, ST_R_OFFSETS_INVALID, foff(t.off), t.len,
                      "data_offsets is %s, not an array", tok_kind(&t));
        return skip_value(s, &t);
    }
    if (parse_uint_array(s, te, offset_elem, &count, &valid) != 0)
        return -1;
    if (!valid || count != 2) {
        st_report_add(s->r, ST_R_OFFSETS_INVALID, foff(t.off), 0,
                      "data_offsets must be exactly two plain integers (found %zu element%s%s)",
                      count, count == 1 ? "" : "s", valid ? "" : ", not all plain integers");
        return 0;
    }
    te->offsets_ok = 1;
    return 0;
}

/* ---- one tensor ------------------------------------------------------------------------ */

static int add_record(stf *s, const tensor_entry *te)
{
    if (s->nrecs == s->caprecs) {
        size_t cap = s->caprecs ? s->caprecs * 2 : 256;
        tensor_rec *p = realloc(s->recs, cap * sizeof(*p));
        /* GCOVR_EXCL_START: allocation failure */
        if (p == NULL) {
            st_report_add(s->r, ST_R_NOMEM, 0, 0, "out of memory for tensor records");
            st_report_fail(s->r, ST_E_NOMEM);
            return -1;
        }
        /* GCOVR_EXCL_STOP */
        s->recs = p;
        s->caprecs = cap;
    }
    tensor_rec *rec = &s->recs[s->nrecs++];
    rec->begin = te->begin;
    rec->end = te->end;
    rec->key_off = te->key_off;
    rec->key_len = te->key_len & 0x7ffffffu;
    /* a tensor with a missing or unknown dtype still has its byte range recorded (coverage);
     * DTYPE_NONE marks it for --deep, which then skips it */
    /* GCOVR_EXCL_BR_START: parse_dtype sets -1 or a table index; the upper bound is defence */
    rec->dtype = te->dtype >= 0 && (size_t)te->dtype < N_DTYPES ? (unsigned)te->dtype : DTYPE_NONE;
    /* GCOVR_EXCL_BR_STOP */
    return 0;
}

static void report_missing(stf *s, const tensor_entry *te, const char *name)
{
    if (te->have_dtype && te->have_shape && te->have_offsets)
        return;
    st_report_add(s->r, ST_R_TENSOR_MISSING_FIELD, foff(te->key_off), te->key_len,
                  "tensor \"%s\" lacks%s%s%s", name, te->have_dtype ? "" : " dtype",
                  te->have_shape ? "" : " shape", te->have_offsets ? "" : " data_offsets");
}

/* Byte size from dtype and shape; returns 0 and sets *bytes when it is defined. */
static int tensor_bytes(stf *s, const tensor_entry *te, const char *name, uint64_t *bytes)
{
    uint64_t bits;
    if (te->dtype < 0 || !te->shape_ok)
        return -1;
    if (te->count_overflow ||
        st_mul_u64(te->any_zero ? 0 : te->count_nz, dtypes[te->dtype].bits, &bits)) {
        st_report_add(s->r, ST_R_SIZE_OVERFLOW, foff(te->key_off), te->key_len,
                      "tensor \"%s\": element count or size in bits overflows 64 bits", name);
        return -1;
    }
    if (bits % 8 != 0) {
        st_report_add(s->r, ST_R_SUBBYTE_PARTIAL, foff(te->key_off), te->key_len,
                      "tensor \"%s\": %llu bits of %s do not end on a whole byte", name,
                      (unsigned long long)bits, dtypes[te->dtype].name);
        return -1;
    }
    *bytes = bits / 8;
    return 0;
}

static int finish_tensor(stf *s, const tensor_entry *te)
{
    char name[NAME_SHOW + 8];
    uint64_t bytes = 0;
    show_name(s, te->key_off, te->key_len, name, sizeof(name));
    report_missing(s, te, name);
    int size_ok = tensor_bytes(s, te, name, &bytes) == 0;
    if (!te->offsets_ok)
        return 0;
    if (te->begin > te->end) {
        st_report_add(s->r, ST_R_OFFSETS_REVERSED, foff(te->key_off), te->key_len,
                      "tensor \"%s\": data_offsets begin %llu > end %llu", name,
                      (unsigned long long)te->begin, (unsigned long long)te->end);
        return 0;
    }
    if (size_ok && te->end - te->begin != bytes)
        st_report_add(s->r, ST_R_OFFSETS_SIZE_MISMATCH, foff(te->key_off), te->key_len,
                      "tensor \"%s\": data_offsets span %llu bytes, dtype and shape need %llu",
                      name, (unsigned long long)(te->end - te->begin), (unsigned long long)bytes);
    if (size_ok && dtypes[te->dtype].bits >= 8 && te->begin % (dtypes[te->dtype].bits / 8))
        st_report_add(s->r, ST_R_TENSOR_MISALIGNED, foff(te->key_off), te->key_len,
                      "tensor \"%s\": data begins at %llu, not a multiple of its %u-byte "
                      "element",
                      name, (unsigned long long)te->begin, dtypes[te->dtype].bits / 8);
    return add_record(s, te);
}

static void check_tensor_name(stf *s, const st_json_tok *key)
{
    char name[NAME_SHOW + 8];
    const unsigned char *p = (const unsigned char *)key->str;
    if (key->str_len == 0) {
        st_report_add(s->r, ST_R_NAME_EMPTY, foff(key->off), key->len, "tensor name is empty");
        return;
    }
    for (size_t i = 0; i < key->str_len;) {
        size_t n = st_utf8_seq_len(p + i, key->str_len - i);
        /* n == 0 is defence: the scanner has validated (and decoded) the key as UTF-8 */
        if (n == 0 || st_is_invisible_cp(st_utf8_decode(p + i, n))) { /* GCOVR_EXCL_BR_LINE */
            st_report_add(s->r, ST_R_NAME_CONTROL, foff(key->off), key->len,
                          "tensor name \"%s\" holds control or invisible characters",
                          st_escape(key->str, key->str_len, name, sizeof(name), NAME_SHOW));
            return;
        }
        i += n;
    }
}

static int tensor_field(stf *s, tensor_entry *te, const st_json_tok *k)
{
    char buf[64];
    if (key_is(k, "dtype"))
        return parse_dtype(s, te);
    if (key_is(k, "shape"))
        return parse_shape(s, te);
    if (key_is(k, "data_offsets"))
        return parse_offsets(s, te);
    st_report_add(s->r, ST_R_TENSOR_UNKNOWN_FIELD, foff(k->off), k->len,
                  "tensor entry has an unknown field \"%s\"",
                  st_escape(k->str, k->str_len, buf, sizeof(buf), 40));
    st_json_tok v;
    if (next(s, &v) != 0)
        return -1;
    return skip_value(s, &v);
}

static int parse_tensor_entry(stf *s, const st_json_tok *key)
{
    st_json_tok t;
    tensor_entry te;
    memset(&te, 0, sizeof(te));
    te.key_off = (uint32_t)key->off;
    te.key_len = (uint32_t)key->len;
    te.dtype = -1;
    if (++s->tensors > s->in->ctx->limits[ST_LIMIT_TENSORS]) {
        st_report_add(s->r, ST_R_LIMIT, foff(key->off), key->len, "more than %llu tensors",
                      (unsigned long long)s->in->ctx->limits[ST_LIMIT_TENSORS]);
        st_report_fail(s->r, ST_E_LIMIT);
        return -1;
    }
    check_tensor_name(s, key);
    if (next(s, &t) != 0)
        return -1;
    if (t.type != ST_JT_OBJ_BEGIN) {
        char name[NAME_SHOW + 8];
        st_report_add(s->r, ST_R_TENSOR_NOT_OBJECT, foff(t.off), t.len,
                      "tensor \"%s\" is %s, not an object",
                      show_name(s, te.key_off, te.key_len, name, sizeof(name)), tok_kind(&t));
        return skip_value(s, &t);
    }
    for (;;) {
        if (next(s, &t) != 0)
            return -1;
        if (t.type == ST_JT_OBJ_END)
            break;
        if (tensor_field(s, &te, &t) != 0)
            return -1;
    }
    return finish_tensor(s, &te);
}

/* A tensor entry, reported to the input's on_tensor hook when there is one (shard listing). */
static int parse_tensor(stf *s, const st_json_tok *key)
{
    if (s->in->on_tensor == NULL)
        return parse_tensor_entry(s, key);
    char *name = malloc(key->str_len + 1);
    size_t len = key->str_len, before = s->nrecs;
    /* GCOVR_EXCL_START: allocation failure */
    if (name == NULL) {
        st_report_fail(s->r, ST_E_NOMEM);
        return -1;
    }
    /* GCOVR_EXCL_STOP */
    memcpy(name, key->str, len); /* the scanner may reuse its key storage */
    name[len] = '\0';
    int rc = parse_tensor_entry(s, key);
    uint64_t nbytes =
        s->nrecs > before ? s->recs[s->nrecs - 1].end - s->recs[s->nrecs - 1].begin : UINT64_MAX;
    s->in->on_tensor(s->in->tensor_arg, name, len, nbytes);
    free(name);
    return rc;
}

/* ---- __metadata__ ---------------------------------------------------------------------- */

/* Case-insensitive search for ASCII needles. */
static int contains_ci(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++) {
        size_t k = 0;
        while (k < m) {
            char c = hay[i + k];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (c != needle[k])
                break;
            k++;
        }
        if (k == m)
            return 1;
    }
    return 0;
}

/* Markers of URLs and code that a reviewer wants to see in metadata that loaders may render
 * or pass on (model cards, UIs). A heuristic: warnings only. */
static const char *const suspicious_markers[] = {
    "http://",    "https://",  "ftp://",     "file://",    "data:", "javascript:",
    "<script",    "<iframe",   "__import__", "eval(",      "exec(", "os.system",
    "subprocess", "import os", "/bin/sh",    "powershell", "curl ", "wget ",
};

static void check_metadata_value(stf *s, const st_json_tok *v)
{
    uint64_t big = s->in->ctx->limits[ST_LIMIT_METADATA_VALUE];
    if (v->flags & ST_JSON_F_NUL)
        st_report_add(s->r, ST_R_METADATA_NUL, foff(v->off), v->len,
                      "metadata value holds a \\u0000 escape");
    if (v->str_len > big)
        st_report_add(s->r, ST_R_METADATA_LARGE, foff(v->off), v->len,
                      "metadata value of %zu bytes (bound %llu)", v->str_len,
                      (unsigned long long)big);
    for (size_t i = 0; i < sizeof(suspicious_markers) / sizeof(suspicious_markers[0]); i++)
        if (contains_ci(v->str, v->str_len, suspicious_markers[i])) {
            st_report_add(s->r, ST_R_METADATA_SUSPICIOUS, foff(v->off), v->len,
                          "metadata value contains \"%s\"", suspicious_markers[i]);
            return;
        }
}

/* Index of a key among the policy's required metadata keys, or -1. */
static int required_key(const stf *s, const char *key, size_t len)
{
    const st_strlist *k = &s->in->ctx->meta_keys;
    for (size_t i = 0; i < k->n; i++)
        if (strlen(k->v[i]) == len && memcmp(k->v[i], key, len) == 0)
            return (int)i;
    return -1;
}

/* A required key's value: "" in the policy means any string value. */
static void check_required(stf *s, int ki, const st_json_tok *v, const char *key)
{
    const char *want = s->in->ctx->meta_values.v[ki];
    char shown[96], wanted[96];
    if (v->type == ST_JT_STRING && (want[0] == '\0' || (strlen(want) == v->str_len &&
                                                        memcmp(want, v->str, v->str_len) == 0))) {
        s->meta_met |= (uint64_t)1 << ki;
        return;
    }
    st_report_add(s->r, ST_R_METADATA_REQUIRED, foff(v->off), v->len,
                  "__metadata__ \"%s\" is %s, the policy requires \"%s\"", key,
                  v->type == ST_JT_STRING ? st_escape(v->str, v->str_len, shown, sizeof(shown), 60)
                                          : tok_kind(v),
                  want[0] ? st_escape(want, strlen(want), wanted, sizeof(wanted), 60)
                          : "(any string)");
    s->meta_met |= (uint64_t)1 << ki; /* reported here; not again as missing */
}

/* After the header: every required key not seen is missing. */
static void check_required_missing(stf *s)
{
    const st_strlist *k = &s->in->ctx->meta_keys;
    char shown[96];
    for (size_t i = 0; i < k->n; i++)
        if (!(s->meta_met & ((uint64_t)1 << i)))
            st_report_add(s->r, ST_R_METADATA_REQUIRED, HDR_BASE, s->n,
                          "__metadata__ lacks \"%s\", which the policy requires",
                          st_escape(k->v[i], strlen(k->v[i]), shown, sizeof(shown), 60));
}

static int parse_metadata(stf *s)
{
    st_json_tok t;
    if (next(s, &t) != 0)
        return -1;
    if (t.type != ST_JT_OBJ_BEGIN) {
        st_report_add(s->r, ST_R_METADATA_NOT_OBJECT, foff(t.off), t.len,
                      "__metadata__ is %s, not an object", tok_kind(&t));
        return skip_value(s, &t);
    }
    for (;;) {
        if (next(s, &t) != 0)
            return -1;
        if (t.type == ST_JT_OBJ_END)
            return 0;
        char key[64];
        st_escape(t.str, t.str_len, key, sizeof(key), 40);
        int ki = required_key(s, t.str, t.str_len);
        if (next(s, &t) != 0)
            return -1;
        if (ki >= 0)
            check_required(s, ki, &t, key);
        if (t.type == ST_JT_STRING) {
            check_metadata_value(s, &t);
            continue;
        }
        st_report_add(s->r, ST_R_METADATA_NOT_STRING, foff(t.off), t.len,
                      "__metadata__ value of \"%s\" is %s, not a string", key, tok_kind(&t));
        if (skip_value(s, &t) != 0)
            return -1;
    }
}

/* ---- coverage of the data section ------------------------------------------------------ */

static int rec_cmp(const void *pa, const void *pb)
{
    const tensor_rec *a = pa, *b = pb;
    if (a->begin != b->begin)
        return a->begin < b->begin ? -1 : 1;
    if (a->end != b->end)
        return a->end < b->end ? -1 : 1;
    return (a->key_off > b->key_off) - (a->key_off < b->key_off);
}

/* Sorted by (begin, end), the tensors must tile [0, data_len) exactly, as the reference's
 * validate() requires; a zero-size tensor may sit on any tile boundary. */
static void check_coverage(stf *s, uint64_t data_len)
{
    char a[NAME_SHOW + 8], b[NAME_SHOW + 8];
    uint64_t pos = 0, data_base = HDR_BASE + s->n;
    const tensor_rec *prev = NULL;

    /* The reference writer emits tensors in offset order: test that in O(n) before sorting. */
    size_t k = 1;
    while (k < s->nrecs && rec_cmp(&s->recs[k - 1], &s->recs[k]) <= 0)
        k++;
    if (k < s->nrecs)
        qsort(s->recs, s->nrecs, sizeof(*s->recs), rec_cmp);
    for (size_t i = 0; i < s->nrecs; i++) {
        const tensor_rec *t = &s->recs[i];
        if (t->end > data_len) {
            st_report_add(s->r, ST_R_DATA_PAST_EOF, data_base + t->begin, t->end - t->begin,
                          "tensor \"%s\" ends at data offset %llu, past the data section's "
                          "%llu bytes",
                          show_name(s, t->key_off, t->key_len, a, sizeof(a)),
                          (unsigned long long)t->end, (unsigned long long)data_len);
            return;
        }
        if (t->begin > pos)
            st_report_add(s->r, ST_R_DATA_GAP, data_base + pos, t->begin - pos,
                          "%llu bytes before tensor \"%s\" belong to no tensor",
                          (unsigned long long)(t->begin - pos),
                          show_name(s, t->key_off, t->key_len, a, sizeof(a)));
        /* prev is NULL only before the first record, when pos is 0 and no begin is below it */
        else if (t->begin < pos && prev != NULL) /* GCOVR_EXCL_BR_LINE */
            st_report_add(s->r, ST_R_DATA_OVERLAP, data_base + t->begin,
                          (t->end < pos ? t->end : pos) - t->begin,
                          "tensor \"%s\" overlaps tensor \"%s\"",
                          show_name(s, t->key_off, t->key_len, a, sizeof(a)),
                          show_name(s, prev->key_off, prev->key_len, b, sizeof(b)));
        if (t->end >= pos) {
            pos = t->end;
            prev = t;
        }
    }
    if (pos < data_len)
        st_report_add(s->r, ST_R_DATA_TRAILING, data_base + pos, data_len - pos,
                      "%llu bytes after the last tensor's data",
                      (unsigned long long)(data_len - pos));
}

/* ---- framing and the walk -------------------------------------------------------------- */

/* Returns 0 with s->n set when the 8-byte prefix frames a header inside the file. */
static int check_framing(stf *s)
{
    st_report *r = s->r;
    uint64_t size = s->in->src->size, end;
    if (size < HDR_BASE) {
        st_report_add(r, ST_R_FILE_TOO_SHORT, 0, size,
                      "file is %llu bytes, shorter than the "
                      "8-byte header length",
                      (unsigned long long)size);
        return -1;
    }
    s->n = st_le64(s->in->head);
    r->header_len = s->n;
    if (s->n == 0) {
        st_report_add(r, ST_R_HEADER_EMPTY, 0, HDR_BASE, "header length is zero");
        return -1;
    }
    if (s->n > ST_MAX_HEADER) {
        st_report_add(r, ST_R_HEADER_TOO_LARGE, 0, HDR_BASE,
                      "header length %llu exceeds 100,000,000", (unsigned long long)s->n);
        return -1;
    }
    /* the sum cannot wrap (s->n is at most ST_MAX_HEADER here): checked all the same */
    if (st_add_u64(HDR_BASE, s->n, &end) || end > size) { /* GCOVR_EXCL_BR_LINE */
        st_report_add(r, ST_R_HEADER_PAST_EOF, 0, HDR_BASE,
                      "header of %llu bytes ends past the end of the %llu-byte file",
                      (unsigned long long)s->n, (unsigned long long)size);
        return -1;
    }
    if (s->n > s->in->ctx->limits[ST_LIMIT_HEADER_BYTES]) {
        st_report_add(r, ST_R_LIMIT, 0, HDR_BASE, "header length %llu above the limit of %llu",
                      (unsigned long long)s->n,
                      (unsigned long long)s->in->ctx->limits[ST_LIMIT_HEADER_BYTES]);
        st_report_fail(r, ST_E_LIMIT);
        return -1;
    }
    if (end % 8 != 0)
        st_report_add(r, ST_R_DATA_START_MISALIGNED, end, 0,
                      "data section starts at %llu, not on an 8-byte boundary",
                      (unsigned long long)end);
    return 0;
}

/* Checks what precedes the first token; returns -1 when the header cannot be JSON. */
static int check_start(stf *s)
{
    if (s->n >= 3 && s->hdr[0] == 0xEF && s->hdr[1] == 0xBB && s->hdr[2] == 0xBF) {
        st_report_add(s->r, ST_R_JSON_BOM, HDR_BASE, 3, "header starts with a UTF-8 BOM");
        return -1;
    }
    return 0;
}

static int walk_top(stf *s)
{
    st_json_tok t;
    if (next(s, &t) != 0)
        return -1;
    size_t ws = st_json_leading_ws(s->j);
    if (ws > 0)
        st_report_add(s->r, ST_R_JSON_LEADING_WS, HDR_BASE, ws,
                      "%zu whitespace bytes before '{' (the reference accepts them)", ws);
    if (t.type != ST_JT_OBJ_BEGIN) {
        st_report_add(s->r, ST_R_JSON_NOT_OBJECT, foff(t.off), t.len,
                      "header is %s, not a JSON object", tok_kind(&t));
        return -1;
    }
    for (;;) {
        if (next(s, &t) != 0)
            return -1;
        if (t.type == ST_JT_OBJ_END)
            break;
        int rc = key_is(&t, "__metadata__") ? parse_metadata(s) : parse_tensor(s, &t);
        if (rc != 0)
            return -1;
    }
    if (next(s, &t) != 0)
        return -1;
    if (st_json_trailing_nonspace_ws(s->j))
        st_report_add(s->r, ST_R_JSON_TRAILING_WS, foff(t.off), 0,
                      "whitespace other than spaces after '}' (the format pads with 0x20)");
    return 0;
}

static st_error read_header(stf *s, unsigned char **buf)
{
    /* N <= size - 8 here: the allocation is bounded by bytes actually present. */
    *buf = malloc(s->n);
    if (*buf == NULL) {
        st_report_add(s->r, ST_R_NOMEM, HDR_BASE, s->n, "no memory for a %llu-byte header",
                      (unsigned long long)s->n);
        return ST_E_NOMEM;
    }
    if (st_src_read(s->in->src, HDR_BASE, *buf, s->n) != ST_OK) {
        st_report_add(s->r, ST_R_IO, HDR_BASE, s->n, "could not read the header");
        return ST_E_IO;
    }
    return ST_OK;
}

/* ---- --deep: one streamed read of the file ------------------------------------------------ */

#define DEEP_CHUNK (1u << 20)

typedef struct {
    st_float_kind kind;
    unsigned esz;
    unsigned char carry[8]; /* an element split across two chunks */
    unsigned nc;
    uint64_t nan, inf;
} deep_state;

static void deep_start(deep_state *d, const tensor_rec *t)
{
    memset(d, 0, sizeof(*d));
    d->kind = st_float_kind_of(t->dtype < N_DTYPES ? dtypes[t->dtype].name : NULL);
    d->esz = st_float_size(d->kind);
}

static void deep_bytes(deep_state *d, const unsigned char *p, size_t n)
{
    if (d->esz == 0)
        return;
    if (d->nc > 0) {
        size_t take = d->esz - d->nc < n ? d->esz - d->nc : n;
        memcpy(d->carry + d->nc, p, take);
        d->nc += (unsigned)take;
        p += take;
        n -= take;
        if (d->nc < d->esz)
            return;
        st_count_nan_inf(d->kind, d->carry, 1, &d->nan, &d->inf);
        d->nc = 0;
    }
    size_t whole = n / d->esz, rest = n % d->esz;
    st_count_nan_inf(d->kind, p, whole, &d->nan, &d->inf);
    memcpy(d->carry, p + whole * d->esz, rest);
    d->nc = (unsigned)rest;
}

static void deep_finish(stf *s, const tensor_rec *t, const deep_state *d)
{
    char name[NAME_SHOW + 8];
    if (d->nan == 0 && d->inf == 0)
        return;
    /* GCOVR_EXCL_BR_START: NaN or Inf is counted only for a known float dtype, so "?" is
     * defence */
    st_report_add(s->r, ST_R_TENSOR_NAN_INF, HDR_BASE + s->n + t->begin, t->end - t->begin,
                  "tensor \"%s\" (%s) holds %llu NaN and %llu Inf values",
                  show_name(s, t->key_off, t->key_len, name, sizeof(name)),
                  t->dtype < N_DTYPES ? dtypes[t->dtype].name : "?", (unsigned long long)d->nan,
                  (unsigned long long)d->inf);
    /* GCOVR_EXCL_BR_STOP */
}

/* Reads the file once, front to back: every byte feeds the digest (when one is under way) and
 * every tensor's bytes are classified. Needs the sorted, non-overlapping layout that
 * check_coverage established; otherwise tensors are not scanned (the layout is an error
 * already) and the scanner computes the digest itself. */
static void deep_pass(stf *s)
{
    uint64_t size = s->in->src->size, base = HDR_BASE + s->n;
    for (size_t i = 1; i < s->nrecs; i++)
        if (s->recs[i].begin < s->recs[i - 1].end)
            return;
    if (s->nrecs > 0 && base + s->recs[s->nrecs - 1].end > size)
        return;
    unsigned char *buf = malloc(DEEP_CHUNK);
    /* GCOVR_EXCL_START: allocation failure */
    if (buf == NULL) {
        st_report_fail(s->r, ST_E_NOMEM);
        return;
    }
    /* GCOVR_EXCL_STOP */
    st_sha256 *dg = s->in->digest_done ? NULL : s->in->digest;
    size_t ri = 0;
    deep_state d;
    if (s->nrecs > 0)
        deep_start(&d, &s->recs[0]);
    uint64_t off = 0;
    for (; off < size; off += DEEP_CHUNK) {
        size_t len = size - off < DEEP_CHUNK ? (size_t)(size - off) : DEEP_CHUNK;
        if (st_src_read(s->in->src, off, buf, len) != ST_OK ||
            (dg != NULL && st_sha256_update(dg, buf, len) != 0)) {
            st_report_add(s->r, ST_R_IO, off, len, "could not read the tensor data");
            st_report_fail(s->r, ST_E_IO);
            break;
        }
        uint64_t lo = off, hi = off + len;
        while (ri < s->nrecs && lo < hi) {
            const tensor_rec *t = &s->recs[ri];
            uint64_t rb = base + t->begin, re = base + t->end;
            if (re <= lo) { /* done (or empty) */
                deep_finish(s, t, &d);
                if (++ri < s->nrecs)
                    deep_start(&d, &s->recs[ri]);
                continue;
            }
            if (rb >= hi)
                break;
            uint64_t a = rb > lo ? rb : lo, b = re < hi ? re : hi;
            deep_bytes(&d, buf + (a - off), (size_t)(b - a));
            lo = b;
        }
    }
    for (; off >= size && ri < s->nrecs; ri++) { /* tensors ending at the end of the file */
        deep_finish(s, &s->recs[ri], &d);
        if (ri + 1 < s->nrecs)
            deep_start(&d, &s->recs[ri + 1]);
    }
    if (off >= size && dg != NULL)
        s->in->digest_done = 1;
    free(buf);
}

st_error st_safetensors_check(st_input *in)
{
    stf s;
    unsigned char *hdr = NULL;
    st_error err = ST_OK;

    memset(&s, 0, sizeof(s));
    s.in = in;
    s.r = in->report;
    in->report->format = "safetensors";
    if (check_framing(&s) != 0)
        goto out;
    if ((err = read_header(&s, &hdr)) != ST_OK)
        goto out;
    s.hdr = hdr;
    if (check_start(&s) != 0)
        goto out;
    s.j = st_json_new(hdr, s.n, (unsigned)in->ctx->limits[ST_LIMIT_JSON_DEPTH]);
    /* GCOVR_EXCL_START: allocation failure (the input is below 2^31 bytes, the depth >= 1) */
    if (s.j == NULL) {
        st_report_add(s.r, ST_R_NOMEM, HDR_BASE, 0, "no memory for the JSON scanner");
        err = ST_E_NOMEM;
        goto out;
    }
    /* GCOVR_EXCL_STOP */
    int walked = walk_top(&s);
    st_json_free(s.j); /* frees key storage before the records are sorted */
    s.j = NULL;
    in->report->tensor_count = s.tensors;
    if (walked != 0)
        goto out;
    if (s.tensors == 0)
        st_report_add(s.r, ST_R_NO_TENSORS, HDR_BASE, s.n, "the header describes no tensors");
    check_required_missing(&s);
    check_coverage(&s, in->src->size - HDR_BASE - s.n);
    if (in->ctx->deep)
        deep_pass(&s);
out:
    st_json_free(s.j);
    free(s.recs);
    free(hdr);
    return err;
}

/* Identification: an 8-byte length that fits the file, then '{' (or whitespace). */
int st_safetensors_sniff(const st_input *in)
{
    int named = st_name_has_suffix(in->name, ".safetensors");
    if (in->head_len < HDR_BASE + 1)
        return named ? 50 : 0;
    uint64_t n = st_le64(in->head), end;
    int fits = n > 0 && !st_add_u64(HDR_BASE, n, &end) && end <= in->src->size;
    unsigned char c = in->head[HDR_BASE];
    if (fits && c == '{')
        return 100;
    if (fits && (c == ' ' || c == '\t' || c == '\r' || c == '\n'))
        return 80;
    return named ? 50 : 0;
}
