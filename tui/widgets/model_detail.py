"""The Models screen's detail pane: one model's full analysis and where each number came from."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from core.catalog.cache import CachedModel
from core.catalog.columns import FIT_MARK, human_bytes, human_count
from core.catalog.rows import ModelRow


class ModelDetail(Widget):
    """Everything known about the highlighted model on the chosen hardware."""

    COMPONENT_CLASSES = {"model-detail--muted", "model-detail--bad", "model-detail--title"}

    row: reactive[ModelRow | None] = reactive(None, layout=True)
    """The highlighted row."""

    def _muted(self, text: str) -> Text:
        return Text(text, style=self.get_component_rich_style("model-detail--muted"))

    def render(self) -> RenderableType:
        row = self.row
        if row is None:
            return self._muted("Highlight a model to see its full analysis.")
        title = Text(row.id, style=self.get_component_rich_style("model-detail--title"))
        facts = (
            f"  {row.source} · {row.task or 'task unknown'} · licence {row.licence or 'unknown'}"
        )
        title.append_text(self._muted(facts))
        analysis = row.analysis
        cached = self._cached(row) or self._registered(row)
        if analysis is None:
            bad = self.get_component_rich_style("model-detail--bad")
            error = Text(row.error or "cannot analyse", style=bad)
            return Group(title, error, cached) if cached else Group(title, error)
        left = Table.grid(padding=(0, 1))
        left.add_column(style="bold", no_wrap=True)
        left.add_column()
        if cached is not None:
            left.add_row("Local cache" if row.source == "cache" else "Registered", cached)
        params = f"{human_count(analysis.params_total)} ({analysis.params_total:,})"
        if analysis.params_active != analysis.params_total:
            params += f", {human_count(analysis.params_active)} active per token"
        method = row.params_method
        if len(method) > 110:  # full provenance stays in the row's facts and the CLI's JSON
            method = method[:109] + "…"
        left.add_row("Parameters", Text(params).append_text(self._muted(f"  {method}")))
        left.add_row("Architecture", analysis.architecture_class)
        memory = analysis.memory
        left.add_row(
            f"Memory ({analysis.precision.name})",
            Text(
                f"{human_bytes(memory.total_bytes)} = weights {human_bytes(memory.weights_bytes)}"
                f" + KV {human_bytes(memory.kv_cache_bytes)} + overhead "
                f"{human_bytes(memory.overhead_bytes)}"
            ),
        )
        left.add_row("", self._muted(f"KV: {memory.kv_method}"))
        left.add_row("", self._muted(f"overhead: {memory.rule}"))
        by_precision = "  ".join(
            f"{name} {human_bytes(size)}" for name, size in analysis.weights_by_precision.items()
        )
        left.add_row("Weights", by_precision)
        fit = analysis.fit
        left.add_row(
            "Fits",
            f"{FIT_MARK[fit.level]} {fit.level}: needs {human_bytes(fit.required_bytes)}, "
            f"{human_bytes(fit.available_bytes)} free on {fit.device}",
        )
        est = analysis.estimates
        confidence = est.confidence
        if est.decode_tokens_per_s is not None:
            decode = Text(
                f"{est.decode_tokens_per_s:,.1f} tok/s decode ({est.bound}), "
                f"{est.prefill_tokens_per_s:,.0f} tok/s prefill"
            )
            decode.append_text(
                self._muted(
                    f"  range ×{confidence.low:g}–×{confidence.high:g} "
                    f"({confidence.level}: {confidence.reason})"
                )
            )
            left.add_row("Speed", decode)
            left.add_row(
                "Energy",
                f"{est.power_w:,.0f} W predicted · {est.joules_per_token:,.2f} J/token",
            )
        else:
            left.add_row(
                "Speed", f"{est.prefill_tokens_per_s:,.0f} tokens/s encoded (no generation)"
            )
            left.add_row("Energy", f"{est.power_w:,.0f} W predicted")
        left.add_row("", self._muted(f"method: {est.method}"))
        thermal = analysis.thermal
        heuristic = thermal.heuristic
        klass = Text(f"{thermal.klass} ({thermal.source})")
        klass.append_text(
            self._muted(
                f"  heuristic: score {heuristic.score} → {heuristic.klass}; "
                + "; ".join(heuristic.reasons)
            )
        )
        left.add_row("Thermal class", klass)
        measurement = row.measurement
        if measurement is not None:
            left.add_row("Measured", Text(str(getattr(measurement, "label", measurement))))
        left.add_row("Hardware", f"{analysis.hardware.name} · {analysis.hardware.method}")
        return Group(title, left)

    def _registered(self, row: ModelRow) -> Text | None:
        """Path, format, size and status of a file in the registry (``registry add``)."""
        entry = row.facts
        if row.source != "registry" or entry is None or not hasattr(entry, "status"):
            return None
        text = Text(f"{entry.format} · {human_bytes(entry.size_bytes)} · {entry.status}")
        if entry.status_detail:
            text.append(f" ({entry.status_detail})")
        text.append_text(self._muted(f"  {entry.path}"))
        return text

    def _cached(self, row: ModelRow) -> Text | None:
        """Size on disk, revisions and folder of a model found in the Hugging Face cache."""
        model = row.facts
        if row.source != "cache" or not isinstance(model, CachedModel):
            return None
        revisions = model.revision_count
        text = Text(
            f"{human_bytes(model.size_on_disk_bytes)} on disk · {model.nb_files} "
            f"file{'s' if model.nb_files != 1 else ''} · "
            f"{revisions} revision{'s' if revisions != 1 else ''}"
            + (f" (analysed {model.revision})" if model.revision else "")
        )
        if model.incomplete_bytes:
            text.append(f" · {human_bytes(model.incomplete_bytes)} partial download")
        text.append_text(self._muted(f"  {model.repo_path}"))
        return text
