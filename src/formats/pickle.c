/*
 * pickle.c - abstract interpretation of pickle opcode streams, protocols 0-5.
 *
 * Follows CPython 3.12's Lib/pickle.py _Unpickler and Modules/_pickle.c: every opcode is
 * decoded with bounds-checked arguments and its effect on the stack, the mark stack and the
 * memo is simulated on abstract values (kinds, not objects). Nothing is ever unpickled,
 * imported or executed. Where the two CPython implementations or other scanners differ, the
 * stricter reading wins and the difference is a finding:
 *   - PUT/BINPUT/LONG_BINPUT/MEMOIZE store the top of the stack, whatever produced it;
 *   - STACK_GLOBAL resolves only two literal strings; anything else is an unresolved import;
 *   - an opcode or line that straddles a FRAME's end is an error (_Unframer raises, _pickle.c
 *     does not);
 *   - protocol-0 STRING is escape-decoded and UNICODE raw-unicode-escape-decoded, as loaders do;
 *   - a malformed stream is a finding, and everything walked before the fault is still judged,
 *     because a loader has executed it by then.
 * The stream is read through a bounded window, never whole; lengths in arguments are checked
 * against the bytes present before anything is skipped.
 */
#include "pickle.h"

#include <stdlib.h>
#include <string.h>

#include "../core/checked.h"
#include "../core/escape.h"
#include "pickle_values.h"

#define WIN 65536u
#define NO_IDX UINT32_MAX

/* What joblib's and numpy's readers decide from (dtypes, array wrappers, their state dicts,
 * the tuples that build them) lives in records (pickle_values.c) that V_TUPLE, V_DICT and
 * V_CALL values refer to, so BUILD and SETITEM(S) update them through every reference:
 *   off = OFF_REC | record id, or (V_TUPLE only) OFF_SHAPE | product of its exact integers -
 *   a tuple of ints is immutable, so its product is exact for good (OFF_OVF: it overflowed
 *   44 bits; OFF_FULL: not the empty tuple). A V_DICT's off is its identity: the offset of
 *   the opcode that made it, + 1 (copies through the memo or DUP keep it); only dicts given a
 *   key joblib reads get a record, found by that identity. */
#define LOW(n) (((uint64_t)1 << (n)) - 1)
#define OFF_REC ((uint64_t)1 << 63)
#define OFF_SHAPE ((uint64_t)1 << 62)
#define OFF_OVF ((uint64_t)1 << 61)
#define OFF_FULL ((uint64_t)1 << 60)
#define REC_MAX ((uint64_t)1 << 21) /* records per walk; ids must fit 26 bits (see pack) */
#define REC_ID(v) ((v)->off & OFF_REC ? (uint32_t)((v)->off & LOW(32)) : 0)

enum {
    V_NONE,
    V_BOOL,
    V_INT,
    V_FLOAT,
    V_STR,
    V_BYTES,
    V_TUPLE,
    V_LIST,
    V_DICT,
    V_SET,
    V_FROZENSET,
    V_GLOBAL,
    V_CALL,
    V_PID,
    V_OBJ,
};

/* An abstract value. V_STR/V_BYTES: off/aux = raw content in the source and its length
 * (aux saturates), op = producing opcode. V_INT: off = value when aux is 1. V_GLOBAL/V_CALL:
 * aux = index into the walker's import table. V_TUPLE: aux = 1 + storage index when the tuple
 * has the shape of a storage persistent id, or RARGS | index into the walker's rargs table when
 * it holds data classes (see op_tuple). */
typedef struct {
    uint8_t kind;
    uint8_t op;
    uint32_t aux;
    uint64_t off;
} pv;

/* An import. A data class (numpy.matrix, ...) is judged by its uses: data when every use is
 * the class argument of an allowed reconstructor, a call judged as call_j otherwise. */
typedef struct {
    long report_idx; /* index in the report's import list */
    st_pk_judgement j;
    int container;
    st_pk_recon recon;  /* an allowed reconstructor: where data classes may stand */
    uint8_t data_class; /* on the data-class list (j is then call_j until judged) */
    uint8_t reported;   /* a finding names this data class already */
    uint32_t data_uses; /* uses as a reconstructor's class argument */
    uint64_t offset;    /* of the first import */
    char *text;         /* "module.name" as mapped */
} imp;

/* Arguments tuples that hold data classes where a reconstructor takes classes: the import
 * index at positions 0 and 1 (NO_IDX when none) and the tuple's length. Deduplicated: real
 * pickles repeat a handful of shapes. */
#define RARGS 0x80000000u
#define RARGS_MAX 64
typedef struct {
    uint32_t cls[2];
    size_t n;
} rargs;

typedef struct {
    const st_pk_job *job;
    st_report *r;
    const st_ctx *ctx;
    /* input window */
    uint64_t pos;
    unsigned char *buf;
    size_t win; /* window size: WIN, or less for a shorter stream */
    uint64_t buf_off;
    size_t buf_len;
    int in_frame;
    uint64_t frame_end;
    /* machine */
    pv *stack;
    size_t sp, stack_cap;
    size_t *marks;
    size_t nmarks, marks_cap;
    uint64_t **memo_pages; /* packed entries (see pack), MEMO_PAGE per page, 0 = empty */
    size_t memo_npages, memo_count;
    unsigned proto;
    uint64_t opcodes;
    /* imports, deduplicated through a sorted index */
    imp *imps;
    size_t n_imps, cap_imps;
    uint32_t *sorted;
    size_t n_data_classes; /* imports on the data-class list (0: no tuple is scanned) */
    rargs rargs[RARGS_MAX];
    size_t n_rargs;
    st_pk_result *res;
    size_t cap_storages;
    st_pkvals *vals;    /* records of dtypes, array wrappers and their states (see OFF_REC) */
    uint64_t jl_raw_at; /* where joblib's first raw array data begins (0: none) */
    uint64_t jl_pad_at; /* where its first padding-length byte is (0: none) */
    /* state */
    uint64_t op_off; /* offset of the opcode being executed */
    int stop;        /* a STOP was executed */
    int fault;       /* walk cannot continue */
    int in_tail;     /* walking bytes after a complete pickle */
    st_error err;
} walker;

/* joblib and numpy values (defined with op_tuple) */
static pv tuple_value(walker *w, const pv *e, size_t n);
static st_pkl to_pkl(walker *w, const pv *v, char *text, int want_text);
static int class_of(const walker *w, uint32_t idx);
static void track_call(walker *w, const pv *callable, char how, const pv *args, pv *res);
static int may_begin(const unsigned char *p, size_t n); /* identification */

/* ---- findings -------------------------------------------------------------------------- */

static const char *member_of(const walker *w)
{
    return w->job->member ? w->job->member : "";
}

/* " in member X" or "", for messages. */
static const char *where(const walker *w, char *buf, size_t size)
{
    char m[160];
    if (w->job->member == NULL)
        return "";
    snprintf(buf, size, " in member \"%s\"",
             st_escape(w->job->member, strlen(w->job->member), m, sizeof(m), 120));
    return buf;
}

#define FINDING(w, rule, fmt, ...)                                                                 \
    do {                                                                                           \
        char where_[200];                                                                          \
        st_report_add((w)->r, (rule), (w)->op_off, 1, fmt "%s", __VA_ARGS__,                       \
                      where(w, where_, sizeof(where_)));                                           \
    } while (0)

/* An integrity fault: an error in a pickle, a warning in bytes after a complete one (a loader
 * that reads one pickle never sees them; one that reads on stops there). */
static st_rule_id integrity(const walker *w, st_rule_id rule)
{
    return w->in_tail ? ST_R_PK_MALFORMED_TAIL : rule;
}

static int malformed(walker *w, const char *what)
{
    FINDING(w, integrity(w, ST_R_PK_MALFORMED), "malformed pickle at offset %llu: %s%s",
            (unsigned long long)w->op_off, what, w->in_tail ? " (after a complete pickle)" : "");
    if (!w->in_tail) /* the pickle itself was complete */
        w->res->malformed = 1;
    w->fault = 1;
    return -1;
}

/* A stream stcheck refuses although CPython's loaders read on (a FRAME overrun, a sparse memo
 * index, an argument form int() accepts): the walk cannot follow what a loader does next, so it
 * is an error wherever it is - in bytes after a complete pickle too, which a loader that reads
 * on would run (unlike a fault every loader stops at, a warning there). */
static int refused(walker *w, st_rule_id rule, const char *what)
{
    FINDING(w, rule, "pickle at offset %llu: %s%s", (unsigned long long)w->op_off, what,
            w->in_tail ? " (after a complete pickle; CPython's loaders read on)" : "");
    if (!w->in_tail)
        w->res->malformed = 1;
    w->fault = 1;
    return -1;
}

static int limit(walker *w, const char *what, uint64_t value)
{
    FINDING(w, ST_R_LIMIT, "pickle %s above the limit of %llu", what, (unsigned long long)value);
    st_report_fail(w->r, ST_E_LIMIT);
    w->err = ST_E_LIMIT;
    w->fault = 1;
    return -1;
}

static int nomem(walker *w)
{
    st_report_add(w->r, ST_R_NOMEM, w->op_off, 0, "out of memory walking a pickle");
    st_report_fail(w->r, ST_E_NOMEM);
    w->err = ST_E_NOMEM;
    w->fault = 1;
    return -1;
}

/* ---- reading --------------------------------------------------------------------------- */

/* Reads len bytes at off from the source. A read that fails (an I/O error, a remote source
 * that stops answering) is "could not check" (ST902), never a judgement of the bytes. */
static int read_src(walker *w, uint64_t off, void *buf, size_t len)
{
    if (st_src_read(w->job->src, off, buf, len) == ST_OK)
        return 0;
    st_report_add(w->r, ST_R_IO, off, len, "could not read pickle bytes");
    st_report_fail(w->r, ST_E_IO);
    w->err = ST_E_IO;
    w->fault = 1;
    return -1;
}

/* Makes [pos, pos+n) available in the window (n <= w->win). -1 at end of input or on I/O. */
static int fill(walker *w, size_t n)
{
    if (w->pos >= w->buf_off && w->pos + n <= w->buf_off + w->buf_len)
        return 0;
    uint64_t avail = w->job->end - w->pos;
    if (w->pos > w->job->end || avail < n)
        return -1;
    size_t len = avail < w->win ? (size_t)avail : w->win;
    if (read_src(w, w->pos, w->buf, len) != 0)
        return -1;
    w->buf_off = w->pos;
    w->buf_len = len;
    return 0;
}

/* Frame bookkeeping for a read of n bytes at pos (see _Unframer.read). */
static int frame_check(walker *w, uint64_t n)
{
    if (!w->in_frame)
        return 0;
    if (w->pos == w->frame_end && w->pos == w->op_off) {
        w->in_frame = 0; /* frame consumed at an opcode boundary: the stream continues */
        return 0;
    }
    if (w->pos == w->frame_end) {
        /* _Unframer would read the rest of this opcode from outside the frame; picklers never
         * write that, and _pickle.c reads it differently: refuse it. */
        return refused(w, ST_R_PK_FRAME, "opcode continues past the end of its frame");
    }
    if (n > w->frame_end - w->pos) {
        return refused(w, ST_R_PK_FRAME, "opcode straddles the end of its frame");
    }
    return 0;
}

/* Takes n bytes (n <= w->win) and returns a pointer into the window, or NULL. */
static const unsigned char *take_slow(walker *w, size_t n)
{
    if (frame_check(w, n) != 0)
        return NULL;
    if (fill(w, n) != 0) {
        if (!w->fault)
            malformed(w, "truncated");
        return NULL;
    }
    const unsigned char *p = w->buf + (w->pos - w->buf_off);
    w->pos += n;
    return p;
}

/* The common case inline: the bytes are in the window and inside the current frame. */
static inline const unsigned char *take(walker *w, size_t n)
{
    uint64_t end = w->pos + n;
    if (w->pos >= w->buf_off && end <= w->buf_off + w->buf_len &&
        (!w->in_frame || (w->pos < w->frame_end && end <= w->frame_end))) {
        const unsigned char *p = w->buf + (w->pos - w->buf_off);
        w->pos = end;
        return p;
    }
    return take_slow(w, n);
}

/* Skips n bytes of an argument without reading them; they must be present. */
static int skip(walker *w, uint64_t n)
{
    uint64_t end;
    if (frame_check(w, n) != 0)
        return -1;
    if (st_add_u64(w->pos, n, &end) || /* GCOVR_EXCL_BR_LINE: n <= INT64_MAX, pos < 2^63 */
        end > w->job->end)
        return malformed(w, "argument longer than the bytes present");
    w->pos = end;
    return 0;
}

/* Reads a line: sets its offset and length without the newline (see _Unframer.readline: a
 * line must end inside the frame it starts in). */
static int line(walker *w, uint64_t *off, uint64_t *len)
{
    if (frame_check(w, 1) != 0)
        return -1;
    uint64_t limit_end = w->in_frame ? w->frame_end : w->job->end;
    uint64_t start = w->pos, p = start;
    while (p < limit_end) {
        size_t chunk = limit_end - p < w->win ? (size_t)(limit_end - p) : w->win;
        w->pos = p;
        if (fill(w, chunk) != 0) /* chunk ends within the stream: only I/O fails (a fault) */
            return w->fault ? -1 : malformed(w, "truncated line"); /* GCOVR_EXCL_BR_LINE */
        const unsigned char *s = w->buf + (p - w->buf_off);
        const unsigned char *nl = memchr(s, '\n', chunk);
        if (nl != NULL) {
            *off = start;
            *len = p + (uint64_t)(nl - s) - start;
            w->pos = p + (uint64_t)(nl - s) + 1;
            return 0;
        }
        p += chunk;
    }
    if (w->in_frame) {
        w->pos = start;
        return refused(w, ST_R_PK_FRAME, "line runs past the end of its frame");
    }
    /* The stream ends inside the line. Lib/pickle.py's pure-Python unpickler (joblib's
     * NumpyUnpickler and dill derive from it) does not refuse that: readline() returns the
     * unterminated rest and every line opcode drops its last byte (`readline()[:-1]`), so a
     * GLOBAL cut by the end of the file still imports. Read it the same way (the missing STOP
     * is reported when the next opcode is due); _pickle.c refuses such a line, which only
     * makes this view the wider one. */
    *off = start;
    *len = limit_end > start ? limit_end - start - 1 : 0; /* "" at the very end */
    w->pos = limit_end;
    return 0;
}

/* ---- string values --------------------------------------------------------------------- */

/* codecs.escape_decode of a protocol-0 STRING body (quotes already removed). */
static size_t escape_decode(const unsigned char *s, size_t n, unsigned char *out, int *ok)
{
    size_t o = 0;
    *ok = 1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '\\' || i + 1 >= n) {
            out[o++] = s[i];
            continue;
        }
        unsigned char c = s[++i];
        const char *simple = strchr("\\'\"abfnrtv", c);
        /* GCOVR_EXCL_START: a line (the only source of 'S' strings) never holds a newline; kept
         * because codecs.escape_decode drops an escaped one */
        if (c == '\n')
            continue;
        /* GCOVR_EXCL_STOP */
        if (c != 0 && simple != NULL) {
            out[o++] = (unsigned char)"\\'\"\a\b\f\n\r\t\v"[simple - "\\'\"abfnrtv"];
        } else if (c >= '0' && c <= '7') {
            unsigned v = c - '0';
            for (int k = 0; k < 2 && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '7'; k++)
                v = v * 8 + (s[++i] - '0');
            out[o++] = (unsigned char)v;
        } else if (c == 'x') {
            int h1 = i + 1 < n ? st_hex_digit(s[i + 1]) : -1,
                h2 = i + 2 < n ? st_hex_digit(s[i + 2]) : -1;
            if (h1 < 0 || h2 < 0) {
                *ok = 0; /* ValueError: invalid \x escape */
                return o;
            }
            out[o++] = (unsigned char)(h1 * 16 + h2);
            i += 2;
        } else {
            out[o++] = '\\'; /* unknown escapes are kept */
            out[o++] = c;
        }
    }
    return o;
}

/* raw-unicode-escape decoding of a protocol-0 UNICODE line, to UTF-8. */
static size_t raw_unicode_decode(const unsigned char *s, size_t n, unsigned char *out, int *ok)
{
    size_t o = 0;
    *ok = 1;
    for (size_t i = 0; i < n; i++) {
        size_t digits = 0;
        if (s[i] == '\\' && i + 1 < n && (s[i + 1] == 'u' || s[i + 1] == 'U'))
            digits = s[i + 1] == 'u' ? 4 : 8;
        if (digits == 0) {
            o += st_utf8_encode(out + o, s[i]); /* latin-1 */
            continue;
        }
        unsigned long cp = 0;
        for (size_t k = 0; k < digits; k++) {
            int h = i + 2 + k < n ? st_hex_digit(s[i + 2 + k]) : -1;
            if (h < 0) {
                *ok = 0;
                return o;
            }
            cp = cp * 16 + (unsigned)h;
        }
        if (cp > 0x10FFFF) {
            *ok = 0;
            return o;
        }
        o += st_utf8_encode(out + o, cp);
        i += 1 + digits;
    }
    return o;
}

/* Decodes a string value of raw length len (read into raw) the way the loader does; returns the
 * decoded length, with *ok = 0 when the loader would fail to decode it. */
static size_t decode_text(const pv *v, const unsigned char *raw, size_t len, unsigned char *dec,
                          int *ok)
{
    *ok = 1;
    if (v->op == 'S') {
        if (len < 2 || raw[0] != raw[len - 1] || (raw[0] != '\'' && raw[0] != '"')) {
            *ok = 0;
            return 0;
        }
        return escape_decode(raw + 1, len - 2, dec, ok);
    }
    if (v->op == 'V')
        return raw_unicode_decode(raw, len, dec, ok);
    memcpy(dec, raw, len);
    return len;
}

/* The text of a string value, NUL-terminated in out (cap + 1 bytes). Returns 0; -1 when it is
 * not a string, is undecodable or holds NUL; -2 when its text is longer than cap bytes.
 * Decoding makes text at most twice the raw length (latin-1 to UTF-8) and at least a tenth of
 * it (\UXXXXXXXX), which bounds what is read. */
static int string_text(walker *w, const pv *v, char *out, size_t cap)
{
    unsigned char small_raw[4 * ST_PK_TEXT_MAX + 2], small_dec[8 * ST_PK_TEXT_MAX + 8];
    unsigned char *raw = small_raw, *dec = small_dec;
    const unsigned char *in = raw;
    int ok = 1, rc = -1;
    if (v->kind != V_STR)
        return -1;
    if (v->aux == UINT32_MAX || (uint64_t)v->aux > 10 * (uint64_t)cap + 2)
        return -2;
    size_t len = v->aux;
    if (len > sizeof(small_raw)) {
        raw = malloc(len);
        dec = malloc(2 * len + 8);
        in = raw;
        if (raw == NULL || dec == NULL) {
            nomem(w);
            goto out;
        }
    }
    /* A string just pushed is usually still in the window: no read (a pread per dict key
     * would dominate the walk of a dense pickle). */
    if (v->off >= w->buf_off && v->off - w->buf_off <= w->buf_len &&
        len <= w->buf_len - (v->off - w->buf_off))
        in = w->buf + (v->off - w->buf_off);
    else if (read_src(w, v->off, raw, len) != 0)
        goto out;
    size_t n = decode_text(v, in, len, dec, &ok);
    if (!ok || memchr(dec, 0, n) != NULL)
        goto out;
    rc = -2;
    if (n > cap)
        goto out;
    memcpy(out, dec, n);
    out[n] = '\0';
    rc = 0;
out:
    if (raw != small_raw) {
        free(raw);
        free(dec);
    }
    return rc;
}

/* The text of a short string value (dict keys, dtype strings), NUL-terminated in out
 * (ST_PK_TEXT_MAX + 1 bytes). Returns 0, or -1 when it is not such a string. */
static int value_text(walker *w, const pv *v, char *out)
{
    return string_text(w, v, out, ST_PK_TEXT_MAX) == 0 ? 0 : -1;
}

/* ---- the machine ----------------------------------------------------------------------- */

static size_t mark_base(const walker *w)
{
    return w->nmarks ? w->marks[w->nmarks - 1] : 0;
}

static int push(walker *w, uint8_t kind, uint8_t op, uint32_t aux, uint64_t off)
{
    if (w->sp + w->nmarks >= w->ctx->limits[ST_LIMIT_PICKLE_STACK])
        return limit(w, "stack depth", w->ctx->limits[ST_LIMIT_PICKLE_STACK]);
    if (w->sp == w->stack_cap) {
        /* the stack is allocated before the walk: stack_cap is never 0 */
        size_t cap = w->stack_cap ? w->stack_cap * 2 : 256; /* GCOVR_EXCL_BR_LINE */
        pv *p = realloc(w->stack, cap * sizeof(*p));
        if (p == NULL)
            return nomem(w);
        w->stack = p;
        w->stack_cap = cap;
    }
    w->stack[w->sp++] = (pv){kind, op, aux, off};
    return 0;
}

static int push_v(walker *w, const pv *v)
{
    return push(w, v->kind, v->op, v->aux, v->off);
}

static int pop(walker *w, pv *out)
{
    if (w->sp <= mark_base(w)) {
        *out = (pv){0}; /* defined on failure too: gcc -O3 cannot see callers return first */
        return malformed(w, "stack underflow");
    }
    *out = w->stack[--w->sp];
    return 0;
}

static pv *top(walker *w)
{
    if (w->sp <= mark_base(w)) {
        malformed(w, "stack underflow");
        return NULL;
    }
    return &w->stack[w->sp - 1];
}

static int push_mark(walker *w)
{
    if (w->sp + w->nmarks >= w->ctx->limits[ST_LIMIT_PICKLE_STACK])
        return limit(w, "stack depth", w->ctx->limits[ST_LIMIT_PICKLE_STACK]);
    if (w->nmarks == w->marks_cap) {
        size_t cap = w->marks_cap ? w->marks_cap * 2 : 64;
        size_t *p = realloc(w->marks, cap * sizeof(*p));
        if (p == NULL)
            return nomem(w);
        w->marks = p;
        w->marks_cap = cap;
    }
    w->marks[w->nmarks++] = w->sp;
    return 0;
}

/* Pops back to the last MARK; *base is where its items begin (they stay readable). */
static int pop_mark(walker *w, size_t *base)
{
    *base = 0; /* defined on failure too: gcc -O2/-Os cannot see callers return first */
    if (w->nmarks == 0)
        return malformed(w, "MARK expected but not found");
    *base = w->marks[--w->nmarks];
    return 0;
}

/* Memo entries are packed into 8 bytes and kept in pages allocated on demand: a real 48 MB
 * pickle memoizes millions of objects, and 16-byte entries in a doubling array would spend
 * several times the input on the memo. Layout: bits 0-3 kind + 1 (0 = empty slot), bits 4-5
 * string decoding class, bits 6-63 payload: V_STR/V_BYTES offset (47 bits) and length
 * (11 bits, saturated: a saturated length is never resolved), V_INT value (57 bits, exact
 * below 2^57), V_BOOL value, V_GLOBAL/V_CALL/V_TUPLE/V_PID index. */
#define MEMO_PAGE 4096u /* 32 KiB pages: small pickles (and fuzz inputs) stay small */
#define LEN_SAT 2047u

static uint64_t pack(const pv *v)
{
    uint64_t cls = v->op == 'S' ? 1 : v->op == 'V' ? 2 : 0, payload = 0;
    switch (v->kind) {
    case V_STR:
    case V_BYTES: {
        uint64_t len = v->aux < LEN_SAT ? v->aux : LEN_SAT;
        /* GCOVR_EXCL_START: only a stream beyond 128 TiB has such offsets */
        if (v->off >= ((uint64_t)1 << 47))
            len = LEN_SAT; /* beyond 128 TiB: keep as an unresolvable string */
        /* GCOVR_EXCL_STOP */
        payload = (v->off & (((uint64_t)1 << 47) - 1)) | len << 47;
        break;
    }
    case V_INT:
        payload = (v->aux == 1 && v->off < ((uint64_t)1 << 57)) ? (v->off << 1) | 1 : 0;
        break;
    case V_TUPLE: /* a storage index, or its shape product or record (see OFF_REC) */
        if (v->aux != 0)
            payload = (uint64_t)v->aux << 1 | 1;
        else if (v->off & OFF_SHAPE)
            payload = 2 | (v->off & OFF_OVF ? 8 : 0) | (v->off & OFF_FULL ? 16 : 0) |
                      (v->off & LOW(44)) << 5;
        else if (v->off & OFF_REC)
            payload = 4 | (uint64_t)REC_ID(v) << 5;
        break;
    case V_CALL: /* the import, and the record of what the call made */
        payload = v->aux | (uint64_t)REC_ID(v) << 32;
        break;
    case V_DICT: /* its identity (see OFF_REC) */
        /* an opcode offset + 1 is below 2^57 in any stream that can exist */
        payload = v->off < ((uint64_t)1 << 57) ? v->off : 0; /* GCOVR_EXCL_BR_LINE */
        break;
    default:
        payload = v->aux;
    }
    return (uint64_t)(v->kind + 1) | cls << 4 | payload << 6;
}

static pv unpack(uint64_t x)
{
    static const uint8_t ops[3] = {0, 'S', 'V'};
    pv v = {(uint8_t)((x & 15) - 1), ops[(x >> 4) & 3], 0, 0};
    uint64_t payload = x >> 6;
    switch (v.kind) {
    case V_STR:
    case V_BYTES:
        v.off = payload & (((uint64_t)1 << 47) - 1);
        v.aux = (uint32_t)(payload >> 47);
        v.aux = v.aux == LEN_SAT ? UINT32_MAX : v.aux;
        break;
    case V_INT:
        v.aux = (uint32_t)(payload & 1);
        v.off = payload >> 1;
        break;
    case V_TUPLE:
        if (payload & 1)
            v.aux = (uint32_t)(payload >> 1);
        else if (payload & 2)
            v.off = OFF_SHAPE | (payload & 8 ? OFF_OVF : 0) | (payload & 16 ? OFF_FULL : 0) |
                    (payload >> 5 & LOW(44));
        else if (payload & 4)
            v.off = OFF_REC | (payload >> 5 & LOW(32));
        break;
    case V_CALL:
        v.aux = (uint32_t)(payload & LOW(32));
        if (payload >> 32)
            v.off = OFF_REC | (payload >> 32);
        break;
    case V_DICT:
        v.off = payload;
        break;
    default:
        v.aux = (uint32_t)payload;
    }
    return v;
}

static uint64_t *memo_slot(walker *w, uint64_t idx, int create)
{
    size_t page = (size_t)(idx / MEMO_PAGE);
    if (page >= w->memo_npages) {
        if (!create)
            return NULL;
        size_t n = page + 1;
        uint64_t **p = realloc(w->memo_pages, n * sizeof(*p));
        if (p == NULL)
            return NULL;
        memset(p + w->memo_npages, 0, (n - w->memo_npages) * sizeof(*p));
        w->memo_pages = p;
        w->memo_npages = n;
    }
    if (w->memo_pages[page] == NULL) {
        if (!create || (w->memo_pages[page] = calloc(MEMO_PAGE, sizeof(uint64_t))) == NULL)
            return NULL;
    }
    return &w->memo_pages[page][idx % MEMO_PAGE];
}

static int memo_put(walker *w, uint64_t idx)
{
    pv *t = top(w);
    if (t == NULL)
        return -1;
    /* Picklers number memo entries 0, 1, 2, ...: an index beyond the stream's length cannot
     * come from one, and honouring it would allocate from a number in the input. */
    if (idx > w->job->end - w->job->start + 16)
        return refused(w, ST_R_PK_MALFORMED,
                       "memo index larger than the stream could have memoized");
    if (idx >= w->ctx->limits[ST_LIMIT_PICKLE_MEMO])
        return limit(w, "memo index", w->ctx->limits[ST_LIMIT_PICKLE_MEMO]);
    uint64_t *slot = memo_slot(w, idx, 1);
    if (slot == NULL)
        return nomem(w);
    if (*slot == 0)
        w->memo_count++;
    *slot = pack(t);
    return 0;
}

static int memo_get(walker *w, uint64_t idx)
{
    uint64_t *slot = memo_slot(w, idx, 0);
    if (slot == NULL || *slot == 0)
        return malformed(w, "memo value not found");
    pv v = unpack(*slot);
    return push_v(w, &v);
}

static void memo_free(walker *w)
{
    for (size_t i = 0; i < w->memo_npages; i++)
        free(w->memo_pages[i]);
    free(w->memo_pages);
    w->memo_pages = NULL;
    w->memo_npages = 0;
    w->memo_count = 0;
}

/* A protocol-0 decimal argument (PUT, GET): digits only. int() would also take signs, spaces
 * and underscores; picklers never write them, so they are refused as malformed. */
static int decimal_line(walker *w, uint64_t *v)
{
    uint64_t off, len;
    unsigned char d[24];
    *v = 0; /* defined on failure too: gcc -Os cannot see callers return first */
    if (line(w, &off, &len) != 0)
        return -1;
    /* int() takes signs, spaces, underscores and leading zeros: refused, never a warning */
    if (len == 0 || len > 20)
        return refused(w, ST_R_PK_MALFORMED, "decimal argument stcheck does not read");
    if (read_src(w, off, d, len) != 0)
        return -1;
    *v = 0;
    for (size_t i = 0; i < len; i++)
        if (d[i] < '0' || d[i] > '9' || st_mul_u64(*v, 10, v) || st_add_u64(*v, d[i] - '0', v))
            return refused(w, ST_R_PK_MALFORMED, "decimal argument stcheck does not read");
    return 0;
}

/* ---- imports and calls ----------------------------------------------------------------- */

static const char *judgement_name(st_pk_judgement j)
{
    return j == ST_PK_MALICIOUS ? "malicious" : j == ST_PK_SUSPICIOUS ? "suspicious" : "allowed";
}

static const char *profile_name(const walker *w)
{
    return w->job->profile == ST_PK_PROFILE_TORCH         ? "torch"
           : w->job->profile == ST_PK_PROFILE_TORCHSCRIPT ? "TorchScript" /* H3 */
                                                          : "data";
}

/* Binary search of the sorted import index; returns the position where text is or goes. */
static size_t imp_find(const walker *w, const char *text, int *found)
{
    size_t lo = 0, hi = w->n_imps;
    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(w->imps[w->sorted[mid]].text, text);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int imp_grow(walker *w)
{
    if (w->n_imps < w->cap_imps)
        return 0;
    size_t cap = w->cap_imps ? w->cap_imps * 2 : 32;
    imp *p = realloc(w->imps, cap * sizeof(*p));
    if (p == NULL)
        return -1;
    w->imps = p;
    uint32_t *s = realloc(w->sorted, cap * sizeof(*s));
    if (s == NULL)
        return -1;
    w->sorted = s;
    w->cap_imps = cap;
    return 0;
}

static st_pk_judgement judge_both(walker *w, const char *module, const char *name, const char **mm,
                                  const char **mn)
{
    *mm = module;
    *mn = name;
    if (w->proto < 3) /* pickle's fix_imports applies below protocol 3 only */
        st_pk_map_py2(mm, mn);
    st_pk_judgement j = st_pk_judge(w->ctx, w->job->profile, *mm, *mn);
    /* The unmapped spelling is judged too: a loader without fix_imports imports it as is. */
    st_pk_judgement raw = st_pk_judge(w->ctx, w->job->profile, module, name);
    if (raw == ST_PK_MALICIOUS)
        j = ST_PK_MALICIOUS;
    return j;
}

/* The finding for a global the profile does not allow (in the use described by how). */
static void refuse(walker *w, const imp *im, const char *opname, const char *how)
{
    char shown[2 * ST_PK_NAME_MAX + 64];
    st_escape(im->text, strlen(im->text), shown, sizeof(shown), 2 * ST_PK_NAME_MAX + 8);
    if (im->j == ST_PK_MALICIOUS)
        FINDING(w, ST_R_PK_MALICIOUS, "%s %s %s (known dangerous)", opname, how, shown);
    else
        FINDING(w, ST_R_PK_UNKNOWN_GLOBAL, "%s %s %s, which the %s allowlist does not hold%s",
                opname, how, shown, profile_name(w),
                im->data_class ? " except as the class argument of numpy's reconstructors" : "");
}

/* Records an import (module and name as written, each at most ST_PK_NAME_MAX bytes) and returns
 * its index in the walker's table, or NO_IDX when the walk must stop. */
static uint32_t import_global(walker *w, const char *module, const char *name, const char *opname)
{
    const char *mm, *mn;
    st_pk_judgement j = judge_both(w, module, name, &mm, &mn);
    unsigned elem = st_pk_storage_elem_size(mm, mn); /* legacy tar records name their type */
    if (elem != 0)
        w->res->storage_type_elem = elem;
    size_t ml = strlen(mm), nl = strlen(mn);
    char *text = malloc(ml + nl + 2);
    if (text == NULL) {
        nomem(w);
        return NO_IDX;
    }
    memcpy(text, mm, ml);
    text[ml] = '.';
    memcpy(text + ml + 1, mn, nl + 1);
    int found;
    size_t pos = imp_find(w, text, &found);
    if (found) {
        free(text);
        imp *im = &w->imps[w->sorted[pos]];
        if (im->report_idx >= 0)
            w->r->imports[im->report_idx].count++;
        return w->sorted[pos];
    }
    if (w->n_imps >= w->ctx->limits[ST_LIMIT_PICKLE_IMPORTS]) {
        free(text);
        limit(w, "distinct imports", w->ctx->limits[ST_LIMIT_PICKLE_IMPORTS]);
        return NO_IDX;
    }
    if (imp_grow(w) != 0) {
        free(text);
        nomem(w);
        return NO_IDX;
    }
    imp *im = &w->imps[w->n_imps];
    memset(im, 0, sizeof(*im));
    im->text = text;
    im->j = j;
    im->offset = w->op_off;
    im->container = st_pk_is_container_type(mm, mn);
    im->recon = j == ST_PK_ALLOWED ? st_pk_reconstructor(text) : ST_PK_RECON_NONE;
    im->data_class = j != ST_PK_ALLOWED && st_pk_is_data_class(w->ctx, w->job->profile, mm, mn);
    w->n_data_classes += im->data_class;
    /* A data class is judged by its uses (finish_imports); until then it is listed as data. */
    im->report_idx =
        st_report_add_import_as(w->r, mm, mn, module, name, member_of(w),
                                im->data_class ? "allowed" : judgement_name(j), w->op_off);
    memmove(w->sorted + pos + 1, w->sorted + pos, (w->n_imps - pos) * sizeof(*w->sorted));
    w->sorted[pos] = (uint32_t)w->n_imps;
    if (j != ST_PK_ALLOWED && !im->data_class)
        refuse(w, im, opname, "imports");
    return (uint32_t)w->n_imps++;
}

/* A data class used otherwise than as a reconstructor's class argument: from then on it is
 * judged as the call it is. Reported once, at the first such use. */
static void data_class_misused(walker *w, uint32_t idx, const char *opname, const char *how)
{
    imp *im = &w->imps[idx];
    if (!im->data_class || im->reported)
        return;
    im->reported = 1;
    if (im->report_idx >= 0)
        w->r->imports[im->report_idx].judgement = judgement_name(im->j);
    refuse(w, im, opname, how);
}

/* At the end of a walk: a data class that no reconstructor took as its class argument was
 * imported for nothing a profile allows. */
static void finish_imports(walker *w)
{
    for (size_t i = 0; i < w->n_imps && w->n_data_classes > 0; i++) {
        imp *im = &w->imps[i];
        if (!im->data_class || im->reported || im->data_uses > 0)
            continue;
        w->op_off = im->offset;
        data_class_misused(w, (uint32_t)i, "the pickle",
                           "imports (and never passes to a reconstructor)");
    }
}

/* A name too long to judge whole: an error of its own, listed with what fits. */
static void name_too_long(walker *w, const char *opname, uint64_t len)
{
    if (len >= UINT32_MAX) /* a string the memo keeps only as "long" (see pack) */
        FINDING(w, ST_R_PK_NAME_TOO_LONG,
                "%s at offset %llu imports a name longer than the %u bytes judged", opname,
                (unsigned long long)w->op_off, ST_PK_NAME_MAX);
    else
        FINDING(w, ST_R_PK_NAME_TOO_LONG,
                "%s at offset %llu imports a name of %llu bytes, longer than the %u judged", opname,
                (unsigned long long)w->op_off, (unsigned long long)len, ST_PK_NAME_MAX);
    st_report_add_import(w->r, "<name too long>", "", member_of(w), "suspicious", w->op_off);
}

/* Reads the two lines of GLOBAL/INST and records the import. */
static uint32_t line_global(walker *w, const char *opname)
{
    char mod[ST_PK_NAME_MAX + 1], name[ST_PK_NAME_MAX + 1];
    uint64_t too_long = 0;
    for (int k = 0; k < 2; k++) {
        uint64_t off, len;
        char *dst = k == 0 ? mod : name;
        if (line(w, &off, &len) != 0)
            return NO_IDX;
        if (len > ST_PK_NAME_MAX) {
            too_long = too_long > len ? too_long : len;
            continue;
        }
        size_t n = (size_t)len;
        if (read_src(w, off, dst, n) != 0)
            return NO_IDX;
        dst[n] = '\0';
        /* CPython decodes these lines as UTF-8; invalid text or NUL makes the import fail. */
        for (size_t i = 0; i < n;) {
            size_t l = st_utf8_seq_len((unsigned char *)dst + i, n - i);
            if (l == 0) {
                malformed(w, "GLOBAL argument is not UTF-8");
                return NO_IDX;
            }
            if (dst[i] == '\0') {
                malformed(w, "GLOBAL argument holds NUL");
                return NO_IDX;
            }
            i += l;
        }
    }
    if (too_long) {
        name_too_long(w, opname, too_long);
        return NO_IDX;
    }
    return import_global(w, mod, name, opname);
}

static int op_stack_global(walker *w)
{
    pv name, mod;
    char m[ST_PK_NAME_MAX + 1], n[ST_PK_NAME_MAX + 1];
    if (pop(w, &name) != 0 || pop(w, &mod) != 0)
        return -1;
    int rm = string_text(w, &mod, m, ST_PK_NAME_MAX), rn = string_text(w, &name, n, ST_PK_NAME_MAX);
    if (w->fault) /* a read failed: no judgement of what could not be read */
        return -1;
    if (rm == -2 || rn == -2) {
        name_too_long(w, "STACK_GLOBAL", rm == -2 ? mod.aux : name.aux);
        return push(w, V_GLOBAL, 0, NO_IDX, w->op_off);
    }
    if (rm != 0 || rn != 0) {
        /* A value that a call returned (_codecs.encode("bf", "rot13") is "os") is data, never a
         * name: only strings written in the pickle are judged. */
        const pv *bad = rm != 0 ? &mod : &name;
        FINDING(w, ST_R_PK_UNRESOLVED,
                "STACK_GLOBAL at offset %llu takes a %s %s instead of a string written in the "
                "pickle: the import cannot be judged",
                (unsigned long long)w->op_off, rm != 0 ? "module" : "name",
                bad->kind == V_CALL     ? "value a call returned"
                : bad->kind == V_GLOBAL ? "global"
                : bad->kind == V_STR    ? "string that does not decode"
                                        : "non-string value");
        return push(w, V_GLOBAL, 0, NO_IDX, w->op_off);
    }
    uint32_t idx = import_global(w, m, n, "STACK_GLOBAL");
    if (w->fault)
        return -1;
    return push(w, V_GLOBAL, 0, idx, w->op_off);
}

/* Replaces nothing: returns the kind and aux of a call's result and records the call site. */
static void call(walker *w, const pv *callable, const char *opname, pv *result)
{
    if (callable->kind == V_GLOBAL) {
        const char *text = callable->aux == NO_IDX ? "<unresolved>" : w->imps[callable->aux].text;
        st_report_add_call(w->r, text, opname, member_of(w), w->op_off);
        if (callable->aux != NO_IDX)
            data_class_misused(w, callable->aux, opname, "calls");
        *result = (pv){V_CALL, 0, callable->aux, w->op_off};
        return;
    }
    FINDING(w, ST_R_PK_CALL_VALUE,
            "%s at offset %llu calls a value that is not an imported "
            "global",
            opname, (unsigned long long)w->op_off);
    st_report_add_call(w->r, "<value>", opname, member_of(w), w->op_off);
    *result = (pv){V_OBJ, 0, 0, w->op_off};
}

/* The arguments of a call hold data classes (a marked tuple): they are data when the callable
 * is an allowed reconstructor taking a class at their position, and misused otherwise. */
static void call_args(walker *w, const pv *fn, const pv *args, const char *opname)
{
    if (args->kind != V_TUPLE || !(args->aux & RARGS))
        return;
    const rargs *ra = &w->rargs[args->aux & ~RARGS];
    st_pk_recon k =
        fn->kind == V_GLOBAL && fn->aux != NO_IDX ? w->imps[fn->aux].recon : ST_PK_RECON_NONE;
    size_t arity = k == ST_PK_RECON_MASKED ? 4 : 3;
    for (int i = 0; i < 2; i++) {
        if (ra->cls[i] == NO_IDX)
            continue;
        int data = k != ST_PK_RECON_NONE && ra->n == arity && (i == 0 || k == ST_PK_RECON_MASKED);
        if (data)
            w->imps[ra->cls[i]].data_uses++;
        else
            data_class_misused(w, ra->cls[i], opname, "passes (not as a reconstructor's class)");
    }
}

/* Data classes among items that are arguments of something other than a reconstructor. */
static void args_misused(walker *w, const pv *items, size_t n, const char *opname)
{
    for (size_t i = 0; i < n && w->n_data_classes > 0; i++) {
        if (items[i].kind == V_GLOBAL && items[i].aux != NO_IDX)
            data_class_misused(w, items[i].aux, opname, "passes (not as a reconstructor's class)");
        else
            call_args(w, &(pv){V_NONE, 0, NO_IDX, 0}, &items[i], opname);
    }
}

/* numpy callables that make values of a dtype argument from raw or uninitialised bytes (the
 * argument's position returned; -1 for any other callable): given an object dtype whose flags
 * were cleared, they make object references of those bytes - scalar(dtype, bytes),
 * _frombuffer(buf, dtype, ...), ndarray(shape, dtype[, buffer]), _reconstruct(cls, shape,
 * dtype) and _mareconstruct(subtype, baseclass, baseshape, basetype) (no NEEDS_INIT flag: the
 * memory is not zeroed). */
static int raw_dtype_arg(const walker *w, const pv *fn)
{
    static const struct {
        const char *text;
        int pos;
    } readers[] = {
        {"numpy.core.multiarray.scalar", 0},
        {"numpy._core.multiarray.scalar", 0},
        {"numpy.core.numeric._frombuffer", 1},
        {"numpy._core.numeric._frombuffer", 1},
        {"numpy.ndarray", 1},
        {"numpy.core.multiarray._reconstruct", 2},
        {"numpy._core.multiarray._reconstruct", 2},
        {"numpy.ma.core._mareconstruct", 3},
    };
    if (fn->kind != V_GLOBAL || fn->aux == NO_IDX)
        return -1;
    for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]); i++)
        if (strcmp(w->imps[fn->aux].text, readers[i].text) == 0)
            return readers[i].pos;
    return -1;
}

/* A call of scalar/_frombuffer whose dtype argument is an object dtype with its flags cleared
 * (only a tuple with a record can hold a dtype record: no string compare otherwise). */
static void check_raw_dtype(walker *w, const pv *fn, const pv *args, const char *opname)
{
    if (args->kind != V_TUPLE || !(args->off & OFF_REC))
        return;
    int pos = raw_dtype_arg(w, fn);
    char text[ST_PK_TEXT_MAX + 1];
    st_pkl a = to_pkl(w, args, text, 0);
    if (pos >= 0 && st_pkvals_forged_object_dtype(w->vals, &a, (size_t)pos))
        FINDING(w, ST_R_JL_RAW_OBJECTS,
                "%s at offset %llu calls %s with an object dtype whose state clears its object "
                "flags, or a dtype whose flags stcheck cannot tell: numpy may make object "
                "references of raw bytes",
                opname, (unsigned long long)w->op_off, w->imps[fn->aux].text);
}

static int op_reduce(walker *w, const char *opname, int pops)
{
    pv args, res;
    for (int i = 0; i < pops; i++)
        if (pop(w, &args) != 0)
            return -1;
    pv *fn = top(w);
    if (fn == NULL)
        return -1;
    pv callable = *fn;
    call_args(w, fn, &args, opname);
    check_raw_dtype(w, fn, &args, opname);
    call(w, fn, opname, &res);
    track_call(w, &callable, 'R', &args, &res);
    *fn = res;
    return 0;
}

static int op_newobj(walker *w, const char *opname, int arg_pops)
{
    pv tmp[2], cls, res;
    for (int i = 0; i < arg_pops; i++)
        if (pop(w, &tmp[i]) != 0)
            return -1;
    if (pop(w, &cls) != 0)
        return -1;
    args_misused(w, tmp, (size_t)arg_pops, opname);
    check_raw_dtype(w, &cls, &tmp[arg_pops - 1], opname); /* cls.__new__(cls, *args) */
    if (arg_pops == 2 && raw_dtype_arg(w, &cls) >= 0)     /* a dtype may come as a keyword */
        FINDING(w, ST_R_JL_RAW_OBJECTS,
                "NEWOBJ_EX at offset %llu makes a %s with keyword arguments stcheck does not "
                "follow: a dtype among them may make object references of raw bytes",
                (unsigned long long)w->op_off, w->imps[cls.aux].text);
    call(w, &cls, opname, &res);
    track_call(w, &cls, 'N', &tmp[arg_pops - 1], &res); /* the args tuple was popped last */
    return push_v(w, &res);
}

/* OBJ and INST: the callable is the first item after the mark (OBJ) or the line import. */
static int op_obj(walker *w, int inst)
{
    size_t base;
    pv callable, res;
    if (inst) {
        uint32_t idx = line_global(w, "INST");
        if (w->fault)
            return -1;
        callable = (pv){V_GLOBAL, 0, idx, w->op_off};
    }
    if (pop_mark(w, &base) != 0)
        return -1;
    if (!inst) {
        if (w->sp == base)
            return malformed(w, "OBJ without a class");
        callable = w->stack[base];
    }
    size_t first = inst ? base : base + 1;
    args_misused(w, w->stack + first, w->sp - first, inst ? "INST" : "OBJ");
    pv args = tuple_value(w, w->stack + first, w->sp - first);
    w->sp = base;
    check_raw_dtype(w, &callable, &args, inst ? "INST" : "OBJ");
    call(w, &callable, inst ? "INST" : "OBJ", &res);
    track_call(w, &callable, 'R', &args, &res);
    return push_v(w, &res);
}

/* ---- containers, BUILD, persistent ids ------------------------------------------------- */

static int is_container(const walker *w, const pv *t, uint8_t want)
{
    if (t->kind == want)
        return 1;
    return t->kind == V_CALL && t->aux != NO_IDX && w->imps[t->aux].container &&
           w->imps[t->aux].j == ST_PK_ALLOWED;
}

static int check_target(walker *w, const char *opname, uint8_t want)
{
    pv *t = top(w);
    if (t == NULL)
        return -1;
    if (!is_container(w, t, want))
        FINDING(w, ST_R_PK_SETITEM,
                "%s at offset %llu mutates a value the pickle did not build "
                "as a container",
                opname, (unsigned long long)w->op_off);
    return 0;
}

/* SETITEM(S) or DICT: keys that joblib's wrappers read are recorded for the dict's identity;
 * a key that may be any string (not a literal) taints it. Only keys as long as an attribute
 * name joblib reads are read at all (dicts are everywhere; their texts cost a read each). */
static void capture_state(walker *w, pv *dict, const pv *items, size_t n)
{
    char key[ST_PK_TEXT_MAX + 1], text[ST_PK_TEXT_MAX + 1];
    for (size_t i = 0; i + 1 < n; i += 2) {
        const pv *k = &items[i];
        const char *kt = NULL;
        if (k->kind == V_STR) {
            uint32_t l = k->aux; /* shape dtype order; filename subclass; init_args; ... */
            if ((l != 5 && l != 8 && l != 9 && l != 10 && l != 27) || value_text(w, k, key) != 0 ||
                !st_pkvals_key_matters(key))
                continue;
            kt = key;
        } else if (k->kind != V_CALL && k->kind != V_OBJ && k->kind != V_PID) {
            continue; /* not a str: never an attribute name */
        }
        st_pkl v = to_pkl(w, &items[i + 1], text, 1);
        st_pkvals_setitem(w->vals, dict->off, kt, &v, v.kind == ST_PKL_STR ? text : NULL);
    }
}

static int op_mutate(walker *w, const char *opname, uint8_t want, int pops, int with_mark)
{
    pv pair[2];
    const pv *items = pair;
    size_t base, n = (size_t)pops;
    if (with_mark) {
        if (pop_mark(w, &base) != 0)
            return -1;
        if (want == V_DICT && (w->sp - base) % 2 != 0)
            return malformed(w, "SETITEMS with an odd number of items");
        items = w->stack + base; /* still readable: nothing is pushed before capture */
        n = w->sp - base;
        w->sp = base;
    }
    for (int i = pops; i-- > 0;)
        if (pop(w, &pair[i]) != 0)
            return -1;
    pv *t = top(w);
    if (t != NULL && want == V_DICT && t->kind == V_DICT)
        capture_state(w, t, items, n);
    return check_target(w, opname, want);
}

/* A nested pickle where joblib reads one with pickle.load (object arrays). */
static int nested_pickle(walker *w)
{
    if (w->job->depth + 1 > w->ctx->limits[ST_LIMIT_NESTING])
        return limit(w, "nesting of pickles", w->ctx->limits[ST_LIMIT_NESTING]);
    st_pk_job sub = *w->job;
    st_pk_result r2;
    sub.start = w->pos;
    sub.single = 1;
    sub.plain = 1; /* read_array: pickle.load(unpickler.file_handle) */
    sub.depth++;
    st_error e = st_pickle_walk(&sub, &r2);
    st_pk_result_free(&r2);
    if (e != ST_OK || r2.malformed || r2.pickles != 1) {
        w->err = e;
        w->res->malformed = 1;
        w->fault = 1;
        return -1;
    }
    w->pos = r2.stop_end;
    return 0;
}

/* After BUILD on a joblib array wrapper, NumpyUnpickler.load_build replaces it by the array its
 * read() returns: raw bytes after the wrapper (a padding-length byte and padding first when
 * numpy_array_alignment_bytes is not None), a nested pickle for object dtypes, or a sibling
 * file (old joblib). See pickle_values.c for how each is decided. */
static int joblib_array(walker *w, uint32_t wrapper)
{
    st_jl_read rd;
    st_pkvals_joblib_read(w->vals, wrapper, &rd);
    if (rd.how != ST_JL_UNKNOWN && rd.has_subclass && rd.subclass < w->n_imps)
        w->imps[rd.subclass].data_uses++; /* a reconstructor's class argument: data */
    switch (rd.how) {
    case ST_JL_FAILS:
        return malformed(w, rd.why);
    case ST_JL_UNKNOWN:
        FINDING(w, ST_R_JL_UNRESOLVED,
                "joblib array wrapper BUILT at offset %llu: stcheck cannot tell which bytes "
                "joblib reads next, because %s",
                (unsigned long long)w->op_off, rd.why);
        w->fault = 1;
        return -1;
    case ST_JL_SIBLING:
    case ST_JL_ZFILE:
        w->err = st_joblib_sibling(w->job->in, rd.name, rd.name_len, rd.how == ST_JL_ZFILE,
                                   w->op_off, w->job->depth);
        w->fault = w->err != ST_OK;
        return w->fault ? -1 : 0;
    default:
        break;
    }
    if (w->in_frame && w->pos != w->frame_end)
        return malformed(w, "joblib array data inside a frame");
    w->in_frame = 0;
    if (rd.how == ST_JL_PICKLE)
        return nested_pickle(w);
    if (rd.raw_objects)
        FINDING(w, ST_R_JL_RAW_OBJECTS,
                "joblib array wrapper BUILT at offset %llu has an object dtype whose state "
                "clears its object flag: the loader makes object references of %llu file bytes",
                (unsigned long long)w->op_off, (unsigned long long)rd.nbytes);
    if (!w->jl_raw_at)
        w->jl_raw_at = w->pos;
    if (rd.pad_byte && w->job->plain != 3) { /* joblib < 1.2 never reads it */
        if (!w->jl_pad_at)
            w->jl_pad_at = w->pos;
        const unsigned char *p = take(w, 1);
        if (p == NULL || skip(w, *p) != 0)
            return -1;
    }
    return skip(w, rd.nbytes);
}

static int makes_instance(const walker *w, uint32_t idx);

/* A call whose result joblib may replace by an array after BUILD: of a wrapper class, or of
 * copyreg (whose class argument may be one). */
static int may_be_wrapper(const walker *w, uint32_t idx)
{
    int cls = class_of(w, idx);
    return cls == ST_PKC_NUMPY_WRAPPER || cls == ST_PKC_ND_WRAPPER || cls == ST_PKC_ZND_WRAPPER ||
           makes_instance(w, idx);
}

/* The records ran out (their limit, or memory) before a call or its state got one: whether
 * joblib replaces the result by an array, and which bytes it reads, cannot be told. */
static int records_lost(const walker *w, const pv *t)
{
    return t->kind == V_CALL && w->job->profile == ST_PK_PROFILE_DATA && w->job->plain != 1 &&
           st_pkvals_exhausted(w->vals) && may_be_wrapper(w, t->aux);
}

static int op_build(walker *w)
{
    pv state;
    if (pop(w, &state) != 0)
        return -1;
    pv *t = top(w);
    if (t == NULL)
        return -1;
    /* Evidence: BUILD sets state on what the named callable produced. */
    st_report_add_call(w->r,
                       t->kind == V_CALL && t->aux != NO_IDX ? w->imps[t->aux].text : "<value>",
                       "BUILD", member_of(w), w->op_off);
    if (t->kind == V_CALL && (t->off & OFF_REC)) {
        char text[ST_PK_TEXT_MAX + 1];
        st_pkl st = to_pkl(w, &state, text, 1);
        uint32_t id = REC_ID(t);
        int cls = st_pkvals_build(w->vals, id, &st);
        int nd = cls == ST_PKC_ND_WRAPPER || cls == ST_PKC_ZND_WRAPPER;
        if (cls != ST_PKC_NONE && w->job->profile == ST_PK_PROFILE_DATA &&
            (w->job->plain == 0 || w->job->plain == 3 || (w->job->plain == 2 && nd))) {
            t->off = 0; /* the array that replaces the wrapper on the stack */
            return joblib_array(w, id);
        }
        if (cls == ST_PKC_NONE && records_lost(w, t))
            return joblib_array(w, 0);
    } else if (records_lost(w, t)) {
        return joblib_array(w, 0);
    } else if (t->kind == V_CALL && class_of(w, t->aux) == ST_PKC_ARRAY) {
        /* ndarray.__setstate__((version, shape, dtype, is_fortran, rawdata)) */
        char text[ST_PK_TEXT_MAX + 1];
        st_pkl st = to_pkl(w, &state, text, 1);
        if (st_pkvals_raw_objects(w->vals, &st))
            FINDING(w, ST_R_JL_RAW_OBJECTS,
                    "BUILD at offset %llu gives an array an object dtype whose state clears its "
                    "object flag: numpy makes object references of the raw bytes",
                    (unsigned long long)w->op_off);
    }
    /* BUILD on a call result of an unlisted global is already reported with the import. */
    if (t->kind != V_CALL)
        FINDING(w, ST_R_PK_BUILD,
                "BUILD at offset %llu sets state on a value no allowlisted "
                "callable produced",
                (unsigned long long)w->op_off);
    return 0;
}

/* If items [base, sp) have the shape ('storage', type, key, location, numel[, view]), records
 * the storage reference and returns 1 + its index; else 0. */
static uint32_t storage_tuple(walker *w, size_t base)
{
    size_t n = w->sp - base;
    char tag[ST_PK_TEXT_MAX + 1], key[ST_PK_TEXT_MAX + 1];
    if (n != 5 && n != 6)
        return 0; /* before the pointer: the stack may still be unallocated */
    const pv *e = w->stack + base;
    if (e[1].kind != V_GLOBAL || e[1].aux == NO_IDX || e[3].kind != V_STR || e[4].kind != V_INT ||
        e[4].aux != 1)
        return 0;
    if (value_text(w, &e[0], tag) != 0 || strcmp(tag, "storage") != 0 ||
        value_text(w, &e[2], key) != 0 || strlen(key) >= sizeof(w->res->storages[0].key))
        return 0;
    st_pk_result *res = w->res;
    if (res->n_storages >= w->ctx->limits[ST_LIMIT_PICKLE_STORAGES]) {
        limit(w, "storage references", w->ctx->limits[ST_LIMIT_PICKLE_STORAGES]);
        return 0;
    }
    if (res->n_storages == w->cap_storages) {
        size_t cap = w->cap_storages ? w->cap_storages * 2 : 64;
        st_pk_storage_ref *p = realloc(res->storages, cap * sizeof(*p));
        if (p == NULL) {
            nomem(w);
            return 0;
        }
        res->storages = p;
        w->cap_storages = cap;
    }
    st_pk_storage_ref *s = &res->storages[res->n_storages];
    memcpy(s->key, key, strlen(key) + 1);
    s->numel = e[4].off;
    const char *text = w->imps[e[1].aux].text, *dot = strrchr(text, '.');
    char mod[2 * ST_PK_NAME_MAX + 2];
    /* an import's text is always "module.name": dot is never NULL */
    size_t ml = dot ? (size_t)(dot - text) : 0; /* GCOVR_EXCL_BR_LINE */
    memcpy(mod, text, ml);
    mod[ml] = '\0';
    s->elem_size = dot ? st_pk_storage_elem_size(mod, dot + 1) : 0; /* GCOVR_EXCL_BR_LINE */
    s->offset = UINT64_MAX; /* not yet used by a BINPERSID */
    return (uint32_t)++res->n_storages;
}

/* ---- values joblib and numpy read (records in pickle_values.c) ---------------------------- */

/* Which wrapper or dtype class an import is (joblib/numpy_pickle.py re-exports the old ones). */
static int class_of(const walker *w, uint32_t idx)
{
    static const struct {
        const char *text;
        int cls;
    } classes[] = {
        {"numpy.dtype", ST_PKC_DTYPE},
        {"numpy.core.multiarray._reconstruct", ST_PKC_ARRAY},
        {"numpy._core.multiarray._reconstruct", ST_PKC_ARRAY},
        {"joblib.numpy_pickle.NumpyArrayWrapper", ST_PKC_NUMPY_WRAPPER},
        {"joblib.numpy_pickle.NDArrayWrapper", ST_PKC_ND_WRAPPER},
        {"joblib.numpy_pickle_compat.NDArrayWrapper", ST_PKC_ND_WRAPPER},
        {"joblib.numpy_pickle.ZNDArrayWrapper", ST_PKC_ZND_WRAPPER},
        {"joblib.numpy_pickle_compat.ZNDArrayWrapper", ST_PKC_ZND_WRAPPER},
    };
    if (idx == NO_IDX)
        return ST_PKC_NONE;
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
        if (strcmp(w->imps[idx].text, classes[i].text) == 0)
            return classes[i].cls;
    return ST_PKC_NONE;
}

/* Callables that make an instance of the class given as their first argument, without running
 * its __init__ (copyreg.py: protocols 0-1 reduce through _reconstructor). */
static int makes_instance(const walker *w, uint32_t idx)
{
    if (idx == NO_IDX)
        return 0;
    const char *t = w->imps[idx].text;
    return strcmp(t, "copyreg._reconstructor") == 0 || strcmp(t, "copyreg.__newobj__") == 0 ||
           strcmp(t, "copyreg.__newobj_ex__") == 0;
}

/* The value as the records see it. With want_text, a string's text is read into text
 * (ST_PK_TEXT_MAX + 1 bytes; a string that does not resolve is TEXT); without, a string is
 * STR with its length only. */
static st_pkl to_pkl(walker *w, const pv *v, char *text, int want_text)
{
    st_pkl p = {ST_PKL_UNKNOWN, 0, 0, 2, 0, 0};
    switch (v->kind) {
    case V_NONE:
        return (st_pkl){ST_PKL_NONE, 0, 0, 0, 0, 0};
    case V_BOOL:
        return (st_pkl){ST_PKL_BOOL, 0, 0, (uint8_t)(v->aux != 0), 0, v->aux != 0};
    case V_INT:
        if (v->aux == 1)
            return (st_pkl){ST_PKL_INT, 0, 0, (uint8_t)(v->off != 0), 0, v->off};
        p.kind = ST_PKL_NUMBER;
        return p;
    case V_FLOAT:
        p.kind = ST_PKL_NUMBER;
        return p;
    case V_STR:
        if (v->aux <= ST_PK_TEXT_MAX && !want_text)
            return (st_pkl){ST_PKL_STR, 0, 0, (uint8_t)(v->aux != 0), 0, v->aux};
        if (v->aux <= ST_PK_TEXT_MAX && value_text(w, v, text) == 0)
            return (st_pkl){ST_PKL_STR, 0, 0, (uint8_t)(text[0] != 0), 0, strlen(text)};
        return (st_pkl){ST_PKL_TEXT, 0, 0, (uint8_t)(v->aux != 0), 0, v->aux};
    case V_BYTES:
        return (st_pkl){ST_PKL_TEXT, 0, 0, (uint8_t)(v->aux != 0), 0, v->aux};
    case V_GLOBAL:
        return (st_pkl){ST_PKL_GLOBAL, (uint8_t)class_of(w, v->aux), 0, 1, 0, v->aux};
    case V_DICT:
        return (st_pkl){ST_PKL_DICT, 0, 0, 2, 0, v->off};
    case V_TUPLE:
        if (v->aux == 0 && (v->off & OFF_SHAPE)) {
            st_pkl shape = {ST_PKL_SHAPE, 0, 0, 0, 0, v->off & LOW(44)};
            shape.overflow = (v->off & OFF_OVF) != 0;
            shape.truthy = (v->off & OFF_FULL) != 0;
            return shape;
        }
        /* fall through */
    case V_CALL:
        if (v->off & OFF_REC)
            return (st_pkl){ST_PKL_REC, 0, 0, 2, REC_ID(v), 0};
        if (v->kind == V_CALL)
            return p;
        /* fall through */
    case V_LIST:
    case V_SET:
    case V_FROZENSET:
        p.kind = ST_PKL_CONTAINER;
        return p;
    default:
        return p;
    }
}

/* What st_pkvals_tuple may keep, judged on the walker's kinds alone (most tuples are none of
 * these, and converting them would cost every pickle): a tuple holding a class, a record or
 * (as a BUILD pair) a dict; numpy.dtype's arguments; a dtype state. */
static int tuple_may_matter(const pv *e, size_t n)
{
    int args = n <= 3 && e[0].kind == V_STR && e[0].aux <= 32;
    for (size_t i = 0; i < n; i++) {
        if (e[i].kind == V_GLOBAL || (e[i].kind == V_DICT && n == 2) ||
            ((e[i].kind == V_CALL || e[i].kind == V_TUPLE) && (e[i].off & OFF_REC)))
            return 1;
        if (i > 0 && e[i].kind != V_BOOL && e[i].kind != V_INT)
            args = 0;
    }
    if (args || n < 5)
        return args;
    int ver = e[0].kind == V_BOOL || (e[0].kind == V_INT && e[0].aux == 1 && e[0].off <= 4);
    int endian = (e[1].kind == V_STR || e[1].kind == V_BYTES) && e[1].aux == 1;
    return (ver && endian) || (n == 5 && e[0].kind == V_STR && e[0].aux == 1);
}

/* The value of a new tuple of items e[0..n): an int tuple's product, or a record. */
static pv tuple_value(walker *w, const pv *e, size_t n)
{
    st_pkl items[9];
    char text[9][ST_PK_TEXT_MAX + 1];
    const char *texts[9];
    pv v = {V_TUPLE, 0, 0, 0};
    size_t i = 0;
    uint64_t prod = 1;
    for (; i < n; i++) /* the common case first: no text is read */
        if (e[i].kind != V_INT || e[i].aux != 1 || st_mul_u64(prod, e[i].off, &prod) ||
            prod > LOW(44))
            break;
    if (i == n) {
        v.off = OFF_SHAPE | (n ? OFF_FULL : 0) | prod;
        return v;
    }
    if (n > 9 || !tuple_may_matter(e, n))
        return v;
    /* Kinds first; texts only where a record may keep them: a tuple holding a class, a record
     * or a dict (filenames), or numpy.dtype's type string. */
    int holds = 0, dtype_args = n <= 3;
    for (i = 0; i < n; i++) {
        items[i] = to_pkl(w, &e[i], text[i], 0);
        texts[i] = NULL;
        holds |= items[i].kind == ST_PKL_GLOBAL || items[i].kind == ST_PKL_REC ||
                 items[i].kind == ST_PKL_DICT;
        if (i > 0 && items[i].kind != ST_PKL_BOOL && items[i].kind != ST_PKL_INT)
            dtype_args = 0;
    }
    dtype_args &= items[0].kind == ST_PKL_STR && items[0].i <= 32;
    for (i = 0; i < n; i++)
        if (items[i].kind == ST_PKL_STR && (holds || (dtype_args && i == 0))) {
            items[i] = to_pkl(w, &e[i], text[i], 1);
            texts[i] = items[i].kind == ST_PKL_STR ? text[i] : NULL;
        }
    st_pkl t = st_pkvals_tuple(w->vals, items, texts, n);
    if (t.kind == ST_PKL_REC)
        v.off = OFF_REC | t.rec;
    /* GCOVR_EXCL_START: a tuple of exact ints is handled above (beyond 44 bits,
     * tuple_may_matter refuses it), so st_pkvals_tuple never returns a shape here */
    else if (t.kind == ST_PKL_SHAPE) /* ints beyond 44 bits */
        v.off = OFF_SHAPE | OFF_OVF | (n ? OFF_FULL : 0);
    /* GCOVR_EXCL_STOP */
    return v;
}

/* A call of a dtype or wrapper class (or of copyreg with one as its argument) makes a record
 * that res refers to; anything else makes none. */
static void track_call(walker *w, const pv *callable, char how, const pv *args, pv *res)
{
    char text[ST_PK_TEXT_MAX + 1];
    res->off = 0;
    if (callable->kind != V_GLOBAL || res->kind != V_CALL)
        return;
    int cls = class_of(w, callable->aux);
    if (cls == ST_PKC_NONE && !makes_instance(w, callable->aux))
        return;
    if (cls == ST_PKC_NONE)
        how = 'C';
    st_pkl a = to_pkl(w, args, text, 1);
    uint32_t id = st_pkvals_call(w->vals, cls, how, &a);
    if (id != 0)
        res->off = OFF_REC | id;
}

/* A tuple holding data classes: those at positions 0 and 1 are remembered (a reconstructor may
 * take them, see call_args); anywhere else they are arguments of nothing numpy writes. Returns
 * RARGS | the rargs entry, or 0. */
static uint32_t mark_rargs(walker *w, const pv *e, size_t n)
{
    rargs ra = {{NO_IDX, NO_IDX}, n};
    for (size_t i = 0; i < n; i++) {
        if (e[i].kind != V_GLOBAL || e[i].aux == NO_IDX || !w->imps[e[i].aux].data_class)
            continue;
        if (i < 2)
            ra.cls[i] = e[i].aux;
        else
            data_class_misused(w, e[i].aux, "a tuple", "holds (not as a reconstructor's class)");
    }
    if (ra.cls[0] == NO_IDX && ra.cls[1] == NO_IDX)
        return 0;
    for (size_t k = 0; k < w->n_rargs; k++)
        if (memcmp(&w->rargs[k].cls, &ra.cls, sizeof(ra.cls)) == 0 && w->rargs[k].n == n)
            return RARGS | (uint32_t)k;
    if (w->n_rargs == RARGS_MAX) { /* more shapes than numpy writes: not data */
        for (int i = 0; i < 2; i++)
            if (ra.cls[i] != NO_IDX)
                data_class_misused(w, ra.cls[i], "a tuple", "holds (in too many shapes)");
        return 0;
    }
    w->rargs[w->n_rargs] = ra;
    return RARGS | (uint32_t)w->n_rargs++;
}

static int op_tuple(walker *w, size_t n_fixed)
{
    size_t base;
    if (n_fixed == SIZE_MAX) {
        if (pop_mark(w, &base) != 0)
            return -1;
    } else {
        if (w->sp - mark_base(w) < n_fixed)
            return malformed(w, "stack underflow");
        base = w->sp - n_fixed;
    }
    uint32_t st = storage_tuple(w, base);
    if (w->fault)
        return -1;
    if (st == 0 && w->n_data_classes > 0)
        st = mark_rargs(w, w->stack + base, w->sp - base);
    pv v = tuple_value(w, w->stack + base, w->sp - base);
    w->sp = base;
    return push(w, V_TUPLE, 0, st, v.off);
}

/* A persistent id where no loader gives the unpickler a persistent_load (raw pickles, joblib,
 * numpy object arrays, the first pickle torch.load reads): Unpickler.persistent_load raises
 * UnpicklingError (Lib/pickle.py, _pickle.c), so the load ends here and nothing after it
 * runs. An error, and the end of the walk. */
static int no_persistent_load(walker *w, const char *opname)
{
    FINDING(w, ST_R_PK_PERSID,
            "%s at offset %llu in a pickle that no loader gives a persistent_load "
            "(the load fails here)",
            opname, (unsigned long long)w->op_off);
    w->res->malformed = 1;
    w->fault = 1;
    return -1;
}

static int op_binpersid(walker *w)
{
    pv pid;
    if (pop(w, &pid) != 0)
        return -1;
    if (w->job->torch_rules && pid.kind == V_TUPLE && pid.aux > 0 && !(pid.aux & RARGS)) {
        w->res->storages[pid.aux - 1].offset = w->op_off;
        return push(w, V_PID, 0, pid.aux, w->op_off);
    }
    if (w->job->keyed_persid) /* legacy tar: persistent ids are keys of loaded objects */
        return push(w, V_PID, 0, 0, w->op_off);
    if (!w->job->torch_rules)
        return no_persistent_load(w, "BINPERSID");
    FINDING(w, ST_R_PK_PERSID,
            "BINPERSID at offset %llu: persistent id is not a "
            "('storage', type, key, location, numel) tuple",
            (unsigned long long)w->op_off);
    return push(w, V_PID, 0, 0, w->op_off);
}

/* ---- arguments ------------------------------------------------------------------------- */

static int read_le(walker *w, size_t n, uint64_t *v)
{
    const unsigned char *p = take(w, n);
    if (p == NULL)
        return -1;
    *v = 0;
    for (size_t i = n; i-- > 0;)
        *v = (*v << 8) | p[i];
    return 0;
}

/* A counted string or bytes argument: a length of n_len bytes, then the content. */
static int op_counted(walker *w, size_t n_len, int is_signed, uint8_t kind, uint8_t op)
{
    uint64_t len;
    if (read_le(w, n_len, &len) != 0)
        return -1;
    if (is_signed && n_len == 4 && (len & 0x80000000u))
        return malformed(w, "negative byte count");
    if (n_len == 8 && len > (uint64_t)INT64_MAX)
        return malformed(w, "byte count exceeds the system's maximum size");
    uint64_t off = w->pos;
    if (skip(w, len) != 0)
        return -1;
    uint32_t aux = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len; /* GCOVR_EXCL_BR_LINE: 4 GiB */
    return push(w, kind, op, aux, off);
}

static int op_int_line(walker *w, uint8_t op)
{
    uint64_t off, len;
    unsigned char d[24];
    if (line(w, &off, &len) != 0)
        return -1;
    if (op == 'F')
        return len == 0 ? malformed(w, "empty FLOAT") : push(w, V_FLOAT, op, 0, off);
    size_t n = len < sizeof(d) ? (size_t)len : 0; /* longer: a big number, value unknown */
    if (n > 0 && read_src(w, off, d, n) != 0)
        return -1;
    if (op == 'L' && n > 0 && d[n - 1] == 'L')
        n--;
    /* int(b"", 0) raises (load_int, load_long); _pickle.c's "bad readline" too: every loader
     * stops here */
    if (len == 0 || (op == 'L' && len == 1 && n == 0))
        return malformed(w, "empty integer argument");
    if (op == 'I' && n == 2 && d[0] == '0' && (d[1] == '0' || d[1] == '1'))
        return push(w, V_BOOL, op, d[1] - '0', 0);
    uint64_t v = 0;
    int exact = n > 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i] < '0' || d[i] > '9') {
            /* a sign, or a form int() reads that picklers do not write */
            if (!(i == 0 && d[i] == '-' && n > 1)) /* int(s, 0) and strtol may take it */
                return refused(w, ST_R_PK_MALFORMED, "integer argument stcheck does not read");
            exact = 0;
            continue;
        }
        if (st_mul_u64(v, 10, &v) || st_add_u64(v, d[i] - '0', &v))
            exact = 0;
    }
    return push(w, V_INT, op, (uint32_t)exact, v);
}

static int op_binint(walker *w, size_t n, int is_signed)
{
    uint64_t v;
    if (read_le(w, n, &v) != 0)
        return -1;
    int neg = is_signed && (v & 0x80000000u);
    return push(w, V_INT, 0, neg ? 0 : 1, v);
}

static int op_long_n(walker *w, size_t n_len)
{
    uint64_t len;
    if (read_le(w, n_len, &len) != 0)
        return -1;
    if (n_len == 4 && (len & 0x80000000u))
        return malformed(w, "LONG4 with a negative byte count");
    uint64_t v = 0;
    int exact = len <= 8;
    if (exact && len > 0) {
        const unsigned char *p = take(w, (size_t)len);
        if (p == NULL)
            return -1;
        for (size_t i = (size_t)len; i-- > 0;)
            v = (v << 8) | p[i];
        exact = !(p[len - 1] & 0x80); /* two's complement: negative */
    } else if (skip(w, len) != 0) {
        return -1;
    }
    return push(w, V_INT, 0, (uint32_t)exact, v);
}

static int op_frame(walker *w)
{
    uint64_t size, end;
    /* in_frame with pos at frame_end cannot be: taking the FRAME opcode there ended the frame */
    if (w->in_frame && w->pos < w->frame_end) { /* GCOVR_EXCL_BR_LINE */
        /* _pickle.c load_frame does not check; pickle.py raises */
        return refused(w, ST_R_PK_FRAME, "FRAME begins before the previous frame ends");
    }
    w->in_frame = 0;
    if (read_le(w, 8, &size) != 0)
        return -1;
    if (size > (uint64_t)INT64_MAX)
        return malformed(w, "frame size exceeds the system's maximum size");
    if (st_add_u64(w->pos, size, &end) || /* GCOVR_EXCL_BR_LINE: size <= INT64_MAX, pos < 2^63 */
        end > w->job->end)
        return malformed(w, "frame longer than the bytes present");
    w->in_frame = size > 0;
    w->frame_end = end;
    return 0;
}

static int op_ext(walker *w, size_t n)
{
    uint64_t code;
    if (read_le(w, n, &code) != 0)
        return -1;
    if (code == 0 || (n == 4 && (code & 0x80000000u)))
        return malformed(w, "EXT code <= 0");
    FINDING(w, ST_R_PK_EXT,
            "EXT%zu at offset %llu imports extension code %llu through copyreg's registry: "
            "the global depends on the loading process and cannot be judged",
            n, (unsigned long long)w->op_off, (unsigned long long)code);
    return push(w, V_GLOBAL, 0, NO_IDX, w->op_off);
}

static int op_proto(walker *w)
{
    uint64_t p;
    if (read_le(w, 1, &p) != 0)
        return -1;
    if (p > 5)
        return malformed(w, "unsupported pickle protocol");
    w->proto = (unsigned)p;
    return 0;
}

static int op_stop(walker *w)
{
    pv v;
    if (pop(w, &v) != 0)
        return -1;
    if (w->sp > 0 || w->nmarks > 0)
        FINDING(w, ST_R_PK_LEFTOVER,
                "STOP at offset %llu leaves %zu value%s and %zu mark%s on "
                "the stack",
                (unsigned long long)w->op_off, w->sp, w->sp == 1 ? "" : "s", w->nmarks,
                w->nmarks == 1 ? "" : "s");
    w->stop = 1;
    return 0;
}

static int op_pop(walker *w)
{
    if (w->sp > mark_base(w)) {
        w->sp--;
        return 0;
    }
    size_t base;
    return pop_mark(w, &base); /* pickle.py: POP on an empty stack pops a mark */
}

static int op_memo_arg(walker *w, size_t n, int put)
{
    uint64_t idx;
    if (read_le(w, n, &idx) != 0)
        return -1;
    return put ? memo_put(w, idx) : memo_get(w, idx);
}

static int op_memo_line(walker *w, int put)
{
    uint64_t idx;
    if (decimal_line(w, &idx) != 0)
        return -1;
    return put ? memo_put(w, idx) : memo_get(w, idx);
}

static int op_collection(walker *w, uint8_t kind)
{
    size_t base;
    if (pop_mark(w, &base) != 0)
        return -1;
    if (kind == V_DICT && (w->sp - base) % 2 != 0)
        return malformed(w, "DICT with an odd number of items");
    pv c = {kind, 0, 0, kind == V_DICT ? w->op_off + 1 : 0}; /* a dict's identity: OFF_REC */
    if (kind == V_DICT)
        capture_state(w, &c, w->stack + base, w->sp - base);
    w->sp = base;
    return push_v(w, &c);
}

static int op_dup(walker *w)
{
    pv *t = top(w);
    if (t == NULL)
        return -1;
    pv v = *t;
    return push_v(w, &v);
}

static int op_buffer(walker *w, int next)
{
    FINDING(w, ST_R_PK_BUFFER, "%s at offset %llu refers to an out-of-band buffer",
            next ? "NEXT_BUFFER" : "READONLY_BUFFER", (unsigned long long)w->op_off);
    if (next)
        return push(w, V_OBJ, 0, 0, w->op_off);
    return top(w) ? 0 : -1;
}

static int op_global(walker *w)
{
    uint32_t idx = line_global(w, "GLOBAL");
    if (w->fault)
        return -1;
    return push(w, V_GLOBAL, 0, idx, w->op_off);
}

/* ---- dispatch -------------------------------------------------------------------------- */

static int step_op(walker *w, unsigned char op)
{
    switch (op) {
    case '(':
        return push_mark(w);
    case '.':
        return op_stop(w);
    case '0':
        return op_pop(w);
    case '1': {
        size_t b;
        if (pop_mark(w, &b) != 0)
            return -1;
        w->sp = b;
        return 0;
    }
    case '2':
        return op_dup(w);
    case 'F':
    case 'I':
    case 'L':
        return op_int_line(w, op);
    case 'N':
        return push(w, V_NONE, 0, 0, 0);
    case 'P': {
        uint64_t o, l;
        if (line(w, &o, &l) != 0)
            return -1;
        if (w->job->keyed_persid)
            return push(w, V_PID, 0, 0, w->op_off);
        if (!w->job->torch_rules)
            return no_persistent_load(w, "PERSID");
        FINDING(w, ST_R_PK_PERSID, "PERSID at offset %llu: a text persistent id",
                (unsigned long long)w->op_off);
        return push(w, V_PID, 0, 0, w->op_off);
    }
    case 'R':
        return op_reduce(w, "REDUCE", 1);
    case 'S':
    case 'V': {
        uint64_t o, l;
        if (line(w, &o, &l) != 0)
            return -1;
        uint32_t aux = l > UINT32_MAX ? UINT32_MAX : (uint32_t)l; /* GCOVR_EXCL_BR_LINE: 4 GiB */
        return push(w, V_STR, op, aux, o);
    }
    case 'a':
        return op_mutate(w, "APPEND", V_LIST, 1, 0);
    case 'b':
        return op_build(w);
    case 'c':
        return op_global(w);
    case 'd':
        return op_collection(w, V_DICT);
    case 'g':
        return op_memo_line(w, 0);
    case 'i':
        return op_obj(w, 1);
    case 'l':
        return op_collection(w, V_LIST);
    case 'o':
        return op_obj(w, 0);
    case 'p':
        return op_memo_line(w, 1);
    case 's':
        return op_mutate(w, "SETITEM", V_DICT, 2, 0);
    case 't':
        return op_tuple(w, SIZE_MAX);
    case 'G':
        return skip(w, 8) ? -1 : push(w, V_FLOAT, op, 0, 0);
    case 'J':
        return op_binint(w, 4, 1);
    case 'K':
        return op_binint(w, 1, 0);
    case 'M':
        return op_binint(w, 2, 0);
    case 'Q':
        return op_binpersid(w);
    case 'T':
        return op_counted(w, 4, 1, V_STR, op);
    case 'U':
        return op_counted(w, 1, 0, V_STR, op);
    case 'X':
        return op_counted(w, 4, 0, V_STR, op);
    case 'e':
        return op_mutate(w, "APPENDS", V_LIST, 0, 1);
    case 'h':
        return op_memo_arg(w, 1, 0);
    case 'j':
        return op_memo_arg(w, 4, 0);
    case ']':
        return push(w, V_LIST, 0, 0, w->op_off);
    case ')':
        return op_tuple(w, 0);
    case '}':
        return push(w, V_DICT, 0, 0, w->op_off + 1); /* its identity (see OFF_REC) */
    case 'u':
        return op_mutate(w, "SETITEMS", V_DICT, 0, 1);
    case 'q':
        return op_memo_arg(w, 1, 1);
    case 'r':
        return op_memo_arg(w, 4, 1);
    case 'B':
        return op_counted(w, 4, 0, V_BYTES, op);
    case 'C':
        return op_counted(w, 1, 0, V_BYTES, op);
    case 0x80:
        return op_proto(w);
    case 0x81:
        return op_newobj(w, "NEWOBJ", 1);
    case 0x82:
        return op_ext(w, 1);
    case 0x83:
        return op_ext(w, 2);
    case 0x84:
        return op_ext(w, 4);
    case 0x85:
        return op_tuple(w, 1);
    case 0x86:
        return op_tuple(w, 2);
    case 0x87:
        return op_tuple(w, 3);
    case 0x88:
        return push(w, V_BOOL, 0, 1, 0);
    case 0x89:
        return push(w, V_BOOL, 0, 0, 0);
    case 0x8a:
        return op_long_n(w, 1);
    case 0x8b:
        return op_long_n(w, 4);
    case 0x8c:
        return op_counted(w, 1, 0, V_STR, op);
    case 0x8d:
        return op_counted(w, 8, 0, V_STR, op);
    case 0x8e:
        return op_counted(w, 8, 0, V_BYTES, op);
    case 0x8f:
        return push(w, V_SET, 0, 0, w->op_off);
    case 0x90:
        return op_mutate(w, "ADDITEMS", V_SET, 0, 1);
    case 0x91:
        return op_collection(w, V_FROZENSET);
    case 0x92:
        return op_newobj(w, "NEWOBJ_EX", 2);
    case 0x93:
        return op_stack_global(w);
    case 0x94:
        return memo_put(w, w->memo_count);
    case 0x95:
        return op_frame(w);
    case 0x96:
        return op_counted(w, 8, 0, V_BYTES, op);
    case 0x97:
        return op_buffer(w, 1);
    case 0x98:
        return op_buffer(w, 0);
    default:
        FINDING(w, integrity(w, ST_R_PK_UNKNOWN_OPCODE),
                "byte 0x%02x at offset %llu is not a pickle opcode%s", op,
                (unsigned long long)w->op_off, w->in_tail ? " (after a complete pickle)" : "");
        w->res->malformed |= !w->in_tail;
        w->fault = 1;
        return -1;
    }
}

/* Walks one pickle, up to and including its STOP. */
static void walk_one(walker *w)
{
    w->stop = 0;
    while (!w->stop && !w->fault) {
        if (++w->opcodes > w->ctx->limits[ST_LIMIT_PICKLE_OPCODES]) {
            limit(w, "opcode count", w->ctx->limits[ST_LIMIT_PICKLE_OPCODES]);
            return;
        }
        w->op_off = w->pos;
        const unsigned char *p = take(w, 1);
        if (p == NULL)
            return;
        step_op(w, *p);
    }
}

static void reset_machine(walker *w)
{
    w->sp = 0;
    w->nmarks = 0;
    memo_free(w);
    w->proto = 0;
    w->in_frame = 0;
}

/* Storage references that no BINPERSID used are dropped. */
static void keep_used_storages(st_pk_result *res)
{
    size_t k = 0;
    for (size_t i = 0; i < res->n_storages; i++)
        if (res->storages[i].offset != UINT64_MAX)
            res->storages[k++] = res->storages[i];
    res->n_storages = k;
}

static void trailing(walker *w)
{
    FINDING(w, ST_R_PK_TRAILING, "%llu bytes follow the STOP that ends at offset %llu",
            (unsigned long long)(w->job->end - w->pos), (unsigned long long)w->pos);
}

st_error st_pickle_walk(const st_pk_job *job, st_pk_result *res)
{
    walker w;
    memset(&w, 0, sizeof(w));
    memset(res, 0, sizeof(*res));
    w.job = job;
    w.r = job->in->report;
    w.ctx = job->in->ctx;
    w.res = res;
    w.pos = job->start;
    /* The window never needs to exceed the stream (small members, fuzz inputs). */
    w.win = job->end - job->start < WIN ? (size_t)(job->end - job->start) : WIN;
    if (w.win < 16)
        w.win = 16;
    w.buf = malloc(w.win);
    /* The stack exists from the start, so no path ever offsets a NULL pointer. */
    w.stack_cap = 256;
    w.stack = malloc(w.stack_cap * sizeof(*w.stack));
    w.vals = st_pkvals_new(REC_MAX);
    if (w.buf == NULL || w.stack == NULL || w.vals == NULL) {
        free(w.buf);
        free(w.stack);
        st_pkvals_free(w.vals);
        nomem(&w);
        return ST_E_NOMEM;
    }
    int reported_trailing = 0;
    for (;;) {
        walk_one(&w);
        if (w.fault)
            break;
        res->pickles++;
        res->stop_end = w.pos;
        if (job->single || w.pos >= job->end)
            break;
        unsigned char peek[256];
        size_t n = job->end - w.pos < sizeof(peek) ? (size_t)(job->end - w.pos) : sizeof(peek);
        if (!reported_trailing) {
            w.op_off = w.pos;
            trailing(&w);
            reported_trailing = 1;
        }
        /* Bytes after STOP that a load can begin with are analysed: some loaders read on.
         * Only the first opcode decides (a 300-byte INT line or 31 opcodes before the
         * window ends must not hide what follows); a walk that then faults where every loader
         * stops is a warning (ST215). */
        if (read_src(&w, w.pos, peek, n) != 0 || !may_begin(peek, n))
            break;
        /* PERSID first where no loader gives a persistent_load: the load fails at once,
         * nothing runs (a zip's "PK" after a pickle is not a pickle) */
        if (peek[0] == 'P' && !job->torch_rules && !job->keyed_persid)
            break;
        reset_machine(&w);
        w.in_tail = 1;
    }
    if (w.err == ST_OK && st_pkvals_out_of_memory(w.vals))
        nomem(&w); /* a value record could not be made: decisions after it were "unknown" */
    if (w.err == ST_OK)
        finish_imports(&w);
    keep_used_storages(res);
    st_pkvals_free(w.vals);
    /* Bytes joblib reads as array data are opcodes to pickle.load, and a padding byte is data
     * to joblib < 1.2: the imports those readers would judge are judged too (joblib.c). */
    if (job->plain == 0 && job->profile == ST_PK_PROFILE_DATA && w.jl_raw_at)
        st_joblib_other_views(job, w.jl_raw_at, w.jl_pad_at);
    free(w.buf);
    free(w.stack);
    free(w.marks);
    memo_free(&w);
    for (size_t i = 0; i < w.n_imps; i++)
        free(w.imps[i].text);
    free(w.imps);
    free(w.sorted);
    return w.err;
}

void st_pk_result_free(st_pk_result *res)
{
    free(res->storages);
    res->storages = NULL;
    res->n_storages = 0;
}

/* ---- identification -------------------------------------------------------------------- */

/* Length of the opcode at p (with its argument), 0 when the window ends first, -1 when p does
 * not hold an opcode. Used only to recognise pickles, never to judge them. */
static long op_len(const unsigned char *p, size_t n)
{
    static const char fixed0[] = "(.012NRabdelostu])}\x81\x85\x86\x87\x88\x89\x8f\x90\x91"
                                 "\x92\x93\x94\x97\x98Q";
    const unsigned char *nl;
    size_t need;
    if (memchr(fixed0, p[0], sizeof(fixed0) - 1) != NULL)
        return 1;
    switch (p[0]) {
    case 'F':
    case 'I':
    case 'L':
    case 'P':
    case 'S':
    case 'V':
    case 'g':
    case 'p':
        nl = memchr(p + 1, '\n', n - 1);
        return nl ? (long)(nl - p) + 1 : 0;
    case 'c':
    case 'i':
        nl = memchr(p + 1, '\n', n - 1);
        if (nl == NULL)
            return 0;
        nl = memchr(nl + 1, '\n', n - (size_t)(nl + 1 - p));
        return nl ? (long)(nl - p) + 1 : 0;
    case 'K':
    case 'U':
    case 'C':
    case 'h':
    case 'q':
    case 0x80:
    case 0x82:
    case 0x8a:
    case 0x8c:
        need = 2;
        break;
    case 'M':
    case 0x83:
        need = 3;
        break;
    case 'J':
    case 'T':
    case 'X':
    case 'B':
    case 'j':
    case 'r':
    case 0x84:
    case 0x8b:
        need = 5;
        break;
    case 'G':
    case 0x8d:
    case 0x8e:
    case 0x95:
    case 0x96:
        need = 9;
        break;
    default:
        return -1;
    }
    if (n < need)
        return 0;
    uint64_t len = 0;
    if (p[0] == 'U' || p[0] == 'C' || p[0] == 0x8a || p[0] == 0x8c)
        len = p[1];
    else if (p[0] == 'T' || p[0] == 'X' || p[0] == 'B' || p[0] == 0x8b)
        len = st_le64((const unsigned char[8]){p[1], p[2], p[3], p[4], 0, 0, 0, 0});
    else if (p[0] == 0x8d || p[0] == 0x8e || p[0] == 0x96)
        len = st_le64(p + 1);
    if (len > n - need)
        return 0; /* a long argument beyond the window: plausible, stop here */
    return (long)(need + len);
}

/* Opcodes a load of protocol 0/1 can begin with: a value, a container, MARK, an import, PERSID,
 * EXT, FRAME (a stream whose first opcode can only fail executes nothing). */
static const char pk_starts[] = "(]})cNIJKLMFGSTUVXBCP\x82\x83\x84\x88\x89\x8a\x8b\x8c"
                                "\x8d\x8e\x8f\x95\x96\x97";

static int may_begin(const unsigned char *p, size_t n)
{
    return (n >= 2 && p[0] == 0x80) ||
           (n > 0 && memchr(pk_starts, p[0], sizeof(pk_starts) - 1) != NULL);
}

int st_pk_looks_like_pickle(const unsigned char *p, size_t n)
{
    /* PROTO and a protocol number: 0-5 today, 6-15 a future protocol the walker reports */
    if (n >= 2 && p[0] == 0x80 && p[1] <= 15)
        return 1;
    /* Protocols 0/1 have no header: the first opcode must be one a load can begin with (a
     * value, a container, MARK, an import, PERSID, EXT, FRAME; a stream whose first opcode
     * can only fail executes nothing), then opcode lengths must decode through the window up
     * to STOP, or stay valid for 32 opcodes. */
    if (n == 0 || memchr(pk_starts, p[0], sizeof(pk_starts) - 1) == NULL)
        return 0;
    size_t i = 0;
    unsigned ops = 0;
    while (i < n) {
        long l = op_len(p + i, n - i);
        if (l < 0)
            return 0;
        if (l == 0)
            return ops >= 32;
        if (p[i] == '.')
            return ops >= 1;
        i += (size_t)l;
        ops++;
    }
    return ops >= 32;
}
