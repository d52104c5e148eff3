"""Backends that misbehave on purpose, loaded in the benchmark's child by ``module:Class``."""

from __future__ import annotations

import ctypes
import os
import time
from collections.abc import Mapping
from typing import Any

from core.bench.backends import BackendInfo, RunTiming, TokenCallback
from core.bench.errors import BackendMissing, BenchError


class _Base:
    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = dict(config)

    def prepare(self) -> BackendInfo:
        return BackendInfo(device_name="fake", dtype="float32", weights="random", params=1)

    def close(self) -> None:
        pass


class Quick(_Base):
    """Generates ``new_tokens`` tokens at about 1000 tok/s."""

    def run_once(self, prompt_tokens: int, new_tokens: int, on_tokens: TokenCallback) -> RunTiming:
        start = time.perf_counter()
        time.sleep(0.002)
        first = time.perf_counter()
        for i in range(1, new_tokens):
            time.sleep(0.001)
            on_tokens(i + 1, time.perf_counter() - first)
        end = time.perf_counter()
        return RunTiming(
            wall_s=end - start,
            tokens=new_tokens,
            prompt_tokens=prompt_tokens,
            ttft_s=first - start,
            prefill_s=first - start,
            decode_s=end - first,
            decode_tokens=new_tokens - 1,
        )


class SlowLoad(_Base):
    """Takes 30 s to load (to cancel while loading)."""

    def prepare(self) -> BackendInfo:
        time.sleep(30)
        return super().prepare()


class Endless(_Base):
    """A run that emits a token every 50 ms for 30 s (to cancel mid-run)."""

    def run_once(self, prompt_tokens: int, new_tokens: int, on_tokens: TokenCallback) -> RunTiming:
        start = time.perf_counter()
        for i in range(600):
            time.sleep(0.05)
            on_tokens(i + 1, time.perf_counter() - start)
        return RunTiming(wall_s=30.0, tokens=600)


class IgnoresTerm(Endless):
    """Ignores SIGTERM, so only the SIGKILL escalation stops it."""

    def prepare(self) -> BackendInfo:
        import signal

        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        return super().prepare()


class Segfault(_Base):
    def run_once(self, prompt_tokens: int, new_tokens: int, on_tokens: TokenCallback) -> RunTiming:
        ctypes.string_at(0)  # SIGSEGV
        raise AssertionError("unreachable")


class HardExit(_Base):
    def run_once(self, prompt_tokens: int, new_tokens: int, on_tokens: TokenCallback) -> RunTiming:
        print("about to exit", flush=True)  # goes to stderr: the protocol is elsewhere
        os._exit(1)


class OutOfMemory(_Base):
    def run_once(self, prompt_tokens: int, new_tokens: int, on_tokens: TokenCallback) -> RunTiming:
        raise MemoryError("cannot allocate 96 GiB for the KV cache")


class BrokenLoad(_Base):
    def prepare(self) -> BackendInfo:
        raise BenchError("model type 'mamba9' cannot be built")


class Missing(_Base):
    def prepare(self) -> BackendInfo:
        raise BackendMissing("the fake backend needs fakelib; pip install 'thermal-scout[fake]'")
