"""A GGUF (v2/v3) writer for tests: every metadata value type, tensor infos, alignment padding.

Written from the spec (ggml ``docs/gguf.md``), independently of ``core.analysis.formats.gguf``:
the block sizes below are ggml's own (``ggml.c`` ``type_traits``), so a wrong table in the
parser makes the tests fail. Tensor data is never written: the file is extended with
``truncate`` to its full length, which leaves a sparse file, so a "40 GB" model costs nothing
on disk. The pieces (:func:`string`, :func:`kv`, :func:`tensor_info`) are public so tests can
build broken headers byte by byte.

>>> import tempfile
>>> from pathlib import Path
>>> with tempfile.TemporaryDirectory() as tmp:
...     layout = write_gguf(Path(tmp) / "m.gguf", {"general.architecture": "llama"},
...                         [Tensor("w", (32, 4), "Q8_0")])
...     layout.data_offset % 32, layout.size - layout.data_offset
(0, 136)
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# value type ids (gguf_type)
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY = range(10)
UINT64, INT64, FLOAT64 = 10, 11, 12

_FORMATS = {
    UINT8: "B",
    INT8: "b",
    UINT16: "H",
    INT16: "h",
    UINT32: "I",
    INT32: "i",
    FLOAT32: "f",
    BOOL: "?",
    UINT64: "Q",
    INT64: "q",
    FLOAT64: "d",
}

#: ggml type name -> (id, elements per block, bytes per block), from ggml.h / ggml.c.
GGML: dict[str, tuple[int, int, int]] = {
    "F32": (0, 1, 4),
    "F16": (1, 1, 2),
    "Q4_0": (2, 32, 18),
    "Q4_1": (3, 32, 20),
    "Q5_0": (6, 32, 22),
    "Q5_1": (7, 32, 24),
    "Q8_0": (8, 32, 34),
    "Q8_1": (9, 32, 36),
    "Q2_K": (10, 256, 84),
    "Q3_K": (11, 256, 110),
    "Q4_K": (12, 256, 144),
    "Q5_K": (13, 256, 176),
    "Q6_K": (14, 256, 210),
    "Q8_K": (15, 256, 292),
    "IQ2_XXS": (16, 256, 66),
    "IQ2_XS": (17, 256, 74),
    "IQ3_XXS": (18, 256, 98),
    "IQ1_S": (19, 256, 50),
    "IQ4_NL": (20, 32, 18),
    "IQ3_S": (21, 256, 110),
    "IQ2_S": (22, 256, 82),
    "IQ4_XS": (23, 256, 136),
    "I8": (24, 1, 1),
    "I16": (25, 1, 2),
    "I32": (26, 1, 4),
    "I64": (27, 1, 8),
    "F64": (28, 1, 8),
    "IQ1_M": (29, 256, 56),
    "BF16": (30, 1, 2),
    "TQ1_0": (34, 256, 54),
    "TQ2_0": (35, 256, 66),
    "MXFP4": (39, 32, 17),
    "NVFP4": (40, 64, 36),
    "Q1_0": (41, 128, 18),
    "Q2_0": (42, 64, 18),
}


@dataclass(frozen=True)
class Typed:
    """A metadata value with an explicit type; arrays give ``elem`` (their element type)."""

    type: int
    value: Any
    elem: int | None = None


def array(elem: int, values: Sequence[Any]) -> Typed:
    """An ARRAY of ``elem`` values (``elem=ARRAY``: ``values`` are :class:`Typed` arrays)."""
    return Typed(ARRAY, list(values), elem)


def _infer(value: Any) -> Typed:
    if isinstance(value, Typed):
        return value
    if isinstance(value, bool):
        return Typed(BOOL, value)
    if isinstance(value, int):
        return Typed(UINT32 if 0 <= value < 2**32 else INT64, value)
    if isinstance(value, float):
        return Typed(FLOAT32, value)
    if isinstance(value, str):
        return Typed(STRING, value)
    if isinstance(value, list | tuple):
        elem = _infer(value[0]).type if value else UINT32
        return array(elem, value)
    raise TypeError(f"no GGUF type for {value!r}")


def string(text: str | bytes) -> bytes:
    """uint64 length + the bytes."""
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(raw)) + raw


def value_bytes(typed: Typed) -> bytes:
    """A value without its type id (arrays: element type, count, elements)."""
    if typed.type == STRING:
        return string(typed.value)
    if typed.type == ARRAY:
        assert typed.elem is not None
        out = [struct.pack("<IQ", typed.elem, len(typed.value))]
        if typed.elem in _FORMATS:
            out.append(struct.pack(f"<{len(typed.value)}{_FORMATS[typed.elem]}", *typed.value))
        elif typed.elem == STRING:
            out.extend(string(s) for s in typed.value)
        else:  # nested arrays
            out.extend(value_bytes(_infer(v)) for v in typed.value)
        return b"".join(out)
    return struct.pack("<" + _FORMATS[typed.type], typed.value)


def kv(key: str, value: Any) -> bytes:
    """One metadata pair (the type inferred unless ``value`` is :class:`Typed`)."""
    typed = _infer(value)
    return string(key) + struct.pack("<I", typed.type) + value_bytes(typed)


def tensor_info(name: str, shape: Sequence[int], type_id: int, offset: int) -> bytes:
    """One tensor info: name, n_dims, dims (innermost first), ggml type id, data offset."""
    dims = struct.pack(f"<{len(shape)}Q", *shape)
    return string(name) + struct.pack("<I", len(shape)) + dims + struct.pack("<IQ", type_id, offset)


def preamble(version: int, tensors: int, kvs: int) -> bytes:
    """Magic, version and the two counts."""
    return b"GGUF" + struct.pack("<IQQ", version, tensors, kvs)


@dataclass(frozen=True)
class Tensor:
    """A tensor to describe: ``shape`` innermost dimension first (ggml order)."""

    name: str
    shape: tuple[int, ...]
    type: str = "F32"

    @property
    def elements(self) -> int:
        count = 1
        for d in self.shape:
            count *= d
        return count

    @property
    def nbytes(self) -> int:
        _, block, size = GGML[self.type]
        return self.elements // block * size


@dataclass(frozen=True)
class Layout:
    """Where things landed: header end, data start, each tensor's offset, and the file size."""

    header_end: int
    data_offset: int
    offsets: dict[str, int] = field(default_factory=dict)
    size: int = 0


def build(
    metadata: Mapping[str, Any],
    tensors: Iterable[Tensor],
    *,
    version: int = 3,
    alignment: int | None = None,
) -> tuple[bytes, Layout]:
    """The header bytes (padded to the data start) and the layout.

    ``alignment`` adds ``general.alignment`` (UINT32) to the metadata and aligns to it.
    """
    tensors = list(tensors)
    items = dict(metadata)
    align = 32
    if alignment is not None:
        items["general.alignment"] = Typed(UINT32, alignment)
        align = alignment
    offsets: dict[str, int] = {}
    cursor = 0
    for t in tensors:
        offsets[t.name] = cursor
        cursor += t.nbytes
        cursor += -cursor % align
    parts = [preamble(version, len(tensors), len(items))]
    parts += [kv(k, v) for k, v in items.items()]
    parts += [tensor_info(t.name, t.shape, GGML[t.type][0], offsets[t.name]) for t in tensors]
    header = b"".join(parts)
    data_offset = len(header) + (-len(header) % align)
    end = max((data_offset + offsets[t.name] + t.nbytes for t in tensors), default=data_offset)
    layout = Layout(len(header), data_offset, offsets, end)
    return header + bytes(data_offset - len(header)), layout


def write_gguf(
    path: Path,
    metadata: Mapping[str, Any],
    tensors: Iterable[Tensor],
    *,
    version: int = 3,
    alignment: int | None = None,
    cut: int = 0,
) -> Layout:
    """Write a GGUF file whose tensor data is sparse zeros; ``cut`` bytes short of complete."""
    header, layout = build(metadata, tensors, version=version, alignment=alignment)
    with path.open("wb") as f:
        f.write(header)
        f.truncate(layout.size - cut)
    return layout


# -- a small llama ----------------------------------------------------------------------------

LLAMA_DIMS = {
    "embedding": 256,
    "layers": 2,
    "heads": 4,
    "kv_heads": 2,
    "ff": 512,
    "vocab": 512,
    "context": 2048,
}


def llama_tensors(
    embedding: int = 256, layers: int = 2, heads: int = 4, kv_heads: int = 2, ff: int = 512,
    vocab: int = 512,
) -> list[Tensor]:  # fmt: skip
    """A llama's tensors as llama.cpp names them, in a Q4_K_M-like mix (Q4_K, Q6_K, F32)."""
    e, kv_width = embedding, embedding // heads * kv_heads
    out = [Tensor("token_embd.weight", (e, vocab), "Q4_K")]
    for i in range(layers):
        out += [
            Tensor(f"blk.{i}.attn_norm.weight", (e,), "F32"),
            Tensor(f"blk.{i}.attn_q.weight", (e, e), "Q4_K"),
            Tensor(f"blk.{i}.attn_k.weight", (e, kv_width), "Q4_K"),
            Tensor(f"blk.{i}.attn_v.weight", (e, kv_width), "Q6_K"),
            Tensor(f"blk.{i}.attn_output.weight", (e, e), "Q4_K"),
            Tensor(f"blk.{i}.ffn_norm.weight", (e,), "F32"),
            Tensor(f"blk.{i}.ffn_gate.weight", (e, ff), "Q4_K"),
            Tensor(f"blk.{i}.ffn_up.weight", (e, ff), "Q4_K"),
            Tensor(f"blk.{i}.ffn_down.weight", (ff, e), "Q6_K"),
        ]
    out += [Tensor("output_norm.weight", (e,), "F32"), Tensor("output.weight", (e, vocab), "Q6_K")]
    return out


def llama_metadata(**overrides: Any) -> dict[str, Any]:
    """``general.*``, ``llama.*`` and a tokenizer for :func:`llama_tensors`' defaults."""
    d = LLAMA_DIMS
    meta: dict[str, Any] = {
        "general.architecture": "llama",
        "general.name": "Tiny Llama",
        "general.file_type": Typed(UINT32, 15),  # Q4_K_M
        "llama.block_count": Typed(UINT32, d["layers"]),
        "llama.context_length": Typed(UINT32, d["context"]),
        "llama.embedding_length": Typed(UINT32, d["embedding"]),
        "llama.feed_forward_length": Typed(UINT32, d["ff"]),
        "llama.attention.head_count": Typed(UINT32, d["heads"]),
        "llama.attention.head_count_kv": Typed(UINT32, d["kv_heads"]),
        "llama.rope.freq_base": Typed(FLOAT32, 500000.0),
        "llama.attention.layer_norm_rms_epsilon": Typed(FLOAT32, 1e-5),
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.tokens": array(STRING, [f"tok{i}" for i in range(d["vocab"])]),
        "tokenizer.ggml.token_type": array(INT32, [1] * d["vocab"]),
    }
    meta.update(overrides)
    return meta


def write_llama(path: Path, *, version: int = 3, **overrides: Any) -> Layout:
    """A complete small llama GGUF (sparse data) at ``path``."""
    return write_gguf(path, llama_metadata(**overrides), llama_tensors(), version=version)
