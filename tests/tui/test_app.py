"""The app as a user drives it (Pilot), and the store's wiring (messages, watchers)."""

from __future__ import annotations

import asyncio
import gc
import threading
from pathlib import Path
from typing import Any

import pytest
from textual.message import Message

from core.config import Settings
from core.hwinfo import HardwareInfo
from core.telemetry.sample import CpuSample, Sample
from core.telemetry.trace import load_trace
from tests.tui.snapshot_app import SIZE, make_app, sensorless_vm, settle
from tui import app as app_module
from tui.app import ThermalScoutApp
from tui.cli import main
from tui.screens.hardware import HardwareScreen
from tui.screens.thermals import ThermalsScreen
from tui.widgets.thermal_panels import CpuReadings, GpuReadings, StatusLine


async def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


async def test_opens_on_hardware_and_switches_with_number_and_letter_keys() -> None:
    app = make_app("sensorless")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        assert isinstance(app.screen, HardwareScreen)
        for key, screen in (("2", ThermalsScreen), ("h", HardwareScreen), ("t", ThermalsScreen)):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, screen)
        await pilot.press("1")
        await pilot.pause()
        assert isinstance(app.screen, HardwareScreen)
        await pilot.press("q")
    assert app.return_code == 0


async def test_every_binding_has_an_id_and_a_tooltip() -> None:
    app = make_app("sensorless")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press("2")
        await pilot.pause()
        bindings = [b.binding for b in app.active_bindings.values() if b.binding.show]
        keys = {b.key for b in bindings}
        assert {"1", "2", "q", "r"} <= keys
        for binding in bindings:
            if binding.action.startswith(("switch_mode", "quit", "toggle_recording")):
                assert binding.id and binding.tooltip, binding


async def test_palette_lists_every_screen() -> None:
    app = make_app("sensorless")
    async with app.run_test(size=SIZE):
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Hardware screen (1 / h)" in titles
        assert "Thermals screen (2 / t)" in titles


async def test_sample_does_not_wake_hardware_watchers() -> None:
    app = make_app("sensorless")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        wakes = {"hardware": 0, "telemetry": 0}

        def count(name: str) -> Any:
            def callback(_: object) -> None:
                wakes[name] += 1

            return callback

        app.watch(app, "hardware", count("hardware"), init=False)
        app.watch(app, "telemetry", count("telemetry"), init=False)
        for t in range(3):
            app._queue_samples([Sample(t_s=100.0 + t, cpu=CpuSample(load_pct=1.0))])
            await pilot.pause()
        assert wakes["telemetry"] >= 1
        assert wakes["hardware"] == 0
        assert app.state.telemetry.latest is not None
        assert app.state.telemetry.latest.t_s == 102.0


async def test_samples_arrive_as_coalescing_messages() -> None:
    seen: list[Message] = []
    app = make_app("h100")
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await settle(app)
        await pilot.pause()
        sampled = [m for m in seen if isinstance(m, ThermalScoutApp.TelemetrySampled)]
        assert sampled, "the sampler posts TelemetrySampled"
        assert any(isinstance(m, ThermalScoutApp.HardwareDetected) for m in seen)
        assert app.state.telemetry.seq == 166  # every trace sample up to 12 s reached the store
        replacement = ThermalScoutApp.TelemetrySampled()
        assert sampled[0].can_replace(replacement)


async def test_unavailable_readings_show_their_reason() -> None:
    app = make_app("sensorless")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press("2")
        await pilot.pause()
        rows = app.screen.query_one(CpuReadings).build()
        assert rows.value("Temperature") == (
            "n/a · no temperature sensors exposed (no hwmon; typical in VMs and containers)"
        )
        assert rows.value("Power") == "n/a · RAPL energy_uj is root-only since CVE-2020-8694"
        shown = [str(line) for line in app.screen.query_one(CpuReadings).lines]
        assert any(line.startswith("Temperature") and "no hwmon" in line for line in shown)
        no_gpu = app.screen.query_one("#no-gpu")
        assert "NVML library not found" in str(no_gpu.render())


async def test_replay_shows_power_limited_in_words() -> None:
    app = make_app("h100")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press("t")
        await pilot.pause()
        readings = app.screen.query_one(GpuReadings)
        gpu = readings.gpu()
        assert gpu is not None and gpu.clock_event_reasons == 0x4
        assert readings.build().value("Throttle").startswith("power-limited")
        assert app.screen.query_one("#gpu-card-0").has_class("-throttled")
        status = str(app.screen.query_one(StatusLine).render())
        assert "replay: h100_bf16_matmul_load.jsonl" in status
        assert "replay ended" in status


class EndlessSource:
    label = "live"
    finished = False

    def read(self, now_s: float) -> list[Sample]:
        return [Sample(t_s=now_s, cpu=CpuSample(load_pct=50.0, package_temp_c=48.0))]

    def close(self) -> None:
        pass


async def test_record_toggle_writes_a_replayable_trace(tmp_path: Path) -> None:
    hardware = sensorless_vm()
    app = ThermalScoutApp(
        Settings(),
        interval_s=0.1,
        detector=lambda: hardware,
        source_factory=EndlessSource,
        recordings=tmp_path,
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await wait_for(lambda: app.state.telemetry.seq > 0)
        await pilot.press("r")
        await wait_for(lambda: app.state.telemetry.recording is not None)
        path = Path(app.state.telemetry.recording or "")
        start = app.state.telemetry.seq
        await wait_for(lambda: app.state.telemetry.seq >= start + 3)
        await pilot.press("r")
        await wait_for(lambda: app.state.telemetry.recording is None)
    trace = load_trace(path)
    assert path.parent == tmp_path
    assert len(trace.samples) >= 3
    assert trace.samples[0].cpu is not None and trace.samples[0].cpu.package_temp_c == 48.0


async def test_detection_failure_is_reported_and_sampling_goes_on() -> None:
    def broken() -> HardwareInfo:
        raise RuntimeError("lspci exploded")

    app = ThermalScoutApp(Settings(), interval_s=0.1, detector=broken, source_factory=EndlessSource)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.state.hardware.status == "failed")
        await wait_for(lambda: app.state.telemetry.seq > 0)
        assert app.state.hardware.error == "RuntimeError: lspci exploded"
        assert any("lspci exploded" in n.message for n in app._notifications)
        await pilot.press("2")
        await pilot.pause()
        assert isinstance(app.screen, ThermalsScreen)


async def test_quit_stops_the_sampler_thread() -> None:
    app = ThermalScoutApp(
        Settings(), interval_s=0.1, detector=sensorless_vm, source_factory=EndlessSource
    )
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: app.state.telemetry.seq > 0)
        sampler = app._sampler
        await pilot.press("q")
    assert sampler is not None and sampler.stopped


async def test_skipped_trace_lines_are_announced(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(
        '{"t_s": 0, "gpu": 0, "temp_c": 40}\nbroken\n{"t_s": 1, "gpu": 0, "temp_c": 41}\n'
    )
    trace = load_trace(path, strict=False)
    app = ThermalScoutApp(Settings(), interval_s=0.1, detector=sensorless_vm, trace=trace)
    async with app.run_test(size=SIZE):
        await wait_for(lambda: app.state.telemetry.finished)
        messages = [n.message for n in app._notifications]
        assert any("skipped 1 bad line(s); first at line 2" in m for m in messages)


async def test_per_core_frequency_shown_only_when_cores_differ() -> None:
    from core.telemetry.sample import CoreReading

    app = make_app("sensorless")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press("2")
        await pilot.pause()
        readings = app.screen.query_one(CpuReadings)
        differing = CpuSample(
            cores=(CoreReading(0, 50.0, 2400.0), CoreReading(1, 10.0, 800.0)),
            unavailable=(("package_temp_c", "x"),),
        )
        same = CpuSample(cores=(CoreReading(0, 50.0, 2400.0), CoreReading(1, 10.0, 2400.0)))

        def cores_cell(cpu: CpuSample) -> str:
            return readings._render_cpu(cpu).value("Cores")

        assert "2.4G" in cores_cell(differing) and "0.8G" in cores_cell(differing)
        assert "G" not in cores_cell(same)


async def test_unchanged_readings_are_not_repainted() -> None:
    """A sample that changes only the load repaints the load row, not the n/a rows."""
    app = make_app("sensorless")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press("2")
        await pilot.pause()
        readings = app.screen.query_one(CpuReadings)
        index = {str(line).split("  ")[0]: y for y, line in enumerate(readings.lines)}
        before = list(readings.lines)
        latest = app.state.telemetry.latest
        assert latest is not None and latest.cpu is not None
        from dataclasses import replace

        changed = replace(latest.cpu, load_pct=99.0)
        app._queue_samples([Sample(t_s=latest.t_s + 1, cpu=changed)])
        await pilot.pause()
        assert readings.lines[index["Load"]] != before[index["Load"]]
        assert readings.repainted == (index["Load"],)
        assert readings.lines[index["Temperature"]] == before[index["Temperature"]]
        assert "99%" in readings.render_line(index["Load"]).text.replace(" ", "")


async def test_models_screen_search_filter_sort_and_compare() -> None:
    from tui.screens.models import ModelsScreen
    from tui.widgets.model_detail import ModelDetail
    from tui.widgets.virtual_table import VirtualTable

    app = make_app("h100")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press("3")
        await wait_for(lambda: app.state.catalog.status == "ready")
        await pilot.pause()
        assert isinstance(app.screen, ModelsScreen)
        table = app.screen.query_one(VirtualTable)
        assert table.row_count == len(app.state.catalog.rows) >= 250
        # estimates are for the detected machine (the H100 of the fixture)
        assert app.state.catalog.hardware == "this machine"
        llama = next(r for r in app.state.catalog.rows if r.id == "meta-llama/Llama-3.1-8B")
        assert llama.analysis is not None and "H100" in llama.analysis.hardware.name
        await pilot.press("slash")
        await pilot.press(*"llama-3.1-8b")
        await pilot.pause()
        ids = [table._rows[i].id for i in table._order]
        assert ids and all("llama-3.1-8b" in i.lower() for i in ids)
        await pilot.press("enter")  # back to the table
        await pilot.pause()
        detail = app.screen.query_one(ModelDetail)
        assert detail.row is not None and detail.row.id in ids
        await pilot.press("c")
        await pilot.pause()
        assert app.state.comparison.ids == (detail.row.id,)
        await pilot.press("c")
        await pilot.pause()
        assert app.state.comparison.ids == ()


async def test_models_screen_reanalyses_for_what_if_hardware() -> None:
    from textual.widgets import Select

    app = make_app("h100")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press("m")
        await wait_for(lambda: app.state.catalog.status == "ready")
        app.screen.query_one("#select-hardware", Select).value = "RTX 3060 12GB"
        await wait_for(
            lambda: (
                app.state.catalog.hardware == "RTX 3060 12GB"
                and app.state.catalog.status == "ready"
            )
        )
        llama70 = [r for r in app.state.catalog.rows if r.id.endswith("Llama-3.1-70B")]
        small = next(r for r in app.state.catalog.rows if r.id == "openai-community/gpt2")
        assert small.analysis is not None and small.analysis.fit.level == "fits"
        for row in llama70:
            assert row.analysis is not None and row.analysis.fit.level == "too-tight"


async def test_terminal_watchdog_exits_when_the_tty_is_gone(monkeypatch: Any) -> None:
    """Under `make run` a closed terminal sends no SIGHUP; the watchdog notices instead."""
    import tui.app as app_module

    app = make_app("sensorless")
    async with app.run_test(size=SIZE):
        await settle(app)
        monkeypatch.setattr(app_module, "_terminal_fd", lambda: 0)
        monkeypatch.setattr(app_module.os, "isatty", lambda fd: True)
        app._check_terminal()
        assert app.is_running
        monkeypatch.setattr(app_module.os, "isatty", lambda fd: False)
        app._check_terminal()
        await asyncio.sleep(0.2)
    assert app.return_code == 0
    assert app._sampler is not None and app._sampler.stopped


async def test_models_screen_streams_hub_results(
    hub_server: Any, hub_online: Any, monkeypatch: Any
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", hub_server.url)
    app = make_app("h100")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press("3")
        await wait_for(lambda: app.state.catalog.status == "ready")
        catalog_count = len(app.state.catalog.rows)
        await pilot.press("slash", *"instruct", "enter")
        # the sample holds two pages of three models; the second is fetched via the Link header
        await wait_for(lambda: len(app.state.catalog.rows) == catalog_count + 6, timeout=15)
        hub_rows = [r for r in app.state.catalog.rows if r.source == "hub"]
        assert hub_rows and all(r.analysis is not None for r in hub_rows)
        # both pages arrived: the second request followed the Link header
        assert len(hub_server.seen("/api/models")) >= 2
        assert not app.state.catalog.notices


async def test_models_screen_hub_offline_is_one_notice() -> None:
    # tests/conftest.py sets HF_HUB_OFFLINE=1: the Hub is off, the catalog keeps working.
    app = make_app("h100")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press("3")
        await wait_for(lambda: app.state.catalog.status == "ready")
        await pilot.press("slash", *"llama", "enter")
        await wait_for(lambda: bool(app.state.catalog.notices))
        (notice,) = app.state.catalog.notices
        assert "offline" in notice.lower() and "\n" not in notice
        assert all(r.source == "catalog" for r in app.state.catalog.rows)
        assert len(app.state.catalog.rows) >= 250


async def test_models_screen_lists_the_local_cache() -> None:
    import os

    from tests.fakes.hf_cache import FakeHFCache
    from tui.widgets.model_detail import ModelDetail
    from tui.widgets.virtual_table import VirtualTable

    FakeHFCache(Path(os.environ["HF_HOME"]) / "hub").llama("org/tiny-llama")
    app = make_app("h100")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press("3")
        await wait_for(lambda: any(r.source == "cache" for r in app.state.catalog.rows))
        cached = [r for r in app.state.catalog.rows if r.source == "cache"]
        assert [r.id for r in cached] == ["org/tiny-llama"]
        assert cached[0].analysis is not None and "H100" in cached[0].analysis.hardware.name
        await pilot.press("slash", *"tiny-llama")
        await pilot.press("enter")
        await pilot.pause()
        table = app.screen.query_one(VirtualTable)
        assert [table._rows[i].id for i in table._order] == ["org/tiny-llama"]
        detail = app.screen.query_one(ModelDetail)
        assert detail.row is not None and detail.row.source == "cache"
        text = "".join(detail.render_line(y).text for y in range(detail.size.height))
        assert "Local cache" in text and "1 revision" in text
        assert "cache" in str(app.screen.query_one("#models-status").render())


async def test_compare_screen_best_in_row_remove_move_and_recommend() -> None:
    from textual.widgets import DataTable, Input, OptionList, Select

    from tui.screens.compare import CompareScreen

    app = make_app("h100")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press("4")
        assert isinstance(app.screen, CompareScreen)
        await wait_for(lambda: app.state.catalog.status == "ready")
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        assert "Nothing to compare yet" in str(table.get_row_at(0)[0])
        for model_id in ("Qwen/Qwen3-4B", "Qwen/Qwen3-8B", "Qwen/Qwen3-14B"):
            app.post_message(app_messages().CompareToggled(model_id))
        await wait_for(lambda: len(app.state.comparison.ids) == 3)
        await pilot.pause()
        assert [str(c.label) for c in table.columns.values()][1:] == [
            "Qwen3-4B",
            "Qwen3-8B",
            "Qwen3-14B",
        ]
        decode = [str(cell) for cell in table.get_row("decode_tokens_per_s")]
        assert "★" in decode[1] and "★" not in decode[2] + decode[3]  # the smallest is fastest
        weights = [str(cell) for cell in table.get_row("weights_bytes")]
        assert "★" in weights[1]
        # move the 14B left, then remove the 4B under the cursor
        table.move_cursor(column=3)
        await pilot.press("left_square_bracket")
        await wait_for(lambda: app.state.comparison.ids[1] == "Qwen/Qwen3-14B")
        await pilot.pause()
        assert table.cursor_column == 2  # the cursor followed the model
        table.move_cursor(column=1)
        await pilot.press("x")
        await wait_for(lambda: app.state.comparison.ids == ("Qwen/Qwen3-14B", "Qwen/Qwen3-8B"))
        # what-if hardware from the Compare screen re-analyses every row (both screens)
        app.screen.query_one("#compare-hardware", Select).value = "RTX 4090"
        await wait_for(
            lambda: app.state.catalog.hardware == "RTX 4090" and app.state.catalog.status == "ready"
        )
        await pilot.pause()
        assert "RTX 4090" in str(app.screen.query_one("#compare-status").render())
        # recommend, then add the first result to the comparison with Enter
        await pilot.press("r")
        assert isinstance(app.focused, Input)
        await pilot.press(*"summarise documents quietly", "enter")
        options = app.screen.query_one("#recommend-results", OptionList)
        await wait_for(lambda: options.option_count > 0)
        first = options.get_option_at_index(0).id
        assert first is not None
        options.focus()
        await pilot.press("enter")
        if first not in ("Qwen/Qwen3-14B", "Qwen/Qwen3-8B"):
            await wait_for(lambda: first in app.state.comparison.ids)
        summary = str(app.screen.query_one("#recommend-summary").render())
        assert "summarisation" in summary and "quietly" in summary


def app_messages() -> Any:
    from tui import messages

    return messages


async def test_registered_files_appear_in_the_models_browser(tmp_path: Path) -> None:
    from core.registry import register
    from tests.fakes.gguf_file import write_llama
    from tui.widgets.model_detail import ModelDetail
    from tui.widgets.virtual_table import VirtualTable

    model = tmp_path / "tiny-Q4_K_M.gguf"
    write_llama(model)
    register(model, name="my-tiny")
    app = make_app("h100")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press("3")
        await wait_for(lambda: any(r.source == "registry" for r in app.state.catalog.rows))
        (row,) = [r for r in app.state.catalog.rows if r.source == "registry"]
        assert row.id == "my-tiny" and row.analysis is not None
        await pilot.press("slash", *"my-tiny", "enter")
        await pilot.pause()
        table = app.screen.query_one(VirtualTable)
        assert [table._rows[i].id for i in table._order] == ["my-tiny"]
        detail = app.screen.query_one(ModelDetail)
        text = "".join(detail.render_line(y).text for y in range(detail.size.height))
        assert "Registered" in text and "gguf" in text and "ok" in text


async def test_register_a_file_from_the_models_screen(tmp_path: Path) -> None:
    from tests.fakes.gguf_file import write_llama
    from tui.screens.models import RegisterFile

    model = tmp_path / "from-tui-Q4_K_M.gguf"
    write_llama(model)
    (tmp_path / "notes.txt").write_text("not a model")
    app = make_app("h100")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press("3")
        await wait_for(lambda: app.state.catalog.status == "ready")
        await pilot.press("a")
        await wait_for(lambda: isinstance(app.screen, RegisterFile))
        await pilot.press(*str(model), "enter")
        await wait_for(lambda: any(r.source == "registry" for r in app.state.catalog.rows))
        (row,) = [r for r in app.state.catalog.rows if r.source == "registry"]
        assert row.id == "from-tui-Q4_K_M" and row.analysis is not None
        await pilot.press("a")
        await wait_for(lambda: isinstance(app.screen, RegisterFile))
        await pilot.press(*str(tmp_path / "notes.txt"), "enter")
        await wait_for(lambda: any("cannot register" in n for n in app.state.catalog.notices))
        (notice,) = [n for n in app.state.catalog.notices if "cannot register" in n]
        assert "notes.txt" in notice and "\n" not in notice


@pytest.fixture
def gc_off() -> Any:
    """The GC switched off, as the TUI command does; afterwards on again, nothing frozen."""
    gc.disable()
    yield
    gc.unfreeze()
    gc.enable()


def gc_test_app(detector: Any, *, gc_paused: bool) -> ThermalScoutApp:
    return ThermalScoutApp(
        Settings(),
        interval_s=0.1,
        detector=detector,
        source_factory=EndlessSource,
        gc_paused=gc_paused,
    )


@pytest.mark.usefixtures("gc_off")
async def test_start_up_gc_pause_ends_after_the_detected_hardware_is_painted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(app_module, "STARTUP_GC_LIMIT_S", 60.0)  # not the fallback
    app = gc_test_app(sensorless_vm, gc_paused=True)
    async with app.run_test(size=SIZE):
        await wait_for(lambda: app.state.hardware.status == "ready")
        await wait_for(gc.isenabled)
        # What start-up built is out of the GC's way from now on.
        assert gc.get_freeze_count() > 10_000


@pytest.mark.usefixtures("gc_off")
async def test_start_up_gc_pause_has_a_limit_when_detection_hangs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(app_module, "STARTUP_GC_LIMIT_S", 0.2)
    release = threading.Event()

    def hanging() -> HardwareInfo:
        release.wait(10)
        return sensorless_vm()

    app = gc_test_app(hanging, gc_paused=True)
    try:
        async with app.run_test(size=SIZE):
            await wait_for(gc.isenabled)
            assert app.state.hardware.status == "detecting"
    finally:
        release.set()


@pytest.mark.usefixtures("gc_off")
async def test_app_leaves_the_gc_alone_unless_told_it_is_paused() -> None:
    app = gc_test_app(sensorless_vm, gc_paused=False)
    async with app.run_test(size=SIZE):
        await wait_for(lambda: app.state.telemetry.seq > 0)
        await asyncio.sleep(0.1)
        assert not gc.isenabled()
        assert gc.get_freeze_count() == 0


@pytest.mark.usefixtures("gc_off")
def test_tui_command_pauses_the_gc_for_start_up_only(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_run(self: ThermalScoutApp) -> None:
        seen["enabled"] = gc.isenabled()
        seen["paused"] = self._gc_paused

    monkeypatch.setattr(ThermalScoutApp, "run", fake_run)
    assert main([]) == 0
    assert seen == {"enabled": False, "paused": True}
    assert gc.isenabled()
