"""`guildlog forget` against moto's server, as `--local` reaches the dev stack."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest

from guildlog.adapters.dynamodb_store import DynamoStore
from guildlog.adapters.erasure_store import ErasureStore
from guildlog.adapters.s3_archive import S3Archive
from guildlog.adapters.s3_rewrite import S3VersionedObjects
from guildlog.models.envelope import Envelope
from guildlog.services.directory import Directory
from guildlog.services.erasure.archive_query import ArchiveMemberQueries
from guildlog.services.erasure.job import ErasureJob, ErasureRequest
from guildlog.services.erasure.tombstones import TombstoneFilter
from guildlog.services.ingest import Ingestor
from guildlog_tools.cli import main
from guildlog_tools.cli.forget import FreshLocalEngine
from guildlog_tools.local.template import load_template, table_definition
from tests.fakes import archive_data as data
from tests.integration.s3_server import CREDENTIALS, REGION, S3Server, moto_s3_server

pytestmark = pytest.mark.integration

BUCKET = "forget-archive"
TABLE = "forget-table"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[S3Server, Any, Path]]:
    with moto_s3_server() as server:
        server.create_bucket(BUCKET, versioned=True)
        dynamodb = boto3.session.Session().client(
            "dynamodb", endpoint_url=server.endpoint_url, region_name=REGION, **CREDENTIALS
        )
        dynamodb.create_table(**{**table_definition(load_template()), "TableName": TABLE})
        store = DynamoStore(TABLE, dynamodb)
        ingestor = Ingestor(
            S3Archive(BUCKET, server.s3),
            store,
            clock=lambda: data.moment("2026-11-22T00:00:00Z"),
            directory=Directory(store),
            tombstones=TombstoneFilter(ErasureStore(TABLE, dynamodb)),
        )
        for envelope, raw in data.export_envelopes():
            ingestor.ingest(envelope, raw)
        dev_file = tmp_path / "dev.json"
        dev_file.write_text(
            json.dumps({"aws_endpoint_url": server.endpoint_url, "bucket": BUCKET, "table": TABLE, "region": REGION})
        )
        yield server, dynamodb, dev_file


def _archive_text(server: S3Server) -> str:
    texts = []
    for key in server.keys(BUCKET):
        texts.append(gzip.decompress(server.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).decode())
    return "".join(texts)


def test_forget_command_erases_the_member_and_prints_a_clean_receipt_when_run_locally(
    stack: tuple[S3Server, Any, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    server, _, dev_file = stack
    assert "line one" in _archive_text(server)

    code = main(
        ["forget", "--local", "--dev-file", str(dev_file), "--guild", data.GUILD, "--user", data.ALICE, "--yes"]
    )

    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "nothing of the member's content or names is left" in printed
    assert "line one" not in _archive_text(server) and "spam spam" in _archive_text(server)


def test_forget_command_refuses_to_start_when_not_confirmed(
    stack: tuple[S3Server, Any, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    server, _, dev_file = stack

    code = main(["forget", "--local", "--dev-file", str(dev_file), "--guild", data.GUILD, "--user", data.ALICE])

    assert code == 2
    assert "cannot be undone: add --yes" in capsys.readouterr().err
    assert "line one" in _archive_text(server)


def test_forget_command_names_the_flag_when_an_id_is_not_a_snowflake(
    stack: tuple[S3Server, Any, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, dev_file = stack

    code = main(["forget", "--local", "--dev-file", str(dev_file), "--guild", "my-server", "--yes"])

    assert code == 2
    assert "--guild takes a Discord id" in capsys.readouterr().err


def test_forget_command_deletes_every_record_of_the_guild_when_no_member_is_named(
    stack: tuple[S3Server, Any, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    server, dynamodb, dev_file = stack

    code = main(["forget", "--local", "--dev-file", str(dev_file), "--guild", data.GUILD, "--yes"])

    assert code == 0, capsys.readouterr().out
    text = _archive_text(server)
    assert data.GUILD not in text and "elsewhere" in text  # the other guild's message stays
    items = dynamodb.scan(TableName=TABLE)["Items"]  # the test's own check of the whole table
    left = [i for i in items if data.GUILD in json.dumps(i) and not i["PK"]["S"].endswith("#ERASE")]
    assert left == []


# A member known only to the archive: imported history from long before the hot table's retention, so
# the member index holds nothing of theirs and only the archive's query can name the day.
DAVE = "700000000000000104"
OLD_DAY = "2026-06-01"
OLD_MESSAGE = data.snowflake(f"{OLD_DAY}T09:00:00.000Z", 7)


def _archive_only_history(server: S3Server) -> None:
    _, d, at = data.message_create(OLD_MESSAGE, data.GENERAL, DAVE, "dave", f"{OLD_DAY}T09:00:00.000Z", "dave's diary")
    event = {"t": "MESSAGE_CREATE", "received_at": at, "source": "import", "id": f"dce:{OLD_MESSAGE}", "d": d}
    body = {"v": 1, "batch_id": "import-0701", "relay": {"session_id": data.SESSION, "shard": [0, 1]}}
    data.ingest(S3Archive(BUCKET, server.s3), [(Envelope.model_validate({**body, "events": [event]}), [event])])


def _queries(dev_file: Path) -> ArchiveMemberQueries:
    return ArchiveMemberQueries(FreshLocalEngine(str(dev_file)))


def test_archive_query_finds_the_day_of_a_member_known_only_to_the_archive(stack: tuple[S3Server, Any, Path]) -> None:
    server, _, dev_file = stack
    _archive_only_history(server)

    days = _queries(dev_file).member_days(data.GUILD, DAVE)
    left = _queries(dev_file).verify(data.GUILD, DAVE)

    assert days == [date.fromisoformat(OLD_DAY)]
    assert left.left == {"events": 1, "events_csv": 1}  # before the erasure the query sees the message


def test_forget_command_erases_a_member_known_only_to_the_archive_and_the_query_finds_nothing_left(
    stack: tuple[S3Server, Any, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    server, dynamodb, dev_file = stack
    _archive_only_history(server)
    assert ErasureStore(TABLE, dynamodb).member_items(data.GUILD, DAVE) == []
    assert "dave's diary" in _archive_text(server)

    code = main(
        ["forget", "--local", "--dev-file", str(dev_file), "--guild", data.GUILD, "--user", DAVE, "--yes", "--no-wait"]
    )

    printed = capsys.readouterr().out
    assert code == 0, printed
    text = _archive_text(server)
    assert "dave's diary" not in text and '"dave"' not in text
    assert "line one" in text  # alice was not asked about
    assert "Archive query over events and events_csv" in printed and "0 of the member's rows" in printed
    [receipt] = ErasureStore(TABLE, dynamodb).receipts(data.GUILD)
    assert receipt.archive["events"] == {OLD_DAY: 1}
    assert receipt.verification.query_left == {"events": 0, "events_csv": 0}
    assert "FROM events" in receipt.verification.query and "dave" not in receipt.to_json()


def test_erasure_without_the_archive_query_misses_a_member_known_only_to_the_archive(
    stack: tuple[S3Server, Any, Path],
) -> None:
    server, dynamodb, _ = stack
    _archive_only_history(server)
    job = ErasureJob(ErasureStore(TABLE, dynamodb), S3VersionedObjects(BUCKET, server.s3), settle_seconds=0)

    receipt = job.run(ErasureRequest(data.GUILD, DAVE, "job-hot-only", "cli", "2026-11-22T00:00:00.000Z"))

    assert receipt.archive == {} and "dave's diary" in _archive_text(server)
