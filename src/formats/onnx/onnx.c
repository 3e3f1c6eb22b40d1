/*
 * onnx.c - ONNX ModelProto (onnx/onnx.proto) read by the bounded walker of protobuf.c.
 *
 * Every TensorProto wherever the schema lets it hide (graph initializers, sparse initializers,
 * Constant and other node attributes, subgraphs of If/Loop/Scan at any depth, training info,
 * functions) has its external data judged (onnx/external_data_helper.py,
 * onnxruntime tensorprotoutils.cc) and its raw_data size checked against its dims; every node's
 * operator domain is judged against an allowlist. The walk is iterative: an explicit stack of
 * message types over the cursor's stack of message bounds. External data files and EPContext
 * cache files are checked in onnx_files.c once the walk is over. docs/formats/onnx.md gives
 * sources.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/checked.h"
#include "../../core/ctx.h"
#include "../../core/escape.h"
#include "onnx_int.h"

enum {
    T_MODEL,
    T_GRAPH,
    T_NODE,
    T_ATTR,
    T_TENSOR,
    T_SPARSE,
    T_ENTRY,
    T_FUNC,
    T_TRAIN,
    T_OPSET,
    T_COUNT
};

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
    [T_OPSET] = BIT(1) | BIT(2),
};

/* The message type of field number of a message of type parent, or -1 (not walked): a table
 * (one lookup per field of a metadata-dense model). */
#define CHILD_MAX 26
static const signed char edges[T_COUNT][CHILD_MAX] = {
    [T_MODEL] = {[7] = T_GRAPH + 1, [8] = T_OPSET + 1, [20] = T_TRAIN + 1, [25] = T_FUNC + 1},
    [T_GRAPH] = {[1] = T_NODE + 1, [5] = T_TENSOR + 1, [15] = T_SPARSE + 1},
    [T_NODE] = {[5] = T_ATTR + 1},
    [T_ATTR] = {[5] = T_TENSOR + 1,
                [6] = T_GRAPH + 1,
                [10] = T_TENSOR + 1,
                [11] = T_GRAPH + 1,
                [22] = T_SPARSE + 1,
                [23] = T_SPARSE + 1},
    [T_SPARSE] = {[1] = T_TENSOR + 1, [2] = T_TENSOR + 1},
    [T_TENSOR] = {[13] = T_ENTRY + 1},
    [T_TRAIN] = {[1] = T_GRAPH + 1, [2] = T_GRAPH + 1},
    [T_FUNC] = {[7] = T_NODE + 1, [11] = T_ATTR + 1},
};

static int child_type(int parent, uint32_t number)
{
    return number < CHILD_MAX ? edges[parent][number] - 1 : -1;
}

static const char *const allowed_domains[] = {
    "", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training", "com.microsoft",
};

/* The built-in list, then the policy's "onnx.allow_domains". */
static int domain_allowed(const walk *w, const char *d)
{
    for (size_t i = 0; i < sizeof(allowed_domains) / sizeof(allowed_domains[0]); i++)
        if (strcmp(d, allowed_domains[i]) == 0)
            return 1;
    const st_strlist *l = &w->in->ctx->onnx_domains;
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(d, l->v[i]) == 0)
            return 1;
    return 0;
}

/* Reads a string field into buf (NUL-terminated, at most size-1 bytes kept); *nul is set when
 * the kept bytes hold a NUL (the string then differs from what a reader compares). */
static st_error read_string(walk *w, const st_pb_field *f, char *buf, size_t size, int *nul)
{
    size_t n = f->len < size - 1 ? (size_t)f->len : size - 1;
    if (st_pb_bytes(&w->cur, f, (unsigned char *)buf, n) !=
        ST_PB_FIELD) /* GCOVR_EXCL_BR_LINE: a read inside a field already bounded fails only if the
                        file changes */
        return ST_E_IO; /* GCOVR_EXCL_LINE: as above */
    buf[n] = '\0';
    if (nul != NULL)
        *nul = memchr(buf, '\0', n) != NULL;
    return ST_OK;
}

static void remember(domain_seen *list, size_t *n, const char *name, const char *op, uint64_t off)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(list[i].name, name) == 0 && strcmp(list[i].op, op) == 0)
            return;
    if (*n < DOMAINS_KEPT) {
        memcpy(list[*n].name, name, strlen(name) + 1);
        memcpy(list[*n].op, op, strlen(op) + 1);
        list[(*n)++].off = off;
    }
}

static char *dup_str(walk *w, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p == NULL) {  /* GCOVR_EXCL_BR_LINE: malloc failure */
        w->nomem = 1; /* GCOVR_EXCL_LINE: malloc failure */
        return NULL;  /* GCOVR_EXCL_LINE: malloc failure */
    }
    memcpy(p, s, n);
    return p;
}

/* The report's list of operator domains nodes use (distinct, first use first). */
static void fact_domain(walk *w, const char *d)
{
    struct st_onnx_facts *f = w->facts;
    for (size_t i = 0; i < f->n_domains; i++)
        if (strcmp(f->domains[i], d) == 0)
            return;
    if (f->n_domains == ST_ONNX_FACTS_MAX) {
        f->truncated = 1;
        return;
    }
    char *p = dup_str(w, d);
    if (p != NULL) /* GCOVR_EXCL_BR_LINE: malloc failure */
        f->domains[f->n_domains++] = p;
}

static void fact_opset(walk *w, const char *d, uint64_t version)
{
    struct st_onnx_facts *f = w->facts;
    for (size_t i = 0; i < f->n_opsets; i++)
        if (strcmp(f->opsets[i].domain, d) == 0) {
            f->opsets[i].version = version; /* a repeated domain: the last import wins */
            return;
        }
    if (f->n_opsets == ST_ONNX_FACTS_MAX) {
        f->truncated = 1;
        return;
    }
    char *p = dup_str(w, d);
    if (p != NULL) /* GCOVR_EXCL_BR_LINE: malloc failure */
        f->opsets[f->n_opsets++] = (st_onnx_opset){p, version};
}

static st_error node_domain(walk *w, const st_pb_field *f)
{
    char d[DOMAIN_MAX + 1];
    int nul = 0;
    st_error e = read_string(w, f, d, sizeof(d), &nul);
    if (e != ST_OK) /* GCOVR_EXCL_BR_LINE: read_string fails only if the file changes */
        return e;   /* GCOVR_EXCL_LINE: as above */
    w->fr[w->cur.depth].has_domain = 1;
    if (!nul && f->len <= DOMAIN_MAX)
        fact_domain(w, d);
    if (!nul && f->len <= DOMAIN_MAX && domain_allowed(w, d))
        return ST_OK;
    if (nul || f->len > DOMAIN_MAX) {
        /* too long or NUL-holding: judged now, local functions or not */
        char a[200];
        size_t n = f->len < DOMAIN_MAX ? (size_t)f->len : DOMAIN_MAX;
        st_report_add(w->in->report, ST_R_ONNX_DOMAIN, f->off, f->len,
                      "operator domain '%s' is not a standard ONNX or onnxruntime domain: it "
                      "needs a native custom-operator library",
                      st_escape(d, n, a, sizeof(a), 160));
        return ST_OK;
    }
    /* judged with the node's op_type when the node ends (fields come in any order) */
    frame *fr = &w->fr[w->cur.depth];
    fr->custom = 1;
    fr->dom_off = f->off;
    memcpy(fr->dom, d, strlen(d) + 1);
    return ST_OK;
}

/* A node in a custom domain ended: its (domain, op_type) is local only if a function of the
 * model has that domain and name; too many to remember, or an op_type no function can carry,
 * is judged now. */
static void custom_node_done(walk *w, const frame *n)
{
    if (!n->op_bad && w->n_custom < DOMAINS_KEPT) {
        remember(w->custom, &w->n_custom, n->dom, n->op, n->dom_off);
        return;
    }
    char a[200];
    st_report_add(w->in->report, ST_R_ONNX_DOMAIN, n->dom_off, 0,
                  "operator domain '%s' is not a standard ONNX or onnxruntime domain: it needs a "
                  "native custom-operator library",
                  st_escape(n->dom, strlen(n->dom), a, sizeof(a), 160));
}

static void judge_domains(walk *w)
{
    char a[200], b[200];
    for (size_t i = 0; i < w->n_custom; i++) {
        int local = 0;
        for (size_t j = 0; j < w->n_funcs; j++)
            local |= strcmp(w->custom[i].name, w->funcs[j].name) == 0 &&
                     strcmp(w->custom[i].op, w->funcs[j].op) == 0;
        if (!local)
            st_report_add(
                w->in->report, ST_R_ONNX_DOMAIN, w->custom[i].off, 0,
                "operator '%s' of domain '%s' is not a standard ONNX or onnxruntime operator "
                "nor a function of the model: it needs a native custom-operator library",
                st_escape(w->custom[i].op, strlen(w->custom[i].op), b, sizeof(b), 80),
                st_escape(w->custom[i].name, strlen(w->custom[i].name), a, sizeof(a), 160));
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

/* Why a path a loader joins to the model's folder would not stay in it, or NULL. */
static const char *path_problem(const unsigned char *p, uint64_t len)
{
    size_t n = (size_t)(len < LOC_MAX ? len : LOC_MAX);
    if (len == 0)
        return "is empty";
    if (len > LOC_MAX)
        return "is longer than 4096 bytes";
    if (memchr(p, '\0', n) != NULL)
        return "holds a NUL byte";
    if (memchr(p, '\\', n) != NULL)
        return "holds a backslash";
    if (p[0] == '/')
        return "is an absolute path";
    if (n >= 2 && isalpha(p[0]) && p[1] == ':')
        return "starts with a drive letter";
    if (has_dotdot(p, n))
        return "has a '..' component";
    return NULL;
}

/* external_data location: onnxruntime and onnx join it to the model's folder; it must stay
 * there (CVE-2024-27318, CVE-2024-5187) and must not be onnxruntime's in-memory address tag. */
static void judge_location(walk *w, uint64_t off)
{
    const unsigned char *p = w->value;
    size_t n = (size_t)(w->value_len < LOC_MAX ? w->value_len : LOC_MAX);
    w->t_loc_ok = 0;
    if (contains(p, n, "_ORT_MEM_ADDR_")) {
        st_report_add(w->in->report, ST_R_ONNX_ORT_MEM_ADDR, off, w->value_len,
                      "external data location names onnxruntime's in-memory address tag "
                      "(*/_ORT_MEM_ADDR_/*): the offset would be read as a raw pointer");
        return;
    }
    const char *why = path_problem(p, w->value_len);
    if (why != NULL) {
        st_report_add(w->in->report, ST_R_ONNX_LOCATION, off, w->value_len,
                      "external data location %s: it must be a relative path inside the "
                      "model's folder",
                      why);
        return;
    }
    memcpy(w->t_loc, p, n);
    w->t_loc[n] = '\0';
    w->t_loc_ok = 1;
}

/* offset/length: decimal digits (at most 19, so the value fits 64 bits); returns -1 if not. */
static int judge_number(walk *w, uint64_t off, uint64_t *out)
{
    int ok = w->value_len > 0 && w->value_len <= 19;
    uint64_t v = 0;
    for (size_t i = 0; ok && i < w->value_len; i++) {
        ok = isdigit(w->value[i]) != 0;
        v = v * 10 + (uint64_t)(w->value[i] - '0');
    }
    if (!ok) {
        st_report_add(w->in->report, ST_R_ONNX_EXTERNAL_NUMBER, off, w->value_len,
                      "external data %s is not a decimal number below 10^19", w->key);
        w->t_numbers_bad = 1;
        return -1;
    }
    *out = v;
    return 0;
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
    } else if (strcmp(w->key, "offset") == 0) {
        w->t_has_offset = judge_number(w, off, &w->t_offset) == 0;
    } else if (strcmp(w->key, "length") == 0) {
        w->t_has_length = judge_number(w, off, &w->t_length) == 0;
    }
}

static unsigned element_bits(uint64_t t)
{
    /* TensorProto.DataType: bits per element, 0 for string/undefined/unknown */
    static const unsigned char bits[] = {0,  32, 8,  8,   16, 16, 32, 64, 0, 8, 16, 64,
                                         32, 64, 64, 128, 16, 8,  8,  8,  8, 4, 4};
    return t < sizeof(bits) ? bits[t] : 0;
}

/* The tensor's byte size from dims and type; 0 when it has none (string, unknown type) or it
 * overflows (*overflow set). */
static int tensor_bytes(const walk *w, uint64_t *want, int *overflow)
{
    unsigned bits = element_bits(w->data_type);
    *overflow = 0;
    if (bits == 0)
        return 0;
    if (bits < 8) {
        *want = w->t_product / 2 + (w->t_product & 1);
        return 1;
    }
    if (st_mul_u64(w->t_product, bits / 8, want)) {
        *overflow = 1;
        return 0;
    }
    return 1;
}

/* An EXTERNAL tensor with a sound location: its length against its dims (ST815), and its
 * range recorded for the file checks. */
static void external_done(walk *w, int known, uint64_t want)
{
    st_report *r = w->in->report;
    if (!w->t_loc_ok || w->t_numbers_bad)
        return;
    if (w->t_has_length && known && w->t_length != want)
        st_report_add(r, ST_R_ONNX_EXTERNAL_LENGTH, w->t_off, 0,
                      "external tensor length %llu differs from its dims and type: %llu bytes",
                      (unsigned long long)w->t_length, (unsigned long long)want);
    uint64_t len = w->t_has_length ? w->t_length : want;
    int has_len = w->t_has_length || known;
    st_onnx_ext_add(w, w->t_loc, w->t_has_offset ? w->t_offset : 0, has_len ? len : 0, has_len,
                    w->t_off, 0);
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
    uint64_t want = 0;
    int overflow = 0, known = tensor_bytes(w, &want, &overflow);
    if (overflow) {
        st_report_add(r, ST_R_ONNX_DIMS, w->t_off, 0, "tensor byte size overflows");
        return;
    }
    if (w->data_location == 1) {
        external_done(w, known, want);
        return;
    }
    if (w->has_raw && known && want != w->raw_len)
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

static st_error entry_field(walk *w, const st_pb_field *f)
{
    if (f->number == 1)
        return read_string(w, f, w->key, sizeof(w->key), NULL);
    w->value_len = f->len;
    size_t n = f->len < LOC_MAX ? (size_t)f->len : LOC_MAX;
    if (st_pb_bytes(&w->cur, f, w->value, n) !=
        ST_PB_FIELD)    /* GCOVR_EXCL_BR_LINE: a read inside a field already bounded fails only
                           if the file changes */
        return ST_E_IO; /* GCOVR_EXCL_LINE: as above */
    return ST_OK;
}

/* Node op_type (4), attribute name (1), i (3), s (4): what EPContext nodes are judged by. */
static st_error node_attr_field(walk *w, int type, const st_pb_field *f)
{
    frame *fr = &w->fr[w->cur.depth];
    char s[24];
    if (type == T_NODE) {
        int nul = 0;
        st_error e = read_string(w, f, fr->op, sizeof(fr->op), &nul);
        fr->op_bad = nul || f->len > DOMAIN_MAX;
        fr->is_ep = e == ST_OK && f->len == 9 && memcmp(fr->op, "EPContext", 9) == 0;
        return e;
    }
    if (f->number == 4) {
        fr->has_s = 1;
        fr->s_off = f->off;
        fr->s_len = f->len;
        return ST_OK;
    }
    st_error e = read_string(w, f, s, sizeof(s), NULL);
    fr->attr_kind = f->len == 10 && memcmp(s, "embed_mode", 10) == 0         ? 1
                    : f->len == 16 && memcmp(s, "ep_cache_context", 16) == 0 ? 2
                                                                             : 0;
    return e;
}

/* A field of a tensor, external_data entry, node, attribute, function or opset import. */
static st_error leaf_field(walk *w, int type, const st_pb_field *f)
{
    int len = f->wire == ST_PB_LEN, var = f->wire == ST_PB_VARINT;
    if (type == T_TENSOR) {
        if (f->number == 1 && var)
            add_dim(w, f->value);
        else if (f->number == 1 && len)
            return packed_dims(w, f);
        else if (f->number == 2 && var)
            w->data_type = f->value;
        else if (f->number == 9 && len) {
            w->has_raw = 1;
            w->raw_len = f->len;
        } else if (f->number == 14 && var)
            w->data_location = f->value;
    } else if (type == T_ENTRY && len && (f->number == 1 || f->number == 2)) {
        *(f->number == 1 ? &w->has_key : &w->has_value) = 1;
        return entry_field(w, f);
    } else if (type == T_NODE && f->number == 7 && len) {
        return node_domain(w, f);
    } else if ((type == T_NODE && f->number == 4 && len) ||
               (type == T_ATTR && (f->number == 1 || f->number == 4) && len)) {
        return node_attr_field(w, type, f);
    } else if (type == T_ATTR && f->number == 3 && var) {
        w->fr[w->cur.depth].has_i = 1;
        w->fr[w->cur.depth].i = f->value;
    } else if (type == T_FUNC && (f->number == 1 || f->number == 10) && len) {
        /* name (1) and domain (10), remembered as a pair when the function ends */
        frame *fr = &w->fr[w->cur.depth];
        int nul = 0;
        if (f->number == 10)
            fr->custom = 1, fr->dom_off = f->off;
        st_error e = read_string(w, f, f->number == 1 ? fr->op : fr->dom, DOMAIN_MAX + 1, &nul);
        fr->op_bad |= nul || f->len > DOMAIN_MAX;
        return e;
    } else if (type == T_OPSET && f->number == 1 && len) {
        int nul = 0;
        w->opset_domain_bad = f->len > DOMAIN_MAX;
        st_error e = read_string(w, f, w->opset_domain, sizeof(w->opset_domain), &nul);
        w->opset_domain_bad |= nul;
        return e;
    } else if (type == T_OPSET && f->number == 2 && var) {
        w->fr[w->cur.depth].version = f->value;
    } else if (type == T_MODEL && f->number == 1 && var) {
        w->facts->has_ir_version = 1;
        w->facts->ir_version = f->value;
    }
    return ST_OK;
}

/* An attribute ended: embed_mode and ep_cache_context belong to the node holding it. */
static void attr_done(walk *w, unsigned d)
{
    const frame *a = &w->fr[d];
    if (d == 0 || w->types[d - 1] != T_NODE)
        return; /* a function's attribute_proto: a default, not a node's value */
    frame *n = &w->fr[d - 1];
    if (a->attr_kind == 1 && a->has_i) {
        n->has_embed = 1;
        n->embed = a->i;
    } else if (a->attr_kind == 2 && a->has_s) {
        n->has_ctx = 1;
        n->ctx_off = a->s_off;
        n->ctx_len = a->s_len;
    }
}

/* An EPContext node (onnxruntime's com.microsoft EPContext): its ep_cache_context is a
 * precompiled execution-provider blob, inline (embed_mode 1, the default) or in a file next to
 * the model (embed_mode 0: a relative path; qnn onnx_ctx_model_helper.cc
 * GetEpContextFromMainNode). The blob is read by vendor code stcheck cannot vouch for (ST818). */
static void epcontext_done(walk *w, const frame *n)
{
    st_report *r = w->in->report;
    if (n->has_embed && n->embed > 1) {
        st_report_add(r, ST_R_ONNX_EPCONTEXT_MODE, n->start, 0,
                      "EPContext embed_mode %lld is neither 0 nor 1: execution providers read it "
                      "differently (QNN as a boolean)",
                      (long long)n->embed);
        return;
    }
    if (!n->has_embed || n->embed == 1) {
        st_report_add(r, ST_R_ONNX_EPCONTEXT, n->start, n->ctx_len,
                      "EPContext node carries %llu bytes of a precompiled execution-provider "
                      "context inline: vendor code loads it, stcheck cannot check it",
                      (unsigned long long)n->ctx_len);
        return;
    }
    unsigned char p[LOC_MAX + 1];
    size_t k = (size_t)(n->ctx_len < LOC_MAX ? n->ctx_len : LOC_MAX);
    if (k > 0 &&
        st_src_read(w->in->src, n->ctx_off, p, k) != ST_OK) /* GCOVR_EXCL_BR_LINE: inside a field
                                                               already bounded: the file changed */
        return;                                             /* GCOVR_EXCL_LINE: as above */
    const char *why = path_problem(p, n->ctx_len);
    if (why != NULL) {
        st_report_add(r, ST_R_ONNX_EPCONTEXT_PATH, n->ctx_off, n->ctx_len,
                      "EPContext ep_cache_context (embed_mode 0) %s: it must be a relative path "
                      "inside the model's folder",
                      why);
        return;
    }
    p[k] = '\0';
    char a[200];
    st_report_add(r, ST_R_ONNX_EPCONTEXT, n->start, 0,
                  "EPContext node names a precompiled execution-provider context file \"%s\": "
                  "vendor code loads it, stcheck cannot check it",
                  st_escape(p, k, a, sizeof(a), 160));
    st_onnx_ext_add(w, (const char *)p, 0, 0, 0, n->start, 1);
}

/* A message ended: judge what it held. */
static void message_done(walk *w, int type, unsigned d)
{
    if (type == T_TENSOR)
        tensor_done(w);
    else if (type == T_ENTRY)
        entry_done(w, w->cur.end);
    else if (type == T_ATTR)
        attr_done(w, d);
    else if (type == T_OPSET && !w->opset_domain_bad)
        fact_opset(w, w->opset_domain, w->fr[d].version);
    else if (type == T_NODE) {
        if (!w->fr[d].has_domain)
            fact_domain(w, "");
        if (w->fr[d].custom)
            custom_node_done(w, &w->fr[d]);
        if (w->fr[d].is_ep)
            epcontext_done(w, &w->fr[d]);
    } else if (type == T_FUNC && w->fr[d].custom && !w->fr[d].op_bad) {
        remember(w->funcs, &w->n_funcs, w->fr[d].dom, w->fr[d].op, w->fr[d].dom_off);
    }
}

static void enter_type(walk *w, int type, const st_pb_field *f)
{
    unsigned d = w->cur.depth;
    w->types[d] = (unsigned char)type;
    w->seen[d] = 0;
    memset(&w->fr[d], 0, sizeof(w->fr[d]));
    w->fr[d].start = f->off;
    if (type == T_TENSOR) {
        w->t_off = f->off;
        w->t_product = 1;
        w->t_overflow = w->t_negative = w->has_raw = w->location_seen = 0;
        w->t_loc_ok = w->t_numbers_bad = w->t_has_offset = w->t_has_length = 0;
        w->raw_len = w->data_type = w->data_location = 0;
    } else if (type == T_ENTRY) {
        w->has_key = w->has_value = 0;
        w->value_len = 0;
        w->key[0] = '\0';
    } else if (type == T_OPSET) {
        w->opset_domain[0] = '\0';
        w->opset_domain_bad = 0;
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
            message_done(w, type, d);
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
        if (w->nomem)          /* GCOVR_EXCL_BR_LINE: malloc failure */
            return ST_E_NOMEM; /* GCOVR_EXCL_LINE: malloc failure */
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

void st_onnx_facts_free(struct st_onnx_facts *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n_opsets; i++)
        free(f->opsets[i].domain);
    for (size_t i = 0; i < f->n_domains; i++)
        free(f->domains[i]);
    for (size_t i = 0; i < f->n_files; i++)
        free(f->files[i].path);
    free(f->files);
    free(f);
}

st_error st_onnx_check(st_input *in)
{
    in->report->format = "onnx";
    walk *w = calloc(1, sizeof(*w));
    struct st_onnx_facts *facts = calloc(1, sizeof(*facts));
    if (w == NULL || facts == NULL) { /* GCOVR_EXCL_BR_LINE: malloc failure */
        free(w);                      /* GCOVR_EXCL_LINE: malloc failure */
        free(facts);                  /* GCOVR_EXCL_LINE: malloc failure */
        return ST_E_NOMEM;            /* GCOVR_EXCL_LINE: malloc failure */
    }
    w->in = in;
    w->facts = facts;
    if (in->src->size > 0x7fffffffu)
        st_report_add(in->report, ST_R_ONNX_TOO_LARGE, 0, in->src->size,
                      "the model is over protobuf's 2 GiB limit: onnx and onnxruntime refuse it");
    st_pb_init(&w->cur, in->src, 0, in->src->size);
    st_error e = run(w);
    if (e == ST_OK) {
        judge_domains(w);
        e = st_onnx_check_files(w);
    }
    st_onnx_ext_free(w);
    /* the first ONNX model checked into a report gives its facts (an archive's members share
     * the archive's report) */
    if (in->report->onnx == NULL)
        in->report->onnx = facts;
    else
        st_onnx_facts_free(facts);
    free(w);
    return e;
}
