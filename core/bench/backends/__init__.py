"""Benchmark backends: one interface, run inside the benchmark's child process.

A backend is built from a JSON-able configuration (the parent sends it to
:mod:`core.bench.child`), loads its model in :meth:`Backend.prepare`, and runs the workload once
per :meth:`Backend.run_once`, returning a :class:`RunTiming`. Backends never sample telemetry:
the parent does that while they run.

Built-in backends (see :data:`BACKENDS`):

* ``transformers`` — a causal LM built from a catalog config with random weights, or real
  weights from the local Hugging Face cache; needs the ``bench`` extra (torch, transformers).
* ``onnxruntime`` — an ONNX file (encoders: embeddings/s, tokens/s); needs the ``onnx`` extra.
* ``command`` — any program; the token count is given or parsed from its output.

``"package.module:Class"`` loads any other class with the same interface (tests use it for
backends that crash, hang or run out of memory on purpose).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from core.bench.errors import BackendMissing, BenchError

TokenCallback = Callable[[int, float], None]
"""``(tokens_so_far, decode_seconds_so_far)``, called by backends while they generate."""


@dataclass(frozen=True)
class RunTiming:
    """What one run of the workload took.

    Attributes:
        wall_s: Whole run, start to end (synchronised on CUDA).
        tokens: Tokens generated (decoder), processed (encoder), or counted (command); None
            when a command gave no count.
        prompt_tokens: Prompt tokens processed before the first generated token.
        ttft_s: Time to the first generated token (prefill plus the first sampling).
        prefill_s: The forward pass over the prompt.
        decode_s: The single-token steps after the prefill.
        decode_tokens: Tokens produced in ``decode_s`` (``tokens − 1`` for the transformers
            backend: the first token comes from the prefill).
        items: Sequences embedded (encoders), else None.
        output_tail: Last lines a command printed (for reports).
    """

    wall_s: float
    tokens: int | None
    prompt_tokens: int = 0
    ttft_s: float | None = None
    prefill_s: float | None = None
    decode_s: float | None = None
    decode_tokens: int | None = None
    items: int | None = None
    output_tail: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the child → parent message)."""
        data = asdict(self)
        data["output_tail"] = list(self.output_tail)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunTiming:
        """The inverse of :meth:`to_json` (unknown keys ignored)."""

        def num(key: str) -> float | None:
            value = data.get(key)
            return None if value is None else float(value)

        def count(key: str) -> int | None:
            value = data.get(key)
            return None if value is None else int(value)

        return cls(
            wall_s=float(data["wall_s"]),
            tokens=count("tokens"),
            prompt_tokens=int(data.get("prompt_tokens") or 0),
            ttft_s=num("ttft_s"),
            prefill_s=num("prefill_s"),
            decode_s=num("decode_s"),
            decode_tokens=count("decode_tokens"),
            items=count("items"),
            output_tail=tuple(str(line) for line in data.get("output_tail") or ()),
        )


@dataclass(frozen=True)
class BackendInfo:
    """What a backend loaded, reported once it is ready.

    Attributes:
        device_name: ``"cpu"`` or the CUDA device's name.
        dtype: The torch/ONNX dtype actually used, where there is one.
        weights: ``"random"``, ``"cache"`` (local Hugging Face cache), ``"file"`` or ``None``.
        params: Parameters of the loaded model, when known.
        load_s: Seconds to load or build the model.
        notes: Anything a reader of the result should know.
    """

    device_name: str
    dtype: str | None = None
    weights: str | None = None
    params: int | None = None
    load_s: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["notes"] = list(self.notes)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BackendInfo:
        """The inverse of :meth:`to_json`."""
        params = data.get("params")
        return cls(
            device_name=str(data.get("device_name") or "?"),
            dtype=data.get("dtype"),
            weights=data.get("weights"),
            params=None if params is None else int(params),
            load_s=float(data.get("load_s") or 0.0),
            notes=tuple(str(n) for n in data.get("notes") or ()),
        )


class Backend(Protocol):
    """The interface every backend implements (constructed with its config mapping)."""

    def prepare(self) -> BackendInfo:
        """Load or build the model; raise :class:`~core.bench.errors.BenchError` if impossible."""
        ...

    def run_once(self, prompt_tokens: int, new_tokens: int, on_tokens: TokenCallback) -> RunTiming:
        """Run the workload once and time it."""
        ...

    def close(self) -> None:
        """Release the model."""
        ...


BACKENDS: Mapping[str, str] = {
    "transformers": "core.bench.backends.hf_transformers:TransformersBackend",
    "onnxruntime": "core.bench.backends.onnx_runtime:OnnxBackend",
    "command": "core.bench.backends.command:CommandBackend",
}
"""Backend name → ``module:Class``."""

EXTRAS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "transformers": ("bench", ("torch", "transformers")),
    "onnxruntime": ("onnx", ("onnxruntime",)),
    "command": ("", ()),
}
"""Backend name → (extra, modules it needs)."""


def missing_dependency(backend: str) -> str | None:
    """Why ``backend`` cannot run here (a missing module, with the extra to install), or None.

    Looks the modules up without importing them, so it is cheap enough for the UI thread.

    Example:
        >>> missing_dependency("command") is None
        True
    """
    extra, modules = EXTRAS.get(backend, ("", ()))
    absent = [name for name in modules if importlib.util.find_spec(name) is None]
    if not absent:
        return None
    return missing_message(backend, extra, absent)


def missing_message(backend: str, extra: str, absent: list[str]) -> str:
    """The one-line "install the extra" message."""
    names = " and ".join(absent)
    return (
        f"the {backend} backend needs {names}, which {'is' if len(absent) == 1 else 'are'} not "
        f"installed; install the extra: pip install 'thermal-scout[{extra}]'"
    )


def load_backend(config: Mapping[str, Any]) -> Backend:
    """Build the backend ``config["backend"]`` names (a built-in name or ``module:Class``).

    Raises:
        BackendMissing: A dependency of a built-in backend is not installed.
        BenchError: Unknown backend.
    """
    name = str(config.get("backend") or "")
    path = BACKENDS.get(name, name)
    if ":" not in path:
        valid = ", ".join(BACKENDS)
        raise BenchError(f"unknown backend {name!r}; valid: {valid}")
    if name in BACKENDS:
        problem = missing_dependency(name)
        if problem is not None:
            raise BackendMissing(problem)
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
        factory: Any = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise BenchError(f"cannot load backend {name!r}: {exc}") from None
    backend: Backend = factory(config)
    return backend
