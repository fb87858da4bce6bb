"""`guildlog demo`: a recorded session through the real relay into a fresh local stack, then what landed.

The demo is a list of steps over one `DemoRun` (the running stack, the session file, what the
session is about, where to print). Each step prints one section; a step that finds something
wrong raises a GuildlogError and the demo stops there. New steps (slash commands, local Athena
queries) are functions added to `STEPS`.

Everything in the report is read back from the stack (S3 objects, DynamoDB items) with Query,
GetItem and ListObjects, never a Scan; the session file is read only for the names behind the
ids (channels, members) and for which messages it deletes.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from guildlog.errors import ConfigurationError, RelayError
from guildlog_tools.checkout import checkout_root
from guildlog_tools.local.demo_archive import compact_archive, export_logs, run_named_queries
from guildlog_tools.local.demo_commands import function_environment as commands_environment
from guildlog_tools.local.demo_commands import send_slash_commands
from guildlog_tools.local.demo_modlog import configure_log, show_log_channels
from guildlog_tools.local.stack import LocalStack

DEFAULT_SESSION = Path("events") / "gateway" / "demo-session.jsonl"
# The relay retries with backoff; a healthy local replay takes seconds, a stuck one is cut off here.
RELAY_TIMEOUT_S = 300
# Moto and the archive poller run on the same busy cores as everything else: a generous bound, not a wait.
DRAIN_TIMEOUT_S = 120
DATASETS = ("raw", "events", "events_csv", "quarantine")


# ---------------------------------------------------------------- where things are


def repo_root() -> Path:
    """The checkout the tooling runs from."""
    return checkout_root()


def default_session_file() -> Path:
    """events/gateway/demo-session.jsonl of the checkout; ConfigurationError when there is none."""
    root = repo_root()
    events = root / "events"
    if not events.is_dir():
        raise ConfigurationError(
            f"no events/ folder at {root}: `guildlog demo` runs from a checkout installed with "
            "`pip install -e .`; or pass --session FILE",
            looked_in=str(events),
        )
    session = root / DEFAULT_SESSION
    if not session.is_file():
        raise ConfigurationError(f"the recorded session is missing: {session}", path=str(session))
    return session


# ---------------------------------------------------------------- what the session is about


@dataclass
class SessionFacts:
    """Names and ids taken from the recording itself: labels for the report, and what to look up."""

    frames: int = 0
    dispatches: int = 0
    guild_id: str | None = None
    guild_name: str | None = None
    channels: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    edited: set[str] = field(default_factory=set)
    deleted: list[str] = field(default_factory=list)

    def channel(self, channel_id: str | None) -> str:
        if not channel_id:
            return "?"
        name = self.channels.get(channel_id)
        return f"#{name}" if name else channel_id

    def user(self, user_id: str | None) -> str:
        if not user_id:
            return "?"
        return self.users.get(user_id, user_id)


def read_session(path: Path) -> SessionFacts:
    """What the report needs to know about a recorded session (JSON-lines of gateway frames)."""
    facts = SessionFacts()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the session {path}: {exc.strerror or exc}", path=str(path)) from None
    for line in lines:
        if not line.strip():
            continue
        facts.frames += 1
        try:
            frame = json.loads(line)
        except ValueError:
            continue  # the relay reports unreadable lines; the report only needs labels
        if not isinstance(frame, dict) or frame.get("op") != 0 or not isinstance(frame.get("d"), dict):
            continue
        facts.dispatches += 1
        _learn(facts, str(frame.get("t")), frame["d"])
    return facts


def _learn(facts: SessionFacts, kind: str, data: dict[str, Any]) -> None:
    for user in _users_in(data):
        if isinstance(user.get("id"), str):
            facts.users.setdefault(user["id"], user.get("global_name") or user.get("username") or user["id"])
    if kind == "GUILD_CREATE":
        facts.guild_id = facts.guild_id or data.get("id")
        facts.guild_name = facts.guild_name or data.get("name")
        for channel in data.get("channels") or []:
            if isinstance(channel, dict) and channel.get("id") and channel.get("name"):
                facts.channels[channel["id"]] = channel["name"]
    elif kind in ("CHANNEL_CREATE", "CHANNEL_UPDATE", "THREAD_CREATE") and data.get("id") and data.get("name"):
        facts.channels[data["id"]] = data["name"]
    elif kind == "MESSAGE_UPDATE" and data.get("id"):
        facts.edited.add(data["id"])
    elif kind == "MESSAGE_DELETE" and data.get("id"):
        facts.deleted.append(data["id"])
    if not facts.guild_id and isinstance(data.get("guild_id"), str):
        facts.guild_id = data["guild_id"]


def _users_in(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("author", "user"):
        if isinstance(data.get(key), dict):
            yield data[key]
    member = data.get("member")
    if isinstance(member, dict) and isinstance(member.get("user"), dict):
        yield member["user"]
    for member in data.get("members") or []:
        if isinstance(member, dict) and isinstance(member.get("user"), dict):
            yield member["user"]


# ---------------------------------------------------------------- the run


@dataclass
class DemoRun:
    """What every step works with."""

    stack: LocalStack
    session_file: Path
    session: SessionFacts
    workdir: Path
    out: TextIO
    # Filled by the archive step, read by later ones.
    days: list[str] = field(default_factory=list)
    # One line per step for the summary the report opens with.
    summary: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        """A line for the summary printed before the detail."""
        self.summary.append(text)

    def heading(self, title: str) -> None:
        print(f"\n== {title}", file=self.out, flush=True)

    def line(self, text: str = "", indent: int = 1) -> None:
        print(("  " * indent + text) if text else "", file=self.out, flush=True)


Step = Callable[[DemoRun], None]


def replay_session(run: DemoRun) -> None:
    """`guildlog relay --replay` as a subprocess: the real batcher, signer, poster and spool."""
    run.heading(f"Replaying {_shown(run.session_file)} through `guildlog relay`")
    run.line(f"{run.session.frames} frames, {run.session.dispatches} dispatches -> {run.stack.gateway_events_url}")
    key_file = run.workdir / "relay.key"
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(run.stack.keys.relay_private_key + "\n")  # type: ignore[union-attr]
    state_dir = run.workdir / "relay-state"
    command = [
        sys.executable, "-m", "guildlog_tools.cli", "relay",
        "--replay", str(run.session_file),
        "--endpoint", run.stack.gateway_events_url,
        "--signing-key-file", str(key_file),
        "--state-dir", str(state_dir),
    ]  # fmt: skip
    # The relay must never fall back to a running `guildlog dev`'s file, whatever it does without --endpoint.
    env = {**os.environ, "GUILDLOG_DEV_FILE": str(run.stack.dev_file)}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=RELAY_TIMEOUT_S, env=env, check=False)
    except subprocess.TimeoutExpired:
        raise RelayError(f"the relay did not finish within {RELAY_TIMEOUT_S} s") from None
    for text in (done.stdout, done.stderr if done.returncode else ""):
        for output_line in text.splitlines():
            run.line(f"relay | {output_line}")
    if done.returncode == 0:
        run.note(
            f"replayed {_shown(run.session_file)}: {run.session.frames} frames, {run.session.dispatches} dispatches "
            "through `guildlog relay`; every batch acknowledged"
        )
    if done.returncode != 0:
        raise RelayError(
            f"the relay exited with status {done.returncode}: not every batch was acknowledged (its output is above)",
            returncode=done.returncode,
        )


def drain_archive(run: DemoRun) -> None:
    """Wait for ArchiveFunction to write what ingest queued (and NotifyFunction to post): the archive
    is read next, and an accepted batch reaches S3 only through the archive queue."""
    if not run.stack.drain(DRAIN_TIMEOUT_S):
        raise RelayError(f"the archive queue was not drained within {DRAIN_TIMEOUT_S} s")


def report_archive(run: DemoRun) -> None:
    """Objects per dataset per partition day: a batch that spans midnight writes to two days."""
    run.heading(f"S3 archive (bucket {run.stack.bucket}): objects per dataset and partition day")
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    batch_days: dict[str, set[str]] = defaultdict(set)
    for key in _keys(run, ""):
        dataset, day = _partition(key)
        if day:
            counts[dataset][day] += 1
            if dataset == "raw":
                batch_days[key.rsplit("/", 1)[-1].split(".", 1)[0]].add(day)
    days = sorted({day for per_day in counts.values() for day in per_day})
    if not days:
        raise RelayError("the relay finished but the bucket is empty")
    run.days = days
    run.line(_row("dataset", [*days, "total"]))
    for dataset in [d for d in DATASETS if d in counts] + sorted(set(counts) - set(DATASETS)):
        per_day = counts[dataset]
        run.line(_row(f"{dataset}/", [str(per_day.get(day, "-")) for day in days] + [str(sum(per_day.values()))]))
    objects = {dataset: sum(per_day.values()) for dataset, per_day in counts.items()}
    run.note(
        f"S3 archive: {sum(objects.values())} objects over {', '.join(days)} ("
        + ", ".join(f"{dataset}/ {n}" for dataset, n in sorted(objects.items(), key=lambda item: -item[1]))
        + ")"
    )
    run.line()
    run.line(f"keys look like {_example_key(run)}")
    split = sorted(batch for batch, seen in batch_days.items() if len(seen) > 1)
    if split:
        run.line(f"{len(split)} batch(es) crossed midnight and wrote one object per day: {', '.join(split)}")


def report_categories(run: DemoRun) -> None:
    """Normalized rows per category, read back from the events/ JSON-lines objects."""
    run.heading("Normalized rows per category (read back from events/*.jsonl.gz)")
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for key in _keys(run, "events/"):
        _, day = _partition(key)
        for row in _jsonl(run, key):
            counts[str(row.get("category"))][day or "?"] += 1
    days = run.days or sorted({day for per_day in counts.values() for day in per_day})
    run.line(_row("category", [*days, "total"]))
    for category, per_day in sorted(counts.items(), key=lambda item: -sum(item[1].values())):
        run.line(_row(category, [str(per_day.get(day, "-")) for day in days] + [str(sum(per_day.values()))]))
    total = sum(sum(per_day.values()) for per_day in counts.values())
    ranked = sorted(counts.items(), key=lambda item: -sum(item[1].values()))
    run.note(f"{total} normalized rows: " + ", ".join(f"{c} {sum(per_day.values())}" for c, per_day in ranked))
    run.line(_row("all", [str(sum(counts[c].get(day, 0) for c in counts)) for day in days] + [str(total)]))
    quarantined = list(_keys(run, "quarantine/"))
    if quarantined:
        reasons: Counter[str] = Counter()
        for key in quarantined:
            for line in _jsonl(run, key):
                reasons[str(line.get("reason") or line.get("error") or "?")] += 1
        run.line()
        run.line("quarantined: " + ", ".join(f"{n} x {reason}" for reason, n in reasons.most_common()))


def report_counters(run: DemoRun) -> None:
    """The hot table's daily counters for the guild: the day's counter items (Query), folded."""
    from guildlog.adapters.hot_reader import HotReader
    from guildlog.services.commands.stats import day_counters
    from guildlog.services.keys import day_pk

    guild = run.session.guild_id
    run.heading(f"Hot table {run.stack.table}: daily counters for {run.session.guild_name or 'the guild'} ({guild})")
    if not guild:
        run.line("the session names no guild")
        return
    reader = HotReader(run.stack.table, run.stack.client("dynamodb"))
    for day in run.days:
        pk = day_pk(guild, day)
        total = day_counters(reader, guild, day)
        if not total:
            run.line(f"{day}: no counters")
            continue
        by_member = {name[2:]: n for name, n in total.items() if name.startswith("u#") and n}
        run.note(
            f"hot table, {day}: {total.get('messages', 0)} messages, {total.get('joins', 0)} joins, "
            f"{total.get('leaves', 0)} leaves, {total.get('mod_actions', 0)} moderation actions"
        )
        run.line(f"{day}  ({pk})")
        run.line(f"messages     {total.get('messages', 0)}{_breakdown(total, 'c#', run.session.channel)}", 2)
        if by_member:
            ranked = sorted(by_member.items(), key=lambda item: -item[1])
            run.line("by member    " + ", ".join(f"{run.session.user(u)} {n}" for u, n in ranked), 2)
        run.line(f"joins        {total.get('joins', 0)}, leaves {total.get('leaves', 0)}", 2)
        moderation = f"moderation   {total.get('mod_actions', 0)}{_breakdown(total, 'm#', run.session.user, 'by')}"
        run.line(moderation, 2)
        actions = {name[2:]: n for name, n in total.items() if name.startswith("a#")}
        if actions:
            run.line("  actions    " + ", ".join(f"{a} {n}" for a, n in sorted(actions.items())), 2)
        run.line(f"commands     {total.get('commands', 0)}{_breakdown(total, 'cmd#', _command)}", 2)
        categories = {name[2:]: n for name, n in total.items() if name.startswith("k#")}
        run.line("events       " + ", ".join(f"{c} {n}" for c, n in sorted(categories.items())), 2)


def report_deleted_messages(run: DemoRun) -> None:
    """Each deleted message's versions and deletion (Query PK = M#<id>), and who deleted it.

    The same service answers `/logs message`: one implementation of the audit-log match.
    """
    from guildlog.adapters.hot_reader import HotReader
    from guildlog.services.commands.message import message_history

    run.heading("Deleted messages, recovered from DynamoDB (Query PK = M#<message id>)")
    deleted = sorted(dict.fromkeys(run.session.deleted), key=lambda mid: mid not in run.session.edited)
    if not deleted:
        run.line("the session deletes no message")
        return
    reader = HotReader(run.stack.table, run.stack.client("dynamodb"))
    for message_id in deleted:
        history = message_history(reader, message_id, run.session.guild_id)
        if history is None or not history.versions:
            run.line(f"message {message_id}: deleted, but no version of it was logged (sent before the relay ran)")
            continue
        author_id, channel_id, edits = history.author_id, history.channel_id, history.edits
        run.line(f'"{history.versions[-1].get("content", "")}"')
        summary = (
            f"message {message_id} by {run.session.user(author_id)} ({author_id}) in {run.session.channel(channel_id)}"
        )
        run.line(f"{summary}, {edits} edit{'s' if edits != 1 else ''}", 2)
        for version in history.versions:
            verb = "posted" if version.get("version") == "create" else "edited"
            run.line(f"{_clock(version.get('occurred_at'))}  {verb:<8} {version.get('content', '')}", 3)
        if history.deletion is None:
            run.line("(no deletion logged)", 3)
            run.line()
            continue
        deleted_at = str(history.deletion.get("deleted_at", ""))
        run.note(
            f'deleted message {message_id} recovered: "{history.versions[-1].get("content", "")}" '
            f"({edits} edit{'s' if edits != 1 else ''})"
        )
        entry = history.deleted_by
        if entry is not None:
            how = "in a bulk delete " if history.deletion.get("bulk") else ""
            actor = entry.get("actor_id")
            who = f"{how}by moderator {run.session.user(actor)} ({actor}), audit-log entry"
            if entry.get("reason"):
                who += f', reason "{entry["reason"]}"'
        else:
            who = history.deletion_note
        run.line(f"{_clock(deleted_at)}  {'deleted':<8} {who}", 3)
        run.line()


STEPS: tuple[Step, ...] = (
    configure_log,
    replay_session,
    drain_archive,
    report_archive,
    report_categories,
    report_counters,
    report_deleted_messages,
    send_slash_commands,
    drain_archive,
    compact_archive,
    export_logs,
    run_named_queries,
    show_log_channels,
)


def run_demo(session_file: Path | None = None, out: TextIO | None = None, steps: Iterable[Step] = STEPS) -> int:
    """Start a fresh stack, run the steps, stop the stack; 0 when every step passed.

    The stack's dev file is a temporary one, so a `guildlog dev` running beside it keeps its own.
    """
    stream = out or sys.stdout
    session = (session_file or default_session_file()).resolve()
    if not session.is_file():
        raise ConfigurationError(f"no such session file: {session}", path=str(session))
    facts = read_session(session)
    with tempfile.TemporaryDirectory(prefix="guildlog-demo-") as temp:
        workdir = Path(temp)
        # The recording's events keep their real dates, and the stack its default retention: the
        # commands' clock is pinned just after the recording (GUILDLOG_NOW), so in the demo's time
        # nothing has expired yet, and the local table does not delete expired items anyway.
        with LocalStack(
            dev_file=workdir / "dev.json",
            function_environment=commands_environment(session),
        ) as stack:
            print(
                f"guildlog demo: a fresh local stack, HTTP API {stack.api_url}, AWS (moto) {stack.aws_endpoint_url}",
                file=stream,
            )
            print("(everything is in memory and gone when the demo ends)", file=stream, flush=True)
            # The detail is kept until the end, so that the report can open with its summary.
            detail = io.StringIO()
            run = DemoRun(stack=stack, session_file=session, session=facts, workdir=workdir, out=detail)
            try:
                for step in steps:
                    step(run)
            finally:
                _print_summary(run.summary, stream)
                stream.write(detail.getvalue())
                stream.flush()
    print("\nguildlog demo: done", file=stream, flush=True)
    return 0


def _print_summary(summary: list[str], stream: TextIO) -> None:
    print("\n== Summary", file=stream)
    for text in summary:
        print(f"  - {text}", file=stream)
    print("  (the detail of each step follows)", file=stream, flush=True)


# ---------------------------------------------------------------- small readers and formatters


def _keys(run: DemoRun, prefix: str) -> Iterator[str]:
    paginator = run.stack.client("s3").get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=run.stack.bucket, Prefix=prefix):
        for entry in page.get("Contents", []):
            yield entry["Key"]


def _jsonl(run: DemoRun, key: str) -> Iterator[dict[str, Any]]:
    body = run.stack.client("s3").get_object(Bucket=run.stack.bucket, Key=key)["Body"].read()
    for line in gzip.decompress(body).decode("utf-8").splitlines():
        if line.strip():
            yield json.loads(line)


def _partition(key: str) -> tuple[str, str | None]:
    """(dataset, yyyy-mm-dd) of an archive key; the day is None for keys outside the layout."""
    dataset, *parts = key.split("/")
    fields = dict(part.split("=", 1) for part in parts if "=" in part)
    if {"year", "month", "day"} <= fields.keys():
        return dataset, f"{fields['year']}-{fields['month']}-{fields['day']}"
    return dataset, None


def _example_key(run: DemoRun) -> str:
    return next(iter(_keys(run, "events/")), "(none)")


def _breakdown(total: dict[str, int], prefix: str, label: Callable[[str], str], word: str = "") -> str:
    parts = sorted(
        ((name[len(prefix) :], n) for name, n in total.items() if name.startswith(prefix)), key=lambda p: -p[1]
    )
    if not parts:
        return ""
    lead = f"{word} " if word else ""
    return f" ({lead}" + ", ".join(f"{label(key)} {n}" for key, n in parts) + ")"


def _command(name: str) -> str:
    return name if name.startswith("/") else f"/{name}"


def _row(label: str, cells: list[str]) -> str:
    return f"{label:<12}" + "".join(f"{cell:>12}" for cell in cells)


def _clock(value: object) -> str:
    """`2026-11-19T23:47:00.660Z` → `2026-11-19 23:47:00.660`."""
    return str(value or "?").replace("T", " ").rstrip("Z")


def _shown(path: Path) -> str:
    """A path relative to the current directory when it is under it (shorter, and no home paths)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
