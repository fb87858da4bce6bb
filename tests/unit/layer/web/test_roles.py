"""guildlog.web.roles: who a viewer role lets in, and how long an answer from Discord is trusted."""

from __future__ import annotations

from typing import Any

import pytest

from guildlog.errors import DiscordTargetGoneError
from guildlog.web.roles import RECHECK_SECONDS, REFUSAL_SECONDS, ViewerRoles
from tests.fakes.memory_table import MemoryTable

GUILD = "910000000000000001"
OTHER_GUILD = "930000000000000001"
READERS = "910000000000000300"
MEMBER = "910000000000000101"
SESSION = "session-1"


class Members:
    """The bot's member look-up, in memory: roles per (guild, user); a missing member is Discord's 404."""

    def __init__(self) -> None:
        self.roles: dict[tuple[str, str], list[str]] = {}
        self.calls = 0

    def get_guild_member(self, guild_id: str, user_id: str) -> dict[str, Any]:
        self.calls += 1
        if (guild_id, user_id) not in self.roles:
            raise DiscordTargetGoneError("GET /guilds/{guild}/members/{user} was refused: 404", status=404)
        return {"user": {"id": user_id}, "roles": self.roles[(guild_id, user_id)]}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def table() -> MemoryTable:
    memory = MemoryTable()
    memory.update_config(GUILD, actor_id="x", at="t", add_to_sets={"viewer_roles": READERS})
    return memory


@pytest.fixture
def members() -> Members:
    found = Members()
    found.roles[(GUILD, MEMBER)] = [READERS]
    return found


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def roles(table: MemoryTable, members: Members, clock: Clock) -> ViewerRoles:
    return ViewerRoles(lambda: table, lambda: members, epoch=clock)


def test_role_check_answers_from_its_cache_when_asked_again_within_the_recheck_interval(
    roles: ViewerRoles, members: Members, clock: Clock
) -> None:
    assert roles.allowed(SESSION, GUILD, MEMBER)
    members.roles[(GUILD, MEMBER)] = []
    clock.now += RECHECK_SECONDS - 1
    assert roles.allowed(SESSION, GUILD, MEMBER)
    assert members.calls == 1


def test_role_check_refuses_when_the_role_was_removed_and_the_interval_has_passed(
    roles: ViewerRoles, members: Members, clock: Clock
) -> None:
    assert roles.allowed(SESSION, GUILD, MEMBER)
    members.roles[(GUILD, MEMBER)] = ["910000000000000999"]
    clock.now += RECHECK_SECONDS
    assert not roles.allowed(SESSION, GUILD, MEMBER)
    assert members.calls == 2


def test_role_check_refuses_when_the_guild_no_longer_lists_the_role(
    roles: ViewerRoles, table: MemoryTable, clock: Clock
) -> None:
    assert roles.allowed(SESSION, GUILD, MEMBER)
    table.update_config(GUILD, actor_id="x", at="t", delete_from_sets={"viewer_roles": READERS})
    clock.now += RECHECK_SECONDS
    assert not roles.allowed(SESSION, GUILD, MEMBER)


def test_role_check_refuses_at_once_when_discord_says_the_member_is_gone(roles: ViewerRoles, members: Members) -> None:
    del members.roles[(GUILD, MEMBER)]
    assert not roles.allowed(SESSION, GUILD, MEMBER)


def test_role_check_asks_again_soon_when_it_last_refused(roles: ViewerRoles, members: Members, clock: Clock) -> None:
    members.roles[(GUILD, MEMBER)] = []
    assert not roles.allowed(SESSION, GUILD, MEMBER)
    members.roles[(GUILD, MEMBER)] = [READERS]
    clock.now += REFUSAL_SECONDS
    assert roles.allowed(SESSION, GUILD, MEMBER)


def test_role_check_keeps_sessions_apart_when_two_sessions_ask(roles: ViewerRoles, members: Members) -> None:
    assert roles.allowed(SESSION, GUILD, MEMBER)
    members.roles[(GUILD, MEMBER)] = []
    assert not roles.allowed("session-2", GUILD, MEMBER)


def test_role_check_asks_discord_again_when_the_answer_was_forgotten(roles: ViewerRoles, members: Members) -> None:
    assert roles.allowed(SESSION, GUILD, MEMBER)
    members.roles[(GUILD, MEMBER)] = []
    roles.forget(SESSION, GUILD)
    assert not roles.allowed(SESSION, GUILD, MEMBER)


def test_sign_in_grants_only_guilds_whose_viewer_role_the_member_holds_when_signing_in(
    roles: ViewerRoles, members: Members, table: MemoryTable
) -> None:
    table.update_config(OTHER_GUILD, actor_id="x", at="t", add_to_sets={"viewer_roles": "930000000000000300"})
    members.roles[(OTHER_GUILD, MEMBER)] = ["930000000000000999"]
    guilds = {GUILD: "Lantern Guild", OTHER_GUILD: "Other", "940000000000000001": "Unlogged"}
    assert roles.at_sign_in(SESSION, MEMBER, guilds) == {GUILD: "Lantern Guild"}
    assert members.calls == 2  # the guild without viewer roles costs no Discord call
