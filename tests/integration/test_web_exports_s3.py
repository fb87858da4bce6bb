"""Exports from a page on moto's S3: what the worker leaves in an export's folder, as the page finds it."""

from __future__ import annotations

from typing import Any

from guildlog.services.exports import ExportFile
from guildlog.services.exports.web_job import ERROR_FILE, export_prefix
from guildlog.web.exports import GIVE_UP_SECONDS, WebExports, new_export_id

GUILD = "910000000000000001"
NOW = 1_800_000_000


def exports_of(aws: dict[str, Any]) -> WebExports:
    return WebExports(aws["bucket"], "worker", s3=aws["s3"])


def test_export_status_is_pending_when_the_folder_is_still_empty(aws: dict[str, Any]) -> None:
    assert exports_of(aws).status(GUILD, new_export_id(NOW), NOW + 5).state == "pending"


def test_export_status_links_the_file_when_the_worker_stored_it(aws: dict[str, Any]) -> None:
    export_id = new_export_id(NOW)
    key = export_prefix(GUILD, export_id) + "guildlog-x.json"
    aws["s3"].put_object(Bucket=aws["bucket"], Key=key, Body=b"{}")
    status = exports_of(aws).status(GUILD, export_id, NOW + 5)
    assert (status.state, status.name) == ("ready", "guildlog-x.json")
    assert status.url is not None and key in status.url and "Signature" in status.url


def test_export_status_says_why_when_the_worker_left_a_reason(aws: dict[str, Any]) -> None:
    export_id = new_export_id(NOW)
    note = ExportFile(ERROR_FILE, "text/plain", b"A dce export is one channel's", 0, 0)
    aws["s3"].put_object(Bucket=aws["bucket"], Key=export_prefix(GUILD, export_id) + ERROR_FILE, Body=note.body)
    status = exports_of(aws).status(GUILD, export_id, NOW + 5)
    assert (status.state, status.reason) == ("failed", "A dce export is one channel's")


def test_export_status_gives_up_when_nothing_came_long_after_the_start(aws: dict[str, Any]) -> None:
    status = exports_of(aws).status(GUILD, new_export_id(NOW), NOW + GIVE_UP_SECONDS + 1)
    assert status.state == "failed" and status.reason is not None
