"""Cost of one sampler tick, in-process.

Times ``LiveSource().read(t)`` (what the sampler thread does once per interval) with
``time.perf_counter_ns`` over many back-to-back ticks after one warm-up tick, then the pieces
(``CpuReader.read`` and ``GpuReader.read``) the same way, and finally a few ticks spaced as in
real use (caches cold-ish), since back-to-back ticks flatter the cost.

Usage::

    .venv/bin/python benchmarks/sampler_cost.py [--ticks 2000] [--json F]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import json_default, log, percentile


def time_calls(call: Callable[[float], object], ticks: int, spacing_s: float = 0.0) -> list[float]:
    """Microseconds per call of ``call(t)`` over ``ticks`` calls (after one warm-up call)."""
    origin = time.perf_counter()
    call(0.0)
    out: list[float] = []
    for _ in range(ticks):
        if spacing_s:
            time.sleep(spacing_s)
        now = time.perf_counter() - origin
        start = time.perf_counter_ns()
        call(now)
        out.append((time.perf_counter_ns() - start) / 1000.0)
    return out


def summary_us(values: list[float]) -> dict[str, Any]:
    """Median, p90, max and mean in µs."""
    return {
        "n": len(values),
        "median_us": statistics.median(values),
        "p90_us": percentile(values, 90),
        "max_us": max(values),
        "mean_us": statistics.fmean(values),
    }


CPU_FAMILIES = {
    "load": "_loads",
    "frequency": "_freqs",
    "temperatures": "_temps",
    "fans": "_fans",
    "memory": "_memory",
    "rapl": "_power",
    "battery": "_battery",
}
"""CpuReader's per-family methods (private: timed only where they exist under these names)."""


def cpu_families(reader: Any, ticks: int) -> dict[str, Any]:
    """Time each family of ``CpuReader.read`` on its own (best effort, internal methods)."""
    out: dict[str, Any] = {}
    for family, attr in CPU_FAMILIES.items():
        method = getattr(reader, attr, None)
        if not callable(method):
            continue
        if attr == "_power":
            out[family] = summary_us(time_calls(method, ticks))
        else:
            out[family] = summary_us(time_calls(lambda _t, m=method: m(), ticks))
    return out


def measure(ticks: int = 2000, spaced: int = 20, spacing_s: float = 0.25) -> dict[str, Any]:
    """Time the live source and its readers."""
    from core.nvml import PynvmlBackend
    from core.telemetry.cpu import CpuReader
    from core.telemetry.gpu import GpuReader
    from core.telemetry.sampler import LiveSource

    results: dict[str, Any] = {"ticks": ticks, "spaced_ticks": spaced, "spacing_s": spacing_s}
    source = LiveSource()
    try:
        results["live_source"] = summary_us(time_calls(source.read, ticks))
        if spaced:
            results["live_source_spaced"] = summary_us(time_calls(source.read, spaced, spacing_s))
        sample = source.read(0.0)[0]
        results["cores"] = len(sample.cpu.cores) if sample.cpu else 0
        results["gpus"] = len(sample.gpus)
    finally:
        source.close()

    cpu = CpuReader()
    results["cpu_reader"] = summary_us(time_calls(cpu.read, ticks))
    results["cpu_families"] = cpu_families(cpu, ticks)

    backend = PynvmlBackend()
    gpu = GpuReader(backend)
    try:
        results["gpu_reader"] = summary_us(time_calls(lambda _t: gpu.read(), ticks))
        reason = gpu.reason
        results["gpu_note"] = (
            f"no GPU read: {reason.reason}" if reason is not None else "NVIDIA GPU(s) read"
        )
    finally:
        backend.shutdown()
    return results


def main(argv: list[str] | None = None) -> int:
    """Command line: measure and print (optionally write JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=2000)
    parser.add_argument("--spaced", type=int, default=20, help="ticks 0.25 s apart")
    parser.add_argument("--json", type=Path, help="write the raw results here")
    args = parser.parse_args(argv)
    result = measure(args.ticks, args.spaced)
    for name in ("live_source", "live_source_spaced", "cpu_reader", "gpu_reader"):
        if name in result:
            s = result[name]
            log(
                f"{name:20} median {s['median_us']:8.1f} µs  p90 {s['p90_us']:8.1f} µs  "
                f"max {s['max_us']:8.1f} µs  (n={s['n']})"
            )
    for family, s in result.get("cpu_families", {}).items():
        log(f"  cpu: {family:14} median {s['median_us']:8.1f} µs  p90 {s['p90_us']:8.1f} µs")
    log(f"cores {result['cores']}, GPUs {result['gpus']}; {result['gpu_note']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=json_default))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
