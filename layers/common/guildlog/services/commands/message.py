"""`/logs message <id or link>`: every version of a message, its author, and when and by whom it was deleted.

The versions and the deletion marker are one Query (`PK = M#<message id>`). Discord does not say
who deleted a message; its audit log does, for deletions by someone other than the author: the
`message_delete` entry (action 72) names the moderator, the author as its target and the channel.
It is matched from the server's moderation feed (GSI3) near the deletion time. This module is the
one implementation of that match; the demo's report uses it too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from guildlog.errors import CommandError
from guildlog.services import feed, keys
from guildlog.services.archive_lookup import ArchivedMessage, past_retention
from guildlog.services.attachments import Linker, copies_of, copy_lines
from guildlog.services.commands import protocol as p
from guildlog.services.commands.context import Call, HotReader, Item, Ports, Reply, fit, parse_message_ref, quote, when
from guildlog.services.commands.naming import AnswerNames, answer_names
from guildlog.services.timefmt import iso, snowflake_time

# An audit-log entry for a deletion is written within moments of it; wider would risk a wrong match.
AUDIT_MATCH_WINDOW = timedelta(minutes=2)
# A message's `timestamp` is its id's time; should Discord's ever differ, the feed is searched this near.
CREATE_MATCH_WINDOW = timedelta(seconds=2)
_NOT_FOUND = "No message with that id is logged in this server (it may predate guildlog or its retention)."
_NO_ARCHIVE = (
    "No message with that id is in the hot store, and this deployment cannot look in the archive "
    "(it may predate guildlog or its retention)."
)


@dataclass
class MessageHistory:
    """What the hot table knows of one message. `deleted_by`: the matching audit-log feed item."""

    message_id: str
    guild_id: str | None
    channel_id: str | None
    author_id: str | None
    author_name: str | None
    versions: list[Item]
    deletion: Item | None
    deleted_by: Item | None
    # Attachment copies' records (`A#<file>` under `M#<message>`, services/attachments.py).
    copies: list[Item] = field(default_factory=list)

    @property
    def edits(self) -> int:
        return max(0, len(self.versions) - 1)

    @property
    def deletion_note(self) -> str:
        """Who deleted it, in words (plain text; the caller adds names)."""
        if self.deletion is None:
            return "not deleted"
        if self.deleted_by is not None:
            return "in a bulk delete, audit-log entry" if self.deletion.get("bulk") else "audit-log entry"
        if self.deletion.get("bulk"):
            return "in a bulk delete"
        return "no audit-log entry: most likely deleted by its author (Discord logs deletions by others)"


def message_history(reader: HotReader, message_id: str, guild_id: str | None = None) -> MessageHistory | None:
    """The message's versions (oldest first), deletion and deleter; None when nothing is logged.

    With `guild_id`, a message logged in another server counts as not logged: message ids are
    global, the logs are per server. A create that fit one write unit is kept only in the server's
    feed (`whole`), found there by the message id's time and shard.
    """
    items = _all(reader, keys.message_pk(message_id))
    logged_in = next((i.get("guild_id") for i in items if i.get("guild_id")), None)
    if guild_id is not None and items and logged_in != guild_id:
        return None
    versions = [i for i in items if str(i.get("SK", "")).startswith(keys.VERSION_PREFIX)]
    if not any(v.get("version") == "create" for v in versions) and (guild_id or logged_in):
        created = created_version(reader, str(guild_id or logged_in), message_id)
        if created is not None:
            versions.append(created)
            logged_in = logged_in or created.get("guild_id")
    if not items and not versions:
        return None
    versions.sort(key=lambda i: str(i["SK"]))
    deletion = next((i for i in items if i.get("SK") == keys.DELETED_SK), None)
    first = versions[0] if versions else {}
    author_id = first.get("user_id")
    channel_id = first.get("channel_id") or (deletion or {}).get("channel_id")
    deleted_by = None
    if deletion is not None and logged_in:
        deleted_by = deletion_audit_entry(
            reader,
            str(logged_in),
            str(deletion.get("deleted_at", "")),
            author_id,
            channel_id,
            bulk=bool(deletion.get("bulk")),
        )
    return MessageHistory(
        message_id=message_id,
        guild_id=logged_in,
        channel_id=channel_id,
        author_id=author_id,
        author_name=first.get("user_name"),
        versions=versions,
        deletion=deletion,
        deleted_by=deleted_by,
        copies=copies_of(items),
    )


def created_version(reader: HotReader, guild_id: str, message_id: str) -> Item | None:
    """The message's create from the server's feed, as a version item (`V#<time>`), when the feed
    item holds it whole; None otherwise (a longer create has its own `M#<id>` version item)."""
    try:
        moment = snowflake_time(message_id)
    except (ValueError, OverflowError):
        return None
    plan = feed.plans.plan(reader, guild_id)
    at = iso(moment)
    # Where it is when its time is its id's: one Query of one shard.
    shard = plan.shard_of(at, message_id)
    exact = reader.query(
        keys.feed_pk(guild_id, shard), sk_from=keys.feed_sk_at(at) + "#", sk_to=keys.feed_sk_at(at) + "$"
    )
    found = _whole_create(exact.items, message_id)
    if found is None:
        low, high = iso(moment - CREATE_MATCH_WINDOW), iso(moment + CREATE_MATCH_WINDOW)
        nearby: list[Item] = []
        start_key = None
        while True:
            page = feed.query_feed(
                reader, guild_id, sk_from=keys.feed_sk_at(low), sk_to=keys.feed_sk_at(high) + "$",
                newest_first=False, start_key=start_key, plan=plan,
            )  # fmt: skip
            nearby.extend(page.items)
            start_key = page.next_key
            if start_key is None:
                break
        found = _whole_create(nearby, message_id)
    if found is None:
        return None
    return {**found, "SK": keys.version_sk(str(found["occurred_at"])), "version": "create"}


def _whole_create(items: list[Item], message_id: str) -> Item | None:
    return next(
        (i for i in items if i.get("message_id") == message_id and i.get("action") == "create" and i.get("whole")),
        None,
    )


def deletion_audit_entry(
    reader: HotReader,
    guild_id: str,
    deleted_at: str,
    author_id: str | None,
    channel_id: str | None,
    *,
    bulk: bool = False,
) -> Item | None:
    """The audit-log entry for this deletion from the server's moderation feed, nearest in time.

    A single deletion matches `message_delete` with the author as target (and the channel, when both
    name one); a bulk deletion matches `message_bulk_delete` in the same channel.
    """
    try:
        moment = datetime.fromisoformat(deleted_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    if not bulk and not author_id:
        return None
    low, high = iso(moment - AUDIT_MATCH_WINDOW), iso(moment + AUDIT_MATCH_WINDOW)
    entries = _all_indexed(
        reader,
        guild_id,
        "GSI3",
        keys.category_index_pk(guild_id, "moderation"),
        sk_from=keys.feed_sk_at(low),
        sk_to=keys.feed_sk_at(high) + "~",
    )
    if bulk:
        # A bulk delete's entry targets the channel itself.
        matches = [
            e
            for e in entries
            if e.get("action") == "message_bulk_delete"
            and channel_id is not None
            and (e.get("channel_id") or e.get("target_id")) == channel_id
        ]
    else:
        matches = [
            e
            for e in entries
            if e.get("action") == "message_delete" and e.get("target_id") == author_id and _same_channel(e, channel_id)
        ]
    return min(matches, key=lambda e: abs(_seconds(e.get("occurred_at"), moment)), default=None)


def _same_channel(entry: Item, channel_id: str | None) -> bool:
    """Same channel when both name one; an entry without a channel is not told apart by it."""
    named = entry.get("channel_id")
    return not channel_id or not named or named == channel_id


def _seconds(value: object, moment: datetime) -> float:
    try:
        return (datetime.fromisoformat(str(value).replace("Z", "+00:00")) - moment).total_seconds()
    except ValueError:
        return float("inf")


def _all(reader: HotReader, pk: str, **kwargs: Any) -> list[Item]:
    items: list[Item] = []
    start_key = None
    while True:
        page = reader.query(pk, newest_first=False, limit=100, start_key=start_key, **kwargs)
        items.extend(page.items)
        start_key = page.next_key
        if start_key is None:
            return items


def _all_indexed(reader: HotReader, guild_id: str, index: str, pk: str, *, sk_from: str, sk_to: str) -> list[Item]:
    """Every item of a guild's index key in [sk_from, sk_to], oldest first, across its shards."""
    items: list[Item] = []
    start_key = None
    while True:
        page = feed.query_feed(
            reader, guild_id, index=index, pk=pk, sk_from=sk_from, sk_to=sk_to, newest_first=False, limit=100,
            start_key=start_key,
        )  # fmt: skip
        items.extend(page.items)
        start_key = page.next_key
        if start_key is None:
            return items


# ---------------------------------------------------------------- the command


def run(call: Call, ports: Ports) -> Reply:
    ref = parse_message_ref(str(call.required("message")))
    if ref.guild_id is not None and ref.guild_id != call.guild_id:
        raise CommandError("That link is to a message in another server.")
    history = message_history(ports.reader, ref.message_id, call.guild_id)
    archived: ArchivedMessage | None = None
    if history is None or not history.versions:
        # Past the hot table's retention, or imported: the archive may hold it (a query: the worker's job).
        if ports.archive is None:
            return Reply(_NO_ARCHIVE if history is None else render(history), handover=True)
        archived = ports.archive.find(call.guild_id, ref.message_id)
        if archived.found:
            history = with_archive(history, archived, call.guild_id)
        elif history is None:
            raise CommandError(not_found(ref.message_id, archived, _retention_days(ports, call.guild_id), call.now))
    if ref.channel_id and history.channel_id and ref.channel_id != history.channel_id:
        raise CommandError(_NOT_FOUND)
    if history.author_id != call.user_id:
        call.require_manage_guild("Looking up other members' messages")
    names = history_names(ports.reader, call.guild_id, history)
    return Reply(render(history, names, archived, ports.attachment_links))


def history_names(reader: HotReader, guild_id: str, history: MessageHistory) -> AnswerNames:
    """The author's name as the message logged it, the deleter's and the channel's from the directory."""
    deleter = (history.deleted_by or {}).get("actor_id")
    return answer_names(
        reader,
        guild_id,
        user_ids=(history.author_id, deleter),
        channel_ids=(history.channel_id,),
        at_the_time={str(history.author_id): history.author_name} if history.author_id else None,
    )


def with_archive(history: MessageHistory | None, archived: ArchivedMessage, guild_id: str) -> MessageHistory:
    """The hot table's deletion marker (it has the audit-log match) over the archive's versions."""
    first = archived.versions[0] if archived.versions else {}
    deletion = history.deletion if history is not None and history.deletion is not None else archived.deletion
    return MessageHistory(
        message_id=archived.message_id,
        guild_id=guild_id,
        channel_id=first.get("channel_id") or (deletion or {}).get("channel_id"),
        author_id=first.get("user_id") or (history.author_id if history else None),
        author_name=first.get("user_name"),
        versions=archived.versions,
        deletion=deletion,
        deleted_by=history.deleted_by if history is not None else None,
        copies=history.copies if history is not None else [],
    )


def not_found(message_id: str, archived: ArchivedMessage, retention_days: int, now: datetime) -> str:
    """Why the message is nowhere, as truthfully as the hot table and the archive can tell."""
    where = f"not in the hot store nor in the archive for {archived.days} (UTC, the days its id dates it to)"
    if past_retention(message_id, now, retention_days):
        head = f"Message {message_id} is past this server's {retention_days}-day hot retention, and {where}."
    else:
        head = f"Message {message_id} is {where}."
    if archived.server_events == 0:
        return f"{head} guildlog archived nothing of this server on those days: it was not logging it then."
    return (
        f"{head} guildlog was logging this server then, so the message was never logged here: it is in "
        "a channel guildlog cannot read, or in another server."
    )


def _retention_days(ports: Ports, guild_id: str) -> int:
    config = ports.reader.get(keys.guild_pk(guild_id), keys.CONFIG_SK) or {}
    try:
        return int(config.get("retention_days") or ports.default_retention_days)
    except (TypeError, ValueError):
        return ports.default_retention_days


def render(
    history: MessageHistory,
    names: AnswerNames | None = None,
    archived: ArchivedMessage | None = None,
    links: Linker | None = None,
) -> str:
    """The answer; with `names`, every mention is followed by the name guildlog holds."""
    author = _user(history.author_id, names) if history.author_id else "an unknown author"
    where = f" in {_channel(history.channel_id, names)}" if history.channel_id else ""
    edits = history.edits
    head = f"**Message {history.message_id}** by {author}{where}"
    if history.versions:
        head += f" · {edits} edit{'s' if edits != 1 else ''}"
    if archived is not None and archived.found:
        head += f" · from the archive ({archived.days})"
    lines = [head]
    tail = _deletion_line(history, names)
    if not history.versions and archived is not None:
        lines.append(f"_Its text is not in the hot store nor in the archive for {archived.days}._")
    elif not history.versions:
        lines.append("_Its text was never logged (it was sent before guildlog was logging this channel)._")
    # Links to copies are long (a presigned URL): they get up to half the message, never cut mid-link.
    copies: list[str] = []
    for line in copy_lines(history.copies, links):
        if sum(len(c) + 1 for c in copies) + len(line) + 1 > p.MAX_CONTENT_CHARS // 2:
            break
        copies.append(line)
    room = p.MAX_CONTENT_CHARS - len(head) - len(tail or "") - 40 * (len(history.versions) + 2)
    room -= sum(len(c) + 1 for c in copies)
    each = max(40, room // max(1, len(history.versions)))
    for version in history.versions:
        verb = "posted" if version.get("version") == "create" else "edited"
        text = quote(version.get("content", ""), each) or "_(no text)_"
        files = _attachments(version)
        lines.append(f"{when(version.get('occurred_at'))} **{verb}**: {text}{files}")
    if tail:
        lines.append(tail)
    # Copies of its files in the archive bucket: they outlive Discord's CDN links and the deletion.
    lines.extend(copies)
    return fit("\n".join(lines), p.MAX_CONTENT_CHARS)


def _user(user_id: object, names: AnswerNames | None) -> str:
    return names.user(user_id) if names is not None else f"<@{user_id}>"


def _channel(channel_id: object, names: AnswerNames | None) -> str:
    return names.channel(channel_id) if names is not None else f"<#{channel_id}>"


def _deletion_line(history: MessageHistory, names: AnswerNames | None = None) -> str | None:
    deletion = history.deletion
    if deletion is None:
        return None
    at = when(deletion.get("deleted_at"))
    entry = history.deleted_by
    if entry is not None:
        how = "in a bulk delete " if deletion.get("bulk") else ""
        line = f"{at} **deleted** {how}by {_user(entry.get('actor_id'), names)} (audit log"
        if entry.get("reason"):
            line += f', reason "{quote(entry["reason"], 200)}"'
        return line + ")"
    if deletion.get("bulk"):
        return f"{at} **deleted** in a bulk delete"
    return f"{at} **deleted**, no audit-log entry: most likely by its author"


def _attachments(version: Item) -> str:
    try:
        files = json.loads(str(version.get("attachments") or "[]"))
    except ValueError:
        return ""
    names = [str(f.get("filename")) for f in files if isinstance(f, dict) and f.get("filename")]
    return f" 📎 {', '.join(quote(n, 60) for n in names)}" if names else ""
