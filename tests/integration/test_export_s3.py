"""Exports against moto's S3 on loopback: rows read from the archive, the file under exports/, and
the presigned link fetched over HTTP as a browser would; `guildlog export --local`."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from guildlog.adapters.s3_archive import S3Archive
from guildlog.adapters.s3_exports import S3ArchiveRows, S3ExportStore
from guildlog.services.exports import Exporter, ExportRequest
from guildlog_tools.cli import main
from tests.fakes import archive_data as data
from tests.integration.s3_server import S3Server, moto_s3_server

pytestmark = pytest.mark.integration

BUCKET = "export-archive"


@pytest.fixture(scope="module")
def server() -> Iterator[S3Server]:
    with moto_s3_server() as s3_server:
        s3_server.create_bucket(BUCKET)
        data.ingest(S3Archive(BUCKET, s3_server.s3), data.export_envelopes())
        yield s3_server


def fetch(url: str) -> tuple[bytes, dict[str, str]]:
    """The body and the headers (names in lower case) of a GET."""
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - a loopback URL we just signed
        return answer.read(), {name.lower(): value for name, value in answer.headers.items()}


def test_export_link_downloads_the_file_when_opened_before_it_expires(server: S3Server) -> None:
    exporter = Exporter(S3ArchiveRows(BUCKET, server.s3), S3ExportStore(BUCKET, server.s3))

    result = exporter.export(ExportRequest(data.GUILD, date(2026, 11, 19), date(2026, 11, 20), "dce", data.GENERAL))
    body, headers = fetch(result.url)

    assert body == result.file.body
    assert headers["content-type"] == "application/json"
    assert headers["content-disposition"] == f'attachment; filename="{result.file.name}"'
    assert result.key.startswith(f"exports/{data.GUILD}/")
    document = json.loads(body)
    assert document["channel"]["name"] == "general"
    assert [m["id"] for m in document["messages"]] == [data.M1, data.M2, data.M8, data.M4, data.M5]


def test_export_reads_only_the_asked_days_when_the_archive_holds_more(server: S3Server) -> None:
    requests: list[str] = []

    def record(params: dict[str, str], **_: object) -> None:
        requests.append(params["Key"])

    server.s3.meta.events.register("before-parameter-build.s3.GetObject", record)
    try:
        Exporter(S3ArchiveRows(BUCKET, server.s3), S3ExportStore(BUCKET, server.s3)).export(
            ExportRequest(data.GUILD, date(2026, 11, 20), date(2026, 11, 20), "csv", data.GENERAL)
        )
    finally:
        server.s3.meta.events.unregister("before-parameter-build.s3.GetObject", record)

    archive_reads = [key for key in requests if not key.startswith("exports/")]  # the link is signed for a GET too
    assert archive_reads and all(key.startswith("events/year=2026/month=11/day=20/") for key in archive_reads)


def test_export_command_writes_the_file_and_prints_the_link_when_run_locally(
    server: S3Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dev_file = tmp_path / "dev.json"
    dev_file.write_text(json.dumps({"aws_endpoint_url": server.endpoint_url, "bucket": BUCKET, "region": "us-east-1"}))
    out_file = tmp_path / "general.csv"

    code = main(
        [
            "export", "--local", "--dev-file", str(dev_file), "--guild", data.GUILD, "--channel", data.GENERAL,
            "--from", "2026-11-19", "--to", "2026-11-20", "--format", "csv", "--out", str(out_file),
        ]
    )  # fmt: skip

    printed = capsys.readouterr().out
    assert code == 0
    link = next(line.split(None, 1)[1] for line in printed.splitlines() if line.startswith("link"))
    assert fetch(link)[0] == out_file.read_bytes()
    assert out_file.read_text(encoding="utf-8-sig").startswith('"event_id","batch_id"')
    assert f"stored   s3://{BUCKET}/exports/{data.GUILD}/" in printed


def _export_names(server: S3Server, tmp_path: Path, capsys: pytest.CaptureFixture[str], *days: str) -> str:
    dev_file = tmp_path / "dev.json"
    dev_file.write_text(json.dumps({"aws_endpoint_url": server.endpoint_url, "bucket": BUCKET, "region": "us-east-1"}))
    code = main(
        [
            "export", "--local", "--dev-file", str(dev_file), "--guild", data.GUILD, "--channel", data.GENERAL,
            "--from", days[0], "--to", days[-1], "--format", "dce",
        ]
    )  # fmt: skip
    assert code == 0
    return next(line for line in capsys.readouterr().out.splitlines() if line.startswith("names"))


def test_export_command_prints_the_server_and_channel_names_when_the_exported_days_name_them(
    server: S3Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _export_names(server, tmp_path, capsys, "2026-11-19", "2026-11-20")

    assert line == "names    server 'Fixture Guild', #general"


def test_export_command_says_the_ids_stand_in_and_why_when_nothing_names_the_server_or_channel(
    server: S3Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _export_names(server, tmp_path, capsys, "2026-11-20")

    assert line == (
        f"names    server {data.GUILD} (no name known), channel {data.GENERAL} (no name known); the exported days "
        "do not name it, the directory was not read: the dev file names no table, so the file shows the id"
    )


def test_export_command_prints_its_progress_in_plain_lines_when_stderr_is_not_a_terminal(
    server: S3Server, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dev_file = tmp_path / "dev.json"
    dev_file.write_text(json.dumps({"aws_endpoint_url": server.endpoint_url, "bucket": BUCKET, "region": "us-east-1"}))
    monkeypatch.setenv("GUILDLOG_PROGRESS_INTERVAL", "0")

    code = main(
        [
            "export", "--local", "--dev-file", str(dev_file), "--guild", data.GUILD, "--channel", data.GENERAL,
            "--from", "2026-11-19", "--to", "2026-11-20", "--format", "json",
        ]
    )  # fmt: skip

    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("export:")]
    assert code == 0
    assert lines[0].startswith("export: 1/2 days (50%), ")
    assert lines[-1].startswith("export: done, 2/2 days (100%) in ")


def test_export_command_explains_the_format_rule_when_dce_is_asked_without_a_channel(
    server: S3Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dev_file = tmp_path / "dev.json"
    dev_file.write_text(json.dumps({"aws_endpoint_url": server.endpoint_url, "bucket": BUCKET}))

    code = main(
        [
            "export",
            "--local",
            "--dev-file",
            str(dev_file),
            "--guild",
            data.GUILD,
            "--day",
            "2026-11-20",
            "--format",
            "dce",
        ]
    )

    assert code == 2  # a usage mistake
    assert "holds one channel" in capsys.readouterr().err
