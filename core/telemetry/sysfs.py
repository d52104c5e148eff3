"""A movable root for sysfs/procfs reads.

Every sysfs reader in Thermal Scout reads through a :class:`SysfsRoot` instead of opening
``/sys/...`` directly, so tests can point it at a fake tree under ``tmp_path`` and containers can
point it at a bind-mounted host ``/sys`` (``THERMAL_SCOUT_SYSFS_ROOT``).

Errors are not classified here: ``OSError`` (including ``PermissionError`` and
``FileNotFoundError``) and ``ValueError`` (bad integers, undecodable bytes) propagate so each
caller can turn them into the right :class:`core.telemetry.base.Unavailable`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePath


@dataclass(frozen=True)
class SysfsRoot:
    """Reads files below ``root`` as if it were ``/``.

    Attributes:
        root: The directory that stands for ``/`` (default: the real root).
    """

    root: Path = Path("/")

    def path(self, rel: str | PurePath) -> Path:
        """The real path of ``rel``.

        Args:
            rel: A path relative to the root (a leading ``/`` is ignored, so ``"/sys/x"`` and
                ``"sys/x"`` are the same). An absolute :class:`~pathlib.Path` that already lies
                under the root, such as one returned by :meth:`glob`, is returned unchanged.

        Returns:
            The path below :attr:`root`.
        """
        p = PurePath(rel)
        if isinstance(rel, PurePath) and p.is_absolute() and p.is_relative_to(self.root):
            return Path(p)
        if p.is_absolute():
            p = p.relative_to(p.anchor)
        return self.root / p

    def read_text(self, rel: str | PurePath) -> str:
        """The contents of a file with surrounding whitespace stripped.

        Args:
            rel: The file, see :meth:`path`.

        Returns:
            The stripped text.

        Raises:
            OSError: The file is missing or unreadable (``PermissionError`` included).
            ValueError: The file is not valid UTF-8.
        """
        return self.path(rel).read_text(encoding="utf-8").strip()

    def read_int(self, rel: str | PurePath) -> int:
        """The contents of a file as an integer (sysfs attributes such as ``energy_uj``).

        Args:
            rel: The file, see :meth:`path`.

        Returns:
            The integer value.

        Raises:
            OSError: The file is missing or unreadable.
            ValueError: The file does not hold an integer.
        """
        return int(self.read_text(rel))

    def exists(self, rel: str | PurePath) -> bool:
        """Whether the file or directory exists (a dangling symlink does not).

        Args:
            rel: The path, see :meth:`path`.

        Returns:
            True if it exists.
        """
        return self.path(rel).exists()

    def glob(self, pattern: str) -> list[Path]:
        """Paths below the root matching a glob pattern, sorted.

        Args:
            pattern: A relative pattern such as ``"sys/class/power_supply/*"`` (a leading ``/``
                is ignored).

        Returns:
            Matching paths (under :attr:`root`), sorted; empty if nothing matches.
        """
        return sorted(self.root.glob(pattern.lstrip("/")))
