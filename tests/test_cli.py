"""The command line as scripts use it: exit codes, one-line errors, JSON contracts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core import __version__
from tui.cli import build_parser, main, tui_arguments

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"thermal-scout {__version__}"


def test_unknown_flag_is_usage_error() -> None:
    result = run_cli("--frobnicate")
    assert result.returncode == 2
    assert "usage: thermal-scout" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("interval", ["0", "abc", "99999"])
def test_bad_interval_is_usage_error(interval: str) -> None:
    result = run_cli("monitor", "--interval", interval)
    assert result.returncode == 2
    assert "--interval" in result.stderr


@pytest.mark.parametrize("argv", [["--interval", "0"], ["--interval"], ["--replay"]])
def test_bad_tui_option_gets_the_full_usage_text(argv: list[str]) -> None:
    result = run_cli(*argv)
    assert result.returncode == 2
    assert "usage: thermal-scout" in result.stderr
    assert "COMMAND" in result.stderr  # the full parser's usage, not the TUI fast path's
    assert "--interval" in result.stderr or "--replay" in result.stderr


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--replay", "t.jsonl"],
        ["--replay=t.jsonl", "--interval", "2"],
        ["--int", "0.5", "--config", "c.toml"],
        ["--replay", "hardware"],  # a trace named like a command is still a trace
    ],
)
def test_tui_fast_path_parses_like_the_full_parser(argv: list[str]) -> None:
    fast = tui_arguments(argv)
    assert fast is not None
    assert vars(fast) == vars(build_parser().parse_args(argv))


@pytest.mark.parametrize(
    "argv", [["hardware"], ["-h"], ["--help"], ["--bogus"], ["--interval", "abc"], ["x"]]
)
def test_tui_fast_path_leaves_everything_else_to_the_full_parser(argv: list[str]) -> None:
    assert tui_arguments(argv) is None


def test_hardware_json_contract() -> None:
    result = run_cli("hardware", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"cpu", "memory", "gpus", "sensors", "recommendations"}
    assert set(data["cpu"]) >= {"model", "physical_cores", "logical_cores", "freq_mhz"}
    assert set(data["memory"]) >= {"total_bytes", "available_bytes"}
    assert data["memory"]["total_bytes"] > 0
    for sensor in data["sensors"]:
        assert set(sensor) >= {"name", "available", "reason"}
        if not sensor["available"]:
            assert sensor["reason"], sensor
    # This machine (and CI) has no NVIDIA driver: the reason is said, not a fake GPU.
    if not data["gpus"]:
        assert data["gpu_reason"]
    assert data["recommendations"]["profile"] in {"fast", "balanced", "quality"}


def test_hardware_text() -> None:
    result = run_cli("hardware")
    assert result.returncode == 0
    assert result.stdout.startswith("CPU ")
    assert "Sensors" in result.stdout


def test_monitor_replay_json_summary(h100_trace: Path) -> None:
    result = run_cli("monitor", "--replay", str(h100_trace), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["samples"] == 260
    (gpu,) = summary["gpus"]
    assert set(gpu) >= {
        "index",
        "name",
        "energy_j",
        "energy_method",
        "avg_power_w",
        "max_power_w",
        "max_temp_c",
        "throttled_fraction",
        "throttle_reasons",
    }
    assert gpu["energy_j"] == pytest.approx(6447.6, abs=0.1)
    assert gpu["throttled_fraction"] == pytest.approx(0.474, abs=0.005)


def test_monitor_replay_duration_and_csv_output(h100_trace: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.csv"
    result = run_cli(
        "monitor", "--replay", str(h100_trace), "--duration", "5", "--output", str(out), "--json"
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["duration_s"] <= 5.0
    assert out.read_text().splitlines()[0].startswith("t_s,device")


def test_monitor_live_records_a_replayable_trace(tmp_path: Path) -> None:
    out = tmp_path / "live.jsonl"
    result = run_cli(
        "monitor", "--interval", "0.2", "--duration", "1.1", "--output", str(out), "--json"
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["samples"] >= 3
    assert summary["cpu"] is not None
    assert summary["cpu"]["max_load_pct"] is not None
    replay = run_cli("monitor", "--replay", str(out), "--json")
    assert replay.returncode == 0, replay.stderr
    assert json.loads(replay.stdout)["samples"] == summary["samples"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "trace file not found"),
        ("", "empty trace"),
        ('{"t_s": 0, "gpu": 0}\n{"t_s": 1, "gpu"', "truncated last line"),
        ('{"t_s": 0, "gpu": 0}\n{oops}\n', ":2: not valid JSON"),
    ],
)
def test_bad_trace_is_one_line_and_exit_1(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "trace.jsonl"
    if content is not None:
        path.write_text(content)
    result = run_cli("monitor", "--replay", str(path), "--json")
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and message in lines[0]


def test_tui_with_a_missing_trace_fails_before_opening(tmp_path: Path) -> None:
    result = run_cli("--replay", str(tmp_path / "none.jsonl"))
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == f"error: {tmp_path / 'none.jsonl'}: trace file not found; check the path"
    )


def test_bad_config_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[telemetry]\ninterval_s = -1\n")
    result = run_cli("--config", str(config), "monitor", "--duration", "0.1")
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {config}:2: telemetry.interval_s")
    assert "Traceback" not in result.stderr


def test_output_never_overwrites(tmp_path: Path, h100_trace: Path) -> None:
    out = tmp_path / "keep.jsonl"
    out.write_text("mine\n")
    result = run_cli("monitor", "--replay", str(h100_trace), "--output", str(out))
    assert result.returncode == 1
    assert "already exists" in result.stderr
    assert out.read_text() == "mine\n"


def test_main_returns_status_in_process(
    h100_trace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["monitor", "--replay", str(h100_trace), "--duration", "1"]) == 0
    out = capsys.readouterr().out
    assert "gpu0" in out and "samples over" in out
