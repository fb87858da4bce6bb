"""services/categories.py: every dispatch type lands in the category ARCHITECTURE.md gives it."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from guildlog.models.envelope import EVENT_TYPE_PATTERN
from guildlog.models.row import CATEGORIES
from guildlog.services.categories import DISPATCH_TYPES, classify

# ARCHITECTURE.md, "Event categories": what each category must cover.
EXPECTED = [
    ("MESSAGE_CREATE", "message", "create"),
    ("MESSAGE_UPDATE", "message", "update"),
    ("MESSAGE_DELETE", "message", "delete"),
    ("MESSAGE_DELETE_BULK", "message", "bulk_delete"),
    ("MESSAGE_REACTION_ADD", "message", "reaction_add"),
    ("MESSAGE_REACTION_REMOVE", "message", "reaction_remove"),
    ("MESSAGE_REACTION_REMOVE_ALL", "message", "reaction_remove_all"),
    ("MESSAGE_REACTION_REMOVE_EMOJI", "message", "reaction_remove_emoji"),
    ("GUILD_MEMBER_ADD", "member", "join"),
    ("GUILD_MEMBER_REMOVE", "member", "leave"),
    ("GUILD_MEMBER_UPDATE", "member", "update"),
    ("GUILD_BAN_ADD", "moderation", "ban"),
    ("GUILD_BAN_REMOVE", "moderation", "unban"),
    ("GUILD_AUDIT_LOG_ENTRY_CREATE", "moderation", "audit_log"),
    ("CHANNEL_CREATE", "server", "channel_create"),
    ("CHANNEL_UPDATE", "server", "channel_update"),
    ("CHANNEL_DELETE", "server", "channel_delete"),
    ("GUILD_ROLE_CREATE", "server", "role_create"),
    ("GUILD_ROLE_UPDATE", "server", "role_update"),
    ("GUILD_ROLE_DELETE", "server", "role_delete"),
    ("GUILD_CREATE", "server", "guild_available"),
    ("GUILD_UPDATE", "server", "guild_update"),
    ("GUILD_DELETE", "server", "guild_unavailable"),
    ("THREAD_CREATE", "server", "thread_create"),
    ("THREAD_UPDATE", "server", "thread_update"),
    ("THREAD_DELETE", "server", "thread_delete"),
    ("INVITE_CREATE", "server", "invite_create"),
    ("INVITE_DELETE", "server", "invite_delete"),
    ("GUILD_EMOJIS_UPDATE", "server", "emojis_update"),
    ("VOICE_STATE_UPDATE", "voice", "state"),
    ("INTERACTION_CREATE", "command", "interaction"),
    ("READY", "relay", "ready"),
    ("RESUMED", "relay", "resumed"),
    ("GUILDLOG_CONNECT", "relay", "connect"),
    ("GUILDLOG_RESUME", "relay", "resume"),
    ("GUILDLOG_GAP", "relay", "gap"),
]


@pytest.mark.parametrize(("event_type", "category", "action"), EXPECTED)
def test_classify_gives_the_documented_category_and_action_when_the_type_is_known(
    event_type: str, category: str, action: str
) -> None:
    assert classify(event_type) == (category, action)


def test_classify_gives_other_and_the_lowercased_type_when_the_type_is_unknown() -> None:
    assert classify("EMBEDDED_ACTIVITY_UPDATE") == ("other", "embedded_activity_update")


def test_classify_gives_other_when_a_known_type_is_spelled_in_lower_case() -> None:
    # Discord's types are upper case; a near miss must not be guessed into a category.
    assert classify("message_create") == ("other", "message_create")


def test_dispatch_types_use_only_the_row_categories_when_listed() -> None:
    used = {category for category, _ in DISPATCH_TYPES.values()}
    assert used <= set(CATEGORIES)
    assert "other" not in used  # "other" is what *unknown* types get, never a listed one


def test_dispatch_types_cover_every_category_but_other_when_listed() -> None:
    used = {category for category, _ in DISPATCH_TYPES.values()}
    assert used == set(CATEGORIES) - {"other"}


def test_dispatch_types_give_each_type_its_own_action_when_in_the_same_category() -> None:
    # Daily counters and feeds key by (category, action): two types sharing a pair would merge.
    pairs = Counter(DISPATCH_TYPES.values())
    assert [pair for pair, n in pairs.items() if n > 1] == []


def test_dispatch_types_are_accepted_by_the_envelope_when_used_as_t() -> None:
    pattern = re.compile(EVENT_TYPE_PATTERN)
    assert [t for t in DISPATCH_TYPES if not pattern.match(t)] == []


def test_dispatch_types_put_the_relays_own_events_in_relay_when_prefixed_guildlog() -> None:
    ours = {t: category for t, (category, _) in DISPATCH_TYPES.items() if t.startswith("GUILDLOG_")}
    assert ours and set(ours.values()) == {"relay"}
