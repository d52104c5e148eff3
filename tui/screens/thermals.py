"""The Thermals screen: live (or replayed) temperature, power, energy, clocks and throttling."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Header

from core.paths import style_path
from core.state import HardwareSlice, TelemetrySlice
from core.telemetry.history import SampleHistory
from tui.widgets.footer import ScoutFooter
from tui.widgets.thermal_panels import CpuCard, GpuCards, StatusLine

if TYPE_CHECKING:
    from tui.app import ThermalScoutApp


class ThermalsScreen(Screen[None]):
    """Mirrors the telemetry and hardware slices and binds them into its cards."""

    CSS_PATH = style_path("thermals.tcss")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "r",
            "toggle_recording",
            "Record",
            id="record",
            tooltip="Start or stop recording samples to a .jsonl trace (replay it with --replay)",
        ),
    ]

    telemetry: var[TelemetrySlice] = var(
        lambda: TelemetrySlice(latest=None, history=SampleHistory(1))
    )
    """Mirror of the App's telemetry slice (a var: the screen itself renders nothing)."""
    hardware: var[HardwareSlice] = var(HardwareSlice)
    """Mirror of the App's hardware slice (for "no GPU because …")."""

    @property
    def scout(self) -> ThermalScoutApp:
        from tui.app import ThermalScoutApp

        assert isinstance(self.app, ThermalScoutApp)
        return self.app

    def compose(self) -> ComposeResult:
        settings = self.scout.settings
        thresholds = settings.thresholds
        window_s = settings.telemetry.plot_window_s
        yield Header()
        yield StatusLine(id="status-line").data_bind(ThermalsScreen.telemetry)
        with VerticalScroll(id="thermals-body"):
            cpu = CpuCard(thresholds, window_s, id="cpu-card", classes="card")
            cpu.border_title = "CPU"
            yield cpu.data_bind(ThermalsScreen.telemetry)
            yield GpuCards(thresholds, window_s, id="gpu-cards").data_bind(
                ThermalsScreen.telemetry, ThermalsScreen.hardware
            )
        yield ScoutFooter()

    def on_mount(self) -> None:
        self.sub_title = "Thermals"
        self.watch(self.app, "telemetry", self._mirror_telemetry, init=True)
        self.watch(self.app, "hardware", self._mirror_hardware, init=True)

    def _mirror_telemetry(self, telemetry: TelemetrySlice) -> None:
        self.telemetry = telemetry

    def _mirror_hardware(self, hardware: HardwareSlice) -> None:
        self.hardware = hardware

    def action_toggle_recording(self) -> None:
        """Ask the App to start or stop recording."""
        self.scout.toggle_recording()
