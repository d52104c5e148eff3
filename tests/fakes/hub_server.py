"""A loopback HTTP server that answers like the Hugging Face Hub, for tests of ``core.catalog.hub``.

It serves the committed samples in ``tests/data/hub_api_samples/``:

- ``GET /api/models`` — the two pages of ``synthetic_list_models_two_pages.json``, paged with a
  ``Link: <http://127.0.0.1:PORT/api/models?...&cursor=...>; rel="next"`` header (page size
  ``min(3, limit)``); ``expand=`` and ``expand[]=`` keys both filter the returned properties;
- ``GET /api/models/{id}`` and ``GET /api/models/{id}/revision/{rev}`` — the ``real_model_info_*``
  bodies (filtered to the ``expand`` properties when some are asked for); an unknown id gets
  ``404`` with ``X-Error-Code: RepoNotFound``, as the Hub answers;
- ``HEAD`` / ``GET /{id}/resolve/{rev}/config.json`` — a config with the headers
  ``hf_hub_download`` needs (``X-Repo-Commit``, ``ETag``, ``Content-Length``); a known repo with no
  config gets ``404`` ``EntryNotFound``;
- ``GET /api/agent-harnesses`` — the registry huggingface_hub fetches once per process when
  telemetry is on (recorded so tests can assert it was *not* asked for).

Failures are scripted per path with :meth:`FakeHub.script` and the canned replies below (401,
403 ``GatedRepo`` or plain, 401/404 ``RepoNotFound``, 404 ``EntryNotFound``/``RevisionNotFound``,
429 with ``Retry-After``, 5xx, malformed JSON, a slow answer). Every request is recorded (method,
raw target, path, query pairs, headers) in :attr:`FakeHub.requests`.

The server listens on ``127.0.0.1`` only, on a free port, in a daemon thread; :meth:`FakeHub.stop`
(or leaving the ``with`` block) shuts it down and releases any slow handler at once.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

SAMPLES_DIR = Path(__file__).resolve().parents[1] / "data" / "hub_api_samples"

#: Commit every fake repo is at (``X-Repo-Commit``).
COMMIT = "86b5e0934494bd15c9632b12f734a8a67f723594"

#: A bert-base-uncased ``config.json`` (dimensions as in the embedded catalog; synthetic file).
BERT_CONFIG: dict[str, Any] = {
    "architectures": ["BertForMaskedLM"],
    "attention_probs_dropout_prob": 0.1,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 768,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "layer_norm_eps": 1e-12,
    "max_position_embeddings": 512,
    "model_type": "bert",
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "pad_token_id": 0,
    "type_vocab_size": 2,
    "vocab_size": 30522,
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it.

    Attributes:
        method: ``GET``, ``HEAD``...
        target: The request target verbatim (path and query, as sent).
        path: The URL-decoded path, without the query.
        query: The query as ordered ``(key, value)`` pairs (repeated keys kept).
        headers: Header names lower-cased.
    """

    method: str
    target: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: dict[str, str]

    def values(self, key: str) -> list[str]:
        """Every value of a query key, in order."""
        return [v for k, v in self.query if k == key]


@dataclass
class Reply:
    """A scripted answer.

    Attributes:
        status: HTTP status.
        headers: Extra response headers.
        body: The body; None with status 200 means "answer normally" (after ``delay_s``).
        delay_s: Seconds to wait before answering (released early when the server stops).
        echo_authorization: Put the received ``Authorization`` header into ``X-Error-Message`` and
            the body, like a careless proxy would (for token-leak tests).
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    delay_s: float = 0.0
    echo_authorization: bool = False


def _error(status: int, code: str | None, message: str, **headers: str) -> Reply:
    all_headers = {"Content-Type": "application/json; charset=utf-8", "X-Error-Message": message}
    if code is not None:
        all_headers["X-Error-Code"] = code
    all_headers.update(headers)
    return Reply(status, all_headers, json.dumps({"error": message}).encode())


def unauthorized() -> Reply:
    """401 for a rejected token (the Hub's wording)."""
    return _error(401, None, "Invalid credentials in Authorization header")


def gated(repo_id: str = "meta-llama/Llama-3.2-1B-Instruct") -> Reply:
    """403 ``GatedRepo``, as for a gated model the token has no access to."""
    return _error(
        403,
        "GatedRepo",
        f"Access to model {repo_id} is restricted and you are not in the authorized list. "
        f"Visit https://huggingface.co/{repo_id} to ask for access.",
    )


def forbidden() -> Reply:
    """403 without an error code (a token without the needed permission)."""
    return _error(403, None, "This authentication method does not have sufficient permissions")


def repo_not_found(status: int = 404) -> Reply:
    """404 ``RepoNotFound`` (the Hub sends 401 for a private repo asked without a token)."""
    return _error(status, "RepoNotFound", "Repository not found")


def entry_not_found() -> Reply:
    """404 ``EntryNotFound`` (the repo exists, the file does not)."""
    return _error(404, "EntryNotFound", "Entry not found", **{"X-Repo-Commit": COMMIT})


def revision_not_found() -> Reply:
    """404 ``RevisionNotFound``."""
    return _error(404, "RevisionNotFound", "Invalid rev id: nope")


def rate_limited(retry_after: int | None = 30) -> Reply:
    """429, with ``Retry-After`` when given."""
    extra = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return _error(429, None, "You have exceeded our hourly quotas", **extra)


def server_error(status: int = 500) -> Reply:
    """A 5xx with a plain-text body."""
    return Reply(status, {"Content-Type": "text/plain"}, b"Internal Error")


def malformed_json() -> Reply:
    """200 ``application/json`` whose body is cut off mid-object."""
    return Reply(200, {"Content-Type": "application/json; charset=utf-8"}, b'{"id": "broken", ')


def slow(delay_s: float) -> Reply:
    """Answer normally, but only after ``delay_s`` seconds."""
    return Reply(delay_s=delay_s)


@dataclass
class _Rule:
    path: str
    method: str | None
    reply: Reply
    times: int | None


def _load(name: str) -> Any:
    return json.loads((SAMPLES_DIR / name).read_text(encoding="utf-8"))


class FakeHub:
    """The loopback Hub. Use as a context manager, or call :meth:`start` / :meth:`stop`.

    Attributes:
        requests: Every request received, in order.
        models: ``repo_id -> model info body`` served by ``/api/models/{id}``.
        listing: The items ``/api/models`` pages through (both sample pages, in order).
        configs: ``repo_id -> config.json bytes`` served by ``/{id}/resolve/{rev}/config.json``.
        page_size: Items per ``/api/models`` page (further capped by the ``limit`` parameter).
        links: Every ``Link`` next-page URL sent, in order.
    """

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.links: list[str] = []
        self.models: dict[str, dict[str, Any]] = {}
        for sample in sorted(SAMPLES_DIR.glob("real_model_info_*.json")):
            body = _load(sample.name)
            body.pop("_provenance", None)
            self.models[body["id"]] = body
        pages = _load("synthetic_list_models_two_pages.json")
        self.listing: list[dict[str, Any]] = [*pages["response_1_body"], *pages["response_2_body"]]
        self.page_size = len(pages["response_1_body"])
        for item in self.listing:
            self.models.setdefault(item["id"], item)
        self.configs: dict[str, bytes] = {
            "google-bert/bert-base-uncased": json.dumps(BERT_CONFIG, indent=2).encode(),
        }
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> FakeHub:
        """Listen on 127.0.0.1, on a free port, in a daemon thread."""
        hub = self

        class Handler(_Handler):
            fake = hub

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, release slow handlers and close the socket."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, the value for ``HF_ENDPOINT``."""
        return f"http://127.0.0.1:{self.port}"

    # -- scripting and inspection -------------------------------------------------------------

    def script(
        self, path: str, reply: Reply, *, method: str | None = None, times: int | None = None
    ) -> None:
        """Answer requests for ``path`` with ``reply``.

        Args:
            path: A URL-decoded path (``/api/models``); a trailing ``*`` matches any suffix.
            reply: The answer.
            method: Only for this method (``"HEAD"``, ``"GET"``); None for any.
            times: Only this many times; None for every request.
        """
        with self._lock:
            self._rules.append(_Rule(path, method, reply, times))

    def seen(self, path: str | None = None, method: str | None = None) -> list[RecordedRequest]:
        """The recorded requests, optionally only those for a path (prefix with ``*``)/method."""
        with self._lock:
            recorded = list(self.requests)
        return [
            r
            for r in recorded
            if (path is None or _matches(path, r.path)) and (method is None or r.method == method)
        ]

    # -- internals used by the handler --------------------------------------------------------

    def _record(self, request: RecordedRequest) -> Reply | None:
        with self._lock:
            self.requests.append(request)
            for rule in self._rules:
                if (rule.method is None or rule.method == request.method) and _matches(
                    rule.path, request.path
                ):
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times <= 0:
                            self._rules.remove(rule)
                    return rule.reply
        return None


def _matches(pattern: str, path: str) -> bool:
    if pattern.endswith("*"):
        return path.startswith(pattern[:-1])
    return path == pattern


def _etag(body: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(body) + body).hexdigest()  # git blob id, as the Hub


class _Handler(BaseHTTPRequestHandler):
    fake: FakeHub
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls
    server_version = "FakeHub/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr
        return

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    # -- dispatch ---------------------------------------------------------------------------

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        request = RecordedRequest(
            method=self.command,
            target=self.path,
            path=unquote(split.path),
            query=tuple(parse_qsl(split.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
        )
        reply = self.fake._record(request)
        if reply is not None:
            if reply.delay_s and self.fake._stopping.wait(reply.delay_s):
                return  # server stopping: drop the connection
            if reply.status != 200 or reply.body is not None:
                self._send_scripted(reply, request)
                return
        self._route(request)

    def _route(self, request: RecordedRequest) -> None:
        path = request.path
        if path == "/api/models":
            self._list_models(request)
        elif path == "/api/agent-harnesses":
            self._json(200, {"standardEnvVars": [], "harnesses": {}})
        elif path.startswith("/api/models/"):
            self._model_info(request, path.removeprefix("/api/models/"))
        elif "/resolve/" in path:
            repo_id, _, rest = path.lstrip("/").partition("/resolve/")
            _revision, _, filename = rest.partition("/")
            self._resolve(request, repo_id, filename)
        else:
            self._send(404, {"Content-Type": "text/plain"}, b"Not Found")

    # -- endpoints --------------------------------------------------------------------------

    def _list_models(self, request: RecordedRequest) -> None:
        query = [(k, v) for k, v in request.query if k != "cursor"]
        cursor = dict(request.query).get("cursor")
        start = int(cursor.removeprefix("offset-")) if cursor else 0
        limits = request.values("limit")
        size = min(self.fake.page_size, int(limits[0])) if limits else self.fake.page_size
        items = self.fake.listing[start : start + size]
        expand = _expand(request)
        body = [_filtered(item, expand) for item in items]
        headers: dict[str, str] = {}
        if start + size < len(self.fake.listing):
            # The cursor goes first so that a client rebuilding the URL (instead of following it
            # verbatim) is caught by the tests.
            next_query = urlencode([("cursor", f"offset-{start + size}"), *query])
            link = f"{self._base()}/api/models?{next_query}"
            self.fake.links.append(link)
            headers["Link"] = f'<{link}>; rel="next"'
        self._json(200, body, headers)

    def _model_info(self, request: RecordedRequest, rest: str) -> None:
        repo_id = rest.split("/revision/")[0]
        body = self.fake.models.get(repo_id)
        if body is None:
            self._send_scripted(repo_not_found(), request)
            return
        self._json(200, _filtered(body, _expand(request)))

    def _resolve(self, request: RecordedRequest, repo_id: str, filename: str) -> None:
        if repo_id not in self.fake.models and repo_id not in self.fake.configs:
            self._send_scripted(repo_not_found(), request)
            return
        content = self.fake.configs.get(repo_id) if filename == "config.json" else None
        if content is None:
            self._send_scripted(entry_not_found(), request)
            return
        headers = {
            "Content-Type": "text/plain; charset=utf-8",
            "X-Repo-Commit": COMMIT,
            "ETag": f'"{_etag(content)}"',
        }
        self._send(200, headers, content)

    # -- writing ----------------------------------------------------------------------------

    def _base(self) -> str:
        return f"http://127.0.0.1:{self.fake.port}"

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        all_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        self._send(status, all_headers, json.dumps(body).encode())

    def _send_scripted(self, reply: Reply, request: RecordedRequest) -> None:
        headers = dict(reply.headers)
        body = reply.body or b""
        auth = request.headers.get("authorization")
        if reply.echo_authorization and auth:
            headers["X-Error-Message"] = f"{headers.get('X-Error-Message', 'error')} ({auth})"
            body += f" received {auth}".encode()
        self._send(reply.status, headers, body)

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
            self.close_connection = True


def _expand(request: RecordedRequest) -> list[str]:
    return request.values("expand") + request.values("expand[]")


def _filtered(item: dict[str, Any], expand: list[str]) -> dict[str, Any]:
    if not expand:
        return dict(item)
    keep = {"_id", "id", *expand}
    return {k: v for k, v in item.items() if k in keep}


def iter_targets(requests: list[RecordedRequest]) -> Iterator[str]:
    """The raw targets of some requests (handy in assertion messages)."""
    for r in requests:
        yield f"{r.method} {r.target}"
