"""/logs forget: the confirmation code, who may erase whom, the receipts list."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from guildlog.models.interaction import Interaction
from guildlog.services.commands.app import answer, route
from guildlog.services.commands.context import Ports
from guildlog.services.erasure.receipt import Receipt
from tests.fakes import interactions as fx
from tests.unit.layer.services.commands.conftest import NOW


@dataclass
class FakeErasure:
    """The erasure port in memory: codes by (guild, requester, member), jobs started, receipts."""

    codes: dict[tuple[str, str, str], tuple[str, int]] = field(default_factory=dict)
    started: list[Any] = field(default_factory=list)
    stored: list[Receipt] = field(default_factory=list)
    counter: int = 0

    def new_code(self, guild_id: str, requester_id: str, user_id: str, expires_at: int) -> str:
        self.counter += 1
        code = f"CODE{self.counter:02d}"
        self.codes[(guild_id, requester_id, user_id)] = (code, expires_at)
        return code

    def confirm(self, guild_id: str, requester_id: str, user_id: str, code: str, now: int) -> bool:
        found = self.codes.get((guild_id, requester_id, user_id))
        if found is None or found[0] != code or found[1] < now:
            return False
        del self.codes[(guild_id, requester_id, user_id)]
        return True

    def start(self, job: Any) -> None:
        self.started.append(job)

    def receipts(self, guild_id: str, limit: int = 10) -> list[Receipt]:
        return [r for r in self.stored if r.guild_id == guild_id][:limit]


@pytest.fixture
def erasure(ports: Ports) -> FakeErasure:
    ports.erasure = FakeErasure()
    return ports.erasure  # type: ignore[no-any-return]


def run(payload: dict[str, Any], ports: Ports) -> str:
    interaction = Interaction.model_validate(payload)
    return answer(interaction, route(interaction), ports, NOW).content


def code_in(text: str) -> str:
    return text.split("code:")[1].split("`")[0].strip()


def test_forget_user_starts_nothing_when_run_without_the_code(ports: Ports, erasure: FakeErasure) -> None:
    content = run(fx.command("logs", "forget", "user", options={"member": fx.MEMBER}), ports)

    assert "cannot be undone" in content and "code:CODE01" in content
    assert erasure.started == []


def test_forget_user_starts_the_job_for_the_member_when_run_again_with_the_code(
    ports: Ports, erasure: FakeErasure
) -> None:
    code = code_in(run(fx.command("logs", "forget", "user", options={"member": fx.MEMBER}), ports))

    content = run(fx.command("logs", "forget", "user", options={"member": fx.MEMBER, "code": code}), ports)

    assert "Erasure started" in content
    assert [(j.guild_id, j.user_id, j.requested_by, j.notify_user_id) for j in erasure.started] == [
        (fx.GUILD, fx.MEMBER, fx.MODERATOR, fx.MODERATOR)
    ]


def test_forget_user_refuses_the_code_when_it_was_given_for_another_member(ports: Ports, erasure: FakeErasure) -> None:
    code = code_in(run(fx.command("logs", "forget", "user", options={"member": fx.MEMBER}), ports))

    content = run(fx.command("logs", "forget", "user", options={"member": fx.STRANGER, "code": code}), ports)

    assert "not the one given" in content
    assert erasure.started == []


def test_forget_user_refuses_a_code_when_it_is_used_a_second_time(ports: Ports, erasure: FakeErasure) -> None:
    code = code_in(run(fx.command("logs", "forget", "user", options={"member": fx.MEMBER}), ports))
    run(fx.command("logs", "forget", "user", options={"member": fx.MEMBER, "code": code}), ports)

    content = run(fx.command("logs", "forget", "user", options={"member": fx.MEMBER, "code": code}), ports)

    assert "not the one given" in content and len(erasure.started) == 1


def test_forget_user_is_refused_when_the_member_lacks_manage_server(ports: Ports, erasure: FakeErasure) -> None:
    content = run(
        fx.command("logs", "forget", "user", options={"member": fx.STRANGER}, by=fx.MEMBER, permissions=fx.EVERYONE),
        ports,
    )

    assert "needs the Manage Server permission" in content and erasure.codes == {}


def test_forget_me_erases_the_requester_only_when_a_member_without_manage_server_confirms(
    ports: Ports, erasure: FakeErasure
) -> None:
    first = run(fx.command("forget-me", by=fx.MEMBER, permissions=fx.EVERYONE), ports)

    content = run(
        fx.command("forget-me", options={"code": code_in(first)}, by=fx.MEMBER, permissions=fx.EVERYONE),
        ports,
    )

    assert "Erasure started" in content
    assert [(j.user_id, j.requested_by) for j in erasure.started] == [(fx.MEMBER, fx.MEMBER)]


def test_forget_receipts_shows_a_member_only_their_own_when_they_lack_manage_server(
    ports: Ports, erasure: FakeErasure
) -> None:
    for job, user in (("j-own", fx.MEMBER), ("j-other", fx.STRANGER)):
        erasure.stored.append(
            Receipt(job, fx.GUILD, user, user, "2026-11-20T00:00:00.000Z", "2026-11-20T01:00:00.000Z")
        )

    content = run(fx.command("logs", "forget", "receipts", by=fx.MEMBER, permissions=fx.EVERYONE), ports)

    assert "j-own" in content and "j-other" not in content


def test_forget_says_erasure_is_not_set_up_when_the_stack_has_no_queue(ports: Ports) -> None:
    content = run(fx.command("forget-me", by=fx.MEMBER, permissions=fx.EVERYONE), ports)

    assert "not set up" in content
