"""Widgets of the Thermals screen: a status line, the CPU panel and one card per GPU.

Each widget receives the telemetry slice (attributes down) and renders only from it. Readings
that cannot be had show ``n/a`` and the reason; values are coloured by level through component
classes styled from the app's TCSS variables.
"""

from __future__ import annotations

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.geometry import Region, Size
from textual.reactive import reactive, var
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from core.config import ThresholdSettings
from core.state import HardwareSlice, TelemetrySlice
from core.telemetry.energy import VIOLATION_LABELS, counter_delta, violation_shares
from core.telemetry.history import SampleHistory
from core.telemetry.sample import CpuSample, GpuSample, Sample
from core.telemetry.throttle import decode, describe, is_throttled
from tui.format import Level, bar, fmt, fmt_bytes, fmt_energy, fraction_level, temp_level
from tui.widgets.history_plot import HistoryPlot

_EMPTY = TelemetrySlice(latest=None, history=SampleHistory(1))


LABEL_WIDTH = 13


class RowList:
    """Labelled readings in display order, built fresh from each sample."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, Text]] = []

    def add_row(self, label: str, value: str | Text) -> None:
        """Append a reading (an empty label makes a full-width message row)."""
        self.rows.append((label, value if isinstance(value, Text) else Text(value)))

    def value(self, label: str) -> str:
        """Plain text of the reading called ``label`` (for tests and summaries)."""
        return next(str(value) for name, value in self.rows if name == label)


def _flat_segments(text: Text, console: Console) -> list[Segment] | None:
    """Segments of a line whose spans do not overlap (every reading line), else None.

    Rich's general ``Text.render`` stacks overlapping styles; a line built from a label and
    appended values has none to stack, and this is about five times cheaper (a few lines
    repaint every second on the Thermals screen).
    """
    if text.style:
        return None
    plain = text.plain
    segments: list[Segment] = []
    position = 0
    for span in sorted(text.spans, key=lambda s: s.start):
        if span.start < position:
            return None
        if span.start > position:
            segments.append(Segment(plain[position : span.start]))
        style = span.style if isinstance(span.style, Style) else console.get_style(span.style)
        segments.append(Segment(plain[span.start : span.end], style))
        position = span.end
    if position < len(plain):
        segments.append(Segment(plain[position:]))
    return segments


class Readings(Widget):
    """Labelled readings with level colours, one line each, drawn by this one widget.

    Subclasses build a :class:`RowList` from the telemetry slice. Only the lines whose text
    changed are repainted (most lines on a sensor-less machine never change), and the lines
    are not widgets of their own: Textual's compositor visits every visible widget of a
    container on each frame, so seven row widgets cost more than the rows that change
    (idle CPU on the Thermals screen, BENCHMARKS.md). A line wider than the widget wraps.
    """

    COMPONENT_CLASSES = {
        "readings--label",
        "readings--ok",
        "readings--warn",
        "readings--hot",
        "readings--muted",
    }
    DEFAULT_CSS = "Readings { height: auto; }"

    telemetry: var[TelemetrySlice] = var(_EMPTY)
    """The slice; a change repaints only the lines that differ."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.lines: list[Text] = []
        """One Text per reading (label and value); Text compares by characters and styles."""
        self.repainted: tuple[int, ...] = ()
        """Screen rows repainted by the last update (all of them after a layout change)."""
        self._rows: list[Text] = []
        self._rows_width = -1

    def on_mount(self) -> None:
        self._sync()

    def watch_telemetry(self) -> None:
        if self.is_mounted:
            self._sync()

    def build(self) -> RowList:
        """This widget's rows for the current slice (subclasses override)."""
        return RowList()

    def _sync(self) -> None:
        label_style = self.get_component_rich_style("readings--label")
        lines = []
        for label, value in self.build().rows:
            line = Text()
            if label:
                line.append(label.ljust(LABEL_WIDTH), label_style)
            line.append_text(value)
            lines.append(line)
        self.lines = lines
        old = self._rows
        width = self.size.width
        rows = self._wrap(lines, width)
        self._rows, self._rows_width = rows, width
        if len(rows) != len(old):
            self.repainted = tuple(range(len(rows)))
            self.refresh(layout=True)
            return
        changed = tuple(y for y, (was, now) in enumerate(zip(old, rows, strict=True)) if was != now)
        self.repainted = changed
        for y in changed:
            self.refresh(Region(0, y, width, 1))

    def _wrap(self, lines: list[Text], width: int) -> list[Text]:
        """Screen rows for ``lines`` at ``width`` (a line that does not fit wraps)."""
        if width <= 0:
            return list(lines)
        rows: list[Text] = []
        for line in lines:
            if line.cell_len <= width:
                rows.append(line)
            else:
                rows.extend(line.wrap(self.app.console, width))
        return rows

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._wrap(self.lines, width))

    def render_line(self, y: int) -> Strip:
        """One screen row, straight from its Rich segments (no Content conversion per frame)."""
        width = self.size.width
        if width != self._rows_width:
            self._rows, self._rows_width = self._wrap(self.lines, width), width
        base = self.rich_style
        if y >= len(self._rows):
            return Strip.blank(width, base)
        line = self._rows[y]
        segments = _flat_segments(line, self.app.console)
        if segments is None:
            segments = list(line.render(self.app.console))
        strip = Strip(segments, line.cell_len)
        return strip.apply_style(base).adjust_cell_length(width, base)

    def level_style(self, level: Level) -> str:
        """Rich style string for a level."""
        if level == "none":
            return ""
        return str(self.get_component_rich_style(f"readings--{level}"))

    def muted(self, text: str) -> Text:
        """Text in the muted colour (reasons, secondary values)."""
        return Text(text, style=self.get_component_rich_style("readings--muted"))

    def grid(self) -> RowList:
        """An empty list of rows."""
        return RowList()

    def message(self, text: str) -> RowList:
        """A single full-width muted message."""
        rows = RowList()
        rows.add_row("", self.muted(text))
        return rows

    def missing(self, reason: str | None) -> Text:
        """``n/a · reason``."""
        return self.muted(f"n/a · {reason or 'not reported'}")


def history_span(seq: int, capacity: int, interval_s: float) -> str:
    """How far back the plots and energy go, in coarse steps (it changes once a minute)."""
    seconds = min(seq, capacity) * interval_s
    if seconds < 60:
        return "< 1 min of history"
    if seconds < 3600:
        return f"{int(seconds // 60)} min of history"
    hours = f"{seconds / 3600:.1f}".removesuffix(".0")
    return f"{hours} h of history"


class StatusLine(Widget):
    """Where the data comes from, how often, how much, and whether it is recorded.

    Live, the amount is the history span in minutes, not a per-second sample count: the line
    then repaints once a minute instead of every tick (idle CPU, BENCHMARKS.md). A replay shows its
    position in samples.
    """

    DEFAULT_CSS = "StatusLine { height: 1; }"

    telemetry: var[TelemetrySlice] = var(_EMPTY)
    """The slice; the text below repaints only when it changes."""
    text: reactive[Text] = reactive(Text, always_update=False)

    def on_mount(self) -> None:
        self.watch_telemetry(self.telemetry)

    def watch_telemetry(self, telemetry: TelemetrySlice) -> None:
        self.set_class(telemetry.recording is not None, "-recording")
        self.text = self.describe(telemetry)

    @staticmethod
    def describe(telemetry: TelemetrySlice) -> Text:
        """The status line for a slice."""
        if telemetry.source == "live":
            amount = history_span(telemetry.seq, telemetry.history.capacity, telemetry.interval_s)
        else:
            amount = f"{telemetry.seq} samples"
        parts = [telemetry.source, f"every {telemetry.interval_s:g} s", amount]
        if telemetry.finished:
            parts.append("replay ended")
        text = Text("  ·  ".join(parts), no_wrap=True, overflow="ellipsis")
        if telemetry.recording:
            text.append("   ● REC ", style="bold")
            text.append(telemetry.recording)
        return text

    def render(self) -> Text:
        return self.text


def _window(history: SampleHistory, seconds: float) -> list[Sample]:
    return history.window(seconds)


class CpuReadings(Readings):
    """The CPU's current readings against their limits."""

    def __init__(
        self, thresholds: ThresholdSettings, *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.thresholds = thresholds

    def build(self) -> RowList:
        latest = self.telemetry.latest
        if latest is None:
            return self.message("waiting for the first sample…")
        cpu = latest.cpu
        if cpu is None:
            return self.message("no CPU readings in this source (a GPU-only trace)")
        return self._render_cpu(cpu)

    def _render_cpu(self, cpu: CpuSample) -> RowList:
        t = self.thresholds
        grid = self.grid()
        if cpu.package_temp_c is not None:
            crit = cpu.package_temp_critical_c
            level = temp_level(
                cpu.package_temp_c,
                limit=crit,
                warn_margin=t.gpu_temp_warn_margin_c,
                hot_margin=t.gpu_temp_hot_margin_c,
                warn=t.cpu_temp_warn_c,
                hot=t.cpu_temp_hot_c,
            )
            value = Text(fmt(cpu.package_temp_c, "°C"), style=self.level_style(level))
            if crit:
                value.append_text(self.muted(f"  (critical {fmt(crit, '°C')})"))
            grid.add_row("Temperature", value)
        else:
            grid.add_row("Temperature", self.missing(cpu.reason("package_temp_c")))
        if cpu.package_power_w is not None:
            power = Text(fmt(cpu.package_power_w, "W", 1))
            power.append_text(self.muted(f"  package (RAPL) · {fmt_energy(cpu.package_energy_j)}"))
            grid.add_row("Power", power)
        else:
            grid.add_row("Power", self.missing(cpu.reason("package_power_w")))
        for zone in cpu.zones:
            if not zone.name.startswith("package") and zone.power_w is not None:
                grid.add_row(f"  {zone.name}", fmt(zone.power_w, "W", 1))
        load = Text(f"{fmt(cpu.load_pct, '%')}".rjust(5) + "  ")
        load.append(bar(None if cpu.load_pct is None else cpu.load_pct / 100, 20))
        freq = f"   {fmt(cpu.freq_mhz, 'MHz')}"
        freq += f" of {fmt(cpu.freq_max_mhz, 'MHz')}" if cpu.freq_max_mhz else " (max unknown)"
        load.append_text(self.muted(freq))
        grid.add_row("Load", load)
        if cpu.cores:
            freqs = {c.freq_mhz for c in cpu.cores if c.freq_mhz is not None}
            per_core_freq = len(freqs) > 1  # identical values say nothing per core
            cores = Text()
            for i, core in enumerate(cpu.cores):
                if i:
                    cores.append("  ")
                fraction = None if core.load_pct is None else core.load_pct / 100
                cores.append(f"{core.index}:")
                cores.append(bar(fraction, 6))
                if per_core_freq and core.freq_mhz is not None:
                    cores.append_text(self.muted(f" {core.freq_mhz / 1000:.1f}G"))
            grid.add_row("Cores", cores)
        per_core = [s for s in cpu.temps if s.label.lower().startswith("core")]
        if per_core:
            grid.add_row("Core temps", " ".join(f"{s.current_c:.0f}°" for s in per_core))
        if cpu.fans:
            fans = ", ".join(f"{f.label or f.group} {f.rpm:.0f} rpm" for f in cpu.fans)
            grid.add_row("Fans", fans)
        else:
            grid.add_row("Fans", self.missing(cpu.reason("fans")))
        if cpu.battery_power_w is not None:
            state = "discharging" if cpu.battery_discharging else "on AC"
            battery = (
                f"{fmt(cpu.battery_power_w, 'W', 1)} ({state}, {fmt(cpu.battery_percent, '%')})"
            )
            grid.add_row("Battery", battery)
        else:
            grid.add_row("Battery", self.missing(cpu.reason("battery_power_w")))
        if cpu.memory_used_bytes is not None and cpu.memory_total_bytes:
            share = cpu.memory_used_bytes / cpu.memory_total_bytes
            memory = Text(
                f"{fmt_bytes(cpu.memory_used_bytes)} of {fmt_bytes(cpu.memory_total_bytes)}  "
            )
            memory.append(bar(share, 20))
            grid.add_row("Memory", memory)
        return grid


def _gpu_energy_j(history: SampleHistory, index: int, latest: GpuSample) -> float | None:
    """Energy since the oldest sample in the history, from the counter."""
    if latest.energy_mj is None:
        return None
    for sample in history:
        for gpu in sample.gpus:
            if gpu.index == index and gpu.energy_mj is not None:
                delta, _ = counter_delta(gpu.energy_mj, latest.energy_mj)
                return delta / 1000.0
    return None


class GpuReadings(Readings):
    """One GPU's current readings against its limits."""

    def __init__(
        self,
        index: int,
        thresholds: ThresholdSettings,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.index = index
        self.thresholds = thresholds

    def gpu(self) -> GpuSample | None:
        latest = self.telemetry.latest
        if latest is None:
            return None
        return next((g for g in latest.gpus if g.index == self.index), None)

    def build(self) -> RowList:
        gpu = self.gpu()
        if gpu is None:
            return self.message("no sample")
        if gpu.lost:
            rows = RowList()
            rows.add_row(
                "", Text(gpu.reason("gpu") or "GPU is lost", style=self.level_style("hot"))
            )
            return rows
        return self._render_gpu(gpu)

    def _render_gpu(self, gpu: GpuSample) -> RowList:
        t = self.thresholds
        grid = self.grid()
        if gpu.temp_c is not None:
            level = temp_level(
                gpu.temp_c,
                limit=gpu.slowdown_temp_c,
                warn_margin=t.gpu_temp_warn_margin_c,
                hot_margin=t.gpu_temp_hot_margin_c,
                warn=t.cpu_temp_warn_c,
                hot=t.cpu_temp_hot_c,
            )
            temp = Text(fmt(gpu.temp_c, "°C"), style=self.level_style(level))
            extra = [f"slowdown {fmt(gpu.slowdown_temp_c, '°C')}"] if gpu.slowdown_temp_c else []
            if gpu.mem_temp_c is not None:
                extra.append(f"memory {fmt(gpu.mem_temp_c, '°C')}")
            if extra:
                temp.append_text(self.muted("  (" + " · ".join(extra) + ")"))
            grid.add_row("Temperature", temp)
        else:
            grid.add_row("Temperature", self.missing(gpu.reason("temp_c")))
        shown = gpu.power_instant_w if gpu.power_instant_w is not None else gpu.power_avg_w
        if shown is not None:
            level = fraction_level(
                gpu.power_avg_w if gpu.power_avg_w is not None else shown,
                gpu.power_limit_w,
                t.power_warn_fraction,
                t.power_hot_fraction,
            )
            power = Text(fmt(shown, "W"), style=self.level_style(level))
            label = "instant" if gpu.power_instant_w is not None else "1 s avg"
            details = [label]
            if gpu.power_instant_w is not None and gpu.power_avg_w is not None:
                details.append(f"{fmt(gpu.power_avg_w, 'W')} 1 s avg")
            if gpu.power_limit_w:
                details.append(f"limit {fmt(gpu.power_limit_w, 'W')}")
            power.append_text(self.muted("  " + " · ".join(details) + "  "))
            if gpu.power_limit_w and gpu.power_avg_w is not None:
                power.append(bar(gpu.power_avg_w / gpu.power_limit_w, 16))
            grid.add_row("Power", power)
        else:
            grid.add_row("Power", self.missing(gpu.reason("power_instant_w")))
        energy_j = _gpu_energy_j(self.telemetry.history, self.index, gpu)
        if energy_j is not None:
            energy = Text(fmt_energy(energy_j))
            energy.append_text(self.muted("  over the history window · NVML energy counter"))
            grid.add_row("Energy", energy)
        else:
            grid.add_row("Energy", self.missing(gpu.reason("energy_mj")))
        if gpu.sm_clock_mhz is not None:
            clocks = Text(fmt(gpu.sm_clock_mhz, "MHz"))
            if gpu.sm_clock_max_mhz:
                clocks.append_text(self.muted(f" of {fmt(gpu.sm_clock_max_mhz, 'MHz')} SM"))
            if gpu.mem_clock_mhz is not None:
                memory = f" · memory {fmt(gpu.mem_clock_mhz, 'MHz')}"
                if gpu.mem_clock_max_mhz:
                    memory += f" of {fmt(gpu.mem_clock_max_mhz, 'MHz')}"
                clocks.append_text(self.muted(memory))
            grid.add_row("Clocks", clocks)
        else:
            grid.add_row("Clocks", self.missing(gpu.reason("sm_clock_mhz")))
        if gpu.util_gpu_pct is not None:
            util = Text(f"{fmt(gpu.util_gpu_pct, '%')} GPU  ")
            util.append(bar(gpu.util_gpu_pct / 100, 12))
            if gpu.util_mem_pct is not None:
                util.append_text(self.muted(f"  {fmt(gpu.util_mem_pct, '%')} memory"))
            grid.add_row("Utilisation", util)
        else:
            grid.add_row("Utilisation", self.missing(gpu.reason("util_gpu_pct")))
        if gpu.vram_used_bytes is not None and gpu.vram_total_bytes:
            vram = Text(f"{fmt_bytes(gpu.vram_used_bytes)} of {fmt_bytes(gpu.vram_total_bytes)}  ")
            vram.append(bar(gpu.vram_used_bytes / gpu.vram_total_bytes, 16))
            grid.add_row("VRAM", vram)
        else:
            grid.add_row("VRAM", self.missing(gpu.reason("vram_used_bytes")))
        mask = gpu.clock_event_reasons
        if mask is None:
            grid.add_row("Throttle", self.missing(gpu.reason("clock_event_reasons")))
        else:
            level = "hot" if is_throttled(mask) else "ok"
            throttle = Text(describe(mask), style=self.level_style(level))
            benign = [r.label for r in decode(mask) if not r.throttling]
            if benign and is_throttled(mask):
                throttle.append_text(self.muted(f"  (also: {', '.join(benign)})"))
            throttle.append_text(self.muted(f"  mask 0x{mask:x}"))
            grid.add_row("Throttle", throttle)
        limited = self._violations(gpu)
        if limited is not None:
            grid.add_row("Limited", limited)
        return grid

    def _violations(self, gpu: GpuSample) -> Text | None:
        """Share of the history window each NVML violation timer ran, or None without timers."""
        if not gpu.violation_ns:
            return None
        history = self.telemetry.history
        for sample in history:
            first = next((g for g in sample.gpus if g.index == self.index), None)
            if first is not None and first.violation_ns:
                latest = self.telemetry.latest
                window = latest.t_s - sample.t_s if latest is not None else 0.0
                shares = violation_shares(first, gpu, window)
                if not shares:
                    return self.muted("n/a · needs two samples")
                active = [(k, v) for k, v in shares.items() if v >= 0.005]
                text = Text(
                    ", ".join(f"{VIOLATION_LABELS.get(k, k)} {v:.0%}" for k, v in active)
                    or "never",
                    style=self.level_style("hot" if active else "ok"),
                )
                text.append_text(
                    self.muted(f"  of the last {window:.0f} s (NVML violation timers)")
                )
                return text
        return None


def _show(widget: Widget, visible: bool) -> None:
    """Set ``display`` only on a change (each set can cost a layout pass)."""
    if widget.display != visible:
        widget.display = visible


class PlotBox(HistoryPlot):
    """A titled history plot: one widget (a title widget plus a plot inside a container would
    be three for the compositor to visit on every frame)."""

    def __init__(
        self,
        title: str,
        unit: str,
        *,
        fit: bool = False,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(unit, title=title, fit=fit, id=id, classes=classes)

    @property
    def plot(self) -> HistoryPlot:
        """The plot itself (the box is the plot)."""
        return self


class CpuCard(Vertical):
    """The CPU: readings plus temperature/power/load history."""

    telemetry: var[TelemetrySlice] = var(_EMPTY)
    """The slice; a container renders nothing itself, so changes repaint only children."""

    def __init__(
        self,
        thresholds: ThresholdSettings,
        window_s: float,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.thresholds = thresholds
        self.window_s = window_s

    def compose(self) -> ComposeResult:
        yield CpuReadings(self.thresholds)
        with Horizontal(classes="plots"):
            yield PlotBox("Temperature", "°", fit=True, id="cpu-temp-plot")
            yield PlotBox("Package power", "W", id="cpu-power-plot")
            yield PlotBox("Load", "%", id="cpu-load-plot")

    def on_mount(self) -> None:
        self._readings = self.query_one(CpuReadings)
        self._plots = self.query_one(".plots")
        self._boxes = {box.id: box for box in self.query(PlotBox)}
        self._update(self.telemetry)

    def watch_telemetry(self, telemetry: TelemetrySlice) -> None:
        if self.is_mounted:
            self._update(telemetry)

    def _update(self, telemetry: TelemetrySlice) -> None:
        self._readings.telemetry = telemetry
        window = _window(telemetry.history, self.window_s)
        cpus = [s.cpu for s in window]
        series = {
            "cpu-temp-plot": [c.package_temp_c if c else None for c in cpus],
            "cpu-power-plot": [c.package_power_w if c else None for c in cpus],
            "cpu-load-plot": [c.load_pct if c else None for c in cpus],
        }
        t = self.thresholds
        _show(self._plots, any(c is not None for c in cpus))
        for plot_id, values in series.items():
            box = self._boxes[plot_id]
            visible = plot_id == "cpu-load-plot" or any(v is not None for v in values)
            _show(box, visible)
            if not visible:
                # A hidden widget that repaints makes the compositor rebuild its whole map.
                continue
            if plot_id == "cpu-temp-plot":
                box.levels = (t.cpu_temp_warn_c, t.cpu_temp_hot_c)
            if plot_id == "cpu-load-plot":
                box.scale = (0.0, 100.0)
            box.values = tuple(values)


class GpuCard(Vertical):
    """One GPU: readings plus power/temperature/clock history."""

    telemetry: var[TelemetrySlice] = var(_EMPTY)
    """The slice; a container renders nothing itself, so changes repaint only children."""

    def __init__(
        self,
        index: int,
        thresholds: ThresholdSettings,
        window_s: float,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.index = index
        self.thresholds = thresholds
        self.window_s = window_s

    def compose(self) -> ComposeResult:
        yield GpuReadings(self.index, self.thresholds)
        with Horizontal(classes="plots"):
            yield PlotBox("Power", "W", classes="gpu-power-plot")
            yield PlotBox("Temperature", "°", fit=True, classes="gpu-temp-plot")
            yield PlotBox("SM clock", "M", classes="gpu-clock-plot")

    def on_mount(self) -> None:
        self._update(self.telemetry)

    def watch_telemetry(self, telemetry: TelemetrySlice) -> None:
        if self.is_mounted:
            self._update(telemetry)

    def _update(self, telemetry: TelemetrySlice) -> None:
        readings = self.query_one(GpuReadings)
        readings.telemetry = telemetry
        gpu = readings.gpu()
        name = gpu.name if gpu and gpu.name else "NVIDIA GPU"
        title = f"GPU {self.index} · {name}"
        if self.border_title != title:
            self.border_title = title
        throttled = gpu is not None and is_throttled(gpu.clock_event_reasons)
        self.set_class(throttled, "-throttled")
        window = _window(telemetry.history, self.window_s)
        picks = []
        for sample in window:
            match = next((g for g in sample.gpus if g.index == self.index), None)
            picks.append(match)
        power = [
            None
            if g is None
            else (g.power_instant_w if g.power_instant_w is not None else g.power_avg_w)
            for g in picks
        ]
        temps = [None if g is None else g.temp_c for g in picks]
        clocks = [None if g is None else g.sm_clock_mhz for g in picks]
        t = self.thresholds
        power_plot = self.query_one(".gpu-power-plot", PlotBox).plot
        limit = gpu.power_limit_w if gpu else None
        if limit:
            power_plot.levels = (limit * t.power_warn_fraction, limit * t.power_hot_fraction)
            power_plot.scale = (0.0, max(limit, *(p for p in power if p is not None)))
        power_plot.values = tuple(power)
        temp_plot = self.query_one(".gpu-temp-plot", PlotBox).plot
        slowdown = gpu.slowdown_temp_c if gpu else None
        if slowdown:
            temp_plot.levels = (
                slowdown - t.gpu_temp_warn_margin_c,
                slowdown - t.gpu_temp_hot_margin_c,
            )
        else:
            temp_plot.levels = (t.cpu_temp_warn_c, t.cpu_temp_hot_c)
        temp_plot.values = tuple(temps)
        clock_plot = self.query_one(".gpu-clock-plot", PlotBox).plot
        if gpu and gpu.sm_clock_max_mhz:
            clock_plot.scale = (0.0, gpu.sm_clock_max_mhz)
        clock_plot.values = tuple(clocks)


class GpuCards(Vertical):
    """One :class:`GpuCard` per GPU in the latest sample, or why there is none."""

    telemetry: var[TelemetrySlice] = var(_EMPTY)
    hardware: var[HardwareSlice] = var(HardwareSlice)

    def __init__(
        self,
        thresholds: ThresholdSettings,
        window_s: float,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.thresholds = thresholds
        self.window_s = window_s
        self._indices: tuple[int, ...] | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="no-gpu")

    def on_mount(self) -> None:
        self._update(self.telemetry)

    def _no_gpu_text(self) -> str:
        if self.telemetry.latest is None:
            return "GPUs: waiting for the first sample…"
        if self.telemetry.source != "live":
            return "No GPU in this trace."
        info = self.hardware.info
        reason = info.gpu_reason if info is not None else None
        return f"No NVIDIA GPU: {reason or 'none found'}"

    def watch_hardware(self) -> None:
        if self.is_mounted and not self._indices:
            self.query_one("#no-gpu", Static).update(self._no_gpu_text())

    def watch_telemetry(self, telemetry: TelemetrySlice) -> None:
        if self.is_mounted:
            self._update(telemetry)

    def _update(self, telemetry: TelemetrySlice) -> None:
        latest = telemetry.latest
        indices = tuple(g.index for g in latest.gpus) if latest else ()
        if indices != self._indices:
            self._indices = indices
            self.query(GpuCard).remove()
            cards = [
                GpuCard(i, self.thresholds, self.window_s, id=f"gpu-card-{i}", classes="card")
                for i in indices
            ]
            for card in cards:
                card.set_reactive(GpuCard.telemetry, telemetry)
            if cards:
                self.mount_all(cards)
            no_gpu = self.query_one("#no-gpu", Static)
            no_gpu.display = not indices
            no_gpu.update(self._no_gpu_text())
        for card in self.query(GpuCard):
            card.telemetry = telemetry
