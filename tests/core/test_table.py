"""The column store behind large tables: incremental filtering must equal a full scan."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.table import RowTable

ROWS = ["meta-llama/Llama-3.1-8B", "Qwen/Qwen3-8B", "google/gemma-3-1b-it", "openai-community/gpt2"]


def full_scan(rows: list[str], query: str) -> list[int]:
    terms = query.lower().split()
    return [i for i, row in enumerate(rows) if all(t in row.lower() for t in terms)]


def test_terms_are_anded_and_case_insensitive() -> None:
    table = RowTable(ROWS, text=lambda r: r)
    assert table.filter("QWEN 8b") == [1]
    assert table.filter("") == [0, 1, 2, 3]
    assert table.filter("nothing-like-this") == []


def test_extend_resets_the_incremental_cache() -> None:
    table = RowTable(ROWS[:2], text=lambda r: r)
    assert table.filter("gemma") == []
    table.extend(ROWS[2:])
    assert table.filter("gemma") == [2]


def test_sort_puts_missing_keys_last() -> None:
    table = RowTable([3, None, 1, 2], text=str)
    assert table.sort_indices([0, 1, 2, 3], key=lambda r: r) == [2, 3, 0, 1]
    assert table.sort_indices([0, 1, 2, 3], key=lambda r: r, reverse=True) == [0, 3, 2, 1]


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.text(alphabet="abc-/ ", max_size=8), max_size=30),
    queries=st.lists(st.text(alphabet="abc- ", max_size=5), min_size=1, max_size=6),
)
def test_incremental_filtering_equals_a_full_scan(rows: list[str], queries: list[str]) -> None:
    table = RowTable(rows, text=lambda r: r)
    for query in queries:
        assert table.filter(query) == full_scan(rows, query)
    typed = ""
    for ch in "ab-c":  # typing on, one character at a time
        typed += ch
        assert table.filter(typed) == full_scan(rows, typed)


def test_cached_sort_matches_a_plain_sort_for_any_subset() -> None:
    import random

    from core.table import RowTable

    rng = random.Random(7)
    rows = [rng.choice([None, *range(20)]) for _ in range(500)]
    table = RowTable(rows, text=str)

    def key(r: int | None) -> int | None:
        return r

    for reverse in (False, True):
        for size in (0, 3, 40, 300, 500):
            subset = sorted(rng.sample(range(500), size))
            expected = sorted(
                (i for i in subset if rows[i] is not None),
                key=lambda i: rows[i],  # type: ignore[arg-type,return-value]
                reverse=reverse,
            ) + [i for i in subset if rows[i] is None]
            assert table.sort_indices(subset, key=key, reverse=reverse) == expected


def test_the_key_is_computed_once_per_row_for_many_sorts() -> None:
    from core.table import RowTable

    calls = 0

    def key(r: int) -> int:
        nonlocal calls
        calls += 1
        return -r

    table = RowTable(list(range(1000)), text=str)
    for query in ("1", "12", "123", "", "9"):
        table.sort_indices(table.filter(query), key=key)
    assert calls == 1000
