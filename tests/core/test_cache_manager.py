"""The cache manager: scanning, selections, exact dry-run plans, and deletions that stay safe.

Every cache is a real on-disk layout (blobs, relative snapshot links, refs, partial downloads,
the shared blob store) built by :mod:`tests.fakes.hf_cache` and scanned by the installed
``huggingface_hub``. The in-use guard is tested with a fake process list and with real child
processes holding a blob open or memory-mapped.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from core import cache_manager as cm
from core.cache_manager import (
    CacheChanged,
    CacheInUse,
    CacheRefused,
    CacheSelectionError,
    DeletePlan,
    ProcessFiles,
    Target,
)
from core.errors import ThermalScoutError
from tests.fakes.hf_cache import FakeHFCache, FakeRepo

SHARED = b"W" * 1000  # a weights file both revisions of org/two have
OLD_CFG = b"A" * 100
NEW_CFG = b"B" * 120
EXTRA = b"x" * 10


def blob(repo: FakeRepo, data: bytes) -> Path:
    """Where ``data``'s blob is (without writing it)."""
    return repo.path / "blobs" / hashlib.sha256(data).hexdigest()


def no_processes() -> Iterable[ProcessFiles]:
    return ()


@pytest.fixture
def cache(tmp_path: Path) -> FakeHFCache:
    return FakeHFCache(tmp_path / "hub")


@pytest.fixture
def two(cache: FakeHFCache) -> tuple[FakeRepo, str, str]:
    """org/two: an old detached revision and main; the weights blob is shared by both."""
    repo = cache.repo("org/two")
    old = repo.add_revision({"config.json": OLD_CFG, "model.bin": SHARED}, refs=(), mtime=1e9)
    new = repo.add_revision(
        {"config.json": NEW_CFG, "model.bin": SHARED, "sub/extra.txt": EXTRA}, mtime=2e9
    )
    os.utime(blob(repo, SHARED), (1e9, 1e9))  # the shared blob dates from the old revision
    return repo, old, new


def _plan(cache: FakeHFCache, *selection: str | Target) -> DeletePlan:
    return cm.plan(cm.scan(cache.root), selection, processes=no_processes)


def _run(deletion: DeletePlan) -> cm.DeleteResult:
    return cm.execute(deletion, processes=no_processes)


def _tree(root: Path) -> dict[str, bytes | str]:
    """Every entry under ``root``: file contents, link targets, folders."""
    entries: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if path.is_symlink():
                entries[rel] = "-> " + os.readlink(path)
            elif path.is_dir():
                entries[rel] = "dir"
            else:
                entries[rel] = path.read_bytes()
    return entries


# --------------------------------------------------------------------------------------------
# Scanning
# --------------------------------------------------------------------------------------------


def test_scan_lists_every_type_with_revisions_files_sizes_and_partials(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str]
) -> None:
    repo, old, new = two
    repo.add_incomplete(b"p" * 7)
    cache.repo("org/data", "dataset").add_revision({"train.csv": b"1,2\n"})
    cache.repo("org/app", "space").add_revision({"app.py": b"print()"})

    view = cm.scan(cache.root)
    assert view.exists and view.notices == () and view.broken == ()
    assert [r.key for r in view.repos] == ["dataset/org/data", "model/org/two", "space/org/app"]
    two_repo = view.repo("model/org/two")
    assert two_repo.size_bytes == len(OLD_CFG) + len(NEW_CFG) + len(SHARED) + len(EXTRA)
    assert two_repo.blob_count == 4
    assert [r.commit for r in two_repo.revisions] == [new, old]  # newest first
    main, detached = two_repo.revisions
    assert main.refs == ("main",) and not main.detached and detached.detached
    assert main.size_bytes == len(NEW_CFG) + len(SHARED) + len(EXTRA)
    assert detached.size_bytes == len(OLD_CFG) + len(SHARED)
    assert [(f.path, f.size_bytes) for f in main.files] == [
        ("config.json", len(NEW_CFG)),
        ("model.bin", len(SHARED)),
        ("sub/extra.txt", len(EXTRA)),
    ]
    assert all(f.is_link and f.problem is None for f in main.files)
    [partial] = two_repo.partials
    assert partial.path.name == "deadbeef.incomplete" and partial.size_bytes == 7
    assert view.partial_bytes == 7
    assert view.size_bytes == sum(r.size_bytes for r in view.repos)

    from huggingface_hub import scan_cache_dir

    info = {r.repo_path: r for r in scan_cache_dir(cache.root).repos}
    for r in view.repos:
        assert r.size_bytes == info[r.repo_path].size_on_disk
        assert r.last_accessed == info[r.repo_path].last_accessed
        assert r.last_modified == info[r.repo_path].last_modified


def test_missing_cache_is_an_empty_view_with_a_notice(tmp_path: Path) -> None:
    view = cm.scan(tmp_path / "nowhere")
    assert not view.exists and view.repos == ()
    assert view.notices == (f"no Hugging Face cache at {tmp_path / 'nowhere'}",)
    with pytest.raises(CacheSelectionError, match="no cache at"):
        cm.resolve(view, "org/x")


def test_default_cache_is_hf_home_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    FakeHFCache(tmp_path / "home" / "hub").repo("org/here").add_revision({"a": b"a"})
    assert [r.repo_id for r in cm.scan().repos] == ["org/here"]


def test_corrupted_repo_is_broken_and_named_when_selected(cache: FakeHFCache) -> None:
    cache.repo("org/good").add_revision({"a": b"a"})
    bad = cache.repo("org/bad")
    bad.set_ref("main", "0" * 40)  # a ref to a snapshot that is not there
    view = cm.scan(cache.root)
    assert [r.repo_id for r in view.repos] == ["org/good"]
    assert [b.name for b in view.broken] == ["models--org--bad"]
    assert any("models--org--bad" in n for n in view.notices)
    with pytest.raises(CacheSelectionError, match="corrupted"):
        cm.resolve(view, "org/bad")


# --------------------------------------------------------------------------------------------
# Selections
# --------------------------------------------------------------------------------------------


def test_selection_forms(cache: FakeHFCache, two: tuple[FakeRepo, str, str]) -> None:
    _, old, new = two
    view = cm.scan(cache.root)
    assert cm.resolve(view, "org/two") == (Target("repo", "model/org/two"),)
    assert cm.resolve(view, "model/org/two") == (Target("repo", "model/org/two"),)
    assert cm.resolve(view, "models--org--two") == (Target("repo", "model/org/two"),)
    assert cm.resolve(view, f"org/two@{old}") == (Target("revision", "model/org/two", old),)
    assert cm.resolve(view, f"org/two@{old[:7]}") == (Target("revision", "model/org/two", old),)
    assert cm.resolve(view, "org/two@main") == (Target("revision", "model/org/two", new),)
    assert cm.resolve(view, "org/two@main:sub/extra.txt") == (
        Target("file", "model/org/two", new, "sub/extra.txt"),
    )
    assert cm.resolve(view, "org/two@main:sub") == (
        Target("file", "model/org/two", new, "sub/extra.txt"),
    )
    assert set(cm.resolve(view, "org/two:config.json")) == {
        Target("file", "model/org/two", old, "config.json"),
        Target("file", "model/org/two", new, "config.json"),
    }


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        ("org/twoo", r"unknown repository 'org/twoo' .*did you mean org/two"),
        ("org/two@main:confg.json", r"no file 'confg.json' .*did you mean config.json"),
        ("org/two@deadbeef0", r"no revision 'deadbeef0' of model/org/two"),
        ("org/two@mian", r"no revision 'mian' .*did you mean main"),
        ("org/two@abc", r"too short: give at least 7"),
        ("org/two@", r"no revision after '@'"),
        ("org/two@main:", r"no file path after ':'"),
        ("org/two@main:../x", r"cannot contain '\.\.'"),
        ("   ", r"empty selection"),
    ],
)
def test_bad_selections_name_the_problem(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str], selection: str, message: str
) -> None:
    view = cm.scan(cache.root)
    with pytest.raises(CacheSelectionError, match=message) as caught:
        cm.plan(view, [selection], processes=no_processes)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, ThermalScoutError)


def test_ambiguous_short_hash_and_repo(cache: FakeHFCache) -> None:
    repo = cache.repo("org/x")
    repo.add_revision({"a": b"1"}, commit="abcdef1" + "0" * 33)
    repo.add_revision({"a": b"2"}, commit="abcdef1" + "1" * 33, refs=("dev",))
    cache.repo("org/x", "dataset").add_revision({"d": b"3"})
    view = cm.scan(cache.root)
    with pytest.raises(CacheSelectionError, match="ambiguous: dataset/org/x, model/org/x"):
        cm.resolve(view, "org/x")
    with pytest.raises(CacheSelectionError, match="'abcdef1' of model/org/x is ambiguous"):
        cm.resolve(view, "model/org/x@abcdef1")
    [target] = cm.resolve(view, "model/org/x@abcdef11")
    assert target.commit == "abcdef1" + "1" * 33


# --------------------------------------------------------------------------------------------
# Plans: exact bytes, shared blobs, normalisation
# --------------------------------------------------------------------------------------------


def test_revision_plan_counts_only_blobs_no_other_revision_links(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str]
) -> None:
    repo, old, new = two
    deletion = _plan(cache, f"org/two@{old[:8]}")
    assert deletion.ok and deletion.in_use_checked
    assert deletion.freed_bytes == len(OLD_CFG)  # the weights stay: main links to them
    assert [r.commit for r in deletion.revisions] == [old]
    assert deletion.repos == () and deletion.refs == () and deletion.files == ()
    assert deletion.blobs == (blob(repo, OLD_CFG),)
    kinds = sorted((p.kind, p.bytes) for p in deletion.paths)
    assert kinds == [("blob", len(OLD_CFG)), ("snapshot", 0)]
    assert deletion.summary() == (
        "free 100 B: 0 repositories, 1 revision, 0 files, 1 blob, 0 refs, 0 partial downloads"
    )

    result = _run(deletion)
    assert result.ok and result.freed_bytes == len(OLD_CFG)
    assert not repo.snapshot(old).exists()
    after = cm.scan(cache.root).repo("model/org/two")
    assert [r.commit for r in after.revisions] == [new]
    assert after.size_bytes == len(NEW_CFG) + len(SHARED) + len(EXTRA)
    assert (repo.snapshot(new) / "model.bin").read_bytes() == SHARED


def test_main_revision_plan_removes_its_ref(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str]
) -> None:
    repo, old, _new = two
    deletion = _plan(cache, "org/two@main")
    assert deletion.freed_bytes == len(NEW_CFG) + len(EXTRA)
    assert deletion.refs == (repo.path / "refs" / "main",)
    result = _run(deletion)
    assert result.ok and result.freed_bytes == len(NEW_CFG) + len(EXTRA)
    assert not (repo.path / "refs" / "main").exists() and (repo.path / "refs").is_dir()
    [left] = cm.scan(cache.root).repo("model/org/two").revisions
    assert left.commit == old and left.detached


def test_whole_repo_frees_every_blob_and_partial(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str]
) -> None:
    repo, _, _ = two
    repo.add_incomplete(b"p" * 7)
    other = cache.repo("org/keep")
    other.add_revision({"config.json": OLD_CFG})  # same content, another repo: its own blob
    total = len(OLD_CFG) + len(NEW_CFG) + len(SHARED) + len(EXTRA) + 7
    deletion = _plan(cache, "org/two")
    assert deletion.repos == ("model/org/two",) and deletion.freed_bytes == total
    assert len(deletion.revisions) == 2 and len(deletion.blobs) == 4
    assert len(deletion.partials) == 1 and deletion.refs == (repo.path / "refs" / "main",)
    assert [(p.kind, p.path) for p in deletion.paths] == [("repo", repo.path)]
    result = _run(deletion)
    assert result.ok and result.freed_bytes == total
    assert not repo.path.exists()
    assert [r.repo_id for r in cm.scan(cache.root).repos] == ["org/keep"]


def test_every_revision_selected_is_the_whole_repo(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str]
) -> None:
    _, old, new = two
    deletion = _plan(cache, f"org/two@{old}", f"org/two@{new[:7]}")
    assert deletion.repos == ("model/org/two",)
    assert deletion.targets == (Target("repo", "model/org/two"),)


def test_single_file_keeps_a_blob_another_revision_links_to(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str]
) -> None:
    repo, old, new = two
    shared_blob = blob(repo, SHARED)
    deletion = _plan(cache, "org/two@main:model.bin")
    assert deletion.freed_bytes == 0 and deletion.blobs == ()
    assert [f.path for f in deletion.files] == ["model.bin"]
    assert [(p.kind, p.bytes) for p in deletion.paths] == [("link", 0)]
    result = _run(deletion)
    assert result.ok and result.freed_bytes == 0
    assert not (repo.snapshot(new) / "model.bin").is_symlink()
    assert shared_blob.read_bytes() == SHARED
    assert (repo.snapshot(old) / "model.bin").read_bytes() == SHARED


def test_single_file_in_both_revisions_frees_the_blob(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str]
) -> None:
    repo, _old, _new = two
    deletion = _plan(cache, "org/two:model.bin")
    assert deletion.freed_bytes == len(SHARED) and len(deletion.blobs) == 1
    result = _run(deletion)
    assert result.ok and result.freed_bytes == len(SHARED)
    assert not blob(repo, SHARED).exists()
    view = cm.scan(cache.root).repo("model/org/two")
    assert all("model.bin" not in [f.path for f in r.files] for r in view.revisions)
    assert view.size_bytes == len(OLD_CFG) + len(NEW_CFG) + len(EXTRA)


def test_single_file_cleans_empty_folders_inside_the_snapshot_only(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str]
) -> None:
    repo, _, new = two
    deletion = _plan(cache, "org/two@main:sub/extra.txt")
    assert deletion.freed_bytes == len(EXTRA)
    assert _run(deletion).ok
    assert not (repo.snapshot(new) / "sub").exists()
    assert repo.snapshot(new).is_dir() and (repo.snapshot(new) / "config.json").exists()


def test_every_file_of_a_revision_is_the_revision(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str]
) -> None:
    repo, old, _ = two
    deletion = _plan(cache, f"org/two@{old}:config.json", f"org/two@{old}:model.bin")
    assert deletion.files == () and [r.commit for r in deletion.revisions] == [old]
    assert deletion.targets == (Target("revision", "model/org/two", old),)
    assert _run(deletion).ok and not repo.snapshot(old).exists()


def test_revision_and_file_plans_combine_exactly(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str]
) -> None:
    """The old revision and main's weights: the shared weights blob goes too."""
    repo, old, _new = two
    deletion = _plan(cache, f"org/two@{old}", "org/two@main:model.bin")
    assert deletion.freed_bytes == len(OLD_CFG) + len(SHARED)
    result = _run(deletion)
    assert result.ok and result.freed_bytes == len(OLD_CFG) + len(SHARED)
    blobs = sorted((repo.path / "blobs").iterdir())
    assert blobs == sorted([blob(repo, NEW_CFG), blob(repo, EXTRA)])


def test_shared_store_payload_is_freed_only_with_its_last_link(cache: FakeHFCache) -> None:
    weights = b"S" * 500
    first = cache.repo("org/first")
    first.add_revision({"model.bin": weights}, shared=True)
    second = cache.repo("org/second")
    second.add_revision({"model.bin": weights}, shared=True)
    payload = cache.shared_payload(weights)
    assert payload.is_file() and (first.path / "blobs").iterdir()

    view = cm.scan(cache.root)
    assert view.repo("model/org/first").size_bytes == 500
    assert view.size_bytes == 500  # counted once for the whole cache
    one = cm.plan(view, ["org/first"], processes=no_processes)
    assert one.freed_bytes == 0
    both = cm.plan(view, ["org/first", "org/second"], processes=no_processes)
    assert both.freed_bytes == 500
    assert ("shared-blob", payload) in [(p.kind, p.path) for p in both.paths]

    result = _run(one)
    assert result.ok and result.freed_bytes == 0 and payload.is_file()
    result = _run(_plan(cache, "org/second"))
    assert result.ok and result.freed_bytes == 500 and not payload.exists()


def test_plan_json_keys(cache: FakeHFCache, two: tuple[FakeRepo, str, str]) -> None:
    data = _plan(cache, "org/two@main").to_json()
    assert set(data) == {
        "cache_dir", "freed_bytes", "counts", "repos", "revisions", "files", "blobs", "refs",
        "partials", "paths", "in_use", "refused", "skipped", "uninspected_processes",
        "in_use_checked", "ok",
    }  # fmt: skip
    assert data["counts"] == {
        "repos": 0, "revisions": 1, "files": 0, "blobs": 2, "refs": 1, "partials": 0
    }  # fmt: skip
    assert data["freed_bytes"] == len(NEW_CFG) + len(EXTRA)
    assert {p["kind"] for p in data["paths"]} == {"snapshot", "ref", "blob"}


# --------------------------------------------------------------------------------------------
# Prune
# --------------------------------------------------------------------------------------------


def test_prune_removes_detached_revisions_and_partial_downloads(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str]
) -> None:
    repo, old, new = two
    partial = repo.add_incomplete(b"p" * 7)
    lonely = cache.repo("org/lonely")  # only a detached revision: the whole repo goes
    lonely.add_revision({"a.bin": b"L" * 50}, refs=())
    cache.repo("org/clean").add_revision({"a": b"c"})

    deletion = cm.prune_plan(cm.scan(cache.root), processes=no_processes)
    assert deletion.repos == ("model/org/lonely",)
    assert {r.commit for r in deletion.revisions} == {old, *[r.commit for r in _revs(lonely)]}
    assert deletion.partials == (partial,)
    assert deletion.freed_bytes == len(OLD_CFG) + 7 + 50
    result = _run(deletion)
    assert result.ok and result.freed_bytes == len(OLD_CFG) + 7 + 50
    view = cm.scan(cache.root)
    assert [r.repo_id for r in view.repos] == ["org/clean", "org/two"]
    assert [r.commit for r in view.repo("model/org/two").revisions] == [new]
    assert not partial.exists()
    assert cm.prune_plan(view, processes=no_processes).empty


def _revs(repo: FakeRepo) -> list[cm.CacheRevision]:
    view = cm.scan(repo.path.parent)
    return list(view.repo(f"model/{repo.repo_id}").revisions)


def test_prune_skips_a_partial_download_in_progress(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str]
) -> None:
    repo, _old, _ = two
    running = repo.add_incomplete(b"r" * 9, name="running")
    stale = repo.add_incomplete(b"s" * 5, name="stale")

    def downloading() -> Iterable[ProcessFiles]:
        return [ProcessFiles(4242, "hf-download", open=frozenset({os.path.realpath(running)}))]

    deletion = cm.prune_plan(cm.scan(cache.root), processes=downloading)
    assert deletion.ok and deletion.partials == (stale,)
    assert deletion.freed_bytes == len(OLD_CFG) + 5
    assert (
        deletion.skipped and "4242" in deletion.skipped[0] and "hf-download" in deletion.skipped[0]
    )
    result = cm.execute(deletion, processes=downloading)
    assert result.ok and running.exists() and not stale.exists()


# --------------------------------------------------------------------------------------------
# Safety: links out of the cache, in-use files, read-only caches, changes since the plan
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("relative", [False, True])
def test_link_out_of_the_cache_is_refused_and_never_followed(
    cache: FakeHFCache, tmp_path: Path, relative: bool
) -> None:
    outside = tmp_path / "outside" / "precious.bin"
    outside.parent.mkdir()
    outside.write_bytes(b"do not delete")
    repo = cache.repo("org/escape")
    commit = repo.add_revision({"config.json": OLD_CFG})
    target = Path(os.path.relpath(outside, repo.snapshot(commit))) if relative else outside
    repo.link(commit, "weights.bin", target)
    repo.add_revision({"other.txt": EXTRA}, refs=("dev",))
    before = _tree(tmp_path / "outside")

    view = cm.scan(cache.root)
    rev = view.repo("model/org/escape").revision(commit)
    [bad] = rev.problems
    assert bad.path == "weights.bin" and "outside the cache" in str(bad.problem)
    assert bad.size_bytes == 0 and bad.blob_path is None
    assert any("weights.bin" in n and "never followed" in n for n in view.notices)

    for selection in ("org/escape", f"org/escape@{commit}", f"org/escape@{commit}:weights.bin"):
        deletion = cm.plan(view, [selection], processes=no_processes)
        assert not deletion.ok
        assert any("weights.bin" in r and "not followed" in r for r in deletion.refused)
        with pytest.raises(CacheRefused, match="nothing was deleted"):
            _run(deletion)
    assert _tree(tmp_path / "outside") == before
    assert (repo.snapshot(commit) / "weights.bin").is_symlink()

    # a file beside it may still go: the bad link is not touched
    result = _run(cm.plan(view, [f"org/escape@{commit}:config.json"], processes=no_processes))
    assert result.ok and result.freed_bytes == len(OLD_CFG)
    assert _tree(tmp_path / "outside") == before


def test_blobs_folder_linked_outside_the_cache_is_refused(
    cache: FakeHFCache, tmp_path: Path
) -> None:
    repo = cache.repo("org/moved")
    commit = repo.add_revision({"config.json": OLD_CFG})
    elsewhere = tmp_path / "elsewhere"
    (repo.path / "blobs").rename(elsewhere)
    (repo.path / "blobs").symlink_to(elsewhere)
    before = _tree(elsewhere)
    view = cm.scan(cache.root)
    for selection in ("org/moved", f"org/moved@{commit}:config.json"):
        deletion = cm.plan(view, [selection], processes=no_processes)
        assert not deletion.ok and "outside the cache" in " ".join(deletion.refused)
        with pytest.raises(CacheRefused):
            _run(deletion)
    assert _tree(elsewhere) == before and repo.path.is_dir()


def test_in_use_blob_is_refused_naming_the_process(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str]
) -> None:
    repo, old, _ = two
    held = blob(repo, OLD_CFG)

    def holder() -> Iterable[ProcessFiles | None]:
        return [
            None,  # a process that could not be inspected
            ProcessFiles(11, "bash", open=frozenset({"/etc/passwd"})),
            ProcessFiles(4242, "llama-server", mapped=frozenset({os.path.realpath(held)})),
        ]

    deletion = cm.plan(cm.scan(cache.root), [f"org/two@{old}"], processes=holder)
    assert not deletion.ok and deletion.uninspected_processes == 1
    [conflict] = deletion.in_use
    assert (conflict.pid, conflict.process, conflict.how) == (4242, "llama-server", "mapped")
    assert any("4242 (llama-server)" in line for line in deletion.describe())
    with pytest.raises(CacheInUse, match=r"memory-mapped by process 4242 \(llama-server\)"):
        cm.execute(deletion, processes=holder)
    assert held.exists() and repo.snapshot(old).is_dir()

    # planned while nothing held it, then a process opened it: execute checks again
    free = cm.plan(cm.scan(cache.root), [f"org/two@{old}"], processes=no_processes)
    assert free.ok
    with pytest.raises(CacheInUse):
        cm.execute(free, processes=holder)
    assert held.exists()
    preview = cm.plan(cm.scan(cache.root), [f"org/two@{old}"], check_in_use=False)
    assert not preview.in_use_checked and any("not checked" in x for x in preview.describe())


@pytest.fixture
def holding(request: pytest.FixtureRequest) -> Iterator[list[subprocess.Popen[str]]]:
    children: list[subprocess.Popen[str]] = []
    yield children
    for child in children:
        child.kill()
        child.wait(timeout=10)


def _hold(path: Path, how: str, children: list[subprocess.Popen[str]]) -> int:
    """Start a child process that holds ``path`` open (or only memory-mapped); its pid."""
    code = {
        "open": "f = open(sys.argv[1], 'rb')",
        # Python's mmap keeps a duplicate descriptor: close every one, as llama.cpp would.
        "mapped": (
            "import mmap, os\nf = open(sys.argv[1], 'rb')\n"
            "m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)\nf.close()\n"
            "real = os.path.realpath(sys.argv[1])\n"
            "for fd in os.listdir('/proc/self/fd'):\n"
            "    try:\n"
            "        if os.readlink(f'/proc/self/fd/{fd}') == real: os.close(int(fd))\n"
            "    except OSError: pass\n"
            "assert m[:1]"
        ),
    }[how]
    child = subprocess.Popen(
        [sys.executable, "-c", f"import sys, time\n{code}\nprint('ready', flush=True)\n"
         "time.sleep(60)", str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    children.append(child)
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    return child.pid


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", ["open", "mapped"])
def test_real_process_holding_a_blob_is_named(
    cache: FakeHFCache,
    two: tuple[FakeRepo, str, str],
    holding: list[subprocess.Popen[str]],
    how: str,
) -> None:
    repo, old, _ = two
    held = blob(repo, OLD_CFG)
    pid = _hold(repo.snapshot(old) / "config.json", how, holding)  # through the snapshot link

    deletion = cm.plan(cm.scan(cache.root), [f"org/two@{old}"])
    assert not deletion.ok
    mine = [c for c in deletion.in_use if c.pid == pid]
    assert mine, deletion.in_use
    assert mine[0].how == how and mine[0].path == Path(os.path.realpath(held))
    assert "python" in mine[0].process.lower()
    with pytest.raises(CacheInUse, match=f"process {pid} "):
        cm.execute(deletion)
    assert held.exists() and repo.snapshot(old).is_dir()

    holding[0].kill()
    holding[0].wait(timeout=10)
    result = cm.execute(cm.plan(cm.scan(cache.root), [f"org/two@{old}"]))
    assert result.ok and not held.exists()


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_whole_repo_with_a_mapped_blob_is_refused(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str], holding: list[subprocess.Popen[str]]
) -> None:
    repo, _, new = two
    pid = _hold(repo.snapshot(new) / "model.bin", "mapped", holding)
    deletion = cm.plan(cm.scan(cache.root), ["org/two"])
    assert [c.pid for c in deletion.in_use] == [pid]
    with pytest.raises(CacheInUse):
        cm.execute(deletion)
    assert repo.path.is_dir()


def _read_only(paths: Iterable[Path]) -> list[tuple[Path, int]]:
    saved = []
    for path in paths:
        saved.append((path, stat.S_IMODE(path.stat().st_mode)))
        path.chmod(0o555)
    return saved


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root ignores directory permissions (the mocked test below covers the logic)",
)
@pytest.mark.parametrize("selection", ["org/two", "org/two@main", "org/two@main:model.bin"])
def test_read_only_cache_refuses_and_deletes_nothing(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str], selection: str
) -> None:
    repo, _, new = two
    folders = [cache.root, repo.path, repo.path / "blobs", repo.path / "refs"]
    folders += [repo.path / "snapshots", repo.snapshot(new), repo.snapshot(new) / "sub"]
    before = _tree(cache.root)
    saved = _read_only(folders)
    try:
        deletion = _plan(cache, selection)
        assert not deletion.ok and "read-only" in " ".join(deletion.refused)
        with pytest.raises(CacheRefused, match="read-only"):
            _run(deletion)
        assert _tree(cache.root) == before
    finally:
        for path, mode in saved:
            path.chmod(mode)


_READ_ONLY_SCRIPT = """
import json, sys
from pathlib import Path
from core import cache_manager as cm
from tests.fakes.hf_cache import FakeHFCache

cache = FakeHFCache(Path(sys.argv[1]))
repo = cache.repo("org/two")
old = repo.add_revision({"config.json": b"A" * 100, "model.bin": b"W" * 1000}, refs=())
new = repo.add_revision({"config.json": b"B" * 100, "model.bin": b"W" * 1000, "sub/x": b"x"})
for folder in [cache.root, repo.path, *repo.path.rglob("*")]:
    if folder.is_dir() and not folder.is_symlink():
        folder.chmod(0o555)
before = sorted(str(p) for p in cache.root.rglob("*"))
out = {}
for selection in ["org/two", "org/two@main", "org/two@main:model.bin", "org/two@" + old]:
    deletion = cm.plan(cm.scan(cache.root), [selection], processes=lambda: ())
    try:
        cm.execute(deletion, processes=lambda: ())
        out[selection] = ["executed", *deletion.refused]
    except cm.CacheRefused as exc:
        out[selection] = [str(exc), *deletion.refused]
out["unchanged"] = sorted(str(p) for p in cache.root.rglob("*")) == before
for folder in [cache.root, *cache.root.rglob("*")]:
    if folder.is_dir() and not folder.is_symlink():
        folder.chmod(0o755)
print(json.dumps(out))
"""


@pytest.mark.slow
@pytest.mark.skipif(
    not (hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("setpriv")),
    reason="only as root: the test above covers other users",
)
def test_read_only_cache_as_root_without_override_capabilities(tmp_path: Path) -> None:
    """Root with CAP_DAC_OVERRIDE dropped (``setpriv``) obeys the permission bits again."""
    root = Path(__file__).resolve().parents[2]
    drop = ["setpriv", "--inh-caps=-all", "--bounding-set=-all"]
    result = subprocess.run(
        [*drop, sys.executable, "-c", _READ_ONLY_SCRIPT, str(tmp_path / "hub")],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0 and "setpriv" in result.stderr:
        pytest.skip(f"setpriv cannot drop capabilities here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out.pop("unchanged") is True
    for selection, (message, *refused) in out.items():
        assert "read-only" in message and "nothing was deleted" in message, selection
        assert refused and all("read-only" in r for r in refused)


@pytest.mark.parametrize("selection", ["org/two", "org/two@main", "org/two@main:model.bin"])
def test_unwritable_folder_refuses_before_anything_goes(
    cache: FakeHFCache,
    two: tuple[FakeRepo, str, str],
    monkeypatch: pytest.MonkeyPatch,
    selection: str,
) -> None:
    """The same as the read-only test, with ``os.access`` saying no (works as root too)."""
    repo, _, new = two
    locked = {str(cache.root), str(repo.path / "blobs"), str(repo.snapshot(new))}
    real_access = os.access

    def access(path: str | os.PathLike[str], mode: int, **kwargs: object) -> bool:
        if str(path) in locked and mode & os.W_OK:
            return False
        return real_access(path, mode)

    before = _tree(cache.root)
    monkeypatch.setattr(os, "access", access)
    deletion = _plan(cache, selection)
    assert not deletion.ok
    assert any("the cache is read-only here: cannot write" in r for r in deletion.refused)
    with pytest.raises(CacheRefused, match="read-only"):
        _run(deletion)
    assert _tree(cache.root) == before


def test_a_failure_midway_is_reported_with_what_was_freed(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, _, _new = two
    stuck = blob(repo, EXTRA)
    real_unlink = os.unlink

    def unlink(path: str | os.PathLike[str], *args: object, **kwargs: object) -> None:
        if Path(path) == stuck:
            raise PermissionError(1, "Operation not permitted", str(path))
        real_unlink(path)

    deletion = _plan(cache, "org/two@main:sub/extra.txt", "org/two@main:config.json")
    assert deletion.freed_bytes == len(EXTRA) + len(NEW_CFG)
    monkeypatch.setattr(os, "unlink", unlink)
    result = _run(deletion)
    assert not result.ok and result.freed_bytes == len(NEW_CFG)
    assert [p.path for p in result.not_removed] == [stuck]
    assert any("Operation not permitted" in e for e in result.errors)


def test_cache_changed_since_the_plan_refuses(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str]
) -> None:
    repo, old, _new = two
    # a blob replaced by other content
    deletion = _plan(cache, f"org/two@{old}")
    replaced = blob(repo, OLD_CFG)
    replaced.unlink()
    replaced.write_bytes(b"different and longer content")
    with pytest.raises(CacheChanged, match="changed since the plan"):
        _run(deletion)
    assert replaced.exists() and repo.snapshot(old).is_dir()


def test_new_revision_since_a_whole_repo_plan_refuses(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str]
) -> None:
    repo, _, _ = two
    deletion = _plan(cache, "org/two")
    newer = repo.add_revision({"config.json": b"C" * 5}, refs=("v2",))
    with pytest.raises(CacheChanged, match="nothing was deleted"):
        _run(deletion)
    assert repo.snapshot(newer).is_dir() and repo.path.is_dir()


def test_revision_gone_since_the_plan_refuses(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str]
) -> None:
    repo, old, new = two
    deletion = _plan(cache, f"org/two@{old}", "org/two@main:sub/extra.txt")
    shutil.rmtree(repo.snapshot(old))
    with pytest.raises(CacheChanged, match="no longer in the cache"):
        _run(deletion)
    assert (repo.snapshot(new) / "sub" / "extra.txt").exists()


def test_library_strategy_naming_more_than_the_plan_is_refused(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whole revisions go through the library, but only for paths the plan names."""
    from dataclasses import replace

    from huggingface_hub import HFCacheInfo

    repo, old, _ = two
    bystander = cache.repo("org/bystander")
    bystander.add_revision({"a": b"a"})
    real = HFCacheInfo.delete_revisions

    def greedy(self: HFCacheInfo, *revisions: str) -> object:
        strategy = real(self, *revisions)
        return replace(strategy, repos=strategy.repos | {bystander.path})

    deletion = _plan(cache, f"org/two@{old}")
    monkeypatch.setattr(HFCacheInfo, "delete_revisions", greedy)
    with pytest.raises(CacheRefused, match="which the plan does not name"):
        _run(deletion)
    assert bystander.path.is_dir() and repo.snapshot(old).is_dir()


def test_empty_plan_does_nothing(cache: FakeHFCache) -> None:
    deletion = cm.prune_plan(cm.scan(cache.root), processes=no_processes)
    assert deletion.empty and deletion.summary() == "nothing to delete"
    result = _run(deletion)
    assert result.ok and result.freed_bytes == 0


# --------------------------------------------------------------------------------------------
# Processes and formatting
# --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_running_processes_sees_this_process_mappings() -> None:
    mine = [p for p in cm.running_processes() if p is not None and p.pid == os.getpid()]
    assert mine and os.path.realpath(sys.executable) in mine[0].mapped


def test_find_in_use_compares_real_paths(tmp_path: Path) -> None:
    real = tmp_path / "real.bin"
    real.write_bytes(b"x")
    link = tmp_path / "link.bin"
    link.symlink_to(real)

    def procs() -> Iterable[ProcessFiles]:
        return [ProcessFiles(7, "reader", open=frozenset({str(real)}))]

    conflicts, skipped = cm.find_in_use([link], procs)
    assert [(c.pid, c.how, c.path) for c in conflicts] == [(7, "open", real)] and skipped == 0
    assert cm.find_in_use([], procs) == ((), 0)


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0 B"), (999, "999 B"), (1000, "1.0 kB"), (1_500_000, "1.5 MB"), (16.1e9, "16.1 GB")],
)
def test_format_bytes(value: float, text: str) -> None:
    assert cm.format_bytes(value) == text


def test_format_age() -> None:
    now = 1_000_000_000.0
    assert cm.format_age(now - 5, now) == "just now"
    assert cm.format_age(now - 60, now) == "1 minute ago"
    assert cm.format_age(now - 3 * 86_400, now) == "3 days ago"
    assert cm.format_age(now - 400 * 86_400, now) == "1 year ago"
    assert cm.format_age(now + 100, now) == "in the future"
