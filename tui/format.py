"""Formatting of readings for people: units, "n/a — reason", threshold levels."""

from __future__ import annotations

from typing import Literal

Level = Literal["ok", "warn", "hot", "none"]

GIB = 1024**3


def fmt(value: float | None, unit: str, digits: int = 0) -> str:
    """``"56 °C"``, or ``"n/a"`` for a missing reading."""
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}{' ' if unit and not unit.startswith('%') else ''}{unit}"


def fmt_bytes(value: int | None) -> str:
    """Bytes in GiB with one decimal, or ``"n/a"``."""
    return "n/a" if value is None else f"{value / GIB:,.1f} GiB"


def fmt_energy(joules: float | None) -> str:
    """Joules, switching to kJ / Wh for large values."""
    if joules is None:
        return "n/a"
    if joules >= 3.6e5:
        return f"{joules / 3600:,.1f} Wh"
    if joules >= 1e4:
        return f"{joules / 1000:,.2f} kJ"
    return f"{joules:,.1f} J"


def temp_level(
    value: float | None,
    *,
    limit: float | None = None,
    warn_margin: float = 15.0,
    hot_margin: float = 5.0,
    warn: float = 80.0,
    hot: float = 95.0,
) -> Level:
    """Level of a temperature, against the device's own limit when it has one."""
    if value is None:
        return "none"
    if limit is not None:
        warn, hot = limit - warn_margin, limit - hot_margin
    if value >= hot:
        return "hot"
    if value >= warn:
        return "warn"
    return "ok"


def fraction_level(value: float | None, limit: float | None, warn: float, hot: float) -> Level:
    """Level of ``value / limit`` (power against the power limit)."""
    if value is None or not limit:
        return "none"
    share = value / limit
    if share >= hot:
        return "hot"
    if share >= warn:
        return "warn"
    return "ok"


def bar(fraction: float | None, width: int) -> str:
    """A horizontal bar of ``width`` cells for a 0–1 fraction."""
    if fraction is None:
        return "·" * width
    cells = max(0.0, min(1.0, fraction)) * width
    full = int(cells)
    partial = " ▏▎▍▌▋▊▉"[int((cells - full) * 8)]
    return ("█" * full + (partial if full < width else ""))[:width].ljust(width, "░")
