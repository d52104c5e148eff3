"""``thermal-scout bench``: run a model (or any command) while monitoring thermals and energy.

::

    thermal-scout bench TARGET [--backend transformers|onnxruntime|command] [--device cpu|cuda]
        [--dtype D] [--prompt-tokens N] [--tokens N] [--repeat N] [--cooldown S]
        [--min-window S] [--baseline S] [--force] [--json] [-- COMMAND ...]
    thermal-scout bench history [--model ID] [--limit N] [--json]

The result is stored in the benchmark history (``--no-save`` skips that). Progress goes to
standard error, the result to standard output. Ctrl-C (or SIGTERM) cancels: the workload's
process group is killed within a second, nothing is stored, and the exit status is 130.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
import threading
import time
from typing import Any, TextIO

from core.errors import ThermalScoutError

BACKEND_CHOICES = ("transformers", "onnxruntime", "command")


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def _count0(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, got {text}")
    return value


class _BenchParser(argparse.ArgumentParser):
    """Takes everything after the first ``--`` as the command, whatever options precede it.

    argparse alone binds a ``nargs="*"`` positional as soon as it can (to nothing, when options
    follow TARGET) and then rejects the words after ``--`` as unrecognised.
    """

    def parse_known_args(  # type: ignore[override]
        self, args: list[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        words = list(sys.argv[1:] if args is None else args)
        command: list[str] = []
        if "--" in words:
            cut = words.index("--")
            words, command = words[:cut], words[cut + 1 :]
        parsed, extras = super().parse_known_args(words, namespace)
        if command:
            parsed.argv = [*getattr(parsed, "argv", []), *command]
        return parsed, extras


def add_bench_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``bench`` to the ``thermal-scout`` subcommands."""
    bench: argparse.ArgumentParser = commands.add_parser(
        "bench",
        help="benchmark a model or a command while monitoring thermals, power and energy",
        description=(
            "Measure idle, warm up, then run the workload in measured windows (≥ 10 s each for "
            "a valid energy figure) with cooldowns between them; report time to first token, "
            "prefill and decode tokens/s, energy per token (gross and net of idle), "
            "temperature, power and throttling next to the prediction. "
            "'thermal-scout bench history' lists stored results."
        ),
    )
    bench.__class__ = _BenchParser
    bench.add_argument(
        "target",
        metavar="TARGET",
        help="catalog id, config.json or model directory (transformers); .onnx file "
        "(onnxruntime); the model's name (command); or 'history'",
    )
    bench.add_argument("--backend", choices=BACKEND_CHOICES, help="default: from TARGET")
    bench.add_argument(
        "--device", metavar="DEV", help="cpu, cuda or cuda:N (default: cpu; a command: the GPU)"
    )
    bench.add_argument(
        "--dtype", metavar="D", help="float32, bfloat16 or float16 (default: fp32 CPU, bf16 GPU)"
    )
    bench.add_argument("--prompt-tokens", metavar="N", type=_count, default=128)
    bench.add_argument(
        "--tokens",
        metavar="N",
        type=_count,
        help="tokens generated per run (default 128); for a command: the tokens it generates",
    )
    bench.add_argument("--repeat", metavar="N", type=_count, default=3, help="measured windows")
    bench.add_argument("--warmup", metavar="N", type=_count0, help="warm-up runs (default 1)")
    bench.add_argument(
        "--cooldown", metavar="S", type=_seconds, default=30.0, help="longest cooldown (30)"
    )
    bench.add_argument(
        "--cooldown-margin", metavar="C", type=float, default=2.0, help="°C above idle (2)"
    )
    bench.add_argument(
        "--min-window", metavar="S", type=_seconds, default=10.0, help="window length (10)"
    )
    bench.add_argument("--baseline", metavar="S", type=_seconds, default=10.0, help="idle (10)")
    bench.add_argument("--batch", metavar="N", type=_count, default=1, help="onnxruntime batch")
    bench.add_argument(
        "--weights",
        choices=("random", "cache"),
        default="random",
        help="random weights from the config (default) or the local Hugging Face cache",
    )
    bench.add_argument("--model", metavar="ID", help="catalog id for the prediction")
    bench.add_argument(
        "--token-regex", metavar="RE", help="finds the token count in a command's output"
    )
    bench.add_argument("--threads", metavar="N", type=_count, help="CPU threads")
    bench.add_argument(
        "--sample-interval", metavar="S", type=float, default=0.2, help="seconds (0.2)"
    )
    bench.add_argument("--profile", metavar="NAME", help="profile name stored with the result")
    bench.add_argument("--force", action="store_true", help="start even if it does not fit")
    bench.add_argument("--no-save", action="store_true", help="do not store the result")
    bench.add_argument("--limit", metavar="N", type=_count, default=20, help="history rows")
    bench.add_argument("--json", action="store_true", help="print JSON")
    bench.add_argument(
        "argv",
        nargs="*",
        metavar="-- COMMAND",
        help="the program and its arguments, after -- (command backend)",
    )
    return bench


def _print_json(data: Any, out: TextIO) -> None:
    json.dump(data, out, indent=2)
    out.write("\n")


def _fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}{(' ' + unit) if unit else ''}"


def _backend_for(args: argparse.Namespace) -> str:
    if args.backend:
        return str(args.backend)
    if args.argv:
        return "command"
    if str(args.target).lower().endswith(".onnx"):
        return "onnxruntime"
    return "transformers"


def build_spec(args: argparse.Namespace) -> Any:
    """The :class:`~core.bench.plan.BenchSpec` for parsed ``bench`` arguments."""
    from core.bench.plan import BenchSpec

    backend = _backend_for(args)
    if args.argv and backend != "command":
        raise ThermalScoutError(f"a command after -- needs --backend command, not {backend}")
    return BenchSpec(
        target=args.target,
        backend=backend,
        device=args.device,
        dtype=args.dtype,
        prompt_tokens=args.prompt_tokens,
        new_tokens=args.tokens if args.tokens is not None and backend != "command" else 128,
        batch=args.batch,
        repeat=args.repeat,
        warmup=args.warmup,
        baseline_s=args.baseline,
        min_window_s=args.min_window,
        cooldown_s=args.cooldown,
        cooldown_margin_c=args.cooldown_margin,
        force=args.force,
        weights=args.weights,
        command=tuple(args.argv),
        tokens=args.tokens if backend == "command" else None,
        token_regex=args.token_regex,
        model=args.model,
        profile=args.profile,
        threads=args.threads,
        interval_s=args.sample_interval,
    )


def _history(args: argparse.Namespace, out: TextIO) -> int:
    from core.bench.store import BenchStore

    entries = BenchStore().history(model=args.model, limit=args.limit)
    if args.json:
        _print_json([e.to_json() for e in entries], out)
        return 0
    if not entries:
        out.write("no benchmarks stored yet; run: thermal-scout bench MODEL\n")
        return 0
    out.write(
        f"{'id':>4} {'when':<20} {'model':<36} {'backend':<12} {'device':<7} "
        f"{'tok/s':>8} {'J/tok':>8} {'×pred':>6}\n"
    )
    for e in entries:
        rate = e.decode_tokens_per_s_sustained or e.decode_tokens_per_s
        ratio = e.measured_over_predicted
        out.write(
            f"{e.id:>4} {e.created_at[:19]:<20} {e.model[:36]:<36} {e.backend:<12} "
            f"{e.device:<7} {_fmt(rate):>8} {_fmt(e.gross_joules_per_token, '', 3):>8} "
            f"{_fmt(ratio, '', 2):>6}\n"
        )
    return 0


class _ProgressPrinter:
    """Progress lines on standard error: every phase change, else at most one in 5 s."""

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self._last: tuple[str, int | None] | None = None
        self._last_time = 0.0

    def __call__(self, event: Any) -> None:
        if event.phase == "failed":
            return  # the error line says it
        key = (event.phase, event.repetition)
        now = time.monotonic()
        if key == self._last and now - self._last_time < 5.0:
            return
        self._last, self._last_time = key, now
        temp = f"  {event.temperature_c:.0f} °C" if event.temperature_c is not None else ""
        self.err.write(f"[{event.elapsed_s:6.1f}s] {event.message}{temp}\n")
        self.err.flush()


def _report(result: Any, out: TextIO) -> None:
    data = result.to_json()
    out.write(
        f"{result.model}  {result.backend}  {result.device}"
        f"{'  ' + result.dtype if result.dtype else ''}  "
        f"({len(result.windows)} windows, median)\n"
    )
    out.write(f"time to first token  {_fmt(result.ttft_s, 's', 3)}\n")
    out.write(f"prefill              {_fmt(result.prefill_tokens_per_s, 'tok/s')}\n")
    pred = result.predicted
    predicted = ""
    if pred is not None and pred.decode_tokens_per_s is not None:
        predicted = f"   (predicted {pred.decode_tokens_per_s:,.1f}"
        if result.measured_over_predicted is not None:
            predicted += f", measured ×{result.measured_over_predicted:.2f}"
        predicted += ")"
    out.write(
        f"decode               {_fmt(result.decode_tokens_per_s, 'tok/s')} burst, "
        f"{_fmt(result.decode_tokens_per_s_sustained, 'tok/s')} sustained{predicted}\n"
    )
    if result.embeddings_per_s is not None:
        out.write(f"embeddings           {_fmt(result.embeddings_per_s, '/s')}\n")
    energy = data["energy"]
    if energy["method"] == "unavailable":
        out.write(f"energy               unavailable: {energy.get('reason')}\n")
    else:
        unc = energy["uncertainty"]
        out.write(
            f"energy               {_fmt(energy['gross_joules_per_token'], 'J/token', 4)} gross, "
            f"{_fmt(energy['net_joules_per_token'], 'J/token', 4)} net of idle "
            f"(±{(unc or 0) * 100:.0f} %, {energy['method']})\n"
        )
    temp, power = result.temperature, result.power
    if temp is not None:
        if temp.avg_c is None:
            out.write(f"temperature          n/a: {temp.reason}\n")
        else:
            out.write(
                f"temperature          {_fmt(temp.avg_c, '°C')} average, "
                f"{_fmt(temp.peak_c, '°C')} peak (idle {_fmt(temp.baseline_c, '°C')})\n"
            )
    if power is not None:
        if power.avg_w is None and power.peak_w is None:
            out.write(f"power                n/a: {power.reason}\n")
        else:
            out.write(
                f"power                {_fmt(power.avg_w, 'W')} average, {_fmt(power.peak_w, 'W')} "
                f"peak (idle {_fmt(power.idle_w, 'W')})\n"
            )
    if result.throttled_fraction is not None:
        why = ", ".join(f"{k} {v * 100:.0f} %" for k, v in result.violations.items())
        out.write(f"throttled            {result.throttled_fraction * 100:.0f} % {why}\n")
    for note in result.notes:
        out.write(f"note: {note}\n")
    if result.run_id is not None:
        out.write(f"stored as run {result.run_id} (thermal-scout bench history)\n")


def cmd_bench(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``thermal-scout bench``."""
    if args.target == "history":
        return _history(args, out)
    from core.bench.plan import plan_benchmark
    from core.bench.runner import BenchResult, BenchRunner
    from core.bench.store import BenchStore

    spec = build_spec(args)
    plan = plan_benchmark(spec)
    if not args.json:
        pred = plan.prediction
        line = f"benchmarking {plan.model} with {plan.backend} on {plan.device}"
        if plan.dtype:
            line += f" ({plan.dtype})"
        if pred is not None and pred.decode_tokens_per_s is not None:
            line += f"; predicted {pred.decode_tokens_per_s:,.1f} tok/s decode"
        err.write(line + "\n")
        for note in plan.notes:
            err.write(f"note: {note}\n")
    runner = BenchRunner(plan, on_progress=None if args.json else _ProgressPrinter(err))
    outcome: list[BenchResult] = []
    finished = threading.Event()

    def work() -> None:
        try:
            outcome.append(runner.run())
        finally:
            finished.set()

    def on_signal(_signum: int, _frame: Any) -> None:
        runner.cancel()  # the worker stops the child and returns a cancelled result

    # Ctrl-C and SIGTERM cancel through the runner rather than as KeyboardInterrupt: an
    # interrupted Thread.join() may stop waiting, and the process would exit before the
    # workload's process group is killed and reaped.
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        threading.Thread(target=work, name="bench", daemon=True).start()
        while not finished.wait(0.1):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    result = outcome[0]
    if result.status == "cancelled":
        err.write("cancelled; nothing stored\n")
        return 130
    if result.status == "failed":
        raise ThermalScoutError(result.error or "the benchmark failed")
    if not args.no_save:
        result = dataclasses.replace(result, run_id=BenchStore().add(result))
    if args.json:
        _print_json(result.to_json(), out)
    else:
        _report(result, out)
    return 0
