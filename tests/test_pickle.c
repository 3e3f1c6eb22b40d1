/*
 * test_pickle.c - the pickle walker on hand-assembled opcode streams: every opcode family, every
 * memo form, the four kinds of scanner bypass, malformed streams and limits. Each case asserts
 * the exact set of finding ids and the verdict. No stream is ever loaded by Python.
 */
#include "byte_buf.h"
#include "test_util.h"

#include "formats/pickle.h"

#define PASS ST_VERDICT_PASS
#define FAIL ST_VERDICT_FAIL
#define NOCHECK ST_VERDICT_ERROR
#define P2 "\x80\x02"
#define P4 "\x80\x04"

typedef struct {
    const char *what;
    const char *bytes;
    size_t len; /* 0: strlen */
    const char *ids;
    st_verdict verdict;
} pk_case;

#define CASE(what, b, ids, v)                                                                      \
    {                                                                                              \
        what, b, sizeof(b) - 1, ids, v                                                             \
    }

static st_report *check_pickle(st_ctx *ctx, const char *b, size_t n, const char *name)
{
    st_report *r = st_check_buffer(ctx, b, n, name);
    assert_non_null(r);
    return r;
}

static void run_cases(st_ctx *ctx, const pk_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        st_report *r = check_pickle(ctx, c[i].bytes, c[i].len, "x.pkl");
        tu_assert_report(r, c[i].what, c[i].ids, c[i].verdict);
        st_report_free(r);
    }
}

/* Benign streams of every opcode family pass cleanly. */
static void test_opcode_families(void **state)
{
    static const pk_case cases[] = {
        CASE("proto0 ints, floats, strings", "(I1\nI00\nI01\nL5L\nF1.5\nS'a'\nVb\nNtp0\n.", "",
             PASS),
        CASE("proto1 binary ints/strings",
             "(K\x01M\x01\x02J\x01\x00\x00\x00G\x00\x00\x00\x00"
             "\x00\x00\x00\x00U\x01"
             "aT\x01\x00\x00\x00"
             "bX\x01\x00"
             "\x00\x00"
             "ct.",
             "", PASS),
        CASE("proto1 containers",
             "]q\x00(K\x01K\x02"
             "e0}q\x01(U\x01"
             "aK\x01u0)q\x02"
             "0h\x00h\x01h\x02"
             "\x87.",
             "", PASS),
        CASE("proto2 longs, bools, tuples",
             P2 "\x8a\x01\x05\x8b\x01\x00\x00\x00\x07\x88\x89"
                "\x87N\x85N\x86\x86\x86.",
             "", PASS),
        CASE("proto3 bytes",
             "\x80\x03"
             "C\x02hiB\x01\x00\x00\x00x\x86.",
             "", PASS),
        CASE("proto4 frame, sets, unicode8",
             P4 "\x95\x16\x00\x00\x00\x00\x00\x00\x00\x8f"
                "\x94(K\x01\x90(K\x02\x91\x8d\x01\x00\x00\x00"
                "\x00\x00\x00\x00"
                "a\x87.",
             "", PASS),
        CASE("proto5 bytearray8", "\x80\x05\x96\x01\x00\x00\x00\x00\x00\x00\x00z.", "", PASS),
        CASE("list/dict/append/setitem", "(lp0\nI1\na(dp1\nS'k'\nI2\nsp2\n0.", "", PASS),
        CASE("empty TUPLE first (fuzz regression: NULL stack)", "(t.", "", PASS),
        CASE("POP, POP_MARK, DUP", "(K\x01K\x02\x31K\x03\x32\x30.", "", PASS),
        CASE("POP on empty stack pops a mark", "K\x01(0.", "", PASS),
        CASE("OrderedDict filled by SETITEMS",
             P2 "ccollections\nOrderedDict\nq\x00)R(K\x01"
                "K\x02u.",
             "", PASS),
    };
    run_cases(*state, cases, sizeof(cases) / sizeof(cases[0]));
}

/* Every memo form stores the top of the stack, whatever produced it. */
static void test_memo_forms(void **state)
{
    static const pk_case cases[] = {
        CASE("PUT/GET text", "cos\nsystem\np7\n0g7\n(S'x'\ntR.", "ST201", FAIL),
        CASE("BINPUT/BINGET",
             "cos\nsystem\nq\x05"
             "0h\x05(S'x'\ntR.",
             "ST201", FAIL),
        CASE("LONG_BINPUT/LONG_BINGET",
             "cos\nsystem\nr\x02\x00\x00\x00"
             "0j\x02\x00\x00\x00"
             "(S'x'\ntR.",
             "ST201", FAIL),
        CASE("MEMOIZE numbering",
             P4 "K\x01\x94\x8c\x02os\x94\x8c\x06system\x94h\x01h\x02\x93"
                "N\x85R.",
             "ST201,ST214", FAIL),
        CASE("memo of a DUP", P4 "\x8c\x02os\x32\x94\x30\x8c\x06system\x93N\x85R.", "ST201", FAIL),
        CASE("missing memo entry", P2 "h\x03.", "ST205", FAIL),
        CASE("sparse memo index", "K\x01r\x00\x00\x10\x00.", "ST205", FAIL),
        CASE("PUT with a sign", "K\x01p-1\n.", "ST205", FAIL),
    };
    run_cases(*state, cases, sizeof(cases) / sizeof(cases[0]));
}

/* Bypass kind 1: dangerous callables missing from a denylist; the allowlist decides. */
static void test_allowlist(void **state)
{
    static const pk_case cases[] = {
        CASE("os.system", "cos\nsystem\n(S'true'\ntR.", "ST201", FAIL),
        CASE("posix.system", "cposix\nsystem\n(S'true'\ntR.", "ST201", FAIL),
        CASE("subprocess submodule", "csubprocess.x\nPopen\n.", "ST201", FAIL),
        CASE("pip.main", "cpip\nmain\n.", "ST201", FAIL),
        CASE("pkgutil.resolve_name", "cpkgutil\nresolve_name\n.", "ST201", FAIL),
        CASE("builtins.getattr", "cbuiltins\ngetattr\n.", "ST201", FAIL),
        CASE("torch.load", "ctorch\nload\n.", "ST201", FAIL),
        CASE("operator.attrgetter", "c_operator\nattrgetter\n.", "ST201", FAIL),
        CASE("functools.partial", "cfunctools\npartial\n.", "ST201", FAIL),
        CASE("unknown global fails", "cmylib.models\nNet\n)\x81.", "ST202", FAIL),
        CASE("case is not folded", "cOS\nsystem\n.", "ST202", FAIL),
        CASE("no trimming", "cnumpy.core.multiarray \n_reconstruct\n.", "ST202", FAIL),
        CASE("prefix is not a match", "cnumpy.core.multiarray\n_reconstructX\n.", "ST202", FAIL),
        CASE("numpy in data profile", "cnumpy.core.multiarray\n_reconstruct\n.", "", PASS),
        CASE("py2 __builtin__.eval", "c__builtin__\neval\n(S'1'\ntR.", "ST201", FAIL),
        CASE("py2 cPickle.loads", "ccPickle\nloads\n.", "ST201", FAIL),
        CASE("py2 mapping below proto 3 only",
             "\x80\x03"
             "ccopy_reg\n_reconstructor\n.",
             "ST202", FAIL),
        CASE("dotted qualname reaching os", P4 "\x8c\x07pathlib\x8c\x09os.system\x93.", "ST201",
             FAIL),
        CASE("dunder attribute walk", P4 "\x8c\x05torch\x8c\x12Tensor.__globals__\x93.", "ST201",
             FAIL),
    };
    run_cases(*state, cases, sizeof(cases) / sizeof(cases[0]));
}

/* Fail closed (issue #9): every import, call, build or extension the profile does not allow is
 * an error, and so is everything the walk cannot follow. Each bypass that used to pass. */
static void test_fail_closed(void **state)
{
    static const pk_case cases[] = {
        CASE("logging.FileHandler opens a file",
             P2 "clogging\nFileHandler\nX\x06\x00\x00\x00/tmp/x\x85R.", "ST201", FAIL),
        CASE("_osx_support._read_output runs a command", "c_osx_support\n_read_output\n(S'id'\ntR.",
             "ST201", FAIL),
        CASE("dataclasses._create_fn runs exec",
             "cdataclasses\n_create_fn\n(S'f'\n(tS'import os'\ntR.", "ST201", FAIL),
        CASE("typing._eval_type runs eval", "ctyping\n_eval_type\n(S'x'\nNNtR.", "ST201", FAIL),
        CASE("string.Formatter.get_field walks attributes",
             P4 "\x8c\x06string\x8c\x13"
                "Formatter.get_field\x93.",
             "ST201", FAIL),
        CASE("torch.utils.collect_env.run runs a command",
             "ctorch.utils.collect_env\nrun\n(S'id'\ntR.", "ST201", FAIL),
        CASE("a library class (sklearn)",
             P2 "csklearn.linear_model._logistic\nLogisticRegression\n)\x81}b.", "ST202", FAIL),
        CASE("an nn.Module", P2 "ctorch.nn.modules.linear\nLinear\n)\x81}b.", "ST202", FAIL),
        CASE("__main__ class is not on the allowlist (not 'known dangerous')",
             P2 "c__main__\nNet\n)\x81.", "ST202", FAIL),
        CASE("rot13 name that _codecs.encode returns",
             P4 "\x8c\x07_codecs\x8c\x06"
                "encode\x93\x8c\x02"
                "bf\x8c\x05rot13\x86R\x8c\x06system\x93N\x85R.",
             "ST203", FAIL),
        CASE("STACK_GLOBAL name from a global", P4 "cbuiltins\nset\n\x8c\x01x\x93.", "ST203", FAIL),
        CASE("EXT2", P2 "\x83\x07\x01)R.", "ST204", FAIL),
        CASE("EXT4", P2 "\x84\x07\x00\x00\x01)R.", "ST204", FAIL),
        CASE("BUILD on a class", P2 "cnumpy\ndtype\n}b.", "ST209", FAIL),
        CASE("nothing runs after a persistent id no loader resolves", P2 "K\x01Qcos\nsystem\n.",
             "ST211", FAIL),
        CASE("APPEND to a value a call returned",
             "c_codecs\nencode\n(S'a'\ntRK\x01"
             "a.",
             "ST210", FAIL),
        CASE("OBJ on a value a call returned", "(cbuiltins\nset\n)Ro.", "ST213", FAIL),
        CASE("OrderedDict state via BUILD", P2 "ccollections\nOrderedDict\n)R}b.", "", PASS),
        CASE("Counter filled by SETITEMS",
             P2 "ccollections\nCounter\n)R(K\x01"
                "K\x02u.",
             "", PASS),
        CASE("legacy CUDA storage class is not 'known dangerous'",
             P2 "ctorch.cuda\nFloatStorage\n.", "", PASS),
        CASE("weights_only's device rebuild",
             P2 "ctorch._utils\n_rebuild_device_tensor_from_numpy\n.", "", PASS),
        CASE("range (xrange in Python 2 pickles)", P2 "c__builtin__\nxrange\nK\x03\x85R.", "",
             PASS),
    };
    run_cases(*state, cases, sizeof(cases) / sizeof(cases[0]));
}

/* What is data and what is a call: numpy's own ndarray subclasses are data as the class
 * argument of an allowed reconstructor, and calls (judged as such) anywhere else. */
static void test_data_classes(void **state)
{
    static const pk_case cases[] = {
        CASE("numpy.matrix passed to _reconstruct",
             P2 "cnumpy.core.multiarray\n_reconstruct\ncnumpy\nmatrix\nK\x00\x85U\x01"
                "b\x87R.",
             "", PASS),
        CASE("numpy.memmap passed to _reconstruct",
             P2 "cnumpy._core.multiarray\n_reconstruct\ncnumpy\nmemmap\nK\x00\x85U\x01"
                "b\x87R.",
             "", PASS),
        CASE("recarray through the memo, twice",
             P2 "cnumpy.core.multiarray\n_reconstruct\nq\x00"
                "cnumpy\nrecarray\nq\x01K\x00\x85U\x01"
                "b\x87R0h\x00h\x01K\x00\x85U\x01"
                "b\x87R.",
             "", PASS),
        CASE("masked array via _mareconstruct",
             P2 "cnumpy.ma.core\n_mareconstruct\n(cnumpy.ma.core\nMaskedArray\ncnumpy\nndarray\n"
                "K\x00\x85U\x01"
                "btR.",
             "", PASS),
        CASE("numpy.record passed to numpy.dtype",
             P2 "cnumpy\ndtype\ncnumpy\nrecord\n\x89\x88\x87R.", "", PASS),
        CASE("numpy.matrix called", P2 "cnumpy\nmatrix\n)R.", "ST202", FAIL),
        CASE("numpy.memmap called opens a file", P2 "cnumpy\nmemmap\nX\x06\x00\x00\x00/tmp/x\x85R.",
             "ST201", FAIL),
        CASE("numpy.matrix as NEWOBJ's class", P2 "cnumpy\nmatrix\n)\x81.", "ST202", FAIL),
        CASE("numpy.matrix via INST", "(inumpy\nmatrix\n.", "ST202", FAIL),
        CASE("numpy.matrix imported for nothing", P2 "cnumpy\nmatrix\n.", "ST202", FAIL),
        CASE("numpy.matrix passed to OrderedDict",
             P2 "ccollections\nOrderedDict\ncnumpy\nmatrix\n\x85R.", "ST202", FAIL),
        CASE("numpy.matrix as _reconstruct's shape",
             P2 "cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\ncnumpy\nmatrix\nU\x01"
                "b\x87R.",
             "ST202", FAIL),
        CASE("numpy.matrix at position 2 of a tuple",
             P2 "N\x4e"
                "cnumpy\nmatrix\n\x87.",
             "ST202", FAIL),
        CASE("data, then called",
             P2 "cnumpy.core.multiarray\n_reconstruct\ncnumpy\nmatrix\nq\x01"
                "K\x00\x85U\x01"
                "b\x87R0h\x01)R.",
             "ST202", FAIL),
    };
    run_cases(*state, cases, sizeof(cases) / sizeof(cases[0]));
    /* the import list carries the judgement of the use */
    const char *called = P2 "cnumpy\nmemmap\n)R.";
    st_report *r = check_pickle(*state, called, strlen(called), "x.pkl");
    assert_int_equal(st_report_import_count(r), 1);
    assert_string_equal(st_report_import(r, 0)->judgement, "malicious");
    st_report_free(r);
    static const char data[] = P2 "cnumpy.core.multiarray\n_reconstruct\ncnumpy\nmemmap\nK\x00"
                                  "\x85U\x01"
                                  "b\x87R.";
    r = check_pickle(*state, data, sizeof(data) - 1, "x.pkl");
    assert_int_equal(st_report_import_count(r), 2);
    assert_string_equal(st_report_import(r, 1)->name, "memmap");
    assert_string_equal(st_report_import(r, 1)->judgement, "allowed");
    st_report_free(r);
}

/* Builds GLOBAL module\nname\n. or a STACK_GLOBAL with BINUNICODE operands into buf. */
static size_t long_global(char *buf, size_t size, int stack, const char *module, const char *name)
{
    size_t ml = strlen(module), nl = strlen(name), n = 0;
    assert_true(ml + nl + 32 < size);
    if (!stack) {
        n = (size_t)snprintf(buf, size, "c%s\n%s\n.", module, name);
        return n;
    }
    memcpy(buf, P4, 2);
    n = 2;
    const char *parts[2] = {module, name};
    for (int k = 0; k < 2; k++) {
        uint32_t l = (uint32_t)strlen(parts[k]);
        buf[n++] = 'X';
        for (int i = 0; i < 4; i++)
            buf[n++] = (char)(l >> (8 * i));
        memcpy(buf + n, parts[k], l);
        n += l;
    }
    buf[n++] = '\x93';
    buf[n++] = '.';
    return n;
}

/* Names are judged whole at any length up to ST_PK_NAME_MAX; longer ones are errors. */
static void test_long_names(void **state)
{
    static char name[4096], buf[8192];
    for (int stack = 0; stack < 2; stack++) {
        /* a dangerous component past the 256 bytes an older walker judged */
        size_t n = 0;
        n += (size_t)snprintf(name + n, sizeof(name) - n, "Tensor");
        for (int i = 0; i < 150; i++)
            n += (size_t)snprintf(name + n, sizeof(name) - n, ".x");
        snprintf(name + n, sizeof(name) - n, ".__globals__");
        size_t len = long_global(buf, sizeof(buf), stack, "torch", name);
        st_report *r = check_pickle(*state, buf, len, "x.pkl");
        tu_assert_ids(r, "ST201");
        assert_int_equal(st_report_verdict(r), FAIL);
        assert_int_equal(strlen(st_report_import(r, 0)->name), strlen(name));
        st_report_free(r);
        /* a harmless-looking 1024-byte module is judged whole: not on the allowlist */
        memset(name, 'a', ST_PK_NAME_MAX);
        name[ST_PK_NAME_MAX] = '\0';
        len = long_global(buf, sizeof(buf), stack, name, "x");
        r = check_pickle(*state, buf, len, "x.pkl");
        tu_assert_ids(r, "ST202");
        st_report_free(r);
        /* one byte more is not judged on a part: an error of its own */
        memset(name, 'a', ST_PK_NAME_MAX + 1);
        name[ST_PK_NAME_MAX + 1] = '\0';
        len = long_global(buf, sizeof(buf), stack, "numpy", name);
        r = check_pickle(*state, buf, len, "x.pkl");
        tu_assert_ids(r, "ST216");
        assert_int_equal(st_report_verdict(r), FAIL);
        st_report_free(r);
    }
    /* a name the memo keeps only as "long" (over 2046 bytes) is not judged either */
    size_t n = 14;
    memcpy(buf, P4 "\x8c\x05numpyX\x34\x08\x00\x00", n);
    memset(buf + n, 'a', 2100);
    n += 2100;
    memcpy(buf + n,
           "\x94"
           "0h\x00\x93.",
           6);
    n += 6;
    st_report *r = check_pickle(*state, buf, n, "x.pkl");
    tu_assert_ids(r, "ST216");
    st_report_free(r);
}

/* Integrity anomalies that carry no import or call stay warnings: --strict fails them. */
static void test_integrity_warnings(void **state)
{
    static const pk_case cases[] = {
        CASE("malformed tail after a clean pickle", "N.K\x01R.", "ST208,ST215", PASS),
        CASE("an import in the tail is still judged", "N.cos\nsystem\n(R.", "ST201,ST208,ST215",
             FAIL),
        CASE("leftover stack", "K\x01K\x02.", "ST214", PASS),
    };
    run_cases(*state, cases, sizeof(cases) / sizeof(cases[0]));
    st_ctx *strict = st_ctx_new();
    char err[256];
    char path[512];
    snprintf(path, sizeof(path), "%s/strict.json", ST_RULES_DIR);
    assert_int_equal(st_ctx_load_policy(strict, path, err, sizeof(err)), ST_OK);
    static const pk_case strict_cases[] = {
        CASE("malformed tail, --strict", "N.K\x01R.", "ST208,ST215", FAIL),
        CASE("leftover stack, --strict", "K\x01K\x02.", "ST214", FAIL),
    };
    run_cases(strict, strict_cases, sizeof(strict_cases) / sizeof(strict_cases[0]));
    st_ctx_free(strict);
}

/* Bytes after a complete pickle that a second load would run (H9's attacker pass): walked
 * whenever their first opcode can begin a load, however long its line; and a fault there that
 * is stcheck's strictness, not CPython's (its loaders read on), is an error, not ST215. */
static void test_tail_bypasses(void **state)
{
    static const pk_case cases[] = {
        CASE(
            "tail behind a 300-byte INT line",
            "N.I000000000000000000000000000000000000000000000000000000000000000000000000000000"
            "0000000000000000000000000000000000000000000000000000000000000000000000000000000000"
            "0000000000000000000000000000000000000000000000000000000000000000000000000000000000"
            "0000000000000000000000000000000000000000000000000000000000\n0cos\nsystem\n(S'id'\ntR.",
            "ST201,ST208", FAIL),
        CASE("tail INT with a sign int() takes", "N.I+5\n0cos\nsystem\n(S'id'\ntR.", "ST205,ST208",
             FAIL),
        CASE("tail INT in hex (strtol base 0)", "N.I0x10\n0cos\nsystem\n(S'id'\ntR.", "ST205,ST208",
             FAIL),
        CASE("tail PUT with a sign", "N.Np+1\n0cos\nsystem\n(S'id'\ntR.", "ST205,ST208", FAIL),
        CASE("tail sparse memo index",
             "N.Nr\x00\x00\x10\x00"
             "0cos\nsystem\n(S'id'\ntR.",
             "ST205,ST208", FAIL),
        CASE("tail opcode past its frame (_pickle.c reads on)",
             "N.\x80\x04\x95\x03\x00\x00\x00\x00\x00\x00\x00N0cos\nsystem\n(S'id'\ntR.",
             "ST207,ST208", FAIL),
        CASE("tail FRAME inside a frame (_pickle.c reads on)",
             "N.\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00N\x95\x00\x00\x00\x00\x00\x00\x00"
             "\x00"
             "cos\nsystem\n(S'id'\ntR.",
             "ST207,ST208", FAIL),
        CASE("tail every loader stops at stays a warning", "N.N0(0S'x'\n\xff", "ST208,ST215", PASS),
        CASE("tail no load begins with is not walked", "N.garbage", "ST208", PASS),
        CASE("tail that is a zip: PERSID fails at once without persistent_load",
             "N.PK\x03\x04\x14\x00\x00\x00\x08\x00\ncos\nsystem\n", "ST208", PASS),
    };
    run_cases(*state, cases, sizeof(cases) / sizeof(cases[0]));
}

/* A line opcode cut by the end of the stream: Lib/pickle.py (joblib's and dill's base) reads
 * the unterminated rest and drops its last byte, so the GLOBAL still imports. */
static void test_line_cut_by_eof(void **state)
{
    static const pk_case cases[] = {
        CASE("GLOBAL name line cut by EOF",
             "\x80\x02"
             "cos\nsystemX",
             "ST201,ST205", FAIL),
        CASE("GLOBAL cut by EOF after a complete pickle", "N.cos\nsystemX", "ST201,ST208,ST215",
             FAIL),
        CASE("GLOBAL module line cut by EOF",
             "\x80\x02"
             "cos.pathX",
             "ST201,ST205", FAIL),
        CASE("INT line cut by EOF runs nothing",
             "\x80\x02"
             "I12",
             "ST205", FAIL),
    };
    run_cases(*state, cases, sizeof(cases) / sizeof(cases[0]));
}

/* numpy's raw-byte readers given an object dtype whose BUILD state (version 3) cleared its
 * flags: allowed callables only, yet numpy dereferences the bytes as object pointers. */
#define FORGED_O                                                                                   \
    "cnumpy\ndtype\n(U\x02O8\x89\x88tR(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
#define HONEST_O                                                                                   \
    "cnumpy\ndtype\n(U\x02O8\x89\x88tR(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tb"
static void test_forged_object_dtype(void **state)
{
    static const pk_case cases[] = {
        CASE("scalar of a forged object dtype",
             "\x80\x03"
             "cnumpy.core.multiarray\nscalar\n(" FORGED_O "C\x08"
             "AAAAAAAAtR.",
             "ST231", FAIL),
        CASE("scalar through OBJ",
             "\x80\x03(cnumpy.core.multiarray\nscalar\n" FORGED_O "C\x08"
             "AAAAAAAAo.",
             "ST231", FAIL),
        CASE("_frombuffer of a forged object dtype",
             "\x80\x03"
             "cnumpy.core.numeric\n_frombuffer\n(C\x08"
             "AAAAAAAA" FORGED_O "K\x01\x85U\x01"
             "CtR.",
             "ST231", FAIL),
        CASE("ndarray(shape, forged dtype, buffer)",
             "\x80\x03"
             "cnumpy\nndarray\n(K\x01\x85" FORGED_O "C\x08"
             "AAAAAAAAtR.",
             "ST231", FAIL),
        CASE("ndarray.__new__ of a forged dtype (uninitialised memory)",
             "\x80\x03"
             "cnumpy\nndarray\n(K\x04\x85" FORGED_O "t\x81.",
             "ST231", FAIL),
        CASE("_reconstruct of a forged dtype, no BUILD",
             "\x80\x03"
             "cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\nK\x04\x85" FORGED_O "tR.",
             "ST231", FAIL),
        CASE("scalar of a dtype whose flags a call returned (numpy int64: 'i' takes it)",
             "\x80\x03"
             "cnumpy.core.multiarray\nscalar\n(cnumpy\ndtype\n(U\x02O8\x89\x88tR(K\x03U\x01|"
             "NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xff"
             "cnumpy.core.multiarray\nscalar\n(cnumpy\ndtype\n("
             "U\x02i8\x89\x88tR(K\x03U\x01<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tbC\x08"
             "\x00\x00\x00\x00\x00\x00\x00\x00tRtbC\x08"
             "AAAAAAAAtR.",
             "ST231", FAIL),
        CASE("_mareconstruct of a forged basetype",
             "\x80\x03"
             "cnumpy.ma.core\n_mareconstruct\n(cnumpy.ma.core\nMaskedArray\ncnumpy\nndarray\n"
             "K\x04\x85" FORGED_O "tR.",
             "ST231", FAIL),
        CASE("ndarray.__new__ through NEWOBJ_EX (keywords)",
             "\x80\x04"
             "cnumpy\nndarray\nK\x04\x85\x85}\x92.",
             "ST231", FAIL),
        CASE("scalar of an object dtype that keeps its flags",
             "\x80\x03"
             "cnumpy.core.multiarray\nscalar\n(" HONEST_O "C\x08"
             "AAAAAAAAtR.",
             "", PASS),
    };
    run_cases(*state, cases, sizeof(cases) / sizeof(cases[0]));
}

/* rules/permissive.json keeps the old warnings for research use; nothing fails. */
static void test_permissive_policy(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    char err[256], path[512];
    snprintf(path, sizeof(path), "%s/permissive.json", ST_RULES_DIR);
    assert_int_equal(st_ctx_load_policy(ctx, path, err, sizeof(err)), ST_OK);
    static const pk_case cases[] = {
        CASE("unlisted global", "cmylib\nNet\n)\x81.", "ST202", PASS),
        CASE("known dangerous, report only", "cos\nsystem\n(S'x'\ntR.", "ST201", PASS),
    };
    run_cases(ctx, cases, sizeof(cases) / sizeof(cases[0]));
    st_report *r = check_pickle(ctx, "cmylib\nNet\n)\x81.", 14, "x.pkl");
    assert_int_equal(st_report_count_severity(r, ST_SEV_WARNING), 1);
    st_report_free(r);
    st_ctx_free(ctx);
}

/* No built-in allowlist entry is caught by the built-in denylist (which is consulted first):
 * a harmless helper on the allowlist is never labelled known dangerous. */
static void test_lists_disjoint(void **state)
{
    (void)state;
    const char *overlap = st_pk_allow_deny_overlap();
    if (overlap != NULL)
        fail_msg("allowlisted %s is on the denylist", overlap);
}

/* Bypass kind 2: the scanner's opcode view must be CPython's. */
static void test_opcode_view(void **state)
{
    static const pk_case cases[] = {
        CASE("STACK_GLOBAL from literals", P4 "\x8c\x02os\x8c\x06system\x93.", "ST201", FAIL),
        CASE("STACK_GLOBAL via escaped STRING", P4 "S'o\\x73'\nS'sys\\164em'\n\x93.", "ST201",
             FAIL),
        CASE("STACK_GLOBAL via UNICODE escape", P4 "V\\u006fs\nVsystem\n\x93.", "ST201", FAIL),
        CASE("STACK_GLOBAL from a call result", P4 "cbuiltins\nset\n)R\x8c\x01x\x93.", "ST203",
             FAIL),
        CASE("STACK_GLOBAL needs str, not bytes", P4 "C\x02osC\x06system\x93.", "ST203", FAIL),
        /* see test_frames: the exact message and offset of each frame check */
        CASE("opcode continues past frame end",
             P4 "\x95\x02\x00\x00\x00\x00\x00\x00\x00\x8c\x05"
                "hello.",
             "ST207", FAIL),
        CASE("opcode straddles frame end",
             P4 "\x95\x03\x00\x00\x00\x00\x00\x00\x00\x8c\x05"
                "hello.",
             "ST207", FAIL),
        CASE("frame begins inside a frame",
             P4 "\x95\x0a\x00\x00\x00\x00\x00\x00\x00\x95\x01"
                "\x00\x00\x00\x00\x00\x00\x00N.",
             "ST207", FAIL),
        CASE("line straddles frame end", P4 "\x95\x03\x00\x00\x00\x00\x00\x00\x00I12\n.", "ST207",
             FAIL),
        CASE("EXT1", P2 "\x82\x07)R.", "ST204", FAIL),
        CASE("EXT1 code 0", P2 "\x82\x00.", "ST205", FAIL),
        CASE("calls after a POP are still seen", "cos\nsystem\n(S'x'\ntR0N.", "ST201", FAIL),
        CASE("REDUCE on a non-global", "](tR.", "ST213", FAIL),
        CASE("OBJ", "(cos\nsystem\nS'true'\no.", "ST201", FAIL),
        CASE("INST", "(S'true'\nios\nsystem\n.", "ST201", FAIL),
        CASE("NEWOBJ_EX",
             P4 "\x8c\x03"
                "foo\x8c\x03"
                "Bar\x93)}\x92.",
             "ST202", FAIL),
        CASE("BUILD on a list", "]}b.", "ST209", FAIL),
        CASE("SETITEM on a string",
             "\x80\x02U\x01"
             "aK\x01K\x02s.",
             "ST210", FAIL),
        CASE("text persistent id", "Pabc\n.", "ST211", FAIL),
        CASE("BINPERSID in a raw pickle", "K\x01Q.", "ST211", FAIL),
        CASE("out-of-band buffer", "\x80\x05\x97.", "ST212", FAIL),
        CASE("read-only buffer", "\x80\x05\x97\x98.", "ST212", FAIL),
        CASE("leftover stack at STOP", "K\x01K\x02.", "ST214", PASS),
    };
    run_cases(*state, cases, sizeof(cases) / sizeof(cases[0]));
}

/* Bypass kind 4: an error never counts as clean; what came before the fault is judged. */
static void test_malformed(void **state)
{
    static const pk_case cases[] = {
        CASE("truncated after an import", P2 "cos\nsystem\nq\x00(", "ST201,ST205", FAIL),
        CASE("unknown opcode", P2 "K\x01\xff.", "ST206", FAIL),
        CASE("stack underflow", P2 "R.", "ST205", FAIL),
        CASE("underflow across a mark", "K\x01(R.", "ST205", FAIL),
        CASE("missing MARK", "K\x01t.", "ST205", FAIL),
        CASE("protocol 6", "\x80\x06N.", "ST205", FAIL),
        CASE("negative BINSTRING", P2 "T\xff\xff\xff\xff.", "ST205", FAIL),
        CASE("length past the end",
             P2 "X\x00\x00\x00\x10"
                "ab.",
             "ST205", FAIL),
        CASE("BINUNICODE8 huge", P4 "\x8d\xff\xff\xff\xff\xff\xff\xff\xff.", "ST205", FAIL),
        CASE("frame longer than the file", P4 "\x95\xff\x00\x00\x00\x00\x00\x00\x00N.", "ST205",
             FAIL),
        CASE("GLOBAL not UTF-8", "cos\xff\nsystem\n.", "ST205", FAIL),
        CASE("odd SETITEMS", "}(K\x01u.", "ST205", FAIL),
        CASE("trailing garbage", "N.garbage", "ST208", PASS),
        CASE("second pickle analysed", "N.cos\nsystem\n(S'x'\ntR.", "ST201,ST208", FAIL),
        CASE("bad INT", "Ix1\n.", "ST205", FAIL),
    };
    run_cases(*state, cases, sizeof(cases) / sizeof(cases[0]));
}

/* Limits: a finding and "could not check", never a silent truncation. */
static void test_limits(void **state)
{
    (void)state;
    st_ctx *ctx = st_ctx_new();
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_PICKLE_STACK, 3), ST_OK);
    st_report *r = check_pickle(ctx, "(K\x01K\x02K\x03t.", 9, "x.pkl");
    tu_assert_ids(r, "ST901");
    assert_int_equal(st_report_verdict(r), NOCHECK);
    st_report_free(r);
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_PICKLE_STACK, 1000), ST_OK);
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_PICKLE_OPCODES, 3), ST_OK);
    r = check_pickle(ctx, "NNN0000.", 8, "x.pkl");
    tu_assert_ids(r, "ST901");
    assert_int_equal(st_report_verdict(r), NOCHECK);
    st_report_free(r);
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_PICKLE_OPCODES, 1000), ST_OK);
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_PICKLE_MEMO, 2), ST_OK);
    r = check_pickle(ctx, "K\x01q\x05.", 5, "x.pkl");
    tu_assert_ids(r, "ST901");
    st_report_free(r);
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_PICKLE_IMPORTS, 1), ST_OK);
    r = check_pickle(ctx, "ca\nb\nca\nb\ncc\nd\n.", 16, "x.pkl");
    tu_assert_ids(r, "ST202,ST901");
    st_report_free(r);
    st_ctx_free(ctx);
}

/* Evidence: imports (deduplicated, counted) and call sites. */
static void test_evidence(void **state)
{
    const char *b = "cos\nsystem\n(S'a'\ntRcos\nsystem\n(S'b'\ntR0.";
    st_report *r = check_pickle(*state, b, strlen(b), "x.pkl");
    assert_int_equal(st_report_import_count(r), 1);
    const st_import *im = st_report_import(r, 0);
    assert_string_equal(im->module, "os");
    assert_string_equal(im->name, "system");
    assert_string_equal(im->judgement, "malicious");
    assert_true(im->count == 2);
    assert_true(im->offset == 0);
    assert_int_equal(st_report_call_count(r), 2);
    assert_string_equal(st_report_call(r, 1)->callable, "os.system");
    assert_string_equal(st_report_call(r, 1)->opcode, "REDUCE");
    assert_true(st_report_call(r, 0)->offset == 18);
    st_report_free(r);
    /* BUILD is evidence too: what it sets state on */
    r = check_pickle(*state, "cfoo\nBar\n)R}b.", 14, "x.pkl");
    assert_int_equal(st_report_call_count(r), 2);
    assert_string_equal(st_report_call(r, 1)->opcode, "BUILD");
    assert_string_equal(st_report_call(r, 1)->callable, "foo.Bar");
    st_report_free(r);
}

/* Identification: content, not extension; a pickle named .safetensors is an error. A stream
 * whose first opcode can only fail is not taken for a pickle: "could not check". */
static void test_identification(void **state)
{
    st_report *u = check_pickle(*state, "h\x03.", 3, "x.pkl");
    tu_assert_ids(u, "ST903");
    assert_int_equal(st_report_verdict(u), NOCHECK);
    st_report_free(u);
    st_report *r = check_pickle(*state, P2 "N.", 4, "model.safetensors");
    tu_assert_ids(r, "ST501");
    assert_string_equal(st_report_format(r), "pickle");
    assert_int_equal(st_report_verdict(r), FAIL);
    st_report_free(r);
    r = check_pickle(*state, "(lp0\nI1\na.", 10, "weights.bin");
    assert_string_equal(st_report_format(r), "pickle");
    assert_int_equal(st_report_verdict(r), PASS);
    st_report_free(r);
}

/* Each container anomaly and each container kind, on the committed samples (corpus/): the
 * exact set of finding ids and the verdict. */
static const struct {
    const char *file;
    const char *ids;
    st_verdict verdict;
} container_cases[] = {
    {"zip/torch-deflated-benign.zip", "", ST_VERDICT_PASS},
    {"zip/torch-rebuilt-benign.zip", "", ST_VERDICT_PASS},
    {"zip/torch-extra-pkl.zip", "ST201", ST_VERDICT_FAIL},
    {"zip/torch-malicious-data-pkl.zip", "ST201", ST_VERDICT_FAIL},
    {"zip/torch-pickle-not-named-pkl.zip", "ST201", ST_VERDICT_FAIL},
    {"zip/torch-missing-storage.zip", "ST312", ST_VERDICT_FAIL},
    {"zip/torch-storage-too-small.zip", "ST312", ST_VERDICT_FAIL},
    {"zip/torch-numpy-refused.zip", "ST202", ST_VERDICT_FAIL},
    {"zip/torch-unknown-global.zip", "ST202", ST_VERDICT_FAIL},
    {"zip/zip-appended.zip", "ST308", ST_VERDICT_PASS},
    {"zip/zip-prepended.zip", "ST308", ST_VERDICT_PASS},
    {"zip/zip-bomb.zip", "ST311", ST_VERDICT_ERROR},
    {"zip/zip-bzip2.zip", "ST305", ST_VERDICT_ERROR},
    {"zip/zip-encrypted.zip", "ST304", ST_VERDICT_ERROR},
    {"zip/zip-crc-mismatch.zip", "ST303", ST_VERDICT_PASS},
    {"zip/zip-dotdot-name.zip", "ST309", ST_VERDICT_FAIL},
    {"zip/zip-outside-top.zip", "ST309", ST_VERDICT_FAIL},
    {"zip/zip-duplicate-name.zip", "ST201,ST301", ST_VERDICT_FAIL},
    {"zip/zip-hidden-local.zip", "ST307", ST_VERDICT_FAIL},
    {"zip/zip-local-name-mismatch.zip", "ST302", ST_VERDICT_FAIL},
    {"zip/zip-nested-malicious.zip", "ST201,ST313", ST_VERDICT_FAIL},
    {"zip/zip-no-data-pkl.zip", "ST314", ST_VERDICT_FAIL},
    {"pytorch/valid-tar-checkpoint.tar", "", ST_VERDICT_PASS},
    {"pytorch/ST201-tar-malicious-pickle.tar", "ST201", ST_VERDICT_FAIL},
    {"pytorch/ST312-tar-storage-short.tar", "ST312", ST_VERDICT_FAIL},
    {"pytorch/valid-legacy-state-dict.pt", "", ST_VERDICT_PASS},
    {"pytorch/ST201-legacy-malicious-object.pt", "ST201,ST208", ST_VERDICT_FAIL},
    {"pytorch/ST208-legacy-trailing.pt", "ST208", ST_VERDICT_PASS},
    {"pytorch/ST312-legacy-truncated-storage.pt", "ST312", ST_VERDICT_FAIL},
    {"pickle/ST502-7z-archive.7z", "ST502", ST_VERDICT_ERROR},
    {"gguf/ST732-empty-header.gguf", "ST724,ST732", ST_VERDICT_PASS}, /* was ST502 */
    {"pickle/ST503-gzip-truncated.pkl.gz", "ST503", ST_VERDICT_FAIL},
    {"pickle/ST504-gzip-trailing.pkl.gz", "ST504", ST_VERDICT_PASS},
};

static void test_containers(void **state)
{
    st_ctx *ctx = *state;
    for (size_t i = 0; i < sizeof(container_cases) / sizeof(container_cases[0]); i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", ST_CORPUS_DIR, container_cases[i].file);
        st_report *r = st_check_path(ctx, path);
        assert_non_null(r);
        tu_assert_report(r, container_cases[i].file, container_cases[i].ids,
                         container_cases[i].verdict);
        st_report_free(r);
    }
}

/* ---- issue #12: every check of the walker, with the message and offset only it produces ---- */

/* A case whose finding must be the one a given check makes: its id, a part of its message and
 * its offset (another check with the same id says something else, or somewhere else). */
typedef struct {
    const char *what;
    const char *bytes;
    size_t len;
    const char *ids;
    st_verdict verdict;
    const char *id;  /* the finding the check makes */
    const char *msg; /* a part of its message */
    uint64_t off;    /* its offset */
} pk_mcase;

#define SG UINT64_MAX /* offset: the opcode before the final STOP */
#define MCASE(what, b, ids, v, id, msg, off)                                                       \
    {                                                                                              \
        what, b, sizeof(b) - 1, ids, v, id, msg, off                                               \
    }

/* Fails unless r holds a finding with this id whose message contains msg, at offset off. */
static void expect_finding(const char *what, const st_report *r, const char *id, const char *msg,
                           uint64_t off)
{
    for (size_t i = 0; i < st_report_finding_count(r); i++) {
        const st_finding *f = st_report_finding(r, i);
        if (strcmp(f->id, id) == 0 && strstr(f->message, msg) != NULL && f->offset == off)
            return;
    }
    for (size_t i = 0; i < st_report_finding_count(r); i++) {
        const st_finding *f = st_report_finding(r, i);
        print_message("  %s @%llu: %s\n", f->id, (unsigned long long)f->offset, f->message);
    }
    fail_msg("%s: no %s \"%s\" at offset %llu", what, id, msg, (unsigned long long)off);
}

static void run_mcases_ctx(st_ctx *ctx, const pk_mcase *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        st_report *r = check_pickle(ctx, c[i].bytes, c[i].len, "x.pkl");
        tu_assert_report(r, c[i].what, c[i].ids, c[i].verdict);
        expect_finding(c[i].what, r, c[i].id, c[i].msg, c[i].off == SG ? c[i].len - 2 : c[i].off);
        st_report_free(r);
    }
}

#define RUN_M(ctx, cases) run_mcases_ctx((ctx), (cases), sizeof(cases) / sizeof((cases)[0]))

#define PB(p, lit) ba_put((p), lit, sizeof(lit) - 1)

static void pb_rep(ba_buf *p, const char *s, size_t times)
{
    for (size_t i = 0; i < times; i++)
        ba_put(p, s, strlen(s));
}

/* BINUNICODE of a C string. */
static void pb_binunicode(ba_buf *p, const char *s)
{
    PB(p, "X");
    ba_le(p, strlen(s), 4);
    ba_put(p, s, strlen(s));
}

/* Checks p's bytes: exact ids and verdict; returns the report (caller frees). */
static st_report *pb_check(st_ctx *ctx, const ba_buf *p, const char *ids, st_verdict v,
                           const char *what)
{
    st_report *r = check_pickle(ctx, (const char *)p->b, p->n, "x.pkl");
    tu_assert_report(r, what, ids, v);
    return r;
}

/* FRAME: each way an opcode, a line or a frame can overrun a frame (ST207), told apart. */
static void test_frames(void **state)
{
    static const pk_mcase cases[] = {
        /* FRAME of 3 holds SHORT_BINUNICODE's length byte and 1 of its 5 bytes */
        MCASE("opcode straddles frame end",
              P4 "\x95\x03\x00\x00\x00\x00\x00\x00\x00\x8c\x05"
                 "hello.",
              "ST207", FAIL, "ST207", "opcode straddles the end of its frame", 11),
        /* FRAME of 2 ends right after the length byte: the content is all outside */
        MCASE("opcode continues past frame end",
              P4 "\x95\x02\x00\x00\x00\x00\x00\x00\x00\x8c\x05"
                 "hello.",
              "ST207", FAIL, "ST207", "opcode continues past the end of its frame", 11),
        /* a multi-byte argument read through take(): BININT with 1 of 4 bytes in the frame */
        MCASE("BININT straddles frame end",
              P4 "\x95\x02\x00\x00\x00\x00\x00\x00\x00J\x01\x00\x00\x00.", "ST207", FAIL, "ST207",
              "opcode straddles the end of its frame", 11),
        MCASE("line runs past frame end", P4 "\x95\x03\x00\x00\x00\x00\x00\x00\x00I12\n.", "ST207",
              FAIL, "ST207", "line runs past the end of its frame", 11),
        MCASE("GET line runs past frame end", P4 "\x95\x02\x00\x00\x00\x00\x00\x00\x00g1\n.",
              "ST207", FAIL, "ST207", "line runs past the end of its frame", 11),
        MCASE("PERSID line runs past frame end", P4 "\x95\x02\x00\x00\x00\x00\x00\x00\x00Pa\n.",
              "ST207", FAIL, "ST207", "line runs past the end of its frame", 11),
        MCASE("STRING line runs past frame end", P4 "\x95\x02\x00\x00\x00\x00\x00\x00\x00Sa\n.",
              "ST207", FAIL, "ST207", "line runs past the end of its frame", 11),
        MCASE("frame begins inside a frame",
              P4 "\x95\x0a\x00\x00\x00\x00\x00\x00\x00\x95\x01"
                 "\x00\x00\x00\x00\x00\x00\x00N.",
              "ST207", FAIL, "ST207", "FRAME begins before the previous frame ends", 11),
        MCASE("frame longer than the file", P4 "\x95\xff\x00\x00\x00\x00\x00\x00\x00N.", "ST205",
              FAIL, "ST205", "frame longer than the bytes present", 2),
        MCASE("frame size above INT64_MAX", P4 "\x95\x00\x00\x00\x00\x00\x00\x00\x80N.", "ST205",
              FAIL, "ST205", "frame size exceeds the system's maximum size", 2),
        MCASE("FRAME argument cut", P4 "N\x95\x01\x00", "ST205", FAIL, "ST205", "truncated", 3),
    };
    RUN_M(*state, cases);
    /* frames that end at an opcode boundary chain: an empty frame, then a frame per opcode */
    static const pk_case ok[] = {
        CASE("empty frame", P4 "\x95\x00\x00\x00\x00\x00\x00\x00\x00N.", "", PASS),
        CASE("frames end to end",
             P4 "\x95\x01\x00\x00\x00\x00\x00\x00\x00N\x95\x01\x00\x00\x00\x00\x00\x00\x00.", "",
             PASS),
    };
    run_cases(*state, ok, sizeof(ok) / sizeof(ok[0]));
}

/* The stack machine's own checks: underflows, marks, odd DICT, LONG4, EXT, truncation. */
static void test_machine_checks(void **state)
{
    static const pk_mcase cases[] = {
        MCASE("odd DICT", "(Nd.", "ST205", FAIL, "ST205", "DICT with an odd number of items", 2),
        MCASE("odd SETITEMS", "}(K\x01u.", "ST205", FAIL, "ST205",
              "SETITEMS with an odd number of items", 4),
        MCASE("negative LONG4", P2 "\x8b\xff\xff\xff\xff.", "ST205", FAIL, "ST205",
              "LONG4 with a negative byte count", 2),
        MCASE("LONG1 cut", P2 "\x8a\x05\x01\x02.", "ST205", FAIL, "ST205", "truncated", 2),
        MCASE("LONG4 longer than the file", P2 "\x8b\x10\x00\x00\x00\x01\x02.", "ST205", FAIL,
              "ST205", "argument longer than the bytes present", 2),
        MCASE("LONG1 length cut", P2 "N\x8a", "ST205", FAIL, "ST205", "truncated", 3),
        MCASE("EXT2 code 0", P2 "\x83\x00\x00.", "ST205", FAIL, "ST205", "EXT code <= 0", 2),
        MCASE("EXT4 negative code", P2 "\x84\x00\x00\x00\x80.", "ST205", FAIL, "ST205",
              "EXT code <= 0", 2),
        MCASE("EXT2 is reported as EXT2", P2 "\x83\x07\x01)R.", "ST204", FAIL, "ST204",
              "EXT2 at offset 2 imports extension code 263", 2),
        MCASE("EXT4 high code", P2 "\x84\xff\xff\xff\x7f.", "ST204", FAIL, "ST204",
              "EXT4 at offset 2 imports extension code 2147483647", 2),
        MCASE("EXT1 cut", P2 "N\x82", "ST205", FAIL, "ST205", "truncated", 3),
        MCASE("TUPLE2 underflow", P2 "N\x86.", "ST205", FAIL, "ST205", "stack underflow", 3),
        MCASE("TUPLE1 above a mark", P2 "N(\x85.", "ST205", FAIL, "ST205", "stack underflow", 4),
        MCASE("STACK_GLOBAL on one value",
              P4 "\x8c\x01"
                 "a\x93.",
              "ST205", FAIL, "ST205", "stack underflow", 5),
        MCASE("STACK_GLOBAL above a mark", P4 "N(\x93.", "ST205", FAIL, "ST205", "stack underflow",
              4),
        MCASE("NEWOBJ without a class", P2 "N()\x81.", "ST205", FAIL, "ST205", "stack underflow",
              5),
        MCASE("NEWOBJ_EX without arguments", P4 "N(}\x92.", "ST205", FAIL, "ST205",
              "stack underflow", 5),
        MCASE("OBJ without a class", "N(o.", "ST205", FAIL, "ST205", "OBJ without a class", 2),
        MCASE("BUILD without a target", "N(Nb.", "ST205", FAIL, "ST205", "stack underflow", 3),
        MCASE("BUILD without state", "N(b.", "ST205", FAIL, "ST205", "stack underflow", 2),
        MCASE("BINPERSID on an empty stack", "N(Q.", "ST205", FAIL, "ST205", "stack underflow", 2),
        MCASE("DUP on an empty stack", "N(2.", "ST205", FAIL, "ST205", "stack underflow", 2),
        MCASE("POP_MARK without a mark", "N1.", "ST205", FAIL, "ST205",
              "MARK expected but not found", 1),
        MCASE("POP without a value or mark", "N00.", "ST205", FAIL, "ST205",
              "MARK expected but not found", 2),
        MCASE("STOP on an empty stack", "N(.", "ST205", FAIL, "ST205", "stack underflow", 2),
        MCASE("READONLY_BUFFER on an empty stack", "\x80\x05\x98.", "ST205,ST212", FAIL, "ST205",
              "stack underflow", 2),
        MCASE("SETITEM target missing", "N(K\x01K\x02s.", "ST205", FAIL, "ST205", "stack underflow",
              6),
        MCASE("APPEND without a value", "N(a.", "ST205", FAIL, "ST205", "stack underflow", 2),
        MCASE("APPENDS without a target", "N((e.", "ST205", FAIL, "ST205", "stack underflow", 3),
        MCASE("leftover marks", "(N.", "ST214", PASS, "ST214",
              "leaves 0 values and 1 mark on the stack", 2),
        MCASE("leftover value", "NN.", "ST214", PASS, "ST214",
              "leaves 1 value and 0 marks on the stack", 2),
        MCASE("PROTO cut", P2 "N\x80", "ST205", FAIL, "ST205", "truncated", 3),
        MCASE("BININT cut", P2 "NJ\x01\x02", "ST205", FAIL, "ST205", "truncated", 3),
        MCASE("BINFLOAT cut", P2 "NG\x01\x02", "ST205", FAIL, "ST205",
              "argument longer than the bytes present", 3),
        MCASE("BINPUT cut", P2 "Nq", "ST205", FAIL, "ST205", "truncated", 3),
        MCASE("BINUNICODE length cut", P2 "NX\x01\x00", "ST205", FAIL, "ST205", "truncated", 3),
        MCASE("BINBYTES8 above INT64_MAX", "\x80\x04\x8e\x00\x00\x00\x00\x00\x00\x00\x80.", "ST205",
              FAIL, "ST205", "byte count exceeds the system's maximum size", 2),
        MCASE("SHORT_BINSTRING is not signed", P2 "U\xff.", "ST205", FAIL, "ST205",
              "argument longer than the bytes present", 2),
        MCASE("BINSTRING negative", P2 "T\x00\x00\x00\x80.", "ST205", FAIL, "ST205",
              "negative byte count", 2),
        MCASE("empty FLOAT", "F\n.", "ST205", FAIL, "ST205", "empty FLOAT", 0),
        MCASE("GET of an empty slot in a used page", "K\x01p0\n0g1\n.", "ST205", FAIL, "ST205",
              "memo value not found", 6),
        MCASE("GET without PUT", "K\x01g0\n.", "ST205", FAIL, "ST205", "memo value not found", 2),
        MCASE("PUT on an empty stack", "N(p0\n.", "ST205", FAIL, "ST205", "stack underflow", 2),
    };
    RUN_M(*state, cases);
}

/* Asserts the report's only import is module.name as written (after escape decoding). */
static void expect_import(const char *what, const char *b, size_t n, const char *module,
                          const char *name, const char *ids)
{
    st_ctx *ctx = st_ctx_new();
    st_report *r = check_pickle(ctx, b, n, "x.pkl");
    char got[512];
    tu_ids(r, got, sizeof(got));
    if (strcmp(got, ids) != 0)
        fail_msg("%s: ids \"%s\", expected \"%s\"", what, got, ids);
    if (st_report_import_count(r) != 1 || strcmp(st_report_import(r, 0)->module, module) != 0 ||
        strcmp(st_report_import(r, 0)->name, name) != 0)
        fail_msg("%s: import %s.%s, expected %s.%s", what,
                 st_report_import_count(r) ? st_report_import(r, 0)->module : "-",
                 st_report_import_count(r) ? st_report_import(r, 0)->name : "-", module, name);
    st_report_free(r);
    st_ctx_free(ctx);
}

#define EXPECT_IMPORT(what, b, module, name, ids)                                                  \
    expect_import(what, b, sizeof(b) - 1, module, name, ids)

/* STRING is escape-decoded and UNICODE raw-unicode-escape-decoded before STACK_GLOBAL judges
 * them, as codecs does; what does not decode is no name (ST203). */
static void test_escapes(void **state)
{
    (void)state;
    EXPECT_IMPORT("simple escapes", P4 "S'a\\tb\\\\c\\'d\\\"e'\nS'x'\n\x93.", "a\\x09b\\c'd\"e",
                  "x", "ST202");
    EXPECT_IMPORT("octal of 1, 2 and 3 digits", P4 "S'\\7\\71\\1418'\nS'x'\n\x93.", "\\x079a8", "x",
                  "ST202");
    EXPECT_IMPORT("unknown escape kept", P4 "S'\\q'\nS'x'\n\x93.", "\\q", "x", "ST202");
    EXPECT_IMPORT("trailing backslash kept", P4 "S'a\\'\nS'x'\n\x93.", "a\\", "x", "ST202");
    EXPECT_IMPORT("\\8 is no escape", P4 "S'\\8'\nS'x'\n\x93.", "\\8", "x", "ST202");
    EXPECT_IMPORT("octal stops at a non-digit", P4 "S'\\1!'\nS'x'\n\x93.", "\\x01!", "x", "ST202");
    EXPECT_IMPORT("octal stops at 8", P4 "S'\\18'\nS'x'\n\x93.", "\\x018", "x", "ST202");
    EXPECT_IMPORT("double quotes", P4 "S\"os\"\nS\"system\"\n\x93.", "os", "system", "ST201");
    EXPECT_IMPORT("hex escape", P4 "S'\\x6fs'\nS'system'\n\x93.", "os", "system", "ST201");
    EXPECT_IMPORT("\\u and \\U escapes", P4 "V\\u006fs\nV\\U00000073ystem\n\x93.", "os", "system",
                  "ST201");
    EXPECT_IMPORT("latin-1 byte to UTF-8", P4 "V\xe9\nVx\n\x93.", "\xc3\xa9", "x", "ST202");
    EXPECT_IMPORT("backslash not before u", P4 "Va\\b\nVx\n\x93.", "a\\b", "x", "ST202");
    EXPECT_IMPORT("backslash last", P4 "Va\\\nVx\n\x93.", "a\\", "x", "ST202");
    static const pk_mcase cases[] = {
        MCASE("bad \\x escape", P4 "S'\\x6g'\nS'x'\n\x93.", "ST203", FAIL, "ST203",
              "module string that does not decode", SG),
        MCASE("\\x at the end", P4 "S'\\x'\nS'x'\n\x93.", "ST203", FAIL, "ST203",
              "module string that does not decode", SG),
        MCASE("\\x with a bad first digit", P4 "S'\\xg0'\nS'x'\n\x93.", "ST203", FAIL, "ST203",
              "module string that does not decode", SG),
        MCASE("backslash then NUL", P4 "S'\\\x00'\nS'x'\n\x93.", "ST203", FAIL, "ST203",
              "module string that does not decode", SG),
        MCASE("\\x escape cut", P4 "S'\\x6'\nS'x'\n\x93.", "ST203", FAIL, "ST203",
              "module string that does not decode", SG),
        MCASE("STRING without quotes", P4 "Sos\nSx\n\x93.", "ST203", FAIL, "ST203",
              "module string that does not decode", SG),
        MCASE("STRING with mismatched quotes", P4 "S'os\"\nSx\n\x93.", "ST203", FAIL, "ST203",
              "module string that does not decode", 11),
        MCASE("STRING of one quote", P4 "S'\nS'x'\n\x93.", "ST203", FAIL, "ST203",
              "module string that does not decode", SG),
        MCASE("STRING in other quotes", P4 "S`os`\nS'x'\n\x93.", "ST203", FAIL, "ST203",
              "module string that does not decode", SG),
        MCASE("bad \\u escape", P4 "V\\u00g6\nVx\n\x93.", "ST203", FAIL, "ST203",
              "module string that does not decode", SG),
        MCASE("\\u escape cut", P4 "V\\u06\nVx\n\x93.", "ST203", FAIL, "ST203",
              "module string that does not decode", SG),
        MCASE("\\U beyond U+10FFFF", P4 "Vx\nV\\U00110000\n\x93.", "ST203", FAIL, "ST203",
              "name string that does not decode", SG),
        MCASE("NUL in a name", P4 "\x8c\x02o\x00\x8c\x01x\x93.", "ST203", FAIL, "ST203",
              "module string that does not decode", SG),
        MCASE("NUL by escape", P4 "\x8c\x01xS'\\0'\n\x93.", "ST203", FAIL, "ST203",
              "name string that does not decode", SG),
        MCASE("name is a global", P4 "\x8c\x01xcbuiltins\nset\n\x93.", "ST203", FAIL, "ST203",
              "takes a name global", SG),
        MCASE("name is a number", P4 "\x8c\x01xK\x01\x93.", "ST203", FAIL, "ST203",
              "takes a name non-string value", SG),
        MCASE("module is a call result", P4 "cbuiltins\nset\n)R\x8c\x01x\x93.", "ST203", FAIL,
              "ST203", "takes a module value a call returned", SG),
    };
    RUN_M(*state, cases);
}

/* GLOBAL and INST lines: UTF-8, no NUL (CPython's import fails), and long lines. */
static void test_global_lines(void **state)
{
    static const pk_mcase cases[] = {
        MCASE("NUL in a GLOBAL module line", "cos\x00x\nsystem\n.", "ST205", FAIL, "ST205",
              "GLOBAL argument holds NUL", 0),
        MCASE("NUL in a GLOBAL name line", "cos\nsys\x00tem\n.", "ST205", FAIL, "ST205",
              "GLOBAL argument holds NUL", 0),
        MCASE("NUL in an INST line", "(ios\nsys\x00tem\n.", "ST205", FAIL, "ST205",
              "GLOBAL argument holds NUL", 1),
        MCASE("GLOBAL not UTF-8", "cos\xff\nsystem\n.", "ST205", FAIL, "ST205",
              "GLOBAL argument is not UTF-8", 0),
        MCASE("GLOBAL cut UTF-8", "cos\nsys\xc3\n.", "ST205", FAIL, "ST205",
              "GLOBAL argument is not UTF-8", 0),
    };
    RUN_M(*state, cases);
    EXPECT_IMPORT("UTF-8 in a GLOBAL line", "cmod\xc3\xa9\nx\n.", "mod\xc3\xa9", "x", "ST202");
    /* a long name through STACK_GLOBAL: the name (not the module) is too long */
    ba_buf p = {0};
    PB(&p, P4);
    pb_binunicode(&p, "numpy");
    char name[ST_PK_NAME_MAX + 2];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    pb_binunicode(&p, name);
    PB(&p, "\x93.");
    st_report *r = pb_check(*state, &p, "ST216", FAIL, "long STACK_GLOBAL name");
    expect_finding("long STACK_GLOBAL name", r, "ST216",
                   "STACK_GLOBAL at offset 1042 imports a name of 1025 bytes", 1042);
    st_report_free(r);
    free(p.b);
    /* a 10,260-byte STRING is longer than any name could decode to: not read at all */
    p = (ba_buf){0};
    PB(&p, P4 "S'");
    pb_rep(&p, "\\x41", 2565);
    PB(&p, "'\nS'x'\n\x93.");
    r = pb_check(*state, &p, "ST216", FAIL, "STRING far too long for a name");
    expect_finding("STRING far too long", r, "ST216", "imports a name of 10262 bytes", p.n - 2);
    st_report_free(r);
    free(p.b);
}

/* Integer and decimal lines: the forms picklers write, refusals of the others. */
static void test_int_lines(void **state)
{
    static const pk_case ok[] = {
        CASE("negative INT", "I-5\n.", "", PASS),
        CASE("INT 02 is an int, not a bool", "I02\n.", "", PASS),
        CASE("INT 1", "I1\n.", "", PASS),
        CASE("INT 10", "I10\n.", "", PASS),
        CASE("INT overflowing 64 bits", "I99999999999999999999\n.", "", PASS),
        CASE("LONG without L", "L5\n.", "", PASS),
        CASE("LONG of 30 digits", "L123456789012345678901234567890L\n.", "", PASS),
        CASE("LONG1 empty", P2 "\x8a\x00.", "", PASS),
        CASE("LONG1 negative", P2 "\x8a\x01\xff.", "", PASS),
        CASE("LONG4 of 9 bytes", P2 "\x8b\x09\x00\x00\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09.", "",
             PASS),
    };
    run_cases(*state, ok, sizeof(ok) / sizeof(ok[0]));
    static const pk_mcase cases[] = {
        /* int(b"", 0) raises in Lib/pickle.py, _pickle.c reports a bad readline: these used to
         * pass as an integer of unknown value */
        MCASE("empty INT", "I\n.", "ST205", FAIL, "ST205", "empty integer argument", 0),
        MCASE("empty LONG", "L\n.", "ST205", FAIL, "ST205", "empty integer argument", 0),
        MCASE("LONG of only its suffix", "LL\n.", "ST205", FAIL, "ST205", "empty integer argument",
              0),
        MCASE("INT sign alone", "I-\n.", "ST205", FAIL, "ST205",
              "integer argument stcheck does not read", 0),
        MCASE("INT sign inside", "I5-\n.", "ST205", FAIL, "ST205",
              "integer argument stcheck does not read", 0),
        MCASE("PUT of 21 digits", "Np000000000000000000001\n.", "ST205", FAIL, "ST205",
              "decimal argument stcheck does not read", 1),
        MCASE("PUT overflowing 64 bits", "Np99999999999999999999\n.", "ST205", FAIL, "ST205",
              "decimal argument stcheck does not read", 1),
        MCASE("empty PUT", "Np\n.", "ST205", FAIL, "ST205",
              "decimal argument stcheck does not read", 1),
        MCASE("GET of a letter", "Np0\ng0x\n.", "ST205", FAIL, "ST205",
              "decimal argument stcheck does not read", 4),
        MCASE("memo index beyond the stream", "Np100\n.", "ST205", FAIL, "ST205",
              "memo index larger than the stream could have memoized", 1),
    };
    RUN_M(*state, cases);
}

/* The stack and the mark stack grow past their first allocation and keep what they hold: an
 * import pushed first is still the callable after 300 values above it were pushed and popped. */
static void test_growth(void **state)
{
    ba_buf p = {0};
    PB(&p, "cos\nsystem\n(");
    pb_rep(&p, "N", 300);
    PB(&p, "1(S'x'\ntR.");
    st_report *r = pb_check(*state, &p, "ST201", FAIL, "stack growth");
    assert_int_equal(st_report_call_count(r), 1);
    assert_string_equal(st_report_call(r, 0)->callable, "os.system");
    st_report_free(r);
    free(p.b);
    /* 100 marks, each above one more value: POP_MARK restores each mark's depth, so after 99
     * of them 2 values and 1 mark are left (the marks array grew past its first 64) */
    p = (ba_buf){0};
    pb_rep(&p, "N(", 100);
    pb_rep(&p, "1", 99);
    PB(&p, ".");
    r = pb_check(*state, &p, "ST214", PASS, "mark growth");
    expect_finding("mark growth", r, "ST214", "leaves 1 value and 1 mark on the stack", p.n - 1);
    st_report_free(r);
    free(p.b);
    /* 40 distinct imports: the import table grows past its first 32 entries, sorted */
    p = (ba_buf){0};
    for (int i = 0; i < 40; i++) {
        char g[32];
        int n = snprintf(g, sizeof(g), "cm%02d\nx\n0", 39 - i);
        ba_put(&p, g, (size_t)n);
    }
    PB(&p, "cm07\nx\nN.");
    r = pb_check(*state, &p, "ST202,ST214", FAIL, "import table growth");
    assert_int_equal(st_report_import_count(r), 40);
    for (size_t i = 0; i < 40; i++)
        if (strcmp(st_report_import(r, i)->module, "m07") == 0)
            assert_true(st_report_import(r, i)->count == 2);
    st_report_free(r);
    free(p.b);
}

/* Memo entries of every kind survive PUT and GET (packed into 8 bytes), in sparse pages. */
static void test_memo_kinds(void **state)
{
    static const pk_case cases[] = {
        /* an exact int through the memo is still a shape for numpy's reconstructor */
        CASE("int via memo",
             P2 "K\x05q\x00"
                "0h\x00h\x00\x86.",
             "", PASS),
        CASE("big int via memo",
             P2 "\x8a\x08\xff\xff\xff\xff\xff\xff\xff\x7fq\x00"
                "0h\x00.",
             "", PASS),
        CASE("tuple via memo",
             P2 "K\x01K\x02\x86q\x00"
                "0h\x00.",
             "", PASS),
        CASE("dict via memo",
             P2 "}q\x00"
                "0h\x00(K\x01K\x02u.",
             "", PASS),
        CASE("bool via memo",
             P2 "\x88q\x00"
                "0h\x00.",
             "", PASS),
        CASE("unicode line via memo", P4 "Vos\np0\n0Vsystem\np1\n0g0\ng1\n\x93.", "ST201", FAIL),
        CASE("string line via memo", P4 "S'os'\np0\n0S'system'\np1\n0g0\ng1\n\x93.", "ST201", FAIL),
        CASE("call via memo keeps its import", "cos\nsystem\n)Rp0\n0g0\n(S'x'\ntR.", "ST201,ST213",
             FAIL),
    };
    run_cases(*state, cases, sizeof(cases) / sizeof(cases[0]));
    /* memo pages: index 0 and 8192 used, 4096's page never made: GET 4096 finds nothing */
    ba_buf p = {0};
    PB(&p, P2 "B");
    ba_le(&p, 9000, 4);
    ba_fill(&p, 0, 9000);
    PB(&p, "r\x00\x00\x00\x00r\x00\x20\x00\x00j\x00\x10\x00\x00.");
    st_report *r = pb_check(*state, &p, "ST205", FAIL, "sparse memo pages");
    expect_finding("sparse memo pages", r, "ST205", "memo value not found", p.n - 6);
    st_report_free(r);
    free(p.b);
}

/* Bytes past the read window (64 KiB): strings read back from the source, lines that cross it. */
static void test_window(void **state)
{
    ba_buf p = {0};
    PB(&p, P4);
    pb_binunicode(&p, "os");
    PB(&p, "B");
    ba_le(&p, 70000, 4);
    ba_fill(&p, 0, 70000);
    PB(&p, "0");
    pb_binunicode(&p, "system");
    PB(&p, "\x93.");
    st_report *r = pb_check(*state, &p, "ST201", FAIL, "module read back past the window");
    assert_string_equal(st_report_import(r, 0)->module, "os");
    st_report_free(r);
    free(p.b);
    /* a line longer than the window, then an import */
    p = (ba_buf){0};
    PB(&p, P2 "S'");
    pb_rep(&p, "a", 70000);
    PB(&p, "'\n0cos\nsystem\n.");
    r = pb_check(*state, &p, "ST201", FAIL, "line longer than the window");
    expect_finding("line longer than the window", r, "ST201", "os.system", 70007);
    st_report_free(r);
    free(p.b);
    /* a long line cut by the end of the file, past the window */
    p = (ba_buf){0};
    PB(&p, P2 "NS'");
    pb_rep(&p, "a", 70000);
    r = pb_check(*state, &p, "ST205", FAIL, "long line cut by EOF");
    st_report_free(r);
    free(p.b);
}

/* Identification of headerless streams: 32 valid opcodes make a pickle; a cut opcode after
 * fewer does not. */
static void test_identify_streams(void **state)
{
    ba_buf p = {0};
    pb_rep(&p, "N", 40);
    st_report *r = pb_check(*state, &p, "ST205", FAIL, "40 NONEs, no STOP");
    expect_finding("40 NONEs", r, "ST205", "truncated", 40);
    assert_string_equal(st_report_format(r), "pickle");
    st_report_free(r);
    free(p.b);
    p = (ba_buf){0};
    pb_rep(&p, "N", 32);
    PB(&p, "K");
    r = pb_check(*state, &p, "ST205", FAIL, "32 NONEs and a cut BININT1");
    assert_string_equal(st_report_format(r), "pickle");
    st_report_free(r);
    free(p.b);
    r = check_pickle(*state, "NK", 2, "x.bin");
    assert_string_not_equal(st_report_format(r), "pickle");
    st_report_free(r);
    /* a tail of one PROTO byte is no load: reported, not walked */
    static const pk_case cases[] = {
        CASE("tail of a lone PROTO byte", "N.\x80", "ST208", PASS),
        CASE("tail that is PROTO 2", "N.\x80\x02N.", "ST208", PASS),
    };
    run_cases(*state, cases, sizeof(cases) / sizeof(cases[0]));
}

/* A tuple shape repeated in 65 forms: more than numpy writes, so its data classes are calls. */
static void test_rargs_overflow(void **state)
{
    ba_buf p = {0};
    PB(&p, P2 "cnumpy\nmatrix\nq\x00");
    for (int n = 1; n <= 65; n++) {
        PB(&p, "(h\x00");
        pb_rep(&p, "N", (size_t)n - 1);
        PB(&p, "t0");
    }
    PB(&p, "0N.");
    st_report *r = pb_check(*state, &p, "ST202", FAIL, "65 tuple shapes");
    expect_finding("65 tuple shapes", r, "ST202", "a tuple holds (in too many shapes)", p.n - 5);
    st_report_free(r);
    free(p.b);
    static const pk_mcase cases[] = {
        MCASE("data class at position 2 of a tuple", P2 "NNcnumpy\nmatrix\n\x87.", "ST202", FAIL,
              "ST202", "a tuple holds (not as a reconstructor's class)", SG),
        MCASE("data class as NEWOBJ's arguments",
              P2 "ccollections\nOrderedDict\ncnumpy\nmatrix\n\x81.", "ST202", FAIL, "ST202",
              "NEWOBJ passes (not as a reconstructor's class) numpy.matrix", SG),
        MCASE("data class tuple as NEWOBJ's arguments",
              P2 "ccollections\nOrderedDict\ncnumpy\nmatrix\n\x85\x81.", "ST202", FAIL, "ST202",
              "NEWOBJ passes (not as a reconstructor's class) numpy.matrix", SG),
        MCASE("data class passed to _reconstruct at position 1",
              P2 "cnumpy.core.multiarray\n_reconstruct\nNcnumpy\nmatrix\nN\x87R.", "ST202", FAIL,
              "ST202", "REDUCE passes (not as a reconstructor's class) numpy.matrix", SG),
        MCASE("data class passed to a call result", P2 "cbuiltins\nset\n)Rcnumpy\nmatrix\n\x85R.",
              "ST202,ST213", FAIL, "ST202",
              "REDUCE passes (not as a reconstructor's class) numpy.matrix", SG),
    };
    RUN_M(*state, cases);
}

/* joblib's NumpyArrayWrapper as joblib.dump writes it: REDUCE of (subclass, shape, order,
 * dtype), BUILD, then the array's bytes (a padding-length byte and padding first). */
#define NAW0 "cjoblib.numpy_pickle\nNumpyArrayWrapper\n(cnumpy\nndarray\nK\x02\x85U\x01"
#define NAW P2 NAW0
#define F8 "Ccnumpy\ndtype\n(U\x03<f8\x89\x88tR"
#define O8 "Ccnumpy\ndtype\n(U\x02O8\x89\x88tR"
#define DATA16 "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

/* What joblib reads after a wrapper: raw data, a nested pickle, a sibling file; each way it
 * fails or cannot be told. */
static void test_joblib_arrays(void **state)
{
    static const pk_case ok[] = {
        CASE("raw array after its padding", NAW F8 "tR}b\x01\x00" DATA16 ".", "", PASS),
        CASE("object array: a nested pickle", NAW O8 "tR}bN..", "", PASS),
        CASE("array data after a frame that ends at BUILD",
             P4 "\x95\x58\x00\x00\x00\x00\x00\x00\x00" NAW0 F8 "tR}b\x01\x00" DATA16 ".", "", PASS),
        CASE("_mareconstruct with a data class second",
             P2 "cnumpy.ma.core\n_mareconstruct\n("
                "cnumpy.ma.core\nMaskedArray\ncnumpy\n"
                "matrix\nK\x00\x85U\x01"
                "btR.",
             "", PASS),
    };
    run_cases(*state, ok, sizeof(ok) / sizeof(ok[0]));
    static const pk_mcase cases[] = {
        MCASE("nested pickle malformed", NAW O8 "tR}bK", "ST205", FAIL, "ST205", "truncated",
              sizeof(NAW O8 "tR}b") - 1),
        MCASE("nested pickle imports", NAW O8 "tR}bcos\nsystem\n..", "ST201", FAIL, "ST201",
              "os.system", sizeof(NAW O8 "tR}b") - 1),
        MCASE("array data inside a frame",
              P4 "\x95\x5a\x00\x00\x00\x00\x00\x00\x00" NAW0 F8 "tR}b\x01\x00" DATA16 ".", "ST205",
              FAIL, "ST205", "joblib array data inside a frame", 98),
        MCASE("padding byte missing", NAW F8 "tR}b", "ST205", FAIL, "ST205", "truncated",
              sizeof(NAW F8 "tR}b") - 2),
        MCASE("padding longer than the file", NAW F8 "tR}b\x40\x00.", "ST205", FAIL, "ST205",
              "argument longer than the bytes present", sizeof(NAW F8 "tR}b") - 2),
        MCASE("array data cut", NAW F8 "tR}b\x01\x00\x00\x00.", "ST205", FAIL, "ST205",
              "argument longer than the bytes present", sizeof(NAW F8 "tR}b") - 2),
        MCASE("wrapper made without __init__ has no shape",
              "cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}b.", "ST205", FAIL, "ST205",
              "joblib array wrapper without a shape or dtype attribute", SG),
        MCASE("shape that is not literal ints",
              "cjoblib.numpy_pickle\nNumpyArrayWrapper\n("
              "cnumpy\nndarray\nNU\x01" F8 "tR}b.",
              "ST230", FAIL, "ST230", "its shape is not a tuple of literal integers", SG),
        MCASE("object dtype that clears its flag, read raw",
              NAW "Ccnumpy\ndtype\n(U\x02O8\x89\x88tR(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff"
                  "\xff\xffK\x00tbtR}b\x01\x00" DATA16 ".",
              "ST231", FAIL, "ST231", "clears its object flag: the loader makes object", 111),
        MCASE("ndarray state with a forged object dtype",
              P2 "cnumpy.core.multiarray\n_reconstruct\n(cnumpy\nndarray\nK\x00\x85U\x01"
                 "btR(K\x01K\x02\x85" FORGED_O "\x89"
                 "C\x10" DATA16 "tb.",
              "ST231", FAIL, "ST231", "BUILD at offset", SG),
        MCASE("NDArrayWrapper names a sibling",
              "cjoblib.numpy_pickle\nNDArrayWrapper\n(U\x05"
              "a.npycnumpy\nndarray\ntR}b.",
              "ST234", NOCHECK, "ST234", "a.npy", SG), /* a buffer has no folder */
    };
    RUN_M(*state, cases);
}

/* Odds and ends of the walker: second tails, memo overwrites, data classes reported once,
 * BUILD on unresolved calls, state dicts, tuples that may or may not matter. */
static void test_walker_misc(void **state)
{
    static const pk_case cases[] = {
        CASE("two tails", "N.N.N.", "ST208", PASS),
        CASE("PUT twice at one index", "Nq\x00q\x00.", "", PASS),
        CASE("data class called twice, reported once", P2 "cnumpy\nmatrix\nq\x00)R0h\x00)R.",
             "ST202", FAIL),
        CASE("BUILD on an unresolved call", P2 "\x82\x07)R}b.", "ST204", FAIL),
        CASE("dtype arguments to an EXT callable", P2 "\x82\x07(U\x03<f8\x89\x88tR.", "ST204",
             FAIL),
        CASE("data class passed to an EXT callable",
             P2 "\x82\x07"
                "cnumpy\nmatrix\n\x85R.",
             "ST202,ST204", FAIL),
        CASE("dtype arguments through the memo",
             "(U\x03<f8\x89\x88tq\x00"
             "0cnumpy\ndtype\nh\x00R.",
             "", PASS),
        CASE("dtype through the memo",
             "cnumpy\ndtype\n(U\x03<f8\x89\x88tRq\x01"
             "0h\x01.",
             "", PASS),
        CASE("state key of 5 bytes that is no attribute",
             "}U\x05"
             "abcdeK\x01s.",
             "", PASS),
        CASE("state key a call returned", "}cbuiltins\nset\n)RK\x01s.", "", PASS),
        CASE("state value a string",
             "}U\x05shapeU\x01"
             "as.",
             "", PASS),
        CASE("state value that does not decode", "}U\x05shapeSabc\ns.", "", PASS),
        CASE("a float among a tuple's items",
             "(cbuiltins\nset\nG\x00\x00\x00\x00\x00\x00\x00"
             "\x00t.",
             "", PASS),
        CASE("a buffer among a tuple's items", "\x80\x05(cbuiltins\nset\n\x97t.", "ST212", FAIL),
        CASE("dtype-state shaped tuples",
             P2 "(\x88U\x01<NNNt0(K\x05U\x01<NNNt0(K\x01"
                "C\x01<NNNt0(K\x01U\x02<<NNNt0(U\x01"
                "aNNNNt0(U\x02"
                "aaNNNt0(K\x01NNNNt.",
             "", PASS),
        CASE("tuple of ints beyond 44 bits", "(J\xff\xff\xff\x7fJ\xff\xff\xff\x7ft.", "", PASS),
        CASE("tuple with a negative int", "(J\xff\xff\xff\xfft.", "", PASS),
        CASE("BINSTRING",
             "T\x01\x00\x00\x00"
             "a.",
             "", PASS),
        CASE("INT overflowing on the last digit", "I18446744073709551616\n.", "", PASS),
        CASE("copyreg.__newobj__ of a dtype", P2 "ccopyreg\n__newobj__\ncnumpy\ndtype\n\x85R.",
             "ST202", FAIL),
    };
    run_cases(*state, cases, sizeof(cases) / sizeof(cases[0]));
    static const pk_mcase m[] = {
        MCASE("SETITEMS without a mark", "}u.", "ST205", FAIL, "ST205",
              "MARK expected but not found", 1),
        MCASE("LIST without a mark", "Nl.", "ST205", FAIL, "ST205", "MARK expected but not found",
              1),
        MCASE("DICT without a mark", "Nd.", "ST205", FAIL, "ST205", "MARK expected but not found",
              1),
        MCASE("FROZENSET without a mark", P4 "N\x91.", "ST205", FAIL, "ST205",
              "MARK expected but not found", 3),
        MCASE("OBJ without a mark", "No.", "ST205", FAIL, "ST205", "MARK expected but not found",
              1),
        MCASE("INST without a mark", "Nios\nsystem\n.", "ST201,ST205", FAIL, "ST205",
              "MARK expected but not found", 1),
        MCASE("PUT overflowing on the last digit", "Np18446744073709551616\n.", "ST205", FAIL,
              "ST205", "decimal argument stcheck does not read", 1),
    };
    RUN_M(*state, m);
    /* limits hit on a mark and on an import through STACK_GLOBAL */
    st_ctx *ctx = st_ctx_new();
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_PICKLE_STACK, 3), ST_OK);
    static const pk_mcase lm[] = {
        MCASE("MARK above the stack limit", "NNN(.", "ST901", NOCHECK, "ST901",
              "pickle stack depth above the limit of 3", 3),
    };
    RUN_M(ctx, lm);
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_PICKLE_STACK, 1000), ST_OK);
    assert_int_equal(st_ctx_set_limit(ctx, ST_LIMIT_PICKLE_IMPORTS, 1), ST_OK);
    static const pk_mcase li[] = {
        MCASE("STACK_GLOBAL above the import limit",
              P4 "\x8c\x01"
                 "a\x8c\x01"
                 "b\x93\x8c\x01"
                 "c\x8c\x01"
                 "d\x93.",
              "ST202,ST901", NOCHECK, "ST901", "pickle distinct imports above the limit of 1", SG),
    };
    RUN_M(ctx, li);
    st_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opcode_families),
        cmocka_unit_test(test_memo_forms),
        cmocka_unit_test(test_allowlist),
        cmocka_unit_test(test_opcode_view),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_evidence),
        cmocka_unit_test(test_identification),
        cmocka_unit_test(test_containers),
        cmocka_unit_test(test_fail_closed),
        cmocka_unit_test(test_data_classes),
        cmocka_unit_test(test_long_names),
        cmocka_unit_test(test_integrity_warnings),
        cmocka_unit_test(test_tail_bypasses),
        cmocka_unit_test(test_line_cut_by_eof),
        cmocka_unit_test(test_forged_object_dtype),
        cmocka_unit_test(test_permissive_policy),
        cmocka_unit_test(test_lists_disjoint),
        cmocka_unit_test(test_frames),
        cmocka_unit_test(test_machine_checks),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_global_lines),
        cmocka_unit_test(test_int_lines),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_memo_kinds),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_identify_streams),
        cmocka_unit_test(test_rargs_overflow),
        cmocka_unit_test(test_joblib_arrays),
        cmocka_unit_test(test_walker_misc),
    };
    return cmocka_run_group_tests(tests, tu_ctx_setup, tu_ctx_teardown);
}
