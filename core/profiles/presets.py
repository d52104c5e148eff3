"""Model presets against the disk: validate a preset's files, and find models to offer presets for.

:func:`validate_preset` checks that the weights (and tokenizer) exist and can be read, that the
weights really are in the preset's format (the safetensors header, the ``GGUF`` magic), and that
their size on disk is within 10% of ``size_gb``.

:func:`detect_models` looks where local runners keep models: the Hugging Face cache, LM
Studio's models folder, Ollama's manifests and blobs, and llama.cpp's cache and model folders;
each model found comes with a ready :class:`~core.profiles.models.ModelPreset`.

Neither ever raises for what it finds on disk: problems are results.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from core.profiles.models import ModelPreset, WeightsFormat

SIZE_TOLERANCE = 0.10
"""How far the size on disk may be from ``size_gb`` (a fraction of ``size_gb``)."""

GB = 1e9
GGUF_MAGIC = b"GGUF"

_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "safetensors": (".safetensors",),
    "gguf": (".gguf",),
    "onnx": (".onnx",),
    # gemma.cpp's single-file formats (.sbs, or weights without an extension)
    "sfp": (".sbs",),
    "bf16": (".sbs",),
    "f32": (".sbs",),
    "nuq": (".sbs",),
}
_SHARD = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$")
_MAX_FILES = 5000


@dataclass(frozen=True)
class Check:
    """One check of a preset.

    Attributes:
        name: ``"weights"``, ``"tokenizer"``, ``"format"`` or ``"size"``.
        ok: True when it passed (also True for a check with nothing to do, with a note).
        message: What was found.
    """

    name: str
    ok: bool
    message: str


@dataclass(frozen=True)
class ValidationReport:
    """What :func:`validate_preset` found.

    Attributes:
        preset: The preset's name.
        checks: The checks, in order.
        files: The weights files checked.
        size_bytes: Their total size.
    """

    preset: str
    checks: tuple[Check, ...]
    files: tuple[Path, ...] = ()
    size_bytes: int = 0

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(check.ok for check in self.checks)

    def to_json(self) -> dict[str, object]:
        """As ``preset validate --json`` prints it."""
        return {
            "preset": self.preset,
            "ok": self.ok,
            "checks": [{"name": c.name, "ok": c.ok, "message": c.message} for c in self.checks],
            "files": [str(f) for f in self.files],
            "size_bytes": self.size_bytes,
        }


def hf_snapshot(model_id: str, cache_dir: Path | None = None) -> Path | None:
    """The cached snapshot folder of ``model_id`` (the revision ``main`` points to, else the
    newest), or None when it is not in the Hugging Face cache."""
    from core.catalog.cache import default_cache_dir

    root = cache_dir if cache_dir is not None else default_cache_dir()
    repo = root / ("models--" + model_id.replace("/", "--"))
    snapshots = repo / "snapshots"
    try:
        commit = (repo / "refs" / "main").read_text(encoding="utf-8").strip()
    except OSError:
        commit = ""
    if commit and (snapshots / commit).is_dir():
        return snapshots / commit
    try:
        candidates = [p for p in snapshots.iterdir() if p.is_dir()]
    except OSError:
        return None
    return max(candidates, key=lambda p: p.stat().st_mtime) if candidates else None


def weights_files(location: Path, fmt: WeightsFormat) -> list[Path]:
    """The weights files of ``location`` in ``fmt``: the file itself, or those in the folder.

    For a sharded GGUF (``-00001-of-00003.gguf``) every shard is listed; ``mmproj`` vision
    projectors are left out.
    """
    if not location.is_dir():
        shard = _SHARD.search(location.name)
        if shard:
            stem = location.name[: shard.start()]
            shards = sorted(location.parent.glob(f"{stem}-*-of-{shard.group(2)}.gguf"))
            return shards or [location]
        return [location]
    extensions = _EXTENSIONS[fmt]
    files = sorted(
        p
        for p in location.iterdir()
        if p.suffix.lower() in extensions and not p.name.lower().startswith("mmproj")
    )
    return [p for p in files if p.is_file()]


def _locate(preset: ModelPreset, cache_dir: Path | None) -> tuple[Path | None, str]:
    if preset.weights:
        return Path(preset.weights).expanduser(), ""
    assert preset.model_id is not None
    snapshot = hf_snapshot(preset.model_id, cache_dir)
    if snapshot is None:
        return None, (
            f"{preset.model_id} is not in the Hugging Face cache; download it "
            f"(huggingface-cli download {preset.model_id}) or set weights to its path"
        )
    return snapshot, ""


def _readable(path: Path) -> str | None:
    """Why ``path`` cannot be read (None: it can)."""
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except FileNotFoundError:
        return f"{path} does not exist"
    except PermissionError:
        return f"{path} is not readable (permission denied)"
    except IsADirectoryError:
        return None
    except OSError as exc:
        return f"{path} cannot be read ({exc.strerror})"
    return None


def _format_problem(path: Path, fmt: WeightsFormat) -> str | None:
    """Why ``path`` is not a ``fmt`` file (None: it is, or the format has no magic)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
            size = os.fstat(handle.fileno()).st_size
            if fmt == "gguf":
                if head[:4] != GGUF_MAGIC:
                    return f"{path.name} is not GGUF (starts with {head[:4]!r}, not b'GGUF')"
                return None
            if fmt == "safetensors":
                from core.analysis.formats.safetensors import read_header
                from core.errors import AnalysisError

                handle.seek(0)
                if head[:4] == GGUF_MAGIC:
                    return f"{path.name} is a GGUF file, not safetensors"
                try:
                    read_header(handle, size=size, where=path.name)
                except AnalysisError as exc:
                    return f"not a valid safetensors file: {exc}"
    except OSError as exc:
        return f"{path} cannot be read ({exc.strerror})"
    return None


def validate_preset(preset: ModelPreset, *, hf_cache: Path | None = None) -> ValidationReport:
    """Check a preset against the disk. Reads only file headers, never the weights.

    Args:
        preset: The preset.
        hf_cache: The Hugging Face cache (default: where the environment says) for ``model_id``.
    """
    checks: list[Check] = []
    location, problem = _locate(preset, hf_cache)
    files: list[Path] = []
    if location is None:
        checks.append(Check("weights", False, problem))
    else:
        why = _readable(location)
        if why:
            checks.append(Check("weights", False, why))
        else:
            try:
                files = weights_files(location, preset.format)
            except OSError as exc:
                checks.append(Check("weights", False, f"{location}: cannot list ({exc.strerror})"))
            else:
                unreadable = [w for w in (_readable(f) for f in files) if w]
                if not files:
                    wanted = " or ".join(_EXTENSIONS[preset.format])
                    checks.append(Check("weights", False, f"no {wanted} files in {location}"))
                elif unreadable:
                    checks.append(Check("weights", False, unreadable[0]))
                else:
                    count = f"{len(files)} files in " if len(files) > 1 else ""
                    checks.append(Check("weights", True, f"{count}{location}"))
    if preset.tokenizer:
        tokenizer = Path(preset.tokenizer).expanduser()
        why = _readable(tokenizer)
        checks.append(Check("tokenizer", why is None, why or str(tokenizer)))
    size = 0
    if files and all(c.ok for c in checks if c.name == "weights"):
        problems = [p for p in (_format_problem(f, preset.format) for f in files[:64]) if p]
        if problems:
            checks.append(Check("format", False, problems[0]))
        elif preset.format in ("gguf", "safetensors"):
            checks.append(Check("format", True, f"{preset.format} header checked"))
        else:
            checks.append(Check("format", True, f"{preset.format} has no header to check"))
        size = sum(_size(f) for f in files)
        if preset.size_gb is None:
            checks.append(Check("size", True, f"{size / GB:.3g} GB on disk; size_gb not set"))
        else:
            expected = preset.size_gb * GB
            off = abs(size - expected) / expected
            within = off <= SIZE_TOLERANCE
            message = f"{size / GB:.3g} GB on disk, size_gb {preset.size_gb:g}"
            if not within:
                message += f" ({off:.0%} off, more than 10%): set size_gb to {size / GB:.3g}"
            checks.append(Check("size", within, message))
    return ValidationReport(preset.name, tuple(checks), tuple(files), size)


def _gb(size: int) -> float | None:
    """Bytes as GB to three significant digits (None for an empty file)."""
    return float(f"{size / GB:.3g}") if size > 0 else None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


# -------------------------------------------------------------------------------- detection


@dataclass(frozen=True)
class DetectedModel:
    """A model found on disk, with the preset offered for it.

    Attributes:
        source: ``"huggingface"``, ``"lmstudio"``, ``"ollama"`` or ``"llama.cpp"``.
        location: Its file or folder.
        preset: The preset offered (name made unique against the store by the caller).
    """

    source: str
    location: Path
    preset: ModelPreset


@dataclass(frozen=True)
class Detection:
    """What :func:`detect_models` found.

    Attributes:
        models: Models found, by source then name.
        searched: The folders looked in, with whether they existed.
        notices: Problems met (one line each).
    """

    models: tuple[DetectedModel, ...]
    searched: tuple[tuple[str, Path, bool], ...]
    notices: tuple[str, ...] = field(default_factory=tuple)


def preset_name(text: str) -> str:
    """A valid preset name from a model id or file name (``Qwen/Qwen3-0.6B`` → ``qwen3-0-6b``)."""
    base = text.rsplit("/", 1)[-1]
    base = re.sub(r"\.(gguf|safetensors|onnx)$", "", base, flags=re.I)
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", base).strip("-_").lower()
    return (name or "model")[:64]


def standard_locations(
    environ: Mapping[str, str] | None = None, home: Path | None = None
) -> list[tuple[str, Path]]:
    """Where each runner keeps models, by its documented defaults and variables."""
    env = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    from core.catalog.cache import default_cache_dir

    places: list[tuple[str, Path]] = [("huggingface", default_cache_dir())]
    lmstudio = [home / ".lmstudio" / "models", home / ".cache" / "lm-studio" / "models"]
    pointer = home / ".lmstudio-home-pointer"
    try:
        pointed = pointer.read_text(encoding="utf-8").strip()
    except OSError:
        pointed = ""
    if pointed:
        lmstudio.insert(0, Path(pointed).expanduser() / "models")
    places.extend(("lmstudio", p) for p in lmstudio)
    if env.get("OLLAMA_MODELS"):
        places.append(("ollama", Path(env["OLLAMA_MODELS"]).expanduser()))
    places.append(("ollama", home / ".ollama" / "models"))
    places.append(("ollama", Path("/usr/share/ollama/.ollama/models")))
    if env.get("LLAMA_CACHE"):
        places.append(("llama.cpp", Path(env["LLAMA_CACHE"]).expanduser()))
    xdg = Path(env.get("XDG_CACHE_HOME") or home / ".cache")
    places.append(("llama.cpp", xdg / "llama.cpp"))
    places.append(("llama.cpp", home / "llama.cpp" / "models"))
    seen: set[Path] = set()
    unique = []
    for source, path in places:
        if path not in seen:
            seen.add(path)
            unique.append((source, path))
    return unique


def detect_models(
    locations: Iterable[tuple[str, Path]] | None = None,
) -> Detection:
    """Find local models and offer a preset for each. Never raises.

    Args:
        locations: ``(source, folder)`` pairs (default: :func:`standard_locations`).
    """
    found: list[DetectedModel] = []
    searched: list[tuple[str, Path, bool]] = []
    notices: list[str] = []
    for source, folder in standard_locations() if locations is None else locations:
        exists = folder.is_dir()
        searched.append((source, folder, exists))
        if not exists:
            continue
        try:
            if source == "huggingface":
                found.extend(_from_hf_cache(folder, notices))
            elif source == "ollama":
                found.extend(_from_ollama(folder, notices))
            else:
                found.extend(_from_gguf_tree(source, folder))
        except OSError as exc:
            notices.append(f"{folder}: cannot read ({exc.strerror})")
    return Detection(tuple(found), tuple(searched), tuple(notices))


def _from_hf_cache(folder: Path, notices: list[str]) -> Iterator[DetectedModel]:
    from core.catalog.cache import scan_models

    models, scan_notices = scan_models(folder)
    notices.extend(scan_notices)
    for model in models:
        snapshot = model.snapshot_path
        if snapshot is None:
            continue
        formats: tuple[WeightsFormat, ...] = ("safetensors", "gguf", "onnx")
        for fmt in formats:
            files = weights_files(snapshot, fmt)
            if not files:
                continue
            size = sum(_size(f) for f in files)
            preset = ModelPreset(
                name=preset_name(model.repo_id),
                model_id=model.repo_id,
                format=fmt,
                size_gb=_gb(size),
                context_length=_context_of(snapshot),
            )
            yield DetectedModel("huggingface", snapshot, preset)
            break


def _context_of(folder: Path) -> int | None:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(config, dict):
        return None
    text = config.get("text_config")
    for source in (config, text if isinstance(text, dict) else {}):
        value = source.get("max_position_embeddings")
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _from_gguf_tree(source: str, folder: Path) -> Iterator[DetectedModel]:
    """GGUF files up to three levels down (LM Studio: publisher/repo/file.gguf)."""
    count = 0
    for path in _walk(folder, depth=3):
        name = path.name.lower()
        if not name.endswith(".gguf") or name.startswith("mmproj"):
            continue
        shard = _SHARD.search(path.name)
        if shard and shard.group(1) != "00001":
            continue
        count += 1
        if count > _MAX_FILES:
            return
        files = weights_files(path, "gguf")
        size = sum(_size(f) for f in files)
        label = path.name[: shard.start()] if shard else path.name
        yield DetectedModel(
            source,
            path,
            ModelPreset(
                name=preset_name(label),
                weights=str(path),
                format="gguf",
                size_gb=_gb(size),
            ),
        )


def _walk(folder: Path, depth: int) -> Iterator[Path]:
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink() and depth > 0:
            yield from _walk(entry, depth - 1)
        elif entry.is_file():
            yield entry


def _from_ollama(folder: Path, notices: list[str]) -> Iterator[DetectedModel]:
    """Models from Ollama's ``manifests/<registry>/<namespace>/<model>/<tag>`` files."""
    manifests = folder / "manifests"
    for manifest in _walk(manifests, depth=4):
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            notices.append(f"{manifest}: not a readable Ollama manifest")
            continue
        layers = data.get("layers") if isinstance(data, dict) else None
        model_layer = next(
            (
                layer
                for layer in layers or []
                if isinstance(layer, dict)
                and layer.get("mediaType") == "application/vnd.ollama.image.model"
            ),
            None,
        )
        digest = model_layer.get("digest") if model_layer else None
        if not isinstance(digest, str):
            continue
        blob = folder / "blobs" / digest.replace(":", "-")
        if not blob.is_file():
            notices.append(f"{manifest}: its model blob {blob.name} is missing")
            continue
        parts = manifest.relative_to(manifests).parts
        model, tag = parts[-2], parts[-1]
        namespace = parts[-3] if len(parts) >= 3 and parts[-3] != "library" else ""
        label = "-".join(p for p in (namespace, model, tag) if p)
        yield DetectedModel(
            "ollama",
            blob,
            ModelPreset(
                name=preset_name(label),
                weights=str(blob),
                format="gguf",
                size_gb=_gb(_size(blob)),
                use_case=f"ollama {model}:{tag}",
            ),
        )
