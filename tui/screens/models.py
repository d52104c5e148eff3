"""The Models screen: every model from every source in one thermal-coloured table."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import var
from textual.screen import ModalScreen, Screen
from textual.widgets import Header, Input, Select, Static

from core.catalog.columns import COLUMN_BY_KEY, COLUMNS, FIT_ORDER
from core.catalog.rows import ModelRow
from core.paths import style_path
from core.state import CatalogSlice
from core.table import RowTable
from tui import messages
from tui.messages import THIS_MACHINE
from tui.widgets.analysis_controls import (
    analysis_selects,
    requested_analysis,
    show_analysis_settings,
)
from tui.widgets.footer import ScoutFooter
from tui.widgets.model_detail import ModelDetail
from tui.widgets.virtual_table import ColumnSpec, VirtualTable

if TYPE_CHECKING:
    from tui.app import ThermalScoutApp

FILTERS = ("task", "kind", "fits", "thermal_class", "licence", "source")
FILTER_LABELS = {
    "task": "task",
    "kind": "kind",
    "fits": "fits",
    "thermal_class": "thermal",
    "licence": "licence",
    "source": "source",
}


def _filter_value(row: ModelRow, key: str) -> str | None:
    if key == "fits":
        return row.analysis.fit.level if row.analysis is not None else None
    if key == "thermal_class":
        return row.thermal_class
    value: str | None = getattr(row, key)
    return value


LARGE_TABLE = 5000
"""Rows above which the filter drop-downs are filled from a worker thread."""


def _filter_options(rows: list[ModelRow]) -> dict[str, list[str]]:
    """The values each filter drop-down offers (one pass per filter over immutable rows)."""
    options: dict[str, list[str]] = {}
    for key in FILTERS:
        values = sorted({v for r in rows if (v := _filter_value(r, key)) is not None})
        if key == "fits":
            values.sort(key=lambda v: FIT_ORDER.get(v, 9))
        options[key] = values
    return options


def _cell(row: ModelRow, key: str) -> str:
    return COLUMN_BY_KEY[key].text(row)


def _row_class(row: ModelRow) -> str | None:
    return row.thermal_class or "error"


class RegisterFile(ModalScreen[str | None]):
    """Ask for the path of a model file to register."""

    CSS_PATH = style_path("models.tcss")

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="register-box") as box:
            box.border_title = "Register a model file"
            yield Static(
                "A .gguf, .safetensors, .onnx or PyTorch .bin/.pt file: only its header is read "
                "(milliseconds, whatever its size). Enter registers, Esc cancels.",
                id="register-help",
            )
            yield Input(placeholder="~/models/model.Q4_K_M.gguf", id="register-path")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted, "#register-path")
    def _submitted(self, message: Input.Submitted) -> None:
        self.dismiss(message.value.strip() or None)


class ModelsScreen(Screen[None]):
    """Search, filter, sort and inspect models; ask the App to re-analyse for other hardware."""

    CSS_PATH = style_path("models.tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_search", "Search", id="models-search", tooltip="Type to filter"),
        Binding("s", "next_sort", "Sort", id="models-sort", tooltip="Sort by the next column"),
        Binding("o", "reverse_sort", "Order", id="models-order", tooltip="Reverse the sort order"),
        Binding(
            "c",
            "compare",
            "Compare",
            id="models-compare",
            tooltip="Add the highlighted model to the comparison (up to four)",
        ),
        Binding(
            "a",
            "register_file",
            "Add file",
            id="models-register",
            tooltip="Register a local model file (.gguf, .safetensors, .onnx, .bin): header only",
        ),
        Binding(
            "y",
            "copy_id",
            "Copy id",
            id="models-copy",
            tooltip="Copy the model id to the clipboard",
        ),
    ]

    catalog: var[CatalogSlice] = var(CatalogSlice)
    """Mirror of the App's catalog slice."""

    AnalysisRequested = messages.AnalysisRequested
    HubSearchRequested = messages.HubSearchRequested
    HubDetailsRequested = messages.HubDetailsRequested
    CompareToggled = messages.CompareToggled

    def __init__(self) -> None:
        super().__init__()
        self._table: RowTable[ModelRow] = RowTable([], text=lambda r: r.search_text)
        self._generation = -1
        self._by_source = ""
        self._sort_key = "decode_tokens_per_s"
        self._sort_reverse = True

    @property
    def scout(self) -> ThermalScoutApp:
        from tui.app import ThermalScoutApp

        assert isinstance(self.app, ThermalScoutApp)
        return self.app

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="models-controls"):
            yield Input(
                placeholder="Search: typing filters; Enter also searches the Hugging Face Hub",
                id="models-search",
            )
            yield from analysis_selects("select")
        with Horizontal(id="models-filters"):
            for key in FILTERS:
                yield Select(
                    [],
                    prompt=f"{FILTER_LABELS[key]}: any",
                    id=f"filter-{key.replace('_', '-')}",
                    tooltip=f"Show only one {FILTER_LABELS[key]}",
                )
        table = VirtualTable(
            [ColumnSpec(c.key, c.label, c.width, c.align) for c in COLUMNS],
            _cell,
            _row_class,
            id="models-table",
        )
        table.border_title = "Models"
        yield table
        yield Static("", id="models-status")
        yield ModelDetail(id="models-detail")
        yield ScoutFooter()

    def on_mount(self) -> None:
        self.sub_title = "Models"
        self.watch(self.app, "catalog", self._mirror, init=True)
        self.query_one(VirtualTable).focus()
        if self.catalog.status == "idle":
            self.post_message(self.AnalysisRequested(THIS_MACHINE, "bf16", 4096))

    def _mirror(self, catalog: CatalogSlice) -> None:
        self.catalog = catalog

    def watch_catalog(self, catalog: CatalogSlice) -> None:
        show_analysis_settings(self, "select", catalog)
        if catalog.generation != self._generation:
            self._generation = catalog.generation
            self._table = RowTable(list(catalog.rows), text=lambda r: r.search_text)
            counts = Counter(getattr(r, "source", "?") for r in catalog.rows)
            listed = ", ".join(f"{n:,} {source}" for source, n in sorted(counts.items()))
            self._by_source = f" ({listed})" if listed else ""
            self._refresh_filter_options()
        self._refresh_view()

    # -- view -------------------------------------------------------------------------------
    def _refresh_filter_options(self) -> None:
        rows = self._table.rows
        if len(rows) > LARGE_TABLE:  # ~0.3 s at 100,000 rows: off the UI thread
            self._collect_filter_options(rows, self._generation)
        else:
            self._apply_filter_options(_filter_options(rows), self._generation)

    # An explicit description: by default Textual describes a worker by the repr of its
    # arguments, which for 100,000 rows took five seconds on the UI thread.
    @work(
        thread=True,
        name="filter options",
        group="filter-options",
        exclusive=True,
        description="filter options",
    )
    def _collect_filter_options(self, rows: list[ModelRow], generation: int) -> None:
        options = _filter_options(rows)
        self.app.call_from_thread(self._apply_filter_options, options, generation)

    def _apply_filter_options(self, options: dict[str, list[str]], generation: int) -> None:
        if generation != self._generation:
            return  # a newer set of rows arrived meanwhile
        for key, values in options.items():
            select: Select[str] = self.query_one(f"#filter-{key.replace('_', '-')}", Select)
            current = select.value
            select.set_options([(v, v) for v in values])
            if current in values:
                select.value = current

    def _refresh_view(self) -> None:
        query = self.query_one("#models-search", Input).value
        indices = self._table.filter(query)
        rows = self._table.rows
        for key in FILTERS:
            value = self.query_one(f"#filter-{key.replace('_', '-')}", Select).value
            if value is not Select.NULL and value is not None:
                indices = [i for i in indices if _filter_value(rows[i], key) == value]
        column = COLUMN_BY_KEY[self._sort_key]
        order = self._table.sort_indices(indices, key=column.value, reverse=self._sort_reverse)
        table = self.query_one(VirtualTable)
        table.sort_key = self._sort_key
        table.sort_reverse = self._sort_reverse
        table.set_rows(rows, order)
        self._update_status(len(order))

    def _update_status(self, shown: int) -> None:
        catalog = self.catalog
        parts = [f"{shown:,} of {len(self._table):,} models{self._by_source}"]
        if catalog.status == "loading":
            parts.append("analysing…")
        parts.append(
            f"estimates for {catalog.hardware} · {catalog.precision} · {catalog.context:,} ctx"
        )
        parts.append(f"sorted by {COLUMN_BY_KEY[self._sort_key].label}")
        notices = "  ·  ".join(catalog.notices)
        text = "  ·  ".join(parts) + (f"   ⚠ {notices}" if notices else "")
        self.query_one("#models-status", Static).update(text, layout=False)  # height is fixed

    # -- events -----------------------------------------------------------------------------
    @on(Input.Changed, "#models-search")
    def _search_changed(self) -> None:
        self._refresh_view()

    @on(Input.Submitted, "#models-search")
    def _search_submitted(self, message: Input.Submitted) -> None:
        """Enter also asks the Hub (typing filters locally only: no request per keystroke)."""
        if message.value.strip():
            self.post_message(self.HubSearchRequested(message.value.strip()))
        self.query_one(VirtualTable).focus()

    @on(Select.Changed, "#models-filters Select")
    def _filter_changed(self) -> None:
        self._refresh_view()

    @on(Select.Changed, "#models-controls Select")
    def _analysis_changed(self) -> None:
        request = requested_analysis(self, "select", self.catalog)
        if request is not None:
            self.post_message(request)

    @on(VirtualTable.Highlighted)
    def _highlighted(self, message: VirtualTable.Highlighted) -> None:
        row: ModelRow = message.row
        self.query_one(ModelDetail).row = row
        analysis = row.analysis
        if (
            row.source == "hub"
            and analysis is not None
            and analysis.memory.kv_method.startswith("not estimated")
        ):
            self.post_message(self.HubDetailsRequested(row))

    @on(VirtualTable.HeaderClicked)
    def _header_clicked(self, message: VirtualTable.HeaderClicked) -> None:
        if message.key == self._sort_key:
            self._sort_reverse = not self._sort_reverse
        else:
            self._sort_key = message.key
            self._sort_reverse = COLUMN_BY_KEY[message.key].descending
        self._refresh_view()

    # -- actions ----------------------------------------------------------------------------
    def action_focus_search(self) -> None:
        self.query_one("#models-search", Input).focus()

    def action_next_sort(self) -> None:
        keys = [c.key for c in COLUMNS]
        self._sort_key = keys[(keys.index(self._sort_key) + 1) % len(keys)]
        self._sort_reverse = COLUMN_BY_KEY[self._sort_key].descending
        self._refresh_view()

    def action_reverse_sort(self) -> None:
        self._sort_reverse = not self._sort_reverse
        self._refresh_view()

    def _current(self) -> ModelRow | None:
        row: Any = self.query_one(VirtualTable).current_row()
        return row if isinstance(row, ModelRow) else None

    def action_compare(self) -> None:
        row = self._current()
        if row is not None:
            self.post_message(self.CompareToggled(row.id))

    def action_register_file(self) -> None:
        def done(path: str | None) -> None:
            if path:
                self.post_message(messages.RegisterRequested(path))

        self.app.push_screen(RegisterFile(), done)

    def action_copy_id(self) -> None:
        row = self._current()
        if row is not None:
            self.app.copy_to_clipboard(row.id)
            self.notify(f"copied {row.id}", timeout=3)
