"""Side-by-side comparison of 2–4 analysed models, one metric per row.

:func:`compare` takes :class:`~core.catalog.rows.ModelRow` values (catalog, Hub or cache rows,
all analysed for the same hardware, precision and context) and returns a :class:`Comparison`:
for every metric of :data:`METRICS`, one :class:`Cell` per model (its JSON value, its text, a
bar fraction 0..1 and whether it is the best in the row). The same structure feeds the Compare
screen (text + bar + highlight) and ``thermal-scout compare --json`` (:meth:`Comparison.to_json`).

Best-in-row rules:

- a metric's :data:`Direction` is ``higher`` (tokens/s, context window, downloads), ``lower``
  (memory, watts, joules per token, fit level, thermal class) or ``none`` (parameters,
  architecture, bound, licence: different, not better or worse);
- the best are the model(s) with the highest (or lowest) comparable value; ties are all best
  (values within 0.5 % of the best, :data:`TIE_TOLERANCE`: 237.8 W and 237.9 W both show as
  238 W); a None value (unknown, not applicable) is never best;
  a ``none`` row has no best;
- the bar fraction is ``value ÷ the row's largest value`` for numbers (None for unknown values);
  ordinal rows (fit level, thermal class) use ``(rank + 1) ÷ ranks`` (``fits`` 1/3, ``low`` 1/4);
  text rows have no bar.

Measured results (benchmarks) plug in through ``measured``: a mapping from model id to
:class:`Measured` (or a plain mapping with the same keys). A model without results shows None
in the measured rows; measured watts, when present, also make the thermal class ``measured``.

Example:
    >>> from core.analysis.hardware_profiles import profile_for
    >>> from core.catalog.embedded import get
    >>> from core.catalog.rows import AnalysisSettings, analyze_entry
    >>> settings = AnalysisSettings(profile_for("RTX 4090"))
    >>> rows = [analyze_entry(get(i), settings) for i in ("Qwen/Qwen3-4B", "Qwen/Qwen3-8B")]
    >>> result = compare(rows)
    >>> result.metric("decode_tokens_per_s").best
    ('Qwen/Qwen3-4B',)
    >>> result.metric("licence").best, result.metric("licence").direction
    ((), 'none')
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Literal

from core.analysis.analyze import Analysis
from core.analysis.thermal import ThermalClass, thermal_class
from core.catalog.columns import FIT_ORDER, THERMAL_ORDER, human_bytes, human_count
from core.catalog.rows import ModelRow
from core.errors import AnalysisError

Direction = Literal["higher", "lower", "none"]
"""Which way a metric is better."""

MIN_MODELS = 2
MAX_MODELS = 4
TIE_TOLERANCE = 0.005
"""Values within 0.5 % of each other are a tie (estimates are nowhere near that precise)."""
_NONE: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Measured:
    """Benchmark results for one model on this machine (any field may be unknown).

    Attributes:
        decode_tokens_per_s: Measured generation speed.
        prefill_tokens_per_s: Measured prompt-processing speed.
        power_w: Mean device power during the run.
        joules_per_token: Energy per generated token (derived from watts ÷ tok/s when absent).
        peak_temp_c: Highest device temperature during the run.
    """

    decode_tokens_per_s: float | None = None
    prefill_tokens_per_s: float | None = None
    power_w: float | None = None
    joules_per_token: float | None = None
    peak_temp_c: float | None = None

    @classmethod
    def coerce(cls, value: Measured | Mapping[str, Any] | None) -> Measured | None:
        """A :class:`Measured` from itself, a mapping with its field names (others ignored), or
        None. Non-numeric values become None."""
        if value is None or isinstance(value, Measured):
            return value
        out: dict[str, float | None] = {}
        for f in fields(cls):
            raw = value.get(f.name)
            if isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw):
                out[f.name] = float(raw)
            else:
                out[f.name] = None
        return cls(**out)

    @property
    def energy_per_token(self) -> float | None:
        """Joules per token: measured, else watts ÷ decode tok/s, else None."""
        if self.joules_per_token is not None:
            return self.joules_per_token
        if self.power_w is not None and self.decode_tokens_per_s:
            return self.power_w / self.decode_tokens_per_s
        return None


@dataclass(frozen=True)
class Cell:
    """One model's value in one metric row.

    Attributes:
        value: The JSON value (number, string or None when unknown / not applicable).
        text: What a table shows (``—`` when unknown).
        fraction: Bar length 0..1, or None (unknown value, or a text metric).
        is_best: True when this model is (one of) the best in the row.
        extra: Further JSON keys this cell adds to the model (``thermal_source``).
    """

    value: Any
    text: str
    fraction: float | None
    is_best: bool = False
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class MetricRow:
    """One metric across the compared models.

    Attributes:
        key: Stable name (JSON key).
        label: Row header (``Weights (bf16)``, ``KV cache (4,096 tok)``).
        direction: ``higher``, ``lower`` or ``none``.
        cells: One per model, in the comparison's order.
        best: Ids of the best model(s); empty for ``none`` rows and rows with no known value.
        unit: Unit of the numeric value (``B``, ``tok/s``, ``W``, ``J/tok`` ...), or ``""``.
    """

    key: str
    label: str
    direction: Direction
    cells: tuple[Cell, ...]
    best: tuple[str, ...]
    unit: str = ""

    @property
    def empty(self) -> bool:
        """True when no model has a value (a screen may hide the row)."""
        return all(cell.value is None for cell in self.cells)


@dataclass(frozen=True)
class Comparison:
    """The compared models and every metric row.

    Attributes:
        ids: Model ids, in the order given.
        rows: The analysed rows, same order.
        hardware: Device name the analyses are for (None when no row was analysed).
        precision: Precision name (None when no row was analysed).
        context: Context tokens (None when no row was analysed).
        metrics: Every metric of :data:`METRICS`, in display order.
        errors: Model id → why it could not be analysed (its analysis rows are None).
    """

    ids: tuple[str, ...]
    rows: tuple[ModelRow, ...]
    hardware: str | None
    precision: str | None
    context: int | None
    metrics: tuple[MetricRow, ...]
    errors: Mapping[str, str]

    def metric(self, key: str) -> MetricRow:
        """The row for ``key``.

        Raises:
            KeyError: For an unknown metric key.
        """
        for row in self.metrics:
            if row.key == key:
                return row
        raise KeyError(key)

    @property
    def best(self) -> dict[str, tuple[str, ...]]:
        """Metric key → best id(s), for the metrics that have a best."""
        return {m.key: m.best for m in self.metrics if m.best}

    def to_json(self) -> dict[str, Any]:
        """``{"hardware", "precision", "context", "models": [{"id", metric: value, ...}],
        "best": {metric: [id, ...]}}`` (the CLI's ``compare --json``).

        Each model also carries ``source``, ``thermal_source`` and ``error`` (None when it
        was analysed).
        """
        models: list[dict[str, Any]] = []
        for i, row in enumerate(self.rows):
            item: dict[str, Any] = {"id": row.id, "source": row.source}
            for metric in self.metrics:
                cell = metric.cells[i]
                item[metric.key] = cell.value
                item.update(cell.extra)
            item["error"] = self.errors.get(row.id)
            models.append(item)
        return {
            "hardware": self.hardware,
            "precision": self.precision,
            "context": self.context,
            "models": models,
            "best": {key: list(ids) for key, ids in self.best.items()},
        }


@dataclass(frozen=True)
class _Subject:
    """What one metric reads: the row, its analysis, its measured results, its class."""

    row: ModelRow
    analysis: Analysis | None
    measured: Measured | None
    thermal: ThermalClass | None


@dataclass(frozen=True)
class Metric:
    """How to read, show and rank one metric.

    Attributes:
        key: JSON key.
        label: Header; ``{precision}`` and ``{context}`` are filled in.
        direction: Which way is better.
        value: The JSON value for a model (None: unknown / not applicable).
        text: The cell text for a non-None value.
        rank: Comparable number for a non-None value (default: the value itself); for ordinal
            metrics, the rank (0 = best).
        ranks: Number of ordinal ranks (fraction = (rank + 1) ÷ ranks); 0 for plain numbers.
        numeric: True when the bar is ``value ÷ max``.
        unit: Unit of the value.
        extra: Further JSON keys for a model.
    """

    key: str
    label: str
    direction: Direction
    value: Callable[[_Subject], Any]
    text: Callable[[Any], str] = str
    rank: Callable[[Any], float] | None = None
    ranks: int = 0
    numeric: bool = False
    unit: str = ""
    extra: Callable[[_Subject], Mapping[str, Any]] | None = None


def _num(digits: int, unit: str = "") -> Callable[[Any], str]:
    def text(value: Any) -> str:
        return f"{value:,.{digits}f}{unit}"

    return text


def _kv_bytes(s: _Subject) -> int | None:
    a = s.analysis
    if a is None or a.memory.kv_method.startswith("not estimated"):
        return None
    return a.memory.kv_cache_bytes


def _joules(s: _Subject) -> float | None:
    a = s.analysis
    if a is None or not a.estimates.decode_tokens_per_s:
        return None
    return a.estimates.joules_per_token


def context_window(row: ModelRow) -> int | None:
    """The model's maximum positions (context window) from its source's facts, if known."""
    facts = row.facts
    for name in ("max_position_embeddings", "context_length", "max_context"):
        value = facts.get(name) if isinstance(facts, Mapping) else getattr(facts, name, None)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _m(s: _Subject, name: str) -> float | None:
    if s.measured is None:
        return None
    if name == "joules_per_token":
        return s.measured.energy_per_token
    value = getattr(s.measured, name)
    return float(value) if isinstance(value, int | float) else None


METRICS: tuple[Metric, ...] = (
    Metric(
        "params",
        "Parameters",
        "none",
        lambda s: s.row.params_total,
        human_count,
        numeric=True,
    ),
    Metric(
        "architecture_class",
        "Architecture",
        "none",
        lambda s: s.analysis.architecture_class if s.analysis else (s.row.kind or None),
    ),
    Metric(
        "weights_bytes",
        "Weights ({precision})",
        "lower",
        lambda s: s.analysis.memory.weights_bytes if s.analysis else None,
        human_bytes,
        numeric=True,
        unit="B",
    ),
    Metric(
        "kv_cache_bytes",
        "KV cache ({context} tok)",
        "lower",
        _kv_bytes,
        human_bytes,
        numeric=True,
        unit="B",
    ),
    Metric(
        "total_bytes",
        "Total memory",
        "lower",
        lambda s: s.analysis.memory.total_bytes if s.analysis else None,
        human_bytes,
        numeric=True,
        unit="B",
    ),
    Metric(
        "fit",
        "Fits",
        "lower",
        lambda s: s.analysis.fit.level if s.analysis else None,
        rank=lambda v: FIT_ORDER[v],
        ranks=len(FIT_ORDER),
    ),
    Metric(
        "decode_tokens_per_s",
        "Decode tok/s",
        "higher",
        lambda s: s.analysis.estimates.decode_tokens_per_s if s.analysis else None,
        _num(1),
        numeric=True,
        unit="tok/s",
    ),
    Metric(
        "prefill_tokens_per_s",
        "Prefill tok/s",
        "higher",
        lambda s: s.analysis.estimates.prefill_tokens_per_s if s.analysis else None,
        _num(0),
        numeric=True,
        unit="tok/s",
    ),
    Metric(
        "bound",
        "Bound",
        "none",
        lambda s: s.analysis.estimates.bound if s.analysis else None,
    ),
    Metric(
        "power_w",
        "Watts",
        "lower",
        lambda s: s.analysis.estimates.power_w if s.analysis else None,
        _num(0, " W"),
        numeric=True,
        unit="W",
    ),
    Metric(
        "joules_per_token",
        "Joules/token",
        "lower",
        _joules,
        _num(2),
        numeric=True,
        unit="J/tok",
    ),
    Metric(
        "thermal_class",
        "Thermal class",
        "lower",
        lambda s: s.thermal.klass if s.thermal else None,
        rank=lambda v: THERMAL_ORDER[v],
        ranks=len(THERMAL_ORDER),
        extra=lambda s: {"thermal_source": s.thermal.source if s.thermal else None},
    ),
    Metric(
        "measured_decode_tokens_per_s",
        "Measured tok/s",
        "higher",
        lambda s: _m(s, "decode_tokens_per_s"),
        _num(1),
        numeric=True,
        unit="tok/s",
    ),
    Metric(
        "measured_power_w",
        "Measured watts",
        "lower",
        lambda s: _m(s, "power_w"),
        _num(0, " W"),
        numeric=True,
        unit="W",
    ),
    Metric(
        "measured_joules_per_token",
        "Measured J/token",
        "lower",
        lambda s: _m(s, "joules_per_token"),
        _num(2),
        numeric=True,
        unit="J/tok",
    ),
    Metric(
        "measured_peak_temp_c",
        "Measured peak °C",
        "lower",
        lambda s: _m(s, "peak_temp_c"),
        _num(0, " °C"),
        numeric=True,
        unit="°C",
    ),
    Metric("licence", "Licence", "none", lambda s: s.row.licence or None),
    Metric(
        "context_window",
        "Context window",
        "higher",
        lambda s: context_window(s.row),
        _num(0),
        numeric=True,
        unit="tok",
    ),
    Metric(
        "downloads",
        "Downloads",
        "higher",
        lambda s: s.row.downloads,
        human_count,
        numeric=True,
    ),
)
"""Every metric, in display order."""

METRIC_KEYS: tuple[str, ...] = tuple(m.key for m in METRICS)


def best_ids(
    ids: Sequence[str], values: Sequence[float | None], direction: Direction
) -> tuple[str, ...]:
    """The id(s) with the best value; ties are all best, None is never best.

    Example:
        >>> best_ids(["a", "b", "c"], [3.0, None, 3.001], "higher")
        ('a', 'c')
        >>> best_ids(["a", "b"], [1, 2], "lower"), best_ids(["a", "b"], [1, 2], "none")
        (('a',), ())
        >>> best_ids(["a", "b"], [None, None], "higher")
        ()
    """
    if len(ids) != len(values):
        raise ValueError("one value per id")
    known = [v for v in values if v is not None]
    if direction == "none" or not known:
        return ()
    target = max(known) if direction == "higher" else min(known)
    return tuple(
        i
        for i, v in zip(ids, values, strict=True)
        if v is not None and math.isclose(v, target, rel_tol=TIE_TOLERANCE, abs_tol=0.0)
    )


def bar_fractions(values: Sequence[float | None]) -> tuple[float | None, ...]:
    """``value ÷ max`` for each non-negative value (None stays None; all zero → 0).

    Example:
        >>> bar_fractions([50, None, 100, 0])
        (0.5, None, 1.0, 0.0)
    """
    known = [v for v in values if v is not None and v >= 0]
    top = max(known, default=0.0)
    return tuple(None if v is None or v < 0 else (v / top if top > 0 else 0.0) for v in values)


def _subject(row: ModelRow, measured: Measured | None) -> _Subject:
    a = row.analysis
    thermal: ThermalClass | None = None
    if a is not None:
        thermal = a.thermal
        if measured is not None and measured.power_w is not None and measured.power_w >= 0:
            thermal = thermal_class(a.thermal.heuristic, a.estimates.power_w, measured.power_w)
    return _Subject(row, a, measured, thermal)


def _metric_row(
    metric: Metric, subjects: Sequence[_Subject], labels: Mapping[str, str]
) -> MetricRow:
    ids = [s.row.id for s in subjects]
    values = [metric.value(s) for s in subjects]
    comparable: list[float | None] = []
    for v in values:
        if v is None:
            comparable.append(None)
        elif metric.rank is not None:
            comparable.append(metric.rank(v))
        elif isinstance(v, int | float) and not isinstance(v, bool):
            comparable.append(float(v))
        else:
            comparable.append(None)
    best = best_ids(ids, comparable, metric.direction)
    if metric.ranks:
        fractions: tuple[float | None, ...] = tuple(
            None if c is None else (c + 1) / metric.ranks for c in comparable
        )
    elif metric.numeric:
        fractions = bar_fractions(comparable)
    else:
        fractions = tuple(None for _ in values)
    cells = tuple(
        Cell(
            value=v,
            text="—" if v is None else metric.text(v),
            fraction=fractions[i],
            is_best=ids[i] in best,
            extra=MappingProxyType(dict(metric.extra(subjects[i]))) if metric.extra else _NONE,
        )
        for i, v in enumerate(values)
    )
    label = metric.label.format(**labels)
    return MetricRow(metric.key, label, metric.direction, cells, best, metric.unit)


def compare(
    rows: Sequence[ModelRow],
    *,
    measured: Mapping[str, Measured | Mapping[str, Any]] | None = None,
    metrics: Sequence[Metric] = METRICS,
) -> Comparison:
    """Compare 2–4 analysed rows metric by metric.

    Args:
        rows: The models (analysed for the same hardware, precision and context). A row
            without an analysis is kept: its analysis metrics are None (and never best).
        measured: Model id → benchmark results; missing ids, or None, mean no results.
        metrics: The metrics to show (default :data:`METRICS`).

    Returns:
        The comparison.

    Raises:
        AnalysisError: Fewer than 2 or more than 4 rows, or the same id twice.
    """
    if not MIN_MODELS <= len(rows) <= MAX_MODELS:
        raise AnalysisError(f"compare needs {MIN_MODELS} to {MAX_MODELS} models, got {len(rows)}")
    seen: set[str] = set()
    for row in rows:
        key = row.id.casefold()
        if key in seen:
            raise AnalysisError(f"{row.id} is listed twice; compare different models")
        seen.add(key)
    results = measured or {}
    subjects = [_subject(row, Measured.coerce(results.get(row.id))) for row in rows]
    first = next((row.analysis for row in rows if row.analysis is not None), None)
    labels = {
        "precision": first.precision.name if first else "—",
        "context": f"{first.context:,}" if first else "—",
    }
    table = tuple(_metric_row(metric, subjects, labels) for metric in metrics)
    errors = {row.id: row.error or "not analysed" for row in rows if row.analysis is None}
    return Comparison(
        ids=tuple(row.id for row in rows),
        rows=tuple(rows),
        hardware=first.hardware.name if first else None,
        precision=first.precision.name if first else None,
        context=first.context if first else None,
        metrics=table,
        errors=MappingProxyType(errors),
    )
