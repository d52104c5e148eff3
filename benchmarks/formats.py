"""Header-only model file analysis against the formats' own libraries, on multi-GB files.

Two sparse files with real headers (a Llama-3.1-8B-shaped safetensors in bf16, 16 GB, and a
GGUF with the same shapes in a Q4_K_M-like mix, 4.6 GB) cost nothing on disk. Each is analysed
by our parser (``core.analysis.formats``) and opened by its own library (``safetensors.safe_open``:
header, then one small tensor; ``gguf.GGUFReader``: the whole reader), median of N runs. Bytes our
parser reads come from ``/proc/self/io`` ``rchar`` (the libraries map the file, which ``rchar``
does not see, so only their time is compared).

Usage::

    .venv/bin/python benchmarks/formats.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DIMS = {"hidden": 4096, "inter": 14336, "layers": 32, "heads": 32, "kv": 8, "vocab": 128256}


def _rchar() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    return 0


def _time(fn: Callable[[], Any], runs: int) -> dict[str, Any]:
    times, reads = [], []
    for _ in range(runs):
        before, start = _rchar(), time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        reads.append(_rchar() - before)
    return {
        "median_ms": statistics.median(times) * 1000,
        "min_ms": min(times) * 1000,
        "max_ms": max(times) * 1000,
        "read_bytes": int(statistics.median(reads)),
        "runs": runs,
    }


def _safetensors_file(folder: Path) -> tuple[Path, int]:
    from tests.fakes.hf_cache import llama_config, llama_tensors, safetensors_bytes

    config = llama_config(
        hidden_size=DIMS["hidden"],
        intermediate_size=DIMS["inter"],
        num_hidden_layers=DIMS["layers"],
        num_attention_heads=DIMS["heads"],
        num_key_value_heads=DIMS["kv"],
        vocab_size=DIMS["vocab"],
    )
    tensors = llama_tensors(config, "BF16")
    header = safetensors_bytes(tensors, with_data=False)
    data = sum(2 * _prod(shape) for _, shape in tensors.values())
    path = folder / "llama-8b-shaped.safetensors"
    with path.open("wb") as f:
        f.write(header)
        f.truncate(len(header) + data)
    return path, len(header)


def _gguf_file(folder: Path) -> tuple[Path, int]:
    from tests.fakes.gguf_file import llama_metadata, llama_tensors, write_gguf

    path = folder / "llama-8b-shaped.Q4_K_M.gguf"
    layout = write_gguf(
        path,
        llama_metadata(),
        llama_tensors(
            embedding=DIMS["hidden"],
            layers=DIMS["layers"],
            heads=DIMS["heads"],
            kv_heads=DIMS["kv"],
            ff=DIMS["inter"],
            vocab=DIMS["vocab"],
        ),
    )
    return path, layout.data_offset


def _prod(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def measure(runs: int = 5) -> dict[str, Any]:
    """Both files, ours and the library's, median of ``runs``."""
    from core.analysis.formats import gguf as our_gguf
    from core.analysis.formats import safetensors as our_safetensors

    out: dict[str, Any] = {"files": {}}
    with tempfile.TemporaryDirectory(prefix="ts-formats-") as tmp:
        folder = Path(tmp)
        st_path, st_header = _safetensors_file(folder)
        gg_path, gg_header = _gguf_file(folder)

        def st_library() -> None:
            from safetensors import safe_open

            with safe_open(str(st_path), "np") as f:
                f.metadata()
                list(f.keys())

        def st_library_tensor() -> None:
            from safetensors import safe_open

            with safe_open(str(st_path), "pt") as f:  # numpy has no bfloat16
                f.get_tensor("model.norm.weight")

        def gg_library() -> None:
            from gguf import GGUFReader

            GGUFReader(str(gg_path))

        entries = [
            ("safetensors", st_path, st_header, lambda: our_safetensors.read_file(st_path),
             [("safe_open: header and keys", st_library),
              ("safe_open: one tensor (model.norm.weight)", st_library_tensor)]),
            ("gguf", gg_path, gg_header, lambda: our_gguf.read_file(gg_path),
             [("GGUFReader(path)", gg_library)]),
        ]  # fmt: skip
        for name, path, header_bytes, ours, libraries in entries:
            ours()  # warm the page cache for the header, as for the libraries below
            entry: dict[str, Any] = {
                "size_bytes": path.stat().st_size,
                "header_bytes": header_bytes,
                "ours": _time(ours, runs),
                "library": {},
            }
            for label, fn in libraries:
                try:
                    fn()
                    entry["library"][label] = _time(fn, runs)
                except Exception as exc:
                    entry["library"][label] = {"error": f"{type(exc).__name__}: {exc}"}
            out["files"][name] = entry
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    print(json.dumps(measure(parser.parse_args().runs), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
