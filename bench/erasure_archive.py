"""A 30-day archive of a million events for the erasure figures, written straight as the archive's objects.

Ingesting a million events through the ingest service takes longer than the benchmark should, and what
an erasure reads is the objects, not how they came to be: so the lines are made here in the archive's
own shapes (raw lines, `EventRow` JSON lines, the archive's CSV through `render_csv`) and written as the
stack leaves them on a usual day: every day but the last two compacted (one object per dataset and day),
the last two still in 500-event batch objects. A sample of the lines goes through the models that the
erasure's rewriter validates with, so a change of shape fails here first.

Three guilds, 2,000 members with Zipf-distributed activity (a few very busy, most quiet), eight channels
each; the mix is mostly messages, with edits, deletions, reactions and nickname changes. Deterministic
by seed.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from guildlog.models.envelope import RawArchiveLine
from guildlog.models.row import ROW_FIELDS, EventRow
from guildlog.services.csv_render import escape_cell, render_csv
from guildlog.services.partition import object_key, partition_prefix

DISCORD_EPOCH_MS = 1_420_070_400_000
GUILDS = 3
MEMBERS = 2_000
CHANNELS = 8
BATCH = 500
UNCOMPACTED_DAYS = 2
RELAY = {"name": "guildlog-relay", "shard": [0, 1], "session_id": "bench"}
_FREE_TEXT = frozenset({"content", "user_name", "reason", "attachments", "action"})
# Event kinds and their share.
MIX = (("create", 80), ("update", 7), ("reaction", 7), ("delete", 3), ("nick", 3))


def snowflake(moment: datetime, n: int) -> str:
    return str(((int(moment.timestamp() * 1000) - DISCORD_EPOCH_MS) << 22) + (n % 4_194_304))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class SyntheticArchive:
    """`days()` yields (day, [(row, raw event)]) in time order: `total` events over `days` days."""

    def __init__(self, *, start: datetime, days: int, total: int, seed: int = 23) -> None:
        self.start = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        self.day_count = days
        self.per_day = [total // days + (1 if n < total % days else 0) for n in range(days)]
        self.rng = random.Random(seed)
        origin = self.start - timedelta(days=900)
        self.guilds = [snowflake(origin + timedelta(days=g), g) for g in range(GUILDS)]
        self.channels = [
            [snowflake(origin + timedelta(days=10, minutes=c + 100 * g), c) for c in range(CHANNELS)]
            for g in range(GUILDS)
        ]
        self.members = [snowflake(origin + timedelta(days=20, seconds=m), m) for m in range(MEMBERS)]
        self.names = {m: f"member{n:04d}" for n, m in enumerate(self.members)}
        weights = [1 / (rank + 1) for rank in range(MEMBERS)]
        self.order = list(range(MEMBERS))
        self.rng.shuffle(self.order)
        self.cumulative = list(_accumulate(weights))
        letters = "abcdefghijklmnopqrstuvwxyz"
        self.words = ["".join(self.rng.choice(letters) for _ in range(self.rng.randint(2, 9))) for _ in range(3000)]
        self.kinds = [kind for kind, share in MIX for _ in range(share)]

    def days(self) -> Iterator[tuple[date, list[tuple[dict[str, Any], dict[str, Any]]]]]:
        serial = 0
        for index, count in enumerate(self.per_day):
            day = self.start + timedelta(days=index)
            # Drawn a day at a time: one call instead of one per event.
            self.picks = iter(self.rng.choices(self.order, cum_weights=self.cumulative, k=2 * count + 1))
            recent: list[list[tuple[str, str, str]]] = [[] for _ in range(GUILDS)]
            events = []
            for n in range(count):
                serial += 1
                moment = day + timedelta(milliseconds=int(86_400_000 * n / count))
                events.append(self._event(serial, moment, recent))
            yield day.date(), events

    def _member(self) -> str:
        return self.members[next(self.picks)]

    def _event(
        self, serial: int, moment: datetime, recent: list[list[tuple[str, str, str]]]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        g = self.rng.randrange(GUILDS)
        guild = self.guilds[g]
        kind = self.rng.choice(self.kinds) if recent[g] else "create"
        at = _iso(moment)
        batch_id = f"b{moment:%Y%m%d}-{serial // BATCH:06d}"
        row: dict[str, Any] = {
            "event_id": f"bench:{serial}",
            "batch_id": batch_id,
            "source": "gateway",
            "occurred_at": at,
            "received_at": at,
            "seq": serial,
            "shard_id": 0,
            "guild_id": guild,
            "channel_id": None,
            "user_id": None,
            "actor_id": None,
            "target_id": None,
            "message_id": None,
            "user_name": None,
            "content": None,
            "reason": None,
            "attachments": None,
            "details": "{}",
            "changes": None,
        }
        if kind == "create":
            user, channel = self._member(), self.rng.choice(self.channels[g])
            message = snowflake(moment, serial)
            text = " ".join(self.rng.choices(self.words, k=self.rng.randint(2, 18)))
            files = [{"id": snowflake(moment, serial + 1), "filename": "photo.png", "size": 1024}]
            attached = files if self.rng.random() < 0.05 else []
            recent[g].append((message, user, channel))
            del recent[g][:-200]
            d = {
                "id": message,
                "channel_id": channel,
                "guild_id": guild,
                "author": self._user(user),
                "member": {"nick": None},
                "content": text,
                "timestamp": at,
                "attachments": attached,
                "embeds": [],
            }
            row.update(
                event_type="MESSAGE_CREATE",
                category="message",
                action="create",
                channel_id=channel,
                user_id=user,
                message_id=message,
                user_name=self.names[user],
                content=text,
                attachments=json.dumps(attached, separators=(",", ":")) if attached else None,
            )
        elif kind == "update":
            message, user, channel = self.rng.choice(recent[g])
            text = " ".join(self.rng.choices(self.words, k=self.rng.randint(2, 18)))
            d = {
                "id": message,
                "channel_id": channel,
                "guild_id": guild,
                "author": self._user(user),
                "content": text,
                "edited_timestamp": at,
            }
            row.update(
                event_type="MESSAGE_UPDATE",
                category="message",
                action="update",
                channel_id=channel,
                user_id=user,
                message_id=message,
                user_name=self.names[user],
                content=text,
            )
        elif kind == "reaction":
            message, _, channel = self.rng.choice(recent[g])
            user = self._member()
            d = {
                "user_id": user,
                "message_id": message,
                "channel_id": channel,
                "guild_id": guild,
                "emoji": {"id": None, "name": "👍"},
                "member": {"user": self._user(user)},
            }
            row.update(
                event_type="MESSAGE_REACTION_ADD",
                category="message",
                action="reaction_add",
                channel_id=channel,
                user_id=user,
                message_id=message,
                user_name=self.names[user],
                details='{"emoji":"👍"}',
            )
        elif kind == "delete":
            message, _, channel = self.rng.choice(recent[g])
            d = {"id": message, "channel_id": channel, "guild_id": guild}
            row.update(
                event_type="MESSAGE_DELETE", category="message", action="delete", channel_id=channel, message_id=message
            )
        else:
            user = self._member()
            nick = f"{self.names[user]}-{self.rng.choice(self.words)}"
            d = {"guild_id": guild, "user": self._user(user), "nick": nick, "roles": []}
            row.update(
                event_type="GUILD_MEMBER_UPDATE",
                category="member",
                action="update",
                user_id=user,
                user_name=self.names[user],
                changes=json.dumps({"nick": {"before": None, "after": nick}}, separators=(",", ":")),
            )
        raw = {"t": row["event_type"], "seq": serial, "received_at": at, "source": "gateway", "d": d}
        return row, raw

    def _user(self, user: str) -> dict[str, Any]:
        return {"id": user, "username": self.names[user], "global_name": self.names[user].title(), "avatar": "a1b2"}


def _accumulate(weights: list[float]) -> Iterator[float]:
    total = 0.0
    for weight in weights:
        total += weight
        yield total


def texts(events: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, str]:
    """The three datasets' object texts for these events (the archive writes no quarantine line for them)."""
    raw = "".join(
        json.dumps(
            {"event_id": row["event_id"], "batch_id": row["batch_id"], "relay": RELAY, "event": event},
            separators=(",", ":"),
            ensure_ascii=False,
        )
        + "\n"
        for row, event in events
    )
    rows = "".join(json.dumps(row, separators=(",", ":"), ensure_ascii=False) + "\n" for row, _ in events)
    return {"raw": raw, "events": rows, "events_csv": csv_text(row for row, _ in events)}


def csv_text(rows: Iterator[dict[str, Any]]) -> str:
    """services/csv_render.render_csv's archive dialect, without building a model per row: the free-text
    cells escaped, the others (ids, times, kinds, compact JSON without line breaks) as they are."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(ROW_FIELDS)
    for row in rows:
        writer.writerow(
            "" if row[name] is None else escape_cell(row[name]) if name in _FREE_TEXT else str(row[name])
            for name in ROW_FIELDS
        )
    return buffer.getvalue()


def check_shapes(events: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    """Every kind of line made here validates as the archive's models (the rewriter validates what it writes)."""
    seen: set[str] = set()
    for row, event in events:
        if row["event_type"] in seen:
            continue
        seen.add(row["event_type"])
        EventRow.model_validate(row)
        rendered = render_csv([EventRow.model_validate(row)]).split("\r\n")[1]
        if rendered != csv_text(iter([row])).split("\r\n")[1]:
            raise AssertionError(f"the bench's CSV differs from the archive's for {row['event_type']}")
        RawArchiveLine.model_validate(
            {"event_id": row["event_id"], "batch_id": row["batch_id"], "relay": RELAY, "event": event}
        )


def write(put: Any, archive: SyntheticArchive, members: Counter[tuple[str, str]]) -> dict[str, int]:
    """Write every day's objects through `put(key, text)`, counting each member's rows into `members`;
    the objects and events written."""
    objects = events_written = 0
    last_compacted = archive.day_count - UNCOMPACTED_DAYS
    for index, (day, events) in enumerate(archive.days()):
        if index == 0:
            check_shapes(events)
        events_written += len(events)
        members.update((row["guild_id"], row["user_id"]) for row, _ in events if row["user_id"])
        if index < last_compacted:
            for dataset, text in texts(events).items():
                put(f"{partition_prefix(dataset, day)}compacted~{day.isoformat()}.{_ext(dataset)}", text)
                objects += 1
            continue
        batches: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
        for pair in events:
            batches.setdefault(pair[0]["batch_id"], []).append(pair)
        for batch_id, chunk in batches.items():
            for dataset, text in texts(chunk).items():
                put(object_key(dataset, day, batch_id), text)
                objects += 1
    return {"objects": objects, "events": events_written}


def _ext(dataset: str) -> str:
    from guildlog.services.partition import DATASETS

    return DATASETS[dataset]
