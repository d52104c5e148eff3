"""Local model source: what is already downloaded in the Hugging Face cache.

:func:`scan_models` lists the model repositories ``huggingface_hub.scan_cache_dir`` finds (size
on disk, revisions, timestamps); :func:`cache_rows` analyses each from its cached ``config.json``
and safetensors headers, as ``analyze DIR`` analyses a model directory, and returns browser rows
with ``source="cache"``.

The cache is the layout ``huggingface_hub`` writes::

    <cache>/models--<org>--<name>/blobs/<hash>
    <cache>/models--<org>--<name>/snapshots/<commit>/<file> -> ../../blobs/<hash>
    <cache>/models--<org>--<name>/refs/main                 (holds <commit>)

Nothing here raises for a broken cache: a missing cache directory, a corrupted repository or an
unreadable file becomes a one-line notice (scan) or a row whose ``error`` says
``"cannot analyse: …"``. Only the safetensors header of a weights file is read, never the
weights, and a snapshot file whose symlink leads outside the cache directory is not read at all.

``huggingface_hub`` is imported inside :func:`scan_models`, so importing this module stays
cheap. The default cache directory is resolved from the environment when :func:`scan_models`
runs (``HF_HUB_CACHE``, else ``HF_HOME/hub``, else ``$XDG_CACHE_HOME/huggingface/hub``, else
``~/.cache/huggingface/hub``), the way the library resolves it at its import.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from core.analysis.formats import safetensors
from core.analysis.model_config import ArchitectureClass, ModelConfig, from_hf_config
from core.catalog.rows import AnalysisSettings, ModelRow
from core.catalog.targets import _row
from core.errors import AnalysisError

if TYPE_CHECKING:
    from huggingface_hub import CachedRepoInfo, CachedRevisionInfo

MAX_CONFIG_BYTES = 16 * 1024 * 1024
"""A ``config.json`` larger than this is refused rather than read."""

_NOTICE_WIDTH = 300
_REPO_DIR = re.compile(r"(models|datasets|spaces|kernels)--.+")


class CachedRevision(NamedTuple):
    """One cached revision (a ``snapshots/<commit>`` folder).

    Attributes:
        commit: The first 12 characters of the commit hash.
        refs: Branches/tags pointing at it (``("main",)``), sorted; empty when detached.
        size_on_disk_bytes: Sum of the distinct blobs it links to.
        snapshot_path: The ``snapshots/<commit>`` folder.
    """

    commit: str
    refs: tuple[str, ...]
    size_on_disk_bytes: int
    snapshot_path: Path


@dataclass(frozen=True)
class CachedModel:
    """A model repository found in the Hugging Face cache.

    Attributes:
        repo_id: ``org/name``.
        repo_type: Always ``"model"`` for what :func:`scan_models` returns.
        repo_path: The ``models--org--name`` folder.
        cache_dir: The (resolved) cache directory it was found in; files are only read inside it.
        size_on_disk_bytes: Sum of the repo's blobs (a blob shared by revisions counts once), as
            ``scan_cache_dir`` computes it; partial downloads are not included.
        nb_files: Blob files.
        revisions: Every cached revision, the analysed one first, then newest first.
        last_accessed: Latest access time of a blob (POSIX timestamp; OS-dependent reliability).
        last_modified: Latest modification time of a blob (POSIX timestamp).
        snapshot_path: The snapshot analysed: the revision ``main`` points to, else the most
            recently modified; None when the repo has no snapshot.
        revision: The analysed revision's commit (12 characters), or None.
        incomplete_bytes: Bytes in ``blobs/*.incomplete`` (interrupted or running downloads).
    """

    repo_id: str
    repo_type: str
    repo_path: Path
    cache_dir: Path
    size_on_disk_bytes: int
    nb_files: int
    revisions: tuple[CachedRevision, ...]
    last_accessed: float
    last_modified: float
    snapshot_path: Path | None
    revision: str | None
    incomplete_bytes: int = 0

    @property
    def revision_count(self) -> int:
        """How many revisions are cached."""
        return len(self.revisions)


# --------------------------------------------------------------------------------------------
# Scanning
# --------------------------------------------------------------------------------------------


def default_cache_dir() -> Path:
    """The Hugging Face hub cache directory the environment names, resolved now.

    Mirrors ``huggingface_hub.constants``: ``HF_HUB_CACHE`` (or the legacy
    ``HUGGINGFACE_HUB_CACHE``), else ``HF_HOME/hub``, else ``$XDG_CACHE_HOME/huggingface/hub``,
    else ``~/.cache/huggingface/hub``.
    """
    env = os.environ
    hub = env.get("HF_HUB_CACHE") or env.get("HUGGINGFACE_HUB_CACHE")
    if hub:
        return Path(os.path.expanduser(os.path.expandvars(hub)))
    home = env.get("HF_HOME") or os.path.join(
        env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface"
    )
    return Path(os.path.expanduser(os.path.expandvars(home))) / "hub"


def scan_models(cache_dir: Path | None = None) -> tuple[list[CachedModel], list[str]]:
    """List the model repositories in the Hugging Face cache.

    Wraps ``huggingface_hub.scan_cache_dir``. Datasets, spaces and kernels are skipped.

    Args:
        cache_dir: The hub cache directory (default: :func:`default_cache_dir`).

    Returns:
        The models, sorted by id, and one-line notices: ``"no Hugging Face cache at PATH"`` when
        the directory does not exist, one per corrupted model repository or unexpected entry
        (the library's scan warnings), one when the directory cannot be scanned at all. Stray
        files that are not repositories (``version.txt``) and broken dataset/space repositories
        give no notice. Never raises.
    """
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    try:
        if not root.exists():
            return [], [f"no Hugging Face cache at {root}"]
        if not root.is_dir():
            return [], [f"Hugging Face cache {root} is not a directory"]
        root = root.resolve()
    except (OSError, RuntimeError) as exc:
        return [], [_notice(f"Hugging Face cache {root}: cannot read ({_reason(exc)})")]

    from huggingface_hub import CacheNotFound, CorruptedCacheException, scan_cache_dir

    repos: Iterable[CachedRepoInfo]
    warnings: Sequence[BaseException]
    try:
        info = scan_cache_dir(root)
    except CacheNotFound:  # removed since the check above
        return [], [f"no Hugging Face cache at {root}"]
    except CorruptedCacheException as exc:
        return [], [_notice(f"Hugging Face cache {root}: {exc}")]
    except (OSError, ValueError, RuntimeError) as exc:
        # One unreadable file (a ref, a blob's stat) aborts the library's whole scan: go on
        # repository by repository so the others are still listed.
        repos, warnings = _scan_each(root, exc)
    else:
        repos, warnings = info.repos, info.warnings

    notices = [_notice(f"Hugging Face cache: {w}") for w in warnings if _worth_notice(w, root)]
    models = [_cached_model(repo, root) for repo in repos if repo.repo_type == "model"]
    models.sort(key=lambda m: m.repo_id.lower())
    return models, notices


def _scan_each(
    root: Path, first: BaseException
) -> tuple[list[CachedRepoInfo], list[BaseException]]:
    """Scan each repository folder alone, collecting failures as warnings."""
    try:
        from huggingface_hub.utils._cache_manager import _scan_cached_repo
    except ImportError:  # pragma: no cover - a huggingface_hub without the per-repo scanner
        return [], [RuntimeError(f"cannot scan {root} ({_reason(first)})")]
    from huggingface_hub import CorruptedCacheException

    repos: list[CachedRepoInfo] = []
    warnings: list[BaseException] = []
    try:
        entries = sorted(root.iterdir())
    except OSError as exc:
        return [], [RuntimeError(f"cannot list {root} ({_reason(exc)})")]
    for entry in entries:
        if not _REPO_DIR.fullmatch(entry.name):
            continue
        try:
            repos.append(_scan_cached_repo(entry))
        except CorruptedCacheException as exc:
            warnings.append(exc)
        except (OSError, ValueError, RuntimeError) as exc:
            warnings.append(RuntimeError(f"cannot read {entry} ({_reason(exc)})"))
    return repos, warnings


def _worth_notice(warning: BaseException, root: Path) -> bool:
    """False for warnings about entries that are not model repositories.

    ``version.txt`` (which transformers leaves in the cache) and other stray entries are not
    repositories; a broken dataset or space is not something the Models browser lost.
    """
    text = str(warning)
    prefix = str(root) + os.sep
    start = text.find(prefix)
    if start < 0:
        return True
    name = re.split(r"[/\\\s)]", text[start + len(prefix) :], maxsplit=1)[0]
    return name.startswith("models--")


def _cached_model(repo: CachedRepoInfo, root: Path) -> CachedModel:
    chosen = _analysed_revision(repo.revisions)
    ordered = sorted(
        repo.revisions,
        key=lambda r: (r is not chosen, -r.last_modified, r.commit_hash),
    )
    return CachedModel(
        repo_id=repo.repo_id,
        repo_type=repo.repo_type,
        repo_path=repo.repo_path,
        cache_dir=root,
        size_on_disk_bytes=repo.size_on_disk,
        nb_files=repo.nb_files,
        revisions=tuple(
            CachedRevision(
                r.commit_hash[:12], tuple(sorted(r.refs)), r.size_on_disk, r.snapshot_path
            )
            for r in ordered
        ),
        last_accessed=repo.last_accessed,
        last_modified=repo.last_modified,
        snapshot_path=chosen.snapshot_path if chosen is not None else None,
        revision=chosen.commit_hash[:12] if chosen is not None else None,
        incomplete_bytes=_incomplete_bytes(repo.repo_path),
    )


def _analysed_revision(revisions: Iterable[CachedRevisionInfo]) -> CachedRevisionInfo | None:
    """The revision ``main`` points to, else the most recently modified one."""
    candidates = sorted(revisions, key=lambda r: (-r.last_modified, r.commit_hash))
    for revision in candidates:
        if "main" in revision.refs:
            return revision
    return candidates[0] if candidates else None


def _incomplete_bytes(repo_path: Path) -> int:
    total = 0
    try:
        for path in (repo_path / "blobs").glob("*.incomplete"):
            try:
                total += path.stat().st_size
            except OSError:
                continue
    except OSError:
        return total
    return total


# --------------------------------------------------------------------------------------------
# Analysis
# --------------------------------------------------------------------------------------------


def cache_rows(models: Iterable[CachedModel], settings: AnalysisSettings) -> list[ModelRow]:
    """Analyse every cached model repository for ``settings`` (non-model repos are skipped)."""
    return [analyze_cached(m, settings) for m in models if m.repo_type == "model"]


def analyze_cached(model: CachedModel, settings: AnalysisSettings) -> ModelRow:
    """Analyse one cached model from its snapshot; failures become ``error`` (never raised).

    The parameter count is the safetensors headers' total (exact) when every weights file is
    cached, else the ``config.json`` formula. Task and kind come from the config's
    ``architectures`` where they are unambiguous (``*ForCausalLM`` → text-generation), else
    they stay unknown. ``facts`` is ``model`` (size on disk, revisions, timestamps).
    """
    header: safetensors.SafetensorsHeader | None = None
    cfg: ModelConfig | None = None
    try:
        snapshot = _snapshot(model)
        names = _top_level_files(snapshot)
        weights, missing = _weights_files(model, snapshot, names)
        if weights and not missing:
            header = _read_headers(model, snapshot, weights)
        if "config.json" in names:
            cfg = _read_config(model, snapshot / "config.json")
        elif header is None:
            raise AnalysisError(_nothing_to_analyse(snapshot, names, missing, weights))
        row = _row(model.repo_id, cfg, header, settings)
    except (AnalysisError, OSError, ValueError, RuntimeError) as exc:
        return _error_row(model, cfg, header, exc)
    task, kind = _task_kind(cfg)
    if header is None and missing:
        method = f"{row.params_method}; safetensors incomplete ({len(missing)} shard(s) missing)"
        row = replace(row, params_method=method)
    return replace(row, source="cache", task=task, kind=kind, facts=model)


def _snapshot(model: CachedModel) -> Path:
    if model.snapshot_path is None:
        raise AnalysisError(f"{model.repo_id}: no cached snapshot")
    if not model.snapshot_path.is_dir():
        raise AnalysisError(f"{model.repo_id}: snapshot {model.snapshot_path} is gone")
    return model.snapshot_path


def _top_level_files(snapshot: Path) -> set[str]:
    return {p.name for p in snapshot.iterdir() if not p.is_dir()}


def _weights_files(
    model: CachedModel, snapshot: Path, names: set[str]
) -> tuple[list[str], list[str]]:
    """The safetensors files that make up the model, and those of them not cached.

    With a ``model.safetensors.index.json``, the shards its ``weight_map`` names (so a
    ``consolidated.safetensors`` shipped beside the shards is not counted twice); without one,
    every top-level ``*.safetensors``.
    """
    index_name = "model.safetensors.index.json"
    if index_name in names:
        index = _read_json(model, snapshot / index_name, index_name)
        weight_map = index.get("weight_map")
        if isinstance(weight_map, dict) and weight_map:
            shards = sorted({str(v) for v in weight_map.values()})
            if all("/" not in s and s.endswith(".safetensors") for s in shards):
                return shards, [s for s in shards if s not in names]
    return sorted(n for n in names if n.endswith(".safetensors")), []


def _nothing_to_analyse(
    snapshot: Path, names: set[str], missing: list[str], weights: list[str]
) -> str:
    if missing:
        return (
            f"only {len(weights) - len(missing)} of {len(weights)} safetensors shards are cached "
            "and there is no config.json"
        )
    try:
        has_gguf = any(snapshot.rglob("*.gguf"))
    except OSError:
        has_gguf = False
    if has_gguf:
        return "GGUF-only repository (no config.json or safetensors; GGUF files are not read)"
    if not names:
        return "the cached snapshot is empty"
    return "no config.json and no safetensors weights in the cached snapshot"


def _inside_cache(model: CachedModel, path: Path) -> Path:
    """The real file behind ``path`` (symlinks followed), refused outside the cache directory."""
    where = f"{model.repo_id}/{path.name}"
    try:
        real = path.resolve(strict=True)
    except FileNotFoundError:
        raise AnalysisError(f"{where}: broken symlink (blob missing)") from None
    except (OSError, RuntimeError) as exc:
        raise AnalysisError(f"{where}: cannot resolve ({_reason(exc)})") from None
    root = model.cache_dir.resolve()
    if not real.is_relative_to(root):
        raise AnalysisError(f"{where}: symlink points outside the cache ({real}); not read")
    if not real.is_file():
        raise AnalysisError(f"{where}: not a regular file")
    return real


def _read_json(model: CachedModel, path: Path, name: str) -> dict[str, Any]:
    where = f"{model.repo_id}/{name}"
    real = _inside_cache(model, path)
    try:
        with real.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise AnalysisError(f"{where}: cannot read ({_reason(exc)})") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise AnalysisError(f"{where}: larger than {MAX_CONFIG_BYTES:,} bytes; not read")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise AnalysisError(f"{where}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise AnalysisError(
            f"{where}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if not isinstance(data, dict):
        raise AnalysisError(f"{where}: must hold a JSON object")
    return data


def _read_config(model: CachedModel, path: Path) -> ModelConfig:
    data = _read_json(model, path, "config.json")
    return from_hf_config(data, source=f"{model.repo_id}/config.json")


def _read_headers(
    model: CachedModel, snapshot: Path, names: Sequence[str]
) -> safetensors.SafetensorsHeader:
    """Sum the headers of the named safetensors files (only the headers are read)."""
    dtypes: Counter[str] = Counter()
    params = tensors = 0
    for name in names:
        real = _inside_cache(model, snapshot / name)
        where = f"{model.repo_id}/{name}"
        try:
            with real.open("rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                header = safetensors.read_header(handle, size=size, where=where)
        except OSError as exc:
            raise AnalysisError(f"{where}: cannot read ({_reason(exc)})") from None
        dtypes.update(header.dtypes)
        params += header.params
        tensors += header.tensors
    return safetensors.SafetensorsHeader(params, dict(dtypes), tensors)


# (suffix of the architecture name, task, kind); the first match wins.
_ARCH_TASKS: tuple[tuple[str, str, str], ...] = (
    ("ForCausalLM", "text-generation", "llm"),
    ("LMHeadModel", "text-generation", "llm"),
    ("ForMaskedLM", "fill-mask", "encoder"),
    ("ForSequenceClassification", "text-classification", "encoder"),
    ("ForTokenClassification", "token-classification", "encoder"),
    ("ForQuestionAnswering", "question-answering", "encoder"),
    ("ForSpeechSeq2Seq", "automatic-speech-recognition", "speech"),
    ("ForImageClassification", "image-classification", "vision"),
)

# "*ForConditionalGeneration" is a T5, a Whisper or a Gemma 3: the class decides.
_CONDITIONAL: dict[ArchitectureClass, tuple[str, str]] = {
    "encoder-decoder": ("text2text-generation", "seq2seq"),
    "speech": ("automatic-speech-recognition", "speech"),
    "multimodal": ("image-text-to-text", "multimodal"),
    "decoder-only": ("text-generation", "llm"),
}


def _task_kind(cfg: ModelConfig | None) -> tuple[str | None, str | None]:
    """Task and kind from the config's first architecture, when it says; else unknown."""
    if cfg is None or not cfg.architecture:
        return None, None
    arch = cfg.architecture
    for suffix, task, kind in _ARCH_TASKS:
        if arch.endswith(suffix):
            return task, kind
    if arch.endswith("ForConditionalGeneration") and cfg.architecture_class in _CONDITIONAL:
        return _CONDITIONAL[cfg.architecture_class]
    if arch.endswith("Model") and cfg.architecture_class == "encoder-only":
        return "feature-extraction", "embedding"  # a bare encoder: sentence embeddings
    return None, None


def _error_row(
    model: CachedModel,
    cfg: ModelConfig | None,
    header: safetensors.SafetensorsHeader | None,
    exc: BaseException,
) -> ModelRow:
    known = header is not None and header.params > 0
    return ModelRow(
        id=model.repo_id,
        source="cache",
        task=None,
        kind=None,
        family=cfg.model_type if cfg is not None else None,
        licence=None,
        downloads=None,
        likes=None,
        params_total=header.params if header is not None and known else None,
        params_method=(
            f"safetensors header ({header.tensors} tensors, exact)"
            if header is not None and known
            else ""
        ),
        analysis=None,
        error=_one_line(f"cannot analyse: {_reason(exc)}"),
        facts=model,
    )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _notice(text: str) -> str:
    """One line, clipped to fit a notice."""
    line = _one_line(text)
    return line if len(line) <= _NOTICE_WIDTH else line[: _NOTICE_WIDTH - 1] + "…"
