"""The two custom scalars: `Date` (a local calendar day) and `DateTime` (an instant, UTC)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime

import strawberry
from strawberry.types.scalar import ScalarDefinition

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _serialize_date(value: date) -> str:
    return value.isoformat()


def _parse_date(value: object) -> date:
    if not isinstance(value, str) or not _ISO_DAY.fullmatch(value):
        raise ValueError("a Date is a day written YYYY-MM-DD, like 2025-03-31")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError("not a calendar day: check the month (01-12) and the day") from None


def _serialize_datetime(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_datetime(value: object) -> datetime:
    rule = "a DateTime is an ISO 8601 instant, like 2025-03-31T12:00:00Z"
    if not isinstance(value, str):
        raise ValueError(rule)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(rule) from None
    if parsed.tzinfo is None:
        raise ValueError(f"{rule}: add Z or a +hh:mm offset")
    return parsed


SCALARS: Mapping[object, ScalarDefinition] = {
    date: strawberry.scalar(
        name="Date",
        description="A calendar day, ISO 8601 YYYY-MM-DD.",
        serialize=_serialize_date,
        parse_value=_parse_date,
    ),
    datetime: strawberry.scalar(
        name="DateTime",
        description="An instant, ISO 8601 in UTC, like 2025-03-31T12:00:00Z.",
        serialize=_serialize_datetime,
        parse_value=_parse_datetime,
    ),
}
