"""guildlog_tools.progress: a rich bar on a terminal, plain periodic lines elsewhere."""

from __future__ import annotations

import io
import re
import threading
import time

import pytest

from guildlog.errors import UsageError
from guildlog_tools.progress import INTERVAL_ENV, progress


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _plain(total: int | None, steps: list[tuple[float, int]], interval_s: float = 10.0) -> list[str]:
    out, clock = io.StringIO(), Clock()
    with progress("replay", total=total, unit="frames", stream=out, interval_s=interval_s, clock=clock) as shown:
        for seconds, amount in steps:
            clock.now += seconds
            shown.advance(amount)
    return out.getvalue().splitlines()


def test_progress_writes_count_share_rate_and_time_left_when_the_interval_passes_off_a_terminal() -> None:
    lines = _plain(4760, [(5, 600), (9.1, 600), (5, 10)])

    assert lines[0] == "replay: 1,200/4,760 frames (25%), 85/s, about 42 s left"


def test_progress_closes_with_the_total_time_and_rate_when_it_wrote_a_line() -> None:
    lines = _plain(4760, [(5, 600), (9.1, 600), (41.9, 3560)])

    assert lines[-1] == "replay: done, 4,760/4,760 frames (100%) in 56 s, 85/s"


def test_progress_writes_nothing_when_the_work_ends_within_the_interval() -> None:
    assert _plain(4760, [(3, 4000), (6, 760)]) == []


def test_progress_writes_the_count_without_a_share_when_the_total_is_unknown() -> None:
    lines = _plain(None, [(12, 1500)])

    assert lines[0] == "replay: 1,500 frames, 125/s"


def test_progress_writes_a_line_at_every_advance_when_the_interval_is_zero() -> None:
    lines = _plain(3, [(0, 1), (0, 1), (0, 1)], interval_s=0)

    assert [line.split(",")[0] for line in lines] == [
        "replay: 1/3 frames (33%)",
        "replay: 2/3 frames (66%)",
        "replay: 3/3 frames (100%)",
        "replay: done",
    ]


def test_progress_takes_the_interval_from_the_environment_when_none_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(INTERVAL_ENV, "0")
    out = io.StringIO()

    with progress("compact", total=2, unit="partitions", stream=out) as shown:
        shown.advance()

    assert out.getvalue().splitlines()[0].startswith("compact: 1/2 partitions (50%)")


@pytest.mark.parametrize("value", ["soon", "-1", "nan"])
def test_progress_refuses_the_interval_with_a_usage_error_when_the_environment_is_not_seconds(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(INTERVAL_ENV, value)

    with pytest.raises(UsageError, match=INTERVAL_ENV), progress("compact", stream=io.StringIO()):
        pass


def test_progress_says_the_work_is_alive_when_nothing_advances_for_an_interval() -> None:
    out = io.StringIO()
    deadline = time.monotonic() + 60

    with progress("query", unit="rows", stream=out, interval_s=0.05):
        while "so far" not in out.getvalue() and time.monotonic() < deadline:
            threading.Event().wait(0.01)

    assert re.match(r"query: 0 rows, \d+ s so far$", out.getvalue().splitlines()[0])


def test_progress_draws_a_bar_with_count_rate_and_eta_when_the_stream_is_a_terminal() -> None:
    out = Terminal()

    with progress("export", total=3, unit="days", stream=out, interval_s=0) as shown:
        for _ in range(3):
            shown.advance()

    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    last = text.replace("\r", "\n").strip().splitlines()[-1]
    assert re.match(r"export ━+ 3/3 days [\d,]+/s 0:00:\d\d eta 0:00:00$", last), last
    assert "\x1b[" in out.getvalue()  # drawn for a terminal
    assert not re.search(r"^export: ", text, re.M)  # not the plain lines


def test_progress_writes_plain_lines_when_a_terminal_is_refused() -> None:
    out = Terminal()

    with progress("export", total=1, unit="days", stream=out, terminal=False, interval_s=0) as shown:
        shown.advance()

    assert out.getvalue().splitlines()[0].startswith("export: 1/1 days (100%)")


def test_progress_takes_a_total_learnt_on_the_way_when_set_total_is_called() -> None:
    out, clock = io.StringIO(), Clock()

    with progress("import", unit="msg", stream=out, interval_s=0, clock=clock) as shown:
        shown.set_total(4)
        clock.now += 1
        shown.advance(2)

    assert out.getvalue().splitlines()[0] == "import: 2/4 msg (50%), 2/s, about 1 s left"
