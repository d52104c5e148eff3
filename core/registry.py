"""The model registry: local model files the user registered, with what their headers say.

``thermal-scout registry add ~/models/foo.gguf`` (or the TUI) reads only the file's header —
safetensors JSON, GGUF metadata and tensor infos, the ONNX protobuf without its tensor payloads,
a PyTorch zip's directory and pickle opcodes — so registering a 70 GB file takes milliseconds.
It records the format, parameter count, dtype or quantisation mix, layers, architecture (from
the tensor-name census, :mod:`core.analysis.census`), context length, file size and mtime, and a
*header fingerprint*, in a SQLite database at ``<user data dir>/registry.sqlite3``.

The fingerprint is a SHA-256 over the header bytes only, never the weights:

- safetensors: the 8-byte length and the JSON header;
- GGUF: everything before the tensor data (magic, metadata, tensor infos, padding);
- ONNX: every byte of the protobuf except tensor payloads (see :mod:`~.formats.onnx`);
- PyTorch zip: ``data.pkl`` plus every entry's name and size (not the CRCs).

So it changes when tensor names, shapes, dtypes or metadata change, and *not* when only the
weights are rewritten in place. That is deliberate — hashing the weights would mean reading the
whole file — and the cost is that a weights-only rewrite is noticed through the file's size and
mtime alone.

Each stored entry gets a :attr:`RegistryEntry.status` when listed:

- ``ok``: the file is there with the registered size and mtime (and, when verified, the same
  header fingerprint);
- ``stale``: the path vanished (or is no longer a readable regular file);
- ``changed``: size or mtime differ, or the header fingerprint differs when re-read
  (``status_detail`` says which, and whether the header changed).

Entries are never dropped silently: only :meth:`Registry.remove` deletes one. Registering the
same path again updates its entry in place (``revision`` counts the registrations).

:func:`registry_rows` turns entries into Models-browser rows (``source="registry"``): ``ok``
files are analysed afresh from their headers for the browser's device and context; ``stale``
and ``changed`` ones are listed without an analysis, their ``error`` starting ``stale:`` or
``changed:`` and their ``facts`` the :class:`RegistryEntry` (``facts.status``).

The schema carries a version (table ``schema_version``); :data:`MIGRATIONS` upgrade older
databases when opened, and a database from a newer Thermal Scout is refused with a message.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import sqlite3
import stat
import struct
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from core.analysis.census import Census, TensorInfo, census
from core.analysis.formats import gguf, onnx, pytorch, safetensors
from core.errors import AnalysisError, ThermalScoutError

if TYPE_CHECKING:
    from core.catalog.rows import AnalysisSettings, ModelRow

Status = Literal["ok", "stale", "changed"]
Format = Literal["safetensors", "gguf", "onnx", "pytorch"]

DB_NAME = "registry.sqlite3"
SCHEMA_VERSION = 1
MAX_CONFIG_BYTES = 16 * 1024 * 1024

MIGRATIONS: Sequence[Sequence[str]] = (
    # 0 -> 1
    (
        """CREATE TABLE models (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            path TEXT NOT NULL UNIQUE,
            format TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            fingerprint TEXT NOT NULL,
            params INTEGER,
            dtypes TEXT NOT NULL,
            tensor_bytes INTEGER,
            tensors INTEGER,
            layers INTEGER,
            architecture TEXT NOT NULL,
            architecture_class TEXT,
            family TEXT,
            context_length INTEGER,
            census TEXT NOT NULL,
            summary TEXT NOT NULL,
            notes TEXT NOT NULL,
            analysis TEXT,
            registered_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            revision INTEGER NOT NULL DEFAULT 1
        )""",
    ),
)
"""``MIGRATIONS[i]`` upgrades a schema at version ``i`` to ``i + 1`` (one transaction)."""

_GENERIC_STEMS = frozenset(
    {"model", "pytorch_model", "consolidated", "adapter_model", "weights", "model_quantized",
     "diffusion_pytorch_model", "tf_model", "flax_model", "decoder_model", "encoder_model"}
)  # fmt: skip
_TASK_KIND: Mapping[str, tuple[str | None, str]] = {
    "decoder-only": ("text-generation", "llm"),
    "encoder-only": ("feature-extraction", "embedding"),
    "encoder-decoder": ("text2text-generation", "seq2seq"),
    "speech": ("automatic-speech-recognition", "speech"),
    "vision": (None, "vision"),
    "multimodal": ("image-text-to-text", "multimodal"),
}


_SHARD = re.compile(r"(?:pytorch_)?model-\d+-of-\d+")


class RegistryError(ThermalScoutError):
    """The registry cannot answer: unknown entry, name taken, unusable database."""


# --------------------------------------------------------------------------------------------
# Reading a file's header
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelFile:
    """What a model file's header says (the registry stores this).

    Attributes:
        path: The file (absolute, resolved).
        format: ``safetensors``, ``gguf``, ``onnx`` or ``pytorch``.
        size_bytes / mtime_ns: The file's size and modification time when read.
        fingerprint: SHA-256 (hex) of the header bytes (see the module docstring).
        params: Elements over all tensors, None when the header cannot say.
        dtypes: Elements per dtype or quantisation type (``{"Q4_K": ..., "Q6_K": ...}``).
        tensor_bytes: Bytes of tensor data, when known.
        tensors: Tensors listed.
        layers: Transformer blocks (GGUF ``block_count``, else the census), None if unknown.
        architecture: The census label (``transformer-decoder``, ``cnn`` ...).
        architecture_class: The analysis class (``decoder-only`` ...), None when unknown.
        family: ``general.architecture`` (GGUF) or a sibling ``config.json``'s ``model_type``.
        context_length: Trained context, when the header (or sibling config) says.
        census: :meth:`Census.to_json` of the tensor names.
        summary: Format-specific facts (GGUF file type, ONNX opsets and operators ...).
        notes: Caveats.
    """

    path: Path
    format: Format
    size_bytes: int
    mtime_ns: int
    fingerprint: str
    params: int | None
    dtypes: dict[str, int]
    tensor_bytes: int | None
    tensors: int | None
    layers: int | None
    architecture: str
    architecture_class: str | None
    family: str | None
    context_length: int | None
    census: dict[str, Any]
    summary: dict[str, Any]
    notes: tuple[str, ...] = ()


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def detect_format(path: Path) -> Format:
    """The model format of ``path``, from its first bytes (the suffix only breaks ties).

    Raises:
        AnalysisError: One line naming the file: missing, a directory, empty, a legacy pickle
            or GGML file, or not a model file of a known format.
    """
    try:
        st = path.stat()
        if stat.S_ISDIR(st.st_mode):
            raise AnalysisError(f"{path}: a directory; register a model file inside it")
        with path.open("rb") as handle:
            head = handle.read(16)
    except FileNotFoundError:
        raise AnalysisError(f"{path}: file not found") from None
    except OSError as exc:
        raise AnalysisError(f"{path}: cannot read ({_reason(exc)})") from None
    suffix = path.suffix.lower()
    if not head:
        raise AnalysisError(f"{path}: empty file, not a model")
    if head[:4] == gguf.MAGIC:
        return "gguf"
    if pytorch.is_zip(head):
        return "pytorch"
    if pytorch.is_pickle(head):
        raise AnalysisError(f"{path}: {pytorch.LEGACY_MESSAGE}")
    if head[:4] in (b"lmgg", b"fmgg", b"tjgg"):
        raise AnalysisError(f"{path}: a legacy GGML file; re-convert it to GGUF")
    if (len(head) >= 9 and head[8:9] == b"{") or suffix == ".safetensors":
        return "safetensors"
    if suffix == ".gguf":
        return "gguf"  # the reader names the bad magic
    if suffix in (".bin", ".pt", ".pth"):
        return "pytorch"  # the reader names what it found instead of a zip
    if suffix == ".onnx" or head[:1] == b"\x08":  # ModelProto field 1 (ir_version), a varint
        return "onnx"
    raise AnalysisError(
        f"{path}: unknown format (starts with {head[:8]!r}): not a safetensors, GGUF, ONNX or "
        "PyTorch zip model file"
    )


def _config_facts(path: Path) -> tuple[str | None, int | None, list[str]]:
    """``model_type`` and the context length from a sibling ``config.json``, if any."""
    config = path.parent / "config.json"
    if not config.is_file():
        return None, None, []
    try:
        with config.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
        data = json.loads(raw) if len(raw) <= MAX_CONFIG_BYTES else None
    except (OSError, ValueError):
        return None, None, [f"{config}: not readable JSON; ignored"]
    if not isinstance(data, dict):
        return None, None, []
    text = data.get("text_config")
    sub = text if isinstance(text, dict) else {}
    model_type = data.get("model_type")
    context = None
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length", "n_ctx"):
        value = data.get(key, sub.get(key))
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            context = value
            break
    return (model_type if isinstance(model_type, str) else None), context, []


def _read_safetensors(path: Path, size: int) -> tuple[bytes, safetensors.SafetensorsHeader]:
    """The header bytes (length prefix + JSON) and the parsed header."""
    where = str(path)
    with path.open("rb") as handle:
        prefix = handle.read(8)
        length = struct.unpack("<Q", prefix)[0] if len(prefix) == 8 else 0
        if len(prefix) < 8 or length > safetensors.MAX_HEADER_BYTES or 8 + length > size:
            handle.seek(0)
            safetensors.read_header(handle, size=size, where=where)  # raises, naming why
        raw = handle.read(length)
    blob = prefix + raw
    return blob, safetensors.read_header(io.BytesIO(blob), size=size, where=where)


def _safetensors_tensors(path: Path, blob: bytes, size: int) -> list[TensorInfo]:
    """Tensor names and shapes; checks every tensor's data lies inside the file."""
    header = json.loads(blob[8:])
    out: list[TensorInfo] = []
    furthest, last = 0, ""
    for name, entry in header.items():
        if name == "__metadata__" or not isinstance(entry, dict):
            continue
        out.append(TensorInfo(name, tuple(entry.get("shape") or ()), str(entry.get("dtype"))))
        offsets = entry.get("data_offsets")
        end = offsets[1] if isinstance(offsets, list) and len(offsets) == 2 else 0
        if isinstance(end, int) and end > furthest:
            furthest, last = end, name
    if len(blob) + furthest > size:
        raise AnalysisError(
            f"{path}: truncated: tensor {last!r} needs bytes up to {len(blob) + furthest:,}, "
            f"file has {size:,}"
        )
    return out


def _gguf_fingerprint(path: Path, end: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        left = end
        while left > 0:
            chunk = handle.read(min(left, 1 << 20))
            if not chunk:
                break
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def _shares(counts: Mapping[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def inspect_file(path: Path | str) -> ModelFile:
    """Read a model file's header and describe it (never the weights).

    Raises:
        AnalysisError: One line naming the file: not found, not a model, truncated, or of an
            unknown or unsupported format (legacy pickles and GGML files included).
    """
    path = Path(path).expanduser()
    with suppress(OSError, RuntimeError):
        path = path.resolve(strict=True)
    fmt = detect_format(path)
    try:
        st = path.stat()
        return _inspect(path, fmt, st.st_size, st.st_mtime_ns)
    except OSError as exc:
        raise AnalysisError(f"{path}: cannot read ({_reason(exc)})") from None
    except (ValueError, UnicodeDecodeError) as exc:  # a header that parsed once, then not
        raise AnalysisError(f"{path}: malformed header ({exc})") from None


def _inspect(path: Path, fmt: Format, size: int, mtime_ns: int) -> ModelFile:
    notes: list[str] = []
    family: str | None = None
    context: int | None = None
    layers: int | None = None
    summary: dict[str, Any] = {}
    found: Census
    if fmt == "safetensors":
        blob, st_header = _read_safetensors(path, size)
        infos = _safetensors_tensors(path, blob, size)
        found = census(infos)
        fingerprint = hashlib.sha256(blob).hexdigest()
        params: int | None = st_header.params
        dtypes = st_header.dtypes
        tensor_bytes: int | None = size - len(blob)
        tensors: int | None = st_header.tensors
        family, context, config_notes = _config_facts(path)
        notes += config_notes
        summary = {"header_bytes": len(blob), "metadata": st_header.metadata}
    elif fmt == "gguf":
        g = gguf.read_file(path)
        found = census(TensorInfo(t.name, t.shape, t.type) for t in g.tensors)
        if g.architecture in gguf.ENCODER_ARCHITECTURES and found.architecture_class != (
            "encoder-only"
        ):
            found = replace(found, architecture="transformer-encoder")
            found = replace(found, architecture_class="encoder-only")
        fingerprint = _gguf_fingerprint(path, g.data_offset)
        params, dtypes, tensor_bytes, tensors = (
            g.params,
            _shares(g.params_by_type),
            g.tensor_bytes,
            g.tensor_count,
        )
        family, context, layers = g.architecture, g.context_length, g.block_count
        notes += g.notes
        summary = {
            "version": g.version,
            "name": g.name,
            "file_type": g.file_type,
            "bits_per_weight": round(g.bits_per_weight, 3),
            "bytes_by_type": _shares(g.bytes_by_type),
            "header_bytes": g.data_offset,
            "expert_count": g.expert_count,
            "expert_used_count": g.expert_used_count,
            "embedding_length": g.embedding_length,
            "head_count": g.head_count,
            "head_count_kv": g.head_count_kv,
            "vocab_size": g.vocab_size,
        }
    elif fmt == "onnx":
        o = onnx.read_file(path)
        found = census((TensorInfo(t.name, t.shape, t.dtype) for t in o.tensors), ops=o.ops)
        fingerprint = o.fingerprint
        params, dtypes, tensor_bytes, tensors = (
            o.params,
            _shares(o.dtypes),
            o.tensor_bytes,
            len(o.tensors),
        )
        notes += o.notes
        summary = {
            "ir_version": o.ir_version,
            "producer": o.producer,
            "producer_version": o.producer_version,
            "opsets": o.opsets,
            "graph_name": o.graph_name,
            "nodes": o.nodes,
            "ops": dict(list(o.ops.items())[:30]),
            "external_files": list(o.external_files),
            "external_params": o.external_params,
            "constant_params": o.constant_params,
            "subgraphs": o.subgraphs,
            "metadata": o.metadata,
            "bytes_read": o.bytes_read,
        }
    else:
        p = pytorch.read_file(path)
        found = census(TensorInfo(t.name, t.shape, t.dtype or "") for t in p.tensors)
        fingerprint = p.fingerprint
        params, dtypes = p.params, _shares(p.dtypes)
        tensor_bytes, tensors = p.storage_bytes, (len(p.tensors) if p.scanned else None)
        family, context, config_notes = _config_facts(path)
        notes += config_notes
        notes += p.notes
        summary = {
            "archive": p.archive,
            "format_version": p.format_version,
            "byteorder": p.byteorder,
            "entries": p.entries,
            "storages": len(p.storages),
            "storage_bytes": p.storage_bytes,
            "pickle_bytes": p.pickle_bytes,
            "pickle_scanned": p.scanned,
            "torchscript": p.torchscript,
        }
    return ModelFile(
        path=path,
        format=fmt,
        size_bytes=size,
        mtime_ns=mtime_ns,
        fingerprint=fingerprint,
        params=params,
        dtypes=dict(dtypes),
        tensor_bytes=tensor_bytes,
        tensors=tensors,
        layers=layers if layers else found.layers,
        architecture=found.architecture,
        architecture_class=found.architecture_class,
        family=family,
        context_length=context,
        census=found.to_json(),
        summary=summary,
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------------------------
# The registry
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistryEntry:
    """One registered model file, with its status now.

    Attributes:
        id: Row id.
        name: Unique name (``--name``, else the file's stem).
        path: The file (absolute, resolved when registered).
        format ... notes: As :class:`ModelFile` at the last registration.
        analysis: ``Analysis.to_json()`` when settings were given at registration, else None.
        registered_at: When first registered (POSIX time).
        updated_at: When last registered (POSIX time).
        revision: 1 for a new entry; +1 each time the same path is registered again.
        status: ``ok``, ``stale`` or ``changed`` (see the module docstring).
        status_detail: Why, for ``stale`` and ``changed``; empty for ``ok``.
    """

    id: int
    name: str
    path: Path
    format: str
    size_bytes: int
    mtime_ns: int
    fingerprint: str
    params: int | None
    dtypes: dict[str, int]
    tensor_bytes: int | None
    tensors: int | None
    layers: int | None
    architecture: str
    architecture_class: str | None
    family: str | None
    context_length: int | None
    census: dict[str, Any]
    summary: dict[str, Any]
    notes: tuple[str, ...]
    analysis: dict[str, Any] | None
    registered_at: float
    updated_at: float
    revision: int
    status: Status = "ok"
    status_detail: str = ""

    @property
    def dtype_mix(self) -> str:
        """``"Q4_K 71%, Q6_K 27%, F32 2%"``: each dtype's share of the elements."""
        total = sum(self.dtypes.values())
        if not total:
            return "unknown"
        parts = sorted(self.dtypes.items(), key=lambda kv: (-kv[1], kv[0]))
        if len(parts) == 1:
            return parts[0][0]
        return ", ".join(f"{name} {count / total:.0%}" for name, count in parts)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values (what ``registry show --json`` prints)."""
        return {
            "id": self.id,
            "name": self.name,
            "path": str(self.path),
            "format": self.format,
            "status": self.status,
            "status_detail": self.status_detail,
            "size_bytes": self.size_bytes,
            "mtime_ns": self.mtime_ns,
            "fingerprint": self.fingerprint,
            "params": self.params,
            "dtypes": dict(self.dtypes),
            "dtype_mix": self.dtype_mix,
            "tensor_bytes": self.tensor_bytes,
            "tensors": self.tensors,
            "layers": self.layers,
            "architecture": self.architecture,
            "architecture_class": self.architecture_class,
            "family": self.family,
            "context_length": self.context_length,
            "census": self.census,
            "summary": self.summary,
            "notes": list(self.notes),
            "analysis": self.analysis,
            "registered_at": self.registered_at,
            "updated_at": self.updated_at,
            "revision": self.revision,
        }


def default_path() -> Path:
    """``<user data dir>/registry.sqlite3`` (resolved now, not created)."""
    from core.paths import user_data_dir

    return user_data_dir() / DB_NAME


_COLUMNS = (
    "id, name, path, format, size_bytes, mtime_ns, fingerprint, params, dtypes, tensor_bytes, "
    "tensors, layers, architecture, architecture_class, family, context_length, census, summary, "
    "notes, analysis, registered_at, updated_at, revision"
)


def _entry(row: sqlite3.Row) -> RegistryEntry:
    analysis = row["analysis"]
    return RegistryEntry(
        id=row["id"],
        name=row["name"],
        path=Path(row["path"]),
        format=row["format"],
        size_bytes=row["size_bytes"],
        mtime_ns=row["mtime_ns"],
        fingerprint=row["fingerprint"],
        params=row["params"],
        dtypes=json.loads(row["dtypes"]),
        tensor_bytes=row["tensor_bytes"],
        tensors=row["tensors"],
        layers=row["layers"],
        architecture=row["architecture"],
        architecture_class=row["architecture_class"],
        family=row["family"],
        context_length=row["context_length"],
        census=json.loads(row["census"]),
        summary=json.loads(row["summary"]),
        notes=tuple(json.loads(row["notes"])),
        analysis=json.loads(analysis) if analysis else None,
        registered_at=row["registered_at"],
        updated_at=row["updated_at"],
        revision=row["revision"],
    )


class Registry:
    """The SQLite registry at ``path`` (default :func:`default_path`).

    Each call opens its own connection, so one object may be used from any thread (the TUI's
    workers) and several processes may share the file (SQLite's locking; writes wait up to
    5 seconds for another writer).
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else default_path()

    # -- connection --------------------------------------------------------------------------

    @contextmanager
    def _connect(self, *, create: bool) -> Iterator[sqlite3.Connection | None]:
        """A migrated connection; None when the database does not exist and ``create`` is off."""
        if not create and not self.path.exists():
            yield None
            return
        if create:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise RegistryError(
                    f"cannot create {self.path.parent} for the registry ({_reason(exc)})"
                ) from None
        try:
            conn = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise RegistryError(f"registry {self.path}: cannot open ({exc})") from None
        try:
            conn.row_factory = sqlite3.Row
            self._migrate(conn)
            yield conn
        except sqlite3.DatabaseError as exc:
            raise RegistryError(
                f"registry {self.path}: unusable database ({exc}); move it aside and register "
                "the models again"
            ) from None
        finally:
            conn.close()

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        version = row[0] or 0
        if version > SCHEMA_VERSION:
            raise RegistryError(
                f"registry {self.path} has schema version {version}, newer than this Thermal "
                f"Scout understands ({SCHEMA_VERSION}); upgrade Thermal Scout"
            )
        while version < SCHEMA_VERSION:
            conn.execute("BEGIN IMMEDIATE")
            try:
                current = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
                if (current or 0) == version:  # not migrated meanwhile by another process
                    for statement in MIGRATIONS[version]:
                        conn.execute(statement)
                    conn.execute("DELETE FROM schema_version")
                    conn.execute("INSERT INTO schema_version VALUES (?)", (version + 1,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]

    # -- writing -----------------------------------------------------------------------------

    def register(
        self,
        path: Path | str,
        *,
        name: str | None = None,
        settings: AnalysisSettings | None = None,
    ) -> RegistryEntry:
        """Read ``path``'s header and store it; the same path again updates its entry.

        Args:
            path: The model file.
            name: Unique name; default the file's stem (its folder's name too for generic
                stems such as ``model``), made unique with ``-2``, ``-3`` ... On a re-register,
                None keeps the entry's name.
            settings: When given, the analysis for these settings is stored too
                (``analysis``); rows for the browser are analysed afresh anyway.

        Returns:
            The stored entry (``revision`` > 1 when an existing entry was updated).

        Raises:
            AnalysisError: The file is missing, not a model, truncated, or of an unknown format.
            RegistryError: ``name`` is taken by another file, or the database is unusable.
        """
        info = inspect_file(path)
        if name is not None:
            name = _check_name(name)
        analysis_json: str | None = None
        if settings is not None:
            analysis_json = json.dumps(_analysis(info, settings))
        now = time.time()
        with self._connect(create=True) as conn:
            assert conn is not None
            conn.execute("BEGIN IMMEDIATE")
            try:
                entry_id = self._store(conn, info, name, analysis_json, now)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM models WHERE id = ?", (entry_id,)
            ).fetchone()
        return _entry(row)

    def _store(
        self,
        conn: sqlite3.Connection,
        info: ModelFile,
        name: str | None,
        analysis_json: str | None,
        now: float,
    ) -> int:
        existing = conn.execute(
            "SELECT id, name FROM models WHERE path = ?", (str(info.path),)
        ).fetchone()
        if name is not None:
            owner = conn.execute("SELECT path FROM models WHERE name = ?", (name,)).fetchone()
            if owner is not None and owner["path"] != str(info.path):
                raise RegistryError(
                    f"the name {name!r} is already registered for {owner['path']}; choose "
                    f"another --name or remove it first (registry rm {name})"
                )
        elif existing is not None:
            name = existing["name"]
        else:
            name = _unique_name(conn, _default_name(info.path))
        values = {
            "name": name,
            "path": str(info.path),
            "format": info.format,
            "size_bytes": info.size_bytes,
            "mtime_ns": info.mtime_ns,
            "fingerprint": info.fingerprint,
            "params": info.params,
            "dtypes": json.dumps(info.dtypes),
            "tensor_bytes": info.tensor_bytes,
            "tensors": info.tensors,
            "layers": info.layers,
            "architecture": info.architecture,
            "architecture_class": info.architecture_class,
            "family": info.family,
            "context_length": info.context_length,
            "census": json.dumps(info.census),
            "summary": json.dumps(info.summary, default=str),
            "notes": json.dumps(list(info.notes)),
            "analysis": analysis_json,
            "updated_at": now,
        }
        if existing is not None:
            assignments = ", ".join(f"{k} = :{k}" for k in values)
            conn.execute(
                f"UPDATE models SET {assignments}, revision = revision + 1 WHERE id = :id",
                {**values, "id": existing["id"]},
            )
            return int(existing["id"])
        keys = ", ".join(values)
        params = ", ".join(f":{k}" for k in values)
        cursor = conn.execute(
            f"INSERT INTO models ({keys}, registered_at, revision) "
            f"VALUES ({params}, :registered_at, 1)",
            {**values, "registered_at": now},
        )
        assert cursor.lastrowid is not None
        return int(cursor.lastrowid)

    def remove(self, name_or_path: str) -> RegistryEntry:
        """Delete one entry (by name, else by path); the file itself is not touched.

        Raises:
            RegistryError: No such entry.
        """
        entry = self.get(name_or_path, verify=False)
        with self._connect(create=False) as conn:
            assert conn is not None
            conn.execute("DELETE FROM models WHERE id = ?", (entry.id,))
        return entry

    # -- reading -----------------------------------------------------------------------------

    def entries(self, *, verify: bool = True) -> list[RegistryEntry]:
        """Every entry, by name, with its status now.

        Args:
            verify: Re-read each present file's header fingerprint even when its size and
                mtime match (catches a header rewritten with the mtime restored). Headers only:
                milliseconds per file.
        """
        with self._connect(create=False) as conn:
            if conn is None:
                return []
            rows = conn.execute(f"SELECT {_COLUMNS} FROM models ORDER BY name").fetchall()
        return [_with_status(_entry(row), verify) for row in rows]

    def get(self, name_or_path: str, *, verify: bool = True) -> RegistryEntry:
        """One entry by name, else by path.

        Raises:
            RegistryError: No such entry (the message lists a few names).
        """
        with self._connect(create=False) as conn:
            row = None
            names: list[str] = []
            if conn is not None:
                row = conn.execute(
                    f"SELECT {_COLUMNS} FROM models WHERE name = ?", (name_or_path,)
                ).fetchone()
                if row is None:
                    candidate = Path(name_or_path).expanduser()
                    with suppress(OSError, RuntimeError):
                        candidate = candidate.resolve()
                    row = conn.execute(
                        f"SELECT {_COLUMNS} FROM models WHERE path IN (?, ?)",
                        (str(candidate), str(Path(name_or_path).expanduser().absolute())),
                    ).fetchone()
                if row is None:
                    names = [
                        r[0] for r in conn.execute("SELECT name FROM models ORDER BY name LIMIT 6")
                    ]
        if row is None:
            if not names:
                raise RegistryError(f"{name_or_path!r} is not in the registry (it is empty)")
            shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
            raise RegistryError(f"{name_or_path!r} is not in the registry (names: {shown})")
        return _with_status(_entry(row), verify)

    def rows(
        self, settings: AnalysisSettings, *, precision_explicit: bool = False
    ) -> list[ModelRow]:
        """Browser rows for every entry (see :func:`registry_rows`)."""
        return [_row_for(entry, settings, precision_explicit) for entry in self.entries()]


def _check_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 200 or any(c in cleaned for c in "\n\r\t"):
        raise RegistryError(f"invalid name {name!r}: 1 to 200 characters on one line")
    return cleaned


def _default_name(path: Path) -> str:
    """The file's stem; ``folder/stem`` for generic stems (``model``, ``model-00001-of-00004``)."""
    stem = path.stem
    if stem.lower() in _GENERIC_STEMS or _SHARD.fullmatch(stem.lower()):
        return f"{path.parent.name}/{stem}" if path.parent.name else stem
    return stem


def _unique_name(conn: sqlite3.Connection, base: str) -> str:
    name, n = base, 1
    while conn.execute("SELECT 1 FROM models WHERE name = ?", (name,)).fetchone() is not None:
        n += 1
        name = f"{base}-{n}"
    return name


def _with_status(entry: RegistryEntry, verify: bool) -> RegistryEntry:
    status, detail = _status(entry, verify)
    return replace(entry, status=status, status_detail=detail)


def _status(entry: RegistryEntry, verify: bool) -> tuple[Status, str]:
    path = entry.path
    try:
        st = path.stat()
    except FileNotFoundError:
        return "stale", f"file not found: {path}"
    except OSError as exc:
        return "stale", f"cannot reach {path} ({_reason(exc)})"
    if not stat.S_ISREG(st.st_mode):
        return "stale", f"{path} is no longer a regular file"
    same_stat = st.st_size == entry.size_bytes and st.st_mtime_ns == entry.mtime_ns
    if same_stat and not verify:
        return "ok", ""
    try:
        now = inspect_file(path)
    except AnalysisError as exc:
        return "changed", f"no longer readable as a model ({exc})"
    if now.fingerprint != entry.fingerprint:
        return "changed", (
            "the header changed since registration (tensor names, shapes, dtypes or metadata); "
            "register it again to update"
        )
    if not same_stat:
        what = []
        if st.st_size != entry.size_bytes:
            what.append(f"size {entry.size_bytes:,} -> {st.st_size:,} bytes")
        if st.st_mtime_ns != entry.mtime_ns:
            what.append("modification time")
        return "changed", (
            f"{' and '.join(what)} changed since registration; the header is the same, so only "
            "the weights (or nothing) changed; register it again to update"
        )
    return "ok", ""


def _analysis(info: ModelFile, settings: AnalysisSettings) -> dict[str, Any]:
    from core.catalog.targets import analyze_file

    try:
        row = analyze_file(info.path, settings, fmt=info.format, precision_explicit=False)
    except ThermalScoutError as exc:
        return {"error": str(exc)}
    return row.analysis.to_json() if row.analysis is not None else {"error": row.error}


def _row_for(entry: RegistryEntry, settings: AnalysisSettings, explicit: bool) -> ModelRow:
    from core.catalog.rows import ModelRow
    from core.catalog.targets import analyze_file

    task, kind = _TASK_KIND.get(entry.architecture_class or "", (None, None))
    if entry.status == "ok":
        try:
            row = analyze_file(entry.path, settings, fmt=entry.format, precision_explicit=explicit)
        except ThermalScoutError as exc:
            error = f"cannot analyse: {exc}"
        else:
            return replace(
                row,
                id=entry.name,
                source="registry",
                task=task,
                kind=kind,
                family=entry.family or row.family,
                facts=entry,
            )
    else:
        error = f"{entry.status}: {entry.status_detail}"
    return ModelRow(
        id=entry.name,
        source="registry",
        task=task,
        kind=kind,
        family=entry.family,
        licence=None,
        downloads=None,
        likes=None,
        params_total=entry.params,
        params_method=f"registry: {entry.format} header when registered" if entry.params else "",
        analysis=None,
        error=" ".join(error.split()),
        facts=entry,
    )


# --------------------------------------------------------------------------------------------
# Module-level shortcuts on the default registry
# --------------------------------------------------------------------------------------------


def register(
    path: Path | str, name: str | None = None, settings: AnalysisSettings | None = None
) -> RegistryEntry:
    """:meth:`Registry.register` on the default registry."""
    return Registry().register(path, name=name, settings=settings)


def list_entries(*, verify: bool = True) -> list[RegistryEntry]:
    """:meth:`Registry.entries` on the default registry."""
    return Registry().entries(verify=verify)


def show(name_or_path: str) -> RegistryEntry:
    """:meth:`Registry.get` on the default registry."""
    return Registry().get(name_or_path)


def remove(name_or_path: str) -> RegistryEntry:
    """:meth:`Registry.remove` on the default registry."""
    return Registry().remove(name_or_path)


def registry_rows(
    settings: AnalysisSettings,
    *,
    registry: Registry | None = None,
    precision_explicit: bool = False,
) -> list[ModelRow]:
    """Models-browser rows (``source="registry"``), one per entry, sorted by name.

    ``ok`` files are analysed afresh from their headers (GGUF/ONNX/PyTorch at their own stored
    types unless ``precision_explicit``); a file that no longer analyses gets ``error``
    ``"cannot analyse: …"``. ``stale`` and ``changed`` entries have no analysis and ``error``
    ``"stale: …"`` / ``"changed: …"``; their parameter count is the registered one. Every row's
    ``facts`` is its :class:`RegistryEntry` (``facts.status``, ``facts.path`` ...).

    Raises:
        RegistryError: The database is unusable (never for a bad file).
    """
    return (registry or Registry()).rows(settings, precision_explicit=precision_explicit)


__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "ModelFile",
    "Registry",
    "RegistryEntry",
    "RegistryError",
    "default_path",
    "detect_format",
    "inspect_file",
    "list_entries",
    "register",
    "registry_rows",
    "remove",
    "show",
]
