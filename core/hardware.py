"""Detect the machine: CPU, memory, disk, OS, NVIDIA GPUs, sensor availability, recommendations.

Everything here reads through injectable boundaries (a sysfs/procfs root, a psutil module, an
NVML backend) so it is tested without hardware. Detection never raises for a missing sensor or
GPU: those are described in :attr:`HardwareInfo.sensors` with the reason.

Example:
    >>> info = detect()  # doctest: +SKIP
    >>> info.cpu.logical_cores, info.recommendations.profile  # doctest: +SKIP
    (2, 'fast')
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from core.constants import SYSFS_ROOT
from core.hwinfo import (
    CpuInfo,
    DiskInfo,
    GpuInfo,
    HardwareInfo,
    MemoryInfo,
    OsInfo,
    Recommendations,
    SensorStatus,
)

GIB = 1024**3


def _read(root: Path, rel: str) -> str | None:
    try:
        return (root / rel).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def cpu_model(root: Path = Path("/")) -> str:
    """CPU model name from ``/proc/cpuinfo`` (x86 ``model name``, Arm ``Model``/``Hardware``)."""
    text = _read(root, "proc/cpuinfo") or ""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields and value.strip():
            fields[key.strip()] = value.strip()
    for key in ("model name", "Model", "Hardware", "cpu model", "Processor"):
        if key in fields:
            return " ".join(fields[key].split())
    return platform.processor() or platform.machine() or "unknown CPU"


def virtualization(root: Path = SYSFS_ROOT, proc_root: Path = Path("/")) -> str | None:
    """Name of the hypervisor or container, when the machine is virtual; else None."""
    vendor = (_read(root, "sys/class/dmi/id/sys_vendor") or "").strip()
    product = (_read(root, "sys/class/dmi/id/product_name") or "").strip()
    known = ("QEMU", "KVM", "VMware", "VirtualBox", "Xen", "Microsoft", "Amazon EC2", "Google")
    for name in known:
        if name.lower() in f"{vendor} {product}".lower():
            return f"{vendor} {product}".strip()
    if (proc_root / ".dockerenv").exists() or (proc_root / "run/.containerenv").exists():
        return "container"
    cpuinfo = _read(proc_root, "proc/cpuinfo") or ""
    if " hypervisor" in cpuinfo:
        return "virtual machine (hypervisor flag)"
    return None


def os_info(root: Path = SYSFS_ROOT, proc_root: Path = Path("/")) -> OsInfo:
    """Operating system, distribution and Python version."""
    distribution = ""
    for line in (_read(proc_root, "etc/os-release") or "").splitlines():
        if line.startswith("PRETTY_NAME="):
            distribution = line.split("=", 1)[1].strip().strip('"')
    return OsInfo(
        system=platform.system(),
        release=platform.release(),
        distribution=distribution or platform.platform(terse=True),
        python=platform.python_version(),
        virtualized=virtualization(root, proc_root),
    )


def hf_cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where the Hugging Face hub cache lives, by huggingface_hub's documented variables.

    ``HF_HUB_CACHE``, else ``HF_HOME/hub``, else ``$XDG_CACHE_HOME/huggingface/hub``, else
    ``~/.cache/huggingface/hub``. Computed here so start-up need not import huggingface_hub.
    """
    if environ.get("HF_HUB_CACHE"):
        return Path(environ["HF_HUB_CACHE"]).expanduser()
    if environ.get("HUGGINGFACE_HUB_CACHE"):
        return Path(environ["HUGGINGFACE_HUB_CACHE"]).expanduser()
    if environ.get("HF_HOME"):
        return Path(environ["HF_HOME"]).expanduser() / "hub"
    xdg = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "huggingface" / "hub"


def disk_info(path: Path) -> DiskInfo:
    """Free space on the filesystem that holds ``path`` (its nearest existing ancestor)."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        usage = shutil.disk_usage(probe)
    except OSError as exc:
        return DiskInfo(str(path), None, None, reason=f"cannot stat {probe}: {exc.strerror}")
    return DiskInfo(str(path), usage.total, usage.free)


def cpu_info(psutil_module: Any, proc_root: Path = Path("/")) -> CpuInfo:
    """CPU model, core counts and frequency (0 MHz maxima from VMs become None)."""
    logical = psutil_module.cpu_count(logical=True) or os.cpu_count() or 1
    physical = psutil_module.cpu_count(logical=False)
    freq_mhz = freq_max = None
    cpu_freq = getattr(psutil_module, "cpu_freq", None)
    if cpu_freq is not None:
        try:
            freq = cpu_freq()
        except (OSError, RuntimeError, NotImplementedError):
            freq = None
        if freq is not None:
            freq_mhz = float(freq.current) if freq.current else None
            freq_max = float(freq.max) if freq.max else None
    return CpuInfo(
        model=cpu_model(proc_root),
        physical_cores=physical,
        logical_cores=logical,
        freq_mhz=freq_mhz,
        freq_max_mhz=freq_max,
        arch=platform.machine(),
    )


def memory_info(psutil_module: Any) -> MemoryInfo:
    """RAM and swap from psutil."""
    vm = psutil_module.virtual_memory()
    try:
        swap = psutil_module.swap_memory()
        swap_total, swap_free = int(swap.total), int(swap.free)
    except (OSError, RuntimeError):
        swap_total = swap_free = 0
    return MemoryInfo(int(vm.total), int(vm.available), swap_total, swap_free)


_TIERS = (
    (4.0, "tiny", "sub-2B models (e.g. Gemma 3 1B, SmolLM2), quantised"),
    (8.0, "2b", "2B-class models (e.g. Gemma 2 2B) at 4–8 bit"),
    (16.0, "4b", "4B-class models (e.g. Gemma 3 4B, Qwen3 4B)"),
)

SizeTier = Literal["small", "medium", "large", "xlarge"]
"""Model size tiers of the capability registry (:mod:`core.analysis.recommend`)."""

SIZE_TIERS: tuple[tuple[SizeTier, int], ...] = (
    ("small", 4_000_000_000),
    ("medium", 14_000_000_000),
    ("large", 32_000_000_000),
    ("xlarge", 80_000_000_000),
)
"""Each tier and the most parameters (nominal) a model in it has, smallest first."""

NOMINAL_SLACK = 1.1
"""Real counts exceed the nominal size (a "14B" model has 14.8B parameters, a "32B" 32.8B), so a
tier holds models up to 1.1 × its nominal limit."""

FIT_HEADROOM = 1.2
"""Memory must be 1.2 × the weights for a model to count as fitting (:mod:`core.analysis.fit`)."""

PROFILE_SETTINGS: Mapping[str, tuple[int, int, int]] = MappingProxyType(
    {"quality": (8192, 2048, 4), "balanced": (4096, 1024, 2), "fast": (2048, 512, 1)}
)
"""Per performance profile: (context length, max tokens, batch size)."""


def size_tier(params: int) -> SizeTier | None:
    """The smallest tier that holds a model of ``params`` parameters; None above xlarge.

    Example:
        >>> size_tier(3_090_000_000), size_tier(14_770_000_000), size_tier(405_000_000_000)
        ('small', 'medium', None)
    """
    for name, limit in SIZE_TIERS:
        if params <= limit * NOMINAL_SLACK:
            return name
    return None


def max_params_for_memory(memory_bytes: int, bytes_per_param: float) -> int:
    """The most parameters whose weights fit ``memory_bytes`` with the fit headroom.

    Example:
        >>> max_params_for_memory(24_000_000_000, 2.0)
        10000000000
    """
    if bytes_per_param <= 0:
        raise ValueError(f"bytes per parameter must be > 0, got {bytes_per_param}")
    return int(max(0, memory_bytes) / (bytes_per_param * FIT_HEADROOM))


def size_tier_for_memory(memory_bytes: int, bytes_per_param: float) -> SizeTier:
    """The tier the largest model that fits ``memory_bytes`` falls in (at least ``small``).

    It is where a registry pick starts: that pick's own analysis then decides whether it
    really fits (a model smaller than the tier's limit may), falling back a tier when not.

    Example:
        >>> size_tier_for_memory(24_000_000_000, 2.0), size_tier_for_memory(80_000_000_000, 0.5)
        ('medium', 'xlarge')
    """
    return size_tier(max_params_for_memory(memory_bytes, bytes_per_param)) or "xlarge"


def performance_profile(ram_bytes: int, cores: int | None) -> tuple[str, str]:
    """``quality`` (32 GB+ RAM and 8+ cores), ``balanced`` (16 GB+) or ``fast``, and why.

    ``cores`` None (a what-if device whose host is unknown) decides by memory alone.
    """
    ram_gb = ram_bytes / GIB
    if ram_gb >= 32 and (cores is None or cores >= 8):
        if cores is None:
            return "quality", f"quality profile: {ram_gb:.0f} GB (cores unknown: not checked)"
        return "quality", f"quality profile: {ram_gb:.0f} GB RAM and {cores} cores"
    if ram_gb >= 16:
        return "balanced", f"balanced profile: {ram_gb:.0f} GB RAM (quality needs 32 GB + 8 cores)"
    return "fast", f"fast profile: {ram_gb:.0f} GB RAM (balanced needs 16 GB)"


def inference_threads(cores: int) -> tuple[int, str]:
    """Physical cores − 1 up to 8 cores, − 2 above (one left for the OS and the UI), and why."""
    threads = max(1, cores - (1 if cores <= 8 else 2))
    if threads == cores:
        return threads, f"{threads} thread: a single core leaves none spare for the system"
    plural = "s" if threads != 1 else ""
    spare = cores - threads
    return threads, f"{threads} thread{plural}: {cores} cores minus {spare} for the system"


def recommend(cpu: CpuInfo, memory: MemoryInfo, gpus: tuple[GpuInfo, ...]) -> Recommendations:
    """Settings for this machine, following the gemma-cli provider design.

    * Model tier by the memory a model would live in — the free VRAM of the largest GPU, else
      available RAM: < 4 GB the smallest models (with a warning), 4–8 GB 2B-class, 8–16 GB
      4B-class, > 16 GB 9B and up. (:func:`size_tier_for_memory` gives the capability
      registry's small/medium/large/xlarge tier for a memory size and precision.)
    * Profile: 32 GB+ RAM and 8+ cores → quality; 16 GB+ RAM → balanced; else fast
      (:func:`performance_profile`).
    * Threads: physical cores − 1 up to 8 cores, − 2 above (:func:`inference_threads`).
    * Context, max tokens and batch size follow the profile (:data:`PROFILE_SETTINGS`), batch
      raised on a GPU with ≥ 24 GB free.
    """
    reasons: list[str] = []
    gpu_free = [g.vram_free_bytes for g in gpus if g.vram_free_bytes]
    if gpu_free:
        memory_gb = max(gpu_free) / GIB
        source = "gpu"
        reasons.append(f"tier from the largest free VRAM: {memory_gb:.1f} GB")
    else:
        memory_gb = memory.available_bytes / GIB
        source = "ram"
        reasons.append(f"tier from available RAM (no usable GPU): {memory_gb:.1f} GB")
    tier, label = "9b+", "9B-class and larger models (e.g. Gemma 2 9B, Qwen3 8B/14B)"
    for limit, name, text in _TIERS:
        if memory_gb < limit:
            tier, label = name, text
            break
    warning = None
    if memory_gb < 4.0:
        warning = f"only {memory_gb:.1f} GB for models: expect small models only, or swapping"

    cores = cpu.physical_cores or cpu.logical_cores
    profile, why = performance_profile(memory.total_bytes, cores)
    reasons.append(why)
    threads, why = inference_threads(cores)
    reasons.append(why)
    context, max_tokens, batch = PROFILE_SETTINGS[profile]
    if gpu_free and max(gpu_free) >= 24 * GIB:
        batch = max(batch, 8)
        reasons.append("batch 8: a GPU with 24 GB+ free holds several sequences' KV cache")
    return Recommendations(
        memory_gb=round(memory_gb, 2),
        memory_source=source,
        model_tier=tier,
        model_tier_label=label,
        profile=profile,
        threads=threads,
        context_length=context,
        batch_size=batch,
        max_tokens=max_tokens,
        reasons=tuple(reasons),
        warning=warning,
    )


def detect(
    *,
    root: Path = SYSFS_ROOT,
    proc_root: Path = Path("/"),
    psutil_module: Any = None,
    nvml_backend: Any = None,
    environ: Mapping[str, str] = os.environ,
) -> HardwareInfo:
    """Describe this machine. Never raises for missing sensors or GPUs.

    Args:
        root: Root for ``/sys`` reads (``THERMAL_SCOUT_SYSFS_ROOT`` in containers).
        proc_root: Root for ``/proc`` and ``/etc`` reads.
        psutil_module: psutil or a fake of it.
        nvml_backend: An :class:`core.nvml.NvmlBackend` (default: the real NVML). Call this on
            the thread that owns NVML.
        environ: Environment for the Hugging Face cache location.
    """
    from core.nvml import PynvmlBackend
    from core.telemetry.cpu import CpuReader
    from core.telemetry.gpu import GpuReader, enumerate_gpus
    from core.telemetry.sysfs import SysfsRoot

    if psutil_module is None:
        import psutil

        psutil_module = psutil
    backend = nvml_backend if nvml_backend is not None else PynvmlBackend()
    cpu = cpu_info(psutil_module, proc_root)
    memory = memory_info(psutil_module)
    enumeration = enumerate_gpus(backend, root)
    sensors: list[SensorStatus] = list(
        CpuReader(psutil_module=psutil_module, root=SysfsRoot(root)).probe()
    )
    sensors.extend(GpuReader(backend, root).probe())
    return HardwareInfo(
        cpu=cpu,
        memory=memory,
        disk=disk_info(hf_cache_dir(environ)),
        os=os_info(root, proc_root),
        gpus=enumeration.gpus,
        gpu_reason=enumeration.reason,
        sensors=tuple(sensors),
        recommendations=recommend(cpu, memory, enumeration.gpus),
    )


def to_json(info: HardwareInfo) -> dict[str, Any]:
    """The ``thermal-scout hardware --json`` document."""
    data = asdict(info)
    cpu = data["cpu"]
    out: dict[str, Any] = {
        "cpu": cpu,
        "memory": data["memory"],
        "disk": data["disk"],
        "os": data["os"],
        "gpus": [],
        "gpu_reason": info.gpu_reason,
        "sensors": [
            {k: s[k] for k in ("name", "available", "reason", "hint", "source")}
            for s in data["sensors"]
        ],
        "recommendations": data["recommendations"],
    }
    for gpu in data["gpus"]:
        gpu["unavailable"] = dict(gpu["unavailable"])
        out["gpus"].append(gpu)
    out["recommendations"]["reasons"] = list(info.recommendations.reasons)
    out["python"] = sys.version.split()[0]
    return out
