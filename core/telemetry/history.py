"""Bounded history of samples for plots and summaries.

The store's telemetry slice shares one :class:`SampleHistory` between successive slice values:
it is append-only from the App's handler (the only writer) and bounded, so memory after an hour
or a week is the same.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import TypeVar

from core.telemetry.sample import Sample

T = TypeVar("T")


class SampleHistory:
    """A ring buffer of the most recent samples.

    Args:
        capacity: Samples kept; the oldest drop out first.

    Example:
        >>> h = SampleHistory(capacity=2)
        >>> for t in (0.0, 1.0, 2.0):
        ...     h.append(Sample(t_s=t))
        >>> [s.t_s for s in h]
        [1.0, 2.0]
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._samples: deque[Sample] = deque(maxlen=capacity)

    @classmethod
    def for_duration(cls, history_s: float, interval_s: float) -> SampleHistory:
        """A history long enough for ``history_s`` seconds at ``interval_s`` per sample."""
        return cls(max(1, round(history_s / interval_s)))

    @property
    def capacity(self) -> int:
        """Maximum number of samples kept."""
        maxlen = self._samples.maxlen
        assert maxlen is not None
        return maxlen

    def append(self, sample: Sample) -> None:
        """Add the newest sample."""
        self._samples.append(sample)

    def extend(self, samples: list[Sample]) -> None:
        """Add samples, oldest first."""
        self._samples.extend(samples)

    def __len__(self) -> int:
        return len(self._samples)

    def __iter__(self) -> Iterator[Sample]:
        return iter(self._samples)

    def window(self, seconds: float) -> list[Sample]:
        """Samples from the last ``seconds`` (relative to the newest sample), oldest first."""
        if not self._samples:
            return []
        start = self._samples[-1].t_s - seconds
        out: list[Sample] = []
        for sample in reversed(self._samples):
            if sample.t_s < start:
                break
            out.append(sample)
        out.reverse()
        return out

    def series(self, seconds: float, pick: Callable[[Sample], T | None]) -> list[T | None]:
        """One value per sample of the last ``seconds``; ``None`` where the reading was missing."""
        return [pick(sample) for sample in self.window(seconds)]
