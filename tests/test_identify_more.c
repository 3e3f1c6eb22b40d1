/*
 * test_identify_more.c - formats identified but not checked (src/formats/other.c: TensorFlow
 * Lite, ExecuTorch, Core ML, OpenVINO; other_exec.c: llamafiles and other executables) and
 * TensorFlow SavedModel files (src/formats/keras/savedmodel.c): exact ids, verdicts and format
 * names for each, and for the malformed variants each sniff and walker refuses.
 */
#include "test_util.h"

#include "core/report.h"
#include "core/source.h"
#include "formats/format.h"

#define PASS ST_VERDICT_PASS
#define FAIL ST_VERDICT_FAIL
#define NOCHECK ST_VERDICT_ERROR

/* ---- building bytes ------------------------------------------------------------------------ */

typedef struct {
    unsigned char p[8192];
    size_t n;
} buf;

static void put(buf *b, const void *src, size_t len)
{
    assert_true(b->n + len <= sizeof(b->p));
    if (len > 0)
        memcpy(b->p + b->n, src, len);
    b->n += len;
}

static void puts_(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void varint(buf *b, uint64_t v)
{
    do {
        unsigned char c = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            c |= 0x80;
        put(b, &c, 1);
    } while (v);
}

static void vfield(buf *b, uint32_t num, uint64_t v)
{
    varint(b, (uint64_t)num << 3);
    varint(b, v);
}

static void lfield(buf *b, uint32_t num, const void *payload, size_t len)
{
    varint(b, (uint64_t)num << 3 | 2);
    varint(b, len);
    put(b, payload, len);
}

static void sfield(buf *b, uint32_t num, const char *s)
{
    lfield(b, num, s, strlen(s));
}

static void mfield(buf *b, uint32_t num, const buf *inner)
{
    lfield(b, num, inner->p, inner->n);
}

/* ---- running ------------------------------------------------------------------------------- */

static st_report *run_ctx(st_ctx *ctx, const void *p, size_t n, const char *name)
{
    st_report *r = st_check_buffer(ctx, p, n, name);
    assert_non_null(r);
    return r;
}

static st_report *run(const void *p, size_t n, const char *name)
{
    st_ctx *ctx = st_ctx_new();
    assert_non_null(ctx);
    st_report *r = run_ctx(ctx, p, n, name);
    st_ctx_free(ctx);
    return r;
}

static void expect_ctx(st_ctx *ctx, const void *p, size_t n, const char *name, const char *ids,
                       st_verdict verdict, const char *format)
{
    st_report *r = run_ctx(ctx, p, n, name);
    tu_assert_ids(r, ids);
    assert_int_equal(st_report_verdict(r), verdict);
    assert_string_equal(st_report_format(r), format);
    st_report_free(r);
}

static void expect(const void *p, size_t n, const char *name, const char *ids, st_verdict verdict,
                   const char *format)
{
    st_ctx *ctx = st_ctx_new();
    assert_non_null(ctx);
    expect_ctx(ctx, p, n, name, ids, verdict, format);
    st_ctx_free(ctx);
}

#define EXPECT_BUF(b, name, ids, verdict, format)                                                  \
    expect((b)->p, (b)->n, (name), (ids), (verdict), (format))
/* not identified: a file given alone is "unknown format" */
#define UNKNOWN(b, name) EXPECT_BUF((b), (name), "ST903", NOCHECK, "unknown")

static unsigned char *read_corpus(const char *rel, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", ST_CORPUS_DIR, rel);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n > 0);
    rewind(f);
    unsigned char *p = malloc((size_t)n);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return p;
}

/* ---- TensorFlow Lite and ExecuTorch -------------------------------------------------------- */

static void flatbuffer(buf *b, uint32_t root, const char *id, size_t size)
{
    memset(b, 0, sizeof(*b));
    unsigned char le[4] = {(unsigned char)root, (unsigned char)(root >> 8),
                           (unsigned char)(root >> 16), (unsigned char)(root >> 24)};
    put(b, le, 4);
    put(b, id, 4);
    b->n = size;
}

static void test_tflite(void **state)
{
    (void)state;
    buf b;
    flatbuffer(&b, 0x1c, "TFL3", 32);
    EXPECT_BUF(&b, "model.tflite", "ST530", NOCHECK, "tflite");
    EXPECT_BUF(&b, "renamed.bin", "ST530", NOCHECK, "tflite"); /* by content */
    flatbuffer(&b, 32, "TFL3", 32); /* the root table past the end: no FlatBuffer */
    UNKNOWN(&b, "model.tflite");
    flatbuffer(&b, 4, "TFL3", 32); /* the root inside the header */
    UNKNOWN(&b, "model.tflite");
    flatbuffer(&b, 0x1c, "TFL3", 7); /* shorter than the header */
    UNKNOWN(&b, "model.tflite");
}

static void test_executorch(void **state)
{
    (void)state;
    buf b;
    flatbuffer(&b, 0x38, "ET12", 64);
    memcpy(b.p + 8, "eh00\x20\0\0\0\xf0\x02\0\0\0\0\0\0\0\x10\0\0\0\0\0\0", 24);
    st_report *r = run(b.p, b.n, "model.pte");
    tu_assert_ids(r, "ST531");
    assert_string_equal(st_report_format(r), "executorch");
    assert_non_null(strstr(st_report_finding(r, 0)->message,
                           "\"ET12\", extended header: program data 752 bytes, segments at 4096"));
    st_report_free(r);
    memcpy(b.p + 8, "ehx0", 4); /* no extended header: still ExecuTorch */
    EXPECT_BUF(&b, "model.pte", "ST531", NOCHECK, "executorch");
    flatbuffer(&b, 0x10, "ET99", 24); /* any version, and too short for an extended header */
    EXPECT_BUF(&b, "x", "ST531", NOCHECK, "executorch");
    flatbuffer(&b, 0x38, "ETa2", 64);
    UNKNOWN(&b, "model.pte");
    flatbuffer(&b, 0x38, "ET1b", 64);
    UNKNOWN(&b, "model.pte");
    /* named data (.ptd) and bundled programs (.bpte): their identifiers need their names */
    flatbuffer(&b, 0x18, "FT01", 64);
    EXPECT_BUF(&b, "model.ptd", "ST531", NOCHECK, "executorch");
    UNKNOWN(&b, "model.bin");
    flatbuffer(&b, 0x18, "BP08", 64);
    EXPECT_BUF(&b, "model.bpte", "ST531", NOCHECK, "executorch");
    UNKNOWN(&b, "model.bin");
}

/* ---- Core ML ------------------------------------------------------------------------------- */

static void coreml(buf *b, uint64_t spec, uint32_t type, int updatable)
{
    buf desc = {.n = 0}, feature = {.n = 0}, empty = {.n = 0};
    memset(b, 0, sizeof(*b));
    sfield(&feature, 1, "input");
    mfield(&desc, 1, &feature);
    vfield(b, 1, spec);
    mfield(b, 2, &desc);
    if (updatable)
        vfield(b, 10, 1);
    if (type)
        mfield(b, type, &empty);
}

static void test_coreml(void **state)
{
    (void)state;
    buf b;
    coreml(&b, 4, 500, 0);
    EXPECT_BUF(&b, "model.mlmodel", "ST532", NOCHECK, "coreml");
    st_report *r = run(b.p, b.n, "model.mlmodel");
    assert_non_null(strstr(st_report_finding(r, 0)->message, "specificationVersion 4)"));
    st_report_free(r);
    coreml(&b, 300, 502, 1); /* a two-byte version, isUpdatable, ML program; no name */
    EXPECT_BUF(&b, "x", "ST532", NOCHECK, "coreml");
    r = run(b.p, b.n, "x");
    assert_non_null(strstr(st_report_finding(r, 0)->message, "specificationVersion 300)"));
    st_report_free(r);
    coreml(&b, 4, 3999, 0); /* the last type number this reader accepts */
    EXPECT_BUF(&b, "x.mlmodel", "ST532", NOCHECK, "coreml");
}

/* Bytes that do not frame as a Model. Each starts with the version and no description, so the
 * ONNX sniff (08 vv then 12) does not claim them either. */
static void test_coreml_refused(void **state)
{
    (void)state;
    buf b, empty = {.n = 0};
    memset(&b, 0, sizeof(b));
    vfield(&b, 1, 4); /* no model type */
    UNKNOWN(&b, "x.mlmodel");
    mfield(&b, 500, &empty);
    mfield(&b, 501, &empty); /* two model types */
    UNKNOWN(&b, "x.mlmodel");
    memset(&b, 0, sizeof(b));
    vfield(&b, 1, 4);
    mfield(&b, 4000, &empty); /* past the type range */
    UNKNOWN(&b, "x.mlmodel");
    memset(&b, 0, sizeof(b));
    vfield(&b, 1, 4);
    mfield(&b, 3, &empty); /* a field Model does not have */
    mfield(&b, 500, &empty);
    UNKNOWN(&b, "x.mlmodel");
    memset(&b, 0, sizeof(b));
    vfield(&b, 1, 4);
    vfield(&b, 500, 1); /* a type with the wrong wire type */
    UNKNOWN(&b, "x.mlmodel");
    memset(&b, 0, sizeof(b));
    vfield(&b, 1, 4);
    mfield(&b, 10, &empty); /* isUpdatable as bytes */
    mfield(&b, 500, &empty);
    UNKNOWN(&b, "x.mlmodel");
    memset(&b, 0, sizeof(b));
    vfield(&b, 1, 4);
    vfield(&b, 2, 1); /* the description as a number */
    mfield(&b, 500, &empty);
    UNKNOWN(&b, "x.mlmodel");
    memset(&b, 0, sizeof(b));
    vfield(&b, 1, 4);
    mfield(&b, 500, &empty);
    b.n--; /* truncated */
    b.p[b.n - 1] = 5;
    UNKNOWN(&b, "x.mlmodel");
    memset(&b, 0, sizeof(b));
    put(&b, "\x08", 1); /* one byte */
    UNKNOWN(&b, "x.mlmodel");
    memset(&b, 0, sizeof(b));
    mfield(&b, 500, &empty); /* no version first */
    UNKNOWN(&b, "x.mlmodel");
}

static void test_coreml_package(void **state)
{
    (void)state;
    buf b;
    memset(&b, 0, sizeof(b));
    puts_(&b, "{\n  \"fileFormatVersion\" : \"1.0.0\",\n  \"itemInfoEntries\" : {},\n"
              "  \"rootModelIdentifier\" : \"A\"\n}\n");
    st_report *r = run(b.p, b.n, "Model.mlpackage/Manifest.json");
    tu_assert_ids(r, "ST532");
    assert_int_equal(st_report_verdict(r), NOCHECK);
    assert_non_null(strstr(st_report_finding(r, 0)->message, "package manifest"));
    st_report_free(r);
    memset(&b, 0, sizeof(b));
    puts_(&b, "{\"fileFormatVersion\": \"1.0.0\"}"); /* no entries: plain JSON */
    UNKNOWN(&b, "Manifest.json");
    memset(&b, 0, sizeof(b));
    puts_(&b, " {\"fileFormatVersion\": 1, \"itemInfoEntries\": {}}"); /* not at byte 0 */
    UNKNOWN(&b, "Manifest.json");
    /* the weights have no magic: their place in an .mlpackage names them */
    memset(&b, 0, sizeof(b));
    for (int i = 1; i < 200; i++)
        b.p[b.n++] = (unsigned char)i;
    r = run(b.p, b.n, "M.mlpackage/Data/com.apple.CoreML/weights/weight.bin");
    tu_assert_ids(r, "ST532");
    assert_string_equal(st_report_format(r), "coreml");
    assert_non_null(strstr(st_report_finding(r, 0)->message, "package weights"));
    st_report_free(r);
    UNKNOWN(&b, "weights/weight.bin");
    UNKNOWN(&b, "M.mlpackage/weights.bin");
}

/* ---- OpenVINO ------------------------------------------------------------------------------ */

static void xml(buf *b, const char *text)
{
    memset(b, 0, sizeof(*b));
    puts_(b, text);
}

static void test_openvino(void **state)
{
    (void)state;
    buf b;
    xml(&b, "<?xml version=\"1.0\"?>\n<net name=\"m\" version=\"11\">\n<layers/>\n</net>\n");
    EXPECT_BUF(&b, "model.xml", "ST533", NOCHECK, "openvino");
    xml(&b, "\xef\xbb\xbf<!-- c -->\r\n<?pi x?>\t<net\tname=\"m\" version=\"10\"></net>");
    EXPECT_BUF(&b, "model.xml", "ST533", NOCHECK, "openvino");
    xml(&b, "<net\nname=\"m\" version=\"11\""); /* the start tag runs to the end of the head */
    EXPECT_BUF(&b, "x", "ST533", NOCHECK, "openvino");
    xml(&b, "<network name=\"m\" version=\"11\"/>"); /* another root element */
    UNKNOWN(&b, "model.xml");
    xml(&b, "<net name=\"m\"><layers version=\"1\"/></net>"); /* version outside the tag */
    UNKNOWN(&b, "model.xml");
    xml(&b, "<net version=\"11\">"); /* no name */
    UNKNOWN(&b, "model.xml");
    xml(&b, "<!-- <net name=\"m\" version=\"11\">"); /* an unterminated comment */
    UNKNOWN(&b, "model.xml");
    xml(&b, "<?xml version=\"1.0\"?>   <net"); /* ends at the element name */
    UNKNOWN(&b, "model.xml");
    xml(&b, "<?xml ?><"); /* a lone '<' */
    UNKNOWN(&b, "model.xml");
    xml(&b, "<!-"); /* too short for a comment */
    UNKNOWN(&b, "model.xml");
}

/* ---- executables --------------------------------------------------------------------------- */

static void test_executables(void **state)
{
    (void)state;
    buf b;
    memset(&b, 0, sizeof(b));
    puts_(&b, "\177ELF\x02\x01\x01");
    b.n = 64;
    EXPECT_BUF(&b, "libop.so", "ST534", FAIL, "executable");
    st_report *r = run(b.p, b.n, "libop.so");
    assert_non_null(strstr(st_report_finding(r, 0)->message, "an ELF executable: native code"));
    st_report_free(r);
    static const char *const macho[] = {"\xcf\xfa\xed\xfe", "\xce\xfa\xed\xfe", "\xfe\xed\xfa\xcf",
                                        "\xfe\xed\xfa\xce"};
    for (size_t i = 0; i < 4; i++) {
        memset(&b, 0, sizeof(b));
        put(&b, macho[i], 4);
        b.n = 32;
        EXPECT_BUF(&b, "x.dylib", "ST534", FAIL, "executable");
    }
    memset(&b, 0, sizeof(b));
    puts_(&b, "MZ");
    b.p[0x3c] = 0x40;
    memcpy(b.p + 0x40, "PE\0\0", 4);
    b.n = 0x80;
    EXPECT_BUF(&b, "setup.exe", "ST534", FAIL, "executable");
    b.p[0x3c] = 0x7d; /* e_lfanew past the bytes read */
    UNKNOWN(&b, "setup.exe");
    b.p[0x3c] = 0x44; /* no PE header there */
    UNKNOWN(&b, "setup.exe");
    b.n = 0x3f; /* too short for e_lfanew */
    UNKNOWN(&b, "setup.exe");
    /* the three APE prefixes, without a zip: an executable, not a llamafile */
    static const char *const ape[] = {"MZqFpD='\n", "jartsr='\n", "APEDBG='\n"};
    for (size_t i = 0; i < 3; i++) {
        memset(&b, 0, sizeof(b));
        puts_(&b, ape[i]);
        puts_(&b, "'\n#!/bin/sh\nexit 1\n");
        EXPECT_BUF(&b, "x.ape", "ST534", FAIL, "executable");
    }
}

static void test_llamafile(void **state)
{
    (void)state;
    size_t n;
    unsigned char *p = read_corpus("other/ST534-model.llamafile", &n);
    st_report *r = run(p, n, "model.llamafile");
    tu_assert_ids(r, "ST534");
    assert_int_equal(st_report_verdict(r), FAIL);
    assert_string_equal(st_report_format(r), "llamafile");
    assert_non_null(strstr(st_report_finding(r, 0)->message, "with 1 GGUF model in the zip"));
    st_report_free(r);
    /* a policy that allows the format: noted, and the file passes */
    st_ctx *ctx = st_ctx_new();
    char err[256];
    assert_int_equal(st_ctx_load_policy_text(ctx, "{\"formats\": {\"allow\": [\"llamafile\"]}}",
                                             NULL, err, sizeof(err)),
                     ST_OK);
    expect_ctx(ctx, p, n, "model.llamafile", "ST535", PASS, "llamafile");
    /* allowing llamafiles allows no other executable */
    buf b;
    memset(&b, 0, sizeof(b));
    puts_(&b, "\177ELF");
    b.n = 64;
    expect_ctx(ctx, b.p, b.n, "x.so", "ST534,ST906", FAIL, "executable");
    st_ctx_free(ctx);
    free(p);
    /* the GGUF inside is checked: stored (read in place) and deflated (inflated) */
    p = read_corpus("other/ST534-bad-gguf.llamafile", &n);
    expect(p, n, "bad.llamafile", "ST534,ST713", FAIL, "llamafile");
    free(p);
    p = read_corpus("other/ST534-deflated.llamafile", &n);
    expect(p, n, "deflated.llamafile", "ST534,ST706", FAIL, "llamafile");
    free(p);
}

/* A zip holding a GGUF is checked as one wherever it is, not only in a llamafile. */
static void test_zip_gguf_member(void **state)
{
    (void)state;
    size_t n;
    unsigned char *p = read_corpus("other/ST713-gguf-member.zip", &n);
    expect(p, n, "weights.zip", "ST713", FAIL, "zip");
    free(p);
}

/* ---- SavedModel ---------------------------------------------------------------------------- */

static void saved_model(buf *b, int functions)
{
    buf info = {.n = 0}, graph = {.n = 0}, node = {.n = 0}, lib = {.n = 0}, fn = {.n = 0},
        meta = {.n = 0};
    memset(b, 0, sizeof(*b));
    sfield(&info, 1, "v1"); /* meta_graph_version: a string we do not show */
    sfield(&info, 4, "serve");
    sfield(&info, 4, "gpu");
    sfield(&info, 5, "2.14.0");
    sfield(&info, 5, "2.15.0"); /* the last copy wins */
    vfield(&info, 7, 1);        /* stripped_default_attrs: a number we do not read */
    sfield(&node, 1, "x");
    sfield(&node, 2, "Const");
    mfield(&graph, 1, &node);
    mfield(&graph, 1, &node);
    for (int i = 0; i < functions; i++)
        mfield(&lib, 1, &fn);
    mfield(&graph, 2, &lib);
    vfield(&graph, 4, 1); /* versions etc.: skipped */
    mfield(&meta, 1, &info);
    mfield(&meta, 2, &graph);
    vfield(&meta, 9, 3); /* an unknown number: skipped */
    mfield(&meta, 5, &fn);
    vfield(b, 1, 1);
    mfield(b, 2, &meta);
    vfield(b, 3, 7); /* an unknown top-level field */
}

static void test_savedmodel_graph(void **state)
{
    (void)state;
    buf b, info = {.n = 0}, meta = {.n = 0};
    for (int i = 0; i < 6; i++) /* tags beyond the 96 bytes shown are cut */
        sfield(&info, 4, "a-long-tag-name-of-thirty-chars");
    mfield(&meta, 1, &info);
    memset(&b, 0, sizeof(b));
    vfield(&b, 1, 1);
    mfield(&b, 2, &meta);
    EXPECT_BUF(&b, "saved_model.pb", "ST885", NOCHECK, "savedmodel");
    saved_model(&b, 2);
    st_report *r = run(b.p, b.n, "saved_model.pb");
    tu_assert_ids(r, "ST885");
    assert_int_equal(st_report_verdict(r), NOCHECK);
    assert_string_equal(st_report_format(r), "savedmodel");
    assert_non_null(strstr(st_report_finding(r, 0)->message,
                           "(1 meta graph, tags \"serve,gpu\", TensorFlow \"2.15.0\", 2 nodes, 2 "
                           "library functions)"));
    st_report_free(r);
    memset(&b, 0, sizeof(b));
    EXPECT_BUF(&b, "m/saved_model.pb", "ST885", NOCHECK, "savedmodel"); /* empty */
    xml(&b, "saved_model_schema_version: 1\n");
    EXPECT_BUF(&b, "saved_model.pbtxt", "ST885", NOCHECK, "savedmodel");
}

/* Each place the SavedModel walk finds a field with the wrong wire type, or bad framing. */
static void test_savedmodel_malformed(void **state)
{
    (void)state;
    buf b, in = {.n = 0}, in2 = {.n = 0};
    memset(&b, 0, sizeof(b));
    sfield(&b, 1, "1"); /* the schema version as bytes */
    EXPECT_BUF(&b, "saved_model.pb", "ST886", NOCHECK, "savedmodel");
    memset(&b, 0, sizeof(b));
    vfield(&b, 2, 1); /* a meta graph as a number */
    EXPECT_BUF(&b, "saved_model.pb", "ST886", NOCHECK, "savedmodel");
    memset(&b, 0, sizeof(b));
    vfield(&in, 1, 1); /* meta_info_def as a number */
    mfield(&b, 2, &in);
    EXPECT_BUF(&b, "saved_model.pb", "ST886", NOCHECK, "savedmodel");
    memset(&b, 0, sizeof(b));
    memset(&in, 0, sizeof(in));
    vfield(&in2, 4, 1); /* a tag as a number */
    mfield(&in, 1, &in2);
    mfield(&b, 2, &in);
    EXPECT_BUF(&b, "saved_model.pb", "ST886", NOCHECK, "savedmodel");
    memset(&b, 0, sizeof(b));
    memset(&in, 0, sizeof(in));
    memset(&in2, 0, sizeof(in2));
    vfield(&in2, 1, 1); /* a graph node as a number */
    mfield(&in, 2, &in2);
    mfield(&b, 2, &in);
    EXPECT_BUF(&b, "saved_model.pb", "ST886", NOCHECK, "savedmodel");
    memset(&b, 0, sizeof(b));
    memset(&in, 0, sizeof(in));
    memset(&in2, 0, sizeof(in2));
    put(&in2, "\x12\x05\x0a", 3); /* the library's message runs past the graph */
    mfield(&in, 2, &in2);
    mfield(&b, 2, &in);
    EXPECT_BUF(&b, "saved_model.pb", "ST886", NOCHECK, "savedmodel");
    memset(&b, 0, sizeof(b));
    memset(&in, 0, sizeof(in));
    memset(&in2, 0, sizeof(in2));
    vfield(&in2, 5, 2); /* tensorflow_version as a number */
    mfield(&in, 1, &in2);
    mfield(&b, 2, &in);
    EXPECT_BUF(&b, "saved_model.pb", "ST886", NOCHECK, "savedmodel");
    memset(&b, 0, sizeof(b));
    memset(&in, 0, sizeof(in));
    memset(&in2, 0, sizeof(in2));
    vfield(&in2, 2, 1); /* the library as a number */
    mfield(&in, 2, &in2);
    mfield(&b, 2, &in);
    EXPECT_BUF(&b, "saved_model.pb", "ST886", NOCHECK, "savedmodel");
    memset(&b, 0, sizeof(b));
    put(&b, "\x08", 1); /* truncated varint */
    EXPECT_BUF(&b, "saved_model.pb", "ST886", NOCHECK, "savedmodel");
    saved_model(&b, 1);
    b.n -= 1; /* truncated inside the top-level field 3 */
    EXPECT_BUF(&b, "saved_model.pb", "ST886", NOCHECK, "savedmodel");
    st_report *r = run(b.p, b.n, "saved_model.pb");
    assert_non_null(strstr(st_report_finding(r, 0)->message,
                           "saved_model.pb does not frame as its protobuf message (stopped at"));
    st_report_free(r);
}

static void keras_node(buf *b, int id, const char *metadata)
{
    buf node = {.n = 0}, version = {.n = 0};
    vfield(&version, 1, 1);
    mfield(&node, 1, &version);
    vfield(&node, 2, (uint64_t)id);
    sfield(&node, 3, "root.layer");
    sfield(&node, 4, "_tf_keras_layer");
    vfield(&node, 9, 1); /* an unknown field: skipped */
    sfield(&node, 5, metadata);
    mfield(b, 1, &node);
}

static const char dense[] = "{\"class_name\": \"Dense\", \"name\": \"d\", \"config\": {\"name\": "
                            "\"d\", \"units\": 2, \"activation\": \"linear\"}}";

static void test_keras_metadata(void **state)
{
    (void)state;
    buf b;
    memset(&b, 0, sizeof(b));
    keras_node(&b, 1, dense);
    keras_node(&b, 2, dense);
    vfield(&b, 2, 1); /* an unknown top-level field */
    EXPECT_BUF(&b, "keras_metadata.pb", "", PASS, "keras-metadata");
    memset(&b, 0, sizeof(b));
    EXPECT_BUF(&b, "keras_metadata.pb", "", PASS, "keras-metadata"); /* no nodes */
    vfield(&b, 1, 1);                                                /* a node as a number */
    EXPECT_BUF(&b, "keras_metadata.pb", "ST886", NOCHECK, "keras-metadata");
    buf node = {.n = 0};
    memset(&b, 0, sizeof(b));
    sfield(&node, 2, "1"); /* node_id as bytes */
    mfield(&b, 1, &node);
    EXPECT_BUF(&b, "keras_metadata.pb", "ST886", NOCHECK, "keras-metadata");
    memset(&b, 0, sizeof(b));
    memset(&node, 0, sizeof(node));
    vfield(&node, 5, 1); /* metadata as a number */
    mfield(&b, 1, &node);
    EXPECT_BUF(&b, "keras_metadata.pb", "ST886", NOCHECK, "keras-metadata");
    /* metadata the judge cannot read, twice: the first error is kept */
    memset(&b, 0, sizeof(b));
    keras_node(&b, 1, "");
    keras_node(&b, 2, "not json");
    st_report *r = run(b.p, b.n, "keras_metadata.pb");
    tu_assert_ids(r, "ST850");
    assert_int_equal(st_report_verdict(r), NOCHECK);
    st_report_free(r);
    memset(&b, 0, sizeof(b));
    keras_node(&b, 1, dense);
    b.n -= 3; /* truncated inside the metadata */
    EXPECT_BUF(&b, "keras_metadata.pb", "ST886", NOCHECK, "keras-metadata");
}

/* Keras 2's metadata is judged by the Keras config judge (keras.c): a Lambda is an error, in
 * any node and in any copy of a node's metadata (protobuf keeps the last; all are judged). */
static const char lambda[] =
    "{\"class_name\": \"Lambda\", \"name\": \"l\", \"config\": {\"name\": \"l\", "
    "\"function\": [\"4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAA==\", null, null], \"function_type\": "
    "\"lambda\", \"module\": \"__main__\", \"arguments\": {}}}";

static void test_keras_metadata_lambda(void **state)
{
    (void)state;
    buf b;
    memset(&b, 0, sizeof(b));
    keras_node(&b, 1, dense);
    keras_node(&b, 2, lambda);
    st_report *r = run(b.p, b.n, "keras_metadata.pb");
    tu_assert_ids(r, "ST851");
    assert_int_equal(st_report_verdict(r), FAIL);
    assert_string_equal(st_report_format(r), "keras-metadata");
    assert_non_null(strstr(st_report_finding(r, 0)->message, "keras_metadata.pb node 1: "));
    st_report_free(r);
    /* hidden in an earlier copy of node 0's metadata, the last copy benign */
    buf node = {.n = 0};
    memset(&b, 0, sizeof(b));
    sfield(&node, 5, lambda);
    sfield(&node, 5, dense);
    mfield(&b, 1, &node);
    EXPECT_BUF(&b, "keras_metadata.pb", "ST851", FAIL, "keras-metadata");
}

static void test_fingerprint(void **state)
{
    (void)state;
    buf b, version = {.n = 0};
    memset(&b, 0, sizeof(b));
    for (uint32_t i = 1; i <= 5; i++)
        vfield(&b, i, 1000 + i);
    vfield(&version, 1, 1);
    mfield(&b, 6, &version);
    vfield(&b, 7, 1); /* unknown */
    EXPECT_BUF(&b, "fingerprint.pb", "ST888", PASS, "savedmodel");
    memset(&b, 0, sizeof(b));
    sfield(&b, 3, "hash"); /* a hash as bytes */
    EXPECT_BUF(&b, "fingerprint.pb", "ST886", NOCHECK, "savedmodel");
    memset(&b, 0, sizeof(b));
    vfield(&b, 6, 1); /* the version as a number */
    EXPECT_BUF(&b, "fingerprint.pb", "ST886", NOCHECK, "savedmodel");
}

static void test_variables(void **state)
{
    (void)state;
    buf b;
    memset(&b, 0, sizeof(b));
    for (int i = 1; i < 100; i++)
        b.p[b.n++] = (unsigned char)(i * 7);
    EXPECT_BUF(&b, "variables/variables.index", "ST887", NOCHECK, "savedmodel");
    EXPECT_BUF(&b, "variables/variables.data-00000-of-00001", "ST887", NOCHECK, "savedmodel");
    EXPECT_BUF(&b, "v/variables.data-00003-of-00010", "ST887", NOCHECK, "savedmodel");
    UNKNOWN(&b, "variables.data-0000x-of-00001");
    UNKNOWN(&b, "variables.data-00000-0f-00001");
    UNKNOWN(&b, "data-00000-of-00001");
    UNKNOWN(&b, NULL);
}

/* ---- read failures ------------------------------------------------------------------------- */

typedef struct {
    const unsigned char *p;
    uint64_t fail_from; /* reads that reach this offset fail */
} failing;

static st_error failing_read(void *arg, uint64_t off, void *out, size_t len)
{
    const failing *f = arg;
    if (off + len > f->fail_from)
        return ST_E_IO;
    memcpy(out, f->p + off, len);
    return ST_OK;
}

/* Runs the SavedModel check over bytes whose reads fail from fail_from on. */
static st_report *check_failing(const buf *b, const char *name, uint64_t fail_from, st_error *err)
{
    static st_ctx *ctx;
    if (ctx == NULL)
        ctx = st_ctx_new();
    failing f = {b->p, fail_from};
    st_src_cb cb = {failing_read, &f};
    st_src src;
    st_src_callback(&src, &cb, b->n);
    st_report *r = st_report_new(ctx, name);
    assert_non_null(r);
    size_t h = b->n < 64 ? b->n : 64;
    st_input in = {.ctx = ctx,
                   .report = r,
                   .src = &src,
                   .head = b->p,
                   .head_len = h,
                   .tail = b->p + b->n - h,
                   .tail_len = h,
                   .name = name};
    *err = st_savedmodel_check(&in);
    return r;
}

static void test_read_failures(void **state)
{
    (void)state;
    buf b;
    memset(&b, 0, sizeof(b));
    keras_node(&b, 1, dense);
    st_error err;
    /* the first window cannot be read */
    st_report *r = check_failing(&b, "keras_metadata.pb", b.n - 2, &err);
    assert_int_equal(err, ST_E_IO);
    tu_assert_ids(r, "ST902");
    st_report_free(r);
    /* metadata longer than the walker's window: the walker skips it, its own read fails */
    static char padded[5000];
    memset(padded, ' ', sizeof(padded) - 1);
    memcpy(padded, dense, strlen(dense));
    memset(&b, 0, sizeof(b));
    keras_node(&b, 1, padded);
    r = check_failing(&b, "keras_metadata.pb", 4096, &err);
    assert_int_equal(err, ST_E_IO);
    tu_assert_ids(r, "ST902");
    st_report_free(r);
    saved_model(&b, 1);
    r = check_failing(&b, "saved_model.pb", 1, &err); /* the first window */
    assert_int_equal(err, ST_E_IO);
    tu_assert_ids(r, "ST902");
    assert_non_null(strstr(st_report_finding(r, 0)->message, "saved_model.pb could not be read"));
    st_report_free(r);
    /* a tag's text cannot be read: the walker serves strings from its 4 KiB window, so the
     * second tag's header is placed at 4080 (no window refill) and its text crosses 4096 */
    static buf big, info, meta;
    static char tag1[4070], tag2[101];
    memset(tag1, 't', sizeof(tag1) - 1);
    memset(tag2, 'u', sizeof(tag2) - 1);
    sfield(&info, 4, tag1);
    sfield(&info, 4, tag2);
    mfield(&meta, 1, &info);
    vfield(&big, 1, 1);
    mfield(&big, 2, &meta);
    assert_int_equal(big.p[4080], 0x22);
    r = check_failing(&big, "saved_model.pb", 4096, &err);
    assert_int_equal(err, ST_E_IO);
    tu_assert_ids(r, "ST902");
    st_report_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tflite),
        cmocka_unit_test(test_executorch),
        cmocka_unit_test(test_coreml),
        cmocka_unit_test(test_coreml_refused),
        cmocka_unit_test(test_coreml_package),
        cmocka_unit_test(test_openvino),
        cmocka_unit_test(test_executables),
        cmocka_unit_test(test_llamafile),
        cmocka_unit_test(test_zip_gguf_member),
        cmocka_unit_test(test_savedmodel_graph),
        cmocka_unit_test(test_savedmodel_malformed),
        cmocka_unit_test(test_keras_metadata),
        cmocka_unit_test(test_keras_metadata_lambda),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_variables),
        cmocka_unit_test(test_read_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
