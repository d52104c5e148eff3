"""``models search`` and ``analyze`` as scripts use them, including every kind of bad input."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
LLAMA_8B = {
    "model_type": "llama",
    "architectures": ["LlamaForCausalLM"],
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "vocab_size": 128256,
    "max_position_embeddings": 131072,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_search_json_rows() -> None:
    result = run_cli("models", "search", "qwen3", "--hardware", "RTX 4090", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows and all("qwen3" in r["id"].lower() for r in rows)
    for key in ("id", "source", "task", "params", "thermal_class", "fits", "decode_tokens_per_s"):
        assert key in rows[0]
    speeds = [r["decode_tokens_per_s"] for r in rows if r["decode_tokens_per_s"] is not None]
    assert speeds == sorted(speeds, reverse=True)


def test_search_fits_task_sort_limit() -> None:
    result = run_cli(
        "models", "search", "--hardware", "RTX 3060 12GB", "--fits", "--task",
        "text-generation", "--sort", "params", "--limit", "5", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 5
    assert all(r["fits"] in ("fits", "tight") and r["task"] == "text-generation" for r in rows)
    assert [r["params"] for r in rows] == sorted((r["params"] for r in rows), reverse=True)


def test_search_unknown_sort_column() -> None:
    result = run_cli("models", "search", "--sort", "speed")
    assert result.returncode == 1
    assert result.stderr.startswith("error: unknown sort column 'speed'; valid: id, task")


def test_analyze_catalog_id_json_contract() -> None:
    result = run_cli("analyze", "meta-llama/Llama-3.1-8B", "--hardware", "H100 SXM 80GB", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    for key in ("id", "architecture_class", "params", "memory_bytes", "kv_cache_bytes", "context"):
        assert key in data
    assert data["params"]["total"] == 8_030_261_248
    assert set(data["fit"]) >= {"level", "required_bytes", "available_bytes", "device"}
    estimates = data["estimates"]
    for key in ("decode_tokens_per_s", "prefill_tokens_per_s", "power_w", "joules_per_token"):
        assert estimates[key] > 0
    assert estimates["bound"] == "memory-bound" and estimates["method"]
    assert data["thermal"]["class"] in ("low", "medium", "high", "very-high")
    assert set(data["thermal"]["heuristic"]) >= {"score", "class"}
    # KV cache: 2 × 32 layers × 8 kv heads × 128 × 4096 tokens × 2 bytes
    assert data["kv_cache_bytes"] == 2 * 32 * 8 * 128 * 4096 * 2


def test_analyze_config_json_and_directory_with_safetensors(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps(LLAMA_8B))
    result = run_cli("analyze", str(tmp_path / "config.json"), "--hardware", "RTX 4090", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["params"]["total"] == 8_030_261_248
    header = json.dumps({"a": {"dtype": "BF16", "shape": [10, 10], "data_offsets": [0, 200]}})
    blob = struct.pack("<Q", len(header)) + header.encode() + bytes(200)
    (tmp_path / "model.safetensors").write_bytes(blob)
    result = run_cli("analyze", str(tmp_path), "--hardware", "RTX 4090", "--json")
    data = json.loads(result.stdout)
    assert data["params"]["total"] == 100  # the header wins: it is exact
    assert data["params_method"].startswith("safetensors header")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"model_type": "llama", "hidden_size": 4096', "not valid JSON"),
        ('{"model_type": "mamba2", "hidden_size": 10}', "unknown architecture 'mamba2'"),
        (json.dumps({**LLAMA_8B, "num_hidden_layers": 0}), "num_hidden_layers"),
        (json.dumps({**LLAMA_8B, "num_hidden_layers": -3}), "num_hidden_layers"),
        (json.dumps({**LLAMA_8B, "hidden_size": 10**9}), "hidden_size"),
        ("[1, 2]", "JSON object"),
    ],
)
def test_bad_config_is_one_line_exit_1(tmp_path: Path, content: str, message: str) -> None:
    config = tmp_path / "config.json"
    config.write_text(content)
    result = run_cli("analyze", str(config), "--hardware", "RTX 4090")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines


def test_bad_safetensors_and_unknown_things(tmp_path: Path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(struct.pack("<Q", 10**12) + b"{}")
    result = run_cli("analyze", str(bad), "--hardware", "RTX 4090")
    assert result.returncode == 1 and "header claims" in result.stderr
    result = run_cli("analyze", "nosuch/model-xyz", "--hardware", "RTX 4090")
    assert result.returncode == 1
    assert result.stderr.startswith("error: unknown model id 'nosuch/model-xyz'")
    result = run_cli("analyze", "meta-llama/Llama-3.1-8B", "--hardware", "TPU v9")
    assert result.returncode == 1 and "unknown hardware 'TPU v9'; valid: H100" in result.stderr
    result = run_cli("analyze", "meta-llama/Llama-3.1-8B", "--precision", "q3.5")
    assert result.returncode == 1 and "q3.5" in result.stderr
    result = run_cli("analyze", "x", "--context", "0")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_search_hub_against_the_loopback_server(hub_server: Any, tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "0", "HF_HOME": str(tmp_path / "hf")}
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "models", "search", "instruct", "--source", "hub",
         "--hardware", "RTX 4090", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 6 and {r["source"] for r in rows} == {"hub"}
    assert all(r["params"] for r in rows)
    generators = [r for r in rows if r["task"] == "text-generation"]
    assert generators and all(r["decode_tokens_per_s"] for r in generators)


def test_search_hub_offline() -> None:
    # tests/conftest.py exports HF_HUB_OFFLINE=1 to subprocesses too.
    only_hub = run_cli("models", "search", "llama", "--source", "hub", "--hardware", "T4")
    assert only_hub.returncode == 1
    assert only_hub.stderr.startswith("error: ") and "offline" in only_hub.stderr.lower()
    mixed = run_cli("models", "search", "llama", "--hardware", "T4", "--json")
    assert mixed.returncode == 0
    assert "warning:" in mixed.stderr and "offline" in mixed.stderr.lower()
    assert json.loads(mixed.stdout)


def test_search_the_local_cache(tmp_path: Path) -> None:
    from tests.fakes.hf_cache import FakeHFCache

    hub = Path(os.environ["HF_HOME"]) / "hub"
    assert run_cli("models", "search", "--source", "cache", "--json").stderr.startswith(
        f"warning: no Hugging Face cache at {hub}"
    )
    FakeHFCache(hub).llama("org/tiny-llama")
    result = run_cli("models", "search", "tiny", "--source", "cache", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["id"], r["source"]) for r in rows] == [("org/tiny-llama", "cache")]
    assert rows[0]["params"] and rows[0]["params_method"].startswith("safetensors")
    # every source together: the cached model is among the catalog's, and no warning is printed
    mixed = run_cli("models", "search", "tiny-llama", "--source", "all", "--json")
    assert {r["source"] for r in json.loads(mixed.stdout)} >= {"cache"}
    assert "Hugging Face cache" not in mixed.stderr


def test_analyze_gguf_json_at_the_files_own_types(tmp_path: Path) -> None:
    from tests.fakes.gguf_file import write_llama

    path = tmp_path / "tiny-llama.Q4_K_M.gguf"
    write_llama(path)
    result = run_cli("analyze", str(path), "--hardware", "RTX 4090", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["id"] == "tiny-llama.Q4_K_M" and data["precision"] == "Q4_K_M"
    assert data["params"] == {"total": 1_443_072, "active": 1_443_072}
    assert data["params_method"].startswith("gguf header (21 tensors, exact)")
    # the file's exact tensor bytes, not params × a nominal Q4_K_M bytes/param
    assert data["memory"]["weights_bytes"] == data["weights_bytes"]["Q4_K_M"] == 934_400
    assert data["kv_cache_bytes"] == 2 * 2 * 2 * 64 * 4096 * 2  # from the GGUF's llama.* keys
    # an explicit --precision is a what-if: the file's params at that precision
    result = run_cli(
        "analyze", str(path), "--hardware", "RTX 4090", "--precision", "q8_0", "--json"
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["precision"] == "Q8_0"
    assert data["memory"]["weights_bytes"] == 1_443_072 * 34 // 32
    assert "as asked, not the file's own Q4_K_M" in data["params_method"]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("truncated", "truncated: tensor 'output.weight' needs bytes up to"),
        ("magic", "not a GGUF file (starts with b'GGML'"),
        ("version 1", "GGUF version 1 is not supported; re-convert with a current llama.cpp"),
        ("version 7", "GGUF version 7 is not supported"),
    ],
)
def test_analyze_bad_gguf_is_one_line_exit_1(tmp_path: Path, case: str, message: str) -> None:
    from tests.fakes.gguf_file import build, llama_metadata, llama_tensors, write_llama

    path = tmp_path / "model.gguf"
    if case == "truncated":
        write_llama(path)
        with path.open("r+b") as f:
            f.truncate(path.stat().st_size - 1000)
    else:
        header, _ = build(llama_metadata(), llama_tensors())
        version = {"magic": 3, "version 1": 1, "version 7": 7}[case]
        blob = (b"GGML" if case == "magic" else b"GGUF") + struct.pack("<I", version) + header[8:]
        path.write_bytes(blob)
    result = run_cli("analyze", str(path), "--hardware", "RTX 4090")
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}: ") and message in lines[0], (
        lines
    )
    assert "Traceback" not in result.stderr


# -- analyze --json: format, dtypes, tensors, layers --------------------------------------------


def _format_keys(target: Path | str) -> dict[str, Any]:
    result = run_cli("analyze", str(target), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    return {k: data[k] for k in ("format", "dtypes", "tensors", "layers")}


def _write_safetensors(path: Path, tensors: dict[str, tuple[str, list[int]]]) -> None:
    sizes = {"F32": 4, "F16": 2, "BF16": 2, "I64": 8}
    header: dict[str, Any] = {}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        n = sizes[dtype]
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(offset))


def _tiny_llama_tensors(layers: int, first: int = 0) -> dict[str, tuple[str, list[int]]]:
    out: dict[str, tuple[str, list[int]]] = {}
    for i in range(first, first + layers):
        out[f"model.layers.{i}.self_attn.q_proj.weight"] = ("BF16", [8, 8])
        out[f"model.layers.{i}.mlp.up_proj.weight"] = ("BF16", [16, 8])
        out[f"model.layers.{i}.input_layernorm.weight"] = ("F32", [8])
    return out


def test_analyze_json_safetensors_file_keys(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    _write_safetensors(path, {"model.embed_tokens.weight": ("F32", [32, 8]),
                              **_tiny_llama_tensors(3)})  # fmt: skip
    keys = _format_keys(path)
    assert keys == {
        "format": "safetensors",
        "dtypes": {"F32": 32 * 8 + 3 * 8, "BF16": 3 * (64 + 128)},
        "tensors": 1 + 3 * 3,
        "layers": 3,
    }


def test_analyze_json_directory_and_index_keys(tmp_path: Path) -> None:
    model = tmp_path / "tiny"
    model.mkdir()
    (model / "config.json").write_text(json.dumps(LLAMA_8B | {"num_hidden_layers": 4}))
    first = _tiny_llama_tensors(2)
    second = _tiny_llama_tensors(2, first=2)
    _write_safetensors(model / "model-00001-of-00002.safetensors", first)
    _write_safetensors(model / "model-00002-of-00002.safetensors", second)
    index = {
        "metadata": {"total_size": 0},
        "weight_map": {n: "model-00001-of-00002.safetensors" for n in first}
        | {n: "model-00002-of-00002.safetensors" for n in second},
    }
    (model / "model.safetensors.index.json").write_text(json.dumps(index))
    expected = {
        "format": "safetensors",
        "dtypes": {"BF16": 4 * (64 + 128), "F32": 4 * 8},
        "tensors": 12,
        "layers": 4,
    }
    assert _format_keys(model) == expected
    assert _format_keys(model / "model.safetensors.index.json") == expected


def test_analyze_json_gguf_keys(tmp_path: Path) -> None:
    from tests.fakes.gguf_file import llama_tensors, write_llama

    path = tmp_path / "tiny.gguf"
    write_llama(path)
    tensors = llama_tensors()
    dtypes: dict[str, int] = {}
    for t in tensors:
        dtypes[t.type] = dtypes.get(t.type, 0) + t.elements
    assert _format_keys(path) == {
        "format": "gguf", "dtypes": dtypes, "tensors": len(tensors), "layers": 2,
    }  # fmt: skip


def test_analyze_json_onnx_keys(tmp_path: Path) -> None:
    from tests.fakes import onnx_file

    path = tmp_path / "tiny.onnx"
    onnx_file.write(path, onnx_file.llama_model(layers=3))
    keys = _format_keys(path)
    width, ff, vocab = 64, 128, 256
    assert keys == {
        "format": "onnx",
        "dtypes": {
            "FLOAT16": 2 * vocab * width + 3 * (4 * width * width + 3 * ff * width),
            "FLOAT": 3 * 2 * width + width,
        },
        "tensors": 2 + 3 * 9 + 1,
        "layers": 3,
    }
    assert sum(keys["dtypes"].values()) == onnx_file.llama_params(layers=3)


def test_analyze_json_config_has_no_format_keys(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(LLAMA_8B))
    result = run_cli("analyze", str(config), "--json")
    assert result.returncode == 0, result.stderr
    assert "format" not in json.loads(result.stdout)
