"""The one NVML facade: every NVML call in Thermal Scout goes through :class:`PynvmlBackend`.

A missing sensor is a value, not an exception (nvitop's ``libnvml`` idea): :meth:`query` returns
the result or an :class:`~core.telemetry.base.Unavailable` with a plain reason, and never raises.
NVML errors are classified once here, so the readers and the UI only see reasons such as
``"not supported on this GPU"`` or ``"GPU is lost (fell off the bus)"``.

``pynvml`` (from the ``nvidia-ml-py`` distribution) is imported lazily, on the first :meth:`init`,
so importing this module costs nothing on machines without an NVIDIA GPU. Importing ``pynvml``
never fails for want of a driver: ``nvmlInit()`` raises ``NVMLError_LibraryNotFound`` instead,
which becomes the init reason. On Linux the library is looked up first, the way pynvml itself
loads it (``libnvidia-ml.so.1``): where it is missing, the same reason comes back without
importing pynvml at all (about 8 ms of the app's start-up on a machine without NVIDIA GPUs).

NVML should be driven from one thread; the backend does no locking or threading of its own.

Example:
    >>> backend = PynvmlBackend()
    >>> reason = backend.init()          # None, or Unavailable("NVML library not found ...")
    >>> count = backend.query("nvmlDeviceGetCount")   # an int, or an Unavailable
"""

from __future__ import annotations

import ctypes
import importlib
import logging
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeAlias

from core.telemetry.base import Unavailable

logger = logging.getLogger(__name__)

FieldSpec: TypeAlias = "tuple[int, int] | int"
"""One field of ``nvmlDeviceGetFieldValues``: a field id, or ``(field id, scope id)``."""

# --- NVML constants (stable ABI values from nvml.h, copied so readers need no pynvml import) ---

NVML_TEMPERATURE_GPU = 0
"""Sensor id of the GPU core temperature."""
NVML_TEMPERATURE_THRESHOLD_SHUTDOWN = 0
"""Temperature at which the GPU shuts down."""
NVML_TEMPERATURE_THRESHOLD_SLOWDOWN = 1
"""Temperature at which the GPU starts slowing its clocks down."""
NVML_CLOCK_SM = 1
"""Clock domain of the streaming multiprocessors."""
NVML_CLOCK_MEM = 2
"""Clock domain of the device memory."""
NVML_POWER_SCOPE_GPU = 0
"""Power-field scope: the GPU alone."""
NVML_POWER_SCOPE_MODULE = 1
"""Power-field scope: the whole module (CPU + GPU on Grace Hopper)."""
NVML_FI_DEV_PERF_POLICY_POWER = 74
"""Field: cumulative ns the clocks were held down by the power limit."""
NVML_FI_DEV_PERF_POLICY_THERMAL = 75
"""Field: cumulative ns the clocks were held down by the thermal limit."""
NVML_FI_DEV_PERF_POLICY_BOARD_LIMIT = 77
"""Field: cumulative ns the clocks were held down by the board limit."""
NVML_FI_DEV_PERF_POLICY_RELIABILITY = 79
"""Field: cumulative ns the clocks were held down by the reliability limit."""
NVML_FI_DEV_MEMORY_TEMP = 82
"""Field: memory (HBM) temperature in °C."""
NVML_FI_DEV_POWER_INSTANT = 186
"""Field: instant power draw in mW (takes a power scope)."""
NVML_FI_DEV_CLOCKS_EVENT_REASON_SW_THERM_SLOWDOWN = 269
"""Field: cumulative ns of software thermal slowdown."""
NVML_FI_DEV_CLOCKS_EVENT_REASON_HW_THERM_SLOWDOWN = 270
"""Field: cumulative ns of hardware thermal slowdown."""
NVML_FI_DEV_CLOCKS_EVENT_REASON_HW_POWER_BRAKE_SLOWDOWN = 271
"""Field: cumulative ns of hardware power-brake slowdown."""

_NVML_SUCCESS = 0

LINUX_LIBRARY = "libnvidia-ml.so.1"
"""The name pynvml loads on Linux (``CDLL("libnvidia-ml.so.1")``)."""

# --- Reasons (exact strings, so callers and tests can compare them) ---

REASON_LIBRARY_NOT_FOUND = "NVML library not found (no NVIDIA driver installed)"
REASON_DRIVER_NOT_LOADED = "NVIDIA driver not loaded"
REASON_NOT_SUPPORTED = "not supported on this GPU"
REASON_NO_PERMISSION = "no permission"
REASON_FUNCTION_NOT_FOUND = "not in this driver (driver older than nvidia-ml-py)"
REASON_GPU_LOST = "GPU is lost (fell off the bus)"
REASON_RESET_REQUIRED = "GPU needs a reset (nvidia-smi -r, or reboot)"
REASON_TIMEOUT = "NVML timed out"
REASON_UNKNOWN = "unknown NVML error"
REASON_VERSION_MISMATCH = "driver/library version mismatch (reboot after a driver upgrade)"
REASON_UNINITIALIZED = "NVML not initialised"
REASON_NOT_IN_BINDINGS = "not in this nvidia-ml-py (bindings older than the call)"
REASON_CONFLICTING_PYNVML = "conflicting 'pynvml' package installed; install nvidia-ml-py instead"
REASON_NO_BINDINGS = "nvidia-ml-py not installed"

# code -> (reason, permanent). Codes are NVML_ERROR_* from nvml.h.
_ERROR_REASONS: dict[int, tuple[str, bool]] = {
    1: (REASON_UNINITIALIZED, False),
    2: ("invalid argument to NVML", True),
    3: (REASON_NOT_SUPPORTED, True),
    4: (REASON_NO_PERMISSION, True),
    6: ("not found by NVML", True),
    8: ("insufficient external power (check the GPU's power cables)", True),
    9: (REASON_DRIVER_NOT_LOADED, False),
    10: (REASON_TIMEOUT, False),
    11: ("NVML interrupt request issue", False),
    12: (REASON_LIBRARY_NOT_FOUND, True),
    13: (REASON_FUNCTION_NOT_FOUND, True),
    14: ("corrupted infoROM", True),
    15: (REASON_GPU_LOST, True),
    16: (REASON_RESET_REQUIRED, True),
    17: ("blocked by the operating system", True),
    18: (REASON_VERSION_MISMATCH, False),
    19: ("GPU in use", False),
    20: ("NVML out of memory", False),
    21: ("no data yet", False),
    23: ("insufficient resources", False),
    26: ("deprecated in this driver", True),
    27: ("not ready yet", False),
    28: ("GPU not found", True),
    29: ("GPU in an invalid state", False),
    999: (REASON_UNKNOWN, False),
}

_LOST_REASONS = frozenset({REASON_GPU_LOST, REASON_RESET_REQUIRED})
_MISSING_FUNCTION_REASONS = frozenset({REASON_FUNCTION_NOT_FOUND, REASON_NOT_IN_BINDINGS})

# NVML_VALUE_TYPE_* -> member of c_nvmlValue_t holding the value.
_VALUE_MEMBERS: dict[int, str] = {
    0: "dVal",
    1: "uiVal",
    2: "ulVal",
    3: "ullVal",
    4: "sllVal",
    5: "siVal",
    6: "usVal",
}


def unavailable_for_code(code: int, text: str | None = None) -> Unavailable:
    """Turn an ``NVML_ERROR_*`` code into an :class:`Unavailable` with a plain reason.

    Args:
        code: The NVML return code (``nvmlReturn_t``), e.g. 3 for NotSupported.
        text: NVML's own text for codes this module does not know, used in the reason.

    Returns:
        The reason; ``permanent`` is False for faults that may clear (timeouts, driver not
        loaded yet, unknown errors).

    Example:
        >>> unavailable_for_code(3).reason
        'not supported on this GPU'
    """
    known = _ERROR_REASONS.get(code)
    if known is not None:
        reason, permanent = known
        return Unavailable(reason, permanent=permanent)
    detail = f": {text}" if text else ""
    return Unavailable(f"NVML error {code}{detail}", permanent=False)


def classify_nvml_error(exc: BaseException) -> Unavailable:
    """Classify an ``NVMLError`` (any ``pynvml.NVMLError_*``) into an :class:`Unavailable`.

    Args:
        exc: The exception; its NVML code is read from ``exc.value`` as pynvml sets it.

    Returns:
        The plain reason; an exception without a code counts as an unknown, transient error.
    """
    code = getattr(exc, "value", None)
    if not isinstance(code, int):
        return Unavailable(REASON_UNKNOWN, permanent=False)
    # Only unknown codes need NVML's own text (pynvml's __str__ guards its own NVML call).
    return unavailable_for_code(code, None if code in _ERROR_REASONS else str(exc))


def is_gpu_lost(value: object) -> bool:
    """True when ``value`` says the GPU is gone (fell off the bus, or needs a reset)."""
    return isinstance(value, Unavailable) and value.reason in _LOST_REASONS


def is_missing_function(value: object) -> bool:
    """True when ``value`` says the call does not exist in the driver or in the bindings."""
    return isinstance(value, Unavailable) and value.reason in _MISSING_FUNCTION_REASONS


class NvmlBackend(Protocol):
    """What the GPU readers need from NVML; :class:`PynvmlBackend` is the real one.

    Implementations never raise from these methods: every failure is an :class:`Unavailable`.
    """

    def init(self) -> Unavailable | None:
        """Initialise NVML once; return None on success, else why NVML cannot be used."""
        ...

    def shutdown(self) -> None:
        """Shut NVML down if it was initialised; a later :meth:`init` starts again."""
        ...

    def query(self, fn_name: str, *args: Any) -> Any | Unavailable:
        """Call ``pynvml.<fn_name>(*args)``; return its result or why it failed."""
        ...

    def field_values(self, handle: Any, fields: Sequence[FieldSpec]) -> list[Any | Unavailable]:
        """Read ``nvmlDeviceGetFieldValues``; one value or :class:`Unavailable` per field."""
        ...


class PynvmlBackend:
    """:class:`NvmlBackend` over the ``pynvml`` module of ``nvidia-ml-py``.

    Args:
        module: A ``pynvml``-like module to use instead of importing ``pynvml`` (tests pass a
            fake here). None imports the real one on the first :meth:`init`.
        retry_interval_s: After a transient init failure (driver not loaded yet, version
            mismatch), :meth:`init` returns the cached reason for this long before trying again.
        clock: Monotonic clock in seconds, injectable for tests.

    Example:
        >>> backend = PynvmlBackend()
        >>> backend.init()
        Unavailable(reason='NVML library not found (no NVIDIA driver installed)', ...)
    """

    def __init__(
        self,
        module: Any = None,
        *,
        retry_interval_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        library_loader: Callable[[str], object] | None = None,
    ) -> None:
        self._module: Any = module
        self._library_loader = library_loader
        """Loads a shared library by name (``ctypes.CDLL``); only used with the real pynvml."""
        self._retry_interval_s = retry_interval_s
        self._clock = clock
        self._initialized = False
        self._init_error: Unavailable | None = None
        self._retry_at_s = 0.0
        self._missing: dict[str, Unavailable] = {}

    @property
    def initialized(self) -> bool:
        """True once :meth:`init` succeeded (and :meth:`shutdown` was not called since)."""
        return self._initialized

    def _library_missing(self) -> Unavailable | None:
        """On Linux, whether ``libnvidia-ml.so.1`` cannot be loaded (what pynvml would find)."""
        if not sys.platform.startswith("linux"):
            return None
        loader = self._library_loader or ctypes.CDLL
        try:
            loader(LINUX_LIBRARY)
        except OSError:
            return Unavailable(REASON_LIBRARY_NOT_FOUND, permanent=True)
        return None

    def _load_module(self) -> Any | Unavailable:
        """Import ``pynvml`` (once) and check that it is nvidia-ml-py's, not the old package."""
        if self._module is None:
            missing = self._library_missing()
            if missing is not None:
                return missing
            try:
                self._module = importlib.import_module("pynvml")
            except ImportError as exc:
                return Unavailable(f"{REASON_NO_BINDINGS} ({exc})", hint="pip install nvidia-ml-py")
        # The unofficial pynvml (<12) and nvidia-ml-py3 ship a pynvml.py without this helper
        # (the check zeus uses); calling into them gives wrong or missing values.
        if not hasattr(self._module, "_nvmlGetFunctionPointer"):
            return Unavailable(
                REASON_CONFLICTING_PYNVML,
                hint="pip uninstall pynvml nvidia-ml-py3 && pip install nvidia-ml-py",
            )
        return self._module

    def init(self) -> Unavailable | None:
        """Initialise NVML (``nvmlInit``) once.

        Later calls return the cached outcome without calling NVML again. After a transient
        failure (``permanent=False``: driver not loaded, version mismatch, timeout) the next call
        after ``retry_interval_s`` tries again.

        Returns:
            None when NVML is ready, else the reason it is not.
        """
        if self._initialized:
            return None
        if self._init_error is not None and (
            self._init_error.permanent or self._clock() < self._retry_at_s
        ):
            return self._init_error
        module = self._load_module()
        if isinstance(module, Unavailable):
            self._init_error = module
            return module
        try:
            module.nvmlInit()
        except module.NVMLError as exc:
            error = classify_nvml_error(exc)
        except OSError as exc:  # a broken libnvidia-ml can fail below pynvml's own checks
            error = Unavailable(f"NVML library could not be loaded: {exc}", permanent=True)
        else:
            self._initialized = True
            self._init_error = None
            return None
        self._init_error = error
        self._retry_at_s = self._clock() + self._retry_interval_s
        logger.info("NVML unavailable: %s", error)
        return error

    def shutdown(self) -> None:
        """Call ``nvmlShutdown`` if NVML was initialised; never raises.

        Caches are cleared, so a later :meth:`init` starts from scratch (a new driver may
        have been loaded in between).
        """
        if self._initialized:
            try:
                self._module.nvmlShutdown()
            except self._module.NVMLError as exc:
                logger.info("nvmlShutdown failed: %s", classify_nvml_error(exc))
        self._initialized = False
        self._init_error = None
        self._retry_at_s = 0.0
        self._missing.clear()

    def query(self, fn_name: str, *args: Any) -> Any | Unavailable:
        """Call ``pynvml.<fn_name>(*args)`` and return its result, or why it failed.

        Initialises NVML first if needed. Never raises. A function missing from the driver
        (``FunctionNotFound``) or from the bindings (``AttributeError``) is remembered and
        not called again. ``bytes`` results are decoded to ``str``.

        Args:
            fn_name: A ``pynvml`` function name, e.g. ``"nvmlDeviceGetPowerUsage"``.
            *args: Its arguments (usually a device handle first).

        Returns:
            The function's result, or an :class:`Unavailable` with a plain reason.
        """
        missing = self._missing.get(fn_name)
        if missing is not None:
            return missing
        error = self.init()
        if error is not None:
            return error
        fn = getattr(self._module, fn_name, None)
        if fn is None:
            missing = Unavailable(REASON_NOT_IN_BINDINGS, hint="pip install -U nvidia-ml-py")
            self._missing[fn_name] = missing
            logger.info("pynvml has no %s: %s", fn_name, missing)
            return missing
        try:
            result = fn(*args)
        except self._module.NVMLError as exc:
            failure = classify_nvml_error(exc)
            if failure.reason == REASON_FUNCTION_NOT_FOUND:
                self._missing[fn_name] = failure
                logger.info(
                    "%s is not in this NVIDIA driver; check that nvidia-ml-py matches the "
                    "driver version",
                    fn_name,
                )
            return failure
        except UnicodeDecodeError as exc:
            return Unavailable(
                f"{REASON_UNKNOWN} (undecodable text from {fn_name}: {exc})", permanent=False
            )
        except Exception as exc:  # never let a binding bug reach the UI loop; keep the cause
            logger.warning("%s raised %r", fn_name, exc)
            return Unavailable(f"{fn_name} failed: {type(exc).__name__}: {exc}", permanent=False)
        if isinstance(result, bytes):
            return result.decode("utf-8", errors="replace")
        return result

    def field_values(self, handle: Any, fields: Sequence[FieldSpec]) -> list[Any | Unavailable]:
        """Read several fields with one ``nvmlDeviceGetFieldValues`` call.

        Each field carries its own return code, so one unsupported field does not hide the
        others (nvitop's ``nvmlQueryFieldValues``).

        Args:
            handle: The device handle.
            fields: Field ids, or ``(field id, scope id)`` pairs (power fields take a scope).

        Returns:
            One entry per requested field, in order: its value (int or float, by the field's
            value type) or an :class:`Unavailable`. If the whole call fails, every entry is that
            call's reason.
        """
        if not fields:
            return []
        raw = self.query("nvmlDeviceGetFieldValues", handle, list(fields))
        if isinstance(raw, Unavailable):
            return [raw] * len(fields)
        out: list[Any | Unavailable] = []
        for i in range(len(fields)):
            try:
                entry = raw[i]
            except (IndexError, TypeError):
                out.append(
                    Unavailable("NVML returned fewer field values than asked", permanent=False)
                )
                continue
            out.append(_field_value(entry))
        return out


def _field_value(entry: Any) -> Any | Unavailable:
    """The value of one ``c_nvmlFieldValue_t``, or why NVML did not give it."""
    code = int(getattr(entry, "nvmlReturn", _NVML_SUCCESS))
    if code != _NVML_SUCCESS:
        return unavailable_for_code(code)
    member = _VALUE_MEMBERS.get(int(entry.valueType))
    if member is None:
        return Unavailable(f"unknown NVML field value type {entry.valueType}", permanent=True)
    return getattr(entry.value, member)
