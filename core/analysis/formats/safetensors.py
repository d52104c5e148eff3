"""safetensors headers: an 8-byte little-endian length, then a JSON header; weights follow.

Only the header is read, so a 70 GB file takes as long as a 70 kB one.

Example:
    >>> import io, json, struct
    >>> header = json.dumps({"w": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 12]}})
    >>> blob = struct.pack("<Q", len(header)) + header.encode() + bytes(12)
    >>> read_header(io.BytesIO(blob), size=len(blob)).params
    6
"""

from __future__ import annotations

import json
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from core.errors import AnalysisError

MAX_HEADER_BYTES = 100 * 1024 * 1024
"""The format's own limit on the header (the safetensors library refuses larger)."""


@dataclass(frozen=True)
class SafetensorsHeader:
    """What a header says.

    Attributes:
        params: Elements over all tensors.
        dtypes: Elements per dtype (``{"BF16": 8030261248}``).
        tensors: Number of tensors.
        metadata: The ``__metadata__`` strings.
    """

    params: int
    dtypes: dict[str, int]
    tensors: int
    metadata: dict[str, str] = field(default_factory=dict)


def read_header(handle: IO[bytes], *, size: int, where: str = "<stream>") -> SafetensorsHeader:
    """Parse a safetensors header from ``handle`` (positioned at the file start).

    Raises:
        AnalysisError: Truncated file, header length past the end or over 100 MB, bad JSON,
            or a tensor entry with the wrong shape.
    """
    prefix = handle.read(8)
    if len(prefix) < 8:
        raise AnalysisError(f"{where}: not a safetensors file (shorter than 8 bytes)")
    (length,) = struct.unpack("<Q", prefix)
    if length > MAX_HEADER_BYTES:
        raise AnalysisError(f"{where}: header claims {length:,} bytes (limit {MAX_HEADER_BYTES:,})")
    if 8 + length > size:
        raise AnalysisError(f"{where}: header length {length:,} runs past the end of the file")
    raw = handle.read(length)
    try:
        header = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AnalysisError(f"{where}: header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise AnalysisError(f"{where}: header is not a JSON object")
    dtypes: Counter[str] = Counter()
    tensors = 0
    metadata: dict[str, str] = {}
    for name, entry in header.items():
        if name == "__metadata__":
            if isinstance(entry, dict):
                metadata = {str(k): str(v) for k, v in entry.items()}
            continue
        dtypes[_dtype(entry, name, where)] += _elements(entry, name, where)
        tensors += 1
    return SafetensorsHeader(sum(dtypes.values()), dict(dtypes), tensors, metadata)


def _dtype(entry: Any, name: str, where: str) -> str:
    if not isinstance(entry, dict) or not isinstance(entry.get("dtype"), str):
        raise AnalysisError(f"{where}: tensor {name!r} has no dtype")
    return str(entry["dtype"])


def _elements(entry: dict[str, Any], name: str, where: str) -> int:
    shape = entry.get("shape")
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise AnalysisError(f"{where}: tensor {name!r} has an invalid shape {shape!r}")
    count = 1
    for dim in shape:
        count *= dim
    return count


def read_file(path: Path) -> SafetensorsHeader:
    """Read the header of one ``.safetensors`` file.

    Raises:
        AnalysisError: As :func:`read_header`, or the file cannot be opened.
    """
    try:
        with path.open("rb") as handle:
            return read_header(handle, size=path.stat().st_size, where=str(path))
    except OSError as exc:
        raise AnalysisError(f"{path}: cannot read ({exc.strerror})") from None


def read_directory(directory: Path) -> SafetensorsHeader | None:
    """Sum the headers of every ``*.safetensors`` file in ``directory`` (sharded models)."""
    files = sorted(directory.glob("*.safetensors"))
    if not files:
        return None
    headers = [read_file(f) for f in files]
    dtypes: Counter[str] = Counter()
    for h in headers:
        dtypes.update(h.dtypes)
    return SafetensorsHeader(
        sum(h.params for h in headers), dict(dtypes), sum(h.tensors for h in headers)
    )
