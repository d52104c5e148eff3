"""Thermal Scout's domain library: hardware, telemetry, state. No UI imports.

`core` is importable without Textual or Rich; the TUI in `tui/` builds on it.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
