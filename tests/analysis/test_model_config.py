"""Normalising config.json and catalog rows: family defaults, key names, errors.

Expected defaults are those of transformers' configuration classes (v4.57
``configuration_<name>.py``), e.g. Qwen2Config's ``num_key_value_heads=32``, Qwen3Config's
``head_dim=128``, MistralConfig's ``num_key_value_heads=8`` and ``sliding_window=4096``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.analysis.model_config import (
    SUPPORTED_MODEL_TYPES,
    ModelConfig,
    check_dim,
    from_catalog_entry,
    from_hf_config,
    make_divisible,
    openelm_layers,
)
from core.errors import AnalysisError

FACTS = Path(__file__).resolve().parents[1] / "data" / "model_facts.jsonl"
ROWS = {
    row["repo_id"]: row for row in map(json.loads, FACTS.read_text(encoding="utf-8").splitlines())
}

CORE = {"hidden_size": 1024, "num_hidden_layers": 4, "num_attention_heads": 32}


def _llama_like(model_type: str, **extra: Any) -> dict[str, Any]:
    return {
        "model_type": model_type,
        **CORE,
        "intermediate_size": 2816,
        "vocab_size": 1000,
        **extra,
    }


# (model_type, config, expected attributes) — only core dims given, everything else defaulted
DEFAULTS = [
    (
        "llama",
        _llama_like("llama"),
        {"num_kv_heads": 32, "head_dim": 32, "tie_word_embeddings": False, "max_context": 2048},
    ),
    (
        "mistral",
        _llama_like("mistral"),
        {
            "num_kv_heads": 8,
            "head_dim": 32,
            "sliding_window": 4096,
            "sliding_window_layers": None,
            "max_context": 131_072,
        },
    ),
    (
        "mixtral",
        _llama_like("mixtral"),
        {"num_kv_heads": 8, "num_experts": 8, "num_experts_per_tok": 2, "sliding_window": None},
    ),
    (
        "qwen2",
        _llama_like("qwen2"),
        {"num_kv_heads": 32, "sliding_window": None, "max_context": 32_768, "gated_mlp": True},
    ),
    (
        "qwen2_moe",
        {k: v for k, v in _llama_like("qwen2_moe").items() if k != "intermediate_size"},
        {
            "num_kv_heads": 16,
            "num_experts": 60,
            "num_experts_per_tok": 4,
            "moe_intermediate_size": 1408,
            "shared_expert_intermediate_size": 5632,
            "intermediate_size": 5632,
        },
    ),
    ("qwen3", _llama_like("qwen3"), {"num_kv_heads": 32, "head_dim": 128}),
    (
        "qwen3_moe",
        {k: v for k, v in _llama_like("qwen3_moe").items() if k != "intermediate_size"},
        {
            "num_kv_heads": 4,
            "head_dim": 32,
            "num_experts": 128,
            "num_experts_per_tok": 8,
            "moe_intermediate_size": 768,
            "intermediate_size": 6144,
        },
    ),
    (
        "gemma",
        _llama_like("gemma"),
        {"num_kv_heads": 16, "head_dim": 256, "tie_word_embeddings": True, "max_context": 8192},
    ),
    (
        "gemma2",
        _llama_like("gemma2", num_hidden_layers=26),
        {"num_kv_heads": 4, "sliding_window": 4096, "sliding_window_layers": 13},
    ),
    (
        "gemma3_text",
        _llama_like("gemma3_text", num_hidden_layers=26),
        {"head_dim": 256, "sliding_window": 4096, "sliding_window_layers": 22},
    ),
    ("phi", _llama_like("phi"), {"num_kv_heads": 32, "gated_mlp": False}),
    ("phi3", _llama_like("phi3"), {"num_kv_heads": 32, "sliding_window": None}),
    ("olmo", _llama_like("olmo"), {"num_kv_heads": 32, "tie_word_embeddings": False}),
    ("olmo2", _llama_like("olmo2"), {"num_kv_heads": 32}),
    (
        "gpt_neox",
        _llama_like("gpt_neox", num_key_value_heads=4),  # GPT-NeoX has no GQA: key ignored
        {"num_kv_heads": 32, "gated_mlp": False},
    ),
    (
        "gpt2",
        {"model_type": "gpt2", "n_embd": 768, "n_layer": 12, "n_head": 12, "vocab_size": 50257},
        {
            "hidden_size": 768,
            "num_layers": 12,
            "intermediate_size": 3072,  # n_inner None -> 4·n_embd
            "max_context": 1024,
            "tie_word_embeddings": True,
            "gated_mlp": False,
        },
    ),
    (
        "t5",
        {
            "model_type": "t5",
            "d_model": 512,
            "num_layers": 6,
            "num_heads": 8,
            "d_kv": 64,
            "d_ff": 2048,
            "vocab_size": 32128,
        },
        {
            "architecture_class": "encoder-decoder",
            "num_decoder_layers": 6,
            "head_dim": 64,
            "gated_mlp": False,
            "tie_word_embeddings": True,
            "max_context": None,
        },
    ),
    (
        "mt5",
        {
            "model_type": "mt5",
            "d_model": 512,
            "num_layers": 8,
            "num_heads": 6,
            "d_kv": 64,
            "d_ff": 1024,
            "vocab_size": 250_112,
        },
        {"gated_mlp": True, "tie_word_embeddings": False, "num_decoder_layers": 8},
    ),
    (
        "distilbert",
        {
            "model_type": "distilbert",
            "dim": 768,
            "n_layers": 6,
            "n_heads": 12,
            "hidden_dim": 3072,
            "vocab_size": 30522,
        },
        {
            "architecture_class": "encoder-only",
            "hidden_size": 768,
            "num_layers": 6,
            "intermediate_size": 3072,
            "max_context": 512,
        },
    ),
    (
        "bert",
        {
            "model_type": "bert",
            **CORE,
            "num_attention_heads": 16,
            "intermediate_size": 4096,
            "vocab_size": 30522,
        },
        {"architecture_class": "encoder-only", "head_dim": 64, "max_context": 512},
    ),
    (
        "gemma3",  # a multimodal wrapper whose text_config is all defaults
        {"model_type": "gemma3", "text_config": {}, "architectures": ["X"]},
        {
            "architecture_class": "multimodal",
            "hidden_size": 2304,
            "num_layers": 26,
            "num_attention_heads": 8,
            "num_kv_heads": 4,
            "vocab_size": 262_208,
            "intermediate_size": 9216,
            "architecture": "X",
        },
    ),
]


@pytest.mark.parametrize(
    ("model_type", "config", "expected"), DEFAULTS, ids=[d[0] for d in DEFAULTS]
)
def test_family_defaults(model_type: str, config: dict[str, Any], expected: dict[str, Any]) -> None:
    cfg = from_hf_config(config)
    assert cfg.model_type == model_type
    assert {key: getattr(cfg, key) for key in expected} == expected
    assert cfg.raw is config


def test_supported_types_cover_the_brief() -> None:
    wanted = {
        "llama",
        "mistral",
        "mixtral",
        "qwen2",
        "qwen2_moe",
        "qwen3",
        "qwen3_moe",
        "gemma",
        "gemma2",
        "gemma3_text",
        "gemma3",
        "phi",
        "phi3",
        "gpt2",
        "gpt_neox",
        "olmo",
        "olmo2",
        "bert",
        "roberta",
        "distilbert",
        "t5",
        "nomic_bert",
        "openelm",
    }
    assert wanted <= set(SUPPORTED_MODEL_TYPES)


def test_explicit_values_win_over_defaults() -> None:
    cfg = from_hf_config(
        _llama_like("qwen3", num_key_value_heads=8, head_dim=64, tie_word_embeddings=True)
    )
    assert (cfg.num_kv_heads, cfg.head_dim, cfg.tie_word_embeddings) == (8, 64, True)


def test_null_kv_heads_means_mha() -> None:
    assert from_hf_config(_llama_like("qwen2", num_key_value_heads=None)).num_kv_heads == 32
    assert from_hf_config(_llama_like("mistral", num_key_value_heads=None)).num_kv_heads == 32


def test_qwen_sliding_window_only_when_enabled() -> None:
    off = from_hf_config(_llama_like("qwen2", sliding_window=131072))
    assert off.sliding_window is None
    on = from_hf_config(
        _llama_like("qwen2", num_hidden_layers=28, use_sliding_window=True, max_window_layers=20)
    )
    assert (on.sliding_window, on.sliding_window_layers) == (4096, 8)


def test_layer_types_list_wins() -> None:
    types = ["sliding_attention", "full_attention", "sliding_attention", "full_attention"]
    cfg = from_hf_config(_llama_like("gemma3_text", layer_types=types, sliding_window=512))
    assert (cfg.sliding_window, cfg.sliding_window_layers) == (512, 2)


def test_gemma3_multimodal_takes_text_config_and_top_level_dtype() -> None:
    cfg = from_hf_config(
        {
            "model_type": "gemma3",
            "torch_dtype": "bfloat16",
            "text_config": {"hidden_size": 2560, "num_hidden_layers": 34, "sliding_window": 1024},
        }
    )
    assert (cfg.hidden_size, cfg.num_layers, cfg.torch_dtype) == (2560, 34, "bfloat16")
    assert (cfg.sliding_window, cfg.sliding_window_layers) == (1024, 34 - 34 // 6)
    assert cfg.max_context == 131_072 and cfg.tie_word_embeddings


def test_gpt2_and_t5_accept_their_attribute_map_aliases() -> None:
    gpt2 = from_hf_config(
        {
            "model_type": "gpt2",
            "hidden_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "vocab_size": 100,
            "n_inner": None,
        }
    )
    assert (gpt2.hidden_size, gpt2.num_layers, gpt2.intermediate_size) == (64, 2, 256)
    t5 = from_hf_config(
        {
            "model_type": "t5",
            "hidden_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "head_dim": 16,
            "d_ff": 128,
            "vocab_size": 100,
            "num_decoder_layers": 3,
        }
    )
    assert (t5.hidden_size, t5.num_layers, t5.num_decoder_layers, t5.head_dim) == (64, 2, 3, 16)


def test_dtype_and_architecture() -> None:
    cfg = from_hf_config(_llama_like("llama", dtype="float16", architectures=["LlamaForCausalLM"]))
    assert (cfg.torch_dtype, cfg.architecture) == ("float16", "LlamaForCausalLM")
    assert cfg.architecture_class == "decoder-only"


def test_whisper_and_openelm_configs() -> None:
    whisper = from_hf_config(
        {
            "model_type": "whisper",
            "d_model": 384,
            "encoder_layers": 4,
            "decoder_layers": 4,
            "encoder_attention_heads": 6,
            "decoder_attention_heads": 6,
            "encoder_ffn_dim": 1536,
            "decoder_ffn_dim": 1536,
            "vocab_size": 51865,
        }
    )
    assert whisper.architecture_class == "speech" and whisper.max_context == 448
    elm = from_hf_config(
        {
            "model_type": "openelm",
            "num_transformer_layers": 2,
            "model_dim": 1280,
            "head_dim": 64,
            "num_query_heads": [12, 16],
            "num_kv_heads": [3, 4],
            "ffn_multipliers": [0.5, 4.0],
            "ffn_dim_divisor": 256,
            "vocab_size": 32000,
        }
    )
    assert openelm_layers(elm) == [(12, 3, 768), (16, 4, 5120)]
    assert (elm.num_attention_heads, elm.num_kv_heads, elm.intermediate_size) == (16, 4, 5120)
    assert not elm.tie_word_embeddings  # OpenELMConfig's share_input_output_layers=False


def test_make_divisible_matches_openelm_rows() -> None:
    row = ROWS["apple/OpenELM-270M"]
    multipliers = [round(0.5 + i * 3.5 / 15, 2) for i in range(16)]
    assert [make_divisible(m * 1280, 256) for m in multipliers] == row["intermediate_size"]


# --- catalog rows ----------------------------------------------------------------------------


def test_catalog_row_fields() -> None:
    cfg = from_catalog_entry(ROWS["google/gemma-2-9b"])
    assert (cfg.num_layers, cfg.sliding_window, cfg.sliding_window_layers) == (42, 4096, 21)
    assert cfg.tie_word_embeddings and cfg.model_type == "gemma2"
    moe = from_catalog_entry(ROWS["Qwen/Qwen3-30B-A3B"])
    assert (moe.num_experts, moe.num_experts_per_tok, moe.moe_intermediate_size) == (128, 8, 768)
    bert = from_catalog_entry(ROWS["BAAI/bge-small-en-v1.5"])
    assert bert.architecture_class == "encoder-only" and not bert.gated_mlp
    mm = from_catalog_entry(ROWS["google/gemma-3-4b-it"])
    assert mm.architecture_class == "multimodal" and mm.sliding_window_layers == 34 - 34 // 6
    elm = from_catalog_entry(ROWS["apple/OpenELM-270M"])
    assert (elm.num_attention_heads, elm.num_kv_heads, elm.intermediate_size) == (20, 5, 5120)
    assert from_catalog_entry(ROWS["openai/whisper-small"]).num_decoder_layers == 12


def test_catalog_row_without_dims_is_an_error() -> None:
    row = next(r for r in ROWS.values() if r.get("hidden_size") is None)
    with pytest.raises(AnalysisError, match="has no architecture dimensions"):
        from_catalog_entry(row)


def test_catalog_unknown_type_and_bad_lists() -> None:
    row = {**ROWS["meta-llama/Llama-3.2-1B"], "model_type": "mamba"}
    with pytest.raises(AnalysisError, match="unknown architecture 'mamba'"):
        from_catalog_entry(row)
    elm = {**ROWS["apple/OpenELM-270M"], "num_key_value_heads": [3, 3]}
    with pytest.raises(AnalysisError, match="list of 16 per-layer values"):
        from_catalog_entry(elm)


# --- errors ----------------------------------------------------------------------------------


def _error(config: Any, match: str) -> str:
    with pytest.raises(AnalysisError, match=match) as info:
        from_hf_config(config, source="cfg.json")
    message = str(info.value)
    assert "\n" not in message and message.startswith("cfg.json")
    return message


def test_unknown_architecture_lists_supported() -> None:
    message = _error({"model_type": "foo"}, r"unknown architecture 'foo'; supported: ")
    assert "llama" in message and "t5" in message


def test_no_model_type_and_not_an_object() -> None:
    _error({"hidden_size": 4096}, "no 'model_type'")
    _error([1, 2], "not a JSON object")


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({k: v for k, v in _llama_like("llama").items() if k != "hidden_size"}, "hidden_size"),
        ({k: v for k, v in _llama_like("qwen2").items() if k != "vocab_size"}, "vocab_size"),
        (
            {k: v for k, v in _llama_like("mistral").items() if k != "intermediate_size"},
            "intermediate_size",
        ),
        ({"model_type": "gpt2", "n_layer": 2, "n_head": 2, "vocab_size": 10}, "n_embd"),
        (
            {
                "model_type": "t5",
                "d_model": 8,
                "num_layers": 1,
                "num_heads": 2,
                "d_kv": 4,
                "vocab_size": 10,
            },
            "d_ff",
        ),
        ({"model_type": "bert", **CORE, "vocab_size": 10}, "intermediate_size"),
    ],
)
def test_missing_required_dimension(config: dict[str, Any], key: str) -> None:
    _error(config, f"missing required dimension '{key}'")


@pytest.mark.parametrize("value", [0, -1, "32", 32.0, True, None, [32]])
def test_layers_must_be_positive_integers(value: object) -> None:
    config = _llama_like("llama", num_hidden_layers=value)
    if value is None:
        _error(config, "missing required dimension 'num_hidden_layers'")
    else:
        _error(config, "'num_hidden_layers' must be a positive integer")


def test_non_integer_string_dimension() -> None:
    _error(_llama_like("llama", hidden_size="4096"), "'hidden_size' must be a positive integer")
    _error(_llama_like("gemma", head_dim="big"), "'head_dim' must be a positive integer")


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"hidden_size": 2_000_000}, "'hidden_size' = 2,000,000 is implausibly large"),
        ({"num_hidden_layers": 20_000}, "'num_hidden_layers' = 20,000 is implausibly large"),
        ({"vocab_size": 10**9}, "'vocab_size' .* is implausibly large"),
        (
            {"hidden_size": 1_000_000, "num_hidden_layers": 5000, "intermediate_size": 1_000_000},
            r"imply about .* parameters, more than 1e15",
        ),
    ],
)
def test_absurd_sizes(extra: dict[str, Any], match: str) -> None:
    _error(_llama_like("llama", **extra), match)


def test_inconsistent_heads_and_experts() -> None:
    _error(_llama_like("llama", num_key_value_heads=5), "not a multiple of 5 key/value heads")
    # Qwen3's default of 32 KV heads cannot serve 8 query heads: say so, do not guess
    _error(_llama_like("qwen3", num_attention_heads=8), "not a multiple of 32 key/value heads")
    _error(
        _llama_like("mixtral", num_local_experts=2, num_experts_per_tok=4),
        r"'num_experts_per_tok' \(4\) exceeds the 2 experts",
    )
    _error(
        {
            "model_type": "bert",
            **CORE,
            "num_attention_heads": 12,
            "intermediate_size": 4,
            "vocab_size": 10,
        },
        "not divisible into 12 attention heads",
    )


def test_composite_and_t5_errors() -> None:
    _error({"model_type": "gemma3"}, "has no 'text_config' object")
    _error(
        {"model_type": "gemma3", "text_config": {}, "vision_config": {"hidden_size": 0}},
        "cfg.json vision_config: 'hidden_size' must be a positive integer",
    )
    _error(
        {"model_type": "gemma3", "text_config": {"num_hidden_layers": -2}},
        "cfg.json text_config: 'num_hidden_layers' must be a positive integer",
    )
    _error(
        {
            "model_type": "t5",
            "d_model": 8,
            "num_layers": 1,
            "num_heads": 2,
            "d_kv": 4,
            "d_ff": 8,
            "vocab_size": 10,
            "feed_forward_proj": "gelu-gated",
        },
        "'feed_forward_proj' 'gelu-gated' is not",
    )


def test_check_dim_directly() -> None:
    assert check_dim(8, "x", "here") == 8
    with pytest.raises(AnalysisError, match="here: 'x' = 11 is implausibly large"):
        check_dim(11, "x", "here", limit=10)


def test_model_config_fields_unchanged() -> None:
    cfg = ModelConfig("llama", 1, 2, 1, 1, 2, 4, 10)
    assert cfg.architecture_class == "decoder-only" and cfg.raw == {}
