"""Weights, KV cache (GQA, sliding window, MLA, encoder-only, encoder-decoder) and overhead."""

from __future__ import annotations

import pytest

from core.analysis.memory import (
    CUDA_CONTEXT_BYTES,
    default_kv_precision,
    kv_cache_bytes,
    memory_requirement,
    overhead,
    weights_bytes,
)
from core.analysis.model_config import ModelConfig
from core.analysis.precision import BF16, FP8, FP32, INT4, parse_precision
from core.errors import AnalysisError

GIB = 1024**3

# Dimensions from /work/shared/data/model_facts.jsonl (litgpt / HF config.json).
LLAMA_31_8B = ModelConfig("llama", 32, 4096, 32, 8, 128, 14336, 128256, max_context=131072)
MISTRAL_7B_V01 = ModelConfig("mistral", 32, 4096, 32, 8, 128, 14336, 32000, sliding_window=4096)
GEMMA2_9B = ModelConfig(
    "gemma2", 42, 3584, 16, 8, 256, 14336, 256000, sliding_window=4096, sliding_window_layers=21
)
# DeepSeek-V3: 61 layers, kv_lora_rank 512, qk_rope_head_dim 64 (config.json).
DEEPSEEK_V3 = ModelConfig(
    "deepseek_v3", 61, 7168, 128, 128, 192, 18432, 129280, kv_lora_rank=512, qk_rope_head_dim=64
)
BERT_BASE = ModelConfig(
    "bert", 12, 768, 12, 12, 64, 3072, 30522, architecture_class="encoder-only", gated_mlp=False
)
# t5-base: 12 encoder + 12 decoder layers, 12 heads, d_kv 64.
T5_BASE = ModelConfig(
    "t5",
    12,
    768,
    12,
    12,
    64,
    3072,
    32128,
    architecture_class="encoder-decoder",
    num_decoder_layers=12,
    gated_mlp=False,
)


def test_weights_bytes() -> None:
    assert weights_bytes(8_030_261_248, BF16) == 16_060_522_496
    assert weights_bytes(8_030_261_248, FP32) == 32_121_044_992
    assert weights_bytes(8_030_261_248, FP8) == 8_030_261_248
    assert weights_bytes(8_030_261_248, INT4) == 4_015_130_624
    assert weights_bytes(256, parse_precision("Q4_K")) == 144
    assert weights_bytes(257, parse_precision("Q4_K")) == 145  # rounds up
    assert weights_bytes(0, BF16) == 0
    with pytest.raises(AnalysisError):
        weights_bytes(-1, BF16)


def test_gqa_llama_31_8b() -> None:
    kv = kv_cache_bytes(LLAMA_31_8B, 8192)
    # 32 layers × 8 kv heads × 128 × 2 (K, V) × 2 bytes.
    assert kv.per_token_bytes == 32 * 8 * 128 * 2 * 2 == 131_072
    assert kv.bytes == 131_072 * 8192 == GIB
    assert "8 kv heads" in kv.method


def test_kv_scales_with_context_and_batch() -> None:
    one = kv_cache_bytes(LLAMA_31_8B, 1000).bytes
    assert kv_cache_bytes(LLAMA_31_8B, 2000).bytes == 2 * one
    assert kv_cache_bytes(LLAMA_31_8B, 1000, batch=4).bytes == 4 * one
    assert kv_cache_bytes(LLAMA_31_8B, 1000, kv_precision=FP8).bytes == one // 2
    assert kv_cache_bytes(LLAMA_31_8B, 0).bytes == 0


def test_sliding_window_all_layers_mistral() -> None:
    per_token = 131_072
    assert kv_cache_bytes(MISTRAL_7B_V01, 2048).bytes == per_token * 2048
    assert kv_cache_bytes(MISTRAL_7B_V01, 4096).bytes == per_token * 4096
    # Beyond the window every layer holds only 4096 tokens.
    kv = kv_cache_bytes(MISTRAL_7B_V01, 32768)
    assert kv.bytes == per_token * 4096
    assert kv.per_token_bytes == per_token
    assert "sliding-window" in kv.method


def test_sliding_window_alternating_gemma2() -> None:
    per_layer_token = 2 * 8 * 256 * 2
    kv = kv_cache_bytes(GEMMA2_9B, 8192)
    assert kv.bytes == per_layer_token * (21 * 8192 + 21 * 4096)
    naive = per_layer_token * 42 * 8192
    assert kv.bytes < naive
    # Below the window the alternation makes no difference.
    assert kv_cache_bytes(GEMMA2_9B, 1024).bytes == per_layer_token * 42 * 1024


def test_mla_stores_the_latent() -> None:
    kv = kv_cache_bytes(DEEPSEEK_V3, 4096)
    # (kv_lora_rank 512 + rope 64) × 61 layers × 2 bytes per token.
    assert kv.per_token_bytes == 61 * (512 + 64) * 2 == 70_272
    assert kv.bytes == 70_272 * 4096
    naive = 2 * 61 * 128 * 192 * 2 * 4096
    assert kv.bytes < naive / 50
    assert "MLA" in kv.method


def test_encoder_only_has_no_kv_cache() -> None:
    kv = kv_cache_bytes(BERT_BASE, 512, batch=8)
    assert kv.bytes == 0
    assert kv.per_token_bytes == 0
    assert "encoder-only" in kv.method


def test_vision_has_no_kv_cache() -> None:
    vit = ModelConfig("vit", 12, 768, 12, 12, 64, 3072, 0, architecture_class="vision")
    assert kv_cache_bytes(vit, 197).bytes == 0


def test_encoder_decoder_self_plus_cross_attention() -> None:
    per_layer_token = 2 * 12 * 64 * 2
    kv = kv_cache_bytes(T5_BASE, 512)
    # Decoder self-attention over 512 tokens + cross-attention over a 512-token encoder output.
    assert kv.bytes == 12 * per_layer_token * (512 + 512)
    assert "encoder length assumed" in kv.method
    kv = kv_cache_bytes(T5_BASE, 128, encoder_length=1500)
    assert kv.bytes == 12 * per_layer_token * (128 + 1500)
    assert "assumed" not in kv.method


def test_bad_arguments() -> None:
    with pytest.raises(AnalysisError):
        kv_cache_bytes(LLAMA_31_8B, -1)
    with pytest.raises(AnalysisError):
        kv_cache_bytes(LLAMA_31_8B, 10, batch=0)
    broken = ModelConfig("x", 2, 64, 2, 0, 32, 128, 10)
    with pytest.raises(AnalysisError):
        kv_cache_bytes(broken, 10)


def test_default_kv_precision() -> None:
    assert default_kv_precision(FP32) is FP32
    assert default_kv_precision(BF16) is BF16
    assert default_kv_precision(parse_precision("Q4_K_M")) is BF16


def test_overhead_rules() -> None:
    gpu = overhead(10 * GIB, "gpu")
    assert gpu.bytes == CUDA_CONTEXT_BYTES + GIB
    assert CUDA_CONTEXT_BYTES == GIB // 2
    assert "CUDA" in gpu.rule
    cpu = overhead(10 * GIB, "cpu")
    assert cpu.bytes == GIB
    assert overhead(10 * GIB, "apple").bytes == GIB
    with pytest.raises(AnalysisError):
        overhead(-1, "gpu")


def test_memory_requirement_sums_its_parts() -> None:
    m = memory_requirement(8_030_261_248, LLAMA_31_8B, BF16, 8192, 1, "gpu")
    assert m.weights_bytes == 16_060_522_496
    assert m.kv_cache_bytes == GIB
    assert m.overhead_bytes == GIB // 2 + 1_606_052_250
    assert m.total_bytes == m.weights_bytes + m.kv_cache_bytes + m.overhead_bytes
    assert m.rule.startswith("cuda-context+10%")
    # fp32 weights get an fp32 cache.
    assert memory_requirement(10, LLAMA_31_8B, FP32, 8192, 1, "cpu").kv_cache_bytes == 2 * GIB
