"""The end of an import: read, imported, duplicates, quarantined, skipped with reasons, and where."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Each skipped line is counted; only this many are listed with their path and line.
MAX_LISTED = 20


@dataclass
class Summary:
    read: int = 0
    imported: int = 0
    duplicates: int = 0
    quarantined: int = 0
    batches: int = 0
    files: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def skip(self, reason: str, where: str, detail: str = "") -> None:
        self.skipped[reason] += 1
        if len(self.problems) < MAX_LISTED:
            self.problems.append(f"{where}: {reason}" + (f" ({detail})" if detail else ""))

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "batches": self.batches,
            "files": self.files,
            "skipped": dict(self.skipped),
            "problems": self.problems,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summary:
        def number(key: str) -> int:
            value = data.get(key)
            return value if isinstance(value, int) else 0

        skipped = data.get("skipped")
        problems = data.get("problems")
        return cls(
            read=number("read"),
            imported=number("imported"),
            duplicates=number("duplicates"),
            quarantined=number("quarantined"),
            batches=number("batches"),
            files=number("files"),
            skipped=Counter({str(k): int(v) for k, v in skipped.items()}) if isinstance(skipped, dict) else Counter(),
            problems=[str(p) for p in problems] if isinstance(problems, list) else [],
        )

    def lines(self) -> list[str]:
        """The summary as a person reads it."""
        out = [
            f"read        {self.read} records from {self.files} files",
            f"imported    {self.imported}",
            f"duplicates  {self.duplicates} (already stored)",
            f"quarantined {self.quarantined} (archived raw, no row: see quarantine/)",
            f"skipped     {self.skipped_total}",
        ]
        out.extend(f"  {count:>8}  {reason}" for reason, count in self.skipped.most_common())
        if self.problems:
            more = self.skipped_total - len(self.problems)
            out.append("first problems:" if more > 0 else "problems:")
            out.extend(f"  {p}" for p in self.problems)
            if more > 0:
                out.append(f"  … and {more} more")
        return out
