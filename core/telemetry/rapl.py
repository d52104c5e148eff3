"""CPU energy from Linux powercap RAPL (``/sys/class/powercap/intel-rapl*``).

Zones are matched by their ``name`` file (``package-0``, ``core``, ``uncore``, ``dram``,
``psys``), never by index: sub-zone numbering differs between machines. The same domain can be
exposed twice, by the MSR driver (``intel-rapl:N``) and the MMIO driver (``intel-rapl-mmio:N``);
such copies are de-duplicated, keeping the MMIO one (as codecarbon does). Packages are never
summed with their sub-zones or with ``psys``: :func:`package_totals` adds ``package-*`` zones only.

``energy_uj`` counters are monotonic until they wrap at ``max_energy_range_uj``; AMD counters
wrap within minutes at full load, so poll at least every ~30 s. Since CVE-2020-8694 (kernel
5.10, backported to 5.4.77) ``energy_uj`` is readable by root only; :meth:`RaplReader.probe`
says so instead of failing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.telemetry.base import Unavailable
from core.telemetry.sample import PowerZone
from core.telemetry.sysfs import SysfsRoot

POWERCAP_DIR = "sys/class/powercap"
"""The powercap class directory, relative to the sysfs root."""

NO_POWERCAP = Unavailable("no RAPL powercap interface (typical in VMs and containers)")
"""No ``/sys/class/powercap`` at all."""

NO_ZONES = Unavailable("no RAPL energy zones under /sys/class/powercap")
"""A powercap directory without any readable ``intel-rapl`` zone."""

ROOT_ONLY = Unavailable(
    "RAPL energy_uj is root-only since CVE-2020-8694",
    hint="run as root, or add a udev rule: see README 'RAPL permissions'",
)
"""``energy_uj`` exists but this user may not read it."""

# Directory names: intel-rapl:0, intel-rapl:0:1, intel-rapl-mmio:0.
_ZONE_DIR = re.compile(r"^(intel-rapl(?:-mmio)?):(\d+)(?::(\d+))?$")
# Where zones are found: flat symlinks in the class directory (the real layout), zones nested
# below their parent or below a control-type directory (intel-rapl/, as bind mounts and
# codecarbon-style fake trees have them). The same zone found twice is kept once (by id).
_ZONE_GLOBS = (
    "intel-rapl*:*",
    "intel-rapl*:*/intel-rapl*:*",
    "intel-rapl*/intel-rapl*:*",
    "intel-rapl*/intel-rapl*:*/intel-rapl*:*",
)
_SOCKET = re.compile(r"^package-(\d+)")


@dataclass(frozen=True)
class RaplZone:
    """One de-duplicated powercap zone.

    Attributes:
        zone_id: Directory name, e.g. ``"intel-rapl:0:2"`` or ``"intel-rapl-mmio:0"``.
        path: The zone directory (below the sysfs root).
        name: Contents of its ``name`` file, e.g. ``"package-0"``, ``"dram"``, ``"psys"``.
        label: Unique display name: ``name``, suffixed with the socket where several zones
            share a name (two ``dram`` sub-zones become ``dram-0`` and ``dram-1``).
        parent: ``name`` of the parent zone for a sub-zone, else None.
        mmio: True for the ``intel-rapl-mmio`` driver's copy.
        max_energy_range_uj: Where ``energy_uj`` wraps, if the zone says.
    """

    zone_id: str
    path: Path
    name: str
    label: str
    parent: str | None
    mmio: bool
    max_energy_range_uj: int | None

    @property
    def is_package(self) -> bool:
        """True for ``package-N`` (and ``package-N-die-D``) zones."""
        return self.name.startswith("package")


def delta_uj(prev: int, cur: int, max_range: int | None) -> int:
    """Energy between two readings of a counter that wraps at ``max_range``.

    Args:
        prev: The earlier reading, µJ.
        cur: The later reading, µJ.
        max_range: The zone's ``max_energy_range_uj``, or None if unknown.

    Returns:
        The energy in µJ, assuming at most one wrap in between.

    Raises:
        ValueError: The counter went backwards and the range is unknown (a reset).
    """
    if cur >= prev:
        return cur - prev
    if max_range:
        return cur + max_range - prev
    raise ValueError("counter went backwards and range unknown")


@dataclass(frozen=True)
class _Found:
    zone_id: str
    path: Path
    name: str
    mmio: bool
    top: int
    sub: int | None
    max_energy_range_uj: int | None


def _read_zone(root: SysfsRoot, path: Path) -> _Found | None:
    match = _ZONE_DIR.match(path.name)
    if match is None or not path.is_dir() or not root.exists(path / "energy_uj"):
        return None
    try:
        name = root.read_text(path / "name")
    except (OSError, ValueError):
        return None
    if not name:
        return None
    try:
        max_range: int | None = root.read_int(path / "max_energy_range_uj")
    except (OSError, ValueError):
        max_range = None
    return _Found(
        zone_id=path.name,
        path=path,
        name=name,
        mmio=match.group(1).endswith("mmio"),
        top=int(match.group(2)),
        sub=int(match.group(3)) if match.group(3) is not None else None,
        max_energy_range_uj=max_range if max_range and max_range > 0 else None,
    )


def discover_zones(root: SysfsRoot) -> list[RaplZone]:
    """Find the RAPL zones under ``sys/class/powercap``, de-duplicated and labelled.

    A domain exposed by both the MSR and the MMIO driver (same ``name`` and same parent name) is
    kept once, as the MMIO copy. Zones without an ``energy_uj`` file or a readable ``name`` are
    skipped.

    Args:
        root: The sysfs root.

    Returns:
        Package zones first, then the others (``core``, ``uncore``, ``dram``, ``psys``), each
        group in name order. Empty when there is no powercap interface.
    """
    base = root.path(POWERCAP_DIR)
    if not base.is_dir():
        return []
    found: dict[str, _Found] = {}
    for pattern in _ZONE_GLOBS:
        for path in root.glob(f"{POWERCAP_DIR}/{pattern}"):
            if path.name in found:
                continue
            zone = _read_zone(root, path)
            if zone is not None:
                found[zone.zone_id] = zone

    def parent_name(zone: _Found) -> str | None:
        if zone.sub is None:
            return None
        prefix = "intel-rapl-mmio" if zone.mmio else "intel-rapl"
        parent = found.get(f"{prefix}:{zone.top}")
        return parent.name if parent is not None else f"zone-{zone.top}"

    # De-duplicate MSR vs MMIO copies of a domain, preferring MMIO.
    kept: dict[tuple[str, str | None], _Found] = {}
    for zone in sorted(
        found.values(), key=lambda z: (z.mmio, z.top, -1 if z.sub is None else z.sub)
    ):
        key = (zone.name, parent_name(zone))
        current = kept.get(key)
        if current is None or (zone.mmio and not current.mmio):
            kept[key] = zone

    counts: dict[str, int] = {}
    for zone in kept.values():
        counts[zone.name] = counts.get(zone.name, 0) + 1
    zones: list[RaplZone] = []
    for (name, parent), zone in kept.items():
        label = name
        if counts[name] > 1:
            socket = _SOCKET.match(parent or "")
            label = f"{name}-{socket.group(1) if socket else zone.top}"
        zones.append(
            RaplZone(
                zone_id=zone.zone_id,
                path=zone.path,
                name=name,
                label=label,
                parent=parent,
                mmio=zone.mmio,
                max_energy_range_uj=zone.max_energy_range_uj,
            )
        )
    zones.sort(key=lambda z: (not z.is_package, _natural_key(z.label)))
    return zones


def _natural_key(text: str) -> tuple[tuple[int, str], ...]:
    return tuple(
        (int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"(\d+)", text)
    )


@dataclass
class _Counter:
    prev_uj: int
    prev_s: float
    energy_j: float


class RaplReader:
    """Reads RAPL energy counters and turns them into power and accumulated energy.

    Zones are discovered once, on the first :meth:`probe` or :meth:`read`. Each read differences
    the counters against the previous read (wrap-safe) and adds the energy to a running total.

    Args:
        root: The sysfs root (default: the real ``/``).
    """

    def __init__(self, root: SysfsRoot | None = None) -> None:
        self.root = root if root is not None else SysfsRoot()
        self._zones: tuple[RaplZone, ...] | None = None
        self._no_zones: Unavailable | None = None
        self._counters: dict[str, _Counter] = {}

    @property
    def zones(self) -> tuple[RaplZone, ...]:
        """The de-duplicated zones (discovered on first use, then cached)."""
        if self._zones is None:
            self._zones = tuple(discover_zones(self.root))
        return self._zones

    def read_energy_uj(self, zone: RaplZone) -> int:
        """Read one zone's ``energy_uj`` counter: the only counter access (tests patch it).

        Args:
            zone: The zone.

        Returns:
            The counter in µJ.

        Raises:
            OSError: Unreadable (``PermissionError`` when not root since CVE-2020-8694).
            ValueError: Not an integer.
        """
        return self.root.read_int(zone.path / "energy_uj")

    def _missing(self) -> Unavailable | None:
        if self.zones:
            return None
        if self._no_zones is None:  # zones are discovered once, so is the reason they are not
            self._no_zones = NO_ZONES if self.root.exists(POWERCAP_DIR) else NO_POWERCAP
        return self._no_zones

    def probe(self) -> Unavailable | None:
        """Whether RAPL energy can be read here, reading each counter once.

        Returns:
            None when every zone's counter can be read, else why not (no powercap interface,
            root-only counters, or a read error).
        """
        missing = self._missing()
        if missing is not None:
            return missing
        for zone in self.zones:
            try:
                self.read_energy_uj(zone)
            except PermissionError:
                return ROOT_ONLY
            except (OSError, ValueError) as exc:
                return Unavailable(f"cannot read RAPL {zone.label} energy_uj: {exc}")
        return None

    def read(self, now_s: float) -> tuple[PowerZone, ...] | Unavailable:
        """Read every zone's counter once.

        Args:
            now_s: Monotonic time of this read, in seconds.

        Returns:
            One :class:`PowerZone` per zone: ``power_w`` is the average since the previous read
            (None on the first read, after a counter reset or if no time passed) and
            ``energy_j`` the wrap-corrected energy since the zone's first read (0.0 then). A
            zone whose counter could not be read this time has both None. Returns
            :class:`Unavailable` when RAPL is missing, root-only (also when permissions change
            mid-run) or no zone could be read.
        """
        missing = self._missing()
        if missing is not None:
            return missing
        out: list[PowerZone] = []
        errors: list[str] = []
        for zone in self.zones:
            try:
                cur_uj = self.read_energy_uj(zone)
            except PermissionError:
                return ROOT_ONLY
            except (OSError, ValueError) as exc:
                errors.append(f"{zone.label}: {exc}")
                out.append(PowerZone(name=zone.label, power_w=None, energy_j=None))
                continue
            out.append(self._update(zone, cur_uj, now_s))
        if errors and len(errors) == len(out):
            return Unavailable(
                "cannot read RAPL energy_uj (" + "; ".join(errors) + ")", permanent=False
            )
        return tuple(out)

    def _update(self, zone: RaplZone, cur_uj: int, now_s: float) -> PowerZone:
        counter = self._counters.get(zone.label)
        if counter is None:
            self._counters[zone.label] = _Counter(prev_uj=cur_uj, prev_s=now_s, energy_j=0.0)
            return PowerZone(name=zone.label, power_w=None, energy_j=0.0)
        try:
            step_uj: int | None = delta_uj(counter.prev_uj, cur_uj, zone.max_energy_range_uj)
        except ValueError:
            step_uj = None  # went backwards with no known range: a reset, restart from here
        dt_s = now_s - counter.prev_s
        counter.prev_uj = cur_uj
        counter.prev_s = now_s
        if step_uj is None:
            return PowerZone(name=zone.label, power_w=None, energy_j=counter.energy_j)
        step_j = step_uj / 1e6
        counter.energy_j += step_j
        power_w = step_j / dt_s if dt_s > 0 else None
        return PowerZone(name=zone.label, power_w=power_w, energy_j=counter.energy_j)


def package_totals(zones: Sequence[PowerZone]) -> tuple[float | None, float | None]:
    """Sum the ``package-*`` zones only (never sub-zones, ``dram`` or ``psys``).

    Args:
        zones: Zones from :meth:`RaplReader.read`.

    Returns:
        ``(power_w, energy_j)``. Each is None when there is no package zone or when any package
        zone lacks that value (a partial sum would under-report).
    """
    packages = [z for z in zones if z.name.startswith("package")]
    if not packages:
        return None, None
    powers = [z.power_w for z in packages]
    energies = [z.energy_j for z in packages]
    power_w = None if any(p is None for p in powers) else sum(p for p in powers if p is not None)
    energy_j = (
        None if any(e is None for e in energies) else sum(e for e in energies if e is not None)
    )
    return power_w, energy_j
