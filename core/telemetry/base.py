"""Shared value types for readings that may be missing.

A reading the machine cannot give is never a fake zero or NaN: it is ``None`` in a sample,
with an :class:`Unavailable` explaining why (and how to fix it, where there is a fix).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Unavailable:
    """Why a reading cannot be had.

    Attributes:
        reason: One line saying what is missing, e.g. ``"no hwmon sensors (typical in a VM)"``.
        hint: How to fix it, when something can be done, e.g. a udev rule for RAPL.
        permanent: ``False`` for transient faults (timeouts) that may clear on a later tick.
    """

    reason: str
    hint: str | None = None
    permanent: bool = True

    def __str__(self) -> str:
        return self.reason if not self.hint else f"{self.reason} ({self.hint})"


Maybe: TypeAlias = T | Unavailable
"""A value of type ``T`` or the reason it is missing."""


def value_or_none(value: Maybe[T]) -> T | None:
    """Return the value, or ``None`` if it is :class:`Unavailable`."""
    return None if isinstance(value, Unavailable) else value
