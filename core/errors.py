"""Every exception Thermal Scout raises on purpose, in one place.

Each carries a one-line, user-facing message (what, where, how to fix); the CLI prints it as
``error: <message>`` and exits 1, the TUI shows it as a notification. None of them should ever
reach a user as a traceback.
"""

from __future__ import annotations


class ThermalScoutError(Exception):
    """Base class: a failure with a message fit to show a user as-is."""


class ConfigError(ThermalScoutError):
    """A configuration file is missing, not valid TOML, or has invalid values."""


class TraceError(ThermalScoutError):
    """A trace file cannot be read: missing, empty, truncated or with a malformed line.

    Attributes:
        path: The trace file.
        line: 1-based line number of the problem, when there is one.
    """

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class RecordError(ThermalScoutError):
    """A recording cannot be written (bad extension, unwritable directory, full disk)."""


class AnalysisError(ThermalScoutError):
    """A model cannot be analysed: unknown architecture, malformed or absurd dimensions."""


class CatalogError(ThermalScoutError):
    """The model catalog cannot answer: unknown model id, unreadable catalog data."""
