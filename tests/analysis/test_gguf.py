"""GGUF headers: every value type, exact sizes, header-only reads, and hostile files.

The files come from ``tests/fakes/gguf_file.py``, written from the spec with its own copy of
ggml's block sizes; tensor data is sparse, so the "40 GB" file costs nothing on disk.
"""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from core.analysis.formats import gguf
from core.analysis.hardware_profiles import profile_for
from core.analysis.precision import PRECISIONS
from core.catalog.rows import AnalysisSettings
from core.catalog.targets import analyze_target
from core.errors import AnalysisError
from tests.fakes import gguf_file as g
from tests.fakes.gguf_file import Tensor, Typed, array


class CountingReader(io.RawIOBase):
    """A file wrapper that counts the bytes handed out by ``read``."""

    def __init__(self, path: Path) -> None:
        self._f = path.open("rb")
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        data = self._f.read(size)
        self.bytes_read += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._f.seek(offset, whence)

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        self._f.close()
        super().close()


def parse(path: Path) -> tuple[gguf.GGUFHeader, int]:
    reader = CountingReader(path)
    try:
        header = gguf.read_header(reader, size=path.stat().st_size, where=str(path))
    finally:
        reader.close()
    return header, reader.bytes_read


# -- every value type -------------------------------------------------------------------------

SCALARS: dict[str, Typed] = {
    "t.u8": Typed(g.UINT8, 255),
    "t.i8": Typed(g.INT8, -128),
    "t.u16": Typed(g.UINT16, 65535),
    "t.i16": Typed(g.INT16, -32768),
    "t.u32": Typed(g.UINT32, 2**32 - 1),
    "t.i32": Typed(g.INT32, -(2**31)),
    "t.f32": Typed(g.FLOAT32, -2.25),
    "t.bool_true": Typed(g.BOOL, True),
    "t.bool_false": Typed(g.BOOL, False),
    "t.string": Typed(g.STRING, "Grüße, 世界 🚀"),
    "t.empty_string": Typed(g.STRING, ""),
    "t.u64": Typed(g.UINT64, 2**64 - 1),
    "t.i64": Typed(g.INT64, -(2**63)),
    "t.f64": Typed(g.FLOAT64, 1e-300),
}
ARRAYS: dict[str, tuple[Typed, str, tuple[Any, ...]]] = {
    "a.u8": (array(g.UINT8, [0, 1, 255]), "UINT8", (0, 1, 255)),
    "a.i8": (array(g.INT8, [-1, 7]), "INT8", (-1, 7)),
    "a.u16": (array(g.UINT16, [65535]), "UINT16", (65535,)),
    "a.i16": (array(g.INT16, [-2, 2]), "INT16", (-2, 2)),
    "a.u32": (array(g.UINT32, [8, 8, 4]), "UINT32", (8, 8, 4)),
    "a.i32": (array(g.INT32, [-5]), "INT32", (-5,)),
    "a.f32": (array(g.FLOAT32, [0.5, -1.0]), "FLOAT32", (0.5, -1.0)),
    "a.bool": (array(g.BOOL, [True, False, True]), "BOOL", (True, False, True)),
    "a.string": (array(g.STRING, ["a", "ünï", "", "🚀"]), "STRING", ("a", "ünï", "", "🚀")),
    "a.u64": (array(g.UINT64, [2**64 - 1]), "UINT64", (2**64 - 1,)),
    "a.i64": (array(g.INT64, [-(2**63), 3]), "INT64", (-(2**63), 3)),
    "a.f64": (array(g.FLOAT64, [math.pi]), "FLOAT64", (math.pi,)),
    "a.empty": (array(g.UINT32, []), "UINT32", ()),
    "a.nested": (
        array(g.ARRAY, [array(g.INT32, [1, 2]), array(g.STRING, ["x", "ÿ"]), array(g.UINT8, [])]),
        "ARRAY",
        ((1, 2), ("x", "ÿ"), ()),
    ),
    "a.nested2": (
        array(g.ARRAY, [array(g.ARRAY, [array(g.FLOAT64, [1.5])])]),
        "ARRAY",
        (((1.5,),),),
    ),
}


@pytest.mark.parametrize("version", [2, 3])
def test_every_value_type_round_trips(tmp_path: Path, version: int) -> None:
    metadata: dict[str, Any] = {"ключ.ü": Typed(g.STRING, "värde")}
    metadata |= SCALARS
    metadata |= {key: typed for key, (typed, _, _) in ARRAYS.items()}
    path = tmp_path / "types.gguf"
    g.write_gguf(path, metadata, [Tensor("w", (4, 2))], version=version)
    header = gguf.read_file(path)
    assert header.version == version
    assert header.metadata["ключ.ü"] == "värde"
    for key, typed in SCALARS.items():
        assert header.metadata[key] == typed.value, key
        assert type(header.metadata[key]) is type(typed.value), key
    for key, (_, elem, values) in ARRAYS.items():
        assert header.metadata[key] == {"type": elem, "length": len(values)}, key
        assert header.arrays[key] == values, key
    assert len(header.metadata) == 1 + len(SCALARS) + len(ARRAYS)
    assert (header.params, header.tensor_bytes) == (8, 32)


def test_big_arrays_are_skipped_not_kept(tmp_path: Path) -> None:
    tokens = [f"<tok {i}>" for i in range(150_000)]
    metadata = g.llama_metadata(
        **{
            "tokenizer.ggml.tokens": array(g.STRING, tokens),
            "tokenizer.ggml.scores": array(g.FLOAT32, [0.0] * 150_000),
            "tokenizer.ggml.merges": array(g.STRING, ["a b"] * 1025),
            "small": array(g.UINT16, list(range(1024))),
            "just_too_big": array(g.UINT16, list(range(1025))),
            "big_nested": array(g.ARRAY, [array(g.UINT8, [1] * 600), array(g.UINT8, [2] * 600)]),
        }
    )
    path = tmp_path / "vocab.gguf"
    layout = g.write_gguf(path, metadata, g.llama_tensors())
    header, read = parse(path)
    assert header.metadata["tokenizer.ggml.tokens"] == {"type": "STRING", "length": 150_000}
    assert header.metadata["tokenizer.ggml.scores"] == {"type": "FLOAT32", "length": 150_000}
    assert header.metadata["big_nested"] == {"type": "ARRAY", "length": 2}
    kept = set(header.arrays)
    assert "small" in kept and header.arrays["small"][-1] == 1023
    assert not kept & {"tokenizer.ggml.tokens", "tokenizer.ggml.scores", "just_too_big"}
    assert not kept & {"tokenizer.ggml.merges", "big_nested"}
    assert header.vocab_size == 150_000
    # the header is read at most once (fixed-size arrays are seeked over); the data section is
    # not (at most one 64 KiB buffer past the header)
    assert layout.header_end - 150_000 * 4 <= read <= layout.header_end + 64 * 1024


def test_long_string_value_is_summarised(tmp_path: Path) -> None:
    big = "x" * (gguf.MAX_STRING_BYTES + 1)
    path = tmp_path / "long.gguf"
    g.write_gguf(path, {"tokenizer.huggingface.json": big, "after": "ok"}, [Tensor("w", (2,))])
    header = gguf.read_file(path)
    assert header.metadata["tokenizer.huggingface.json"] == {
        "type": "STRING",
        "length": len(big),
    }
    assert header.metadata["after"] == "ok"


# -- exact sizes ------------------------------------------------------------------------------


def q4k(n: int) -> int:
    return n // 256 * 144


def q6k(n: int) -> int:
    return n // 256 * 210


@pytest.mark.parametrize("version", [2, 3])
def test_llama_params_and_bytes_are_exact(tmp_path: Path, version: int) -> None:
    path = tmp_path / "tiny-llama-Q4_K_M.gguf"
    layout = g.write_llama(path, version=version)
    header = gguf.read_file(path)
    # counted by hand: E 256, 2 layers, 4 heads (64 wide), 2 KV heads, FFN 512, vocab 512
    e, kv, ff, v = 256, 128, 512, 512
    q4_per_layer = e * e + e * kv + e * e + e * ff + e * ff
    q6_per_layer = e * kv + ff * e
    q4 = e * v + 2 * q4_per_layer
    q6 = 2 * q6_per_layer + e * v
    f32 = 2 * 2 * e + e
    assert header.params_by_type == {"Q4_K": q4, "Q6_K": q6, "F32": f32}
    assert header.params == q4 + q6 + f32 == 1_443_072
    assert header.bytes_by_type == {"Q4_K": q4k(q4), "Q6_K": q6k(q6), "F32": 4 * f32}
    assert header.tensor_bytes == q4k(q4) + q6k(q6) + 4 * f32 == 934_400
    assert header.bits_per_weight == pytest.approx(934_400 * 8 / 1_443_072)
    assert round(header.bits_per_weight, 3) == 5.18  # Q6_K's share is large in a tiny model
    assert header.file_type == "Q4_K_M" and header.dominant_type == "Q4_K"
    assert (header.architecture, header.name) == ("llama", "Tiny Llama")
    assert header.tensor_count == len(header.tensors) == 21
    assert header.data_offset == layout.data_offset and header.data_offset % 32 == 0
    assert header.file_size == layout.size
    assert (header.block_count, header.embedding_length, header.feed_forward_length) == (2, e, ff)
    assert (header.head_count, header.head_count_kv, header.context_length) == (4, 2, 2048)
    assert header.vocab_size == 512 and header.key_length is None
    assert header.metadata["llama.rope.freq_base"] == 500000.0
    output = header.tensors[-1]
    assert (output.name, output.shape, output.type) == ("output.weight", (e, v), "Q6_K")
    assert output.offset == layout.offsets["output.weight"]


@pytest.mark.parametrize("alignment", [1, 8, 64, 4096])
def test_general_alignment(tmp_path: Path, alignment: int) -> None:
    path = tmp_path / "aligned.gguf"
    tensors = [Tensor("a", (3,), "F32"), Tensor("b", (32, 3), "Q8_0"), Tensor("c", (5,), "I8")]
    layout = g.write_gguf(path, {"general.architecture": "x"}, tensors, alignment=alignment)
    header = gguf.read_file(path)
    assert header.alignment == alignment
    assert header.data_offset == layout.data_offset and header.data_offset % alignment == 0
    assert header.tensor_bytes == 12 + 3 * 34 + 5
    assert header.metadata["general.alignment"] == alignment


@pytest.mark.parametrize("name", sorted(g.GGML))
def test_every_ggml_type_size(tmp_path: Path, name: str) -> None:
    type_id, block, size = g.GGML[name]
    path = tmp_path / f"{name}.gguf"
    g.write_gguf(path, {}, [Tensor("w", (block * 3, 2), name)])
    header = gguf.read_file(path)
    assert header.bytes_by_type == {name: 6 * size}
    assert header.params == block * 6
    assert gguf.GGML_TYPES[type_id].name == name


def test_block_types_agree_with_precision_table() -> None:
    for t in gguf.GGML_TYPES.values():
        known = PRECISIONS.get(t.name)
        if known is not None and known.kind == "gguf":
            assert known.bytes_per_param == t.type_size / t.block_size, t.name


def test_header_only_on_a_sparse_40_gb_file(tmp_path: Path) -> None:
    path = tmp_path / "huge.gguf"
    tensors = [*g.llama_tensors(), Tensor("blk.0.huge.weight", (65536, 327680), "F16")]
    layout = g.write_gguf(path, g.llama_metadata(), tensors)
    assert path.stat().st_size > 40 * 10**9
    header, read = parse(path)
    assert header.params == 1_443_072 + 65536 * 327680
    assert header.tensor_bytes == 934_400 + 65536 * 327680 * 2
    assert read <= layout.header_end + 64 * 1024 < 1024 * 1024


# -- hostile and broken files -----------------------------------------------------------------


def _header_with(*parts: bytes, tensors: int = 0, kvs: int = 0, version: int = 3) -> bytes:
    return g.preamble(version, tensors, kvs) + b"".join(parts)


def _llama_bytes() -> bytes:
    header, layout = g.build(g.llama_metadata(), g.llama_tensors())
    return header + bytes(layout.size - len(header))


def _cut_inside(marker: bytes) -> bytes:
    blob = _llama_bytes()
    return blob[: blob.index(marker) + len(marker) // 2]


BAD: dict[str, tuple[Callable[[], bytes], str]] = {
    "empty": (lambda: b"", "not a GGUF file (empty)"),
    "short": (lambda: b"GG", "not a GGUF file"),
    "wrong magic": (lambda: b"GGML" + bytes(60), "not a GGUF file (starts with b'GGML'"),
    "version 1": (
        lambda: _header_with(version=1) + bytes(64),
        "GGUF version 1 is not supported; re-convert with a current llama.cpp",
    ),
    "version 99": (lambda: _header_with(version=99), "GGUF version 99 is not supported"),
    "big-endian": (
        lambda: b"GGUF" + struct.pack(">IQQ", 3, 0, 0),
        "big-endian GGUF (version 3) is not supported",
    ),
    "no counts": (lambda: b"GGUF" + struct.pack("<I", 3) + bytes(5), "truncated: tensor count"),
    "truncated in metadata": (lambda: _cut_inside(b"llama.feed_forward_length"), "truncated"),
    "truncated in tensor infos": (lambda: _cut_inside(b"blk.1.ffn_up.weight"), "truncated"),
    "tensor data past the end": (
        lambda: _llama_bytes()[:-1],
        "truncated: tensor 'output.weight' needs bytes up to 945,344, file has 945,343",
    ),
    "absurd tensor count": (
        lambda: _header_with(tensors=2**60) + bytes(100),
        "header claims 1,152,921,504,606,846,976 tensors, more than a 124-byte file can hold",
    ),
    "absurd metadata count": (
        lambda: _header_with(kvs=2**64 - 1) + bytes(100),
        "metadata entries, more than a 124-byte file can hold",
    ),
    "unknown ggml type": (
        lambda: _header_with(g.tensor_info("blk.0.w", (32,), 99, 0), tensors=1) + bytes(64),
        "tensor 'blk.0.w' has unknown ggml type 99",
    ),
    "removed ggml type": (
        lambda: _header_with(g.tensor_info("w", (32,), 4, 0), tensors=1) + bytes(64),
        "tensor 'w' has ggml type 4 (Q4_2), removed from ggml",
    ),
    "string length past EOF": (
        lambda: _header_with(struct.pack("<Q", 2**40) + b"general", kvs=1) + bytes(16),
        "metadata key 0 claims 1,099,511,627,776 bytes, past the end of the file",
    ),
    "value string past EOF": (
        lambda: _header_with(g.string("k") + struct.pack("<IQ", 8, 10**6), kvs=1),
        "metadata 'k' claims 1,000,000 bytes, past the end of the file",
    ),
    "n_dims 100": (
        lambda: _header_with(g.string("w") + struct.pack("<I", 100) + bytes(900), tensors=1),
        "tensor 'w' has 100 dimensions (ggml allows at most 4)",
    ),
    "unknown value type": (
        lambda: _header_with(g.string("k") + struct.pack("<I", 13) + bytes(8), kvs=1),
        "metadata 'k' has unknown value type 13",
    ),
    "absurd array": (
        lambda: _header_with(g.string("k") + struct.pack("<IIQ", 9, 0, 2**50), kvs=1),
        "metadata 'k': array of 1,125,899,906,842,624 UINT8 values runs past the end",
    ),
    "unknown array type": (
        lambda: _header_with(g.string("k") + struct.pack("<IIQ", 9, 77, 1), kvs=1) + bytes(8),
        "metadata 'k': unknown array element type 77",
    ),
    "arrays nested too deep": (
        lambda: (
            _header_with(
                g.string("k") + struct.pack("<I", 9) + struct.pack("<IQ", 9, 1) * 20, kvs=1
            )
            + bytes(8)
        ),
        "arrays nested deeper than 8",
    ),
    "duplicate key": (
        lambda: _header_with(g.kv("k", 1), g.kv("k", 2), kvs=2),
        "metadata 'k' appears twice",
    ),
    "duplicate tensor": (
        lambda: (
            _header_with(g.tensor_info("w", (4,), 0, 0), g.tensor_info("w", (4,), 0, 32), tensors=2)
            + bytes(128)
        ),
        "tensor 'w' appears twice",
    ),
    "alignment not a power of 2": (
        lambda: _header_with(g.kv("general.alignment", 48), kvs=1),
        "general.alignment 48 is not a power of 2",
    ),
    "partial block": (
        lambda: _header_with(g.tensor_info("w", (100, 2), 12, 0), tensors=1) + bytes(400),
        "tensor 'w': first dimension 100 is not a multiple of the Q4_K block size 256",
    ),
    "misaligned offset": (
        lambda: _header_with(g.tensor_info("w", (4,), 0, 3), tensors=1) + bytes(64),
        "tensor 'w': data offset 3 is not a multiple of the alignment 32",
    ),
    "absurd shape": (
        lambda: _header_with(g.tensor_info("w", (2**32, 2**32), 0, 0), tensors=1) + bytes(64),
        "tensor 'w' has 1.84e+19 elements",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_give_one_line_errors(tmp_path: Path, case: str) -> None:
    make, message = BAD[case]
    path = tmp_path / "bad.gguf"
    path.write_bytes(make())
    with pytest.raises(AnalysisError) as info:
        gguf.read_file(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and "\n" not in text
    assert message in text, text


def test_the_cut_cases_really_cut_where_they_say() -> None:
    # guards the two "truncated in ..." cases above against testing the wrong thing
    blob = _llama_bytes()
    header, layout = g.build(g.llama_metadata(), g.llama_tensors())
    infos_start = header.index(b"token_embd.weight") - 8
    assert len(_cut_inside(b"llama.feed_forward_length")) < infos_start
    assert infos_start < len(_cut_inside(b"blk.1.ffn_up.weight")) < layout.header_end
    assert len(blob) == layout.size == 945_344


def test_unreadable_path(tmp_path: Path) -> None:
    with pytest.raises(AnalysisError, match="cannot read"):
        gguf.read_file(tmp_path / "missing.gguf")


# -- towards the analysis ---------------------------------------------------------------------


def test_model_config_from_llama_header(tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    g.write_llama(path)
    cfg = gguf.model_config(gguf.read_file(path))
    assert cfg is not None
    assert (cfg.model_type, cfg.architecture) == ("llama", "LlamaForCausalLM")
    assert (cfg.num_layers, cfg.hidden_size, cfg.num_attention_heads) == (2, 256, 4)
    assert (cfg.num_kv_heads, cfg.head_dim, cfg.intermediate_size) == (2, 64, 512)
    assert (cfg.vocab_size, cfg.max_context, cfg.tie_word_embeddings) == (512, 2048, False)
    assert cfg.sliding_window is None


def test_model_config_gemma3_sliding_window_and_key_length(tmp_path: Path) -> None:
    meta = {
        "general.architecture": "gemma3",
        "gemma3.block_count": 12,
        "gemma3.context_length": 32768,
        "gemma3.embedding_length": 640,
        "gemma3.feed_forward_length": 2048,
        "gemma3.attention.head_count": 4,
        "gemma3.attention.head_count_kv": 1,
        "gemma3.attention.key_length": 256,
        "gemma3.attention.value_length": 256,
        "gemma3.attention.sliding_window": 512,
        "tokenizer.ggml.tokens": array(g.STRING, ["a"] * 2000),
    }
    path = tmp_path / "gemma.gguf"
    g.write_gguf(path, meta, [Tensor("token_embd.weight", (640, 2000), "Q8_0")])
    cfg = gguf.model_config(gguf.read_file(path))
    assert cfg is not None and cfg.model_type == "gemma3_text"
    assert (cfg.head_dim, cfg.num_kv_heads, cfg.sliding_window) == (256, 1, 512)
    assert cfg.sliding_window_layers == 10  # 5 local : 1 global
    assert cfg.tie_word_embeddings  # no output.weight tensor


def test_moe_header_per_layer_kv_heads_and_active_params(tmp_path: Path) -> None:
    meta = {
        "general.architecture": "qwen3moe",
        "qwen3moe.block_count": 2,
        "qwen3moe.context_length": 4096,
        "qwen3moe.embedding_length": 256,
        "qwen3moe.feed_forward_length": 768,
        "qwen3moe.expert_feed_forward_length": 256,
        "qwen3moe.attention.head_count": 4,
        "qwen3moe.attention.head_count_kv": array(g.INT32, [2, 4]),
        "qwen3moe.attention.key_length": 64,
        "qwen3moe.expert_count": 8,
        "qwen3moe.expert_used_count": 2,
        "qwen3moe.vocab_size": 1000,
    }
    tensors = [
        Tensor("token_embd.weight", (256, 1000), "F16"),
        Tensor("blk.0.ffn_up_exps.weight", (256, 256, 8), "Q4_K"),
        Tensor("blk.1.ffn_up_exps.weight", (256, 256, 8), "Q4_K"),
    ]
    path = tmp_path / "moe.gguf"
    g.write_gguf(path, meta, tensors)
    header = gguf.read_file(path)
    assert header.head_count_kv == 4
    assert any("head_count_kv varies per layer (2–4)" in n for n in header.notes)
    assert header.expert_params == 2 * 256 * 256 * 8 and header.vocab_size == 1000
    assert gguf.active_params(header) == header.params - header.expert_params * 6 // 8
    cfg = gguf.model_config(header)
    assert cfg is not None and cfg.model_type == "qwen3_moe"
    assert (cfg.num_experts, cfg.num_experts_per_tok, cfg.moe_intermediate_size) == (8, 2, 256)
    assert cfg.num_kv_heads == 4


@pytest.mark.parametrize(
    "meta",
    [
        {"general.architecture": "falcon", "falcon.block_count": 2},
        {"general.architecture": "mamba"},
        {"general.architecture": "llama", "llama.block_count": 2},  # no widths
        {},
    ],
)
def test_model_config_none_when_unknown_or_incomplete(tmp_path: Path, meta: dict[str, Any]) -> None:
    path = tmp_path / "x.gguf"
    g.write_gguf(path, meta, [Tensor("w", (8,))])
    assert gguf.model_config(gguf.read_file(path)) is None


@pytest.mark.parametrize(
    ("params", "nbytes"),
    [(1, 4), (3, 1), (7_241_732_096, 4_368_439_584), (10**12 + 7, 6 * 10**11 + 1), (333, 1000)],
)
def test_file_precision_weighs_exactly_the_tensor_bytes(params: int, nbytes: int) -> None:
    header = gguf.GGUFHeader(
        version=3,
        tensor_count=1,
        params=params,
        tensor_bytes=nbytes,
        bytes_by_type={"Q4_K": nbytes},
        params_by_type={"Q4_K": params},
        file_type=None,
        architecture=None,
        name=None,
        metadata={},
    )
    precision = gguf.file_precision(header)
    assert math.ceil(params * precision.bytes_per_param) == nbytes
    assert (precision.name, precision.kind, precision.exact) == ("Q4_K", "gguf", True)


def settings(precision: str = "bf16", context: int = 4096) -> AnalysisSettings:
    return AnalysisSettings(profile_for("RTX 4090"), precision, context, 1)


def test_analyze_target_gguf_at_its_own_types(tmp_path: Path) -> None:
    path = tmp_path / "tiny-llama.Q4_K_M.gguf"
    g.write_llama(path)
    row = analyze_target(str(path), settings(), precision_explicit=False)
    assert row.id == "tiny-llama.Q4_K_M" and row.family == "llama"
    assert row.params_total == 1_443_072
    assert row.params_method.startswith("gguf header (21 tensors, exact); weights at the file's")
    assert isinstance(row.facts, gguf.GGUFHeader) and row.facts.tensor_bytes == 934_400
    a = row.analysis
    assert a is not None
    assert a.precision.name == "Q4_K_M"
    assert a.memory.weights_bytes == a.weights_by_precision["Q4_K_M"] == 934_400
    assert a.architecture_class == "decoder-only"
    # 2 (K, V) × 2 layers × 2 KV heads × 64 × 4096 tokens × 2 bytes (f16 cache)
    assert a.memory.kv_cache_bytes == 2 * 2 * 2 * 64 * 4096 * 2
    assert a.estimates.decode_tokens_per_s is not None


def test_analyze_target_gguf_at_an_explicit_precision(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gguf"
    g.write_llama(path)
    row = analyze_target(str(path), settings("Q8_0"))
    assert row.analysis is not None and row.analysis.precision.name == "Q8_0"
    assert row.analysis.memory.weights_bytes == math.ceil(1_443_072 * 34 / 32)
    assert "weights at Q8_0 as asked, not the file's own Q4_K_M" in row.params_method


def test_analyze_target_gguf_moe_and_unknown_architecture(tmp_path: Path) -> None:
    path = tmp_path / "falcon.gguf"
    g.write_gguf(path, {"general.architecture": "falcon"}, [Tensor("w", (64, 64), "Q8_0")])
    row = analyze_target(str(path), settings(), precision_explicit=False)
    assert row.analysis is not None and row.params_total == 4096
    assert row.analysis.memory.kv_cache_bytes == 0
    assert "no KV-cache model for architecture 'falcon'" in row.params_method
    assert row.analysis.precision.name == "Q8_0"  # no file_type: the dominant ggml type
    assert row.analysis.memory.weights_bytes == 4096 // 32 * 34


def test_analyze_target_bad_gguf_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<I", 1) + bytes(32))
    with pytest.raises(AnalysisError, match=r"bad\.gguf: GGUF version 1 is not supported"):
        analyze_target(str(path), settings())
    with pytest.raises(AnalysisError, match="file not found"):
        analyze_target(str(tmp_path / "nope.gguf"), settings())
