/*
 * test_convert.c - src/convert/: the state-dict interpreter on hand-made pickles (every
 * accepted form and every refusal, with the exact finding), tensor reads (views, caches,
 * byte swaps, failing reads), plan comparison, and conversion into memory of checkpoints made
 * with torch by the convert_checkpoints fixture (gen_checkpoints.py --unit, ST_CONVERT_DIR).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convert/convert.h"
#include "core/report.h"

/* Pickle pieces (protocol 2). Literals are kept apart where a hex escape could run on. */
#define P2 "\x80\x02"
#define ODE "ccollections\nOrderedDict\n)R"
#define RB "ctorch._utils\n_rebuild_tensor_v2\n"
#define STR1(c) "X\x01\x00\x00\x00" c
#define PIDT(type, key) "(X\x07\x00\x00\x00storagectorch\n" type "\n" STR1(key) STR1("c") "K\x04tQ"
#define PID(key) PIDT("FloatStorage", key)
#define TENS_P(pid, off, rg) RB "(" pid off "K\x04\x85K\x01\x85" rg ODE "tR"
#define TENS(key) TENS_P(PID(key), "K\x00", "\x89")

typedef struct {
    const char *name;
    const char *bytes;
    size_t len;
    int legacy;
    st_sd_what what;
    const char *want; /* NULL: accepted; else the refusal message holds it */
} sd_case;

#define OK(n, b)                                                                                   \
    {                                                                                              \
        n, b, sizeof(b) - 1, 0, ST_SD_STATE_DICT, NULL                                             \
    }
#define NO(n, b, w)                                                                                \
    {                                                                                              \
        n, b, sizeof(b) - 1, 0, ST_SD_STATE_DICT, w                                                \
    }
#define LEG(n, b, w)                                                                               \
    {                                                                                              \
        n, b, sizeof(b) - 1, 1, ST_SD_STATE_DICT, w                                                \
    }
#define KEYS(n, b, w)                                                                              \
    {                                                                                              \
        n, b, sizeof(b) - 1, 0, ST_SD_KEY_LIST, w                                                  \
    }

static const sd_case cases[] = {
    OK("basic", P2 "}" STR1("a") TENS("0") "s."),
    /* fuzz_convert: REDUCE with only empty tuples made (the tuple store was still empty) */
    OK("empty ordered dict", P2 "ccollections\nOrderedDict\n)R."),
    OK("setitems, memo, tied", P2 "}q\x00(" STR1("a") TENS("0") "q\x01" STR1("b") "h\x01u."),
    OK("long memo", P2 "}r\x00\x00\x00\x00(" STR1("a")
                        TENS("0") "r\x01\x00\x00\x00" STR1("b") "j\x01\x00\x00\x00u."),
    NO("proto 4",
       "\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01"
       "a\x8c\x0b"
       "collections\x8c\x0bOrderedDict\x93)R\x94s.",
       "\"a\" is a dict"),
    OK("dict by mark", P2 "(" STR1("a") TENS("0") "d."),
    OK("state_dict unwrapped", P2 "}" STR1("x") "K\x01s"
                                                "X\x0a\x00\x00\x00"
                                                "state_dict"
                                                "}" STR1("a") TENS("0") "s"
                                                                        "s"
                                                                        "."),
    OK("parameter",
       P2 "}" STR1("a") "ctorch._utils\n_rebuild_parameter\n(" TENS("0") "\x88" ODE "tRs."),
    OK("build on an OrderedDict", P2 ODE STR1("a") TENS("0") "s}" STR1("m") "K\x01sb."),
    OK("build with None", P2 ODE "Nb."),
    OK("ints", P2 "}" STR1("a") TENS_P(PID("0"), "J\x01\x00\x00\x00", "\x89") "s" STR1("b")
                   TENS_P(PID("1"), "M\x01\x00", "\x89") "s" STR1("c")
                       TENS_P(PID("2"), "\x8a\x00", "\x89") "s."),
    OK("two dtypes", P2 "}" STR1("a") TENS_P(PIDT("HalfStorage", "0"), "K\x00", "\x89") "s" STR1(
                         "b") TENS_P(PIDT("BoolStorage", "1"), "K\x00", "\x89") "s."),
    OK("utf-8 names", P2 "}X\x04\x00\x00\x00\xf0\x9f\x98\x80" TENS(
                          "0") "sX\x02\x00\x00\x00\xc3"
                               "\xa9" TENS("1") "sX\x03\x00\x00\x00\xe2\x82\xac" TENS("2") "s."),
    NO("empty pop", P2 "R", "pops an empty stack"),
    NO("no mark", P2 "t", "without a MARK"),
    NO("cut int", P2 "J\x01", "ends inside"),
    NO("cut long1", P2 "\x8a\x04\x01", "ends inside"),
    NO("cut long1 length", P2 "\x8a", "ends inside"),
    NO("cut unicode",
       P2 "X\x05\x00\x00\x00"
          "ab",
       "ends inside"),
    NO("cut proto", "\x80", "ends inside"),
    NO("cut frame", P2 "\x95\x01", "ends inside"),
    NO("cut memo", P2 "Nr\x01", "ends inside"),
    NO("tuple1 empty", P2 "\x85", "pops an empty stack"),
    NO("items to a list", P2 "](K\x01K\x02u", "items are added to a list"),
    NO("odd setitems", P2 "}(K\x01u", "odd number"),
    NO("setitems at bottom", P2 "(K\x01K\x02u", "no container"),
    NO("setitem empty", P2 "}K\x01s", "pops an empty stack"),
    NO("append empty", P2 "]a", "pops an empty stack"),
    NO("dict by mark, odd",
       P2 "(K\x01"
          "d",
       "odd number"),
    NO("put empty", P2 "q\x00", "of an empty stack"),
    NO("memo beyond", P2 "Nr\xff\xff\x00\x00.", "beyond the pickle"),
    NO("get empty", P2 "h\x05", "empty memo slot"),
    NO("get beyond", P2 "Nq\x00h\x01", "empty memo slot"),
    NO("os.system", P2 "cos\nsystem\n.", "global os.system"),
    NO("torch other", P2 "ctorch\nload\n.", "global torch.load"),
    NO("complex storage", P2 "ctorch\nComplexFloatStorage\n.", "ComplexFloatStorage"),
    NO("utils other", P2 "ctorch._utils\n_rebuild_qtensor\n.", "_rebuild_qtensor"),
    NO("collections other", P2 "ccollections\ndefaultdict\n.", "defaultdict"),
    NO("global cut", P2 "cos\nsys", "ends inside"),
    NO("global cut 2", P2 "cos", "ends inside"),
    NO("stack_global ints", P2 "K\x01K\x02\x93", "not a string"),
    NO("stack_global empty", P2 "\x93", "pops an empty stack"),
    NO("stack_global one", P2 STR1("a") "\x93", "pops an empty stack"),
    NO("two types",
       P2 "}" STR1("a") TENS("0") "s" STR1("b")
           TENS_P(PIDT("HalfStorage", "0"), "K\x00", "\x89") "s.",
       "two types"),
    NO("pid not a tuple", P2 STR1("x") "Q", "persistent id is not"),
    NO("pid wrong tag", P2 "(" STR1("x") "K\x01K\x02K\x03K\x04tQ", "persistent id is not"),
    NO("pid empty", P2 "Q", "pops an empty stack"),
    NO("pid field", P2 "(X\x07\x00\x00\x00storagectorch\nFloatStorage\nK\x01" STR1("c") "K\x04tQ",
       "field of another type"),
    NO("pid negative",
       P2 "(X\x07\x00\x00\x00storagectorch\nFloatStorage\n" STR1("0")
           STR1("c") "J\xff\xff\xff\xfftQ",
       "field of another type"),
    NO("pid type",
       P2 "(X\x07\x00\x00\x00storageccollections\nOrderedDict\n" STR1("0") STR1("c") "K\x01tQ",
       "field of another type"),
    NO("pid nul key",
       P2
       "(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00\x00" STR1("c") "K\x01tQ",
       "field of another type"),
    NO("pid location",
       P2 "(X\x07\x00\x00\x00storagectorch\nFloatStorage\n" STR1("0") "K\x01"
                                                                      "K\x01tQ",
       "field of another type"),
    NO("rank", P2 RB "(" PID("0") "K\x00K\x04K\x02\x86K\x01\x85\x89" ODE "tR.", "one rank"),
    NO("size not tuple", P2 RB "(" PID("0") "K\x00K\x04K\x01\x89" ODE "tR.", "one rank"),
    NO("size value", P2 RB "(" PID("0") "K\x00N\x85K\x01\x85\x89" ODE "tR.", "size holds"),
    NO("stride value", P2 RB "(" PID("0") "K\x00K\x04\x85N\x85\x89" ODE "tR.", "stride holds"),
    NO("seven args", P2 RB "(" PID("0") "K\x00K\x04\x85K\x01\x85\x89" ODE "NtR.", "six"),
    NO("requires_grad", P2 RB "(" PID("0") "K\x00K\x04\x85K\x01\x85K\x01" ODE "tR.", "other types"),
    NO("offset", P2 RB "(" PID("0") "NK\x04\x85K\x01\x85\x89" ODE "tR.", "other types"),
    NO("storage arg", P2 RB "(K\x01K\x00K\x04\x85K\x01\x85\x89" ODE "tR.", "other types"),
    NO("hooks", P2 RB "(" PID("0") "K\x00K\x04\x85K\x01\x85\x89}K\x01K\x02stR.", "other types"),
    NO("hooks list", P2 RB "(" PID("0") "K\x00K\x04\x85K\x01\x85\x89]tR.", "other types"),
    NO("reduce of a tuple", P2 ")K\x01\x85R", "REDUCE of a tuple"),
    NO("reduce args", P2 "ccollections\nOrderedDict\nK\x01R", "REDUCE of a global"),
    NO("reduce empty", P2 ")R", "pops an empty stack"),
    NO("odict args", P2 "ccollections\nOrderedDict\nK\x01\x85R", "built from arguments"),
    NO("parameter args", P2 "ctorch._utils\n_rebuild_parameter\nK\x01\x85R", "_rebuild_parameter"),
    NO("parameter grad", P2 "ctorch._utils\n_rebuild_parameter\n(" TENS("0") "K\x01" ODE "tR",
       "_rebuild_parameter"),
    NO("parameter hooks", P2 "ctorch._utils\n_rebuild_parameter\n(" TENS("0") "\x88K\x01tR",
       "_rebuild_parameter"),
    NO("storage called", P2 "ctorch\nFloatStorage\n)R", "a storage or tensor type"),
    NO("build on int", P2 "K\x01}b", "BUILD"),
    NO("build state",
       P2 "}K\x01"
          "b",
       "BUILD"),
    NO("build alone", P2 "}b", "BUILD"),
    NO("build empty", P2 "b", "pops an empty stack"),
    NO("proto 1", "\x80\x01N.", "protocol"),
    NO("proto 6", "\x80\x06N.", "protocol"),
    NO("opcode", P2 "G", "opcode 0x47"),
    NO("opcode text", P2 "I1\n.", "opcode 0x49"),
    NO("no stop", P2 "N", "without STOP"),
    NO("two values", P2 "NN.", "other than one value"),
    NO("mark left", P2 "N(.", "other than one value"),
    NO("key int", P2 "}K\x01" TENS("0") "s.", "key is int"),
    NO("key metadata", P2 "}X\x0c\x00\x00\x00__metadata__" TENS("0") "s.", "unusable string"),
    NO("key nul", P2 "}X\x01\x00\x00\x00\x00" TENS("0") "s.", "unusable string"),
    NO("key latin-1", P2 "}X\x01\x00\x00\x00\xff" TENS("0") "s.", "unusable"),
    NO("key overlong", P2 "}X\x02\x00\x00\x00\xc0\x80" TENS("0") "s.", "unusable"),
    NO("key surrogate", P2 "}X\x03\x00\x00\x00\xed\xa0\x80" TENS("0") "s.", "unusable"),
    NO("key overlong 3", P2 "}X\x03\x00\x00\x00\xe0\x80\x80" TENS("0") "s.", "unusable"),
    NO("key overlong 4", P2 "}X\x04\x00\x00\x00\xf0\x80\x80\x80" TENS("0") "s.", "unusable"),
    NO("key beyond", P2 "}X\x04\x00\x00\x00\xf4\x90\x80\x80" TENS("0") "s.", "unusable"),
    NO("key cut", P2 "}X\x02\x00\x00\x00\xe2\x82" TENS("0") "s.", "unusable"),
    NO("key continuation", P2 "}X\x02\x00\x00\x00\xc3(" TENS("0") "s.", "unusable"),
    NO("value int", P2 "}" STR1("a") "K\x01s.", "\"a\" is a int"),
    NO("value none", P2 "}" STR1("a") "Ns.", "\"a\" is a None"),
    NO("value bigint", P2 "}" STR1("a") "\x8a\x09\x01\x02\x03\x04\x05\x06\x07\x08\x09s.",
       "is a int"),
    NO("top list", P2 "].", "holds a list"),
    NO("state_dict list",
       P2 "}"
          "X\x0a\x00\x00\x00"
          "state_dict"
          "]s.",
       "not a dict"),
    NO("twice", P2 "}(" STR1("a") TENS("0") STR1("a") TENS("1") "u.", "twice"),
    LEG("legacy view",
        P2 "}" STR1("a") TENS_P("(X\x07\x00\x00\x00storagectorch\nFloatStorage\n" STR1("0")
                                    STR1("c") "K\x08(" STR1("v") "K\x02K\x04"
                                                                 "tt"
                                                                 "Q",
                                "K\x00", "\x89") "s" STR1("b")
            TENS_P("(X\x07\x00\x00\x00storagectorch\nFloatStorage\n" STR1("0") STR1("c") "K\x08NtQ",
                   "K\x00", "\x89") "s.",
        NULL),
    LEG("legacy view outside",
        P2 "(X\x07\x00\x00\x00storagectorch\nFloatStorage\n" STR1("0")
            STR1("c") "K\x04(" STR1("v") "K\x02K\x04tt"
                                         "Q",
        "outside its storage"),
    LEG("legacy view shape",
        P2 "(X\x07\x00\x00\x00storagectorch\nFloatStorage\n" STR1("0") STR1("c") "K\x04K\x01tQ",
        "view is not"),
    LEG("legacy view fields",
        P2 "(X\x07\x00\x00\x00storagectorch\nFloatStorage\n" STR1("0")
            STR1("c") "K\x04(" STR1("v") "NK\x01tt"
                                         "Q",
        "view is not"),
    LEG("legacy five",
        P2 "(X\x07\x00\x00\x00storagectorch\nFloatStorage\n" STR1("0") STR1("c") "K\x04tQ",
        "persistent id is not"),
    KEYS("keys", P2 "]q\x00(" STR1("0") STR1("1") "e" STR1("2") "a.", NULL),
    KEYS("keys dict", P2 "}.", "key list is a dict"),
    KEYS("keys int",
         P2 "](K\x01"
            "e.",
         "holds a int"),
};

static void test_statedict_cases(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const sd_case *c = &cases[i];
        st_report *r = st_report_new(ctx, c->name);
        st_sd sd;
        int refused = -1;
        st_error err = st_sd_read(ctx, r, (const unsigned char *)c->bytes, c->len, 0, c->legacy,
                                  c->what, &sd, &refused);
        int ok = err == ST_OK && (c->want == NULL ? !refused && r->n_findings == 0
                                                  : refused && r->n_findings == 1 &&
                                                        strcmp(r->findings[0].id, "ST670") == 0 &&
                                                        strstr(r->findings[0].message, c->want));
        if (!ok)
            printf("case \"%s\": err %d refused %d: %s\n", c->name, err, refused,
                   r->n_findings ? r->findings[0].message : "(no finding)");
        assert_true(ok);
        if (c->want == NULL)
            st_sd_free(&sd);
        st_report_free(r);
    }
    st_ctx_free(ctx);
}

static void test_statedict_values(void **state)
{
    (void)state;
    static const char tied[] = P2 "}q\x00(" STR1("a") TENS("0") "q\x01" STR1("b") "h\x01" STR1("c")
        TENS_P(PIDT("LongStorage", "1"), "K\x02", "\x88") "u.";
    st_ctx *ctx = st_ctx_new();
    st_report *r = st_report_new(ctx, "values");
    st_sd sd;
    int refused;
    assert_int_equal(st_sd_read(ctx, r, (const unsigned char *)tied, sizeof(tied) - 1, 0, 0,
                                ST_SD_STATE_DICT, &sd, &refused),
                     ST_OK);
    assert_int_equal(sd.n_tensors, 3);
    assert_int_equal(sd.n_storages, 2);
    assert_string_equal(sd.tensors[1].name, "b");
    assert_int_equal(sd.tensors[0].storage, sd.tensors[1].storage);
    assert_int_equal(sd.storages[1].dtype, ST_DT_I64);
    assert_int_equal(sd.tensors[2].offset, 2);
    assert_int_equal(sd.tensors[2].rank, 1);
    assert_int_equal(sd.tensors[2].size[0], 4);
    assert_int_equal(sd.tensors[2].stride[0], 1);
    st_sd_free(&sd);
    /* legacy: the view's offset counts from the root storage */
    const sd_case *lv = NULL;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (strcmp(cases[i].name, "legacy view") == 0)
            lv = &cases[i];
    assert_int_equal(st_sd_read(ctx, r, (const unsigned char *)lv->bytes, lv->len, 0, 1,
                                ST_SD_STATE_DICT, &sd, &refused),
                     ST_OK);
    assert_int_equal(sd.n_storages, 1);
    assert_int_equal(sd.tensors[0].offset, 2);
    assert_int_equal(sd.tensors[0].view_off, 2);
    assert_int_equal(sd.tensors[0].view_numel, 4);
    assert_int_equal(sd.tensors[1].view_numel, 8);
    st_sd_free(&sd);
    /* many storages: the key table grows */
    static const char head[] = P2 "}", t1[] = RB "((X\x07\x00\x00\x00storagectorch\nFloatStorage\n",
                      t2[] = "X\x03\x00\x00\x00"
                             "cpuK\x04tQK\x00K\x04\x85K\x01\x85\x89" ODE "tRs";
    unsigned char *big = malloc(300 * 400);
    size_t n = 0;
#define APP(p, l) (memcpy(big + n, p, l), n += (l))
    APP(head, sizeof(head) - 1);
    for (int i = 0; i < 300; i++) {
        char key[8];
        snprintf(key, sizeof(key), "%04d", i);
        unsigned char len4[5] = {'X', 4, 0, 0, 0};
        APP(len4, 5);
        APP(key, 4);
        APP(t1, sizeof(t1) - 1);
        APP(len4, 5);
        APP(key, 4);
        APP(t2, sizeof(t2) - 1);
    }
    APP(".", 1);
#undef APP
    assert_int_equal(st_sd_read(ctx, r, big, n, 0, 0, ST_SD_STATE_DICT, &sd, &refused), ST_OK);
    assert_int_equal(sd.n_storages, 300);
    st_sd_free(&sd);
    free(big);
    st_report_free(r);
    st_ctx_free(ctx);
}

static void test_statedict_limits(void **state)
{
    (void)state;
    static const char two[] = P2 "}" STR1("a") TENS("0") "s" STR1("b") TENS("1") "s.";
    static const char deep[] = P2 "NNNNNNNN.";
    static const char rank2[] = P2 "}" STR1("a") RB "(" PID("0") "K\x00K\x02K\x02\x86K\x02K\x01"
                                                                 "\x86\x89" ODE "tRs.";
    st_ctx *ctx = st_ctx_new();
    st_report *r = st_report_new(ctx, "limits");
    st_sd sd;
    int refused;
    st_ctx_set_limit(ctx, ST_LIMIT_PICKLE_STORAGES, 1);
    assert_int_equal(st_sd_read(ctx, r, (const unsigned char *)two, sizeof(two) - 1, 0, 0,
                                ST_SD_STATE_DICT, &sd, &refused),
                     ST_E_LIMIT);
    st_ctx_set_limit(ctx, ST_LIMIT_PICKLE_STACK, 4);
    assert_int_equal(st_sd_read(ctx, r, (const unsigned char *)deep, sizeof(deep) - 1, 0, 0,
                                ST_SD_STATE_DICT, &sd, &refused),
                     ST_E_LIMIT);
    st_ctx_set_limit(ctx, ST_LIMIT_PICKLE_STACK, 1000);
    st_ctx_set_limit(ctx, ST_LIMIT_RANK, 1);
    assert_int_equal(st_sd_read(ctx, r, (const unsigned char *)rank2, sizeof(rank2) - 1, 0, 0,
                                ST_SD_STATE_DICT, &sd, &refused),
                     ST_OK);
    assert_true(refused);
    assert_string_equal(r->findings[r->n_findings - 1].id, "ST670");
    assert_string_equal(r->findings[0].id, "ST901");
    st_report_free(r);
    st_ctx_free(ctx);
}

static void test_dtypes(void **state)
{
    (void)state;
    st_dtype d;
    assert_int_equal(st_dtype_parse("BF16", 4, &d), 0);
    assert_int_equal(d, ST_DT_BF16);
    assert_int_equal(st_dtype_size(d), 2);
    assert_string_equal(st_dtype_name(ST_DT_U64), "U64");
    assert_int_equal(st_dtype_parse("F128", 4, &d), -1);
}

/* ---- reading tensors -------------------------------------------------------------------- */

static st_cv_tensor view(uint64_t *dims, unsigned rank, uint64_t first, int contiguous)
{
    st_cv_tensor t = {.name = "t",
                      .name_len = 1,
                      .dtype = ST_DT_F32,
                      .rank = rank,
                      .shape = dims,
                      .stride = dims + rank,
                      .first = first,
                      .contiguous = contiguous};
    uint64_t numel = 1, last = 0;
    for (unsigned d = 0; d < rank; d++) {
        numel *= dims[d];
        last += (dims[d] - 1) * dims[rank + d];
    }
    t.numel = numel;
    t.span = last + 1;
    t.nbytes = numel * 4;
    return t;
}

static void test_fill(void **state)
{
    (void)state;
    enum { N = 2300000 }; /* over ST_CV_CACHE / 4 elements */
    uint32_t *s = malloc(N * sizeof(uint32_t)), out[16];
    for (uint32_t i = 0; i < N; i++)
        s[i] = i;
    st_src src = {-1, (const unsigned char *)s, (uint64_t)N * 4};
    st_cv_cache c = {0};
    /* a transposed 3x4 from offset 1: cached */
    uint64_t tr[] = {3, 4, 1, 3};
    st_cv_tensor t = view(tr, 2, 1, 0);
    assert_int_equal(st_cv_fill(&src, &t, 0, 12, (unsigned char *)out, &c), ST_OK);
    for (int i = 0; i < 12; i++)
        assert_int_equal(out[i], 1 + (uint32_t)(i / 4) + 3 * (uint32_t)(i % 4));
    assert_int_equal(st_cv_fill(&src, &t, 5, 3, (unsigned char *)out, &c), ST_OK);
    assert_int_equal(out[0], 1 + 1 + 3);
    assert_int_equal(st_cv_fill(&src, &t, 5, 0, (unsigned char *)out, &c), ST_OK);
    /* rows far apart: one read per row (not cached) */
    uint64_t rows[] = {3, 2, 1100000, 1};
    st_cv_tensor u = view(rows, 2, 7, 0);
    assert_int_equal(st_cv_fill(&src, &u, 0, 1, (unsigned char *)out, &c), ST_OK);
    assert_int_equal(out[0], 7);
    assert_int_equal(st_cv_fill(&src, &u, 1, 5, (unsigned char *)out, &c), ST_OK);
    assert_int_equal(out[0], 8);
    assert_int_equal(out[1], 1100007);
    assert_int_equal(out[4], 2200008);
    /* elements far apart: one read each */
    uint64_t far[] = {3, 1100000};
    st_cv_tensor f = view(far, 1, 0, 0);
    assert_int_equal(st_cv_fill(&src, &f, 0, 3, (unsigned char *)out, &c), ST_OK);
    assert_int_equal(out[2], 2200000);
    /* a byte-swapped contiguous tensor */
    uint64_t flat[] = {4, 1};
    st_cv_tensor sw = view(flat, 1, 0, 1);
    sw.swap = 1;
    assert_int_equal(st_cv_fill(&src, &sw, 0, 4, (unsigned char *)out, &c), ST_OK);
    assert_int_equal(out[1], 0x01000000u);
    /* reads past the source fail */
    st_src small = {-1, (const unsigned char *)s, 8};
    assert_int_equal(st_cv_fill(&small, &t, 0, 12, (unsigned char *)out, &c), ST_OK); /* cache */
    c.of = NULL;
    assert_int_equal(st_cv_fill(&small, &t, 0, 12, (unsigned char *)out, &c), ST_E_IO);
    uint64_t one[] = {1, 1};
    st_cv_tensor z = view(one, 1, 0, 0);
    assert_int_equal(st_cv_fill(&src, &z, 0, 0, (unsigned char *)out, &c), ST_OK);
    assert_int_equal(st_cv_fill(&small, &u, 0, 2, (unsigned char *)out, &c), ST_E_IO);
    assert_int_equal(st_cv_fill(&small, &sw, 0, 4, (unsigned char *)out, &c), ST_E_IO);
    st_cv_cache_free(&c);
    free(s);
}

/* ---- compare ---------------------------------------------------------------------------- */

static void test_compare(void **state)
{
    (void)state;
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 2, 3, 9, 5, 7};
    st_src sa = {-1, (const unsigned char *)a, sizeof(a)};
    st_src sb = {-1, (const unsigned char *)b, sizeof(b)};
    uint64_t d1[] = {2, 3, 3, 1}, d2[] = {3, 2, 2, 1}, d3[] = {6, 1};
    st_cv_tensor ta[] = {view(d1, 2, 0, 1), view(d1, 2, 0, 1), view(d1, 2, 0, 1),
                         view(d1, 2, 0, 1)};
    st_cv_tensor tb[] = {view(d1, 2, 0, 1), view(d2, 2, 0, 1), view(d3, 1, 0, 1),
                         view(d1, 2, 0, 1)};
    const char *na[] = {"same", "shape", "rank", "zz"}, *nb[] = {"same", "shape", "rank", "zy"};
    for (int i = 0; i < 4; i++) {
        ta[i].name = (char *)na[i];
        tb[i].name = (char *)nb[i];
    }
    tb[3].dtype = ST_DT_I32;
    st_cv_alias aa[] = {{"al", "same", {0}}, {"al2", "same", {0}}, {"al3", "same", {0}}};
    st_cv_alias ab[] = {{"al", "same", {0}}, {"al2", "shape", {0}}};
    st_cv_tensor tal3 = view(d1, 2, 0, 1), tal4 = view(d1, 2, 0, 1), tz = view(d1, 2, 0, 1);
    tal3.name = "al3";
    tal4.name = "al4";
    tz.name = "zzz";
    /* shapes too long to show whole */
    uint64_t w1[] = {1000000000000000,
                     1000000000000000,
                     1000000000000000,
                     1000000000000000,
                     1000000000000000,
                     1,
                     1,
                     1,
                     1,
                     1};
    uint64_t w2[] = {1000000000000000,
                     1000000000000000,
                     1000000000000000,
                     1000000000000000,
                     1000000000000001,
                     1,
                     1,
                     1,
                     1,
                     1};
    st_cv_tensor wa = view(w1, 5, 0, 1), wb = view(w2, 5, 0, 1);
    wa.name = wb.name = "wide";
    st_cv_tensor tax[6] = {ta[0], ta[1], ta[2], ta[3], tal4, wa};
    st_cv_tensor tbx[7] = {tb[0], tb[1], tb[2], tb[3], tal3, tz, wb};
    st_cv_alias abx[3] = {ab[0], ab[1], {"al4", "same", {0}}};
    st_cv_plan pa = {tax, 6, aa, 3}, pb = {tbx, 7, abx, 3};
    st_ctx *ctx = st_ctx_new();
    st_report *r = st_report_new(ctx, "cmp");
    int differs;
    assert_int_equal(st_cv_compare(&sa, &pa, &sb, &pb, r, &differs), ST_OK);
    assert_true(differs);
    const char *want[] = {"ST677", "ST677", "ST677", "ST677", "ST678",
                          "ST677", "ST677", "ST676", "ST675", "ST676"};
    for (size_t i = 0; i < r->n_findings; i++)
        printf("%s %s\n", r->findings[i].id, r->findings[i].message);
    assert_int_equal(r->n_findings, 10);
    for (size_t i = 0; i < 10; i++)
        assert_string_equal(r->findings[i].id, want[i]);
    st_report_free(r);
    /* identical plans; then a failing read */
    r = st_report_new(ctx, "same");
    st_cv_plan p1 = {ta, 1, NULL, 0};
    assert_int_equal(st_cv_compare(&sa, &p1, &sa, &p1, r, &differs), ST_OK);
    assert_false(differs);
    assert_int_equal(r->n_findings, 0);
    st_src cut = {-1, (const unsigned char *)a, 4};
    assert_int_equal(st_cv_compare(&sa, &p1, &cut, &p1, r, &differs), ST_E_IO);
    assert_int_equal(st_cv_compare(&cut, &p1, &sa, &p1, r, &differs), ST_E_IO);
    st_report_free(r);
    st_ctx_free(ctx);
}

/* ---- conversion into memory --------------------------------------------------------------- */

static unsigned char *slurp(const char *name, size_t *len)
{
    char path[4096];
    const char *dir = getenv("ST_CONVERT_DIR");
    assert_non_null(dir);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*len + 1);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

/* ---- plans built directly (the input check skipped: the plan's own checks) ---------------- */

typedef struct {
    const char *file, *format;
    st_error err;
    int refused;
    const char *id; /* the last finding, or NULL for none */
} plan_case;

static void test_plan_files(void **state)
{
    (void)state;
    static const plan_case pc[] = {
        {"zip.pt", "pytorch", ST_OK, 0, "ST674"},
        {"legacy.pt", "pytorch-legacy", ST_OK, 0, "ST674"},
        {"plan-oob.pt", "pytorch", ST_OK, 1, "ST672"},
        {"plan-short.pt", "pytorch", ST_OK, 1, "ST672"},
        {"plan-missing.pt", "pytorch", ST_OK, 1, "ST672"},
        {"plan-longkey.pt", "pytorch", ST_OK, 1, "ST672"},
        {"plan-byteorder.pt", "pytorch", ST_OK, 1, "ST672"},
        {"plan-nofolder.pt", "pytorch", ST_E_UNSUPPORTED, 0, NULL},
        {"plan-nopkl.pt", "pytorch", ST_E_UNSUPPORTED, 0, NULL},
        {"plan-refused.pt", "pytorch", ST_OK, 1, "ST670"},
        {"refuse-deflated.pt", "pytorch", ST_OK, 1, "ST672"},
        {"truncated.pt", "pytorch", ST_E_UNSUPPORTED, 0, NULL},
        {"plan-leg-ok.pt", "pytorch-legacy", ST_OK, 0, NULL},
        {"plan-leg-views.pt", "pytorch-legacy", ST_OK, 0, "ST674"},
        {"plan-leg-unknown.pt", "pytorch-legacy", ST_OK, 1, "ST672"},
        {"plan-leg-twice.pt", "pytorch-legacy", ST_OK, 1, "ST672"},
        {"plan-leg-unlisted.pt", "pytorch-legacy", ST_OK, 1, "ST672"},
        {"plan-leg-count.pt", "pytorch-legacy", ST_OK, 1, "ST672"},
        {"plan-leg-cut.pt", "pytorch-legacy", ST_OK, 1, "ST672"},
        {"plan-leg-keysdict.pt", "pytorch-legacy", ST_OK, 1, "ST670"},
        {"plan-leg-refused.pt", "pytorch-legacy", ST_OK, 1, "ST670"},
        {"plan-leg-short.pt", "pytorch-legacy", ST_E_UNSUPPORTED, 0, NULL},
        {"zip.pt", "numpy", ST_E_UNSUPPORTED, 0, NULL},
        {"plan-huge.pt", "pytorch", ST_OK, 1, "ST672"},
        {"plan-empty-view.pt", "pytorch", ST_OK, 0, "ST674"},
        {"plan-bug.pt", "pytorch", ST_OK, 1, "ST672"},
        {"plan-numel.pt", "pytorch", ST_OK, 1, "ST672"},
        {"plan-emptyzip.pt", "pytorch", ST_E_UNSUPPORTED, 0, NULL},
        {"plan-longfolder.pt", "pytorch", ST_E_UNSUPPORTED, 0, NULL},
        {"plan-nulfolder.pt", "pytorch", ST_E_UNSUPPORTED, 0, NULL},
        {"plan-empty.pt", "pytorch", ST_OK, 0, NULL},
        {"arrays.npz", "npz", ST_OK, 0, NULL},
        {"npz-v2.npz", "npz", ST_OK, 0, NULL},
        {"npz-twice.npz", "npz", ST_OK, 1, "ST672"},
        {"npz-short.npz", "npz", ST_OK, 1, "ST672"},
        {"npz-hugeheader.npz", "npz", ST_OK, 1, "ST672"},
        {"npz-mixed.npz", "npz", ST_OK, 1, "ST672"},
        {"npz-bad-00.npz", "npz", ST_OK, 1, "ST672"},
        {"npz-bad-01.npz", "npz", ST_OK, 1, "ST672"},
        {"npz-bad-02.npz", "npz", ST_OK, 1, "ST672"},
        {"npz-bad-03.npz", "npz", ST_OK, 1, "ST672"},
        {"npz-bad-04.npz", "npz", ST_OK, 1, "ST672"},
        {"npz-bad-05.npz", "npz", ST_OK, 1, "ST672"},
        {"npz-bad-06.npz", "npz", ST_OK, 1, "ST672"},
        {"npz-bad-07.npz", "npz", ST_OK, 1, "ST672"},
        {"npz-bad-08.npz", "npz", ST_OK, 1, "ST672"},
        {"npz-bad-09.npz", "npz", ST_OK, 1, "ST672"},
        {"npz-bad-10.npz", "npz", ST_OK, 1, "ST672"},
        {"npz-bad-11.npz", "npz", ST_OK, 1, "ST672"},
        {"npz-bad-12.npz", "npz", ST_OK, 1, "ST672"},
        {"npz-bad-13.npz", "npz", ST_OK, 1, "ST672"},
        {"npz-bad-14.npz", "npz", ST_OK, 1, "ST672"},
        {"npz-bad-15.npz", "npz", ST_OK, 1, "ST672"},
        {"npz-bad-16.npz", "npz", ST_OK, 1, "ST672"},
        {"npz-bad-17.npz", "npz", ST_OK, 1, "ST672"},
        {"npz-bad-18.npz", "npz", ST_OK, 1, "ST672"},
        {"npz-bad-19.npz", "npz", ST_OK, 1, "ST672"},
        {"npz-big1.npz", "npz", ST_OK, 0, NULL},
        {"npz-noext.npz", "npz", ST_OK, 1, "ST672"},
        {"npz-longheader.npz", "npz", ST_OK, 1, "ST672"},
        /* tar checkpoints (gen_checkpoints.py tar_files) */
        {"tar.pt", "pytorch-tar", ST_OK, 0, "ST674"},
        {"tar-views.pt", "pytorch-tar", ST_OK, 0, "ST674"},
        {"tar-module.pt", "pytorch-tar", ST_OK, 0, NULL},
        {"tar-ok.pt", "pytorch-tar", ST_OK, 0, NULL},
        {"tar-pid-int.pt", "pytorch-tar", ST_OK, 0, NULL},
        {"tar-pid-neg.pt", "pytorch-tar", ST_OK, 0, NULL},
        {"tar-pid-text.pt", "pytorch-tar", ST_OK, 1, "ST670"},
        {"tar-pid-tuple.pt", "pytorch-tar", ST_OK, 1, "ST670"},
        {"tar-pid-none.pt", "pytorch-tar", ST_OK, 1, "ST670"},
        {"tar-pid-unknown.pt", "pytorch-tar", ST_OK, 1, "ST672"},
        {"tar-pid-storage.pt", "pytorch-tar", ST_OK, 1, "ST670"},
        {"tar-count-str.pt", "pytorch-tar", ST_OK, 1, "ST670"},
        {"tar-count-big.pt", "pytorch-tar", ST_OK, 1, "ST670"},
        {"tar-count-raw.pt", "pytorch-tar", ST_OK, 1, "ST672"},
        {"tar-storage-cut.pt", "pytorch-tar", ST_OK, 1, "ST672"},
        {"tar-storage-nocount.pt", "pytorch-tar", ST_OK, 1, "ST672"},
        {"tar-storage-location.pt", "pytorch-tar", ST_OK, 1, "ST670"},
        {"tar-storage-type.pt", "pytorch-tar", ST_OK, 1, "ST670"},
        {"tar-storage-keytype.pt", "pytorch-tar", ST_OK, 1, "ST670"},
        {"tar-storage-notuple.pt", "pytorch-tar", ST_OK, 1, "ST670"},
        {"tar-storage-twice.pt", "pytorch-tar", ST_OK, 1, "ST672"},
        {"tar-views-dict.pt", "pytorch-tar", ST_OK, 1, "ST670"},
        {"tar-views-list.pt", "pytorch-tar", ST_OK, 1, "ST670"},
        {"tar-views-neg.pt", "pytorch-tar", ST_OK, 1, "ST670"},
        {"tar-views-root.pt", "pytorch-tar", ST_OK, 1, "ST672"},
        {"tar-views-outside.pt", "pytorch-tar", ST_OK, 1, "ST672"},
        {"tar-views-twice.pt", "pytorch-tar", ST_OK, 1, "ST672"},
        {"tar-views-keytype.pt", "pytorch-tar", ST_OK, 1, "ST670"},
        {"tar-views-roottype.pt", "pytorch-tar", ST_OK, 1, "ST670"},
        {"tar-views-nested.pt", "pytorch-tar", ST_OK, 0, NULL},
        {"tar-tensor-notuple.pt", "pytorch-tar", ST_OK, 1, "ST670"},
        {"tar-tensor-type.pt", "pytorch-tar", ST_OK, 1, "ST670"},
        {"tar-tensor-reftype.pt", "pytorch-tar", ST_OK, 1, "ST670"},
        {"tar-tensor-storage.pt", "pytorch-tar", ST_OK, 1, "ST672"},
        {"tar-tensor-oftensor.pt", "pytorch-tar", ST_OK, 1, "ST672"},
        {"tar-tensor-twice.pt", "pytorch-tar", ST_OK, 1, "ST672"},
        {"tar-tensor-cut.pt", "pytorch-tar", ST_OK, 1, "ST672"},
        {"tar-tensor-ndim.pt", "pytorch-tar", ST_OK, 1, "ST672"},
        {"tar-tensor-rank.pt", "pytorch-tar", ST_OK, 1, "ST672"},
        {"tar-tensor-negative.pt", "pytorch-tar", ST_OK, 1, "ST672"},
        {"tar-tensor-offset.pt", "pytorch-tar", ST_OK, 1, "ST672"},
        {"tar-tensor-oob.pt", "pytorch-tar", ST_OK, 1, "ST672"},
        {"tar-tensor-count.pt", "pytorch-tar", ST_OK, 1, "ST672"},
        {"tar-tensor-0d.pt", "pytorch-tar", ST_OK, 0, NULL},
        {"tar-main-list.pt", "pytorch-tar", ST_OK, 1, "ST670"},
        {"tar-main-garbage.pt", "pytorch-tar", ST_OK, 1, "ST672"},
        {"tar-views-offset.pt", "pytorch-tar", ST_OK, 1, "ST672"},
        {"tar-plain-main.pt", "pytorch-tar", ST_OK, 0, NULL},
        {"tar-memo-storage.pt", "pytorch-tar", ST_OK, 0, NULL},
        {"tar-nomember.pt", "pytorch-tar", ST_E_UNSUPPORTED, 0, NULL},
        {"zip.pt", "pytorch-tar", ST_E_UNSUPPORTED, 0, NULL},
    };
    st_ctx *ctx = st_ctx_new();
    for (size_t i = 0; i < sizeof(pc) / sizeof(pc[0]); i++) {
        size_t len;
        unsigned char *b = slurp(pc[i].file, &len);
        st_src src = {-1, b, len};
        st_report *r = st_report_new(ctx, pc[i].file);
        st_cv_plan p;
        int refused = -1;
        st_error err = st_cv_plan_build(ctx, r, &src, pc[i].file, pc[i].format, 1, &p, &refused);
        const char *last = r->n_findings ? r->findings[r->n_findings - 1].id : NULL;
        int ok = err == pc[i].err && refused == pc[i].refused &&
                 (pc[i].id == NULL ? last == NULL : last != NULL && strcmp(last, pc[i].id) == 0);
        if (!ok || getenv("ST_CONVERT_VERBOSE"))
            printf("%s: err %d refused %d last %s (%s)\n", pc[i].file, err, refused,
                   last ? last : "-", r->n_findings ? r->findings[r->n_findings - 1].message : "");
        assert_true(ok);
        if (err == ST_OK && !refused && strcmp(pc[i].file, "plan-leg-views.pt") == 0) {
            assert_int_equal(p.n, 3); /* "v" covers its view storage; "w" is an alias */
            assert_int_equal(p.n_alias, 1);
            assert_string_equal(p.alias[0].name, "w");
            float out[4];
            assert_int_equal(st_cv_fill(&src, &p.t[0], 0, 4, (unsigned char *)out, NULL), ST_OK);
            assert_true(out[0] == 4.0f && out[3] == 7.0f);
        }
        st_cv_plan_free(&p);
        st_report_free(r);
        free(b);
    }
    /* tar: limits of the walker framing each record, of the storages, of the object pickle */
    static const struct {
        st_limit lim;
        uint64_t value;
        const char *file;
    } tl[] = {{ST_LIMIT_PICKLE_MEMO, 3, "tar-memo-storage.pt"},
              {ST_LIMIT_PICKLE_MEMO, 3, "tar-plain-main.pt"},
              {ST_LIMIT_PICKLE_STORAGES, 1, "tar.pt"},
              {ST_LIMIT_MEMBER_BYTES, 8, "tar-ok.pt"}};
    for (size_t i = 0; i < sizeof(tl) / sizeof(tl[0]); i++) {
        st_ctx *lc = st_ctx_new();
        size_t len;
        unsigned char *b = slurp(tl[i].file, &len);
        st_src src = {-1, b, len};
        st_report *r = st_report_new(lc, "limit");
        st_cv_plan p;
        int refused;
        st_ctx_set_limit(lc, tl[i].lim, tl[i].value);
        st_error err = st_cv_plan_build(lc, r, &src, "limit", "pytorch-tar", 1, &p, &refused);
        if (err != ST_E_LIMIT)
            printf("tar limit case %zu: err %d refused %d\n", i, err, refused);
        assert_int_equal(err, ST_E_LIMIT);
        st_report_free(r);
        free(b);
        st_ctx_free(lc);
    }
    /* a limit while reading the state dict is an error, not a refusal */
    st_ctx_set_limit(ctx, ST_LIMIT_PICKLE_STORAGES, 1);
    for (int legacy = 0; legacy < 2; legacy++) {
        size_t len;
        unsigned char *b = slurp(legacy ? "legacy.pt" : "zip.pt", &len);
        st_src src = {-1, b, len};
        st_report *r = st_report_new(ctx, "limit");
        st_cv_plan p;
        int refused;
        assert_int_equal(st_cv_plan_build(ctx, r, &src, "limit",
                                          legacy ? "pytorch-legacy" : "pytorch", 1, &p, &refused),
                         ST_E_LIMIT);
        st_report_free(r);
        free(b);
    }
    st_ctx_free(ctx);
}

/* safetensors headers the plan reader refuses (the check refuses them first) */
static void test_plan_safetensors(void **state)
{
    (void)state;
    static const char *bad[] = {
        "[]",
        "{\"a\":1}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}",
        "{\"a\":{\"dtype\":1,\"shape\":[1],\"data_offsets\":[0,4]}}",
        "{\"a\":{\"dtype\":\"Q8\",\"shape\":[1],\"data_offsets\":[0,4]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}",
        "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}",
        "{\"a\\u0000\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,8]}}",
        "{\"__metadata__\":[]}",
        "{\"__metadata__\":{\"k\":1}}",
        "{\"__metadata__\":{\"k\":\"v\"",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1",
        "{\"a\":",
        "",
    };
    st_ctx *ctx = st_ctx_new();
    for (size_t i = 0; i <= sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned char buf[300];
        size_t n = i < sizeof(bad) / sizeof(bad[0]) ? strlen(bad[i]) : 250;
        memset(buf, 0, sizeof(buf));
        for (int k = 0; k < 8; k++)
            buf[k] = (unsigned char)(n >> (8 * k));
        if (i < sizeof(bad) / sizeof(bad[0]))
            memcpy(buf + 8, bad[i], n);
        st_src src = {-1, buf, i < sizeof(bad) / sizeof(bad[0]) ? 8 + n + 4 : 20};
        st_report *r = st_report_new(ctx, "st");
        st_cv_plan p;
        int refused;
        st_error err = st_cv_plan_build(ctx, r, &src, "st", "safetensors", 0, &p, &refused);
        if (err != ST_E_UNSUPPORTED)
            printf("header %zu: err %d\n", i, err);
        assert_int_equal(err, ST_E_UNSUPPORTED);
        st_report_free(r);
    }
    /* aliases: a key naming no tensor whose value names one; other metadata is kept out */
    static const char good[] = "{\"__metadata__\":{\"format\":\"pt\",\"b\":\"a\",\"a\":\"x\",\"c\":"
                               "\"nothing\"},\"a\":{\"dtype\":\"F32\",\"shape\":[],"
                               "\"data_offsets\":[0,4]}}";
    unsigned char buf[300] = {0};
    buf[0] = (unsigned char)(sizeof(good) - 1);
    memcpy(buf + 8, good, sizeof(good) - 1);
    st_src src = {-1, buf, 8 + sizeof(good) - 1 + 4};
    st_report *r = st_report_new(ctx, "st");
    st_cv_plan p;
    int refused;
    assert_int_equal(st_cv_plan_build(ctx, r, &src, "st", "safetensors", 0, &p, &refused), ST_OK);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.t[0].rank, 0);
    assert_int_equal(p.n_alias, 1);
    assert_string_equal(p.alias[0].name, "b");
    st_cv_plan_free(&p);
    st_report_free(r);
    st_ctx_free(ctx);
}

static void test_convert_buffer(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    size_t zl, ll, ol, ol2;
    unsigned char *z = slurp("zip.pt", &zl), *l = slurp("legacy.pt", &ll), *o, *o2;
    st_report *r = st_cv_convert_buffer(ctx, z, zl, &o, &ol, 1u << 20);
    assert_int_equal(st_report_verdict(r), ST_VERDICT_PASS);
    assert_non_null(o);
    st_report_free(r);
    r = st_cv_convert_buffer(ctx, l, ll, &o2, &ol2, 1u << 20);
    assert_int_equal(st_report_verdict(r), ST_VERDICT_PASS);
    assert_int_equal(ol, ol2);
    assert_memory_equal(o, o2, ol);
    st_report_free(r);
    free(o2);
    /* a tar checkpoint of the same state dict gives the same bytes */
    size_t tl;
    unsigned char *t = slurp("tar.pt", &tl);
    r = st_cv_convert_buffer(ctx, t, tl, &o2, &ol2, 1u << 20);
    assert_int_equal(st_report_verdict(r), ST_VERDICT_PASS);
    assert_int_equal(ol, ol2);
    assert_memory_equal(o, o2, ol);
    st_report_free(r);
    free(o2);
    free(t);
    /* the output must fit the bound */
    r = st_cv_convert_buffer(ctx, z, zl, &o2, &ol2, 100);
    assert_int_equal(st_report_verdict(r), ST_VERDICT_ERROR);
    assert_null(o2);
    st_report_free(r);
    /* a tensor repeating its storage (stride 0) beyond the member limit */
    st_ctx_set_limit(ctx, ST_LIMIT_MEMBER_BYTES, 16);
    r = st_cv_convert_buffer(ctx, l, ll, &o2, &ol2, 1u << 20);
    assert_int_equal(st_report_verdict(r), ST_VERDICT_ERROR);
    assert_string_equal(r->findings[r->n_findings - 1].id, "ST901");
    st_report_free(r);
    st_ctx_set_limit(ctx, ST_LIMIT_MEMBER_BYTES, 1u << 30);
    /* a safetensors input is no checkpoint; its plan is what compare reads */
    r = st_cv_convert_buffer(ctx, o, ol, &o2, &ol2, 1u << 20);
    assert_int_equal(st_report_verdict(r), ST_VERDICT_ERROR);
    assert_string_equal(r->findings[0].id, "ST670");
    st_report_free(r);
    /* a failing input is not converted */
    r = st_cv_convert_buffer(ctx, z, zl / 2, &o2, &ol2, 1u << 20);
    assert_int_equal(st_report_verdict(r), ST_VERDICT_FAIL);
    st_report_free(r);
    /* refusals and output failures in memory */
    static const struct {
        const char *file, *id;
    } refuse[] = {{"refuse-format.pt", "ST670"}, {"refuse-control.pt", "ST673"}};
    for (size_t i = 0; i < 2; i++) {
        size_t len;
        unsigned char *b = slurp(refuse[i].file, &len);
        r = st_cv_convert_buffer(ctx, b, len, &o2, &ol2, 1u << 20);
        assert_int_equal(st_report_verdict(r), ST_VERDICT_FAIL);
        assert_null(o2);
        assert_string_equal(r->findings[r->n_findings - 1].id, refuse[i].id);
        st_report_free(r);
        free(b);
    }
    /* the memory output grows by doubling up to its bound */
    size_t bl, bol;
    unsigned char *big = slurp("plan-big.pt", &bl), *bo;
    r = st_cv_convert_buffer(ctx, big, bl, &bo, &bol, 1u << 20);
    assert_int_equal(st_report_verdict(r), ST_VERDICT_PASS);
    st_report_free(r);
    free(bo);
    size_t bounds[] = {bol, bol - 1, 4};
    for (size_t i = 0; i < 3; i++) {
        r = st_cv_convert_buffer(ctx, big, bl, &bo, &ol2, bounds[i]);
        assert_int_equal(st_report_verdict(r), i == 0 ? ST_VERDICT_PASS : ST_VERDICT_ERROR);
        st_report_free(r);
        free(bo);
    }
    free(big);
    /* an output exactly as large as the bound */
    r = st_cv_convert_buffer(ctx, z, zl, &o2, &ol2, ol);
    assert_int_equal(st_report_verdict(r), ST_VERDICT_PASS);
    assert_int_equal(ol2, ol);
    st_report_free(r);
    free(o2);
    assert_null(st_convert_path(NULL, "a", "b"));
    assert_null(st_convert_path(ctx, NULL, "b"));
    assert_null(st_convert_path(ctx, "a", NULL));
    assert_null(st_compare_paths(ctx, NULL, "b"));
    assert_null(st_compare_paths(ctx, "a", NULL));
    assert_null(st_compare_paths(NULL, "a", "b"));
    free(o);
    free(z);
    free(l);
    st_ctx_free(ctx);
}

/* ---- sharded checkpoints ------------------------------------------------------------------ */

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.' || strncmp(e->d_name, ".stcheck", 8) == 0;
    closedir(d);
    return n;
}

static void empty_dir(const char *dir)
{
    DIR *d = opendir(dir);
    char path[4200];
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
            unlink(path);
        }
    closedir(d);
}

static void fixture_path(const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s/%s", getenv("ST_CONVERT_DIR"), name);
}

static void test_shards(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    char tmpl[] = "/tmp/stcheck-convert-XXXXXX", in[4200], out[4300];
    char *dir = mkdtemp(tmpl);
    assert_non_null(dir);
    /* a good set into a folder, then into an index name of its own; compare both ways */
    fixture_path("shards/pytorch_model.bin.index.json", in, sizeof(in));
    st_report *r = st_convert_path(ctx, in, dir);
    assert_int_equal(st_report_verdict(r), ST_VERDICT_PASS);
    assert_int_equal(count_files(dir), 3);
    st_report_free(r);
    snprintf(out, sizeof(out), "%s/model.safetensors.index.json", dir);
    r = st_compare_paths(ctx, in, out);
    assert_int_equal(st_report_verdict(r), ST_VERDICT_PASS);
    assert_int_equal(r->n_findings, 0);
    st_report_free(r);
    char zip[4200];
    fixture_path("zip.pt", zip, sizeof(zip));
    r = st_compare_paths(ctx, zip, out); /* a single file against a set */
    assert_int_equal(st_report_verdict(r), ST_VERDICT_PASS);
    st_report_free(r);
    snprintf(out, sizeof(out), "%s/model-00001-of-00002.safetensors", dir);
    r = st_compare_paths(ctx, in, out); /* one shard against the set: the other's are missing */
    assert_int_equal(st_report_verdict(r), ST_VERDICT_FAIL);
    assert_string_equal(r->findings[0].id, "ST675");
    st_report_free(r);
    snprintf(out, sizeof(out), "%s/named.index.json", dir);
    r = st_convert_path(ctx, in, out);
    assert_int_equal(st_report_verdict(r), ST_VERDICT_PASS);
    assert_int_equal(count_files(dir), 4);
    st_report_free(r);
    empty_dir(dir);
    /* an output that is neither a folder nor an .index.json name */
    snprintf(out, sizeof(out), "%s/x.safetensors", dir);
    r = st_convert_path(ctx, in, out);
    assert_int_equal(st_report_verdict(r), ST_VERDICT_ERROR);
    assert_string_equal(r->findings[r->n_findings - 1].id, "ST673");
    st_report_free(r);
    snprintf(out, sizeof(out), "%s/%0300d.index.json", dir, 0);
    /* a name too long for the index: its rename fails after the shards', which are undone */
    r = st_convert_path(ctx, in, out);
    assert_int_equal(st_report_verdict(r), ST_VERDICT_ERROR);
    assert_string_equal(r->findings[r->n_findings - 1].id, "ST673");
    assert_int_equal(count_files(dir), 0);
    st_report_free(r);
    /* the second shard's rename fails (a folder holds its name): the first is removed again */
    char block[200];
    snprintf(block, sizeof(block), "%s/model-00002-of-00002.safetensors", dir);
    assert_int_equal(mkdir(block, 0755), 0);
    snprintf(out, sizeof(out), "%s/in", block);
    assert_int_equal(mkdir(out, 0755), 0);
    r = st_convert_path(ctx, in, dir);
    assert_int_equal(st_report_verdict(r), ST_VERDICT_ERROR);
    assert_string_equal(r->findings[r->n_findings - 1].id, "ST673");
    assert_int_equal(count_files(dir), 1);
    st_report_free(r);
    rmdir(out);
    rmdir(block);
    snprintf(out, sizeof(out), "%s/absent/x.index.json", dir);
    r = st_convert_path(ctx, in, out);
    assert_int_equal(st_report_verdict(r), ST_VERDICT_ERROR);
    st_report_free(r);
    /* sets convert refuses after the index check passed: no file is left */
    static const struct {
        const char *index, *id;
        st_verdict v;
    } bad[] = {
        {"shards-bad/extra.index.json", "ST670", ST_VERDICT_FAIL},
        {"shards-bad/fewer.index.json", "ST670", ST_VERDICT_FAIL},
        {"shards-bad/refused.index.json", "ST670", ST_VERDICT_FAIL},
        {"shards-bad/evil.index.json", "ST618", ST_VERDICT_FAIL},
        {"shards-bad/missing.index.json", "ST612", ST_VERDICT_FAIL},
        {"shards-bad/meta.index.json", NULL, ST_VERDICT_PASS},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fixture_path(bad[i].index, in, sizeof(in));
        r = st_convert_path(ctx, in, dir);
        int ok =
            st_report_verdict(r) == bad[i].v &&
            (bad[i].id == NULL ? 1
                               : r->n_findings > 0 && strcmp(r->findings[0].id, bad[i].id) == 0);
        if (!ok)
            printf("%s: %s %s\n", bad[i].index, st_verdict_name(st_report_verdict(r)),
                   r->n_findings ? r->findings[0].id : "-");
        assert_true(ok);
        assert_int_equal(count_files(dir), bad[i].id == NULL ? 2 : 0);
        st_report_free(r);
        empty_dir(dir);
    }
    /* the set reader alone, past the index check: indexes it would refuse */
    static const struct {
        const char *index;
        int plan_rc; /* st_cv_index_plan */
    } unreadable[] = {
        {"shards-bad/badjson.index.json", -1},    {"shards-bad/empty.index.json", 0},
        {"shards-bad/missing.index.json", -1},    {"shards-bad/evil.index.json", -1},
        {"shards-bad/absent.index.json", -1},     {"shards-bad/notobj.index.json", -1},
        {"shards-bad/wmnotobj.index.json", -1},   {"shards-bad/wmval.index.json", -1},
        {"shards-bad/metacut.index.json", -1},    {"shards-bad/metaval.index.json", 0},
        {"shards-bad/wmcut.index.json", -1},      {"shards-bad/longname.index.json", -1},
        {"shards-bad/emptyshard.index.json", -1}, {"shards-bad/pickle.index.json", -1},
        {"shards-bad/refused.index.json", -1},    {"shards-bad/slash.index.json", -1},
        {"shards-bad/dotdot.index.json", -1},
    };
    for (size_t i = 0; i < sizeof(unreadable) / sizeof(unreadable[0]); i++) {
        fixture_path(unreadable[i].index, in, sizeof(in));
        r = st_report_new(ctx, "set");
        st_cv_convert_index(ctx, r, in, dir);
        assert_int_equal(r->n_findings > 0, 1);
        assert_int_equal(count_files(dir), 0);
        st_cv_set set;
        int rc = st_cv_index_plan(ctx, r, in, &set);
        if (rc != unreadable[i].plan_rc)
            printf("%s: %d\n", unreadable[i].index, rc);
        assert_int_equal(rc, unreadable[i].plan_rc);
        st_cv_set_free(&set);
        st_report_free(r);
    }
    /* an index too large to be one (sparse), output names too short or too long */
    snprintf(out, sizeof(out), "%s/huge.index.json", dir);
    int hfd = open(out, O_WRONLY | O_CREAT, 0644);
    assert_int_equal(ftruncate(hfd, 65 << 20), 0);
    close(hfd);
    r = st_report_new(ctx, "huge");
    st_cv_set set;
    assert_int_equal(st_cv_index_plan(ctx, r, out, &set), -1);
    st_cv_set_free(&set);
    st_report_free(r);
    unlink(out);
    fixture_path("shards/pytorch_model.bin.index.json", in, sizeof(in));
    char *longname = malloc(5001);
    memset(longname, 'x', 5000);
    longname[5000] = '\0';
    const char *names[] = {"x", longname};
    for (int i = 0; i < 2; i++) {
        r = st_convert_path(ctx, in, names[i]);
        assert_int_equal(st_report_verdict(r), ST_VERDICT_ERROR);
        assert_string_equal(r->findings[r->n_findings - 1].id, "ST673");
        st_report_free(r);
    }
    free(longname);
    /* relative names: the shards beside a bare index name, the output in the current folder */
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    fixture_path("shards", in, sizeof(in));
    assert_int_equal(chdir(in), 0);
    r = st_convert_path(ctx, "pytorch_model.bin.index.json", "rel.index.json");
    assert_int_equal(st_report_verdict(r), ST_VERDICT_PASS);
    st_report_free(r);
    assert_int_equal(unlink("rel.index.json"), 0);
    assert_int_equal(unlink("model-00001-of-00002.safetensors"), 0);
    assert_int_equal(unlink("model-00002-of-00002.safetensors"), 0);
    assert_int_equal(chdir(cwd), 0);
    rmdir(dir);
    st_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statedict_cases),
        cmocka_unit_test(test_statedict_values),
        cmocka_unit_test(test_statedict_limits),
        cmocka_unit_test(test_dtypes),
        cmocka_unit_test(test_fill),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_convert_buffer),
        cmocka_unit_test(test_plan_files),
        cmocka_unit_test(test_plan_safetensors),
        cmocka_unit_test(test_shards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
