"""The progress of an import: records read, with what became of them, through guildlog_tools.progress
(a bar on a terminal, a plain line every few seconds in a log)."""

from __future__ import annotations

import contextlib
from typing import IO

from guildlog_tools.importers.summary import Summary
from guildlog_tools.progress import progress


class Progress:
    """Records read, noted with how many were imported, were duplicates or were skipped.

    `terminal`: force the bar (True) or plain lines (False); by default the bar only on a TTY."""

    def __init__(
        self, terminal: bool | None = None, stream: IO[str] | None = None, interval_s: float | None = None
    ) -> None:
        self._stack = contextlib.ExitStack()
        self._bar = self._stack.enter_context(
            progress("import", unit="records", stream=stream, terminal=terminal, interval_s=interval_s)
        )

    def update(self, records: int, summary: Summary) -> None:
        self._bar.describe(
            f"{summary.imported:,} imported, {summary.duplicates:,} duplicates, {summary.skipped_total:,} skipped"
        )
        self._bar.advance(records)

    def close(self) -> None:
        self._stack.close()


class NoProgress:
    def update(self, records: int, summary: Summary) -> None:
        pass

    def close(self) -> None:
        pass
