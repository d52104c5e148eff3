"""Roofline speed, bound, power and energy."""

from __future__ import annotations

import dataclasses

import pytest

from core.analysis.hardware_profiles import profile_for
from core.analysis.precision import BF16, INT4, parse_precision
from core.analysis.roofline import (
    COMPUTE_EFFICIENCY,
    CONFIDENCE_BANDS,
    DECODE_EFFICIENCY,
    MEMORY_BOUND_POWER_SHARE,
    estimate,
)
from core.errors import AnalysisError

LLAMA_8B = 8_030_261_248
H100 = profile_for("H100 SXM 80GB")


def test_llama_8b_bf16_on_h100_decode() -> None:
    e = estimate(LLAMA_8B, BF16, H100)
    eff = DECODE_EFFICIENCY["gpu"]
    assert e.decode_tokens_per_s == pytest.approx(3350e9 * eff / 16_060_522_496)
    assert e.decode_tokens_per_s == pytest.approx(146.0, abs=0.1)
    assert e.bound == "memory-bound"
    assert e.bytes_per_step == 16_060_522_496
    assert e.decode_efficiency == eff


def test_kv_read_slows_decode() -> None:
    kv = 1024**3
    e = estimate(LLAMA_8B, BF16, H100, kv_bytes=kv)
    eff = DECODE_EFFICIENCY["gpu"]
    assert e.decode_tokens_per_s == pytest.approx(3350e9 * eff / (16_060_522_496 + kv))
    assert e.bytes_per_step == 16_060_522_496 + kv


def test_quantised_weights_decode_faster() -> None:
    bf16 = estimate(LLAMA_8B, BF16, H100).decode_tokens_per_s
    int4 = estimate(LLAMA_8B, INT4, H100).decode_tokens_per_s
    assert bf16 is not None and int4 is not None
    assert int4 == pytest.approx(4 * bf16)


def test_prefill_is_compute_bound_for_long_prompts() -> None:
    e = estimate(LLAMA_8B, BF16, H100, context=8192)
    eff = COMPUTE_EFFICIENCY["gpu"]
    assert e.prefill_bound == "compute-bound"
    assert e.prefill_tokens_per_s == pytest.approx(989.5e12 * eff / (2 * LLAMA_8B))


def test_prefill_of_one_token_is_memory_bound() -> None:
    e = estimate(LLAMA_8B, BF16, H100, context=1)
    assert e.prefill_bound == "memory-bound"
    assert e.prefill_tokens_per_s == pytest.approx(e.decode_tokens_per_s or 0)


def test_huge_batch_decode_becomes_compute_bound() -> None:
    e = estimate(LLAMA_8B, BF16, H100, batch=4096)
    assert e.bound == "compute-bound"
    eff = COMPUTE_EFFICIENCY["gpu"]
    assert e.decode_tokens_per_s == pytest.approx(989.5e12 * eff / (2 * LLAMA_8B))


def test_memory_bound_power_and_joules() -> None:
    e = estimate(LLAMA_8B, BF16, H100)
    share = MEMORY_BOUND_POWER_SHARE["gpu"]
    t_mem = 16_060_522_496 / (3350e9 * DECODE_EFFICIENCY["gpu"])
    t_cmp = 2 * LLAMA_8B / (989.5e12 * COMPUTE_EFFICIENCY["gpu"])
    utilisation = share + t_cmp / t_mem
    assert e.power_w == pytest.approx(75 + utilisation * (700 - 75))
    assert e.power_w < 700  # memory-bound decode does not reach TDP
    assert e.joules_per_token == pytest.approx(e.power_w / (e.decode_tokens_per_s or 1))


def test_compute_bound_power_is_tdp() -> None:
    e = estimate(LLAMA_8B, BF16, H100, batch=4096)
    assert e.power_w == pytest.approx(700)


def test_encoder_forward_pass() -> None:
    e = estimate(110_000_000, BF16, H100, context=512, generates=False)
    assert e.decode_tokens_per_s is None
    assert e.bound == e.prefill_bound
    assert e.joules_per_token == pytest.approx(e.power_w / e.prefill_tokens_per_s)
    assert "forward pass" in e.method


def test_calibration_scales_and_narrows_the_band() -> None:
    base = estimate(LLAMA_8B, BF16, H100)
    slow = estimate(LLAMA_8B, BF16, H100, calibration=0.5)
    assert slow.decode_tokens_per_s == pytest.approx((base.decode_tokens_per_s or 0) * 0.5)
    assert slow.confidence.level == "high"
    assert "calibration 0.5" in slow.method
    # Efficiency never exceeds 1.
    fast = estimate(LLAMA_8B, BF16, H100, calibration=10)
    assert fast.decode_efficiency == 1.0
    assert fast.compute_efficiency == 1.0


def test_confidence_levels() -> None:
    gpu = estimate(LLAMA_8B, BF16, H100).confidence
    assert gpu.level == "medium"
    assert (gpu.low, gpu.high) == CONFIDENCE_BANDS["medium"]
    assert gpu.range(100.0) == pytest.approx((60.0, 160.0))
    assert estimate(LLAMA_8B, BF16, H100, moe=True).confidence.level == "low"
    cpu = profile_for("desktop")
    assert estimate(LLAMA_8B, BF16, cpu).confidence.level == "low"


def test_device_kinds_use_their_efficiencies() -> None:
    mac = profile_for("Apple M1 Max 64 GB")
    q4 = parse_precision("Q4_K_M")
    e = estimate(LLAMA_8B, q4, mac)
    weights = LLAMA_8B * q4.bytes_per_param
    assert e.decode_tokens_per_s == pytest.approx(
        400e9 * DECODE_EFFICIENCY["apple"] / weights, 1e-6
    )
    # About the 46.2 t/s normiebench#40 measured on this machine.
    assert 40 < (e.decode_tokens_per_s or 0) < 55
    assert 0 < e.power_w <= mac.tdp_w


def test_method_names_the_numbers() -> None:
    e = estimate(LLAMA_8B, BF16, H100)
    assert "3350 GB/s" in e.method
    assert "989.5 TFLOPS" in e.method
    assert "idle 75 W" in e.method


@pytest.mark.parametrize(
    "kwargs",
    [
        {"params_active": 0},
        {"batch": 0},
        {"context": -1},
        {"kv_bytes": -1},
        {"calibration": 0.0},
    ],
)
def test_bad_arguments(kwargs: dict[str, int | float]) -> None:
    args: dict[str, int | float] = {"params_active": LLAMA_8B}
    args.update(kwargs)
    active = int(args.pop("params_active"))
    with pytest.raises(AnalysisError):
        estimate(active, BF16, H100, **args)  # type: ignore[arg-type]


def test_zero_bandwidth_device_raises() -> None:
    broken = dataclasses.replace(H100, bandwidth_gbps=0.0)
    with pytest.raises(AnalysisError):
        estimate(LLAMA_8B, BF16, broken)
