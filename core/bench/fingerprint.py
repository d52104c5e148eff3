"""A stable identity for "this machine", so calibration is only reused where it was measured.

The fingerprint hashes what decides inference speed and does not change from boot to boot: CPU
model, logical cores, architecture, RAM rounded to GiB, and each GPU's name and memory. A new
GPU or a RAM upgrade is a new machine; a reboot, a driver update or free memory is not.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from core.hwinfo import HardwareInfo

GIB = 1024**3

_lock = threading.Lock()
_cached: HardwareInfo | None = None


def fingerprint_parts(info: HardwareInfo) -> dict[str, Any]:
    """The facts the fingerprint hashes."""
    return {
        "cpu": info.cpu.model,
        "logical_cores": info.cpu.logical_cores,
        "arch": info.cpu.arch,
        "ram_gib": round(info.memory.total_bytes / GIB),
        "gpus": sorted(f"{g.name}|{round((g.vram_total_bytes or 0) / GIB)}" for g in info.gpus),
    }


def fingerprint_of(info: HardwareInfo) -> str:
    """16 hex digits of SHA-256 over :func:`fingerprint_parts`."""
    text = json.dumps(fingerprint_parts(info), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def describe(info: HardwareInfo) -> str:
    """One line for people: ``"Intel Xeon (2 threads), 24 GiB RAM, no GPU"``."""
    gpus = ", ".join(g.name for g in info.gpus) or "no GPU"
    ram = round(info.memory.total_bytes / GIB)
    return f"{info.cpu.model} ({info.cpu.logical_cores} threads), {ram} GiB RAM, {gpus}"


def this_machine() -> HardwareInfo:
    """:func:`core.hardware.detect`, once per process (for the fingerprint, not for free memory)."""
    global _cached
    with _lock:
        if _cached is None:
            from core.hardware import detect

            _cached = detect()
        return _cached


def this_fingerprint() -> str:
    """This machine's fingerprint (what :meth:`BenchStore.calibration_for` wants)."""
    return fingerprint_of(this_machine())
