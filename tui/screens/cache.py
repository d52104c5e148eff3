"""The Cache screen: the Hugging Face cache, what each repository and revision costs, safe deletion.

Rows are repositories with their revisions under them. Space selects a repository or a single
revision; the summary under the table is the dry run for the selection (exact bytes freed,
revisions and blobs removed), recomputed as the selection changes. ``d`` checks the plan for
files in use (every process's open and memory-mapped files, in a worker) and asks for
confirmation; the App's worker deletes (re-checking everything first) and rescans. ``P`` plans a
prune: detached revisions and partial downloads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import var
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Header, Static

from core.cache_manager import (
    CacheError,
    CacheView,
    DeletePlan,
    Target,
    format_age,
    format_bytes,
    plan,
    prune_plan,
)
from core.paths import style_path
from core.state import CacheSlice
from tui import messages
from tui.widgets.footer import ScoutFooter

if TYPE_CHECKING:
    from tui.app import ThermalScoutApp

CHECK = "●"
"""Mark of a selected row."""


class ConfirmDelete(ModalScreen[bool]):
    """The checked plan, and Delete / Cancel (only Cancel when the plan cannot run)."""

    CSS_PATH = style_path("cache.tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "dismiss(False)", "Cancel"),
        Binding("y", "confirm", "Delete", show=False),
    ]

    def __init__(self, deletion: DeletePlan) -> None:
        super().__init__()
        self.deletion = deletion

    def compose(self) -> ComposeResult:
        deletion = self.deletion
        with Vertical(id="confirm-box") as box:
            box.border_title = "Delete from the cache?" if deletion.ok else "Cannot delete"
            lines = deletion.describe()
            text = Text("\n".join(lines[:30]))
            if len(lines) > 30:
                text.append(f"\n… and {len(lines) - 30} more lines")
            yield Static(text, id="confirm-plan")
            with Horizontal(id="confirm-buttons"):
                if deletion.ok:
                    yield Button(
                        f"Delete ({format_bytes(deletion.freed_bytes)})",
                        variant="error",
                        id="confirm-yes",
                    )
                yield Button("Cancel", id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-no" if not self.deletion.ok else "#confirm-yes", Button).focus()

    @on(Button.Pressed, "#confirm-yes")
    def action_confirm(self) -> None:
        if self.deletion.ok:
            self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def _cancel(self) -> None:
        self.dismiss(False)


class CacheScreen(Screen[None]):
    """Every cached repository and revision; select, see what is freed, delete safely."""

    CSS_PATH = style_path("cache.tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_selection", "Select", tooltip="Select or unselect the row"),
        Binding("d,delete", "delete", "Delete…", tooltip="Check and delete the selection"),
        Binding("P", "prune", "Prune…", tooltip="Detached revisions and partial downloads"),
        Binding("R", "rescan", "Rescan"),
        Binding("escape", "clear", "Clear", show=False),
    ]

    cache: var[CacheSlice] = var(CacheSlice)
    """Mirror of the App's cache slice."""

    @property
    def app(self) -> ThermalScoutApp:  # type: ignore[override]
        return super().app  # type: ignore[return-value]

    def __init__(self) -> None:
        super().__init__()
        self._selected: dict[str, Target] = {}
        self._generation = -1

    def compose(self) -> ComposeResult:
        yield Header()
        table: DataTable[Text | str] = DataTable(id="cache-table", cursor_type="row")
        table.border_title = "Hugging Face cache"
        for label, key in (
            ("", "mark"),
            ("Repository / revision", "name"),
            ("Type", "type"),
            ("Refs", "refs"),
            ("Files", "files"),
            ("Size", "size"),
            ("Last accessed", "accessed"),
            ("Last modified", "modified"),
        ):
            table.add_column(label, key=key)
        yield table
        yield Static("", id="cache-status")
        yield Static("", id="cache-plan")
        yield ScoutFooter()

    def on_mount(self) -> None:
        self.sub_title = "Cache"
        self.watch(self.app, "cache", self._mirror, init=True)
        self.query_one(DataTable).focus()
        if self.cache.status == "idle":
            self.post_message(messages.CacheScanRequested())

    def _mirror(self, cache: CacheSlice) -> None:
        self.cache = cache

    def watch_cache(self, cache: CacheSlice) -> None:
        if cache.generation != self._generation and cache.view is not None:
            self._generation = cache.generation
            self._selected = {
                k: t for k, t in self._selected.items() if _still_there(cache.view, t)
            }
            self._fill(cache.view)
        self._update_status()
        self._update_plan()

    # -- view -------------------------------------------------------------------------------
    def _fill(self, view: CacheView) -> None:
        table: DataTable[Text | str] = self.query_one(DataTable)
        row_key = None
        if table.row_count:
            row_key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        table.clear()
        now = view.scanned_at or None
        for repo in view.repos:
            key = f"repo|{repo.key}"
            partial = f" + {format_bytes(repo.partial_bytes)} partial" if repo.partials else ""
            table.add_row(
                self._mark(key),
                Text(repo.repo_id, style="bold"),
                repo.repo_type,
                ", ".join(repo.refs) or "—",
                str(sum(len(r.files) for r in repo.revisions)),
                format_bytes(repo.size_bytes) + partial,
                format_age(repo.last_accessed, now),
                format_age(repo.last_modified, now),
                key=key,
            )
            for rev in repo.revisions:
                rkey = f"rev|{repo.key}|{rev.commit}"
                label = Text(f"  └ {rev.short}")
                if rev.detached:
                    label.append("  detached", style="dim")
                if rev.problems:
                    label.append(f"  ⚠ {rev.problems[0]}", style="bold red")
                table.add_row(
                    self._mark(rkey),
                    label,
                    "",
                    ", ".join(rev.refs) or "—",
                    str(len(rev.files)),
                    format_bytes(rev.size_bytes),
                    "",
                    format_age(rev.last_modified, now),
                    key=rkey,
                )
        for broken in view.broken:
            table.add_row(
                "", Text(broken.name, style="red"), "broken", "", "", "", "", broken.reason
            )
        if row_key is not None and row_key in {k.value for k in table.rows}:
            table.move_cursor(row=table.get_row_index(row_key))

    def _mark(self, key: str) -> Text:
        return Text(CHECK, style="bold") if key in self._selected else Text(" ")

    def _update_status(self) -> None:
        cache = self.cache
        view: CacheView | None = cache.view
        parts: list[str] = []
        if view is None:
            parts.append("scanning the cache…")
        elif not view.exists:
            parts.append(f"no Hugging Face cache at {view.root} (nothing downloaded yet)")
        else:
            parts.append(
                f"{len(view.repos)} repositories · {format_bytes(view.size_bytes)} at {view.root}"
            )
            if view.partial_bytes:
                parts.append(f"{format_bytes(view.partial_bytes)} in partial downloads")
            parts.extend(view.notices[:2])
        if cache.status == "scanning" and view is not None:
            parts.append("rescanning…")
        if cache.status == "deleting":
            parts.append("deleting…")
        if cache.notice:
            parts.append(cache.notice)
        self.query_one("#cache-status", Static).update("  ·  ".join(parts))

    def _update_plan(self) -> None:
        """The dry run of the selection (without the in-use check, which runs on delete)."""
        widget = self.query_one("#cache-plan", Static)
        view: CacheView | None = self.cache.view
        if view is None or not self._selected:
            widget.update(
                Text(
                    "Space selects a repository or a revision; d deletes the selection after a "
                    "check; P prunes detached revisions and partial downloads.",
                    style="dim",
                )
            )
            return
        try:
            preview = plan(view, list(self._selected.values()), check_in_use=False)
        except CacheError as exc:
            widget.update(Text(str(exc), style="red"))
            return
        lines = preview.describe()
        text = Text(lines[0], style="bold")
        for line in lines[1:8]:
            text.append("\n" + line)
        if len(lines) > 8:
            text.append(f"\n  … {len(lines) - 8} more")
        widget.update(text)

    def _current_key(self) -> str | None:
        table: DataTable[Text | str] = self.query_one(DataTable)
        if not table.row_count:
            return None
        value = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return value if value and value.startswith(("repo|", "rev|")) else None

    # -- actions ----------------------------------------------------------------------------
    def action_toggle_selection(self) -> None:
        key = self._current_key()
        if key is None:
            return
        if key in self._selected:
            del self._selected[key]
        else:
            kind, _, rest = key.partition("|")
            if kind == "repo":
                self._selected[key] = Target("repo", rest)
                # a whole repository includes its revisions: drop them from the selection
                for other in [k for k in self._selected if k.startswith(f"rev|{rest}|")]:
                    del self._selected[other]
            else:
                repo, _, commit = rest.rpartition("|")
                if f"repo|{repo}" in self._selected:
                    return
                self._selected[key] = Target("revision", repo, commit=commit)
        table: DataTable[Text | str] = self.query_one(DataTable)
        for row_key in table.rows:
            if row_key.value and row_key.value.startswith(("repo|", "rev|")):
                table.update_cell(row_key, "mark", self._mark(row_key.value))
        row = table.cursor_row
        if row + 1 < table.row_count:
            table.move_cursor(row=row + 1)
        self._update_plan()

    def action_clear(self) -> None:
        self._selected.clear()
        view = self.cache.view
        if view is not None:
            self._fill(view)
        self._update_plan()

    def action_rescan(self) -> None:
        self.post_message(messages.CacheScanRequested())

    def action_delete(self) -> None:
        if not self._selected or self.cache.view is None:
            self.notify("Select something first (space)", timeout=4)
            return
        self._check(list(self._selected.values()), prune=False)

    def action_prune(self) -> None:
        if self.cache.view is None:
            return
        self._check([], prune=True)

    @work(thread=True, name="cache check", group="cache-check", exclusive=True, exit_on_error=False)
    def _check(self, targets: list[Target], prune: bool) -> None:
        """Plan with the in-use check (it lists every process's files: not on the UI thread)."""
        view: CacheView = self.cache.view
        try:
            checked = prune_plan(view) if prune else plan(view, targets)
        except CacheError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=8)
            return
        self.app.call_from_thread(self._confirm, checked)

    def _confirm(self, checked: DeletePlan) -> None:
        if checked.empty:
            self.notify("Nothing to delete", timeout=4)
            return

        def done(confirmed: bool | None) -> None:
            if confirmed:
                self._selected.clear()
                self.post_message(messages.CacheDeleteRequested(checked))

        self.app.push_screen(ConfirmDelete(checked), done)


def _still_there(view: CacheView, target: Target) -> bool:
    for repo in view.repos:
        if repo.key == target.repo:
            return target.commit is None or any(r.commit == target.commit for r in repo.revisions)
    return False


__all__ = ["CacheScreen", "ConfirmDelete"]
