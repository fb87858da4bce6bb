"""The receipt of an erasure: what was erased, counted per dataset and day, and the verification.

It holds ids, counts and times, never the erased data: it is kept in the hot table for the guild's
audit (`/logs forget receipts`) and sent to whoever asked.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Verification:
    """A second read of every version of every object the erasure touched (and the exports and
    attachment copies of the guild): how many were read, how many still held something to erase; and,
    where the stack has a query engine, a query over the whole archive (services/erasure/archive_query.py):
    its text, the engine's id for it (Athena's QueryExecutionId) and the member's rows it found still
    holding content or a name, per table (None when no query ran)."""

    objects_checked: int = 0
    lines_checked: int = 0
    found: int = 0
    query: str = ""
    query_found: int | None = None
    query_id: str = ""
    query_left: dict[str, int] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return self.found == 0 and not self.query_found


@dataclass
class Receipt:
    job_id: str
    guild_id: str
    user_id: str
    requested_by: str
    requested_at: str
    finished_at: str = ""
    # dataset → day → the member's lines there, now redacted
    archive: dict[str, dict[str, int]] = field(default_factory=dict)
    # hot item kind → items redacted
    hot: dict[str, int] = field(default_factory=dict)
    objects_rewritten: int = 0
    old_versions_deleted: int = 0
    exports_deleted: int = 0
    attachments_deleted: int = 0
    objects_read: int = 0
    bytes_read: int = 0
    objects_holding_member: int = 0
    verification: Verification = field(default_factory=Verification)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Receipt:
        data: dict[str, Any] = json.loads(text)
        data["verification"] = Verification(**data.get("verification", {}))
        return cls(**data)

    def total(self, dataset: str) -> int:
        return sum(self.archive.get(dataset, {}).values())

    def summary(self) -> str:
        """A few lines for a person: what was erased, and whether the verification found anything left."""
        lines = [
            f"Erasure {self.job_id} of member {self.user_id} in server {self.guild_id}, finished {self.finished_at}."
        ]
        hot = ", ".join(f"{n} {kind}" for kind, n in sorted(self.hot.items()) if n) or "nothing"
        lines.append(f"Searchable logs: {hot} redacted.")
        for dataset in sorted(self.archive):
            days = self.archive[dataset]
            if any(days.values()):
                held = sum(1 for n in days.values() if n)
                lines.append(f"Archive {dataset}: {sum(days.values())} lines on {held} days redacted.")
        lines.append(
            f"{self.objects_rewritten} archive objects rewritten, {self.old_versions_deleted} older copies deleted, "
            f"{self.exports_deleted} exports and {self.attachments_deleted} attachment copies deleted."
        )
        verdict = (
            "nothing of the member's content or names is left"
            if self.verification.clean
            else (f"{self.verification.found} objects still held something: the erasure will run again")
        )
        lines.append(f"Verification: {self.verification.objects_checked} objects read again; {verdict}.")
        if self.verification.query_found is not None:
            tables = " and ".join(sorted(self.verification.query_left)) or "the archive"
            query_id = f" (query {self.verification.query_id})" if self.verification.query_id else ""
            lines.append(
                f"Archive query over {tables}{query_id}: {self.verification.query_found} of the member's rows "
                "still hold content or a name."
            )
        return "\n".join(lines)
