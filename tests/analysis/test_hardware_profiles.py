"""What-if hardware table and the profile of the detected machine."""

from __future__ import annotations

import pytest

from core.analysis.hardware_profiles import (
    GIB,
    PROFILES,
    HardwareProfile,
    apple_usable_fraction,
    find_profile,
    profile_for,
    profile_from_hardware,
    profile_names,
)
from core.errors import AnalysisError
from core.hwinfo import (
    CpuInfo,
    DiskInfo,
    GpuInfo,
    HardwareInfo,
    MemoryInfo,
    OsInfo,
    Recommendations,
)

REQUIRED = [
    "H100 SXM 80GB",
    "H100 PCIe 80GB",
    "H200 SXM 141GB",
    "A100 SXM4 80GB",
    "A100 SXM4 40GB",
    "L40S",
    "L4",
    "A10G",
    "RTX 4090",
    "RTX 4080",
    "RTX 4070",
    "RTX 3090",
    "RTX 3060 12GB",
    "T4",
    "Apple M1 16 GB",
    "Apple M1 Max 64 GB",
    "Apple M2 Pro 32 GB",
    "Apple M3 Max 30-core GPU 36 GB",
    "Apple M4 Max 128 GB",
]


@pytest.mark.parametrize("name", REQUIRED)
def test_required_rows_exist(name: str) -> None:
    assert profile_for(name).name == name


def test_every_row_is_complete_and_sourced() -> None:
    kinds = {p.kind for p in PROFILES}
    assert kinds == {"gpu", "apple", "cpu"}
    for p in PROFILES:
        assert p.memory_bytes > 0, p.name
        assert p.bandwidth_gbps > 0, p.name
        assert p.peak_bf16_tflops > 0, p.name
        assert 0 < p.idle_w < p.tdp_w, p.name
        assert p.source, p.name
        assert 0 < p.usable_fraction <= 1, p.name
    assert len(profile_names()) == len(set(profile_names()))


def test_datasheet_figures() -> None:
    h100 = profile_for("H100 SXM 80GB")
    assert (h100.bandwidth_gbps, h100.peak_bf16_tflops, h100.tdp_w) == (3350, 989.5, 700)
    assert h100.memory_bytes == 80 * GIB
    assert "nvidia" in h100.source
    assert profile_for("RTX 4090").bandwidth_gbps == 1008
    assert profile_for("T4").peak_bf16_tflops == 65
    assert profile_for("L4").tdp_w == 72


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("h100 sxm 80gb", "H100 SXM 80GB"),
        ("NVIDIA H100 80GB HBM3", "H100 SXM 80GB"),  # NVML's name
        ("NVIDIA A100-SXM4-80GB", "A100 SXM4 80GB"),
        ("NVIDIA A100-PCIE-40GB", "A100 PCIe 40GB"),
        ("NVIDIA GeForce RTX 4090", "RTX 4090"),
        ("Tesla T4", "T4"),
        ("NVIDIA L4", "L4"),
        ("MacBook Pro M3 Max 36 GB", "Apple M3 Max 30-core GPU 36 GB"),
        ("macbook pro m3 max 64 gb", "Apple M3 Max 64 GB"),
        ("Mac mini M4 16 GB", "Apple M4 16 GB"),
        ("desktop", "Desktop CPU (8 cores, DDR5-5600 dual channel)"),
    ],
)
def test_case_insensitive_lookup_and_aliases(query: str, name: str) -> None:
    assert profile_for(query).name == name


@pytest.mark.parametrize("query", ["RTX 4070 Ti", "NVIDIA GeForce RTX 4070 Laptop GPU", "H1000"])
def test_no_partial_matches(query: str) -> None:
    assert find_profile(query) is None


def test_unknown_name_lists_valid_names() -> None:
    with pytest.raises(AnalysisError) as info:
        profile_for("Voodoo 2")
    assert "Voodoo 2" in str(info.value)
    assert "H100 SXM 80GB" in str(info.value)
    assert "RTX 4090" in str(info.value)


def test_m3_max_variants_differ_in_bandwidth() -> None:
    assert profile_for("Apple M3 Max 30-core GPU 36 GB").bandwidth_gbps == 300
    assert profile_for("Apple M3 Max 48 GB").bandwidth_gbps == 400


def test_usable_memory() -> None:
    assert apple_usable_fraction(16 * GIB) == pytest.approx(2 / 3)
    assert apple_usable_fraction(36 * GIB) == pytest.approx(2 / 3)
    assert apple_usable_fraction(64 * GIB) == pytest.approx(3 / 4)
    m = profile_for("Apple M1 Max 64 GB")
    assert m.available_bytes == 48 * GIB
    assert profile_for("RTX 4090").available_bytes == 24 * GIB
    desktop = profile_for("desktop")
    assert desktop.available_bytes == int(32 * GIB * 0.8)
    assert desktop.bandwidth_gbps == pytest.approx(89.6)


# --- the detected machine -------------------------------------------------------------------


def info(
    gpus: tuple[GpuInfo, ...] = (),
    cpu_model: str = "AMD Ryzen 7 7700X 8-Core Processor",
    arch: str = "x86_64",
    total_gib: int = 64,
    available_gib: int = 40,
) -> HardwareInfo:
    return HardwareInfo(
        cpu=CpuInfo(cpu_model, 8, 16, 4500.0, 5000.0, arch),
        memory=MemoryInfo(total_gib * GIB, available_gib * GIB, 0, 0),
        disk=DiskInfo("/tmp", None, None),
        os=OsInfo("Linux", "6.0", "test", "3.11"),
        gpus=gpus,
        gpu_reason=None,
        sensors=(),
        recommendations=Recommendations(0.0, "ram", "tiny", "", "fast", 1, 512, 1, 64),
    )


def h100(index: int = 0, free_gib: int = 70, **kw: object) -> GpuInfo:
    fields: dict[str, object] = {
        "vram_total_bytes": 80 * GIB,
        "vram_free_bytes": free_gib * GIB,
        "power_limit_w": 500.0,
        "default_power_limit_w": 700.0,
        "memory_bandwidth_gbps": 3352.0,
    }
    fields.update(kw)
    return GpuInfo(index, "NVIDIA H100 80GB HBM3", **fields)  # type: ignore[arg-type]


def test_detected_gpu_uses_free_vram_nvml_bandwidth_and_enforced_limit() -> None:
    p = profile_from_hardware(info((h100(),)))
    assert p.kind == "gpu"
    assert p.memory_bytes == 70 * GIB
    assert p.available_bytes == 70 * GIB
    assert p.bandwidth_gbps == 3352.0
    assert p.peak_bf16_tflops == 989.5  # table
    assert p.tdp_w == 500.0  # enforced, not default
    assert p.idle_w == 75
    assert "NVML free VRAM" in p.method
    assert "NVML bus width" in p.method
    assert "peak: table (H100 SXM 80GB)" in p.method
    assert "enforced power limit" in p.method


def test_best_gpu_has_most_free_vram() -> None:
    p = profile_from_hardware(info((h100(0, free_gib=10), h100(1, free_gib=60))))
    assert p.memory_bytes == 60 * GIB
    assert "GPU 1" in p.source


def test_detected_gpu_falls_back_to_table_then_rules() -> None:
    p = profile_from_hardware(
        info((h100(memory_bandwidth_gbps=None, power_limit_w=None, vram_free_bytes=None),))
    )
    assert p.bandwidth_gbps == 3350  # table row
    assert p.tdp_w == 700.0  # default limit
    assert p.memory_bytes == 80 * GIB
    assert "free unknown" in p.method

    unknown = GpuInfo(0, "NVIDIA Mystery 9000", vram_free_bytes=8 * GIB)
    q = profile_from_hardware(info((unknown,)))
    assert q.bandwidth_gbps == 300.0
    assert q.peak_bf16_tflops == pytest.approx(45.0)  # 150 FLOP/byte × 300 GB/s
    assert q.tdp_w == 250.0
    assert q.idle_w == pytest.approx(25.0)
    assert "assumed" in q.method
    assert "rule" in q.method


def test_cpu_only_machine_uses_rules() -> None:
    p = profile_from_hardware(info())
    assert p.kind == "cpu"
    assert p.memory_bytes == 40 * GIB  # available RAM
    assert p.bandwidth_gbps == pytest.approx(89.6)
    assert p.peak_bf16_tflops == pytest.approx(8 * 5.0e9 * 32 / 1e12)
    assert p.tdp_w == 80.0
    assert "rule" in p.method


def test_server_cpu_bandwidth_rule() -> None:
    p = profile_from_hardware(info(cpu_model="Intel(R) Xeon(R) Platinum 8480+"))
    assert p.bandwidth_gbps == pytest.approx(307.2)


def test_arm_cpu_flops_rule() -> None:
    p = profile_from_hardware(info(cpu_model="Neoverse-N1", arch="aarch64"))
    assert p.peak_bf16_tflops == pytest.approx(8 * 5.0e9 * 16 / 1e12)


def test_apple_machine_from_chip_table() -> None:
    p = profile_from_hardware(info(cpu_model="Apple M3 Max", total_gib=36, available_gib=30))
    assert p.kind == "apple"
    assert p.bandwidth_gbps == 300  # the 36 GB M3 Max is the 30-core-GPU part
    assert p.memory_bytes == 24 * GIB  # capped at 2/3 of 36 GiB
    q = profile_from_hardware(info(cpu_model="Apple M3 Max", total_gib=64, available_gib=20))
    assert q.bandwidth_gbps == 400
    assert q.memory_bytes == 20 * GIB  # available RAM is below the working set


def test_profile_is_frozen() -> None:
    p: HardwareProfile = profile_for("L4")
    with pytest.raises(AttributeError):
        p.tdp_w = 1  # type: ignore[misc]
