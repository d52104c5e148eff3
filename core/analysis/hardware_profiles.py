"""Hardware profiles: the numbers the estimates need, for "what if" machines and for this one.

A profile carries memory, memory bandwidth, dense bf16 peak, TDP and idle power. Table rows
come from vendor datasheets (URL or document named in each row's ``source``); numbers a vendor
does not publish are derived or approximate and say so in ``source``:

- **NVIDIA** memory (GiB, the binary size NVML reports), bandwidth, dense (not 2:4-sparse)
  bf16 tensor peak and board power from the datasheets / architecture whitepapers. GeForce
  cards: bf16 with FP32 accumulate (the Ada/Ampere whitepapers' "FP16 Tensor TFLOPS with FP32
  Accumulate" row), half the FP16-accumulate figure. T4 has no bf16: its fp16 tensor peak.
  ``idle_w`` is approximate typical idle board power, except H100 SXM: 75 W, the idle level in
  this project's own NVML recording (tests/data/h100_bf16_matmul_load.jsonl, 73–78 W).
- **Apple**: unified memory sizes and bandwidth from Apple's tech-spec pages; GPU FP32 TFLOPS as
  Apple announced them for M1/M2 (Apple GPUs run fp16 at the fp32 rate, so that is the peak);
  for M3/M4, which Apple does not publish, ``GPU cores × 128 lanes × 2 FLOP × clock``
  (derived, unverified). ``tdp_w`` is the SoC's CPU+GPU maximum from asitop's hard-coded limits
  (tlkh/asitop ``asitop/utils.py``: M1 20+20, M1 Pro 30+30, M1 Max 30+60, M2 25+15 W) and scaled
  from those for later chips (approximate).
- **CPU** rows are rules: bandwidth = channels × 8 bytes × MT/s (JEDEC speed grade); peak =
  cores × clock × 32 FP32 FLOP/cycle (two 256-bit FMA pipes).

Usable memory: a profile's :attr:`HardwareProfile.available_bytes` is ``memory_bytes ×
usable_fraction``. GPUs 1.0 (the what-if card is assumed empty; the CUDA context is counted as
overhead in :mod:`core.analysis.memory`); Apple 2/3 of unified memory up to 36 GiB, 3/4 above
(Metal's ``recommendedMaxWorkingSetSize``: 10.67 GiB of 16 GiB in llama-cpp-python#687 and
exo#1672, about 48 of 64 GiB in llama.cpp#1870); CPUs 0.8 (whichllm reserves 20 % of RAM for
the OS, ``engine/compatibility.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from core.errors import AnalysisError
from core.hwinfo import CpuInfo, GpuInfo, HardwareInfo

HardwareKind = Literal["gpu", "apple", "cpu"]
"""Discrete GPU, Apple silicon (unified memory, Metal), or CPU only."""

GIB = 1024**3

APPLE_SMALL_FRACTION = 2 / 3
"""Metal working-set share of unified memory up to 36 GiB (llama-cpp-python#687, exo#1672)."""
APPLE_LARGE_FRACTION = 3 / 4
"""Metal working-set share of unified memory above 36 GiB (llama.cpp#1870)."""
CPU_USABLE_FRACTION = 0.8
"""RAM share a model may take; the rest is left to the OS (whichllm compatibility.py)."""
GPU_FLOPS_PER_BYTE_RULE = 150.0
"""Unknown GPU: peak FLOP/s ≈ 150 × bandwidth (A100 312 T / 2.04 TB/s = 153, RTX 4090 164)."""
GPU_IDLE_SHARE_RULE = 0.10
"""Unknown idle power: 10 % of TDP (H100 SXM idles at 75 of 700 W in this project's trace)."""
UNKNOWN_GPU_BANDWIDTH_GBPS = 300.0
"""Bandwidth assumed for a GPU NVML cannot size and the table does not know (T4/L4 class)."""
DESKTOP_BANDWIDTH_GBPS = 2 * 8 * 5600 / 1000
"""Dual-channel DDR5-5600: 2 channels × 8 bytes × 5600 MT/s = 89.6 GB/s."""
SERVER_BANDWIDTH_GBPS = 8 * 8 * 4800 / 1000
"""Eight-channel DDR5-4800 (Xeon/EPYC class): 307.2 GB/s."""
X86_FLOP_PER_CYCLE = 32
"""FP32 FLOP per cycle per core with two 256-bit FMA pipes (AVX2): 2 × 8 lanes × 2."""
ARM_FLOP_PER_CYCLE = 16
"""FP32 FLOP per cycle per core with two 128-bit NEON FMA pipes: 2 × 4 lanes × 2."""
CPU_WATTS_PER_CORE_RULE = 10.0
"""Unknown CPU TDP: 10 W per physical core, clamped to 15–350 W."""


@dataclass(frozen=True)
class HardwareProfile:
    """What the estimates need to know about one device.

    Attributes:
        name: Display name (``"H100 SXM 80GB"``, or the detected device's own name).
        kind: ``gpu``, ``apple`` or ``cpu``.
        memory_bytes: Memory the device has (table rows: total; detected: free now).
        bandwidth_gbps: Peak memory bandwidth in GB/s (10^9 bytes/s).
        peak_bf16_tflops: Dense bf16 (or fp16 where bf16 is absent) peak, 10^12 FLOP/s.
        tdp_w: Board/package power limit in watts.
        idle_w: Idle power in watts.
        source: Where the row's numbers come from.
        method: Which numbers are measured, from the table, or from a rule.
        usable_fraction: Share of ``memory_bytes`` a model may use.
        aliases: Other names :func:`profile_for` accepts (NVML names, "MacBook Pro ..." names).
    """

    name: str
    kind: HardwareKind
    memory_bytes: int
    bandwidth_gbps: float
    peak_bf16_tflops: float
    tdp_w: float
    idle_w: float
    source: str
    method: str = "table"
    usable_fraction: float = 1.0
    aliases: tuple[str, ...] = ()

    @property
    def available_bytes(self) -> int:
        """Memory a model may take: ``memory_bytes × usable_fraction``."""
        return int(self.memory_bytes * self.usable_fraction)


_H100 = "https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet"
_H200 = "https://www.nvidia.com/en-us/data-center/h200/ (H200 datasheet)"
_A100 = (
    "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/"
    "nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf"
)
_L40S = "https://resources.nvidia.com/en-us-l40s/l40s-datasheet-28413 (L40S datasheet)"
_L4 = "https://resources.nvidia.com/en-us-data-center-overview/l4-gpu-datasheet (L4 datasheet)"
_A10 = "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a10/pdf/a10-datasheet.pdf"
_ADA = (
    "NVIDIA Ada Lovelace GPU Architecture whitepaper v2.1, Appendix A "
    "(https://images.nvidia.com/aem-dam/Solutions/geforce/ada/"
    "nvidia-ada-gpu-architecture.pdf)"
)
_AMPERE = (
    "NVIDIA Ampere GA102 GPU Architecture whitepaper, Appendix A "
    "(https://www.nvidia.com/content/PDF/nvidia-ampere-ga-102-gpu-architecture-whitepaper-v2.pdf)"
)
_T4 = (
    "https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/tesla-t4/"
    "t4-tensor-core-datasheet-951643.pdf"
)
_IDLE = "idle approximate"


def _gpu(
    name: str,
    memory_gib: float,
    bandwidth_gbps: float,
    peak: float,
    tdp_w: float,
    idle_w: float,
    source: str,
    *aliases: str,
) -> HardwareProfile:
    return HardwareProfile(
        name=name,
        kind="gpu",
        memory_bytes=int(memory_gib * GIB),
        bandwidth_gbps=bandwidth_gbps,
        peak_bf16_tflops=peak,
        tdp_w=tdp_w,
        idle_w=idle_w,
        source=source,
        aliases=aliases,
    )


_GPU_ROWS: tuple[HardwareProfile, ...] = (
    _gpu(
        "H100 SXM 80GB",
        80,
        3350,
        989.5,
        700,
        75,
        f"{_H100} (BF16 1,979 TFLOPS with sparsity → 989.5 dense); idle measured in this "
        "project's H100 trace",
        "H100 SXM",
        "H100 SXM5 80GB",
        "H100 80GB HBM3",
        "H100",
    ),
    _gpu(
        "H100 PCIe 80GB",
        80,
        2000,
        756.5,
        350,
        50,
        f"{_H100} (PCIe: 2 TB/s, BF16 1,513 sparse → 756.5 dense, 300–350 W); {_IDLE}",
        "H100 PCIe",
    ),
    _gpu(
        "H200 SXM 141GB",
        141,
        4800,
        989.5,
        700,
        75,
        f"{_H200} (4.8 TB/s, BF16 1,979 sparse → 989.5 dense, up to 700 W); idle as H100 SXM",
        "H200",
        "H200 SXM",
        "H200 141GB",
    ),
    _gpu(
        "A100 SXM4 80GB",
        80,
        2039,
        312,
        400,
        50,
        f"{_A100} (80GB SXM: 2,039 GB/s, BF16 312 dense, 400 W); {_IDLE}",
        "A100 80GB",
        "A100 SXM4 80GB",
        "A100-SXM4-80GB",
        "A100 SXM 80GB",
    ),
    _gpu(
        "A100 PCIe 80GB",
        80,
        1935,
        312,
        300,
        45,
        f"{_A100} (80GB PCIe: 1,935 GB/s, BF16 312 dense, 300 W); {_IDLE}",
        "A100 80GB PCIe",
    ),
    _gpu(
        "A100 SXM4 40GB",
        40,
        1555,
        312,
        400,
        50,
        f"{_A100} (40GB: 1,555 GB/s, BF16 312 dense, SXM 400 W); {_IDLE}",
        "A100 40GB",
        "A100-SXM4-40GB",
        "A100 SXM 40GB",
    ),
    _gpu(
        "A100 PCIe 40GB",
        40,
        1555,
        312,
        250,
        40,
        f"{_A100} (40GB PCIe: 1,555 GB/s, BF16 312 dense, 250 W); {_IDLE}",
        "A100-PCIE-40GB",
        "A100 40GB PCIe",
    ),
    _gpu(
        "L40S",
        48,
        864,
        362.05,
        350,
        35,
        f"{_L40S} (864 GB/s, BF16 733 sparse → 362 dense, 350 W); {_IDLE}",
        "L40S 48GB",
    ),
    _gpu(
        "L4",
        24,
        300,
        121,
        72,
        16,
        f"{_L4} (300 GB/s, BF16 242 sparse → 121 dense, 72 W); {_IDLE}",
        "L4 24GB",
    ),
    _gpu(
        "A10G",
        24,
        600,
        70,
        300,
        25,
        "AWS publishes no A10G datasheet: 24 GB / 600 GB/s as the A10; tensor peak ~70 TFLOPS "
        "per baseten.co 'NVIDIA A10 vs A10G for ML model inference'; 300 W is the NVML power "
        f"limit on AWS g5 (unverified); {_IDLE}",
        "A10G 24GB",
    ),
    _gpu(
        "A10",
        24,
        600,
        125,
        150,
        20,
        f"{_A10} (600 GB/s, BF16 250 sparse → 125 dense, 150 W); {_IDLE}",
        "A10 24GB",
    ),
    _gpu(
        "RTX 4090",
        24,
        1008,
        165.2,
        450,
        20,
        f"{_ADA} (1,008 GB/s, FP16/BF16 FP32-accumulate 165.2 dense, 450 W); {_IDLE}",
        "GeForce RTX 4090",
        "RTX 4090 24GB",
    ),
    _gpu(
        "RTX 4080",
        16,
        716.8,
        97.5,
        320,
        15,
        f"{_ADA} (716.8 GB/s, FP32-accumulate 97.5 dense, 320 W); {_IDLE}",
        "GeForce RTX 4080",
        "RTX 4080 16GB",
    ),
    _gpu(
        "RTX 4070",
        12,
        504,
        58.3,
        200,
        12,
        "nvidia.com GeForce RTX 4070 specs (12 GB, 504 GB/s, 200 W); bf16 derived: 46 SMs × "
        f"2,475 MHz × 512 FLOP/clk (Ada GeForce FP32-accumulate rate, {_ADA}); {_IDLE}",
        "GeForce RTX 4070",
        "RTX 4070 12GB",
    ),
    _gpu(
        "RTX 3090",
        24,
        936,
        71,
        350,
        25,
        f"{_AMPERE} (936 GB/s, FP16/BF16 FP32-accumulate 71 dense, 350 W); {_IDLE}",
        "GeForce RTX 3090",
        "RTX 3090 24GB",
    ),
    _gpu(
        "RTX 3060 12GB",
        12,
        360,
        25.5,
        170,
        12,
        "nvidia.com GeForce RTX 3060 specs (12 GB, 360 GB/s, 170 W); bf16 derived: 28 SMs × "
        f"1,777 MHz × 512 FLOP/clk (GA10x GeForce FP32-accumulate rate, {_AMPERE}); {_IDLE}",
        "RTX 3060",
        "GeForce RTX 3060",
    ),
    _gpu(
        "T4",
        16,
        320,
        65,
        70,
        10,
        f"{_T4} (320 GB/s, FP16 mixed-precision 65 TFLOPS — T4 has no bf16, 70 W); {_IDLE}",
        "Tesla T4",
        "T4 16GB",
    ),
)

# (chip, GPU cores, bandwidth GB/s, GPU FP32 TFLOPS, SoC max W, idle W, memory sizes GiB, source)
_APPLE_CHIPS: tuple[tuple[str, int, float, float, float, float, tuple[int, ...], str], ...] = (
    (
        "M1",
        8,
        68.25,
        2.6,
        40,
        1.5,
        (8, 16),
        "apple.com M1 (Nov 2020: 8-core GPU 2.6 TFLOPS; LPDDR4X-4266 128-bit 68.25 GB/s); "
        "TDP asitop 20+20 W",
    ),
    (
        "M1 Pro",
        16,
        200,
        5.2,
        60,
        3,
        (16, 32),
        "apple.com M1 Pro (Oct 2021: 200 GB/s, 16-core GPU 5.2 TFLOPS); TDP asitop 30+30 W",
    ),
    (
        "M1 Max",
        32,
        400,
        10.4,
        90,
        4,
        (32, 64),
        "apple.com M1 Max (Oct 2021: 400 GB/s, 32-core GPU 10.4 TFLOPS); TDP asitop 30+60 W",
    ),
    (
        "M2",
        10,
        100,
        3.6,
        40,
        1.5,
        (8, 16, 24),
        "apple.com M2 (Jun 2022: 100 GB/s, 10-core GPU 3.6 TFLOPS); TDP asitop 25+15 W",
    ),
    (
        "M2 Pro",
        19,
        200,
        6.8,
        60,
        3,
        (16, 32),
        "apple.com M2 Pro (Jan 2023: 200 GB/s, 19-core GPU 6.8 TFLOPS); TDP approx (as M1 Pro)",
    ),
    (
        "M2 Max",
        38,
        400,
        13.6,
        90,
        4,
        (32, 64, 96),
        "apple.com M2 Max (Jan 2023: 400 GB/s, 38-core GPU 13.6 TFLOPS); TDP approx (as M1 Max)",
    ),
    (
        "M3",
        10,
        100,
        4.1,
        40,
        1.5,
        (8, 16, 24),
        "apple.com M3 tech specs (100 GB/s); TFLOPS derived 10 cores × 256 × ~1.6 GHz "
        "(unverified); TDP approx",
    ),
    (
        "M3 Pro",
        18,
        150,
        7.4,
        60,
        3,
        (18, 36),
        "apple.com M3 Pro tech specs (150 GB/s); TFLOPS derived 18 × 256 × ~1.6 GHz "
        "(unverified); TDP approx",
    ),
    (
        "M3 Max 30-core GPU",
        30,
        300,
        12.3,
        90,
        4,
        (36,),
        "apple.com MacBook Pro M3 Max 14-core CPU/30-core GPU (300 GB/s, 36 GB); TFLOPS derived "
        "30 × 256 × ~1.6 GHz (unverified); TDP approx",
    ),
    (
        "M3 Max",
        40,
        400,
        16.4,
        100,
        4,
        (48, 64, 128),
        "apple.com MacBook Pro M3 Max 16-core CPU/40-core GPU (400 GB/s); TFLOPS derived "
        "40 × 256 × ~1.6 GHz (unverified); TDP approx",
    ),
    (
        "M4",
        10,
        120,
        4.26,
        40,
        1.5,
        (16, 24, 32),
        "apple.com M4 tech specs (120 GB/s); TFLOPS derived 10 × 256 × ~1.66 GHz (unverified); "
        "TDP approx",
    ),
    (
        "M4 Pro",
        20,
        273,
        8.52,
        70,
        3,
        (24, 48),
        "apple.com M4 Pro tech specs (273 GB/s); TFLOPS derived 20 × 256 × ~1.66 GHz "
        "(unverified); TDP approx",
    ),
    (
        "M4 Max 32-core GPU",
        32,
        410,
        13.6,
        100,
        4,
        (36,),
        "apple.com MacBook Pro M4 Max 14-core CPU/32-core GPU (410 GB/s, 36 GB); TFLOPS derived "
        "32 × 256 × ~1.66 GHz (unverified); TDP approx",
    ),
    (
        "M4 Max",
        40,
        546,
        17.0,
        110,
        4,
        (48, 64, 128),
        "apple.com MacBook Pro M4 Max 16-core CPU/40-core GPU (546 GB/s); TFLOPS derived "
        "40 × 256 × ~1.66 GHz (unverified); TDP approx",
    ),
)


def apple_usable_fraction(total_bytes: int) -> float:
    """Share of unified memory Metal lets the GPU wire by default.

    2/3 up to 36 GiB, 3/4 above (see the module docstring for the reports behind it); a user
    can raise it with ``sysctl iogpu.wired_limit_mb``.
    """
    return APPLE_SMALL_FRACTION if total_bytes <= 36 * GIB else APPLE_LARGE_FRACTION


def _apple_rows() -> tuple[tuple[HardwareProfile, ...], Mapping[str, tuple[HardwareProfile, ...]]]:
    rows: list[HardwareProfile] = []
    by_chip: dict[str, list[HardwareProfile]] = {}
    for chip, _cores, bw, tflops, tdp, idle, sizes, source in _APPLE_CHIPS:
        short = chip.replace(" 30-core GPU", "").replace(" 32-core GPU", "")
        for gib in sizes:
            memory = gib * GIB
            row = HardwareProfile(
                name=f"Apple {chip} {gib} GB",
                kind="apple",
                memory_bytes=memory,
                bandwidth_gbps=bw,
                peak_bf16_tflops=tflops,
                tdp_w=tdp,
                idle_w=idle,
                source=source,
                usable_fraction=apple_usable_fraction(memory),
                aliases=(
                    f"{short} {gib} GB",
                    f"Apple {short} {gib} GB",
                    f"MacBook Pro {short} {gib} GB",
                    f"MacBook Air {short} {gib} GB",
                    f"Mac mini {short} {gib} GB",
                    f"Mac Studio {short} {gib} GB",
                ),
            )
            rows.append(row)
            by_chip.setdefault(short, []).append(row)
    return tuple(rows), MappingProxyType({k: tuple(v) for k, v in by_chip.items()})


_APPLE_ROWS, _APPLE_BY_CHIP = _apple_rows()


_CPU_ROWS: tuple[HardwareProfile, ...] = (
    HardwareProfile(
        name="Desktop CPU (8 cores, DDR5-5600 dual channel)",
        kind="cpu",
        memory_bytes=32 * GIB,
        bandwidth_gbps=DESKTOP_BANDWIDTH_GBPS,
        peak_bf16_tflops=8 * 4.5e9 * X86_FLOP_PER_CYCLE / 1e12,
        tdp_w=105,
        idle_w=15,
        source=(
            "rule: 2 channels × 8 B × 5600 MT/s (JEDEC DDR5-5600) = 89.6 GB/s; 8 cores × 4.5 GHz "
            "× 32 FP32 FLOP/cycle (AVX2 2×FMA) = 1.15 TFLOPS; 105 W = Ryzen 7 7700X TDP "
            "(amd.com); 32 GiB RAM; idle approximate"
        ),
        usable_fraction=CPU_USABLE_FRACTION,
        aliases=("Desktop CPU", "desktop", "DDR5 desktop"),
    ),
    HardwareProfile(
        name="Laptop CPU (8 cores, LPDDR5-6400)",
        kind="cpu",
        memory_bytes=16 * GIB,
        bandwidth_gbps=128 / 8 * 6400 / 1000,
        peak_bf16_tflops=8 * 3.5e9 * X86_FLOP_PER_CYCLE / 1e12,
        tdp_w=28,
        idle_w=3,
        source=(
            "rule: 128-bit LPDDR5-6400 = 16 B × 6400 MT/s = 102.4 GB/s; 8 cores × 3.5 GHz × 32 "
            "FP32 FLOP/cycle = 0.9 TFLOPS; 28 W = base power of Intel Core Ultra 7 155H / "
            "AMD Ryzen 7 7840U class (vendor pages); 16 GiB RAM; idle approximate"
        ),
        usable_fraction=CPU_USABLE_FRACTION,
        aliases=("Laptop CPU", "laptop"),
    ),
)

PROFILES: tuple[HardwareProfile, ...] = (*_GPU_ROWS, *_APPLE_ROWS, *_CPU_ROWS)
"""Every what-if profile: NVIDIA GPUs, Apple silicon configurations, generic CPUs."""


def _norm(name: str) -> str:
    text = name.lower().replace("-", " ").replace("_", " ")
    words = [w for w in text.split() if w not in {"nvidia", "geforce", "tesla"}]
    return " ".join(words)


def _build_index() -> Mapping[str, HardwareProfile]:
    index: dict[str, HardwareProfile] = {}
    for row in PROFILES:
        for key in (row.name, *row.aliases):
            index.setdefault(_norm(key), row)
    return MappingProxyType(index)


_INDEX = _build_index()


def profile_names() -> tuple[str, ...]:
    """Names of every table profile, in table order."""
    return tuple(p.name for p in PROFILES)


def find_profile(name: str) -> HardwareProfile | None:
    """Look a profile up by name or alias, or None.

    Case, ``-``/``_`` and the words NVIDIA/GeForce/Tesla do not matter, so NVML's names match:
    ``"NVIDIA H100 80GB HBM3"``, ``"NVIDIA A100-SXM4-80GB"``, ``"Tesla T4"``. Only whole names
    match: ``"RTX 4070 Laptop GPU"`` and ``"RTX 4070 Ti"`` are other cards and find nothing.
    """
    return _INDEX.get(_norm(name))


def profile_for(name: str) -> HardwareProfile:
    """The table profile with this name or alias (case-insensitive).

    Args:
        name: ``"H100 SXM 80GB"``, ``"rtx 4090"``, ``"MacBook Pro M3 Max 36 GB"`` ...

    Returns:
        The profile.

    Raises:
        AnalysisError: For an unknown name; the message lists the valid names.

    Example:
        >>> profile_for("macbook pro m3 max 36 gb").bandwidth_gbps
        300
    """
    found = find_profile(name)
    if found is None:
        raise AnalysisError(f"unknown hardware {name!r}; valid: {', '.join(profile_names())}")
    return found


_APPLE_CHIP = re.compile(r"\bapple\s+(m\d)(?:\s+(pro|max|ultra))?\b", re.IGNORECASE)


def _cpu_rule(cpu: CpuInfo) -> tuple[float, float, float, str]:
    """Bandwidth, peak TFLOPS, TDP and a description of the rules, for a CPU-only machine."""
    model = cpu.model.lower()
    server = any(word in model for word in ("xeon", "epyc", "threadripper"))
    bandwidth = SERVER_BANDWIDTH_GBPS if server else DESKTOP_BANDWIDTH_GBPS
    cores = cpu.physical_cores or max(1, cpu.logical_cores // 2)
    mhz = cpu.freq_max_mhz or cpu.freq_mhz or 3000.0
    arm = cpu.arch.lower() in {"arm64", "aarch64"} or cpu.arch.lower().startswith("arm")
    flop_per_cycle = ARM_FLOP_PER_CYCLE if arm else X86_FLOP_PER_CYCLE
    tflops = cores * mhz * 1e6 * flop_per_cycle / 1e12
    tdp = min(350.0, max(15.0, CPU_WATTS_PER_CORE_RULE * cores))
    rule = (
        f"bandwidth rule: {'8-channel DDR5-4800' if server else 'dual-channel DDR5-5600'} "
        f"({bandwidth:.1f} GB/s, not measured); peak rule: {cores} cores × {mhz:.0f} MHz × "
        f"{flop_per_cycle} FP32 FLOP/cycle; TDP rule: 10 W/core clamped 15–350 W; "
        f"idle rule: 10 % of TDP"
    )
    return bandwidth, tflops, tdp, rule


def _gpu_profile(gpu: GpuInfo) -> HardwareProfile:
    row = find_profile(gpu.name)
    parts: list[str] = []
    if gpu.vram_free_bytes is not None:
        memory, what = gpu.vram_free_bytes, "memory: NVML free VRAM"
    elif gpu.vram_total_bytes is not None:
        memory, what = gpu.vram_total_bytes, "memory: NVML total VRAM (free unknown)"
    elif row is not None:
        memory, what = row.memory_bytes, f"memory: table total ({row.name})"
    else:
        memory, what = 0, "memory: unknown (0)"
    parts.append(what)
    if gpu.memory_bandwidth_gbps is not None:
        bandwidth = gpu.memory_bandwidth_gbps
        parts.append("bandwidth: NVML bus width × max memory clock")
    elif row is not None:
        bandwidth = row.bandwidth_gbps
        parts.append(f"bandwidth: table ({row.name})")
    else:
        bandwidth = UNKNOWN_GPU_BANDWIDTH_GBPS
        parts.append(f"bandwidth: assumed {UNKNOWN_GPU_BANDWIDTH_GBPS:.0f} GB/s (unknown GPU)")
    if row is not None:
        peak = row.peak_bf16_tflops
        parts.append(f"peak: table ({row.name})")
    else:
        peak = GPU_FLOPS_PER_BYTE_RULE * bandwidth * 1e9 / 1e12
        parts.append(f"peak rule: {GPU_FLOPS_PER_BYTE_RULE:.0f} FLOP/byte × bandwidth")
    if gpu.power_limit_w is not None:
        tdp = gpu.power_limit_w
        parts.append("TDP: NVML enforced power limit")
    elif gpu.default_power_limit_w is not None:
        tdp = gpu.default_power_limit_w
        parts.append("TDP: NVML default power limit")
    elif row is not None:
        tdp = row.tdp_w
        parts.append(f"TDP: table ({row.name})")
    else:
        tdp = 250.0
        parts.append("TDP: assumed 250 W (unknown GPU)")
    if row is not None:
        idle = min(row.idle_w, tdp)
        parts.append(f"idle: table ({row.name})")
    else:
        idle = GPU_IDLE_SHARE_RULE * tdp
        parts.append("idle rule: 10 % of TDP")
    return HardwareProfile(
        name=gpu.name,
        kind="gpu",
        memory_bytes=memory,
        bandwidth_gbps=bandwidth,
        peak_bf16_tflops=peak,
        tdp_w=tdp,
        idle_w=idle,
        source=f"detected GPU {gpu.index}" + (f"; table row: {row.source}" if row else ""),
        method="; ".join(parts),
    )


def _apple_profile(info: HardwareInfo, chip: str) -> HardwareProfile:
    total = info.memory.total_bytes
    candidates = _APPLE_BY_CHIP[chip]
    row = next((p for p in candidates if p.memory_bytes == total), None)
    if row is None:
        # Pick the variant whose memory is closest (the 30/32-core Max only came with 36 GB).
        row = min(candidates, key=lambda p: abs(p.memory_bytes - total))
    working_set = int(apple_usable_fraction(total) * total)
    memory = min(info.memory.available_bytes, working_set)
    return HardwareProfile(
        name=f"Apple {chip} ({total / GIB:.0f} GB)",
        kind="apple",
        memory_bytes=memory,
        bandwidth_gbps=row.bandwidth_gbps,
        peak_bf16_tflops=row.peak_bf16_tflops,
        tdp_w=row.tdp_w,
        idle_w=row.idle_w,
        source=f"detected {info.cpu.model}; table row: {row.name}: {row.source}",
        method=(
            "memory: available RAM capped at the Metal working set "
            f"({apple_usable_fraction(total):.2f} × total); bandwidth, peak, TDP, idle: "
            f"table ({row.name})"
        ),
    )


def profile_from_hardware(info: HardwareInfo) -> HardwareProfile:
    """The profile of the detected machine.

    The best GPU is the one with the most free VRAM. Its memory is its free VRAM; bandwidth from
    NVML (bus width × memory clock) when known, else the table row of its name, else assumed;
    peak from the table, else ``150 FLOP/byte × bandwidth``; TDP the enforced power limit; idle
    from the table, else 10 % of TDP. Without a GPU: Apple silicon from the chip's table row
    (memory = available RAM capped at the Metal working set), else the CPU rules (bandwidth of
    dual-channel DDR5-5600, or eight-channel DDR5-4800 for Xeon/EPYC/Threadripper; peak =
    cores × max clock × FLOP/cycle; memory = available RAM). ``method`` names the origin of each
    number.

    Args:
        info: What :func:`core.hardware.detect` found.

    Returns:
        The profile, with ``usable_fraction`` 1.0 (memory is already what is free).
    """
    if info.gpus:
        best = max(
            info.gpus,
            key=lambda g: (g.vram_free_bytes or g.vram_total_bytes or 0, -g.index),
        )
        return _gpu_profile(best)
    match = _APPLE_CHIP.search(info.cpu.model)
    if match is not None:
        chip = match.group(1).upper() + (f" {match.group(2).title()}" if match.group(2) else "")
        if chip in _APPLE_BY_CHIP:
            return _apple_profile(info, chip)
    bandwidth, tflops, tdp, rule = _cpu_rule(info.cpu)
    return HardwareProfile(
        name=info.cpu.model or "CPU",
        kind="cpu",
        memory_bytes=info.memory.available_bytes,
        bandwidth_gbps=bandwidth,
        peak_bf16_tflops=tflops,
        tdp_w=tdp,
        idle_w=GPU_IDLE_SHARE_RULE * tdp,
        source="detected CPU",
        method=f"memory: available RAM (psutil); {rule}",
    )
