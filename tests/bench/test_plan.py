"""Planning: everything that must fail before a process starts, and the prediction."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from core.bench.errors import BackendMissing, BenchError, BenchRefused
from core.bench.fingerprint import fingerprint_of
from core.bench.plan import BenchSpec, normalize_dtype, plan_benchmark
from core.errors import CatalogError
from tests.bench.conftest import machine

SMALL = "HuggingFaceTB/SmolLM2-135M"


def plan(target: str = SMALL, *, gpu: bool = False, ram_gib: int = 32, **spec: Any) -> Any:
    return plan_benchmark(
        BenchSpec(target=target, **spec), hardware=machine(gpu=gpu, ram_gib=ram_gib)
    )


@pytest.fixture(autouse=True)
def _extras_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plans do not need torch itself, only to know it is there."""
    real = importlib.util.find_spec

    def find(name: str, *args: Any) -> Any:
        if name in ("torch", "transformers", "onnxruntime"):
            return object()
        return real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find)


def test_a_catalog_model_on_the_cpu() -> None:
    p = plan(new_tokens=4, prompt_tokens=8)
    assert p.model == SMALL and p.backend == "transformers"
    assert p.device == "cpu" and p.dtype == "float32" and p.target.kind == "cpu"
    assert p.child_config["hf_config"]["model_type"] == "llama"
    assert p.child_config["weights"] == "random"
    assert p.prediction is not None
    assert p.prediction.precision == "fp32" and p.prediction.fit_level == "fits"
    assert p.prediction.decode_tokens_per_s is not None and p.prediction.decode_tokens_per_s > 0
    assert p.warmup == 1
    assert p.fingerprint == fingerprint_of(machine())


def test_cuda_defaults_to_bf16_and_watches_that_gpu() -> None:
    p = plan("meta-llama/Llama-3.1-8B", gpu=True, device="cuda")
    assert p.device == "cuda:0" and p.dtype == "bfloat16"
    assert p.target.kind == "gpu" and p.target.index == 0
    assert p.prediction is not None and p.prediction.hardware == "NVIDIA H100 80GB HBM3"
    assert p.prediction.precision == "bf16"


def test_a_model_that_does_not_fit_is_refused_with_the_numbers() -> None:
    with pytest.raises(BenchRefused) as caught:
        plan("meta-llama/Llama-3.1-70B", gpu=True, device="cuda")
    message = str(caught.value)
    assert "does not fit on cuda:0" in message
    assert "GB at bf16" in message and "GB is free" in message
    assert "--force" in message
    forced = plan("meta-llama/Llama-3.1-70B", gpu=True, device="cuda", force=True)
    assert any(note.startswith("--force:") for note in forced.notes)


def test_fp32_refusal_suggests_bf16() -> None:
    with pytest.raises(BenchRefused, match="--dtype bf16"):
        plan("meta-llama/Llama-3.1-8B", ram_gib=16)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"device": "cuda"}, "no NVIDIA GPU found"),
        ({"device": "tpu"}, "unknown device"),
        ({"dtype": "int3"}, "unknown dtype"),
        ({"backend": "vllm"}, "unknown backend"),
        ({"new_tokens": 0}, "tokens must be at least 1"),
        ({"repeat": 0}, "repeat must be at least 1"),
        ({"weights": "maybe"}, "weights must be"),
    ],
)
def test_bad_options_fail_before_anything_starts(spec: dict[str, Any], match: str) -> None:
    with pytest.raises(BenchError, match=match):
        plan(**spec)


def test_unknown_model_and_non_generating_model() -> None:
    with pytest.raises(CatalogError, match="unknown model id"):
        plan("nobody/NoSuchModel-7B")
    with pytest.raises(BenchError, match="not a text generation model"):
        plan("google-bert/bert-base-uncased")


def test_a_config_json_is_benchmarked_with_random_weights(tmp_path: Path) -> None:
    config = {
        "model_type": "llama",
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab_size": 1000,
    }
    directory = tmp_path / "tiny-llama"
    directory.mkdir()
    (directory / "config.json").write_text(__import__("json").dumps(config))
    p = plan(str(directory))
    assert p.model == "tiny-llama"
    assert p.child_config["hf_config"] == config
    assert p.prediction is not None  # analysed from the config


def test_missing_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name in ("torch", "onnxruntime") else real(name, *a),
    )
    with pytest.raises(BackendMissing, match=r"pip install 'thermal-scout\[bench\]'"):
        plan()
    with pytest.raises(BackendMissing, match=r"thermal-scout\[onnx\]"):
        plan("model.onnx", backend="onnxruntime")


def test_command_plans() -> None:
    with pytest.raises(BenchError, match="needs a command after --"):
        plan("llama", backend="command")
    with pytest.raises(BenchError, match="not a valid regular expression"):
        plan("llama", backend="command", command=("true",), token_regex="(")
    p = plan("meta-llama/Llama-3.1-8B", backend="command", command=("true",), gpu=True)
    assert p.device == "cuda:0"  # a command watches the GPU when there is one
    assert p.warmup == 0
    assert p.prediction is not None  # a catalog name gives a prediction
    assert any("no token count" in note for note in p.notes)
    label = plan("my-server", backend="command", command=("true",), tokens=10)
    assert label.prediction is None and label.prediction_note is not None


def test_dtype_spellings() -> None:
    assert normalize_dtype("fp16") == "float16"
    assert normalize_dtype("BFLOAT16") == "bfloat16"


def test_cuda_visible_devices_renumbers_the_child_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    p = plan(gpu=True, device="cuda:0")
    assert p.device == "cuda:0" and p.child_config["device"] == "cuda:0"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    with pytest.raises(BenchError, match="hidden by CUDA_VISIBLE_DEVICES=3"):
        plan(gpu=True, device="cuda:0")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-8a1b")
    with pytest.raises(BenchError, match="by UUID"):
        plan(gpu=True, device="cuda")


def test_a_performance_profile_sets_device_dtype_and_threads() -> None:
    from core.bench.plan import spec_from_profile

    settings = {"device": "cpu", "dtype": "bfloat16", "threads": 4, "temperature": 0.7}
    spec = spec_from_profile(SMALL, settings, profile="quality", new_tokens=16)
    assert (spec.device, spec.dtype, spec.threads, spec.profile) == (
        "cpu",
        "bfloat16",
        4,
        "quality",
    )
    assert spec.new_tokens == 16
    p = plan_benchmark(spec, hardware=machine())
    assert p.dtype == "bfloat16" and p.child_config["threads"] == 4
    with pytest.raises(BenchError, match="int4 cannot be built"):
        spec_from_profile(SMALL, {"dtype": "int4"})
