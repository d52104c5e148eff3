"""ONNX models: initializers (parameters, dtypes), the operator census, opsets and producer.

An ONNX file is one protobuf ``ModelProto`` (``onnx/onnx.proto``). This reader walks the
protobuf wire format itself, so the ``onnx`` package is not needed (it is an optional extra,
used only to cross-check in the tests). Only the messages that matter are descended into::

    ModelProto    1 ir_version  2 producer_name  3 producer_version  4 domain  5 model_version
                  7 graph  8 opset_import {1 domain, 2 version}  14 metadata_props {1 key, 2 value}
    GraphProto    1 node  2 name  5 initializer  15 sparse_initializer {1 values, 3 dims}
    NodeProto     4 op_type  7 domain  5 attribute {1 name, 5 t, 6 g, 10 tensors, 11 graphs}
    TensorProto   1 dims  2 data_type  8 name  9 raw_data  13 external_data  14 data_location
                  4/5/6/7/10/11 typed data

Tensor payloads (``raw_data`` and the typed ``*_data`` fields) are never read: their length
prefix is read and the file position moves past them with a seek, so the time taken depends on
the number of tensors and graph nodes, not on the bytes of weights — a 2 GB file with inline
weights reads a few hundred kilobytes. Protobuf fields may come in any order (``onnx`` writes
``opset_import`` after the graph), so the whole message is walked, skipping payloads.

Initializers with ``data_location = EXTERNAL`` (models over 2 GB keep their weights in side
files) are counted from their ``dims`` alone; the side files are only ``stat``-ed. Tensors held
by ``Constant`` nodes count as parameters too (``constant_params``); initializers of subgraphs
(``If``/``Loop`` bodies) are counted with the rest.

:attr:`OnnxHeader.fingerprint` is a SHA-256 over every byte the reader consumed: everything
except tensor payloads (and opaque fields over 1 MiB, hashed by their length only). Rewriting
the weights in place leaves it unchanged; any change to names, shapes, dtypes, nodes or
metadata changes it.

Example:
    >>> import io
    >>> def v(n):  # a protobuf varint
    ...     out = b""
    ...     while True:
    ...         out += bytes([n & 0x7F | (0x80 if n > 0x7F else 0)]); n >>= 7
    ...         if not n: return out
    >>> def ld(field, body): return v(field << 3 | 2) + v(len(body)) + body
    >>> dims = v(1 << 3) + v(4) + v(1 << 3) + v(8)  # dims 4, 8
    >>> tensor = dims + v(2 << 3) + v(1) + ld(8, b"w") + ld(9, bytes(128))  # FLOAT, raw_data
    >>> graph = ld(1, ld(4, b"MatMul")) + ld(5, tensor)
    >>> blob = v(1 << 3) + v(9) + ld(7, graph) + ld(8, v(2 << 3) + v(21))
    >>> h = read_header(io.BytesIO(blob), size=len(blob))
    >>> h.params, h.dtypes, h.ops, h.opsets
    (32, {'FLOAT': 32}, {'MatMul': 1}, {'ai.onnx': 21})
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

from core.errors import AnalysisError

_CHUNK = 64 * 1024
MAX_OPAQUE_HASHED = 1024 * 1024
"""Opaque fields (doc strings, value infos) up to this size are hashed; longer ones skipped."""
MAX_DEPTH = 32
"""Subgraphs nested deeper than this are refused."""
MAX_DIMS = 64

# wire types
_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5

DATA_TYPES: Mapping[int, tuple[str, int | None]] = {
    1: ("FLOAT", 32),
    2: ("UINT8", 8),
    3: ("INT8", 8),
    4: ("UINT16", 16),
    5: ("INT16", 16),
    6: ("INT32", 32),
    7: ("INT64", 64),
    8: ("STRING", None),
    9: ("BOOL", 8),
    10: ("FLOAT16", 16),
    11: ("DOUBLE", 64),
    12: ("UINT32", 32),
    13: ("UINT64", 64),
    14: ("COMPLEX64", 64),
    15: ("COMPLEX128", 128),
    16: ("BFLOAT16", 16),
    17: ("FLOAT8E4M3FN", 8),
    18: ("FLOAT8E4M3FNUZ", 8),
    19: ("FLOAT8E5M2", 8),
    20: ("FLOAT8E5M2FNUZ", 8),
    21: ("UINT4", 4),
    22: ("INT4", 4),
    23: ("FLOAT4E2M1", 4),
    24: ("FLOAT8E8M0", 8),
    25: ("UINT2", 2),
    26: ("INT2", 2),
}
"""``TensorProto.DataType``: id -> (name, bits per element; None for strings)."""

_PAYLOAD_FIELDS = frozenset({4, 5, 6, 7, 9, 10, 11})
"""TensorProto fields holding tensor data (typed ``*_data`` and ``raw_data``)."""

_DEFAULT_DOMAINS = ("", "ai.onnx")


@dataclass(frozen=True)
class OnnxTensor:
    """One initializer (or ``Constant`` tensor).

    Attributes:
        name: Its name (may be empty for a Constant node's tensor).
        shape: ``dims``, outermost first.
        dtype: ONNX data type name (``FLOAT``, ``FLOAT16``, ``INT8`` ...).
        external: Its data lives in a side file (``data_location = EXTERNAL``).
        location: The side file, relative to the model's directory, for external data.
        stored_bytes: Payload bytes in this file (raw_data or typed data); 0 for external.
        kind: ``initializer``, ``constant`` or ``sparse``.
        raw: The payload is ``raw_data`` (so ``stored_bytes`` must match the shape).
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    external: bool = False
    location: str | None = None
    stored_bytes: int = 0
    kind: str = "initializer"
    raw: bool = False

    @property
    def elements(self) -> int:
        """Elements (1 for a scalar)."""
        return math.prod(self.shape)


@dataclass(frozen=True)
class OnnxHeader:
    """What an ONNX file's protobuf says, payloads aside.

    Attributes:
        ir_version: ``ir_version``.
        producer: ``producer_name`` (``pytorch``, ``onnx.quantize`` ...), if any.
        producer_version: ``producer_version``.
        domain: ``ModelProto.domain``.
        model_version: ``model_version``.
        graph_name: The main graph's name.
        opsets: Operator set version per domain (the default domain as ``ai.onnx``).
        params: Elements over all initializers and Constant tensors (main graph and subgraphs).
        tensor_bytes: Bytes those elements take at their dtypes (strings not counted).
        dtypes: Elements per data type name.
        bytes_by_dtype: Bytes per data type name.
        tensors: Every initializer / Constant / sparse tensor, in file order.
        ops: Nodes per operator (``MatMul``; other domains as ``com.microsoft.Attention``).
        nodes: Nodes over all graphs.
        external_params: Elements whose data lives in side files.
        external_files: The side files named (relative to the model's directory).
        constant_params: Elements held by ``Constant`` nodes.
        subgraphs: Subgraphs (``If``/``Loop``/``Scan`` bodies) walked.
        metadata: ``metadata_props``.
        fingerprint: SHA-256 (hex) of the bytes read (see the module docstring).
        bytes_read: Bytes of the file actually read.
        file_size: Bytes in the file.
        notes: Caveats found while reading.
    """

    ir_version: int | None
    producer: str | None
    producer_version: str | None
    domain: str | None
    model_version: int | None
    graph_name: str | None
    opsets: dict[str, int]
    params: int
    tensor_bytes: int
    dtypes: dict[str, int]
    bytes_by_dtype: dict[str, int]
    tensors: tuple[OnnxTensor, ...] = field(default=(), repr=False)
    ops: dict[str, int] = field(default_factory=dict)
    nodes: int = 0
    external_params: int = 0
    external_files: tuple[str, ...] = ()
    constant_params: int = 0
    subgraphs: int = 0
    metadata: dict[str, str] = field(default_factory=dict)
    fingerprint: str = ""
    bytes_read: int = 0
    file_size: int = 0
    notes: tuple[str, ...] = ()

    @property
    def dominant_dtype(self) -> str | None:
        """The data type holding the most bytes, None without tensors."""
        if not self.bytes_by_dtype:
            return None
        return max(self.bytes_by_dtype.items(), key=lambda kv: (kv[1], kv[0]))[0]


# -- reading ----------------------------------------------------------------------------------


class _Wire:
    """Buffered, bounds-checked protobuf reads; skipped payloads are seeked past, not read.

    Every byte consumed (not skipped) goes into a SHA-256: the header fingerprint.
    """

    def __init__(self, handle: IO[bytes], size: int, where: str) -> None:
        self._handle = handle
        self.size = size
        self.where = where
        self._buf = b""
        self._buf_at = 0  # file offset of _buf[0]
        self.pos = 0
        self._hashed_to = 0  # bytes in [_hashed_to, pos) are consumed but not hashed yet
        self._hash = hashlib.sha256()
        self.bytes_read = 0

    def error(self, message: str) -> AnalysisError:
        return AnalysisError(f"{self.where}: {message}")

    def _flush_hash(self) -> None:
        if self.pos > self._hashed_to:
            lo = self._hashed_to - self._buf_at
            self._hash.update(self._buf[lo : self.pos - self._buf_at])
        self._hashed_to = self.pos

    def _ensure(self, n: int, what: str) -> None:
        """Make ``[pos, pos + n)`` available in the buffer."""
        if self.pos + n <= self._buf_at + len(self._buf) and self.pos >= self._buf_at:
            return
        if self.pos + n > self.size:
            raise self.error(
                f"truncated or not ONNX: {what} at byte {self.pos:,} needs {n:,} bytes, "
                f"the file has {self.size:,}"
            )
        self._flush_hash()
        self._handle.seek(self.pos)
        want = min(max(n, _CHUNK), self.size - self.pos)
        data = self._handle.read(want)
        self.bytes_read += len(data)
        if len(data) < n:
            raise self.error(f"truncated: {what} at byte {self.pos:,}: the file ends early")
        self._buf, self._buf_at = data, self.pos
        self._hashed_to = self.pos

    def varint(self, what: str) -> int:
        buf = self._buf
        i = self.pos - self._buf_at
        if i + 10 <= len(buf):  # fast path: a whole varint is buffered
            byte = buf[i]
            if byte < 0x80:
                self.pos += 1
                return byte
            result, shift = byte & 0x7F, 7
            for j in range(i + 1, i + 10):
                byte = buf[j]
                result |= (byte & 0x7F) << shift
                if byte < 0x80:
                    self.pos = self._buf_at + j + 1
                    return result
                shift += 7
            raise self.error(f"not ONNX: malformed varint ({what}) at byte {self.pos:,}")
        result = shift = 0
        while True:
            self._ensure(1, what)
            byte = self._buf[self.pos - self._buf_at]
            self.pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7
            if shift >= 70:
                raise self.error(f"not ONNX: malformed varint ({what}) at byte {self.pos:,}")

    def read(self, n: int, what: str) -> bytes:
        self._ensure(n, what)
        start = self.pos - self._buf_at
        self.pos += n
        return self._buf[start : start + n]

    def consume(self, n: int, what: str) -> None:
        """Move past ``n`` bytes, reading (and hashing) them."""
        self._ensure(n, what)
        self.pos += n

    def skip(self, n: int) -> None:
        """Move past ``n`` bytes without reading (or hashing) them."""
        self._flush_hash()
        self.pos += n
        self._hashed_to = self.pos

    def digest(self) -> str:
        self._flush_hash()
        return self._hash.hexdigest()


@dataclass
class _Acc:
    ir_version: int | None = None
    producer: str | None = None
    producer_version: str | None = None
    domain: str | None = None
    model_version: int | None = None
    graph_name: str | None = None
    graphs: int = 0
    opsets: dict[str, int] = field(default_factory=dict)
    tensors: list[OnnxTensor] = field(default_factory=list)
    ops: dict[str, int] = field(default_factory=dict)
    nodes: int = 0
    metadata: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _field(w: _Wire, end: int, what: str) -> tuple[int, int, int]:
    """Read one field key and its scalar (or the length of a length-delimited field).

    Returns ``(field number, wire type, value)``; for wire type 2 the payload starts at
    ``w.pos`` and ``value`` is its length, already checked against ``end``.
    """
    at = w.pos
    key = w.varint(what)
    number, wire = key >> 3, key & 7
    if number == 0:
        raise w.error(f"not ONNX: invalid protobuf field 0 at byte {at:,} ({what})")
    if wire == _VARINT:
        return number, wire, w.varint(what)
    if wire == _LEN:
        length = w.varint(what)
        if w.pos + length > end:
            past = "the end of the file" if end == w.size else "its enclosing message"
            raise w.error(
                f"truncated or not ONNX: field {number} of {what} at byte {at:,} claims "
                f"{length:,} bytes, past {past} ({end:,})"
            )
        return number, wire, length
    if wire == _I64:
        return number, wire, int.from_bytes(w.read(8, what), "little")
    if wire == _I32:
        return number, wire, int.from_bytes(w.read(4, what), "little")
    raise w.error(f"not ONNX: protobuf wire type {wire} at byte {at:,} ({what})")


def _opaque(w: _Wire, wire: int, length: int) -> None:
    """Step over a field this reader does not use (small ones are hashed)."""
    if wire != _LEN:
        return  # scalars are consumed by _field
    if length <= MAX_OPAQUE_HASHED:
        w.consume(length, "field")
    else:
        w.skip(length)


def _text(w: _Wire, length: int, what: str) -> str:
    return w.read(length, what).decode("utf-8", errors="replace")


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _end(w: _Wire, end: int, what: str) -> None:
    if w.pos != end:
        raise w.error(f"not ONNX: {what} overruns its length at byte {w.pos:,}")


def _model(w: _Wire, acc: _Acc) -> None:
    end = w.size
    while w.pos < end:
        number, wire, value = _field(w, end, "ModelProto")
        if number == 1 and wire == _VARINT:
            acc.ir_version = value
        elif number == 2 and wire == _LEN:
            acc.producer = _text(w, value, "producer_name")
        elif number == 3 and wire == _LEN:
            acc.producer_version = _text(w, value, "producer_version")
        elif number == 4 and wire == _LEN:
            acc.domain = _text(w, value, "domain")
        elif number == 5 and wire == _VARINT:
            acc.model_version = _signed(value)
        elif number == 7 and wire == _LEN:
            acc.graphs += 1
            _graph(w, w.pos + value, acc, 0)
        elif number == 8 and wire == _LEN:
            _opset(w, w.pos + value, acc)
        elif number == 14 and wire == _LEN:
            key, val = _entry(w, w.pos + value, "metadata_props")
            acc.metadata[key] = val
        else:
            _opaque(w, wire, value)


def _opset(w: _Wire, end: int, acc: _Acc) -> None:
    domain, version = "", 0
    while w.pos < end:
        number, wire, value = _field(w, end, "opset_import")
        if number == 1 and wire == _LEN:
            domain = _text(w, value, "opset domain")
        elif number == 2 and wire == _VARINT:
            version = _signed(value)
        else:
            _opaque(w, wire, value)
    _end(w, end, "opset_import")
    acc.opsets[domain or "ai.onnx"] = version


def _entry(w: _Wire, end: int, what: str) -> tuple[str, str]:
    key = val = ""
    while w.pos < end:
        number, wire, value = _field(w, end, what)
        if number == 1 and wire == _LEN:
            key = _text(w, value, what)
        elif number == 2 and wire == _LEN:
            val = _text(w, value, what)
        else:
            _opaque(w, wire, value)
    _end(w, end, what)
    return key, val


def _graph(w: _Wire, end: int, acc: _Acc, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise w.error(f"subgraphs nested deeper than {MAX_DEPTH}")
    while w.pos < end:
        number, wire, value = _field(w, end, "GraphProto")
        if number == 1 and wire == _LEN:
            _node(w, w.pos + value, acc, depth)
        elif number == 2 and wire == _LEN:
            name = _text(w, value, "graph name")
            if depth == 0:
                acc.graph_name = name
        elif number == 5 and wire == _LEN:
            acc.tensors.append(_tensor(w, w.pos + value, "initializer"))
        elif number == 15 and wire == _LEN:
            acc.tensors.append(_sparse(w, w.pos + value))
        else:
            _opaque(w, wire, value)
    _end(w, end, "GraphProto")


def _node(w: _Wire, end: int, acc: _Acc, depth: int) -> None:
    op, domain = "", ""
    while w.pos < end:
        number, wire, value = _field(w, end, "NodeProto")
        if number == 4 and wire == _LEN:
            op = _text(w, value, "op_type")
        elif number == 7 and wire == _LEN:
            domain = _text(w, value, "node domain")
        elif number == 5 and wire == _LEN:
            _attribute(w, w.pos + value, acc, depth)
        else:
            _opaque(w, wire, value)
    _end(w, end, "NodeProto")
    key = op if domain in _DEFAULT_DOMAINS else f"{domain}.{op}"
    acc.ops[key] = acc.ops.get(key, 0) + 1
    acc.nodes += 1


def _attribute(w: _Wire, end: int, acc: _Acc, depth: int) -> None:
    while w.pos < end:
        number, wire, value = _field(w, end, "AttributeProto")
        if number in (5, 10) and wire == _LEN:  # t, tensors
            acc.tensors.append(_tensor(w, w.pos + value, "constant"))
        elif number in (6, 11) and wire == _LEN:  # g, graphs
            acc.graphs += 1
            _graph(w, w.pos + value, acc, depth + 1)
        else:
            _opaque(w, wire, value)
    _end(w, end, "AttributeProto")


def _dims_packed(w: _Wire, end: int, dims: list[int]) -> None:
    while w.pos < end:
        dims.append(_signed(w.varint("dims")))
        if len(dims) > MAX_DIMS:
            raise w.error(f"a tensor has more than {MAX_DIMS} dimensions")
    _end(w, end, "dims")


def _tensor(w: _Wire, end: int, kind: str) -> OnnxTensor:
    dims: list[int] = []
    type_id = 0
    name = ""
    stored = 0
    raw = False
    external = False
    location: str | None = None
    while w.pos < end:
        number, wire, value = _field(w, end, "TensorProto")
        if number == 1 and wire == _VARINT:
            dims.append(_signed(value))
            if len(dims) > MAX_DIMS:
                raise w.error(f"a tensor has more than {MAX_DIMS} dimensions")
        elif number == 1 and wire == _LEN:
            _dims_packed(w, w.pos + value, dims)
        elif number == 2 and wire == _VARINT:
            type_id = value
        elif number == 8 and wire == _LEN:
            name = _text(w, value, "tensor name")
        elif number in _PAYLOAD_FIELDS and wire == _LEN:
            stored += value
            raw = raw or number == 9
            w.skip(value)  # the weights: never read
        elif number in _PAYLOAD_FIELDS:
            stored += {_I32: 4, _I64: 8}.get(wire, 1)  # an unpacked element (already consumed)
        elif number == 13 and wire == _LEN:
            key, val = _entry(w, w.pos + value, "external_data")
            if key == "location":
                location = val
        elif number == 14 and wire == _VARINT:
            external = value == 1
        else:
            _opaque(w, wire, value)
    _end(w, end, "TensorProto")
    label = name or "(unnamed)"
    if any(d < 0 for d in dims):
        raise w.error(f"tensor {label!r} has a negative dimension {dims}")
    if type_id not in DATA_TYPES:
        raise w.error(f"tensor {label!r} has unknown data type {type_id}")
    if math.prod(dims) >= 2**63:
        raise w.error(f"tensor {label!r} has an absurd shape {dims}")
    return OnnxTensor(
        name=name,
        shape=tuple(dims),
        dtype=DATA_TYPES[type_id][0],
        external=external or location is not None,
        location=location,
        stored_bytes=stored,
        kind=kind,
        raw=raw,
    )


def _sparse(w: _Wire, end: int) -> OnnxTensor:
    """A sparse initializer: its stored values count as parameters (shape: the dense dims)."""
    values: OnnxTensor | None = None
    dims: list[int] = []
    while w.pos < end:
        number, wire, value = _field(w, end, "SparseTensorProto")
        if number == 1 and wire == _LEN:
            values = _tensor(w, w.pos + value, "sparse")
        elif number == 3 and wire == _VARINT:
            dims.append(_signed(value))
        elif number == 3 and wire == _LEN:
            _dims_packed(w, w.pos + value, dims)
        else:
            _opaque(w, wire, value)
    _end(w, end, "SparseTensorProto")
    if values is None:
        raise w.error("a sparse initializer has no values tensor")
    return values


def _nbytes(tensor: OnnxTensor) -> int:
    bits = DATA_TYPES_BY_NAME.get(tensor.dtype)
    return 0 if bits is None else -(-tensor.elements * bits // 8)


DATA_TYPES_BY_NAME: Mapping[str, int | None] = {name: bits for name, bits in DATA_TYPES.values()}
"""Bits per element by data type name (None for ``STRING``)."""


def read_header(handle: IO[bytes], *, size: int, where: str = "<stream>") -> OnnxHeader:
    """Walk an ONNX ``ModelProto`` from ``handle`` (positioned anywhere; ``size`` bytes long).

    Raises:
        AnalysisError: One line naming ``where``: empty, not protobuf, truncated (a length
            past the end), no graph, an unknown data type or an absurd shape.
    """
    w = _Wire(handle, size, where)
    if size == 0:
        raise w.error("not an ONNX model (empty file)")
    acc = _Acc()
    _model(w, acc)
    if acc.graphs == 0:
        raise w.error("not an ONNX model (no graph in the protobuf)")
    params = tensor_bytes = external_params = constant_params = 0
    dtypes: dict[str, int] = {}
    by_dtype: dict[str, int] = {}
    locations: list[str] = []
    for t in acc.tensors:
        elements, nbytes = t.elements, _nbytes(t)
        params += elements
        tensor_bytes += nbytes
        dtypes[t.dtype] = dtypes.get(t.dtype, 0) + elements
        by_dtype[t.dtype] = by_dtype.get(t.dtype, 0) + nbytes
        if t.external:
            external_params += elements
            if t.location and t.location not in locations:
                locations.append(t.location)
        elif t.raw and t.stored_bytes != nbytes and t.dtype != "STRING" and len(acc.notes) < 5:
            acc.notes.append(
                f"tensor {t.name or '(unnamed)'!r}: {t.stored_bytes:,} bytes stored, "
                f"its shape needs {nbytes:,}"
            )
        if t.kind == "constant":
            constant_params += elements
    if acc.graphs > 1:
        acc.notes.append(f"{acc.graphs - 1} subgraph(s) (If/Loop/Scan bodies) counted in")
    return OnnxHeader(
        ir_version=acc.ir_version,
        producer=acc.producer or None,
        producer_version=acc.producer_version or None,
        domain=acc.domain or None,
        model_version=acc.model_version,
        graph_name=acc.graph_name,
        opsets=acc.opsets,
        params=params,
        tensor_bytes=tensor_bytes,
        dtypes=dtypes,
        bytes_by_dtype=by_dtype,
        tensors=tuple(acc.tensors),
        ops=dict(sorted(acc.ops.items(), key=lambda kv: (-kv[1], kv[0]))),
        nodes=acc.nodes,
        external_params=external_params,
        external_files=tuple(locations),
        constant_params=constant_params,
        subgraphs=acc.graphs - 1,
        metadata=acc.metadata,
        fingerprint=w.digest(),
        bytes_read=w.bytes_read,
        file_size=size,
        notes=tuple(acc.notes),
    )


def read_file(path: Path) -> OnnxHeader:
    """Read one ``.onnx`` file; side files of external data are checked to exist (``stat``).

    Raises:
        AnalysisError: As :func:`read_header`, or the file cannot be opened.
    """
    try:
        with path.open("rb") as handle:
            header = read_header(handle, size=path.stat().st_size, where=str(path))
    except OSError as exc:
        raise AnalysisError(f"{path}: cannot read ({exc.strerror})") from None
    missing = [f for f in header.external_files if not (path.parent / f).is_file()]
    if missing:
        shown = ", ".join(missing[:3]) + (
            f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        )
        notes = (*header.notes, f"external data file(s) not found next to the model: {shown}")
        header = replace(header, notes=notes)
    return header
