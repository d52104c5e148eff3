"""Cold start to first full frame, per program, as a person sees it.

Each launch gets its own tmux server (``tmux -L bench-N new-session -d -x 200 -y 50 CMD``);
``capture-pane -p`` is polled every 10 ms from the moment of launch until all of the program's
markers are on screen (see :mod:`peers`). One warm-up launch per program, then ``runs`` counted
launches, alternating programs launch by launch (the order rotates each round).

Usage::

    .venv/bin/python benchmarks/startup.py [--runs 10] [--only thermal-scout,htop] [--json F]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    TmuxError,
    TmuxSession,
    json_default,
    log,
    summarize,
    wait_quiet,
)
from peers import Program, programs

TIMEOUT_S = 20.0
"""Longest wait for a first frame before a launch counts as failed."""

PAUSE_S = 0.5
"""Pause between launches so one program's exit does not overlap the next one's start."""

QUIET_PCT = 30.0
QUIET_MAX_WAIT_S = 5.0
"""Before each launch, wait (at most 5 s) until the machine uses less than 30 % of one core
over half a second; the figure seen is kept as a noise indicator."""


def launch_once(program: Program, timeout: float = TIMEOUT_S) -> tuple[float | None, str]:
    """Launch ``program`` in a fresh tmux server; seconds to its first full frame (or None)."""
    with TmuxSession(program.command, program.match) as session:
        session.start()
        seconds, screen = session.wait_for(program.markers, timeout)
    return seconds, screen


def measure(
    progs: list[Program], runs: int = 10, warmup: int = 1, timeout: float = TIMEOUT_S
) -> dict[str, Any]:
    """Warm-up, then ``runs`` alternating rounds; per program the times and their summary."""
    measured = [p for p in progs if p.available]
    times: dict[str, list[float]] = {p.key: [] for p in measured}
    background: dict[str, list[float]] = {p.key: [] for p in measured}
    failures: dict[str, list[str]] = {p.key: [] for p in measured}
    for round_no in range(warmup):
        for program in measured:
            seconds, screen = launch_once(program, timeout)
            log(f"startup warm-up {round_no + 1}: {program.key:14} {_fmt(seconds)}")
            if seconds is None:
                failures[program.key].append(f"warm-up: no first frame in {timeout:.0f} s")
            time.sleep(PAUSE_S)
    for round_no in range(runs):
        shift = round_no % max(1, len(measured))
        order = measured[shift:] + measured[:shift]
        for program in order:
            background[program.key].append(wait_quiet(QUIET_PCT, max_wait_s=QUIET_MAX_WAIT_S))
            try:
                seconds, screen = launch_once(program, timeout)
            except TmuxError as exc:
                failures[program.key].append(str(exc))
                continue
            if seconds is None:
                last = " / ".join(line.strip() for line in screen.splitlines() if line.strip())
                failures[program.key].append(
                    f"run {round_no + 1}: no first frame in {timeout:.0f} s; screen: {last[:200]}"
                )
            else:
                times[program.key].append(seconds)
            log(f"startup run {round_no + 1}/{runs}: {program.key:14} {_fmt(seconds)}")
            time.sleep(PAUSE_S)
    results: dict[str, Any] = {}
    for program in progs:
        if not program.available:
            results[program.key] = {"measured": False, "reason": program.reason}
            continue
        results[program.key] = {
            "measured": True,
            "times_s": times[program.key],
            "summary": summarize(times[program.key]),
            "failures": failures[program.key],
            "background_pct_one_core": summarize(background[program.key]),
            "markers": list(program.markers),
            "marker_note": program.marker_note,
        }
    return {
        "runs": runs,
        "warmup": warmup,
        "poll_s": 0.01,
        "quiet_threshold_pct": QUIET_PCT,
        "timeout_s": timeout,
        "programs": results,
    }


def _fmt(seconds: float | None) -> str:
    return "timeout" if seconds is None else f"{seconds:.3f} s"


def select(progs: list[Program], only: str | None) -> list[Program]:
    """The programs named in a comma-separated ``only`` (all when None)."""
    if not only:
        return progs
    wanted = {name.strip() for name in only.split(",")}
    return [p for p in progs if p.key in wanted]


def main(argv: list[str] | None = None) -> int:
    """Command line: measure and print (optionally write JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="counted launches per program")
    parser.add_argument("--warmup", type=int, default=1, help="uncounted launches per program")
    parser.add_argument("--only", help="comma-separated program keys")
    parser.add_argument("--json", type=Path, help="write the raw results here")
    args = parser.parse_args(argv)
    result = measure(select(programs(), args.only), runs=args.runs, warmup=args.warmup)
    for key, entry in result["programs"].items():
        if not entry["measured"]:
            log(f"{key:14} not measured: {entry['reason']}")
            continue
        s = entry["summary"]
        if s["n"]:
            log(f"{key:14} median {s['median']:.3f} s  ({s['min']:.3f}–{s['max']:.3f}, n={s['n']})")
        else:
            log(f"{key:14} no successful launch: {entry['failures'][:1]}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=json_default))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
