/*
 * test_onnx.c - the bounded protobuf walker (src/formats/onnx/protobuf.c) at its limits, and
 * ONNX checks the generated models of tests/gen_onnx.py do not reach (packed dims, long and
 * many domains, identification without the .onnx name, read failures).
 */
#include "test_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/report.h"
#include "core/source.h"
#include "formats/format.h"
#include "formats/onnx/onnx_facts.h"
#include "formats/onnx/protobuf.h"

#define PASS ST_VERDICT_PASS
#define FAIL ST_VERDICT_FAIL
#define NOCHECK ST_VERDICT_ERROR

typedef struct {
    unsigned char *p;
    size_t n, cap;
} pb;

static void put(pb *b, const void *src, size_t len)
{
    if (len == 0) /* an empty message: src may be NULL */
        return;
    if (b->n + len > b->cap) {
        b->cap = (b->n + len) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->n, src, len);
    b->n += len;
}

static void varint(pb *b, uint64_t v)
{
    unsigned char c[10];
    size_t n = 0;
    do {
        c[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            c[n] |= 0x80;
        n++;
    } while (v);
    put(b, c, n);
}

static void len_field(pb *b, uint32_t num, const void *payload, size_t len)
{
    varint(b, (uint64_t)num << 3 | 2);
    varint(b, len);
    put(b, payload, len);
}

static void str_field(pb *b, uint32_t num, const char *s)
{
    len_field(b, num, s, strlen(s));
}

static void sub(pb *b, uint32_t num, pb *inner)
{
    len_field(b, num, inner->p, inner->n);
    free(inner->p);
    memset(inner, 0, sizeof(*inner));
}

static void reset(pb *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static st_report *run(const pb *b, const char *name)
{
    st_ctx *ctx = st_ctx_new();
    st_report *r = st_check_buffer(ctx, b->p, b->n, name);
    assert_non_null(r);
    st_ctx_free(ctx);
    return r;
}

#define EXPECT(b, name, ids, verdict)                                                              \
    do {                                                                                           \
        st_report *r_ = run((b), (name));                                                          \
        tu_assert_ids(r_, (ids));                                                                  \
        assert_int_equal(st_report_verdict(r_), (verdict));                                        \
        assert_string_equal(st_report_format(r_), "onnx");                                         \
        st_report_free(r_);                                                                        \
    } while (0)

/* ---- the walker ----------------------------------------------------------------------------- */

static void test_varint(void **state)
{
    (void)state;
    uint64_t v = 0;
    const unsigned char one[] = {0x01};
    assert_int_equal(st_pb_varint(one, 1, &v), 1);
    assert_int_equal(v, 1);
    const unsigned char max[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(st_pb_varint(max, 10, &v), 10);
    assert_true(v == UINT64_MAX);
    const unsigned char big10[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    assert_int_equal(st_pb_varint(big10, 10, &v), 0);
    const unsigned char eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0};
    assert_int_equal(st_pb_varint(eleven, 11, &v), 0);
    assert_int_equal(st_pb_varint(max, 3, &v), 0); /* truncated */
    assert_int_equal(st_pb_varint(max, 0, &v), 0);
}

static uint64_t max_fields = ST_PB_MAX_FIELDS;

static st_pb_status walk_all(const unsigned char *p, size_t n, unsigned *fields)
{
    st_src src = {-1, p, n};
    st_pb_cursor *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    st_pb_init(c, &src, 0, n);
    c->max_fields = max_fields;
    st_pb_field f;
    st_pb_status s;
    *fields = 0;
    for (;;) {
        s = st_pb_next(c, &f);
        if (s == ST_PB_END) {
            if (!st_pb_leave(c))
                break;
            continue;
        }
        if (s != ST_PB_FIELD)
            break;
        (*fields)++;
        if (f.wire == ST_PB_LEN && f.number == 1) {
            s = st_pb_enter(c, &f);
            if (s != ST_PB_FIELD)
                break;
        }
    }
    free(c);
    return s;
}

static void test_wire_types(void **state)
{
    (void)state;
    unsigned n = 0;
    /* varint, fixed64, fixed32, LEN (field 2: skipped) */
    const unsigned char ok[] = {0x08, 0x96, 0x01, 0x11, 1, 2, 3,    4,    5,    6,   7,
                                8,    0x1d, 1,    2,    3, 4, 0x12, 0x02, 0xaa, 0xbb};
    assert_int_equal(walk_all(ok, sizeof(ok), &n), ST_PB_END);
    assert_int_equal(n, 4);
    const unsigned char group[] = {0x0b};
    assert_int_equal(walk_all(group, 1, &n), ST_PB_BAD);
    const unsigned char zero_field[] = {0x00, 0x00};
    assert_int_equal(walk_all(zero_field, 2, &n), ST_PB_BAD);
    const unsigned char big_field[] = {0xf8, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00}; /* 2^34-1 */
    assert_int_equal(walk_all(big_field, sizeof(big_field), &n), ST_PB_BAD);
    const unsigned char short64[] = {0x11, 1, 2, 3};
    assert_int_equal(walk_all(short64, sizeof(short64), &n), ST_PB_BAD);
    const unsigned char short_len[] = {0x12, 0x05, 1};
    assert_int_equal(walk_all(short_len, sizeof(short_len), &n), ST_PB_BAD);
    const unsigned char bad_len[] = {0x12, 0x80};
    assert_int_equal(walk_all(bad_len, sizeof(bad_len), &n), ST_PB_BAD);
    const unsigned char bad_val[] = {0x08, 0x80};
    assert_int_equal(walk_all(bad_val, sizeof(bad_val), &n), ST_PB_BAD);
    /* a nested message longer than its parent: bounded by the parent, not the file */
    const unsigned char nested[] = {0x0a, 0x02, 0x0a, 0x05, 0, 0, 0, 0, 0};
    assert_int_equal(walk_all(nested, sizeof(nested), &n), ST_PB_BAD);
}

/* depth levels of field 1 nested in each other */
static void nest(pb *b, unsigned depth)
{
    pb in = {0};
    varint(&in, 8); /* field 1 varint */
    varint(&in, 1);
    for (unsigned i = 0; i < depth; i++) {
        pb out = {0};
        sub(&out, 1, &in);
        in = out;
    }
    *b = in;
}

static void test_depth(void **state)
{
    (void)state;
    unsigned n = 0;
    pb b = {0};
    nest(&b, ST_PB_MAX_DEPTH);
    assert_int_equal(walk_all(b.p, b.n, &n), ST_PB_END);
    assert_int_equal(n, ST_PB_MAX_DEPTH + 1);
    free(b.p);
    nest(&b, ST_PB_MAX_DEPTH + 1);
    assert_int_equal(walk_all(b.p, b.n, &n), ST_PB_LIMIT);
    free(b.p);
}

static void test_field_limit(void **state)
{
    (void)state;
    /* empty LEN fields of 2 bytes each: one past the limit (lowered to keep the test fast) */
    max_fields = 1000;
    size_t n = (size_t)(max_fields + 1) * 2;
    unsigned char *p = malloc(n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i += 2) {
        p[i] = 0x12;
        p[i + 1] = 0;
    }
    unsigned fields = 0;
    assert_int_equal(walk_all(p, n, &fields), ST_PB_LIMIT);
    assert_int_equal(fields, max_fields);
    assert_int_equal(walk_all(p, n - 2, &fields), ST_PB_END);
    max_fields = ST_PB_MAX_FIELDS;
    free(p);
}

static int fail_after;
static st_error failing_read(void *arg, uint64_t off, void *buf, size_t len)
{
    (void)arg;
    (void)off;
    if (fail_after-- <= 0)
        return ST_E_IO;
    memset(buf, 0x08, len); /* field 1 varint 8, over and over */
    return ST_OK;
}

static void test_read_failures(void **state)
{
    (void)state;
    st_src_cb cb = {failing_read, NULL};
    st_src src;
    st_src_callback(&src, &cb, 1 << 20);
    st_pb_cursor *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    st_pb_field f;
    fail_after = 0;
    st_pb_init(c, &src, 0, src.size);
    assert_int_equal(st_pb_next(c, &f), ST_PB_IO);
    /* the window is read, then a fixed64 value read fails */
    const unsigned char fixed[] = {0x11, 0, 0, 0, 0, 0, 0, 0, 0};
    st_src mem = {-1, fixed, sizeof(fixed)};
    st_pb_init(c, &mem, 0, sizeof(fixed));
    assert_int_equal(st_pb_next(c, &f), ST_PB_FIELD);
    assert_int_equal(f.wire, ST_PB_I64);
    unsigned char buf[4];
    f.off = 100; /* outside the source: the read fails */
    f.len = 4;
    assert_int_equal(st_pb_bytes(c, &f, buf, sizeof(buf)), ST_PB_IO);
    free(c);
}

/* ---- ONNX checks ---------------------------------------------------------------------------- */

static void model_head(pb *m)
{
    varint(m, 0x08);
    varint(m, 7);
    str_field(m, 2, "test");
}

static void tensor_in_graph(pb *m, pb *t)
{
    pb g = {0};
    sub(&g, 5, t);
    sub(m, 7, &g);
}

static void test_packed_dims(void **state)
{
    (void)state;
    pb m = {0}, t = {0}, dims = {0};
    model_head(&m);
    varint(&dims, 2);
    varint(&dims, 3);
    sub(&t, 1, &dims);  /* packed dims [2, 3] */
    varint(&t, 2 << 3); /* data_type */
    varint(&t, 2);      /* UINT8 */
    len_field(&t, 9, "\0\0\0\0\0\0", 6);
    tensor_in_graph(&m, &t);
    EXPECT(&m, "m.onnx", "", PASS);
    reset(&m);

    model_head(&m);
    len_field(&t, 1, "\x80", 1); /* a packed varint cut short */
    tensor_in_graph(&m, &t);
    EXPECT(&m, "m.onnx", "ST801", NOCHECK);
    reset(&m);

    model_head(&m);
    unsigned char many[ST_PB_WINDOW + 1];
    memset(many, 1, sizeof(many));
    len_field(&t, 1, many, sizeof(many)); /* more dims than any tensor has */
    tensor_in_graph(&m, &t);
    EXPECT(&m, "m.onnx", "ST809", FAIL);
    reset(&m);

    model_head(&m);
    varint(&t, 1 << 3); /* dims [2^40, 2^30] UINT4: elements fit, bytes fit */
    varint(&t, 1ull << 40);
    varint(&t, 2 << 3);
    varint(&t, 21);
    len_field(&t, 9, "\0", 1);
    tensor_in_graph(&m, &t);
    EXPECT(&m, "m.onnx", "ST808", FAIL);
    reset(&m);

    model_head(&m);
    varint(&t, 1 << 3); /* dims [2^62] INT64: 2^65 bytes */
    varint(&t, 1ull << 62);
    varint(&t, 2 << 3);
    varint(&t, 7);
    len_field(&t, 9, "\0", 1);
    tensor_in_graph(&m, &t);
    EXPECT(&m, "m.onnx", "ST809", FAIL);
    reset(&m);

    model_head(&m);
    varint(&t, 1 << 3); /* three UINT4 elements: two bytes */
    varint(&t, 3);
    varint(&t, 2 << 3);
    varint(&t, 22);
    len_field(&t, 9, "\0\0", 2);
    tensor_in_graph(&m, &t);
    EXPECT(&m, "m.onnx", "", PASS);
    reset(&m);
}

static void node_with_domain(pb *g, const char *domain)
{
    pb n = {0};
    str_field(&n, 4, "Op");
    str_field(&n, 7, domain);
    sub(g, 1, &n);
}

static void test_domains(void **state)
{
    (void)state;
    pb m = {0}, g = {0};
    model_head(&m);
    char longd[400];
    memset(longd, 'a', sizeof(longd) - 1);
    longd[sizeof(longd) - 1] = '\0';
    node_with_domain(&g, longd);
    sub(&m, 7, &g);
    EXPECT(&m, "m.onnx", "ST806", FAIL);
    reset(&m);

    /* 40 distinct custom domains, each named twice: all reported, none lost past 32 kept */
    model_head(&m);
    for (int rep = 0; rep < 2; rep++)
        for (int i = 0; i < 40; i++) {
            char d[16];
            snprintf(d, sizeof(d), "x%d", i);
            node_with_domain(&g, d);
        }
    sub(&m, 7, &g);
    st_report *r = run(&m, "m.onnx");
    tu_assert_ids(r, "ST806");
    assert_int_equal(st_report_verdict(r), FAIL);
    st_report_free(r);
    reset(&m);

    /* a function of the model's own with the node's domain and op_type as its domain and name
     * makes the node local (onnxruntime keys model functions by both); many functions: 32 kept */
    model_head(&m);
    node_with_domain(&g, "mine");
    sub(&m, 7, &g);
    for (int i = 0; i < 40; i++) {
        pb fn = {0};
        str_field(&fn, 10, i == 0 ? "mine" : "other"); /* domain before name */
        str_field(&fn, 1, i == 0 ? "Op" : "F");
        sub(&m, 25, &fn);
    }
    EXPECT(&m, "m.onnx", "", PASS);
    reset(&m);
    /* a function of the domain under another name: the node's op is a native custom op */
    model_head(&m);
    node_with_domain(&g, "mine");
    sub(&m, 7, &g);
    pb fn = {0};
    str_field(&fn, 1, "F");
    str_field(&fn, 10, "mine");
    sub(&m, 25, &fn);
    EXPECT(&m, "m.onnx", "ST806", FAIL);
    reset(&m);
    /* an op_type holding a NUL, or a function name no op_type can match (too long) */
    model_head(&m);
    pb n = {0};
    len_field(&n, 4, "Op\0x", 4);
    str_field(&n, 7, "mine");
    sub(&g, 1, &n);
    sub(&m, 7, &g);
    pb lf = {0};
    len_field(&lf, 1, longd, strlen(longd));
    str_field(&lf, 10, "mine");
    sub(&m, 25, &lf);
    EXPECT(&m, "m.onnx", "ST806", FAIL);
    reset(&m);
}

static void ext_entry(pb *t, const char *k, const char *v, size_t vlen)
{
    pb e = {0};
    str_field(&e, 1, k);
    len_field(&e, 2, v, vlen);
    sub(t, 13, &e);
}

static void test_locations(void **state)
{
    (void)state;
    pb m = {0}, t = {0};
    char *longloc = malloc(5000);
    assert_non_null(longloc);
    memset(longloc, 'a', 5000);
    model_head(&m);
    ext_entry(&t, "location", longloc, 5000);
    varint(&t, 14 << 3);
    varint(&t, 1);
    tensor_in_graph(&m, &t);
    EXPECT(&m, "m.onnx", "ST803", FAIL);
    reset(&m);
    free(longloc);

    /* an entry without a key, an unknown key, a 20-digit offset, a value without a key */
    model_head(&m);
    pb e = {0};
    str_field(&e, 2, "x");
    sub(&t, 13, &e);
    ext_entry(&t, "checksum", "abc", 3);
    ext_entry(&t, "location", "w.bin", 5);
    ext_entry(&t, "offset", "12345678901234567890", 20);
    varint(&t, 14 << 3);
    varint(&t, 1);
    tensor_in_graph(&m, &t);
    EXPECT(&m, "m.onnx", "ST805", FAIL);
    reset(&m);

    /* a short location and the ORT tag with nothing around it */
    model_head(&m);
    ext_entry(&t, "location", "a", 1);
    tensor_in_graph(&m, &t);
    ext_entry(&t, "location", "_ORT_MEM_ADDR_", 14);
    tensor_in_graph(&m, &t);
    EXPECT(&m, "m.onnx", "ST804,ST807", FAIL);
    reset(&m);
}

/* Known fields with another wire type are unknown fields to protobuf (skipped), and to us. */
static void test_wrong_wire_types(void **state)
{
    (void)state;
    pb m = {0}, t = {0}, e = {0}, g = {0}, n = {0}, fn = {0};
    model_head(&m);
    varint(&e, 1 << 3); /* key as a varint */
    varint(&e, 5);
    varint(&e, 2 << 3); /* value as a varint */
    varint(&e, 5);
    varint(&e, 3 << 3); /* an unknown field */
    varint(&e, 5);
    sub(&t, 13, &e);
    unsigned char fixed[] = {0x0d, 1, 0, 0, 0}; /* dims as fixed32 */
    put(&t, fixed, sizeof(fixed));
    len_field(&t, 2, "x", 1); /* data_type as bytes */
    varint(&t, 9 << 3);       /* raw_data as a varint */
    varint(&t, 3);
    len_field(&t, 14, "x", 1); /* data_location as bytes */
    varint(&t, 4 << 3);        /* float_data: not walked */
    varint(&t, 0);
    sub(&g, 5, &t);
    varint(&n, 7 << 3); /* node domain as a varint */
    varint(&n, 1);
    str_field(&n, 3, "name");
    sub(&g, 1, &n);
    sub(&m, 7, &g);
    varint(&fn, 10 << 3); /* function domain as a varint */
    varint(&fn, 1);
    str_field(&fn, 1, "f");
    sub(&m, 25, &fn);
    varint(&m, 20 << 3); /* training_info as a varint: skipped */
    varint(&m, 1);
    EXPECT(&m, "m.onnx", "", PASS);
    reset(&m);
}

static void test_sniff(void **state)
{
    (void)state;
    pb m = {0}, g = {0};
    model_head(&m);
    sub(&m, 7, &g);
    EXPECT(&m, "model.bin", "", PASS); /* ir_version then producer_name, no name needed */
    reset(&m);
    const unsigned char *heads[] = {
        (const unsigned char *)"\x08\x07\x50\x01", /* field 10 next: not a ModelProto start */
        (const unsigned char *)"\x08\x80\x80\x80", /* ir_version cut short */
        (const unsigned char *)"\x08\x30\x12\x00", /* ir_version 48 */
        (const unsigned char *)"\x08\x00\x12\x00", /* ir_version 0 */
    };
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        st_ctx *ctx = st_ctx_new();
        st_report *r = st_check_buffer(ctx, heads[i], 4, "model.bin");
        assert_non_null(r);
        assert_true(st_report_format(r) == NULL || strcmp(st_report_format(r), "onnx") != 0);
        st_report_free(r);
        st_ctx_free(ctx);
    }
    st_ctx *ctx = st_ctx_new();
    st_report *r = st_check_buffer(ctx, "\x08\x07", 2, "model.bin"); /* too short to tell */
    assert_true(st_report_format(r) == NULL || strcmp(st_report_format(r), "onnx") != 0);
    st_report_free(r);
    r = st_check_buffer(ctx, "\x08", 1, "m.onnx");
    assert_true(st_report_format(r) == NULL || strcmp(st_report_format(r), "onnx") != 0);
    st_report_free(r);
    st_ctx_free(ctx);
}

/* ---- external files, EPContext, policy domains, report facts --------------------------------- */

/* An EPContext node: attributes in any order, and what is not a node's attribute. */
static void ep_attr_int(pb *n, const char *name, uint64_t v)
{
    pb a = {0};
    varint(&a, 3 << 3);
    varint(&a, v);
    str_field(&a, 1, name);
    sub(n, 5, &a);
}

static void ep_attr_str(pb *n, const char *name, const char *v)
{
    pb a = {0};
    str_field(&a, 1, name);
    str_field(&a, 4, v);
    sub(n, 5, &a);
}

/* A FLOAT [2, 2] tensor (16 bytes) with its data at offset/length of location. */
static void ext_tensor(pb *g, const char *location, const char *offset, const char *length)
{
    pb t = {0};
    varint(&t, 1 << 3);
    varint(&t, 2);
    varint(&t, 1 << 3);
    varint(&t, 2);
    varint(&t, 2 << 3);
    varint(&t, 1);
    ext_entry(&t, "location", location, strlen(location));
    if (offset != NULL)
        ext_entry(&t, "offset", offset, strlen(offset));
    if (length != NULL)
        ext_entry(&t, "length", length, strlen(length));
    varint(&t, 14 << 3);
    varint(&t, 1);
    sub(g, 5, &t);
}

typedef struct {
    int calls, closed;
} fake_remote;

/* A remote model's siblings: weights.bin has 64 bytes, missing.bin does not exist, anything
 * else cannot be fetched. */
static st_error fake_open(void *arg, const char *name, st_report *r, st_src *src, void **handle)
{
    fake_remote *f = arg;
    (void)r;
    f->calls++;
    *handle = f;
    if (strcmp(name, "weights.bin") == 0) {
        *src = (st_src){-1, NULL, 64};
        return ST_OK;
    }
    return strcmp(name, "missing.bin") == 0 ? ST_E_NOTFILE : ST_E_IO;
}

static void fake_close(void *arg, void *handle)
{
    fake_remote *f = arg;
    f->closed += handle == f;
}

static int no_dir(const void *arg)
{
    (void)arg;
    return -1;
}

static int temp_dir(const void *arg)
{
    return open((const char *)arg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Checks b as ONNX the way the scanner would, with the given folder or sibling opener. */
static st_report *run_input(const pb *b, const st_ctx *ctx, int (*open_dir)(const void *),
                            const void *dir_arg, fake_remote *remote)
{
    st_report *r = st_report_new(ctx, "m.onnx");
    assert_non_null(r);
    st_src src = {-1, b->p, b->n};
    st_input in = {.ctx = ctx,
                   .report = r,
                   .src = &src,
                   .head = b->p,
                   .head_len = b->n,
                   .tail = b->p,
                   .tail_len = b->n,
                   .name = "m.onnx"};
    in.open_dir = open_dir;
    in.dir_arg = dir_arg;
    if (remote != NULL) {
        in.open_sibling = fake_open;
        in.close_sibling = fake_close;
        in.sibling_arg = remote;
    }
    st_error e = st_onnx_check(&in);
    if (e != ST_OK)
        st_report_fail(r, e);
    return r;
}

static void test_external_unchecked(void **state)
{
    (void)state;
    pb m = {0}, g = {0};
    model_head(&m);
    ext_tensor(&g, "weights.bin", "0", "16");
    ext_tensor(&g, "other.bin", NULL, NULL);
    sub(&m, 7, &g);
    /* a buffer: the folder is unknown; the loader would read files stcheck cannot see */
    st_report *r = run(&m, "m.onnx");
    tu_assert_ids(r, "ST812");
    assert_int_equal(st_report_verdict(r), NOCHECK);
    assert_non_null(r->onnx);
    assert_int_equal(r->onnx->n_files, 2);
    assert_int_equal(r->onnx->files_checked, 0);
    assert_string_equal(r->onnx->files[0].path, "other.bin");
    assert_int_equal(r->onnx->files[1].bytes, 16);
    st_report_free(r);
    pb big = {0}, bg = {0};
    model_head(&big);
    for (int i = 0; i < 2; i++) {
        pb t = {0};
        varint(&t, 1 << 3); /* dims [2^63 - 1, 2] INT8: 2^64 - 2 bytes */
        varint(&t, INT64_MAX);
        varint(&t, 1 << 3);
        varint(&t, 2);
        varint(&t, 2 << 3);
        varint(&t, 3);
        ext_entry(&t, "location", "huge.bin", 8);
        varint(&t, 14 << 3);
        varint(&t, 1);
        sub(&bg, 5, &t);
    }
    sub(&big, 7, &bg);
    r = run(&big, "m.onnx");
    tu_assert_ids(r, "ST812");
    assert_true(r->onnx->files[0].bytes == UINT64_MAX);
    st_report_free(r);
    reset(&big);
    /* a folder that cannot be opened */
    st_ctx *ctx = st_ctx_new();
    r = run_input(&m, ctx, no_dir, NULL, NULL);
    tu_assert_ids(r, "ST812");
    assert_non_null(strstr(r->findings[0].message, "not readable"));
    assert_int_equal(st_report_verdict(r), NOCHECK);
    st_report_free(r);
    /* a policy that accepts unseen external files turns ST812 off: the rest is judged */
    char err[256];
    assert_int_equal(st_ctx_load_policy_text(ctx, "{\"severity\": {\"ST812\": \"off\"}}", NULL, err,
                                             sizeof(err)),
                     ST_OK);
    r = run_input(&m, ctx, no_dir, NULL, NULL);
    tu_assert_ids(r, "");
    assert_int_equal(st_report_verdict(r), PASS);
    assert_int_equal(r->onnx->files_checked, 0);
    st_report_free(r);
    st_ctx_free(ctx);
    reset(&m);
}

static void test_external_remote(void **state)
{
    (void)state;
    pb m = {0}, g = {0};
    st_ctx *ctx = st_ctx_new();
    fake_remote f = {0, 0};
    model_head(&m);
    ext_tensor(&g, "weights.bin", "0", "16");
    ext_tensor(&g, "weights.bin", "16", "16");
    sub(&m, 7, &g);
    st_report *r = run_input(&m, ctx, NULL, NULL, &f);
    tu_assert_ids(r, "");
    assert_int_equal(st_report_verdict(r), PASS);
    assert_int_equal(f.calls, 1); /* one fetch per file, however many tensors */
    assert_int_equal(f.closed, 1);
    assert_int_equal(r->onnx->files_checked, 1);
    assert_int_equal(r->onnx->files[0].tensors, 2);
    st_report_free(r);
    reset(&m);

    model_head(&m);
    pb n = {0};
    ep_attr_str(&n, "ep_cache_context", "missing.bin");
    ep_attr_int(&n, "embed_mode", 0);
    str_field(&n, 4, "EPContext");
    sub(&g, 1, &n);
    ext_tensor(&g, "weights.bin", "60", "16");
    ext_tensor(&g, "missing.bin", "0", "16");
    ext_tensor(&g, "broken.bin", "0", "16");
    sub(&m, 7, &g);
    r = run_input(&m, ctx, NULL, NULL, &f);
    tu_assert_ids(r, "ST812,ST813,ST814,ST818");
    assert_int_equal(st_report_verdict(r), NOCHECK);
    assert_int_equal(r->onnx->files_checked, 0);
    st_report_free(r);
    reset(&m);
    st_ctx_free(ctx);
}

/* A folder of our own: a file, a link to it, a folder, and ranges at the edges. */
static void test_external_folder(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_onnx_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/weights.bin", dir);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite("0123456789abcdef0123456789abcdef", 1, 32, fp), 32);
    fclose(fp);
    snprintf(path, sizeof(path), "%s/link.bin", dir);
    assert_int_equal(symlink("weights.bin", path), 0);
    snprintf(path, sizeof(path), "%s/sub", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    st_ctx *ctx = st_ctx_new();
    pb m = {0}, g = {0};

    /* exactly filling the file, through a link, zero-length at the end: sound */
    model_head(&m);
    ext_tensor(&g, "weights.bin", "0", "16");
    ext_tensor(&g, "weights.bin", "16", "16");
    ext_tensor(&g, "link.bin", "16", NULL);
    sub(&m, 7, &g);
    st_report *r = run_input(&m, ctx, temp_dir, dir, NULL);
    tu_assert_ids(r, "");
    assert_int_equal(st_report_verdict(r), PASS);
    assert_int_equal(r->onnx->n_files, 2);
    assert_int_equal(r->onnx->files_checked, 1);
    st_report_free(r);
    reset(&m);

    /* a folder named as a file; one past the end; an overlap; three tensors at one offset
     * (two of one length: sorted by where they are) */
    model_head(&m);
    ext_tensor(&g, "sub", "0", "16");
    ext_tensor(&g, "weights.bin", "17", "16");
    ext_tensor(&g, "weights.bin", "0", "16");
    ext_tensor(&g, "weights.bin", "4", "16");
    ext_tensor(&g, "weights.bin", "0", NULL);
    ext_tensor(&g, "weights.bin", "0", "8");
    sub(&m, 7, &g);
    r = run_input(&m, ctx, temp_dir, dir, NULL);
    tu_assert_ids(r, "ST813,ST814,ST815,ST816");
    st_report_free(r);
    reset(&m);

    /* an EPContext file that also holds a tensor, and a zero-length tensor at the end */
    model_head(&m);
    pb n = {0}, t = {0};
    ep_attr_str(&n, "ep_cache_context", "weights.bin");
    ep_attr_int(&n, "embed_mode", 0);
    str_field(&n, 4, "EPContext");
    sub(&g, 1, &n);
    ext_tensor(&g, "weights.bin", "0", "16");
    varint(&t, 1 << 3); /* dims [0] */
    varint(&t, 0);
    varint(&t, 2 << 3);
    varint(&t, 1);
    ext_entry(&t, "location", "link.bin", 8);
    ext_entry(&t, "offset", "32", 2);
    varint(&t, 14 << 3);
    varint(&t, 1);
    sub(&g, 5, &t);
    sub(&m, 7, &g);
    r = run_input(&m, ctx, temp_dir, dir, NULL);
    tu_assert_ids(r, "ST818");
    assert_int_equal(r->onnx->n_files, 2);
    assert_int_equal(r->onnx->files[1].ep_context, 1);
    assert_int_equal(r->onnx->files[1].tensors, 1);
    assert_int_equal(r->onnx->files[1].bytes, 16);
    assert_int_equal(st_report_verdict(r), FAIL);
    st_report_free(r);
    reset(&m);
    st_ctx_free(ctx);
    snprintf(path, sizeof(path), "%s/weights.bin", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/link.bin", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/sub", dir);
    rmdir(path);
    rmdir(dir);
}

/* More external tensors than the tensors limit: could not check, the files not opened. */
static void test_external_limit(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    char err[256];
    assert_int_equal(
        st_ctx_load_policy_text(ctx, "{\"limits\": {\"tensors\": 2}}", NULL, err, sizeof(err)),
        ST_OK);
    pb m = {0}, g = {0};
    model_head(&m);
    for (int i = 0; i < 4; i++)
        ext_tensor(&g, "weights.bin", "0", "16");
    sub(&m, 7, &g);
    st_report *r = st_check_buffer(ctx, m.p, m.n, "m.onnx");
    tu_assert_ids(r, "ST901");
    assert_int_equal(st_report_verdict(r), NOCHECK);
    st_report_free(r);
    reset(&m);
    st_ctx_free(ctx);
}

/* onnx.allow_domains: the policy's domains pass, others stay errors. */
static void test_policy_domains(void **state)
{
    (void)state;
    pb m = {0}, g = {0};
    model_head(&m);
    node_with_domain(&g, "com.example.ops");
    node_with_domain(&g, "evil.ops");
    sub(&m, 7, &g);
    st_ctx *ctx = st_ctx_new();
    st_report *r = st_check_buffer(ctx, m.p, m.n, "m.onnx");
    tu_assert_ids(r, "ST806");
    assert_int_equal(r->n_findings, 2);
    st_report_free(r);
    char err[256];
    assert_int_equal(
        st_ctx_load_policy_text(ctx, "{\"onnx\": {\"allow_domains\": [\"com.example.ops\"]}}", NULL,
                                err, sizeof(err)),
        ST_OK);
    r = st_check_buffer(ctx, m.p, m.n, "m.onnx");
    tu_assert_ids(r, "ST806");
    assert_int_equal(r->n_findings, 1);
    assert_non_null(strstr(r->findings[0].message, "evil.ops"));
    assert_int_equal(st_report_verdict(r), FAIL);
    st_report_free(r);
    char *json = st_ctx_policy_json(ctx);
    assert_non_null(strstr(json, "com.example.ops"));
    free(json);
    reset(&m);

    model_head(&m);
    node_with_domain(&g, "com.example.ops");
    sub(&m, 7, &g);
    r = st_check_buffer(ctx, m.p, m.n, "m.onnx");
    tu_assert_ids(r, "");
    assert_int_equal(st_report_verdict(r), PASS);
    st_report_free(r);
    reset(&m);

    char longd[300 + 40];
    memset(longd, 0, sizeof(longd));
    memcpy(longd, "{\"onnx\": {\"allow_domains\": [\"", 29);
    memset(longd + 29, 'a', 300);
    memcpy(longd + 329, "\"]}}", 4);
    const char *bad[] = {"{\"onnx\": []}", "{\"onnx\": {\"allow\": [\"x\"]}}",
                         "{\"onnx\": {\"allow_domains\": [\"\"]}}", longd};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(st_ctx_load_policy_text(ctx, bad[i], NULL, err, sizeof(err)), ST_E_INVAL);
    st_ctx_free(ctx);
}

static void test_epcontext(void **state)
{
    (void)state;
    pb m = {0}, g = {0}, n = {0}, fn = {0};
    /* embed_mode 0 without ep_cache_context: an empty path; an attribute name that is neither */
    model_head(&m);
    ep_attr_int(&n, "embed_mode", 0);
    ep_attr_str(&n, "source", "QNN");
    ep_attr_str(&n, "partition_name", "p");
    str_field(&n, 4, "EPContext");
    str_field(&n, 7, "com.microsoft");
    sub(&g, 1, &n);
    /* op types near EPContext are not it */
    str_field(&n, 4, "EPContextX");
    ep_attr_int(&n, "embed_mode", 5);
    sub(&g, 1, &n);
    str_field(&n, 4, "EPContexX");
    sub(&g, 1, &n);
    sub(&m, 7, &g);
    /* a function's attribute_proto (field 11): defaults, not an EPContext node's values */
    str_field(&fn, 1, "F");
    pb fa = {0};
    ep_attr_int(&fa, "embed_mode", 7);
    len_field(&fn, 11, fa.p + 2, fa.n - 2); /* the attribute's payload, under field 11 */
    reset(&fa);
    sub(&m, 25, &fn);
    EXPECT(&m, "m.onnx", "ST817", FAIL);
    reset(&m);

    /* embed_mode 0 with a path the folder would hold: the buffer's folder is unknown */
    model_head(&m);
    ep_attr_str(&n, "ep_cache_context", "ctx.bin");
    ep_attr_int(&n, "embed_mode", 0);
    str_field(&n, 4, "EPContext");
    sub(&g, 1, &n);
    sub(&m, 7, &g);
    EXPECT(&m, "m.onnx", "ST812,ST818", NOCHECK);
    reset(&m);

    /* embed_mode as a huge value (negative in int64) */
    model_head(&m);
    ep_attr_int(&n, "embed_mode", UINT64_MAX);
    str_field(&n, 4, "EPContext");
    sub(&g, 1, &n);
    sub(&m, 7, &g);
    EXPECT(&m, "m.onnx", "ST819", FAIL);
    reset(&m);
}

/* The report's facts: opsets (the last import of a domain wins), domains, caps. */
static void test_facts(void **state)
{
    (void)state;
    pb m = {0}, g = {0}, o = {0};
    model_head(&m);
    for (int i = 0; i < 70; i++) {
        char d[16];
        snprintf(d, sizeof(d), "d%d", i);
        str_field(&o, 1, i == 69 ? "d0" : d);
        varint(&o, 2 << 3);
        varint(&o, (uint64_t)i + 1);
        sub(&m, 8, &o);
    }
    char longd[300];
    memset(longd, 'x', sizeof(longd) - 1);
    longd[sizeof(longd) - 1] = '\0';
    str_field(&o, 1, longd); /* too long to list */
    sub(&m, 8, &o);
    len_field(&o, 1, "a\0b", 3); /* holds a NUL: not listed */
    sub(&m, 8, &o);
    varint(&o, 2 << 3); /* no domain: the default one */
    varint(&o, 17);
    sub(&m, 8, &o);
    for (int i = 0; i < 70; i++) {
        char d[16];
        snprintf(d, sizeof(d), "ai.onnx");
        node_with_domain(&g, i < 2 ? d : "");
    }
    pb n = {0};
    len_field(&n, 7, "ai.onnx\0x", 9); /* a NUL in a domain: never the allowed one */
    sub(&g, 1, &n);
    sub(&m, 7, &g);
    st_report *r = run(&m, "m.onnx");
    tu_assert_ids(r, "ST806");
    const struct st_onnx_facts *f = r->onnx;
    assert_non_null(f);
    assert_int_equal(f->has_ir_version, 1);
    assert_int_equal(f->ir_version, 7);
    assert_int_equal(f->n_opsets, 64);
    assert_int_equal(f->truncated, 1);
    assert_string_equal(f->opsets[0].domain, "d0");
    assert_int_equal(f->opsets[0].version, 70);
    assert_int_equal(f->n_domains, 2);
    assert_string_equal(f->domains[0], "ai.onnx");
    assert_string_equal(f->domains[1], "");
    st_report_free(r);
    reset(&m);

    /* two models checked into one report (archive members): the first one's facts stay */
    model_head(&m);
    sub(&m, 7, &g);
    {
        st_ctx *ctx = st_ctx_new();
        st_report *two = st_report_new(ctx, "a.zip");
        st_src src = {-1, m.p, m.n};
        st_input in = {.ctx = ctx,
                       .report = two,
                       .src = &src,
                       .head = m.p,
                       .head_len = m.n,
                       .tail = m.p,
                       .tail_len = m.n,
                       .name = "m.onnx"};
        assert_int_equal(st_onnx_check(&in), ST_OK);
        const struct st_onnx_facts *first = two->onnx;
        assert_int_equal(st_onnx_check(&in), ST_OK);
        assert_ptr_equal(two->onnx, first);
        st_report_free(two);
        st_ctx_free(ctx);
    }
    reset(&m);

    /* more than 64 distinct node domains: listed up to the cap */
    model_head(&m);
    for (int i = 0; i < 70; i++) {
        char d[16];
        snprintf(d, sizeof(d), "x%d", i);
        node_with_domain(&g, d);
    }
    sub(&m, 7, &g);
    r = run(&m, "m.onnx");
    assert_int_equal(r->onnx->n_domains, 64);
    assert_int_equal(r->onnx->truncated, 1);
    st_report_free(r);
    reset(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varint),
        cmocka_unit_test(test_wire_types),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_field_limit),
        cmocka_unit_test(test_read_failures),
        cmocka_unit_test(test_packed_dims),
        cmocka_unit_test(test_domains),
        cmocka_unit_test(test_locations),
        cmocka_unit_test(test_sniff),
        cmocka_unit_test(test_wrong_wire_types),
        cmocka_unit_test(test_external_unchecked),
        cmocka_unit_test(test_external_remote),
        cmocka_unit_test(test_external_folder),
        cmocka_unit_test(test_external_limit),
        cmocka_unit_test(test_policy_domains),
        cmocka_unit_test(test_epcontext),
        cmocka_unit_test(test_facts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
