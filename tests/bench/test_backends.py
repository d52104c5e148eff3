"""Backends in-process: the command backend's parsing, onnxruntime on a tiny model, extras."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from core.bench.backends import RunTiming, load_backend, missing_dependency
from core.bench.backends.command import CommandBackend, parse_token_count
from core.bench.errors import BackendMissing, BenchError


def _quiet(tokens: int, seconds: float) -> None:
    pass


@pytest.mark.parametrize(
    ("line", "pattern", "expected"),
    [
        ("llama_print_timings: eval time = 912 ms / 127 runs", r"/ (\d+) runs", 127),
        ("tg128 | 64.20 ± 0.1", r"tg(\d+)", 128),
        ("total: 1,024 tokens", r"([\d,]+) tokens", 1024),
        ("out=2_048", r"out=(?P<tokens>[\d_]+)", 2048),
        ("42 tokens", r"\d+ tokens", 42),  # no group: the first number of the match
        ("no numbers here", r"here", None),
        ("nothing", r"(\d+) tokens", None),
    ],
)
def test_token_regex(line: str, pattern: str, expected: int | None) -> None:
    assert parse_token_count(line, re.compile(pattern)) == expected


def test_command_backend_takes_the_last_match() -> None:
    code = "print('step 1: 10 tokens'); print('step 2: 30 tokens'); print('bye')"
    backend = CommandBackend({"argv": [sys.executable, "-c", code], "token_regex": r"(\d+) tokens"})
    backend.prepare()
    timing = backend.run_once(1, 1, _quiet)
    assert timing.tokens == 30
    assert timing.decode_tokens == 30 and timing.decode_s == timing.wall_s
    assert timing.output_tail == ("step 1: 10 tokens", "step 2: 30 tokens", "bye")


def test_command_backend_without_a_command() -> None:
    with pytest.raises(BenchError, match="no command to run"):
        CommandBackend({"argv": []}).prepare()


def test_run_timing_round_trips_as_json() -> None:
    timing = RunTiming(1.5, 128, 16, 0.1, 0.1, 1.4, 127, None, ("a",))
    assert RunTiming.from_json(timing.to_json()) == timing


def test_unknown_backend_path() -> None:
    with pytest.raises(BenchError, match="unknown backend"):
        load_backend({"backend": "vllm"})
    with pytest.raises(BenchError, match="cannot load backend"):
        load_backend({"backend": "tests.bench.nowhere:Nothing"})


def test_missing_onnxruntime_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    from core.bench.backends.onnx_runtime import OnnxBackend

    with pytest.raises(BackendMissing, match=r"pip install 'thermal-scout\[onnx\]'"):
        OnnxBackend({"path": "x.onnx"}).prepare()


def test_missing_torch_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    from core.bench.backends.hf_transformers import TransformersBackend

    with pytest.raises(BackendMissing, match=r"pip install 'thermal-scout\[bench\]'"):
        TransformersBackend({"hf_config": {"model_type": "llama"}}).prepare()
    assert missing_dependency("command") is None


def _tiny_encoder(path: Path) -> None:
    """An 'encoder': token ids → embedding lookup → mean over the sequence."""
    onnx = pytest.importorskip("onnx")
    np = pytest.importorskip("numpy")
    from onnx import TensorProto, helper, numpy_helper

    table = numpy_helper.from_array(
        np.random.default_rng(0).standard_normal((100, 16)).astype("float32"), "table"
    )
    graph = helper.make_graph(
        [
            helper.make_node("Gather", ["table", "input_ids"], ["embedded"]),
            helper.make_node("ReduceMean", ["embedded"], ["pooled"], axes=[1], keepdims=0),
        ],
        "tiny",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info(
                "attention_mask", TensorProto.INT64, ["batch", "sequence"]
            ),
        ],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", 16])],
        [table],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))


def test_onnxruntime_backend_on_a_tiny_encoder(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    path = tmp_path / "tiny.onnx"
    _tiny_encoder(path)
    backend = load_backend({"backend": "onnxruntime", "path": str(path), "batch": 3})
    info = backend.prepare()
    assert info.weights == "file"
    seen: list[int] = []
    timing = backend.run_once(32, 1, lambda tokens, seconds: seen.append(tokens))
    assert timing.tokens == 3 * 32 and timing.items == 3
    assert timing.prefill_s is not None and timing.prefill_s > 0
    assert seen == [96]
    backend.close()


def test_onnxruntime_backend_rejects_a_bad_file(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"not a model")
    with pytest.raises(BenchError, match="onnxruntime cannot load it"):
        load_backend({"backend": "onnxruntime", "path": str(path)}).prepare()
