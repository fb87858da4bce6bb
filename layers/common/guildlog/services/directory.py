"""The directory: the current state of each guild, channel, thread, role, member (with their user's
names), voice state and invite, with its history, and the before → after that updates need.

Pure: events in, rows and items out. Storage is a port (`DirectoryStore`), implemented on DynamoDB
by adapters/dynamodb_store.py and in memory by the tests. Keys (docs/design.md, "DynamoDB keys"):

- `G#<guild>#DIR` / `<K>#<id>`: the current snapshot of one entity (`GUILD`, `C#` channel or thread,
  `R#` role, `M#` member and user, `V#` voice state, `I#` invite), written only by a newer event
  (conditional on its `at`, event time then event id), so retried and out-of-order batches end in
  the same snapshot.
- `G#<guild>#DIR` / `H#<K>#<id>#<at>#<event_id>`: one version per change, keyed by the event, so
  a retry writes the same items; the before of an event older than the snapshot is read from here.
- `G#<guild>#DIR` / `VSEED`: when the guild's voice states were last seeded (GUILD_CREATE lists
  everyone in voice, so afterwards a member without a voice snapshot is known to be out of voice).
- `G#<guild>#DIR` / `A#<user>` and `L#<user>`: the latest kick or ban of a user (from the audit
  log) and the latest removal of a member, so whichever of the two arrives second links them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from guildlog.models.row import EventRow
from guildlog.services.timefmt import parse_time

Item = dict[str, Any]
State = dict[str, Any]

GUILD_SK = "GUILD"
VOICE_SEED_SK = "VSEED"
# A remove and its audit-log entry are the same act when this close (Discord sends both within a
# second or two; the entry's id is the act's moment, the remove is dated by its arrival).
REMOVAL_LINK_SECONDS = 30
# Members seeded from one event: Discord sends at most 1,000 per GUILD_MEMBERS_CHUNK and lists only a
# small guild's members in GUILD_CREATE; a bigger list is cut here so one event cannot hold an ingest
# for minutes (the raw archive keeps it whole, and the row says how many were left out).
MAX_SEEDED_MEMBERS = 1_000
# Deleted entities and departed members keep their last names this long, for the archive's readers.
DELETED_TTL_DAYS = 90

# Tracked fields per kind: what a moderator wants to see change (positions are left out: one
# reordering would report every channel as changed).
KIND_PREFIX = {"guild": "GUILD", "channel": "C", "role": "R", "member": "M", "voice": "V", "invite": "I"}
_GUILD_FIELDS = (
    "name",
    "icon",
    "owner_id",
    "description",
    "vanity_url_code",
    "afk_channel_id",
    "system_channel_id",
    "verification_level",
    "explicit_content_filter",
)
_CHANNEL_FIELDS = ("name", "type", "parent_id", "topic", "nsfw", "rate_limit_per_user", "bitrate", "user_limit")
_ROLE_FIELDS = ("name", "color", "permissions", "hoist", "mentionable", "icon", "unicode_emoji")
_VOICE_FIELDS = ("channel_id", "mute", "deaf", "self_mute", "self_deaf", "self_stream", "self_video", "suppress")
AVATAR_HASH = re.compile(r"^(a_)?[0-9a-f]{32}$")
_INVITE_FIELDS = ("channel_id", "inviter_id", "uses", "max_uses", "max_age", "temporary", "expires_at")


class DirectoryStore(Protocol):
    """What the directory reads and writes. Every read is a GetItem/BatchGetItem or a Query."""

    def snapshots(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Item]: ...

    def version_before(self, pk: str, prefix: str, below: str) -> Item | None:
        """The newest item of `pk` whose SK starts with `prefix` and sorts below `below`."""
        ...

    def put_snapshots(self, items: list[Item]) -> None:
        """Write each item unless the stored one is newer (`at`, then `event_id`)."""
        ...

    def put_items(self, items: list[Item]) -> int: ...


class InviteLister(Protocol):
    """`GET /guilds/{id}/invites`: the guild's invites with their use counts; None without Manage Guild."""

    def list_invites(self, guild_id: str) -> list[dict[str, Any]] | None: ...


def dir_pk(guild_id: str) -> str:
    return f"G#{guild_id}#DIR"


def snapshot_sk(kind: str, entity_id: str) -> str:
    return GUILD_SK if kind == "guild" else f"{KIND_PREFIX[kind]}#{entity_id}"


def version_prefix(kind: str, entity_id: str) -> str:
    return f"H#{snapshot_sk(kind, entity_id)}#"


def version_sk(kind: str, entity_id: str, at: str, event_id: str) -> str:
    return f"{version_prefix(kind, entity_id)}{at}#{event_id}"


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _id(value: Any) -> str | None:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    return text if isinstance(text, str) and text.isascii() and text.isdigit() and 15 <= len(text) <= 21 else None


def _state_json(state: State) -> str:
    return json.dumps(state, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


@dataclass
class Observation:
    """What one event says about one entity. `complete`: the payload is the whole state (else its
    fields are merged into the known state); `primary`: the row's `changes` come from it."""

    kind: str
    guild_id: str
    entity_id: str
    state: State
    complete: bool = True
    primary: bool = False
    creates: bool = False
    deletes: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return dir_pk(self.guild_id), snapshot_sk(self.kind, self.entity_id)

    @property
    def seeds(self) -> bool:
        """Restates an entity in passing (GUILD_CREATE, GUILD_MEMBERS_CHUNK, THREAD_LIST_SYNC)."""
        return self.complete and not (self.primary or self.creates or self.deletes)


def _pick(data: dict[str, Any], names: Iterable[str]) -> State:
    return {name: data.get(name) for name in names}


def _channel_state(data: dict[str, Any]) -> State:
    state = _pick(data, _CHANNEL_FIELDS)
    meta = _obj(data.get("thread_metadata"))
    if meta:
        state["archived"] = meta.get("archived")
        state["locked"] = meta.get("locked")
    return state


def _user_state(user: dict[str, Any]) -> State:
    state: State = {"username": user.get("username"), "global_name": user.get("global_name")}
    if user.get("bot"):
        state["bot"] = True
    # The user's own avatar (a member's `avatar` is their server avatar): the web viewer shows it from
    # Discord's CDN. Kept only when the payload carries one, so states without it are unchanged.
    if isinstance(user.get("avatar"), str) and AVATAR_HASH.match(user["avatar"]):
        state["user_avatar"] = user["avatar"]
    return state


def _member_state(member: dict[str, Any]) -> State:
    roles = sorted(str(r) for r in _list(member.get("roles")))
    return {
        **_user_state(_obj(member.get("user"))),
        "nick": member.get("nick"),
        "roles": roles,
        "avatar": member.get("avatar"),
        "communication_disabled_until": member.get("communication_disabled_until"),
    }


def _partial_member(guild_id: str, user: dict[str, Any], member: dict[str, Any] | None = None) -> list[Observation]:
    user_id = _id(user.get("id"))
    if user_id is None or not isinstance(user.get("username"), str):
        return []
    state = _user_state(user)
    if member:
        if "nick" in member:
            state["nick"] = member.get("nick")
        if isinstance(member.get("roles"), list):
            state["roles"] = sorted(str(r) for r in member["roles"])
    return [Observation("member", guild_id, user_id, state, complete=False)]


def _seed(guild_id: str, data: dict[str, Any]) -> list[Observation]:
    found = [Observation("guild", guild_id, guild_id, _pick(data, _GUILD_FIELDS))]
    for channel in [*_list(data.get("channels")), *_list(data.get("threads"))]:
        if (cid := _id(_obj(channel).get("id"))) is not None:
            found.append(Observation("channel", guild_id, cid, _channel_state(channel)))
    for role in _list(data.get("roles")):
        if (rid := _id(_obj(role).get("id"))) is not None:
            found.append(Observation("role", guild_id, rid, _pick(role, _ROLE_FIELDS)))
    for member in _list(data.get("members"))[:MAX_SEEDED_MEMBERS]:
        if (uid := _id(_obj(_obj(member).get("user")).get("id"))) is not None:
            found.append(Observation("member", guild_id, uid, _member_state(member)))
    for voice in _list(data.get("voice_states")):
        if (uid := _id(_obj(voice).get("user_id"))) is not None:
            found.append(Observation("voice", guild_id, uid, _pick(voice, _VOICE_FIELDS)))
    return found


def observe(event_type: str, data: Any, guild_id: str | None) -> list[Observation]:
    """Every entity state this dispatch carries. Unknown types and events outside a guild carry none."""
    d = _obj(data)
    if event_type == "GUILD_CREATE":
        gid = _id(d.get("id"))
        return _seed(gid, d) if gid and not d.get("unavailable") else []
    if guild_id is None:
        return []
    g = guild_id
    if event_type == "GUILD_UPDATE":
        return [Observation("guild", g, g, _pick(d, _GUILD_FIELDS), primary=True)]
    if event_type in ("CHANNEL_CREATE", "CHANNEL_UPDATE", "CHANNEL_DELETE", "THREAD_CREATE", "THREAD_UPDATE"):
        cid = _id(d.get("id"))
        verb = event_type.split("_")[1]
        if cid is None:
            return []
        return [
            Observation(
                "channel",
                g,
                cid,
                _channel_state(d),
                primary=verb != "CREATE",
                creates=verb == "CREATE",
                deletes=verb == "DELETE",
            )
        ]
    if event_type == "THREAD_DELETE":
        cid = _id(d.get("id"))
        return [Observation("channel", g, cid, {}, complete=False, primary=True, deletes=True)] if cid else []
    if event_type == "THREAD_LIST_SYNC":
        threads = [_obj(t) for t in _list(d.get("threads"))]
        return [Observation("channel", g, cid, _channel_state(t)) for t in threads if (cid := _id(t.get("id")))]
    if event_type in ("GUILD_ROLE_CREATE", "GUILD_ROLE_UPDATE", "GUILD_ROLE_DELETE"):
        role = _obj(d.get("role"))
        rid = _id(role.get("id") or d.get("role_id"))
        if rid is None:
            return []
        verb = event_type.rsplit("_", 1)[1]
        state = _pick(role, _ROLE_FIELDS) if role else {}
        return [
            Observation(
                "role",
                g,
                rid,
                state,
                complete=bool(role),
                primary=verb != "CREATE",
                creates=verb == "CREATE",
                deletes=verb == "DELETE",
            )
        ]
    if event_type in ("GUILD_MEMBER_ADD", "GUILD_MEMBER_UPDATE"):
        uid = _id(_obj(d.get("user")).get("id"))
        if uid is None:
            return []
        adds = event_type == "GUILD_MEMBER_ADD"
        return [Observation("member", g, uid, _member_state(d), primary=not adds, creates=adds)]
    if event_type == "GUILD_MEMBER_REMOVE":
        user = _obj(d.get("user"))
        uid = _id(user.get("id"))
        if uid is None:
            return []
        state = _user_state(user) if isinstance(user.get("username"), str) else {}
        return [Observation("member", g, uid, state, complete=False, primary=True, deletes=True)]
    if event_type == "GUILD_MEMBERS_CHUNK":
        members = [_obj(m) for m in _list(d.get("members"))[:MAX_SEEDED_MEMBERS]]
        found = []
        for member in members:
            if (uid := _id(_obj(member.get("user")).get("id"))) is not None:
                found.append(Observation("member", g, uid, _member_state(member)))
        return found
    if event_type in ("MESSAGE_CREATE", "MESSAGE_UPDATE"):
        if d.get("webhook_id"):
            return []  # the author is the webhook's name of the moment, not a user
        return _partial_member(g, _obj(d.get("author")), _obj(d.get("member")) or None)
    if event_type in ("MESSAGE_REACTION_ADD", "INTERACTION_CREATE", "TYPING_START"):
        member = _obj(d.get("member"))
        return _partial_member(g, _obj(member.get("user")), member or None)
    if event_type in ("GUILD_BAN_ADD", "GUILD_BAN_REMOVE"):
        return _partial_member(g, _obj(d.get("user")))
    if event_type == "VOICE_STATE_UPDATE":
        uid = _id(d.get("user_id"))
        if uid is None:
            return []
        member = _obj(d.get("member"))
        found = [Observation("voice", g, uid, _pick(d, _VOICE_FIELDS), primary=True)]
        return found + _partial_member(g, _obj(member.get("user")), member or None)
    if event_type in ("INVITE_CREATE", "INVITE_DELETE"):
        code = d.get("code")
        if not isinstance(code, str) or not code:
            return []
        if event_type == "INVITE_DELETE":
            return [Observation("invite", g, code, {}, complete=False, primary=True, deletes=True)]
        inviter = _obj(d.get("inviter"))
        state = {**_pick(d, _INVITE_FIELDS), "inviter_id": _id(inviter.get("id"))}
        return [Observation("invite", g, code, state, creates=True), *_partial_member(g, inviter)]
    return []


# --- the before → after ------------------------------------------------------------------------


def diff(before: State | None, after: State | None, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """`{"<field>": {"before", "after"}, "unknown": [...]}` of the fields that differ. `before` None:
    every field of `after` is unknown; `after` None (deleted): every known field goes to null."""
    changes: dict[str, Any] = {}
    unknown: list[str] = []
    names = list(fields) if fields is not None else sorted(set(before or {}) | set(after or {}))
    for name in names:
        new = (after or {}).get(name)
        if before is None:
            if after is not None and new is not None:
                unknown.append(name)
                changes[name] = {"before": None, "after": new}
            continue
        if name not in before:
            if after is not None and new is not None:
                unknown.append(name)
                changes[name] = {"before": None, "after": new}
            continue
        old = before.get(name)
        if old != new and not (after is None and old is None):
            changes[name] = {"before": old, "after": new}
    if unknown:
        changes["unknown"] = unknown
    return changes


def voice_action(before: State | None, after: State) -> str:
    """join, move, leave, mute, unmute, deafen, undeafen; `state` when the before is unknown (or only
    streaming, video or suppression changed)."""
    channel = after.get("channel_id")
    if channel is None:
        return "leave"
    if before is None:
        return "state"
    if before.get("channel_id") is None:
        return "join"
    if before.get("channel_id") != channel:
        return "move"

    def flag(state: State, *names: str) -> bool:
        return any(bool(state.get(n)) for n in names)

    if flag(before, "deaf", "self_deaf") != flag(after, "deaf", "self_deaf"):
        return "deafen" if flag(after, "deaf", "self_deaf") else "undeafen"
    if flag(before, "mute", "self_mute") != flag(after, "mute", "self_mute"):
        return "mute" if flag(after, "mute", "self_mute") else "unmute"
    return "state"


# --- resolving a batch -------------------------------------------------------------------------


@dataclass
class _Known:
    state: State | None  # None: deleted or left
    at: str
    event_id: str
    # The state just before this one, kept on the snapshot: a retried event reads its before here.
    prev: State | None = None
    prev_known: bool = False
    prev_since: tuple[str, str] = ("", "")  # (at, event_id) of the event that made `prev`


@dataclass
class Resolution:
    """The rows with their `changes` (and refined voice actions and removal details), and the items to write."""

    rows: list[EventRow]
    snapshots: list[Item] = field(default_factory=list)
    # Snapshots read as absent or older and seeds: written in batches (a GUILD_CREATE seeds
    # hundreds), without a condition: safe because one shard's batches arrive one after the other.
    new_snapshots: list[Item] = field(default_factory=list)
    versions: list[Item] = field(default_factory=list)
    # Counter corrections: a leave counted before its kick/ban entry arrived is taken back
    # (audit entry's event id → the remove's guild and day).
    leave_corrections: dict[str, tuple[str, str]] = field(default_factory=dict)


def _at(row: EventRow) -> str:
    return row.occurred_at


def _ttl(at: str, days: int) -> int:
    moment = parse_time(at)
    return int(moment.timestamp()) + days * 86_400 if moment else 0


def _compact(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True, default=str)


class Directory:
    """Resolves a batch's rows against the stored directory; `store` is a DirectoryStore."""

    def __init__(self, store: DirectoryStore, invites: InviteLister | None = None) -> None:
        self.store = store
        self.invites = invites

    def resolve(self, events: list[tuple[EventRow, Any]], retention_days: dict[str, int]) -> Resolution:
        """`events`: each row with its event's `d`. Rows come back in the same order."""
        observed: list[tuple[EventRow, Observation]] = []
        updates: dict[str, dict[str, Any]] = {}
        for row, data in events:
            for obs in observe(row.event_type, data, row.guild_id):
                observed.append((row, obs))
            listed = len(_list(_obj(data).get("members")))
            if row.event_type in ("GUILD_CREATE", "GUILD_MEMBERS_CHUNK") and listed > MAX_SEEDED_MEMBERS:
                details = json.loads(row.details)
                details["directory_members_left_out"] = listed - MAX_SEEDED_MEMBERS
                updates[row.event_id] = {"details": _compact(details)}
        rows = {row.event_id: row for row, _ in events}
        resolution = Resolution(rows=[])
        if observed:
            self._apply(observed, updates, resolution, retention_days)
        self._link_removals([row for row, _ in events], updates, resolution)
        if self.invites is not None:
            self._attribute_joins([row for row, _ in events], updates, resolution)
        for row, _ in events:
            patch = updates.get(row.event_id)
            resolution.rows.append(rows[row.event_id].model_copy(update=patch) if patch else rows[row.event_id])
        return resolution

    # -- snapshots and versions

    def _apply(
        self,
        observed: list[tuple[EventRow, Observation]],
        updates: dict[str, dict[str, Any]],
        resolution: Resolution,
        retention_days: dict[str, int],
    ) -> None:
        names = [(row, obs) for row, obs in observed if not obs.complete and not obs.deletes]
        observed = [(row, obs) for row, obs in observed if obs.complete or obs.deletes]
        keys = {obs.key for _, obs in observed}
        keys |= {(dir_pk(o.guild_id), VOICE_SEED_SK) for _, o in observed if o.kind == "voice"}
        keys |= {_names_key(o) for _, o in names}
        stored = self.store.snapshots(sorted(keys))
        self._names(names, stored, resolution)
        known: dict[tuple[str, str], _Known] = {}
        for key, found_item in stored.items():
            live = found_item.get("state") and not found_item.get("deleted")
            state = json.loads(found_item["state"]) if live else None
            prev = json.loads(found_item["prev"]) if found_item.get("prev") else None
            since = (str(found_item.get("prev_at", "")), str(found_item.get("prev_event_id", "")))
            at_eid = (str(found_item.get("at", "")), str(found_item.get("event_id", "")))
            known[key] = _Known(state, *at_eid, prev, "prev" in found_item, since)
        seeds = {key[0]: k.at for key, k in known.items() if key[1] == VOICE_SEED_SK}
        newest: dict[tuple[str, str], tuple[_Known, Observation]] = {}
        observed.sort(key=lambda pair: (_at(pair[0]), pair[0].event_id))
        for row, obs in observed:
            at, eid = _at(row), row.event_id
            current = known.get(obs.key)
            if current is not None and (current.at, current.event_id) < (at, eid):
                before, found = current.state, True
            elif (
                current is not None
                and current.prev_known
                and current.prev_since < (at, eid) <= (current.at, current.event_id)
            ):
                # This very event delivered again, or a late one that falls just before the snapshot's.
                before, found = current.prev, True
            else:
                before, found = self._before(obs, at, eid, current)
            if not found and obs.kind == "voice":
                seeded = seeds.get(dir_pk(obs.guild_id))
                if seeded is not None and seeded < at:
                    before, found = {"channel_id": None}, True  # seeded since, never seen in voice: out of it
            if obs.creates:
                before, found = None, True
            after = None if obs.deletes else dict(obs.state)
            if obs.primary:
                self._record_change(row, obs, before if found else None, found, after, updates)
            if row.event_type == "GUILD_CREATE" and obs.kind == "guild":
                seeds[dir_pk(obs.guild_id)] = at
                resolution.snapshots.append(
                    {"PK": dir_pk(obs.guild_id), "SK": VOICE_SEED_SK, "kind": "dir_seed", "at": at, "event_id": eid}
                )
            if obs.seeds and found and before == obs.state:
                continue  # a reconnect's GUILD_CREATE restating what is known costs no write
            if not obs.seeds:
                # One version per update, holding only what that event said: the same items whatever
                # order the events arrive in, and the history a late event's before is read from.
                # Seeds (thousands of members in one GUILD_CREATE) keep only the snapshot.
                days = retention_days.get(obs.guild_id, 30)
                resolution.versions.append(self._version(obs, obs.state, at, eid, days))
            if current is None or (current.at, current.event_id) < (at, eid):
                # A delete keeps the last names, so the archive's readers can still name what is gone.
                kept = {**(before or {}), **obs.state} if obs.deletes else after
                prev = before if found else None
                since = (current.at, current.event_id) if current is not None else ("", "")
                known[obs.key] = _Known(None if obs.deletes else kept, at, eid, prev, found, since)
                newest[obs.key] = (_Known(kept, at, eid, prev, found, since), obs)
        for key, (entry, obs) in newest.items():
            if key in stored and (stored[key].get("at"), stored[key].get("event_id")) == (entry.at, entry.event_id):
                continue  # written by an earlier delivery of this event
            item: Item = {
                "PK": key[0],
                "SK": key[1],
                "kind": f"dir_{obs.kind}",
                "id": obs.entity_id,
                "state": _state_json(entry.state or {}),
                "at": entry.at,
                "event_id": entry.event_id,
            }
            if entry.prev_known:
                item["prev"] = _state_json(entry.prev) if entry.prev is not None else ""
                item["prev_at"], item["prev_event_id"] = entry.prev_since
            if obs.deletes:
                item["deleted"] = True
                item["expires_at"] = _ttl(entry.at, DELETED_TTL_DAYS)
            (resolution.new_snapshots if key not in stored or obs.seeds else resolution.snapshots).append(item)

    @staticmethod
    def _names(
        names: list[tuple[EventRow, Observation]], stored: dict[tuple[str, str], Item], resolution: Resolution
    ) -> None:
        """Names seen in passing (a message's author, a reaction's member) go to `N#<user>`, dated by the
        hour: at most one write per user per hour, and the newest hour wins whatever the order."""
        newest: dict[tuple[str, str], tuple[str, State]] = {}
        for row, obs in sorted(names, key=lambda pair: (_at(pair[0]), pair[0].event_id)):
            key = _names_key(obs)
            hour = _at(row)[:13]
            if key not in newest or newest[key][0] <= hour:
                newest[key] = (hour, {**newest.get(key, ("", {}))[1], **obs.state})
        for key, (hour, state) in newest.items():
            previous = stored.get(key)
            if previous is not None and (
                previous.get("at", "") > hour
                or (previous.get("at") == hour and json.loads(previous.get("state") or "{}") == state)
            ):
                continue
            resolution.snapshots.append(
                {
                    "PK": key[0],
                    "SK": key[1],
                    "kind": "dir_names",
                    "id": key[1][2:],
                    "state": _state_json(state),
                    "at": hour,
                    "event_id": "~",
                }
            )

    def _before(self, obs: Observation, at: str, eid: str, current: _Known | None) -> tuple[State | None, bool]:
        """The state just before (at, eid) from the history, when the snapshot is this event's or newer."""
        if current is None:
            return None, False
        version = self.store.version_before(
            dir_pk(obs.guild_id),
            version_prefix(obs.kind, obs.entity_id),
            version_sk(obs.kind, obs.entity_id, at, eid),
        )
        if version is None:
            return None, False
        if version.get("deleted"):
            return None, True
        return json.loads(version["state"]), True

    @staticmethod
    def _version(obs: Observation, state: State | None, at: str, eid: str, days: int) -> Item:
        item: Item = {
            "PK": dir_pk(obs.guild_id),
            "SK": version_sk(obs.kind, obs.entity_id, at, eid),
            "kind": "dir_version",
            "state": _state_json(state or {}),
            "at": at,
            "event_id": eid,
            "expires_at": _ttl(at, max(days, DELETED_TTL_DAYS)),
        }
        if obs.deletes:
            item["deleted"] = True
        return item

    @staticmethod
    def _record_change(
        row: EventRow,
        obs: Observation,
        before: State | None,
        found: bool,
        after: State | None,
        updates: dict[str, dict[str, Any]],
    ) -> None:
        patch = updates.setdefault(row.event_id, {})
        if obs.kind == "voice":
            patch["action"] = voice_action(before if found else None, after or {})
        if obs.deletes:
            if not found:
                patch["changes"] = _compact({"unknown": sorted(obs.state) or ["*"]})
                return
            gone = {k: {"before": v, "after": None} for k, v in sorted((before or {}).items()) if v not in (None, [])}
            patch["changes"] = _compact(gone) if gone else None
            return
        changes = diff(before if found else None, after)
        patch["changes"] = _compact(changes) if changes else None

    # -- kicks and bans: a removal and its audit-log entry, whichever arrives first

    def _link_removals(self, rows: list[EventRow], updates: dict[str, dict[str, Any]], resolution: Resolution) -> None:
        removes = [r for r in rows if r.event_type == "GUILD_MEMBER_REMOVE" and r.guild_id and r.user_id]
        audits = [
            r
            for r in rows
            if r.event_type == "GUILD_AUDIT_LOG_ENTRY_CREATE"
            and r.action in ("member_kick", "member_ban_add")
            and r.guild_id
            and r.target_id
        ]
        if not removes and not audits:
            return
        keys = {(dir_pk(str(r.guild_id)), f"A#{r.user_id}") for r in removes}
        keys |= {(dir_pk(str(r.guild_id)), f"L#{r.target_id}") for r in audits}
        stored = self.store.snapshots(sorted(keys))
        acts: dict[tuple[str, str], Item] = {}
        for audit in audits:
            act = _act_item(audit)
            acts[(act["PK"], act["SK"])] = act
            resolution.snapshots.append(act)
        for remove in removes:
            key = (dir_pk(str(remove.guild_id)), f"A#{remove.user_id}")
            removed_by = _removed_by(acts.get(key) or stored.get(key), remove.occurred_at)
            if removed_by is not None:
                details = json.loads(updates.get(remove.event_id, {}).get("details") or remove.details)
                details["removed_by"] = removed_by
                updates.setdefault(remove.event_id, {})["details"] = _compact(details)
            leave: Item = {
                "PK": key[0],
                "SK": f"L#{remove.user_id}",
                "kind": "dir_removal",
                "at": remove.occurred_at,
                "event_id": remove.event_id,
                "counted_as_leave": removed_by is None,
            }
            resolution.snapshots.append(leave)
        for audit in audits:
            key = (dir_pk(str(audit.guild_id)), f"L#{audit.target_id}")
            counted = stored.get(key)
            if (
                counted is None
                or not counted.get("counted_as_leave")
                or not _close(counted.get("at"), audit.occurred_at)
            ):
                continue
            # That remove was counted as a leave before this entry said it was a kick or a ban.
            resolution.leave_corrections[audit.event_id] = (str(audit.guild_id), str(counted["at"])[:10])

    # -- invites

    def _attribute_joins(
        self, rows: list[EventRow], updates: dict[str, dict[str, Any]], resolution: Resolution
    ) -> None:
        # Only live joins: today's invite counts say nothing about an imported or replayed join.
        joins = [
            r for r in rows if r.event_type == "GUILD_MEMBER_ADD" and r.guild_id and r.user_id and r.source == "gateway"
        ]
        for guild_id in sorted({str(r.guild_id) for r in joins}):
            guild_joins = [r for r in joins if r.guild_id == guild_id]
            keys = [(dir_pk(guild_id), f"J#{r.user_id}#{r.occurred_at}") for r in guild_joins]
            done = self.store.snapshots(keys)
            pending = [r for r, k in zip(guild_joins, keys, strict=True) if k not in done]
            for row, key in zip(guild_joins, keys, strict=True):
                if key in done:
                    self._set_invite(row, json.loads(done[key]["invite"]), updates)
            if not pending:
                continue
            assert self.invites is not None
            listed = self.invites.list_invites(guild_id)
            if listed is None:
                continue
            invite = attribute_join(self._stored_invites(guild_id, listed), listed, len(pending))
            for row in pending:
                self._set_invite(row, invite, updates)
                resolution.versions.append(
                    {
                        "PK": dir_pk(guild_id),
                        "SK": f"J#{row.user_id}#{row.occurred_at}",
                        "kind": "dir_join",
                        "invite": _compact(invite),
                        "expires_at": _ttl(row.occurred_at, DELETED_TTL_DAYS),
                    }
                )
            at, eid = max((r.occurred_at, r.event_id) for r in pending)
            for entry in listed:
                code = entry.get("code")
                if isinstance(code, str) and code:
                    state = {**_pick(entry, _INVITE_FIELDS), "inviter_id": _id(_obj(entry.get("inviter")).get("id"))}
                    resolution.snapshots.append(
                        {
                            "PK": dir_pk(guild_id),
                            "SK": snapshot_sk("invite", code),
                            "kind": "dir_invite",
                            "id": code,
                            "state": _state_json(state),
                            "at": at,
                            "event_id": eid,
                        }
                    )

    def _stored_invites(self, guild_id: str, listed: list[dict[str, Any]]) -> dict[str, State]:
        codes = {str(e.get("code")) for e in listed if isinstance(e.get("code"), str)}
        stored = self.store.snapshots(sorted((dir_pk(guild_id), snapshot_sk("invite", c)) for c in codes))
        return {
            str(item["id"]): json.loads(item["state"])
            for item in stored.values()
            if item.get("state") and not item.get("deleted")
        }

    @staticmethod
    def _set_invite(row: EventRow, invite: dict[str, Any], updates: dict[str, dict[str, Any]]) -> None:
        details = json.loads(updates.get(row.event_id, {}).get("details") or row.details)
        details["invite"] = invite
        updates.setdefault(row.event_id, {})["details"] = _compact(details)


def attribute_join(before: dict[str, State], listed: list[dict[str, Any]], joins: int = 1) -> dict[str, Any]:
    """The invite a join used: the one whose use count rose since the stored counts. Two or more
    that rose (or more joins than rises) are stated as ambiguous with the candidates, never guessed;
    none rose: code None (a vanity URL, an invite unknown before, or a one-use invite already gone)."""
    risen: list[dict[str, Any]] = []
    for entry in listed:
        code = entry.get("code")
        uses = entry.get("uses")
        if not isinstance(code, str) or not isinstance(uses, int):
            continue
        old = before.get(code)
        old_uses = old.get("uses") if old else None
        if isinstance(old_uses, int) and uses > old_uses:
            risen.append(entry)
    if len(risen) == 1 and joins == 1:
        entry = risen[0]
        return {"code": entry["code"], "inviter_id": _id(_obj(entry.get("inviter")).get("id")), "ambiguous": False}
    if risen:
        return {
            "code": None,
            "inviter_id": None,
            "ambiguous": True,
            "candidates": sorted(str(e["code"]) for e in risen),
        }
    return {"code": None, "inviter_id": None, "ambiguous": False}


def _names_key(obs: Observation) -> tuple[str, str]:
    return dir_pk(obs.guild_id), f"N#{obs.entity_id}"


def _act_item(audit: EventRow) -> Item:
    return {
        "PK": dir_pk(str(audit.guild_id)),
        "SK": f"A#{audit.target_id}",
        "kind": "dir_moderation",
        "action": "kick" if audit.action == "member_kick" else "ban",
        "actor_id": audit.actor_id,
        "reason": audit.reason,
        "at": audit.occurred_at,
        "event_id": audit.event_id,
    }


def _close(first: Any, second: Any) -> bool:
    a, b = parse_time(first), parse_time(second)
    return a is not None and b is not None and abs((a - b).total_seconds()) <= REMOVAL_LINK_SECONDS


def _removed_by(act: Item | None, removed_at: str) -> dict[str, Any] | None:
    if act is None or not _close(act.get("at"), removed_at):
        return None
    return {"action": act.get("action"), "actor_id": act.get("actor_id"), "reason": act.get("reason")}


# --- names for readers (exports, command answers) -----------------------------------------------


class SnapshotReader(Protocol):
    def snapshots(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Item]: ...


@dataclass
class Names:
    """Current names from the directory; an id it does not know is simply absent."""

    guild: str | None = None
    channels: dict[str, State] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)

    def channel(self, channel_id: str | None) -> str | None:
        name = self.channels.get(str(channel_id), {}).get("name")
        return name if isinstance(name, str) and name else None


def _display(state: State) -> str | None:
    for name in ("nick", "global_name", "username"):
        value = state.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def lookup_names(
    reader: SnapshotReader, guild_id: str, channel_ids: Iterable[str] = (), user_ids: Iterable[str] = ()
) -> Names:
    """The guild's name, these channels' states and these users' display names (one BatchGetItem pass)."""
    pk = dir_pk(guild_id)
    channels = sorted({c for c in channel_ids if c})
    users = sorted({u for u in user_ids if u})
    keys = [(pk, GUILD_SK)] + [(pk, f"C#{c}") for c in channels]
    keys += [(pk, f"{prefix}#{u}") for u in users for prefix in ("M", "N")]
    found = reader.snapshots(keys)
    names = Names()
    guild = found.get((pk, GUILD_SK))
    if guild and guild.get("state"):
        value = json.loads(guild["state"]).get("name")
        names.guild = value if isinstance(value, str) and value else None
    for channel_id in channels:
        item = found.get((pk, f"C#{channel_id}"))
        if item and item.get("state"):
            names.channels[channel_id] = json.loads(item["state"])
    for user_id in users:
        for prefix in ("M", "N"):  # a member's snapshot is complete; names seen in passing fill gaps
            item = found.get((pk, f"{prefix}#{user_id}"))
            shown = _display(json.loads(item["state"])) if item and item.get("state") else None
            if shown:
                names.users[user_id] = shown
                break
    return names
