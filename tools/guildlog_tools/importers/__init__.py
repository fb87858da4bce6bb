"""`guildlog import`: other loggers' history into the same ingest path as the relay.

One module per source format (discard, dce, daf, ndjson) reads its files as a stream of records;
`runner` batches them (deterministic batches, so a re-run or a resumed run writes the same
objects), hands each batch to a `sink` (the signed webhook or the ingest service directly), keeps a
`checkpoint` after every acknowledged batch, and ends with a `summary`. docs/importers.md has the
field mapping of every format.
"""

from __future__ import annotations

import importlib
from typing import Any

# The module of each format, in the order `guildlog import --help` lists them.
FORMATS = {
    "discard": "guildlog_tools.importers.discard",
    "dce": "guildlog_tools.importers.dce",
    "daf": "guildlog_tools.importers.daf",
    "ndjson": "guildlog_tools.importers.ndjson",
}


def source_for(name: str, *, guild: str | None = None) -> Any:
    """The reader of format `name` (a key of FORMATS), filling in `guild` where the source has none."""
    return importlib.import_module(FORMATS[name]).Reader(guild=guild)
