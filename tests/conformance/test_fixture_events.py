"""Normalization against payloads nobody on this project wrote (../shared/fixtures, see its SOURCES.md).

- accord-jl: dispatches captured from a real bot session (ids sanitised to 9000000000000000NN).
- kord: gateway envelopes and interactions from Kord's tests, some of them hand-made and malformed;
  each file has a decided outcome below, a row or a NormalizationError naming the field.
- discord-api-docs: the official examples that are dispatch payloads, or the `d` of one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from guildlog.errors import NormalizationError
from guildlog.models.envelope import EnvelopeEvent
from guildlog.models.row import EventRow
from guildlog.services.categories import DISPATCH_TYPES, classify
from guildlog.services.normalize import normalize
from guildlog.services.timefmt import iso, snowflake_time
from tests.conformance.conftest import FIXTURES_ROOT, load_json, skip_module_without_fixtures

skip_module_without_fixtures()

pytestmark = pytest.mark.conformance

ACCORD = Path("accord-jl/test/integration/fixtures")
KORD_EVENTS = Path("kord/gateway/src/commonTest/resources/json/event")
KORD_INTERACTIONS = Path("kord/common/src/commonTest/resources/json/interaction")
KORD_AUDIT_LOG = Path("kord/rest/src/commonTest/resources/json/auditlog.json")
DOCS = Path("discord-api-docs/developers")
# The accord-jl session was captured on 2026-02-27 (its _manifest.json); any fixed moment will do.
RECEIVED = "2026-02-27T21:09:30.000Z"
SNOWFLAKE = re.compile(r"^\d{15,21}$")
ID_FIELDS = ("guild_id", "channel_id", "user_id", "actor_id", "target_id", "message_id")


def dispatch(frame: dict[str, Any]) -> EnvelopeEvent:
    return EnvelopeEvent(t=frame["t"], seq=frame.get("s"), received_at=RECEIVED, d=frame.get("d"))


def normalized(t: str, d: Any) -> EventRow:
    return normalize(EnvelopeEvent(t=t, seq=1, received_at=RECEIVED, d=d), event_id="fixture:1", batch_id="conformance")


def assert_ids_are_snowflake_strings(row: EventRow) -> None:
    for name in ID_FIELDS:
        value = getattr(row, name)
        assert value is None or (isinstance(value, str) and SNOWFLAKE.match(value)), (name, value)


def accord_frames() -> list[tuple[str, dict[str, Any]]]:
    frames = []
    for path in sorted((FIXTURES_ROOT / ACCORD).glob("gateway_*.json")):
        frames += [(f"{path.stem}[{i}]", frame) for i, frame in enumerate(json.loads(path.read_text()))]
    return frames


ACCORD_DISPATCHES = [(name, frame) for name, frame in accord_frames() if frame.get("op") == 0]


def accord_of_type(t: str) -> list[dict[str, Any]]:
    return [frame for _, frame in ACCORD_DISPATCHES if frame["t"] == t]


# ---------------------------------------------------------------- accord-jl: a real session


def test_accord_fixtures_hold_dispatches_when_loaded() -> None:
    # Guards the parametrized tests below against silently running over nothing.
    assert len(ACCORD_DISPATCHES) >= 15
    assert {"READY", "GUILD_CREATE", "MESSAGE_CREATE", "INTERACTION_CREATE"} <= {f["t"] for _, f in ACCORD_DISPATCHES}


@pytest.mark.parametrize(("name", "frame"), ACCORD_DISPATCHES, ids=[n for n, _ in ACCORD_DISPATCHES])
def test_normalize_gives_a_valid_row_in_the_listed_category_when_an_accord_frame_is_a_dispatch(
    name: str, frame: dict[str, Any]
) -> None:
    row = normalize(dispatch(frame), event_id=f"gw:accord:{frame['s']}", batch_id="conformance")
    assert EventRow.model_validate(row.model_dump()) == row
    assert (row.event_type, row.seq) == (frame["t"], frame["s"])
    assert row.category == classify(frame["t"])[0]
    assert frame["t"] in DISPATCH_TYPES  # a real session's types are all known ones
    assert_ids_are_snowflake_strings(row)
    json.loads(row.details)


def test_normalize_takes_the_guild_id_and_received_at_when_accord_guild_create() -> None:
    frames = accord_of_type("GUILD_CREATE")
    assert frames
    for frame in frames:
        row = normalize(dispatch(frame), event_id="e", batch_id="b")
        assert row.guild_id == frame["d"]["id"]
        assert row.occurred_at == RECEIVED != iso(snowflake_time(frame["d"]["id"]))
        assert json.loads(row.details)["channels"] == len(frame["d"]["channels"])


def test_normalize_takes_the_bot_and_received_at_when_accord_ready() -> None:
    (frame,) = accord_of_type("READY")
    row = normalize(dispatch(frame), event_id="e", batch_id="b")
    assert (row.category, row.action, row.guild_id) == ("relay", "ready", None)
    assert row.user_id == frame["d"]["user"]["id"]
    assert row.occurred_at == RECEIVED
    assert json.loads(row.details)["guilds"] == len(frame["d"]["guilds"])


def test_normalize_takes_the_message_timestamp_when_accord_message_create() -> None:
    for frame in accord_of_type("MESSAGE_CREATE"):
        row = normalize(dispatch(frame), event_id="e", batch_id="b")
        assert row.occurred_at[:23] == frame["d"]["timestamp"][:23]
        assert row.content == frame["d"]["content"]


def test_normalize_records_the_reply_when_an_accord_message_is_type_19() -> None:
    replies = [f for f in accord_of_type("MESSAGE_CREATE") if f["d"]["type"] == 19]
    assert replies
    for frame in replies:
        details = json.loads(normalize(dispatch(frame), event_id="e", batch_id="b").details)
        assert details["reply_to"] == frame["d"]["message_reference"]["message_id"]


def test_normalize_calls_it_a_leave_when_an_accord_voice_state_has_no_channel() -> None:
    actions = [normalize(dispatch(f), event_id="e", batch_id="b").action for f in accord_of_type("VOICE_STATE_UPDATE")]
    assert "leave" in actions and "state" in actions


# ---------------------------------------------------------------- kord: envelopes, some malformed

# file → the row it must give, or the field its NormalizationError must name.
KORD_EXPECTED: dict[str, dict[str, Any]] = {
    "guildbanadd.json": {
        "row": {
            "category": "moderation",
            "action": "ban",
            "guild_id": "41771983423143937",
            "user_id": "80351110224678912",
            "target_id": "80351110224678912",
        }
    },
    "guildbanremove.json": {
        "row": {
            "category": "moderation",
            "action": "unban",
            "guild_id": "41771983423143937",
            "user_id": "80351110224678912",
        }
    },
    # No `user` object: a join that names nobody is quarantined, not logged against no one.
    "guildmemberadd.json": {"error": "d.user.id"},
    # The user's fields at the top level and no guild_id: not a shape Discord sends.
    "guildmemeberremove.json": {"error": "d.guild_id"},
    "channelcreate.json": {
        "row": {
            "category": "server",
            "action": "channel_create",
            "channel_id": "41771983423143937",
            "guild_id": "41771983423143937",
            "occurred_at": RECEIVED,
        }
    },
    "channelupdate.json": {
        "row": {
            "category": "server",
            "action": "channel_update",
            "channel_id": "41771983423143937",
            "occurred_at": RECEIVED,
        }
    },
    "channeldelete.json": {
        "row": {
            "category": "server",
            "action": "channel_delete",
            "channel_id": "41771983423143937",
            "occurred_at": RECEIVED,
        }
    },
}


def test_kord_expectations_cover_every_event_file_when_the_folder_is_listed() -> None:
    # A new fixture file must get a decided outcome here rather than go untested.
    assert sorted(p.name for p in (FIXTURES_ROOT / KORD_EVENTS).glob("*.json")) == sorted(KORD_EXPECTED)


@pytest.mark.parametrize("name", sorted(KORD_EXPECTED))
def test_normalize_gives_the_decided_outcome_when_given_a_kord_gateway_event(name: str) -> None:
    frame = load_json(KORD_EVENTS / name)
    expected = KORD_EXPECTED[name]
    if "error" in expected:
        with pytest.raises(NormalizationError) as info:
            normalize(dispatch(frame), event_id="e", batch_id="b")
        assert info.value.fields["field"] == expected["error"]
        return
    row = normalize(dispatch(frame), event_id="e", batch_id="b")
    assert {key: getattr(row, key) for key in expected["row"]} == expected["row"]
    assert_ids_are_snowflake_strings(row)


def test_normalize_never_writes_a_users_email_when_a_kord_ban_carries_one() -> None:
    row = normalize(dispatch(load_json(KORD_EVENTS / "guildbanadd.json")), event_id="e", batch_id="b")
    assert "nelly@discordapp.com" not in row.model_dump_json()


@pytest.mark.parametrize(
    ("name", "command"),
    [("rootcommand.json", "/testsubcommands"), ("groupsubcommand.json", "/testsubcommands group groupsubcommand")],
)
def test_normalize_gives_the_command_path_and_options_when_given_a_kord_interaction(name: str, command: str) -> None:
    row = normalized("INTERACTION_CREATE", load_json(KORD_INTERACTIONS / name))
    details = json.loads(row.details)
    assert (row.category, row.action) == ("command", "command")
    assert details["command"] == command
    assert details["options"] == {"testint": 1}
    assert (row.user_id, row.user_name) == ("695549908383432716", "Hope")
    assert (row.guild_id, row.channel_id, row.target_id) == (
        "556525343595298817",
        "587324906702766226",
        "792107855418490901",
    )
    assert row.occurred_at == iso(snowflake_time("793442788670832640"))
    assert "hunter2" not in row.model_dump_json()


@pytest.mark.parametrize(
    ("index", "action", "target"),
    [
        (0, "channel_delete", "595876143006089219"),
        (1, "channel_create", "595876143006089219"),
        (2, "invite_create", None),
    ],
)
def test_normalize_reads_actor_target_and_time_when_a_kord_audit_log_entry_is_dispatched(
    index: int, action: str, target: str | None
) -> None:
    entry = load_json(KORD_AUDIT_LOG)["audit_log_entries"][index]
    row = normalized("GUILD_AUDIT_LOG_ENTRY_CREATE", entry)
    assert (row.category, row.action, row.actor_id, row.target_id) == (
        "moderation",
        action,
        "587166353111252992",
        target,
    )
    assert row.occurred_at == iso(snowflake_time(entry["id"]))
    assert json.loads(row.details)["changes"] == entry["changes"]


# ---------------------------------------------------------------- discord-api-docs examples


def docs_examples() -> list[tuple[str, Any]]:
    found = []
    for path in sorted((FIXTURES_ROOT / DOCS).rglob("*.json")):
        found.append((str(path.relative_to(FIXTURES_ROOT / DOCS)), json.loads(path.read_text(encoding="utf-8"))))
    return found


DOCS_EXAMPLES = docs_examples()
DOCS_DISPATCHES = [(n, e) for n, e in DOCS_EXAMPLES if isinstance(e, dict) and e.get("op") == 0 and e.get("t")]
# Interaction payloads (not command definitions, which have a top-level `name` and no `data`).
DOCS_INTERACTIONS = [
    (n, e)
    for n, e in DOCS_EXAMPLES
    if n.startswith("interactions/") and isinstance(e, dict) and isinstance(e.get("data"), dict) and "name" not in e
]


def test_docs_fixtures_hold_dispatches_and_interactions_when_loaded() -> None:
    assert len(DOCS_DISPATCHES) >= 2
    assert len(DOCS_INTERACTIONS) >= 4


@pytest.mark.parametrize(("name", "frame"), DOCS_DISPATCHES, ids=[n for n, _ in DOCS_DISPATCHES])
def test_normalize_logs_the_documented_envelope_when_a_docs_example_is_an_op_0_frame(name: str, frame: dict) -> None:
    row = normalize(dispatch(frame), event_id="e", batch_id="b")
    # The docs' placeholder type is not a real one: it is logged, as category "other".
    assert (row.category, row.action) == classify(frame["t"]) == ("other", frame["t"].lower())
    assert row.seq == frame["s"]


@pytest.mark.parametrize(("name", "payload"), DOCS_INTERACTIONS, ids=[n for n, _ in DOCS_INTERACTIONS])
def test_normalize_gives_the_command_and_invoker_when_a_docs_example_is_an_interaction(
    name: str, payload: dict
) -> None:
    row = normalized("INTERACTION_CREATE", payload)
    details = json.loads(row.details)
    assert row.category == "command"
    assert row.action == {2: "command", 4: "autocomplete"}[payload["type"]]
    assert details["command"] == "/" + payload["data"]["name"]
    invoker = (payload.get("member") or {}).get("user") or payload.get("user") or {}
    assert row.user_id == invoker.get("id")
    assert row.occurred_at == (iso(snowflake_time(payload["id"])) if "id" in payload else RECEIVED)
    if payload.get("token"):
        assert payload["token"] not in row.model_dump_json()


def test_normalize_keeps_the_option_values_when_the_docs_slash_command_example_is_dispatched() -> None:
    row = normalized(
        "INTERACTION_CREATE",
        load_json(DOCS / "interactions/application-commands.mdx.examples/03-example-interaction.json"),
    )
    assert json.loads(row.details)["options"] == {"cardname": "The Gitrog Monster"}
    assert row.channel_id == "645027906669510667"


# Resource examples that are exactly the `d` of a dispatch: (file, type, facts the row must have).
DOCS_AS_D = [
    (
        "resources/message.mdx.examples/01-example-message.json",
        "MESSAGE_CREATE",
        {
            "message_id": "334385199974967042",
            "user_id": "53908099506183680",
            "content": "Supa Hot",
            "occurred_at": "2017-07-11T17:27:07.299Z",
        },
    ),
    (
        "resources/message.mdx.examples/02-example-crossposted-message.json",
        "MESSAGE_CREATE",
        {"message_id": "334385199974967042", "channel_id": "290926798999357250"},
    ),
    (
        "resources/voice.mdx.examples/01-example-voice-state.json",
        "VOICE_STATE_UPDATE",
        {"action": "state", "channel_id": "157733188964188161", "user_id": "80351110224678912"},
    ),
    (
        "resources/channel.mdx.examples/01-example-guild-text-channel.json",
        "CHANNEL_CREATE",
        {"channel_id": "41771983423143937", "occurred_at": RECEIVED},
    ),
    (
        "resources/channel.mdx.examples/07-example-thread-channel.json",
        "THREAD_CREATE",
        {"channel_id": "41771983423143937", "actor_id": "41771983423143937", "action": "thread_create"},
    ),
    (
        "resources/guild.mdx.examples/01-example-guild.json",
        "GUILD_UPDATE",
        {"guild_id": "197038439483310086", "occurred_at": RECEIVED},
    ),
    (
        "resources/guild.mdx.examples/02-example-unavailable-guild.json",
        "GUILD_DELETE",
        {"guild_id": "41771983423143937", "action": "guild_unavailable"},
    ),
    (
        "resources/auto-moderation.mdx.examples/01-example-auto-moderation-rule.json",
        "AUTO_MODERATION_RULE_CREATE",
        {"target_id": "969707018069872670", "actor_id": "423457898095789043", "guild_id": "613425648685547541"},
    ),
    (
        "events/gateway-events.mdx.examples/15-example-voice-server-update-payload.json",
        "VOICE_SERVER_UPDATE",
        {"category": "voice", "guild_id": "41771983423143937"},
    ),
]


@pytest.mark.parametrize(("name", "t", "facts"), DOCS_AS_D, ids=[n.rsplit("/", 1)[1] for n, _, _ in DOCS_AS_D])
def test_normalize_reads_the_documented_object_when_a_docs_example_is_the_d_of_a_dispatch(
    name: str, t: str, facts: dict[str, Any]
) -> None:
    payload = load_json(DOCS / name)
    row = normalized(t, payload)
    assert {key: getattr(row, key) for key in facts} == facts
    assert_ids_are_snowflake_strings(row)
    assert "my_token" not in row.model_dump_json()  # the voice server example carries a voice token


def test_normalize_records_a_reference_not_a_reply_when_the_docs_crosspost_example_is_dispatched() -> None:
    row = normalized(
        "MESSAGE_CREATE", load_json(DOCS / "resources/message.mdx.examples/02-example-crossposted-message.json")
    )
    details = json.loads(row.details)
    assert details.get("reference") == "306588351130107906"
    assert "reply_to" not in details


def test_normalize_raises_only_normalization_errors_when_any_docs_example_is_read_as_any_dispatch_type() -> None:
    # Real shapes in the wrong place: each must give a row or a NormalizationError, never a crash
    # (ingest quarantines NormalizationError; any other exception would fail the whole batch).
    crashes = []
    for t in [*DISPATCH_TYPES, "SOMETHING_NEW"]:
        for name, example in DOCS_EXAMPLES:
            try:
                normalized(t, example)
            except NormalizationError:
                pass
            except Exception as exc:  # noqa: BLE001 - collecting every crash is the point
                crashes.append((t, name, repr(exc)))
    assert crashes == []
