"""The telemetry sampler: one thread, one source, a fixed schedule.

The sampler never touches the UI. Each tick it reads its source, writes the samples to the
active recorder (file I/O stays on this thread) and hands them to ``on_samples`` — in the TUI a
callback that queues them and posts a coalescing message to the App. All NVML calls happen on
this thread because the source's readers are created and used here.

Ticks follow an absolute schedule (``start + n × interval``): a slow tick delays the next one
instead of piling up, and missed ticks are skipped rather than run back to back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from core.errors import RecordError
from core.telemetry.sample import CpuSample, GpuSample, Sample
from core.telemetry.trace import TraceWriter


class TelemetrySource(Protocol):
    """Anything that produces samples: live sensors or a replayed trace."""

    @property
    def label(self) -> str:
        """Where the data comes from, e.g. ``"live"`` or ``"replay: trace.jsonl"``."""
        ...

    @property
    def finished(self) -> bool:
        """True when no further samples will come (end of a replay)."""
        ...

    def read(self, now_s: float) -> list[Sample]:
        """Samples for time ``now_s`` (seconds since the sampler started). Must not raise."""
        ...

    def close(self) -> None:
        """Release resources (NVML)."""
        ...


class CpuReaderLike(Protocol):
    """What the live source needs of a CPU reader."""

    def read(self, now_s: float) -> CpuSample:
        """One CPU sample; never raises."""
        ...


class GpuReaderLike(Protocol):
    """What the live source needs of a GPU reader."""

    def read(self) -> tuple[GpuSample, ...]:
        """One sample per GPU; never raises."""
        ...


class LiveSource:
    """Live sensors: the CPU reader and the NVML GPU reader, built lazily on the sampler thread.

    Args:
        cpu_reader_factory: Builds the CPU reader (default: :class:`core.telemetry.cpu.CpuReader`).
        gpu_reader_factory: Builds the GPU reader (default: NVML through :mod:`core.nvml`).
    """

    label = "live"
    finished = False

    def __init__(
        self,
        cpu_reader_factory: Callable[[], CpuReaderLike] | None = None,
        gpu_reader_factory: Callable[[], GpuReaderLike] | None = None,
    ) -> None:
        self._cpu_factory = cpu_reader_factory
        self._gpu_factory = gpu_reader_factory
        self._cpu: CpuReaderLike | None = None
        self._gpu: GpuReaderLike | None = None

    def _ensure(self) -> tuple[CpuReaderLike, GpuReaderLike]:
        if self._cpu is None:
            if self._cpu_factory is None:
                from core.telemetry.cpu import CpuReader

                self._cpu = CpuReader()
            else:
                self._cpu = self._cpu_factory()
        if self._gpu is None:
            if self._gpu_factory is None:
                from core.constants import SYSFS_ROOT
                from core.nvml import PynvmlBackend
                from core.telemetry.gpu import GpuReader

                self._gpu = GpuReader(PynvmlBackend(), SYSFS_ROOT)
            else:
                self._gpu = self._gpu_factory()
        return self._cpu, self._gpu

    def read(self, now_s: float) -> list[Sample]:
        """One sample from every reader."""
        cpu_reader, gpu_reader = self._ensure()
        return [Sample(t_s=now_s, cpu=cpu_reader.read(now_s), gpus=tuple(gpu_reader.read()))]

    def close(self) -> None:
        """Shut NVML down if the GPU reader holds it."""
        backend = getattr(self._gpu, "backend", None)
        shutdown = getattr(backend, "shutdown", None)
        if callable(shutdown):
            shutdown()


SamplesCallback = Callable[[list[Sample]], None]
ErrorCallback = Callable[[str], None]


class Sampler:
    """Run a source on a schedule in the calling thread until stopped.

    Args:
        source: Where samples come from.
        interval_s: Seconds between ticks.
        on_samples: Receives each tick's samples (called on the sampler thread).
        on_error: Receives one-line messages for failures that did not stop the sampler
            (a recording that could not be written, a reader that raised).
        clock: Monotonic clock in seconds (injectable for tests and replay).
        sleep: Waits for a number of seconds or until stopped (injectable).
    """

    def __init__(
        self,
        source: TelemetrySource,
        interval_s: float,
        on_samples: SamplesCallback,
        on_error: ErrorCallback | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.source = source
        self.interval_s = interval_s
        self._on_samples = on_samples
        self._on_error = on_error or (lambda message: None)
        self._clock = clock
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._recorder: TraceWriter | None = None
        self._start: float | None = None
        self.ticks = 0

    # -- control, callable from any thread ------------------------------------------------
    def stop(self) -> None:
        """Ask the loop to end after the current tick."""
        self._stop.set()

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stop.is_set()

    def set_recorder(self, recorder: TraceWriter | None) -> TraceWriter | None:
        """Start writing ticks to ``recorder`` (or stop, with None); returns the previous one.

        The caller closes the returned writer; writes happen on the sampler thread, under the
        same lock, so a writer is never closed mid-write.
        """
        with self._lock:
            previous, self._recorder = self._recorder, recorder
        return previous

    # -- the loop -------------------------------------------------------------------------
    def tick(self) -> list[Sample]:
        """Run one tick now: read, record, deliver. Never raises."""
        now = self._clock()
        if self._start is None:
            self._start = now
        try:
            samples = self.source.read(now - self._start)
        except Exception as exc:  # a reader broke its never-raise contract: report, go on
            self._on_error(f"telemetry read failed: {type(exc).__name__}: {exc}")
            return []
        self.ticks += 1
        if samples:
            with self._lock:
                recorder = self._recorder
                if recorder is not None:
                    try:
                        for sample in samples:
                            recorder.write(sample)
                    except RecordError as exc:
                        self._recorder = None
                        recorder.close()
                        self._on_error(f"recording stopped: {exc}")
            self._on_samples(samples)
        return samples

    def run(self) -> None:
        """Tick on schedule until :meth:`stop` or the source is finished; then close the source."""
        try:
            next_due = self._clock()
            while not self._stop.is_set():
                self.tick()
                if self.source.finished:
                    break
                next_due += self.interval_s
                now = self._clock()
                if next_due < now:  # fell behind: skip missed ticks instead of bursting
                    missed = int((now - next_due) / self.interval_s) + 1
                    next_due += missed * self.interval_s
                self._stop.wait(max(0.0, next_due - now))
        finally:
            recorder = self.set_recorder(None)
            if recorder is not None:
                recorder.close()
            self.source.close()
