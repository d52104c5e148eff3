"""``profile`` and ``preset`` as scripts use them, including every kind of bad input and fault."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "config" / "default.toml"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_bytes(SHIPPED.read_bytes())
    return path


def _error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    return lines[0]


def test_first_run_copies_the_defaults_and_lists_profiles() -> None:
    result = run_cli("profile", "list", "--json")
    assert result.returncode == 0, result.stderr
    user_file = Path(os.environ["XDG_CONFIG_HOME"]) / "thermal-scout" / "config.toml"
    assert f"note: created {user_file}" in result.stderr
    assert user_file.read_bytes() == SHIPPED.read_bytes()
    data = json.loads(result.stdout)
    assert data["file"] == str(user_file)
    assert [p["name"] for p in data["profiles"]] == ["fast", "balanced", "quality"]
    assert data["default"] == "balanced"
    assert data["recommended"] in ("fast", "balanced", "quality")
    fast = data["profiles"][0]
    assert fast["values"]["max_tokens"] == 512 and fast["ok"] is True
    assert "temperature" not in fast["explicit"]
    again = run_cli("profile", "list")
    assert "note:" not in again.stderr
    assert "* balanced" in again.stdout and "DESCRIPTION" in again.stdout


def test_show_with_help_and_effective_settings(config: Path) -> None:
    result = run_cli(
        "profile", "show", "fast", "--model", "gemma3-1b", "--config", str(config), "--json"
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["help"]["temperature"].startswith("Sampling temperature")
    effective = {row["key"]: row for row in data["effective"]["settings"]}
    assert data["effective"]["architecture"] == "gemma3"
    assert effective["max_tokens"]["layer"] == "profile: fast"
    assert effective["top_k"] == {
        "key": "top_k",
        "value": 64,
        "layer": "architecture: gemma3",
        "overridden": [["base", 40]],
    }
    assert effective["threads"]["layer"] == "capability: cores"
    text = run_cli("profile", "show", "--config", str(config))
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith(f"profile balanced  ({config}:")
    assert "effective settings" in text.stdout and "(default)" in text.stdout


def test_set_changes_only_that_line(config: Path) -> None:
    before = config.read_text()
    result = run_cli(
        "--config", str(config), "profile", "set", "fast", "max_tokens=300", "temperature=0.4"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"profile fast: max_tokens = 300, temperature = 0.4 (saved {config})\n"
    )
    after = config.read_text()
    old, new = before.splitlines(), after.splitlines()
    changed = [line for line in old if line not in new]
    assert changed == ["max_tokens = 512"]
    assert "temperature = 0.4" in new and "max_tokens = 300" in new
    assert tomllib.loads(after)["performance_profiles"]["fast"]["temperature"] == 0.4


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        (
            ["temperature=3"],
            "performance_profiles.fast.temperature: must be a number from 0 to 2 (got 3)",
        ),
        (
            ["temperature=warm"],
            "performance_profiles.fast.temperature: must be a number from 0 to 2 (got 'warm')",
        ),
        (["max_tokens=0"], "performance_profiles.fast.max_tokens: must be a whole number > 0"),
        (["max_tokens=1e3"], "performance_profiles.fast.max_tokens: must be a whole number > 0"),
        (["device=gpu"], "performance_profiles.fast.device: must be one of cpu, cuda, auto"),
        (["colour=red"], "performance_profiles.fast.colour: unknown field; valid: max_tokens"),
        (["top_k"], "expected KEY=VALUE, got 'top_k'"),
        (["top_k=1", "top_k=2"], "top_k is given twice"),
        (["top_k=1", "top_p=7"], "performance_profiles.fast.top_p: must be a number from 0 to 1"),
    ],
)
def test_rejected_value_exits_1_with_one_line_and_leaves_the_file(
    config: Path, pairs: list[str], message: str
) -> None:
    before = config.read_bytes()
    result = run_cli("profile", "set", "fast", *pairs, "--config", str(config))
    assert result.returncode == 1
    assert _error_line(result) == f"error: {message}" or message in _error_line(result)
    assert config.read_bytes() == before


def test_create_duplicate_delete_and_default(config: Path) -> None:
    c = ("--config", str(config))
    created = run_cli("profile", "create", "night", "max_tokens=128", "description=quiet", *c)
    assert created.returncode == 0, created.stderr
    copied = run_cli("profile", "create", "night2", "top_k=5", "--from", "night", *c)
    assert copied.returncode == 0, copied.stderr
    profiles = tomllib.loads(config.read_text())["performance_profiles"]
    assert profiles["night"] == {"max_tokens": 128, "description": "quiet"}
    assert profiles["night2"] == {"max_tokens": 128, "description": "quiet", "top_k": 5}
    before = config.read_bytes()
    for args, message in [
        (("create", "Night"), "a profile named 'night' already exists"),
        (("create", "bad name"), "performance_profiles.name: must be a name of 1 to 64"),
        (("delete", "balanced"), "'balanced' is the default profile"),
        (("delete", "fast"), "profile 'fast' is the default profile of preset(s) gemma3-1b"),
        (("delete", "nope"), "no profile named 'nope'"),
        (("default", "nope"), "no profile named 'nope'"),
    ]:
        result = run_cli("profile", *args, *c)
        assert result.returncode == 1, (args, result.stderr)
        assert message in _error_line(result)
        assert config.read_bytes() == before
    assert run_cli("profile", "default", "night", *c).returncode == 0
    assert run_cli("profile", "delete", "balanced", *c).returncode == 0
    data = tomllib.loads(config.read_text())
    assert data["defaults"]["default_profile"] == "night"
    assert "balanced" not in data["performance_profiles"]
    assert "# The default: room for a conversation" not in config.read_text()
    assert "# Long documents and long answers" in config.read_text()


def test_read_only_file_and_directory(config: Path) -> None:
    before = config.read_bytes()
    config.chmod(0o444)
    try:
        result = run_cli("profile", "set", "fast", "top_k=3", "--config", str(config))
    finally:
        config.chmod(0o644)
    assert result.returncode == 1
    assert "the file is read-only; nothing was saved" in _error_line(result)
    assert config.read_bytes() == before
    if os.geteuid() != 0:  # root writes in any directory
        config.parent.chmod(0o555)
        try:
            result = run_cli("profile", "set", "fast", "top_k=3", "--config", str(config))
        finally:
            config.parent.chmod(0o755)
        assert result.returncode == 1
        assert "permission denied writing in" in _error_line(result)
        assert config.read_bytes() == before


def test_invalid_toml_still_lists_defaults_but_refuses_edits(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[telemetry]\ninterval_s = 1.0\n[performance_profiles.x\n")
    listed = run_cli("profile", "list", "--config", str(path))
    assert listed.returncode == 0
    assert f"warning: {path}:3: not valid TOML" in listed.stderr
    assert "balanced" in listed.stdout
    result = run_cli("profile", "set", "fast", "top_k=3", "--config", str(path))
    assert result.returncode == 1
    assert f"error: {path}:3: not valid TOML" in _error_line(result)
    assert "nothing was changed" in _error_line(result)
    assert path.read_text() == "[telemetry]\ninterval_s = 1.0\n[performance_profiles.x\n"


def test_broken_value_is_a_warning_with_line_and_the_rest_works(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[performance_profiles.a]\nmax_tokens = -1\ntop_k = 3\n")
    result = run_cli("profile", "show", "a", "--config", str(path), "--json")
    assert result.returncode == 0
    assert (
        f"warning: {path}:2: performance_profiles.a.max_tokens: must be a whole number > 0 "
        "(got -1); using 1024" in result.stderr
    )
    data = json.loads(result.stdout)
    assert data["ok"] is False and data["values"]["max_tokens"] == 1024
    assert data["values"]["top_k"] == 3
    fixed = run_cli("profile", "set", "a", "max_tokens=64", "--config", str(path))
    assert fixed.returncode == 0, fixed.stderr
    assert path.read_text() == "[performance_profiles.a]\nmax_tokens = 64\ntop_k = 3\n"


def test_missing_config_file(tmp_path: Path) -> None:
    result = run_cli("profile", "list", "--config", str(tmp_path / "none.toml"))
    assert result.returncode == 1
    assert "config file not found" in _error_line(result)


def test_shipped_defaults_are_never_edited() -> None:
    before = SHIPPED.read_bytes()
    result = run_cli("profile", "set", "fast", "top_k=3", "--config", str(SHIPPED))
    assert result.returncode == 1
    assert "never edited in place" in _error_line(result)
    assert SHIPPED.read_bytes() == before


def test_preset_list_show_set_default(config: Path) -> None:
    c = ("--config", str(config))
    listed = run_cli("preset", "list", *c, "--json")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert data["default"] == "gemma3-1b"
    assert data["presets"][0]["values"]["model_id"] == "google/gemma-3-1b-it"
    shown = run_cli("preset", "show", "gemma3-1b", *c)
    assert "model_id                    google/gemma-3-1b-it" in shown.stdout
    ok = run_cli(
        "preset",
        "set",
        "gemma3-1b",
        "avg_tokens_per_sec=41.5",
        "avg_tokens_per_sec_measured=true",
        "overrides=temperature=0.9 top_k=32",
        *c,
    )
    assert ok.returncode == 0, ok.stderr
    preset = tomllib.loads(config.read_text())["model_presets"]["gemma3-1b"]
    assert preset["overrides"] == {"temperature": 0.9, "top_k": 32}
    assert "41.5 measured" in run_cli("preset", "list", *c).stdout
    bad = run_cli("preset", "set", "gemma3-1b", "format=pt", *c)
    assert bad.returncode == 1
    assert "model_presets.gemma3-1b.format: must be one of safetensors, gguf" in _error_line(bad)
    unset = run_cli("preset", "set", "gemma3-1b", "model_id=", *c)
    assert unset.returncode == 1
    assert "set model_id (a Hugging Face repo id) or weights" in _error_line(unset)


def test_preset_validate_and_detect(tmp_path: Path, config: Path) -> None:
    c = ("--config", str(config))
    missing = run_cli("preset", "validate", "gemma3-1b", *c)
    assert missing.returncode == 1
    assert "FAIL  weights" in missing.stdout
    assert "not in the Hugging Face cache" in _error_line(missing)
    lmstudio = Path(os.environ["HOME"]) / ".lmstudio" / "models" / "org" / "repo"
    lmstudio.mkdir(parents=True)
    weights = lmstudio / "tiny-Q4_K_M.gguf"
    with weights.open("wb") as handle:
        handle.write(b"GGUF\x03\x00\x00\x00")
        handle.truncate(2_000_000)
    found = run_cli("preset", "detect", *c, "--json")
    assert found.returncode == 0, found.stderr
    data = json.loads(found.stdout)
    assert [m["name"] for m in data["models"]] == ["tiny-q4_k_m"]
    assert data["added"] == [] and config.read_text() == SHIPPED.read_text()
    added = run_cli("preset", "detect", "--add", *c)
    assert added.returncode == 0, added.stderr
    assert "added 1 preset(s)" in added.stdout
    again = run_cli("preset", "detect", *c)
    assert "already a preset" in again.stdout
    valid = run_cli("preset", "validate", "tiny-q4_k_m", *c, "--json")
    assert valid.returncode == 0, valid.stdout + valid.stderr
    assert json.loads(valid.stdout)[0]["ok"] is True
    wrong = run_cli("preset", "set", "tiny-q4_k_m", "size_gb=3", *c)
    assert wrong.returncode == 0
    off = run_cli("preset", "validate", "tiny-q4_k_m", *c)
    assert off.returncode == 1
    assert "size: 0.002 GB on disk, size_gb 3" in _error_line(off)
    assert run_cli("preset", "default", "tiny-q4_k_m", *c).returncode == 0
    assert tomllib.loads(config.read_text())["defaults"]["default_model"] == "tiny-q4_k_m"
