"""The programs under test: Thermal Scout, a bare Textual app, and the peers users compare with.

The peers live in the benchmark's own environment: glances and s-tui in a venv at
``benchmarks/.env`` (pinned below), btop and htop from Debian (``apt-get install``, only when
missing and running as root). A peer that cannot be installed is reported as
``not measured: <reason>``, never faked.

Each program comes with the markers that define its *first full frame*: regexes that all match
``tmux capture-pane -p`` only once the whole first screen is drawn (checked by capturing each
program; see BENCHMARKS.md).

Usage::

    .venv/bin/python benchmarks/peers.py          # set up and list the programs
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PEER_ENV, PROJECT_PYTHON, ROOT, log

PIP_PEERS = {"glances": "4.5.8", "s-tui": "1.5.0"}
"""Peers installed with pip into ``benchmarks/.env``, pinned to versions checked to work."""

APT_PEERS = {"btop": "btop", "htop": "htop"}
"""Peers installed from Debian: binary name → package name."""


@dataclass
class Program:
    """One program under test.

    Attributes:
        key: Short name used in tables and ``--only``.
        command: argv.
        match: Substring of the program's command line that finds its process in the pane.
        markers: Regexes that must all match the screen for the first full frame.
        marker_note: What the markers are, in words (for BENCHMARKS.md).
        refresh: Its refresh rate during the idle measurement.
        version: Version string, where known.
        reason: Why it is not measured (None when it is).
        idle_keys: Keys sent after the first frame before the idle window (Thermal Scout: ``2``).
        idle_ready: Regex that must match after ``idle_keys`` before the window starts.
    """

    key: str
    command: list[str]
    match: str
    markers: tuple[str, ...]
    marker_note: str
    refresh: str
    version: str | None = None
    reason: str | None = None
    idle_keys: tuple[str, ...] = ()
    idle_ready: str | None = None

    @property
    def available(self) -> bool:
        """True when the program can be measured."""
        return self.reason is None


def _run(argv: list[str], timeout: float = 900.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def _tail(text: str, lines: int = 3) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def _pip_versions(python: Path) -> dict[str, str]:
    """Installed versions of the pip peers in the venv of ``python``."""
    code = (
        "import importlib.metadata as m, json\n"
        "out = {}\n"
        f"for name in {sorted(PIP_PEERS)!r}:\n"
        "    try:\n"
        "        out[name] = m.version(name)\n"
        "    except m.PackageNotFoundError:\n"
        "        pass\n"
        "print(json.dumps(out))\n"
    )
    result = _run([str(python), "-c", code], timeout=60)
    if result.returncode != 0:
        return {}
    import json

    return dict(json.loads(result.stdout))


def ensure_pip_peers(env: Path = PEER_ENV) -> dict[str, str | None]:
    """Create ``benchmarks/.env`` and install the pinned pip peers; name → reason or None."""
    python = env / "bin" / "python"
    reasons: dict[str, str | None] = {}
    if not python.exists():
        log(f"peers: creating venv {env.relative_to(ROOT)}")
        result = _run([sys.executable, "-m", "venv", str(env)])
        if result.returncode != 0:
            reason = f"cannot create venv: {_tail(result.stderr)}"
            return dict.fromkeys(PIP_PEERS, reason)
    installed = _pip_versions(python)
    wanted = [f"{name}=={version}" for name, version in PIP_PEERS.items()]
    if any(installed.get(name) != version for name, version in PIP_PEERS.items()):
        log(f"peers: pip install {' '.join(wanted)}")
        result = _run([str(python), "-m", "pip", "install", "--quiet", *wanted])
        if result.returncode != 0:
            reason = f"pip install failed: {_tail(result.stderr)}"
            installed = _pip_versions(python)
            for name in PIP_PEERS:
                reasons[name] = None if name in installed else reason
            return reasons
    installed = _pip_versions(python)
    for name in PIP_PEERS:
        reasons[name] = None if name in installed else "not installed after pip install"
    return reasons


def ensure_apt_peer(binary: str, package: str) -> str | None:
    """Install ``package`` with apt-get when ``binary`` is missing; the reason if impossible."""
    if shutil.which(binary):
        return None
    if os.geteuid() != 0:
        return f"{binary} missing and not running as root (apt-get install -y {package})"
    if not shutil.which("apt-get"):
        return f"{binary} missing and no apt-get on this system"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    log(f"peers: apt-get install -y {package}")
    install = ["apt-get", "install", "-y", "--no-install-recommends", package]
    result = subprocess.run(
        install, capture_output=True, text=True, timeout=900, env=env, check=False
    )
    if result.returncode != 0:
        log("peers: apt-get update")
        subprocess.run(
            ["apt-get", "update"], capture_output=True, text=True, timeout=900, env=env, check=False
        )
        result = subprocess.run(
            install, capture_output=True, text=True, timeout=900, env=env, check=False
        )
    if result.returncode != 0 or not shutil.which(binary):
        return f"apt-get install {package} failed: {_tail(result.stderr or result.stdout)}"
    return None


def _binary_version(argv: list[str]) -> str | None:
    """The first dotted version number that ``argv`` (e.g. ``btop --version``) prints."""
    try:
        result = _run(argv, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r"\d+(?:\.\d+)+", result.stdout or result.stderr)
    return found.group(0) if found else None


def project_versions() -> dict[str, str]:
    """Thermal Scout, Textual and Python versions of the project's interpreter."""
    code = (
        "import sys, importlib.metadata as m, core\n"
        "print(core.__version__); print(m.version('textual')); print(sys.version.split()[0])\n"
    )
    result = _run([str(PROJECT_PYTHON), "-c", code], timeout=60)
    lines = result.stdout.split()
    if result.returncode != 0 or len(lines) < 3:
        return {"thermal-scout": "?", "textual": "?", "python": "?"}
    return {"thermal-scout": lines[0], "textual": lines[1], "python": lines[2]}


def programs(setup: bool = True) -> list[Program]:
    """Every program under test, peers set up first when ``setup`` (unavailable ones keep a
    ``reason``)."""
    pip_reasons = ensure_pip_peers() if setup else {}
    apt_reasons = {b: ensure_apt_peer(b, p) if setup else None for b, p in APT_PEERS.items()}
    versions = project_versions()
    env_bin = PEER_ENV / "bin"
    installed = _pip_versions(PEER_ENV / "bin" / "python") if (env_bin / "python").exists() else {}

    thermal_scout = Program(
        key="thermal-scout",
        command=[str(ROOT / ".venv" / "bin" / "thermal-scout")],
        match="thermal-scout",
        markers=(r"│ CPU {2,}\S", r"\d Thermals\b"),
        marker_note=(
            "Hardware screen: the System panel's `CPU <model>` row (drawn only once hardware "
            "detection finished; before that the panel says `detecting…`) and `Thermals` in "
            "the footer"
        ),
        refresh="1 s sampling (default), Thermals screen",
        version=versions["thermal-scout"],
        idle_keys=("2",),
        idle_ready=r"Thermal Scout — Thermals",
    )
    bare = Program(
        key="bare-textual",
        command=[str(PROJECT_PYTHON), str(ROOT / "benchmarks" / "bare_app.py")],
        match="bare_app.py",
        markers=(r"bare textual app tick \d+",),
        marker_note="its only Label (`bare textual app tick N`)",
        refresh="1 Hz label update",
        version=f"Textual {versions['textual']}",
    )
    glances = Program(
        key="glances",
        command=[str(env_bin / "glances")],
        match="glances",
        markers=(r"^CPU\s+\[", r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"),
        marker_note="the `CPU [` bar of the top block and the date/time line at the bottom",
        refresh="2 s (default `-t 2`)",
        version=installed.get("glances"),
        reason=pip_reasons.get("glances"),
    )
    stui = Program(
        key="s-tui",
        command=[str(env_bin / "s-tui")],
        match="s-tui",
        markers=(r"Frequency \[MHz\]", r"Util \[%\]", r"< Quit\s+>"),
        marker_note="the `Frequency [MHz]` and `Util [%]` graph titles and the `< Quit >` button",
        refresh="2 s (default `Refresh[s]:2.0`)",
        version=installed.get("s-tui"),
        reason=pip_reasons.get("s-tui"),
    )
    btop = Program(
        key="btop",
        command=[shutil.which("btop") or "btop"],
        match="btop",
        markers=(r"LAV:", r"Pid:"),
        marker_note=(
            "`LAV:` inside the cpu box and `Pid:` of the process box (the box frames alone "
            "are drawn ~15 ms earlier)"
        ),
        refresh="2 s (default `update_ms = 2000`)",
        version=_binary_version(["btop", "--version"]) if shutil.which("btop") else None,
        reason=apt_reasons.get("btop"),
    )
    htop = Program(
        key="htop",
        command=[shutil.which("htop") or "htop"],
        match="htop",
        markers=(r"Load average", r"F10Quit"),
        marker_note="`Load average` in the header meters and `F10Quit` in the function bar",
        refresh="1.5 s (default `delay = 15`)",
        version=_binary_version(["htop", "--version"]) if shutil.which("htop") else None,
        reason=apt_reasons.get("htop"),
    )
    for peer in (glances, stui):
        if peer.reason is None and not Path(peer.command[0]).exists():
            peer.reason = f"{peer.command[0]} not found"
    for peer in (btop, htop):
        if peer.reason is None and not shutil.which(peer.key):
            peer.reason = f"{peer.key} not on PATH"
    return [thermal_scout, bare, glances, stui, btop, htop]


def main() -> int:
    """Set the peers up and list every program."""
    for program in programs(setup=True):
        state = "ok" if program.available else f"not measured: {program.reason}"
        log(f"{program.key:14} {program.version or '-':28} {state}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
