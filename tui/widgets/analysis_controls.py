"""The hardware / precision / context selectors the Models and Compare screens share.

Both screens show (and change) the catalog slice's analysis settings, so they offer the same
choices; each screen gives the selectors its own id prefix.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Select

from tui.messages import THIS_MACHINE

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
