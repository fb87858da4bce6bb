"""The demo's archive steps: nightly compaction, `/logs export`, and the named Athena queries run
locally on DuckDB over the stack's S3 — the demo ends with their answers."""

from __future__ import annotations

import json
import urllib.request
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from guildlog.errors import GuildlogError

if TYPE_CHECKING:
    from guildlog.queries.result import QueryResult
    from guildlog_tools.local.demo import DemoRun
    from guildlog_tools.local.query_engine import LocalQueryEngine

FOLLOWUP_TIMEOUT_S = 60
ROWS_SHOWN = 12
DATASETS = ("raw", "events", "events_csv", "quarantine")


def _engine(run: DemoRun) -> LocalQueryEngine:
    from guildlog_tools.local.query_engine import LocalQueryEngine

    return LocalQueryEngine(endpoint_url=run.stack.aws_endpoint_url, bucket=run.stack.bucket, region=run.stack.region)


def _objects_per_day(run: DemoRun) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    paginator = run.stack.client("s3").get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=run.stack.bucket):
        for entry in page.get("Contents", []):
            dataset, *parts = entry["Key"].split("/")
            fields = dict(part.split("=", 1) for part in parts if "=" in part)
            if {"year", "month", "day"} <= fields.keys():
                counts[dataset][f"{fields['year']}-{fields['month']}-{fields['day']}"] += 1
    return counts


def compact_archive(run: DemoRun) -> None:
    """What CompactFunction does every night: each dataset's per-batch objects of a day → one object."""
    from guildlog.adapters.s3_compaction import S3CompactionStore
    from guildlog.queries import parse_day
    from guildlog.services.compaction import Compactor

    run.heading("Nightly compaction (CompactFunction, here as `guildlog compact --day …`): objects per day")
    before = _objects_per_day(run)
    compactor = Compactor(S3CompactionStore(run.stack.bucket, run.stack.client("s3")))
    results = [result for day in run.days for result in compactor.compact_day(parse_day(day))]
    after = _objects_per_day(run)
    run.line(f"{'dataset':<12}" + "".join(f"{day:>24}" for day in run.days))
    for dataset in [d for d in DATASETS if d in before]:
        cells = [f"{before[dataset].get(day, 0)} -> {after[dataset].get(day, 0)}" for day in run.days]
        run.line(f"{dataset + '/':<12}" + "".join(f"{cell:>24}" for cell in cells))
    merged = sum(r.inputs for r in results if r.state == "compacted")
    duplicates = sum(r.duplicates for r in results if r.state == "compacted")
    refused = [r for r in results if r.state == "refused"]
    run.note(f"compaction: {merged} batch objects merged into one per dataset and day, {duplicates} duplicates dropped")
    run.line()
    run.line(f"{merged} batch objects merged, {duplicates} duplicate lines dropped; merged objects are named like")
    run.line(next((r.merged_key for r in results if r.state == "compacted"), "(none)"), 2)
    if refused:
        raise GuildlogError("compaction refused a partition", reason=refused[0].reason)


def export_logs(run: DemoRun) -> None:
    """`/logs export` as a moderator runs it: deferred, then WorkerFunction edits in a link to the file."""
    from guildlog.queries import bind, get_named_query
    from guildlog_tools.local.demo_commands import DiscordSide

    facts = run.session
    if not facts.guild_id or not run.days:
        return
    days = f"{run.days[0]}..{run.days[-1]}"
    with _engine(run) as engine:
        top = engine.run_bound(
            bind(get_named_query("top_channels"), {"guild": facts.guild_id, "from": run.days[0], "to": run.days[-1]})
        )
    if not top.rows:
        return
    channel = str(top.rows[0][0])
    moderator = next(iter(facts.users), facts.guild_id)
    run.heading(f"/logs export in {facts.channel(channel)} date:{days} format:dce (a DiscordChatExporter file)")
    discord = DiscordSide(run.stack, facts.guild_id, moderator, channel)
    fake_discord = run.stack.discord
    if fake_discord is None:
        raise GuildlogError("the local stack has no fake Discord for follow-ups")
    edits_before = len(fake_discord.edits)
    status, answer = discord.send(discord.command("logs", "export", date=days, format="dce"))
    run.line(f"<- HTTP {status}, type {answer.get('type')} (deferred: WorkerFunction builds the file)", 2)
    edits = fake_discord.wait_for_edits(edits_before + 1, timeout=FOLLOWUP_TIMEOUT_S)
    if status != 200 or len(edits) <= edits_before:
        raise GuildlogError("the export was not finished by WorkerFunction", status=status)
    content = str(edits[edits_before].body.get("content") or "")
    run.line("<- WorkerFunction edited the answer:", 2)
    for line in content.splitlines():
        run.line(f"   | {line}", 2)
    link = content.split("](", 1)[1].split(")", 1)[0] if "](" in content else ""
    if not link.startswith("http"):
        raise GuildlogError("the export answer holds no link")
    with urllib.request.urlopen(link, timeout=30) as response:  # noqa: S310 - the local stack's presigned URL
        document = json.loads(response.read())
    run.note(f"/logs export: a DiscordChatExporter file of {document['messageCount']} messages, by presigned link")
    run.line()
    run.line(
        f"the link downloads {document['messageCount']} messages of #{document['channel']['name']} "
        f"in {document['guild']['name']} (DiscordChatExporter's layout):"
    )
    for message in document["messages"][:ROWS_SHOWN]:
        extra = message.get("guildlog", {})
        note = " [deleted]" if "deletedAt" in extra else ""
        note += f" [{len(extra['previousVersions'])} earlier version(s)]" if "previousVersions" in extra else ""
        text = " ".join(message["content"].split())[:60]
        run.line(f"{message['timestamp'][11:19]} {message['author']['name']:<10} {text}{note}", 2)


def run_named_queries(run: DemoRun) -> None:
    """Every named Athena query, run locally on DuckDB over the stack's S3 (the same SQL as on Athena)."""
    from guildlog.queries import bind, named_queries
    from guildlog.queries.result import human_bytes, render_table

    facts = run.session
    run.heading("The named Athena queries, run locally: guildlog query --local --named … (DuckDB over S3)")
    if not facts.guild_id or not run.days:
        run.line("the session names no guild")
        return
    params = {"guild": facts.guild_id, "from": run.days[0], "to": run.days[-1]}
    with _engine(run) as engine:
        results: dict[str, QueryResult] = {}
        # A member's history is asked for the most active member: top_members runs before it.
        ordered = sorted(named_queries().items(), key=lambda item: ("user" in item[1].placeholders, item[0]))
        for name, query in ordered:
            given = dict(params)
            if "user" in query.placeholders:
                top = results.get("top_members")
                if top is None or not top.rows:
                    continue
                given["user"] = str(top.rows[0][0])
            results[name] = result = engine.run_bound(bind(query, given))
            shown = " ".join(f"{k}={v}" for k, v in given.items())
            run.line()
            run.line(f"-- {name}  ({shown})")
            rows = [
                tuple(_label(run, column, v) for column, v in zip(result.columns, row, strict=True))
                for row in result.rows
            ]
            for line in render_table(result.columns, rows[:ROWS_SHOWN]).splitlines():
                run.line(line, 2)
            if len(rows) > ROWS_SHOWN:
                run.line(f"… and {len(rows) - ROWS_SHOWN} more rows", 2)
            run.line(result.summary(), 2)
        one_day = engine.run_bound(bind(named_queries()["top_members"], {**params, "to": run.days[0]}))
        everything = engine.run("SELECT count(*) AS events FROM events")
    run.note(f"{len(results)} named Athena queries run locally on DuckDB over the archive")
    run.line()
    run.line(
        f"partition pruning: top_members for {run.days[0]} read {human_bytes(one_day.bytes_scanned)} from "
        f"{one_day.objects_read} object(s); the whole events table is {human_bytes(everything.bytes_scanned)} "
        f"in {everything.objects_read} object(s)"
    )


def _label(run: DemoRun, column: str, value: Any) -> Any:
    """Ids shown with the recording's names, as the report does elsewhere."""
    if value is None:
        return None
    if column.endswith("user_id") or column in ("moderator_id", "author_id"):
        name = run.session.user(str(value))
        return f"{name} ({value})" if name != str(value) else value
    if column == "channel_id":
        return f"{run.session.channel(str(value))}"
    return value
