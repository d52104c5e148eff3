"""Messages screens post to the App (the App's handlers are the only writers of state).

They live apart from their screens so the App can handle them without importing a screen's
module at start-up: the Models screen (and the catalog it pulls in) loads when first opened.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message

THIS_MACHINE = "this machine"
"""The hardware choice that means "the detected machine" rather than a what-if profile."""


class AnalysisRequested(Message):
    """Analyse every row for this hardware, precision and context."""

    def __init__(self, hardware: str, precision: str, context: int) -> None:
        super().__init__()
        self.hardware = hardware
        self.precision = precision
        self.context = context


class HubSearchRequested(Message):
    """Search the Hugging Face Hub for ``query`` (rows stream in as pages arrive)."""

    def __init__(self, query: str) -> None:
        super().__init__()
        self.query = query


class HubDetailsRequested(Message):
    """Fetch the highlighted Hub model's config.json to complete its analysis."""

    def __init__(self, row: Any) -> None:
        super().__init__()
        self.row = row


class CompareToggled(Message):
    """Add or remove a model from the comparison."""

    def __init__(self, model_id: str) -> None:
        super().__init__()
        self.model_id = model_id


class CompareMoved(Message):
    """Move a compared model ``delta`` columns left (negative) or right."""

    def __init__(self, model_id: str, delta: int) -> None:
        super().__init__()
        self.model_id = model_id
        self.delta = delta


class CacheScanRequested(Message):
    """Scan the Hugging Face cache (again)."""


class CacheDeleteRequested(Message):
    """Delete what ``plan`` (a checked ``core.cache_manager.DeletePlan``) names."""

    def __init__(self, plan: Any) -> None:
        super().__init__()
        self.plan = plan


class BenchRunRequested(Message):
    """Plan and run the benchmark ``spec`` (a ``core.bench.plan.BenchSpec``)."""

    def __init__(self, spec: Any) -> None:
        super().__init__()
        self.spec = spec


class BenchCancelRequested(Message):
    """Stop the running benchmark (its child is killed within a second; nothing is stored)."""


class BenchHistoryRequested(Message):
    """Read the stored benchmark history (again)."""


class RegisterRequested(Message):
    """Register the model file at ``path`` (header only) and show it in the Models browser."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
