"""The ``command`` backend: run any program and count its tokens.

The program runs in the benchmark's child process group, so cancelling the benchmark kills it
too. Its standard output and error are read line by line (merged). The token count per run is
``tokens`` when the user gave one, else the number the ``token_regex`` finds in the *last*
matching line (see :func:`parse_token_count`), else unknown (time and energy only).

A non-zero exit status, a regular expression that never matched, or no output at all when a
count was to be parsed from it, fail the run with the exit status and the last lines.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from core.bench.backends import BackendInfo, RunTiming, TokenCallback
from core.bench.errors import BenchError

TAIL_LINES = 12
"""Lines of output kept for reports."""

_NUMBER = re.compile(r"\d[\d,_]*")


def compile_token_regex(pattern: str) -> re.Pattern[str]:
    """Compile a ``--token-regex``.

    Raises:
        BenchError: Not a valid regular expression (the message says where).
    """
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise BenchError(
            f"--token-regex {pattern!r} is not a valid regular expression: {exc}"
        ) from None


def parse_token_count(line: str, regex: re.Pattern[str]) -> int | None:
    """The token count in ``line``: the group named ``tokens``, else the first group, else the
    whole match; its first integer (``1,024`` and ``1_024`` allowed).

    Example:
        >>> parse_token_count("generated 128 tokens in 2.1 s", re.compile(r"(\\d+) tokens"))
        128
        >>> parse_token_count("eval: n=1,024", re.compile(r"n=(?P<tokens>[\\d,]+)"))
        1024
        >>> parse_token_count("nothing here", re.compile(r"(\\d+) tokens")) is None
        True
    """
    match = regex.search(line)
    if match is None:
        return None
    if "tokens" in regex.groupindex and match.group("tokens") is not None:
        text = match.group("tokens")
    else:
        groups = [g for g in match.groups() if g is not None]
        text = groups[0] if groups else match.group(0)
    number = _NUMBER.search(text)
    if number is None:
        return None
    return int(number.group(0).replace(",", "").replace("_", ""))


def _tail(lines: Sequence[str]) -> str:
    if not lines:
        return "no output"
    return "last lines: " + " | ".join(line.strip() for line in lines[-4:])


class CommandBackend:
    """Config keys: ``argv`` (list of strings), ``tokens`` (int or None), ``token_regex``."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.argv = [str(a) for a in config.get("argv") or ()]
        tokens = config.get("tokens")
        self.tokens = None if tokens is None else int(tokens)
        pattern = config.get("token_regex")
        self.regex = compile_token_regex(str(pattern)) if pattern else None

    def prepare(self) -> BackendInfo:
        """Check there is a command."""
        if not self.argv:
            raise BenchError("no command to run: give it after --, e.g. -- llama-bench -m FILE")
        return BackendInfo(device_name="external", weights=None, notes=(" ".join(self.argv),))

    def run_once(self, prompt_tokens: int, new_tokens: int, on_tokens: TokenCallback) -> RunTiming:
        """Run the command to completion."""
        start = time.perf_counter()
        try:
            process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                bufsize=1,
            )
        except FileNotFoundError:
            raise BenchError(f"command not found: {self.argv[0]}") from None
        except PermissionError:
            raise BenchError(f"command not executable: {self.argv[0]}") from None
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        parsed: int | None = None
        lines = 0
        assert process.stdout is not None
        for line in process.stdout:
            lines += 1
            tail.append(line.rstrip("\n"))
            if self.regex is not None:
                found = parse_token_count(line, self.regex)
                if found is not None:
                    parsed = found
                    on_tokens(found, time.perf_counter() - start)
        status = process.wait()
        wall = time.perf_counter() - start
        kept = tuple(tail)
        if status != 0:
            what = f"killed by signal {-status}" if status < 0 else f"exited with status {status}"
            raise BenchError(f"command {what}; {_tail(kept)}")
        if self.tokens is not None:
            tokens: int | None = self.tokens
        elif self.regex is not None:
            if lines == 0:
                raise BenchError(
                    "command produced no output (exit status 0), so no token count could be "
                    f"parsed with --token-regex {self.regex.pattern!r}"
                )
            if parsed is None:
                raise BenchError(
                    f"--token-regex {self.regex.pattern!r} matched no line of the output "
                    f"(exit status 0); {_tail(kept)}"
                )
            tokens = parsed
        else:
            tokens = None
        if tokens is not None:
            on_tokens(tokens, wall)
        return RunTiming(
            wall_s=wall, tokens=tokens, decode_s=wall, decode_tokens=tokens, output_tail=kept
        )

    def close(self) -> None:
        """Nothing to release."""
