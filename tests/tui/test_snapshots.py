"""Snapshot tests of every screen, deterministic (fixed hardware, replayed/scripted samples)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.tui.snapshot_app import SIZE, make_app, settle


async def _on_thermals(pilot: Any) -> None:
    await settle(pilot.app)
    await pilot.press("2")
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


async def _on_hardware(pilot: Any) -> None:
    await settle(pilot.app)
    await pilot.pause()


@pytest.mark.parametrize("scenario", ["h100", "sensorless"])
def test_hardware_screen(snap_compare: Any, scenario: str) -> None:
    assert snap_compare(make_app(scenario), terminal_size=SIZE, run_before=_on_hardware)


@pytest.mark.parametrize("scenario", ["h100", "sensorless"])
def test_thermals_screen(snap_compare: Any, scenario: str) -> None:
    assert snap_compare(make_app(scenario), terminal_size=SIZE, run_before=_on_thermals)


async def _on_models(pilot: Any) -> None:
    import asyncio

    await settle(pilot.app)
    await pilot.press("3")
    for _ in range(250):
        if pilot.app.state.catalog.status == "ready":
            break
        await asyncio.sleep(0.02)
    await pilot.pause()
    await pilot.press("down", "down")
    await pilot.pause()


def test_models_screen(snap_compare: Any) -> None:
    assert snap_compare(make_app("h100"), terminal_size=SIZE, run_before=_on_models)


COMPARED = ("meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen3-8B", "microsoft/phi-4")


async def _on_compare(pilot: Any) -> None:
    import asyncio

    from tui.messages import CompareToggled

    await settle(pilot.app)
    for model_id in COMPARED:
        pilot.app.post_message(CompareToggled(model_id))
    await pilot.press("4")
    for _ in range(250):
        if pilot.app.state.catalog.status == "ready":
            break
        await asyncio.sleep(0.02)
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


def test_compare_screen(snap_compare: Any) -> None:
    assert snap_compare(make_app("h100"), terminal_size=SIZE, run_before=_on_compare)


SNAPSHOT_CACHE = Path("/tmp/thermal-scout-snapshot/hf")
SCANNED_AT = 1_764_000_000.0  # 2025-11-24: ages below are relative to this


def _fixed_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache at a fixed path with fixed times, so the picture never changes."""
    import dataclasses
    import shutil

    import core.cache_manager as manager
    from tests.fakes.hf_cache import FakeHFCache

    shutil.rmtree(SNAPSHOT_CACHE.parent, ignore_errors=True)
    cache = FakeHFCache(SNAPSHOT_CACHE / "hub")
    day = 86_400.0
    cache.llama("meta-llama/Llama-3.2-1B", mtime=SCANNED_AT - 40 * day)
    repo, _ = cache.llama("Qwen/Qwen3-0.6B", weights=False, mtime=SCANNED_AT - 3 * day)
    repo.add_revision(
        {"config.json": b'{"model_type": "qwen3"}'}, refs=(), mtime=SCANNED_AT - 90 * day
    )
    repo.add_incomplete(b"x" * 4096)
    monkeypatch.setenv("HF_HOME", str(SNAPSHOT_CACHE))
    real_scan = manager.scan
    monkeypatch.setattr(
        manager,
        "scan",
        lambda *a, **k: dataclasses.replace(real_scan(*a, **k), scanned_at=SCANNED_AT),
    )


async def _on_cache(pilot: Any) -> None:
    await settle(pilot.app)
    await pilot.press("7")
    for _ in range(250):
        if pilot.app.state.cache.status == "ready":
            break
        await asyncio.sleep(0.02)
    await pilot.pause()
    await pilot.press("down", "down", "space")
    await pilot.pause()


def test_cache_screen(snap_compare: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _fixed_cache(monkeypatch)
    assert snap_compare(make_app("sensorless"), terminal_size=SIZE, run_before=_on_cache)


SNAPSHOT_PROFILES = Path("/tmp/thermal-scout-snapshot-profiles/config.toml")


def _fixed_profiles() -> Path:
    """The shipped configuration at a fixed path (the path shows in the status line)."""
    import shutil

    from core.paths import default_config_path

    shutil.rmtree(SNAPSHOT_PROFILES.parent, ignore_errors=True)
    SNAPSHOT_PROFILES.parent.mkdir(parents=True)
    shutil.copyfile(default_config_path(), SNAPSHOT_PROFILES)
    return SNAPSHOT_PROFILES


async def _profiles_steps(pilot: Any) -> None:
    """On the Profiles screen: open fast and type an invalid temperature (its message shows)."""

    def ready() -> bool:
        return bool(getattr(pilot.app.screen, "form_ready", False))

    for _ in range(250):
        if ready():
            break
        await asyncio.sleep(0.02)
    await pilot.press("up")
    for _ in range(250):
        if ready():
            break
        await asyncio.sleep(0.02)
    await pilot.press("enter", "tab", "3", "escape")
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


async def _on_profiles(pilot: Any) -> None:
    await settle(pilot.app)
    await pilot.press("5")
    await _profiles_steps(pilot)


def test_profiles_screen(snap_compare: Any) -> None:
    app = make_app("h100")
    app.config_path = _fixed_profiles()
    assert snap_compare(app, terminal_size=SIZE, run_before=_on_profiles)


SNAPSHOT_BENCH = Path("/tmp/thermal-scout-snapshot-bench/bench.sqlite3")


def fixed_bench_result() -> Any:
    """A finished H100 benchmark with fixed numbers (what a stored run looks like)."""
    from core.bench.energy import IdlePower
    from core.bench.plan import BenchSpec, Prediction
    from core.bench.runner import BenchResult, EnergySummary, Power, Temperature

    spec = BenchSpec(
        target="meta-llama/Llama-3.1-8B-Instruct",
        device="cuda:0",
        dtype="bfloat16",
        prompt_tokens=512,
        new_tokens=256,
        profile="balanced",
    )
    return BenchResult(
        status="ok",
        model="meta-llama/Llama-3.1-8B-Instruct",
        backend="transformers",
        device="cuda:0",
        dtype="bfloat16",
        spec=spec,
        fingerprint="h100-vm",
        hardware="NVIDIA H100 80GB HBM3 · Intel Xeon Platinum 8480+",
        started_at="2025-11-24T10:00:00+00:00",
        duration_s=94.0,
        ttft_s=0.0312,
        prefill_tokens_per_s=15_210.0,
        decode_tokens_per_s=52.4,
        decode_tokens_per_s_sustained=50.9,
        tokens_per_window=768,
        energy=EnergySummary(
            method="nvml-counter",
            gross_joules_per_token=4.31,
            net_joules_per_token=2.95,
            uncertainty=0.052,
            idle_power_w=69.8,
            window_s=15.1,
            window_valid=True,
        ),
        temperature=Temperature("GPU core (gpu0)", baseline_c=31.0, avg_c=48.6, peak_c=55.0),
        power=Power("NVML (gpu0)", idle_w=69.8, avg_w=219.4, peak_w=248.0),
        clocks={"avg_mhz": 1980.0, "min_mhz": 1755.0, "max_mhz": 1980.0},
        throttled_fraction=0.0,
        throttle_reasons={},
        predicted=Prediction(
            decode_tokens_per_s=171.2,
            prefill_tokens_per_s=39_800.0,
            power_w=520.0,
            joules_per_token=3.04,
            hardware="NVIDIA H100 80GB HBM3",
            precision="bf16",
            bound="memory-bound",
            confidence="medium",
            decode_range=(120.0, 220.0),
            fit_level="fits",
            required_bytes=17_000_000_000,
            available_bytes=84_000_000_000,
            method="roofline",
        ),
        measured_over_predicted=50.9 / 171.2,
        baseline=IdlePower(69.8, "counter", 0.05, 31.0, 10.0),
        notes=("eager attention without KV-cache reuse tricks: a lower bound for serving",),
    )


def _fixed_bench(monkeypatch: pytest.MonkeyPatch) -> None:
    """A benchmark history at a fixed path holding :func:`fixed_bench_result`."""
    import shutil

    import core.bench.store as store

    shutil.rmtree(SNAPSHOT_BENCH.parent, ignore_errors=True)
    monkeypatch.setattr(store, "default_path", lambda: SNAPSHOT_BENCH)
    store.BenchStore().add(fixed_bench_result())


async def _bench_steps(pilot: Any) -> None:
    """On the Benchmark screen: wait for the form and history; watch the GPU."""
    from textual.widgets import Select

    screen = pilot.app.screen
    for _ in range(250):
        if getattr(screen, "form_ready", False) and pilot.app.state.bench.history_loaded:
            break
        await asyncio.sleep(0.02)
    screen.query_one("#bench-device", Select).value = "cuda:0"
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


async def _on_bench(pilot: Any) -> None:
    await settle(pilot.app)
    await pilot.press("6")
    await _bench_steps(pilot)


def test_bench_screen(snap_compare: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _fixed_bench(monkeypatch)
    app = make_app("h100")
    app.config_path = _fixed_profiles()
    assert snap_compare(app, terminal_size=SIZE, run_before=_on_bench)
