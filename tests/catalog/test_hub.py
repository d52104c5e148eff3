"""The Hub source against a loopback Hub (tests/fakes/hub_server.py); never the real network."""

from __future__ import annotations

import json
import logging
import os
import pickle
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import urlopen

import pytest

from core.catalog.hub import EXPAND, HubGguf, HubModel, HubSource
from core.errors import HUB_FAILURE_KINDS, HubUnavailable, ThermalScoutError
from tests.fakes import hub_server as fake
from tests.fakes.hub_server import BERT_CONFIG, COMMIT, SAMPLES_DIR, FakeHub

ROOT = Path(__file__).resolve().parents[2]
BERT = "google-bert/bert-base-uncased"
GGUF = "ggml-org/gemma-3-1b-it-GGUF"
LLAMA = "meta-llama/Llama-3.2-1B-Instruct"
TOKEN = "hf_ThermalScoutTestToken0123456789"


def _sample(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((SAMPLES_DIR / name).read_text(encoding="utf-8"))
    body.pop("_provenance")
    return body


def _model_info(body: dict[str, Any]) -> Any:
    from huggingface_hub import ModelInfo

    return ModelInfo(**body)


def _source(hub: FakeHub, **kwargs: Any) -> HubSource:
    kwargs.setdefault("timeout_s", 5.0)
    return HubSource(endpoint=hub.url, **kwargs)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _raises(call: Callable[[], object]) -> HubUnavailable:
    with pytest.raises(HubUnavailable) as info:
        call()
    return info.value


# ---------------------------------------------------------------------------------------------
# HubModel from the real samples
# ---------------------------------------------------------------------------------------------


def test_hub_model_from_the_real_bert_sample() -> None:
    model = HubModel.from_model_info(
        _model_info(_sample("real_model_info_google-bert__bert-base-uncased.json"))
    )
    assert model.repo_id == BERT
    assert (model.pipeline_tag, model.library_name) == ("fill-mask", "transformers")
    assert (model.downloads, model.likes) == (60478923, 2498)
    assert model.licence == "apache-2.0"
    assert model.gated is False
    assert model.params_total == 110_106_428
    assert dict(model.params_by_dtype) == {"F32": 110_106_428}
    assert model.params_source == "safetensors"
    assert model.gguf is None
    assert model.model_type == "bert"
    assert model.architectures == ("BertForMaskedLM",)
    assert model.last_modified == datetime(2024, 2, 19, 11, 6, 12, tzinfo=timezone.utc)
    assert "license:apache-2.0" in model.tags


def test_hub_model_from_the_real_gguf_sample() -> None:
    model = HubModel.from_model_info(
        _model_info(_sample("real_model_info_ggml-org__gemma-3-1b-it-GGUF.json"))
    )
    assert model.repo_id == GGUF
    # gguf.total is a parameter count (elements), not bytes: totalFileSize is the bytes.
    assert model.params_total == 999_885_952
    assert model.params_source == "gguf"
    assert model.gguf == HubGguf(total=999_885_952, architecture="gemma3", context_length=32768)
    assert dict(model.params_by_dtype) == {}
    assert model.licence == "gemma"
    assert model.pipeline_tag is None
    assert model.model_type is None and model.architectures == ()


def test_hub_model_licence_falls_back_to_the_tag_and_to_license_name() -> None:
    tagged = HubModel.from_model_info(_model_info({"id": "a/b", "tags": ["x", "license:mit"]}))
    assert tagged.licence == "mit"
    other = HubModel.from_model_info(
        _model_info({"id": "a/c", "cardData": {"license": "other", "license_name": "acme-open"}})
    )
    assert other.licence == "acme-open"
    bare = HubModel.from_model_info(_model_info({"id": "a/d"}))
    assert (bare.licence, bare.params_total, bare.gated, bare.tags) == (None, None, False, ())


def test_hub_model_is_frozen_and_hashable() -> None:
    model = HubModel(repo_id="a/b", params_total=1)
    with pytest.raises(AttributeError):
        model.repo_id = "c/d"  # type: ignore[misc]
    assert {model: 1}[HubModel(repo_id="a/b", params_total=1)] == 1


# ---------------------------------------------------------------------------------------------
# search
# ---------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("hub_online")
def test_search_yields_two_pages_following_the_link_header_verbatim(hub_server: FakeHub) -> None:
    pages = list(_source(hub_server).search("instruct", limit=6))

    assert [[m.repo_id for m in page] for page in pages] == [
        [LLAMA, "Qwen/Qwen2.5-0.5B-Instruct", "google/gemma-3-1b-it"],
        [
            "microsoft/Phi-3.5-mini-instruct",
            "HuggingFaceTB/SmolLM2-135M-Instruct",
            "sentence-transformers/all-MiniLM-L6-v2",
        ],
    ]
    first, second = hub_server.seen("/api/models")
    (link,) = hub_server.links
    url = urlsplit(link)
    assert second.target == f"{url.path}?{url.query}"  # verbatim, cursor first
    assert second.query[0][0] == "cursor"
    assert first.values("cursor") == []


@pytest.mark.usefixtures("hub_online")
def test_search_sends_the_list_models_query_with_repeated_expand_keys(
    hub_server: FakeHub,
) -> None:
    next(_source(hub_server).search("instruct", sort="likes", limit=6))

    (request,) = hub_server.seen("/api/models")
    assert request.method == "GET"
    assert request.values("search") == ["instruct"]
    assert request.values("sort") == ["likes"]
    assert request.values("limit") == ["6"]
    assert request.values("expand") == list(EXPAND)
    assert {"safetensors", "config", "gguf", "cardData", "pipeline_tag"} <= set(EXPAND)
    assert request.values("expand[]") == []
    assert request.headers["user-agent"].startswith("thermal-scout/")
    assert "authorization" not in request.headers  # no token anywhere


@pytest.mark.usefixtures("hub_online")
def test_search_maps_sort_names_like_list_models(hub_server: FakeHub) -> None:
    next(_source(hub_server).search("", sort="last_modified", limit=1))
    (request,) = hub_server.seen("/api/models")
    assert request.values("sort") == ["lastModified"]
    assert request.values("search") == []  # an empty query is not sent
    with pytest.raises(ValueError, match="unknown sort"):
        next(_source(hub_server).search("x", sort="size"))


@pytest.mark.usefixtures("hub_online")
def test_search_honours_limit_and_page_size(hub_server: FakeHub) -> None:
    source = _source(hub_server)

    assert [len(p) for p in source.search("instruct", limit=2)] == [2]
    assert len(hub_server.seen("/api/models")) == 1  # no second page asked for

    assert [len(p) for p in source.search("instruct", limit=4)] == [3, 1]
    assert len(hub_server.seen("/api/models")) == 3

    assert [len(p) for p in source.search("instruct", limit=6, page_size=2)] == [2, 1, 2, 1]
    assert [len(p) for p in source.search("instruct", limit=None)] == [3, 3]


@pytest.mark.usefixtures("hub_online")
def test_search_is_lazy_one_request_per_page(hub_server: FakeHub) -> None:
    pages = _source(hub_server).search("instruct", limit=6)
    first = next(pages)
    assert len(first) == 3
    assert len(hub_server.seen("/api/models")) == 1
    pages.close()
    assert len(hub_server.seen("/api/models")) == 1


@pytest.mark.usefixtures("hub_online")
def test_search_results_carry_the_expanded_properties(hub_server: FakeHub) -> None:
    page = next(_source(hub_server).search("instruct"))
    llama = page[0]
    assert llama.repo_id == LLAMA
    assert llama.gated == "manual"
    assert llama.licence == "llama3.2"
    assert llama.params_total == 1_235_814_400
    assert dict(llama.params_by_dtype) == {"BF16": 1_235_814_400}
    assert llama.model_type == "llama"
    assert page[1].gated is False


@pytest.mark.usefixtures("hub_online")
def test_a_failing_second_page_keeps_the_first(hub_server: FakeHub) -> None:
    hub_server.script("/api/models", fake.server_error(503), times=1)
    assert _raises(lambda: next(_source(hub_server).search("x"))).kind == "server"

    pages = _source(hub_server).search("instruct", limit=6)
    assert len(next(pages)) == 3
    hub_server.script("/api/models", fake.rate_limited(retry_after=7))
    error = _raises(lambda: next(pages))
    assert (error.kind, error.retry_after_s, error.status) == ("rate-limited", 7, 429)


def test_the_fake_hub_accepts_bracketed_expand_keys(hub_server: FakeHub) -> None:
    with urlopen(f"{hub_server.url}/api/models?limit=1&expand[]=gated", timeout=5) as response:
        body = json.loads(response.read())
    assert body == [{"_id": "<24-hex object id>", "id": LLAMA, "gated": "manual"}]


# ---------------------------------------------------------------------------------------------
# model and config
# ---------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("hub_online")
def test_model_reads_one_model_with_the_same_expand(hub_server: FakeHub) -> None:
    model = _source(hub_server).model(BERT)

    assert model.params_total == 110_106_428
    assert model.licence == "apache-2.0"
    assert model.last_modified is not None
    (request,) = hub_server.seen(f"/api/models/{BERT}")
    assert request.values("expand") == list(EXPAND)
    gguf = _source(hub_server).model(GGUF)
    assert (gguf.params_total, gguf.params_source) == (999_885_952, "gguf")


def test_config_downloads_once_then_serves_the_hf_cache(
    hub_server: FakeHub, hub_online: Path
) -> None:
    source = _source(hub_server)

    assert source.config(BERT) == BERT_CONFIG
    snapshot = hub_online / "models--google-bert--bert-base-uncased" / "snapshots" / COMMIT
    assert json.loads((snapshot / "config.json").read_text()) == BERT_CONFIG
    assert (hub_online / "models--google-bert--bert-base-uncased" / "refs" / "main").exists()
    path = f"/{BERT}/resolve/main/config.json"
    assert len(hub_server.seen(path, "GET")) == 1

    assert source.config(BERT) == BERT_CONFIG
    assert len(hub_server.seen(path, "GET")) == 1  # no second download
    assert len(hub_server.seen(path, "HEAD")) == 3  # preflight + download, then a revalidation


def test_config_served_from_cache_when_the_hub_fails_later(
    hub_server: FakeHub, hub_online: Path
) -> None:
    source = _source(hub_server)
    assert source.config(BERT) == BERT_CONFIG
    hub_server.script("*", fake.server_error(502))
    assert source.config(BERT) == BERT_CONFIG  # the library's fallback to the cached copy


@pytest.mark.usefixtures("hub_online")
def test_config_with_malformed_json_is_a_bad_response(hub_server: FakeHub) -> None:
    hub_server.configs[BERT] = b'{"hidden_size": 768,'
    error = _raises(lambda: _source(hub_server).config(BERT))
    assert error.kind == "bad-response"
    assert "config.json of google-bert/bert-base-uncased is not valid JSON" in error.message
    assert "line 1" in error.message

    hub_server.configs[LLAMA] = b"[1, 2]"
    assert _raises(lambda: _source(hub_server).config(LLAMA)).kind == "bad-response"


# ---------------------------------------------------------------------------------------------
# failures
# ---------------------------------------------------------------------------------------------

_SEARCH = ("search", "/api/models")
_MODEL = ("model", f"/api/models/{LLAMA}")
_CONFIG = ("config", f"/{LLAMA}/resolve/main/config.json")

_FAILURES: list[tuple[tuple[str, str], fake.Reply, str, str]] = [
    (_SEARCH, fake.unauthorized(), "auth", "HF_TOKEN"),
    (_MODEL, fake.unauthorized(), "auth", "HF_TOKEN"),
    (_CONFIG, fake.unauthorized(), "auth", "HF_TOKEN"),
    (_SEARCH, fake.forbidden(), "auth", "HTTP 403"),
    (_MODEL, fake.repo_not_found(401), "not-found", "if it is private or gated, set HF_TOKEN"),
    (_MODEL, fake.gated(), "gated", "request access on the model page and set HF_TOKEN"),
    (_CONFIG, fake.gated(), "gated", "request access on the model page and set HF_TOKEN"),
    (_MODEL, fake.repo_not_found(), "not-found", "not found on the Hub"),
    (_CONFIG, fake.repo_not_found(), "not-found", "not found on the Hub"),
    (_CONFIG, fake.entry_not_found(), "not-found", "has no config.json"),
    (_CONFIG, fake.revision_not_found(), "not-found", "has no revision 'main'"),
    (_SEARCH, fake.rate_limited(retry_after=30), "rate-limited", "retry in 30 s"),
    (_MODEL, fake.rate_limited(retry_after=None), "rate-limited", "retry later"),
    (_CONFIG, fake.rate_limited(retry_after=30), "rate-limited", "retry in 30 s"),
    (_SEARCH, fake.server_error(), "server", "HTTP 500"),
    (_MODEL, fake.server_error(503), "server", "HTTP 503"),
    (_CONFIG, fake.server_error(), "server", "HTTP 500"),
    (_SEARCH, fake.malformed_json(), "bad-response", "malformed"),
    (_MODEL, fake.malformed_json(), "bad-response", "malformed"),
]


def _call(source: HubSource, what: str) -> Callable[[], object]:
    if what == "search":
        return lambda: next(source.search("instruct"))
    if what == "model":
        return lambda: source.model(LLAMA)
    return lambda: source.config(LLAMA)


@pytest.mark.usefixtures("hub_online")
@pytest.mark.parametrize(
    ("target", "reply", "kind", "text"),
    _FAILURES,
    ids=[f"{t[0][0]}-{t[1].status}-{t[2]}" for t in _FAILURES],
)
def test_every_failure_is_one_hub_unavailable_at_once(
    hub_server: FakeHub, target: tuple[str, str], reply: fake.Reply, kind: str, text: str
) -> None:
    what, path = target
    hub_server.configs[LLAMA] = b"{}"
    hub_server.script(path, reply)

    started = time.monotonic()
    error = _raises(_call(_source(hub_server), what))

    assert isinstance(error, ThermalScoutError)
    assert error.kind == kind
    assert text in error.message
    assert "\n" not in error.message and str(error) == error.message
    assert error.status == (reply.status if reply.status != 200 else None)
    assert time.monotonic() - started < 2  # no retry loop with back-off
    assert len(hub_server.seen(path)) == 1  # one request, not retried


@pytest.mark.usefixtures("hub_online")
def test_unknown_model_is_not_found_as_the_hub_answers(hub_server: FakeHub) -> None:
    error = _raises(lambda: _source(hub_server).model("nobody/nothing"))
    assert (error.kind, error.status) == ("not-found", 404)
    assert error.message == (
        "nobody/nothing not found on the Hub (if it is private or gated, set HF_TOKEN)"
    )
    assert _raises(lambda: _source(hub_server).config(GGUF)).kind == "not-found"  # no config.json
    assert _raises(lambda: _source(hub_server).model("not a/valid/id")).kind == "not-found"


@pytest.mark.usefixtures("hub_online")
def test_connection_refused_is_unreachable_at_once() -> None:
    source = HubSource(endpoint=f"http://127.0.0.1:{_free_port()}", timeout_s=5)
    for call in (lambda: next(source.search("x")), lambda: source.model(BERT)):
        started = time.monotonic()
        error = _raises(call)
        assert error.kind == "unreachable"
        assert "connection refused" in error.message
        assert time.monotonic() - started < 2
    assert _raises(lambda: source.config(BERT)).kind == "unreachable"


@pytest.mark.usefixtures("hub_online")
def test_a_slow_hub_is_a_timeout_within_timeout_s(hub_server: FakeHub) -> None:
    hub_server.script("*", fake.slow(5.0))
    source = _source(hub_server, timeout_s=0.3)
    for call in (
        lambda: next(source.search("x")),
        lambda: source.model(BERT),
        lambda: source.config(BERT),
    ):
        started = time.monotonic()
        error = _raises(call)
        assert error.kind == "timeout"
        assert "0.3 s" in error.message
        assert time.monotonic() - started < 1.5


@pytest.mark.usefixtures("hub_online")
def test_offline_constant_raises_offline_without_a_request(
    hub_server: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    source = _source(hub_server)
    for call in (lambda: next(source.search("x")), lambda: source.model(BERT)):
        error = _raises(call)
        assert error.kind == "offline"
        assert error.message == "Hub offline (HF_HUB_OFFLINE=1): showing catalog and cache only"
    error = _raises(lambda: source.config(BERT))
    assert error.kind == "offline" and "not in the cache" in error.message
    assert hub_server.requests == []


def _every_failure(hub: FakeHub, source: HubSource, *, echo: bool) -> list[HubUnavailable]:
    errors: list[HubUnavailable] = []
    for (what, path), reply, _kind, _text in _FAILURES:
        hub.script(path, fake.Reply(**{**vars(reply), "echo_authorization": echo}))
        hub.configs[LLAMA] = b"{}"
        errors.append(_raises(_call(source, what)))
        hub._rules.clear()
    hub.script("*", fake.slow(3.0))
    errors.append(_raises(lambda: source.model(BERT)))
    hub._rules.clear()
    return errors


@pytest.mark.usefixtures("hub_online")
@pytest.mark.parametrize("echo", [False, True], ids=["plain", "server-echoes-the-token"])
def test_the_token_is_sent_but_never_leaks(
    hub_server: FakeHub, caplog: pytest.LogCaptureFixture, echo: bool
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="huggingface_hub")
    source = _source(hub_server, token=TOKEN, timeout_s=0.5)
    assert TOKEN not in repr(source)

    errors = _every_failure(hub_server, source, echo=echo)
    refused = HubSource(endpoint=f"http://127.0.0.1:{_free_port()}", token=TOKEN)
    errors.append(_raises(lambda: refused.model(BERT)))

    assert {e.kind for e in errors} == HUB_FAILURE_KINDS - {"offline"}
    sent = [r.headers.get("authorization") for r in hub_server.requests]
    assert sent and all(h == f"Bearer {TOKEN}" for h in sent)  # the token did go out
    leaks = [repr(e) for e in errors if TOKEN in f"{e} {e!r} {e.args} {vars(e)}"]
    records = caplog.records
    if echo:
        # httpcore2's DEBUG wire trace prints response headers as received: a server that echoes
        # the token gets it logged there, outside this project's and huggingface_hub's loggers.
        records = [r for r in records if r.name.split(".")[0] in ("core", "huggingface_hub")]
    leaks += [r.getMessage() for r in records if TOKEN in r.getMessage()]
    assert leaks == []


@pytest.mark.usefixtures("hub_online")
def test_an_echoed_token_would_leak_through_the_library_message(hub_server: FakeHub) -> None:
    """Proves the test above can fail: the library's own error text carries the echo."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    hub_server.script("*", fake.Reply(403, {"X-Error-Message": "no"}, b"", echo_authorization=True))
    with pytest.raises(HfHubHTTPError) as info:
        HfApi(endpoint=hub_server.url, token=TOKEN).model_info("a/b")
    assert TOKEN in str(info.value)


def test_hub_unavailable_validates_its_kind_and_pickles() -> None:
    with pytest.raises(ValueError, match="unknown Hub failure kind"):
        HubUnavailable("boom", "x")
    error = HubUnavailable("rate-limited", "Hub rate limit\nreached", status=429, retry_after_s=5)
    assert error.message == "Hub rate limit reached"
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.kind, copy.message, copy.status, copy.retry_after_s) == (
        "rate-limited",
        "Hub rate limit reached",
        429,
        5,
    )
    assert repr(copy) == "HubUnavailable(kind='rate-limited', message='Hub rate limit reached')"


# ---------------------------------------------------------------------------------------------
# Start-up cost and the environment variables (subprocesses: huggingface_hub reads env at import)
# ---------------------------------------------------------------------------------------------

_SCRIPT = """
import json, sys
from core.catalog.hub import HubSource
from core.errors import HubUnavailable
out = {}
source = HubSource(timeout_s=5)
def attempt(name, call):
    try:
        out[name] = call()
    except HubUnavailable as error:
        out[name] = {"kind": error.kind, "message": error.message}
attempt("search", lambda: [[m.repo_id for m in p] for p in source.search("instruct", limit=6)])
attempt("model", lambda: source.model("google-bert/bert-base-uncased").params_total)
attempt("config", lambda: source.config("google-bert/bert-base-uncased"))
attempt("config_uncached", lambda: source.config("meta-llama/Llama-3.2-1B-Instruct"))
from huggingface_hub import constants
out["endpoint"] = source.endpoint
out["cache"] = constants.HF_HUB_CACHE
print(json.dumps(out))
"""


def _run(env: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert TOKEN not in result.stdout + result.stderr
    out: dict[str, Any] = json.loads(result.stdout)
    return out


def test_importing_the_hub_module_does_not_import_huggingface_hub() -> None:
    code = (
        "import sys\n"
        "from core.catalog.hub import HubModel, HubSource\n"
        "HubSource(); HubModel(repo_id='a/b')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('huggingface_hub', 'httpx2')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.slow
def test_environment_variables_online_then_offline(hub_server: FakeHub, tmp_path: Path) -> None:
    home = tmp_path / "hf-home"
    env = {
        "HF_ENDPOINT": hub_server.url,
        "HF_HOME": str(home),
        "HF_TOKEN": TOKEN,
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_OFFLINE": "0",
    }

    online = _run(env)
    assert online["endpoint"] == hub_server.url
    assert online["cache"] == str(home / "hub")
    assert [len(p) for p in online["search"]] == [3, 3]
    assert online["model"] == 110_106_428
    assert online["config"] == BERT_CONFIG
    assert online["config_uncached"]["kind"] == "not-found"  # the fake has no Llama config
    assert (home / "hub" / "models--google-bert--bert-base-uncased" / "snapshots").is_dir()
    assert hub_server.requests, "nothing reached the endpoint named by HF_ENDPOINT"
    assert {r.headers.get("authorization") for r in hub_server.requests} == {f"Bearer {TOKEN}"}

    seen = len(hub_server.requests)
    offline = _run({**env, "HF_HUB_OFFLINE": "1"})
    assert offline["search"]["kind"] == "offline"
    assert offline["model"]["kind"] == "offline"
    assert offline["config"] == BERT_CONFIG  # from the cache under HF_HOME
    assert offline["config_uncached"]["kind"] == "offline"
    assert len(hub_server.requests) == seen  # not one request
    assert hub_server.seen("/api/agent-harnesses") == []  # telemetry off: HF_ENDPOINT never asked


@pytest.mark.slow
def test_telemetry_on_would_reach_the_endpoint(tmp_path: Path) -> None:
    """Proves the fixture's no-telemetry assertion can fail: with telemetry on, the library asks
    ``HF_ENDPOINT`` for the agent-harnesses registry."""
    with FakeHub() as hub:
        env = {
            "HF_ENDPOINT": hub.url,
            "HF_HOME": str(tmp_path / "hf-home"),
            "HF_HUB_DISABLE_TELEMETRY": "0",
            "HF_HUB_OFFLINE": "0",
        }
        _run(env)
        assert len(hub.seen("/api/agent-harnesses")) == 1
