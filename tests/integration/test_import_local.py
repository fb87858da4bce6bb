"""`guildlog import` against the local stack: --local (the ingest service) and --endpoint (the signed
webhook) write the same rows, a re-run through either adds nothing, and /logs message sees them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from guildlog.adapters.hot_reader import HotReader
from guildlog.services.commands.message import message_history
from guildlog_tools.cli import main
from guildlog_tools.local.stack import LocalStack

pytestmark = pytest.mark.integration

GUILD = "900000000000000001"
CHANNEL = "900000000000000010"
AUTHOR = "900000000000000100"
# Yesterday noon UTC: inside the hot retention, so the rows reach the hot table too.
MOMENT = (datetime.now(UTC) - timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)


def snowflake_at(moment: datetime, low: int) -> str:
    return str(((int(moment.timestamp() * 1000) - 1_420_070_400_000) << 22) + low)


MESSAGES = [snowflake_at(MOMENT + timedelta(minutes=n), n) for n in range(3)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with LocalStack(dev_file=tmp_path_factory.mktemp("state") / "dev.json") as running:
        yield running


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "pigpig.ndjson"
    lines = [
        {
            "message_id": message_id,
            "channel_id": CHANNEL,
            "guild_id": GUILD,
            "author_id": AUTHOR,
            "author_name": "ada",
            "content": f"imported message {n}",
            "created_at": (MOMENT + timedelta(minutes=n)).isoformat(),
        }
        for n, message_id in enumerate(MESSAGES)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, str]]:
    code = main(["import", *args, "--no-progress"])
    out = capsys.readouterr().out
    fields = {}
    for line in out.splitlines():
        name, _, value = line.partition(" ")
        fields[name] = value.strip().split(" ")[0]
    return code, fields


def test_import_local_lands_messages_in_hot_table_and_archive_when_target_is_local(
    stack: LocalStack, log_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    local = ["--local", "--dev-file", str(stack.dev_file), "--checkpoint", str(tmp_path / "cp.json")]
    code, summary = run_cli(["ndjson", str(log_file), *local], capsys)
    assert (code, summary["read"], summary["imported"]) == (0, "3", "3")
    history = message_history(HotReader(stack.table, stack.client("dynamodb")), MESSAGES[1], GUILD)
    assert history is not None
    assert [version["content"] for version in history.versions] == ["imported message 1"]
    listed = stack.client("s3").list_objects_v2(Bucket=stack.bucket, Prefix="events/").get("Contents", [])
    assert any(f"day={MOMENT:%d}/import-" in item["Key"] for item in listed)


def test_import_webhook_adds_nothing_when_local_import_already_stored_the_same_file(
    stack: LocalStack, log_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert stack.keys is not None
    key_file = tmp_path / "relay.key"
    key_file.write_text(stack.keys.relay_private_key, encoding="utf-8")
    local = ["--local", "--dev-file", str(stack.dev_file), "--checkpoint", str(tmp_path / "cp-local.json")]
    run_cli(["ndjson", str(log_file), *local], capsys)
    before = stack.client("s3").list_objects_v2(Bucket=stack.bucket).get("KeyCount")
    webhook = [
        "--endpoint",
        stack.gateway_events_url,
        "--signing-key-file",
        str(key_file),
        "--checkpoint",
        str(tmp_path / "cp-webhook.json"),
    ]
    code, summary = run_cli(["ndjson", str(log_file), *webhook], capsys)
    assert (code, summary["imported"], summary["duplicates"]) == (0, "0", "3")
    assert stack.client("s3").list_objects_v2(Bucket=stack.bucket).get("KeyCount") == before
