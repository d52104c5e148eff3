"""A hand-written stand-in for the ``pynvml`` module, for tests on machines without a GPU.

It re-exports the *real* ``pynvml`` exception classes, constants and ctypes structures (they
import and construct fine without a driver), so code under test sees exactly what NVML would
raise and return. Devices hold scripted values; every call is counted.

Scripting a value (``FakeDevice.values`` / ``FakeDevice.fields`` / ``FakeNvml.system``):

* a plain value is returned on every call;
* a ``list`` is a timeline: call *n* returns item *n*, the last item repeats;
* an exception instance or class (``pynvml.NVMLError_NotSupported()``) is raised (for a field:
  its code becomes that field's ``nvmlReturn``);
* an unscripted device function raises ``NVMLError_NotSupported``, as on a GPU that lacks it.

Keys of ``values`` are a function name, or ``(function name, first argument)`` for functions
that take a sensor/clock/threshold id. Keys of ``fields`` are a field id (any scope) or
``(field id, scope id)``.

Example:
    >>> from core.nvml import PynvmlBackend
    >>> fake = FakeNvml([h100()])
    >>> backend = PynvmlBackend(module=fake)
    >>> fake.calls["nvmlDeviceGetTotalEnergyConsumption"]
    0
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pynvml as _real

NvmlError = _real.NVMLError


@dataclass(frozen=True)
class FakeHandle:
    """What ``nvmlDeviceGetHandleByIndex`` returns: just the index."""

    index: int


@dataclass
class FakeDevice:
    """One scripted GPU.

    Attributes:
        bus_id: NVML's PCI bus id (32-bit domain, upper-case hex, as NVML prints it).
        values: Scripted results of device functions (see the module docstring).
        fields: Scripted field values for ``nvmlDeviceGetFieldValues``.
        lost_after: ``(function, n)``: the GPU falls off the bus on call n + 1 of that function;
            from then on every call on it raises ``NVMLError_GpuIsLost``.
        lost: True once the GPU is lost (tests may set it directly).
        calls: Calls per function on this device.
        field_calls: Requests per ``(field id, scope id)`` on this device.
    """

    bus_id: str = "00000000:18:00.0"
    values: dict[Any, Any] = field(default_factory=dict)
    fields: dict[Any, Any] = field(default_factory=dict)
    lost_after: tuple[str, int] | None = None
    lost: bool = False
    calls: Counter[str] = field(default_factory=Counter)
    field_calls: Counter[tuple[int, int]] = field(default_factory=Counter)


def _is_exception(script: Any) -> bool:
    return isinstance(script, BaseException) or (
        isinstance(script, type) and issubclass(script, BaseException)
    )


def _resolve(script: Any, call_number: int) -> Any:
    """Value of a script on its ``call_number``-th call (1-based); raises scripted errors."""
    if isinstance(script, list):
        script = script[min(call_number, len(script)) - 1]
    if _is_exception(script):
        raise script
    return script


def _field_entry(spec: Any, script: Any, call_number: int) -> Any:
    entry = _real.c_nvmlFieldValue_t()
    field_id, scope_id = spec if isinstance(spec, tuple) else (spec, 0)
    entry.fieldId = field_id
    entry.scopeId = scope_id
    if isinstance(script, list):
        script = script[min(call_number, len(script)) - 1]
    if script is None:
        entry.nvmlReturn = _real.NVML_ERROR_NOT_SUPPORTED
    elif _is_exception(script):
        error = script() if isinstance(script, type) else script
        entry.nvmlReturn = error.value
    elif isinstance(script, float):
        entry.nvmlReturn = _real.NVML_SUCCESS
        entry.valueType = _real.NVML_VALUE_TYPE_DOUBLE
        entry.value.dVal = script
    elif script < 2**32:
        entry.nvmlReturn = _real.NVML_SUCCESS
        entry.valueType = _real.NVML_VALUE_TYPE_UNSIGNED_INT
        entry.value.uiVal = script
    else:
        entry.nvmlReturn = _real.NVML_SUCCESS
        entry.valueType = _real.NVML_VALUE_TYPE_UNSIGNED_LONG_LONG
        entry.value.ullVal = script
    return entry


DEVICE_FUNCTIONS = (
    "nvmlDeviceGetName",
    "nvmlDeviceGetUUID",
    "nvmlDeviceGetPciInfo",
    "nvmlDeviceGetMemoryInfo",
    "nvmlDeviceGetCudaComputeCapability",
    "nvmlDeviceGetEnforcedPowerLimit",
    "nvmlDeviceGetPowerManagementDefaultLimit",
    "nvmlDeviceGetTemperatureThreshold",
    "nvmlDeviceGetMemoryBusWidth",
    "nvmlDeviceGetMaxClockInfo",
    "nvmlDeviceGetClockInfo",
    "nvmlDeviceGetPowerUsage",
    "nvmlDeviceGetTotalEnergyConsumption",
    "nvmlDeviceGetTemperature",
    "nvmlDeviceGetTemperatureV",
    "nvmlDeviceGetUtilizationRates",
    "nvmlDeviceGetCurrentClocksEventReasons",
    "nvmlDeviceGetCurrentClocksThrottleReasons",
    "nvmlDeviceGetFanSpeed",
)
"""Device functions the fake implements (all scripted through ``FakeDevice.values``)."""


class FakeNvml:
    """A ``pynvml``-like module object holding fake devices.

    Args:
        devices: The GPUs, in NVML index order.
        init_error: Raised by ``nvmlInit`` (or a timeline of outcomes: None for success).
        removed: Function names that are missing from these "bindings" (AttributeError).
        system: Scripted system-level results (driver and CUDA versions).

    Attributes:
        calls: Calls per function name, over all devices.
    """

    def __init__(
        self,
        devices: list[FakeDevice] | None = None,
        *,
        init_error: Any = None,
        removed: set[str] | frozenset[str] = frozenset(),
        system: dict[str, Any] | None = None,
    ) -> None:
        self.devices = list(devices or [])
        self.init_error = init_error
        self.removed = set(removed)
        self.system: dict[str, Any] = {
            "nvmlSystemGetDriverVersion": "580.159.04",
            "nvmlSystemGetCudaDriverVersion_v2": 13000,
            "nvmlSystemGetCudaDriverVersion": 13000,
            **(system or {}),
        }
        self.calls: Counter[str] = Counter()
        self.initialized = False

    def __getattribute__(self, name: str) -> Any:
        if name != "removed" and name in object.__getattribute__(self, "removed"):
            raise AttributeError(f"module 'pynvml' has no attribute {name!r}")
        return object.__getattribute__(self, name)

    # The real pynvml helper whose presence tells nvidia-ml-py from the old 'pynvml' package.
    def _nvmlGetFunctionPointer(self, name: str) -> Any:
        raise _real.NVMLError_FunctionNotFound()

    def device_calls(self) -> int:
        """Total calls made on devices (handles and PCI info included)."""
        return sum(sum(d.calls.values()) for d in self.devices)

    # --- lifecycle ---

    def nvmlInit(self) -> None:
        """Count, then raise the scripted init error if any."""
        self.calls["nvmlInit"] += 1
        _resolve(self.init_error, self.calls["nvmlInit"])
        self.initialized = True

    def nvmlShutdown(self) -> None:
        """Count and mark uninitialised."""
        self.calls["nvmlShutdown"] += 1
        self.initialized = False

    # --- system ---

    def _system(self, name: str) -> Any:
        self.calls[name] += 1
        if not self.initialized:
            raise _real.NVMLError_Uninitialized()
        return _resolve(self.system[name], self.calls[name])

    def nvmlSystemGetDriverVersion(self) -> Any:
        """Scripted driver version."""
        return self._system("nvmlSystemGetDriverVersion")

    def nvmlSystemGetCudaDriverVersion(self) -> Any:
        """Scripted CUDA version as an int (12040 = 12.4)."""
        return self._system("nvmlSystemGetCudaDriverVersion")

    def nvmlSystemGetCudaDriverVersion_v2(self) -> Any:
        """Scripted CUDA version as an int (12040 = 12.4)."""
        return self._system("nvmlSystemGetCudaDriverVersion_v2")

    def nvmlDeviceGetCount(self) -> int:
        """Number of fake devices."""
        self.calls["nvmlDeviceGetCount"] += 1
        if not self.initialized:
            raise _real.NVMLError_Uninitialized()
        return len(self.devices)

    # --- devices ---

    def _enter(self, device: FakeDevice, name: str) -> int:
        """Count a call on ``device``; raise GpuIsLost when it is (or just became) lost."""
        self.calls[name] += 1
        device.calls[name] += 1
        if not self.initialized:
            raise _real.NVMLError_Uninitialized()
        if device.lost_after is not None:
            fn, n = device.lost_after
            if name == fn and device.calls[name] > n:
                device.lost = True
        if device.lost:
            raise _real.NVMLError_GpuIsLost()
        return device.calls[name]

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeHandle:
        """A handle for device ``index``."""
        if not 0 <= index < len(self.devices):
            self.calls["nvmlDeviceGetHandleByIndex"] += 1
            raise _real.NVMLError_InvalidArgument()
        self._enter(self.devices[index], "nvmlDeviceGetHandleByIndex")
        return FakeHandle(index)

    def _device_call(self, name: str, handle: FakeHandle, *args: Any) -> Any:
        device = self.devices[handle.index]
        number = self._enter(device, name)
        if name == "nvmlDeviceGetPciInfo" and name not in device.values:
            info = _real.nvmlPciInfo_t()
            info.busId = device.bus_id.encode()
            return info
        for key in ((name, *args), (name, args[0]) if args else name, name):
            if key in device.values:
                return _resolve(device.values[key], number)
        raise _real.NVMLError_NotSupported()

    def nvmlDeviceGetFieldValues(self, handle: FakeHandle, field_ids: list[Any]) -> Any:
        """Real ``c_nvmlFieldValue_t`` entries, each with its own scripted ``nvmlReturn``."""
        device = self.devices[handle.index]
        self._enter(device, "nvmlDeviceGetFieldValues")
        whole = device.values.get("nvmlDeviceGetFieldValues")
        if whole is not None:
            _resolve(whole, device.calls["nvmlDeviceGetFieldValues"])
        out = (_real.c_nvmlFieldValue_t * len(field_ids))()
        for i, spec in enumerate(field_ids):
            key = spec if isinstance(spec, tuple) else (spec, 0)
            device.field_calls[key] += 1
            script = device.fields.get(key, device.fields.get(key[0]))
            out[i] = _field_entry(spec, script, device.field_calls[key])
        return out


def _make_device_function(name: str) -> Any:
    def call(self: FakeNvml, handle: FakeHandle, *args: Any) -> Any:
        return self._device_call(name, handle, *args)

    call.__name__ = name
    call.__doc__ = f"Scripted ``{name}``."
    return call


for _name in DEVICE_FUNCTIONS:
    setattr(FakeNvml, _name, _make_device_function(_name))

# Re-export the real exception classes, constants and structures.
for _name in dir(_real):
    if _name.startswith(("NVML_", "NVMLError")) or _name in (
        "c_nvmlFieldValue_t",
        "c_nvmlMemory_t",
        "c_nvmlUtilization_t",
        "nvmlPciInfo_t",
    ):
        setattr(FakeNvml, _name, getattr(_real, _name))


GIB = 1024**3


def h100(**overrides: Any) -> FakeDevice:
    """An "NVIDIA H100 80GB HBM3" (SXM) at its 700 W limit, values as measured (telemetry.md).

    Args:
        **overrides: ``FakeDevice`` attributes to replace (``values=``/``fields=`` are merged
            into the defaults, so a test can change one function).
    """
    values: dict[Any, Any] = {
        "nvmlDeviceGetName": b"NVIDIA H100 80GB HBM3",
        "nvmlDeviceGetUUID": "GPU-5c1d8f2e-0b7a-4e55-9d3c-2f1e6a7b8c9d",
        "nvmlDeviceGetMemoryInfo": _real.c_nvmlMemory_t(
            total=80 * GIB, free=79 * GIB, used=1 * GIB
        ),
        "nvmlDeviceGetCudaComputeCapability": (9, 0),
        "nvmlDeviceGetEnforcedPowerLimit": 700_000,
        "nvmlDeviceGetPowerManagementDefaultLimit": 700_000,
        ("nvmlDeviceGetTemperatureThreshold", _real.NVML_TEMPERATURE_THRESHOLD_SLOWDOWN): 89,
        ("nvmlDeviceGetTemperatureThreshold", _real.NVML_TEMPERATURE_THRESHOLD_SHUTDOWN): 92,
        "nvmlDeviceGetMemoryBusWidth": 5120,
        ("nvmlDeviceGetMaxClockInfo", _real.NVML_CLOCK_MEM): 2619,
        ("nvmlDeviceGetMaxClockInfo", _real.NVML_CLOCK_SM): 1980,
        ("nvmlDeviceGetClockInfo", _real.NVML_CLOCK_MEM): 2619,
        ("nvmlDeviceGetClockInfo", _real.NVML_CLOCK_SM): 1335,
        "nvmlDeviceGetPowerUsage": 698_250,
        "nvmlDeviceGetTotalEnergyConsumption": [
            5_000_000_000,
            5_000_070_000,
            5_000_140_500,
            5_000_211_000,
        ],
        ("nvmlDeviceGetTemperature", _real.NVML_TEMPERATURE_GPU): 57,
        "nvmlDeviceGetUtilizationRates": _real.c_nvmlUtilization_t(gpu=100, memory=48),
        "nvmlDeviceGetCurrentClocksEventReasons": 0x4,
        "nvmlDeviceGetFanSpeed": _real.NVMLError_NotSupported(),
    }
    fields: dict[Any, Any] = {
        (_real.NVML_FI_DEV_POWER_INSTANT, _real.NVML_POWER_SCOPE_GPU): 703_456,
        _real.NVML_FI_DEV_MEMORY_TEMP: 38,
        _real.NVML_FI_DEV_PERF_POLICY_POWER: 2_928_704_992,
        _real.NVML_FI_DEV_PERF_POLICY_THERMAL: 0,
        _real.NVML_FI_DEV_PERF_POLICY_BOARD_LIMIT: _real.NVMLError_NotSupported(),
        _real.NVML_FI_DEV_PERF_POLICY_RELIABILITY: 0,
        _real.NVML_FI_DEV_CLOCKS_EVENT_REASON_SW_THERM_SLOWDOWN: 0,
        _real.NVML_FI_DEV_CLOCKS_EVENT_REASON_HW_THERM_SLOWDOWN: 0,
        _real.NVML_FI_DEV_CLOCKS_EVENT_REASON_HW_POWER_BRAKE_SLOWDOWN: 0,
    }
    values.update(overrides.pop("values", {}))
    fields.update(overrides.pop("fields", {}))
    return FakeDevice(values=values, fields=fields, **overrides)
