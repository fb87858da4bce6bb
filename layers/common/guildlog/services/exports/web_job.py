"""An export started from the web viewer, run by WorkerFunction: the same Exporter as `/logs export`.

The file lands under `exports/<guild>/<export_id>/<name>`; the page that started it lists that
prefix until something is there. An export that cannot be made (ExportError: a bad range, `dce`
without a channel) leaves `error.txt` with the reason instead, so the page stops waiting and says
why. A storage failure is raised: Lambda retries the invoke, and the page gives up after its deadline.
"""

from __future__ import annotations

from guildlog.errors import ExportError
from guildlog.models.web_export_job import WebExportJob
from guildlog.services.exports import EXPORTS_PREFIX, Exporter, ExportFile, ExportRequest

ERROR_FILE = "error.txt"


def export_prefix(guild_id: str, export_id: str) -> str:
    return f"{EXPORTS_PREFIX}{guild_id}/{export_id}/"


def run_web_export(job: WebExportJob, exporter: Exporter) -> str:
    """Build and store the export; "stored", or "refused" when only the reason could be stored."""
    try:
        request = ExportRequest(
            guild_id=job.guild_id,
            channel_id=job.channel_id,
            first=job.first,
            last=job.last,
            output_format=job.output_format,
        )
        exporter.export(request, export_id=job.export_id)
    except ExportError as exc:
        reason = exc.message[:1].upper() + exc.message[1:]
        note = ExportFile(ERROR_FILE, "text/plain; charset=utf-8", reason.encode("utf-8"), 0, 0)
        exporter.store.put(export_prefix(job.guild_id, job.export_id) + ERROR_FILE, note)
        return "refused"
    return "stored"
