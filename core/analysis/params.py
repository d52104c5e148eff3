"""Parameter counts from a model's dimensions, family by family.

Decoder-only models (llama-like, GPT-2, GPT-NeoX, Phi, OLMo, OpenELM):

    total = V·E [+ P·E learned positions]                                  embeddings
          + Σ_layers ( E·H·D + 2·E·K·D + H·D·E                            q, k, v, o
                       [+ H·D + 2·K·D] [+ E]                              q/k/v, o biases
                       [+ q/k norms]                                      Qwen3, Gemma 3, OLMo 2
                       + MLP: gated 3·E·I | plain 2·E·I [+ biases]
                         or MoE: n·3·E·I_e + E·n [+ 3·E·I_s + E shared expert and gate]
                       + norms·(E for RMSNorm | 2·E for LayerNorm | 0 non-parametric) )
          + final norm [+ V·E untied lm_head (+ V bias for Phi)]

with E hidden size, H query heads, K key/value heads, D head_dim, I MLP width, V vocabulary,
P positions. Encoders (BERT, RoBERTa, DistilBERT, NomicBERT), T5 and Whisper have their own
formulas below; each function's docstring writes its formula out.

Counts are of the parameters a checkpoint stores (tied matrices once, buffers such as GPT-2's
causal mask or BERT's ``position_ids`` not at all). ``exact`` says whether every tensor is
determined by the config; where a catalog row lacks something the formula needs, the count is
flagged inexact and the method says what was assumed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from core.analysis.model_config import (
    PARAMS_LIMIT,
    SIGLIP_DEFAULTS,
    ModelConfig,
    openelm_layers,
)
from core.errors import AnalysisError


@dataclass(frozen=True)
class ParamCount:
    """A model's parameter count.

    Attributes:
        total: All parameters (tied matrices counted once).
        active: Parameters used per generated token: for MoE models the shared parts plus the
            ``num_experts_per_tok`` routed experts of each sparse layer (attention, embeddings,
            router and shared experts included); a multimodal model's vision tower runs per
            image, not per token, and is left out. Equals ``total`` otherwise.
        embedding: Input embedding tables (tokens, learned positions, token types); an untied
            LM head is not included.
        method: How it was computed, e.g. ``"config formula (llama)"``, with any assumption.
        exact: True when the config determines every stored tensor.
    """

    total: int
    active: int
    embedding: int
    method: str
    exact: bool


Flag = bool | tuple[str, bool]  # a constant, or (config key, its default)
NormKind = Literal["rms", "layer", "none"]
QkNorm = Literal["none", "head", "full", "phi"]

_ATTN_BIAS: Flag = ("attention_bias", False)


@dataclass(frozen=True)
class _Rules:
    """Structure of one decoder family.

    Attributes:
        norm: RMSNorm (weight: E), LayerNorm (weight + bias: 2·E) or non-parametric (OLMo).
        layer_norms: Norms per block (Gemma 2/3 have four, Phi one).
        qkv_bias: Biases on q/k/v.
        o_bias: Bias on the output projection.
        mlp_bias: Biases on the MLP projections.
        qk_norm: ``head``: RMSNorm(D) on q and k (Qwen3, Gemma 3, OpenELM); ``full``:
            RMSNorm(H·D) and RMSNorm(K·D) (OLMo 2); ``phi``: LayerNorm(E/H) on q and k.
        qk_norm_flag: Whether the q/k norms are there.
        lm_head_bias: The LM head has a bias (Phi).
        learned_positions: Learned absolute position embeddings (GPT-2).
    """

    norm: NormKind
    layer_norms: int = 2
    qkv_bias: Flag = False
    o_bias: Flag = False
    mlp_bias: Flag = False
    qk_norm: QkNorm = "none"
    qk_norm_flag: Flag = True
    lm_head_bias: bool = False
    learned_positions: bool = False


_QWEN3 = _Rules("rms", qkv_bias=_ATTN_BIAS, o_bias=_ATTN_BIAS, qk_norm="head")
_GEMMA3 = _Rules("rms", layer_norms=4, qkv_bias=_ATTN_BIAS, o_bias=_ATTN_BIAS, qk_norm="head")

# One row per decoder family (transformers v4.57 modeling_<name>.py).
_DECODER_RULES: dict[str, _Rules] = {
    "llama": _Rules("rms", qkv_bias=_ATTN_BIAS, o_bias=_ATTN_BIAS, mlp_bias=("mlp_bias", False)),
    "mistral": _Rules("rms"),
    "mixtral": _Rules("rms"),
    "qwen2": _Rules("rms", qkv_bias=True),
    "qwen2_moe": _Rules("rms", qkv_bias=("qkv_bias", True)),
    "qwen3": _QWEN3,
    "qwen3_moe": _QWEN3,
    "gemma": _Rules("rms", qkv_bias=_ATTN_BIAS, o_bias=_ATTN_BIAS),
    "gemma2": _Rules("rms", layer_norms=4, qkv_bias=_ATTN_BIAS, o_bias=_ATTN_BIAS),
    "gemma3_text": _GEMMA3,
    "gemma3": _GEMMA3,
    "phi": _Rules(
        "layer",
        layer_norms=1,
        qkv_bias=True,
        o_bias=True,
        mlp_bias=True,
        qk_norm="phi",
        qk_norm_flag=("qk_layernorm", False),
        lm_head_bias=True,
    ),
    "phi3": _Rules("rms"),
    "olmo": _Rules("none", qkv_bias=_ATTN_BIAS, o_bias=_ATTN_BIAS),
    "olmo2": _Rules("rms", qkv_bias=_ATTN_BIAS, o_bias=_ATTN_BIAS, qk_norm="full"),
    "gpt_neox": _Rules(
        "layer", qkv_bias=("attention_bias", True), o_bias=("attention_bias", True), mlp_bias=True
    ),
    "gpt2": _Rules("layer", qkv_bias=True, o_bias=True, mlp_bias=True, learned_positions=True),
    "openelm": _Rules("rms", qk_norm="head", qk_norm_flag=("normalize_qk_projections", False)),
}


def _text_raw(cfg: ModelConfig) -> Mapping[str, Any]:
    """The mapping holding the text decoder's keys (a multimodal wrapper's ``text_config``)."""
    text = cfg.raw.get("text_config")
    return text if isinstance(text, Mapping) else cfg.raw


def _on(flag: Flag, raw: Mapping[str, Any]) -> bool:
    if isinstance(flag, bool):
        return flag
    key, default = flag
    value = raw.get(key)
    return default if value is None else bool(value)


def _norm(width: int, kind: NormKind) -> int:
    """RMSNorm: a weight (E); LayerNorm: weight and bias (2·E); OLMo's: nothing."""
    return {"rms": width, "layer": 2 * width, "none": 0}[kind]


def _mlp(hidden: int, width: int, gated: bool, bias: bool) -> int:
    """Gated: 3·E·I (+ 2·I + E biases); plain: 2·E·I (+ I + E biases)."""
    if gated:
        return 3 * hidden * width + ((2 * width + hidden) if bias else 0)
    return 2 * hidden * width + ((width + hidden) if bias else 0)


def _attention(cfg: ModelConfig, rules: _Rules, raw: Mapping[str, Any], heads: int, kv: int) -> int:
    """q, k, v, o: E·H·D + 2·E·K·D + H·D·E, plus biases and q/k norms where the family has them."""
    e, d = cfg.hidden_size, cfg.head_dim
    total = e * heads * d + 2 * e * kv * d + heads * d * e
    if _on(rules.qkv_bias, raw):
        total += heads * d + 2 * kv * d
    if _on(rules.o_bias, raw):
        total += e
    if _on(rules.qk_norm_flag, raw):
        total += {
            "none": 0,
            "head": 2 * _norm(d, rules.norm),
            "full": _norm(heads * d, rules.norm) + _norm(kv * d, rules.norm),
            "phi": 2 * 2 * (e // max(1, heads)),
        }[rules.qk_norm]
    return total


def _sparse_layers(cfg: ModelConfig, raw: Mapping[str, Any]) -> list[bool]:
    """Which layers are MoE: Qwen's ``decoder_sparse_step`` and ``mlp_only_layers``."""
    if not cfg.num_experts:
        return [False] * cfg.num_layers
    step = raw.get("decoder_sparse_step", 1)
    step = step if isinstance(step, int) and step > 0 else 1
    dense = raw.get("mlp_only_layers") or []
    dense_set = {i for i in dense if isinstance(i, int)} if isinstance(dense, list) else set()
    return [(i not in dense_set) and (i + 1) % step == 0 for i in range(cfg.num_layers)]


def _moe(cfg: ModelConfig) -> tuple[int, int]:
    """One MoE block: ``(all parameters, parameters of the experts not routed to)``.

    n·3·E·I_e experts + E·n router [+ 3·E·I_s shared expert + E shared-expert gate].
    """
    e, n = cfg.hidden_size, cfg.num_experts or 0
    width = cfg.moe_intermediate_size or cfg.intermediate_size
    expert = 3 * e * width
    total = n * expert + e * n
    if cfg.shared_expert_intermediate_size:
        total += 3 * e * cfg.shared_expert_intermediate_size + e
    idle = (n - (cfg.num_experts_per_tok or n)) * expert
    return total, idle


def _head_kind(architecture: str | None) -> tuple[str, str | None]:
    """``("lm" | "base", note)`` for a decoder's architecture class name."""
    if architecture is None:
        return "lm", "no 'architectures'; LM head assumed"
    if architecture.endswith(("ForCausalLM", "LMHeadModel", "ForConditionalGeneration")):
        return "lm", None
    if architecture.endswith("Model"):
        return "base", None
    return "lm", f"head of {architecture} not modelled; LM head assumed"


def _decoder(cfg: ModelConfig) -> ParamCount:
    """Decoder-only formula (module docstring); OpenELM with its per-layer widths."""
    rules = _DECODER_RULES[cfg.model_type]
    raw = _text_raw(cfg)
    e, v = cfg.hidden_size, cfg.vocab_size
    norm = _norm(e, rules.norm)
    mlp_bias = _on(rules.mlp_bias, raw)
    if cfg.model_type == "openelm":
        layers = [
            _attention(cfg, rules, raw, q, kv) + _mlp(e, ffn, True, False) + 2 * norm
            for q, kv, ffn in openelm_layers(cfg)
        ]
        idle = 0
    else:
        attention = _attention(cfg, rules, raw, cfg.num_attention_heads, cfg.num_kv_heads)
        dense = _mlp(e, cfg.intermediate_size, cfg.gated_mlp, mlp_bias)
        moe_total, moe_idle = _moe(cfg) if cfg.num_experts else (0, 0)
        sparse = _sparse_layers(cfg, raw)
        base = attention + rules.layer_norms * norm
        layers = [base + (moe_total if s else dense) for s in sparse]
        idle = moe_idle * sum(sparse)
    embedding = v * e + (cfg.max_context or 0) * e * rules.learned_positions
    head_kind, note = _head_kind(cfg.architecture)
    head = 0
    if head_kind == "lm":
        head = (0 if cfg.tie_word_embeddings else v * e) + (v if rules.lm_head_bias else 0)
    total = embedding + sum(layers) + norm + head
    notes = [note] if note else []
    vision = 0
    if cfg.model_type == "gemma3":
        vision, vision_note = _gemma3_vision(cfg)
        notes += [vision_note] if vision_note else []
    exact = note is None and not (cfg.model_type == "gemma3" and vision == 0)
    return ParamCount(
        total=total + vision,
        active=total - idle,
        embedding=embedding,
        method=_method(cfg.model_type, notes),
        exact=exact,
    )


def siglip_vision_params(vision: Mapping[str, Any]) -> int:
    """A SigLIP vision tower (transformers' ``SiglipVisionModel``).

    patch conv C·p²·E + E, positions (S/p)²·E, per layer 4·(E² + E) + 2·E·I + I + E + 2·2·E,
    post-LayerNorm 2·E, and unless ``vision_use_head`` is false the attention-pooling head
    E (probe) + 3·E² + 3·E + E² + E (attention) + 2·E + 2·E·I + I + E (LayerNorm, MLP).
    """
    get = {key: vision.get(key) or default for key, default in SIGLIP_DEFAULTS.items()}
    e, i = get["hidden_size"], get["intermediate_size"]
    patches = (get["image_size"] // get["patch_size"]) ** 2
    embed = get["num_channels"] * get["patch_size"] ** 2 * e + e + patches * e
    layer = 4 * (e * e + e) + 2 * e * i + i + e + 2 * 2 * e
    head = 0
    if vision.get("vision_use_head", True):
        head = e + (3 * e * e + 3 * e) + (e * e + e) + 2 * e + (2 * e * i + i + e)
    return embed + get["num_hidden_layers"] * layer + 2 * e + head


def _gemma3_vision(cfg: ModelConfig) -> tuple[int, str | None]:
    """SigLIP tower + projector (E_v·E_t matrix and RMSNorm(E_v)); 0 without a vision_config."""
    vision = cfg.raw.get("vision_config")
    if not isinstance(vision, Mapping):
        return 0, "text decoder only: no vision_config, SigLIP vision tower not counted"
    e_v = vision.get("hidden_size") or SIGLIP_DEFAULTS["hidden_size"]
    projector = e_v * cfg.hidden_size + e_v
    return siglip_vision_params(vision) + projector, None


# -- encoders ---------------------------------------------------------------------------------

_ENCODER_GROUP = {
    "bert": "bert",
    "roberta": "roberta",
    "xlm-roberta": "roberta",
    "distilbert": "distilbert",
    "nomic_bert": "nomic_bert",
}


def _labels(raw: Mapping[str, Any]) -> int:
    id2label = raw.get("id2label")
    if isinstance(id2label, Mapping) and id2label:
        return len(id2label)
    num = raw.get("num_labels")
    return num if isinstance(num, int) and num > 0 else 2


def _task(architecture: str) -> str:
    """``BertForMaskedLM`` -> ``ForMaskedLM``; ``BertLMHeadModel`` -> ``LMHeadModel``."""
    if "For" in architecture:
        return architecture[architecture.index("For") :]
    return "LMHeadModel" if architecture.endswith("LMHeadModel") else "Model"


def _encoder_heads(cfg: ModelConfig) -> tuple[int, str | None, str | None]:
    """Task heads by architecture: ``(parameters, method note, inexact reason)``.

    pooler E² + E; MLM head E² + E + 2·E + V (transform, LayerNorm, decoder bias; + V·E when
    untied); NSP 2·E + 2; classifiers and QA E·L + L (RoBERTa/DistilBERT sequence
    classifiers add an E² + E dense layer).
    """
    group = _ENCODER_GROUP[cfg.model_type]
    e, v = cfg.hidden_size, cfg.vocab_size
    pooler = e * e + e
    mlm = e * e + e + 2 * e + v + (0 if cfg.tie_word_embeddings else v * e)
    labels = _labels(cfg.raw)
    classifier = e * labels + labels
    arch = cfg.architecture or ""
    task = _task(arch)
    if not arch:
        return (pooler if group in ("bert", "roberta") else 0), None, "no 'architectures'"
    if group == "nomic_bert":
        return 0, None, None if task == "Model" else f"head of {arch} not modelled"
    heads: dict[str, tuple[int, str | None]] = {
        "Model": (pooler if group in ("bert", "roberta") else 0, None),
        "ForQuestionAnswering": (classifier, None),
        "ForTokenClassification": (classifier, None),
    }
    if group == "bert":
        heads |= {
            "ForPreTraining": (pooler + mlm + 2 * e + 2, None),
            "ForMaskedLM": (
                pooler + mlm + 2 * e + 2,
                "BertForMaskedLM counted as its pre-training checkpoint (pooler + MLM + NSP "
                "heads, as Google's BERT checkpoints store)",
            ),
            "LMHeadModel": (mlm, None),
            "ForNextSentencePrediction": (pooler + 2 * e + 2, None),
            "ForSequenceClassification": (pooler + classifier, None),
            "ForMultipleChoice": (pooler + e + 1, None),
        }
    else:
        dense_classifier = e * e + e + classifier
        heads |= {
            "ForMaskedLM": (mlm, None),
            "ForCausalLM": (mlm, None),
            "ForSequenceClassification": (dense_classifier, None),
            "ForMultipleChoice": ((pooler if group == "roberta" else e * e + e) + e + 1, None),
        }
    if task in heads:
        count, note = heads[task]
        return count, note, None
    return heads["Model"][0], None, f"head of {arch} not modelled"


def _nomic_layer(cfg: ModelConfig, positions: int) -> tuple[int, int, int, int]:
    """NomicBERT (custom code, ``NomicBertConfig`` defaults): ``(layer, positions, vocab, norm)``.

    Fused Wqkv 3·E² + out E² (+ 4·E with ``qkv_proj_bias``); SwiGLU fc11, fc12 2·E·I + fc2 I·E
    (+ biases with ``mlp_fc1_bias``/``mlp_fc2_bias``), or a plain 2·E·I MLP; two norms
    (LayerNorm 2·E, or RMSNorm E with ``use_rms_norm``); rotary embeddings replace learned
    positions when ``rotary_emb_fraction`` > 0; vocabulary padded to
    ``pad_vocab_size_multiple``.
    """
    raw, e, i = cfg.raw, cfg.hidden_size, cfg.intermediate_size
    rotary = raw.get("rotary_emb_fraction", 0.0)
    if isinstance(rotary, int | float) and rotary > 0:
        positions = 0
    multiple = raw.get("pad_vocab_size_multiple", 1)
    multiple = multiple if isinstance(multiple, int) and multiple > 0 else 1
    vocab = -(-cfg.vocab_size // multiple) * multiple
    norm = e if _on(("use_rms_norm", False), raw) else 2 * e
    attention = 4 * e * e + (4 * e if _on(("qkv_proj_bias", True), raw) else 0)
    factor = 2 if cfg.gated_mlp else 1
    mlp = factor * e * i + i * e
    mlp += (factor * i if _on(("mlp_fc1_bias", True), raw) else 0) + (
        e if _on(("mlp_fc2_bias", True), raw) else 0
    )
    return attention + mlp + 2 * norm, positions, vocab, norm


def _encoder(cfg: ModelConfig) -> ParamCount:
    """BERT-like encoders.

    embeddings V·E + P·E [+ T·E token types] + 2·E (LayerNorm; NomicBERT: rotary, no P·E);
    per layer 4·(E² + E) attention + 2·E + E·I + I + I·E + E + 2·E (NomicBERT: fused
    3·E² qkv + E² out without biases, SwiGLU 3·E·I), then the architecture's heads.
    """
    raw, e, i = cfg.raw, cfg.hidden_size, cfg.intermediate_size
    group = _ENCODER_GROUP[cfg.model_type]
    type_vocab = raw.get("type_vocab_size", 2) if group != "distilbert" else 0
    type_vocab = type_vocab if isinstance(type_vocab, int) and type_vocab >= 0 else 2
    positions = cfg.max_context or 0
    vocab, norm = cfg.vocab_size, 2 * e
    if group == "nomic_bert":
        layer, positions, vocab, norm = _nomic_layer(cfg, positions)
    else:
        layer = 4 * (e * e + e) + 2 * e + _mlp(e, i, False, True) + 2 * e
    embedding = vocab * e + positions * e + type_vocab * e
    heads, note, inexact = _encoder_heads(cfg)
    total = embedding + norm + cfg.num_layers * layer + heads
    notes = [n for n in (note, inexact) if n]
    return ParamCount(total, total, embedding, _method(cfg.model_type, notes), inexact is None)


# -- encoder-decoders -------------------------------------------------------------------------


def _t5(cfg: ModelConfig) -> ParamCount:
    """T5 / mT5 (relative position bias, RMS-style LayerNorm without bias, no linear biases).

    shared V·E; attention 4·E·(H·D); MLP gated 3·E·F or plain 2·E·F;
    encoder L_e·(attn + E + MLP + E) + buckets·H + E;
    decoder L_d·(2·attn + 3·E + MLP) + buckets·H + E; untied lm_head V·E.
    ``T5EncoderModel`` is the shared embedding and encoder; ``T5Model`` has no lm_head.
    """
    e, v = cfg.hidden_size, cfg.vocab_size
    attention = 4 * e * cfg.num_attention_heads * cfg.head_dim
    mlp = (3 if cfg.gated_mlp else 2) * e * cfg.intermediate_size
    buckets = cfg.raw.get("relative_attention_num_buckets", 32)
    buckets = buckets if isinstance(buckets, int) and buckets > 0 else 32
    bias = buckets * cfg.num_attention_heads
    encoder = cfg.num_layers * (attention + mlp + 2 * e) + bias + e
    decoder_layers = cfg.num_decoder_layers if cfg.num_decoder_layers is not None else 0
    decoder = decoder_layers * (2 * attention + mlp + 3 * e) + bias + e
    arch = cfg.architecture or "T5ForConditionalGeneration"
    if arch.endswith("EncoderModel"):
        total = v * e + encoder
    else:
        lm_head = 0 if cfg.tie_word_embeddings or arch.endswith("Model") else v * e
        total = v * e + encoder + decoder + lm_head
    return ParamCount(total, total, v * e, _method(cfg.model_type, []), True)


def _whisper(cfg: ModelConfig) -> ParamCount:
    """Whisper: encoder convs M·E·3 + E and E·E·3 + E, positions S·E, layers
    4·E² + 3·E (k has no bias) + 2·E + 2·E·F + F + E + 2·E, final 2·E; decoder tokens V·E,
    positions T·E, layers 2·(4·E² + 3·E) + 3·2·E + 2·E·F + F + E, final 2·E; lm head tied.
    """
    raw, e = cfg.raw, cfg.hidden_size
    assumed = "encoder_ffn_dim" not in raw
    mels = raw.get("num_mel_bins") or (128 if cfg.vocab_size == 51866 else 80)
    source = raw.get("max_source_positions") or 1500
    target = cfg.max_context or 448
    f_enc = cfg.intermediate_size
    f_dec = raw.get("decoder_ffn_dim") or f_enc
    attention = 4 * e * e + 3 * e
    encoder = (
        mels * e * 3
        + e
        + e * e * 3
        + e
        + source * e
        + cfg.num_layers * (attention + 2 * e + 2 * e * f_enc + f_enc + e + 2 * e)
        + 2 * e
    )
    decoder_layers = cfg.num_decoder_layers or 0
    decoder = (
        cfg.vocab_size * e
        + target * e
        + decoder_layers * (2 * attention + 3 * 2 * e + 2 * e * f_dec + f_dec + e)
        + 2 * e
    )
    head = 0 if cfg.tie_word_embeddings else cfg.vocab_size * e
    total = encoder + decoder + head
    notes = (
        ["catalog row: FFN 4·d_model, 1500/448 positions, 80 mel bins (128 for v3) assumed"]
        if assumed
        else []
    )
    return ParamCount(total, total, cfg.vocab_size * e, _method("whisper", notes), not assumed)


def _method(model_type: str, notes: list[str]) -> str:
    return f"config formula ({model_type})" + "".join(f"; {n}" for n in notes)


_COUNTERS = {
    **dict.fromkeys(_DECODER_RULES, _decoder),
    **dict.fromkeys(_ENCODER_GROUP, _encoder),
    "t5": _t5,
    "mt5": _t5,
    "whisper": _whisper,
}


def count_params(cfg: ModelConfig) -> ParamCount:
    """Count a model's parameters from its normalised config.

    Args:
        cfg: A config from :func:`~core.analysis.model_config.from_hf_config` or
            :func:`~core.analysis.model_config.from_catalog_entry`.

    Returns:
        Total, active-per-token and embedding parameters, the method and whether it is exact.

    Raises:
        AnalysisError: No formula for the family, or more than 10^15 parameters.

    >>> from core.analysis.model_config import from_hf_config
    >>> count_params(from_hf_config({"model_type": "gpt2", "n_embd": 768, "n_layer": 12,
    ...     "n_head": 12, "vocab_size": 50257, "architectures": ["GPT2LMHeadModel"]})).total
    124439808
    """
    counter = _COUNTERS.get(cfg.model_type)
    if counter is None:
        raise AnalysisError(f"no parameter formula for architecture {cfg.model_type!r}")
    count = counter(cfg)
    if count.total > PARAMS_LIMIT:
        raise AnalysisError(
            f"{cfg.model_type}: {count.total:.2e} parameters is implausible (more than 1e15)"
        )
    return count
