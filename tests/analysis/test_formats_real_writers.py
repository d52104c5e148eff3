"""Our header parsers against files written by each format's own library.

``safetensors.numpy.save_file``, ``gguf.GGUFWriter`` (with ``gguf.quants.quantize`` for the
block-quantised types) and ``onnx.helper``: the parameter counts, per-dtype counts and tensor
bytes we read must equal what the writer was given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

np = pytest.importorskip("numpy")
st_numpy = pytest.importorskip("safetensors.numpy")
ggufpkg = pytest.importorskip("gguf")
onnxpkg = pytest.importorskip("onnx")

from core.analysis.formats import gguf, onnx, safetensors  # noqa: E402

# -- safetensors ------------------------------------------------------------------------------

_ST_DTYPES = {
    "F32": np.float32,
    "F16": np.float16,
    "F64": np.float64,
    "I8": np.int8,
    "U8": np.uint8,
    "I32": np.int32,
    "I64": np.int64,
    "BOOL": np.bool_,
}


def _llama_shapes(layers: int, width: int, ff: int, vocab: int) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {"model.embed_tokens.weight": (vocab, width)}
    for i in range(layers):
        p = f"model.layers.{i}"
        shapes |= {
            f"{p}.self_attn.q_proj.weight": (width, width),
            f"{p}.self_attn.k_proj.weight": (width // 2, width),
            f"{p}.self_attn.v_proj.weight": (width // 2, width),
            f"{p}.self_attn.o_proj.weight": (width, width),
            f"{p}.mlp.gate_proj.weight": (ff, width),
            f"{p}.mlp.up_proj.weight": (ff, width),
            f"{p}.mlp.down_proj.weight": (width, ff),
            f"{p}.input_layernorm.weight": (width,),
        }
    shapes["model.norm.weight"] = (width,)
    shapes["lm_head.weight"] = (vocab, width)
    return shapes


def _bert_shapes(layers: int, width: int) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {
        "embeddings.word_embeddings.weight": (100, width),
        "embeddings.position_embeddings.weight": (32, width),
        "embeddings.position_ids": (1, 32),
    }
    for i in range(layers):
        p = f"encoder.layer.{i}"
        shapes |= {
            f"{p}.attention.self.query.weight": (width, width),
            f"{p}.attention.self.query.bias": (width,),
            f"{p}.intermediate.dense.weight": (4 * width, width),
            f"{p}.output.dense.weight": (width, 4 * width),
            f"{p}.output.LayerNorm.weight": (width,),
        }
    return shapes


def _arrays(shapes: dict[str, tuple[int, ...]], dtype_of: Any) -> dict[str, Any]:
    return {name: np.ones(shape, dtype=dtype_of(name)) for name, shape in shapes.items()}


def _expected(arrays: dict[str, Any], names: dict[Any, str]) -> tuple[int, dict[str, int]]:
    dtypes: dict[str, int] = {}
    for a in arrays.values():
        key = names[np.dtype(a.dtype).type]
        dtypes[key] = dtypes.get(key, 0) + a.size
    return sum(a.size for a in arrays.values()), dtypes


_ST_NAMES = {v: k for k, v in _ST_DTYPES.items()}


@pytest.mark.parametrize(
    ("shapes", "dtype_of"),
    [
        (_llama_shapes(2, 32, 64, 50), lambda n: np.float16),
        (_llama_shapes(3, 16, 48, 40), lambda n: np.float32 if "norm" in n else np.float16),
        (_bert_shapes(2, 16), lambda n: np.int64 if n.endswith("_ids") else np.float32),
        (
            {"w8": (7, 13), "scale": (7,), "mask": (3, 3), "big": (2, 3, 5, 7), "scalar": ()},
            lambda n: {"w8": np.int8, "scale": np.float64, "mask": np.bool_}.get(n, np.uint8),
        ),
    ],
    ids=["llama-f16", "llama-mixed", "bert-f32-i64", "odd-dtypes"],
)
def test_safetensors_numpy_writer(
    tmp_path: Path, shapes: dict[str, tuple[int, ...]], dtype_of: Any
) -> None:
    arrays = _arrays(shapes, dtype_of)
    path = tmp_path / "model.safetensors"
    st_numpy.save_file(arrays, str(path), metadata={"format": "pt"})
    header = safetensors.read_file(path)
    params, dtypes = _expected(arrays, _ST_NAMES)
    assert header.params == params
    assert header.dtypes == dtypes
    assert header.tensors == len(arrays)
    assert header.metadata == {"format": "pt"}
    data_bytes = sum(a.nbytes for a in arrays.values())
    with path.open("rb") as f:
        length = int.from_bytes(f.read(8), "little")
    assert path.stat().st_size == 8 + length + data_bytes


def test_safetensors_sharded_directory(tmp_path: Path) -> None:
    shapes = _llama_shapes(4, 16, 32, 30)
    arrays = _arrays(shapes, lambda n: np.float16)
    names = list(arrays)
    st_numpy.save_file({n: arrays[n] for n in names[:20]}, str(tmp_path / "a.safetensors"))
    st_numpy.save_file({n: arrays[n] for n in names[20:]}, str(tmp_path / "b.safetensors"))
    header = safetensors.read_directory(tmp_path)
    assert header is not None
    assert header.params == sum(a.size for a in arrays.values())
    assert header.dtypes == {"F16": header.params}
    assert header.tensors == len(arrays)


# -- GGUF ----------------------------------------------------------------------------------------

Q = ggufpkg.GGMLQuantizationType


def _gguf_tensor(writer: Any, name: str, shape: tuple[int, ...], qtype: Any) -> tuple[int, int]:
    """Add one tensor (numpy order, outermost first); returns (elements, bytes)."""
    rng = np.random.default_rng(len(name))
    data = rng.standard_normal(shape).astype(np.float32)
    if qtype == Q.F32:
        writer.add_tensor(name, data)
        return data.size, data.nbytes
    if qtype == Q.F16:
        half = data.astype(np.float16)
        writer.add_tensor(name, half)
        return half.size, half.nbytes
    packed = ggufpkg.quants.quantize(data, qtype)
    writer.add_tensor(name, packed, raw_shape=packed.shape, raw_dtype=qtype)
    block, size = ggufpkg.GGML_QUANT_SIZES[qtype]
    assert packed.nbytes == data.size // block * size
    return data.size, packed.nbytes


@pytest.mark.parametrize(
    ("arch", "layers", "types"),
    [
        ("llama", 2, {"attn": Q.F32, "ffn": Q.F32, "other": Q.F32}),
        ("llama", 3, {"attn": Q.F16, "ffn": Q.F16, "other": Q.F32}),
        ("qwen2", 2, {"attn": Q.Q8_0, "ffn": Q.Q8_0, "other": Q.F16}),
        ("llama", 2, {"attn": Q.Q8_0, "ffn": Q.Q4_0, "other": Q.F32}),
        ("gemma", 1, {"attn": Q.Q4_0, "ffn": Q.Q4_0, "other": Q.Q4_0}),
    ],
    ids=["f32", "f16", "q8_0", "q4_0-mixed", "q4_0"],
)
def test_gguf_writer(tmp_path: Path, arch: str, layers: int, types: dict[str, Any]) -> None:
    path = tmp_path / "model.gguf"
    writer = ggufpkg.GGUFWriter(str(path), arch)
    width, ff, vocab = 64, 128, 96
    writer.add_block_count(layers)
    writer.add_context_length(256)
    writer.add_embedding_length(width)
    writer.add_feed_forward_length(ff)
    writer.add_head_count(4)
    writer.add_head_count_kv(2)
    writer.add_name("tiny")
    expected_params: dict[str, int] = {}
    expected_bytes: dict[str, int] = {}
    count = 0

    def add(name: str, shape: tuple[int, ...], qtype: Any) -> None:
        nonlocal count
        elements, nbytes = _gguf_tensor(writer, name, shape, qtype)
        expected_params[qtype.name] = expected_params.get(qtype.name, 0) + elements
        expected_bytes[qtype.name] = expected_bytes.get(qtype.name, 0) + nbytes
        count += 1

    add("token_embd.weight", (vocab, width), types["other"])
    for i in range(layers):
        add(f"blk.{i}.attn_q.weight", (width, width), types["attn"])
        add(f"blk.{i}.attn_k.weight", (width // 2, width), types["attn"])
        add(f"blk.{i}.attn_v.weight", (width // 2, width), types["attn"])
        add(f"blk.{i}.attn_output.weight", (width, width), types["attn"])
        add(f"blk.{i}.ffn_up.weight", (ff, width), types["ffn"])
        add(f"blk.{i}.ffn_down.weight", (width, ff), types["ffn"])
    add("output.weight", (vocab, width), types["other"])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    header = gguf.read_file(path)
    assert header.architecture == arch
    assert header.tensor_count == count
    assert header.params_by_type == expected_params
    assert header.bytes_by_type == expected_bytes
    assert header.params == sum(expected_params.values())
    assert header.tensor_bytes == sum(expected_bytes.values())
    assert header.block_count == layers
    assert header.embedding_length == width
    # agrees with gguf's own reader, tensor by tensor (its shapes are innermost first too)
    theirs = {t.name: t for t in ggufpkg.GGUFReader(str(path)).tensors}
    for tensor in header.tensors:
        other = theirs[tensor.name]
        assert tensor.nbytes == int(other.n_bytes)
        assert tensor.shape == tuple(int(d) for d in other.shape)
        assert tensor.type == other.tensor_type.name
        assert header.data_offset + tensor.offset == int(other.data_offset)


# -- ONNX ----------------------------------------------------------------------------------------

TP = onnxpkg.TensorProto


def _init(name: str, shape: tuple[int, ...], dtype: int, *, raw: bool = True) -> Any:
    np_type = onnxpkg.helper.tensor_dtype_to_np_dtype(dtype)
    array = np.ones(shape, dtype=np_type)
    if raw:
        return onnxpkg.numpy_helper.from_array(array, name)
    return onnxpkg.helper.make_tensor(name, dtype, shape, array.flatten().tolist())


@pytest.mark.parametrize(
    "spec",
    [
        [("w", (16, 32), TP.FLOAT, True), ("b", (32,), TP.FLOAT, True)],
        [("w", (16, 32), TP.FLOAT16, True), ("b", (32,), TP.FLOAT, False)],
        [("w", (8, 8), TP.INT8, True), ("scale", (), TP.FLOAT, True), ("zp", (), TP.INT8, True),
         ("idx", (4,), TP.INT64, False), ("d", (3, 3), TP.DOUBLE, False)],
    ],
    ids=["f32", "f16-typed", "int8-mixed"],
)  # fmt: skip
def test_onnx_helper(tmp_path: Path, spec: list[tuple[str, tuple[int, ...], int, bool]]) -> None:
    inits = [_init(name, shape, dtype, raw=raw) for name, shape, dtype, raw in spec]
    nodes = [onnxpkg.helper.make_node("Identity", [i.name], [f"{i.name}_out"]) for i in inits]
    outputs = [
        onnxpkg.helper.make_tensor_value_info(f"{i.name}_out", i.data_type, list(i.dims))
        for i in inits
    ]
    graph = onnxpkg.helper.make_graph(nodes, "g", [], outputs, initializer=inits)
    model = onnxpkg.helper.make_model(graph, producer_name="test")
    onnxpkg.checker.check_model(model)
    path = tmp_path / "model.onnx"
    onnxpkg.save(model, str(path))

    header = onnx.read_file(path)
    expected_dtypes: dict[str, int] = {}
    expected_bytes: dict[str, int] = {}
    for _name, shape, dtype, _raw in spec:
        key = TP.DataType.Name(dtype)
        elements = int(np.prod(shape)) if shape else 1
        itemsize = onnxpkg.helper.tensor_dtype_to_np_dtype(dtype).itemsize
        expected_dtypes[key] = expected_dtypes.get(key, 0) + elements
        expected_bytes[key] = expected_bytes.get(key, 0) + elements * itemsize
    assert header.params == sum(expected_dtypes.values())
    assert header.dtypes == expected_dtypes
    assert header.bytes_by_dtype == expected_bytes
    assert header.tensor_bytes == sum(expected_bytes.values())
    assert [t.name for t in header.tensors] == [s[0] for s in spec]
    assert [t.shape for t in header.tensors] == [s[1] for s in spec]
    assert header.ops == {"Identity": len(spec)}
    assert header.producer == "test"
