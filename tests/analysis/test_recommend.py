"""Recommendations: the task mapping, constraints, the registry's tier fall-back, the score."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from functools import cache
from typing import Any

import pytest

from core.analysis.analyze import analyze
from core.analysis.hardware_profiles import profile_for
from core.analysis.recommend import (
    DEFAULT_REGISTRY,
    TASK_TYPES,
    TIER_NAMES,
    Constraints,
    Preferences,
    capability_registry,
    find_words,
    hardware_advice,
    interpret,
    pick_with_fallback,
    recommend_models,
    score_weights,
    task_type,
)
from core.catalog.embedded import get, load_catalog
from core.catalog.rows import AnalysisSettings, ModelRow, analyze_entry, catalog_rows
from core.errors import AnalysisError
from core.hardware import (
    SIZE_TIERS,
    inference_threads,
    max_params_for_memory,
    performance_profile,
    recommend,
    size_tier,
    size_tier_for_memory,
)
from core.hwinfo import CpuInfo, DiskInfo, HardwareInfo, MemoryInfo, OsInfo

GIB = 1024**3


@cache
def rows_on(hardware: str, precision: str = "bf16") -> tuple[ModelRow, ...]:
    return tuple(catalog_rows(load_catalog(), AnalysisSettings(profile_for(hardware), precision)))


def advice(hardware: str, precision: str = "bf16") -> Any:
    return hardware_advice(profile_for(hardware), precision)


def synthetic(model_id: str, params: int, hardware: str = "RTX 4090", **kw: Any) -> ModelRow:
    analysis = analyze(
        None,
        params,
        params,
        name=model_id,
        hardware=profile_for(hardware),
        architecture_class="decoder-only",
    )
    fields: dict[str, Any] = {
        "id": model_id,
        "source": "hub",
        "task": "text-generation",
        "kind": "llm",
        "family": None,
        "licence": "mit",
        "downloads": None,
        "likes": None,
        "params_total": params,
        "params_method": "test",
        "analysis": analysis,
        "error": None,
    }
    fields.update(kw)
    return ModelRow(**fields)


def mean(values: Iterable[float | None]) -> float:
    known = [v for v in values if v is not None]
    return sum(known) / len(known)


# --- words and task types ----------------------------------------------------------------------


def test_find_words_prefix_plural_phrase_and_boundaries() -> None:
    assert find_words("Summarising notes", ["summar*"]) == [(0, "summarising")]
    assert find_words("two emails", ["email"]) == [(4, "emails")]
    assert find_words("a low-power box", ["low power"]) == [(2, "low-power")]
    assert find_words("research", ["search*"]) == []  # whole words only
    assert find_words("my task list", ["ask"]) == []
    assert find_words("javascript", ["java"]) == []
    assert find_words("Q&A bot", ["q&a"]) == [(0, "q&a")]


@pytest.mark.parametrize(
    ("text", "task"),
    [
        ("summarise long PDFs", "summarisation"),
        ("Summarize meeting transcripts' key points", "summarisation"),
        ("a chat assistant for my team", "chat"),
        ("answer questions in a helpdesk", "chat"),
        ("help me write Python code", "chat"),  # "write" comes first in the text
        ("autocomplete for Rust programming", "code"),
        ("semantic search over my notes", "embeddings"),
        ("embeddings for RAG", "embeddings"),
        ("classify support tickets by sentiment", "classification"),
        ("translate manuals into German", "translation"),
        ("transcribe podcasts", "speech-recognition"),
        ("voice dictation", "speech-recognition"),
        ("detect objects in camera images", "vision"),
        ("caption photos", "vision"),
    ],
)
def test_text_maps_to_task_type(text: str, task: str) -> None:
    assert interpret(text).tasks[0].task.name == task


def test_several_tasks_in_text_order() -> None:
    request = interpret("transcribe the call, then summarise it and translate the summary")
    assert [m.task.name for m in request.tasks] == [
        "speech-recognition",
        "summarisation",
        "translation",
    ]
    assert request.tasks[1].words == ("summarise",)  # first hit of each keyword
    assert not request.assumed


def test_no_task_word_assumes_chat() -> None:
    request = interpret("hello there")
    assert request.assumed
    assert [m.task.name for m in request.tasks] == ["chat"]
    assert request.tasks[0].words == ()


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_text_is_an_error(text: str) -> None:
    with pytest.raises(AnalysisError, match="describe the task"):
        interpret(text)


@pytest.mark.parametrize(
    ("text", "thermal", "speed", "quality"),
    [
        ("summarise quietly", True, False, False),
        ("a silent fanless box", True, False, False),
        ("keep it cool", True, False, False),
        ("on battery, low-power", True, False, False),
        ("fast chat", False, True, False),
        ("real-time transcription", False, True, False),
        ("the best, most accurate translation", False, False, True),
        ("quick and quiet", True, True, False),
        ("chat", False, False, False),
    ],
)
def test_preference_words(text: str, thermal: bool, speed: bool, quality: bool) -> None:
    prefs = interpret(text).preferences
    assert (prefs.thermal, prefs.speed, prefs.quality) == (thermal, speed, quality)
    assert prefs.max_thermal_class == ("medium" if thermal else None)
    assert bool(prefs.words) == (thermal or speed or quality)


def test_task_type_names_and_aliases() -> None:
    assert task_type("Summarization").name == "summarisation"
    assert task_type("asr").name == "speech-recognition"
    assert task_type("retrieval").name == "embeddings"
    with pytest.raises(AnalysisError, match="valid: summarisation"):
        task_type("poetry")


def test_every_task_type_is_served_by_the_catalog() -> None:
    rows = rows_on("H100 SXM 80GB")
    for task in TASK_TYPES:
        assert any(task.serves(r) for r in rows), task.name


def test_embeddings_need_an_embedding_model() -> None:
    embeddings = task_type("embeddings")
    bart = analyze_entry(get("facebook/bart-base"), AnalysisSettings(profile_for("RTX 4090")))
    assert bart.task == "feature-extraction" and bart.kind == "seq2seq"
    assert not embeddings.serves(bart)


# --- hardware tiers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "tier"),
    [
        (135_000_000, "small"),
        (4_020_000_000, "small"),  # a "4B" model
        (4_400_000_000, "small"),
        (4_500_000_000, "medium"),
        (14_770_000_000, "medium"),  # a "14B" model
        (32_760_000_000, "large"),  # a "32B" model
        (72_700_000_000, "xlarge"),
        (88_000_000_000, "xlarge"),
        (88_100_000_000, None),
        (405_000_000_000, None),
    ],
)
def test_size_tier(params: int, tier: str | None) -> None:
    assert size_tier(params) == tier


def test_size_tiers_are_the_issue_s() -> None:
    assert [(n, limit / 1e9) for n, limit in SIZE_TIERS] == [
        ("small", 4),
        ("medium", 14),
        ("large", 32),
        ("xlarge", 80),
    ]


@pytest.mark.parametrize(
    ("memory_gb", "bytes_per_param", "tier"),
    [
        (4, 2.0, "small"),
        (8, 2.0, "small"),  # 3.3B at bf16
        (12, 2.0, "medium"),  # 5B at bf16: a medium pick may still need the fall-back
        (24, 2.0, "medium"),
        (80, 2.0, "large"),
        (160, 2.0, "xlarge"),
        (16, 0.5, "large"),
        (24, 0.5, "xlarge"),
        (1000, 0.5, "xlarge"),
        (0, 2.0, "small"),
    ],
)
def test_size_tier_for_memory(memory_gb: float, bytes_per_param: float, tier: str) -> None:
    assert size_tier_for_memory(int(memory_gb * 1e9), bytes_per_param) == tier


def test_max_params_for_memory() -> None:
    assert max_params_for_memory(24_000_000_000, 2.0) == 10_000_000_000
    assert max_params_for_memory(-5, 2.0) == 0
    with pytest.raises(ValueError):
        max_params_for_memory(10, 0)


@pytest.mark.parametrize(
    ("ram_gb", "cores", "profile"),
    [(64, 16, "quality"), (32, 8, "quality"), (32, 6, "balanced"), (16, 2, "balanced"),
     (15, 16, "fast"), (64, None, "quality"), (20, None, "balanced"), (8, None, "fast")],
)  # fmt: skip
def test_performance_profile(ram_gb: int, cores: int | None, profile: str) -> None:
    name, why = performance_profile(ram_gb * GIB, cores)
    assert name == profile
    assert profile in why


@pytest.mark.parametrize(("cores", "threads"), [(1, 1), (2, 1), (8, 7), (9, 7), (32, 30)])
def test_inference_threads(cores: int, threads: int) -> None:
    assert inference_threads(cores)[0] == threads


def test_hardware_advice_for_a_what_if_device() -> None:
    a = advice("RTX 4090")
    assert (a.size_tier, a.profile, a.threads, a.batch_size) == ("medium", "balanced", None, 8)
    assert a.max_params == pytest.approx(25.77e9 / 2.4, rel=0.01)
    assert "medium tier" in a.reasons[0]
    assert advice("RTX 4090", "int8").size_tier == "large"
    laptop = advice("Apple M1 8 GB")
    assert (laptop.size_tier, laptop.profile, laptop.context_length) == ("small", "fast", 2048)
    assert json.loads(json.dumps(a.to_json()))["size_tier"] == "medium"


def test_hardware_advice_for_this_machine_reuses_recommend() -> None:
    cpu = CpuInfo("test CPU", 12, 24, 3000.0, 4000.0, "x86_64")
    memory = MemoryInfo(64 * GIB, 48 * GIB, 0, 0)
    info = HardwareInfo(
        cpu=cpu,
        memory=memory,
        disk=DiskInfo("/", None, None),
        os=OsInfo("Linux", "6", "test", "3.11"),
        gpus=(),
        gpu_reason="none",
        sensors=(),
        recommendations=recommend(cpu, memory, ()),
    )
    a = hardware_advice(profile_for("Desktop CPU (8 cores, DDR5-5600 dual channel)"), info=info)
    assert (a.profile, a.threads, a.context_length, a.batch_size) == ("quality", 10, 8192, 4)
    assert any("10 threads" in r for r in a.reasons)


# --- registry ----------------------------------------------------------------------------------


def test_default_registry_names_real_catalog_models_in_their_tier() -> None:
    settings = AnalysisSettings(profile_for("H200 SXM 141GB"))
    for task_name, tiers in DEFAULT_REGISTRY.items():
        task = task_type(task_name)
        assert set(tiers) <= set(TIER_NAMES)
        for tier, model in tiers.items():
            entry = get(model)  # raises for an id the catalog lacks
            assert entry.repo_id == model
            row = analyze_entry(entry, settings)
            assert task.serves(row), f"{model} does not serve {task_name}"
            assert entry.params_total is not None
            assert size_tier(entry.params_total) == tier, model
    assert set(DEFAULT_REGISTRY) == {t.name for t in TASK_TYPES}


def test_registry_overrides() -> None:
    reg = capability_registry(
        {
            "Summarization": {"small": "sshleifer/distilbart-cnn-12-6", "xlarge": None},
            "vision": {"xlarge": "acme/vision-70b"},
        }
    )
    assert reg["summarisation"]["small"] == "sshleifer/distilbart-cnn-12-6"
    assert "xlarge" not in reg["summarisation"]
    assert reg["vision"]["xlarge"] == "acme/vision-70b"
    assert reg["chat"] == dict(DEFAULT_REGISTRY["chat"])
    assert DEFAULT_REGISTRY["summarisation"]["xlarge"]  # the default is untouched


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"poetry": {"small": "a/b"}}, "unknown task type"),
        ({"chat": {"huge": "a/b"}}, "unknown size tier"),
        ({"chat": {"small": 5}}, "must be a string"),
        ({"chat": "a/b"}, "must map tiers"),
    ],
)
def test_bad_registry_overrides(overrides: Any, message: str) -> None:
    with pytest.raises(AnalysisError, match=message):
        capability_registry(overrides)


def _serving(task_name: str, rows: tuple[ModelRow, ...]) -> dict[str, ModelRow]:
    task = task_type(task_name)
    return {r.id.casefold(): r for r in rows if task.serves(r)}


def test_pick_starts_at_the_hardware_tier() -> None:
    rows = rows_on("H100 SXM 80GB")
    pick = pick_with_fallback(
        task_type("chat"), "large", DEFAULT_REGISTRY, _serving("chat", rows), Constraints()
    )
    assert (pick.tier, pick.id) == ("large", DEFAULT_REGISTRY["chat"]["large"])
    assert pick.steps == (f"chat/large: {pick.id}",)


def test_pick_falls_back_when_the_hardware_rules_it_out() -> None:
    rows = rows_on("H200 SXM 141GB")  # 151 GB: Llama 3.3 70B at bf16 (157 GB) does not fit
    pick = pick_with_fallback(
        task_type("chat"), "xlarge", DEFAULT_REGISTRY, _serving("chat", rows), Constraints()
    )
    assert pick.wanted_tier == "xlarge"
    assert pick.tier == "large"
    assert "does not fit" in pick.steps[0]


def test_pick_falls_back_when_a_requirement_rules_it_out() -> None:
    rows = rows_on("H100 SXM 80GB")
    limits = Constraints(licences=("mit",))
    pick = pick_with_fallback(
        task_type("chat"), "large", DEFAULT_REGISTRY, _serving("chat", rows), limits
    )
    assert pick.id is None and pick.tier is None  # every chat pick is Apache or Llama
    assert all("licence" in step for step in pick.steps)
    code = pick_with_fallback(
        task_type("code"),
        "large",
        DEFAULT_REGISTRY,
        _serving("code", rows),
        Constraints(max_params=10_000_000_000),
    )
    assert (code.tier, code.id) == ("medium", "Qwen/Qwen2.5-Coder-7B-Instruct")


def test_pick_skips_missing_tiers_and_unknown_ids() -> None:
    rows = rows_on("H100 SXM 80GB")
    registry = capability_registry({"classification": {"large": "acme/not-loaded"}})
    pick = pick_with_fallback(
        task_type("classification"),
        "xlarge",
        registry,
        _serving("classification", rows),
        Constraints(),
    )
    assert pick.steps[:3] == (
        "classification/xlarge: no registry pick",
        "classification/large: acme/not-loaded is not among the candidates",
        "classification/medium: no registry pick",
    )
    assert pick.id == "facebook/bart-large-mnli"


# --- constraints -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_thermal_class": "hot"}, "unknown thermal class 'hot'"),
        ({"max_watts": -5.0}, "maximum watts"),
        ({"max_watts": 0.0}, "maximum watts"),
        ({"max_watts": float("nan")}, "maximum watts"),
        ({"min_tokens_per_s": -1.0}, "minimum tokens/s"),
        ({"max_params": 0}, "maximum parameters"),
    ],
)
def test_bad_constraints(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(AnalysisError, match=message):
        Constraints(**kwargs)


def test_each_constraint_rules_out() -> None:
    row = synthetic("a/model-8b", 8_000_000_000)  # on an RTX 4090: fits, ~238 W, very-high
    assert Constraints().violation(row) is None
    assert "parameters > maximum" in (Constraints(max_params=7 * 10**9).violation(row) or "")
    assert "W > maximum 100 W" in (Constraints(max_watts=100).violation(row) or "")
    assert "above maximum high" in (Constraints(max_thermal_class="high").violation(row) or "")
    assert "< minimum 500" in (Constraints(min_tokens_per_s=500).violation(row) or "")
    assert "licence mit not in" in (Constraints(licences=("apache-2.0",)).violation(row) or "")
    big = synthetic("a/model-70b", 70_000_000_000)
    assert Constraints().violation(big) is None  # without "fits" a model too big stays
    assert "does not fit" in (Constraints(fits=True).violation(big) or "")
    broken = replace(row, analysis=None, error="cannot analyse: x")
    assert Constraints().violation(broken) == "cannot analyse: x"


def test_licence_matching() -> None:
    qwen = synthetic("a/x", 10**9, licence="other (qwen-research)")
    assert Constraints(licences=("qwen-research",)).violation(qwen) is None
    assert Constraints(licences=(" Other ",)).violation(qwen) is None
    assert Constraints(licences=("MIT", "apache-2.0")).violation(synthetic("a/y", 10**9)) is None
    unknown = synthetic("a/z", 10**9, licence=None)
    assert "licence unknown" in (Constraints(licences=("mit",)).violation(unknown) or "")


def test_min_speed_reads_forward_pass_for_non_generating_tasks() -> None:
    row = synthetic("a/x", 8_000_000_000)
    limits = Constraints(min_tokens_per_s=1000)
    assert limits.violation(row) is not None  # ~40 decode tok/s
    assert limits.violation(row, generates=False) is None  # thousands of forward-pass tok/s


# --- score and ranking -------------------------------------------------------------------------


def test_score_weights() -> None:
    plain = score_weights(None, Preferences())
    assert (plain.quality, plain.speed, plain.thermal) == (0.4, 0.3, 0.3)
    assert score_weights("quality", Preferences()).quality == 0.5
    assert score_weights("fast", Preferences()).speed == 0.4
    quiet = score_weights("balanced", Preferences(thermal=True))
    assert quiet.thermal > plain.thermal and quiet.basis.endswith("thermal words")
    fast = score_weights("balanced", Preferences(speed=True))
    assert fast.speed > plain.speed
    assert quiet.quality + quiet.speed + quiet.thermal == pytest.approx(1.0)


def test_results_are_ranked_by_score_with_reasons() -> None:
    result = recommend_models(
        "a chat assistant", rows_on("RTX 4090"), hardware=advice("RTX 4090"), limit=10
    )
    scores = [r.score for r in result.results]
    assert scores == sorted(scores, reverse=True)
    assert [r.rank for r in result.results] == list(range(1, 11))
    assert result.total > 10
    top = result.results[0]
    assert top.id == DEFAULT_REGISTRY["chat"]["medium"] and top.registry_pick
    assert top.reasons[0].startswith("rank 1 of")
    assert any(r.startswith("registry pick for chat") for r in top.reasons)
    assert result.results[1].reasons[0].startswith("rank 2 of")
    assert all(r.task == "chat" for r in result.results)
    assert all(r.reasons and r.reasons[1].startswith("quality") for r in result.results)


def test_models_that_do_not_fit_rank_last_or_go() -> None:
    rows = rows_on("RTX 4090")
    loose = recommend_models("chat", rows, hardware=advice("RTX 4090"))
    levels = [r.row.analysis.fit.level for r in loose.results if r.row.analysis]
    first_too_tight = levels.index("too-tight")
    assert "too-tight" not in levels[:first_too_tight]
    assert set(levels[first_too_tight:]) == {"too-tight"}
    strict = recommend_models(
        "chat", rows, hardware=advice("RTX 4090"), constraints=Constraints(fits=True)
    )
    assert strict.results and all(
        r.row.analysis and r.row.analysis.fit.level != "too-tight" for r in strict.results
    )
    assert any("does not fit" in e.reason for e in strict.excluded)


def test_thermal_words_favour_lower_energy_per_token() -> None:
    rows = rows_on("RTX 4090")
    hw = advice("RTX 4090")
    plain = recommend_models("summarise reports", rows, hardware=hw, limit=5)
    quiet = recommend_models("summarise reports quietly", rows, hardware=hw, limit=5)
    assert mean(r.joules_per_token for r in quiet.results) <= mean(
        r.joules_per_token for r in plain.results
    )
    assert quiet.weights.thermal > plain.weights.thermal
    assert any("above the medium" in reason for reason in quiet.results[0].reasons)
    assert any("joules per token" in note for note in quiet.notes)


def test_speed_words_favour_faster_models() -> None:
    rows = rows_on("Laptop CPU (8 cores, LPDDR5-6400)")
    hw = advice("Laptop CPU (8 cores, LPDDR5-6400)")
    plain = recommend_models("chat about recipes", rows, hardware=hw, limit=5)
    fast = recommend_models("fast chat about recipes", rows, hardware=hw, limit=5)
    assert mean(r.tokens_per_s for r in fast.results) >= mean(r.tokens_per_s for r in plain.results)


def test_speed_words_rule_out_models_slower_than_reading_at_the_top() -> None:
    """On a 2-core CPU an 8B decodes ~3 tok/s: its size outranked every faster model for "fast
    chat" while its speed scored 0; now it carries a penalty and the top picks keep up with a
    reader. Without speed words nothing changes."""
    name = "Laptop CPU (8 cores, LPDDR5-6400)"
    rows, hw = rows_on(name), advice(name)
    fast = recommend_models("fast chat", rows, hardware=hw, limit=len(rows))
    slow = [r for r in fast.results if r.tokens_per_s is not None and r.tokens_per_s < 5]
    assert slow, "the scenario needs models under reading speed on this hardware"
    assert all(any("slower than reading" in reason for reason in r.reasons) for r in slow)
    assert all(r.tokens_per_s is not None and r.tokens_per_s >= 5 for r in fast.results[:5])
    plain = recommend_models("chat", rows, hardware=hw, limit=len(rows))
    assert not any("slower than reading" in reason for r in plain.results for reason in r.reasons)


def test_tiny_language_models_are_penalised_but_specialists_are_not() -> None:
    rows = rows_on("Laptop CPU (8 cores, LPDDR5-6400)")
    result = recommend_models(
        "summarise articles", rows, hardware=advice("Laptop CPU (8 cores, LPDDR5-6400)")
    )
    by_id = {r.id: r for r in result.results}
    gpt2 = by_id["openai-community/gpt2"]
    assert any("too small to rely on" in reason for reason in gpt2.reasons)
    bart = by_id["facebook/bart-large-cnn"]
    assert not any("too small" in reason for reason in bart.reasons)
    assert bart.rank < gpt2.rank


def test_registry_fall_back_changes_the_top_pick() -> None:
    big = recommend_models("chat", rows_on("H100 SXM 80GB"), hardware=advice("H100 SXM 80GB"))
    small = recommend_models("chat", rows_on("Apple M1 16 GB"), hardware=advice("Apple M1 16 GB"))
    assert big.picks[0].tier == "large"
    assert small.picks[0].tier == "small"
    assert small.picks[0].id == DEFAULT_REGISTRY["chat"]["small"]


def test_constraints_filter_every_result() -> None:
    limits = Constraints(
        max_watts=300, max_thermal_class="very-high", min_tokens_per_s=50, max_params=5 * 10**9
    )
    result = recommend_models(
        "code completion", rows_on("RTX 4090"), hardware=advice("RTX 4090"), constraints=limits
    )
    assert result.results
    for r in result.results:
        a = r.row.analysis
        assert a is not None
        assert a.estimates.power_w is not None and a.estimates.power_w <= 300
        assert (r.tokens_per_s or 0) >= 50
        assert a.params_total <= 5 * 10**9
    assert result.picks[0].wanted_tier == "medium"  # 5B caps the start at medium


def test_nothing_passes() -> None:
    result = recommend_models(
        "chat", rows_on("RTX 4090"), constraints=Constraints(max_watts=1), limit=5
    )
    assert result.results == () and result.total == 0
    assert result.picks[0].id is None
    assert any(
        note.startswith("no chat model passes the constraints (e.g.") for note in result.notes
    )


def test_no_fitting_pick_suggests_a_lower_precision() -> None:
    result = recommend_models("chat", rows_on("Apple M1 8 GB"), hardware=advice("Apple M1 8 GB"))
    assert result.picks[0].id is None
    assert any("lower precision" in note for note in result.notes)


def test_duplicates_limit_and_extra_rows() -> None:
    rows = (*rows_on("RTX 4090"), synthetic("acme/chat-7b-instruct", 7_000_000_000))
    result = recommend_models("chat", (*rows, *rows), hardware=advice("RTX 4090"))
    ids = [r.id for r in result.results]
    assert len(ids) == len(set(ids))
    assert "acme/chat-7b-instruct" in ids  # a Hub row takes part like a catalog row
    assert len(recommend_models("chat", rows, limit=3).results) == 3
    assert recommend_models("chat", rows, limit=0).results == ()
    with pytest.raises(AnalysisError):
        recommend_models("chat", rows, limit=-1)


def test_a_registry_override_is_used() -> None:
    reg = capability_registry({"chat": {"medium": "meta-llama/Llama-3.1-8B-Instruct"}})
    result = recommend_models(
        "chat", rows_on("RTX 4090"), hardware=advice("RTX 4090"), registry=reg, limit=1
    )
    assert result.results[0].id == "meta-llama/Llama-3.1-8B-Instruct"


def test_multi_task_results_and_json() -> None:
    result = recommend_models(
        "transcribe meetings and summarise them quietly",
        rows_on("RTX 4090"),
        hardware=advice("RTX 4090"),
        limit=20,
    )
    assert {r.task for r in result.results} == {"speech-recognition", "summarisation"}
    assert [p.task for p in result.picks] == ["speech-recognition", "summarisation"]
    data = json.loads(json.dumps(result.to_json()))
    assert data["tasks"][0]["task"] == "speech-recognition"
    assert data["preferences"]["thermal"] is True
    item = data["results"][0]
    for key in ("rank", "id", "score", "task", "reasons", "tier", "thermal_class", "fits"):
        assert key in item
    assert data["hardware"]["size_tier"] == "medium"
    assert data["constraints"]["fits"] is False
