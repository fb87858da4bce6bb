"""The erasure job: tombstone, hot table, archive, exports and attachment copies, verification, receipt.

Resumable: every step can run again and ends where it would have the first time. The tombstone and
the hot redactions are idempotent puts; each archive object is rewritten in place (services/
object_rewrite.py: same key, new version, then the old version deleted), so a run killed at any
point leaves each object either as it was or rewritten, plus at worst an old version that the next
run deletes. Progress (the partitions finished and their counts) is kept in the job item, so a re-run
skips what is done; counts are of the member's lines as they are after the rewrite (ids stay), so a
partition counted again gives the same number.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from guildlog.services import object_rewrite as ar
from guildlog.services.erasure.archive_query import QueryCheck
from guildlog.services.erasure.planner import DayFinder, is_own_message, plan_days
from guildlog.services.erasure.receipt import Receipt, Verification
from guildlog.services.erasure.rewriter import ARCHIVE_DATASETS, MemberEdits, names_in
from guildlog.services.erasure.tombstones import CACHE_SECONDS
from guildlog.services.partition import partition_prefix
from guildlog.services.timefmt import iso, utcnow

logger = logging.getLogger(__name__)

EXPORTS_PREFIX = "exports/"
ATTACHMENTS_PREFIX = "attachments/"


class ArchiveQueries(Protocol):
    """services/erasure/archive_query.ArchiveMemberQueries: the member's days, and what is left, by query."""

    def member_days(self, guild_id: str, user_id: str) -> list[date]: ...
    def verify(self, guild_id: str, user_id: str) -> QueryCheck: ...


class ErasureHotStore(Protocol):
    """The hot table as an erasure uses it (adapters/erasure_store.py). Queries and GetItems only."""

    def put_tombstone(self, guild_id: str, user_id: str, *, job_id: str, requested_by: str, at: str) -> None: ...
    def member_items(self, guild_id: str, user_id: str) -> list[dict[str, Any]]: ...
    def directory_items(self, guild_id: str, user_id: str) -> list[dict[str, Any]]: ...
    def message_items(self, message_ids: list[str]) -> list[dict[str, Any]]: ...
    def put_if_exists(self, items: list[dict[str, Any]]) -> None: ...
    def load_job(self, guild_id: str, job_id: str) -> dict[str, Any] | None: ...
    def save_job(self, guild_id: str, job_id: str, job: dict[str, Any]) -> None: ...
    def put_receipt(self, receipt: Receipt) -> None: ...


@dataclass(frozen=True)
class ErasureRequest:
    guild_id: str
    user_id: str
    job_id: str
    requested_by: str
    requested_at: str
    extra_days: tuple[date, ...] = ()


def _kind(item: dict[str, Any]) -> str:
    sk = str(item.get("SK", ""))
    if item.get("kind") == "event":
        return "events"
    if item.get("kind") == "message_version":
        return "message versions"
    if sk.startswith(("M#", "N#", "V#", "H#", "A#", "L#", "J#")):
        return "directory entries"
    return "other items"


class ErasureJob:
    def __init__(
        self,
        hot: ErasureHotStore,
        objects: ar.VersionedObjects,
        *,
        archive: ArchiveQueries | None = None,
        archive_days: DayFinder | None = None,
        clock: Callable[[], datetime] = utcnow,
        settle_seconds: float = CACHE_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.hot = hot
        self.objects = objects
        # The days come from the archive's query when there is one (a member known only there is found).
        self.archive = archive
        self.archive_days = archive_days or (archive.member_days if archive is not None else None)
        self.clock = clock
        self.settle_seconds = settle_seconds
        self.sleep = sleep

    def run(self, request: ErasureRequest) -> Receipt:
        g, u = request.guild_id, request.user_id
        job = self.hot.load_job(g, request.job_id) or {"done": {}, "state": "started"}
        if job.get("state") == "finished" and job.get("receipt"):
            return Receipt.from_json(job["receipt"])
        # First, so that anything of the member's that ingest or an import writes from now on is redacted
        # before it is written.
        self.hot.put_tombstone(g, u, job_id=request.job_id, requested_by=request.requested_by, at=request.requested_at)
        receipt = Receipt(request.job_id, g, u, request.requested_by, request.requested_at)
        self._settle(request.requested_at)

        member = self.hot.member_items(g, u)
        directory = self.hot.directory_items(g, u)
        plan = plan_days(member, g, u, archive_days=self.archive_days, extra_days=request.extra_days)
        versions = self.hot.message_items(sorted(plan.message_ids))
        names = names_in(member + directory + versions, u)
        known_mids = set(plan.message_ids) | set(job.get("message_ids", []))
        edits = MemberEdits(g, u, frozenset(known_mids), frozenset(names) | frozenset(job.get("names", [])))
        job["names"] = sorted(edits.names)

        changed = []
        for item in [*member, *directory, *versions]:
            redacted = edits.redact_item(item)
            receipt.hot[_kind(item)] = receipt.hot.get(_kind(item), 0) + 1
            if redacted != item:
                changed.append(redacted)
        self.hot.put_if_exists(changed)

        # events first: its rows name the member's messages, which raw MESSAGE_UPDATEs may lack the author of.
        for day in plan.days:
            for dataset in ("events", "events_csv", "raw", "quarantine"):
                prefix = partition_prefix(dataset, day)
                done = job["done"].get(prefix)
                if done is None:
                    done = self._rewrite_prefix(prefix, dataset, edits, receipt, known_mids)
                    edits = MemberEdits(g, u, frozenset(known_mids), edits.names)
                    job["done"][prefix] = done
                    job["message_ids"] = sorted(known_mids)
                    self.hot.save_job(g, request.job_id, job)
                receipt.archive.setdefault(dataset, {})[day.isoformat()] = int(done["lines"])
                receipt.objects_rewritten += int(done.get("rewritten", 0))
                receipt.old_versions_deleted += int(done.get("purged", 0))
        receipt.objects_read += sum(int(d.get("read", 0)) for d in job["done"].values())
        receipt.bytes_read += sum(int(d.get("bytes", 0)) for d in job["done"].values())
        receipt.objects_holding_member = sum(int(d.get("holding", 0)) for d in job["done"].values())

        receipt.exports_deleted = self._delete_matching(f"{EXPORTS_PREFIX}{g}/", lambda key, body: u.encode() in body)
        receipt.exports_deleted += int(job.get("exports_deleted", 0))
        job["exports_deleted"] = receipt.exports_deleted
        receipt.attachments_deleted = self._delete_matching(
            f"{ATTACHMENTS_PREFIX}guild={g}/", lambda key, body: _attachment_message(key) in known_mids, read=False
        )
        receipt.attachments_deleted += int(job.get("attachments_deleted", 0))
        job["attachments_deleted"] = receipt.attachments_deleted
        self.hot.save_job(g, request.job_id, job)

        receipt.verification = self._verify(plan.days, edits)
        receipt.finished_at = iso(self.clock())
        if receipt.verification.clean:
            self.hot.put_receipt(receipt)
            # Kept only while the job may need to resume: the names are what it erased.
            job.pop("names", None)
            job["state"] = "finished"
            job["receipt"] = receipt.to_json()
            self.hot.save_job(g, request.job_id, job)
        else:
            logger.warning("erasure left something behind", extra={"job_id": request.job_id})
        return receipt

    def _settle(self, requested_at: str) -> None:
        """Wait until every ingest container has read the tombstone (its cache's minute after the request):
        an object written after the archive is listed must already hold the member redacted. ForgetQueue's
        delay makes this wait nothing in AWS."""
        try:
            asked = datetime.fromisoformat(requested_at.replace("Z", "+00:00"))
        except ValueError:
            asked = self.clock()
        remaining = (asked - self.clock()).total_seconds() + self.settle_seconds
        if remaining > 0:
            self.sleep(min(remaining, self.settle_seconds))

    # ---------------------------------------------------------------- archive
    def _rewrite_prefix(
        self, prefix: str, dataset: str, edits: MemberEdits, receipt: Receipt, known_mids: set[str]
    ) -> dict[str, int]:
        edit, test = edits.edit_for(dataset), edits.test_for(dataset)
        done = {"lines": 0, "rewritten": 0, "purged": 0, "read": 0, "bytes": 0, "holding": 0}
        listed = self.objects.versions(prefix)
        for versions in ar.by_key(listed).values():
            current = versions[0]
            if not current.latest or current.delete_marker:
                continue
            members = 0

            def counting(line: str) -> str | None:
                nonlocal members
                if test(line):
                    members += 1
                    if dataset == "events":
                        _note_message(line, edits, known_mids)
                return edit(line)

            outcome = ar.rewrite_object(self.objects, current, lambda text: ar.edit_lines(text, counting))
            done["read"] += 1
            done["bytes"] += outcome.bytes_read
            done["lines"] += members
            done["holding"] += 1 if members else 0
            done["rewritten"] += outcome.state != "unchanged"
        purged, read = ar.purge_old_versions(self.objects, listed, lambda text: _holds(text, edit))
        done["purged"] += purged
        done["bytes"] += read
        done["read"] += sum(1 for v in listed if not v.latest and not v.delete_marker)
        return done

    def _delete_matching(self, prefix: str, matches: Callable[[str, bytes], bool], *, read: bool = True) -> int:
        """Delete every version of each object under `prefix` that `matches` (exports are copies made on
        request: a new export after the erasure is made from the redacted archive)."""
        deleted = 0
        for key, versions in ar.by_key(self.objects.versions(prefix)).items():
            hit = False
            for version in versions:
                if version.delete_marker:
                    continue
                body = self.objects.read(version) if read else b""
                if matches(key, body):
                    hit = True
                    break
            if hit:
                for version in versions:
                    self.objects.delete_version(key, version.version_id)
                deleted += 1
        return deleted

    def _verify(self, days: list[date], edits: MemberEdits) -> Verification:
        check = Verification()
        for day in days:
            for dataset in ARCHIVE_DATASETS:
                edit = edits.edit_for(dataset)
                for version in self.objects.versions(partition_prefix(dataset, day)):
                    if version.delete_marker:
                        continue
                    text = ar.decode(version.key, self.objects.read(version))
                    check.objects_checked += 1
                    _, counts = ar.edit_lines(text, edit)
                    check.lines_checked += counts.lines
                    check.found += 1 if counts.changed or counts.dropped else 0
        for prefix in (f"{EXPORTS_PREFIX}{edits.guild_id}/", f"{ATTACHMENTS_PREFIX}guild={edits.guild_id}/"):
            for version in self.objects.versions(prefix):
                if version.delete_marker:
                    continue
                check.objects_checked += 1
                if prefix.startswith(ATTACHMENTS_PREFIX):
                    check.found += _attachment_message(version.key) in edits.message_ids
                elif edits.user_id.encode() in self.objects.read(version):
                    check.found += 1
        if self.archive is not None:
            answer = self.archive.verify(edits.guild_id, edits.user_id)
            check.query, check.query_id, check.query_left = answer.sql, answer.query_id, answer.left
            check.query_found = answer.found
        return check


def _holds(text: str, edit: ar.Edit) -> bool:
    _, counts = ar.edit_lines(text, edit)
    return bool(counts.changed or counts.dropped)


def _note_message(line: str, edits: MemberEdits, known_mids: set[str]) -> None:
    import json

    row = json.loads(line)
    if is_own_message(row, edits.user_id):
        known_mids.add(str(row["message_id"]))


def _attachment_message(key: str) -> str:
    """The message id of an attachment copy `attachments/guild=<g>/<message id>/<file>`."""
    parts = key.split("/")
    return parts[2] if len(parts) > 3 else ""
