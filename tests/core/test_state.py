"""The store's pure transitions: slices change only when their own data changes."""

from __future__ import annotations

from core.state import (
    initial_state,
    with_hardware,
    with_recording,
    with_samples,
    with_source_finished,
)
from core.telemetry.sample import Sample
from tests.tui.snapshot_app import sensorless_vm


def test_sample_changes_only_the_telemetry_slice() -> None:
    state = initial_state(interval_s=1.0, history_s=10.0, source="live")
    new = with_samples(state, [Sample(t_s=0.0), Sample(t_s=1.0)])
    assert new.hardware is state.hardware
    assert new.telemetry is not state.telemetry
    assert new.telemetry.seq == 2
    assert new.telemetry.latest is not None and new.telemetry.latest.t_s == 1.0
    assert [s.t_s for s in new.telemetry.history] == [0.0, 1.0]


def test_empty_batch_returns_the_same_state() -> None:
    state = initial_state(interval_s=1.0, history_s=10.0, source="live")
    assert with_samples(state, []) is state


def test_history_is_bounded_by_duration_over_interval() -> None:
    state = initial_state(interval_s=1.0, history_s=5.0, source="live")
    for t in range(20):
        state = with_samples(state, [Sample(t_s=float(t))])
    assert len(state.telemetry.history) == 5
    assert [s.t_s for s in state.telemetry.history] == [15.0, 16.0, 17.0, 18.0, 19.0]
    assert state.telemetry.seq == 20


def test_hardware_changes_only_the_hardware_slice() -> None:
    state = initial_state(interval_s=1.0, history_s=10.0, source="live")
    new = with_hardware(state, sensorless_vm())
    assert new.telemetry is state.telemetry
    assert new.hardware.status == "ready"
    assert new.hardware.info is not None


def test_recording_and_finish_transitions_are_idempotent() -> None:
    state = initial_state(interval_s=1.0, history_s=10.0, source="replay: x")
    assert with_recording(state, None) is state
    recording = with_recording(state, "/tmp/a.jsonl")
    assert recording.telemetry.recording == "/tmp/a.jsonl"
    finished = with_source_finished(state)
    assert finished.telemetry.finished
    assert with_source_finished(finished) is finished


def test_a_benchmark_run_changes_only_the_bench_slice_and_ignores_stale_runs() -> None:
    from types import SimpleNamespace

    from core.state import (
        MAX_BENCH_POINTS,
        with_bench_finished,
        with_bench_history,
        with_bench_planned,
        with_bench_planning,
        with_bench_progress,
    )

    state = with_bench_history(
        initial_state(interval_s=1.0, history_s=10.0, source="live"), ["old run"]
    )
    planning = with_bench_planning(state, "spec")
    assert planning.telemetry is state.telemetry and planning.hardware is state.hardware
    assert planning.bench.history == ("old run",) and planning.bench.busy
    running = with_bench_planned(planning, 1, "x on cpu", ("a note",), device="cpu")
    assert running.bench.status == "running" and running.bench.device == "cpu"
    events = [SimpleNamespace(phase="run", tokens_per_s=float(i)) for i in range(700)]
    events.append(SimpleNamespace(phase="cooldown", tokens_per_s=None))
    progressed = with_bench_progress(running, 1, events)
    assert len(progressed.bench.points) == MAX_BENCH_POINTS
    assert progressed.bench.points[-1] == 699.0  # the newest kept
    assert progressed.bench.progress.phase == "cooldown"
    done = with_bench_finished(progressed, 1, SimpleNamespace(status="cancelled", error=None))
    assert done.bench.status == "cancelled" and not done.bench.busy
    # a late event of the ended run, or of an older one, changes nothing
    assert with_bench_progress(done, 1, events) is done
    assert with_bench_finished(done, 1, SimpleNamespace(status="ok", error=None)) is done
    again = with_bench_planning(done, "spec 2")
    assert again.bench.generation == 2 and again.bench.result is None
    assert with_bench_planned(again, 1, "stale") is again
