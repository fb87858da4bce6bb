"""guildlog.services.commands.settings: the server's configuration item, written only with Manage Server."""

from __future__ import annotations

from typing import Any

import pytest

from guildlog.errors import CommandError
from guildlog.models.config import GuildConfig
from guildlog.services import keys
from guildlog.services.commands import settings
from guildlog.services.commands.context import Ports, Reply
from tests.fakes import interactions as fx
from tests.fakes.memory_table import MemoryTable
from tests.unit.layer.services.commands.conftest import call_of


def config(sub: str, ports: Ports, **options: Any) -> Reply:
    kwargs = {k: options.pop(k) for k in ("by", "permissions", "channel_guilds") if k in options}
    payload = fx.command("logs", "config", sub, options=options, **kwargs)
    return getattr(settings, sub)(call_of(payload), ports)


def stored(table: MemoryTable) -> GuildConfig:
    item = table.items[(keys.guild_pk(fx.GUILD), keys.CONFIG_SK)]
    return GuildConfig.model_validate(item)


def test_config_show_lists_the_defaults_when_nothing_is_configured(ports: Ports) -> None:
    content = config("show", ports).content

    assert "retention: 30 days (default)" in content
    assert "log channel: none" in content
    assert "ignored channels: none" in content


def test_config_writes_what_ingest_reads_when_every_setting_is_changed(table: MemoryTable, ports: Ports) -> None:
    config("channel", ports, channel=fx.CHANNEL)
    config("events", ports, category="voice", enabled=False)
    config("ignore", ports, channel=fx.OTHER_CHANNEL)
    config("retention", ports, days=90)

    assert stored(table) == GuildConfig(
        guild_id=fx.GUILD,
        retention_days=90,
        log_channel_id=fx.CHANNEL,
        ignored_channels=frozenset({fx.OTHER_CHANNEL}),
        disabled_categories=frozenset({"voice"}),
    )
    assert table.items[(keys.guild_pk(fx.GUILD), keys.CONFIG_SK)]["updated_by"] == fx.MODERATOR


def test_config_undoes_a_setting_when_turned_back(table: MemoryTable, ports: Ports) -> None:
    config("channel", ports, channel=fx.CHANNEL)
    config("events", ports, category="voice", enabled=False)
    config("ignore", ports, channel=fx.OTHER_CHANNEL)

    config("channel", ports)
    config("events", ports, category="voice", enabled=True)
    content = config("ignore", ports, channel=fx.OTHER_CHANNEL, ignored=False).content

    assert stored(table) == GuildConfig(guild_id=fx.GUILD)
    assert "searchable again" in content


@pytest.mark.parametrize(
    ("sub", "options"),
    [
        ("show", {}),
        ("channel", {"channel": fx.CHANNEL}),
        ("events", {"category": "voice", "enabled": False}),
        ("ignore", {"channel": fx.CHANNEL}),
        ("retention", {"days": 7}),
    ],
)
def test_config_needs_manage_server_when_a_member_without_it_asks(
    table: MemoryTable, ports: Ports, sub: str, options: dict[str, Any]
) -> None:
    with pytest.raises(CommandError, match="Manage Server"):
        config(sub, ports, by=fx.MEMBER, permissions=fx.EVERYONE, **options)
    assert (keys.guild_pk(fx.GUILD), keys.CONFIG_SK) not in table.items


@pytest.mark.parametrize("days", [0, 3651, True, "7"])
def test_config_retention_refuses_when_days_are_out_of_bounds(ports: Ports, days: object) -> None:
    with pytest.raises(CommandError, match="whole number"):
        config("retention", ports, days=days)


def test_config_refuses_when_the_category_is_not_configurable(ports: Ports) -> None:
    with pytest.raises(CommandError, match="category"):
        config("events", ports, category="relay", enabled=False)


def test_config_refuses_when_the_channel_is_in_another_server(table: MemoryTable, ports: Ports) -> None:
    with pytest.raises(CommandError, match="not in this server"):
        config("ignore", ports, channel=fx.OTHER_CHANNEL, channel_guilds={fx.OTHER_CHANNEL: fx.OTHER_GUILD})
    assert (keys.guild_pk(fx.GUILD), keys.CONFIG_SK) not in table.items


def test_config_privacy_lists_a_channel_as_never_recorded_when_record_is_off(table: MemoryTable, ports: Ports) -> None:
    reply = config("privacy", ports, channel=fx.CHANNEL, record=False)

    assert stored(table).unrecorded_channels == frozenset({fx.CHANNEL})
    assert f"never recorded: <#{fx.CHANNEL}>" in reply.content


def test_config_privacy_records_a_channel_again_when_record_is_on(table: MemoryTable, ports: Ports) -> None:
    config("privacy", ports, channel=fx.CHANNEL, record=False)
    config("privacy", ports, channel=fx.CHANNEL, record=True)

    assert stored(table).unrecorded_channels == frozenset()


def test_config_privacy_refuses_when_record_is_missing(ports: Ports) -> None:
    with pytest.raises(CommandError):
        config("privacy", ports, channel=fx.CHANNEL)


def test_config_retention_puts_the_server_in_the_archive_index_when_set(table: MemoryTable, ports: Ports) -> None:
    config("retention", ports, days=7, archive="content-only")

    item = table.items[(keys.guild_pk(fx.GUILD), keys.CONFIG_SK)]
    assert (item["GSI3PK"], item["GSI3SK"]) == (keys.ARCHIVE_RETENTION_INDEX_PK, keys.guild_pk(fx.GUILD))
    assert stored(table).archive_mode == "content-only"


def test_config_retention_refuses_when_the_archive_choice_is_unknown(ports: Ports) -> None:
    with pytest.raises(CommandError, match="archive"):
        config("retention", ports, days=7, archive="some")
