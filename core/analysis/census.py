"""What a model is, from its tensor names alone: architecture guess and a layer census.

Every header format lists tensors by name (safetensors, GGUF, ONNX initializers, the tensors a
PyTorch checkpoint's pickle describes), and the names follow a few conventions:

==========================  ================================================================
convention                  names
==========================  ================================================================
Hugging Face decoder        ``model.layers.N.self_attn.q_proj``, ``model.layers.N.mlp.up_proj``
GPT-2 / GPT-J style         ``transformer.h.N.attn.c_attn``, ``transformer.h.N.mlp.c_fc``
llama.cpp GGUF              ``blk.N.attn_q``, ``blk.N.ffn_up``, ``token_embd``, ``output``
BERT-like encoder           ``bert.encoder.layer.N.attention.self.query``, ``pooler.dense``
T5 / BART / Whisper         ``encoder.block.N`` / ``decoder.block.N`` + ``EncDecAttention``,
                            ``model.decoder.layers.N.encoder_attn`` (GGUF ``dec.blk.N.cross_*``)
vision transformer          ``vit.encoder.layer.N``, ``patch_embeddings``, ``v.blk.N`` (mmproj)
CNN (ResNet-like)           4-D ``layer1.0.conv1.weight``, ``bn1.running_mean``, ``fc.weight``
state space (Mamba)         ``backbone.layers.N.mixer.A_log``, GGUF ``blk.N.ssm_a``
==========================  ================================================================

:func:`census` sorts every tensor into one group (attention, MLP, norm, conv, embedding —
embeddings, position tables and the LM head — or other), counts the distinct block indices
(``layers.N``, ``h.N``, ``blk.N``, ``block.N``: the layers) per stack (encoder, decoder,
vision), and guesses the architecture from which groups and stacks are present. For an ONNX
graph whose initializers were renamed on export (``onnx::MatMul_123``), the operator census
(``Attention``, ``Softmax`` + ``MatMul``, ``Conv``) decides instead.

It is a guess from names, stated as such: ``evidence`` says what it rests on.

Example:
    >>> names = ["model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"]
    >>> for i in range(2):
    ...     names += [f"model.layers.{i}.self_attn.q_proj.weight",
    ...               f"model.layers.{i}.mlp.up_proj.weight",
    ...               f"model.layers.{i}.input_layernorm.weight"]
    >>> c = census([TensorInfo(n, (8, 8)) for n in names])
    >>> c.architecture, c.architecture_class, c.layers
    ('transformer-decoder', 'decoder-only', 2)
    >>> c.counts
    {'attention': 2, 'mlp': 2, 'norm': 3, 'conv': 0, 'embedding': 2, 'other': 0}
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.analysis.model_config import ArchitectureClass

GROUPS = ("attention", "mlp", "norm", "conv", "embedding", "other")
"""The census groups, in display order."""

ARCHITECTURES = (
    "transformer-decoder",
    "transformer-encoder",
    "transformer-encoder-decoder",
    "vision-transformer",
    "multimodal-transformer",
    "transformer",
    "state-space",
    "cnn",
    "unknown",
)
"""Every :attr:`Census.architecture` label (``transformer``: attention seen, stack unknown)."""

_CLASS: Mapping[str, ArchitectureClass | None] = {
    "transformer-decoder": "decoder-only",
    "transformer-encoder": "encoder-only",
    "transformer-encoder-decoder": "encoder-decoder",
    "vision-transformer": "vision",
    "multimodal-transformer": "multimodal",
    "transformer": None,
    "state-space": "decoder-only",
    "cnn": "vision",
    "unknown": None,
}


@dataclass(frozen=True)
class TensorInfo:
    """One tensor as a header lists it.

    Attributes:
        name: The tensor's name.
        shape: Its dimensions in the format's own order (GGUF: innermost first).
        dtype: The format's dtype name (``BF16``, ``Q4_K``, ``FLOAT``), when known.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str = ""

    @property
    def elements(self) -> int:
        """Elements in the tensor (1 for a scalar)."""
        return math.prod(self.shape)


@dataclass(frozen=True)
class Census:
    """The architecture guess and the per-group counts.

    Attributes:
        architecture: One of :data:`ARCHITECTURES`.
        architecture_class: The :data:`ArchitectureClass` the analysis uses, None when unknown
            (and for a bare ``transformer``, whose stack is unknown).
        layers: Blocks: distinct block indices over all stacks (encoder + decoder for an
            encoder-decoder, the vision tower included for a multimodal model); for a CNN,
            its weighted layers (conv and linear weight tensors). None when not countable.
        encoder_layers: Distinct block indices of the encoder stack, when there is one.
        decoder_layers: ... of the decoder stack (decoder-only models included).
        counts: Tensors per group (every group of :data:`GROUPS`, zeros included).
        params: Elements per group.
        tensors: Tensors looked at.
        experts: Mixture-of-experts: the number of experts, 0 for a dense model, None when the
            expert tensors do not say how many.
        evidence: One line: what the guess rests on.
        ops: The ONNX operator census, when one was given.
    """

    architecture: str
    architecture_class: ArchitectureClass | None
    layers: int | None
    encoder_layers: int | None
    decoder_layers: int | None
    counts: dict[str, int]
    params: dict[str, int]
    tensors: int
    experts: int | None
    evidence: str
    ops: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values."""
        return {
            "architecture": self.architecture,
            "architecture_class": self.architecture_class,
            "layers": self.layers,
            "encoder_layers": self.encoder_layers,
            "decoder_layers": self.decoder_layers,
            "counts": dict(self.counts),
            "params": dict(self.params),
            "tensors": self.tensors,
            "experts": self.experts,
            "evidence": self.evidence,
        }


# -- tensor groups ----------------------------------------------------------------------------

_NORM = re.compile(
    r"norm|layernorm|layer_norm|batchnorm|running_mean|running_var|num_batches_tracked"
    r"|(?:^|[._])(?:ln|ln_\w+|ln\d+|bn|bn\d+)(?:\.|$)"
)
_EMBEDDING = re.compile(
    r"embed|embd|(?:^|\.)(?:wte|wpe)(?:\.|$)|token_types|lm_head|embed_out"
    r"|(?:^|\.)shared\.weight$|^output\.weight$|cls_token|pos_embed|position_ids"
)
_MLP_CONTAINER = re.compile(
    r"mlp|ffn|feed_forward|feedforward|densereludense|intermediate|experts|_exps|c_fc|router"
    r"|(?:^|[._])moe[._]"
    r"|dense_h_to_4h|dense_4h_to_h|(?:^|\.)(?:gate_proj|up_proj|down_proj|w1|w2|w3|fc1|fc2)\."
)
_ATTENTION = re.compile(
    r"attn|attention|(?:^|\.)(?:[qkvo]_proj|qkv|query|key|value|wq|wk|wv|wo|wqkv|in_proj"
    r"|out_proj|c_attn)(?:\.|_weight|_bias|$)|\.[qkvo](?:\.|$)|in_proj_weight|in_proj_bias"
    r"|selfattention|encdecattention|relative_attention_bias"
)
# BERT's FFN output (``attention.output.dense`` is caught by the attention rule first)
_BERT_MLP = re.compile(r"(?:^|\.)output\.dense\.")
_CONV = re.compile(r"conv")

_CROSS = re.compile(
    r"encdecattention|encoder_attn|crossattention|cross_attn|attn_cross|cross_attention"
)
_BLOCK = re.compile(
    r"(?:^|\.)(?:layers|layer|h|blocks|block|blk|transformer_blocks|resblocks)\.(\d+)(?:\.|$)"
)
_EXPERT_INDEX = re.compile(r"experts\.(\d+)\.")
_SSM = re.compile(r"(?:^|\.)(?:a_log|ssm_a|ssm_d|ssm_conv1d|dt_proj)(?:\.|$)")
_PATCH = re.compile(r"patch_embed|patch_embd|patch_embedding|embeddings\.patch|conv_proj")
_ENCODER_HINT = re.compile(r"token_type|(?:^|\.)pooler\.|(?:^|\.)cls\.predictions|token_types")
_LM_HEAD = re.compile(r"lm_head|^output\.weight$|embed_out")

_VISION_SCOPE = re.compile(
    r"(?:^|\.)(?:vision_model|vision_tower|vision_encoder|visual|vit|v|image_encoder|vision)\."
)
_TEXT_SCOPE = re.compile(r"(?:^|\.)(?:language_model|text_model|llm)\.")
_ENCODER_SCOPE = re.compile(r"(?:^|\.)(?:encoder|enc)\.")
_DECODER_SCOPE = re.compile(r"(?:^|\.)(?:decoder|dec)\.")

_ATTENTION_OPS = frozenset(
    {"Attention", "MultiHeadAttention", "GroupQueryAttention", "PackedAttention",
     "PackedMultiHeadAttention", "DecoderMaskedMultiHeadAttention", "SparseAttention",
     "RotaryEmbedding", "QAttention"}
)  # fmt: skip
_CONV_OPS = frozenset({"Conv", "ConvTranspose", "QLinearConv", "ConvInteger", "NhwcConv"})
_NORM_OPS = frozenset(
    {"LayerNormalization", "SimplifiedLayerNormalization", "SkipLayerNormalization",
     "SkipSimplifiedLayerNormalization", "RMSNormalization"}
)  # fmt: skip


def _bn_prefixes(names: Iterable[str]) -> set[str]:
    """Module prefixes holding BatchNorm statistics (``downsample.1`` in a ResNet)."""
    out = set()
    for name in names:
        for stat in (".running_mean", ".running_var", ".num_batches_tracked"):
            if name.endswith(stat):
                out.add(name[: -len(stat)])
    return out


def _prefix(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else ""


def tensor_group(name: str, shape: tuple[int, ...] = ()) -> str:
    """The census group of one tensor (one of :data:`GROUPS`).

    >>> tensor_group("blk.3.attn_norm.weight"), tensor_group("blk.3.attn_q.weight")
    ('norm', 'attention')
    >>> tensor_group("encoder.block.0.layer.1.DenseReluDense.wo.weight")
    'mlp'
    >>> tensor_group("layer1.0.conv1.weight", (64, 64, 3, 3)), tensor_group("fc.weight")
    ('conv', 'other')
    """
    low = name.lower()
    if _NORM.search(low):
        return "norm"
    if _EMBEDDING.search(low):
        return "embedding"
    if _MLP_CONTAINER.search(low):
        return "mlp"
    if _ATTENTION.search(low):
        return "attention"
    if _BERT_MLP.search(low):
        return "mlp"
    if _CONV.search(low) or len(shape) >= 3:
        return "conv"
    return "other"


def _scope(name: str, match_start: int) -> str:
    """Which stack a block belongs to: vision, encoder, decoder or main."""
    head = name[:match_start].lower() + "."
    if _VISION_SCOPE.search(head):
        return "vision"
    if _ENCODER_SCOPE.search(head):
        return "encoder"
    if _DECODER_SCOPE.search(head):
        return "decoder"
    return "main"


def census(tensors: Iterable[TensorInfo], *, ops: Mapping[str, int] | None = None) -> Census:
    """Classify ``tensors`` and guess the architecture.

    Args:
        tensors: Every tensor of the model (names are what matter; shapes tell convolutions).
        ops: An ONNX graph's operator census (``{"MatMul": 96, ...}``), used when the names
            decide nothing.
    """
    items = list(tensors)
    bn = _bn_prefixes(t.name for t in items)
    counts = dict.fromkeys(GROUPS, 0)
    params = dict.fromkeys(GROUPS, 0)
    blocks: dict[str, set[int]] = {
        "main": set(),
        "encoder": set(),
        "decoder": set(),
        "vision": set(),
    }
    text_blocks: set[int] = set()
    expert_ids: set[int] = set()
    expert_width: int | None = None
    moe = cross = ssm = patch = encoder_hint = lm_head = audio_conv = False
    weighted_cnn = 0
    for t in items:
        low = t.name.lower()
        group = "norm" if _prefix(t.name) in bn else tensor_group(t.name, t.shape)
        counts[group] += 1
        params[group] += t.elements
        match = _BLOCK.search(t.name)
        scope = "main"
        if match is not None:
            scope = _scope(t.name, match.start())
            blocks[scope].add(int(match.group(1)))
            if _TEXT_SCOPE.search(t.name[: match.start()].lower() + "."):
                text_blocks.add(int(match.group(1)))
        cross = cross or bool(_CROSS.search(low))
        ssm = ssm or bool(_SSM.search(low))
        patch = patch or bool(_PATCH.search(low))
        encoder_hint = encoder_hint or bool(_ENCODER_HINT.search(low))
        lm_head = lm_head or bool(_LM_HEAD.search(low))
        if group == "conv" and len(t.shape) == 3 and scope in ("encoder", "main"):
            audio_conv = audio_conv or "encoder" in low
        if (group == "conv" and len(t.shape) >= 3) or (group == "other" and len(t.shape) == 2):
            weighted_cnn += 1
        expert = _EXPERT_INDEX.search(low)
        if expert is not None:
            moe = True
            expert_ids.add(int(expert.group(1)))
        elif "_exps" in low and len(t.shape) == 3:
            moe = True
            expert_width = t.shape[-1]  # ggml order: the expert dimension is the outermost
        elif ".experts." in low or low.endswith(".experts"):
            moe = True
    experts = len(expert_ids) if expert_ids else expert_width if moe else 0
    if moe and not experts:
        experts = None

    enc, dec, main, vis = (len(blocks[s]) for s in ("encoder", "decoder", "main", "vision"))
    attention = counts["attention"] > 0
    arch, evidence = "unknown", "no known tensor naming convention"
    if ssm:
        arch, evidence = "state-space", "selective state-space tensors (A_log / ssm_a)"
    elif (patch or vis) and attention and (main or dec or text_blocks or lm_head):
        arch, evidence = "multimodal-transformer", "a vision tower beside a language model"
    elif (patch or vis) and attention:
        arch, evidence = "vision-transformer", "patch embeddings and attention blocks"
    elif enc and dec and attention:
        arch = "transformer-encoder-decoder"
        evidence = "encoder and decoder blocks" + (" with cross-attention" if cross else "")
    elif attention and (dec or lm_head or (main and not (enc or encoder_hint))):
        arch = "transformer-decoder"
        evidence = "attention blocks" + (" and an LM head" if lm_head else "") + ", no encoder"
    elif attention and (enc or encoder_hint):
        arch = "transformer-encoder"
        evidence = "encoder attention blocks" + (" (token types / pooler)" if encoder_hint else "")
    elif attention:
        arch, evidence = "transformer", "attention tensors outside numbered blocks"
    elif counts["conv"] and any(len(t.shape) >= 4 for t in items):
        arch, evidence = "cnn", f"{counts['conv']} convolution tensors (4-D weights)"
    if arch in ("unknown", "transformer") and ops:
        arch, evidence = _from_ops(ops, arch, evidence)

    klass = _CLASS[arch]
    if arch == "transformer-encoder-decoder" and audio_conv:
        klass = "speech"
        evidence += "; a convolutional audio front end"
    layers: int | None
    encoder_layers: int | None = None
    decoder_layers: int | None = None
    if arch in ("transformer-decoder", "state-space"):
        layers = decoder_layers = (main + dec) or None
    elif arch == "transformer-encoder":
        layers = encoder_layers = (enc + main) or None
    elif arch == "transformer-encoder-decoder":
        encoder_layers, decoder_layers, layers = enc, dec, enc + dec
    elif arch == "vision-transformer":
        layers = (vis or enc or main) or None
    elif arch == "cnn":
        layers = weighted_cnn or None
    else:  # multimodal, a bare transformer, unknown: every numbered block
        layers = (vis + main + dec + enc) or None
    if moe:
        evidence += f"; mixture of experts ({experts if experts else 'count unknown'})"
    return Census(
        architecture=arch,
        architecture_class=klass,
        layers=layers,
        encoder_layers=encoder_layers,
        decoder_layers=decoder_layers,
        counts=counts,
        params=params,
        tensors=len(items),
        experts=experts,
        evidence=evidence,
        ops=dict(ops or {}),
    )


def _from_ops(ops: Mapping[str, int], arch: str, evidence: str) -> tuple[str, str]:
    """The architecture an ONNX operator census suggests."""
    plain = {name.rsplit(".", 1)[-1]: n for name, n in ops.items()}
    attention = sum(plain.get(op, 0) for op in _ATTENTION_OPS)
    convs = sum(plain.get(op, 0) for op in _CONV_OPS)
    norms = sum(plain.get(op, 0) for op in _NORM_OPS)
    if attention:
        return "transformer", f"{attention} fused attention operators in the graph"
    if plain.get("Softmax") and plain.get("MatMul") and (norms or arch == "transformer"):
        return "transformer", "Softmax + MatMul with layer norms in the graph (attention)"
    if convs and convs >= plain.get("MatMul", 0) + plain.get("Gemm", 0):
        return "cnn", f"{convs} convolution operators in the graph"
    return arch, evidence
