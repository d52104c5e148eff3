"""An ONNX writer for tests: protobuf wire format by hand, with sparse tensor payloads.

Written from ``onnx/onnx.proto`` independently of ``core.analysis.formats.onnx``. A message is
a :data:`Blob`: a list of byte strings and ints, an int standing for that many zero bytes that
:func:`write` leaves as a hole (``seek``), so a "2 GB" ``raw_data`` costs nothing on disk and a
reader that touched it would be caught by counting the bytes it reads.

>>> import tempfile
>>> from pathlib import Path
>>> blob = model(graph([node("MatMul", ["x", "w"], ["y"])], [tensor("w", [4, 8], raw=128)]))
>>> with tempfile.TemporaryDirectory() as tmp:
...     write(Path(tmp) / "m.onnx", blob)
213
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

Blob = list[bytes | int]
"""Message bytes; an int is a run of that many zero bytes (a hole in the written file)."""

#: TensorProto.DataType ids (onnx.proto).
DATA_TYPE: dict[str, int] = {
    "FLOAT": 1, "UINT8": 2, "INT8": 3, "UINT16": 4, "INT16": 5, "INT32": 6, "INT64": 7,
    "STRING": 8, "BOOL": 9, "FLOAT16": 10, "DOUBLE": 11, "UINT32": 12, "UINT64": 13,
    "COMPLEX64": 14, "COMPLEX128": 15, "BFLOAT16": 16, "FLOAT8E4M3FN": 17, "UINT4": 21,
    "INT4": 22,
}  # fmt: skip
#: Bits per element, for payload sizes.
BITS: dict[str, int] = {
    "FLOAT": 32, "UINT8": 8, "INT8": 8, "UINT16": 16, "INT16": 16, "INT32": 32, "INT64": 64,
    "BOOL": 8, "FLOAT16": 16, "DOUBLE": 64, "UINT32": 32, "UINT64": 64, "COMPLEX64": 64,
    "COMPLEX128": 128, "BFLOAT16": 16, "FLOAT8E4M3FN": 8, "UINT4": 4, "INT4": 4,
}  # fmt: skip


def size(blob: Blob) -> int:
    """Bytes the blob stands for."""
    return sum(part if isinstance(part, int) else len(part) for part in blob)


def varint(n: int) -> bytes:
    """A protobuf varint (negative numbers as 10-byte two's complement, like int64)."""
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def key(field: int, wire: int) -> bytes:
    return varint(field << 3 | wire)


def vfield(field: int, value: int) -> Blob:
    """A varint field."""
    return [key(field, 0) + varint(value)]


def lfield(field: int, body: Blob | bytes | str) -> Blob:
    """A length-delimited field (a message, string or bytes)."""
    if isinstance(body, str):
        body = body.encode()
    parts: Blob = [body] if isinstance(body, bytes) else body
    return [key(field, 2) + varint(size(parts)), *parts]


def join(*blobs: Blob) -> Blob:
    return [part for blob in blobs for part in blob]


def tensor(
    name: str,
    dims: Sequence[int],
    dtype: str = "FLOAT",
    *,
    raw: int | bytes | None = None,
    packed_dims: bool = True,
    external: str | None = None,
    data_type_id: int | None = None,
    payload_field: int = 9,
    doc: str | None = None,
) -> Blob:
    """A TensorProto. ``raw``: payload bytes, or an int (that many zero bytes, a hole);
    None: the exact payload size of ``dims`` at ``dtype``, as a hole. ``external``: the data
    lives in that side file (``data_location = EXTERNAL``, no payload)."""
    elements = 1
    for d in dims:
        elements *= d
    if packed_dims:
        out = lfield(1, b"".join(varint(d) for d in dims)) if dims else []
    else:
        out = join(*(vfield(1, d) for d in dims))
    out += vfield(2, DATA_TYPE[dtype] if data_type_id is None else data_type_id)
    out += lfield(8, name)
    if doc is not None:
        out += lfield(12, doc)
    if external is not None:
        out += lfield(13, join(lfield(1, "location"), lfield(2, external)))
        out += lfield(13, join(lfield(1, "offset"), lfield(2, "0")))
        out += vfield(14, 1)
        return out
    if raw is None:
        raw = -(-elements * BITS[dtype] // 8)
    body: Blob = [raw]
    out += lfield(payload_field, body)
    return out


def attribute_tensor(name: str, value: Blob) -> Blob:
    """An AttributeProto holding a tensor (``t``; type TENSOR = 4)."""
    return join(lfield(1, name), lfield(5, value), vfield(20, 4))


def attribute_graph(name: str, value: Blob) -> Blob:
    """An AttributeProto holding a subgraph (``g``; type GRAPH = 5)."""
    return join(lfield(1, name), lfield(6, value), vfield(20, 5))


def attribute_int(name: str, value: int) -> Blob:
    return join(lfield(1, name), vfield(3, value), vfield(20, 2))


def node(
    op_type: str,
    inputs: Iterable[str] = (),
    outputs: Iterable[str] = (),
    *,
    domain: str | None = None,
    attributes: Iterable[Blob] = (),
    name: str | None = None,
) -> Blob:
    """A NodeProto."""
    out: Blob = []
    for i in inputs:
        out += lfield(1, i)
    for o in outputs:
        out += lfield(2, o)
    if name is not None:
        out += lfield(3, name)
    out += lfield(4, op_type)
    for attribute in attributes:
        out += lfield(5, attribute)
    if domain is not None:
        out += lfield(7, domain)
    return out


def value_info(name: str) -> Blob:
    """A ValueInfoProto with a name only."""
    return lfield(1, name)


def graph(
    nodes: Iterable[Blob],
    initializers: Iterable[Blob] = (),
    *,
    name: str = "main",
    inputs: Iterable[str] = ("x",),
    outputs: Iterable[str] = ("y",),
    sparse: Iterable[Blob] = (),
) -> Blob:
    """A GraphProto: nodes, name, initializers, sparse initializers, inputs, outputs."""
    out: Blob = []
    for n in nodes:
        out += lfield(1, n)
    out += lfield(2, name)
    for t in initializers:
        out += lfield(5, t)
    for i in inputs:
        out += lfield(11, value_info(i))
    for o in outputs:
        out += lfield(12, value_info(o))
    for s in sparse:
        out += lfield(15, s)
    return out


def sparse_tensor(values: Blob, indices: Blob, dims: Sequence[int]) -> Blob:
    """A SparseTensorProto."""
    return join(lfield(1, values), lfield(2, indices), lfield(3, b"".join(map(varint, dims))))


def model(
    main: Blob,
    *,
    ir_version: int = 9,
    producer: str | None = "thermal-scout-tests",
    producer_version: str | None = "1.0",
    opsets: Mapping[str, int] | None = None,
    metadata: Mapping[str, str] | None = None,
    opsets_first: bool = False,
) -> Blob:
    """A ModelProto. ``opsets_first``: opset_import before the graph (``onnx`` writes it
    after, in field-number order)."""
    out = vfield(1, ir_version)
    if producer is not None:
        out += lfield(2, producer)
    if producer_version is not None:
        out += lfield(3, producer_version)
    imports: Blob = []
    for domain, version in (opsets if opsets is not None else {"": 17}).items():
        entry: Blob = lfield(1, domain) if domain else []
        imports += lfield(8, join(entry, vfield(2, version)))
    if opsets_first:
        out += imports
    out += lfield(7, main)
    if not opsets_first:
        out += imports
    for k, v in (metadata or {}).items():
        out += lfield(14, join(lfield(1, k), lfield(2, v)))
    return out


def to_bytes(blob: Blob) -> bytes:
    """The blob with its holes as real zero bytes (small blobs only)."""
    return b"".join(bytes(part) if isinstance(part, int) else part for part in blob)


def write(path: Path, blob: Blob, *, cut: int = 0) -> int:
    """Write ``blob`` (holes seeked over: a sparse file), ``cut`` bytes short. Returns the size."""
    total = size(blob) - cut
    with path.open("wb") as f:
        for part in blob:
            if isinstance(part, int):
                f.seek(part, 1)
            else:
                f.write(part)
        f.truncate(total)
    return total


# -- a small decoder-only transformer, named as torch.onnx.export keeps HF names ------------


def llama_initializers(layers: int = 2, width: int = 64, ff: int = 128, vocab: int = 256,
                       dtype: str = "FLOAT16") -> list[Blob]:  # fmt: skip
    """HF-named initializers of a tiny llama at ``dtype`` (norms at FLOAT)."""
    out = [tensor("model.embed_tokens.weight", [vocab, width], dtype)]
    for i in range(layers):
        p = f"model.layers.{i}"
        out += [
            tensor(f"{p}.input_layernorm.weight", [width], "FLOAT"),
            tensor(f"{p}.self_attn.q_proj.weight", [width, width], dtype),
            tensor(f"{p}.self_attn.k_proj.weight", [width, width], dtype),
            tensor(f"{p}.self_attn.v_proj.weight", [width, width], dtype),
            tensor(f"{p}.self_attn.o_proj.weight", [width, width], dtype),
            tensor(f"{p}.post_attention_layernorm.weight", [width], "FLOAT"),
            tensor(f"{p}.mlp.gate_proj.weight", [ff, width], dtype),
            tensor(f"{p}.mlp.up_proj.weight", [ff, width], dtype),
            tensor(f"{p}.mlp.down_proj.weight", [width, ff], dtype),
        ]
    out += [
        tensor("model.norm.weight", [width], "FLOAT"),
        tensor("lm_head.weight", [vocab, width], dtype),
    ]
    return out


def llama_params(layers: int = 2, width: int = 64, ff: int = 128, vocab: int = 256) -> int:
    """Elements of :func:`llama_initializers`."""
    return 2 * vocab * width + layers * (2 * width + 4 * width * width + 3 * ff * width) + width


def llama_model(**kwargs: int | str) -> Blob:
    """A model of :func:`llama_initializers` with a plausible operator mix."""
    nodes = [node("Gather"), node("SimplifiedLayerNormalization")]
    nodes += [node("MatMul") for _ in range(7)] + [node("Softmax"), node("Mul"), node("Add")]
    return model(graph(nodes, llama_initializers(**kwargs)))  # type: ignore[arg-type]
