"""Performance profiles and model presets: models, layered settings, the TOML store, discovery.

Everything here imports pydantic and tomlkit (about 200 ms): import it when the Profiles
screen or a ``profile`` / ``preset`` command needs it, never at start-up.

The file is the one :mod:`core.config` reads (``config.toml`` in the platform config
directory, copied from the shipped ``config/default.toml`` on first run, or ``--config FILE``)::

    [defaults]
    default_profile = "balanced"
    default_model = "gemma3-1b"

    [performance_profiles.fast]
    max_tokens = 512
    context_length = 2048

    [model_presets.gemma3-1b]
    model_id = "google/gemma-3-1b-it"
    format = "safetensors"
    size_gb = 2.0

API for a form editor (the Profiles screen):

* Load: ``store = open_store(config_path_or_None)`` (or ``ProfileStore.load(path)``). Show
  ``store.problems`` (each ``str(problem)`` is ``FILE:LINE: where: message``) and
  ``store.read_only_reason`` (saving is refused when set: the file is invalid, or is the shipped
  default). ``store.notices`` are one-line notes (first-run copy).
* Lists: ``store.profiles`` / ``store.presets`` map name → :class:`Entry` (``.model`` is the
  validated model with defaults for broken values, or None; ``.values`` the raw table;
  ``.problems``; ``.ok``; ``.line``; ``.explicit`` the fields the file sets).
  ``store.default_profile``, ``store.default_model``; ``recommended_profile(hardware)`` marks
  the profile for this machine.
* Form: ``field_specs(kind)`` → name → :class:`FieldSpec` (``kind`` int/float/str/bool/choice/
  table, ``rule``, ``help`` from the field docstring, ``default``, ``choices``);
  ``store.form_values(kind, name)`` → field → text; ``validate_field(kind, field, text)`` →
  problem text or None (inline validation); ``parse_field(kind, field, text, name=...)`` → value
  or :class:`FieldError` (``.field``, ``.rule``, ``.problem``). Empty text means "unset".
* Edit: ``store.set_values(kind, name, {field: value_or_None})``, ``store.create(kind, name,
  values)``, ``store.duplicate(kind, source, new_name)``, ``store.delete(kind, name)``
  (refused for the default profile / model), ``store.set_default(kind, name)``; each raises
  :class:`FieldError` / :class:`~core.errors.ConfigError` and then changes nothing.
  ``store.dirty`` says whether there is anything to save.
* Save: ``store.save()`` → :class:`SaveResult`; raises :class:`ConflictError` (``.conflict``:
  :class:`Conflict` with ``.diff()``) when the file changed on disk. Offer
  ``store.reload(keep_edits=True)`` (returns the edits that no longer apply) or
  ``store.save_as(path, overwrite=False)``. Write failures (read-only file or folder, full disk)
  raise ConfigError with one line; the file is unchanged.
* Effective settings: ``effective_settings(profile, preset=..., architecture=
  architecture_of(preset), hardware=info)`` → list of :class:`EffectiveSetting` (``key``,
  ``value``, ``layer``, ``overridden``).
* Presets on disk: ``validate_preset(preset)`` → :class:`ValidationReport`;
  ``detect_models()`` → :class:`Detection` with a ready preset per model found.
"""

from __future__ import annotations

from core.config import user_config_file
from core.profiles.layers import (
    ARCHITECTURE_SETTINGS,
    CAPABILITY_SETTINGS,
    EffectiveSetting,
    architecture_of,
    capabilities,
    effective_settings,
    recommended_profile,
)
from core.profiles.models import (
    SETTING_KEYS,
    TABLES,
    Defaults,
    FieldError,
    FieldSpec,
    Kind,
    ModelPreset,
    PerformanceProfile,
    field_help,
    field_specs,
    format_value,
    parse_field,
    validate_field,
)
from core.profiles.presets import (
    Check,
    DetectedModel,
    Detection,
    ValidationReport,
    detect_models,
    preset_name,
    validate_preset,
)
from core.profiles.store import (
    Conflict,
    ConflictError,
    Entry,
    Problem,
    ProfileStore,
    SaveResult,
    ensure_user_config,
    open_store,
)

__all__ = [
    "ARCHITECTURE_SETTINGS",
    "CAPABILITY_SETTINGS",
    "SETTING_KEYS",
    "TABLES",
    "Check",
    "Conflict",
    "ConflictError",
    "Defaults",
    "DetectedModel",
    "Detection",
    "EffectiveSetting",
    "Entry",
    "FieldError",
    "FieldSpec",
    "Kind",
    "ModelPreset",
    "PerformanceProfile",
    "Problem",
    "ProfileStore",
    "SaveResult",
    "ValidationReport",
    "architecture_of",
    "capabilities",
    "detect_models",
    "effective_settings",
    "ensure_user_config",
    "field_help",
    "field_specs",
    "format_value",
    "open_store",
    "parse_field",
    "preset_name",
    "recommended_profile",
    "user_config_file",
    "validate_field",
    "validate_preset",
]
