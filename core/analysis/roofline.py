"""Speed, power and energy per token from a roofline model.

Per decode step (``batch`` sequences, one new token each):

- memory time  ``t_mem = (weights of the active parameters + KV cache read) / (η_mem × BW)``
- compute time ``t_cmp = 2 × active params × batch / (η_cmp × peak FLOP/s)``
- step time ``= max(t_mem, t_cmp)``; decode tok/s ``= batch / step``; the larger term names the
  bound (``memory-bound`` at batch 1 on every device in the table).

Prefill of a ``context``-token prompt: the same with ``context × batch`` tokens in one pass, so a
long prompt is compute-bound and prefill tok/s ``→ η_cmp × peak / (2 × active params)``
(gpu_poor ``App.js`` and canirunthisllm.com model time the same way, anchors.md).

**Default efficiencies** (share of datasheet bandwidth / dense peak reached), from published
llama.cpp measurements — ``achieved = tok/s × bytes (or FLOPs) per token / datasheet peak``:

========  =====  ==========================================================================
η_mem     value  evidence
========  =====  ==========================================================================
GPU       0.70   RTX 4090 llama 7B F16 tg128 61.0 t/s × 13.48 GB = 0.82, Q8_0 98.1 t/s ×
                 7.16 GB = 0.70 (llama.cpp PR #4766); T4 7B F16 ~16 t/s = 0.67 (llmfit
                 ``fit.rs`` validation); llmfit itself uses 0.55, whichllm 0.40–0.55
Apple     0.60   M1 Max Llama-3.1-8B Q4_K_M tg128 46.2 t/s × 4.92 GB = 0.57 (normiebench#40);
                 M1 Max 7B Q4_0 ~61 t/s = 0.58 (llmfit); M4 20.9 t/s = 0.86 (normiebench#3)
CPU       0.60   i9-13900K DDR5-6400 7B (Q4_0) 18.3 t/s × 3.83 GB = 0.68 of 102.4 GB/s
                 (llama.cpp#34); Raspberry Pi 500+ llama3.2:3b 5.55 t/s × 2.0 GB = 0.65 of
                 17 GB/s (geerlingguy/ai-benchmarks#24)
========  =====  ==========================================================================

========  =====  ==========================================================================
η_cmp     value  evidence
========  =====  ==========================================================================
GPU       0.60   RTX 4090 llama 7B F16 pp512 11,048 t/s × 13.5 GFLOP = 149 TFLOPS: 0.90 of
                 the FP32-accumulate peak, 0.45 of the FP16-accumulate one (PR #4766);
                 gpu_poor assumes 0.85
Apple     0.75   M1 Max pp512 499.6 t/s × 16.1 GFLOP = 0.77 of 10.4 TFLOPS (normiebench#40);
                 M4 224.8 t/s = 0.85 of 4.26 (normiebench#3)
CPU       0.30   i9-13900K 7B pp512 55 t/s × 13.5 GFLOP = 0.74 TFLOPS ≈ 0.3 of its
                 ~2.5 TFLOPS FP32 peak (llama.cpp#34, 2023 build)
========  =====  ==========================================================================

``calibration`` (this machine's measured ÷ predicted decode rate, from its own benchmarks)
multiplies both efficiencies (capped at 1.0).

**Power** (rule ``idle + utilisation × (TDP − idle)``): utilisation ``= min(1, s × t_mem/step +
t_cmp/step)``, i.e. 1 (TDP) when compute-bound — the H100 in this project's NVML trace sits at
its 700 W limit during a bf16 matmul — and about ``s`` when memory-bound, with ``s`` = 0.5 on
GPUs and Apple silicon (memory-bound decode keeps the ALUs mostly idle and rarely reaches TDP;
an assumption to be replaced by benchmark measurements) and 0.8 on CPUs (llama.cpp's threads
spin at full clock while they wait for memory; also an assumption). **J/token** = W ÷ tok/s.

**Confidence bands** are whichllm's (``engine/performance.py``): high 0.85–1.20× (calibrated on
this machine), medium 0.60–1.60× (dense model on a GPU or Apple silicon), low 0.35–2.00× (CPU,
or a mixture-of-experts model, whose estimates users report off by 2–30×: llmfit#88, #449).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, NamedTuple

from core.analysis.hardware_profiles import HardwareKind, HardwareProfile
from core.analysis.memory import weights_bytes
from core.analysis.precision import Precision
from core.errors import AnalysisError

Bound = Literal["memory-bound", "compute-bound", "overhead-bound"]
"""Which term limits the time per step."""

STEP_OVERHEAD_S: dict[str, tuple[float, float]] = {
    "gpu": (100e-6, 10e-6),
    "apple": (150e-6, 15e-6),
    "cpu": (50e-6, 5e-6),
}
"""Per decode step: a fixed cost plus a cost per layer (launches, synchronisation, sampling).

A rule of thumb, not a measurement: a CUDA kernel launch costs a few microseconds and a
transformer layer launches several kernels, so a step cannot be faster than about
``fixed + layers × per_layer`` however small the model. It only decides the speed of small
models (for an 8B model on an H100 the memory time is ~16 ms against ~0.4 ms here);
benchmark calibration replaces it with this machine's own figure."""

ConfidenceLevel = Literal["high", "medium", "low"]
"""whichllm's three bands."""

DECODE_EFFICIENCY: Mapping[HardwareKind, float] = MappingProxyType(
    {"gpu": 0.70, "apple": 0.60, "cpu": 0.60}
)
"""Share of datasheet memory bandwidth reached in decode (evidence in the module docstring)."""

COMPUTE_EFFICIENCY: Mapping[HardwareKind, float] = MappingProxyType(
    {"gpu": 0.60, "apple": 0.75, "cpu": 0.30}
)
"""Share of dense peak FLOP/s reached in large matrix products (prefill)."""

MEMORY_BOUND_POWER_SHARE: Mapping[HardwareKind, float] = MappingProxyType(
    {"gpu": 0.5, "apple": 0.5, "cpu": 0.8}
)
"""Share of the idle-to-TDP range drawn while memory-bound (assumption; see module docstring)."""

CONFIDENCE_BANDS: Mapping[ConfidenceLevel, tuple[float, float]] = MappingProxyType(
    {"high": (0.85, 1.20), "medium": (0.60, 1.60), "low": (0.35, 2.00)}
)
"""(low, high) factors around the point estimate, whichllm engine/performance.py."""


@dataclass(frozen=True, slots=True)
class Confidence:
    """How far the true value may be from the estimate.

    Attributes:
        level: ``high``, ``medium`` or ``low``.
        low: Factor for the low end (true ≥ estimate × low, most of the time).
        high: Factor for the high end.
        reason: Why this level.
    """

    level: ConfidenceLevel
    low: float
    high: float
    reason: str

    def range(self, value: float) -> tuple[float, float]:
        """``(value × low, value × high)``."""
        return value * self.low, value * self.high


@dataclass(frozen=True, slots=True)
class Estimate:
    """Predicted speed, power and energy for one model on one device.

    Attributes:
        decode_tokens_per_s: Generated tokens per second (all sequences of the batch together);
            None for models that do not generate (encoder-only, vision).
        prefill_tokens_per_s: Prompt (or forward-pass) tokens per second.
        bound: What limits decode (or the forward pass when there is no decode).
        prefill_bound: What limits prefill of the whole context.
        power_w: Predicted device power under the decode (or forward-pass) load.
        joules_per_token: ``power_w`` ÷ tokens per second of that load.
        confidence: Band around the token rates (and so around J/token).
        method_text: The numbers behind the method; :attr:`method` writes it out.
        decode_efficiency: η_mem used (after calibration).
        compute_efficiency: η_cmp used (after calibration).
        bytes_per_step: Bytes read per decode step (active weights + KV cache).
    """

    decode_tokens_per_s: float | None
    prefill_tokens_per_s: float
    bound: Bound
    prefill_bound: Bound
    power_w: float
    joules_per_token: float
    confidence: Confidence
    method_text: _MethodText = field(repr=False)
    decode_efficiency: float
    compute_efficiency: float
    bytes_per_step: int

    @property
    def method(self) -> str:
        """Formula and numbers used, in words (written when asked for: rows are many)."""
        return str(self.method_text)


class _MethodText(NamedTuple):
    """The numbers behind an estimate; ``str()`` writes the method out.

    Kept as numbers rather than text because a table of 100,000 analysed rows would otherwise
    hold 100,000 method strings that are read only for the few rows someone looks at.
    """

    hardware: HardwareProfile
    kind: str
    batch: int
    step_bytes: float
    eta_mem: float
    params_active: float
    eta_cmp: float
    fixed_s: float
    per_layer_s: float
    layers: int | None
    context: int
    idle: float
    utilisation: float
    load: str
    share: float
    calibration: float | None

    def __str__(self) -> str:
        h = self.hardware
        overhead = (
            f", overhead {self.fixed_s * 1e6:g} µs + {self.layers} layers × "
            f"{self.per_layer_s * 1e6:g} µs"
            if self.layers is not None
            else ""
        )
        calibration = "" if self.calibration is None else f" × calibration {self.calibration:g}"
        return (
            f"roofline on {h.name} ({self.kind}): decode = {self.batch} / max("
            f"{self.step_bytes / 1e9:.3g} GB / ({self.eta_mem:.2f} × {h.bandwidth_gbps:g} GB/s), "
            f"2 × {self.params_active / 1e9:.3g} G × {self.batch} / ({self.eta_cmp:.2f} × "
            f"{h.peak_bf16_tflops:g} TFLOPS){overhead}); prefill of {max(self.context, 1)} "
            f"tokens likewise; power = idle {self.idle:g} W + {self.utilisation:.2f} × (TDP "
            f"{h.tdp_w:g} − {self.idle:g}) W under {self.load} (memory-bound share {self.share}); "
            f"efficiencies: llama.cpp measurements{calibration}"
        )


@functools.lru_cache(maxsize=64)
def _confidence(kind: HardwareKind, moe: bool, calibrated: bool) -> Confidence:
    """The band for this kind of estimate (one shared, immutable instance per combination)."""
    level: ConfidenceLevel
    if calibrated:
        level, reason = "high", "calibrated from this machine's benchmarks"
    elif moe:
        level, reason = "low", "mixture-of-experts: routing and expert reads vary"
    elif kind == "cpu":
        level, reason = "low", "CPU: bandwidth and threading vary widely"
    else:
        level, reason = "medium", f"uncalibrated roofline on {kind}"
    low, high = CONFIDENCE_BANDS[level]
    return Confidence(level, low, high, reason)


def estimate(
    params_active: int,
    precision: Precision,
    hardware: HardwareProfile,
    *,
    kv_bytes: int = 0,
    context: int = 1,
    batch: int = 1,
    generates: bool = True,
    moe: bool = False,
    calibration: float | None = None,
    layers: int | None = None,
) -> Estimate:
    """Roofline estimate of decode and prefill speed, power and J/token.

    Args:
        params_active: Parameters used per token (the active experts of a MoE model).
        precision: Weight precision (bytes read per parameter).
        hardware: The device.
        kv_bytes: KV cache bytes read per decode step: the whole cache of every sequence at the
            context (:func:`core.analysis.memory.kv_cache_bytes`).
        context: Prompt length for the prefill estimate (tokens per sequence).
        batch: Sequences decoded together.
        generates: False for encoder-only/vision models: no decode; power and J/token are for
            the forward pass of ``context`` tokens.
        moe: True for mixture-of-experts models (widens the confidence band).
        calibration: Measured ÷ predicted ratio from this machine's benchmarks; None when
            uncalibrated.
        layers: Layers run per decode step, for the per-step overhead floor
            (:data:`STEP_OVERHEAD_S`); None leaves the floor out.

    Returns:
        The estimate.

    Raises:
        AnalysisError: For non-positive parameters, batch, calibration or device figures.

    Example:
        >>> from core.analysis.hardware_profiles import profile_for
        >>> from core.analysis.precision import BF16
        >>> e = estimate(8_030_261_248, BF16, profile_for("H100 SXM 80GB"))
        >>> round(e.decode_tokens_per_s, 1), e.bound
        (146.0, 'memory-bound')
    """
    if params_active <= 0:
        raise AnalysisError(f"active parameters must be > 0, got {params_active}")
    if batch < 1 or context < 0 or kv_bytes < 0:
        raise AnalysisError(f"batch ≥ 1, context ≥ 0, kv ≥ 0 required ({batch}, {context})")
    if hardware.bandwidth_gbps <= 0 or hardware.peak_bf16_tflops <= 0:
        raise AnalysisError(f"{hardware.name}: bandwidth and peak FLOP/s must be > 0")
    if calibration is not None and calibration <= 0:
        raise AnalysisError(f"calibration must be > 0, got {calibration}")

    kind = hardware.kind
    scale = 1.0 if calibration is None else calibration
    eta_mem = min(1.0, DECODE_EFFICIENCY[kind] * scale)
    eta_cmp = min(1.0, COMPUTE_EFFICIENCY[kind] * scale)
    bandwidth = hardware.bandwidth_gbps * 1e9 * eta_mem
    flops = hardware.peak_bf16_tflops * 1e12 * eta_cmp
    weights = weights_bytes(params_active, precision)

    # Decode step: weights once + the KV cache of every sequence; one token per sequence.
    step_bytes = weights + kv_bytes
    t_mem = step_bytes / bandwidth
    t_cmp = 2.0 * params_active * batch / flops
    fixed_s, per_layer_s = STEP_OVERHEAD_S[kind]
    t_ovh = fixed_s + per_layer_s * layers if layers is not None else 0.0
    decode_step = max(t_mem, t_cmp, t_ovh)
    decode = batch / decode_step
    decode_bound: Bound = (
        "overhead-bound"
        if t_ovh > max(t_mem, t_cmp)
        else "memory-bound"
        if t_mem >= t_cmp
        else "compute-bound"
    )

    # Prefill: the whole prompt of every sequence in one pass.
    prompt_tokens = max(context, 1) * batch
    p_mem = weights / bandwidth
    p_cmp = 2.0 * params_active * prompt_tokens / flops
    prefill = prompt_tokens / max(p_mem, p_cmp)
    prefill_bound: Bound = "memory-bound" if p_mem >= p_cmp else "compute-bound"

    if generates:
        load_mem, load_cmp, rate, bound = t_mem, t_cmp, decode, decode_bound
    else:
        load_mem, load_cmp, rate, bound = p_mem, p_cmp, prefill, prefill_bound
    step = max(load_mem, load_cmp, t_ovh if generates else 0.0)
    share = MEMORY_BOUND_POWER_SHARE[kind]
    utilisation = min(1.0, share * load_mem / step + load_cmp / step)
    idle = min(hardware.idle_w, hardware.tdp_w)
    power = idle + utilisation * (hardware.tdp_w - idle)
    joules = power / rate

    confidence = _confidence(kind, moe, calibration is not None)
    method = _MethodText(
        hardware,
        kind,
        batch,
        step_bytes,
        eta_mem,
        params_active,
        eta_cmp,
        fixed_s,
        per_layer_s,
        layers,
        context,
        idle,
        utilisation,
        "decode" if generates else "forward pass",
        share,
        calibration,
    )
    return Estimate(
        decode_tokens_per_s=decode if generates else None,
        prefill_tokens_per_s=prefill,
        bound=bound,
        prefill_bound=prefill_bound,
        power_w=power,
        joules_per_token=joules,
        confidence=confidence,
        method_text=method,
        decode_efficiency=eta_mem,
        compute_efficiency=eta_cmp,
        bytes_per_step=step_bytes,
    )
