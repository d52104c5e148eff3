"""Where Thermal Scout's time goes: start-up and idle profiles (a helper, not run by make bench).

Modes:

- ``startup``: py-spy samples the real app in tmux from launch to its first full frame;
  prints the functions with the most samples (inclusive and self).
- ``idle``: on the Thermals screen at the default 1 s interval, (a) py-spy samples all threads
  for ``--duration`` seconds, and (b) cProfile profiles the UI thread for the same time (the
  app runs in this module's ``inner`` mode, which enables the profiler from a timer);
  the cProfile table is divided by the number of telemetry refreshes to give a per-refresh cost.

py-spy lives in ``benchmarks/.env`` (``benchmarks/.env/bin/pip install py-spy``).

Usage::

    .venv/bin/python benchmarks/profile_app.py startup
    .venv/bin/python benchmarks/profile_app.py idle [--duration 30]
"""

from __future__ import annotations

import argparse
import collections
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PEER_ENV, PROJECT_PYTHON, ROOT, TmuxSession, is_alive, log

PY_SPY = PEER_ENV / "bin" / "py-spy"
APP_MARKERS = (r"│ CPU {2,}\S", r"\d Thermals\b")
THERMALS = r"Thermal Scout — Thermals"


def _aggregate(collapsed: str, top: int) -> None:
    """Print the frames with most samples (inclusive and self) from py-spy's raw output."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        threads[frames[0]] += count
        for frame in set(frames[1:]):
            inclusive[frame] += count
        own[frames[-1]] += count
    if not total:
        log("no samples")
        return
    log(f"{total} samples")
    for thread, count in threads.most_common(6):
        log(f"  thread {thread}: {100 * count / total:5.1f} %")
    log("inclusive:")
    for frame, count in inclusive.most_common(top):
        log(f"  {100 * count / total:5.1f} %  {frame}")
    log("self:")
    for frame, count in own.most_common(top):
        log(f"  {100 * count / total:5.1f} %  {frame}")


def _py_spy_command(out: Path, rate: int, extra: list[str]) -> list[str]:
    return [
        str(PY_SPY),
        "record",
        "--rate",
        str(rate),
        "--format",
        "raw",
        "--threads",
        "--nonblocking",
        "-o",
        str(out),
        *extra,
    ]


def profile_startup(top: int) -> None:
    """py-spy from launch to the first full frame."""
    with tempfile.TemporaryDirectory(prefix="ts-profile-") as tmp:
        out = Path(tmp) / "startup.txt"
        command = [
            *_py_spy_command(out, 1000, []),
            "--",
            str(ROOT / ".venv" / "bin" / "thermal-scout"),
        ]
        with TmuxSession(command, "thermal-scout") as session:
            session.start()
            first, _screen = session.wait_for(APP_MARKERS, 30.0)
            log(f"first frame after {first} s (under py-spy)")
            pid = session.program_pid()
            session.send_keys("q")
            _wait_exit(pid, out)
        _aggregate(out.read_text() if out.exists() else "", top)


def _wait_exit(pid: int | None, out: Path, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (pid is None or not is_alive(pid)) and out.exists() and out.stat().st_size:
            time.sleep(0.5)
            return
        time.sleep(0.1)


def profile_idle(duration: float, top: int) -> None:
    """py-spy on all threads, then cProfile of the UI thread, on the Thermals screen."""
    with tempfile.TemporaryDirectory(prefix="ts-profile-") as tmp:
        spy_out = Path(tmp) / "idle.txt"
        with TmuxSession([str(ROOT / ".venv" / "bin" / "thermal-scout")], "thermal-scout") as s:
            s.start()
            s.wait_for(APP_MARKERS, 30.0)
            s.send_keys("2")
            s.launched_at = time.perf_counter()
            s.wait_for((THERMALS,), 10.0)
            time.sleep(2.0)
            pid = s.program_pid()
            assert pid is not None
            subprocess.run(
                [*_py_spy_command(spy_out, 250, ["--pid", str(pid)]), "-d", str(int(duration))],
                capture_output=True,
                timeout=duration + 60,
                check=False,
            )
        log(f"== py-spy, all threads, {duration:.0f} s on the Thermals screen (250 Hz)")
        _aggregate(spy_out.read_text() if spy_out.exists() else "", top)

        stats_out = Path(tmp) / "idle.pstats"
        delay = 4.0
        inner = [
            str(PROJECT_PYTHON),
            str(Path(__file__).resolve()),
            "inner",
            "--stats",
            str(stats_out),
            "--delay",
            str(delay),
            "--duration",
            str(duration),
        ]
        with TmuxSession(inner, "profile_app.py") as s:
            s.start()
            s.wait_for(APP_MARKERS, 30.0)
            s.send_keys("2")
            deadline = time.monotonic() + delay + duration + 30
            while time.monotonic() < deadline and not stats_out.exists():
                time.sleep(0.5)
            time.sleep(0.5)
            s.send_keys("q")
        if not stats_out.exists():
            log("cProfile: no stats written")
            return
        stats = pstats.Stats(str(stats_out))
        refreshes = sum(
            calls
            for (file, _line, name), (_cc, calls, *_rest) in stats.stats.items()
            if name == "_telemetry_sampled" and file.endswith("app.py")
        )
        log(f"== cProfile, UI thread, {duration:.0f} s, {refreshes} telemetry refreshes")
        total = stats.total_tt
        log(
            f"UI-thread CPU in profiled functions: {total:.3f} s "
            f"({1000 * total / max(1, refreshes):.2f} ms per refresh)"
        )
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top)


def inner(stats_path: Path, delay: float, duration: float) -> int:
    """Run the app; profile its UI thread from ``delay`` to ``delay + duration`` seconds."""
    import cProfile

    from core.config import load_settings
    from tui.app import ThermalScoutApp

    profiler = cProfile.Profile()
    app = ThermalScoutApp(settings=load_settings(None))

    def stop() -> None:
        profiler.disable()
        profiler.dump_stats(str(stats_path))

    def start() -> None:
        profiler.enable()
        app.set_timer(duration, stop)

    original = ThermalScoutApp.on_mount

    def on_mount(self: ThermalScoutApp) -> None:
        original(self)
        self.set_timer(delay, start)

    ThermalScoutApp.on_mount = on_mount
    app.run()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("startup", "idle", "inner"))
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--delay", type=float, default=4.0)
    parser.add_argument("--stats", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    if args.mode == "inner":
        return inner(args.stats, args.delay, args.duration)
    if not PY_SPY.exists() or not shutil.which("tmux"):
        log(f"needs tmux and {PY_SPY} (benchmarks/.env/bin/pip install py-spy)")
        return 1
    if args.mode == "startup":
        profile_startup(args.top)
    else:
        profile_idle(args.duration, args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
