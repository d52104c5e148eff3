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


@dataclass(frozen=True, eq=False)
class AppState:
    """The one store: a slice per concern."""

    hardware: HardwareSlice
    telemetry: TelemetrySlice
    catalog: CatalogSlice = CatalogSlice()
    comparison: ComparisonSlice = ComparisonSlice()
    cache: CacheSlice = CacheSlice()


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
