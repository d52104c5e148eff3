"""Resolve what a user names (``analyze TARGET``) into an analysed row.

TARGET is a catalog id, a ``config.json``, a model directory (``config.json`` plus any
``*.safetensors``), a ``.safetensors`` file or a ``.gguf`` file. Parameter counts from
safetensors and GGUF headers are exact (the I64 position buffers some models store count as
elements, as in the Hub's totals); otherwise they come from the config formula.

A GGUF file's weights are analysed at the file's own tensor types (their exact bytes, named
after ``general.file_type``) unless a precision was asked for explicitly; the architecture for
the KV cache comes from its ``{arch}.*`` metadata.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.analysis.analyze import analyze
from core.analysis.formats import gguf, safetensors
from core.analysis.model_config import ArchitectureClass, ModelConfig, from_hf_config
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


def _gguf_row(path: Path, settings: AnalysisSettings, precision_explicit: bool) -> ModelRow:
    """A ``.gguf`` file: exact parameters and bytes from the tensor infos."""
    header = gguf.read_file(path)
    if header.params <= 0:
        raise AnalysisError(f"{path}: GGUF file has no tensors to count")
    cfg = gguf.model_config(header, source=str(path))
    method = f"gguf header ({header.tensor_count} tensors, exact)"
    if precision_explicit:
        precision = settings.precision
        name = precision if isinstance(precision, str) else precision.name
        method += (
            f"; weights at {name} as asked, not the file's own "
            f"{header.file_type or header.dominant_type} ({header.bits_per_weight:.2f} bits/weight)"
        )
    else:
        precision = gguf.file_precision(header)
        method += (
            f"; weights at the file's own types ({precision.name}, "
            f"{header.bits_per_weight:.2f} bits/weight)"
        )
    if cfg is None:
        method += f"; no KV-cache model for architecture {header.architecture or '(none)'!r}"
    method += "".join(f"; {note}" for note in header.notes)
    split = header.metadata.get("split.count")
    if isinstance(split, int) and split > 1:
        method += f"; one of {split} split files: only this file's tensors counted"
    klass: ArchitectureClass = (
        "encoder-only" if header.architecture in gguf.ENCODER_ARCHITECTURES else "decoder-only"
    )
    if header.architecture == "clip":  # a multimodal projector (mmproj) file
        klass = "vision"
    analysis = analyze(
        cfg,
        header.params,
        gguf.active_params(header),
        name=path.stem,
        hardware=settings.hardware,
        precision=precision,
        context=settings.context,
        batch=settings.batch,
        architecture_class=klass,
    )
    return ModelRow(
        id=path.stem,
        source="registry",
        task=None,
        kind=None,
        family=header.architecture,
        licence=None,
        downloads=None,
        likes=None,
        params_total=header.params,
        params_method=method,
        analysis=analysis,
        error=None,
        facts=header,
    )


def analyze_target(
    target: str, settings: AnalysisSettings, *, precision_explicit: bool = True
) -> ModelRow:
    """Analyse a catalog id or a local config/directory/file.

    Args:
        target: What the user named.
        settings: Device, precision, context and batch.
        precision_explicit: False when ``settings.precision`` is only a default: a ``.gguf``
            file is then analysed at its own tensor types (weights = its exact tensor bytes).

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
        if suffix == ".gguf":
            return _gguf_row(path, settings, precision_explicit)
        raise AnalysisError(
            f"{path}: unsupported file type {suffix or '(none)'}; "
            "give a config.json, a model directory, a .safetensors or a .gguf file"
        )
    if target.endswith((".json", ".safetensors", ".gguf")) or ("/" not in target and "." in target):
        raise AnalysisError(f"{target}: file not found")
    try:
        entry = get(target)
    except CatalogError:
        raise
    return analyze_entry(entry, settings)
