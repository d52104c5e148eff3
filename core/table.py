"""A column store with incremental filtering and sorting, for very large tables.

The UI shows only the rows on screen; this module decides *which* rows, fast: a query that
extends the previous one (the user typed one more character) is filtered within the previous
matches only, and every row's searchable text is lower-cased once, up front.

Example:
    >>> table = RowTable(["gpt2", "gpt2-xl", "bert-base"], text=lambda r: r)
    >>> table.filter("gpt")
    [0, 1]
    >>> table.filter("gpt2-")
    [1]
    >>> table.sort_indices([0, 1, 2], key=len, reverse=True)
    [2, 1, 0]

Sorting is cached per key: the first sort by a column orders *every* row once (the key is
computed once per row); after that, sorting a filtered subset is a pass over that order keeping
the matches, so a keystroke never re-sorts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

R = TypeVar("R")


class RowTable(Generic[R]):
    """Rows plus a lower-cased search text per row.

    Args:
        rows: The rows, in their natural order.
        text: The searchable text of a row (id, family, task ...).
    """

    def __init__(self, rows: Sequence[R], *, text: Callable[[R], str]) -> None:
        self.rows: list[R] = list(rows)
        self._text = text
        self._haystack: list[str] = [text(row).lower() for row in self.rows]
        self._last_terms: tuple[str, ...] = ()
        self._last_matches: list[int] = list(range(len(self.rows)))
        self._orders: dict[tuple[Callable[[R], Any], bool], list[int]] = {}
        self._ranks: dict[tuple[Callable[[R], Any], bool], list[int]] = {}

    def __len__(self) -> int:
        return len(self.rows)

    def extend(self, rows: Sequence[R]) -> None:
        """Append rows (a Hub page arriving); the incremental cache is reset."""
        self.rows.extend(rows)
        self._haystack.extend(self._text(row).lower() for row in rows)
        self._last_terms = ()
        self._last_matches = list(range(len(self.rows)))
        self._orders.clear()
        self._ranks.clear()

    def filter(self, query: str) -> list[int]:
        """Indices of rows whose text contains every whitespace-separated term of ``query``.

        When every term of the previous query is a prefix-or-substring of the new query's
        corresponding term (typing on), only the previous matches are scanned.
        """
        terms = tuple(query.lower().split())
        if not terms:
            matches = list(range(len(self.rows)))
        else:
            previous = self._last_terms
            narrowing = (
                bool(previous)
                and len(terms) >= len(previous)
                and all(old in new for old, new in zip(previous, terms, strict=False))
            )
            matches = self._last_matches if narrowing else range(len(self.rows))  # type: ignore[assignment]
            haystack = self._haystack
            for term in terms:  # one tight comprehension per term: ~10x faster than all(...)
                matches = [i for i in matches if term in haystack[i]]
        self._last_terms = terms
        self._last_matches = matches
        return matches

    def sort_indices(
        self, indices: Sequence[int], *, key: Callable[[R], Any], reverse: bool = False
    ) -> list[int]:
        """``indices`` ordered by ``key(row)``; rows whose key is None always sort last.

        Ties keep the rows' natural order. ``key`` must be a stable function (the same object
        each call, such as a column's accessor): the full order is cached under it.
        """
        order = self.order(key, reverse)
        n = len(self.rows)
        if len(indices) == n:
            return list(order)
        if len(indices) * 16 < n:  # a narrow filter: sort the few by their rank
            rank = self._rank(key, reverse)
            return sorted(indices, key=rank.__getitem__)
        keep = bytearray(n)
        for i in indices:
            keep[i] = 1
        return [i for i in order if keep[i]]

    def order(self, key: Callable[[R], Any], reverse: bool = False) -> list[int]:
        """Every row's index, sorted by ``key`` (None last), computed once per key."""
        cached = self._orders.get((key, reverse))
        if cached is None:
            values = [key(row) for row in self.rows]
            present = [i for i, v in enumerate(values) if v is not None]
            missing = [i for i, v in enumerate(values) if v is None]
            present.sort(key=values.__getitem__, reverse=reverse)  # stable both ways
            cached = present + missing
            self._orders[(key, reverse)] = cached
        return cached

    def _rank(self, key: Callable[[R], Any], reverse: bool) -> list[int]:
        rank = self._ranks.get((key, reverse))
        if rank is None:
            rank = [0] * len(self.rows)
            for position, i in enumerate(self.order(key, reverse)):
                rank[i] = position
            self._ranks[(key, reverse)] = rank
        return rank
