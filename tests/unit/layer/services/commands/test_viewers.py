"""`/logs config viewers role:<@&r> [remove]`: the roles that may open the web viewer."""

from __future__ import annotations

from typing import Any

import pytest

from guildlog.errors import CommandError
from guildlog.services.commands import viewers
from guildlog.services.commands.context import Ports, Reply
from tests.fakes import interactions as fx
from tests.fakes.memory_table import MemoryTable
from tests.unit.layer.services.commands.conftest import call_of

ROLE = "1300000000000000150"


def run(ports: Ports, **options: Any) -> Reply:
    kwargs = {k: options.pop(k) for k in ("permissions",) if k in options}
    return viewers.run(call_of(fx.command("logs", "config", "viewers", options=options, **kwargs)), ports)


def stored_roles(table: MemoryTable) -> set[str]:
    return set(table.items[(f"G#{fx.GUILD}", "CONFIG")].get("viewer_roles") or ())


def test_viewers_adds_the_role_when_given(table: MemoryTable, ports: Ports) -> None:
    reply = run(ports, role=ROLE)
    assert stored_roles(table) == {ROLE}
    assert f"<@&{ROLE}>" in reply.content


def test_viewers_removes_the_role_when_remove_is_true(table: MemoryTable, ports: Ports) -> None:
    run(ports, role=ROLE)
    run(ports, role=ROLE, remove=True)
    assert stored_roles(table) == set()


def test_viewers_refuses_everyone_when_the_role_is_the_guilds_own_id(ports: Ports) -> None:
    with pytest.raises(CommandError, match="@everyone"):
        run(ports, role=fx.GUILD)


def test_viewers_refuses_when_the_member_cannot_manage_the_server(table: MemoryTable, ports: Ports) -> None:
    with pytest.raises(CommandError, match="Manage Server"):
        run(ports, role=ROLE, permissions=0)
    assert (f"G#{fx.GUILD}", "CONFIG") not in table.items
