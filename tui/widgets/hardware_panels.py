"""Widgets of the Hardware screen; each renders one part of the hardware slice."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from core.hardware import max_params_for_memory, size_tier_for_memory
from core.hwinfo import HardwareInfo
from core.state import HardwareSlice
from tui.format import GIB, fmt, fmt_bytes


def _grid() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    return table


class HardwarePanel(Widget):
    """Base: renders ``hardware`` once it is detected; a waiting line before."""

    COMPONENT_CLASSES = {"hardware-panel--muted", "hardware-panel--bad"}

    hardware: reactive[HardwareSlice] = reactive(HardwareSlice, layout=True)
    """The hardware slice, bound from the screen."""

    def render(self) -> RenderableType:
        info = self.hardware.info
        if info is None:
            if self.hardware.status == "failed":
                return Text(f"detection failed: {self.hardware.error}")
            return Text("detecting…", style=self.get_component_rich_style("hardware-panel--muted"))
        return self.render_info(info)

    def render_info(self, info: HardwareInfo) -> RenderableType:
        """This panel's part of ``info``; subclasses override it."""
        return Text("")

    def muted(self, text: str) -> Text:
        return Text(text, style=self.get_component_rich_style("hardware-panel--muted"))


class SystemPanel(HardwarePanel):
    """CPU, memory, disk and OS."""

    def render_info(self, info: HardwareInfo) -> RenderableType:
        cpu, mem, disk, os_ = info.cpu, info.memory, info.disk, info.os
        grid = _grid()
        grid.add_row("CPU", cpu.model)
        cores = f"{cpu.physical_cores or '?'} physical / {cpu.logical_cores} logical ({cpu.arch})"
        grid.add_row("Cores", cores)
        freq = fmt(cpu.freq_mhz, "MHz")
        freq += f" (max {fmt(cpu.freq_max_mhz, 'MHz')})" if cpu.freq_max_mhz else " (max unknown)"
        grid.add_row("Frequency", freq)
        grid.add_row(
            "Memory", f"{fmt_bytes(mem.total_bytes)} total, {fmt_bytes(mem.available_bytes)} free"
        )
        swap = (
            f"{fmt_bytes(mem.swap_total_bytes)} total, {fmt_bytes(mem.swap_free_bytes)} free"
            if mem.swap_total_bytes
            else "none"
        )
        grid.add_row("Swap", swap)
        if disk.free_bytes is not None:
            grid.add_row("Model cache", f"{fmt_bytes(disk.free_bytes)} free at {disk.path}")
        else:
            grid.add_row("Model cache", self.muted(f"{disk.path}: {disk.reason}"))
        system = f"{os_.distribution} · {os_.system} {os_.release} · Python {os_.python}"
        grid.add_row("OS", system)
        if os_.virtualized:
            grid.add_row("Virtual", os_.virtualized)
        return grid


class GpuPanel(HardwarePanel):
    """Each NVIDIA GPU, or why none is listed."""

    def render_info(self, info: HardwareInfo) -> RenderableType:
        if not info.gpus:
            return self.muted(f"No NVIDIA GPU: {info.gpu_reason or 'none found'}")
        parts: list[RenderableType] = []
        for gpu in info.gpus:
            grid = _grid()
            grid.add_row(f"GPU {gpu.index}", Text(gpu.name, style="bold"))
            vram = fmt_bytes(gpu.vram_total_bytes)
            if gpu.vram_free_bytes is not None:
                vram += f" ({fmt_bytes(gpu.vram_free_bytes)} free)"
            grid.add_row("VRAM", vram)
            grid.add_row(
                "Driver / CUDA",
                f"{gpu.driver_version or 'n/a'} / {gpu.cuda_version or 'n/a'}"
                f" · compute {gpu.compute_capability or 'n/a'}",
            )
            limit = fmt(gpu.power_limit_w, "W")
            if gpu.default_power_limit_w and gpu.default_power_limit_w != gpu.power_limit_w:
                limit += f" (default {fmt(gpu.default_power_limit_w, 'W')})"
            grid.add_row("Power limit", limit)
            grid.add_row(
                "Temp limits",
                f"slowdown {fmt(gpu.slowdown_temp_c, '°C')} · "
                f"shutdown {fmt(gpu.shutdown_temp_c, '°C')}",
            )
            if gpu.memory_bandwidth_gbps is not None:
                grid.add_row(
                    "Memory",
                    f"{gpu.memory_bus_width_bits}-bit × {fmt(gpu.memory_clock_max_mhz, 'MHz')}"
                    f" → {fmt(gpu.memory_bandwidth_gbps, 'GB/s')}",
                )
            else:
                grid.add_row("Memory", self.muted("bandwidth unknown"))
            parts.append(grid)
        return Group(*parts)


class RecommendationPanel(HardwarePanel):
    """What this hardware suggests: model tier, profile, settings, and why."""

    def render_info(self, info: HardwareInfo) -> RenderableType:
        rec = info.recommendations
        grid = _grid()
        grid.add_row("Models", f"{rec.model_tier_label}")
        memory = int(rec.memory_gb * GIB)
        tier = size_tier_for_memory(memory, 2.0)
        grid.add_row(
            "Size tier",
            f"{tier}: weights up to ~{max_params_for_memory(memory, 2.0) / 1e9:.1f}B parameters "
            "at bf16 (small ≤ 4B · medium ≤ 14B · large ≤ 32B · xlarge ≤ 80B)",
        )
        grid.add_row(
            "Profile",
            f"{rec.profile} · {rec.threads} thread{'s' if rec.threads != 1 else ''} · "
            f"context {rec.context_length:,} · "
            f"batch {rec.batch_size} · max tokens {rec.max_tokens:,}",
        )
        if rec.warning:
            grid.add_row(
                "Warning",
                Text(rec.warning, style=self.get_component_rich_style("hardware-panel--bad")),
            )
        why = Text("\n".join(f"• {reason}" for reason in rec.reasons))
        why.stylize(self.get_component_rich_style("hardware-panel--muted"))
        return Group(grid, why)


class SensorTable(HardwarePanel):
    """One row per reading: live or not, and exactly why not (wrapped, never cut off)."""

    COMPONENT_CLASSES = {
        "hardware-panel--muted",
        "hardware-panel--bad",
        "sensor-table--live",
        "sensor-table--missing",
    }

    def render_info(self, info: HardwareInfo) -> RenderableType:
        table = Table(expand=True, box=None, padding=(0, 1), show_edge=False)
        table.add_column("Reading", no_wrap=True, ratio=2)
        table.add_column("State", no_wrap=True, width=7)
        table.add_column("Why not / how to fix", ratio=6)
        table.add_column("Source", ratio=2)
        live = self.get_component_rich_style("sensor-table--live")
        missing = self.get_component_rich_style("sensor-table--missing")
        for sensor in info.sensors:
            if sensor.available:
                table.add_row(sensor.name, Text("● live", style=live), "", sensor.source)
                continue
            reason = Text(sensor.reason or "unavailable")
            if sensor.hint:
                reason.append("\nfix: ", style="bold")
                reason.append(sensor.hint)
            table.add_row(sensor.name, Text("○ n/a", style=missing), reason, sensor.source)
        return table


__all__ = ["GIB", "GpuPanel", "RecommendationPanel", "SensorTable", "SystemPanel"]
