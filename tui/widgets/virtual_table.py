"""A table that draws only the rows on screen, for 100,000 rows and more.

Textual's DataTable measures every cell when rows are added (about 16 s for 100,000 rows on a
two-core machine), so this widget uses the line API instead: it keeps a list of row indices in
display order (filtered and sorted in ``core.table``) and formats just the rows that are
visible. The header stays on the first line while the rows scroll. Row colours come from
component classes, so TCSS decides what a thermal class looks like.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip


@dataclass(frozen=True)
class ColumnSpec:
    """One column: the key passed to the cell function, its label, width and alignment."""

    key: str
    label: str
    width: int
    align: Literal["left", "right"] = "left"


CellFunction = Callable[[Any, str], str]
RowClassFunction = Callable[[Any], "str | None"]


def fit(text: str, width: int, align: Literal["left", "right"]) -> str:
    """``text`` cut with an ellipsis or padded to exactly ``width`` cells."""
    if len(text) > width:
        return text[: max(0, width - 1)] + "…" if width > 0 else ""
    return text.rjust(width) if align == "right" else text.ljust(width)


class VirtualTable(ScrollView, can_focus=True):
    """Rows drawn on demand; a cursor row; sort indicators in the header."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header",
        "virtual-table--cursor",
        "virtual-table--muted",
        "virtual-table--low",
        "virtual-table--medium",
        "virtual-table--high",
        "virtual-table--very-high",
        "virtual-table--error",
    }

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "cursor_to(0)", "First", show=False),
        Binding("end", "cursor_to(-1)", "Last", show=False),
        Binding("enter", "select", "Select", show=False),
    ]

    DEFAULT_CSS = """
    VirtualTable { height: 1fr; }
    """

    cursor_row: reactive[int] = reactive(0, repaint=False)
    """Position of the cursor in the displayed order."""

    class Highlighted(Message):
        """The cursor moved to a row."""

        def __init__(self, table: VirtualTable, row: Any) -> None:
            super().__init__()
            self.table = table
            self.row = row

    class Selected(Message):
        """A row was chosen (Enter or double click)."""

        def __init__(self, table: VirtualTable, row: Any) -> None:
            super().__init__()
            self.table = table
            self.row = row

    class HeaderClicked(Message):
        """A column label was clicked (the screen sorts by it)."""

        def __init__(self, table: VirtualTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

    def __init__(
        self,
        columns: Sequence[ColumnSpec],
        cell: CellFunction,
        row_class: RowClassFunction | None = None,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.columns = list(columns)
        self._cell = cell
        self._row_class = row_class or (lambda row: None)
        self._rows: Sequence[Any] = ()
        self._order: Sequence[int] = ()
        self.sort_key: str | None = None
        self.sort_reverse = False

    # -- data -------------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        """Rows currently displayed."""
        return len(self._order)

    def set_rows(
        self, rows: Sequence[Any], order: Sequence[int], *, keep_cursor: bool = True
    ) -> None:
        """Show ``rows[i] for i in order``; O(1) here, formatting happens per visible line."""
        current = self.current_row() if keep_cursor else None
        self._rows = rows
        self._order = order
        self.virtual_size = Size(self._table_width(), len(order) + 1)
        position = 0
        if current is not None:
            # Follow the highlighted row when it is still shown (cheap for the visible case).
            for offset, index in enumerate(order[:5000]):
                if rows[index] is current:
                    position = offset
                    break
        self.set_reactive(VirtualTable.cursor_row, min(position, max(0, len(order) - 1)))
        self._scroll_cursor_into_view()
        self.refresh()
        self._post_highlight()

    def current_row(self) -> Any | None:
        """The row under the cursor, or None when the table is empty."""
        if not self._order:
            return None
        return self._rows[self._order[min(self.cursor_row, len(self._order) - 1)]]

    def _table_width(self) -> int:
        return sum(c.width for c in self.columns) + len(self.columns)

    # -- cursor -----------------------------------------------------------------------------
    def _page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def action_cursor(self, delta: int) -> None:
        self._move_to(self.cursor_row + delta)

    def action_page(self, direction: int) -> None:
        self._move_to(self.cursor_row + direction * self._page_rows())

    def action_cursor_to(self, position: int) -> None:
        self._move_to(position if position >= 0 else len(self._order) - 1)

    def action_select(self) -> None:
        row = self.current_row()
        if row is not None:
            self.post_message(self.Selected(self, row))

    def _move_to(self, position: int) -> None:
        if not self._order:
            return
        position = max(0, min(position, len(self._order) - 1))
        if position == self.cursor_row:
            return
        old = self.cursor_row
        self.cursor_row = position
        self._scroll_cursor_into_view()
        self._refresh_row(old)
        self._refresh_row(position)
        self._post_highlight()

    def _post_highlight(self) -> None:
        row = self.current_row()
        if row is not None:
            self.post_message(self.Highlighted(self, row))

    def _scroll_cursor_into_view(self) -> None:
        top = int(self.scroll_offset.y)
        visible = self._page_rows()
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False)

    def _refresh_row(self, position: int) -> None:
        y = position - int(self.scroll_offset.y) + 1
        if 0 < y < self.size.height:
            self.refresh_line(y)

    # -- mouse ------------------------------------------------------------------------------
    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            x = event.x + int(self.scroll_offset.x)
            for column in self.columns:
                if x < column.width + 1:
                    self.post_message(self.HeaderClicked(self, column.key))
                    return
                x -= column.width + 1
            return
        position = int(self.scroll_offset.y) + event.y - 1
        if 0 <= position < len(self._order):
            self._move_to(position)
            if event.chain >= 2:
                self.action_select()

    # -- drawing ----------------------------------------------------------------------------
    def _style_for(self, row: Any, cursor: bool) -> Style:
        style = self.rich_style
        name = self._row_class(row)
        if name:
            style += self.get_component_rich_style(f"virtual-table--{name}")
        if cursor and self.has_focus:
            style += self.get_component_rich_style("virtual-table--cursor")
        elif cursor:
            style += self.get_component_rich_style("virtual-table--cursor") + Style(dim=True)
        return style

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x = int(self.scroll_offset.x)
        if y == 0:
            labels = []
            for column in self.columns:
                label = column.label
                if column.key == self.sort_key:
                    label += " ▼" if self.sort_reverse else " ▲"
                labels.append(fit(label, column.width, column.align))
            text = " ".join(labels)
            style = self.rich_style + self.get_component_rich_style("virtual-table--header")
            return (
                Strip([Segment(text, style)])
                .crop(scroll_x, scroll_x + width)
                .extend_cell_length(width, style)
            )
        position = int(self.scroll_offset.y) + y - 1
        if position >= len(self._order):
            return Strip.blank(width, self.rich_style)
        row = self._rows[self._order[position]]
        text = " ".join(
            fit(self._cell(row, column.key), column.width, column.align) for column in self.columns
        )
        style = self._style_for(row, position == self.cursor_row)
        strip = Strip([Segment(text, style)]).crop(scroll_x, scroll_x + width)
        return strip.extend_cell_length(width, style)

    def on_focus(self) -> None:
        self._refresh_row(self.cursor_row)

    def on_blur(self) -> None:
        self._refresh_row(self.cursor_row)
