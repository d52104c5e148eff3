"""The ``thermal-scout`` command line.

``thermal-scout`` opens the TUI; subcommands serve scripts. Usage errors exit 2 with usage
text (argparse); runtime errors print one ``error: …`` line on stderr and exit 1. No
traceback reaches the user. Textual is imported only when the TUI opens.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any, TextIO

from core import __version__
from core.constants import MAX_INTERVAL_S, MIN_INTERVAL_S
from core.errors import ThermalScoutError


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not MIN_INTERVAL_S <= value <= MAX_INTERVAL_S:
        raise argparse.ArgumentTypeError(
            f"must be between {MIN_INTERVAL_S} and {MAX_INTERVAL_S:.0f} seconds, got {text}"
        )
    return value


def _duration(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to print usage in the README)."""
    parser = argparse.ArgumentParser(
        prog="thermal-scout",
        description="Thermal-aware model work on your own hardware. With no command: the TUI.",
    )
    parser.add_argument("--version", action="version", version=f"thermal-scout {__version__}")
    parser.add_argument("--replay", metavar="TRACE", type=Path, help="replay a .jsonl trace")
    parser.add_argument("--interval", metavar="S", type=_interval, help="seconds between samples")
    parser.add_argument("--config", metavar="FILE", type=Path, help="configuration TOML file")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    hardware = commands.add_parser("hardware", help="describe this machine and its sensors")
    hardware.add_argument("--json", action="store_true", help="print JSON")

    monitor = commands.add_parser(
        "monitor",
        help="sample sensors (or replay a trace), record them, and summarise",
        description="Sample until --duration or Ctrl-C; with --replay, process the trace.",
    )
    monitor.add_argument("--interval", metavar="S", type=_interval, dest="monitor_interval")
    monitor.add_argument("--duration", metavar="S", type=_duration, help="stop after S seconds")
    monitor.add_argument(
        "--output", metavar="FILE", type=Path, help="record to FILE.jsonl or FILE.csv"
    )
    monitor.add_argument("--replay", metavar="TRACE", type=Path, dest="monitor_replay")
    monitor.add_argument("--json", action="store_true", help="print a JSON summary at the end")
    return parser


def _print_json(data: Any, out: TextIO) -> None:
    json.dump(data, out, indent=2)
    out.write("\n")


def _fmt(value: float | None, unit: str, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f} {unit}"


def cmd_hardware(args: argparse.Namespace, out: TextIO) -> int:
    """``thermal-scout hardware``."""
    from core.hardware import detect, to_json

    info = detect()
    if args.json:
        _print_json(to_json(info), out)
        return 0
    gib = 1024**3
    cpu, mem = info.cpu, info.memory
    out.write(f"CPU     {cpu.model} ({cpu.physical_cores} cores / {cpu.logical_cores} threads)\n")
    out.write(f"Memory  {mem.total_bytes / gib:.1f} GiB, {mem.available_bytes / gib:.1f} free\n")
    free = info.disk.free_bytes
    out.write(
        f"Disk    {_fmt(None if free is None else free / gib, 'GiB free')} at {info.disk.path}\n"
    )
    out.write(f"OS      {info.os.distribution} ({info.os.system} {info.os.release})\n")
    if not info.gpus:
        out.write(f"GPU     none: {info.gpu_reason}\n")
    for gpu in info.gpus:
        vram = None if gpu.vram_total_bytes is None else gpu.vram_total_bytes / gib
        out.write(f"GPU {gpu.index}   {gpu.name}, {_fmt(vram, 'GiB')}\n")
    out.write("\nSensors\n")
    for sensor in info.sensors:
        state = "live" if sensor.available else f"unavailable: {sensor.reason}"
        out.write(f"  {sensor.name:<30} {state}\n")
        if sensor.hint and not sensor.available:
            out.write(f"  {'':<30} fix: {sensor.hint}\n")
    rec = info.recommendations
    out.write(
        f"\nRecommended: {rec.model_tier_label}; profile {rec.profile}, {rec.threads} threads, "
        f"context {rec.context_length}, batch {rec.batch_size}\n"
    )
    return 0


def _progress_line(sample: Any) -> str:
    parts = [f"t={sample.t_s:7.1f}s"]
    cpu = sample.cpu
    if cpu is not None:
        parts.append(f"cpu {_fmt(cpu.load_pct, '%', 0)} {_fmt(cpu.package_temp_c, '°C', 0)}")
        parts.append(_fmt(cpu.package_power_w, "W"))
    for gpu in sample.gpus:
        parts.append(
            f"gpu{gpu.index} {_fmt(gpu.power_instant_w, 'W', 0)} {_fmt(gpu.temp_c, '°C', 0)}"
        )
    return "  ".join(parts)


def _run_until_stopped(sampler: Any, duration_s: float | None) -> None:
    """Run ``sampler`` on this thread until ``duration_s`` passes, SIGTERM or Ctrl-C."""
    import threading

    timer = None
    if duration_s is not None:
        timer = threading.Timer(duration_s, sampler.stop)
        timer.daemon = True
        timer.start()
    previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: sampler.stop())
    try:
        sampler.run()
    except KeyboardInterrupt:
        sampler.stop()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if timer is not None:
            timer.cancel()


def cmd_monitor(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``thermal-scout monitor``."""
    from core.config import load_settings
    from core.telemetry.sample import Sample
    from core.telemetry.sampler import LiveSource, Sampler, TelemetrySource
    from core.telemetry.summary import summarize
    from core.telemetry.trace import ReplaySource, TraceWriter, load_trace

    settings = load_settings(args.config)
    interval = args.monitor_interval or args.interval or settings.telemetry.interval_s
    replay_path = args.monitor_replay or args.replay
    writer = TraceWriter(args.output) if args.output else None
    collected: list[Sample] = []
    try:
        if replay_path is not None:
            trace = load_trace(replay_path, strict=True)
            samples = list(trace.samples)
            if args.duration is not None:
                end = samples[0].t_s + args.duration
                samples = [s for s in samples if s.t_s <= end]
            for sample in samples:
                if writer is not None:
                    writer.write(sample)
                if not args.json:
                    out.write(_progress_line(sample) + "\n")
            collected = samples
            source_label = ReplaySource(trace).label
        else:
            source: TelemetrySource = LiveSource()
            source_label = source.label

            def keep(batch: list[Sample]) -> None:
                collected.extend(batch)
                if not args.json:
                    out.write(_progress_line(batch[-1]) + "\n")
                    out.flush()

            def report(message: str) -> None:
                err.write(f"warning: {message}\n")

            sampler = Sampler(source, interval, keep, report)
            sampler.set_recorder(writer)
            writer = None  # the sampler owns and closes it now
            _run_until_stopped(sampler, args.duration)
    finally:
        if writer is not None:
            writer.close()
    summary = summarize(collected, source_label) if collected else None
    if summary is None:
        raise ThermalScoutError("no samples were taken; try a longer --duration")
    if args.json:
        _print_json(summary, out)
    else:
        out.write(f"{summary['samples']} samples over {summary['duration_s']} s\n")
        for gpu in summary["gpus"]:
            throttled = gpu["throttled_fraction"]
            out.write(
                f"gpu{gpu['index']}: {_fmt(gpu['energy_j'], 'J')} ({gpu['energy_method']}), "
                f"avg {_fmt(gpu['avg_power_w'], 'W')}, max {_fmt(gpu['max_temp_c'], '°C')}, "
                f"throttled {_fmt(None if throttled is None else throttled * 100, '%')}\n"
            )
        if args.output:
            out.write(f"recorded to {args.output}\n")
    return 0


def cmd_tui(args: argparse.Namespace) -> int:
    """Open the TUI."""
    from core.config import load_settings
    from core.telemetry.trace import load_trace

    settings = load_settings(args.config)
    trace = load_trace(args.replay, strict=False) if args.replay is not None else None
    from tui.app import ThermalScoutApp

    app = ThermalScoutApp(settings=settings, interval_s=args.interval, trace=trace)
    app.run()
    return app.return_code or 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script. Returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "hardware":
            return cmd_hardware(args, sys.stdout)
        if args.command == "monitor":
            return cmd_monitor(args, sys.stdout, sys.stderr)
        return cmd_tui(args)
    except ThermalScoutError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
