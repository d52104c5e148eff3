"""The baseline: a bare Textual app with one Label updated at 1 Hz.

The issue's reference figures (about 0.4 s to the first frame and about 1.0 % of one core idle)
are for this app. Run it with the project's interpreter:
``.venv/bin/python benchmarks/bare_app.py``.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Label


class BareApp(App[None]):
    """One Label, refreshed once a second."""

    def compose(self) -> ComposeResult:
        yield Label("bare textual app tick 0", id="tick")

    def on_mount(self) -> None:
        self._ticks = 0
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        self._ticks += 1
        self.query_one("#tick", Label).update(f"bare textual app tick {self._ticks}")


if __name__ == "__main__":
    BareApp().run()
