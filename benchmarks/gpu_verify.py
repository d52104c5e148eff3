"""Issue 6, deliverable 7: the transformers backend on a real NVIDIA GPU, in one prepared run.

On a machine with an NVIDIA GPU and a CUDA build of torch (plus transformers 5), this runs the
CUDA test (`tests/bench/test_cuda.py`) and then ``thermal-scout bench`` in bf16 on CUDA for a
1B-class and an 8B-class catalog model with random weights (no download), and writes one JSON
file with the environment, the test outcome and each run's full ``--json`` result (tokens/s,
J/token gross and net, power, temperatures, throttle reasons, the prediction, and the counter
vs integrated-instant-power comparison in ``energy.components.instant_power``).
``benchmarks/run.py`` renders that file as the "GPU verification" section of BENCHMARKS.md.

Nothing here needs the network; a step whose dependency is missing is recorded with the reason
instead of failing the whole run.

Usage::

    python benchmarks/gpu_verify.py [--out benchmarks/results/gpu-verify.json] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "gpu-verify.json"
MODELS = ("meta-llama/Llama-3.2-1B", "meta-llama/Llama-3.1-8B")
"""A 1B-class and an 8B-class catalog model (random weights from their configs)."""
BENCH_ARGS = ("--device", "cuda", "--dtype", "bf16", "--prompt-tokens", "512", "--tokens", "256")


def _run(command: list[str], timeout_s: float) -> dict[str, Any]:
    """Run a command; its exit status, duration and output tails (never raises)."""
    started = time.monotonic()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, cwd=ROOT, env=env
        )
    except subprocess.TimeoutExpired as exc:
        tail = exc.stdout if isinstance(exc.stdout, str) else ""
        return {"returncode": None, "error": f"timed out after {timeout_s:.0f} s", "tail": tail}
    except OSError as exc:
        return {"returncode": None, "error": f"cannot run {command[0]}: {exc}"}
    return {
        "returncode": done.returncode,
        "seconds": round(time.monotonic() - started, 1),
        "stdout": done.stdout,
        "stderr_tail": done.stderr[-3000:],
    }


def environment() -> dict[str, Any]:
    """GPU, driver, torch and transformers as this interpreter sees them."""
    env: dict[str, Any] = {"python": platform.python_version(), "machine": platform.node()}
    smi = shutil.which("nvidia-smi")
    if smi:
        query = "--query-gpu=name,driver_version,memory.total,power.limit"
        result = _run([smi, query, "--format=csv,noheader"], 30)
        env["nvidia_smi"] = (result.get("stdout") or result.get("error") or "").strip()
    else:
        env["nvidia_smi"] = "nvidia-smi not found"
    try:
        import torch

        env["torch"] = torch.__version__
        env["torch_cuda"] = torch.version.cuda
        env["cuda_available"] = bool(torch.cuda.is_available())
        if env["cuda_available"]:
            env["device_name"] = torch.cuda.get_device_name(0)
    except ImportError as exc:
        env["torch"] = f"not installed: {exc}"
        env["cuda_available"] = False
    try:
        import transformers

        env["transformers"] = transformers.__version__
    except ImportError as exc:
        env["transformers"] = f"not installed: {exc}"
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON file to write")
    parser.add_argument("--quick", action="store_true", help="one repetition, short cooldown")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds per step")
    args = parser.parse_args(argv)

    report: dict[str, Any] = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "environment": environment(),
        "runs": [],
    }
    env = report["environment"]
    if not env.get("cuda_available"):
        report["skipped"] = "no CUDA device visible to torch (see environment)"
    else:
        pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        test = _run([*pytest, "tests/bench/test_cuda.py"], args.timeout)
        report["cuda_test"] = {
            "returncode": test.get("returncode"),
            "summary": (test.get("stdout") or test.get("error") or "").strip().splitlines()[-1:],
        }
        repeat = ["--repeat", "1", "--cooldown", "5"] if args.quick else ["--repeat", "3"]
        for model in MODELS:
            command = [sys.executable, "-m", "tui.cli", "bench", model, *BENCH_ARGS, *repeat]
            result = _run([*command, "--json", "--no-save"], args.timeout)
            entry: dict[str, Any] = {"model": model, "command": " ".join(command[2:])}
            try:
                entry["result"] = json.loads(result.get("stdout") or "")
            except ValueError:
                entry["error"] = result.get("error") or (result.get("stderr_tail") or "")[-600:]
                entry["returncode"] = result.get("returncode")
            report["runs"].append(entry)
            print(f"{model}: {'ok' if 'result' in entry else 'failed'}", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0 if report["runs"] and all("result" in r for r in report["runs"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
