"""Progress of long work: a bar on a terminal, plain periodic lines anywhere else.

    with progress("import", total=n, unit="msg") as p:
        for batch in batches:
            ...
            p.advance(len(batch))

On a terminal (the stream is a TTY) it is a rich progress bar with the count, the rate, the time
spent and the time left. In a log, a pipe or CI, a line every `GUILDLOG_PROGRESS_INTERVAL` seconds
(10 by default), `replay: 1,200/4,760 frames (25%), 85/s, about 42 s left`, and a closing line;
work that ends before the first interval prints nothing. It writes to stderr, so a command's
output on stdout stays clean for pipes. `advance` may be called from any one thread.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import IO, Any, Protocol

INTERVAL_ENV = "GUILDLOG_PROGRESS_INTERVAL"
DEFAULT_INTERVAL_S = 10.0


class Progress(Protocol):
    """What long work reports: how much more is done, and the total once it is known."""

    def advance(self, amount: int = 1) -> None: ...

    def set_total(self, total: int | None) -> None: ...

    def describe(self, note: str) -> None:
        """A short note shown beside the counts (the file or channel at hand, a tally of outcomes)."""


@contextlib.contextmanager
def progress(
    label: str,
    *,
    total: int | None = None,
    unit: str = "items",
    stream: IO[str] | None = None,
    terminal: bool | None = None,
    interval_s: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Progress]:
    """Report the progress of the work done inside the block.

    `total`: how many `unit`s the work holds, when known (a bar and an ETA need it). `terminal`:
    force the bar (True) or the plain lines (False); by default the bar only on a TTY. `interval_s`:
    seconds between plain lines (default $GUILDLOG_PROGRESS_INTERVAL, else 10; 0 writes a line at
    every advance).
    """
    out = stream if stream is not None else sys.stderr
    if terminal is None:
        terminal = _isatty(out)
    if terminal:
        with _Bar(label, total, unit, out) as bar:
            yield bar
        return
    lines = _Lines(label, total, unit, out, _interval(interval_s), clock)
    lines.start()
    try:
        yield lines
    finally:
        lines.close()


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or file-like stream without a terminal
        return False


def _interval(given: float | None) -> float:
    if given is not None:
        return max(0.0, given)
    text = os.environ.get(INTERVAL_ENV, "").strip()
    if not text:
        return DEFAULT_INTERVAL_S
    try:
        value = float(text)
    except ValueError:
        from guildlog.errors import UsageError

        raise UsageError(f"${INTERVAL_ENV} must be a number of seconds, not {text!r}") from None
    if not value >= 0:  # also NaN
        from guildlog.errors import UsageError

        raise UsageError(f"${INTERVAL_ENV} must be 0 or more seconds, not {text!r}")
    return value


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class _Lines:
    """Plain lines: written by `advance` once the interval has passed, and by a ticker thread when
    nothing advances for that long (work waiting on a slow server still shows it is alive)."""

    def __init__(
        self, label: str, total: int | None, unit: str, out: IO[str], interval_s: float, clock: Callable[[], float]
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.out = out
        self.interval_s = interval_s
        self.clock = clock
        self.count = 0
        self.note = ""
        self.started = clock()
        self._last = self.started
        self._wrote = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def start(self) -> None:
        if self.interval_s > 0:
            self._ticker = threading.Thread(target=self._tick, name=f"progress-{self.label}", daemon=True)
            self._ticker.start()

    def advance(self, amount: int = 1) -> None:
        with self._lock:
            self.count += amount
            self._maybe_write()

    def set_total(self, total: int | None) -> None:
        with self._lock:
            self.total = total

    def describe(self, note: str) -> None:
        with self._lock:
            self.note = note

    def close(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        with self._lock:
            if self._wrote:
                elapsed = self.clock() - self.started
                self._write(
                    f"{self.label}: done, {self._counts()} in {_duration(elapsed)}{self._rate(elapsed)}{self._note()}"
                )

    def _tick(self) -> None:
        while not self._stop.wait(self.interval_s):
            with self._lock:
                self._maybe_write()

    def _maybe_write(self) -> None:
        now = self.clock()
        if now - self._last < self.interval_s:
            return
        self._last = now
        elapsed = now - self.started
        line = f"{self.label}: {self._counts()}{self._rate(elapsed)}"
        if self.total and self.count and elapsed > 0 and self.count < self.total:
            left = (self.total - self.count) * elapsed / self.count
            line += f", about {_duration(left)} left"
        elif not self.count:
            line += f", {_duration(elapsed)} so far"
        self._write(line + self._note())

    def _note(self) -> str:
        return f" ({self.note})" if self.note else ""

    def _counts(self) -> str:
        if self.total is None:
            return f"{self.count:,} {self.unit}"
        share = f" ({100 * self.count // self.total}%)" if self.total else ""
        return f"{self.count:,}/{self.total:,} {self.unit}{share}"

    def _rate(self, elapsed: float) -> str:
        return f", {self.count / elapsed:,.0f}/s" if self.count and elapsed > 0 else ""

    def _write(self, line: str) -> None:
        self._wrote = True
        with contextlib.suppress(OSError, ValueError):  # the reader went away; the work itself goes on
            print(line, file=self.out, flush=True)


class _Bar:
    """A rich progress bar: description, bar, done/total, rate, time spent and time left."""

    def __init__(self, label: str, total: int | None, unit: str, out: IO[str]) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        self.unit = unit
        self._progress = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(unit),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[note]}"),
            console=Console(file=out, force_terminal=True),
            transient=False,
        )
        self._task = self._progress.add_task(label, total=total, rate="", note="")

    def __enter__(self) -> _Bar:
        self._progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._progress.stop()

    def advance(self, amount: int = 1) -> None:
        self._progress.advance(self._task, amount)
        speed = self._progress.tasks[0].speed
        self._progress.update(self._task, rate=f"{speed:,.0f}/s" if speed else "")

    def set_total(self, total: int | None) -> None:
        self._progress.update(self._task, total=total)

    def describe(self, note: str) -> None:
        self._progress.update(self._task, note=note)
