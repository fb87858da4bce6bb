"""Exports from a page: the form's checks, the job handed to the worker, the page that waits for the file."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from guildlog.models.web_export_job import WebExportJob
from guildlog.services import exports as export_service
from guildlog.services.exports import ExportFile
from guildlog.services.exports.web_job import ERROR_FILE, export_prefix, run_web_export
from guildlog.web import app as web_app
from guildlog.web.app import WebApp
from guildlog.web.exports import ExportStatus, new_export_id
from tests.fakes.memory_table import MemoryTable
from tests.unit.layer.web.test_app import EPOCH, GUILD_A, GUILD_B, NOW, SIGNER, FakeOAuth, event, session_cookie

CHANNEL = "910000000000000010"


class FakeExports:
    """The worker and the bucket in memory: started jobs, and what each export's folder holds."""

    def __init__(self) -> None:
        self.started: list[WebExportJob] = []
        self.states: dict[str, ExportStatus] = {}

    def start(self, job: WebExportJob) -> None:
        self.started.append(job)

    def status(self, guild_id: str, export_id: str, now: int) -> ExportStatus:
        return self.states.get(f"{guild_id}/{export_id}", ExportStatus("pending"))


@pytest.fixture
def table() -> MemoryTable:
    return MemoryTable()


@pytest.fixture
def exports() -> FakeExports:
    return FakeExports()


@pytest.fixture
def app(table: MemoryTable, exports: FakeExports) -> WebApp:
    oauth = FakeOAuth()
    return WebApp(
        signer=lambda: SIGNER,
        oauth=lambda: oauth,
        reader=lambda: table,
        exports=lambda: exports,  # type: ignore[arg-type,return-value]
        now=lambda: NOW,
        epoch=lambda: EPOCH,
    )


COOKIE = session_cookie({GUILD_A: "Lantern Guild"})


def csrf() -> str:
    session = SIGNER.read_session(COOKIE.split("=", 1)[1], int(EPOCH))
    assert session is not None
    return SIGNER.csrf_token(session)


def post(app: WebApp, guild: str, body: str) -> dict[str, Any]:
    return app.handle(event(f"/app/g/{guild}/exports", method="POST", cookies=[COOKIE], body=body))


def test_export_form_starts_a_worker_job_and_redirects_to_its_page_when_posted(
    app: WebApp, exports: FakeExports
) -> None:
    answer = post(app, GUILD_A, f"csrf={csrf()}&channel={CHANNEL}&first=2026-11-19&last=2026-11-20&format=csv")
    [job] = exports.started
    assert answer["statusCode"] == 303
    assert answer["headers"]["location"] == f"/app/g/{GUILD_A}/exports/{job.export_id}"
    assert (job.guild_id, job.channel_id, job.first, job.last) == (GUILD_A, CHANNEL, date(2026, 11, 19), NOW.date())
    assert job.output_format == "csv" and job.requested_by == "910000000000000101"


def test_export_form_is_refused_when_the_csrf_token_is_missing(app: WebApp, exports: FakeExports) -> None:
    answer = post(app, GUILD_A, f"channel={CHANNEL}&format=json")
    assert answer["statusCode"] == 403 and exports.started == []


def test_export_form_is_refused_when_the_guild_is_not_the_members(app: WebApp, exports: FakeExports) -> None:
    answer = post(app, GUILD_B, f"csrf={csrf()}&format=json")
    assert answer["statusCode"] == 403 and exports.started == []


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ("format=pdf", "format"),
        ("format=dce", "one channel"),
        ("first=2026-11-21", "future"),
        ("first=2026-10-01&last=2026-11-20", "at most"),
        ("first=2026-11-20&last=2026-11-19", "ends before"),
        ("channel=general", "id"),
    ],
)
def test_export_form_says_what_is_wrong_when_a_field_is_bad(
    app: WebApp, exports: FakeExports, fields: str, says: str
) -> None:
    answer = post(app, GUILD_A, f"csrf={csrf()}&{fields}")
    assert answer["statusCode"] == 400 and says in answer["body"]
    assert exports.started == []


def test_export_page_reloads_itself_and_answers_304_when_the_export_is_still_pending(app: WebApp) -> None:
    export_id = new_export_id(int(EPOCH))
    path = f"/app/g/{GUILD_A}/exports/{export_id}"
    cookie = session_cookie({GUILD_A: "Lantern Guild"})
    first = app.handle(event(path, cookies=[cookie]))
    assert first["statusCode"] == 200 and '<meta http-equiv="refresh" content="3">' in first["body"]
    again = event(path, cookies=[cookie])
    again["headers"]["if-none-match"] = first["headers"]["etag"]
    second = app.handle(again)
    assert second["statusCode"] == 304 and second["body"] == ""


def test_export_page_links_the_file_and_stops_reloading_when_it_is_ready(app: WebApp, exports: FakeExports) -> None:
    export_id = new_export_id(int(EPOCH))
    exports.states[f"{GUILD_A}/{export_id}"] = ExportStatus("ready", name="x.json", url="https://s3.test/x?sig=1")
    answer = app.handle(event(f"/app/g/{GUILD_A}/exports/{export_id}", cookies=[session_cookie({GUILD_A: "L"})]))
    assert 'href="https://s3.test/x?sig=1"' in answer["body"] and "refresh" not in answer["body"]
    assert "etag" not in answer["headers"]


def test_export_formats_are_the_exporters_when_offered() -> None:
    assert web_app.EXPORT_FORMATS == export_service.FORMATS


class MemoryStore:
    def __init__(self) -> None:
        self.files: dict[str, ExportFile] = {}

    def put(self, key: str, file: ExportFile) -> None:
        self.files[key] = file

    def link(self, key: str, expires_in: int) -> str:
        return f"https://s3.test/{key}"


class NoRows:
    def rows(self, day: date) -> list[dict[str, Any]]:
        return []


def job(**fields: Any) -> WebExportJob:
    values = {
        "export_id": new_export_id(int(EPOCH)), "guild_id": GUILD_A, "channel_id": CHANNEL,
        "first": "2026-11-20", "last": "2026-11-20", "output_format": "json", "requested_by": "910000000000000101",
    }  # fmt: skip
    return WebExportJob.model_validate({**values, **fields})


def test_web_export_stores_the_file_under_its_export_folder_when_run() -> None:
    store = MemoryStore()
    asked = job()
    assert run_web_export(asked, export_service.Exporter(NoRows(), store)) == "stored"
    [key] = store.files
    assert key.startswith(export_prefix(GUILD_A, asked.export_id)) and key.endswith(".json")


def test_web_export_leaves_the_reason_when_the_export_cannot_be_made() -> None:
    store = MemoryStore()
    asked = job(channel_id=None, output_format="dce")
    assert run_web_export(asked, export_service.Exporter(NoRows(), store)) == "refused"
    note = store.files[export_prefix(GUILD_A, asked.export_id) + ERROR_FILE]
    assert note.body and note.content_type.startswith("text/plain")


def test_web_export_job_is_refused_when_it_carries_an_unknown_field() -> None:
    with pytest.raises(ValueError, match="extra"):
        job(token="x")
