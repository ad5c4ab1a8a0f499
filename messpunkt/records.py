"""One JSON object of a fixture file, read field by field, each failure with its path."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

# The years a data set's instants and days may fall in: far enough from datetime's own
# limits (years 1 and 9999) that moving one to UTC or another zone never overflows.
FIRST_YEAR, LAST_YEAR = 1900, 2999
OUT_OF_RANGE = f"must lie in the years {FIRST_YEAR} to {LAST_YEAR}"
INEXACT = "cannot be kept exactly: the API writes numbers as doubles (about 15 significant digits)"
# A double holds every whole number up to this, and past it only some: past it, none is taken.
EXACT_WHOLE = 2**53


def in_range(moment: date) -> bool:
    """Tell whether a day or an instant (in its own offset) lies in the data's years."""
    return FIRST_YEAR <= moment.year <= LAST_YEAR


class DataSetError(ValueError):
    """A fixture file that cannot be used, with where and why."""

    def __init__(self, file: str, path: str, reason: str) -> None:
        super().__init__(f"{file} at {path}: {reason}")
        self.file, self.path, self.reason = file, path, reason


class Record:
    """One JSON object of a fixture file, read field by field with its path."""

    def __init__(self, file: str, path: str, raw: Any) -> None:
        if not isinstance(raw, dict):
            raise DataSetError(file, path, "must be a JSON object")
        self.file, self.path, self.raw = file, path, raw

    def fail(self, key: str, reason: str) -> DataSetError:
        return DataSetError(self.file, f"{self.path}.{key}", reason)

    def text(self, key: str, *, optional: bool = False) -> Any:
        value = self.raw.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value:
            raise self.fail(key, "must be a non-empty string")
        return value

    def strings(self, key: str) -> list[str]:
        value = self.raw.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(key, "must be an array of non-empty strings")
        return value

    def objects(self, key: str) -> Iterator[Record]:
        value = self.raw.get(key)
        if not isinstance(value, list):
            raise self.fail(key, "must be an array of objects")
        for index, item in enumerate(value):
            yield Record(self.file, f"{self.path}.{key}[{index}]", item)

    def decimal(self, key: str) -> Decimal:
        value = self.raw.get(key)
        try:
            number = (
                None
                if isinstance(value, bool) or not isinstance(value, int | Decimal)
                else Decimal(value)
            )
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or number < 0:
            raise self.fail(key, "must be a non-negative number")
        if isinstance(value, int) and value > EXACT_WHOLE:
            # Written as given by the export, changed by the API: a decimal fraction gets
            # the same rule where an upload is written (`data_document`), a whole one here.
            raise self.fail(key, INEXACT)
        return number

    def instant(self, key: str, *, optional: bool = False) -> Any:
        value = self.text(key, optional=optional)
        if value is None:
            return None
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            instant = None
        if instant is None or instant.tzinfo is None:
            raise self.fail(key, "must be an ISO 8601 timestamp with a UTC offset")
        if not in_range(instant):
            raise self.fail(key, OUT_OF_RANGE)
        return instant

    def day(self, key: str, *, optional: bool = False) -> Any:
        value = self.text(key, optional=optional)
        if value is None:
            return None
        try:
            day = date.fromisoformat(value) if len(value) == 10 else None
        except ValueError:
            day = None
        if day is None:
            raise self.fail(key, "must be an ISO 8601 calendar date (YYYY-MM-DD)")
        if not in_range(day):
            raise self.fail(key, OUT_OF_RANGE)
        return day

    def choice(self, key: str, allowed: Callable[[str], Any] | dict[str, Any]) -> Any:
        value = self.text(key)
        try:
            return allowed[value] if isinstance(allowed, dict) else allowed(value)
        except (KeyError, ValueError):
            names = list(allowed) if isinstance(allowed, dict) else [m.value for m in allowed]  # type: ignore[attr-defined]
            raise self.fail(key, f"must be one of {', '.join(map(str, names))}") from None

    def reference(self, key: str, known: dict[str, Any]) -> str:
        value = self.text(key)
        if value not in known:
            raise self.fail(key, f"refers to an unknown id {value!r}")
        return value
