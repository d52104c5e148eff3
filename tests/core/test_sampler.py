"""The sampler: schedule, recording on its thread, faults that must not stop it."""

from __future__ import annotations

import threading
from pathlib import Path

from core.errors import RecordError
from core.telemetry.sample import Sample
from core.telemetry.sampler import Sampler
from core.telemetry.trace import TraceWriter, load_trace


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class ScriptedSource:
    label = "scripted"

    def __init__(self, fail_at: int | None = None, ticks: int | None = None) -> None:
        self.reads: list[float] = []
        self.fail_at = fail_at
        self.ticks = ticks
        self.closed = False

    @property
    def finished(self) -> bool:
        return self.ticks is not None and len(self.reads) >= self.ticks

    def read(self, now_s: float) -> list[Sample]:
        self.reads.append(now_s)
        if self.fail_at is not None and len(self.reads) == self.fail_at:
            raise RuntimeError("sensor vanished")
        return [Sample(t_s=now_s)]

    def close(self) -> None:
        self.closed = True


def test_tick_times_are_relative_to_the_first_tick() -> None:
    clock = FakeClock()
    got: list[Sample] = []
    sampler = Sampler(ScriptedSource(), 1.0, got.extend, clock=clock)
    sampler.tick()
    clock.now += 1.5
    sampler.tick()
    assert [s.t_s for s in got] == [0.0, 1.5]


def test_a_failing_read_is_reported_and_sampling_goes_on() -> None:
    errors: list[str] = []
    got: list[Sample] = []
    source = ScriptedSource(fail_at=2)
    sampler = Sampler(source, 1.0, got.extend, errors.append, clock=FakeClock())
    for _ in range(3):
        sampler.tick()
    assert len(got) == 2
    assert errors == ["telemetry read failed: RuntimeError: sensor vanished"]


def test_run_stops_when_the_source_finishes_and_closes_it() -> None:
    source = ScriptedSource(ticks=3)
    got: list[Sample] = []
    sampler = Sampler(source, 0.001, got.extend)
    sampler.run()
    assert len(got) == 3 and source.closed


def test_stop_from_another_thread_ends_within_an_interval() -> None:
    source = ScriptedSource()
    sampler = Sampler(source, 0.05, lambda samples: None)
    thread = threading.Thread(target=sampler.run)
    thread.start()
    threading.Timer(0.2, sampler.stop).start()
    thread.join(timeout=2)
    assert not thread.is_alive()
    assert 2 <= len(source.reads) <= 8


def test_recording_writes_on_the_sampler_thread_and_round_trips(tmp_path: Path) -> None:
    clock = FakeClock()
    sampler = Sampler(ScriptedSource(), 1.0, lambda s: None, clock=clock)
    writer = TraceWriter(tmp_path / "r.jsonl")
    sampler.set_recorder(writer)
    sampler.tick()
    clock.now += 1
    sampler.tick()
    previous = sampler.set_recorder(None)
    assert previous is writer
    writer.close()
    # Samples without CPU or GPU write no lines; the file exists and is empty but valid so far.
    assert (tmp_path / "r.jsonl").exists()


class BrokenWriter(TraceWriter):
    def __init__(self) -> None:
        self.closed = False
        self.samples_written = 0

    def write(self, sample: Sample) -> None:
        raise RecordError("r.jsonl: write failed (No space left on device)")

    def close(self) -> None:
        self.closed = True


def test_a_failing_recording_stops_recording_not_sampling() -> None:
    errors: list[str] = []
    got: list[Sample] = []
    sampler = Sampler(ScriptedSource(), 1.0, got.extend, errors.append, clock=FakeClock())
    broken = BrokenWriter()
    sampler.set_recorder(broken)
    sampler.tick()
    sampler.tick()
    assert len(got) == 2
    assert broken.closed
    assert errors == ["recording stopped: r.jsonl: write failed (No space left on device)"]
    assert sampler.set_recorder(None) is None


def test_replay_through_the_sampler_records_an_identical_trace(
    h100_trace: Path, tmp_path: Path
) -> None:
    from core.telemetry.trace import ReplaySource

    clock = FakeClock()
    source = ReplaySource(load_trace(h100_trace), every_sample=True)
    sampler = Sampler(source, 1.0, lambda s: None, clock=clock)
    sampler.set_recorder(TraceWriter(tmp_path / "copy.jsonl"))
    while not source.finished:
        sampler.tick()
        clock.now += 1.0
    recorder = sampler.set_recorder(None)
    assert recorder is not None
    recorder.close()
    copy = load_trace(tmp_path / "copy.jsonl")
    original = load_trace(h100_trace)
    assert [s.gpus[0].energy_mj for s in copy.samples] == [
        s.gpus[0].energy_mj for s in original.samples
    ]
