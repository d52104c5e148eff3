"""The monitor --json summary contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.telemetry.sample import CpuSample, Sample
from core.telemetry.summary import summarize
from core.telemetry.trace import load_trace


def test_h100_summary(h100_trace: Path) -> None:
    summary = summarize(load_trace(h100_trace).samples, "replay: h100")
    assert summary["samples"] == 260
    assert summary["cpu"] is None
    (gpu,) = summary["gpus"]
    assert set(gpu) >= {
        "index",
        "name",
        "energy_j",
        "energy_method",
        "avg_power_w",
        "max_power_w",
        "max_temp_c",
        "throttled_fraction",
        "throttle_reasons",
    }
    assert gpu["energy_j"] == pytest.approx(6447.6, abs=0.1)
    assert gpu["energy_method"] == "nvml-counter"
    assert gpu["max_power_w"] == pytest.approx(792.4, abs=0.1)
    assert gpu["max_temp_c"] == 56.0
    assert gpu["throttled_fraction"] == pytest.approx(0.47, abs=0.01)
    assert gpu["avg_power_w"] == pytest.approx(6447.6 / 17.548, rel=1e-3)


def test_cpu_only_summary_says_why_energy_is_missing() -> None:
    reason = "no RAPL powercap interface (typical in VMs and containers)"
    samples = [
        Sample(float(t), CpuSample(load_pct=10.0 * t, unavailable=(("package_power_w", reason),)))
        for t in range(3)
    ]
    summary = summarize(samples)
    cpu = summary["cpu"]
    assert cpu["energy_j"] is None
    assert cpu["energy_method"] == "unavailable"
    assert cpu["energy_note"] == reason
    assert cpu["max_load_pct"] == 20.0
    assert summary["gpus"] == []
