"""guildlog.services.commands.definitions: the one source for registration and routing."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

from guildlog.models.config import GuildConfig
from guildlog.services.commands import definitions
from guildlog.services.commands import protocol as p
from guildlog.services.commands.definitions import all_leaves, check_command, find_leaf, registration_payload


@pytest.mark.parametrize("command", registration_payload(), ids=lambda c: c["name"])
def test_registration_payload_follows_discords_rules_when_built(command: dict[str, object]) -> None:
    assert check_command(command) == []


@pytest.mark.parametrize(
    ("path", "leaf"), all_leaves(), ids=lambda v: "/" + " ".join(v) if isinstance(v, tuple) else ""
)
def test_every_leaf_routes_to_a_function_of_its_command_module_when_routed(
    path: tuple[str, ...], leaf: definitions.Leaf
) -> None:
    assert leaf.handler.__module__ == "guildlog.services.commands.routes", path
    # The route's body names a module and a function: both must exist.
    source = inspect.getsource(leaf.handler)
    [(module_name, alias)] = re.findall(r"from guildlog\.services\.commands import (\w+)(?: as (\w+))?", source)
    [function] = re.findall(rf"return {alias or module_name}\.(\w+)\(call, ports\)", source)
    module = importlib.import_module(f"guildlog.services.commands.{module_name}")
    assert callable(getattr(module, function)), path


def test_find_leaf_returns_the_leaf_when_the_path_is_registered() -> None:
    assert find_leaf(("logs", "config", "retention")) is not None
    assert find_leaf(("stats",)) is not None


@pytest.mark.parametrize("path", [("logs",), ("logs", "nothing"), ("logs", "config"), ("guildlog", "deleted")])
def test_find_leaf_returns_none_when_the_path_is_not_a_leaf(path: tuple[str, ...]) -> None:
    assert find_leaf(path) is None


def test_logs_needs_manage_server_by_default_when_registered() -> None:
    [logs] = [c for c in registration_payload() if c["name"] == "logs"]
    assert logs["default_member_permissions"] == str(p.MANAGE_GUILD)
    assert logs["contexts"] == [p.CONTEXT_GUILD]


@pytest.mark.parametrize("name", ["stats", "forget-me"])
def test_member_commands_are_open_to_members_by_default_when_registered(name: str) -> None:
    [command] = [c for c in registration_payload() if c["name"] == name]
    assert command["default_member_permissions"] is None
    assert command["contexts"] == [p.CONTEXT_GUILD]


def test_only_config_writes_and_erasures_are_marked_as_mutating_when_defined() -> None:
    mutating = {path for path, leaf in all_leaves() if leaf.mutates}
    assert mutating == {
        ("logs", "config", name)
        for name in (
            "channel",
            "events",
            "ignore",
            "retention",
            "log-ignore",
            "bots",
            "delivery",
            "test",
            "attachments",
            "privacy",
            "viewers",
        )
    } | {("logs", "forget", "user"), ("forget-me",)}


def test_stats_is_deferred_when_the_period_is_thirty_days() -> None:
    leaf = find_leaf(("stats",))
    assert leaf is not None
    assert leaf.defer({"period": "30d"}) is True
    assert leaf.defer({"period": "7d"}) is False
    assert leaf.defer({}) is False


def test_retention_bounds_match_the_guild_config_model_when_defined() -> None:
    bounds = {m.__class__.__name__: m for m in GuildConfig.model_fields["retention_days"].metadata}
    assert bounds["Ge"].ge == definitions.MIN_RETENTION_DAYS
    assert bounds["Le"].le == definitions.MAX_RETENTION_DAYS


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"name": "Logs"}, "lower-case"),
        ({"description": ""}, "description"),
        ({"default_member_permissions": 32}, "default_member_permissions"),
        ({"options": [{"type": 3, "name": f"o{n}", "description": "x"} for n in range(26)]}, "more than 25 options"),
        (
            {
                "options": [
                    {"type": 3, "name": "a", "description": "x"},
                    {"type": 3, "name": "b", "description": "x", "required": True},
                ]
            },
            "required options come before",
        ),
        (
            {"options": [{"type": 1, "name": "a", "description": "x"}, {"type": 3, "name": "b", "description": "x"}]},
            "beside",
        ),
        (
            {"options": [{"type": 3, "name": "a", "description": "x", "choices": [{"name": "c", "value": "v" * 101}]}]},
            "100",
        ),
        (
            {
                "options": [
                    {
                        "type": 3,
                        "name": f"o{n}",
                        "description": "d",
                        "choices": [{"name": f"{c:010d}", "value": f"{c:010d}"} for c in range(25)],
                    }
                    for n in range(10)
                ]
            },
            "4000",
        ),
    ],
)
def test_check_command_names_the_problem_when_a_rule_is_broken(change: dict[str, object], problem: str) -> None:
    command = {"name": "logs", "type": 1, "description": "Search", **change}
    problems = check_command(command)
    assert problems
    assert any(problem in found for found in problems), problems


def test_attachment_cap_bounds_match_the_config_model_when_defined() -> None:
    from guildlog.models.config import DEFAULT_ATTACHMENT_MAX_MB, MAX_ATTACHMENT_MAX_MB
    from guildlog.services.commands import attachment_settings, definitions

    assert definitions.MAX_ATTACHMENT_MAX_MB == MAX_ATTACHMENT_MAX_MB
    assert attachment_settings.DEFAULT_MAX_MB == DEFAULT_ATTACHMENT_MAX_MB
