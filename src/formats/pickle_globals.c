/*
 * pickle_globals.c - how an imported global is judged: Python-2 name mapping, the allowlists of
 * the safe loaders, and the denylist of known-dangerous callables.
 *
 * Allowlists decide: a global that is not on the profile's list is an error (fail closed). The
 * denylist only chooses the label "malicious" (known dangerous) over "suspicious" (not on the
 * allowlist) for what is known to run code, touch processes, files or the network, nest another
 * deserialiser, or walk attributes; it names no harmless helper. Matching is exact on module +
 * qualname after Python-2 mapping: no prefixes, no case folding, no trimming (denylist module
 * entries cover their submodules). Names are judged whole (pickle.c refuses longer ones).
 *
 * A third, small list holds numpy's own ndarray and scalar subclasses, which numpy pickles as
 * the class *argument* of a reconstructor (_reconstruct(numpy.matrix, ...)): data there, and a
 * call like any other when called (pickle.c decides from how the value is used).
 */
#include <string.h>

#include "pickle.h"

/* Python 2 module names that pickle's fix_imports maps (Lib/_compat_pickle.py IMPORT_MAPPING,
 * the security-relevant subset plus the common ones). */
static const char *const py2_modules[][2] = {
    {"__builtin__", "builtins"},
    {"copy_reg", "copyreg"},
    {"cPickle", "pickle"},
    {"exceptions", "builtins"},
    {"urllib2", "urllib.request"},
    {"urlparse", "urllib.parse"},
    {"httplib", "http.client"},
    {"cookielib", "http.cookiejar"},
    {"BaseHTTPServer", "http.server"},
    {"SimpleHTTPServer", "http.server"},
    {"CGIHTTPServer", "http.server"},
    {"SocketServer", "socketserver"},
    {"commands", "subprocess"},
    {"Queue", "queue"},
    {"ConfigParser", "configparser"},
    {"repr", "reprlib"},
    {"cStringIO", "io"},
    {"StringIO", "io"},
    {"UserDict", "collections"},
    {"UserList", "collections"},
    {"UserString", "collections"},
    {"anydbm", "dbm"},
    {"whichdb", "dbm"},
    {"dbhash", "dbm.bsd"},
    {"dumbdbm", "dbm.dumb"},
    {"gdbm", "dbm.gnu"},
    {"thread", "_thread"},
    {"dummy_thread", "_dummy_thread"},
    {"xmlrpclib", "xmlrpc.client"},
    {"SimpleXMLRPCServer", "xmlrpc.server"},
    {"htmlentitydefs", "html.entities"},
    {"HTMLParser", "html.parser"},
    {"Cookie", "http.cookies"},
    {"markupbase", "_markupbase"},
    {"_winreg", "winreg"},
    {"robotparser", "urllib.robotparser"},
    {"itertools", "itertools"},
};

/* (module, name) pairs that fix_imports renames (NAME_MAPPING subset). */
static const char *const py2_names[][4] = {
    {"__builtin__", "xrange", "builtins", "range"},
    {"__builtin__", "reduce", "functools", "reduce"},
    {"__builtin__", "intern", "sys", "intern"},
    {"__builtin__", "unichr", "builtins", "chr"},
    {"__builtin__", "unicode", "builtins", "str"},
    {"__builtin__", "long", "builtins", "int"},
    {"__builtin__", "basestring", "builtins", "str"},
    {"__builtin__", "raw_input", "builtins", "input"},
    {"__builtin__", "execfile", "builtins", "exec"},
    {"itertools", "izip", "builtins", "zip"},
    {"itertools", "imap", "builtins", "map"},
    {"itertools", "ifilter", "builtins", "filter"},
    {"urllib", "urlopen", "urllib.request", "urlopen"},
    {"urllib", "urlretrieve", "urllib.request", "urlretrieve"},
    {"urllib", "quote", "urllib.parse", "quote"},
    {"UserDict", "UserDict", "collections", "UserDict"},
    {"UserDict", "IterableUserDict", "collections", "UserDict"},
    {"socket", "_socketobject", "socket", "SocketType"},
};

void st_pk_map_py2(const char **module, const char **name)
{
    for (size_t i = 0; i < sizeof(py2_names) / sizeof(py2_names[0]); i++)
        if (strcmp(*module, py2_names[i][0]) == 0 && strcmp(*name, py2_names[i][1]) == 0) {
            *module = py2_names[i][2];
            *name = py2_names[i][3];
            return;
        }
    for (size_t i = 0; i < sizeof(py2_modules) / sizeof(py2_modules[0]); i++)
        if (strcmp(*module, py2_modules[i][0]) == 0) {
            *module = py2_modules[i][1];
            return;
        }
}

/*
 * The torch profile: PyTorch's weights_only unpickler (torch/_weights_only_unpickler.py,
 * _get_allowed_globals and _tensor_rebuild_functions), the union of Debian's torch 1.13 and
 * current upstream: the tensor and parameter rebuild functions, storage classes (typed, untyped,
 * legacy and torch.cuda), torch._tensor_classes (dense, sparse, cuda), torch.Size/Tensor/device,
 * dtypes, layouts, memory formats and quantization schemes, OrderedDict and Counter, and the
 * builtins upstream allows (_codecs.encode for bytes, bytearray, set, complex). numpy is refused,
 * as weights_only refuses it.
 */
static const char *const torch_allow[] = {
    "collections.OrderedDict",
    "collections.Counter",
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch._utils._rebuild_qtensor",
    "torch._utils._rebuild_sparse_tensor",
    "torch._utils._rebuild_sparse_csr_tensor", /* torch 1.13 */
    "torch._utils._rebuild_meta_tensor_no_storage",
    "torch._utils._rebuild_nested_tensor",
    "torch._utils._rebuild_wrapper_subclass",
    "torch._utils._rebuild_device_tensor_from_numpy",
    "torch._utils._rebuild_device_tensor_from_cpu_tensor",
    "torch._tensor._rebuild_from_type_v2",
    "torch.nn.parameter.Parameter",
    "torch.serialization._get_layout",
    "torch.Size",
    "torch.Tensor",
    "torch.device",
    "_codecs.encode",
    "builtins.bytearray",
    "builtins.set",
    "builtins.complex",
    /* torch._tensor_classes (legacy tensor types, named by the tensor records of pre-2018 tar
     * checkpoints and by legacy sparse tensors) */
    "torch.DoubleTensor",
    "torch.FloatTensor",
    "torch.HalfTensor",
    "torch.BFloat16Tensor",
    "torch.LongTensor",
    "torch.IntTensor",
    "torch.ShortTensor",
    "torch.CharTensor",
    "torch.ByteTensor",
    "torch.BoolTensor",
    "torch.cuda.DoubleTensor",
    "torch.cuda.FloatTensor",
    "torch.cuda.HalfTensor",
    "torch.cuda.BFloat16Tensor",
    "torch.cuda.LongTensor",
    "torch.cuda.IntTensor",
    "torch.cuda.ShortTensor",
    "torch.cuda.CharTensor",
    "torch.cuda.ByteTensor",
    "torch.cuda.BoolTensor",
    "torch.sparse.DoubleTensor",
    "torch.sparse.FloatTensor",
    "torch.sparse.HalfTensor",
    "torch.sparse.BFloat16Tensor",
    "torch.sparse.LongTensor",
    "torch.sparse.IntTensor",
    "torch.sparse.ShortTensor",
    "torch.sparse.CharTensor",
    "torch.sparse.ByteTensor",
    "torch.cuda.sparse.DoubleTensor",
    "torch.cuda.sparse.FloatTensor",
    "torch.cuda.sparse.HalfTensor",
    "torch.cuda.sparse.BFloat16Tensor",
    "torch.cuda.sparse.LongTensor",
    "torch.cuda.sparse.IntTensor",
    "torch.cuda.sparse.ShortTensor",
    "torch.cuda.sparse.CharTensor",
    "torch.cuda.sparse.ByteTensor",
    /* storage classes (persistent-id storage types; torch._storage_classes) */
    "torch.storage.UntypedStorage",
    "torch.storage.TypedStorage",
    "torch.UntypedStorage",
    "torch.DoubleStorage",
    "torch.FloatStorage",
    "torch.HalfStorage",
    "torch.LongStorage",
    "torch.IntStorage",
    "torch.ShortStorage",
    "torch.CharStorage",
    "torch.ByteStorage",
    "torch.BoolStorage",
    "torch.BFloat16Storage",
    "torch.ComplexDoubleStorage",
    "torch.ComplexFloatStorage",
    "torch.QUInt8Storage",
    "torch.QInt8Storage",
    "torch.QInt32Storage",
    "torch.QUInt4x2Storage",
    "torch.QUInt2x4Storage",
    "torch.cuda.DoubleStorage",
    "torch.cuda.FloatStorage",
    "torch.cuda.HalfStorage",
    "torch.cuda.LongStorage",
    "torch.cuda.IntStorage",
    "torch.cuda.ShortStorage",
    "torch.cuda.CharStorage",
    "torch.cuda.ByteStorage",
    "torch.cuda.BoolStorage",
    "torch.cuda.BFloat16Storage",
    "torch.cuda.ComplexDoubleStorage",
    "torch.cuda.ComplexFloatStorage",
    /* dtypes (torch.storage._dtype_to_storage_type_map, _new_dtypes, int1-7, uint1-7, and
     * the aliases torch exports for them) */
    "torch.float32",
    "torch.float",
    "torch.float64",
    "torch.double",
    "torch.float16",
    "torch.half",
    "torch.bfloat16",
    "torch.uint8",
    "torch.int8",
    "torch.int16",
    "torch.short",
    "torch.int32",
    "torch.int",
    "torch.int64",
    "torch.long",
    "torch.bool",
    "torch.complex32",
    "torch.chalf",
    "torch.complex64",
    "torch.cfloat",
    "torch.complex128",
    "torch.cdouble",
    "torch.quint8",
    "torch.qint8",
    "torch.qint32",
    "torch.quint4x2",
    "torch.quint2x4",
    "torch.float8_e5m2",
    "torch.float8_e4m3fn",
    "torch.float8_e5m2fnuz",
    "torch.float8_e4m3fnuz",
    "torch.float8_e8m0fnu",
    "torch.float4_e2m1fn_x2",
    "torch.bits8",
    "torch.bits16",
    "torch.bits1x8",
    "torch.bits2x4",
    "torch.bits4x2",
    "torch.uint16",
    "torch.uint32",
    "torch.uint64",
    "torch.uint1",
    "torch.uint2",
    "torch.uint3",
    "torch.uint4",
    "torch.uint5",
    "torch.uint6",
    "torch.uint7",
    "torch.int1",
    "torch.int2",
    "torch.int3",
    "torch.int4",
    "torch.int5",
    "torch.int6",
    "torch.int7",
    /* layouts and memory formats */
    "torch.strided",
    "torch.sparse_coo",
    "torch.sparse_csr",
    "torch.sparse_csc",
    "torch.sparse_bsr",
    "torch.sparse_bsc",
    "torch._mkldnn",
    "torch.jagged",
    "torch.contiguous_format",
    "torch.channels_last",
    "torch.channels_last_3d",
    "torch.preserve_format",
    /* quantization schemes */
    "torch.per_tensor_affine",
    "torch.per_channel_affine",
    "torch.per_tensor_symmetric",
    "torch.per_channel_symmetric",
    "torch.per_channel_affine_float_qparams",
};

/* The data profile adds what numpy.save (object arrays), plain pickle.dump of arrays and
 * joblib.dump write for ordinary arrays (numpy/_core/numeric.py and multiarray reduce,
 * joblib/numpy_pickle.py). */
static const char *const data_allow[] = {
    "numpy.core.multiarray._reconstruct",
    "numpy._core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar",
    "numpy._core.multiarray.scalar",
    "numpy.core.numeric._frombuffer",
    "numpy._core.numeric._frombuffer",
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.dtypes.Float64DType",
    "numpy.dtypes.Float32DType",
    "numpy.dtypes.Int64DType",
    "numpy.dtypes.Int32DType",
    "numpy.ma.core._mareconstruct",
    "joblib.numpy_pickle.NumpyArrayWrapper",
    /* old joblib (<= 0.9): the array is a sibling file stcheck checks (joblib.c) */
    "joblib.numpy_pickle.NDArrayWrapper",
    "joblib.numpy_pickle.ZNDArrayWrapper",
    "joblib.numpy_pickle_compat.NDArrayWrapper",
    "joblib.numpy_pickle_compat.ZNDArrayWrapper",
    "builtins.frozenset",
    "builtins.slice",
    /* range (xrange in Python 2 pickles): inert, and numpy's own object-array test data holds
     * it (numpy/lib/tests/data/py2-objarr.npy) */
    "builtins.range",
};

/* numpy's own ndarray and scalar subclasses. numpy pickles them as the class argument of a
 * reconstructor: numpy.core.multiarray._reconstruct(cls, shape, typecode) (ndarray.__reduce__,
 * numpy/core/src/multiarray/methods.c array_reduce), numpy.ma.core._mareconstruct(subtype,
 * baseclass, baseshape, basetype) (MaskedArray.__reduce__) and numpy.dtype(record, align, copy)
 * (arraydescr_reduce, for numpy.record fields). As that argument they are data; called, they are
 * calls judged like any global (numpy.memmap opens a file). */
static const char *const data_classes[] = {
    "numpy.matrix",
    "numpy.matrixlib.defmatrix.matrix",
    "numpy.memmap",
    "numpy.core.memmap.memmap",
    "numpy._core.memmap.memmap",
    "numpy.recarray",
    "numpy.core.records.recarray",
    "numpy._core.records.recarray",
    "numpy.rec.recarray",
    "numpy.record",
    "numpy.core.records.record",
    "numpy._core.records.record",
    "numpy.rec.record",
    "numpy.chararray",
    "numpy.char.chararray",
    "numpy.core.defchararray.chararray",
    "numpy._core.defchararray.chararray",
    "numpy.ma.MaskedArray",
    "numpy.ma.core.MaskedArray",
    "numpy.ma.core.mvoid",
};

/* Reconstructors and the argument positions where a data class is data. */
static const struct {
    const char *name;
    st_pk_recon kind;
} reconstructors[] = {
    {"numpy.core.multiarray._reconstruct", ST_PK_RECON_ARRAY},
    {"numpy._core.multiarray._reconstruct", ST_PK_RECON_ARRAY},
    {"numpy.ma.core._mareconstruct", ST_PK_RECON_MASKED},
    {"numpy.dtype", ST_PK_RECON_DTYPE},
};

/* Containers whose instances APPEND/SETITEM(S)/ADDITEMS may fill (CPython and torch call
 * their own methods for these, not arbitrary __setitem__). */
static const char *const container_types[] = {
    "collections.OrderedDict",
    "collections.Counter",
    "builtins.set",
    "builtins.bytearray",
};

/*
 * Known dangerous. An entry without a '.' after its first component list covers a module and
 * all its submodules; "module.name" entries are exact callables. Sources: the callables named
 * by picklescan, modelscan and fickling and by the 2025-2026 advisories against them.
 */
static const char *const deny_modules[] = {
    "os",
    "posix",
    "nt",
    "posixpath",
    "ntpath",
    "subprocess",
    "_posixsubprocess",
    "pty",
    "runpy",
    "webbrowser",
    "socket",
    "_socket",
    "socketserver",
    "shutil",
    "importlib",
    "pkgutil",
    "ctypes",
    "_ctypes",
    "code",
    "codeop",
    "types",
    "marshal",
    "pickle",
    "_pickle",
    "pickletools",
    "dill",
    "cloudpickle",
    "pip",
    "sys",
    "signal",
    "multiprocessing",
    "_multiprocessing",
    "threading",
    "_thread",
    "asyncio",
    "ftplib",
    "smtplib",
    "telnetlib",
    "poplib",
    "imaplib",
    "nntplib",
    "requests",
    "httpx",
    "aiohttp",
    "urllib3",
    "paramiko",
    "tempfile",
    "glob",
    "io",
    "_io",
    "fileinput",
    "timeit",
    "trace",
    "pdb",
    "bdb",
    "cProfile",
    "profile",
    "doctest",
    "site",
    "zipimport",
    "shelve",
    "dbm",
    "sqlite3",
    "xmlrpc",
    "imp",
    "setuptools",
    "distutils",
    "venv",
    "ensurepip",
    "idlelib",
    "pydoc",
    "builtins.__import__",
    "gc",
    "inspect",
    "linecache",
    "tkinter",
    "turtle",
    "zipfile",
    "tarfile",
    "lzma",
    "bz2",
    "gzip",
    "mmap",
    "resource",
    "logging.config",
    "logging.handlers",         /* file, socket, SMTP, HTTP and syslog handlers */
    "logging.FileHandler",      /* opens (creates) a file */
    "logging.basicConfig",      /* filename= opens a file */
    "_osx_support",             /* _read_output and friends run shell commands */
    "_aix_support",             /* runs commands */
    "_pyio",                    /* open */
    "_pyrepl",                  /* pagers run shell commands */
    "_sitebuiltins",            /* help() runs pydoc's pager */
    "concurrent",               /* process and thread pools call what they are given */
    "dataclasses._create_fn",   /* builds functions with exec */
    "dataclasses._FuncBuilder", /* the same, Python 3.13 */
    "typing._eval_type",        /* eval of string annotations */
    "typing.get_type_hints",    /* the same */
    "typing.ForwardRef",        /* _evaluate evals its string */
    "typing.evaluate_forward_ref",
    "annotationlib",    /* evaluates annotations */
    "string.Formatter", /* get_field/format walk attributes of their arguments */
    "http.client",
    "http.server",
    "http.cookiejar", /* load/save cookie files */
    "urllib.request",
    "urllib.robotparser",       /* fetches robots.txt */
    "uuid._get_command_stdout", /* runs a command */
    "uuid._popen",
    "uuid.getnode", /* runs ifconfig/ip/arp/netstat */
    "uuid._find_mac",
    "uuid._find_mac_near_keyword",
    "uuid._find_mac_under_heading",
    "uuid._ifconfig_getnode",
    "uuid._ip_getnode",
    "uuid._arp_getnode",
    "uuid._lanscan_getnode",
    "uuid._netstat_getnode",
    "uuid.uuid1",            /* getnode */
    "platform.popen",        /* Python 2/3.7 popen */
    "platform.architecture", /* runs file(1) */
    "platform._syscmd_file",
    "platform._syscmd_ver",
    "platform._syscmd_uname",
    "platform.libc_ver",                /* reads an executable */
    "tokenize.open",                    /* opens a file */
    "torch.testing._internal",          /* test helpers that run processes */
    "torch.utils.collect_env",          /* run() executes a shell command */
    "torch.utils.hipify",               /* rewrites files */
    "torch.cuda.memory._dump_snapshot", /* writes a file */
    "torch.backends._nnapi",            /* compiles and runs TorchScript */
    "yaml",
    "jsonpickle",
    "pandas.io",
    "keras",
    "tensorflow",
    "torch.hub",
    "torch.jit",
    "torch.package",
    "torch.utils.cpp_extension",
    "torch.distributed",
    "torch._dynamo",
    "torch._inductor",
    "torch.fx",
    "torch.ops",
    "torch._ops",
    "torch.multiprocessing",
    "torch.utils.data",
    "torch.utils.bottleneck",
    "numpy.f2py",
    "numpy.distutils",
    "numpy.testing",
    "numpy.lib.npyio",
    "numpy.ctypeslib",
    "numpy.core.memmap", /* memmap(filename) opens a file (numpy.memmap as data: see data_classes)
                          */
    "numpy._core.memmap",
    "numpy.load",
    "joblib.load",
    "joblib.numpy_pickle.load",
    "joblib.parallel",
    "joblib._store_backends",
    "operator",
    "_operator",
    "functools",
    "_codecs.open",
    "codecs",
    "asyncore",
    "cgi",
    "cgitb",
    "compileall",
    "py_compile",
    "selectors",
    "select",
    "ssl",
    "_ssl",
    "wsgiref",
    "xml.sax",
    "xml.dom",
    "configparser",
    "netrc",
    "mailbox",
    "mailcap",
    "smtpd",
    "imghdr",
    "sndhdr",
    "spwd",
    "pwd",
    "grp",
    "termios",
    "tty",
    "fcntl",
    "readline",
    "rlcompleter",
    "_frozen_importlib",
    "_frozen_importlib_external",
    "_imp",
};

static const char *const deny_names[] = {
    "builtins.eval",
    "builtins.exec",
    "builtins.execfile",
    "builtins.compile",
    "builtins.open",
    "builtins.getattr",
    "builtins.setattr",
    "builtins.delattr",
    "builtins.hasattr",
    "builtins.__import__",
    "builtins.input",
    "builtins.breakpoint",
    "builtins.globals",
    "builtins.locals",
    "builtins.vars",
    "builtins.help",
    "builtins.memoryview",
    "builtins.exit",
    "builtins.quit",
    "builtins.type",
    "builtins.super",
    "builtins.classmethod",
    "builtins.staticmethod",
    "builtins.property",
    "builtins.map",
    "builtins.filter",
    "builtins.apply",
    "torch.load",
    "torch.serialization.load",
    "torch.storage._load_from_bytes",
    "torch._C._jit_compile",
    "torch.classes",
    "torch.Tensor.__reduce_ex__",
    "numpy.load",
    "numpy.loads",
    "numpy.fromfile",
    "numpy.memmap",
    "numpy.save",
    "numpy.savetxt",
    "numpy.loadtxt",
    "numpy.genfromtxt",
    "pandas.read_pickle",
    "pandas.read_csv",
    "pandas.eval",
    "pandas.core.computation.eval.eval",
    "joblib.load",
    "yaml.load",
    "yaml.unsafe_load",
    "yaml.full_load",
    "builtins.str.format", /* format strings walk attributes ("{0.__globals__}") */
    "builtins.str.format_map",
    "_codecs.open",
};

/* Attribute names that only ever serve attribute-walking gadgets. */
static const char *const deny_attrs[] = {
    "__globals__", "__builtins__", "__subclasses__", "__code__", "__closure__", "__getattribute__",
    "__getattr__", "__import__",   "__loader__",     "__spec__", "__reduce__",  "__reduce_ex__",
    "__class__",   "__base__",     "__bases__",      "__mro__",  "__dict__",    "__init__",
    "__new__",     "__call__",     "__func__",       "__self__", "__module__",
};

/* "module.name" into full; returns its length, or 0 when it does not fit. */
static size_t join_name(const char *module, const char *name, char *full, size_t size)
{
    size_t ml = strlen(module), nl = strlen(name);
    if (ml + nl + 2 > size)
        return 0;
    memcpy(full, module, ml);
    full[ml] = '.';
    memcpy(full + ml + 1, name, nl + 1);
    return ml + 1 + nl;
}

static int in_list(const char *const *list, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0)
            return 1;
    return 0;
}
#define IN(list, s, len) in_list(list, sizeof(list) / sizeof(list[0]), s, len)

/* H3: the globals torch.jit.load's unpickler (torch/csrc/jit/serialization/unpickler.cpp
 * Unpickler::readGlobal) resolves itself; any other name is looked up as a class compiled from
 * the archive's code/ folder (judged as not allowed: the archive itself is ST318). */
static const char *const torchscript_allow[] = {
    "__main__.TensorID",
    "__main__.IntList",
    "torch.jit._pickle.build_tensor_from_id",
    "torch.jit._pickle.restore_type_tag",
    "torch.jit._pickle.build_intlist",
    "torch.jit._pickle.build_tensorlist",
    "torch.jit._pickle.build_doublelist",
    "torch.jit._pickle.build_boollist",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_qtensor",
    "torch._utils._rebuild_sparse_tensor",
    "builtins.complex",
    "collections.OrderedDict",
    "torch.device",
};

/* Is the dotted path p (len bytes) denied: every prefix at a '.' boundary and the whole. */
static int path_denied(const char *p, size_t len)
{
    for (size_t i = 0; i <= len; i++) {
        if (i < len && p[i] != '.')
            continue;
        if (IN(deny_modules, p, i) || IN(deny_names, p, i))
            return 1;
    }
    return 0;
}

/* A policy entry matches "module.name" exactly, or ends in ".*" and matches its module and
 * every submodule (module == prefix, or module begins with "prefix."). */
static int policy_match(const st_strlist *l, const char *module, const char *full, size_t fl)
{
    for (size_t i = 0; i < l->n; i++) {
        const char *e = l->v[i];
        size_t el = strlen(e);
        if (el >= 2 && e[el - 1] == '*') {
            size_t pl = el - 2; /* without ".*" */
            if (strncmp(module, e, pl) == 0 && (module[pl] == '\0' || module[pl] == '.'))
                return 1;
        } else if (el == fl && memcmp(e, full, fl) == 0) {
            return 1;
        }
    }
    return 0;
}

static int builtin_denied(const char *module, const char *name, const char *full, size_t fl)
{
    size_t ml = strlen(module), nl = strlen(name);
    /* Denied: the module path, the full path, any attribute on the walk, and for dotted
     * qualnames (protocol >= 4) the qualname's own components, since getattr walks reach
     * re-exported modules (pathlib + "os.system" is os.system). */
    if (path_denied(full, fl) || path_denied(module, ml))
        return 1;
    for (const char *c = name; *c;) {
        const char *dot = strchr(c, '.');
        size_t cl = dot ? (size_t)(dot - c) : strlen(c);
        if (IN(deny_attrs, c, cl))
            return 1;
        c = dot ? dot + 1 : c + cl;
    }
    return strchr(name, '.') != NULL && path_denied(name, nl);
}

st_pk_judgement st_pk_judge(const st_ctx *ctx, st_pk_profile profile, const char *module,
                            const char *name)
{
    char full[2 * ST_PK_NAME_MAX + 2];
    size_t fl = join_name(module, name, full, sizeof(full));
    if (fl == 0)
        return ST_PK_SUSPICIOUS;
    if (ctx != NULL && policy_match(&ctx->pk_deny, module, full, fl))
        return ST_PK_MALICIOUS;
    /* H3: torch.jit.load's unpickler resolves these names itself (no import), so the
     * denylist's "torch.jit" does not apply to them */
    if (profile == ST_PK_PROFILE_TORCHSCRIPT && (ctx == NULL || !ctx->pk_replace_allow) &&
        IN(torchscript_allow, full, fl))
        return ST_PK_ALLOWED;
    if ((ctx == NULL || !ctx->pk_replace_deny) && builtin_denied(module, name, full, fl))
        return ST_PK_MALICIOUS;
    if (ctx == NULL || !ctx->pk_replace_allow) {
        if (IN(torch_allow, full, fl))
            return ST_PK_ALLOWED;
        if (profile == ST_PK_PROFILE_DATA && IN(data_allow, full, fl))
            return ST_PK_ALLOWED;
    }
    if (ctx != NULL && policy_match(&ctx->pk_allow, module, full, fl))
        return ST_PK_ALLOWED;
    return ST_PK_SUSPICIOUS;
}

int st_pk_is_container_type(const char *module, const char *name)
{
    char full[2 * ST_PK_NAME_MAX + 2];
    size_t fl = join_name(module, name, full, sizeof(full));
    return fl > 0 && IN(container_types, full, fl);
}

int st_pk_is_data_class(const st_ctx *ctx, st_pk_profile profile, const char *module,
                        const char *name)
{
    char full[2 * ST_PK_NAME_MAX + 2];
    size_t fl = join_name(module, name, full, sizeof(full));
    if (fl == 0 || profile != ST_PK_PROFILE_DATA || (ctx != NULL && ctx->pk_replace_allow))
        return 0;
    if (ctx != NULL && policy_match(&ctx->pk_deny, module, full, fl))
        return 0;
    return IN(data_classes, full, fl);
}

st_pk_recon st_pk_reconstructor(const char *full)
{
    for (size_t i = 0; i < sizeof(reconstructors) / sizeof(reconstructors[0]); i++)
        if (strcmp(reconstructors[i].name, full) == 0)
            return reconstructors[i].kind;
    return ST_PK_RECON_NONE;
}

/* A built-in allowlist entry that the built-in denylist would catch: must be none, since the
 * denylist is consulted first (a test asserts it). Returns the first such entry, or NULL.
 * (numpy.memmap, a data class, is denied on purpose: called, it opens a file.) */
const char *st_pk_allow_deny_overlap(void)
{
    static const char *const *lists[] = {torch_allow, data_allow};
    static const size_t sizes[] = {sizeof(torch_allow) / sizeof(torch_allow[0]),
                                   sizeof(data_allow) / sizeof(data_allow[0])};
    for (size_t l = 0; l < 2; l++)
        for (size_t i = 0; i < sizes[l]; i++) {
            const char *e = lists[l][i], *dot = strrchr(e, '.');
            char module[2 * ST_PK_NAME_MAX + 2];
            size_t ml = (size_t)(dot - e);
            memcpy(module, e, ml);
            module[ml] = '\0';
            if (builtin_denied(module, dot + 1, e, strlen(e)))
                return e;
        }
    return NULL;
}

/* Storage classes and their element sizes, for persistent ids. */
static const struct {
    const char *name;
    unsigned size;
} storages[] = {
    {"torch.DoubleStorage", 8},
    {"torch.FloatStorage", 4},
    {"torch.HalfStorage", 2},
    {"torch.LongStorage", 8},
    {"torch.IntStorage", 4},
    {"torch.ShortStorage", 2},
    {"torch.CharStorage", 1},
    {"torch.ByteStorage", 1},
    {"torch.BoolStorage", 1},
    {"torch.BFloat16Storage", 2},
    {"torch.ComplexDoubleStorage", 16},
    {"torch.ComplexFloatStorage", 8},
    {"torch.QUInt8Storage", 1},
    {"torch.QInt8Storage", 1},
    {"torch.QInt32Storage", 4},
    {"torch.QUInt4x2Storage", 1},
    {"torch.QUInt2x4Storage", 1},
    {"torch.storage.UntypedStorage", 1},
    {"torch.UntypedStorage", 1},
    /* legacy checkpoints (before PyTorch 1.6) name the CUDA storage type of CUDA tensors */
    {"torch.cuda.DoubleStorage", 8},
    {"torch.cuda.FloatStorage", 4},
    {"torch.cuda.HalfStorage", 2},
    {"torch.cuda.LongStorage", 8},
    {"torch.cuda.IntStorage", 4},
    {"torch.cuda.ShortStorage", 2},
    {"torch.cuda.CharStorage", 1},
    {"torch.cuda.ByteStorage", 1},
    {"torch.cuda.BoolStorage", 1},
    {"torch.cuda.BFloat16Storage", 2},
    {"torch.cuda.ComplexDoubleStorage", 16},
    {"torch.cuda.ComplexFloatStorage", 8},
};

unsigned st_pk_storage_elem_size(const char *module, const char *name)
{
    char full[2 * ST_PK_NAME_MAX + 2];
    if (join_name(module, name, full, sizeof(full)) == 0)
        return 0;
    for (size_t i = 0; i < sizeof(storages) / sizeof(storages[0]); i++)
        if (strcmp(storages[i].name, full) == 0)
            return storages[i].size;
    return 0;
}
