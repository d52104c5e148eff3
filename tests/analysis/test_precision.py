"""Precisions: bytes per parameter from ggml block sizes, mixes, and parsing."""

from __future__ import annotations

import pytest

from core.analysis.precision import (
    BF16,
    FP8,
    FP16,
    FP32,
    INT4,
    INT8,
    PRECISIONS,
    Precision,
    parse_precision,
    precision_names,
)
from core.errors import AnalysisError


@pytest.mark.parametrize(
    ("precision", "nbytes"),
    [(FP32, 4.0), (FP16, 2.0), (BF16, 2.0), (FP8, 1.0), (INT8, 1.0), (INT4, 0.5)],
)
def test_plain_dtypes(precision: Precision, nbytes: float) -> None:
    assert precision.bytes_per_param == nbytes
    assert precision.exact


@pytest.mark.parametrize(
    ("name", "nbytes"),
    [
        # (bytes per block) / (elements per block), from ggml's block structs.
        ("Q8_0", 34 / 32),
        ("Q6_K", 210 / 256),
        ("Q5_K", 176 / 256),
        ("Q5_0", 22 / 32),
        ("Q5_1", 24 / 32),
        ("Q4_K", 144 / 256),
        ("Q4_0", 18 / 32),
        ("Q4_1", 20 / 32),
        ("Q3_K", 110 / 256),
        ("Q2_K", 84 / 256),
        ("IQ4_XS", 136 / 256),
        ("IQ4_NL", 18 / 32),
        ("IQ3_S", 110 / 256),
        ("IQ3_XXS", 98 / 256),
        ("IQ2_S", 82 / 256),
        ("IQ2_XS", 74 / 256),
        ("IQ2_XXS", 66 / 256),
        ("IQ1_M", 56 / 256),
        ("IQ1_S", 50 / 256),
        ("MXFP4", 17 / 32),
    ],
)
def test_gguf_block_types(name: str, nbytes: float) -> None:
    p = parse_precision(name)
    assert p.name == name
    assert p.bytes_per_param == nbytes
    assert p.kind == "gguf"
    assert p.exact


def test_design_md_values() -> None:
    """The rounded values DESIGN.md quotes."""
    expected = {
        "Q8_0": 1.0625,
        "Q6_K": 0.8203,
        "Q5_K": 0.6875,
        "Q4_K": 0.5625,
        "Q4_0": 0.5625,
        "Q3_K": 0.4297,
        "Q2_K": 0.3281,
    }
    for name, value in expected.items():
        assert round(PRECISIONS[name].bytes_per_param, 4) == value


def test_q4_k_m_is_a_q4_k_mix_sized_from_llama_cpp_presets() -> None:
    p = parse_precision("Q4_K_M")
    assert p.kind == "gguf-mix"
    assert p.base == "Q4_K"
    assert not p.exact
    # 4.58 GiB for Llama-3-8B (8,030,261,248 params) in llama.cpp's QUANT_OPTIONS.
    assert p.bytes_per_param == pytest.approx(4.58 * 2**30 / 8_030_261_248)
    assert p.bits_per_param == pytest.approx(4.90, abs=0.01)
    # A mix is heavier than its base block type and lighter than the next one up.
    assert (
        PRECISIONS["Q4_K"].bytes_per_param < p.bytes_per_param < PRECISIONS["Q5_K"].bytes_per_param
    )
    assert "quantize.cpp" in p.source


@pytest.mark.parametrize(
    ("small", "medium"),
    [("Q3_K_S", "Q3_K_M"), ("Q3_K_M", "Q3_K_L"), ("Q4_K_S", "Q4_K_M"), ("Q5_K_S", "Q5_K_M")],
)
def test_mix_sizes_are_ordered(small: str, medium: str) -> None:
    assert parse_precision(small).bytes_per_param < parse_precision(medium).bytes_per_param


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("bf16", "bf16"),
        ("BF16", "bf16"),
        ("bfloat16", "bf16"),
        ("torch.bfloat16", "bf16"),
        ("fp16", "fp16"),
        ("float16", "fp16"),
        ("half", "fp16"),
        ("F16", "fp16"),
        ("fp32", "fp32"),
        ("float32", "fp32"),
        ("F32", "fp32"),
        ("fp8", "fp8"),
        ("float8_e4m3fn", "fp8"),
        ("int8", "int8"),
        ("8-bit", "int8"),
        ("int4", "int4"),
        ("4bit", "int4"),
        ("q4_k_m", "Q4_K_M"),
        ("Q4-K-M", "Q4_K_M"),
        (" q8_0 ", "Q8_0"),
        ("iq4_xs", "IQ4_XS"),
    ],
)
def test_parse_common_spellings(text: str, name: str) -> None:
    assert parse_precision(text).name == name


@pytest.mark.parametrize("text", ["", "fp12", "Q4_K_X", "q9_0", "float64"])
def test_unknown_precision_lists_valid_names(text: str) -> None:
    with pytest.raises(AnalysisError) as info:
        parse_precision(text)
    message = str(info.value)
    assert repr(text) in message
    for name in ("bf16", "fp32", "int4", "Q4_K_M", "Q8_0"):
        assert name in message


def test_names_dtypes_first() -> None:
    names = precision_names()
    assert names[:6] == ("fp32", "fp16", "bf16", "fp8", "int8", "int4")
    assert len(names) == len(set(names))
    assert all(p.source for p in PRECISIONS.values())
