"""The virtual table: draws only visible rows, moves a cursor, reports clicks."""

from __future__ import annotations

from typing import Any

from textual.app import App, ComposeResult
from textual.message import Message

from tui.widgets.virtual_table import ColumnSpec, VirtualTable, fit

COLUMNS = [ColumnSpec("id", "Model", 12), ColumnSpec("n", "N", 6, "right")]


def cell(row: tuple[str, int], key: str) -> str:
    return row[0] if key == "id" else str(row[1])


class TableApp(App[None]):
    def __init__(self, rows: list[tuple[str, int]]) -> None:
        super().__init__()
        self.rows = rows
        self.seen: list[Message] = []

    def compose(self) -> ComposeResult:
        yield VirtualTable(COLUMNS, cell, lambda row: "high" if row[1] > 5 else None)

    def on_mount(self) -> None:
        self.query_one(VirtualTable).set_rows(self.rows, list(range(len(self.rows))))
        self.query_one(VirtualTable).focus()

    def on_virtual_table_highlighted(self, message: VirtualTable.Highlighted) -> None:
        self.seen.append(message)

    def on_virtual_table_selected(self, message: VirtualTable.Selected) -> None:
        self.seen.append(message)

    def on_virtual_table_header_clicked(self, message: VirtualTable.HeaderClicked) -> None:
        self.seen.append(message)


def lines(table: VirtualTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.size.height)]


def test_fit_cuts_and_pads() -> None:
    assert fit("abcdef", 4, "left") == "abc…"
    assert fit("ab", 4, "right") == "  ab"


async def test_header_stays_and_only_visible_rows_are_drawn() -> None:
    rows = [(f"model-{i}", i) for i in range(100_000)]
    app = TableApp(rows)
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(VirtualTable)
        shown = lines(table)
        assert shown[0].startswith("Model")
        assert shown[1].startswith("model-0 ")
        await pilot.press("pagedown")
        await pilot.pause()
        shown = lines(table)
        assert shown[0].startswith("Model")  # the header does not scroll away
        assert table.cursor_row == 9
        assert any(line.startswith("model-9 ") for line in shown)
        await pilot.press("end")
        await pilot.pause()
        assert table.current_row() == ("model-99999", 99999)
        assert lines(table)[-1].startswith("model-99999")


async def test_cursor_messages_and_enter_selects() -> None:
    rows = [(f"m{i}", i) for i in range(20)]
    app = TableApp(rows)
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        highlighted = [m.row for m in app.seen if isinstance(m, VirtualTable.Highlighted)]
        selected = [m.row for m in app.seen if isinstance(m, VirtualTable.Selected)]
        assert highlighted[-1] == ("m2", 2)
        assert selected == [("m2", 2)]


async def test_clicks_on_header_and_rows() -> None:
    rows = [(f"m{i}", i) for i in range(20)]
    app = TableApp(rows)
    async with app.run_test(size=(40, 10)) as pilot:
        await pilot.click(VirtualTable, offset=(14, 0))
        await pilot.click(VirtualTable, offset=(2, 4))
        await pilot.pause()
        keys = [m.key for m in app.seen if isinstance(m, VirtualTable.HeaderClicked)]
        assert keys == ["n"]
        assert app.query_one(VirtualTable).current_row() == ("m3", 3)


async def test_refiltering_keeps_the_highlighted_row() -> None:
    rows = [(f"m{i}", i) for i in range(20)]
    app = TableApp(rows)
    async with app.run_test(size=(40, 10)) as pilot:
        table = app.query_one(VirtualTable)
        await pilot.press("down", "down", "down")
        table.set_rows(rows, [1, 3, 5])
        await pilot.pause()
        assert table.current_row() == ("m3", 3)
        table.set_rows(rows, [])
        await pilot.pause()
        assert table.current_row() is None
        assert lines(table)[1].strip() == ""


async def test_row_class_styles_come_from_component_classes() -> None:
    rows: list[Any] = [("cool", 1), ("hot", 9)]
    app = TableApp(rows)
    app.CSS = "VirtualTable > .virtual-table--high { color: red; }"
    async with app.run_test(size=(40, 10)):
        table = app.query_one(VirtualTable)
        hot = table.render_line(2)
        cool = table.render_line(1)
        red = table.get_component_rich_style("virtual-table--high").color
        assert red is not None
        assert all(seg.style is not None and seg.style.color == red for seg in hot)
        assert not any(seg.style is not None and seg.style.color == red for seg in cool)
