"""Static hardware description types (what the machine *is*, not what it reads now).

Filled by :func:`core.hardware.detect`; kept in their own module so the GPU and CPU readers can
build them without importing the detector.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SensorStatus:
    """Whether one reading is live on this machine, and if not exactly why.

    Attributes:
        name: Reading name shown to people, e.g. ``"CPU package power (RAPL)"``, ``"GPU 0 energy"``.
        available: True when the reading works now.
        reason: Why not (None when available).
        hint: How to fix it, if anything can be done.
        source: Where it comes from (``psutil``, ``powercap``, ``nvml``, ``sysfs``).
    """

    name: str
    available: bool
    reason: str | None = None
    hint: str | None = None
    source: str = ""


@dataclass(frozen=True)
class CpuInfo:
    """The CPU: model, cores, frequency."""

    model: str
    physical_cores: int | None
    logical_cores: int
    freq_mhz: float | None
    freq_max_mhz: float | None
    arch: str


@dataclass(frozen=True)
class MemoryInfo:
    """RAM and swap in bytes."""

    total_bytes: int
    available_bytes: int
    swap_total_bytes: int
    swap_free_bytes: int


@dataclass(frozen=True)
class DiskInfo:
    """Free space where the Hugging Face cache lives."""

    path: str
    total_bytes: int | None
    free_bytes: int | None
    reason: str | None = None


@dataclass(frozen=True)
class OsInfo:
    """Operating system and Python."""

    system: str
    release: str
    distribution: str
    python: str
    virtualized: str | None = None


@dataclass(frozen=True)
class GpuInfo:
    """One NVIDIA GPU as NVML describes it; a field may be None with a reason in ``unavailable``.

    ``memory_bandwidth_gbps`` = bus width (bits) / 8 × max memory clock (MHz) × 2 (double data
    rate) / 1000, e.g. H100 SXM 5120 bit × 2619 MHz → 3352 GB/s.
    """

    index: int
    name: str
    uuid: str | None = None
    vram_total_bytes: int | None = None
    vram_free_bytes: int | None = None
    driver_version: str | None = None
    cuda_version: str | None = None
    compute_capability: str | None = None
    power_limit_w: float | None = None
    default_power_limit_w: float | None = None
    slowdown_temp_c: float | None = None
    shutdown_temp_c: float | None = None
    memory_bus_width_bits: int | None = None
    memory_clock_max_mhz: float | None = None
    memory_bandwidth_gbps: float | None = None
    sm_clock_max_mhz: float | None = None
    unavailable: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class GpuEnumeration:
    """Result of looking for NVIDIA GPUs: the GPUs, or why none could be listed."""

    gpus: tuple[GpuInfo, ...] = ()
    reason: str | None = None
    driver_version: str | None = None


@dataclass(frozen=True)
class Recommendations:
    """Settings derived from the hardware (the gemma-cli provider design).

    Attributes:
        memory_gb: The memory the tier was chosen from (free VRAM of the best GPU, else RAM).
        memory_source: ``"gpu"`` or ``"ram"``.
        model_tier: ``"tiny"`` (< 4 GB), ``"2b"`` (4–8), ``"4b"`` (8–16), ``"9b+"`` (> 16).
        model_tier_label: Plain words for the tier.
        profile: ``"quality"``, ``"balanced"`` or ``"fast"``.
        threads: Inference threads: cores − 1 (≤ 8 cores) or cores − 2.
        context_length: Suggested context window.
        batch_size: Suggested batch size.
        max_tokens: Suggested generation length.
        reasons: One line per decision, so the user sees why.
        warning: Set when the machine is below the smallest tier.
    """

    memory_gb: float
    memory_source: str
    model_tier: str
    model_tier_label: str
    profile: str
    threads: int
    context_length: int
    batch_size: int
    max_tokens: int
    reasons: tuple[str, ...] = ()
    warning: str | None = None


@dataclass(frozen=True)
class HardwareInfo:
    """Everything :func:`core.hardware.detect` found."""

    cpu: CpuInfo
    memory: MemoryInfo
    disk: DiskInfo
    os: OsInfo
    gpus: tuple[GpuInfo, ...]
    gpu_reason: str | None
    sensors: tuple[SensorStatus, ...]
    recommendations: Recommendations
    extra: tuple[tuple[str, str], ...] = field(default_factory=tuple)
