"""``thermal-scout registry``: register local model files and list, show or remove them.

A thin command line over :mod:`core.registry`::

    thermal-scout registry add ~/models/foo.gguf [--name N] [--json]
    thermal-scout registry list [--json]
    thermal-scout registry show NAME [--json]
    thermal-scout registry rm NAME

``add`` reads only the file's header (milliseconds, whatever the file's size). A file that is
not a model, is truncated or of an unknown format is one ``error: PATH: …`` line and exit 1.
``list`` and ``show`` mark entries whose file vanished (``stale``) or changed since
registration (``changed``); nothing is dropped unless ``rm`` says so.

Nothing heavy is imported until a command runs.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

COMMANDS = ("add", "list", "show", "rm")


def add_registry_parser(commands: Any) -> None:
    """Add ``registry add|list|show|rm`` to the top-level sub-parsers."""
    registry = commands.add_parser(
        "registry",
        help="register local model files (header only) and list, show or remove them",
        description="The model registry: local safetensors, GGUF, ONNX and PyTorch zip files, "
        "read header-only, stored in the user's data directory.",
    )
    sub = registry.add_subparsers(dest="registry_command", metavar="COMMAND")
    sub.required = True
    add = sub.add_parser("add", help="register a model file (the same path again: update it)")
    add.add_argument("path", metavar="PATH", help="a .safetensors, .gguf, .onnx, .bin/.pt/.pth")
    add.add_argument("--name", metavar="N", help="the entry's name (default: the file's stem)")
    add.add_argument("--json", action="store_true", help="print JSON")
    listing = sub.add_parser("list", help="every registered file, with its status")
    listing.add_argument("--json", action="store_true", help="print JSON")
    show = sub.add_parser("show", help="one entry in full")
    show.add_argument("name", metavar="NAME", help="its name (or its path)")
    show.add_argument("--json", action="store_true", help="print JSON")
    rm = sub.add_parser("rm", help="remove an entry (the file itself is not touched)")
    rm.add_argument("name", metavar="NAME", help="its name (or its path)")


def cmd_registry(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run ``thermal-scout registry COMMAND``."""
    from core.registry import Registry

    registry = Registry()
    command = args.registry_command
    if command == "add":
        entry = registry.register(args.path, name=args.name)
        if args.json:
            _print_json(entry.to_json(), out)
            return 0
        if entry.revision > 1:
            out.write(f"updated {entry.name} (registered again: revision {entry.revision})\n")
        else:
            out.write(f"registered {entry.name}\n")
        _details(entry, out)
        return 0
    if command == "list":
        entries = registry.entries()
        if args.json:
            _print_json([e.to_json() for e in entries], out)
            return 0
        _table(entries, out)
        return 0
    if command == "show":
        entry = registry.get(args.name)
        if args.json:
            _print_json(entry.to_json(), out)
            return 0
        out.write(f"{entry.name}\n")
        _details(entry, out, full=True)
        return 0
    if command == "rm":
        entry = registry.remove(args.name)
        out.write(f"removed {entry.name} ({entry.path}); the file itself was not touched\n")
        return 0
    raise AssertionError(command)  # pragma: no cover - argparse requires a command


# -- formatting -------------------------------------------------------------------------------


def _count(n: int | None) -> str:
    if n is None:
        return "?"
    for size, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= size:
            return f"{n / size:.2f}".rstrip("0").rstrip(".") + unit
    return str(n)


def _bytes(n: int | None) -> str:
    if n is None:
        return "?"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def _dtype(entry: Any) -> str:
    file_type = entry.summary.get("file_type") if entry.format == "gguf" else None
    mix = entry.dtype_mix
    return f"{file_type} ({mix})" if file_type and file_type != mix else mix


def _architecture(entry: Any) -> str:
    parts = [entry.architecture]
    if entry.family:
        parts[0] += f" ({entry.family})"
    if entry.layers:
        parts.append(f"{entry.layers} layers")
    if entry.context_length:
        parts.append(f"context {entry.context_length:,}")
    return ", ".join(parts)


def _details(entry: Any, out: TextIO, *, full: bool = False) -> None:
    lines = [
        ("path", str(entry.path)),
        ("format", f"{entry.format}, {_bytes(entry.size_bytes)}"),
        (
            "params",
            f"{entry.params:,} ({_count(entry.params)})" if entry.params is not None else "unknown",
        ),
        ("dtypes", _dtype(entry)),
        ("arch", _architecture(entry)),
        (
            "census",
            ", ".join(f"{k} {v}" for k, v in entry.census.get("counts", {}).items())
            + f"  ({entry.census.get('evidence', '')})",
        ),
    ]
    if entry.status != "ok" or full:
        status = entry.status + (f": {entry.status_detail}" if entry.status_detail else "")
        lines.append(("status", status))
    if full:
        lines.append(("header", f"sha256 {entry.fingerprint}"))
        if entry.format == "onnx":
            ops = ", ".join(f"{k} {v}" for k, v in list(entry.summary.get("ops", {}).items())[:8])
            opsets = ", ".join(f"{k} {v}" for k, v in entry.summary.get("opsets", {}).items())
            lines.append(
                ("onnx", f"opsets {opsets or '?'}; producer {entry.summary.get('producer')}")
            )
            lines.append(("ops", f"{entry.summary.get('nodes', 0)} nodes: {ops}"))
        registered, updated = _time(entry.registered_at), _time(entry.updated_at)
        lines.append(("revision", f"{entry.revision} (registered {registered}, updated {updated})"))
    for note in entry.notes:
        lines.append(("note", note))
    for key, value in lines:
        out.write(f"  {key:<9}{value}\n")


def _time(stamp: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(stamp).isoformat(timespec="seconds")


def _table(entries: list[Any], out: TextIO) -> None:
    if not entries:
        out.write("no registered models; add one with: thermal-scout registry add PATH\n")
        return
    width = max(12, min(40, max(len(e.name) for e in entries)))
    out.write(
        f"{'name':<{width}}  {'format':<11} {'params':>7}  {'size':>10}  {'dtypes':<24} "
        f"{'layers':>6}  {'architecture':<28} status\n"
    )
    for e in entries:
        dtype = _dtype(e)
        dtype = dtype if len(dtype) <= 24 else dtype[:23] + "…"
        arch = e.architecture + (f" ({e.family})" if e.family else "")
        out.write(
            f"{e.name:<{width}}  {e.format:<11} {_count(e.params):>7}  {_bytes(e.size_bytes):>10}  "
            f"{dtype:<24} {e.layers or '?':>6}  {arch:<28} {e.status}\n"
        )
    problems = [e for e in entries if e.status != "ok"]
    for e in problems:
        out.write(f"  {e.status}: {e.name}: {e.status_detail}\n")
    stale = sum(e.status == "stale" for e in entries)
    changed = sum(e.status == "changed" for e in entries)
    out.write(f"{len(entries)} registered; {stale} stale, {changed} changed\n")


def _print_json(data: Any, out: TextIO) -> None:
    json.dump(data, out, indent=2)
    out.write("\n")
