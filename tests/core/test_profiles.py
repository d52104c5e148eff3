"""Profile and preset models: every validation rule, field help, and the layered settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.hwinfo import (
    CpuInfo,
    DiskInfo,
    GpuInfo,
    HardwareInfo,
    MemoryInfo,
    OsInfo,
)
from core.profiles import (
    FieldError,
    ModelPreset,
    PerformanceProfile,
    architecture_of,
    capabilities,
    effective_settings,
    field_help,
    field_specs,
    parse_field,
    recommended_profile,
    validate_field,
)
from core.profiles.models import check_value

GIB = 1024**3

# (kind, field, text, what the message must say)
REJECTED = [
    ("profile", "max_tokens", "0", "must be a whole number > 0 (got 0)"),
    ("profile", "max_tokens", "-5", "must be a whole number > 0"),
    ("profile", "max_tokens", "5.5", "must be a whole number > 0 (got '5.5')"),
    ("profile", "max_tokens", "many", "must be a whole number > 0 (got 'many')"),
    ("profile", "temperature", "2.01", "must be a number from 0 to 2 (got 2.01)"),
    ("profile", "temperature", "-0.1", "must be a number from 0 to 2"),
    ("profile", "temperature", "hot", "must be a number from 0 to 2 (got 'hot')"),
    ("profile", "temperature", "nan", "must be a number from 0 to 2"),
    ("profile", "temperature", "inf", "must be a number from 0 to 2"),
    ("profile", "top_p", "1.5", "must be a number from 0 to 1"),
    ("profile", "top_p", "-1", "must be a number from 0 to 1"),
    ("profile", "top_k", "-1", "must be a whole number ≥ 0"),
    ("profile", "repetition_penalty", "0", "must be a number > 0"),
    ("profile", "context_length", "0", "must be a whole number > 0"),
    ("profile", "threads", "0", "must be a whole number ≥ 1"),
    ("profile", "batch_size", "0", "must be a whole number ≥ 1"),
    ("profile", "device", "gpu", "must be one of cpu, cuda, auto (got 'gpu')"),
    ("profile", "dtype", "fp8", "must be one of auto, float32, float16, bfloat16, int8, int4"),
    ("profile", "name", "has space", "must be a name of 1 to 64 letters"),
    ("profile", "name", "x" * 65, "must be a name of 1 to 64 letters"),
    ("profile", "name", "", "required"),
    ("preset", "model_id", "not a repo id", "must be a Hugging Face repo id like org/name"),
    ("preset", "format", "pt", "must be one of safetensors, gguf, onnx, sfp, bf16, f32, nuq"),
    ("preset", "size_gb", "0", "must be a number > 0"),
    ("preset", "size_gb", "big", "must be a number > 0 (got 'big')"),
    ("preset", "context_length", "0", "must be a whole number > 0"),
    ("preset", "min_ram_gb", "-1", "must be a number ≥ 0"),
    ("preset", "quality", "best", "must be one of high, medium, fast"),
    ("preset", "avg_tokens_per_sec", "0", "must be a number > 0"),
    ("preset", "avg_tokens_per_sec_measured", "maybe", "must be true or false"),
    ("preset", "default_profile", "a.b", "must be a name"),
    ("preset", "overrides", "temperature=9", "temperature must be a number from 0 to 2"),
    ("preset", "overrides", "colour=red", "unknown setting 'colour'"),
    ("preset", "overrides", "temperature", "expected SETTING=VALUE"),
    ("defaults", "default_profile", "no way", "must be a name"),
]

ACCEPTED: list[tuple[str, str, str, Any]] = [
    ("profile", "max_tokens", "1", 1),
    ("profile", "max_tokens", "1_000", 1000),
    ("profile", "temperature", "0", 0.0),
    ("profile", "temperature", "2", 2.0),
    ("profile", "top_p", "1", 1.0),
    ("profile", "top_k", "0", 0),
    ("profile", "repetition_penalty", "1.1", 1.1),
    ("profile", "threads", "1", 1),
    ("profile", "device", "CUDA", "cuda"),
    ("profile", "dtype", "bfloat16", "bfloat16"),
    ("profile", "description", "  quiet  ", "quiet"),
    ("profile", "temperature", "", None),
    ("preset", "model_id", "google/gemma-3-1b-it", "google/gemma-3-1b-it"),
    ("preset", "model_id", "gpt2", "gpt2"),
    ("preset", "size_gb", "4.9", 4.9),
    ("preset", "avg_tokens_per_sec_measured", "yes", True),
    ("preset", "overrides", "temperature=0.6, top_k=20", {"temperature": 0.6, "top_k": 20}),
    ("preset", "overrides", "{ device = cuda }", {"device": "cuda"}),
]


@pytest.mark.parametrize(("kind", "field", "text", "message"), REJECTED)
def test_every_rule_rejects_with_field_and_rule(
    kind: str, field: str, text: str, message: str
) -> None:
    with pytest.raises(FieldError) as info:
        parse_field(kind, field, text, name="x")  # type: ignore[arg-type]
    assert message in str(info.value)
    assert info.value.field == field
    where = "defaults" if kind == "defaults" else f".x.{field}"
    assert where in str(info.value).split(":")[0]
    assert "\n" not in str(info.value)
    assert validate_field(kind, field, text) == info.value.problem  # type: ignore[arg-type]


@pytest.mark.parametrize(("kind", "field", "text", "value"), ACCEPTED)
def test_valid_text_is_converted(kind: str, field: str, text: str, value: Any) -> None:
    assert parse_field(kind, field, text) == value  # type: ignore[arg-type]
    assert validate_field(kind, field, text) is None  # type: ignore[arg-type]


def test_unknown_field_lists_the_valid_ones() -> None:
    with pytest.raises(
        FieldError,
        match=r"performance_profiles\.fast\.colour: unknown field; "
        r"valid: max_tokens, temperature",
    ):
        parse_field("profile", "colour", "1", name="fast")


def test_typed_values_are_checked_strictly() -> None:
    check_value("profile", "temperature", 1)  # an int is a fine float
    for field, value in [
        ("max_tokens", "512"),
        ("max_tokens", 512.0),
        ("device", 1),
        ("temperature", True),
    ]:
        with pytest.raises(FieldError):
            check_value("profile", field, value)


def test_preset_needs_model_id_or_weights_and_measured_needs_a_speed() -> None:
    with pytest.raises(ValueError, match="set model_id"):
        ModelPreset(name="m")
    with pytest.raises(ValueError, match="needs avg_tokens_per_sec"):
        ModelPreset(name="m", weights="/x", avg_tokens_per_sec_measured=True)
    ModelPreset(name="m", weights="/x", avg_tokens_per_sec=12.5, avg_tokens_per_sec_measured=True)


@pytest.mark.parametrize("kind", ["profile", "preset", "defaults"])
def test_every_field_has_help_from_its_docstring(kind: str) -> None:
    specs = field_specs(kind)  # type: ignore[arg-type]
    for name, spec in specs.items():
        assert spec.help and spec.help == field_help(kind, name)  # type: ignore[arg-type]
        assert spec.rule
    assert field_help("profile", "temperature").startswith("Sampling temperature")


def test_field_specs_describe_the_form() -> None:
    specs = field_specs("profile")
    assert next(iter(specs)) == "name" and not specs["name"].optional
    assert specs["device"].kind == "choice" and specs["device"].choices == ("cpu", "cuda", "auto")
    assert specs["max_tokens"].kind == "int" and specs["max_tokens"].default == 1024
    assert field_specs("preset")["overrides"].kind == "table"


# ------------------------------------------------------------------------------ layers


def _hardware(ram_gb: float, cores: int, gpus: tuple[GpuInfo, ...] = ()) -> HardwareInfo:
    from core.hardware import recommend

    cpu = CpuInfo("cpu", cores, cores * 2, None, None, "x86_64")
    memory = MemoryInfo(int(ram_gb * GIB), int(ram_gb * GIB * 0.8), 0, 0)
    return HardwareInfo(
        cpu=cpu,
        memory=memory,
        disk=DiskInfo("/", None, None),
        os=OsInfo("Linux", "6", "test", "3.11"),
        gpus=gpus,
        gpu_reason=None,
        sensors=(),
        recommendations=recommend(cpu, memory, gpus),
    )


@pytest.mark.parametrize(
    ("ram_gb", "cores", "profile"),
    [
        (64, 16, "quality"),
        (32, 8, "quality"),
        (32, 4, "balanced"),
        (16, 2, "balanced"),
        (15.9, 16, "fast"),
        (8, 4, "fast"),
    ],
)
def test_recommended_profile(ram_gb: float, cores: int, profile: str) -> None:
    assert recommended_profile(_hardware(ram_gb, cores)) == profile


def test_recommended_profile_of_this_machine_needs_no_gpu_query() -> None:
    assert recommended_profile() in ("fast", "balanced", "quality")


def test_layers_in_order_with_provenance() -> None:
    h100 = GpuInfo(0, "H100", compute_capability="9.0", vram_free_bytes=80 * GIB)
    hardware = _hardware(64, 16, (h100,))
    assert capabilities(hardware) == ("cuda", "cuda-bf16")
    profile = PerformanceProfile(name="fast", max_tokens=256, context_length=65536, top_k=8)
    preset = ModelPreset(
        name="g",
        model_id="google/gemma-3-1b-it",
        context_length=32768,
        overrides={"temperature": 0.7, "top_k": 32},
    )
    rows = {
        s.key: s
        for s in effective_settings(
            profile, preset=preset, architecture="gemma3", hardware=hardware
        )
    }
    assert (rows["max_tokens"].value, rows["max_tokens"].layer) == (256, "profile: fast")
    assert (rows["temperature"].value, rows["temperature"].layer) == (0.7, "model: g")
    assert rows["temperature"].overridden == (("base", 0.8), ("architecture: gemma3", 1.0))
    assert (rows["top_k"].value, rows["top_k"].layer) == (8, "profile: fast")
    assert (rows["top_p"].value, rows["top_p"].layer) == (0.95, "architecture: gemma3")
    assert (rows["device"].value, rows["device"].layer) == ("cuda", "capability: cuda")
    assert (rows["dtype"].value, rows["dtype"].layer) == ("bfloat16", "capability: cuda-bf16")
    assert rows["threads"].layer == "capability: cores" and rows["threads"].value == 14
    assert (rows["context_length"].value, rows["context_length"].layer) == (32768, "model limit: g")
    assert (rows["repetition_penalty"].value, rows["repetition_penalty"].layer) == (1.0, "base")


def test_cpu_only_and_old_gpus() -> None:
    assert capabilities(None) == ()
    assert capabilities(_hardware(8, 4)) == ("cpu-only",)
    t4 = GpuInfo(0, "T4", compute_capability="7.5")
    assert capabilities(_hardware(8, 4, (t4,))) == ("cuda",)
    rows = {s.key: s for s in effective_settings(None, hardware=_hardware(8, 4))}
    assert (rows["device"].value, rows["dtype"].value) == ("cpu", "float32")


def test_profile_without_explicit_fields_lets_every_layer_through() -> None:
    rows = effective_settings(PerformanceProfile(name="empty"), architecture="qwen3")
    layers = {s.key: s.layer for s in rows}
    assert layers["temperature"] == "architecture: qwen3"
    assert layers["max_tokens"] == "base"


def test_architecture_from_config_then_name(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "gemma3_text"}')
    (folder / "model.safetensors").write_bytes(b"")
    assert architecture_of(ModelPreset(name="x", weights=str(folder))) == "gemma3"
    assert architecture_of(ModelPreset(name="x", weights=str(folder / "model.safetensors"))) == (
        "gemma3"
    )
    (folder / "config.json").write_text('{"model_type": "mistral"}')
    assert architecture_of(ModelPreset(name="x", weights=str(folder))) == "mistral"
    assert architecture_of(ModelPreset(name="x", model_id="Qwen/Qwen3-8B")) == "qwen3"
    assert architecture_of(ModelPreset(name="x", weights="/m/Llama-3.1-8B.Q4.gguf")) == "llama"
    assert architecture_of(ModelPreset(name="x", weights="/m/unknown.gguf")) is None
