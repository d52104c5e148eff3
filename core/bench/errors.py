"""Benchmark failures a user can act on; each message is one line (what, why, what to do)."""

from __future__ import annotations

from core.errors import ThermalScoutError


class BenchError(ThermalScoutError):
    """A benchmark cannot start or could not finish (bad input, failed workload)."""


class BackendMissing(BenchError):
    """An optional dependency of a backend is not installed; the message names the extra."""


class BenchRefused(BenchError):
    """The model does not fit on the device; the message gives the numbers.

    ``--force`` (``BenchSpec.force``) overrides it.
    """
