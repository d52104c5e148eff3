"""Summaries of a window of samples: the ``thermal-scout monitor --json`` contract.

Example output (H100 trace)::

    {"duration_s": 17.548, "samples": 260, "source": "replay: ...", "cpu": null,
     "gpus": [{"index": 0, "name": null, "energy_j": 6447.6, "energy_method": "nvml-counter",
               "energy_uncertainty": 0.061, "avg_power_w": 367.4, "max_power_w": 792.1,
               "max_temp_c": 56.0, "throttled_fraction": 0.47,
               "throttle_reasons": {"gpu_idle": 0.5, "sw_power_cap": 0.47}}]}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.telemetry.energy import (
    EnergyResult,
    cpu_energy,
    gpu_energy,
    gpu_series,
    max_of,
    mean_of,
    throttle_stats,
)
from core.telemetry.sample import Sample


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _energy_fields(result: EnergyResult) -> dict[str, Any]:
    return {
        "energy_j": _round(result.joules),
        "energy_method": result.method,
        "energy_uncertainty": _round(result.relative_uncertainty),
        "energy_window_valid": result.valid,
        "energy_note": result.note,
    }


def summarize(samples: Sequence[Sample], source: str = "live") -> dict[str, Any]:
    """Summarise samples for scripts: duration, energy with its method, power, heat, throttling.

    Args:
        samples: Ticks in time order.
        source: Where they came from (``"live"``, ``"replay: FILE"``).

    Returns:
        A JSON-ready dict (see the module docstring).
    """
    duration = samples[-1].t_s - samples[0].t_s if len(samples) >= 2 else 0.0
    out: dict[str, Any] = {
        "duration_s": round(duration, 3),
        "samples": len(samples),
        "source": source,
        "cpu": None,
        "gpus": [],
    }
    cpus = [s.cpu for s in samples if s.cpu is not None]
    if cpus:
        energy = cpu_energy(samples)
        last = cpus[-1]
        out["cpu"] = {
            "max_temp_c": _round(max_of([c.package_temp_c for c in cpus]), 1),
            "avg_load_pct": _round(mean_of([c.load_pct for c in cpus]), 1),
            "max_load_pct": _round(max_of([c.load_pct for c in cpus]), 1),
            "avg_power_w": _round(energy.avg_power_w),
            "max_power_w": _round(max_of([c.package_power_w for c in cpus])),
            **_energy_fields(energy),
            "unavailable": dict(last.unavailable),
        }
    indices = sorted({g.index for s in samples for g in s.gpus})
    for index in indices:
        times, gpus = gpu_series(samples, index)
        energy = gpu_energy(gpus, times)
        throttle = throttle_stats(
            list(zip(times, [g.clock_event_reasons for g in gpus], strict=True))
        )
        name = next((g.name for g in gpus if g.name), None)
        powers = [
            g.power_instant_w if g.power_instant_w is not None else g.power_avg_w for g in gpus
        ]
        out["gpus"].append(
            {
                "index": index,
                "name": name,
                **_energy_fields(energy),
                "avg_power_w": _round(energy.avg_power_w),
                "max_power_w": _round(max_of(powers)),
                "max_temp_c": _round(max_of([g.temp_c for g in gpus]), 1),
                "throttled_fraction": _round(throttle.throttled_fraction),
                "throttle_reasons": {k: round(v, 3) for k, v in throttle.reasons.items()},
                "lost": any(g.lost for g in gpus),
            }
        )
    return out
