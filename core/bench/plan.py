"""What to benchmark and how: :class:`BenchSpec` (the user's choices) → :class:`BenchPlan`.

:func:`plan_benchmark` does everything that can fail *before* a process is started: it checks
the options, finds the model (a catalog id, a ``config.json`` or model directory, an ``.onnx``
file, or a label for a command), picks the device's hardware profile, predicts speed, power and
energy with :mod:`core.analysis` for exactly this dtype and length, and refuses a model that
does not fit in the device's free memory (with the numbers; ``force`` overrides). It never
imports torch: a missing optional dependency is found with :func:`importlib.util.find_spec`.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.bench.backends import BACKENDS, missing_dependency
from core.bench.backends.command import compile_token_regex
from core.bench.energy import CPU, Target
from core.bench.errors import BackendMissing, BenchError, BenchRefused
from core.bench.fingerprint import describe, fingerprint_of
from core.hwinfo import HardwareInfo

DTYPE_ALIASES: Mapping[str, str] = {
    "fp32": "float32",
    "float32": "float32",
    "float": "float32",
    "bf16": "bfloat16",
    "bfloat16": "bfloat16",
    "fp16": "float16",
    "float16": "float16",
    "half": "float16",
}
"""Spellings ``--dtype`` accepts → torch names."""

PRECISION_OF: Mapping[str, str] = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}
"""torch dtype → :mod:`core.analysis.precision` name."""

DEFAULT_DTYPE: Mapping[str, str] = {"cpu": "float32", "cuda": "bfloat16"}
"""dtype when none is given: fp32 on CPUs (bf16 matmuls are slow on most), bf16 on GPUs."""

GB = 1e9


@dataclass(frozen=True)
class BenchSpec:
    """Everything a user chooses for one benchmark.

    Attributes:
        target: Catalog id, ``config.json``/model directory (transformers), ``.onnx`` file
            (onnxruntime), or the model's name (command; a catalog id gives a prediction).
        backend: ``transformers``, ``onnxruntime``, ``command`` (or ``module:Class``).
        device: ``cpu``, ``cuda`` or ``cuda:N`` (N is the NVML index); None: ``cpu``, or for a
            command the first GPU when there is one.
        dtype: ``float32``/``bfloat16``/``float16`` (or fp32/bf16/fp16); None: per device.
        prompt_tokens: Prompt length (sequence length for encoders).
        new_tokens: Tokens generated per run.
        batch: Sequences per run (onnxruntime).
        repeat: Measurement windows; the result is their median.
        warmup: Runs before the first window (not measured).
        baseline_s: Idle seconds measured before the warm-up.
        min_window_s: Each window repeats the workload until it lasts this long (energy needs
            ≥ 10 s; shorter windows are reported as too short, with their uncertainty).
        cooldown_s: Longest wait between windows for the temperature to come back.
        cooldown_margin_c: "Back" means within this many °C of the idle temperature.
        force: Start even when the model does not fit.
        weights: ``random`` (built from the config) or ``cache`` (local Hugging Face cache).
        command: The program and its arguments (command backend).
        tokens: Tokens per command run, when the user knows it.
        token_regex: Regular expression that finds the token count in a command's output.
        model: Catalog id (or file) to predict with, when ``target`` is a file or a label.
        profile: Name of the profile the settings came from (stored with the result).
        threads: CPU threads for the workload (default: the library's).
        interval_s: Sampling interval when the runner samples itself.
    """

    target: str
    backend: str = "transformers"
    device: str | None = None
    dtype: str | None = None
    prompt_tokens: int = 128
    new_tokens: int = 128
    batch: int = 1
    repeat: int = 3
    warmup: int | None = None
    baseline_s: float = 10.0
    min_window_s: float = 10.0
    cooldown_s: float = 30.0
    cooldown_margin_c: float = 2.0
    force: bool = False
    weights: str = "random"
    command: tuple[str, ...] = ()
    tokens: int | None = None
    token_regex: str | None = None
    model: str | None = None
    profile: str | None = None
    threads: int | None = None
    interval_s: float = 0.2

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (stored with each result)."""
        data = dataclasses.asdict(self)
        data["command"] = list(self.command)
        return data


@dataclass(frozen=True)
class Prediction:
    """What the analysis predicts for this model, device, dtype and length (uncalibrated).

    Attributes:
        decode_tokens_per_s / prefill_tokens_per_s: Speeds (None where not estimated).
        power_w: Power while decoding.
        joules_per_token: Energy per generated token.
        hardware: The hardware profile's name.
        precision: The precision analysed.
        bound: ``memory-bound`` ...
        confidence: ``high``/``medium``/``low``.
        decode_range: ``(low, high)`` decode tok/s within the confidence band.
        fit_level: ``fits``/``tight``/``too-tight``.
        required_bytes / available_bytes: Memory the model needs, and what is free.
        method: How the estimate was made.
    """

    decode_tokens_per_s: float | None
    prefill_tokens_per_s: float | None
    power_w: float | None
    joules_per_token: float | None
    hardware: str
    precision: str
    bound: str | None
    confidence: str
    decode_range: tuple[float, float] | None
    fit_level: str
    required_bytes: int
    available_bytes: int
    method: str

    def to_json(self) -> dict[str, Any]:
        """The ``predicted`` object of the result JSON."""
        return {
            "decode_tokens_per_s": _r(self.decode_tokens_per_s),
            "prefill_tokens_per_s": _r(self.prefill_tokens_per_s),
            "power_w": _r(self.power_w),
            "joules_per_token": _r(self.joules_per_token, 4),
            "hardware": self.hardware,
            "precision": self.precision,
            "bound": self.bound,
            "confidence": self.confidence,
            "decode_range": None
            if self.decode_range is None
            else [_r(v) for v in self.decode_range],
            "fit": self.fit_level,
            "required_bytes": self.required_bytes,
            "available_bytes": self.available_bytes,
            "method": self.method,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Prediction:
        """The inverse of :meth:`to_json`."""
        rng = data.get("decode_range")
        return cls(
            decode_tokens_per_s=data.get("decode_tokens_per_s"),
            prefill_tokens_per_s=data.get("prefill_tokens_per_s"),
            power_w=data.get("power_w"),
            joules_per_token=data.get("joules_per_token"),
            hardware=str(data.get("hardware") or ""),
            precision=str(data.get("precision") or ""),
            bound=data.get("bound"),
            confidence=str(data.get("confidence") or ""),
            decode_range=None if rng is None else (float(rng[0]), float(rng[1])),
            fit_level=str(data.get("fit") or ""),
            required_bytes=int(data.get("required_bytes") or 0),
            available_bytes=int(data.get("available_bytes") or 0),
            method=str(data.get("method") or ""),
        )


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


@dataclass(frozen=True)
class BenchPlan:
    """A checked benchmark, ready for :class:`core.bench.runner.BenchRunner`.

    Attributes:
        spec: What the user asked for.
        model: The model's id or label (what history and the catalog hook match on).
        backend: Backend name.
        device: ``cpu`` or ``cuda:N``.
        dtype: torch dtype name, or None (command, onnxruntime).
        target: Whose telemetry counts (the GPU, or the CPU package).
        child_config: The backend configuration sent to the child process.
        prediction: The analysis' prediction, or None (``prediction_note`` says why).
        prediction_note: Why there is no prediction.
        fingerprint: This machine's hardware fingerprint.
        hardware: This machine in one line.
        warmup: Warm-up runs.
        notes: Warnings for the user (``--force`` used, model does not fit ...).
    """

    spec: BenchSpec
    model: str
    backend: str
    device: str
    dtype: str | None
    target: Target
    child_config: dict[str, Any]
    prediction: Prediction | None
    prediction_note: str | None
    fingerprint: str
    hardware: str
    warmup: int
    notes: tuple[str, ...] = field(default_factory=tuple)


def normalize_dtype(text: str) -> str:
    """A torch dtype name for a ``--dtype`` spelling.

    Example:
        >>> normalize_dtype("BF16"), normalize_dtype("float32")
        ('bfloat16', 'float32')
    """
    found = DTYPE_ALIASES.get(text.strip().lower())
    if found is None:
        raise BenchError(
            f"unknown dtype {text!r}; valid: float32, bfloat16, float16 (or fp32, bf16, fp16)"
        )
    return found


def spec_from_profile(
    target: str, settings: Mapping[str, Any], *, profile: str | None = None, **values: Any
) -> BenchSpec:
    """A :class:`BenchSpec` with the device, dtype and threads of a performance profile.

    Args:
        target: What to benchmark.
        settings: The profile's effective settings (``device``: ``cpu``/``cuda``/``auto``,
            ``dtype``: ``auto``/``float32``/``float16``/``bfloat16``, ``threads``); other keys
            are ignored. ``auto`` leaves the choice to :func:`plan_benchmark`.
        profile: The profile's name, stored with the result.
        values: Any other :class:`BenchSpec` field (``new_tokens``, ``repeat`` ...).

    Raises:
        BenchError: A dtype the benchmark cannot build (int8/int4: benchmark a quantised
            model through the command backend, e.g. llama-bench with a GGUF file).

    Example:
        >>> spec = spec_from_profile("gpt2", {"device": "auto", "dtype": "bfloat16"}, profile="x")
        >>> spec.device, spec.dtype, spec.profile
        (None, 'bfloat16', 'x')
    """
    device = settings.get("device")
    dtype = settings.get("dtype")
    if dtype in ("int8", "int4"):
        raise BenchError(
            f"profile dtype {dtype} cannot be built with random weights; benchmark a quantised "
            "model with the command backend (e.g. -- llama-bench -m MODEL.gguf)"
        )
    threads = settings.get("threads")
    fields: dict[str, Any] = {
        "device": None if device in (None, "auto") else str(device),
        "dtype": None if dtype in (None, "auto") else normalize_dtype(str(dtype)),
        "threads": int(threads) if isinstance(threads, int) and threads > 0 else None,
        "profile": profile,
    }
    fields.update(values)
    return BenchSpec(target=target, **fields)


_DEVICE = re.compile(r"^(cpu|cuda)(?::(\d+))?$")


def _resolve_device(spec: BenchSpec, info: HardwareInfo) -> tuple[str, Target]:
    text = spec.device
    if text is None:
        text = "cuda" if spec.backend == "command" and info.gpus else "cpu"
    match = _DEVICE.match(text.strip().lower())
    if match is None:
        raise BenchError(f"unknown device {text!r}; use cpu, cuda or cuda:N")
    if match.group(1) == "cpu":
        if match.group(2) is not None:
            raise BenchError(f"unknown device {text!r}; use cpu, cuda or cuda:N")
        return "cpu", CPU
    index = int(match.group(2) or 0)
    if not info.gpus:
        raise BenchError(
            f"--device {text}: no NVIDIA GPU found ({info.gpu_reason or 'none listed'})"
        )
    if index not in {g.index for g in info.gpus}:
        valid = ", ".join(f"cuda:{g.index}" for g in info.gpus)
        raise BenchError(f"--device {text}: no such GPU; this machine has {valid}")
    return f"cuda:{index}", Target("gpu", index)


def cuda_ordinal(nvml_index: int, environ: Mapping[str, str]) -> int:
    """The CUDA device number of NVML GPU ``nvml_index`` in the child.

    The child runs with ``CUDA_DEVICE_ORDER=PCI_BUS_ID``, so CUDA numbers GPUs in NVML's order;
    ``CUDA_VISIBLE_DEVICES`` (indices) renumbers them from 0.

    Raises:
        BenchError: The GPU is hidden by ``CUDA_VISIBLE_DEVICES``, or that variable names GPUs
            by UUID (the mapping to NVML indices is then unknown here).

    Example:
        >>> cuda_ordinal(2, {}), cuda_ordinal(2, {"CUDA_VISIBLE_DEVICES": "2,3"})
        (2, 0)
    """
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None or not visible.strip():
        return nvml_index
    entries = [v.strip() for v in visible.split(",") if v.strip()]
    if not all(v.isdigit() for v in entries):
        raise BenchError(
            f"CUDA_VISIBLE_DEVICES={visible} names GPUs by UUID; use indices, or unset it and "
            "pick the GPU with --device cuda:N"
        )
    if str(nvml_index) not in entries:
        raise BenchError(f"GPU {nvml_index} is hidden by CUDA_VISIBLE_DEVICES={visible}")
    return entries.index(str(nvml_index))


def _check_numbers(spec: BenchSpec) -> None:
    checks = [
        (spec.prompt_tokens >= 1, "prompt tokens must be at least 1"),
        (spec.new_tokens >= 1, "tokens must be at least 1"),
        (spec.batch >= 1, "batch must be at least 1"),
        (spec.repeat >= 1, "repeat must be at least 1"),
        (spec.warmup is None or spec.warmup >= 0, "warm-up runs must be 0 or more"),
        (spec.baseline_s >= 0, "baseline seconds must be 0 or more"),
        (spec.min_window_s >= 0, "minimum window must be 0 or more seconds"),
        (spec.cooldown_s >= 0, "cooldown must be 0 or more seconds"),
        (spec.cooldown_margin_c > 0, "cooldown margin must be more than 0 °C"),
        (spec.interval_s > 0, "sampling interval must be more than 0 s"),
        (spec.tokens is None or spec.tokens >= 1, "tokens must be at least 1"),
        (spec.weights in ("random", "cache"), "weights must be 'random' or 'cache'"),
    ]
    for ok, message in checks:
        if not ok:
            raise BenchError(message)


def _device_profile(info: HardwareInfo, target: Target) -> Any:
    from core.analysis.hardware_profiles import profile_from_hardware

    if target.kind == "gpu":
        gpus = tuple(g for g in info.gpus if g.index == target.index)
        return profile_from_hardware(dataclasses.replace(info, gpus=gpus))
    return profile_from_hardware(dataclasses.replace(info, gpus=()))


def _predict(
    name: str, precision: str | None, context: int, profile: Any
) -> tuple[Prediction | None, str | None]:
    from core.catalog.rows import AnalysisSettings
    from core.catalog.targets import analyze_target

    settings = AnalysisSettings(profile, precision or "bf16", context, 1)
    try:
        row = analyze_target(name, settings, precision_explicit=precision is not None)
    except Exception as exc:  # any analysis failure only costs the prediction
        return None, f"no prediction for {name}: {exc}"
    analysis = row.analysis
    if analysis is None:
        return None, f"no prediction for {name}: {row.error}"
    e = analysis.estimates
    band = e.confidence
    decode_range = band.range(e.decode_tokens_per_s) if e.decode_tokens_per_s is not None else None
    return (
        Prediction(
            decode_tokens_per_s=e.decode_tokens_per_s,
            prefill_tokens_per_s=e.prefill_tokens_per_s,
            power_w=e.power_w,
            joules_per_token=e.joules_per_token,
            hardware=profile.name,
            precision=analysis.precision.name,
            bound=e.bound,
            confidence=band.level,
            decode_range=decode_range,
            fit_level=analysis.fit.level,
            required_bytes=analysis.fit.required_bytes,
            available_bytes=analysis.fit.available_bytes,
            method=e.method,
        ),
        None,
    )


def _hf_config(target: str, model: str | None) -> tuple[str, dict[str, Any]]:
    """The model's label and its ``config.json`` mapping (for random weights)."""
    path = Path(target).expanduser()
    if path.is_dir() or path.suffix.lower() == ".json":
        config_path = path / "config.json" if path.is_dir() else path
        try:
            data = json.loads(config_path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise BenchError(f"{config_path}: cannot read ({exc.strerror})") from None
        except json.JSONDecodeError as exc:
            raise BenchError(f"{config_path}: not valid JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise BenchError(f"{config_path}: a config.json must hold a JSON object")
        label = model or (path.name if path.is_dir() else path.parent.name or path.stem)
        return label, data
    from core.catalog.embedded import get

    entry = get(target)  # CatalogError (a ThermalScoutError) suggests close ids
    if entry.kind not in ("llm", "multimodal") or not entry.has_dimensions:
        raise BenchError(
            f"{entry.repo_id} ({entry.kind}) is not a text generation model, which is what the "
            "transformers backend runs; try --backend onnxruntime with an exported .onnx file"
        )
    return entry.repo_id, entry.config()


def _refusal(
    model: str, prediction: Prediction, device: str, dtype: str | None, context: int
) -> str:
    need = prediction.required_bytes / GB
    free = prediction.available_bytes / GB
    hint = " or --dtype bf16" if dtype == "float32" else ""
    return (
        f"{model} does not fit on {device}: it needs {need:.1f} GB at {prediction.precision} "
        f"(weights, KV cache for {context} tokens, overhead) but {free:.1f} GB is free on "
        f"{prediction.hardware}; choose a smaller model{hint}, or --force to try anyway"
    )


def plan_benchmark(spec: BenchSpec, *, hardware: HardwareInfo | None = None) -> BenchPlan:
    """Check ``spec`` and work out everything the runner needs.

    Args:
        spec: The user's choices.
        hardware: What :func:`core.hardware.detect` found (detected now when None: free memory
            must be current for the fit check).

    Raises:
        BackendMissing: The backend's optional dependency is not installed (names the extra).
        BenchRefused: The model does not fit and ``force`` is off (with the numbers).
        BenchError / CatalogError: Bad options, unknown model, no such GPU or file.
    """
    _check_numbers(spec)
    backend = spec.backend
    if backend not in BACKENDS and ":" not in backend:
        raise BenchError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    problem = missing_dependency(backend) if backend in BACKENDS else None
    if problem is not None:
        raise BackendMissing(problem)
    if hardware is None:
        from core.hardware import detect

        hardware = detect()
    info = hardware
    device, target = _resolve_device(spec, info)
    kind = "cuda" if device.startswith("cuda") else "cpu"
    notes: list[str] = []
    dtype: str | None = None
    if backend == "transformers" or (":" in backend and spec.dtype is not None):
        dtype = normalize_dtype(spec.dtype) if spec.dtype else DEFAULT_DTYPE[kind]
    elif spec.dtype is not None:
        dtype = normalize_dtype(spec.dtype)
    precision = PRECISION_OF[dtype] if dtype is not None else None
    context = spec.prompt_tokens + (spec.new_tokens if backend != "onnxruntime" else 0)
    profile = _device_profile(info, target)

    child_device = device
    if target.kind == "gpu" and backend != "command":
        import os

        child_device = f"cuda:{cuda_ordinal(target.index or 0, os.environ)}"
    config: dict[str, Any] = {"backend": backend, "device": child_device, "threads": spec.threads}
    model = spec.model or spec.target
    predict_name: str | None = spec.model or spec.target
    if backend == "transformers":
        model, hf_config = _hf_config(spec.target, spec.model)
        target_path = Path(spec.target).expanduser()
        config.update(
            model_id=model,
            hf_config=hf_config,
            weights=spec.weights,
            dtype=dtype or "float32",
            # real weights: a model directory itself, else the repo id in the local HF cache
            pretrained=str(target_path.resolve()) if target_path.is_dir() else model,
        )
        predict_name = spec.target if spec.model is None else spec.model
    elif backend == "onnxruntime":
        path = Path(spec.target).expanduser()
        if not path.is_file():
            raise BenchError(f"{spec.target}: ONNX file not found")
        model = spec.model or path.stem
        config.update(path=str(path.resolve()), batch=spec.batch)
        predict_name = spec.model
    elif backend == "command":
        if not spec.command:
            raise BenchError(
                "the command backend needs a command after --, e.g. -- llama-bench -m FILE"
            )
        if spec.token_regex is not None:
            compile_token_regex(spec.token_regex)
        config.update(argv=list(spec.command), tokens=spec.tokens, token_regex=spec.token_regex)
    else:
        config.update(
            model_id=model, dtype=dtype, prompt_tokens=spec.prompt_tokens, target=spec.target
        )

    prediction, prediction_note = (
        _predict(predict_name, precision, context, profile)
        if predict_name
        else (None, "no prediction: name a catalog model with --model")
    )
    if prediction is not None and backend == "transformers" and prediction.fit_level == "too-tight":
        message = _refusal(model, prediction, device, dtype, context)
        if not spec.force:
            raise BenchRefused(message)
        notes.append("--force: " + message.split("; choose")[0])
    if backend == "command" and spec.tokens is None and spec.token_regex is None:
        notes.append("no token count (--tokens or --token-regex): time and energy only")
    warmup = spec.warmup if spec.warmup is not None else (0 if backend == "command" else 1)
    return BenchPlan(
        spec=spec,
        model=model,
        backend=backend,
        device=device,
        dtype=dtype,
        target=target,
        child_config=config,
        prediction=prediction,
        prediction_note=prediction_note,
        fingerprint=fingerprint_of(info),
        hardware=describe(info),
        warmup=warmup,
        notes=tuple(notes),
    )
