"""Times and snowflakes: every time guildlog writes is aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

DISCORD_EPOCH_MS = 1_420_070_400_000  # 2015-01-01T00:00:00Z, the zero of every snowflake
_DISCORD_EPOCH = datetime(2015, 1, 1, tzinfo=UTC)


def snowflake_time(snowflake: str | int) -> datetime:
    """The creation moment encoded in a snowflake's top 42 bits, to the exact millisecond."""
    # Integer arithmetic: a float of milliseconds since 1970 loses the millisecond for large ids.
    return _DISCORD_EPOCH + timedelta(milliseconds=int(snowflake) >> 22)


def parse_time(value: object) -> datetime | None:
    """An ISO-8601 string from a payload as aware UTC, or None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # e.g. year 1 with a positive offset falls off the calendar
        return None


def iso(value: datetime) -> str:
    """`2026-11-20T12:34:56.789Z`: fixed width, so strings sort as times do (milliseconds truncated)."""
    v = value.astimezone(UTC)
    # Not strftime("%Y"): glibc writes year 500 as "500", which breaks the fixed width.
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}."
        f"{v.microsecond // 1000:03d}Z"
    )


def utcnow() -> datetime:
    return datetime.now(UTC)
