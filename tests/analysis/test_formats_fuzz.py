"""Fuzzing the header parsers: mutated safetensors, GGUF and ONNX headers.

Thousands of seeded mutations of valid files (truncations, bit flips, overwritten runs, length
fields claiming terabytes, negative and huge dimensions, bad JSON, wrong JSON types, offsets
past the end). Each parse must either succeed or raise :class:`core.errors.AnalysisError`,
never anything else, and must read a bounded number of bytes: the handle counts what it hands
out, refuses unbounded ``read()``, and some cases claim a terabyte-sized file whose tail reads
as zeros so that only the parser's own limits stop it.
"""

from __future__ import annotations

import io
import json
import random
import struct
from collections.abc import Callable
from typing import Any

import pytest

from core.analysis.formats import gguf, onnx, safetensors
from core.errors import AnalysisError
from tests.fakes import gguf_file, onnx_file

TB = 1 << 40
MIB = 1 << 20


class CountingFile(io.RawIOBase):
    """``blob`` followed by zeros up to ``size``; counts the bytes it hands out."""

    def __init__(self, blob: bytes, size: int) -> None:
        self.blob = blob
        self.size = size
        self.pos = 0
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: self.size}[whence]
        if base + offset < 0:
            raise OSError("negative seek")
        self.pos = base + offset
        return self.pos

    def tell(self) -> int:
        return self.pos

    def read(self, n: int | None = -1) -> bytes:
        assert n is not None and n >= 0, "unbounded read()"
        n = max(0, min(n, self.size - self.pos))
        data = self.blob[self.pos : self.pos + n]
        data += bytes(n - len(data))
        self.pos += n
        self.bytes_read += n
        return data


Parser = Callable[..., Any]


def _check(parse: Parser, blob: bytes, size: int, bound: int) -> None:
    handle = CountingFile(blob, size)
    try:
        parse(handle, size=size, where="<fuzz>")
    except AnalysisError:
        pass
    except Exception as exc:  # pragma: no cover - what the test is looking for
        raise AssertionError(f"{type(exc).__name__}: {exc} for blob {blob[:200]!r}") from exc
    assert handle.bytes_read <= bound, (handle.bytes_read, bound)


def _mutate(rng: random.Random, blob: bytes, specials: list[bytes]) -> bytes:
    data = bytearray(blob)
    for _ in range(rng.randint(1, 3)):
        choice = rng.random()
        if choice < 0.25 and data:  # truncate
            del data[rng.randrange(len(data)) :]
        elif choice < 0.5 and data:  # flip bits
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        elif choice < 0.7 and data:  # overwrite a run with random / extreme bytes
            at = rng.randrange(len(data))
            run = rng.choice(
                [bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 16))), b"\xff" * 8,
                 b"\x00" * 8, b"\x7f" + b"\xff" * 7, struct.pack("<q", -rng.randint(1, 1 << 40))]
            )  # fmt: skip
            data[at : at + len(run)] = run
        elif choice < 0.85 and specials:  # a field-aware value at a known place
            at_run = rng.choice(specials)
            at, run = struct.unpack("<I", at_run[:4])[0], at_run[4:]
            if at < len(data):
                data[at : at + len(run)] = run
        else:  # insert or delete a run
            at = rng.randrange(len(data) + 1)
            if rng.random() < 0.5:
                data[at:at] = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 32)))
            else:
                del data[at : at + rng.randint(1, 32)]
    return bytes(data)


def _fuzz(
    parse: Parser, base: bytes, specials: list[bytes], seed: int, n: int, bound: int, tail: int = 0
) -> None:
    """``n`` mutations of ``base``; the file is ``tail`` zero bytes longer than the blob."""
    rng = random.Random(seed)
    _check(parse, base, len(base) + tail, bound)
    for i in range(n):
        blob = _mutate(rng, base, specials)
        size = len(blob) + tail if i % 4 else TB  # every fourth: a terabyte file, zero tail
        _check(parse, blob, size, bound)


def _at(offset: int, value: bytes) -> bytes:
    return struct.pack("<I", offset) + value


# -- safetensors ------------------------------------------------------------------------------


def _safetensors_blob(header: Any, data: int = 64) -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + bytes(data)


_ST_HEADER = {
    "__metadata__": {"format": "pt"},
    "a.weight": {"dtype": "F16", "shape": [4, 4], "data_offsets": [0, 32]},
    "b.bias": {"dtype": "F32", "shape": [8], "data_offsets": [32, 64]},
}


@pytest.mark.parametrize(
    "header",
    [
        b"{not json", b"\xff\xfe\x00", b"[1, 2]", b"null", b"1e999999", b'"str"', b"{" * 5000,
        {"t": None}, {"t": []}, {"t": {"dtype": 3, "shape": [1]}}, {"t": {"dtype": "F32"}},
        {"t": {"dtype": "F32", "shape": "12"}}, {"t": {"dtype": "F32", "shape": [-1, 4]}},
        {"t": {"dtype": "F32", "shape": [True]}}, {"t": {"dtype": "F32", "shape": [1.5]}},
        {"t": {"dtype": "F32", "shape": [2**62, 2**62, 2**62]}},
        {"t": {"dtype": "F32", "shape": [None]}}, {"t": {"dtype": "F32", "shape": [[1]]}},
        {"t": {"dtype": "F32", "shape": [4], "data_offsets": [0, 2**60]}},
        {"__metadata__": [1, 2]}, {"__metadata__": {"k": {"nested": [1]}}},
    ],
)  # fmt: skip
def test_safetensors_bad_headers(header: Any) -> None:
    blob = _safetensors_blob(header)
    _check(safetensors.read_header, blob, len(blob), len(blob))


@pytest.mark.parametrize("claim", [len(json.dumps(_ST_HEADER)) + 65, TB, 2**63, 2**64 - 1])
def test_safetensors_header_length_claims(claim: int) -> None:
    blob = struct.pack("<Q", claim) + _safetensors_blob(_ST_HEADER)[8:]
    _check(safetensors.read_header, blob, len(blob), len(blob))
    _check(safetensors.read_header, blob, TB, 8 + safetensors.MAX_HEADER_BYTES)


def test_safetensors_fuzz() -> None:
    base = _safetensors_blob(_ST_HEADER)
    text = base[8:]
    specials = [_at(0, struct.pack("<Q", v)) for v in (0, 1, TB, 2**63, 2**64 - 1)]
    for token in (b"[4, 4]", b"[8]", b'"F16"', b"[0, 32]"):
        at = 8 + text.index(token)
        for bad in (b"[-9]", b"1e308", b"[9999999999999999999999]", b'"x"', b"{}", b"[[]]"):
            specials.append(_at(at, bad))
    _fuzz(safetensors.read_header, base, specials, seed=1, n=3000,
          bound=8 + safetensors.MAX_HEADER_BYTES)  # fmt: skip


# -- GGUF -------------------------------------------------------------------------------------


def _gguf_base() -> tuple[bytes, list[bytes], int]:
    meta = gguf_file.llama_metadata(
        **{"tokenizer.ggml.tokens": gguf_file.array(gguf_file.STRING, ["a", "b", "c"]),
           "tokenizer.ggml.token_type": gguf_file.array(gguf_file.INT32, [1, 1, 1])}
    )  # fmt: skip
    tensors = gguf_file.llama_tensors(embedding=256, layers=1, ff=256, vocab=256)
    header, layout = gguf_file.build(meta, tensors)
    blob = header  # the tensor data: a zero tail of the file
    specials = [_at(8, struct.pack("<Q", v)) for v in (0, 2**31, 2**63, 2**64 - 1)]  # count
    specials += [_at(16, struct.pack("<Q", v)) for v in (0, 10**6, 2**63)]  # kv count
    specials += [_at(4, struct.pack("<I", v)) for v in (0, 1, 4, 2**24)]  # version
    for t in tensors:  # each tensor info: n_dims, dims, type, offset
        name = gguf_file.string(t.name)
        at = header.index(name) + len(name)
        specials += [_at(at, struct.pack("<I", v)) for v in (0, 5, 2**32 - 1)]
        specials += [_at(at + 4, struct.pack("<Q", v)) for v in (0, 2**63, 2**64 - 1, 3)]
        end = at + 4 + 8 * len(t.shape)
        specials += [_at(end, struct.pack("<I", v)) for v in (4, 5, 99, 2**31)]
        specials += [_at(end + 4, struct.pack("<Q", v)) for v in (1, TB, 2**64 - 32)]
    for key in (b"llama.block_count", b"general.architecture", b"tokenizer.ggml.tokens"):
        at = header.index(key) + len(key)
        specials += [_at(at, struct.pack("<I", v)) for v in (0, 9, 13, 2**31)]  # value type
        specials += [_at(at + 4, struct.pack("<Q", v)) for v in (TB, 2**64 - 1)]
        specials += [_at(at - 8, struct.pack("<Q", v)) for v in (0, TB, 2**63)]  # key length
    return blob, specials, layout.size - len(header)


def test_gguf_fuzz() -> None:
    blob, specials, tail = _gguf_base()
    bound = len(blob) + gguf.MAX_STRING_BYTES + 8 * gguf.MAX_ARRAY_STRINGS + 4 * MIB
    _fuzz(gguf.read_header, blob, specials, seed=2, n=3000, bound=bound, tail=tail)


# -- ONNX -------------------------------------------------------------------------------------


def _onnx_base() -> bytes:
    return onnx_file.to_bytes(onnx_file.llama_model(layers=1, width=8, ff=16, vocab=16))


def test_onnx_fuzz() -> None:
    blob = _onnx_base()
    rng = random.Random(3)
    # field-aware: varints claiming huge lengths / negative dims at random tag positions
    huge = [b"\xff" * 9 + b"\x01", b"\x80" * 10, b"\xff\xff\xff\xff\x0f", b"\xff" * 11]
    specials = [_at(rng.randrange(len(blob)), rng.choice(huge)) for _ in range(64)]
    bound = len(blob) + onnx.MAX_OPAQUE_HASHED + 4 * MIB
    _fuzz(onnx.read_header, blob, specials, seed=3, n=3000, bound=bound)


def test_onnx_bad_dims_and_types() -> None:
    b = onnx_file
    cases = [
        b.tensor("w", [-4, 8], "FLOAT", raw=16), b.tensor("w", [2**62, 2**62], "FLOAT", raw=16),
        b.tensor("w", [0], "FLOAT", raw=16), b.tensor("w", [4] * 70, "FLOAT", raw=16),
    ]  # fmt: skip
    for init in cases:
        blob = b.to_bytes(b.model(b.graph([b.node("MatMul")], [init])))
        _check(onnx.read_header, blob, len(blob), len(blob) + 4 * MIB)
        _check(onnx.read_header, blob[: len(blob) // 2], len(blob) // 2, len(blob))
