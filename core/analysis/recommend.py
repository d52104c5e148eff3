"""Thermal-aware model recommendations for a task described in words.

:func:`recommend_models` turns ``"summarise meeting notes quietly on my laptop"`` into a ranked
list of analysed models (:class:`~core.catalog.rows.ModelRow`), each with the reasons for its
place. Four steps, all pure:

**1. Task types** (:func:`interpret`). Each :class:`TaskType` of :data:`TASK_TYPES` lists its
keywords, the Hub pipeline tags that serve it, optionally the model kinds it needs, and
"preferred" name tokens (instruction-tuned, code-specialised ...). A keyword matches a whole
word; ``*`` marks a prefix (``summar*``: summary, summarise, summarize); a plain word also
matches its plural. Phrases match across spaces or hyphens (``low power``/``low-power``).

=====================  ==========================================================================
task type              keywords (abridged: see :data:`TASK_TYPES`) → pipeline tags
=====================  ==========================================================================
summarisation          summar*, tl;dr, digest*, condens*, recap*, key points → summarization,
                       text2text-generation, text-generation
chat                   chat*, assistant*, conversation*, dialog*, question*, answer*, writ* →
                       text-generation, image-text-to-text
code                   code, coding, coder*, program*, python, sql, debug*, refactor* →
                       text-generation
embeddings             embed*, retriev*, search*, semantic search, rag, vector*, similar* →
                       feature-extraction, sentence-similarity (embedding models only)
classification         classif*, categor*, sentiment*, label*, spam, intent*, moderat* →
                       text-classification, zero-shot-classification, token-classification,
                       fill-mask (an encoder to fine-tune)
translation            translat*, localis*, localiz* → translation, text2text-generation,
                       text-generation
speech-recognition     transcri*, speech, voice*, audio, dictat*, asr, subtitl* →
                       automatic-speech-recognition
vision                 image*, photo*, picture*, vision, visual*, camera*, screenshot*, ocr →
                       image-classification, object-detection, image-text-to-text ...
=====================  ==========================================================================

Several task types may match (they are kept in the order the text mentions them); none → chat
is assumed (and said). Extend by passing your own ``tasks``.

**Preference words** (:data:`PREFERENCE_WORDS`), matched the same way; negation is not read
("not fast" still counts as fast):

- thermal — quiet*, silent*, silence, noiseless, cool, cooler, coolest, cold, fanless, fan,
  fans, heat*, overheat*, thermal*, throttl*, low power, low heat, low noise, battery,
  efficient*: the thermal weight rises by 0.25 and each thermal class above ``medium`` costs
  0.05 (soft: on a GPU every model may be ``very-high``; :class:`Constraints` is the hard limit);
- speed — fast*, quick*, speed*, rapid*, real time, realtime, latency, low latency,
  responsive*, snappy, instant*, interactive: the speed weight rises by 0.25;
- quality — best, accura*, quality, precise*, smart*, capable, powerful: the quality weight
  rises by 0.25.

**2. Hard constraints** (:class:`Constraints`): fits the hardware (not ``too-tight``), maximum
watts, maximum thermal class, minimum tokens/s, allowed licences, maximum parameters. A model
with an unknown value for a constrained quantity is ruled out too; every ruled-out model is
listed in :attr:`RecommendationSet.excluded` with the reason.

**3. Score** (higher is better)::

    score = w_q × quality + w_s × speed + w_t × (1 − thermal cost) + bonus − penalty

- *quality* 0..1: ln(parameters) placed between the task's smallest candidate (but at least
  1B for chat, code, summarisation and translation: smaller language models score 0) and its
  largest, capped at the most parameters the hardware holds (above which it is 1) — bigger is
  the proxy for better, within what this machine can hold;
- *speed* 0..1: for generating tasks (chat, code, summarisation, translation, speech
  recognition) ln(decode tokens/s) placed between 5 (0: slower than reading) and 100 (1: more
  is not felt); for the others (embeddings, classification, vision) ln(forward-pass tokens/s)
  placed between the task's slowest and fastest candidates;
- *thermal cost* 0..1: half the thermal class (low 0, medium ⅓, high ⅔, very-high 1), half
  ln(joules per token, of the same speed) placed between the task's most and least efficient
  candidates — on one device every model draws similar watts, so energy per token is what
  separates them;
- unknown values score a neutral 0.5;
- *weights*: by the machine's performance profile — quality (0.50, 0.25, 0.25), balanced
  (0.40, 0.30, 0.30), fast (0.30, 0.40, 0.30) for (w_q, w_s, w_t); balanced without hardware
  advice — plus 0.25 per preference, then scaled to sum to 1;
- *bonus*: +0.10 for the capability registry's pick for the task (after fall-back), +0.05 for a
  preferred name token (``instruct``, ``it``, ``chat``, ``coder`` ...);
- *penalty*: −0.05 for a tight fit, −0.50 when it does not fit (only without the ``fits``
  constraint, which removes it instead; such models also rank after every model that fits),
  −0.05 per thermal class above a word-derived maximum, −0.25 for a generating model slower
  than reading (under 5 decode tok/s) when the words ask for speed (its speed already scores
  0, so without this the size of an 8B at 3 tok/s outranked a 3B at 8 tok/s for "fast chat"),
  −0.25 for a general language model
  (``text-generation``, ``text2text-generation``, ``image-text-to-text``) under the task's
  quality floor (an 82M GPT-2 is fast and cool, and no use as a coding assistant; a dedicated
  summarisation or translation model is exempt).

**4. Capability registry** (:data:`DEFAULT_REGISTRY`): a recommended catalog model per task
type and size tier (small ≤ 4B, medium ≤ 14B, large ≤ 32B, xlarge ≤ 80B parameters, nominal:
:data:`core.hardware.SIZE_TIERS`), replaceable from configuration with
:func:`capability_registry`. The pick starts at the hardware's tier (the tier of the largest
model whose weights fit the usable memory with 20 % headroom, :func:`hardware_advice`), or the
tier of ``max_params`` if lower, and falls back one tier at a time while the pick is missing,
does not fit, or breaks a constraint; :class:`RegistryPick` records each step.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from core.analysis.analyze import Analysis
from core.analysis.hardware_profiles import GIB, HardwareProfile
from core.analysis.precision import Precision, parse_precision
from core.analysis.thermal import THERMAL_CLASSES, ThermalClassName, name_tokens
from core.catalog.columns import THERMAL_ORDER, human_bytes, human_count
from core.catalog.rows import ModelRow
from core.errors import AnalysisError
from core.hardware import (
    PROFILE_SETTINGS,
    SIZE_TIERS,
    SizeTier,
    max_params_for_memory,
    performance_profile,
    size_tier,
    size_tier_for_memory,
)

if TYPE_CHECKING:
    from core.hwinfo import HardwareInfo

TIER_NAMES: tuple[SizeTier, ...] = tuple(name for name, _ in SIZE_TIERS)
"""Size tiers, smallest first."""
TIER_LIMITS: Mapping[SizeTier, int] = MappingProxyType(dict(SIZE_TIERS))
"""Nominal parameter limit of each tier."""

# Score constants (see the module docstring).
PROFILE_WEIGHTS: Mapping[str, tuple[float, float, float]] = MappingProxyType(
    {"quality": (0.50, 0.25, 0.25), "balanced": (0.40, 0.30, 0.30), "fast": (0.30, 0.40, 0.30)}
)
"""(quality, speed, thermal) weights per performance profile, before preferences."""
PREFERENCE_BOOST = 0.25
REGISTRY_BONUS = 0.10
PREFERRED_BONUS = 0.05
TIGHT_PENALTY = 0.05
TOO_TIGHT_PENALTY = 0.50
HOT_PENALTY_PER_CLASS = 0.05
SMALL_LM_PENALTY = 0.25
SLOW_PENALTY = 0.25
"""For a generating model under reading speed when the request asks for speed."""
GENERIC_LM_TAGS = frozenset({"text-generation", "text2text-generation", "image-text-to-text"})
"""Pipeline tags of general language models, which the quality floor's penalty applies to
(a dedicated ``summarization`` or ``translation`` model is exempt)."""
NEUTRAL = 0.5
DECODE_SPEED_RANGE = (5.0, 100.0)
"""Decode tok/s scored 0 at or below 5 (slower than reading) and 1 at or above 100 (faster than
anyone reads), ln-scaled between."""
QUIET_MAX_CLASS: ThermalClassName = "medium"
"""The maximum thermal class a thermal preference word asks for (softly)."""


# ---------------------------------------------------------------------------------------------
# Words


def _pattern(word: str) -> re.Pattern[str]:
    stem = word.rstrip("*")
    tail = r"[a-z0-9]*" if word.endswith("*") else r"(?:s|es)?"
    body = r"[\s-]+".join(re.escape(part) for part in stem.split())
    return re.compile(rf"(?<![a-z0-9]){body}{tail}(?![a-z0-9])")


def find_words(text: str, words: Sequence[str]) -> list[tuple[int, str]]:
    """``(position, matched text)`` for each of ``words`` found in ``text`` (first hit each).

    Example:
        >>> find_words("Summarize my notes, quickly", ["summar*", "quick*", "note"])
        [(0, 'summarize'), (20, 'quickly'), (13, 'notes')]
    """
    lowered = text.casefold()
    found: list[tuple[int, str]] = []
    for word in words:
        hit = _pattern(word).search(lowered)
        if hit is not None:
            found.append((hit.start(), hit.group(0)))
    return found


@dataclass(frozen=True)
class TaskType:
    """A kind of work, the words that name it and the models that serve it.

    Attributes:
        name: Stable name (``summarisation``, ``chat`` ...).
        label: Plain words.
        keywords: Words that select it (``*`` = prefix; see the module docstring).
        pipeline_tags: Hub pipeline tags of models that serve it.
        kinds: When set, a row's known kind must be one of these (embeddings need an embedding
            model, not any ``feature-extraction`` backbone).
        preferred: Name/family tokens of models made for it (bonus).
        aliases: Other names accepted in registry overrides.
        generates: True when the work is generating tokens (speed = decode tok/s); False when
            it is one forward pass per input (speed = forward-pass tok/s).
        quality_floor: Parameters below which the quality proxy is 0 (language models under
            1B rarely follow instructions well).
    """

    name: str
    label: str
    keywords: tuple[str, ...]
    pipeline_tags: tuple[str, ...]
    kinds: tuple[str, ...] = ()
    preferred: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    generates: bool = True
    quality_floor: int = 0

    def serves(self, row: ModelRow) -> bool:
        """True when ``row``'s pipeline tag (and kind, if restricted) fits this task."""
        if row.task not in self.pipeline_tags:
            return False
        return not self.kinds or row.kind is None or row.kind in self.kinds

    def preferred_token(self, row: ModelRow) -> str | None:
        """The first :attr:`preferred` token in the row's name or family, or None."""
        tokens = set(name_tokens(row.id)) | set(name_tokens(row.family or ""))
        return next((t for t in self.preferred if t in tokens), None)


_GENERATE = ("text-generation",)
LM_QUALITY_FLOOR = 1_000_000_000
"""Quality floor of the language-model tasks (chat, code, summarisation, translation)."""
TASK_TYPES: tuple[TaskType, ...] = (
    TaskType(
        "summarisation",
        "summarisation",
        ("summar*", "tl;dr", "tldr", "digest*", "condens*", "recap*", "key points",
         "shorten*", "synops*"),
        ("summarization", "text2text-generation", *_GENERATE),
        preferred=("cnn", "xsum", "samsum", "instruct", "it", "chat"),
        aliases=("summarization", "summary"),
        quality_floor=LM_QUALITY_FLOOR,
    ),
    TaskType(
        "chat",
        "chat and writing",
        ("chat*", "assistant*", "conversation*", "dialog*", "talk*", "question*", "answer*",
         "q&a", "ask", "asking", "writ*", "essay*", "email*", "story", "stories",
         "brainstorm*", "reason*", "agent*"),
        (*_GENERATE, "image-text-to-text"),
        preferred=("instruct", "it", "chat"),
        aliases=("assistant", "text-generation"),
        quality_floor=LM_QUALITY_FLOOR,
    ),
    TaskType(
        "code",
        "code",
        ("code", "coding", "coder*", "program*", "software", "python", "javascript",
         "typescript", "java", "rust", "golang", "sql", "bash", "script", "scripting",
         "debug*", "refactor*", "autocomplet*", "copilot", "function", "unit test",
         "developer*", "compiler*"),
        _GENERATE,
        preferred=("coder", "code", "codellama", "starcoder", "starcoder2", "codegemma"),
        aliases=("coding",),
        quality_floor=LM_QUALITY_FLOOR,
    ),
    TaskType(
        "embeddings",
        "embeddings and retrieval",
        ("embed*", "retriev*", "semantic search", "search*", "rag", "vector*", "similar*",
         "rerank*", "cluster*", "dedup*"),
        ("feature-extraction", "sentence-similarity"),
        kinds=("embedding", "reranker"),
        aliases=("embedding", "retrieval"),
        generates=False,
    ),
    TaskType(
        "classification",
        "classification",
        ("classif*", "categor*", "sentiment*", "label*", "spam", "intent*", "moderat*",
         "topic*", "tagging", "entit*", "ner", "toxic*", "triage"),
        ("text-classification", "zero-shot-classification", "token-classification",
         "fill-mask"),
        preferred=("mnli", "nli", "sst2", "sentiment", "emotion"),
        aliases=("text-classification",),
        generates=False,
    ),
    TaskType(
        "translation",
        "translation",
        ("translat*", "localis*", "localiz*"),
        ("translation", "text2text-generation", *_GENERATE),
        preferred=("instruct", "it", "opus", "nllb", "m2m100", "madlad"),
        aliases=("translate",),
        quality_floor=LM_QUALITY_FLOOR,
    ),
    TaskType(
        "speech-recognition",
        "speech recognition",
        ("transcri*", "speech", "voice*", "audio", "dictat*", "asr", "subtitl*", "podcast*",
         "spoken"),
        ("automatic-speech-recognition",),
        aliases=("speech", "asr", "transcription", "automatic-speech-recognition"),
    ),
    TaskType(
        "vision",
        "vision",
        ("image*", "photo*", "picture*", "vision", "visual*", "camera*", "screenshot*",
         "video*", "ocr", "object detection", "detect objects", "caption*", "diagram*"),
        ("image-classification", "object-detection", "zero-shot-image-classification",
         "image-feature-extraction", "image-text-to-text", "image-segmentation",
         "image-to-text"),
        aliases=("image",),
        generates=False,
    ),
)  # fmt: skip
"""Every task type, with its keywords and the models that serve it."""

DEFAULT_TASK = "chat"
"""Assumed when no keyword matches."""

PREFERENCE_WORDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "thermal": (
            "quiet*", "silent*", "silence", "noiseless", "cool", "cooler", "coolest", "cold",
            "fanless", "fan", "heat*", "overheat*", "thermal*", "throttl*", "low power",
            "low heat", "low noise", "battery", "efficient*",
        ),
        "speed": (
            "fast*", "quick*", "speed*", "rapid*", "real time", "realtime", "latency",
            "responsive*", "snappy", "instant*", "interactive",
        ),
        "quality": ("best", "accura*", "quality", "precise*", "smart*", "capable", "powerful"),
    }
)  # fmt: skip
"""Words that set a preference (thermal, speed, quality); see the module docstring."""


@dataclass(frozen=True)
class TaskMatch:
    """A task type the text asks for, and the words that named it (empty when assumed)."""

    task: TaskType
    words: tuple[str, ...]


@dataclass(frozen=True)
class Preferences:
    """Soft preferences read from the text.

    Attributes:
        thermal / speed / quality: Whether the text asked for it.
        words: The words that set them, in text order.
        max_thermal_class: ``medium`` when ``thermal`` (soft: a penalty, not a filter).
    """

    thermal: bool = False
    speed: bool = False
    quality: bool = False
    words: tuple[str, ...] = ()

    @property
    def max_thermal_class(self) -> ThermalClassName | None:
        """``medium`` when a thermal word was used, else None."""
        return QUIET_MAX_CLASS if self.thermal else None


@dataclass(frozen=True)
class Request:
    """What the text asks for.

    Attributes:
        text: The description as given.
        tasks: Matched task types, in the order the text mentions them (at least one).
        assumed: True when no keyword matched and :data:`DEFAULT_TASK` was assumed.
        preferences: The soft preferences.
    """

    text: str
    tasks: tuple[TaskMatch, ...]
    assumed: bool
    preferences: Preferences


def interpret(text: str, tasks: Sequence[TaskType] = TASK_TYPES) -> Request:
    """Read the task types and preferences in ``text``.

    Raises:
        AnalysisError: For empty text.

    Example:
        >>> r = interpret("Transcribe meetings quietly, then summarise them")
        >>> [m.task.name for m in r.tasks], r.preferences.thermal, r.preferences.words
        (['speech-recognition', 'summarisation'], True, ('quietly',))
        >>> interpret("hello there").assumed
        True
    """
    if not text or not text.strip():
        raise AnalysisError("describe the task in words, e.g. 'summarise documents quietly'")
    found: list[tuple[int, TaskMatch]] = []
    for task in tasks:
        hits = sorted(find_words(text, task.keywords))
        if hits:
            found.append((hits[0][0], TaskMatch(task, tuple(w for _, w in hits))))
    found.sort(key=lambda item: item[0])
    matches = tuple(m for _, m in found)
    assumed = not matches
    if assumed:
        default = next((t for t in tasks if t.name == DEFAULT_TASK), tasks[0])
        matches = (TaskMatch(default, ()),)
    flags: dict[str, bool] = {}
    words: list[tuple[int, str]] = []
    for kind, vocabulary in PREFERENCE_WORDS.items():
        hits = find_words(text, vocabulary)
        flags[kind] = bool(hits)
        words.extend(hits)
    prefs = Preferences(
        thermal=flags["thermal"],
        speed=flags["speed"],
        quality=flags["quality"],
        words=tuple(dict.fromkeys(w for _, w in sorted(words))),
    )
    return Request(text, matches, assumed, prefs)


def task_type(name: str, tasks: Sequence[TaskType] = TASK_TYPES) -> TaskType:
    """The task type called ``name`` (or one of its aliases), case-insensitively.

    Raises:
        AnalysisError: Unknown name; the message lists the valid ones.
    """
    key = name.strip().casefold()
    for task in tasks:
        if key == task.name or key in task.aliases:
            return task
    raise AnalysisError(f"unknown task type {name!r}; valid: {', '.join(t.name for t in tasks)}")


# ---------------------------------------------------------------------------------------------
# Hardware


@dataclass(frozen=True)
class HardwareAdvice:
    """Settings and the model size for a device (extends :func:`core.hardware.recommend`).

    Attributes:
        hardware: Device name.
        memory_bytes: Memory a model may use there.
        precision: Precision the size is for.
        max_params: Most parameters whose weights fit with 20 % headroom.
        size_tier: Tier that model falls in (where a registry pick starts).
        profile: ``quality``, ``balanced`` or ``fast``.
        threads: Inference threads (None for a what-if device: its host is unknown).
        context_length / max_tokens / batch_size: Suggested settings for the profile.
        reasons: One line per decision.
    """

    hardware: str
    memory_bytes: int
    precision: str
    max_params: int
    size_tier: SizeTier
    profile: str
    threads: int | None
    context_length: int
    max_tokens: int
    batch_size: int
    reasons: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict with every attribute."""
        return {
            "hardware": self.hardware,
            "memory_bytes": self.memory_bytes,
            "precision": self.precision,
            "max_params": self.max_params,
            "size_tier": self.size_tier,
            "profile": self.profile,
            "threads": self.threads,
            "context_length": self.context_length,
            "max_tokens": self.max_tokens,
            "batch_size": self.batch_size,
            "reasons": list(self.reasons),
        }


def hardware_advice(
    profile: HardwareProfile,
    precision: Precision | str = "bf16",
    *,
    info: HardwareInfo | None = None,
) -> HardwareAdvice:
    """The model size tier, performance profile and settings for a device.

    Args:
        profile: The device the models are analysed for.
        precision: Weights precision the size is counted at.
        info: This machine, when ``profile`` is it: the profile, threads and settings then
            come from :func:`core.hardware.recommend` (RAM and cores known). Without it (a
            what-if device) the profile follows the device's memory alone and threads are None.

    Example:
        >>> from core.analysis.hardware_profiles import profile_for
        >>> a = hardware_advice(profile_for("RTX 4090"))
        >>> a.size_tier, a.profile, a.batch_size, a.threads
        ('medium', 'balanced', 8, None)
    """
    chosen = parse_precision(precision) if isinstance(precision, str) else precision
    memory = profile.available_bytes
    max_params = max_params_for_memory(memory, chosen.bytes_per_param)
    tier = size_tier_for_memory(memory, chosen.bytes_per_param)
    reasons = [
        f"{human_bytes(memory)} usable on {profile.name}: weights up to "
        f"~{human_count(max_params)} parameters at {chosen.name} fit with 20% headroom "
        f"→ {tier} tier (≤ {TIER_LIMITS[tier] / 1e9:.0f}B)"
    ]
    threads: int | None
    if info is not None:
        rec = info.recommendations
        name, threads = rec.profile, rec.threads
        context, max_tokens, batch = rec.context_length, rec.max_tokens, rec.batch_size
        reasons.extend(rec.reasons[1:])
    else:
        name, why = performance_profile(profile.memory_bytes, None)
        reasons.append(f"what-if device, host RAM and cores unknown: {why}")
        context, max_tokens, batch = PROFILE_SETTINGS[name]
        threads = None
        if profile.kind == "gpu" and memory >= 24 * GIB:
            batch = max(batch, 8)
            reasons.append("batch 8: a GPU with 24 GB+ free holds several sequences' KV cache")
    return HardwareAdvice(
        hardware=profile.name,
        memory_bytes=memory,
        precision=chosen.name,
        max_params=max_params,
        size_tier=tier,
        profile=name,
        threads=threads,
        context_length=context,
        max_tokens=max_tokens,
        batch_size=batch,
        reasons=tuple(reasons),
    )


# ---------------------------------------------------------------------------------------------
# Capability registry

DEFAULT_REGISTRY: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "summarisation": MappingProxyType(
            {
                "small": "facebook/bart-large-cnn",
                "medium": "Qwen/Qwen3-8B",
                "large": "Qwen/Qwen3-30B-A3B-Instruct-2507",
                "xlarge": "meta-llama/Llama-3.3-70B-Instruct",
            }
        ),
        "chat": MappingProxyType(
            {
                "small": "Qwen/Qwen3-4B-Instruct-2507",
                "medium": "Qwen/Qwen3-8B",
                "large": "Qwen/Qwen3-30B-A3B-Instruct-2507",
                "xlarge": "meta-llama/Llama-3.3-70B-Instruct",
            }
        ),
        "code": MappingProxyType(
            {
                "small": "Qwen/Qwen2.5-Coder-3B-Instruct",
                "medium": "Qwen/Qwen2.5-Coder-7B-Instruct",
                "large": "Qwen/Qwen2.5-Coder-32B-Instruct",
                "xlarge": "Qwen/Qwen2.5-72B-Instruct",
            }
        ),
        "embeddings": MappingProxyType(
            {"small": "Qwen/Qwen3-Embedding-0.6B", "medium": "Qwen/Qwen3-Embedding-8B"}
        ),
        "classification": MappingProxyType({"small": "facebook/bart-large-mnli"}),
        "translation": MappingProxyType(
            {
                "small": "Qwen/Qwen3-4B-Instruct-2507",
                "medium": "Qwen/Qwen3-8B",
                "large": "Qwen/Qwen3-30B-A3B-Instruct-2507",
                "xlarge": "Qwen/Qwen2.5-72B-Instruct",
            }
        ),
        "speech-recognition": MappingProxyType({"small": "openai/whisper-large-v3-turbo"}),
        "vision": MappingProxyType(
            {
                "small": "google/gemma-3-4b-it",
                "medium": "google/gemma-3-12b-it",
                "large": "google/gemma-3-27b-it",
            }
        ),
    }
)
"""Task type → size tier → recommended catalog id (a tier may be absent: fall back below)."""


def capability_registry(
    overrides: Mapping[str, Mapping[str, str | None]] | None = None,
    *,
    base: Mapping[str, Mapping[str, str]] = DEFAULT_REGISTRY,
    tasks: Sequence[TaskType] = TASK_TYPES,
) -> dict[str, dict[str, str]]:
    """The registry with ``overrides`` applied (from configuration).

    ``overrides`` maps a task type (name or alias) to ``{tier: model id}``; an empty string or
    None removes that tier's pick. Ids are not checked against the catalog (a Hub or cached
    model may be named); a pick that is not among the candidates falls back like one that does
    not fit.

    Raises:
        AnalysisError: An unknown task type or tier, or an id that is not a string.

    Example:
        >>> reg = capability_registry({"Code": {"small": "Qwen/Qwen2.5-Coder-1.5B-Instruct"}})
        >>> reg["code"]["small"], reg["code"]["medium"]
        ('Qwen/Qwen2.5-Coder-1.5B-Instruct', 'Qwen/Qwen2.5-Coder-7B-Instruct')
    """
    merged = {task: dict(tiers) for task, tiers in base.items()}
    for name, tiers in (overrides or {}).items():
        task = task_type(str(name), tasks)
        if not isinstance(tiers, Mapping):
            raise AnalysisError(f"registry entry for {name!r} must map tiers to model ids")
        target = merged.setdefault(task.name, {})
        for tier, model in tiers.items():
            if tier not in TIER_LIMITS:
                raise AnalysisError(
                    f"unknown size tier {tier!r} for {task.name}; valid: {', '.join(TIER_NAMES)}"
                )
            if model is None or model == "":
                target.pop(tier, None)
            elif isinstance(model, str):
                target[tier] = model.strip()
            else:
                raise AnalysisError(f"registry {task.name}/{tier}: model id must be a string")
    return merged


@dataclass(frozen=True)
class RegistryPick:
    """The registry's choice for one task, after fall-back.

    Attributes:
        task: Task type name.
        wanted_tier: Tier the search started at.
        tier: Tier of the chosen pick (None when every tier was ruled out).
        id: The chosen model id (None when none).
        steps: One line per tier tried (``chat/large: … does not fit …``).
    """

    task: str
    wanted_tier: SizeTier
    tier: SizeTier | None
    id: str | None
    steps: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "task": self.task,
            "wanted_tier": self.wanted_tier,
            "tier": self.tier,
            "id": self.id,
            "steps": list(self.steps),
        }


# ---------------------------------------------------------------------------------------------
# Constraints


def _finite(value: float | None, name: str, *, positive: bool) -> None:
    if value is None:
        return
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        bound = "more than 0" if positive else "0 or more"
        raise AnalysisError(f"{name} must be a number {bound}, got {value}")


def throughput(analysis: Analysis, generates: bool = True) -> tuple[float | None, str]:
    """Tokens/s that a task feels and which: ``decode`` for generating work on a model that
    generates, else ``forward-pass`` (prefill: embeddings, classification, images)."""
    e = analysis.estimates
    if generates and e.decode_tokens_per_s is not None:
        return e.decode_tokens_per_s, "decode"
    return e.prefill_tokens_per_s, "forward-pass"


def energy_per_token(analysis: Analysis, generates: bool = True) -> float | None:
    """Joules per token of :func:`throughput` (decode, else the forward pass)."""
    e = analysis.estimates
    if generates and e.decode_tokens_per_s:
        return e.joules_per_token
    if e.prefill_tokens_per_s and e.power_w is not None:
        return e.power_w / e.prefill_tokens_per_s
    return None


@dataclass(frozen=True)
class Constraints:
    """Hard limits a recommended model must meet.

    Attributes:
        fits: Rule out models that do not fit the hardware (``too-tight``).
        max_watts: Predicted device watts at most this.
        max_thermal_class: Thermal class at most this (``low`` … ``very-high``).
        min_tokens_per_s: :func:`throughput` at least this (decode tok/s for generating
            tasks, forward-pass tok/s for the others).
        licences: Allowed licence tags (case-insensitive; ``qwen`` also allows
            ``other (qwen)``); empty: any.
        max_params: Parameters at most this.

    Raises:
        AnalysisError: For a bad thermal class, watts ≤ 0, negative tokens/s or parameters ≤ 0.
    """

    fits: bool = False
    max_watts: float | None = None
    max_thermal_class: str | None = None
    min_tokens_per_s: float | None = None
    licences: tuple[str, ...] = ()
    max_params: int | None = None

    def __post_init__(self) -> None:
        if self.max_thermal_class is not None and self.max_thermal_class not in THERMAL_CLASSES:
            raise AnalysisError(
                f"unknown thermal class {self.max_thermal_class!r}; "
                f"valid: {', '.join(THERMAL_CLASSES)}"
            )
        _finite(self.max_watts, "maximum watts", positive=True)
        _finite(self.min_tokens_per_s, "minimum tokens/s", positive=False)
        if self.max_params is not None and self.max_params <= 0:
            raise AnalysisError(f"maximum parameters must be more than 0, got {self.max_params}")
        cleaned = tuple(lic.strip().casefold() for lic in self.licences if lic.strip())
        object.__setattr__(self, "licences", cleaned)

    def _licence_ok(self, licence: str | None) -> bool:
        if not self.licences:
            return True
        if not licence:
            return False
        have = licence.casefold()
        return any(
            have == want or have.startswith(want + " ") or f"({want})" in have
            for want in self.licences
        )

    def violation(self, row: ModelRow, *, generates: bool = True) -> str | None:
        """Why ``row`` is ruled out, or None when it meets every constraint.

        ``generates`` says which speed ``min_tokens_per_s`` reads (see :func:`throughput`).
        """
        a = row.analysis
        if a is None:
            return row.error or "cannot analyse"
        if self.max_params is not None and a.params_total > self.max_params:
            return (
                f"{human_count(a.params_total)} parameters > maximum {human_count(self.max_params)}"
            )
        if not self._licence_ok(row.licence):
            return f"licence {row.licence or 'unknown'} not in {', '.join(self.licences)}"
        if self.fits and a.fit.level == "too-tight":
            return _too_tight(a)
        if self.max_watts is not None:
            watts = a.estimates.power_w
            if watts is None:
                return "power unknown"
            if watts > self.max_watts:
                return f"{watts:.0f} W > maximum {self.max_watts:g} W"
        if self.max_thermal_class is not None:
            klass = a.thermal.klass
            if THERMAL_ORDER[klass] > THERMAL_ORDER[self.max_thermal_class]:
                return f"thermal class {klass} above maximum {self.max_thermal_class}"
        if self.min_tokens_per_s is not None:
            speed, kind = throughput(a, generates)
            if speed is None:
                return "speed unknown"
            if speed < self.min_tokens_per_s:
                return f"{speed:,.1f} {kind} tok/s < minimum {self.min_tokens_per_s:g}"
        return None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "fits": self.fits,
            "max_watts": self.max_watts,
            "max_thermal_class": self.max_thermal_class,
            "min_tokens_per_s": self.min_tokens_per_s,
            "licences": list(self.licences),
            "max_params": self.max_params,
        }


def _too_tight(a: Analysis) -> str:
    return (
        f"does not fit: needs {human_bytes(a.fit.required_bytes)}, "
        f"{human_bytes(a.fit.available_bytes)} free on {a.fit.device or a.hardware.name}"
    )


# ---------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class ScoreWeights:
    """Weights of quality, speed and thermal (summing to 1) and where they came from."""

    quality: float
    speed: float
    thermal: float
    basis: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "quality": round(self.quality, 4),
            "speed": round(self.speed, 4),
            "thermal": round(self.thermal, 4),
            "basis": self.basis,
        }


def score_weights(profile: str | None, preferences: Preferences) -> ScoreWeights:
    """Profile weights plus :data:`PREFERENCE_BOOST` per preference, scaled to sum to 1.

    Example:
        >>> w = score_weights("balanced", Preferences(thermal=True))
        >>> round(w.quality, 3), round(w.speed, 3), round(w.thermal, 3)
        (0.32, 0.24, 0.44)
    """
    base = profile if profile is not None and profile in PROFILE_WEIGHTS else "balanced"
    q, s, t = PROFILE_WEIGHTS[base]
    parts = [f"{base} profile"]
    if preferences.quality:
        q += PREFERENCE_BOOST
        parts.append("quality words")
    if preferences.speed:
        s += PREFERENCE_BOOST
        parts.append("speed words")
    if preferences.thermal:
        t += PREFERENCE_BOOST
        parts.append("thermal words")
    total = q + s + t
    return ScoreWeights(q / total, s / total, t / total, " + ".join(parts))


@dataclass(frozen=True)
class Recommendation:
    """One ranked model.

    Attributes:
        rank: 1 = best.
        id: Model id.
        score: The score (see the module docstring).
        task: The task type it serves here.
        tier: Its size tier (None above xlarge or unknown size).
        registry_pick: True when it is the registry's pick for its task.
        row: The analysed row (for the screen's detail).
        components: ``quality``, ``speed``, ``thermal_cost`` (0..1), ``bonus``, ``penalty``.
        reasons: Why it ranks here, first line the rank itself.
        tokens_per_s: The speed the task feels (:func:`throughput`).
        speed_kind: ``decode`` or ``forward-pass``.
        joules_per_token: Energy per token of that speed.
    """

    rank: int
    id: str
    score: float
    task: str
    tier: SizeTier | None
    registry_pick: bool
    row: ModelRow = field(repr=False)
    components: Mapping[str, float]
    reasons: tuple[str, ...]
    tokens_per_s: float | None = None
    speed_kind: str = "decode"
    joules_per_token: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The CLI's result item: ``rank``, ``id``, ``score``, ``task``, ``reasons`` and the
        figures behind them."""
        a = self.row.analysis
        return {
            "rank": self.rank,
            "id": self.id,
            "score": round(self.score, 4),
            "task": self.task,
            "tier": self.tier,
            "registry_pick": self.registry_pick,
            "params": self.row.params_total,
            "licence": self.row.licence,
            "fits": a.fit.level if a else None,
            "tokens_per_s": self.tokens_per_s,
            "speed_kind": self.speed_kind,
            "decode_tokens_per_s": a.estimates.decode_tokens_per_s if a else None,
            "power_w": a.estimates.power_w if a else None,
            "joules_per_token": self.joules_per_token,
            "thermal_class": a.thermal.klass if a else None,
            "thermal_source": a.thermal.source if a else None,
            "components": {k: round(v, 4) for k, v in self.components.items()},
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class Excluded:
    """A model the task could use that a hard constraint ruled out."""

    id: str
    task: str
    reason: str


@dataclass(frozen=True)
class RecommendationSet:
    """Everything :func:`recommend_models` decided.

    Attributes:
        request: The reading of the text.
        constraints: The hard limits.
        weights: The score weights.
        hardware: The hardware advice used (None when none was given).
        results: Ranked models, best first (at most ``limit``).
        total: Candidates that passed the constraints (before ``limit``).
        excluded: Candidates ruled out, with the reason.
        picks: The registry's pick per task, with the fall-back steps.
        notes: Remarks on the whole set (assumed task, no candidates ...).
    """

    request: Request
    constraints: Constraints
    weights: ScoreWeights
    hardware: HardwareAdvice | None
    results: tuple[Recommendation, ...]
    total: int
    excluded: tuple[Excluded, ...]
    picks: tuple[RegistryPick, ...]
    notes: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """``{"query", "tasks", "preferences", "constraints", "weights", "hardware", "picks",
        "results": [{"rank", "id", "score", "task", "reasons", ...}], "total", "excluded",
        "notes"}``."""
        prefs = self.request.preferences
        return {
            "query": self.request.text,
            "tasks": [{"task": m.task.name, "words": list(m.words)} for m in self.request.tasks],
            "assumed_task": self.request.assumed,
            "preferences": {
                "thermal": prefs.thermal,
                "speed": prefs.speed,
                "quality": prefs.quality,
                "words": list(prefs.words),
                "max_thermal_class": prefs.max_thermal_class,
            },
            "constraints": self.constraints.to_json(),
            "weights": self.weights.to_json(),
            "hardware": self.hardware.to_json() if self.hardware else None,
            "picks": [p.to_json() for p in self.picks],
            "results": [r.to_json() for r in self.results],
            "total": self.total,
            "excluded": [{"id": e.id, "task": e.task, "reason": e.reason} for e in self.excluded],
            "notes": list(self.notes),
        }


# ---------------------------------------------------------------------------------------------
# Ranking


def _position(value: float | None, lo: float | None, hi: float | None) -> float | None:
    """ln(value) placed between ln(lo) and ln(hi), clamped to 0..1 (1 when lo == hi)."""
    if value is None or lo is None or hi is None or value <= 0 or lo <= 0 or hi <= 0:
        return None
    if hi <= lo:
        return 1.0 if value >= lo else 0.0
    return min(1.0, max(0.0, (math.log(value) - math.log(lo)) / (math.log(hi) - math.log(lo))))


def _span(values: Sequence[float | None]) -> tuple[float | None, float | None]:
    known = [v for v in values if v is not None and v > 0]
    return (min(known), max(known)) if known else (None, None)


def _lower_tier(tier: SizeTier, other: SizeTier | None) -> SizeTier:
    if other is None:
        return tier
    return tier if TIER_NAMES.index(tier) <= TIER_NAMES.index(other) else other


def pick_with_fallback(
    task: TaskType,
    start: SizeTier,
    registry: Mapping[str, Mapping[str, str]],
    candidates: Mapping[str, ModelRow],
    constraints: Constraints,
) -> RegistryPick:
    """The registry's pick for ``task`` from tier ``start`` down, falling back past picks that
    are missing, not candidates, do not fit or break a constraint.

    Args:
        task: The task type.
        start: First tier to try.
        registry: Task name → tier → id.
        candidates: Casefolded id → row, every model serving this task.
        constraints: The hard limits.
    """
    tiers = registry.get(task.name, {})
    steps: list[str] = []
    for tier in reversed(TIER_NAMES[: TIER_NAMES.index(start) + 1]):
        model = tiers.get(tier)
        where = f"{task.name}/{tier}"
        if not model:
            steps.append(f"{where}: no registry pick")
            continue
        row = candidates.get(model.casefold())
        if row is None:
            steps.append(f"{where}: {model} is not among the candidates")
            continue
        why = constraints.violation(row, generates=task.generates)
        if why is None and row.analysis is not None and row.analysis.fit.level == "too-tight":
            why = _too_tight(row.analysis)
        if why is not None:
            steps.append(f"{where}: {model} ruled out ({why})")
            continue
        steps.append(f"{where}: {model}")
        return RegistryPick(task.name, start, tier, row.id, tuple(steps))
    return RegistryPick(task.name, start, None, None, tuple(steps))


@dataclass
class _Scored:
    row: ModelRow
    task: TaskType
    score: float
    parts: dict[str, float]
    reasons: list[str]
    pick: bool
    speed: float | None
    speed_kind: str
    energy: float | None


def _speed_component(
    speed: float | None, kind: str, lo: float | None, hi: float | None
) -> float | None:
    if kind == "decode":
        low, high = DECODE_SPEED_RANGE
        return _position(max(speed, low), low, high) if speed is not None else None
    return _position(speed, lo, hi)


def _score_group(
    task: TaskType,
    rows: Sequence[ModelRow],
    weights: ScoreWeights,
    *,
    cap_params: float | None,
    pick_id: str | None,
    prefs: Preferences,
) -> list[_Scored]:
    analyses = [r.analysis for r in rows if r.analysis is not None]
    p_lo, p_hi = _span([float(a.params_total) for a in analyses])
    if p_lo is not None and p_hi is not None:
        p_lo = max(p_lo, float(task.quality_floor))
        if cap_params is not None:
            p_hi = min(p_hi, cap_params)
        p_hi = max(p_lo, p_hi)
    s_lo, s_hi = _span([throughput(a, task.generates)[0] for a in analyses])
    e_lo, e_hi = _span([energy_per_token(a, task.generates) for a in analyses])
    out: list[_Scored] = []
    for row in rows:
        a = row.analysis
        if a is None:  # ruled out before scoring; kept for the type checker
            continue
        reasons: list[str] = []
        q = _position(float(a.params_total), p_lo, p_hi)
        q_val = NEUTRAL if q is None else q
        reasons.append(
            f"quality {q_val:.2f} × {weights.quality:.2f}: "
            f"{human_count(a.params_total)} parameters"
            + ("" if q is None else f" ({human_count(p_lo)}–{human_count(p_hi)} for {task.name})")
        )
        speed, kind = throughput(a, task.generates)
        s = _speed_component(speed, kind, s_lo, s_hi)
        s_val = NEUTRAL if s is None else s
        reasons.append(
            f"speed {s_val:.2f} × {weights.speed:.2f}: "
            + ("unknown (neutral)" if speed is None else f"{speed:,.1f} {kind} tok/s")
        )
        klass = a.thermal.klass
        energy = energy_per_token(a, task.generates)
        e = _position(energy, e_lo, e_hi)
        cost = 0.5 * THERMAL_ORDER[klass] / 3 + 0.5 * (NEUTRAL if e is None else e)
        watts = a.estimates.power_w
        reasons.append(
            f"thermal cost {cost:.2f} × {weights.thermal:.2f}: {klass} ({a.thermal.source}"
            + (f", {watts:.0f} W" if watts is not None else "")
            + ")"
            + (", J/token unknown" if energy is None else f", {energy:.3g} J/token")
        )
        bonus = 0.0
        penalty = 0.0
        pick = pick_id is not None and row.id == pick_id
        if pick:
            bonus += REGISTRY_BONUS
            reasons.append(f"registry pick for {task.name}: +{REGISTRY_BONUS:.2f}")
        token = task.preferred_token(row)
        if token is not None:
            bonus += PREFERRED_BONUS
            reasons.append(f"'{token}' suits {task.name}: +{PREFERRED_BONUS:.2f}")
        if a.fit.level == "tight":
            penalty += TIGHT_PENALTY
            reasons.append(f"tight fit (< 20% headroom): −{TIGHT_PENALTY:.2f}")
        elif a.fit.level == "too-tight":
            penalty += TOO_TIGHT_PENALTY
            reasons.append(f"{_too_tight(a)}: −{TOO_TIGHT_PENALTY:.2f}")
        if a.params_total < task.quality_floor and row.task in GENERIC_LM_TAGS:
            penalty += SMALL_LM_PENALTY
            reasons.append(
                f"under {human_count(task.quality_floor)} parameters, a general language "
                f"model is too small to rely on for {task.name}: −{SMALL_LM_PENALTY:.2f}"
            )
        reading = DECODE_SPEED_RANGE[0]
        if prefs.speed and task.generates and speed is not None and speed < reading:
            penalty += SLOW_PENALTY
            reasons.append(
                f"slower than reading ({speed:,.1f} < {reading:g} tok/s) and the words ask "
                f"for speed: −{SLOW_PENALTY:.2f}"
            )
        limit = prefs.max_thermal_class
        if limit is not None and THERMAL_ORDER[klass] > THERMAL_ORDER[limit]:
            steps = THERMAL_ORDER[klass] - THERMAL_ORDER[limit]
            penalty += HOT_PENALTY_PER_CLASS * steps
            reasons.append(
                f"{klass} is above the {limit} the thermal words ask for: "
                f"−{HOT_PENALTY_PER_CLASS * steps:.2f}"
            )
        score = (
            (weights.quality * q_val + weights.speed * s_val + weights.thermal * (1 - cost))
            + bonus
            - penalty
        )
        parts = {
            "quality": q_val,
            "speed": s_val,
            "thermal_cost": cost,
            "bonus": bonus,
            "penalty": penalty,
        }
        out.append(_Scored(row, task, score, parts, reasons, pick, speed, kind, energy))
    return out


def _weighted(item: _Scored, weights: ScoreWeights) -> dict[str, float]:
    p = item.parts
    return {
        "quality": weights.quality * p["quality"],
        "speed": weights.speed * p["speed"],
        "thermal": weights.thermal * (1 - p["thermal_cost"]),
        "bonus": p["bonus"],
        "penalties": -p["penalty"],
    }


TIE = 5e-4
"""Scores closer than this are level (shown as 0.000 apart); ties sort by id."""


def _too_tight_row(item: _Scored) -> bool:
    return item.row.analysis is not None and item.row.analysis.fit.level == "too-tight"


def _rank_line(index: int, ranked: Sequence[_Scored], weights: ScoreWeights) -> str:
    item = ranked[index]
    total = len(ranked)
    if index > 0 and _too_tight_row(item) and not _too_tight_row(ranked[index - 1]):
        return f"rank {index + 1} of {total}: does not fit, so after every model that does"
    if index == 0:
        if total == 1:
            return "rank 1 of 1: the only candidate"
        runner = ranked[1]
        if item.score - runner.score < TIE:
            return f"rank 1 of {total}: level with {runner.row.id} (within 0.0005)"
        return f"rank 1 of {total}: {item.score - runner.score:.3f} ahead of {runner.row.id}"
    above = ranked[index - 1]
    if above.score - item.score < TIE:
        return f"rank {index + 1} of {total}: level with {above.row.id} (within 0.0005)"
    mine, theirs = _weighted(item, weights), _weighted(above, weights)
    gap_by = {k: theirs[k] - mine[k] for k in mine}
    worst = max(gap_by, key=lambda k: gap_by[k])
    return (
        f"rank {index + 1} of {total}: {above.score - item.score:.3f} below {above.row.id}, "
        f"mostly {worst} ({mine[worst]:+.3f} vs {theirs[worst]:+.3f})"
    )


def recommend_models(
    text: str,
    rows: Sequence[ModelRow],
    *,
    constraints: Constraints | None = None,
    hardware: HardwareAdvice | None = None,
    registry: Mapping[str, Mapping[str, str]] | None = None,
    tasks: Sequence[TaskType] = TASK_TYPES,
    limit: int | None = None,
) -> RecommendationSet:
    """Rank ``rows`` for the task ``text`` describes.

    Args:
        text: The task in words (``"summarise PDFs quietly"``).
        rows: Analysed candidates (catalog rows, plus any Hub or cache rows), all for the same
            hardware, precision and context. Duplicate ids keep the first.
        constraints: Hard limits (default: none).
        hardware: The device's advice (size tier, profile); None: no size cap, balanced
            weights, registry picks start at xlarge.
        registry: Task → tier → id (default :data:`DEFAULT_REGISTRY`; see
            :func:`capability_registry`).
        tasks: The task types (default :data:`TASK_TYPES`).
        limit: At most this many results (None: all).

    Returns:
        The ranked results, exclusions, registry picks and notes.

    Raises:
        AnalysisError: For empty text or a negative limit.

    Example:
        >>> from core.analysis.hardware_profiles import profile_for
        >>> from core.catalog.embedded import load_catalog
        >>> from core.catalog.rows import AnalysisSettings, catalog_rows
        >>> settings = AnalysisSettings(profile_for("RTX 4090"))
        >>> result = recommend_models(
        ...     "transcribe voice notes", catalog_rows(load_catalog(), settings), limit=1,
        ...     hardware=hardware_advice(settings.hardware))
        >>> result.results[0].id, result.results[0].task
        ('openai/whisper-large-v3-turbo', 'speech-recognition')
    """
    if limit is not None and limit < 0:
        raise AnalysisError(f"limit must be 0 or more, got {limit}")
    request = interpret(text, tasks)
    limits = constraints or Constraints()
    reg = DEFAULT_REGISTRY if registry is None else registry
    weights = score_weights(hardware.profile if hardware else None, request.preferences)
    notes: list[str] = []
    if request.assumed:
        notes.append(f"no task words recognised: assuming {request.tasks[0].task.name}")
    matched = [m.task for m in request.tasks]

    # Every distinct row serving each matched task (the registry may pick any of them).
    unique: list[ModelRow] = []
    seen: set[str] = set()
    for row in rows:
        if row.id.casefold() not in seen:
            seen.add(row.id.casefold())
            unique.append(row)
    serving: dict[str, dict[str, ModelRow]] = {
        task.name: {row.id.casefold(): row for row in unique if task.serves(row)}
        for task in matched
    }

    start: SizeTier = hardware.size_tier if hardware else TIER_NAMES[-1]
    if limits.max_params is not None:
        start = _lower_tier(start, size_tier(limits.max_params))
    picks = tuple(
        pick_with_fallback(task, start, reg, serving[task.name], limits) for task in matched
    )
    pick_task = {p.id.casefold(): p.task for p in reversed(picks) if p.id is not None}
    by_name = {task.name: task for task in matched}

    # Each row serves one task: the one that picked it, else the first that prefers it, else
    # the first (in the order the text names them).
    groups: dict[str, list[ModelRow]] = {task.name: [] for task in matched}
    excluded: list[Excluded] = []
    for row in unique:
        fitting = [task for task in matched if row.id.casefold() in serving[task.name]]
        if not fitting:
            continue
        if row.id.casefold() in pick_task:
            task = by_name[pick_task[row.id.casefold()]]
        else:
            task = next((t for t in fitting if t.preferred_token(row)), fitting[0])
        why = limits.violation(row, generates=task.generates)
        if why is not None:
            excluded.append(Excluded(row.id, task.name, why))
            continue
        groups[task.name].append(row)

    cap = float(hardware.max_params) if hardware else None
    scored: list[_Scored] = []
    for pick in picks:
        group = groups[pick.task]
        if not group:
            example = next((e for e in excluded if e.task == pick.task), None)
            notes.append(
                f"no {pick.task} model passes the constraints (e.g. {example.id}: {example.reason})"
                if example is not None
                else f"no {pick.task} model among the candidates"
            )
            continue
        scored.extend(
            _score_group(
                by_name[pick.task],
                group,
                weights,
                cap_params=cap,
                pick_id=pick.id,
                prefs=request.preferences,
            )
        )
    if any(p.id is None and any("does not fit" in step for step in p.steps) for p in picks):
        notes.append("no registry pick fits: a lower precision (int8, Q4_K_M) makes models smaller")
    if request.preferences.thermal and scored:
        classes = {item.row.analysis.thermal.klass for item in scored if item.row.analysis}
        if len(classes) == 1:
            only = next(iter(classes))
            notes.append(
                f"every candidate is {only} here (similar watts on one device): "
                "joules per token decides the thermal cost"
            )
    scored.sort(key=lambda item: (_too_tight_row(item), -item.score, item.row.id.casefold()))
    results: list[Recommendation] = []
    for index, item in enumerate(scored[:limit] if limit is not None else scored):
        results.append(
            Recommendation(
                rank=index + 1,
                id=item.row.id,
                score=item.score,
                task=item.task.name,
                tier=size_tier(item.row.params_total) if item.row.params_total else None,
                registry_pick=item.pick,
                row=item.row,
                components=MappingProxyType(dict(item.parts)),
                reasons=(_rank_line(index, scored, weights), *item.reasons),
                tokens_per_s=item.speed,
                speed_kind=item.speed_kind,
                joules_per_token=item.energy,
            )
        )
    return RecommendationSet(
        request=request,
        constraints=limits,
        weights=weights,
        hardware=hardware,
        results=tuple(results),
        total=len(scored),
        excluded=tuple(excluded),
        picks=picks,
        notes=tuple(notes),
    )
