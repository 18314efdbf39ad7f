"""The two time axes as text: parsed once for the CLI and the server."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from khronika.domain import edtf
from khronika.domain.days import Day
from khronika.domain.errors import ValidationError
from khronika.domain.events import stamp


def world_day(text: str, field: str = "as_of", *, first: bool = False) -> Day:
    """An EDTF date's last day (its first with `first`): 2023 is 2023-12-31."""
    bounds = edtf.parse(text, field=field)
    return bounds.earliest if first else bounds.latest


def moment(stamp: str) -> datetime:
    """A record time as the views store it (`record_time`), as a datetime."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def record_time(text: str, field: str = "known_at") -> str:
    """An ISO 8601 time as the views store it (UTC); a date means its end."""
    value = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), time.max)
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            field,
            f"'{text}' is not an ISO 8601 date or time, such as 2026-11-24 "
            "or 2026-11-24T17:30:00Z",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return stamp(moment)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC
        raise ValidationError(
            field,
            f"'{text}' is outside the calendar once moved to UTC; "
            "give a time between 0001-01-01 and 9999-12-31 UTC",
        ) from None
