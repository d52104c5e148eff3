"""Deterministic apps for snapshot tests and ``make screenshots`` (one factory for both).

No real sensors, no real clock: the hardware is a fixed description and telemetry is served
from the committed H100 trace (or scripted CPU samples) in one batch, so every run draws the
same frames on any machine.
"""

from __future__ import annotations

from pathlib import Path

from core.config import Settings
from core.hardware import recommend
from core.hwinfo import (
    CpuInfo,
    DiskInfo,
    GpuInfo,
    HardwareInfo,
    MemoryInfo,
    OsInfo,
    SensorStatus,
)
from core.telemetry.sample import CoreReading, CpuSample, Sample
from core.telemetry.trace import load_trace
from tui.app import ThermalScoutApp

DATA = Path(__file__).resolve().parents[1] / "data"
H100_TRACE = DATA / "h100_bf16_matmul_load.jsonl"
GIB = 1024**3
SIZE = (160, 48)


class BatchSource:
    """Serves a fixed list of samples on the first read; a replay then reports finished."""

    def __init__(self, samples: list[Sample], label: str, *, finishes: bool) -> None:
        self.samples = samples
        self.label = label
        self.finishes = finishes
        self.finished = False
        self.served = False

    def read(self, now_s: float) -> list[Sample]:
        if self.served:
            return []
        self.served = True
        self.finished = self.finishes
        return self.samples

    def close(self) -> None:
        """Nothing to release."""


def h100_vm() -> HardwareInfo:
    """The H100 virtual machine the committed trace was recorded on (telemetry.md, App. A)."""
    cpu = CpuInfo("Intel(R) Xeon(R) Platinum 8480+", 16, 16, 2100.0, None, "x86_64")
    memory = MemoryInfo(128 * GIB, 121 * GIB, 0, 0)
    gpu = GpuInfo(
        index=0,
        name="NVIDIA H100 80GB HBM3",
        uuid="GPU-00000000-0000-0000-0000-000000000000",
        vram_total_bytes=80 * GIB,
        vram_free_bytes=79 * GIB,
        driver_version="580.159.04",
        cuda_version="13.0",
        compute_capability="9.0",
        power_limit_w=700.0,
        default_power_limit_w=700.0,
        slowdown_temp_c=89.0,
        shutdown_temp_c=92.0,
        memory_bus_width_bits=5120,
        memory_clock_max_mhz=2619.0,
        memory_bandwidth_gbps=3352.3,
        sm_clock_max_mhz=1980.0,
    )
    vm_reason = "no temperature sensors exposed (no hwmon; typical in VMs and containers)"
    rapl_reason = "no RAPL powercap interface (typical in VMs and containers)"
    sensors = (
        SensorStatus("CPU temperature", False, vm_reason, None, "psutil"),
        SensorStatus("CPU package power (RAPL)", False, rapl_reason, None, "powercap"),
        SensorStatus("CPU frequency", True, None, None, "psutil"),
        SensorStatus("Fans", False, "no fans reported (typical in VMs)", None, "psutil"),
        SensorStatus("Battery power", False, "no battery", None, "sysfs"),
        SensorStatus("GPU 0 temperature", True, None, None, "nvml"),
        SensorStatus("GPU 0 power (instant)", True, None, None, "nvml"),
        SensorStatus("GPU 0 energy counter", True, None, None, "nvml"),
        SensorStatus("GPU 0 throttle reasons", True, None, None, "nvml"),
        SensorStatus("GPU 0 fan", False, "not supported on this GPU", None, "nvml"),
    )
    return HardwareInfo(
        cpu=cpu,
        memory=memory,
        disk=DiskInfo("/root/.cache/huggingface/hub", 500 * GIB, 410 * GIB),
        os=OsInfo("Linux", "6.1.0", "Ubuntu 22.04.5 LTS", "3.12.3", "Firecracker"),
        gpus=(gpu,),
        gpu_reason=None,
        sensors=sensors,
        recommendations=recommend(cpu, memory, (gpu,)),
    )


def sensorless_vm() -> HardwareInfo:
    """A two-core VM with no GPU and no sensors, like CI."""
    cpu = CpuInfo("AMD EPYC 7B13", 1, 2, 2450.0, None, "x86_64")
    memory = MemoryInfo(24 * GIB, 22 * GIB, 0, 0)
    sensors = (
        SensorStatus(
            "CPU temperature",
            False,
            "no temperature sensors exposed (no hwmon; typical in VMs and containers)",
            None,
            "psutil",
        ),
        SensorStatus(
            "CPU package power (RAPL)",
            False,
            "RAPL energy_uj is root-only since CVE-2020-8694",
            "run as root, or add a udev rule: see README 'RAPL permissions'",
            "powercap",
        ),
        SensorStatus("CPU frequency", True, None, None, "psutil"),
        SensorStatus("Fans", False, "no fans reported (typical in VMs)", None, "psutil"),
        SensorStatus("Battery power", False, "no battery", None, "sysfs"),
        SensorStatus(
            "NVIDIA GPU",
            False,
            "NVML library not found (no NVIDIA driver installed)",
            None,
            "nvml",
        ),
    )
    return HardwareInfo(
        cpu=cpu,
        memory=memory,
        disk=DiskInfo("/root/.cache/huggingface/hub", 252 * GIB, 61 * GIB),
        os=OsInfo("Linux", "6.1.0", "Debian GNU/Linux 12 (bookworm)", "3.11.7", "KVM"),
        gpus=(),
        gpu_reason="NVML library not found (no NVIDIA driver installed)",
        sensors=sensors,
        recommendations=recommend(cpu, memory, ()),
    )


def sensorless_samples(count: int = 60) -> list[Sample]:
    """Scripted CPU-only samples from a sensor-less VM: load and frequency, reasons for the rest."""
    reasons = (
        ("battery_power_w", "no battery"),
        ("fans", "no fans reported (typical in VMs)"),
        ("freq_max_mhz", "maximum frequency not reported (0 MHz in VMs)"),
        ("package_power_w", "RAPL energy_uj is root-only since CVE-2020-8694"),
        (
            "package_temp_c",
            "no temperature sensors exposed (no hwmon; typical in VMs and containers)",
        ),
    )
    samples = []
    for i in range(count):
        load = [20.0 + (i * 7) % 50, 10.0 + (i * 13) % 70]
        cpu = CpuSample(
            load_pct=sum(load) / 2,
            freq_mhz=2450.0,
            cores=tuple(CoreReading(n, v, 2450.0) for n, v in enumerate(load)),
            memory_used_bytes=int(2.5 * GIB),
            memory_total_bytes=24 * GIB,
            unavailable=reasons,
        )
        samples.append(Sample(t_s=float(i), cpu=cpu))
    return samples


def h100_samples(until_s: float = 12.0) -> list[Sample]:
    """The committed H100 trace up to ``until_s`` (mid-load: power-capped)."""
    return [s for s in load_trace(H100_TRACE).samples if s.t_s <= until_s]


def make_app(scenario: str = "h100") -> ThermalScoutApp:
    """A deterministic app: ``"h100"`` (trace replay on the H100 VM) or ``"sensorless"``."""
    if scenario == "h100":
        samples, hardware = h100_samples(), h100_vm()
        label = "replay: h100_bf16_matmul_load.jsonl"
    elif scenario == "sensorless":
        samples, hardware = sensorless_samples(), sensorless_vm()
        label = "live"
    else:
        raise ValueError(f"unknown scenario {scenario!r}")

    def source() -> BatchSource:
        return BatchSource(samples, label, finishes=scenario == "h100")

    app = ThermalScoutApp(
        Settings(),
        interval_s=1.0,
        detector=lambda: hardware,
        source_factory=source,
        source_label=label,
    )
    return app


async def settle(app: ThermalScoutApp) -> None:
    """Wait until hardware and telemetry have arrived and the screen is idle."""
    import asyncio

    for _ in range(200):
        telemetry = app.state.telemetry
        replay_done = telemetry.finished or not telemetry.source.startswith("replay")
        if app.state.hardware.status != "detecting" and telemetry.seq and replay_done:
            break
        await asyncio.sleep(0.02)
