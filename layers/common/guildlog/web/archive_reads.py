"""Archive reads in the background: a page starts a query, answers at once, and finds the rows on a later visit.

A page past the hot table's retention starts its query (web.archive) with StartQueryExecution and
redirects to itself with a *ticket* in the URL (`run=`). The ticket is signed with the session
key and names the query's execution id, the guild, the member, the page and its parameters, and
expires after TICKET_SECONDS. On every visit with a ticket the page checks it against itself
before it asks the engine anything: a forged or altered ticket, one made for another guild, another
member or another page is refused; an expired one starts the query again. While the query runs the
page says so and reloads itself (a meta refresh: no script); once it succeeded its rows are rendered;
a failed query is said to have failed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from guildlog.errors import AccessDeniedError, QueryError
from guildlog.queries import BoundQuery
from guildlog.queries.result import QueryResult
from guildlog.web.sessions import CookieSigner

TICKET_PURPOSE = "archive-read"
# Athena keeps a query's results in the workgroup's output location far longer; a page link need not.
TICKET_SECONDS = 3600
RUNNING = frozenset({"QUEUED", "RUNNING"})
# Seconds between reloads of a page waiting for its query.
POLL_SECONDS = 2


class QueryEngine(Protocol):
    """adapters.athena.AthenaQueryRunner: Athena in AWS, the local stack's DuckDB behind the same API."""

    def start(self, sql: str, parameters: list[str]) -> str: ...

    def state(self, execution_id: str) -> tuple[str, str | None]: ...

    def fetch(self, execution_id: str) -> tuple[list[str], list[tuple[Any, ...]]]: ...


@dataclass(frozen=True)
class Ticket:
    """A started archive query, as a page's URL carries it."""

    execution_id: str
    guild_id: str
    user_id: str
    page: str
    parameters: Mapping[str, str]


@dataclass(frozen=True)
class Progress:
    """Where a page's archive query is: `running`, `failed` (with a reason) or `ready` (with its rows)."""

    state: str
    rows: list[dict[str, Any]] | None = None
    reason: str | None = None


class ArchiveReads:
    """Starts, signs and checks the pages' archive queries through one engine."""

    def __init__(self, engine: QueryEngine) -> None:
        self.engine = engine

    def start(
        self, signer: CookieSigner, bound: BoundQuery, *, guild_id: str, user_id: str, page: str, now: int
    ) -> str:
        """Start the query; the signed ticket for the page's URL. QueryError when the engine refuses it."""
        execution_id = self.engine.start(bound.sql, bound.athena_parameters())
        data = {"q": execution_id, "g": guild_id, "u": user_id, "k": page, "p": dict(bound.parameters)}
        return signer.sign(TICKET_PURPOSE, {**data, "exp": now + TICKET_SECONDS})

    def progress(self, ticket: Ticket) -> Progress:
        """Asked once, never waited for: the query's state, and its rows when it succeeded."""
        try:
            state, reason = self.engine.state(ticket.execution_id)
        except QueryError as exc:
            return Progress("failed", reason=str(exc.fields.get("reason") or exc.message))
        if state in RUNNING:
            return Progress("running")
        if state != "SUCCEEDED":
            return Progress("failed", reason=f"the query {state.lower()}" + (f": {reason}" if reason else ""))
        try:
            columns, rows = self.engine.fetch(ticket.execution_id)
        except QueryError as exc:
            return Progress("failed", reason=str(exc.fields.get("reason") or exc.message))
        result = QueryResult(columns=columns, rows=rows, engine="archive", execution_id=ticket.execution_id)
        return Progress("ready", rows=result.records())


def read_ticket(
    signer: CookieSigner,
    value: str,
    *,
    guild_id: str,
    user_id: str,
    page: str,
    parameters: Mapping[str, str],
    now: int,
) -> Ticket | None:
    """The ticket in a page's URL, checked against that page; None when it has expired (start again).

    AccessDeniedError when it is forged or altered, or was made for another guild, member, page or
    parameters: no engine is asked about a query this page did not start.
    """
    data = signer.verify(TICKET_PURPOSE, value, now)
    if data is None:
        if signer.verify(TICKET_PURPOSE, value, 0) is not None:
            return None  # signed here, but expired
        raise AccessDeniedError("This archive read link is not valid; open the page again.")
    ticket = Ticket(
        execution_id=str(data.get("q") or ""),
        guild_id=str(data.get("g") or ""),
        user_id=str(data.get("u") or ""),
        page=str(data.get("k") or ""),
        parameters={str(k): str(v) for k, v in (data.get("p") or {}).items()},
    )
    if (
        not ticket.execution_id
        or ticket.guild_id != guild_id
        or ticket.user_id != user_id
        or ticket.page != page
        or dict(ticket.parameters) != dict(parameters)
    ):
        raise AccessDeniedError("This archive read link was made for another page; open the page again.")
    return ticket
