"""Side-by-side comparison: best-in-row (direction, ties, None), bars, measured results, JSON."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from core.analysis.analyze import analyze
from core.analysis.compare import (
    METRIC_KEYS,
    METRICS,
    TIE_TOLERANCE,
    Measured,
    bar_fractions,
    best_ids,
    compare,
    context_window,
)
from core.analysis.hardware_profiles import profile_for
from core.catalog.embedded import get
from core.catalog.rows import AnalysisSettings, ModelRow, analyze_entry
from core.errors import AnalysisError

RTX_4090 = AnalysisSettings(profile_for("RTX 4090"))


def catalog(*ids: str, settings: AnalysisSettings = RTX_4090) -> list[ModelRow]:
    return [analyze_entry(get(i), settings) for i in ids]


def synthetic(model_id: str, params: int, **kw: Any) -> ModelRow:
    """A row with only a parameter count (no architecture): the KV cache is not estimated."""
    analysis = analyze(
        None,
        params,
        params,
        name=model_id,
        hardware=RTX_4090.hardware,
        architecture_class="decoder-only",
    )
    fields: dict[str, Any] = {
        "id": model_id,
        "source": "hub",
        "task": "text-generation",
        "kind": "llm",
        "family": None,
        "licence": "mit",
        "downloads": None,
        "likes": None,
        "params_total": params,
        "params_method": "test",
        "analysis": analysis,
        "error": None,
    }
    fields.update(kw)
    return ModelRow(**fields)


def failed(model_id: str) -> ModelRow:
    return synthetic(model_id, 1, analysis=None, error="cannot analyse: unknown architecture")


# --- best in row -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "direction", "best"),
    [
        ([1.0, 2.0, 3.0], "higher", ("c",)),
        ([1.0, 2.0, 3.0], "lower", ("a",)),
        ([1.0, 2.0, 3.0], "none", ()),
        ([3.0, 2.0, 3.0], "higher", ("a", "c")),  # ties: all best
        ([2.0, 2.0, 2.0], "lower", ("a", "b", "c")),
        ([None, 2.0, 5.0], "lower", ("b",)),  # None is never best
        ([None, None, 5.0], "higher", ("c",)),  # a lone value is best
        ([None, None, None], "higher", ()),
        ([0.0, 1.0, None], "lower", ("a",)),  # zero is a value, not "unknown"
    ],
)
def test_best_ids(values: list[float | None], direction: Any, best: tuple[str, ...]) -> None:
    assert best_ids(["a", "b", "c"], values, direction) == best


def test_ties_are_values_within_the_tolerance() -> None:
    inside = 100 * (1 - TIE_TOLERANCE / 2)
    outside = 100 * (1 - 2 * TIE_TOLERANCE)
    assert best_ids(["a", "b"], [100.0, inside], "higher") == ("a", "b")
    assert best_ids(["a", "b"], [100.0, outside], "higher") == ("a",)


def test_best_ids_needs_one_value_per_id() -> None:
    with pytest.raises(ValueError):
        best_ids(["a"], [1.0, 2.0], "higher")


def test_bar_fractions() -> None:
    assert bar_fractions([2.0, 4.0, None]) == (0.5, 1.0, None)
    assert bar_fractions([0.0, 0.0]) == (0.0, 0.0)
    assert bar_fractions([None, None]) == (None, None)


# --- comparison --------------------------------------------------------------------------------


def test_every_metric_has_a_cell_per_model_and_a_direction() -> None:
    result = compare(catalog("Qwen/Qwen3-4B", "Qwen/Qwen3-8B", "meta-llama/Llama-3.1-8B"))
    assert tuple(m.key for m in result.metrics) == METRIC_KEYS
    assert result.ids == ("Qwen/Qwen3-4B", "Qwen/Qwen3-8B", "meta-llama/Llama-3.1-8B")
    for metric in result.metrics:
        assert len(metric.cells) == 3
        assert metric.direction in ("higher", "lower", "none")
        assert set(metric.best) <= set(result.ids)
        for cell, model_id in zip(metric.cells, result.ids, strict=True):
            assert cell.is_best == (model_id in metric.best)
            assert cell.fraction is None or 0.0 <= cell.fraction <= 1.0
            assert (cell.value is None) == (cell.text == "—")


def test_directions_pick_the_right_model() -> None:
    result = compare(catalog("Qwen/Qwen3-4B", "Qwen/Qwen3-8B"))
    small = "Qwen/Qwen3-4B"
    assert result.metric("decode_tokens_per_s").best == (small,)  # higher is better
    assert result.metric("prefill_tokens_per_s").best == (small,)
    assert result.metric("weights_bytes").best == (small,)  # lower is better
    assert result.metric("total_bytes").best == (small,)
    assert result.metric("joules_per_token").best == (small,)
    # same architecture family: identical KV cache and context window → a tie
    assert result.metric("kv_cache_bytes").best == result.ids
    assert result.metric("context_window").best == result.ids
    # both fit and both are "very-high" on an RTX 4090: ordinal ties
    assert result.metric("fit").best == result.ids
    assert result.metric("thermal_class").best == result.ids
    # not comparable: no best
    for key in ("params", "architecture_class", "bound", "licence"):
        assert result.metric(key).direction == "none"
        assert result.metric(key).best == ()
        assert not any(c.is_best for c in result.metric(key).cells)


def test_bars_are_value_over_the_row_maximum() -> None:
    result = compare(catalog("Qwen/Qwen3-4B", "Qwen/Qwen3-8B"))
    weights = result.metric("weights_bytes")
    small, big = (c.value for c in weights.cells)
    assert weights.cells[1].fraction == 1.0
    assert weights.cells[0].fraction == pytest.approx(small / big)
    fit = result.metric("fit")
    assert [c.fraction for c in fit.cells] == [pytest.approx(1 / 3)] * 2  # "fits": rank 0 of 3
    thermal = result.metric("thermal_class")
    assert [c.fraction for c in thermal.cells] == [1.0, 1.0]  # "very-high": rank 3 of 4
    assert result.metric("licence").cells[0].fraction is None  # text rows have no bar


def test_fit_level_ranks_fits_best() -> None:
    small = RTX_4090
    result = compare(catalog("Qwen/Qwen3-8B", "Qwen/Qwen3-32B", settings=small))
    fit = result.metric("fit")
    assert [c.value for c in fit.cells] == ["fits", "too-tight"]
    assert fit.best == ("Qwen/Qwen3-8B",)


def test_labels_carry_precision_and_context() -> None:
    settings = AnalysisSettings(profile_for("H100 SXM 80GB"), "int8", 8192)
    result = compare(catalog("Qwen/Qwen3-4B", "Qwen/Qwen3-8B", settings=settings))
    assert result.metric("weights_bytes").label == "Weights (int8)"
    assert result.metric("kv_cache_bytes").label == "KV cache (8,192 tok)"
    assert (result.hardware, result.precision, result.context) == ("H100 SXM 80GB", "int8", 8192)


def test_a_row_without_analysis_is_kept_and_never_best() -> None:
    result = compare([*catalog("Qwen/Qwen3-4B"), failed("acme/mystery")])
    for metric in result.metrics:
        cell = metric.cells[1]
        assert not cell.is_best
        if metric.key not in ("params", "architecture_class", "licence"):
            assert cell.value is None and cell.fraction is None
    assert result.metric("decode_tokens_per_s").best == ("Qwen/Qwen3-4B",)
    data = result.to_json()
    assert data["models"][1]["error"] == "cannot analyse: unknown architecture"
    assert data["models"][0]["error"] is None


def test_only_unanalysed_rows() -> None:
    result = compare([failed("a/one"), failed("a/two")])
    assert result.hardware is None and result.best == {}
    assert result.metric("weights_bytes").empty


def test_kv_cache_not_estimated_is_none() -> None:
    result = compare([synthetic("a/x", 1_000_000_000), synthetic("a/y", 2_000_000_000)])
    assert [c.value for c in result.metric("kv_cache_bytes").cells] == [None, None]
    assert result.metric("kv_cache_bytes").best == ()


def test_downloads_and_licences_from_hub_rows() -> None:
    rows = [
        synthetic("a/x", 1_000_000_000, downloads=10, licence="apache-2.0"),
        synthetic("a/y", 1_000_000_000, downloads=1000, licence=None),
    ]
    result = compare(rows)
    assert result.metric("downloads").best == ("a/y",)
    assert [c.value for c in result.metric("licence").cells] == ["apache-2.0", None]
    assert [c.text for c in result.metric("downloads").cells] == ["10", "1.0K"]


@pytest.mark.parametrize("count", [0, 1, 5])
def test_two_to_four_models(count: int) -> None:
    rows = [synthetic(f"a/m{i}", 1_000_000_000) for i in range(count)]
    with pytest.raises(AnalysisError, match="2 to 4 models"):
        compare(rows)


def test_the_same_model_twice_is_refused() -> None:
    with pytest.raises(AnalysisError, match="twice"):
        compare([synthetic("a/x", 10**9), synthetic("A/X", 10**9)])


# --- measured results --------------------------------------------------------------------------


def test_measured_rows_are_none_without_results() -> None:
    result = compare(catalog("Qwen/Qwen3-4B", "Qwen/Qwen3-8B"), measured=None)
    for key in METRIC_KEYS:
        if key.startswith("measured_"):
            assert result.metric(key).empty
            assert result.metric(key).best == ()


def test_measured_results_fill_their_rows_and_the_thermal_class() -> None:
    rows = catalog("Qwen/Qwen3-4B", "Qwen/Qwen3-8B")
    measured: dict[str, Any] = {
        "Qwen/Qwen3-4B": Measured(decode_tokens_per_s=70.0, power_w=45.0, peak_temp_c=61.0),
        "Qwen/Qwen3-8B": {"decode_tokens_per_s": 38, "power_w": "n/a", "other": 1},
    }
    result = compare(rows, measured=measured)
    assert [c.value for c in result.metric("measured_decode_tokens_per_s").cells] == [70.0, 38.0]
    assert result.metric("measured_decode_tokens_per_s").best == ("Qwen/Qwen3-4B",)
    assert [c.value for c in result.metric("measured_power_w").cells] == [45.0, None]
    assert result.metric("measured_joules_per_token").cells[0].value == pytest.approx(45 / 70)
    thermal = result.metric("thermal_class")
    assert [c.value for c in thermal.cells] == ["medium", "very-high"]
    assert thermal.cells[0].extra == {"thermal_source": "measured"}
    assert thermal.cells[1].extra == {"thermal_source": "estimated"}
    assert thermal.best == ("Qwen/Qwen3-4B",)


def test_measured_coerce() -> None:
    assert Measured.coerce(None) is None
    m = Measured(power_w=10.0)
    assert Measured.coerce(m) is m
    coerced = Measured.coerce({"power_w": float("nan"), "decode_tokens_per_s": True})
    assert coerced == Measured()
    assert Measured(power_w=20.0, decode_tokens_per_s=10.0).energy_per_token == 2.0
    assert Measured(joules_per_token=1.5, power_w=20.0).energy_per_token == 1.5
    assert Measured(power_w=20.0).energy_per_token is None


# --- JSON --------------------------------------------------------------------------------------


def test_json_shape() -> None:
    result = compare(catalog("Qwen/Qwen3-4B", "Qwen/Qwen3-8B", "openai/whisper-small"))
    data = json.loads(json.dumps(result.to_json()))
    assert set(data) == {"hardware", "precision", "context", "models", "best"}
    assert [m["id"] for m in data["models"]] == list(result.ids)
    for model in data["models"]:
        assert set(METRIC_KEYS) | {"id", "source", "thermal_source", "error"} == set(model)
    assert data["best"]["decode_tokens_per_s"] == ["openai/whisper-small"]
    assert "licence" not in data["best"]
    assert all(isinstance(ids, list) and ids for ids in data["best"].values())


def test_context_window_reads_the_facts() -> None:
    row = catalog("Qwen/Qwen3-4B")[0]
    assert context_window(row) == 40960
    assert context_window(replace(row, facts={"context_length": 8192})) == 8192
    assert context_window(replace(row, facts=None)) is None
    assert context_window(replace(row, facts={"max_position_embeddings": True})) is None


def test_custom_metric_subset() -> None:
    subset = [m for m in METRICS if m.key in ("params", "power_w")]
    result = compare(catalog("Qwen/Qwen3-4B", "Qwen/Qwen3-8B"), metrics=subset)
    assert [m.key for m in result.metrics] == ["params", "power_w"]
    with pytest.raises(KeyError):
        result.metric("licence")
