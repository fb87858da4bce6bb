"""guildlog.services.retention: which archive lines have outlived their guild's limit, and what is left."""

from __future__ import annotations

import json
from datetime import date, timedelta

from guildlog.services.retention import GuildRetention, LineRetention, RetentionRules

TODAY = date(2026, 12, 1)
WEEK = "900000000000000001"
FACTS = "900000000000000002"


def rules(**kwargs: object) -> RetentionRules:
    guilds = {WEEK: GuildRetention(7), FACTS: GuildRetention(7, "content-only")}
    return RetentionRules(**{"today": TODAY, "max_days": 3650, "default_days": 30, "guilds": guilds, **kwargs})


def test_verdict_keeps_a_day_when_it_is_exactly_at_the_limit() -> None:
    assert rules().verdict(WEEK, TODAY - timedelta(days=7)) == "keep"


def test_verdict_drops_a_day_when_it_is_one_past_the_limit() -> None:
    assert rules().verdict(WEEK, TODAY - timedelta(days=8)) == "drop"


def test_verdict_strips_a_day_when_the_guild_keeps_facts_only() -> None:
    assert rules().verdict(FACTS, TODAY - timedelta(days=8)) == "strip"


def test_verdict_applies_the_default_when_a_guild_never_chose() -> None:
    other = "900000000000000009"
    assert [rules().verdict(other, TODAY - timedelta(days=d)) for d in (30, 31)] == ["keep", "drop"]


def test_verdict_caps_every_guild_when_the_stack_maximum_is_shorter() -> None:
    assert rules(max_days=5).verdict(WEEK, TODAY - timedelta(days=6)) == "drop"


def test_days_to_visit_holds_each_limits_newly_expired_days_when_asked() -> None:
    visited = rules().days_to_visit()

    assert TODAY - timedelta(days=8) in visited and TODAY - timedelta(days=31) in visited
    assert TODAY - timedelta(days=7) not in visited


def test_line_retention_cuts_a_raw_line_to_its_facts_when_content_only() -> None:
    line = json.dumps(
        {
            "event_id": "e",
            "batch_id": "b",
            "relay": {},
            "event": {
                "t": "MESSAGE_CREATE",
                "d": {"id": "1", "guild_id": FACTS, "content": "words", "author": {"id": "5", "username": "name"}},
            },
        }
    )
    kept = LineRetention(rules(), "raw", TODAY - timedelta(days=8)).apply(line)

    assert kept is not None
    assert json.loads(kept)["event"]["d"] == {"id": "1", "guild_id": FACTS, "author": {"id": "5"}}
    assert json.loads(kept)["redacted"] == ["d.content", "d.author"]


def test_line_retention_keeps_an_unreadable_line_when_it_cannot_tell_the_guild() -> None:
    assert LineRetention(rules(), "events", TODAY - timedelta(days=400)).apply("{not json") == "{not json"
