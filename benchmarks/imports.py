"""What Thermal Scout imports on its way to the first frame, and what that costs.

Runs the real app in tmux under ``python -X importtime`` (stderr to a file), waits for the first
full frame plus a second (hardware detection and the first sampler ticks have then run), quits
with ``q`` and parses the log: total import time, the heaviest packages and modules, and whether
anything heavy was imported at start-up (``huggingface_hub``, ``torch``, the catalog), which the
issue forbids. ``-X importtime`` itself adds some overhead, so totals read a little high.

Usage::

    .venv/bin/python benchmarks/imports.py [--json F]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PROJECT_PYTHON, ROOT, TmuxSession, is_alive, json_default, log

FORBIDDEN = ("huggingface_hub", "torch", "core.catalog", "tui.screens.catalog", "transformers")
"""Module prefixes that must not be imported at start-up (the issue)."""

_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def parse(log_text: str) -> list[tuple[str, int, int, int]]:
    """``(module, self_us, cumulative_us, depth)`` per line of an ``-X importtime`` log."""
    out: list[tuple[str, int, int, int]] = []
    for line in log_text.splitlines():
        found = _LINE.match(line)
        if found:
            depth = len(found.group(3)) // 2
            out.append((found.group(4), int(found.group(1)), int(found.group(2)), depth))
    return out


def summarize_imports(rows: list[tuple[str, int, int, int]], top: int = 12) -> dict[str, Any]:
    """Totals, heaviest top-level packages (by self time) and modules (by cumulative time)."""
    by_package: dict[str, int] = {}
    for module, self_us, _cum, _depth in rows:
        package = module.split(".")[0]
        by_package[package] = by_package.get(package, 0) + self_us
    roots = [r for r in rows if r[3] == 0]
    forbidden = sorted(
        {m for m, *_ in rows if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)}
    )
    chains: dict[str, str] = {}
    for i, (module, _s, _c, depth) in enumerate(rows):
        if module not in forbidden or module in chains:
            continue
        chain, want = [module], depth  # in the log a parent follows its children, shallower
        for parent, _ps, _pc, parent_depth in rows[i + 1 :]:
            if parent_depth < want:
                chain.append(parent)
                want = parent_depth
                if want == 0:
                    break
        chains[module] = " ← ".join(chain)
    return {
        "modules": len(rows),
        "total_s": sum(r[1] for r in rows) / 1e6,
        "top_packages": sorted(
            ({"package": p, "self_s": us / 1e6} for p, us in by_package.items()),
            key=lambda d: -d["self_s"],
        )[:top],
        "top_roots": sorted(
            ({"module": m, "cumulative_s": cum / 1e6} for m, _s, cum, _d in roots),
            key=lambda d: -d["cumulative_s"],
        )[:top],
        "top_modules": sorted(
            ({"module": m, "cumulative_s": cum / 1e6, "self_s": s / 1e6} for m, s, cum, _d in rows),
            key=lambda d: -d["cumulative_s"],
        )[:top],
        "top_self": sorted(
            ({"module": m, "self_s": s / 1e6} for m, s, _c, _d in rows),
            key=lambda d: -d["self_s"],
        )[:top],
        "forbidden_imported": forbidden,
        "forbidden_chains": chains,
    }


def measure(markers: tuple[str, ...], linger_s: float = 1.0) -> dict[str, Any]:
    """Run the app once under ``-X importtime`` until just after its first frame."""
    script = ROOT / ".venv" / "bin" / "thermal-scout"
    with tempfile.TemporaryDirectory(prefix="ts-importtime-") as tmp:
        log_path = Path(tmp) / "importtime.log"
        wrapper = (
            f"import sys; sys.argv = [{str(script)!r}]; "
            "from tui.cli import main; raise SystemExit(main())"
        )
        command = [
            "sh",
            "-c",
            f'exec "$0" -X importtime -c "$1" 2>{log_path}',
            str(PROJECT_PYTHON),
            wrapper,
        ]
        with TmuxSession(command, "importtime") as session:
            session.start()
            first, _screen = session.wait_for(markers, 30.0)
            time.sleep(linger_s)
            pid = session.program_pid(timeout=2.0)
            session.send_keys("q")
            deadline = time.monotonic() + 5.0
            while pid is not None and is_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
        text = log_path.read_text(errors="replace") if log_path.exists() else ""
    result = summarize_imports(parse(text))
    result["first_frame_s_under_importtime"] = first
    return result


def main(argv: list[str] | None = None) -> int:
    """Command line: measure and print (optionally write JSON)."""
    from peers import programs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the raw results here")
    args = parser.parse_args(argv)
    app = next(p for p in programs(setup=False) if p.key == "thermal-scout")
    result = measure(app.markers)
    log(f"{result['modules']} modules, {result['total_s']:.3f} s of imports")
    for row in result["top_packages"]:
        log(f"  {row['package']:24} {row['self_s'] * 1000:7.1f} ms (self, all modules)")
    for row in result["top_modules"]:
        log(f"  {row['module']:40} {row['cumulative_s'] * 1000:7.1f} ms cumulative")
    log(f"forbidden at start-up: {result['forbidden_imported'] or 'none'}")
    for chain in result["forbidden_chains"].values():
        log(f"  {chain}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=json_default))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
