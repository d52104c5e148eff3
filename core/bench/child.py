"""The benchmark's child process: ``python -m core.bench.child``.

The workload runs here so an out-of-memory, a crash or a cancel never takes the app down. The
parent (:mod:`core.bench.workload`) starts it in a new session (its own process group), writes
the backend configuration as the first line of its standard input, and then one command per
line; the child answers with JSON lines on its *original* standard output. Everything the
libraries print goes to standard error (file descriptor 1 is pointed at 2 at start-up), which
the parent keeps the last lines of for error reports.

Parent → child::

    {"config": {"backend": "transformers", ...}}
    {"op": "run", "prompt_tokens": 128, "new_tokens": 128}
    {"op": "quit"}                        (or end of input)

Child → parent::

    {"ev": "ready", "info": {...BackendInfo...}}
    {"ev": "tokens", "tokens": 17, "decode_s": 0.41}      (at most every 0.1 s)
    {"ev": "result", "timing": {...RunTiming...}}
    {"ev": "error", "kind": "oom" | "missing" | "error" | "crash", "message": "..."}

After an ``error`` the child exits with status 3. On Linux the child asks the kernel to kill it
if the parent dies (``PR_SET_PDEATHSIG``), so no orphan keeps a GPU busy.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
import traceback
from typing import IO, Any

ERROR_EXIT = 3
"""Exit status after a reported error."""

PROGRESS_EVERY_S = 0.1
"""Shortest time between two ``tokens`` events."""


def error_kind(exc: BaseException) -> str:
    """``oom`` for out-of-memory errors (Python's or torch's), else ``crash``.

    Example:
        >>> error_kind(MemoryError()), error_kind(ValueError())
        ('oom', 'crash')
    """
    if isinstance(exc, MemoryError) or type(exc).__name__.endswith("OutOfMemoryError"):
        return "oom"
    return "crash"


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class _Channel:
    """JSON lines to the parent on a private copy of the original stdout."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._last_progress = 0.0

    def send(self, message: dict[str, Any]) -> None:
        self._stream.write(json.dumps(message) + "\n")
        self._stream.flush()

    def tokens(self, tokens: int, decode_s: float) -> None:
        now = time.monotonic()
        if now - self._last_progress >= PROGRESS_EVERY_S:
            self._last_progress = now
            self.send({"ev": "tokens", "tokens": tokens, "decode_s": round(decode_s, 6)})


def _serve(channel: _Channel, commands: IO[str]) -> int:
    from core.bench.backends import load_backend
    from core.bench.errors import BackendMissing, BenchError

    first = commands.readline()
    if not first:
        return 0
    backend = None
    try:
        config = json.loads(first)["config"]
        backend = load_backend(config)
        info = backend.prepare()
        channel.send({"ev": "ready", "info": info.to_json()})
        for line in commands:
            command = json.loads(line)
            if command.get("op") != "run":
                break
            timing = backend.run_once(
                int(command.get("prompt_tokens") or 1),
                int(command.get("new_tokens") or 1),
                channel.tokens,
            )
            channel.send({"ev": "result", "timing": timing.to_json()})
    except BackendMissing as exc:
        channel.send({"ev": "error", "kind": "missing", "message": str(exc)})
        return ERROR_EXIT
    except BenchError as exc:
        channel.send({"ev": "error", "kind": "error", "message": str(exc)})
        return ERROR_EXIT
    except BaseException as exc:
        kind = error_kind(exc)
        text = str(exc).strip().splitlines()
        detail = text[0] if text else ""
        traceback.print_exc(file=sys.stderr)
        channel.send({"ev": "error", "kind": kind, "message": f"{type(exc).__name__}: {detail}"})
        return ERROR_EXIT
    finally:
        if backend is not None:
            with contextlib.suppress(Exception):  # closing must not hide a failure
                backend.close()
    return 0


def main() -> int:
    """Run the child: set up the channel, serve commands, return the exit status."""
    _die_with_parent()
    protocol_fd = os.dup(1)
    os.dup2(2, 1)  # whatever the libraries print goes to stderr, not into the protocol
    sys.stdout = os.fdopen(1, "w", buffering=1, encoding="utf-8", errors="replace")
    channel = _Channel(os.fdopen(protocol_fd, "w", encoding="utf-8"))
    return _serve(channel, sys.stdin)


if __name__ == "__main__":
    sys.exit(main())
