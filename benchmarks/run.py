"""``make bench``: Thermal Scout against its peers, results in BENCHMARKS.md.

Sections (``--only`` takes a comma-separated list of them):

- ``startup``: cold start to first full frame, every program, in tmux (:mod:`startup`);
- ``idle``: idle CPU and peak RSS, every program at its default refresh (:mod:`idle_cpu`);
- ``imports``: what Thermal Scout imports before its first frame (:mod:`imports`);
- ``sampler``: cost of one sampler tick, in-process (:mod:`sampler_cost`);
- ``memory``: memory after one and two hours of samples (:mod:`memory`);
- ``table``: the Models table at 100,000 rows beside Textual's DataTable and
  textual-fastdatatable, and the cost of analysing one model (:mod:`table`).

The raw results go to ``benchmarks/results/run-<time>.json``; ``benchmarks/results/latest.json``
keeps the newest result of each section, and BENCHMARKS.md is rewritten from it (a section not
run this time keeps its previous figures, with their date).

Usage::

    .venv/bin/python benchmarks/run.py [--quick] [--only startup,idle]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import formats
import idle_cpu
import imports
import memory
import sampler_cost
import startup
import table
from common import PROJECT_PYTHON, RESULTS_DIR, ROOT, json_default, log
from peers import Program, programs

SECTIONS = ("startup", "idle", "imports", "sampler", "memory", "table", "formats")

STARTUP_TARGET_S = 0.6
IDLE_TARGET_PCT = 1.0
TABLE_PAINT_TARGET_S = 1.0
TABLE_FILTER_TARGET_MS = 50.0
TABLE_MEMORY_TARGET_MB = 300.0
ANALYSIS_TARGET_US = 1000.0
MIB = 2**20 / 1e6
"""MB per MiB (the targets are in MB, /proc reports KiB)."""

ISSUE_STARTUP = {"bare-textual": "≈0.4", "glances": "0.34", "s-tui": "0.27"}
DOC_STARTUP = {
    "btop": "0.02",
    "htop": "0.10",
    "s-tui": "0.24",
    "glances": "0.24",
    "bare-textual": "0.41",
}
ISSUE_IDLE = {"bare-textual": "≈1.0", "glances": "1.5", "s-tui": "0.6", "btop": "0.55"}
DOC_IDLE = {
    "htop": "0.17",
    "btop": "0.55",
    "s-tui": "0.63",
    "glances": "1.48",
    "bare-textual": "0.96",
}


# -- machine ---------------------------------------------------------------------------------


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _cmd(argv: list[str]) -> str:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (result.stdout or result.stderr).strip()


def machine_info(progs: list[Program]) -> dict[str, Any]:
    """What the figures were measured on."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    mem_kib = next(
        (
            int(line.split()[1])
            for line in _read("/proc/meminfo").splitlines()
            if line.startswith("MemTotal:")
        ),
        0,
    )
    os_name = next(
        (
            line.split("=", 1)[1].strip().strip('"')
            for line in _read("/etc/os-release").splitlines()
            if line.startswith("PRETTY_NAME=")
        ),
        platform.system(),
    )
    versions = {p.key: p.version for p in progs}
    py = _cmd([str(PROJECT_PYTHON), "-c", "import sys; print(sys.version.split()[0])"])
    commit = _cmd(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = bool(_cmd(["git", "-C", str(ROOT), "status", "--porcelain", "--", "core", "tui"]))
    return {
        "cpu_model": model,
        "logical_cpus": os.cpu_count(),
        "ram_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(),
        "os": os_name,
        "python": py,
        "textual": (versions.get("bare-textual") or "").replace("Textual ", ""),
        "thermal_scout": versions.get("thermal-scout"),
        "peers": {k: v for k, v in versions.items() if k not in ("thermal-scout", "bare-textual")},
        "tmux": _cmd(["tmux", "-V"]),
        "loadavg_at_start": _read("/proc/loadavg").split()[:3],
        "git_commit": commit,
        "git_dirty_core_tui": dirty,
    }


# -- running ---------------------------------------------------------------------------------


def run_sections(args: argparse.Namespace, progs: list[Program]) -> dict[str, Any]:
    """Run the selected sections; each result keyed by section name."""
    wanted = SECTIONS if not args.only else tuple(s.strip() for s in args.only.split(","))
    unknown = [s for s in wanted if s not in SECTIONS]
    if unknown:
        raise SystemExit(f"unknown section(s) {unknown}; choose from {', '.join(SECTIONS)}")
    quick = args.quick
    out: dict[str, Any] = {}
    app = next(p for p in progs if p.key == "thermal-scout")
    for section in SECTIONS:
        if section not in wanted:
            continue
        started = time.monotonic()
        log(f"== {section}")
        if section == "startup":
            runs = args.startup_runs or (3 if quick else 10)
            data = startup.measure(progs, runs=runs)
        elif section == "idle":
            runs = args.idle_runs or (1 if quick else 3)
            window = args.window or (15.0 if quick else 60.0)
            data = idle_cpu.measure(progs, runs=runs, window_s=window)
        elif section == "imports":
            data = imports.measure(app.markers)
        elif section == "sampler":
            data = sampler_cost.measure(ticks=300 if quick else 2000, spaced=5 if quick else 20)
        elif section == "table":
            data = table.measure(quick)
        elif section == "formats":
            data = formats.measure(3 if quick else 10)
        else:
            data = memory.measure(("2x1", "64x8") if quick else memory.SCENARIOS)
        out[section] = {
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "quick": quick,
            "seconds": round(time.monotonic() - started, 1),
            "data": data,
        }
    return out


# -- report ----------------------------------------------------------------------------------


def _s(value: float | None, digits: int = 3, unit: str = "") -> str:
    return "–" if value is None else f"{value:.{digits}f}{unit}"


def _range(summary: dict[str, Any], digits: int = 3) -> str:
    if not summary.get("n"):
        return "–"
    return f"{summary['min']:.{digits}f}–{summary['max']:.{digits}f}"


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**PASS**" if ok else "**FAIL**")


def targets(latest: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(target, measured, verdict)`` rows for the issue's targets."""
    rows: list[tuple[str, str, str]] = []
    st = latest.get("startup", {}).get("data", {}).get("programs", {}).get("thermal-scout")
    if st and st.get("measured") and st["summary"]["n"]:
        med = st["summary"]["median"]
        rows.append(
            (
                f"Cold start to first full frame < {STARTUP_TARGET_S} s",
                f"{med:.3f} s median ({_range(st['summary'])}, n={st['summary']['n']})",
                _verdict(med < STARTUP_TARGET_S),
            )
        )
    else:
        rows.append(("Cold start to first full frame < 0.6 s", "not measured", _verdict(None)))
    idle = latest.get("idle", {}).get("data", {}).get("programs", {}).get("thermal-scout")
    if idle and idle.get("measured") and idle["pct_one_core"]["n"]:
        s = idle["pct_one_core"]
        rows.append(
            (
                f"Idle CPU on the Thermals screen at 1 Hz ≤ {IDLE_TARGET_PCT:.0f} % of one core",
                f"{s['median']:.2f} % median ({_range(s, 2)}, n={s['n']})",
                _verdict(s["median"] <= IDLE_TARGET_PCT),
            )
        )
    else:
        rows.append(("Idle CPU on the Thermals screen ≤ 1 %", "not measured", _verdict(None)))
    imp = latest.get("imports", {}).get("data")
    if imp:
        bad = imp.get("forbidden_imported") or []
        rows.append(
            (
                "Nothing from huggingface_hub, torch or the catalog imported at start-up",
                ", ".join(bad) if bad else f"none of them among {imp['modules']} modules",
                _verdict(not bad),
            )
        )
    sampler = latest.get("sampler", {}).get("data")
    if sampler:
        s = sampler["live_source"]
        rows.append(
            (
                "Cost of one sampler tick (measured; no numeric target)",
                f"{s['median_us']:.0f} µs median, p90 {s['p90_us']:.0f} µs",
                "measured",
            )
        )
    mem = latest.get("memory", {}).get("data", {}).get("scenarios", {})
    if mem:
        bounded = [e.get("bounded") for e in mem.values()]
        worst = max((e.get("growth_pct", 0.0) for e in mem.values()), default=0.0)
        rows.append(
            (
                "Memory after one hour of samples bounded by the ring buffers",
                f"hour 2 vs hour 1: {worst:+.2f} % at most over {len(mem)} scenarios",
                _verdict(all(b is True for b in bounded)),
            )
        )
    rows += _table_targets(latest.get("table", {}).get("data"))
    files = latest.get("formats", {}).get("data", {}).get("files", {})
    if files:
        worst = max(e["ours"]["median_ms"] for e in files.values())
        reads_ok = all(
            e["ours"]["read_bytes"] < e["header_bytes"] + 1024 * 1024 for e in files.values()
        )
        sizes = ", ".join(f"{k} {e['size_bytes'] / 1e9:.1f} GB" for k, e in files.items())
        rows.append(
            (
                "Analysing a multi-GB model file reads only its header, in milliseconds",
                f"{worst:.1f} ms at most ({sizes}); bytes read ≤ header + 1 MiB: {reads_ok}",
                _verdict(worst < 50 and reads_ok),
            )
        )
    return rows


def _table_targets(data: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    """The four targets of the 100,000-row Models table."""
    n = f"{table.ROWS:,}"
    paint_t = f"Models screen with {n} rows: first paint < {TABLE_PAINT_TARGET_S:.0f} s"
    filter_t = (
        f"Models screen with {n} rows: filter keystroke to updated table "
        f"< {TABLE_FILTER_TARGET_MS:.0f} ms median"
    )
    memory_t = f"Models screen with {n} rows: memory < {TABLE_MEMORY_TARGET_MB:.0f} MB"
    analysis_t = f"Analysing one model < {ANALYSIS_TARGET_US / 1000:.0f} ms"
    ours = (data or {}).get("contenders", {}).get("ours-screen", {})
    if not ours.get("measured"):
        why = "not measured" + (
            f": {'; '.join(ours.get('notes') or [])}" if ours.get("notes") else ""
        )
        rows = [(t, why, _verdict(None)) for t in (paint_t, filter_t, memory_t)]
    else:
        paint = ours["first_paint_s"]
        f = ours["filter_ms"]
        rows = [
            (paint_t, f"{paint:.3f} s", _verdict(paint < TABLE_PAINT_TARGET_S)),
            (
                filter_t,
                (
                    f"{f['median']:.1f} ms median, p90 {f['p90']:.1f} ms (n={f['n']} keystrokes)"
                    if f["n"]
                    else "no keystroke measured"
                ),
                _verdict(f["median"] < TABLE_FILTER_TARGET_MS if f["n"] else None),
            ),
        ]
        rss = ours.get("rss_mib")
        build = data.get("build", {}) if data else {}
        rows_mib = (build.get("rss_after_mib") or 0) - (build.get("rss_before_mib") or 0)
        rows.append(
            (
                memory_t,
                (
                    f"{rss * MIB:.0f} MB RSS after first paint ({rss:.0f} MiB; the {n} "
                    f"analysed rows alone {rows_mib * MIB:.0f} MB)"
                    if rss
                    else "not measured"
                ),
                _verdict(rss * MIB < TABLE_MEMORY_TARGET_MB if rss else None),
            )
        )
    a = (data or {}).get("analysis")
    if a:
        rows.append(
            (
                analysis_t,
                f"{a['median_us']:.0f} µs median, p90 {a['p90_us']:.0f} µs "
                f"(n={a['n']} calls over {a['entries']} entries); {n} in "
                f"{a['total_100k_s']:.1f} s in one thread",
                _verdict(a["median_us"] < ANALYSIS_TARGET_US),
            )
        )
    else:
        rows.append((analysis_t, "not measured", _verdict(None)))
    return rows


def render(latest: dict[str, Any], progs: list[Program]) -> str:
    """BENCHMARKS.md from the newest result of each section."""
    m = latest.get("machine", {})
    lines: list[str] = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`benchmarks/run.py`); do not edit by hand — rerun it. Raw "
        "results: `benchmarks/results/` (not in git).",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        f"| CPU | {m.get('cpu_model')} ({m.get('logical_cpus')} logical CPUs) |",
        f"| RAM | {m.get('ram_gib')} GiB |",
        f"| OS / kernel | {m.get('os')} / Linux {m.get('kernel')} |",
        f"| Python | {m.get('python')} (project `.venv`) |",
        f"| Textual | {m.get('textual')} |",
        f"| Thermal Scout | {m.get('thermal_scout')} (git {m.get('git_commit')}"
        f"{', uncommitted changes in core/ or tui/' if m.get('git_dirty_core_tui') else ''}) |",
        "| Peers | "
        + ", ".join(f"{k} {v or '?'}" for k, v in (m.get("peers") or {}).items())
        + " |",
        f"| Terminal | {m.get('tmux')}, 200×50 pane, no config (`-f /dev/null`) |",
        f"| Load average at start | {' / '.join(m.get('loadavg_at_start') or [])} |",
        f"| Date | {latest.get('date')}{' (quick run)' if latest.get('quick') else ''} |",
        "",
        "## Targets (from the issue)",
        "",
        "| Target | Measured | Result |",
        "|---|---|---|",
    ]
    lines += [f"| {t} | {v} | {r} |" for t, v, r in targets(latest)]
    lines += ["", "## Method", ""]
    lines += [
        "- **Start-up**: each program in its own tmux server "
        "(`tmux -L bench-N new-session -d -x 200 -y 50 CMD`); `capture-pane -p` is polled every "
        "10 ms from just before launch until *all* of the program's first-frame markers "
        "(below) are on screen; the time is taken when that capture returns. One warm-up "
        "launch per program, then N counted launches, alternating programs launch by launch. "
        "Before each launch the harness waits (at most 5 s; 15 s before an idle window) until "
        "the machine uses < 30 % of one core, to stay out of bursts of other work on this "
        "shared VM.",
        "- **Idle CPU**: launch, wait for the first frame (Thermal Scout: then `send-keys 2` and "
        "wait until the header says `Thermal Scout — Thermals`), wait 2 s, then "
        "`utime + stime` of the program's own process (found under the pane's pid) from "
        "`/proc/PID/stat` at the start and end of the window → CPU s/min and % of one core. "
        "`VmHWM` (peak RSS) from `/proc/PID/status`; bytes written from `/proc/PID/io` "
        "(`wchar`, for these programs essentially terminal output). Every program at its "
        "default refresh (column *Refresh*).",
        "- **Sampler tick**: in-process, `LiveSource().read(t)` timed with "
        "`time.perf_counter_ns` over back-to-back ticks after one warm-up tick, then the "
        "readers alone, then a few ticks 0.25 s apart (colder caches, closer to real use).",
        "- **Memory**: one hour of realistic 1 Hz samples (every reading present; a temperature "
        "sensor per core) appended one tick at a time through `core.state.with_samples` into "
        '`initial_state(interval_s=1.0, history_s=3600, source="live")`, then a second hour; '
        "`tracemalloc` size of what remains allocated after each hour (fresh interpreter per "
        "scenario), and RSS in a separate run without `tracemalloc`.",
        "- **Imports**: the real app under `python -X importtime` in tmux until just after its "
        "first frame.",
        "- **Models table at 100,000 rows** (`benchmarks/table.py`): 100,000 *analysed* "
        "variants of the real catalog entries (`org/name-v00042`, stated parameter count "
        "scaled 0.25–4.2×, each row with its own analysis, for the RTX 4090 profile), built "
        "once in one worker thread; then one forked child per contender, each running a "
        "headless app (`App.run_test(size=(160, 48))`). *Ours*: the real app with the rows "
        "in its store (`CatalogRowsLoaded`), key `3`. The widget-only contenders (ours, "
        "Textual's DataTable, textual-fastdatatable) sit on a screen with a search Input "
        "pushed by key `3`; all filter and sort with the same `RowTable` code. *First "
        "paint*: key posted → end of the first frame (`Screen._compositor_refresh`) in which "
        "the table drew a data row. *Filter keystroke*: key posted to the focused search "
        "Input → end of the first frame drawn after the table got the filtered rows; typed: "
        "`llama-3`, `qwen 7b`, `bert`, one character at a time, each followed by as many "
        "backspaces. Headless, so no escape codes are written (a terminal adds that). "
        "Memory: `VmRSS` from `/proc/self/status`; the screen's own allocations with "
        "`tracemalloc` in a separate run. *Analysing one model*: `analyze_entry` on each "
        "real catalog entry after a warm-up pass, `perf_counter_ns` per call.",
        "- The project's own modules run from source (editable install); the harness lets "
        "Python cache their bytecode on the warm-up launch (it drops "
        "`PYTHONDONTWRITEBYTECODE` for the programs it launches), as on a user's machine.",
        "",
        "First-frame markers (regexes that must all match the captured screen; each was checked "
        "against captures of the program drawing its first screen):",
        "",
        "| Program | Markers | Meaning |",
        "|---|---|---|",
    ]
    for p in progs:
        markers = ", ".join(f"`{x}`" for x in p.markers).replace("|", "\\|")
        lines.append(f"| {p.key} | {markers} | {p.marker_note} |")

    lines += _startup_section(latest.get("startup"))
    lines += _idle_section(latest.get("idle"))
    lines += _imports_section(latest.get("imports"))
    lines += _sampler_section(latest.get("sampler"))
    lines += _memory_section(latest.get("memory"))
    lines += _table_section(latest.get("table"))
    lines += _formats_section(latest.get("formats"))
    lines += _gpu_section(GPU_VERIFY)
    lines += _notes(latest, progs)
    return "\n".join(lines) + "\n"


GPU_VERIFY = RESULTS_DIR / "gpu-verify.json"
"""Written by ``benchmarks/gpu_verify.py`` on a machine with an NVIDIA GPU."""


def _gpu_section(path: Path) -> list[str]:
    """Issue 6's GPU verification: measured vs predicted, counter vs integrated power."""
    lines = ["", "## GPU verification: transformers backend on CUDA, bf16", ""]
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError):
        return [
            *lines,
            "Not run yet: it needs an NVIDIA GPU and a CUDA build of torch; run "
            "`python benchmarks/gpu_verify.py` there; any later `benchmarks/run.py` run "
            "(`--only sampler` is quick) renders its JSON here.",
        ]
    env = report.get("environment", {})
    lines += [
        f"Measured {report.get('date')} on {env.get('nvidia_smi') or 'an unknown GPU'} "
        f"(torch {env.get('torch')}, CUDA {env.get('torch_cuda')}, transformers "
        f"{env.get('transformers')}); random weights from each catalog config, 512 prompt "
        "tokens, 256 generated, end-of-sequence disabled. `tests/bench/test_cuda.py`: "
        f"{' '.join(report.get('cuda_test', {}).get('summary', [])) or 'not run'}.",
        "",
    ]
    if report.get("skipped"):
        return [*lines, f"Skipped: {report['skipped']}."]
    lines += [
        "| Model | Decode tok/s (sustained) | Predicted tok/s | Measured ÷ predicted | "
        "Prefill tok/s | TTFT (s) | J/token gross / net | Energy method (±) | "
        "Power avg / peak (W) | Peak °C | Throttled | Throttle reasons | Integrated instant "
        "power vs counter |",
        "|---|---:|---:|---:|---:|---:|---|---|---|---:|---:|---|---:|",
    ]
    for run in report.get("runs", []):
        r = run.get("result")
        if not r:
            lines.append(f"| {run['model']} | failed: {run.get('error', '')[:120]} |" + " |" * 12)
            continue
        energy, power = r.get("energy") or {}, r.get("power") or {}
        predicted = r.get("predicted") or {}
        check = (energy.get("components") or {}).get("instant_power") or {}
        diff = check.get("relative_difference_vs_counter")
        reasons = ", ".join(
            f"{k} {v:.0%}" for k, v in (r.get("throttle_reasons") or {}).items() if v
        )
        lines.append(
            f"| {run['model']} | {_s(r.get('decode_tokens_per_s'), 1)} "
            f"({_s(r.get('decode_tokens_per_s_sustained'), 1)}) | "
            f"{_s(predicted.get('decode_tokens_per_s'), 1)} | "
            f"{_s(r.get('measured_over_predicted'), 2)} | "
            f"{_s(r.get('prefill_tokens_per_s'), 0)} | {_s(r.get('ttft_s'), 3)} | "
            f"{_s(energy.get('gross_joules_per_token'), 3)} / "
            f"{_s(energy.get('net_joules_per_token'), 3)} | "
            f"{energy.get('method')} (±{_s((energy.get('uncertainty') or 0) * 100, 1)} %) | "
            f"{_s(power.get('avg_w'), 0)} / {_s(power.get('peak_w'), 0)} | "
            f"{_s((r.get('temperature') or {}).get('peak_c'), 0)} | "
            f"{_s((r.get('throttled_fraction') or 0) * 100, 1)} % | {reasons or 'none'} | "
            f"{'–' if diff is None else f'{diff:+.1%}'} |"
        )
    return lines


def _formats_section(section: dict[str, Any] | None) -> list[str]:
    lines = _header("Model files: header-only analysis against the formats' own libraries", section)
    if not section:
        return lines
    lines += [
        "Sparse files with real headers (`benchmarks/formats.py`): a Llama-3.1-8B-shaped "
        "safetensors in bf16 and a GGUF with the same shapes in a Q4_K_M-like mix. Median of "
        "the runs after one warm-up; *read* is `rchar` from `/proc/self/io` (the libraries map "
        "the file, which `rchar` does not count).",
        "",
        "| File | Size | Header | Reader | Median (ms) | Min–max (ms) | Read |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    for name, e in section["data"]["files"].items():
        size, header = f"{e['size_bytes'] / 1e9:.1f} GB", f"{e['header_bytes'] / 1024:.0f} KiB"
        o = e["ours"]
        lines.append(
            f"| {name} | {size} | {header} | Thermal Scout (`core.analysis.formats.{name}`) | "
            f"{o['median_ms']:.2f} | {o['min_ms']:.2f}–{o['max_ms']:.2f} | "
            f"{o['read_bytes'] / 1024:.0f} KiB |"
        )
        for label, r in e["library"].items():
            if "error" in r:
                lines.append(f"| {name} | | | {label} | failed: {r['error']} | | |")
                continue
            lines.append(
                f"| {name} | | | {label} | {r['median_ms']:.2f} | "
                f"{r['min_ms']:.2f}–{r['max_ms']:.2f} | mapped |"
            )
    return lines


def _header(title: str, section: dict[str, Any] | None) -> list[str]:
    if not section:
        return ["", f"## {title}", "", "Not measured yet (run `make bench`)."]
    quick = " (quick run: fewer runs, shorter windows)" if section.get("quick") else ""
    return ["", f"## {title}", "", f"Measured {section['date']}{quick}.", ""]


def _startup_section(section: dict[str, Any] | None) -> list[str]:
    lines = _header("Start-up: cold start to first full frame", section)
    if not section:
        return lines
    data = section["data"]
    progs = data["programs"]
    bare = progs.get("bare-textual", {}).get("summary", {}).get("median")
    lines += [
        f"{data['runs']} counted launches per program after {data['warmup']} warm-up; "
        "seconds from launch to the first capture showing the markers (10 ms polling).",
        "",
        "| Program | Median (s) | Min–max (s) | Runs | × bare Textual | Issue ref. (s) | "
        "Docs ref. (s) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, entry in progs.items():
        if not entry.get("measured"):
            lines.append(f"| {key} | not measured: {entry.get('reason')} | | | | | |")
            continue
        s = entry["summary"]
        ratio = f"{s['median'] / bare:.2f}" if bare and s["n"] else "–"
        fails = f" ({len(entry['failures'])} failed)" if entry["failures"] else ""
        lines.append(
            f"| {key} | {_s(s['median'])} | {_range(s)} | {s['n']}{fails} | {ratio} | "
            f"{ISSUE_STARTUP.get(key, '–')} | {DOC_STARTUP.get(key, '–')} |"
        )
    return lines


def _idle_section(section: dict[str, Any] | None) -> list[str]:
    lines = _header("Idle CPU and memory", section)
    if not section:
        return lines
    data = section["data"]
    lines += [
        f"{data['runs']} window(s) of {data['window_s']:.0f} s per program.",
        "",
        "| Program | Refresh | % of one core, median | Min–max | CPU s/min | VmHWM (MiB) | "
        "Written (kB/s) | Runs | Issue ref. (%) | Docs ref. (%) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, entry in data["programs"].items():
        if not entry.get("measured"):
            lines.append(f"| {key} | not measured: {entry.get('reason')} | | | | | | | | |")
            continue
        pct, cpm = entry["pct_one_core"], entry["cpu_s_per_min"]
        hwm, wr = entry["vm_hwm_mib"], entry["written_bytes_per_s"]
        errs = f" ({len(entry['errors'])} failed)" if entry["errors"] else ""
        lines.append(
            f"| {key} | {entry['refresh']} | {_s(pct['median'], 2)} | {_range(pct, 2)} | "
            f"{_s(cpm['median'], 2)} | {_s(hwm['median'], 1)} | "
            f"{_s(wr['median'] / 1000 if wr['median'] is not None else None, 2)} | "
            f"{pct['n']}{errs} | {ISSUE_IDLE.get(key, '–')} | {DOC_IDLE.get(key, '–')} |"
        )
    return lines


def _imports_section(section: dict[str, Any] | None) -> list[str]:
    lines = _header("Where start-up goes: imports before the first frame", section)
    if not section:
        return lines
    d = section["data"]
    lines += [
        f"{d['modules']} modules imported, {d['total_s']:.3f} s in imports (sum of self "
        "times under `-X importtime`, which inflates them somewhat). Heaviest packages (self "
        "time of all their modules) and heaviest top-level imports (cumulative):",
        "",
        "| Package | Self (ms) | | Top-level import | Cumulative (ms) |",
        "|---|---:|---|---|---:|",
    ]
    chains = d.get("forbidden_chains") or {}
    if chains:
        lines += [
            "",
            "Imported at start-up although the issue forbids it (module ← importer ← …):",
            "",
        ]
        lines += [f"- `{chain}`" for chain in sorted(chains.values(), key=len)]
        lines.append("")
    packages, roots = d["top_packages"], d["top_roots"]
    for i in range(max(len(packages), len(roots))):
        left = ["", ""]
        right = ["", ""]
        if i < len(packages):
            left = [packages[i]["package"], f"{packages[i]['self_s'] * 1000:.1f}"]
        if i < len(roots):
            right = [f"`{roots[i]['module']}`", f"{roots[i]['cumulative_s'] * 1000:.1f}"]
        lines.append(f"| {left[0]} | {left[1]} | | {right[0]} | {right[1]} |")
    return lines


def _sampler_section(section: dict[str, Any] | None) -> list[str]:
    lines = _header("Cost of one sampler tick", section)
    if not section:
        return lines
    d = section["data"]
    lines += [
        f"{d['cores']} logical CPUs, {d['gpus']} GPU(s) ({d['gpu_note']}).",
        "",
        "| What | Median (µs) | p90 (µs) | Max (µs) | Ticks |",
        "|---|---:|---:|---:|---:|",
    ]
    names = {
        "live_source": "`LiveSource().read(t)` — one tick, back to back",
        "live_source_spaced": f"`LiveSource().read(t)` — ticks {d['spacing_s']} s apart",
        "cpu_reader": "`CpuReader.read`",
        "gpu_reader": "`GpuReader.read`",
    }
    for key, label in names.items():
        if key in d:
            s = d[key]
            lines.append(
                f"| {label} | {s['median_us']:.1f} | {s['p90_us']:.1f} | {s['max_us']:.1f} | "
                f"{s['n']} |"
            )
    for family, s in d.get("cpu_families", {}).items():
        lines.append(
            f"| ↳ CPU {family} (alone) | {s['median_us']:.1f} | {s['p90_us']:.1f} | "
            f"{s['max_us']:.1f} | {s['n']} |"
        )
    return lines


def _memory_section(section: dict[str, Any] | None) -> list[str]:
    lines = _header("Memory after one hour of samples", section)
    if not section:
        return lines
    lines += [
        "| Cores × GPUs | Samples kept | Traced after 1 h (MiB) | After 2 h (MiB) | Growth | "
        "Bytes/sample | RSS after 1 h → 2 h (MiB) | Bounded |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for scenario, e in section["data"]["scenarios"].items():
        if "hour1_mib" not in e:
            lines.append(f"| {scenario} | failed: {e} | | | | | | |")
            continue
        kept = e["trace"]["hour2_samples_kept"]
        rss = (
            f"{e['rss_hour1_mib']:.1f} → {e['rss_hour2_mib']:.1f}" if "rss_hour1_mib" in e else "–"
        )
        lines.append(
            f"| {scenario.replace('x', ' × ')} | {kept} | {e['hour1_mib']:.1f} | "
            f"{e['hour2_mib']:.1f} | {e['growth_pct']:+.2f} % | {e['bytes_per_sample']:,.0f} | "
            f"{rss} | {_verdict(e.get('bounded'))} |"
        )
    return lines


def _ms(summary: dict[str, Any] | None, digits: int = 1) -> str:
    if not summary or not summary.get("n"):
        return "–"
    return f"{summary['median']:.{digits}f}"


def _table_section(section: dict[str, Any] | None) -> list[str]:
    lines = _header(f"Models table with {table.ROWS:,} rows", section)
    if not section:
        return lines
    d = section["data"]
    if "contenders" not in d:
        return [*lines, f"Failed: {d.get('error', 'no result')}."]
    b = d["build"]
    rows_mib = b["rss_after_mib"] - b["rss_before_mib"]
    lines += [
        f"{d['rows']:,} analysed rows ({b['errors']} without an analysis), "
        f"{d['size'][0]}×{d['size'][1]} headless, Textual {d.get('textual')}. The rows "
        f"themselves take {rows_mib:.0f} MiB of RSS ({b['traced_bytes_per_row']:,.0f} bytes "
        "per row under `tracemalloc`: each row's `Analysis` is most of it) before any table "
        "exists; every contender's process holds them.",
        "",
        f"Filter keystrokes: {len(d['keys'])} keys typing "
        + ", ".join(f"`{q}`" for q in d["queries"])
        + " (each then erased); *broad* = the keystroke left ≥ "
        f"{table.BROAD:,} rows shown. *Until idle*: to the last frame before the app went "
        "quiet (includes deferred work such as DataTable's measuring on idle). A contender "
        "with fewer keys typed the first ones of the sequence (time budget)." + _load_note(d),
        "",
        "| Contender | First paint (s) | Keystroke median (ms) | p90 (ms) | Broad / narrow "
        "median (ms) | Until idle, median (ms) | Keys | RSS before → after first paint (MiB) | "
        "Notes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for key, c in d["contenders"].items():
        notes = "; ".join(c.get("notes") or [])
        if not c.get("measured"):
            lines.append(f"| {c.get('label', key)} | {notes or 'not measured'} | | | | | | | |")
            continue
        f = c["filter_ms"]
        median = _ms(f)
        p90 = f"{f['p90']:.1f}" if f["n"] else "–"
        if c.get("unfinished_key_ms") is not None and not f["n"]:
            median = f"> {c['unfinished_key_ms']:,.0f}"
        cells = c.get("cells_s")
        extra = f"formatting every cell: {cells:.2f} s of the first paint" if cells else ""
        rss = (
            f"{c['rss_before_mib']:.0f} → {c['rss_mib']:.0f}"
            if c.get("rss_before_mib") and c.get("rss_mib")
            else "–"
        )
        lines.append(
            f"| {c['label']} | {c['first_paint_s']:.3f} | {median} | {p90} | "
            f"{_ms(c['filter_broad_ms'])} / {_ms(c['filter_narrow_ms'])} | "
            f"{_ms(c['filter_idle_ms'])} | {f['n']} | {rss} | "
            + "; ".join(x for x in (extra, notes) if x)
            + " |"
        )
    lines += _table_breakdown(d)
    lines += _table_choice(d)
    return lines


def _load_note(d: dict[str, Any]) -> str:
    loads = [x for c in d["contenders"].values() for x in c.get("loadavg_1min") or []]
    if not loads:
        return ""
    return (
        f" The 1-minute load average around the contenders' runs was {min(loads):.2f}–"
        f"{max(loads):.2f} on {os.cpu_count()} CPUs (other work on this shared machine moves "
        "the figures)."
    )


PART_LABELS = {
    "watch_catalog": (
        "`ModelsScreen.watch_catalog` (new rows: the two below, then `_refresh_view`)"
    ),
    "rowtable_init": "↳ `RowTable(...)` (lower-cased search text of every row)",
    "filter_options": "↳ `_refresh_filter_options` (the six filter drop-downs' values)",
    "refresh_view": (
        "`ModelsScreen._refresh_view` (the three below and the status line; at first paint "
        "inside `watch_catalog`)"
    ),
    "filter": "↳ `RowTable.filter`",
    "sort": "↳ `RowTable.sort_indices` (by tok/s)",
    "set_rows": "↳ `VirtualTable.set_rows`",
    "add_rows": "`DataTable.add_rows`",
    "update_dimensions": "`DataTable._update_dimensions` (measures cells)",
    "layout": "`Screen._refresh_layout` (layout)",
    "render": "`Screen._compositor_refresh` (draw the frame)",
    "gc0": "garbage collector, gen 0",
    "gc1": "garbage collector, gen 1",
    "gc2": "garbage collector, gen 2",
}


def _table_breakdown(d: dict[str, Any]) -> list[str]:
    ours = d["contenders"].get("ours-screen", {})
    parts = ours.get("filter_parts_ms") or {}
    paint = ours.get("first_paint_parts_ms") or {}
    if not parts:
        return []
    f = ours["filter_ms"]
    lines = []
    if d.get("screen_traced_mib") is not None:
        lines += [
            "",
            f"The Models screen itself allocates {d['screen_traced_mib']:.1f} MiB for "
            f"{d['rows']:,} rows (`tracemalloc` from key `3` to its first paint; peak "
            f"{d['screen_traced_peak_mib']:.1f} MiB): search texts, index lists, widgets.",
        ]
    lines += [
        "",
        "Where the Models screen's time goes, timed in place (outermost calls only; ↳: "
        "inside the row above; what the parts leave out is composing and mounting the "
        "screen, Textual's message passing and the wait for the next frame tick, at most 60 "
        "frames/s):",
        "",
        "| Part | First paint (ms) | Keystroke, median (ms) |",
        "|---|---:|---:|",
    ]
    for label in PART_LABELS:
        if label in parts or label in paint:
            lines.append(
                f"| {PART_LABELS[label]} | {paint.get(label, 0.0):.1f} | "
                f"{parts.get(label, 0.0):.1f} |"
            )
    lines.append(
        f"| Whole (key → frame) | {ours['first_paint_s'] * 1000:.0f} | {_ms(f)} |"
        if f["n"]
        else "| Whole | | |"
    )
    return lines


def _table_choice(d: dict[str, Any]) -> list[str]:
    c = d["contenders"]
    ours, widget = c.get("ours-screen", {}), c.get("ours-widget", {})
    dt, fdt = c.get("datatable", {}), c.get("fastdatatable", {})
    if not (ours.get("measured") and widget.get("measured")):
        return []

    def keys_median(entry: dict[str, Any], count: int) -> float | None:
        times = [k["first_ms"] for k in entry.get("keystrokes", [])[:count]]
        return statistics.median(times) if times else None

    def ratio(other: dict[str, Any], key: str) -> str:
        if not other.get("measured"):
            return "not measured"
        if key == "first_paint_s":
            mine, theirs = widget[key], other[key]
        else:  # the same keystrokes: a slow contender typed only the first few
            count = len(other.get("keystrokes", []))
            mine, theirs = keys_median(widget, count), keys_median(other, count)
        if theirs is None or not mine:
            return "–"
        return f"{theirs / mine:.0f}×" if theirs >= 2 * mine else f"{theirs / mine:.1f}×"

    fdt_info = d.get("fastdatatable") or {}
    if dt.get("filter_ms", {}).get("n"):
        dt_key = f"{ratio(dt, 'filter_ms')} as long with the DataTable and "
    elif dt.get("unfinished_key_ms") is not None:
        dt_key = (
            f"more than {dt['unfinished_key_ms'] / 1000:.0f} s with the DataTable (its first "
            "one had not finished when the cap struck) and "
        )
    else:
        dt_key = ""
    return [
        "",
        "**Chosen: our `VirtualTable` over `core.table.RowTable`.** Measured widget against "
        f"widget, the DataTable's first paint takes {ratio(dt, 'first_paint_s')} as long and "
        f"textual-fastdatatable's {ratio(fdt, 'first_paint_s')}; a filter keystroke takes "
        f"{dt_key}{ratio(fdt, 'filter_ms')} as long with textual-fastdatatable (medians "
        "over the same keystrokes). Beyond speed: "
        "the virtual table formats only the rows on screen (the others must format every "
        "cell before their first frame), colours rows by thermal class from TCSS component "
        "classes, and keeps its data as the `ModelRow` values the rest of the app uses; "
        "textual-fastdatatable has no `clear()` or filtering (a new filter means mounting a "
        f"new table) and needs pyarrow ({fdt_info.get('pyarrow') or '?'}; with it "
        f"{fdt_info.get('installed_mib') or 0:.0f} MiB installed) where Thermal Scout has no "
        "such dependency. textual-fastdatatable "
        f"{fdt_info.get('version') or '?'} requires `textual>=7.3` and ran on the project's "
        "Textual.",
    ]


def _notes(latest: dict[str, Any], progs: list[Program]) -> list[str]:
    lines = ["", "## Notes", ""]
    missing = [p for p in progs if not p.available]
    for p in missing:
        lines.append(f"- {p.key}: not measured: {p.reason}.")
    st = latest.get("startup", {}).get("data", {}).get("programs", {})
    bg = [
        e["background_pct_one_core"]["median"]
        for e in st.values()
        if e.get("measured") and e.get("background_pct_one_core", {}).get("n")
    ]
    idle = latest.get("idle", {}).get("data", {}).get("programs", {})
    others = [
        r["other_load_pct_one_core"]
        for e in idle.values()
        if e.get("measured")
        for r in e["runs"]
        if r.get("other_load_pct_one_core") is not None
    ]
    if bg or others:
        parts = []
        if bg:
            parts.append(
                f"just before start-up launches, the rest of the machine used a median "
                f"{sorted(bg)[len(bg) // 2]:.0f} % of one core"
            )
        if others:
            parts.append(
                f"during idle windows other processes used {min(others):.0f}–{max(others):.0f} "
                f"% of one core (median {sorted(others)[len(others) // 2]:.0f} %)"
            )
        lines.append(
            "- Noise: this is a shared 2-vCPU VM; "
            + "; ".join(parts)
            + ". Absolute figures move from run to run; compare programs within one run "
            "(ratios hold better than absolutes)."
        )
    off_screen = [
        r
        for r in idle.get("thermal-scout", {}).get("runs", [])
        if r.get("still_on_screen") is False
    ]
    if off_screen:
        lines.append(
            f"- Thermal Scout left the Thermals screen during {len(off_screen)} idle window(s)."
        )
    lines += [
        "- Refresh rates differ: Thermal Scout and the bare app update every 1 s, htop every "
        "1.5 s, glances, s-tui and btop every 2 s (their defaults, as users run them). At "
        "1 Hz the peers would cost more than shown; the cost per refresh is roughly their "
        "figure × their interval.",
        "- btop is C++ and htop is C; their first frame needs no interpreter start. Python "
        "start-up plus `import textual.app` is most of the bare Textual app's time.",
        "- Sampler-tick figures are on a sensor-less VM (no hwmon, RAPL, fans, battery or "
        "NVIDIA GPU): the GPU reader returns at once, and real sensors add sysfs reads.",
    ]
    mem = latest.get("memory", {}).get("data", {}).get("scenarios", {})
    kept = {
        e["trace"].get("hour1_samples_kept")
        for e in mem.values()
        if isinstance(e.get("trace"), dict)
    } | {
        e["trace"].get("hour2_samples_kept")
        for e in mem.values()
        if isinstance(e.get("trace"), dict)
    }
    if mem:
        lines.append(
            "- Memory: the history held "
            + " / ".join(str(k) for k in sorted(k for k in kept if k is not None))
            + " samples after both hours. Growth below 1 % between hour 1 and hour 2 comes "
            "from counter values that grow past 2³⁰ (larger Python ints), not from more "
            "samples."
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and rewrite BENCHMARKS.md."""
    parser = argparse.ArgumentParser(description="Thermal Scout benchmarks → BENCHMARKS.md")
    parser.add_argument("--quick", action="store_true", help="fewer runs, shorter windows")
    parser.add_argument("--only", help=f"comma-separated sections: {', '.join(SECTIONS)}")
    parser.add_argument("--startup-runs", type=int, help="counted launches per program")
    parser.add_argument("--idle-runs", type=int, help="idle windows per program")
    parser.add_argument("--window", type=float, help="seconds per idle window")
    parser.add_argument("--no-report", action="store_true", help="do not rewrite BENCHMARKS.md")
    args = parser.parse_args(argv)

    started = time.monotonic()
    log("== peers")
    progs = programs(setup=True)
    for p in progs:
        state = "ok" if p.available else f"not measured: {p.reason}"
        log(f"   {p.key:14} {p.version or '-':10} {state}")
    machine = machine_info(progs)
    sections = run_sections(args, progs)

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    date = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    raw = {"date": date, "quick": args.quick, "machine": machine, **sections}
    (RESULTS_DIR / f"run-{stamp}.json").write_text(json.dumps(raw, indent=2, default=json_default))
    latest_path = RESULTS_DIR / "latest.json"
    latest: dict[str, Any] = {}
    if latest_path.exists():
        try:
            latest = json.loads(latest_path.read_text())
        except ValueError:
            latest = {}
    latest.update(raw)
    latest_path.write_text(json.dumps(latest, indent=2, default=json_default))

    for t, v, r in targets(latest):
        log(f"{r.replace('*', ''):8} {t}: {v}")
    if not args.no_report:
        (ROOT / "BENCHMARKS.md").write_text(render(latest, progs))
        log("wrote BENCHMARKS.md")
    log(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
