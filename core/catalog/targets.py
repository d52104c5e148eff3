"""Resolve what a user names (``analyze TARGET``) into an analysed row.

TARGET is a catalog id, a ``config.json``, a model directory (``config.json`` plus any
``*.safetensors``), a ``.safetensors``, ``.gguf`` or ``.onnx`` file, or a zip-format PyTorch
checkpoint (``.bin``/``.pt``/``.pth``, read without unpickling). Parameter counts from
safetensors and GGUF headers, ONNX initializers and PyTorch storages are exact (the I64
position buffers some models store count as elements, as in the Hub's totals); otherwise they
come from the config formula.

A GGUF file's weights are analysed at the file's own tensor types (their exact bytes, named
after ``general.file_type``) unless a precision was asked for explicitly; the architecture for
the KV cache comes from its ``{arch}.*`` metadata. ONNX files and PyTorch checkpoints are
likewise analysed at their own stored dtypes (exact bytes); their architecture class comes from
the tensor-name census (:mod:`core.analysis.census`), and a PyTorch checkpoint next to a
``config.json`` (``pytorch_model.bin``) uses it for the KV cache.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.analysis.analyze import analyze
from core.analysis.census import TensorInfo, census
from core.analysis.formats import gguf, onnx, pytorch, safetensors
from core.analysis.model_config import ArchitectureClass, ModelConfig, from_hf_config
from core.analysis.params import count_params
from core.analysis.precision import Precision
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
        if suffix in _SUFFIX_FORMATS:
            return analyze_file(path, settings, precision_explicit=precision_explicit)
        raise AnalysisError(
            f"{path}: unsupported file type {suffix or '(none)'}; give a config.json, a model "
            "directory, a .safetensors, .gguf or .onnx file, or a PyTorch .bin/.pt/.pth"
        )
    if target.endswith((".json", *_SUFFIX_FORMATS)) or ("/" not in target and "." in target):
        raise AnalysisError(f"{target}: file not found")
    try:
        entry = get(target)
    except CatalogError:
        raise
    return analyze_entry(entry, settings)


# -- model files by format --------------------------------------------------------------------

_SUFFIX_FORMATS: Mapping[str, str] = {
    ".safetensors": "safetensors",
    ".gguf": "gguf",
    ".onnx": "onnx",
    ".bin": "pytorch",
    ".pt": "pytorch",
    ".pth": "pytorch",
}
"""File suffix -> format, for :func:`analyze_file` when no format is given."""

FILE_FORMATS = ("safetensors", "gguf", "onnx", "pytorch")
"""The model file formats :func:`analyze_file` reads (headers only)."""

# dtype spellings of safetensors, ONNX and PyTorch -> (canonical precision name, kind)
_DTYPE_PRECISION: Mapping[str, tuple[str, str]] = {
    **dict.fromkeys(("F32", "FLOAT"), ("fp32", "float")),
    **dict.fromkeys(("F16", "FLOAT16"), ("fp16", "float")),
    **dict.fromkeys(("BF16", "BFLOAT16"), ("bf16", "float")),
    **dict.fromkeys(
        ("F8_E4M3", "F8_E5M2", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "FLOAT8E4M3FN", "FLOAT8E4M3FNUZ",
         "FLOAT8E5M2", "FLOAT8E5M2FNUZ"),
        ("fp8", "float"),
    ),
    **dict.fromkeys(("I8", "U8", "INT8", "UINT8", "QI8", "QU8"), ("int8", "integer")),
    **dict.fromkeys(("INT4", "UINT4", "QU4x2"), ("int4", "integer")),
}  # fmt: skip


def stored_precision(
    params: int, tensor_bytes: int, bytes_by_dtype: Mapping[str, int], source: str
) -> Precision:
    """A file's own storage as a :class:`Precision`: ``params`` elements take ``tensor_bytes``.

    Named after the dtype holding the most bytes (``bf16``, ``int8`` ...); ``bytes_per_param``
    is nudged so that ``ceil(params × bytes_per_param) == tensor_bytes``.

    Raises:
        AnalysisError: No elements.

    >>> p = stored_precision(10, 26, {"BFLOAT16": 20, "INT64": 6}, "ONNX initializers")
    >>> p.name, p.kind, math.ceil(10 * p.bytes_per_param)
    ('bf16', 'float', 26)
    """
    if params <= 0:
        raise AnalysisError(f"{source}: no tensor elements")
    bpp = tensor_bytes / params
    for _ in range(64):
        got = math.ceil(params * bpp)
        if got == tensor_bytes:
            break
        bpp = math.nextafter(bpp, 0.0 if got > tensor_bytes else math.inf)
    dominant = (
        max(bytes_by_dtype.items(), key=lambda kv: (kv[1], kv[0]))[0] if bytes_by_dtype else ""
    )
    name, kind = _DTYPE_PRECISION.get(dominant, (dominant.lower() or "unknown", "float"))
    total = sum(bytes_by_dtype.values()) or 1
    mix = ", ".join(
        f"{dtype} {share / total:.0%}"
        for dtype, share in sorted(bytes_by_dtype.items(), key=lambda kv: -kv[1])
    )
    return Precision(
        name=name,
        bytes_per_param=bpp,
        kind="integer" if kind == "integer" else "float",
        base=dominant or name,
        exact=True,
        source=f"{source}: {tensor_bytes:,} bytes / {params:,} elements ({mix or 'no data'})",
    )


def _file_row(
    path: Path,
    *,
    name: str,
    params: int,
    cfg: ModelConfig | None,
    stored: Precision,
    klass: ArchitectureClass | None,
    method: str,
    family: str | None,
    facts: Any,
    settings: AnalysisSettings,
    precision_explicit: bool,
) -> ModelRow:
    """A row for a file analysed at its own stored precision unless one was asked for."""
    if precision_explicit:
        precision: Precision | str = settings.precision
        asked = precision if isinstance(precision, str) else precision.name
        method += f"; weights at {asked} as asked, not the file's own {stored.name}"
    else:
        precision = stored
        method += f"; weights at the file's own dtypes ({stored.name})"
    if cfg is None:
        method += "; no config.json: KV cache not estimated"
    analysis = analyze(
        cfg,
        params,
        params,
        name=name,
        hardware=settings.hardware,
        precision=precision,
        context=settings.context,
        batch=settings.batch,
        architecture_class=klass,
    )
    return ModelRow(
        id=name,
        source="registry",
        task=None,
        kind=None,
        family=family if family is not None else cfg.model_type if cfg is not None else None,
        licence=None,
        downloads=None,
        likes=None,
        params_total=params,
        params_method=method,
        analysis=analysis,
        error=None,
        facts=facts,
    )


def _sibling_config(path: Path) -> ModelConfig | None:
    sibling = path.parent / "config.json"
    return _read_config(sibling) if sibling.is_file() else None


def _onnx_row(path: Path, settings: AnalysisSettings, precision_explicit: bool) -> ModelRow:
    """An ``.onnx`` file: exact parameters and bytes from its initializers."""
    header = onnx.read_file(path)
    if header.params <= 0:
        raise AnalysisError(f"{path}: ONNX graph has no initializers to count")
    found = census((TensorInfo(t.name, t.shape, t.dtype) for t in header.tensors), ops=header.ops)
    method = (
        f"onnx initializers ({len(header.tensors)} tensors, exact; "
        f"{found.architecture} by {found.evidence})"
    )
    if header.external_params:
        method += f"; {header.external_params:,} elements in external data files"
    method += "".join(f"; {note}" for note in header.notes)
    stored = stored_precision(
        header.params, header.tensor_bytes, header.bytes_by_dtype, "ONNX initializers"
    )
    return _file_row(
        path,
        name=path.stem,
        params=header.params,
        cfg=None,
        stored=stored,
        klass=found.architecture_class,
        method=method,
        family=None,
        facts=header,
        settings=settings,
        precision_explicit=precision_explicit,
    )


def _pytorch_row(path: Path, settings: AnalysisSettings, precision_explicit: bool) -> ModelRow:
    """A zip-format PyTorch checkpoint: storages' elements and bytes, never unpickled."""
    header = pytorch.read_file(path)
    cfg = _sibling_config(path)
    found = census(TensorInfo(t.name, t.shape, t.dtype or "") for t in header.tensors)
    klass = cfg.architecture_class if cfg is not None else found.architecture_class
    if header.params:
        params = header.params
        method = (
            f"pytorch zip ({len(header.storages)} storages, {len(header.tensors)} tensors, "
            "exact; nothing unpickled)"
        )
        stored = stored_precision(
            params, header.storage_bytes, header.bytes_by_dtype, "PyTorch storages"
        )
    elif cfg is not None:
        count = count_params(cfg)
        params, method = count.total, f"{count.method} (storage dtypes unreadable)"
        stored = stored_precision(
            params, header.storage_bytes, {"?": header.storage_bytes}, "PyTorch storages"
        )
    else:
        raise AnalysisError(
            f"{path}: PyTorch checkpoint with {len(header.storages)} storages "
            f"({header.storage_bytes:,} bytes) whose dtypes cannot be read safely; "
            "convert it to safetensors"
        )
    return _file_row(
        path,
        name=path.stem,
        params=params,
        cfg=cfg,
        stored=stored,
        klass=klass,
        method=method + "".join(f"; {n}" for n in header.notes if n != pytorch.SAFE_FORMAT_NOTE),
        family=None,
        facts=header,
        settings=settings,
        precision_explicit=precision_explicit,
    )


def analyze_file(
    path: Path,
    settings: AnalysisSettings,
    *,
    fmt: str | None = None,
    precision_explicit: bool = True,
) -> ModelRow:
    """Analyse one model file from its header (``source="registry"``, ``id`` its stem).

    Args:
        path: The file.
        settings: Device, precision, context and batch.
        fmt: One of :data:`FILE_FORMATS`; None: from the suffix.
        precision_explicit: False when ``settings.precision`` is only a default: GGUF, ONNX and
            PyTorch files are then analysed at their own stored types.

    Raises:
        AnalysisError: Unknown format, or the file is malformed (one line naming it).
    """
    fmt = fmt or _SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt == "safetensors":
        return _row(path.stem, _sibling_config(path), safetensors.read_file(path), settings)
    if fmt == "gguf":
        return _gguf_row(path, settings, precision_explicit)
    if fmt == "onnx":
        return _onnx_row(path, settings, precision_explicit)
    if fmt == "pytorch":
        return _pytorch_row(path, settings, precision_explicit)
    raise AnalysisError(f"{path}: unknown model file format {fmt or path.suffix or '(none)'}")
