"""The ``thermal-scout`` command line.

``thermal-scout`` opens the TUI; subcommands serve scripts. Usage errors exit 2 with usage
text (argparse); runtime errors print one ``error: …`` line on stderr and exit 1. No
traceback reaches the user. Textual is imported only when the TUI opens.
"""

from __future__ import annotations

import argparse
import gc
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


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def _add_tui_options(parser: argparse.ArgumentParser) -> None:
    """The options of ``thermal-scout`` itself (the TUI)."""
    parser.add_argument("--version", action="version", version=f"thermal-scout {__version__}")
    parser.add_argument("--replay", metavar="TRACE", type=Path, help="replay a .jsonl trace")
    parser.add_argument("--interval", metavar="S", type=_interval, help="seconds between samples")
    parser.add_argument("--config", metavar="FILE", type=Path, help="configuration TOML file")


def tui_arguments(argv: list[str]) -> argparse.Namespace | None:
    """``argv`` parsed for the TUI when it is nothing but the TUI's own options, else None.

    Building the whole parser (every command and option) takes ~5 ms, a few percent of the
    TUI's start-up; this parser knows only the four options above. Anything else (a command,
    ``-h``, an unknown or malformed option) returns None, and the full parser answers it,
    errors and usage text included.
    """
    parser = argparse.ArgumentParser(prog="thermal-scout", add_help=False, exit_on_error=False)
    _add_tui_options(parser)
    parser.set_defaults(command=None)
    try:
        args, rest = parser.parse_known_args(argv)
    except argparse.ArgumentError:
        return None
    return None if rest else args


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to print usage in the README)."""
    from tui.cli_bench import add_bench_parser
    from tui.cli_cache import add_cache_parser
    from tui.cli_compare import add_parsers as add_compare_parsers
    from tui.cli_profiles import add_parsers as add_profile_parsers
    from tui.cli_registry import add_registry_parser

    parser = argparse.ArgumentParser(
        prog="thermal-scout",
        description="Thermal-aware model work on your own hardware. With no command: the TUI.",
    )
    _add_tui_options(parser)
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

    def analysis_options(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--hardware", metavar="NAME", help="what-if hardware profile (default: this machine)"
        )
        command.add_argument(
            "--precision",
            metavar="P",
            help="weights precision (default: bf16; for a .gguf file, its own types)",
        )
        command.add_argument("--context", metavar="N", type=_positive_int, default=4096)
        command.add_argument("--batch", metavar="N", type=_positive_int, default=1)
        command.add_argument("--json", action="store_true", help="print JSON")

    models = commands.add_parser("models", help="search models and their estimates")
    models_commands = models.add_subparsers(dest="models_command", metavar="COMMAND")
    models_commands.required = True
    search = models_commands.add_parser("search", help="search the model sources")
    search.add_argument("query", nargs="?", default="", help="words that must all match")
    search.add_argument(
        "--source",
        choices=("catalog", "cache", "hub", "all"),
        default="all",
        help="where to look (all: the catalog and the local Hugging Face cache, plus the Hub "
        "when it answers)",
    )
    search.add_argument("--task", metavar="TASK", help="only this pipeline task")
    search.add_argument("--fits", action="store_true", help="only models that fit here")
    search.add_argument("--sort", metavar="COLUMN", default="decode_tokens_per_s")
    search.add_argument("--limit", metavar="N", type=_positive_int, default=50)
    analysis_options(search)

    analyze = commands.add_parser(
        "analyze", help="analyse one model: a catalog id, config.json, model directory or file"
    )
    analyze.add_argument("target", metavar="TARGET")
    analysis_options(analyze)
    add_cache_parser(commands)
    add_compare_parsers(commands, analysis_options)
    add_profile_parsers(commands)
    add_bench_parser(commands)
    add_registry_parser(commands)
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


def _analysis_settings(args: argparse.Namespace) -> Any:
    """The device and options every row is analysed for (this machine unless --hardware)."""
    from core.analysis.hardware_profiles import profile_for, profile_from_hardware
    from core.analysis.precision import parse_precision
    from core.catalog.rows import AnalysisSettings

    if args.hardware:
        profile = profile_for(args.hardware)
    else:
        from core.hardware import detect

        profile = profile_from_hardware(detect())
    precision = parse_precision("bf16" if args.precision is None else args.precision)
    return AnalysisSettings(profile, precision, args.context, args.batch)


def _fits(row: Any) -> bool:
    return row.analysis is not None and row.analysis.fit.level != "too-tight"


def _hub_rows(args: argparse.Namespace, settings: Any, err: TextIO) -> list[Any]:
    """Hub search results as rows; a Hub failure is fatal only with ``--source hub``."""
    from core.catalog.hub import HubSource
    from core.catalog.rows import analyze_hub_model
    from core.errors import HubUnavailable

    rows: list[Any] = []
    try:
        for page in HubSource().search(args.query, limit=args.limit):
            rows.extend(analyze_hub_model(model, settings) for model in page)
    except HubUnavailable as exc:
        if args.source == "hub":
            raise
        err.write(f"warning: {exc}\n")
    return rows


def _cache_rows(args: argparse.Namespace, settings: Any, err: TextIO) -> list[Any]:
    """Rows for the models in the local Hugging Face cache; problems are warnings."""
    from core.catalog.cache import cache_rows, scan_models

    models, notices = scan_models()
    for notice in notices:
        # An absent cache only matters when the cache is all that was asked for.
        if args.source == "cache" or not notice.startswith("no Hugging Face cache at"):
            err.write(f"warning: {notice}\n")
    return cache_rows(models, settings)


def cmd_models_search(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``thermal-scout models search``."""
    from core.catalog.columns import COLUMN_BY_KEY, row_json
    from core.catalog.embedded import load_catalog
    from core.catalog.rows import catalog_rows
    from core.table import RowTable

    if args.sort not in COLUMN_BY_KEY:
        valid = ", ".join(COLUMN_BY_KEY)
        raise ThermalScoutError(f"unknown sort column {args.sort!r}; valid: {valid}")
    settings = _analysis_settings(args)
    rows = catalog_rows(load_catalog(), settings) if args.source in ("catalog", "all") else []
    if args.source in ("cache", "all"):
        rows.extend(_cache_rows(args, settings, err))
    if args.source in ("hub", "all"):
        rows.extend(_hub_rows(args, settings, err))
    table = RowTable(rows, text=lambda r: r.search_text)
    # Hub rows were chosen by the Hub's own search for this query: filter only the others.
    matched = set(table.filter(args.query))
    indices = [i for i, row in enumerate(rows) if i in matched or row.source == "hub"]
    if args.task:
        indices = [i for i in indices if rows[i].task == args.task]
    if args.fits:
        indices = [i for i in indices if _fits(rows[i])]
    column = COLUMN_BY_KEY[args.sort]
    order = table.sort_indices(indices, key=column.value, reverse=column.descending)
    chosen = [rows[i] for i in order[: args.limit]]
    if args.json:
        _print_json([row_json(row) for row in chosen], out)
        return 0
    out.write(f"{'model':<44} {'params':>7} {'fits':>9} {'tok/s':>8} {'W':>5} {'thermal':<9}\n")
    for row in chosen:
        cells = {
            c: COLUMN_BY_KEY[c].text(row) for c in ("params", "decode_tokens_per_s", "power_w")
        }
        level = row.analysis.fit.level if row.analysis else "—"
        out.write(
            f"{row.id:<44} {cells['params']:>7} {level:>9} {cells['decode_tokens_per_s']:>8} "
            f"{cells['power_w']:>5} {row.thermal_class or row.error or '—':<9}\n"
        )
    out.write(f"{len(chosen)} of {len(indices)} matching; estimates for {settings.hardware.name}\n")
    return 0


def _safetensors_names(files: list[Path]) -> list[Any]:
    """``TensorInfo`` for every tensor in the headers of ``files`` (empty if one is unreadable)."""
    import struct

    from core.analysis.census import TensorInfo
    from core.analysis.formats.safetensors import MAX_HEADER_BYTES

    infos: list[Any] = []
    for file in files:
        try:
            with file.open("rb") as handle:
                (length,) = struct.unpack("<Q", handle.read(8))
                if length > min(MAX_HEADER_BYTES, file.stat().st_size):
                    return []
                header = json.loads(handle.read(length))
        except (OSError, ValueError, struct.error):
            return []
        if not isinstance(header, dict):
            return []
        for name, entry in header.items():
            shape = entry.get("shape") if isinstance(entry, dict) else None
            if name != "__metadata__" and isinstance(shape, list):
                dtype = str(entry.get("dtype", ""))
                infos.append(TensorInfo(name, tuple(int(d) for d in shape), dtype))
    return infos


def _format_facts(path: Path, facts: Any) -> dict[str, Any]:
    """``format``, ``dtypes`` (elements per dtype), ``tensors`` and ``layers`` of a model file.

    Empty when ``facts`` is not a header (a catalog id, a bare ``config.json``). ``layers`` is
    the header's own block count where it has one (GGUF), else the tensor-name census's.
    """
    from core.analysis.census import TensorInfo, census
    from core.analysis.formats import gguf, onnx, pytorch, safetensors

    infos: list[Any]
    ops: dict[str, int] | None = None
    layers: int | None = None
    if isinstance(facts, safetensors.SafetensorsHeader):
        fmt, dtypes, tensors = "safetensors", facts.dtypes, facts.tensors
        files = sorted(path.glob("*.safetensors")) if path.is_dir() else [path]
        infos = _safetensors_names(files)
    elif isinstance(facts, gguf.GGUFHeader):
        fmt, dtypes, tensors = "gguf", facts.params_by_type, facts.tensor_count
        layers = facts.block_count
        infos = [TensorInfo(t.name, t.shape, t.type) for t in facts.tensors]
    elif isinstance(facts, onnx.OnnxHeader):
        fmt, dtypes, tensors = "onnx", facts.dtypes, len(facts.tensors)
        infos = [TensorInfo(t.name, t.shape, t.dtype) for t in facts.tensors]
        ops = facts.ops
    elif isinstance(facts, pytorch.PyTorchHeader):
        fmt, dtypes, tensors = "pytorch", facts.dtypes, len(facts.tensors)
        infos = [TensorInfo(t.name, t.shape, t.dtype or "") for t in facts.tensors]
    else:
        return {}
    if layers is None and infos:
        layers = census(infos, ops=ops).layers
    return {"format": fmt, "dtypes": dict(dtypes), "tensors": tensors, "layers": layers}


def cmd_analyze(args: argparse.Namespace, out: TextIO) -> int:
    """``thermal-scout analyze``.

    A sharded checkpoint's ``*.safetensors.index.json`` stands for its directory (the shards'
    headers are summed). The JSON carries ``format``, ``dtypes``, ``tensors`` and ``layers``
    for model files and directories.
    """
    from core.catalog.targets import analyze_target

    settings = _analysis_settings(args)
    target = Path(args.target).expanduser()
    if target.is_file() and target.name.endswith(".safetensors.index.json"):
        target = target.parent
    name = str(target) if target.is_dir() else args.target
    row = analyze_target(name, settings, precision_explicit=args.precision is not None)
    if row.analysis is None:
        raise ThermalScoutError(f"{args.target}: {row.error}")
    data = {"id": row.id, "source": row.source, "params_method": row.params_method}
    data.update(row.analysis.to_json())
    data["id"] = row.id
    data.update(_format_facts(target, row.facts))
    if args.json:
        _print_json(data, out)
        return 0
    est = row.analysis.estimates
    memory = row.analysis.memory
    out.write(f"{row.id}  ({row.analysis.architecture_class}, {row.params_total:,} parameters)\n")
    out.write(
        f"memory   {memory.total_bytes / 1e9:.2f} GB at {row.analysis.precision.name}: weights "
        f"{memory.weights_bytes / 1e9:.2f} + KV {memory.kv_cache_bytes / 1e9:.2f} + overhead "
        f"{memory.overhead_bytes / 1e9:.2f}\n"
    )
    fit = row.analysis.fit
    out.write(f"fit      {fit.level} on {fit.device} ({fit.available_bytes / 1e9:.1f} GB free)\n")
    if est.decode_tokens_per_s is not None:
        out.write(
            f"speed    {est.decode_tokens_per_s:,.1f} tok/s decode ({est.bound}), "
            f"{est.prefill_tokens_per_s:,.0f} tok/s prefill\n"
        )
        out.write(f"energy   {est.power_w:,.0f} W, {est.joules_per_token:.2f} J/token\n")
    thermal = row.analysis.thermal
    out.write(f"thermal  {thermal.klass} ({thermal.source})\n")
    out.write(f"method   {est.method}\n")
    return 0


def cmd_tui(args: argparse.Namespace) -> int:
    """Open the TUI.

    The cyclic GC is off from here until the app's first full frame (the app switches it back
    on; see ``ThermalScoutApp._end_startup``): start-up only builds objects that live on.
    """
    gc.disable()
    try:
        from core.config import load_settings
        from core.telemetry.trace import load_trace

        settings = load_settings(args.config)
        trace = load_trace(args.replay, strict=False) if args.replay is not None else None
        from tui.app import ThermalScoutApp

        app = ThermalScoutApp(
            settings=settings,
            interval_s=args.interval,
            trace=trace,
            config_path=args.config,
            gc_paused=True,
        )
        app.run()
    finally:
        gc.enable()
    return app.return_code or 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script. Returns the exit status."""
    tokens = sys.argv[1:] if argv is None else argv
    args = tui_arguments(tokens) or build_parser().parse_args(tokens)
    try:
        if args.command is None:
            return cmd_tui(args)
        if args.command == "hardware":
            return cmd_hardware(args, sys.stdout)
        if args.command == "monitor":
            return cmd_monitor(args, sys.stdout, sys.stderr)
        if args.command == "models":
            return cmd_models_search(args, sys.stdout, sys.stderr)
        if args.command == "cache":
            from tui.cli_cache import cmd_cache

            return cmd_cache(args, sys.stdout, sys.stderr, sys.stdin)
        if args.command == "analyze":
            return cmd_analyze(args, sys.stdout)
        if args.command == "bench":
            from tui.cli_bench import cmd_bench

            return cmd_bench(args, sys.stdout, sys.stderr)
        if args.command == "registry":
            from tui.cli_registry import cmd_registry

            return cmd_registry(args, sys.stdout, sys.stderr)
        if args.command in ("profile", "preset"):
            from tui.cli_profiles import run as run_profiles

            return run_profiles(args, sys.stdout, sys.stderr)
        from tui.cli_compare import run as run_compare  # compare, recommend

        return run_compare(args, sys.stdout, sys.stderr)
    except ThermalScoutError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
