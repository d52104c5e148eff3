#!/usr/bin/env python3
"""Rebuild the embedded model catalog from its sourced fact files.

Reads every ``core/catalog/sources/*.jsonl`` (one JSON object per line), validates each row,
normalises it to the catalog schema and writes ``core/catalog/data/catalog.jsonl``: one compact
JSON object per line, sorted by ``repo_id``, keys in a fixed order. The output depends only on
the source files, so running the script twice gives identical bytes.

Rules a source row must follow (a broken row stops the build with ``file:line: message``):

* ``repo_id`` (``owner/name``), ``family``, ``kind`` and a non-empty ``source`` object are
  required; ``repo_id`` is unique across all files (case-insensitively).
* Dimensions are positive integers, ``tie_word_embeddings`` is a boolean, labels are strings.
* Every non-null fact has a source. ``source`` maps keys to free-text provenance (a
  ``repository@commit:path``, ``pypi:package==version:path``, a page address, or a statement
  such as "computed from dims"). A key names the facts it covers: a fact name
  (``hidden_size``), several joined with ``/`` (``params/license/embed_dim``), a group
  (``dims``: every dimension and the raw ``hf_config`` keys; ``params``: ``params_total``;
  ``card``: licence, task, gated, library), or a raw ``hf_config`` key. ``params_method``
  counts as the source of ``params_total`` when no ``params`` key is given. Keys that name no
  fact (``crosscheck``, ``license_check``) are kept as extra provenance.
* Dimensions, ``params_total``, ``hf_config`` keys and ``extras`` must be cited by the row.
  Labels (family, kind, task, architecture, model_type, library, licence, dtype, gated) that a
  row states without a citation are attributed to the row itself (``file:line``), which the
  catalog records as such.
* A row with ``"supplement": true`` adds sourced facts to a row of another file with the same
  ``repo_id``: it may fill a missing fact or confirm an equal one, never change one.

Usage::

    python scripts/build_catalog.py            # rebuild core/catalog/data/catalog.jsonl
    python scripts/build_catalog.py --check    # exit 1 if the committed file is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SOURCES_DIR = ROOT / "core" / "catalog" / "sources"
OUTPUT = ROOT / "core" / "catalog" / "data" / "catalog.jsonl"

KINDS = frozenset(
    {"llm", "embedding", "encoder", "seq2seq", "speech", "vision", "multimodal", "reranker"}
)

INT_DIMS = (
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
)
DIM_FACTS = (*INT_DIMS, "tie_word_embeddings")
#: Dimensions that layer-wise scaled families (OpenELM) give per layer, as a list.
PER_LAYER = ("num_attention_heads", "num_key_value_heads", "intermediate_size")
LABELS = (
    "family",
    "kind",
    "task",
    "architecture",
    "model_type",
    "library_name",
    "torch_dtype",
    "license",
    "gated",
)
CITED = ("params_total", *DIM_FACTS)
EXTRA_FACTS = (
    "embed_dim",
    "max_tokens",
    "image_size",
    "gmacs_per_image",
    "gflops_640",
    "imagenet_top1",
)

#: Output key order of a catalog line.
OUTPUT_KEYS = (
    "repo_id",
    "family",
    "kind",
    "task",
    "architecture",
    "model_type",
    "library_name",
    "params_total",
    *DIM_FACTS,
    "torch_dtype",
    "license",
    "gated",
    "hf_config",
    "extras",
    "notes",
    "source",
)

#: Raw Hugging Face keys some rows carry at top level: moved into ``hf_config``; the layer
#: counts also fill the catalog's own fields when those are absent.
RAW_HF_KEYS = {
    "encoder_layers": "num_hidden_layers",
    "decoder_layers": "num_decoder_layers",
    "max_source_positions": None,
    "max_target_positions": None,
    "num_mel_bins": None,
}
#: Alternative spellings of catalog fields in source rows.
ROW_ALIASES = {
    "pipeline_tag": "task",
    "max_tokens_st": "max_tokens",
    "max_text_tokens": "max_tokens",
}
#: Bookkeeping keys a row may carry that are not catalog facts.
BOOKKEEPING = frozenset(
    {
        "params_method",
        "params_check",
        "max_position_embeddings_verified",
        "max_position_embeddings_litgpt_block_size",
        "params_millions",
        "params_millions_readme",
        "release_date",
        "memory_usage_mb",
        "hub_note",
        "supplement",
    }
)
#: Source-key tokens that stand for groups of facts.
GROUPS: dict[str, tuple[str, ...]] = {
    "params": ("params_total",),
    "dims": (*DIM_FACTS, "hf_config:*"),
    "hf_config": ("hf_config:*",),
    "card": ("license", "task", "gated", "library_name"),
    "pipeline_tag": ("task",),
    "top1": ("imagenet_top1",),
    "img_size": ("image_size",),
    "gflops": ("gflops_640",),
    "gmacs": ("gmacs_per_image",),
}

KNOWN_KEYS = frozenset(
    {"repo_id", "source", "notes", "hf_config", "extras", "params_total"}
    | set(DIM_FACTS)
    | set(LABELS)
    | set(EXTRA_FACTS)
    | set(RAW_HF_KEYS)
    | set(ROW_ALIASES)
    | BOOKKEEPING
)


class BuildError(Exception):
    """A source row is invalid; the message starts with ``file:line``."""


@dataclass
class Row:
    """One validated source row, before merging supplements."""

    where: str
    repo_id: str
    supplement: bool
    facts: dict[str, Any]
    hf_config: dict[str, Any]
    extras: dict[str, Any]
    notes: list[str]
    fact_sources: dict[str, list[str]] = field(default_factory=dict)
    aux_sources: dict[str, str] = field(default_factory=dict)


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return path.name


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_types(where: str, row: dict[str, Any]) -> None:
    repo_id = row.get("repo_id")
    parts = repo_id.split("/") if isinstance(repo_id, str) else []
    if len(parts) != 2 or not all(parts) or any(c.isspace() for c in str(repo_id)):
        raise BuildError(f"{where}: repo_id must be 'owner/name', got {repo_id!r}")
    for key in (*INT_DIMS, "params_total"):
        value = row.get(key)
        if key in PER_LAYER and isinstance(value, list):
            layers = row.get("num_hidden_layers")
            if not value or not all(_is_int(v) and v > 0 for v in value):
                raise BuildError(
                    f"{where}: {repo_id}: {key} must be a positive integer or a list of them, "
                    f"got {value!r}"
                )
            if layers is not None and len(value) != layers:
                raise BuildError(
                    f"{where}: {repo_id}: {key} lists {len(value)} values for {layers} layers"
                )
            continue
        if value is not None and (not _is_int(value) or value <= 0):
            raise BuildError(f"{where}: {repo_id}: {key} must be a positive integer, got {value!r}")
    for key in (*RAW_HF_KEYS,):
        value = row.get(key)
        if value is not None and (not _is_int(value) or value <= 0):
            raise BuildError(f"{where}: {repo_id}: {key} must be a positive integer, got {value!r}")
    tie = row.get("tie_word_embeddings")
    if tie is not None and not isinstance(tie, bool):
        raise BuildError(f"{where}: {repo_id}: tie_word_embeddings must be true/false, got {tie!r}")
    for key in (
        "family",
        "task",
        "pipeline_tag",
        "architecture",
        "model_type",
        "library_name",
        "torch_dtype",
        "license",
        "notes",
        "hub_note",
        "params_method",
    ):
        value = row.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise BuildError(f"{where}: {repo_id}: {key} must be a non-empty string, got {value!r}")
    gated = row.get("gated")
    if gated is not None and not isinstance(gated, (bool, str)):
        raise BuildError(f"{where}: {repo_id}: gated must be a boolean or a string, got {gated!r}")
    kind = row.get("kind")
    if kind is not None and kind not in KINDS:
        raise BuildError(
            f"{where}: {repo_id}: kind must be one of {', '.join(sorted(KINDS))}, got {kind!r}"
        )
    for key in (*EXTRA_FACTS, "max_tokens_st", "max_text_tokens"):
        value = row.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0
        ):
            raise BuildError(f"{where}: {repo_id}: {key} must be a positive number, got {value!r}")
    for key in ("hf_config", "extras"):
        value = row.get(key)
        if value is not None and not isinstance(value, dict):
            raise BuildError(f"{where}: {repo_id}: {key} must be an object, got {value!r}")
    hf = row.get("hf_config") or {}
    for key, value in hf.items():
        if _is_int(value) and value < 0:
            raise BuildError(
                f"{where}: {repo_id}: hf_config.{key} must not be negative, got {value!r}"
            )
        if isinstance(value, (dict, list)) or value is None:
            raise BuildError(f"{where}: {repo_id}: hf_config.{key} must be a scalar, got {value!r}")
    source = row.get("source")
    if not isinstance(source, dict) or not source:
        raise BuildError(f"{where}: {repo_id}: missing source (a non-empty object)")
    for key, value in source.items():
        if not isinstance(key, str) or not key.strip():
            raise BuildError(f"{where}: {repo_id}: source keys must be non-empty strings")
        if not isinstance(value, str) or not value.strip():
            raise BuildError(f"{where}: {repo_id}: source[{key!r}] must be a non-empty string")


def _parse_row(where: str, row: dict[str, Any]) -> Row:
    unknown = sorted(set(row) - KNOWN_KEYS)
    if unknown:
        raise BuildError(f"{where}: unknown key(s) {', '.join(unknown)}")
    supplement = row.get("supplement", False)
    if not isinstance(supplement, bool):
        raise BuildError(f"{where}: supplement must be true/false, got {supplement!r}")
    required = ("repo_id", "source") if supplement else ("repo_id", "family", "kind", "source")
    for key in required:
        if key not in row or row[key] is None:
            what = "source (a non-empty object)" if key == "source" else key
            raise BuildError(f"{where}: missing {what}")
    _check_types(where, row)
    repo_id: str = row["repo_id"]

    facts: dict[str, Any] = {}
    extras: dict[str, Any] = dict(row.get("extras") or {})
    hf_config: dict[str, Any] = dict(row.get("hf_config") or {})
    for key, value in row.items():
        if value is None or key in BOOKKEEPING or key in ("repo_id", "source", "notes"):
            continue
        key = ROW_ALIASES.get(key, key)
        if key in ("hf_config", "extras"):
            continue
        if key in RAW_HF_KEYS:
            hf_config.setdefault(key, value)
            target = RAW_HF_KEYS[key]
            if target is not None and row.get(target) is None:
                facts[target] = value
        elif key in EXTRA_FACTS:
            extras[key] = int(value) if isinstance(value, float) and value.is_integer() else value
        else:
            facts[key] = value

    notes = [row["notes"]] if row.get("notes") else []
    if row.get("hub_note"):
        notes.append(row["hub_note"])
    if row.get("max_position_embeddings_verified") is False:
        notes.append("max_position_embeddings not independently verified")

    parsed = Row(where, repo_id, supplement, facts, hf_config, extras, notes)
    _resolve_sources(parsed, row)
    return parsed


def _resolve_sources(parsed: Row, row: dict[str, Any]) -> None:
    """Attach each fact of ``parsed`` to the source entries that cite it."""
    source: dict[str, str] = row["source"]
    covered: dict[str, list[str]] = {}
    for key, text in source.items():
        targets: list[str] = []
        for token in key.split("/"):
            token = token.strip()
            if token in GROUPS:
                targets.extend(GROUPS[token])
            elif token in ROW_ALIASES:
                targets.append(ROW_ALIASES[token])
            elif token in CITED or token in LABELS or token in EXTRA_FACTS:
                targets.append(token)
            elif token in parsed.hf_config or token in RAW_HF_KEYS:
                targets.append(f"hf_config:{token}")
        if not targets:
            parsed.aux_sources[key] = text
            continue
        for target in targets:
            if target == "hf_config:*":
                for hf_key in parsed.hf_config:
                    covered.setdefault(f"hf_config:{hf_key}", []).append(text)
            else:
                covered.setdefault(target, []).append(text)
        for target in targets:
            target_field = RAW_HF_KEYS.get(target.removeprefix("hf_config:"))
            if target.startswith("hf_config:") and target_field is not None:
                covered.setdefault(target_field, []).append(text)
    if "params_total" not in covered and row.get("params_method"):
        covered["params_total"] = [str(row["params_method"])]
    elif "params_total" in covered and row.get("params_method"):
        covered["params_total"] = [
            f"{t} [method: {row['params_method']}]" for t in covered["params_total"]
        ]
    if isinstance(row.get("params_check"), dict):
        check = row["params_check"]
        parsed.aux_sources["params_check"] = (
            f"{check.get('value')} by {check.get('method')} ({check.get('source')}); "
            f"agrees={check.get('agrees')}"
        )
    parsed.fact_sources = covered


def _read_rows(sources_dir: Path) -> list[Row]:
    files = sorted(sources_dir.glob("*.jsonl"))
    if not files:
        raise BuildError(f"{_display(sources_dir)}: no *.jsonl source files")
    rows: list[Row] = []
    for path in files:
        name = _display(path)
        with path.open(encoding="utf-8") as handle:
            for number, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                where = f"{name}:{number}"
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise BuildError(f"{where}: not valid JSON ({exc.msg})") from None
                if not isinstance(obj, dict):
                    raise BuildError(f"{where}: a row must be a JSON object")
                rows.append(_parse_row(where, obj))
    return rows


def _merge(rows: list[Row]) -> list[Row]:
    primaries: dict[str, Row] = {}
    for row in rows:
        if row.supplement:
            continue
        key = row.repo_id.casefold()
        if key in primaries:
            raise BuildError(
                f"{row.where}: duplicate repo_id {row.repo_id!r} (first at {primaries[key].where})"
            )
        primaries[key] = row
    for sup in rows:
        if not sup.supplement:
            continue
        base = primaries.get(sup.repo_id.casefold())
        if base is None:
            raise BuildError(f"{sup.where}: supplement for unknown repo_id {sup.repo_id!r}")
        for name, value in sup.facts.items():
            old = base.facts.get(name)
            if old is not None and old != value:
                raise BuildError(
                    f"{sup.where}: {sup.repo_id}: supplement sets {name}={value!r} but "
                    f"{base.where} has {old!r}"
                )
            base.facts[name] = value
            base.fact_sources.setdefault(name, []).extend(sup.fact_sources.get(name, []))
        for name, value in sup.hf_config.items():
            old = base.hf_config.get(name)
            if old is not None and old != value:
                raise BuildError(
                    f"{sup.where}: {sup.repo_id}: supplement sets hf_config.{name}={value!r} but "
                    f"{base.where} has {old!r}"
                )
            base.hf_config[name] = value
            slot = f"hf_config:{name}"
            base.fact_sources.setdefault(slot, []).extend(sup.fact_sources.get(slot, []))
        for name, value in sup.extras.items():
            base.extras[name] = value
            base.fact_sources.setdefault(name, []).extend(sup.fact_sources.get(name, []))
        base.notes.extend(sup.notes)
        for key, text in sup.aux_sources.items():
            base.aux_sources.setdefault(key, text)
    return list(primaries.values())


def _check_consistency(row: Row) -> None:
    facts = row.facts
    heads, kv = facts.get("num_attention_heads"), facts.get("num_key_value_heads")
    if isinstance(heads, list) != isinstance(kv, list) or (
        isinstance(heads, list) and isinstance(kv, list) and len(heads) != len(kv)
    ):
        raise BuildError(
            f"{row.where}: {row.repo_id}: num_attention_heads and num_key_value_heads must both "
            "be integers or per-layer lists of the same length"
        )
    pairs: list[tuple[int, int]] = []
    if isinstance(heads, list) and isinstance(kv, list):
        pairs = list(zip(heads, kv, strict=True))
    elif isinstance(heads, int) and isinstance(kv, int):
        pairs = [(heads, kv)]
    for h, k in pairs:
        if k > h or h % k:
            raise BuildError(
                f"{row.where}: {row.repo_id}: num_key_value_heads={kv} must divide "
                f"num_attention_heads={heads}"
            )
    experts, active = facts.get("num_experts"), facts.get("num_experts_per_tok")
    if active and not experts:
        raise BuildError(f"{row.where}: {row.repo_id}: num_experts_per_tok without num_experts")
    if experts and active and active > experts:
        raise BuildError(
            f"{row.where}: {row.repo_id}: num_experts_per_tok={active} > num_experts={experts}"
        )


def _finalise(row: Row, dropped: Counter[str]) -> dict[str, Any]:
    """Check citations and produce the catalog object of one merged row."""
    _check_consistency(row)
    sources = row.fact_sources
    fact_source: dict[str, str] = {}

    def joined(slot: str) -> str | None:
        texts = list(dict.fromkeys(sources.get(slot, [])))
        return " | ".join(texts) if texts else None

    for name in CITED:
        if row.facts.get(name) is None:
            continue
        text = joined(name)
        if text is None:
            raise BuildError(f"{row.where}: {row.repo_id}: fact {name!r} has no source")
        fact_source[name] = text
    hf_texts: list[str] = []
    for key in row.hf_config:
        text = joined(f"hf_config:{key}")
        if text is None:
            raise BuildError(f"{row.where}: {row.repo_id}: hf_config.{key} has no source")
        hf_texts.append(text)
    if row.hf_config:
        fact_source["hf_config"] = " | ".join(dict.fromkeys(hf_texts))
    extras: dict[str, Any] = {}
    for key, value in row.extras.items():
        text = joined(key)
        if text is None:
            dropped[key] += 1
            continue
        extras[key] = value
        fact_source[f"extras.{key}"] = text
    for name in LABELS:
        if row.facts.get(name) is None:
            continue
        fact_source[name] = joined(name) or (
            f"{row.where} (recorded in the source row; no per-fact citation)"
        )

    # Store the provenance grouped: facts sharing one text share one key ("a/b/c").
    grouped: dict[str, list[str]] = {}
    for name, text in fact_source.items():
        grouped.setdefault(text, []).append(name)
    source_out = {"/".join(names): text for text, names in grouped.items()}
    for key, text in row.aux_sources.items():
        source_out[f"~{key}"] = text

    out: dict[str, Any] = {"repo_id": row.repo_id}
    for key in OUTPUT_KEYS[1:]:
        if key == "hf_config":
            out[key] = dict(sorted(row.hf_config.items()))
        elif key == "extras":
            out[key] = dict(sorted(extras.items()))
        elif key == "notes":
            out[key] = "; ".join(dict.fromkeys(row.notes)) or None
        elif key == "source":
            out[key] = dict(sorted(source_out.items()))
        else:
            out[key] = row.facts.get(key)
    return out


@dataclass(frozen=True)
class BuildResult:
    """The built catalog text and what went into it."""

    text: str
    entries: int
    per_file: dict[str, int]
    supplements: int
    kinds: dict[str, int]
    dropped_extras: dict[str, int]


def build(sources_dir: Path = SOURCES_DIR) -> BuildResult:
    """Validate and normalise every source row.

    Args:
        sources_dir: Folder holding the ``*.jsonl`` fact files.

    Returns:
        The catalog text (one JSON object per line) and a summary.

    Raises:
        BuildError: A row is invalid; the message names ``file:line``.
    """
    rows = _read_rows(sources_dir)
    merged = _merge(rows)
    dropped: Counter[str] = Counter()
    objects = [_finalise(row, dropped) for row in merged]
    objects.sort(key=lambda o: (o["repo_id"].casefold(), o["repo_id"]))
    lines = [json.dumps(o, ensure_ascii=False, separators=(",", ":")) for o in objects]
    per_file = Counter(r.where.rsplit(":", 1)[0] for r in rows if not r.supplement)
    return BuildResult(
        text="\n".join(lines) + "\n",
        entries=len(objects),
        per_file=dict(sorted(per_file.items())),
        supplements=sum(r.supplement for r in rows),
        kinds=dict(sorted(Counter(o["kind"] for o in objects).items())),
        dropped_extras=dict(sorted(dropped.items())),
    )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the output is stale")
    parser.add_argument("--sources", type=Path, default=SOURCES_DIR, help="folder of *.jsonl")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="catalog file to write")
    args = parser.parse_args(argv)
    try:
        result = build(args.sources)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.check:
        current = args.output.read_bytes() if args.output.is_file() else b""
        if current != result.text.encode("utf-8"):
            print(
                f"error: {_display(args.output)} is out of date; "
                "run python scripts/build_catalog.py",
                file=sys.stderr,
            )
            return 1
        print(f"{_display(args.output)} is up to date ({result.entries} models)")
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(result.text.encode("utf-8"))
    files = ", ".join(f"{Path(name).name} {count}" for name, count in result.per_file.items())
    kinds = ", ".join(f"{kind} {count}" for kind, count in result.kinds.items())
    print(f"wrote {_display(args.output)}: {result.entries} models ({kinds})")
    print(f"  from {files}; {result.supplements} supplement row(s)")
    if result.dropped_extras:
        dropped = ", ".join(f"{key} x{n}" for key, n in result.dropped_extras.items())
        print(f"  left out uncited extras: {dropped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
