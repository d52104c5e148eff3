"""The pydantic models of profiles and presets, and per-field parsing, rules and help.

Every field carries an attribute docstring (``use_attribute_docstrings``): it is the help a form
shows next to the field (:func:`field_help`). Values typed as text (a form field, a
``KEY=VALUE`` on the command line) go through :func:`parse_field`, which converts the text to
the field's type and checks the field's rule, and fails with one line naming the field and the
rule (:class:`FieldError`).

Example:
    >>> parse_field("profile", "temperature", "0.4")
    0.4
    >>> validate_field("profile", "temperature", "3")
    'must be a number from 0 to 2 (got 3)'
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from core.errors import ConfigError

Kind = Literal["profile", "preset"]
"""What an entry is: a performance profile or a model preset."""

TABLES: dict[Kind, str] = {"profile": "performance_profiles", "preset": "model_presets"}
"""The TOML table that holds each kind, one sub-table per entry."""

NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
"""Entry names: TOML bare keys, so a name never needs quoting in the file."""

Device = Literal["cpu", "cuda", "auto"]
Dtype = Literal["auto", "float32", "float16", "bfloat16", "int8", "int4"]
WeightsFormat = Literal["safetensors", "gguf", "onnx", "sfp", "bf16", "f32", "nuq"]
Quality = Literal["high", "medium", "fast"]

SETTING_KEYS: tuple[str, ...] = (
    "max_tokens",
    "temperature",
    "top_p",
    "top_k",
    "repetition_penalty",
    "context_length",
    "threads",
    "batch_size",
    "device",
    "dtype",
)
"""The profile fields that are inference settings (layered by :mod:`core.profiles.layers`)."""


class PerformanceProfile(BaseModel):
    """A named set of inference settings: how long, how random, how much memory and compute.

    Fields left out of the file keep their defaults here; in the layered view
    (:func:`core.profiles.layers.effective_settings`) only the fields the file sets override
    the layers below.
    """

    model_config = ConfigDict(use_attribute_docstrings=True, extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN)
    """The profile's name: its table is [performance_profiles.NAME]."""
    max_tokens: int = Field(default=1024, gt=0)
    """Most tokens generated per reply."""
    temperature: float = Field(default=0.8, ge=0, le=2)
    """Sampling temperature: 0 always picks the likeliest token, higher is more varied."""
    top_p: float = Field(default=0.95, ge=0, le=1)
    """Nucleus sampling: keep the likeliest tokens whose probabilities add up to this."""
    top_k: int = Field(default=40, ge=0)
    """Keep only the K likeliest tokens before sampling (0: no limit)."""
    repetition_penalty: float = Field(default=1.0, gt=0)
    """Penalty on tokens already generated (1.0: none; 1.1 is a mild penalty)."""
    context_length: int = Field(default=4096, gt=0)
    """Tokens of context (prompt + reply); the KV cache grows with it."""
    threads: int = Field(default=4, ge=1)
    """CPU threads for inference."""
    batch_size: int = Field(default=1, ge=1)
    """Sequences processed together; more uses more memory and power for more throughput."""
    device: Device = "auto"
    """Where to run: cpu, cuda (an NVIDIA GPU) or auto (a GPU when there is one)."""
    dtype: Dtype = "auto"
    """Number format of weights and activations (auto: the model's own)."""
    description: str = ""
    """One line on what the profile is for."""
    use_case: str = ""
    """When to pick it, e.g. "chat on battery", "long documents"."""


class ModelPreset(BaseModel):
    """A model ready to run: where its files are, how big it is, and how to run it."""

    model_config = ConfigDict(use_attribute_docstrings=True, extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN)
    """The preset's name: its table is [model_presets.NAME]."""
    model_id: str | None = Field(default=None, pattern=r"^[\w.-]+(/[\w.-]+)?$")
    """Hugging Face repo id (org/name), found in the local Hugging Face cache."""
    weights: str | None = Field(default=None, min_length=1)
    """Path of the weights: a file or a folder (~ is your home). Used instead of model_id."""
    tokenizer: str | None = Field(default=None, min_length=1)
    """Path of the tokenizer file, when it is not next to the weights."""
    format: WeightsFormat = "safetensors"
    """Weights format: safetensors, gguf, onnx, or gemma.cpp's sfp, bf16, f32, nuq."""
    size_gb: float | None = Field(default=None, gt=0)
    """Size of the weights on disk in GB (10^9 bytes); validation allows 10% either way."""
    context_length: int | None = Field(default=None, gt=0)
    """The model's longest context in tokens; longer profile settings are capped to it."""
    min_ram_gb: float | None = Field(default=None, ge=0)
    """Memory the model needs to run, in GB."""
    quality: Quality = "medium"
    """Output quality class: high, medium or fast."""
    use_case: str = ""
    """What the model is good at, e.g. "chat", "code", "summaries"."""
    avg_tokens_per_sec: float | None = Field(default=None, gt=0)
    """Average decode speed in tokens per second (an estimate unless marked measured)."""
    avg_tokens_per_sec_measured: bool = False
    """True when a benchmark on this machine measured avg_tokens_per_sec."""
    default_profile: str | None = Field(default=None, pattern=NAME_PATTERN)
    """Profile used with this model unless another is chosen."""
    overrides: dict[str, Any] = Field(default_factory=dict)
    """Model-specific settings, e.g. { temperature = 0.6, top_k = 20 }: they override the
    architecture's and the hardware's, and a profile's override them."""

    @field_validator("overrides")
    @classmethod
    def _check_overrides(cls, overrides: dict[str, Any]) -> dict[str, Any]:
        for key, value in overrides.items():
            problem = _override_problem(key, value)
            if problem:
                raise ValueError(f"overrides.{key}: {problem}")
        return overrides

    @model_validator(mode="after")
    def _check(self) -> ModelPreset:
        if self.model_id is None and self.weights is None:
            raise ValueError("set model_id (a Hugging Face repo id) or weights (a path)")
        if self.avg_tokens_per_sec_measured and self.avg_tokens_per_sec is None:
            raise ValueError("avg_tokens_per_sec_measured needs avg_tokens_per_sec")
        return self


class Defaults(BaseModel):
    """The ``[defaults]`` table: which profile and which model to use when none is named."""

    model_config = ConfigDict(use_attribute_docstrings=True, extra="forbid", frozen=True)

    default_profile: str | None = Field(default=None, pattern=NAME_PATTERN)
    """The profile used when none is chosen."""
    default_model: str | None = Field(default=None, pattern=NAME_PATTERN)
    """The model preset used when none is chosen."""


MODELS: dict[Kind, type[PerformanceProfile] | type[ModelPreset]] = {
    "profile": PerformanceProfile,
    "preset": ModelPreset,
}


class FieldError(ConfigError):
    """A value for one field is rejected.

    Attributes:
        where: The dotted place, e.g. ``"performance_profiles.fast.temperature"``.
        field: The field name.
        rule: What the field accepts, e.g. ``"a number from 0 to 2"``.
        problem: What is wrong, e.g. ``"must be a number from 0 to 2 (got 3.0)"``.
    """

    def __init__(self, where: str, field: str, rule: str, problem: str) -> None:
        self.where = where
        self.field = field
        self.rule = rule
        self.problem = problem
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class FieldSpec:
    """What a form needs to show one field.

    Attributes:
        name: The field (TOML key).
        kind: ``"int"``, ``"float"``, ``"str"``, ``"bool"``, ``"choice"`` or ``"table"``.
        rule: What it accepts, in words.
        help: The field's docstring.
        default: Its default (None: unset).
        choices: The allowed values of a ``"choice"`` field.
        optional: True when it may be left empty (unset).
    """

    name: str
    kind: str
    rule: str
    help: str
    default: Any
    choices: tuple[str, ...] = ()
    optional: bool = True


def _base_type(annotation: Any) -> tuple[Any, bool]:
    """The annotation without ``| None``, and whether None was allowed."""
    if get_origin(annotation) in (Union, type(int | None)):
        members = [a for a in get_args(annotation) if a is not type(None)]
        return members[0], len(members) < len(get_args(annotation))
    return annotation, False


def _bounds(metadata: list[Any]) -> dict[str, float]:
    found: dict[str, float] = {}
    for item in metadata:
        for attr in ("gt", "ge", "lt", "le"):
            value = getattr(item, attr, None)
            if isinstance(item, annotated_types.BaseMetadata) and value is not None:
                found[attr] = float(value)
    return found


def _rule(kind: str, bounds: dict[str, float], choices: tuple[str, ...], field: str) -> str:
    if kind == "choice":
        return "one of " + ", ".join(choices)
    if kind == "bool":
        return "true or false"
    if kind == "table":
        return "KEY=VALUE pairs of profile settings, e.g. temperature=0.6 top_k=20"
    if kind == "str":
        if field in ("name", "default_profile", "default_model"):
            return "a name of 1 to 64 letters, digits, '-' or '_'"
        if field == "model_id":
            return "a Hugging Face repo id like org/name"
        return "text"
    noun = "a whole number" if kind == "int" else "a number"
    if "ge" in bounds and "le" in bounds:
        return f"{noun} from {bounds['ge']:g} to {bounds['le']:g}"
    parts = [f"{symbol} {bounds[key]:g}" for key, symbol in _SYMBOLS if key in bounds]
    return f"{noun} {' and '.join(parts)}" if parts else noun


_SYMBOLS = (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤"))


def field_specs(kind: Kind | Literal["defaults"]) -> dict[str, FieldSpec]:
    """Every field of a kind, in form order (``name`` first)."""
    return dict(_field_specs(kind))


@functools.cache
def _field_specs(kind: Kind | Literal["defaults"]) -> dict[str, FieldSpec]:
    model: type[BaseModel] = Defaults if kind == "defaults" else MODELS[kind]
    specs: dict[str, FieldSpec] = {}
    for name, info in model.model_fields.items():
        base, _ = _base_type(info.annotation)
        choices: tuple[str, ...] = ()
        if get_origin(base) is Literal:
            field_kind, choices = "choice", tuple(str(a) for a in get_args(base))
        elif base is bool:
            field_kind = "bool"
        elif base is int:
            field_kind = "int"
        elif base is float:
            field_kind = "float"
        elif get_origin(base) is dict:
            field_kind = "table"
        else:
            field_kind = "str"
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        specs[name] = FieldSpec(
            name=name,
            kind=field_kind,
            rule=_rule(field_kind, _bounds(info.metadata), choices, name),
            help=" ".join((info.description or "").split()),
            default=default,
            choices=choices,
            optional=name != "name",
        )
    return specs


def field_help(kind: Kind | Literal["defaults"], field: str) -> str:
    """The help text of a field (its docstring)."""
    spec = field_specs(kind).get(field)
    if spec is None:
        raise ConfigError(f"unknown field {field!r}; valid: {', '.join(field_specs(kind))}")
    return spec.help


def _where(kind: Kind | Literal["defaults"], name: str | None, field: str) -> str:
    if kind == "defaults":
        return f"defaults.{field}"
    return f"{TABLES[kind]}.{name}.{field}" if name else f"{TABLES[kind]}.{field}"


def unknown_field(kind: Kind | Literal["defaults"], name: str | None, field: str) -> FieldError:
    """The error for a key the kind does not have (with the valid keys)."""
    valid = ", ".join(k for k in field_specs(kind) if k != "name")
    return FieldError(_where(kind, name, field), field, valid, f"unknown field; valid: {valid}")


def _convert(spec: FieldSpec, text: str) -> Any:
    """Text to the field's Python type; raises ValueError with the reason."""
    stripped = text.strip()
    if spec.kind == "int":
        value = int(stripped.replace("_", ""), 10)
        return value
    if spec.kind == "float":
        number = float(stripped)
        if not math.isfinite(number):
            raise ValueError("not finite")
        return number
    if spec.kind == "bool":
        lowered = stripped.lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
        raise ValueError("not a boolean")
    if spec.kind == "choice":
        lowered = stripped.lower()
        if lowered not in spec.choices:
            raise ValueError("not a choice")
        return lowered
    if spec.kind == "table":
        return parse_overrides(stripped)
    return stripped


_PAIR = re.compile(r"""([A-Za-z_][\w-]*)\s*=\s*("[^"]*"|'[^']*'|[^,\s}]+)""")


def parse_overrides(text: str) -> dict[str, Any]:
    """``"temperature=0.6 top_k=20"`` (commas or spaces; braces allowed) to a checked dict.

    Raises:
        ValueError: A pair is not ``KEY=VALUE``, or a key or value is not a valid setting.
    """
    inner = text.strip().removeprefix("{").removesuffix("}")
    result: dict[str, Any] = {}
    profile = field_specs("profile")
    pairs = list(_PAIR.finditer(inner))
    leftover = _PAIR.sub(" ", inner).replace(",", " ").split()
    if leftover:
        raise ValueError(f"expected SETTING=VALUE, got {leftover[0]!r}")
    for pair in pairs:
        key, raw = pair.group(1), pair.group(2)
        if key not in SETTING_KEYS:
            raise ValueError(f"unknown setting {key!r}; valid: {', '.join(SETTING_KEYS)}")
        try:
            value = _convert(profile[key], raw.strip().strip("\"'"))
        except ValueError:
            raise ValueError(f"{key} must be {profile[key].rule}") from None
        problem = _override_problem(key, value)
        if problem:
            raise ValueError(f"{key} {problem}")
        result[key] = value
    return result


def _override_problem(key: str, value: Any) -> str | None:
    """Why ``value`` is not valid for the profile setting ``key`` (None: valid)."""
    if key not in SETTING_KEYS:
        return f"unknown setting; valid: {', '.join(SETTING_KEYS)}"
    errors = _field_errors("profile", key, value)
    return errors[0] if errors else None


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _field_errors(
    kind: Kind | Literal["defaults"], field: str, value: Any, shown: str | None = None
) -> list[str]:
    """Problems pydantic finds with one value (strict: the TOML type must be right)."""
    model: type[BaseModel] = Defaults if kind == "defaults" else MODELS[kind]
    data: dict[str, Any] = {field: value}
    if field != "name" and kind != "defaults":
        data["name"] = "x"
    try:
        model.model_validate(data, strict=True)
    except ValidationError as exc:
        spec = field_specs(kind)[field]
        problems = []
        for error in exc.errors():
            if error["loc"][:1] == (field,):
                problems.append(error_text(spec, error, value, shown))
        return problems
    return []


def error_text(spec: FieldSpec, error: ErrorDetails, value: Any, shown: str | None = None) -> str:
    """One pydantic error as ``must be <rule> (got <value>)`` (``shown``: the text typed)."""
    if error["type"] == "missing":
        return f"required: {spec.rule}"
    if error["type"] == "value_error" and spec.kind == "table":
        return str(error["msg"]).removeprefix("Value error, ")
    return f"must be {spec.rule} (got {shown if shown is not None else _describe(value)})"


def parse_field(
    kind: Kind | Literal["defaults"], field: str, text: str, *, name: str | None = None
) -> Any:
    """Convert text typed for ``field`` to its value and check the field's rule.

    Empty text gives None, which means "unset: use the default" (except for ``name``).

    Args:
        kind: ``"profile"``, ``"preset"`` or ``"defaults"``.
        field: The field (TOML key).
        text: What was typed.
        name: The entry, only for the message.

    Raises:
        FieldError: Unknown field, text of the wrong type, or a value outside the rule.
    """
    specs = field_specs(kind)
    spec = specs.get(field)
    if spec is None:
        raise unknown_field(kind, name, field)
    where = _where(kind, name, field)
    if not text.strip():
        if not spec.optional:
            raise FieldError(where, field, spec.rule, f"required: {spec.rule}")
        return None
    try:
        value = _convert(spec, text)
    except ValueError as exc:
        detail = str(exc) if spec.kind == "table" else f"must be {spec.rule} (got {text!r})"
        raise FieldError(where, field, spec.rule, detail) from None
    problems = _field_errors(kind, field, value, text.strip())
    if problems:
        raise FieldError(where, field, spec.rule, problems[0])
    return value


def validate_field(kind: Kind | Literal["defaults"], field: str, text: str) -> str | None:
    """The problem with ``text`` for ``field`` (for inline form validation), or None."""
    try:
        parse_field(kind, field, text)
    except FieldError as exc:
        return exc.problem
    return None


def check_value(
    kind: Kind | Literal["defaults"], field: str, value: Any, *, name: str | None = None
) -> None:
    """Check an already-typed value for ``field`` (None is always allowed: it unsets).

    Raises:
        FieldError: Unknown field or a value outside the rule.
    """
    specs = field_specs(kind)
    spec = specs.get(field)
    if spec is None:
        raise unknown_field(kind, name, field)
    if value is None:
        if not spec.optional:
            raise FieldError(_where(kind, name, field), field, spec.rule, f"required: {spec.rule}")
        return
    if spec.kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    problems = _field_errors(kind, field, value)
    if problems:
        raise FieldError(_where(kind, name, field), field, spec.rule, problems[0])


def format_value(value: Any) -> str:
    """A value as a form or a table shows it (None: empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = f"{value:.6g}"
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(value, Mapping):
        return " ".join(f"{k}={format_value(v)}" for k, v in value.items())
    return str(value)


def coerce_for_toml(kind: Kind | Literal["defaults"], field: str, value: Any) -> Any:
    """The value as it is written to TOML: floats stay floats (``1.0``, not ``1``)."""
    spec = field_specs(kind)[field]
    if spec.kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
