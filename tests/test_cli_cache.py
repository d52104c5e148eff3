"""``thermal-scout cache ls|rm|prune`` as scripts and people use them, including bad input.

Each test builds a real cache layout in ``$HF_HOME/hub`` (the temporary home the autouse fixture
in ``tests/conftest.py`` sets up), then runs the command line in a subprocess: stdin is not a
terminal there, so deleting needs ``--yes``. The y/N prompt is tested in-process.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import ThermalScoutError
from tests.fakes.hf_cache import FakeHFCache, FakeRepo
from tui.cli import build_parser
from tui.cli_cache import cmd_cache

ROOT = Path(__file__).resolve().parents[1]
SHARED = b"W" * 1000
OLD_CFG = b"A" * 100
NEW_CFG = b"B" * 120


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", "cache", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


@pytest.fixture
def cache() -> FakeHFCache:
    return FakeHFCache(Path(os.environ["HF_HOME"]) / "hub")


@pytest.fixture
def two(cache: FakeHFCache) -> tuple[FakeRepo, str, str]:
    repo = cache.repo("org/two")
    old = repo.add_revision({"config.json": OLD_CFG, "model.bin": SHARED}, refs=(), mtime=1e9)
    new = repo.add_revision({"config.json": NEW_CFG, "model.bin": SHARED}, mtime=2e9)
    os.utime(_blob(repo, SHARED), (1e9, 1e9))
    return repo, old, new


def _blob(repo: FakeRepo, data: bytes) -> Path:
    return repo.path / "blobs" / hashlib.sha256(data).hexdigest()


def _listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


# --------------------------------------------------------------------------------------------
# ls
# --------------------------------------------------------------------------------------------


def test_ls_text(cache: FakeHFCache, two: tuple[FakeRepo, str, str]) -> None:
    repo, old, new = two
    repo.add_incomplete(b"p" * 7)
    cache.repo("org/data", "dataset").add_revision({"train.csv": b"1,2\n"})
    result = run_cli("ls")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["TYPE", "REPOSITORY", "SIZE", "REVS"]
    two_line = next(line for line in lines if "org/two" in line)
    assert two_line.split()[:5] == ["model", "org/two", "1.2", "kB", "2"]
    assert "dataset" in next(line for line in lines if "org/data" in line)
    assert "2 repositories, 1.2 kB in" in result.stdout
    assert "1 detached revision(s) and 1 partial download(s) (7 B)" in result.stdout
    assert old[:12] not in result.stdout

    detailed = run_cli("ls", "--revisions")
    assert detailed.returncode == 0, detailed.stderr
    assert f"@{new[:12]}" in detailed.stdout and f"@{old[:12]}" in detailed.stdout
    assert "(detached); 2 files" in detailed.stdout
    assert "partial deadbeef.incomplete" in detailed.stdout


def test_ls_json_has_bytes_revisions_and_files(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str]
) -> None:
    _, old, new = two
    result = run_cli("ls", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {
        "cache_dir", "exists", "size_bytes", "partial_bytes", "repos", "broken", "notices"
    }  # fmt: skip
    [repo] = data["repos"]
    assert repo["id"] == "org/two" and repo["type"] == "model" and repo["key"] == "model/org/two"
    assert repo["size_bytes"] == len(OLD_CFG) + len(NEW_CFG) + len(SHARED)
    assert repo["blobs"] == 3 and repo["refs"] == ["main"]
    assert [r["commit"] for r in repo["revisions"]] == [new, old]
    assert [r["detached"] for r in repo["revisions"]] == [False, True]
    assert repo["revisions"][0]["files"][0]["path"] == "config.json"
    assert repo["revisions"][0]["files"][0]["size_bytes"] == len(NEW_CFG)
    assert isinstance(repo["last_accessed"], float)


def test_ls_without_a_cache(cache: FakeHFCache) -> None:
    cache.root.rmdir()
    result = run_cli("ls")
    assert result.returncode == 0
    assert result.stderr.startswith("warning: no Hugging Face cache at")
    assert "0 repositories" in result.stdout


# --------------------------------------------------------------------------------------------
# rm
# --------------------------------------------------------------------------------------------


def test_rm_dry_run_shows_the_plan_and_deletes_nothing(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str]
) -> None:
    _, old, _ = two
    before = _listing(cache.root)
    result = run_cli("rm", f"org/two@{old[:7]}", "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "free 100 B: 0 repositories, 1 revision, 0 files, 1 blob, 0 refs, 0 partial downloads"
    )
    assert f"  revision   model/org/two@{old[:12]} (detached)" in lines
    assert lines[-1] == "dry run: nothing was deleted"
    assert _listing(cache.root) == before


def test_rm_without_yes_and_without_a_terminal_refuses(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str]
) -> None:
    before = _listing(cache.root)
    result = run_cli("rm", "org/two")
    assert result.returncode == 1
    assert result.stdout.startswith("free 1.2 kB: 1 repository, 2 revisions")
    assert result.stderr.strip().splitlines() == [
        "error: pass --yes to delete (no terminal to ask on); nothing was deleted"
    ]
    assert _listing(cache.root) == before


def test_rm_yes_deletes_and_reports_what_was_freed(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str]
) -> None:
    repo, old, new = two
    result = run_cli("rm", "org/two@main:config.json", f"org/two@{old}", "--yes")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "deleted 4 path(s), freed 220 B"
    assert not repo.snapshot(old).exists()
    assert not (repo.snapshot(new) / "config.json").exists()
    assert (repo.snapshot(new) / "model.bin").read_bytes() == SHARED


def test_rm_json(cache: FakeHFCache, two: tuple[FakeRepo, str, str]) -> None:
    repo, _, _ = two
    dry = run_cli("rm", "org/two", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    data = json.loads(dry.stdout)
    assert set(data) == {"dry_run", "deleted", "plan", "result"}
    assert data["dry_run"] is True and data["deleted"] is False and data["result"] is None
    plan = data["plan"]
    assert plan["freed_bytes"] == len(OLD_CFG) + len(NEW_CFG) + len(SHARED)
    assert plan["counts"] == {
        "repos": 1, "revisions": 2, "files": 0, "blobs": 3, "refs": 1, "partials": 0
    }  # fmt: skip
    assert plan["repos"] == ["model/org/two"] and plan["ok"] is True
    assert plan["paths"] == [{"path": str(repo.path), "kind": "repo", "bytes": plan["freed_bytes"]}]

    done = run_cli("rm", "org/two", "--yes", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["deleted"] is True and data["result"]["ok"] is True
    assert data["result"]["freed_bytes"] == plan["freed_bytes"]
    assert not repo.path.exists()


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        ("org/twoo", "error: unknown repository 'org/twoo' in the cache at {root}; did you mean "
         "org/two?"),
        ("org/two@abc", "error: revision 'abc' of model/org/two is too short: give at least 7 "
         "characters of the commit"),
        ("org/two@main:confg.json", "error: no file 'confg.json' in model/org/two@{new} in the "
         "cache; did you mean config.json?"),
    ],
)  # fmt: skip
def test_rm_bad_selection_is_one_line(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str], selection: str, message: str
) -> None:
    _, _, new = two
    result = run_cli("rm", selection, "--yes")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [message.format(root=cache.root.resolve(), new=new[:12])]


def test_rm_needs_a_selection() -> None:
    result = run_cli("rm")
    assert result.returncode == 2 and "SELECTION" in result.stderr


def test_rm_refuses_a_link_out_of_the_cache(cache: FakeHFCache, tmp_path: Path) -> None:
    outside = tmp_path / "precious.bin"
    outside.write_bytes(b"keep me")
    repo = cache.repo("org/escape")
    commit = repo.add_revision({"config.json": OLD_CFG})
    repo.link(commit, "weights.bin", outside)
    result = run_cli("rm", "org/escape", "--yes")
    assert result.returncode == 1
    assert "weights.bin links outside the cache" in result.stdout
    *warnings, line = result.stderr.splitlines()
    assert line.startswith("error: refused: model/org/escape@") and "not followed" in line
    assert [w for w in warnings if "weights.bin" in w and "never followed" in w] == warnings
    assert warnings and all(w.startswith("warning: ") for w in warnings)
    assert outside.read_bytes() == b"keep me" and repo.path.is_dir()


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_rm_refuses_a_blob_a_process_has_open(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str]
) -> None:
    repo, old, _ = two
    held = _blob(repo, OLD_CFG)
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nf = open(sys.argv[1], 'rb')\nprint('ready', flush=True)\n"
         "time.sleep(60)", str(held)],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        result = run_cli("rm", f"org/two@{old}", "--yes")
    finally:
        child.kill()
        child.wait(timeout=10)
    assert result.returncode == 1
    assert f"in use: {os.path.realpath(held)} is open by process {child.pid}" in result.stdout
    [line] = result.stderr.splitlines()
    assert line.startswith("error: refused:") and f"process {child.pid} (python" in line
    assert held.exists() and repo.snapshot(old).is_dir()


# --------------------------------------------------------------------------------------------
# prune
# --------------------------------------------------------------------------------------------


def test_prune(cache: FakeHFCache, two: tuple[FakeRepo, str, str]) -> None:
    repo, old, new = two
    partial = repo.add_incomplete(b"p" * 7)
    dry = run_cli("prune", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)["plan"]
    assert plan["freed_bytes"] == len(OLD_CFG) + 7
    assert [r["commit"] for r in plan["revisions"]] == [old]
    assert plan["partials"] == [str(partial)]

    done = run_cli("prune", "--yes")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "deleted 3 path(s), freed 107 B"
    assert not partial.exists() and not repo.snapshot(old).exists()
    assert repo.snapshot(new).is_dir()

    again = run_cli("prune", "--yes")
    assert again.returncode == 0 and again.stdout == "nothing to prune\n"


# --------------------------------------------------------------------------------------------
# The prompt (in-process: a terminal on stdin)
# --------------------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("answer", "deleted"), [("y\n", True), ("n\n", False), ("", False)])
def test_prompt_on_a_terminal(
    cache: FakeHFCache, two: tuple[FakeRepo, str, str], answer: str, deleted: bool
) -> None:
    repo, old, _ = two
    args = build_parser().parse_args(["cache", "rm", f"org/two@{old}"])
    out, err = io.StringIO(), io.StringIO()
    if deleted:
        assert cmd_cache(args, out, err, _Terminal(answer)) == 0
    else:
        with pytest.raises(ThermalScoutError, match="cancelled; nothing was deleted"):
            cmd_cache(args, out, err, _Terminal(answer))
    assert "Delete, freeing 100 B? [y/N] " in out.getvalue()
    assert repo.snapshot(old).exists() is not deleted
