"""The Compare screen: 2–4 models side by side, one metric per row, the best in each row marked.

The models are the store's comparison slice (``c`` on the Models screen adds one); their rows
and analyses are the catalog slice's, so the hardware, precision and context selectors here are
the same as the Models screen's: changing one re-analyses every row for both screens. The
comparison itself (:func:`core.analysis.compare.compare`) is pure and takes microseconds for
four rows, so it is recomputed here whenever either slice changes.

Below the table, the Recommend panel ranks models for a task described in words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, OptionList, Select, Static
from textual.widgets.option_list import Option

from core.analysis.compare import Comparison, MetricRow, compare
from core.catalog.columns import human_count
from core.catalog.rows import ModelRow
from core.errors import AnalysisError
from core.paths import style_path
from core.state import MAX_COMPARED, CatalogSlice, ComparisonSlice
from tui import messages
from tui.messages import THIS_MACHINE
from tui.widgets.analysis_controls import (
    analysis_selects,
    requested_analysis,
    show_analysis_settings,
)
from tui.widgets.footer import ScoutFooter

if TYPE_CHECKING:
    from tui.app import ThermalScoutApp

BAR_WIDTH = 10
"""Cells of a relative bar (the row's largest value fills it)."""

EMPTY_HINT = (
    "Nothing to compare yet: on the Models screen (3) press c on up to four models, "
    "then come back here (4)."
)


def bar(fraction: float | None, width: int = BAR_WIDTH) -> str:
    """A left-aligned bar of eighth blocks for ``fraction`` (0..1); blank when unknown.

    >>> bar(0.5, 4), bar(1.0, 4), bar(None, 4), bar(0.01, 4)
    ('██  ', '████', '    ', '▏   ')
    """
    if fraction is None:
        return " " * width
    eighths = round(max(0.0, min(1.0, fraction)) * width * 8)
    if fraction > 0 and eighths == 0:
        eighths = 1  # a known, tiny value still shows
    full, part = divmod(eighths, 8)
    partial = " ▏▎▍▌▋▊▉"[part] if part else ""
    return ("█" * full + partial).ljust(width)


def find_rows(catalog: CatalogSlice, ids: tuple[str, ...]) -> tuple[list[ModelRow], list[str]]:
    """The catalog rows for ``ids`` (first source that has each id), and the ids not found."""
    by_id: dict[str, ModelRow] = {}
    for row in catalog.rows:
        by_id.setdefault(row.id, row)
    found = [by_id[i] for i in ids if i in by_id]
    return found, [i for i in ids if i not in by_id]


class CompareScreen(Screen[None]):
    """Models in columns, metrics in rows; selectors re-run the analysis for other hardware."""

    CSS_PATH = style_path("compare.tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x,delete", "remove", "Remove", tooltip="Remove the model under the cursor"),
        Binding("left_square_bracket", "move(-1)", "Move left", key_display="["),
        Binding("right_square_bracket", "move(1)", "Move right", key_display="]"),
        Binding("r", "focus_recommend", "Recommend", tooltip="Describe a task to get models"),
    ]

    catalog: var[CatalogSlice] = var(CatalogSlice)
    """Mirror of the App's catalog slice."""
    comparison: var[ComparisonSlice] = var(ComparisonSlice)
    """Mirror of the App's comparison slice."""

    @property
    def app(self) -> ThermalScoutApp:  # type: ignore[override]
        return super().app  # type: ignore[return-value]

    def __init__(self) -> None:
        super().__init__()
        self._result: Comparison | None = None
        self._shown: tuple[Any, ...] | None = None
        self._cursor_id: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="compare-controls"):
            yield Static("Estimates for", id="compare-for")
            yield from analysis_selects("compare")
        table: DataTable[Text] = DataTable(
            id="compare-table", cursor_type="column", zebra_stripes=True
        )
        table.border_title = "Compare"
        yield table
        yield Static("", id="compare-status")
        with Vertical(id="compare-recommend") as panel:
            panel.border_title = "Recommend"
            yield Input(
                placeholder="Recommend: describe a task, e.g. summarise documents on this "
                "laptop, quietly",
                id="recommend-input",
            )
            yield Static("", id="recommend-summary")
            yield OptionList(id="recommend-results")
        yield ScoutFooter()

    def on_mount(self) -> None:
        self.sub_title = "Compare"
        self.watch(self.app, "catalog", self._mirror_catalog, init=True)
        self.watch(self.app, "comparison", self._mirror_comparison, init=True)
        self.query_one(DataTable).focus()
        if self.catalog.status == "idle":
            self.post_message(messages.AnalysisRequested(THIS_MACHINE, "bf16", 4096))

    def _mirror_catalog(self, catalog: CatalogSlice) -> None:
        self.catalog = catalog

    def _mirror_comparison(self, comparison: ComparisonSlice) -> None:
        self.comparison = comparison

    def watch_catalog(self) -> None:
        show_analysis_settings(self, "compare", self.catalog)
        self._refresh_table()

    def watch_comparison(self) -> None:
        self._refresh_table()

    # -- view -------------------------------------------------------------------------------
    def _refresh_table(self) -> None:
        catalog, ids = self.catalog, self.comparison.ids
        key = (catalog.generation, catalog.status, ids)
        if key == self._shown:
            return
        self._shown = key
        table: DataTable[Text] = self.query_one(DataTable)
        cursor = table.cursor_column
        table.clear(columns=True)
        rows, missing = find_rows(catalog, ids)
        self._result = None
        if len(rows) >= 2:
            try:
                self._result = compare(rows, measured=_measured(rows))
            except AnalysisError as exc:
                self._status(str(exc))
                return
        if self._result is None:
            self._show_partial(table, rows, missing)
            return
        result = self._result
        table.add_column(Text("Metric", style="bold"), key="metric")
        for model_id in result.ids:
            table.add_column(Text(_short(model_id), style="bold"), key=model_id)
        for metric in result.metrics:
            if metric.empty:
                continue
            table.add_row(*self._cells(metric), key=metric.key)
        if self._cursor_id in result.ids:
            column = result.ids.index(self._cursor_id) + 1
        else:
            column = min(max(cursor, 1), len(result.ids))
        table.move_cursor(column=column)
        notes = [f"{len(result.ids)} of {MAX_COMPARED} models"]
        notes.append(
            f"estimates for {catalog.hardware} · {catalog.precision} · {catalog.context:,} ctx"
        )
        if catalog.status == "loading":
            notes.append("analysing…")
        notes.append("★ best in row · bars relative to the row's largest value")
        if missing:
            notes.append("not in any source now: " + ", ".join(missing))
        for model_id, error in result.errors.items():
            notes.append(f"{_short(model_id)}: {error}")
        self._status("  ·  ".join(notes))

    def _cells(self, metric: MetricRow) -> list[Text]:
        best_style = self.app.theme_variables.get("success", "green")
        label = Text(metric.label, style="bold")
        if metric.direction != "none":
            label.append(" ↑" if metric.direction == "higher" else " ↓", style="dim")
        cells = [label]
        for cell in metric.cells:
            text = Text()
            if cell.fraction is not None:
                text.append(bar(cell.fraction), style=best_style if cell.is_best else "dim")
                text.append(" ")
            text.append(cell.text, style=f"bold {best_style}" if cell.is_best else "")
            if cell.is_best:
                text.append(" ★", style=best_style)
            cells.append(text)
        return cells

    def _show_partial(
        self, table: DataTable[Text], rows: list[ModelRow], missing: list[str]
    ) -> None:
        table.add_column(Text("Compare", style="bold"), key="metric")
        if rows:
            table.add_row(Text(f"Compared so far: {rows[0].id}"))
            table.add_row(Text("Add at least one more model with c on the Models screen (3)."))
        else:
            table.add_row(Text(EMPTY_HINT))
        if missing:
            table.add_row(Text("Not in any source now: " + ", ".join(missing)))
        self._status(f"{len(self.comparison.ids)} of {MAX_COMPARED} models")

    def _status(self, text: str) -> None:
        self.query_one("#compare-status", Static).update(text)

    def _model_under_cursor(self) -> str | None:
        if self._result is None:
            return None
        column = self.query_one(DataTable).cursor_column
        if 1 <= column <= len(self._result.ids):
            return self._result.ids[column - 1]
        return None

    # -- events -----------------------------------------------------------------------------
    @on(Select.Changed, "#compare-controls Select")
    def _analysis_changed(self) -> None:
        request = requested_analysis(self, "compare", self.catalog)
        if request is not None:
            self.post_message(request)

    # -- actions ----------------------------------------------------------------------------
    def action_remove(self) -> None:
        model_id = self._model_under_cursor()
        if model_id is not None:
            self.post_message(messages.CompareToggled(model_id))

    def action_move(self, delta: int) -> None:
        model_id = self._model_under_cursor()
        if model_id is not None:
            self._cursor_id = model_id  # the cursor follows the model to its new column
            self.post_message(messages.CompareMoved(model_id, delta))

    def action_focus_recommend(self) -> None:
        self.query_one("#recommend-input", Input).focus()

    # -- recommendations --------------------------------------------------------------------
    @on(Input.Submitted, "#recommend-input")
    def _recommend_submitted(self, message: Input.Submitted) -> None:
        text = message.value.strip()
        if not text:
            return
        if self.catalog.status != "ready" and not self.catalog.rows:
            self._summary("models are still being analysed; try again in a moment")
            return
        self._summary("ranking…")
        self._recommend(text)

    @work(thread=True, name="recommend", group="recommend", exclusive=True, exit_on_error=False)
    def _recommend(self, text: str) -> None:
        """Rank the analysed rows for ``text`` off the UI thread (pure, reads immutable rows)."""
        from core.analysis.recommend import hardware_advice, recommend_models

        catalog = self.catalog
        rows = [r for r in catalog.rows if r.analysis is not None]
        if not rows:
            self.app.call_from_thread(self._summary, "no analysed models to rank yet")
            return
        analysis = rows[0].analysis
        assert analysis is not None
        info = self.app.state.hardware.info if catalog.hardware == THIS_MACHINE else None
        try:
            advice = hardware_advice(analysis.hardware, catalog.precision, info=info)
            result = recommend_models(text, rows, hardware=advice, limit=8)
        except AnalysisError as exc:
            self.app.call_from_thread(self._summary, f"cannot recommend: {exc}")
            return
        self.app.call_from_thread(self._show_recommendations, result)

    def _summary(self, text: str | Text) -> None:
        self.query_one("#recommend-summary", Static).update(text)

    def _show_recommendations(self, result: Any) -> None:
        request = result.request
        tasks = ", ".join(m.task.name for m in request.tasks)
        words = request.preferences.words
        summary = Text()
        summary.append("task ", style="dim")
        summary.append(tasks + (" (assumed)" if request.assumed else ""), style="bold")
        if words:
            summary.append("  ·  preferences ", style="dim")
            summary.append(", ".join(words))
        advice = result.hardware
        if advice is not None:
            threads = (
                f", {advice.threads} thread{'s' if advice.threads != 1 else ''}"
                if advice.threads
                else ""
            )
            summary.append("  ·  ", style="dim")
            summary.append(
                f"{advice.hardware}: {advice.size_tier} tier "
                f"(≤ ~{human_count(advice.max_params)} at {advice.precision}), "
                f"{advice.profile} profile, context "
                f"{advice.context_length:,}, max tokens {advice.max_tokens:,}, batch "
                f"{advice.batch_size}{threads}"
            )
        summary.append(
            f"\n{result.total:,} candidates, {len(result.excluded):,} ruled out · "
            "Enter adds the highlighted model to the comparison",
            style="dim",
        )
        for note in result.notes:
            summary.append(f"\n{note}", style="dim")
        self._summary(summary)
        options = self.query_one("#recommend-results", OptionList)
        options.clear_options()
        for rec in result.results:
            line = Text()
            line.append(f"{rec.rank}. ", style="bold")
            line.append(rec.id, style="bold")
            speed = f"{rec.tokens_per_s:,.1f} tok/s" if rec.tokens_per_s is not None else "—"
            klass = rec.row.thermal_class or "—"
            line.append(f"  score {rec.score:.3f} · {rec.task} · {speed} · {klass}", style="dim")
            for reason in rec.reasons[1:3]:
                line.append(f"\n     {reason}", style="dim")
            options.add_option(Option(line, id=rec.id))
        if result.results:
            options.highlighted = 0

    @on(OptionList.OptionSelected, "#recommend-results")
    def _recommendation_chosen(self, message: OptionList.OptionSelected) -> None:
        if message.option.id is not None and message.option.id not in self.comparison.ids:
            self.post_message(messages.CompareToggled(message.option.id))


def _measured(rows: list[ModelRow]) -> dict[str, dict[str, Any]]:
    """The compared models' latest benchmarks on this machine, as ``compare`` takes them."""
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        m = row.measurement
        if m is None:
            continue
        out[row.id] = {
            "decode_tokens_per_s": m.decode_tokens_per_s_sustained or m.decode_tokens_per_s,
            "prefill_tokens_per_s": m.prefill_tokens_per_s,
            "power_w": m.avg_power_w,
            "joules_per_token": m.gross_joules_per_token,
            "peak_temp_c": m.peak_temp_c,
        }
    return out


def _short(model_id: str, width: int = 28) -> str:
    """The model's name without its organisation, cut to ``width``."""
    name = model_id.rsplit("/", 1)[-1]
    return name if len(name) <= width else name[: width - 1] + "…"
