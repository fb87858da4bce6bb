"""Our `dce` export against DiscordChatExporter files nobody on this project wrote: the
chat-analytics test samples (../shared/fixtures/chat-analytics), and a DCE parser from PyPI."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from guildlog.services.exports import ExportRequest, build_file, collect_rows
from tests.conformance.conftest import FIXTURES_ROOT, skip_module_without_fixtures
from tests.fakes import archive_data as data
from tests.fakes.archive_stores import MemoryArchive

skip_module_without_fixtures()

pytestmark = pytest.mark.conformance

SAMPLES = sorted((FIXTURES_ROOT / "chat-analytics/tests/samples/discord").glob("*.json"))
# DiscordChatExporter writes null for these when Discord has none (a channel without a parent);
# the samples happen to hold values.
NULLABLE = {"channel.categoryId", "channel.category"}
# ... and a date or an id for these when it has one; the samples were exported without a date
# range, and their replies' guild was not known.
DATED = {"dateRange.after", "dateRange.before", "messages[].reference.guildId"}


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def shape(value: Any, path: str = "", out: dict[str, set[str]] | None = None) -> dict[str, set[str]]:
    """Every key path of a document (list items as `[]`) with the JSON types found there."""
    found = out if out is not None else defaultdict(set)
    if path:
        found[path].add(json_type(value))
    if isinstance(value, dict):
        for key, item in value.items():
            shape(item, f"{path}.{key}" if path else key, found)
    elif isinstance(value, list):
        for item in value:
            shape(item, f"{path}[]", found)
    return found


@pytest.fixture(scope="module")
def ours() -> dict[str, Any]:
    archive = MemoryArchive()
    data.ingest(archive, data.export_envelopes())
    request = ExportRequest(data.GUILD, date(2026, 11, 19), date(2026, 11, 20), "dce", data.GENERAL)
    file = build_file(request, collect_rows(archive, request), datetime(2026, 11, 22, tzinfo=UTC))
    return json.loads(file.body)


def test_chat_analytics_samples_are_present_when_the_fixtures_are() -> None:
    assert [p.name for p in SAMPLES] == ["DM_2A_2M.json", "GC_3A_5M.json", "SV_5A_5M.json"]


def compared_paths(theirs: dict[str, set[str]], mine: dict[str, set[str]]) -> list[str]:
    """The sample's paths, less those inside a list that is empty in ours (we log no stickers or embeds)."""
    paths = []
    for path in sorted(theirs):
        lists = [path[: i + 2] for i in range(len(path)) if path.startswith("[]", i)]
        if any(prefix not in mine for prefix in lists):
            continue
        paths.append(path)
    return paths


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_dce_export_has_every_field_of_the_sample_when_compared(ours: dict[str, Any], sample: Path) -> None:
    theirs = shape(json.loads(sample.read_text(encoding="utf-8")))
    mine = shape(ours)

    missing = [path for path in compared_paths(theirs, mine) if path not in mine]

    assert missing == [], f"{sample.name} has fields our export lacks"


def test_dce_export_gives_each_field_a_type_the_samples_use_when_compared(ours: dict[str, Any]) -> None:
    # One sample's null is another's string (a DM has no topic): the samples together fix the types.
    theirs: dict[str, set[str]] = defaultdict(set)
    for sample in SAMPLES:
        for path, types in shape(json.loads(sample.read_text(encoding="utf-8"))).items():
            theirs[path] |= types
    mine = shape(ours)

    wrong = {
        path: (sorted(mine[path]), sorted(theirs[path]))
        for path in compared_paths(theirs, mine)
        if not mine[path]
        <= theirs[path] | ({"null"} if path in NULLABLE else set()) | ({"string"} if path in DATED else set())
    }

    assert wrong == {}


def test_dce_export_fills_what_chat_analytics_reads_when_it_parses_a_message(ours: dict[str, Any]) -> None:
    # chat-analytics' DiscordParser reads these of every message of type Default or Reply.
    assert ours["guild"]["name"] and ours["channel"]["id"] and ours["channel"]["name"]
    for message in ours["messages"]:
        assert message["type"] in ("Default", "Reply")
        assert isinstance(message["author"]["nickname"], str) and message["author"]["discriminator"].isdigit()
        assert isinstance(message["content"], str) and isinstance(message["mentions"], list)
        for mention in message["mentions"]:
            assert isinstance(mention["name"], str) and isinstance(mention["nickname"], str)
        for reaction in message["reactions"]:
            assert reaction["emoji"]["name"] and isinstance(reaction["count"], int)
        for attachment in message["attachments"]:
            assert isinstance(attachment["fileName"], str)
        datetime.fromisoformat(message["timestamp"])  # Date.parse in chat-analytics


def test_dce_export_loads_in_a_dce_parser_from_pypi_when_it_is_installed(ours: dict[str, Any]) -> None:
    dcx = pytest.importorskip("dcx_pd", reason="dcx-pd (a DiscordChatExporter parser) needs Python 3.13")

    export = dcx.Export(**ours)

    assert export.guild.name == "Fixture Guild"
    assert [str(m.id) for m in export.messages] == [m["id"] for m in ours["messages"]]
    assert export.messages[0].timestamp_edited is not None


# --- the same file from `guildlog export`, whose exported day names neither the server nor the channel


@pytest.fixture(scope="module")
def cli_export(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`guildlog export --local --format dce` of 2026-11-20 alone: that day's rows hold no guild or
    channel event, so the names can only come from the directory, fed by a GUILD_CREATE days before."""
    import boto3

    from guildlog.adapters.dynamodb_store import DynamoStore
    from guildlog.adapters.s3_archive import S3Archive
    from guildlog.models.envelope import Envelope
    from guildlog.services.directory import Directory
    from guildlog.services.ingest import Ingestor
    from guildlog_tools.cli import main
    from guildlog_tools.local.moto_server import moto_server
    from guildlog_tools.local.template import load_template, table_definition

    folder = tmp_path_factory.mktemp("cli-export")
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
    with moto_server() as url:
        s3 = boto3.session.Session().client("s3", endpoint_url=url, **credentials)
        dynamodb = boto3.session.Session().client("dynamodb", endpoint_url=url, **credentials)
        s3.create_bucket(Bucket="archive")
        dynamodb.create_table(**{**table_definition(load_template()), "TableName": "hot"})
        archive, store = S3Archive("archive", s3), DynamoStore("hot", dynamodb)
        data.ingest(archive, data.export_envelopes())
        guild = {
            "id": data.GUILD,
            "name": "Fixture Guild",
            "channels": [
                {"id": data.CATEGORY, "name": "Chat", "type": 4},
                {"id": data.GENERAL, "name": "general", "type": 0, "parent_id": data.CATEGORY, "topic": "say hi"},
            ],
        }
        event = {
            "seq": 1,
            "t": "GUILD_CREATE",
            "received_at": "2026-11-17T08:00:00.000Z",
            "source": "gateway",
            "d": guild,
        }
        body = {"v": 1, "batch_id": "batch-0000", "relay": {"session_id": "s-0", "shard": [0, 1]}, "events": [event]}
        ingestor = Ingestor(
            archive, store, directory=Directory(store), clock=lambda: data.moment("2026-11-22T00:00:00Z")
        )
        ingestor.ingest(Envelope.model_validate(body), [event])
        dev_file, out = folder / "dev.json", folder / "general.dce.json"
        dev_file.write_text(json.dumps({"aws_endpoint_url": url, "bucket": "archive", "table": "hot"}))

        code = main(
            [
                "export", "--local", "--dev-file", str(dev_file), "--guild", data.GUILD, "--channel", data.GENERAL,
                "--day", "2026-11-20", "--format", "dce", "--out", str(out),
            ]
        )  # fmt: skip

        assert code == 0
        yield json.loads(out.read_text(encoding="utf-8"))


def test_dce_cli_export_gives_chat_analytics_the_real_names_when_the_exported_day_names_none(
    cli_export: dict[str, Any],
) -> None:
    # chat-analytics' DiscordParser titles the guild and the channel with these.
    assert cli_export["guild"] == {**cli_export["guild"], "id": data.GUILD, "name": "Fixture Guild"}
    assert (cli_export["channel"]["name"], cli_export["channel"]["category"]) == ("general", "Chat")
    assert cli_export["messages"] and all(m["author"]["nickname"] for m in cli_export["messages"])


def test_dce_cli_export_gives_dcx_pd_the_real_names_when_the_exported_day_names_none(
    cli_export: dict[str, Any],
) -> None:
    dcx = pytest.importorskip("dcx_pd", reason="dcx-pd (a DiscordChatExporter parser) needs Python 3.13")

    export = dcx.Export(**cli_export)

    assert (export.guild.name, export.channel.name, str(export.channel.category_id)) == (
        "Fixture Guild",
        "general",
        data.CATEGORY,
    )
