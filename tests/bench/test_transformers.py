"""The transformers backend on the CPU with random weights (skipped without torch)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.bench.errors import BenchError

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from core.bench.backends.hf_transformers import TransformersBackend  # noqa: E402

TINY = {
    "model_type": "llama",
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "vocab_size": 500,
    "max_position_embeddings": 128,
}


def _backend(**config: Any) -> TransformersBackend:
    values: dict[str, Any] = {"model_id": "tiny", "hf_config": TINY, "device": "cpu"}
    values.update(config)
    return TransformersBackend(values)


def test_prefill_then_exactly_n_tokens() -> None:
    backend = _backend()
    info = backend.prepare()
    assert info.weights == "random" and info.dtype == "float32"
    assert info.params is not None and 20_000 < info.params < 100_000
    progress: list[int] = []
    timing = backend.run_once(8, 5, lambda tokens, seconds: progress.append(tokens))
    assert timing.tokens == 5  # no end-of-sequence: always exactly N
    assert timing.decode_tokens == 4  # the first token comes from the prefill
    assert timing.prompt_tokens == 8
    assert timing.ttft_s == timing.prefill_s and timing.prefill_s is not None
    assert timing.decode_s is not None and timing.decode_s > 0
    assert timing.wall_s >= timing.prefill_s + timing.decode_s
    assert progress == [1, 2, 3, 4, 5]
    one = backend.run_once(4, 1, lambda tokens, seconds: None)
    assert one.tokens == 1 and one.decode_s is None and one.decode_tokens is None
    backend.close()


def test_bf16_on_the_cpu() -> None:
    backend = _backend(dtype="bfloat16")
    assert backend.prepare().dtype == "bfloat16"
    assert backend._model.dtype == torch.bfloat16
    assert backend.run_once(4, 2, lambda tokens, seconds: None).tokens == 2


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_clear_error() -> None:
    with pytest.raises(BenchError, match="CUDA is not available to torch"):
        _backend(device="cuda:0").prepare()


def test_models_that_need_their_own_code_are_refused() -> None:
    with pytest.raises(BenchError, match="cannot build model type 'openelm'"):
        _backend(hf_config={"model_type": "openelm", "num_transformer_layers": 2}).prepare()


def test_real_weights_must_be_in_the_local_cache() -> None:
    backend = _backend(model_id="HuggingFaceTB/SmolLM2-135M", weights="cache")
    with pytest.raises(BenchError, match="not found in the local Hugging Face cache"):
        backend.prepare()


def test_cli_end_to_end_on_a_catalog_model(capsys: pytest.CaptureFixture[str]) -> None:
    """The smallest catalog Llama, random weights, a few tokens, through the child process."""
    from tui.cli import main

    code = main(
        [
            "bench",
            "HuggingFaceTB/SmolLM2-135M",
            "--tokens",
            "4",
            "--prompt-tokens",
            "8",
            "--repeat",
            "1",
            "--warmup",
            "0",
            "--baseline",
            "0.5",
            "--min-window",
            "0",
            "--cooldown",
            "0",
            "--threads",
            "1",
            "--json",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    data = json.loads(captured.out)
    assert data["model"] == "HuggingFaceTB/SmolLM2-135M"
    assert data["backend"] == "transformers" and data["device"] == "cpu"
    assert data["dtype"] == "float32"
    assert data["ttft_s"] > 0 and data["prefill_tokens_per_s"] > 0
    assert data["decode_tokens_per_s"] > 0 and data["decode_tokens_per_s_sustained"] > 0
    assert data["windows"][0]["tokens"] == 4 * data["windows"][0]["runs"]
    assert data["backend_info"]["params"] == 134_515_008  # the catalog's parameter count
    energy = data["energy"]
    assert energy["window_valid"] is False
    assert "window too short" in energy["note"]
    if energy["method"] == "unavailable":  # no RAPL here: a reason, never a number
        assert energy["reason"]
        assert energy["gross_joules_per_token"] is None
    else:
        assert energy["method"] == "rapl-counter"
    predicted = data["predicted"]
    assert predicted["precision"] == "fp32" and predicted["decode_tokens_per_s"] > 0
    assert data["measured_over_predicted"] == pytest.approx(
        data["decode_tokens_per_s_sustained"] / predicted["decode_tokens_per_s"], rel=1e-3
    )
    assert isinstance(data["run_id"], int)
    # stored: the history lists it
    assert main(["bench", "history", "--json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert [row["id"] for row in history] == [data["run_id"]]
