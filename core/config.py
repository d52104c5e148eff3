"""Application settings: the ``[telemetry]`` and ``[thresholds]`` tables of the TOML config.

Read with :mod:`tomllib` and validated against each field's bounds; every problem becomes one
:class:`~core.errors.ConfigError` line naming the file, the line where it can be found, the
field and the fix. Tables this module does not own (profiles, presets) are left alone.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from core.constants import DEFAULT_HISTORY_S, DEFAULT_INTERVAL_S, DEFAULT_PLOT_WINDOW_S
from core.errors import ConfigError
from core.paths import default_config_path, user_config_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


@dataclass(frozen=True)
class Bound:
    """Allowed range of a numeric setting (``None``: no bound on that side)."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None

    def check(self, value: float) -> str | None:
        """The problem with ``value``, or None when it is in range."""
        if self.ge is not None and value < self.ge:
            return f"must be ≥ {self.ge:g}"
        if self.gt is not None and value <= self.gt:
            return f"must be > {self.gt:g}"
        if self.le is not None and value > self.le:
            return f"must be ≤ {self.le:g}"
        if self.lt is not None and value >= self.lt:
            return f"must be < {self.lt:g}"
        return None


def _setting(default: float, bound: Bound) -> Any:
    return field(default=default, metadata={"bound": bound})


# Plain dataclasses, not pydantic: settings are read on every start-up and pydantic's import
# alone costs about 200 ms there (BENCHMARKS.md). Profiles and presets, edited in a form, use
# pydantic and load with their screen.


@dataclass(frozen=True)
class TelemetrySettings:
    """How often and how much to sample."""

    interval_s: float = _setting(DEFAULT_INTERVAL_S, Bound(ge=0.1, le=3600))
    """Seconds between sensor samples."""
    history_s: float = _setting(DEFAULT_HISTORY_S, Bound(gt=0, le=7 * 24 * 3600))
    """Seconds of samples kept in memory."""
    plot_window_s: float = _setting(DEFAULT_PLOT_WINDOW_S, Bound(gt=0))
    """Seconds shown in history plots."""


@dataclass(frozen=True)
class ThresholdSettings:
    """When readings turn amber and red."""

    cpu_temp_warn_c: float = _setting(80, Bound(gt=0, lt=150))
    """CPU temperature that is worth a look when the sensor reports no limit of its own."""
    cpu_temp_hot_c: float = _setting(95, Bound(gt=0, lt=150))
    """CPU temperature that is too hot when the sensor reports no limit of its own."""
    gpu_temp_warn_margin_c: float = _setting(15, Bound(ge=0, lt=100))
    """Amber this many °C below the GPU's slowdown temperature."""
    gpu_temp_hot_margin_c: float = _setting(5, Bound(ge=0, lt=100))
    """Red this many °C below the GPU's slowdown temperature."""
    power_warn_fraction: float = _setting(0.85, Bound(gt=0, le=2))
    """Amber at this share of the enforced power limit."""
    power_hot_fraction: float = _setting(0.97, Bound(gt=0, le=2))
    """Red at this share of the enforced power limit."""


@dataclass(frozen=True)
class Settings:
    """The settings this module owns, plus the file they came from."""

    telemetry: TelemetrySettings = field(default_factory=TelemetrySettings)
    thresholds: ThresholdSettings = field(default_factory=ThresholdSettings)
    source: str = "built-in defaults"
    """The file the settings were read from."""


_TABLES: dict[str, type[TelemetrySettings] | type[ThresholdSettings]] = {
    "telemetry": TelemetrySettings,
    "thresholds": ThresholdSettings,
}


def _build(table: str, values: dict[str, Any]) -> tuple[Any, tuple[str, str, Any] | None]:
    """Validate one table: ``(instance, None)`` or ``(None, (key, problem, value))``."""
    cls = _TABLES[table]
    known = {f.name: f for f in fields(cls)}
    for key, value in values.items():
        if key not in known:
            return None, (key, "unknown setting; remove it or check its spelling", None)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None, (key, "must be a number", value)
        problem = known[key].metadata["bound"].check(float(value))
        if problem:
            return None, (key, problem, value)
    return cls(**{k: float(v) for k, v in values.items()}), None


def user_config_file() -> Path:
    """The user's config file path (it may not exist)."""
    return user_config_dir() / "config.toml"


def _line_of(text: str, table: str, key: str | None) -> int | None:
    """Best-effort 1-based line of ``key`` inside ``[table]`` (or of the table header)."""
    lines = text.splitlines()
    in_table = False
    header = re.compile(r"^\s*\[\s*" + re.escape(table) + r"\s*\]\s*(#.*)?$")
    for number, line in enumerate(lines, start=1):
        if header.match(line):
            if key is None:
                return number
            in_table = True
            continue
        if in_table and re.match(r"^\s*\[", line):
            in_table = False
        if in_table and key is not None and re.match(r"^\s*" + re.escape(key) + r"\s*=", line):
            return number
    return None


def parse_settings(text: str, source: str) -> Settings:
    """Parse and validate settings from TOML text.

    Args:
        text: The TOML document.
        source: Name used in error messages (usually the path).

    Raises:
        ConfigError: Not valid TOML, or a value fails validation.
    """
    try:
        document: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}; fix the syntax there") from None
    built: dict[str, Any] = {}
    for table in _TABLES:
        if table not in document:
            continue
        if not isinstance(document[table], dict):
            line = _line_of(text, table, None)
            where = f"{source}:{line}" if line else source
            raise ConfigError(f"{where}: '{table}' must be a table like [{table}]")
        instance, error = _build(table, document[table])
        if error is not None:
            key, problem, value = error
            line = _line_of(text, table, key)
            where = f"{source}:{line}" if line else source
            got = "" if value is None else f" (got {value!r})"
            raise ConfigError(f"{where}: {table}.{key}: {problem}{got}")
        built[table] = instance
    return Settings(**built, source=source)


def load_settings(path: Path | None = None) -> Settings:
    """Load settings from ``path``, else the user's config file if present, else the defaults.

    Raises:
        ConfigError: The file named by ``path`` is missing or unreadable, or any file is invalid.
    """
    candidates = [path] if path is not None else [user_config_file(), default_config_path()]
    for candidate in candidates:
        if candidate is None:
            continue
        if path is None and not candidate.exists():
            continue
        try:
            text = candidate.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{candidate}: config file not found; check the path") from None
        except IsADirectoryError:
            raise ConfigError(f"{candidate}: is a directory, expected a TOML file") from None
        except PermissionError:
            raise ConfigError(f"{candidate}: permission denied reading the config file") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{candidate}: not UTF-8 text; is this a TOML file?") from None
        return parse_settings(text, str(candidate))
    return Settings()
