"""Settings: defaults, validation messages with file and line, and unreadable files."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import load_settings, parse_settings
from core.errors import ConfigError
from core.paths import default_config_path


def test_shipped_defaults_parse() -> None:
    settings = load_settings(default_config_path())
    assert settings.telemetry.interval_s == 1.0
    assert settings.telemetry.history_s == 3600
    assert settings.source.endswith("default.toml")


def test_defaults_when_no_user_file() -> None:
    assert load_settings().telemetry.interval_s == 1.0


def test_user_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_dir = Path.home() / ".config" / "thermal-scout"
    config_dir.mkdir(parents=True)
    (config_dir / "config.toml").write_text("[telemetry]\ninterval_s = 2.5\n")
    assert load_settings().telemetry.interval_s == 2.5


def test_out_of_range_value_names_file_line_and_field() -> None:
    text = "# comment\n[telemetry]\n# why\ninterval_s = 0\n"
    with pytest.raises(ConfigError) as info:
        parse_settings(text, "my.toml")
    assert str(info.value).startswith("my.toml:4: telemetry.interval_s:")
    assert "0.1" in str(info.value)


def test_unknown_key() -> None:
    with pytest.raises(ConfigError, match=r"x.toml:2: telemetry.intervall_s: unknown setting"):
        parse_settings("[telemetry]\nintervall_s = 1\n", "x.toml")


def test_invalid_toml_names_the_line() -> None:
    with pytest.raises(ConfigError, match=r"bad.toml: not valid TOML: .*line 2"):
        parse_settings("[telemetry]\ninterval_s = = 1\n", "bad.toml")


def test_wrong_type() -> None:
    with pytest.raises(ConfigError, match=r"telemetry\.interval_s"):
        parse_settings('[telemetry]\ninterval_s = "fast"\n', "t.toml")


def test_table_of_wrong_shape() -> None:
    with pytest.raises(ConfigError, match="must be a table"):
        parse_settings("telemetry = 3\n", "t.toml")


def test_other_tables_are_left_alone() -> None:
    text = "[performance_profiles.fast]\nmax_tokens = 5\n[telemetry]\ninterval_s = 2\n"
    assert parse_settings(text, "t.toml").telemetry.interval_s == 2


def test_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "none.toml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_settings(tmp_path)
