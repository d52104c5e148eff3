"""The Benchmark screen with Pilot: a real command end to end, cancel, a refused plan, torch.

The app samples a scripted sensor-less machine (no RAPL, no hwmon, no GPU) every 0.2 s, so the
benchmark reads the app's own samples through its push feed, as it does live.
"""

from __future__ import annotations

import importlib.util
import shlex
import sys
import time
from typing import Any

import psutil
import pytest
from textual.widgets import DataTable, Input, Select

from core.bench.store import BenchStore
from core.config import Settings
from core.telemetry.sample import Sample
from tests.tui.snapshot_app import SIZE, sensorless_samples, sensorless_vm, settle
from tests.tui.test_app import wait_for
from tui.app import ThermalScoutApp


class SensorlessLive:
    """A live-looking source: one scripted sensor-less sample per tick, at the tick's time."""

    label = "live"
    finished = False

    def __init__(self) -> None:
        self.template = sensorless_samples(1)[0]

    def read(self, now_s: float) -> list[Sample]:
        return [Sample(t_s=now_s, cpu=self.template.cpu)]

    def close(self) -> None:
        """Nothing to release."""


def _app() -> ThermalScoutApp:
    return ThermalScoutApp(
        Settings(),
        interval_s=0.2,
        detector=sensorless_vm,
        source_factory=SensorlessLive,
        source_label="live",
    )


async def _open(app: ThermalScoutApp, pilot: Any) -> Any:
    from tui.screens.bench import BenchScreen

    await settle(app)
    await pilot.press("6")
    screen = app.screen
    assert isinstance(screen, BenchScreen)
    await wait_for(lambda: screen.form_ready)
    await wait_for(lambda: app.state.bench.history_loaded)
    await pilot.pause()
    return screen


def _fill(screen: Any, **values: str) -> None:
    """Set form fields by id suffix (``backend="command"``, ``min_window="0"`` …)."""
    for name, value in values.items():
        widget = screen.query_one(f"#bench-{name.replace('_', '-')}")
        if isinstance(widget, Select):
            widget.value = value
        else:
            assert isinstance(widget, Input)
            widget.value = value


def _quick(screen: Any, **values: str) -> None:
    _fill(screen, **{"repeat": "1", "baseline": "0", "min_window": "0", "cooldown": "0", **values})


def _python(code: str) -> str:
    return shlex.join([sys.executable, "-c", code])


def _children() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if p.is_running()]


def _text(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector).render())


async def test_a_command_end_to_end_shows_the_result_and_stores_it() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot)
        _quick(
            screen,
            model="my-llama-run",
            backend="command",
            command=_python("import time; print('128 tokens', flush=True); time.sleep(1)"),
            token_regex=r"(\d+) tokens",
        )
        await pilot.pause()
        assert not screen.query_one("#bench-command", Input).disabled
        await pilot.press("ctrl+r")
        await wait_for(lambda: app.state.bench.status == "running", timeout=10)
        await wait_for(lambda: app.state.bench.status != "running", timeout=30)
        bench = app.state.bench
        assert bench.status == "done", bench.error
        assert bench.points  # the live tok/s chart had points
        await wait_for(lambda: len(app.state.bench.history) == 1)
        await pilot.pause()
        card = screen.card_text
        assert "tok/s sustained" in card
        rate = bench.result.decode_tokens_per_s_sustained
        assert rate is not None and 40 < rate < 140  # 128 tokens in about a second
        assert "Energy" in card and "unavailable: no CPU energy counter" in card
        assert "root-only" in card  # the reason, from the app's own samples
        assert f"stored as run {bench.stored_id}" in _text(screen, "#bench-status")
        table = screen.query_one("#bench-history", DataTable)
        assert table.row_count == 1
        assert "my-llama-run" in [str(c) for c in table.get_row_at(0)]
        table.focus()
        await pilot.press("enter")  # the stored run, as the history keeps it
        await pilot.pause()
        assert str(screen.query_one("#bench-result").border_title).startswith(
            f"Run {bench.stored_id}: my-llama-run"
        )
        assert "unavailable: no CPU energy counter" in screen.card_text
    assert len(BenchStore().history()) == 1


async def test_cancel_stops_the_child_within_a_second_and_stores_nothing() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot)
        _quick(
            screen,
            model="sleeper",
            backend="command",
            command=_python("import time; time.sleep(30)"),
        )
        await pilot.press("ctrl+r")
        await wait_for(
            lambda: getattr(app.state.bench.progress, "phase", None) == "run", timeout=15
        )
        await wait_for(lambda: len(_children()) >= 2)  # the workload and the command it runs
        await pilot.press("escape")
        started = time.monotonic()
        await wait_for(lambda: app.state.bench.status == "cancelled", timeout=3)
        assert time.monotonic() - started < 1.5
        await wait_for(lambda: not _children(), timeout=3)
        await pilot.pause()
        assert "cancelled; nothing stored" in _text(screen, "#bench-status")
        assert app.state.bench.result.status == "cancelled"
        assert app.state.bench.stored_id is None
    assert BenchStore().history() == []


async def test_quit_during_a_run_leaves_no_child_behind() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot)
        _quick(screen, backend="command", command=_python("import time; time.sleep(30)"))
        await pilot.press("ctrl+r")
        await wait_for(lambda: len(_children()) >= 2, timeout=15)
        await pilot.press("q")
    assert not _children()
    assert BenchStore().history() == []


@pytest.mark.skipif(
    importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None,
    reason="the transformers backend is not installed (its missing extra is refused first)",
)
async def test_a_model_too_large_is_refused_with_the_numbers_and_nothing_runs() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot)
        _fill(screen, model="meta-llama/Llama-3.1-70B", backend="transformers", device="cpu")
        await pilot.press("ctrl+r")
        await wait_for(lambda: app.state.bench.status == "failed", timeout=15)
        await pilot.pause()
        error = app.state.bench.error or ""
        assert "does not fit on cpu" in error and "GB" in error and "--force" in error
        assert "\n" not in error
        assert "does not fit" in _text(screen, "#bench-status")
        assert app.state.bench.result is None  # nothing ran
        assert not _children()
    assert BenchStore().history() == []


async def test_a_bad_form_value_is_one_line_and_nothing_starts() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot)
        _fill(screen, repeat="0")
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert "Repeat must be at least 1" in _text(screen, "#bench-status")
        assert app.state.bench.status == "idle"


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None,
    reason="needs the bench extra (torch, transformers)",
)
async def test_transformers_with_a_tiny_catalog_model_on_cpu() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(app, pilot)
        _quick(
            screen,
            model="distilbert/distilgpt2",
            backend="transformers",
            device="cpu",
            prompt_tokens="8",
            new_tokens="4",
        )
        await pilot.press("ctrl+r")
        await wait_for(lambda: app.state.bench.status not in ("planning", "running"), timeout=60)
        bench = app.state.bench
        assert bench.status == "done", bench.error
        assert bench.result.decode_tokens_per_s and bench.result.prefill_tokens_per_s
        assert bench.result.predicted is not None
        await pilot.pause()
        card = screen.card_text
        assert "predicted" in card and "×" in card


async def test_a_stored_run_reaches_the_analysed_catalog_rows_as_measured() -> None:
    app = _app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press("3")  # the Models screen analyses the catalog
        await wait_for(lambda: app.state.catalog.status == "ready", timeout=30)
        generation = app.state.catalog.generation

        def gpt2() -> Any:
            rows = [r for r in app.state.catalog.rows if r.id == "openai-community/gpt2"]
            return rows[0] if rows else None

        assert gpt2() is not None and not gpt2().measured
        screen = await _open(app, pilot)
        _quick(
            screen,
            model="openai-community/gpt2",
            backend="command",
            command=_python("print('64 tokens')"),
            token_regex=r"(\d+) tokens",
        )
        await pilot.press("ctrl+r")
        await wait_for(lambda: app.state.bench.status not in ("planning", "running"), timeout=30)
        assert app.state.bench.status == "done", app.state.bench.error
        assert "predicted" in screen.card_text  # a catalog id gives the prediction and ratio
        await wait_for(lambda: app.state.catalog.generation > generation, timeout=30)
        await wait_for(lambda: gpt2() is not None and gpt2().measured, timeout=30)
