"""guildlog_tools.importers.progress: the bar shows counts and a rate, only where asked."""

from __future__ import annotations

import io

from guildlog_tools.importers.progress import Progress
from guildlog_tools.importers.summary import Summary


def test_progress_shows_records_imported_and_rate_when_enabled() -> None:
    stream = io.StringIO()
    bar = Progress(enabled=True, stream=stream)
    bar.update(500, Summary(imported=480, duplicates=20))
    bar.close()
    text = stream.getvalue()
    assert "500 records" in text and "imported=480" in text and "dup=20" in text
    assert "records/s" in text


def test_progress_writes_nothing_when_stream_is_not_a_terminal() -> None:
    stream = io.StringIO()
    bar = Progress(stream=stream)
    bar.update(500, Summary(imported=500))
    bar.close()
    assert stream.getvalue() == ""
