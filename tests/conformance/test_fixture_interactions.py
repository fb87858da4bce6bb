"""The interactions webhook and the command definitions against payloads nobody on this project wrote.

- kord: APPLICATION_COMMAND interactions from Kord's tests (a sub-command group whose inner type is
  the string "1"), for commands that are not guildlog's.
- discord-api-docs: the Application Commands page's example interactions (slash, user and message
  commands, an autocomplete) and its example command objects, some with `//` comments.

Every interaction, signed as Discord signs it, gets an answer Discord accepts — never a 5xx — and a
command guildlog does not know gets an ephemeral note. Every documented command object passes the
checks `guildlog commands sync` runs before it registers anything, and compares equal to itself
once Discord's defaults are added.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from guildlog.adapters.signatures import Signer, generate_keypair
from guildlog.handlers.interactions import handle
from guildlog.models.interaction import Interaction
from guildlog.services.commands import protocol as p
from guildlog.services.commands.app import UNKNOWN_COMMAND, InteractionApp
from guildlog.services.commands.context import Ports, command_path
from guildlog.services.commands.cursor import HmacCursorCodec
from guildlog.services.commands.definitions import check_command
from guildlog.services.commands.registration import diff_commands
from tests.conformance.conftest import FIXTURES_ROOT, load_json, skip_module_without_fixtures
from tests.fakes import interactions as fx
from tests.fakes.memory_table import MemoryTable

skip_module_without_fixtures()

pytestmark = pytest.mark.conformance

KORD = Path("kord/common/src/commonTest/resources/json/interaction")
EXAMPLES = Path("discord-api-docs/developers/interactions/application-commands.mdx.examples")
KEYS = generate_keypair()
SIGNER = Signer(KEYS.private_key)


def examples(pattern: str) -> list[Path]:
    return sorted((FIXTURES_ROOT / EXAMPLES).glob(pattern))


def relaxed_json(path: Path) -> Any:
    """A `.json.txt` example: JSON with `//` comments and trailing commas, as the docs print it."""
    text = re.sub(r"//[^\n]*", "", path.read_text(encoding="utf-8"))
    return json.loads(re.sub(r",(\s*[}\]])", r"\1", text))


def is_interaction(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("type"), int) and "token" in value


def is_command_object(value: Any) -> bool:
    return isinstance(value, dict) and "name" in value and "token" not in value and "data" not in value


INTERACTIONS = [(f"kord/{path.name}", path) for path in sorted((FIXTURES_ROOT / KORD).glob("*.json"))] + [
    (f"docs/{path.name}", path) for path in examples("*.json") if is_interaction(json.loads(path.read_text()))
]
AUTOCOMPLETE = [path for path in examples("*.json") if "autocomplete" in path.name]
COMMAND_OBJECTS = [(path.name, json.loads(path.read_text())) for path in examples("*.json")] + [
    (path.name, relaxed_json(path)) for path in examples("*.json.txt")
]
COMMAND_OBJECTS = [(name, value) for name, value in COMMAND_OBJECTS if is_command_object(value)]


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> InteractionApp:
    monkeypatch.setenv("GUILDLOG_DISCORD_PUBLIC_KEY", KEYS.public_key)
    table = MemoryTable()
    return InteractionApp(Ports(reader=table, config=table, cursors=HmacCursorCodec(b"k" * 32)), table, _NoWorker())


class _NoWorker:
    def invoke(self, job: Any) -> None:
        pass


def test_fixtures_hold_interactions_and_command_objects_when_listed() -> None:
    assert len(INTERACTIONS) >= 5
    assert len(COMMAND_OBJECTS) >= 8
    assert AUTOCOMPLETE


@pytest.mark.parametrize(("name", "path"), INTERACTIONS, ids=[n for n, _ in INTERACTIONS])
def test_signed_interaction_gets_an_ephemeral_unknown_command_note_when_the_command_is_not_ours(
    app: InteractionApp, name: str, path: Path
) -> None:
    payload = json.loads(path.read_text())

    answer = handle(fx.signed_event(payload, SIGNER), lambda: app)

    assert answer["statusCode"] == 200, answer["body"]
    body = json.loads(answer["body"])
    assert body["type"] == p.CHANNEL_MESSAGE_WITH_SOURCE
    assert body["data"]["content"] == UNKNOWN_COMMAND
    assert body["data"]["flags"] == p.EPHEMERAL
    assert body["data"]["allowed_mentions"] == {"parse": []}


@pytest.mark.parametrize(("name", "path"), INTERACTIONS, ids=[n for n, _ in INTERACTIONS])
def test_interaction_model_reads_who_asked_and_their_permissions_when_parsed(name: str, path: Path) -> None:
    interaction = Interaction.model_validate(json.loads(path.read_text()))

    assert interaction.requester is not None and interaction.requester.id.isdigit()
    assert interaction.permissions & p.MANAGE_GUILD
    assert interaction.guild_id is not None


def test_command_path_follows_kords_group_when_the_sub_command_type_is_text() -> None:
    interaction = Interaction.model_validate(load_json(KORD / "groupsubcommand.json"))
    assert interaction.data is not None

    path, options = command_path(interaction.data.options, str(interaction.data.name))

    assert path == ("testsubcommands", "group", "groupsubcommand")
    assert options == {"testint": 1}


@pytest.mark.parametrize("path", AUTOCOMPLETE, ids=[p.name for p in AUTOCOMPLETE])
def test_autocomplete_gets_an_empty_choice_list_when_discord_asks(app: InteractionApp, path: Path) -> None:
    payload = {**json.loads(path.read_text()), "id": fx.snowflake(), "application_id": fx.APPLICATION, "token": "t"}

    answer = handle(fx.signed_event(payload, SIGNER), lambda: app)

    assert json.loads(answer["body"]) == {"type": p.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT, "data": {"choices": []}}


@pytest.mark.parametrize(("name", "command"), COMMAND_OBJECTS, ids=[n for n, _ in COMMAND_OBJECTS])
def test_documented_command_object_passes_the_checks_sync_runs_when_checked(name: str, command: dict[str, Any]) -> None:
    assert check_command(command) == []


@pytest.mark.parametrize(("name", "command"), COMMAND_OBJECTS, ids=[n for n, _ in COMMAND_OBJECTS])
def test_documented_command_object_is_in_sync_with_itself_when_discord_adds_its_defaults(
    name: str, command: dict[str, Any]
) -> None:
    registered = {
        "id": "1",
        "application_id": "2",
        "version": "3",
        "nsfw": False,
        "default_member_permissions": None,
        "name_localizations": None,
        "description_localizations": None,
        **command,
    }

    assert diff_commands([command], [registered]).in_sync
