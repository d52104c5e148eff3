"""The ``onnxruntime`` backend: an ONNX file (encoders: embeddings/s and tokens/s).

Each run feeds one batch of ``batch`` sequences of ``prompt_tokens`` tokens: integer inputs get
random token ids in ``[1, 100)`` (valid for any real vocabulary), ``attention_mask`` ones,
``token_type_ids`` zeros, ``position_ids`` ``0..n-1``; float inputs random normal values.
Symbolic dimensions are filled as ``(batch, sequence, 1, ...)``. Tokens per run are
``batch × prompt_tokens``, items (embeddings) ``batch``. The CUDA execution provider is used
for ``--device cuda`` when onnxruntime-gpu provides it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from core.bench.backends import BackendInfo, RunTiming, TokenCallback
from core.bench.errors import BackendMissing, BenchError

_NUMPY_TYPES = {
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
    "tensor(bool)": "bool",
}


class OnnxBackend:
    """Config keys: ``path`` (the ``.onnx`` file), ``device``, ``batch``, ``threads``."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.path = Path(str(config.get("path") or ""))
        self.device = str(config.get("device") or "cpu")
        self.batch = int(config.get("batch") or 1)
        threads = config.get("threads")
        self.threads = None if threads is None else int(threads)
        self._session: Any = None
        self._np: Any = None

    def prepare(self) -> BackendInfo:
        """Open the session."""
        try:
            import numpy as np
            import onnxruntime as ort
        except ImportError as exc:
            raise BackendMissing(
                f"the onnxruntime backend needs onnxruntime ({exc}); install the extra: "
                "pip install 'thermal-scout[onnx]'"
            ) from None
        if not self.path.is_file():
            raise BenchError(f"{self.path}: no such ONNX file")
        providers = ["CPUExecutionProvider"]
        if self.device.startswith("cuda"):
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise BenchError(
                    "onnxruntime has no CUDA execution provider here; install onnxruntime-gpu "
                    "or run with --device cpu"
                )
            providers.insert(0, "CUDAExecutionProvider")
        options = ort.SessionOptions()
        if self.threads:
            options.intra_op_num_threads = self.threads
        start = time.perf_counter()
        try:
            self._session = ort.InferenceSession(str(self.path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise BenchError(f"{self.path}: onnxruntime cannot load it: {message}") from None
        self._np = np
        return BackendInfo(
            device_name=self.device,
            dtype=None,
            weights="file",
            load_s=time.perf_counter() - start,
            notes=(f"onnxruntime {ort.__version__}, providers {self._session.get_providers()}",),
        )

    def _feed(self, seq_len: int) -> tuple[dict[str, Any], int]:
        np = self._np
        rng = np.random.default_rng(0)
        feed: dict[str, Any] = {}
        has_sequence = False
        for spec in self._session.get_inputs():
            shape: list[int] = []
            for axis, dim in enumerate(spec.shape):
                if isinstance(dim, int) and dim > 0:
                    shape.append(dim)
                else:
                    shape.append(self.batch if axis == 0 else seq_len if axis == 1 else 1)
            dtype = _NUMPY_TYPES.get(spec.type)
            if dtype is None:
                raise BenchError(
                    f"{self.path}: input {spec.name!r} has unsupported type {spec.type}"
                )
            name = spec.name.lower()
            if dtype.startswith("int"):
                if len(shape) >= 2:
                    has_sequence = True
                if "mask" in name:
                    value = np.ones(shape, dtype=dtype)
                elif "type" in name:
                    value = np.zeros(shape, dtype=dtype)
                elif "position" in name:
                    value = np.broadcast_to(np.arange(shape[-1], dtype=dtype), shape).copy()
                else:
                    value = rng.integers(1, 100, size=shape, dtype=dtype)
            elif dtype == "bool":
                value = np.ones(shape, dtype=dtype)
            else:
                value = rng.standard_normal(shape).astype(dtype)
            feed[spec.name] = value
        tokens = self.batch * seq_len if has_sequence else self.batch
        return feed, tokens

    def run_once(self, prompt_tokens: int, new_tokens: int, on_tokens: TokenCallback) -> RunTiming:
        """One batch through the session (``new_tokens`` is ignored: encoders generate none)."""
        if self._session is None:
            raise BenchError("run_once() before prepare()")
        feed, tokens = self._feed(prompt_tokens)
        start = time.perf_counter()
        self._session.run(None, feed)
        wall = time.perf_counter() - start
        on_tokens(tokens, wall)
        return RunTiming(
            wall_s=wall,
            tokens=tokens,
            prompt_tokens=tokens,
            prefill_s=wall,
            items=self.batch,
        )

    def close(self) -> None:
        """Drop the session."""
        self._session = None
