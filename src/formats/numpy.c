/*
 * numpy.c - NumPy .npy files (format versions 1.0, 2.0 and 3.0, numpy/lib/format.py), alone
 * or as members of .npz zips.
 *
 * Layout: "\x93NUMPY", major, minor, header length (2 bytes LE in 1.0, 4 in 2.0/3.0), then a
 * Python dict literal (latin-1, UTF-8 in 3.0) ending in '\n', then the data. numpy reads the
 * dict with ast.literal_eval; stcheck parses the subset numpy writes, strictly: exactly the keys
 * descr, fortran_order and shape, once each; shape a tuple of non-negative integers; descr a
 * type string or a list of (name, type string[, shape]) fields. String escapes, nested
 * structured dtypes and anything else literal_eval would also take are refused. An object dtype
 * ('O', or a field of it) means the data is a pickle: it is walked with the data profile.
 */
#include <string.h>

#include "../core/checked.h"
#include "../core/escape.h"
#include "pickle.h"

#define NPY_MAGIC "\x93NUMPY"

typedef struct {
    const unsigned char *p;
    size_t n, i;
} lex;

typedef struct {
    int have_descr, have_order, have_shape;
    uint64_t itemsize; /* bytes per element (structured: the sum of the fields) */
    int object;        /* an object dtype or field: the data is a pickle */
    int nested;        /* a dtype stcheck does not read */
    uint64_t count;    /* product of the shape */
    int overflow;
} npy_header;

int st_npy_sniff_bytes(const unsigned char *p, size_t n)
{
    return n >= 6 && memcmp(p, NPY_MAGIC, 6) == 0;
}

int st_numpy_sniff(const st_input *in)
{
    return st_npy_sniff_bytes(in->head, in->head_len) ? 95 : 0;
}

static void ws(lex *l)
{
    while (l->i < l->n && l->p[l->i] == ' ')
        l->i++;
}

static int eat(lex *l, char c)
{
    ws(l);
    if (l->i < l->n && l->p[l->i] == c) {
        l->i++;
        return 1;
    }
    return 0;
}

/* A quoted string without escapes; sets its span. */
static int string(lex *l, const unsigned char **s, size_t *len)
{
    ws(l);
    if (l->i >= l->n || (l->p[l->i] != '\'' && l->p[l->i] != '"'))
        return -1;
    unsigned char q = l->p[l->i++];
    size_t start = l->i;
    while (l->i < l->n && l->p[l->i] != q) {
        if (l->p[l->i] == '\\' || l->p[l->i] < 0x20)
            return -1;
        l->i++;
    }
    if (l->i >= l->n)
        return -1;
    *s = l->p + start;
    *len = l->i++ - start;
    return 0;
}

static int integer(lex *l, uint64_t *v)
{
    ws(l);
    size_t start = l->i;
    *v = 0;
    while (l->i < l->n && l->p[l->i] >= '0' && l->p[l->i] <= '9')
        if (st_mul_u64(*v, 10, v) || st_add_u64(*v, l->p[l->i++] - '0', v))
            return -1;
    if (l->i < l->n && l->p[l->i] == 'L') /* numpy on Python 2 wrote 3L */
        l->i++;
    return l->i > start ? 0 : -1;
}

/* A tuple of integers: (), (3,), (2, 3). Multiplies into *count. */
static int shape_tuple(lex *l, uint64_t *count, int *overflow)
{
    uint64_t v;
    *count = 1;
    if (!eat(l, '('))
        return -1;
    for (int first = 1;; first = 0) {
        if (eat(l, ')'))
            return 0;
        if (!first && !eat(l, ','))
            return -1;
        /* GCOVR_EXCL_BR_START: first is 0 here (the loop's head ate a ')' at once), kept */
        if (eat(l, ')'))
            return first ? -1 : 0; /* "(,)" is not a tuple; "(3,)" is */
        /* GCOVR_EXCL_BR_STOP */
        if (integer(l, &v) != 0)
            return -1;
        if (st_mul_u64(*count, v, count))
            *overflow = 1;
    }
}

/* Item size of a simple type string such as '<f4', '|u1', '<U10', '|O', '<M8[ns]'. */
int st_npy_typestr(const unsigned char *s, size_t len, uint64_t *size, int *object);
int st_npy_typestr(const unsigned char *s, size_t len, uint64_t *size, int *object)
{
    size_t i = 0;
    uint64_t n = 0;
    if (i < len && strchr("<>|=", s[i]))
        i++;
    if (i >= len)
        return -1;
    unsigned char kind = s[i++];
    size_t digits = i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        if (st_mul_u64(n, 10, &n) || st_add_u64(n, s[i++] - '0', &n))
            return -1;
    int has_n = i > digits;
    if ((kind == 'M' || kind == 'm') && i < len && s[i] == '[') { /* datetime unit */
        if (s[len - 1] != ']')
            return -1;
        i = len;
    }
    if (i != len)
        return -1;
    switch (kind) {
    case 'O':
        *object = 1;
        *size = 8;
        return has_n && n != 8 ? -1 : 0;
    case '?':
        *size = 1;
        return has_n && n != 1 ? -1 : 0;
    case 'U':
        return has_n && !st_mul_u64(n, 4, size) ? 0 : -1;
    case 'b':
    case 'i':
    case 'u':
    case 'f':
    case 'c':
    case 'S':
    case 'a':
    case 'V':
    case 'M':
    case 'm':
        *size = n;
        return has_n ? 0 : -1;
    default:
        return -1;
    }
}

/* A structured descr: [('name', '<f4'), ('b', '|O', (2,)), ...]. Nested lists are refused. */
static int fields(lex *l, npy_header *h)
{
    uint64_t total = 0;
    for (int first = 1;; first = 0) {
        if (eat(l, ']'))
            break;
        if (!first && !eat(l, ','))
            return -1;
        if (eat(l, ']'))
            break;
        const unsigned char *s;
        size_t len;
        uint64_t size, count = 1;
        int ovf = 0;
        if (!eat(l, '(') || string(l, &s, &len) != 0 || !eat(l, ','))
            return -1;
        ws(l);
        if (l->i < l->n && l->p[l->i] == '[') {
            h->nested = 1;
            return -1;
        }
        if (string(l, &s, &len) != 0 || st_npy_typestr(s, len, &size, &h->object) != 0)
            return -1;
        if (eat(l, ',') && shape_tuple(l, &count, &ovf) != 0)
            return -1;
        if (!eat(l, ')') || ovf || st_mul_u64(size, count, &size) ||
            st_add_u64(total, size, &total))
            return -1;
    }
    h->itemsize = total;
    return 0;
}

static int descr(lex *l, npy_header *h)
{
    const unsigned char *s;
    size_t len;
    if (eat(l, '['))
        return fields(l, h);
    if (string(l, &s, &len) != 0)
        return -1;
    return st_npy_typestr(s, len, &h->itemsize, &h->object);
}

static int header_value(lex *l, npy_header *h, const unsigned char *key, size_t klen)
{
#define KEY(k) (klen == sizeof(k) - 1 && memcmp(key, k, klen) == 0)
    if (KEY("descr") && !h->have_descr) {
        h->have_descr = 1;
        return descr(l, h);
    }
    if (KEY("fortran_order") && !h->have_order) {
        h->have_order = 1;
        ws(l);
        if (l->n - l->i >= 4 && memcmp(l->p + l->i, "True", 4) == 0)
            return l->i += 4, 0;
        if (l->n - l->i >= 5 && memcmp(l->p + l->i, "False", 5) == 0)
            return l->i += 5, 0;
        return -1;
    }
    if (KEY("shape") && !h->have_shape) {
        h->have_shape = 1;
        return shape_tuple(l, &h->count, &h->overflow);
    }
    return -1; /* unknown or repeated key */
#undef KEY
}

/* Parses the dict literal; the header must end in '\n' after optional spaces. */
static int parse_dict(const unsigned char *p, size_t n, npy_header *h)
{
    lex l = {p, n, 0};
    if (n == 0 || p[n - 1] != '\n' || !eat(&l, '{'))
        return -1;
    l.n = n - 1;
    for (int first = 1;; first = 0) {
        if (eat(&l, '}'))
            break;
        if (!first && !eat(&l, ','))
            return -1;
        if (eat(&l, '}'))
            break;
        const unsigned char *k;
        size_t kl;
        if (string(&l, &k, &kl) != 0 || !eat(&l, ':') || header_value(&l, h, k, kl) != 0)
            return -1;
    }
    ws(&l);
    return l.i == l.n && h->have_descr && h->have_order && h->have_shape ? 0 : -1;
}

/* Reads and parses the header of the .npy in src; sets where the data starts. */
static int read_header(st_input *in, const st_src *src, const char *member, npy_header *h,
                       uint64_t *data_off)
{
    unsigned char pre[12];
    char where[160]; /* member names are hostile: escaped before any message holds them */
    st_escape(member ? member : "file", strlen(member ? member : "file"), where, sizeof(where),
              120);
    if (src->size < 10 || st_src_read(src, 0, pre, 10) != ST_OK || memcmp(pre, NPY_MAGIC, 6) != 0)
        return st_report_add(in->report, ST_R_NPY_HEADER, 0, 0, "%s: not an .npy header", where),
               -1;
    unsigned major = pre[6], minor = pre[7];
    uint64_t hlen, start;
    if (major == 1 && minor == 0) {
        hlen = (uint64_t)pre[8] | (uint64_t)pre[9] << 8;
        start = 10;
    } else if ((major == 2 || major == 3) && minor == 0 && src->size >= 12 &&
               st_src_read(src, 0, pre, 12) == ST_OK) {
        hlen = (uint64_t)pre[8] | (uint64_t)pre[9] << 8 | (uint64_t)pre[10] << 16 |
               (uint64_t)pre[11] << 24;
        start = 12;
    } else {
        st_report_add(in->report, ST_R_NPY_HEADER, 6, 2, "%s: unsupported .npy version %u.%u",
                      where, major, minor);
        return -1;
    }
    /* numpy refuses headers above 10,000 bytes unless told otherwise (max_header_size). */
    if (hlen > 10000 || start + hlen > src->size) {
        st_report_add(in->report, ST_R_NPY_HEADER, 8, start - 8,
                      "%s: header length %llu is past the end or above 10,000", where,
                      (unsigned long long)hlen);
        return -1;
    }
    unsigned char buf[10000];
    if (st_src_read(src, start, buf, (size_t)hlen) != ST_OK)
        return st_report_add(in->report, ST_R_IO, start, hlen, "could not read .npy header"), -1;
    if (parse_dict(buf, (size_t)hlen, h) != 0) {
        st_rule_id rule = h->nested ? ST_R_NPY_DTYPE : ST_R_NPY_HEADER;
        st_report_add(in->report, rule, start, hlen, "%s: %s", where,
                      h->nested ? "nested structured dtype"
                                : "header is not a dict of exactly descr, fortran_order, shape");
        return -1;
    }
    *data_off = start + hlen;
    return 0;
}

st_error st_npy_check_src(st_input *in, const st_src *src, const char *member)
{
    npy_header h;
    uint64_t off, need;
    char where[160];
    st_escape(member ? member : "file", strlen(member ? member : "file"), where, sizeof(where),
              120);
    memset(&h, 0, sizeof(h));
    if (read_header(in, src, member, &h, &off) != 0)
        return h.nested ? ST_E_UNSUPPORTED : ST_OK;
    if (h.object) {
        st_report_add(in->report, ST_R_NPY_OBJECT, off, src->size - off,
                      "%s: object array: its data is a pickle, analysed below", where);
        st_pk_result res;
        st_pk_job job = {.in = in,
                         .src = src,
                         .start = off,
                         .end = src->size,
                         .member = member,
                         .profile = ST_PK_PROFILE_DATA,
                         .plain = 1}; /* format.read_array: pickle.load(fp) */
        st_error err = st_pickle_walk(&job, &res);
        st_pk_result_free(&res);
        return err;
    }
    if (h.overflow || st_mul_u64(h.count, h.itemsize, &need) || need > src->size - off) {
        st_report_add(in->report, ST_R_NPY_SIZE, off, src->size - off,
                      "%s: array needs %s bytes, %llu are present", where,
                      h.overflow ? "more than 2^64" : "more",
                      (unsigned long long)(src->size - off));
        return ST_OK;
    }
    if (need < src->size - off)
        st_report_add(in->report, ST_R_NPY_TRAILING, off + need, src->size - off - need,
                      "%s: %llu bytes follow the array data", where,
                      (unsigned long long)(src->size - off - need));
    return ST_OK;
}

st_error st_numpy_check(st_input *in)
{
    in->report->format = "numpy";
    return st_npy_check_src(in, in->src, NULL);
}
