"""Memory after one hour of samples, and after two: bounded by the ring buffer.

Builds realistic 1 Hz samples (a :class:`CpuSample` with per-core readings and a temperature
sensor per core, RAPL zones and a fan, plus fully populated :class:`GpuSample` s) and appends
them one tick at a time through :func:`core.state.with_samples` into
``initial_state(interval_s=1.0, history_s=3600, source="live")``, as the App does. After one
hour (3,600 samples) and again after a second hour, it records the ``tracemalloc`` size of
what is still allocated and the process RSS. Each scenario (2 or 64 cores × 1 or 8 GPUs) runs
in a fresh interpreter, once with ``tracemalloc`` and once without (for RSS).

Usage::

    .venv/bin/python benchmarks/memory.py [--json F]
    .venv/bin/python benchmarks/memory.py --scenario 64x8 --mode trace   # one pass, JSON out
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import json_default, log, status_kib

SCENARIOS = ("2x1", "2x8", "64x1", "64x8")
"""``CORESxGPUS``."""

HOUR = 3600


def make_sample(t: float, cores: int, gpus: int, rng: random.Random) -> Any:
    """One realistic tick: every reading present, fresh objects (as psutil/NVML return)."""
    from core.telemetry.sample import (
        CoreReading,
        CpuSample,
        FanReading,
        GpuSample,
        PowerZone,
        Sample,
        TempSensor,
    )

    loads = [rng.uniform(0, 100) for _ in range(cores)]
    temps = tuple(
        TempSensor("coretemp", f"Core {i}", rng.uniform(35, 90), 85.0, 100.0) for i in range(cores)
    )
    cpu = CpuSample(
        package_temp_c=rng.uniform(40, 95),
        package_temp_high_c=85.0,
        package_temp_critical_c=100.0,
        package_power_w=rng.uniform(10, 250),
        package_energy_j=t * 120.0,
        zones=(
            PowerZone("package-0", rng.uniform(10, 250), t * 120.0),
            PowerZone("dram", rng.uniform(2, 20), t * 8.0),
        ),
        load_pct=sum(loads) / cores,
        freq_mhz=rng.uniform(800, 5000),
        freq_max_mhz=5000.0,
        cores=tuple(
            CoreReading(index=i, load_pct=loads[i], freq_mhz=rng.uniform(800, 5000))
            for i in range(cores)
        ),
        temps=(TempSensor("coretemp", "Package id 0", rng.uniform(40, 95), 85.0, 100.0), *temps),
        fans=(FanReading("nct6798", "fan1", rng.uniform(600, 2400)),),
        memory_used_bytes=rng.randrange(1 << 30, 1 << 36),
        memory_total_bytes=1 << 36,
    )
    gpu_samples = tuple(
        GpuSample(
            index=i,
            name="NVIDIA H100 80GB HBM3",
            power_instant_w=rng.uniform(60, 700),
            power_avg_w=rng.uniform(60, 700),
            power_limit_w=700.0,
            energy_mj=int(t * 400_000) + i,
            temp_c=rng.uniform(30, 85),
            mem_temp_c=rng.uniform(30, 90),
            slowdown_temp_c=87.0,
            shutdown_temp_c=92.0,
            sm_clock_mhz=rng.uniform(345, 1980),
            sm_clock_max_mhz=1980.0,
            mem_clock_mhz=2619.0,
            mem_clock_max_mhz=2619.0,
            util_gpu_pct=rng.uniform(0, 100),
            util_mem_pct=rng.uniform(0, 100),
            vram_used_bytes=rng.randrange(1 << 30, 80 << 30),
            vram_total_bytes=80 << 30,
            clock_event_reasons=rng.choice((0, 1, 4, 32)),
            violation_ns=(
                ("power", int(t * 1e6)),
                ("thermal", int(t * 1e5)),
                ("reliability", 0),
            ),
        )
        for i in range(gpus)
    )
    return Sample(t_s=t, cpu=cpu, gpus=gpu_samples)


def one_pass(scenario: str, mode: str) -> dict[str, Any]:
    """Two hours of samples into one state; sizes after each hour."""
    from core.state import initial_state, with_samples

    cores, gpus = (int(x) for x in scenario.split("x"))
    rng = random.Random(1234)
    gc.collect()
    if mode == "trace":
        tracemalloc.start()
    base_traced = tracemalloc.get_traced_memory()[0] if mode == "trace" else 0
    base_rss = status_kib_self("VmRSS")
    state = initial_state(interval_s=1.0, history_s=3600, source="live")
    out: dict[str, Any] = {"scenario": scenario, "mode": mode, "cores": cores, "gpus": gpus}
    t = 0.0
    start = time.perf_counter()
    for hour in (1, 2):
        for _ in range(HOUR):
            state = with_samples(state, [make_sample(t, cores, gpus, rng)])
            t += 1.0
        gc.collect()
        key = f"hour{hour}"
        out[f"{key}_samples_kept"] = len(state.telemetry.history)
        out[f"{key}_seq"] = state.telemetry.seq
        out[f"{key}_rss_kib"] = status_kib_self("VmRSS")
        if mode == "trace":
            out[f"{key}_traced_bytes"] = tracemalloc.get_traced_memory()[0] - base_traced
    out["base_rss_kib"] = base_rss
    out["seconds"] = time.perf_counter() - start
    if mode == "trace":
        out["peak_traced_bytes"] = tracemalloc.get_traced_memory()[1] - base_traced
        tracemalloc.stop()
    return out


def status_kib_self(key: str) -> int | None:
    """A ``kB`` field of this process's ``/proc/self/status``."""
    import os

    return status_kib(os.getpid(), key)


def measure(scenarios: tuple[str, ...] = SCENARIOS) -> dict[str, Any]:
    """Every scenario, each pass in a fresh interpreter."""
    results: dict[str, Any] = {"history_s": 3600, "interval_s": 1.0, "scenarios": {}}
    for scenario in scenarios:
        entry: dict[str, Any] = {}
        for mode in ("trace", "rss"):
            proc = subprocess.run(
                [sys.executable, __file__, "--scenario", scenario, "--mode", mode],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if proc.returncode != 0:
                entry[mode] = {"error": proc.stderr.strip().splitlines()[-1:]}
                continue
            entry[mode] = json.loads(proc.stdout)
        trace = entry.get("trace", {})
        if "hour1_traced_bytes" in trace:
            h1, h2 = trace["hour1_traced_bytes"], trace["hour2_traced_bytes"]
            entry["hour1_mib"] = h1 / 2**20
            entry["hour2_mib"] = h2 / 2**20
            entry["growth_pct"] = 100.0 * (h2 - h1) / h1
            entry["bytes_per_sample"] = h1 / HOUR
            entry["bounded"] = (
                h2 <= h1 * 1.01
                and trace["hour1_samples_kept"] == trace["hour2_samples_kept"] == HOUR
            )
        rss = entry.get("rss", {})
        if "hour1_rss_kib" in rss:
            entry["rss_hour1_mib"] = rss["hour1_rss_kib"] / 1024
            entry["rss_hour2_mib"] = rss["hour2_rss_kib"] / 1024
            entry["rss_base_mib"] = rss["base_rss_kib"] / 1024
        results["scenarios"][scenario] = entry
        if "hour1_mib" in entry:
            log(
                f"memory {scenario:5}: traced {entry['hour1_mib']:.1f} MiB after 1 h, "
                f"{entry['hour2_mib']:.1f} MiB after 2 h ({entry['growth_pct']:+.2f} %), "
                f"RSS {entry.get('rss_hour1_mib', 0):.1f} → {entry.get('rss_hour2_mib', 0):.1f} MiB"
            )
        else:
            log(f"memory {scenario:5}: failed: {entry}")
    return results


def main(argv: list[str] | None = None) -> int:
    """Command line: all scenarios (or one pass with ``--scenario``/``--mode``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=SCENARIOS)
    parser.add_argument("--mode", choices=("trace", "rss"), default="trace")
    parser.add_argument("--json", type=Path, help="write the raw results here")
    args = parser.parse_args(argv)
    if args.scenario:
        print(json.dumps(one_pass(args.scenario, args.mode)))
        return 0
    result = measure()
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=json_default))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
