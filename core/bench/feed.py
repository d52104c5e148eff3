"""Where a benchmark gets its telemetry: samples pushed by whoever runs the sampler.

The app already samples the machine; a benchmark must not start a second sampler next to it.
So the runner reads samples from a :class:`SampleFeed`:

* in the app, a :class:`PushFeed` that the app's sample handler calls :meth:`PushFeed.push` on
  with every batch it gets from its own :class:`~core.telemetry.sampler.Sampler`;
* on the command line (or in the app while it replays a trace), :class:`OwnSampler`, which runs
  a live sampler on a thread for the duration of the benchmark and pushes into a feed itself.

Times are the sampler's ``t_s`` (seconds on :func:`time.monotonic` since the sampler's first
tick). :meth:`PushFeed.now` maps the current monotonic time onto that scale, from the offsets
seen at each push (the smallest delivery delay wins), so the runner can mark window edges on
the samples' own clock.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable
from itertools import pairwise
from typing import Protocol

from core.telemetry.sample import Sample
from core.telemetry.sampler import Sampler, TelemetrySource

MAX_SAMPLES = 500_000
"""Samples a feed keeps (about 14 hours at 0.1 s); the oldest go first."""


class SampleFeed(Protocol):
    """What the runner needs of its telemetry."""

    def now(self) -> float:
        """The current time on the samples' clock."""
        ...

    def samples_between(self, t0: float, t1: float) -> list[Sample]:
        """Samples with ``t0 ≤ t_s ≤ t1``, in time order."""
        ...

    def wait_for(self, t: float, timeout: float) -> bool:
        """Wait until a sample at or after ``t`` arrived; False on timeout."""
        ...

    @property
    def interval_s(self) -> float | None:
        """Typical spacing of the samples, once known."""
        ...


class PushFeed:
    """A thread-safe, bounded list of samples that someone else pushes in.

    Args:
        clock: Monotonic clock the samples' ``t_s`` is measured on (``time.monotonic``).

    Example:
        >>> feed = PushFeed()
        >>> feed.push([Sample(t_s=1.0), Sample(t_s=2.0), Sample(t_s=3.0)])
        >>> [s.t_s for s in feed.samples_between(1.5, 3.0)]
        [2.0, 3.0]
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._samples: list[Sample] = []
        self._times: list[float] = []
        self._offset: float | None = None
        self._changed = threading.Condition()

    def push(self, samples: list[Sample]) -> None:
        """Add a batch of samples (any thread; usually the sampler's callback)."""
        if not samples:
            return
        received = self._clock()
        with self._changed:
            for sample in samples:
                if self._times and sample.t_s < self._times[-1]:
                    continue  # a restarted sampler or a replay: keep time order
                self._samples.append(sample)
                self._times.append(sample.t_s)
            offset = samples[-1].t_s - received
            if self._offset is None or offset > self._offset:
                self._offset = offset
            if len(self._samples) > MAX_SAMPLES:
                drop = len(self._samples) - MAX_SAMPLES
                del self._samples[:drop]
                del self._times[:drop]
            self._changed.notify_all()

    def now(self) -> float:
        """The current time on the samples' clock (the monotonic clock before any push)."""
        offset = self._offset
        return self._clock() + (offset if offset is not None else 0.0)

    def samples_between(self, t0: float, t1: float) -> list[Sample]:
        """Samples with ``t0 ≤ t_s ≤ t1``, in time order."""
        with self._changed:
            lo = bisect.bisect_left(self._times, t0)
            hi = bisect.bisect_right(self._times, t1)
            return self._samples[lo:hi]

    def latest(self) -> Sample | None:
        """The newest sample, if any."""
        with self._changed:
            return self._samples[-1] if self._samples else None

    def wait_for(self, t: float, timeout: float) -> bool:
        """Wait until a sample at or after ``t`` arrived; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not self._times or self._times[-1] < t:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    @property
    def interval_s(self) -> float | None:
        """Median spacing of the last samples, once there are two."""
        with self._changed:
            times = self._times[-21:]
        if len(times) < 2:
            return None
        gaps = sorted(b - a for a, b in pairwise(times))
        return gaps[len(gaps) // 2]

    def __len__(self) -> int:
        with self._changed:
            return len(self._samples)


class OwnSampler:
    """A live sampler on its own thread that pushes into a :class:`PushFeed`.

    Args:
        source: Telemetry source (default: :class:`~core.telemetry.sampler.LiveSource`).
        interval_s: Seconds between samples.
        on_error: One-line messages about sampling problems.
    """

    def __init__(
        self,
        source: TelemetrySource | None = None,
        interval_s: float = 0.2,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        if source is None:
            from core.telemetry.sampler import LiveSource

            source = LiveSource()
        self.feed = PushFeed()
        self._sampler = Sampler(source, interval_s, self.feed.push, on_error)
        self._thread = threading.Thread(target=self._sampler.run, name="bench-sampler", daemon=True)

    def start(self) -> PushFeed:
        """Start sampling; returns the feed."""
        self._thread.start()
        return self.feed

    def stop(self) -> None:
        """Stop sampling and wait for the thread (it closes the source)."""
        self._sampler.stop()
        self._thread.join(timeout=5.0)
