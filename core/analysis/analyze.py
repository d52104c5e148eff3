"""One call that answers "will it fit, how fast, how hot" for one model on one device.

:func:`analyze` combines :mod:`~core.analysis.memory`, :mod:`~core.analysis.fit`,
:mod:`~core.analysis.roofline` and :mod:`~core.analysis.thermal`. It is pure and cheap (tens of
microseconds: every table is built once at import), so a catalog of thousands of models can be
analysed for a what-if device on the UI's worker thread.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from core.analysis.fit import Fit, fit
from core.analysis.hardware_profiles import HardwareProfile
from core.analysis.memory import (
    KvCache,
    MemoryEstimate,
    default_kv_precision,
    kv_cache_bytes,
    memory_requirement,
)
from core.analysis.model_config import ArchitectureClass, ModelConfig
from core.analysis.precision import BF16, FP8, FP16, FP32, INT4, INT8, Precision, parse_precision
from core.analysis.roofline import Estimate, estimate
from core.analysis.thermal import ThermalClass, heuristic_class, thermal_class
from core.errors import AnalysisError

REPORTED_PRECISIONS: tuple[Precision, ...] = (FP32, FP16, BF16, FP8, INT8, INT4)
"""Precisions whose memory is always reported, whatever precision was chosen."""

_GENERATING_CLASSES = frozenset({"decoder-only", "encoder-decoder", "multimodal"})


class ByPrecision(Mapping[str, int]):
    """An immutable precision name → bytes mapping, compact for tables of many rows.

    The names are one tuple shared by every analysis with the same precisions.

    >>> m = ByPrecision.of({"bf16": 2, "int4": 1})
    >>> m["int4"], list(m), dict(m) == {"bf16": 2, "int4": 1}
    (1, ['bf16', 'int4'], True)
    """

    __slots__ = ("_names", "_values")
    _shared: ClassVar[dict[tuple[str, ...], tuple[str, ...]]] = {}

    def __init__(self, names: tuple[str, ...], values: Sequence[int]) -> None:
        self._names = names
        # machine integers, not Python ints: 8 bytes a value instead of about 40
        self._values = array("q", values)

    @classmethod
    def of(cls, values: Mapping[str, int]) -> ByPrecision:
        names = tuple(values)
        return cls(cls._shared.setdefault(names, names), tuple(values.values()))

    def __getitem__(self, name: str) -> int:
        try:
            return self._values[self._names.index(name)]
        except ValueError:
            raise KeyError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"ByPrecision({dict(self)!r})"


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything known about one model on one device.

    Attributes:
        id: Model id (``meta-llama/Llama-3.1-8B``).
        architecture_class: Decoder-only, encoder-only ...
        params_total: All parameters (memory).
        params_active: Parameters used per token (speed).
        precision: The precision the fit and estimates are for.
        context: Tokens per sequence.
        batch: Sequences.
        hardware: The device.
        memory: Breakdown at ``precision``.
        memory_by_precision: Total required bytes per reported precision (and ``precision``).
        weights_by_precision: Weight bytes per reported precision (and ``precision``).
        fit: Whether ``memory.total_bytes`` fits the device's free memory.
        estimates: Speed, power, energy.
        thermal: Thermal class and its source.
    """

    id: str
    architecture_class: ArchitectureClass
    params_total: int
    params_active: int
    precision: Precision
    context: int
    batch: int
    hardware: HardwareProfile
    memory: MemoryEstimate
    memory_by_precision: Mapping[str, int]
    weights_by_precision: Mapping[str, int]
    fit: Fit
    estimates: Estimate
    thermal: ThermalClass

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the CLI's ``analyze --json`` shape).

        Keys: ``id``, ``architecture_class``, ``params`` {``total``, ``active``},
        ``precision``, ``hardware``, ``memory_bytes`` {precision: total required},
        ``weights_bytes`` {precision: weights}, ``memory`` (breakdown at ``precision``),
        ``kv_cache_bytes``, ``context``, ``batch``, ``fit`` {``level``, ``required_bytes``,
        ``available_bytes``, ``device``}, ``estimates`` {``decode_tokens_per_s``,
        ``prefill_tokens_per_s``, ``power_w``, ``joules_per_token``, ``bound``,
        ``prefill_bound``, ``method``, ``confidence`` {``level``, ``low``, ``high``,
        ``reason``, ``decode_tokens_per_s`` [low, high] or null}}, ``thermal`` {``class``,
        ``source``, ``watts``, ``heuristic`` {``score``, ``class``, ``reasons``}}.
        """
        e = self.estimates
        c = e.confidence
        decode_range = (
            list(c.range(e.decode_tokens_per_s)) if e.decode_tokens_per_s is not None else None
        )
        h = self.thermal.heuristic
        return {
            "id": self.id,
            "architecture_class": self.architecture_class,
            "params": {"total": self.params_total, "active": self.params_active},
            "precision": self.precision.name,
            "hardware": self.hardware.name,
            "memory_bytes": dict(self.memory_by_precision),
            "weights_bytes": dict(self.weights_by_precision),
            "memory": {
                "weights_bytes": self.memory.weights_bytes,
                "kv_cache_bytes": self.memory.kv_cache_bytes,
                "overhead_bytes": self.memory.overhead_bytes,
                "total_bytes": self.memory.total_bytes,
                "rule": self.memory.rule,
                "kv_method": self.memory.kv_method,
            },
            "kv_cache_bytes": self.memory.kv_cache_bytes,
            "context": self.context,
            "batch": self.batch,
            "fit": {
                "level": self.fit.level,
                "required_bytes": self.fit.required_bytes,
                "available_bytes": self.fit.available_bytes,
                "device": self.fit.device,
            },
            "estimates": {
                "decode_tokens_per_s": e.decode_tokens_per_s,
                "prefill_tokens_per_s": e.prefill_tokens_per_s,
                "power_w": e.power_w,
                "joules_per_token": e.joules_per_token,
                "bound": e.bound,
                "prefill_bound": e.prefill_bound,
                "method": e.method,
                "confidence": {
                    "level": c.level,
                    "low": c.low,
                    "high": c.high,
                    "reason": c.reason,
                    "decode_tokens_per_s": decode_range,
                },
            },
            "thermal": {
                "class": self.thermal.klass,
                "source": self.thermal.source,
                "watts": self.thermal.watts,
                "heuristic": {"score": h.score, "class": h.klass, "reasons": list(h.reasons)},
            },
        }


def _decode_layers(cfg: ModelConfig | None) -> int | None:
    """Layers run per generated token: the decoder's (all layers for decoder-only models)."""
    if cfg is None:
        return None
    return cfg.num_decoder_layers if cfg.num_decoder_layers is not None else cfg.num_layers


def analyze(
    cfg: ModelConfig | None,
    params_total: int,
    params_active: int,
    *,
    name: str,
    hardware: HardwareProfile,
    precision: Precision | str = BF16,
    context: int = 4096,
    batch: int = 1,
    measured_w: float | None = None,
    calibration: float | None = None,
    architecture_class: ArchitectureClass | None = None,
) -> Analysis:
    """Analyse one model on one device.

    Args:
        cfg: The architecture, or None when only the parameter count is known (a vision model
            from a results table): the KV cache is then reported as not estimated.
        params_total: All parameters (they all sit in memory).
        params_active: Parameters used per token (== total for dense models).
        name: Model id, used for the id and the thermal heuristic.
        hardware: The device (a table profile or :func:`profile_from_hardware`).
        precision: Weight precision (a :class:`Precision` or a spelling for
            :func:`parse_precision`).
        context: Tokens per sequence (prompt + generated).
        batch: Sequences.
        measured_w: Watts measured by a benchmark of this model here, if any.
        calibration: Measured ÷ predicted speed ratio for this machine, if calibrated.
        architecture_class: The class when ``cfg`` is None (default ``encoder-only``: no
            generation estimate).

    Returns:
        The analysis.

    Raises:
        AnalysisError: For inconsistent parameter counts, bad context/batch or a bad precision.
    """
    if params_total <= 0 or params_active <= 0:
        raise AnalysisError(f"{name}: parameter counts must be > 0")
    if params_active > params_total:
        raise AnalysisError(
            f"{name}: active parameters ({params_active:,}) exceed the total ({params_total:,})"
        )
    chosen = parse_precision(precision) if isinstance(precision, str) else precision
    if cfg is None:
        kv = KvCache(0, 0, "not estimated: no architecture facts (layers, heads) for this model")
        klass_of_model: ArchitectureClass = architecture_class or "encoder-only"
    else:
        kv = kv_cache_bytes(cfg, context, batch, default_kv_precision(chosen))
        klass_of_model = cfg.architecture_class
    memory = memory_requirement(params_total, cfg, chosen, context, batch, hardware.kind, kv=kv)
    totals: dict[str, int] = {}
    weights: dict[str, int] = {}
    for p in (*REPORTED_PRECISIONS, chosen):
        if p.name in totals:
            continue
        # fp32 weights keep an fp32 KV cache; every other precision shares the bf16 one.
        if p is chosen:
            m = memory
        elif cfg is None or default_kv_precision(p) is default_kv_precision(chosen):
            m = memory_requirement(params_total, cfg, p, context, batch, hardware.kind, kv=kv)
        else:
            m = memory_requirement(params_total, cfg, p, context, batch, hardware.kind)
        totals[p.name] = m.total_bytes
        weights[p.name] = m.weights_bytes

    verdict = fit(memory.total_bytes, hardware.available_bytes, hardware.name)
    generates = klass_of_model in _GENERATING_CLASSES or (
        cfg is not None and cfg.num_decoder_layers is not None
    )
    speed = estimate(
        params_active,
        chosen,
        hardware,
        kv_bytes=kv.bytes,
        context=context,
        batch=batch,
        generates=generates,
        moe=params_active < params_total,
        calibration=calibration,
        layers=_decode_layers(cfg),
    )
    heuristic = heuristic_class(name, params_total)
    klass = thermal_class(heuristic, speed.power_w, measured_w)
    return Analysis(
        id=name,
        architecture_class=klass_of_model,
        params_total=params_total,
        params_active=params_active,
        precision=chosen,
        context=context,
        batch=batch,
        hardware=hardware,
        memory=memory,
        memory_by_precision=ByPrecision.of(totals),
        weights_by_precision=ByPrecision.of(weights),
        fit=verdict,
        estimates=speed,
        thermal=klass,
    )
