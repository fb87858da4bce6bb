"""guildlog_tools.importers.progress: records read, with what became of them, as a bar or as plain lines."""

from __future__ import annotations

import io
from collections import Counter

from guildlog_tools.importers.progress import NoProgress, Progress
from guildlog_tools.importers.summary import Summary


def test_bar_shows_records_and_what_became_of_them_on_a_terminal() -> None:
    stream = io.StringIO()
    bar = Progress(terminal=True, stream=stream)
    bar.update(500, Summary(imported=480, duplicates=20))
    bar.close()
    text = stream.getvalue()
    assert "500" in text and "records" in text
    assert "480 imported, 20 duplicates, 0 skipped" in text


def test_plain_lines_carry_counts_and_outcomes_where_there_is_no_terminal() -> None:
    stream = io.StringIO()
    bar = Progress(terminal=False, stream=stream, interval_s=0)
    bar.update(1200, Summary(imported=1000, duplicates=150, skipped=Counter({"bad json": 50})))
    bar.close()
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("import: 1,200 records")
    assert "(1,000 imported, 150 duplicates, 50 skipped)" in lines[0]
    assert lines[-1].startswith("import: done, 1,200 records")


def test_short_work_off_a_terminal_writes_nothing() -> None:
    stream = io.StringIO()
    bar = Progress(terminal=False, stream=stream, interval_s=3600)
    bar.update(500, Summary(imported=500))
    bar.close()
    assert stream.getvalue() == ""


def test_no_progress_is_silent() -> None:
    quiet = NoProgress()
    quiet.update(5, Summary(imported=5))
    quiet.close()
