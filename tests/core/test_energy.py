"""Energy and throttle arithmetic, against the real H100 trace and edge cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.telemetry.energy import (
    counter_delta,
    cpu_energy,
    gpu_energy,
    gpu_series,
    throttle_stats,
    trapezoid,
)
from core.telemetry.sample import CpuSample, GpuSample, Sample
from core.telemetry.throttle import THROTTLE_MASK, decode, describe, is_throttled
from core.telemetry.trace import load_trace


def test_counter_delta_wrap_and_reset() -> None:
    assert counter_delta(100, 250) == (150, False)
    assert counter_delta(90, 10, max_range=100) == (20, False)
    assert counter_delta(5_000, 300) == (300, True)


def test_h100_trace_energy_matches_the_counter(h100_trace: Path) -> None:
    samples = load_trace(h100_trace).samples
    times, gpus = gpu_series(samples, 0)
    result = gpu_energy(gpus, times)
    assert result.method == "nvml-counter"
    # Over the whole trace the counter rises by 6,447.6 J (shared/data/README).
    assert result.joules == pytest.approx(6447.6, abs=0.1)
    assert result.valid
    assert result.window_s == pytest.approx(17.548)
    # 2 × 0.1 s / 17.5 s quantisation + 5 % sensor accuracy
    assert result.relative_uncertainty == pytest.approx(0.2 / 17.548 + 0.05)


def test_counter_and_trapezoid_of_instant_power_agree_on_the_trace(h100_trace: Path) -> None:
    samples = load_trace(h100_trace).samples
    times, gpus = gpu_series(samples, 0)
    counter = gpu_energy(gpus, times).joules
    no_counter = [GpuSample(index=0, power_instant_w=g.power_instant_w) for g in gpus]
    integrated = gpu_energy(no_counter, times)
    assert integrated.method == "trapezoid(instant power)"
    assert counter is not None and integrated.joules is not None
    # telemetry.md: counter and integrated instant power agree within ~1 % on steady loads.
    assert integrated.joules == pytest.approx(counter, rel=0.03)


def test_counter_reset_counts_energy_since_the_reset() -> None:
    gpus = [GpuSample(0, energy_mj=e) for e in (10_000, 20_000, 500, 1_500)]
    result = gpu_energy(gpus, [0.0, 1.0, 2.0, 3.0])
    assert result.joules == pytest.approx((10_000 + 500 + 1_000) / 1000)
    assert result.resets == 1
    assert result.note is not None and "reset" in result.note


def test_short_window_is_flagged_not_hidden() -> None:
    gpus = [GpuSample(0, energy_mj=e) for e in (0, 1_000)]
    result = gpu_energy(gpus, [0.0, 2.0])
    assert result.joules == 1.0
    assert not result.valid
    assert result.note is not None and "shorter than 10 s" in result.note


def test_average_power_fallback_is_labelled_and_less_certain() -> None:
    gpus = [GpuSample(0, power_avg_w=100.0) for _ in range(11)]
    result = gpu_energy(gpus, [float(t) for t in range(11)])
    assert result.method == "trapezoid(1 s average power)"
    assert result.joules == pytest.approx(1000.0)
    assert result.relative_uncertainty is not None and result.relative_uncertainty > 0.1


def test_no_readings_is_unavailable_with_a_reason() -> None:
    result = gpu_energy([GpuSample(0), GpuSample(0)], [0.0, 1.0])
    assert result.joules is None
    assert result.method == "unavailable"
    assert result.note


def test_cpu_energy_from_rapl_and_unavailable_reason() -> None:
    with_rapl = [
        Sample(float(t), CpuSample(package_energy_j=12.5 * t, package_power_w=12.5))
        for t in range(12)
    ]
    result = cpu_energy(with_rapl)
    assert result.method == "rapl-counter"
    assert result.joules == pytest.approx(137.5)
    reason = "RAPL energy_uj is root-only since CVE-2020-8694"
    without = [
        Sample(float(t), CpuSample(unavailable=(("package_power_w", reason),))) for t in range(3)
    ]
    missing = cpu_energy(without)
    assert missing.joules is None
    assert missing.note == reason


def test_trapezoid_ignores_repeated_timestamps() -> None:
    assert trapezoid([(0.0, 10.0), (1.0, 20.0), (1.0, 99.0), (2.0, 20.0)]) == pytest.approx(
        15.0 + (99.0 + 20.0) / 2
    )


def test_throttle_fraction_of_the_h100_trace(h100_trace: Path) -> None:
    samples = load_trace(h100_trace).samples
    times, gpus = gpu_series(samples, 0)
    stats = throttle_stats(list(zip(times, [g.clock_event_reasons for g in gpus], strict=True)))
    # "the power cap is active for about 47 % of the time" (shared/data/README)
    assert stats.throttled_fraction == pytest.approx(0.47, abs=0.01)
    assert stats.reasons["sw_power_cap"] == pytest.approx(stats.throttled_fraction)
    assert "gpu_idle" in stats.reasons


def test_idle_and_app_clocks_are_not_throttling() -> None:
    stats = throttle_stats([(0.0, 0x1), (1.0, 0x2), (2.0, 0x3), (3.0, None)])
    assert stats.throttled_fraction == 0.0
    assert not is_throttled(0x1 | 0x2 | 0x10 | 0x100)
    assert is_throttled(0x4) and is_throttled(0x20) and is_throttled(0x400)
    assert THROTTLE_MASK == 0x4 | 0x8 | 0x20 | 0x40 | 0x80 | 0x200 | 0x400


def test_decode_and_describe_in_plain_words() -> None:
    assert [r.key for r in decode(0x24)] == ["sw_power_cap", "sw_thermal_slowdown"]
    assert describe(0x4) == "power-limited"
    assert describe(0x24) == "power-limited, thermal slowdown"
    assert describe(0x1) == "idle"
    assert describe(0) == "not throttled"
    assert describe(None) == "unknown"
