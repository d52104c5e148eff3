"""The application state: immutable slices and pure transitions. No Textual here.

The App holds one :class:`AppState` in a reactive and exposes each slice as a computed
reactive. Slices compare by identity (``eq=False``): a transition that changes a slice returns
a new slice object, one that does not returns the very same object, so a watcher of a slice
wakes exactly when that slice changed — a 1 Hz telemetry sample never wakes the hardware
watchers. Later features add their slices (catalog, comparison, profiles, benchmark, cache)
next to these.

Example:
    >>> state = initial_state(interval_s=1.0, history_s=10.0, source="live")
    >>> new = with_samples(state, [Sample(t_s=0.0)])
    >>> new.hardware is state.hardware, new.telemetry is state.telemetry
    (True, False)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from core.hwinfo import HardwareInfo
from core.telemetry.history import SampleHistory
from core.telemetry.sample import Sample

HardwareStatus = Literal["detecting", "ready", "failed"]


@dataclass(frozen=True, eq=False)
class HardwareSlice:
    """What the machine is.

    Attributes:
        status: ``detecting`` until the detector reports, then ``ready`` or ``failed``.
        info: The detected hardware.
        error: One line when detection failed.
    """

    status: HardwareStatus = "detecting"
    info: HardwareInfo | None = None
    error: str | None = None


@dataclass(frozen=True, eq=False)
class TelemetrySlice:
    """Live (or replayed) readings.

    ``history`` is an append-only ring shared by successive slice values; ``seq`` counts the
    samples appended, so ``(history, seq)`` identifies what a slice value has seen.

    Attributes:
        latest: The newest sample, or None before the first tick.
        history: Bounded history for plots and summaries.
        seq: Samples received so far.
        source: ``"live"`` or ``"replay: FILE"``.
        interval_s: Sampling interval.
        recording: Path being recorded to, or None.
        finished: True when a replay reached its end.
        notice: Latest one-line notice about telemetry (a recording stopped, a bad trace line).
    """

    latest: Sample | None
    history: SampleHistory
    seq: int = 0
    source: str = "live"
    interval_s: float = 1.0
    recording: str | None = None
    finished: bool = False
    notice: str | None = None


CatalogStatus = Literal["idle", "loading", "ready", "failed"]


@dataclass(frozen=True, eq=False)
class CatalogSlice:
    """The model browser's rows and what they were analysed for.

    Attributes:
        rows: Every row from every source, in arrival order (``ModelRow`` values).
        status: ``loading`` while a source is being read or re-analysed.
        hardware: Name of the device the rows are analysed for (``this machine`` or a profile).
        precision: Weight precision of the analysis.
        context: Context length of the analysis.
        notices: One line per source that could not answer (``Hub offline …``).
        generation: Bumped whenever the rows are replaced, so views can tell a new set.
    """

    rows: tuple[Any, ...] = ()
    status: CatalogStatus = "idle"
    hardware: str = "this machine"
    precision: str = "bf16"
    context: int = 4096
    notices: tuple[str, ...] = ()
    generation: int = 0


MAX_COMPARED = 4
"""Models side by side on the Compare screen."""


@dataclass(frozen=True, eq=False)
class ComparisonSlice:
    """Models picked for side-by-side comparison, in the order they were added."""

    ids: tuple[str, ...] = ()


CacheStatus = Literal["idle", "scanning", "ready", "deleting"]


@dataclass(frozen=True, eq=False)
class CacheSlice:
    """The Hugging Face cache as last scanned, for the Cache screen.

    Attributes:
        view: The scan (``core.cache_manager.CacheView``), None before the first.
        status: ``scanning`` or ``deleting`` while a worker is busy.
        notice: The latest one-line outcome (``freed 1.2 GB``, ``refused: … in use by …``).
        generation: Bumped with every new scan.
    """

    view: Any = None
    status: CacheStatus = "idle"
    notice: str | None = None
    generation: int = 0


BenchStatus = Literal["idle", "planning", "running", "done", "failed", "cancelled"]

MAX_BENCH_POINTS = 600
"""Live tokens/s points a benchmark keeps for its chart (a minute at the child's 10 Hz)."""


@dataclass(frozen=True, eq=False)
class BenchSlice:
    """The benchmark being run (or the last one) and the stored history, for the Benchmark screen.

    Attributes:
        status: ``planning`` (checking the spec), ``running``, then ``done``, ``failed`` or
            ``cancelled``; ``idle`` before the first run.
        spec: What was asked (``core.bench.plan.BenchSpec``).
        summary: The plan in one line (``gpt2 with transformers on cpu (float32); predicted …``).
        notes: The plan's warnings (``--force`` used, no token count …).
        device: The device the plan runs on (``cpu``, ``cuda:0``), whose telemetry to watch.
        progress: The latest ``core.bench.runner.Progress``.
        points: Live decode tokens/s, oldest first (at most :data:`MAX_BENCH_POINTS`).
        result: The ``core.bench.runner.BenchResult`` of the run, once it ended.
        error: One line when the run was refused or failed.
        stored_id: The history id of the stored result (only ``ok`` results are stored).
        history: Stored runs (``core.bench.store.HistoryEntry``), newest first.
        history_loaded: True once the history was read.
        generation: Bumped with every run started; messages of an older run are ignored.
    """

    status: BenchStatus = "idle"
    spec: Any = None
    summary: str | None = None
    notes: tuple[str, ...] = ()
    device: str | None = None
    progress: Any = None
    points: tuple[float, ...] = ()
    result: Any = None
    error: str | None = None
    stored_id: int | None = None
    history: tuple[Any, ...] = ()
    history_loaded: bool = False
    generation: int = 0

    @property
    def busy(self) -> bool:
        """True while a run is being planned or running."""
        return self.status in ("planning", "running")


@dataclass(frozen=True, eq=False)
class AppState:
    """The one store: a slice per concern."""

    hardware: HardwareSlice
    telemetry: TelemetrySlice
    catalog: CatalogSlice = CatalogSlice()
    comparison: ComparisonSlice = ComparisonSlice()
    cache: CacheSlice = CacheSlice()
    bench: BenchSlice = BenchSlice()


def initial_state(*, interval_s: float, history_s: float, source: str) -> AppState:
    """The state before anything was detected or sampled."""
    return AppState(
        hardware=HardwareSlice(),
        telemetry=TelemetrySlice(
            latest=None,
            history=SampleHistory.for_duration(history_s, interval_s),
            source=source,
            interval_s=interval_s,
        ),
    )


def with_hardware(state: AppState, info: HardwareInfo) -> AppState:
    """Hardware detection finished."""
    return replace(state, hardware=HardwareSlice(status="ready", info=info))


def with_hardware_failed(state: AppState, error: str) -> AppState:
    """Hardware detection failed; keep whatever was known."""
    return replace(
        state, hardware=HardwareSlice(status="failed", info=state.hardware.info, error=error)
    )


def with_samples(state: AppState, samples: Sequence[Sample]) -> AppState:
    """New telemetry arrived: append to the history and make the newest the latest.

    An empty batch changes nothing and returns ``state`` itself.
    """
    if not samples:
        return state
    telemetry = state.telemetry
    telemetry.history.extend(list(samples))
    return replace(
        state,
        telemetry=replace(telemetry, latest=samples[-1], seq=telemetry.seq + len(samples)),
    )


def with_recording(state: AppState, path: str | None, notice: str | None = None) -> AppState:
    """Recording started (``path``) or stopped (None), with an optional notice."""
    telemetry = state.telemetry
    if telemetry.recording == path and notice is None:
        return state
    return replace(state, telemetry=replace(telemetry, recording=path, notice=notice))


def with_telemetry_notice(state: AppState, notice: str) -> AppState:
    """A one-line telemetry notice (shown on the Thermals screen)."""
    return replace(state, telemetry=replace(state.telemetry, notice=notice))


def with_source_finished(state: AppState) -> AppState:
    """The replay reached its end."""
    if state.telemetry.finished:
        return state
    return replace(state, telemetry=replace(state.telemetry, finished=True))


def with_catalog_loading(
    state: AppState, *, hardware: str, precision: str, context: int
) -> AppState:
    """A (re-)analysis for these settings started."""
    catalog = replace(
        state.catalog, status="loading", hardware=hardware, precision=precision, context=context
    )
    return replace(state, catalog=catalog)


def with_catalog_rows(state: AppState, rows: Sequence[Any], *, source: str) -> AppState:
    """Rows of ``source`` arrived: they replace that source's previous rows."""
    kept = tuple(r for r in state.catalog.rows if getattr(r, "source", None) != source)
    catalog = replace(
        state.catalog,
        rows=kept + tuple(rows),
        status="ready",
        generation=state.catalog.generation + 1,
    )
    return replace(state, catalog=catalog)


def with_catalog_page(state: AppState, rows: Sequence[Any]) -> AppState:
    """A further page (Hub paging) arrived: append, skipping ids already shown by that source."""
    if not rows:
        return state
    seen = {(r.source, r.id) for r in state.catalog.rows}
    fresh = tuple(r for r in rows if (r.source, r.id) not in seen)
    catalog = replace(
        state.catalog, rows=state.catalog.rows + fresh, generation=state.catalog.generation + 1
    )
    return replace(state, catalog=catalog)


def with_catalog_notice(state: AppState, notice: str) -> AppState:
    """A source could not answer; the other sources keep working."""
    if notice in state.catalog.notices:
        return state
    catalog = replace(state.catalog, notices=(*state.catalog.notices, notice))
    return replace(state, catalog=catalog)


def toggle_compare(state: AppState, model_id: str) -> tuple[AppState, str]:
    """Add ``model_id`` to the comparison, or remove it; returns the new state and what happened.

    A fifth model is refused (the state is returned unchanged) with the reason.
    """
    ids = state.comparison.ids
    if model_id in ids:
        remaining = tuple(i for i in ids if i != model_id)
        message = f"removed {model_id} from the comparison ({len(remaining)}/{MAX_COMPARED})"
        return replace(state, comparison=ComparisonSlice(remaining)), message
    if len(ids) >= MAX_COMPARED:
        return state, f"the comparison holds {MAX_COMPARED} models; remove one first"
    added = (*ids, model_id)
    message = f"added {model_id} to the comparison ({len(added)}/{MAX_COMPARED})"
    return replace(state, comparison=ComparisonSlice(added)), message


def move_compared(state: AppState, model_id: str, delta: int) -> AppState:
    """Move ``model_id`` ``delta`` places left (negative) or right in the comparison.

    Moving past either end, or a model that is not compared, leaves the state unchanged.

    >>> s = toggle_compare(toggle_compare(_empty(), "a")[0], "b")[0]
    >>> move_compared(s, "b", -1).comparison.ids
    ('b', 'a')
    >>> move_compared(s, "a", -1) is s
    True
    """
    ids = list(state.comparison.ids)
    if model_id not in ids:
        return state
    old = ids.index(model_id)
    new = old + delta
    if not 0 <= new < len(ids) or new == old:
        return state
    ids.insert(new, ids.pop(old))
    return replace(state, comparison=ComparisonSlice(tuple(ids)))


def with_cache_status(state: AppState, status: CacheStatus, notice: str | None = None) -> AppState:
    """A cache worker started (``scanning``, ``deleting``) or finished with ``notice``."""
    cache = replace(state.cache, status=status, notice=notice or state.cache.notice)
    return replace(state, cache=cache)


def with_cache_view(state: AppState, view: Any) -> AppState:
    """A cache scan arrived."""
    cache = replace(state.cache, view=view, status="ready", generation=state.cache.generation + 1)
    return replace(state, cache=cache)


def _empty() -> AppState:
    return initial_state(interval_s=1.0, history_s=60.0, source="doctest")


def with_catalog_row_replaced(state: AppState, row: Any) -> AppState:
    """A row was re-analysed with more facts (a Hub model's config.json arrived)."""
    rows = state.catalog.rows
    for position, old in enumerate(rows):
        if old.source == row.source and old.id == row.id:
            updated = (*rows[:position], row, *rows[position + 1 :])
            catalog = replace(state.catalog, rows=updated, generation=state.catalog.generation + 1)
            return replace(state, catalog=catalog)
    return state


def with_bench_planning(state: AppState, spec: Any) -> AppState:
    """A run of ``spec`` was asked for: plan it. Refused (``state`` itself) while one is busy.

    The previous run's result, error and progress are cleared; the history stays.

    >>> s = with_bench_planning(_empty(), "spec")
    >>> s.bench.status, s.bench.generation, with_bench_planning(s, "other") is s
    ('planning', 1, True)
    """
    bench = state.bench
    if bench.busy:
        return state
    started = BenchSlice(
        status="planning",
        spec=spec,
        history=bench.history,
        history_loaded=bench.history_loaded,
        generation=bench.generation + 1,
    )
    return replace(state, bench=started)


def with_bench_planned(
    state: AppState,
    generation: int,
    summary: str,
    notes: Sequence[str] = (),
    *,
    device: str | None = None,
) -> AppState:
    """The plan was made and the run started (ignored for another run or a run that ended).

    >>> s = with_bench_planning(_empty(), "spec")
    >>> with_bench_planned(s, 1, "gpt2 on cpu").bench.status
    'running'
    >>> with_bench_planned(s, 0, "stale") is s
    True
    """
    bench = state.bench
    if generation != bench.generation or not bench.busy:
        return state
    planned = replace(bench, status="running", summary=summary, notes=tuple(notes), device=device)
    return replace(state, bench=planned)


def with_bench_progress(state: AppState, generation: int, events: Sequence[Any]) -> AppState:
    """Progress events (``Progress``) of the current run: keep the latest, chart the tok/s.

    Events of another run, or of a run that already ended, change nothing.

    >>> from types import SimpleNamespace as P
    >>> s = with_bench_planned(with_bench_planning(_empty(), "spec"), 1, "x")
    >>> s = with_bench_progress(s, 1, [P(phase="run", tokens_per_s=9.5), P(phase="run",
    ...     tokens_per_s=None)])
    >>> s.bench.points, s.bench.progress.tokens_per_s
    ((9.5,), None)
    >>> with_bench_progress(s, 0, [P(phase="run", tokens_per_s=1.0)]) is s
    True
    """
    bench = state.bench
    if generation != bench.generation or not bench.busy or not events:
        return state
    rates = [
        float(e.tokens_per_s)
        for e in events
        if getattr(e, "tokens_per_s", None) is not None and e.phase in ("warmup", "run")
    ]
    points = (bench.points + tuple(rates))[-MAX_BENCH_POINTS:] if rates else bench.points
    return replace(state, bench=replace(bench, progress=events[-1], points=points))


def with_bench_finished(
    state: AppState, generation: int, result: Any, *, stored_id: int | None = None
) -> AppState:
    """The run ended with ``result`` (a ``BenchResult``): ``done``, ``failed`` or ``cancelled``.

    >>> from types import SimpleNamespace as R
    >>> s = with_bench_planning(_empty(), "spec")
    >>> done = with_bench_finished(s, 1, R(status="ok", error=None), stored_id=7)
    >>> done.bench.status, done.bench.stored_id, done.bench.busy
    ('done', 7, False)
    >>> with_bench_finished(s, 1, R(status="failed", error="exited 1")).bench.error
    'exited 1'
    """
    bench = state.bench
    if generation != bench.generation or not bench.busy:
        return state
    status: BenchStatus = "failed"
    if result.status == "ok":
        status = "done"
    elif result.status == "cancelled":
        status = "cancelled"
    error = result.error if status == "failed" else None
    ended = replace(bench, status=status, result=result, error=error, stored_id=stored_id)
    return replace(state, bench=ended)


def with_bench_failed(state: AppState, generation: int, error: str) -> AppState:
    """The run could not start (refused, missing backend, bad option) or was not stored.

    >>> s = with_bench_failed(with_bench_planning(_empty(), "spec"), 1, "does not fit")
    >>> s.bench.status, s.bench.error, s.bench.result
    ('failed', 'does not fit', None)
    """
    bench = state.bench
    if generation != bench.generation or not bench.busy:
        return state
    return replace(state, bench=replace(bench, status="failed", error=error))


def with_bench_cancelling(state: AppState, generation: int) -> AppState:
    """A cancel was asked while planning: the run ends as ``cancelled`` without a result.

    (A running run stays ``running`` until its runner returns the cancelled result.)

    >>> s = with_bench_cancelling(with_bench_planning(_empty(), "spec"), 1)
    >>> s.bench.status
    'cancelled'
    """
    bench = state.bench
    if generation != bench.generation or bench.status != "planning":
        return state
    return replace(state, bench=replace(bench, status="cancelled"))


def with_bench_history(state: AppState, entries: Sequence[Any]) -> AppState:
    """The stored runs were (re-)read, newest first.

    >>> with_bench_history(_empty(), ["run"]).bench.history
    ('run',)
    """
    bench = replace(state.bench, history=tuple(entries), history_loaded=True)
    return replace(state, bench=bench)
