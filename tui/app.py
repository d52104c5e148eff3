"""The Textual application: composes the screens, owns the store and the sampler worker.

Data flow (DESIGN.md): the sampler thread posts messages; the handlers below are the only
writers of :attr:`ThermalScoutApp.state`; each slice is a computed reactive that screens watch
and mirror into their own reactives, which widgets bind to.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import var
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from core import __version__
from core.config import Settings
from core.errors import RecordError
from core.hwinfo import HardwareInfo
from core.paths import recordings_dir, style_path
from core.state import (
    AppState,
    BenchSlice,
    CacheSlice,
    CatalogSlice,
    ComparisonSlice,
    HardwareSlice,
    TelemetrySlice,
    initial_state,
    move_compared,
    toggle_compare,
    with_bench_cancelling,
    with_bench_failed,
    with_bench_finished,
    with_bench_history,
    with_bench_planned,
    with_bench_planning,
    with_bench_progress,
    with_cache_status,
    with_cache_view,
    with_catalog_loading,
    with_catalog_notice,
    with_catalog_page,
    with_catalog_row_replaced,
    with_catalog_rows,
    with_hardware,
    with_hardware_failed,
    with_recording,
    with_samples,
    with_source_finished,
    with_telemetry_notice,
)
from core.telemetry.sample import Sample
from core.telemetry.sampler import LiveSource, Sampler, TelemetrySource
from core.telemetry.trace import ReplaySource, Trace, TraceWriter
from tui.messages import (
    THIS_MACHINE,
    AnalysisRequested,
    BenchCancelRequested,
    BenchHistoryRequested,
    BenchRunRequested,
    CacheDeleteRequested,
    CacheScanRequested,
    CompareMoved,
    CompareToggled,
    HubDetailsRequested,
    HubSearchRequested,
    RegisterRequested,
)
from tui.screens.hardware import HardwareScreen
from tui.theme_vars import declared_variables, resolve

STARTUP_GC_LIMIT_S = 3.0
"""Longest the cyclic GC stays off at start-up when hardware detection does not finish."""

HardwareDetector = Callable[[], HardwareInfo]
SourceFactory = Callable[[], TelemetrySource]


def _terminal_fd() -> int | None:
    """The file descriptor of the controlling terminal's input, if stdin is one."""
    stream = sys.__stdin__
    if stream is None:
        return None
    try:
        fd = stream.fileno()
    except (OSError, ValueError):
        return None
    return fd if os.isatty(fd) else None


def bench_plan_summary(plan: Any) -> str:
    """A benchmark plan in one line: model, backend, device, dtype, and the prediction."""
    line = f"{plan.model} with {plan.backend} on {plan.device}"
    if plan.dtype:
        line += f" ({plan.dtype})"
    prediction = plan.prediction
    if prediction is not None and prediction.decode_tokens_per_s is not None:
        line += f"; predicted {prediction.decode_tokens_per_s:,.1f} tok/s decode"
    elif plan.prediction_note:
        line += f"; {plan.prediction_note}"
    return line


class ScreenSpec:
    """A screen registered as a mode: its name, keys and help (later screens add theirs)."""

    def __init__(self, mode: str, keys: str, title: str, tooltip: str) -> None:
        self.mode = mode
        self.keys = keys
        self.title = title
        self.tooltip = tooltip


SCREENS: tuple[ScreenSpec, ...] = (
    ScreenSpec("hardware", "1,h", "Hardware", "What this machine is and which sensors it exposes"),
    ScreenSpec("thermals", "2,t", "Thermals", "Live temperature, power, energy and throttling"),
    ScreenSpec(
        "models", "3,m", "Models", "Browse models: fit, speed, watts and heat on this machine"
    ),
    ScreenSpec("compare", "4", "Compare", "Compare up to four models side by side; recommend"),
    ScreenSpec("profiles", "5,p", "Profiles", "Inference profiles and model presets (TOML)"),
    ScreenSpec("bench", "6,b", "Benchmark", "Run inference while watching the thermals"),
    ScreenSpec("cache", "7,k", "Cache", "The Hugging Face cache: sizes, revisions, safe deletion"),
)


def _thermals_screen() -> Screen[Any]:
    """The Thermals screen, imported when first opened (start-up shows the Hardware screen)."""
    from tui.screens.thermals import ThermalsScreen

    return ThermalsScreen()


def _models_screen() -> Screen[Any]:
    """The Models screen, imported when first opened (it pulls in the catalog and analysis)."""
    from tui.screens.models import ModelsScreen

    return ModelsScreen()


def _measurements(info: HardwareInfo, kind: str) -> tuple[dict[str, Any] | None, float | None]:
    """Benchmarks stored for this machine: latest per model, and the calibration factor.

    Only for the detected machine (a what-if device has no measurements). Never raises: a
    missing or unreadable history means no measurements.
    """
    from core.bench.fingerprint import fingerprint_of
    from core.bench.store import BenchStore
    from core.errors import ThermalScoutError

    try:
        store = BenchStore()
        fingerprint = fingerprint_of(info)
        measured = store.measured_models(fingerprint=fingerprint)
        calibration = store.calibration_for(fingerprint, "cuda" if kind == "gpu" else "cpu")
    except (ThermalScoutError, OSError, ValueError):
        return None, None  # no usable history: no measurements
    return (measured or None), (calibration.factor if calibration is not None else None)


def _profiles_screen() -> Screen[Any]:
    """The Profiles screen, imported when first opened (it loads pydantic)."""
    from tui.screens.profiles import ProfilesScreen

    return ProfilesScreen()


def _bench_screen() -> Screen[Any]:
    """The Benchmark screen, imported when first opened."""
    from tui.screens.bench import BenchScreen

    return BenchScreen()


def _cache_screen() -> Screen[Any]:
    """The Cache screen, imported when first opened."""
    from tui.screens.cache import CacheScreen

    return CacheScreen()


def _compare_screen() -> Screen[Any]:
    """The Compare screen, imported when first opened."""
    from tui.screens.compare import CompareScreen

    return CompareScreen()


class ThermalScoutApp(App[int]):
    """Thermal Scout: the one store, the screens as modes, the telemetry worker."""

    TITLE = "Thermal Scout"
    CSS_PATH = [
        style_path("app.tcss"),
        style_path("hardware.tcss"),
    ]
    MODES: ClassVar[dict[str, str | Callable[[], Screen[Any]]]] = {
        "hardware": HardwareScreen,
        "thermals": _thermals_screen,
        "models": _models_screen,
        "compare": _compare_screen,
        "profiles": _profiles_screen,
        "bench": _bench_screen,
        "cache": _cache_screen,
    }
    DEFAULT_MODE = "hardware"
    BINDINGS: ClassVar[list[BindingType]] = [
        *(
            Binding(
                spec.keys,
                f"switch_mode('{spec.mode}')",
                spec.title,
                id=f"mode-{spec.mode}",
                tooltip=spec.tooltip,
            )
            for spec in SCREENS
        ),
        Binding("q", "quit", "Quit", id="quit", tooltip="Stop sampling and leave Thermal Scout"),
    ]

    # -- messages from workers (posted from threads; handled on the UI thread) ----------
    class HardwareDetected(Message):
        """Hardware detection finished."""

        def __init__(self, info: HardwareInfo) -> None:
            super().__init__()
            self.info = info

    class HardwareFailed(Message):
        """Hardware detection failed (one line)."""

        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    class TelemetrySampled(Message):
        """New samples are queued; coalesces so a slow frame never builds a backlog."""

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, ThermalScoutApp.TelemetrySampled)

    class TelemetryNotice(Message):
        """A one-line notice from the sampler (recording stopped, read failed)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class SourceFinished(Message):
        """The replayed trace reached its end."""

    class CatalogRowsLoaded(Message):
        """Analysed rows of one source arrived (replacing that source's rows)."""

        def __init__(self, rows: list[Any], source: str) -> None:
            super().__init__()
            self.rows = rows
            self.source = source

    class CatalogPageLoaded(Message):
        """A further page of rows arrived (Hub paging)."""

        def __init__(self, rows: list[Any]) -> None:
            super().__init__()
            self.rows = rows

    class CatalogRowReplaced(Message):
        """One row was re-analysed with more facts."""

        def __init__(self, row: Any) -> None:
            super().__init__()
            self.row = row

    class CatalogNotice(Message):
        """A model source could not answer (one line); the others keep working."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class RecordingChanged(Message):
        """Recording started (path) or stopped (None), with an optional notice."""

        def __init__(self, path: str | None, notice: str | None = None) -> None:
            super().__init__()
            self.path = path
            self.notice = notice

    # -- the store -----------------------------------------------------------------------
    # vars, not reactives: the store renders nothing itself, so a change must not repaint the
    # screen; widgets bound to a slice repaint on their own.
    state: var[AppState] = var(
        lambda: initial_state(interval_s=1.0, history_s=3600.0, source="live"), init=False
    )
    """The one store. Only the message handlers of this class assign it."""
    hardware: var[HardwareSlice] = var(HardwareSlice, init=False)
    """The hardware slice (computed from ``state``)."""
    telemetry: var[TelemetrySlice] = var(
        lambda: initial_state(interval_s=1.0, history_s=1.0, source="live").telemetry, init=False
    )
    """The telemetry slice (computed from ``state``)."""

    def get_css_variables(self) -> dict[str, str]:
        """Theme variables plus the app's own, declared at the top of ``styles/app.tcss``."""
        variables = super().get_css_variables()
        variables.update(resolve(declared_variables(style_path("app.tcss")), variables))
        return variables

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """The palette lists every screen (with its keys) next to Textual's own commands."""
        for spec in SCREENS:
            keys = " / ".join(spec.keys.split(","))
            yield SystemCommand(
                f"{spec.title} screen ({keys})",
                spec.tooltip,
                lambda mode=spec.mode: self.request_mode(mode),
            )
        yield from super().get_system_commands(screen)

    catalog: var[CatalogSlice] = var(CatalogSlice, init=False)
    """The model browser's slice (computed from ``state``)."""
    comparison: var[ComparisonSlice] = var(ComparisonSlice, init=False)
    """The models picked for comparison (computed from ``state``)."""

    cache: var[CacheSlice] = var(CacheSlice, init=False)
    """The Hugging Face cache as last scanned (computed from ``state``)."""

    def compute_catalog(self) -> CatalogSlice:
        return self.state.catalog

    def compute_cache(self) -> CacheSlice:
        return self.state.cache

    bench: var[BenchSlice] = var(BenchSlice, init=False)
    """The benchmark being run, its result and the stored history (computed from ``state``)."""

    def compute_bench(self) -> BenchSlice:
        return self.state.bench

    def compute_comparison(self) -> ComparisonSlice:
        return self.state.comparison

    def compute_hardware(self) -> HardwareSlice:
        return self.state.hardware

    def compute_telemetry(self) -> TelemetrySlice:
        return self.state.telemetry

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        interval_s: float | None = None,
        trace: Trace | None = None,
        detector: HardwareDetector | None = None,
        source_factory: SourceFactory | None = None,
        source_label: str | None = None,
        recordings: Path | None = None,
        config_path: Path | None = None,
        gc_paused: bool = False,
    ) -> None:
        super().__init__()
        self._gc_paused = gc_paused
        """The caller switched Python's cyclic GC off for start-up (``thermal-scout``'s TUI
        command does); :meth:`_end_startup` freezes what start-up built and switches it on."""
        self.settings = settings or Settings()
        self.config_path = config_path
        """``--config FILE``, or None for the user's config file (the Profiles screen edits it)."""
        self.interval_s = interval_s or self.settings.telemetry.interval_s
        self._trace = trace
        self._detector = detector
        self._source_factory = source_factory
        self._recordings = recordings
        self._pending: deque[Sample] = deque()
        self._sampler: Sampler | None = None
        self._watch_terminal = False
        """Whether a closed terminal should end the app (set on mount; never in tests)."""
        self._sampler_ready = threading.Event()
        self._hardware_ready = threading.Event()
        # The benchmark: its runner (for cancel), the feed the sampler pushes into while it
        # runs, its progress events (drained by a coalescing message) and its end.
        self._bench_lock = threading.Lock()
        self._bench_runner: Any = None
        self._bench_feed: Any = None
        self._bench_cancel = threading.Event()
        self._bench_done = threading.Event()
        self._bench_done.set()
        self._bench_events: deque[tuple[int, Any]] = deque()
        source = source_label or (ReplaySource(trace).label if trace is not None else "live")
        self.set_reactive(
            ThermalScoutApp.state,
            initial_state(
                interval_s=self.interval_s,
                history_s=self.settings.telemetry.history_s,
                source=source,
            ),
        )
        self.sub_title = f"v{__version__}"

    def on_mount(self) -> None:
        if self._trace is not None and self._trace.skipped:
            count = len(self._trace.skipped)
            line, reason = self._trace.skipped[0]
            self.notify(
                f"{self._trace.path}: skipped {count} bad line(s); first at line {line}: {reason}",
                severity="warning",
                timeout=8,
            )
        self._telemetry_worker()
        if self._gc_paused:  # in case detection hangs (a wedged NVML driver can)
            self.set_timer(STARTUP_GC_LIMIT_S, self._end_startup, name="start-up GC limit")
        self._watch_terminal = not self.is_headless and _terminal_fd() is not None
        if self._watch_terminal:
            # Each telemetry tick checks too (no extra wake-up); this covers a finished replay.
            self.set_interval(10.0, self._check_terminal, name="terminal watchdog")

    def _end_startup(self) -> None:
        """The first full frame is on screen: switch the cyclic GC back on (once).

        Start-up builds ~40,000 objects (modules, classes, widgets, styles) that live as long as
        the app; with the GC on, Python traverses them in ~100 collections before the first
        full frame (about 7 % of start-up) and in every full collection after it. They are
        moved to the permanent generation (``gc.freeze``) first, so later collections skip them.
        """
        if self._gc_paused:
            self._gc_paused = False
            gc.freeze()
            gc.enable()

    def _check_terminal(self) -> None:
        """Exit when the terminal is gone.

        Under ``make run`` a closed terminal (tmux killed, SSH dropped) sends no SIGHUP to the
        app — make waits for its child — and Textual's input thread then spins on EOF at half
        a core. A hung-up tty stops being a tty, which is cheap to ask.
        """
        fd = _terminal_fd()
        if fd is None or not os.isatty(fd):
            self.stop_sampler()
            self.exit(0)

    # -- workers -------------------------------------------------------------------------
    @work(thread=True, name="telemetry sampler", group="telemetry", exit_on_error=False)
    def _telemetry_worker(self) -> None:
        """Detect the hardware, then sample until the app exits (NVML stays on this thread)."""
        try:
            if self._detector is not None:
                info = self._detector()
            else:
                from core.hardware import detect

                info = detect()
            self.post_message(self.HardwareDetected(info))
        except Exception as exc:  # reported to the user; sampling still starts
            self.post_message(self.HardwareFailed(f"{type(exc).__name__}: {exc}"))
        finally:
            self._hardware_ready.set()
        if self._source_factory is not None:
            source = self._source_factory()
        elif self._trace is not None:
            source = ReplaySource(self._trace)
        else:
            source = LiveSource()
        sampler = Sampler(source, self.interval_s, self._queue_samples, self._sampler_notice)
        self._sampler = sampler
        self._sampler_ready.set()
        if self._closing:
            sampler.stop()
        sampler.run()
        if source.finished:
            self.post_message(self.SourceFinished())

    def _sampler_notice(self, text: str) -> None:
        """Sampler-thread callback for faults that did not stop it."""
        self.post_message(self.TelemetryNotice(text))

    def _queue_samples(self, samples: list[Sample]) -> None:
        """Sampler-thread callback: queue, then wake the UI with a coalescing message.

        A running benchmark gets the same samples at once (not after the UI thread's queue), so
        its window edges and energy come from the one sampler the app already runs.
        """
        feed = self._bench_feed
        if feed is not None:
            feed.push(samples)
        self._pending.extend(samples)
        self.post_message(self.TelemetrySampled())

    @on(Worker.StateChanged)
    def _worker_failed(self, event: Worker.StateChanged) -> None:
        """One place where any worker failure becomes a notification."""
        if event.state == WorkerState.ERROR:
            error = event.worker.error
            self.notify(
                f"{event.worker.name} failed: {type(error).__name__}: {error}",
                severity="error",
                timeout=10,
            )

    # -- reducers: the only writers of state ----------------------------------------------
    @on(HardwareDetected)
    def _hardware_detected(self, message: HardwareDetected) -> None:
        self.state = with_hardware(self.state, message.info)
        self.call_after_refresh(self._end_startup)

    @on(HardwareFailed)
    def _hardware_failed(self, message: HardwareFailed) -> None:
        self.state = with_hardware_failed(self.state, message.error)
        self.notify(f"hardware detection failed: {message.error}", severity="error")
        self.call_after_refresh(self._end_startup)

    @on(TelemetrySampled)
    def _telemetry_sampled(self) -> None:
        batch: list[Sample] = []
        while self._pending:
            batch.append(self._pending.popleft())
        self.state = with_samples(self.state, batch)
        if self._watch_terminal:
            self._check_terminal()

    @on(TelemetryNotice)
    def _telemetry_notice(self, message: TelemetryNotice) -> None:
        if message.text.startswith("recording stopped"):
            self.state = with_recording(self.state, None, message.text)
        else:
            self.state = with_telemetry_notice(self.state, message.text)
        self.notify(message.text, severity="warning", timeout=8)

    @on(SourceFinished)
    def _source_finished(self) -> None:
        self.state = with_source_finished(self.state)

    @on(RecordingChanged)
    def _recording_changed(self, message: RecordingChanged) -> None:
        self.state = with_recording(self.state, message.path, message.notice)
        if message.notice:
            if message.path is None and message.notice.startswith("cannot"):
                self.notify(message.notice, severity="error", timeout=8)
            else:
                self.notify(message.notice, timeout=8)

    @on(CatalogRowsLoaded)
    def _catalog_rows_loaded(self, message: CatalogRowsLoaded) -> None:
        self.state = with_catalog_rows(self.state, message.rows, source=message.source)

    @on(CatalogNotice)
    def _catalog_notice(self, message: CatalogNotice) -> None:
        self.state = with_catalog_notice(self.state, message.text)
        self.notify(message.text, severity="warning", timeout=8)

    @on(AnalysisRequested)
    def _analysis_requested(self, message: AnalysisRequested) -> None:
        self.state = with_catalog_loading(
            self.state,
            hardware=message.hardware,
            precision=message.precision,
            context=message.context,
        )
        self._analyse_catalog()

    @on(CompareToggled)
    def _compare_toggled(self, message: CompareToggled) -> None:
        self.state, text = toggle_compare(self.state, message.model_id)
        self.notify(text, timeout=4)

    @on(RegisterRequested)
    def _register_requested(self, message: RegisterRequested) -> None:
        self._register_file(message.path)

    @work(thread=True, name="register", group="register", exit_on_error=False)
    def _register_file(self, path: str) -> None:
        """Read the file's header into the registry; the browser then lists it."""
        from core.errors import ThermalScoutError
        from core.registry import register

        try:
            entry = register(os.path.expanduser(path))
        except (ThermalScoutError, OSError) as exc:
            self.post_message(self.CatalogNotice(f"cannot register {path}: {exc}"))
            return
        self.call_from_thread(
            self.notify, f"registered {entry.name} ({entry.format}, {entry.status})", timeout=6
        )
        self.call_from_thread(self._analyse_catalog)

    @on(CompareMoved)
    def _compare_moved(self, message: CompareMoved) -> None:
        self.state = move_compared(self.state, message.model_id, message.delta)

    class CacheScanned(Message):
        """A scan of the Hugging Face cache finished."""

        def __init__(self, view: Any) -> None:
            super().__init__()
            self.view = view

    class CacheWorkDone(Message):
        """A cache deletion finished (or was refused): one line for the user."""

        def __init__(self, notice: str, *, error: bool) -> None:
            super().__init__()
            self.notice = notice
            self.error = error

    @on(CacheScanRequested)
    def _cache_scan_requested(self) -> None:
        if self.state.cache.status not in ("scanning", "deleting"):
            self.state = with_cache_status(self.state, "scanning")
            self._scan_cache()

    @on(CacheScanned)
    def _cache_scanned(self, message: CacheScanned) -> None:
        self.state = with_cache_view(self.state, message.view)

    @on(CacheDeleteRequested)
    def _cache_delete_requested(self, message: CacheDeleteRequested) -> None:
        if self.state.cache.status == "deleting":
            return
        self.state = with_cache_status(self.state, "deleting", "deleting…")
        self._delete_from_cache(message.plan)

    @on(CacheWorkDone)
    def _cache_work_done(self, message: CacheWorkDone) -> None:
        self.state = with_cache_status(self.state, "scanning", message.notice)
        self.notify(message.notice, severity="error" if message.error else "information", timeout=8)
        self._scan_cache()
        if self.state.catalog.status != "idle":  # cached models leave the Models screen too
            self._analyse_catalog()

    @work(thread=True, name="cache scan", group="cache", exclusive=True, exit_on_error=False)
    def _scan_cache(self) -> None:
        from core.cache_manager import scan

        self.post_message(self.CacheScanned(scan()))

    @work(
        thread=True,
        name="cache delete",
        group="cache-delete",
        exit_on_error=False,
        description="cache delete",
    )
    def _delete_from_cache(self, plan: Any) -> None:
        """Re-check (in use, changed, refused) and delete; the outcome is one notice."""
        from core.cache_manager import CacheError, execute, format_bytes

        try:
            result = execute(plan)
        except CacheError as exc:
            self.post_message(self.CacheWorkDone(f"nothing deleted: {exc}", error=True))
            return
        except OSError as exc:
            self.post_message(self.CacheWorkDone(f"delete failed: {exc}", error=True))
            return
        text = f"freed {format_bytes(result.freed_bytes)} ({len(result.removed)} paths removed)"
        if result.errors:
            text += f"; {len(result.errors)} not removed: {result.errors[0]}"
        self.post_message(self.CacheWorkDone(text, error=bool(result.errors)))

    @on(CatalogPageLoaded)
    def _catalog_page_loaded(self, message: CatalogPageLoaded) -> None:
        self.state = with_catalog_page(self.state, message.rows)

    @on(CatalogRowReplaced)
    def _catalog_row_replaced(self, message: CatalogRowReplaced) -> None:
        self.state = with_catalog_row_replaced(self.state, message.row)

    @on(HubSearchRequested)
    def _hub_search_requested(self, message: HubSearchRequested) -> None:
        self.state = with_catalog_rows(self.state, [], source="hub")
        self._search_hub(message.query)

    @on(HubDetailsRequested)
    def _hub_details_requested(self, message: HubDetailsRequested) -> None:
        self._hub_details(message.row)

    def _analysis_settings(self) -> Any:
        """The device and options rows are analysed for (call from a worker thread)."""
        from core.analysis.hardware_profiles import profile_for, profile_from_hardware
        from core.catalog.rows import AnalysisSettings

        catalog = self.state.catalog  # reading an immutable slice is thread-safe
        if catalog.hardware == THIS_MACHINE:
            self._hardware_ready.wait(timeout=30)
            info = self.state.hardware.info
            if info is None:
                self.post_message(
                    self.CatalogNotice("hardware not detected: estimates use a desktop CPU")
                )
                profile = profile_for("Desktop CPU")
            else:
                profile = profile_from_hardware(info)
                measured, calibration = _measurements(info, profile.kind)
                return AnalysisSettings(
                    profile,
                    catalog.precision,
                    catalog.context,
                    measured=measured,
                    calibration=calibration,
                )
        else:
            profile = profile_for(catalog.hardware)
        return AnalysisSettings(profile, catalog.precision, catalog.context)

    @work(
        thread=True, name="catalog analysis", group="catalog", exclusive=True, exit_on_error=False
    )
    def _analyse_catalog(self) -> None:
        """Analyse the embedded catalog (and Hub rows already shown) off the UI thread."""
        from textual.worker import get_current_worker

        from core.catalog.embedded import load_catalog
        from core.catalog.rows import analyze_hub_model, catalog_rows

        settings = self._analysis_settings()
        rows = catalog_rows(load_catalog(), settings)
        hub_models = [r.facts for r in self.state.catalog.rows if r.source == "hub"]
        hub_rows = [analyze_hub_model(model, settings) for model in hub_models]
        worker = get_current_worker()
        if worker.is_cancelled:
            return
        self.post_message(self.CatalogRowsLoaded(list(rows), "catalog"))
        if hub_rows:
            self.post_message(self.CatalogRowsLoaded(hub_rows, "hub"))
        # The local Hugging Face cache comes second: the catalog shows without waiting for it.
        # It is rescanned on every analysis request, so a model downloaded meanwhile appears.
        from core.catalog.cache import cache_rows, scan_models

        models, notices = scan_models()
        cached = cache_rows(models, settings)
        if worker.is_cancelled:
            return
        self.post_message(self.CatalogRowsLoaded(cached, "cache"))
        for notice in notices:
            if not notice.startswith("no Hugging Face cache at"):  # nothing downloaded yet
                self.post_message(self.CatalogNotice(notice))
        # Files registered with `thermal-scout registry add` (header re-read: stale is shown).
        from core.registry import RegistryError, default_path, registry_rows

        if default_path().exists():
            try:
                registered = registry_rows(settings)
            except RegistryError as exc:
                self.post_message(self.CatalogNotice(f"registry: {exc}"))
            else:
                if not worker.is_cancelled:
                    self.post_message(self.CatalogRowsLoaded(registered, "registry"))

    @work(thread=True, name="Hub search", group="hub", exclusive=True, exit_on_error=False)
    def _search_hub(self, query: str) -> None:
        """Stream Hub search results page by page; a failure is one notice."""
        from textual.worker import get_current_worker

        from core.catalog.hub import HubSource
        from core.catalog.rows import analyze_hub_model
        from core.errors import HubUnavailable

        settings = self._analysis_settings()
        try:
            for page in HubSource().search(query, limit=200, page_size=50):
                if get_current_worker().is_cancelled:
                    return
                rows = [analyze_hub_model(model, settings) for model in page]
                self.post_message(self.CatalogPageLoaded(rows))
        except HubUnavailable as exc:
            self.post_message(self.CatalogNotice(str(exc)))

    @work(thread=True, name="Hub config", group="hub-config", exclusive=True, exit_on_error=False)
    def _hub_details(self, row: Any) -> None:
        """Fetch a Hub model's config.json (cached by huggingface_hub) and re-analyse it."""
        from core.catalog.hub import HubSource
        from core.catalog.rows import analyze_hub_model
        from core.errors import HubUnavailable

        try:
            config = HubSource().config(row.id)
        except HubUnavailable as exc:
            self.post_message(self.CatalogNotice(f"{row.id}: {exc}"))
            return
        settings = self._analysis_settings()
        self.post_message(self.CatalogRowReplaced(analyze_hub_model(row.facts, settings, config)))

    # -- the benchmark -----------------------------------------------------------------------
    class BenchPlanned(Message):
        """The plan was made (one line, warnings); the run starts."""

        def __init__(
            self, generation: int, summary: str, notes: tuple[str, ...], device: str
        ) -> None:
            super().__init__()
            self.generation = generation
            self.summary = summary
            self.notes = notes
            self.device = device

    class BenchProgressed(Message):
        """Progress events are queued; coalesces so a busy frame never builds a backlog."""

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, ThermalScoutApp.BenchProgressed)

    class BenchPlanFailed(Message):
        """The run could not start: refused (does not fit), a missing extra, a bad option."""

        def __init__(self, generation: int, error: str) -> None:
            super().__init__()
            self.generation = generation
            self.error = error

    class BenchFinished(Message):
        """The run ended (``result.status``: ok, failed, cancelled); ok results are stored."""

        def __init__(
            self, generation: int, result: Any, stored_id: int | None, notice: str | None
        ) -> None:
            super().__init__()
            self.generation = generation
            self.result = result
            self.stored_id = stored_id
            self.notice = notice

    class BenchHistoryLoaded(Message):
        """The stored benchmarks, newest first."""

        def __init__(self, entries: list[Any], error: str | None = None) -> None:
            super().__init__()
            self.entries = entries
            self.error = error

    @on(BenchRunRequested)
    def _bench_run_requested(self, message: BenchRunRequested) -> None:
        if self.state.bench.busy:
            self.notify("A benchmark is running; cancel it first (escape)", severity="warning")
            return
        if not self._bench_done.is_set():
            self.notify("The last benchmark is still stopping; try again in a moment", timeout=4)
            return
        self.state = with_bench_planning(self.state, message.spec)
        generation = self.state.bench.generation
        cancel = threading.Event()
        replaying = self._trace is not None or self.state.telemetry.source.startswith("replay")
        feed = None
        if not replaying:  # the app's own live samples; a replay is no measurement of this run
            from core.bench.feed import PushFeed

            feed = PushFeed()
        with self._bench_lock:
            self._bench_cancel = cancel
            self._bench_runner = None
        self._bench_events.clear()
        self._bench_done.clear()
        self._bench_feed = feed
        self._run_benchmark(message.spec, generation, feed, cancel)

    @on(BenchCancelRequested)
    def _bench_cancel_requested(self) -> None:
        bench = self.state.bench
        if not bench.busy:
            return
        self._cancel_benchmark()
        self.state = with_bench_cancelling(self.state, bench.generation)

    @on(BenchPlanned)
    def _bench_planned(self, message: BenchPlanned) -> None:
        self.state = with_bench_planned(
            self.state, message.generation, message.summary, message.notes, device=message.device
        )

    @on(BenchProgressed)
    def _bench_progressed(self) -> None:
        generation = self.state.bench.generation
        events: list[Any] = []
        while self._bench_events:
            run, event = self._bench_events.popleft()
            if run == generation:
                events.append(event)
        self.state = with_bench_progress(self.state, generation, events)

    @on(BenchPlanFailed)
    def _bench_plan_failed(self, message: BenchPlanFailed) -> None:
        self.state = with_bench_failed(self.state, message.generation, message.error)
        self.notify(message.error, title="Benchmark not started", severity="error", timeout=10)

    @on(BenchFinished)
    def _bench_finished(self, message: BenchFinished) -> None:
        self.state = with_bench_finished(
            self.state, message.generation, message.result, stored_id=message.stored_id
        )
        result = message.result
        if result.status == "ok":
            rate = result.decode_tokens_per_s_sustained or result.decode_tokens_per_s
            what = f"{rate:,.1f} tok/s" if rate is not None else "done"
            stored = f"; stored as run {message.stored_id}" if message.stored_id else ""
            self.notify(f"{result.model}: {what}{stored}", title="Benchmark finished", timeout=8)
        elif result.status == "cancelled":
            self.notify("Benchmark cancelled; nothing stored", timeout=5)
        else:
            self.notify(
                result.error or "the benchmark failed",
                title="Benchmark failed",
                severity="error",
                timeout=10,
            )
        if message.notice:
            self.notify(message.notice, severity="warning", timeout=10)
        if message.stored_id is not None:
            self._load_bench_history()
            if self.state.catalog.status != "idle":  # the measured values reach the rows
                self._analyse_catalog()

    @on(BenchHistoryRequested)
    def _bench_history_requested(self) -> None:
        self._load_bench_history()

    @on(BenchHistoryLoaded)
    def _bench_history_loaded(self, message: BenchHistoryLoaded) -> None:
        self.state = with_bench_history(self.state, message.entries)
        if message.error:
            self.notify(message.error, severity="error", timeout=10)

    def _cancel_benchmark(self) -> None:
        """Ask a running benchmark to stop (returns at once; its worker reports the end)."""
        with self._bench_lock:
            self._bench_cancel.set()
            runner = self._bench_runner
        if runner is not None:
            runner.cancel()

    def stop_benchmark(self, timeout: float = 3.0) -> None:
        """Cancel a running benchmark and wait until its child process is gone (on quit)."""
        if self._bench_done.is_set():
            return
        self._cancel_benchmark()
        self._bench_done.wait(timeout)

    def _bench_progress(self, generation: int) -> Callable[[Any], None]:
        """The runner's progress callback (runner thread): queue, then wake the UI."""

        def on_progress(event: Any) -> None:
            self._bench_events.append((generation, event))
            self.post_message(self.BenchProgressed())

        return on_progress

    @work(thread=True, name="benchmark", group="bench", exit_on_error=False)
    def _run_benchmark(
        self, spec: Any, generation: int, feed: Any, cancel: threading.Event
    ) -> None:
        """Plan (refusals are one line), run in a child process, store an ok result."""
        import dataclasses

        from core.bench.plan import plan_benchmark
        from core.bench.runner import BenchRunner
        from core.bench.store import BenchStore
        from core.errors import ThermalScoutError

        try:
            try:
                self._hardware_ready.wait(timeout=30)
                plan = plan_benchmark(spec, hardware=self.state.hardware.info)
            except ThermalScoutError as exc:
                self.post_message(self.BenchPlanFailed(generation, str(exc)))
                return
            except Exception as exc:  # a bug in planning must not leave the screen "planning"
                error = f"internal error while planning: {type(exc).__name__}: {exc}"
                self.post_message(self.BenchPlanFailed(generation, error))
                return
            if cancel.is_set():
                return
            summary = bench_plan_summary(plan)
            self.post_message(self.BenchPlanned(generation, summary, plan.notes, plan.device))
            runner = BenchRunner(plan, feed=feed, on_progress=self._bench_progress(generation))
            with self._bench_lock:
                self._bench_runner = runner
                stop = cancel.is_set()
            if stop:
                runner.cancel()
            result = runner.run()  # never raises for the child's failures
            stored_id: int | None = None
            notice: str | None = None
            if result.ok:
                try:
                    stored_id = BenchStore().add(result)
                except ThermalScoutError as exc:
                    notice = f"result not stored: {exc}"
                else:
                    result = dataclasses.replace(result, run_id=stored_id)
            self.post_message(self.BenchFinished(generation, result, stored_id, notice))
        finally:
            with self._bench_lock:
                self._bench_runner = None
            self._bench_feed = None
            self._bench_done.set()

    @work(
        thread=True,
        name="benchmark history",
        group="bench-history",
        exclusive=True,
        exit_on_error=False,
    )
    def _load_bench_history(self) -> None:
        from core.bench.store import BenchStore
        from core.errors import ThermalScoutError

        try:
            entries = BenchStore().history(limit=50)
        except ThermalScoutError as exc:
            self.post_message(self.BenchHistoryLoaded([], f"benchmark history: {exc}"))
            return
        self.post_message(self.BenchHistoryLoaded(entries))

    # -- intents from screens ------------------------------------------------------------
    def toggle_recording(self) -> None:
        """Start recording to a new file in the recordings directory, or stop."""
        if self.state.telemetry.recording is not None:
            self._stop_recording()
        else:
            self._start_recording()

    @work(thread=True, name="start recording", group="recording", exit_on_error=False)
    def _start_recording(self) -> None:
        """Create the trace file off the UI thread, then hand it to the sampler."""
        self._sampler_ready.wait(timeout=5)
        sampler = self._sampler
        if sampler is None:
            self.post_message(self.RecordingChanged(None, "sampler not running; cannot record"))
            return
        folder = self._recordings or recordings_dir()
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = folder / f"thermals-{stamp}.jsonl"
        try:
            writer = TraceWriter(path)
        except RecordError as exc:
            self.post_message(self.RecordingChanged(None, f"cannot record: {exc}"))
            return
        previous = sampler.set_recorder(writer)
        if previous is not None:
            previous.close()
        self.post_message(self.RecordingChanged(str(path), f"recording to {path}"))

    @work(thread=True, name="stop recording", group="recording", exit_on_error=False)
    def _stop_recording(self) -> None:
        """Detach and close (fsync) the trace file off the UI thread."""
        writer = self._sampler.set_recorder(None) if self._sampler is not None else None
        if writer is not None:
            count = writer.samples_written
            writer.close()
            self.post_message(
                self.RecordingChanged(None, f"saved {count} samples to {writer.path}")
            )
        else:
            self.post_message(self.RecordingChanged(None))

    # -- lifecycle -----------------------------------------------------------------------
    def stop_sampler(self) -> None:
        """Ask the sampler thread to finish (it closes any recording and NVML)."""
        if self._sampler is not None:
            self._sampler.stop()

    def request_mode(self, mode: str) -> None:
        """Switch to ``mode``; a screen with unsaved edits may ask first (``confirm_leave``)."""
        if mode == self.current_mode:
            return
        for screen in reversed(self.screen_stack):
            confirm = getattr(screen, "confirm_leave", None)
            if confirm is not None and confirm(lambda: self.switch_mode(mode)):
                return
        self.switch_mode(mode)

    async def action_switch_mode(self, mode: str) -> None:
        """The screen keys: :meth:`request_mode`."""
        self.request_mode(mode)

    async def action_quit(self) -> None:
        """Stop sampling, then exit; a screen with unsaved edits (in any mode) may ask first.

        A screen's ``confirm_leave(proceed)`` returns True when it asks the user (and calls
        ``proceed`` once they agree), False when there is nothing to lose.
        """
        for mode in self.MODES:
            try:
                screens = self.get_screen_stack(mode)
            except KeyError:  # never opened
                continue
            for screen in screens:
                confirm = getattr(screen, "confirm_leave", None)
                if confirm is not None and confirm(self._quit_now):
                    return
        self._quit_now()

    def _quit_now(self) -> None:
        self.stop_benchmark()
        self.stop_sampler()
        self.exit(0)

    def on_unmount(self) -> None:
        self.stop_benchmark()
        self.stop_sampler()
