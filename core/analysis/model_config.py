"""A model's architecture, normalised from a Hugging Face ``config.json`` or catalog entry.

Every family spells its dimensions differently (GPT-2 ``n_embd``/``n_layer``, T5 ``d_model``/
``num_layers``/``d_kv``, Gemma's ``head_dim`` that is not ``hidden / heads``); this type holds
them once, with the family's defaults applied as transformers applies them, so the formulas in
:mod:`core.analysis` never look at raw keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from core.errors import AnalysisError

ArchitectureClass = Literal[
    "decoder-only", "encoder-only", "encoder-decoder", "vision", "speech", "multimodal"
]


@dataclass(frozen=True)
class ModelConfig:
    """Normalised architecture facts.

    Attributes:
        model_type: ``config.json``'s ``model_type`` (``llama``, ``qwen3_moe``, ``t5`` ...).
        architecture: First of ``architectures`` (``LlamaForCausalLM``), if known.
        architecture_class: Decoder-only, encoder-only, encoder-decoder, vision, speech, multimodal.
        num_layers: Transformer blocks (the encoder's for encoder-decoder models).
        num_decoder_layers: Decoder blocks of an encoder-decoder model, else None.
        hidden_size: Model width (``d_model``, ``n_embd``).
        num_attention_heads: Query heads.
        num_kv_heads: Key/value heads (GQA/MQA); equals ``num_attention_heads`` for MHA.
        head_dim: Per-head width (explicit ``head_dim``/``d_kv`` when given, else hidden/heads).
        intermediate_size: MLP width (dense layers).
        vocab_size: Vocabulary.
        max_context: Maximum positions/context length, if known.
        tie_word_embeddings: True when the LM head shares the embedding matrix.
        gated_mlp: True for gated MLPs (SwiGLU/GeGLU: 3 matrices), False for plain (2 matrices).
        sliding_window: Window of sliding-window attention layers, if any.
        sliding_window_layers: How many layers use the window (None: all of them when a window
            is set; Gemma 2/3 alternate).
        num_experts: Routed experts per MoE layer (None for dense models).
        num_experts_per_tok: Experts active per token.
        moe_intermediate_size: Width of each expert's MLP.
        shared_expert_intermediate_size: Width of the always-on shared expert, if any.
        kv_lora_rank: MLA compressed KV width (DeepSeek-style), if the model uses MLA.
        qk_rope_head_dim: MLA decoupled RoPE key width.
        torch_dtype: Native dtype (``bfloat16``, ``float32`` ...).
        raw: The original mapping, for family-specific details (biases, norms).
    """

    model_type: str
    num_layers: int
    hidden_size: int
    num_attention_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    architecture: str | None = None
    architecture_class: ArchitectureClass = "decoder-only"
    num_decoder_layers: int | None = None
    max_context: int | None = None
    tie_word_embeddings: bool = False
    gated_mlp: bool = True
    sliding_window: int | None = None
    sliding_window_layers: int | None = None
    num_experts: int | None = None
    num_experts_per_tok: int | None = None
    moe_intermediate_size: int | None = None
    shared_expert_intermediate_size: int | None = None
    kv_lora_rank: int | None = None
    qk_rope_head_dim: int | None = None
    torch_dtype: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


# --------------------------------------------------------------------------------------------
# Normalising a Hugging Face config.json
# --------------------------------------------------------------------------------------------

# Plausibility limits: anything past these is a broken or hostile config, not a model.
LAYERS_LIMIT = 10_000
WIDTH_LIMIT = 1_000_000
COUNT_LIMIT = 1_000_000  # heads, KV heads, experts, labels
VOCAB_LIMIT = 100_000_000
POSITIONS_LIMIT = 1_000_000_000
PARAMS_LIMIT = 10**15

# Families whose MLP is plain (2 matrices, activation between); all others are gated.
_PLAIN_MLP = ("phi", "gpt_neox", "gpt2", "bert", "roberta", "xlm-roberta", "distilbert")

SlidingRule = Literal["none", "all", "qwen", "qwen_all", "alternate", "pattern"]
MoeRule = Literal["none", "mixtral", "qwen"]


@dataclass(frozen=True)
class _DecoderSpec:
    """Defaults a llama-like family's configuration class applies to absent keys.

    Attributes:
        kv_default: ``num_key_value_heads`` when absent (None: ``num_attention_heads``).
        head_dim_default: ``head_dim`` when absent (None: ``hidden_size // num_attention_heads``).
        tie_default: ``tie_word_embeddings`` when absent.
        positions_default: ``max_position_embeddings`` when absent.
        sliding: Which layers use ``sliding_window``: none, all, Qwen's ``use_sliding_window``
            with layers from ``max_window_layers`` on (``qwen``) or all of them (``qwen_all``),
            every other layer (Gemma 2), all but every ``sliding_window_pattern``-th (Gemma 3).
        sliding_default: ``sliding_window`` when absent.
        moe: Mixture-of-experts keys: Mixtral's ``num_local_experts`` or Qwen's ``num_experts``.
        experts_default: Routed experts when absent.
        top_k_default: ``num_experts_per_tok`` when absent.
        moe_intermediate_default: ``moe_intermediate_size`` when absent (Qwen MoE).
        shared_intermediate_default: ``shared_expert_intermediate_size`` when absent.
        intermediate_default: ``intermediate_size`` when absent (None: required).
        gqa: False where the family has no KV-head key (GPT-NeoX: always MHA).
    """

    kv_default: int | None = None
    head_dim_default: int | None = None
    tie_default: bool = False
    positions_default: int = 2048
    sliding: SlidingRule = "none"
    sliding_default: int | None = None
    moe: MoeRule = "none"
    experts_default: int = 0
    top_k_default: int = 0
    moe_intermediate_default: int | None = None
    shared_intermediate_default: int | None = None
    intermediate_default: int | None = None
    gqa: bool = True


# One row per llama-like family; values are the defaults of transformers' configuration
# classes (v4.57 `configuration_<name>.py`, unchanged in v5 for these keys).
_DECODERS: dict[str, _DecoderSpec] = {
    "llama": _DecoderSpec(),
    "mistral": _DecoderSpec(
        kv_default=8, positions_default=131_072, sliding="all", sliding_default=4096
    ),
    "mixtral": _DecoderSpec(
        kv_default=8,
        positions_default=131_072,
        sliding="all",
        moe="mixtral",
        experts_default=8,
        top_k_default=2,
    ),
    "qwen2": _DecoderSpec(
        kv_default=32, positions_default=32_768, sliding="qwen", sliding_default=4096
    ),
    "qwen2_moe": _DecoderSpec(
        kv_default=16,
        positions_default=32_768,
        sliding="qwen",
        sliding_default=4096,
        moe="qwen",
        experts_default=60,
        top_k_default=4,
        moe_intermediate_default=1408,
        shared_intermediate_default=5632,
        intermediate_default=5632,
    ),
    "qwen3": _DecoderSpec(
        kv_default=32,
        head_dim_default=128,
        positions_default=32_768,
        sliding="qwen",
        sliding_default=4096,
    ),
    "qwen3_moe": _DecoderSpec(
        kv_default=4,
        positions_default=32_768,
        sliding="qwen_all",
        sliding_default=4096,
        moe="qwen",
        experts_default=128,
        top_k_default=8,
        moe_intermediate_default=768,
        intermediate_default=6144,
    ),
    "gemma": _DecoderSpec(
        kv_default=16, head_dim_default=256, tie_default=True, positions_default=8192
    ),
    "gemma2": _DecoderSpec(
        kv_default=4,
        head_dim_default=256,
        tie_default=True,
        positions_default=8192,
        sliding="alternate",
        sliding_default=4096,
    ),
    "gemma3_text": _DecoderSpec(
        kv_default=4,
        head_dim_default=256,
        tie_default=True,
        positions_default=131_072,
        sliding="pattern",
        sliding_default=4096,
    ),
    "phi": _DecoderSpec(),
    "phi3": _DecoderSpec(positions_default=4096, sliding="all"),
    "olmo": _DecoderSpec(),
    "olmo2": _DecoderSpec(),
    "gpt_neox": _DecoderSpec(gqa=False),
}

# A composite model's sub-config is saved as a diff against its class defaults, so even the
# core dimensions may be absent there (gemma-3-4b's text_config omits its 8 heads).
_NESTED_DEFAULTS: dict[str, dict[str, int]] = {
    "gemma3_text": {
        "hidden_size": 2304,
        "intermediate_size": 9216,
        "num_hidden_layers": 26,
        "num_attention_heads": 8,
        "vocab_size": 262_208,
    },
}

# SigLIP vision tower defaults (transformers' SiglipVisionConfig).
SIGLIP_DEFAULTS: dict[str, int] = {
    "hidden_size": 768,
    "intermediate_size": 3072,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "num_channels": 3,
    "image_size": 224,
    "patch_size": 16,
}


def _where(source: str, section: str | None) -> str:
    return f"{source} {section}" if section else source


def check_dim(value: object, key: str, where: str, limit: int = WIDTH_LIMIT) -> int:
    """Validate one dimension: a positive ``int`` (not bool, not float, not str) within ``limit``.

    Args:
        value: The raw value.
        key: Its key, for the message.
        where: The file (and section) it came from, for the message.
        limit: Largest plausible value.

    Returns:
        The value.

    Raises:
        AnalysisError: When the value is not a positive integer or is implausibly large.

    >>> check_dim(4096, "hidden_size", "config.json")
    4096
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise AnalysisError(f"{where}: '{key}' must be a positive integer, got {value!r}")
    if value <= 0:
        raise AnalysisError(f"{where}: '{key}' must be a positive integer, got {value}")
    if value > limit:
        raise AnalysisError(
            f"{where}: '{key}' = {value:,} is implausibly large (more than {limit:,})"
        )
    return value


def _dim(
    cfg: Mapping[str, Any],
    key: str,
    where: str,
    default: int | None = None,
    limit: int = WIDTH_LIMIT,
) -> int:
    """Read a dimension; absent (or null) takes ``default``, and without one it is an error."""
    value = cfg.get(key)
    if value is None:
        if default is None:
            raise AnalysisError(f"{where}: missing required dimension '{key}'")
        return default
    return check_dim(value, key, where, limit)


def _opt_dim(cfg: Mapping[str, Any], key: str, where: str, limit: int = WIDTH_LIMIT) -> int | None:
    value = cfg.get(key)
    return None if value is None else check_dim(value, key, where, limit)


def _flag(cfg: Mapping[str, Any], key: str, default: bool) -> bool:
    value = cfg.get(key)
    return default if value is None else bool(value)


def _architecture(cfg: Mapping[str, Any]) -> str | None:
    archs = cfg.get("architectures")
    if isinstance(archs, list | tuple) and archs and isinstance(archs[0], str):
        return archs[0]
    return None


def _dtype(cfg: Mapping[str, Any]) -> str | None:
    value = cfg.get("torch_dtype", cfg.get("dtype"))
    return value if isinstance(value, str) else None


def _sliding_layers(
    cfg: Mapping[str, Any], rule: SlidingRule, window: int | None, layers: int
) -> tuple[int | None, int | None]:
    """Return ``(sliding_window, sliding_window_layers)`` as the family's rule applies them.

    ``layer_types`` (newer configs) wins when present; a window on every layer is reported as
    ``sliding_window_layers=None``, a window on no layer as no window at all.
    """
    if window is None or rule == "none":
        return None, None
    layer_types = cfg.get("layer_types")
    if isinstance(layer_types, list) and layer_types:
        count = sum(1 for kind in layer_types if kind == "sliding_attention")
    elif rule == "alternate":
        count = (layers + 1) // 2  # layers 0, 2, 4 ... slide
    elif rule == "pattern":
        pattern = cfg.get("sliding_window_pattern", 6)
        pattern = pattern if isinstance(pattern, int) and pattern > 0 else 6
        count = layers - layers // pattern
    elif rule == "qwen":
        first = cfg.get("max_window_layers", 28)
        first = first if isinstance(first, int) and first >= 0 else 28
        count = max(0, layers - first)
    else:  # "all", "qwen_all"
        count = layers
    if count == 0:
        return None, None
    return window, (None if count >= layers else count)


def _window(cfg: Mapping[str, Any], spec: _DecoderSpec, where: str) -> int | None:
    if spec.sliding in ("qwen", "qwen_all") and not _flag(cfg, "use_sliding_window", False):
        return None
    if "sliding_window" in cfg:
        return _opt_dim(cfg, "sliding_window", where, POSITIONS_LIMIT)
    return spec.sliding_default


def _moe_fields(cfg: Mapping[str, Any], spec: _DecoderSpec, where: str) -> dict[str, Any]:
    if spec.moe == "none":
        return {}
    experts_key = "num_local_experts" if spec.moe == "mixtral" else "num_experts"
    experts = _dim(cfg, experts_key, where, spec.experts_default, COUNT_LIMIT)
    top_k = _dim(cfg, "num_experts_per_tok", where, spec.top_k_default, COUNT_LIMIT)
    if top_k > experts:
        raise AnalysisError(
            f"{where}: 'num_experts_per_tok' ({top_k}) exceeds the {experts} experts"
        )
    fields: dict[str, Any] = {"num_experts": experts, "num_experts_per_tok": top_k}
    if spec.moe == "qwen":
        fields["moe_intermediate_size"] = _dim(
            cfg, "moe_intermediate_size", where, spec.moe_intermediate_default
        )
        if spec.shared_intermediate_default is not None:
            fields["shared_expert_intermediate_size"] = _dim(
                cfg, "shared_expert_intermediate_size", where, spec.shared_intermediate_default
            )
    return fields


def _decoder(
    cfg: Mapping[str, Any], model_type: str, source: str, section: str | None = None
) -> ModelConfig:
    """Normalise a llama-like decoder config with its family's defaults (see ``_DECODERS``)."""
    spec = _DECODERS[model_type]
    where = _where(source, section)
    nested = _NESTED_DEFAULTS.get(model_type, {}) if section else {}
    hidden = _dim(cfg, "hidden_size", where, nested.get("hidden_size"))
    layers = _dim(cfg, "num_hidden_layers", where, nested.get("num_hidden_layers"), LAYERS_LIMIT)
    heads = _dim(cfg, "num_attention_heads", where, nested.get("num_attention_heads"), COUNT_LIMIT)
    kv_default = spec.kv_default if spec.kv_default is not None else heads
    kv_source = cfg if spec.gqa else {}
    kv = _dim(kv_source, "num_key_value_heads", where, kv_default, COUNT_LIMIT)
    if cfg.get("num_key_value_heads", 0) is None:  # an explicit null means "same as heads"
        kv = heads
    if heads % kv:
        raise AnalysisError(
            f"{where}: {heads} attention heads are not a multiple of {kv} key/value heads"
        )
    head_dim = _opt_dim(cfg, "head_dim", where) or spec.head_dim_default
    head_dim = head_dim or _split(hidden, heads, where)
    intermediate_default = nested.get("intermediate_size", spec.intermediate_default)
    window, window_layers = _sliding_layers(cfg, spec.sliding, _window(cfg, spec, where), layers)
    return ModelConfig(
        model_type=model_type,
        architecture=_architecture(cfg),
        architecture_class="decoder-only",
        num_layers=layers,
        hidden_size=hidden,
        num_attention_heads=heads,
        num_kv_heads=kv,
        head_dim=head_dim,
        intermediate_size=_dim(cfg, "intermediate_size", where, intermediate_default),
        vocab_size=_dim(cfg, "vocab_size", where, nested.get("vocab_size"), VOCAB_LIMIT),
        max_context=_dim(
            cfg, "max_position_embeddings", where, spec.positions_default, POSITIONS_LIMIT
        ),
        tie_word_embeddings=_flag(cfg, "tie_word_embeddings", spec.tie_default),
        gated_mlp=model_type not in _PLAIN_MLP,
        sliding_window=window,
        sliding_window_layers=window_layers,
        torch_dtype=_dtype(cfg),
        raw=cfg,
        **_moe_fields(cfg, spec, where),
    )


def _split(hidden: int, heads: int, where: str, *, exact: bool = False) -> int:
    """``hidden // heads``: the per-head width when the config does not state it."""
    if hidden < heads or (exact and hidden % heads):
        raise AnalysisError(
            f"{where}: hidden size {hidden} is not divisible into {heads} attention heads"
        )
    return hidden // heads


def _aliased(cfg: Mapping[str, Any], aliases: Mapping[str, str]) -> dict[str, Any]:
    """Apply a configuration class's ``attribute_map`` (``hidden_size`` -> ``n_embd`` ...)."""
    out = dict(cfg)
    for alias, key in aliases.items():
        if out.get(key) is None and out.get(alias) is not None:
            out[key] = out[alias]
    return out


_GPT2_ALIASES = {
    "hidden_size": "n_embd",
    "max_position_embeddings": "n_positions",
    "num_attention_heads": "n_head",
    "num_hidden_layers": "n_layer",
}
_T5_ALIASES = {
    "hidden_size": "d_model",
    "num_attention_heads": "num_heads",
    "num_hidden_layers": "num_layers",
    "head_dim": "d_kv",
}
_DISTILBERT_ALIASES = {
    "hidden_size": "dim",
    "num_attention_heads": "n_heads",
    "num_hidden_layers": "n_layers",
}


def _gpt2(raw: Mapping[str, Any], model_type: str, source: str) -> ModelConfig:
    """GPT-2: ``n_embd``, ``n_layer``, ``n_head``, ``n_inner`` (None: 4·n_embd), ``n_positions``."""
    cfg = _aliased(raw, _GPT2_ALIASES)
    hidden = _dim(cfg, "n_embd", source)
    heads = _dim(cfg, "n_head", source, limit=COUNT_LIMIT)
    return ModelConfig(
        model_type=model_type,
        architecture=_architecture(cfg),
        architecture_class="decoder-only",
        num_layers=_dim(cfg, "n_layer", source, limit=LAYERS_LIMIT),
        hidden_size=hidden,
        num_attention_heads=heads,
        num_kv_heads=heads,
        head_dim=_split(hidden, heads, source, exact=True),
        intermediate_size=_dim(cfg, "n_inner", source, 4 * hidden),
        vocab_size=_dim(cfg, "vocab_size", source, limit=VOCAB_LIMIT),
        max_context=_dim(cfg, "n_positions", source, 1024, POSITIONS_LIMIT),
        tie_word_embeddings=_flag(cfg, "tie_word_embeddings", True),
        gated_mlp=False,
        torch_dtype=_dtype(cfg),
        raw=raw,
    )


def _encoder(raw: Mapping[str, Any], model_type: str, source: str) -> ModelConfig:
    """BERT / RoBERTa / DistilBERT / NomicBERT encoders (plain MLP; NomicBERT's is SwiGLU)."""
    if model_type == "distilbert":
        cfg = _aliased(raw, _DISTILBERT_ALIASES)
        keys = ("dim", "n_layers", "n_heads", "hidden_dim")
    elif model_type == "nomic_bert":
        cfg = _aliased(raw, _GPT2_ALIASES)
        keys = ("n_embd", "n_layer", "n_head", "n_inner")
    else:
        cfg = dict(raw)
        keys = ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size")
    hidden = _dim(cfg, keys[0], source)
    heads = _dim(cfg, keys[2], source, limit=COUNT_LIMIT)
    positions_key = "n_positions" if model_type == "nomic_bert" else "max_position_embeddings"
    activation = str(cfg.get("activation_function", "gelu"))
    return ModelConfig(
        model_type=model_type,
        architecture=_architecture(cfg),
        architecture_class="encoder-only",
        num_layers=_dim(cfg, keys[1], source, limit=LAYERS_LIMIT),
        hidden_size=hidden,
        num_attention_heads=heads,
        num_kv_heads=heads,
        head_dim=_split(hidden, heads, source, exact=True),
        intermediate_size=_dim(cfg, keys[3], source),
        vocab_size=_dim(cfg, "vocab_size", source, limit=VOCAB_LIMIT),
        max_context=_dim(cfg, positions_key, source, 512, POSITIONS_LIMIT),
        tie_word_embeddings=_flag(cfg, "tie_word_embeddings", True),
        gated_mlp=model_type == "nomic_bert" and activation in ("swiglu", "geglu"),
        torch_dtype=_dtype(cfg),
        raw=raw,
    )


def _t5(raw: Mapping[str, Any], model_type: str, source: str) -> ModelConfig:
    """T5 / mT5: ``d_model``, ``num_layers``, ``num_decoder_layers`` (None -> num_layers) ...

    ``feed_forward_proj`` ``"gated-gelu"`` (T5 v1.1, FLAN-T5, mT5) means a gated MLP
    (``wi_0``, ``wi_1``, ``wo``); ``"relu"`` (original T5) a plain one (``wi``, ``wo``).
    """
    cfg = _aliased(raw, _T5_ALIASES)
    mt5 = model_type == "mt5"
    proj = cfg.get("feed_forward_proj") or ("gated-gelu" if mt5 else "relu")
    parts = str(proj).split("-")
    if len(parts) > 2 or (len(parts) == 2 and parts[0] != "gated"):
        raise AnalysisError(f"{source}: 'feed_forward_proj' {proj!r} is not 'ACT' or 'gated-ACT'")
    layers = _dim(cfg, "num_layers", source, limit=LAYERS_LIMIT)
    heads = _dim(cfg, "num_heads", source, limit=COUNT_LIMIT)
    positions = cfg.get("n_positions")
    return ModelConfig(
        model_type=model_type,
        architecture=_architecture(cfg),
        architecture_class="encoder-decoder",
        num_layers=layers,
        num_decoder_layers=_dim(cfg, "num_decoder_layers", source, layers, LAYERS_LIMIT),
        hidden_size=_dim(cfg, "d_model", source),
        num_attention_heads=heads,
        num_kv_heads=heads,
        head_dim=_dim(cfg, "d_kv", source),
        intermediate_size=_dim(cfg, "d_ff", source),
        vocab_size=_dim(cfg, "vocab_size", source, limit=VOCAB_LIMIT),
        max_context=positions if isinstance(positions, int) and positions > 0 else None,
        tie_word_embeddings=_flag(cfg, "tie_word_embeddings", not mt5),
        gated_mlp=len(parts) == 2,
        torch_dtype=_dtype(cfg),
        raw=raw,
    )


def _whisper(raw: Mapping[str, Any], model_type: str, source: str) -> ModelConfig:
    """Whisper: audio encoder (2 convolutions + learned positions) and text decoder."""
    cfg = raw
    heads = _dim(cfg, "encoder_attention_heads", source, limit=COUNT_LIMIT)
    hidden = _dim(cfg, "d_model", source)
    for key in ("decoder_attention_heads", "decoder_ffn_dim"):
        _dim(cfg, key, source, limit=COUNT_LIMIT if "heads" in key else WIDTH_LIMIT)
    _dim(cfg, "num_mel_bins", source, 80)
    _dim(cfg, "max_source_positions", source, 1500, POSITIONS_LIMIT)
    return ModelConfig(
        model_type=model_type,
        architecture=_architecture(cfg),
        architecture_class="speech",
        num_layers=_dim(cfg, "encoder_layers", source, limit=LAYERS_LIMIT),
        num_decoder_layers=_dim(cfg, "decoder_layers", source, limit=LAYERS_LIMIT),
        hidden_size=hidden,
        num_attention_heads=heads,
        num_kv_heads=heads,
        head_dim=_split(hidden, heads, source, exact=True),
        intermediate_size=_dim(cfg, "encoder_ffn_dim", source),
        vocab_size=_dim(cfg, "vocab_size", source, limit=VOCAB_LIMIT),
        max_context=_dim(cfg, "max_target_positions", source, 448, POSITIONS_LIMIT),
        tie_word_embeddings=_flag(cfg, "tie_word_embeddings", True),
        gated_mlp=False,
        torch_dtype=_dtype(cfg),
        raw=raw,
    )


def _gemma3(raw: Mapping[str, Any], model_type: str, source: str) -> ModelConfig:
    """Gemma 3 multimodal wrapper: the text decoder from ``text_config``, SigLIP from
    ``vision_config``; both saved as diffs against their classes' defaults."""
    text = raw.get("text_config")
    if not isinstance(text, Mapping):
        raise AnalysisError(f"{source}: gemma3 config has no 'text_config' object")
    vision = raw.get("vision_config")
    if vision is not None:
        if not isinstance(vision, Mapping):
            raise AnalysisError(f"{source}: 'vision_config' is not an object")
        for key, default in SIGLIP_DEFAULTS.items():
            _dim(vision, key, f"{source} vision_config", default)
    base = _decoder(text, "gemma3_text", source, "text_config")
    return replace(
        base,
        model_type=model_type,
        architecture=_architecture(raw) or base.architecture,
        architecture_class="multimodal",
        tie_word_embeddings=_flag(
            text, "tie_word_embeddings", _flag(raw, "tie_word_embeddings", True)
        ),
        torch_dtype=_dtype(raw) or base.torch_dtype,
        raw=raw,
    )


def make_divisible(value: float, divisor: int) -> int:
    """OpenELM's (MobileNet's) rounding of a width to a multiple of ``divisor``.

    ``max(divisor, int(value + divisor / 2) // divisor * divisor)``, plus one ``divisor`` when
    that rounds down by more than 10 %.

    >>> make_divisible(0.5 * 1280, 256)
    768
    """
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


def _int_list(value: object, key: str, where: str, layers: int, limit: int) -> list[int]:
    if not isinstance(value, list | tuple) or len(value) != layers:
        raise AnalysisError(f"{where}: '{key}' must be a list of {layers} per-layer values")
    return [check_dim(item, key, where, limit) for item in value]


def openelm_layers(cfg: ModelConfig) -> list[tuple[int, int, int]]:
    """Per-layer ``(query heads, KV heads, FFN width)`` of an OpenELM model (layer-wise scaling).

    Reads ``num_query_heads``/``num_kv_heads``/``ffn_multipliers`` of an HF config, or the
    catalog's per-layer ``num_attention_heads``/``num_key_value_heads``/``intermediate_size``;
    FFN width = ``make_divisible(multiplier * model_dim, ffn_dim_divisor)``.

    Raises:
        AnalysisError: When the lists are missing, of the wrong length or not positive integers.
    """
    raw, where, layers = cfg.raw, f"{cfg.model_type} config", cfg.num_layers
    if "num_query_heads" in raw:
        q = _int_list(raw.get("num_query_heads"), "num_query_heads", where, layers, COUNT_LIMIT)
        kv = _int_list(raw.get("num_kv_heads"), "num_kv_heads", where, layers, COUNT_LIMIT)
        mults = raw.get("ffn_multipliers")
        if not isinstance(mults, list | tuple) or len(mults) != layers:
            raise AnalysisError(f"{where}: 'ffn_multipliers' must be a list of {layers} numbers")
        if not all(isinstance(m, int | float) and not isinstance(m, bool) for m in mults):
            raise AnalysisError(f"{where}: 'ffn_multipliers' must be numbers")
        divisor = _dim(raw, "ffn_dim_divisor", where, 256)
        ffn = [make_divisible(m * cfg.hidden_size, divisor) for m in mults]
        _int_list(ffn, "ffn_multipliers", where, layers, WIDTH_LIMIT)
    else:
        q = _int_list(
            raw.get("num_attention_heads"), "num_attention_heads", where, layers, COUNT_LIMIT
        )
        kv = _int_list(
            raw.get("num_key_value_heads"), "num_key_value_heads", where, layers, COUNT_LIMIT
        )
        ffn = _int_list(
            raw.get("intermediate_size"), "intermediate_size", where, layers, WIDTH_LIMIT
        )
    return list(zip(q, kv, ffn, strict=True))


def _openelm(raw: Mapping[str, Any], model_type: str, source: str) -> ModelConfig:
    """OpenELM (custom code): per-layer head counts and FFN widths; the scalar fields hold the
    largest layer's values, :func:`openelm_layers` the per-layer ones."""
    layers = _dim(raw, "num_transformer_layers", source, limit=LAYERS_LIMIT)
    cfg = ModelConfig(
        model_type=model_type,
        architecture=_architecture(raw),
        num_layers=layers,
        hidden_size=_dim(raw, "model_dim", source),
        num_attention_heads=1,
        num_kv_heads=1,
        head_dim=_dim(raw, "head_dim", source),
        intermediate_size=1,
        vocab_size=_dim(raw, "vocab_size", source, limit=VOCAB_LIMIT),
        max_context=_dim(raw, "max_context_length", source, 2048, POSITIONS_LIMIT),
        tie_word_embeddings=_flag(raw, "share_input_output_layers", False),
        torch_dtype=_dtype(raw),
        raw=raw,
    )
    dims = openelm_layers(cfg)
    return replace(
        cfg,
        num_attention_heads=max(d[0] for d in dims),
        num_kv_heads=max(d[1] for d in dims),
        intermediate_size=max(d[2] for d in dims),
    )


_Builder = Callable[[Mapping[str, Any], str, str], ModelConfig]


def _llama_like(raw: Mapping[str, Any], model_type: str, source: str) -> ModelConfig:
    return _decoder(raw, model_type, source)


_BUILDERS: dict[str, _Builder] = {
    **dict.fromkeys(_DECODERS, _llama_like),
    "gemma3": _gemma3,
    "gpt2": _gpt2,
    "bert": _encoder,
    "roberta": _encoder,
    "xlm-roberta": _encoder,
    "distilbert": _encoder,
    "nomic_bert": _encoder,
    "t5": _t5,
    "mt5": _t5,
    "whisper": _whisper,
    "openelm": _openelm,
}

SUPPORTED_MODEL_TYPES: tuple[str, ...] = tuple(sorted(_BUILDERS))


def _unknown(model_type: object, where: str) -> AnalysisError:
    return AnalysisError(
        f"{where}: unknown architecture {model_type!r}; supported: "
        + ", ".join(SUPPORTED_MODEL_TYPES)
    )


def rough_params(cfg: ModelConfig) -> int:
    """An upper-bound-ish parameter count for plausibility checks (not the real count).

    ``2·V·E + L·(4·E·H·D + 3·E·I·max(1, experts))`` (+ the decoder stack of encoder-decoders).
    """
    layers = cfg.num_layers + (cfg.num_decoder_layers or 0)
    experts = max(1, cfg.num_experts or 0)
    width = max(cfg.intermediate_size, cfg.moe_intermediate_size or 0)
    attention = 4 * cfg.hidden_size * max(cfg.num_attention_heads * cfg.head_dim, cfg.hidden_size)
    return 2 * cfg.vocab_size * cfg.hidden_size + layers * (
        attention + 3 * cfg.hidden_size * width * experts
    )


def _plausible(cfg: ModelConfig, where: str) -> ModelConfig:
    implied = rough_params(cfg)
    if implied > PARAMS_LIMIT:
        raise AnalysisError(
            f"{where}: dimensions imply about {implied:.2e} parameters, more than 1e15; "
            "the config is not a real model"
        )
    return cfg


def from_hf_config(config: Mapping[str, Any], *, source: str = "config.json") -> ModelConfig:
    """Normalise a Hugging Face ``config.json`` mapping into a :class:`ModelConfig`.

    Absent optional keys take the family's defaults exactly as transformers' configuration
    class applies them (``num_key_value_heads`` None -> heads, Mistral 8, Qwen2 32; Qwen3
    ``head_dim`` 128; Gemma ties embeddings; GPT-2 ``n_inner`` None -> 4·n_embd; T5
    ``num_decoder_layers`` None -> num_layers ...). Core dimensions (width, layers, heads, MLP
    width, vocabulary) are required at the top level; a composite model's ``text_config`` is
    saved as a diff against its class defaults, so there they default too.

    Args:
        config: The parsed ``config.json``.
        source: Where it came from, for error messages.

    Returns:
        The normalised config; ``raw`` is ``config`` itself.

    Raises:
        AnalysisError: Unknown ``model_type``, a missing core dimension, a dimension that is
            not a positive integer, or implausible sizes (more than 10^4 layers, widths over
            10^6, more than 10^15 implied parameters).

    >>> cfg = from_hf_config({"model_type": "gpt2", "n_embd": 768, "n_layer": 12,
    ...                       "n_head": 12, "vocab_size": 50257})
    >>> cfg.intermediate_size, cfg.max_context, cfg.tie_word_embeddings
    (3072, 1024, True)
    """
    if not isinstance(config, Mapping):
        raise AnalysisError(f"{source}: not a JSON object")
    model_type = config.get("model_type")
    if not isinstance(model_type, str) or not model_type:
        raise AnalysisError(f"{source}: no 'model_type'; cannot tell the architecture")
    builder = _BUILDERS.get(model_type)
    if builder is None:
        raise _unknown(model_type, source)
    return _plausible(builder(config, model_type, source), source)


# Flags of the released checkpoints the catalog rows describe, for custom-code families whose
# configuration classes (not part of transformers) default differently from those checkpoints.
_CATALOG_FLAGS: dict[str, dict[str, Any]] = {
    "openelm": {"normalize_qk_projections": True, "share_input_output_layers": True},
    "nomic_bert": {
        "activation_function": "swiglu",
        "qkv_proj_bias": False,
        "mlp_fc1_bias": False,
        "mlp_fc2_bias": False,
        "rotary_emb_fraction": 1.0,
    },
}

_CLASS_OF: dict[str, ArchitectureClass] = {
    **dict.fromkeys(_DECODERS, "decoder-only"),
    "gpt2": "decoder-only",
    "openelm": "decoder-only",
    "gemma3": "multimodal",
    **dict.fromkeys(("bert", "roberta", "xlm-roberta", "distilbert", "nomic_bert"), "encoder-only"),
    "t5": "encoder-decoder",
    "mt5": "encoder-decoder",
    "whisper": "speech",
}


def _catalog_whisper(entry: Mapping[str, Any], where: str) -> ModelConfig:
    """A Whisper catalog row: widths the row lacks follow Whisper's published shapes."""
    hidden = _dim(entry, "hidden_size", where)
    heads = _dim(entry, "num_attention_heads", where, limit=COUNT_LIMIT)
    return ModelConfig(
        model_type="whisper",
        architecture=entry.get("architecture")
        if isinstance(entry.get("architecture"), str)
        else None,
        architecture_class="speech",
        num_layers=_dim(entry, "encoder_layers", where, limit=LAYERS_LIMIT),
        num_decoder_layers=_dim(entry, "decoder_layers", where, limit=LAYERS_LIMIT),
        hidden_size=hidden,
        num_attention_heads=heads,
        num_kv_heads=heads,
        head_dim=_split(hidden, heads, where, exact=True),
        intermediate_size=4 * hidden,
        vocab_size=_dim(entry, "vocab_size", where, limit=VOCAB_LIMIT),
        max_context=448,
        tie_word_embeddings=True,
        gated_mlp=False,
        torch_dtype=_dtype(entry),
        raw=entry,
    )


def _catalog_openelm(entry: Mapping[str, Any], where: str) -> ModelConfig:
    raw = {**entry, **_CATALOG_FLAGS["openelm"]}
    layers = _dim(entry, "num_hidden_layers", where, limit=LAYERS_LIMIT)
    cfg = ModelConfig(
        model_type="openelm",
        architecture=entry.get("architecture")
        if isinstance(entry.get("architecture"), str)
        else None,
        num_layers=layers,
        hidden_size=_dim(entry, "hidden_size", where),
        num_attention_heads=1,
        num_kv_heads=1,
        head_dim=_dim(entry, "head_dim", where),
        intermediate_size=1,
        vocab_size=_dim(entry, "vocab_size", where, limit=VOCAB_LIMIT),
        max_context=_opt_dim(entry, "max_position_embeddings", where, POSITIONS_LIMIT),
        tie_word_embeddings=True,
        torch_dtype=_dtype(entry),
        raw=raw,
    )
    dims = openelm_layers(cfg)
    return replace(
        cfg,
        num_attention_heads=max(d[0] for d in dims),
        num_kv_heads=max(d[1] for d in dims),
        intermediate_size=max(d[2] for d in dims),
    )


def _tie_default(model_type: str) -> bool:
    spec = _DECODERS.get("gemma3_text" if model_type == "gemma3" else model_type)
    return spec.tie_default if spec is not None else True


def from_catalog_entry(entry: Mapping[str, Any]) -> ModelConfig:
    """Build a :class:`ModelConfig` from a catalog (``model_facts.jsonl``) row that has dims.

    Rows hold already-normalised keys (``num_hidden_layers``, ``hidden_size``,
    ``num_attention_heads``, ``num_key_value_heads``, ``head_dim``, ``intermediate_size``,
    ``vocab_size``, ``max_position_embeddings``, ``tie_word_embeddings``, ``sliding_window``,
    ``num_experts``, ``num_experts_per_tok``, ``model_type``, ``architecture``,
    ``torch_dtype``). For MoE rows ``intermediate_size`` is the expert width (litgpt's
    convention); Gemma 3 multimodal rows describe the text decoder only; OpenELM rows hold
    per-layer lists; Whisper rows hold ``encoder_layers``/``decoder_layers`` and no FFN width.

    Raises:
        AnalysisError: The row has no dims, an unknown ``model_type``, or invalid values.
    """
    where = f"catalog entry {entry.get('repo_id', '?')}"
    model_type = entry.get("model_type")
    if not isinstance(model_type, str) or entry.get("hidden_size") is None:
        raise AnalysisError(f"{where}: has no architecture dimensions")
    if model_type not in _CLASS_OF:
        raise _unknown(model_type, where)
    if model_type == "whisper":
        return _plausible(_catalog_whisper(entry, where), where)
    if model_type == "openelm":
        return _plausible(_catalog_openelm(entry, where), where)
    layers = _dim(entry, "num_hidden_layers", where, limit=LAYERS_LIMIT)
    heads = _dim(entry, "num_attention_heads", where, limit=COUNT_LIMIT)
    hidden = _dim(entry, "hidden_size", where)
    intermediate = _dim(entry, "intermediate_size", where)
    spec = _DECODERS.get("gemma3_text" if model_type == "gemma3" else model_type)
    rule: SlidingRule = "all"
    if spec is not None and spec.sliding in ("alternate", "pattern"):
        rule = spec.sliding
    window = _opt_dim(entry, "sliding_window", where, POSITIONS_LIMIT)
    window, window_layers = _sliding_layers(entry, rule, window, layers)
    experts = _opt_dim(entry, "num_experts", where, COUNT_LIMIT)
    tie = entry.get("tie_word_embeddings")
    architecture = entry.get("architecture")
    cfg = ModelConfig(
        model_type=model_type,
        architecture=architecture if isinstance(architecture, str) else None,
        architecture_class=_CLASS_OF[model_type],
        num_layers=layers,
        hidden_size=hidden,
        num_attention_heads=heads,
        num_kv_heads=_dim(entry, "num_key_value_heads", where, heads, COUNT_LIMIT),
        head_dim=_dim(entry, "head_dim", where, _split(hidden, heads, where)),
        intermediate_size=intermediate,
        vocab_size=_dim(entry, "vocab_size", where, limit=VOCAB_LIMIT),
        max_context=_opt_dim(entry, "max_position_embeddings", where, POSITIONS_LIMIT),
        tie_word_embeddings=_tie_default(model_type) if tie is None else bool(tie),
        gated_mlp=model_type not in _PLAIN_MLP,
        sliding_window=window,
        sliding_window_layers=window_layers,
        num_experts=experts,
        num_experts_per_tok=_opt_dim(entry, "num_experts_per_tok", where, COUNT_LIMIT),
        moe_intermediate_size=intermediate if experts and model_type != "mixtral" else None,
        torch_dtype=_dtype(entry),
        raw={**entry, **_CATALOG_FLAGS.get(model_type, {})},
    )
    return _plausible(cfg, where)
