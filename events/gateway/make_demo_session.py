"""Writes demo-session.jsonl: a recorded gateway session of one small guild across a UTC midnight.

    python events/gateway/make_demo_session.py      # rewrites the .jsonl beside this file

One JSON object per line, as the relay records frames: `{"op","t","s","d","received_at"}`. The
session runs 2026-11-19T23:39:59Z → 2026-11-20T00:25Z: HELLO, READY, GUILD_CREATE, chat with
an attachment, a reply and mentions, edits (one message twice, across midnight), a self-delete
of an edited message, a spammer joining and being cleaned up by a moderator (single delete and
bulk delete with their audit-log entries, a timeout, a ban with a reason), role and channel
changes, reactions, voice join/mute/move/leave, a slash command, typing, an undocumented
dispatch type, and heartbeat ACKs. Every snowflake is made from the moment its object was
created, so message ids agree with their timestamps and audit-log entry ids with their actions.

Deterministic and stdlib only: the same script always writes the same bytes. No tokens appear.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("demo-session.jsonl")
DISCORD_EPOCH = datetime(2015, 1, 1, tzinfo=UTC)
HEARTBEAT_INTERVAL_MS = 41_250
LATENCY = timedelta(milliseconds=87)  # Discord → relay, added to every event's own time

_increment = 0


def snowflake(when: datetime) -> str:
    """A snowflake created at `when` (worker 1, process 0, a running increment)."""
    global _increment
    _increment = (_increment + 1) % 4096
    ms = (when - DISCORD_EPOCH) // timedelta(milliseconds=1)
    return str((ms << 22) | (1 << 17) | _increment)


def at(clock: str, day: int = 19) -> datetime:
    """`at("23:41:05.120")` → 2026-11-<day> at that UTC time."""
    return datetime.fromisoformat(f"2026-11-{day:02d}T{clock}").replace(tzinfo=UTC)


def after_midnight(clock: str) -> datetime:
    return at(clock, day=20)


def discord_time(when: datetime) -> str:
    """How Discord writes times in payloads: microseconds and an explicit offset."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def stamp(when: datetime) -> str:
    """How the relay writes received_at."""
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def avatar_hash(name: str) -> str:
    return hashlib.md5(name.encode(), usedforsecurity=False).hexdigest()


# ---------------------------------------------------------------- the guild and its people

GUILD_ID = snowflake(datetime(2024, 3, 2, 18, 4, 11, 250000, tzinfo=UTC))
GUILD_CREATED = datetime(2024, 3, 2, 18, 4, 11, 250000, tzinfo=UTC)


def _channel_id() -> str:
    return snowflake(GUILD_CREATED + timedelta(milliseconds=3))


CAT_TEXT, GENERAL, RANDOM, MOD_LOG, CAT_VOICE, LOUNGE, GAMING = (_channel_id() for _ in range(7))
ROLE_MODERATOR = snowflake(GUILD_CREATED + timedelta(minutes=2))
ROLE_MEMBER = snowflake(GUILD_CREATED + timedelta(minutes=2, seconds=5))
ROLE_BOT = snowflake(datetime(2026, 10, 1, 9, 30, 2, tzinfo=UTC))
EMOJI_POG = snowflake(datetime(2024, 5, 9, 20, 11, 0, tzinfo=UTC))
ACTIVITY_APP_ID = snowflake(datetime(2021, 3, 25, 17, 0, 0, tzinfo=UTC))


def user(username: str, global_name: str | None, created: datetime, *, bot: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": snowflake(created),
        "username": username,
        "global_name": global_name,
        "discriminator": "0",
        "avatar": avatar_hash(username),
        "public_flags": 0,
        "avatar_decoration_data": None,
        "clan": None,
        "primary_guild": None,
    }
    if bot:
        data.update(bot=True, discriminator="4172", global_name=None)
    return data


BOT = user("guildlog", None, datetime(2026, 10, 1, 9, 12, 40, tzinfo=UTC), bot=True)
APPLICATION_ID = BOT["id"]  # a bot user's id is its application's id
ADA = user("ada.park", "Ada", datetime(2015, 6, 14, 8, 2, 9, tzinfo=UTC))  # an early account: 17 digits
RIN = user("rin_okafor", "Rin", datetime(2017, 3, 2, 21, 40, 0, tzinfo=UTC))
BEX = user("bexley", "Bex", datetime(2019, 8, 20, 14, 15, 30, tzinfo=UTC))
CHIDI = user("chidi.a", "Chidi", datetime(2020, 5, 5, 11, 0, 0, tzinfo=UTC))
DMITRI = user("dmitri_v", None, datetime(2021, 11, 11, 19, 45, 12, tzinfo=UTC))
ZED = user("zed_gifts_4u", "FREE NITRO", datetime(2026, 11, 18, 3, 12, 44, tzinfo=UTC))  # a day-old account
ELI = user("eli.m", "Eli", datetime(2023, 1, 30, 16, 20, 0, tzinfo=UTC))

# (user, roles, joined_at, nick)
MEMBERS: list[tuple[dict[str, Any], list[str], datetime, str | None]] = [
    (ADA, [ROLE_MODERATOR, ROLE_MEMBER], GUILD_CREATED, None),
    (RIN, [ROLE_MODERATOR, ROLE_MEMBER], datetime(2024, 3, 2, 18, 30, 5, tzinfo=UTC), "Rin (mod)"),
    (BEX, [ROLE_MEMBER], datetime(2024, 4, 11, 20, 1, 44, tzinfo=UTC), None),
    (CHIDI, [ROLE_MEMBER], datetime(2024, 9, 23, 7, 55, 0, tzinfo=UTC), None),
    (DMITRI, [ROLE_MEMBER], datetime(2025, 2, 14, 22, 10, 31, tzinfo=UTC), "dima"),
    (BOT, [ROLE_BOT], datetime(2026, 10, 1, 9, 30, 2, tzinfo=UTC), None),
]
ROLES_OF = {m[0]["id"]: m[1] for m in MEMBERS}
JOINED_OF = {m[0]["id"]: m[2] for m in MEMBERS}
NICK_OF = {m[0]["id"]: m[3] for m in MEMBERS}

VIEW_CHANNEL = 1 << 10


def member(u: dict[str, Any], *, with_user: bool = True, **overrides: Any) -> dict[str, Any]:
    """A guild member object as dispatches embed it (MESSAGE_CREATE omits `user`)."""
    data: dict[str, Any] = {
        "roles": ROLES_OF.get(u["id"], []),
        "joined_at": discord_time(JOINED_OF.get(u["id"], GUILD_CREATED)),
        "nick": NICK_OF.get(u["id"]),
        "avatar": None,
        "banner": None,
        "premium_since": None,
        "pending": False,
        "flags": 0,
        "deaf": False,
        "mute": False,
        "communication_disabled_until": None,
    }
    if with_user:
        data["user"] = u
    data.update(overrides)
    return data


def channel(cid: str, name: str, kind: int, position: int, parent: str | None = None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": cid,
        "type": kind,
        "name": name,
        "position": position,
        "flags": 0,
        "parent_id": parent,
        "permission_overwrites": [],
    }
    if kind == 0:
        data.update(topic=None, nsfw=False, rate_limit_per_user=0, last_message_id=None)
    if kind == 2:
        data.update(bitrate=64000, user_limit=0, rtc_region=None, nsfw=False, rate_limit_per_user=0)
    data.update(extra)
    return data


def role(rid: str, name: str, position: int, permissions: int, color: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "id": rid,
        "name": name,
        "color": color,
        "colors": {"primary_color": color, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "position": position,
        "permissions": str(permissions),
        "managed": False,
        "mentionable": False,
        "flags": 0,
        **extra,
    }


# ---------------------------------------------------------------- the recording


class Session:
    """Collects frames in order; `s` counts dispatches the way the gateway does."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.seq = 0

    def frame(self, op: int, d: Any, received: datetime) -> None:
        self.frames.append({"op": op, "t": None, "s": None, "d": d, "received_at": stamp(received)})

    def dispatch(self, t: str, d: dict[str, Any], happened: datetime) -> None:
        self.seq += 1
        self.frames.append({"op": 0, "t": t, "s": self.seq, "d": d, "received_at": stamp(happened + LATENCY)})

    # -- messages: a message's id is made at its timestamp, as Discord does
    def message(
        self, when: datetime, author: dict[str, Any], channel_id: str, content: str, **extra: Any
    ) -> dict[str, Any]:
        d: dict[str, Any] = {
            "type": 0,
            "tts": False,
            "timestamp": discord_time(when),
            "pinned": False,
            "nonce": None,
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "member": member(author, with_user=False),
            "id": snowflake(when),
            "flags": 0,
            "embeds": [],
            "edited_timestamp": None,
            "content": content,
            "components": [],
            "channel_type": 0,
            "channel_id": channel_id,
            "author": author,
            "attachments": [],
            "guild_id": GUILD_ID,
        }
        d.update(extra)
        self.dispatch("MESSAGE_CREATE", d, when)
        return d

    def edit(self, original: dict[str, Any], when: datetime, content: str) -> dict[str, Any]:
        d = {**original, "content": content, "edited_timestamp": discord_time(when)}
        self.dispatch("MESSAGE_UPDATE", d, when)
        return d

    def delete(self, message: dict[str, Any], when: datetime) -> None:
        self.dispatch(
            "MESSAGE_DELETE", {"id": message["id"], "channel_id": message["channel_id"], "guild_id": GUILD_ID}, when
        )

    def react(
        self, t: str, who: dict[str, Any], message: dict[str, Any], emoji: dict[str, Any], when: datetime
    ) -> None:
        d: dict[str, Any] = {
            "user_id": who["id"],
            "type": 0,
            "message_id": message["id"],
            "emoji": emoji,
            "channel_id": message["channel_id"],
            "burst": False,
            "guild_id": GUILD_ID,
        }
        if t == "MESSAGE_REACTION_ADD":
            d.update(member=member(who), message_author_id=message["author"]["id"], burst_colors=[])
        self.dispatch(t, d, when)

    # -- moderation: an audit-log entry's id is made at the moment of the action
    def audit(
        self, when: datetime, action_type: int, actor: dict[str, Any], target_id: str | None, **extra: Any
    ) -> None:
        d = {
            "id": snowflake(when),
            "guild_id": GUILD_ID,
            "action_type": action_type,
            "user_id": actor["id"],
            "target_id": target_id,
            **extra,
        }
        self.dispatch("GUILD_AUDIT_LOG_ENTRY_CREATE", d, when)

    def voice(self, who: dict[str, Any], channel_id: str | None, when: datetime, **flags: Any) -> None:
        d = {
            "member": member(who),
            "user_id": who["id"],
            "suppress": False,
            "session_id": avatar_hash(f"voice-{who['username']}"),
            "self_video": False,
            "self_mute": False,
            "self_deaf": False,
            "request_to_speak_timestamp": None,
            "mute": False,
            "deaf": False,
            "channel_id": channel_id,
            "guild_id": GUILD_ID,
            **flags,
        }
        self.dispatch("VOICE_STATE_UPDATE", d, when)


def record() -> list[dict[str, Any]]:
    s = Session()
    start = at("23:39:59.912")

    # -- connect: HELLO, READY, GUILD_CREATE
    s.frame(
        10,
        {"heartbeat_interval": HEARTBEAT_INTERVAL_MS, "_trace": ['["gateway-prd-us-east1-b-7q2k",{"micros":0.0}]']},
        start,
    )
    s.dispatch(
        "READY",
        {
            "v": 10,
            "user": BOT,
            "guilds": [{"id": GUILD_ID, "unavailable": True}],
            "session_id": "5c1e0f9a7b3d4e2f8a6c0b1d9e7f3a25",
            "session_type": "normal",
            "resume_gateway_url": "wss://gateway-us-east1-b.discord.gg",
            "shard": [0, 1],
            "application": {"id": APPLICATION_ID, "flags": 8953856},
            "private_channels": [],
            "presences": [],
            "relationships": [],
            "user_settings": {},
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["us-east", "us-central", "atlanta", "us-south", "newark"],
            "_trace": ['["gateway-prd-us-east1-b-7q2k",{"micros":98211}]'],
        },
        at("23:40:00.340"),
    )
    s.dispatch(
        "GUILD_CREATE",
        {
            "id": GUILD_ID,
            "name": "Guildlog Demo",
            "icon": None,
            "description": None,
            "splash": None,
            "banner": None,
            "owner_id": ADA["id"],
            "region": "deprecated",
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "system_channel_id": GENERAL,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "features": [],
            "max_members": 25000000,
            "max_video_channel_users": 25,
            "application_id": None,
            "vanity_url_code": None,
            "premium_progress_bar_enabled": False,
            "lazy": True,
            "large": False,
            "unavailable": False,
            "member_count": len(MEMBERS),
            "joined_at": discord_time(JOINED_OF[BOT["id"]]),
            "channels": [
                channel(CAT_TEXT, "Text Channels", 4, 0),
                channel(GENERAL, "general", 0, 0, CAT_TEXT, topic="Say hi. Be kind."),
                channel(RANDOM, "random", 0, 1, CAT_TEXT),
                channel(
                    MOD_LOG,
                    "mod-log",
                    0,
                    2,
                    CAT_TEXT,
                    permission_overwrites=[
                        {"id": GUILD_ID, "type": 0, "allow": "0", "deny": str(VIEW_CHANNEL)},
                        {"id": ROLE_MODERATOR, "type": 0, "allow": str(VIEW_CHANNEL), "deny": "0"},
                    ],
                ),
                channel(CAT_VOICE, "Voice Channels", 4, 1),
                channel(LOUNGE, "Lounge", 2, 0, CAT_VOICE),
                channel(GAMING, "Gaming", 2, 1, CAT_VOICE),
            ],
            "roles": [
                role(GUILD_ID, "@everyone", 0, 2248473465835073),
                role(ROLE_MEMBER, "Member", 1, 0, 0x2ECC71),
                role(ROLE_BOT, "guildlog", 2, 0x10000 | 0x400 | 0x80, managed=True, tags={"bot_id": APPLICATION_ID}),
                role(ROLE_MODERATOR, "Moderator", 3, 0x2 | 0x4 | 0x2000 | 0x10000000000 | 0x80, 0xE67E22, hoist=True),
            ],
            "members": [member(u) for u, _, _, _ in MEMBERS],
            "emojis": [
                {
                    "id": EMOJI_POG,
                    "name": "pog",
                    "roles": [],
                    "require_colons": True,
                    "managed": False,
                    "animated": False,
                    "available": True,
                }
            ],
            "stickers": [],
            "voice_states": [],
            "threads": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "embedded_activities": [],
            "activity_instances": [],
            "presences": [
                {"user": {"id": u["id"]}, "status": status, "client_status": {"desktop": status}, "activities": []}
                for u, status in ((ADA, "online"), (RIN, "online"), (BEX, "idle"), (CHIDI, "online"), (DMITRI, "dnd"))
            ],
        },
        at("23:40:00.611"),
    )

    # -- evening chat
    s.message(at("23:41:05.120"), ADA, GENERAL, "evening all — anyone around for the patch notes?")
    s.dispatch(
        "TYPING_START",
        {
            "user_id": BEX["id"],
            "timestamp": int(at("23:41:40").timestamp()),
            "member": member(BEX),
            "channel_id": GENERAL,
            "guild_id": GUILD_ID,
        },
        at("23:41:40.004"),
    )
    s.message(at("23:41:48.733"), BEX, GENERAL, "o/ reading them now")
    shot_at = at("23:42:30.051")
    shot_id = snowflake(shot_at)
    shot = s.message(
        shot_at,
        CHIDI,
        GENERAL,
        "first look at the new map",
        attachments=[
            {
                "id": shot_id,
                "filename": "new-map.png",
                "size": 284113,
                "width": 1920,
                "height": 1080,
                "content_type": "image/png",
                "placeholder_version": 1,
                "url": f"https://cdn.discordapp.com/attachments/{GENERAL}/{shot_id}/new-map.png",
                "proxy_url": f"https://media.discordapp.net/attachments/{GENERAL}/{shot_id}/new-map.png",
            }
        ],
    )
    s.message(
        at("23:43:10.902"),
        BEX,
        GENERAL,
        f"<@{CHIDI['id']}> is that the new map? looks huge",
        type=19,
        mentions=[CHIDI],
        message_reference={"type": 0, "channel_id": GENERAL, "message_id": shot["id"], "guild_id": GUILD_ID},
        referenced_message={k: v for k, v in shot.items() if k not in ("member", "guild_id", "nonce")},
    )
    s.react("MESSAGE_REACTION_ADD", ADA, shot, {"id": None, "name": "👀"}, at("23:43:20.415"))
    pog = {"id": EMOJI_POG, "name": "pog", "animated": False}
    s.react("MESSAGE_REACTION_ADD", DMITRI, shot, pog, at("23:43:25.007"))
    s.message(
        at("23:44:02.377"),
        ADA,
        GENERAL,
        f"<@{RIN['id']}> could you pin the patch notes when you're back?",
        mentions=[RIN],
    )
    standup = s.message(at("23:45:00.018"), DMITRI, GENERAL, "standup tomorrow moved to 9")
    s.edit(standup, at("23:46:10.314"), "standup tomorrow moved to 10")
    food = s.message(at("23:47:00.660"), BEX, RANDOM, "brb, grabbing food 🍜")
    s.edit(food, at("23:47:40.129"), "brb, grabbing food 🍜 (back in 20)")
    s.react("MESSAGE_REACTION_REMOVE", DMITRI, shot, pog, at("23:48:00.850"))
    s.delete(food, at("23:49:05.222"))  # deleted by its author: Discord writes no audit-log entry

    # -- a spammer joins; a moderator cleans up, times them out, then bans them
    s.dispatch(
        "GUILD_MEMBER_ADD",
        {**member(ZED, roles=[], joined_at=discord_time(at("23:50:00.400")), nick=None), "guild_id": GUILD_ID},
        at("23:50:00.400"),
    )
    spam = "FREE NITRO for everyone >>> https://dlscord-gift.example.invalid/claim"
    spam1 = s.message(at("23:50:40.101"), ZED, GENERAL, spam)
    spam2 = s.message(at("23:50:52.730"), ZED, RANDOM, spam + " @everyone")
    spam3 = s.message(at("23:51:05.004"), ZED, GENERAL, spam + " (limited!!)")
    s.delete(spam2, at("23:51:30.560"))
    s.audit(at("23:51:30.560"), 72, RIN, ZED["id"], options={"channel_id": RANDOM, "count": "1"})
    s.dispatch(
        "MESSAGE_DELETE_BULK",
        {"ids": [spam3["id"], spam1["id"]], "channel_id": GENERAL, "guild_id": GUILD_ID},
        at("23:51:45.912"),
    )
    s.audit(at("23:51:45.912"), 73, RIN, GENERAL, options={"count": "2"})
    timeout_at, timeout_until = at("23:52:10.300"), at("23:52:10.300") + timedelta(hours=1)
    s.audit(
        timeout_at,
        24,
        RIN,
        ZED["id"],
        reason="posting phishing links",
        changes=[{"key": "communication_disabled_until", "new_value": discord_time(timeout_until)}],
    )
    s.dispatch(
        "GUILD_MEMBER_UPDATE",
        {
            **member(
                ZED,
                roles=[],
                joined_at=discord_time(at("23:50:00.400")),
                nick=None,
                communication_disabled_until=discord_time(timeout_until),
            ),
            "guild_id": GUILD_ID,
        },
        timeout_at + timedelta(milliseconds=40),
    )
    ban_at = at("23:56:20.045")
    s.dispatch("GUILD_MEMBER_REMOVE", {"guild_id": GUILD_ID, "user": ZED}, ban_at)
    s.dispatch("GUILD_BAN_ADD", {"guild_id": GUILD_ID, "user": ZED}, ban_at + timedelta(milliseconds=12))
    s.audit(ban_at + timedelta(milliseconds=30), 22, RIN, ZED["id"], reason="phishing links in DMs after a timeout")

    # -- a new role, given to a member
    owls_at = at("23:57:00.880")
    owls = role(snowflake(owls_at), "Night Owls", 2, 0)
    s.dispatch("GUILD_ROLE_CREATE", {"guild_id": GUILD_ID, "role": owls}, owls_at)
    s.audit(
        owls_at,
        30,
        ADA,
        owls["id"],
        changes=[{"key": "name", "new_value": "Night Owls"}, {"key": "permissions", "new_value": "0"}],
    )
    recolor_at = at("23:57:30.225")
    owls = {**owls, "color": 0x5865F2, "colors": {**owls["colors"], "primary_color": 0x5865F2}, "hoist": True}
    s.dispatch("GUILD_ROLE_UPDATE", {"guild_id": GUILD_ID, "role": owls}, recolor_at)
    s.audit(
        recolor_at,
        31,
        ADA,
        owls["id"],
        changes=[
            {"key": "color", "old_value": 0, "new_value": 0x5865F2},
            {"key": "hoist", "old_value": False, "new_value": True},
        ],
    )
    ROLES_OF[BEX["id"]] = [ROLE_MEMBER, owls["id"]]
    grant_at = at("23:58:15.640")
    s.dispatch("GUILD_MEMBER_UPDATE", {**member(BEX), "guild_id": GUILD_ID}, grant_at)
    s.audit(
        grant_at, 25, ADA, BEX["id"], changes=[{"key": "$add", "new_value": [{"id": owls["id"], "name": "Night Owls"}]}]
    )

    # -- voice before midnight
    s.voice(ADA, LOUNGE, at("23:58:40.700"))
    s.voice(CHIDI, LOUNGE, at("23:59:10.010"))
    s.voice(CHIDI, LOUNGE, at("23:59:30.480"), self_mute=True)

    # -- midnight: sent at 23:59:59.981, received after 00:00 — its day is still the 19th
    s.message(at("23:59:59.981"), DMITRI, GENERAL, "last message of the day 🌙")
    s.message(after_midnight("00:00:00.842"), ADA, GENERAL, "and the first of the next one")

    # -- after midnight: a channel for the new role, the second edit, a move, a command
    owls_ch_at = after_midnight("00:01:00.330")
    owls_ch = channel(snowflake(owls_ch_at), "night-owls", 0, 3, CAT_TEXT)
    s.dispatch("CHANNEL_CREATE", {**owls_ch, "guild_id": GUILD_ID}, owls_ch_at)
    s.audit(
        owls_ch_at,
        10,
        ADA,
        owls_ch["id"],
        changes=[{"key": "name", "new_value": "night-owls"}, {"key": "type", "new_value": 0}],
    )
    topic_at = after_midnight("00:01:40.905")
    s.dispatch("CHANNEL_UPDATE", {**owls_ch, "topic": "for those still up", "guild_id": GUILD_ID}, topic_at)
    s.audit(topic_at, 11, ADA, owls_ch["id"], changes=[{"key": "topic", "new_value": "for those still up"}])
    s.edit(standup, after_midnight("00:02:30.118"), "standup tomorrow moved to 10:30 (moved again, sorry)")
    s.voice(ADA, GAMING, after_midnight("00:03:00.251"))  # moved herself: no audit-log entry
    command_at = after_midnight("00:04:00.513")
    s.dispatch(
        "INTERACTION_CREATE",
        {
            "id": snowflake(command_at),
            "application_id": APPLICATION_ID,
            "type": 2,
            "version": 1,
            "guild_id": GUILD_ID,
            "channel_id": MOD_LOG,
            "channel": {"id": MOD_LOG, "type": 0, "name": "mod-log", "guild_id": GUILD_ID, "flags": 0},
            "member": member(RIN, permissions="2251799813685247"),
            "locale": "en-GB",
            "guild_locale": "en-US",
            "app_permissions": "2248473465835073",
            "entitlements": [],
            "context": 0,
            "authorizing_integration_owners": {"0": GUILD_ID},
            "attachment_size_limit": 10485760,
            "data": {
                "id": snowflake(datetime(2026, 10, 1, 9, 40, 0, tzinfo=UTC)),
                "name": "guildlog",
                "type": 1,
                "guild_id": GUILD_ID,
                "options": [
                    {
                        "type": 1,
                        "name": "deleted",
                        "options": [
                            {"type": 7, "name": "channel", "value": RANDOM},
                            {"type": 4, "name": "limit", "value": 5},
                        ],
                    }
                ],
                "resolved": {
                    "channels": {RANDOM: {"id": RANDOM, "name": "random", "type": 0, "permissions": "2251799813685247"}}
                },
            },
        },
        command_at,
    )
    s.message(after_midnight("00:06:12.407"), BEX, RANDOM, "back! what did I miss")
    s.dispatch(
        "EMBEDDED_ACTIVITY_UPDATE",
        {  # undocumented: logged with category "other"
            "guild_id": GUILD_ID,
            "channel_id": GAMING,
            "users": [ADA["id"]],
            "embedded_activity": {"application_id": ACTIVITY_APP_ID, "name": "Watch Together", "type": 0},
        },
        after_midnight("00:07:45.000"),
    )

    # -- a visitor comes and goes; voice empties
    eli_at = after_midnight("00:10:03.190")
    s.dispatch(
        "GUILD_MEMBER_ADD",
        {**member(ELI, roles=[], joined_at=discord_time(eli_at), nick=None), "guild_id": GUILD_ID},
        eli_at,
    )
    s.message(after_midnight("00:10:41.555"), ELI, GENERAL, "hi! found you through the patch notes thread")
    s.voice(CHIDI, None, after_midnight("00:15:00.720"), self_mute=True)
    s.dispatch("GUILD_MEMBER_REMOVE", {"guild_id": GUILD_ID, "user": ELI}, after_midnight("00:20:12.006"))
    s.voice(ADA, None, after_midnight("00:24:00.330"))

    return with_heartbeat_acks(s.frames, start)


def with_heartbeat_acks(frames: list[dict[str, Any]], hello: datetime) -> list[dict[str, Any]]:
    """Interleave the op 11 ACKs a 41.25 s heartbeat earns; the recorded frames keep their order."""
    times = [f["received_at"] for f in frames]
    if times != sorted(times):
        raise ValueError("the timeline above is out of order")
    out: list[dict[str, Any]] = []
    beat = hello + timedelta(milliseconds=HEARTBEAT_INTERVAL_MS * 0.37)  # the first beat is jittered
    for frame in frames:
        while stamp(beat + LATENCY) < frame["received_at"]:
            out.append({"op": 11, "t": None, "s": None, "d": None, "received_at": stamp(beat + LATENCY)})
            beat += timedelta(milliseconds=HEARTBEAT_INTERVAL_MS)
        out.append(frame)
    return out


def main() -> None:
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in record()]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} frames to {OUT.name}")


if __name__ == "__main__":
    main()
