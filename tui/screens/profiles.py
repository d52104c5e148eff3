"""The Profiles screen: performance profiles and model presets as forms over the TOML file.

The screen owns one editing session, a :class:`core.profiles.ProfileStore` over the config file
(``--config FILE``, else the user's ``config.toml``, created from the shipped defaults on first
run). Reading and writing the file run in thread workers; nothing here blocks the UI on disk.

Left, two lists: profiles and model presets, marked ``*`` default, ``★`` recommended for this
machine, ``!`` problems in the file, ``●`` unsaved changes. Highlighting an entry shows its form
(Enter moves into it, Escape back): one control per field, generated from
:func:`core.profiles.field_specs` — an Input for numbers and text, a Select for choices, a Switch
for true/false — with the field's help under it. Every keystroke is validated
(:func:`core.profiles.validate_field`) and the message shows under the field; a valid value goes
into the store at once, so the unsaved marker and the effective settings (right: each inference
setting, its value and the layer it came from) follow the typing.

Save (ctrl+s) is refused while any field holds an invalid value, and says which. The store
writes the file back with its comments, blank lines and key order, changing only the values
that changed. If another program changed the file since it was read, nothing is written and a
dialog shows what the other program changed: Reload (your edits are re-applied on top of its
version), Save as another file, or Cancel — neither side's work is lost. Leaving the screen or
quitting with unsaved changes asks first (the App calls :meth:`ProfilesScreen.confirm_leave`).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen
from textual.validation import ValidationResult, Validator
from textual.widget import Widget
from textual.widgets import (
    Button,
    DataTable,
    Header,
    Input,
    Label,
    OptionList,
    Select,
    Static,
    Switch,
)
from textual.widgets.button import ButtonVariant
from textual.widgets.option_list import Option

from core.errors import ConfigError
from core.paths import style_path
from core.profiles import (
    Conflict,
    ConflictError,
    EffectiveSetting,
    FieldError,
    FieldSpec,
    Kind,
    ModelPreset,
    PerformanceProfile,
    ProfileStore,
    SaveResult,
    architecture_of,
    effective_settings,
    field_specs,
    format_value,
    open_store,
    parse_field,
    recommended_profile,
    validate_field,
)
from core.state import HardwareSlice
from tui.widgets.footer import ScoutFooter

if TYPE_CHECKING:
    from tui.app import ThermalScoutApp

EntryKey = tuple[Kind, str]
"""An entry: its kind and name."""

MARK_DEFAULT = "*"
MARK_RECOMMENDED = "★"
MARK_PROBLEM = "!"
MARK_UNSAVED = "●"

KINDS: tuple[Kind, ...] = ("profile", "preset")
NOUN: dict[Kind, str] = {"profile": "profile", "preset": "model preset"}
LIST_ID: dict[Kind, str] = {"profile": "profile-list", "preset": "preset-list"}

LEGEND = (
    f"{MARK_DEFAULT} default  {MARK_RECOMMENDED} recommended here\n"
    f"{MARK_PROBLEM} problems  {MARK_UNSAVED} unsaved\n"
    "Enter: edit · Esc: back to the list"
)


def entry_label(
    name: str, *, default: bool, recommended: bool, problems: bool, unsaved: bool
) -> Text:
    """One list line: the markers, then the name (``★ recommended here`` after it)."""
    text = Text()
    text.append(MARK_DEFAULT if default else " ", style="bold")
    text.append(MARK_UNSAVED if unsaved else " ", style="bold yellow" if unsaved else "")
    text.append(MARK_PROBLEM if problems else " ", style="bold red")
    text.append(" " + name, style="bold" if default else "")
    if recommended:
        text.append(f"  {MARK_RECOMMENDED} recommended here", style="green")
    return text


def _same(old: Any, new: Any) -> bool:
    """Whether a value typed equals the file's (so the file need not change)."""
    return bool(old == new) and isinstance(old, bool) == isinstance(new, bool)


def _stored_text(values: Any, field: str) -> str:
    """What the file holds for ``field`` as form text (empty: not in the file)."""
    return format_value(values[field]) if field in values else ""


# -------------------------------------------------------------------------- dialogs


@dataclass(frozen=True)
class Choice:
    """A button of a :class:`ChoiceDialog`: what it returns, its label, style and key."""

    value: str
    label: str
    variant: ButtonVariant = "default"
    key: str | None = None


class ChoiceDialog(ModalScreen[str]):
    """A question and its buttons; dismisses with the chosen :attr:`Choice.value`.

    Escape answers ``"cancel"``; each choice's key (shown in its label) picks it.
    """

    CSS_PATH = style_path("profiles.tcss")

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss('cancel')", "Cancel")]

    def __init__(
        self, title: str, body: Text | str, choices: Sequence[Choice], *, wide: bool = False
    ) -> None:
        super().__init__(classes="-wide" if wide else None)
        self.title_text = title
        self.body = body
        self.choices = tuple(choices)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-box") as box:
            box.border_title = self.title_text
            with VerticalScroll(id="dialog-body"):
                body = Text(self.body) if isinstance(self.body, str) else self.body
                yield Static(body, id="dialog-text")
            with Horizontal(id="dialog-buttons"):
                for choice in self.choices:
                    label = f"{choice.label} ({choice.key})" if choice.key else choice.label
                    yield Button(
                        label,
                        variant=choice.variant,
                        id=f"choice-{choice.value}",
                        compact=True,
                    )

    def on_mount(self) -> None:
        self.query(Button).first().focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss((event.button.id or "choice-cancel").removeprefix("choice-"))

    def on_key(self, event: events.Key) -> None:
        for choice in self.choices:
            if choice.key and event.key == choice.key:
                event.stop()
                self.dismiss(choice.value)
                return


class TextDialog(ModalScreen[str | None]):
    """Ask for one line of text (a new name, a file), checked as it is typed."""

    CSS_PATH = style_path("profiles.tcss")

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(
        self, title: str, prompt: str, value: str, check: Callable[[str], str | None], ok: str
    ) -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt
        self.value = value
        self.check = check
        self.ok = ok

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog-box") as box:
            box.border_title = self.title_text
            yield Static(Text(self.prompt), id="dialog-text")
            yield Input(self.value, id="dialog-input")
            yield Static("", id="dialog-error")
            with Horizontal(id="dialog-buttons"):
                yield Button(self.ok, variant="primary", id="dialog-ok", compact=True)
                yield Button("Cancel", id="dialog-cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#dialog-input", Input).focus()
        self._show(self.check(self.value))

    def _show(self, problem: str | None) -> None:
        error = self.query_one("#dialog-error", Static)
        error.update(Text(problem or ""))
        error.display = bool(problem)
        self.query_one("#dialog-ok", Button).disabled = bool(problem)

    @on(Input.Changed, "#dialog-input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self._show(self.check(event.value))

    @on(Input.Submitted, "#dialog-input")
    @on(Button.Pressed, "#dialog-ok")
    def _submit(self, event: events.Event) -> None:
        event.stop()
        text = self.query_one("#dialog-input", Input).value.strip()
        problem = self.check(text)
        if problem is None:
            self.dismiss(text)
        else:
            self._show(problem)

    @on(Button.Pressed, "#dialog-cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None)


# -------------------------------------------------------------------------- form controls


class FieldValidator(Validator):
    """:func:`core.profiles.validate_field` as a Textual validator (sets ``-invalid``)."""

    def __init__(self, kind: Kind, field: str) -> None:
        super().__init__()
        self.kind = kind
        self.field = field

    def validate(self, value: str) -> ValidationResult:
        problem = validate_field(self.kind, self.field, value)
        return self.failure(problem) if problem else self.success()


class FieldInput(Input):
    """An Input for one field of one entry (which it keeps, whatever the form shows later)."""

    def __init__(self, entry: EntryKey, spec: FieldSpec, value: str, placeholder: str) -> None:
        super().__init__(
            value,
            placeholder=placeholder,
            validators=[FieldValidator(entry[0], spec.name)],
            validate_on=["changed"],
            id=f"field-{spec.name}",
            compact=True,
            tooltip=spec.help,
        )
        self.entry = entry
        self.field = spec.name


class FieldSelect(Select[str]):
    """A Select for a choice field; the blank option means "not set" (the default)."""

    def __init__(self, entry: EntryKey, spec: FieldSpec, value: str) -> None:
        default = format_value(spec.default)
        super().__init__(
            [(choice, choice) for choice in spec.choices],
            prompt=f"not set (default {default})" if default else "not set",
            value=value if value in spec.choices else Select.NULL,
            id=f"field-{spec.name}",
            compact=True,
            tooltip=spec.help,
        )
        self.entry = entry
        self.field = spec.name


class FieldSwitch(Switch):
    """A Switch for a true/false field."""

    def __init__(self, entry: EntryKey, spec: FieldSpec, value: bool) -> None:
        super().__init__(value, animate=False, id=f"field-{spec.name}", tooltip=spec.help)
        self.entry = entry
        self.field = spec.name


FieldWidget = FieldInput | FieldSelect | FieldSwitch


# -------------------------------------------------------------------------- the screen


@dataclass(frozen=True)
class Loaded:
    """What a load worker hands the UI: the store, the file's entries, the architectures."""

    store: ProfileStore
    saved: dict[EntryKey, dict[str, Any]]
    saved_defaults: tuple[str | None, str | None]
    architectures: dict[tuple[str, str | None, str | None], str | None]
    fallback_recommended: str | None
    notes: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


def _arch_key(preset: ModelPreset) -> tuple[str, str | None, str | None]:
    return (preset.name, preset.model_id, preset.weights)


def _loaded(
    store: ProfileStore,
    disk: ProfileStore | None = None,
    *,
    notes: Iterable[str] = (),
    errors: Iterable[str] = (),
) -> Loaded:
    """Everything the UI needs about a freshly read store (call from a worker thread)."""
    disk = disk or store
    saved = {(k, n): dict(e.values) for k in KINDS for n, e in disk.entries(k).items()}
    architectures: dict[tuple[str, str | None, str | None], str | None] = {}
    for entry in store.presets.values():
        if entry.model is not None:
            architectures[_arch_key(entry.model)] = architecture_of(entry.model)
    try:
        fallback = recommended_profile(None)
    except Exception:  # psutil failing must not stop the editor
        fallback = None
    return Loaded(
        store,
        saved,
        (disk.default_profile, disk.default_model),
        architectures,
        fallback,
        tuple(notes),
        tuple(errors),
    )


class ProfilesScreen(Screen[None]):
    """Edit performance profiles and model presets; save them back to the TOML file."""

    CSS_PATH = style_path("profiles.tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", tooltip="Write the changes to the file"),
        Binding("ctrl+r", "revert", "Revert", tooltip="Discard every unsaved change"),
        Binding("c", "duplicate", "Duplicate", tooltip="Copy the entry under a new name"),
        Binding("delete,x", "delete", "Delete", key_display="del", tooltip="Delete the entry"),
        Binding(
            "asterisk",
            "set_default",
            "Default",
            key_display="*",
            tooltip="Make the entry the default profile / model",
        ),
        Binding("escape", "back_to_list", "List", show=False),
    ]

    @property
    def app(self) -> ThermalScoutApp:  # type: ignore[override]
        return super().app  # type: ignore[return-value]

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A notification; plain text by default (file names and values may hold ``[``)."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def __init__(self) -> None:
        super().__init__()
        self.store: ProfileStore | None = None
        """The editing session (None until the file is read, or when it cannot be)."""
        self._saved: dict[EntryKey, dict[str, Any]] = {}
        self._saved_defaults: tuple[str | None, str | None] = (None, None)
        self._pending: dict[EntryKey, dict[str, tuple[str, str | None]]] = {}
        """Field texts not in the store: (text, problem); no problem: cleared, to unset."""
        self._deferred: dict[tuple[EntryKey, str], tuple[str, bool]] = {}
        self._architectures: dict[tuple[str, str | None, str | None], str | None] = {}
        self._arch_asked: set[tuple[str, str | None, str | None]] = set()
        self._fallback_recommended: str | None = None
        self._current: EntryKey | None = None
        self._form_generation = 0
        self._form_shown: tuple[EntryKey | None, int] | None = None
        self._form_lock = asyncio.Lock()
        self._focus_when_built = False
        self._io: str | None = "loading"
        self._load_error: str | None = None
        self._leave_then: Callable[[], object] | None = None
        self._mode: str | None = None

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="profiles-main"):
            with Vertical(id="profiles-lists"):
                profiles = OptionList(id="profile-list")
                profiles.border_title = "Profiles"
                yield profiles
                presets = OptionList(id="preset-list")
                presets.border_title = "Model presets"
                yield presets
                yield Static(LEGEND, id="profiles-legend")
            with Vertical(id="profiles-center"):
                form = VerticalScroll(id="profiles-form")
                form.border_title = "Loading…"
                with form:
                    yield Static("reading the configuration file…", classes="form-note")
                with Horizontal(id="profiles-buttons"):
                    yield Button("Save", variant="primary", id="btn-save", compact=True)
                    yield Button("Revert", id="btn-revert", compact=True)
                    yield Button("Duplicate…", id="btn-duplicate", compact=True)
                    yield Button("Delete…", variant="error", id="btn-delete", compact=True)
                    yield Button("Set default", id="btn-default", compact=True)
            with Vertical(id="profiles-side"):
                table: DataTable[Text | str] = DataTable(
                    id="effective-table", cursor_type="none", zebra_stripes=True
                )
                table.can_focus = False
                table.border_title = "Effective settings"
                for label, key in (
                    ("Setting", "key"),
                    ("Value", "value"),
                    ("From (layer)", "layer"),
                ):
                    table.add_column(label, key=key)
                yield table
                yield Static("", id="effective-note")
                problems = VerticalScroll(id="profiles-problems")
                problems.border_title = "Problems in the file"
                with problems:
                    yield Static("", id="problems-text")
        yield Static("", id="profiles-status")
        yield ScoutFooter()

    def on_mount(self) -> None:
        self.sub_title = "Profiles"
        self._mode = self.app.current_mode
        self.query_one("#profiles-problems").display = False
        self.watch(self.app, "hardware", self._hardware_changed, init=False)
        self.query_one("#profile-list", OptionList).focus()
        self._open()

    # -- loading (workers) --------------------------------------------------------------------

    @work(thread=True, name="profiles load", group="profiles-io", exit_on_error=False)
    def _open(self) -> None:
        """Read the config file (copied from the shipped defaults on first run)."""
        try:
            store = open_store(self.app.config_path)
        except ConfigError as exc:
            self.app.call_from_thread(self._load_failed, str(exc))
            return
        self.app.call_from_thread(self._apply_loaded, _loaded(store, notes=store.notices))

    @work(thread=True, name="profiles revert", group="profiles-io", exit_on_error=False)
    def _revert_worker(self, path: Path, then: Callable[[], object] | None) -> None:
        """Read the file again, dropping every edit."""
        try:
            store = ProfileStore.load(path)
        except ConfigError as exc:
            self.app.call_from_thread(self._io_failed, f"not reverted: {exc}")
            return
        self.app.call_from_thread(
            self._apply_loaded, _loaded(store, notes=[f"reverted to {path} as it is on disk"])
        )
        if then is not None:
            self.app.call_from_thread(then)

    @work(thread=True, name="profiles reload", group="profiles-io", exit_on_error=False)
    def _reload_worker(self, store: ProfileStore) -> None:
        """Read the file as the other program left it and re-apply the edits on top of it."""
        try:
            disk = ProfileStore.load(store.path)
            merged = copy.copy(store)  # reload replaces the copy's state, never the original's
            failed = merged.reload(keep_edits=True)
        except ConfigError as exc:
            self.app.call_from_thread(self._io_failed, f"not reloaded: {exc}")
            return
        notes = [f"reloaded {store.path}; your edits are re-applied: save to write them"]
        self.app.call_from_thread(
            self._apply_loaded, _loaded(merged, disk, notes=notes, errors=failed)
        )

    @work(thread=True, name="profiles save", group="profiles-io", exit_on_error=False)
    def _save_worker(self, store: ProfileStore, then: Callable[[], object] | None) -> None:
        """Write the edits; the store refuses when the file changed on disk."""
        try:
            result = store.save()
        except ConflictError as exc:
            self.app.call_from_thread(self._conflict, exc.conflict)
            return
        except ConfigError as exc:
            self.app.call_from_thread(self._io_failed, str(exc))
            return
        self.app.call_from_thread(self._saved_done, result, then)

    @work(thread=True, name="profiles save as", group="profiles-io", exit_on_error=False)
    def _save_as_worker(self, store: ProfileStore, path: Path) -> None:
        """Write the document to another file, which becomes the one edited here."""
        clone = copy.copy(store)  # save_as re-reads the document: not under the UI's feet
        try:
            result = clone.save_as(path)
        except ConfigError as exc:
            self.app.call_from_thread(self._io_failed, f"not saved: {exc}")
            return
        self.app.call_from_thread(
            self._apply_loaded,
            _loaded(clone, notes=[f"saved {result.path} ({result.bytes_written} bytes)"]),
        )

    @work(thread=True, name="profiles architecture", group="profiles-arch", exit_on_error=False)
    def _find_architecture(self, preset: ModelPreset) -> None:
        """A preset's model family (reads its config.json when it can be found)."""
        found = architecture_of(preset)
        self.app.call_from_thread(self._architecture_found, _arch_key(preset), found)

    def _architecture_found(
        self, key: tuple[str, str | None, str | None], found: str | None
    ) -> None:
        self._architectures[key] = found
        self._refresh_effective()

    # -- results of the workers (UI thread) ----------------------------------------------

    def _load_failed(self, error: str) -> None:
        self._io = None
        self._load_error = error
        self.notify(error, severity="error", timeout=10)
        form = self.query_one("#profiles-form", VerticalScroll)
        form.border_title = "Cannot read the configuration file"
        form.query_one(".form-note", Static).update(Text(error, style="bold red"))
        self._refresh_status()

    def _apply_loaded(self, loaded: Loaded) -> None:
        """Make a freshly read store the one edited here and redraw everything."""
        self.store = loaded.store
        self._load_error = None
        self._saved = loaded.saved
        self._saved_defaults = loaded.saved_defaults
        self._architectures.update(loaded.architectures)
        self._fallback_recommended = loaded.fallback_recommended
        self._io = None
        store = loaded.store
        for key in list(self._pending):
            if key[1] not in store.entries(key[0]):
                del self._pending[key]
        if self._current is None or self._current[1] not in store.entries(self._current[0]):
            self._current = self._first_entry()
        self._form_generation += 1
        self._refresh_lists(rebuild=True)
        self._schedule_form()
        for note in loaded.notes:
            self.notify(note, timeout=6)
        for error in loaded.errors:
            self.notify(f"not re-applied: {error}", severity="warning", timeout=12)
        self._replay_deferred()
        self._refresh_all()

    def _first_entry(self) -> EntryKey | None:
        store = self.store
        if store is None:
            return None
        if store.default_profile is not None:
            return ("profile", store.default_profile)
        for kind in KINDS:
            for name in store.entries(kind):
                return (kind, name)
        return None

    def _io_failed(self, error: str) -> None:
        self._io = None
        self.notify(error, severity="error", timeout=10)
        self._replay_deferred()
        self._refresh_all()

    def _saved_done(self, result: SaveResult, then: Callable[[], object] | None) -> None:
        self._io = None
        store = self.store
        if store is not None:
            self._saved = {
                (k, n): dict(e.values) for k in KINDS for n, e in store.entries(k).items()
            }
            self._saved_defaults = (store.default_profile, store.default_model)
        if result.written:
            self.notify(f"saved {result.path}", timeout=5)
        self._replay_deferred()
        self._refresh_all()
        if then is not None:
            then()

    def _conflict(self, conflict: Conflict) -> None:
        """The file changed on disk: show what changed; Reload, Save as… or Cancel."""
        self._io = None
        self._leave_then = None
        self._replay_deferred()
        self._refresh_all()
        what = "was deleted" if conflict.reason == "deleted" else "was changed by another program"
        body = Text()
        body.append(f"{conflict.path} {what} since it was read. Nothing was written.\n\n")
        body.append(
            "Reload reads its new version and re-applies your edits on top (then save again); "
            "Save as writes yours to another file.\n\n"
        )
        diff = conflict.diff()
        for line in diff.splitlines()[:200] or ["(the file is gone)"]:
            style = ""
            if line.startswith("+") and not line.startswith("+++"):
                style = "green"
            elif line.startswith("-") and not line.startswith("---"):
                style = "red"
            elif line.startswith("@@"):
                style = "cyan"
            body.append(line + "\n", style=style)
        choices = [
            Choice("reload", "Reload, keep my edits", "primary", "r"),
            Choice("save_as", "Save as…", "default", "a"),
            Choice("cancel", "Cancel", "default", None),
        ]

        def chosen(choice: str | None) -> None:
            if choice == "reload":
                self._reload()
            elif choice == "save_as":
                self.action_save_as()

        self.app.push_screen(
            ChoiceDialog("The file changed on disk", body, choices, wide=True), chosen
        )

    def _replay_deferred(self) -> None:
        """Apply the field edits typed while the file was being read or written."""
        deferred, self._deferred = self._deferred, {}
        for (entry, field), (text, commit) in deferred.items():
            problem = self._apply_text(entry, field, text, commit=commit)
            self._show_field_problem(entry, field, problem)

    def _commit_cleared(self, only: tuple[EntryKey, str] | None = None) -> None:
        """Unset the fields whose text was cleared (kept until now so that clearing a field to
        type a new value does not move its key to the end of the table)."""
        for entry, fields in list(self._pending.items()):
            for field, (text, problem) in list(fields.items()):
                if problem is None and (only is None or only == (entry, field)):
                    found = self._apply_text(entry, field, text, commit=True)
                    self._show_field_problem(entry, field, found)

    def _hardware_changed(self, hardware: HardwareSlice) -> None:
        self._refresh_lists()
        self._refresh_effective()

    # -- state ------------------------------------------------------------------------------

    @property
    def current(self) -> EntryKey | None:
        """The entry whose form is (or is about to be) on show."""
        return self._current

    @property
    def form_ready(self) -> bool:
        """The file is read, nothing is being read or written, and the form shows
        :attr:`current`."""
        return (
            self.store is not None
            and self._io is None
            and self._form_shown == (self._current, self._form_generation)
        )

    def _recommended(self) -> str | None:
        info = self.app.state.hardware.info
        if info is not None:
            return recommended_profile(info)
        return self._fallback_recommended

    def _entry_unsaved(self, key: EntryKey) -> bool:
        store = self.store
        if store is None:
            return False
        if self._pending.get(key):
            return True
        entries = store.entries(key[0])
        if key[1] not in entries:
            return False
        return key not in self._saved or dict(entries[key[1]].values) != self._saved[key]

    def unsaved_changes(self) -> list[str]:
        """What is not saved yet, one phrase each (empty: nothing)."""
        store = self.store
        if store is None:
            return []
        changes: list[str] = []
        for kind in KINDS:
            entries = store.entries(kind)
            for name in entries:
                if (kind, name) not in self._saved:
                    changes.append(f"new {kind} {name}")
                elif self._entry_unsaved((kind, name)):
                    changes.append(f"{kind} {name}")
            for saved_kind, name in self._saved:
                if saved_kind == kind and name not in entries:
                    changes.append(f"deleted {kind} {name}")
        if (store.default_profile, store.default_model) != self._saved_defaults:
            changes.append("defaults")
        if not changes and store.dirty:
            changes.append("formatting")
        return changes

    @property
    def has_unsaved_changes(self) -> bool:
        """Edits not written to the file yet (including invalid values still being typed)."""
        store = self.store
        return store is not None and (store.dirty or any(self._pending.values()))

    def _invalid_fields(self) -> list[str]:
        """``"profile fast: temperature: must be …"`` for every value that is refused."""
        return [
            f"{kind} {name}: {field}: {problem}"
            for (kind, name), fields in self._pending.items()
            for field, (_, problem) in fields.items()
            if problem is not None
        ]

    # -- editing ------------------------------------------------------------------------------

    def _apply_text(
        self, entry: EntryKey, field: str, text: str, *, commit: bool = True
    ) -> str | None:
        """Put a field's text into the store when it is valid; returns the problem, if any.

        Empty text unsets the field; without ``commit`` that waits (:meth:`_commit_cleared`).
        """
        store = self.store
        kind, name = entry
        if store is None or name not in store.entries(kind):
            return None
        values = store.entry(kind, name).values
        pending = self._pending.setdefault(entry, {})
        problem = validate_field(kind, field, text)
        if text.strip() == _stored_text(values, field):
            pending.pop(field, None)
            return problem  # what the file holds: shown, not an edit
        if problem is not None:
            pending[field] = (text, problem)
            return problem
        if not text.strip() and not commit:
            pending[field] = (text, None)
            return None
        value = parse_field(kind, field, text, name=name)
        spec = field_specs(kind)[field]
        if (
            spec.kind == "bool"
            and field not in self._saved.get(entry, {})
            and _same(spec.default, value)
        ):
            value = None  # back to how the file had it: unset
        if (value is None and field not in values) or (
            value is not None and field in values and _same(values[field], value)
        ):
            pending.pop(field, None)
            return None
        try:
            store.set_values(kind, name, {field: value})
        except FieldError as exc:
            pending[field] = (text, exc.problem)
            return exc.problem
        except ConfigError as exc:
            pending[field] = (text, str(exc))
            return str(exc)
        pending.pop(field, None)
        return None

    def _field_edited(self, widget: FieldWidget, text: str) -> None:
        commit = not isinstance(widget, FieldInput)  # an Input commits a clear when left
        if self._io is not None:
            self._deferred[(widget.entry, widget.field)] = (text, commit)
            self._show_field_problem(
                widget.entry, widget.field, validate_field(widget.entry[0], widget.field, text)
            )
            return
        problem = self._apply_text(widget.entry, widget.field, text, commit=commit)
        self._show_field_problem(widget.entry, widget.field, problem)
        self._refresh_all()

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        if isinstance(event.input, FieldInput):
            self._field_edited(event.input, event.value)

    @on(Input.Blurred)
    @on(Input.Submitted)
    def _input_left(self, event: Input.Blurred | Input.Submitted) -> None:
        if isinstance(event.input, FieldInput) and self._io is None:
            self._commit_cleared((event.input.entry, event.input.field))
            self._refresh_all()

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        if isinstance(event.select, FieldSelect):
            value = event.value
            self._field_edited(event.select, "" if value is Select.NULL else str(value))

    @on(Switch.Changed)
    def _switch_changed(self, event: Switch.Changed) -> None:
        if isinstance(event.switch, FieldSwitch):
            self._field_edited(event.switch, "true" if event.value else "false")

    def _show_field_problem(self, entry: EntryKey, field: str, problem: str | None) -> None:
        """The message under a field of the form on show (nothing when another entry shows)."""
        if self._form_shown is None or self._form_shown[0] != entry:
            return
        form = self.query_one("#profiles-form", VerticalScroll)
        for error in form.query(f"#error-{field}").results(Static):
            error.update(Text(problem or ""))
            error.display = bool(problem)
        for widget in form.query(f"#field-{field}"):
            widget.set_class(bool(problem), "-invalid")

    # -- the lists ----------------------------------------------------------------------------

    def _refresh_lists(self, *, rebuild: bool = False) -> None:
        store = self.store
        if store is None:
            return
        recommended = self._recommended()
        for kind in KINDS:
            option_list = self.query_one(f"#{LIST_ID[kind]}", OptionList)
            entries = store.entries(kind)
            default = store.default_profile if kind == "profile" else store.default_model
            labels = {
                name: entry_label(
                    name,
                    default=name == default,
                    recommended=kind == "profile" and name == recommended,
                    problems=bool(entry.problems),
                    unsaved=self._entry_unsaved((kind, name)),
                )
                for name, entry in entries.items()
            }
            ids = [f"{kind}:{name}" for name in entries]
            shown = [option.id for option in option_list.options]
            if rebuild or ids != shown:
                option_list.clear_options()
                option_list.add_options(
                    [Option(label, id=f"{kind}:{name}") for name, label in labels.items()]
                )
            else:
                for name, label in labels.items():
                    option_list.replace_option_prompt(f"{kind}:{name}", label)
            # only the list of the entry on show has a highlight
            current = self._current
            if current is not None and current[0] == kind and f"{kind}:{current[1]}" in ids:
                index = ids.index(f"{kind}:{current[1]}")
                if option_list.highlighted != index:
                    option_list.highlighted = index
            else:
                option_list.highlighted = None
            option_list.border_subtitle = str(len(entries))

    def _entry_of(self, option_list: OptionList, index: int | None) -> EntryKey | None:
        if index is None or index >= option_list.option_count:
            return None
        option_id = option_list.get_option_at_index(index).id or ""
        kind, _, name = option_id.partition(":")
        if kind == "profile":
            return ("profile", name)
        if kind == "preset":
            return ("preset", name)
        return None

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        # only the user's moves (the list has focus); redraws of the other list are ignored
        if event.option_list.has_focus:
            self._open_entry(self._entry_of(event.option_list, event.option_index))

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        entry = self._entry_of(event.option_list, event.option_index)
        if entry is not None:
            self._open_entry(entry)
            self._focus_when_built = True
            self.call_later(self._focus_if_built)

    def _focus_if_built(self) -> None:
        """Move into the form once it shows the entry chosen (Enter on a list)."""
        if self._focus_when_built and self.form_ready:
            self._focus_when_built = False
            self._focus_form()

    def _open_entry(self, entry: EntryKey | None) -> None:
        if entry is None or entry == self._current:
            return
        self._current = entry
        other: Kind = "preset" if entry[0] == "profile" else "profile"
        self.query_one(f"#{LIST_ID[other]}", OptionList).highlighted = None
        self._schedule_form()
        self._refresh_effective()
        self._refresh_buttons()

    # -- the form -----------------------------------------------------------------------------

    def _schedule_form(self) -> None:
        self.call_later(self._rebuild_form)

    async def _rebuild_form(self) -> None:
        """Show the form of the current entry (one rebuild at a time; the latest wins)."""
        async with self._form_lock:
            target = (self._current, self._form_generation)
            if target == self._form_shown:
                return
            form = self.query_one("#profiles-form", VerticalScroll)
            refocus = self.focused is not None and form in self.focused.ancestors
            await form.remove_children()
            self._form_shown = target
            await form.mount_all(self._form_widgets())
            form.scroll_home(animate=False)
            if refocus:
                self._focus_form()
        self._focus_if_built()

    def _form_widgets(self) -> list[Widget]:
        store = self.store
        form = self.query_one("#profiles-form", VerticalScroll)
        entry = self._current
        if store is None or entry is None or entry[1] not in store.entries(entry[0]):
            form.border_title = "Nothing to edit"
            return [Static("No entry: duplicate one, or add one to the file.", classes="form-note")]
        kind, name = entry
        record = store.entry(kind, name)
        where = f"{store.path.name}:{record.line}" if record.line else store.path.name
        form.border_title = f"{NOUN[kind]} {name}"
        form.border_subtitle = where
        widgets: list[Widget] = []
        general = [p for p in record.problems if p.where.count(".") < 2]
        for found in general:
            widgets.append(Static(Text(found.message, style="bold red"), classes="form-problem"))
        pending = self._pending.get(entry, {})
        for field, spec in field_specs(kind).items():
            if field == "name":
                continue
            stored = _stored_text(record.values, field)
            text = pending[field][0] if field in pending else stored
            control: Widget
            if spec.kind == "choice":
                control = FieldSelect(entry, spec, text)
            elif spec.kind == "bool":
                valid = bool(text) and validate_field(kind, field, text) is None
                checked = parse_field(kind, field, text) if valid else spec.default
                control = FieldSwitch(entry, spec, bool(checked))
            else:
                default = format_value(spec.default)
                placeholder = f"not set (default {default})" if default else "not set"
                control = FieldInput(entry, spec, text, placeholder)
            if field in pending:
                problem = pending[field][1]
            else:
                problem = validate_field(kind, field, text) if text else None
                problem = problem or next(
                    (p.message for p in record.problems if p.where.endswith(f".{field}")), None
                )
            control.set_class(bool(problem), "-invalid")
            label = Label(field, classes="field-label")
            row = Horizontal(label, control, classes="field-row")
            help_text = Text(spec.help, style="")
            help_text.append(f"  ({spec.rule})", style="italic")
            error = Static(Text(problem or ""), id=f"error-{field}", classes="field-error")
            error.display = bool(problem)
            widgets.append(
                Vertical(row, Static(help_text, classes="field-help"), error, classes="field")
            )
        return widgets

    def _focus_form(self) -> None:
        form = self.query_one("#profiles-form", VerticalScroll)
        for widget in form.query("FieldInput, FieldSelect, FieldSwitch"):
            if widget.focusable:
                widget.focus()
                return

    def action_back_to_list(self) -> None:
        kind = self._current[0] if self._current else "profile"
        self.query_one(f"#{LIST_ID[kind]}", OptionList).focus()

    # -- the side panel, buttons and status ------------------------------------------------

    def _refresh_all(self) -> None:
        self._refresh_lists()
        self._refresh_effective()
        self._refresh_status()
        self._refresh_buttons()

    def _effective_inputs(
        self,
    ) -> tuple[PerformanceProfile | None, str | None, ModelPreset | None, str | None]:
        """The profile and the model preset of the effective view (names too)."""
        store = self.store
        if store is None or self._current is None:
            return None, None, None, None
        kind, name = self._current
        profiles, presets = store.profiles, store.presets
        if kind == "profile":
            profile_name: str | None = name
            preset_name = store.default_model
        else:
            preset_name = name
            entry = presets.get(name)
            chosen = entry.model.default_profile if entry and entry.model else None
            profile_name = chosen if chosen in profiles else store.default_profile
        profile_entry = profiles.get(profile_name) if profile_name else None
        preset_entry = presets.get(preset_name) if preset_name else None
        profile = profile_entry.model if profile_entry is not None else None
        preset = preset_entry.model if preset_entry is not None else None
        return profile, profile_name, preset, preset_name

    def _refresh_effective(self) -> None:
        table: DataTable[Text | str] = self.query_one("#effective-table", DataTable)
        note = self.query_one("#effective-note", Static)
        table.clear()
        profile, profile_name, preset, preset_name = self._effective_inputs()
        if self.store is None or self._current is None:
            table.border_title = "Effective settings"
            note.update("")
            return
        architecture: str | None = None
        if preset is not None:
            key = _arch_key(preset)
            if key in self._architectures:
                architecture = self._architectures[key]
            elif key not in self._arch_asked:
                self._arch_asked.add(key)
                self._find_architecture(preset)
        hardware = self.app.state.hardware.info
        rows: list[EffectiveSetting] = effective_settings(
            profile, preset=preset, architecture=architecture, hardware=hardware
        )
        table.border_title = f"Effective settings: {profile_name or 'no profile'}"
        table.border_subtitle = f"with {preset_name or 'no model'}"
        for row in rows:
            layer_style = "bold" if row.layer.startswith("profile") else ""
            table.add_row(
                row.key, Text(format_value(row.value), style="bold"), Text(row.layer, layer_style)
            )
        parts = [f"architecture: {architecture or 'unknown'}"]
        if hardware is None:
            parts.append("hardware not detected yet")
        if profile is None and profile_name is not None:
            parts.append(f"{profile_name} is unusable: lower layers shown")
        note.update(
            Text(
                "  ·  ".join(parts)
                + "\nlayers, lowest first: base → architecture → capability → model → profile",
                style="dim",
            )
        )

    def _refresh_buttons(self) -> None:
        store = self.store
        ready = store is not None and self._current is not None
        self.query_one("#btn-save", Button).disabled = store is None
        self.query_one("#btn-revert", Button).disabled = not self.has_unsaved_changes
        for button_id in ("#btn-duplicate", "#btn-delete", "#btn-default"):
            self.query_one(button_id, Button).disabled = not ready

    def _refresh_status(self) -> None:
        status = self.query_one("#profiles-status", Static)
        store = self.store
        text = Text()
        if store is None:
            text.append(self._load_error or "reading the configuration file…", style="dim")
            status.update(text)
            return
        text.append(str(store.path), style="bold")
        if self._io is not None:
            text.append(f"  ·  {self._io}…", style="dim")
        changes = self.unsaved_changes()
        invalid = self._invalid_fields()
        if invalid:
            text.append(f"  ·  {len(invalid)} invalid: {invalid[0]}", style="bold red")
        elif changes:
            shown = ", ".join(changes[:3]) + (f" +{len(changes) - 3}" if len(changes) > 3 else "")
            text.append(f"  ·  {MARK_UNSAVED} unsaved: {shown} (ctrl+s saves)", style="bold")
        else:
            text.append("  ·  saved", style="dim")
        if store.read_only_reason:
            text.append(f"  ·  read-only: {store.read_only_reason}", style="bold yellow")
        status.update(text)
        problems = store.problems
        box = self.query_one("#profiles-problems", VerticalScroll)
        box.display = bool(problems)
        box.border_subtitle = str(len(problems))
        lines = Text()
        for index, problem in enumerate(problems):
            style = "red" if problem.severity == "error" else "yellow"
            lines.append(("\n" if index else "") + str(problem), style=style)
        self.query_one("#problems-text", Static).update(lines)

    # -- actions ------------------------------------------------------------------------------

    def _ready(self) -> ProfileStore | None:
        """The store, when an action may run now (else a notice says why not)."""
        if self._io is not None:
            self.notify(f"wait: {self._io} the file", timeout=3)
            return None
        if self.store is None:
            self.notify(self._load_error or "the file is not read yet", severity="error")
            return None
        return self.store

    @on(Button.Pressed, "#btn-save")
    def action_save(self) -> None:
        """Save, unless a value is invalid or the file cannot be written here."""
        self._save()

    def _save(self, then: Callable[[], object] | None = None) -> None:
        store = self._ready()
        if store is None:
            return
        self._commit_cleared()
        self._refresh_all()
        invalid = self._invalid_fields()
        if invalid:
            more = f" (and {len(invalid) - 1} more)" if len(invalid) > 1 else ""
            self.notify(
                f"not saved: fix {invalid[0]}{more}", severity="error", title="Invalid value"
            )
            self._refresh_status()
            return
        if store.read_only_reason:
            self._offer_save_as(store.read_only_reason)
            return
        if not store.dirty:
            self.notify("nothing to save", timeout=3)
            if then is not None:
                then()
            return
        self._io = "saving"
        self._refresh_status()
        self._save_worker(store, then)

    def _offer_save_as(self, reason: str) -> None:
        def chosen(choice: str | None) -> None:
            if choice == "save_as":
                self.action_save_as()

        self.app.push_screen(
            ChoiceDialog(
                "Cannot save to this file",
                reason,
                [Choice("save_as", "Save as…", "primary", "a"), Choice("cancel", "Cancel")],
            ),
            chosen,
        )

    def action_save_as(self) -> None:
        store = self._ready()
        if store is None:
            return
        if self._invalid_fields():
            self._save()  # says which value to fix
            return
        suggestion = store.path.with_name(f"{store.path.stem}-mine{store.path.suffix or '.toml'}")

        def check(text: str) -> str | None:
            if not text.strip():
                return "type a file name"
            path = Path(text.strip()).expanduser()
            if path.exists():
                return f"{path} already exists; choose another name"
            if not path.parent.is_dir():
                return f"no folder {path.parent}"
            return None

        def chosen(text: str | None) -> None:
            if text:
                self._io = "saving"
                self._refresh_status()
                self._save_as_worker(store, Path(text).expanduser())

        self.app.push_screen(
            TextDialog("Save as", "Write the configuration to:", str(suggestion), check, "Save"),
            chosen,
        )

    def _reload(self) -> None:
        store = self._ready()
        if store is None:
            return
        self._io = "reloading"
        self._refresh_status()
        self._reload_worker(store)

    @on(Button.Pressed, "#btn-revert")
    def action_revert(self) -> None:
        """Discard every unsaved change (after asking)."""
        store = self._ready()
        if store is None:
            return
        if not self.has_unsaved_changes:
            self.notify("nothing to revert", timeout=3)
            return
        changes = self.unsaved_changes() or self._invalid_fields()

        def chosen(choice: str | None) -> None:
            if choice == "discard":
                self._revert()

        self.app.push_screen(
            ChoiceDialog(
                "Discard unsaved changes?",
                "Unsaved: " + ", ".join(changes) + f"\n\n{store.path} is read again as it is.",
                [Choice("discard", "Discard", "error", "y"), Choice("cancel", "Cancel", key="n")],
            ),
            chosen,
        )

    def _revert(self, then: Callable[[], object] | None = None) -> None:
        store = self.store
        if store is None or self._io is not None:
            return
        self._pending.clear()
        self._deferred.clear()
        self._io = "reverting"
        self._refresh_status()
        self._revert_worker(store.path, then)

    @on(Button.Pressed, "#btn-duplicate")
    def action_duplicate(self) -> None:
        store = self._ready()
        if store is None or self._current is None:
            return
        kind, source = self._current
        taken = {name.lower() for name in store.entries(kind)}
        suggestion = f"{source}-copy"
        number = 2
        while suggestion.lower() in taken:
            suggestion = f"{source}-copy{number}"
            number += 1

        def check(text: str) -> str | None:
            problem = validate_field(kind, "name", text)
            if problem:
                return problem
            if text.strip().lower() in taken:
                return f"a {NOUN[kind]} named {text.strip()!r} already exists"
            return None

        def chosen(name: str | None) -> None:
            if not name or self.store is not store:
                return
            try:
                store.duplicate(kind, source, name)
            except ConfigError as exc:
                self.notify(str(exc), severity="error", timeout=8)
                return
            self._current = (kind, name)
            self._refresh_all()
            self._schedule_form()
            self.notify(f"{NOUN[kind]} {name} created from {source} (not saved yet)", timeout=4)

        self.app.push_screen(
            TextDialog(
                f"Duplicate {NOUN[kind]} {source}",
                f"Name of the copy of {source}:",
                suggestion,
                check,
                "Duplicate",
            ),
            chosen,
        )

    @on(Button.Pressed, "#btn-delete")
    def action_delete(self) -> None:
        store = self._ready()
        if store is None or self._current is None:
            return
        kind, name = self._current

        def chosen(choice: str | None) -> None:
            if choice != "delete" or self.store is not store:
                return
            names = list(store.entries(kind))
            try:
                store.delete(kind, name)
            except ConfigError as exc:
                self.notify(str(exc), severity="error", title="Not deleted", timeout=10)
                return
            self._pending.pop((kind, name), None)
            remaining = list(store.entries(kind))
            if remaining:
                index = min(names.index(name), len(remaining) - 1)
                self._current = (kind, remaining[index])
            else:
                self._current = self._first_entry()
            self._refresh_lists(rebuild=True)
            self._refresh_all()
            self._schedule_form()
            self.notify(f"{NOUN[kind]} {name} deleted (not saved yet)", timeout=4)

        self.app.push_screen(
            ChoiceDialog(
                f"Delete {NOUN[kind]} {name}?",
                f"[{'performance_profiles' if kind == 'profile' else 'model_presets'}.{name}] "
                f"and the comments above it leave {store.path.name} when you save.",
                [Choice("delete", "Delete", "error", "y"), Choice("cancel", "Cancel", key="n")],
            ),
            chosen,
        )

    @on(Button.Pressed, "#btn-default")
    def action_set_default(self) -> None:
        store = self._ready()
        if store is None or self._current is None:
            return
        kind, name = self._current
        try:
            store.set_default(kind, name)
        except ConfigError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        what = "default profile" if kind == "profile" else "default model"
        self.notify(f"{name} is the {what} (not saved yet)", timeout=4)
        self._refresh_all()

    # -- leaving --------------------------------------------------------------------------------

    def confirm_leave(self, proceed: Callable[[], object]) -> bool:
        """Called by the App before it switches screens or quits.

        Returns False when nothing is unsaved (the App proceeds at once); else asks Save /
        Discard / Cancel, calls ``proceed`` after a successful save or a discard, and returns
        True.
        """
        if not self.has_unsaved_changes:
            return False
        if self._leave_then is not None:  # the question is already on screen: answer it
            self._leave_then = proceed
            return True
        self._leave_then = proceed
        if self._mode is not None and self.app.current_mode != self._mode:
            self.app.switch_mode(self._mode)
        store = self.store
        path = store.path if store is not None else "the file"
        changes = self.unsaved_changes() or [f"invalid: {i}" for i in self._invalid_fields()]
        body = f"Unsaved changes to {path}:\n  " + "\n  ".join(changes[:12])

        def chosen(choice: str | None) -> None:
            then, self._leave_then = self._leave_then, None
            if then is None:
                return
            if choice == "save":
                self._save(then)
            elif choice == "discard":
                self._pending.clear()
                self._deferred.clear()
                self._revert()
                then()

        self.app.push_screen(
            ChoiceDialog(
                "Unsaved changes",
                body,
                [
                    Choice("save", "Save", "primary", "s"),
                    Choice("discard", "Discard", "error", "d"),
                    Choice("cancel", "Cancel", key="n"),
                ],
            ),
            chosen,
        )
        return True


__all__ = [
    "Choice",
    "ChoiceDialog",
    "FieldInput",
    "FieldSelect",
    "FieldSwitch",
    "ProfilesScreen",
    "TextDialog",
    "entry_label",
]
