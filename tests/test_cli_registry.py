"""``thermal-scout registry add|list|show|rm`` and ``analyze`` on ONNX/PyTorch files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.analysis.test_pytorch_zip import LLAMA_PARAMS, llama_state_dict, write_checkpoint
from tests.fakes import onnx_file
from tests.fakes.gguf_file import write_llama
from tui.cli import main

ROOT = Path(__file__).resolve().parents[1]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_add_list_show_rm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tiny-llama.Q4_K_M.gguf"
    write_llama(path)
    code, out, err = cli(capsys, "registry", "add", str(path))
    assert code == 0 and err == ""
    assert out.startswith("registered tiny-llama.Q4_K_M\n")
    assert "params   1,443,072 (1.44M)" in out and "Q4_K_M (Q4_K " in out
    assert "transformer-decoder (llama), 2 layers, context 2,048" in out

    code, out, _ = cli(capsys, "registry", "add", str(path), "--name", "tiny")
    assert code == 0 and out.startswith("updated tiny (registered again: revision 2)")

    code, out, _ = cli(capsys, "registry", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["name", "format", "params"]
    assert lines[1].split()[:3] == ["tiny", "gguf", "1.44M"] and lines[1].endswith(" ok")
    assert lines[-1] == "1 registered; 0 stale, 0 changed"

    code, out, _ = cli(capsys, "registry", "show", "tiny", "--json")
    data = json.loads(out)
    assert code == 0 and data["name"] == "tiny" and data["status"] == "ok"
    assert data["params"] == 1_443_072 and data["format"] == "gguf" and data["layers"] == 2
    assert data["path"] == str(path.resolve()) and len(data["fingerprint"]) == 64
    assert data["census"]["architecture"] == "transformer-decoder"

    code, out, _ = cli(capsys, "registry", "show", "tiny")
    assert code == 0 and "status   ok" in out and "header   sha256 " in out

    path.unlink()
    code, out, _ = cli(capsys, "registry", "list")
    assert code == 0 and out.splitlines()[1].endswith(" stale")
    assert f"  stale: tiny: file not found: {path.resolve()}" in out
    assert out.splitlines()[-1] == "1 registered; 1 stale, 0 changed"
    code, out, _ = cli(capsys, "registry", "list", "--json")
    assert [(e["name"], e["status"]) for e in json.loads(out)] == [("tiny", "stale")]

    code, out, _ = cli(capsys, "registry", "rm", "tiny")
    assert code == 0 and out.startswith("removed tiny (")
    code, out, _ = cli(capsys, "registry", "list")
    assert code == 0 and out.startswith("no registered models")
    code, out, err = cli(capsys, "registry", "show", "tiny")
    assert code == 1 and out == ""
    assert err == "error: 'tiny' is not in the registry (it is empty)\n"


def test_add_json_for_each_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    onnx_path = tmp_path / "tiny.onnx"
    onnx_file.write(onnx_path, onnx_file.llama_model())
    pt_path = write_checkpoint(tmp_path / "tiny.pt", llama_state_dict())
    code, out, _ = cli(capsys, "registry", "add", str(onnx_path), "--json")
    data = json.loads(out)
    assert code == 0 and data["format"] == "onnx" and data["params"] == onnx_file.llama_params()
    assert data["summary"]["opsets"] == {"ai.onnx": 17} and data["revision"] == 1
    code, out, _ = cli(capsys, "registry", "add", str(pt_path), "--json")
    data = json.loads(out)
    assert code == 0 and data["format"] == "pytorch" and data["params"] == LLAMA_PARAMS
    assert data["dtype_mix"] == "BF16" and data["name"] == "tiny-2"
    code, out, _ = cli(capsys, "registry", "show", str(onnx_path))  # by path
    assert code == 0 and "ops      12 nodes: MatMul 7" in out


def _bad(tmp_path: Path, case: str) -> Path:
    path = tmp_path / {"truncated": "m.gguf", "legacy": "m.pt", "onnx": "m.onnx"}.get(case, "m.dat")
    if case == "not a model":
        path.write_text("just some text\n")
    elif case == "empty":
        path.write_bytes(b"")
    elif case == "truncated":
        write_llama(path)
        with path.open("r+b") as f:
            f.truncate(path.stat().st_size - 1000)
    elif case == "legacy":
        path.write_bytes(b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.")
    elif case == "onnx":
        onnx_file.write(path, onnx_file.llama_model(), cut=5000)
    elif case == "unknown":
        path.write_bytes(bytes(range(7, 64)))
    return path


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("not a model", "unknown format (starts with b'just som')"),
        ("empty", "empty file, not a model"),
        ("truncated", "truncated: tensor 'output.weight' needs bytes up to"),
        ("legacy", "legacy PyTorch pickle (pre-1.6 format)"),
        ("onnx", "truncated or not ONNX"),
        ("unknown", "unknown format"),
        ("missing", "file not found"),
    ],
)
def test_bad_input_is_one_line_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, message: str
) -> None:
    path = _bad(tmp_path, case)
    code, out, err = cli(capsys, "registry", "add", str(path))
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}") and message in lines[0], lines
    code, out, _ = cli(capsys, "registry", "list", "--json")
    assert json.loads(out) == []


def test_name_taken_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.gguf", tmp_path / "b.gguf"
    write_llama(a)
    write_llama(b)
    assert cli(capsys, "registry", "add", str(a), "--name", "x")[0] == 0
    code, _, err = cli(capsys, "registry", "add", str(b), "--name", "x")
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("error: the name 'x' is already registered for ")


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["registry"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["registry", "add"])
    assert info.value.code == 2


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_real_entry_point(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gguf"
    write_llama(path)
    result = run_cli("registry", "add", str(path), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["name"] == "tiny"
    assert json.loads(run_cli("registry", "list", "--json").stdout)[0]["status"] == "ok"
    bad = tmp_path / "bad.bin"
    bad.write_text("nope")
    result = run_cli("registry", "add", str(bad))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {bad}: not a PyTorch checkpoint")
    assert result.stderr.count("\n") == 1


# -- analyze FILE for the new formats ---------------------------------------------------------


def test_analyze_onnx_and_pytorch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    onnx_path = tmp_path / "tiny.onnx"
    onnx_file.write(onnx_path, onnx_file.llama_model())
    code, out, err = cli(capsys, "analyze", str(onnx_path), "--hardware", "RTX 4090", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["id"] == "tiny" and data["params"]["total"] == onnx_file.llama_params()
    assert data["precision"] == "fp16" and data["architecture_class"] == "decoder-only"
    assert data["params_method"].startswith("onnx initializers (21 tensors, exact")

    pt_path = write_checkpoint(tmp_path / "tiny.pt", llama_state_dict())
    code, out, err = cli(capsys, "analyze", str(pt_path), "--hardware", "RTX 4090")
    assert code == 0, err
    assert out.startswith(f"tiny  (decoder-only, {LLAMA_PARAMS:,} parameters)")
    assert "at bf16" in out

    legacy = tmp_path / "old.bin"
    legacy.write_bytes(b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.")
    code, _, err = cli(capsys, "analyze", str(legacy), "--hardware", "RTX 4090")
    assert code == 1 and err.count("\n") == 1 and "convert it to safetensors" in err

    code, _, err = cli(capsys, "analyze", str(tmp_path / "nope.onnx"), "--hardware", "RTX 4090")
    assert code == 1 and err == f"error: {tmp_path / 'nope.onnx'}: file not found\n"
    other = tmp_path / "weights.npz"
    other.write_bytes(b"x")
    code, _, err = cli(capsys, "analyze", str(other), "--hardware", "RTX 4090")
    assert code == 1 and "unsupported file type .npz" in err and ".onnx" in err
