"""Battery power from a fake /sys/class/power_supply tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.telemetry.base import Unavailable
from core.telemetry.battery import BatteryReading, find_battery, read_battery
from core.telemetry.sysfs import SysfsRoot
from tests.fakes.sysfs import mkbattery


def _read(root: Path) -> BatteryReading:
    reading = read_battery(SysfsRoot(root))
    assert isinstance(reading, BatteryReading), reading
    return reading


def test_no_power_supply_directory(tmp_path: Path) -> None:
    assert read_battery(SysfsRoot(tmp_path)) == Unavailable("no battery")


def test_mains_adapter_only_is_no_battery(tmp_path: Path) -> None:
    mkbattery(tmp_path, "AC", status=None, type_="Mains", extra={"online": 1})
    mkbattery(tmp_path, "ucsi-source-psy-USBC000:001", status=None, type_="USB")
    reading = read_battery(SysfsRoot(tmp_path))
    assert isinstance(reading, Unavailable)
    assert reading.reason == "no battery"


def test_discharging_from_power_now(tmp_path: Path) -> None:
    mkbattery(tmp_path, "BAT0", status="Discharging", power_now_uw=12_500_000, capacity=87)
    assert _read(tmp_path) == BatteryReading(
        name="BAT0", power_w=12.5, discharging=True, percent=87.0, status="Discharging"
    )


def test_power_from_current_times_voltage(tmp_path: Path) -> None:
    mkbattery(tmp_path, current_now_ua=1_250_000, voltage_now_uv=11_400_000, capacity=40)
    reading = _read(tmp_path)
    assert reading.power_w == pytest.approx(14.25)
    assert reading.discharging is True
    assert reading.power_reason is None


def test_power_now_wins_over_current_and_voltage(tmp_path: Path) -> None:
    mkbattery(tmp_path, power_now_uw=9_000_000, current_now_ua=1_000_000, voltage_now_uv=1_000_000)
    assert _read(tmp_path).power_w == pytest.approx(9.0)


@pytest.mark.parametrize(
    ("status", "discharging"),
    [
        ("Charging", False),
        ("Full", False),
        ("Not charging", False),
        ("Discharging", True),
        ("Unknown", None),
        (None, None),
    ],
)
def test_status(tmp_path: Path, status: str | None, discharging: bool | None) -> None:
    mkbattery(tmp_path, status=status, power_now_uw=3_000_000)
    reading = _read(tmp_path)
    assert reading.discharging is discharging
    assert reading.status == status
    assert reading.power_w == pytest.approx(3.0)


def test_negative_power_is_reported_as_magnitude(tmp_path: Path) -> None:
    mkbattery(tmp_path, status="Charging", current_now_ua=-2_000_000, voltage_now_uv=12_000_000)
    reading = _read(tmp_path)
    assert reading.power_w == pytest.approx(24.0)
    assert reading.discharging is False


def test_no_power_files(tmp_path: Path) -> None:
    mkbattery(tmp_path, capacity=55, voltage_now_uv=12_000_000)
    reading = _read(tmp_path)
    assert reading.power_w is None
    assert reading.power_reason is not None and "power_now" in reading.power_reason
    assert reading.percent == 55.0


def test_percent_from_energy_when_no_capacity(tmp_path: Path) -> None:
    mkbattery(tmp_path, power_now_uw=1, extra={"energy_now": 30_000_000, "energy_full": 40_000_000})
    assert _read(tmp_path).percent == pytest.approx(75.0)


def test_percent_from_charge_when_no_energy(tmp_path: Path) -> None:
    mkbattery(tmp_path, power_now_uw=1, extra={"charge_now": 1_000_000, "charge_full": 4_000_000})
    assert _read(tmp_path).percent == pytest.approx(25.0)


def test_unreadable_garbage_values(tmp_path: Path) -> None:
    mkbattery(tmp_path, extra={"power_now": "garbage", "capacity": ""})
    reading = _read(tmp_path)
    assert reading.power_w is None
    assert reading.percent is None


def test_first_battery_by_name(tmp_path: Path) -> None:
    mkbattery(tmp_path, "BAT1", power_now_uw=2_000_000)
    mkbattery(tmp_path, "BAT0", power_now_uw=1_000_000)
    assert _read(tmp_path).name == "BAT0"


def test_peripheral_and_empty_bays_are_skipped(tmp_path: Path) -> None:
    mkbattery(tmp_path, "BAT0", present=0)
    mkbattery(tmp_path, "hidpp_battery_0", scope="Device", power_now_uw=1)
    assert find_battery(SysfsRoot(tmp_path)) is None
    mkbattery(tmp_path, "macsmc-battery", scope="System", power_now_uw=7_000_000)
    assert _read(tmp_path).name == "macsmc-battery"
    assert _read(tmp_path).power_w == pytest.approx(7.0)


def test_wrong_type_is_skipped(tmp_path: Path) -> None:
    mkbattery(tmp_path, "BATTERY_USB", type_="USB", power_now_uw=1)
    mkbattery(tmp_path, "CMB0", type_="Battery", power_now_uw=1)  # name does not qualify
    assert find_battery(SysfsRoot(tmp_path)) is None
    mkbattery(tmp_path, "BAT2", type_=None, power_now_uw=4_000_000)  # no type file: accepted
    assert _read(tmp_path).name == "BAT2"


def test_cached_path_that_disappeared(tmp_path: Path) -> None:
    path = mkbattery(tmp_path, power_now_uw=1)
    root = SysfsRoot(tmp_path)
    assert find_battery(root) == path
    gone = path.with_name("BAT9")
    assert read_battery(root, gone) == Unavailable("no battery")
