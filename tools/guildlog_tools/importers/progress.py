"""The progress bar of an import: records read, imported and skipped, and the rate, on stderr."""

from __future__ import annotations

import sys
from typing import Any

from guildlog_tools.importers.summary import Summary


class Progress:
    """A tqdm bar counting records; shown only on a terminal unless `enabled` says otherwise."""

    def __init__(self, enabled: bool | None = None, stream: Any = None) -> None:
        from tqdm import tqdm

        stream = stream or sys.stderr
        show = stream.isatty() if enabled is None else enabled
        self.bar = tqdm(total=None, unit=" records", unit_scale=True, dynamic_ncols=True, file=stream, disable=not show)

    def update(self, records: int, summary: Summary) -> None:
        self.bar.set_postfix(
            imported=summary.imported, dup=summary.duplicates, skipped=summary.skipped_total, refresh=False
        )
        self.bar.update(records)

    def close(self) -> None:
        self.bar.close()


class NoProgress:
    def update(self, records: int, summary: Summary) -> None:
        pass

    def close(self) -> None:
        pass
