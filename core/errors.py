"""Every exception Thermal Scout raises on purpose, in one place.

Each carries a one-line, user-facing message (what, where, how to fix); the CLI prints it as
``error: <message>`` and exits 1, the TUI shows it as a notification. None of them should ever
reach a user as a traceback.
"""

from __future__ import annotations


class ThermalScoutError(Exception):
    """Base class: a failure with a message fit to show a user as-is."""


class ConfigError(ThermalScoutError):
    """A configuration file is missing, not valid TOML, or has invalid values."""


class TraceError(ThermalScoutError):
    """A trace file cannot be read: missing, empty, truncated or with a malformed line.

    Attributes:
        path: The trace file.
        line: 1-based line number of the problem, when there is one.
    """

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class RecordError(ThermalScoutError):
    """A recording cannot be written (bad extension, unwritable directory, full disk)."""


class AnalysisError(ThermalScoutError):
    """A model cannot be analysed: unknown architecture, malformed or absurd dimensions."""


class CatalogError(ThermalScoutError):
    """The model catalog cannot answer: unknown model id, unreadable catalog data."""


class HubUnavailable(ThermalScoutError):
    """The Hugging Face Hub cannot answer; the UI shows :attr:`message` as a one-line notice.

    Other model sources (embedded catalog, local cache) keep working. The message never contains
    the access token.

    Attributes:
        kind: What went wrong, one of :data:`HUB_FAILURE_KINDS`: ``"offline"``, ``"unreachable"``,
            ``"timeout"``, ``"auth"``, ``"gated"``, ``"not-found"``, ``"rate-limited"``,
            ``"server"``, ``"bad-response"``.
        message: One line fit for a UI notice (what, and what to do).
        status: The HTTP status behind the failure, when there was one.
        retry_after_s: Seconds the Hub asked to wait (``Retry-After``), for ``"rate-limited"``.
    """

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        status: int | None = None,
        retry_after_s: int | None = None,
    ) -> None:
        if kind not in HUB_FAILURE_KINDS:
            raise ValueError(f"unknown Hub failure kind {kind!r}")
        self.kind = kind
        self.message = " ".join(message.split())  # one line, whatever the source
        self.status = status
        self.retry_after_s = retry_after_s
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"HubUnavailable(kind={self.kind!r}, message={self.message!r})"

    def __reduce__(self) -> tuple[type[HubUnavailable], tuple[str, str], dict[str, int | None]]:
        # Picklable despite the keyword-only arguments (e.g. across a process pool).
        return (
            type(self),
            (self.kind, self.message),
            {"status": self.status, "retry_after_s": self.retry_after_s},
        )


#: The values :attr:`HubUnavailable.kind` takes.
HUB_FAILURE_KINDS: frozenset[str] = frozenset(
    {
        "offline",
        "unreachable",
        "timeout",
        "auth",
        "gated",
        "not-found",
        "rate-limited",
        "server",
        "bad-response",
    }
)
