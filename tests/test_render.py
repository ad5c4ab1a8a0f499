"""Writing instants in a property's time zone, and the cache that remembers them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from messpunkt.api import render
from messpunkt.bounded import BoundedCache

BERLIN = ZoneInfo("Europe/Berlin")
LONDON = ZoneInfo("Europe/London")


@pytest.fixture(autouse=True)
def empty_cache(monkeypatch):
    monkeypatch.setattr(render, "_written", BoundedCache(16))


def test_the_two_instants_of_the_repeated_autumn_hour_keep_their_own_offsets():
    first = datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN)  # CEST, fold=0
    second = first.replace(fold=1)  # an hour later, CET
    assert first == second  # same ZoneInfo: compared (and hashed) by wall clock

    for _ in range(2):  # written, then remembered
        assert render.local(first, BERLIN) == "2026-10-25T02:30:00+02:00"
        assert render.local(second, BERLIN) == "2026-10-25T02:30:00+01:00"


def test_one_instant_given_in_any_zone_is_written_the_same():
    instant = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # the spring change in Berlin
    forms = [
        instant,
        instant.astimezone(timezone(timedelta(hours=2))),
        instant.astimezone(BERLIN),
        instant.astimezone(LONDON),
    ]
    assert {render.local(form, BERLIN) for form in forms} == {"2026-03-29T03:00:00+02:00"}


def test_the_same_instant_is_written_in_each_zone_asked_for():
    instant = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert render.local(instant, BERLIN) == "2026-07-01T14:00:00+02:00"
    assert render.local(instant, LONDON) == "2026-07-01T13:00:00+01:00"
    assert render.local(instant, UTC) == "2026-07-01T12:00:00+00:00"


def test_the_cache_holds_at_most_its_size_and_drops_the_oldest_first():
    cache: BoundedCache[str, int] = BoundedCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 10)  # replacing an entry evicts nothing
    assert (len(cache), cache.get("a"), cache.get("b")) == (2, 10, 2)
    cache.put("c", 3)
    assert (len(cache), cache.get("a"), cache.get("b"), cache.get("c")) == (2, None, 2, 3)


def test_a_weighed_cache_holds_at_most_its_size_in_weight_and_drops_the_oldest_first():
    cache: BoundedCache[str, str] = BoundedCache(10, weigh=len)
    cache.put("a", "xxxx")
    cache.put("b", "xxxx")
    assert cache.held == 8
    cache.put("c", "xxx")  # 11 > 10: the oldest goes
    assert (cache.get("a"), cache.get("b"), cache.get("c"), cache.held) == (None, "xxxx", "xxx", 7)
    cache.put("b", "x")  # replaced where it stands, lighter
    cache.put("d", "xxxxxx")  # 1 + 3 + 6 = 10: nothing goes
    assert (cache.get("b"), cache.get("c"), cache.get("d"), cache.held) == (
        "x",
        "xxx",
        "xxxxxx",
        10,
    )
    cache.put("e", "x" * 12)  # heavier than the whole size: kept alone
    assert (len(cache), cache.get("e") is not None, cache.held) == (1, True, 12)
    cache.discard("e")
    assert (len(cache), cache.held) == (0, 0)
