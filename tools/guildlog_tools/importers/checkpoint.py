"""Where an interrupted import stopped: the files done, and how many items of the current file were
sent, written after every acknowledged batch (atomically: a crash never leaves half a file).

Batches are cut at the same items every run, so resuming at a batch boundary sends exactly the
batches a run straight through would have sent."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guildlog.errors import ConfigurationError

CHECKPOINT_VERSION = 1


@dataclass
class State:
    """The import's progress: files finished (with their size, so a file that grew is read again),
    the file being read and how many of its items are sent, and the counts so far."""

    fingerprint: str
    done: dict[str, int] = field(default_factory=dict)
    current: str | None = None
    position: int = 0
    counts: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "v": CHECKPOINT_VERSION,
            "fingerprint": self.fingerprint,
            "done": self.done,
            "current": self.current,
            "position": self.position,
            "counts": self.counts,
        }


class Checkpoint:
    """The checkpoint file of one import (format, path, guild and target make its fingerprint)."""

    def __init__(self, path: Path, fingerprint: str) -> None:
        self.path = path
        self.fingerprint = fingerprint

    def load(self) -> State:
        """The saved state; a fresh one when there is none. ConfigurationError when the file is not a
        checkpoint of this import (never silently overwritten: it may be another import's)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return State(self.fingerprint)
        except (OSError, ValueError):
            raise ConfigurationError(
                "the checkpoint cannot be read; remove it or pass --restart", path=str(self.path)
            ) from None
        if not isinstance(data, dict) or data.get("v") != CHECKPOINT_VERSION:
            raise ConfigurationError("the checkpoint is not one guildlog wrote; pass --restart", path=str(self.path))
        if data.get("fingerprint") != self.fingerprint:
            raise ConfigurationError(
                "the checkpoint belongs to another import (format, path, guild or target); pass --restart",
                path=str(self.path),
            )
        done = data.get("done")
        counts = data.get("counts")
        position = data.get("position")
        current = data.get("current")
        return State(
            self.fingerprint,
            done={str(k): int(v) for k, v in done.items()} if isinstance(done, dict) else {},
            current=current if isinstance(current, str) else None,
            position=position if isinstance(position, int) and position >= 0 else 0,
            counts=counts if isinstance(counts, dict) else {},
        )

    def save(self, state: State) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".checkpoint-", suffix=".json", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(state.as_json(), handle, sort_keys=True)
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
