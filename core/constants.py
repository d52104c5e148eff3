"""Defaults and environment flags, parsed once at import.

Environment:
    THERMAL_SCOUT_SYSFS_ROOT: Read sysfs/procfs below this directory instead of ``/``
        (containers that bind-mount the host's ``/sys`` elsewhere, as zeus does).
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "thermal-scout"
"""Name used for the platform config/data directories and the console script."""

DEFAULT_INTERVAL_S = 1.0
"""Telemetry sampling interval."""

MIN_INTERVAL_S = 0.1
"""Faster than this and NVML's energy counter (~3 ms a call, updated every 100 ms) is wasted."""

MAX_INTERVAL_S = 3600.0
"""Slower than an hour is not monitoring."""

DEFAULT_HISTORY_S = 3600.0
"""Seconds of samples kept in memory (one hour at 1 Hz)."""

DEFAULT_PLOT_WINDOW_S = 300.0
"""Seconds shown in the Thermals history plots."""

VALID_ENERGY_WINDOW_S = 10.0
"""Shortest window for which an energy figure is reported without a "window too short" warning."""

COUNTER_UPDATE_S = 0.1
"""NVML energy counters update about every 100 ms; each end of a window can be off by this."""

SYSFS_ROOT = Path(os.environ.get("THERMAL_SCOUT_SYSFS_ROOT") or "/")
"""Root under which ``sys/`` and ``proc/`` are read."""
