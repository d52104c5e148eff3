"""Hardware detection and recommendations, with fake /proc, psutil and NVML."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.hardware import (
    cpu_model,
    detect,
    disk_info,
    hf_cache_dir,
    recommend,
    to_json,
    virtualization,
)
from core.hwinfo import CpuInfo, GpuInfo, MemoryInfo
from core.nvml import PynvmlBackend
from tests.core.test_cpu_reader import fake_psutil
from tests.fakes.fake_nvml import FakeNvml, h100

GIB = 1024**3


def cpu(cores: int, logical: int | None = None) -> CpuInfo:
    return CpuInfo("test CPU", cores, logical or cores, 3000.0, 4000.0, "x86_64")


def memory(total_gb: float, available_gb: float) -> MemoryInfo:
    return MemoryInfo(int(total_gb * GIB), int(available_gb * GIB), 0, 0)


def gpu(free_gb: float) -> GpuInfo:
    return GpuInfo(
        0, "GPU", vram_total_bytes=int(free_gb * GIB), vram_free_bytes=int(free_gb * GIB)
    )


@pytest.mark.parametrize(
    ("available_gb", "tier", "warns"),
    [
        (3.9, "tiny", True),
        (4.0, "2b", False),
        (7.9, "2b", False),
        (8.0, "4b", False),
        (15.9, "4b", False),
        (16.0, "9b+", False),
        (64.0, "9b+", False),
    ],
)
def test_model_tier_from_available_ram(available_gb: float, tier: str, warns: bool) -> None:
    rec = recommend(cpu(4), memory(64, available_gb), ())
    assert rec.model_tier == tier
    assert rec.memory_source == "ram"
    assert (rec.warning is not None) == warns


def test_tier_uses_the_largest_free_vram_when_there_is_a_gpu() -> None:
    rec = recommend(cpu(8), memory(16, 2), (gpu(6.0), gpu(12.0)))
    assert rec.memory_source == "gpu"
    assert rec.model_tier == "4b"
    assert rec.memory_gb == pytest.approx(12.0)


@pytest.mark.parametrize(
    ("ram_gb", "cores", "profile", "context", "batch"),
    [
        (64, 16, "quality", 8192, 4),
        (32, 8, "quality", 8192, 4),
        (32, 6, "balanced", 4096, 2),
        (16, 4, "balanced", 4096, 2),
        (15, 16, "fast", 2048, 1),
        (8, 2, "fast", 2048, 1),
    ],
)
def test_profile_tiers(ram_gb: int, cores: int, profile: str, context: int, batch: int) -> None:
    rec = recommend(cpu(cores), memory(ram_gb, ram_gb / 2), ())
    assert rec.profile == profile
    assert rec.context_length == context
    assert rec.batch_size == batch
    assert any(profile in reason for reason in rec.reasons)


@pytest.mark.parametrize(("cores", "threads"), [(1, 1), (2, 1), (8, 7), (9, 7), (32, 30)])
def test_threads_leave_cores_for_the_system(cores: int, threads: int) -> None:
    assert recommend(cpu(cores), memory(8, 4), ()).threads == threads


def test_big_gpu_raises_the_batch() -> None:
    assert recommend(cpu(16), memory(64, 60), (gpu(79),)).batch_size == 8


def test_cpu_model_from_proc(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "cpuinfo").write_text(
        "processor\t: 0\nmodel name\t: AMD  EPYC 7B13 64-Core Processor\nflags\t: fpu hypervisor\n"
    )
    assert cpu_model(tmp_path) == "AMD EPYC 7B13 64-Core Processor"
    assert virtualization(tmp_path, tmp_path) == "virtual machine (hypervisor flag)"
    (tmp_path / "proc" / "cpuinfo").write_text(
        "processor\t: 0\nHardware\t: BCM2835\nModel\t: Raspberry Pi 4\n"
    )
    assert cpu_model(tmp_path) == "Raspberry Pi 4"


def test_virtualization_from_dmi(tmp_path: Path) -> None:
    dmi = tmp_path / "sys" / "class" / "dmi" / "id"
    dmi.mkdir(parents=True)
    (dmi / "sys_vendor").write_text("QEMU\n")
    (dmi / "product_name").write_text("Standard PC (Q35 + ICH9, 2009)\n")
    assert virtualization(tmp_path, tmp_path) == "QEMU Standard PC (Q35 + ICH9, 2009)"
    (dmi / "sys_vendor").write_text("Dell Inc.\n")
    (dmi / "product_name").write_text("XPS 15\n")
    assert virtualization(tmp_path, tmp_path) is None


def test_hf_cache_dir_follows_huggingface_hub_rules(tmp_path: Path) -> None:
    assert hf_cache_dir({"HF_HUB_CACHE": "/a", "HF_HOME": "/b"}) == Path("/a")
    assert hf_cache_dir({"HF_HOME": "/b"}) == Path("/b/hub")
    assert hf_cache_dir({"XDG_CACHE_HOME": "/c"}) == Path("/c/huggingface/hub")
    assert hf_cache_dir({}) == Path.home() / ".cache" / "huggingface" / "hub"


def test_disk_info_uses_the_nearest_existing_directory(tmp_path: Path) -> None:
    info = disk_info(tmp_path / "not" / "yet" / "created")
    assert info.free_bytes is not None and info.free_bytes > 0
    assert info.path.endswith("created")


def _psutil() -> Any:
    ps = fake_psutil()
    ps.cpu_count = lambda logical=True: 8 if logical else 4
    ps.swap_memory = lambda: type("swap", (), {"total": 2 * GIB, "free": GIB})()
    return ps


def test_detect_with_an_h100_and_no_cpu_sensors(tmp_path: Path) -> None:
    backend = PynvmlBackend(module=FakeNvml([h100()]))
    info = detect(
        root=tmp_path,
        proc_root=tmp_path,
        psutil_module=_psutil(),
        nvml_backend=backend,
        environ={"HF_HOME": str(tmp_path / "hf")},
    )
    assert info.cpu.physical_cores == 4 and info.cpu.logical_cores == 8
    (gpu0,) = info.gpus
    assert gpu0.name == "NVIDIA H100 80GB HBM3"
    assert gpu0.memory_bandwidth_gbps == pytest.approx(3352.32)
    assert gpu0.power_limit_w == 700.0
    names = {s.name: s for s in info.sensors}
    assert not names["CPU package power (RAPL)"].available
    assert names["CPU package power (RAPL)"].reason
    assert names["GPU 0 energy counter"].available
    assert info.recommendations.memory_source == "gpu"
    data = to_json(info)
    json.dumps(data)  # serialisable
    assert data["gpus"][0]["compute_capability"] == "9.0"
    assert data["disk"]["path"] == str(tmp_path / "hf" / "hub")


def test_detect_without_nvml_says_why(tmp_path: Path) -> None:
    import pynvml

    backend = PynvmlBackend(module=FakeNvml(init_error=pynvml.NVMLError_LibraryNotFound()))
    info = detect(root=tmp_path, proc_root=tmp_path, psutil_module=_psutil(), nvml_backend=backend)
    assert info.gpus == ()
    assert info.gpu_reason == "NVML library not found (no NVIDIA driver installed)"
    gpu_rows = [s for s in info.sensors if s.source == "nvml"]
    assert gpu_rows and not any(s.available for s in gpu_rows)
