"""RAPL powercap discovery, de-duplication, wrap/reset handling and permission faults."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.telemetry.base import Unavailable
from core.telemetry.rapl import (
    NO_POWERCAP,
    NO_ZONES,
    ROOT_ONLY,
    RaplReader,
    RaplZone,
    delta_uj,
    discover_zones,
    package_totals,
)
from core.telemetry.sample import PowerZone
from core.telemetry.sysfs import SysfsRoot
from tests.fakes.sysfs import mkzone, set_energy


def _client_laptop(root: Path, layout: str = "sysfs") -> dict[str, Path]:
    """package-0 with core/uncore/dram sub-zones (numbered oddly) plus psys at intel-rapl:1."""
    return {
        "package-0": mkzone(root, "intel-rapl:0", "package-0", 0, layout=layout),
        "core": mkzone(root, "intel-rapl:0:0", "core", 0, layout=layout),
        "dram": mkzone(root, "intel-rapl:0:1", "dram", 0, layout=layout),
        "uncore": mkzone(root, "intel-rapl:0:2", "uncore", 0, layout=layout),
        "psys": mkzone(root, "intel-rapl:1", "psys", 0, layout=layout),
    }


def _ok(zones: tuple[PowerZone, ...] | Unavailable) -> tuple[PowerZone, ...]:
    assert not isinstance(zones, Unavailable), zones
    return zones


def _by_label(zones: tuple[PowerZone, ...] | Unavailable) -> dict[str, PowerZone]:
    return {z.name: z for z in _ok(zones)}


# -- discovery ---------------------------------------------------------------------------


def test_no_powercap_directory(tmp_path: Path) -> None:
    reader = RaplReader(SysfsRoot(tmp_path))
    assert discover_zones(SysfsRoot(tmp_path)) == []
    problem = reader.probe()
    assert problem == NO_POWERCAP
    assert problem is not None
    assert problem.reason == "no RAPL powercap interface (typical in VMs and containers)"
    assert reader.read(0.0) == NO_POWERCAP


def test_powercap_directory_without_zones(tmp_path: Path) -> None:
    (tmp_path / "sys/class/powercap/intel-rapl").mkdir(parents=True)
    reader = RaplReader(SysfsRoot(tmp_path))
    assert reader.probe() == NO_ZONES
    assert reader.read(1.0) == NO_ZONES


@pytest.mark.parametrize("layout", ["sysfs", "nested", "flat"])
def test_discovery_matches_by_name_and_links_parents(tmp_path: Path, layout: str) -> None:
    _client_laptop(tmp_path, layout)
    zones = discover_zones(SysfsRoot(tmp_path))
    assert [z.label for z in zones] == ["package-0", "core", "dram", "psys", "uncore"]
    by_label = {z.label: z for z in zones}
    assert by_label["dram"].zone_id == "intel-rapl:0:1"
    assert by_label["dram"].parent == "package-0"
    assert by_label["psys"].parent is None
    assert by_label["package-0"].is_package and not by_label["psys"].is_package
    assert by_label["package-0"].max_energy_range_uj == 262_143_328_850
    assert not any(z.mmio for z in zones)


def test_index_is_not_meaning(tmp_path: Path) -> None:
    # psys at index 0 and the package at index 1: only the name says which is which.
    psys = mkzone(tmp_path, "intel-rapl:0", "psys", 1_000_000)
    pkg = mkzone(tmp_path, "intel-rapl:1", "package-0", 1_000_000)
    reader = RaplReader(SysfsRoot(tmp_path))
    reader.read(0.0)
    set_energy(psys, 51_000_000)  # +50 J
    set_energy(pkg, 11_000_000)  # +10 J
    zones = _ok(reader.read(2.0))
    assert package_totals(zones) == (5.0, 10.0)
    assert _by_label(zones)["psys"].power_w == 25.0


def test_msr_and_mmio_copies_are_deduplicated_preferring_mmio(tmp_path: Path) -> None:
    mkzone(tmp_path, "intel-rapl:0", "package-0", 5)
    mkzone(tmp_path, "intel-rapl:0:0", "core", 5)
    mkzone(tmp_path, "intel-rapl:1", "psys", 5)
    mmio = mkzone(tmp_path, "intel-rapl-mmio:0", "package-0", 7)
    zones = discover_zones(SysfsRoot(tmp_path))
    assert [z.label for z in zones] == ["package-0", "core", "psys"]
    package = zones[0]
    assert package.mmio is True
    assert package.zone_id == "intel-rapl-mmio:0"
    assert package.path.resolve() == mmio.resolve()
    # The MSR sub-zone keeps its parent's name even though the MSR package copy was dropped.
    assert zones[1].parent == "package-0"


def test_two_sockets_label_subzones_by_socket(tmp_path: Path) -> None:
    p0 = mkzone(tmp_path, "intel-rapl:0", "package-0", 0)
    d0 = mkzone(tmp_path, "intel-rapl:0:0", "dram", 0)
    p1 = mkzone(tmp_path, "intel-rapl:1", "package-1", 0)
    d1 = mkzone(tmp_path, "intel-rapl:1:0", "dram", 0)
    reader = RaplReader(SysfsRoot(tmp_path))
    assert [z.label for z in reader.zones] == ["package-0", "package-1", "dram-0", "dram-1"]
    reader.read(10.0)
    set_energy(p0, 100_000_000)
    set_energy(p1, 300_000_000)
    set_energy(d0, 7_000_000)
    set_energy(d1, 9_000_000)
    zones = _ok(reader.read(12.0))
    by = _by_label(zones)
    assert by["dram-0"].power_w == pytest.approx(3.5)
    assert by["dram-1"].energy_j == pytest.approx(9.0)
    assert package_totals(zones) == pytest.approx((200.0, 400.0))


def test_multi_die_package_names(tmp_path: Path) -> None:
    mkzone(tmp_path, "intel-rapl:0", "package-0-die-0", 0)
    mkzone(tmp_path, "intel-rapl:1", "package-0-die-1", 0)
    labels = [z.label for z in discover_zones(SysfsRoot(tmp_path))]
    assert labels == ["package-0-die-0", "package-0-die-1"]


def test_zone_without_energy_file_or_range(tmp_path: Path) -> None:
    mkzone(tmp_path, "intel-rapl:0", "package-0", 0, max_energy_range_uj=None)
    mkzone(tmp_path, "intel-rapl:1", "psys", energy_uj=None)  # power_uw-only zone: skipped
    zones = discover_zones(SysfsRoot(tmp_path))
    assert [(z.label, z.max_energy_range_uj) for z in zones] == [("package-0", None)]


def test_discovery_happens_once(tmp_path: Path) -> None:
    mkzone(tmp_path, "intel-rapl:0", "package-0", 0)
    reader = RaplReader(SysfsRoot(tmp_path))
    first = reader.zones
    mkzone(tmp_path, "intel-rapl:1", "package-1", 0)
    reader.read(0.0)
    assert reader.zones is first
    assert [z.label for z in reader.zones] == ["package-0"]


# -- counters ------------------------------------------------------------------------------


def test_sub_zones_and_psys_are_never_added_to_the_package(tmp_path: Path) -> None:
    zones = _client_laptop(tmp_path)
    reader = RaplReader(SysfsRoot(tmp_path))
    first = _ok(reader.read(100.0))
    assert all(z.power_w is None and z.energy_j == 0.0 for z in _by_label(first).values())
    assert package_totals(first) == (None, 0.0)
    for label, joules in {"package-0": 10, "core": 6, "uncore": 1, "dram": 2, "psys": 20}.items():
        set_energy(zones[label], joules * 1_000_000)
    second = _ok(reader.read(102.0))
    by = _by_label(second)
    assert by["package-0"].power_w == pytest.approx(5.0)
    assert by["psys"].power_w == pytest.approx(10.0)
    assert by["core"].energy_j == pytest.approx(6.0)
    assert package_totals(second) == pytest.approx((5.0, 10.0))


def test_delta_uj() -> None:
    assert delta_uj(100, 250, 1000) == 150
    assert delta_uj(900, 100, 1000) == 200
    assert delta_uj(5, 5, None) == 0
    with pytest.raises(ValueError, match="backwards"):
        delta_uj(900, 100, None)
    with pytest.raises(ValueError):
        delta_uj(900, 100, 0)


@given(
    max_range=st.integers(min_value=1, max_value=2**40),
    prev_frac=st.floats(min_value=0, max_value=1),
    step_frac=st.floats(min_value=0, max_value=0.999),
)
def test_delta_uj_recovers_any_single_wrap(
    max_range: int, prev_frac: float, step_frac: float
) -> None:
    prev = min(max_range - 1, int(prev_frac * max_range))
    step = int(step_frac * max_range)
    cur = (prev + step) % max_range
    assert delta_uj(prev, cur, max_range) == step


def test_wrap_is_corrected_in_power_and_energy(tmp_path: Path) -> None:
    zone = mkzone(tmp_path, "intel-rapl:0", "package-0", 900_000, max_energy_range_uj=1_000_000)
    reader = RaplReader(SysfsRoot(tmp_path))
    reader.read(0.0)
    set_energy(zone, 100_000)  # wrapped: 100 000 + 1 000 000 − 900 000 = 200 000 µJ
    after_wrap = _by_label(reader.read(0.5))["package-0"]
    assert after_wrap.power_w == pytest.approx(0.4)
    assert after_wrap.energy_j == pytest.approx(0.2)
    set_energy(zone, 400_000)
    later = _by_label(reader.read(1.5))["package-0"]
    assert later.power_w == pytest.approx(0.3)
    assert later.energy_j == pytest.approx(0.5)


def test_backwards_counter_without_range_is_a_reset(tmp_path: Path) -> None:
    zone = mkzone(tmp_path, "intel-rapl:0", "package-0", 5_000_000, max_energy_range_uj=None)
    reader = RaplReader(SysfsRoot(tmp_path))
    reader.read(0.0)
    set_energy(zone, 8_000_000)
    assert _by_label(reader.read(1.0))["package-0"] == PowerZone("package-0", 3.0, 3.0)
    set_energy(zone, 1_000)  # driver reload: counter restarted
    reset = _by_label(reader.read(2.0))["package-0"]
    assert reset == PowerZone("package-0", None, 3.0)
    set_energy(zone, 2_001_000)
    assert _by_label(reader.read(3.0))["package-0"] == PowerZone("package-0", 2.0, 5.0)


def test_no_elapsed_time_gives_no_power_but_keeps_energy(tmp_path: Path) -> None:
    zone = mkzone(tmp_path, "intel-rapl:0", "package-0", 0)
    reader = RaplReader(SysfsRoot(tmp_path))
    reader.read(4.0)
    set_energy(zone, 1_000_000)
    assert _by_label(reader.read(4.0))["package-0"] == PowerZone("package-0", None, 1.0)


# -- permissions and read errors ----------------------------------------------------------


def _deny(zone: RaplZone) -> int:
    raise PermissionError(13, "Permission denied", str(zone.path / "energy_uj"))


def test_permission_error_at_probe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mkzone(tmp_path, "intel-rapl:0", "package-0", 0)
    reader = RaplReader(SysfsRoot(tmp_path))
    monkeypatch.setattr(reader, "read_energy_uj", _deny)
    problem = reader.probe()
    assert problem == ROOT_ONLY
    assert problem is not None
    assert problem.reason == "RAPL energy_uj is root-only since CVE-2020-8694"
    assert problem.hint == "run as root, or add a udev rule: see README 'RAPL permissions'"
    assert reader.read(0.0) == ROOT_ONLY


def test_permission_change_mid_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    zone = mkzone(tmp_path, "intel-rapl:0", "package-0", 0)
    reader = RaplReader(SysfsRoot(tmp_path))
    assert reader.probe() is None
    reader.read(0.0)
    set_energy(zone, 2_000_000)
    assert _by_label(reader.read(1.0))["package-0"].power_w == pytest.approx(2.0)
    with monkeypatch.context() as patch:
        patch.setattr(reader, "read_energy_uj", _deny)
        assert reader.read(2.0) == ROOT_ONLY
        assert reader.probe() == ROOT_ONLY
    # Access restored: the counter kept running, so the gap's energy is counted once.
    set_energy(zone, 8_000_000)
    back = _by_label(reader.read(3.0))["package-0"]
    assert back.power_w == pytest.approx(3.0)
    assert back.energy_j == pytest.approx(8.0)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads 0400 files anyway")
def test_permission_error_with_chmod(tmp_path: Path) -> None:
    zone = mkzone(tmp_path, "intel-rapl:0", "package-0", 0)
    (zone / "energy_uj").chmod(0o000)
    assert RaplReader(SysfsRoot(tmp_path)).probe() == ROOT_ONLY


def test_one_unreadable_zone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = mkzone(tmp_path, "intel-rapl:0", "package-0", 0)
    mkzone(tmp_path, "intel-rapl:0:0", "dram", 0)
    reader = RaplReader(SysfsRoot(tmp_path))
    reader.read(0.0)
    set_energy(pkg, 4_000_000)
    real = reader.read_energy_uj

    def flaky(zone: RaplZone) -> int:
        if zone.name == "dram":
            raise OSError(5, "Input/output error")
        return real(zone)

    monkeypatch.setattr(reader, "read_energy_uj", flaky)
    by = _by_label(reader.read(1.0))
    assert by["dram"] == PowerZone("dram", None, None)
    assert by["package-0"] == PowerZone("package-0", 4.0, 4.0)


def test_all_zones_unreadable_is_transient(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mkzone(tmp_path, "intel-rapl:0", "package-0", 0)
    reader = RaplReader(SysfsRoot(tmp_path))

    def broken(zone: RaplZone) -> int:
        raise ValueError("invalid literal for int() with base 10: ''")

    monkeypatch.setattr(reader, "read_energy_uj", broken)
    result = reader.read(0.0)
    assert isinstance(result, Unavailable)
    assert result.permanent is False
    assert "package-0" in result.reason
    probed = reader.probe()
    assert probed is not None and "package-0" in probed.reason


def test_garbage_counter_file(tmp_path: Path) -> None:
    zone = mkzone(tmp_path, "intel-rapl:0", "package-0", 0)
    (zone / "energy_uj").write_text("not a number\n")
    result = RaplReader(SysfsRoot(tmp_path)).read(0.0)
    assert isinstance(result, Unavailable)


def test_package_totals() -> None:
    assert package_totals(()) == (None, None)
    assert package_totals((PowerZone("psys", 30.0, 3.0), PowerZone("dram", 2.0, 1.0))) == (
        None,
        None,
    )
    zones = (
        PowerZone("package-0", 10.0, 100.0),
        PowerZone("package-1", None, 50.0),
        PowerZone("core", 5.0, 1.0),
    )
    assert package_totals(zones) == (None, 150.0)
    two = (PowerZone("package-0", 10.0, 100.0), PowerZone("package-1", 12.5, 50.0))
    assert package_totals(two) == (22.5, 150.0)
