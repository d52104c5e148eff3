"""The model registry: header-only registration, stale/changed detection, browser rows."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import struct
import time
from pathlib import Path
from typing import Any

import pytest

from core import registry as reg
from core.analysis.formats import gguf
from core.catalog.rows import AnalysisSettings
from core.errors import AnalysisError
from core.registry import Registry, RegistryError
from tests.analysis.test_pytorch_zip import LLAMA_PARAMS, llama_state_dict, write_checkpoint
from tests.fakes import onnx_file
from tests.fakes.gguf_file import llama_metadata, llama_tensors, write_gguf, write_llama

TINY_LLAMA_PARAMS = 1_443_072  # tests.fakes.gguf_file.llama_tensors() defaults


def settings() -> AnalysisSettings:
    from core.analysis.hardware_profiles import profile_for

    return AnalysisSettings(profile_for("RTX 4090"))


def write_safetensors(
    path: Path, tensors: dict[str, tuple[str, list[int]]], *, cut: int = 0
) -> int:
    """A safetensors file whose data is a hole (sparse); returns the header length."""
    sizes = {"F32": 4, "BF16": 2, "F16": 2, "I64": 8}
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        n = sizes[dtype]
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    raw = json.dumps(header).encode()
    with path.open("wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        f.truncate(8 + len(raw) + offset - cut)
    return len(raw)


def small_llama_safetensors(path: Path) -> None:
    tensors: dict[str, tuple[str, list[int]]] = {"model.embed_tokens.weight": ("BF16", [100, 16])}
    for i in range(3):
        tensors[f"model.layers.{i}.self_attn.q_proj.weight"] = ("BF16", [16, 16])
        tensors[f"model.layers.{i}.mlp.up_proj.weight"] = ("BF16", [32, 16])
        tensors[f"model.layers.{i}.input_layernorm.weight"] = ("F32", [16])
    tensors["lm_head.weight"] = ("BF16", [100, 16])
    write_safetensors(path, tensors)


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "db" / "registry.sqlite3")


# -- registering ------------------------------------------------------------------------------


def test_register_a_gguf_file(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "tiny-llama.Q4_K_M.gguf"
    layout = write_llama(path)
    entry = registry.register(path)
    assert entry.name == "tiny-llama.Q4_K_M" and entry.revision == 1 and entry.status == "ok"
    assert entry.path == path.resolve() and entry.format == "gguf"
    assert entry.size_bytes == path.stat().st_size and entry.mtime_ns == path.stat().st_mtime_ns
    assert entry.params == TINY_LLAMA_PARAMS
    assert set(entry.dtypes) == {"Q4_K", "Q6_K", "F32"}
    assert entry.dtype_mix.startswith("Q4_K ") and entry.summary["file_type"] == "Q4_K_M"
    assert (entry.layers, entry.context_length, entry.family) == (2, 2048, "llama")
    assert (entry.architecture, entry.architecture_class) == ("transformer-decoder", "decoder-only")
    assert entry.census["counts"]["attention"] == 8 and entry.tensors == 21
    # the fingerprint covers exactly the bytes before the tensor data
    header = path.read_bytes()[: layout.data_offset]
    assert entry.fingerprint == hashlib.sha256(header).hexdigest()
    assert entry.analysis is None
    assert registry.path.is_file()


def test_the_default_registry_lives_in_the_data_dir(tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    write_llama(path)
    entry = reg.register(path, name="my-llama")
    data_home = Path(os.environ["XDG_DATA_HOME"])
    assert reg.default_path().is_relative_to(data_home)
    assert reg.default_path().name == "registry.sqlite3" and reg.default_path().is_file()
    assert [e.name for e in reg.list_entries()] == ["my-llama"] and entry.id == 1
    assert reg.show("my-llama").path == path.resolve()
    assert reg.remove("my-llama").name == "my-llama" and reg.list_entries() == []


def test_header_only_for_a_huge_file(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "huge.gguf"
    tensors = llama_tensors(embedding=8192, layers=80, ff=28672, vocab=128256)
    write_gguf(path, llama_metadata(**{"llama.block_count": 80}), tensors)  # ~40 GB, sparse
    assert path.stat().st_size > 30 * 1024**3
    started = time.perf_counter()
    entry = registry.register(path)
    elapsed = time.perf_counter() - started
    assert entry.layers == 80 and entry.params and entry.params > 60e9
    assert elapsed < 2.0, elapsed  # reading 40 GB of holes would take far longer
    started = time.perf_counter()
    assert registry.get("huge").status == "ok"
    assert time.perf_counter() - started < 2.0


def test_register_again_updates_in_place(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "m.gguf"
    write_llama(path)
    first = registry.register(path, name="llama")
    write_llama(path, **{"llama.context_length": 8192})
    again = registry.register(path)
    assert (again.id, again.name, again.revision) == (first.id, "llama", 2)
    assert again.context_length == 8192 and again.registered_at == first.registered_at
    assert again.updated_at >= first.updated_at and again.fingerprint != first.fingerprint
    renamed = registry.register(path, name="llama-8k")
    assert (renamed.id, renamed.name, renamed.revision) == (first.id, "llama-8k", 3)
    assert [e.name for e in registry.entries()] == ["llama-8k"]
    # the same file through another spelling of its path is the same entry
    other_spelling = tmp_path / "." / "m.gguf"
    assert registry.register(str(other_spelling)).id == first.id


def test_names(tmp_path: Path, registry: Registry) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    write_llama(a / "tiny.gguf")
    write_llama(b / "tiny.gguf")
    assert registry.register(a / "tiny.gguf").name == "tiny"
    assert registry.register(b / "tiny.gguf").name == "tiny-2"
    with pytest.raises(RegistryError, match=r"the name 'tiny' is already registered for .*a/"):
        registry.register(b / "tiny.gguf", name="tiny")
    with pytest.raises(RegistryError, match="invalid name"):
        registry.register(b / "tiny.gguf", name="  ")
    shard = tmp_path / "Llama-3-8B"
    shard.mkdir()
    small_llama_safetensors(shard / "model-00001-of-00002.safetensors")
    small_llama_safetensors(shard / "model.safetensors")
    assert registry.register(shard / "model.safetensors").name == "Llama-3-8B/model"
    entry = registry.register(shard / "model-00001-of-00002.safetensors")
    assert entry.name == "Llama-3-8B/model-00001-of-00002"


def test_register_safetensors_onnx_and_pytorch(tmp_path: Path, registry: Registry) -> None:
    st = tmp_path / "st" / "model.safetensors"
    st.parent.mkdir()
    small_llama_safetensors(st)
    (st.parent / "config.json").write_text(
        json.dumps({"model_type": "llama", "max_position_embeddings": 4096})
    )
    e = registry.register(st)
    assert e.format == "safetensors" and e.params == 2 * 1600 + 3 * (256 + 512 + 16)
    assert e.dtypes == {"BF16": 2 * 1600 + 3 * 768, "F32": 48}
    assert (e.layers, e.family, e.context_length) == (3, "llama", 4096)
    raw = st.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    assert e.fingerprint == hashlib.sha256(raw[: 8 + length]).hexdigest()

    ox = tmp_path / "tiny.onnx"
    onnx_file.write(ox, onnx_file.llama_model())
    e = registry.register(ox)
    assert e.format == "onnx" and e.params == onnx_file.llama_params()
    assert e.architecture == "transformer-decoder" and e.layers == 2
    assert e.summary["opsets"] == {"ai.onnx": 17} and e.summary["ops"]["MatMul"] == 7
    assert e.dtypes == {"FLOAT16": onnx_file.llama_params() - 320, "FLOAT": 320}

    pt = tmp_path / "ckpt.pt"
    write_checkpoint(pt, llama_state_dict())
    e = registry.register(pt)
    assert e.format == "pytorch" and e.params == LLAMA_PARAMS and e.dtypes == {"BF16": LLAMA_PARAMS}
    assert e.summary["pickle_scanned"] and e.layers == 2
    assert any("nothing was unpickled" in n for n in e.notes)


def test_register_with_settings_stores_an_analysis(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "m.gguf"
    write_llama(path)
    entry = registry.register(path, settings=settings())
    assert entry.analysis is not None and entry.analysis["precision"] == "Q4_K_M"
    assert entry.analysis["params"]["total"] == TINY_LLAMA_PARAMS


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "file not found"),
        ("directory", "a directory; register a model file inside it"),
        ("empty", "empty file, not a model"),
        ("text", "unknown format (starts with b'hello"),
        ("legacy pickle", "legacy PyTorch pickle"),
        ("ggml", "a legacy GGML file; re-convert it to GGUF"),
        ("truncated gguf", "truncated: tensor 'output.weight' needs bytes up to"),
        ("truncated safetensors", "truncated: tensor 'b' needs bytes up to"),
        ("bad safetensors", "header is not valid JSON"),
        ("bad onnx", "not ONNX"),
        ("zip", "a zip archive without data.pkl"),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, registry: Registry, case: str, message: str) -> None:
    path = tmp_path / {"truncated gguf": "m.gguf", "bad onnx": "m.onnx",
                       "legacy pickle": "m.pt"}.get(case, "m.dat")  # fmt: skip
    if case == "directory":
        path.mkdir()
    elif case == "empty":
        path.write_bytes(b"")
    elif case == "text":
        path.write_text("hello world, not a model\n")
    elif case == "legacy pickle":
        path.write_bytes(b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.")
    elif case == "ggml":
        path.write_bytes(b"lmgg" + bytes(64))
    elif case == "truncated gguf":
        write_llama(path)
        with path.open("r+b") as f:
            f.truncate(path.stat().st_size - 100)
    elif case == "truncated safetensors":
        path = tmp_path / "m.safetensors"
        write_safetensors(path, {"a": ("F32", [4]), "b": ("F32", [4])}, cut=4)
    elif case == "bad safetensors":
        path = tmp_path / "m.safetensors"
        path.write_bytes(struct.pack("<Q", 5) + b"{nope")
    elif case == "bad onnx":
        path.write_bytes(b"\x08\x09\x3a\xff\xff\x7f")
    elif case == "zip":
        import zipfile

        with zipfile.ZipFile(path, "w") as z:
            z.writestr("x.txt", "hi")
    with pytest.raises(AnalysisError) as info:
        registry.register(path)
    text = str(info.value)
    assert str(path.name) in text and message in text and "\n" not in text, text
    assert registry.entries() == []


# -- status -----------------------------------------------------------------------------------


def test_a_vanished_file_is_stale_not_dropped(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "m.gguf"
    write_llama(path)
    registry.register(path)
    path.unlink()
    (entry,) = registry.entries()
    assert entry.status == "stale" and "file not found" in entry.status_detail
    assert entry.params == TINY_LLAMA_PARAMS  # what was registered is kept
    assert registry.get("m").status == "stale"
    write_llama(path)  # put back (new mtime): changed, not stale
    assert registry.get("m").status == "changed"


def test_touch_is_changed_with_the_header_the_same(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "m.gguf"
    write_llama(path)
    registry.register(path)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    entry = registry.get("m")
    assert entry.status == "changed"
    assert (
        "modification time" in entry.status_detail and "header is the same" in entry.status_detail
    )
    registry.register(path)  # registering again clears it
    assert registry.get("m").status == "ok"


def test_fingerprint_ignores_weights_and_catches_headers(
    tmp_path: Path, registry: Registry
) -> None:
    """Documented behaviour: weights rewritten in place with the mtime kept are not noticed
    (reading the weights is what registration avoids); any header change is."""
    path = tmp_path / "m.gguf"
    layout = write_llama(path)
    registry.register(path)
    st = path.stat()

    def rewrite(offset: int, data: bytes) -> None:
        with path.open("r+b") as f:
            f.seek(offset)
            f.write(data)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime

    rewrite(layout.data_offset + 100, b"\x55" * 64)  # weights only
    assert registry.get("m").status == "ok"
    assert registry.get("m", verify=False).status == "ok"
    name_at = path.read_bytes().index(b"Tiny Llama")
    rewrite(name_at, b"Tiny Lbama")  # general.name, same length: a header change
    assert registry.get("m", verify=False).status == "ok"  # size and mtime alone cannot tell
    entry = registry.get("m")
    assert entry.status == "changed" and "header changed" in entry.status_detail
    with path.open("r+b") as f:
        f.write(b"XXXX")  # not GGUF any more
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    entry = registry.get("m")
    assert entry.status == "changed" and "no longer readable" in entry.status_detail


def test_a_resized_file_is_changed(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "m.onnx"
    onnx_file.write(path, onnx_file.llama_model())
    registry.register(path)
    onnx_file.write(path, onnx_file.llama_model(layers=3))
    entry = registry.get("m")
    assert entry.status == "changed" and "header changed" in entry.status_detail


# -- lookups, removal, the database -----------------------------------------------------------


def test_get_and_remove(tmp_path: Path, registry: Registry) -> None:
    with pytest.raises(RegistryError, match="'x' is not in the registry \\(it is empty\\)"):
        registry.get("x")
    assert registry.entries() == [] and not registry.path.exists()  # listing creates nothing
    path = tmp_path / "m.gguf"
    write_llama(path)
    registry.register(path, name="one")
    assert registry.get(str(path)).name == "one"  # by path too
    with pytest.raises(RegistryError, match=r"'two' is not in the registry \(names: one\)"):
        registry.get("two")
    removed = registry.remove("one")
    assert removed.name == "one" and path.exists()  # the file is not touched
    assert registry.entries() == []
    with pytest.raises(RegistryError):
        registry.remove("one")


def test_schema_version_and_migrations(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "m.gguf"
    write_llama(path)
    registry.register(path)
    assert len(reg.MIGRATIONS) == reg.SCHEMA_VERSION
    with sqlite3.connect(registry.path) as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(RegistryError, match="schema version 99, newer than"):
        registry.entries()


def test_an_unusable_database_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "registry.sqlite3"
    db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(RegistryError, match="unusable database") as info:
        Registry(db).entries()
    assert "\n" not in str(info.value)


def test_two_registries_share_one_file(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite3"
    path = tmp_path / "m.gguf"
    write_llama(path)
    Registry(db).register(path)
    assert [e.name for e in Registry(db).entries()] == ["m"]


# -- browser rows -----------------------------------------------------------------------------


def test_registry_rows(tmp_path: Path, registry: Registry) -> None:
    keep, gone, onnx_path = tmp_path / "keep.gguf", tmp_path / "gone.gguf", tmp_path / "enc.onnx"
    write_llama(keep)
    write_llama(gone)
    inits = [onnx_file.tensor(f"bert.encoder.layer.{i}.attention.self.query.weight", [8, 8])
             for i in range(2)]  # fmt: skip
    inits.append(onnx_file.tensor("bert.pooler.dense.weight", [8, 8]))
    onnx_file.write(onnx_path, onnx_file.model(onnx_file.graph([onnx_file.node("MatMul")], inits)))
    registry.register(keep, name="org/keep")
    registry.register(gone)
    registry.register(onnx_path)
    gone.unlink()
    rows = {row.id: row for row in reg.registry_rows(settings(), registry=registry)}
    assert set(rows) == {"org/keep", "gone", "enc"}
    ok = rows["org/keep"]
    assert ok.source == "registry" and ok.error is None and ok.analysis is not None
    assert ok.params_total == TINY_LLAMA_PARAMS and ok.family == "llama"
    assert (ok.task, ok.kind) == ("text-generation", "llm")
    assert ok.analysis.precision.name == "Q4_K_M"  # the file's own types by default
    assert ok.facts.status == "ok" and ok.facts.path == keep.resolve()
    stale = rows["gone"]
    assert (
        stale.analysis is None and stale.error and stale.error.startswith("stale: file not found")
    )
    assert stale.params_total == TINY_LLAMA_PARAMS and stale.facts.status == "stale"
    assert "registry" in stale.search_text
    enc = rows["enc"]
    assert (enc.task, enc.kind) == ("feature-extraction", "embedding")
    assert enc.analysis is not None and enc.analysis.architecture_class == "encoder-only"
    asked = reg.registry_rows(settings(), registry=registry, precision_explicit=True)
    assert {r.id: r for r in asked}["org/keep"].analysis.precision.name == "bf16"  # type: ignore[union-attr]


def test_registry_rows_when_a_file_no_longer_analyses(
    tmp_path: Path, registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.gguf"
    write_llama(path)
    registry.register(path)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise AnalysisError(f"{path}: something odd")

    monkeypatch.setattr("core.catalog.targets.analyze_file", broken)
    (row,) = registry.rows(settings())
    assert row.analysis is None and row.error == f"cannot analyse: {path}: something odd"


def test_inspect_file_is_read_only(tmp_path: Path) -> None:
    path = tmp_path / "m.gguf"
    write_llama(path)
    before = path.stat()
    info = reg.inspect_file(path)
    assert info.fingerprint and info.format == "gguf" and gguf.read_file(path).params == info.params
    assert path.stat().st_mtime_ns == before.st_mtime_ns
