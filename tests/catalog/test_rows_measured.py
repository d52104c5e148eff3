"""Measured values and calibration from benchmarks flow into the catalog rows."""

from __future__ import annotations

from types import SimpleNamespace

from core.analysis.hardware_profiles import profile_for
from core.catalog.embedded import get
from core.catalog.rows import AnalysisSettings, analyze_entry

MODEL = "Qwen/Qwen3-8B"


def test_a_measured_model_is_marked_and_its_thermal_class_comes_from_the_measurement() -> None:
    run = SimpleNamespace(avg_power_w=8.0, label="41.2 tok/s · 8 W (measured)")
    settings = AnalysisSettings(profile_for("RTX 4090"), measured={MODEL.casefold(): run})
    row = analyze_entry(get(MODEL), settings)
    assert row.measured and row.measurement is run
    assert row.analysis is not None
    assert row.analysis.thermal.source == "measured" and row.analysis.thermal.klass == "low"
    plain = analyze_entry(get(MODEL), AnalysisSettings(profile_for("RTX 4090")))
    assert not plain.measured and plain.analysis is not None
    assert plain.analysis.thermal.source != "measured"


def test_calibration_scales_the_estimates_and_raises_the_confidence() -> None:
    base = analyze_entry(get(MODEL), AnalysisSettings(profile_for("RTX 4090")))
    half = analyze_entry(get(MODEL), AnalysisSettings(profile_for("RTX 4090"), calibration=0.5))
    assert base.analysis is not None and half.analysis is not None
    b, h = base.analysis.estimates, half.analysis.estimates
    assert b.decode_tokens_per_s is not None and h.decode_tokens_per_s is not None
    assert h.decode_tokens_per_s < b.decode_tokens_per_s
    assert "calibration 0.5" in h.method and h.confidence.level == "high"
