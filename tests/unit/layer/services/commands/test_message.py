"""guildlog.services.commands.message: versions, the author, and when and by whom a message was deleted."""

from __future__ import annotations

import json

import pytest

from guildlog.errors import CommandError
from guildlog.services import keys
from guildlog.services.archive_lookup import ArchivedMessage, lookup_days
from guildlog.services.commands import message
from guildlog.services.commands.context import Ports
from guildlog.services.feed_shards import Epoch, ShardPlan
from tests.fakes import interactions as fx
from tests.fakes.memory_table import MemoryTable
from tests.unit.layer.services.commands.conftest import call_of, message_id, name_in_directory, row

CREATED = "2026-11-20T10:00:00.000Z"
MID = message_id(CREATED)


def posted_edited_deleted(
    table: MemoryTable, *, deleted_at: str = "2026-11-20T10:05:00.000Z", **delete: object
) -> None:
    table.add_rows(
        [
            row(event_id="gw:s:1", occurred_at=CREATED, message_id=MID, content="first words"),
            row(
                event_id="gw:s:2",
                event_type="MESSAGE_UPDATE",
                action="update",
                occurred_at="2026-11-20T10:01:00.000Z",
                message_id=MID,
                content="second thoughts",
                attachments=json.dumps([{"filename": "proof.png"}]),
            ),
            row(
                event_id="gw:s:3",
                event_type="MESSAGE_DELETE",
                action="delete",
                occurred_at=deleted_at,
                message_id=MID,
                user_id=None,
                content=None,
                **delete,
            ),
        ]
    )


class EmptyArchive:
    """An archive that holds nothing of the server on the message's days."""

    def find(self, guild_id: str, message_id: str) -> ArchivedMessage:
        first, last = lookup_days(message_id)
        return ArchivedMessage(message_id, first, last, [], None, server_events=0)


def audit_entry(at: str, action: str = "message_delete", target: str = fx.MEMBER, **fields: object) -> object:
    base = {
        "event_id": f"gw:s:audit-{at}",
        "event_type": "GUILD_AUDIT_LOG_ENTRY_CREATE",
        "category": "moderation",
        "action": action,
        "occurred_at": at,
        "user_id": None,
        "actor_id": fx.MODERATOR,
        "target_id": target,
        "message_id": None,
        "content": None,
        "reason": "spam",
    }
    return row(**{**base, **fields})


def ask(ports: Ports, text: str, **kwargs: object) -> str:
    return message.run(call_of(fx.command("logs", "message", options={"message": text}, **kwargs)), ports).content


def test_message_shows_every_version_oldest_first_when_it_was_edited(table: MemoryTable, ports: Ports) -> None:
    posted_edited_deleted(table)

    content = ask(ports, MID)

    assert content.index("first words") < content.index("second thoughts")
    assert "1 edit" in content and f"<@{fx.MEMBER}>" in content and "proof.png" in content


def test_message_names_the_moderator_when_the_audit_log_has_the_deletion(table: MemoryTable, ports: Ports) -> None:
    posted_edited_deleted(table)
    table.add_rows([audit_entry("2026-11-20T10:05:01.000Z")])

    content = ask(ports, f"https://discord.com/channels/{fx.GUILD}/{fx.CHANNEL}/{MID}")

    assert f"deleted** by <@{fx.MODERATOR}> (no name logged) (audit log" in content
    assert 'reason "spam"' in content


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param({"at": "2026-11-20T10:08:00.000Z"}, id="too-late"),
        pytest.param({"at": "2026-11-20T10:05:01.000Z", "target": fx.STRANGER}, id="another-author"),
        pytest.param({"at": "2026-11-20T10:05:01.000Z", "channel_id": fx.OTHER_CHANNEL}, id="another-channel"),
        pytest.param({"at": "2026-11-20T10:05:01.000Z", "action": "member_kick"}, id="another-action"),
    ],
)
def test_message_says_most_likely_the_author_when_no_audit_entry_matches(
    table: MemoryTable, ports: Ports, entry: dict[str, str]
) -> None:
    posted_edited_deleted(table)
    table.add_rows([audit_entry(**entry)])

    content = ask(ports, MID)

    assert "most likely by its author" in content
    assert f"<@{fx.MODERATOR}>" not in content


def test_message_picks_the_nearest_entry_when_several_match(table: MemoryTable, ports: Ports) -> None:
    posted_edited_deleted(table)
    table.add_rows(
        [
            audit_entry("2026-11-20T10:04:00.000Z", actor_id=fx.STRANGER),
            audit_entry("2026-11-20T10:05:02.000Z"),
        ]
    )

    assert f"by <@{fx.MODERATOR}>" in ask(ports, MID)


def test_message_names_the_bulk_deleter_when_the_channel_was_purged(table: MemoryTable, ports: Ports) -> None:
    bulk = row(
        event_id="gw:s:bulk",
        event_type="MESSAGE_DELETE_BULK",
        action="bulk_delete",
        occurred_at="2026-11-20T10:05:00.000Z",
        message_id=None,
        user_id=None,
        content=None,
        details=json.dumps({"ids": [MID]}),
    )
    table.add_rows([row(event_id="gw:s:1", occurred_at=CREATED, message_id=MID), bulk])
    table.add_rows([audit_entry("2026-11-20T10:05:01.000Z", action="message_bulk_delete", target=fx.CHANNEL)])

    assert f"in a bulk delete by <@{fx.MODERATOR}>" in ask(ports, MID)


def test_message_is_not_found_when_it_was_logged_in_another_server(table: MemoryTable, ports: Ports) -> None:
    table.add_rows([row(event_id="gw:s:1", occurred_at=CREATED, message_id=MID, guild_id=fx.OTHER_GUILD)])
    ports.archive = EmptyArchive()

    with pytest.raises(CommandError, match="not in the hot store nor in the archive"):
        ask(ports, MID)


def test_message_refuses_when_the_link_points_to_another_server(table: MemoryTable, ports: Ports) -> None:
    posted_edited_deleted(table)

    with pytest.raises(CommandError, match="another server"):
        ask(ports, f"https://discord.com/channels/{fx.OTHER_GUILD}/{fx.CHANNEL}/{MID}")


def test_message_is_not_found_when_the_link_names_another_channel(table: MemoryTable, ports: Ports) -> None:
    posted_edited_deleted(table)

    with pytest.raises(CommandError, match="No message with that id"):
        ask(ports, f"https://discord.com/channels/{fx.GUILD}/{fx.OTHER_CHANNEL}/{MID}")


def test_message_needs_manage_server_when_someone_else_wrote_it(table: MemoryTable, ports: Ports) -> None:
    posted_edited_deleted(table)

    with pytest.raises(CommandError, match="Manage Server"):
        ask(ports, MID, by=fx.STRANGER, permissions=fx.EVERYONE)


def test_message_shows_a_members_own_message_when_they_lack_manage_server(table: MemoryTable, ports: Ports) -> None:
    posted_edited_deleted(table)

    assert "second thoughts" in ask(ports, MID, by=fx.MEMBER, permissions=fx.EVERYONE)


def test_message_history_reads_the_message_its_create_and_the_moderation_feed_when_looked_up(
    table: MemoryTable,
) -> None:
    posted_edited_deleted(table)

    history = message.message_history(table, MID, fx.GUILD)

    assert history is not None and history.deletion is not None
    assert [q["pk"] for q in table.queries] == [
        keys.message_pk(MID),
        keys.feed_pk(fx.GUILD),
        keys.category_index_pk(fx.GUILD, "moderation"),
    ]
    assert table.queries[1]["sk_from"] == keys.feed_sk_at(CREATED) + "#"
    assert table.queries[2]["index"] == "GSI3"


def test_message_fits_discord_when_versions_are_long(table: MemoryTable, ports: Ports) -> None:
    rows = [row(event_id="gw:s:0", occurred_at=CREATED, message_id=MID, content="x" * 2000)]
    rows += [
        row(
            event_id=f"gw:s:{n}",
            event_type="MESSAGE_UPDATE",
            action="update",
            occurred_at=f"2026-11-20T10:0{n}:00.000Z",
            message_id=MID,
            content=f"{n}" * 2000,
        )
        for n in range(1, 6)
    ]
    table.add_rows(rows)

    content = ask(ports, MID)

    assert len(content) <= 2000
    assert content.count("**edited**") == 5


def test_message_shows_the_posted_text_when_only_the_feed_holds_the_create(table: MemoryTable, ports: Ports) -> None:
    table.add_rows([row(event_id="gw:s:1", occurred_at=CREATED, message_id=MID, content="kept in the feed")])
    assert not [k for k in table.items if k[0] == keys.message_pk(MID)]

    assert "kept in the feed" in ask(ports, MID)


def test_message_recovers_a_deleted_message_when_its_create_is_in_a_sharded_feed(
    table: MemoryTable, ports: Ports
) -> None:
    plan = ShardPlan((Epoch("2026-01-01T00:00:00.000Z", 4),))
    table.set_plan(fx.GUILD, plan)
    others = [row(event_id=f"gw:s:o{n}", occurred_at=CREATED, message_id=message_id(CREATED, n + 1)) for n in range(20)]
    deleted = row(
        event_id="gw:s:3", event_type="MESSAGE_DELETE", action="delete", occurred_at="2026-11-20T10:05:00.000Z",
        message_id=MID, user_id=None, content=None,
    )  # fmt: skip
    table.add_rows(
        [row(event_id="gw:s:1", occurred_at=CREATED, message_id=MID, content="said then gone"), *others, deleted],
        plan=plan,
    )

    reply = ask(ports, MID)

    assert "said then gone" in reply and "**deleted**" in reply
    feed_reads = [q for q in table.queries if q["pk"].startswith(keys.guild_pk(fx.GUILD)) and q["index"] is None]
    assert [q["pk"] for q in feed_reads] == [keys.feed_pk(fx.GUILD, plan.shard_of(CREATED, MID))]


def test_message_names_the_channel_and_moderator_from_the_directory_when_it_knows_them(
    table: MemoryTable, ports: Ports
) -> None:
    posted_edited_deleted(table)
    table.add_rows([audit_entry("2026-11-20T10:05:01.000Z")])
    name_in_directory(table, {fx.CHANNEL: "general"}, {fx.MODERATOR: "modmin"})

    content = ask(ports, MID)

    assert f"in <#{fx.CHANNEL}> (#general)" in content
    assert f"deleted** by <@{fx.MODERATOR}> (modmin) (audit log" in content


def test_message_names_the_author_as_the_message_logged_them_when_the_directory_has_a_newer_name(
    table: MemoryTable, ports: Ports
) -> None:
    posted_edited_deleted(table)
    name_in_directory(table, {}, {fx.MEMBER: "renamed-since"})

    content = ask(ports, MID)

    assert f"by <@{fx.MEMBER}> (member)" in content and "renamed-since" not in content


def test_message_says_no_name_is_logged_when_neither_the_events_nor_the_directory_name_the_channel(
    table: MemoryTable, ports: Ports
) -> None:
    posted_edited_deleted(table)

    content = ask(ports, MID)

    assert f"in <#{fx.CHANNEL}> (no name logged)" in content
