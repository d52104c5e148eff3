"""Application settings: the ``[telemetry]`` and ``[thresholds]`` tables of the TOML config.

Read with :mod:`tomllib` and validated with pydantic; every problem becomes one
:class:`~core.errors.ConfigError` line naming the file, the line where it can be found, the
field and the fix. Tables this module does not own (profiles, presets) are left alone.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.constants import DEFAULT_HISTORY_S, DEFAULT_INTERVAL_S, DEFAULT_PLOT_WINDOW_S
from core.errors import ConfigError
from core.paths import default_config_path, user_config_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


class TelemetrySettings(BaseModel):
    """How often and how much to sample."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    interval_s: float = Field(DEFAULT_INTERVAL_S, ge=0.1, le=3600)
    """Seconds between sensor samples."""
    history_s: float = Field(DEFAULT_HISTORY_S, gt=0, le=7 * 24 * 3600)
    """Seconds of samples kept in memory."""
    plot_window_s: float = Field(DEFAULT_PLOT_WINDOW_S, gt=0)
    """Seconds shown in history plots."""


class ThresholdSettings(BaseModel):
    """When readings turn amber and red."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cpu_temp_warn_c: float = Field(80, gt=0, lt=150)
    """CPU temperature that is worth a look when the sensor reports no limit of its own."""
    cpu_temp_hot_c: float = Field(95, gt=0, lt=150)
    """CPU temperature that is too hot when the sensor reports no limit of its own."""
    gpu_temp_warn_margin_c: float = Field(15, ge=0, lt=100)
    """Amber this many °C below the GPU's slowdown temperature."""
    gpu_temp_hot_margin_c: float = Field(5, ge=0, lt=100)
    """Red this many °C below the GPU's slowdown temperature."""
    power_warn_fraction: float = Field(0.85, gt=0, le=2)
    """Amber at this share of the enforced power limit."""
    power_hot_fraction: float = Field(0.97, gt=0, le=2)
    """Red at this share of the enforced power limit."""


class Settings(BaseModel):
    """The settings this module owns, plus the file they came from."""

    model_config = ConfigDict(frozen=True)

    telemetry: TelemetrySettings = TelemetrySettings()
    thresholds: ThresholdSettings = ThresholdSettings()
    source: str = "built-in defaults"
    """The file the settings were read from."""


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
    values: dict[str, Any] = {}
    for table in ("telemetry", "thresholds"):
        if table in document:
            if not isinstance(document[table], dict):
                line = _line_of(text, table, None)
                where = f"{source}:{line}" if line else source
                raise ConfigError(f"{where}: '{table}' must be a table like [{table}]")
            values[table] = document[table]
    try:
        return Settings(**values, source=source)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(part) for part in error["loc"]]
        table = loc[0] if loc else ""
        key = loc[1] if len(loc) > 1 else None
        line = _line_of(text, table, key)
        where = f"{source}:{line}" if line else source
        field = ".".join(loc)
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown setting; remove it or check its spelling"
        got = error.get("input")
        detail = f" (got {got!r})" if error["type"] != "extra_forbidden" else ""
        raise ConfigError(f"{where}: {field}: {message}{detail}") from None


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
