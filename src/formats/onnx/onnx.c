/*
 * onnx.c - ONNX ModelProto (onnx/onnx.proto) read by the bounded walker of protobuf.c.
 *
 * Every TensorProto wherever the schema lets it hide (graph initializers, sparse initializers,
 * Constant and other node attributes, subgraphs of If/Loop/Scan at any depth, training info,
 * functions) has its external data judged (onnx/external_data_helper.py,
 * onnxruntime tensorprotoutils.cc) and its raw_data size checked against its dims; every node's
 * operator domain is judged against an allowlist. The walk is iterative: an explicit stack of
 * message types over the cursor's stack of message bounds. docs/formats/onnx.md gives sources.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/checked.h"
#include "../format.h"
#include "protobuf.h"

enum { T_MODEL, T_GRAPH, T_NODE, T_ATTR, T_TENSOR, T_SPARSE, T_ENTRY, T_FUNC, T_TRAIN, T_COUNT };

#define BIT(n) (1ull << (n))
/* Singular (optional) fields of each message: a second occurrence is a parser differential. */
static const uint64_t singular[T_COUNT] = {
    [T_MODEL] = BIT(1) | BIT(2) | BIT(3) | BIT(4) | BIT(5) | BIT(6) | BIT(7),
    [T_GRAPH] = BIT(2) | BIT(10),
    [T_NODE] = BIT(3) | BIT(4) | BIT(6) | BIT(7),
    [T_ATTR] = BIT(1) | BIT(2) | BIT(3) | BIT(4) | BIT(5) | BIT(6) | BIT(13) | BIT(14) | BIT(20) |
               BIT(21) | BIT(22),
    [T_TENSOR] = BIT(2) | BIT(3) | BIT(8) | BIT(9) | BIT(12) | BIT(14),
    [T_SPARSE] = BIT(1) | BIT(2),
    [T_ENTRY] = BIT(1) | BIT(2),
    [T_FUNC] = BIT(1) | BIT(8) | BIT(10),
    [T_TRAIN] = BIT(1) | BIT(2),
};

/* The message type of field number of a message of type parent, or -1 (not walked). */
static int child_type(int parent, uint32_t number)
{
    static const struct {
        int parent;
        uint32_t number;
        int child;
    } edges[] = {
        {T_MODEL, 7, T_GRAPH},   {T_MODEL, 20, T_TRAIN},  {T_MODEL, 25, T_FUNC},
        {T_GRAPH, 1, T_NODE},    {T_GRAPH, 5, T_TENSOR},  {T_GRAPH, 15, T_SPARSE},
        {T_NODE, 5, T_ATTR},     {T_ATTR, 5, T_TENSOR},   {T_ATTR, 6, T_GRAPH},
        {T_ATTR, 10, T_TENSOR},  {T_ATTR, 11, T_GRAPH},   {T_ATTR, 22, T_SPARSE},
        {T_ATTR, 23, T_SPARSE},  {T_SPARSE, 1, T_TENSOR}, {T_SPARSE, 2, T_TENSOR},
        {T_TENSOR, 13, T_ENTRY}, {T_TRAIN, 1, T_GRAPH},   {T_TRAIN, 2, T_GRAPH},
        {T_FUNC, 7, T_NODE},     {T_FUNC, 11, T_ATTR},
    };
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
        if (edges[i].parent == parent && edges[i].number == number)
            return edges[i].child;
    return -1;
}

#define LOC_MAX 4096
#define DOMAIN_MAX 256
#define DOMAINS_KEPT 32

typedef struct {
    char name[DOMAIN_MAX + 1];
    uint64_t off;
} domain_seen;

typedef struct {
    st_input *in;
    st_pb_cursor cur;
    unsigned char types[ST_PB_MAX_DEPTH + 1];
    uint64_t seen[ST_PB_MAX_DEPTH + 1];
    /* the tensor being read (tensors never nest in tensors) */
    uint64_t t_off, t_product, raw_len;
    int t_overflow, t_negative, has_raw, location_seen;
    uint64_t data_type, data_location;
    /* the external_data entry being read */
    char key[16];
    unsigned char value[LOC_MAX + 1];
    uint64_t value_len;
    int has_key, has_value;
    /* node domains outside the allowlist, judged at the end against local functions */
    domain_seen custom[DOMAINS_KEPT];
    size_t n_custom;
    domain_seen funcs[DOMAINS_KEPT];
    size_t n_funcs;
} walk;

static const char *const allowed_domains[] = {
    "", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training", "com.microsoft",
};

static int domain_allowed(const char *d)
{
    for (size_t i = 0; i < sizeof(allowed_domains) / sizeof(allowed_domains[0]); i++)
        if (strcmp(d, allowed_domains[i]) == 0)
            return 1;
    return 0;
}

/* Reads a string field into buf (NUL-terminated, at most size-1 bytes kept). */
static st_error read_string(walk *w, const st_pb_field *f, char *buf, size_t size)
{
    size_t n = f->len < size - 1 ? (size_t)f->len : size - 1;
    if (st_pb_bytes(&w->cur, f, (unsigned char *)buf, n) !=
        ST_PB_FIELD) /* GCOVR_EXCL_BR_LINE: a read inside a field already bounded fails only if the
                        file changes */
        return ST_E_IO; /* GCOVR_EXCL_LINE: as above */
    buf[n] = '\0';
    return ST_OK;
}

static void remember(domain_seen *list, size_t *n, const char *name, uint64_t off)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(list[i].name, name) == 0)
            return;
    if (*n < DOMAINS_KEPT) {
        memcpy(list[*n].name, name, strlen(name) + 1);
        list[(*n)++].off = off;
    }
}

static st_error node_domain(walk *w, const st_pb_field *f)
{
    char d[DOMAIN_MAX + 1];
    st_error e = read_string(w, f, d, sizeof(d));
    if (e != ST_OK || domain_allowed(d))
        return e;
    if (f->len > DOMAIN_MAX || w->n_custom == DOMAINS_KEPT) {
        /* too long or too many to remember: judged now, local functions or not */
        st_report_add(w->in->report, ST_R_ONNX_DOMAIN, f->off, f->len,
                      "operator domain '%s' is not a standard ONNX or onnxruntime domain: it "
                      "needs a native custom-operator library",
                      d);
        return ST_OK;
    }
    remember(w->custom, &w->n_custom, d, f->off);
    return ST_OK;
}

static void judge_domains(walk *w)
{
    for (size_t i = 0; i < w->n_custom; i++) {
        int local = 0;
        for (size_t j = 0; j < w->n_funcs; j++)
            local |= strcmp(w->custom[i].name, w->funcs[j].name) == 0;
        if (!local)
            st_report_add(w->in->report, ST_R_ONNX_DOMAIN, w->custom[i].off, 0,
                          "operator domain '%s' is not a standard ONNX or onnxruntime domain "
                          "nor a function of the model: it needs a native custom-operator library",
                          w->custom[i].name);
    }
}

static int has_dotdot(const unsigned char *p, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++)
        if (i == n || p[i] == '/') {
            if (i - start == 2 && p[start] == '.' && p[start + 1] == '.')
                return 1;
            start = i + 1;
        }
    return 0;
}

static int contains(const unsigned char *p, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(p + i, needle, k) == 0)
            return 1;
    return 0;
}

/* external_data location: onnxruntime and onnx join it to the model's folder; it must stay
 * there (CVE-2024-27318, CVE-2024-5187) and must not be onnxruntime's in-memory address tag. */
static void judge_location(walk *w, uint64_t off)
{
    const unsigned char *p = w->value;
    size_t n = (size_t)(w->value_len < LOC_MAX ? w->value_len : LOC_MAX);
    const char *why = NULL;
    if (contains(p, n, "_ORT_MEM_ADDR_")) {
        st_report_add(w->in->report, ST_R_ONNX_ORT_MEM_ADDR, off, w->value_len,
                      "external data location names onnxruntime's in-memory address tag "
                      "(*/_ORT_MEM_ADDR_/*): the offset would be read as a raw pointer");
        return;
    }
    if (w->value_len == 0)
        why = "is empty";
    else if (w->value_len > LOC_MAX)
        why = "is longer than 4096 bytes";
    else if (memchr(p, '\0', n) != NULL)
        why = "holds a NUL byte";
    else if (memchr(p, '\\', n) != NULL)
        why = "holds a backslash";
    else if (p[0] == '/')
        why = "is an absolute path";
    else if (n >= 2 && isalpha(p[0]) && p[1] == ':')
        why = "starts with a drive letter";
    else if (has_dotdot(p, n))
        why = "has a '..' component";
    if (why != NULL)
        st_report_add(w->in->report, ST_R_ONNX_LOCATION, off, w->value_len,
                      "external data location %s: it must be a relative path inside the "
                      "model's folder",
                      why);
}

static void judge_number(walk *w, uint64_t off)
{
    int ok = w->value_len > 0 && w->value_len <= 19;
    for (size_t i = 0; ok && i < w->value_len; i++)
        ok = isdigit(w->value[i]) != 0;
    if (!ok)
        st_report_add(w->in->report, ST_R_ONNX_EXTERNAL_NUMBER, off, w->value_len,
                      "external data %s is not a decimal number below 10^19", w->key);
}

static void entry_done(walk *w, uint64_t off)
{
    if (!w->has_key)
        return;
    if (strcmp(w->key, "location") == 0) {
        if (w->location_seen)
            st_report_add(w->in->report, ST_R_ONNX_DUPLICATE, off, 0,
                          "two external data 'location' entries: readers disagree on which "
                          "one wins");
        w->location_seen = 1;
        judge_location(w, off);
    } else if (strcmp(w->key, "offset") == 0 || strcmp(w->key, "length") == 0) {
        judge_number(w, off);
    }
}

static unsigned element_bits(uint64_t t)
{
    /* TensorProto.DataType: bits per element, 0 for string/undefined/unknown */
    static const unsigned char bits[] = {0,  32, 8,  8,   16, 16, 32, 64, 0, 8, 16, 64,
                                         32, 64, 64, 128, 16, 8,  8,  8,  8, 4, 4};
    return t < sizeof(bits) ? bits[t] : 0;
}

static void tensor_done(walk *w)
{
    st_report *r = w->in->report;
    if (w->data_location > 1)
        st_report_add(r, ST_R_ONNX_DATA_LOCATION, w->t_off, 0,
                      "tensor data_location %llu is neither DEFAULT nor EXTERNAL",
                      (unsigned long long)w->data_location);
    if (w->data_location == 1 && !w->location_seen)
        st_report_add(r, ST_R_ONNX_LOCATION, w->t_off, 0,
                      "external tensor without a 'location' entry");
    if (w->t_negative || w->t_overflow) {
        st_report_add(r, ST_R_ONNX_DIMS, w->t_off, 0,
                      "tensor dims are negative or their product overflows");
        return;
    }
    unsigned bits = element_bits(w->data_type);
    if (!w->has_raw || w->data_location == 1 || bits == 0)
        return;
    uint64_t want;
    if (bits >= 8) {
        if (st_mul_u64(w->t_product, bits / 8, &want)) {
            st_report_add(r, ST_R_ONNX_DIMS, w->t_off, 0, "tensor byte size overflows");
            return;
        }
    } else {
        want = w->t_product / 2 + (w->t_product & 1);
    }
    if (want != w->raw_len)
        st_report_add(r, ST_R_ONNX_RAW_SIZE, w->t_off, 0,
                      "tensor raw_data holds %llu bytes, its dims and type need %llu",
                      (unsigned long long)w->raw_len, (unsigned long long)want);
}

static void add_dim(walk *w, uint64_t v)
{
    if (v > INT64_MAX)
        w->t_negative = 1;
    else if (st_mul_u64(w->t_product, v, &w->t_product))
        w->t_overflow = 1;
}

static st_error packed_dims(walk *w, const st_pb_field *f)
{
    unsigned char buf[ST_PB_WINDOW];
    if (f->len > sizeof(buf)) {
        w->t_overflow = 1;
        return ST_OK;
    }
    if (st_pb_bytes(&w->cur, f, buf, sizeof(buf)) !=
        ST_PB_FIELD) /* GCOVR_EXCL_BR_LINE: a read inside a field already bounded fails only if the
                        file changes */
        return ST_E_IO; /* GCOVR_EXCL_LINE: as above */
    size_t i = 0;
    while (i < f->len) {
        uint64_t v = 0;
        size_t n = st_pb_varint(buf + i, (size_t)f->len - i, &v);
        if (n == 0) {
            st_report_add(w->in->report, ST_R_ONNX_MALFORMED, f->off + i, 0,
                          "malformed packed dims");
            return ST_E_UNSUPPORTED;
        }
        add_dim(w, v);
        i += n;
    }
    return ST_OK;
}

/* A field of a tensor or of an external_data entry. */
static st_error leaf_field(walk *w, int type, const st_pb_field *f)
{
    if (type == T_TENSOR) {
        if (f->number == 1 && f->wire == ST_PB_VARINT)
            add_dim(w, f->value);
        else if (f->number == 1 && f->wire == ST_PB_LEN)
            return packed_dims(w, f);
        else if (f->number == 2 && f->wire == ST_PB_VARINT)
            w->data_type = f->value;
        else if (f->number == 9 && f->wire == ST_PB_LEN) {
            w->has_raw = 1;
            w->raw_len = f->len;
        } else if (f->number == 14 && f->wire == ST_PB_VARINT)
            w->data_location = f->value;
    } else if (type == T_ENTRY && f->wire == ST_PB_LEN) {
        if (f->number == 1) {
            w->has_key = 1;
            return read_string(w, f, w->key, sizeof(w->key));
        }
        if (f->number == 2) {
            w->has_value = 1;
            w->value_len = f->len;
            size_t n = f->len < LOC_MAX ? (size_t)f->len : LOC_MAX;
            if (st_pb_bytes(&w->cur, f, w->value, n) !=
                ST_PB_FIELD) /* GCOVR_EXCL_BR_LINE: a read inside a field already bounded fails only
                                if the file changes */
                return ST_E_IO; /* GCOVR_EXCL_LINE: as above */
        }
    } else if ((type == T_NODE && f->number == 7 && f->wire == ST_PB_LEN)) {
        return node_domain(w, f);
    } else if (type == T_FUNC && f->number == 10 && f->wire == ST_PB_LEN) {
        char d[DOMAIN_MAX + 1];
        st_error e = read_string(w, f, d, sizeof(d));
        if (e == ST_OK)
            remember(w->funcs, &w->n_funcs, d, f->off);
        return e;
    }
    return ST_OK;
}

static void enter_type(walk *w, int type, const st_pb_field *f)
{
    w->types[w->cur.depth] = (unsigned char)type;
    w->seen[w->cur.depth] = 0;
    if (type == T_TENSOR) {
        w->t_off = f->off;
        w->t_product = 1;
        w->t_overflow = w->t_negative = w->has_raw = w->location_seen = 0;
        w->raw_len = w->data_type = w->data_location = 0;
    } else if (type == T_ENTRY) {
        w->has_key = w->has_value = 0;
        w->value_len = 0;
        w->key[0] = '\0';
    }
}

static st_error walk_error(walk *w, st_pb_status s)
{
    if (s == ST_PB_IO)  /* GCOVR_EXCL_BR_LINE: a memory source never fails; a file that changes */
        return ST_E_IO; /* GCOVR_EXCL_LINE: as above (test_onnx covers the walker's IO status) */
    if (s == ST_PB_LIMIT) {
        st_report_add(w->in->report, ST_R_ONNX_LIMIT, w->cur.pos, 0,
                      "protobuf nesting deeper than %d or more than %u fields: could not check",
                      ST_PB_MAX_DEPTH, ST_PB_MAX_FIELDS);
        return ST_E_LIMIT;
    }
    st_report_add(w->in->report, ST_R_ONNX_MALFORMED, w->cur.bad_off, 0,
                  "malformed protobuf wire data (truncated, bad tag, wire type or varint): "
                  "onnx cannot parse it");
    return ST_E_UNSUPPORTED;
}

static st_error run(walk *w)
{
    w->types[0] = T_MODEL;
    for (;;) {
        st_pb_field f;
        st_pb_status s = st_pb_next(&w->cur, &f);
        unsigned d = w->cur.depth;
        int type = w->types[d];
        if (s == ST_PB_END) {
            if (type == T_TENSOR)
                tensor_done(w);
            else if (type == T_ENTRY)
                entry_done(w, w->cur.end);
            if (!st_pb_leave(&w->cur))
                return ST_OK;
            continue;
        }
        if (s != ST_PB_FIELD)
            return walk_error(w, s);
        if (f.number < 64 && (singular[type] & BIT(f.number))) {
            if (w->seen[d] & BIT(f.number))
                st_report_add(w->in->report, ST_R_ONNX_DUPLICATE, f.off, 0,
                              "singular field %u appears twice in one message: protobuf keeps "
                              "the last (or merges), other readers may not",
                              (unsigned)f.number);
            w->seen[d] |= BIT(f.number);
        }
        int child = f.wire == ST_PB_LEN ? child_type(type, f.number) : -1;
        if (child >= 0) {
            s = st_pb_enter(&w->cur, &f);
            if (s != ST_PB_FIELD)
                return walk_error(w, s);
            enter_type(w, child, &f);
            continue;
        }
        st_error e = leaf_field(w, type, &f);
        if (e != ST_OK)
            return e;
    }
}

/* A ModelProto starts with ir_version (field 1, varint: tag 0x08) as every writer emits it
 * (onnx.save, torch.onnx, tf2onnx); with the .onnx name that is enough, without it the first
 * fields must read as a ModelProto with a plausible ir_version. */
int st_onnx_sniff(const st_input *in)
{
    if (in->head_len < 2 || in->head[0] != 0x08)
        return 0;
    if (st_name_has_suffix(in->name, ".onnx"))
        return 90;
    uint64_t v = 0;
    size_t n = st_pb_varint(in->head + 1, in->head_len - 1, &v);
    if (n == 0 || v < 1 || v > 20 || 1 + n >= in->head_len)
        return 0;
    /* the next field: producer_name (0x12), opset_import (0x42) or graph (0x3a) */
    unsigned char t = in->head[1 + n];
    return t == 0x12 || t == 0x3a || t == 0x42 ? 40 : 0;
}

st_error st_onnx_check(st_input *in)
{
    in->report->format = "onnx";
    walk *w = calloc(1, sizeof(*w));
    if (w == NULL)         /* GCOVR_EXCL_BR_LINE: malloc failure */
        return ST_E_NOMEM; /* GCOVR_EXCL_LINE: malloc failure */
    w->in = in;
    if (in->src->size > 0x7fffffffu)
        st_report_add(in->report, ST_R_ONNX_TOO_LARGE, 0, in->src->size,
                      "the model is over protobuf's 2 GiB limit: onnx and onnxruntime refuse it");
    st_pb_init(&w->cur, in->src, 0, in->src->size);
    st_error e = run(w);
    if (e == ST_OK)
        judge_domains(w);
    free(w);
    return e;
}
