"""The service function behind each command leaf (definitions.py names them: `handler=routes.search`).

Each imports its command module on first use, so an interactions container loads only the
commands it is asked; a reader or an editor follows a leaf to its function from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from guildlog.services.commands.context import Call, Ports, Reply


def search(call: Call, ports: Ports) -> Reply:
    from guildlog.services.commands import search as command

    return command.run(call, ports)


def message(call: Call, ports: Ports) -> Reply:
    from guildlog.services.commands import message as command

    return command.run(call, ports)


def status(call: Call, ports: Ports) -> Reply:
    from guildlog.services.commands import status as command

    return command.run(call, ports)


def export(call: Call, ports: Ports) -> Reply:
    from guildlog.services.commands import export as command

    return command.run(call, ports)


def stats(call: Call, ports: Ports) -> Reply:
    from guildlog.services.commands import stats as command

    return command.run(call, ports)


def config_show(call: Call, ports: Ports) -> Reply:
    from guildlog.services.commands import settings

    return settings.show(call, ports)


def config_channel(call: Call, ports: Ports) -> Reply:
    from guildlog.services.commands import settings

    return settings.channel(call, ports)


def config_events(call: Call, ports: Ports) -> Reply:
    from guildlog.services.commands import settings

    return settings.events(call, ports)


def config_ignore(call: Call, ports: Ports) -> Reply:
    from guildlog.services.commands import settings

    return settings.ignore(call, ports)


def config_retention(call: Call, ports: Ports) -> Reply:
    from guildlog.services.commands import settings

    return settings.retention(call, ports)


def config_log_ignore(call: Call, ports: Ports) -> Reply:
    from guildlog.services.commands import settings

    return settings.log_ignore(call, ports)


def config_bots(call: Call, ports: Ports) -> Reply:
    from guildlog.services.commands import settings

    return settings.bots(call, ports)


def config_delivery(call: Call, ports: Ports) -> Reply:
    from guildlog.services.commands import settings

    return settings.delivery(call, ports)


def config_test(call: Call, ports: Ports) -> Reply:
    from guildlog.services.commands import settings

    return settings.test(call, ports)


def config_attachments(call: Call, ports: Ports) -> Reply:
    from guildlog.services.commands import attachment_settings

    return attachment_settings.attachments(call, ports)


def config_privacy(call: Call, ports: Ports) -> Reply:
    from guildlog.services.commands import settings

    return settings.privacy(call, ports)


def config_viewers(call: Call, ports: Ports) -> Reply:
    from guildlog.services.commands import viewers

    return viewers.run(call, ports)


def forget_user(call: Call, ports: Ports) -> Reply:
    from guildlog.services.commands import forget

    return forget.user(call, ports)


def forget_me(call: Call, ports: Ports) -> Reply:
    from guildlog.services.commands import forget

    return forget.me(call, ports)


def forget_receipts(call: Call, ports: Ports) -> Reply:
    from guildlog.services.commands import forget

    return forget.receipts(call, ports)
