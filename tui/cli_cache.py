"""``thermal-scout cache``: list, delete from and prune the Hugging Face cache.

A thin command line over :mod:`core.cache_manager`: ``ls`` lists repositories (and with
``--revisions`` their revisions and partial downloads), ``rm`` deletes what a selection names,
``prune`` removes detached revisions and partial downloads. ``rm`` and ``prune`` always show the
plan first (what goes, the exact bytes freed); they delete only with ``--yes`` or after a ``y``
typed at a terminal. Sizes are human-readable in text and bytes in JSON.

Nothing heavy is imported until a command runs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, TextIO

from core.errors import ThermalScoutError

SELECTION_HELP = (
    "what to delete: ORG/NAME (a repository), ORG/NAME@REV (a revision: commit, 7+ leading "
    "characters, or a ref such as main), ORG/NAME@REV:PATH (one file of that revision), "
    "ORG/NAME:PATH (that file in every revision); prefix TYPE/ (model/, dataset/, space/) "
    "when an id is cached as two types"
)


def add_cache_parser(commands: Any) -> None:
    """Add ``cache ls|rm|prune`` to the top-level sub-parsers."""
    cache = commands.add_parser(
        "cache",
        help="list, delete from and prune the Hugging Face cache",
        description="Manage the Hugging Face hub cache (HF_HUB_CACHE, else HF_HOME/hub).",
    )
    sub = cache.add_subparsers(dest="cache_command", metavar="COMMAND")
    sub.required = True

    def cache_dir(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--cache-dir", metavar="DIR", type=Path, help="the hub cache (default: from the env)"
        )
        command.add_argument("--json", action="store_true", help="print JSON")

    ls = sub.add_parser("ls", help="list cached repositories, sizes and last access")
    ls.add_argument(
        "--revisions", action="store_true", help="also list revisions and partial downloads"
    )
    cache_dir(ls)

    def deletion(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--dry-run", action="store_true", help="show what would be deleted, delete nothing"
        )
        command.add_argument("--yes", "-y", action="store_true", help="delete without asking")
        cache_dir(command)

    rm = sub.add_parser(
        "rm",
        help="delete repositories, revisions or files (shows the plan first)",
        description="Delete what SELECTION names. A blob goes only when nothing else links to "
        "it; files a running process holds are refused.",
    )
    rm.add_argument("selection", nargs="+", metavar="SELECTION", help=SELECTION_HELP)
    deletion(rm)

    prune = sub.add_parser(
        "prune", help="delete detached revisions and partial downloads (shows the plan first)"
    )
    deletion(prune)


def cmd_cache(args: argparse.Namespace, out: TextIO, err: TextIO, inp: TextIO) -> int:
    """``thermal-scout cache …``."""
    from core import cache_manager as cm

    view = cm.scan(args.cache_dir)
    if args.cache_command == "ls":
        return _ls(view, args, out, err)
    for notice in view.notices:
        err.write(f"warning: {notice}\n")
    rm = args.cache_command == "rm"
    deletion = cm.plan(view, args.selection) if rm else cm.prune_plan(view)
    return _delete(deletion, args, out, err, inp)


# --------------------------------------------------------------------------------------------
# ls
# --------------------------------------------------------------------------------------------


def _ls(view: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from core.cache_manager import format_age, format_bytes

    for notice in view.notices:
        err.write(f"warning: {notice}\n")
    if args.json:
        _print_json(_view_json(view), out)
        return 0
    now = view.scanned_at or None
    if view.repos:
        out.write(
            f"{'TYPE':<8} {'REPOSITORY':<44} {'SIZE':>9} {'REVS':>4}  "
            f"{'ACCESSED':<15} {'MODIFIED':<15} REFS\n"
        )
    for repo in view.repos:
        refs = ", ".join(repo.refs) or "(detached)"
        out.write(
            f"{repo.repo_type:<8} {repo.repo_id:<44} {format_bytes(repo.size_bytes):>9} "
            f"{len(repo.revisions):>4}  {format_age(repo.last_accessed, now):<15} "
            f"{format_age(repo.last_modified, now):<15} {refs}\n"
        )
        if not args.revisions:
            continue
        for rev in repo.revisions:
            refs = ", ".join(rev.refs) or "(detached)"
            count = f"{len(rev.files)} file{'s' if len(rev.files) != 1 else ''}"
            out.write(
                f"{'':<8}   @{rev.short:<41} {format_bytes(rev.size_bytes):>9} {'':>4}  "
                f"{'':<15} {format_age(rev.last_modified, now):<15} {refs}; {count}\n"
            )
        for partial in repo.partials:
            out.write(
                f"{'':<8}   partial {partial.path.name:<34} {format_bytes(partial.size_bytes):>9}"
                f"  modified {format_age(partial.last_modified, now)}\n"
            )
    for broken in view.broken:
        out.write(f"{'broken':<8} {broken.name:<44} {broken.reason}\n")
    detached = sum(1 for r in view.repos for rev in r.revisions if rev.detached)
    partials = sum(len(r.partials) for r in view.repos)
    noun = "repository" if len(view.repos) == 1 else "repositories"
    out.write(f"{len(view.repos)} {noun}, {format_bytes(view.size_bytes)} in {view.root}\n")
    if detached or partials:
        out.write(
            f"{detached} detached revision(s) and {partials} partial download(s) "
            f"({format_bytes(view.partial_bytes)}): `thermal-scout cache prune` removes them\n"
        )
    return 0


def _view_json(view: Any) -> dict[str, Any]:
    return {
        "cache_dir": str(view.root),
        "exists": view.exists,
        "size_bytes": view.size_bytes,
        "partial_bytes": view.partial_bytes,
        "repos": [
            {
                "id": repo.repo_id,
                "type": repo.repo_type,
                "key": repo.key,
                "path": str(repo.repo_path),
                "size_bytes": repo.size_bytes,
                "blobs": repo.blob_count,
                "last_accessed": repo.last_accessed,
                "last_modified": repo.last_modified,
                "refs": list(repo.refs),
                "revisions": [
                    {
                        "commit": rev.commit,
                        "refs": list(rev.refs),
                        "detached": rev.detached,
                        "size_bytes": rev.size_bytes,
                        "last_modified": rev.last_modified,
                        "snapshot_path": str(rev.snapshot_path),
                        "files": [
                            {
                                "path": f.path,
                                "size_bytes": f.size_bytes,
                                "blob": None if f.blob_path is None else str(f.blob_path),
                                "last_accessed": f.last_accessed,
                                "last_modified": f.last_modified,
                                "problem": f.problem,
                            }
                            for f in rev.files
                        ],
                    }
                    for rev in repo.revisions
                ],
                "partial_downloads": [
                    {
                        "path": str(p.path),
                        "size_bytes": p.size_bytes,
                        "last_modified": p.last_modified,
                    }
                    for p in repo.partials
                ],
            }
            for repo in view.repos
        ],
        "broken": [{"name": b.name, "path": str(b.path), "reason": b.reason} for b in view.broken],
        "notices": list(view.notices),
    }


# --------------------------------------------------------------------------------------------
# rm / prune
# --------------------------------------------------------------------------------------------


def _delete(deletion: Any, args: argparse.Namespace, out: TextIO, err: TextIO, inp: TextIO) -> int:
    """Show the plan; refuse, stop (dry run), ask, or delete."""
    from core.cache_manager import CacheError, CacheInUse, CacheRefused, execute, format_bytes

    report: dict[str, Any] = {
        "dry_run": bool(args.dry_run),
        "deleted": False,
        "plan": deletion.to_json(),
        "result": None,
    }

    def finish(code: int, problem: str | None = None) -> int:
        if args.json:
            _print_json(report, out)
        if problem is not None:
            raise ThermalScoutError(problem)
        return code

    if deletion.empty:
        if not args.json:
            out.write(
                "nothing to prune\n" if args.cache_command == "prune" else "nothing to delete\n"
            )
        return finish(0)
    if not args.json:
        for line in deletion.describe():
            out.write(line + "\n")
    if deletion.in_use:
        return finish(1, str(CacheInUse(deletion.in_use)))
    if deletion.refused:
        more = f" (and {len(deletion.refused) - 1} more)" if len(deletion.refused) > 1 else ""
        return finish(1, str(CacheRefused(f"refused: {deletion.refused[0]}{more}")))
    if args.dry_run:
        if not args.json:
            out.write("dry run: nothing was deleted\n")
        return finish(0)
    if not args.yes:
        if not _interactive(inp):
            return finish(1, "pass --yes to delete (no terminal to ask on); nothing was deleted")
        prompt = out if not args.json else err
        prompt.write(f"Delete, freeing {format_bytes(deletion.freed_bytes)}? [y/N] ")
        prompt.flush()
        answer = inp.readline().strip().lower()
        if answer not in ("y", "yes"):
            return finish(1, "cancelled; nothing was deleted")
    try:
        result = execute(deletion)
    except CacheError as exc:
        return finish(1, str(exc))
    report["deleted"] = True
    report["result"] = result.to_json()
    if not args.json:
        out.write(
            f"deleted {len(result.removed)} path(s), freed {format_bytes(result.freed_bytes)}\n"
        )
    if result.errors:
        for line in result.errors[1:]:
            err.write(f"warning: {line}\n")
        return finish(1, f"{result.errors[0]} (freed {format_bytes(result.freed_bytes)})")
    return finish(0)


def _interactive(inp: TextIO) -> bool:
    try:
        return inp.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def _print_json(data: Any, out: TextIO) -> None:
    json.dump(data, out, indent=2)
    out.write("\n")
