"""Run a planned benchmark: baseline, warm-up, measured windows, cooldowns, one result.

Method (telemetry.md §5; Zeus, ML.ENERGY, llama-bench):

1. **Load** — the child process builds or loads the model (:mod:`core.bench.child`).
2. **Idle baseline** — ``baseline_s`` seconds with the model loaded and nothing running:
   idle power (counter Δ/Δt, else median instant power) and median temperature.
3. **Warm-up** — ``warmup`` runs, not measured (allocations, kernel selection, caches).
4. **Windows** — ``repeat`` times: run the workload back to back until the window lasts at
   least ``min_window_s`` (≥ 10 s gives a valid energy figure; shorter windows are reported as
   too short, with their larger uncertainty). Between windows, **cool down** until the device
   is within ``cooldown_margin_c`` of its idle temperature or ``cooldown_s`` passed (with no
   temperature sensor: the full ``cooldown_s``, and the result says so).
5. **Result** — per window: burst decode rate (its first run), sustained decode rate (all its
   tokens over all its decode time), prefill rate, time to first token, gross energy over the
   window's exact edges and net energy (minus idle power × window); then the median over the
   windows, with min/max as the spread. Energy per token divides by generated tokens.

Telemetry comes from a :class:`~core.bench.feed.SampleFeed`: the app pushes the samples of the
sampler it already runs; without a feed the runner samples live on its own thread. A cancelled
run returns ``status="cancelled"`` and must not be stored; a failed child (out of memory,
crash) returns ``status="failed"`` with the reason, and the parent carries on.

Thread use: call :meth:`BenchRunner.run` on a worker thread; :meth:`BenchRunner.cancel` from
any thread. Progress arrives on the worker thread through ``on_progress``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from statistics import median
from typing import Any, Literal

from core.bench.backends import BackendInfo, RunTiming
from core.bench.energy import (
    CPU,
    IdlePower,
    Target,
    WindowEnergy,
    WindowTelemetry,
    gpu_name,
    idle_power,
    latest_temperature,
    temperature_reason,
    window_energy,
    window_telemetry,
)
from core.bench.errors import BenchError
from core.bench.feed import OwnSampler, PushFeed, SampleFeed
from core.bench.plan import BenchPlan, BenchSpec, Prediction
from core.bench.workload import Cancelled, ChildProcess, WorkloadFailed
from core.constants import VALID_ENERGY_WINDOW_S
from core.telemetry.sample import Sample
from core.telemetry.sampler import TelemetrySource

Phase = Literal[
    "loading", "baseline", "warmup", "run", "cooldown", "finishing", "done", "failed", "cancelled"
]
"""Where a benchmark is."""

Status = Literal["ok", "failed", "cancelled"]
"""How a benchmark ended."""

MAX_RUNS_PER_WINDOW = 100_000
"""Safety stop for a window of very fast runs."""

INSTANT_CHECK = "instant_power"
"""Energy component: the GPU's instant power integrated over the same window as its counter."""


@dataclass(frozen=True)
class Progress:
    """One progress event (sent on the runner's thread).

    Attributes:
        phase: Where the benchmark is.
        message: One line for people (``"run 2 of 3: 412 tokens, 37.5 tok/s"``).
        repetition: 1-based window number during ``run`` and ``cooldown``.
        repetitions: Number of windows.
        tokens: Tokens generated so far in this window (or warm-up run).
        tokens_per_s: Live decode rate of the current run.
        elapsed_s: Seconds since :meth:`BenchRunner.run` started.
        phase_elapsed_s: Seconds since this phase (window, baseline, cooldown) started.
        phase_total_s: Planned length of this phase (baseline, minimum window, cooldown limit).
        temperature_c: Device temperature now, where there is a sensor.
    """

    phase: Phase
    message: str
    repetition: int | None = None
    repetitions: int = 0
    tokens: int = 0
    tokens_per_s: float | None = None
    elapsed_s: float = 0.0
    phase_elapsed_s: float = 0.0
    phase_total_s: float | None = None
    temperature_c: float | None = None


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class WindowResult:
    """One measured window.

    Attributes:
        index: 0-based window number.
        t0 / t1: Edges on the samples' clock.
        runs: Timings of each run in the window.
        energy: The device's energy over ``[t0, t1]``.
        net_joules: ``energy − idle power × window`` (None without both).
        telemetry: Heat, power, clocks, throttling.
        components: Energy of other devices over the window (the CPU package during a GPU run).
    """

    index: int
    t0: float
    t1: float
    runs: tuple[RunTiming, ...]
    energy: WindowEnergy
    net_joules: float | None
    telemetry: WindowTelemetry
    components: dict[str, WindowEnergy] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        """Window length."""
        return self.t1 - self.t0

    @property
    def tokens(self) -> int | None:
        """Tokens generated in the window (None if a run had no count)."""
        counts = [r.tokens for r in self.runs]
        if any(c is None for c in counts):
            return None
        return sum(c for c in counts if c is not None)

    @property
    def prompt_tokens(self) -> int:
        """Prompt tokens processed in the window."""
        return sum(r.prompt_tokens for r in self.runs)

    @property
    def decode_tokens_per_s(self) -> float | None:
        """Burst: the first run's decode rate."""
        first = self.runs[0]
        return _rate(first.decode_tokens, first.decode_s)

    @property
    def decode_tokens_per_s_sustained(self) -> float | None:
        """All decode tokens over all decode time of the window."""
        if any(r.decode_tokens is None or r.decode_s is None for r in self.runs):
            return None
        return _rate(
            sum(r.decode_tokens or 0 for r in self.runs), sum(r.decode_s or 0.0 for r in self.runs)
        )

    @property
    def prefill_tokens_per_s(self) -> float | None:
        """Prompt tokens over prefill time."""
        if any(r.prefill_s is None for r in self.runs):
            return None
        return _rate(self.prompt_tokens, sum(r.prefill_s or 0.0 for r in self.runs))

    @property
    def embeddings_per_s(self) -> float | None:
        """Items (embeddings) per second of run time (encoders)."""
        if any(r.items is None for r in self.runs):
            return None
        return _rate(sum(r.items or 0 for r in self.runs), sum(r.wall_s for r in self.runs))

    @property
    def ttft_s(self) -> float | None:
        """Median time to first token of the window's runs."""
        return _median([r.ttft_s for r in self.runs])

    @property
    def gross_joules_per_token(self) -> float | None:
        """Energy per generated token."""
        tokens = self.tokens
        if self.energy.joules is None or not tokens:
            return None
        return self.energy.joules / tokens

    @property
    def net_joules_per_token(self) -> float | None:
        """Energy above idle per generated token."""
        tokens = self.tokens
        if self.net_joules is None or not tokens:
            return None
        return self.net_joules / tokens

    def to_json(self) -> dict[str, Any]:
        """A compact JSON view (stored with the result)."""
        return {
            "index": self.index,
            "duration_s": _r(self.duration_s),
            "runs": len(self.runs),
            "tokens": self.tokens,
            "ttft_s": _r(self.ttft_s, 4),
            "prefill_tokens_per_s": _r(self.prefill_tokens_per_s),
            "decode_tokens_per_s": _r(self.decode_tokens_per_s),
            "decode_tokens_per_s_sustained": _r(self.decode_tokens_per_s_sustained),
            "energy_j": _r(self.energy.joules),
            "energy_method": self.energy.method,
            "energy_uncertainty": _r(self.energy.relative_uncertainty, 4),
            "net_energy_j": _r(self.net_joules),
            "avg_temp_c": _r(self.telemetry.avg_temp_c, 1),
            "peak_temp_c": _r(self.telemetry.peak_temp_c, 1),
            "throttled_fraction": _r(self.telemetry.throttled_fraction, 4),
        }


@dataclass(frozen=True)
class EnergySummary:
    """Energy per token over the windows (medians).

    Attributes:
        method: ``nvml-counter``, ``rapl-counter``, ``trapezoid(...)`` or ``unavailable``.
        gross_joules_per_token: Everything the device used, per generated token.
        net_joules_per_token: Minus the idle baseline, per generated token.
        uncertainty: Relative uncertainty of the gross figure (0.06 = ±6 %).
        net_uncertainty: Relative uncertainty of the net figure.
        gross_joules / net_joules: Per window (for commands without a token count).
        idle_power_w: The baseline's power.
        window_s: Median window length.
        window_valid: All windows were at least 10 s long.
        reason: Why there is no figure (``method == "unavailable"``).
        note: Warnings (window too short, counter reset ...).
        components: Other figures per token: ``"cpu"`` (the CPU package during a GPU run, when
            RAPL is readable) and ``"instant_power"`` (the GPU's instant power integrated over
            the same windows as its counter, with ``relative_difference_vs_counter``).
    """

    method: str
    gross_joules_per_token: float | None = None
    net_joules_per_token: float | None = None
    uncertainty: float | None = None
    net_uncertainty: float | None = None
    gross_joules: float | None = None
    net_joules: float | None = None
    idle_power_w: float | None = None
    window_s: float | None = None
    window_valid: bool = False
    reason: str | None = None
    note: str | None = None
    components: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The ``energy`` object of the result JSON."""
        data: dict[str, Any] = {
            "method": self.method,
            "gross_joules_per_token": _r(self.gross_joules_per_token, 5),
            "net_joules_per_token": _r(self.net_joules_per_token, 5),
            "uncertainty": _r(self.uncertainty, 4),
        }
        if self.reason is not None:
            data["reason"] = self.reason
        data.update(
            {
                "net_uncertainty": _r(self.net_uncertainty, 4),
                "gross_joules": _r(self.gross_joules),
                "net_joules": _r(self.net_joules),
                "idle_power_w": _r(self.idle_power_w),
                "window_s": _r(self.window_s),
                "window_valid": self.window_valid,
                "note": self.note,
                "components": self.components,
            }
        )
        return data


@dataclass(frozen=True)
class Temperature:
    """The device's temperature: idle, average and peak over the windows (°C)."""

    sensor: str
    baseline_c: float | None = None
    avg_c: float | None = None
    peak_c: float | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``temperature`` object of the result JSON."""
        return {
            "sensor": self.sensor,
            "baseline_c": _r(self.baseline_c, 1),
            "avg_c": _r(self.avg_c, 1),
            "peak_c": _r(self.peak_c, 1),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Power:
    """The device's power: idle, average (energy ÷ time) and peak over the windows (W)."""

    source: str
    idle_w: float | None = None
    avg_w: float | None = None
    peak_w: float | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``power`` object of the result JSON."""
        return {
            "source": self.source,
            "idle_w": _r(self.idle_w),
            "avg_w": _r(self.avg_w),
            "peak_w": _r(self.peak_w),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class BenchResult:
    """The outcome of one benchmark.

    ``status == "ok"``: the metrics are medians over the windows. ``"failed"``: ``error`` says
    why (``error_kind``: ``oom``, ``missing``, ``error``, ``crash``, ``died``); ``"cancelled"``:
    nothing was measured. Only ``ok`` results are stored.

    Metric attributes mirror the JSON of :meth:`to_json`; speeds in tokens/s, times in s.
    """

    status: Status
    model: str
    backend: str
    device: str
    dtype: str | None
    spec: BenchSpec
    fingerprint: str
    hardware: str
    started_at: str
    duration_s: float
    error: str | None = None
    error_kind: str | None = None
    backend_info: BackendInfo | None = None
    ttft_s: float | None = None
    prefill_tokens_per_s: float | None = None
    decode_tokens_per_s: float | None = None
    decode_tokens_per_s_sustained: float | None = None
    embeddings_per_s: float | None = None
    tokens_per_window: int | None = None
    energy: EnergySummary | None = None
    temperature: Temperature | None = None
    power: Power | None = None
    clocks: dict[str, float | None] = field(default_factory=dict)
    throttled_fraction: float | None = None
    throttle_reasons: dict[str, float] = field(default_factory=dict)
    violations: dict[str, float] = field(default_factory=dict)
    predicted: Prediction | None = None
    prediction_note: str | None = None
    measured_over_predicted: float | None = None
    windows: tuple[WindowResult, ...] = ()
    baseline: IdlePower | None = None
    spread: dict[str, dict[str, float | None]] = field(default_factory=dict)
    telemetry_summary: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    run_id: int | None = None

    @property
    def ok(self) -> bool:
        """True for a completed, measured benchmark."""
        return self.status == "ok"

    def to_json(self) -> dict[str, Any]:
        """The ``thermal-scout bench --json`` document (the issue's keys first, then details)."""
        return {
            "model": self.model,
            "backend": self.backend,
            "device": self.device,
            "ttft_s": _r(self.ttft_s, 4),
            "prefill_tokens_per_s": _r(self.prefill_tokens_per_s),
            "decode_tokens_per_s": _r(self.decode_tokens_per_s),
            "decode_tokens_per_s_sustained": _r(self.decode_tokens_per_s_sustained),
            "energy": (self.energy or EnergySummary("unavailable", reason=self.error)).to_json(),
            "temperature": None if self.temperature is None else self.temperature.to_json(),
            "power": None if self.power is None else self.power.to_json(),
            "throttled_fraction": _r(self.throttled_fraction, 4),
            "predicted": None if self.predicted is None else self.predicted.to_json(),
            "measured_over_predicted": _r(self.measured_over_predicted, 4),
            "status": self.status,
            "error": self.error,
            "dtype": self.dtype,
            "embeddings_per_s": _r(self.embeddings_per_s),
            "tokens": self.spec.new_tokens if self.backend != "command" else self.spec.tokens,
            "prompt_tokens": self.spec.prompt_tokens,
            "tokens_per_window": self.tokens_per_window,
            "repeat": self.spec.repeat,
            "throttle_reasons": self.throttle_reasons,
            "violations": self.violations,
            "clocks": {k: _r(v, 1) for k, v in self.clocks.items()},
            "spread": self.spread,
            "windows": [w.to_json() for w in self.windows],
            "baseline": None if self.baseline is None else _baseline_json(self.baseline),
            "prediction_note": self.prediction_note,
            "backend_info": None if self.backend_info is None else self.backend_info.to_json(),
            "hardware": {"fingerprint": self.fingerprint, "description": self.hardware},
            "profile": self.spec.profile,
            "started_at": self.started_at,
            "duration_s": _r(self.duration_s, 2),
            "notes": list(self.notes),
            "run_id": self.run_id,
        }


def _baseline_json(base: IdlePower) -> dict[str, Any]:
    return {
        "power_w": _r(base.watts),
        "method": base.method,
        "uncertainty": _r(base.relative_uncertainty, 4),
        "temp_c": _r(base.temp_c, 1),
        "duration_s": _r(base.duration_s, 2),
        "reason": base.reason,
    }


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _rate(count: int | None, seconds: float | None) -> float | None:
    if count is None or seconds is None or seconds <= 0:
        return None
    return count / seconds


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return median(present) if present else None


def _spread(values: Sequence[float | None]) -> dict[str, float | None]:
    present = [v for v in values if v is not None]
    if not present:
        return {"min": None, "max": None}
    return {"min": round(min(present), 5), "max": round(max(present), 5)}


@dataclass
class _RawWindow:
    t0: float
    t1: float
    runs: list[RunTiming]


class BenchRunner:
    """Runs one :class:`~core.bench.plan.BenchPlan`.

    Args:
        plan: What to run (from :func:`~core.bench.plan.plan_benchmark`).
        feed: Samples from the app's own sampler (a :class:`~core.bench.feed.PushFeed` it
            pushes into); None: sample live on a private thread.
        source: Telemetry source for the private sampler (default: live sensors).
        on_progress: Receives :class:`Progress` events on the runner's thread.
        child_factory: Builds the child process handle (tests inject fakes).
    """

    def __init__(
        self,
        plan: BenchPlan,
        *,
        feed: SampleFeed | None = None,
        source: TelemetrySource | None = None,
        on_progress: ProgressCallback | None = None,
        child_factory: Callable[[dict[str, Any]], ChildProcess] = ChildProcess,
    ) -> None:
        self.plan = plan
        self._feed = feed
        self._source = source
        self._on_progress = on_progress
        self._child_factory = child_factory
        self._cancel = threading.Event()
        self._child: ChildProcess | None = None
        self._lock = threading.Lock()
        self._start = 0.0
        self._notes: list[str] = list(plan.notes)

    # -- control ----------------------------------------------------------------------------
    def cancel(self) -> None:
        """Stop the benchmark (any thread, returns at once): the child gets ``SIGTERM`` now and
        ``SIGKILL`` 0.5 s later; :meth:`run` returns a ``cancelled`` result."""
        self._cancel.set()
        with self._lock:
            child = self._child
        if child is not None:
            child.terminate()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._cancel.is_set()

    # -- helpers ----------------------------------------------------------------------------
    def _emit(self, phase: Phase, message: str, **values: Any) -> None:
        if self._on_progress is None:
            return
        event = Progress(
            phase=phase,
            message=message,
            repetitions=self.plan.spec.repeat,
            elapsed_s=time.monotonic() - self._start,
            **values,
        )
        try:
            self._on_progress(event)
        except Exception as exc:  # a broken progress display must not break the measurement
            note = f"progress callback failed: {type(exc).__name__}: {exc}"
            if note not in self._notes:
                self._notes.append(note)

    def _sleep(self, seconds: float) -> None:
        if self._cancel.wait(max(0.0, seconds)):
            raise Cancelled

    # -- phases -----------------------------------------------------------------------------
    def _baseline(self, feed: SampleFeed) -> IdlePower:
        spec, target = self.plan.spec, self.plan.target
        if spec.baseline_s <= 0:
            return IdlePower(None, None, None, None, 0.0, reason="no idle baseline measured")
        t0 = feed.now()
        while True:
            elapsed = feed.now() - t0
            if elapsed >= spec.baseline_s:
                break
            latest = feed.samples_between(t0, feed.now())
            temp = latest_temperature(latest[-1] if latest else None, target)
            self._emit(
                "baseline",
                f"measuring idle for {spec.baseline_s:g} s",
                phase_elapsed_s=elapsed,
                phase_total_s=spec.baseline_s,
                temperature_c=temp,
            )
            self._sleep(min(0.5, spec.baseline_s - elapsed))
        samples = feed.samples_between(t0, feed.now())
        if len(samples) < 2:
            return IdlePower(
                None,
                None,
                None,
                latest_temperature(samples[-1] if samples else None, target),
                spec.baseline_s,
                reason=f"too few samples in the {spec.baseline_s:.1f} s baseline",
            )
        return idle_power(samples, target)

    def _run(
        self,
        child: ChildProcess,
        phase: Phase,
        label: str,
        done_tokens: int,
        repetition: int | None,
        t0: float,
        feed: SampleFeed,
    ) -> RunTiming:
        spec = self.plan.spec
        window = spec.min_window_s if phase == "run" else None

        def on_tokens(tokens: int, decode_s: float) -> None:
            rate = tokens / decode_s if decode_s > 0 else None
            total = done_tokens + tokens
            speed = f", {rate:.1f} tok/s" if rate is not None else ""
            self._emit(
                phase,
                f"{label}: {total} tokens{speed}",
                repetition=repetition,
                tokens=total,
                tokens_per_s=rate,
                phase_elapsed_s=feed.now() - t0,
                phase_total_s=window,
            )

        return child.run(spec.prompt_tokens, spec.new_tokens, self._cancel, on_tokens)

    def _window(self, child: ChildProcess, feed: SampleFeed, index: int) -> _RawWindow:
        spec = self.plan.spec
        label = f"run {index + 1} of {spec.repeat}"
        t0 = feed.now()
        self._emit("run", label, repetition=index + 1, phase_total_s=spec.min_window_s)
        runs: list[RunTiming] = []
        done = 0
        while True:
            timing = self._run(child, "run", label, done, index + 1, t0, feed)
            runs.append(timing)
            done += timing.tokens or 0
            if feed.now() - t0 >= spec.min_window_s or len(runs) >= MAX_RUNS_PER_WINDOW:
                break
        return _RawWindow(t0, feed.now(), runs)

    def _cooldown(self, feed: SampleFeed, base: IdlePower, index: int) -> None:
        spec, target = self.plan.spec, self.plan.target
        if spec.cooldown_s <= 0:
            return
        start = feed.now()
        goal = None if base.temp_c is None else base.temp_c + spec.cooldown_margin_c
        while True:
            elapsed = feed.now() - start
            if elapsed >= spec.cooldown_s:
                if goal is not None:
                    self._notes.append(
                        f"cooldown {index + 1}: still above {goal:.1f} °C after "
                        f"{spec.cooldown_s:.0f} s"
                    )
                return
            recent = feed.samples_between(feed.now() - 5.0, feed.now())
            temp = latest_temperature(recent[-1] if recent else None, target)
            if goal is not None and temp is not None and temp <= goal:
                return
            what = (
                f"cooling down to {goal:.1f} °C"
                if goal is not None
                else f"cooling down for {spec.cooldown_s:g} s (no temperature sensor)"
            )
            self._emit(
                "cooldown",
                what,
                repetition=index + 1,
                phase_elapsed_s=elapsed,
                phase_total_s=spec.cooldown_s,
                temperature_c=temp,
            )
            self._sleep(min(0.25, spec.cooldown_s - elapsed))

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> BenchResult:
        """Run the benchmark to the end, a failure or a cancel (blocking; use a worker thread)."""
        self._start = time.monotonic()
        started_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        own: OwnSampler | None = None
        feed = self._feed
        info: BackendInfo | None = None
        child: ChildProcess | None = None
        try:
            if self._cancel.is_set():
                raise Cancelled
            if feed is None:
                own = OwnSampler(self._source, self.plan.spec.interval_s)
                feed = own.start()
            self._emit(
                "loading", f"loading {self.plan.model} ({self.plan.backend}, {self.plan.device})"
            )
            child = self._child_factory(self.plan.child_config)
            with self._lock:
                self._child = child
            if self._cancel.is_set():
                raise Cancelled
            child.start()
            info = child.wait_ready(self._cancel)
            if not feed.wait_for(-math.inf, timeout=max(2.0, 3 * self.plan.spec.interval_s)):
                self._notes.append("no telemetry samples arrived: no energy or temperatures")
            base = self._baseline(feed)
            for i in range(self.plan.warmup):
                label = f"warm-up {i + 1} of {self.plan.warmup}"
                self._emit("warmup", label)
                self._run(child, "warmup", label, 0, None, feed.now(), feed)
            raw: list[_RawWindow] = []
            for index in range(self.plan.spec.repeat):
                raw.append(self._window(child, feed, index))
                if index < self.plan.spec.repeat - 1:
                    self._cooldown(feed, base, index)
            self._emit("finishing", "releasing the model and reading the last samples")
            child.quit()
            margin = 2 * (feed.interval_s or self.plan.spec.interval_s) + 0.5
            feed.wait_for(raw[-1].t1, timeout=margin)
            result = self._result(raw, base, feed, info, started_at)
            self._emit("done", "done")
            return result
        except Cancelled:
            self._emit("cancelled", "cancelled")
            return self._ended("cancelled", started_at, info, None, None)
        except WorkloadFailed as exc:
            self._emit("failed", str(exc))
            return self._ended("failed", started_at, info, str(exc), exc.kind)
        except BenchError as exc:
            self._emit("failed", str(exc))
            kind = "missing" if type(exc).__name__ == "BackendMissing" else "error"
            return self._ended("failed", started_at, info, str(exc), kind)
        except Exception as exc:  # a bug here must not take the app down either
            message = f"internal error: {type(exc).__name__}: {exc}"
            self._emit("failed", message)
            return self._ended("failed", started_at, info, message, "internal")
        finally:
            if child is not None:
                child.kill()
            if own is not None:
                own.stop()

    def _ended(
        self,
        status: Status,
        started_at: str,
        info: BackendInfo | None,
        error: str | None,
        kind: str | None,
    ) -> BenchResult:
        plan = self.plan
        return BenchResult(
            status=status,
            model=plan.model,
            backend=plan.backend,
            device=plan.device,
            dtype=plan.dtype,
            spec=plan.spec,
            fingerprint=plan.fingerprint,
            hardware=plan.hardware,
            started_at=started_at,
            duration_s=time.monotonic() - self._start,
            error=error,
            error_kind=kind,
            backend_info=info,
            predicted=plan.prediction,
            prediction_note=plan.prediction_note,
            notes=tuple(self._notes),
        )

    # -- results ----------------------------------------------------------------------------
    def _result(
        self,
        raw: list[_RawWindow],
        base: IdlePower,
        feed: SampleFeed,
        info: BackendInfo | None,
        started_at: str,
    ) -> BenchResult:
        plan, target = self.plan, self.plan.target
        margin = 2 * (feed.interval_s or plan.spec.interval_s) + 0.5
        windows: list[WindowResult] = []
        all_samples: list[Sample] = []
        for index, raw_window in enumerate(raw):
            samples = feed.samples_between(raw_window.t0 - margin, raw_window.t1 + margin)
            all_samples.extend(s for s in samples if raw_window.t0 <= s.t_s <= raw_window.t1)
            window_joules = window_energy(samples, raw_window.t0, raw_window.t1, target)
            net = None
            if window_joules.joules is not None and base.watts is not None:
                net = window_joules.joules - base.watts * window_joules.window_s
            components: dict[str, WindowEnergy] = {}
            if target.kind == "gpu":
                cpu = window_energy(samples, raw_window.t0, raw_window.t1, CPU)
                if cpu.joules is not None:
                    components["cpu"] = cpu
                if window_joules.method == "nvml-counter":
                    instant = window_energy(
                        samples, raw_window.t0, raw_window.t1, target, use_counter=False
                    )
                    if instant.joules is not None:
                        components[INSTANT_CHECK] = instant
            windows.append(
                WindowResult(
                    index=index,
                    t0=raw_window.t0,
                    t1=raw_window.t1,
                    runs=tuple(raw_window.runs),
                    energy=window_joules,
                    net_joules=net,
                    telemetry=window_telemetry(samples, raw_window.t0, raw_window.t1, target),
                    components=components,
                )
            )
        notes = self._notes
        watched = gpu_name(all_samples, target.index or 0) if target.kind == "gpu" else None
        ran_on = info.device_name if info is not None else None
        same = bool(watched and ran_on and (ran_on in watched or watched in ran_on))
        if watched and ran_on and ran_on.startswith("NVIDIA") and not same:
            notes.append(f"the workload ran on {ran_on} but telemetry watched {watched}")
        energy = self._energy_summary(windows, base)
        if energy.note:
            notes.append(f"energy: {energy.note}")
        temps = self._temperature(windows, base, all_samples)
        if temps.reason:
            notes.append(f"temperature: {temps.reason}")
        if base.temp_c is None and plan.spec.repeat > 1 and plan.spec.cooldown_s > 0:
            notes.append(
                f"no temperature sensor: cooled down for the full {plan.spec.cooldown_s:g} s "
                "between windows"
            )
        decode_burst = _median([w.decode_tokens_per_s for w in windows])
        sustained = _median([w.decode_tokens_per_s_sustained for w in windows])
        ratio = None
        if plan.prediction is not None and plan.prediction.decode_tokens_per_s and sustained:
            ratio = sustained / plan.prediction.decode_tokens_per_s
        fractions = [w.telemetry.throttled_fraction for w in windows]
        reasons: dict[str, float] = {}
        violations: dict[str, float] = {}
        for w in windows:
            for key, share in w.telemetry.throttle_reasons.items():
                reasons[key] = reasons.get(key, 0.0) + share / len(windows)
            for key, share in w.telemetry.violations.items():
                violations[key] = violations.get(key, 0.0) + share / len(windows)
        from core.telemetry.summary import summarize

        tokens = [w.tokens for w in windows]
        return BenchResult(
            status="ok",
            model=plan.model,
            backend=plan.backend,
            device=plan.device,
            dtype=plan.dtype,
            spec=plan.spec,
            fingerprint=plan.fingerprint,
            hardware=plan.hardware,
            started_at=started_at,
            duration_s=time.monotonic() - self._start,
            backend_info=info,
            ttft_s=_median([r.ttft_s for w in windows for r in w.runs]),
            prefill_tokens_per_s=_median([w.prefill_tokens_per_s for w in windows]),
            decode_tokens_per_s=decode_burst,
            decode_tokens_per_s_sustained=sustained,
            embeddings_per_s=_median([w.embeddings_per_s for w in windows]),
            tokens_per_window=None if None in tokens else int(median(t or 0 for t in tokens)),
            energy=energy,
            temperature=temps,
            power=self._power(windows, base),
            clocks={
                "avg_mhz": _median([w.telemetry.avg_clock_mhz for w in windows]),
                "min_mhz": min(
                    (w.telemetry.min_clock_mhz for w in windows if w.telemetry.min_clock_mhz),
                    default=None,
                ),
                "max_mhz": max(
                    (w.telemetry.max_clock_mhz for w in windows if w.telemetry.max_clock_mhz),
                    default=None,
                ),
            },
            throttled_fraction=_median(fractions),
            throttle_reasons={k: round(v, 4) for k, v in sorted(reasons.items())},
            violations={k: round(v, 4) for k, v in sorted(violations.items())},
            predicted=plan.prediction,
            prediction_note=plan.prediction_note,
            measured_over_predicted=ratio,
            windows=tuple(windows),
            baseline=base,
            spread={
                "ttft_s": _spread([w.ttft_s for w in windows]),
                "prefill_tokens_per_s": _spread([w.prefill_tokens_per_s for w in windows]),
                "decode_tokens_per_s": _spread([w.decode_tokens_per_s for w in windows]),
                "decode_tokens_per_s_sustained": _spread(
                    [w.decode_tokens_per_s_sustained for w in windows]
                ),
                "gross_joules_per_token": _spread([w.gross_joules_per_token for w in windows]),
                "net_joules_per_token": _spread([w.net_joules_per_token for w in windows]),
            },
            telemetry_summary=summarize(all_samples, "bench") if all_samples else {},
            notes=tuple(dict.fromkeys(notes)),
        )

    def _energy_summary(self, windows: list[WindowResult], base: IdlePower) -> EnergySummary:
        energies = [w.energy for w in windows]
        available = [e for e in energies if e.joules is not None]
        window_s = _median([e.window_s for e in energies])
        if not available:
            reason = next((e.reason for e in energies if e.reason), None) or "no energy readings"
            short = min(e.window_s for e in energies)
            note = None
            if short < VALID_ENERGY_WINDOW_S:
                note = f"window too short ({short:.1f} s < {VALID_ENERGY_WINDOW_S:.0f} s)"
            return EnergySummary("unavailable", reason=reason, window_s=window_s, note=note)
        methods = list(dict.fromkeys(e.method for e in available))
        net_rel: list[float | None] = []
        for w in windows:
            e = w.energy
            if (
                w.net_joules is None
                or e.joules is None
                or e.relative_uncertainty is None
                or base.watts is None
                or base.relative_uncertainty is None
                or w.net_joules == 0
            ):
                net_rel.append(None)
                continue
            absolute = (
                e.relative_uncertainty * e.joules
                + base.relative_uncertainty * base.watts * e.window_s
            )
            net_rel.append(absolute / abs(w.net_joules))
        notes = list(dict.fromkeys(e.note for e in available if e.note))
        if base.watts is None:
            notes.append(f"net not computed: {base.reason}")
        valid = all(e.valid for e in energies)
        if not valid:
            shortest = min(e.window_s for e in energies)
            rel = _median([e.relative_uncertainty for e in available]) or 0.0
            notes.insert(
                0,
                f"window too short ({shortest:.1f} s < {VALID_ENERGY_WINDOW_S:.0f} s): "
                f"±{rel * 100:.0f} %; use --min-window 10 or more",
            )
            notes = [n for n in notes if not n.startswith("window too short:")]
        components: dict[str, dict[str, Any]] = {}
        for key in ("cpu", INSTANT_CHECK):
            parts = [(w.components[key], w) for w in windows if key in w.components]
            if not parts:
                continue
            per_token = [
                (c.joules / w.tokens) if c.joules is not None and w.tokens else None
                for c, w in parts
            ]
            components[key] = {
                "method": parts[0][0].method,
                "joules_per_token": _r(_median(per_token), 5),
                "avg_power_w": _r(_median([c.avg_power_w for c, _ in parts])),
            }
            if key == INSTANT_CHECK:
                # the cross-check of deliverable 7: integrated instant power vs the counter
                differences = [
                    c.joules / w.energy.joules - 1.0
                    for c, w in parts
                    if c.joules is not None and w.energy.joules
                ]
                components[key]["relative_difference_vs_counter"] = _r(_median(differences), 4)
        return EnergySummary(
            method=" + ".join(methods),
            gross_joules_per_token=_median([w.gross_joules_per_token for w in windows]),
            net_joules_per_token=_median([w.net_joules_per_token for w in windows]),
            uncertainty=_median([e.relative_uncertainty for e in available]),
            net_uncertainty=_median(net_rel),
            gross_joules=_median([e.joules for e in available]),
            net_joules=_median([w.net_joules for w in windows]),
            idle_power_w=base.watts,
            window_s=window_s,
            window_valid=valid,
            note="; ".join(notes) or None,
            components=components,
        )

    def _temperature(
        self, windows: list[WindowResult], base: IdlePower, samples: list[Sample]
    ) -> Temperature:
        target = self.plan.target
        sensor = "GPU core" if target.kind == "gpu" else "CPU package"
        avg = _median([w.telemetry.avg_temp_c for w in windows])
        peaks = [w.telemetry.peak_temp_c for w in windows if w.telemetry.peak_temp_c is not None]
        reason = None
        if avg is None:
            reason = temperature_reason(samples, target) or "no temperature readings"
        return Temperature(
            sensor=f"{sensor} ({target.label})",
            baseline_c=base.temp_c,
            avg_c=avg,
            peak_c=max(peaks) if peaks else None,
            reason=reason,
        )

    def _power(self, windows: list[WindowResult], base: IdlePower) -> Power:
        target = self.plan.target
        source = "NVML" if target.kind == "gpu" else "RAPL package"
        avg = _median([w.energy.avg_power_w for w in windows])
        peaks = [w.telemetry.peak_power_w for w in windows if w.telemetry.peak_power_w is not None]
        reason = None
        if avg is None and not peaks:
            reason = next((w.energy.reason for w in windows if w.energy.reason), None)
        return Power(
            source=f"{source} ({target.label})",
            idle_w=base.watts,
            avg_w=avg,
            peak_w=max(peaks) if peaks else None,
            reason=reason,
        )


def run_benchmark(
    plan: BenchPlan,
    *,
    feed: SampleFeed | None = None,
    on_progress: ProgressCallback | None = None,
) -> BenchResult:
    """Run ``plan`` (blocking). Convenience for :class:`BenchRunner` without cancel."""
    return BenchRunner(plan, feed=feed, on_progress=on_progress).run()


__all__ = [
    "BenchResult",
    "BenchRunner",
    "EnergySummary",
    "Phase",
    "Power",
    "Progress",
    "PushFeed",
    "Target",
    "Temperature",
    "WindowResult",
    "run_benchmark",
]
