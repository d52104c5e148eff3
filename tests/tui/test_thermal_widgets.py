"""The Thermals screen's widgets on their own: what they draw, and what they leave alone.

Idle CPU on the Thermals screen comes from what repaints each second (BENCHMARKS.md), so these
tests pin down that unchanged things are not repainted, as well as what is drawn.
"""

from __future__ import annotations

from typing import Any

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region

from core.state import TelemetrySlice
from core.telemetry.history import SampleHistory
from core.telemetry.sample import Sample
from tui.widgets.history_plot import HistoryPlot
from tui.widgets.thermal_panels import PlotBox, Readings, RowList, StatusLine, history_span


@pytest.mark.parametrize(
    ("seq", "capacity", "interval_s", "expected"),
    [
        (0, 3600, 1.0, "< 1 min of history"),
        (59, 3600, 1.0, "< 1 min of history"),
        (60, 3600, 1.0, "1 min of history"),
        (119, 3600, 1.0, "1 min of history"),
        (90, 3600, 2.0, "3 min of history"),
        (3600, 3600, 1.0, "1 h of history"),
        (9000, 3600, 1.0, "1 h of history"),  # the ring holds one hour, not the whole run
        (5400, 7200, 1.0, "1.5 h of history"),
    ],
)
def test_history_span_is_coarse_and_capped_by_the_ring(
    seq: int, capacity: int, interval_s: float, expected: str
) -> None:
    assert history_span(seq, capacity, interval_s) == expected


def _slice(seq: int, source: str = "live", **kwargs: Any) -> TelemetrySlice:
    return TelemetrySlice(
        latest=Sample(t_s=float(seq)), history=SampleHistory(3600), seq=seq, source=source, **kwargs
    )


def test_status_line_counts_minutes_live_and_samples_in_a_replay() -> None:
    live = str(StatusLine.describe(_slice(125)))
    assert live == "live  ·  every 1 s  ·  2 min of history"
    replay = str(StatusLine.describe(_slice(125, source="replay: t.jsonl", finished=True)))
    assert replay == "replay: t.jsonl  ·  every 1 s  ·  125 samples  ·  replay ended"
    recording = str(StatusLine.describe(_slice(5, recording="/tmp/r.jsonl")))
    assert recording.endswith("● REC /tmp/r.jsonl")


class _Lines(Readings):
    """Readings that show whatever rows a test sets."""

    def __init__(self) -> None:
        super().__init__()
        self.rows = RowList()

    def build(self) -> RowList:
        return self.rows


class _Host(App[None]):
    def compose(self) -> ComposeResult:
        yield StatusLine()
        yield _Lines()
        yield PlotBox("Load", "%", id="plot")


def _spy_refreshes(widget: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []
    original = widget.refresh

    def refresh(*regions: Region, **kwargs: Any) -> Any:
        calls.append(regions)
        return original(*regions, **kwargs)

    monkeypatch.setattr(widget, "refresh", refresh)
    return calls


async def test_status_line_repaints_only_when_its_text_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = _Host()
    async with app.run_test(size=(100, 20)) as pilot:
        status = app.query_one(StatusLine)
        calls = _spy_refreshes(status, monkeypatch)
        for seq in range(61, 70):  # nine new samples, all "1 min of history"
            status.telemetry = _slice(seq)
            await pilot.pause()
        assert len(calls) == 1  # the first: "< 1 min" became "1 min"
        assert "1 min of history" in str(status.render())


async def test_readings_repaint_only_changed_lines_and_wrap_long_ones() -> None:
    app = _Host()
    async with app.run_test(size=(60, 20)) as pilot:
        lines = app.query_one(_Lines)
        for label in ("Load", "Memory", "Fans"):
            lines.rows.add_row(label, f"{label.lower()} value")
        lines._sync()
        await pilot.pause()
        assert lines.repainted == (0, 1, 2) and lines.size.height == 3
        lines.rows = RowList()
        lines.rows.add_row("Load", "99 %")
        lines.rows.add_row("Memory", "memory value")
        lines.rows.add_row("Fans", "fans value")
        lines._sync()
        await pilot.pause()
        assert lines.repainted == (0,)
        assert lines.render_line(0).text.startswith("Load         99 %")
        assert lines.render_line(1).text.startswith("Memory       memory value")
        # A reading wider than the widget wraps onto more lines, and the widget grows.
        lines.rows = RowList()
        lines.rows.add_row("Fans", "n/a · " + "a very long reason " * 5)
        lines._sync()
        await pilot.pause()
        assert lines.size.height >= 2
        shown = " ".join(lines.render_line(y).text.strip() for y in range(lines.size.height))
        assert "a very long reason a very long reason" in " ".join(shown.split())


async def test_plot_box_draws_its_title_and_recolours_with_the_theme() -> None:
    app = _Host()
    async with app.run_test(size=(60, 20)) as pilot:
        plot = app.query_one("#plot", PlotBox)
        assert plot.plot is plot and isinstance(plot, HistoryPlot)
        assert plot.size.height == 4  # title and three rows
        plot.scale = (0.0, 100.0)
        plot.values = (10.0, 50.0, 90.0)
        await pilot.pause()
        assert plot.render_line(0).text.startswith("Load")
        assert "100%" in plot.render_line(1).text and "0%" in plot.render_line(3).text
        bar_style = next(s.style for s in plot.render_line(3) if s.text.strip("▁▂▃▄▅▆▇█ ") == "")
        before = bar_style
        app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
        await pilot.pause()
        after = next(s.style for s in plot.render_line(3) if s.text.strip("▁▂▃▄▅▆▇█ ") == "")
        assert after != before  # cached styles were dropped with the theme


async def test_a_colour_change_alone_repaints_the_line() -> None:
    """Rich Text equality ignores a Text's base style, so a value whose level changes but whose
    characters do not (52 °C from ok to warn) must still differ once composed into a line."""
    assert Text("a", style="red") == Text("a", style="blue")  # why composing matters
    app = _Host()
    async with app.run_test(size=(60, 20)) as pilot:
        lines = app.query_one(_Lines)
        lines.rows.add_row("Temperature", Text("52 °C", style="green"))
        lines._sync()
        await pilot.pause()
        lines.rows = RowList()
        lines.rows.add_row("Temperature", Text("52 °C", style="red"))
        lines._sync()
        await pilot.pause()
        assert lines.repainted == (0,)
