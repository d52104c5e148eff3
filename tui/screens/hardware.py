"""The Hardware screen: what this machine is, which sensors it exposes, what it suggests."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.reactive import var
from textual.screen import Screen
from textual.widgets import Header

from core.state import HardwareSlice
from tui.widgets.footer import ScoutFooter
from tui.widgets.hardware_panels import GpuPanel, RecommendationPanel, SensorTable, SystemPanel


class HardwareScreen(Screen[None]):
    """Mirrors the store's hardware slice and binds it into its panels."""

    hardware: var[HardwareSlice] = var(HardwareSlice)
    """Mirror of the App's hardware slice (a var: the screen itself renders nothing)."""

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="hardware-body"):
            with Horizontal(id="hardware-top"):
                system = SystemPanel(id="system-panel").data_bind(HardwareScreen.hardware)
                system.border_title = "System"
                yield system
                gpus = GpuPanel(id="gpu-panel").data_bind(HardwareScreen.hardware)
                gpus.border_title = "GPUs"
                yield gpus
            sensors = SensorTable(id="sensor-table").data_bind(HardwareScreen.hardware)
            sensors.border_title = "Sensor availability"
            yield sensors
            rec = RecommendationPanel(id="recommendations").data_bind(HardwareScreen.hardware)
            rec.border_title = "Recommended for this machine"
            yield rec
        yield ScoutFooter()

    def on_mount(self) -> None:
        self.sub_title = "Hardware"
        self.watch(self.app, "hardware", self._mirror, init=True)

    def _mirror(self, hardware: HardwareSlice) -> None:
        self.hardware = hardware
