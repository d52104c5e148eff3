"""App-wide TCSS variables.

Textual scopes ``$variables`` to the file that declares them. ``styles/app.tcss`` opens with
the app's variables (``$temp-ok: $success;`` ...); this module reads those declarations and the
App returns them from ``get_css_variables`` resolved against the active theme, so every screen's
stylesheet can use them and every built-in theme works.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

_DECLARATION = re.compile(r"^\s*\$([a-zA-Z0-9_-]+)\s*:\s*([^;]+);", re.MULTILINE)
_REFERENCE = re.compile(r"\$([a-zA-Z0-9_-]+)")


@lru_cache(maxsize=4)
def declared_variables(path: Path) -> tuple[tuple[str, str], ...]:
    """``(name, raw value)`` for every top-level ``$name: value;`` in a TCSS file."""
    text = path.read_text(encoding="utf-8")
    return tuple((m.group(1), m.group(2).strip()) for m in _DECLARATION.finditer(text))


def resolve(declared: tuple[tuple[str, str], ...], theme: dict[str, str]) -> dict[str, str]:
    """Substitute theme (and earlier app) variables into the declared values."""
    resolved: dict[str, str] = {}

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        return resolved.get(name, theme.get(name, match.group(0)))

    for name, raw in declared:
        resolved[name] = _REFERENCE.sub(lookup, raw)
    return resolved
