"""PyTorch zip checkpoints: the zip directory and the pickle's opcodes, never unpickled.

The checkpoints are written without torch: :class:`TorchPickler` emits what ``torch.save``
emits (``GLOBAL torch._utils _rebuild_tensor_v2``, ``BINPERSID ('storage', torch.XStorage,
key, 'cpu', numel)``, a ``collections.OrderedDict`` state dict) through the pure-Python pickler,
into the ``archive/`` zip layout torch uses.
"""

from __future__ import annotations

import collections
import io
import json
import pickle
import struct
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from core.analysis.formats import pytorch
from core.catalog.rows import AnalysisSettings
from core.catalog.targets import analyze_target
from core.errors import AnalysisError

ROOT = Path(__file__).resolve().parents[2]

# -- a torch.save look-alike ------------------------------------------------------------------

STORAGE_TYPES = {"F32": ("FloatStorage", 4), "F16": ("HalfStorage", 2),
                 "BF16": ("BFloat16Storage", 2), "I64": ("LongStorage", 8),
                 "I8": ("CharStorage", 1)}  # fmt: skip


@dataclass(frozen=True)
class Global:
    """A ``GLOBAL module name`` written by name (the module need not exist)."""

    module: str
    name: str

    def __call__(self, *args: Any) -> Any:  # save_reduce wants a callable; never called
        raise AssertionError("a test Global is never called")


@dataclass(eq=False)
class Storage:
    key: str
    dtype: str  # a key of STORAGE_TYPES, or "untyped"
    numel: int


@dataclass(eq=False)
class Tensor:
    storage: Storage
    shape: tuple[int, ...]
    offset: int = 0
    parameter: bool = False
    v3_dtype: str | None = None  # a torch dtype name for _rebuild_tensor_v3


@dataclass(eq=False)
class _Reduced:
    reduced: tuple[Any, ...]

    def __reduce__(self) -> tuple[Any, ...]:
        return self.reduced


def _prod(shape: tuple[int, ...]) -> int:
    out = 1
    for d in shape:
        out *= d
    return out


class TorchPickler(pickle._Pickler):  # type: ignore[name-defined,misc]
    """The pure-Python pickler, writing torch's opcodes for :class:`Tensor` and :class:`Storage`."""

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, Storage):
            cls = "UntypedStorage" if obj.dtype == "untyped" else STORAGE_TYPES[obj.dtype][0]
            return ("storage", Global("torch", cls), obj.key, "cpu", obj.numel)
        return None

    def save(self, obj: Any, save_persistent_id: bool = True) -> None:
        if isinstance(obj, Global):
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
            return
        super().save(obj, save_persistent_id)

    def reducer_override(self, obj: Any) -> Any:
        if not isinstance(obj, Tensor):
            return NotImplemented
        stride = tuple(_prod(obj.shape[i + 1 :]) for i in range(len(obj.shape)))
        hooks: collections.OrderedDict[str, Any] = collections.OrderedDict()
        args: tuple[Any, ...] = (obj.storage, obj.offset, obj.shape, stride, False, hooks)
        rebuilt = (Global("torch._utils", "_rebuild_tensor_v2"), args)
        if obj.v3_dtype is not None:
            args = (*args, Global("torch", obj.v3_dtype), {})
            rebuilt = (Global("torch._utils", "_rebuild_tensor_v3"), args)
        if obj.parameter:
            inner = _Reduced(rebuilt)
            return (Global("torch._utils", "_rebuild_parameter"), (inner, True, hooks))
        return rebuilt


def dumps(obj: Any) -> bytes:
    buf = io.BytesIO()
    TorchPickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def storages_of(obj: Any) -> list[Storage]:
    found: dict[int, Storage] = {}

    def walk(o: Any) -> None:
        if isinstance(o, Tensor):
            found[id(o.storage)] = o.storage
        elif isinstance(o, dict):
            for v in o.values():
                walk(v)
        elif isinstance(o, list | tuple):
            for v in o:
                walk(v)

    walk(obj)
    return list(found.values())


def write_checkpoint(
    path: Path,
    obj: Any,
    *,
    archive: str = "archive",
    pickle_bytes: bytes | None = None,
    storage_fill: int = 0,
    extra: dict[str, bytes] | None = None,
    skip_storage: str | None = None,
) -> Path:
    """Write ``obj`` (state dicts of :class:`Tensor`) in torch's zip layout."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr(f"{archive}/data.pkl", pickle_bytes if pickle_bytes is not None else dumps(obj))
        z.writestr(f"{archive}/byteorder", "little")
        for s in storages_of(obj):
            if s.key == skip_storage:
                continue
            item = 1 if s.dtype == "untyped" else STORAGE_TYPES[s.dtype][1]
            z.writestr(f"{archive}/data/{s.key}", bytes([storage_fill]) * (s.numel * item))
        z.writestr(f"{archive}/version", "3\n")
        z.writestr(f"{archive}/.data/serialization_id", "1234567890")
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return path


def llama_state_dict(layers: int = 2, width: int = 32, ff: int = 64, vocab: int = 128,
                     dtype: str = "BF16") -> dict[str, Tensor]:  # fmt: skip
    """A tiny llama's state dict, Hugging Face names, one storage per tensor."""
    counter = iter(range(10_000))

    def t(*shape: int) -> Tensor:
        return Tensor(Storage(str(next(counter)), dtype, _prod(shape)), shape)

    sd: dict[str, Tensor] = collections.OrderedDict()
    sd["model.embed_tokens.weight"] = t(vocab, width)
    for i in range(layers):
        p = f"model.layers.{i}"
        sd[f"{p}.self_attn.q_proj.weight"] = t(width, width)
        sd[f"{p}.self_attn.k_proj.weight"] = t(width, width)
        sd[f"{p}.self_attn.v_proj.weight"] = t(width, width)
        sd[f"{p}.self_attn.o_proj.weight"] = t(width, width)
        sd[f"{p}.mlp.gate_proj.weight"] = t(ff, width)
        sd[f"{p}.mlp.up_proj.weight"] = t(ff, width)
        sd[f"{p}.mlp.down_proj.weight"] = t(width, ff)
        sd[f"{p}.input_layernorm.weight"] = t(width)
        sd[f"{p}.post_attention_layernorm.weight"] = t(width)
    sd["model.norm.weight"] = t(width)
    sd["lm_head.weight"] = t(vocab, width)
    return sd


LLAMA_PARAMS = 2 * 128 * 32 + 2 * (4 * 32 * 32 + 3 * 64 * 32 + 2 * 32) + 32
LLAMA_CONFIG = {
    "model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 32,
    "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 2, "vocab_size": 128, "max_position_embeddings": 2048,
}  # fmt: skip


class CountingReader(io.RawIOBase):
    """A file wrapper counting the bytes read through it."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._handle.read(len(buffer))
        buffer[: len(data)] = data
        self.bytes_read += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        return self._handle.tell()


# -- reading ----------------------------------------------------------------------------------


def test_state_dict_names_shapes_dtypes_and_exact_params(tmp_path: Path) -> None:
    path = write_checkpoint(tmp_path / "pytorch_model.bin", llama_state_dict())
    h = pytorch.read_file(path)
    assert h.scanned and h.archive == "archive"
    assert (h.format_version, h.byteorder) == ("3", "little")
    assert h.params == LLAMA_PARAMS
    assert h.dtypes == {"BF16": LLAMA_PARAMS}
    assert h.storage_bytes == 2 * LLAMA_PARAMS == h.bytes_by_dtype["BF16"]
    assert len(h.tensors) == len(h.storages) == 21
    first = h.tensors[0]
    assert (first.name, first.shape, first.dtype) == (
        "model.embed_tokens.weight",
        (128, 32),
        "BF16",
    )
    assert h.tensors[-1].name == "lm_head.weight"
    assert h.notes[-1] == pytorch.SAFE_FORMAT_NOTE
    assert not h.torchscript and h.dominant_dtype == "BF16"


def test_tied_weights_count_once(tmp_path: Path) -> None:
    sd = llama_state_dict()
    sd["lm_head.weight"] = Tensor(sd["model.embed_tokens.weight"].storage, (128, 32))
    h = pytorch.read_file(write_checkpoint(tmp_path / "tied.pt", sd))
    assert h.params == LLAMA_PARAMS - 128 * 32
    assert len(h.tensors) == 21 and len(h.storages) == 20
    assert h.tensors[-1].storage == h.tensors[0].storage


def test_nested_checkpoint_parameters_views_and_mixed_dtypes(tmp_path: Path) -> None:
    big = Storage("0", "F32", 100)
    ckpt = {
        "epoch": 3,
        "model": collections.OrderedDict(
            [
                ("encoder.weight", Tensor(big, (10, 5), parameter=True)),
                ("encoder.half", Tensor(big, (10, 5), offset=50)),  # a view of the same storage
                ("steps", Tensor(Storage("1", "I64", 1), ())),
            ]
        ),
        "quant": [Tensor(Storage("2", "I8", 16), (4, 4))],
    }
    h = pytorch.read_file(write_checkpoint(tmp_path / "ckpt.pth", ckpt))
    names = {t.name: (t.shape, t.dtype, t.offset) for t in h.tensors}
    assert names == {
        "model.encoder.weight": ((10, 5), "F32", 0),
        "model.encoder.half": ((10, 5), "F32", 50),
        "model.steps": ((), "I64", 0),
        "quant.0": ((4, 4), "I8", 0),
    }
    assert h.params == 100 + 1 + 16
    assert h.dtypes == {"F32": 100, "I64": 1, "I8": 16}


def test_untyped_storage_with_a_v3_dtype(tmp_path: Path) -> None:
    sd = {"w": Tensor(Storage("0", "untyped", 64), (8, 8), v3_dtype="float8_e4m3fn")}
    h = pytorch.read_file(write_checkpoint(tmp_path / "fp8.pt", sd))
    assert h.dtypes == {"F8_E4M3": 64} and h.params == 64
    assert h.tensors[0].dtype == "F8_E4M3"


def test_nothing_is_ever_unpickled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pickle that would run a command when loaded is only scanned."""
    marker = tmp_path / "pwned"
    command = f"touch {marker}".encode()
    evil = b"\x80\x02cos\nsystem\nX" + struct.pack("<I", len(command)) + command + b"\x85R."

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("unpickling attempted")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    path = write_checkpoint(tmp_path / "evil.pt", {}, pickle_bytes=evil)
    h = pytorch.read_file(path)
    assert h.scanned and h.tensors == () and h.params is None
    assert not marker.exists()


def test_reading_never_imports_torch_or_unpickles(tmp_path: Path) -> None:
    path = write_checkpoint(tmp_path / "m.pt", llama_state_dict())
    code = (
        "import pickle, sys\n"
        "def refuse(*a, **k): raise SystemExit('unpickling attempted')\n"
        "pickle.loads = pickle.load = pickle.Unpickler = refuse\n"
        "from pathlib import Path\n"
        "from core.analysis.formats import pytorch\n"
        f"h = pytorch.read_file(Path({str(path)!r}))\n"
        "print(h.params, 'torch' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(LLAMA_PARAMS), "False"]


def test_storage_sizes_checked_against_the_archive(tmp_path: Path) -> None:
    sd = {"w": Tensor(Storage("0", "F16", 10), (10,))}
    path = tmp_path / "odd.pt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", dumps(sd))
        z.writestr("archive/data/0", bytes(12))  # 6 halves, not 10
    h = pytorch.read_file(path)
    assert any("storage 0: 12 bytes in the archive, 10 F16 elements need 20" in n for n in h.notes)


def test_unscannable_pickle_still_reports_the_directory(tmp_path: Path) -> None:
    sd = llama_state_dict()
    path = write_checkpoint(tmp_path / "broken.pt", sd, pickle_bytes=b"\x80\x02}q\x00(X\x01")
    h = pytorch.read_file(path)
    assert not h.scanned and h.params is None and h.tensors == ()
    assert h.storage_bytes == 2 * LLAMA_PARAMS and len(h.storages) == 21
    assert any("could not be scanned" in n for n in h.notes)


def test_torchscript_and_other_archive_names(tmp_path: Path) -> None:
    extra = {
        "scripted/code/__torch__.py": b"def forward(self): ...",
        "scripted/constants.pkl": b".",
    }
    path = write_checkpoint(
        tmp_path / "scripted.pt", llama_state_dict(), archive="scripted", extra=extra
    )
    h = pytorch.read_file(path)
    assert h.archive == "scripted" and h.torchscript and h.params == LLAMA_PARAMS
    assert any("TorchScript" in n for n in h.notes)


def test_only_the_directory_and_pickle_are_read(tmp_path: Path) -> None:
    sd = {"w": Tensor(Storage("0", "F32", 8 * 1024 * 1024), (8 * 1024, 1024))}  # 32 MiB
    path = write_checkpoint(tmp_path / "big.pt", sd)
    with path.open("rb") as raw:
        counting = CountingReader(raw)
        h = pytorch.read_header(counting, size=path.stat().st_size)
    assert h.params == 8 * 1024 * 1024 and h.storage_bytes == 32 * 1024 * 1024
    assert counting.bytes_read < 256 * 1024, counting.bytes_read


def test_fingerprint_ignores_weights_but_not_structure(tmp_path: Path) -> None:
    def fp(name: str, sd: dict[str, Tensor], fill: int = 0) -> str:
        path = write_checkpoint(tmp_path / name, sd, storage_fill=fill)
        return pytorch.read_file(path).fingerprint

    base = fp("a.pt", llama_state_dict())
    assert fp("b.pt", llama_state_dict(), fill=7) == base  # other weights, same layout
    renamed = llama_state_dict()
    renamed["lm_head.out"] = renamed.pop("lm_head.weight")
    assert fp("c.pt", renamed) != base
    assert fp("d.pt", llama_state_dict(dtype="F16")) != base


# -- bad input --------------------------------------------------------------------------------


def write_legacy(path: Path) -> None:
    """What ``torch.save(..., _use_new_zipfile_serialization=False)`` starts with."""
    path.write_bytes(b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.\x80\x02M\xe9\x03.")


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("legacy", "legacy PyTorch pickle (pre-1.6 format): it cannot be read safely"),
        ("ggml", "a legacy GGML file"),
        ("empty", "not a PyTorch checkpoint (empty file)"),
        ("text", "not a PyTorch checkpoint (starts with b'hell'"),
        ("zip", "a zip archive without data.pkl: not a PyTorch checkpoint"),
        ("truncated", "truncated or corrupt zip archive"),
        ("missing storage", "truncated or corrupt: storage '3' has no data/3 entry"),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, case: str, message: str) -> None:
    path = tmp_path / "model.bin"
    if case == "legacy":
        write_legacy(path)
    elif case == "ggml":
        path.write_bytes(b"tjgg" + bytes(100))
    elif case == "empty":
        path.write_bytes(b"")
    elif case == "text":
        path.write_text("hello world")
    elif case == "zip":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("readme.txt", "hi")
    elif case == "truncated":
        write_checkpoint(path, llama_state_dict())
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        write_checkpoint(path, llama_state_dict(), skip_storage="3")
    with pytest.raises(AnalysisError) as info:
        pytorch.read_file(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text


# -- analyze ----------------------------------------------------------------------------------


def _settings() -> AnalysisSettings:
    from core.analysis.hardware_profiles import profile_for

    return AnalysisSettings(profile_for("RTX 4090"))


def test_analyze_a_checkpoint_at_its_own_dtype(tmp_path: Path) -> None:
    path = write_checkpoint(tmp_path / "tiny.pt", llama_state_dict())
    row = analyze_target(str(path), _settings(), precision_explicit=False)
    assert row.params_total == LLAMA_PARAMS and row.source == "registry" and row.id == "tiny"
    assert row.analysis is not None
    assert row.analysis.precision.name == "bf16"
    assert row.analysis.memory.weights_bytes == 2 * LLAMA_PARAMS
    assert row.analysis.architecture_class == "decoder-only"
    assert "nothing unpickled" in row.params_method


def test_analyze_uses_a_sibling_config(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps(LLAMA_CONFIG))
    path = write_checkpoint(tmp_path / "pytorch_model.bin", llama_state_dict())
    row = analyze_target(str(path), _settings())
    assert row.family == "llama" and row.analysis is not None
    assert row.analysis.memory.kv_cache_bytes > 0


def test_analyze_legacy_pickle_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.pt"
    write_legacy(path)
    with pytest.raises(AnalysisError, match="convert it to safetensors"):
        analyze_target(str(path), _settings())
