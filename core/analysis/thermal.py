"""Thermal class: how much heat running a model makes, in four classes users know.

====================  ===========  ===============================
class                 power        typical device
====================  ===========  ===============================
``low``               5–10 W       CPU, integrated GPU, edge
``medium``            10–50 W      CPU or entry GPU
``high``              50–150 W     mid-range GPU
``very-high``         150 W+       high-end GPU
====================  ===========  ===============================

Three sources, best first: **measured** watts (a benchmark), **estimated** watts on this
hardware (:mod:`core.analysis.roofline`), and the name/size **heuristic** (DESIGN.md), which is
always computed and reported next to the others:

- *base* from the model name's whole tokens (the part after the last ``/``, lower-cased, split
  on anything that is not a letter or digit): ``tiny`` 1, ``small`` 2, ``base`` 3, ``large`` 4,
  ``xl`` 5, ``xxl`` 6; the first tier token wins; no tier token → 3. Whole tokens only:
  ``smallville``, ``TinyLlama`` and ``xlm`` carry no tier.
- *parameters*: < 100M −1; 100M ≤ p < 1B 0; 1B ≤ p ≤ 10B +1; > 10B +2 (unknown: 0).
- *distilled* −1: a token starting with ``distil`` (``distil``, ``distilbert``,
  ``distilroberta``, ``distill``, ``distilled``).
- *efficient architecture* −1: a token that is one of ALBERT, MobileBERT, MobileNet, MobileViT,
  EfficientNet, SqueezeNet, SqueezeBERT, ShuffleNet, MnasNet, GhostNet, optionally followed by a
  version (``v2``, ``3``, ``1.0``): ``mobilenetv3``, ``squeezenet1`` — but not ``albertina``.
- class by score: ≤ 1 ``low``, 2–3 ``medium``, 4–5 ``high``, > 5 ``very-high``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from core.errors import AnalysisError

ThermalClassName = Literal["low", "medium", "high", "very-high"]
"""The four classes, in increasing heat."""

ThermalSource = Literal["measured", "estimated", "heuristic"]
"""Where a class came from, best first."""

THERMAL_CLASSES: tuple[ThermalClassName, ...] = ("low", "medium", "high", "very-high")

TIER_SCORES: dict[str, int] = {"tiny": 1, "small": 2, "base": 3, "large": 4, "xl": 5, "xxl": 6}
"""Name tier words and their base score."""
DEFAULT_BASE = 3
"""Base score when the name has no tier word."""
EFFICIENT_ARCHITECTURES: tuple[str, ...] = (
    "albert",
    "mobilebert",
    "mobilenet",
    "mobilevit",
    "efficientnet",
    "squeezenet",
    "squeezebert",
    "shufflenet",
    "mnasnet",
    "ghostnet",
)
"""Architectures built for small compute budgets (−1)."""

_SPLIT = re.compile(r"[^a-z0-9]+")
_EFFICIENT = re.compile(rf"^(?:{'|'.join(EFFICIENT_ARCHITECTURES)})(?:v?\d+)?$")
_MILLION = 1_000_000
_BILLION = 1_000_000_000


@dataclass(frozen=True, slots=True)
class HeuristicClass:
    """The name/size heuristic's verdict.

    Attributes:
        score: The summed score.
        klass: The class for that score.
        reasons: One line per rule that fired (and the base), in order.
    """

    score: int
    klass: ThermalClassName
    reasons: tuple[str, ...]

    @property
    def source(self) -> ThermalSource:
        """Always ``heuristic``."""
        return "heuristic"


@dataclass(frozen=True, slots=True)
class ThermalClass:
    """The class shown for a model, with where it came from.

    Attributes:
        klass: The class.
        source: ``measured``, ``estimated`` or ``heuristic``.
        heuristic: The heuristic's verdict (always reported).
        watts: The watts the class was read from (None for the heuristic).
    """

    klass: ThermalClassName
    source: ThermalSource
    heuristic: HeuristicClass
    watts: float | None = None


def name_tokens(name: str) -> tuple[str, ...]:
    """Whole tokens of a model name: the part after the last ``/``, lower-cased, split on
    anything that is not a letter or a digit.

    Example:
        >>> name_tokens("google/flan-t5-XXL")
        ('flan', 't5', 'xxl')
    """
    tail = name.rsplit("/", 1)[-1].lower()
    return tuple(t for t in _SPLIT.split(tail) if t)


def class_for_score(score: int) -> ThermalClassName:
    """≤ 1 low, 2–3 medium, 4–5 high, > 5 very-high."""
    if score <= 1:
        return "low"
    if score <= 3:
        return "medium"
    if score <= 5:
        return "high"
    return "very-high"


def _param_points(params: int | None) -> tuple[int, str]:
    if params is None:
        return 0, "parameters unknown: 0"
    if params < 0:
        raise AnalysisError(f"parameter count must be ≥ 0, got {params}")
    # The size bucket, not the exact count: a table of many rows then shares a few strings.
    if params < 100 * _MILLION:
        return -1, "< 100M parameters: −1"
    if params < _BILLION:
        return 0, "100M–1B parameters: 0"
    if params <= 10 * _BILLION:
        return 1, "1B–10B parameters: +1"
    return 2, "> 10B parameters: +2"


_SHARED: dict[tuple[int, str, tuple[str, ...]], HeuristicClass] = {}
"""One immutable verdict per distinct (score, class, reasons): rows share them."""


def heuristic_class(name: str, params: int | None) -> HeuristicClass:
    """Score a model by its name and size (DESIGN.md's seed heuristic, exactly).

    Args:
        name: Model id or name (``"distilbert/distilbert-base-uncased"``).
        params: Total parameter count, or None when unknown.

    Returns:
        Score, class and the reasons.

    Example:
        >>> h = heuristic_class("distilbert/distilbert-base-uncased", 66_955_010)
        >>> h.score, h.klass
        (1, 'low')
    """
    tokens = name_tokens(name)
    tier = next((t for t in tokens if t in TIER_SCORES), None)
    if tier is None:
        score = DEFAULT_BASE
        reasons = [f"no tier word in name: base {DEFAULT_BASE}"]
    else:
        score = TIER_SCORES[tier]
        reasons = [f"tier word '{tier}': base {score}"]
    points, why = _param_points(params)
    score += points
    reasons.append(why)
    distil = next((t for t in tokens if t.startswith("distil")), None)
    if distil is not None:
        score -= 1
        reasons.append(f"distilled ('{distil}'): −1")
    efficient = next((t for t in tokens if _EFFICIENT.match(t)), None)
    if efficient is not None:
        score -= 1
        reasons.append(f"efficient architecture ('{efficient}'): −1")
    klass = class_for_score(score)
    key = (score, klass, tuple(reasons))
    shared = _SHARED.get(key)
    if shared is None:
        shared = _SHARED.setdefault(key, HeuristicClass(score, klass, key[2]))
    return shared


def class_from_watts(watts: float) -> ThermalClassName:
    """The class for a power draw: < 10 W low, 10–50 medium, 50–150 high, ≥ 150 very-high.

    Lower bounds are inclusive (10 W is medium, 150 W very-high); below 5 W is still low.

    Raises:
        AnalysisError: For negative or non-finite watts.

    Example:
        >>> class_from_watts(9.9), class_from_watts(10), class_from_watts(150)
        ('low', 'medium', 'very-high')
    """
    if not math.isfinite(watts) or watts < 0:
        raise AnalysisError(f"power must be a finite number ≥ 0 W, got {watts}")
    if watts < 10:
        return "low"
    if watts < 50:
        return "medium"
    if watts < 150:
        return "high"
    return "very-high"


def thermal_class(
    heuristic: HeuristicClass, estimated_w: float | None, measured_w: float | None
) -> ThermalClass:
    """The best available class: measured, else estimated, else the heuristic.

    Args:
        heuristic: The heuristic's verdict (kept in the result either way).
        estimated_w: Predicted watts on this hardware, or None.
        measured_w: Measured watts from a benchmark, or None.

    Returns:
        The class and its source.
    """
    if measured_w is not None:
        return ThermalClass(class_from_watts(measured_w), "measured", heuristic, measured_w)
    if estimated_w is not None:
        return ThermalClass(class_from_watts(estimated_w), "estimated", heuristic, estimated_w)
    return ThermalClass(heuristic.klass, "heuristic", heuristic, None)
