"""guildlog.services.privacy: which events of a batch happened in a channel never recorded."""

from __future__ import annotations

import json
from typing import Any

from guildlog.services.directory import dir_pk, snapshot_sk
from guildlog.services.privacy import places, unrecorded

GUILD = "900000000000000001"
PRIVATE = "900000000000000010"
CATEGORY = "900000000000000011"
CHILD = "900000000000000012"
THREAD = "900000000000000013"
OPEN = "900000000000000014"


def snapshots(parents: dict[str, str]) -> Any:
    """A directory lookup knowing these channels' parents; records the keys asked."""
    asked: list[list[tuple[str, str]]] = []

    def lookup(wanted: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
        asked.append(wanted)
        return {
            (dir_pk(GUILD), snapshot_sk("channel", c)): {"state": json.dumps({"parent_id": p})}
            for c, p in parents.items()
            if (dir_pk(GUILD), snapshot_sk("channel", c)) in wanted
        }

    lookup.asked = asked  # type: ignore[attr-defined]
    return lookup


def msg(channel: str) -> tuple[str, dict[str, Any]]:
    return "MESSAGE_CREATE", {"guild_id": GUILD, "channel_id": channel, "content": "x"}


def test_unrecorded_drops_a_message_when_its_channel_is_listed() -> None:
    verdict = unrecorded([msg(PRIVATE), msg(OPEN)], {GUILD: frozenset({PRIVATE})}, None)

    assert verdict.dropped == {0}


def test_unrecorded_drops_a_thread_message_when_the_threads_category_is_listed() -> None:
    lookup = snapshots({THREAD: CHILD, CHILD: CATEGORY})

    verdict = unrecorded([msg(THREAD)], {GUILD: frozenset({CATEGORY})}, lookup)

    assert verdict.dropped == {0}
    assert len(lookup.asked) == 2  # thread → channel, channel → category


def test_unrecorded_reads_no_directory_when_no_guild_lists_a_channel() -> None:
    lookup = snapshots({})

    assert unrecorded([msg(OPEN)], {}, lookup).dropped == set()
    assert lookup.asked == []


def test_unrecorded_places_a_channel_from_the_batch_when_it_is_created_in_a_listed_category() -> None:
    created = ("CHANNEL_CREATE", {"id": CHILD, "guild_id": GUILD, "parent_id": CATEGORY, "name": "new"})

    verdict = unrecorded([created, msg(CHILD)], {GUILD: frozenset({CATEGORY})}, None)

    assert verdict.dropped == {1}  # the channel's own creation is structure, and stays


def test_unrecorded_remembers_a_thread_when_it_is_created_in_a_listed_channel() -> None:
    thread = ("THREAD_CREATE", {"id": THREAD, "guild_id": GUILD, "parent_id": PRIVATE, "name": "t"})

    verdict = unrecorded([thread], {GUILD: frozenset({PRIVATE})}, None)

    assert (verdict.dropped, verdict.private_threads) == ({0}, {0: (THREAD, PRIVATE)})


def test_places_names_the_thread_and_its_parent_when_a_thread_event_is_given() -> None:
    assert places("THREAD_UPDATE", {"id": THREAD, "parent_id": PRIVATE}) == [THREAD, PRIVATE]


def test_unrecorded_looks_up_the_category_when_the_batch_places_a_new_thread_in_a_channel() -> None:
    thread = ("THREAD_CREATE", {"id": THREAD, "guild_id": GUILD, "parent_id": CHILD, "name": "t"})
    lookup = snapshots({CHILD: CATEGORY})

    verdict = unrecorded([thread, msg(THREAD)], {GUILD: frozenset({CATEGORY})}, lookup)

    assert verdict.dropped == {0, 1}
