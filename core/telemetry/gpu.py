"""NVIDIA GPUs through NVML: static description, live samples and a sensor-availability probe.

Everything goes through an :class:`~core.nvml.NvmlBackend` (the real one in production, a fake
in tests) and nothing here raises: a reading NVML cannot give is ``None`` with a reason.

* :func:`enumerate_gpus` — what each GPU *is* (name, VRAM, limits, bus width → bandwidth).
* :class:`GpuReader` — what each GPU reads *now*, one :class:`~core.telemetry.sample.GpuSample`
  per GPU per :meth:`GpuReader.read`. Capabilities that are permanently missing (NotSupported,
  FunctionNotFound) are probed once and never called again; a GPU that fell off the bus is
  reported lost and not polled again; a GPU in D3cold is left asleep (docs: telemetry.md §1.4).

NVML is not thread-safe enough to share freely: call these from one thread (the sampler's).
Nothing here starts a thread.

Example:
    >>> from core.nvml import PynvmlBackend
    >>> reader = GpuReader(PynvmlBackend())
    >>> samples = reader.read()   # () on a machine without NVML; see reader.probe() for why
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, Protocol

from core.hwinfo import GpuEnumeration, GpuInfo, SensorStatus
from core.nvml import (
    NVML_CLOCK_MEM,
    NVML_CLOCK_SM,
    NVML_FI_DEV_CLOCKS_EVENT_REASON_HW_POWER_BRAKE_SLOWDOWN,
    NVML_FI_DEV_CLOCKS_EVENT_REASON_HW_THERM_SLOWDOWN,
    NVML_FI_DEV_CLOCKS_EVENT_REASON_SW_THERM_SLOWDOWN,
    NVML_FI_DEV_MEMORY_TEMP,
    NVML_FI_DEV_PERF_POLICY_BOARD_LIMIT,
    NVML_FI_DEV_PERF_POLICY_POWER,
    NVML_FI_DEV_PERF_POLICY_RELIABILITY,
    NVML_FI_DEV_PERF_POLICY_THERMAL,
    NVML_FI_DEV_POWER_INSTANT,
    NVML_POWER_SCOPE_GPU,
    NVML_POWER_SCOPE_MODULE,
    NVML_TEMPERATURE_GPU,
    NVML_TEMPERATURE_THRESHOLD_SHUTDOWN,
    NVML_TEMPERATURE_THRESHOLD_SLOWDOWN,
    FieldSpec,
    NvmlBackend,
    is_gpu_lost,
    is_missing_function,
)
from core.telemetry.base import Unavailable
from core.telemetry.sample import GpuSample
from core.telemetry.sysfs import SysfsRoot


class SysfsLikeRoot(Protocol):
    """Anything that reads sysfs files below a movable root, like :class:`SysfsRoot`."""

    def read_text(self, rel: str | PurePath) -> str:
        """The stripped contents of ``rel`` (relative to the root); raises OSError/ValueError."""
        ...


def _as_sysfs(root: SysfsLikeRoot | Path | str) -> SysfsLikeRoot:
    """A plain directory becomes a :class:`SysfsRoot`; a sysfs reader is used as is."""
    if isinstance(root, str | os.PathLike):
        return SysfsRoot(Path(os.fspath(root)))
    return root


REASON_NO_GPU = "no NVIDIA GPU found"
REASON_ASLEEP = "GPU asleep (D3cold); not woken"

VIOLATION_FIELDS: tuple[tuple[str, int], ...] = (
    ("power", NVML_FI_DEV_PERF_POLICY_POWER),
    ("thermal", NVML_FI_DEV_PERF_POLICY_THERMAL),
    ("board_limit", NVML_FI_DEV_PERF_POLICY_BOARD_LIMIT),
    ("reliability", NVML_FI_DEV_PERF_POLICY_RELIABILITY),
    ("sw_thermal", NVML_FI_DEV_CLOCKS_EVENT_REASON_SW_THERM_SLOWDOWN),
    ("hw_thermal", NVML_FI_DEV_CLOCKS_EVENT_REASON_HW_THERM_SLOWDOWN),
    ("hw_power_brake", NVML_FI_DEV_CLOCKS_EVENT_REASON_HW_POWER_BRAKE_SLOWDOWN),
)
"""Cumulative violation timers (ns) read into ``GpuSample.violation_ns``, by name and field id."""

_READINGS: tuple[str, ...] = (
    "power_instant_w",
    "power_avg_w",
    "power_limit_w",
    "energy_mj",
    "temp_c",
    "mem_temp_c",
    "slowdown_temp_c",
    "shutdown_temp_c",
    "sm_clock_mhz",
    "sm_clock_max_mhz",
    "mem_clock_mhz",
    "mem_clock_max_mhz",
    "util_gpu_pct",
    "util_mem_pct",
    "vram_used_bytes",
    "vram_total_bytes",
    "clock_event_reasons",
    "violation_ns",
)
"""GpuSample attributes filled by a read, in declaration order (for ordered reasons)."""

_EVENT_REASONS_FN = "nvmlDeviceGetCurrentClocksEventReasons"
_THROTTLE_REASONS_FN = "nvmlDeviceGetCurrentClocksThrottleReasons"
_TEMPERATURE_FN = "nvmlDeviceGetTemperature"
_TEMPERATURE_V_FN = "nvmlDeviceGetTemperatureV"


def _mw_to_w(value: Any) -> float:
    return float(value) / 1000.0


def _reason_text(value: Unavailable) -> str:
    return str(value)


def _convert(value: Any | Unavailable, convert: Callable[[Any], Any]) -> Any | Unavailable:
    """Apply ``convert`` to an NVML result; a malformed result becomes a reason, not a raise."""
    if isinstance(value, Unavailable):
        return value
    try:
        return convert(value)
    except (TypeError, ValueError, AttributeError, IndexError, KeyError) as exc:
        return Unavailable(f"unexpected value from NVML ({type(exc).__name__}: {exc})")


def pci_bdf(bus_id: str | bytes) -> str | None:
    """Turn NVML's PCI bus id into the sysfs device name.

    NVML prints a 32-bit domain (``00000000:18:00.0``), sysfs a 16-bit lowercase one
    (``0000:18:00.0``).

    Args:
        bus_id: ``nvmlPciInfo_t.busId``.

    Returns:
        The sysfs name, or None if ``bus_id`` is not ``domain:bus:device.function``.

    Example:
        >>> pci_bdf("00000000:1A:00.0")
        '0000:1a:00.0'
    """
    text = bus_id.decode("ascii", errors="replace") if isinstance(bus_id, bytes) else bus_id
    parts = text.strip().split(":")
    if len(parts) != 3 or "." not in parts[2]:
        return None
    try:
        domain = int(parts[0], 16)
        bus = int(parts[1], 16)
        device_text, function_text = parts[2].split(".", 1)
        device = int(device_text, 16)
        function = int(function_text, 16)
    except ValueError:
        return None
    return f"{domain & 0xFFFF:04x}:{bus:02x}:{device:02x}.{function:x}"


def _bdf_of(backend: NvmlBackend, handle: Any) -> str | None:
    """The sysfs PCI name of a device, or None when NVML cannot tell."""
    info = backend.query("nvmlDeviceGetPciInfo", handle)
    if isinstance(info, Unavailable):
        return None
    bus_id = getattr(info, "busId", None)
    if isinstance(bus_id, str | bytes) and bus_id:
        return pci_bdf(bus_id)
    return None


def _is_asleep(root: SysfsLikeRoot, bdf: str | None) -> bool:
    """True if the PCI device is in D3cold; reading ``power_state`` does not wake it.

    A missing or unreadable file (not Linux, no sysfs, a container) means "cannot tell", and the
    GPU is read as usual, which is what every monitor did before this check existed.
    """
    if bdf is None:
        return False
    try:
        state = root.read_text(f"sys/bus/pci/devices/{bdf}/power_state")
    except (OSError, ValueError):
        return False
    return state.strip() == "D3cold"


def _cuda_version(backend: NvmlBackend) -> str | Unavailable:
    """CUDA driver version as ``"12.4"`` (NVML gives 12040)."""
    raw = backend.query("nvmlSystemGetCudaDriverVersion_v2")
    if isinstance(raw, Unavailable):
        raw = backend.query("nvmlSystemGetCudaDriverVersion")
    if isinstance(raw, Unavailable):
        return raw
    version = int(raw)
    return f"{version // 1000}.{(version % 1000) // 10}"


def memory_bandwidth_gbps(bus_width_bits: int, mem_clock_max_mhz: float) -> float:
    """Peak memory bandwidth: bytes per transfer × clock × 2 (double data rate).

    Args:
        bus_width_bits: Memory bus width (``nvmlDeviceGetMemoryBusWidth``).
        mem_clock_max_mhz: Maximum memory clock (``nvmlDeviceGetMaxClockInfo(NVML_CLOCK_MEM)``).

    Returns:
        GB/s (10⁹ bytes per second).

    Example:
        >>> round(memory_bandwidth_gbps(5120, 2619), 2)   # H100 SXM
        3352.32
    """
    return bus_width_bits / 8 * mem_clock_max_mhz * 2 / 1000


def enumerate_gpus(backend: NvmlBackend, root: SysfsLikeRoot | Path = Path("/")) -> GpuEnumeration:
    """Describe every NVIDIA GPU NVML can see; never raises.

    Args:
        backend: The NVML facade (initialised here if needed).
        root: Directory standing for ``/`` (or a :class:`SysfsRoot`) when checking a GPU's PCI
            ``power_state``; a GPU in D3cold is not woken, and its fields are None with the
            reason "asleep".

    Returns:
        The GPUs, each field None with a ``(field, reason)`` entry in ``unavailable`` when
        NVML cannot give it; or no GPUs and the ``reason`` (no NVML, or no GPU).
    """
    sysfs = _as_sysfs(root)
    error = backend.init()
    if error is not None:
        return GpuEnumeration(reason=_reason_text(error))
    count = backend.query("nvmlDeviceGetCount")
    if isinstance(count, Unavailable):
        return GpuEnumeration(reason=f"cannot count GPUs: {count}")
    if int(count) == 0:
        return GpuEnumeration(reason=REASON_NO_GPU)
    driver = backend.query("nvmlSystemGetDriverVersion")
    cuda = _cuda_version(backend)
    gpus = tuple(_describe_gpu(backend, sysfs, i, driver, cuda) for i in range(int(count)))
    return GpuEnumeration(
        gpus=gpus, driver_version=None if isinstance(driver, Unavailable) else str(driver)
    )


def _describe_gpu(
    backend: NvmlBackend,
    root: SysfsLikeRoot,
    index: int,
    driver: Any | Unavailable,
    cuda: str | Unavailable,
) -> GpuInfo:
    """One :class:`GpuInfo`, or as much of it as NVML gives."""
    values: dict[str, Any] = {}
    reasons: dict[str, str] = {}

    def put(name: str, value: Any | Unavailable, convert: Any = None) -> Any:
        converted = _convert(value, convert) if convert is not None else value
        if isinstance(converted, Unavailable):
            values[name] = None
            reasons[name] = _reason_text(converted)
            return None
        values[name] = converted
        return converted

    generic_name = f"NVIDIA GPU {index}"
    fields = (
        "uuid",
        "vram_total_bytes",
        "vram_free_bytes",
        "driver_version",
        "cuda_version",
        "compute_capability",
        "power_limit_w",
        "default_power_limit_w",
        "slowdown_temp_c",
        "shutdown_temp_c",
        "memory_bus_width_bits",
        "memory_clock_max_mhz",
        "memory_bandwidth_gbps",
        "sm_clock_max_mhz",
    )
    handle = backend.query("nvmlDeviceGetHandleByIndex", index)
    if isinstance(handle, Unavailable) or _is_asleep(root, _bdf_of(backend, handle)):
        why = _reason_text(handle) if isinstance(handle, Unavailable) else REASON_ASLEEP
        return GpuInfo(
            index=index,
            name=generic_name,
            unavailable=tuple((name, why) for name in ("name", *fields)),
        )

    name = put("name", backend.query("nvmlDeviceGetName", handle), str)
    put("uuid", backend.query("nvmlDeviceGetUUID", handle), str)
    memory = backend.query("nvmlDeviceGetMemoryInfo", handle)
    put("vram_total_bytes", memory, lambda m: int(m.total))
    put("vram_free_bytes", memory, lambda m: int(m.free))
    put("driver_version", driver, str)
    put("cuda_version", cuda)
    put(
        "compute_capability",
        backend.query("nvmlDeviceGetCudaComputeCapability", handle),
        lambda cc: f"{cc[0]}.{cc[1]}",
    )
    put("power_limit_w", backend.query("nvmlDeviceGetEnforcedPowerLimit", handle), _mw_to_w)
    put(
        "default_power_limit_w",
        backend.query("nvmlDeviceGetPowerManagementDefaultLimit", handle),
        _mw_to_w,
    )
    put(
        "slowdown_temp_c",
        backend.query(
            "nvmlDeviceGetTemperatureThreshold", handle, NVML_TEMPERATURE_THRESHOLD_SLOWDOWN
        ),
        float,
    )
    put(
        "shutdown_temp_c",
        backend.query(
            "nvmlDeviceGetTemperatureThreshold", handle, NVML_TEMPERATURE_THRESHOLD_SHUTDOWN
        ),
        float,
    )
    bus_bits = put(
        "memory_bus_width_bits", backend.query("nvmlDeviceGetMemoryBusWidth", handle), int
    )
    mem_mhz = put(
        "memory_clock_max_mhz",
        backend.query("nvmlDeviceGetMaxClockInfo", handle, NVML_CLOCK_MEM),
        float,
    )
    if bus_bits is not None and mem_mhz is not None:
        values["memory_bandwidth_gbps"] = memory_bandwidth_gbps(bus_bits, mem_mhz)
    else:
        missing = "memory bus width" if bus_bits is None else "max memory clock"
        values["memory_bandwidth_gbps"] = None
        reasons["memory_bandwidth_gbps"] = f"needs the {missing}"
    put(
        "sm_clock_max_mhz",
        backend.query("nvmlDeviceGetMaxClockInfo", handle, NVML_CLOCK_SM),
        float,
    )
    return GpuInfo(
        index=index,
        name=name if name else generic_name,
        **{k: values[k] for k in fields},
        unavailable=tuple(reasons.items()),
    )


class _GpuLostError(Exception):
    """Internal: a call reported the GPU lost; abandon this GPU's read."""

    def __init__(self, reason: Unavailable) -> None:
        super().__init__(reason.reason)
        self.reason = reason


@dataclass
class _GpuState:
    """What the reader remembers about one GPU between reads."""

    index: int
    handle: Any = None
    handle_error: Unavailable | None = None
    bdf: str | None = None
    name: str | None = None
    lost: Unavailable | None = None
    disabled: dict[str, Unavailable] = field(default_factory=dict)
    cached: dict[str, Any] = field(default_factory=dict)
    instant_scope: int | None = None
    throttle_fallback: bool = False
    temperature_fallback: bool = False
    asleep: bool = False
    fan: SensorStatus | None = None


class GpuReader:
    """Reads every NVIDIA GPU once per :meth:`read`; never raises.

    Per GPU and read: instant power (field ``NVML_FI_DEV_POWER_INSTANT``, GPU scope, else module
    scope), 1 s average power, enforced limit, the total-energy counter (one ~3 ms call per
    read), GPU and memory temperature, SM/memory clocks, utilisation, VRAM, clock-event reasons
    and the violation timers. Slowdown/shutdown thresholds and maximum clocks are read once.

    Args:
        backend: The NVML facade. The reader initialises it on the first read.
        root: Directory standing for ``/`` (or a :class:`SysfsRoot`) when checking a GPU's PCI
            ``power_state``.

    Example:
        >>> from core.nvml import PynvmlBackend
        >>> reader = GpuReader(PynvmlBackend())
        >>> for sample in reader.read():  # doctest: +SKIP
        ...     sample.power_instant_w, sample.reason("energy_mj")
        (698.2, None)
    """

    def __init__(self, backend: NvmlBackend, root: SysfsLikeRoot | Path = Path("/")) -> None:
        self._backend = backend
        self._root = _as_sysfs(root)
        self._gpus: list[_GpuState] | None = None
        self._reason: Unavailable | None = None

    @property
    def backend(self) -> NvmlBackend:
        """The NVML facade this reader calls (its owner shuts it down)."""
        return self._backend

    @property
    def reason(self) -> Unavailable | None:
        """Why no GPU can be read (no NVML, no GPU), or None once GPUs were found."""
        return self._reason

    # --- setup -------------------------------------------------------------------------

    def _ensure_gpus(self) -> list[_GpuState]:
        """Initialise NVML and list the GPUs once; retried on each read until it works."""
        if self._gpus is not None:
            return self._gpus
        error = self._backend.init()
        if error is not None:
            self._reason = error
            return []
        count = self._backend.query("nvmlDeviceGetCount")
        if isinstance(count, Unavailable):
            self._reason = Unavailable(f"cannot count GPUs: {count}", permanent=count.permanent)
            return []
        self._gpus = [_GpuState(index=i) for i in range(int(count))]
        self._reason = None if self._gpus else Unavailable(REASON_NO_GPU)
        return self._gpus

    def _ensure_handle(self, gpu: _GpuState) -> Unavailable | None:
        """Get the device handle and PCI name once; None when the GPU can be read."""
        if gpu.handle is not None:
            return None
        if gpu.handle_error is not None and gpu.handle_error.permanent:
            return gpu.handle_error
        handle = self._backend.query("nvmlDeviceGetHandleByIndex", gpu.index)
        if isinstance(handle, Unavailable):
            if is_gpu_lost(handle):
                gpu.lost = handle
            gpu.handle_error = handle
            return handle
        gpu.handle = handle
        gpu.handle_error = None
        gpu.bdf = _bdf_of(self._backend, handle)
        return None

    # --- calls with capability caching -------------------------------------------------

    def _call(self, gpu: _GpuState, key: str, fn_name: str, *args: Any) -> Any | Unavailable:
        """Query ``fn_name`` for ``gpu`` unless ``key`` is known to be permanently missing."""
        disabled = gpu.disabled.get(key)
        if disabled is not None:
            return disabled
        result = self._backend.query(fn_name, gpu.handle, *args)
        if isinstance(result, Unavailable):
            if is_gpu_lost(result):
                raise _GpuLostError(result)
            if result.permanent:
                gpu.disabled[key] = result
        return result

    def _cached(self, gpu: _GpuState, key: str, fn_name: str, *args: Any) -> Any | Unavailable:
        """Like :meth:`_call` for values that do not change: read once, then remembered."""
        if key in gpu.cached:
            return gpu.cached[key]
        result = self._call(gpu, key, fn_name, *args)
        if not isinstance(result, Unavailable):
            gpu.cached[key] = result
        return result

    def _with_fallback(
        self, gpu: _GpuState, key: str, primary: str, fallback: str, flag: str, *args: Any
    ) -> Any | Unavailable:
        """Call ``primary``; if the driver or bindings lack it, use ``fallback`` from then on."""
        if not getattr(gpu, flag):
            result = self._call(gpu, f"{key}:{primary}", primary, *args)
            if not is_missing_function(result):
                return result
            setattr(gpu, flag, True)
        return self._call(gpu, key, fallback, *args)

    def _fields(self, gpu: _GpuState) -> dict[str, Any | Unavailable]:
        """Instant power, memory temperature and violation timers in one field-values call."""
        scope = NVML_POWER_SCOPE_GPU if gpu.instant_scope is None else gpu.instant_scope
        wanted: list[tuple[str, FieldSpec]] = [
            ("power_instant_w", (NVML_FI_DEV_POWER_INSTANT, scope)),
            ("mem_temp_c", NVML_FI_DEV_MEMORY_TEMP),
            *((f"violation:{name}", field_id) for name, field_id in VIOLATION_FIELDS),
        ]
        results: dict[str, Any | Unavailable] = {
            key: gpu.disabled[key] for key, _ in wanted if key in gpu.disabled
        }
        keyed = [(key, spec) for key, spec in wanted if key not in gpu.disabled]
        if not keyed:
            return results
        values = self._backend.field_values(gpu.handle, [spec for _, spec in keyed])
        for (key, _), value in zip(keyed, values, strict=False):
            if is_gpu_lost(value):
                raise _GpuLostError(value)
            results[key] = value
            if isinstance(value, Unavailable) and value.permanent and key != "power_instant_w":
                gpu.disabled[key] = value
        instant = results.get("power_instant_w")
        if gpu.instant_scope is None and "power_instant_w" not in gpu.disabled:
            if not isinstance(instant, Unavailable):
                gpu.instant_scope = NVML_POWER_SCOPE_GPU
            elif instant.permanent:
                # Grace Hopper reports only the module (CPU + GPU) scope (zeus does the same).
                module_scope = self._backend.field_values(
                    gpu.handle, [(NVML_FI_DEV_POWER_INSTANT, NVML_POWER_SCOPE_MODULE)]
                )[0]
                if is_gpu_lost(module_scope):
                    raise _GpuLostError(module_scope)
                if not isinstance(module_scope, Unavailable):
                    gpu.instant_scope = NVML_POWER_SCOPE_MODULE
                    results["power_instant_w"] = module_scope
                elif module_scope.permanent:
                    gpu.disabled["power_instant_w"] = instant
        return results

    # --- reading -----------------------------------------------------------------------

    def read(self) -> tuple[GpuSample, ...]:
        """One sample per GPU, in NVML index order; () when NVML or GPUs are missing.

        Returns:
            The samples. A lost GPU is ``GpuSample(index, lost=True, ...)``; a GPU in D3cold
            has every reading None with the reason "GPU asleep (D3cold); not woken".
        """
        return tuple(self._read_one(gpu) for gpu in self._ensure_gpus())

    def _lost_sample(self, gpu: _GpuState) -> GpuSample:
        reason = gpu.lost if gpu.lost is not None else Unavailable("GPU is lost")
        return GpuSample(index=gpu.index, lost=True, unavailable=(("gpu", _reason_text(reason)),))

    def _missing_sample(self, gpu: _GpuState, why: str) -> GpuSample:
        names = _READINGS if gpu.name is not None else ("name", *_READINGS)
        return GpuSample(index=gpu.index, name=gpu.name, unavailable=tuple((n, why) for n in names))

    def _read_one(self, gpu: _GpuState) -> GpuSample:
        if gpu.lost is not None:
            return self._lost_sample(gpu)
        handle_error = self._ensure_handle(gpu)
        if gpu.lost is not None:
            return self._lost_sample(gpu)
        if handle_error is not None:
            return self._missing_sample(gpu, _reason_text(handle_error))
        gpu.asleep = _is_asleep(self._root, gpu.bdf)
        if gpu.asleep:
            return self._missing_sample(gpu, REASON_ASLEEP)
        try:
            return self._read_awake(gpu)
        except _GpuLostError as lost:
            gpu.lost = lost.reason
            gpu.handle = None
            return self._lost_sample(gpu)

    def _read_awake(self, gpu: _GpuState) -> GpuSample:
        values: dict[str, Any] = {}
        reasons: dict[str, str] = {}

        def put(name: str, value: Any | Unavailable, convert: Any) -> None:
            converted = _convert(value, convert)
            if isinstance(converted, Unavailable):
                values[name] = None
                reasons[name] = _reason_text(converted)
            else:
                values[name] = converted

        name = self._cached(gpu, "name", "nvmlDeviceGetName")
        if isinstance(name, Unavailable):
            reasons["name"] = _reason_text(name)
        else:
            gpu.name = str(name)

        fields = self._fields(gpu)
        put("power_instant_w", fields["power_instant_w"], _mw_to_w)
        put("power_avg_w", self._call(gpu, "power_avg_w", "nvmlDeviceGetPowerUsage"), _mw_to_w)
        put(
            "power_limit_w",
            self._call(gpu, "power_limit_w", "nvmlDeviceGetEnforcedPowerLimit"),
            _mw_to_w,
        )
        # ~3 ms per call on an H100: exactly once per read.
        put(
            "energy_mj",
            self._call(gpu, "energy_mj", "nvmlDeviceGetTotalEnergyConsumption"),
            int,
        )
        put(
            "temp_c",
            self._with_fallback(
                gpu,
                "temp_c",
                _TEMPERATURE_FN,
                _TEMPERATURE_V_FN,
                "temperature_fallback",
                NVML_TEMPERATURE_GPU,
            ),
            float,
        )
        put("mem_temp_c", fields["mem_temp_c"], float)
        put(
            "slowdown_temp_c",
            self._cached(
                gpu,
                "slowdown_temp_c",
                "nvmlDeviceGetTemperatureThreshold",
                NVML_TEMPERATURE_THRESHOLD_SLOWDOWN,
            ),
            float,
        )
        put(
            "shutdown_temp_c",
            self._cached(
                gpu,
                "shutdown_temp_c",
                "nvmlDeviceGetTemperatureThreshold",
                NVML_TEMPERATURE_THRESHOLD_SHUTDOWN,
            ),
            float,
        )
        put(
            "sm_clock_mhz",
            self._call(gpu, "sm_clock_mhz", "nvmlDeviceGetClockInfo", NVML_CLOCK_SM),
            float,
        )
        put(
            "sm_clock_max_mhz",
            self._cached(gpu, "sm_clock_max_mhz", "nvmlDeviceGetMaxClockInfo", NVML_CLOCK_SM),
            float,
        )
        put(
            "mem_clock_mhz",
            self._call(gpu, "mem_clock_mhz", "nvmlDeviceGetClockInfo", NVML_CLOCK_MEM),
            float,
        )
        put(
            "mem_clock_max_mhz",
            self._cached(gpu, "mem_clock_max_mhz", "nvmlDeviceGetMaxClockInfo", NVML_CLOCK_MEM),
            float,
        )
        util = self._call(gpu, "utilization", "nvmlDeviceGetUtilizationRates")
        put("util_gpu_pct", util, lambda u: float(u.gpu))
        put("util_mem_pct", util, lambda u: float(u.memory))
        memory = self._call(gpu, "memory", "nvmlDeviceGetMemoryInfo")
        put("vram_used_bytes", memory, lambda m: int(m.used))
        put("vram_total_bytes", memory, lambda m: int(m.total))
        put(
            "clock_event_reasons",
            self._with_fallback(
                gpu,
                "clock_event_reasons",
                _EVENT_REASONS_FN,
                _THROTTLE_REASONS_FN,
                "throttle_fallback",
            ),
            int,
        )

        violations: list[tuple[str, int]] = []
        first_missing: Unavailable | None = None
        for vname, _ in VIOLATION_FIELDS:
            value = fields[f"violation:{vname}"]
            if isinstance(value, Unavailable):
                first_missing = first_missing or value
            else:
                violations.append((vname, int(value)))
        if not violations and first_missing is not None:
            reasons["violation_ns"] = _reason_text(first_missing)

        ordered = tuple((n, reasons[n]) for n in ("name", *_READINGS) if n in reasons)
        return GpuSample(
            index=gpu.index,
            name=gpu.name,
            violation_ns=tuple(violations),
            unavailable=ordered,
            **values,
        )

    # --- probe -------------------------------------------------------------------------

    def probe(self) -> tuple[SensorStatus, ...]:
        """Say, per GPU and metric, whether the reading is live and if not why.

        Reads every GPU once (and the fan speed once per GPU, which nothing else reads).

        Returns:
            Rows named ``"GPU 0 temperature"``, ``"GPU 0 power (instant)"``, ..., source
            ``"nvml"``; with no NVML or no GPU a single row ``"NVIDIA GPU"`` with the reason.
        """
        samples = self.read()
        if not samples:
            why = self._reason or Unavailable(REASON_NO_GPU)
            return (
                SensorStatus(
                    "NVIDIA GPU", available=False, reason=why.reason, hint=why.hint, source="nvml"
                ),
            )
        gpus = self._gpus or []
        rows: list[SensorStatus] = []
        for sample in samples:
            gpu = gpus[sample.index]
            prefix = f"GPU {sample.index}"
            for label, attr in _PROBE_METRICS:
                name = f"{prefix} {label}"
                if sample.lost:
                    rows.append(_row(name, sample.reason("gpu") or "GPU is lost"))
                    continue
                present = (
                    bool(sample.violation_ns)
                    if attr == "violation_ns"
                    else (getattr(sample, attr) is not None)
                )
                rows.append(
                    SensorStatus(name, available=True, source="nvml")
                    if present
                    else _row(name, sample.reason(attr) or "no value")
                )
            rows.append(self._probe_fan(gpu, sample, f"{prefix} fan"))
        return tuple(rows)

    def _probe_fan(self, gpu: _GpuState, sample: GpuSample, name: str) -> SensorStatus:
        if sample.lost:
            return _row(name, sample.reason("gpu") or "GPU is lost")
        if gpu.asleep or gpu.handle is None:
            return _row(name, sample.reason("temp_c") or REASON_ASLEEP)
        if gpu.fan is None:
            try:
                speed = self._call(gpu, "fan", "nvmlDeviceGetFanSpeed")
            except _GpuLostError as lost:
                gpu.lost = lost.reason
                gpu.handle = None
                return _row(name, _reason_text(lost.reason))
            if isinstance(speed, Unavailable):
                status = _row(name, speed.reason, speed.hint)
                if not speed.permanent:
                    return status
                gpu.fan = status
            else:
                gpu.fan = SensorStatus(name, available=True, source="nvml")
        return gpu.fan


_PROBE_METRICS: tuple[tuple[str, str], ...] = (
    ("temperature", "temp_c"),
    ("memory temperature", "mem_temp_c"),
    ("power (instant)", "power_instant_w"),
    ("power (1 s average)", "power_avg_w"),
    ("energy counter", "energy_mj"),
    ("clocks", "sm_clock_mhz"),
    ("throttle reasons", "clock_event_reasons"),
    ("violation counters", "violation_ns"),
)


def _row(name: str, reason: str, hint: str | None = None) -> SensorStatus:
    return SensorStatus(name, available=False, reason=reason, hint=hint, source="nvml")
