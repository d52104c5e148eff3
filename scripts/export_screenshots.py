"""Write screenshots/*.svg from the same deterministic app factory the snapshot tests use.

Run with ``make screenshots``. The pictures show the committed H100 trace replayed on the
machine it was recorded on, and a sensor-less VM (no GPU, no hwmon, no RAPL) like CI.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The pictures must not depend on who takes them: no network, and an empty Hugging Face cache
# instead of the developer's own downloads (set before anything imports huggingface_hub).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="thermal-scout-screenshots-")
os.environ.pop("HF_HUB_CACHE", None)
os.environ.pop("HUGGINGFACE_HUB_CACHE", None)

from tests.tui.snapshot_app import SIZE, make_app, settle  # noqa: E402

SHOTS: list[tuple[str, str, str]] = [
    # (file name, scenario, key that opens the screen)
    ("hardware.svg", "h100", "1"),
    ("thermals.svg", "h100", "2"),
    ("hardware-sensorless.svg", "sensorless", "1"),
    ("thermals-sensorless.svg", "sensorless", "2"),
    ("models.svg", "h100", "3"),
    ("compare.svg", "h100", "4"),
    ("profiles.svg", "h100", "5"),
    ("bench.svg", "h100", "6"),
    ("cache.svg", "sensorless", "7"),
]


async def shoot(name: str, scenario: str, key: str, out: Path) -> None:
    """Open the app, go to the screen, wait until it is idle, save an SVG."""
    patch = None
    if key == "7":  # a small cache at a fixed path with fixed times, as in the snapshot test
        import pytest

        from tests.tui.test_snapshots import _fixed_cache

        patch = pytest.MonkeyPatch()
        _fixed_cache(patch)
    if key == "6":  # one stored run with fixed numbers, as in the snapshot test
        import pytest

        from tests.tui.test_snapshots import _fixed_bench

        patch = pytest.MonkeyPatch()
        _fixed_bench(patch)
    app = make_app(scenario)
    if key in ("5", "6"):  # the shipped configuration at a fixed path, as in the snapshot test
        from tests.tui.test_snapshots import _fixed_profiles

        app.config_path = _fixed_profiles()
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        if key == "4":  # something to compare: the same models as the snapshot test
            from tests.tui.test_snapshots import COMPARED
            from tui.messages import CompareToggled

            for model_id in COMPARED:
                app.post_message(CompareToggled(model_id))
        await pilot.press(key)
        for _ in range(250):  # the Models screen analyses the catalog in a worker
            if key == "7" and app.state.cache.status == "ready":
                break
            if key not in ("3", "4", "7") or app.state.catalog.status == "ready":
                break
            await asyncio.sleep(0.02)
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        if key == "7":
            await pilot.press("down", "down", "space")
            await pilot.pause()
        if key == "5":  # an invalid value and its message, as in the snapshot test
            from tests.tui.test_snapshots import _profiles_steps

            await _profiles_steps(pilot)
        if key == "6":  # the form and the history loaded; the GPU watched
            from tests.tui.test_snapshots import _bench_steps

            await _bench_steps(pilot)
        app.save_screenshot(filename=name, path=str(out))
    if patch is not None:
        patch.undo()


def main() -> int:
    out = ROOT / "screenshots"
    out.mkdir(exist_ok=True)
    runs: list[Callable[[], Awaitable[Any]]] = [
        (lambda n=n, s=s, k=k: shoot(n, s, k, out)) for n, s, k in SHOTS
    ]
    for run, (name, _, _) in zip(runs, SHOTS, strict=True):
        asyncio.run(run())
        print(f"wrote screenshots/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
