"""Resolve what a user names (``analyze TARGET``) into an analysed row.

TARGET is a catalog id, a ``config.json``, a model directory (``config.json`` plus any
``*.safetensors``), or a ``.safetensors`` file. Parameter counts from safetensors headers are
exact (the I64 position buffers some models store count as elements, as in the Hub's totals);
otherwise they come from the config formula.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.analysis.analyze import analyze
from core.analysis.formats import safetensors
from core.analysis.model_config import ModelConfig, from_hf_config
from core.analysis.params import count_params
from core.catalog.embedded import get
from core.catalog.rows import AnalysisSettings, ModelRow, analyze_entry
from core.errors import AnalysisError, CatalogError


def _read_config(path: Path) -> ModelConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AnalysisError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AnalysisError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if not isinstance(data, dict):
        raise AnalysisError(f"{path}: a config.json must hold a JSON object")
    return from_hf_config(data, source=str(path))


def _row(
    name: str,
    cfg: ModelConfig | None,
    header: safetensors.SafetensorsHeader | None,
    settings: AnalysisSettings,
) -> ModelRow:
    count = count_params(cfg) if cfg is not None else None
    if header is not None and header.params > 0:
        total, method = header.params, f"safetensors header ({header.tensors} tensors, exact)"
    elif count is not None:
        total, method = count.total, count.method
    else:
        raise AnalysisError(f"{name}: no config.json and no safetensors weights to count")
    active = total
    if count is not None and count.total:
        active = max(1, round(total * count.active / count.total))
    analysis = analyze(
        cfg,
        total,
        active,
        name=name,
        hardware=settings.hardware,
        precision=settings.precision,
        context=settings.context,
        batch=settings.batch,
    )
    return ModelRow(
        id=name,
        source="registry",
        task=None,
        kind=None,
        family=cfg.model_type if cfg is not None else None,
        licence=None,
        downloads=None,
        likes=None,
        params_total=total,
        params_method=method,
        analysis=analysis,
        error=None,
        facts=header,
    )


def analyze_target(target: str, settings: AnalysisSettings) -> ModelRow:
    """Analyse a catalog id or a local config/directory/file.

    Raises:
        AnalysisError: The file is malformed, of an unsupported kind, or its dimensions absurd.
        CatalogError: Not a path and not a catalog id (the message suggests close ids).
    """
    path = Path(target).expanduser()
    if path.is_dir():
        config = path / "config.json"
        cfg = _read_config(config) if config.is_file() else None
        return _row(path.name, cfg, safetensors.read_directory(path), settings)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".json":
            return _row(path.parent.name or path.stem, _read_config(path), None, settings)
        if suffix == ".safetensors":
            sibling = path.parent / "config.json"
            cfg = _read_config(sibling) if sibling.is_file() else None
            return _row(path.stem, cfg, safetensors.read_file(path), settings)
        raise AnalysisError(
            f"{path}: unsupported file type {suffix or '(none)'}; "
            "give a config.json, a model directory or a .safetensors file"
        )
    if target.endswith((".json", ".safetensors", ".gguf")) or ("/" not in target and "." in target):
        raise AnalysisError(f"{target}: file not found")
    try:
        entry = get(target)
    except CatalogError:
        raise
    return analyze_entry(entry, settings)
