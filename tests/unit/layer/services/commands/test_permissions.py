"""Every command leaf, asked by a member without Manage Server and by a payload without a member.

The table names, for each leaf, the options it is run with and what such a member may get: a
refusal, or an answer about their own events only. A leaf added without a row here fails
`test_permissions_table_covers_every_leaf_when_commands_are_defined`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from guildlog.models.interaction import Interaction
from guildlog.services.commands.app import answer, route
from guildlog.services.commands.context import Ports
from guildlog.services.commands.definitions import all_leaves
from guildlog.services.timefmt import iso
from tests.fakes import interactions as fx
from tests.fakes.memory_table import MemoryTable
from tests.unit.layer.services.commands.conftest import NOW, message_id, row

NEEDS_MANAGE_SERVER = "needs the Manage Server permission"
NO_MEMBER = "did not say which member"
MINE_AT = iso(NOW - timedelta(minutes=20))
THEIRS_AT = iso(NOW - timedelta(minutes=10))
ELSEWHERE_AT = iso(NOW - timedelta(minutes=5))
MINE = message_id(MINE_AT)
THEIRS = message_id(THEIRS_AT)


@dataclass(frozen=True)
class Case:
    """One leaf run one way: `refused` (no Manage Server), else answered with the member's own data only."""

    path: tuple[str, ...]
    options: dict[str, Any]
    refused: bool

    @property
    def id(self) -> str:
        names = {fx.STRANGER: "other", THEIRS: "other", fx.MEMBER: "own", MINE: "own"}
        shown = ",".join(f"{k}={names.get(v, v)}" for k, v in self.options.items())
        return " ".join(self.path) + (f"[{shown}]" if shown else "")


CASES = [
    Case(("logs", "search"), {}, refused=False),  # their own events only
    Case(("logs", "search"), {"user": fx.STRANGER}, refused=True),
    Case(("logs", "message"), {"message": MINE}, refused=False),  # their own message
    Case(("logs", "message"), {"message": THEIRS}, refused=True),
    Case(("logs", "status"), {}, refused=True),
    Case(("logs", "export"), {"channel": fx.CHANNEL}, refused=True),
    Case(("logs", "config", "show"), {}, refused=True),
    Case(("logs", "config", "channel"), {"channel": fx.CHANNEL}, refused=True),
    Case(("logs", "config", "channel"), {}, refused=True),
    Case(("logs", "config", "events"), {"category": "message", "enabled": False}, refused=True),
    Case(("logs", "config", "ignore"), {"channel": fx.CHANNEL}, refused=True),
    Case(("logs", "config", "retention"), {"days": 1}, refused=True),
    Case(("logs", "config", "log-ignore"), {"channel": fx.CHANNEL}, refused=True),
    Case(("logs", "config", "bots"), {"logged": True}, refused=True),
    Case(("logs", "config", "delivery"), {"mode": "webhook"}, refused=True),
    Case(("logs", "config", "test"), {}, refused=True),
    Case(("logs", "config", "attachments"), {"copy": "off"}, refused=True),
    Case(("logs", "config", "privacy"), {"channel": fx.CHANNEL, "record": False}, refused=True),
    Case(("logs", "config", "viewers"), {"role": "1300000000000000150"}, refused=True),
    Case(("logs", "forget", "user"), {"member": fx.STRANGER}, refused=True),
    Case(("forget-me",), {}, refused=False),  # themselves only
    Case(("logs", "forget", "receipts"), {}, refused=False),  # their own receipts only
    Case(("stats",), {}, refused=False),  # the server's counters are open to everyone (README)
    Case(("stats",), {"user": fx.MEMBER}, refused=False),
    Case(("stats",), {"user": fx.STRANGER}, refused=True),
]


@pytest.fixture
def seeded(table: MemoryTable) -> MemoryTable:
    """The member's message, another member's, and a busy other server on the same shard."""
    table.add_rows(
        [
            row(event_id="gw:s:mine", occurred_at=MINE_AT, message_id=MINE, content="my own words"),
            row(
                event_id="gw:s:theirs",
                occurred_at=THEIRS_AT,
                message_id=THEIRS,
                user_id=fx.STRANGER,
                user_name="stranger",
                content="someone else's words",
            ),
        ]
        + [
            row(
                event_id=f"gw:s:elsewhere-{n}",
                occurred_at=ELSEWHERE_AT,
                guild_id=fx.OTHER_GUILD,
                channel_id=fx.OTHER_CHANNEL,
                message_id=message_id(ELSEWHERE_AT, n),
                content="another server's words",
            )
            for n in range(27)
        ]
    )
    return table


def run(payload: dict[str, Any], ports: Ports) -> str:
    interaction = Interaction.model_validate(payload)
    return answer(interaction, route(interaction), ports, NOW).content


def as_member(case: Case) -> dict[str, Any]:
    return fx.command(*case.path, options=case.options, by=fx.MEMBER, permissions=fx.EVERYONE)


def test_permissions_table_covers_every_leaf_when_commands_are_defined() -> None:
    assert {case.path for case in CASES} == {path for path, _ in all_leaves()}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_command_answers_a_member_without_manage_server_only_as_the_table_says_when_run(
    case: Case, seeded: MemoryTable, ports: Ports
) -> None:
    config_before = seeded.get(f"G#{fx.GUILD}", "CONFIG")

    content = run(as_member(case), ports)

    assert (NEEDS_MANAGE_SERVER in content) is case.refused, content
    assert "someone else's words" not in content and "another server" not in content
    assert seeded.get(f"G#{fx.GUILD}", "CONFIG") == config_before


@pytest.mark.parametrize("shape", ["no-member", "dm-user-in-a-guild", "member-without-user"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_command_refuses_a_payload_without_a_member_when_it_comes_from_a_server(
    case: Case, shape: str, seeded: MemoryTable, ports: Ports
) -> None:
    payload = fx.command(*case.path, options=case.options, by=fx.MEMBER, permissions=fx.MANAGER)
    member = payload.pop("member")
    if shape == "dm-user-in-a-guild":
        payload["user"] = member["user"]
    elif shape == "member-without-user":
        payload["member"] = {k: v for k, v in member.items() if k != "user"}
    config_before = seeded.get(f"G#{fx.GUILD}", "CONFIG")

    content = run(payload, ports)

    assert NO_MEMBER in content, content
    assert "words" not in content
    assert seeded.get(f"G#{fx.GUILD}", "CONFIG") == config_before


@pytest.mark.parametrize("permissions", ["３２", "٣٢", "32.0", "-32", ""])
def test_command_treats_permissions_as_none_when_they_are_not_ascii_digits(
    permissions: str, seeded: MemoryTable, ports: Ports
) -> None:
    payload = fx.command("logs", "status", by=fx.MODERATOR)
    payload["member"]["permissions"] = permissions

    assert NEEDS_MANAGE_SERVER in run(payload, ports)


def test_status_shows_only_this_servers_activity_when_another_server_shares_the_shard(
    seeded: MemoryTable, ports: Ports
) -> None:
    content = run(fx.command("logs", "status"), ports)

    # 2 of this server's events in the hour, 27 of another's through the same shard.
    assert re.findall(r"(\d+) events? in the last hour", content) == ["2"]
    assert content.count("shard 0") == 1
