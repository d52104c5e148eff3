"""The embedded catalog: coverage, provenance, look-ups and the build script's validation."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from core.catalog.embedded import FACT_FIELDS, CatalogEntry, get, load_catalog, search
from core.errors import CatalogError, ThermalScoutError

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "build_catalog.py"
CATALOG = ROOT / "core" / "catalog" / "data" / "catalog.jsonl"

#: The classic families the product issue asks for, by canonical repo id.
REQUESTED = (
    "google-bert/bert-base-uncased",
    "google-bert/bert-base-cased",
    "google-bert/bert-large-uncased",
    "google-bert/bert-large-cased",
    "google-bert/bert-base-multilingual-cased",
    "distilbert/distilbert-base-uncased",
    "distilbert/distilbert-base-cased",
    "distilbert/distilbert-base-multilingual-cased",
    "albert/albert-base-v2",
    "albert/albert-large-v2",
    "albert/albert-xlarge-v2",
    "albert/albert-xxlarge-v2",
    "FacebookAI/roberta-base",
    "FacebookAI/roberta-large",
    "distilbert/distilroberta-base",
    "FacebookAI/xlm-roberta-base",
    "FacebookAI/xlm-roberta-large",
    "google-t5/t5-small",
    "google-t5/t5-base",
    "google-t5/t5-large",
    "google-t5/t5-3b",
    "google-t5/t5-11b",
    "google/flan-t5-small",
    "google/flan-t5-base",
    "google/flan-t5-large",
    "google/flan-t5-xl",
    "google/flan-t5-xxl",
    "openai-community/gpt2",
    "openai-community/gpt2-medium",
    "openai-community/gpt2-large",
    "openai-community/gpt2-xl",
    "distilbert/distilgpt2",
    "facebook/bart-base",
    "facebook/bart-large",
    "facebook/bart-large-cnn",
    "facebook/bart-large-mnli",
    "sshleifer/distilbart-cnn-12-6",
    "openai/whisper-tiny",
    "openai/whisper-tiny.en",
    "openai/whisper-base",
    "openai/whisper-base.en",
    "openai/whisper-small",
    "openai/whisper-small.en",
    "openai/whisper-medium",
    "openai/whisper-medium.en",
    "openai/whisper-large",
    "openai/whisper-large-v2",
    "openai/whisper-large-v3",
    "openai/whisper-large-v3-turbo",
    "google/electra-small-discriminator",
    "google/electra-base-discriminator",
    "google/electra-large-discriminator",
    "microsoft/deberta-v3-base",
    "microsoft/deberta-v3-large",
)

DIMENSIONS = (
    "num_hidden_layers",
    "num_decoder_layers",
    "hidden_size",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "intermediate_size",
    "vocab_size",
    "max_position_embeddings",
    "sliding_window",
    "num_experts",
    "num_experts_per_tok",
    "tie_word_embeddings",
)


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_catalog_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --------------------------------------------------------------------------- coverage


def test_catalog_holds_at_least_250_models() -> None:
    assert len(load_catalog()) >= 250


def test_repo_ids_are_unique_case_insensitively() -> None:
    ids = [e.repo_id.casefold() for e in load_catalog()]
    assert len(ids) == len(set(ids))


def test_catalog_is_sorted_by_repo_id() -> None:
    ids = [e.repo_id for e in load_catalog()]
    assert ids == sorted(ids, key=lambda i: (i.casefold(), i))


@pytest.mark.parametrize("repo_id", REQUESTED)
def test_requested_classic_model_is_present_with_dimensions(repo_id: str) -> None:
    entry = get(repo_id)
    assert entry.repo_id == repo_id
    assert entry.has_dimensions, repo_id
    assert entry.params_total and entry.params_total > 1_000_000


def test_every_non_null_fact_has_a_source() -> None:
    missing = []
    for entry in load_catalog():
        for name in entry.facts():
            if not entry.source.get(name, "").strip():
                missing.append(f"{entry.repo_id}:{name}")
        if entry.hf_config and not entry.source.get("hf_config"):
            missing.append(f"{entry.repo_id}:hf_config")
        for key in entry.extras:
            if not entry.source.get(f"extras.{key}"):
                missing.append(f"{entry.repo_id}:extras.{key}")
    assert missing == []


def test_dimensions_and_parameter_counts_are_cited_not_just_recorded() -> None:
    uncited = [
        f"{entry.repo_id}:{name}"
        for entry in load_catalog()
        for name in ("params_total", *DIMENSIONS)
        if getattr(entry, name) is not None
        and "no per-fact citation" in entry.source.get(name, "no per-fact citation")
    ]
    assert uncited == []


def test_dimensions_are_positive_and_heads_consistent() -> None:
    for entry in load_catalog():
        for name in DIMENSIONS[:-1]:
            value = getattr(entry, name)
            values = value if isinstance(value, tuple) else (value,)
            assert all(v is None or (isinstance(v, int) and v > 0) for v in values), (
                entry.repo_id,
                name,
            )
        heads, kv = entry.num_attention_heads, entry.num_key_value_heads
        if isinstance(heads, int) and isinstance(kv, int):
            assert heads % kv == 0, entry.repo_id


@pytest.mark.parametrize(
    ("repo_id", "expected"),
    [
        (
            "google-bert/bert-base-uncased",
            {
                "num_hidden_layers": 12,
                "hidden_size": 768,
                "num_attention_heads": 12,
                "intermediate_size": 3072,
                "vocab_size": 30522,
                "params_total": 109_482_240,
            },
        ),
        (
            "google-bert/bert-large-cased",
            {"num_hidden_layers": 24, "hidden_size": 1024, "vocab_size": 28996},
        ),
        ("albert/albert-xxlarge-v2", {"hidden_size": 4096, "num_attention_heads": 64}),
        (
            "google-t5/t5-11b",
            {
                "hidden_size": 1024,
                "num_attention_heads": 128,
                "head_dim": 128,
                "intermediate_size": 65536,
                "num_decoder_layers": 24,
            },
        ),
        (
            "google/flan-t5-base",
            {
                "hidden_size": 768,
                "intermediate_size": 2048,
                "params_total": 247_577_856,
                "tie_word_embeddings": False,
            },
        ),
        ("google/flan-t5-xxl", {"hidden_size": 4096, "num_attention_heads": 64}),
        ("FacebookAI/xlm-roberta-base", {"vocab_size": 250002, "params_total": 278_043_648}),
        ("distilbert/distilgpt2", {"num_hidden_layers": 6, "hidden_size": 768}),
        ("openai/whisper-tiny", {"num_hidden_layers": 4, "hidden_size": 384, "vocab_size": 51865}),
        ("openai/whisper-medium.en", {"num_hidden_layers": 24, "vocab_size": 51864}),
        ("openai/whisper-large-v3-turbo", {"num_hidden_layers": 32, "num_decoder_layers": 4}),
        ("sshleifer/distilbart-cnn-12-6", {"num_hidden_layers": 12, "num_decoder_layers": 6}),
    ],
)
def test_published_values(repo_id: str, expected: dict[str, object]) -> None:
    entry = get(repo_id)
    assert {name: getattr(entry, name) for name in expected} == expected


def test_t5_configs_keep_their_raw_keys() -> None:
    cfg = get("google/flan-t5-xl").config()
    assert cfg["model_type"] == "t5"
    assert (cfg["d_model"], cfg["d_kv"], cfg["d_ff"], cfg["num_heads"]) == (2048, 64, 5120, 32)
    assert (cfg["num_layers"], cfg["num_decoder_layers"]) == (24, 24)
    assert cfg["feed_forward_proj"] == "gated-gelu"
    assert cfg["tie_word_embeddings"] is False
    assert get("google-t5/t5-small").config()["feed_forward_proj"] == "relu"


def test_config_uses_each_familys_key_names() -> None:
    gpt2 = get("openai-community/gpt2").config()
    assert (gpt2["n_layer"], gpt2["n_embd"], gpt2["n_head"], gpt2["n_positions"]) == (
        12,
        768,
        12,
        1024,
    )
    whisper = get("openai/whisper-small").config()
    assert whisper["model_type"] == "whisper"
    assert (whisper["encoder_layers"], whisper["decoder_layers"], whisper["d_model"]) == (
        12,
        12,
        768,
    )
    assert whisper["encoder_ffn_dim"] == 3072 and whisper["max_source_positions"] == 1500
    distil = get("distilbert/distilbert-base-uncased").config()
    assert (distil["dim"], distil["n_layers"], distil["n_heads"], distil["hidden_dim"]) == (
        768,
        6,
        12,
        3072,
    )
    llama = get("meta-llama/Llama-3.2-1B").config()
    assert llama["model_type"] == "llama"
    assert llama["num_key_value_heads"] == 8 and llama["head_dim"] == 64
    moe = get("Qwen/Qwen3-30B-A3B").config()
    assert moe["num_experts"] == 128 and moe["moe_intermediate_size"] == 768


def test_config_returns_a_fresh_dict() -> None:
    entry = get("google-t5/t5-base")
    entry.config()["d_model"] = 1
    assert entry.config()["d_model"] == 768


def test_entries_are_frozen() -> None:
    entry = get("openai-community/gpt2")
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.hidden_size = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        entry.source["hidden_size"] = "x"  # type: ignore[index]
    assert set(FACT_FIELDS) <= {f.name for f in dataclasses.fields(CatalogEntry)}


# --------------------------------------------------------------------------- get / search


def test_get_exact_and_case_insensitive() -> None:
    assert get("openai-community/gpt2").repo_id == "openai-community/gpt2"
    assert get("META-LLAMA/llama-3.2-1b").repo_id == "meta-llama/Llama-3.2-1B"
    assert get("  google-t5/T5-Small ").repo_id == "google-t5/t5-small"


def test_get_accepts_a_unique_bare_name() -> None:
    assert get("bert-base-uncased").repo_id == "google-bert/bert-base-uncased"


def test_get_unknown_suggests_close_ids() -> None:
    with pytest.raises(CatalogError) as raised:
        get("google-bert/bert-base-uncasd")
    message = str(raised.value)
    assert message.startswith("unknown model id 'google-bert/bert-base-uncasd'; did you mean: ")
    assert message.endswith("?")
    suggestions = message.split("did you mean: ", 1)[1].rstrip("?").split(", ")
    assert suggestions[0] == "google-bert/bert-base-uncased"
    assert 1 <= len(suggestions) <= 3
    assert isinstance(raised.value, ThermalScoutError)


def test_get_unknown_without_anything_close() -> None:
    with pytest.raises(CatalogError, match=r"^unknown model id 'zzzz/qqqq'"):
        get("zzzz/qqqq")


def test_search_by_substring_task_and_kind() -> None:
    whisper = search("whisper")
    assert len(whisper) >= 12
    assert all("whisper" in e.repo_id.casefold() for e in whisper)
    speech = search(kind="speech")
    assert {e.repo_id for e in whisper} <= {e.repo_id for e in speech}
    fill = search("bert", task="FILL-MASK")
    assert fill and all(e.task == "fill-mask" for e in fill)
    assert "google-bert/bert-base-uncased" in {e.repo_id for e in fill}
    assert search("t5 translation")[0].family == "t5"
    assert search("gpt2")[0].repo_id == "openai-community/gpt2"


def test_search_limit_and_empty_query() -> None:
    assert len(search()) == len(load_catalog())
    assert len(search("qwen", limit=3)) == 3
    assert search("qwen", limit=0) == []
    assert search("no-such-model-anywhere") == []
    with pytest.raises(ValueError):
        search(limit=-1)
    with pytest.raises(CatalogError, match="unknown kind"):
        search(kind="toaster")


def test_catalog_is_lazy_and_cached() -> None:
    probe = (
        "import core.catalog.embedded as m, sys;"
        "assert m._cache is None, 'loaded at import';"
        "first = m.load_catalog(); assert m.load_catalog() is first;"
        "print(len(first))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 250


# --------------------------------------------------------------------------- build script


@pytest.mark.slow
def test_build_check_passes_on_the_committed_catalog() -> None:
    done = _run_script("--check")
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout


def test_build_is_deterministic_and_matches_the_committed_file() -> None:
    script = _load_script()
    first = script.build()
    second = script.build()
    assert first.text == second.text
    assert first.text.encode("utf-8") == CATALOG.read_bytes()
    assert first.entries == len(load_catalog())
    lines = first.text.splitlines()
    assert all(
        line == json.dumps(json.loads(line), separators=(",", ":"), ensure_ascii=False)
        for line in lines
    )
    assert list(json.loads(lines[0]))[:3] == ["repo_id", "family", "kind"]


def test_check_fails_on_a_stale_catalog(tmp_path: Path) -> None:
    stale = tmp_path / "catalog.jsonl"
    stale.write_text(CATALOG.read_text(encoding="utf-8").replace("\n", "\n\n", 1))
    done = _run_script("--check", "--output", str(stale))
    assert done.returncode == 1
    assert "out of date" in done.stderr


GOOD_ROW = {
    "repo_id": "acme/tiny-lm",
    "family": "tiny",
    "kind": "llm",
    "model_type": "llama",
    "num_hidden_layers": 2,
    "hidden_size": 64,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "params_total": 100_000,
    "source": {"dims": "acme/tiny@0123abc:config.json", "params": "computed from dims"},
}


def _write_rows(folder: Path, name: str, rows: list[dict[str, object]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _build(folder: Path) -> subprocess.CompletedProcess[str]:
    return _run_script("--sources", str(folder), "--output", str(folder / "out" / "c.jsonl"))


def test_a_good_source_folder_builds(tmp_path: Path) -> None:
    _write_rows(tmp_path, "a.jsonl", [GOOD_ROW])
    done = _build(tmp_path)
    assert done.returncode == 0, done.stderr
    (line,) = (tmp_path / "out" / "c.jsonl").read_text(encoding="utf-8").splitlines()
    built = json.loads(line)
    assert built["hidden_size"] == 64
    assert built["source"]["params_total"] == "computed from dims"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            {**GOOD_ROW, "repo_id": "acme/TINY-lm"},
            "duplicate repo_id 'acme/TINY-lm' (first at a.jsonl:1)",
        ),
        (
            {**GOOD_ROW, "repo_id": "acme/other", "hidden_size": -64},
            "hidden_size must be a positive integer",
        ),
        (
            {**GOOD_ROW, "repo_id": "acme/other", "num_hidden_layers": 2.5},
            "num_hidden_layers must be a positive integer",
        ),
        (
            {k: v for k, v in GOOD_ROW.items() if k != "source"} | {"repo_id": "acme/other"},
            "missing source",
        ),
        (
            {**GOOD_ROW, "repo_id": "acme/other", "source": {"params": "computed from dims"}},
            "fact 'num_hidden_layers' has no source",
        ),
        ({**GOOD_ROW, "repo_id": "acme/other", "kind": "toaster"}, "kind must be one of"),
        ({**GOOD_ROW, "repo_id": "acme/other", "hiddn_size": 64}, "unknown key(s) hiddn_size"),
        ({**GOOD_ROW, "repo_id": "no-owner"}, "repo_id must be 'owner/name'"),
        ({**GOOD_ROW, "repo_id": "acme/other", "num_key_value_heads": 3}, "must divide"),
        (
            {
                "repo_id": "acme/tiny-lm",
                "supplement": True,
                "hidden_size": 65,
                "source": {"dims": "x"},
            },
            "supplement sets hidden_size=65 but a.jsonl:1 has 64",
        ),
        (
            {
                "repo_id": "acme/nope",
                "supplement": True,
                "hidden_size": 64,
                "source": {"dims": "x"},
            },
            "supplement for unknown repo_id 'acme/nope'",
        ),
    ],
)
def test_bad_rows_are_rejected_with_file_and_line(
    tmp_path: Path, bad: dict[str, object], message: str
) -> None:
    _write_rows(tmp_path, "a.jsonl", [GOOD_ROW])
    _write_rows(tmp_path, "b.jsonl", [GOOD_ROW | {"repo_id": "acme/fine"}, bad])
    done = _build(tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("error: b.jsonl:2: "), done.stderr
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "c.jsonl").exists()


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    path = _write_rows(tmp_path, "a.jsonl", [GOOD_ROW])
    path.write_text(path.read_text(encoding="utf-8") + "\n{not json\n", encoding="utf-8")
    done = _build(tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("error: a.jsonl:3: not valid JSON")


def test_a_supplement_fills_missing_facts(tmp_path: Path) -> None:
    base = {k: v for k, v in GOOD_ROW.items() if k != "num_key_value_heads"}
    sup = {
        "repo_id": "acme/tiny-lm",
        "supplement": True,
        "num_key_value_heads": 4,
        "source": {"num_key_value_heads": "acme/tiny@0123abc:config.json"},
    }
    _write_rows(tmp_path, "a.jsonl", [base])
    _write_rows(tmp_path, "b.jsonl", [sup])
    done = _build(tmp_path)
    assert done.returncode == 0, done.stderr
    built = json.loads((tmp_path / "out" / "c.jsonl").read_text(encoding="utf-8"))
    assert built["num_key_value_heads"] == 4
