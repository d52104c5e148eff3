"""Builders for fake sysfs trees under ``tmp_path`` (powercap RAPL zones, hwmon, batteries).

Each builder writes the files the real kernel exposes, with the same names and units, so
readers can be pointed at ``SysfsRoot(tmp_path)``.
"""

from __future__ import annotations

import re
from pathlib import Path

_ZONE_ID = re.compile(r"^(intel-rapl(?:-mmio)?):(\d+)(?::(\d+))?$")

DEFAULT_MAX_RANGE_UJ = 262_143_328_850
"""``max_energy_range_uj`` of an i9-13900HX package zone (≈262 kJ)."""


def _write(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{value}\n", encoding="utf-8")


def mkzone(
    root: Path,
    zone_id: str,
    name: str,
    energy_uj: int | None = 0,
    max_energy_range_uj: int | None = DEFAULT_MAX_RANGE_UJ,
    *,
    layout: str = "sysfs",
) -> Path:
    """Create one powercap zone and return its directory.

    Args:
        root: The fake ``/``.
        zone_id: ``"intel-rapl:0"``, ``"intel-rapl:0:2"`` (a sub-zone) or ``"intel-rapl-mmio:0"``.
        name: Contents of the ``name`` file (``"package-0"``, ``"dram"``, ``"psys"``, ...).
        energy_uj: Initial ``energy_uj``; None leaves the file out.
        max_energy_range_uj: ``max_energy_range_uj``; None leaves the file out.
        layout: ``"sysfs"``: the real layout, zones nested below
            ``sys/devices/virtual/powercap/<control type>/`` with flat symlinks for every zone
            (and the control type) in ``sys/class/powercap``; ``"nested"``: real directories
            nested below ``sys/class/powercap/<control type>/`` (codecarbon's fake tree);
            ``"flat"``: every zone a real directory directly in ``sys/class/powercap``.

    Returns:
        The zone directory (write ``energy_uj`` there, or use :func:`set_energy`).
    """
    match = _ZONE_ID.match(zone_id)
    if match is None:
        raise ValueError(f"not a powercap zone id: {zone_id}")
    control, top, sub = match.group(1), match.group(2), match.group(3)
    chain = Path(f"{control}:{top}")
    if sub is not None:
        chain = chain / zone_id
    powercap = root / "sys/class/powercap"
    powercap.mkdir(parents=True, exist_ok=True)
    if layout == "sysfs":
        devices = root / "sys/devices/virtual/powercap" / control
        zone = devices / chain
        zone.mkdir(parents=True, exist_ok=True)
        _write(devices / "enabled", 1)
        for link, target in ((powercap / control, devices), (powercap / zone_id, zone)):
            if not link.is_symlink():
                link.symlink_to(target, target_is_directory=True)
    elif layout == "nested":
        zone = powercap / control / chain
        zone.mkdir(parents=True, exist_ok=True)
    elif layout == "flat":
        zone = powercap / zone_id
        zone.mkdir(parents=True, exist_ok=True)
    else:
        raise ValueError(f"unknown layout {layout!r}")
    _write(zone / "name", name)
    if energy_uj is not None:
        _write(zone / "energy_uj", energy_uj)
    if max_energy_range_uj is not None:
        _write(zone / "max_energy_range_uj", max_energy_range_uj)
    return zone


def set_energy(zone: Path, energy_uj: int) -> None:
    """Set a zone's ``energy_uj`` counter.

    Args:
        zone: A directory returned by :func:`mkzone`.
        energy_uj: The new counter value.
    """
    _write(zone / "energy_uj", energy_uj)


def mkhwmon(
    root: Path,
    hwmon: str,
    name: str,
    temps: dict[int, tuple[str, int, int | None, int | None]] | None = None,
    fans: dict[int, tuple[str, int]] | None = None,
) -> Path:
    """Create ``sys/class/hwmon/<hwmon>`` the way hwmon drivers do.

    Args:
        root: The fake ``/``.
        hwmon: Directory name, e.g. ``"hwmon3"``.
        name: The driver name (``"coretemp"``, ``"k10temp"``, ``"acpitz"``, ...).
        temps: ``{N: (label, input_mC, max_mC, crit_mC)}`` → ``tempN_label``, ``tempN_input``,
            ``tempN_max``, ``tempN_crit`` (empty label or None values leave the file out).
        fans: ``{N: (label, rpm)}`` → ``fanN_label``, ``fanN_input``.

    Returns:
        The hwmon directory.
    """
    path = root / "sys/class/hwmon" / hwmon
    path.mkdir(parents=True, exist_ok=True)
    _write(path / "name", name)
    for index, (label, input_mc, max_mc, crit_mc) in (temps or {}).items():
        if label:
            _write(path / f"temp{index}_label", label)
        _write(path / f"temp{index}_input", input_mc)
        if max_mc is not None:
            _write(path / f"temp{index}_max", max_mc)
        if crit_mc is not None:
            _write(path / f"temp{index}_crit", crit_mc)
    for index, (label, rpm) in (fans or {}).items():
        if label:
            _write(path / f"fan{index}_label", label)
        _write(path / f"fan{index}_input", rpm)
    return path


def mkbattery(
    root: Path,
    name: str = "BAT0",
    *,
    status: str | None = "Discharging",
    power_now_uw: int | None = None,
    current_now_ua: int | None = None,
    voltage_now_uv: int | None = None,
    capacity: int | None = None,
    type_: str | None = "Battery",
    scope: str | None = None,
    present: int | None = None,
    extra: dict[str, object] | None = None,
) -> Path:
    """Create ``sys/class/power_supply/<name>``.

    Args:
        root: The fake ``/``.
        name: ``"BAT0"``, ``"AC"``, ``"hidpp_battery_0"``, ...
        status: ``status`` file (``"Discharging"``, ``"Charging"``, ``"Full"``, ``"Unknown"``).
        power_now_uw: ``power_now`` in µW.
        current_now_ua: ``current_now`` in µA.
        voltage_now_uv: ``voltage_now`` in µV.
        capacity: ``capacity`` in percent.
        type_: ``type`` file (``"Battery"``, ``"Mains"``, ``"USB"``).
        scope: ``scope`` file (``"System"`` or ``"Device"``).
        present: ``present`` file (0 or 1).
        extra: Any further files, ``{filename: contents}``.

    A None argument leaves its file out.

    Returns:
        The power-supply directory.
    """
    path = root / "sys/class/power_supply" / name
    path.mkdir(parents=True, exist_ok=True)
    files: dict[str, object | None] = {
        "status": status,
        "power_now": power_now_uw,
        "current_now": current_now_ua,
        "voltage_now": voltage_now_uv,
        "capacity": capacity,
        "type": type_,
        "scope": scope,
        "present": present,
        **(extra or {}),
    }
    for filename, value in files.items():
        if value is not None:
            _write(path / filename, value)
    return path
