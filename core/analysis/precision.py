"""Numeric precisions and how many bytes one parameter takes in each.

Plain dtypes are exact: fp32 4, fp16/bf16 2, fp8/int8 1, int4 0.5 bytes per parameter (int4
counts the packed nibbles only; the group scales of GPTQ/AWQ-style formats are not included).

GGUF block types come from ggml's block structs, as mirrored by llama.cpp's
``gguf-py/gguf/constants.py`` ``GGML_QUANT_SIZES`` (``(elements per block, bytes per block)``,
``QK_K = 256``), so ``bytes_per_param = type_size / block_size`` is exact for a tensor stored in
that type:

=========  ======  ===================================  ==============
type       block   bytes per block                      bytes / param
=========  ======  ===================================  ==============
Q8_0       32      2 + 32 = 34                          1.0625
Q6_K       256     2 + 128 + 64 + 16 = 210              0.8203125
Q5_K       256     2 + 2 + 128 + 32 + 12 = 176          0.6875
Q5_1       32      2 + 2 + 4 + 16 = 24                  0.75
Q5_0       32      2 + 4 + 16 = 22                      0.6875
Q4_K       256     2 + 2 + 128 + 12 = 144               0.5625
Q4_1       32      2 + 2 + 16 = 20                      0.625
Q4_0       32      2 + 16 = 18                          0.5625
Q3_K       256     2 + 64 + 32 + 12 = 110               0.4296875
Q2_K       256     2 + 2 + 16 + 64 = 84                 0.328125
=========  ======  ===================================  ==============

(IQ and TQ types likewise, below.)

A GGUF *file type* such as ``Q4_K_M`` is a **mix**: llama.cpp's quantizer
(``src/llama-quant.cpp``, ``llama_tensor_get_type_impl``) keeps most tensors in the base type
but bumps some up — for ``Q4_K_M``: ``output.weight`` to Q6_K, and ``attn_v``/``ffn_down`` to
Q6_K in the layers chosen by ``use_more_bits`` (the first and last eighth, and every third
layer between: about half of them); ``Q4_K_S`` bumps ``ffn_down`` of the first eighth and the
first four ``attn_v`` to Q5_K; ``Q3_K_M``/``Q3_K_L`` bump ``attn_v``, ``attn_output`` and
``ffn_down``. The exact share depends on the model's tensor shapes, which a parameter count
does not give, so the *mix rule used here* is: **effective bytes/param = the file size
llama.cpp publishes for the preset on Llama-3-8B ÷ 8,030,261,248 parameters**
(``tools/quantize/quantize.cpp`` ``QUANT_OPTIONS``, e.g.
``"Q4_K_M", " 4.58G, +0.1754 ppl @ Llama-3-8B"``; the sizes are GiB: the Q8_0 entry, 7.96 G,
is 8.03e9 × 34/32 bytes = 7.95 GiB). Q4_K_M comes out at 0.612 bytes (4.90 bits) per
parameter. These are marked ``exact=False``; Llama-3-8B's large vocabulary (13 % of its
parameters in embeddings/output) makes them a few per cent high for bigger models. IQ mixes
use the bits per weight that ``QUANT_OPTIONS`` states.

A bare block-type name (``Q4_K``) means that block type, the way a GGUF tensor's type is named;
``llama-quantize`` itself reads ``Q4_K`` as an alias of the ``Q4_K_M`` mix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from core.errors import AnalysisError

PrecisionKind = Literal["float", "integer", "gguf", "gguf-mix"]
"""float/integer: plain dtypes; gguf: one ggml block type; gguf-mix: a llama.cpp file-type mix."""

_QK_K = 256
_GGML_SOURCE = "ggml block struct size (llama.cpp gguf-py/gguf/constants.py GGML_QUANT_SIZES)"
_QUANTIZE_SOURCE = "llama.cpp tools/quantize/quantize.cpp QUANT_OPTIONS"
_LLAMA3_8B_PARAMS = 8_030_261_248
"""Meta-Llama-3-8B parameter count, the model ``QUANT_OPTIONS`` sizes were measured on."""


@dataclass(frozen=True)
class Precision:
    """A storage precision for weights (or the KV cache).

    Attributes:
        name: Canonical name: ``fp32``, ``fp16``, ``bf16``, ``fp8``, ``int8``, ``int4``, or a GGUF
            type/mix name in llama.cpp's spelling (``Q4_K``, ``Q4_K_M``, ``IQ4_XS``).
        bytes_per_param: Bytes one parameter takes, block scales included.
        kind: ``float``, ``integer``, ``gguf`` (one block type) or ``gguf-mix``.
        base: The block type a mix is mostly made of (``Q4_K`` for ``Q4_K_M``); the name itself
            otherwise.
        exact: True when ``bytes_per_param`` is exact for every tensor (dtypes, block types);
            False for mixes, whose value is an average measured on one model.
        source: Where the number comes from.
    """

    name: str
    bytes_per_param: float
    kind: PrecisionKind
    base: str
    exact: bool
    source: str

    @property
    def bits_per_param(self) -> float:
        """Bits per parameter (``8 × bytes_per_param``)."""
        return self.bytes_per_param * 8


def _dtype(name: str, nbytes: float, kind: PrecisionKind, source: str) -> Precision:
    return Precision(name, nbytes, kind, name, True, source)


def _block(name: str, block_size: int, type_size: int) -> Precision:
    return Precision(
        name,
        type_size / block_size,
        "gguf",
        name,
        True,
        f"{_GGML_SOURCE}: ({block_size}, {type_size})",
    )


def _mix_gib(name: str, base: str, gib_on_llama3_8b: float) -> Precision:
    bpp = gib_on_llama3_8b * 2**30 / _LLAMA3_8B_PARAMS
    return Precision(
        name,
        bpp,
        "gguf-mix",
        base,
        False,
        f'{_QUANTIZE_SOURCE}: "{name}" {gib_on_llama3_8b:.2f} GiB @ Llama-3-8B '
        f"/ {_LLAMA3_8B_PARAMS:,} params",
    )


def _mix_bpw(name: str, base: str, bpw: float) -> Precision:
    return Precision(
        name, bpw / 8, "gguf-mix", base, False, f'{_QUANTIZE_SOURCE}: "{name}" {bpw} bpw'
    )


FP32 = _dtype("fp32", 4.0, "float", "IEEE 754 binary32")
FP16 = _dtype("fp16", 2.0, "float", "IEEE 754 binary16")
BF16 = _dtype("bf16", 2.0, "float", "bfloat16 (8-bit exponent, 7-bit mantissa)")
FP8 = _dtype("fp8", 1.0, "float", "OCP FP8 (E4M3/E5M2), one byte")
INT8 = _dtype("int8", 1.0, "integer", "8-bit integer weights (scales not counted)")
INT4 = _dtype("int4", 0.5, "integer", "4-bit packed integer weights (group scales not counted)")

_GGUF_BLOCKS: tuple[Precision, ...] = (
    _block("Q8_0", 32, 2 + 32),
    _block("Q6_K", _QK_K, 2 + _QK_K // 2 + _QK_K // 4 + _QK_K // 16),
    _block("Q5_K", _QK_K, 2 + 2 + _QK_K // 2 + _QK_K // 8 + 12),
    _block("Q5_1", 32, 2 + 2 + 4 + 16),
    _block("Q5_0", 32, 2 + 4 + 16),
    _block("Q4_K", _QK_K, 2 + 2 + _QK_K // 2 + 12),
    _block("Q4_1", 32, 2 + 2 + 16),
    _block("Q4_0", 32, 2 + 16),
    _block("Q3_K", _QK_K, 2 + _QK_K // 4 + _QK_K // 8 + 12),
    _block("Q2_K", _QK_K, 2 + 2 + _QK_K // 16 + _QK_K // 4),
    _block("IQ4_NL", 32, 2 + 16),
    _block("IQ4_XS", _QK_K, 2 + 2 + _QK_K // 2 + _QK_K // 64),
    _block("IQ3_S", _QK_K, 2 + _QK_K // 4 + _QK_K // 8 + _QK_K // 32 + 4),
    _block("IQ3_XXS", _QK_K, 2 + _QK_K // 4 + _QK_K // 8),
    _block("IQ2_S", _QK_K, 2 + _QK_K // 4 + _QK_K // 16),
    _block("IQ2_XS", _QK_K, 2 + _QK_K // 4 + _QK_K // 32),
    _block("IQ2_XXS", _QK_K, 2 + _QK_K // 4),
    _block("IQ1_M", _QK_K, _QK_K // 8 + _QK_K // 16 + _QK_K // 32),
    _block("IQ1_S", _QK_K, 2 + _QK_K // 8 + _QK_K // 16),
    _block("TQ2_0", _QK_K, 2 + 64),
    _block("TQ1_0", _QK_K, 2 + 4 * 13),
    # OCP Microscaling spec v1.0: 32 E2M1 values (16 bytes) + one shared E8M0 scale byte.
    Precision("MXFP4", 17 / 32, "gguf", "MXFP4", True, "OCP MX v1.0 / ggml block_mxfp4 (32, 17)"),
)

_GGUF_MIXES: tuple[Precision, ...] = (
    _mix_gib("Q2_K_S", "Q2_K", 2.96),
    _mix_gib("Q3_K_S", "Q3_K", 3.41),
    _mix_gib("Q3_K_M", "Q3_K", 3.74),
    _mix_gib("Q3_K_L", "Q3_K", 4.03),
    _mix_gib("Q4_K_S", "Q4_K", 4.37),
    _mix_gib("Q4_K_M", "Q4_K", 4.58),
    _mix_gib("Q5_K_S", "Q5_K", 5.21),
    _mix_gib("Q5_K_M", "Q5_K", 5.33),
    _mix_bpw("IQ2_M", "IQ2_S", 2.7),
    _mix_bpw("IQ3_XS", "IQ3_XXS", 3.3),
    _mix_bpw("IQ3_M", "IQ3_S", 3.66),
)

_DTYPE_ALIASES: Mapping[str, tuple[str, ...]] = {
    "fp32": ("fp32", "float32", "f32", "float", "32bit", "32_bit"),
    "fp16": ("fp16", "float16", "f16", "half"),
    "bf16": ("bf16", "bfloat16"),
    "fp8": (
        "fp8",
        "float8",
        "f8",
        "e4m3",
        "e5m2",
        "fp8_e4m3",
        "fp8_e5m2",
        "float8_e4m3fn",
        "float8_e5m2",
        "float8_e4m3",
    ),
    "int8": ("int8", "i8", "8bit", "8_bit", "w8"),
    "int4": ("int4", "i4", "4bit", "4_bit", "w4"),
}


def _key(text: str) -> str:
    key = text.strip().lower().replace("-", "_").replace(" ", "_")
    return key.removeprefix("torch.")


def _build() -> tuple[Mapping[str, Precision], Mapping[str, Precision]]:
    dtypes = {p.name: p for p in (FP32, FP16, BF16, FP8, INT8, INT4)}
    canonical: dict[str, Precision] = dict(dtypes)
    for p in (*_GGUF_BLOCKS, *_GGUF_MIXES):
        canonical[p.name] = p
    lookup: dict[str, Precision] = {}
    for name, aliases in _DTYPE_ALIASES.items():
        for alias in aliases:
            lookup[_key(alias)] = dtypes[name]
    for p in (*_GGUF_BLOCKS, *_GGUF_MIXES):
        lookup[_key(p.name)] = p
    return MappingProxyType(canonical), MappingProxyType(lookup)


PRECISIONS, _LOOKUP = _build()
"""Every known precision by canonical name (dtypes first, then GGUF block types, then mixes)."""


def parse_precision(text: str) -> Precision:
    """Read a precision from a common spelling.

    Case, ``-``/``_``/space and a ``torch.`` prefix do not matter: ``bf16``, ``BFloat16``,
    ``torch.bfloat16``, ``fp16``, ``half``, ``8-bit``, ``Q4_K_M``, ``q4-k-m``.

    Args:
        text: The spelling.

    Returns:
        The precision.

    Raises:
        AnalysisError: When the spelling is unknown; the message lists the valid names.

    Example:
        >>> parse_precision("torch.bfloat16").name
        'bf16'
        >>> parse_precision("q4_k_m").base, parse_precision("Q4_0").bytes_per_param
        ('Q4_K', 0.5625)
    """
    found = _LOOKUP.get(_key(text))
    if found is None:
        valid = ", ".join(PRECISIONS)
        raise AnalysisError(f"unknown precision {text!r}; valid: {valid}")
    return found


def precision_names() -> tuple[str, ...]:
    """Canonical names of every known precision, dtypes first."""
    return tuple(PRECISIONS)
