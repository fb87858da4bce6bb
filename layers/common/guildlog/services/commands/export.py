"""`/logs export [channel] [date] [format]`: a channel's log as a file, linked in the answer.

Always deferred: WorkerFunction reads the asked days from the S3 archive (services.exports), stores
the file under `exports/` and edits the deferred answer with a presigned link. The export holds
deleted and edited messages, so it needs Manage Server, like looking up others' messages.
"""

from __future__ import annotations

from datetime import date

from guildlog.errors import CommandError, ExportError
from guildlog.services.commands.context import Call, Ports, Reply, when
from guildlog.services.exports import FORMATS, MAX_EXPORT_DAYS, ExportRequest
from guildlog.services.timefmt import iso

DATE_HELP = "`date` takes a day like 2026-11-20, or a range like 2026-11-19..2026-11-20 (UTC days)."


def parse_days(text: str | None, today: date) -> tuple[date, date]:
    """`2026-11-20` or `2026-11-19..2026-11-20` (none: today) → (first, last)."""
    if not text:
        return today, today
    first_text, separator, last_text = text.strip().partition("..")
    try:
        first = date.fromisoformat(first_text.strip())
        last = date.fromisoformat(last_text.strip()) if separator else first
    except ValueError:
        raise CommandError(DATE_HELP) from None
    if last > today:
        raise CommandError("`date` is in the future.")
    return first, last


def run(call: Call, ports: Ports) -> Reply:
    call.require_manage_guild("Exporting logs")
    exporter = ports.exporter
    if exporter is None:
        raise CommandError("Exports are not set up for this deployment.")
    channel_id = call.channel_option("channel") or call.interaction.channel_id
    output_format = call.string_option("format") or "json"
    if output_format not in FORMATS:
        raise CommandError(f"`format` is one of {', '.join(FORMATS)}.")
    first, last = parse_days(call.string_option("date"), call.now.date())
    try:
        request = ExportRequest(
            guild_id=call.guild_id, channel_id=channel_id, first=first, last=last, output_format=output_format
        )
    except ExportError as exc:
        if "at most" in exc.message:
            raise CommandError(f"An export covers at most {MAX_EXPORT_DAYS} days.") from None
        raise CommandError(exc.message[:1].upper() + exc.message[1:] + ".") from None
    result = exporter.export(request, export_id=call.interaction.id)
    days = first.isoformat() if first == last else f"{first.isoformat()} to {last.isoformat()}"
    file = result.file
    return Reply(
        f"**Export of <#{channel_id}>, {days}** ({output_format}): {file.rows} events, {file.messages} messages.\n"
        f"[{file.name}]({result.url})\n"
        f"The link works until {when(iso(result.expires_at), 't')} ({when(iso(result.expires_at), 'R')})."
    )
