"""Recording unpicklers for the loader-differential oracle (issue #9).

Imported by oracle.py, which forks one child per (file, loader) after this module is loaded.
In the child, install() patches every unpickling entry point the real loaders use:

- pickle._Unpickler.find_class / get_extension (the pure-Python unpickler: joblib's
  NumpyUnpickler and ZipNumpyUnpickler subclass it, Lib/pickle.py _Unpickler.find_class);
- pickle.Unpickler / load / loads, replaced by RecUnpickler, a subclass of the C
  _pickle.Unpickler that overrides find_class (numpy.load(allow_pickle=True) calls
  pickle.load, numpy/lib/npyio.py load and format.py read_array; joblib's
  NumpyArrayWrapper.read_array hands object arrays to pickle.load);
- torch.load is called with pickle_module=REC_MODULE (torch/serialization.py _load and
  _legacy_load subclass pickle_module.Unpickler and call pickle_module.load);
- torch.jit.load (TorchScript archives, torch.load dispatches there) records and refuses.

Every global a loader resolves is recorded, after the Python-2 mapping the unpickler applies
inside find_class (Lib/_compat_pickle.py NAME_MAPPING / IMPORT_MAPPING). Only the globals in
TRUSTED (the reconstructors the allowlist trusts) are answered with real objects, resolved in the
parent before any input is read; everything else gets an inert Stub class whose call, new,
setstate, attribute, item and iteration protocols run nothing. copyreg extension codes (EXT1/2/4)
are recorded as ('<ext>', code) and answered with a stub as well.
"""
import _compat_pickle
import _pickle
import copyreg
import importlib
import io
import json
import os
import pickle
import types

# Globals answered with the real object so the loader reads the bytes exactly as it would.
# Union of stcheck's torch and data allowlists (src/formats/pickle_globals.c) plus joblib's
# old-format wrappers and numpy's own ndarray subclasses passed to _reconstruct. Nothing here
# opens files, imports or evaluates: constructors of tensors, arrays, dtypes and containers.
TRUSTED = [
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3", "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state", "torch._utils._rebuild_qtensor",
    "torch._utils._rebuild_sparse_tensor", "torch._utils._rebuild_meta_tensor_no_storage",
    "torch._utils._rebuild_nested_tensor", "torch._utils._rebuild_wrapper_subclass",
    "torch._tensor._rebuild_from_type_v2", "torch.nn.parameter.Parameter",
    "torch.serialization._get_layout", "torch.Size", "torch.Tensor", "torch.device",
    "_codecs.encode",
    "torch.storage.UntypedStorage", "torch.storage.TypedStorage", "torch.UntypedStorage",
] + ["torch.%s%s" % (t, k) for t in ("Double", "Float", "Half", "BFloat16", "Long", "Int", "Short",
                                     "Char", "Byte", "Bool")
     for k in ("Tensor", "Storage")] + [
    "torch.ComplexDoubleStorage", "torch.ComplexFloatStorage", "torch.QUInt8Storage",
    "torch.QInt8Storage", "torch.QInt32Storage", "torch.QUInt4x2Storage",
    "torch.QUInt2x4Storage",
] + ["torch." + d for d in (
    "float32 float float64 double float16 half bfloat16 uint8 int8 int16 short int32 int int64 "
    "long bool complex32 complex64 cfloat complex128 cdouble quint8 qint8 qint32 quint4x2 "
    "quint2x4 strided sparse_coo sparse_csr sparse_csc sparse_bsr sparse_bsc _mkldnn "
    "contiguous_format channels_last channels_last_3d preserve_format per_tensor_affine "
    "per_channel_affine per_tensor_symmetric per_channel_symmetric "
    "per_channel_affine_float_qparams").split()] + [
    "numpy.core.multiarray._reconstruct", "numpy.core.multiarray.scalar",
    "numpy.core.numeric._frombuffer", "numpy.ndarray", "numpy.dtype",
    "numpy.matrix", "numpy.recarray", "numpy.core.records.recarray",
    "numpy.ma.core._mareconstruct", "numpy.ma.core.MaskedArray",
    "joblib.numpy_pickle.NumpyArrayWrapper",
    "joblib.numpy_pickle_compat.NDArrayWrapper", "joblib.numpy_pickle_compat.ZNDArrayWrapper",
    "builtins.set", "builtins.frozenset", "builtins.complex", "builtins.slice",
    "builtins.bytearray",
]

_real = {}  # "module.name" -> object, filled by prepare() in the parent


def prepare():
    """Resolve the trusted globals once, in the parent, before any input is read."""
    for dotted in TRUSTED:
        module, _, name = dotted.rpartition(".")
        while module:
            try:
                obj = importlib.import_module(module)
                break
            except ImportError:
                module, _, head = module.rpartition(".")
                name = head + "." + name
        else:
            continue
        try:
            for part in name.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            continue
        _real[dotted] = obj
    # Every EXT1/EXT2 code, once, inherited by each child (only unpickling reads this map).
    for code in range(1, 65536):
        _register_ext(code)


# ---------------------------------------------------------------------------------------------
# Recording

_out_fd = None
_seen = set()


def _emit(rec):
    """Write one record to the parent at once, so a crash later keeps what was resolved."""
    line = (json.dumps(rec, sort_keys=True) + "\n").encode()
    if _out_fd is not None:
        os.write(_out_fd, line)


def begin(mode):
    """A new load in the same child: globals are recorded again for it."""
    _seen.clear()
    copyreg._extension_cache.clear()  # else the C unpickler answers a code without find_class
    _emit({"kind": "begin", "mode": mode})


def record_global(candidates, via):
    """candidates: the (module, name) pairs the loader may have resolved (one, or two when the
    C unpickler's protocol, which decides the Python-2 mapping, is not visible)."""
    key = tuple(tuple(c) for c in candidates)
    if key in _seen:
        return
    _seen.add(key)
    _emit({"kind": "global", "candidates": [list(c) for c in candidates], "via": via})


def py2_map(module, name):
    """Lib/pickle.py _Unpickler.find_class, fix_imports for protocols < 3."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    if module in _compat_pickle.IMPORT_MAPPING:
        return _compat_pickle.IMPORT_MAPPING[module], name
    return module, name


# ---------------------------------------------------------------------------------------------
# Inert stubs

def _dunder(name):
    return name.startswith("__") and name.endswith("__")


class _StubMeta(type):
    """Metaclass of every stub class: calling the class makes a bare instance (no __init__ of
    anything real), attribute access on the class gives another inert instance."""

    def __call__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __getattr__(cls, name):
        if _dunder(name):
            raise AttributeError(name)
        return Inert()

    def __repr__(cls):
        return "<oracle stub %s>" % cls.__qualname__


class Stub(metaclass=_StubMeta):
    """Instances do nothing: NEWOBJ (cls.__new__), REDUCE (call), BUILD (__setstate__),
    APPEND(S)/SETITEM(S)/ADDITEMS (attributes and items) all just return inert values."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass

    def __call__(self, *args, **kwargs):
        return Inert()

    def __getattr__(self, name):
        if _dunder(name):
            raise AttributeError(name)
        return Inert()

    def __setattr__(self, name, value):
        pass

    def __delattr__(self, name):
        pass

    def __getitem__(self, key):
        return Inert()

    def __setitem__(self, key, value):
        pass

    def __delitem__(self, key):
        pass

    def __bool__(self):
        return False

    def __len__(self):
        return 0

    def __iter__(self):
        return iter(())

    def __repr__(self):
        return "<oracle stub instance>"


class Inert(Stub):
    pass


def make_stub(module, name):
    # type.__new__ directly: _StubMeta.__call__ makes instances, not classes.
    return _StubMeta.__new__(_StubMeta, "stub", (Stub,),
                             {"__qualname__": "%s.%s" % (module, name), "__module__": "oracle"})


def answer(module, name):
    """The object find_class returns: the real one for trusted globals, else an inert stub."""
    if isinstance(module, str) and isinstance(name, str):
        obj = _real.get(module + "." + name)
        if obj is not None:
            return obj
    return make_stub(str(module), str(name))


# ---------------------------------------------------------------------------------------------
# The pure-Python unpickler (pickle._Unpickler and joblib's subclasses)

def _py_find_class(self, module, name):
    if self.proto < 3 and self.fix_imports:
        module, name = py2_map(module, name)
    record_global([(module, name)], "pickle._Unpickler")
    return answer(module, name)


def _py_get_extension(self, code):
    record_global([("<ext>", str(code))], "pickle._Unpickler")
    key = copyreg._inverted_registry.get(code)
    if key and key[0] != "<ext>":
        self.append(self.find_class(*key))
    else:
        self.append(make_stub("<ext>", str(code)))


# ---------------------------------------------------------------------------------------------
# The C unpickler (pickle.Unpickler, pickle.load/loads, torch's pickle_module)

def _register_ext(code):
    if code > 0 and code not in copyreg._inverted_registry:
        copyreg._inverted_registry[code] = ("<ext>", str(code))


class _ScanFile:
    """The file the C unpickler reads. The C unpickler looks EXT codes up in the dict
    copyreg._inverted_registry directly (_pickle.c load_extension), so a code must be registered
    before it is looked up: EXT1/EXT2 codes are all registered by prepare(), and every 4-byte
    value that follows a 0x84 (EXT4) byte in what the unpickler reads is registered as it
    passes. Registering more codes than are used only lets the load go further than for real."""

    def __init__(self, f):
        self._f = f
        self._tail = b""
        if hasattr(f, "peek"):
            self.peek = self._peek
        if hasattr(f, "readinto"):
            self.readinto = self._readinto

    def _scan(self, data):
        buf = self._tail + bytes(data)
        i = buf.find(b"\x84")
        while i != -1 and i + 5 <= len(buf):
            _register_ext(int.from_bytes(buf[i + 1:i + 5], "little", signed=True))
            i = buf.find(b"\x84", i + 1)
        self._tail = buf[-4:]

    def read(self, *args):
        data = self._f.read(*args)
        self._scan(data)
        return data

    def readline(self, *args):
        data = self._f.readline(*args)
        self._scan(data)
        return data

    def _peek(self, *args):
        data = self._f.peek(*args)
        self._scan(data)
        return data

    def _readinto(self, buf):
        n = self._f.readinto(buf)
        if n:
            self._scan(memoryview(buf)[:n])
        return n


class RecUnpickler(_pickle.Unpickler):
    def __init__(self, file, *args, **kwargs):
        super().__init__(_ScanFile(file), *args, **kwargs)

    def find_class(self, module, name):
        if module == "<ext>":
            record_global([("<ext>", str(name))], "_pickle.Unpickler")
            return make_stub("<ext>", str(name))
        # The C unpickler does not expose its protocol, which decides whether fix_imports
        # maps the name: record both readings when they differ.
        cands = [(module, name)]
        mapped = py2_map(module, name) if isinstance(module, str) and isinstance(name, str) \
            else (module, name)
        if mapped != (module, name):
            cands.append(mapped)
        record_global(cands, "_pickle.Unpickler")
        for m, n in cands:
            if isinstance(m, str) and isinstance(n, str) and (m + "." + n) in _real:
                return _real[m + "." + n]
        return make_stub(str(module), str(name))


def rec_load(file, **kwargs):
    return RecUnpickler(file, **kwargs).load()


def rec_loads(data, **kwargs):
    return RecUnpickler(io.BytesIO(data), **kwargs).load()


REC_MODULE = types.ModuleType("oracle_pickle")
REC_MODULE.Unpickler = RecUnpickler
REC_MODULE.load = rec_load
REC_MODULE.loads = rec_loads
REC_MODULE.__version__ = "0"


def _refuse_torchscript(*args, **kwargs):
    record_global([("<torchscript>", "torch.jit.load")], "torch.load")
    raise RuntimeError("oracle: TorchScript archives are never loaded")


def install(out_fd):
    """Patch every entry point (in the forked child only)."""
    global _out_fd
    _out_fd = out_fd
    pickle._Unpickler.find_class = _py_find_class
    pickle._Unpickler.get_extension = _py_get_extension
    pickle.Unpickler = RecUnpickler
    pickle.load = rec_load
    pickle.loads = rec_loads
    try:
        import torch.jit
        torch.jit.load = _refuse_torchscript
    except ImportError:
        pass


# ---------------------------------------------------------------------------------------------
# The loaders, called as a user of each would call them

def load_torch(path):
    import torch
    torch.load(path, map_location="cpu", pickle_module=REC_MODULE)


def load_numpy(path):
    import numpy
    obj = numpy.load(path, allow_pickle=True)
    if isinstance(obj, numpy.lib.npyio.NpzFile):
        with obj:
            for key in obj.files:
                obj[key]


def load_joblib(path):
    import joblib
    joblib.load(path)


def load_joblib_mmap(path):
    import joblib
    joblib.load(path, mmap_mode="r")


def load_pickle(path):
    with open(path, "rb") as f:
        pickle.load(f)


def load_pickle_py(path):
    with open(path, "rb") as f:
        pickle._Unpickler(f).load()


LOADERS = {
    "torch": load_torch,
    "numpy": load_numpy,
    "joblib": load_joblib,
    "joblib-mmap": load_joblib_mmap,
    "pickle": load_pickle,
    "pickle-py": load_pickle_py,
}
