"""The runner: the method's arithmetic, progress, and isolation of a child that fails or hangs."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

import psutil
import pytest

from core.bench.backends import BackendInfo, RunTiming
from core.bench.feed import PushFeed
from core.bench.runner import BenchRunner, Progress
from core.bench.workload import death_reason
from tests.bench.conftest import PowerSource, fake_plan


class FakeChild:
    """An in-process stand-in for the child: each run keeps the fake GPU busy for 0.1 s."""

    def __init__(self, busy: threading.Event) -> None:
        self.busy = busy
        self.runs = 0

    def __call__(self, config: dict[str, Any]) -> FakeChild:
        return self

    def start(self) -> None:
        pass

    def wait_ready(self, cancelled: threading.Event) -> BackendInfo:
        return BackendInfo("Fake GPU", "bfloat16", "random", 1)

    def run(
        self, prompt: int, new: int, cancelled: threading.Event, on_tokens: Any = None
    ) -> RunTiming:
        self.busy.set()
        start = time.perf_counter()
        time.sleep(0.02)
        first = time.perf_counter()
        time.sleep(0.08)
        if on_tokens is not None:
            on_tokens(new, time.perf_counter() - first)
        end = time.perf_counter()
        self.busy.clear()
        self.runs += 1
        return RunTiming(
            wall_s=end - start,
            tokens=new,
            prompt_tokens=prompt,
            ttft_s=first - start,
            prefill_s=first - start,
            decode_s=end - first,
            decode_tokens=new - 1,
        )

    def quit(self) -> None:
        pass

    def kill(self) -> None:
        pass

    def terminate(self) -> None:
        pass


def _descendants() -> list[psutil.Process]:
    alive = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.NoSuchProcess:
            pass
    return alive


def test_energy_per_token_gross_and_net_of_idle(busy: threading.Event) -> None:
    plan = fake_plan(
        device="cuda",
        new_tokens=10,
        repeat=2,
        warmup=1,
        baseline_s=0.6,
        min_window_s=0.6,
        cooldown_s=1.0,
        interval_s=0.02,
    )
    events: list[Progress] = []
    child = FakeChild(busy)
    runner = BenchRunner(
        plan, source=PowerSource(busy), on_progress=events.append, child_factory=child
    )
    result = runner.run()
    assert result.status == "ok", result.error
    assert len(result.windows) == 2
    for window in result.windows:
        assert window.duration_s >= 0.6
        assert window.tokens == 10 * len(window.runs)
        # the fake GPU draws 300 W while busy: gross ≈ 300 W × T / tokens
        assert window.energy.method == "nvml-counter"
        assert window.gross_joules_per_token == pytest.approx(
            300.0 * window.duration_s / window.tokens, rel=0.15
        )
    energy = result.energy
    assert energy is not None and energy.idle_power_w == pytest.approx(100.0, rel=0.05)
    assert energy.gross_joules_per_token is not None and energy.net_joules_per_token is not None
    # idle is a third of the load power: net ≈ 2/3 of gross
    assert energy.net_joules_per_token == pytest.approx(
        energy.gross_joules_per_token * 2 / 3, rel=0.1
    )
    assert not energy.window_valid
    assert energy.note is not None and "window too short" in energy.note
    assert energy.uncertainty is not None and energy.uncertainty > 0.2  # 0.6 s windows
    # the same windows by integrating instant power agree with the counter
    check = energy.components["instant_power"]
    assert check["method"] == "trapezoid(instant power)"
    assert abs(check["relative_difference_vs_counter"]) < 0.1
    # heat, throttling, clocks
    assert result.temperature is not None
    assert result.temperature.baseline_c == 40.0 and result.temperature.peak_c == 70.0
    assert result.throttled_fraction is not None and result.throttled_fraction > 0.8
    assert "sw_power_cap" in result.throttle_reasons
    assert result.clocks["max_mhz"] == 1980.0
    assert result.power is not None and result.power.avg_w == pytest.approx(300.0, rel=0.15)
    # speeds: 9 decode tokens in a bit more than 0.08 s (sleep never returns early)
    assert result.decode_tokens_per_s is not None
    assert 9 / 0.5 < result.decode_tokens_per_s <= 9 / 0.08
    assert result.ttft_s is not None and 0.02 <= result.ttft_s < 0.5
    # the method's phases, in order
    phases = [e.phase for e in events]
    assert phases[0] == "loading"
    order = ["loading", "baseline", "warmup", "run", "cooldown", "run", "finishing", "done"]
    seen = [p for i, p in enumerate(phases) if i == 0 or phases[i - 1] != p]
    assert seen == order
    json = result.to_json()
    assert json["energy"]["method"] == "nvml-counter"
    assert json["device"] == "cuda:0"


def test_the_app_can_feed_its_own_samples(busy: threading.Event) -> None:
    """No private sampler: the runner reads what the app pushes into a PushFeed."""
    from core.telemetry.sampler import Sampler

    feed = PushFeed()
    sampler = Sampler(PowerSource(busy), 0.02, feed.push)
    thread = threading.Thread(target=sampler.run, daemon=True)
    thread.start()
    try:
        plan = fake_plan(device="cuda", baseline_s=0.3, min_window_s=0.3)
        result = BenchRunner(plan, feed=feed, child_factory=FakeChild(busy)).run()
    finally:
        sampler.stop()
        thread.join()
    assert result.ok
    assert result.energy is not None and result.energy.method == "nvml-counter"
    assert result.energy.idle_power_w == pytest.approx(100.0, rel=0.05)
    assert result.windows[0].telemetry.samples >= 5


def test_no_energy_reading_is_reported_as_unavailable_with_the_reason() -> None:
    from core.telemetry.sample import CpuSample, Sample

    class NoSensors:
        label = "vm"
        finished = False

        def read(self, now_s: float) -> list[Sample]:
            reason = "no RAPL powercap interface (typical in VMs and containers)"
            cpu = CpuSample(load_pct=10.0, unavailable=(("package_energy_j", reason),))
            return [Sample(t_s=now_s, cpu=cpu)]

        def close(self) -> None:
            pass

    result = BenchRunner(fake_plan(baseline_s=0.2), source=NoSensors()).run()
    assert result.ok, result.error
    data = result.to_json()
    assert data["energy"]["method"] == "unavailable"
    assert "RAPL" in data["energy"]["reason"]
    assert data["energy"]["gross_joules_per_token"] is None
    assert data["energy"]["net_joules_per_token"] is None
    assert data["decode_tokens_per_s"] is not None  # speed is still measured


@pytest.mark.parametrize(
    ("backend", "kind", "words"),
    [
        ("Segfault", "died", ["SIGSEGV", "segmentation fault"]),
        ("HardExit", "died", ["status 1", "about to exit"]),
        ("OutOfMemory", "oom", ["out of memory", "MemoryError", "96 GiB"]),
        ("BrokenLoad", "error", ["mamba9"]),
        ("Missing", "missing", ["thermal-scout[fake]"]),
    ],
)
def test_a_failing_child_gives_a_failed_result_not_an_exception(
    backend: str, kind: str, words: list[str]
) -> None:
    result = BenchRunner(fake_plan(f"tests.bench.fake_backends:{backend}")).run()
    assert result.status == "failed"
    assert result.error_kind == kind
    for word in words:
        assert word in (result.error or ""), result.error
    assert result.to_json()["energy"]["method"] == "unavailable"
    assert _descendants() == []


def test_death_reasons() -> None:
    assert "out-of-memory" in death_reason(-9)
    assert "SIGSEGV" in death_reason(-11)
    assert "SIGABRT" in death_reason(-6)


@pytest.mark.parametrize(
    ("backend", "phase"),
    [("Endless", "run"), ("SlowLoad", "loading"), ("IgnoresTerm", "run")],
)
def test_cancel_stops_the_child_within_a_second(backend: str, phase: str) -> None:
    reached = threading.Event()

    def progress(event: Progress) -> None:
        if event.phase == phase and (phase == "loading" or event.tokens > 0):
            reached.set()

    runner = BenchRunner(fake_plan(f"tests.bench.fake_backends:{backend}"), on_progress=progress)
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(runner.run()))
    thread.start()
    assert reached.wait(20), "the run never got going"
    time.sleep(0.3)
    children = [p for p in _descendants()]
    assert children, "no child process was started"
    start = time.monotonic()
    runner.cancel()
    thread.join(5)
    took = time.monotonic() - start
    assert not thread.is_alive()
    assert results[0].status == "cancelled"
    assert took < 1.0, f"cancel took {took:.2f} s"
    assert _descendants() == []
    for proc in children:
        assert not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE


def test_cancel_before_start_starts_nothing() -> None:
    runner = BenchRunner(fake_plan())
    runner.cancel()
    assert runner.run().status == "cancelled"
    assert _descendants() == []


def test_command_backend_with_a_real_child_and_a_regex() -> None:
    code = "import time; time.sleep(0.05); print('loading...'); print('generated 7 tokens')"
    plan = fake_plan(
        "command",
        command=(sys.executable, "-c", code),
        token_regex=r"generated (\d+) tokens",
        min_window_s=0.3,
    )
    result = BenchRunner(plan).run()
    assert result.ok, result.error
    window = result.windows[0]
    assert len(window.runs) >= 2  # repeated until the window was long enough
    assert all(run.tokens == 7 for run in window.runs)
    assert window.runs[0].output_tail[-1] == "generated 7 tokens"
    assert result.decode_tokens_per_s is not None and result.decode_tokens_per_s > 0
    assert result.ttft_s is None  # a command has no time to first token


def test_command_with_a_given_token_count() -> None:
    plan = fake_plan("command", command=(sys.executable, "-c", "pass"), tokens=50)
    result = BenchRunner(plan).run()
    assert result.ok, result.error
    assert result.windows[0].runs[0].tokens == 50


@pytest.mark.parametrize(
    ("code", "regex", "words"),
    [
        ("import sys; print('boom: no model'); sys.exit(3)", None, ["status 3", "boom: no model"]),
        ("pass", r"(\d+) tokens", ["no output", "exit status 0"]),
        ("print('done')", r"(\d+) tokens", ["matched no line", "done"]),
    ],
)
def test_command_failures_report_status_and_last_lines(
    code: str, regex: str | None, words: list[str]
) -> None:
    plan = fake_plan("command", command=(sys.executable, "-c", code), token_regex=regex)
    result = BenchRunner(plan).run()
    assert result.status == "failed"
    for word in words:
        assert word in (result.error or ""), result.error


def test_a_missing_command_is_reported() -> None:
    plan = fake_plan("command", command=("/nonexistent/llama-bench",), tokens=5)
    result = BenchRunner(plan).run()
    assert result.status == "failed"
    assert "command not found: /nonexistent/llama-bench" in (result.error or "")


def test_a_broken_progress_callback_does_not_break_the_run() -> None:
    def broken(event: Progress) -> None:
        raise RuntimeError("widget gone")

    result = BenchRunner(fake_plan(), on_progress=broken).run()
    assert result.ok
    assert any("widget gone" in note for note in result.notes)


def test_child_environment_points_cuda_at_nvml_order() -> None:
    from core.bench.workload import child_environment

    env = child_environment({"PATH": os.environ.get("PATH", "")})
    assert env["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"
    assert env["HF_HUB_OFFLINE"] == "1"


def test_cancel_kills_the_whole_process_group_of_a_command() -> None:
    plan = fake_plan("command", command=("sleep", "30"), tokens=5)
    runner = BenchRunner(plan)
    results: list[Any] = []
    thread = threading.Thread(target=lambda: results.append(runner.run()))
    thread.start()
    deadline = time.monotonic() + 20
    tree: list[psutil.Process] = []
    while time.monotonic() < deadline:
        tree = _descendants()
        if any(p.name() == "sleep" for p in tree):
            break
        time.sleep(0.05)
    assert any(p.name() == "sleep" for p in tree), "the command never started"
    start = time.monotonic()
    runner.cancel()
    thread.join(5)
    assert time.monotonic() - start < 1.0
    assert results[0].status == "cancelled"
    for proc in tree:  # the benchmarked program too, not only the child
        assert not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
