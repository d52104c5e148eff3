"""The Models table at 100,000 rows: our virtual table beside Textual's DataTable and
textual-fastdatatable.

One worker interpreter (``--worker``) does everything, so the rows are built once:

1. **Analysing one model**: :func:`core.catalog.rows.analyze_entry` on every real catalog
   entry, one warm-up pass and then several timed passes (``perf_counter_ns`` per call).
2. **Rows**: 100,000 *analysed* variants of the real entries (``org/name-v00042``, the stated
   parameter count scaled by 0.25–4.2×, so sizes, speeds, fits and thermal classes vary), each
   with its own :class:`~core.catalog.rows.ModelRow` and ``Analysis``, built in one worker thread
   (timed: "analysing 100,000 models"), for the ``RTX 4090`` what-if profile.
3. **Contenders**: the worker forks one child per contender (the rows are inherited, not
   rebuilt; each child then imports Textual afresh), and each child runs a headless app
   (``App.run_test(size=(160, 48))``):

   - ``ours-screen``: the real :class:`tui.app.ThermalScoutApp` (``tests/tui/snapshot_app``'s
     sensor-less scenario) with the rows in its store (``CatalogRowsLoaded``), key ``3``;
   - ``ours-widget``: our :class:`~tui.widgets.virtual_table.VirtualTable` over
     :class:`core.table.RowTable` alone, on a screen with a search Input (the same shape as the
     two below);
   - ``datatable``: Textual's built-in ``DataTable``, used naively: ``add_columns`` then one
     ``add_rows`` call with every row's cell texts; a filter is ``clear()`` plus ``add_rows``
     of the matching rows;
   - ``fastdatatable``: ``textual_fastdatatable.DataTable`` over an ``ArrowBackend`` built from
     the cell texts (its documented fast path); it has no ``clear()`` ("unmount this table and
     mount a new one instead"), so a filter mounts a new table over ``arrow_table.take(rows)``.

   Every contender filters and sorts with the same code (``RowTable.filter`` then
   ``sort_indices`` by tok/s, descending, as the Models screen does), so the figures differ
   by what the widget costs.

**First paint**: from posting the key that opens the table's screen to the end of the first
frame (``Screen._compositor_refresh`` → ``App._display``) in which the table drew a data row
(its ``render_line`` returned a non-blank line below the header while it held rows).
**Filter keystroke**: from posting one key to the focused search Input to the end of the first
frame drawn after the table received the filtered rows (``set_rows`` / ``add_rows`` / mount)
and redrew a data row; "until idle" is the last frame before the app went quiet (no frame for
150 ms, event loop on time), which also counts deferred work such as DataTable's measuring on
idle. Headless: ``App._display`` composes the frame but writes no escape codes; a terminal
adds that. Memory: ``VmRSS`` / ``VmHWM`` of the child from ``/proc/self/status``; the
``ours-screen`` run is repeated with ``tracemalloc`` started just before key ``3`` (what the
screen itself allocates).

Usage::

    .venv/bin/python benchmarks/table.py [--quick] [--json F]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import gc
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import PEER_ENV, ROOT, json_default, log, percentile, status_kib

sys.path.insert(0, str(ROOT))

ROWS = 100_000
SIZE = (160, 48)
PROFILE = "RTX 4090"
FDT_VERSION = "0.19.5"
PYARROW_VERSION = "26.0.1"
FDT_DIR = PEER_ENV / "fastdatatable"
"""textual-fastdatatable and pyarrow, ``pip install --no-deps --target`` (Textual itself is the
project's, so all three contenders run on the same Textual)."""

LABELS = {
    "ours-screen": "Thermal Scout Models screen (VirtualTable + RowTable, whole app)",
    "ours-widget": "VirtualTable + RowTable alone",
    "datatable": "Textual DataTable (naive add_rows)",
    "fastdatatable": f"textual-fastdatatable {FDT_VERSION} (ArrowBackend)",
}

BROAD = 50_000
"""Keystrokes leaving at least this many rows shown are reported apart as "broad"."""

QUERIES = ("llama-3", "qwen 7b", "bert")
"""Typed one character at a time, each followed by as many backspaces."""


def keystrokes() -> list[str]:
    """The key sequence typed into the search box (Textual key names)."""
    keys: list[str] = []
    for query in QUERIES:
        keys += list(query)
        keys += ["backspace"] * len(query)
    return keys


# -- small helpers ---------------------------------------------------------------------------


def _rss_mib(key: str = "VmRSS") -> float | None:
    kib = status_kib(os.getpid(), key)
    return None if kib is None else kib / 1024


def _ms_summary(values: Sequence[float]) -> dict[str, Any]:
    if not values:
        return {"median": None, "p90": None, "max": None, "n": 0}
    return {
        "median": statistics.median(values),
        "p90": percentile(values, 90),
        "max": max(values),
        "n": len(values),
    }


def _fdt_check() -> tuple[str | None, str | None]:
    """(textual-fastdatatable version, pyarrow version) importable from :data:`FDT_DIR`."""
    code = (
        "import sys, json; sys.path.insert(0, sys.argv[1])\n"
        "import importlib.metadata as m, textual_fastdatatable, pyarrow\n"
        "print(json.dumps([m.version('textual-fastdatatable'), pyarrow.__version__]))\n"
    )
    try:
        result = subprocess.run(
            [sys.executable, "-c", code, str(FDT_DIR)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None, None
    if result.returncode != 0:
        return None, None
    fdt, arrow = json.loads(result.stdout)
    return fdt, arrow


def ensure_fastdatatable() -> dict[str, Any]:
    """Install textual-fastdatatable and pyarrow (pinned) into :data:`FDT_DIR` when missing."""
    fdt, arrow = _fdt_check()
    if fdt == FDT_VERSION and arrow == PYARROW_VERSION:
        return {"version": fdt, "pyarrow": arrow, "reason": None, "installed_mib": _du_mib(FDT_DIR)}
    log(f"table: pip install --target {FDT_DIR.relative_to(ROOT)} textual-fastdatatable")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--upgrade",
            "--no-deps",
            "--target",
            str(FDT_DIR),
            f"textual-fastdatatable=={FDT_VERSION}",
            f"pyarrow=={PYARROW_VERSION}",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    fdt, arrow = _fdt_check()
    if fdt is None:
        tail = " | ".join((result.stderr or result.stdout).strip().splitlines()[-2:])
        return {"version": None, "pyarrow": None, "reason": f"pip install failed: {tail}"}
    return {"version": fdt, "pyarrow": arrow, "reason": None, "installed_mib": _du_mib(FDT_DIR)}


def _du_mib(path: Path) -> float:
    """Size of the files under ``path``."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


# -- the rows (worker process) ---------------------------------------------------------------


def _settings() -> Any:
    from core.analysis.hardware_profiles import profile_for
    from core.catalog.rows import AnalysisSettings

    return AnalysisSettings(profile_for(PROFILE), "bf16", 4096)


def _variant(entries: Sequence[Any], i: int) -> Any:
    entry = entries[i % len(entries)]
    scale = 0.25 + ((i // len(entries)) * 37 % 100) / 25
    params = int(entry.params_total * scale) if entry.params_total else None
    return dataclasses.replace(entry, repo_id=f"{entry.repo_id}-v{i:05d}", params_total=params)


def time_analysis(entries: Sequence[Any], settings: Any, passes: int) -> dict[str, Any]:
    """``analyze_entry`` on every real entry: one warm-up pass, then ``passes`` timed ones."""
    from core.catalog.rows import analyze_entry

    for entry in entries:
        analyze_entry(entry, settings)
    samples: list[float] = []
    for _ in range(passes):
        for entry in entries:
            t0 = time.perf_counter_ns()
            analyze_entry(entry, settings)
            samples.append((time.perf_counter_ns() - t0) / 1000)
    return {
        "median_us": statistics.median(samples),
        "p90_us": percentile(samples, 90),
        "max_us": max(samples),
        "n": len(samples),
        "entries": len(entries),
        "passes": passes,
    }


def traced_bytes_per_row(entries: Sequence[Any], settings: Any, sample: int = 2000) -> float:
    """What one analysed row keeps allocated (tracemalloc over ``sample`` rows)."""
    from core.catalog.rows import analyze_entry

    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    rows = [analyze_entry(_variant(entries, i), settings) for i in range(sample)]
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    del rows
    return used / sample


def build_rows(entries: Sequence[Any], settings: Any, count: int) -> tuple[list[Any], float]:
    """``count`` analysed variant rows, built in one worker thread; (rows, seconds)."""
    from core.catalog.rows import analyze_entry

    rows: list[Any] = []

    def work() -> None:
        rows.extend(analyze_entry(_variant(entries, i), settings) for i in range(count))

    thread = threading.Thread(target=work, name="analyse 100k")
    t0 = time.perf_counter()
    thread.start()
    thread.join()
    return rows, time.perf_counter() - t0


# -- probing frames (child process) ----------------------------------------------------------


class Breakdown:
    """Time spent in chosen methods (and the garbage collector) since the last reset, in ms."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self._gc_started = 0.0
        self._depth: dict[str, int] = {}
        self.returned: Callable[[], None] | None = None
        """Called after each timed outermost call returns (the probe snapshots here)."""

    def reset(self) -> None:
        self.ms = {}
        self.counts = {}

    def add(self, label: str, seconds: float) -> None:
        self.ms[label] = self.ms.get(label, 0.0) + seconds * 1000
        self.counts[label] = self.counts.get(label, 0) + 1

    def wrap(self, cls: type, attr: str, label: str) -> None:
        """Time every call of ``cls.attr`` (outermost call only, for recursion)."""
        original = getattr(cls, attr)
        breakdown = self

        @functools.wraps(original)  # Textual counts a watcher's parameters
        def timed(*args: Any, **kwargs: Any) -> Any:
            depth = breakdown._depth.get(label, 0)
            breakdown._depth[label] = depth + 1
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                breakdown._depth[label] = depth
                if depth == 0:
                    breakdown.add(label, time.perf_counter() - t0)
                    if breakdown.returned is not None:
                        breakdown.returned()

        setattr(cls, attr, timed)

    def watch_gc(self) -> None:
        def callback(phase: str, info: dict[str, Any]) -> None:
            if phase == "start":
                self._gc_started = time.perf_counter()
            else:
                self.add(f"gc{info.get('generation', '?')}", time.perf_counter() - self._gc_started)

        gc.callbacks.append(callback)


class Probe:
    """Watches frames and the table's drawn lines; armed before each key press."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.updated = False
        self.row_drawn = False
        self.first_frame: float | None = None
        self.last_frame = 0.0
        self.frames = 0
        self.breakdown: Breakdown | None = None
        self.at_first_frame: dict[str, float] = {}
        self._snapshot_due = False

    def arm(self) -> float:
        """Forget what was drawn; the next update counts. Returns the start time."""
        self.updated = False
        self.row_drawn = False
        self.first_frame = None
        self.at_first_frame = {}
        self._snapshot_due = False
        if self.breakdown is not None:
            self.breakdown.reset()
        self.event.clear()
        return time.perf_counter()

    def mark_updated(self) -> None:
        """The table has received its new rows."""
        self.updated = True
        self.row_drawn = False

    def line(self, table: Any, y: int, strip: Any) -> None:
        if self.updated and y >= 1 and table.row_count and strip.text.strip():
            self.row_drawn = True

    def frame(self) -> None:
        now = time.perf_counter()
        self.last_frame = now
        self.frames += 1
        if self.row_drawn and self.first_frame is None:
            self.first_frame = now
            self._snapshot_due = True
            self.event.set()

    def snapshot(self) -> None:
        """After the first frame's ``_compositor_refresh`` returned: what it all cost."""
        if self._snapshot_due and self.breakdown is not None:
            self._snapshot_due = False
            self.at_first_frame = dict(self.breakdown.ms)

    async def settled(self, quiet_s: float = 0.15, limit_s: float = 30.0) -> float:
        """Wait until no frame came for ``quiet_s`` with the loop on time; the last frame."""
        seen = self.frames
        calm_since = time.perf_counter()
        deadline = calm_since + limit_s
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            after = time.perf_counter()
            if self.frames != seen or after - before > 0.03:
                seen = self.frames
                calm_since = after
            elif after - calm_since >= quiet_s or after > deadline:
                return self.last_frame


def install_probe(probe: Probe, table_classes: Sequence[type]) -> None:
    """Wrap ``App._display`` and each table class's ``render_line`` (in this child only)."""
    from textual.app import App

    display = App._display

    def _display(self: Any, screen: Any, renderable: Any) -> None:
        display(self, screen, renderable)
        if renderable is not None:
            probe.frame()

    App._display = _display  # type: ignore[method-assign]
    for cls in table_classes:
        original = cls.render_line

        def render_line(self: Any, y: int, _original: Callable[..., Any] = original) -> Any:
            strip = _original(self, y)
            probe.line(self, y, strip)
            return strip

        cls.render_line = render_line
    breakdown = Breakdown()
    breakdown.returned = probe.snapshot
    probe.breakdown = breakdown
    from textual.screen import Screen

    from core.table import RowTable

    breakdown.wrap(RowTable, "filter", "filter")
    breakdown.wrap(RowTable, "sort_indices", "sort")
    breakdown.wrap(Screen, "_refresh_layout", "layout")
    breakdown.wrap(Screen, "_compositor_refresh", "render")
    breakdown.watch_gc()


def key_event(key: str) -> Any:
    """The ``events.Key`` that Textual's pilot would send for ``key`` (a character or name)."""
    import unicodedata

    from textual import events
    from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key

    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    original = REPLACED_KEYS.get(key, key)
    char: str | None
    try:
        char = unicodedata.lookup(_get_unicode_name_from_key(original))
    except KeyError:
        char = key if len(key) == 1 else None
    return events.Key(key, char)


class Recorder:
    """JSON lines to a file, flushed each time (survives the parent killing us at the cap)."""

    def __init__(self, path: str) -> None:
        self.stream = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by os._exit

    def __call__(self, **record: Any) -> None:
        self.stream.write(json.dumps(record, default=json_default) + "\n")
        self.stream.flush()


async def _timed_keys(
    app: Any,
    pilot: Any,
    probe: Probe,
    record: Recorder,
    keys: Sequence[str],
    query_of: Callable[[], str],
    shown: Callable[[], int],
    budget_end: float,
) -> None:
    for index, key in enumerate(keys):
        if time.perf_counter() > budget_end:
            record(kind="note", text=f"stopped after {index} keystrokes (time budget)")
            break
        record(kind="key_start", key=key, at=time.monotonic())
        t0 = probe.arm()
        app._driver.send_message(key_event(key))
        try:
            await asyncio.wait_for(probe.event.wait(), timeout=120)
        except asyncio.TimeoutError:
            record(kind="note", text=f"no updated frame within 120 s after key {key!r}")
            break
        assert probe.first_frame is not None
        first = probe.first_frame - t0
        last = await probe.settled()
        record(
            kind="key",
            key=key,
            query=query_of(),
            shown=shown(),
            first_ms=first * 1000,
            idle_ms=(last - t0) * 1000,
            parts_ms=probe.at_first_frame,
        )
    await pilot.pause()


# -- contenders (child process) --------------------------------------------------------------


def _order(table: Any, query: str) -> list[int]:
    from core.catalog.columns import COLUMN_BY_KEY

    column = COLUMN_BY_KEY["decode_tokens_per_s"]
    return list(table.sort_indices(table.filter(query), key=column.value, reverse=True))


async def run_ours_screen(
    rows: list[Any], record: Recorder, keys: Sequence[str], budget_s: float, trace: bool
) -> None:
    """The real app: rows into the store, key ``3``, then type into the search box."""
    from textual.widgets import Input

    from core.table import RowTable
    from tests.tui.snapshot_app import make_app, settle
    from tui.app import ThermalScoutApp
    from tui.screens.models import ModelsScreen
    from tui.widgets.virtual_table import VirtualTable

    probe = Probe()
    install_probe(probe, [VirtualTable])
    set_rows = VirtualTable.set_rows

    def wrapped(self: Any, *args: Any, **kwargs: Any) -> None:
        set_rows(self, *args, **kwargs)
        probe.mark_updated()

    VirtualTable.set_rows = wrapped  # type: ignore[method-assign]
    assert probe.breakdown is not None
    probe.breakdown.wrap(VirtualTable, "set_rows", "set_rows")
    probe.breakdown.wrap(ModelsScreen, "_refresh_view", "refresh_view")
    probe.breakdown.wrap(ModelsScreen, "watch_catalog", "watch_catalog")
    probe.breakdown.wrap(ModelsScreen, "_refresh_filter_options", "filter_options")
    probe.breakdown.wrap(RowTable, "__init__", "rowtable_init")
    app = make_app("sensorless")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        app.post_message(ThermalScoutApp.CatalogRowsLoaded(rows, "catalog"))
        await pilot.pause()
        if len(app.state.catalog.rows) != len(rows):
            record(kind="error", text=f"store holds {len(app.state.catalog.rows)} rows")
            return
        gc.collect()
        record(kind="rss_before", mib=_rss_mib())
        if trace:
            tracemalloc.start()
        t0 = probe.arm()
        app._driver.send_message(key_event("3"))
        await asyncio.wait_for(probe.event.wait(), timeout=300)
        assert probe.first_frame is not None
        first = probe.first_frame - t0
        last = await probe.settled()
        screen = app.screen
        table = screen.query_one(VirtualTable)
        record(
            kind="first_paint",
            s=first,
            idle_s=last - t0,
            parts_ms=probe.at_first_frame,
            screen=type(screen).__name__,
            shown=table.row_count,
        )
        if trace:
            gc.collect()
            current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            record(kind="traced", current_mib=current / 2**20, peak_mib=peak / 2**20)
            return
        record(kind="rss_after", mib=_rss_mib())
        if not isinstance(screen, ModelsScreen):
            record(kind="error", text=f"screen is {type(screen).__name__}")
            return
        await pilot.press("slash")
        search = screen.query_one("#models-search", Input)
        search.cursor_blink = False
        await pilot.pause()
        await probe.settled()
        await _timed_keys(
            app,
            pilot,
            probe,
            record,
            keys,
            lambda: search.value,
            lambda: table.row_count,
            time.perf_counter() + budget_s,
        )
        record(kind="rss_end", mib=_rss_mib(), hwm=_rss_mib("VmHWM"))


def _bare_app(make_screen: Callable[[], Any]) -> Any:
    """An app that shows a placeholder until ``3`` pushes the table's screen."""
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    class TableBench(App[None]):
        BINDINGS = [("3", "show", "Table")]  # noqa: RUF012

        def compose(self) -> ComposeResult:
            yield Static("press 3")

        def action_show(self) -> None:
            self.push_screen(make_screen())

    return TableBench()


def _cells(rows: Sequence[Any]) -> list[tuple[str, ...]]:
    from core.catalog.columns import COLUMNS

    texts = [c.text for c in COLUMNS]
    return [tuple(text(row) for text in texts) for row in rows]


def screen_ours(rows: list[Any], probe: Probe, info: dict[str, Any]) -> Any:
    from textual.app import ComposeResult
    from textual.screen import Screen
    from textual.widgets import Input

    from core.catalog.columns import COLUMNS
    from core.table import RowTable
    from tui.screens.models import _cell, _row_class
    from tui.widgets.virtual_table import ColumnSpec, VirtualTable

    class OursScreen(Screen[None]):
        AUTO_FOCUS = "Input"

        def compose(self) -> ComposeResult:
            yield Input(placeholder="search")
            yield VirtualTable(
                [ColumnSpec(c.key, c.label, c.width, c.align) for c in COLUMNS], _cell, _row_class
            )

        def on_mount(self) -> None:
            self.table: RowTable[Any] = RowTable(rows, text=lambda r: r.search_text)
            self._show("")

        def _show(self, query: str) -> None:
            self.query_one(VirtualTable).set_rows(self.table.rows, _order(self.table, query))
            probe.mark_updated()

        def on_input_changed(self, event: Input.Changed) -> None:
            self._show(event.value)

    return OursScreen()


def screen_datatable(rows: list[Any], probe: Probe, info: dict[str, Any]) -> Any:
    from textual.app import ComposeResult
    from textual.screen import Screen
    from textual.widgets import DataTable, Input

    from core.catalog.columns import COLUMNS
    from core.table import RowTable

    class DataTableScreen(Screen[None]):
        AUTO_FOCUS = "Input"

        def compose(self) -> ComposeResult:
            yield Input(placeholder="search")
            yield DataTable(cursor_type="row")

        def on_mount(self) -> None:
            t0 = time.perf_counter()
            self.cells = _cells(rows)
            info["cells_s"] = time.perf_counter() - t0
            self.table: RowTable[Any] = RowTable(rows, text=lambda r: r.search_text)
            table = self.query_one(DataTable)
            table.add_columns(*(c.label for c in COLUMNS))
            table.add_rows(self.cells[i] for i in _order(self.table, ""))
            probe.mark_updated()

        def on_input_changed(self, event: Input.Changed) -> None:
            table = self.query_one(DataTable)
            table.clear()
            table.add_rows(self.cells[i] for i in _order(self.table, event.value))
            probe.mark_updated()

    return DataTableScreen()


def screen_fastdatatable(rows: list[Any], probe: Probe, info: dict[str, Any]) -> Any:
    import pyarrow as pa
    from textual.app import ComposeResult
    from textual.screen import Screen
    from textual.widgets import Input
    from textual_fastdatatable import ArrowBackend, DataTable

    from core.catalog.columns import COLUMNS
    from core.table import RowTable

    class FastScreen(Screen[None]):
        AUTO_FOCUS = "Input"

        def compose(self) -> ComposeResult:
            t0 = time.perf_counter()
            self.arrow = pa.table({c.label: [c.text(r) for r in rows] for c in COLUMNS})
            info["cells_s"] = time.perf_counter() - t0
            self.table: RowTable[Any] = RowTable(rows, text=lambda r: r.search_text)
            yield Input(placeholder="search")
            yield self._new_table("")

        def _new_table(self, query: str) -> Any:
            order = pa.array(_order(self.table, query), type=pa.int64())
            return DataTable(backend=ArrowBackend(self.arrow.take(order)), cursor_type="row")

        def on_mount(self) -> None:
            probe.mark_updated()

        async def on_input_changed(self, event: Input.Changed) -> None:
            new = self._new_table(event.value)
            await self.query_one(DataTable).remove()
            probe.mark_updated()
            await self.mount(new)

    return FastScreen()


async def run_bare(
    name: str, rows: list[Any], record: Recorder, keys: Sequence[str], budget_s: float
) -> None:
    """One of the widget-only contenders: press ``3``, then type into the search box."""
    from textual.widgets import Input

    from tui.widgets.virtual_table import VirtualTable

    probe = Probe()
    info: dict[str, Any] = {}
    if name == "ours-widget":
        install_probe(probe, [VirtualTable])
        assert probe.breakdown is not None
        probe.breakdown.wrap(VirtualTable, "set_rows", "set_rows")
        factory = screen_ours
    elif name == "datatable":
        from textual.widgets import DataTable

        install_probe(probe, [DataTable])
        assert probe.breakdown is not None
        probe.breakdown.wrap(DataTable, "add_rows", "add_rows")
        probe.breakdown.wrap(DataTable, "_update_dimensions", "update_dimensions")
        factory = screen_datatable
    else:
        sys.path.insert(0, str(FDT_DIR))
        from textual_fastdatatable import DataTable as FastDataTable

        install_probe(probe, [FastDataTable])
        factory = screen_fastdatatable
    app = _bare_app(lambda: factory(rows, probe, info))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        gc.collect()
        record(kind="rss_before", mib=_rss_mib())
        t0 = probe.arm()
        app._driver.send_message(key_event("3"))
        await asyncio.wait_for(probe.event.wait(), timeout=600)
        assert probe.first_frame is not None
        first = probe.first_frame - t0
        last = await probe.settled()
        screen = app.screen
        table = screen.children[-1]
        record(
            kind="first_paint",
            s=first,
            idle_s=last - t0,
            parts_ms=probe.at_first_frame,
            screen=type(screen).__name__,
            shown=table.row_count,
            **info,
        )
        record(kind="rss_after", mib=_rss_mib())
        search = screen.query_one(Input)
        search.cursor_blink = False
        await probe.settled()
        await _timed_keys(
            app,
            pilot,
            probe,
            record,
            keys,
            lambda: search.value,
            lambda: int(screen.children[-1].row_count),
            time.perf_counter() + budget_s,
        )
        record(kind="rss_end", mib=_rss_mib(), hwm=_rss_mib("VmHWM"))


def child_main(name: str, rows: list[Any], path: str, keys: Sequence[str], budget_s: float) -> None:
    """Run one contender in this (forked) process, recording to ``path``."""
    record = Recorder(path)
    record(kind="rss_start", mib=_rss_mib())
    try:
        if name in ("ours-screen", "ours-screen-trace"):
            coro = run_ours_screen(rows, record, keys, budget_s, trace=name.endswith("trace"))
        else:
            coro = run_bare(name, rows, record, keys, budget_s)
        asyncio.run(coro)
    except BaseException:
        record(kind="error", text=traceback.format_exc(limit=6).strip().splitlines()[-1])
        record(kind="traceback", text=traceback.format_exc(limit=12))


def run_forked(
    name: str, rows: list[Any], keys: Sequence[str], budget_s: float, cap_s: float
) -> dict[str, Any]:
    """Fork, run ``name`` in the child, kill it at ``cap_s``; the child's records, parsed."""
    fd, path = tempfile.mkstemp(prefix=f"table-{name}-", suffix=".jsonl")
    os.close(fd)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            child_main(name, rows, path, keys, budget_s)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    started = time.monotonic()
    killed_at: float | None = None
    while True:
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() - started > cap_s:
            killed_at = time.monotonic()
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            break
        time.sleep(0.1)
    records = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    Path(path).unlink(missing_ok=True)
    return summarize_child(name, records, killed_at, cap_s, time.monotonic() - started)


def _parts(keys: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Median per keystroke of each timed part (0 where a keystroke had none of it)."""
    labels = sorted({label for k in keys for label in k.get("parts_ms", {})})
    return {
        label: statistics.median(k.get("parts_ms", {}).get(label, 0.0) for k in keys)
        for label in labels
    }


def summarize_child(
    name: str,
    records: list[dict[str, Any]],
    killed_at: float | None,
    cap_s: float,
    seconds: float,
) -> dict[str, Any]:
    """One contender's result from its records (``killed_at``: when the cap struck)."""
    by_kind: dict[str, dict[str, Any]] = {}
    keys = [r for r in records if r["kind"] == "key"]
    notes = [r["text"] for r in records if r["kind"] in ("note", "error")]
    for r in records:
        by_kind.setdefault(r["kind"], r)
    paint = by_kind.get("first_paint")
    unfinished_ms: float | None = None
    if killed_at is not None:
        starts = [r for r in records if r["kind"] == "key_start"]
        if paint is None:
            notes.append(f"over cap: killed after {cap_s:.0f} s, before its first paint")
        elif len(starts) > len(keys):
            unfinished_ms = (killed_at - starts[-1]["at"]) * 1000
            notes.append(
                f"over cap: killed after {cap_s:.0f} s, keystroke {len(starts)} "
                f"({starts[-1]['key']!r}) still unfinished after {unfinished_ms / 1000:.1f} s"
            )
        else:
            notes.append(f"over cap: killed after {cap_s:.0f} s")
    out: dict[str, Any] = {
        "label": LABELS.get(name, name),
        "measured": paint is not None,
        "first_paint_s": paint["s"] if paint else None,
        "first_paint_idle_s": paint["idle_s"] if paint else None,
        "shown": paint["shown"] if paint else None,
        "cells_s": paint.get("cells_s") if paint else None,
        "filter_ms": _ms_summary([k["first_ms"] for k in keys]),
        "filter_idle_ms": _ms_summary([k["idle_ms"] for k in keys]),
        "filter_broad_ms": _ms_summary([k["first_ms"] for k in keys if k["shown"] >= BROAD]),
        "filter_narrow_ms": _ms_summary([k["first_ms"] for k in keys if k["shown"] < BROAD]),
        "filter_parts_ms": _parts(keys),
        "first_paint_parts_ms": paint.get("parts_ms") if paint else None,
        "rss_start_mib": by_kind.get("rss_start", {}).get("mib"),
        "rss_before_mib": by_kind.get("rss_before", {}).get("mib"),
        "rss_mib": by_kind.get("rss_after", {}).get("mib"),
        "rss_end_mib": by_kind.get("rss_end", {}).get("mib"),
        "vm_hwm_mib": by_kind.get("rss_end", {}).get("hwm"),
        "over_cap": killed_at is not None,
        "unfinished_key_ms": unfinished_ms,
        "cap_s": cap_s,
        "seconds": seconds,
        "keystrokes": keys,
        "notes": notes,
    }
    if "traced" in by_kind:
        out["traced_mib"] = by_kind["traced"]["current_mib"]
        out["traced_peak_mib"] = by_kind["traced"]["peak_mib"]
    if "traceback" in by_kind:
        out["traceback"] = by_kind["traceback"]["text"]
    return out


def worker(
    quick: bool, fdt: dict[str, Any], count: int = ROWS, only: Sequence[str] = ()
) -> dict[str, Any]:
    """Everything, in this process: analysis timing, the rows, then one fork per contender."""
    from core.catalog.embedded import load_catalog

    entries = load_catalog()
    settings = _settings()
    log(f"table: analysing the {len(entries)} catalog entries")
    analysis = time_analysis(entries, settings, passes=3 if quick else 10)
    per_row = traced_bytes_per_row(entries, settings, 1000 if quick else 5000)
    gc.collect()
    rss0 = _rss_mib()
    log(f"table: analysing {count:,} variants in one worker thread")
    rows, seconds = build_rows(entries, settings, count)
    gc.collect()
    rss1 = _rss_mib()
    analysis["total_100k_s"] = seconds * ROWS / count
    build = {
        "rows": len(rows),
        "errors": sum(1 for r in rows if r.error is not None),
        "seconds": seconds,
        "rss_before_mib": rss0,
        "rss_after_mib": rss1,
        "traced_bytes_per_row": per_row,
        "profile": PROFILE,
    }
    log(
        f"table: {len(rows):,} rows in {seconds:.1f} s, RSS {rss0:.0f} → {rss1:.0f} MiB "
        f"({per_row:,.0f} B/row traced)"
    )
    keys = keystrokes()
    contenders: dict[str, Any] = {}
    plan: list[tuple[str, int, float, float]] = [
        # name, keystrokes, time budget for the keys (s), hard cap (s)
        ("ours-screen", len(keys), 60.0, 180.0),
        ("ours-widget", len(keys), 60.0, 180.0),
        ("datatable", 3 if quick else 8, 30.0 if quick else 90.0, 60.0 if quick else 150.0),
        ("fastdatatable", 14 if quick else len(keys), 30.0 if quick else 60.0, 120.0),
    ]
    for name, typed, budget, cap in plan:
        if only and name not in only:
            continue
        if name == "fastdatatable" and fdt.get("reason"):
            contenders[name] = {
                "label": LABELS[name],
                "measured": False,
                "notes": [f"not measured: {fdt['reason']}"],
            }
            continue
        log(f"table: {name}")
        load_before = os.getloadavg()[0]
        result = run_forked(name, rows, keys[:typed], budget, cap)
        result["loadavg_1min"] = [load_before, os.getloadavg()[0]]
        contenders[name] = result
        _log_contender(name, result)
    traced: dict[str, Any] = {}
    if not only or "ours-screen-trace" in only:
        log("table: ours-screen with tracemalloc")
        traced = run_forked("ours-screen-trace", rows, [], 0.0, 180.0)
    return {
        "rows": len(rows),
        "size": list(SIZE),
        "profile": PROFILE,
        "quick": quick,
        "queries": list(QUERIES),
        "keys": keys,
        "analysis": analysis,
        "build": build,
        "contenders": contenders,
        "screen_traced_mib": traced.get("traced_mib"),
        "screen_traced_peak_mib": traced.get("traced_peak_mib"),
        "screen_traced_notes": traced.get("notes"),
        "fastdatatable": fdt,
        "textual": _version("textual"),
    }


def _version(name: str) -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _log_contender(name: str, r: dict[str, Any]) -> None:
    if not r.get("measured"):
        log(f"table: {name}: not measured: {'; '.join(r.get('notes') or [])}")
        if r.get("traceback"):
            log(r["traceback"])
        return
    f = r["filter_ms"]
    med = f"{f['median']:.1f}" if f["median"] is not None else "–"
    p90 = f"{f['p90']:.1f}" if f["p90"] is not None else "–"
    log(
        f"table: {name:14} first paint {r['first_paint_s']:.3f} s, filter median {med} ms "
        f"(p90 {p90}, n={f['n']}), RSS {r['rss_mib'] or 0:.0f} MiB"
        + (f"  [{'; '.join(r['notes'])}]" if r["notes"] else "")
    )


# -- entry points ----------------------------------------------------------------------------


def measure(quick: bool) -> dict[str, Any]:
    """The whole section, in a fresh worker interpreter; JSON-serialisable."""
    fdt = ensure_fastdatatable()
    argv = [sys.executable, __file__, "--worker", "--fdt", json.dumps(fdt)]
    if quick:
        argv.append("--quick")
    try:
        proc = subprocess.run(
            argv, stdout=subprocess.PIPE, text=True, timeout=900 if quick else 1800, check=False
        )
    except subprocess.TimeoutExpired as exc:
        return {"error": f"worker still running after {exc.timeout:.0f} s", "fastdatatable": fdt}
    if proc.returncode != 0 or not proc.stdout.strip():
        return {"error": f"worker exited with {proc.returncode}", "fastdatatable": fdt}
    data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return data


def main(argv: list[str] | None = None) -> int:
    """Command line: the section alone (``--worker`` is the internal worker)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer keystrokes, lower caps")
    parser.add_argument("--json", type=Path, help="write the result here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--fdt", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=ROWS, help=argparse.SUPPRESS)
    parser.add_argument("--only", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        sys.stdout, out = sys.stderr, sys.stdout  # progress lines go to stderr
        only = [x for x in args.only.split(",") if x]
        result = worker(args.quick, json.loads(args.fdt or "{}"), args.rows, only)
        out.write(json.dumps(result, default=json_default) + "\n")
        out.flush()
        return 0
    result = measure(args.quick)
    text = json.dumps(result, indent=2, default=json_default)
    if args.json:
        args.json.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
