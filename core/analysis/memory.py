"""Memory a model needs: weights, KV cache and runtime overhead.

Formulas (DESIGN.md "Estimates: formulas and provenance"):

- **Weights** = ⌈params × bytes/param⌉ (:mod:`core.analysis.precision`).
- **KV cache** = 2 (K and V) × layers × kv_heads × head_dim × tokens × batch × bytes, where a
  full-attention layer holds ``context`` tokens and a sliding-window layer
  ``min(window, context)`` (the hf-mem ``safetensors/kv_cache.py`` rule, which fixes the
  Gemma-style undercount users reported in hf-mem#60). ``cfg.sliding_window_layers`` says how many
  layers use the window; None with a window set means all of them (Mistral-7B-v0.1).
  **MLA** (DeepSeek-V2/V3 style, ``cfg.kv_lora_rank`` set) caches one compressed latent of
  ``kv_lora_rank + qk_rope_head_dim`` values per token per layer instead of K and V (the naive
  formula is 61–81 % off for these models, unsloth PR #4757); this is what runtimes that cache
  the latent (vLLM, SGLang, llama.cpp) hold — transformers' eager implementation decompresses to
  full K/V and needs more. **Encoder-only** and **vision** models (and speech models without a
  decoder) generate nothing and keep no KV cache (0). **Encoder-decoder** models keep the
  decoder's self-attention KV over ``context`` tokens *plus* cross-attention K/V over the encoder
  output in every decoder layer; the encoder length is assumed equal to ``context`` unless given
  (Whisper's is 1500 frames, T5's is the input length).
- **KV precision**: 2 bytes per value (bf16/fp16, the default of transformers, vLLM and
  llama.cpp's f16 cache) unless the weights are fp32, whose cache transformers keeps in fp32.
- **Overhead** — rule ``cuda-context+10%`` on a GPU: 0.5 GiB CUDA context/allocator pool (llmfit
  adds 0.5 GB, gpu_poor 650 MB "CUDA overhead") + 10 % of the weights for activations and
  fragmentation (accelerate's docs suggest "up to an additional 20%" for inference; DESIGN.md
  states ×1.1). On Apple silicon and CPUs, rule ``+10%``: 10 % of the weights, no CUDA context.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

from core.analysis.hardware_profiles import HardwareKind
from core.analysis.model_config import ModelConfig
from core.analysis.precision import BF16, FP32, Precision
from core.errors import AnalysisError

GIB = 1024**3
CUDA_CONTEXT_BYTES = GIB // 2
"""CUDA context + allocator pool counted on every GPU (llmfit +0.5 GB; gpu_poor 650 MB)."""
ACTIVATION_SHARE = 0.10
"""Share of the weights added for activations and fragmentation (DESIGN.md ×1.1)."""

_NO_KV_CLASSES = frozenset({"encoder-only", "vision"})


@dataclass(frozen=True, slots=True)
class KvCache:
    """Size of the KV cache.

    Attributes:
        bytes: Total bytes for ``context`` tokens × ``batch`` sequences.
        per_token_bytes: Bytes one more token of one sequence adds while the context is shorter
            than any window (all layers store it): e.g. 131,072 for Llama-3.1-8B at bf16.
        method: How it was computed, in words.
    """

    bytes: int
    per_token_bytes: int
    method: str


@dataclass(frozen=True, slots=True)
class Overhead:
    """Runtime overhead and the rule that produced it."""

    bytes: int
    rule: str


@dataclass(frozen=True, slots=True)
class MemoryEstimate:
    """Memory to run a model.

    Attributes:
        weights_bytes: Weights at the chosen precision.
        kv_cache_bytes: KV cache at the context and batch.
        overhead_bytes: Runtime overhead (see :func:`overhead`).
        total_bytes: The sum: what must be free.
        rule: The overhead rule, in words.
        kv_method: How the KV cache was computed.
    """

    weights_bytes: int
    kv_cache_bytes: int
    overhead_bytes: int
    total_bytes: int
    rule: str
    kv_method: str = ""


def weights_bytes(params: int, precision: Precision) -> int:
    """Bytes of ``params`` weights stored at ``precision``: ⌈params × bytes/param⌉.

    Example:
        >>> weights_bytes(8_030_261_248, BF16)
        16060522496
        >>> from core.analysis.precision import parse_precision
        >>> weights_bytes(32, parse_precision("Q4_0"))  # one 18-byte block
        18
    """
    if params < 0:
        raise AnalysisError(f"parameter count must be ≥ 0, got {params}")
    return math.ceil(params * precision.bytes_per_param)


def default_kv_precision(weights: Precision) -> Precision:
    """KV cache precision used when none is given: fp32 for fp32 weights, else bf16."""
    return FP32 if weights.name == "fp32" else BF16


def _check(context: int, batch: int) -> None:
    if context < 0:
        raise AnalysisError(f"context must be ≥ 0 tokens, got {context}")
    if batch < 1:
        raise AnalysisError(f"batch must be ≥ 1, got {batch}")


def kv_cache_bytes(
    cfg: ModelConfig,
    context: int,
    batch: int = 1,
    kv_precision: Precision = BF16,
    *,
    encoder_length: int | None = None,
) -> KvCache:
    """KV cache bytes for ``context`` tokens in each of ``batch`` sequences.

    Args:
        cfg: The architecture.
        context: Tokens held per sequence (prompt + generated).
        batch: Sequences decoded together.
        kv_precision: Precision of the cached values (bf16 by default).
        encoder_length: Encoder-decoder models: encoder output length for the cross-attention
            K/V; defaults to ``context``.

    Returns:
        The size, the per-token size and the method.

    Raises:
        AnalysisError: For a negative context, a batch below 1 or non-positive dimensions.

    Example:
        >>> cfg = ModelConfig("llama", 32, 4096, 32, 8, 128, 14336, 128256)
        >>> kv_cache_bytes(cfg, 8192).per_token_bytes
        131072
    """
    _check(context, batch)
    width = kv_precision.bytes_per_param
    cls = cfg.architecture_class
    decoderless = cls in _NO_KV_CLASSES or (cls == "speech" and cfg.num_decoder_layers is None)
    if decoderless:
        return KvCache(0, 0, f"none: {cls} model (no autoregressive decoding, no KV cache)")
    if cfg.num_layers <= 0 or cfg.num_kv_heads <= 0 or cfg.head_dim <= 0:
        raise AnalysisError(
            f"{cfg.model_type}: layers, kv heads and head_dim must be positive "
            f"({cfg.num_layers}, {cfg.num_kv_heads}, {cfg.head_dim})"
        )

    if cfg.kv_lora_rank:
        rope = cfg.qk_rope_head_dim or 0
        per_layer = (cfg.kv_lora_rank + rope) * width
        per_token = math.ceil(cfg.num_layers * per_layer)
        total = math.ceil(cfg.num_layers * per_layer * context * batch)
        return KvCache(
            total,
            per_token,
            f"MLA latent: {cfg.num_layers} layers × (kv_lora_rank {cfg.kv_lora_rank} + rope "
            f"{rope}) × {context} tokens × {batch} × {width:g} B ({kv_precision.name})",
        )

    per_layer_token = 2 * cfg.num_kv_heads * cfg.head_dim * width
    encoder_decoder = cls == "encoder-decoder" or cfg.num_decoder_layers is not None
    if encoder_decoder:
        layers = cfg.num_decoder_layers or cfg.num_layers
        enc = context if encoder_length is None else encoder_length
        if enc < 0:
            raise AnalysisError(f"encoder length must be ≥ 0, got {enc}")
        total = math.ceil(layers * per_layer_token * (context + enc) * batch)
        return KvCache(
            total,
            math.ceil(layers * per_layer_token),
            f"encoder-decoder: 2 × {layers} decoder layers × {cfg.num_kv_heads} kv heads × "
            f"{cfg.head_dim} × ({context} self-attention + {enc} cross-attention tokens"
            f"{' [encoder length assumed = context]' if encoder_length is None else ''}) × "
            f"{batch} × {width:g} B ({kv_precision.name})",
        )

    layers = cfg.num_layers
    window = cfg.sliding_window
    windowed = 0
    if window is not None and window > 0:
        windowed = layers if cfg.sliding_window_layers is None else cfg.sliding_window_layers
        windowed = max(0, min(windowed, layers))
    full = layers - windowed
    windowed_tokens = min(window, context) if window else context
    token_layers = full * context + windowed * windowed_tokens
    total = math.ceil(per_layer_token * token_layers * batch)
    if windowed:
        how = (
            f"{full} full layers × {context} + {windowed} sliding-window layers × "
            f"min({window}, {context}) tokens"
        )
    else:
        how = f"{layers} layers × {context} tokens"
    return KvCache(
        total,
        math.ceil(layers * per_layer_token),
        f"2 × {cfg.num_kv_heads} kv heads × {cfg.head_dim} × ({how}) × {batch} × {width:g} B "
        f"({kv_precision.name})",
    )


def overhead(weights: int, device: HardwareKind) -> Overhead:
    """Runtime overhead on ``device`` for a model whose weights take ``weights`` bytes.

    GPU (rule ``cuda-context+10%``): 0.5 GiB + 10 % of the weights. Apple silicon and CPU (rule
    ``+10%``): 10 % of the weights. See the module docstring for where the numbers come from.

    Example:
        >>> overhead(10 * GIB, "gpu").bytes == GIB // 2 + GIB
        True
    """
    if weights < 0:
        raise AnalysisError(f"weights must be ≥ 0 bytes, got {weights}")
    activations = math.ceil(weights * ACTIVATION_SHARE)
    if device == "gpu":
        return Overhead(
            CUDA_CONTEXT_BYTES + activations,
            "cuda-context+10%: 0.5 GiB CUDA context + 10 % of weights (llmfit +0.5 GB, "
            "gpu_poor 650 MB, DESIGN.md ×1.1)",
        )
    return Overhead(
        activations, f"+10%: 10 % of weights for activations and fragmentation ({device})"
    )


def memory_requirement(
    params: int,
    cfg: ModelConfig | None,
    precision: Precision,
    context: int,
    batch: int,
    device: HardwareKind,
    *,
    kv_precision: Precision | None = None,
    kv: KvCache | None = None,
) -> MemoryEstimate:
    """Memory needed to run ``params`` parameters of ``cfg`` at ``precision``.

    ``total = weights + KV cache + overhead``.

    Args:
        params: Parameters held in memory (all experts of a MoE model, not only active ones).
        cfg: The architecture (for the KV cache); None only together with ``kv``.
        precision: Weight precision.
        context: Tokens per sequence.
        batch: Sequences.
        device: ``gpu``, ``apple`` or ``cpu`` (chooses the overhead rule).
        kv_precision: KV cache precision; default :func:`default_kv_precision`.
        kv: A KV cache already computed for this context and batch (saves recomputing it when
            comparing precisions).

    Returns:
        The breakdown and total.
    """
    _check(context, batch)
    if kv is None:
        if cfg is None:
            raise AnalysisError("memory_requirement needs cfg or a precomputed kv")
        kv = kv_cache_bytes(cfg, context, batch, kv_precision or default_kv_precision(precision))
    weights = weights_bytes(params, precision)
    extra = overhead(weights, device)
    return MemoryEstimate(
        weights_bytes=weights,
        kv_cache_bytes=kv.bytes,
        overhead_bytes=extra.bytes,
        total_bytes=weights + kv.bytes + extra.bytes,
        rule=sys.intern(extra.rule),  # a handful of distinct rules across every row
        kv_method=kv.method,
    )
