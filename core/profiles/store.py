"""The TOML store of profiles and presets: read, validate, edit in place, save safely.

One file holds everything: the ``[telemetry]`` and ``[thresholds]`` tables that
:mod:`core.config` reads, a ``[defaults]`` table (``default_profile``, ``default_model``), one
``[performance_profiles.NAME]`` table per profile and one ``[model_presets.NAME]`` table per
preset. The store never touches the tables it does not own.

Reading uses tomllib; every edit goes through tomlkit on the parsed document (a value changed
in place keeps its line, spacing and trailing comment; a new key goes after the table's last
key), and whole tables are added or removed as line blocks (a table's block includes the
comments written directly above its header). Lines an edit does not touch stay byte for byte.

Saving compares the file on disk with what was read: if another program changed it, nothing
is written and :class:`ConflictError` says so (reload, or save as another file). The write
itself is atomic (:func:`core.profiles.atomic.atomic_write`).

A file that is not valid TOML, or has values that fail validation, never stops the app: the
problems are :class:`Problem` records naming the file, line and field; a broken value falls
back to its default (an invalid file to the shipped defaults, then read-only), and the file is
not written unless the user edits and saves.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import tomlkit
from pydantic import BaseModel, ValidationError
from tomlkit.items import AoT, InlineTable, Table

from core.config import user_config_file
from core.errors import ConfigError
from core.paths import default_config_path
from core.profiles.atomic import atomic_write, check_writable
from core.profiles.layout import Layout
from core.profiles.models import (
    MODELS,
    NAME_PATTERN,
    TABLES,
    Defaults,
    FieldError,
    Kind,
    ModelPreset,
    PerformanceProfile,
    check_value,
    coerce_for_toml,
    error_text,
    field_specs,
    format_value,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

M = TypeVar("M", PerformanceProfile, ModelPreset)

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """Something wrong in the file, located for the user.

    Attributes:
        file: The file.
        line: 1-based line, when it could be found.
        where: Dotted place (``"performance_profiles.fast.temperature"``), or ``""`` for the
            whole file.
        message: What is wrong and what happens instead.
        severity: ``"error"`` (a value is ignored) or ``"warning"`` (nothing is lost).
    """

    file: str
    line: int | None
    where: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        place = f"{self.file}:{self.line}" if self.line is not None else self.file
        return (
            f"{place}: {self.where}: {self.message}" if self.where else f"{place}: {self.message}"
        )


@dataclass(frozen=True)
class Entry(Generic[M]):
    """One profile or preset as the file has it.

    Attributes:
        kind: ``"profile"`` or ``"preset"``.
        name: The table name.
        model: The validated model, with defaults in place of broken values; None when the
            entry cannot be used at all (a preset with neither model_id nor weights).
        values: The table's values as read (broken and unknown keys included).
        problems: What is wrong with it (empty when nothing is).
        line: Line of its header.
    """

    kind: Kind
    name: str
    model: M | None
    values: Mapping[str, Any]
    problems: tuple[Problem, ...] = ()
    line: int | None = None

    @property
    def ok(self) -> bool:
        """True when no value was rejected (warnings allowed)."""
        return self.model is not None and not any(p.severity == "error" for p in self.problems)

    @property
    def explicit(self) -> frozenset[str]:
        """The valid fields the file sets (the rest are defaults)."""
        if self.model is None:
            return frozenset()
        return frozenset(self.model.model_fields_set - {"name"})


@dataclass(frozen=True)
class Conflict:
    """The file changed on disk since it was read.

    Attributes:
        path: The file.
        reason: ``"changed"`` or ``"deleted"``.
        base_text: What was read.
        disk_text: What is on disk now (``""`` when deleted).
        edited_text: What would have been written.
    """

    path: Path
    reason: Literal["changed", "deleted"]
    base_text: str
    disk_text: str
    edited_text: str

    def diff(self) -> str:
        """What the other program changed, as a unified diff (read → on disk now)."""
        return "".join(
            difflib.unified_diff(
                self.base_text.splitlines(keepends=True),
                self.disk_text.splitlines(keepends=True),
                f"{self.path} (as read)",
                f"{self.path} (on disk now)",
            )
        )


class ConflictError(ConfigError):
    """Saving was refused because the file changed on disk; :attr:`conflict` has the details."""

    def __init__(self, conflict: Conflict) -> None:
        self.conflict = conflict
        what = "was deleted" if conflict.reason == "deleted" else "changed on disk"
        super().__init__(
            f"{conflict.path}: {what} since it was read; not saved — reload it (your edits can "
            "be re-applied) or save as another file"
        )


@dataclass(frozen=True)
class SaveResult:
    """What a save did.

    Attributes:
        path: The file written (or that would have been).
        written: False when there was nothing to save.
        bytes_written: Size of the file written.
    """

    path: Path
    written: bool
    bytes_written: int = 0


@dataclass(frozen=True)
class _Edit:
    op: Literal["set", "create", "delete", "default"]
    kind: Kind
    name: str
    values: Mapping[str, Any] = field(default_factory=dict)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found; check the path") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, expected a TOML file") from None
    except PermissionError:
        raise ConfigError(f"{path}: permission denied reading the config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None


def _toml_line(exc: tomllib.TOMLDecodeError) -> int | None:
    lineno = getattr(exc, "lineno", None)
    if isinstance(lineno, int):
        return lineno
    found = re.search(r"line (\d+)", str(exc))
    return int(found.group(1)) if found else None


def _newline_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _shipped_text() -> str:
    return default_config_path().read_text(encoding="utf-8")


class ProfileStore:
    """Profiles and presets of one TOML file, editable, with conflict-checked atomic saves.

    Build one with :meth:`load` (or :func:`open_store`). Edits change the document in memory
    (:attr:`text`) and re-validate it; :meth:`save` writes it.

    Attributes:
        path: The file (changed by :meth:`save_as`).
        notices: One-line notes for the user (e.g. "created FILE from the shipped defaults").
        read_only_reason: Why :meth:`save` refuses (invalid file shown with the shipped
            defaults, or the shipped file itself); None when saving is allowed.
    """

    def __init__(
        self,
        path: Path,
        text: str,
        disk_bytes: bytes | None,
        *,
        read_only_reason: str | None = None,
        file_problems: Iterable[Problem] = (),
        notices: Iterable[str] = (),
    ) -> None:
        self.path = path
        self.notices: list[str] = list(notices)
        self.read_only_reason = read_only_reason
        self._disk_bytes = disk_bytes
        self._loaded_text = text
        self._file_problems = tuple(file_problems)
        self._edits: list[_Edit] = []
        self._apply(text)

    # ---------------------------------------------------------------------------- loading

    @classmethod
    def load(cls, path: Path) -> ProfileStore:
        """Read ``path``. An invalid file gives a store of the shipped defaults, read-only.

        Raises:
            ConfigError: The file is missing, a directory or unreadable.
        """
        path = Path(path).expanduser()
        raw = _read_bytes(path)
        source = str(path)
        read_only = None
        if path.resolve() == default_config_path().resolve():
            read_only = (
                f"{path} is the shipped default configuration, never edited in place; "
                "save as another file"
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return cls._fallback(
                path, raw, Problem(source, None, "", f"not UTF-8 text ({exc.reason})")
            )
        try:
            tomllib.loads(text)
            tomlkit.parse(text)
        except tomllib.TOMLDecodeError as exc:
            message = str(exc).split(" (at line")[0]
            return cls._fallback(
                path, raw, Problem(source, _toml_line(exc), "", f"not valid TOML: {message}")
            )
        except Exception as exc:  # tomlkit refusing what tomllib accepted
            return cls._fallback(path, raw, Problem(source, None, "", f"cannot edit: {exc}"))
        return cls(path, text, raw, read_only_reason=read_only)

    @classmethod
    def _fallback(cls, path: Path, raw: bytes, problem: Problem) -> ProfileStore:
        problem = Problem(
            problem.file,
            problem.line,
            problem.where,
            problem.message + "; using the shipped defaults until it is fixed",
        )
        reason = f"{path} is not a valid config file; fix it there, or save as another file"
        return cls(path, _shipped_text(), raw, read_only_reason=reason, file_problems=[problem])

    def _apply(self, text: str) -> None:
        """Make ``text`` the document: parse it and rebuild every entry."""
        data = tomllib.loads(text)
        self._doc = tomlkit.parse(text)
        self._text = text
        self._layout = Layout.of(text)
        source = str(self.path)
        problems: list[Problem] = []
        self._profiles: dict[str, Entry[PerformanceProfile]] = {}
        self._presets: dict[str, Entry[ModelPreset]] = {}
        kinds: tuple[tuple[Kind, dict[str, Any]], ...] = (
            ("profile", self._profiles),
            ("preset", self._presets),
        )
        for kind, target in kinds:
            table = data.get(TABLES[kind], {})
            if not isinstance(table, dict):
                problems.append(
                    Problem(
                        source,
                        self._layout.line_of((TABLES[kind],)),
                        TABLES[kind],
                        f"must be tables like [{TABLES[kind]}.NAME]; ignored",
                    )
                )
                continue
            for name, values in table.items():
                target[name] = self._entry(kind, name, values)
        self._defaults, self._defaults_problems = self._read_defaults(data.get("defaults"))
        self._table_problems = tuple(problems)

    def _entry(self, kind: Kind, name: str, values: Any) -> Entry[Any]:
        source = str(self.path)
        base = (TABLES[kind], name)
        where = ".".join(base)
        line = self._layout.line_of(base)
        if not isinstance(values, dict):
            problem = Problem(source, line, where, f"must be a table [{where}]; ignored")
            return Entry(kind, name, None, {}, (problem,), line)
        problems: list[Problem] = []
        if not re.match(NAME_PATTERN, name):
            problems.append(
                Problem(source, line, where, f"the name must be {field_specs(kind)['name'].rule}")
            )
        specs = field_specs(kind)
        known: dict[str, Any] = {}
        for key, value in values.items():
            if key in specs and key != "name":
                known[key] = value
                continue
            valid = ", ".join(k for k in specs if k != "name")
            problems.append(
                Problem(
                    source,
                    self._layout.line_of((*base, key)),
                    f"{where}.{key}",
                    f"unknown field, ignored (kept in the file); valid: {valid}",
                    "warning",
                )
            )
        model_cls: type[BaseModel] = MODELS[kind]
        model: Any = None
        try:
            model = model_cls.model_validate({**known, "name": name}, strict=True)
        except ValidationError as exc:
            bad: set[str] = set()
            for error in exc.errors():
                key = str(error["loc"][0]) if error["loc"] else ""
                if key in known:
                    bad.add(key)
                    default = specs[key].default
                    fallback = "unset" if default is None else f"using {format_value(default)}"
                    problems.append(
                        Problem(
                            source,
                            self._layout.line_of((*base, key)),
                            f"{where}.{key}",
                            f"{error_text(specs[key], error, known[key])}; {fallback}",
                        )
                    )
                elif key != "name":
                    message = str(error["msg"]).removeprefix("Value error, ")
                    problems.append(Problem(source, line, where, message))
            try:
                kept = {k: v for k, v in known.items() if k not in bad}
                model = model_cls.model_validate({**kept, "name": name}, strict=True)
            except ValidationError as again:
                for error in again.errors():
                    if not error["loc"]:
                        message = str(error["msg"]).removeprefix("Value error, ")
                        if not any(p.message == message for p in problems):
                            problems.append(Problem(source, line, where, message))
                model = None
        return Entry(kind, name, model, dict(values), tuple(problems), line)

    def _read_defaults(self, raw: Any) -> tuple[Defaults, tuple[Problem, ...]]:
        source = str(self.path)
        problems: list[Problem] = []
        if raw is None:
            return Defaults(), ()
        if not isinstance(raw, dict):
            line = self._layout.line_of(("defaults",))
            return Defaults(), (Problem(source, line, "defaults", "must be a table [defaults]"),)
        values: dict[str, Any] = {}
        specs = field_specs("defaults")
        for key, value in raw.items():
            line = self._layout.line_of(("defaults", key))
            if key not in specs:
                valid = ", ".join(specs)
                problems.append(
                    Problem(
                        source,
                        line,
                        f"defaults.{key}",
                        f"unknown field, ignored (kept in the file); valid: {valid}",
                        "warning",
                    )
                )
                continue
            try:
                Defaults.model_validate({key: value}, strict=True)
            except ValidationError as exc:
                text = error_text(specs[key], exc.errors()[0], value)
                problems.append(Problem(source, line, f"defaults.{key}", f"{text}; ignored"))
                continue
            values[key] = value
        for key, entries, noun in (
            ("default_profile", self._profiles, "profile"),
            ("default_model", self._presets, "model preset"),
        ):
            name = values.get(key)
            if name is not None and name not in entries:
                problems.append(
                    Problem(
                        source,
                        self._layout.line_of(("defaults", key)),
                        f"defaults.{key}",
                        f"no {noun} named {name!r}; ignored",
                        "warning",
                    )
                )
                values.pop(key)
        return Defaults.model_validate(values), tuple(problems)

    # ---------------------------------------------------------------------------- reading

    @property
    def text(self) -> str:
        """The document as it stands (with unsaved edits)."""
        return self._text

    @property
    def profiles(self) -> dict[str, Entry[PerformanceProfile]]:
        """Profiles by name, in file order (broken ones included, see :attr:`Entry.ok`)."""
        return dict(self._profiles)

    @property
    def presets(self) -> dict[str, Entry[ModelPreset]]:
        """Model presets by name, in file order."""
        return dict(self._presets)

    def entries(self, kind: Kind) -> dict[str, Entry[Any]]:
        """:attr:`profiles` or :attr:`presets`."""
        return dict(self._profiles) if kind == "profile" else dict(self._presets)

    @property
    def defaults(self) -> Defaults:
        """The valid values of ``[defaults]`` (a name that matches no entry is dropped)."""
        return self._defaults

    @property
    def default_profile(self) -> str | None:
        """The default profile: ``[defaults].default_profile``, else ``balanced``, else the
        first usable profile; None when there is none."""
        chosen = self._defaults.default_profile
        if chosen is not None and chosen in self._profiles:
            return chosen
        usable = [n for n, e in self._profiles.items() if e.model is not None]
        if "balanced" in usable:
            return "balanced"
        return usable[0] if usable else None

    @property
    def default_model(self) -> str | None:
        """The default model preset, or None."""
        return self._defaults.default_model

    @property
    def problems(self) -> tuple[Problem, ...]:
        """Every problem, file-level first, in file order."""
        found: list[Problem] = [*self._file_problems, *self._table_problems]
        found.extend(self._defaults_problems)
        for entries in (self._profiles, self._presets):
            for entry in entries.values():
                found.extend(entry.problems)
        for entry in self._presets.values():
            model = entry.model
            if (
                model is not None
                and model.default_profile is not None
                and model.default_profile not in self._profiles
            ):
                found.append(
                    Problem(
                        str(self.path),
                        self._layout.line_of((TABLES["preset"], entry.name, "default_profile")),
                        f"{TABLES['preset']}.{entry.name}.default_profile",
                        f"no profile named {model.default_profile!r}; the default profile is used",
                        "warning",
                    )
                )
        # file order (a problem without a line first), whatever the kind of problem
        return tuple(sorted(found, key=lambda p: -1 if p.line is None else p.line))

    @property
    def dirty(self) -> bool:
        """True when there are unsaved edits."""
        return self._text != self._loaded_text

    def entry(self, kind: Kind, name: str) -> Entry[Any]:
        """One entry by name.

        Raises:
            ConfigError: No such entry (the message lists the known ones).
        """
        return self._get(kind, name)

    def _get(self, kind: Kind, name: str) -> Entry[Any]:
        entries = self.entries(kind)
        if name not in entries:
            noun = "profile" if kind == "profile" else "model preset"
            known = ", ".join(entries) or "none"
            raise ConfigError(f"no {noun} named {name!r} in {self.path}; known: {known}")
        return entries[name]

    def profile(self, name: str | None = None) -> PerformanceProfile:
        """A usable profile (default: :attr:`default_profile`).

        Raises:
            ConfigError: No such profile, or it is unusable.
        """
        name = name or self.default_profile
        if name is None:
            raise ConfigError(f"no profiles in {self.path}; create one with `profile create`")
        entry = self._get("profile", name)
        if entry.model is None:
            raise ConfigError(f"profile {name!r}: {entry.problems[0]}")
        assert isinstance(entry.model, PerformanceProfile)
        return entry.model

    def preset(self, name: str | None = None) -> ModelPreset:
        """A usable preset (default: :attr:`default_model`).

        Raises:
            ConfigError: No such preset, or it is unusable.
        """
        name = name or self.default_model
        if name is None:
            raise ConfigError(f"no default model preset in {self.path}; name one")
        entry = self._get("preset", name)
        if entry.model is None:
            raise ConfigError(f"{entry.problems[0]}")
        assert isinstance(entry.model, ModelPreset)
        return entry.model

    def form_values(self, kind: Kind, name: str) -> dict[str, str]:
        """Every field of an entry as form text: the file's value, else the default."""
        entry = self._get(kind, name)
        result: dict[str, str] = {}
        for key, spec in field_specs(kind).items():
            if key == "name":
                result[key] = name
            elif key in entry.values:
                result[key] = format_value(entry.values[key])
            else:
                result[key] = format_value(spec.default)
        return result

    # ---------------------------------------------------------------------------- editing

    def _change(self, text: str, edit: _Edit) -> None:
        try:
            tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:  # pragma: no cover - a bug in the edit code
            raise ConfigError(
                f"{self.path}: edit refused, it would break the file ({exc})"
            ) from None
        self._apply(text)
        self._edits.append(edit)

    def _table(self, kind: Kind, name: str) -> Any:
        return self._doc[TABLES[kind]][name]

    def set_values(self, kind: Kind, name: str, values: Mapping[str, Any]) -> None:
        """Set (or with None, unset) fields of one entry; the whole entry is re-validated.

        Values are typed (use :func:`~core.profiles.models.parse_field` for text). Nothing
        changes when any value is rejected.

        Raises:
            FieldError: Unknown field or a value outside its rule.
            ConfigError: No such entry, or the entry would become unusable (a preset without
                model_id and weights).
        """
        entry = self._get(kind, name)
        if "name" in values:
            raise FieldError(
                f"{TABLES[kind]}.{name}.name",
                "name",
                "",
                "the name is the table's own name; use duplicate and delete to rename",
            )
        for key, value in values.items():
            check_value(kind, key, value, name=name)
        merged = {k: v for k, v in entry.values.items() if k in field_specs(kind)}
        for key, value in values.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = coerce_for_toml(kind, key, value)
        self._check_whole(kind, name, merged, touched=set(values))
        table = self._table(kind, name)
        newline = _newline_of(self._text)
        for key, value in values.items():
            if value is None:
                if key in table:
                    del table[key]
            elif key in table:
                table[key] = _toml_value(coerce_for_toml(kind, key, value))
            else:
                _add_key(table, key, _toml_value(coerce_for_toml(kind, key, value)), newline)
        self._change(self._doc.as_string(), _Edit("set", kind, name, dict(values)))

    def _check_whole(
        self, kind: Kind, name: str, values: Mapping[str, Any], *, touched: set[str]
    ) -> None:
        """Refuse values that break the entry (problems in untouched fields are left alone)."""
        try:
            MODELS[kind].model_validate({**values, "name": name}, strict=True)
        except ValidationError as exc:
            specs = field_specs(kind)
            for error in exc.errors():
                key = str(error["loc"][0]) if error["loc"] else ""
                if key in touched:
                    raise FieldError(
                        f"{TABLES[kind]}.{name}.{key}",
                        key,
                        specs[key].rule,
                        error_text(specs[key], error, values.get(key)),
                    ) from None
                if not error["loc"]:
                    message = str(error["msg"]).removeprefix("Value error, ")
                    raise ConfigError(f"{TABLES[kind]}.{name}: {message}") from None

    def create(self, kind: Kind, name: str, values: Mapping[str, Any] | None = None) -> None:
        """Add a new entry ``[performance_profiles.NAME]`` / ``[model_presets.NAME]``.

        Only the given values are written (a profile's other fields come from the layers).

        Raises:
            FieldError: Invalid name or value.
            ConfigError: The name is taken (case-insensitively), or the entry would be
                unusable.
        """
        values = dict(values or {})
        check_value(kind, "name", name)
        for existing in self.entries(kind):
            if existing.lower() == name.lower():
                noun = "profile" if kind == "profile" else "model preset"
                raise ConfigError(f"a {noun} named {existing!r} already exists in {self.path}")
        for key, value in values.items():
            if key == "name":
                raise FieldError(f"{TABLES[kind]}.{name}.name", "name", "", "give the name once")
            check_value(kind, key, value, name=name)
        clean = {k: coerce_for_toml(kind, k, v) for k, v in values.items() if v is not None}
        self._check_whole(kind, name, clean, touched=set(clean))
        table = tomlkit.table()
        for key, value in clean.items():
            table.add(key, _toml_value(value))
        root = TABLES[kind]
        newline = _newline_of(self._text)
        block = self._layout.last_block_of(root)
        if block is None and root in self._doc:
            # defined inline or with dotted keys: let tomlkit place it
            self._doc[root][name] = table
            text = self._doc.as_string()
        else:
            wrapper = tomlkit.document()
            super_table = tomlkit.table(is_super_table=True)
            super_table.add(name, table)
            wrapper.add(root, super_table)
            rendered = wrapper.as_string().replace("\n", newline)
            after = block[1] if block is not None else None
            text = _insert_lines(self._text, after, rendered, newline)
        self._change(text, _Edit("create", kind, name, clean))

    def duplicate(self, kind: Kind, source: str, name: str) -> None:
        """Create ``name`` with the values ``source`` sets in the file (known fields only).

        Raises:
            ConfigError: As :meth:`create`, or ``source`` does not exist.
        """
        entry = self._get(kind, source)
        specs = field_specs(kind)
        values = {k: v for k, v in entry.values.items() if k in specs and k != "name"}
        if entry.model is not None:
            # broken values are not copied: the copy gets the fallback the source shows
            values = {k: v for k, v in values.items() if k in entry.model.model_fields_set}
        self.create(kind, name, values)

    def delete(self, kind: Kind, name: str) -> None:
        """Remove an entry and the comments written directly above it.

        Raises:
            ConfigError: No such entry; it is the default profile or default model; or
                presets name this profile as theirs.
        """
        self._get(kind, name)
        if kind == "profile":
            if name == self.default_profile:
                raise ConfigError(
                    f"{name!r} is the default profile; make another the default first "
                    "(`thermal-scout profile default OTHER`)"
                )
            users = [
                n
                for n, e in self._presets.items()
                if e.model is not None and e.model.default_profile == name
            ]
            if users:
                raise ConfigError(
                    f"profile {name!r} is the default profile of preset(s) {', '.join(users)}; "
                    "change theirs first"
                )
        elif name == self.default_model:
            raise ConfigError(
                f"{name!r} is the default model; make another the default first "
                "(`thermal-scout preset default OTHER`)"
            )
        block = self._layout.block((TABLES[kind], name))
        if block is None:
            del self._doc[TABLES[kind]][name]
            text = self._doc.as_string()
        else:
            text = _remove_lines(self._text, *block)
        self._change(text, _Edit("delete", kind, name))

    def set_default(self, kind: Kind, name: str) -> None:
        """Make ``name`` the default profile (``kind="profile"``) or default model.

        Raises:
            ConfigError: No such entry, or it is unusable.
        """
        entry = self._get(kind, name)
        if entry.model is None:
            raise ConfigError(f"cannot make {name!r} the default: {entry.problems[0]}")
        key = "default_profile" if kind == "profile" else "default_model"
        newline = _newline_of(self._text)
        defaults = self._doc.get("defaults")
        if isinstance(defaults, (Table, InlineTable)):
            if key in defaults:
                defaults[key] = name
            else:
                _add_key(defaults, key, tomlkit.item(name), newline)
            text = self._doc.as_string()
        else:
            rendered = f"[defaults]{newline}{key} = {tomlkit.item(name).as_string()}{newline}"
            first = self._layout.first_header_of(tuple(TABLES.values()))
            if first is None:
                text = _insert_lines(self._text, None, rendered, newline)
            else:
                text = _insert_lines(self._text, first - 1, rendered, newline, blank_after=True)
        self._change(text, _Edit("default", kind, name))

    # ---------------------------------------------------------------------------- saving

    def check_conflict(self) -> Conflict | None:
        """Compare the file on disk with what was read; None when it is unchanged."""
        try:
            now: bytes | None = self.path.read_bytes()
        except FileNotFoundError:
            now = None
        except OSError as exc:
            raise ConfigError(
                f"{self.path}: cannot re-read before saving ({exc.strerror})"
            ) from None
        if now == self._disk_bytes:
            return None
        base = (self._disk_bytes or b"").decode("utf-8", "replace")
        return Conflict(
            self.path,
            "deleted" if now is None else "changed",
            base,
            (now or b"").decode("utf-8", "replace"),
            self._text,
        )

    def save(self) -> SaveResult:
        """Write the edits to :attr:`path`, atomically, unless it changed on disk.

        Raises:
            ConflictError: The file changed (or vanished) since it was read.
            ConfigError: Saving is not allowed here (:attr:`read_only_reason`), the file is
                read-only, or the write failed (full disk ...); the file is unchanged.
        """
        if not self.dirty:
            return SaveResult(self.path, False)
        if self.read_only_reason:
            raise ConfigError(f"not saved: {self.read_only_reason}")
        conflict = self.check_conflict()
        if conflict is not None:
            raise ConflictError(conflict)
        check_writable(self.path)
        data = self._text.encode("utf-8")
        atomic_write(self.path, data)
        self._saved(data)
        return SaveResult(self.path, True, len(data))

    def save_as(self, path: Path, *, overwrite: bool = False) -> SaveResult:
        """Write the document to another file, which becomes this store's file.

        Raises:
            ConfigError: ``path`` exists and ``overwrite`` is False, is the shipped default,
                is read-only, or the write failed.
        """
        path = Path(path).expanduser()
        if path.resolve() == default_config_path().resolve():
            raise ConfigError(f"{path} is the shipped default configuration; choose another file")
        if path.exists() and not overwrite:
            raise ConfigError(f"{path} already exists; choose another name or overwrite it")
        check_writable(path)
        data = self._text.encode("utf-8")
        atomic_write(path, data)
        self.path = path
        self.read_only_reason = None
        self._file_problems = ()
        self._saved(data)
        self._apply(self._text)
        return SaveResult(path, True, len(data))

    def _saved(self, data: bytes) -> None:
        self._disk_bytes = data
        self._loaded_text = self._text
        self._edits.clear()

    def reload(self, *, keep_edits: bool = False) -> list[str]:
        """Read the file again, dropping the edits, or re-applying them on top of it.

        Returns:
            The edits that no longer apply (each as one line), when ``keep_edits``.

        Raises:
            ConfigError: The file cannot be read.
        """
        edits = list(self._edits) if keep_edits else []
        fresh = ProfileStore.load(self.path)
        self.__dict__.update(fresh.__dict__)
        failed: list[str] = []
        for edit in edits:
            try:
                if edit.op == "set":
                    self.set_values(edit.kind, edit.name, edit.values)
                elif edit.op == "create":
                    self.create(edit.kind, edit.name, edit.values)
                elif edit.op == "delete":
                    self.delete(edit.kind, edit.name)
                else:
                    self.set_default(edit.kind, edit.name)
            except ConfigError as exc:
                failed.append(f"{edit.op} {edit.name}: {exc}")
        return failed


def _toml_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        inline = tomlkit.inline_table()
        inline.update(dict(value))
        return inline
    return tomlkit.item(value)


def _add_key(table: Any, key: str, item: Any, newline: str) -> None:
    """Add ``key`` after the table's last key (not after its trailing comments)."""
    if not isinstance(table, Table) or table.is_super_table():
        table[key] = item
        return
    body = table.value.body
    last = None
    for index, (name, value) in enumerate(body):
        if name is not None and not isinstance(value, (Table, AoT)):
            last = index
    if last is None:
        # after the comments that open the table, before its blank lines and sub-tables
        last = -1
        for index, (name, value) in enumerate(body):
            if name is not None or not isinstance(value, tomlkit.items.Comment):
                break
            last = index
    previous = body[last][1] if last >= 0 else None
    if isinstance(item, tomlkit.items.Item):
        item.trivia.trail = newline
    if previous is not None and body[last][0] is not None:
        if isinstance(item, tomlkit.items.Item):
            item.trivia.indent = previous.trivia.indent
        if "\n" not in previous.trivia.trail:
            previous.trivia.trail += newline
    if last + 1 >= len(body):
        table.value.append(key, item)
    else:
        table.value._insert_at(last + 1, key, item)


def _insert_lines(
    text: str, after: int | None, rendered: str, newline: str, *, blank_after: bool = False
) -> str:
    """Insert ``rendered`` (ending in a newline) after line ``after`` (None: at the end),
    separated from what precedes by one blank line."""
    lines = text.splitlines(keepends=True)
    if after is None:
        after = len(lines)
    if after > 0 and not lines[after - 1].endswith("\n"):
        lines[after - 1] += newline
    chunk = rendered if after == 0 or not lines[after - 1].strip() else newline + rendered
    if blank_after and after < len(lines) and lines[after].strip():
        chunk += newline
    lines.insert(after, chunk)
    return "".join(lines)


def _remove_lines(text: str, first: int, last: int) -> str:
    """Remove lines ``first``..``last`` (1-based) and the blank lines after them."""
    lines = text.splitlines(keepends=True)
    end = last
    while end < len(lines) and not lines[end].strip():
        end += 1
    if end >= len(lines):
        # nothing follows: drop the blank lines that separated the block instead
        while first > 1 and not lines[first - 2].strip():
            first -= 1
    del lines[first - 1 : end]
    return "".join(lines)


# -------------------------------------------------------------------------------- the user file


def ensure_user_config() -> tuple[Path, str | None]:
    """The user's config file, copied from the shipped defaults on first run.

    Returns:
        The file to use and a notice for the user: the copy was made, or could not be (then
        the shipped file is returned, read-only).
    """
    target = user_config_file()
    if target.exists():
        return target, None
    shipped = default_config_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, shipped.read_bytes())
    except (OSError, ConfigError) as exc:
        return shipped, f"cannot create {target} ({exc}); using the shipped defaults read-only"
    return target, f"created {target} from the shipped defaults"


def open_store(config: Path | None = None) -> ProfileStore:
    """The store of ``config``, else of the user's file (created on first run).

    Raises:
        ConfigError: ``config`` is missing or unreadable.
    """
    if config is not None:
        return ProfileStore.load(config)
    path, notice = ensure_user_config()
    store = ProfileStore.load(path)
    if notice:
        store.notices.append(notice)
    return store
