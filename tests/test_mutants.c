/*
 * test_mutants.c - exact tests for checks that tests/mutate.py found unguarded: a mutant of
 * tests/mutants.txt that removed the check survived every fast test until the case here was
 * added. Each case names the mutant it kills. Inputs are generated here; every case asserts
 * the exact finding ids and the verdict.
 */
#include "build_archive.h"
#include "read_whole.h"
#include "test_fault.h"
#include "test_util.h"

#include "core/report.h"
#include "formats/format.h"
#include "formats/pickle.h"
#include "json/json.h"

#define PK(ctx, lit, ids, v) tu_expect_buf((ctx), (lit), sizeof(lit) - 1, "t.pkl", (ids), (v))

/* json-h05-oversize-input: the scanner refuses an input of 2^31 bytes or more (its offsets are
 * 32-bit); the length alone decides, nothing is read. */
static void test_json_oversize(void **state)
{
    (void)state;
    static const unsigned char b[1] = {'1'};
    assert_null(st_json_new(b, (size_t)1 << 31, 8));
    st_json *j = st_json_new(b, ((size_t)1 << 31) - 1, 8);
    assert_non_null(j);
    st_json_free(j);
}

/* pk-h05-long-suffix: only LONG's argument may end in 'L' (Lib/pickle.py load_long strips it;
 * load_int hands "5L" to int(), which raises): INT "5L" is no integer stcheck reads. */
static void test_pickle_long_suffix(void **state)
{
    PK(*state, "I5L\n.", "ST205", ST_VERDICT_FAIL);
    PK(*state, "L5L\n.", "", ST_VERDICT_PASS);
}

/* pk-025-create-w-memo-pages: a memo GET in a page the memo never filled (pages exist up to a
 * later PUT's, 4096 entries each) is "memo value not found", not a read through a NULL page. */
static void test_pickle_memo_missing_page(void **state)
{
    enum { STR = 4200 };
    static unsigned char b[2 + 5 + STR + 5 + 1 + 2 + 1];
    size_t n = 0;
    b[n++] = 0x80, b[n++] = 2;
    b[n++] = 'X', b[n++] = STR & 0xff, b[n++] = STR >> 8, b[n++] = 0, b[n++] = 0;
    memset(b + n, 'x', STR);
    n += STR;
    b[n++] = 'r', b[n++] = 4100 & 0xff, b[n++] = 4100 >> 8, b[n++] = 0, b[n++] = 0; /* page 1 */
    b[n++] = '0';
    b[n++] = 'h', b[n++] = 5; /* page 0: never allocated */
    b[n++] = '.';
    assert_int_equal(n, sizeof(b));
    tu_expect_buf(*state, b, n, "t.pkl", "ST205", ST_VERDICT_FAIL);
}

/* st-005-valid-fn-s-te: the rank limit stops the shape there: one ST901, not one per
 * dimension past the limit (the walk of the header ends at the first limit). */
static void test_safetensors_rank_limit_once(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    assert_non_null(ctx);
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_RANK, 2), ST_OK);
    st_report *r =
        tu_check(ctx, "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1],\"data_offsets\":[0,1]}}", 1);
    tu_assert_ids(r, "ST901");
    assert_int_equal(st_report_finding_count(r), 1);
    assert_int_equal(st_report_verdict(r), ST_VERDICT_ERROR);
    st_report_free(r);
    st_ctx_free(ctx);
}

/* st-023-more-than-llu-tensors, st-h04-tensor-limit-by-one: the tensor-count limit, exactly at
 * its bound (2 tensors pass a limit of 2, a third is ST901). */
#define T_U8(name, b, e)                                                                           \
    "\"" name "\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[" #b "," #e "]}"
static void test_safetensors_tensor_limit(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    assert_non_null(ctx);
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_TENSORS, 2), ST_OK);
    tu_expect(ctx, "{" T_U8("a", 0, 1) "," T_U8("b", 1, 2) "}", 2, "", ST_VERDICT_PASS);
    st_report *r =
        tu_check(ctx, "{" T_U8("a", 0, 1) "," T_U8("b", 1, 2) "," T_U8("c", 2, 3) "}", 3);
    tu_assert_ids(r, "ST901");
    assert_int_equal(st_report_finding_count(r), 1);
    assert_int_equal(st_report_verdict(r), ST_VERDICT_ERROR);
    st_report_free(r);
    st_ctx_free(ctx);
}

/* st-046-could-not-read-the, st-047-could-not-read-the, st-049-err-read-header-s: a valid
 * safetensors file whose reads fail, each in turn (with and without --deep): every one ends
 * the check as an I/O error with exactly ST902, never a header or tensor data judged from
 * bytes never read. */
static void reads_fail_exactly(st_ctx *ctx, tf_check fn, const unsigned char *b, size_t n)
{
    char ids[512];
    size_t total;
    assert_int_equal(tf_run(ctx, fn, b, n, (size_t)-1, -1, ids, sizeof(ids), &total), ST_OK);
    assert_string_equal(ids, "");
    assert_true(total > 0);
    for (size_t k = 0; k < total; k++) {
        assert_int_equal(tf_run(ctx, fn, b, n, k, -1, ids, sizeof(ids), NULL), ST_E_IO);
        assert_string_equal(ids, "ST902");
    }
}

static void test_safetensors_reads_fail(void **state)
{
    size_t n;
    static const char hdr[] = "{" T_U8("a", 0, 1) "}";
    unsigned char *b = tu_frame(hdr, strlen(hdr), 1, 1, &n);
    reads_fail_exactly(*state, st_safetensors_check, b, n);
    st_ctx *deep = st_ctx_new();
    assert_non_null(deep);
    st_ctx_set_deep(deep, 1);
    reads_fail_exactly(deep, st_safetensors_check, b, n);
    st_ctx_free(deep);
    free(b);
}

/* st-h06-header-limit-by-one: the header-length limit, exactly at its bound. */
static void test_safetensors_header_limit(void **state)
{
    (void)state;
    static const char hdr[] = "{" T_U8("a", 0, 1) "}";
    size_t n;
    unsigned char *b = tu_frame(hdr, strlen(hdr), 1, 1, &n);
    uint64_t len = n - 8 - 1; /* the padded header */
    st_ctx *ctx = st_ctx_new();
    assert_non_null(ctx);
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_HEADER_BYTES, len), ST_OK);
    tu_expect_buf(ctx, b, n, "t.safetensors", "", ST_VERDICT_PASS);
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_HEADER_BYTES, len - 1), ST_OK);
    tu_expect_buf(ctx, b, n, "t.safetensors", "ST901", ST_VERDICT_ERROR);
    st_ctx_free(ctx);
    free(b);
}

static void expect_msg(st_ctx *ctx, const void *b, size_t n, const char *name, const char *ids,
                       st_verdict v, const char *part)
{
    st_report *r = st_check_buffer(ctx, b, n, name);
    assert_non_null(r);
    tu_assert_report(r, name, ids, v);
    tu_assert_says(r, name, part);
    st_report_free(r);
}

static unsigned char *slurp(const char *rel, size_t *n)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", ST_CORPUS_DIR, rel);
    unsigned char *b = rw_read_file(path, n);
    assert_non_null(b);
    return b;
}

/* zip-033-no-end-of-central: a local header and no end record is said to be that (the same
 * ST310 would come from garbage read as an end record). */
static void test_zip_no_end_record(void **state)
{
    expect_msg(*state, "PK\3\4abcdefgh", 12, "t.zip", "ST310", ST_VERDICT_FAIL,
               "no end of central directory record");
}

/* zip-031-llu-zip-entries-limit, zip-h11-entries-limit-by-one: the end record's count is judged
 * against the entry limit before the directory is walked (the walk's own limit says "more than N").
 */
static void test_zip_entry_limit_from_end_record(void **state)
{
    (void)state;
    size_t n;
    unsigned char *b = slurp("zip/torch-rebuilt-benign.zip", &n);
    st_ctx *ctx = st_ctx_new();
    assert_non_null(ctx);
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_ZIP_ENTRIES, 5), ST_OK); /* the file has 6 */
    expect_msg(ctx, b, n, "t.zip", "ST901", ST_VERDICT_ERROR, "6 zip entries (limit 5)");
    st_ctx_free(ctx);
    free(b);
}

/* Scans a document to its end; returns the error, with its detail in *detail. */
static st_json_err json_scan(const char *doc, const char **detail)
{
    st_json *j = st_json_new((const unsigned char *)doc, strlen(doc), 32);
    assert_non_null(j);
    st_json_tok t;
    st_json_err e;
    while ((e = st_json_next(j, &t)) == ST_JSON_OK && t.type != ST_JT_END)
        ;
    static char buf[128];
    snprintf(buf, sizeof(buf), "%s", st_json_error_detail(j));
    *detail = buf;
    st_json_free(j);
    return e;
}

#define JSON_ERR(doc, err, what)                                                                   \
    do {                                                                                           \
        const char *d_;                                                                            \
        assert_int_equal(json_scan((doc), &d_), (err));                                            \
        assert_string_equal(d_, (what));                                                           \
    } while (0)

/* json-006-unterminated-escape, json-007-invalid-escape, json-004-j-len-i-6,
 * json-034-unexpected-end-of-input: each refusal for its own reason (another check further on
 * would refuse the same bytes with the same code and another detail). */
static void test_json_details(void **state)
{
    (void)state;
    JSON_ERR("\"\\", ST_JSON_E_SYNTAX, "unterminated escape");
    JSON_ERR("\"\\q\"", ST_JSON_E_SYNTAX, "invalid escape");
    JSON_ERR("\"\\ud800x\"", ST_JSON_E_SYNTAX, "lone high surrogate escape");
    JSON_ERR("{\"a\"", ST_JSON_E_SYNTAX, "unexpected end of input");
}

/* json-h04-small-object-bound, json-031-f-is-obj-check: an object of nine keys (one more than
 * the keys checked on insertion) whose last key repeats the first is refused when it closes. */
static void test_json_dup_in_ninth_key(void **state)
{
    (void)state;
    const char *d;
    assert_int_equal(
        json_scan("{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"a\":9}", &d),
        ST_JSON_E_DUPKEY);
    assert_int_equal(
        json_scan("{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9}", &d),
        ST_JSON_OK);
}

/* json-043-j-err-st-json: an error is sticky: the next call returns it again, at the same
 * offset, and reads nothing further. json-031-f-is-obj-check: a duplicate among keys past the
 * ones checked on insertion is found when the object closes. */
static void test_json_sticky_error_and_late_dup(void **state)
{
    (void)state;
    static const char doc[] = "[1,}";
    st_json *j = st_json_new((const unsigned char *)doc, strlen(doc), 8);
    assert_non_null(j);
    st_json_tok t;
    st_json_err e;
    while ((e = st_json_next(j, &t)) == ST_JSON_OK)
        ;
    size_t off = st_json_error_offset(j);
    assert_int_equal(st_json_next(j, &t), e);
    assert_int_equal(st_json_error_offset(j), off);
    st_json_free(j);
    const char *d;
    assert_int_equal(json_scan("{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,"
                               "\"h\":8,\"i\":9,\"j\":10,\"k\":11,\"j\":12}",
                               &d),
                     ST_JSON_E_DUPKEY);
}

/* json-004-j-len-i-6: a \u escape needs its six bytes inside the input: "\u12" at the end of
 * the input is invalid even when the bytes after it in memory are hex digits (the scanner never
 * reads past its length); and the second half of a surrogate pair must itself be "\u" (an
 * 'x' or an escaped 'x' in its place leaves the high half lone). */
static void test_json_u_escape_bounds(void **state)
{
    (void)state;
    static const char doc[] = "\"\\u12345678\"";
    st_json *j = st_json_new((const unsigned char *)doc, 5, 8); /* "\u12 */
    assert_non_null(j);
    st_json_tok t;
    assert_int_equal(st_json_next(j, &t), ST_JSON_E_SYNTAX);
    assert_string_equal(st_json_error_detail(j), "invalid \\u escape");
    assert_int_equal(st_json_error_offset(j), 1);
    st_json_free(j);
    JSON_ERR("\"\\ud800xudc00\"", ST_JSON_E_SYNTAX, "lone high surrogate escape");
    JSON_ERR("\"\\ud800\\xdc00\"", ST_JSON_E_SYNTAX, "lone high surrogate escape");
    const char *d;
    assert_int_equal(json_scan("\"\\ud800\\udc00\"", &d), ST_JSON_OK);
}

/* Tokens a document yields before its first error (the error in *err). */
static size_t json_tokens_before_error(const char *doc, st_json_err *err, st_json **out)
{
    st_json *j = st_json_new((const unsigned char *)doc, strlen(doc), 8);
    assert_non_null(j);
    st_json_tok t;
    size_t n = 0;
    while ((*err = st_json_next(j, &t)) == ST_JSON_OK && t.type != ST_JT_END) {
        assert_true(t.type != ST_JT_OBJ_END); /* the object never closes: its keys repeat */
        n++;
    }
    *out = j;
    return n;
}

/* json-031-f-is-obj-check: an object with a duplicate past the keys checked on insertion is
 * refused by the token that would close it: no OBJ_END is ever handed out for it (a caller
 * that acts on the close would take the object as whole). json-043-j-err-st-json: after an
 * error every call returns it again and reads nothing: a duplicate key found on insertion
 * leaves the position after the key, where the ':' and value would otherwise scan on. */
static void test_json_error_at_close_and_sticky(void **state)
{
    (void)state;
    st_json_err e;
    st_json *j;
    /* '{', then 11 keys and values: 23 tokens, the error on the 24th call, at the '}' */
    size_t n = json_tokens_before_error("{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,"
                                        "\"g\":7,\"h\":8,\"i\":9,\"j\":10,\"j\":11}",
                                        &e, &j);
    assert_int_equal(e, ST_JSON_E_DUPKEY);
    assert_int_equal(n, 1 + 2 * 11);
    st_json_free(j);
    n = json_tokens_before_error("{\"a\":1,\"a\":2}", &e, &j);
    assert_int_equal(e, ST_JSON_E_DUPKEY);
    assert_int_equal(n, 3);
    size_t off = st_json_error_offset(j);
    st_json_tok t;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(st_json_next(j, &t), ST_JSON_E_DUPKEY);
        assert_int_equal(st_json_error_offset(j), off);
    }
    st_json_free(j);
}

/* ---- zip: the deflate limits (a one-member archive, one stored deflate block) ------------ */

/* NAME (5 bytes), method 8, data: one final stored deflate block holding "hello" (10 bytes,
 * inflates to 5); the headers declare usize and crc. Writes 118 bytes into z (HELLO_ZIP_SIZE). */
#define HELLO_ZIP_SIZE 118
static size_t deflated_hello_zip(unsigned char *z, const char *name, uint32_t usize, uint32_t crc)
{
    static const unsigned char data[10] = {0x01, 5, 0, 0xfa, 0xff, 'h', 'e', 'l', 'l', 'o'};
    ba_buf w = ba_fixed(z, HELLO_ZIP_SIZE);
    ba_zip_entry e = {name, 5, 0, 8, crc, 10, usize, NULL, 0};
    ba_zip_local(&w, &e);
    ba_put(&w, data, 10);
    size_t cd = w.n;
    ba_zip_central(&w, &e, 0); /* local header at offset 0 */
    ba_zip_end(&w, 1, (uint32_t)(w.n - cd), (uint32_t)cd);
    assert_int_equal(w.n, HELLO_ZIP_SIZE);
    return w.n;
}

/* zip-h10-inflate-size-lie: a stream that inflates to more than the declared size is a lie even
 * when the declared prefix matches its CRC-32 ("hel", 3 of the 5 bytes); without the check the
 * spill is dropped and the member reads clean. The honest member passes. */
static void test_zip_inflate_size_lie(void **state)
{
    unsigned char z[HELLO_ZIP_SIZE];
    size_t n = deflated_hello_zip(z, "a.txt", 5, 0x3610a686u); /* crc32("hello") */
    tu_expect_buf(*state, z, n, "t.zip", "", ST_VERDICT_PASS);
    n = deflated_hello_zip(z, "a.txt", 3, 0xe50bf11bu); /* crc32("hel") */
    tu_expect_buf(*state, z, n, "t.zip", "ST303", ST_VERDICT_PASS);
}

/* zip-h09-bomb-impossible-off: 20000 bytes declared from 10 deflated ones is beyond deflate's
 * 1032:1 (+1 KiB) and below the 1 MiB where the ratio limit starts: ST311 before anything is
 * inflated (without the check the short output is a size/CRC mismatch, ST303, and "hello" is
 * walked as a pickle). A .pkl member is read whole, so the limits apply (a prefix is not). */
static void test_zip_impossible_ratio(void **state)
{
    unsigned char z[HELLO_ZIP_SIZE];
    size_t n = deflated_hello_zip(z, "a.pkl", 20000, 0x3610a686u);
    tu_expect_buf(*state, z, n, "t.zip", "ST311", ST_VERDICT_ERROR);
    n = deflated_hello_zip(z, "a.pkl", 10 * 1032 + 1024,
                           0x3610a686u); /* the bound itself: possible */
    tu_expect_buf(*state, z, n, "t.zip", "ST205,ST303",
                  ST_VERDICT_FAIL); /* read: short, no pickle */
}

/* ---- pickle: storage tuples as torch's persistent_load unpacks them ---------------------- */

static void walk_torch(st_ctx *ctx, const char *b, size_t n, const char *ids, st_verdict v)
{
    st_report *r = st_report_new(ctx, "x");
    assert_non_null(r);
    st_src src = {-1, (const unsigned char *)b, n};
    st_input in = {
        .ctx = ctx, .report = r, .src = &src, .head = (const unsigned char *)b, .head_len = n};
    st_pk_job job = {.profile = ST_PK_PROFILE_TORCH, .torch_rules = 1};
    job.in = &in;
    job.src = &src;
    job.end = n;
    st_pk_result res;
    st_pickle_walk(&job, &res);
    tu_assert_ids(r, ids);
    assert_int_equal(st_report_verdict(r), v);
    st_pk_result_free(&res);
    st_report_free(r);
}
#define WALK_TORCH(ctx, lit, ids, v) walk_torch((ctx), (lit), sizeof(lit) - 1, (ids), (v))
#define STORAGE_HEAD                                                                               \
    "\x80\x02(U\x07storagectorch\nFloatStorage\nU\x01"                                             \
    "0U\x03"                                                                                       \
    "cpu"

/* pk-h06-storage-tuple-length: ('storage', type, key, location, numel[, view]) has 5 or 6
 * items; a 7th makes it no storage reference (ST211), 5 and 6 are. */
static void test_pickle_storage_tuple_length(void **state)
{
    WALK_TORCH(*state, STORAGE_HEAD "K\x02tQ.", "", ST_VERDICT_PASS);
    WALK_TORCH(*state, STORAGE_HEAD "K\x02NtQ.", "", ST_VERDICT_PASS);
    WALK_TORCH(*state, STORAGE_HEAD "K\x02NNtQ.", "ST211", ST_VERDICT_FAIL);
}

/* pk-073-op-i-n-2: INT "00"/"01" is protocol 0's False/True (load_int), not an integer: as a
 * storage's numel it makes no storage reference; "02" and "0" are integers. */
static void test_pickle_int_bool(void **state)
{
    WALK_TORCH(*state, STORAGE_HEAD "I00\ntQ.", "ST211", ST_VERDICT_FAIL);
    WALK_TORCH(*state, STORAGE_HEAD "I01\ntQ.", "ST211", ST_VERDICT_FAIL);
    WALK_TORCH(*state, STORAGE_HEAD "I02\ntQ.", "", ST_VERDICT_PASS);
    WALK_TORCH(*state, STORAGE_HEAD "I0\ntQ.", "", ST_VERDICT_PASS);
}

/* pk-h10-looks-like-length: a protocol 0/1 prefix is a pickle when its opcodes decode for 32
 * opcodes; a SHORT_BINSTRING whose length runs one byte past the window is not decoded (its
 * opcode does not count): 31 NONEs and "U\x01" with no byte after it are not enough, with
 * "U\x00" (complete) they are. */
static void test_pickle_sniff_length_past_window(void **state)
{
    (void)state;
    unsigned char b[33];
    memset(b, 'N', 31);
    b[31] = 'U', b[32] = 1;
    assert_int_equal(st_pk_looks_like_pickle(b, sizeof(b)), 0);
    b[32] = 0;
    assert_int_equal(st_pk_looks_like_pickle(b, sizeof(b)), 1);
}

/* ---- pickle: joblib array wrappers -------------------------------------------------------- */

/* NumpyArrayWrapper(ndarray, (2,), 'C', dtype('<f8')) BUILT with its shape: joblib then reads a
 * padding length byte, that many bytes, and the 16 bytes of the array (NumpyArrayWrapper.read). */
#define JL_WRAPPER                                                                                 \
    "\x80\x02"                                                                                     \
    "cjoblib.numpy_pickle\nNumpyArrayWrapper\n(cnumpy\nndarray\nK\x02\x85U\x01"                    \
    "Ccnumpy\ndtype\n(U\x03<f8\x89\x88tRtR}(U\x05shapeK\x02\x85ub"

/* Checks a pickle; exact ids, verdict and number of findings. */
static void pk_count(st_ctx *ctx, const char *b, size_t n, const char *ids, st_verdict v,
                     size_t count)
{
    st_report *r = st_check_buffer(ctx, b, n, "t.pkl");
    assert_non_null(r);
    tu_assert_report(r, "t.pkl", ids, v);
    assert_int_equal(st_report_finding_count(r), count);
    st_report_free(r);
}
#define PK_COUNT(ctx, lit, ids, v, c) pk_count((ctx), (lit), sizeof(lit) - 1, (ids), (v), (c))

/* pk-054-p-null-skip-w: a padding length byte cut by the end of the file, or a padding longer
 * than the bytes left, ends the walk with one ST205: the array's bytes are not then skipped as
 * well (which would report a second, wrong, reason). */
static void test_joblib_padding_cut(void **state)
{
    static const char ok[] = JL_WRAPPER "\x01\x00"
                                        "0123456789abcdef.";
    PK_COUNT(*state, ok, "", ST_VERDICT_PASS, 0);
    PK_COUNT(*state, JL_WRAPPER, "ST205", ST_VERDICT_FAIL, 1);
    PK_COUNT(*state, JL_WRAPPER "\x40\x00\x00", "ST205", ST_VERDICT_FAIL, 1);
}

/* Each allocation of a check failing alone (the others succeed): how many of those runs end
 * with exactly ids and a finding saying why. */
static size_t alone_failures_giving(st_ctx *ctx, const char *b, size_t n, const char *ids,
                                    const char *why)
{
    size_t hits = 0;
    for (long k = 0;; k++) {
        fa_hit = 0;
        fa_sticky = 0;
        fa_countdown = k;
        st_report *r = st_check_buffer(ctx, b, n, "t.pkl");
        fa_countdown = -1;
        if (!fa_hit) {
            assert_non_null(r);
            st_report_free(r);
            return hits;
        }
        if (r == NULL)
            continue; /* the report itself could not be made: the caller says so */
        char got[256];
        tu_ids(r, got, sizeof(got));
        int says = 0;
        for (size_t i = 0; i < st_report_finding_count(r); i++)
            says |= strstr(st_report_finding(r, i)->message, why) != NULL;
        hits += strcmp(got, ids) == 0 && says;
        st_report_free(r);
    }
}

/* pk-058-records-lost-w-t, pk-057-cls-st-pkc-none: when the value records run out (here: an
 * allocation fails) before a call that may make a joblib wrapper has its record, or before
 * BUILD on a call whose record the records cannot class, BUILD cannot tell which bytes joblib
 * reads next: ST230 ("ran out of value records"), and the walk stops (else it would read the
 * array's padding and bytes as opcodes). The counts are the allocations of each walk whose
 * failure alone gives that:
 * - the wrapper: its call's record and five after it (the record exists, its read is unknown);
 * - copyreg of builtins.object: no class the records keep, so its result has no record even
 *   when memory lasts: the four allocations of the records before BUILD (pk-058);
 * - copyreg of numpy.dtype: a dtype record (BUILD on it is class NONE); two allocations lose
 *   the call's record (pk-058), two more, for the dict after it, exhaust the records while the
 *   dtype record exists (pk-057). */
static void test_joblib_records_lost(void **state)
{
    static const char direct[] = JL_WRAPPER "\x01\x00"
                                            "0123456789abcdef.";
    static const char copyreg[] = "\x80\x02"
                                  "ccopyreg\n_reconstructor\n(cbuiltins\nobject\nNNtR"
                                  "}U\x05shapeK\x01s0}b.";
    static const char dtype[] = "\x80\x02"
                                "ccopyreg\n_reconstructor\n(cnumpy\ndtype\ncbuiltins\nobject\nNtR"
                                "}U\x05shapeK\x01s0}b.";
    static const char lost[] = "ran out of value records";
    PK_COUNT(*state, direct, "", ST_VERDICT_PASS, 0);
    PK_COUNT(*state, copyreg, "ST202", ST_VERDICT_FAIL, 2);
    PK_COUNT(*state, dtype, "ST202", ST_VERDICT_FAIL, 2);
    assert_int_equal(alone_failures_giving(*state, direct, sizeof(direct) - 1, "ST230,ST904", lost),
                     6);
    assert_int_equal(
        alone_failures_giving(*state, copyreg, sizeof(copyreg) - 1, "ST202,ST230,ST904", lost), 4);
    assert_int_equal(
        alone_failures_giving(*state, dtype, sizeof(dtype) - 1, "ST202,ST230,ST904", lost), 4);
}

/* A protocol 2 pickle: PROTO, a BINSTRING of fill bytes, POP, then tail at offset at. */
static char *pk_after_fill(size_t at, const char *tail, size_t tail_len, size_t *n)
{
    size_t fill = at - 2 - 5 - 1;
    *n = at + tail_len;
    char *b = malloc(*n);
    assert_non_null(b);
    b[0] = '\x80', b[1] = 2, b[2] = 'T';
    for (int i = 0; i < 4; i++)
        b[3 + i] = (char)(fill >> (8 * i));
    memset(b + 7, 'f', fill);
    b[7 + fill] = '0';
    memcpy(b + at, tail, tail_len);
    return b;
}

/* Each read of a check failing alone: exactly ST902 and an I/O error every time (the clean
 * check passes). */
static void each_read_fails_exactly(st_ctx *ctx, const char *b, size_t n)
{
    char ids[512];
    size_t total;
    assert_int_equal(tf_run(ctx, st_rawpickle_check, (const unsigned char *)b, n, (size_t)-1, -1,
                            ids, sizeof(ids), &total),
                     ST_OK);
    assert_string_equal(ids, "");
    assert_true(total > 2);
    tf_once = 1;
    for (size_t k = 0; k < total; k++) {
        st_error err = tf_run(ctx, st_rawpickle_check, (const unsigned char *)b, n, k, -1, ids,
                              sizeof(ids), NULL);
        if (err != ST_E_IO || strcmp(ids, "ST902") != 0) {
            tf_once = 0;
            fail_msg("read %zu of %zu failing alone: error %d, ids \"%s\"", k, total, err, ids);
        }
    }
    tf_once = 0;
}

/* pk-007-truncated-line: a GLOBAL whose module line crosses the end of the 64 KiB window (it
 * starts 5 bytes before it): the read that brings in the rest failing is an I/O error, and the
 * line is not then searched for in the bytes that were never read. */
static void test_pickle_line_read_fails(void **state)
{
    static const char tail[] = "ccollections\nOrderedDict\n)R.";
    size_t n;
    char *b = pk_after_fill(65530, tail, sizeof(tail) - 1, &n);
    each_read_fails_exactly(*state, b, n);
    free(b);
}

/* pk-013-read-src-w-v: STACK_GLOBAL's strings pushed before 70,000 bytes of fill are no longer
 * in the window and are read again; that read failing is an I/O error, and its bytes (latin-1
 * SHORT_BINSTRINGs: any bytes decode) are not taken for a module or a name. */
static void test_pickle_string_reread_fails(void **state)
{
    static const char tail[] = "0\x93)R.";
    static const char head[] = "\x80\x02U\x0b"
                               "collectionsU\x0bOrderedDict";
    size_t n, h = sizeof(head) - 1, fill = 70000;
    n = h + 5 + fill + sizeof(tail) - 1;
    char *b = malloc(n);
    assert_non_null(b);
    memcpy(b, head, h);
    b[h] = 'T';
    for (int i = 0; i < 4; i++)
        b[h + 1 + i] = (char)(fill >> (8 * i));
    memset(b + h + 5, 'f', fill);
    memcpy(b + h + 5 + fill, tail, sizeof(tail) - 1);
    each_read_fails_exactly(*state, b, n);
    free(b);
}

/* tar-h01-checksum-unparsable: a checksum field that is no number makes the header invalid
 * even when the header's signed sum happens to be 0 (what an unparsed field would read as):
 * here the prefix field's bytes above 0x7f bring the signed sum, 256 for the checksum field
 * counted as spaces included, to exactly 0. */
static void test_tar_checksum_unparsable_zero_sum(void **state)
{
    (void)state;
    unsigned char h[512];
    ba_tar_header(h, "f", 5, '0', NULL);
    long need = 256;
    for (int i = 0; i < 512; i++)
        if (i < 148 || i >= 156)
            need += (signed char)h[i];
    for (int i = 345; i < 500 && need > 0; i++) {
        long d = need < 128 ? need : 128;
        h[i] = (unsigned char)(256 - d);
        need -= d;
    }
    assert_int_equal(need, 0);
    memcpy(h + 148, "0000000", 8); /* the field as the number 0: the sum matches it */
    assert_true(st_tar_header_valid(h, 512));
    memcpy(h + 148, "zzzzzzz", 8);
    assert_false(st_tar_header_valid(h, 512));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_oversize),
        cmocka_unit_test(test_pickle_long_suffix),
        cmocka_unit_test(test_pickle_memo_missing_page),
        cmocka_unit_test(test_safetensors_rank_limit_once),
        cmocka_unit_test(test_safetensors_tensor_limit),
        cmocka_unit_test(test_safetensors_reads_fail),
        cmocka_unit_test(test_safetensors_header_limit),
        cmocka_unit_test(test_zip_no_end_record),
        cmocka_unit_test(test_zip_entry_limit_from_end_record),
        cmocka_unit_test(test_json_details),
        cmocka_unit_test(test_json_dup_in_ninth_key),
        cmocka_unit_test(test_json_sticky_error_and_late_dup),
        cmocka_unit_test(test_json_u_escape_bounds),
        cmocka_unit_test(test_json_error_at_close_and_sticky),
        cmocka_unit_test(test_zip_inflate_size_lie),
        cmocka_unit_test(test_zip_impossible_ratio),
        cmocka_unit_test(test_pickle_storage_tuple_length),
        cmocka_unit_test(test_pickle_int_bool),
        cmocka_unit_test(test_pickle_sniff_length_past_window),
        cmocka_unit_test(test_joblib_padding_cut),
        cmocka_unit_test(test_joblib_records_lost),
        cmocka_unit_test(test_tar_checksum_unparsable_zero_sum),
        cmocka_unit_test(test_pickle_line_read_fails),
        cmocka_unit_test(test_pickle_string_reread_fails),
    };
    return cmocka_run_group_tests(tests, tu_ctx_setup, tu_ctx_teardown);
}
