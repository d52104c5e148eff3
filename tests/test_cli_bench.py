"""``thermal-scout bench``: the JSON contract, history, errors, Ctrl-C."""

from __future__ import annotations

import importlib.util
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tui.cli import main

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "tui.cli"]

ISSUE_KEYS = [
    "model",
    "backend",
    "device",
    "ttft_s",
    "prefill_tokens_per_s",
    "decode_tokens_per_s",
    "decode_tokens_per_s_sustained",
    "energy",
    "temperature",
    "power",
    "throttled_fraction",
    "predicted",
    "measured_over_predicted",
]

FAST = ["--repeat", "1", "--baseline", "0.3", "--min-window", "0", "--cooldown", "0"]


def bench(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["bench", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_shape_with_a_real_command(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = bench(
        capsys,
        "meta-llama/Llama-3.1-8B",
        *FAST,
        "--token-regex",
        r"(\d+) tokens",
        "--json",
        "--",
        sys.executable,
        "-c",
        "print('generated 64 tokens')",
    )
    assert code == 0, err
    data = json.loads(out)
    assert list(data)[: len(ISSUE_KEYS)] == ISSUE_KEYS
    assert data["model"] == "meta-llama/Llama-3.1-8B"
    assert data["backend"] == "command" and data["device"] == "cpu"
    assert data["decode_tokens_per_s"] > 0
    assert data["ttft_s"] is None and data["prefill_tokens_per_s"] is None
    energy = data["energy"]
    assert {"method", "gross_joules_per_token", "net_joules_per_token", "uncertainty"} <= set(
        energy
    )
    if energy["method"] == "unavailable":
        assert energy["reason"] and energy["gross_joules_per_token"] is None
    assert set(data["temperature"]) >= {"avg_c", "peak_c", "baseline_c"}
    assert set(data["power"]) >= {"avg_w", "peak_w", "idle_w"}
    assert data["predicted"]["decode_tokens_per_s"] > 0  # a catalog id was named
    assert data["measured_over_predicted"] == pytest.approx(
        data["decode_tokens_per_s_sustained"] / data["predicted"]["decode_tokens_per_s"], rel=1e-3
    )
    assert data["windows"][0]["tokens"] == 64 * data["windows"][0]["runs"]
    # stored, and listed by the history
    code, out, _ = bench(capsys, "history", "--json")
    rows = json.loads(out)
    assert code == 0 and [r["id"] for r in rows] == [data["run_id"]]
    assert rows[0]["model"] == "meta-llama/Llama-3.1-8B"
    code, out, _ = bench(capsys, "history")
    assert code == 0 and "meta-llama/Llama-3.1-8B" in out


def test_text_report_and_no_save(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = bench(
        capsys,
        "my-server",
        *FAST,
        "--tokens",
        "10",
        "--no-save",
        "--",
        sys.executable,
        "-c",
        "pass",
    )
    assert code == 0, err
    assert out.startswith("my-server  command  cpu")
    assert "decode" in out and "energy" in out
    assert "stored as run" not in out
    assert "benchmarking my-server with command on cpu" in err
    assert bench(capsys, "history", "--json")[1].strip() == "[]"


def test_a_failing_command_is_one_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = bench(
        capsys, "x", *FAST, "--", sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"
    )
    assert code == 1
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == ["error: command exited with status 3; last lines: boom"]
    assert "Traceback" not in err
    assert bench(capsys, "history", "--json")[1].strip() == "[]"


def test_refusal_names_the_numbers(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: object() if name in ("torch", "transformers") else real(name, *a),
    )
    code, _, err = bench(capsys, "meta-llama/Llama-3.1-70B")
    assert code == 1
    assert err.startswith("error: meta-llama/Llama-3.1-70B does not fit on cpu: it needs ")
    assert "--force" in err


@pytest.mark.parametrize(
    "args",
    [["x", "--repeat", "0"], ["x", "--backend", "vllm"], ["x", "--cooldown", "-1"]],
)
def test_usage_errors_exit_2(args: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["bench", *args])
    assert caught.value.code == 2


def test_a_command_needs_the_command_backend(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = bench(capsys, "x", "--backend", "onnxruntime", "--", "true")
    assert code == 1 and "needs --backend command" in err


@pytest.mark.slow
def test_ctrl_c_cancels_kills_the_workload_and_stores_nothing(tmp_path: Path) -> None:
    import psutil

    process = subprocess.Popen(
        [*CLI, "bench", "sleepy", "--baseline", "0", "--tokens", "5", "--", "sleep", "30"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    tree: list[Any] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        tree = psutil.Process(process.pid).children(recursive=True)
        if any(p.name() == "sleep" for p in tree):
            break
        time.sleep(0.05)
    assert any(p.name() == "sleep" for p in tree), "the workload never started"
    start = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=10)
    assert time.monotonic() - start < 1.5
    assert process.returncode == 130
    assert "cancelled; nothing stored" in err
    assert "Traceback" not in err
    for proc in tree:
        assert not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    history = subprocess.run(
        [*CLI, "bench", "history", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert json.loads(history.stdout) == []
