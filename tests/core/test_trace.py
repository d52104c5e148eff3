"""Trace record/replay: the real H100 format as is, round trips, and every kind of bad file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import RecordError, TraceError
from core.telemetry.sample import CoreReading, CpuSample, GpuSample, Sample
from core.telemetry.trace import ReplaySource, TraceWriter, load_trace


def test_reads_the_h100_trace_as_is(h100_trace: Path) -> None:
    trace = load_trace(h100_trace)
    assert len(trace.samples) == 260
    assert trace.duration_s == pytest.approx(17.548)
    first = trace.samples[0].gpus[0]
    assert first.index == 0
    assert first.power_avg_w == pytest.approx(77.718)
    assert first.power_instant_w == pytest.approx(78.130)
    assert first.energy_mj == 2_344_527
    assert first.temp_c == 32.0
    assert first.clock_event_reasons == 1
    assert first.reason("vram_used_bytes") == "not in this trace"
    assert max(s.gpus[0].temp_c or 0 for s in trace.samples) == 56.0


def _write(tmp_path: Path, text: str, name: str = "t.jsonl") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD = '{"t_s": 0.0, "gpu": 0, "power_instant_mw": 1000, "energy_mj": 5}\n'


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="trace file not found"):
        load_trace(tmp_path / "nope.jsonl")


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="empty trace"):
        load_trace(_write(tmp_path, ""))


def test_malformed_line_names_file_and_line_strict(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD + "{not json}\n" + GOOD.replace("0.0", "1.0"))
    with pytest.raises(TraceError) as info:
        load_trace(path)
    assert info.value.line == 2
    assert str(info.value).startswith(f"{path}:2: not valid JSON")


def test_malformed_lines_skipped_with_count_in_replay(tmp_path: Path) -> None:
    body = GOOD + "[1, 2]\n" + '{"t_s": 1.0, "gpu": "x"}\n' + GOOD.replace("0.0", "2.0")
    trace = load_trace(_write(tmp_path, body), strict=False)
    assert len(trace.samples) == 2
    assert [line for line, _ in trace.skipped] == [2, 3]


def test_truncated_last_line(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD + '{"t_s": 1.0, "gpu": 0, "power_in')
    with pytest.raises(TraceError, match="truncated last line") as info:
        load_trace(path)
    assert info.value.line == 2
    assert len(load_trace(path, strict=False).samples) == 1


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"gpu": 0}', "'t_s'"),
        ('{"t_s": -1, "gpu": 0}', "'t_s'"),
        ('{"t_s": 0, "gpu": -2}', "GPU index"),
        ('{"t_s": 0, "gpu": 0, "temp_c": "hot"}', "'temp_c' must be a number"),
        ('{"t_s": 0, "gpu": 0, "energy_mj": 1.5}', "'energy_mj' must be an integer"),
        ('{"t_s": 0, "gpu": 0, "temp_c": true}', "'temp_c' must be a number"),
        ('{"t_s": 0}', "needs a 'gpu' index or a 'cpu' object"),
        ('{"t_s": 0, "cpu": 3}', "'cpu' must be an object"),
        ("NaN", "JSON object"),
    ],
)
def test_bad_lines_say_what_is_wrong(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(TraceError, match=message):
        load_trace(_write(tmp_path, line + "\n"))


def test_time_going_backwards_is_an_error(tmp_path: Path) -> None:
    body = GOOD.replace("0.0", "5.0") + GOOD
    with pytest.raises(TraceError, match="goes backwards"):
        load_trace(_write(tmp_path, body))


def test_only_bad_lines_is_an_error_even_when_lenient(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="no valid samples"):
        load_trace(_write(tmp_path, "garbage\nmore garbage\n"), strict=False)


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "bin.jsonl"
    path.write_bytes(b"\xff\xfe\x00garbage\n")
    with pytest.raises(TraceError, match="not UTF-8"):
        load_trace(path)


def test_round_trip_cpu_and_gpus(tmp_path: Path) -> None:
    cpu = CpuSample(
        package_temp_c=61.0,
        package_power_w=35.5,
        package_energy_j=120.0,
        load_pct=40.0,
        cores=(CoreReading(0, 30.0, None), CoreReading(1, 50.0, None)),
        battery_discharging=None,
        unavailable=(("fans", "no fans"),),
    )
    gpus = (
        GpuSample(0, name="RTX 4090", power_instant_w=300.5, energy_mj=1_000, temp_c=70.0),
        GpuSample(1, power_avg_w=100.0, clock_event_reasons=4, violation_ns=(("power", 9),)),
    )
    samples = [Sample(0.0, cpu, gpus), Sample(1.0, cpu, gpus)]
    writer = TraceWriter(tmp_path / "rec.jsonl")
    for sample in samples:
        writer.write(sample)
    writer.close()
    trace = load_trace(tmp_path / "rec.jsonl")
    assert len(trace.samples) == 2
    back = trace.samples[1]
    assert back.t_s == 1.0
    assert back.cpu is not None and back.cpu.package_temp_c == 61.0
    assert [c.load_pct for c in back.cpu.cores] == [30.0, 50.0]
    assert back.cpu.reason("fans") == "no fans"
    assert back.gpus[0].name == "RTX 4090"
    assert back.gpus[0].power_instant_w == pytest.approx(300.5)
    assert back.gpus[1].violation_ns == (("power", 9),)
    # every line is a complete JSON object in the H100 format
    lines = (tmp_path / "rec.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["power_instant_mw"] == 300_500


def test_writer_never_overwrites_and_checks_extension(tmp_path: Path) -> None:
    existing = tmp_path / "mine.jsonl"
    existing.write_text("precious\n")
    with pytest.raises(RecordError, match="already exists"):
        TraceWriter(existing)
    assert existing.read_text() == "precious\n"
    with pytest.raises(RecordError, match=r"\.jsonl .* or \.csv"):
        TraceWriter(tmp_path / "out.txt")


def test_csv_output(tmp_path: Path) -> None:
    writer = TraceWriter(tmp_path / "out.csv")
    writer.write(Sample(0.0, CpuSample(load_pct=5.0), (GpuSample(0, clock_event_reasons=4),)))
    writer.close()
    rows = (tmp_path / "out.csv").read_text().splitlines()
    assert rows[0].startswith("t_s,device,temp_c")
    assert rows[1].startswith("0.0,cpu,")
    assert rows[2].endswith("power-limited")


def test_replay_serves_on_the_injected_clock(h100_trace: Path) -> None:
    source = ReplaySource(load_trace(h100_trace))
    assert [s.t_s for s in source.read(0.0)] == [0.0]
    assert source.read(0.1) == []
    latest = source.read(5.0)
    assert len(latest) == 1 and latest[0].t_s <= 5.0
    assert not source.finished
    source.read(100.0)
    assert source.finished


def test_replay_every_sample_and_speed(h100_trace: Path) -> None:
    source = ReplaySource(load_trace(h100_trace), speed=2.0, every_sample=True)
    served = source.read(1.0)
    assert served[-1].t_s <= 2.0 and len(served) > 5
