/*
 * test_pickle_faults.c - the pickle family when memory or reads fail (issue #12): every
 * allocation of the walker, its value records, the legacy checkpoint reader and the pickle view
 * failing in turn (tests/test_fault.h wraps malloc/calloc/realloc), and every read failing in
 * turn. Each must end in "could not check" (ST904 / ST902), never a pass or a judgement of bytes
 * that were not read.
 */
#include "test_fault.h"

#include "formats/pickle.h"

/* Bytes that make the walker allocate at every site: imports past the first 32, stack values
 * past 256, marks past 64, memo pages, a name too long for the stack buffers, value records
 * (a dtype, a joblib wrapper read as raw data with its padding byte). */
static unsigned char *rich_pickle(size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    unsigned char *b = malloc(cap);
    assert_non_null(b);
#define PUT(s, l)                                                                                  \
    do {                                                                                           \
        memcpy(b + n, (s), (l));                                                                   \
        n += (l);                                                                                  \
    } while (0)
#define LIT(s) PUT(s, sizeof(s) - 1)
    LIT("\x80\x04");
    for (int i = 0; i < 40; i++) {
        char g[16];
        int k = snprintf(g, sizeof(g), "cm%02d\nx\n0", i);
        PUT(g, (size_t)k);
    }
    for (int i = 0; i < 300; i++)
        LIT("N");
    for (int i = 0; i < 300; i++)
        LIT("0");
    for (int i = 0; i < 70; i++)
        LIT("(");
    for (int i = 0; i < 70; i++)
        LIT("1");
    LIT("N\x94N\x94"
        "0");
    /* STACK_GLOBAL of a 1,500-byte module: decoded in heap buffers, then too long */
    /* copyreg: its result may be a wrapper once the records run out */
    LIT("ccopyreg\n_reconstructor\n(cbuiltins\nobject\nNNtR}b0");
    LIT("\x8c\x05numpyX\xdc\x05\x00\x00");
    memset(b + n, 'a', 1500);
    n += 1500;
    LIT("\x93"
        "0");
    /* joblib: NumpyArrayWrapper(ndarray, (2,), 'C', dtype('<f8')) BUILT, padding, 16 bytes */
    LIT("cjoblib.numpy_pickle\nNumpyArrayWrapper\n(cnumpy\nndarray\nK\x02\x85U\x01"
        "Ccnumpy\ndtype\n(U\x03<f8\x89\x88tRtR}(U\x05shapeK\x02\x85ub");
    LIT("\x01\x00");
    memset(b + n, 0, 16);
    n += 16;
    LIT("0.");
#undef LIT
#undef PUT
    *len = n;
    return b;
}

static void test_rich_pickle_is_clean_but_for_its_names(void **state)
{
    size_t n;
    unsigned char *b = rich_pickle(&n);
    char ids[512];
    size_t reads;
    assert_int_equal(
        tf_run(*state, st_rawpickle_check, b, n, (size_t)-1, -1, ids, sizeof(ids), &reads), ST_OK);
    assert_string_equal(ids, "ST202,ST216");
    free(b);
}

static void test_rich_pickle_allocations(void **state)
{
    size_t n;
    unsigned char *b = rich_pickle(&n);
    assert_true(tf_every_alloc_fails(*state, st_rawpickle_check, b, n) > 50);
    free(b);
}

static void test_rich_pickle_reads(void **state)
{
    size_t n;
    unsigned char *b = rich_pickle(&n);
    tf_every_read_fails(*state, st_rawpickle_check, b, n);
    free(b);
}

/* A legacy checkpoint with two storages and a tail: the reader's own allocations and reads. */
static const unsigned char legacy[] =
    "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19."
    "\x80\x02M\xe9\x03."
    "\x80\x02}."
    "\x80\x02(ctorch\nFloatStorage\n0(U\x07storagectorch\nFloatStorage\nU\x01"
    "aU\x03"
    "cpuK\x01tQ(U\x07storagectorch\nFloatStorage\nU\x01"
    "bU\x03"
    "cpuK\x01tQl."
    "\x80\x02]."
    "\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
    "\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00";

static void test_legacy_faults(void **state)
{
    char ids[512];
    assert_int_equal(tf_run(*state, st_rawpickle_check, legacy, sizeof(legacy) - 1, (size_t)-1, -1,
                            ids, sizeof(ids), NULL),
                     ST_OK);
    assert_string_equal(ids, "");
    assert_true(tf_every_alloc_fails(*state, st_rawpickle_check, legacy, sizeof(legacy) - 1) > 5);
    tf_every_read_fails(*state, st_rawpickle_check, legacy, sizeof(legacy) - 1);
}

/* The pickle view: its scratch report and both walks. */
static void test_view_faults(void **state)
{
    static const unsigned char b[] = "cos\nsystem\n(S'x'\ntR.";
    char ids[512];
    assert_int_equal(tf_run(*state, st_pickle_view_check, b, sizeof(b) - 1, (size_t)-1, -1, ids,
                            sizeof(ids), NULL),
                     ST_OK);
    assert_string_equal(ids, "ST201,ST520");
    assert_true(tf_every_alloc_fails(*state, st_pickle_view_check, b, sizeof(b) - 1) > 3);
    tf_every_read_fails(*state, st_pickle_view_check, b, sizeof(b) - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rich_pickle_is_clean_but_for_its_names),
        cmocka_unit_test(test_rich_pickle_allocations),
        cmocka_unit_test(test_rich_pickle_reads),
        cmocka_unit_test(test_legacy_faults),
        cmocka_unit_test(test_view_faults),
    };
    return cmocka_run_group_tests(tests, tu_ctx_setup, tu_ctx_teardown);
}
