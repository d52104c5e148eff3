"""``thermal-scout compare`` and ``thermal-scout recommend``: sub-parsers and handlers.

:func:`add_parsers` registers both commands on the main parser's sub-parsers; :func:`run`
handles a parsed command. Both raise :class:`~core.errors.ThermalScoutError` for bad input,
which ``tui.cli.main`` prints as one ``error: …`` line (exit 1). The analysis modules are
imported only when a command runs, so ``thermal-scout --help`` stays light.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from typing import Any, TextIO

from core.errors import ThermalScoutError

COMMANDS = ("compare", "recommend")
"""The commands this module handles."""

_PARAMS = re.compile(r"^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([kmbt]?)\s*$", re.IGNORECASE)
_SCALE = {"": 1, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def parse_params(text: str) -> int:
    """``8B``, ``350M``, ``1.5b``, ``8e9`` or ``8000000000`` as a parameter count.

    Raises:
        ThermalScoutError: For anything else, or a count ≤ 0.
    """
    match = _PARAMS.match(text)
    if match is None:
        raise ThermalScoutError(f"not a parameter count: {text!r} (use e.g. 8B, 350M)")
    value = int(float(match.group(1)) * _SCALE[match.group(2).lower()])
    if value <= 0:
        raise ThermalScoutError(f"maximum parameters must be more than 0, got {text}")
    return value


def add_parsers(commands: Any, analysis_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``compare`` and ``recommend`` to ``commands`` (the main parser's sub-parsers).

    Args:
        commands: What ``ArgumentParser.add_subparsers`` returned.
        analysis_options: Adds ``--hardware``, ``--precision``, ``--context``, ``--batch`` and
            ``--json`` to a sub-parser (``tui.cli.build_parser``'s helper).
    """
    compare = commands.add_parser(
        "compare",
        help="compare 2–4 models side by side",
        description="Compare 2 to 4 models (catalog ids, config.json files, model directories "
        "or files) metric by metric; * marks the best in each row.",
    )
    compare.add_argument("models", nargs="+", metavar="MODEL", help="2 to 4 models")
    analysis_options(compare)

    recommend = commands.add_parser(
        "recommend",
        help="recommend models for a task described in words",
        description="Rank catalog models for a task ('summarise documents quietly'), within "
        "hard limits, by a score that includes the thermal cost. Words like quiet/silent/cool "
        "favour cooler models, fast/real-time faster ones, best/accurate bigger ones.",
    )
    recommend.add_argument("text", metavar="TEXT", help="the task, in words")
    recommend.add_argument(
        "--max-watts", metavar="W", type=float, help="only models predicted to draw ≤ W watts"
    )
    recommend.add_argument(
        "--thermal-class",
        metavar="C",
        help="only models of this thermal class or cooler (low, medium, high, very-high)",
    )
    recommend.add_argument(
        "--min-tokens-per-s",
        metavar="R",
        type=float,
        help="only models at least this fast (decode tok/s; forward-pass for embeddings, "
        "classification, vision)",
    )
    recommend.add_argument("--fits", action="store_true", help="only models that fit here")
    recommend.add_argument(
        "--licence",
        "--license",
        metavar="L",
        action="append",
        dest="licences",
        help="only this licence (repeatable: --licence mit --licence apache-2.0)",
    )
    recommend.add_argument(
        "--max-params", metavar="N", help="only models with at most N parameters (8B, 350M)"
    )
    recommend.add_argument("--limit", metavar="N", type=_limit, default=10)
    analysis_options(recommend)


def _print_json(data: Any, out: TextIO) -> None:
    json.dump(data, out, indent=2)
    out.write("\n")


def _settings(args: argparse.Namespace) -> tuple[Any, Any]:
    """The analysis settings and, when they describe this machine, its detected hardware."""
    from core.analysis.hardware_profiles import profile_for, profile_from_hardware
    from core.analysis.precision import parse_precision
    from core.catalog.rows import AnalysisSettings

    info = None
    if args.hardware:
        profile = profile_for(args.hardware)
    else:
        from core.hardware import detect

        info = detect()
        profile = profile_from_hardware(info)
    precision = parse_precision("bf16" if args.precision is None else args.precision)
    return AnalysisSettings(profile, precision, args.context, args.batch), info


def cmd_compare(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``thermal-scout compare A B [C D]``."""
    from core.analysis.compare import MAX_MODELS, MIN_MODELS, compare
    from core.catalog.targets import analyze_target

    count = len(args.models)
    if not MIN_MODELS <= count <= MAX_MODELS:
        raise ThermalScoutError(f"compare needs {MIN_MODELS} to {MAX_MODELS} models, got {count}")
    settings, _info = _settings(args)
    explicit = args.precision is not None
    rows = [analyze_target(m, settings, precision_explicit=explicit) for m in args.models]
    result = compare(rows)
    for row in rows:
        if row.analysis is None:
            err.write(f"warning: {row.id}: {row.error}\n")
    if args.json:
        _print_json(result.to_json(), out)
        return 0
    label_width = max(len(m.label) for m in result.metrics) + 2
    widths = [
        max(len(row.id), *(len(m.cells[i].text) + 2 for m in result.metrics)) + 2
        for i, row in enumerate(result.rows)
    ]
    where = result.hardware or settings.hardware.name
    out.write(
        f"{where} · {result.precision or settings.precision.name} · context "
        f"{result.context or settings.context:,}   (* best in row)\n\n"
    )
    line = " " * label_width + "".join(
        f"{r.id:<{w}}" for r, w in zip(result.rows, widths, strict=True)
    )
    out.write(line.rstrip() + "\n")
    hidden = []
    for metric in result.metrics:
        if metric.empty:
            hidden.append(metric.label)
            continue
        cells = "".join(
            f"{cell.text + (' *' if cell.is_best else ''):<{w}}"
            for cell, w in zip(metric.cells, widths, strict=True)
        )
        out.write(f"{metric.label:<{label_width}}{cells}".rstrip() + "\n")
    if hidden:
        out.write(f"\nno values yet: {', '.join(hidden)}\n")
    return 0


def _constraints(args: argparse.Namespace) -> Any:
    from core.analysis.recommend import Constraints

    return Constraints(
        fits=args.fits,
        max_watts=args.max_watts,
        max_thermal_class=args.thermal_class,
        min_tokens_per_s=args.min_tokens_per_s,
        licences=tuple(args.licences or ()),
        max_params=parse_params(args.max_params) if args.max_params is not None else None,
    )


def cmd_recommend(args: argparse.Namespace, out: TextIO) -> int:
    """``thermal-scout recommend TEXT``."""
    from core.analysis.recommend import hardware_advice, interpret, recommend_models
    from core.catalog.embedded import load_catalog
    from core.catalog.rows import catalog_rows

    interpret(args.text)  # empty text fails before the hardware is detected
    constraints = _constraints(args)
    settings, info = _settings(args)
    advice = hardware_advice(settings.hardware, settings.precision, info=info)
    rows = catalog_rows(load_catalog(), settings)
    result = recommend_models(
        args.text, rows, constraints=constraints, hardware=advice, limit=args.limit
    )
    if args.json:
        _print_json(result.to_json(), out)
        return 0
    request = result.request
    tasks = ", ".join(
        m.task.name + (f" ({', '.join(m.words)})" if m.words else " (assumed)")
        for m in request.tasks
    )
    out.write(f"task         {tasks}\n")
    if request.preferences.words:
        kinds = [k for k in ("thermal", "speed", "quality") if getattr(request.preferences, k)]
        out.write(f"preferences  {', '.join(kinds)} ({', '.join(request.preferences.words)})\n")
    out.write(
        f"hardware     {advice.hardware}: {advice.size_tier} tier (up to "
        f"~{advice.max_params / 1e9:.1f}B at {advice.precision}), {advice.profile} profile, "
        f"context {advice.context_length:,}, max tokens {advice.max_tokens:,}, batch "
        f"{advice.batch_size}"
        + (
            f", {advice.threads} thread{'s' if advice.threads != 1 else ''}"
            if advice.threads is not None
            else ""
        )
        + "\n"
    )
    for pick in result.picks:
        chosen = f"{pick.id} ({pick.tier})" if pick.id else "none fits"
        out.write(f"registry     {pick.task}: {chosen}\n")
    out.write(
        f"weights      quality {result.weights.quality:.2f}, speed {result.weights.speed:.2f}, "
        f"thermal {result.weights.thermal:.2f} ({result.weights.basis})\n\n"
    )
    for item in result.results:
        speed = "—" if item.tokens_per_s is None else f"{item.tokens_per_s:,.1f} tok/s"
        thermal = item.row.thermal_class or "—"
        out.write(
            f"{item.rank:>2}. {item.id}  score {item.score:.3f}  [{item.task}]  {speed}  "
            f"{thermal}\n"
        )
        for reason in item.reasons:
            out.write(f"      {reason}\n")
    out.write(
        f"\n{len(result.results)} of {result.total} candidates shown; "
        f"{len(result.excluded)} ruled out by the limits\n"
    )
    for note in result.notes:
        out.write(f"note: {note}\n")
    return 0


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run ``args.command`` (one of :data:`COMMANDS`)."""
    if args.command == "compare":
        return cmd_compare(args, out, err)
    if args.command == "recommend":
        return cmd_recommend(args, out)
    raise ThermalScoutError(f"unknown command {args.command!r}")
