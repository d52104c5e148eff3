"""Record and replay telemetry traces (JSON Lines, one sample per line).

The format is the one of the recorded H100 trace that ships in ``tests/data``: each GPU line is
``{"t_s", "gpu", "power_avg_mw", "power_instant_mw", "energy_mj", "temp_c", "sm_clock_mhz",
"clock_event_reasons"}``. Thermal Scout adds optional GPU fields (``name``, ``mem_temp_c``,
``power_limit_mw``, ``slowdown_temp_c``, ``shutdown_temp_c``, ``sm_clock_max_mhz``,
``mem_clock_mhz``, ``mem_clock_max_mhz``, ``util_gpu_pct``, ``util_mem_pct``,
``vram_used_bytes``, ``vram_total_bytes``, ``violation_ns``) and CPU lines
``{"t_s", "cpu": {...CpuSample fields...}}``. Lines with the same ``t_s`` form one tick.
Unknown fields are ignored so newer traces replay in older versions.

CSV output (``monitor --output FILE.csv``) is for spreadsheets: one row per device per tick.
Only JSON Lines can be replayed.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import IO, Any

from core.errors import RecordError, TraceError
from core.telemetry.sample import CoreReading, CpuSample, GpuSample, Sample

_GPU_INT_FIELDS = {"energy_mj", "clock_event_reasons", "vram_used_bytes", "vram_total_bytes"}
_GPU_MW_FIELDS = {
    "power_avg_mw": "power_avg_w",
    "power_instant_mw": "power_instant_w",
    "power_limit_mw": "power_limit_w",
}
_GPU_PLAIN_FIELDS = (
    "temp_c",
    "mem_temp_c",
    "slowdown_temp_c",
    "shutdown_temp_c",
    "sm_clock_mhz",
    "sm_clock_max_mhz",
    "mem_clock_mhz",
    "mem_clock_max_mhz",
    "util_gpu_pct",
    "util_mem_pct",
)
_CPU_FLOAT_FIELDS = (
    "package_temp_c",
    "package_temp_high_c",
    "package_temp_critical_c",
    "package_power_w",
    "package_energy_j",
    "load_pct",
    "freq_mhz",
    "freq_max_mhz",
    "battery_power_w",
    "battery_percent",
)
_CPU_INT_FIELDS = ("memory_used_bytes", "memory_total_bytes")

MAX_LINE_BYTES = 1 << 20
"""A longer line is not a telemetry sample."""


class _LineError(ValueError):
    """A trace line that cannot be turned into a sample."""


def _number(value: Any, key: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _LineError(f"'{key}' must be a number or null, got {value!r}")
    if not math.isfinite(value):
        raise _LineError(f"'{key}' must be finite, got {value!r}")
    return float(value)


def _integer(value: Any, key: str) -> int | None:
    number = _number(value, key)
    if number is None:
        return None
    if number != int(number):
        raise _LineError(f"'{key}' must be an integer, got {value!r}")
    return int(number)


def _gpu_from_line(obj: dict[str, Any]) -> GpuSample:
    index = _integer(obj.get("gpu"), "gpu")
    if index is None or index < 0:
        raise _LineError("'gpu' must be a GPU index (0, 1, ...)")
    values: dict[str, Any] = {"index": index}
    name = obj.get("name")
    if name is not None:
        if not isinstance(name, str):
            raise _LineError("'name' must be a string")
        values["name"] = name
    for key, attr in _GPU_MW_FIELDS.items():
        mw = _number(obj.get(key), key)
        values[attr] = None if mw is None else mw / 1000.0
    for key in _GPU_PLAIN_FIELDS:
        values[key] = _number(obj.get(key), key)
    for key in _GPU_INT_FIELDS:
        values[key] = _integer(obj.get(key), key)
    violations = obj.get("violation_ns")
    if violations is not None:
        if not isinstance(violations, dict):
            raise _LineError("'violation_ns' must be an object of name: ns")
        values["violation_ns"] = tuple(
            (str(k), _integer(v, f"violation_ns.{k}") or 0) for k, v in violations.items()
        )
    missing = tuple(
        (f.name, "not in this trace")
        for f in fields(GpuSample)
        if f.name not in ("index", "name", "violation_ns", "lost", "unavailable")
        and values.get(f.name) is None
    )
    return GpuSample(**values, unavailable=missing)


def _cpu_from_line(obj: Any) -> CpuSample:
    if not isinstance(obj, dict):
        raise _LineError("'cpu' must be an object")
    values: dict[str, Any] = {}
    for key in _CPU_FLOAT_FIELDS:
        values[key] = _number(obj.get(key), key)
    for key in _CPU_INT_FIELDS:
        values[key] = _integer(obj.get(key), key)
    loads = obj.get("cores_load_pct")
    if loads is not None:
        if not isinstance(loads, list):
            raise _LineError("'cores_load_pct' must be a list")
        values["cores"] = tuple(
            CoreReading(i, _number(v, "cores_load_pct"), None) for i, v in enumerate(loads)
        )
    discharging = obj.get("battery_discharging")
    if discharging is not None and not isinstance(discharging, bool):
        raise _LineError("'battery_discharging' must be true, false or null")
    values["battery_discharging"] = discharging
    reasons = obj.get("unavailable") or {}
    if not isinstance(reasons, dict):
        raise _LineError("'unavailable' must be an object of name: reason")
    merged = {k: "not in this trace" for k in _CPU_FLOAT_FIELDS if values[k] is None}
    merged.update({str(k): str(v) for k, v in reasons.items()})
    return CpuSample(**values, unavailable=tuple(sorted(merged.items())))


def parse_line(text: str) -> tuple[float, CpuSample | None, GpuSample | None]:
    """Parse one trace line into ``(t_s, cpu, gpu)`` (exactly one of cpu/gpu is set).

    Raises:
        ValueError: The line is not a valid trace line (message says why).
    """
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _LineError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(obj, dict):
        raise _LineError("a trace line must be a JSON object")
    t_s = _number(obj.get("t_s"), "t_s")
    if t_s is None or t_s < 0:
        raise _LineError("'t_s' (seconds, ≥ 0) is missing")
    if "gpu" in obj:
        return t_s, None, _gpu_from_line(obj)
    if "cpu" in obj:
        return t_s, _cpu_from_line(obj["cpu"]), None
    raise _LineError("a trace line needs a 'gpu' index or a 'cpu' object")


@dataclass(frozen=True)
class Trace:
    """A loaded trace.

    Attributes:
        path: Where it was read from.
        samples: One per tick, in time order.
        skipped: ``(line_number, reason)`` for every line skipped (lenient loading only).
    """

    path: str
    samples: tuple[Sample, ...]
    skipped: tuple[tuple[int, str], ...] = field(default_factory=tuple)

    @property
    def duration_s(self) -> float:
        """Time from the first to the last sample."""
        return self.samples[-1].t_s - self.samples[0].t_s if self.samples else 0.0


def _read_lines(path: Path) -> Iterator[tuple[int, str, bool]]:
    """Yield ``(line_number, text, complete)``; ``complete`` is False for a last line cut short."""
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise TraceError(str(path), "trace file not found; check the path") from None
    except IsADirectoryError:
        raise TraceError(str(path), "is a directory, expected a .jsonl trace") from None
    except PermissionError:
        raise TraceError(str(path), "permission denied reading the trace") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if len(raw) > MAX_LINE_BYTES:
                yield number, "", False
                continue
            complete = raw.endswith(b"\n")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise TraceError(
                    str(path), "not UTF-8 text; is this a .jsonl trace?", number
                ) from None
            yield number, text.strip(), complete


def load_trace(path: str | Path, *, strict: bool = True) -> Trace:
    """Read a JSON Lines trace.

    Args:
        path: The ``.jsonl`` file.
        strict: Raise on the first bad line (``monitor``); when False, skip bad lines and report
            them in :attr:`Trace.skipped` (replay in the TUI).

    Raises:
        TraceError: Missing, empty, not a trace, or (strict) a malformed/truncated line, with the
            file and line number.

    Example:
        >>> trace = load_trace("tests/data/h100_bf16_matmul_load.jsonl")  # doctest: +SKIP
        >>> len(trace.samples), round(trace.duration_s, 1)  # doctest: +SKIP
        (260, 17.5)
    """
    path = Path(path)
    ticks: list[Sample] = []
    skipped: list[tuple[int, str]] = []
    last_t: float | None = None
    any_line = False
    for number, text, complete in _read_lines(path):
        if not text:
            continue
        any_line = True
        try:
            t_s, cpu, gpu = parse_line(text)
        except ValueError as exc:
            reason = str(exc)
            if not complete:
                reason = f"truncated last line ({reason})"
            if strict:
                raise TraceError(str(path), reason, number) from None
            skipped.append((number, reason))
            continue
        if last_t is not None and t_s < last_t:
            reason = f"'t_s' goes backwards ({t_s} after {last_t})"
            if strict:
                raise TraceError(str(path), reason, number)
            skipped.append((number, reason))
            continue
        if last_t is not None and t_s == last_t and ticks:
            previous = ticks[-1]
            if gpu is not None and all(g.index != gpu.index for g in previous.gpus):
                ticks[-1] = Sample(previous.t_s, previous.cpu, (*previous.gpus, gpu))
                continue
            if cpu is not None and previous.cpu is None:
                ticks[-1] = Sample(previous.t_s, cpu, previous.gpus)
                continue
        ticks.append(Sample(t_s, cpu, (gpu,) if gpu is not None else ()))
        last_t = t_s
    if not any_line:
        raise TraceError(str(path), "empty trace: no samples")
    if not ticks:
        first = skipped[0] if skipped else (None, "no valid lines")
        raise TraceError(str(path), f"no valid samples ({len(skipped)} bad lines)", first[0])
    return Trace(str(path), tuple(ticks), tuple(skipped))


def _gpu_line(t_s: float, gpu: GpuSample) -> dict[str, Any]:
    line: dict[str, Any] = {"t_s": round(t_s, 4), "gpu": gpu.index}
    if gpu.name:
        line["name"] = gpu.name
    for key, attr in _GPU_MW_FIELDS.items():
        watts = getattr(gpu, attr)
        line[key] = None if watts is None else round(watts * 1000)
    for key in ("energy_mj", *_GPU_PLAIN_FIELDS, "clock_event_reasons"):
        line[key] = getattr(gpu, key)
    line["vram_used_bytes"] = gpu.vram_used_bytes
    line["vram_total_bytes"] = gpu.vram_total_bytes
    if gpu.violation_ns:
        line["violation_ns"] = dict(gpu.violation_ns)
    return line


def _cpu_line(t_s: float, cpu: CpuSample) -> dict[str, Any]:
    body: dict[str, Any] = {key: getattr(cpu, key) for key in _CPU_FLOAT_FIELDS}
    for key in _CPU_INT_FIELDS:
        body[key] = getattr(cpu, key)
    body["battery_discharging"] = cpu.battery_discharging
    if cpu.cores:
        body["cores_load_pct"] = [c.load_pct for c in cpu.cores]
    if cpu.unavailable:
        body["unavailable"] = dict(cpu.unavailable)
    return {"t_s": round(t_s, 4), "cpu": body}


def sample_to_lines(sample: Sample) -> list[dict[str, Any]]:
    """The JSON objects (one per line) that record ``sample``."""
    lines = [_gpu_line(sample.t_s, gpu) for gpu in sample.gpus if not gpu.lost]
    if sample.cpu is not None:
        lines.append(_cpu_line(sample.t_s, sample.cpu))
    return lines


_CSV_COLUMNS = (
    "t_s",
    "device",
    "temp_c",
    "power_w",
    "power_avg_w",
    "energy_j",
    "load_pct",
    "clock_mhz",
    "throttle_reasons",
)


class TraceWriter:
    """Append samples to a ``.jsonl`` (replayable) or ``.csv`` file, one flush per tick.

    The file must not exist yet: a recording never overwrites a user's file. Each tick is
    written as whole lines and flushed, so a crash loses at most the tick in flight, and replay
    skips a cut-off last line.

    Raises:
        RecordError: Unsupported extension, file exists, or it cannot be created.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in (".jsonl", ".csv"):
            raise RecordError(f"{self.path}: record to a .jsonl (replayable) or .csv file")
        self.format = suffix[1:]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle: IO[str] = self.path.open("x", encoding="utf-8", newline="")
        except FileExistsError:
            raise RecordError(f"{self.path}: already exists; choose a new file name") from None
        except OSError as exc:
            raise RecordError(f"{self.path}: cannot create ({exc.strerror})") from None
        self._csv = csv.writer(self._handle) if self.format == "csv" else None
        if self._csv is not None:
            self._csv.writerow(_CSV_COLUMNS)
        self.samples_written = 0

    def write(self, sample: Sample) -> None:
        """Write one tick and flush it.

        Raises:
            RecordError: The write failed (disk full, file removed).
        """
        try:
            if self._csv is not None:
                self._write_csv(sample)
            else:
                buffer = io.StringIO()
                for line in sample_to_lines(sample):
                    buffer.write(json.dumps(line, separators=(", ", ": ")))
                    buffer.write("\n")
                self._handle.write(buffer.getvalue())
            self._handle.flush()
        except OSError as exc:
            raise RecordError(f"{self.path}: write failed ({exc.strerror})") from None
        self.samples_written += 1

    def _write_csv(self, sample: Sample) -> None:
        assert self._csv is not None
        from core.telemetry.throttle import describe

        if sample.cpu is not None:
            cpu = sample.cpu
            energy = cpu.package_energy_j
            self._csv.writerow(
                [
                    sample.t_s,
                    "cpu",
                    cpu.package_temp_c,
                    cpu.package_power_w,
                    None,
                    energy,
                    cpu.load_pct,
                    cpu.freq_mhz,
                    None,
                ]
            )
        for gpu in sample.gpus:
            energy = None if gpu.energy_mj is None else gpu.energy_mj / 1000.0
            reasons = None if gpu.clock_event_reasons is None else describe(gpu.clock_event_reasons)
            self._csv.writerow(
                [
                    sample.t_s,
                    f"gpu{gpu.index}",
                    gpu.temp_c,
                    gpu.power_instant_w,
                    gpu.power_avg_w,
                    energy,
                    gpu.util_gpu_pct,
                    gpu.sm_clock_mhz,
                    reasons,
                ]
            )

    def close(self) -> None:
        """Flush and close, fsyncing so the recording survives a power cut."""
        if self._handle.closed:
            return
        try:
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError:
            pass  # closing below still releases the file; the lines written are flushed
        self._handle.close()


class ReplaySource:
    """Serve a loaded trace as a telemetry source on an injectable clock.

    Each :meth:`read` returns the newest trace sample at or before the elapsed time (scaled by
    ``speed``) that has not been served yet; between two reads the intermediate samples are
    skipped for display (energy comes from counters, which are cumulative, so nothing is lost).

    Args:
        trace: The loaded trace.
        speed: Replay speed (2.0 plays twice as fast).
        every_sample: Serve every intermediate sample too (used by summaries and tests).
    """

    def __init__(self, trace: Trace, *, speed: float = 1.0, every_sample: bool = False) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.trace = trace
        self.speed = speed
        self.every_sample = every_sample
        self._origin = trace.samples[0].t_s
        self._next = 0

    @property
    def finished(self) -> bool:
        """True once every sample was served."""
        return self._next >= len(self.trace.samples)

    @property
    def label(self) -> str:
        """Where the data comes from, for headers."""
        return f"replay: {Path(self.trace.path).name}"

    def read(self, now_s: float) -> list[Sample]:
        """Samples due at ``now_s`` seconds after replay started."""
        due = self._origin + now_s * self.speed
        samples = self.trace.samples
        start = self._next
        while self._next < len(samples) and samples[self._next].t_s <= due + 1e-9:
            self._next += 1
        served = list(samples[start : self._next])
        if not self.every_sample and served:
            served = served[-1:]
        return served

    def close(self) -> None:
        """Nothing to release."""


def open_writer(path: str | Path) -> TraceWriter:
    """Create a :class:`TraceWriter` (a factory so callers can inject a fake)."""
    return TraceWriter(path)


WriterFactory = Callable[[Path], TraceWriter]
