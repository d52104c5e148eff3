"""Shared pieces for the benchmark tests: machines, telemetry sources, plans."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from core.bench.plan import BenchPlan, BenchSpec, plan_benchmark
from core.hwinfo import (
    CpuInfo,
    DiskInfo,
    GpuInfo,
    HardwareInfo,
    MemoryInfo,
    OsInfo,
    Recommendations,
)
from core.telemetry.sample import CpuSample, GpuSample, Sample

GIB = 1024**3


def machine(*, gpu: bool = False, ram_gib: int = 32) -> HardwareInfo:
    """A described machine (no sensors read): a 16-thread CPU, optionally one H100."""
    gpus = ()
    if gpu:
        gpus = (
            GpuInfo(
                index=0,
                name="NVIDIA H100 80GB HBM3",
                vram_total_bytes=80 * GIB,
                vram_free_bytes=79 * GIB,
                power_limit_w=700.0,
                memory_bandwidth_gbps=3352.0,
            ),
        )
    return HardwareInfo(
        cpu=CpuInfo("Test CPU 9000", 8, 16, 3000.0, 5000.0, "x86_64"),
        memory=MemoryInfo(ram_gib * GIB, ram_gib * GIB * 3 // 4, 0, 0),
        disk=DiskInfo("/tmp", None, None),
        os=OsInfo("Linux", "6.0", "Test", "3.11"),
        gpus=gpus,
        gpu_reason=None if gpu else "NVML library not found (no NVIDIA driver installed)",
        sensors=(),
        recommendations=Recommendations(8.0, "ram", "4b", "4B", "balanced", 6, 4096, 1, 512),
    )


def fake_plan(backend: str = "tests.bench.fake_backends:Quick", **spec: Any) -> BenchPlan:
    """A plan for a fake backend on this (described) machine, fast settings by default."""
    values: dict[str, Any] = {
        "target": "fake-model",
        "backend": backend,
        "prompt_tokens": 4,
        "new_tokens": 4,
        "repeat": 1,
        "warmup": 0,
        "baseline_s": 0.0,
        "min_window_s": 0.0,
        "cooldown_s": 0.0,
        "interval_s": 0.05,
    }
    values.update(spec)
    gpu = str(values.get("device") or "").startswith("cuda")
    return plan_benchmark(BenchSpec(**values), hardware=machine(gpu=gpu))


class PowerSource:
    """A GPU whose power, temperature and throttle mask follow a shared "busy" flag.

    Idle: 100 W, 40 °C, mask 0x1 (idle). Busy: 300 W, 70 °C, mask 0x4 (power cap). The
    energy counter integrates the power exactly between reads.
    """

    label = "fake"
    finished = False

    def __init__(self, busy: threading.Event, idle_w: float = 100.0, load_w: float = 300.0):
        self.busy = busy
        self.idle_w = idle_w
        self.load_w = load_w
        self.energy_mj = 5_000_000.0
        self.last: float | None = None

    def read(self, now_s: float) -> list[Sample]:
        busy = self.busy.is_set()
        power = self.load_w if busy else self.idle_w
        if self.last is not None:
            self.energy_mj += power * (now_s - self.last) * 1000.0
        self.last = now_s
        gpu = GpuSample(
            index=0,
            name="Fake GPU",
            power_instant_w=power,
            energy_mj=int(self.energy_mj),
            temp_c=70.0 if busy else 40.0,
            sm_clock_mhz=1400.0 if busy else 1980.0,
            sm_clock_max_mhz=1980.0,
            clock_event_reasons=0x4 if busy else 0x1,
        )
        return [Sample(t_s=now_s, cpu=CpuSample(load_pct=50.0), gpus=(gpu,))]

    def close(self) -> None:
        pass


@pytest.fixture
def busy() -> threading.Event:
    return threading.Event()
