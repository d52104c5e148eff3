"""The ``transformers`` backend: a causal LM timed with a manual prefill + decode loop.

Weights are random by default: the model is built from its catalog configuration with
``AutoConfig.for_model(model_type, **dimensions)`` and ``AutoModelForCausalLM.from_config``
directly on the target device (no download, ``HF_HUB_OFFLINE=1``). Speed and power do not
depend on the values of the weights, only on their shapes and dtype (optimum-benchmark's
"no weights" mode). With ``weights="cache"`` the real weights are loaded from the local Hugging
Face cache (``local_files_only=True``).

One run, with ``P`` prompt tokens and ``N`` new tokens (greedy, batch 1):

* prefill — one forward pass over the ``P`` random prompt tokens with the KV cache on; the
  first new token is the arg-max of its last logits. ``ttft_s`` = ``prefill_s`` = that time.
* decode — ``N − 1`` single-token forward passes that reuse the cache. End-of-sequence is never
  checked, so every run generates exactly ``N`` tokens.

On CUDA every step ends with ``torch.cuda.synchronize()``, so each time is the device's, not the
launch queue's. ``torch.inference_mode()`` throughout; ``torch.manual_seed(0)`` for the weights
and the prompt.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Mapping
from typing import Any

from core.bench.backends import BackendInfo, RunTiming, TokenCallback
from core.bench.errors import BackendMissing, BenchError

DTYPES = ("float32", "bfloat16", "float16")
"""dtypes the backend accepts (torch attribute names)."""

_DROP_KEYS = ("model_type", "architectures", "torch_dtype", "dtype", "transformers_version")


def _import_torch() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise BackendMissing(
            f"the transformers backend needs torch and transformers ({exc}); install the extra: "
            "pip install 'thermal-scout[bench]'"
        ) from None
    return torch, transformers


class TransformersBackend:
    """Causal LM on CPU or CUDA.

    Config keys: ``model_id``, ``hf_config`` (a ``config.json`` mapping, for random weights),
    ``weights`` (``"random"`` or ``"cache"``), ``pretrained`` (repo id or model directory for
    real weights; default ``model_id``), ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:N"``),
    ``dtype`` (one of :data:`DTYPES`), ``threads`` (CPU threads, optional).
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.model_id = str(config.get("model_id") or "model")
        self.pretrained = str(config.get("pretrained") or self.model_id)
        self.hf_config: dict[str, Any] = dict(config.get("hf_config") or {})
        self.weights = str(config.get("weights") or "random")
        self.device = str(config.get("device") or "cpu")
        self.dtype = str(config.get("dtype") or "float32")
        threads = config.get("threads")
        self.threads = None if threads is None else int(threads)
        if self.dtype not in DTYPES:
            raise BenchError(f"dtype {self.dtype!r} is not one of {', '.join(DTYPES)}")
        self._torch: Any = None
        self._model: Any = None
        self._vocab = 0
        self._cache_kw = "past_key_values"
        self._extra_kw: dict[str, Any] = {}

    # -- loading ------------------------------------------------------------------------------
    def _build_random(self, torch: Any, transformers: Any, dtype: Any) -> Any:
        values = dict(self.hf_config)
        model_type = values.get("model_type")
        if not model_type:
            raise BenchError(f"{self.model_id}: no model_type in its configuration")
        for key in _DROP_KEYS:
            values.pop(key, None)
        try:
            config = transformers.AutoConfig.for_model(str(model_type), **values)
        except (ValueError, KeyError) as exc:
            raise BenchError(
                f"{self.model_id}: transformers {transformers.__version__} cannot build model "
                f"type {model_type!r} from a configuration ({exc}); models that need their own "
                "code are not supported"
            ) from None
        try:
            with torch.device(self.device):
                return transformers.AutoModelForCausalLM.from_config(config, dtype=dtype)
        except ValueError as exc:
            raise BenchError(
                f"{self.model_id}: not a causal language model for transformers ({exc}); "
                "the transformers backend runs text generation models"
            ) from None

    def _load_cached(self, torch: Any, transformers: Any, dtype: Any) -> Any:
        try:
            model = transformers.AutoModelForCausalLM.from_pretrained(
                self.pretrained, local_files_only=True, dtype=dtype
            )
        except OSError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise BenchError(
                f"{self.model_id}: weights not found in the local Hugging Face cache ({first}); "
                "download them first, or benchmark with random weights"
            ) from None
        return model.to(self.device)

    def prepare(self) -> BackendInfo:
        """Build (or load) the model on the device."""
        torch, transformers = _import_torch()
        self._torch = torch
        if self.device.startswith("cuda"):
            if not torch.cuda.is_available():
                build = "a CPU-only build" if torch.version.cuda is None else "built for CUDA"
                raise BenchError(
                    f"CUDA is not available to torch {torch.__version__} ({build}); "
                    "run with --device cpu or install a CUDA build of torch"
                )
        elif self.threads:
            torch.set_num_threads(self.threads)
        dtype = getattr(torch, self.dtype)
        torch.manual_seed(0)
        start = time.perf_counter()
        if self.weights == "cache":
            model = self._load_cached(torch, transformers, dtype)
        else:
            model = self._build_random(torch, transformers, dtype)
        model.eval()
        generation = getattr(model, "generation_config", None)
        if generation is not None:  # for anyone who calls generate(): never stop early
            generation.eos_token_id = None
        self._sync()
        load_s = time.perf_counter() - start
        self._model = model
        self._vocab = int(getattr(model.config, "vocab_size", 0) or 0)
        if self._vocab <= 0:
            raise BenchError(f"{self.model_id}: the configuration has no vocab_size")
        parameters = inspect.signature(model.forward).parameters
        self._cache_kw = "cache" if "cache" in parameters else "past_key_values"
        self._extra_kw = {"logits_to_keep": 1} if "logits_to_keep" in parameters else {}
        if self.device.startswith("cuda"):
            index = torch.device(self.device).index or 0
            device_name = str(torch.cuda.get_device_name(index))
        else:
            device_name = "cpu"
        params = sum(int(p.numel()) for p in model.parameters())
        notes = [f"torch {torch.__version__}, transformers {transformers.__version__}"]
        if self.device == "cpu":
            notes.append(f"{torch.get_num_threads()} CPU threads")
        return BackendInfo(
            device_name=device_name,
            dtype=self.dtype,
            weights=self.weights,
            params=params,
            load_s=load_s,
            notes=tuple(notes),
        )

    # -- running ------------------------------------------------------------------------------
    def _sync(self) -> None:
        if self._torch is not None and self.device.startswith("cuda"):
            self._torch.cuda.synchronize(self.device)

    def _cache_of(self, out: Any) -> Any:
        cache = getattr(out, "cache", None)
        return cache if cache is not None else getattr(out, "past_key_values", None)

    def run_once(self, prompt_tokens: int, new_tokens: int, on_tokens: TokenCallback) -> RunTiming:
        """One prefill of ``prompt_tokens`` and ``new_tokens`` generated tokens."""
        torch, model = self._torch, self._model
        if model is None:
            raise BenchError("run_once() before prepare()")
        if prompt_tokens < 1 or new_tokens < 1:
            raise BenchError("prompt and new tokens must be at least 1")
        ids = torch.randint(0, self._vocab, (1, prompt_tokens), device=self.device)
        self._sync()
        with torch.inference_mode():
            start = time.perf_counter()
            out = model(input_ids=ids, use_cache=True, **self._extra_kw)
            token = out.logits[:, -1:].argmax(-1)
            cache = self._cache_of(out)
            self._sync()
            prefill_end = time.perf_counter()
            on_tokens(1, 0.0)
            for step in range(1, new_tokens):
                out = model(input_ids=token, use_cache=True, **{self._cache_kw: cache})
                token = out.logits[:, -1:].argmax(-1)
                cache = self._cache_of(out)
                self._sync()
                on_tokens(step + 1, time.perf_counter() - prefill_end)
            end = time.perf_counter()
        del cache, out
        prefill_s = prefill_end - start
        return RunTiming(
            wall_s=end - start,
            tokens=new_tokens,
            prompt_tokens=prompt_tokens,
            ttft_s=prefill_s,
            prefill_s=prefill_s,
            decode_s=end - prefill_end if new_tokens > 1 else None,
            decode_tokens=new_tokens - 1 if new_tokens > 1 else None,
        )

    def close(self) -> None:
        """Drop the model (and the CUDA cache)."""
        self._model = None
        if self._torch is not None and self.device.startswith("cuda"):
            self._torch.cuda.empty_cache()
