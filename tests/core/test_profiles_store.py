"""The profile store: untouched lines survive any edits, crash-safe saves, conflicts, faults."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import ConfigError
from core.profiles import ConflictError, FieldError, ProfileStore, open_store, user_config_file
from core.profiles.layout import Layout
from core.profiles.store import ensure_user_config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]

# Commented, oddly formatted, out of order: everything tomlkit has to keep as it is.
ODD = """\
# Thermal Scout config — hand-edited
[telemetry]
interval_s = 2.0     # faster sampling
  history_s=600

[defaults]
default_profile="balanced"   # the everyday one
default_model = 'tiny'

# --- profiles -------------------------------------------------

# Fast: short answers.
[performance_profiles.fast]
# first comment inside
max_tokens    =   256   # keep it short
temperature=0.5
extra_unknown = [
  1, 2,   # a multi-line array with [brackets] in a comment
  3,
]

# Balanced describes the next one
[ performance_profiles . balanced ]
max_tokens = 1_024
top_p = 0.9          # nucleus
description = \"\"\"
[not a header]
a multi-line string\"\"\"

[model_presets.tiny]
model_id = "org/tiny"   # from the cache
format = "gguf"
size_gb = 0.5
overrides = { temperature = 0.7 }

[performance_profiles."quality"]
max_tokens = 4096

# trailing comment at the end
"""

FIELDS_PROFILE: dict[str, st.SearchStrategy[Any]] = {
    "max_tokens": st.integers(1, 100_000),
    "temperature": st.floats(0, 2, allow_nan=False).map(lambda x: round(x, 3)),
    "top_p": st.floats(0, 1).map(lambda x: round(x, 3)),
    "top_k": st.integers(0, 500),
    "threads": st.integers(1, 64),
    "device": st.sampled_from(["cpu", "cuda", "auto"]),
    "description": st.text(
        st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=20
    ),
}
FIELDS_PRESET: dict[str, st.SearchStrategy[Any]] = {
    "size_gb": st.floats(0.01, 500).map(lambda x: round(x, 2)),
    "quality": st.sampled_from(["high", "medium", "fast"]),
    "context_length": st.integers(1, 1_000_000),
    "use_case": st.text(max_size=10),
}
BAD_VALUES: list[tuple[str, Any]] = [
    ("temperature", 2.5),
    ("max_tokens", 0),
    ("top_p", -0.1),
    ("device", "gpu"),
    ("nonsense", 1),
]
TABLE = {"profile": "performance_profiles", "preset": "model_presets"}


def _untouched_lines(text: str, touched: set[int]) -> list[str]:
    return [
        line
        for number, line in enumerate(text.splitlines(keepends=True), start=1)
        if number not in touched and line.strip()
    ]


def _is_subsequence(needles: list[str], haystack: list[str]) -> bool:
    iterator = iter(haystack)
    return all(any(line == candidate for candidate in iterator) for line in needles)


def _write(text: str) -> Path:
    folder = Path(tempfile.mkdtemp())
    path = folder / "config.toml"
    path.write_bytes(text.encode())
    return path


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_random_edits_keep_every_untouched_line(data: st.DataObject) -> None:
    path = _write(ODD)
    store = ProfileStore.load(path)
    assert not [p for p in store.problems if p.severity == "error"]
    original = Layout.of(ODD)
    expected: dict[str, Any] = tomllib.loads(ODD)
    touched: set[int] = set()
    created: set[tuple[str, str]] = set()
    for _ in range(data.draw(st.integers(1, 8), label="edits")):
        kind = data.draw(st.sampled_from(["profile", "preset"]), label="kind")
        names = list(store.entries(kind))  # type: ignore[arg-type]
        op = data.draw(st.sampled_from(["set", "unset", "bad", "create", "delete", "default"]))
        before = store.text
        table = expected.setdefault(TABLE[kind], {})
        fields = FIELDS_PROFILE if kind == "profile" else FIELDS_PRESET
        if op in ("set", "unset", "bad") and names:
            name = data.draw(st.sampled_from(names), label="name")
            key = data.draw(st.sampled_from(sorted(fields)), label="key")
            value = None if op == "unset" else data.draw(fields[key], label="value")
            if op == "bad":
                key, value = data.draw(st.sampled_from(BAD_VALUES), label="bad")
                with pytest.raises(ConfigError):
                    store.set_values(kind, name, {key: value})  # type: ignore[arg-type]
                assert store.text == before
                continue
            store.set_values(kind, name, {key: value})  # type: ignore[arg-type]
            if (kind, name) not in created:
                line = original.line_of((TABLE[kind], name, key))
                statement = next(
                    (s for s in original.statements if s.path == (TABLE[kind], name, key)), None
                )
                if statement is not None and line is not None:
                    touched.update(range(statement.first, statement.last + 1))
            if value is None:
                table[name].pop(key, None)
            else:
                table[name][key] = value
        elif op == "create":
            name = data.draw(st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True))
            values = {"model_id": "org/new"} if kind == "preset" else {}
            if name.lower() in {n.lower() for n in names}:
                with pytest.raises(ConfigError, match="already exists"):
                    store.create(kind, name, values)  # type: ignore[arg-type]
                assert store.text == before
                continue
            store.create(kind, name, values)  # type: ignore[arg-type]
            created.add((kind, name))
            table[name] = dict(values)
        elif op == "delete" and names:
            name = data.draw(st.sampled_from(names), label="name")
            is_default = name == (
                store.default_profile if kind == "profile" else store.default_model
            )
            used = kind == "profile" and any(
                e.model is not None and e.model.default_profile == name
                for e in store.presets.values()
            )
            if is_default or used:
                with pytest.raises(ConfigError):
                    store.delete(kind, name)  # type: ignore[arg-type]
                assert store.text == before
                continue
            if (kind, name) not in created:
                block = original.block((TABLE[kind], name))
                assert block is not None
                touched.update(range(block[0], block[1] + 1))
            created.discard((kind, name))
            store.delete(kind, name)  # type: ignore[arg-type]
            del table[name]
        elif op == "default" and names:
            name = data.draw(st.sampled_from(names), label="name")
            store.set_default(kind, name)  # type: ignore[arg-type]
            key = "default_profile" if kind == "profile" else "default_model"
            statement = next(s for s in original.statements if s.path == ("defaults", key))
            touched.add(statement.first)
            expected.setdefault("defaults", {})[key] = name
        # the document means exactly what the edits say, and nothing else changed
        assert tomllib.loads(store.text) == expected
        assert _is_subsequence(
            _untouched_lines(ODD, touched), store.text.splitlines(keepends=True)
        ), store.text
    result = store.save()
    assert path.read_bytes() == store.text.encode()
    assert result.written == (store.text != ODD)
    reloaded = ProfileStore.load(path)
    assert reloaded.text == store.text
    assert not reloaded.dirty


def test_untouched_document_is_saved_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes(ODD.replace("\n", "\r\n").encode())
    store = ProfileStore.load(path)
    assert store.save().written is False
    store.set_values("profile", "fast", {"max_tokens": 300, "top_k": 7})
    store.save()
    text = path.read_bytes().decode()
    assert "max_tokens    =   300   # keep it short\r\n" in text
    assert "top_k = 7\r\n" in text
    assert "\n" not in text.replace("\r\n", "")  # still CRLF throughout


def test_new_key_goes_after_the_last_key_not_after_the_next_tables_comment(
    tmp_path: Path,
) -> None:
    path = _write(ODD)
    store = ProfileStore.load(path)
    store.set_values("profile", "fast", {"top_k": 9})
    lines = store.text.splitlines()
    assert lines[lines.index("]") + 1] == "top_k = 9"
    assert lines[lines.index("top_k = 9") + 2] == "# Balanced describes the next one"


def test_create_and_delete_place_whole_blocks(tmp_path: Path) -> None:
    store = ProfileStore.load(_write(ODD))
    store.create("profile", "night", {"max_tokens": 64, "description": "quiet"})
    text = store.text
    assert '[performance_profiles.night]\nmax_tokens = 64\ndescription = "quiet"\n' in text
    # after the last profile table, before the file's trailing comment
    assert text.index("[performance_profiles.night]") > text.index('"quality"')
    assert text.rstrip().endswith("# trailing comment at the end")
    store.set_default("profile", "night")
    store.delete("profile", "balanced")
    assert "Balanced describes" not in store.text  # its attached comment goes with it
    assert "[not a header]" not in store.text
    assert "# Fast: short answers." in store.text
    store.delete("profile", "fast")
    assert "# Fast: short answers." not in store.text
    assert "# --- profiles ---" in store.text  # separated by a blank line: not fast's


def test_defaults_table_is_created_before_the_profiles(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[telemetry]\ninterval_s = 1.0\n\n# mine\n[performance_profiles.a]\n")
    store = ProfileStore.load(path)
    store.set_default("profile", "a")
    assert store.text == (
        '[telemetry]\ninterval_s = 1.0\n\n[defaults]\ndefault_profile = "a"\n\n'
        "# mine\n[performance_profiles.a]\n"
    )


def test_key_added_to_a_file_without_final_newline(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[performance_profiles.a]\nmax_tokens = 5")
    store = ProfileStore.load(path)
    store.set_values("profile", "a", {"top_k": 1})
    assert store.text == "[performance_profiles.a]\nmax_tokens = 5\ntop_k = 1\n"


def test_inline_profiles_are_edited_too(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[performance_profiles]\na = { max_tokens = 5 }  # inline\n")
    store = ProfileStore.load(path)
    store.set_values("profile", "a", {"top_k": 1})
    store.create("profile", "b", {"top_k": 2})
    data = tomllib.loads(store.text)["performance_profiles"]
    assert data == {"a": {"max_tokens": 5, "top_k": 1}, "b": {"top_k": 2}}
    store.set_default("profile", "b")
    store.delete("profile", "a")
    assert "a" not in tomllib.loads(store.text)["performance_profiles"]


# ------------------------------------------------------------------------------ validation


def test_broken_values_fall_back_per_field_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    text = (
        "[performance_profiles.fast]\n"
        "max_tokens = 0\n"
        'temperature = "hot"\n'
        "top_k = 5\n"
        "colour = 'red'\n"
        "[model_presets.m]\n"
        "format = 'gguf'\n"
    )
    path.write_text(text)
    store = ProfileStore.load(path)
    fast = store.profiles["fast"]
    assert fast.model is not None and not fast.ok
    assert fast.model.max_tokens == 1024 and fast.model.temperature == 0.8
    assert fast.model.top_k == 5
    messages = [str(p) for p in store.problems]
    assert (
        f"{path}:2: performance_profiles.fast.max_tokens: must be a whole number > 0 (got 0)"
        "; using 1024" in messages
    )
    assert any(
        m.startswith(f"{path}:3: performance_profiles.fast.temperature: must be a number")
        for m in messages
    )
    assert any(
        m.startswith(f"{path}:5: performance_profiles.fast.colour: unknown field") for m in messages
    )
    assert any(m.startswith(f"{path}:6: model_presets.m: set model_id") for m in messages)
    assert store.presets["m"].model is None
    assert path.read_text() == text  # loading never writes


def test_invalid_toml_uses_the_shipped_defaults_read_only(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[performance_profiles.a]\nmax_tokens = = 3\n")
    store = ProfileStore.load(path)
    (problem,) = store.problems
    assert problem.line == 2 and "not valid TOML" in str(problem)
    assert str(problem).startswith(f"{path}:2:")
    assert set(store.profiles) == {"fast", "balanced", "quality"}
    assert store.read_only_reason
    store.set_values("profile", "fast", {"top_k": 3})
    with pytest.raises(ConfigError, match="not a valid config file"):
        store.save()
    assert path.read_text() == "[performance_profiles.a]\nmax_tokens = = 3\n"
    store.save_as(tmp_path / "fixed.toml")
    assert ProfileStore.load(tmp_path / "fixed.toml").profile("fast").top_k == 3


def test_duplicate_table_is_reported_as_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[performance_profiles.a]\n\n[performance_profiles.a]\n")
    (problem,) = ProfileStore.load(path).problems
    assert problem.line == 3 and "not valid TOML" in problem.message


def test_not_utf8_and_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes(b"\xff\xfe[x]")
    assert "not UTF-8" in str(ProfileStore.load(path).problems[0])
    with pytest.raises(ConfigError, match="not found"):
        ProfileStore.load(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="is a directory"):
        ProfileStore.load(tmp_path)


def test_bad_defaults_and_dangling_references(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        "[defaults]\ndefault_profile = 'nope'\ndefault_model = 3\nwhat = 1\n"
        "[performance_profiles.a]\n[performance_profiles.balanced]\n"
        "[model_presets.m]\nmodel_id = 'o/m'\ndefault_profile = 'gone'\n"
    )
    store = ProfileStore.load(path)
    assert store.default_profile == "balanced"
    assert store.default_model is None
    text = "\n".join(str(p) for p in store.problems)
    assert ":2: defaults.default_profile: no profile named 'nope'" in text
    assert ":3: defaults.default_model: must be a name" in text
    assert ":4: defaults.what: unknown field" in text
    assert ":9: model_presets.m.default_profile: no profile named 'gone'" in text


def test_edits_are_validated_and_refused_whole(tmp_path: Path) -> None:
    store = ProfileStore.load(_write(ODD))
    before = store.text
    with pytest.raises(
        FieldError,
        match=r"performance_profiles\.fast\.top_p: must be a number "
        r"from 0 to 1",
    ):
        store.set_values("profile", "fast", {"top_k": 3, "top_p": 1.5})
    with pytest.raises(FieldError, match="unknown field"):
        store.set_values("profile", "fast", {"colour": "red"})
    with pytest.raises(ConfigError, match="no profile named 'nope'"):
        store.set_values("profile", "nope", {"top_k": 3})
    with pytest.raises(ConfigError, match="set model_id"):
        store.set_values("preset", "tiny", {"model_id": None})
    with pytest.raises(ConfigError, match="already exists"):
        store.create("profile", "FAST")
    with pytest.raises(FieldError, match="name"):
        store.create("profile", "has space")
    with pytest.raises(ConfigError, match="default profile"):
        store.delete("profile", "balanced")
    with pytest.raises(ConfigError, match="default model"):
        store.delete("preset", "tiny")
    assert store.text == before and not store.dirty


def test_duplicate_copies_the_valid_values(tmp_path: Path) -> None:
    store = ProfileStore.load(_write(ODD))
    store.duplicate("profile", "fast", "fast2")
    copy = store.profile("fast2")
    assert (copy.max_tokens, copy.temperature) == (256, 0.5)
    assert "extra_unknown" not in store.entry("profile", "fast2").values


def test_form_values_and_field_help(tmp_path: Path) -> None:
    store = ProfileStore.load(_write(ODD))
    form = store.form_values("profile", "fast")
    assert form["max_tokens"] == "256" and form["temperature"] == "0.5"
    assert form["top_k"] == "40"  # default
    assert store.form_values("preset", "tiny")["overrides"] == "temperature=0.7"


# ------------------------------------------------------------------------------ conflicts


def test_changed_on_disk_is_not_overwritten(tmp_path: Path) -> None:
    path = _write(ODD)
    store = ProfileStore.load(path)
    store.set_values("profile", "fast", {"top_k": 3})
    theirs = ODD.replace("interval_s = 2.0", "interval_s = 3.0")
    path.write_text(theirs)
    with pytest.raises(ConflictError, match="changed on disk") as info:
        store.save()
    assert path.read_text() == theirs
    assert "+interval_s = 3.0" in info.value.conflict.diff()
    assert store.dirty
    failed = store.reload(keep_edits=True)
    assert failed == []
    store.save()
    data = tomllib.loads(path.read_text())
    assert data["telemetry"]["interval_s"] == 3.0
    assert data["performance_profiles"]["fast"]["top_k"] == 3


def test_reload_drops_edits_and_reports_those_that_no_longer_apply(tmp_path: Path) -> None:
    path = _write(ODD)
    store = ProfileStore.load(path)
    store.set_values("profile", "fast", {"top_k": 3})
    store.reload()
    assert not store.dirty and "top_k" not in store.text
    store.set_values("profile", "fast", {"top_k": 3})
    path.write_text(ODD.replace("[performance_profiles.fast]", "[performance_profiles.quick]"))
    failed = store.reload(keep_edits=True)
    assert len(failed) == 1 and "no profile named 'fast'" in failed[0]


def test_deleted_file_is_a_conflict_and_save_as_resolves_it(tmp_path: Path) -> None:
    path = _write(ODD)
    store = ProfileStore.load(path)
    store.set_values("profile", "fast", {"top_k": 3})
    path.unlink()
    with pytest.raises(ConflictError, match="was deleted"):
        store.save()
    other = tmp_path / "other.toml"
    other.write_text("x")
    with pytest.raises(ConfigError, match="already exists"):
        store.save_as(other)
    store.save_as(other, overwrite=True)
    assert store.path == other and "top_k = 3" in other.read_text()


# ------------------------------------------------------------------------------ faults


def test_read_only_file_is_refused(tmp_path: Path) -> None:
    path = _write(ODD)
    store = ProfileStore.load(path)
    store.set_values("profile", "fast", {"top_k": 3})
    path.chmod(0o444)
    try:
        with pytest.raises(ConfigError, match="read-only"):
            store.save()
    finally:
        path.chmod(0o644)
    assert path.read_text() == ODD


def test_unwritable_directory_gives_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(ODD)
    store = ProfileStore.load(path)
    store.set_values("profile", "fast", {"top_k": 3})
    real_open = os.open

    def denied(file: Any, flags: int, *args: Any) -> int:
        if str(file).endswith(".tmp"):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(file, flags, *args)

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(ConfigError, match="permission denied writing in"):
        store.save()
    assert path.read_text() == ODD and store.dirty


STEPS = ["open", "write", "fsync", "fchmod", "close", "replace"]


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("fault", ["enospc", "interrupt"])
def test_failure_at_each_write_step_leaves_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str, fault: str
) -> None:
    path = _write(ODD)
    store = ProfileStore.load(path)
    store.set_values("profile", "fast", {"description": "x" * 100_000})
    real = getattr(os, step)
    calls: list[int] = []

    def failing(*args: Any, **kwargs: Any) -> Any:
        if step == "open" and not str(args[0]).endswith(".tmp"):
            return real(*args, **kwargs)
        if step == "write" and not calls:
            calls.append(1)  # a partial write first, then the disk fills up
            return real(args[0], bytes(args[1])[:10])
        if fault == "interrupt":
            raise KeyboardInterrupt
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, step, failing)
    expected: type[BaseException] = KeyboardInterrupt if fault == "interrupt" else ConfigError
    with pytest.raises(expected) as info:
        store.save()
    monkeypatch.undo()
    assert path.read_text() == ODD
    assert [p.name for p in path.parent.iterdir()] == ["config.toml"]  # no temporary left
    if fault == "enospc":
        assert "the disk is full" in str(info.value) and "unchanged" in str(info.value)
    assert store.dirty
    store.save()  # and a later save still works
    assert "x" * 100_000 in path.read_text()


def test_failing_directory_sync_after_the_rename_keeps_the_new_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(ODD)
    store = ProfileStore.load(path)
    store.set_values("profile", "fast", {"top_k": 3})
    real_fsync = os.fsync
    calls: list[int] = []

    def second_fails(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(errno.EINVAL, "Invalid argument")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", second_fails)
    store.save()
    assert len(calls) == 2
    assert "top_k = 3" in path.read_text()


_CRASH = """
import os, sys
from pathlib import Path
from core.profiles import ProfileStore
path, step = Path(sys.argv[1]), sys.argv[2]
store = ProfileStore.load(path)
store.set_values("profile", "fast", {"top_k": 3})
real = getattr(os, step)
def crash(*args, **kwargs):
    if step == "replace":
        real(*args, **kwargs)
    os._exit(9)  # a kill: no cleanup, no finally
setattr(os, step, crash)
store.save()
"""


@pytest.mark.parametrize(("step", "new"), [("fsync", False), ("replace", True)])
def test_a_killed_process_leaves_the_old_or_the_new_file(
    tmp_path: Path, step: str, new: bool
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(ODD)
    result = subprocess.run(
        [sys.executable, "-c", _CRASH, str(path), step], cwd=ROOT, capture_output=True
    )
    assert result.returncode == 9, result.stderr
    text = path.read_text()
    assert ("top_k = 3" in text) is new
    assert tomllib.loads(text)  # whole either way
    if not new:
        assert text == ODD


# ------------------------------------------------------------------------------ the user file


def test_first_run_copies_the_shipped_defaults() -> None:
    target = user_config_file()
    assert not target.exists()
    path, notice = ensure_user_config()
    assert path == target and notice and "created" in notice
    assert target.read_bytes() == (ROOT / "config" / "default.toml").read_bytes()
    assert ensure_user_config() == (target, None)
    store = open_store()
    assert store.read_only_reason is None and store.path == target


def test_shipped_file_is_never_edited_in_place() -> None:
    store = open_store(ROOT / "config" / "default.toml")
    assert store.read_only_reason and "never edited" in store.read_only_reason
    store.set_values("profile", "fast", {"top_k": 3})
    with pytest.raises(ConfigError, match="never edited"):
        store.save()
    with pytest.raises(ConfigError, match="shipped default"):
        store.save_as(ROOT / "config" / "default.toml", overwrite=True)


def test_shipped_defaults_are_clean_and_load_settings_still_reads_them() -> None:
    from core.config import load_settings

    store = open_store(ROOT / "config" / "default.toml")
    assert store.problems == ()
    assert list(store.profiles) == ["fast", "balanced", "quality"]
    assert all(e.ok for e in store.profiles.values())
    assert store.default_profile == "balanced" and store.default_model == "gemma3-1b"
    assert load_settings(ROOT / "config" / "default.toml").telemetry.interval_s == 1.0
