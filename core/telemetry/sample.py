"""Immutable telemetry samples: what one sampler tick saw.

Units are in the field names. A reading that could not be had is ``None`` and its name is a key
of ``unavailable`` with the reason. Samples are plain frozen dataclasses so they can cross
threads, be stored in ring buffers and be written to traces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Reasons = tuple[tuple[str, str], ...]
"""``((reading_name, reason), ...)``: a hashable, ordered mapping of why readings are missing."""


@dataclass(frozen=True)
class TempSensor:
    """One temperature sensor (hwmon/psutil), e.g. ``coretemp`` / ``Core 3``.

    ``high_c``/``critical_c`` are the driver's thresholds where it reports them.
    """

    group: str
    label: str
    current_c: float
    high_c: float | None = None
    critical_c: float | None = None


@dataclass(frozen=True)
class FanReading:
    """One fan in RPM."""

    group: str
    label: str
    rpm: float


@dataclass(frozen=True)
class CoreReading:
    """Per logical CPU: load over the last tick and current frequency."""

    index: int
    load_pct: float | None
    freq_mhz: float | None


@dataclass(frozen=True)
class PowerZone:
    """A RAPL powercap zone (``package-0``, ``dram``, ``psys``) over the last tick.

    Attributes:
        name: The zone's ``name`` file, suffixed with the socket where needed.
        power_w: Average power since the previous tick (counter delta / time).
        energy_j: Energy since the sampler started, wrap-corrected.
    """

    name: str
    power_w: float | None
    energy_j: float | None


@dataclass(frozen=True)
class CpuSample:
    """Everything the CPU side of the machine reported in one tick.

    Attributes:
        package_temp_c: Best CPU temperature: package (Intel), Tdie/Tctl (AMD), else a thermal zone.
        package_temp_high_c: Driver's "high" threshold for that sensor, if any.
        package_temp_critical_c: Driver's "critical" threshold (TjMax on Intel), if any.
        package_power_w: Sum of RAPL ``package-*`` zones (never sub-zones, never psys).
        package_energy_j: Their energy since the sampler started, wrap-corrected.
        zones: Every de-duplicated RAPL zone, packages and the rest (dram, psys).
        load_pct: Whole-CPU load over the last tick.
        freq_mhz: Current frequency; ``freq_max_mhz`` its maximum where known (0 in VMs → None).
        cores: Per-logical-CPU load and frequency.
        temps: Every temperature sensor seen (for the per-core view).
        fans: Every fan seen.
        battery_power_w: Whole-laptop power while on battery (``power_now``), else None.
        battery_discharging: True on battery, False on AC, None without a battery.
        memory_used_bytes: RAM in use (total minus available).
        unavailable: Reasons for every reading that is None.
    """

    package_temp_c: float | None = None
    package_temp_high_c: float | None = None
    package_temp_critical_c: float | None = None
    package_power_w: float | None = None
    package_energy_j: float | None = None
    zones: tuple[PowerZone, ...] = ()
    load_pct: float | None = None
    freq_mhz: float | None = None
    freq_max_mhz: float | None = None
    cores: tuple[CoreReading, ...] = ()
    temps: tuple[TempSensor, ...] = ()
    fans: tuple[FanReading, ...] = ()
    battery_power_w: float | None = None
    battery_discharging: bool | None = None
    battery_percent: float | None = None
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None
    unavailable: Reasons = ()

    def reason(self, name: str) -> str | None:
        """The reason reading ``name`` is missing, or None."""
        return dict(self.unavailable).get(name)


@dataclass(frozen=True)
class GpuSample:
    """One NVIDIA GPU in one tick (NVML), or one GPU line of a replayed trace.

    Attributes:
        index: NVML index (PCI order).
        name: Product name, where known (a replayed trace may not say).
        power_instant_w: ``NVML_FI_DEV_POWER_INSTANT`` — what to show live.
        power_avg_w: ``nvmlDeviceGetPowerUsage`` — a 1 s average on Ampere and newer; compare
            this one with the power limit.
        power_limit_w: Enforced power limit.
        energy_mj: Total-energy counter, mJ since driver load (Volta+). Resets on driver reload.
        temp_c / mem_temp_c: GPU core and memory (HBM) temperature.
        slowdown_temp_c / shutdown_temp_c: Thresholds the driver acts on.
        sm_clock_mhz / sm_clock_max_mhz, mem_clock_mhz / mem_clock_max_mhz: Clocks vs max.
        util_gpu_pct / util_mem_pct: Share of time a kernel / memory transfer ran.
        vram_used_bytes / vram_total_bytes: Device memory.
        clock_event_reasons: Throttle bitmask, see :mod:`core.telemetry.throttle`.
        violation_ns: Cumulative violation timers ``((name, ns), ...)`` (power, thermal, ...).
        lost: True once the GPU fell off the bus; every other reading is then None.
        unavailable: Reasons for every reading that is None.
    """

    index: int
    name: str | None = None
    power_instant_w: float | None = None
    power_avg_w: float | None = None
    power_limit_w: float | None = None
    energy_mj: int | None = None
    temp_c: float | None = None
    mem_temp_c: float | None = None
    slowdown_temp_c: float | None = None
    shutdown_temp_c: float | None = None
    sm_clock_mhz: float | None = None
    sm_clock_max_mhz: float | None = None
    mem_clock_mhz: float | None = None
    mem_clock_max_mhz: float | None = None
    util_gpu_pct: float | None = None
    util_mem_pct: float | None = None
    vram_used_bytes: int | None = None
    vram_total_bytes: int | None = None
    clock_event_reasons: int | None = None
    violation_ns: tuple[tuple[str, int], ...] = ()
    lost: bool = False
    unavailable: Reasons = ()

    def reason(self, name: str) -> str | None:
        """The reason reading ``name`` is missing, or None."""
        return dict(self.unavailable).get(name)


@dataclass(frozen=True)
class Sample:
    """One sampler tick.

    Attributes:
        t_s: Seconds on the sampler's monotonic clock (from the first tick, or the trace's ``t_s``).
        cpu: The CPU side, or None when the source has none (a GPU-only trace).
        gpus: One entry per GPU.
    """

    t_s: float
    cpu: CpuSample | None = None
    gpus: tuple[GpuSample, ...] = field(default_factory=tuple)
