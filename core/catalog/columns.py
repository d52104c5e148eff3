"""The Models table's columns: what each shows, how it sorts, and the CLI/JSON view of a row.

Shared by the TUI table (text cells) and ``thermal-scout models search --json`` (values), so a
number means the same thing in both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from core.catalog.rows import ModelRow

THERMAL_ORDER = {"low": 0, "medium": 1, "high": 2, "very-high": 3}
FIT_ORDER = {"fits": 0, "tight": 1, "too-tight": 2}
FIT_MARK = {"fits": "✓", "tight": "tight", "too-tight": "✗"}


def human_count(value: float | None, unit: str = "") -> str:
    """``1.2B``, ``350M``, ``12K``; ``—`` when unknown."""
    if value is None:
        return "—"
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            return f"{value / size:.1f}{suffix}{unit}"
    return f"{value:.0f}{unit}"


def human_bytes(value: float | None) -> str:
    """``16.1 GB`` (decimal, as model cards and vendors quote sizes); ``—`` when unknown."""
    if value is None:
        return "—"
    for size, suffix in ((1e12, "TB"), (1e9, "GB"), (1e6, "MB")):
        if value >= size:
            return f"{value / size:.1f} {suffix}"
    return f"{value / 1e3:.0f} KB"


def _num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


@dataclass(frozen=True)
class Column:
    """A table column.

    Attributes:
        key: Stable name (CLI ``--sort``, JSON key).
        label: Header text.
        width: Cells wide in the TUI.
        align: Text alignment.
        text: The cell's text for a row.
        value: The sortable/JSON value for a row (None sorts last).
        descending: Natural first sort direction (bigger is more interesting: downloads).
    """

    key: str
    label: str
    width: int
    align: Literal["left", "right"]
    text: Callable[[ModelRow], str]
    value: Callable[[ModelRow], Any]
    descending: bool = False


def _a(row: ModelRow) -> Any:
    return row.analysis


COLUMNS: tuple[Column, ...] = (
    Column("id", "Model", 38, "left", lambda r: r.id, lambda r: r.id.lower()),
    Column("task", "Task", 16, "left", lambda r: r.task or "—", lambda r: r.task),
    Column(
        "params",
        "Params",
        7,
        "right",
        lambda r: human_count(r.params_total),
        lambda r: r.params_total,
        True,
    ),
    Column(
        "weights",
        "Weights",
        8,
        "right",
        lambda r: human_bytes(_a(r).memory.weights_bytes) if _a(r) else "—",
        lambda r: _a(r).memory.weights_bytes if _a(r) else None,
    ),
    Column(
        "fits",
        "Fits",
        5,
        "left",
        lambda r: FIT_MARK[_a(r).fit.level] if _a(r) else "—",
        lambda r: FIT_ORDER[_a(r).fit.level] if _a(r) else None,
    ),
    Column(
        "decode_tokens_per_s",
        "tok/s",
        7,
        "right",
        lambda r: _num(_a(r).estimates.decode_tokens_per_s) if _a(r) else "—",
        lambda r: _a(r).estimates.decode_tokens_per_s if _a(r) else None,
        True,
    ),
    Column(
        "power_w",
        "Watts",
        5,
        "right",
        lambda r: _num(_a(r).estimates.power_w, 0) if _a(r) else "—",
        lambda r: _a(r).estimates.power_w if _a(r) else None,
    ),
    Column(
        "joules_per_token",
        "J/tok",
        6,
        "right",
        lambda r: (
            _num(_a(r).estimates.joules_per_token, 2)
            if _a(r) and _a(r).estimates.decode_tokens_per_s
            else "—"
        ),
        lambda r: (
            _a(r).estimates.joules_per_token
            if _a(r) and _a(r).estimates.decode_tokens_per_s
            else None
        ),
    ),
    Column(
        "thermal_class",
        "Thermal",
        9,
        "left",
        lambda r: r.thermal_class or "—",
        lambda r: THERMAL_ORDER.get(r.thermal_class or ""),
    ),
    Column(
        "downloads",
        "Downloads",
        9,
        "right",
        lambda r: human_count(r.downloads),
        lambda r: r.downloads,
        True,
    ),
    Column("likes", "Likes", 6, "right", lambda r: human_count(r.likes), lambda r: r.likes, True),
    Column("source", "Source", 8, "left", lambda r: r.source, lambda r: r.source),
    Column("measured", "M", 1, "left", lambda r: "●" if r.measured else " ", lambda r: r.measured),
)
"""Every column, in display order."""

COLUMN_BY_KEY = {column.key: column for column in COLUMNS}


def row_json(row: ModelRow) -> dict[str, Any]:
    """The row as the CLI prints it: every column's value plus the analysis essentials."""
    out: dict[str, Any] = {
        "id": row.id,
        "source": row.source,
        "task": row.task,
        "kind": row.kind,
        "params": row.params_total,
        "params_method": row.params_method,
        "licence": row.licence,
        "downloads": row.downloads,
        "likes": row.likes,
        "measured": row.measured,
    }
    analysis = row.analysis
    if analysis is None:
        out.update(
            {
                "error": row.error,
                "thermal_class": None,
                "fits": None,
                "decode_tokens_per_s": None,
            }
        )
        return out
    out.update(
        {
            "architecture_class": analysis.architecture_class,
            "weights_bytes": analysis.memory.weights_bytes,
            "required_bytes": analysis.memory.total_bytes,
            "fits": analysis.fit.level,
            "decode_tokens_per_s": analysis.estimates.decode_tokens_per_s,
            "prefill_tokens_per_s": analysis.estimates.prefill_tokens_per_s,
            "power_w": analysis.estimates.power_w,
            "joules_per_token": analysis.estimates.joules_per_token
            if analysis.estimates.decode_tokens_per_s
            else None,
            "bound": analysis.estimates.bound,
            "thermal_class": analysis.thermal.klass,
            "thermal_source": analysis.thermal.source,
            "hardware": analysis.hardware.name,
            "precision": analysis.precision.name,
            "context": analysis.context,
        }
    )
    return out
