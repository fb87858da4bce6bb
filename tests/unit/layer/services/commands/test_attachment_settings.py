"""`/logs config attachments`: the per-server switch and size cap of attachment copies."""

from __future__ import annotations

import pytest

from guildlog.errors import CommandError
from guildlog.models.config import GuildConfig
from guildlog.services import keys
from guildlog.services.commands.attachment_settings import attachments
from guildlog.services.commands.context import Ports
from tests.fakes import interactions as fx
from tests.fakes.memory_table import MemoryTable
from tests.unit.layer.services.commands.conftest import call_of


def run(ports: Ports, **options: object) -> str:
    return attachments(call_of(fx.command("logs", "config", "attachments", options=options)), ports).content


def stored(table: MemoryTable) -> GuildConfig:
    item = table.items[(keys.guild_pk(fx.GUILD), keys.CONFIG_SK)]
    return GuildConfig.model_validate({**item, "guild_id": fx.GUILD})


def test_attachments_switches_copies_off_when_asked(table: MemoryTable, ports: Ports) -> None:
    content = run(ports, copy="off")

    assert stored(table).attachments_copy is False and "off" in content


def test_attachments_sets_the_cap_when_given_max_mb(table: MemoryTable, ports: Ports) -> None:
    content = run(ports, copy="on", max_mb=8)

    config = stored(table)
    assert (config.attachments_copy, config.attachments_max_mb) == (True, 8) and "8 MB" in content


def test_attachments_shows_the_setting_without_writing_when_given_nothing(table: MemoryTable, ports: Ports) -> None:
    content = run(ports)

    assert "on**, files up to 25 MB" in content
    assert (keys.guild_pk(fx.GUILD), keys.CONFIG_SK) not in table.items


def test_attachments_refuses_a_cap_out_of_range_when_given_one(ports: Ports) -> None:
    with pytest.raises(CommandError, match="from 1 to 100"):
        run(ports, max_mb=500)


def test_attachments_needs_manage_server_when_a_member_tries(ports: Ports) -> None:
    call = call_of(
        fx.command("logs", "config", "attachments", options={"copy": "off"}, by=fx.MEMBER, permissions=fx.EVERYONE)
    )

    with pytest.raises(CommandError, match="Manage Server"):
        attachments(call, ports)
