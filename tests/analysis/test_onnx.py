"""ONNX headers: initializers, operators, opsets; payloads never read; every bad input one line."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import IO, Any

import pytest

from core.analysis.formats import onnx
from core.catalog.rows import AnalysisSettings
from core.catalog.targets import analyze_target
from core.errors import AnalysisError
from tests.fakes.onnx_file import (
    attribute_graph,
    attribute_int,
    attribute_tensor,
    graph,
    join,
    lfield,
    llama_initializers,
    llama_model,
    llama_params,
    model,
    node,
    size,
    sparse_tensor,
    tensor,
    to_bytes,
    vfield,
    write,
)


class CountingReader(io.RawIOBase):
    """A file wrapper counting the bytes read through it."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.bytes_read = 0
        self.reads = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self._handle.read(n)
        self.bytes_read += len(data)
        self.reads += 1
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()


def read(blob: list[bytes | int]) -> onnx.OnnxHeader:
    data = to_bytes(blob)
    return onnx.read_header(io.BytesIO(data), size=len(data), where="m.onnx")


def test_initializers_ops_opsets_producer_metadata() -> None:
    nodes = [
        node("MatMul", ["x", "w"], ["h"]),
        node("Add", ["h", "b"], ["y"]),
        node("Attention", domain="com.microsoft"),
        node("MatMul"),
    ]
    inits = [
        tensor("w", [64, 32], "FLOAT16"),
        tensor("b", [32], "FLOAT"),
        tensor("shape", [2], "INT64"),
        tensor("q", [16, 8], "INT4"),
    ]
    blob = model(
        graph(nodes, inits, name="torch_jit"),
        ir_version=8,
        producer="pytorch",
        producer_version="2.5.0",
        opsets={"": 17, "com.microsoft": 1},
        metadata={"author": "tests"},
    )
    h = read(blob)
    assert (h.ir_version, h.producer, h.producer_version, h.graph_name) == (
        8,
        "pytorch",
        "2.5.0",
        "torch_jit",
    )
    assert h.opsets == {"ai.onnx": 17, "com.microsoft": 1}
    assert h.metadata == {"author": "tests"}
    assert h.params == 64 * 32 + 32 + 2 + 128
    assert h.dtypes == {"FLOAT16": 2048, "FLOAT": 32, "INT64": 2, "INT4": 128}
    assert h.tensor_bytes == 2048 * 2 + 32 * 4 + 2 * 8 + 64
    assert h.ops == {"MatMul": 2, "Add": 1, "com.microsoft.Attention": 1}
    assert h.nodes == 4 and h.dominant_dtype == "FLOAT16"
    assert [t.name for t in h.tensors] == ["w", "b", "shape", "q"]
    assert h.tensors[0].shape == (64, 32) and not h.tensors[0].external
    assert h.notes == ()


def test_field_order_and_dims_encoding_do_not_matter() -> None:
    inits = [tensor("w", [3, 5, 7], packed_dims=False), tensor("v", [0, 4])]
    after = read(model(graph([node("Conv")], inits), opsets={"": 13}))
    before = read(model(graph([node("Conv")], inits), opsets={"": 13}, opsets_first=True))
    packed = read(model(graph([node("Conv")], [tensor("w", [3, 5, 7]), tensor("v", [0, 4])])))
    assert after.opsets == before.opsets == {"ai.onnx": 13}
    assert after.params == before.params == packed.params == 105
    assert after.tensors[0].shape == packed.tensors[0].shape == (3, 5, 7)
    assert after.tensors[1].elements == 0


def test_a_huge_inline_payload_is_seeked_past_not_read(tmp_path: Path) -> None:
    big = 1536 * 1024 * 1024  # 1.5 GiB of raw_data (a hole: the file is sparse)
    inits = [tensor("big", [big // 2], "FLOAT16", raw=big), tensor("small", [4])]
    path = tmp_path / "big.onnx"
    file_size = write(path, model(graph([node("MatMul")], inits)))
    assert file_size > big
    with path.open("rb") as raw:
        counting = CountingReader(raw)
        started = time.perf_counter()
        h = onnx.read_header(counting, size=file_size, where=str(path))
        elapsed = time.perf_counter() - started
    assert h.params == big // 2 + 4
    assert h.opsets == {"ai.onnx": 17}  # found after the payload
    assert counting.bytes_read < 256 * 1024, counting.bytes_read
    assert h.bytes_read == counting.bytes_read
    assert elapsed < 1.0


def test_read_time_is_independent_of_payload_size(tmp_path: Path) -> None:
    def bytes_read(payload: int) -> int:
        path = tmp_path / f"m{payload}.onnx"
        file_size = write(path, model(graph([node("MatMul")], [tensor("w", [payload])])))
        with path.open("rb") as raw:
            counting = CountingReader(raw)
            onnx.read_header(counting, size=file_size)
        return counting.bytes_read

    # the reader reads in 64 KiB chunks: one before the payload, one after it at most
    sizes = [bytes_read(n) for n in (1024 * 1024, 64 * 1024 * 1024, 1024 * 1024 * 1024)]
    assert all(n <= 2 * 64 * 1024 for n in sizes), sizes
    assert sizes[0] == sizes[1] == sizes[2]


def test_external_data(tmp_path: Path) -> None:
    inits = [
        tensor("w0", [1024, 1024], "BFLOAT16", external="weights.bin"),
        tensor("w1", [1024], "BFLOAT16", external="weights.bin"),
        tensor("inline", [8]),
    ]
    path = tmp_path / "ext.onnx"
    write(path, model(graph([node("MatMul")], inits)))
    h = onnx.read_file(path)
    assert h.params == 1024 * 1024 + 1024 + 8
    assert h.external_params == 1024 * 1024 + 1024
    assert h.external_files == ("weights.bin",)
    assert h.tensors[0].external and h.tensors[0].location == "weights.bin"
    assert any("external data file(s) not found" in n and "weights.bin" in n for n in h.notes)
    (tmp_path / "weights.bin").write_bytes(b"")
    assert not any("not found" in n for n in onnx.read_file(path).notes)


def test_constants_subgraphs_and_sparse_initializers() -> None:
    then_branch = graph([node("Identity")], [tensor("then.w", [10])], name="then")
    nodes = [
        node("Constant", outputs=["c"], attributes=[attribute_tensor("value", tensor("", [3, 3]))]),
        node("If", ["cond"], ["y"], attributes=[attribute_graph("then_branch", then_branch)]),
        node("Gemm", attributes=[attribute_int("transB", 1)]),
    ]
    sparse = sparse_tensor(tensor("s", [5]), tensor("s.idx", [5], "INT64"), [100, 100])
    h = read(model(graph(nodes, [tensor("w", [4, 4])], sparse=[sparse])))
    assert h.constant_params == 9
    assert h.subgraphs == 1 and h.graph_name == "main"
    assert h.params == 16 + 9 + 10 + 5
    assert h.ops == {"Constant": 1, "Gemm": 1, "Identity": 1, "If": 1}
    assert {t.kind for t in h.tensors} == {"initializer", "constant", "sparse"}
    assert any("subgraph" in n for n in h.notes)


def test_typed_data_fields_count_too() -> None:
    # float_data (field 4) instead of raw_data: the payload is skipped all the same
    h = read(model(graph([node("Add")], [tensor("w", [6], raw=24, payload_field=4)])))
    assert h.params == 6 and h.dtypes == {"FLOAT": 6} and h.tensors[0].stored_bytes == 24


def test_a_raw_data_size_mismatch_is_noted() -> None:
    h = read(model(graph([node("Add")], [tensor("w", [6], raw=20)])))
    assert h.notes and "20 bytes stored, its shape needs 24" in h.notes[0]


def test_fingerprint_ignores_payload_bytes_but_not_the_header() -> None:
    def fp(**kw: Any) -> str:
        inits = [tensor(kw.get("name", "w"), kw.get("dims", [4, 4]), raw=kw.get("raw", bytes(64)))]
        return read(model(graph([node(kw.get("op", "MatMul"))], inits))).fingerprint

    base = fp()
    assert fp(raw=bytes(range(64))) == base  # other weights, same header
    assert fp(name="v") != base
    assert fp(dims=[2, 8]) != base
    assert fp(op="Gemm") != base
    assert len(base) == 64


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not an ONNX model (empty file)"),
        (b"hello, world\n", "not ONNX"),
        (b'{"a": 1}', "not ONNX"),
        (to_bytes(vfield(1, 9) + lfield(2, "x")), "no graph"),
        (to_bytes(vfield(1, 9))[:1], "truncated"),
        (to_bytes(join(vfield(1, 9), lfield(7, b"\x0a\xff\x7f"))), "truncated"),
    ],
)
def test_bad_input_is_one_line(data: bytes, message: str) -> None:
    with pytest.raises(AnalysisError) as info:
        onnx.read_header(io.BytesIO(data), size=len(data), where="bad.onnx")
    text = str(info.value)
    assert text.startswith("bad.onnx: ") and message in text and "\n" not in text


def test_truncated_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "cut.onnx"
    blob = model(graph([node("MatMul")], [tensor("w", [1024, 1024])]))
    write(path, blob, cut=1000)
    with pytest.raises(AnalysisError, match=r"truncated or not ONNX: field 7 .* past the end"):
        onnx.read_file(path)
    assert size(blob) - 1000 == path.stat().st_size


@pytest.mark.parametrize(
    ("init", "message"),
    [
        (tensor("w", [2], data_type_id=99), "unknown data type 99"),
        (tensor("w", [-1, 2], raw=b""), "negative dimension"),
        (tensor("w", [2**40, 2**40], raw=b""), "absurd shape"),
    ],
)
def test_bad_tensors(init: list[bytes | int], message: str) -> None:
    with pytest.raises(AnalysisError, match=message):
        read(model(graph([node("Add")], [init])))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AnalysisError, match="cannot read"):
        onnx.read_file(tmp_path / "nope.onnx")


# -- against the onnx package (optional extra) -------------------------------------------------


def test_fake_files_parse_with_the_onnx_package() -> None:
    onnx_pkg = pytest.importorskip("onnx")
    proto = onnx_pkg.load_from_string(to_bytes(llama_model()))
    assert len(proto.graph.initializer) == len(llama_initializers())
    assert proto.opset_import[0].version == 17


def test_agrees_with_the_onnx_package(tmp_path: Path) -> None:
    onnx_pkg = pytest.importorskip("onnx")
    np = pytest.importorskip("numpy")
    from onnx import TensorProto, helper, numpy_helper

    inits = [
        numpy_helper.from_array(np.zeros((64, 32), np.float16), "model.layers.0.mlp.up_proj"),
        numpy_helper.from_array(np.zeros((32,), np.float32), "model.layers.0.mlp.up_proj.bias"),
        numpy_helper.from_array(np.zeros((8, 8), np.int8), "q"),
        helper.make_tensor("shape", TensorProto.INT64, [2], [1, 2]),
    ]
    constant = helper.make_node(
        "Constant", [], ["c"], value=numpy_helper.from_array(np.zeros((3,), np.float32))
    )
    nodes = [
        constant,
        helper.make_node("MatMul", ["x", "model.layers.0.mlp.up_proj"], ["h"]),
        helper.make_node("Add", ["h", "model.layers.0.mlp.up_proj.bias"], ["y"]),
    ]
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT16, [1, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 32])],
        inits,
    )
    proto = helper.make_model(
        g,
        producer_name="onnx-helper",
        opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("com.microsoft", 1)],
    )
    path = tmp_path / "real.onnx"
    onnx_pkg.save_model(proto, str(path))
    h = onnx.read_file(path)
    expected = sum(int(np.prod(t.dims)) for t in proto.graph.initializer) + 3
    assert h.params == expected
    assert h.opsets == {"ai.onnx": 18, "com.microsoft": 1}
    assert h.ops == {n.op_type: 1 for n in proto.graph.node}
    assert h.producer == "onnx-helper" and h.ir_version == proto.ir_version
    assert h.dtypes == {"FLOAT16": 2048, "FLOAT": 35, "INT8": 64, "INT64": 2}

    # the package's own external-data layout
    external = tmp_path / "ext" / "model.onnx"
    external.parent.mkdir()
    onnx_pkg.save_model(
        proto,
        str(external),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="model.onnx.data",
        size_threshold=0,
    )
    e = onnx.read_file(external)
    assert e.params == expected and e.external_files == ("model.onnx.data",)
    assert e.external_params >= 2048 + 32 + 64
    assert not any("not found" in n for n in e.notes)


# -- analyze ----------------------------------------------------------------------------------


def settings() -> AnalysisSettings:
    from core.analysis.hardware_profiles import profile_for

    return AnalysisSettings(profile_for("RTX 4090"))


def test_analyze_onnx_at_its_own_dtypes(tmp_path: Path) -> None:
    path = tmp_path / "tiny-llama.onnx"
    write(path, llama_model())
    row = analyze_target(str(path), settings(), precision_explicit=False)
    assert row.id == "tiny-llama" and row.source == "registry"
    assert row.params_total == llama_params()
    assert row.analysis is not None
    assert row.analysis.architecture_class == "decoder-only"
    assert row.analysis.precision.name == "fp16"
    # the exact bytes of the initializers: FLOAT16 weights, FLOAT norms
    assert row.analysis.memory.weights_bytes == (llama_params() - 320) * 2 + 320 * 4
    assert "onnx initializers" in row.params_method and "transformer-decoder" in row.params_method
    asked = analyze_target(str(path), settings(), precision_explicit=True)
    assert asked.analysis is not None and asked.analysis.precision.name == "bf16"
    assert "as asked" in asked.params_method


def test_analyze_onnx_without_initializers_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty-graph.onnx"
    write(path, model(graph([node("Identity")])))
    with pytest.raises(AnalysisError, match="no initializers"):
        analyze_target(str(path), settings())
