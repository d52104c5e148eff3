"""The Cache screen with Pilot: select, dry run, confirm, delete, in-use refusal."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.fakes.hf_cache import FakeHFCache
from tests.tui.snapshot_app import SIZE, make_app, settle
from tests.tui.test_app import wait_for


def _cache() -> tuple[FakeHFCache, str]:
    cache = FakeHFCache(Path(os.environ["HF_HOME"]) / "hub")
    cache.llama("org/tiny-llama")
    repo, _ = cache.llama("acme/other-llama", weights=False)
    detached = repo.add_revision({"config.json": b'{"model_type": "llama"}'}, refs=())
    return cache, detached


async def test_select_a_revision_see_the_plan_and_delete_it() -> None:
    from textual.widgets import DataTable

    from tui.screens.cache import CacheScreen, ConfirmDelete

    cache, detached = _cache()
    app = make_app("sensorless")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press("7")
        assert isinstance(app.screen, CacheScreen)
        await wait_for(lambda: app.state.cache.view is not None)
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        keys = [k.value for k in table.rows]
        assert keys[0] == "repo|model/acme/other-llama"
        row = keys.index(f"rev|model/acme/other-llama|{detached}")
        table.move_cursor(row=row)
        await pilot.press("space")
        plan_text = str(app.screen.query_one("#cache-plan").render())
        assert "1 revision" in plan_text and "23 B" in plan_text and "detached" in plan_text
        await pilot.press("d")
        await wait_for(lambda: isinstance(app.screen, ConfirmDelete))
        await pilot.pause()
        await pilot.press("y")
        await wait_for(
            lambda: (
                app.state.cache.status == "ready" and "freed 23 B" in (app.state.cache.notice or "")
            )
        )
        snapshots = cache.repo("acme/other-llama").path / "snapshots"
        assert not (snapshots / detached).exists()
        assert len(list(snapshots.iterdir())) == 1  # main is untouched
        await pilot.pause()
        assert f"rev|model/acme/other-llama|{detached}" not in [k.value for k in table.rows]


async def test_a_file_held_open_is_refused_and_nothing_is_deleted() -> None:
    from textual.widgets import DataTable

    from tui.screens.cache import ConfirmDelete

    cache, _ = _cache()
    repo = cache.repo("org/tiny-llama")
    blob = next((repo.path / "blobs").iterdir())
    app = make_app("sensorless")
    with blob.open("rb"):  # this very process holds the weights open
        async with app.run_test(size=SIZE) as pilot:
            await settle(app)
            await pilot.press("k")
            await wait_for(lambda: app.state.cache.view is not None)
            await pilot.pause()
            table = app.screen.query_one(DataTable)
            keys = [k.value for k in table.rows]
            table.move_cursor(row=keys.index("repo|model/org/tiny-llama"))
            await pilot.press("space", "d")
            await wait_for(lambda: isinstance(app.screen, ConfirmDelete))
            dialog: Any = app.screen
            assert not dialog.deletion.ok
            assert dialog.deletion.in_use and dialog.deletion.in_use[0].pid == os.getpid()
            assert not dialog.query("#confirm-yes")  # no way to confirm
            text = str(dialog.query_one("#confirm-plan").render())
            assert "in use" in text and str(os.getpid()) in text
            await pilot.press("escape")
            await pilot.pause()
    assert blob.exists() and repo.path.exists()


async def test_no_cache_says_so() -> None:
    app = make_app("sensorless")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app)
        await pilot.press("7")
        await wait_for(lambda: app.state.cache.view is not None)
        await pilot.pause()
        status = str(app.screen.query_one("#cache-status").render())
        assert "no Hugging Face cache at" in status
