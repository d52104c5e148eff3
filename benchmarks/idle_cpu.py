"""Idle CPU and peak memory of each program, left alone at its default refresh.

Per run: launch in a fresh tmux server, wait for the first full frame, do the program's idle
set-up (Thermal Scout: ``send-keys 2`` → Thermals screen, 1 s sampling by default), wait 2 s,
then read ``utime + stime`` of the program's process (found under the pane's pid) from
``/proc/PID/stat`` at the start and the end of the window. CPU s/min and % of one core follow;
``VmHWM`` (peak RSS) comes from ``/proc/PID/status`` and bytes written (``wchar``, for a TUI
mostly terminal output) from ``/proc/PID/io``. The rest of the machine's CPU use during the
window is recorded too, as a noise indicator. Runs alternate between programs.

Usage::

    .venv/bin/python benchmarks/idle_cpu.py [--runs 3] [--window 60] [--only KEYS] [--json F]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    CLK_TCK,
    TmuxSession,
    cpu_ticks,
    is_alive,
    json_default,
    log,
    status_kib,
    summarize,
    system_ticks,
    wait_quiet,
    written_bytes,
)
from peers import Program, programs
from startup import select

FIRST_FRAME_TIMEOUT_S = 30.0
SETTLE_S = 2.0
QUIET_PCT = 30.0
QUIET_MAX_WAIT_S = 15.0
"""Before each launch, wait (at most 15 s) until the machine uses less than 30 % of one core;
the machine is shared."""


def measure_once(program: Program, window_s: float, settle_s: float = SETTLE_S) -> dict[str, Any]:
    """One idle window of ``program``; a dict with ``error`` when it could not be measured."""
    background = wait_quiet(QUIET_PCT, sample_s=1.0, max_wait_s=QUIET_MAX_WAIT_S)
    with TmuxSession(program.command, program.match) as session:
        session.start()
        first, _screen = session.wait_for(program.markers, FIRST_FRAME_TIMEOUT_S)
        if first is None:
            return {"error": f"no first frame in {FIRST_FRAME_TIMEOUT_S:.0f} s"}
        if program.idle_keys:
            session.send_keys(*program.idle_keys)
        if program.idle_ready:
            session.launched_at = time.perf_counter()
            ready, _screen = session.wait_for((program.idle_ready,), 10.0, poll_s=0.05)
            if ready is None:
                return {"error": f"screen never showed {program.idle_ready!r} after keys"}
        time.sleep(settle_s)
        pid = session.program_pid()
        if pid is None:
            return {"error": f"no process matching {program.match!r} under the pane"}
        ticks0, wchar0, sys0 = cpu_ticks(pid), written_bytes(pid), system_ticks()
        t0 = time.monotonic()
        deadline = t0 + window_s
        while time.monotonic() < deadline and is_alive(pid):
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        ticks1, wchar1, sys1 = cpu_ticks(pid), written_bytes(pid), system_ticks()
        wall = time.monotonic() - t0
        hwm, rss = status_kib(pid, "VmHWM"), status_kib(pid, "VmRSS")
        threads = status_kib(pid, "Threads")
        still_on = None
        if program.idle_ready:
            still_on = bool(re.search(program.idle_ready, session.capture()))
        if ticks0 is None or ticks1 is None or not is_alive(pid):
            return {"error": "process exited during the window"}
    cpu_s = (ticks1 - ticks0) / CLK_TCK
    busy = (sys1[0] - sys0[0]) / CLK_TCK
    total = (sys1[1] - sys0[1]) / CLK_TCK
    cores = os.cpu_count() or 1
    other_pct = 100.0 * max(0.0, busy - cpu_s) / total * cores if total else None
    return {
        "pid": pid,
        "wall_s": wall,
        "cpu_s": cpu_s,
        "cpu_s_per_min": cpu_s / wall * 60.0,
        "pct_one_core": 100.0 * cpu_s / wall,
        "written_bytes_per_s": (wchar1 - wchar0) / wall if wchar0 is not None and wchar1 else None,
        "vm_hwm_kib": hwm,
        "vm_rss_kib": rss,
        "threads": threads,
        "other_load_pct_one_core": other_pct,
        "still_on_screen": still_on,
        "background_before_pct_one_core": background,
    }


def measure(progs: list[Program], runs: int = 3, window_s: float = 60.0) -> dict[str, Any]:
    """``runs`` alternating rounds of one window per program."""
    measured = [p for p in progs if p.available]
    samples: dict[str, list[dict[str, Any]]] = {p.key: [] for p in measured}
    errors: dict[str, list[str]] = {p.key: [] for p in measured}
    for round_no in range(runs):
        shift = round_no % max(1, len(measured))
        for program in measured[shift:] + measured[:shift]:
            entry = measure_once(program, window_s)
            if "error" in entry:
                errors[program.key].append(f"run {round_no + 1}: {entry['error']}")
                log(f"idle run {round_no + 1}/{runs}: {program.key:14} error: {entry['error']}")
            else:
                samples[program.key].append(entry)
                log(
                    f"idle run {round_no + 1}/{runs}: {program.key:14} "
                    f"{entry['pct_one_core']:.2f} % of one core, "
                    f"VmHWM {entry['vm_hwm_kib'] / 1024:.1f} MiB, "
                    f"others {entry['other_load_pct_one_core']:.1f} %"
                )
            time.sleep(0.5)
    results: dict[str, Any] = {}
    for program in progs:
        if not program.available:
            results[program.key] = {"measured": False, "reason": program.reason}
            continue
        runs_ = samples[program.key]
        results[program.key] = {
            "measured": True,
            "refresh": program.refresh,
            "runs": runs_,
            "errors": errors[program.key],
            "pct_one_core": summarize(r["pct_one_core"] for r in runs_),
            "cpu_s_per_min": summarize(r["cpu_s_per_min"] for r in runs_),
            "vm_hwm_mib": summarize(r["vm_hwm_kib"] / 1024 for r in runs_ if r["vm_hwm_kib"]),
            "written_bytes_per_s": summarize(
                r["written_bytes_per_s"] for r in runs_ if r["written_bytes_per_s"] is not None
            ),
            "other_load_pct_one_core": summarize(
                r["other_load_pct_one_core"]
                for r in runs_
                if r["other_load_pct_one_core"] is not None
            ),
        }
    return {"runs": runs, "window_s": window_s, "settle_s": SETTLE_S, "programs": results}


def main(argv: list[str] | None = None) -> int:
    """Command line: measure and print (optionally write JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="windows per program")
    parser.add_argument("--window", type=float, default=60.0, help="seconds per window")
    parser.add_argument("--only", help="comma-separated program keys")
    parser.add_argument("--json", type=Path, help="write the raw results here")
    args = parser.parse_args(argv)
    result = measure(select(programs(), args.only), runs=args.runs, window_s=args.window)
    for key, entry in result["programs"].items():
        if not entry["measured"]:
            log(f"{key:14} not measured: {entry['reason']}")
        elif entry["pct_one_core"]["n"]:
            s = entry["pct_one_core"]
            log(
                f"{key:14} {s['median']:.2f} % of one core ({s['min']:.2f}–{s['max']:.2f}, "
                f"n={s['n']})"
            )
        else:
            log(f"{key:14} no successful run: {entry['errors'][:1]}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=json_default))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
