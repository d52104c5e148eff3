"""The Profiles screen with Pilot: inline validation, save, conflicts, delete, duplicate, leave."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from tests.tui.snapshot_app import SIZE, make_app, settle
from tests.tui.test_app import wait_for

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG = """\
# My profiles: this comment stays.
[defaults]
default_profile = "balanced"  # the everyday one
default_model = "tiny"

# fast: for the laptop
[performance_profiles.fast]
max_tokens = 512  # short answers
context_length = 2048

[performance_profiles.balanced]
max_tokens = 1024
context_length = 4096

# a small local model
[model_presets.tiny]
model_id = "org/tiny-model"
format = "gguf"
size_gb = 0.5
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def _app(config: Path | None, scenario: str = "h100") -> Any:
    app = make_app(scenario)
    app.config_path = config
    return app


async def _open(pilot: Any) -> Any:
    """Go to the Profiles screen and wait until the file is read and the form shows."""
    from tui.screens.profiles import ProfilesScreen

    await settle(pilot.app)
    await pilot.press("5")
    screen = pilot.app.screen
    assert isinstance(screen, ProfilesScreen)
    await wait_for(lambda: screen.form_ready)
    await pilot.pause()
    return screen


async def _ready(pilot: Any, screen: Any) -> None:
    await wait_for(lambda: screen.form_ready)
    await pilot.pause()


def _text(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector).render())


def _labels(screen: Any, list_id: str) -> list[str]:
    from textual.widgets import OptionList

    option_list = screen.query_one(f"#{list_id}", OptionList)
    return [str(option.prompt) for option in option_list.options]


async def test_invalid_value_shows_a_message_and_save_is_refused_until_fixed(
    config: Path,
) -> None:
    from textual.widgets import Input

    original = config.read_bytes()
    app = _app(config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        assert screen.current == ("profile", "balanced")  # the default profile opens first
        await pilot.press("up")  # fast
        await _ready(pilot, screen)
        assert screen.current == ("profile", "fast")
        await pilot.press("enter")  # into the form: max_tokens
        await wait_for(lambda: getattr(app.focused, "id", None) == "field-max_tokens")
        # a valid change to a value in the file (focus selected the text: typing replaces it)
        await pilot.press("2", "5", "6")
        await pilot.pause()
        assert screen.store.dirty
        await pilot.press("tab")
        assert isinstance(app.focused, Input) and app.focused.id == "field-temperature"
        await pilot.press("3")
        await pilot.pause()
        message = _text(screen, "#error-temperature")
        assert message == "must be a number from 0 to 2 (got 3)"
        assert screen.query_one("#error-temperature").display
        assert app.focused.has_class("-invalid")
        assert "●" in _labels(screen, "profile-list")[0]  # unsaved marker on fast
        await pilot.press("ctrl+s")
        await pilot.pause()
        status = _text(screen, "#profiles-status")
        assert "invalid: profile fast: temperature" in status
        assert config.read_bytes() == original  # refused: not even the valid change
        # fix it: the message goes away, save writes
        await pilot.press("backspace", "0", "full_stop", "4")
        await pilot.pause()
        assert not screen.query_one("#error-temperature").display
        assert not app.focused.has_class("-invalid")
        await pilot.press("ctrl+s")
        await wait_for(lambda: config.read_bytes() != original)
        await _ready(pilot, screen)
        assert "saved" in _text(screen, "#profiles-status")
        assert "●" not in _labels(screen, "profile-list")[0]
    saved = config.read_text(encoding="utf-8")
    data = tomllib.loads(saved)
    assert data["performance_profiles"]["fast"] == {
        "max_tokens": 256,
        "context_length": 2048,
        "temperature": 0.4,
    }
    expected = CONFIG.replace(
        "max_tokens = 512  # short answers", "max_tokens = 256  # short answers"
    )
    expected = expected.replace(
        "context_length = 2048\n", "context_length = 2048\ntemperature = 0.4\n"
    )
    assert saved == expected  # every comment, blank line and key order intact


async def test_clearing_a_value_to_retype_it_keeps_its_line(config: Path) -> None:
    app = _app(config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await pilot.press("up", "enter")  # fast, max_tokens
        await wait_for(lambda: getattr(app.focused, "id", None) == "field-max_tokens")
        await pilot.press("backspace")  # all selected: now empty
        await pilot.pause()
        assert screen.has_unsaved_changes
        await pilot.press("7", "0", "0", "ctrl+s")
        await wait_for(lambda: "max_tokens = 700" in config.read_text(encoding="utf-8"))
    assert config.read_text(encoding="utf-8") == CONFIG.replace(
        "max_tokens = 512  # short", "max_tokens = 700  # short"
    )


async def test_a_cleared_value_is_unset_when_the_field_is_left(config: Path) -> None:
    app = _app(config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await pilot.press("up", "enter", "tab", "tab", "tab", "tab", "tab")
        await wait_for(lambda: getattr(app.focused, "id", None) == "field-context_length")
        await pilot.press("backspace", "tab")  # cleared, then left: unset
        await pilot.pause()
        assert "context_length" not in screen.store.profiles["fast"].values
        await pilot.press("ctrl+s")
        await wait_for(lambda: "context_length = 2048" not in config.read_text(encoding="utf-8"))
    assert config.read_text(encoding="utf-8") == CONFIG.replace("context_length = 2048\n", "")


async def test_a_conflicting_change_on_disk_is_shown_and_both_sides_are_kept(
    config: Path,
) -> None:
    from tui.screens.profiles import ChoiceDialog

    app = _app(config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await pilot.press("enter")  # balanced, max_tokens
        await wait_for(lambda: getattr(app.focused, "id", None) == "field-max_tokens")
        await pilot.press("2", "0", "4", "8")
        await pilot.pause()
        # another editor changes fast meanwhile
        config.write_text(
            CONFIG.replace("context_length = 2048", "context_length = 3000  # theirs"),
            encoding="utf-8",
        )
        await pilot.press("ctrl+s")
        await wait_for(lambda: isinstance(app.screen, ChoiceDialog))
        dialog = app.screen
        assert "changed on disk" in dialog.title_text
        body = str(dialog.query_one("#dialog-text").render())
        assert "+context_length = 3000  # theirs" in body and "-context_length = 2048" in body
        assert "theirs" in config.read_text(encoding="utf-8")  # nothing written
        await pilot.press("r")  # reload, keep my edits
        await wait_for(lambda: app.screen is screen and screen.form_ready)
        assert screen.store.profiles["fast"].values["context_length"] == 3000
        assert screen.store.profiles["balanced"].values["max_tokens"] == 2048
        assert screen.has_unsaved_changes
        await pilot.press("ctrl+s")
        await wait_for(lambda: "max_tokens = 2048" in config.read_text(encoding="utf-8"))
    data = tomllib.loads(config.read_text(encoding="utf-8"))
    assert data["performance_profiles"]["fast"]["context_length"] == 3000
    assert data["performance_profiles"]["balanced"]["max_tokens"] == 2048
    assert "# theirs" in config.read_text(encoding="utf-8")


async def test_conflict_cancel_writes_nothing(config: Path) -> None:
    from tui.screens.profiles import ChoiceDialog

    app = _app(config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await pilot.press("enter", "9")
        await pilot.pause()
        theirs = CONFIG.replace("size_gb = 0.5", "size_gb = 0.6")
        config.write_text(theirs, encoding="utf-8")
        await pilot.press("ctrl+s")
        await wait_for(lambda: isinstance(app.screen, ChoiceDialog))
        await pilot.press("escape")
        await wait_for(lambda: app.screen is screen)
        assert screen.has_unsaved_changes
    assert config.read_text(encoding="utf-8") == theirs


async def test_delete_asks_first_and_the_default_profile_is_refused(config: Path) -> None:
    from tui.screens.profiles import ChoiceDialog

    app = _app(config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        assert screen.current == ("profile", "balanced")
        await pilot.press("delete")
        await wait_for(lambda: isinstance(app.screen, ChoiceDialog))
        await pilot.press("y")
        await wait_for(lambda: app.screen is screen)
        await pilot.pause()
        assert "balanced" in screen.store.profiles  # the core refused
        assert any("default profile" in n.message for n in app._notifications)
        await pilot.press("up", "delete")  # fast
        await wait_for(lambda: isinstance(app.screen, ChoiceDialog))
        await pilot.press("n")  # cancel: nothing happens
        await wait_for(lambda: app.screen is screen)
        assert "fast" in screen.store.profiles
        await pilot.press("delete")
        await wait_for(lambda: isinstance(app.screen, ChoiceDialog))
        await pilot.click("#choice-delete")  # the mouse works too
        await wait_for(lambda: "fast" not in screen.store.profiles)
        await _ready(pilot, screen)
        assert screen.current == ("profile", "balanced")
        assert [label.split()[-1] for label in _labels(screen, "profile-list")] == ["balanced"]
        await pilot.press("ctrl+s")
        await wait_for(lambda: "fast" not in config.read_text(encoding="utf-8"))
    text = config.read_text(encoding="utf-8")
    assert "# fast: for the laptop" not in text  # its comment went with it
    assert "# My profiles: this comment stays." in text
    assert "[performance_profiles.balanced]" in text


async def test_duplicate_and_set_default_then_save(config: Path) -> None:
    from textual.widgets import Input

    from tui.screens.profiles import TextDialog

    app = _app(config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await pilot.press("c")  # duplicate balanced
        await wait_for(lambda: isinstance(app.screen, TextDialog))
        dialog = app.screen
        field = dialog.query_one("#dialog-input", Input)
        assert field.value == "balanced-copy"
        field.value = "fast"  # taken: refused as typed
        await pilot.pause()
        assert "already exists" in str(dialog.query_one("#dialog-error").render())
        field.value = "bad name!"
        await pilot.pause()
        assert "must be a name" in str(dialog.query_one("#dialog-error").render())
        field.value = "night"
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(lambda: app.screen is screen and screen.current == ("profile", "night"))
        await _ready(pilot, screen)
        labels = _labels(screen, "profile-list")
        assert labels[-1].split() == ["●", "night"]
        await pilot.press("asterisk")  # make it the default
        await pilot.pause()
        assert screen.store.default_profile == "night"
        assert _labels(screen, "profile-list")[-1].split() == ["*●", "night"]
        await pilot.press("ctrl+s")
        await wait_for(lambda: "night" in config.read_text(encoding="utf-8"))
    data = tomllib.loads(config.read_text(encoding="utf-8"))
    assert data["performance_profiles"]["night"] == {"max_tokens": 1024, "context_length": 4096}
    assert data["defaults"]["default_profile"] == "night"
    assert '"night"  # the everyday one' in config.read_text(encoding="utf-8")


async def test_leaving_with_unsaved_changes_asks_first(config: Path) -> None:
    from tui.screens.hardware import HardwareScreen
    from tui.screens.profiles import ChoiceDialog

    app = _app(config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await pilot.press("asterisk", "up", "asterisk")  # fast becomes the default
        await pilot.pause()
        assert screen.store.default_profile == "fast"
        await pilot.press("1")
        await wait_for(lambda: isinstance(app.screen, ChoiceDialog))
        assert "Unsaved" in app.screen.title_text
        await pilot.press("n")  # stay
        await wait_for(lambda: app.screen is screen)
        assert screen.store.default_profile == "fast"
        await pilot.press("h")
        await wait_for(lambda: isinstance(app.screen, ChoiceDialog))
        await pilot.press("d")  # discard and leave
        await wait_for(lambda: isinstance(app.screen, HardwareScreen))
        await pilot.press("5")
        await wait_for(lambda: app.screen is screen and screen.form_ready)
        assert screen.store.default_profile == "balanced"
        assert not screen.has_unsaved_changes
        await pilot.press("1")  # nothing unsaved: no question
        await wait_for(lambda: isinstance(app.screen, HardwareScreen))
    assert config.read_text(encoding="utf-8") == CONFIG


async def test_quit_with_unsaved_changes_can_save_first(config: Path) -> None:
    from tui.screens.profiles import ChoiceDialog

    app = _app(config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await pilot.press("up", "asterisk")
        await pilot.press("1")  # switching asks; cancel, then quit from the keyboard
        await wait_for(lambda: isinstance(app.screen, ChoiceDialog))
        await pilot.press("escape")
        await wait_for(lambda: app.screen is screen)
        await pilot.press("q")
        await wait_for(lambda: isinstance(app.screen, ChoiceDialog))
        await pilot.press("s")  # save, then quit
        await wait_for(lambda: app.return_code is not None or not app.is_running)
    assert 'default_profile = "fast"  # the everyday one' in config.read_text(encoding="utf-8")


async def test_recommended_profile_and_markers(config: Path) -> None:
    text = CONFIG + '\n[performance_profiles.quality]\nmax_tokens = "lots"\n'
    config.write_text(text, encoding="utf-8")
    app = _app(config)  # the H100 VM: 128 GiB, 16 cores → quality
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        labels = _labels(screen, "profile-list")
        assert labels[1].startswith("*") and labels[1].split()[1] == "balanced"
        assert "★ recommended here" in labels[2] and "!" in labels[2].split()[0]
        assert "★" not in labels[0] + labels[1]
        problems = _text(screen, "#problems-text")
        assert f"{config}:" in problems and "performance_profiles.quality.max_tokens" in problems
        await pilot.press("down")  # quality: the broken value shows in its field
        await _ready(pilot, screen)
        assert screen.query_one("#field-max_tokens").value == "lots"
        assert "must be a whole number" in _text(screen, "#error-max_tokens")


async def test_sensorless_machine_recommends_balanced(config: Path) -> None:
    app = _app(config, "sensorless")  # 24 GiB → balanced
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        labels = _labels(screen, "profile-list")
        assert "★ recommended here" in labels[1]


async def test_effective_settings_show_each_value_and_its_layer(config: Path) -> None:
    from textual.widgets import DataTable

    app = _app(config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await pilot.press("up")
        await _ready(pilot, screen)
        table = screen.query_one("#effective-table", DataTable)

        def rows() -> dict[str, tuple[str, str]]:
            found = {}
            for index in range(table.row_count):
                key, value, layer = (str(c) for c in table.get_row_at(index))
                found[key] = (value, layer)
            return found

        shown = rows()
        assert shown["max_tokens"] == ("512", "profile: fast")
        assert shown["context_length"] == ("2048", "profile: fast")
        assert shown["device"] == ("cuda", "capability: cuda")
        assert shown["dtype"] == ("bfloat16", "capability: cuda-bf16")  # H100: compute 9.0
        assert shown["temperature"] == ("0.8", "base")  # tiny's architecture is unknown
        assert "fast" in str(table.border_title) and "tiny" in str(table.border_subtitle)
        # typing a valid value updates the view at once
        await pilot.press("enter", "tab", "0", "full_stop", "3")
        await pilot.pause()
        assert rows()["temperature"] == ("0.3", "profile: fast")


async def test_presets_form_mouse_only(config: Path) -> None:
    from textual.widgets import Select, Switch

    from tui.screens.profiles import FieldSelect, FieldSwitch

    app = _app(config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await pilot.click("#preset-list", offset=(6, 1))  # the first preset: tiny
        await wait_for(lambda: screen.current == ("preset", "tiny"))
        await _ready(pilot, screen)
        form_title = str(screen.query_one("#profiles-form").border_title)
        assert form_title == "model preset tiny"
        # a Select for a choice, a Switch for true/false
        assert isinstance(screen.query_one("#field-format"), FieldSelect)
        assert screen.query_one("#field-format", Select).value == "gguf"
        switch = screen.query_one("#field-avg_tokens_per_sec_measured", FieldSwitch)
        assert isinstance(switch, Switch) and not switch.value
        switch.scroll_visible(animate=False)
        await pilot.pause()
        await pilot.click(switch)
        await pilot.pause()
        assert switch.value
        # refused by the whole preset's rule: measured needs a speed
        assert "needs avg_tokens_per_sec" in _text(screen, "#error-avg_tokens_per_sec_measured")
        await pilot.click("#btn-save")
        await pilot.pause()
        assert "invalid: preset tiny: avg_tokens_per_sec_measured" in _text(
            screen, "#profiles-status"
        )
        await pilot.click(switch)
        await pilot.pause()
        assert not screen.query_one("#error-avg_tokens_per_sec_measured").display
        assert not screen.has_unsaved_changes


async def test_select_changes_a_choice(config: Path) -> None:
    from textual.widgets import Select

    app = _app(config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await pilot.click("#preset-list", offset=(6, 1))
        await wait_for(lambda: screen.current == ("preset", "tiny"))
        await _ready(pilot, screen)
        select = screen.query_one("#field-quality", Select)
        assert select.value is Select.NULL  # not in the file: the default
        select.value = "high"
        await pilot.pause()
        assert screen.store.presets["tiny"].values["quality"] == "high"
        select.value = Select.NULL  # back to "not set"
        await pilot.pause()
        assert not screen.has_unsaved_changes


async def test_the_shipped_file_is_read_only_and_offers_save_as(tmp_path: Path) -> None:
    from textual.widgets import Input

    from core.paths import default_config_path
    from tui.screens.profiles import ChoiceDialog, TextDialog

    app = _app(default_config_path())
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        assert "read-only" in _text(screen, "#profiles-status")
        await pilot.press("up", "asterisk", "ctrl+s")
        await wait_for(lambda: isinstance(app.screen, ChoiceDialog))
        await pilot.press("a")
        await wait_for(lambda: isinstance(app.screen, TextDialog))
        target = tmp_path / "mine.toml"
        app.screen.query_one("#dialog-input", Input).value = str(target)
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(lambda: target.exists() and screen.form_ready)
        assert screen.store.path == target
        assert str(target) in _text(screen, "#profiles-status")
        assert not screen.has_unsaved_changes
    assert tomllib.loads(target.read_text(encoding="utf-8"))["defaults"]["default_profile"] == (
        "fast"
    )
    assert default_config_path().read_text(encoding="utf-8").count("# Thermal Scout") == 1


async def test_the_users_file_is_created_on_first_run() -> None:
    from core.config import user_config_file

    app = _app(None)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        assert screen.store.path == user_config_file()
        assert user_config_file().exists()
        assert "read-only" not in _text(screen, "#profiles-status")


async def test_a_missing_file_is_reported_not_fatal(tmp_path: Path) -> None:
    app = _app(tmp_path / "nope.toml")
    async with app.run_test(size=SIZE) as pilot:
        from tui.screens.profiles import ProfilesScreen

        await settle(app)
        await pilot.press("5")
        screen = app.screen
        assert isinstance(screen, ProfilesScreen)
        await wait_for(lambda: "not found" in _text(screen, "#profiles-status"))
        await pilot.press("ctrl+s", "c", "delete")  # nothing to act on; nothing breaks
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("1")  # nothing unsaved: leaves at once
        await pilot.pause()
        assert app.screen is not screen


async def test_brackets_in_values_and_names_are_shown_as_typed(config: Path) -> None:
    from tui.screens.profiles import TextDialog

    app = _app(config)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _open(pilot)
        await pilot.press("enter", "left_square_bracket", "b", "right_square_bracket")
        await pilot.pause()
        assert _text(screen, "#error-max_tokens") == "must be a whole number > 0 (got '[b]')"
        await pilot.press("escape", "c")
        await wait_for(lambda: isinstance(app.screen, TextDialog))
        await pilot.press("ctrl+a", "ctrl+k", "left_square_bracket", "b", "right_square_bracket")
        await pilot.pause()
        assert "(got [b])" in str(app.screen.query_one("#dialog-error").render())
