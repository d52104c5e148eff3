"""Test-wide isolation: no user config, no network, no real home directory."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.hub_server import FakeHub

# huggingface_hub reads its environment at import: set it before anything imports it.
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(autouse=True)
def _isolated_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Point the platform config/data/cache directories and HF_HOME at a temporary home."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("HF_HOME", str(home / ".cache" / "huggingface"))
    yield


@pytest.fixture
def h100_trace() -> Path:
    """The committed real H100 trace."""
    return ROOT / "tests" / "data" / "h100_bf16_matmul_load.jsonl"


@pytest.fixture
def hub_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """A loopback Hub on 127.0.0.1; ``HF_ENDPOINT`` points at it, telemetry is off.

    ``huggingface_hub`` reads its environment once, at import: the variables set here reach
    subprocesses (and a first import), while in-process tests pass ``endpoint=hub_server.url``
    and use :func:`hub_online`. Fails the test if the server was asked for the agent-harnesses
    registry (what huggingface_hub fetches when telemetry is on).
    """
    server = FakeHub().start()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    try:
        yield server
    finally:
        server.stop()
    assert server.seen("/api/agent-harnesses") == [], "telemetry request reached the fake Hub"


@pytest.fixture
def hub_online(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The already-imported huggingface_hub, online, with its cache in ``tmp_path``.

    The test-wide conftest sets ``HF_HUB_OFFLINE=1`` before anything imports huggingface_hub;
    this patches the constants the library read from it at import. Returns the cache directory.
    """
    from huggingface_hub import constants

    cache = tmp_path / "hf-home" / "hub"
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    return cache
