"""The wheel carries styles/ and config/: install it into a fresh venv elsewhere and run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

HEADLESS = textwrap.dedent(
    """
    import asyncio, sys
    from tui.app import ThermalScoutApp
    from tui.screens.thermals import ThermalsScreen

    async def main():
        app = ThermalScoutApp()
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(100):
                if app.state.telemetry.seq and app.state.hardware.status == "ready":
                    break
                await asyncio.sleep(0.05)
            await pilot.press("2")
            await pilot.pause()
            assert isinstance(app.screen, ThermalsScreen), app.screen
            await pilot.press("q")
        print("headless-ok", app.state.telemetry.seq, app.state.hardware.status)

    asyncio.run(main())
    """
)


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_checkout(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = dist.glob("thermal_scout-*.whl")
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "styles/app.tcss" in names and "config/default.toml" in names
    assert "core/catalog/data/catalog.jsonl" in names
    assert "core/analysis/analyze.py" in names and "core/telemetry/sampler.py" in names
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(wheel)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    script = venv / "bin" / "thermal-scout"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, cwd=work, env=env, capture_output=True, text=True, timeout=120, check=False
        )

    version = run(str(script), "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("thermal-scout ")
    hardware = run(str(script), "hardware", "--json")
    assert hardware.returncode == 0, hardware.stderr
    assert json.loads(hardware.stdout)["cpu"]["logical_cores"] >= 1
    located = run(str(python), "-c", "import core; print(core.__file__)")
    assert str(ROOT) not in located.stdout, "the test must run the installed copy"
    headless = run(str(python), "-c", HEADLESS)
    assert headless.returncode == 0, headless.stderr[-3000:]
    assert "headless-ok" in headless.stdout
