"""Snapshot tests of every screen, deterministic (fixed hardware, replayed/scripted samples)."""

from __future__ import annotations

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
