"""Presets against the disk: files, format magic and size checks; detection in standard places."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from core.profiles import ModelPreset, detect_models, preset_name, validate_preset
from core.profiles.presets import standard_locations, weights_files
from tests.fakes.hf_cache import (
    FakeHFCache,
    config_bytes,
    llama_config,
    llama_tensors,
    safetensors_bytes,
)


def _gguf(path: Path, size: int) -> Path:
    """A file that starts like GGUF (magic, version 3), padded to ``size`` bytes (sparse)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.write(b"GGUF" + (3).to_bytes(4, "little"))
        handle.truncate(size)
    return path


def _checks(preset: ModelPreset, **kwargs: object) -> dict[str, tuple[bool, str]]:
    report = validate_preset(preset, **kwargs)  # type: ignore[arg-type]
    return {c.name: (c.ok, c.message) for c in report.checks}


def test_valid_gguf_within_ten_percent(tmp_path: Path) -> None:
    weights = _gguf(tmp_path / "m.gguf", 1_050_000_000)
    report = validate_preset(
        ModelPreset(name="m", weights=str(weights), format="gguf", size_gb=1.0)
    )
    assert report.ok, report.checks
    assert report.size_bytes == 1_050_000_000
    assert {c.name for c in report.checks} == {"weights", "format", "size"}


@pytest.mark.parametrize(
    ("size_gb", "ok"), [(1.0, True), (0.91, True), (0.9, False), (1.12, False)]
)
def test_size_tolerance_is_ten_percent_of_size_gb(tmp_path: Path, size_gb: float, ok: bool) -> None:
    weights = _gguf(tmp_path / "m.gguf", 1_000_000_000)
    checks = _checks(ModelPreset(name="m", weights=str(weights), format="gguf", size_gb=size_gb))
    assert checks["size"][0] is ok
    if not ok:
        assert "set size_gb to 1 " in checks["size"][1] + " "


def test_missing_unreadable_and_wrong_format(tmp_path: Path) -> None:
    missing = _checks(ModelPreset(name="m", weights=str(tmp_path / "none.gguf"), format="gguf"))
    assert missing == {"weights": (False, f"{tmp_path / 'none.gguf'} does not exist")}
    not_gguf = tmp_path / "fake.gguf"
    not_gguf.write_bytes(b"PK\x03\x04 zip")
    checks = _checks(ModelPreset(name="m", weights=str(not_gguf), format="gguf"))
    assert checks["format"][0] is False and "not GGUF" in checks["format"][1]
    gguf_as_st = _gguf(tmp_path / "x.safetensors", 100)
    checks = _checks(ModelPreset(name="m", weights=str(gguf_as_st), format="safetensors"))
    assert checks["format"] == (False, "x.safetensors is a GGUF file, not safetensors")
    broken = tmp_path / "b.safetensors"
    broken.write_bytes((1000).to_bytes(8, "little") + b"{}")
    checks = _checks(ModelPreset(name="m", weights=str(broken), format="safetensors"))
    assert checks["format"][0] is False and "runs past the end" in checks["format"][1]
    tokenizer = _checks(
        ModelPreset(
            name="m",
            weights=str(_gguf(tmp_path / "ok.gguf", 8)),
            format="gguf",
            tokenizer=str(tmp_path / "tok.json"),
        )
    )
    assert tokenizer["tokenizer"][0] is False


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_weights(tmp_path: Path) -> None:
    weights = _gguf(tmp_path / "m.gguf", 8)
    weights.chmod(0)
    try:
        checks = _checks(ModelPreset(name="m", weights=str(weights), format="gguf"))
    finally:
        weights.chmod(0o644)
    assert checks["weights"] == (False, f"{weights} is not readable (permission denied)")


def test_safetensors_folder_of_shards(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    tensors = llama_tensors(llama_config())
    half = dict(list(tensors.items())[: len(tensors) // 2])
    rest = dict(list(tensors.items())[len(tensors) // 2 :])
    (folder / "model-00001-of-00002.safetensors").write_bytes(safetensors_bytes(half))
    (folder / "model-00002-of-00002.safetensors").write_bytes(safetensors_bytes(rest))
    (folder / "config.json").write_bytes(config_bytes(llama_config()))
    size = sum(p.stat().st_size for p in folder.glob("*.safetensors"))
    report = validate_preset(ModelPreset(name="m", weights=str(folder), size_gb=size / 1e9))
    assert report.ok and len(report.files) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    checks = _checks(ModelPreset(name="m", weights=str(empty)))
    assert checks["weights"] == (False, f"no .safetensors files in {empty}")


def test_model_id_is_found_in_the_hf_cache(tmp_path: Path) -> None:
    cache = FakeHFCache(tmp_path / "hub")
    repo = cache.repo("org/tiny")
    tensors = llama_tensors(llama_config())
    repo.add_revision(
        {
            "config.json": config_bytes(llama_config()),
            "model.safetensors": safetensors_bytes(tensors),
        }
    )
    report = validate_preset(ModelPreset(name="t", model_id="org/tiny"), hf_cache=cache.root)
    assert report.ok, report.checks
    absent = _checks(ModelPreset(name="t", model_id="org/other"), hf_cache=cache.root)
    assert absent["weights"][0] is False and "not in the Hugging Face cache" in absent["weights"][1]


def test_gemma_cpp_formats_have_no_magic_to_check(tmp_path: Path) -> None:
    weights = tmp_path / "2b-it-sfp.sbs"
    weights.write_bytes(b"\0" * 100)
    checks = _checks(ModelPreset(name="g", weights=str(weights), format="sfp"))
    assert checks["format"] == (True, "sfp has no header to check")


def test_weights_files_skips_projectors_and_takes_all_shards(tmp_path: Path) -> None:
    for name in ("m-00001-of-00002.gguf", "m-00002-of-00002.gguf", "mmproj-f16.gguf", "x.txt"):
        _gguf(tmp_path / name, 8)
    assert [p.name for p in weights_files(tmp_path, "gguf")] == [
        "m-00001-of-00002.gguf",
        "m-00002-of-00002.gguf",
    ]


# ------------------------------------------------------------------------------ detection


def test_detects_every_standard_place(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cache = FakeHFCache(tmp_path / "hub")
    config = llama_config(max_position_embeddings=4096)
    cache.repo("Qwen/Qwen3-0.6B").add_revision(
        {
            "config.json": config_bytes(config),
            "model.safetensors": safetensors_bytes(llama_tensors(config)),
        }
    )
    cache.repo("org/config-only").add_revision({"config.json": config_bytes(config)})
    lmstudio = home / ".lmstudio" / "models"
    _gguf(lmstudio / "Qwen" / "Qwen3-8B-GGUF" / "Qwen3-8B-Q4_K_M.gguf", 5000)
    _gguf(lmstudio / "Qwen" / "Qwen3-8B-GGUF" / "mmproj-Qwen3-8B-f16.gguf", 10)
    _gguf(lmstudio / "big" / "r" / "big-00001-of-00002.gguf", 100)
    _gguf(lmstudio / "big" / "r" / "big-00002-of-00002.gguf", 100)
    ollama = home / ".ollama" / "models"
    blob = _gguf(ollama / "blobs" / ("sha256-" + "a" * 64), 3000)
    manifest = ollama / "manifests" / "registry.ollama.ai" / "library" / "llama3.2" / "1b"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(
        json.dumps(
            {
                "layers": [
                    {
                        "mediaType": "application/vnd.ollama.image.model",
                        "digest": "sha256:" + "a" * 64,
                    },
                    {
                        "mediaType": "application/vnd.ollama.image.template",
                        "digest": "sha256:" + "b" * 64,
                    },
                ]
            }
        )
    )
    orphan = ollama / "manifests" / "registry.ollama.ai" / "library" / "gone" / "latest"
    orphan.parent.mkdir(parents=True)
    orphan.write_text(
        json.dumps(
            {
                "layers": [
                    {
                        "mediaType": "application/vnd.ollama.image.model",
                        "digest": "sha256:" + "c" * 64,
                    }
                ]
            }
        )
    )
    llama_cpp = home / ".cache" / "llama.cpp"
    _gguf(llama_cpp / "ggml-org_gemma-3-1b-it-GGUF_gemma-3-1b-it-Q4_K_M.gguf", 700)
    locations = [
        ("huggingface", cache.root),
        ("lmstudio", lmstudio),
        ("ollama", ollama),
        ("llama.cpp", llama_cpp),
        ("llama.cpp", home / "nowhere"),
    ]
    detection = detect_models(locations)
    found = {(m.source, m.preset.name): m for m in detection.models}
    assert set(found) == {
        ("huggingface", "qwen3-0-6b"),
        ("lmstudio", "qwen3-8b-q4_k_m"),
        ("lmstudio", "big"),
        ("ollama", "llama3-2-1b"),
        ("llama.cpp", "ggml-org_gemma-3-1b-it-gguf_gemma-3-1b-it-q4_k_m"),
    }
    hf = found[("huggingface", "qwen3-0-6b")].preset
    assert hf.model_id == "Qwen/Qwen3-0.6B" and hf.format == "safetensors"
    assert hf.context_length == 4096 and hf.size_gb is not None
    assert found[("lmstudio", "big")].preset.size_gb == 2e-07
    assert found[("ollama", "llama3-2-1b")].preset.weights == str(blob)
    assert any("gone" in n and "missing" in n for n in detection.notices)
    assert (("llama.cpp", home / "nowhere", False)) in detection.searched
    # every offered preset validates as it stands
    for model in detection.models:
        report = validate_preset(model.preset, hf_cache=cache.root)
        assert report.ok, (model.preset.name, report.checks)


def test_standard_locations_follow_the_environment(tmp_path: Path) -> None:
    home = tmp_path
    (home / ".lmstudio-home-pointer").write_text(str(tmp_path / "lms"))
    places = standard_locations(
        {"OLLAMA_MODELS": str(tmp_path / "om"), "LLAMA_CACHE": str(tmp_path / "lc")}, home
    )
    assert ("lmstudio", tmp_path / "lms" / "models") in places
    assert ("ollama", tmp_path / "om") in places
    assert ("llama.cpp", tmp_path / "lc") in places
    assert places[0][0] == "huggingface"


def test_detect_with_nothing_anywhere_is_quiet(tmp_path: Path) -> None:
    detection = detect_models([("lmstudio", tmp_path / "no")])
    assert detection.models == () and detection.notices == ()


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Qwen/Qwen3-0.6B", "qwen3-0-6b"),
        ("gemma-3-1b-it-Q4_K_M.gguf", "gemma-3-1b-it-q4_k_m"),
        ("///", "model"),
        ("a" * 100, "a" * 64),
    ],
)
def test_preset_names_are_valid(text: str, name: str) -> None:
    assert preset_name(text) == name
    ModelPreset(name=preset_name(text), weights="/x")
