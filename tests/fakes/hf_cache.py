"""A real-layout Hugging Face hub cache, built file by file, for tests of ``core.catalog.cache``.

The layout is the one ``huggingface_hub`` writes and ``scan_cache_dir`` reads::

    <root>/models--<org>--<name>/blobs/<sha256>
    <root>/models--<org>--<name>/snapshots/<commit>/<file> -> ../../blobs/<sha256>
    <root>/models--<org>--<name>/refs/main                  (the commit, no newline)

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as tmp:
...     cache = FakeHFCache(Path(tmp) / "hub")
...     repo = cache.repo("org/tiny")
...     commit = repo.add_revision({"config.json": config_bytes(llama_config())})
...     link = repo.snapshot(commit) / "config.json"
...     link.is_symlink(), os.readlink(link).startswith("../../blobs/"), repo.ref("main") == commit
(True, True, True)
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

#: Bytes per element of the safetensors dtypes the builder writes.
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I8": 1, "U8": 1}

_REPO_PREFIX = {"model": "models", "dataset": "datasets", "space": "spaces"}

#: The file that marks ``<cache>/blobs`` as the library's shared (Xet) blob store.
SHARED_BLOBS_MARKER = ".huggingface-shared-blobs"


def llama_config(**overrides: Any) -> dict[str, Any]:
    """A tiny, valid llama ``config.json`` (about 100k parameters)."""
    config: dict[str, Any] = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab_size": 128,
        "max_position_embeddings": 2048,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
    }
    config.update(overrides)
    return config


def llama_tensors(
    config: Mapping[str, Any], dtype: str = "BF16"
) -> dict[str, tuple[str, tuple[int, ...]]]:
    """The tensors a llama checkpoint with ``config`` stores (name → (dtype, shape))."""
    hidden = int(config["hidden_size"])
    inter = int(config["intermediate_size"])
    heads = int(config["num_attention_heads"])
    kv_heads = int(config.get("num_key_value_heads") or heads)
    head_dim = hidden // heads
    vocab = int(config["vocab_size"])
    tensors: dict[str, tuple[str, tuple[int, ...]]] = {
        "model.embed_tokens.weight": (dtype, (vocab, hidden)),
        "model.norm.weight": (dtype, (hidden,)),
    }
    if not config.get("tie_word_embeddings", False):
        tensors["lm_head.weight"] = (dtype, (vocab, hidden))
    for i in range(int(config["num_hidden_layers"])):
        p = f"model.layers.{i}."
        tensors[p + "self_attn.q_proj.weight"] = (dtype, (heads * head_dim, hidden))
        tensors[p + "self_attn.k_proj.weight"] = (dtype, (kv_heads * head_dim, hidden))
        tensors[p + "self_attn.v_proj.weight"] = (dtype, (kv_heads * head_dim, hidden))
        tensors[p + "self_attn.o_proj.weight"] = (dtype, (hidden, heads * head_dim))
        tensors[p + "mlp.gate_proj.weight"] = (dtype, (inter, hidden))
        tensors[p + "mlp.up_proj.weight"] = (dtype, (inter, hidden))
        tensors[p + "mlp.down_proj.weight"] = (dtype, (hidden, inter))
        tensors[p + "input_layernorm.weight"] = (dtype, (hidden,))
        tensors[p + "post_attention_layernorm.weight"] = (dtype, (hidden,))
    return tensors


def elements(tensors: Mapping[str, tuple[str, tuple[int, ...]]]) -> int:
    """Total elements over ``tensors`` (what a safetensors header's parameter count is)."""
    total = 0
    for _, shape in tensors.values():
        count = 1
        for dim in shape:
            count *= dim
        total += count
    return total


def safetensors_bytes(
    tensors: Mapping[str, tuple[str, tuple[int, ...]]],
    *,
    metadata: Mapping[str, str] | None = None,
    with_data: bool = True,
) -> bytes:
    """A real safetensors file: 8-byte little-endian header length, JSON header, zeroed data.

    Args:
        tensors: name → (dtype, shape).
        metadata: The ``__metadata__`` strings.
        with_data: False to stop after the header (a header claiming more data than follows,
            for tests that must not read past it).
    """
    header: dict[str, Any] = {}
    if metadata is not None:
        header["__metadata__"] = dict(metadata)
    offset = 0
    for name, (dtype, shape) in tensors.items():
        count = 1
        for dim in shape:
            count *= dim
        size = count * DTYPE_BYTES[dtype]
        header[name] = {
            "dtype": dtype,
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # the format pads the header to 8 bytes with spaces
    return struct.pack("<Q", len(raw)) + raw + (bytes(offset) if with_data else b"")


def config_bytes(config: Mapping[str, Any]) -> bytes:
    """``config`` as ``config.json`` bytes."""
    return json.dumps(dict(config), indent=2).encode()


def commit_of(seed: str) -> str:
    """A 40-hex commit hash derived from ``seed``."""
    return hashlib.sha1(seed.encode()).hexdigest()


class FakeRepo:
    """One ``<type>s--<org>--<name>`` folder of a :class:`FakeHFCache`.

    Attributes:
        repo_id: ``org/name``.
        path: The repository folder.
        blob_sizes: Size of every blob written, by blob name (``.incomplete`` files excluded).
    """

    def __init__(self, root: Path, repo_id: str, repo_type: str = "model") -> None:
        self.repo_id = repo_id
        self.path = root / f"{_REPO_PREFIX[repo_type]}--{repo_id.replace('/', '--')}"
        self.blob_sizes: dict[str, int] = {}
        (self.path / "blobs").mkdir(parents=True, exist_ok=True)
        (self.path / "snapshots").mkdir(exist_ok=True)
        (self.path / "refs").mkdir(exist_ok=True)

    @property
    def size_on_disk(self) -> int:
        """Sum of the distinct blobs written (what ``scan_cache_dir`` reports for the repo)."""
        return sum(self.blob_sizes.values())

    def snapshot(self, commit: str) -> Path:
        """The ``snapshots/<commit>`` folder."""
        return self.path / "snapshots" / commit

    def ref(self, name: str) -> str:
        """The commit ``refs/<name>`` holds."""
        return (self.path / "refs" / name).read_text()

    def add_blob(self, data: bytes, *, mtime: float | None = None, shared: bool = False) -> str:
        """Write ``data`` as ``blobs/<sha256>`` (once) and return the blob name.

        With ``shared=True`` the content goes to the cache-wide shared store instead
        (:meth:`FakeHFCache.shared_payload`) and ``blobs/<sha256>`` is a relative link to it, with
        a line in the payload's ``.refs`` manifest, as ``huggingface_hub`` ≥ 2.4 writes Xet files.
        """
        name = hashlib.sha256(data).hexdigest()
        path = self.path / "blobs" / name
        if not path.exists() and not path.is_symlink():
            if shared:
                payload = _shared_payload(self.path.parent, data)
                path.symlink_to(os.path.relpath(payload, path.parent))
                manifest = payload.with_name(payload.name + ".refs")
                with manifest.open("a") as refs:
                    refs.write(f"{self.path.name}/blobs/{name}\n")
            else:
                path.write_bytes(data)
        self.blob_sizes[name] = len(data)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
        return name

    def add_revision(
        self,
        files: Mapping[str, bytes],
        *,
        commit: str | None = None,
        refs: Iterable[str] = ("main",),
        mtime: float | None = None,
        shared: bool = False,
    ) -> str:
        """Add a snapshot whose files are symlinks to their blobs; point ``refs`` at it.

        Args:
            files: Path inside the repository (``config.json``, ``sub/x.bin``) → content.
            commit: The commit hash (default: derived from the repo id and the file names).
            refs: Branches to point at the commit (``()`` for a detached revision).
            mtime: Modification time given to the blobs (``scan_cache_dir`` dates a revision by
                its newest blob).
            shared: Store new blobs in the shared store (see :meth:`add_blob`).

        Returns:
            The commit hash.
        """
        digests = sorted(f"{k}:{hashlib.sha256(v).hexdigest()}" for k, v in files.items())
        commit = commit or commit_of("|".join([self.repo_id, *digests]))
        snapshot = self.snapshot(commit)
        snapshot.mkdir(parents=True, exist_ok=True)
        for relative, data in files.items():
            blob = self.add_blob(data, mtime=mtime, shared=shared)
            link = snapshot / relative
            link.parent.mkdir(parents=True, exist_ok=True)
            depth = len(Path(relative).parts) + 1  # up from the file's folder to the repo
            link.symlink_to(Path(*([".."] * depth), "blobs", blob))
        for ref in refs:
            self.set_ref(ref, commit)
        return commit

    def set_ref(self, name: str, commit: str) -> None:
        """Write ``refs/<name>`` (no trailing newline, as huggingface_hub writes it)."""
        path = self.path / "refs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(commit)

    def link(self, commit: str, relative: str, target: Path) -> Path:
        """Add ``snapshots/<commit>/<relative>`` as a symlink to ``target`` (anywhere)."""
        link = self.snapshot(commit) / relative
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target)
        return link

    def add_incomplete(self, data: bytes, name: str = "deadbeef") -> Path:
        """A partial download: ``blobs/<name>.incomplete``."""
        path = self.path / "blobs" / f"{name}.incomplete"
        path.write_bytes(data)
        return path


class FakeHFCache:
    """A hub cache directory (what ``HF_HUB_CACHE`` names) to fill with repositories.

    Attributes:
        root: The cache directory (created).
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def repo(self, repo_id: str, repo_type: str = "model") -> FakeRepo:
        """The repository folder for ``repo_id`` (created if needed)."""
        return FakeRepo(self.root, repo_id, repo_type)

    def shared_payload(self, data: bytes) -> Path:
        """Where ``data`` lives in the shared store (``<root>/blobs/<xx>/<hash>``)."""
        return _shared_payload_path(self.root, data)

    def llama(
        self,
        repo_id: str = "org/tiny-llama",
        *,
        config: Mapping[str, Any] | None = None,
        weights: bool = True,
        refs: Iterable[str] = ("main",),
        mtime: float | None = None,
    ) -> tuple[FakeRepo, str]:
        """A llama repository with ``config.json`` and (unless ``weights=False``) one
        ``model.safetensors`` whose header matches the config. Returns the repo and commit."""
        config = dict(config or llama_config())
        files = {"config.json": config_bytes(config)}
        if weights:
            files["model.safetensors"] = safetensors_bytes(llama_tensors(config))
        repo = self.repo(repo_id)
        return repo, repo.add_revision(files, refs=refs, mtime=mtime)


def _shared_payload_path(root: Path, data: bytes) -> Path:
    xet_hash = hashlib.sha256(b"xet:" + data).hexdigest()
    return root / "blobs" / xet_hash[:2] / xet_hash


def _shared_payload(root: Path, data: bytes) -> Path:
    """Write ``data`` into the marked shared store under ``root`` (once); its path."""
    store = root / "blobs"
    store.mkdir(exist_ok=True)
    (store / SHARED_BLOBS_MARKER).write_text("1\n")
    payload = _shared_payload_path(root, data)
    payload.parent.mkdir(exist_ok=True)
    if not payload.exists():
        payload.write_bytes(data)
    return payload
