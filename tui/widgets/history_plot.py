"""A small block-character history plot with threshold colours from TCSS.

Missing readings are gaps, never zeros. Colours come from the component classes
``history-plot--ok``, ``--warn`` and ``--hot`` (styled in ``styles/app.tcss`` from the app's
``$temp-*`` variables), so every Textual theme works.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

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
        "history-plot--title",
    }

    DEFAULT_CSS = """
    HistoryPlot { height: 3; width: 1fr; }
    HistoryPlot.-titled { height: 4; }
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
        title: str = "",
        fit: bool = False,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.title = title
        """Drawn on the first line when set (the widget is then one line taller)."""
        self.set_class(bool(title), "-titled")
        self.unit = unit
        self.fit = fit
        """Scale to the data's own range instead of from zero (temperatures)."""
        self._cache_key: tuple[object, ...] | None = None
        self._cache: list[Strip] = []
        self._styles: tuple[Style, dict[str | None, Style]] | None = None

    def on_resize(self) -> None:
        self._cache_key = None

    def notify_style_update(self) -> None:
        # Theme, class or ancestor background changed: the cached styles and strips are stale.
        super().notify_style_update()
        self._styles = None
        self._cache_key = None

    def _lines(self) -> list[Strip]:
        """The plot as strips, rebuilt only when the data, limits or size changed."""
        key = (self.values, self.levels, self.scale, self.size)
        if key == self._cache_key:
            return self._cache
        self._cache_key = key
        self._cache = self._build()
        return self._cache

    def _level_styles(self) -> tuple[Style, dict[str | None, Style]]:
        """The base style and one per part: "ok", "warn", "hot", "title", and None for the
        axis (and gaps); combined once per style change."""
        if self._styles is None:
            base = self.rich_style
            parts: dict[str | None, Style] = {
                name: base + self.get_component_rich_style(f"history-plot--{name}")
                for name in ("ok", "warn", "hot", "title")
            }
            parts[None] = base + self.get_component_rich_style("history-plot--axis")
            self._styles = (base, parts)
        return self._styles

    def _build(self) -> list[Strip]:
        base, level_styles = self._level_styles()
        width = self.size.width
        if not self.title:
            return self._build_plot(width, self.size.height)
        title = Strip([Segment(self.title[:width], level_styles["title"])])
        return [
            title.adjust_cell_length(width, base),
            *self._build_plot(width, self.size.height - 1),
        ]

    def _build_plot(self, width: int, height: int) -> list[Strip]:
        base, level_styles = self._level_styles()
        axis = level_styles[None]
        present = [v for v in self.values if v is not None]
        if not present:
            return [Strip([Segment("no data yet".ljust(width)[:width], axis)])]
        label_width = 8
        columns_width = max(1, width - label_width)
        height = max(1, height)
        if self.scale is not None:
            low, high = self.scale
        elif self.fit:
            # Temperatures: fit the band the data moves in, with a little headroom.
            spread = max(5.0, max(present) - min(present))
            low, high = max(0.0, min(present) - spread * 0.2), max(present) + spread * 0.2
        else:
            low, high = 0.0, max(present) * 1.1 or 1.0
        columns = bucket(self.values, columns_width)
        rows = render_rows(columns, len(columns), height, low, high)
        # One segment per run of equal level: the runs are the same on every row.
        levels = [None if v is None else self._level(v) for v in columns]
        runs: list[tuple[int, int, Style]] = []
        start = 0
        for x in range(1, len(levels) + 1):
            if x == len(levels) or levels[x] != levels[start]:
                runs.append((start, x, level_styles[levels[start]]))
                start = x
        strips: list[Strip] = []
        for row_index, row in enumerate(rows):
            segments = [Segment(row[begin:end], style) for begin, end, style in runs]
            label = ""
            if row_index == 0:
                label = f" {high:>6.0f}{self.unit}"
            elif row_index == height - 1:
                label = f" {low:>6.0f}{self.unit}"
            segments.append(Segment(label[: label_width + 1].ljust(label_width), axis))
            strips.append(Strip(segments).adjust_cell_length(width, base))
        return strips

    def _level(self, value: float) -> str:
        if self.levels is None:
            return "ok"
        warn, hot = self.levels
        return "hot" if value >= hot else "warn" if value >= warn else "ok"

    def render_line(self, y: int) -> Strip:
        """One row of the plot (Textual's line API: no Rich conversion per frame)."""
        lines = self._lines()
        if y < len(lines):
            return lines[y]
        return Strip.blank(self.size.width, self.rich_style)


__all__ = ["HistoryPlot", "bucket", "render_rows"]
