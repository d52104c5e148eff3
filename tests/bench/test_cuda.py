"""On a real NVIDIA GPU only (skipped elsewhere): bf16 on CUDA, energy from the NVML counter.

The checks deliverable 7 needs before its numbers go into BENCHMARKS.md: the model runs on the
GPU the sampler watches, the energy comes from the counter over valid (≥ 10 s) windows, and
integrated instant power over the same windows agrees with the counter.
"""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]


def test_bf16_on_cuda_with_the_energy_counter(capsys: pytest.CaptureFixture[str]) -> None:
    from tui.cli import main

    args = "--device cuda --tokens 128 --prompt-tokens 256 --repeat 2 --baseline 3 --cooldown 5"
    code = main(["bench", "HuggingFaceTB/SmolLM2-135M", *args.split(), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    data = json.loads(captured.out)
    assert data["device"] == "cuda:0" and data["dtype"] == "bfloat16"
    assert data["backend_info"]["device_name"].startswith("NVIDIA")
    assert not any("telemetry watched" in note for note in data["notes"])
    energy = data["energy"]
    assert energy["method"] == "nvml-counter"
    assert energy["window_valid"] is True
    assert energy["gross_joules_per_token"] > 0
    assert energy["idle_power_w"] > 0
    assert energy["uncertainty"] < 0.1
    check = energy["components"]["instant_power"]
    assert abs(check["relative_difference_vs_counter"]) < 0.1
    assert data["temperature"]["peak_c"] is not None
    assert data["power"]["peak_w"] > 0
    assert data["throttled_fraction"] is not None
    assert data["predicted"]["hardware"] and data["measured_over_predicted"] > 0
