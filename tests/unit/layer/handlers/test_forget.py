"""handlers/forget.py: ForgetQueue records → jobs run, failures to retry, receipts by DM."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from guildlog.errors import DiscordTargetGoneError, StorageError
from guildlog.handlers.forget import Forgetter, handle
from guildlog.services.erasure.receipt import Receipt, Verification
from tests.fakes import archive_data as data


@dataclass
class Job:
    fail: bool = False
    clean: bool = True
    ran: list[str] = field(default_factory=list)

    def run(self, request: Any) -> Receipt:
        if self.fail:
            raise StorageError("S3 is down")
        self.ran.append(request.user_id)
        return Receipt(request.job_id, request.guild_id, request.user_id, request.requested_by, request.requested_at,
                       verification=Verification(found=0 if self.clean else 1))  # fmt: skip


@dataclass
class Deletion:
    ran: list[str] = field(default_factory=list)

    def run(self, guild_id: str, *, requested_by: str, job_id: str) -> Receipt:
        self.ran.append(guild_id)
        return Receipt(job_id, guild_id, "*", requested_by, "2026-11-20T00:00:00.000Z")


def record(body: dict[str, Any] | str, message_id: str = "m1") -> dict[str, Any]:
    return {"messageId": message_id, "body": body if isinstance(body, str) else json.dumps(body)}


MEMBER_JOB = {
    "guild_id": data.GUILD, "user_id": data.ALICE, "job_id": "i1", "requested_by": data.MOD,
    "requested_at": "2026-11-20T00:00:00.000Z", "notify_user_id": data.MOD,
}  # fmt: skip


def forgetter(job: Job | None = None, sent: list[tuple[str, str]] | None = None, dm_fails: bool = False) -> Forgetter:
    def send_dm(user_id: str, text: str) -> None:
        if dm_fails:
            raise DiscordTargetGoneError("Cannot send messages to this user", status=403)
        if sent is not None:
            sent.append((user_id, text))

    return Forgetter(job or Job(), Deletion(), send_dm)  # type: ignore[arg-type]


def test_handle_runs_the_job_and_sends_the_receipt_to_the_requester_when_it_succeeds() -> None:
    sent: list[tuple[str, str]] = []

    answer, report = handle({"Records": [record(MEMBER_JOB)]}, forgetter(sent=sent))

    assert answer == {"batchItemFailures": []} and report.erased == 1
    assert [user for user, _ in sent] == [data.MOD]


def test_handle_reports_the_record_for_another_try_when_the_job_fails() -> None:
    answer, _ = handle({"Records": [record(MEMBER_JOB, "m9")]}, forgetter(Job(fail=True)))

    assert answer == {"batchItemFailures": [{"itemIdentifier": "m9"}]}


def test_handle_reports_the_record_for_another_try_when_the_verification_finds_something_left() -> None:
    answer, _ = handle({"Records": [record(MEMBER_JOB, "m9")]}, forgetter(Job(clean=False)))

    assert answer == {"batchItemFailures": [{"itemIdentifier": "m9"}]}


def test_handle_counts_the_erasure_done_when_the_receipt_cannot_be_sent_by_dm() -> None:
    answer, report = handle({"Records": [record(MEMBER_JOB)]}, forgetter(dm_fails=True))

    assert answer == {"batchItemFailures": []} and report.erased == 1 and report.receipts_sent == 0


def test_handle_drops_a_record_without_retrying_when_it_is_not_an_erasure_job() -> None:
    answer, report = handle({"Records": [record("not json"), record({**MEMBER_JOB, "user_id": None})]}, forgetter())

    assert answer == {"batchItemFailures": []} and report.bad == 2


def test_handle_deletes_the_guild_when_the_job_is_a_guild_deletion() -> None:
    run = forgetter()
    body = {"kind": "guild", "guild_id": data.GUILD, "job_id": "guild-1", "requested_by": "grace-period",
            "requested_at": "2026-12-20T00:00:00.000Z"}  # fmt: skip

    _, report = handle({"Records": [record(body)]}, run)

    assert report.guilds_deleted == 1 and run.deletion.ran == [data.GUILD]  # type: ignore[attr-defined]
