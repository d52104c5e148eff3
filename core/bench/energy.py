"""Energy, power, heat and throttling over one benchmark window.

Builds on :mod:`core.telemetry.energy` (same methods, same uncertainty rules) and adds what a
benchmark needs on top of a whole-trace summary:

* **exact window edges** — the device's energy is turned into a cumulative curve (counter
  deltas with :func:`~core.telemetry.energy.counter_delta`: wraps with a known range, resets of
  NVML's counter after a driver reload; or trapezoids of instant power) and read at the
  window's start and end by linear interpolation between the samples around them;
* **the idle baseline** — counter Δ/Δt over the baseline (or the median instant power), and
  ``net = gross − P_idle × T``, with the uncertainties of both added;
* **a reason instead of a number** when nothing on the machine measures energy.

Which device's energy counts: the GPU the model runs on for CUDA runs (NVML), the CPU package
(RAPL) for CPU runs. The other one, when readable, is reported as a component.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from statistics import median

from core.constants import COUNTER_UPDATE_S, VALID_ENERGY_WINDOW_S
from core.telemetry.energy import (
    SENSOR_ACCURACY,
    VIOLATION_LABELS,
    counter_delta,
    gpu_series,
    max_of,
    mean_of,
    throttle_stats,
    violation_shares,
)
from core.telemetry.sample import Sample

RAPL_ACCURACY = 0.15
"""RAPL is partly modelled: ±10–20 % absolute (Weaver's validation); the midpoint, as in
:func:`core.telemetry.energy.cpu_energy`."""

AVERAGE_POWER_LAG = 0.08
"""Extra relative error of integrating NVML's 1 s average power (telemetry.md §5.1)."""


@dataclass(frozen=True)
class Target:
    """The device whose telemetry a benchmark reads.

    Attributes:
        kind: ``"gpu"`` or ``"cpu"``.
        index: NVML index of the GPU (None for the CPU).
    """

    kind: str
    index: int | None = None

    @property
    def label(self) -> str:
        """``gpu0`` or ``cpu``."""
        return f"gpu{self.index}" if self.kind == "gpu" else "cpu"


CPU = Target("cpu")


@dataclass(frozen=True)
class Cumulative:
    """Energy since the first sample, at each sample of a series.

    Attributes:
        points: ``(t_s, joules)`` in time order, starting at 0 J.
        method: ``nvml-counter``, ``rapl-counter``, ``trapezoid(instant power)``,
            ``trapezoid(1 s average power)``.
        reset_times: When the counter was seen to restart from zero (driver reload).
        spacing_s: Median time between samples.
    """

    points: tuple[tuple[float, float], ...]
    method: str
    reset_times: tuple[float, ...] = ()
    spacing_s: float = 0.0

    def at(self, t: float) -> float:
        """Energy at time ``t`` by linear interpolation (clamped to the series' ends)."""
        points = self.points
        if t <= points[0][0]:
            return points[0][1]
        if t >= points[-1][0]:
            return points[-1][1]
        i = bisect.bisect_right(points, t, key=lambda p: p[0])  # points[i-1].t ≤ t < points[i].t
        (t0, e0), (t1, e1) = points[i - 1], points[i]
        return e0 + (e1 - e0) * (t - t0) / (t1 - t0)

    @property
    def relative_accuracy(self) -> float:
        """The sensor's own relative accuracy for this method."""
        if self.method == "rapl-counter":
            return RAPL_ACCURACY
        if self.method == "trapezoid(1 s average power)":
            return SENSOR_ACCURACY + AVERAGE_POWER_LAG
        return SENSOR_ACCURACY

    def edge_error_s(self) -> float:
        """How far off in time each end of a window read from this series can be."""
        if self.method.endswith("counter"):
            return max(COUNTER_UPDATE_S, self.spacing_s / 2)
        return max(COUNTER_UPDATE_S, self.spacing_s)


def _spacing(times: Sequence[float]) -> float:
    gaps = [b - a for a, b in pairwise(times) if b > a]
    return median(gaps) if gaps else 0.0


def counter_cumulative(
    points: Sequence[tuple[float, int]], method: str, scale: float, max_range: int | None = None
) -> Cumulative:
    """Cumulative energy from a monotonic counter.

    Args:
        points: ``(t_s, counter)`` in time order.
        method: Name of the method.
        scale: Joules per counter unit (0.001 for NVML's mJ).
        max_range: Wrap point of the counter, or None for counters that reset instead (NVML).

    Example:
        >>> c = counter_cumulative([(0.0, 90), (1.0, 10), (2.0, 30)], "rapl-counter", 1.0, 100)
        >>> [e for _, e in c.points]
        [0.0, 20.0, 40.0]
    """
    total = 0
    resets: list[float] = []
    out = [(points[0][0], 0.0)]
    for (_, prev), (t, cur) in pairwise(points):
        delta, reset = counter_delta(prev, cur, max_range)
        total += delta
        if reset:
            resets.append(t)
        out.append((t, total * scale))
    return Cumulative(tuple(out), method, tuple(resets), _spacing([t for t, _ in points]))


def power_cumulative(points: Sequence[tuple[float, float]], method: str) -> Cumulative:
    """Cumulative energy by the trapezoid rule over ``(t_s, watts)`` points."""
    total = 0.0
    out = [(points[0][0], 0.0)]
    for (t0, p0), (t1, p1) in pairwise(points):
        if t1 > t0:
            total += (p0 + p1) / 2.0 * (t1 - t0)
        out.append((t1, total))
    return Cumulative(tuple(out), method, (), _spacing([t for t, _ in points]))


def gpu_cumulative(
    samples: Sequence[Sample],
    index: int,
    max_range_mj: int | None = None,
    *,
    use_counter: bool = True,
) -> Cumulative | str:
    """GPU ``index``'s cumulative energy, best method first, or the reason there is none.

    ``use_counter=False`` skips the energy counter (to cross-check it against integrated
    instant power on the same samples).
    """
    times, gpus = gpu_series(samples, index)
    pairs = list(zip(times, gpus, strict=True))
    counter = [(t, g.energy_mj) for t, g in pairs if g.energy_mj is not None]
    if use_counter and len(counter) >= 2:
        return counter_cumulative(counter, "nvml-counter", 0.001, max_range_mj)
    instant = [(t, g.power_instant_w) for t, g in pairs if g.power_instant_w is not None]
    if len(instant) >= 2:
        return power_cumulative(instant, "trapezoid(instant power)")
    average = [(t, g.power_avg_w) for t, g in pairs if g.power_avg_w is not None]
    if len(average) >= 2:
        return power_cumulative(average, "trapezoid(1 s average power)")
    if not gpus:
        return f"no samples of GPU {index}"
    last = gpus[-1]
    reason = last.reason("energy_mj") or last.reason("power_instant_w")
    return f"GPU {index} reports no energy counter or power" + (f" ({reason})" if reason else "")


def cpu_cumulative(samples: Sequence[Sample]) -> Cumulative | str:
    """The CPU package's cumulative energy (RAPL), or the reason there is none.

    The CPU reader's ``package_energy_j`` is already wrap-corrected and counts from the
    sampler's start; a decrease means the sampler restarted and is treated as a reset.
    """
    points = [
        (s.t_s, round(s.cpu.package_energy_j * 1e6))
        for s in samples
        if s.cpu is not None and s.cpu.package_energy_j is not None
    ]
    if len(points) >= 2:
        return counter_cumulative(points, "rapl-counter", 1e-6)
    for sample in reversed(samples):
        if sample.cpu is not None:
            reason = sample.cpu.reason("package_energy_j") or sample.cpu.reason("package_power_w")
            return f"no CPU energy counter: {reason or 'RAPL not readable'}"
    return "no CPU samples"


def cumulative_for(
    samples: Sequence[Sample], target: Target, *, use_counter: bool = True
) -> Cumulative | str:
    """The target device's cumulative energy, or why there is none."""
    if target.kind == "gpu":
        return gpu_cumulative(samples, target.index or 0, use_counter=use_counter)
    return cpu_cumulative(samples)


@dataclass(frozen=True)
class WindowEnergy:
    """Energy used by a device over ``[t0, t1]``.

    Attributes:
        joules: Energy, or None (``reason`` says why).
        method: Method, or ``"unavailable"``.
        window_s: ``t1 − t0``.
        relative_uncertainty: Estimated relative error of ``joules``.
        valid: False for windows under 10 s (report with the warning).
        covered_s: Part of the window the samples covered; the rest is extrapolated at the
            covered part's average power.
        resets: Counter resets in the window.
        reason: Why there is no figure.
        note: Warnings (window too short, counter reset, edges extrapolated).
    """

    joules: float | None
    method: str
    window_s: float
    relative_uncertainty: float | None
    valid: bool
    covered_s: float = 0.0
    resets: int = 0
    reason: str | None = None
    note: str | None = None

    @property
    def avg_power_w(self) -> float | None:
        """Average power over the window."""
        if self.joules is None or self.window_s <= 0:
            return None
        return self.joules / self.window_s


def _unavailable(window_s: float, reason: str) -> WindowEnergy:
    return WindowEnergy(None, "unavailable", window_s, None, False, reason=reason)


def window_energy(
    samples: Sequence[Sample],
    t0: float,
    t1: float,
    target: Target,
    *,
    use_counter: bool = True,
) -> WindowEnergy:
    """Energy of ``target`` over ``[t0, t1]``.

    ``samples`` should include the sample just before ``t0`` and just after ``t1`` so both
    edges are interpolated; where they are missing the uncovered part is extrapolated at the
    average power of the covered part (and said so in ``note``). ``use_counter=False``
    integrates instant power even where a GPU energy counter exists (a cross-check).
    """
    window_s = max(0.0, t1 - t0)
    series = cumulative_for(samples, target, use_counter=use_counter)
    if isinstance(series, str):
        return _unavailable(window_s, series)
    first_t, last_t = series.points[0][0], series.points[-1][0]
    start, end = max(t0, first_t), min(t1, last_t)
    covered = max(0.0, end - start)
    if covered <= 0 or window_s <= 0:
        return _unavailable(window_s, "no telemetry samples inside the window")
    joules = series.at(end) - series.at(start)
    notes: list[str] = []
    if covered < window_s - 1e-9:
        joules *= window_s / covered
        notes.append(f"samples covered {covered:.1f} of {window_s:.1f} s; the rest extrapolated")
    resets = sum(1 for t in series.reset_times if start < t <= end)
    if resets:
        notes.append(f"counter reset {resets}× (driver reload); energy since each reset counted")
    valid = window_s >= VALID_ENERGY_WINDOW_S
    if not valid:
        notes.append(f"window too short: {window_s:.1f} s < {VALID_ENERGY_WINDOW_S:.0f} s")
    relative = 2 * series.edge_error_s() / window_s + series.relative_accuracy
    if covered < window_s:
        relative += (window_s - covered) / window_s
    return WindowEnergy(
        joules=joules,
        method=series.method,
        window_s=window_s,
        relative_uncertainty=relative,
        valid=valid,
        covered_s=covered,
        resets=resets,
        note="; ".join(notes) or None,
    )


@dataclass(frozen=True)
class IdlePower:
    """The idle baseline of a device.

    Attributes:
        watts: Power at idle, or None (``reason``).
        method: ``counter`` (Δenergy/Δt) or ``median(instant power)``.
        relative_uncertainty: Relative error of ``watts``.
        temp_c: Median temperature at idle, if the device has a sensor.
        duration_s: Length of the baseline.
        reason: Why ``watts`` is None.
    """

    watts: float | None
    method: str | None
    relative_uncertainty: float | None
    temp_c: float | None
    duration_s: float
    reason: str | None = None


def _device_temps(samples: Sequence[Sample], target: Target) -> list[float | None]:
    if target.kind == "gpu":
        _, gpus = gpu_series(samples, target.index or 0)
        return [g.temp_c for g in gpus]
    return [s.cpu.package_temp_c for s in samples if s.cpu is not None]


def _device_powers(samples: Sequence[Sample], target: Target) -> list[float | None]:
    if target.kind == "gpu":
        _, gpus = gpu_series(samples, target.index or 0)
        return [g.power_instant_w if g.power_instant_w is not None else g.power_avg_w for g in gpus]
    return [s.cpu.package_power_w for s in samples if s.cpu is not None]


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return median(present) if present else None


def idle_power(samples: Sequence[Sample], target: Target) -> IdlePower:
    """Median idle power and temperature over a baseline's samples.

    With an energy counter: Δenergy / Δt over the baseline (telemetry.md §5.1); without one:
    the median of the instant power readings.
    """
    duration = samples[-1].t_s - samples[0].t_s if len(samples) >= 2 else 0.0
    temp = _median(_device_temps(samples, target))
    series = cumulative_for(samples, target)
    if isinstance(series, str):
        return IdlePower(None, None, None, temp, duration, reason=series)
    span = series.points[-1][0] - series.points[0][0]
    if series.method.endswith("counter") and span > 0:
        watts = series.points[-1][1] / span
        relative = 2 * series.edge_error_s() / span + series.relative_accuracy
        return IdlePower(watts, "counter", relative, temp, duration)
    powers = _median(_device_powers(samples, target))
    if powers is None:
        return IdlePower(None, None, None, temp, duration, reason="no power readings at idle")
    return IdlePower(powers, "median(instant power)", series.relative_accuracy, temp, duration)


def temperature_reason(samples: Sequence[Sample], target: Target) -> str | None:
    """Why the target has no temperature reading (from the samples), or None."""
    for sample in reversed(samples):
        if target.kind == "gpu":
            for gpu in sample.gpus:
                if gpu.index == target.index:
                    return gpu.reason("temp_c") or (
                        "no temperature" if gpu.temp_c is None else None
                    )
        elif sample.cpu is not None:
            cpu = sample.cpu
            if cpu.package_temp_c is None:
                return cpu.reason("package_temp_c") or "no CPU temperature sensor"
            return None
    return f"no samples of {target.label}"


def latest_temperature(sample: Sample | None, target: Target) -> float | None:
    """The target's temperature in one sample."""
    if sample is None:
        return None
    temps = _device_temps([sample], target)
    return temps[0] if temps else None


@dataclass(frozen=True)
class WindowTelemetry:
    """Heat, power, clocks and throttling over one window.

    Attributes:
        samples: Samples inside the window.
        avg_temp_c / peak_temp_c: Device temperature (mean of samples / maximum).
        peak_power_w: Highest instant power reading.
        avg_clock_mhz / min_clock_mhz / max_clock_mhz: SM clock (GPU) or CPU frequency, and the
            device's maximum clock.
        throttled_fraction: Share of the window with a real throttle reason set (GPU clock-event
            mask; violation timers when no mask); None for CPUs.
        throttle_reasons: ``{reason key: share of time}`` from the mask (benign ones included).
        violations: ``{timer: share of window}`` from NVML's cumulative violation timers, with
            plain labels (``"power-capped"``).
    """

    samples: int
    avg_temp_c: float | None
    peak_temp_c: float | None
    peak_power_w: float | None
    avg_clock_mhz: float | None
    min_clock_mhz: float | None
    max_clock_mhz: float | None
    throttled_fraction: float | None
    throttle_reasons: dict[str, float] = field(default_factory=dict)
    violations: dict[str, float] = field(default_factory=dict)


def window_telemetry(
    samples: Sequence[Sample], t0: float, t1: float, target: Target
) -> WindowTelemetry:
    """Heat, power, clocks and throttling of ``target`` over ``[t0, t1]``."""
    inside = [s for s in samples if t0 <= s.t_s <= t1]
    temps = _device_temps(inside, target)
    powers = _device_powers(inside, target)
    if target.kind == "gpu":
        times, gpus = gpu_series(inside, target.index or 0)
        clocks = [g.sm_clock_mhz for g in gpus]
        clock_max = max_of([g.sm_clock_max_mhz for g in gpus])
        throttle = throttle_stats(
            list(zip(times, [g.clock_event_reasons for g in gpus], strict=True))
        )
        shares: dict[str, float] = {}
        if len(gpus) >= 2:
            shares = violation_shares(gpus[0], gpus[-1], times[-1] - times[0])
        violations = {VIOLATION_LABELS.get(k, k): round(v, 4) for k, v in shares.items() if v > 0}
        fraction = throttle.throttled_fraction
        if fraction is None and shares:
            fraction = max(shares.values())
        reasons = {k: round(v, 4) for k, v in throttle.reasons.items()}
    else:
        cpus = [s.cpu for s in inside if s.cpu is not None]
        clocks = [c.freq_mhz for c in cpus]
        clock_max = max_of([c.freq_max_mhz for c in cpus])
        fraction, reasons, violations = None, {}, {}
    present_clocks = [c for c in clocks if c is not None]
    return WindowTelemetry(
        samples=len(inside),
        avg_temp_c=mean_of(temps),
        peak_temp_c=max_of(temps),
        peak_power_w=max_of(powers),
        avg_clock_mhz=mean_of(clocks),
        min_clock_mhz=min(present_clocks) if present_clocks else None,
        max_clock_mhz=clock_max,
        throttled_fraction=fraction,
        throttle_reasons=reasons,
        violations=violations,
    )


def gpu_name(samples: Sequence[Sample], index: int) -> str | None:
    """The GPU's name as the samples report it."""
    _, gpus = gpu_series(samples, index)
    return next((g.name for g in gpus if g.name), None)


__all__ = [
    "CPU",
    "Cumulative",
    "IdlePower",
    "Target",
    "WindowEnergy",
    "WindowTelemetry",
    "counter_cumulative",
    "cpu_cumulative",
    "gpu_cumulative",
    "idle_power",
    "latest_temperature",
    "power_cumulative",
    "temperature_reason",
    "window_energy",
    "window_telemetry",
]
