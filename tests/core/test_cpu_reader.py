"""CpuReader against a fake psutil (real psutil namedtuples) and fake sysfs trees."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psutil
import pytest

from core.hwinfo import SensorStatus
from core.telemetry.cpu import (
    NO_FANS,
    NO_TEMPS,
    NOT_ON_OS,
    CpuReader,
    choose_package_sensor,
    collect_temps,
)
from core.telemetry.rapl import NO_POWERCAP, ROOT_ONLY, RaplReader, RaplZone
from core.telemetry.sample import CoreReading, CpuSample, FanReading, TempSensor
from core.telemetry.sysfs import SysfsRoot
from tests.fakes.sysfs import mkbattery, mkhwmon, mkzone, set_energy

try:  # psutil >= 7.1 keeps its namedtuples here
    from psutil._ntuples import scpufreq, sfan, shwtemp, svmem
except ImportError:  # pragma: no cover - older psutil
    from psutil._common import scpufreq, sfan, shwtemp
    from psutil._pslinux import svmem

GIB = 1024**3

INTEL = {
    "coretemp": [
        shwtemp("Package id 0", 55.0, 80.0, 100.0),
        shwtemp("Core 0", 50.0, 80.0, 100.0),
        shwtemp("Core 1", 53.0, 80.0, 100.0),
    ],
    "acpitz": [shwtemp("", 27.8, None, None)],
    "nvme": [shwtemp("Composite", 38.85, 84.85, 84.85)],
}


def fake_psutil(
    *,
    temps: Any = None,
    fans: Any = None,
    loads: Any = (10.0, 30.0, 50.0, 70.0),
    freqs: Any = None,
    freq: Any = None,
    memory: Any = None,
    omit: tuple[str, ...] = (),
    raises: Mapping[str, BaseException] | None = None,
) -> SimpleNamespace:
    """A stand-in for the psutil module: each function returns what it is given."""
    if freqs is None:
        freqs = [scpufreq(2400.0, 800.0, 4800.0)] * 4
    if memory is None:
        memory = svmem(32 * GIB, 20 * GIB, 37.5, 10 * GIB, 18 * GIB, 0, 0, 0, 0, 0, 0)
    errors = raises or {}

    def make(name: str, result: Callable[..., Any]) -> Callable[..., Any]:
        def function(*args: Any, **kwargs: Any) -> Any:
            if name in errors:
                raise errors[name]
            return result(*args, **kwargs)

        return function

    def cpu_freq(percpu: bool = False) -> Any:
        if percpu:
            return freqs
        if freq is not None:
            return freq
        return freqs[0] if freqs else None

    functions: dict[str, Callable[..., Any]] = {
        "sensors_temperatures": make(
            "sensors_temperatures", lambda: temps if temps is not None else {}
        ),
        "sensors_fans": make("sensors_fans", lambda: fans if fans is not None else {}),
        "cpu_percent": make("cpu_percent", lambda percpu=False: list(loads) if percpu else 40.0),
        "cpu_freq": make("cpu_freq", cpu_freq),
        "virtual_memory": make("virtual_memory", lambda: memory),
    }
    return SimpleNamespace(**{k: v for k, v in functions.items() if k not in omit})


def reader_for(tmp_path: Path, ps: Any, *, primed: bool = True) -> CpuReader:
    """A reader on a fake psutil; ``primed`` skips the first-sample load gap."""
    reader = CpuReader(psutil_module=ps, root=SysfsRoot(tmp_path))
    reader._load_primed = primed
    return reader


def test_first_sample_has_no_load_rather_than_a_fake_zero(tmp_path: Path) -> None:
    ps = fake_psutil()
    reader = reader_for(tmp_path, ps, primed=False)
    first = reader.read(0.0)
    assert first.load_pct is None
    assert first.reason("load_pct") == "first sample: load is measured between two samples"
    assert reader.read(1.0).load_pct == 40.0


def status(statuses: tuple[SensorStatus, ...], name: str) -> SensorStatus:
    (found,) = [s for s in statuses if s.name == name]
    return found


def assert_reasons_complete(sample: CpuSample) -> None:
    """Every None reading has a reason; no reading that is present has one."""
    reasons = dict(sample.unavailable)
    for f in dataclasses.fields(CpuSample):
        if f.name == "unavailable":
            continue
        value = getattr(sample, f.name)
        missing = value is None or value == ()
        assert (f.name in reasons) == missing, (f.name, value, reasons.get(f.name))
        if missing:
            assert reasons[f.name].strip()


# -- package temperature choice ------------------------------------------------------------


def test_intel_package_sensor_and_thresholds(tmp_path: Path) -> None:
    sample = reader_for(tmp_path, fake_psutil(temps=INTEL)).read(0.0)
    assert sample.package_temp_c == 55.0
    assert sample.package_temp_high_c == 80.0
    assert sample.package_temp_critical_c == 100.0
    assert len(sample.temps) == 5
    assert TempSensor("nvme", "Composite", 38.85, 84.85, 84.85) in sample.temps
    assert TempSensor("acpitz", "", 27.8, None, None) in sample.temps
    assert_reasons_complete(sample)


def test_hottest_socket_wins(tmp_path: Path) -> None:
    temps = {
        "coretemp": [
            shwtemp("Package id 0", 50.0, 80.0, 100.0),
            shwtemp("Core 0", 70.0, 80.0, 100.0),
            shwtemp("Package id 1", 61.0, 85.0, 105.0),
        ]
    }
    sample = reader_for(tmp_path, fake_psutil(temps=temps)).read(0.0)
    assert (sample.package_temp_c, sample.package_temp_high_c) == (61.0, 85.0)
    assert sample.package_temp_critical_c == 105.0


def test_physical_id_label() -> None:
    temps, _ = collect_temps({"coretemp": [shwtemp("Physical id 0", 44.0, 90.0, 90.0)]})
    chosen = choose_package_sensor(temps)
    assert chosen is not None and chosen.label == "Physical id 0"


@pytest.mark.parametrize(
    ("temps", "expected"),
    [
        (
            {
                "k10temp": [
                    shwtemp("Tctl", 71.0, None, None),
                    shwtemp("Tdie", 61.0, None, None),
                    shwtemp("Tccd1", 58.0, None, None),
                ]
            },
            ("k10temp", "Tdie", 61.0),
        ),
        (
            {"k10temp": [shwtemp("Tctl", 71.0, None, None), shwtemp("Tccd1", 75.0, None, None)]},
            ("k10temp", "Tctl", 71.0),
        ),
        ({"zenpower": [shwtemp("Tdie", 66.0, None, None)]}, ("zenpower", "Tdie", 66.0)),
        ({"k10temp": [shwtemp("", 45.0, 70.0, 70.0)]}, ("k10temp", "", 45.0)),
        (
            {
                "acpitz": [shwtemp("", 30.0, 95.0, 95.0)],
                "x86_pkg_temp": [shwtemp("", 52.0, None, None)],
            },
            ("x86_pkg_temp", "", 52.0),
        ),
        ({"cpu_thermal": [shwtemp("", 48.3, None, 85.0)]}, ("cpu_thermal", "", 48.3)),
        ({"soc-thermal": [shwtemp("", 41.0, None, None)]}, ("soc-thermal", "", 41.0)),
        (
            {
                "acpitz": [shwtemp("", 30.0, 95.0, 95.0)],
                "nvme": [shwtemp("Composite", 40.0, None, None)],
            },
            ("acpitz", "", 30.0),
        ),
        (
            {
                "coretemp": [
                    shwtemp("Core 0", 47.0, 90.0, 100.0),
                    shwtemp("Core 1", 49.0, 90.0, 100.0),
                ],
                "acpitz": [shwtemp("", 60.0, None, None)],
            },
            ("coretemp", "Core 1", 49.0),
        ),
    ],
    ids=[
        "amd-tdie",
        "amd-tctl",
        "zenpower",
        "k10temp-unlabelled",
        "x86_pkg_temp",
        "cpu_thermal",
        "soc-thermal",
        "acpitz-last-resort",
        "coretemp-cores-only",
    ],
)
def test_package_sensor_choice(
    tmp_path: Path, temps: dict[str, list[Any]], expected: tuple[str, str, float]
) -> None:
    sensors, _ = collect_temps(temps)
    chosen = choose_package_sensor(sensors)
    assert chosen is not None
    assert (chosen.group, chosen.label, chosen.current_c) == expected
    sample = reader_for(tmp_path, fake_psutil(temps=temps)).read(0.0)
    assert sample.package_temp_c == expected[2]
    assert_reasons_complete(sample)


def test_no_cpu_sensor_among_others(tmp_path: Path) -> None:
    temps = {
        "nvme": [shwtemp("Composite", 40.0, None, None)],
        "amdgpu": [shwtemp("edge", 50.0, None, None)],
    }
    sample = reader_for(tmp_path, fake_psutil(temps=temps)).read(0.0)
    assert sample.package_temp_c is None
    assert sample.reason("package_temp_c") == "no CPU temperature sensor among: amdgpu, nvme"
    assert len(sample.temps) == 2
    assert_reasons_complete(sample)


def test_bogus_readings_are_discarded(tmp_path: Path) -> None:
    temps = {
        "coretemp": [
            shwtemp("Package id 0", 0.0, 80.0, 100.0),
            shwtemp("Core 0", 1.0, 80.0, 100.0),
            shwtemp("Core 1", 127.0, 80.0, 100.0),
            shwtemp("Core 2", 48.0, 80.0, 100.0),
            shwtemp("Core 3", float("nan"), 80.0, 100.0),
            shwtemp("Core 4", None, 80.0, 100.0),
        ],
        "acpitz": [shwtemp("", -273.0, None, None)],
    }
    sensors, discarded = collect_temps(temps)
    assert [t.label for t in sensors] == ["Core 2"]
    assert discarded == 6
    sample = reader_for(tmp_path, fake_psutil(temps=temps)).read(0.0)
    assert sample.package_temp_c == 48.0
    assert [t.current_c for t in sample.temps] == [48.0]


def test_all_bogus(tmp_path: Path) -> None:
    temps = {
        "coretemp": [shwtemp("Package id 0", 0.0, 80.0, 100.0)],
        "acpitz": [shwtemp("", 130.0, None, None)],
    }
    sample = reader_for(tmp_path, fake_psutil(temps=temps)).read(0.0)
    assert sample.package_temp_c is None
    assert sample.temps == ()
    reason = sample.reason("package_temp_c")
    assert reason is not None and "bogus" in reason and "2" in reason


def test_missing_thresholds_have_reasons(tmp_path: Path) -> None:
    temps = {"k10temp": [shwtemp("Tctl", 65.0, None, None)]}
    sample = reader_for(tmp_path, fake_psutil(temps=temps)).read(0.0)
    assert sample.package_temp_c == 65.0
    assert sample.reason("package_temp_high_c") == "k10temp Tctl has no high threshold"
    assert sample.reason("package_temp_critical_c") == "k10temp Tctl has no critical threshold"
    assert sample.reason("package_temp_c") is None


# -- psutil failures ---------------------------------------------------------------------------


def test_functions_missing_on_this_os(tmp_path: Path) -> None:
    ps = fake_psutil(omit=("sensors_temperatures", "sensors_fans", "cpu_freq"))
    sample = reader_for(tmp_path, ps).read(0.0)
    for name in ("package_temp_c", "fans", "temps", "freq_mhz", "freq_max_mhz"):
        assert sample.reason(name) == NOT_ON_OS, name
    assert sample.load_pct == 40.0
    assert [c.freq_mhz for c in sample.cores] == [None] * 4
    assert_reasons_complete(sample)


def test_real_psutil_with_function_deleted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(psutil, "sensors_temperatures")
    monkeypatch.delattr(psutil, "sensors_fans")
    reader = CpuReader(psutil_module=psutil, root=SysfsRoot(tmp_path))
    sample = reader.read(0.0)
    assert sample.reason("package_temp_c") == NOT_ON_OS
    assert sample.reason("fans") == NOT_ON_OS
    assert status(reader.probe(), "CPU temperature").reason == NOT_ON_OS


def test_empty_results(tmp_path: Path) -> None:
    sample = reader_for(tmp_path, fake_psutil(temps={}, fans={})).read(0.0)
    assert sample.package_temp_c is None
    assert sample.reason("package_temp_c") == NO_TEMPS
    assert sample.reason("package_temp_c") == (
        "no temperature sensors exposed (no hwmon; typical in VMs and containers)"
    )
    assert sample.reason("fans") == NO_FANS
    assert_reasons_complete(sample)


def test_none_results(tmp_path: Path) -> None:
    ps = fake_psutil(loads=())
    ps.sensors_temperatures = lambda: None
    ps.sensors_fans = lambda: None
    ps.cpu_freq = lambda percpu=False: None
    ps.virtual_memory = lambda: None
    sample = reader_for(tmp_path, ps).read(0.0)
    assert sample.reason("package_temp_c") == NO_TEMPS
    assert sample.reason("fans") == NO_FANS
    assert sample.freq_mhz is None and sample.reason("freq_mhz") is not None
    assert sample.load_pct is None and sample.reason("load_pct") is not None
    assert sample.cores == () and sample.reason("cores") is not None
    assert sample.memory_total_bytes is None
    assert_reasons_complete(sample)


def test_oserror_in_one_call_spares_the_others(tmp_path: Path) -> None:
    ps = fake_psutil(
        temps=INTEL,
        raises={
            "sensors_fans": OSError(5, "Input/output error"),
            "cpu_freq": RuntimeError("couldn't find /proc/cpuinfo"),
        },
    )
    sample = reader_for(tmp_path, ps).read(0.0)
    assert sample.package_temp_c == 55.0
    assert sample.load_pct == 40.0
    fans_reason = sample.reason("fans")
    assert fans_reason is not None and "OSError" in fans_reason and "Input/output" in fans_reason
    freq_reason = sample.reason("freq_mhz")
    assert freq_reason is not None and "RuntimeError" in freq_reason
    assert_reasons_complete(sample)


def test_every_call_raising_never_raises(tmp_path: Path) -> None:
    boom = {
        name: PermissionError(13, "denied")
        for name in (
            "sensors_temperatures",
            "sensors_fans",
            "cpu_percent",
            "cpu_freq",
            "virtual_memory",
        )
    }
    sample = reader_for(tmp_path, fake_psutil(raises=boom)).read(0.0)
    assert sample.package_temp_c is None and sample.load_pct is None
    assert sample.memory_used_bytes is None
    assert_reasons_complete(sample)


def test_garbage_shapes_never_raise(tmp_path: Path) -> None:
    ps = fake_psutil(
        temps=["not", "a", "dict"],
        fans={"it87": ["no attributes"]},
        loads=("x", None, 20.0),
        freqs=[object()],
        memory=object(),
    )
    sample = reader_for(tmp_path, ps).read(0.0)
    assert sample.load_pct == 20.0
    assert [c.load_pct for c in sample.cores] == [None, None, 20.0]
    assert sample.fans == ()
    assert_reasons_complete(sample)


def test_unexpected_exception_inside_a_family(tmp_path: Path) -> None:
    temps = {"coretemp": 42}  # entries not iterable: a TypeError while processing
    sample = reader_for(tmp_path, fake_psutil(temps=temps)).read(0.0)
    reason = sample.reason("package_temp_c")
    assert reason is not None and reason.startswith("error reading temperatures: TypeError")
    assert sample.load_pct == 40.0


# -- load, frequency, memory, fans -------------------------------------------------------------


def test_load_frequency_and_cores(tmp_path: Path) -> None:
    freqs = [
        scpufreq(c, 800.0, m)
        for c, m in ((1000.0, 5400.0), (2000.0, 5400.0), (3000.0, 4300.0), (4000.0, 4300.0))
    ]
    sample = reader_for(tmp_path, fake_psutil(freqs=freqs)).read(0.0)
    assert sample.load_pct == 40.0
    assert sample.freq_mhz == 2500.0
    assert sample.freq_max_mhz == 5400.0
    assert sample.cores == (
        CoreReading(0, 10.0, 1000.0),
        CoreReading(1, 30.0, 2000.0),
        CoreReading(2, 50.0, 3000.0),
        CoreReading(3, 70.0, 4000.0),
    )


def test_vm_frequency_max_zero(tmp_path: Path) -> None:
    freqs = [scpufreq(2100.0, 0.0, 0.0)] * 4
    sample = reader_for(tmp_path, fake_psutil(freqs=freqs)).read(0.0)
    assert sample.freq_mhz == 2100.0
    assert sample.freq_max_mhz is None
    reason = sample.reason("freq_max_mhz")
    assert reason is not None and "VM" in reason
    assert_reasons_complete(sample)


def test_per_cpu_frequency_empty_falls_back_to_whole_cpu(tmp_path: Path) -> None:
    ps = fake_psutil(freqs=[], freq=scpufreq(1800.0, 0.0, 3600.0))
    sample = reader_for(tmp_path, ps).read(0.0)
    assert (sample.freq_mhz, sample.freq_max_mhz) == (1800.0, 3600.0)
    assert [c.freq_mhz for c in sample.cores] == [None] * 4


def test_policy_count_differs_from_cpu_count(tmp_path: Path) -> None:
    freqs = [scpufreq(3000.0, 800.0, 4000.0), scpufreq(1000.0, 800.0, 4000.0)]
    sample = reader_for(tmp_path, fake_psutil(freqs=freqs)).read(0.0)
    assert sample.freq_mhz == 2000.0
    assert len(sample.cores) == 4
    assert all(c.freq_mhz is None for c in sample.cores)


def test_memory(tmp_path: Path) -> None:
    sample = reader_for(tmp_path, fake_psutil()).read(0.0)
    assert sample.memory_total_bytes == 32 * GIB
    assert sample.memory_used_bytes == 12 * GIB


def test_fans(tmp_path: Path) -> None:
    fans = {"thinkpad": [sfan("", 2650)], "nct6798": [sfan("CPU Fan", 1200), sfan("SYS Fan", 0)]}
    sample = reader_for(tmp_path, fake_psutil(fans=fans)).read(0.0)
    assert sample.fans == (
        FanReading("thinkpad", "", 2650.0),
        FanReading("nct6798", "CPU Fan", 1200.0),
        FanReading("nct6798", "SYS Fan", 0.0),
    )
    assert sample.reason("fans") is None


# -- RAPL and battery through the reader ------------------------------------------------------


def test_rapl_through_the_reader(tmp_path: Path) -> None:
    pkg = mkzone(tmp_path, "intel-rapl:0", "package-0", 1_000_000)
    dram = mkzone(tmp_path, "intel-rapl:0:2", "dram", 0)
    psys = mkzone(tmp_path, "intel-rapl:1", "psys", 0)
    reader = reader_for(tmp_path, fake_psutil())
    first = reader.read(10.0)
    assert first.package_energy_j == 0.0
    assert first.package_power_w is None
    reason = first.reason("package_power_w")
    assert reason is not None and "two readings" in reason
    set_energy(pkg, 31_000_000)
    set_energy(dram, 4_000_000)
    set_energy(psys, 90_000_000)
    second = reader.read(12.0)
    assert second.package_power_w == pytest.approx(15.0)
    assert second.package_energy_j == pytest.approx(30.0)
    assert {z.name: z.power_w for z in second.zones} == {
        "package-0": pytest.approx(15.0),
        "dram": pytest.approx(2.0),
        "psys": pytest.approx(45.0),
    }
    assert_reasons_complete(second)


def test_no_rapl_reason(tmp_path: Path) -> None:
    sample = reader_for(tmp_path, fake_psutil()).read(0.0)
    assert sample.reason("package_power_w") == NO_POWERCAP.reason
    assert sample.reason("package_energy_j") == NO_POWERCAP.reason
    assert sample.zones == ()


def test_only_psys_zone(tmp_path: Path) -> None:
    mkzone(tmp_path, "intel-rapl:0", "psys", 0)
    sample = reader_for(tmp_path, fake_psutil()).read(0.0)
    assert sample.package_power_w is None
    assert sample.reason("package_power_w") == "no RAPL package zone (zones: psys)"
    assert [z.name for z in sample.zones] == ["psys"]


def _root_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CpuReader:
    mkzone(tmp_path, "intel-rapl:0", "package-0", 0)
    rapl = RaplReader(SysfsRoot(tmp_path))

    def deny(zone: RaplZone) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(rapl, "read_energy_uj", deny)
    return CpuReader(psutil_module=fake_psutil(), root=SysfsRoot(tmp_path), rapl=rapl)


def test_rapl_root_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reader = _root_only(tmp_path, monkeypatch)
    sample = reader.read(0.0)
    assert sample.package_power_w is None
    assert sample.reason("package_power_w") == str(ROOT_ONLY)
    package = status(reader.probe(), "CPU package power (RAPL)")
    assert package == SensorStatus(
        "CPU package power (RAPL)",
        False,
        reason="RAPL energy_uj is root-only since CVE-2020-8694",
        hint="run as root, or add a udev rule: see README 'RAPL permissions'",
        source="powercap",
    )


def test_battery_discharging(tmp_path: Path) -> None:
    mkbattery(tmp_path, power_now_uw=18_200_000, capacity=64)
    sample = reader_for(tmp_path, fake_psutil()).read(0.0)
    assert sample.battery_power_w == pytest.approx(18.2)
    assert sample.battery_discharging is True
    assert sample.battery_percent == 64.0
    assert_reasons_complete(sample)


def test_battery_charging_is_not_system_power(tmp_path: Path) -> None:
    mkbattery(tmp_path, status="Charging", power_now_uw=30_000_000, capacity=50)
    reader = reader_for(tmp_path, fake_psutil())
    sample = reader.read(0.0)
    assert sample.battery_power_w is None
    assert sample.battery_discharging is False
    reason = sample.reason("battery_power_w")
    assert reason is not None and reason.startswith("on AC power")
    assert status(reader.probe(), "Battery power").reason == reason


def test_no_battery(tmp_path: Path) -> None:
    sample = reader_for(tmp_path, fake_psutil()).read(0.0)
    for name in ("battery_power_w", "battery_discharging", "battery_percent"):
        assert sample.reason(name) == "no battery"


def test_battery_and_rapl_discovery_are_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.telemetry.battery as battery_module
    import core.telemetry.cpu as cpu_module
    import core.telemetry.rapl as rapl_module

    calls = {"find": 0, "discover": 0}
    real_find, real_discover = battery_module.find_battery, rapl_module.discover_zones

    def find(root: SysfsRoot) -> Any:
        calls["find"] += 1
        return real_find(root)

    def discover(root: SysfsRoot) -> Any:
        calls["discover"] += 1
        return real_discover(root)

    monkeypatch.setattr(cpu_module, "find_battery", find)
    monkeypatch.setattr(rapl_module, "discover_zones", discover)
    reader = reader_for(tmp_path, fake_psutil())
    for tick in range(5):
        reader.read(float(tick))
    reader.probe()
    assert calls == {"find": 1, "discover": 1}


# -- probe ---------------------------------------------------------------------------------


PROBE_NAMES = [
    "CPU temperature",
    "Per-core temperature",
    "CPU frequency",
    "CPU package power (RAPL)",
    "DRAM power (RAPL)",
    "Fans",
    "Battery power",
]


def test_probe_on_a_bare_vm(tmp_path: Path) -> None:
    ps = fake_psutil(temps={}, fans={}, freqs=[scpufreq(2100.0, 0.0, 0.0)] * 4)
    statuses = reader_for(tmp_path, ps).probe()
    assert [s.name for s in statuses] == PROBE_NAMES
    by = {s.name: s for s in statuses}
    assert by["CPU temperature"].reason == NO_TEMPS
    assert by["Per-core temperature"].reason == NO_TEMPS
    assert by["CPU frequency"].available is True and by["CPU frequency"].reason is None
    assert by["CPU package power (RAPL)"].reason == NO_POWERCAP.reason
    assert by["DRAM power (RAPL)"].reason == NO_POWERCAP.reason
    assert by["Fans"].reason == NO_FANS
    assert by["Battery power"].reason == "no battery"
    assert all(not s.available for n, s in by.items() if n != "CPU frequency")


def test_probe_on_a_laptop(tmp_path: Path) -> None:
    mkzone(tmp_path, "intel-rapl:0", "package-0", 5)
    mkzone(tmp_path, "intel-rapl:1", "psys", 5)
    mkbattery(tmp_path, power_now_uw=9_000_000)
    ps = fake_psutil(temps=INTEL, fans={"thinkpad": [sfan("", 2000)]})
    by = {s.name: s for s in reader_for(tmp_path, ps).probe()}
    assert by["CPU temperature"] == SensorStatus(
        "CPU temperature", True, source="psutil (coretemp Package id 0)"
    )
    assert by["Per-core temperature"].available
    assert by["CPU package power (RAPL)"] == SensorStatus(
        "CPU package power (RAPL)", True, source="powercap (package-0)"
    )
    assert by["DRAM power (RAPL)"] == SensorStatus(
        "DRAM power (RAPL)",
        False,
        reason="no RAPL dram zone (zones: package-0, psys)",
        source="powercap",
    )
    assert by["Fans"].available and by["Battery power"].available


def test_per_core_unavailable_with_package_only(tmp_path: Path) -> None:
    temps = {"k10temp": [shwtemp("Tctl", 60.0, None, None)]}
    by = {s.name: s for s in reader_for(tmp_path, fake_psutil(temps=temps)).probe()}
    assert by["CPU temperature"].available
    assert not by["Per-core temperature"].available
    assert "per-core" in (by["Per-core temperature"].reason or "")


SCENARIOS: dict[str, Callable[[Path], Any]] = {
    "vm": lambda root: fake_psutil(temps={}, fans={}),
    "intel-laptop": lambda root: (
        mkzone(root, "intel-rapl:0", "package-0", 1),
        mkzone(root, "intel-rapl:0:0", "dram", 1),
        mkbattery(root, power_now_uw=5_000_000),
        fake_psutil(temps=INTEL, fans={"thinkpad": [sfan("", 2100)]}),
    )[-1],
    "amd-charging": lambda root: (
        mkzone(root, "intel-rapl:0", "package-0", 1),
        mkbattery(root, status="Charging", power_now_uw=5_000_000),
        fake_psutil(temps={"k10temp": [shwtemp("Tctl", 60.0, None, None)]}),
    )[-1],
    "macos": lambda root: fake_psutil(omit=("sensors_temperatures", "sensors_fans")),
    "broken": lambda root: fake_psutil(
        raises={"sensors_temperatures": OSError("x"), "cpu_freq": OSError("y")}
    ),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_probe_agrees_with_read(tmp_path: Path, scenario: str) -> None:
    ps = SCENARIOS[scenario](tmp_path)
    reader = reader_for(tmp_path, ps)
    by = {s.name: s for s in reader.probe()}
    reader.read(0.0)
    sample = reader.read(1.0)  # second tick: RAPL power has two readings
    assert_reasons_complete(sample)
    pairs = {
        "CPU temperature": "package_temp_c",
        "CPU frequency": "freq_mhz",
        "CPU package power (RAPL)": "package_power_w",
        "Fans": "fans",
        "Battery power": "battery_power_w",
    }
    for title, field_name in pairs.items():
        value = getattr(sample, field_name)
        present = value is not None and value != ()
        assert by[title].available == present, (title, by[title], value)
        if not present:
            assert by[title].reason == sample.reason(field_name), title
    dram_present = any(z.name.startswith("dram") for z in sample.zones)
    assert by["DRAM power (RAPL)"].available == dram_present


# -- the helpers and the real machine ---------------------------------------------------------


def test_mkhwmon_writes_the_hwmon_layout(tmp_path: Path) -> None:
    path = mkhwmon(
        tmp_path,
        "hwmon3",
        name="coretemp",
        temps={1: ("Package id 0", 45000, 100000, 100000), 2: ("", 41000, None, None)},
        fans={1: ("", 1200)},
    )
    assert path == tmp_path / "sys/class/hwmon/hwmon3"
    root = SysfsRoot(tmp_path)
    assert root.read_text("sys/class/hwmon/hwmon3/name") == "coretemp"
    assert root.read_text("/sys/class/hwmon/hwmon3/temp1_label") == "Package id 0"
    assert root.read_int("sys/class/hwmon/hwmon3/temp1_input") == 45000
    assert root.read_int("sys/class/hwmon/hwmon3/temp1_crit") == 100000
    assert not root.exists("sys/class/hwmon/hwmon3/temp2_label")
    assert root.read_int("sys/class/hwmon/hwmon3/fan1_input") == 1200
    assert [p.name for p in root.glob("sys/class/hwmon/hwmon3/temp*_input")] == [
        "temp1_input",
        "temp2_input",
    ]


def test_sysfs_root_paths(tmp_path: Path) -> None:
    root = SysfsRoot(tmp_path)
    assert root.path("/sys/x") == root.path("sys/x") == tmp_path / "sys/x"
    inside = tmp_path / "sys/y"
    assert root.path(inside) == inside
    assert SysfsRoot().path("sys") == Path("/sys")
    with pytest.raises(FileNotFoundError):
        root.read_text("sys/missing")
    (tmp_path / "n").write_text("abc\n")
    with pytest.raises(ValueError):
        root.read_int("n")


def test_real_machine_never_raises_and_explains() -> None:
    sample = CpuReader().read(0.0)
    assert isinstance(sample, CpuSample)
    assert_reasons_complete(sample)
    assert sample.memory_total_bytes is not None and sample.memory_total_bytes > 0
    assert sample.load_pct is not None or sample.reason("load_pct")
    if not Path("/sys/class/powercap").exists():
        assert sample.reason("package_power_w") == NO_POWERCAP.reason
    if not Path("/sys/class/hwmon").exists() and not sample.temps:
        assert sample.reason("package_temp_c") == NO_TEMPS
    probe = CpuReader().probe()
    assert [s.name for s in probe] == PROBE_NAMES
    assert all(s.available or s.reason for s in probe)


def test_absent_sensors_are_rechecked_only_every_30_s(tmp_path: Path) -> None:
    calls = {"temps": 0}
    found: dict[str, Any] = {}

    def sensors_temperatures() -> Any:
        calls["temps"] += 1
        return found

    ps = fake_psutil()
    ps.sensors_temperatures = sensors_temperatures
    reader = reader_for(tmp_path, ps)
    for t in range(10):
        reader.read(float(t))
    assert calls["temps"] == 1
    assert reader.read(9.0).reason("package_temp_c") == NO_TEMPS
    # A sensor appears (a driver was loaded): found at the next recheck, then read every tick.
    found["coretemp"] = [shwtemp("Package id 0", 55.0, 90.0, 100.0)]
    assert reader.read(31.0).package_temp_c == 55.0
    assert reader.read(32.0).package_temp_c == 55.0
    assert calls["temps"] == 3
