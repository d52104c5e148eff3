"""Window energy against the real H100 trace: exact edges, wrap, reset, idle, short windows."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest

from core.bench.energy import (
    CPU,
    Target,
    counter_cumulative,
    idle_power,
    window_energy,
    window_telemetry,
)
from core.telemetry.energy import gpu_energy, gpu_series, trapezoid
from core.telemetry.sample import CpuSample, GpuSample, Sample
from core.telemetry.trace import load_trace

GPU0 = Target("gpu", 0)


@pytest.fixture
def samples(h100_trace: Path) -> tuple[Sample, ...]:
    return load_trace(h100_trace).samples


def _with_gpu(samples: tuple[Sample, ...], change: object) -> list[Sample]:
    out = []
    for i, s in enumerate(samples):
        gpu = change(i, s.gpus[0])  # type: ignore[operator]
        out.append(dataclasses.replace(s, gpus=(gpu,)))
    return out


def test_whole_trace_window_equals_the_counter_total(samples: tuple[Sample, ...]) -> None:
    times, gpus = gpu_series(samples, 0)
    total = gpu_energy(gpus, times)
    result = window_energy(samples, samples[0].t_s, samples[-1].t_s, GPU0)
    assert result.method == "nvml-counter"
    assert result.joules == pytest.approx(6447.6, abs=0.1)
    assert result.joules == pytest.approx(total.joules)
    assert result.valid and result.note is None
    assert result.covered_s == pytest.approx(result.window_s)


def test_window_edges_are_interpolated_between_samples(samples: tuple[Sample, ...]) -> None:
    # 7.0 s and 12.0 s fall between samples; the counter is read there by interpolation.
    result = window_energy(samples, 7.0, 12.0, GPU0)
    times, gpus = gpu_series(samples, 0)
    before = max(i for i, t in enumerate(times) if t <= 7.0)
    after = min(i for i, t in enumerate(times) if t >= 12.0)
    assert gpus[before].energy_mj is not None and gpus[after].energy_mj is not None
    bracket = (gpus[after].energy_mj - gpus[before].energy_mj) / 1000
    assert result.joules is not None
    assert 0 < result.joules < bracket  # inside the bracketing samples' energy
    # the same window by integrating instant power agrees within the sensor's accuracy
    instant = [(t, g.power_instant_w or 0.0) for t, g in zip(times, gpus, strict=True)]
    inside = [(7.0, instant[before][1])] + [p for p in instant if 7.0 < p[0] < 12.0]
    integrated = trapezoid([*inside, (12.0, instant[after][1])])
    assert result.joules == pytest.approx(integrated, rel=0.05)


def test_a_short_window_is_flagged_with_a_larger_uncertainty(samples: tuple[Sample, ...]) -> None:
    short = window_energy(samples, 7.0, 12.0, GPU0)
    long = window_energy(samples, samples[0].t_s, samples[-1].t_s, GPU0)
    assert not short.valid
    assert short.note is not None and "window too short: 5.0 s < 10 s" in short.note
    assert short.relative_uncertainty is not None and long.relative_uncertainty is not None
    assert short.relative_uncertainty > long.relative_uncertainty
    # 2 × 0.1 s counter period over 5 s, plus the sensor's ±5 %
    assert short.relative_uncertainty == pytest.approx(0.2 / 5.0 + 0.05, rel=0.2)


def test_counter_wrap_is_undone_with_the_wrap_point(samples: tuple[Sample, ...]) -> None:
    times, gpus = gpu_series(samples, 0)
    raw = [(t, g.energy_mj or 0) for t, g in zip(times, gpus, strict=True)]
    wrap = 1_000_000  # mJ: the trace's counter passes it several times
    wrapped = [(t, e % wrap) for t, e in raw]
    assert any(b < a for (_, a), (_, b) in itertools.pairwise(wrapped))
    plain = counter_cumulative(raw, "nvml-counter", 0.001)
    undone = counter_cumulative(wrapped, "rapl-counter", 0.001, max_range=wrap)
    assert undone.points[-1][1] == pytest.approx(plain.points[-1][1])
    assert undone.reset_times == ()
    # without the wrap point the same drops read as resets and lose energy
    as_resets = counter_cumulative(wrapped, "nvml-counter", 0.001)
    assert len(as_resets.reset_times) >= 1
    assert as_resets.points[-1][1] < plain.points[-1][1]


def test_counter_reset_counts_the_energy_since_the_restart(samples: tuple[Sample, ...]) -> None:
    times, gpus = gpu_series(samples, 0)
    k = len(gpus) // 2
    offset = gpus[k - 1].energy_mj or 0  # the driver reloaded right after sample k-1

    def reset(i: int, gpu: GpuSample) -> GpuSample:
        if i >= k and gpu.energy_mj is not None:
            return dataclasses.replace(gpu, energy_mj=gpu.energy_mj - offset)
        return gpu

    reloaded = _with_gpu(samples, reset)
    result = window_energy(reloaded, times[0], times[-1], GPU0)
    assert result.resets == 1
    assert result.note is not None and "counter reset 1×" in result.note
    assert result.joules == pytest.approx(6447.6, abs=0.1)
    # a window that ends before the reset does not mention it
    early = window_energy(reloaded, times[0], times[k - 2], GPU0)
    assert early.resets == 0


def test_idle_baseline_and_net_energy(samples: tuple[Sample, ...]) -> None:
    idle = [s for s in samples if s.t_s <= 6.0]
    base = idle_power(idle, GPU0)
    assert base.method == "counter"
    assert base.watts is not None and 65 < base.watts < 90  # ~75 W in the trace
    _, gpus = gpu_series(idle, 0)
    instants = sorted(g.power_instant_w or 0.0 for g in gpus)
    assert base.watts == pytest.approx(instants[len(instants) // 2], rel=0.1)
    assert base.temp_c == 32
    load = window_energy(samples, 7.0, 12.0, GPU0)
    assert load.joules is not None
    net = load.joules - base.watts * load.window_s
    assert 0 < net < load.joules
    assert load.avg_power_w is not None and load.avg_power_w > 3 * base.watts


def test_without_a_counter_instant_power_is_integrated(samples: tuple[Sample, ...]) -> None:
    stripped = _with_gpu(samples, lambda i, g: dataclasses.replace(g, energy_mj=None))
    counter = window_energy(samples, 7.0, 12.0, GPU0)
    integrated = window_energy(stripped, 7.0, 12.0, GPU0)
    assert integrated.method == "trapezoid(instant power)"
    assert counter.joules is not None and integrated.joules is not None
    assert integrated.joules == pytest.approx(counter.joules, rel=0.03)


def test_window_beyond_the_samples_is_extrapolated_and_says_so(
    samples: tuple[Sample, ...],
) -> None:
    last = samples[-1].t_s
    result = window_energy(samples, last - 10.0, last + 2.0, GPU0)
    assert result.note is not None and "extrapolated" in result.note
    assert result.covered_s == pytest.approx(10.0)
    inner = window_energy(samples, last - 10.0, last, GPU0)
    assert result.joules is not None and inner.joules is not None
    assert result.joules == pytest.approx(inner.joules * 12.0 / 10.0)
    assert result.relative_uncertainty is not None and inner.relative_uncertainty is not None
    assert result.relative_uncertainty > inner.relative_uncertainty


def test_no_energy_source_gives_a_reason_not_a_number() -> None:
    reason = "no RAPL powercap interface (typical in VMs and containers)"
    cpu = CpuSample(unavailable=(("package_energy_j", reason), ("package_power_w", reason)))
    samples = [Sample(t_s=float(t), cpu=cpu) for t in range(12)]
    result = window_energy(samples, 0.0, 11.0, CPU)
    assert result.joules is None
    assert result.method == "unavailable"
    assert result.reason is not None and reason in result.reason
    assert idle_power(samples, CPU).watts is None


def test_rapl_counter_for_cpu_runs() -> None:
    samples = [
        Sample(t_s=float(t), cpu=CpuSample(package_energy_j=20.0 * t, package_power_w=20.0))
        for t in range(15)
    ]
    result = window_energy(samples, 2.5, 12.5, CPU)
    assert result.method == "rapl-counter"
    assert result.joules == pytest.approx(200.0)
    assert result.valid
    assert idle_power(samples, CPU).watts == pytest.approx(20.0)


def test_window_telemetry_reads_heat_clocks_and_throttling(samples: tuple[Sample, ...]) -> None:
    tele = window_telemetry(samples, 7.0, 12.0, GPU0)
    assert tele.peak_temp_c is not None and tele.peak_temp_c > 40
    assert tele.peak_power_w is not None and tele.peak_power_w > 600
    assert tele.throttled_fraction is not None and tele.throttled_fraction > 0.5
    assert "sw_power_cap" in tele.throttle_reasons
    assert tele.min_clock_mhz is not None and tele.avg_clock_mhz is not None
