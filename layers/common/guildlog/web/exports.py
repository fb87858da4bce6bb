"""Exports started from a page: hand the job to WorkerFunction, then look for its file.

Starting is one asynchronous Lambda invoke (the page never waits for the archive). The export's id
carries the second it was started (`w<hex seconds>-<random>`), so a page can tell "still working"
from "given up" without storing anything: WebFunction writes nothing, it only lists
`exports/<guild>/<export_id>/` (at most two keys) and signs a link to what it finds there.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from guildlog.adapters.aws import BotoClient
from guildlog.errors import ConfigurationError, StorageError
from guildlog.models.web_export_job import WebExportJob
from guildlog.services.exports import DEFAULT_LINK_SECONDS
from guildlog.services.exports.web_job import ERROR_FILE, export_prefix

# Past this, a pending export is reported as failed (the worker and its two retries are long over).
GIVE_UP_SECONDS = 15 * 60


def new_export_id(now: int) -> str:
    return f"w{now:08x}-{secrets.token_hex(12)}"


def started_at(export_id: str) -> int:
    return int(export_id[1:9], 16)


@dataclass(frozen=True)
class ExportStatus:
    state: str  # "pending", "ready", "failed"
    name: str | None = None
    url: str | None = None
    reason: str | None = None


class _S3:
    client = BotoClient("s3")

    def __init__(self, client: Any = None) -> None:
        self._client = client


class _Lambda:
    client = BotoClient("lambda")

    def __init__(self, client: Any = None) -> None:
        self._client = client


class WebExports:
    """`s3` and `lambda_` are boto3 clients (injected, or built on first use)."""

    def __init__(
        self,
        bucket: str,
        worker_function: str,
        *,
        s3: Any = None,
        lambda_: Any = None,
        link_seconds: int = DEFAULT_LINK_SECONDS,
    ) -> None:
        self.bucket = bucket
        self.worker_function = worker_function
        self._s3 = _S3(s3)
        self._lambda = _Lambda(lambda_)
        self.link_seconds = link_seconds

    def start(self, job: WebExportJob) -> None:
        if not self.worker_function:
            raise ConfigurationError("the worker function is not configured", variables=["GUILDLOG_WORKER_FUNCTION"])
        try:
            answer = self._lambda.client.invoke(
                FunctionName=self.worker_function, InvocationType="Event", Payload=job.model_dump_json().encode()
            )
        except Exception as exc:
            raise StorageError("Lambda refused the export job", error=type(exc).__name__) from exc
        if int(answer.get("StatusCode", 0)) != 202:
            raise StorageError("Lambda did not queue the export job", status=answer.get("StatusCode"))

    def status(self, guild_id: str, export_id: str, now: int) -> ExportStatus:
        prefix = export_prefix(guild_id, export_id)
        try:
            listed = self._s3.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=2)
            found = [str(entry["Key"]) for entry in listed.get("Contents", [])]
        except Exception as exc:
            raise StorageError("S3 did not list the export", error=type(exc).__name__) from exc
        if prefix + ERROR_FILE in found:
            return ExportStatus("failed", reason=self._text(prefix + ERROR_FILE))
        if found:
            key = found[0]
            return ExportStatus("ready", name=key[len(prefix) :], url=self._link(key))
        if now - started_at(export_id) > GIVE_UP_SECONDS:
            return ExportStatus("failed", reason="The export did not finish. Start it again, or try fewer days.")
        return ExportStatus("pending")

    def _link(self, key: str) -> str:
        try:
            url: str = self._s3.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=self.link_seconds
            )
        except Exception as exc:
            raise StorageError("the export link could not be signed", error=type(exc).__name__) from exc
        return url

    def _text(self, key: str) -> str:
        try:
            body = self._s3.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except Exception as exc:
            raise StorageError("S3 did not return the export's note", error=type(exc).__name__) from exc
        return bytes(body[:500]).decode("utf-8", "replace")
