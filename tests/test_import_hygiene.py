"""core/ never imports the UI, and start-up stays light (nothing heavy imported eagerly)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE_MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts) for path in (ROOT / "core").rglob("*.py")
)


def _modules_after(code: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return set(result.stdout.split())


@pytest.mark.parametrize("module", [m.removesuffix(".__init__") for m in CORE_MODULES])
def test_core_module_imports_no_ui(module: str) -> None:
    loaded = _modules_after(f"import {module}")
    assert not {"textual", "rich", "tui"} & {name.split(".")[0] for name in loaded}


def test_cli_imports_neither_textual_nor_the_hub() -> None:
    loaded = {name.split(".")[0] for name in _modules_after("import tui.cli")}
    assert "textual" not in loaded
    assert "huggingface_hub" not in loaded
    assert "torch" not in loaded


def test_app_start_up_does_not_import_the_hub_or_torch() -> None:
    modules = _modules_after("import tui.app")
    # the Models screen, the catalog and the analysis engine load when the screen first opens
    assert not {m for m in modules if m.startswith(("core.catalog", "core.analysis"))}
    assert "tui.screens.models" not in modules
    loaded = {name.split(".")[0] for name in modules}
    assert "textual" in loaded
    assert "huggingface_hub" not in loaded
    assert "torch" not in loaded
    assert "pydantic" not in loaded  # ~200 ms of import; settings use plain dataclasses


def test_ui_code_does_not_import_sensor_libraries() -> None:
    offenders = []
    for path in (ROOT / "tui").rglob("*.py"):
        text = path.read_text()
        for banned in ("import psutil", "import pynvml", "import huggingface_hub", "from psutil"):
            if banned in text:
                offenders.append(f"{path.relative_to(ROOT)}: {banned}")
    assert offenders == []
