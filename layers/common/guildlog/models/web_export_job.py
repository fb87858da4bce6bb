"""What the web viewer hands WorkerFunction to build an export (an async invoke's payload). Ours: `extra="forbid"`."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

WEB_EXPORT = "web_export"


class WebExportJob(BaseModel):
    """One export started from a page: the same file `/logs export` makes, stored under
    `exports/<guild>/<export_id>/`, where the page that started it looks for it."""

    model_config = ConfigDict(extra="forbid")

    v: Literal[1] = 1
    kind: Literal["web_export"] = "web_export"
    export_id: str = Field(pattern=r"^w[0-9a-f]{8}-[0-9a-f]{24}$")
    guild_id: str = Field(pattern=r"^[0-9]{15,21}$")
    channel_id: str | None = Field(default=None, pattern=r"^[0-9]{15,21}$")
    first: date
    last: date
    output_format: Literal["json", "csv", "dce"] = "json"
    requested_by: str = Field(pattern=r"^[0-9]{15,21}$")


def is_web_export(event: object) -> bool:
    """Whether a worker invocation's event is a web export (else it is an interaction's WorkerJob)."""
    return isinstance(event, dict) and event.get("kind") == WEB_EXPORT
