"""In-memory archive and export stores: the ports of the ingest service and the exports, over dicts."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from guildlog.services.exports import ExportFile
from guildlog.services.partition import partition_prefix


class MemoryArchive:
    """The archive port of the ingest service, and the rows port of the exports, over one dict."""

    def __init__(self) -> None:
        self.objects: dict[str, str] = {}
        self.days_read: list[date] = []

    def put(self, key: str, text: str) -> None:
        self.objects[key] = text

    def rows(self, day: date) -> list[dict[str, Any]]:
        self.days_read.append(day)
        prefix = partition_prefix("events", day)
        return [
            json.loads(line)
            for key in sorted(self.objects)
            if key.startswith(prefix)
            for line in self.objects[key].splitlines()
        ]


class MemoryExports:
    def __init__(self) -> None:
        self.files: dict[str, ExportFile] = {}

    def put(self, key: str, file: ExportFile) -> None:
        self.files[key] = file

    def link(self, key: str, expires_in: int) -> str:
        return f"https://signed.example/{key}?expires={expires_in}"
