"""``compare`` and ``recommend`` as scripts use them, including every kind of bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HW = ("--hardware", "RTX 4090")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]


# --- compare -----------------------------------------------------------------------------------


def test_compare_json_contract() -> None:
    ids = ["Qwen/Qwen3-4B", "Qwen/Qwen3-8B", "openai/whisper-small"]
    result = run_cli("compare", *ids, *HW, "--context", "8192", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"hardware", "precision", "context", "models", "best"}
    assert (data["hardware"], data["precision"], data["context"]) == ("RTX 4090", "bf16", 8192)
    assert [m["id"] for m in data["models"]] == ids
    for model in data["models"]:
        for key in (
            "params", "architecture_class", "weights_bytes", "kv_cache_bytes", "total_bytes",
            "fit", "decode_tokens_per_s", "prefill_tokens_per_s", "bound", "power_w",
            "joules_per_token", "thermal_class", "thermal_source",
            "measured_decode_tokens_per_s", "licence", "context_window", "downloads",
        ):  # fmt: skip
            assert key in model, key
    assert data["best"]["decode_tokens_per_s"] == ["openai/whisper-small"]
    assert data["best"]["weights_bytes"] == ["openai/whisper-small"]
    assert "licence" not in data["best"]


def test_compare_table() -> None:
    result = run_cli("compare", "Qwen/Qwen3-4B", "Qwen/Qwen3-8B", *HW, "--precision", "int8")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("RTX 4090 · int8 · context 4,096")
    assert "Qwen/Qwen3-4B" in lines[2] and "Qwen/Qwen3-8B" in lines[2]
    decode = next(line for line in lines if line.startswith("Decode tok/s"))
    assert decode.count("*") == 1
    assert any(line.startswith("Weights (int8)") for line in lines)
    assert "no values yet: Measured tok/s" in result.stdout


def test_compare_accepts_a_config_file(tmp_path: Path) -> None:
    config = {
        "model_type": "llama",
        "architectures": ["LlamaForCausalLM"],
        "hidden_size": 2048,
        "intermediate_size": 8192,
        "num_hidden_layers": 16,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "vocab_size": 128256,
        "max_position_embeddings": 131072,
    }
    path = tmp_path / "my-model" / "config.json"
    path.parent.mkdir()
    path.write_text(json.dumps(config))
    result = run_cli("compare", str(path), "meta-llama/Llama-3.2-1B", *HW, "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["models"][0]["id"] == "my-model"
    assert data["models"][0]["source"] == "registry"


def test_compare_unknown_id_suggests_close_ids() -> None:
    result = run_cli("compare", "Qwen/Qwen3-4B", "qwen3-8", *HW)
    assert_one_line_error(result, "unknown model id 'qwen3-8'", "did you mean", "Qwen/Qwen3-8B")


@pytest.mark.parametrize("count", [1, 5])
def test_compare_needs_two_to_four(count: int) -> None:
    ids = ["Qwen/Qwen3-0.6B", "Qwen/Qwen3-1.7B", "Qwen/Qwen3-4B", "Qwen/Qwen3-8B", "gpt2"][:count]
    assert_one_line_error(run_cli("compare", *ids, *HW), "2 to 4 models", f"got {count}")


def test_compare_bad_input() -> None:
    assert_one_line_error(run_cli("compare", "gpt2", "GPT2", *HW), "listed twice")
    assert_one_line_error(run_cli("compare", "gpt2", "distilgpt2", "--hardware", "X1"), "X1")
    assert_one_line_error(
        run_cli("compare", "gpt2", "distilgpt2", *HW, "--precision", "fp3"), "precision"
    )
    usage = run_cli("compare", *HW)
    assert usage.returncode == 2 and "usage:" in usage.stderr


# --- recommend ---------------------------------------------------------------------------------


def test_recommend_json() -> None:
    result = run_cli("recommend", "summarise meeting notes quietly", *HW, "--limit", "5", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["tasks"][0]["task"] == "summarisation"
    assert data["preferences"]["thermal"] is True
    assert data["hardware"]["hardware"] == "RTX 4090"
    results = data["results"]
    assert len(results) == 5
    for item in results:
        assert {"id", "score", "task", "reasons"} <= set(item)
        assert item["task"] == "summarisation"
        assert item["reasons"][0].startswith(f"rank {item['rank']} of")
    scores = [item["score"] for item in results]
    assert scores == sorted(scores, reverse=True)
    assert data["picks"][0]["id"] == results[0]["id"]


def test_recommend_constraints() -> None:
    result = run_cli(
        "recommend", "code assistant", *HW, "--fits", "--max-watts", "300",
        "--thermal-class", "very-high", "--min-tokens-per-s", "60", "--max-params", "8B",
        "--licence", "apache-2.0", "--limit", "50", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["constraints"] == {
        "fits": True,
        "max_watts": 300.0,
        "max_thermal_class": "very-high",
        "min_tokens_per_s": 60.0,
        "licences": ["apache-2.0"],
        "max_params": 8_000_000_000,
    }
    assert data["results"]
    for item in data["results"]:
        assert item["fits"] != "too-tight"
        assert item["power_w"] <= 300
        assert item["tokens_per_s"] >= 60
        assert item["params"] <= 8_000_000_000
        assert item["licence"] == "apache-2.0"
    assert data["excluded"]


def test_recommend_text() -> None:
    result = run_cli("recommend", "transcribe podcasts fast", *HW, "--limit", "2")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("task         speech-recognition (transcribe, podcasts)")
    assert "preferences  speed (fast)" in out
    assert "registry     speech-recognition: openai/whisper-large-v3-turbo (small)" in out
    assert " 1. " in out and " 2. " in out and " 3. " not in out
    assert "rank 1 of" in out


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (("chat", "--thermal-class", "hot"), ("unknown thermal class 'hot'", "very-high")),
        (("chat", "--max-watts", "-5"), ("maximum watts",)),
        (("chat", "--min-tokens-per-s", "-1"), ("minimum tokens/s",)),
        (("chat", "--max-params", "lots"), ("not a parameter count",)),
        (("",), ("describe the task",)),
        (("   ",), ("describe the task",)),
        (("chat", "--hardware", "Z80"), ("unknown hardware 'Z80'",)),
    ],
)
def test_recommend_bad_input_is_one_line_exit_1(
    args: tuple[str, ...], needles: tuple[str, ...]
) -> None:
    extra = () if "--hardware" in args else HW
    assert_one_line_error(run_cli("recommend", *args, *extra), *needles)


def test_recommend_usage_errors_exit_2() -> None:
    for args in (("recommend",), ("recommend", "chat", "--limit", "0"),
                 ("recommend", "chat", "--max-watts", "lots")):  # fmt: skip
        result = run_cli(*args, *HW)
        assert result.returncode == 2, args
        assert "usage:" in result.stderr and "Traceback" not in result.stderr


def test_recommend_when_nothing_passes() -> None:
    result = run_cli("recommend", "chat", *HW, "--max-watts", "1", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["results"] == []
    assert data["notes"] and "no chat model passes" in data["notes"][0]
