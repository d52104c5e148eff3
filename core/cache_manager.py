"""Safe management of the Hugging Face hub cache: list it, plan a deletion, check it, delete.

The flow every user of this module follows (the Cache screen, ``thermal-scout cache``)::

    view = scan()                                    # what is cached
    targets = resolve(view, "org/name@abc1234")      # or build Target(...) from a selection
    deletion = plan(view, targets)                   # the dry run: exact bytes, paths, conflicts
    if deletion.ok:                                  # nothing in use, nothing refused
        result = execute(deletion)                   # re-checks everything, then deletes

The cache is the layout ``huggingface_hub`` writes::

    <cache>/models--<org>--<name>/blobs/<hash>                 (content; may itself be a link
                                                                into <cache>/blobs/, the
                                                                library's shared Xet store)
    <cache>/models--<org>--<name>/blobs/<hash>.incomplete      (a partial download)
    <cache>/models--<org>--<name>/snapshots/<commit>/<file> -> ../../blobs/<hash>
    <cache>/models--<org>--<name>/refs/main                    (holds <commit>)

Safety rules, all enforced again by :func:`execute` just before anything is removed:

* Nothing outside the cache directory is ever deleted, and no link is followed out of it: a
  snapshot file that links anywhere but its repository's ``blobs/`` (a file outside the cache,
  another repository) makes any plan that touches it *refused*; the link's target is never
  touched. Every path is checked, with its directories resolved, to lie inside its repository.
* A blob is removed only when no remaining snapshot file links to it; a shared-store payload only
  when every repository link to it goes (the library's own sweep removes it).
* A file a running process has open or memory-mapped (model weights usually are) is *in use*:
  the plan says which process (pid and name) and :func:`execute` refuses.
* A directory that cannot be written (a read-only cache) refuses the plan before anything is
  removed, so a refusal never leaves a half-deleted repository.
* :func:`execute` rescans and re-plans; if the cache changed in a way that touches the plan
  (a file replaced, a revision added or gone), it refuses and deletes nothing.

Whole revisions and repositories are deleted through the library's
``HFCacheInfo.delete_revisions(...).execute()`` (its strategy is checked to name only paths the
plan names); single files, partial downloads and empty folders left behind are removed here.

Byte counts are file contents (``st_size``) freed: blobs, partial downloads, plain files in
snapshots and shared payloads; links, refs and directories are not counted.

``huggingface_hub`` and ``psutil`` are imported when first needed, so importing this module is
cheap.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import stat
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal

from core.errors import ThermalScoutError

if TYPE_CHECKING:
    from huggingface_hub import CachedRepoInfo

__all__ = [
    "BrokenRepo",
    "CacheChanged",
    "CacheError",
    "CacheFile",
    "CacheInUse",
    "CacheRefused",
    "CacheRepo",
    "CacheRevision",
    "CacheSelectionError",
    "CacheView",
    "DeletePlan",
    "DeleteResult",
    "InUse",
    "PartialDownload",
    "PlannedFile",
    "PlannedPath",
    "PlannedRevision",
    "ProcessFiles",
    "ProcessLister",
    "Target",
    "execute",
    "find_in_use",
    "format_age",
    "format_bytes",
    "plan",
    "prune_plan",
    "resolve",
    "running_processes",
    "scan",
]

MIN_SHORT_HASH = 7
"""A revision may be named by this many leading characters of its commit, or more."""

_REPO_DIR = re.compile(r"(models|datasets|spaces|kernels)--.+")
_HEX = re.compile(r"[0-9a-fA-F]+")
_STORE_DIR = "blobs"  # <cache>/blobs: the library's cache-wide shared blob store
_NOTICE_WIDTH = 300


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class CacheError(ThermalScoutError):
    """The cache cannot be managed as asked; the message is one line, fit for a user."""


class CacheSelectionError(CacheError):
    """A selection names nothing cached (unknown or ambiguous repo, revision or file)."""


class CacheChanged(CacheError):
    """The cache changed between planning and executing in a way that touches the plan."""


class CacheRefused(CacheError):
    """The plan is unsafe or impossible (a link out of the cache, a read-only directory)."""


class CacheInUse(CacheError):
    """A running process has a file open that the plan would delete.

    Attributes:
        conflicts: Every file in use, with the process.
    """

    def __init__(self, conflicts: Sequence[InUse]) -> None:
        self.conflicts = tuple(conflicts)
        first = self.conflicts[0]
        more = f" (and {len(self.conflicts) - 1} more)" if len(self.conflicts) > 1 else ""
        super().__init__(f"refused: {first.describe()}{more}; nothing was deleted")


# --------------------------------------------------------------------------------------------
# What is cached
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CacheFile:
    """One file of a cached revision (an entry of ``snapshots/<commit>/``).

    Attributes:
        path: Its path inside the snapshot, ``/``-separated (``config.json``, ``sub/x.bin``).
        link_path: The snapshot entry (normally a symlink to a blob).
        blob_path: The repository blob it links to (the entry itself for a plain file stored in
            the snapshot); None when the link leads elsewhere (see ``problem``).
        size_bytes: Size of the blob; 0 when ``problem`` is set.
        last_accessed: Blob access time (POSIX seconds; OS-dependent reliability).
        last_modified: Blob modification time (POSIX seconds).
        problem: Why the file must not be touched (``"links outside the cache (→ /x)"``), or None.
    """

    path: str
    link_path: Path
    blob_path: Path | None
    size_bytes: int
    last_accessed: float
    last_modified: float
    problem: str | None = None

    @property
    def is_link(self) -> bool:
        """True for a symlink into ``blobs/`` (False for a plain file stored in the snapshot)."""
        return self.blob_path is not None and self.blob_path != self.link_path


@dataclass(frozen=True)
class CacheRevision:
    """One cached revision: a ``snapshots/<commit>`` folder.

    Attributes:
        commit: The full commit hash (the folder name).
        refs: Branches/tags pointing at it, sorted (``("main",)``); empty when detached.
        snapshot_path: The ``snapshots/<commit>`` folder.
        size_bytes: Sum of the distinct blobs its files link to.
        files: Its files, sorted by path.
        last_modified: Newest blob modification time (the folder's when it has no file).
    """

    commit: str
    refs: tuple[str, ...]
    snapshot_path: Path
    size_bytes: int
    files: tuple[CacheFile, ...]
    last_modified: float

    @property
    def short(self) -> str:
        """The first 12 characters of the commit."""
        return self.commit[:12]

    @property
    def detached(self) -> bool:
        """No ref points at it (what ``prune`` removes)."""
        return not self.refs

    @property
    def problems(self) -> tuple[CacheFile, ...]:
        """Its files that must not be touched."""
        return tuple(f for f in self.files if f.problem is not None)


@dataclass(frozen=True)
class PartialDownload:
    """An interrupted (or running) download: ``blobs/<hash>.incomplete``.

    Attributes:
        path: The ``.incomplete`` file.
        size_bytes: Its size so far.
        last_modified: Its modification time (POSIX seconds).
    """

    path: Path
    size_bytes: int
    last_modified: float


@dataclass(frozen=True)
class _Blob:
    """A ``blobs/<hash>`` entry: a regular file, or a link to a shared-store payload."""

    path: Path
    size: int
    payload: Path | None = None  # the shared-store file behind a link
    foreign: str | None = None  # a link to anywhere else: where it leads


@dataclass(frozen=True)
class CacheRepo:
    """A cached repository (model, dataset, space or kernel).

    Attributes:
        repo_id: ``org/name`` (or a legacy ``name``).
        repo_type: ``"model"``, ``"dataset"``, ``"space"`` or ``"kernel"``.
        repo_path: The ``models--org--name`` folder.
        size_bytes: Sum of the distinct blobs its revisions link to (a shared-store payload
            counts in every repository linking to it; :attr:`CacheView.size_bytes` counts it
            once). Partial downloads are not included.
        blob_count: Distinct blobs its revisions link to.
        revisions: Its revisions, newest first.
        partials: Its partial downloads.
        last_accessed: Latest blob access time (POSIX seconds).
        last_modified: Latest blob modification time (POSIX seconds).
    """

    repo_id: str
    repo_type: str
    repo_path: Path
    size_bytes: int
    blob_count: int
    revisions: tuple[CacheRevision, ...]
    partials: tuple[PartialDownload, ...]
    last_accessed: float
    last_modified: float
    _blobs: Mapping[Path, _Blob] = field(default_factory=dict, repr=False, compare=False)
    _info: Any = field(default=None, repr=False, compare=False)  # the library's CachedRepoInfo

    @property
    def key(self) -> str:
        """``type/repo_id`` (``model/org/name``): unique in a cache, used in selections."""
        return f"{self.repo_type}/{self.repo_id}"

    @property
    def refs(self) -> tuple[str, ...]:
        """Every ref of every revision, sorted."""
        return tuple(sorted(r for rev in self.revisions for r in rev.refs))

    @property
    def partial_bytes(self) -> int:
        """Bytes in partial downloads."""
        return sum(p.size_bytes for p in self.partials)

    def revision(self, commit: str) -> CacheRevision:
        """The revision with this full commit hash (KeyError if not cached)."""
        for rev in self.revisions:
            if rev.commit == commit:
                return rev
        raise KeyError(commit)


@dataclass(frozen=True)
class BrokenRepo:
    """A repository folder the library could not scan (it cannot be managed here).

    Attributes:
        name: The folder name (``models--org--name``).
        path: The folder.
        reason: Why (the library's message).
    """

    name: str
    path: Path
    reason: str


@dataclass(frozen=True)
class CacheView:
    """The whole cache, as :func:`scan` found it.

    Attributes:
        root: The cache directory (resolved when it exists).
        exists: False when there is no cache directory (then everything is empty).
        repos: Every repository, sorted by type then id.
        broken: Repository folders that could not be scanned.
        notices: One-line notices: corrupted entries, links out of the cache, a missing cache.
        scanned_at: When the scan ran (POSIX seconds).
    """

    root: Path
    exists: bool
    repos: tuple[CacheRepo, ...] = ()
    broken: tuple[BrokenRepo, ...] = ()
    notices: tuple[str, ...] = ()
    scanned_at: float = 0.0
    _payload_links: Mapping[Path, frozenset[Path]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _payload_sizes: Mapping[Path, int] = field(default_factory=dict, repr=False, compare=False)

    @property
    def size_bytes(self) -> int:
        """Bytes the repositories' revisions use on disk, a shared payload counted once."""
        total = sum(self._payload_sizes.values())
        for repo in self.repos:
            linked = _linked_blobs(repo)
            total += sum(
                b.size
                for b in repo._blobs.values()
                if b.payload is None and b.foreign is None and b.path in linked
            )
        return total

    @property
    def partial_bytes(self) -> int:
        """Bytes in partial downloads."""
        return sum(r.partial_bytes for r in self.repos)

    def repo(self, key: str) -> CacheRepo:
        """The repository with this :attr:`CacheRepo.key` (KeyError if not cached)."""
        for repo in self.repos:
            if repo.key == key:
                return repo
        raise KeyError(key)


def _linked_blobs(repo: CacheRepo) -> set[Path]:
    return {
        f.blob_path
        for rev in repo.revisions
        for f in rev.files
        if f.blob_path is not None and f.problem is None
    }


# --------------------------------------------------------------------------------------------
# Scanning
# --------------------------------------------------------------------------------------------


def scan(cache_dir: Path | str | None = None) -> CacheView:
    """Scan the Hugging Face cache (``huggingface_hub.scan_cache_dir``), never raising.

    Args:
        cache_dir: The hub cache directory (default: ``HF_HUB_CACHE``, else ``HF_HOME/hub``, …
            as :func:`core.catalog.cache.default_cache_dir` resolves it now).

    Returns:
        The view. A missing cache is an empty view whose notice says so; a repository the
        library cannot scan is in :attr:`CacheView.broken` with a notice; a snapshot file
        linking out of its repository is listed with a ``problem`` and a notice.
    """
    if cache_dir is None:
        from core.catalog.cache import default_cache_dir

        root = default_cache_dir()
    else:
        root = Path(cache_dir).expanduser()
    now = time.time()
    try:
        if not root.exists():
            return CacheView(root, False, notices=(f"no Hugging Face cache at {root}",))
        if not root.is_dir():
            return CacheView(root, False, notices=(f"Hugging Face cache {root} is not a folder",))
        root = root.resolve()
    except (OSError, RuntimeError) as exc:
        return CacheView(root, False, notices=(_notice(f"cannot read {root} ({_reason(exc)})"),))

    from huggingface_hub import CacheNotFound, CorruptedCacheException, scan_cache_dir

    infos: Iterable[CachedRepoInfo]
    warnings: Sequence[BaseException]
    try:
        info = scan_cache_dir(root)
    except CacheNotFound:
        return CacheView(root, False, notices=(f"no Hugging Face cache at {root}",))
    except CorruptedCacheException as exc:
        return CacheView(root, True, notices=(_notice(f"Hugging Face cache {root}: {exc}"),))
    except (OSError, ValueError, RuntimeError) as exc:
        from core.catalog.cache import _scan_each

        infos, warnings = _scan_each(root, exc)
    else:
        infos, warnings = info.repos, info.warnings

    notices = [_notice(f"Hugging Face cache: {w}") for w in warnings]
    repos: list[CacheRepo] = []
    for repo_info in infos:
        try:
            repo = _repo(repo_info, root)
        except OSError as exc:
            notices.append(_notice(f"cannot read {repo_info.repo_path} ({_reason(exc)})"))
            continue
        repos.append(repo)
        for rev in repo.revisions:
            for f in rev.problems:
                notices.append(
                    _notice(f"{repo.key}@{rev.short}:{f.path} {f.problem}; it is never followed")
                )
    repos.sort(key=lambda r: (r.repo_type, r.repo_id.lower()))

    scanned = {r.repo_path for r in repos}
    broken: list[BrokenRepo] = []
    try:
        entries = sorted(root.iterdir())
    except OSError:
        entries = []
    for entry in entries:
        if _REPO_DIR.fullmatch(entry.name) and entry not in scanned:
            reason = next((str(w) for w in warnings if str(entry) in str(w)), "cannot be scanned")
            broken.append(BrokenRepo(entry.name, entry, _notice(reason)))

    payload_links: dict[Path, set[Path]] = {}
    payload_sizes: dict[Path, int] = {}
    for repo in repos:
        for blob in repo._blobs.values():
            if blob.payload is not None:
                payload_links.setdefault(blob.payload, set()).add(blob.path)
                payload_sizes[blob.payload] = blob.size
    return CacheView(
        root=root,
        exists=True,
        repos=tuple(repos),
        broken=tuple(broken),
        notices=tuple(notices),
        scanned_at=now,
        _payload_links={p: frozenset(links) for p, links in payload_links.items()},
        _payload_sizes=payload_sizes,
    )


def _repo(info: CachedRepoInfo, root: Path) -> CacheRepo:
    repo_path = Path(info.repo_path)
    blobs, partials = _blob_entries(repo_path, root)
    real_root = os.path.realpath(root)
    revisions: list[CacheRevision] = []
    for rev in info.revisions:
        snapshot = Path(rev.snapshot_path)
        files: list[CacheFile] = []
        for f in rev.files:
            files.append(_file(f, snapshot, repo_path, blobs, real_root))
        files.sort(key=lambda f: f.path)
        distinct = {f.blob_path: f.size_bytes for f in files if f.problem is None}
        revisions.append(
            CacheRevision(
                commit=rev.commit_hash,
                refs=tuple(sorted(rev.refs)),
                snapshot_path=snapshot,
                size_bytes=sum(distinct.values()),
                files=tuple(files),
                last_modified=rev.last_modified,
            )
        )
    revisions.sort(key=lambda r: (-r.last_modified, r.commit))
    linked = {
        f.blob_path: f.size_bytes
        for r in revisions
        for f in r.files
        if f.problem is None and f.blob_path is not None
    }
    return CacheRepo(
        repo_id=info.repo_id,
        repo_type=info.repo_type,
        repo_path=repo_path,
        size_bytes=sum(linked.values()),
        blob_count=len(linked),
        revisions=tuple(revisions),
        partials=tuple(partials),
        last_accessed=info.last_accessed,
        last_modified=info.last_modified,
        _blobs=blobs,
        _info=info,
    )


def _blob_entries(repo_path: Path, root: Path) -> tuple[dict[Path, _Blob], list[PartialDownload]]:
    """Every ``blobs/`` entry of a repository (links not followed except into the store)."""
    blobs_dir = repo_path / "blobs"
    blobs: dict[Path, _Blob] = {}
    partials: list[PartialDownload] = []
    store = Path(os.path.realpath(root / _STORE_DIR))
    try:
        entries = list(os.scandir(blobs_dir))
    except FileNotFoundError:
        return blobs, partials
    for entry in entries:
        path = blobs_dir / entry.name
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if entry.name.endswith(".incomplete"):
            if stat.S_ISREG(st.st_mode):
                partials.append(PartialDownload(path, st.st_size, st.st_mtime))
            continue
        if stat.S_ISREG(st.st_mode):
            blobs[path] = _Blob(path, st.st_size)
        elif stat.S_ISLNK(st.st_mode):
            target = Path(os.path.abspath(blobs_dir / os.readlink(path)))
            real = Path(os.path.realpath(path))
            if (
                real.parent.parent == store
                and real.name.startswith(real.parent.name)
                and real.is_file()
                and not real.is_symlink()
            ):
                blobs[path] = _Blob(path, real.stat().st_size, payload=real)
            else:
                blobs[path] = _Blob(path, 0, foreign=str(target))
    partials.sort(key=lambda p: p.path)
    return blobs, partials


def _file(
    f: Any, snapshot: Path, repo_path: Path, blobs: Mapping[Path, _Blob], real_root: str
) -> CacheFile:
    link = Path(f.file_path)
    relative = link.relative_to(snapshot).as_posix()
    times = (float(f.blob_last_accessed), float(f.blob_last_modified))
    if not link.is_symlink():
        real_parent = os.path.realpath(link.parent)
        if not _within(real_parent, os.path.realpath(snapshot)):
            return CacheFile(relative, link, None, 0, *times, problem="is outside its snapshot")
        return CacheFile(relative, link, link, int(f.size_on_disk), *times)
    target = Path(os.path.abspath(link.parent / os.readlink(link)))
    blob = blobs.get(target)
    real = os.path.realpath(link)
    if (
        target.parent == repo_path / "blobs"
        and blob is not None
        and blob.foreign is None
        and _within(os.path.realpath(target.parent), os.path.realpath(repo_path))
    ):
        return CacheFile(relative, link, target, blob.size, *times)
    if not _within(real, real_root):
        problem = f"links outside the cache (→ {real})"
    elif blob is not None and blob.foreign is not None:
        problem = f"links to a blob that links outside its repository (→ {real})"
    else:
        problem = f"links outside its repository's blobs (→ {real})"
    return CacheFile(relative, link, None, 0, *times, problem=problem)


# --------------------------------------------------------------------------------------------
# Selections
# --------------------------------------------------------------------------------------------


TargetKind = Literal["repo", "revision", "file", "partial"]


@dataclass(frozen=True)
class Target:
    """One thing to delete, resolved against a :class:`CacheView`.

    Attributes:
        kind: ``"repo"`` (the whole repository), ``"revision"``, ``"file"`` (one snapshot file,
            or every file under a folder when ``path`` names one) or ``"partial"``.
        repo: The repository's :attr:`CacheRepo.key` (``model/org/name``).
        commit: The full commit, for a revision or a file.
        path: The file's path inside the snapshot, or the partial download's file name.
    """

    kind: TargetKind
    repo: str
    commit: str | None = None
    path: str | None = None

    def __str__(self) -> str:
        if self.kind == "repo":
            return self.repo
        if self.kind == "partial":
            return f"{self.repo} partial download {self.path}"
        text = f"{self.repo}@{(self.commit or '')[:12]}"
        return f"{text}:{self.path}" if self.kind == "file" else text


def resolve(view: CacheView, selection: str) -> tuple[Target, ...]:
    """The targets a selection names.

    Accepted forms (the type prefix is needed only when an id is cached as two types)::

        org/name                       the whole repository
        model/org/name                 the same, with its type
        org/name@<commit>              one revision: full hash, 7+ leading characters, or a ref
        org/name@main
        org/name@<commit>:path/file    one file of that revision (or every file under a folder)
        org/name:path/file             that file in every cached revision that has it

    Raises:
        CacheSelectionError: Nothing cached matches (the message names it and close matches),
            or it is ambiguous (two repositories, two commits sharing the prefix).
    """
    text = selection.strip()
    if not text:
        raise CacheSelectionError("empty selection")
    repo_text, at, rest = text.partition("@")
    if at:
        rev_text, colon, path_text = rest.partition(":")
        if not rev_text:
            raise CacheSelectionError(f"{text!r}: no revision after '@'")
    else:
        repo_text, colon, path_text = repo_text.partition(":")
        rev_text = ""
    repo = _find_repo(view, repo_text.strip())
    if at:
        revisions: tuple[CacheRevision, ...] = (_find_revision(repo, rev_text.strip()),)
    else:
        revisions = repo.revisions
    if not colon:
        if at:
            return (Target("revision", repo.key, revisions[0].commit),)
        return (Target("repo", repo.key),)
    path = _clean_path(path_text, text)
    targets: list[Target] = []
    for rev in revisions:
        for matched in _match_files(rev, path):
            targets.append(Target("file", repo.key, rev.commit, matched))
    if not targets:
        where = f"{repo.key}@{revisions[0].short}" if at else repo.key
        known = sorted({f.path for rev in revisions for f in rev.files})
        raise CacheSelectionError(f"no file {path!r} in {where} in the cache{_close(path, known)}")
    return tuple(targets)


def _clean_path(path_text: str, text: str) -> str:
    parts = PurePosixPath(path_text.strip().replace("\\", "/")).parts
    parts = tuple(p for p in parts if p not in ("/", "."))
    if not parts:
        raise CacheSelectionError(f"{text!r}: no file path after ':'")
    if ".." in parts:
        raise CacheSelectionError(f"{text!r}: a path inside a snapshot cannot contain '..'")
    return "/".join(parts)


def _match_files(rev: CacheRevision, path: str) -> list[str]:
    exact = [f.path for f in rev.files if f.path == path]
    if exact:
        return exact
    prefix = path.rstrip("/") + "/"
    return [f.path for f in rev.files if f.path.startswith(prefix)]


def _find_repo(view: CacheView, text: str) -> CacheRepo:
    if not text:
        raise CacheSelectionError("no repository named")
    lowered = text.lower()
    matches = [r for r in view.repos if r.key.lower() == lowered]
    if not matches:
        matches = [r for r in view.repos if r.repo_id.lower() == lowered]
    if not matches:
        matches = [r for r in view.repos if r.repo_path.name.lower() == lowered]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        keys = ", ".join(r.key for r in matches)
        raise CacheSelectionError(f"{text!r} is ambiguous: {keys}; prefix the type")
    folder = lowered.replace("/", "--")
    folders = {folder, folder.split("--", 1)[-1]}
    for broken in view.broken:
        name = broken.name.lower()
        if name == lowered or name.split("--", 1)[-1] in folders:
            raise CacheSelectionError(
                f"{text}: the cache entry {broken.path} is corrupted ({broken.reason}); "
                "fix or remove it by hand"
            )
    typed = "/" in text and text.split("/", 1)[0].lower() in {r.repo_type for r in view.repos}
    names = [r.key if typed else r.repo_id for r in view.repos]
    where = f"in the cache at {view.root}" if view.exists else f"(no cache at {view.root})"
    raise CacheSelectionError(f"unknown repository {text!r} {where}{_close(text, names)}")


def _find_revision(repo: CacheRepo, text: str) -> CacheRevision:
    lowered = text.lower()
    for rev in repo.revisions:
        if rev.commit.lower() == lowered:
            return rev
    by_ref = [rev for rev in repo.revisions if text in rev.refs]
    if by_ref:
        return by_ref[0]
    if _HEX.fullmatch(text):
        if len(text) < MIN_SHORT_HASH:
            raise CacheSelectionError(
                f"revision {text!r} of {repo.key} is too short: give at least "
                f"{MIN_SHORT_HASH} characters of the commit"
            )
        found = [rev for rev in repo.revisions if rev.commit.lower().startswith(lowered)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            commits = ", ".join(rev.short for rev in found)
            raise CacheSelectionError(
                f"revision {text!r} of {repo.key} is ambiguous: {commits}; give more characters"
            )
    names = [rev.short for rev in repo.revisions] + list(repo.refs)
    cached = ", ".join(_rev_label(rev) for rev in repo.revisions) or "none"
    close = difflib.get_close_matches(text, names, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; cached: {cached}"
    raise CacheSelectionError(f"no revision {text!r} of {repo.key} in the cache{hint}")


def _rev_label(rev: CacheRevision) -> str:
    return f"{rev.short} ({', '.join(rev.refs)})" if rev.refs else f"{rev.short} (detached)"


def _close(text: str, names: Sequence[str]) -> str:
    close = difflib.get_close_matches(text, list(dict.fromkeys(names)), n=3, cutoff=0.6)
    if not close:
        lowered = text.lower()
        close = [n for n in dict.fromkeys(names) if lowered and lowered in n.lower()][:3]
    return f"; did you mean {', '.join(close)}?" if close else ""


# --------------------------------------------------------------------------------------------
# Processes (the in-use guard)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcessFiles:
    """The files one running process holds.

    Attributes:
        pid: Process id.
        name: Process name.
        open: Paths of its open files (real paths, as the OS reports them).
        mapped: Paths of its memory-mapped files.
    """

    pid: int
    name: str
    open: frozenset[str] = frozenset()
    mapped: frozenset[str] = frozenset()


ProcessLister = Callable[[], Iterable[ProcessFiles | None]]
"""Returns the processes to check (``running_processes`` by default; a fake in tests).

An iterable may also yield ``None`` for each process it could not inspect (counted in
:attr:`DeletePlan.uninspected_processes`)."""


@dataclass(frozen=True)
class InUse:
    """A file the plan would delete that a running process holds.

    Attributes:
        path: The file (its real path).
        pid: The process id.
        process: The process name.
        how: ``"open"`` or ``"mapped"`` (memory-mapped).
    """

    path: Path
    pid: int
    process: str
    how: Literal["open", "mapped"]

    def describe(self) -> str:
        """``/…/blobs/ab12 is memory-mapped by process 4242 (llama-server)``."""
        verb = "memory-mapped" if self.how == "mapped" else "open"
        return f"{self.path} is {verb} by process {self.pid} ({self.process})"

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "pid": self.pid, "process": self.process, "how": self.how}


def running_processes() -> Iterator[ProcessFiles | None]:
    """Every process this user may inspect, with its open and memory-mapped files.

    Open files come from ``psutil``; mapped files from ``/proc/<pid>/maps`` on Linux (cheap,
    unlike ``psutil``'s ``smaps`` reader), else ``psutil.Process.memory_maps``. A process that
    vanishes is skipped; one that denies access (without root: other users' processes) is
    yielded as None, so it can be counted.
    """
    import psutil

    for proc in psutil.process_iter(["pid", "name"]):
        try:
            pid = int(proc.info["pid"])
            name = str(proc.info.get("name") or "?")
        except (psutil.Error, KeyError, TypeError, ValueError):
            continue
        denied = False
        opened: set[str] = set()
        mapped: set[str] = set()
        try:
            opened = {f.path for f in proc.open_files()}
        except (psutil.NoSuchProcess, FileNotFoundError, ProcessLookupError):
            continue  # gone (or a zombie): holds nothing
        except (psutil.Error, OSError):
            denied = True
        try:
            mapped = _mapped_files(proc)
        except (psutil.NoSuchProcess, FileNotFoundError, ProcessLookupError):
            continue
        except (psutil.Error, OSError):
            if denied:
                yield None
                continue
        yield ProcessFiles(pid, name, frozenset(opened), frozenset(mapped))


def _mapped_files(proc: Any) -> set[str]:
    if sys.platform.startswith("linux"):
        paths: set[str] = set()
        with open(f"/proc/{proc.pid}/maps", encoding="utf-8", errors="surrogateescape") as maps:
            for line in maps:
                parts = line.rstrip("\n").split(maxsplit=5)
                if len(parts) == 6 and parts[5].startswith("/"):
                    paths.add(parts[5].removesuffix(" (deleted)"))
        return paths
    return {m.path for m in proc.memory_maps(grouped=True) if m.path.startswith("/")}


def find_in_use(
    paths: Iterable[Path | str], processes: ProcessLister | None = None
) -> tuple[tuple[InUse, ...], int]:
    """Which of ``paths`` (compared by real path) a running process holds open or mapped.

    Returns:
        The conflicts (sorted by path, then pid) and how many processes could not be inspected.
    """
    wanted = {os.path.realpath(p) for p in paths}
    if not wanted:
        return (), 0
    lister = processes if processes is not None else running_processes
    conflicts: set[InUse] = set()
    skipped = 0
    for proc in lister():
        if proc is None:
            skipped += 1
            continue
        for path in wanted & proc.open:
            conflicts.add(InUse(Path(path), proc.pid, proc.name, "open"))
        for path in (wanted & proc.mapped) - proc.open:
            conflicts.add(InUse(Path(path), proc.pid, proc.name, "mapped"))
    return tuple(sorted(conflicts, key=lambda c: (str(c.path), c.pid))), skipped


# --------------------------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------------------------


PathKind = Literal["repo", "snapshot", "ref", "link", "file", "blob", "shared-blob", "partial"]


@dataclass(frozen=True)
class PlannedPath:
    """One path the plan removes.

    Attributes:
        path: The path (a directory for ``repo``/``snapshot``, removed with its content).
        kind: ``repo``, ``snapshot``, ``ref``, ``link`` (a snapshot file), ``file`` (a plain
            file stored in a snapshot), ``blob``, ``shared-blob`` (a shared-store payload) or
            ``partial``.
        bytes: Content bytes its removal frees.
    """

    path: Path
    kind: PathKind
    bytes: int

    def to_json(self) -> dict[str, Any]:
        return {"path": str(self.path), "kind": self.kind, "bytes": self.bytes}


@dataclass(frozen=True)
class PlannedRevision:
    """A revision the plan removes (``repo`` is the :attr:`CacheRepo.key`)."""

    repo: str
    commit: str
    refs: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"repo": self.repo, "commit": self.commit, "refs": list(self.refs)}


@dataclass(frozen=True)
class PlannedFile:
    """A single snapshot file the plan removes (its revision stays)."""

    repo: str
    commit: str
    path: str

    def to_json(self) -> dict[str, Any]:
        return {"repo": self.repo, "commit": self.commit, "path": self.path}


@dataclass(frozen=True)
class DeletePlan:
    """Exactly what a deletion removes and frees (the dry run), and why it may be refused.

    Attributes:
        root: The cache directory.
        targets: What was selected, normalised (a revision whose every file is selected becomes
            the revision; a repository whose every revision is, the repository).
        repos: Keys of repositories removed whole.
        revisions: Revisions removed (those of whole repositories included).
        files: Single files removed from revisions that stay.
        blobs: Blob entries removed (``…/blobs/<hash>``).
        refs: Ref files removed.
        partials: Partial downloads removed.
        paths: Every removal, with the bytes it frees.
        freed_bytes: Total content bytes freed.
        in_use: Files a running process holds (the plan is refused while there are any).
        refused: Why the plan cannot run (links out of the cache, read-only folders).
        skipped: What was left out and why (a partial download in use, for ``prune``).
        uninspected_processes: Processes whose files could not be checked (other users').
        in_use_checked: False when the plan was made without the in-use check.
    """

    root: Path
    targets: tuple[Target, ...]
    repos: tuple[str, ...]
    revisions: tuple[PlannedRevision, ...]
    files: tuple[PlannedFile, ...]
    blobs: tuple[Path, ...]
    refs: tuple[Path, ...]
    partials: tuple[Path, ...]
    paths: tuple[PlannedPath, ...]
    freed_bytes: int
    in_use: tuple[InUse, ...] = ()
    refused: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    uninspected_processes: int = 0
    in_use_checked: bool = True
    _stamps: Mapping[str, tuple[int, int, int, int]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _candidates: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    @property
    def empty(self) -> bool:
        """Nothing selected (a refused selection is not empty)."""
        return not self.targets

    @property
    def ok(self) -> bool:
        """Nothing in use and nothing refused: :func:`execute` may proceed."""
        return not self.in_use and not self.refused

    def summary(self) -> str:
        """One line: ``free 1.2 GB: 1 repository, 2 revisions, 3 files, 4 blobs, …``."""
        if self.empty:
            return "nothing to delete"
        parts = [
            _count(len(self.repos), "repository", "repositories"),
            _count(len(self.revisions), "revision"),
            _count(len(self.files), "file"),
            _count(len(self.blobs), "blob"),
            _count(len(self.refs), "ref"),
            _count(len(self.partials), "partial download"),
        ]
        return f"free {format_bytes(self.freed_bytes)}: " + ", ".join(parts)

    def describe(self) -> list[str]:
        """Human-readable lines: the summary, each item, then conflicts and refusals."""
        lines = [self.summary()]
        whole = set(self.repos)
        for key in self.repos:
            lines.append(f"  repository {key}")
        for rev in self.revisions:
            if rev.repo not in whole:
                refs = f" ({', '.join(rev.refs)})" if rev.refs else " (detached)"
                lines.append(f"  revision   {rev.repo}@{rev.commit[:12]}{refs}")
        for f in self.files:
            lines.append(f"  file       {f.repo}@{f.commit[:12]}:{f.path}")
        for p in self.paths:
            if p.kind == "partial":
                lines.append(f"  partial    {p.path} ({format_bytes(p.bytes)})")
        for line in self.skipped:
            lines.append(f"  skipped: {line}")
        for conflict in self.in_use:
            lines.append(f"  in use: {conflict.describe()}")
        for line in self.refused:
            lines.append(f"  refused: {line}")
        if not self.in_use_checked:
            lines.append("  note: open files were not checked yet (execute checks them)")
        if self.uninspected_processes:
            lines.append(
                f"  note: {_count(self.uninspected_processes, 'process', 'processes')} "
                "could not be checked for open files (permission denied)"
            )
        return lines

    def to_json(self) -> dict[str, Any]:
        """The plan as JSON (paths as strings, sizes in bytes)."""
        return {
            "cache_dir": str(self.root),
            "freed_bytes": self.freed_bytes,
            "counts": {
                "repos": len(self.repos),
                "revisions": len(self.revisions),
                "files": len(self.files),
                "blobs": len(self.blobs),
                "refs": len(self.refs),
                "partials": len(self.partials),
            },
            "repos": list(self.repos),
            "revisions": [r.to_json() for r in self.revisions],
            "files": [f.to_json() for f in self.files],
            "blobs": [str(p) for p in self.blobs],
            "refs": [str(p) for p in self.refs],
            "partials": [str(p) for p in self.partials],
            "paths": [p.to_json() for p in self.paths],
            "in_use": [c.to_json() for c in self.in_use],
            "refused": list(self.refused),
            "skipped": list(self.skipped),
            "uninspected_processes": self.uninspected_processes,
            "in_use_checked": self.in_use_checked,
            "ok": self.ok,
        }


def plan(
    view: CacheView,
    selection: Iterable[str | Target],
    *,
    processes: ProcessLister | None = None,
    check_in_use: bool = True,
) -> DeletePlan:
    """Plan deleting ``selection`` (strings as :func:`resolve` reads them, or targets).

    Nothing is deleted. ``check_in_use=False`` skips the process scan (for a live preview
    while a selection is edited; :func:`execute` always checks).

    Raises:
        CacheSelectionError: A selection names nothing cached, or is ambiguous.
    """
    targets: list[Target] = []
    for item in selection:
        targets.extend(resolve(view, item) if isinstance(item, str) else (item,))
    result = _plan(view, targets)
    if not check_in_use:
        return replace(result, in_use_checked=False)
    in_use, skipped = find_in_use(result._candidates, processes)
    return replace(result, in_use=in_use, uninspected_processes=skipped)


def prune_plan(
    view: CacheView, *, processes: ProcessLister | None = None, check_in_use: bool = True
) -> DeletePlan:
    """Plan removing every detached revision (no ref points at it) and partial download.

    A partial download a running process holds (a download in progress) is left out and
    listed in :attr:`DeletePlan.skipped`; a detached revision in use is a conflict.
    """
    targets: list[Target] = []
    for repo in view.repos:
        targets.extend(Target("revision", repo.key, r.commit) for r in repo.revisions if r.detached)
        targets.extend(Target("partial", repo.key, path=p.path.name) for p in repo.partials)
    first = _plan(view, targets)
    if not check_in_use:
        return replace(first, in_use_checked=False)
    held, uninspected = find_in_use(first._candidates, processes)
    partials = {
        os.path.realpath(p.path): Target("partial", repo.key, path=p.path.name)
        for repo in view.repos
        for p in repo.partials
    }
    # (a partial inside a repository removed whole goes with it: that stays a conflict)
    busy = [c for c in held if partials.get(str(c.path)) in first.targets]
    result = first
    if busy:
        drop = {partials[str(c.path)] for c in busy}
        result = _plan(view, [t for t in targets if t not in drop])
    in_use = tuple(c for c in held if str(c.path) in result._candidates)
    skipped = tuple(dict.fromkeys(f"partial download in progress: {c.describe()}" for c in busy))
    return replace(result, in_use=in_use, skipped=skipped, uninspected_processes=uninspected)


def _plan(view: CacheView, raw_targets: Sequence[Target]) -> DeletePlan:
    """The plan for concrete targets (no process check). Raises CacheSelectionError."""
    repos = {r.key: r for r in view.repos}
    whole: set[str] = set()
    revs: dict[str, set[str]] = {}
    files: dict[str, dict[str, set[str]]] = {}
    partial_names: dict[str, set[str]] = {}
    for t in raw_targets:
        repo = repos.get(t.repo)
        if repo is None:
            raise CacheSelectionError(f"{t.repo} is no longer in the cache")
        if t.kind == "repo":
            whole.add(t.repo)
        elif t.kind == "revision":
            _check_commit(repo, t)
            revs.setdefault(t.repo, set()).add(str(t.commit))
        elif t.kind == "file":
            rev = _check_commit(repo, t)
            matched = _match_files(rev, str(t.path))
            if not matched:
                raise CacheSelectionError(f"{t} is no longer in the cache")
            files.setdefault(t.repo, {}).setdefault(rev.commit, set()).update(matched)
        elif t.kind == "partial":
            if not any(p.path.name == t.path for p in repo.partials):
                raise CacheSelectionError(f"{t} is no longer in the cache")
            partial_names.setdefault(t.repo, set()).add(str(t.path))
        else:  # pragma: no cover - Literal
            raise CacheSelectionError(f"unknown target kind {t.kind!r}")

    # Normalise: a revision with every file selected is the revision; a repository with every
    # revision selected is the repository.
    for key, by_commit in files.items():
        repo = repos[key]
        for commit, names in by_commit.items():
            if names >= {f.path for f in repo.revision(commit).files}:
                revs.setdefault(key, set()).add(commit)
    for key, commits in revs.items():
        if commits >= {r.commit for r in repos[key].revisions}:
            whole.add(key)

    builder = _Builder(view)
    for key in sorted(whole):
        builder.whole_repo(repos[key])
    for key in sorted(set(revs) | set(files)):
        if key in whole:
            continue
        repo = repos[key]
        gone = revs.get(key, set())
        single = {c: names for c, names in files.get(key, {}).items() if c not in gone and names}
        builder.part_of_repo(repo, gone, single)
    for key in sorted(partial_names):
        if key in whole:
            continue
        for p in repos[key].partials:
            if p.path.name in partial_names[key]:
                builder.partial(repos[key], p)
    builder.shared_payloads()
    normalised = (
        [Target("repo", k) for k in sorted(whole)]
        + [
            Target("revision", k, c)
            for k in sorted(revs)
            if k not in whole
            for c in sorted(revs[k])
        ]
        + [
            Target("file", k, c, p)
            for k in sorted(files)
            if k not in whole
            for c in sorted(files[k])
            if c not in revs.get(k, set())
            for p in sorted(files[k][c])
        ]
        + [
            Target("partial", k, path=n)
            for k in sorted(partial_names)
            if k not in whole
            for n in sorted(partial_names[k])
        ]
    )
    return builder.build(tuple(normalised))


def _check_commit(repo: CacheRepo, target: Target) -> CacheRevision:
    try:
        return repo.revision(str(target.commit))
    except KeyError:
        raise CacheSelectionError(f"{target} is no longer in the cache") from None


class _Builder:
    """Accumulates one plan's removals, refusals and stamps."""

    def __init__(self, view: CacheView) -> None:
        self.view = view
        self.real_root = os.path.realpath(view.root)
        self.repos: list[str] = []
        self.revisions: list[PlannedRevision] = []
        self.files: list[PlannedFile] = []
        self.blobs: list[Path] = []
        self.refs: list[Path] = []
        self.partials: list[Path] = []
        self.paths: list[PlannedPath] = []
        self.refused: list[str] = []
        self.stamps: dict[str, tuple[int, int, int, int]] = {}
        self.candidates: set[str] = set()
        self.removed_blob_entries: set[Path] = set()
        self.unwritable: set[str] = set()

    # -- pieces -------------------------------------------------------------------------------

    def whole_repo(self, repo: CacheRepo) -> None:
        self.repos.append(repo.key)
        for rev in repo.revisions:
            self.revisions.append(PlannedRevision(repo.key, rev.commit, rev.refs))
            self._problems(repo, rev, rev.problems)
        refs_dir = repo.repo_path / "refs"
        self.refs.extend(refs_dir / ref for rev in repo.revisions for ref in rev.refs)
        self.blobs.extend(sorted(repo._blobs))
        self.partials.extend(p.path for p in repo.partials)
        self.removed_blob_entries.update(repo._blobs)
        if not self._safe_dir(repo.repo_path, self.real_root, parent_is_root=True):
            self.paths.append(PlannedPath(repo.repo_path, "repo", 0))
            return
        content = self._tree(repo.repo_path, skip=refs_dir)
        self.paths.append(PlannedPath(repo.repo_path, "repo", content))

    def part_of_repo(self, repo: CacheRepo, gone: set[str], single: Mapping[str, set[str]]) -> None:
        real_repo = os.path.realpath(repo.repo_path)
        if not self._safe_dir(repo.repo_path, self.real_root, parent_is_root=True):
            return
        removed_links: set[Path] = set()
        for rev in repo.revisions:
            if rev.commit in gone:
                self.revisions.append(PlannedRevision(repo.key, rev.commit, rev.refs))
                self._problems(repo, rev, rev.problems)
                removed_links.update(f.link_path for f in rev.files)
                for ref in rev.refs:
                    ref_path = repo.repo_path / "refs" / ref
                    self.refs.append(ref_path)
                    self._file_path(ref_path, real_repo, "ref", 0)
                if self._safe_dir(rev.snapshot_path, real_repo):
                    content = self._tree(rev.snapshot_path)
                    self.paths.append(PlannedPath(rev.snapshot_path, "snapshot", content))
        for commit in sorted(single):
            rev = repo.revision(commit)
            chosen = [f for f in rev.files if f.path in single[commit]]
            self._problems(repo, rev, [f for f in chosen if f.problem is not None])
            real_snapshot = os.path.realpath(rev.snapshot_path)
            for f in chosen:
                self.files.append(PlannedFile(repo.key, rev.commit, f.path))
                removed_links.add(f.link_path)
                if f.problem is not None:
                    continue
                if f.is_link:
                    self._file_path(f.link_path, real_snapshot, "link", 0)
                else:
                    self._file_path(f.link_path, real_snapshot, "file", f.size_bytes)
                    self.candidates.add(os.path.realpath(f.link_path))
        retained = {
            f.blob_path
            for rev in repo.revisions
            for f in rev.files
            if f.link_path not in removed_links and f.blob_path is not None
        }
        dropped = {
            f.blob_path
            for rev in repo.revisions
            for f in rev.files
            if f.link_path in removed_links and f.is_link and f.problem is None
        }
        real_blobs = os.path.realpath(repo.repo_path / "blobs")
        if not _within(real_blobs, real_repo):
            self.refused.append(f"{repo.repo_path / 'blobs'} leads outside its repository")
            return
        for blob_path in sorted(p for p in dropped - retained if p is not None):
            blob = repo._blobs[blob_path]
            self.blobs.append(blob_path)
            self.removed_blob_entries.add(blob_path)
            own = blob.size if blob.payload is None else 0
            self._file_path(blob_path, real_blobs, "blob", own)
            if blob.payload is None:
                self.candidates.add(os.path.realpath(blob_path))

    def partial(self, repo: CacheRepo, partial: PartialDownload) -> None:
        real_blobs = os.path.realpath(repo.repo_path / "blobs")
        if not _within(real_blobs, os.path.realpath(repo.repo_path)):
            self.refused.append(f"{repo.repo_path / 'blobs'} leads outside its repository")
            return
        self.partials.append(partial.path)
        self._file_path(partial.path, real_blobs, "partial", partial.size_bytes)
        self.candidates.add(os.path.realpath(partial.path))

    def shared_payloads(self) -> None:
        store = os.path.realpath(self.view.root / _STORE_DIR)
        for payload, links in sorted(self.view._payload_links.items()):
            if links and links <= self.removed_blob_entries:
                size = self.view._payload_sizes.get(payload, 0)
                self._file_path(payload, store, "shared-blob", size)
                self.candidates.add(os.path.realpath(payload))

    # -- checks -------------------------------------------------------------------------------

    def _problems(self, repo: CacheRepo, rev: CacheRevision, bad: Iterable[CacheFile]) -> None:
        for f in bad:
            self.refused.append(
                f"{repo.key}@{rev.short}:{f.path} {f.problem}; refused, not followed "
                "(remove that link by hand)"
            )

    def _safe_dir(self, path: Path, real_parent: str, *, parent_is_root: bool = False) -> bool:
        """A directory to remove whole: a real directory (no link) inside ``real_parent``."""
        try:
            st = os.lstat(path)
        except OSError as exc:
            self.refused.append(f"cannot read {path} ({_reason(exc)})")
            return False
        if not stat.S_ISDIR(st.st_mode):
            self.refused.append(f"{path} is a link or not a folder; refused, not followed")
            return False
        real = os.path.realpath(path)
        inside = (
            os.path.dirname(real) == real_parent if parent_is_root else _within(real, real_parent)
        )
        if not inside or real == real_parent:
            self.refused.append(f"{path} leads outside the cache ({real}); refused")
            return False
        return True

    def _tree(self, top: Path, *, skip: Path | None = None) -> int:
        """Stamp and check every entry under ``top``; the content bytes it holds."""
        total = 0
        self._stamp(top)
        self._writable(top.parent)
        for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
            here = Path(dirpath)
            self._writable(here)
            for name in dirnames:
                self._stamp(here / name)
            for name in filenames:
                path = here / name
                st = self._stamp(path)
                if st is None or not stat.S_ISREG(st.st_mode):
                    continue
                if skip is not None and (path == skip or skip in path.parents):
                    continue
                total += st.st_size
                self.candidates.add(os.path.realpath(path))
        return total

    def _file_path(self, path: Path, real_parent: str, kind: PathKind, size: int) -> None:
        """A single entry to unlink: not a folder, its real folder inside ``real_parent``."""
        real_dir = os.path.realpath(path.parent)
        if not _within(real_dir, real_parent):
            self.refused.append(f"{path} leads outside the cache ({real_dir}); refused")
            return
        st = self._stamp(path)
        if st is None:
            self.refused.append(f"{path} is missing")
            return
        if stat.S_ISDIR(st.st_mode):
            self.refused.append(f"{path} is a folder, not a file; refused")
            return
        self._writable(path.parent)
        self.paths.append(PlannedPath(path, kind, size))

    def _stamp(self, path: Path) -> os.stat_result | None:
        try:
            st = os.lstat(path)
        except OSError:
            return None
        self.stamps[str(path)] = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_mode)
        return st

    def _writable(self, folder: Path) -> None:
        key = str(folder)
        if key in self.unwritable:
            return
        if not os.access(folder, os.W_OK | os.X_OK):
            self.unwritable.add(key)

    # -- result -------------------------------------------------------------------------------

    def build(self, targets: tuple[Target, ...]) -> DeletePlan:
        refused = list(dict.fromkeys(self.refused))
        if self.unwritable:
            first = sorted(self.unwritable)[0]
            more = len(self.unwritable) - 1
            refused.append(
                f"the cache is read-only here: cannot write {first}"
                + (f" (and {more} more folders)" if more else "")
            )
        paths = sorted(self.paths, key=lambda p: (str(p.path), p.kind))
        return DeletePlan(
            root=self.view.root,
            targets=targets,
            repos=tuple(self.repos),
            revisions=tuple(self.revisions),
            files=tuple(self.files),
            blobs=tuple(dict.fromkeys(self.blobs)),
            refs=tuple(dict.fromkeys(self.refs)),
            partials=tuple(dict.fromkeys(self.partials)),
            paths=tuple(paths),
            freed_bytes=sum(p.bytes for p in paths),
            refused=tuple(refused),
            _stamps=dict(self.stamps),
            _candidates=frozenset(self.candidates),
        )


# --------------------------------------------------------------------------------------------
# Executing
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeleteResult:
    """What :func:`execute` actually did.

    Attributes:
        freed_bytes: Content bytes of the planned removals that are now gone.
        removed: The planned removals that are gone.
        not_removed: The planned removals still present (see ``errors``).
        errors: One line per failure (empty when everything went).
    """

    freed_bytes: int
    removed: tuple[PlannedPath, ...]
    not_removed: tuple[PlannedPath, ...]
    errors: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Everything planned was removed."""
        return not self.errors and not self.not_removed

    def to_json(self) -> dict[str, Any]:
        return {
            "freed_bytes": self.freed_bytes,
            "removed": [p.to_json() for p in self.removed],
            "not_removed": [p.to_json() for p in self.not_removed],
            "errors": list(self.errors),
            "ok": self.ok,
        }


def execute(plan: DeletePlan, *, processes: ProcessLister | None = None) -> DeleteResult:
    """Carry out ``plan`` after checking it again against the cache as it is now.

    The cache is rescanned and the plan rebuilt from its targets; then the in-use guard runs.
    Nothing is deleted when anything differs or is refused.

    Raises:
        CacheChanged: The cache changed since planning in a way that touches the plan.
        CacheRefused: The plan is refused (a link out of the cache, a read-only folder).
        CacheInUse: A running process holds a file the plan would delete.
    """
    if plan.empty:
        return DeleteResult(0, (), (), ())
    if plan.refused:
        # Refused for a reason the rescan below would find again; say so without looking.
        more = f" (and {len(plan.refused) - 1} more)" if len(plan.refused) > 1 else ""
        raise CacheRefused(f"refused: {plan.refused[0]}{more}; nothing was deleted")
    fresh = scan(plan.root)
    try:
        again = _plan(fresh, plan.targets)
    except CacheSelectionError as exc:
        raise CacheChanged(
            f"the cache changed since the plan ({exc}); nothing was deleted; plan again"
        ) from None
    changed = _difference(plan, again)
    if changed:
        raise CacheChanged(
            f"the cache changed since the plan ({changed}); nothing was deleted; plan again"
        )
    if again.refused:
        more = f" (and {len(again.refused) - 1} more)" if len(again.refused) > 1 else ""
        raise CacheRefused(f"refused: {again.refused[0]}{more}; nothing was deleted")
    in_use, _ = find_in_use(again._candidates, processes)
    if in_use:
        raise CacheInUse(in_use)

    errors: list[str] = []
    repos = {r.key: r for r in fresh.repos}
    strategies = _library_strategies(fresh, again, repos)
    with _quiet_library():
        for strategy in strategies:
            try:
                strategy.execute()
            except OSError as exc:
                errors.append(f"the library's deletion failed: {_reason(exc)}")
    _remove_files(fresh, again, repos, errors)
    _remove_partials(again, repos, errors)
    _sweep_payloads(fresh, again)
    _clean_empty_dirs(again, repos)

    removed: list[PlannedPath] = []
    left: list[PlannedPath] = []
    for p in again.paths:
        (left if os.path.lexists(p.path) else removed).append(p)
    for p in left:
        errors.append(f"could not delete {p.path}")
    return DeleteResult(
        freed_bytes=sum(p.bytes for p in removed),
        removed=tuple(removed),
        not_removed=tuple(left),
        errors=tuple(dict.fromkeys(errors)),
    )


def _difference(before: DeletePlan, now: DeletePlan) -> str:
    """What differs between two plans of the same targets ('' when nothing)."""
    if before.root != now.root:
        return f"the cache directory is now {now.root}"
    old = {p.path: p for p in before.paths}
    new = {p.path: p for p in now.paths}
    for path in sorted(set(old) ^ set(new)):
        return f"{path} {'is gone' if path in old else 'is new'}"
    for path in sorted(old):
        if old[path] != new[path]:
            return f"{path} changed size"
    for key in sorted(set(before._stamps) | set(now._stamps)):
        if before._stamps.get(key) != now._stamps.get(key):
            if key not in now._stamps:
                return f"{key} is gone"
            if key not in before._stamps:
                return f"{key} is new"
            return f"{key} was modified"
    for name in ("repos", "revisions", "files", "blobs", "refs", "partials"):
        if getattr(before, name) != getattr(now, name):
            return f"the {name} to delete differ"
    return ""


def _library_strategies(
    fresh: CacheView, again: DeletePlan, repos: Mapping[str, CacheRepo]
) -> list[Any]:
    """The library's strategies for whole revisions, checked to stay within the plan."""
    from huggingface_hub import HFCacheInfo

    by_repo: dict[str, list[str]] = {}
    for rev in again.revisions:
        by_repo.setdefault(rev.repo, []).append(rev.commit)
    allowed = {p.path for p in again.paths} | set(again.blobs) | set(again.refs)
    strategies = []
    names = {f.name for f in fields(HFCacheInfo)}
    for key, commits in sorted(by_repo.items()):
        repo = repos[key]
        # One repository per strategy: a commit hash is matched in every repository it is given.
        values: dict[str, Any] = {
            "size_on_disk": repo.size_bytes,
            "repos": frozenset({repo._info}),
            "warnings": [],
        }
        if "incomplete_files" in names:
            values["incomplete_files"] = frozenset()
        if "cache_dir" in names:
            values["cache_dir"] = fresh.root
        strategy = HFCacheInfo(**values).delete_revisions(*commits)
        named = (
            set(strategy.blobs)
            | set(strategy.refs)
            | set(strategy.repos)
            | set(strategy.snapshots)
            | set(getattr(strategy, "files", frozenset()))
        )
        outside = sorted(p for p in named if Path(p) not in allowed)
        if outside:
            raise CacheRefused(
                f"refused: the library would also delete {outside[0]}, which the plan does not "
                "name; nothing was deleted"
            )
        strategies.append(strategy)
    return strategies


@contextmanager
def _quiet_library() -> Iterator[None]:
    """Silence the library's per-path warnings (failures are reported from what is left)."""
    logger = logging.getLogger("huggingface_hub.utils._cache_manager")
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)


def _remove_files(
    fresh: CacheView, again: DeletePlan, repos: Mapping[str, CacheRepo], errors: list[str]
) -> None:
    """Single snapshot files, then the blobs nothing links to any more (links never followed)."""
    real_root = os.path.realpath(fresh.root)
    kinds = {p.path: p.kind for p in again.paths}
    for f in again.files:
        snapshot = repos[f.repo].revision(f.commit).snapshot_path
        _unlink(snapshot / f.path, os.path.realpath(snapshot), real_root, errors)
    by_repo: dict[Path, list[Path]] = {}
    for blob in again.blobs:
        if os.path.lexists(blob) and kinds.get(blob) == "blob":
            by_repo.setdefault(blob.parent.parent, []).append(blob)
    for repo_path, blobs in by_repo.items():
        linked = _live_links(repo_path / "snapshots")
        for blob in blobs:
            if blob in linked:
                errors.append(f"kept {blob}: a snapshot still links to it")
                continue
            _unlink(blob, os.path.realpath(repo_path), real_root, errors)


def _remove_partials(again: DeletePlan, repos: Mapping[str, CacheRepo], errors: list[str]) -> None:
    real_repos = {r.repo_path: os.path.realpath(r.repo_path) for r in repos.values()}
    for p in again.paths:
        if p.kind == "partial" and os.path.lexists(p.path):
            repo_path = p.path.parent.parent
            real = real_repos.get(repo_path)
            if real is None:  # pragma: no cover - the plan names only scanned repositories
                continue
            _unlink(p.path, real, os.path.realpath(again.root), errors)


def _sweep_payloads(fresh: CacheView, again: DeletePlan) -> None:
    """Let the library collect shared-store payloads whose last link went."""
    payloads = [p.path for p in again.paths if p.kind == "shared-blob" and p.path.exists()]
    if not payloads:
        return
    try:
        from huggingface_hub.utils import _shared_blobs
    except ImportError:  # pragma: no cover - a library without the shared store
        return
    for payload in payloads:
        try:
            _shared_blobs.sweep_shared_blob(payload, cache_dir=fresh.root)
        except OSError:
            continue


def _unlink(path: Path, real_parent: str, real_root: str, errors: list[str]) -> None:
    """Remove one entry (never a folder, never through a link) inside ``real_parent``."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        errors.append(f"cannot delete {path} ({_reason(exc)})")
        return
    real_dir = os.path.realpath(path.parent)
    if stat.S_ISDIR(st.st_mode) or not _within(real_dir, real_parent):
        errors.append(f"refused to delete {path}: not a file inside the cache")
        return
    if not _within(real_dir, real_root):  # pragma: no cover - implied by the line above
        errors.append(f"refused to delete {path}: outside the cache")
        return
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        errors.append(f"cannot delete {path} ({_reason(exc)})")


def _live_links(snapshots: Path) -> set[Path]:
    """The blob entries the snapshot links under ``snapshots`` lead to now (first hop)."""
    linked: set[Path] = set()
    for dirpath, dirnames, filenames in os.walk(snapshots, followlinks=False):
        for name in [*filenames, *dirnames]:
            path = Path(dirpath) / name
            try:
                if path.is_symlink():
                    linked.add(Path(os.path.abspath(path.parent / os.readlink(path))))
            except OSError:
                continue
    return linked


def _clean_empty_dirs(again: DeletePlan, repos: Mapping[str, CacheRepo]) -> None:
    """Remove folders emptied by the deletion, inside a snapshot or ``refs/`` only."""
    stops: dict[Path, Path] = {}
    for f in again.files:
        snapshot = repos[f.repo].revision(f.commit).snapshot_path
        stops[(snapshot / f.path).parent] = snapshot
    for rev in again.revisions:
        refs_dir = repos[rev.repo].repo_path / "refs"
        for ref in rev.refs:
            stops[(refs_dir / ref).parent] = refs_dir
    for start, stop in stops.items():
        folder = start
        while folder != stop and stop in folder.parents:
            try:
                if os.path.islink(folder):
                    break
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent


# --------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------


def format_bytes(value: int | float) -> str:
    """``512 B``, ``1.5 kB``, ``3.2 GB`` (decimal units, as ``hf cache ls`` and vendors)."""
    if value < 1000:
        return f"{value:.0f} B"
    for size, suffix in ((1e15, "PB"), (1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if value >= size:
            return f"{value / size:.1f} {suffix}"
    return f"{value:.0f} B"  # pragma: no cover


def format_age(timestamp: float, now: float | None = None) -> str:
    """``just now``, ``5 minutes ago``, ``3 days ago``, ``2 years ago``."""
    seconds = (time.time() if now is None else now) - timestamp
    if seconds < 0:
        return "in the future"
    if seconds < 60:
        return "just now"
    units = (
        (31_536_000, "year"),
        (2_592_000, "month"),
        (604_800, "week"),
        (86_400, "day"),
        (3600, "hour"),
        (60, "minute"),
    )
    for size, unit in units:
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"  # pragma: no cover


def _count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def _within(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip(os.sep) + os.sep)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__


def _notice(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _NOTICE_WIDTH else line[: _NOTICE_WIDTH - 1] + "…"
