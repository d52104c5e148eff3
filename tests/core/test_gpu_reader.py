"""core.telemetry.gpu against a scripted H100: values, units, caching, lost and sleeping GPUs."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pynvml
import pytest

from core.hwinfo import SensorStatus
from core.nvml import PynvmlBackend
from core.telemetry.base import Unavailable
from core.telemetry.gpu import (
    REASON_ASLEEP,
    GpuReader,
    enumerate_gpus,
    memory_bandwidth_gbps,
    pci_bdf,
)
from core.telemetry.sample import GpuSample
from core.telemetry.sysfs import SysfsRoot
from tests.fakes.fake_nvml import GIB, FakeDevice, FakeNvml, h100

NOT_SUPPORTED = "not supported on this GPU"
NOT_IN_DRIVER = "not in this driver (driver older than nvidia-ml-py)"
INSTANT = pynvml.NVML_FI_DEV_POWER_INSTANT
GPU_SCOPE = pynvml.NVML_POWER_SCOPE_GPU
MODULE_SCOPE = pynvml.NVML_POWER_SCOPE_MODULE

READING_FIELDS = [
    f.name
    for f in dataclasses.fields(GpuSample)
    if f.name not in ("index", "name", "lost", "unavailable", "violation_ns")
]


def make_reader(
    *devices: FakeDevice, root: Path, **fake_kwargs: object
) -> tuple[GpuReader, FakeNvml]:
    fake = FakeNvml(list(devices), **fake_kwargs)  # type: ignore[arg-type]
    return GpuReader(PynvmlBackend(module=fake), root=root), fake


def set_power_state(root: Path, bdf: str, state: str) -> None:
    device_dir = root / "sys" / "bus" / "pci" / "devices" / bdf
    device_dir.mkdir(parents=True, exist_ok=True)
    (device_dir / "power_state").write_text(state + "\n")


def assert_every_none_has_a_reason(sample: GpuSample) -> None:
    reasons = dict(sample.unavailable)
    for name in READING_FIELDS:
        if getattr(sample, name) is None:
            assert reasons.get(name), f"{name} is None without a reason"
        else:
            assert name not in reasons, f"{name} has a value and a reason"


# --- enumerate_gpus ------------------------------------------------------------------------


def test_enumerate_h100(tmp_path: Path) -> None:
    fake = FakeNvml([h100()], system={"nvmlSystemGetCudaDriverVersion_v2": 12040})
    result = enumerate_gpus(PynvmlBackend(module=fake), root=tmp_path)
    assert result.reason is None
    assert result.driver_version == "580.159.04"
    (gpu,) = result.gpus
    assert gpu.index == 0
    assert gpu.name == "NVIDIA H100 80GB HBM3"
    assert gpu.uuid == "GPU-5c1d8f2e-0b7a-4e55-9d3c-2f1e6a7b8c9d"
    assert gpu.vram_total_bytes == 80 * GIB
    assert gpu.vram_free_bytes == 79 * GIB
    assert gpu.driver_version == "580.159.04"
    assert gpu.cuda_version == "12.4"
    assert gpu.compute_capability == "9.0"
    assert gpu.power_limit_w == 700.0
    assert gpu.default_power_limit_w == 700.0
    assert gpu.slowdown_temp_c == 89.0
    assert gpu.shutdown_temp_c == 92.0
    assert gpu.memory_bus_width_bits == 5120
    assert gpu.memory_clock_max_mhz == 2619.0
    assert gpu.memory_bandwidth_gbps == pytest.approx(3352.32)
    assert round(gpu.memory_bandwidth_gbps or 0, 1) == 3352.3
    assert gpu.sm_clock_max_mhz == 1980.0
    assert gpu.unavailable == ()


def test_bandwidth_formula() -> None:
    assert memory_bandwidth_gbps(5120, 2619) == pytest.approx(3352.32)
    assert memory_bandwidth_gbps(384, 10501) == pytest.approx(1008.096)  # RTX 4090


def test_enumerate_falls_back_to_old_cuda_version_call(tmp_path: Path) -> None:
    fake = FakeNvml(
        [h100()],
        removed={"nvmlSystemGetCudaDriverVersion_v2"},
        system={"nvmlSystemGetCudaDriverVersion": 11080},
    )
    (gpu,) = enumerate_gpus(PynvmlBackend(module=fake), root=tmp_path).gpus
    assert gpu.cuda_version == "11.8"


def test_enumerate_field_failures_are_none_with_reasons(tmp_path: Path) -> None:
    device = h100(
        values={
            "nvmlDeviceGetMemoryBusWidth": pynvml.NVMLError_NotSupported(),
            "nvmlDeviceGetPowerManagementDefaultLimit": pynvml.NVMLError_NoPermission(),
        }
    )
    fake = FakeNvml([device])
    (gpu,) = enumerate_gpus(PynvmlBackend(module=fake), root=tmp_path).gpus
    reasons = dict(gpu.unavailable)
    assert gpu.memory_bus_width_bits is None
    assert reasons["memory_bus_width_bits"] == NOT_SUPPORTED
    assert gpu.memory_bandwidth_gbps is None
    assert reasons["memory_bandwidth_gbps"] == "needs the memory bus width"
    assert gpu.default_power_limit_w is None
    assert reasons["default_power_limit_w"] == "no permission"
    assert gpu.power_limit_w == 700.0
    assert gpu.memory_clock_max_mhz == 2619.0


def test_enumerate_without_nvml(tmp_path: Path) -> None:
    fake = FakeNvml(init_error=pynvml.NVMLError_LibraryNotFound())
    result = enumerate_gpus(PynvmlBackend(module=fake), root=tmp_path)
    assert result.gpus == ()
    assert result.reason == "NVML library not found (no NVIDIA driver installed)"


def test_enumerate_zero_gpus(tmp_path: Path) -> None:
    result = enumerate_gpus(PynvmlBackend(module=FakeNvml([])), root=tmp_path)
    assert result.gpus == ()
    assert result.reason == "no NVIDIA GPU found"


def test_enumerate_does_not_wake_a_sleeping_gpu(tmp_path: Path) -> None:
    set_power_state(tmp_path, "0000:01:00.0", "D3cold")
    fake = FakeNvml([h100(bus_id="00000000:01:00.0")])
    (gpu,) = enumerate_gpus(PynvmlBackend(module=fake), root=tmp_path).gpus
    assert gpu.name == "NVIDIA GPU 0"
    assert gpu.vram_total_bytes is None
    assert dict(gpu.unavailable)["vram_total_bytes"] == REASON_ASLEEP
    touched = set(fake.devices[0].calls) - {"nvmlDeviceGetHandleByIndex", "nvmlDeviceGetPciInfo"}
    assert touched == set()


# --- GpuReader.read ------------------------------------------------------------------------


def test_read_h100_values_and_units(tmp_path: Path) -> None:
    reader, _ = make_reader(h100(), root=tmp_path)
    (sample,) = reader.read()
    assert sample.index == 0
    assert sample.name == "NVIDIA H100 80GB HBM3"
    assert sample.lost is False
    assert sample.power_instant_w == pytest.approx(703.456)
    assert sample.power_avg_w == pytest.approx(698.25)
    assert sample.power_limit_w == 700.0
    assert sample.energy_mj == 5_000_000_000
    assert sample.temp_c == 57.0
    assert sample.mem_temp_c == 38.0
    assert sample.slowdown_temp_c == 89.0
    assert sample.shutdown_temp_c == 92.0
    assert sample.sm_clock_mhz == 1335.0
    assert sample.sm_clock_max_mhz == 1980.0
    assert sample.mem_clock_mhz == 2619.0
    assert sample.mem_clock_max_mhz == 2619.0
    assert sample.util_gpu_pct == 100.0
    assert sample.util_mem_pct == 48.0
    assert sample.vram_used_bytes == 1 * GIB
    assert sample.vram_total_bytes == 80 * GIB
    assert sample.clock_event_reasons == 0x4
    assert sample.violation_ns == (
        ("power", 2_928_704_992),
        ("thermal", 0),
        ("reliability", 0),
        ("sw_thermal", 0),
        ("hw_thermal", 0),
        ("hw_power_brake", 0),
    )
    assert sample.unavailable == ()


def test_energy_counter_read_exactly_once_per_read(tmp_path: Path) -> None:
    reader, fake = make_reader(h100(), root=tmp_path)
    energies = [reader.read()[0].energy_mj for _ in range(3)]
    assert energies == [5_000_000_000, 5_000_070_000, 5_000_140_500]
    assert fake.calls["nvmlDeviceGetTotalEnergyConsumption"] == 3


def test_static_values_are_read_once(tmp_path: Path) -> None:
    reader, fake = make_reader(h100(), root=tmp_path)
    for _ in range(3):
        sample = reader.read()[0]
    assert sample.slowdown_temp_c == 89.0
    assert sample.mem_clock_max_mhz == 2619.0
    assert fake.calls["nvmlDeviceGetTemperatureThreshold"] == 2  # slowdown + shutdown, once
    assert fake.calls["nvmlDeviceGetMaxClockInfo"] == 2  # SM + memory, once
    assert fake.calls["nvmlDeviceGetName"] == 1
    assert fake.calls["nvmlDeviceGetHandleByIndex"] == 1
    assert fake.calls["nvmlDeviceGetClockInfo"] == 6  # current clocks: every read
    assert fake.calls["nvmlDeviceGetFieldValues"] == 3  # one batched call per read


def test_instant_power_falls_back_to_module_scope(tmp_path: Path) -> None:
    device = h100(
        fields={
            (INSTANT, GPU_SCOPE): pynvml.NVMLError_NotSupported(),
            (INSTANT, MODULE_SCOPE): [812_000, 820_500],
        }
    )
    reader, _ = make_reader(device, root=tmp_path)
    first = reader.read()[0]
    second = reader.read()[0]
    assert first.power_instant_w == pytest.approx(812.0)
    assert second.power_instant_w == pytest.approx(820.5)
    assert device.field_calls[(INSTANT, GPU_SCOPE)] == 1  # probed once
    assert device.field_calls[(INSTANT, MODULE_SCOPE)] == 2


def test_instant_power_unsupported_in_both_scopes_is_probed_once(tmp_path: Path) -> None:
    device = h100(fields={(INSTANT, GPU_SCOPE): pynvml.NVMLError_NotSupported()})
    reader, _ = make_reader(device, root=tmp_path)
    for _ in range(3):
        sample = reader.read()[0]
    assert sample.power_instant_w is None
    assert sample.reason("power_instant_w") == NOT_SUPPORTED
    assert device.field_calls[(INSTANT, GPU_SCOPE)] == 1
    assert device.field_calls[(INSTANT, MODULE_SCOPE)] == 1
    assert sample.power_avg_w == pytest.approx(698.25)


def test_throttle_reasons_fall_back_on_function_not_found(tmp_path: Path) -> None:
    device = h100(
        values={
            "nvmlDeviceGetCurrentClocksEventReasons": pynvml.NVMLError_FunctionNotFound(),
            "nvmlDeviceGetCurrentClocksThrottleReasons": [0x20, 0x24],
        }
    )
    reader, fake = make_reader(device, root=tmp_path)
    assert reader.read()[0].clock_event_reasons == 0x20
    assert reader.read()[0].clock_event_reasons == 0x24
    assert fake.calls["nvmlDeviceGetCurrentClocksEventReasons"] == 1
    assert fake.calls["nvmlDeviceGetCurrentClocksThrottleReasons"] == 2


def test_throttle_reasons_fall_back_when_bindings_lack_the_new_name(tmp_path: Path) -> None:
    device = h100(values={"nvmlDeviceGetCurrentClocksThrottleReasons": 0x1})
    reader, fake = make_reader(
        device, root=tmp_path, removed={"nvmlDeviceGetCurrentClocksEventReasons"}
    )
    assert reader.read()[0].clock_event_reasons == 0x1
    assert reader.read()[0].clock_event_reasons == 0x1
    assert fake.calls["nvmlDeviceGetCurrentClocksThrottleReasons"] == 2


def test_throttle_reasons_not_supported_does_not_try_the_old_name(tmp_path: Path) -> None:
    device = h100(
        values={"nvmlDeviceGetCurrentClocksEventReasons": pynvml.NVMLError_NotSupported()}
    )
    reader, fake = make_reader(device, root=tmp_path)
    for _ in range(2):
        sample = reader.read()[0]
    assert sample.clock_event_reasons is None
    assert sample.reason("clock_event_reasons") == NOT_SUPPORTED
    assert fake.calls["nvmlDeviceGetCurrentClocksEventReasons"] == 1
    assert fake.calls["nvmlDeviceGetCurrentClocksThrottleReasons"] == 0


def test_not_supported_is_probed_once_then_not_called_again(tmp_path: Path) -> None:
    # A pre-Volta GPU: no energy counter, no memory temperature.
    device = h100(
        values={"nvmlDeviceGetTotalEnergyConsumption": pynvml.NVMLError_NotSupported()},
        fields={pynvml.NVML_FI_DEV_MEMORY_TEMP: pynvml.NVMLError_NotSupported()},
    )
    reader, fake = make_reader(device, root=tmp_path)
    samples = [reader.read()[0] for _ in range(4)]
    assert all(s.energy_mj is None for s in samples)
    assert samples[-1].reason("energy_mj") == NOT_SUPPORTED
    assert samples[-1].reason("mem_temp_c") == NOT_SUPPORTED
    assert fake.calls["nvmlDeviceGetTotalEnergyConsumption"] == 1
    assert device.field_calls[(pynvml.NVML_FI_DEV_MEMORY_TEMP, 0)] == 1
    assert device.field_calls[(pynvml.NVML_FI_DEV_PERF_POLICY_BOARD_LIMIT, 0)] == 1
    assert device.field_calls[(pynvml.NVML_FI_DEV_PERF_POLICY_POWER, 0)] == 4
    assert fake.calls["nvmlDeviceGetPowerUsage"] == 4
    assert_every_none_has_a_reason(samples[-1])


def test_malformed_nvml_result_is_a_reason_not_a_crash(tmp_path: Path) -> None:
    device = h100(values={"nvmlDeviceGetUtilizationRates": "garbage"})
    reader, _ = make_reader(device, root=tmp_path)
    sample = reader.read()[0]
    assert sample.util_gpu_pct is None
    assert (sample.reason("util_gpu_pct") or "").startswith("unexpected value from NVML")
    assert sample.temp_c == 57.0


def test_transient_errors_are_retried(tmp_path: Path) -> None:
    device = h100(values={"nvmlDeviceGetPowerUsage": [pynvml.NVMLError_Timeout(), 650_000]})
    reader, fake = make_reader(device, root=tmp_path)
    first = reader.read()[0]
    assert first.power_avg_w is None
    assert first.reason("power_avg_w") == "NVML timed out"
    assert reader.read()[0].power_avg_w == 650.0
    assert fake.calls["nvmlDeviceGetPowerUsage"] == 2


def test_violation_counters_all_missing_have_a_reason(tmp_path: Path) -> None:
    unsupported = pynvml.NVMLError_NotSupported()
    device = h100(fields={field_id: unsupported for field_id in (74, 75, 77, 79, 269, 270, 271)})
    reader, _ = make_reader(device, root=tmp_path)
    sample = reader.read()[0]
    assert sample.violation_ns == ()
    assert sample.reason("violation_ns") == NOT_SUPPORTED


def test_old_driver_without_field_values(tmp_path: Path) -> None:
    device = h100(values={"nvmlDeviceGetFieldValues": pynvml.NVMLError_FunctionNotFound()})
    reader, fake = make_reader(device, root=tmp_path)
    for _ in range(3):
        sample = reader.read()[0]
    assert sample.power_instant_w is None
    assert sample.reason("power_instant_w") == NOT_IN_DRIVER
    assert sample.mem_temp_c is None
    assert sample.reason("violation_ns") == NOT_IN_DRIVER
    assert sample.power_avg_w == pytest.approx(698.25)
    assert fake.calls["nvmlDeviceGetFieldValues"] == 1


def test_gpu_lost_mid_run_is_not_polled_again(tmp_path: Path) -> None:
    device = h100(lost_after=("nvmlDeviceGetPowerUsage", 2))
    reader, fake = make_reader(device, root=tmp_path)
    first, second = reader.read()[0], reader.read()[0]
    assert (first.lost, second.lost) == (False, False)
    third = reader.read()[0]
    assert third == GpuSample(
        index=0, lost=True, unavailable=(("gpu", "GPU is lost (fell off the bus)"),)
    )
    calls_after_loss = fake.device_calls()
    fourth = reader.read()[0]
    assert fourth == third
    assert fake.device_calls() == calls_after_loss


def test_one_lost_gpu_does_not_stop_the_other(tmp_path: Path) -> None:
    lost = h100(bus_id="00000000:18:00.0", lost=True)
    healthy = h100(bus_id="00000000:2A:00.0")
    reader, _ = make_reader(lost, healthy, root=tmp_path)
    first, second = reader.read()
    assert first.lost and first.reason("gpu") == "GPU is lost (fell off the bus)"
    assert second.lost is False
    assert second.index == 1
    assert second.temp_c == 57.0


def test_sleeping_gpu_is_not_touched(tmp_path: Path) -> None:
    set_power_state(tmp_path, "0000:01:00.0", "D3cold")
    device = h100(bus_id="00000000:01:00.0")
    reader, fake = make_reader(device, root=tmp_path)
    for _ in range(3):
        (sample,) = reader.read()
    touched = set(device.calls) - {"nvmlDeviceGetHandleByIndex", "nvmlDeviceGetPciInfo"}
    assert touched == set()
    assert device.calls["nvmlDeviceGetPciInfo"] == 1
    assert fake.calls["nvmlDeviceGetFieldValues"] == 0
    assert sample.lost is False
    assert sample.name is None
    assert all(getattr(sample, name) is None for name in READING_FIELDS)
    reasons = dict(sample.unavailable)
    assert {reasons[name] for name in [*READING_FIELDS, "violation_ns", "name"]} == {REASON_ASLEEP}

    set_power_state(tmp_path, "0000:01:00.0", "D0")
    awake = reader.read()[0]
    assert awake.temp_c == 57.0
    assert awake.name == "NVIDIA H100 80GB HBM3"
    assert fake.calls["nvmlDeviceGetTotalEnergyConsumption"] == 1


@pytest.mark.parametrize("as_root", [SysfsRoot, str], ids=["SysfsRoot", "str"])
def test_sleeping_gpu_seen_through_any_root_type(tmp_path: Path, as_root: Any) -> None:
    set_power_state(tmp_path, "0000:01:00.0", "D3cold")
    device = h100(bus_id="00000000:01:00.0")
    fake = FakeNvml([device])
    reader = GpuReader(PynvmlBackend(module=fake), root=as_root(tmp_path))
    assert reader.read()[0].reason("temp_c") == REASON_ASLEEP
    assert fake.calls["nvmlDeviceGetTemperature"] == 0


def test_pci_bdf_normalises_nvml_bus_ids() -> None:
    assert pci_bdf("00000000:1A:00.0") == "0000:1a:00.0"
    assert pci_bdf(b"00000001:03:1F.0") == "0001:03:1f.0"
    assert pci_bdf("garbage") is None


def test_every_reading_none_on_a_bare_gpu_has_a_reason(tmp_path: Path) -> None:
    bare = FakeDevice()  # nothing scripted: every call NotSupported
    reader, _ = make_reader(bare, root=tmp_path)
    sample = reader.read()[0]
    assert sample.name is None
    assert sample.reason("name") == NOT_SUPPORTED
    assert_every_none_has_a_reason(sample)
    assert sample.reason("violation_ns") == NOT_SUPPORTED


def test_reader_exposes_its_backend_for_shutdown(tmp_path: Path) -> None:
    fake = FakeNvml([h100()])
    backend = PynvmlBackend(module=fake)
    reader = GpuReader(backend, root=tmp_path)
    reader.read()
    assert reader.backend is backend
    reader.backend.shutdown()
    assert fake.calls["nvmlShutdown"] == 1


def test_read_without_nvml_returns_nothing(tmp_path: Path) -> None:
    reader, fake = make_reader(root=tmp_path, init_error=pynvml.NVMLError_LibraryNotFound())
    assert reader.read() == ()
    assert reader.read() == ()
    assert fake.calls["nvmlInit"] == 1
    assert reader.reason == Unavailable("NVML library not found (no NVIDIA driver installed)")


def test_read_with_real_pynvml_never_raises(tmp_path: Path) -> None:
    reader = GpuReader(PynvmlBackend(), root=tmp_path)
    samples = reader.read()
    if reader.reason is None:
        pytest.skip("a real NVIDIA GPU is present")
    assert samples == ()
    (row,) = reader.probe()
    assert row.name == "NVIDIA GPU"
    assert row.available is False


# --- probe ---------------------------------------------------------------------------------


def test_probe_rows_for_an_h100(tmp_path: Path) -> None:
    reader, fake = make_reader(h100(), root=tmp_path)
    rows = reader.probe()
    assert [r.name for r in rows] == [
        "GPU 0 temperature",
        "GPU 0 memory temperature",
        "GPU 0 power (instant)",
        "GPU 0 power (1 s average)",
        "GPU 0 energy counter",
        "GPU 0 clocks",
        "GPU 0 throttle reasons",
        "GPU 0 violation counters",
        "GPU 0 fan",
    ]
    assert all(r.source == "nvml" for r in rows)
    assert [r.name for r in rows if not r.available] == ["GPU 0 fan"]
    assert rows[-1] == SensorStatus(
        "GPU 0 fan", available=False, reason=NOT_SUPPORTED, source="nvml"
    )
    reader.probe()
    assert fake.calls["nvmlDeviceGetFanSpeed"] == 1


def test_probe_reports_missing_metrics(tmp_path: Path) -> None:
    device = h100(
        values={"nvmlDeviceGetTotalEnergyConsumption": pynvml.NVMLError_NotSupported()},
        fields={(INSTANT, GPU_SCOPE): pynvml.NVMLError_NoPermission()},
    )
    reader, _ = make_reader(device, root=tmp_path)
    rows = {r.name: r for r in reader.probe()}
    assert rows["GPU 0 energy counter"].available is False
    assert rows["GPU 0 energy counter"].reason == NOT_SUPPORTED
    assert rows["GPU 0 power (instant)"].reason == "no permission"
    assert rows["GPU 0 power (1 s average)"].available is True


def test_probe_lost_and_sleeping_gpus(tmp_path: Path) -> None:
    set_power_state(tmp_path, "0000:2a:00.0", "D3cold")
    lost = h100(lost=True)
    asleep = h100(bus_id="00000000:2A:00.0")
    reader, _ = make_reader(lost, asleep, root=tmp_path)
    rows = reader.probe()
    assert len(rows) == 18
    assert {r.reason for r in rows[:9]} == {"GPU is lost (fell off the bus)"}
    assert {r.reason for r in rows[9:]} == {REASON_ASLEEP}
    assert not any(r.available for r in rows)
    assert asleep.calls["nvmlDeviceGetFanSpeed"] == 0


def test_probe_without_nvml(tmp_path: Path) -> None:
    reader, _ = make_reader(root=tmp_path, init_error=pynvml.NVMLError_LibraryNotFound())
    assert reader.probe() == (
        SensorStatus(
            "NVIDIA GPU",
            available=False,
            reason="NVML library not found (no NVIDIA driver installed)",
            source="nvml",
        ),
    )


def test_probe_with_zero_gpus(tmp_path: Path) -> None:
    reader, _ = make_reader(root=tmp_path)
    (row,) = reader.probe()
    assert (row.name, row.available, row.reason) == ("NVIDIA GPU", False, "no NVIDIA GPU found")
