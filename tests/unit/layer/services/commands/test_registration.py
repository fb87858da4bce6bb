"""guildlog.services.commands.registration: Discord's registered commands versus the definitions."""

from __future__ import annotations

import copy
from typing import Any

from guildlog.services.commands.definitions import registration_payload
from guildlog.services.commands.registration import comparable, diff_commands


def as_discord_returns(command: dict[str, Any]) -> dict[str, Any]:
    """What Discord answers for a registered command: ids, versions, explicit nulls, no `required: false`."""
    out = copy.deepcopy(command)
    out.update(
        {
            "id": "1400000000000000001",
            "application_id": "1300000000000000001",
            "version": "1400000000000000002",
            "name_localizations": None,
            "description_localizations": None,
            "dm_permission": False,
        }
    )
    return out


def test_diff_is_in_sync_when_discord_has_what_the_code_defines() -> None:
    wanted = registration_payload()

    diff = diff_commands(wanted, [as_discord_returns(c) for c in wanted])

    assert diff.in_sync
    assert diff.same == [c["name"] for c in wanted]


def test_diff_lists_additions_and_removals_when_the_sets_differ() -> None:
    wanted = registration_payload()
    stale = {"name": "oldlogs", "type": 1, "description": "gone"}

    diff = diff_commands(wanted, [stale, as_discord_returns(wanted[0])])

    assert diff.added == [c["name"] for c in wanted[1:]]
    assert diff.removed == ["oldlogs"]


def test_diff_names_the_field_when_an_option_changed() -> None:
    wanted = registration_payload()
    registered = [as_discord_returns(c) for c in wanted]
    search = registered[0]["options"][0]
    search["options"][3]["max_length"] = 20

    diff = diff_commands(wanted, registered)

    [(name, differences)] = diff.changed.items()
    assert name == "logs"
    assert differences == ["options[search].options[contains].max_length: 20 → 50"]


def test_diff_sees_a_permission_change_when_discord_has_other_defaults() -> None:
    wanted = registration_payload()
    registered = [as_discord_returns(c) for c in wanted]
    registered[0]["default_member_permissions"] = None

    assert "default_member_permissions: None → '32'" in diff_commands(wanted, registered).changed["logs"]


def test_comparable_fills_discords_defaults_when_fields_are_missing() -> None:
    bare = comparable({"name": "x", "description": "y", "options": [{"type": 3, "name": "o", "description": "d"}]})
    explicit = comparable(
        {
            "name": "x",
            "type": 1,
            "description": "y",
            "nsfw": False,
            "default_member_permissions": None,
            "options": [{"type": 3, "name": "o", "description": "d", "required": False, "choices": []}],
        }
    )

    assert bare == explicit
