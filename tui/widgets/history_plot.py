"""A small block-character history plot with threshold colours from TCSS.

Missing readings are gaps, never zeros. Colours come from the component classes
``history-plot--ok``, ``--warn`` and ``--hot`` (styled in ``styles/app.tcss`` from the app's
``$temp-*`` variables), so every Textual theme works.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from tui.format import Level

BLOCKS = " ▁▂▃▄▅▆▇█"


def bucket(values: Sequence[float | None], width: int) -> list[float | None]:
    """Reduce ``values`` to at most ``width`` columns, keeping each bucket's maximum.

    The newest value is always in the last column; with fewer values than columns the plot
    is left-padded with gaps.
    """
    if width <= 0:
        return []
    if len(values) <= width:
        return [None] * (width - len(values)) + list(values)
    out: list[float | None] = []
    size = len(values) / width
    for column in range(width):
        chunk = [v for v in values[int(column * size) : int((column + 1) * size)] if v is not None]
        out.append(max(chunk) if chunk else None)
    return out


def render_rows(
    values: Sequence[float | None], width: int, height: int, low: float, high: float
) -> list[str]:
    """Block rows (top first) for ``values`` scaled between ``low`` and ``high``."""
    columns = bucket(values, width)
    span = (high - low) or 1.0
    steps = height * 8
    rows = [[" "] * len(columns) for _ in range(height)]
    for x, value in enumerate(columns):
        if value is None:
            continue
        level = max(1, min(steps, round((value - low) / span * steps)))
        for row in range(height):
            fill = level - (height - 1 - row) * 8
            rows[row][x] = BLOCKS[max(0, min(8, fill))]
    return ["".join(row) for row in rows]


class HistoryPlot(Widget):
    """Plot of one series over the last minutes, coloured by level."""

    COMPONENT_CLASSES = {
        "history-plot--ok",
        "history-plot--warn",
        "history-plot--hot",
        "history-plot--axis",
    }

    DEFAULT_CSS = """
    HistoryPlot { height: 3; width: 1fr; }
    """

    values: reactive[tuple[float | None, ...]] = reactive((), layout=False)
    """The series, oldest first; None where the reading was missing."""
    levels: reactive[tuple[float, float] | None] = reactive(None)
    """``(warn, hot)`` thresholds, or None for a single colour."""
    scale: reactive[tuple[float, float] | None] = reactive(None)
    """Fixed ``(low, high)``, or None to fit the data."""

    def __init__(
        self,
        unit: str = "",
        *,
        fit: bool = False,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.unit = unit
        self.fit = fit
        """Scale to the data's own range instead of from zero (temperatures)."""

    def _level_style(self, value: float) -> Style:
        name = "history-plot--ok"
        if self.levels is not None:
            warn, hot = self.levels
            name = (
                "history-plot--hot"
                if value >= hot
                else "history-plot--warn"
                if value >= warn
                else "history-plot--ok"
            )
        return self.get_component_rich_style(name)

    def render(self) -> Text:
        """Rows of blocks plus the scale's top and bottom on the right."""
        present = [v for v in self.values if v is not None]
        label_width = 8
        width = max(1, self.size.width - label_width)
        height = max(1, self.size.height)
        if not present:
            return Text("no data yet", style=self.get_component_rich_style("history-plot--axis"))
        if self.scale is not None:
            low, high = self.scale
        elif self.fit:
            # Temperatures: fit the band the data moves in, with a little headroom.
            spread = max(5.0, max(present) - min(present))
            low, high = max(0.0, min(present) - spread * 0.2), max(present) + spread * 0.2
        else:
            low, high = 0.0, max(present) * 1.1 or 1.0
        rows = render_rows(self.values, width, height, low, high)
        columns = bucket(self.values, width)
        axis = self.get_component_rich_style("history-plot--axis")
        text = Text(no_wrap=True, overflow="crop")
        for row_index, row in enumerate(rows):
            for x, char in enumerate(row):
                value = columns[x]
                text.append(char, self._level_style(value) if value is not None else axis)
            if row_index == 0:
                text.append(f" {high:>6.0f}{self.unit}"[: label_width + 1], axis)
            elif row_index == height - 1:
                text.append(f" {low:>6.0f}{self.unit}"[: label_width + 1], axis)
            if row_index < height - 1:
                text.append("\n")
        return text


__all__ = ["HistoryPlot", "Level", "bucket", "render_rows"]
