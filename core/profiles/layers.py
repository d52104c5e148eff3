"""Layered settings: what value each inference setting ends up with, and which layer set it.

Layers, lowest first (the provider design):

1. **base** — :class:`~core.profiles.models.PerformanceProfile`'s defaults (llama.cpp's
   sampling defaults, a 4096-token context).
2. **architecture** — what the model family's authors recommend (its
   ``generation_config.json`` / model card), keyed by Hugging Face ``model_type``.
3. **capability** — what this hardware can do: a CUDA GPU runs on ``cuda`` in float16, or
   bfloat16 from compute capability 8.0 (Ampere); CPU-only runs on ``cpu`` in float32; the
   thread count follows :func:`core.hardware.recommend`.
4. **model** — the preset's ``overrides`` table.
5. **profile** — the fields the profile's table sets (fields it leaves out fall through).

Last, a profile's ``context_length`` longer than the preset's ``context_length`` is capped to it
(layer ``model limit``).

Example:
    >>> rows = effective_settings(PerformanceProfile(name="p", top_k=10), architecture="qwen3")
    >>> [(s.key, s.value, s.layer) for s in rows if s.key in ("temperature", "top_k")]
    [('temperature', 0.6, 'architecture: qwen3'), ('top_k', 10, 'profile: p')]
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.profiles.models import SETTING_KEYS, ModelPreset, PerformanceProfile

if TYPE_CHECKING:
    from core.hwinfo import HardwareInfo

ARCHITECTURE_SETTINGS: dict[str, dict[str, Any]] = {
    # Gemma 3 model card: temperature 1.0, top_k 64, top_p 0.95.
    "gemma3": {"temperature": 1.0, "top_k": 64, "top_p": 0.95},
    # Gemma 1 and 2 were trained with an 8192-token context.
    "gemma2": {"context_length": 8192},
    "gemma": {"context_length": 8192},
    # Qwen3 model card (thinking mode): temperature 0.6, top_p 0.95, top_k 20.
    "qwen3": {"temperature": 0.6, "top_p": 0.95, "top_k": 20},
    # Qwen2.5 generation_config.json.
    "qwen2": {"temperature": 0.7, "top_p": 0.8, "top_k": 20, "repetition_penalty": 1.05},
    # Llama 3.x Instruct generation_config.json.
    "llama": {"temperature": 0.6, "top_p": 0.9},
}
"""Recommended settings per architecture (Hugging Face ``model_type``)."""

CAPABILITY_SETTINGS: dict[str, dict[str, Any]] = {
    "cpu-only": {"device": "cpu", "dtype": "float32"},
    "cuda": {"device": "cuda", "dtype": "float16"},
    "cuda-bf16": {"dtype": "bfloat16"},
}
"""Settings per hardware capability, applied in this order."""

_NAME_HINTS = (
    (re.compile(r"gemma[-_ ]?3", re.I), "gemma3"),
    (re.compile(r"gemma[-_ ]?2", re.I), "gemma2"),
    (re.compile(r"gemma", re.I), "gemma"),
    (re.compile(r"qwen[-_ ]?3", re.I), "qwen3"),
    (re.compile(r"qwen[-_ ]?2", re.I), "qwen2"),
    (re.compile(r"llama", re.I), "llama"),
)


@dataclass(frozen=True)
class EffectiveSetting:
    """One setting of the effective view.

    Attributes:
        key: The setting (a profile field).
        value: Its effective value.
        layer: The layer it came from, e.g. ``"base"``, ``"architecture: gemma3"``,
            ``"capability: cuda"``, ``"model: gemma3-1b"``, ``"profile: fast"``,
            ``"model limit: gemma3-1b"``.
        overridden: The lower layers that set it too, lowest first, as ``(layer, value)``.
    """

    key: str
    value: Any
    layer: str
    overridden: tuple[tuple[str, Any], ...] = ()


def capabilities(hardware: HardwareInfo | None) -> tuple[str, ...]:
    """Capability names of this hardware, as keys of :data:`CAPABILITY_SETTINGS`."""
    if hardware is None:
        return ()
    if not hardware.gpus:
        return ("cpu-only",)
    found = ["cuda"]
    for gpu in hardware.gpus:
        try:
            major = int((gpu.compute_capability or "0").split(".")[0])
        except ValueError:
            continue
        if major >= 8:
            found.append("cuda-bf16")
            break
    return tuple(found)


def architecture_of(preset: ModelPreset, *, hf_cache: Path | None = None) -> str | None:
    """The preset's architecture: ``model_type`` from its ``config.json``, else from its name.

    Looks next to the weights, then in the Hugging Face cache snapshot of ``model_id``; falls
    back to the family in the model id or file name (``gemma-3-1b`` → ``gemma3``).
    """
    for config in _config_candidates(preset, hf_cache):
        try:
            data = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("model_type"), str):
            model_type = str(data["model_type"]).lower()
            for family in ARCHITECTURE_SETTINGS:
                if model_type == family or model_type.startswith(family + "_"):
                    return family
            return model_type
    label = " ".join(x for x in (preset.model_id, preset.weights, preset.name) if x)
    for pattern, family in _NAME_HINTS:
        if pattern.search(label):
            return family
    return None


def _config_candidates(preset: ModelPreset, hf_cache: Path | None) -> Iterable[Path]:
    if preset.weights:
        weights = Path(preset.weights).expanduser()
        yield (weights if weights.is_dir() else weights.parent) / "config.json"
    if preset.model_id:
        from core.profiles.presets import hf_snapshot

        snapshot = hf_snapshot(preset.model_id, hf_cache)
        if snapshot is not None:
            yield snapshot / "config.json"


def effective_settings(
    profile: PerformanceProfile | None,
    *,
    preset: ModelPreset | None = None,
    architecture: str | None = None,
    hardware: HardwareInfo | None = None,
    capability_names: Sequence[str] | None = None,
) -> list[EffectiveSetting]:
    """Every inference setting with its value and the layer it came from.

    Args:
        profile: The profile; only the fields it sets explicitly override lower layers.
        preset: The model: its ``overrides`` and its ``context_length`` limit.
        architecture: The model family (``model_type``); see :func:`architecture_of`.
        hardware: This machine, for the capability layer and the thread count.
        capability_names: Capabilities to use instead of those of ``hardware``.

    Returns:
        One :class:`EffectiveSetting` per key of
        :data:`~core.profiles.models.SETTING_KEYS`, in that order.
    """
    layers: list[tuple[str, Mapping[str, Any]]] = []
    base = PerformanceProfile(name="base")
    layers.append(("base", {key: getattr(base, key) for key in SETTING_KEYS}))
    if architecture and architecture in ARCHITECTURE_SETTINGS:
        layers.append((f"architecture: {architecture}", ARCHITECTURE_SETTINGS[architecture]))
    names = capabilities(hardware) if capability_names is None else tuple(capability_names)
    for name in names:
        if name in CAPABILITY_SETTINGS:
            layers.append((f"capability: {name}", CAPABILITY_SETTINGS[name]))
    if hardware is not None:
        layers.append(("capability: cores", {"threads": hardware.recommendations.threads}))
    if preset is not None and preset.overrides:
        layers.append((f"model: {preset.name}", preset.overrides))
    if profile is not None:
        explicit = profile.model_fields_set & set(SETTING_KEYS)
        layers.append(
            (f"profile: {profile.name}", {key: getattr(profile, key) for key in explicit})
        )
    result: list[EffectiveSetting] = []
    for key in SETTING_KEYS:
        history = [(layer, values[key]) for layer, values in layers if key in values]
        layer, value = history[-1]
        if (
            key == "context_length"
            and preset is not None
            and preset.context_length is not None
            and value > preset.context_length
        ):
            history.append((f"model limit: {preset.name}", preset.context_length))
            layer, value = history[-1]
        result.append(EffectiveSetting(key, value, layer, tuple(history[:-1])))
    return result


def recommended_profile(hardware: HardwareInfo | None = None) -> str:
    """The profile for this machine: 32 GB+ RAM and 8+ cores → quality, 16 GB+ → balanced,
    else fast (:func:`core.hardware.recommend`).

    Without ``hardware`` only the CPU and memory are read (psutil; no GPU query).
    """
    if hardware is not None:
        return hardware.recommendations.profile
    import psutil

    from core.hardware import cpu_info, memory_info, recommend

    return recommend(cpu_info(psutil), memory_info(psutil), ()).profile
