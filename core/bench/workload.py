"""The parent's handle on the benchmark's child process (see :mod:`core.bench.child`).

The child runs in a new session, so it has its own process group: a cancel sends ``SIGTERM`` to
the whole group (the backend and anything it started, such as a benchmarked command), then
``SIGKILL`` after :data:`KILL_AFTER_S`, and reaps it. A child that dies — out of memory, a
segmentation fault, ``os._exit`` — becomes a :class:`WorkloadFailed` with a plain reason and the
last lines it printed; the parent carries on.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from core.bench.backends import BackendInfo, RunTiming
from core.bench.errors import BackendMissing, BenchError

KILL_AFTER_S = 0.5
"""Seconds between ``SIGTERM`` and ``SIGKILL`` on cancel."""

QUIT_TIMEOUT_S = 10.0
"""Seconds a child may take to release its model after ``quit`` before it is killed."""

POLL_S = 0.05
"""How often waits check for a cancel."""

STDERR_LINES = 40
"""Lines of the child's standard error kept for reports."""


class WorkloadFailed(BenchError):
    """The child reported an error or died.

    Attributes:
        kind: ``oom``, ``missing``, ``error``, ``crash`` or ``died``.
    """

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        super().__init__(message)


class Cancelled(Exception):
    """The run was cancelled (internal to the runner; never shown as an error)."""


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def death_reason(returncode: int) -> str:
    """Plain words for how a child ended without reporting an error.

    Example:
        >>> death_reason(-9)
        'the workload process was killed (SIGKILL), most likely by the out-of-memory killer'
        >>> death_reason(-11)
        'the workload process crashed (SIGSEGV, segmentation fault)'
        >>> death_reason(1)
        'the workload process exited unexpectedly with status 1'
    """
    if returncode == -signal.SIGKILL:
        return "the workload process was killed (SIGKILL), most likely by the out-of-memory killer"
    if returncode == -signal.SIGSEGV:
        return "the workload process crashed (SIGSEGV, segmentation fault)"
    if returncode < 0:
        return f"the workload process was killed by {_signal_name(-returncode)}"
    return f"the workload process exited unexpectedly with status {returncode}"


def child_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The child's environment: offline Hub, NVML's GPU order for CUDA, this package importable."""
    env = dict(os.environ if base is None else base)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    env["HF_HUB_OFFLINE"] = "1"
    env["HF_HUB_DISABLE_TELEMETRY"] = "1"
    env["TOKENIZERS_PARALLELISM"] = "false"
    env["PYTHONUNBUFFERED"] = "1"
    # cuda:N then means NVML index N, so the sampler watches the GPU the model runs on.
    env.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    return env


_EOF = object()


class ChildProcess:
    """One child process serving one backend configuration.

    Args:
        config: The backend configuration (JSON-able).
        python: Interpreter to run the child with.
        env: Environment (default :func:`child_environment`).
    """

    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        python: str = sys.executable,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.config = dict(config)
        self.python = python
        self.env = dict(env) if env is not None else child_environment()
        self.process: subprocess.Popen[str] | None = None
        self._events: queue.Queue[Any] = queue.Queue()
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._error: tuple[str, str] | None = None

    # -- life cycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Start the child and send it the configuration."""
        try:
            process = self._popen()
        except OSError as exc:
            raise WorkloadFailed(
                "died", f"cannot start the workload process ({self.python}): {exc.strerror}"
            ) from None
        with self._lock:
            self.process = process
        assert process.stdout is not None and process.stderr is not None
        for target, stream in (
            (self._read_events, process.stdout),
            (self._read_stderr, process.stderr),
        ):
            thread = threading.Thread(target=target, args=(stream,), daemon=True)
            thread.start()
            self._threads.append(thread)
        self._send({"config": self.config})

    def _popen(self) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [self.python, "-m", "core.bench.child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            env=self.env,
            start_new_session=True,
        )

    def _read_events(self, stream: IO[str]) -> None:
        for line in stream:
            try:
                self._events.put(json.loads(line))
            except json.JSONDecodeError:
                self._stderr.append(line.rstrip("\n"))
        self._events.put(_EOF)

    def _read_stderr(self, stream: IO[str]) -> None:
        for line in stream:
            self._stderr.append(line.rstrip("\n"))

    def _send(self, message: Mapping[str, Any]) -> None:
        process = self.process
        if process is None or process.stdin is None:
            return
        try:
            process.stdin.write(json.dumps(message) + "\n")
            process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the child is gone; the event reader reports how

    @property
    def pid(self) -> int | None:
        """The child's process id (also its process group id)."""
        return None if self.process is None else self.process.pid

    def stderr_tail(self, lines: int = 3) -> list[str]:
        """The last non-empty lines the child wrote to standard error."""
        kept = [line for line in self._stderr if line.strip()]
        return kept[-lines:]

    # -- talking -----------------------------------------------------------------------------
    def _failure(self) -> WorkloadFailed:
        process = self.process
        if self._error is not None:
            kind, message = self._error
            if kind == "oom":
                message = f"out of memory: {message}"
            return WorkloadFailed(kind, message)
        returncode = None
        if process is not None:
            try:
                returncode = process.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                returncode = None
        reason = (
            death_reason(returncode)
            if returncode is not None
            else "the workload process stopped answering"
        )
        tail = self.stderr_tail()
        if tail:
            reason += "; last output: " + " | ".join(line.strip() for line in tail)
        return WorkloadFailed("died", reason)

    def next_event(self, cancelled: threading.Event) -> dict[str, Any]:
        """The next message from the child, waiting as long as it takes.

        Raises:
            Cancelled: ``cancelled`` was set.
            WorkloadFailed: The child reported an error or died.
        """
        while True:
            if cancelled.is_set():
                raise Cancelled
            try:
                event = self._events.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if event is _EOF:
                if cancelled.is_set():
                    raise Cancelled
                raise self._failure()
            if not isinstance(event, dict):
                continue
            if event.get("ev") == "error":
                self._error = (str(event.get("kind")), str(event.get("message")))
                if cancelled.is_set():
                    raise Cancelled
                if self._error[0] == "missing":
                    raise BackendMissing(self._error[1])
                raise self._failure()
            return event

    def wait_ready(self, cancelled: threading.Event) -> BackendInfo:
        """Wait until the backend has loaded its model."""
        while True:
            event = self.next_event(cancelled)
            if event.get("ev") == "ready":
                return BackendInfo.from_json(event.get("info") or {})

    def run(
        self,
        prompt_tokens: int,
        new_tokens: int,
        cancelled: threading.Event,
        on_tokens: Callable[[int, float], None] | None = None,
    ) -> RunTiming:
        """Run the workload once and wait for its timing."""
        self._send({"op": "run", "prompt_tokens": prompt_tokens, "new_tokens": new_tokens})
        while True:
            event = self.next_event(cancelled)
            kind = event.get("ev")
            if kind == "tokens" and on_tokens is not None:
                on_tokens(int(event.get("tokens") or 0), float(event.get("decode_s") or 0.0))
            elif kind == "result":
                return RunTiming.from_json(event.get("timing") or {})

    # -- stopping ----------------------------------------------------------------------------
    def terminate(self) -> None:
        """Send ``SIGTERM`` to the child's process group (non-blocking; any thread)."""
        self._signal_group(signal.SIGTERM)

    def _signal_group(self, signum: int) -> None:
        process = self.process
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signum)

    def kill(self) -> None:
        """Stop the child's process group now: ``SIGTERM``, ``SIGKILL`` after 0.5 s; reap it."""
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                process.wait(timeout=KILL_AFTER_S)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=2.0)
        self._signal_group(signal.SIGKILL)  # anything the child started and left behind
        self._close_pipes()

    def quit(self) -> None:
        """Ask the child to release its model and exit; kill it if it does not in time."""
        process = self.process
        if process is None:
            return
        self._send({"op": "quit"})
        if process.stdin is not None:
            with contextlib.suppress(OSError, BrokenPipeError, ValueError):
                process.stdin.close()
        deadline = time.monotonic() + QUIT_TIMEOUT_S
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(POLL_S)
        self.kill()

    def _close_pipes(self) -> None:
        process = self.process
        if process is None:
            return
        for thread in self._threads:
            thread.join(timeout=1.0)
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                with contextlib.suppress(OSError, BrokenPipeError, ValueError):
                    stream.close()
