"""PyTorch checkpoints (``.bin``, ``.pt``, ``.pth``), read without unpickling anything.

Unpickling a checkpoint runs whatever code its pickle names, so this module never does it: it
neither imports ``torch`` nor calls ``pickle.load``. What it reads:

- Since PyTorch 1.6, ``torch.save`` writes a zip archive (``<name>/data.pkl``, the pickled
  object; ``<name>/data/<key>``, one entry per storage, uncompressed; ``<name>/version`` or
  ``.data/version``; ``byteorder``). The zip's central directory gives every storage's size in
  bytes, so the weight bytes are known without reading them.
- ``data.pkl`` is scanned with :func:`pickletools.genops`, which only decodes opcodes and their
  arguments, and the opcodes are followed *symbolically*: ``GLOBAL torch._utils
  _rebuild_tensor_v2`` becomes an inert record of that name, ``REDUCE`` an inert record of a
  call with its arguments; nothing is imported, looked up or called. The storages the pickle
  refers to (``BINPERSID ('storage', torch.BFloat16Storage, '0', 'cpu', numel)``) give each
  storage's dtype and element count, and the ``_rebuild_tensor*`` records under dictionary
  keys give tensor names, shapes and dtypes — enough for parameter counts and the
  architecture census.

Everything else in the pickle (optimizer state values, custom classes, TorchScript code) is
not interpreted: it needs a safe format (safetensors). A pre-1.6 checkpoint (a bare pickle
stream followed by raw storages) cannot be read at all without unpickling, and is refused with
that advice.

:attr:`PyTorchHeader.fingerprint` is a SHA-256 over ``data.pkl`` and the archive's entry names
and sizes — not the CRCs, which change with the weights — so rewriting weights in place leaves
it unchanged and any change to the pickled structure, tensor names or storage sizes changes it.

Example:
    >>> import io, zipfile
    >>> glob = lambda module, name: b"c" + module + b"\\n" + name + b"\\n"  # GLOBAL
    >>> text = lambda t: b"X" + len(t).to_bytes(4, "little") + t  # BINUNICODE
    >>> # {"w": _rebuild_tensor_v2(<storage "0": 6 x HalfStorage>, 0, (2, 3), (3, 1), False, ())}
    >>> pkl = (b"\\x80\\x02}" + text(b"w") + glob(b"torch._utils", b"_rebuild_tensor_v2")
    ...        + b"((" + text(b"storage") + glob(b"torch", b"HalfStorage") + text(b"0")
    ...        + text(b"cpu") + b"K\\x06tQK\\x00K\\x02K\\x03\\x86K\\x03K\\x01\\x86\\x89)tRs.")
    >>> buf = io.BytesIO()
    >>> with zipfile.ZipFile(buf, "w") as z:
    ...     z.writestr("archive/data.pkl", pkl); z.writestr("archive/data/0", bytes(12))
    >>> h = read_header(buf, size=len(buf.getvalue()))
    >>> h.params, h.dtypes, [(t.name, t.shape, t.dtype) for t in h.tensors]
    (6, {'F16': 6}, [('w', (2, 3), 'F16')])
"""

from __future__ import annotations

import hashlib
import pickletools
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from core.errors import AnalysisError

MAX_PICKLE_BYTES = 64 * 1024 * 1024
"""A ``data.pkl`` larger than this is not scanned (state dicts of the largest models: ~20 MB)."""
MAX_OPCODES = 20_000_000
MAX_WALK = 5_000_000

SAFE_FORMAT_NOTE = (
    "nothing was unpickled: only the zip directory and the pickle's opcodes were read; "
    "anything beyond tensor names, shapes and dtypes needs a safe format (convert to safetensors)"
)
LEGACY_MESSAGE = (
    "legacy PyTorch pickle (pre-1.6 format): it cannot be read safely without unpickling, "
    "which can run arbitrary code; convert it to safetensors"
)

_STORAGE_DTYPES: Mapping[str, str] = {
    "FloatStorage": "F32",
    "DoubleStorage": "F64",
    "HalfStorage": "F16",
    "BFloat16Storage": "BF16",
    "LongStorage": "I64",
    "IntStorage": "I32",
    "ShortStorage": "I16",
    "CharStorage": "I8",
    "ByteStorage": "U8",
    "BoolStorage": "BOOL",
    "ComplexFloatStorage": "C64",
    "ComplexDoubleStorage": "C128",
    "QInt8Storage": "QI8",
    "QUInt8Storage": "QU8",
    "QInt32Storage": "QI32",
    "QUInt4x2Storage": "QU4x2",
    "QUInt2x4Storage": "QU2x4",
}
"""``torch.<X>Storage`` class name -> dtype name (safetensors spelling where one exists)."""

_TORCH_DTYPES: Mapping[str, str] = {
    "float32": "F32",
    "float": "F32",
    "float64": "F64",
    "double": "F64",
    "float16": "F16",
    "half": "F16",
    "bfloat16": "BF16",
    "int64": "I64",
    "long": "I64",
    "int32": "I32",
    "int": "I32",
    "int16": "I16",
    "short": "I16",
    "int8": "I8",
    "uint8": "U8",
    "uint16": "U16",
    "uint32": "U32",
    "uint64": "U64",
    "bool": "BOOL",
    "complex64": "C64",
    "complex128": "C128",
    "float8_e4m3fn": "F8_E4M3",
    "float8_e5m2": "F8_E5M2",
    "float8_e4m3fnuz": "F8_E4M3FNUZ",
    "float8_e5m2fnuz": "F8_E5M2FNUZ",
    "float8_e8m0fnu": "F8_E8M0",
}
"""``torch.<dtype>`` attribute name -> dtype name."""

ITEM_SIZES: Mapping[str, int] = {
    "F32": 4, "F64": 8, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
    "U16": 2, "U32": 4, "U64": 8, "BOOL": 1, "C64": 8, "C128": 16, "QI8": 1, "QU8": 1,
    "QI32": 4, "QU4x2": 1, "QU2x4": 1, "F8_E4M3": 1, "F8_E5M2": 1, "F8_E4M3FNUZ": 1,
    "F8_E5M2FNUZ": 1, "F8_E8M0": 1,
}  # fmt: skip
"""Bytes per storage element."""

_TENSOR_REBUILDERS = frozenset(
    {"_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_qtensor"}
)
_PARAMETER_REBUILDERS = frozenset({"_rebuild_parameter", "_rebuild_parameter_with_state"})
_MODULE_INTERNALS = frozenset({"_parameters", "_buffers", "_modules"})


@dataclass(frozen=True)
class TorchStorage:
    """One storage: ``data/<key>`` in the archive.

    Attributes:
        key: The storage key (the entry name under ``data/``).
        dtype: Element type, when the pickle says (a typed storage or a ``v3`` tensor).
        numel: Elements, when known.
        nbytes: The entry's size in the archive (None when the entry is missing).
        location: Device it was saved from (``cpu``, ``cuda:0``).
    """

    key: str
    dtype: str | None
    numel: int | None
    nbytes: int | None
    location: str | None = None


@dataclass(frozen=True)
class TorchTensor:
    """One tensor the pickle describes: its dotted key path, shape and storage."""

    name: str
    shape: tuple[int, ...]
    dtype: str | None
    storage: str
    offset: int = 0


@dataclass(frozen=True)
class PyTorchHeader:
    """What can be read safely from a zip-format PyTorch checkpoint.

    Attributes:
        archive: The archive's top folder (``archive``, or the saved file's stem).
        format_version: Contents of ``version`` / ``.data/version``.
        byteorder: Contents of ``byteorder`` (``little``), when present.
        entries: Entries in the zip.
        storage_bytes: Bytes over all ``data/<key>`` entries (the weights, exactly).
        storages: Every storage the pickle refers to (or, unscanned, every data entry).
        tensors: Tensors found under dictionary keys, in pickle order.
        params: Elements over the distinct storages, None when some storage's dtype is unknown.
        dtypes: Elements per dtype.
        bytes_by_dtype: Bytes per dtype.
        pickle_bytes: Size of ``data.pkl``.
        scanned: The pickle's opcodes were scanned (False: too large, or malformed).
        torchscript: The archive holds TorchScript code (``code/``, ``constants.pkl``).
        fingerprint: SHA-256 (hex) of ``data.pkl`` plus entry names and sizes.
        file_size: Bytes in the file.
        notes: Caveats, always including :data:`SAFE_FORMAT_NOTE`.
    """

    archive: str
    format_version: str | None
    byteorder: str | None
    entries: int
    storage_bytes: int
    storages: tuple[TorchStorage, ...] = field(repr=False)
    tensors: tuple[TorchTensor, ...] = field(repr=False)
    params: int | None
    dtypes: dict[str, int]
    bytes_by_dtype: dict[str, int]
    pickle_bytes: int
    scanned: bool
    torchscript: bool
    fingerprint: str
    file_size: int
    notes: tuple[str, ...] = ()

    @property
    def dominant_dtype(self) -> str | None:
        """The dtype holding the most bytes, None when unknown."""
        if not self.bytes_by_dtype:
            return None
        return max(self.bytes_by_dtype.items(), key=lambda kv: (kv[1], kv[0]))[0]


# -- the symbolic pickle machine ---------------------------------------------------------------


@dataclass(frozen=True)
class _Global:
    """``GLOBAL module name``: a name only, never resolved."""

    module: str
    name: str


@dataclass(eq=False)
class _Obj:
    """The result of ``REDUCE``/``NEWOBJ``/``INST``: a call never made, with what was set on it."""

    func: Any
    args: Any
    items: dict[Any, Any] = field(default_factory=dict)
    appended: list[Any] = field(default_factory=list)
    state: Any = None


@dataclass(eq=False)
class _Persistent:
    """``BINPERSID``: a reference to data outside the pickle (a storage)."""

    pid: Any


class _Opaque:
    """A value not kept (large bytes, extension codes, out-of-band buffers)."""


class _Mark:
    pass


_MARK = _Mark()
_LITERALS = frozenset(
    {"INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "STRING", "BINSTRING",
     "SHORT_BINSTRING", "UNICODE", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "FLOAT",
     "BINFLOAT"}
)  # fmt: skip
_BYTES = frozenset({"BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8"})


class _Malformed(Exception):
    pass


def _hashable(key: Any) -> Any:
    try:
        hash(key)
    except TypeError:
        return f"<unhashable {type(key).__name__}>"
    return key


def _set_item(target: Any, key: Any, value: Any) -> None:
    if isinstance(target, dict):
        target[_hashable(key)] = value
    elif isinstance(target, _Obj):
        target.items[_hashable(key)] = value


def _append(target: Any, values: list[Any]) -> None:
    if isinstance(target, list):
        target.extend(values)
    elif isinstance(target, _Obj):
        target.appended.extend(values)


def _memo_key(arg: Any) -> int:
    if not isinstance(arg, int):
        raise _Malformed(f"bad memo key {arg!r}")
    return arg


def _scan(data: bytes) -> tuple[Any, list[_Persistent]]:
    """Follow the opcodes of ``data`` symbolically; return the top object and every storage ref.

    Raises:
        _Malformed: The opcode stream is malformed or exceeds the limits.
    """
    stack: list[Any] = []
    metastack: list[list[Any]] = []
    memo: dict[int, Any] = {}
    persistent: list[_Persistent] = []

    def pop() -> Any:
        if not stack:
            raise _Malformed("stack underflow")
        return stack.pop()

    def pop_mark() -> list[Any]:
        nonlocal stack
        if not metastack:
            raise _Malformed("MARK missing")
        items, stack = stack, metastack.pop()
        return items

    def top() -> Any:
        if not stack:
            raise _Malformed("stack underflow")
        return stack[-1]

    count = 0
    try:
        for opcode, arg, _pos in pickletools.genops(data):
            count += 1
            if count > MAX_OPCODES:
                raise _Malformed(f"more than {MAX_OPCODES:,} opcodes")
            name = opcode.name
            if name in _LITERALS:
                stack.append(arg)
            elif name in _BYTES:
                stack.append(
                    arg if isinstance(arg, bytes | bytearray) and len(arg) <= 64 else _Opaque()
                )
            elif name == "NONE":
                stack.append(None)
            elif name == "NEWTRUE":
                stack.append(True)
            elif name == "NEWFALSE":
                stack.append(False)
            elif name == "MARK":
                metastack.append(stack)
                stack = []
            elif name == "POP":
                if stack:
                    stack.pop()
                else:
                    pop_mark()
            elif name == "POP_MARK":
                pop_mark()
            elif name == "DUP":
                stack.append(top())
            elif name == "EMPTY_TUPLE":
                stack.append(())
            elif name == "TUPLE":
                items = pop_mark()  # first: pop_mark rebinds ``stack``
                stack.append(tuple(items))
            elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                n = int(name[-1])
                if len(stack) < n:
                    raise _Malformed("stack underflow")
                items = stack[-n:]
                del stack[-n:]
                stack.append(tuple(items))
            elif name in ("EMPTY_LIST", "EMPTY_SET"):
                stack.append([])
            elif name == "LIST":
                items = pop_mark()
                stack.append(items)
            elif name == "FROZENSET":
                items = pop_mark()  # first: pop_mark rebinds ``stack``
                stack.append(tuple(items))
            elif name == "APPEND":
                value = pop()
                _append(top(), [value])
            elif name in ("APPENDS", "ADDITEMS"):
                values = pop_mark()
                _append(top(), values)
            elif name == "EMPTY_DICT":
                stack.append({})
            elif name == "DICT":
                items = pop_mark()
                stack.append(
                    {_hashable(k): v for k, v in zip(items[::2], items[1::2], strict=False)}
                )
            elif name == "SETITEM":
                value = pop()
                key = pop()
                _set_item(top(), key, value)
            elif name == "SETITEMS":
                items = pop_mark()
                target = top()
                for k, v in zip(items[::2], items[1::2], strict=False):
                    _set_item(target, k, v)
            elif name in ("GLOBAL", "INST"):
                module, _, attr = str(arg).partition(" ")
                glob = _Global(module, attr)
                if name == "INST":
                    items = pop_mark()
                    stack.append(_Obj(glob, tuple(items)))
                else:
                    stack.append(glob)
            elif name == "STACK_GLOBAL":
                attr = pop()
                module = pop()
                stack.append(_Global(str(module), str(attr)))
            elif name == "REDUCE":
                args = pop()
                func = pop()
                stack.append(_Obj(func, args))
            elif name == "NEWOBJ":
                args = pop()
                cls = pop()
                stack.append(_Obj(cls, args))
            elif name == "NEWOBJ_EX":
                pop()  # kwargs
                args = pop()
                cls = pop()
                stack.append(_Obj(cls, args))
            elif name == "OBJ":
                items = pop_mark()
                if not items:
                    raise _Malformed("OBJ without a class")
                stack.append(_Obj(items[0], tuple(items[1:])))
            elif name == "BUILD":
                state = pop()
                target = top()
                if isinstance(target, _Obj):
                    target.state = state
                elif isinstance(target, dict) and isinstance(state, dict):
                    target.update(state)
            elif name in ("PERSID", "BINPERSID"):
                ref = _Persistent(arg if name == "PERSID" else pop())
                persistent.append(ref)
                stack.append(ref)
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[_memo_key(arg)] = top()
            elif name == "MEMOIZE":
                memo[len(memo)] = top()
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                key = _memo_key(arg)
                if key not in memo:
                    raise _Malformed(f"memo key {key} missing")
                stack.append(memo[key])
            elif name in ("EXT1", "EXT2", "EXT4", "NEXT_BUFFER"):
                stack.append(_Opaque())
            elif name in ("PROTO", "FRAME", "READONLY_BUFFER"):
                continue
            elif name == "STOP":
                return pop(), persistent
            else:
                raise _Malformed(f"unsupported opcode {name}")
    except ValueError as exc:  # genops: truncated or unknown opcode
        raise _Malformed(str(exc)) from None
    raise _Malformed("no STOP opcode")


def _storage_ref(ref: Any) -> tuple[str, str | None, int | None, str | None] | None:
    """``(key, dtype, numel, location)`` of a ``('storage', type, key, location, numel)`` ref."""
    pid = ref.pid if isinstance(ref, _Persistent) else None
    if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != "storage":
        return None
    storage_type, key, location, numel = pid[1], pid[2], pid[3], pid[4]
    dtype = None
    if isinstance(storage_type, _Global):
        dtype = _STORAGE_DTYPES.get(storage_type.name)
    return (
        str(key),
        dtype,
        numel if isinstance(numel, int) and not isinstance(numel, bool) else None,
        location if isinstance(location, str) else None,
    )


def _is_call(obj: Any, names: frozenset[str]) -> bool:
    return (
        isinstance(obj, _Obj)
        and isinstance(obj.func, _Global)
        and obj.func.module.startswith("torch")
        and obj.func.name in names
    )


def _tensor_of(obj: _Obj, name: str) -> TorchTensor | None:
    """A :class:`TorchTensor` from a ``_rebuild_tensor*`` record (None when malformed)."""
    args = obj.args
    if not isinstance(args, tuple) or len(args) < 3:
        return None
    ref = _storage_ref(args[0])
    shape = args[2]
    if ref is None or not isinstance(shape, tuple):
        return None
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        return None
    dtype = ref[1]
    if len(args) >= 7 and isinstance(args[6], _Global) and args[6].module == "torch":
        dtype = _TORCH_DTYPES.get(args[6].name, dtype)
    offset = args[1] if isinstance(args[1], int) else 0
    return TorchTensor(name, tuple(shape), dtype, ref[0], offset)


def _tensors(root: Any) -> list[TorchTensor]:
    """Every tensor record under dictionary keys (and object state), with its dotted path."""
    found: list[TorchTensor] = []
    seen: set[int] = set()
    todo: list[tuple[Any, tuple[str, ...]]] = [(root, ())]
    steps = 0
    while todo:
        steps += 1
        if steps > MAX_WALK:
            break
        obj, path = todo.pop()
        if _is_call(obj, _PARAMETER_REBUILDERS) and isinstance(obj.args, tuple) and obj.args:
            obj = obj.args[0]
        if _is_call(obj, _TENSOR_REBUILDERS):
            tensor = _tensor_of(obj, ".".join(path))
            if tensor is not None:
                found.append(tensor)
            continue
        if (
            _is_call(obj, frozenset({"_rebuild_from_type_v2"}))
            and isinstance(obj.args, tuple)
            and len(obj.args) >= 3
        ):
            inner = _Obj(obj.args[0], obj.args[2])
            if _is_call(inner, _TENSOR_REBUILDERS):
                tensor = _tensor_of(inner, ".".join(path))
                if tensor is not None:
                    found.append(tensor)
                continue
        if not isinstance(obj, dict | list | tuple | _Obj) or id(obj) in seen:
            continue
        seen.add(id(obj))
        children: list[tuple[Any, tuple[str, ...]]] = []
        if isinstance(obj, dict):
            children = [(v, (*path, str(k))) for k, v in obj.items()]
        elif isinstance(obj, list | tuple):
            children = [(v, (*path, str(i))) for i, v in enumerate(obj)]
        else:
            children = [(v, (*path, str(k))) for k, v in obj.items.items()]
            children += [(v, (*path, str(i))) for i, v in enumerate(obj.appended)]
            if obj.state is not None:
                children.append((obj.state, path))
            if isinstance(obj.args, tuple) and obj.args:
                children.append((obj.args, path))
        children = [(v, tuple(p for p in p_ if p not in _MODULE_INTERNALS)) for v, p_ in children]
        todo.extend(reversed(children))
    return found


# -- reading ----------------------------------------------------------------------------------


def _archive_root(names: list[str], where: str) -> str:
    roots = sorted(
        {n.split("/", 1)[0] for n in names if n.count("/") == 1 and n.endswith("/data.pkl")}
    )
    if not roots:
        raise AnalysisError(f"{where}: a zip archive without data.pkl: not a PyTorch checkpoint")
    return roots[0]


def _small_text(zf: zipfile.ZipFile, names: set[str], *candidates: str) -> str | None:
    for name in candidates:
        if name in names and zf.getinfo(name).file_size <= 64:
            return zf.read(name).decode("utf-8", errors="replace").strip()
    return None


def read_header(handle: IO[bytes], *, size: int, where: str = "<stream>") -> PyTorchHeader:
    """Read a zip-format PyTorch checkpoint from ``handle`` (``size`` bytes long).

    Raises:
        AnalysisError: One line naming ``where``: a legacy (non-zip) pickle, not a zip, a zip
            without ``data.pkl``, a truncated archive, or a storage without its data entry.
    """
    handle.seek(0)
    head = handle.read(16)
    handle.seek(0)
    if not head:
        raise AnalysisError(f"{where}: not a PyTorch checkpoint (empty file)")
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        raise AnalysisError(f"{where}: {LEGACY_MESSAGE}")
    if head[:4] in (b"lmgg", b"fmgg", b"tjgg"):
        raise AnalysisError(f"{where}: a legacy GGML file, not PyTorch; re-convert it to GGUF")
    if head[:4] != b"PK\x03\x04":
        raise AnalysisError(
            f"{where}: not a PyTorch checkpoint (starts with {head[:4]!r}; expected a zip "
            "archive, b'PK\\x03\\x04')"
        )
    try:
        zf = zipfile.ZipFile(handle)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise AnalysisError(f"{where}: truncated or corrupt zip archive ({exc})") from None
    with zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        root = _archive_root(names, where)
        name_set = set(names)
        pkl_info = zf.getinfo(f"{root}/data.pkl")
        data_prefix = f"{root}/data/"
        entry_sizes = {
            i.filename[len(data_prefix) :]: i.file_size
            for i in infos
            if i.filename.startswith(data_prefix) and not i.is_dir()
        }
        notes: list[str] = []
        compressed = [i.filename for i in infos if i.compress_type != zipfile.ZIP_STORED]
        if compressed:
            notes.append(f"{len(compressed)} compressed entries (torch writes them stored)")
        fingerprint = hashlib.sha256()
        scanned = False
        root_obj: Any = None
        refs: list[_Persistent] = []
        pickle_bytes = pkl_info.file_size
        if pickle_bytes > MAX_PICKLE_BYTES:
            notes.append(
                f"data.pkl is {pickle_bytes:,} bytes (over {MAX_PICKLE_BYTES:,}): not scanned; "
                "tensor names and dtypes unknown"
            )
            fingerprint.update(f"data.pkl\0{pickle_bytes}\n".encode())
        else:
            try:
                data = zf.read(pkl_info)
            except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                raise AnalysisError(f"{where}: truncated or corrupt data.pkl ({exc})") from None
            fingerprint.update(data)
            try:
                root_obj, refs = _scan(data)
                scanned = True
            except (_Malformed, RecursionError) as exc:
                notes.append(f"data.pkl could not be scanned ({exc}); tensor names unknown")
        for info in sorted(infos, key=lambda i: i.filename):
            fingerprint.update(f"{info.filename}\0{info.file_size}\n".encode())
        version = _small_text(zf, name_set, f"{root}/.data/version", f"{root}/version")
        byteorder = _small_text(zf, name_set, f"{root}/byteorder")
        torchscript = f"{root}/constants.pkl" in name_set or any(
            n.startswith(f"{root}/code/") for n in names
        )

    tensors = _tensors(root_obj) if scanned else []
    storages = _storages(refs, tensors, entry_sizes, scanned, where)
    params: int | None = 0
    dtypes: dict[str, int] = {}
    by_dtype: dict[str, int] = {}
    for s in storages:
        if s.dtype is None or s.numel is None:
            params = None
            continue
        dtypes[s.dtype] = dtypes.get(s.dtype, 0) + s.numel
        by_dtype[s.dtype] = by_dtype.get(s.dtype, 0) + (s.nbytes or 0)
        if params is not None:
            params += s.numel
        expected = s.numel * ITEM_SIZES.get(s.dtype, 0)
        if s.nbytes is not None and expected and s.nbytes != expected and len(notes) < 8:
            notes.append(
                f"storage {s.key}: {s.nbytes:,} bytes in the archive, {s.numel:,} {s.dtype} "
                f"elements need {expected:,}"
            )
    if params is None and storages:
        notes.append("some storages' dtypes are unknown: no parameter count")
    unreferenced = set(entry_sizes) - {s.key for s in storages}
    if scanned and unreferenced:
        notes.append(f"{len(unreferenced)} data entries the pickle does not refer to")
    if torchscript:
        notes.append("a TorchScript archive: its code is not read")
    notes.append(SAFE_FORMAT_NOTE)
    return PyTorchHeader(
        archive=root,
        format_version=version,
        byteorder=byteorder,
        entries=len(infos),
        storage_bytes=sum(entry_sizes.values()),
        storages=tuple(storages),
        tensors=tuple(tensors),
        params=params if storages else None,
        dtypes=dtypes,
        bytes_by_dtype=by_dtype,
        pickle_bytes=pickle_bytes,
        scanned=scanned,
        torchscript=torchscript,
        fingerprint=fingerprint.hexdigest(),
        file_size=size,
        notes=tuple(notes),
    )


def _storages(
    refs: list[_Persistent],
    tensors: list[TorchTensor],
    entry_sizes: Mapping[str, int],
    scanned: bool,
    where: str,
) -> list[TorchStorage]:
    """The distinct storages, with dtypes from typed refs or (untyped) from their tensors."""
    if not scanned:
        return [TorchStorage(k, None, None, n) for k, n in sorted(entry_sizes.items())]
    tensor_dtypes = {t.storage: t.dtype for t in tensors if t.dtype is not None}
    out: dict[str, TorchStorage] = {}
    for ref in refs:
        parsed = _storage_ref(ref)
        if parsed is None or parsed[0] in out:
            continue
        key, dtype, numel, location = parsed
        nbytes = entry_sizes.get(key)
        if nbytes is None:
            raise AnalysisError(
                f"{where}: truncated or corrupt: storage {key!r} has no data/{key} entry"
            )
        if dtype is None:  # an UntypedStorage: numel counts bytes
            dtype = tensor_dtypes.get(key)
            size = ITEM_SIZES.get(dtype or "", 0)
            numel = nbytes // size if size else None
        out[key] = TorchStorage(key, dtype, numel, nbytes, location)
    return list(out.values())


def is_zip(prefix: bytes) -> bool:
    """True when ``prefix`` (the first bytes of a file) starts a zip archive."""
    return prefix[:4] == b"PK\x03\x04"


def is_pickle(prefix: bytes) -> bool:
    """True when ``prefix`` starts a protocol 2-5 pickle (a legacy ``torch.save`` file)."""
    return prefix[:1] == b"\x80" and prefix[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")


def read_file(path: Path) -> PyTorchHeader:
    """Read one ``.bin``/``.pt``/``.pth`` checkpoint (zip format only).

    Raises:
        AnalysisError: As :func:`read_header`, or the file cannot be opened.
    """
    try:
        with path.open("rb") as handle:
            return read_header(handle, size=path.stat().st_size, where=str(path))
    except OSError as exc:
        raise AnalysisError(f"{path}: cannot read ({exc.strerror})") from None
