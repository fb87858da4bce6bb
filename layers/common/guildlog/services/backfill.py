"""REST backfill: what Discord still holds of a guild's channels and threads, into the archive and the hot table.

For each text channel of the guild (`GET /guilds/{id}/channels`), each active thread
(`GET /guilds/{id}/threads/active`) and each archived one (`GET /channels/{id}/threads/archived/public`
and `/private`, the latter only where the bot has Manage Threads), the messages of a time window are
paged oldest first with `GET /channels/{id}/messages?after=…&limit=100`, through the one Discord
client (`adapters/discord_rest.py`: buckets, 429s, the global limit).

- Every answer is kept as a **REST capture** in `raw/` (the call: method, route, params; when it was
  fetched; the page as Discord sent it), a line whose `event.source` is `rest` and `event.kind`
  `rest_capture`, so it is never mistaken for a gateway frame.
- Every message becomes an event `t: MESSAGE_CREATE`, `source: backfill`, written through the
  Ingestor like the relay's batches (rows, hot items, counters). Its event id is the one the relay's
  create of the same message gets, `msg:<message id>` (services/event_ids.py), so a message the relay
  logged, a re-run or an overlapping window changes nothing, whichever came first. REST message
  objects carry no `guild_id`: it is added to `d`; the capture keeps the page untouched. Backfilled
  rows are history, never posted to a log channel.
- A message whose create the hot table holds under an id of before that rule (the relay's
  `gw:<session>:<seq>`) is left out of the page's batch (`KnownCreates`, services/known_creates.py:
  one read of the channel's index per page).
- **Resumable**: after each page is stored, the channel's checkpoint moves to the last message id
  reached (`Checkpoints`); a run started again pages on from there, fetching nothing twice. A
  channel finished is marked done and costs no request on a later run.
- A channel the bot cannot read (403, e.g. 50001 Missing Access) or that is gone (404) is reported
  and skipped; any other failure of a channel (Discord down after the client's retries) is reported
  as failed, and the others go on.

A channel whose `last_message_id` is older than the window (or that has none) costs no request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Protocol

from guildlog import __version__
from guildlog.errors import DiscordApiError, DiscordTargetGoneError
from guildlog.models.envelope import Envelope
from guildlog.services.partition import object_key, partition_day
from guildlog.services.timefmt import iso, utcnow

SOURCE = "backfill"
CAPTURE_SOURCE = "rest"
PAGE_LIMIT = 100  # Discord's most messages per page
DISCORD_EPOCH_MS = 1_420_070_400_000
# Channel types that hold messages: text, voice (its text chat), announcement, announcement thread,
# public thread, private thread, stage.
MESSAGE_TYPES = frozenset({0, 2, 5, 10, 11, 12, 13})
THREAD_TYPES = frozenset({10, 11, 12})
# Channels that have threads: text, announcement, forum, media. Private threads exist in text channels only.
THREAD_PARENT_TYPES = frozenset({0, 5, 15, 16})
PRIVATE_THREAD_PARENT_TYPES = frozenset({0})


class HistoryClient(Protocol):
    """The reads of `adapters.discord_rest.DiscordRest` a backfill makes."""

    def get_guild_channels(self, guild_id: str) -> list[dict[str, Any]]: ...
    def get_active_threads(self, guild_id: str) -> dict[str, Any]: ...
    def get_archived_threads(
        self, channel_id: str, *, private: bool = False, before: str | None = None, limit: int = 100
    ) -> dict[str, Any]: ...
    def get_channel_messages(
        self, channel_id: str, *, after: str | None = None, before: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]: ...


class Archive(Protocol):
    def put(self, key: str, text: str) -> None: ...


class Sink(Protocol):
    """Where the messages go: `services.ingest.Ingestor` (its `archive` also takes the captures)."""

    archive: Archive

    def ingest(self, envelope: Envelope, raw_events: list[dict[str, Any]]) -> Any: ...


class KnownCreates(Protocol):
    """Which messages of a page already have their create stored under another event id (services/known_creates.py)."""

    def stored_elsewhere(self, guild_id: str, channel_id: str, messages: Iterable[dict[str, Any]]) -> set[str]: ...


class Checkpoints(Protocol):
    """Per channel: the last message id stored, and whether the channel is finished."""

    def get(self, channel_id: str) -> tuple[str | None, bool]: ...
    def set(self, channel_id: str, last_id: str | None, done: bool) -> None: ...


class MemoryCheckpoints:
    """Checkpoints that last as long as the object (a gap repair's single run, the tests)."""

    def __init__(self) -> None:
        self.state: dict[str, tuple[str | None, bool]] = {}

    def get(self, channel_id: str) -> tuple[str | None, bool]:
        return self.state.get(channel_id, (None, False))

    def set(self, channel_id: str, last_id: str | None, done: bool) -> None:
        self.state[channel_id] = (last_id, done)


def snowflake_at(moment: datetime) -> int:
    """The smallest snowflake of `moment`'s millisecond: ids below it are older."""
    return max(0, int(moment.timestamp() * 1000) - DISCORD_EPOCH_MS) << 22


@dataclass(frozen=True)
class Window:
    """[after, before) in time; None is open on that side."""

    after: datetime | None = None
    before: datetime | None = None

    def describe(self) -> str:
        low = iso(self.after) if self.after else "the beginning"
        high = iso(self.before) if self.before else "now"
        return f"{low} to {high}"


@dataclass
class ChannelResult:
    """One channel's (or thread's) outcome: messages fetched and stored, requests made, why it stopped."""

    channel_id: str
    name: str = ""
    kind: str = "channel"  # channel | thread | listing
    parent_id: str | None = None
    fetched: int = 0
    stored: int = 0  # new to the hot table (the rest were there already, or are archive-only)
    known: int = 0  # left out: their create is stored under an event id of before `msg:<id>`
    pages: int = 0
    requests: int = 0
    resumed_after: str | None = None
    status: str = "pending"  # done | skipped | failed | already done
    reason: str = ""

    def line(self) -> str:
        if self.kind == "listing":
            return f"channel and thread lists: {self.requests} requests"
        label = f"#{self.name}" if self.name else self.channel_id
        what = f"{self.kind} {label} ({self.channel_id})"
        if self.status == "skipped":
            return f"{what}: skipped: {self.reason}"
        if self.status == "failed":
            return f"{what}: FAILED after {self.fetched} messages: {self.reason}"
        resumed = f", resumed after {self.resumed_after}" if self.resumed_after else ""
        extra = f" ({self.reason})" if self.reason else ""
        known = f", {self.known} logged before" if self.known else ""
        return (
            f"{what}: {self.fetched} messages fetched, {self.stored} new{known}, {self.requests} requests"
            f"{resumed}{extra}"
        )


@dataclass
class BackfillSummary:
    guild_id: str
    window: Window
    channels: list[ChannelResult] = field(default_factory=list)

    @property
    def fetched(self) -> int:
        return sum(c.fetched for c in self.channels)

    @property
    def stored(self) -> int:
        return sum(c.stored for c in self.channels)

    @property
    def requests(self) -> int:
        return sum(c.requests for c in self.channels)

    @property
    def skipped(self) -> list[ChannelResult]:
        return [c for c in self.channels if c.status == "skipped"]

    @property
    def failed(self) -> list[ChannelResult]:
        return [c for c in self.channels if c.status == "failed"]

    def lines(self) -> list[str]:
        head = (
            f"guild {self.guild_id}, {self.window.describe()}: {self.fetched} messages fetched, {self.stored} new, "
            f"{self.requests} requests; {len(self.skipped)} skipped, {len(self.failed)} failed"
        )
        return [head, *("  " + c.line() for c in self.channels)]


Progress = Callable[[ChannelResult, int], None]


class Backfill:
    """Pages one guild's history into `sink`. `clock` dates the captures; `progress(channel, n)` hears
    of each page stored (n messages) and of each channel finished (n = 0). `known`: where creates stored
    under an older event id are found (None: every message goes to the sink, whose own read decides)."""

    def __init__(
        self,
        rest: HistoryClient,
        sink: Sink,
        checkpoints: Checkpoints | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        progress: Progress | None = None,
        known: KnownCreates | None = None,
    ) -> None:
        self.rest = rest
        self.sink = sink
        self.known = known
        self.checkpoints = checkpoints or MemoryCheckpoints()
        self.clock = clock
        self.progress = progress

    def run(
        self, guild_id: str, window: Window = Window(), channel_ids: Iterable[str] | None = None
    ) -> BackfillSummary:
        """Backfill `guild_id` over `window`, every readable channel or only `channel_ids` (and their threads).

        Raises DiscordApiError only when the guild's channels cannot be listed at all.
        """
        summary = BackfillSummary(guild_id, window)
        wanted = set(channel_ids) if channel_ids else None
        listing = ChannelResult(guild_id, kind="listing", status="done")
        summary.channels.append(listing)
        channels = self._call(
            listing,
            guild_id,
            "GET",
            "/guilds/{guild_id}/channels",
            {},
            guild_id,
            lambda: self.rest.get_guild_channels(guild_id),
        )
        if not isinstance(channels, list):
            raise DiscordApiError(f"Discord's channel list of guild {guild_id} is not a list", guild_id=guild_id)
        channels = [c for c in channels if isinstance(c, dict) and str(c.get("id", "")).isdigit()]
        for channel in self._targets(guild_id, channels, window, wanted, summary, listing):
            result = ChannelResult(
                str(channel["id"]),
                name=str(channel.get("name") or ""),
                kind="thread" if channel.get("type") in THREAD_TYPES else "channel",
                parent_id=str(channel["parent_id"]) if channel.get("parent_id") else None,
            )
            summary.channels.append(result)
            self._channel(guild_id, channel, window, result)
            if self.progress is not None:
                self.progress(result, 0)
        return summary

    # -- which channels

    def _targets(
        self,
        guild_id: str,
        channels: list[dict[str, Any]],
        window: Window,
        wanted: set[str] | None,
        summary: BackfillSummary,
        listing: ChannelResult,
    ) -> list[dict[str, Any]]:
        """The guild's message channels, then its threads (active, then archived), each once."""
        chosen: dict[str, dict[str, Any]] = {}
        for channel in sorted(channels, key=lambda c: (c.get("position") or 0, str(c.get("id")))):
            if channel.get("type") in MESSAGE_TYPES and (wanted is None or str(channel.get("id")) in wanted):
                chosen[str(channel["id"])] = channel
        active = self._call(
            listing,
            guild_id,
            "GET",
            "/guilds/{guild_id}/threads/active",
            {},
            guild_id,
            lambda: self.rest.get_active_threads(guild_id),
        )
        threads = _objects((active or {}).get("threads") if isinstance(active, dict) else None)
        for parent in channels:
            if parent.get("type") not in THREAD_PARENT_TYPES:
                continue
            if wanted is not None and str(parent.get("id")) not in wanted:
                continue
            for private in (False, True):
                if private and parent.get("type") not in PRIVATE_THREAD_PARENT_TYPES:
                    continue
                threads.extend(self._archived(guild_id, parent, private, window, summary, listing))
        for thread in threads:
            thread_id, parent_id = str(thread.get("id")), str(thread.get("parent_id") or "")
            if wanted is not None and thread_id not in wanted and parent_id not in wanted:
                continue
            chosen.setdefault(thread_id, thread)
        return list(chosen.values())

    def _archived(
        self,
        guild_id: str,
        parent: dict[str, Any],
        private: bool,
        window: Window,
        summary: BackfillSummary,
        listing: ChannelResult,
    ) -> list[dict[str, Any]]:
        """A channel's archived threads (public or private), newest archived first, down to the window's start:
        a thread archived before it (and still archived) has had no message since."""
        parent_id = str(parent["id"])
        kind = "private" if private else "public"
        refused = ChannelResult(parent_id, name=str(parent.get("name") or ""), kind=f"{kind} archived threads of")
        found: list[dict[str, Any]] = []
        before: str | None = None
        while True:
            params = {"limit": str(PAGE_LIMIT), **({"before": before} if before else {})}
            route = f"/channels/{{channel_id}}/threads/archived/{kind}"
            try:
                page = self._call(
                    listing,
                    guild_id,
                    "GET",
                    route,
                    params,
                    parent_id,
                    partial(self.rest.get_archived_threads, parent_id, private=private, before=before),
                )
            except DiscordTargetGoneError as exc:
                refused.status, refused.reason = "skipped", _refusal(exc, private)
                summary.channels.append(refused)
                return found
            except DiscordApiError as exc:
                refused.status, refused.reason = "failed", exc.message
                summary.channels.append(refused)
                return found
            threads = _objects(page.get("threads") if isinstance(page, dict) else None)
            found.extend(threads)
            stamps = [str((t.get("thread_metadata") or {}).get("archive_timestamp") or "") for t in threads]
            oldest = min((s for s in stamps if s), default="")
            if not isinstance(page, dict) or not page.get("has_more") or not threads or not oldest or oldest == before:
                return found
            if window.after is not None and oldest < iso(window.after):
                return found
            before = oldest

    # -- one channel

    def _channel(self, guild_id: str, channel: dict[str, Any], window: Window, result: ChannelResult) -> None:
        channel_id = result.channel_id
        last_id, done = self.checkpoints.get(channel_id)
        if done:
            result.status, result.reason = "already done", "finished by an earlier run"
            return
        low = snowflake_at(window.after) - 1 if window.after else 0
        high = snowflake_at(window.before) if window.before else None
        newest = str(channel.get("last_message_id") or "")
        if not newest.isdigit() or int(newest) <= low:
            # Discord's own note of the channel's newest message: nothing newer than the window's start.
            result.status, result.reason = "done", "no message in the window"
            self.checkpoints.set(channel_id, last_id, True)
            return
        cursor = low
        if last_id is not None and last_id.isdigit() and int(last_id) > cursor:
            cursor = int(last_id)
            result.resumed_after = last_id
        while True:
            params = {"after": str(cursor), "limit": str(PAGE_LIMIT)}
            try:
                page = self._call(
                    result,
                    guild_id,
                    "GET",
                    "/channels/{channel_id}/messages",
                    params,
                    channel_id,
                    partial(self.rest.get_channel_messages, channel_id, after=str(cursor)),
                )
            except DiscordTargetGoneError as exc:
                result.status, result.reason = "skipped", _refusal(exc)
                return
            except DiscordApiError as exc:
                result.status, result.reason = "failed", exc.message
                return
            page = page if isinstance(page, list) else []  # not a page of messages: nothing more to read
            messages = sorted((m for m in page if _message_id(m)), key=lambda m: int(m["id"]))
            in_window = [m for m in messages if int(m["id"]) > cursor and (high is None or int(m["id"]) < high)]
            if in_window:
                result.stored += self._store(guild_id, channel_id, in_window, result)
                result.fetched += len(in_window)
                result.pages += 1
                cursor = int(in_window[-1]["id"])
                self.checkpoints.set(channel_id, str(cursor), False)
                if self.progress is not None:
                    self.progress(result, len(in_window))
            past_window = high is not None and any(int(m["id"]) >= high for m in messages)
            # Discord's note of the newest message saves the empty page a full last page would need.
            reached_newest = cursor >= int(newest)
            if len(page) < PAGE_LIMIT or past_window or not in_window or reached_newest:
                break
        result.status = "done"
        self.checkpoints.set(channel_id, str(cursor) if cursor > low else last_id, True)

    def _store(self, guild_id: str, channel_id: str, page: list[dict[str, Any]], result: ChannelResult) -> int:
        """One page of messages into the sink, as one batch, less those whose create is stored under an
        older event id; how many were new to the hot table."""
        # Named by the whole page, whatever is left out: a retried page is the same batch.
        batch_id = f"backfill-{channel_id}-{page[0]['id']}-{page[-1]['id']}"
        known = self.known.stored_elsewhere(guild_id, channel_id, page) if self.known is not None else set()
        result.known += len(known)
        messages = [m for m in page if str(m["id"]) not in known]
        if not messages:
            return 0
        received = iso(self.clock())
        events = [
            {
                "t": "MESSAGE_CREATE",
                "received_at": received,
                "source": SOURCE,
                "id": str(m["id"]),
                "d": {**m, "guild_id": guild_id, "channel_id": str(m.get("channel_id") or channel_id)},
            }
            for m in messages
        ]
        relay = {"name": "guildlog-backfill", "version": __version__}
        envelope = Envelope.model_validate({"v": 1, "batch_id": batch_id, "relay": relay, "events": events})
        answer = self.sink.ingest(envelope, events)
        return int(getattr(answer, "accepted", len(events)))

    # -- every call, captured

    def _call(
        self,
        result: ChannelResult,
        guild_id: str,
        method: str,
        route: str,
        params: dict[str, str],
        major: str,
        call: Callable[[], Any],
    ) -> Any:
        """Make one request; keep its answer in `raw/` as a REST capture (also a refusal, with its status)."""
        result.requests += 1
        fetched = self.clock()
        try:
            answer = call()
        except DiscordApiError as exc:
            status = exc.fields.get("status")
            if isinstance(status, int):
                body = {"code": exc.fields.get("code"), "message": exc.message}
                self._capture(guild_id, method, route, params, major, fetched, status, body)
            raise
        self._capture(guild_id, method, route, params, major, fetched, 200, answer)
        return answer

    def _capture(
        self,
        guild_id: str,
        method: str,
        route: str,
        params: dict[str, str],
        major: str,
        fetched: datetime,
        status: int,
        body: Any,
    ) -> None:
        path = route.replace("{guild_id}", major).replace("{channel_id}", major)
        request = {"method": method, "route": route, "path": path, "params": params}
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(json.dumps(request, sort_keys=True).encode() + b"\n" + text.encode()).hexdigest()
        event = {
            "source": CAPTURE_SOURCE,
            "kind": "rest_capture",
            "guild_id": guild_id,
            "request": request,
            "fetched_at": iso(fetched),
            "status": status,
            "response": body,
        }
        batch_id = f"rest-{major}-{digest[:24]}"
        line = {
            "event_id": f"rest:{digest[:40]}",
            "batch_id": batch_id,
            "relay": {"name": "guildlog-backfill", "version": __version__},
            "event": event,
        }
        self.sink.archive.put(object_key("raw", partition_day(fetched), batch_id), json.dumps(line) + "\n")


def _objects(value: Any) -> list[dict[str, Any]]:
    """The channel objects of a listing: anything that is not one (no numeric id) is left out."""
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, dict) and str(v.get("id", "")).isdigit()]


def _message_id(message: Any) -> bool:
    return isinstance(message, dict) and str(message.get("id", "")).isdigit()


def _refusal(exc: DiscordApiError, private: bool = False) -> str:
    status, code = exc.fields.get("status"), exc.fields.get("code")
    if status == 403:
        what = "needs Manage Threads" if private else "the bot cannot read it"
        return f"{what} (403{f', code {code}' if code else ''})"
    if status == 404:
        return f"gone (404{f', code {code}' if code else ''})"
    return exc.message
