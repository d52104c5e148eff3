"""core.nvml: NVML errors become plain reasons, init runs once, nothing raises."""

from __future__ import annotations

import ctypes.util
import types
from typing import Any

import pynvml
import pytest

from core import nvml
from core.nvml import PynvmlBackend, classify_nvml_error, is_gpu_lost, unavailable_for_code
from core.telemetry.base import Unavailable
from tests.fakes.fake_nvml import FakeNvml, h100


@pytest.mark.parametrize(
    ("error", "reason", "permanent"),
    [
        (
            pynvml.NVMLError_LibraryNotFound,
            "NVML library not found (no NVIDIA driver installed)",
            True,
        ),
        (pynvml.NVMLError_DriverNotLoaded, "NVIDIA driver not loaded", False),
        (pynvml.NVMLError_NotSupported, "not supported on this GPU", True),
        (pynvml.NVMLError_NoPermission, "no permission", True),
        (
            pynvml.NVMLError_FunctionNotFound,
            "not in this driver (driver older than nvidia-ml-py)",
            True,
        ),
        (pynvml.NVMLError_GpuIsLost, "GPU is lost (fell off the bus)", True),
        (pynvml.NVMLError_Timeout, "NVML timed out", False),
        (pynvml.NVMLError_Unknown, "unknown NVML error", False),
        (
            pynvml.NVMLError_LibRmVersionMismatch,
            "driver/library version mismatch (reboot after a driver upgrade)",
            False,
        ),
        (pynvml.NVMLError_Uninitialized, "NVML not initialised", False),
    ],
)
def test_every_nvml_error_is_classified(
    error: type[pynvml.NVMLError], reason: str, permanent: bool
) -> None:
    result = classify_nvml_error(error())
    assert result == Unavailable(reason, permanent=permanent)


def test_query_turns_each_raised_error_into_its_reason() -> None:
    device = h100(values={"nvmlDeviceGetPowerUsage": pynvml.NVMLError_NoPermission()})
    backend = PynvmlBackend(module=FakeNvml([device]))
    handle = backend.query("nvmlDeviceGetHandleByIndex", 0)
    result = backend.query("nvmlDeviceGetPowerUsage", handle)
    assert result == Unavailable("no permission")


def test_unknown_code_keeps_nvml_text_and_is_transient() -> None:
    result = unavailable_for_code(12345, "Something new")
    assert result.reason == "NVML error 12345: Something new"
    assert result.permanent is False


def test_reset_required_counts_as_lost() -> None:
    assert is_gpu_lost(classify_nvml_error(pynvml.NVMLError_ResetRequired()))
    assert is_gpu_lost(classify_nvml_error(pynvml.NVMLError_GpuIsLost()))
    assert not is_gpu_lost(classify_nvml_error(pynvml.NVMLError_NotSupported()))


def test_init_runs_once_and_is_cached() -> None:
    fake = FakeNvml([h100()])
    backend = PynvmlBackend(module=fake)
    assert backend.init() is None
    assert backend.init() is None
    assert backend.query("nvmlDeviceGetCount") == 1
    assert fake.calls["nvmlInit"] == 1
    assert backend.initialized


def test_query_initialises_lazily() -> None:
    fake = FakeNvml([h100()])
    backend = PynvmlBackend(module=fake)
    assert backend.query("nvmlDeviceGetCount") == 1
    assert fake.calls["nvmlInit"] == 1


def test_permanent_init_failure_is_cached() -> None:
    fake = FakeNvml(init_error=pynvml.NVMLError_LibraryNotFound())
    backend = PynvmlBackend(module=fake)
    first = backend.init()
    assert first == Unavailable("NVML library not found (no NVIDIA driver installed)")
    assert backend.init() == first
    assert backend.query("nvmlDeviceGetCount") == first
    assert fake.calls["nvmlInit"] == 1
    assert fake.calls["nvmlDeviceGetCount"] == 0


def test_transient_init_failure_is_retried_after_the_interval() -> None:
    now = [100.0]
    fake = FakeNvml([h100()], init_error=[pynvml.NVMLError_DriverNotLoaded(), None])
    backend = PynvmlBackend(module=fake, retry_interval_s=5.0, clock=lambda: now[0])
    first = backend.init()
    assert first == Unavailable("NVIDIA driver not loaded", permanent=False)
    now[0] += 1.0
    assert backend.init() == first  # too soon: cached, NVML not called
    assert fake.calls["nvmlInit"] == 1
    now[0] += 5.0
    assert backend.init() is None
    assert fake.calls["nvmlInit"] == 2
    assert backend.query("nvmlDeviceGetCount") == 1


def test_version_mismatch_at_init_is_reported() -> None:
    fake = FakeNvml(init_error=pynvml.NVMLError_LibRmVersionMismatch())
    result = PynvmlBackend(module=fake).init()
    assert result is not None
    assert result.reason == "driver/library version mismatch (reboot after a driver upgrade)"


def test_function_not_found_is_cached_and_never_called_again() -> None:
    device = h100(
        values={"nvmlDeviceGetCurrentClocksEventReasons": pynvml.NVMLError_FunctionNotFound()}
    )
    fake = FakeNvml([device])
    backend = PynvmlBackend(module=fake)
    handle = backend.query("nvmlDeviceGetHandleByIndex", 0)
    first = backend.query("nvmlDeviceGetCurrentClocksEventReasons", handle)
    second = backend.query("nvmlDeviceGetCurrentClocksEventReasons", handle)
    assert first == second == Unavailable("not in this driver (driver older than nvidia-ml-py)")
    assert fake.calls["nvmlDeviceGetCurrentClocksEventReasons"] == 1


def test_not_supported_is_not_cached_by_the_backend() -> None:
    # Per-device capability caching is the reader's job; the backend only caches missing functions.
    fake = FakeNvml([h100()])
    backend = PynvmlBackend(module=fake)
    handle = backend.query("nvmlDeviceGetHandleByIndex", 0)
    for _ in range(2):
        assert backend.query("nvmlDeviceGetFanSpeed", handle) == Unavailable(
            "not supported on this GPU"
        )
    assert fake.calls["nvmlDeviceGetFanSpeed"] == 2


def test_function_missing_in_bindings_is_unavailable_not_attribute_error() -> None:
    fake = FakeNvml([h100()], removed={"nvmlDeviceGetCurrentClocksEventReasons"})
    backend = PynvmlBackend(module=fake)
    handle = backend.query("nvmlDeviceGetHandleByIndex", 0)
    result = backend.query("nvmlDeviceGetCurrentClocksEventReasons", handle)
    assert isinstance(result, Unavailable)
    assert result.reason == nvml.REASON_NOT_IN_BINDINGS
    assert result.permanent
    assert nvml.is_missing_function(result)
    assert backend.query("nvmlNoSuchFunction") == Unavailable(
        nvml.REASON_NOT_IN_BINDINGS, hint="pip install -U nvidia-ml-py"
    )


def test_bytes_results_are_decoded() -> None:
    backend = PynvmlBackend(module=FakeNvml([h100()]))
    handle = backend.query("nvmlDeviceGetHandleByIndex", 0)
    name = backend.query("nvmlDeviceGetName", handle)
    assert name == "NVIDIA H100 80GB HBM3"
    assert isinstance(name, str)


def test_unexpected_exception_becomes_a_transient_reason() -> None:
    device = h100(values={"nvmlDeviceGetPowerUsage": ValueError("bad struct")})
    backend = PynvmlBackend(module=FakeNvml([device]))
    handle = backend.query("nvmlDeviceGetHandleByIndex", 0)
    result = backend.query("nvmlDeviceGetPowerUsage", handle)
    assert result == Unavailable(
        "nvmlDeviceGetPowerUsage failed: ValueError: bad struct", permanent=False
    )


def test_undecodable_text_is_an_unknown_error() -> None:
    bad = UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")
    device = h100(values={"nvmlDeviceGetName": bad})
    backend = PynvmlBackend(module=FakeNvml([device]))
    handle = backend.query("nvmlDeviceGetHandleByIndex", 0)
    result = backend.query("nvmlDeviceGetName", handle)
    assert isinstance(result, Unavailable)
    assert result.reason.startswith("unknown NVML error")
    assert result.permanent is False


def test_real_pynvml_without_driver_reports_library_not_found() -> None:
    if ctypes.util.find_library("nvidia-ml") is not None:
        pytest.skip("an NVIDIA driver library is installed here")
    backend = PynvmlBackend()
    expected = Unavailable("NVML library not found (no NVIDIA driver installed)")
    assert backend.init() == expected
    assert backend.query("nvmlDeviceGetCount") == expected
    assert backend.field_values(object(), [nvml.NVML_FI_DEV_MEMORY_TEMP]) == [expected]
    backend.shutdown()  # never initialised: a no-op, no raise
    assert not backend.initialized


def test_missing_library_is_reported_without_importing_pynvml(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On Linux the library is looked up first, by the name pynvml loads, and pynvml (about
    8 ms to import) is not imported when it is missing."""
    monkeypatch.setattr(nvml.sys, "platform", "linux")
    imported: list[str] = []
    monkeypatch.setattr(nvml.importlib, "import_module", lambda name: imported.append(name))
    asked: list[str] = []

    def no_library(name: str) -> object:
        asked.append(name)
        raise OSError(f"{name}: cannot open shared object file: No such file or directory")

    backend = PynvmlBackend(library_loader=no_library)
    result = backend.init()
    assert result == Unavailable("NVML library not found (no NVIDIA driver installed)")
    assert result is not None and result.permanent
    assert backend.init() == result  # cached: not looked up again
    assert asked == ["libnvidia-ml.so.1"]
    assert imported == []


def test_found_library_goes_on_to_pynvml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nvml.sys, "platform", "linux")
    fake = FakeNvml([h100()])
    monkeypatch.setattr(nvml.importlib, "import_module", lambda name: fake)
    backend = PynvmlBackend(library_loader=lambda name: object())
    assert backend.init() is None
    assert backend.query("nvmlDeviceGetCount") == 1


def test_library_is_not_looked_up_outside_linux(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nvml.sys, "platform", "win32")
    fake = FakeNvml([h100()])
    monkeypatch.setattr(nvml.importlib, "import_module", lambda name: fake)

    def fail(name: str) -> object:
        raise AssertionError("looked up a Linux library on Windows")

    backend = PynvmlBackend(library_loader=fail)
    assert backend.init() is None


def test_old_pynvml_module_is_detected() -> None:
    called: list[str] = []
    old = types.SimpleNamespace(
        NVMLError=pynvml.NVMLError,
        nvmlInit=lambda: called.append("nvmlInit"),
        nvmlDeviceGetCount=lambda: 1,
    )
    backend = PynvmlBackend(module=old)
    result = backend.init()
    assert result is not None
    assert result.reason == "conflicting 'pynvml' package installed; install nvidia-ml-py instead"
    assert backend.query("nvmlDeviceGetCount") == result
    assert called == []


def test_shutdown_then_init_again() -> None:
    fake = FakeNvml([h100()])
    backend = PynvmlBackend(module=fake)
    assert backend.init() is None
    backend.shutdown()
    assert fake.calls["nvmlShutdown"] == 1
    assert not backend.initialized
    assert backend.init() is None
    assert fake.calls["nvmlInit"] == 2


def test_shutdown_error_does_not_raise() -> None:
    fake = FakeNvml([h100()])

    def failing_shutdown() -> None:
        raise pynvml.NVMLError_Unknown()

    fake.nvmlShutdown = failing_shutdown  # type: ignore[method-assign]
    backend = PynvmlBackend(module=fake)
    assert backend.init() is None
    backend.shutdown()
    assert not backend.initialized


def _field(return_code: int, value_type: int = 0, member: str = "", value: Any = 0) -> Any:
    entry = pynvml.c_nvmlFieldValue_t()
    entry.nvmlReturn = return_code
    entry.valueType = value_type
    if member:
        setattr(entry.value, member, value)
    return entry


def test_field_values_checks_each_field_and_value_type() -> None:
    entries = [
        _field(pynvml.NVML_SUCCESS, pynvml.NVML_VALUE_TYPE_UNSIGNED_INT, "uiVal", 703_456),
        _field(pynvml.NVML_SUCCESS, pynvml.NVML_VALUE_TYPE_DOUBLE, "dVal", 1.5),
        _field(pynvml.NVML_SUCCESS, pynvml.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG, "ullVal", 2**40),
        _field(pynvml.NVML_SUCCESS, pynvml.NVML_VALUE_TYPE_SIGNED_INT, "siVal", -3),
        _field(pynvml.NVML_ERROR_NOT_SUPPORTED),
        _field(pynvml.NVML_ERROR_GPU_IS_LOST),
    ]
    fake = FakeNvml([h100()])
    fake.nvmlDeviceGetFieldValues = lambda handle, ids: entries  # type: ignore[method-assign, assignment]
    backend = PynvmlBackend(module=fake)
    result = backend.field_values(object(), [186, 82, 74, 75, 77, 79])
    assert result[:4] == [703_456, 1.5, 2**40, -3]
    assert result[4] == Unavailable("not supported on this GPU")
    assert result[5] == Unavailable("GPU is lost (fell off the bus)")


def test_field_values_whole_call_failure_fills_every_entry() -> None:
    device = h100(values={"nvmlDeviceGetFieldValues": pynvml.NVMLError_FunctionNotFound()})
    fake = FakeNvml([device])
    backend = PynvmlBackend(module=fake)
    handle = backend.query("nvmlDeviceGetHandleByIndex", 0)
    result = backend.field_values(handle, [(186, 0), 82])
    missing = Unavailable("not in this driver (driver older than nvidia-ml-py)")
    assert result == [missing, missing]
    assert backend.field_values(handle, [82]) == [missing]
    assert fake.calls["nvmlDeviceGetFieldValues"] == 1


def test_field_values_with_the_fake_device() -> None:
    fake = FakeNvml([h100()])
    backend = PynvmlBackend(module=fake)
    handle = backend.query("nvmlDeviceGetHandleByIndex", 0)
    instant, mem_temp, board = backend.field_values(
        handle, [(pynvml.NVML_FI_DEV_POWER_INSTANT, pynvml.NVML_POWER_SCOPE_GPU), 82, 77]
    )
    assert (instant, mem_temp) == (703_456, 38)
    assert board == Unavailable("not supported on this GPU")


@pytest.mark.parametrize(
    "name",
    [
        "NVML_TEMPERATURE_GPU",
        "NVML_TEMPERATURE_THRESHOLD_SHUTDOWN",
        "NVML_TEMPERATURE_THRESHOLD_SLOWDOWN",
        "NVML_CLOCK_SM",
        "NVML_CLOCK_MEM",
        "NVML_POWER_SCOPE_GPU",
        "NVML_POWER_SCOPE_MODULE",
        "NVML_FI_DEV_PERF_POLICY_POWER",
        "NVML_FI_DEV_PERF_POLICY_THERMAL",
        "NVML_FI_DEV_PERF_POLICY_BOARD_LIMIT",
        "NVML_FI_DEV_PERF_POLICY_RELIABILITY",
        "NVML_FI_DEV_MEMORY_TEMP",
        "NVML_FI_DEV_POWER_INSTANT",
        "NVML_FI_DEV_CLOCKS_EVENT_REASON_SW_THERM_SLOWDOWN",
        "NVML_FI_DEV_CLOCKS_EVENT_REASON_HW_THERM_SLOWDOWN",
        "NVML_FI_DEV_CLOCKS_EVENT_REASON_HW_POWER_BRAKE_SLOWDOWN",
    ],
)
def test_copied_constants_match_the_real_bindings(name: str) -> None:
    assert getattr(nvml, name) == getattr(pynvml, name)


def test_fake_reexports_the_real_exception_classes() -> None:
    fake = FakeNvml()
    assert fake.NVMLError is pynvml.NVMLError
    assert fake.NVMLError_GpuIsLost is pynvml.NVMLError_GpuIsLost
