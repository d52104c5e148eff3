"""The ``profile`` and ``preset`` commands: list, show, edit and validate the TOML file's entries.

``thermal-scout profile list|show|set|create|delete|default`` and ``thermal-scout preset
list|show|set|create|delete|default|validate|detect``, each with ``--config FILE`` (default: the
user's ``config.toml``, created from the shipped defaults on first run) and ``--json``.

A rejected value exits 1 with one ``error:`` line naming the field and its rule, and the file is
not written. Problems found in the file (a broken value, an unknown key) are ``warning:`` lines
on stderr; the command still works with defaults in their place. pydantic and tomlkit load only
when one of these commands runs (:mod:`core.profiles`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from core.errors import ThermalScoutError

if TYPE_CHECKING:
    from core.profiles import Entry, ProfileStore


def _common(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: without the option here, the top-level `thermal-scout --config FILE` stays.
    parser.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        default=argparse.SUPPRESS,
        help="configuration TOML file (default: your config.toml)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


def _pairs(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument(
        "pairs",
        metavar="KEY=VALUE",
        nargs="+" if required else "*",
        help="fields to set (an empty VALUE unsets the field)",
    )


def add_parsers(commands: Any) -> None:
    """Add the ``profile`` and ``preset`` sub-parsers to ``commands`` (``add_subparsers()``)."""
    for kind, noun in (("profile", "performance profile"), ("preset", "model preset")):
        parser = commands.add_parser(
            kind,
            help=f"list, show and edit {noun}s"
            + (" (and validate or detect models)" if kind == "preset" else ""),
        )
        sub = parser.add_subparsers(dest=f"{kind}_command", metavar="COMMAND")
        sub.required = True
        _common(sub.add_parser("list", help=f"list the {noun}s"))
        show = sub.add_parser("show", help=f"one {noun}'s fields")
        show.add_argument("name", metavar="NAME", nargs="?", help="default: the default one")
        if kind == "profile":
            show.add_argument(
                "--model", metavar="PRESET", help="effective settings with this model preset"
            )
        _common(show)
        set_ = sub.add_parser("set", help=f"set fields of a {noun}")
        set_.add_argument("name", metavar="NAME")
        _pairs(set_, required=True)
        _common(set_)
        create = sub.add_parser("create", help=f"create a {noun}")
        create.add_argument("name", metavar="NAME")
        _pairs(create, required=False)
        create.add_argument("--from", dest="source", metavar="NAME", help="copy this one")
        _common(create)
        delete = sub.add_parser("delete", help=f"delete a {noun}")
        delete.add_argument("name", metavar="NAME")
        _common(delete)
        default = sub.add_parser("default", help=f"make a {noun} the default")
        default.add_argument("name", metavar="NAME")
        _common(default)
        if kind == "preset":
            validate = sub.add_parser(
                "validate", help="check a preset's files exist, their format and size"
            )
            validate.add_argument("name", metavar="NAME", nargs="?", help="default: every one")
            _common(validate)
            detect = sub.add_parser(
                "detect",
                help="find models (Hugging Face cache, LM Studio, Ollama, llama.cpp) and "
                "offer presets",
            )
            detect.add_argument("--add", action="store_true", help="add presets for new ones")
            _common(detect)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run a ``profile`` or ``preset`` command. Returns the exit status.

    Raises:
        ThermalScoutError: Any failure, as one line (the caller prints ``error: …``).
    """
    from core.profiles import open_store

    kind = args.command
    action = getattr(args, f"{kind}_command")
    store = open_store(getattr(args, "config", None))
    for notice in store.notices:
        err.write(f"note: {notice}\n")
    for problem in store.problems:
        err.write(f"warning: {problem}\n")
    handler = {
        "list": _list,
        "show": _show,
        "set": _set,
        "create": _create,
        "delete": _delete,
        "default": _default,
        "validate": _validate,
        "detect": _detect,
    }[action]
    return handler(store, kind, args, out)


def _print_json(data: Any, out: TextIO) -> None:
    json.dump(data, out, indent=2)
    out.write("\n")


def _parse_pairs(kind: str, name: str, pairs: list[str]) -> dict[str, Any]:
    from core.profiles import parse_field

    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ThermalScoutError(f"expected KEY=VALUE, got {pair!r}")
        if key in values:
            raise ThermalScoutError(f"{key} is given twice")
        values[key] = parse_field(kind, key, text, name=name)  # type: ignore[arg-type]
    return values


def _writable(store: ProfileStore) -> None:
    """Refuse edits up front when the file cannot be saved (invalid file, shipped default)."""
    if store.read_only_reason:
        first = next((p for p in store.problems if not p.where), None)
        reason = f"{first}" if first else store.read_only_reason
        raise ThermalScoutError(f"{reason}; nothing was changed")


def _saved(store: ProfileStore, what: str, args: argparse.Namespace, out: TextIO) -> int:
    result = store.save()
    if args.json:
        _print_json({"file": str(result.path), "written": result.written, "change": what}, out)
    else:
        out.write(f"{what} (saved {result.path})\n")
    return 0


def _entry_json(store: ProfileStore, entry: Entry[Any]) -> dict[str, Any]:
    from core.profiles import field_specs

    model = entry.model
    values = {k: getattr(model, k) for k in field_specs(entry.kind) if k != "name"} if model else {}
    return {
        "name": entry.name,
        "ok": entry.ok,
        "line": entry.line,
        "values": values,
        "explicit": sorted(entry.explicit),
        "problems": [str(p) for p in entry.problems],
    }


def _cell(entry: Entry[Any], key: str) -> str:
    from core.profiles import format_value

    if key not in entry.explicit or entry.model is None:
        return "—"
    return format_value(getattr(entry.model, key))


def _list(store: ProfileStore, kind: str, args: argparse.Namespace, out: TextIO) -> int:
    from core.profiles import recommended_profile

    entries = store.entries(kind)  # type: ignore[arg-type]
    default = store.default_profile if kind == "profile" else store.default_model
    recommended = recommended_profile() if kind == "profile" else None
    if args.json:
        rows = []
        for entry in entries.values():
            row = _entry_json(store, entry)
            row["default"] = entry.name == default
            if kind == "profile":
                row["recommended"] = entry.name == recommended
            rows.append(row)
        data: dict[str, Any] = {"file": str(store.path), "default": default}
        if kind == "profile":
            data["recommended"] = recommended
        data["profiles" if kind == "profile" else "presets"] = rows
        data["problems"] = [str(p) for p in store.problems]
        _print_json(data, out)
        return 0
    if not entries:
        out.write(f"no {kind}s in {store.path}; add one with `thermal-scout {kind} create NAME`\n")
        return 0
    width = max(len(n) for n in [*entries, "NAME"]) + 2
    if kind == "profile":
        out.write(
            f"  {'NAME':<{width}}{'TOKENS':>7} {'CONTEXT':>8} {'BATCH':>6} {'TEMP':>5}  "
            "DESCRIPTION\n"
        )
    else:
        out.write(
            f"  {'NAME':<{width}}{'FORMAT':<12}{'SIZE GB':>8} {'CONTEXT':>8}  {'QUALITY':<8}"
            f"{'TOK/S':>16}  MODEL\n"
        )
    for entry in entries.values():
        mark = ("*" if entry.name == default else " ") + (" " if entry.ok else "!")
        line = f"{mark}{entry.name:<{width}}"
        if entry.model is None:
            out.write(f"{line}unusable: {entry.problems[0].message}\n")
            continue
        model: Any = entry.model
        if kind == "profile":
            line += (
                f"{_cell(entry, 'max_tokens'):>7} {_cell(entry, 'context_length'):>8} "
                f"{_cell(entry, 'batch_size'):>6} {_cell(entry, 'temperature'):>5}  "
                f"{model.description}"
            )
            if entry.name == recommended:
                line += "  (recommended here)"
        else:
            speed = "—"
            if model.avg_tokens_per_sec is not None:
                speed = f"{model.avg_tokens_per_sec:.1f}"
                speed += " measured" if model.avg_tokens_per_sec_measured else " est."
            size = "—" if model.size_gb is None else f"{model.size_gb:g}"
            context = "—" if model.context_length is None else str(model.context_length)
            line += (
                f"{model.format:<12}{size:>8} {context:>8}  {model.quality:<8}{speed:>16}  "
                f"{model.model_id or model.weights}"
            )
        out.write(line.rstrip() + "\n")
    legend = "* default" + ("   ! has problems (see warnings)" if store.problems else "")
    out.write(f"\n{legend}   file: {store.path}\n")
    return 0


def _show(store: ProfileStore, kind: str, args: argparse.Namespace, out: TextIO) -> int:
    from core.profiles import field_specs, format_value

    name = args.name or (store.default_profile if kind == "profile" else store.default_model)
    if name is None:
        raise ThermalScoutError(f"no default {kind} in {store.path}; name one")
    entry = store.entry(kind, name)  # type: ignore[arg-type]
    effective = _effective(store, entry, args) if kind == "profile" else None
    if args.json:
        data = _entry_json(store, entry)
        data["help"] = {k: s.help for k, s in field_specs(entry.kind).items()}
        if effective is not None:
            data["effective"] = effective
        _print_json(data, out)
        return 0
    where = f"{store.path}:{entry.line}" if entry.line else str(store.path)
    out.write(f"{kind} {name}  ({where})\n")
    specs = field_specs(entry.kind)
    for key, spec in specs.items():
        if key == "name":
            continue
        if entry.model is not None and key in entry.explicit:
            value, origin = format_value(getattr(entry.model, key)), ""
        elif key in entry.values:
            value, origin = format_value(entry.values[key]), "  (invalid, ignored)"
        else:
            value, origin = format_value(spec.default), "  (default)"
        out.write(f"  {key:<28}{value or '—'}{origin}\n")
    if effective is not None:
        model = effective["model"] or "no model"
        out.write(f"\neffective settings ({model}; architecture {effective['architecture']}):\n")
        for row in effective["settings"]:
            out.write(f"  {row['key']:<28}{format_value(row['value']):<12}{row['layer']}\n")
    return 0


def _effective(store: ProfileStore, entry: Entry[Any], args: argparse.Namespace) -> dict[str, Any]:
    from core.hardware import detect
    from core.profiles import architecture_of, effective_settings

    preset_name = args.model or store.default_model
    preset = store.preset(preset_name) if preset_name else None
    architecture = architecture_of(preset) if preset is not None else None
    rows = effective_settings(
        entry.model, preset=preset, architecture=architecture, hardware=detect()
    )
    return {
        "model": preset_name,
        "architecture": architecture or "unknown",
        "settings": [
            {
                "key": row.key,
                "value": row.value,
                "layer": row.layer,
                "overridden": [list(o) for o in row.overridden],
            }
            for row in rows
        ],
    }


def _set(store: ProfileStore, kind: str, args: argparse.Namespace, out: TextIO) -> int:
    from core.profiles import format_value

    _writable(store)
    values = _parse_pairs(kind, args.name, args.pairs)
    store.set_values(kind, args.name, values)  # type: ignore[arg-type]
    shown = ", ".join(
        f"{k} = {format_value(v)}" if v is not None else f"{k} unset" for k, v in values.items()
    )
    return _saved(store, f"{kind} {args.name}: {shown}", args, out)


def _create(store: ProfileStore, kind: str, args: argparse.Namespace, out: TextIO) -> int:
    _writable(store)
    values = _parse_pairs(kind, args.name, args.pairs)
    if args.source:
        store.duplicate(kind, args.source, args.name)  # type: ignore[arg-type]
        if values:
            store.set_values(kind, args.name, values)  # type: ignore[arg-type]
    else:
        store.create(kind, args.name, values)  # type: ignore[arg-type]
    return _saved(store, f"created {kind} {args.name}", args, out)


def _delete(store: ProfileStore, kind: str, args: argparse.Namespace, out: TextIO) -> int:
    _writable(store)
    store.delete(kind, args.name)  # type: ignore[arg-type]
    return _saved(store, f"deleted {kind} {args.name}", args, out)


def _default(store: ProfileStore, kind: str, args: argparse.Namespace, out: TextIO) -> int:
    _writable(store)
    store.set_default(kind, args.name)  # type: ignore[arg-type]
    return _saved(store, f"default {kind} is now {args.name}", args, out)


def _validate(store: ProfileStore, kind: str, args: argparse.Namespace, out: TextIO) -> int:
    from core.profiles import validate_preset

    names = [args.name] if args.name else list(store.presets)
    reports = []
    for name in names:
        reports.append(validate_preset(store.preset(name)))
    if args.json:
        _print_json([r.to_json() for r in reports], out)
    else:
        for report in reports:
            out.write(f"{report.preset}: {'ok' if report.ok else 'FAILED'}\n")
            for check in report.checks:
                out.write(f"  {'ok  ' if check.ok else 'FAIL'}  {check.name:<10}{check.message}\n")
    failed = [r for r in reports if not r.ok]
    if failed:
        first = next(c for c in failed[0].checks if not c.ok)
        raise ThermalScoutError(f"preset {failed[0].preset}: {first.name}: {first.message}")
    return 0


def _detect(store: ProfileStore, kind: str, args: argparse.Namespace, out: TextIO) -> int:
    from core.profiles import detect_models

    detection = detect_models()
    known = {(e.model.model_id, e.model.weights): n for n, e in store.presets.items() if e.model}
    taken = {n.lower() for n in store.presets}
    rows: list[dict[str, Any]] = []
    added: list[str] = []
    for model in detection.models:
        preset = model.preset
        existing = known.get((preset.model_id, preset.weights))
        name = preset.name
        if existing is None:
            suffix = 2
            while name.lower() in taken:
                name = f"{preset.name[:60]}-{suffix}"
                suffix += 1
            taken.add(name.lower())
        values = preset.model_dump(exclude={"name"}, exclude_defaults=True)
        rows.append(
            {
                "source": model.source,
                "location": str(model.location),
                "name": existing or name,
                "existing": existing is not None,
                "preset": values,
            }
        )
        if args.add and existing is None:
            if not added:
                _writable(store)
            store.create("preset", name, values)
            added.append(name)
    if added:
        store.save()
    if args.json:
        _print_json(
            {
                "file": str(store.path),
                "models": rows,
                "added": added,
                "searched": [
                    {"source": s, "path": str(p), "exists": e} for s, p, e in detection.searched
                ],
                "notices": list(detection.notices),
            },
            out,
        )
        return 0
    for notice in detection.notices:
        out.write(f"note: {notice}\n")
    if not rows:
        places = ", ".join(str(p) for _, p, _ in detection.searched)
        out.write(f"no models found; looked in {places}\n")
        return 0
    for row in rows:
        size = row["preset"].get("size_gb")
        state = (
            "already a preset" if row["existing"] else ("added" if row["name"] in added else "new")
        )
        out.write(
            f"{row['source']:<12} {row['name']:<32} {row['preset'].get('format', ''):<12} "
            f"{'' if size is None else f'{size:g} GB':>10}  {state}  {row['location']}\n"
        )
    if added:
        out.write(f"added {len(added)} preset(s) to {store.path}\n")
    elif any(not r["existing"] for r in rows):
        out.write("add them with: thermal-scout preset detect --add\n")
    return 0
