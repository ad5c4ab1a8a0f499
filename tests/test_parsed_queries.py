"""The /v1 views remember the arguments of query strings they have parsed."""

from __future__ import annotations

import gc
import tracemalloc
from datetime import date
from urllib.parse import urlsplit

import pytest

from messpunkt.web.blueprint import ParsedQueries


class Loader:
    """Stands in for loading a query string with its schema; counts the calls."""

    def __init__(self, result=None, error: Exception | None = None) -> None:
        self.calls, self.result, self.error = 0, result, error

    def __call__(self):
        self.calls += 1
        if self.error is not None:
            raise self.error
        return dict(self.result)


def test_a_query_string_is_loaded_once_and_each_caller_gets_its_own_copy():
    parsed = ParsedQueries()
    load = Loader({"from_": date(2026, 1, 1), "metric": "heat"})

    first = parsed.get("from=2026-01-01&metric=heat", load)
    first["metric"] = "changed by a view"
    second = parsed.get("from=2026-01-01&metric=heat", load)

    assert load.calls == 1
    assert second == {"from_": date(2026, 1, 1), "metric": "heat"}


def test_different_query_strings_are_loaded_separately():
    parsed = ParsedQueries()
    heat, cold = Loader({"metric": "heat"}), Loader({"metric": "water_cold"})

    assert parsed.get("metric=heat", heat) == {"metric": "heat"}
    assert parsed.get("metric=water_cold", cold) == {"metric": "water_cold"}
    assert parsed.get("metric=heat", cold) == {"metric": "heat"}
    assert (heat.calls, cold.calls) == (1, 1)


def test_a_query_string_that_fails_to_load_is_not_remembered():
    parsed = ParsedQueries()
    bad = Loader(error=ValueError("not a date"))

    for _ in range(3):
        with pytest.raises(ValueError, match="not a date"):
            parsed.get("from=soon", bad)

    assert bad.calls == 3


def test_it_remembers_at_most_size_query_strings_dropping_the_oldest(monkeypatch):
    monkeypatch.setattr(ParsedQueries, "SIZE", 3)
    parsed = ParsedQueries()
    loads = {q: Loader({"q": q}) for q in ("a", "b", "c", "d")}

    for q in ("a", "b", "c", "d"):
        parsed.get(q, loads[q])
    parsed.get("d", loads["d"])  # still there
    parsed.get("b", loads["b"])  # still there
    parsed.get("a", loads["a"])  # dropped when d came, so loaded again

    assert {q: load.calls for q, load in loads.items()} == {"a": 2, "b": 1, "c": 1, "d": 1}


def test_a_query_string_longer_than_max_query_is_loaded_every_time(monkeypatch):
    monkeypatch.setattr(ParsedQueries, "MAX_QUERY", 8)
    parsed = ParsedQueries()
    longest, too_long = Loader({"limit": 50}), Loader({"limit": 50})

    for _ in range(3):
        assert parsed.get("limit=50", longest) == {"limit": 50}  # 8 characters
        assert parsed.get("limit=50&", too_long) == {"limit": 50}  # 9

    assert (longest.calls, too_long.calls) == (1, 3)


def test_padded_query_strings_are_answered_and_not_remembered(messpunkt_client, messpunkt_tokens):
    """`limit=50` and 100 KB of `&` is a valid query; twenty of them must not stay in memory."""
    padded = [f"limit=50{'&' * (100_000 + n)}" for n in range(20)]
    messpunkt_client.get("/v1/usage-units?limit=50", headers=messpunkt_tokens.bearer)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for query in padded:
            response = messpunkt_client.get(
                f"/v1/usage-units?{query}", headers=messpunkt_tokens.bearer
            )
            assert response.status_code == 200
            response.close()
        del response  # it holds its request's environ
        urlsplit.cache_clear()  # the test client's URLs, remembered by the standard library
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # Remembered, the twenty would hold 2 MB of query strings alone.
    assert held < 100_000
