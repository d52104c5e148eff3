"""Shared helpers of the benchmark harness: tmux sessions, /proc readings and statistics.

Every program under test runs in its own tmux server (``tmux -L NAME``) at a fixed size. A
:class:`TmuxSession` is a context manager: leaving it kills the server and waits (bounded) for
every process that ran in the pane to be gone, killing stragglers by pid.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import statistics
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
PROJECT_PYTHON = ROOT / ".venv" / "bin" / "python"
PEER_ENV = BENCH_DIR / ".env"

WIDTH = 200
HEIGHT = 50
POLL_S = 0.01
CLK_TCK = os.sysconf("SC_CLK_TCK")

_counter = 0


def program_env() -> dict[str, str]:
    """The environment every program under test gets.

    ``PYTHONDONTWRITEBYTECODE`` is dropped so that a Python program run from source (Thermal
    Scout's editable install, the bare app) caches its bytecode on the warm-up run, as it does
    on a user's machine; pip-installed peers have theirs from installation.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("LANG", "C.UTF-8")
    return env


def next_socket() -> str:
    """A fresh tmux socket name, ``bench-N`` (plus our pid, so two harnesses never collide)."""
    global _counter
    _counter += 1
    return f"bench-{os.getpid()}-{_counter}"


# -- /proc -----------------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of ``/proc/PID/stat`` after the command name (index 0 is field 3, the state)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def parent_of(pid: int) -> int | None:
    """The parent pid, or None if the process is gone."""
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def start_time(pid: int) -> int | None:
    """The process start time in clock ticks since boot (identifies a pid against reuse)."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def is_alive(pid: int, started: int | None = None) -> bool:
    """True while ``pid`` exists, is not a zombie and (if given) has the same start time."""
    fields = _stat_fields(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return False
    return started is None or int(fields[19]) == started


def cpu_ticks(pid: int) -> int | None:
    """``utime + stime`` of the whole process (all threads), in clock ticks."""
    fields = _stat_fields(pid)
    return int(fields[11]) + int(fields[12]) if fields else None


def status_kib(pid: int, key: str) -> int | None:
    """A ``kB`` field of ``/proc/PID/status`` such as ``VmHWM`` or ``VmRSS``."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def written_bytes(pid: int) -> int | None:
    """``wchar`` of ``/proc/PID/io``: bytes the process wrote (for a TUI, mostly the terminal)."""
    try:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("wchar:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def cmdline(pid: int) -> str:
    """The command line, space-separated ('' if gone)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def descendants(pid: int) -> list[int]:
    """All live descendants of ``pid``, breadth first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            ppid = parent_of(int(entry.name))
            if ppid is not None:
                children.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop(0)
        for child in sorted(children.get(current, [])):
            out.append(child)
            todo.append(child)
    return out


def system_ticks() -> tuple[int, int]:
    """``(busy, total)`` clock ticks of all CPUs from ``/proc/stat``."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])
    return total - idle, total


def machine_busy_pct(seconds: float) -> float:
    """CPU use of the whole machine over ``seconds``, in % of one core (2 cores busy = 200)."""
    busy0, total0 = system_ticks()
    time.sleep(seconds)
    busy1, total1 = system_ticks()
    cores = os.cpu_count() or 1
    return 100.0 * cores * (busy1 - busy0) / max(1, total1 - total0)


def wait_quiet(
    threshold_pct: float = 30.0, sample_s: float = 0.5, max_wait_s: float = 30.0
) -> float:
    """Wait (bounded) until other processes use less than ``threshold_pct`` of one core.

    The machine is shared; this keeps launches out of the worst bursts of someone else's work.
    Returns the last busy figure seen (recorded with each measurement as a noise indicator).
    """
    deadline = time.monotonic() + max_wait_s
    busy = machine_busy_pct(sample_s)
    while busy > threshold_pct and time.monotonic() < deadline:
        busy = machine_busy_pct(sample_s)
    return busy


# -- tmux ------------------------------------------------------------------------------------


class TmuxError(RuntimeError):
    """tmux failed or a wait ran out."""


class TmuxSession:
    """One program in its own tmux server, killed (with everything it started) on exit.

    Args:
        command: The argv of the program.
        match: A substring of the program's command line, used to find its process in the pane.
        cwd: Working directory of the pane.
    """

    def __init__(self, command: Sequence[str], match: str, cwd: Path = ROOT) -> None:
        self.command = list(command)
        self.match = match
        self.cwd = cwd
        self.socket = next_socket()
        self.launched_at: float | None = None
        self._known: dict[int, int | None] = {}
        tmpdir = os.environ.get("TMUX_TMPDIR") or "/tmp"
        self._socket_path = Path(tmpdir) / f"tmux-{os.getuid()}" / self.socket

    def _tmux(self, *args: str, timeout: float = 5.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=program_env(),
            check=False,
        )

    def start(self) -> float:
        """Launch; returns the ``perf_counter`` time taken just before launching."""
        shell_command = "exec " + shlex.join(self.command)
        t0 = time.perf_counter()
        result = self._tmux(
            "new-session",
            "-d",
            "-x",
            str(WIDTH),
            "-y",
            str(HEIGHT),
            "-c",
            str(self.cwd),
            shell_command,
        )
        if result.returncode != 0:
            raise TmuxError(f"tmux new-session failed: {result.stderr.strip()}")
        self.launched_at = t0
        return t0

    def __enter__(self) -> TmuxSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def capture(self) -> str:
        """The visible pane as plain text ('' if the server is gone)."""
        result = self._tmux("capture-pane", "-p")
        return result.stdout if result.returncode == 0 else ""

    def send_keys(self, *keys: str) -> None:
        """Type keys into the pane."""
        self._tmux("send-keys", *keys)

    def pane_pid(self) -> int | None:
        """The pid tmux started for the pane (a shell or, with ``exec``, the program)."""
        result = self._tmux("display-message", "-p", "#{pane_pid}")
        text = result.stdout.strip()
        return int(text) if result.returncode == 0 and text.isdigit() else None

    def _server_pid(self) -> int | None:
        result = self._tmux("display-message", "-p", "#{pid}")
        text = result.stdout.strip()
        return int(text) if result.returncode == 0 and text.isdigit() else None

    def _remember(self) -> None:
        """Note every process of the pane (and the server) so close() can make sure they end."""
        for pid in (self._server_pid(), self.pane_pid()):
            if pid is not None:
                self._known.setdefault(pid, start_time(pid))
                for child in descendants(pid):
                    self._known.setdefault(child, start_time(child))

    def program_pid(self, timeout: float = 5.0) -> int | None:
        """The program's own process: the pane pid or its descendant whose command matches."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pane = self.pane_pid()
            if pane is not None:
                for pid in [pane, *descendants(pane)]:
                    if self.match in cmdline(pid):
                        self._known.setdefault(pid, start_time(pid))
                        return pid
            time.sleep(0.05)
        return None

    def wait_for(
        self, patterns: Sequence[str], timeout: float, poll_s: float = POLL_S
    ) -> tuple[float | None, str]:
        """Poll the pane until every regex in ``patterns`` matches.

        Returns:
            Seconds from launch to the capture that first showed all markers (None on timeout)
            and the last screen captured.
        """
        assert self.launched_at is not None, "start() first"
        compiled = [re.compile(p, re.MULTILINE) for p in patterns]
        screen = ""
        while True:
            polled_at = time.perf_counter()
            screen = self.capture()
            now = time.perf_counter()
            if all(p.search(screen) for p in compiled):
                return now - self.launched_at, screen
            if now - self.launched_at > timeout:
                return None, screen
            time.sleep(max(0.0, poll_s - (time.perf_counter() - polled_at)))

    def close(self, timeout: float = 5.0) -> None:
        """Kill the tmux server; wait for the pane's processes to end, then kill leftovers."""
        self._remember()
        self._tmux("kill-server")
        try:
            self._wait_gone(timeout)
        finally:
            self._socket_path.unlink(missing_ok=True)  # tmux 3.3 leaves the socket file behind

    def _wait_gone(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not any(is_alive(pid, started) for pid, started in self._known.items()):
                return
            time.sleep(0.05)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid, started in self._known.items():
                if is_alive(pid, started):
                    with contextlib.suppress(OSError):
                        os.kill(pid, sig)
            end = time.monotonic() + 2.0
            while time.monotonic() < end:
                if not any(is_alive(pid, started) for pid, started in self._known.items()):
                    return
                time.sleep(0.05)


# -- statistics ------------------------------------------------------------------------------


def summarize(values: Iterable[float]) -> dict[str, Any]:
    """Median, min, max and count of ``values`` (all None when there are none)."""
    data = sorted(values)
    if not data:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {
        "median": statistics.median(data),
        "min": data[0],
        "max": data[-1],
        "n": len(data),
    }


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (nearest rank) of ``values``."""
    data = sorted(values)
    rank = max(0, min(len(data) - 1, round(pct / 100 * len(data) + 0.5) - 1))
    return data[rank]


def log(message: str) -> None:
    """Progress line on stdout (flushed: ``make bench`` runs for many minutes)."""
    print(message, flush=True)


def json_default(value: object) -> Any:
    """JSON encoder fallback for Paths and mappings."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
