"""Pages past the hot table: the query starts in the background, the page waits without script, then shows
the rows; tickets are bound to the guild, the member and the page; values never enter the SQL text."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from guildlog.adapters.athena import AthenaQueryRunner
from guildlog.web.app import WebApp
from guildlog.web.archive_reads import TICKET_PURPOSE, TICKET_SECONDS, ArchiveReads
from guildlog.web.sessions import CookieSigner
from tests.fakes.memory_table import MemoryTable
from tests.unit.layer.web.test_app import EPOCH, GUILD_A, GUILD_B, NOW, SIGNER, FakeOAuth, event, session_cookie

CHANNEL = "910000000000000010"
OLD_DAY = "2026-09-01"  # 80 days before NOW: past the default 30 days
COLUMNS = ["event_id", "category", "action", "occurred_at", "channel_id", "message_id", "user_id", "user_name",
           "content", "attachments", "details"]  # fmt: skip


class MemoryAthena:
    """Athena's query API in memory: every query stays RUNNING until the test finishes or fails it."""

    def __init__(self) -> None:
        self.started: list[dict[str, Any]] = []
        self.states: dict[str, str] = {}
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.asked: list[str] = []

    def start_query_execution(self, **request: Any) -> dict[str, Any]:
        execution_id = f"q-{len(self.started) + 1}"
        self.started.append(request)
        self.states[execution_id] = "RUNNING"
        return {"QueryExecutionId": execution_id}

    def get_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
        self.asked.append(QueryExecutionId)
        state = self.states[QueryExecutionId]
        status: dict[str, Any] = {"State": state}
        if state == "FAILED":
            status["StateChangeReason"] = "HIVE_BAD_DATA: one object is not JSON"
        return {"QueryExecution": {"Status": status, "Statistics": {"DataScannedInBytes": 0}}}

    def get_query_results(self, **request: Any) -> dict[str, Any]:
        rows = self.rows[request["QueryExecutionId"]]
        columns = list(rows[0]) if rows else COLUMNS
        data = [{"Data": [{"VarCharValue": c} for c in columns]}]
        data += [{"Data": [{} if r.get(c) is None else {"VarCharValue": str(r[c])} for c in columns]} for r in rows]
        info = [{"Name": c, "Label": c, "Type": "varchar"} for c in columns]
        return {"ResultSet": {"Rows": data, "ResultSetMetadata": {"ColumnInfo": info}}}

    def finish(self, rows: list[dict[str, Any]], execution_id: str = "q-1") -> None:
        self.states[execution_id] = "SUCCEEDED"
        self.rows[execution_id] = rows


def message_row(n: int, content: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": f"gw:{n}", "category": "message", "action": "create", "occurred_at": f"{OLD_DAY}T10:00:0{n}.000Z",
        "channel_id": CHANNEL, "message_id": f"91000000000000050{n}", "user_id": "910000000000000101",
        "user_name": "alice", "content": content, "attachments": "[]", "details": json.dumps({}), **fields,
    }  # fmt: skip


@pytest.fixture
def athena() -> MemoryAthena:
    return MemoryAthena()


@pytest.fixture
def app(athena: MemoryAthena) -> WebApp:
    reads = ArchiveReads(AthenaQueryRunner("wg", "db", athena))
    oauth = FakeOAuth()
    return WebApp(
        signer=lambda: SIGNER, oauth=lambda: oauth, reader=MemoryTable, archive=lambda: reads, now=lambda: NOW,
        epoch=lambda: EPOCH,
    )  # fmt: skip


def cookie_for(*guilds: str) -> list[str]:
    return [session_cookie({g: "Guild" for g in guilds})]


def follow_start(app: WebApp, path: str, cookies: list[str]) -> str:
    """Open a page past the hot table; the URL it redirects to (with its ticket)."""
    answer = app.handle(event(path, cookies=cookies))
    assert answer["statusCode"] == 303, answer["body"][:300]
    location = str(answer["headers"]["location"])
    assert parse_qs(urlsplit(location).query)["run"]
    return location


def test_old_transcript_waits_then_shows_the_archive_rows_when_the_query_finishes(
    app: WebApp, athena: MemoryAthena
) -> None:
    cookies = cookie_for(GUILD_A)
    location = follow_start(app, f"/app/g/{GUILD_A}/channel/{CHANNEL}?day={OLD_DAY}", cookies)
    [started] = athena.started
    assert started["WorkGroup"] == "wg" and started["QueryExecutionContext"] == {"Database": "db"}
    assert started["ExecutionParameters"] == [f"'{GUILD_A}'", f"'{OLD_DAY}'", f"'{OLD_DAY}'", f"'{CHANNEL}'"]
    assert GUILD_A not in started["QueryString"] and OLD_DAY not in started["QueryString"]

    waiting = app.handle(event(location, cookies=cookies))
    assert waiting["statusCode"] == 200 and waiting["headers"]["retry-after"] == "2"
    assert "Reading the archive…" in waiting["body"]
    assert '<meta http-equiv="refresh" content="2">' in waiting["body"]

    athena.finish([message_row(1, "an old **lantern**"), message_row(2, "edited later")])
    shown = app.handle(event(location, cookies=cookies))
    assert shown["statusCode"] == 200
    assert "Read from the S3 archive" in shown["body"] and "<strong>lantern</strong>" in shown["body"]
    assert 'http-equiv="refresh"' not in shown["body"]
    assert len(athena.started) == 1  # visits with a ticket never start the query again


def test_old_page_says_the_query_failed_when_athena_fails_it(app: WebApp, athena: MemoryAthena) -> None:
    cookies = cookie_for(GUILD_A)
    location = follow_start(app, f"/app/g/{GUILD_A}/channel/{CHANNEL}?day={OLD_DAY}", cookies)
    athena.states["q-1"] = "FAILED"
    answer = app.handle(event(location, cookies=cookies))
    assert answer["statusCode"] == 502
    assert "The archive query failed" in answer["body"] and "HIVE_BAD_DATA" in answer["body"]
    assert f'href="/app/g/{GUILD_A}/channel/{CHANNEL}?day={OLD_DAY}"' in answer["body"]  # try again: a new query


def test_archive_search_binds_the_typed_text_as_a_value_when_it_looks_like_sql(
    app: WebApp, athena: MemoryAthena
) -> None:
    cookies = cookie_for(GUILD_A)
    text = "x') OR guild_id <> ('"
    path = f"/app/g/{GUILD_A}/search?q={text}&from=2026-09-01&to=2026-09-03"
    location = follow_start(app, path, cookies)
    [started] = athena.started
    assert text.lower() not in started["QueryString"].lower()
    assert "'x'') or guild_id <> ('''" in started["ExecutionParameters"]  # quoted as one literal
    assert started["ExecutionParameters"][:3] == [f"'{GUILD_A}'", "'2026-09-01'", "'2026-09-03'"]
    found = {**message_row(1, "x') OR guild_id <> (' typed"), "event_type": "MESSAGE_CREATE"}
    athena.finish([found])
    answer = app.handle(event(location, cookies=cookies))
    assert answer["statusCode"] == 200 and "typed" in answer["body"]
    assert "Read from the S3 archive" in answer["body"]


def test_archive_feed_pages_through_the_rows_with_the_same_ticket_when_older_is_followed(
    app: WebApp, athena: MemoryAthena
) -> None:
    cookies = cookie_for(GUILD_A)
    location = follow_start(app, f"/app/g/{GUILD_A}/feed?from=2026-09-01&to=2026-09-02", cookies)
    rows = [{**message_row(1, f"row {n:03d}"), "event_id": f"gw:{n}"} for n in range(60)]
    athena.finish(rows)
    first = app.handle(event(location, cookies=cookies))["body"]
    assert "row 000" in first and "row 050" not in first
    older = app.handle(event(f"{location}&at=50", cookies=cookies))["body"]
    assert "row 050" in older and "row 000" not in older
    assert len(athena.started) == 1


def test_archive_range_longer_than_a_month_is_refused_before_any_query_when_asked(
    app: WebApp, athena: MemoryAthena
) -> None:
    answer = app.handle(event(f"/app/g/{GUILD_A}/feed?from=2026-06-01&to=2026-09-01", cookies=cookie_for(GUILD_A)))
    assert answer["statusCode"] == 400 and "at most 31 days" in answer["body"]
    assert athena.started == []


def test_archive_page_of_guild_b_is_refused_before_any_query_when_the_session_is_for_guild_a(
    app: WebApp, athena: MemoryAthena
) -> None:
    answer = app.handle(event(f"/app/g/{GUILD_B}/channel/{CHANNEL}?day={OLD_DAY}", cookies=cookie_for(GUILD_A)))
    assert answer["statusCode"] == 403
    assert athena.started == []


def test_ticket_made_for_guild_b_is_refused_when_used_on_guild_a(app: WebApp, athena: MemoryAthena) -> None:
    both = cookie_for(GUILD_A, GUILD_B)
    location = follow_start(app, f"/app/g/{GUILD_B}/channel/{CHANNEL}?day={OLD_DAY}", both)
    athena.finish([message_row(1, "guild B's secret plans", channel_id=CHANNEL)])
    borrowed = location.replace(f"/g/{GUILD_B}/", f"/g/{GUILD_A}/")
    answer = app.handle(event(borrowed, cookies=both))
    assert answer["statusCode"] == 403 and "secret plans" not in answer["body"]
    assert athena.asked == []


@pytest.mark.parametrize("kind", ["forged", "altered", "other member", "other day"])
def test_forged_or_borrowed_ticket_is_refused_without_asking_the_engine(
    app: WebApp, athena: MemoryAthena, kind: str
) -> None:
    cookies = cookie_for(GUILD_A)
    path = f"/app/g/{GUILD_A}/channel/{CHANNEL}?day={OLD_DAY}"
    data = {"q": "q-1", "g": GUILD_A, "u": "910000000000000101", "k": "transcript",
            "p": {"guild": GUILD_A, "from": OLD_DAY, "to": OLD_DAY, "channel": CHANNEL},
            "exp": int(EPOCH) + 600}  # fmt: skip
    athena.finish([message_row(1, "should stay unread")])
    if kind == "forged":
        ticket = CookieSigner(b"f" * 32).sign(TICKET_PURPOSE, data)
    elif kind == "altered":
        payload, tag = SIGNER.sign(TICKET_PURPOSE, data).split(".")
        ticket = f"{payload[:-1]}{'A' if payload[-1] != 'A' else 'B'}.{tag}"
    elif kind == "other member":
        ticket = SIGNER.sign(TICKET_PURPOSE, {**data, "u": "910000000000000102"})
    else:
        ticket = SIGNER.sign(TICKET_PURPOSE, {**data, "p": {**data["p"], "from": "2026-09-02", "to": "2026-09-02"}})
    answer = app.handle(event(f"{path}&run={ticket}", cookies=cookies))
    assert answer["statusCode"] == 403 and "should stay unread" not in answer["body"]
    assert athena.asked == []


def test_expired_ticket_starts_the_query_again_when_the_page_is_reopened(app: WebApp, athena: MemoryAthena) -> None:
    cookies = cookie_for(GUILD_A)
    path = f"/app/g/{GUILD_A}/channel/{CHANNEL}?day={OLD_DAY}"
    data = {"q": "q-0", "g": GUILD_A, "u": "910000000000000101", "k": "transcript",
            "p": {"guild": GUILD_A, "from": OLD_DAY, "to": OLD_DAY, "channel": CHANNEL},
            "exp": int(EPOCH) - TICKET_SECONDS}  # fmt: skip
    answer = app.handle(event(f"{path}&run={SIGNER.sign(TICKET_PURPOSE, data)}", cookies=cookies))
    assert answer["statusCode"] == 303 and len(athena.started) == 1
    assert athena.asked == []


def test_old_page_only_points_to_the_archive_when_no_query_engine_is_set_up() -> None:
    oauth = FakeOAuth()
    app = WebApp(signer=lambda: SIGNER, oauth=lambda: oauth, reader=MemoryTable, now=lambda: NOW, epoch=lambda: EPOCH)
    answer = app.handle(event(f"/app/g/{GUILD_A}/channel/{CHANNEL}?day={OLD_DAY}", cookies=cookie_for(GUILD_A)))
    assert answer["statusCode"] == 200 and "only the S3 archive holds it" in answer["body"]
