"""Hugging Face Hub model source, through ``huggingface_hub``.

:class:`HubSource` searches the Hub (:meth:`~HubSource.search`, one page at a time so a worker
thread can post each page as it arrives), reads one model's metadata (:meth:`~HubSource.model`)
and fetches a ``config.json`` through the library's download cache (:meth:`~HubSource.config`).
Every failure (offline, no route, timeout, 401, gated, 404, 429, 5xx, malformed answer) is turned
into a :class:`~core.errors.HubUnavailable` whose ``message`` is one line for a UI notice; the
access token never appears in a message, a repr or a log record.

``huggingface_hub`` is imported lazily, inside the methods: importing this module stays cheap.
The library's environment variables behave as its documentation says: ``HF_ENDPOINT``,
``HF_HUB_OFFLINE`` and ``HF_HOME`` are read once, when ``huggingface_hub`` is first imported;
``HF_TOKEN`` is read at each request (unless a token is passed explicitly).

>>> m = HubModel(repo_id="google-bert/bert-base-uncased", params_total=110_106_428)
>>> m.repo_id, m.params_total, m.gated
('google-bert/bert-base-uncased', 110106428, False)
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import urlsplit, urlunsplit

from core import __version__
from core.errors import HUB_FAILURE_KINDS, HubUnavailable

if TYPE_CHECKING:
    from huggingface_hub import HfApi, ModelInfo
    from huggingface_hub.hf_api import ExpandModelProperty_T

__all__ = [
    "CONFIG_FILENAME",
    "EXPAND",
    "HUB_FAILURE_KINDS",
    "SORTS",
    "HubGguf",
    "HubModel",
    "HubSource",
    "HubUnavailable",
]

logger = logging.getLogger(__name__)

#: Properties asked of the Hub (``expand=``) for a search and for one model: what the table shows.
#: ``gated`` and ``lastModified`` are included because with ``expand`` the Hub returns only the
#: properties asked for.
EXPAND: tuple[ExpandModelProperty_T, ...] = (
    "safetensors",
    "config",
    "pipeline_tag",
    "library_name",
    "downloads",
    "likes",
    "tags",
    "gguf",
    "cardData",
    "gated",
    "lastModified",
)

#: Sort keys :meth:`HubSource.search` accepts, and the ``sort=`` value the Hub API takes for each
#: (the mapping ``HfApi.list_models`` applies).
SORTS: Mapping[str, str] = MappingProxyType(
    {
        "downloads": "downloads",
        "likes": "likes",
        "last_modified": "lastModified",
        "created_at": "createdAt",
        "trending_score": "trendingScore",
    }
)

#: The file :meth:`HubSource.config` downloads.
CONFIG_FILENAME = "config.json"

_LIBRARY_NAME = "thermal-scout"
_TOKEN_PATTERN = re.compile(r"\bhf_[A-Za-z0-9]{6,}|(?i:bearer)\s+\S+")
_Gated = Literal[False, "auto", "manual"]


# ---------------------------------------------------------------------------------------------
# Model records
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HubGguf:
    """What the Hub reads from a repository's GGUF header (the ``gguf`` property).

    Attributes:
        total: Parameter count (elements), *not* bytes.
        architecture: ``general.architecture`` (``"llama"``, ``"gemma3"``...).
        context_length: ``<arch>.context_length``.
    """

    total: int | None = None
    architecture: str | None = None
    context_length: int | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HubGguf:
        """Read the Hub's ``gguf`` object.

        Args:
            data: The ``gguf`` property as the Hub sends it.

        Returns:
            The three facts, None where absent or of the wrong type.
        """
        return cls(
            total=_int_or_none(data.get("total")),
            architecture=_str_or_none(data.get("architecture")),
            context_length=_int_or_none(data.get("context_length")),
        )


@dataclass(frozen=True)
class HubModel:
    """One model as the Hub describes it (the properties in :data:`EXPAND`).

    Attributes:
        repo_id: ``owner/name``.
        pipeline_tag: ``text-generation``, ``fill-mask``...
        library_name: ``transformers``, ``sentence-transformers``, ``gguf``...
        downloads: Downloads over the last 30 days.
        likes: Likes.
        tags: The Hub's tags.
        licence: From the model card (``license``, or ``license_name`` when it is ``other``),
            else from a ``license:`` tag.
        gated: False, ``"auto"`` or ``"manual"`` (access approval).
        params_total: Parameter count: ``safetensors.total``, else ``gguf.total``.
        params_by_dtype: ``safetensors.parameters`` (``{"BF16": 1235814400}``; buffers such as
            ``I64`` position ids included, as the Hub counts them).
        params_source: ``"safetensors"``, ``"gguf"`` or None: where ``params_total`` comes from.
        gguf: The GGUF facts, for GGUF repositories.
        config: The ``config`` property (``model_type``, ``architectures``...; a short subset of
            ``config.json``, see :meth:`HubSource.config` for the file).
        last_modified: Last commit time.
    """

    repo_id: str
    pipeline_tag: str | None = None
    library_name: str | None = None
    downloads: int | None = None
    likes: int | None = None
    tags: tuple[str, ...] = ()
    licence: str | None = None
    gated: _Gated = False
    params_total: int | None = None
    params_by_dtype: Mapping[str, int] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    params_source: Literal["safetensors", "gguf"] | None = None
    gguf: HubGguf | None = None
    config: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    last_modified: datetime | None = None

    @property
    def model_type(self) -> str | None:
        """``config.model_type``, when the Hub gave one."""
        return _str_or_none(self.config.get("model_type"))

    @property
    def architectures(self) -> tuple[str, ...]:
        """``config.architectures`` (``("LlamaForCausalLM",)``), empty when unknown."""
        value = self.config.get("architectures")
        if isinstance(value, list):
            return tuple(str(v) for v in value)
        return ()

    @classmethod
    def from_model_info(cls, info: ModelInfo) -> HubModel:
        """Convert a ``huggingface_hub`` ``ModelInfo``.

        Args:
            info: From ``HfApi.model_info`` / ``list_models``, or ``ModelInfo(**body)``.

        Returns:
            The model record.

        Raises:
            TypeError: ``info`` has a property of an unexpected shape.
        """
        by_dtype: dict[str, int] = {}
        total: int | None = None
        source: Literal["safetensors", "gguf"] | None = None
        safetensors = info.safetensors
        if safetensors is not None:
            by_dtype = {str(k): int(v) for k, v in dict(safetensors.parameters or {}).items()}
            total = _int_or_none(safetensors.total)
            source = "safetensors" if total is not None else None
        gguf = HubGguf.from_dict(info.gguf) if isinstance(info.gguf, Mapping) else None
        if total is None and gguf is not None and gguf.total is not None:
            total, source = gguf.total, "gguf"
        gated: _Gated = info.gated if info.gated in ("auto", "manual") else False
        config = dict(info.config) if isinstance(info.config, Mapping) else {}
        return cls(
            repo_id=info.id,
            pipeline_tag=_str_or_none(info.pipeline_tag),
            library_name=_str_or_none(info.library_name),
            downloads=_int_or_none(info.downloads),
            likes=_int_or_none(info.likes),
            tags=tuple(str(t) for t in (info.tags or ())),
            licence=_licence(info),
            gated=gated,
            params_total=total,
            params_by_dtype=MappingProxyType(by_dtype),
            params_source=source,
            gguf=gguf,
            config=MappingProxyType(config),
            last_modified=info.last_modified,
        )


def _int_or_none(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _licence(info: ModelInfo) -> str | None:
    card = info.card_data
    if card is not None:
        licence = getattr(card, "license", None)
        if isinstance(licence, list):
            licence = ", ".join(str(x) for x in licence) or None
        name = _str_or_none(getattr(card, "license_name", None))
        if licence == "other" and name is not None:
            return name
        if isinstance(licence, str) and licence:
            return licence
    for tag in info.tags or ():
        if tag.startswith("license:") and len(tag) > len("license:"):
            return tag.removeprefix("license:")
    return None


# ---------------------------------------------------------------------------------------------
# The source
# ---------------------------------------------------------------------------------------------


class HubSource:
    """Searches and reads models on the Hugging Face Hub.

    Safe to use from a worker thread; nothing is fetched until a method is called.

    Args:
        endpoint: Hub URL; None for the library's default (``HF_ENDPOINT``, else
            ``https://huggingface.co``).
        token: Access token; None for the library's implicit token (``HF_TOKEN``, else the one
            saved by ``hf auth login``, unless ``HF_HUB_DISABLE_IMPLICIT_TOKEN`` is set).
        timeout_s: Seconds to wait for each Hub request.
        api_factory: Builds the ``HfApi`` to use, called like
            ``HfApi(endpoint=..., token=..., library_name=..., library_version=...)``; None for
            ``huggingface_hub.HfApi``.

    Raises:
        ValueError: ``timeout_s`` is not positive.
    """

    def __init__(
        self,
        *,
        endpoint: str | None = None,
        token: str | None = None,
        timeout_s: float = 10.0,
        api_factory: Callable[..., HfApi] | None = None,
    ) -> None:
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be positive, not {timeout_s!r}")
        self._endpoint = endpoint.rstrip("/") if endpoint else None
        self._token = token
        self._timeout_s = float(timeout_s)
        self._api_factory = api_factory
        self._api_instance: HfApi | None = None

    def __repr__(self) -> str:
        token = "<set>" if self._token else None
        return (
            f"HubSource(endpoint={self._endpoint!r}, token={token}, timeout_s={self._timeout_s:g})"
        )

    @property
    def endpoint(self) -> str:
        """The Hub URL requests go to (the library's ``HF_ENDPOINT`` unless given)."""
        return str(self._api().endpoint).rstrip("/")

    # -- public API ------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        sort: str = "downloads",
        limit: int | None = 100,
        page_size: int = 50,
    ) -> Iterator[list[HubModel]]:
        """Search models, yielding results one page at a time as the Hub sends them.

        Sends what ``HfApi.list_models(search=, sort=, limit=, expand=EXPAND)`` sends
        (``GET /api/models?search=...&sort=...&limit=N&expand=...&expand=...``) and follows the
        ``Link: <...>; rel="next"`` header verbatim, lazily: the next page is requested only when
        the caller asks for more. Each request has ``timeout_s`` and is not retried, so a
        failure reaches the UI at once (``list_models`` itself has no timeout and retries
        5xx/429/network errors with back-off for up to minutes).

        Args:
            query: Text contained in the model ids; empty for no filter.
            sort: One of :data:`SORTS` (descending).
            limit: Stop after this many models; None for all.
            page_size: Yield at most this many models at a time (a Hub page is split when it is
                longer; shorter pages are yielded as they arrive).

        Yields:
            Lists of models, in the Hub's order, never empty.

        Raises:
            ValueError: Unknown ``sort``, or ``limit``/``page_size`` below 1 (on the first
                ``next()``).
            HubUnavailable: On any Hub failure (raised by ``next()``; pages already yielded stay
                valid).
        """
        if sort not in SORTS:
            raise ValueError(f"unknown sort {sort!r}; expected one of {', '.join(SORTS)}")
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit!r}")
        if page_size < 1:
            raise ValueError(f"page_size must be at least 1, not {page_size!r}")
        from huggingface_hub import ModelInfo, get_session, hf_raise_for_status

        parse: Callable[..., ModelInfo] = ModelInfo  # its __init__ is untyped

        subject = f"search {query!r}" if query else "the model list"
        api = self._api_or_raise(subject)
        params: list[tuple[str, str | int | float | bool | None]] = []
        if query:
            params.append(("search", query))
        params.append(("sort", SORTS[sort]))
        if limit is not None:
            params.append(("limit", str(limit)))
        params.extend(("expand", prop) for prop in EXPAND)
        next_url: str | None = f"{api.endpoint.rstrip('/')}/api/models"
        remaining = limit
        first = True
        while next_url is not None and (remaining is None or remaining > 0):
            try:
                headers = self._headers(api)
                if first:
                    response = get_session().get(
                        next_url, params=params, headers=headers, timeout=self._timeout_s
                    )
                else:
                    response = get_session().get(next_url, headers=headers, timeout=self._timeout_s)
                first = False
                hf_raise_for_status(response)
                body = response.json()
                if not isinstance(body, list):
                    raise TypeError(f"expected a JSON list, got {type(body).__name__}")
                models = [
                    HubModel.from_model_info(parse(**{"siblings": None, **item})) for item in body
                ]
                link = response.links.get("next") or {}
                next_url = link.get("url")
            except Exception as err:
                raise self._convert(err, subject=subject) from None
            if remaining is not None:
                models = models[:remaining]
                remaining -= len(models)
            for start in range(0, len(models), page_size):
                yield models[start : start + page_size]
            if not models:
                break  # an empty page ends the listing, whatever its Link says

    def model(self, repo_id: str) -> HubModel:
        """Read one model's metadata (``GET /api/models/{repo_id}`` with :data:`EXPAND`).

        Args:
            repo_id: ``owner/name``.

        Returns:
            The model.

        Raises:
            HubUnavailable: On any Hub failure (``kind`` ``"not-found"`` for an unknown or
                private repository, ``"gated"``...).
        """
        api = self._api_or_raise(repo_id)
        try:
            info = api.model_info(repo_id, expand=list(EXPAND), timeout=self._timeout_s)
            return HubModel.from_model_info(info)
        except Exception as err:
            raise self._convert(err, subject=repo_id, repo_id=repo_id) from None

    def config(self, repo_id: str, revision: str | None = None) -> dict[str, Any]:
        """Fetch and parse a model's ``config.json`` through the library's download cache.

        Uses ``hf_hub_download`` (the file lands in the HF cache under ``HF_HOME``; a cached file
        is not downloaded again). With ``HF_HUB_OFFLINE`` set the cached copy is returned without
        any request. When the file is not cached yet, one ``HEAD`` with ``timeout_s`` and no retry
        comes first, so an unreachable, slow or failing Hub is reported at once (the library
        would retry for minutes before giving up).

        Args:
            repo_id: ``owner/name``.
            revision: Branch, tag or commit; None for ``main``.

        Returns:
            The parsed JSON object.

        Raises:
            HubUnavailable: On any Hub failure, when offline and not cached, or when the file
                is not a JSON object (``kind`` ``"bad-response"``).
        """
        from huggingface_hub import (
            constants,
            get_hf_file_metadata,
            hf_hub_download,
            hf_hub_url,
            try_to_load_from_cache,
        )
        from huggingface_hub.utils.tqdm import silent_tqdm

        subject = f"{CONFIG_FILENAME} of {repo_id}"
        revision = revision or constants.DEFAULT_REVISION
        api = self._api()
        try:
            offline = bool(constants.HF_HUB_OFFLINE)
            cached = try_to_load_from_cache(repo_id, CONFIG_FILENAME, revision=revision)
            if not offline and not isinstance(cached, str):
                url = hf_hub_url(repo_id, CONFIG_FILENAME, revision=revision, endpoint=api.endpoint)
                get_hf_file_metadata(
                    url,
                    token=api.token,
                    timeout=self._timeout_s,
                    library_name=api.library_name,
                    library_version=api.library_version,
                    headers=api.headers,
                    endpoint=api.endpoint,
                )
            path = hf_hub_download(
                repo_id,
                CONFIG_FILENAME,
                revision=revision,
                endpoint=api.endpoint,
                token=api.token,
                etag_timeout=self._timeout_s,
                library_name=api.library_name,
                library_version=api.library_version,
                headers=api.headers,
                tqdm_class=cast(Any, silent_tqdm),  # no progress bar over the UI
            )
        except Exception as err:
            raise self._convert(
                err, subject=subject, repo_id=repo_id, revision=revision, filename=CONFIG_FILENAME
            ) from None
        return _read_json_object(Path(path), subject)

    # -- internals -------------------------------------------------------------------------

    def _api(self) -> HfApi:
        if self._api_instance is None:
            if self._api_factory is None:
                from huggingface_hub import HfApi

                factory: Callable[..., HfApi] = HfApi
            else:
                factory = self._api_factory
            self._api_instance = factory(
                endpoint=self._endpoint,
                token=self._token,
                library_name=_LIBRARY_NAME,
                library_version=__version__,
            )
        return self._api_instance

    def _api_or_raise(self, subject: str) -> HfApi:
        """The API, or ``HubUnavailable("offline")`` without any request when offline."""
        from huggingface_hub import constants

        if constants.HF_HUB_OFFLINE:
            raise self._failure("offline", _offline_message(), subject)
        return self._api()

    def _headers(self, api: HfApi) -> dict[str, str]:
        """The headers ``HfApi`` itself sends (auth, user agent), for the paging requests."""
        from huggingface_hub.utils._headers import build_hf_headers  # = h_h.utils.build_hf_headers

        return build_hf_headers(
            token=api.token,
            library_name=api.library_name,
            library_version=api.library_version,
            user_agent=api.user_agent,
            headers=api.headers,
        )

    def _failure(
        self,
        kind: str,
        message: str,
        subject: str,
        *,
        status: int | None = None,
        retry_after_s: int | None = None,
        error: BaseException | None = None,
    ) -> HubUnavailable:
        message = self._redact(message)
        logger.info(
            "Hub %s for %s (%s%s): %s",
            kind,
            self._redact(subject),
            type(error).__name__ if error is not None else "no request",
            f", HTTP {status}" if status is not None else "",
            message,
        )
        return HubUnavailable(kind, message, status=status, retry_after_s=retry_after_s)

    def _redact(self, text: str) -> str:
        """Remove the token (given, or from the environment) and anything token-shaped."""
        secrets = {
            self._token,
            os.environ.get("HF_TOKEN"),
            os.environ.get("HUGGING_FACE_HUB_TOKEN"),
        }
        api = self._api_instance
        if api is not None and isinstance(api.token, str):
            secrets.add(api.token)
        for secret in sorted((s for s in secrets if s), key=len, reverse=True):
            text = text.replace(secret, "***")
        return _TOKEN_PATTERN.sub("***", text)

    def _convert(
        self,
        err: BaseException,
        *,
        subject: str,
        repo_id: str | None = None,
        revision: str | None = None,
        filename: str | None = None,
    ) -> HubUnavailable:
        """Turn any exception raised while talking to the Hub into a ``HubUnavailable``."""
        from huggingface_hub import constants
        from huggingface_hub.errors import (
            FileMetadataError,
            GatedRepoError,
            HfHubHTTPError,
            HFValidationError,
            LocalEntryNotFoundError,
            OfflineModeIsEnabled,
            RemoteEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        if isinstance(err, HubUnavailable):
            return err
        where = _display_endpoint(self._endpoint or str(constants.ENDPOINT))
        fail = self._failure
        if isinstance(err, OfflineModeIsEnabled) or (
            isinstance(err, LocalEntryNotFoundError) and constants.HF_HUB_OFFLINE
        ):
            message = _offline_message()
            if filename is not None:
                message = f"Hub offline (HF_HUB_OFFLINE=1): {subject} is not in the cache"
            return fail("offline", message, subject, error=err)
        if isinstance(err, HFValidationError):
            return fail("not-found", f"{repo_id or subject!r} is not a valid Hub repo id", subject)
        if isinstance(err, HfHubHTTPError):
            return self._convert_http(
                err,
                subject=subject,
                where=where,
                repo_id=repo_id,
                revision=revision,
                filename=filename,
                gated=isinstance(err, GatedRepoError),
                entry=isinstance(err, RemoteEntryNotFoundError),
                rev=isinstance(err, RevisionNotFoundError),
                repo=isinstance(err, RepositoryNotFoundError),
            )
        cause = err.__cause__ if isinstance(err, LocalEntryNotFoundError) else None
        if cause is not None and not isinstance(cause, LocalEntryNotFoundError):
            # hf_hub_download wraps network failures when nothing is cached: report the cause.
            return self._convert(
                cause, subject=subject, repo_id=repo_id, revision=revision, filename=filename
            )
        if isinstance(err, FileMetadataError):
            return fail(
                "bad-response",
                f"{where} did not answer like the Hub for {subject} (no commit or ETag header): "
                "check HF_ENDPOINT",
                subject,
                error=err,
            )
        if _is_timeout(err):
            return fail(
                "timeout",
                f"Hub did not answer within {self._timeout_s:g} s ({where}): "
                "showing catalog and cache only",
                subject,
                error=err,
            )
        if _is_connection_failure(err):
            return fail(
                "unreachable",
                f"Hub unreachable at {where} ({_connection_reason(err)}): "
                "showing catalog and cache only",
                subject,
                error=err,
            )
        if isinstance(err, (ValueError, TypeError, KeyError, AttributeError)):
            return fail(
                "bad-response",
                f"Hub sent a malformed answer for {subject} ({_reason(err)})",
                subject,
                error=err,
            )
        return fail(
            "unreachable",
            f"Hub request for {subject} failed ({type(err).__name__}): "
            "showing catalog and cache only",
            subject,
            error=err,
        )

    def _convert_http(
        self,
        err: Any,
        *,
        subject: str,
        where: str,
        repo_id: str | None,
        revision: str | None,
        filename: str | None,
        gated: bool,
        entry: bool,
        rev: bool,
        repo: bool,
    ) -> HubUnavailable:
        response = getattr(err, "response", None)
        status = getattr(response, "status_code", None)
        headers: Mapping[str, str] = getattr(response, "headers", None) or {}
        server_message = _one_line(getattr(err, "server_message", None) or "")
        has_token = self._has_token()
        name = repo_id or subject
        fail = self._failure
        if gated:
            return fail(
                "gated",
                f"{name} is gated: request access on the model page and set HF_TOKEN",
                subject,
                status=status,
                error=err,
            )
        if entry:
            message = f"{name} has no {filename or 'such file'} on the Hub"
            return fail("not-found", message, subject, status=status, error=err)
        if rev:
            message = f"{name} has no revision {revision!r} on the Hub"
            return fail("not-found", message, subject, status=status, error=err)
        if repo or (status == 404 and repo_id is not None):
            # The Hub answers 401 + RepoNotFound for a missing repo and for a private or gated one
            # asked without a token: it does not tell which.
            hint = "" if has_token else " (if it is private or gated, set HF_TOKEN)"
            message = f"{name} not found on the Hub{hint}"
            return fail("not-found", message, subject, status=status, error=err)
        if status == 401:
            if has_token:
                message = f"Hub rejected the token (HTTP 401) for {subject}: check HF_TOKEN"
            else:
                message = f"Hub needs a token (HTTP 401) for {subject}: set HF_TOKEN"
            return fail("auth", message, subject, status=status, error=err)
        if status == 404:
            message = f"{where} has no such API (HTTP 404) for {subject}: check HF_ENDPOINT"
            return fail("not-found", message, subject, status=status, error=err)
        if status == 403:
            detail = f" ({_clip(server_message)})" if server_message else ""
            message = f"Hub refused access (HTTP 403) to {subject}{detail}: check HF_TOKEN"
            return fail("auth", message, subject, status=status, error=err)
        if status == 429:
            retry_after = _retry_after_s(headers)
            when = f"retry in {retry_after} s" if retry_after is not None else "retry later"
            message = f"Hub rate limit reached (HTTP 429): {when}"
            return fail(
                "rate-limited",
                message,
                subject,
                status=status,
                retry_after_s=retry_after,
                error=err,
            )
        if status is not None and status >= 500:
            message = f"Hub server error (HTTP {status}) for {subject}: try again later"
            return fail("server", message, subject, status=status, error=err)
        detail = f" ({_clip(server_message)})" if server_message else ""
        message = f"Hub refused the request for {subject} (HTTP {status}){detail}"
        return fail("server", message, subject, status=status, error=err)

    def _has_token(self) -> bool:
        if self._token:
            return True
        from huggingface_hub import constants

        if constants.HF_HUB_DISABLE_IMPLICIT_TOKEN:
            return False
        return bool(
            os.environ.get("HF_TOKEN")
            or os.environ.get("HUGGING_FACE_HUB_TOKEN")
            or os.path.exists(constants.HF_TOKEN_PATH)  # saved by `hf auth login`
        )


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _offline_message() -> str:
    return "Hub offline (HF_HUB_OFFLINE=1): showing catalog and cache only"


def _read_json_object(path: Path, subject: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise HubUnavailable(
            "bad-response",
            f"{subject} is not valid JSON (line {err.lineno}, column {err.colno})",
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise HubUnavailable(
            "bad-response", f"{subject} cannot be read from the cache ({_reason(err)})"
        ) from None
    if not isinstance(data, dict):
        raise HubUnavailable(
            "bad-response", f"{subject} is not a JSON object (got {type(data).__name__})"
        )
    return data


def _display_endpoint(endpoint: str) -> str:
    """The endpoint without any ``user:password@``."""
    parts = urlsplit(endpoint)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "", "")).rstrip("/") or endpoint


def _mro_names(err: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(err).__mro__}


def _is_timeout(err: BaseException) -> bool:
    # By class name so that httpx (huggingface_hub 1.x) and httpx2 (2.x) are both recognised.
    names = _mro_names(err)
    return isinstance(err, TimeoutError) or bool(
        names & {"TimeoutException", "Timeout", "ReadTimeout", "ConnectTimeout", "PoolTimeout"}
    )


def _is_connection_failure(err: BaseException) -> bool:
    names = _mro_names(err)
    transport = {"ConnectError", "NetworkError", "TransportError", "ProtocolError", "ProxyError"}
    return isinstance(err, (ConnectionError, OSError)) or bool(names & transport)


def _connection_reason(err: BaseException) -> str:
    text = str(err).lower()
    if "refused" in text:
        return "connection refused"
    if (
        "name or service" in text
        or "nodename" in text
        or "resolution" in text
        or "getaddrinfo" in text
    ):
        return "name not resolved"
    if "unreachable" in text or "no route" in text:
        return "no route to host"
    if "disconnected" in text or "reset" in text:
        return "connection dropped"
    return "connection failed"


def _reason(err: BaseException) -> str:
    text = _one_line(str(err))
    return _clip(f"{type(err).__name__}: {text}" if text else type(err).__name__)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _clip(text: str, width: int = 120) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _retry_after_s(headers: Mapping[str, str]) -> int | None:
    value = (headers.get("Retry-After") or headers.get("retry-after") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return int(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0, int((when - datetime.now(timezone.utc)).total_seconds() + 0.999))
