/*
 * test_pickle_values.c - the pickle family below st_check_buffer (issue #12): the value records
 * of pickle_values.c through their API, the walker (st_pickle_walk) with the job flags only
 * containers set (torch rules, keyed persistent ids) and with a source whose reads fail, the
 * allowlist judgement (pickle_globals.c) under policies, and legacy torch checkpoints
 * (rawpickle.c) built here. Every case asserts exact ids and verdict, or the exact decision.
 */
#include "byte_buf.h"
#include "test_util.h"

#include "core/report.h"
#include "formats/format.h"
#include "formats/pickle.h"
#include "formats/pickle_values.h"

#define PASS ST_VERDICT_PASS
#define FAIL ST_VERDICT_FAIL
#define NOCHECK ST_VERDICT_ERROR
#define P2 "\x80\x02"
#define P4 "\x80\x04"

/* ---- values ---------------------------------------------------------------------------- */

static st_pkl v_int(uint64_t v)
{
    return (st_pkl){ST_PKL_INT, 0, 0, (uint8_t)(v != 0), 0, v};
}

static st_pkl v_bool(int b)
{
    return (st_pkl){ST_PKL_BOOL, 0, 0, (uint8_t)b, 0, (uint64_t)b};
}

static st_pkl v_none(void)
{
    return (st_pkl){ST_PKL_NONE, 0, 0, 0, 0, 0};
}

static st_pkl v_kind(st_pkl_kind k, uint8_t truthy)
{
    return (st_pkl){(uint8_t)k, 0, 0, truthy, 0, 0};
}

static st_pkl v_global(int cls, uint64_t idx)
{
    return (st_pkl){ST_PKL_GLOBAL, (uint8_t)cls, 0, 1, 0, idx};
}

static st_pkl v_rec(uint32_t id)
{
    return (st_pkl){ST_PKL_REC, 0, 0, 2, id, 0};
}

static st_pkl v_shape(uint64_t prod, int overflow)
{
    return (st_pkl){ST_PKL_SHAPE, 0, (uint8_t)overflow, 1, 0, prod};
}

static st_pkl v_str(st_pkvals *t, const char *s)
{
    return st_pkl_str(t, s, strlen(s));
}

/* A tuple of items; a NULL-terminated list of texts for unresolved ST_PKL_STR items (rec 0). */
static st_pkl tup(st_pkvals *t, const st_pkl *items, size_t n, const char *text0)
{
    const char *texts[9] = {text0};
    return st_pkvals_tuple(t, items, texts, n);
}

/* numpy.dtype(typestr, False, copy) as dtype.__reduce__ writes it; returns its record. */
static uint32_t dtype(st_pkvals *t, const char *typestr, st_pkl copy)
{
    st_pkl items[3] = {{ST_PKL_STR, 0, 0, 1, 0, strlen(typestr)}, v_bool(0), copy};
    st_pkl args = tup(t, items, 3, typestr); /* no record for a type string numpy refuses */
    uint32_t id = st_pkvals_call(t, ST_PKC_DTYPE, 'R', &args);
    assert_true(id != 0);
    return id;
}

/* A version-3 dtype state (9 items): elsize and flags as given. */
static st_pkl dstate(st_pkvals *t, uint64_t version, st_pkl elsize, st_pkl flags)
{
    st_pkl items[9] = {v_int(version), v_str(t, "|"), v_none(), v_none(), v_none(),
                       elsize,         v_int(1),      flags,    v_int(0)};
    return tup(t, items, 9, NULL);
}

/* NumpyArrayWrapper(subclass, shape, order, dtype[, allow_mmap[, alignment]]) */
static uint32_t np_wrapper(st_pkvals *t, st_pkl shape, uint32_t dt, size_t extra, st_pkl align)
{
    st_pkl items[6] = {v_global(ST_PKC_NONE, 7), shape, v_str(t, "C"), v_rec(dt), v_bool(0), align};
    st_pkl args = tup(t, items, 4 + extra, NULL);
    uint32_t id = st_pkvals_call(t, ST_PKC_NUMPY_WRAPPER, 'R', &args);
    assert_true(id != 0);
    return id;
}

static void read_wrapper_at(int line, st_pkvals *t, uint32_t id, st_jl_how how, const char *why,
                            st_jl_read *rd)
{
    st_pkvals_joblib_read(t, id, rd);
    if (rd->how != how || (why != NULL && (rd->why == NULL || strstr(rd->why, why) == NULL)))
        fail_msg("line %d: wrapper read: how %d why \"%s\", expected %d \"%s\"", line, rd->how,
                 rd->why ? rd->why : "", how, why ? why : "");
}

#define read_wrapper(...) read_wrapper_at(__LINE__, __VA_ARGS__)

/* Tuples: ints make a shape (exact product, overflow flagged), only tuples that may matter get
 * a record. */
static void test_tuples(void **state)
{
    (void)state;
    st_pkvals *t = st_pkvals_new(1000);
    st_pkl ints[3] = {v_int(1u << 31), v_int(1u << 31), v_int(1u << 31)};
    st_pkl s = tup(t, ints, 3, NULL);
    assert_int_equal(s.kind, ST_PKL_SHAPE);
    assert_int_equal(s.overflow, 1);
    s = tup(t, ints, 2, NULL);
    assert_int_equal(s.overflow, 0);
    assert_true(s.i == (uint64_t)1 << 62);
    s = tup(t, ints, 0, NULL);
    assert_int_equal(s.kind, ST_PKL_SHAPE);
    assert_int_equal(s.truthy, 0);
    /* not worth a record: ten items, a lone None, a typestr numpy does not read, a str with a
     * non-bool second item, a short non-state */
    st_pkl ten[10];
    for (int i = 0; i < 10; i++)
        ten[i] = v_global(0, 1);
    assert_int_equal(tup(t, ten, 10, NULL).kind, ST_PKL_CONTAINER);
    st_pkl none1[1] = {v_none()};
    assert_int_equal(tup(t, none1, 1, NULL).kind, ST_PKL_CONTAINER);
    st_pkl bad_type[2] = {{ST_PKL_STR, 0, 0, 1, 0, 2}, v_bool(0)};
    assert_int_equal(tup(t, bad_type, 2, "q9").kind, ST_PKL_CONTAINER);
    assert_int_equal(tup(t, bad_type, 2, NULL).kind, ST_PKL_CONTAINER); /* text unknown */
    st_pkl str_none[2] = {{ST_PKL_STR, 0, 0, 1, 0, 2}, v_none()};
    assert_int_equal(tup(t, str_none, 2, "f8").kind, ST_PKL_CONTAINER);
    st_pkl four[4] = {v_int(3), v_str(t, "<"), v_none(), v_none()};
    assert_int_equal(tup(t, four, 4, NULL).kind, ST_PKL_CONTAINER);
    /* a state: version and endianness; or a 5-tuple whose first item is one character */
    st_pkl five[5] = {v_kind(ST_PKL_TEXT, 1), v_none(), v_none(), v_none(), v_none()};
    five[0].i = 1;
    assert_int_equal(tup(t, five, 5, NULL).kind, ST_PKL_REC);
    five[0].i = 2;
    assert_int_equal(tup(t, five, 5, NULL).kind, ST_PKL_CONTAINER);
    st_pkl ver5[5] = {v_int(5), v_str(t, "<"), v_none(), v_none(), v_none()};
    assert_int_equal(tup(t, ver5, 5, NULL).kind, ST_PKL_CONTAINER);
    ver5[0] = v_bool(1);
    assert_int_equal(tup(t, ver5, 5, NULL).kind, ST_PKL_REC);
    ver5[1] = v_str(t, "<<");
    assert_int_equal(tup(t, ver5, 5, NULL).kind, ST_PKL_CONTAINER);
    /* a BUILD pair holding a dict; a str item whose text is not given stays unresolved */
    st_pkl pair[2] = {{ST_PKL_STR, 0, 0, 1, 0, 3}, {ST_PKL_DICT, 0, 0, 2, 0, 99}};
    st_pkl p = tup(t, pair, 2, NULL);
    assert_int_equal(p.kind, ST_PKL_REC);
    /* strings: too long for the pool, the pool's text back */
    char big[300];
    memset(big, 'x', sizeof(big));
    assert_int_equal(st_pkl_str(t, big, sizeof(big)).kind, ST_PKL_TEXT);
    assert_int_equal(st_pkl_str(NULL, "a", 1).kind, ST_PKL_TEXT);
    size_t len = 0;
    st_pkl a = v_str(t, "abc");
    assert_string_equal(st_pkl_text(t, &a, &len), "abc");
    assert_int_equal(len, 3);
    assert_null(st_pkl_text(NULL, &a, &len));
    a.rec = 0;
    assert_null(st_pkl_text(t, &a, &len));
    a.rec = UINT32_MAX;
    assert_null(st_pkl_text(t, &a, &len));
    assert_int_equal(st_pkvals_exhausted(t), 0);
    assert_int_equal(st_pkvals_exhausted(NULL), 1);
    st_pkvals_free(t);
    st_pkvals_free(NULL);
}

/* Records run out at the table's maximum: from then on every decision is "unknown". */
static void test_exhaustion(void **state)
{
    (void)state;
    st_pkvals *t = st_pkvals_new(3); /* ids 1 and 2 */
    st_pkl g[1] = {v_global(0, 1)};
    assert_int_equal(tup(t, g, 1, NULL).kind, ST_PKL_REC);
    assert_int_equal(tup(t, g, 1, NULL).kind, ST_PKL_REC);
    assert_int_equal(st_pkvals_exhausted(t), 0);
    assert_int_equal(tup(t, g, 1, NULL).kind, ST_PKL_CONTAINER);
    assert_int_equal(st_pkvals_exhausted(t), 1);
    assert_int_equal(st_pkvals_call(t, ST_PKC_DTYPE, 'R', &g[0]), 0);
    assert_int_equal(st_pkvals_call(t, ST_PKC_NUMPY_WRAPPER, 'R', &g[0]), 0);
    st_jl_read rd;
    read_wrapper(t, 1, ST_JL_UNKNOWN, "ran out of value records", &rd);
    st_pkvals_free(t);
    /* a dict whose identity is lost exhausts the table too */
    t = st_pkvals_new(100);
    st_pkl one = v_int(1);
    st_pkvals_setitem(t, 0, "shape", &one, NULL);
    assert_int_equal(st_pkvals_exhausted(t), 1);
    st_pkvals_free(t);
    /* dict records at the limit */
    t = st_pkvals_new(2);
    st_pkvals_setitem(t, 5, "shape", &one, NULL);
    st_pkvals_setitem(t, 6, "shape", &one, NULL);
    assert_int_equal(st_pkvals_exhausted(t), 1);
    st_pkvals_free(t);
    /* builds on nothing */
    assert_int_equal(st_pkvals_build(NULL, 1, &one), ST_PKC_NONE);
    t = st_pkvals_new(100);
    assert_int_equal(st_pkvals_build(t, 0, &one), ST_PKC_NONE);
    assert_int_equal(st_pkvals_build(t, 50, &one), ST_PKC_NONE);
    st_pkl tg = tup(t, g, 1, NULL);
    assert_int_equal(st_pkvals_build(t, tg.rec, &one), ST_PKC_NONE); /* a tuple */
    st_pkvals_free(t);
}

/* Dicts: keys that matter are recorded by the dict's identity; the table rehashes. */
static void test_dicts(void **state)
{
    (void)state;
    st_pkvals *t = st_pkvals_new(10000);
    assert_int_equal(st_pkvals_key_matters("shape"), 1);
    assert_int_equal(st_pkvals_key_matters("init_args"), 1);
    assert_int_equal(st_pkvals_key_matters("shapes"), 0);
    st_pkl shape = v_shape(6, 0);
    /* 100 dicts: the open-addressing table doubles twice, every identity still found */
    for (uint64_t k = 1; k <= 100; k++)
        st_pkvals_setitem(t, k * 7, "shape", &shape, NULL);
    uint32_t dt = dtype(t, "<f8", v_bool(0));
    for (uint64_t k = 1; k <= 100; k++) {
        st_pkvals_setitem(t, k * 7, "dtype", &(st_pkl){ST_PKL_REC, 0, 0, 2, dt, 0}, NULL);
        st_pkl dict = {ST_PKL_DICT, 0, 0, 2, 0, k * 7};
        uint32_t w = st_pkvals_call(t, ST_PKC_NUMPY_WRAPPER, 'N', &dict);
        assert_int_equal(st_pkvals_build(t, w, &dict), ST_PKC_NUMPY_WRAPPER);
        st_jl_read rd;
        read_wrapper(t, w, ST_JL_RAW, NULL, &rd);
        assert_true(rd.nbytes == 48);
        assert_int_equal(rd.pad_byte, 0); /* NEWOBJ: no __init__, no default alignment */
    }
    /* a str value resolved from its text, or unresolved; a key that could not be read */
    st_pkl fname = {ST_PKL_STR, 0, 0, 1, 0, 5};
    st_pkvals_setitem(t, 1000, "filename", &fname, "x.npy");
    st_pkl d1000 = {ST_PKL_DICT, 0, 0, 2, 0, 1000};
    uint32_t nd = st_pkvals_call(t, ST_PKC_ND_WRAPPER, 'N', &d1000);
    assert_int_equal(st_pkvals_build(t, nd, &d1000), ST_PKC_ND_WRAPPER);
    st_jl_read rd;
    read_wrapper(t, nd, ST_JL_SIBLING, NULL, &rd);
    assert_int_equal(rd.name_len, 5);
    assert_memory_equal(rd.name, "x.npy", 5);
    st_pkvals_setitem(t, 1001, "filename", &fname, NULL);
    st_pkl d1001 = {ST_PKL_DICT, 0, 0, 2, 0, 1001};
    nd = st_pkvals_call(t, ST_PKC_ND_WRAPPER, 'N', &d1001);
    st_pkvals_build(t, nd, &d1001);
    read_wrapper(t, nd, ST_JL_UNKNOWN, "filename is not a literal string", &rd);
    st_pkvals_setitem(t, 1002, "filename", &fname, "x.npy");
    st_pkvals_setitem(t, 1002, NULL, &fname, NULL);
    st_pkl d1002 = {ST_PKL_DICT, 0, 0, 2, 0, 1002};
    nd = st_pkvals_call(t, ST_PKC_ND_WRAPPER, 'N', &d1002);
    st_pkvals_build(t, nd, &d1002);
    read_wrapper(t, nd, ST_JL_UNKNOWN, "keys stcheck cannot read", &rd);
    st_pkvals_free(t);
}

/* dtype records: which calls make a new descriptor, what a state does to it. */
static void test_dtypes(void **state)
{
    (void)state;
    st_pkvals *t = st_pkvals_new(10000);
    st_pkl args, st;
    /* copy=True: a new descriptor whose version-3 state clears the object flag */
    uint32_t o = dtype(t, "O8", v_bool(1));
    st = dstate(t, 3, v_int(-1 & 0xff), v_int(0));
    st_pkvals_build(t, o, &st);
    st_pkl targs[2] = {v_rec(o), v_kind(ST_PKL_TEXT, 1)};
    args = tup(t, targs, 2, NULL);
    assert_int_equal(st_pkvals_forged_object_dtype(t, &args, 0), 1);
    assert_int_equal(st_pkvals_forged_object_dtype(t, &args, 1), 0);
    assert_int_equal(st_pkvals_forged_object_dtype(t, &args, 5), 0);
    /* the builtin singleton ('O8', no copy) ignores its state */
    uint32_t s = dtype(t, "O8", v_bool(0));
    st_pkvals_build(t, s, &st);
    targs[0] = v_rec(s);
    args = tup(t, targs, 2, NULL);
    assert_int_equal(st_pkvals_forged_object_dtype(t, &args, 0), 0);
    /* a datetime without a unit may be new or not: a state that changes it makes it
     * unknown (the two readings differ), one that changes nothing keeps it */
    uint32_t m = dtype(t, "M8", v_bool(0));
    st_pkl m_st = dstate(t, 3, v_int(8), v_int(1));
    st_pkvals_build(t, m, &m_st);
    targs[0] = v_rec(m);
    args = tup(t, targs, 2, NULL);
    assert_int_equal(st_pkvals_forged_object_dtype(t, &args, 0), 1);
    uint32_t m2 = dtype(t, "m8", v_bool(0));
    st_pkl keep = dstate(t, 3, v_int(8), v_int(0));
    st_pkvals_build(t, m2, &keep);
    targs[0] = v_rec(m2);
    args = tup(t, targs, 2, NULL);
    assert_int_equal(st_pkvals_forged_object_dtype(t, &args, 0), 0);
    /* states numpy refuses or stcheck cannot read make the dtype unknown */
    struct {
        const char *what;
        st_pkl state;
    } bad[] = {
        {"version 5", dstate(t, 5, v_int(8), v_int(0))},
        {"flags a call returned", dstate(t, 3, v_int(8), v_kind(ST_PKL_UNKNOWN, 2))},
        {"elsize unknown for V", dstate(t, 3, v_kind(ST_PKL_NUMBER, 2), v_int(0))},
        {"not a tuple", v_none()},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint32_t d = dtype(t, "V8", v_bool(0)); /* a sized void: a new descriptor */
        st_pkvals_build(t, d, &bad[i].state);
        targs[0] = v_rec(d);
        args = tup(t, targs, 2, NULL);
        if (st_pkvals_forged_object_dtype(t, &args, 0) != 1)
            fail_msg("%s: dtype still known", bad[i].what);
    }
    /* inconsistent names and fields; endianness not one character; 7 items (no flags) */
    st_pkl incons[8] = {v_int(3), v_str(t, "|"), v_none(), v_kind(ST_PKL_CONTAINER, 1),
                        v_none(), v_int(8),      v_int(1), v_int(0)};
    st_pkl inc = tup(t, incons, 8, NULL);
    uint32_t d = dtype(t, ">f8", v_bool(0));
    st_pkvals_build(t, d, &inc);
    targs[0] = v_rec(d);
    args = tup(t, targs, 2, NULL);
    assert_int_equal(st_pkvals_forged_object_dtype(t, &args, 0), 1);
    st_pkl endian[7] = {v_int(3), v_str(t, "<<"), v_none(), v_none(), v_none(), v_int(8), v_int(1)};
    st_pkl en = tup(t, endian, 7, NULL);
    assert_int_equal(en.kind, ST_PKL_CONTAINER); /* not even a state: no record */
    /* version 1, no flags: the object flag comes from the type ('O' keeps it) */
    st_pkl v1[7] = {v_int(1), v_str(t, "|"), v_none(), v_none(), v_none(), v_int(8), v_int(1)};
    st_pkl s1 = tup(t, v1, 7, NULL);
    uint32_t o1 = dtype(t, "O8", v_bool(1));
    st_pkvals_build(t, o1, &s1);
    targs[0] = v_rec(o1);
    args = tup(t, targs, 2, NULL);
    assert_int_equal(st_pkvals_forged_object_dtype(t, &args, 0), 0);
    /* version 2 with fields: _descr_find_object over fields stcheck does not follow */
    st_pkl v2[8] = {
        v_int(2), v_str(t, "|"), v_none(), v_kind(ST_PKL_CONTAINER, 1), v_kind(ST_PKL_CONTAINER, 1),
        v_int(8), v_int(1),      v_int(0)};
    st_pkl s2 = tup(t, v2, 8, NULL);
    uint32_t d2 = dtype(t, "V8", v_bool(0));
    st_pkvals_build(t, d2, &s2);
    targs[0] = v_rec(d2);
    args = tup(t, targs, 2, NULL);
    assert_int_equal(st_pkvals_forged_object_dtype(t, &args, 0), 1);
    /* dtype.__new__ through copyreg: no type string, unknown */
    st_pkl cargs[1] = {v_global(ST_PKC_DTYPE, 3)};
    st_pkl ca = tup(t, cargs, 1, NULL);
    uint32_t cd = st_pkvals_call(t, ST_PKC_NONE, 'C', &ca);
    targs[0] = v_rec(cd);
    args = tup(t, targs, 2, NULL);
    assert_int_equal(st_pkvals_forged_object_dtype(t, &args, 0), 1);
    /* copyreg with no class first, or no tuple: nothing tracked */
    st_pkl noclass[1] = {v_int(3)};
    st_pkl nc = tup(t, noclass, 1, NULL);
    assert_int_equal(st_pkvals_call(t, ST_PKC_NONE, 'C', &nc), 0);
    assert_int_equal(st_pkvals_call(t, ST_PKC_NONE, 'C', &cargs[0]), 0);
    assert_int_equal(st_pkvals_call(t, ST_PKC_NONE, 'R', &ca), 0);
    assert_int_equal(st_pkvals_call(t, ST_PKC_ARRAY, 'R', &ca), 0);
    /* dtype of a bad type string: unknown */
    uint32_t q = st_pkvals_call(t, ST_PKC_DTYPE, 'R', &ca);
    targs[0] = v_rec(q);
    args = tup(t, targs, 2, NULL);
    assert_int_equal(st_pkvals_forged_object_dtype(t, &args, 0), 1);
    /* ndarray.__setstate__ with an object dtype whose flag was cleared, raw or as a list */
    uint32_t fo = dtype(t, "O8", v_bool(1));
    st_pkvals_build(t, fo, &st);
    st_pkl as[5] = {v_int(1), v_shape(1, 0), v_rec(fo), v_bool(0), v_kind(ST_PKL_TEXT, 1)};
    st_pkl ast = tup(t, as, 5, NULL);
    assert_int_equal(st_pkvals_raw_objects(t, &ast), 1);
    as[4] = v_kind(ST_PKL_CONTAINER, 1);
    ast = tup(t, as, 5, NULL);
    assert_int_equal(st_pkvals_raw_objects(t, &ast), 0);
    as[2] = v_rec(o1);
    as[4] = v_kind(ST_PKL_TEXT, 1);
    ast = tup(t, as, 5, NULL);
    assert_int_equal(st_pkvals_raw_objects(t, &ast), 0);
    assert_int_equal(st_pkvals_raw_objects(t, &as[0]), 0);
    st_pkvals_free(t);
}

/* How joblib reads a wrapper's array: every decision of numpy_wrapper_read and the
 * NDArrayWrapper/ZNDArrayWrapper readers. */
static void test_wrappers(void **state)
{
    (void)state;
    st_pkvals *t = st_pkvals_new(10000);
    st_jl_read rd;
    st_pkl none = v_none(), empty = v_kind(ST_PKL_DICT, 0);
    uint32_t f8 = dtype(t, "<f8", v_bool(0)), obj = dtype(t, "O8", v_bool(0));
    uint32_t v0 = dtype(t, "V0", v_bool(0)), unk = dtype(t, "q9", v_bool(0));
    /* raw data after a padding byte (4 arguments: alignment 16) */
    uint32_t w = np_wrapper(t, v_shape(3, 0), f8, 0, none);
    assert_int_equal(st_pkvals_build(t, w, &none), ST_PKC_NUMPY_WRAPPER);
    read_wrapper(t, w, ST_JL_RAW, NULL, &rd);
    assert_true(rd.nbytes == 24);
    assert_int_equal(rd.pad_byte, 1);
    assert_int_equal(rd.has_subclass, 1);
    assert_true(rd.subclass == 7);
    /* 6 arguments, alignment None: no padding byte; unknown alignment: unknown */
    w = np_wrapper(t, v_shape(3, 0), f8, 2, none);
    st_pkvals_build(t, w, &empty);
    read_wrapper(t, w, ST_JL_RAW, NULL, &rd);
    assert_int_equal(rd.pad_byte, 0);
    w = np_wrapper(t, v_shape(3, 0), f8, 2, v_kind(ST_PKL_UNKNOWN, 2));
    st_pkvals_build(t, w, &none);
    read_wrapper(t, w, ST_JL_UNKNOWN, "numpy_array_alignment_bytes", &rd);
    /* object dtype: a nested pickle; an unknown dtype; a shape that is not literal ints */
    w = np_wrapper(t, v_shape(3, 0), obj, 0, none);
    st_pkvals_build(t, w, &none);
    read_wrapper(t, w, ST_JL_PICKLE, NULL, &rd);
    w = np_wrapper(t, v_shape(3, 0), unk, 0, none);
    st_pkvals_build(t, w, &none);
    read_wrapper(t, w, ST_JL_UNKNOWN, "its dtype is not one stcheck can follow", &rd);
    w = np_wrapper(t, v_kind(ST_PKL_CONTAINER, 1), f8, 0, none);
    st_pkvals_build(t, w, &none);
    read_wrapper(t, w, ST_JL_UNKNOWN, "shape is not a tuple of literal integers", &rd);
    /* sizes: overflowing shape, item size 0, product overflow */
    w = np_wrapper(t, v_shape(3, 1), f8, 0, none);
    st_pkvals_build(t, w, &none);
    read_wrapper(t, w, ST_JL_FAILS, "overflows or its item size is 0", &rd);
    w = np_wrapper(t, v_shape(3, 0), v0, 0, none);
    st_pkvals_build(t, w, &none);
    read_wrapper(t, w, ST_JL_FAILS, "overflows or its item size is 0", &rd);
    w = np_wrapper(t, v_shape((uint64_t)1 << 62, 0), f8, 0, none);
    st_pkvals_build(t, w, &none);
    read_wrapper(t, w, ST_JL_FAILS, "joblib array size overflows", &rd);
    /* wrong argument counts taint; a wrapper made without __init__ has no shape */
    st_pkl three[3] = {v_global(0, 7), v_shape(3, 0), v_str(t, "C")};
    st_pkl a3 = tup(t, three, 3, NULL);
    w = st_pkvals_call(t, ST_PKC_NUMPY_WRAPPER, 'R', &a3);
    st_pkvals_build(t, w, &none);
    read_wrapper(t, w, ST_JL_UNKNOWN, "keys stcheck cannot read", &rd);
    w = st_pkvals_call(t, ST_PKC_NUMPY_WRAPPER, 'R', &none);
    st_pkvals_build(t, w, &none);
    read_wrapper(t, w, ST_JL_UNKNOWN, "keys stcheck cannot read", &rd);
    w = st_pkvals_call(t, ST_PKC_NUMPY_WRAPPER, 'N', &a3);
    st_pkvals_build(t, w, &none);
    read_wrapper(t, w, ST_JL_FAILS, "without a shape or dtype attribute", &rd);
    /* BUILD states: a mapping stcheck does not follow, a tuple of ints, false values, a pair */
    w = np_wrapper(t, v_shape(3, 0), f8, 0, none);
    st_pkl mapping = v_kind(ST_PKL_UNKNOWN, 2);
    st_pkvals_build(t, w, &mapping);
    read_wrapper(t, w, ST_JL_UNKNOWN, "keys stcheck cannot read", &rd);
    w = np_wrapper(t, v_shape(3, 0), f8, 0, none);
    st_pkl ishape = v_shape(2, 0);
    st_pkvals_build(t, w, &ishape);
    read_wrapper(t, w, ST_JL_UNKNOWN, "keys stcheck cannot read", &rd);
    w = np_wrapper(t, v_shape(3, 0), f8, 0, none);
    st_pkl zero = v_int(0), cont = v_kind(ST_PKL_CONTAINER, 1);
    st_pkvals_build(t, w, &zero);
    st_pkvals_build(t, w, &cont);
    read_wrapper(t, w, ST_JL_RAW, NULL, &rd);
    /* (state, slotstate): a dict with a key that matters, then one without any */
    st_pkl sh = v_shape(5, 0);
    st_pkvals_setitem(t, 77, "shape", &sh, NULL);
    st_pkl pair_items[2] = {{ST_PKL_DICT, 0, 0, 2, 0, 77}, {ST_PKL_DICT, 0, 0, 2, 0, 78}};
    st_pkl pair = tup(t, pair_items, 2, NULL);
    w = np_wrapper(t, v_shape(3, 0), f8, 0, none);
    st_pkvals_build(t, w, &pair);
    read_wrapper(t, w, ST_JL_RAW, NULL, &rd);
    assert_true(rd.nbytes == 40);
    /* a dict record that exists without attributes: nothing merged */
    st_pkvals_setitem(t, 79, "nothing", &sh, NULL);
    st_pkl d79 = {ST_PKL_DICT, 0, 0, 2, 0, 79};
    w = np_wrapper(t, v_shape(3, 0), f8, 0, none);
    st_pkvals_build(t, w, &d79);
    read_wrapper(t, w, ST_JL_RAW, NULL, &rd);
    assert_true(rd.nbytes == 24);
    /* NDArrayWrapper(filename, subclass[, allow_mmap]) and ZNDArrayWrapper(filename,
     * init_args, state) */
    st_pkl nd_items[2] = {v_str(t, "a.npy"), v_global(0, 4)};
    st_pkl nda = tup(t, nd_items, 2, NULL);
    w = st_pkvals_call(t, ST_PKC_ND_WRAPPER, 'R', &nda);
    assert_int_equal(st_pkvals_build(t, w, &none), ST_PKC_ND_WRAPPER);
    read_wrapper(t, w, ST_JL_SIBLING, NULL, &rd);
    assert_int_equal(rd.has_subclass, 1);
    assert_true(rd.subclass == 4);
    w = st_pkvals_call(t, ST_PKC_ND_WRAPPER, 'N', &nda);
    st_pkvals_build(t, w, &none);
    read_wrapper(t, w, ST_JL_FAILS, "without a filename attribute", &rd);
    st_pkl init_items[3] = {v_global(0, 9), v_shape(0, 0), v_str(t, "b")};
    st_pkl init = tup(t, init_items, 3, NULL);
    st_pkl z_items[3] = {v_str(t, "z.z"), init, v_none()};
    st_pkl za = tup(t, z_items, 3, NULL);
    w = st_pkvals_call(t, ST_PKC_ZND_WRAPPER, 'R', &za);
    assert_int_equal(st_pkvals_build(t, w, &none), ST_PKC_ZND_WRAPPER);
    read_wrapper(t, w, ST_JL_ZFILE, NULL, &rd);
    assert_int_equal(rd.has_subclass, 1);
    assert_true(rd.subclass == 9);
    z_items[1] = v_none(); /* init_args not a tuple: no subclass (the state makes it matter) */
    z_items[2] = v_global(0, 1);
    za = tup(t, z_items, 3, NULL);
    w = st_pkvals_call(t, ST_PKC_ZND_WRAPPER, 'R', &za);
    st_pkvals_build(t, w, &none);
    read_wrapper(t, w, ST_JL_ZFILE, NULL, &rd);
    assert_int_equal(rd.has_subclass, 0);
    /* a record that is not a wrapper, or never built */
    read_wrapper(t, f8, ST_JL_UNKNOWN, "ran out of value records", &rd);
    w = st_pkvals_call(t, ST_PKC_ND_WRAPPER, 'N', &nda);
    read_wrapper(t, w, ST_JL_UNKNOWN, "ran out of value records", &rd);
    st_pkvals_free(t);
}

/* The decisions' remaining edges: states that are records only because they hold one, calls
 * of copyreg with a wrapper class, attributes of the wrong kind, the string pool's bound. */
static void test_value_edges(void **state)
{
    (void)state;
    st_pkvals *t = st_pkvals_new(100000);
    uint32_t f8 = dtype(t, "<f8", v_bool(0));
    st_pkl targs[2], args;
    /* states holding a record (so they are tuples with records) that numpy refuses */
    struct {
        const char *what;
        st_pkl items[9];
        size_t n;
    } bad[] = {
        {"version 5",
         {v_int(5), v_str(t, "|"), v_rec(f8), v_none(), v_none(), v_int(8), v_int(1), v_int(0),
          v_int(0)},
         9},
        {"version not an int",
         {v_kind(ST_PKL_NUMBER, 2), v_str(t, "|"), v_rec(f8), v_none(), v_none(), v_int(8),
          v_int(1), v_int(0), v_int(0)},
         9},
        {"endianness of 2",
         {v_int(3), v_str(t, "<<"), v_rec(f8), v_none(), v_none(), v_int(8), v_int(1), v_int(0),
          v_int(0)},
         9},
        {"endianness not text",
         {v_int(3), v_none(), v_rec(f8), v_none(), v_none(), v_int(8), v_int(1), v_int(0),
          v_int(0)},
         9},
        {"five items", {v_int(3), v_str(t, "|"), v_rec(f8), v_none(), v_none()}, 5},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        st_pkl st = tup(t, bad[i].items, bad[i].n, NULL);
        assert_int_equal(st.kind, ST_PKL_REC);
        uint32_t d = dtype(t, "V8", v_bool(0));
        st_pkvals_build(t, d, &st);
        targs[0] = v_rec(d);
        targs[1] = v_none();
        args = tup(t, targs, 2, NULL);
        if (st_pkvals_forged_object_dtype(t, &args, 0) != 1)
            fail_msg("%s: dtype still known", bad[i].what);
    }
    /* flags as a bool; versions below 3 take the object flag from flags or the type */
    uint32_t v = dtype(t, "V8", v_bool(0));
    st_pkl bst = dstate(t, 3, v_int(8), v_bool(1));
    st_pkvals_build(t, v, &bst);
    targs[0] = v_rec(v);
    args = tup(t, targs, 2, NULL);
    assert_int_equal(st_pkvals_forged_object_dtype(t, &args, 0), 0);
    uint32_t f = dtype(t, ">f8", v_bool(0));
    st_pkl v1 = dstate(t, 1, v_int(8), v_int(1));
    st_pkvals_build(t, f, &v1);
    uint32_t f2 = dtype(t, ">f8", v_bool(0));
    st_pkl v1z = dstate(t, 1, v_int(8), v_int(0));
    st_pkvals_build(t, f2, &v1z);
    /* dtype(typestr, align): no copy argument; dtype of a 4-tuple: unknown */
    st_pkl two[2] = {{ST_PKL_STR, 0, 0, 1, 0, 3}, v_bool(0)};
    st_pkl a2 = tup(t, two, 2, "<i4");
    uint32_t i4 = st_pkvals_call(t, ST_PKC_DTYPE, 'R', &a2);
    st_pkl four[4] = {v_global(0, 1), v_none(), v_none(), v_none()};
    st_pkl a4 = tup(t, four, 4, NULL);
    uint32_t d4 = st_pkvals_call(t, ST_PKC_DTYPE, 'R', &a4);
    targs[0] = v_rec(d4);
    args = tup(t, targs, 2, NULL);
    assert_int_equal(st_pkvals_forged_object_dtype(t, &args, 0), 1);
    targs[0] = v_rec(i4);
    args = tup(t, targs, 2, NULL);
    assert_int_equal(st_pkvals_forged_object_dtype(t, &args, 0), 0);
    targs[0] = v_rec(99999); /* no such record */
    args = tup(t, targs, 2, NULL);
    assert_int_equal(st_pkvals_forged_object_dtype(t, &args, 0), 0);
    /* a pooled str item is not a type string numpy reads here (its text is not re-read) */
    st_pkl pooled[2] = {v_str(t, "f8"), v_bool(0)};
    assert_int_equal(tup(t, pooled, 2, NULL).kind, ST_PKL_CONTAINER);
    st_pkl ints4[4] = {v_int(1u << 31), v_int(1u << 31), v_int(1u << 31), v_int(3)};
    assert_int_equal(tup(t, ints4, 4, NULL).overflow, 1);
    assert_int_equal(st_pkvals_tuple(NULL, four, NULL, 4).kind, ST_PKL_CONTAINER);
    assert_int_equal(st_pkvals_out_of_memory(NULL), 0);
    assert_int_equal(st_pkvals_out_of_memory(t), 0);
    /* copyreg: first item not a class; a wrapper class made without __init__ */
    st_pkl notcls[2] = {v_int(3), v_global(0, 1)};
    st_pkl nc = tup(t, notcls, 2, NULL);
    assert_int_equal(st_pkvals_call(t, ST_PKC_NONE, 'C', &nc), 0);
    st_pkl wcls[2] = {v_global(ST_PKC_NUMPY_WRAPPER, 2), v_none()};
    st_pkl wc = tup(t, wcls, 2, NULL);
    uint32_t w = st_pkvals_call(t, ST_PKC_NONE, 'C', &wc);
    assert_true(w != 0);
    st_pkl none = v_none();
    assert_int_equal(st_pkvals_build(t, w, &none), ST_PKC_NUMPY_WRAPPER);
    st_jl_read rd;
    read_wrapper(t, w, ST_JL_FAILS, "without a shape or dtype attribute", &rd);
    /* a shape but no dtype; a dtype attribute that is not a dtype */
    st_pkl sh = v_shape(2, 0), num = v_int(8);
    st_pkvals_setitem(t, 500, "shape", &sh, NULL);
    st_pkl d500 = {ST_PKL_DICT, 0, 0, 2, 0, 500};
    w = st_pkvals_call(t, ST_PKC_NONE, 'C', &wc);
    st_pkvals_build(t, w, &d500);
    read_wrapper(t, w, ST_JL_FAILS, "without a shape or dtype attribute", &rd);
    st_pkvals_setitem(t, 500, "dtype", &num, NULL);
    w = st_pkvals_call(t, ST_PKC_NONE, 'C', &wc);
    st_pkvals_build(t, w, &d500);
    read_wrapper(t, w, ST_JL_UNKNOWN, "its dtype is not one stcheck can follow", &rd);
    /* a state that is a record but no pair: a mapping stcheck does not follow */
    st_pkl trio[3] = {v_global(0, 1), v_none(), v_none()};
    st_pkl tr = tup(t, trio, 3, NULL);
    w = st_pkvals_call(t, ST_PKC_NONE, 'C', &wc);
    st_pkvals_build(t, w, &tr);
    read_wrapper(t, w, ST_JL_UNKNOWN, "keys stcheck cannot read", &rd);
    /* a pooled str value is kept as is */
    st_pkl fname = v_str(t, "f.npy");
    st_pkvals_setitem(t, 501, "filename", &fname, NULL);
    st_pkl d501 = {ST_PKL_DICT, 0, 0, 2, 0, 501};
    st_pkl ndcls[2] = {v_global(ST_PKC_ND_WRAPPER, 2), v_none()};
    st_pkl ndc = tup(t, ndcls, 2, NULL);
    w = st_pkvals_call(t, ST_PKC_NONE, 'C', &ndc);
    st_pkvals_build(t, w, &d501);
    read_wrapper(t, w, ST_JL_SIBLING, NULL, &rd);
    assert_memory_equal(rd.name, "f.npy", 5);
    /* ZNDArrayWrapper without init_args, or with init_args of another length */
    st_pkl zcls[2] = {v_global(ST_PKC_ZND_WRAPPER, 2), v_none()};
    st_pkl zc = tup(t, zcls, 2, NULL);
    w = st_pkvals_call(t, ST_PKC_NONE, 'C', &zc);
    st_pkvals_build(t, w, &d501);
    read_wrapper(t, w, ST_JL_ZFILE, NULL, &rd);
    assert_int_equal(rd.has_subclass, 0);
    st_pkl init2[2] = {v_global(0, 9), v_none()};
    st_pkl in2 = tup(t, init2, 2, NULL);
    st_pkvals_setitem(t, 502, "filename", &fname, NULL);
    st_pkvals_setitem(t, 502, "init_args", &in2, NULL);
    st_pkl d502 = {ST_PKL_DICT, 0, 0, 2, 0, 502};
    w = st_pkvals_call(t, ST_PKC_NONE, 'C', &zc);
    st_pkvals_build(t, w, &d502);
    read_wrapper(t, w, ST_JL_ZFILE, NULL, &rd);
    assert_int_equal(rd.has_subclass, 0);
    st_pkl init3[3] = {v_int(1), v_none(), v_global(0, 2)};
    st_pkl in3 = tup(t, init3, 3, NULL);
    st_pkvals_setitem(t, 503, "filename", &fname, NULL);
    st_pkvals_setitem(t, 503, "init_args", &in3, NULL);
    st_pkl d503 = {ST_PKL_DICT, 0, 0, 2, 0, 503};
    w = st_pkvals_call(t, ST_PKC_NONE, 'C', &zc);
    st_pkvals_build(t, w, &d503);
    read_wrapper(t, w, ST_JL_ZFILE, NULL, &rd);
    assert_int_equal(rd.has_subclass, 0);
    /* ndarray states: item 2 not a dtype; a dtype with its object flag */
    st_pkl as[5] = {v_int(1), v_shape(1, 0), v_rec(f8), v_bool(0), v_kind(ST_PKL_TEXT, 1)};
    st_pkl ast = tup(t, as, 5, NULL);
    assert_int_equal(st_pkvals_raw_objects(t, &ast), 0);
    uint32_t o = dtype(t, "O8", v_bool(0));
    as[2] = v_rec(o);
    ast = tup(t, as, 5, NULL);
    assert_int_equal(st_pkvals_raw_objects(t, &ast), 0);
    as[2] = v_global(0, 1);
    ast = tup(t, as, 5, NULL);
    assert_int_equal(st_pkvals_raw_objects(t, &ast), 0);
    /* the string pool holds at most 32 MiB: later strings stay unresolved */
    char s256[256];
    memset(s256, 's', sizeof(s256));
    st_pkl last = v_none();
    for (int i = 0; i < 140000 && last.kind != ST_PKL_TEXT; i++)
        last = st_pkl_str(t, s256, sizeof(s256));
    assert_int_equal(last.kind, ST_PKL_TEXT);
    assert_int_equal(st_pkvals_exhausted(t), 0);
    st_pkvals_free(t);
}

/* ---- the walker with container flags and failing reads --------------------------------- */

typedef struct {
    const unsigned char *b;
    uint64_t fail_off; /* a read starting here fails */
    size_t fail_len;   /* ... of this length (0: any) */
} failing;

static st_error failing_read(void *arg, uint64_t off, void *buf, size_t len)
{
    const failing *f = arg;
    if (off == f->fail_off && (f->fail_len == 0 || len == f->fail_len))
        return ST_E_IO;
    memcpy(buf, f->b + off, len);
    return ST_OK;
}

/* Walks b as a job like tmpl (flags, profile), optionally through a source whose read at
 * fail_off (of fail_len bytes) fails; checks exact ids and verdict. */
static void walk_expect(st_ctx *ctx, const char *what, const void *b, size_t n,
                        const st_pk_job *tmpl, const failing *f, const char *ids, st_verdict v,
                        const char *msg, st_pk_result *res_out)
{
    st_report *r = st_report_new(ctx, "x");
    assert_non_null(r);
    st_src src = {-1, b, n};
    st_src_cb cb = {failing_read, (void *)f};
    if (f != NULL)
        st_src_callback(&src, &cb, n);
    st_input in = {.ctx = ctx, .report = r, .src = &src, .head = b, .head_len = n};
    st_pk_job job = *tmpl;
    job.in = &in;
    job.src = &src;
    job.end = n;
    st_pk_result res;
    st_pickle_walk(&job, &res);
    tu_assert_report(r, what, ids, v);
    if (msg != NULL)
        tu_assert_says(r, what, msg);
    if (res_out != NULL)
        *res_out = res;
    else
        st_pk_result_free(&res);
    st_report_free(r);
}

#define WALK(ctx, what, lit, job, f, ids, v, msg)                                                  \
    walk_expect((ctx), (what), (lit), sizeof(lit) - 1, (job), (f), (ids), (v), (msg), NULL)

/* Reads that fail are "could not check" (ST902), never a pass, and never a judgement of bytes
 * that were not read (these were "malformed" (ST205) or "does not decode" (ST203) before). */
static void test_io_failures(void **state)
{
    st_ctx *ctx = *state;
    const st_pk_job raw = {.profile = ST_PK_PROFILE_DATA};
    static const char g[] = "cos\nsystem\n.";
    failing f = {(const unsigned char *)g, 0, 0};
    WALK(ctx, "first window read", g, &raw, &f, "ST902", NOCHECK, "could not read pickle bytes");
    f = (failing){(const unsigned char *)g, 1, 2};
    WALK(ctx, "GLOBAL argument read", g, &raw, &f, "ST902", NOCHECK, "could not read pickle bytes");
    static const char put[] = "Np0\n.";
    f = (failing){(const unsigned char *)put, 2, 1};
    WALK(ctx, "PUT argument read", put, &raw, &f, "ST902", NOCHECK, "could not read pickle bytes");
    static const char i5[] = "I5\n.";
    f = (failing){(const unsigned char *)i5, 1, 1};
    WALK(ctx, "INT argument read", i5, &raw, &f, "ST902", NOCHECK, "could not read pickle bytes");
    static const char tail[] = "N.N.";
    f = (failing){(const unsigned char *)tail, 2, 2};
    WALK(ctx, "tail peek read", tail, &raw, &f, "ST208,ST902", NOCHECK, "2 bytes follow the STOP");
    /* a module string read back from beyond the window */
    size_t n = 2 + 7 + 5 + 70000 + 1 + 11 + 2;
    unsigned char *b = calloc(1, n);
    assert_non_null(b);
    memcpy(b, P4 "X\x02\x00\x00\x00osB\x70\x11\x01\x00", 14);
    memcpy(b + 14 + 70000, "0X\x06\x00\x00\x00system\x93.", 14);
    f = (failing){b, 7, 2};
    walk_expect(ctx, "string read back", b, 14 + 70000 + 14, &raw, &f, "ST902", NOCHECK,
                "could not read pickle bytes", NULL);
    f = (failing){b, UINT64_MAX, 0};
    walk_expect(ctx, "string read back (no failure)", b, 14 + 70000 + 14, &raw, &f, "ST201", FAIL,
                "os.system", NULL);
    (void)n;
    free(b);
    /* a line longer than the window: its second window cannot be read */
    b = malloc(70010);
    assert_non_null(b);
    memcpy(b, P2 "S'", 4);
    memset(b + 4, 'a', 70000);
    memcpy(b + 70004, "'\n.", 3);
    f = (failing){b, 3, 65536};
    walk_expect(ctx, "long line read", b, 70007, &raw, &f, "ST902", NOCHECK,
                "could not read pickle bytes", NULL);
    free(b);
}

/* Persistent ids under the containers' rules: storage tuples are recorded by index, and a
 * tuple that only looks like one to the index (a data-class tuple's marker) is not a storage. */
static void test_persistent_ids(void **state)
{
    st_ctx *ctx = *state;
    const st_pk_job torch = {.profile = ST_PK_PROFILE_TORCH, .torch_rules = 1};
    const st_pk_job torch_data = {.profile = ST_PK_PROFILE_DATA, .torch_rules = 1};
    const st_pk_job keyed = {.profile = ST_PK_PROFILE_TORCH, .keyed_persid = 1};
#define STORAGE(key, n)                                                                            \
    "(U\x07storagectorch\nFloatStorage\nU\x01" key "U\x03"                                         \
    "cpuK" n
    static const char one[] = P2 "ctorch\nFloatStorage\n0" STORAGE("0", "\x02") "tQ.";
    st_pk_result res;
    walk_expect(ctx, "storage id", one, sizeof(one) - 1, &torch, NULL, "", PASS, NULL, &res);
    assert_int_equal(res.n_storages, 1);
    assert_string_equal(res.storages[0].key, "0");
    assert_true(res.storages[0].numel == 2);
    assert_int_equal(res.storages[0].elem_size, 4);
    st_pk_result_free(&res);
    /* a storage tuple through the memo keeps its index; one no BINPERSID uses is dropped */
    static const char memo[] = P2 "ctorch\nFloatStorage\n0" STORAGE("0", "\x02") "tq\x00"
                                                                                 "0h\x00Q.";
    walk_expect(ctx, "storage id via memo", memo, sizeof(memo) - 1, &torch, NULL, "", PASS, NULL,
                &res);
    assert_int_equal(res.n_storages, 1);
    st_pk_result_free(&res);
    static const char unused[] = P2 "ctorch\nFloatStorage\n0" STORAGE("0", "\x02") "t.";
    walk_expect(ctx, "storage id unused", unused, sizeof(unused) - 1, &torch, NULL, "", PASS, NULL,
                &res);
    assert_int_equal(res.n_storages, 0);
    st_pk_result_free(&res);
    /* the index guard: a data class tuple carries a marker in the same field */
    WALK(ctx, "data-class tuple as persistent id", P2 "cnumpy\nmatrix\nN\x86Q.", &torch_data, NULL,
         "ST202,ST211", FAIL, "persistent id is not a ('storage'");
    WALK(ctx, "tuple of ints as persistent id", P2 "K\x01K\x02\x86Q.", &torch, NULL, "ST211", FAIL,
         "persistent id is not a ('storage'");
    static const struct {
        const char *what, *b;
    } not_storage[] = {
        {"type not a global", P2 "(U\x07storageNU\x01"
                                 "0U\x03"
                                 "cpuK\x02tQ."},
        {"location not a str", P2 "(U\x07storagectorch\nFloatStorage\nU\x01"
                                  "0NK\x02tQ."},
        {"numel not an int", P2 "(U\x07storagectorch\nFloatStorage\nU\x01"
                                "0U\x03"
                                "cpuNtQ."},
        {"numel negative", P2 "(U\x07storagectorch\nFloatStorage\nU\x01"
                              "0U\x03"
                              "cpuJ\xff\xff\xff\xfftQ."},
        {"tag not storage", P2 "(U\x07storagXctorch\nFloatStorage\nU\x01"
                               "0U\x03"
                               "cpuK\x02tQ."},
        {"tag not a str", P2 "(Nctorch\nFloatStorage\nU\x01"
                             "0U\x03"
                             "cpuK\x02tQ."},
        {"key not a str", P2 "(U\x07storagectorch\nFloatStorage\nNU\x03"
                             "cpuK\x02tQ."},
        {"four items", P2 "(U\x07storagectorch\nFloatStorage\nU\x01"
                          "0U\x03"
                          "cputQ."},
    };
    for (size_t i = 0; i < sizeof(not_storage) / sizeof(not_storage[0]); i++)
        walk_expect(ctx, not_storage[i].what, not_storage[i].b, strlen(not_storage[i].b), &torch,
                    NULL, "ST211", FAIL, "persistent id is not a ('storage'", NULL);
    /* a key of 64 bytes does not fit the record */
    char longkey[200];
    int kn = snprintf(longkey, sizeof(longkey),
                      P2 "(U\x07storagectorch\nFloatStorage\nU\x40%064dU\x03"
                         "cpuK\x02tQ.",
                      0);
    walk_expect(ctx, "key of 64 bytes", longkey, (size_t)kn, &torch, NULL, "ST211", FAIL,
                "persistent id is not a ('storage'", NULL);
    /* 70 storages: the table grows past 64; a limit of 2 stops the walk */
    char *many = malloc(70 * 64 + 64);
    assert_non_null(many);
    size_t n = 0;
    memcpy(many, P2 "(", 3);
    n = 3;
    for (int i = 0; i < 70; i++) {
        n += (size_t)snprintf(many + n, 80,
                              "(U\x07storagectorch\nFloatStorage\nU\x02%02dU\x03"
                              "cpuK\x01tQ",
                              i);
    }
    memcpy(many + n, "l.", 2);
    n += 2;
    walk_expect(ctx, "70 storages", many, n, &torch, NULL, "", PASS, NULL, &res);
    assert_int_equal(res.n_storages, 70);
    assert_string_equal(res.storages[69].key, "69");
    st_pk_result_free(&res);
    st_ctx *lim = st_ctx_new();
    assert_int_equal(st_ctx_set_limit(lim, ST_LIMIT_PICKLE_STORAGES, 2), ST_OK);
    walk_expect(lim, "storage limit", many, n, &torch, NULL, "ST901", NOCHECK,
                "pickle storage references above the limit of 2", NULL);
    st_ctx_free(lim);
    free(many);
    /* text persistent ids: keyed ids are the loader's keys; torch reports them */
    WALK(ctx, "PERSID keyed", "Pabc\nQ.", &keyed, NULL, "", PASS, NULL);
    WALK(ctx, "BINPERSID keyed", "K\x01Q.", &keyed, NULL, "", PASS, NULL);
    WALK(ctx, "PERSID torch", "Pabc\n.", &torch, NULL, "ST211", FAIL, "a text persistent id");
    WALK(ctx, "PERSID raw", "Pabc\n.", &(st_pk_job){.profile = ST_PK_PROFILE_DATA}, NULL, "ST211",
         FAIL, "no loader gives a persistent_load");
    /* a tail that begins with PERSID is walked where a persistent_load exists */
    WALK(ctx, "PERSID tail under torch rules", "N.Pabc\n.", &torch, NULL, "ST208,ST211", FAIL,
         "a text persistent id");
    WALK(ctx, "PERSID tail, keyed", "N.Pabc\n.", &keyed, NULL, "ST208", PASS, NULL);
}

/* Job flags only containers set: the nesting depth a joblib object array reaches, the readers
 * that read a wrapper's array (plain 0 and 3) or not (1; 2: NDArrayWrapper siblings only), the
 * TorchScript profile. */
#define NAW                                                                                        \
    P2 "cjoblib.numpy_pickle\nNumpyArrayWrapper\n(cnumpy\nndarray\nK\x02\x85U\x01"                 \
       "Ccnumpy\ndtype\n(U\x03<f8\x89\x88tRtR}b"
#define NAW_O                                                                                      \
    P2 "cjoblib.numpy_pickle\nNumpyArrayWrapper\n(cnumpy\nndarray\nK\x02\x85U\x01"                 \
       "Ccnumpy\ndtype\n(U\x02O8\x89\x88tRtR}b"
static void test_job_flags(void **state)
{
    st_ctx *ctx = *state;
    const st_pk_job deep = {.profile = ST_PK_PROFILE_DATA, .depth = 4};
    WALK(ctx, "nested pickle beyond the nesting limit", NAW_O "N..", &deep, NULL, "ST901", NOCHECK,
         "pickle nesting of pickles above the limit of 4");
    const st_pk_job old = {.profile = ST_PK_PROFILE_DATA, .plain = 3};
    WALK(ctx, "joblib < 1.2 reads no padding byte",
         NAW "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00.", &old, NULL, "",
         PASS, NULL);
    const st_pk_job zip = {.profile = ST_PK_PROFILE_DATA, .plain = 2};
    WALK(ctx, "ZipNumpyUnpickler reads no NumpyArrayWrapper", NAW ".", &zip, NULL, "", PASS, NULL);
    WALK(ctx, "ZipNumpyUnpickler reads NDArrayWrapper siblings",
         "cjoblib.numpy_pickle\nNDArrayWrapper\n(U\x05"
         "a.npycnumpy\nndarray\ntR}b.",
         &zip, NULL, "ST234", NOCHECK, "a.npy");
    const st_pk_job plain = {.profile = ST_PK_PROFILE_DATA, .plain = 1};
    WALK(ctx, "pickle.load reads no array", NAW ".", &plain, NULL, "", PASS, NULL);
    const st_pk_job ts = {.profile = ST_PK_PROFILE_TORCHSCRIPT, .torch_rules = 1};
    WALK(ctx, "TorchScript profile names itself", "cmylib\nNet\n.", &ts, NULL, "ST202", FAIL,
         "which the TorchScript allowlist does not hold");
    const st_pk_job torch = {.profile = ST_PK_PROFILE_TORCH, .torch_rules = 1};
    WALK(ctx, "BINPERSID of an int under torch rules", "K\x01Q.", &torch, NULL, "ST211", FAIL,
         "persistent id is not a ('storage'");
}

/* Identification of pickles by their first opcodes (st_pk_looks_like_pickle). */
static void test_looks_like(void **state)
{
    (void)state;
#define LOOKS(b, want)                                                                             \
    do {                                                                                           \
        if (st_pk_looks_like_pickle((const unsigned char *)(b), sizeof(b) - 1) != (want))          \
            fail_msg("looks_like(%s) != %d", #b, (want));                                          \
    } while (0)
    LOOKS("", 0);
    LOOKS("\x80\x05", 1);
    LOOKS("\x80\x0f", 1);
    LOOKS("\x80\x10N.", 0);
    LOOKS("\x80", 0);
    LOOKS("x.", 0);
    LOOKS("(\xff.", 0);
    LOOKS("(cos", 0);
    LOOKS("(cos\nsys", 0);
    LOOKS("(cos\nsystem\n.", 1);
    LOOKS("(U\x01"
          "a.",
          1);
    LOOKS("(C\x01"
          "a.",
          1);
    LOOKS("(\x8a\x01\x01.", 1);
    LOOKS("(\x8c\x01"
          "a.",
          1);
    LOOKS("(T\x01\x00\x00\x00"
          "a.",
          1);
    LOOKS("(X\x01\x00\x00\x00"
          "a.",
          1);
    LOOKS("(B\x01\x00\x00\x00"
          "a.",
          1);
    LOOKS("(\x8b\x01\x00\x00\x00\x01.", 1);
    LOOKS("(\x8d\x01\x00\x00\x00\x00\x00\x00\x00"
          "a.",
          1);
    LOOKS("(\x8e\x01\x00\x00\x00\x00\x00\x00\x00"
          "a.",
          1);
    LOOKS("(\x96\x01\x00\x00\x00\x00\x00\x00\x00"
          "a.",
          1);
    LOOKS("(X\xff\x00\x00\x00"
          "a",
          0); /* a long argument beyond the window */
    LOOKS("(G\x00\x00\x00\x00\x00\x00\x00\x00.", 1);
    LOOKS("(M\x01\x00.", 1);
    LOOKS("(J\x01\x00\x00\x00.", 1);
    LOOKS("(K", 0); /* cut before 32 opcodes */
#undef LOOKS
}

/* The pickle view of every file (views.c): which first bytes it walks, and what it reports. */
static void view_expect(st_ctx *ctx, const char *what, const char *b, size_t n, const char *ids,
                        st_verdict v)
{
    st_report *r = st_report_new(ctx, "x");
    st_src src = {-1, (const unsigned char *)b, n};
    st_input in = {
        .ctx = ctx, .report = r, .src = &src, .head = (const unsigned char *)b, .head_len = n};
    st_error err = st_pickle_view_check(&in);
    if (err != ST_OK)
        st_report_fail(r, err);
    tu_assert_report(r, what, ids, v);
    st_report_free(r);
}

static void test_pickle_view(void **state)
{
    static const struct {
        const char *b;
        size_t n;
        int want;
    } sniff[] = {
        {"", 0, 0},       {"\0", 1, 0},     {"x", 1, 0},    {"N", 1, 100},  {"(", 1, 100},
        {"\x80", 1, 100}, {"\x95", 1, 100}, {"\x81", 1, 0}, {"\xff", 1, 0}, {".", 1, 0},
    };
    for (size_t i = 0; i < sizeof(sniff) / sizeof(sniff[0]); i++) {
        st_input in = {.head = (const unsigned char *)sniff[i].b, .head_len = sniff[i].n};
        if (st_pickle_view_sniff(&in) != sniff[i].want)
            fail_msg("view sniff %zu: %d", i, st_pickle_view_sniff(&in));
    }
    view_expect(*state, "imports and calls", "cos\nsystem\n(S'x'\ntR.", 20, "ST201,ST520", FAIL);
    view_expect(*state, "runs nothing", "N.", 2, "", PASS);
    view_expect(*state, "fails at once", "NR", 2, "", PASS);
    st_ctx *ctx = st_ctx_new();
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_PICKLE_OPCODES, 2), ST_OK);
    view_expect(ctx, "could not finish, imported nothing", "NNNN.", 5, "ST901", NOCHECK);
    st_ctx_free(ctx);
}

/* ---- legacy torch checkpoints (rawpickle.c) ------------------------------------------------ */

#define LB(p, lit) ba_put((p), lit, sizeof(lit) - 1)

#define MAGIC P2 "\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19."
#define LEGACY_HEAD MAGIC P2 "M\xe9\x03." P2 "}."
#define KEYS P2 "]."

static void legacy_expect(st_ctx *ctx, const char *what, const ba_buf *p, const char *ids,
                          st_verdict v, const char *msg)
{
    st_report *r = st_check_buffer(ctx, p->b, p->n, "x.pt");
    assert_non_null(r);
    tu_assert_report(r, what, ids, v);
    assert_string_equal(st_report_format(r), "pytorch-legacy");
    if (msg != NULL)
        tu_assert_says(r, what, msg);
    st_report_free(r);
}

/* The object pickle with storages named keys (numel n each, of type), then the storages. */
static void legacy(ba_buf *p, const char *type, const char *const *keys, size_t nkeys,
                   uint64_t numel)
{
    p->n = 0;
    LB(p, LEGACY_HEAD P2 "(");
    for (size_t i = 0; i < nkeys; i++) {
        char t[256];
        int n = snprintf(t, sizeof(t),
                         "(U\x07storagec%s\nU%c%sU\x03"
                         "cpuK%ctQ",
                         type, (char)strlen(keys[i]), keys[i], (char)numel);
        ba_put(p, t, (size_t)n);
    }
    LB(p, "l." KEYS);
}

static void test_legacy(void **state)
{
    st_ctx *ctx = *state;
    ba_buf p = {0};
    static const char *const ab[] = {"b", "a", "a"};
    legacy(&p, "torch\nFloatStorage", ab, 3, 2);
    ba_u64(&p, 2);
    ba_put(&p, "\0\0\0\0\0\0\0\0", 8);
    ba_u64(&p, 2);
    ba_put(&p, "\0\0\0\0\0\0\0\0", 8);
    legacy_expect(ctx, "two storages, one shared", &p, "", PASS, NULL);
    LB(&p, "xx");
    legacy_expect(ctx, "bytes after the storages", &p, "ST208", PASS,
                  "2 bytes follow the last storage");
    p.n -= 2 + 16;
    legacy_expect(ctx, "second storage missing", &p, "ST312", FAIL,
                  "storage \"b\" is missing from the end of the file");
    p.n -= 4;
    legacy_expect(ctx, "first storage cut", &p, "ST312", FAIL,
                  "storage \"a\" of 2 elements runs past the end of the file");
    p.n -= 12;
    ba_u64(&p, 3);
    legacy_expect(ctx, "count differs from the id", &p, "ST312", FAIL,
                  "storage \"a\" records 3 elements; its persistent id says 2");
    /* a storage type of unknown element size */
    static const char *const a[] = {"a"};
    legacy(&p, "torch\nUnknownStorage", a, 1, 2);
    ba_u64(&p, 2);
    legacy_expect(ctx, "unknown storage type", &p, "ST202,ST312", FAIL,
                  "storage \"a\" of 2 elements runs past the end of the file");
    /* a record that is no complete pickle ends the walk */
    p.n = 0;
    LB(&p, LEGACY_HEAD P2 "N");
    legacy_expect(ctx, "object pickle cut", &p, "ST205", FAIL, "truncated");
    p.n = 0;
    LB(&p, MAGIC);
    legacy_expect(ctx, "magic only", &p, "ST205", FAIL, "truncated");
    free(p.b);
}

/* The magic number in every encoding torch's int comparison accepts, and near misses. */
static void test_legacy_magic(void **state)
{
    st_ctx *ctx = *state;
#define MAGIC_CASE(what, b, ids)                                                                   \
    {                                                                                              \
        what, b, sizeof(b) - 1, ids                                                                \
    }
    static const struct {
        const char *what, *b;
        size_t len;
        const char *ids;
    } cases[] = {
        MAGIC_CASE("INT decimal", "I119547037146038801333356\n.", "ST205,ST325"),
        MAGIC_CASE("INT with spaces and a plus", "I +119547037146038801333356 \n.", "ST205,ST325"),
        MAGIC_CASE("INT between tab and carriage return", "I\t119547037146038801333356\r\n.",
                   "ST205,ST325"),
        MAGIC_CASE("INT with an underscore", "I1_19547037146038801333356\n.", "ST205,ST325"),
        MAGIC_CASE("INT hex", "I0x1950a86a20f9469cfc6c\n.", "ST205,ST325"),
        MAGIC_CASE("INT hex upper with underscores", "I0X1950_A86A_20F9_469C_FC6C\n.",
                   "ST205,ST325"),
        MAGIC_CASE("LONG with L", "L119547037146038801333356L\n.", "ST205,ST325"),
        MAGIC_CASE("INT octal", "I0o31241241521017450647176154\n.", "ST205,ST325"),
        MAGIC_CASE("PUT and MEMOIZE around",
                   P4 "\x95\x18\x00\x00\x00\x00\x00\x00\x00"
                      "\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x94r"
                      "\x01\x00\x00\x00p2\nq\x03.",
                   "ST205,ST325"),
        MAGIC_CASE("LONG4", P2 "\x8b\x0b\x00\x00\x00\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x00.",
                   "ST205,ST325"),
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        st_report *r = st_check_buffer(ctx, cases[i].b, cases[i].len, "x.pt");
        char got[512];
        tu_ids(r, got, sizeof(got));
        if (strcmp(got, cases[i].ids) != 0 || strcmp(st_report_format(r), "pytorch-legacy") != 0)
            fail_msg("%s: ids \"%s\" format %s", cases[i].what, got, st_report_format(r));
        st_report_free(r);
    }
    /* near misses stay raw pickles */
    static const char *const misses[] = {
        "I0119547037146038801333356\n.", /* a leading zero */
        "I1__19547037146038801333356\n.",
        "I119547037146038801333357\n.",
        "I-119547037146038801333356\n.",
        "I0b2\n.",
        "I0x_1950a86a20f9469cfc6c_\n.",
        "I0x__1950a86a20f9469cfc6c\n.",
        "I_1\n.",
        "I0xg\n.",
        "I 1 1\n.",
        "I1\nI1\n.",
        "I119547037146038801333356\nI1\n.",
        "I119547037146038801333356\n\x8a\x01\x01.",
        "I119547037146038801333356\x01\n.",
        "I1",
        "I0x1950a86a20f9469cfc6c00000000000000000000000000\n.",
        P2 "\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x18.",
        P2 "\x8a\x0b\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x01.",
        P2 "\x8a\x01\x01\x8a\x01\x01.",
        P2 "\x8b\xff\xff\xff\xff.",
        P2 "\x8b\x01\x00",
        P2 "\x8a\x05\x01\x02",
        P2 "N.",
        P2 "\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19",
        P2 "p1",
    };
    for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++) {
        st_report *r = st_check_buffer(ctx, misses[i], strlen(misses[i]), "x.pt");
        if (strcmp(st_report_format(r), "pytorch-legacy") == 0)
            fail_msg("miss %zu taken for the legacy magic", i);
        st_report_free(r);
    }
}

/* ---- the allowlist judgement (pickle_globals.c) ------------------------------------------ */

static st_ctx *policy_ctx(const char *json)
{
    st_ctx *ctx = st_ctx_new();
    char err[256];
    if (st_ctx_load_policy_text(ctx, json, NULL, err, sizeof(err)) != ST_OK)
        fail_msg("policy: %s", err);
    return ctx;
}

static void test_judge(void **state)
{
    (void)state;
    char long_mod[2100];
    memset(long_mod, 'm', sizeof(long_mod) - 1);
    long_mod[sizeof(long_mod) - 1] = '\0';
    /* a name too long to join is never allowed */
    assert_int_equal(st_pk_judge(NULL, ST_PK_PROFILE_DATA, long_mod, "x"), ST_PK_SUSPICIOUS);
    assert_int_equal(st_pk_is_container_type(long_mod, "x"), 0);
    assert_int_equal(st_pk_is_data_class(NULL, ST_PK_PROFILE_DATA, long_mod, "x"), 0);
    assert_int_equal(st_pk_storage_elem_size(long_mod, "x"), 0);
    assert_int_equal(st_pk_judge(NULL, ST_PK_PROFILE_DATA, "os", "system"), ST_PK_MALICIOUS);
    assert_int_equal(st_pk_judge(NULL, ST_PK_PROFILE_DATA, "collections", "OrderedDict"),
                     ST_PK_ALLOWED);
    assert_int_equal(st_pk_judge(NULL, ST_PK_PROFILE_TORCH, "numpy", "dtype"), ST_PK_SUSPICIOUS);
    assert_int_equal(st_pk_is_container_type("collections", "OrderedDict"), 1);
    assert_int_equal(st_pk_is_data_class(NULL, ST_PK_PROFILE_DATA, "numpy", "matrix"), 1);
    assert_int_equal(st_pk_is_data_class(NULL, ST_PK_PROFILE_TORCH, "numpy", "matrix"), 0);
    /* policy lists: exact names and module wildcards (the module or a submodule, not a
     * prefix of a name) */
    st_ctx *ctx = policy_ctx("{\"pickle\": {\"allow\": [\"mylib.*\", \"other.Net\"], "
                             "\"deny\": [\"numpy.matrix\", \"bad.*\"]}}");
    assert_int_equal(st_pk_judge(ctx, ST_PK_PROFILE_DATA, "mylib", "Net"), ST_PK_ALLOWED);
    assert_int_equal(st_pk_judge(ctx, ST_PK_PROFILE_DATA, "mylib.sub", "Net"), ST_PK_ALLOWED);
    assert_int_equal(st_pk_judge(ctx, ST_PK_PROFILE_DATA, "mylibx", "Net"), ST_PK_SUSPICIOUS);
    assert_int_equal(st_pk_judge(ctx, ST_PK_PROFILE_DATA, "other", "Net"), ST_PK_ALLOWED);
    assert_int_equal(st_pk_judge(ctx, ST_PK_PROFILE_DATA, "other", "Nets"), ST_PK_SUSPICIOUS);
    assert_int_equal(st_pk_judge(ctx, ST_PK_PROFILE_DATA, "bad.x", "y"), ST_PK_MALICIOUS);
    assert_int_equal(st_pk_is_data_class(ctx, ST_PK_PROFILE_DATA, "numpy", "matrix"), 0);
    assert_int_equal(st_pk_is_data_class(ctx, ST_PK_PROFILE_DATA, "numpy", "recarray"), 1);
    st_ctx_free(ctx);
    /* replaced lists: the built-in allowlist and denylist no longer apply */
    ctx = policy_ctx("{\"pickle\": {\"allow\": [\"os.system\"], \"replace_allowlist\": true, "
                     "\"replace_denylist\": true}}");
    assert_int_equal(st_pk_judge(ctx, ST_PK_PROFILE_DATA, "os", "system"), ST_PK_ALLOWED);
    assert_int_equal(st_pk_judge(ctx, ST_PK_PROFILE_DATA, "collections", "OrderedDict"),
                     ST_PK_SUSPICIOUS);
    assert_int_equal(st_pk_judge(ctx, ST_PK_PROFILE_TORCHSCRIPT, "torch", "ones"),
                     ST_PK_SUSPICIOUS);
    assert_int_equal(st_pk_is_data_class(ctx, ST_PK_PROFILE_DATA, "numpy", "matrix"), 0);
    st_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tuples),         cmocka_unit_test(test_exhaustion),
        cmocka_unit_test(test_dicts),          cmocka_unit_test(test_dtypes),
        cmocka_unit_test(test_wrappers),       cmocka_unit_test(test_io_failures),
        cmocka_unit_test(test_persistent_ids), cmocka_unit_test(test_legacy),
        cmocka_unit_test(test_legacy_magic),   cmocka_unit_test(test_judge),
        cmocka_unit_test(test_job_flags),      cmocka_unit_test(test_looks_like),
        cmocka_unit_test(test_value_edges),    cmocka_unit_test(test_pickle_view),
    };
    return cmocka_run_group_tests(tests, tu_ctx_setup, tu_ctx_teardown);
}
