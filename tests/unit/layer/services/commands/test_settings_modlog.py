"""`/logs config` for the moderation log: channels per kind or category, log ignores, bots, delivery, test."""

from __future__ import annotations

import json
from typing import Any

import pytest

from guildlog.errors import CommandError
from guildlog.models.config import GuildConfig
from guildlog.services.commands import settings, status
from guildlog.services.commands.context import Ports, Reply
from guildlog.services.commands.definitions import LOG_CATEGORIES, LOG_KINDS
from guildlog.services.modlog.delivery import Deliverer, Job
from guildlog.services.modlog.kinds import CATEGORIES, KINDS
from tests.fakes import interactions as fx
from tests.fakes.memory_table import MemoryTable
from tests.unit.layer.services.commands.conftest import call_of

ROLE = "1300000000000000150"


class FakeQueue:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, messages: list[tuple[str, str, str]]) -> int:
        self.sent.extend(messages)
        return 1


def run(sub: str, ports: Ports, **options: Any) -> Reply:
    kwargs = {k: options.pop(k) for k in ("by", "permissions") if k in options}
    payload = fx.command("logs", "config", sub, options=options, **kwargs)
    return getattr(settings, sub.replace("-", "_"))(call_of(payload), ports)


def stored(table: MemoryTable) -> GuildConfig:
    return GuildConfig.model_validate(table.items[(f"G#{fx.GUILD}", "CONFIG")])


def test_log_kinds_are_the_renderers_kinds_when_defined() -> None:
    assert set(LOG_KINDS) == set(KINDS) and LOG_CATEGORIES == CATEGORIES


def test_config_channel_routes_a_category_when_for_is_given(table: MemoryTable, ports: Ports) -> None:
    run("channel", ports, channel=fx.CHANNEL)
    run("channel", ports, channel=fx.OTHER_CHANNEL, **{"for": "moderation"})
    run("channel", ports, **{"for": "voice", "off": True})

    config = stored(table)
    assert config.log_channel_id == fx.CHANNEL
    assert config.log_routes == {"moderation": fx.OTHER_CHANNEL, "voice": "off"}


def test_config_channel_tries_a_stopped_channel_again_when_it_is_set_again(table: MemoryTable, ports: Ports) -> None:
    table.update_config(fx.GUILD, actor_id="x", at="t", set_fields={f"error#{fx.CHANNEL}": "no access (403)"})

    run("channel", ports, channel=fx.CHANNEL)

    assert stored(table).log_channel_errors == {}


def test_config_channel_refuses_an_unknown_target_when_for_is_not_a_kind(ports: Ports) -> None:
    with pytest.raises(CommandError, match="`for` is one of"):
        run("channel", ports, channel=fx.CHANNEL, **{"for": "everything"})


@pytest.mark.parametrize(
    ("option", "value", "field"),
    [
        ("channel", fx.OTHER_CHANNEL, "log_ignored_channels"),
        ("user", fx.MEMBER, "log_ignored_users"),
        ("role", ROLE, "log_ignored_roles"),
    ],
)
def test_config_log_ignore_keeps_it_out_of_the_log_but_not_the_archive_when_set(
    table: MemoryTable, ports: Ports, option: str, value: str, field: str
) -> None:
    content = run("log-ignore", ports, **{option: value}).content

    config = stored(table)
    assert getattr(config, field) == frozenset({value})
    assert config.ignored_channels == frozenset()  # the archive's and search's setting is untouched
    assert "still archived" in content


def test_config_log_ignore_needs_exactly_one_target_when_run(ports: Ports) -> None:
    with pytest.raises(CommandError, match="one of"):
        run("log-ignore", ports, channel=fx.CHANNEL, user=fx.MEMBER)


def test_config_bots_and_delivery_are_stored_when_changed(table: MemoryTable, ports: Ports) -> None:
    run("bots", ports, logged=True)
    run("delivery", ports, mode="webhook")

    config = stored(table)
    assert config.log_bots is True and config.delivery == "webhook"


def test_config_changes_need_manage_server_when_run_by_a_member(ports: Ports) -> None:
    with pytest.raises(CommandError, match="Manage Server"):
        run("delivery", ports, mode="webhook", permissions=fx.EVERYONE)


def test_config_show_and_status_say_where_posting_stopped_when_discord_refused_a_channel(
    table: MemoryTable, ports: Ports
) -> None:
    run("channel", ports, channel=fx.CHANNEL)
    table.update_config(fx.GUILD, actor_id="x", at="t", set_fields={f"error#{fx.CHANNEL}": "no access (403)"})

    shown = run("show", ports).content
    answer = status.run(call_of(fx.command("logs", "status")), ports).content

    for text in (shown, answer):
        assert f"posting stopped in <#{fx.CHANNEL}>: no access (403)" in text


def test_config_test_queues_one_post_per_log_channel_when_channels_are_set(table: MemoryTable, ports: Ports) -> None:
    queue = FakeQueue()
    ports.log_queue = queue
    run("channel", ports, channel=fx.CHANNEL)
    run("channel", ports, channel=fx.OTHER_CHANNEL, **{"for": "voice"})

    run("test", ports)

    targets = [json.loads(body)["row"]["details"] for _, _, body in queue.sent]
    assert [json.loads(t)["channel"] for t in targets] == [fx.CHANNEL, fx.OTHER_CHANNEL]


def test_config_test_refuses_when_no_log_channel_is_set(ports: Ports) -> None:
    ports.log_queue = FakeQueue()

    with pytest.raises(CommandError, match="No log channel"):
        run("test", ports)


class RecordingDiscord:
    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []

    def create_message(self, channel_id: str, body: dict[str, Any], *, files: Any = None) -> dict[str, Any]:
        self.posts.append((channel_id, body))
        return {"id": "1"}

    def create_webhook(self, channel_id: str, name: str) -> dict[str, Any]:
        raise AssertionError("bot delivery")

    def execute_webhook(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raise AssertionError("bot delivery")


def test_config_test_post_reaches_a_stopped_channel_and_clears_its_error_when_delivered(
    table: MemoryTable, ports: Ports
) -> None:
    from tests.fakes.modlog_store import MemoryLogStore

    queue = FakeQueue()
    ports.log_queue = queue
    run("channel", ports, channel=fx.CHANNEL)
    table.update_config(fx.GUILD, actor_id="x", at="t", set_fields={f"error#{fx.CHANNEL}": "no access (403)"})
    run("test", ports)
    discord = RecordingDiscord()
    jobs = [Job(str(n), group, json.loads(body)["row"]) for n, (group, _, body) in enumerate(queue.sent)]

    Deliverer(discord, MemoryLogStore(table), table).deliver(jobs)

    assert [c for c, _ in discord.posts] == [fx.CHANNEL]
    assert discord.posts[0][1]["embeds"][0]["title"] == "guildlog: log test"
    assert stored(table).log_channel_errors == {}
