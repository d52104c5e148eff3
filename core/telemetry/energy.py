"""Energy and throttling arithmetic over a window of samples.

Method, best first (docs: telemetry.md §5):

* ``nvml-counter`` — differences of NVML's total-energy counter (mJ). A decrease means the
  driver was reloaded: the counter restarted from zero, so the new value is the energy since.
* ``rapl-counter`` — RAPL ``energy_uj`` deltas, wrap-corrected by the CPU reader.
* ``trapezoid(instant power)`` — integration of instant power on the samples' timestamps.
* ``trapezoid(1 s average power)`` — last resort; it lags load changes by about a second.

Uncertainty: each end of a counter window can be off by one counter update (≈ 0.1 s), so the
relative error from quantisation is about ``2 × 0.1 / T``; the on-board sensor adds about ±5 %
absolute (NVML documentation). Windows under 10 s are flagged as too short.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from core.constants import COUNTER_UPDATE_S, VALID_ENERGY_WINDOW_S
from core.telemetry.sample import GpuSample, Sample
from core.telemetry.throttle import REASONS, is_throttled

SENSOR_ACCURACY = 0.05
"""Relative accuracy of NVIDIA's on-board power sensor (NVML documentation, ±5 %)."""


def counter_delta(prev: int, cur: int, max_range: int | None = None) -> tuple[int, bool]:
    """Difference of a monotonic energy counter.

    Args:
        prev: Previous reading.
        cur: Current reading.
        max_range: Wrap point (RAPL ``max_energy_range_uj``); ``None`` for counters that do not
            wrap but may reset (NVML).

    Returns:
        ``(delta, reset)``: with ``max_range`` a decrease is one wrap; without it a decrease is
        a reset and the delta is ``cur`` (the energy since the counter restarted at zero).

    Example:
        >>> counter_delta(90, 10, max_range=100)
        (20, False)
        >>> counter_delta(5000, 300)
        (300, True)
    """
    if cur >= prev:
        return cur - prev, False
    if max_range:
        return cur + max_range - prev, False
    return cur, True


@dataclass(frozen=True)
class EnergyResult:
    """Energy over a window, with its method and uncertainty.

    Attributes:
        joules: Energy, or None when no method applies (``note`` says why).
        method: How it was obtained (see module docstring), or ``"unavailable"``.
        window_s: Length of the window.
        relative_uncertainty: Estimated relative error (0.05 = ±5 %), or None.
        valid: False when the window is shorter than 10 s (report with the warning).
        resets: Counter resets seen (driver reloads).
        note: Anything the user should know ("window too short", "counter reset").
    """

    joules: float | None
    method: str
    window_s: float
    relative_uncertainty: float | None
    valid: bool
    resets: int = 0
    note: str | None = None

    @property
    def avg_power_w(self) -> float | None:
        """Average power over the window."""
        if self.joules is None or self.window_s <= 0:
            return None
        return self.joules / self.window_s


def _window_note(window_s: float) -> str | None:
    if window_s < VALID_ENERGY_WINDOW_S:
        return f"window {window_s:.1f} s is shorter than {VALID_ENERGY_WINDOW_S:.0f} s"
    return None


def trapezoid(points: Sequence[tuple[float, float]]) -> float:
    """Integrate ``(t_s, value)`` points with the trapezoid rule on their own timestamps.

    Consecutive duplicates of the same timestamp are ignored.
    """
    total = 0.0
    for (t0, v0), (t1, v1) in pairwise(points):
        if t1 > t0:
            total += (v0 + v1) / 2.0 * (t1 - t0)
    return total


def _energy_from_counter(points: Sequence[tuple[float, int]], window_s: float) -> EnergyResult:
    total_mj = 0
    resets = 0
    for (_, prev), (_, cur) in pairwise(points):
        delta, reset = counter_delta(prev, cur)
        total_mj += delta
        resets += int(reset)
    quantisation = 2 * COUNTER_UPDATE_S / window_s if window_s > 0 else 1.0
    notes = [n for n in (_window_note(window_s),) if n]
    if resets:
        notes.append(f"counter reset {resets}× (driver reload); energy since each reset counted")
    return EnergyResult(
        joules=total_mj / 1000.0,
        method="nvml-counter",
        window_s=window_s,
        relative_uncertainty=quantisation + SENSOR_ACCURACY,
        valid=window_s >= VALID_ENERGY_WINDOW_S,
        resets=resets,
        note="; ".join(notes) or None,
    )


def _energy_from_power(
    points: Sequence[tuple[float, float]], window_s: float, method: str, lagging: bool
) -> EnergyResult:
    joules = trapezoid(points)
    # Sparse sampling misses what happens between samples: take the mean spacing as the
    # quantisation scale instead of the counter period.
    spacing = window_s / max(1, len(points) - 1)
    relative = 2 * max(spacing, COUNTER_UPDATE_S) / window_s + SENSOR_ACCURACY
    if lagging:
        relative += 0.08  # the 1 s average lost ~8 % over a 5 s load window on an H100
    return EnergyResult(
        joules=joules,
        method=method,
        window_s=window_s,
        relative_uncertainty=relative,
        valid=window_s >= VALID_ENERGY_WINDOW_S,
        note=_window_note(window_s),
    )


def gpu_energy(samples: Sequence[GpuSample], times_s: Sequence[float]) -> EnergyResult:
    """Energy used by one GPU over the samples (one per timestamp in ``times_s``)."""
    window_s = times_s[-1] - times_s[0] if len(times_s) >= 2 else 0.0
    pairs = list(zip(times_s, samples, strict=True))
    counter = [(t, s.energy_mj) for t, s in pairs if s.energy_mj is not None]
    if len(counter) >= 2:
        return _energy_from_counter(counter, window_s)
    instant_points = [(t, s.power_instant_w) for t, s in pairs if s.power_instant_w is not None]
    if len(instant_points) >= 2:
        return _energy_from_power(instant_points, window_s, "trapezoid(instant power)", False)
    avg_points = [(t, s.power_avg_w) for t, s in pairs if s.power_avg_w is not None]
    if len(avg_points) >= 2:
        return _energy_from_power(avg_points, window_s, "trapezoid(1 s average power)", True)
    return EnergyResult(
        joules=None,
        method="unavailable",
        window_s=window_s,
        relative_uncertainty=None,
        valid=False,
        note="no energy counter or power readings in the window",
    )


def cpu_energy(samples: Sequence[Sample]) -> EnergyResult:
    """CPU package energy over the samples, from the RAPL counters the CPU reader accumulates."""
    points = [
        (s.t_s, s.cpu.package_energy_j)
        for s in samples
        if s.cpu is not None and s.cpu.package_energy_j is not None
    ]
    window_s = samples[-1].t_s - samples[0].t_s if len(samples) >= 2 else 0.0
    if len(points) >= 2:
        joules = max(0.0, points[-1][1] - points[0][1])
        return EnergyResult(
            joules=joules,
            method="rapl-counter",
            window_s=window_s,
            # RAPL is partly modelled: ±10–20 % absolute (Weaver's validation); 15 % midpoint.
            relative_uncertainty=0.15 + (0.002 / window_s if window_s > 0 else 1.0),
            valid=window_s >= VALID_ENERGY_WINDOW_S,
            note=_window_note(window_s),
        )
    reason = None
    for s in reversed(samples):
        if s.cpu is not None:
            reason = s.cpu.reason("package_power_w") or s.cpu.reason("package_energy_j")
            break
    return EnergyResult(
        joules=None,
        method="unavailable",
        window_s=window_s,
        relative_uncertainty=None,
        valid=False,
        note=reason or "no RAPL energy counter",
    )


@dataclass(frozen=True)
class ThrottleStats:
    """Share of time spent throttled over a window, from the clock-event mask.

    Each interval between two samples is attributed to the mask of its first sample.

    Attributes:
        throttled_fraction: Share of time any real throttle reason was set (not idle/app clocks),
            or None when no sample had a mask.
        reasons: ``{reason_key: share of time}`` for every reason seen, benign ones included.
        observed_s: Seconds covered by samples that had a mask.
    """

    throttled_fraction: float | None
    reasons: dict[str, float]
    observed_s: float


def throttle_stats(masks: Sequence[tuple[float, int | None]]) -> ThrottleStats:
    """Time-weighted throttle shares from ``(t_s, mask)`` points."""
    observed = 0.0
    throttled = 0.0
    per_reason: dict[str, float] = {}
    for (t0, mask), (t1, _) in pairwise(masks):
        dt = t1 - t0
        if mask is None or dt <= 0:
            continue
        observed += dt
        if is_throttled(mask):
            throttled += dt
        for reason in REASONS:
            if mask & reason.bit:
                per_reason[reason.key] = per_reason.get(reason.key, 0.0) + dt
    if observed <= 0:
        return ThrottleStats(None, {}, 0.0)
    return ThrottleStats(
        throttled_fraction=throttled / observed,
        reasons={k: v / observed for k, v in sorted(per_reason.items())},
        observed_s=observed,
    )


def gpu_series(samples: Sequence[Sample], index: int) -> tuple[list[float], list[GpuSample]]:
    """The timestamps and samples of GPU ``index`` across a window, in order."""
    times: list[float] = []
    gpus: list[GpuSample] = []
    for sample in samples:
        for gpu in sample.gpus:
            if gpu.index == index:
                times.append(sample.t_s)
                gpus.append(gpu)
    return times, gpus


def max_of(values: Sequence[float | None]) -> float | None:
    """Largest non-None value, or None."""
    present = [v for v in values if v is not None]
    return max(present) if present else None


def mean_of(values: Sequence[float | None]) -> float | None:
    """Mean of non-None values, or None."""
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


VIOLATION_LABELS: dict[str, str] = {
    "power": "power-capped",
    "thermal": "thermally limited",
    "board_limit": "board-limited",
    "reliability": "reliability-limited",
    "sw_thermal": "thermal slowdown",
    "hw_thermal": "hardware thermal slowdown",
    "hw_power_brake": "power brake",
}
"""Plain words for NVML's cumulative violation timers."""


def violation_shares(first: GpuSample, last: GpuSample, window_s: float) -> dict[str, float]:
    """Share of ``window_s`` each violation timer ran, from two samples' cumulative ns counters.

    NVML counts these in the driver, so unlike the sampled clock-event mask they miss nothing
    between samples. Timers that went backwards (driver reload) are left out.

    Example:
        >>> a = GpuSample(0, violation_ns=(("power", 0),))
        >>> b = GpuSample(0, violation_ns=(("power", 3_000_000_000),))
        >>> violation_shares(a, b, 4.0)
        {'power': 0.75}
    """
    if window_s <= 0:
        return {}
    before = dict(first.violation_ns)
    shares: dict[str, float] = {}
    for name, ns in last.violation_ns:
        if name in before and ns >= before[name]:
            shares[name] = min(1.0, (ns - before[name]) / 1e9 / window_s)
    return shares
