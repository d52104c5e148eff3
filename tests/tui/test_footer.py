"""ScoutFooter: the same keys as Textual's Footer, composed once per change of bindings."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Label
from textual.widgets._footer import FooterKey

from tui.widgets.footer import ScoutFooter


class FooterApp(App[None]):
    """Two plain keys, one that can be disabled, and the palette key."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "noop", "Alpha", tooltip="the first"),
        Binding("b", "other", "Beta"),
        Binding("s", "save", "Save"),
    ]

    def __init__(self, footer: type[Footer]) -> None:
        super().__init__()
        self.footer_type = footer
        self.can_save = True

    def compose(self) -> ComposeResult:
        yield Label("body")
        yield self.footer_type()

    def action_noop(self) -> None:
        """Each key needs an action of its own (the footer groups keys by action)."""

    def action_other(self) -> None:
        """See :meth:`action_noop`."""

    def action_save(self) -> None:
        """The key whose enabled state ``can_save`` switches."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "save":
            return True if self.can_save else None  # None: shown, but dimmed
        return True


def _keys(app: App[Any]) -> list[tuple[str, str, bool, bool, str]]:
    return [
        (
            key.key,
            key.description,
            key.has_class("-disabled"),
            key.has_class("-compact"),
            str(key.tooltip or ""),
        )
        for key in app.screen.query(FooterKey)
    ]


async def test_shows_the_same_keys_as_textuals_footer() -> None:
    seen = {}
    pictures = {}
    for footer in (Footer, ScoutFooter):
        app = FooterApp(footer)
        async with app.run_test(size=(80, 5)) as pilot:
            await pilot.pause()
            seen[footer] = _keys(app)
            pictures[footer] = app.export_screenshot()
    assert seen[ScoutFooter] == seen[Footer]
    assert pictures[ScoutFooter] == pictures[Footer]
    # Spot-check the content, so equality is not vacuous.
    assert [k[0] for k in seen[Footer]] == ["a", "b", "s", "ctrl+p"]
    assert seen[Footer][-1][3] is True  # the palette key is compact, the others are not
    assert not any(k[3] for k in seen[Footer][:-1])


async def test_composes_once_when_bindings_do_not_change(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    real_init = FooterKey.__init__

    def counting_init(self: FooterKey, key: str, *args: Any, **kwargs: Any) -> None:
        made.append(key)
        real_init(self, key, *args, **kwargs)

    monkeypatch.setattr(FooterKey, "__init__", counting_init)
    app = FooterApp(ScoutFooter)
    async with app.run_test(size=(80, 5)) as pilot:
        await pilot.pause()
        app.refresh_bindings()  # nothing changed: no new keys
        await pilot.pause()
        assert made == ["a", "b", "s", "ctrl+p"]


async def test_recomposes_when_a_binding_changes() -> None:
    app = FooterApp(ScoutFooter)
    async with app.run_test(size=(80, 5)) as pilot:
        await pilot.pause()
        assert ("s", "Save", False) in [k[:3] for k in _keys(app)]
        app.can_save = False
        app.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        assert ("s", "Save", True) in [k[:3] for k in _keys(app)]


async def test_keys_mount_without_a_restyle_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    """Textual's keys add ``-compact`` on mount and remove it again; ours start final."""
    flips: list[tuple[str, bool]] = []
    real_watch = FooterKey._watch_compact

    def watch(self: FooterKey, compact: bool) -> None:
        flips.append((self.key, compact))
        real_watch(self, compact)

    monkeypatch.setattr(FooterKey, "_watch_compact", watch)
    app = FooterApp(ScoutFooter)
    async with app.run_test(size=(80, 5)) as pilot:
        await pilot.pause()
        assert not [flip for flip in flips if flip[1]]  # never set compact on a plain key
