"""GGUF headers (llama.cpp's model files, versions 2 and 3): metadata and tensor infos.

Layout (ggml ``docs/gguf.md``), all little-endian: magic ``GGUF``, uint32 version, uint64
tensor count, uint64 metadata count; then the key/value pairs (key: uint64 length + UTF-8;
uint32 value type; value), then per tensor its name, uint32 ``n_dims``, ``n_dims`` uint64
dimensions (innermost first), uint32 ggml type and a uint64 offset into the data section, which
starts at the next multiple of ``general.alignment`` (default 32) after the infos. Version 1 used
uint32 counts and lengths and is refused; version 3 only added big-endian files (refused too).

Only the header is read, through a small buffer, so a 70 GB file takes as long as a 70 kB one;
the big tokenizer arrays (``tokenizer.ggml.tokens``: ~150k strings) are skipped, not kept: the
metadata records their element type and length. Every read is checked against the file size,
counts against what the file could hold, and every tensor's data against the end of the file.

Tensor sizes come from ggml's block structs (``ggml.c`` ``type_traits``: elements per block and
bytes per block), so ``params`` and ``tensor_bytes`` are exact.

Example:
    >>> import io, struct
    >>> def s(text): return struct.pack("<Q", len(text)) + text.encode()
    >>> blob = (b"GGUF" + struct.pack("<IQQ", 3, 1, 1)
    ...     + s("general.architecture") + struct.pack("<I", 8) + s("llama")
    ...     + s("w") + struct.pack("<IQQIQ", 2, 4, 8, 0, 0))  # one 4 x 8 F32 tensor
    >>> blob += bytes(-len(blob) % 32 + 4 * 8 * 4)
    >>> header = read_header(io.BytesIO(blob), size=len(blob))
    >>> header.params, header.tensor_bytes, header.architecture, header.bits_per_weight
    (32, 128, 'llama', 32.0)
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from core.analysis.model_config import ModelConfig, from_hf_config
from core.analysis.precision import Precision
from core.errors import AnalysisError

MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32
MAX_DIMS = 4
"""``GGML_MAX_DIMS``: llama.cpp refuses tensors with more dimensions."""
MAX_KEY_BYTES = 65_535
"""Longest key or tensor name accepted (the spec limits keys to 65535 bytes)."""
MAX_STRING_BYTES = 1024 * 1024
"""Longest string value kept; longer ones (an embedded ``tokenizer.json``) are summarised."""
MAX_ARRAY_DEPTH = 8
"""Arrays of arrays nested deeper than this are refused (real files nest at most twice)."""
KEEP_ARRAY_ELEMENTS = 1024
MAX_ARRAY_STRINGS = 1 << 21
"""Strings (or nested arrays) in one array: a vocabulary's tokens or merges are far fewer; each
is walked, so a corrupt count in a huge file would otherwise read the file through."""
"""Arrays up to this many elements (nested ones counted in) are kept in :attr:`arrays`."""
KEEP_ARRAY_STRING_BYTES = 64 * 1024
"""...and up to this many bytes of strings."""

_CHUNK = 64 * 1024
_MIN_KV_BYTES = 8 + 4 + 1  # empty key, type, a one-byte value
_MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8  # empty name, n_dims = 0, type, offset

_U8 = struct.Struct("<B")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")

# -- value types ------------------------------------------------------------------------------

_STRING, _ARRAY, _BOOL = 8, 9, 7
VALUE_TYPES: Mapping[int, str] = {
    0: "UINT8",
    1: "INT8",
    2: "UINT16",
    3: "INT16",
    4: "UINT32",
    5: "INT32",
    6: "FLOAT32",
    7: "BOOL",
    8: "STRING",
    9: "ARRAY",
    10: "UINT64",
    11: "INT64",
    12: "FLOAT64",
}
"""GGUF metadata value types by id (``gguf_type``)."""

_SCALAR_FORMATS: Mapping[int, str] = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "B",
    10: "Q",
    11: "q",
    12: "d",
}
_SCALAR_STRUCTS = {t: struct.Struct("<" + f) for t, f in _SCALAR_FORMATS.items()}

# -- ggml tensor types ------------------------------------------------------------------------


@dataclass(frozen=True)
class GGMLType:
    """One ggml tensor type: ``block_size`` elements take ``type_size`` bytes."""

    id: int
    name: str
    block_size: int
    type_size: int


_QK_K = 256
GGML_TYPES: Mapping[int, GGMLType] = {
    t.id: t
    for t in (
        GGMLType(0, "F32", 1, 4),
        GGMLType(1, "F16", 1, 2),
        GGMLType(2, "Q4_0", 32, 2 + 16),
        GGMLType(3, "Q4_1", 32, 2 + 2 + 16),
        GGMLType(6, "Q5_0", 32, 2 + 4 + 16),
        GGMLType(7, "Q5_1", 32, 2 + 2 + 4 + 16),
        GGMLType(8, "Q8_0", 32, 2 + 32),
        GGMLType(9, "Q8_1", 32, 2 + 2 + 32),
        GGMLType(10, "Q2_K", _QK_K, _QK_K // 16 + _QK_K // 4 + 2 + 2),
        GGMLType(11, "Q3_K", _QK_K, _QK_K // 8 + _QK_K // 4 + 12 + 2),
        GGMLType(12, "Q4_K", _QK_K, 2 + 2 + 12 + _QK_K // 2),
        GGMLType(13, "Q5_K", _QK_K, 2 + 2 + 12 + _QK_K // 8 + _QK_K // 2),
        GGMLType(14, "Q6_K", _QK_K, _QK_K // 2 + _QK_K // 4 + _QK_K // 16 + 2),
        GGMLType(15, "Q8_K", _QK_K, 4 + _QK_K + _QK_K // 16 * 2),
        GGMLType(16, "IQ2_XXS", _QK_K, 2 + _QK_K // 8 * 2),
        GGMLType(17, "IQ2_XS", _QK_K, 2 + _QK_K // 8 * 2 + _QK_K // 32),
        GGMLType(18, "IQ3_XXS", _QK_K, 2 + _QK_K // 4 + _QK_K // 8),
        GGMLType(19, "IQ1_S", _QK_K, 2 + _QK_K // 8 + _QK_K // 16),
        GGMLType(20, "IQ4_NL", 32, 2 + 16),
        GGMLType(21, "IQ3_S", _QK_K, 2 + _QK_K // 4 + _QK_K // 8 + _QK_K // 32 + 4),
        GGMLType(22, "IQ2_S", _QK_K, 2 + _QK_K // 4 + _QK_K // 16),
        GGMLType(23, "IQ4_XS", _QK_K, 2 + 2 + _QK_K // 2 + _QK_K // 64),
        GGMLType(24, "I8", 1, 1),
        GGMLType(25, "I16", 1, 2),
        GGMLType(26, "I32", 1, 4),
        GGMLType(27, "I64", 1, 8),
        GGMLType(28, "F64", 1, 8),
        GGMLType(29, "IQ1_M", _QK_K, _QK_K // 8 + _QK_K // 16 + _QK_K // 32),
        GGMLType(30, "BF16", 1, 2),
        GGMLType(34, "TQ1_0", _QK_K, 2 + 4 * 13),
        GGMLType(35, "TQ2_0", _QK_K, 2 + _QK_K // 4),
        GGMLType(39, "MXFP4", 32, 1 + 16),
        # 2026 additions (llama.cpp ggml-common.h block_nvfp4, block_q1_0, block_q2_0)
        GGMLType(40, "NVFP4", 64, 64 // 16 + 64 // 2),
        GGMLType(41, "Q1_0", 128, 2 + 128 // 8),
        GGMLType(42, "Q2_0", 64, 2 + 64 // 4),
    )
}
"""ggml types by id (``enum ggml_type``), with ggml's block sizes (``type_traits``)."""

_REMOVED_TYPES: Mapping[int, str] = {
    4: "Q4_2",
    5: "Q4_3",
    31: "Q4_0_4_4",
    32: "Q4_0_4_8",
    33: "Q4_0_8_8",
    36: "IQ4_NL_4_4",
    37: "IQ4_NL_4_8",
    38: "IQ4_NL_8_8",
}

FILE_TYPES: Mapping[int, str] = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    4: "Q4_1_SOME_F16",
    7: "Q8_0",
    8: "Q5_0",
    9: "Q5_1",
    10: "Q2_K",
    11: "Q3_K_S",
    12: "Q3_K_M",
    13: "Q3_K_L",
    14: "Q4_K_S",
    15: "Q4_K_M",
    16: "Q5_K_S",
    17: "Q5_K_M",
    18: "Q6_K",
    19: "IQ2_XXS",
    20: "IQ2_XS",
    21: "Q2_K_S",
    22: "IQ3_XS",
    23: "IQ3_XXS",
    24: "IQ1_S",
    25: "IQ4_NL",
    26: "IQ3_S",
    27: "IQ3_M",
    28: "IQ2_S",
    29: "IQ2_M",
    30: "IQ4_XS",
    31: "IQ1_M",
    32: "BF16",
    33: "Q4_0_4_4",
    34: "Q4_0_4_8",
    35: "Q4_0_8_8",
    36: "TQ1_0",
    37: "TQ2_0",
    38: "MXFP4_MOE",
    39: "NVFP4",
    40: "Q1_0",
}
"""``general.file_type`` values (llama.cpp ``enum llama_ftype``, ``LLAMA_FTYPE_MOSTLY_`` cut)."""

_FTYPE_GUESSED = 1024


@dataclass(frozen=True)
class GGUFTensor:
    """One tensor info: ``shape`` innermost dimension first, as ggml stores it."""

    name: str
    shape: tuple[int, ...]
    type: str
    offset: int
    nbytes: int


@dataclass(frozen=True)
class GGUFHeader:
    """What a GGUF header says.

    Attributes:
        version: 2 or 3.
        tensor_count: Number of tensors.
        params: Elements over all tensors (exact).
        tensor_bytes: Bytes of tensor data over all tensors (exact, padding excluded).
        bytes_by_type: Tensor bytes per ggml type name (``{"Q4_K": ..., "Q6_K": ...}``).
        params_by_type: Elements per ggml type name.
        file_type: ``general.file_type`` by name (``Q4_K_M``), None when absent or unknown.
        architecture: ``general.architecture`` (``llama``, ``qwen3moe`` ...).
        name: ``general.name``.
        metadata: Every key: scalars as values, arrays (and strings over 1 MiB) as
            ``{"type": ..., "length": ...}``.
        tensors: Every tensor info, in file order.
        arrays: Values of the small arrays (up to 1024 elements), as tuples.
        alignment: ``general.alignment`` or 32.
        data_offset: Where the tensor data starts.
        file_size: Bytes in the file.
        expert_params: Elements of the MoE expert tensors (``*_exps``), part of ``params``.
        block_count ... expert_used_count: ``{arch}.*`` dimensions; a per-layer array counts by
            its maximum (see ``notes``).
        vocab_size: Length of ``tokenizer.ggml.tokens``, else ``{arch}.vocab_size``.
        notes: Caveats found while reading.
    """

    version: int
    tensor_count: int
    params: int
    tensor_bytes: int
    bytes_by_type: dict[str, int]
    params_by_type: dict[str, int]
    file_type: str | None
    architecture: str | None
    name: str | None
    metadata: dict[str, Any] = field(repr=False)
    tensors: tuple[GGUFTensor, ...] = field(default=(), repr=False)
    arrays: dict[str, tuple[Any, ...]] = field(default_factory=dict, repr=False)
    alignment: int = DEFAULT_ALIGNMENT
    data_offset: int = 0
    file_size: int = 0
    expert_params: int = 0
    block_count: int | None = None
    context_length: int | None = None
    embedding_length: int | None = None
    feed_forward_length: int | None = None
    head_count: int | None = None
    head_count_kv: int | None = None
    key_length: int | None = None
    value_length: int | None = None
    sliding_window: int | None = None
    expert_count: int | None = None
    expert_used_count: int | None = None
    vocab_size: int | None = None
    notes: tuple[str, ...] = ()

    @property
    def bits_per_weight(self) -> float:
        """Average bits per element over all tensors (``tensor_bytes * 8 / params``)."""
        return self.tensor_bytes * 8 / self.params if self.params else 0.0

    @property
    def dominant_type(self) -> str | None:
        """The ggml type holding the most elements, None without tensors."""
        if not self.params_by_type:
            return None
        return max(self.params_by_type.items(), key=lambda kv: (kv[1], kv[0]))[0]


# -- reading ----------------------------------------------------------------------------------


class _Reader:
    """Buffered, bounds-checked reads from the start of a handle; never past ``size``."""

    def __init__(self, handle: IO[bytes], size: int, where: str) -> None:
        self._handle = handle
        self.size = size
        self.where = where
        self._buf = b""
        self._pos = 0  # position in _buf
        self._base = 0  # file offset of _buf[0]

    @property
    def offset(self) -> int:
        return self._base + self._pos

    def error(self, message: str) -> AnalysisError:
        return AnalysisError(f"{self.where}: {message}")

    def truncated(self, what: str) -> AnalysisError:
        return self.error(
            f"truncated: {what} runs past the end of the file "
            f"(at byte {self.offset:,} of {self.size:,})"
        )

    def _fill(self, n: int, what: str) -> None:
        if self.offset + n > self.size:
            raise self.truncated(what)
        avail = len(self._buf) - self._pos
        if avail >= n:
            return
        data = self._handle.read(max(n - avail, _CHUNK))
        self._base += self._pos
        self._buf = self._buf[self._pos :] + data
        self._pos = 0
        if len(self._buf) < n:  # the file is shorter than its size said
            raise self.truncated(what)

    def read(self, n: int, what: str) -> bytes:
        self._fill(n, what)
        data = self._buf[self._pos : self._pos + n]
        self._pos += n
        return data

    def unpack(self, fmt: struct.Struct, what: str) -> tuple[Any, ...]:
        self._fill(fmt.size, what)
        values = fmt.unpack_from(self._buf, self._pos)
        self._pos += fmt.size
        return values

    def u32(self, what: str) -> int:
        return int(self.unpack(_U32, what)[0])

    def u64(self, what: str) -> int:
        return int(self.unpack(_U64, what)[0])

    def skip(self, n: int, what: str) -> None:
        if self.offset + n > self.size:
            raise self.truncated(what)
        avail = len(self._buf) - self._pos
        if n <= avail:
            self._pos += n
            return
        target = self.offset + n
        self._handle.seek(target)
        self._buf, self._pos, self._base = b"", 0, target

    def skip_strings(self, count: int, what: str) -> None:
        """Skip ``count`` length-prefixed strings (the fast path walks the buffer in place)."""
        while count:
            buf, pos, end = self._buf, self._pos, len(self._buf)
            while count and pos + 8 <= end:
                (length,) = _U64.unpack_from(buf, pos)
                if pos + 8 + length > end:
                    break
                pos += 8 + length
                count -= 1
            self._pos = pos
            if count:
                self.skip(self.u64(what), what)
                count -= 1

    def string(self, what: str, limit: int) -> str | int:
        """A string, or its length when it is longer than ``limit`` (then skipped)."""
        length = self.u64(what)
        if self.offset + length > self.size:
            raise self.error(
                f"{what} claims {length:,} bytes, past the end of the file "
                f"(at byte {self.offset:,} of {self.size:,}: truncated or corrupt)"
            )
        if length > limit:
            self.skip(length, what)
            return length
        return self.read(length, what).decode("utf-8", errors="replace")


class _Budget:
    """What is left for keeping one top-level array's values."""

    def __init__(self) -> None:
        self.elements = KEEP_ARRAY_ELEMENTS
        self.string_bytes = KEEP_ARRAY_STRING_BYTES


def _key(reader: _Reader, what: str) -> str:
    value = reader.string(what, MAX_KEY_BYTES)
    if isinstance(value, int):
        raise reader.error(f"{what} is {value:,} bytes long (limit {MAX_KEY_BYTES:,})")
    return value


def _type_name(value_type: int) -> str:
    return VALUE_TYPES.get(value_type, str(value_type))


def _scalar(reader: _Reader, value_type: int, what: str) -> Any:
    (value,) = reader.unpack(_SCALAR_STRUCTS[value_type], what)
    return bool(value) if value_type == _BOOL else value


def _array(
    reader: _Reader, what: str, depth: int, budget: _Budget | None
) -> tuple[int, int, tuple[Any, ...] | None]:
    """Read an array: ``(element type, length, values or None when not kept)``."""
    if depth > MAX_ARRAY_DEPTH:
        raise reader.error(f"{what}: arrays nested deeper than {MAX_ARRAY_DEPTH}")
    elem_type = reader.u32(what)
    count = reader.u64(what)
    if elem_type not in VALUE_TYPES:
        raise reader.error(f"{what}: unknown array element type {elem_type}")
    fmt = _SCALAR_FORMATS.get(elem_type)
    if fmt is not None:
        min_size = _SCALAR_STRUCTS[elem_type].size
    else:  # a string's length prefix; a nested array's type and count
        min_size = 8 if elem_type == _STRING else 12
    if count > (reader.size - reader.offset) // min_size:
        raise reader.error(
            f"{what}: array of {count:,} {_type_name(elem_type)} values runs past the end of "
            f"the file (at byte {reader.offset:,} of {reader.size:,})"
        )
    if fmt is None and count > MAX_ARRAY_STRINGS:
        raise reader.error(
            f"{what}: array of {count:,} {_type_name(elem_type)} values "
            f"(limit {MAX_ARRAY_STRINGS:,}: truncated or corrupt)"
        )
    if budget is not None and count > budget.elements:
        budget = None
    if budget is not None:
        budget.elements -= count
    if fmt is not None:
        if budget is None:
            reader.skip(count * min_size, what)
            return elem_type, count, None
        raw = reader.read(count * min_size, what)
        values = struct.unpack(f"<{count}{fmt}", raw)
        if elem_type == _BOOL:
            values = tuple(bool(v) for v in values)
        return elem_type, count, values
    if elem_type == _STRING:
        if budget is None:
            reader.skip_strings(count, what)
            return elem_type, count, None
        strings: list[str] = []
        for i in range(count):
            text = reader.string(what, MAX_STRING_BYTES)
            size = text if isinstance(text, int) else len(text)
            budget.string_bytes -= size
            if isinstance(text, int) or budget.string_bytes < 0:
                reader.skip_strings(count - i - 1, what)
                return elem_type, count, None
            strings.append(text)
        return elem_type, count, tuple(strings)
    nested: list[tuple[Any, ...]] = []
    for _ in range(count):
        _, _, inner = _array(reader, what, depth + 1, budget)
        if inner is None:
            budget = None
        elif budget is not None:
            nested.append(inner)
    return elem_type, count, tuple(nested) if budget is not None else None


def _metadata(reader: _Reader, count: int) -> tuple[dict[str, Any], dict[str, tuple[Any, ...]]]:
    metadata: dict[str, Any] = {}
    arrays: dict[str, tuple[Any, ...]] = {}
    for index in range(count):
        key = _key(reader, f"metadata key {index}")
        what = f"metadata {key!r}"
        if key in metadata:
            raise reader.error(f"{what} appears twice")
        value_type = reader.u32(what)
        if value_type in _SCALAR_STRUCTS:
            metadata[key] = _scalar(reader, value_type, what)
        elif value_type == _STRING:
            text = reader.string(what, MAX_STRING_BYTES)
            metadata[key] = {"type": "STRING", "length": text} if isinstance(text, int) else text
        elif value_type == _ARRAY:
            elem_type, length, values = _array(reader, what, 1, _Budget())
            metadata[key] = {"type": _type_name(elem_type), "length": length}
            if values is not None:
                arrays[key] = values
        else:
            raise reader.error(f"{what} has unknown value type {value_type}")
    return metadata, arrays


@dataclass
class _TensorInfo:
    name: str
    dims: tuple[int, ...]
    type_id: int
    offset: int


def _tensor_infos(reader: _Reader, count: int) -> list[_TensorInfo]:
    infos: list[_TensorInfo] = []
    names: set[str] = set()
    for index in range(count):
        name = _key(reader, f"tensor {index} name")
        what = f"tensor {name!r}"
        if name in names:
            raise reader.error(f"{what} appears twice")
        names.add(name)
        n_dims = reader.u32(what)
        if n_dims > MAX_DIMS:
            raise reader.error(f"{what} has {n_dims:,} dimensions (ggml allows at most {MAX_DIMS})")
        dims = tuple(reader.u64(what) for _ in range(n_dims))
        type_id = reader.u32(what)
        offset = reader.u64(what)
        infos.append(_TensorInfo(name, dims, type_id, offset))
    return infos


def _ggml_type(info: _TensorInfo, where: str) -> GGMLType:
    found = GGML_TYPES.get(info.type_id)
    if found is not None:
        return found
    removed = _REMOVED_TYPES.get(info.type_id)
    if removed is not None:
        raise AnalysisError(
            f"{where}: tensor {info.name!r} has ggml type {info.type_id} ({removed}), removed "
            "from ggml; re-convert with a current llama.cpp"
        )
    raise AnalysisError(f"{where}: tensor {info.name!r} has unknown ggml type {info.type_id}")


def _int_field(
    metadata: Mapping[str, Any], arrays: Mapping[str, tuple[Any, ...]], key: str, notes: list[str]
) -> int | None:
    """An integer dimension; a per-layer array counts by its maximum."""
    value = metadata.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    values = arrays.get(key)
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        low, high = min(values), max(values)
        if low != high:
            notes.append(f"{key} varies per layer ({low}–{high}); the maximum is used")
        return int(high)
    return None


def read_header(handle: IO[bytes], *, size: int, where: str = "<stream>") -> GGUFHeader:
    """Parse a GGUF header from ``handle`` (positioned at the file start, ``size`` bytes long).

    Reads the metadata and tensor infos only (plus at most one 64 KiB buffer beyond them).

    Raises:
        AnalysisError: One line naming ``where``: not GGUF, an unsupported version, a read past
            the end of the file, absurd counts or dimensions, an unknown value or ggml type, or
            tensor data past the end of the file.
    """
    reader = _Reader(handle, size, where)
    if size == 0:
        raise reader.error("not a GGUF file (empty)")
    magic = reader.read(4, "magic") if size >= 4 else b""
    if magic != MAGIC:
        raise reader.error(f"not a GGUF file (starts with {magic[:4]!r}, expected b'GGUF')")
    version = reader.u32("version")
    if version == 1:
        raise reader.error("GGUF version 1 is not supported; re-convert with a current llama.cpp")
    if version not in SUPPORTED_VERSIONS:
        swapped = int.from_bytes(version.to_bytes(4, "little"), "big")
        if swapped in SUPPORTED_VERSIONS:
            raise reader.error(f"big-endian GGUF (version {swapped}) is not supported")
        raise reader.error(f"GGUF version {version} is not supported (only 2 and 3)")
    tensor_count = reader.u64("tensor count")
    kv_count = reader.u64("metadata count")
    room = size - reader.offset
    if tensor_count > room // _MIN_TENSOR_INFO_BYTES:
        raise reader.error(
            f"truncated or corrupt: header claims {tensor_count:,} tensors, more than a "
            f"{size:,}-byte file can hold"
        )
    if kv_count > room // _MIN_KV_BYTES:
        raise reader.error(
            f"truncated or corrupt: header claims {kv_count:,} metadata entries, more than a "
            f"{size:,}-byte file can hold"
        )

    metadata, arrays = _metadata(reader, kv_count)
    infos = _tensor_infos(reader, tensor_count)

    alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if (
        not isinstance(alignment, int)
        or isinstance(alignment, bool)
        or alignment <= 0
        or alignment & (alignment - 1)
    ):
        raise reader.error(f"general.alignment {alignment!r} is not a power of 2")
    data_offset = -(-reader.offset // alignment) * alignment

    params = tensor_bytes = expert_params = 0
    bytes_by_type: dict[str, int] = {}
    params_by_type: dict[str, int] = {}
    furthest: tuple[int, str] = (data_offset, "")
    tensors: list[GGUFTensor] = []
    for info in infos:
        ggml = _ggml_type(info, where)
        elements = math.prod(info.dims)
        if elements >= 2**63:
            raise reader.error(f"tensor {info.name!r} has {elements:.3g} elements (shape absurd)")
        if info.dims and info.dims[0] % ggml.block_size:
            raise reader.error(
                f"tensor {info.name!r}: first dimension {info.dims[0]:,} is not a multiple of "
                f"the {ggml.name} block size {ggml.block_size}"
            )
        if info.offset % alignment:
            raise reader.error(
                f"tensor {info.name!r}: data offset {info.offset:,} is not a multiple of the "
                f"alignment {alignment}"
            )
        nbytes = elements // ggml.block_size * ggml.type_size
        tensors.append(GGUFTensor(info.name, info.dims, ggml.name, info.offset, nbytes))
        end = data_offset + info.offset + nbytes
        if end > furthest[0]:
            furthest = (end, info.name)
        params += elements
        tensor_bytes += nbytes
        if "_exps" in info.name:
            expert_params += elements
        bytes_by_type[ggml.name] = bytes_by_type.get(ggml.name, 0) + nbytes
        params_by_type[ggml.name] = params_by_type.get(ggml.name, 0) + elements
    if furthest[0] > size:
        raise reader.error(
            f"truncated: tensor {furthest[1]!r} needs bytes up to {furthest[0]:,}, "
            f"file has {size:,}"
        )

    notes: list[str] = []
    file_type = None
    raw_ftype = metadata.get("general.file_type")
    if isinstance(raw_ftype, int) and not isinstance(raw_ftype, bool):
        if raw_ftype & _FTYPE_GUESSED:
            notes.append("general.file_type was guessed by llama.cpp")
        file_type = FILE_TYPES.get(raw_ftype & ~_FTYPE_GUESSED)
        if file_type is None:
            notes.append(f"unknown general.file_type {raw_ftype}")
    arch = metadata.get("general.architecture")
    arch = arch if isinstance(arch, str) else None
    name = metadata.get("general.name")

    def dim(suffix: str) -> int | None:
        return _int_field(metadata, arrays, f"{arch}.{suffix}", notes) if arch else None

    tokens = metadata.get("tokenizer.ggml.tokens")
    vocab = tokens.get("length") if isinstance(tokens, dict) else None
    return GGUFHeader(
        version=version,
        tensor_count=tensor_count,
        params=params,
        tensor_bytes=tensor_bytes,
        bytes_by_type=bytes_by_type,
        params_by_type=params_by_type,
        file_type=file_type,
        architecture=arch,
        name=name if isinstance(name, str) else None,
        metadata=metadata,
        tensors=tuple(tensors),
        arrays=arrays,
        alignment=alignment,
        data_offset=data_offset,
        file_size=size,
        expert_params=expert_params,
        block_count=dim("block_count"),
        context_length=dim("context_length"),
        embedding_length=dim("embedding_length"),
        feed_forward_length=dim("feed_forward_length"),
        head_count=dim("attention.head_count"),
        head_count_kv=dim("attention.head_count_kv"),
        key_length=dim("attention.key_length"),
        value_length=dim("attention.value_length"),
        sliding_window=dim("attention.sliding_window"),
        expert_count=dim("expert_count"),
        expert_used_count=dim("expert_used_count"),
        vocab_size=vocab if isinstance(vocab, int) and vocab > 0 else dim("vocab_size"),
        notes=tuple(notes),
    )


def read_file(path: Path) -> GGUFHeader:
    """Read the header of one ``.gguf`` file.

    Raises:
        AnalysisError: As :func:`read_header`, or the file cannot be opened.
    """
    try:
        with path.open("rb") as handle:
            return read_header(handle, size=path.stat().st_size, where=str(path))
    except OSError as exc:
        raise AnalysisError(f"{path}: cannot read ({exc.strerror})") from None


# -- what the analysis needs ------------------------------------------------------------------

# GGUF architecture -> Hugging Face model_type and architecture class name (only the families
# core.analysis.model_config knows; others get no ModelConfig).
_HF_TYPES: Mapping[str, tuple[str, str]] = {
    "llama": ("llama", "LlamaForCausalLM"),  # Mistral's GGUFs say "llama" too
    "qwen2": ("qwen2", "Qwen2ForCausalLM"),
    "qwen2moe": ("qwen2_moe", "Qwen2MoeForCausalLM"),
    "qwen3": ("qwen3", "Qwen3ForCausalLM"),
    "qwen3moe": ("qwen3_moe", "Qwen3MoeForCausalLM"),
    "gemma": ("gemma", "GemmaForCausalLM"),
    "gemma2": ("gemma2", "Gemma2ForCausalLM"),
    "gemma3": ("gemma3_text", "Gemma3ForCausalLM"),
    "phi2": ("phi", "PhiForCausalLM"),
    "phi3": ("phi3", "Phi3ForCausalLM"),
    "olmo": ("olmo", "OlmoForCausalLM"),
    "olmo2": ("olmo2", "Olmo2ForCausalLM"),
    "gptneox": ("gpt_neox", "GPTNeoXForCausalLM"),
    "gpt2": ("gpt2", "GPT2LMHeadModel"),
    "bert": ("bert", "BertModel"),
    "nomic-bert": ("nomic_bert", "NomicBertModel"),
    "t5": ("t5", "T5ForConditionalGeneration"),
    "t5encoder": ("t5", "T5EncoderModel"),
}

ENCODER_ARCHITECTURES = frozenset(
    {"bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "jina-bert-v3", "neo-bert",
     "modern-bert", "t5encoder"}
)  # fmt: skip
"""GGUF architectures that generate nothing (embedding models)."""


def model_config(header: GGUFHeader, *, source: str = "<gguf>") -> ModelConfig | None:
    """A :class:`ModelConfig` from the header's ``{arch}.*`` dimensions, for the KV cache.

    Built through :func:`from_hf_config` from a Hugging Face style mapping. Returns None for an
    architecture ``from_hf_config`` does not know (``falcon``, ``mamba``, ``deepseek2`` ...) or
    when a core dimension is missing; the exact parameter count from the tensors still stands.

    Raises:
        AnalysisError: The dimensions are present but absurd (as :func:`from_hf_config`).
    """
    arch = header.architecture
    if arch is None or arch not in _HF_TYPES:
        return None
    model_type, architecture = _HF_TYPES[arch]
    experts = header.expert_count or 0
    if arch == "llama" and experts > 0:
        model_type, architecture = "mixtral", "MixtralForCausalLM"
    core = (
        header.embedding_length,
        header.block_count,
        header.head_count,
        header.feed_forward_length,
        header.vocab_size,
    )
    if any(not v for v in core):
        return None
    heads = header.head_count
    kv_heads = header.head_count_kv or heads
    config: dict[str, Any] = {
        "model_type": model_type,
        "architectures": [architecture],
        "hidden_size": header.embedding_length,
        "num_hidden_layers": header.block_count,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "intermediate_size": header.feed_forward_length,
        "vocab_size": header.vocab_size,
        "max_position_embeddings": header.context_length,
        "sliding_window": header.sliding_window or None,
        "use_sliding_window": bool(header.sliding_window),
        # an untied LM head is stored as its own tensor
        "tie_word_embeddings": not any(t.name == "output.weight" for t in header.tensors),
    }
    if header.key_length:
        config["head_dim"] = header.key_length
    if model_type in ("gpt2", "nomic_bert"):
        config |= {
            "n_embd": header.embedding_length,
            "n_layer": header.block_count,
            "n_head": heads,
            "n_inner": header.feed_forward_length,
            "n_positions": header.context_length,
        }
    if model_type == "t5":
        decoder_layers = _int_field(header.metadata, header.arrays, "t5.decoder_block_count", [])
        config |= {
            "d_model": header.embedding_length,
            "num_layers": header.block_count,
            "num_heads": heads,
            "d_kv": header.key_length or (header.embedding_length or 0) // (heads or 1),
            "d_ff": header.feed_forward_length,
            "num_decoder_layers": decoder_layers,
            "feed_forward_proj": "gated-gelu",
        }
    if experts:
        used = header.expert_used_count
        config |= {"num_local_experts": experts, "num_experts": experts}
        if used:
            config["num_experts_per_tok"] = used
        for key, suffix in (
            ("moe_intermediate_size", "expert_feed_forward_length"),
            ("shared_expert_intermediate_size", "expert_shared_feed_forward_length"),
        ):
            value = _int_field(header.metadata, header.arrays, f"{arch}.{suffix}", [])
            if value:
                config[key] = value
    config = {k: v for k, v in config.items() if v is not None or k == "sliding_window"}
    return from_hf_config(config, source=source)


def active_params(header: GGUFHeader) -> int:
    """Parameters used per token: all but the experts not routed to (``*_exps`` tensors).

    ``params - expert_params × (experts - used) / experts``; ``params`` for dense models.
    """
    experts, used = header.expert_count or 0, header.expert_used_count or 0
    if not header.expert_params or experts <= 0 or not 0 < used <= experts:
        return header.params
    idle = header.expert_params * (experts - used) // experts
    return max(1, header.params - idle)


def file_precision(header: GGUFHeader) -> Precision:
    """The file's own storage as a :class:`Precision`: ``params`` of it weigh ``tensor_bytes``.

    Named after ``general.file_type`` (``Q4_K_M``), else the dominant ggml type; its
    ``bytes_per_param`` is nudged so that ``ceil(params × bytes_per_param) == tensor_bytes``.

    Raises:
        AnalysisError: The file has no tensor elements.
    """
    if header.params <= 0:
        raise AnalysisError("GGUF file has no tensor elements")
    params, target = header.params, header.tensor_bytes
    bpp = target / params
    for _ in range(64):
        got = math.ceil(params * bpp)
        if got == target:
            break
        bpp = math.nextafter(bpp, 0.0 if got > target else math.inf)
    base = header.dominant_type or "F32"
    mix = ", ".join(
        f"{name} {share / target:.0%}"
        for name, share in sorted(header.bytes_by_type.items(), key=lambda kv: -kv[1])
    )
    return Precision(
        name=header.file_type or base,
        bytes_per_param=bpp,
        kind="gguf" if len(header.bytes_by_type) == 1 else "gguf-mix",
        base=base,
        exact=True,
        source=(
            f"GGUF tensor infos: {target:,} bytes / {params:,} elements "
            f"({header.bits_per_weight:.2f} bits/weight; {mix or 'no data'})"
        ),
    )
