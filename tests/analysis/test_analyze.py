"""The combined analysis and its JSON."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from core.analysis.analyze import analyze
from core.analysis.hardware_profiles import profile_for
from core.analysis.model_config import ModelConfig
from core.analysis.precision import parse_precision
from core.errors import AnalysisError

GIB = 1024**3
LLAMA_31_8B = ModelConfig("llama", 32, 4096, 32, 8, 128, 14336, 128256, max_context=131072)
LLAMA_PARAMS = 8_030_261_248
MIXTRAL = ModelConfig(
    "mixtral", 32, 4096, 32, 8, 128, 14336, 32000, num_experts=8, num_experts_per_tok=2
)
BERT_BASE = ModelConfig(
    "bert", 12, 768, 12, 12, 64, 3072, 30522, architecture_class="encoder-only", gated_mlp=False
)


def llama_on(hardware: str, **kw: Any) -> dict[str, Any]:
    a = analyze(
        LLAMA_31_8B,
        LLAMA_PARAMS,
        LLAMA_PARAMS,
        name="meta-llama/Llama-3.1-8B",
        hardware=profile_for(hardware),
        **kw,
    )
    return a.to_json()


def test_json_keys_and_values() -> None:
    j = llama_on("H100 SXM 80GB", precision="bf16", context=8192, batch=1)
    for key in (
        "id",
        "architecture_class",
        "params",
        "memory_bytes",
        "kv_cache_bytes",
        "context",
        "fit",
        "estimates",
        "thermal",
    ):
        assert key in j, key
    assert j["id"] == "meta-llama/Llama-3.1-8B"
    assert j["architecture_class"] == "decoder-only"
    assert j["params"] == {"total": LLAMA_PARAMS, "active": LLAMA_PARAMS}
    assert j["context"] == 8192
    assert j["kv_cache_bytes"] == GIB

    memory = j["memory_bytes"]
    assert isinstance(memory, dict)
    assert {"fp32", "bf16", "fp8", "int4"} <= set(memory)
    assert memory["fp32"] > memory["bf16"] > memory["fp8"] > memory["int4"]

    fit = j["fit"]
    assert fit == {
        "level": "fits",
        "required_bytes": memory["bf16"],
        "available_bytes": 80 * GIB,
        "device": "H100 SXM 80GB",
    }

    estimates = j["estimates"]
    assert isinstance(estimates, dict)
    assert set(estimates) >= {
        "decode_tokens_per_s",
        "prefill_tokens_per_s",
        "power_w",
        "joules_per_token",
        "bound",
        "method",
        "confidence",
    }
    assert estimates["bound"] == "memory-bound"
    assert estimates["confidence"]["level"] == "medium"
    low, high = estimates["confidence"]["decode_tokens_per_s"]
    assert low < estimates["decode_tokens_per_s"] < high

    thermal = j["thermal"]
    assert isinstance(thermal, dict)
    assert thermal["source"] == "estimated"
    assert thermal["class"] == "very-high"  # ~390 W on an H100
    assert thermal["heuristic"]["score"] == 4
    assert thermal["heuristic"]["class"] == "high"

    json.dumps(j)  # serialisable as is


def test_fit_levels_follow_free_memory() -> None:
    assert llama_on("RTX 4090", precision="bf16", context=65536)["fit"]["level"] == "too-tight"
    assert llama_on("RTX 4090", precision="Q4_K_M", context=8192)["fit"]["level"] == "fits"
    assert llama_on("RTX 3060 12GB", precision="Q8_0", context=8192)["fit"]["level"] == "tight"


def test_chosen_gguf_precision_is_reported_too() -> None:
    j = llama_on("RTX 4090", precision=parse_precision("Q4_K_M"))
    assert "Q4_K_M" in j["memory_bytes"]
    assert j["precision"] == "Q4_K_M"


def test_measured_watts_win() -> None:
    a = analyze(
        LLAMA_31_8B,
        LLAMA_PARAMS,
        LLAMA_PARAMS,
        name="meta-llama/Llama-3.1-8B",
        hardware=profile_for("Apple M1 Max 64 GB"),
        precision="Q4_K_M",
        measured_w=42.0,
    )
    assert (a.thermal.klass, a.thermal.source, a.thermal.watts) == ("medium", "measured", 42.0)


def test_moe_uses_active_params_for_speed_and_total_for_memory() -> None:
    total, active = 46_702_792_704, 12_879_921_152
    h100 = profile_for("H100 SXM 80GB")
    a = analyze(MIXTRAL, total, active, name="mistralai/Mixtral-8x7B-v0.1", hardware=h100)
    assert a.memory.weights_bytes == 2 * total
    dense = analyze(MIXTRAL, active, active, name="x", hardware=h100)
    assert a.estimates.decode_tokens_per_s == pytest.approx(dense.estimates.decode_tokens_per_s)
    assert a.estimates.confidence.level == "low"


def test_encoder_only_has_no_decode_and_no_kv() -> None:
    a = analyze(
        BERT_BASE,
        110_106_428,
        110_106_428,
        name="google-bert/bert-base-uncased",
        hardware=profile_for("T4"),
        precision="fp32",
        context=512,
    )
    j = a.to_json()
    assert j["kv_cache_bytes"] == 0
    assert j["estimates"]["decode_tokens_per_s"] is None
    assert j["estimates"]["confidence"]["decode_tokens_per_s"] is None
    assert j["estimates"]["prefill_tokens_per_s"] > 0


@pytest.mark.parametrize(
    ("total", "active"), [(0, 0), (10, 0), (10, 20)], ids=["zero", "no-active", "active>total"]
)
def test_bad_param_counts(total: int, active: int) -> None:
    with pytest.raises(AnalysisError):
        analyze(LLAMA_31_8B, total, active, name="x", hardware=profile_for("L4"))


def test_bad_precision_raises() -> None:
    with pytest.raises(AnalysisError):
        analyze(LLAMA_31_8B, 10, 10, name="x", hardware=profile_for("L4"), precision="fp12")


def test_ten_thousand_analyses_are_fast() -> None:
    """A sanity bound (not a timing assertion on one call): 10,000 well under 10 s."""
    hardware = profile_for("RTX 4090")
    start = time.perf_counter()
    for i in range(10_000):
        analyze(
            LLAMA_31_8B,
            LLAMA_PARAMS,
            LLAMA_PARAMS,
            name=f"org/model-{i}",
            hardware=hardware,
            precision="Q4_K_M",
            context=4096,
        )
    assert time.perf_counter() - start < 10.0
