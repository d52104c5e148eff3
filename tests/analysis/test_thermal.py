"""Thermal classes: every heuristic rule and boundary, watts, and source priority."""

from __future__ import annotations

import math

import pytest

from core.analysis.thermal import (
    EFFICIENT_ARCHITECTURES,
    class_for_score,
    class_from_watts,
    heuristic_class,
    name_tokens,
    thermal_class,
)
from core.errors import AnalysisError

M = 1_000_000
B = 1_000_000_000
# 500M: the neutral parameter bucket (0), so a score equals the name's base.
NEUTRAL = 500 * M


@pytest.mark.parametrize(
    ("name", "base"),
    [
        ("org/model-tiny", 1),
        ("org/model-small", 2),
        ("org/model-base", 3),
        ("org/model-large", 4),
        ("org/model-xl", 5),
        ("org/model-xxl", 6),
        ("org/model", 3),  # no tier word
        ("org/MODEL-LARGE", 4),  # case-insensitive
        ("org/model_small_v2", 2),  # underscores split tokens
        ("org/model.tiny", 1),
    ],
)
def test_each_tier_word(name: str, base: int) -> None:
    h = heuristic_class(name, NEUTRAL)
    assert h.score == base


@pytest.mark.parametrize(
    "name",
    [
        "org/smallville",  # contains "small" but is not the token "small"
        "TinyLlama/TinyLlama-1.1B",  # "tinyllama" is not "tiny"
        "org/xlm-roberta",  # "xlm" is not "xl"
        "org/largest-model",
        "org/basement",
        "org/deberta-v3-xsmall",
        "org/model-xxxl",
    ],
)
def test_tier_words_match_whole_tokens_only(name: str) -> None:
    assert heuristic_class(name, NEUTRAL).score == 3


def test_tier_word_in_the_organisation_is_ignored() -> None:
    assert heuristic_class("large-org/model", NEUTRAL).score == 3


def test_first_tier_word_wins() -> None:
    assert heuristic_class("org/small-to-large", NEUTRAL).score == 2


@pytest.mark.parametrize(
    ("params", "points"),
    [
        (0, -1),
        (99_999_999, -1),
        (100 * M, 0),  # 100M is in 100M–1B
        (999_999_999, 0),
        (1 * B, 1),  # 1B is in 1B–10B
        (10 * B, 1),  # 10B is not > 10B
        (10 * B + 1, 2),
        (70 * B, 2),
        (None, 0),  # unknown
    ],
)
def test_each_parameter_boundary(params: int | None, points: int) -> None:
    assert heuristic_class("org/model", params).score == 3 + points


def test_negative_parameters_raise() -> None:
    with pytest.raises(AnalysisError):
        heuristic_class("org/model", -1)


@pytest.mark.parametrize(
    "name",
    [
        "distilbert/distilbert-base-uncased",
        "distil-whisper/distil-large-v3",
        "org/distilroberta-base",
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
        "org/model-distilled",
        "distilgpt2",
    ],
)
def test_distilled_minus_one(name: str) -> None:
    plain = name.lower().replace("distilled", "x").replace("distill", "x").replace("distil", "x")
    h = heuristic_class(name, NEUTRAL)
    assert h.score == heuristic_class(plain, NEUTRAL).score - 1
    assert any("distilled" in r for r in h.reasons)


def test_distil_must_start_the_token() -> None:
    h = heuristic_class("org/undistilled-model", NEUTRAL)
    assert h.score == 3


@pytest.mark.parametrize(
    "name",
    [
        "albert/albert-base-v2",
        "google/mobilebert-uncased",
        "google/mobilenet_v2_1.0_224",
        "timm/mobilenetv3_large_100.ra_in1k",
        "apple/mobilevit-small",
        "timm/efficientnet_b0.ra_in1k",
        "timm/efficientnetv2_rw_s",
        "pytorch/squeezenet1_0",
        "squeezebert/squeezebert-uncased",
        "timm/shufflenet",
        "timm/mnasnet_100",
        "timm/ghostnet_100",
    ],
)
def test_efficient_architectures_minus_one(name: str) -> None:
    h = heuristic_class(name, NEUTRAL)
    tokens = name_tokens(name)
    tier = next((t for t in tokens if t in {"tiny", "small", "base", "large", "xl", "xxl"}), None)
    base = {"tiny": 1, "small": 2, "base": 3, "large": 4, "xl": 5, "xxl": 6}.get(tier or "", 3)
    assert h.score == base - 1
    assert any("efficient architecture" in r for r in h.reasons)


def test_every_listed_efficient_architecture_is_recognised() -> None:
    for arch in EFFICIENT_ARCHITECTURES:
        assert heuristic_class(f"org/{arch}", NEUTRAL).score == 2, arch
        assert heuristic_class(f"org/{arch}v2", NEUTRAL).score == 2, arch


@pytest.mark.parametrize("name", ["org/albertina-ptbr", "org/mobilenetwork", "org/netalbert"])
def test_efficient_names_must_be_whole_tokens(name: str) -> None:
    assert heuristic_class(name, NEUTRAL).score == 3


def test_rules_combine() -> None:
    # distilled (−1) + efficient (−1) + base tier 3 + < 100M (−1) = 0.
    h = heuristic_class("org/distil-albert-base", 20 * M)
    assert h.score == 0
    assert h.klass == "low"
    assert len(h.reasons) == 4
    assert h.source == "heuristic"


@pytest.mark.parametrize(
    ("name", "params", "score", "klass"),
    [
        ("distilbert/distilbert-base-uncased", 66_955_010, 1, "low"),
        ("google-bert/bert-base-uncased", 110_106_428, 3, "medium"),
        ("google-bert/bert-large-uncased", 335_141_888, 4, "high"),
        ("meta-llama/Llama-3.1-8B", 8_030_261_248, 4, "high"),
        ("google/flan-t5-xxl", 11_266_992_128, 8, "very-high"),
        ("openai/whisper-tiny", 39_000_000, 0, "low"),
    ],
)
def test_real_models(name: str, params: int, score: int, klass: str) -> None:
    h = heuristic_class(name, params)
    assert (h.score, h.klass) == (score, klass)


@pytest.mark.parametrize(
    ("score", "klass"),
    [
        (-3, "low"),
        (1, "low"),
        (2, "medium"),
        (3, "medium"),
        (4, "high"),
        (5, "high"),
        (6, "very-high"),
        (8, "very-high"),
    ],
)
def test_class_boundaries(score: int, klass: str) -> None:
    assert class_for_score(score) == klass


@pytest.mark.parametrize(
    ("watts", "klass"),
    [
        (0.0, "low"),
        (5.0, "low"),
        (9.99, "low"),
        (10.0, "medium"),
        (49.99, "medium"),
        (50.0, "high"),
        (149.99, "high"),
        (150.0, "very-high"),
        (700.0, "very-high"),
    ],
)
def test_class_from_watts(watts: float, klass: str) -> None:
    assert class_from_watts(watts) == klass


@pytest.mark.parametrize("watts", [-1.0, math.nan, math.inf])
def test_bad_watts_raise(watts: float) -> None:
    with pytest.raises(AnalysisError):
        class_from_watts(watts)


def test_source_priority() -> None:
    h = heuristic_class("meta-llama/Llama-3.1-8B", 8_030_261_248)  # high
    both = thermal_class(h, estimated_w=30.0, measured_w=200.0)
    assert (both.klass, both.source, both.watts) == ("very-high", "measured", 200.0)
    est = thermal_class(h, estimated_w=30.0, measured_w=None)
    assert (est.klass, est.source, est.watts) == ("medium", "estimated", 30.0)
    none = thermal_class(h, None, None)
    assert (none.klass, none.source, none.watts) == ("high", "heuristic", None)
    for t in (both, est, none):
        assert t.heuristic is h
