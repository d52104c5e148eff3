"""The benchmark history: round trip, calibration, measured values, damaged files."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from core.bench.errors import BenchError
from core.bench.plan import BenchSpec, Prediction
from core.bench.runner import BenchResult, EnergySummary, Power, Temperature
from core.bench.store import SCHEMA_VERSION, BenchStore, default_path


def _prediction(decode: float) -> Prediction:
    return Prediction(
        decode_tokens_per_s=decode,
        prefill_tokens_per_s=decode * 20,
        power_w=350.0,
        joules_per_token=350.0 / decode,
        hardware="H100 SXM 80GB",
        precision="bf16",
        bound="memory-bound",
        confidence="medium",
        decode_range=(decode * 0.6, decode * 1.6),
        fit_level="fits",
        required_bytes=17 * 10**9,
        available_bytes=80 * 10**9,
        method="roofline",
    )


def make_result(
    model: str = "meta-llama/Llama-3.1-8B",
    *,
    measured: float = 80.0,
    predicted: float | None = 100.0,
    window_s: float = 12.0,
    device: str = "cuda:0",
    backend: str = "transformers",
    fingerprint: str = "machine-a",
    started_at: str = "2026-01-01T10:00:00+00:00",
    status: str = "ok",
) -> BenchResult:
    return BenchResult(
        status=status,  # type: ignore[arg-type]
        model=model,
        backend=backend,
        device=device,
        dtype="bfloat16",
        spec=BenchSpec(target=model, backend=backend, profile="balanced"),
        fingerprint=fingerprint,
        hardware="Test CPU, 32 GiB RAM, NVIDIA H100",
        started_at=started_at,
        duration_s=60.0,
        ttft_s=0.05,
        prefill_tokens_per_s=5000.0,
        decode_tokens_per_s=measured * 1.05,
        decode_tokens_per_s_sustained=measured,
        energy=EnergySummary(
            "nvml-counter",
            gross_joules_per_token=4.2,
            net_joules_per_token=3.1,
            uncertainty=0.07,
            window_s=window_s,
            window_valid=window_s >= 10,
        ),
        temperature=Temperature("GPU core (gpu0)", 35.0, 61.0, 66.0),
        power=Power("NVML (gpu0)", 80.0, 336.0, 420.0),
        throttled_fraction=0.1,
        predicted=None if predicted is None else _prediction(predicted),
        measured_over_predicted=None if predicted is None else measured / predicted,
        telemetry_summary={"duration_s": 36.0, "samples": 180},
    )


def test_round_trip(tmp_path: Path) -> None:
    store = BenchStore(tmp_path / "bench.sqlite3")
    assert store.history() == []
    result = make_result()
    run_id = store.add(result)
    entry = store.get(run_id)
    assert entry is not None
    assert entry.model == "meta-llama/Llama-3.1-8B"
    assert entry.backend == "transformers" and entry.device == "cuda:0"
    assert entry.dtype == "bfloat16" and entry.profile == "balanced"
    assert entry.fingerprint == "machine-a"
    assert entry.decode_tokens_per_s_sustained == 80.0
    assert entry.gross_joules_per_token == 4.2 and entry.net_joules_per_token == 3.1
    assert entry.energy_method == "nvml-counter"
    assert entry.peak_temp_c == 66.0 and entry.avg_power_w == 336.0
    assert entry.predicted_decode_tokens_per_s == 100.0
    assert entry.measured_over_predicted == pytest.approx(0.8)
    assert entry.result["energy"]["method"] == "nvml-counter"
    assert entry.result["predicted"]["decode_tokens_per_s"] == 100.0
    assert entry.result["run_id"] == run_id
    assert entry.telemetry == {"duration_s": 36.0, "samples": 180}
    assert entry.label == "measured 80.0 tok/s (transformers, cuda:0, bfloat16)"
    with sqlite3.connect(tmp_path / "bench.sqlite3") as conn:
        assert conn.execute("SELECT value FROM meta").fetchone() == (str(SCHEMA_VERSION),)
        assert conn.execute("SELECT schema_version, created_at FROM runs").fetchone() == (
            SCHEMA_VERSION,
            "2026-01-01T10:00:00+00:00",
        )


def test_default_path_is_in_the_user_data_dir() -> None:
    path = default_path()
    assert path.name == "bench.sqlite3"
    assert "thermal-scout" in str(path)
    BenchStore().add(make_result())
    assert path.is_file()


@pytest.mark.parametrize("status", ["cancelled", "failed"])
def test_cancelled_and_failed_runs_are_not_stored(tmp_path: Path, status: str) -> None:
    store = BenchStore(tmp_path / "b.sqlite3")
    with pytest.raises(BenchError, match=f"a {status} benchmark is not stored"):
        store.add(make_result(status=status))
    assert store.history() == []


def test_calibration_is_the_median_ratio_on_this_machine(tmp_path: Path) -> None:
    store = BenchStore(tmp_path / "b.sqlite3")
    for measured in (70.0, 83.0, 90.0):
        store.add(make_result(measured=measured))
    store.add(make_result(measured=10.0, window_s=2.0))  # a smoke run: too short to count
    store.add(make_result(measured=50.0, fingerprint="machine-b"))  # another machine
    store.add(make_result(measured=20.0, device="cpu"))  # another device
    store.add(make_result(measured=60.0, predicted=None))  # nothing to compare with
    cal = store.calibration_for("machine-a", "cuda")
    assert cal is not None
    assert cal.factor == pytest.approx(0.83)
    assert cal.runs == 3 and cal.low == pytest.approx(0.7) and cal.high == pytest.approx(0.9)
    assert cal.label == "calibrated ×0.83 from 3 runs on this machine"
    assert store.calibration_for("machine-a", "cuda:0") == dataclasses.replace(cal, device="cuda:0")
    cpu = store.calibration_for("machine-a", "cpu")
    assert cpu is not None and cpu.factor == pytest.approx(0.2) and cpu.runs == 1
    assert store.calibration_for("machine-a", "cuda", backend="command") is None
    assert store.calibration_for("machine-c", "cuda") is None


def test_measured_values_for_the_catalog(tmp_path: Path) -> None:
    store = BenchStore(tmp_path / "b.sqlite3")
    assert store.measured_for("meta-llama/Llama-3.1-8B") is None
    store.add(make_result(measured=70.0, started_at="2026-01-01T10:00:00+00:00"))
    store.add(make_result(measured=75.0, started_at="2026-01-02T10:00:00+00:00"))
    store.add(make_result("Qwen/Qwen2.5-0.5B", measured=300.0))
    latest = store.measured_for("META-LLAMA/llama-3.1-8b")  # ids match case-insensitively
    assert latest is not None and latest.decode_tokens_per_s_sustained == 75.0
    assert store.measured_for("meta-llama/Llama-3.1-8B", fingerprint="machine-b") is None
    every = store.measured_models(fingerprint="machine-a")
    assert set(every) == {"meta-llama/llama-3.1-8b", "qwen/qwen2.5-0.5b"}
    assert every["meta-llama/llama-3.1-8b"].decode_tokens_per_s_sustained == 75.0
    assert [e.model for e in store.history(model="qwen/qwen2.5-0.5b")] == ["Qwen/Qwen2.5-0.5B"]
    assert len(store.history(limit=2)) == 2


def test_a_damaged_file_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(BenchError, match="move the file away"):
        BenchStore(path).history()


def test_a_file_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite3"
    store = BenchStore(path)
    store.add(make_result())
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),)
        )
    with pytest.raises(BenchError, match="newer Thermal Scout"):
        store.history()
