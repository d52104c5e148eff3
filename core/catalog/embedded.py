"""Offline catalog of real models, with a source for every fact.

The catalog ships inside the package (``core/catalog/data/catalog.jsonl``) and is read through
:mod:`importlib.resources`, so it works from an installed wheel. Nothing is read at import time:
the first call of :func:`load_catalog`, :func:`get` or :func:`search` reads and caches it.

>>> get("OpenAI-Community/GPT2").hidden_size
768
>>> get("openai-community/gpt2").config()["n_layer"]
12
>>> [e.repo_id for e in search("flan-t5", limit=2)]
['google/flan-t5-base', 'google/flan-t5-large']
"""

from __future__ import annotations

import difflib
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from importlib import resources
from types import MappingProxyType
from typing import Any, TypeAlias

from core.errors import CatalogError

__all__ = [
    "FACT_FIELDS",
    "KINDS",
    "CatalogEntry",
    "get",
    "load_catalog",
    "search",
]

#: Kinds of model the catalog distinguishes.
KINDS: tuple[str, ...] = (
    "embedding",
    "encoder",
    "llm",
    "multimodal",
    "reranker",
    "seq2seq",
    "speech",
    "vision",
)

#: The facts of an entry, in catalog order (each non-null one has a ``source``).
FACT_FIELDS: tuple[str, ...] = (
    "family",
    "kind",
    "task",
    "architecture",
    "model_type",
    "library_name",
    "params_total",
    "num_hidden_layers",
    "num_decoder_layers",
    "hidden_size",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "intermediate_size",
    "vocab_size",
    "max_position_embeddings",
    "sliding_window",
    "num_experts",
    "num_experts_per_tok",
    "tie_word_embeddings",
    "torch_dtype",
    "license",
    "gated",
)

_DATA_PACKAGE = "core.catalog"
_DATA_FILE = "data/catalog.jsonl"

#: A dimension that layer-wise scaled families (OpenELM) give per layer.
PerLayer: TypeAlias = "int | tuple[int, ...]"

# Families whose config.json spells the dimensions differently.
_GPT2_STYLE = frozenset({"gpt2", "nomic_bert"})
_T5_STYLE = frozenset({"t5", "mt5", "umt5"})
_BART_STYLE = frozenset({"bart", "mbart", "marian", "pegasus", "whisper"})
_DISTILBERT_STYLE = frozenset({"distilbert"})
_QWEN_MOE = frozenset({"qwen2_moe", "qwen3_moe"})
_LOCAL_EXPERTS = frozenset({"mixtral"})


@dataclass(frozen=True)
class CatalogEntry:
    """One model of the catalog.

    Dimensions are the catalog's own normalised names (Hugging Face ``LlamaConfig`` spelling);
    :meth:`config` turns them back into the family's ``config.json`` keys. Every non-null fact
    has an entry in :attr:`source`.

    Attributes:
        repo_id: Hugging Face repository id (``owner/name``).
        family: Model family (``llama-3.2``, ``bert``, ``whisper`` ...).
        kind: One of :data:`KINDS`.
        task: Hub pipeline tag (``text-generation``, ``fill-mask`` ...), if known.
        architecture: First of ``config.json``'s ``architectures``, if known.
        model_type: ``config.json``'s ``model_type``, if known.
        library_name: Library the Hub lists (``transformers``, ``timm`` ...).
        params_total: Parameter count (see ``source["params_total"]`` for how it was obtained).
        num_hidden_layers: Transformer blocks (the encoder's for encoder-decoder models).
        num_decoder_layers: Decoder blocks of an encoder-decoder model.
        hidden_size: Model width.
        num_attention_heads: Query heads (a per-layer tuple for layer-wise scaled models).
        num_key_value_heads: Key/value heads (a per-layer tuple for layer-wise scaled models).
        head_dim: Per-head width.
        intermediate_size: MLP width; each expert's width for MoE models (per-layer tuple for
            layer-wise scaled models).
        vocab_size: Vocabulary (embedding rows).
        max_position_embeddings: Maximum positions (the decoder's for Whisper).
        sliding_window: Sliding-window attention span, if any.
        num_experts: Routed experts per MoE layer.
        num_experts_per_tok: Experts active per token.
        tie_word_embeddings: Whether the LM head shares the embedding matrix.
        torch_dtype: Native checkpoint dtype, if known.
        license: Licence tag (often family-level; see the source).
        gated: False, True, or the Hub's gating mode (``"manual"``, ``"auto"``).
        hf_config: Raw ``config.json`` keys of the family (``d_kv``, ``feed_forward_proj`` ...).
        extras: Further sourced scalars (``embed_dim``, ``image_size``, ``gmacs_per_image`` ...).
        notes: Caveats recorded with the facts.
        source: Provenance, one entry per non-null fact (``"hidden_size"``, ``"hf_config"``,
            ``"extras.embed_dim"`` ...) plus cross-checks (``"crosscheck"``, ``"params_check"``).
    """

    repo_id: str
    family: str
    kind: str
    task: str | None = None
    architecture: str | None = None
    model_type: str | None = None
    library_name: str | None = None
    params_total: int | None = None
    num_hidden_layers: int | None = None
    num_decoder_layers: int | None = None
    hidden_size: int | None = None
    num_attention_heads: PerLayer | None = None
    num_key_value_heads: PerLayer | None = None
    head_dim: int | None = None
    intermediate_size: PerLayer | None = None
    vocab_size: int | None = None
    max_position_embeddings: int | None = None
    sliding_window: int | None = None
    num_experts: int | None = None
    num_experts_per_tok: int | None = None
    tie_word_embeddings: bool | None = None
    torch_dtype: str | None = None
    license: str | None = None
    gated: bool | str | None = None
    hf_config: Mapping[str, Any] = field(
        default_factory=lambda: MappingProxyType({}), compare=False, repr=False
    )
    extras: Mapping[str, int | float] = field(
        default_factory=lambda: MappingProxyType({}), compare=False, repr=False
    )
    notes: str | None = field(default=None, compare=False, repr=False)
    source: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}), compare=False, repr=False
    )

    @property
    def name(self) -> str:
        """The part of :attr:`repo_id` after the owner (``gpt2`` for ``openai-community/gpt2``)."""
        return self.repo_id.rsplit("/", 1)[-1]

    @property
    def has_dimensions(self) -> bool:
        """True when the entry carries the transformer dimensions an analysis needs."""
        return None not in (
            self.model_type,
            self.num_hidden_layers,
            self.hidden_size,
            self.num_attention_heads,
            self.vocab_size,
        )

    def facts(self) -> dict[str, Any]:
        """The non-null facts of :data:`FACT_FIELDS`, by name."""
        return {
            name: getattr(self, name) for name in FACT_FIELDS if getattr(self, name) is not None
        }

    def config(self) -> dict[str, Any]:
        """A Hugging Face style ``config.json`` mapping rebuilt from the catalog facts.

        Uses the family's real key names (GPT-2 ``n_embd``/``n_layer``, T5 ``d_model``/``d_kv``/
        ``num_layers``, BART/Whisper ``encoder_layers``/``decoder_ffn_dim``, DistilBERT ``dim``/
        ``n_heads``; the ``LlamaConfig`` names otherwise) and overlays the raw keys recorded in
        :attr:`hf_config`. Facts the catalog lacks are left out rather than guessed; entries
        without dimensions (see :attr:`has_dimensions`) give a partial mapping.

        Returns:
            A new dict; mutating it does not affect the entry.
        """
        cfg: dict[str, Any] = {}
        if self.model_type is not None:
            cfg["model_type"] = self.model_type
        if self.architecture is not None and self.model_type is not None:
            cfg["architectures"] = [self.architecture]
        model_type = self.model_type or ""
        if model_type in _GPT2_STYLE:
            names = {
                "num_hidden_layers": "n_layer",
                "hidden_size": "n_embd",
                "num_attention_heads": "n_head",
                "intermediate_size": "n_inner",
                "max_position_embeddings": "n_positions",
            }
        elif model_type in _T5_STYLE:
            names = {
                "num_hidden_layers": "num_layers",
                "num_decoder_layers": "num_decoder_layers",
                "hidden_size": "d_model",
                "num_attention_heads": "num_heads",
                "head_dim": "d_kv",
                "intermediate_size": "d_ff",
            }
        elif model_type in _BART_STYLE:
            names = {
                "num_hidden_layers": "encoder_layers",
                "num_decoder_layers": "decoder_layers",
                "hidden_size": "d_model",
                "max_position_embeddings": (
                    "max_target_positions" if model_type == "whisper" else "max_position_embeddings"
                ),
            }
            heads, ffn = self.num_attention_heads, self.intermediate_size
            for side in ("encoder", "decoder"):
                if heads is not None:
                    cfg[f"{side}_attention_heads"] = _plain(heads)
                if ffn is not None:
                    cfg[f"{side}_ffn_dim"] = _plain(ffn)
        elif model_type in _DISTILBERT_STYLE:
            names = {
                "num_hidden_layers": "n_layers",
                "hidden_size": "dim",
                "num_attention_heads": "n_heads",
                "intermediate_size": "hidden_dim",
                "max_position_embeddings": "max_position_embeddings",
            }
        else:
            names = {
                name: name
                for name in (
                    "num_hidden_layers",
                    "hidden_size",
                    "num_attention_heads",
                    "num_key_value_heads",
                    "head_dim",
                    "intermediate_size",
                    "max_position_embeddings",
                    "sliding_window",
                    "num_experts_per_tok",
                )
            }
            if self.num_experts is not None:
                key = "num_local_experts" if model_type in _LOCAL_EXPERTS else "num_experts"
                cfg[key] = self.num_experts
                if model_type in _QWEN_MOE and self.intermediate_size is not None:
                    cfg["moe_intermediate_size"] = _plain(self.intermediate_size)
        for fact, key in names.items():
            value = getattr(self, fact)
            if value is not None:
                cfg[key] = _plain(value)
        if self.vocab_size is not None:
            cfg["vocab_size"] = self.vocab_size
        if self.tie_word_embeddings is not None:
            cfg["tie_word_embeddings"] = self.tie_word_embeddings
        if self.torch_dtype is not None:
            cfg["torch_dtype"] = self.torch_dtype
        if self.kind in ("seq2seq", "speech") and self.num_decoder_layers is not None:
            cfg["is_encoder_decoder"] = True
        cfg.update(self.hf_config)
        return cfg


def _plain(value: PerLayer) -> int | list[int]:
    """A per-layer tuple as a JSON-style list; an int unchanged."""
    return list(value) if isinstance(value, tuple) else value


def _per_layer(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _entry_from_json(obj: Mapping[str, Any]) -> CatalogEntry:
    known = {f.name for f in fields(CatalogEntry)}
    unknown = sorted(set(obj) - known)
    if unknown:
        raise CatalogError(f"catalog data has unknown field(s) {', '.join(unknown)}")
    values = dict(obj)
    for name in ("num_attention_heads", "num_key_value_heads", "intermediate_size"):
        values[name] = _per_layer(values.get(name))
    source: dict[str, str] = {}
    for key, text in (values.get("source") or {}).items():
        if key.startswith("~"):
            source[key[1:]] = text
            continue
        for fact in key.split("/"):
            source[fact] = text
    values["source"] = MappingProxyType(source)
    values["hf_config"] = MappingProxyType(dict(values.get("hf_config") or {}))
    values["extras"] = MappingProxyType(dict(values.get("extras") or {}))
    return CatalogEntry(**values)


_lock = threading.Lock()
_cache: tuple[CatalogEntry, ...] | None = None
_by_id: dict[str, CatalogEntry] = {}


def load_catalog() -> tuple[CatalogEntry, ...]:
    """Every catalog entry, sorted by repo id; read once, then cached.

    Returns:
        The entries (a tuple, safe to share).

    Raises:
        CatalogError: The packaged catalog data is missing or malformed.
    """
    global _cache
    if _cache is not None:
        return _cache
    with _lock:
        if _cache is None:
            entries = _read_catalog()
            _by_id.update({e.repo_id.casefold(): e for e in entries})
            _cache = entries
    return _cache


def _read_catalog() -> tuple[CatalogEntry, ...]:
    try:
        text = resources.files(_DATA_PACKAGE).joinpath(_DATA_FILE).read_text(encoding="utf-8")
    except (OSError, ModuleNotFoundError) as exc:
        raise CatalogError(f"catalog data unreadable ({_DATA_FILE}): {exc}") from exc
    entries: list[CatalogEntry] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            if not isinstance(obj, dict):
                raise CatalogError("a catalog line must be a JSON object")
            entries.append(_entry_from_json(obj))
        except (ValueError, TypeError, CatalogError) as exc:
            raise CatalogError(f"catalog data {_DATA_FILE}:{number} is malformed: {exc}") from exc
    if not entries:
        raise CatalogError(f"catalog data {_DATA_FILE} is empty")
    return tuple(entries)


def get(repo_id: str) -> CatalogEntry:
    """The entry for ``repo_id``, matched case-insensitively.

    A bare name (``bert-base-uncased``) is accepted when exactly one entry has it.

    Args:
        repo_id: A Hugging Face repository id, ``owner/name``.

    Returns:
        The matching entry.

    Raises:
        CatalogError: No entry matches; the message suggests close ids.
    """
    entries = load_catalog()
    query = repo_id.strip().casefold()
    found = _by_id.get(query)
    if found is not None:
        return found
    if "/" not in query:
        named = [e for e in entries if e.name.casefold() == query]
        if len(named) == 1:
            return named[0]
    raise CatalogError(_unknown_message(repo_id, entries))


def _unknown_message(repo_id: str, entries: tuple[CatalogEntry, ...]) -> str:
    query = repo_id.strip().casefold()
    by_key: dict[str, str] = {}
    for entry in entries:
        by_key.setdefault(entry.repo_id.casefold(), entry.repo_id)
        if "/" not in query:
            by_key.setdefault(entry.name.casefold(), entry.repo_id)
    close = difflib.get_close_matches(query, list(by_key), n=6, cutoff=0.5)
    suggestions = list(dict.fromkeys(by_key[key] for key in close))[:3]
    if not suggestions:
        return f"unknown model id {repo_id!r}; search with: thermal-scout models search WORD"
    return f"unknown model id {repo_id!r}; did you mean: {', '.join(suggestions)}?"


def search(
    query: str = "",
    *,
    task: str | None = None,
    kind: str | None = None,
    limit: int | None = None,
) -> list[CatalogEntry]:
    """Entries whose repo id, family or task contain every word of ``query``.

    Matching is a case-insensitive substring test per word; results put an exact name match
    first, then names that start with the query, then the rest, each by repo id.

    Args:
        query: Words to look for (empty: every entry).
        task: Keep only this pipeline tag (``text-generation`` ...), case-insensitively.
        kind: Keep only this kind (one of :data:`KINDS`).
        limit: At most this many results (None: all).

    Returns:
        The matching entries.

    Raises:
        CatalogError: ``kind`` is not one of :data:`KINDS`.
        ValueError: ``limit`` is negative.
    """
    if kind is not None and kind.casefold() not in KINDS:
        raise CatalogError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must not be negative, got {limit}")
    words = query.casefold().split()
    wanted_task = task.casefold() if task is not None else None
    wanted_kind = kind.casefold() if kind is not None else None
    phrase = " ".join(words)
    ranked: list[tuple[int, str, CatalogEntry]] = []
    for entry in load_catalog():
        if wanted_kind is not None and entry.kind != wanted_kind:
            continue
        if wanted_task is not None and (entry.task or "").casefold() != wanted_task:
            continue
        haystack = " ".join((entry.repo_id, entry.family, entry.task or "")).casefold()
        if not all(word in haystack for word in words):
            continue
        name = entry.name.casefold()
        if phrase and phrase in (name, entry.repo_id.casefold()):
            rank = 0
        elif phrase and name.startswith(phrase):
            rank = 1
        else:
            rank = 2
        ranked.append((rank, entry.repo_id.casefold(), entry))
    ranked.sort(key=lambda item: (item[0], item[1]))
    results = [entry for _, _, entry in ranked]
    return results if limit is None else results[:limit]
