"""Browser rows: one analysed model per row, whatever source it came from.

A row carries the facts every column needs (id, task, parameters, licence, popularity) and
the :class:`~core.analysis.analyze.Analysis` for the chosen hardware, precision and context, or
the reason it could not be analysed ("cannot analyse: unknown architecture 'mamba'"). Rows are
plain values built off the UI thread; the table only formats them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from core.analysis.analyze import Analysis, analyze
from core.analysis.hardware_profiles import HardwareProfile
from core.analysis.model_config import ArchitectureClass, ModelConfig, from_hf_config
from core.analysis.params import count_params
from core.analysis.precision import Precision
from core.catalog.embedded import CatalogEntry
from core.errors import AnalysisError

Source = Literal["catalog", "hub", "cache", "registry"]

_KIND_CLASS: Mapping[str, ArchitectureClass] = {
    "llm": "decoder-only",
    "embedding": "encoder-only",
    "encoder": "encoder-only",
    "seq2seq": "encoder-decoder",
    "speech": "speech",
    "vision": "vision",
    "multimodal": "multimodal",
}


@dataclass(frozen=True)
class AnalysisSettings:
    """What every row is analysed for: the device, precision, context and batch."""

    hardware: HardwareProfile
    precision: Precision | str = "bf16"
    context: int = 4096
    batch: int = 1
    measured: Mapping[str, Any] | None = None
    """Lower-cased model id → the latest benchmark on this machine (``core.bench.store``
    ``HistoryEntry``: ``avg_power_w``, ``decode_tokens_per_s_sustained``, ``label`` …)."""
    calibration: float | None = None
    """This machine's measured ÷ predicted decode speed, applied to every estimate."""

    def measurement(self, model_id: str) -> Any:
        """The latest benchmark of ``model_id`` here, or None."""
        return self.measured.get(model_id.casefold()) if self.measured else None


@dataclass(frozen=True, eq=False, slots=True)
class ModelRow:
    """One model in the browser.

    Attributes:
        id: Repository id.
        source: Where the row came from.
        task: Pipeline tag (``text-generation``, ``feature-extraction`` ...).
        kind: ``llm``, ``embedding``, ``vision`` ...
        family: Model family, when known.
        licence: Licence tag.
        downloads / likes: Hub popularity (None for catalog rows without it).
        params_total: Parameter count, or None when unknown.
        params_method: Where the parameter count came from.
        analysis: The analysis, or None when it failed (see ``error``).
        error: ``"cannot analyse: …"`` when there is no analysis.
        measured: True once a benchmark measured this model here.
        measurement: That benchmark (``core.bench.store.HistoryEntry``), or None.
        facts: The source's own record (catalog entry, Hub model) for the detail pane.
    """

    id: str
    source: Source
    task: str | None
    kind: str | None
    family: str | None
    licence: str | None
    downloads: int | None
    likes: int | None
    params_total: int | None
    params_method: str
    analysis: Analysis | None
    error: str | None
    measured: bool = False
    measurement: Any = field(default=None, repr=False)
    facts: Any = field(default=None, repr=False)

    @property
    def search_text(self) -> str:
        """What typing in the search box matches against."""
        return " ".join(p for p in (self.id, self.family, self.task, self.kind, self.source) if p)

    @property
    def thermal_class(self) -> str | None:
        """``low`` … ``very-high`` from the best available source, or None."""
        return self.analysis.thermal.klass if self.analysis is not None else None


def _config_of(entry: CatalogEntry) -> tuple[ModelConfig | None, str | None]:
    """The entry's architecture, or why there is none."""
    if not entry.has_dimensions:
        return None, None
    try:
        return from_hf_config(entry.config(), source=f"catalog:{entry.repo_id}"), None
    except AnalysisError as exc:
        return None, str(exc)


def analyze_entry(entry: CatalogEntry, settings: AnalysisSettings) -> ModelRow:
    """Analyse one catalog entry; failures become ``error`` (never raised)."""
    cfg, config_error = _config_of(entry)
    params_total = entry.params_total
    # interned: every row analysed from the same entry shares one string
    params_method = sys.intern(
        "catalog: " + (entry.source.get("params") or entry.source.get("params_total") or "stated")
    )
    params_active = params_total
    if cfg is not None:
        try:
            count = count_params(cfg)
        except AnalysisError as exc:
            config_error = str(exc)
        else:
            if params_total is None:
                params_total, params_method = count.total, count.method
            # MoE: the share of parameters a token uses, applied to the stated total.
            params_active = (
                round(params_total * count.active / count.total) if count.total else params_total
            )
    analysis = None
    error = None
    measurement = settings.measurement(entry.repo_id)
    if params_total is None:
        error = "cannot analyse: " + (config_error or "no parameter count or dimensions known")
    else:
        try:
            analysis = analyze(
                cfg,
                params_total,
                max(1, params_active or params_total),
                name=entry.repo_id,
                hardware=settings.hardware,
                precision=settings.precision,
                context=settings.context,
                batch=settings.batch,
                measured_w=getattr(measurement, "avg_power_w", None),
                calibration=settings.calibration,
                architecture_class=_KIND_CLASS.get(entry.kind),
            )
        except AnalysisError as exc:
            error = f"cannot analyse: {exc}"
    return ModelRow(
        id=entry.repo_id,
        source="catalog",
        task=entry.task,
        kind=entry.kind,
        family=entry.family,
        licence=entry.license,
        downloads=None,
        likes=None,
        params_total=params_total,
        params_method=params_method,
        analysis=analysis,
        error=error,
        measured=measurement is not None,
        measurement=measurement,
        facts=entry,
    )


def catalog_rows(entries: Iterable[CatalogEntry], settings: AnalysisSettings) -> list[ModelRow]:
    """Analyse every entry for ``settings``."""
    return [analyze_entry(entry, settings) for entry in entries]


_TASK_KIND: Mapping[str, str] = {
    "text-generation": "llm",
    "text2text-generation": "seq2seq",
    "summarization": "seq2seq",
    "translation": "seq2seq",
    "feature-extraction": "embedding",
    "sentence-similarity": "embedding",
    "fill-mask": "encoder",
    "text-classification": "encoder",
    "token-classification": "encoder",
    "automatic-speech-recognition": "speech",
    "image-classification": "vision",
    "object-detection": "vision",
    "image-text-to-text": "multimodal",
}


def analyze_hub_model(
    model: Any, settings: AnalysisSettings, config: Mapping[str, Any] | None = None
) -> ModelRow:
    """Analyse a :class:`core.catalog.hub.HubModel`; failures become ``error`` (never raised).

    Without the repo's ``config.json`` (the Hub's listing carries only ``model_type``), the
    parameter count comes from the safetensors/GGUF totals and the KV cache is not estimated;
    with it, the analysis is complete.
    """
    cfg: ModelConfig | None = None
    config_error = None
    if config is not None:
        try:
            cfg = from_hf_config(config, source=f"hub:{model.repo_id}/config.json")
        except AnalysisError as exc:
            config_error = str(exc)
    params_total = model.params_total
    params_method = f"Hub {model.params_source} metadata total" if params_total else ""
    params_active = params_total
    if cfg is not None:
        try:
            count = count_params(cfg)
        except AnalysisError as exc:
            config_error = str(exc)
        else:
            if params_total is None:
                params_total, params_method = count.total, count.method
            if count.total:
                params_active = round(params_total * count.active / count.total)
    kind = _TASK_KIND.get(model.pipeline_tag or "")
    analysis = None
    error = None
    if params_total is None:
        reason = config_error or "the Hub lists no safetensors/GGUF parameter total"
        error = f"cannot analyse: {reason}"
    else:
        try:
            analysis = analyze(
                cfg,
                params_total,
                max(1, params_active or params_total),
                name=model.repo_id,
                hardware=settings.hardware,
                precision=settings.precision,
                context=settings.context,
                batch=settings.batch,
                architecture_class=_KIND_CLASS.get(kind or ""),
            )
        except AnalysisError as exc:
            error = f"cannot analyse: {exc}"
    return ModelRow(
        id=model.repo_id,
        source="hub",
        task=model.pipeline_tag,
        kind=kind,
        family=model.model_type,
        licence=model.licence,
        downloads=model.downloads,
        likes=model.likes,
        params_total=params_total,
        params_method=params_method,
        analysis=analysis,
        error=error,
        facts=model,
    )
