"""The Benchmark screen: run a model (or any command) while watching the thermals.

Left, the form: the model (prefilled from the comparison, the Models screen's highlighted row,
or a small catalog model; suggestions from the catalog and the presets), a performance profile
(its device, dtype and threads), the backend, device, dtype, lengths, repetitions and the
method's timings, and for the ``command`` backend the command line and a token regex. Run
(ctrl+r) posts :class:`~tui.messages.BenchRunRequested`; the App plans it in a worker (a model
that does not fit is refused with the numbers), runs it in a child process and stores an ok
result. Cancel (escape) stops the child within a second.

Right, the live panel: phase and progress, decode tokens/s as it runs (from the benchmark
slice), and power, temperature, clocks and throttling of the device being measured (from the
telemetry slice); under it the result card: time to first token, prefill and decode (burst and
sustained), energy per token gross and net of idle (method and uncertainty, or why there is
none), temperature, power, clocks and throttling, each next to the prediction with the ratio.
At the bottom the stored history; enter on a row shows that run in the card (R reads it again).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import var
from textual.screen import Screen
from textual.suggester import SuggestFromList
from textual.widgets import (
    Button,
    DataTable,
    Header,
    Input,
    Label,
    ProgressBar,
    Select,
    Sparkline,
    Static,
)

from core.paths import style_path
from core.state import BenchSlice, HardwareSlice, TelemetrySlice
from core.telemetry.history import SampleHistory
from core.telemetry.sample import CpuSample, GpuSample, Sample
from core.telemetry.throttle import REASONS, describe, is_throttled
from tui import messages
from tui.format import fmt
from tui.widgets.footer import ScoutFooter

if TYPE_CHECKING:
    from tui.app import ThermalScoutApp

DEFAULT_MODEL = "HuggingFaceTB/SmolLM2-135M"
"""The model offered when nothing was compared or highlighted (small: quick on any CPU)."""

BUILTIN_PROFILES = ("fast", "balanced", "quality")
"""Offered even when the profile file cannot be read."""

BACKENDS = ("transformers", "onnxruntime", "command")
DTYPES = ("float32", "bfloat16", "float16")
AUTO = "auto"
NO_PROFILE = "-"

CHART_WINDOW_S = 300.0
"""Seconds of telemetry shown in the live power and temperature charts."""

LABEL_WIDTH = 14

HISTORY_COLUMNS: tuple[tuple[str, str, int | None], ...] = (
    ("#", "id", None),
    ("When (UTC)", "when", 16),
    ("Model", "model", 32),
    ("Setup", "setup", 24),
    ("Profile", "profile", None),
    ("TTFT", "ttft", None),
    ("tok/s", "decode", None),
    ("×pred", "ratio", None),
    ("J/token", "energy", None),
    ("Avg °C", "temp", None),
    ("Avg W", "power", None),
    ("Throttled", "throttled", None),
)
"""The history table's columns: title, key, width (None: fit the content)."""

_SHORT_DTYPE = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}

_REASON_LABELS = {r.key: r.label for r in REASONS if r.throttling}

_EMPTY_TELEMETRY = TelemetrySlice(latest=None, history=SampleHistory(1))


@dataclass(frozen=True)
class FormField:
    """One numeric field of the form: its id, label, default and the spec field it sets."""

    id: str
    label: str
    default: str
    kind: type
    minimum: float
    help: str


NUMBER_FIELDS: tuple[FormField, ...] = (
    FormField("prompt-tokens", "Prompt tokens", "128", int, 1, "prompt length"),
    FormField("new-tokens", "Tokens", "128", int, 1, "generated per run"),
    FormField("repeat", "Repeat", "3", int, 1, "measured windows (median)"),
    FormField("baseline", "Idle baseline", "10", float, 0, "s of idle measured first"),
    FormField("min-window", "Min window", "10", float, 0, "s per window; ≥ 10 for energy"),
    FormField("cooldown", "Cooldown", "30", float, 0, "longest s between windows"),
)


class FormError(ValueError):
    """A form value that cannot be used (the message names the field)."""


def _number(field: FormField, text: str) -> float | int:
    """The value of a numeric field, or :class:`FormError`.

    >>> _number(NUMBER_FIELDS[0], " 64 ")
    64
    >>> try:
    ...     _number(NUMBER_FIELDS[0], "0")
    ... except FormError as exc:
    ...     print(exc)
    Prompt tokens must be at least 1
    """
    try:
        value = field.kind(text.strip())
    except ValueError:
        raise FormError(f"{field.label}: not a number: {text.strip()!r}") from None
    if not value >= field.minimum:
        raise FormError(f"{field.label} must be at least {field.minimum:g}")
    result: float | int = value
    return result


def build_values(
    *,
    backend: str,
    device: str,
    dtype: str,
    numbers: Mapping[str, str],
    command: str,
    token_regex: str,
) -> dict[str, Any]:
    """The :class:`~core.bench.plan.BenchSpec` fields the form sets (``auto`` fields left out,
    so the profile's device and dtype apply).

    Raises:
        FormError: A number or the command line cannot be used.

    Example:
        >>> numbers = {f.id: f.default for f in NUMBER_FIELDS}
        >>> values = build_values(backend="command", device="auto", dtype="auto",
        ...     numbers=numbers, command="llama-bench -m 'my model.gguf'", token_regex="")
        >>> values["command"], values["tokens"], "device" in values
        (('llama-bench', '-m', 'my model.gguf'), 128, False)
    """
    parsed = {f.id: _number(f, numbers.get(f.id, f.default)) for f in NUMBER_FIELDS}
    values: dict[str, Any] = {
        "backend": backend,
        "prompt_tokens": int(parsed["prompt-tokens"]),
        "new_tokens": int(parsed["new-tokens"]),
        "repeat": int(parsed["repeat"]),
        "baseline_s": float(parsed["baseline"]),
        "min_window_s": float(parsed["min-window"]),
        "cooldown_s": float(parsed["cooldown"]),
    }
    if device != AUTO:
        values["device"] = device
    if dtype != AUTO:
        values["dtype"] = dtype
    if backend == "command":
        try:
            argv = tuple(shlex.split(command))
        except ValueError as exc:
            raise FormError(f"Command: {exc}") from None
        if not argv:
            raise FormError("Command: the command backend needs a command line to run")
        values["command"] = argv
        regex = token_regex.strip()
        if regex:
            values["token_regex"] = regex  # the count comes from the output
        else:
            values["tokens"] = values["new_tokens"]  # the user says how many per run
    return values


# -- the result card --------------------------------------------------------------------------
def _n(value: Any, unit: str = "", digits: int = 1) -> str:
    return fmt(float(value) if value is not None else None, unit, digits)


def _ratio(measured: Any, predicted: Any) -> str:
    if measured is None or not predicted:
        return ""
    return f", ×{float(measured) / float(predicted):.2f}"


def _j(value: Any) -> str:
    """Joules per token with sensible precision."""
    if value is None:
        return "n/a"
    v = float(value)
    return f"{v:.3g} J/token" if v < 100 else f"{v:,.0f} J/token"


def result_rows(data: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The card's rows for a result JSON (``BenchResult.to_json()`` or a stored run):
    ``(label, text, style)`` where style is ``""``, ``"muted"``, ``"warn"`` or ``"error"``.

    Example:
        >>> rows = result_rows({"status": "ok", "decode_tokens_per_s": 10.0,
        ...     "decode_tokens_per_s_sustained": 9.0, "predicted": {"decode_tokens_per_s": 12.0},
        ...     "measured_over_predicted": 0.75, "energy": {"method": "unavailable",
        ...     "reason": "no CPU energy counter: RAPL not readable"}})
        >>> [r[1] for r in rows if r[0] in ("Decode", "Energy")]
        ['10.0 tok/s burst · 9.0 tok/s sustained  (predicted 12.0 tok/s, ×0.75)', \
'unavailable: no CPU energy counter: RAPL not readable']
    """
    rows: list[tuple[str, str, str]] = []
    status = data.get("status", "ok")
    if status == "cancelled":
        return [("Status", "cancelled — nothing measured, nothing stored", "warn")]
    if status == "failed":
        return [("Status", f"failed: {data.get('error') or 'unknown error'}", "error")]
    predicted = data.get("predicted") or {}
    rows.append(("First token", _n(data.get("ttft_s"), "s", 3), ""))
    prefill = _n(data.get("prefill_tokens_per_s"), "tok/s")
    if predicted.get("prefill_tokens_per_s") and data.get("prefill_tokens_per_s") is not None:
        prefill += (
            f"  (predicted {_n(predicted['prefill_tokens_per_s'], 'tok/s')}"
            f"{_ratio(data['prefill_tokens_per_s'], predicted['prefill_tokens_per_s'])})"
        )
    rows.append(("Prefill", prefill, ""))
    burst, sustained = data.get("decode_tokens_per_s"), data.get("decode_tokens_per_s_sustained")
    decode = f"{_n(burst, 'tok/s')} burst · {_n(sustained, 'tok/s')} sustained"
    if predicted.get("decode_tokens_per_s"):
        decode += f"  (predicted {_n(predicted['decode_tokens_per_s'], 'tok/s')}"
        ratio = data.get("measured_over_predicted")
        decode += f", ×{float(ratio):.2f})" if ratio is not None else ")"
    elif data.get("prediction_note"):
        decode += f"  ({data['prediction_note']})"
    rows.append(("Decode", decode, ""))
    if data.get("embeddings_per_s") is not None:
        rows.append(("Embeddings", _n(data["embeddings_per_s"], "/s"), ""))
    rows.append(_energy_row(data.get("energy") or {}, predicted))
    rows.append(_temperature_row(data.get("temperature")))
    rows.append(_power_row(data.get("power"), predicted))
    clocks = data.get("clocks") or {}
    if clocks.get("avg_mhz") is not None:
        text = f"{_n(clocks['avg_mhz'], 'MHz', 0)} average"
        if clocks.get("min_mhz") is not None:
            text += f" · {_n(clocks['min_mhz'], 'MHz', 0)} lowest"
        if clocks.get("max_mhz") is not None:
            text += f" · max {_n(clocks['max_mhz'], 'MHz', 0)}"
        rows.append(("Clocks", text, ""))
    rows.append(_throttle_row(data))
    for note in data.get("notes") or ():
        rows.append(("Note", str(note), "muted"))
    return rows


def _energy_row(energy: Mapping[str, Any], predicted: Mapping[str, Any]) -> tuple[str, str, str]:
    method = energy.get("method") or "unavailable"
    if method == "unavailable":
        return ("Energy", f"unavailable: {energy.get('reason') or 'no energy readings'}", "muted")
    gross, net = energy.get("gross_joules_per_token"), energy.get("net_joules_per_token")
    if gross is None and energy.get("gross_joules") is not None:
        text = f"{_n(energy['gross_joules'], 'J')} per window (no token count)"
    else:
        text = f"{_j(gross)} gross · {_j(net)} net of idle"
    unc = energy.get("uncertainty")
    text += f" · ±{float(unc) * 100:.0f} %" if unc is not None else ""
    text += f" · {method}"
    if predicted.get("joules_per_token") and gross is not None:
        text += f"  (predicted {_j(predicted['joules_per_token'])}"
        text += f"{_ratio(gross, predicted['joules_per_token'])})"
    style = "" if energy.get("window_valid", True) else "warn"
    return ("Energy", text, style)


def _temperature_row(temp: Mapping[str, Any] | None) -> tuple[str, str, str]:
    if not temp:
        return ("Temperature", "n/a", "muted")
    if temp.get("avg_c") is None:
        return ("Temperature", f"n/a: {temp.get('reason') or 'no sensor'}", "muted")
    text = f"{_n(temp['avg_c'], '°C')} average · {_n(temp.get('peak_c'), '°C')} peak"
    if temp.get("baseline_c") is not None:
        text += f" (idle {_n(temp['baseline_c'], '°C')})"
    if temp.get("sensor"):
        text += f" · {temp['sensor']}"
    return ("Temperature", text, "")


def _power_row(
    power: Mapping[str, Any] | None, predicted: Mapping[str, Any]
) -> tuple[str, str, str]:
    if not power:
        return ("Power", "n/a", "muted")
    if power.get("avg_w") is None and power.get("peak_w") is None:
        return ("Power", f"n/a: {power.get('reason') or 'no power readings'}", "muted")
    text = f"{_n(power.get('avg_w'), 'W')} average · {_n(power.get('peak_w'), 'W')} peak"
    if power.get("idle_w") is not None:
        text += f" (idle {_n(power['idle_w'], 'W')})"
    if predicted.get("power_w") and power.get("avg_w") is not None:
        text += f"  (predicted {_n(predicted['power_w'], 'W')}"
        text += f"{_ratio(power['avg_w'], predicted['power_w'])})"
    return ("Power", text, "")


def _throttle_row(data: Mapping[str, Any]) -> tuple[str, str, str]:
    fraction = data.get("throttled_fraction")
    reasons = {
        _REASON_LABELS[k]: float(v)
        for k, v in (data.get("throttle_reasons") or {}).items()
        if k in _REASON_LABELS and v
    }
    violations = {str(k): float(v) for k, v in (data.get("violations") or {}).items() if v}
    why = {**reasons, **{k: v for k, v in violations.items() if k not in reasons}}
    if fraction is None:
        if why:
            text = ", ".join(f"{k} {v:.0%}" for k, v in why.items())
            return ("Throttled", text, "warn")
        return ("Throttled", "n/a: no throttle reasons on this device", "muted")
    share = float(fraction)
    text = f"{share:.0%} of the time"
    if why:
        text += " · " + ", ".join(f"{k} {v:.0%}" for k, v in why.items())
    return ("Throttled", text, "warn" if share >= 0.01 else "")


def _card_title(data: Mapping[str, Any], prefix: str) -> str:
    parts = [str(data.get("model") or "?"), str(data.get("backend") or "")]
    parts.append(str(data.get("device") or ""))
    if data.get("dtype"):
        parts.append(str(data["dtype"]))
    windows = data.get("windows") or []
    if windows:
        parts.append(f"{len(windows)} window{'s' if len(windows) != 1 else ''}, median")
    return f"{prefix}: " + " · ".join(p for p in parts if p)


# -- live readings -------------------------------------------------------------------------
def _target_gpu(sample: Sample | None, device: str | None) -> GpuSample | None:
    if sample is None or device is None or not device.startswith("cuda"):
        return None
    index = int(device.partition(":")[2] or 0)
    return next((g for g in sample.gpus if g.index == index), None)


def live_rows(sample: Sample | None, device: str | None) -> list[tuple[str, str, str]]:
    """Temperature, power, clocks and throttling of the device a benchmark measures, now.

    Example:
        >>> from core.telemetry.sample import CpuSample, Sample
        >>> cpu = CpuSample(freq_mhz=2450.0, load_pct=51.0,
        ...     unavailable=(("package_temp_c", "no sensors"), ("package_power_w", "no RAPL")))
        >>> [row[1] for row in live_rows(Sample(t_s=0.0, cpu=cpu), "cpu")]
        ['n/a · no sensors', 'n/a · no RAPL', '2,450 MHz · load 51%', 'not reported for CPUs']
    """
    if sample is None:
        return [("", "waiting for the first sample…", "muted")]
    if device is not None and device.startswith("cuda"):
        gpu = _target_gpu(sample, device)
        if gpu is None:
            return [("", f"no readings of {device} in the latest sample", "muted")]
        return _gpu_rows(gpu)
    if sample.cpu is None:
        return [("", "no CPU readings in this source", "muted")]
    return _cpu_rows(sample.cpu)


def _missing(reason: str | None) -> tuple[str, str]:
    return f"n/a · {reason or 'not reported'}", "muted"


def _cpu_rows(cpu: CpuSample) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    if cpu.package_temp_c is not None:
        rows.append(("Temperature", fmt(cpu.package_temp_c, "°C"), ""))
    else:
        rows.append(("Temperature", *_missing(cpu.reason("package_temp_c"))))
    if cpu.package_power_w is not None:
        rows.append(("Power", f"{fmt(cpu.package_power_w, 'W', 1)} package (RAPL)", ""))
    else:
        rows.append(("Power", *_missing(cpu.reason("package_power_w"))))
    clock = fmt(cpu.freq_mhz, "MHz")
    if cpu.freq_max_mhz:
        clock += f" of {fmt(cpu.freq_max_mhz, 'MHz')}"
    rows.append(("Clock", f"{clock} · load {fmt(cpu.load_pct, '%')}", ""))
    rows.append(("Throttle", "not reported for CPUs", "muted"))
    return rows


def _gpu_rows(gpu: GpuSample) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    if gpu.temp_c is not None:
        text = fmt(gpu.temp_c, "°C")
        if gpu.slowdown_temp_c:
            text += f" (slowdown {fmt(gpu.slowdown_temp_c, '°C')})"
        rows.append(("Temperature", text, ""))
    else:
        rows.append(("Temperature", *_missing(gpu.reason("temp_c"))))
    power = gpu.power_instant_w if gpu.power_instant_w is not None else gpu.power_avg_w
    if power is not None:
        text = fmt(power, "W")
        if gpu.power_limit_w:
            text += f" of {fmt(gpu.power_limit_w, 'W')} limit"
        rows.append(("Power", text, ""))
    else:
        rows.append(("Power", *_missing(gpu.reason("power_instant_w"))))
    if gpu.sm_clock_mhz is not None:
        text = fmt(gpu.sm_clock_mhz, "MHz")
        if gpu.sm_clock_max_mhz:
            text += f" of {fmt(gpu.sm_clock_max_mhz, 'MHz')} SM"
        if gpu.util_gpu_pct is not None:
            text += f" · {fmt(gpu.util_gpu_pct, '%')} busy"
        rows.append(("Clock", text, ""))
    else:
        rows.append(("Clock", *_missing(gpu.reason("sm_clock_mhz"))))
    mask = gpu.clock_event_reasons
    if mask is None:
        rows.append(("Throttle", *_missing(gpu.reason("clock_event_reasons"))))
    else:
        rows.append(("Throttle", describe(mask), "hot" if is_throttled(mask) else ""))
    return rows


def _series(window: Sequence[Sample], device: str | None, what: str) -> list[float]:
    """Power or temperature of the measured device over ``window`` (gaps dropped)."""
    values: list[float] = []
    for sample in window:
        value: float | None = None
        gpu = _target_gpu(sample, device)
        if gpu is not None:
            if what == "power":
                value = gpu.power_instant_w if gpu.power_instant_w is not None else gpu.power_avg_w
            else:
                value = gpu.temp_c
        elif (device is None or not device.startswith("cuda")) and sample.cpu is not None:
            value = sample.cpu.package_power_w if what == "power" else sample.cpu.package_temp_c
        if value is not None:
            values.append(value)
    return values


def _grid(rows: Sequence[tuple[str, str, str]], styles: Mapping[str, str]) -> Table:
    """Labelled rows; a long value wraps under its own column, not under the labels."""
    table = Table.grid(padding=(0, 1), expand=True)
    table.add_column(width=LABEL_WIDTH - 1, no_wrap=True)
    table.add_column(ratio=1)
    for label, text, style in rows:
        table.add_row(Text(label, styles["label"]), Text(text, styles.get(style, "")))
    return table


def _plain(rows: Sequence[tuple[str, str, str]]) -> str:
    return "\n".join(f"{label.ljust(LABEL_WIDTH)}{text}".rstrip() for label, text, _ in rows)


class BenchScreen(Screen[None]):
    """The benchmark form, the live panel, the result card and the history."""

    CSS_PATH = style_path("bench.tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "ctrl+r",
            "run",
            "Run",
            id="bench-run",
            tooltip="Plan and run the benchmark in a child process, watching the thermals",
        ),
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="bench-cancel",
            tooltip="Stop the running benchmark within a second; nothing is stored",
        ),
        Binding(
            "R",
            "reload_history",
            "Reload history",
            id="bench-history",
            tooltip="Read the stored benchmarks again",
            show=False,
        ),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "bench--label",
        "bench--muted",
        "bench--warn",
        "bench--error",
        "bench--hot",
    }

    bench: var[BenchSlice] = var(BenchSlice)
    """Mirror of the App's benchmark slice."""
    telemetry: var[TelemetrySlice] = var(lambda: _EMPTY_TELEMETRY)
    """Mirror of the App's telemetry slice."""
    hardware: var[HardwareSlice] = var(HardwareSlice)
    """Mirror of the App's hardware slice (is there a GPU for cuda?)."""

    @property
    def app(self) -> ThermalScoutApp:  # type: ignore[override]
        return super().app  # type: ignore[return-value]

    def __init__(self) -> None:
        super().__init__()
        self._profiles: dict[str, dict[str, Any]] = {name: {} for name in BUILTIN_PROFILES}
        self._history_shown: tuple[Any, ...] | None = None
        self._shown: dict[str, Any] | None = None
        self._shown_title = ""
        self._result_seen: Any = None
        self._ready = False
        self._watched: tuple[str, str | None] | None = None
        self.form_ready = False
        self.card_text = ""
        """The result card as plain text (tests read it)."""
        self.readings_text = ""
        """The live readings as plain text."""
        """True once the profiles and suggestions were loaded (tests and snapshots wait)."""

    # -- layout -------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="bench-main"):
            with VerticalScroll(id="bench-form") as form:
                form.border_title = "Benchmark"
                with Horizontal(classes="field-row"):
                    yield Label("Model", classes="field-label")
                    yield Input(
                        self._initial_model(),
                        placeholder="catalog id, config.json, model folder, .onnx file, or a name",
                        id="bench-model",
                        compact=True,
                    )
                with Horizontal(classes="field-row"):
                    yield Label("Profile", classes="field-label")
                    yield Select[str](
                        [(NO_PROFILE + " (form only)", NO_PROFILE)]
                        + [(name, name) for name in BUILTIN_PROFILES],
                        value="balanced",
                        allow_blank=False,
                        id="bench-profile",
                        compact=True,
                    )
                with Horizontal(classes="field-row"):
                    yield Label("Backend", classes="field-label")
                    yield Select[str](
                        [(b, b) for b in BACKENDS],
                        value="transformers",
                        allow_blank=False,
                        id="bench-backend",
                        compact=True,
                    )
                with Horizontal(classes="field-row"):
                    yield Label("Device", classes="field-label")
                    yield Select[str](
                        self._device_options(),
                        value=AUTO,
                        allow_blank=False,
                        id="bench-device",
                        compact=True,
                    )
                with Horizontal(classes="field-row"):
                    yield Label("dtype", classes="field-label")
                    yield Select[str](
                        [(f"{AUTO} (profile, else per device)", AUTO)] + [(d, d) for d in DTYPES],
                        value=AUTO,
                        allow_blank=False,
                        id="bench-dtype",
                        compact=True,
                    )
                for field in NUMBER_FIELDS:
                    with Horizontal(classes="field-row"):
                        yield Label(field.label, classes="field-label")
                        yield Input(
                            field.default,
                            type="integer" if field.kind is int else "number",
                            id=f"bench-{field.id}",
                            classes="number",
                            compact=True,
                            tooltip=field.help,
                        )
                        yield Static(field.help, classes="field-help")
                with Horizontal(classes="field-row"):
                    yield Label("Command", classes="field-label")
                    yield Input(
                        placeholder="command backend: the program and its arguments",
                        id="bench-command",
                        compact=True,
                        disabled=True,
                    )
                with Horizontal(classes="field-row"):
                    yield Label("Token regex", classes="field-label")
                    yield Input(
                        placeholder=r"finds the token count in its output, e.g. (\d+) tokens",
                        id="bench-token-regex",
                        compact=True,
                        disabled=True,
                    )
                yield Static("", id="bench-form-hint")
                with Horizontal(id="bench-buttons"):
                    yield Button("Run  ctrl+r", variant="primary", id="bench-run", compact=True)
                    yield Button("Cancel  esc", variant="error", id="bench-cancel", compact=True)
            with Vertical(id="bench-right"):
                with Vertical(id="bench-live") as live:
                    live.border_title = "Live"
                    yield Static("", id="bench-status")
                    with Horizontal(id="bench-progress-row"):
                        yield ProgressBar(
                            total=1.0, show_eta=False, id="bench-progress", show_percentage=False
                        )
                        yield Static("", id="bench-phase")
                    for key, label in (
                        ("rate", "Decode tok/s"),
                        ("power", "Power"),
                        ("temp", "Temperature"),
                    ):
                        with Horizontal(classes="chart-row"):
                            yield Label(label, classes="chart-label")
                            yield Sparkline([], id=f"bench-chart-{key}", classes="chart")
                            yield Static("", id=f"bench-chart-{key}-now", classes="chart-now")
                    yield Static("", id="bench-readings")
                yield Static("", id="bench-result")
        history: DataTable[Text | str] = DataTable(id="bench-history", cursor_type="row")
        history.border_title = "History"
        for label, key, width in HISTORY_COLUMNS:
            history.add_column(label, key=key, width=width)
        yield history
        yield ScoutFooter()

    def on_mount(self) -> None:
        self.sub_title = "Benchmark"
        self._ready = True  # the children exist: watchers may update them from here on
        self.watch(self.app, "bench", self._mirror_bench, init=True)
        self.watch(self.app, "telemetry", self._mirror_telemetry, init=True)
        self.watch(self.app, "hardware", self._mirror_hardware, init=True)
        if not self.bench.history_loaded:
            self.post_message(messages.BenchHistoryRequested())
        self._load_form_data()
        self._update_backend()
        if self._shown is None:
            self._render_result()
        self.query_one("#bench-run", Button).focus()  # digits and letters still switch screens

    def _mirror_bench(self, bench: BenchSlice) -> None:
        self.bench = bench

    def _mirror_telemetry(self, telemetry: TelemetrySlice) -> None:
        self.telemetry = telemetry

    def _mirror_hardware(self, hardware: HardwareSlice) -> None:
        self.hardware = hardware

    # -- the form -----------------------------------------------------------------------
    def _initial_model(self) -> str:
        """The first compared model, else the Models screen's highlighted row, else a small one."""
        app = self.app
        ids = app.state.comparison.ids
        if ids:
            return ids[0]
        try:
            screens = app.get_screen_stack("models")
        except (KeyError, AttributeError):
            screens = []
        for screen in screens:
            for detail in screen.query("ModelDetail"):
                row = getattr(detail, "row", None)
                if row is not None and getattr(row, "id", None):
                    return str(row.id)
        return DEFAULT_MODEL

    def _device_options(self) -> list[tuple[str, str]]:
        options = [(f"{AUTO} (profile, else cpu)", AUTO), ("cpu", "cpu")]
        info = self.hardware.info
        if info is not None:
            for gpu in info.gpus:
                options.append((f"cuda:{gpu.index} · {gpu.name}", f"cuda:{gpu.index}"))
        return options

    def watch_hardware(self, hardware: HardwareSlice) -> None:
        if not self._ready:
            return
        select: Select[str] = self.query_one("#bench-device", Select)
        value = select.value
        options = self._device_options()
        select.set_options(options)
        if value in {v for _, v in options}:
            select.value = value
        self._update_hint()

    @work(thread=True, name="benchmark form", group="bench-form", exit_on_error=False)
    def _load_form_data(self) -> None:
        """Profiles from the profile file and model ids for suggestions (off the UI thread)."""
        from core.catalog.embedded import load_catalog
        from core.errors import ThermalScoutError

        profiles: dict[str, dict[str, Any]] = {name: {} for name in BUILTIN_PROFILES}
        default: str | None = None
        preset_ids: list[str] = []
        problem: str | None = None
        try:
            from core.profiles import open_store

            store = open_store(self.app.config_path)
            for name, entry in store.profiles.items():
                model = entry.model
                profiles[name] = model.model_dump() if model is not None else {}
            default = store.default_profile
            for preset_entry in store.presets.values():
                preset = preset_entry.model
                if preset is not None and preset.model_id:
                    preset_ids.append(preset.model_id)
        except (ThermalScoutError, OSError) as exc:
            problem = f"profiles not read ({exc}); the built-in names use the form's values"
        ids = [*preset_ids, *(e.repo_id for e in load_catalog())]
        self.app.call_from_thread(self._form_data_loaded, profiles, default, ids, problem)

    def _form_data_loaded(
        self,
        profiles: dict[str, dict[str, Any]],
        default: str | None,
        ids: list[str],
        problem: str | None,
    ) -> None:
        self._profiles = profiles
        select: Select[str] = self.query_one("#bench-profile", Select)
        current = select.value
        select.set_options(
            [(NO_PROFILE + " (form only)", NO_PROFILE)] + [(name, name) for name in profiles]
        )
        if isinstance(current, str) and current in profiles:
            select.value = current
        elif default in profiles:
            select.value = str(default)
        catalog_ids = [str(r.id) for r in self.app.state.catalog.rows if getattr(r, "id", None)]
        model = self.query_one("#bench-model", Input)
        model.suggester = SuggestFromList(
            list(dict.fromkeys([*self.app.state.comparison.ids, *ids, *catalog_ids])),
            case_sensitive=False,
        )
        if problem:
            self.notify(problem, severity="warning", timeout=8)
        self.form_ready = True

    @on(Select.Changed, "#bench-backend")
    def _backend_changed(self) -> None:
        self._update_backend()

    @on(Select.Changed, "#bench-device")
    @on(Select.Changed, "#bench-profile")
    def _device_changed(self) -> None:
        self._update_hint()
        self._update_live()

    def _update_backend(self) -> None:
        backend = self.query_one("#bench-backend", Select).value
        command = backend == "command"
        self.query_one("#bench-command", Input).disabled = not command
        self.query_one("#bench-token-regex", Input).disabled = not command
        self.query_one("#bench-dtype", Select).disabled = command
        self.query_one("#bench-prompt-tokens", Input).disabled = command
        self._update_hint()

    def _update_hint(self) -> None:
        hints: list[str] = []
        backend = self.query_one("#bench-backend", Select).value
        info = self.hardware.info
        if self.hardware.status == "detecting":
            hints.append("cuda: detecting the hardware…")
        elif info is None or not info.gpus:
            reason = (info.gpu_reason if info is not None else self.hardware.error) or "none found"
            hints.append(f"cuda unavailable: no NVIDIA GPU ({reason})")
        if backend == "command":
            hints.append(
                "command: Tokens is the count per run, unless a token regex finds it in the "
                "output; the model name gives the prediction"
            )
        elif backend == "onnxruntime":
            hints.append("onnxruntime: Model is the path of an .onnx file")
        else:
            hints.append("transformers: random weights built from the catalog config; no download")
        self.query_one("#bench-form-hint", Static).update("\n".join(hints))

    def _spec(self) -> Any:
        """The :class:`~core.bench.plan.BenchSpec` the form describes, or raises FormError /
        ThermalScoutError with one line."""
        from core.bench.plan import spec_from_profile

        target = self.query_one("#bench-model", Input).value.strip()
        if not target:
            raise FormError("Model: name a model (a catalog id, a file, or a label)")
        values = build_values(
            backend=str(self.query_one("#bench-backend", Select).value),
            device=str(self.query_one("#bench-device", Select).value),
            dtype=str(self.query_one("#bench-dtype", Select).value),
            numbers={f.id: self.query_one(f"#bench-{f.id}", Input).value for f in NUMBER_FIELDS},
            command=self.query_one("#bench-command", Input).value,
            token_regex=self.query_one("#bench-token-regex", Input).value,
        )
        profile = str(self.query_one("#bench-profile", Select).value)
        settings = self._profiles.get(profile, {}) if profile != NO_PROFILE else {}
        name = profile if profile != NO_PROFILE else None
        return spec_from_profile(target, settings, profile=name, **values)

    # -- actions ------------------------------------------------------------------------
    @on(Button.Pressed, "#bench-run")
    def action_run(self) -> None:
        from core.errors import ThermalScoutError

        if self.bench.busy:
            self.notify("A benchmark is running; cancel it first (escape)", severity="warning")
            return
        try:
            spec = self._spec()
        except (FormError, ThermalScoutError) as exc:
            self.query_one("#bench-status", Static).update(
                Text(str(exc), style=self._style("error"))
            )
            self.notify(str(exc), title="Benchmark not started", severity="error", timeout=8)
            return
        self.post_message(messages.BenchRunRequested(spec))

    @on(Button.Pressed, "#bench-cancel")
    def action_cancel(self) -> None:
        if self.bench.busy:
            self.post_message(messages.BenchCancelRequested())

    def action_reload_history(self) -> None:
        self.post_message(messages.BenchHistoryRequested())

    @on(DataTable.RowSelected, "#bench-history")
    def _history_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        for entry in self.bench.history:
            if str(entry.id) == key:
                self._show(entry.result, f"Run {entry.id}")
                return

    # -- view ---------------------------------------------------------------------------
    def _style(self, name: str) -> str:
        return str(self.get_component_rich_style(f"bench--{name}"))

    def _styles(self) -> dict[str, str]:
        return {
            "label": self._style("label"),
            "muted": self._style("muted"),
            "warn": self._style("warn"),
            "error": self._style("error"),
            "hot": self._style("hot"),
        }

    def watch_bench(self, bench: BenchSlice) -> None:
        if not self._ready:
            return
        busy = bench.busy
        self.query_one("#bench-run", Button).disabled = busy
        self.query_one("#bench-cancel", Button).disabled = not busy
        self._update_status(bench)
        self._update_progress(bench)
        rate = self.query_one("#bench-chart-rate", Sparkline)
        rate.data = list(bench.points)
        progress = bench.progress
        now = getattr(progress, "tokens_per_s", None) if busy else None
        if now is None and bench.points and busy:
            now = bench.points[-1]
        self.query_one("#bench-chart-rate-now", Static).update(
            fmt(now, "tok/s", 1) if now is not None else ""
        )
        if bench.history is not self._history_shown:
            self._history_shown = bench.history
            self._fill_history(bench.history)
        if bench.result is not None and bench.result is not self._result_seen:
            self._result_seen = bench.result
            title = "Result"
            if bench.stored_id is not None:
                title = f"Result · stored as run {bench.stored_id}"
            self._show(bench.result.to_json(), title)
        elif self._shown is None and bench.history and not busy:
            latest = bench.history[0]
            self._show(latest.result, f"Last stored run {latest.id}")
        watched = (bench.status, bench.device)
        if watched != self._watched:  # the device measured changed: its readings and charts
            self._watched = watched
            self._update_live()

    def watch_telemetry(self) -> None:
        if self._ready:
            self._update_live()

    def _update_status(self, bench: BenchSlice) -> None:
        status = self.query_one("#bench-status", Static)
        styles = self._styles()
        text = Text(no_wrap=False)
        if bench.status == "idle":
            text.append(
                "Pick a model and a profile, then Run (ctrl+r). The workload runs in a child "
                "process: a crash or a cancel never takes the app down.",
                styles["muted"],
            )
        elif bench.status == "planning":
            text.append("planning: checking the options and that the model fits…")
        elif bench.status == "running":
            progress = bench.progress
            text.append(bench.summary or "running", "bold")
            if progress is not None:
                text.append(f"\n{progress.message}")
                if progress.temperature_c is not None:
                    text.append(f" · {progress.temperature_c:.0f} °C")
                text.append(f"  ({progress.elapsed_s:.0f} s elapsed)", styles["muted"])
        elif bench.status == "done":
            result = bench.result
            text.append(f"done in {result.duration_s:.0f} s", "bold")
            if bench.stored_id is not None:
                text.append(f", stored as run {bench.stored_id}")
            if bench.summary:
                text.append(f"\n{bench.summary}", styles["muted"])
        elif bench.status == "cancelled":
            text.append("cancelled; nothing stored", styles["warn"])
        else:
            text.append(f"failed: {bench.error or 'unknown error'}", styles["error"])
        for note in bench.notes if bench.status in ("running", "done") else ():
            text.append(f"\nnote: {note}", styles["muted"])
        status.update(text)

    def _update_progress(self, bench: BenchSlice) -> None:
        bar = self.query_one("#bench-progress", ProgressBar)
        phase = self.query_one("#bench-phase", Static)
        progress = bench.progress
        if bench.status == "done":
            bar.update(total=1.0, progress=1.0)
            phase.update("done")
            return
        if not bench.busy:
            bar.update(total=1.0, progress=0.0)
            phase.update(bench.status if bench.status != "idle" else "")
            return
        if progress is None:
            bar.update(total=None)
            phase.update(bench.status)
            return
        total = progress.phase_total_s
        if total:
            bar.update(total=1.0, progress=min(1.0, progress.phase_elapsed_s / total))
        else:
            bar.update(total=None)
        label = progress.phase
        if progress.repetition is not None and progress.repetitions:
            label += f" {progress.repetition} of {progress.repetitions}"
        phase.update(label)

    def _update_live(self) -> None:
        telemetry = self.telemetry
        device = self._watched_device()
        styles = self._styles()
        rows = live_rows(telemetry.latest, device)
        if telemetry.source.startswith("replay"):
            rows.insert(
                0,
                (
                    "",
                    "replaying a trace: these are its readings; a benchmark samples this "
                    "machine on its own",
                    "warn",
                ),
            )
        self.readings_text = _plain(rows)
        self.query_one("#bench-readings", Static).update(_grid(rows, styles))
        window = telemetry.history.window(CHART_WINDOW_S)
        for key, what, unit, digits in (("power", "power", "W", 1), ("temp", "temp", "°C", 0)):
            values = _series(window, device, what)
            self.query_one(f"#bench-chart-{key}", Sparkline).data = values
            now = self.query_one(f"#bench-chart-{key}-now", Static)
            now.update(fmt(values[-1], unit, digits) if values else Text("n/a", styles["muted"]))

    def _watched_device(self) -> str | None:
        """The device being measured (the plan's), else the form's choice."""
        bench = self.bench
        if bench.device is not None and bench.status != "idle":
            return bench.device
        value = self.query_one("#bench-device", Select).value
        if isinstance(value, str) and value.startswith("cuda"):
            return value
        return "cpu"

    def _show(self, data: Mapping[str, Any] | None, title: str) -> None:
        self._shown = dict(data) if data is not None else None
        self._shown_title = title
        self._render_result()

    def _render_result(self) -> None:
        card = self.query_one("#bench-result", Static)
        styles = self._styles()
        data = self._shown
        if data is None:
            card.border_title = "Result"
            self.card_text = (
                "No result yet. A run measures idle power first, warms up, then runs the "
                "workload in windows (≥ 10 s each for a valid energy figure) with cooldowns "
                "between them."
            )
            card.update(Text(self.card_text, styles["muted"]))
            return
        card.border_title = _card_title(data, self._shown_title)
        rows = result_rows(data)
        self.card_text = _plain(rows)
        card.update(_grid(rows, styles))

    def _fill_history(self, entries: Sequence[Any]) -> None:
        table: DataTable[Text | str] = self.query_one("#bench-history", DataTable)
        table.clear()
        if not entries:
            return
        for e in entries:
            rate = e.decode_tokens_per_s_sustained or e.decode_tokens_per_s
            throttled = "n/a" if e.throttled_fraction is None else f"{e.throttled_fraction:.0%}"
            setup = " ".join(
                p for p in (e.backend, e.device, _SHORT_DTYPE.get(e.dtype or "", e.dtype)) if p
            )
            table.add_row(
                str(e.id),
                e.created_at[:16].replace("T", " "),
                e.model,
                setup,
                e.profile or "",
                _n(e.ttft_s, "s", 3),
                _n(rate, "", 1),
                "n/a" if e.measured_over_predicted is None else f"×{e.measured_over_predicted:.2f}",
                "n/a" if e.gross_joules_per_token is None else f"{e.gross_joules_per_token:.3g}",
                _n(e.avg_temp_c, "", 0),
                _n(e.avg_power_w, "", 1),
                throttled,
                key=str(e.id),
            )


__all__ = ["BenchScreen", "build_values", "live_rows", "result_rows"]
