"""The CPU side of a telemetry tick: load, clocks, temperatures, fans, memory, RAPL, battery.

psutil is injected (a fake in tests) and every function is looked up with ``getattr`` because
``sensors_temperatures``/``sensors_fans`` do not exist on macOS or Windows and ``cpu_freq`` is
missing on some ARM Macs. Each call is guarded on its own, so one failing sensor family never
hides the others, and :meth:`CpuReader.read` never raises: a reading it cannot get is None in
the sample with the reason in ``unavailable``.
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from core.constants import SYSFS_ROOT
from core.hwinfo import SensorStatus
from core.telemetry.base import Unavailable
from core.telemetry.battery import NO_BATTERY, BatteryReading, find_battery, read_battery
from core.telemetry.rapl import RaplReader, package_totals
from core.telemetry.sample import CoreReading, CpuSample, FanReading, TempSensor
from core.telemetry.sysfs import SysfsRoot

NOT_ON_OS = "not provided by psutil on this OS"
"""Reason for a psutil function that this platform does not define."""

NO_TEMPS = "no temperature sensors exposed (no hwmon; typical in VMs and containers)"
"""Reason for an empty ``sensors_temperatures()``."""

NO_FANS = "no fan sensors exposed (typical in VMs, containers and many desktops)"
"""Reason for an empty ``sensors_fans()``."""

EMPTY_RECHECK_S = 30.0
"""After psutil found no temperature sensors or fans, ask again only this often."""

BOGUS_LOW_C = 1.0
"""Readings at or below this are discarded as bogus (as s-tui does)."""

BOGUS_HIGH_C = 127.0
"""Readings at or above this are discarded as bogus (as s-tui does)."""

_PACKAGE_LABEL = re.compile(r"^(package|physical) id \d+$", re.IGNORECASE)
_CORE_LABEL = re.compile(r"^core \d+$", re.IGNORECASE)
_PER_CORE_LABEL = re.compile(r"^(core \d+|tccd\d+)$", re.IGNORECASE)
_AMD_GROUPS = ("k10temp", "zenpower")
_ZONE_TYPES = {"x86_pkg_temp", "cpu_thermal", "soc_thermal"}

_TEMP_KEYS = ("temps", "package_temp_c", "package_temp_high_c", "package_temp_critical_c")
_FREQ_KEYS = ("freq_mhz", "freq_max_mhz")
_MEMORY_KEYS = ("memory_used_bytes", "memory_total_bytes")
_RAPL_KEYS = ("zones", "package_power_w", "package_energy_j")
_BATTERY_KEYS = ("battery_power_w", "battery_discharging", "battery_percent")

_Values = dict[str, Any]
_Reasons = dict[str, str]


@dataclass
class _Part:
    """What one sensor family gave: CpuSample field values and reasons for missing ones."""

    values: _Values = field(default_factory=dict)
    reasons: _Reasons = field(default_factory=dict)
    source: str = "psutil"


def _number(value: object) -> float | None:
    """A finite float, or None for None, NaN, booleans and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _threshold(value: object) -> float | None:
    number = _number(value)
    return number if number is not None and number > 0 else None


def _is_bogus(temp_c: float) -> bool:
    return temp_c <= BOGUS_LOW_C or temp_c >= BOGUS_HIGH_C


def collect_temps(raw: Mapping[str, Iterable[Any]]) -> tuple[tuple[TempSensor, ...], int]:
    """Turn ``sensors_temperatures()`` output into sensors, dropping bogus readings.

    Args:
        raw: ``{group: [shwtemp(label, current, high, critical), ...]}``.

    Returns:
        The sensors whose current reading is a number strictly between 1 and 127 °C, and how
        many readings were discarded as bogus.
    """
    temps: list[TempSensor] = []
    discarded = 0
    for group, entries in raw.items():
        for entry in entries:
            current = _number(getattr(entry, "current", None))
            if current is None or _is_bogus(current):
                discarded += 1
                continue
            temps.append(
                TempSensor(
                    group=str(group),
                    label=str(getattr(entry, "label", "") or ""),
                    current_c=current,
                    high_c=_threshold(getattr(entry, "high", None)),
                    critical_c=_threshold(getattr(entry, "critical", None)),
                )
            )
    return tuple(temps), discarded


def choose_package_sensor(temps: Sequence[TempSensor]) -> TempSensor | None:
    """Pick the sensor that best stands for "the CPU temperature".

    In order: Intel ``coretemp`` ``Package id N`` / ``Physical id N`` (hottest socket); AMD
    ``k10temp``/``zenpower`` ``Tdie``, then ``Tctl`` (then an unlabelled k10temp reading, as
    pre-Zen kernels give); the hottest ``coretemp`` ``Core N``; thermal-zone types
    ``x86_pkg_temp``/``cpu_thermal``/``soc_thermal``; ``acpitz`` as a last resort.

    Args:
        temps: Non-bogus sensors, see :func:`collect_temps`.

    Returns:
        The chosen sensor, or None if none of them is a CPU sensor.
    """
    coretemp = [t for t in temps if t.group.startswith("coretemp")]
    amd = [t for t in temps if t.group.startswith(_AMD_GROUPS)]
    tiers: tuple[list[TempSensor], ...] = (
        [t for t in coretemp if _PACKAGE_LABEL.match(t.label.strip())],
        [t for t in amd if t.label.strip().lower() == "tdie"],
        [t for t in amd if t.label.strip().lower() == "tctl"],
        [t for t in amd if not t.label.strip()],
        [t for t in coretemp if _CORE_LABEL.match(t.label.strip())],
        [t for t in temps if t.group.replace("-", "_").lower() in _ZONE_TYPES],
        [t for t in temps if t.group.lower() == "acpitz"],
    )
    for candidates in tiers:
        if candidates:
            return max(candidates, key=lambda t: t.current_c)
    return None


def _describe(sensor: TempSensor) -> str:
    return f"{sensor.group} {sensor.label}".strip()


class CpuReader:
    """Reads everything CPU-side for one sampler tick.

    Args:
        psutil_module: psutil or a fake of it (default: the real psutil).
        root: The sysfs root for RAPL and the battery (default: ``THERMAL_SCOUT_SYSFS_ROOT``
            or ``/``).
        rapl: The RAPL reader (default: one on ``root``). It keeps the counter state, so keep
            one ``CpuReader`` for the life of a sampler.
    """

    def __init__(
        self,
        psutil_module: Any = None,
        root: SysfsRoot | None = None,
        rapl: RaplReader | None = None,
    ) -> None:
        # Imported by name so no psutil type stubs are needed (the module is used as Any).
        self.psutil: Any = (
            psutil_module if psutil_module is not None else importlib.import_module("psutil")
        )
        self.root = root if root is not None else SysfsRoot(SYSFS_ROOT)
        self.rapl = rapl if rapl is not None else RaplReader(self.root)
        self._battery_path: Path | None = None
        self._battery_searched = False
        self._load_primed = False
        self._now_s = 0.0
        self._empty_until: dict[str, float] = {}

    # -- psutil access ---------------------------------------------------------------------
    def _call(self, name: str, **kwargs: Any) -> tuple[Any, str | None]:
        """Call ``psutil.<name>(**kwargs)``; return ``(result, None)`` or ``(None, reason)``."""
        function = getattr(self.psutil, name, None)
        if function is None or not callable(function):
            return None, NOT_ON_OS
        try:
            return function(**kwargs), None
        except Exception as exc:  # psutil raises OSError, RuntimeError, psutil.Error, ...
            return None, f"psutil.{name}() failed: {type(exc).__name__}: {exc}"

    def _sparse_call(self, name: str) -> tuple[Any, str | None]:
        """``psutil.<name>()``, but after an empty answer only every ``EMPTY_RECHECK_S``.

        Machines without hwmon (VMs, containers) answer ``{}`` forever, yet psutil walks
        ``/sys/class/hwmon`` on every call; sensors that appear later are still found.
        """
        until = self._empty_until.get(name)
        if until is not None and self._now_s < until:
            return {}, None
        raw, error = self._call(name)
        if error is None and isinstance(raw, Mapping) and not raw:
            self._empty_until[name] = self._now_s + EMPTY_RECHECK_S
        else:
            self._empty_until.pop(name, None)
        return raw, error

    # -- families --------------------------------------------------------------------------
    def _temps(self) -> _Part:
        part = _Part(source="psutil sensors_temperatures")
        keys = _TEMP_KEYS
        raw, error = self._sparse_call("sensors_temperatures")
        if error is None and not isinstance(raw, Mapping):
            error = NO_TEMPS if not raw else f"unexpected sensors_temperatures() result: {raw!r}"
        if error is not None:
            part.reasons.update(dict.fromkeys(keys, error))
            return part
        temps, discarded = collect_temps(raw)
        part.values["temps"] = temps
        if not temps:
            reason = (
                NO_TEMPS
                if not discarded
                else f"all {discarded} temperature readings were bogus (<= 1 °C or >= 127 °C)"
            )
            part.reasons.update(dict.fromkeys(keys, reason))
            return part
        sensor = choose_package_sensor(temps)
        if sensor is None:
            groups = ", ".join(sorted({t.group for t in temps}))
            reason = f"no CPU temperature sensor among: {groups}"
            part.reasons.update(dict.fromkeys(keys[1:], reason))
            return part
        part.source = f"psutil ({_describe(sensor)})"
        part.values["package_temp_c"] = sensor.current_c
        part.values["package_temp_high_c"] = sensor.high_c
        part.values["package_temp_critical_c"] = sensor.critical_c
        if sensor.high_c is None:
            part.reasons["package_temp_high_c"] = f"{_describe(sensor)} has no high threshold"
        if sensor.critical_c is None:
            part.reasons["package_temp_critical_c"] = (
                f"{_describe(sensor)} has no critical threshold"
            )
        return part

    def _fans(self) -> _Part:
        part = _Part(source="psutil sensors_fans")
        raw, error = self._sparse_call("sensors_fans")
        if error is None and not isinstance(raw, Mapping):
            error = NO_FANS if not raw else f"unexpected sensors_fans() result: {raw!r}"
        if error is not None:
            part.reasons["fans"] = error
            return part
        fans: list[FanReading] = []
        for group, entries in raw.items():
            for entry in entries:
                rpm = _number(getattr(entry, "current", None))
                if rpm is not None and rpm >= 0:
                    label = str(getattr(entry, "label", "") or "")
                    fans.append(FanReading(group=str(group), label=label, rpm=rpm))
        part.values["fans"] = tuple(fans)
        if not fans:
            part.reasons["fans"] = NO_FANS
        return part

    def _loads(self) -> _Part:
        part = _Part(source="psutil cpu_percent")
        raw, error = self._call("cpu_percent", percpu=True)
        if error is None and (not isinstance(raw, (list, tuple)) or not raw):
            error = f"psutil.cpu_percent(percpu=True) returned {raw!r}"
        if error is not None:
            part.reasons["load_pct"] = error
            return part
        if not self._load_primed:
            # psutil's first non-blocking call compares against import time and may return a
            # meaningless 0.0: report "no value yet" rather than a fake zero.
            self._load_primed = True
            part.reasons["load_pct"] = "first sample: load is measured between two samples"
            return part
        loads = [_number(value) for value in raw]
        part.values["_core_loads"] = loads
        valid = [value for value in loads if value is not None]
        if valid:
            part.values["load_pct"] = sum(valid) / len(valid)
        else:
            part.reasons["load_pct"] = "psutil.cpu_percent gave no numeric per-CPU load"
        return part

    def _freqs(self) -> _Part:
        part = _Part(source="psutil cpu_freq")
        raw, error = self._call("cpu_freq", percpu=True)
        per_cpu = list(raw) if isinstance(raw, (list, tuple)) else []
        currents = [_number(getattr(f, "current", None)) for f in per_cpu]
        if not any(c is not None and c > 0 for c in currents):
            # Per-CPU list empty or useless: fall back to the whole-CPU call.
            overall, overall_error = self._call("cpu_freq")
            per_cpu = [overall] if overall is not None else []
            error = error or overall_error
            currents = [_number(getattr(f, "current", None)) for f in per_cpu]
        else:
            part.values["_core_freqs"] = [c if c is not None and c > 0 else None for c in currents]
        valid = [c for c in currents if c is not None and c > 0]
        if not valid:
            reason = error or "psutil reports no CPU frequency (typical in some VMs and containers)"
            part.reasons["freq_mhz"] = reason
            part.reasons["freq_max_mhz"] = reason
            return part
        part.values["freq_mhz"] = sum(valid) / len(valid)
        maxima = [_number(getattr(f, "max", None)) for f in per_cpu]
        valid_max = [m for m in maxima if m is not None and m > 0]
        if valid_max:
            part.values["freq_max_mhz"] = max(valid_max)
        else:
            part.reasons["freq_max_mhz"] = (
                "maximum frequency unknown (cpufreq max is 0: no cpufreq driver, typical in VMs)"
            )
        return part

    def _memory(self) -> _Part:
        part = _Part(source="psutil virtual_memory")
        keys = _MEMORY_KEYS
        raw, error = self._call("virtual_memory")
        total = _number(getattr(raw, "total", None))
        available = _number(getattr(raw, "available", None))
        if error is None and (total is None or available is None):
            error = f"unexpected virtual_memory() result: {raw!r}"
        if error is not None or total is None or available is None:
            part.reasons.update(dict.fromkeys(keys, error or "no memory figures"))
            return part
        part.values["memory_total_bytes"] = int(total)
        part.values["memory_used_bytes"] = max(0, int(total - available))
        return part

    def _power(self, now_s: float) -> _Part:
        part = _Part(source="powercap")
        keys = _RAPL_KEYS
        result = self.rapl.read(now_s)
        if isinstance(result, Unavailable):
            part.reasons.update(dict.fromkeys(keys, str(result)))
            return part
        part.values["zones"] = result
        power_w, energy_j = package_totals(result)
        part.values["package_power_w"] = power_w
        part.values["package_energy_j"] = energy_j
        if not any(z.name.startswith("package") for z in result):
            names = ", ".join(z.name for z in result) or "none"
            reason = f"no RAPL package zone (zones: {names})"
            part.reasons.update(dict.fromkeys(keys[1:], reason))
        else:
            if energy_j is None:
                part.reasons["package_energy_j"] = "a RAPL package counter could not be read"
                part.reasons["package_power_w"] = "a RAPL package counter could not be read"
            elif power_w is None:
                part.reasons["package_power_w"] = (
                    "RAPL power needs two readings (first tick, or the counter was reset)"
                )
        if not result:
            part.reasons["zones"] = "no RAPL zones"
        return part

    def _battery_reading(self) -> BatteryReading | Unavailable:
        if not self._battery_searched:
            self._battery_path = find_battery(self.root)
            self._battery_searched = True
        if self._battery_path is None:
            return NO_BATTERY
        reading = read_battery(self.root, self._battery_path)
        if isinstance(reading, Unavailable):
            self._battery_searched = False  # it went away: look again next time
        return reading

    def _battery(self) -> _Part:
        part = _Part(source="sysfs power_supply")
        keys = _BATTERY_KEYS
        reading = self._battery_reading()
        if isinstance(reading, Unavailable):
            part.reasons.update(dict.fromkeys(keys, str(reading)))
            return part
        part.source = f"sysfs power_supply/{reading.name}"
        part.values["battery_discharging"] = reading.discharging
        part.values["battery_percent"] = reading.percent
        if reading.discharging is None:
            part.reasons["battery_discharging"] = (
                f"battery status is {reading.status or 'not reported'}"
            )
        if reading.percent is None:
            part.reasons["battery_percent"] = "battery reports no capacity"
        if reading.power_w is None:
            part.reasons["battery_power_w"] = reading.power_reason or "battery reports no power"
        elif reading.discharging:
            part.values["battery_power_w"] = reading.power_w
        elif reading.discharging is False:
            state = (reading.status or "on AC").lower()
            part.reasons["battery_power_w"] = (
                f"on AC power (battery {state}): battery power is whole-system power only "
                "while discharging"
            )
        else:
            part.reasons["battery_power_w"] = (
                f"battery status is {reading.status or 'not reported'}, so its power is not "
                "known to be whole-system power"
            )
        return part

    def _guarded(self, what: str, keys: tuple[str, ...], read: Callable[[], _Part]) -> _Part:
        """Run one family; a bug or surprise in it becomes reasons, never an exception."""
        try:
            return read()
        except Exception as exc:  # a reader bug must not kill the sampler thread
            reason = f"error reading {what}: {type(exc).__name__}: {exc}"
            return _Part(reasons=dict.fromkeys(keys, reason))

    def read(self, now_s: float) -> CpuSample:
        """Read one tick. Never raises.

        Args:
            now_s: Monotonic time in seconds (RAPL power is the counter delta over the time
                since the previous call).

        Returns:
            The sample; every None reading (and every empty ``temps``/``fans``/``cores``/
            ``zones``) has its reason in ``unavailable``.
        """
        self._now_s = now_s
        parts = (
            self._guarded("CPU load", ("load_pct",), self._loads),
            self._guarded("CPU frequency", _FREQ_KEYS, self._freqs),
            self._guarded("temperatures", _TEMP_KEYS, self._temps),
            self._guarded("fans", ("fans",), self._fans),
            self._guarded("memory", _MEMORY_KEYS, self._memory),
            self._guarded("RAPL", _RAPL_KEYS, lambda: self._power(now_s)),
            self._guarded("battery", _BATTERY_KEYS, self._battery),
        )
        values: _Values = {}
        reasons: _Reasons = {}
        for part in parts:
            values.update(part.values)
            for key, reason in part.reasons.items():
                reasons.setdefault(key, reason)
        loads: list[float | None] = values.pop("_core_loads", [])
        freqs: list[float | None] = values.pop("_core_freqs", [])
        count = len(loads) or len(freqs)
        values["cores"] = tuple(
            CoreReading(
                index=i,
                load_pct=loads[i] if i < len(loads) else None,
                # A cpufreq policy can cover several CPUs: map per-core only when counts agree.
                freq_mhz=freqs[i] if len(freqs) == count else None,
            )
            for i in range(count)
        )
        if not count:
            reasons["cores"] = reasons.get("load_pct") or reasons.get("freq_mhz") or "no CPUs"
        for f in fields(CpuSample):
            if f.name == "unavailable":
                continue
            value = values.get(f.name)
            if value is None or value == ():
                values.pop(f.name, None)
                reasons.setdefault(f.name, "not reported by this machine")
            else:
                reasons.pop(f.name, None)
        return CpuSample(**values, unavailable=tuple(reasons.items()))

    def probe(self) -> tuple[SensorStatus, ...]:
        """What CPU-side readings work on this machine, and why the others do not.

        Uses the same code paths as :meth:`read` (but does not touch the load counters or
        advance the RAPL state), so the two agree.

        Returns:
            One status each for "CPU temperature", "Per-core temperature", "CPU frequency",
            "CPU package power (RAPL)", "DRAM power (RAPL)", "Fans" and "Battery power".
        """
        temps = self._guarded("temperatures", _TEMP_KEYS, self._temps)
        freqs = self._guarded("CPU frequency", _FREQ_KEYS, self._freqs)
        fans = self._guarded("fans", ("fans",), self._fans)
        battery = self._guarded("battery", _BATTERY_KEYS, self._battery)
        statuses = [
            _status("CPU temperature", temps, "package_temp_c"),
            self._per_core_status(temps),
            _status("CPU frequency", freqs, "freq_mhz"),
            *self._rapl_statuses(),
            _status("Fans", fans, "fans"),
            _status("Battery power", battery, "battery_power_w"),
        ]
        return tuple(statuses)

    def _per_core_status(self, temps: _Part) -> SensorStatus:
        sensors: tuple[TempSensor, ...] = temps.values.get("temps", ())
        per_core = [t for t in sensors if _PER_CORE_LABEL.match(t.label.strip())]
        if per_core:
            groups = sorted({t.group for t in per_core})
            return SensorStatus(
                "Per-core temperature", True, source=f"psutil ({', '.join(groups)})"
            )
        reason = temps.reasons.get("temps") or (
            "no per-core sensors (coretemp 'Core N' or k10temp 'TccdN')"
        )
        return SensorStatus("Per-core temperature", False, reason=reason, source="psutil")

    def _rapl_statuses(self) -> list[SensorStatus]:
        package, dram = "CPU package power (RAPL)", "DRAM power (RAPL)"
        try:
            problem = self.rapl.probe()
            zones = self.rapl.zones
        except Exception as exc:  # keep probe as robust as read
            problem = Unavailable(f"error probing RAPL: {type(exc).__name__}: {exc}")
            zones = ()
        if problem is not None:
            return [
                SensorStatus(n, False, reason=problem.reason, hint=problem.hint, source="powercap")
                for n in (package, dram)
            ]
        names = ", ".join(z.label for z in zones)
        out = []
        for title, wanted in ((package, "package"), (dram, "dram")):
            matching = [z.label for z in zones if z.name.startswith(wanted)]
            if matching:
                source = f"powercap ({', '.join(matching)})"
                out.append(SensorStatus(title, True, source=source))
            else:
                reason = f"no RAPL {wanted} zone (zones: {names})"
                out.append(SensorStatus(title, False, reason=reason, source="powercap"))
        return out


def _status(name: str, part: _Part, key: str) -> SensorStatus:
    value = part.values.get(key)
    if value is not None and value != ():
        return SensorStatus(name, True, source=part.source)
    reason = part.reasons.get(key, "not reported by this machine")
    return SensorStatus(name, False, reason=reason, source=part.source)
