"""Laptop battery power from ``/sys/class/power_supply``.

psutil's ``sensors_battery()`` gives percent and plugged state but not power. While the laptop
runs on battery, ``power_now`` (µW), or ``current_now`` (µA) × ``voltage_now`` (µV), is the power
of the whole machine: the only whole-system figure most laptops give without root.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.telemetry.base import Unavailable
from core.telemetry.sysfs import SysfsRoot

POWER_SUPPLY_DIR = "sys/class/power_supply"
"""The power-supply class directory, relative to the sysfs root."""

NO_BATTERY = Unavailable("no battery")
"""No system battery was found."""

_DISCHARGING = {"discharging": True, "charging": False, "full": False, "not charging": False}


@dataclass(frozen=True)
class BatteryReading:
    """One reading of the system battery.

    Attributes:
        name: The power-supply directory, e.g. ``"BAT0"``.
        power_w: Magnitude of the power flowing out of (discharging) or into (charging) the
            battery, whenever the driver reports it; None otherwise (see ``power_reason``).
        discharging: True on battery, False on AC (charging, full or not charging), None when the
            driver's ``status`` is missing or ``Unknown``.
        percent: Charge level 0–100, if known.
        status: The raw ``status`` file (``"Discharging"``, ``"Charging"``, ``"Full"``, ...).
        power_reason: Why ``power_w`` is None.
    """

    name: str
    power_w: float | None
    discharging: bool | None
    percent: float | None = None
    status: str | None = None
    power_reason: str | None = None


def _text(root: SysfsRoot, path: Path) -> str | None:
    try:
        return root.read_text(path)
    except (OSError, ValueError):
        return None


def _int(root: SysfsRoot, path: Path) -> int | None:
    try:
        return root.read_int(path)
    except (OSError, ValueError):
        return None


def find_battery(root: SysfsRoot) -> Path | None:
    """The first system battery, the way psutil picks it, minus peripherals.

    A candidate's name starts with ``BAT`` or contains ``battery`` (any case). It is skipped if
    its ``type`` file exists and is not ``Battery``, if its ``scope`` is ``Device`` (a wireless
    mouse or keyboard) or if ``present`` is ``0`` (an empty bay).

    Args:
        root: The sysfs root.

    Returns:
        The power-supply directory, or None.
    """
    for path in root.glob(f"{POWER_SUPPLY_DIR}/*"):
        name = path.name
        if not (name.upper().startswith("BAT") or "battery" in name.lower()):
            continue
        kind = _text(root, path / "type")
        if kind is not None and kind.lower() != "battery":
            continue
        scope = _text(root, path / "scope")
        if scope is not None and scope.lower() == "device":
            continue
        if _text(root, path / "present") == "0":
            continue
        return path
    return None


def _percent(root: SysfsRoot, path: Path) -> float | None:
    capacity = _int(root, path / "capacity")
    if capacity is not None:
        return float(max(0, min(100, capacity)))
    for now_file, full_file in (("energy_now", "energy_full"), ("charge_now", "charge_full")):
        now = _int(root, path / now_file)
        full = _int(root, path / full_file)
        if now is not None and full:
            return max(0.0, min(100.0, 100.0 * now / full))
    return None


def read_battery(root: SysfsRoot, supply: Path | None = None) -> BatteryReading | Unavailable:
    """Read the system battery's power, charge state and level.

    Args:
        root: The sysfs root.
        supply: The battery directory if already found by :func:`find_battery` (saves the
            directory scan on every tick); None to look it up.

    Returns:
        The reading, or ``Unavailable("no battery")``.
    """
    path = supply if supply is not None else find_battery(root)
    if path is None or not path.is_dir():
        return NO_BATTERY
    status = _text(root, path / "status")
    discharging = _DISCHARGING.get(status.lower()) if status else None
    power_w: float | None = None
    reason: str | None = None
    power_uw = _int(root, path / "power_now")
    if power_uw is not None:
        power_w = abs(power_uw) / 1e6
    else:
        current_ua = _int(root, path / "current_now")
        voltage_uv = _int(root, path / "voltage_now")
        if current_ua is not None and voltage_uv is not None:
            power_w = abs(current_ua * voltage_uv) / 1e12
        else:
            reason = "battery reports neither power_now nor current_now and voltage_now"
    return BatteryReading(
        name=path.name,
        power_w=power_w,
        discharging=discharging,
        percent=_percent(root, path),
        status=status,
        power_reason=reason,
    )
