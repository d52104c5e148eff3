"""The hardware / precision / context selectors the Models and Compare screens share.

Both screens show (and change) the catalog slice's analysis settings, so they offer the same
choices; each screen gives the selectors its own id prefix.
"""

from __future__ import annotations

from typing import Any

from textual.dom import DOMNode
from textual.widgets import Select

from core.state import CatalogSlice
from tui.messages import THIS_MACHINE, AnalysisRequested

PRECISIONS = ("bf16", "fp16", "fp32", "fp8", "int8", "int4", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M")
CONTEXTS = (2048, 4096, 8192, 32768, 131072)


def analysis_selects(prefix: str) -> list[Select[Any]]:
    """``#{prefix}-hardware``, ``#{prefix}-precision`` and ``#{prefix}-context``."""
    from core.analysis.hardware_profiles import profile_names

    return [
        Select(
            [(name, name) for name in (THIS_MACHINE, *profile_names())],
            value=THIS_MACHINE,
            allow_blank=False,
            id=f"{prefix}-hardware",
            tooltip="Hardware the estimates are for (what if I had …?)",
        ),
        Select(
            [(p, p) for p in PRECISIONS],
            value="bf16",
            allow_blank=False,
            id=f"{prefix}-precision",
            tooltip="Weight precision",
        ),
        Select(
            [(f"{c:,} ctx", c) for c in CONTEXTS],
            value=4096,
            allow_blank=False,
            id=f"{prefix}-context",
            tooltip="Context length for the KV cache and speed",
        ),
    ]


def _settings(catalog: CatalogSlice) -> tuple[tuple[str, Any], ...]:
    return (
        ("hardware", catalog.hardware),
        ("precision", catalog.precision),
        ("context", catalog.context),
    )


def show_analysis_settings(root: DOMNode, prefix: str, catalog: CatalogSlice) -> None:
    """Set the selectors to the catalog's settings (another screen may have changed them)."""
    for name, value in _settings(catalog):
        select: Select[Any] = root.query_one(f"#{prefix}-{name}", Select)
        if select.value != value:
            with select.prevent(Select.Changed):
                select.value = value


def requested_analysis(
    root: DOMNode, prefix: str, catalog: CatalogSlice
) -> AnalysisRequested | None:
    """The request the selectors make, or None when they show what the catalog already has."""
    values = [root.query_one(f"#{prefix}-{name}", Select).value for name, _ in _settings(catalog)]
    wanted = (str(values[0]), str(values[1]), int(str(values[2])))
    if wanted == (catalog.hardware, catalog.precision, catalog.context):
        return None
    return AnalysisRequested(*wanted)
