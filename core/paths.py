"""Where files live: shipped resources (styles, default config) and the user's directories.

Shipped resources are the top-level ``styles`` and ``config`` packages, found through their own
``__file__`` so the same code works in a checkout, an editable install and an installed wheel.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from core.constants import APP_NAME


def resource_dir(name: str) -> Path:
    """Return the directory of a shipped resource package: ``"styles"`` or ``"config"``.

    Raises:
        ValueError: ``name`` is not a resource package.
    """
    if name not in ("styles", "config"):
        raise ValueError(f"unknown resource directory {name!r}")
    package = importlib.import_module(name)
    assert package.__file__ is not None
    return Path(package.__file__).resolve().parent


def style_path(name: str) -> Path:
    """Path of a shipped ``.tcss`` file, e.g. ``style_path("app.tcss")``."""
    return resource_dir("styles") / name


def default_config_path() -> Path:
    """Path of the shipped default configuration (never edited in place)."""
    return resource_dir("config") / "default.toml"


def user_config_dir() -> Path:
    """The platform's configuration directory for Thermal Scout (not created)."""
    from platformdirs import user_config_path

    return Path(user_config_path(APP_NAME))


def user_data_dir() -> Path:
    """The platform's data directory for Thermal Scout (not created)."""
    from platformdirs import user_data_path

    return Path(user_data_path(APP_NAME))


def recordings_dir() -> Path:
    """Where the Thermals screen's record toggle writes traces."""
    return user_data_dir() / "recordings"
