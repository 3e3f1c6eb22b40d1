/*
 * test_safetensors.c - every numbered check of the safetensors validator on crafted buffers,
 * asserting the exact set of finding ids and the verdict.
 */
#include "test_util.h"

#define PASS ST_VERDICT_PASS
#define FAIL ST_VERDICT_FAIL
#define NOCHECK ST_VERDICT_ERROR
#define T_U8_1 "{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}"

/* 1. Framing */
static void test_framing(void **state)
{
    st_ctx *ctx = *state;
    size_t len;
    unsigned char b[16] = {0};

    st_report *r = tu_check_raw(ctx, b, 7);
    tu_assert_ids(r, "ST101");
    assert_int_equal(st_report_verdict(r), FAIL);
    st_report_free(r);

    r = tu_check_raw(ctx, b, 10); /* N = 0 */
    tu_assert_ids(r, "ST102");
    st_report_free(r);

    uint64_t big = 100000001u;
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(big >> (8 * i));
    r = tu_check_raw(ctx, b, 16);
    tu_assert_ids(r, "ST103");
    st_report_free(r);

    memset(b, 0xFF, 8); /* N = 2^64 - 1: 8 + N must not wrap */
    r = tu_check_raw(ctx, b, 16);
    tu_assert_ids(r, "ST103");
    st_report_free(r);

    unsigned char *f = tu_frame("{}", 2, 0, 1, &len);
    r = tu_check_raw(ctx, f, len - 1); /* header cut short by one byte */
    tu_assert_ids(r, "ST104");
    assert_int_equal(st_report_verdict(r), FAIL);
    st_report_free(r);
    free(f);

    /* A policy limit below the format's: could not check, not a pass. */
    st_ctx *low = st_ctx_new();
    assert_int_equal(st_ctx_set_limit(low, ST_LIMIT_HEADER_BYTES, 8), ST_OK);
    r = tu_check(low, "{\"a\":" T_U8_1 "}", 1);
    tu_assert_ids(r, "ST901");
    assert_int_equal(st_report_verdict(r), NOCHECK);
    assert_int_equal(st_report_error(r), ST_E_LIMIT);
    st_report_free(r);
    assert_int_equal(st_ctx_set_limit(low, ST_LIMIT_HEADER_BYTES, 100000001u), ST_E_INVAL);
    st_ctx_free(low);
}

/* 2. JSON text */
static void test_json_text(void **state)
{
    st_ctx *ctx = *state;
    tu_expect(ctx, "{\"a\xff\":{}}", 0, "ST105", FAIL);
    tu_expect(ctx, "{\"\xc0\xaf\":1}", 0, "ST105", FAIL);         /* overlong '/' */
    tu_expect(ctx, "{\"\xed\xa0\x80\":1}", 0, "ST105", FAIL);     /* UTF-8 surrogate */
    tu_expect(ctx, "{\"\xf4\x90\x80\x80\":1}", 0, "ST105", FAIL); /* above U+10FFFF */
    tu_expect(ctx, "{\xff}", 0, "ST105", FAIL);                   /* outside a string */
    tu_expect(ctx, "\xef\xbb\xbf{}", 0, "ST106", FAIL);
    tu_expect(ctx, "{\"a\x01\":1}", 0, "ST107", FAIL);
    tu_expect(ctx, "{\"a\":" T_U8_1 ",}", 1, "ST108", FAIL);
    tu_expect(ctx, "{\"\\ud800\":1}", 0, "ST108", FAIL);
    tu_expect(ctx, "{\"\\udc00x\":1}", 0, "ST108", FAIL);
    tu_expect(ctx, "{\"\\x41\":1}", 0, "ST108", FAIL);
    tu_expect(ctx, "{'a':1}", 0, "ST108", FAIL);
    tu_expect(ctx, "{\"a\":" T_U8_1, 1, "ST108", FAIL); /* unterminated */
    tu_expect(ctx, "{\"a\\u0000b\":" T_U8_1 "}", 1, "ST109,ST133", FAIL);
    tu_expect(ctx, "[]", 0, "ST110", FAIL);
    tu_expect(ctx, "\"x\"", 0, "ST110", FAIL);
    tu_expect(ctx, "\n {\"a\":" T_U8_1 "}", 1, "ST111", PASS);
    tu_expect(ctx, "{\"a\":" T_U8_1 "}\r\n", 1, "ST112", PASS);
    tu_expect(ctx, "{}x", 0, "ST113", FAIL);
    tu_expect(ctx, "{} {}", 0, "ST113", FAIL);

    /* Raw NUL inside the header (not expressible as a C string literal). */
    size_t len;
    unsigned char *b = tu_frame("{\"a\0\":1}", 8, 0, 1, &len);
    st_report *r = tu_check_raw(ctx, b, len);
    tu_assert_ids(r, "ST107");
    st_report_free(r);
    free(b);
    b = tu_frame("{}\0", 3, 0, 1, &len); /* NUL padding is not the spec's space padding */
    r = tu_check_raw(ctx, b, len);
    tu_assert_ids(r, "ST113");
    st_report_free(r);
    free(b);

    /* Depth is bounded without recursion: a limit finding and "could not check". */
    char deep[600];
    int n = snprintf(deep, sizeof(deep),
                     "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\""
                     ":[0,1],\"x\":");
    for (int i = 0; i < 200; i++)
        deep[n++] = '[';
    deep[n] = '\0';
    tu_expect(ctx, deep, 1, "ST117,ST901", NOCHECK);
}

/* 3. Duplicate keys at any level, compared after unescaping */
static void test_duplicates(void **state)
{
    st_ctx *ctx = *state;
    tu_expect(ctx, "{\"a\":" T_U8_1 ",\"a\":" T_U8_1 "}", 1, "ST114", FAIL);
    tu_expect(ctx, "{\"a\":" T_U8_1 ",\"\\u0061\":" T_U8_1 "}", 1, "ST114", FAIL);
    tu_expect(ctx,
              "{\"a\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
              "ST114", FAIL);
    tu_expect(ctx, "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "ST114", FAIL);
    tu_expect(ctx, "{\"__metadata__\":{},\"__metadata__\":{}}", 0, "ST114", FAIL);
    /* The same key in different objects is fine; "\u00e9" and "é" are the same key. */
    tu_expect(ctx,
              "{\"a\":" T_U8_1 ",\"b\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[1,1]}}", 1,
              "", PASS);
    tu_expect(ctx, "{\"\\u00e9\":" T_U8_1 ",\"\xc3\xa9\":" T_U8_1 "}", 1, "ST114", FAIL);

    /* A large object (sorted duplicate check): the duplicate is the last of 40 keys. */
    char big[8192];
    size_t n = (size_t)snprintf(big, sizeof(big), "{");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n,
                              "%s\"t%d\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[%d,%d]}",
                              i ? "," : "", i == 39 ? 7 : i, i, i + 1);
    snprintf(big + n, sizeof(big) - n, "}");
    tu_expect(ctx, big, 40, "ST114", FAIL);
}

/* 4. Tensor entry encodings */
static void test_tensor_entries(void **state)
{
    st_ctx *ctx = *state;
    tu_expect(ctx, "{\"a\":[\"U8\",[1],[0,1]]}", 1, "ST115,ST129", FAIL);
    tu_expect(ctx, "{\"a\":null}", 0, "ST115", FAIL);
    tu_expect(ctx, "{\"a\":{\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "ST116", FAIL);
    tu_expect(ctx, "{\"a\":{\"dtype\":\"U8\",\"data_offsets\":[0,1]}}", 1, "ST116", FAIL);
    tu_expect(ctx, "{\"a\":{\"dtype\":\"U8\",\"shape\":[1]}}", 1, "ST116,ST129", FAIL);
    tu_expect(ctx,
              "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":{\"y\":[1]}}}",
              1, "ST117", PASS);
    tu_expect(ctx, "{\"a\":{\"dtype\":{\"F32\":null},\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
              "ST118", FAIL);
    tu_expect(ctx, "{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "ST118", FAIL);
}

/* 5. dtype: each of the 22 with its size; anything else is unknown */
static void test_dtypes(void **state)
{
    static const struct {
        const char *name;
        unsigned bits;
    } dt[] = {{"BOOL", 8},    {"U8", 8},      {"I8", 8},          {"F8_E5M2", 8},
              {"F8_E4M3", 8}, {"F8_E8M0", 8}, {"F8_E4M3FNUZ", 8}, {"F8_E5M2FNUZ", 8},
              {"I16", 16},    {"U16", 16},    {"F16", 16},        {"BF16", 16},
              {"I32", 32},    {"U32", 32},    {"F32", 32},        {"I64", 64},
              {"U64", 64},    {"F64", 64},    {"C64", 64},        {"F4", 4},
              {"F6_E2M3", 6}, {"F6_E3M2", 6}};
    st_ctx *ctx = *state;
    char h[256];
    for (size_t i = 0; i < sizeof(dt) / sizeof(dt[0]); i++) {
        unsigned bytes = dt[i].bits; /* 8 elements */
        snprintf(h, sizeof(h), "{\"a\":{\"dtype\":\"%s\",\"shape\":[8],\"data_offsets\":[0,%u]}}",
                 dt[i].name, bytes);
        tu_expect(ctx, h, bytes, "", PASS);
        /* one byte short: the size check must use exactly this dtype's width */
        snprintf(h, sizeof(h), "{\"a\":{\"dtype\":\"%s\",\"shape\":[8],\"data_offsets\":[0,%u]}}",
                 dt[i].name, bytes - 1);
        tu_expect(ctx, h, bytes - 1, "ST125", FAIL);
    }
    tu_expect(ctx, "{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "ST119",
              FAIL);
    tu_expect(ctx, "{\"a\":{\"dtype\":\"F32 \",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "ST119",
              FAIL);
    tu_expect(ctx, "{\"a\":{\"dtype\":\"\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "ST119",
              FAIL);
}

/* 6. shape: plain integers only; overflow; sub-byte */
static void test_shape(void **state)
{
    st_ctx *ctx = *state;
#define SHAPE(s, off) "{\"a\":{\"dtype\":\"U8\",\"shape\":" s ",\"data_offsets\":" off "}}"
    tu_expect(ctx, SHAPE("[1.0]", "[0,1]"), 1, "ST120", FAIL);
    tu_expect(ctx, SHAPE("[1.0,2]", "[0,2]"), 2, "ST120", FAIL); /* later plain dims not used */
    tu_expect(ctx, SHAPE("[4e0]", "[0,4]"), 4, "ST120", FAIL);
    tu_expect(ctx, SHAPE("[-0]", "[0,0]"), 0, "ST120", FAIL);
    tu_expect(ctx, SHAPE("[-1]", "[0,0]"), 0, "ST120", FAIL);
    tu_expect(ctx, SHAPE("[\"1\"]", "[0,1]"), 1, "ST120", FAIL);
    tu_expect(ctx, SHAPE("[[1]]", "[0,1]"), 1, "ST120", FAIL);
    tu_expect(ctx, SHAPE("1", "[0,1]"), 1, "ST120", FAIL);
    tu_expect(ctx, SHAPE("[18446744073709551616]", "[0,0]"), 0, "ST120", FAIL);
    tu_expect(ctx, SHAPE("[01]", "[0,1]"), 1, "ST108", FAIL);
    tu_expect(ctx, SHAPE("[0x1]", "[0,1]"), 1, "ST108", FAIL);
    tu_expect(ctx, SHAPE("[18446744073709551615]", "[0,18446744073709551615]"), 0, "ST121,ST128",
              FAIL);
    tu_expect(ctx, SHAPE("[4294967296,4294967296]", "[0,0]"), 0, "ST121", FAIL);
    tu_expect(ctx, SHAPE("[0,9223372036854775808,4]", "[0,0]"), 0, "ST121", FAIL);
    tu_expect(ctx, SHAPE("[]", "[0,1]"), 1, "", PASS); /* a scalar: one element */
    tu_expect(ctx, SHAPE("[2,0,3]", "[0,0]"), 0, "", PASS);
    tu_expect(ctx,
              "{\"a\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,0]}}",
              0, "ST121", FAIL);
    tu_expect(ctx, "{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2, "ST122",
              FAIL);
    tu_expect(ctx, "{\"a\":{\"dtype\":\"F6_E3M2\",\"shape\":[3],\"data_offsets\":[0,3]}}", 3,
              "ST122", FAIL);
#undef SHAPE
}

/* 7. data_offsets */
static void test_offsets(void **state)
{
    st_ctx *ctx = *state;
#define OFFS(o) "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":" o "}}"
    tu_expect(ctx, OFFS("[0,2,2]"), 2, "ST123,ST129", FAIL);
    tu_expect(ctx, OFFS("[0]"), 2, "ST123,ST129", FAIL);
    tu_expect(ctx, OFFS("[]"), 2, "ST123,ST129", FAIL);
    tu_expect(ctx, OFFS("[0,2.0]"), 2, "ST123,ST129", FAIL);
    tu_expect(ctx, OFFS("\"0,2\""), 2, "ST123,ST129", FAIL);
    tu_expect(ctx, OFFS("[2,0]"), 2, "ST124,ST129", FAIL);
    tu_expect(ctx, OFFS("[0,3]"), 3, "ST125", FAIL);
    tu_expect(ctx, OFFS("[0,18446744073709551616]"), 2, "ST123,ST129", FAIL);
#undef OFFS
}

/* 8. Coverage of the data section */
static void test_coverage(void **state)
{
    st_ctx *ctx = *state;
#define U8(name, n, b, e)                                                                          \
    "\"" name "\":{\"dtype\":\"U8\",\"shape\":[" #n "],\"data_offsets\":[" #b "," #e "]}"
    tu_expect(ctx, "{" U8("b", 4, 4, 8) "," U8("a", 4, 0, 4) "}", 8, "", PASS);
    tu_expect(ctx, "{" U8("a", 4, 0, 4) "," U8("b", 4, 8, 12) "}", 12, "ST126", FAIL);
    tu_expect(ctx, "{" U8("a", 4, 4, 8) "}", 8, "ST126", FAIL);
    tu_expect(ctx, "{" U8("a", 8, 0, 8) "," U8("b", 4, 4, 8) "}", 8, "ST127", FAIL);
    tu_expect(ctx, "{" U8("a", 8, 0, 8) "," U8("b", 8, 0, 8) "}", 8, "ST127", FAIL);
    tu_expect(ctx, "{" U8("a", 8, 0, 8) "," U8("z", 0, 4, 4) "}", 8, "ST127", FAIL);
    tu_expect(ctx, "{" U8("a", 8, 0, 8) "}", 4, "ST128", FAIL);
    tu_expect(ctx, "{" U8("a", 4, 0, 4) "}", 8, "ST129", FAIL);
    /* zero-size tensors on tile boundaries, including both ends */
    tu_expect(ctx,
              "{" U8("z0", 0, 0, 0) "," U8("a", 4, 0, 4) "," U8("z1", 0, 4, 4) "," U8(
                  "b", 4, 4, 8) "," U8("z2", 0, 8, 8) "}",
              8, "", PASS);
    tu_expect(ctx, "{" U8("z", 0, 9, 9) "," U8("a", 8, 0, 8) "}", 8, "ST128", FAIL);
    tu_expect(ctx, "{}", 0, "ST138", PASS);
    tu_expect(ctx, "{}", 4, "ST129,ST138", FAIL);
#undef U8
}

/* 9. __metadata__ */
static void test_metadata(void **state)
{
    st_ctx *ctx = *state;
    tu_expect(ctx, "{\"__metadata__\":{\"format\":\"pt\"},\"a\":" T_U8_1 "}", 1, "", PASS);
    tu_expect(ctx, "{\"__metadata__\":{},\"a\":" T_U8_1 "}", 1, "", PASS);
    tu_expect(ctx, "{\"__metadata__\":[\"x\"],\"a\":" T_U8_1 "}", 1, "ST130", FAIL);
    tu_expect(ctx, "{\"__metadata__\":null,\"a\":" T_U8_1 "}", 1, "ST130", FAIL);
    tu_expect(ctx, "{\"__metadata__\":{\"e\":3},\"a\":" T_U8_1 "}", 1, "ST131", FAIL);
    tu_expect(ctx, "{\"__metadata__\":{\"e\":{\"x\":\"y\"}},\"a\":" T_U8_1 "}", 1, "ST131", FAIL);
    tu_expect(ctx, "{\"__meta\\u0064ata__\":{\"e\":true},\"a\":" T_U8_1 "}", 1, "ST131", FAIL);
}

/* 10. Review warnings and info */
static void test_review(void **state)
{
    st_ctx *ctx = *state;
    tu_expect(ctx, "{\"\":" T_U8_1 "}", 1, "ST132", PASS);
    tu_expect(ctx, "{\"a\\tb\":" T_U8_1 "}", 1, "ST133", PASS);
    tu_expect(ctx,
              "{\"a\xe2\x80\xae"
              "b\":" T_U8_1 "}",
              1, "ST133", PASS); /* U+202E */
    tu_expect(ctx, "{\"__metadata__\":{\"u\":\"https://x.invalid\"},\"a\":" T_U8_1 "}", 1, "ST135",
              PASS);
    tu_expect(ctx, "{\"__metadata__\":{\"u\":\"EVAL(1)\"},\"a\":" T_U8_1 "}", 1, "ST135", PASS);
    tu_expect(ctx, "{\"__metadata__\":{\"u\":\"a\\u0000b\"},\"a\":" T_U8_1 "}", 1, "ST137", PASS);
    tu_expect(ctx,
              "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
              "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}",
              6, "ST136", PASS);

    size_t vlen = 70000, len;
    char *h = malloc(vlen + 64);
    assert_non_null(h);
    int n = snprintf(h, 64, "{\"__metadata__\":{\"blob\":\"");
    memset(h + n, 'x', vlen);
    snprintf(h + n + vlen, 64, "\"}}");
    tu_expect(ctx, h, 0, "ST134,ST138", PASS);
    free(h);

    /* Unpadded header: data starts off an 8-byte boundary (info only). */
    const char *hdr = "{\"a\":" T_U8_1 "}";
    unsigned char *b = tu_frame(hdr, strlen(hdr), 1, 0, &len);
    st_report *r = tu_check_raw(ctx, b, len);
    tu_assert_ids(r, (strlen(hdr) + 8) % 8 ? "ST139" : "");
    st_report_free(r);
    free(b);
}

/* Warnings fail under strict mode; info never fails. */
static void test_strict(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    st_ctx_set_strict(ctx, 1);
    tu_expect(ctx, "{\"\":" T_U8_1 "}", 1, "ST132", FAIL);
    tu_expect(ctx, "{}", 0, "ST138", PASS);
    tu_expect(ctx, "{\"a\":" T_U8_1 "}", 1, "", PASS);
    st_ctx_free(ctx);
}

/* Tensors listed in reverse offset order (the sorting path), one overlap among them. */
static void test_unsorted_coverage(void **state)
{
    st_ctx *ctx = *state;
    size_t n_t = 500, cap = n_t * 80 + 16, n = 1;
    char *h = malloc(cap);
    assert_non_null(h);
    h[0] = '{';
    for (size_t i = n_t; i-- > 0;)
        n += (size_t)snprintf(
            h + n, cap - n,
            "%s\"t%zu\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[%zu,%zu]}",
            i + 1 < n_t ? "," : "", i, 2 * i, 2 * i + 2);
    snprintf(h + n, cap - n, "}");
    tu_expect(ctx, h, 2 * n_t, "", PASS);
    char *p = strstr(h, "[600,602]"); /* move t300 back one byte: overlap, then a gap */
    assert_non_null(p);
    memcpy(p, "[599,601]", 9);
    tu_expect(ctx, h, 2 * n_t, "ST126,ST127", FAIL);
    free(h);
}

/* Findings are bounded; the verdict still counts every one. */
static void test_findings_cap(void **state)
{
    st_ctx *ctx = *state;
    size_t n_t = 3000, cap = n_t * 64 + 16, n = 1;
    char *h = malloc(cap);
    assert_non_null(h);
    h[0] = '{';
    for (size_t i = 0; i < n_t; i++) /* every tensor misnamed with a tab: one warning each */
        n += (size_t)snprintf(
            h + n, cap - n,
            "%s\"\\t%zu\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[%zu,%zu]}",
            i ? "," : "", i, i, i + 1);
    snprintf(h + n, cap - n, "}");
    st_report *r = tu_check(ctx, h, n_t);
    assert_int_equal(st_report_count_severity(r, ST_SEV_WARNING), n_t);
    assert_true(st_report_finding_count(r) <= 1001);
    assert_int_equal(st_report_tensor_count(r), n_t);
    st_report_free(r);
    free(h);
}

/* Identification: unnamed garbage is "could not check"; a .safetensors name is checked. */
static void test_identify(void **state)
{
    st_ctx *ctx = *state;
    st_report *r = st_check_buffer(ctx, "hello world, not a model", 24, "notes.txt");
    tu_assert_ids(r, "ST903");
    assert_int_equal(st_report_verdict(r), NOCHECK);
    assert_string_equal(st_report_format(r), "unknown");
    st_report_free(r);
    r = st_check_buffer(ctx, "hello world, not a model", 24, "x.safetensors");
    assert_int_equal(st_report_verdict(r), FAIL);
    st_report_free(r);
    r = st_check_buffer(ctx, "", 0, "empty.bin");
    assert_int_equal(st_report_verdict(r), NOCHECK);
    st_report_free(r);
}

/* A syntax error in every value position: each parser returns the scanner's error (ST108). */
static void test_syntax_in_every_position(void **state)
{
    st_ctx *ctx = *state;
    static const struct {
        const char *hdr, *ids;
    } bad[] = {
        {"x}", "ST108"},                                          /* the first token */
        {"{\"a\":x}", "ST108"},                                   /* a tensor entry */
        {"{\"a\":{x}}", "ST108"},                                 /* a field name */
        {"{\"a\":{\"dtype\":x}}", "ST108"},                       /* dtype */
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":x}}", "ST108"},      /* shape */
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1,x]}}", "ST108"},  /* a dimension */
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[[1,]]}}", "ST108"}, /* a skipped one */
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":x}}", "ST108"},
        {"{\"a\":{\"dtype\":[1,]}}", "ST108,ST118"}, /* a skipped dtype */
        {"{\"a\":{\"dtype\":\"U8\",\"x\":{,}}}", "ST108,ST117"},
        {"{\"a\":{\"dtype\":\"U8\",\"x\":}}", "ST108,ST117"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,x]}}",
         "ST108"},                                          /* an extra field */
        {"{\"__metadata__\":x}", "ST108"},                  /* __metadata__ */
        {"{\"__metadata__\":[,]}", "ST108,ST130"},          /* a skipped one */
        {"{\"__metadata__\":{x}}", "ST108"},                /* a metadata key */
        {"{\"__metadata__\":{\"k\":x}}", "ST108"},          /* a metadata value */
        {"{\"__metadata__\":{\"k\":[1,]}}", "ST108,ST131"}, /* a skipped value */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        st_report *r = tu_check(ctx, bad[i].hdr, 0);
        tu_assert_report(r, bad[i].hdr, bad[i].ids, FAIL);
        st_report_free(r);
    }
}

/* The rank limit: a shape with more dimensions than the policy allows is not checked. */
static void test_rank_limit(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_RANK, 2), ST_OK);
    tu_expect(ctx, "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1],\"data_offsets\":[0,1]}}", 1, "",
              PASS);
    st_report *r =
        tu_check(ctx, "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1],\"data_offsets\":[0,1]}}", 1);
    tu_assert_ids(r, "ST901");
    assert_int_equal(st_report_verdict(r), NOCHECK);
    assert_int_equal(st_report_error(r), ST_E_LIMIT);
    st_report_free(r);
    st_ctx_free(ctx);
}

/* The start of the header: a BOM is exactly EF BB BF (a partial one is invalid UTF-8), and a
 * header shorter than three bytes is read as it is. */
static void test_header_start(void **state)
{
    st_ctx *ctx = *state;
    tu_expect(ctx, "\xef\xbb{}", 0, "ST105", FAIL);
    tu_expect(ctx, "\xef{}", 0, "ST105", FAIL);
    size_t len;
    unsigned char *b = tu_frame("{}", 2, 0, 0, &len); /* N = 2: no room for a BOM */
    st_report *r = tu_check_raw(ctx, b, len);
    tu_assert_ids(r, "ST138,ST139");
    assert_int_equal(st_report_verdict(r), PASS);
    st_report_free(r);
    free(b);
    b = tu_frame("1", 1, 0, 0, &len);
    r = tu_check_raw(ctx, b, len);
    tu_assert_ids(r, "ST110,ST139");
    assert_int_equal(st_report_verdict(r), FAIL);
    st_report_free(r);
    free(b);
}

/* Identification by content: a header opening with any JSON whitespace is safetensors under
 * any name; other bytes only under a .safetensors name. */
static void test_sniff_whitespace(void **state)
{
    st_ctx *ctx = *state;
    static const char *const ws[] = {" ", "\t", "\r", "\n"};
    for (size_t i = 0; i < 4; i++) {
        char hdr[64];
        snprintf(hdr, sizeof(hdr), "%s{\"a\":" T_U8_1 "}", ws[i]);
        size_t len;
        unsigned char *b = tu_frame(hdr, strlen(hdr), 1, 1, &len);
        st_report *r = st_check_buffer(ctx, b, len, "model.bin");
        assert_string_equal(st_report_format(r), "safetensors");
        tu_assert_ids(r, "ST111");
        assert_int_equal(st_report_verdict(r), PASS);
        st_report_free(r);
        free(b);
    }
    size_t len;
    unsigned char *b = tu_frame("x", 1, 0, 1, &len); /* fits, but not JSON-looking */
    st_report *r = st_check_buffer(ctx, b, len, "model.bin");
    assert_string_not_equal(st_report_format(r), "safetensors");
    st_report_free(r);
    r = st_check_buffer(ctx, b, len, "model.safetensors");
    assert_string_equal(st_report_format(r), "safetensors");
    tu_assert_ids(r, "ST108");
    st_report_free(r);
    free(b);
    /* shorter than the 8-byte length and one header byte */
    r = st_check_buffer(ctx, "\x01\0\0\0\0\0\0\0", 8, "m.safetensors");
    assert_string_equal(st_report_format(r), "safetensors");
    tu_assert_ids(r, "ST104");
    st_report_free(r);
}

/* Required __metadata__ (policy): a key of the same length but other text is not the required
 * one; a value of the same length but other text does not meet it. */
static void test_required_metadata(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    char err[256];
    assert_int_equal(st_ctx_load_policy_text(ctx,
                                             "{\"safetensors\":{\"require_metadata\":"
                                             "{\"format\":\"pt\",\"license\":true}}}",
                                             NULL, err, sizeof(err)),
                     ST_OK);
    tu_expect(ctx, "{\"__metadata__\":{\"format\":\"pt\",\"license\":\"mit\"},\"a\":" T_U8_1 "}", 1,
              "", PASS);
    tu_expect(ctx, "{\"__metadata__\":{\"format\":\"tf\",\"license\":\"x\"},\"a\":" T_U8_1 "}", 1,
              "ST140", FAIL);
    tu_expect(ctx, "{\"__metadata__\":{\"format\":\"pt\",\"licensf\":\"x\"},\"a\":" T_U8_1 "}", 1,
              "ST140", FAIL);
    tu_expect(ctx, "{\"__metadata__\":{\"format\":\"pt\",\"license\":1},\"a\":" T_U8_1 "}", 1,
              "ST131,ST140", FAIL);
    tu_expect(ctx, "{\"__metadata__\":{\"format\":\"pytorch\",\"license\":\"x\"},\"a\":" T_U8_1 "}",
              1, "ST140", FAIL);
    tu_expect(ctx, "{\"a\":" T_U8_1 "}", 1, "ST140", FAIL);
    st_ctx_free(ctx);
}

/* A shard index checked without its folder (a buffer): its shards are not checked, which is
 * an error (ST617), never a pass. */
static void test_index_without_folder(void **state)
{
    st_ctx *ctx = *state;
    static const char one[] = "{\"weight_map\":{\"a\":\"x.safetensors\"}}";
    st_report *r = st_check_buffer(ctx, one, strlen(one), "m.safetensors.index.json");
    assert_string_equal(st_report_format(r), "shard-index");
    tu_assert_ids(r, "ST617");
    assert_int_equal(st_report_verdict(r), FAIL);
    assert_string_equal(st_report_finding(r, 0)->message,
                        "the index's folder is not known here: its 1 shard was not checked");
    st_report_free(r);
    static const char two[] = "{\"weight_map\":{\"a\":\"x.safetensors\",\"b\":\"y.safetensors\"}}";
    r = st_check_buffer(ctx, two, strlen(two), "m.safetensors.index.json");
    tu_assert_ids(r, "ST617");
    assert_string_equal(st_report_finding(r, 0)->message,
                        "the index's folder is not known here: its 2 shards were not checked");
    st_report_free(r);
}

/* Records sorted by offset: equal begins are ordered by their ends, both ways. */
static void test_equal_begins(void **state)
{
    st_ctx *ctx = *state;
#define U8E(name, n, b, e)                                                                         \
    "\"" name "\":{\"dtype\":\"U8\",\"shape\":[" #n "],\"data_offsets\":[" #b "," #e "]}"
    tu_expect(ctx, "{" U8E("a", 4, 0, 4) "," U8E("z", 0, 0, 0) "," U8E("b", 4, 4, 8) "}", 8, "",
              PASS);
    tu_expect(ctx, "{" U8E("z", 0, 0, 0) "," U8E("a", 4, 0, 4) "," U8E("b", 4, 4, 8) "}", 8, "",
              PASS);
#undef U8E
}

/* Writes a little-endian float32 bit pattern at p. */
static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Builds header + data (data_len bytes, zero) into a malloc'd buffer; returns it and sets
 * *base to the data section's file offset. */
static unsigned char *deep_file(const char *hdr, size_t data_len, size_t *len, size_t *base)
{
    unsigned char *b = tu_frame(hdr, strlen(hdr), data_len, 1, len);
    *base = *len - data_len;
    return b;
}

/* --deep: NaN/Inf counting is skipped when the ranges overlap or run past the file; elements
 * split across the 1 MiB read chunks are carried; tensors that start in a later chunk, end at
 * the end of the file or are followed by trailing bytes are each finished once. */
static void test_deep_pass(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    st_ctx_set_deep(ctx, 1);
    size_t len, base;
    unsigned char *b;

    /* an Inf alone is reported; a NaN in overlapping or cut ranges is never read */
    b = deep_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, &len,
                  &base);
    put_u32(b + base, 0x7f800000u);
    tu_expect_buf(ctx, b, len, "t.safetensors", "ST141", PASS);
    free(b);
    b = deep_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                  8, &len, &base);
    put_u32(b + base, 0x7fc00000u);
    tu_expect_buf(ctx, b, len, "t.safetensors", "ST127", FAIL);
    free(b);
    b = deep_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, &len,
                  &base);
    put_u32(b + base, 0x7fc00000u);
    tu_expect_buf(ctx, b, len, "t.safetensors", "ST128", FAIL);
    free(b);
    b = deep_file("{}", 0, &len, &base);
    tu_expect_buf(ctx, b, len, "t.safetensors", "ST138", PASS);
    free(b);
    /* an unknown dtype is not counted (its bytes hold a NaN pattern) */
    b = deep_file("{\"a\":{\"dtype\":\"F31\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, &len,
                  &base);
    put_u32(b + base, 0x7fc00000u);
    tu_expect_buf(ctx, b, len, "t.safetensors", "ST119", FAIL);
    free(b);
    /* trailing bytes after the last tensor: it is finished inside the read loop */
    b = deep_file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, &len,
                  &base);
    put_u32(b + base, 0x7fc00000u);
    tu_expect_buf(ctx, b, len, "t.safetensors", "ST129,ST141", FAIL);
    free(b);

    /* Across chunks of C = 1 MiB (offsets below are in the data section, which starts at hb):
     * a (U8) ends 2 bytes before the first boundary; b (F32, one element in 3 bytes: ST125,
     * and off its 4-byte alignment: ST136) straddles it and ends in the next piece, its element
     * never completed; c (F32, 4 elements, a NaN first) straddles the second boundary, its
     * element completed from the carry; after a gap (ST126) d (F32, an Inf) starts in the
     * fourth chunk and runs to the end of the file; z is empty at the end. */
    const size_t C = (size_t)1 << 20, hb = 8 + 384; /* header padded to 384 bytes below */
    size_t e1 = C - hb - 2, c0 = 2 * C - hb - 2, d0 = 3 * C - hb + 8, end = d0 + 4;
    char hdr[512];
    int n = snprintf(hdr, sizeof(hdr),
                     "{\"a\":{\"dtype\":\"U8\",\"shape\":[%zu],\"data_offsets\":[0,%zu]},"
                     "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[%zu,%zu]},"
                     "\"c\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[%zu,%zu]},"
                     "\"d\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[%zu,%zu]},"
                     "\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[%zu,%zu]}}",
                     e1, e1, e1, e1 + 3, c0, c0 + 16, d0, end, end, end);
    assert_true(n > 0 && n <= 384);
    memset(hdr + n, ' ', 384 - (size_t)n);
    b = tu_frame(hdr, 384, end, 0, &len);
    assert_int_equal(len, hb + end);
    put_u32(b + hb + c0, 0x7fc00000u); /* split 2 + 2 across the second boundary */
    put_u32(b + hb + d0, 0xff800000u);
    st_report *r = tu_check_raw(ctx, b, len);
    tu_assert_ids(r, "ST125,ST126,ST136,ST141");
    assert_int_equal(st_report_verdict(r), FAIL);
    size_t nan_inf = 0;
    for (size_t i = 0; i < st_report_finding_count(r); i++) {
        const st_finding *f = st_report_finding(r, i);
        if (strcmp(f->id, "ST141") != 0)
            continue;
        nan_inf++;
        if (strstr(f->message, "\"c\"") != NULL)
            assert_non_null(strstr(f->message, "1 NaN"));
        else
            assert_non_null(strstr(f->message, "\"d\""));
    }
    assert_int_equal(nan_inf, 2);
    st_report_free(r);
    /* the same with --digest: one read serves both, and the digest covers the whole file */
    st_ctx_set_digest(ctx, 1);
    r = tu_check_raw(ctx, b, len);
    tu_assert_ids(r, "ST125,ST126,ST136,ST141");
    assert_int_equal(strlen(st_report_sha256(r)), 64);
    st_report_free(r);
    free(b);
    st_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_json_text),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_tensor_entries),
        cmocka_unit_test(test_dtypes),
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_coverage),
        cmocka_unit_test(test_metadata),
        cmocka_unit_test(test_review),
        cmocka_unit_test(test_strict),
        cmocka_unit_test(test_findings_cap),
        cmocka_unit_test(test_identify),
        cmocka_unit_test(test_unsorted_coverage),
        cmocka_unit_test(test_syntax_in_every_position),
        cmocka_unit_test(test_rank_limit),
        cmocka_unit_test(test_header_start),
        cmocka_unit_test(test_sniff_whitespace),
        cmocka_unit_test(test_required_metadata),
        cmocka_unit_test(test_equal_begins),
        cmocka_unit_test(test_index_without_folder),
        cmocka_unit_test(test_deep_pass),
    };
    return cmocka_run_group_tests(tests, tu_ctx_setup, tu_ctx_teardown);
}
