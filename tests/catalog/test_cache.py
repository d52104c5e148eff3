"""The local Hugging Face cache source: scanning, sizes, revisions and analysis of cached repos.

Every cache here is a real on-disk layout (blobs, snapshot symlinks, refs) built by
:mod:`tests.fakes.hf_cache`, scanned by the installed ``huggingface_hub``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from core.analysis.hardware_profiles import profile_for
from core.analysis.model_config import from_hf_config
from core.analysis.params import count_params
from core.catalog.cache import (
    CachedModel,
    analyze_cached,
    cache_rows,
    default_cache_dir,
    scan_models,
)
from core.catalog.rows import AnalysisSettings, ModelRow
from tests.fakes.hf_cache import (
    FakeHFCache,
    config_bytes,
    elements,
    llama_config,
    llama_tensors,
    safetensors_bytes,
)

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = AnalysisSettings(profile_for("H100 SXM 80GB"), "bf16", 4096)


@pytest.fixture
def cache(tmp_path: Path) -> FakeHFCache:
    return FakeHFCache(tmp_path / "hub")


def _scan(cache: FakeHFCache) -> tuple[dict[str, CachedModel], list[str]]:
    models, notices = scan_models(cache.root)
    return {m.repo_id: m for m in models}, notices


def _row(cache: FakeHFCache, repo_id: str) -> ModelRow:
    models, _ = _scan(cache)
    [row] = cache_rows([models[repo_id]], SETTINGS)
    return row


def _formula(config: dict[str, Any]) -> int:
    return count_params(from_hf_config(config)).total


# --------------------------------------------------------------------------------------------
# Scanning
# --------------------------------------------------------------------------------------------


def test_missing_cache_is_a_notice_not_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "hub"
    assert scan_models(missing) == ([], [f"no Hugging Face cache at {missing}"])


def test_default_cache_is_the_temporary_hf_home(monkeypatch: pytest.MonkeyPatch) -> None:
    hub = Path(os.environ["HF_HOME"]) / "hub"
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    assert default_cache_dir() == hub
    assert scan_models() == ([], [f"no Hugging Face cache at {hub}"])
    FakeHFCache(hub).llama("org/in-home")
    models, notices = scan_models()
    assert [m.repo_id for m in models] == ["org/in-home"] and notices == []


def test_hf_hub_cache_overrides_hf_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    assert default_cache_dir() == tmp_path / "elsewhere"


def test_empty_cache_gives_nothing(cache: FakeHFCache) -> None:
    assert scan_models(cache.root) == ([], [])


def test_cache_path_that_is_a_file(tmp_path: Path) -> None:
    path = tmp_path / "hub"
    path.write_text("not a directory")
    models, notices = scan_models(path)
    assert models == [] and len(notices) == 1 and "not a directory" in notices[0]


def test_sizes_revisions_and_times_match_scan_cache_dir(cache: FakeHFCache) -> None:
    from huggingface_hub import scan_cache_dir

    repo = cache.repo("org/two-revs")
    weights = safetensors_bytes(llama_tensors(llama_config()))
    old = repo.add_revision(
        {"config.json": config_bytes(llama_config(rope_theta=1.0)), "model.safetensors": weights},
        refs=(),
        mtime=1_000_000.0,
    )
    new = repo.add_revision(
        {"config.json": config_bytes(llama_config()), "model.safetensors": weights},
        mtime=2_000_000.0,
    )
    partial = repo.add_incomplete(b"x" * 777)

    models, notices = _scan(cache)
    model = models["org/two-revs"]
    [info] = scan_cache_dir(cache.root).repos

    assert notices == []
    # The shared weights blob counts once; the partial download not at all.
    assert model.size_on_disk_bytes == info.size_on_disk == repo.size_on_disk
    assert model.size_on_disk_bytes == len(weights) + sum(
        (repo.snapshot(c) / "config.json").stat().st_size for c in (old, new)
    )
    assert model.nb_files == info.nb_files == 3
    assert model.revision_count == len(info.revisions) == 2
    assert model.incomplete_bytes == partial.stat().st_size == 777
    assert (model.last_accessed, model.last_modified) == (info.last_accessed, info.last_modified)
    assert model.last_modified == 2_000_000.0
    by_commit = {r.commit_hash[:12]: r for r in info.revisions}
    for revision in model.revisions:
        lib = by_commit[revision.commit]
        assert revision.size_on_disk_bytes == lib.size_on_disk
        assert revision.refs == tuple(sorted(lib.refs))
        assert revision.snapshot_path == lib.snapshot_path
    assert [r.commit for r in model.revisions] == [new[:12], old[:12]]
    assert model.revisions[0].refs == ("main",) and model.revisions[1].refs == ()


def test_datasets_and_spaces_are_not_models(cache: FakeHFCache) -> None:
    cache.llama("org/model")
    for repo_type in ("dataset", "space"):
        cache.repo("org/other", repo_type).add_revision({"config.json": b"{}"})
    models, notices = scan_models(cache.root)
    assert [(m.repo_id, m.repo_type) for m in models] == [("org/model", "model")]
    assert notices == []
    dataset = replace(models[0], repo_type="dataset")
    assert cache_rows([dataset, models[0]], SETTINGS)[0].facts is models[0]
    assert len(cache_rows([dataset], SETTINGS)) == 0


def test_corrupted_cache_gives_notices_and_keeps_good_repos(cache: FakeHFCache) -> None:
    cache.llama("org/good")
    # A file where a repository folder should be.
    (cache.root / "models--org--a-file").write_text("oops")
    # A snapshot symlink whose blob is gone.
    broken = cache.repo("org/broken-link")
    commit = broken.add_revision({"config.json": config_bytes(llama_config())})
    (broken.path / "blobs" / next(iter(broken.blob_sizes))).unlink()
    # No snapshots folder at all.
    (cache.repo("org/no-snapshots").path / "snapshots").rmdir()
    # refs/main names a commit that is not cached.
    cache.repo("org/dangling-ref").set_ref("main", "f" * 40)
    # A file inside snapshots/.
    (cache.repo("org/file-in-snapshots").path / "snapshots" / "stray").write_text("x")
    # Not repositories, or not models: no notice.
    (cache.root / "version.txt").write_text("1")
    (cache.repo("org/broken-dataset", "dataset").path / "snapshots").rmdir()

    models, notices = scan_models(cache.root)

    assert [m.repo_id for m in models] == ["org/good"]
    assert len(notices) == 5, notices
    for name in ("a-file", "broken-link", "no-snapshots", "dangling-ref", "file-in-snapshots"):
        assert sum(f"models--org--{name}" in n for n in notices) == 1, (name, notices)
    assert all("\n" not in n and n.startswith("Hugging Face cache") for n in notices)
    assert commit  # the broken repo did have a revision


def test_unreadable_ref_does_not_hide_the_other_repos(cache: FakeHFCache) -> None:
    # huggingface_hub's scan reads refs as text and lets the decode error escape.
    cache.llama("org/good")
    bad = cache.repo("org/bad-ref")
    bad.add_revision({"config.json": config_bytes(llama_config())})
    (bad.path / "refs" / "main").write_bytes(b"\xff\xfe\x00garbage")
    models, notices = scan_models(cache.root)
    assert [m.repo_id for m in models] == ["org/good"]
    assert len(notices) == 1 and "models--org--bad-ref" in notices[0]


# --------------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------------


def test_llama_with_safetensors_gets_exact_header_params_and_an_analysis(
    cache: FakeHFCache,
) -> None:
    config = llama_config()
    tensors = llama_tensors(config)
    tensors["model.extra_buffer"] = (
        "I64",
        (1000,),
    )  # makes the header total differ from the formula
    repo = cache.repo("org/tiny-llama")
    repo.add_revision(
        {"config.json": config_bytes(config), "model.safetensors": safetensors_bytes(tensors)}
    )
    models, _ = _scan(cache)
    [row] = cache_rows(models.values(), SETTINGS)

    assert row.source == "cache" and row.id == "org/tiny-llama"
    assert row.error is None and row.analysis is not None
    assert row.params_total == elements(tensors) == _formula(config) + 1000
    assert "safetensors header" in row.params_method and "exact" in row.params_method
    assert row.analysis.params_total == row.params_total
    assert row.analysis.fit.level == "fits"
    assert row.analysis.estimates.decode_tokens_per_s is not None
    assert row.analysis.estimates.decode_tokens_per_s > 0
    assert row.analysis.memory.kv_cache_bytes > 0  # the config's dimensions were used
    assert (row.task, row.kind, row.family) == ("text-generation", "llm", "llama")
    assert row.facts is models["org/tiny-llama"]
    assert row.facts.size_on_disk_bytes == repo.size_on_disk
    assert row.facts.revision_count == 1
    assert "cache" in row.search_text


def test_config_only_repo_gets_formula_params(cache: FakeHFCache) -> None:
    config = llama_config(num_hidden_layers=3)
    cache.llama("org/config-only", config=config, weights=False)
    row = _row(cache, "org/config-only")
    assert row.error is None and row.analysis is not None
    assert row.params_total == _formula(config)
    assert row.params_method.startswith("config formula")


def test_safetensors_without_config_uses_the_header(cache: FakeHFCache) -> None:
    tensors = {"w": ("F32", (10, 20)), "b": ("F32", (20,))}
    cache.repo("org/weights-only").add_revision({"model.safetensors": safetensors_bytes(tensors)})
    row = _row(cache, "org/weights-only")
    assert row.error is None and row.params_total == 220
    assert (row.task, row.kind, row.family) == (None, None, None)


def test_header_is_read_without_the_weights(cache: FakeHFCache) -> None:
    config = llama_config(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32)
    config.update(num_attention_heads=32, num_key_value_heads=8, vocab_size=128256)
    tensors = llama_tensors(config)
    header_only = safetensors_bytes(tensors, with_data=False)  # claims ~16 GB, holds none
    cache.repo("org/big").add_revision(
        {"config.json": config_bytes(config), "model.safetensors": header_only}
    )
    row = _row(cache, "org/big")
    assert row.error is None and row.params_total == elements(tensors) > 8_000_000_000
    assert row.facts.size_on_disk_bytes < 1_000_000


def test_main_revision_is_analysed_even_when_older(cache: FakeHFCache) -> None:
    repo = cache.repo("org/revs")
    main_cfg, other_cfg = llama_config(num_hidden_layers=2), llama_config(num_hidden_layers=6)
    main = repo.add_revision({"config.json": config_bytes(main_cfg)}, mtime=1_000_000.0)
    other = repo.add_revision(
        {"config.json": config_bytes(other_cfg)}, refs=("refs/pr/1",), mtime=2_000_000.0
    )
    models, _ = _scan(cache)
    model = models["org/revs"]
    assert model.snapshot_path == repo.snapshot(main) and model.revision == main[:12]
    assert [r.commit for r in model.revisions] == [main[:12], other[:12]]
    assert model.revisions[1].refs == ("refs/pr/1",)
    row = analyze_cached(model, SETTINGS)
    assert row.params_total == _formula(main_cfg) != _formula(other_cfg)


def test_without_main_the_newest_revision_is_analysed(cache: FakeHFCache) -> None:
    repo = cache.repo("org/no-main")
    old_cfg, new_cfg = llama_config(num_hidden_layers=2), llama_config(num_hidden_layers=6)
    repo.add_revision({"config.json": config_bytes(old_cfg)}, refs=("v1",), mtime=1_000_000.0)
    new = repo.add_revision({"config.json": config_bytes(new_cfg)}, refs=(), mtime=2_000_000.0)
    models, _ = _scan(cache)
    assert models["org/no-main"].snapshot_path == repo.snapshot(new)
    assert analyze_cached(models["org/no-main"], SETTINGS).params_total == _formula(new_cfg)


def test_sharded_weights_follow_the_index(cache: FakeHFCache) -> None:
    config = llama_config()
    tensors = llama_tensors(config)
    names = sorted(tensors)
    half = len(names) // 2
    shards = {
        "model-00001-of-00002.safetensors": {n: tensors[n] for n in names[:half]},
        "model-00002-of-00002.safetensors": {n: tensors[n] for n in names[half:]},
    }
    index = {"weight_map": {n: s for s, part in shards.items() for n in part}}
    files = {name: safetensors_bytes(part) for name, part in shards.items()}
    files["model.safetensors.index.json"] = json.dumps(index).encode()
    files["config.json"] = config_bytes(config)
    # A consolidated copy beside the shards (as Mistral ships) must not be counted twice.
    files["consolidated.safetensors"] = safetensors_bytes(tensors)
    cache.repo("org/sharded").add_revision(files)
    row = _row(cache, "org/sharded")
    assert row.error is None and row.params_total == elements(tensors)
    assert "safetensors header" in row.params_method

    # Only the first shard downloaded: its header alone would undercount; use the formula.
    del files["model-00002-of-00002.safetensors"]
    first = {**shards["model-00001-of-00002.safetensors"], "model.extra": ("I64", (1000,))}
    files["model-00001-of-00002.safetensors"] = safetensors_bytes(first)
    cache.repo("org/half").add_revision(files)
    row = _row(cache, "org/half")
    assert row.error is None and row.params_total == _formula(config)
    assert row.params_method.startswith("config formula") and "1 shard(s) missing" in (
        row.params_method
    )


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({"config.json": b"{not json"}, "not valid JSON"),
        ({"config.json": b"[1, 2]"}, "JSON object"),
        ({"config.json": b"\xff\xfe{}"}, "UTF-8"),
        (
            {"config.json": config_bytes({"model_type": "mamba", "hidden_size": 768})},
            "unknown architecture 'mamba'",
        ),
        ({"config.json": config_bytes(llama_config(num_hidden_layers=10**6))}, "implausibly"),
        ({"config.json": config_bytes(llama_config(hidden_size=-1))}, "positive integer"),
        ({"model-Q4_K_M.gguf": b"GGUF" + bytes(60)}, "GGUF-only"),
        ({"README.md": b"# hello"}, "no config.json and no safetensors"),
        (
            {"config.json": config_bytes(llama_config()), "model.safetensors": b"\x01\x02"},
            "not a safetensors file",
        ),
        (
            {
                "config.json": config_bytes(llama_config()),
                "model.safetensors.index.json": b'{"weight_map": {"w": "a.safetensors"}}',
            },
            None,  # config formula: a missing shard is no reason to give up
        ),
        (
            {"model.safetensors.index.json": b'{"weight_map": {"w": "a.safetensors"}}'},
            "0 of 1 safetensors shards",
        ),
    ],
)
def test_unanalysable_repos_give_an_error_row(
    cache: FakeHFCache, files: dict[str, bytes], reason: str | None
) -> None:
    cache.repo("org/odd").add_revision(files)
    row = _row(cache, "org/odd")
    assert row.source == "cache" and row.id == "org/odd"
    assert isinstance(row.facts, CachedModel) and row.facts.revision_count == 1
    if reason is None:
        assert row.error is None and row.analysis is not None
        return
    assert row.analysis is None
    assert row.error is not None and row.error.startswith("cannot analyse: ")
    assert reason in row.error and "\n" not in row.error


def test_unknown_architecture_keeps_the_exact_header_count(cache: FakeHFCache) -> None:
    tensors = {"w": ("BF16", (8, 8))}
    cache.repo("org/mamba").add_revision(
        {
            "config.json": config_bytes({"model_type": "mamba"}),
            "model.safetensors": safetensors_bytes(tensors),
        }
    )
    row = _row(cache, "org/mamba")
    assert row.error is not None and "unknown architecture" in row.error
    assert row.analysis is None and row.params_total == 64


@pytest.mark.parametrize("name", ["config.json", "model.safetensors"])
def test_symlink_escaping_the_cache_is_refused(
    cache: FakeHFCache, tmp_path: Path, name: str
) -> None:
    config = llama_config()
    contents = {
        "config.json": config_bytes(config),
        "model.safetensors": safetensors_bytes(llama_tensors(config)),
    }
    outside = tmp_path / "outside" / name
    outside.parent.mkdir()
    outside.write_bytes(contents.pop(name))
    repo = cache.repo("org/escape")
    commit = repo.add_revision(contents)
    repo.link(commit, name, outside)

    models, notices = _scan(cache)
    assert notices == [] and "org/escape" in models  # the library itself accepts the link
    row = analyze_cached(models["org/escape"], SETTINGS)
    assert row.analysis is None
    assert row.error is not None and "outside the cache" in row.error and name in row.error


def test_relative_symlink_climbing_out_is_refused(cache: FakeHFCache, tmp_path: Path) -> None:
    (tmp_path / "secret.json").write_text(json.dumps(llama_config()))
    repo = cache.repo("org/climb")
    commit = repo.add_revision({"README.md": b"x"})
    repo.link(commit, "config.json", Path("../../../../secret.json"))
    assert (repo.snapshot(commit) / "config.json").is_file()
    row = _row(cache, "org/climb")
    assert row.error is not None and "outside the cache" in row.error


def test_cache_rows_never_raise_for_a_vanished_snapshot(cache: FakeHFCache) -> None:
    repo, commit = cache.llama("org/vanishing")
    models, _ = _scan(cache)
    for link in repo.snapshot(commit).iterdir():
        link.unlink()
    repo.snapshot(commit).rmdir()
    [row] = cache_rows(models.values(), SETTINGS)
    assert row.error is not None and row.error.startswith("cannot analyse: ")
    no_snapshot = replace(models["org/vanishing"], snapshot_path=None, revision=None)
    assert analyze_cached(no_snapshot, SETTINGS).error == (
        "cannot analyse: org/vanishing: no cached snapshot"
    )


def test_broken_blob_after_the_scan_is_an_error_row(cache: FakeHFCache) -> None:
    repo, _ = cache.llama("org/gone")
    models, _ = _scan(cache)
    for blob in (repo.path / "blobs").iterdir():
        blob.unlink()
    row = analyze_cached(models["org/gone"], SETTINGS)
    assert row.error is not None and "broken symlink" in row.error


@pytest.mark.parametrize(
    ("config", "task", "kind"),
    [
        (llama_config(), "text-generation", "llm"),
        (llama_config(architectures=None), None, None),
        (llama_config(architectures=["LlamaModel"]), None, None),
        (
            {
                "model_type": "gpt2",
                "architectures": ["GPT2LMHeadModel"],
                "n_embd": 64,
                "n_layer": 2,
                "n_head": 4,
                "vocab_size": 100,
            },
            "text-generation",
            "llm",
        ),
        (
            {
                "model_type": "bert",
                "architectures": ["BertForMaskedLM"],
                "hidden_size": 64,
                "num_hidden_layers": 2,
                "num_attention_heads": 4,
                "intermediate_size": 128,
                "vocab_size": 100,
            },
            "fill-mask",
            "encoder",
        ),
        (
            {
                "model_type": "bert",
                "architectures": ["BertModel"],
                "hidden_size": 64,
                "num_hidden_layers": 2,
                "num_attention_heads": 4,
                "intermediate_size": 128,
                "vocab_size": 100,
            },
            "feature-extraction",
            "embedding",
        ),
        (
            {
                "model_type": "t5",
                "architectures": ["T5ForConditionalGeneration"],
                "d_model": 64,
                "num_layers": 2,
                "num_heads": 4,
                "d_ff": 128,
                "d_kv": 16,
                "vocab_size": 100,
            },
            "text2text-generation",
            "seq2seq",
        ),
    ],
)
def test_task_and_kind_only_when_the_config_says(
    cache: FakeHFCache, config: dict[str, Any], task: str | None, kind: str | None
) -> None:
    config = {k: v for k, v in config.items() if v is not None}
    cache.repo("org/x").add_revision({"config.json": config_bytes(config)})
    row = _row(cache, "org/x")
    assert row.error is None
    assert (row.task, row.kind) == (task, kind)


def test_importing_the_module_does_not_import_huggingface_hub() -> None:
    code = (
        "import sys, core.catalog.cache\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'huggingface_hub'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
