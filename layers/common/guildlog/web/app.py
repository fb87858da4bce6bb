"""The web viewer's request path: an API Gateway HTTP API (payload v2) event in, an HTML page out.

Routes (under `/app`): `/` the member's guilds; `/auth/login`, `/auth/callback`, `POST /auth/logout`;
`/g/{guild}/` overview, `/feed`, `/search`, `/channel/{channel}?day=`, `/member/{user}`; and
`/static/{version}/{file}` (versioned, cached for a year). Every answer carries a strict
Content-Security-Policy (no script at all: the pages need none), and every page of a guild checks
the signed-in member may read that guild before anything of it is read.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from guildlog.errors import AccessDeniedError, GuildlogError, MalformedRequestError, SignInError
from guildlog.handlers.http import status_for
from guildlog.services.commands.context import HotReader
from guildlog.web import reads
from guildlog.web.avatars import DISCORD_CDN, avatars
from guildlog.web.oauth import DiscordOAuth, pkce_pair
from guildlog.web.roles import ViewerRoles
from guildlog.web.sessions import (
    SESSION_COOKIE,
    SESSION_SECONDS,
    SIGN_IN_COOKIE,
    SIGN_IN_SECONDS,
    CookieSigner,
    Session,
    SignIn,
    clear_cookie_header,
    cookie_header,
    new_session,
    read_cookie,
)

if TYPE_CHECKING:
    from guildlog.models.web_export_job import WebExportJob
    from guildlog.queries import BoundQuery
    from guildlog.web.archive_reads import ArchiveReads
    from guildlog.web.exports import WebExports

BASE = "/app"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}
STATIC_FILES = {"app.css": "text/css; charset=utf-8"}
_SNOWFLAKE = re.compile(r"^\d{15,21}$")
_KIND = re.compile(r"^[a-z_]{1,40}$")
_EXPORT_ID = re.compile(r"^w[0-9a-f]{8}-[0-9a-f]{24}$")
EXPORT_POLL_SECONDS = 3
# services.exports.FORMATS (a test checks they agree): the export code is imported only when one starts.
EXPORT_FORMATS = ("json", "csv", "dce")
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
MAX_SEARCH_CHARS = 100


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    cookies: list[str]
    host: str
    form: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Request:
        http = (event.get("requestContext") or {}).get("http") or {}
        headers = event.get("headers") or {}
        body = event.get("body") or ""
        if event.get("isBase64Encoded") and body:
            try:
                body = base64.b64decode(body).decode("utf-8")
            except ValueError:
                raise MalformedRequestError("the form is not UTF-8") from None
        form = dict(parse_qsl(body, keep_blank_values=True)) if isinstance(body, str) and body else {}
        host = str((event.get("requestContext") or {}).get("domainName") or headers.get("host") or "")
        return cls(
            method=str(http.get("method") or "GET").upper(),
            path=str(event.get("rawPath") or http.get("path") or "/"),
            query={str(k): str(v) for k, v in (event.get("queryStringParameters") or {}).items()},
            cookies=list(event.get("cookies") or []),
            host=host,
            form=form,
            headers={str(k).lower(): str(v) for k, v in headers.items()},
        )

    @property
    def local(self) -> bool:
        """A loopback host: the local stack over plain http, where a Secure cookie would never come back."""
        name = self.host.rsplit(":", 1)[0] if not self.host.startswith("[") else self.host.split("]")[0] + "]"
        return name in _LOOPBACK_HOSTS

    @property
    def origin(self) -> str:
        return f"{'http' if self.local else 'https'}://{self.host}"


@dataclass
class Answer:
    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    cookies: list[str] = field(default_factory=list)

    def as_result(self, csp: str = CSP) -> dict[str, Any]:
        headers = {**SECURITY_HEADERS, "content-security-policy": csp, "cache-control": "no-store", **self.headers}
        headers.setdefault("content-type", "text/html; charset=utf-8")
        result: dict[str, Any] = {"statusCode": self.status, "headers": headers, "body": self.body}
        if self.cookies:
            result["cookies"] = self.cookies
        return result


def content_security_policy(image_origin: str | None) -> str:
    """CSP with images from this site and one more origin (Discord's CDN for avatars), never from anywhere else."""
    return CSP.replace("img-src 'self' data:", f"img-src 'self' data: {image_origin}") if image_origin else CSP


def redirect(location: str, cookies: list[str] | None = None, status: int = 303) -> Answer:
    return Answer(status, headers={"location": location}, cookies=cookies or [])


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path of this viewer, never another site (`//evil`, `\\evil`, `https:`)."""
    if (
        not value
        or not value.startswith(BASE)
        or value.startswith("//")
        or any(c in value for c in "\\\r\n\t")
        or not re.match(r"^/app(/[A-Za-z0-9_\-./@]*)?(\?[A-Za-z0-9_\-.=&%+]*)?$", value)
        or "/../" in value
    ):
        return BASE
    return value


def static_version() -> str:
    digest = hashlib.sha256()
    for name in sorted(STATIC_FILES):
        digest.update(resources.files("guildlog.web").joinpath("static", name).read_bytes())
    return digest.hexdigest()[:12]


class WebApp:
    """The viewer. `signer`, `oauth` and `reader` are callables so a container builds them on first use."""

    def __init__(
        self,
        *,
        signer: Callable[[], CookieSigner],
        oauth: Callable[[], DiscordOAuth],
        reader: Callable[[], HotReader],
        roles: Callable[[], ViewerRoles] | None = None,
        exports: Callable[[], WebExports] | None = None,
        archive: Callable[[], ArchiveReads] | None = None,
        default_retention_days: int = 30,
        cdn: str = DISCORD_CDN,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        epoch: Callable[[], float] = time.time,
    ) -> None:
        self._signer = signer
        self._oauth = oauth
        self._reader = reader
        # None: only Manage Server holders read (no bot token to ask Discord about roles with).
        self._roles = roles
        # None: exports are not set up (no worker function); the pages then offer none.
        self._exports = exports
        # None: days older than the hot table's retention are only pointed to the archive, not read
        # (no query engine named); otherwise they are read through it in the background (web.archive_reads).
        self._archive = archive
        self.default_retention_days = default_retention_days
        self.cdn = cdn
        self.csp = content_security_policy(cdn)
        # `now` is the pages' clock (the demo pins it); cookies expire by the real one, `epoch`.
        self.now = now
        self.epoch = epoch

    @cached_property
    def templates(self) -> Any:
        from jinja2 import Environment, PackageLoader, select_autoescape

        environment = Environment(
            loader=PackageLoader("guildlog.web", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        from guildlog.web.charts import bar_chart
        from guildlog.web.markdown import render

        environment.filters["markdown"] = render
        environment.filters["when"] = _when
        environment.globals["bar_chart"] = bar_chart
        environment.globals["static"] = f"{BASE}/static/{static_version()}"
        environment.globals["base"] = BASE
        return environment

    # -- the one entry point

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        request: Request | None = None
        session: Session | None = None
        try:
            request = Request.from_event(event)
            session = self._signer().read_session(read_cookie(request.cookies, SESSION_COOKIE), self._epoch())
            return self._route(request, session).as_result(self.csp)
        except GuildlogError as exc:
            status = status_for(exc)
            message = exc.message if status < 500 else "Something went wrong on our side; try again shortly."
            return self.page("error.html", status=status, session=session, message=message).as_result(self.csp)

    def page(self, name: str, *, status: int = 200, session: Any = None, **values: Any) -> Answer:
        csrf = self._signer().csrf_token(session) if session is not None else ""
        html = self.templates.get_template(name).render(session=session, csrf=csrf, **values)
        return Answer(status, html)

    def _epoch(self) -> int:
        return int(self.epoch())

    def _route(self, request: Request, session: Session | None) -> Answer:
        parts = [p for p in request.path[len(BASE) :].split("/") if p] if request.path.startswith(BASE) else None
        if parts is None:
            return self.page("error.html", status=404, session=session, message="No such page.")
        if parts[:1] == ["static"] and len(parts) == 3 and request.method == "GET":
            return self._static(parts[1], parts[2])
        if parts[:1] == ["auth"] and len(parts) == 2:
            return self._auth(parts[1], request, session)
        if request.method not in ("GET", "HEAD") and not _starts_export(request, parts):
            return self.page("error.html", status=405, session=session, message="This page is read-only.")
        if not parts:
            return self.page("home.html", session=session)
        if parts[0] == "g" and len(parts) >= 2 and _SNOWFLAKE.match(parts[1]):
            if session is None:
                return redirect(f"{BASE}/auth/login?{urlencode({'next': _path_with_query(request)})}")
            guild_id = parts[1]
            if not session.may_read(guild_id):
                raise AccessDeniedError("You do not have access to this server's log.")
            if guild_id in session.role_guilds and not self._role_allows(session, guild_id):
                raise AccessDeniedError("Your roles no longer let you read this server's log.")
            return self._guild_page(guild_id, parts[2:], request, session)
        return self.page("error.html", status=404, session=session, message="No such page.")

    # -- sign-in

    def _auth(self, action: str, request: Request, session: Session | None) -> Answer:
        signer = self._signer()
        secure = not request.local
        if action == "login" and request.method == "GET":
            if not self._oauth().configured:
                message = "Sign-in is not set up on this stack: deploy it with DiscordClientSecretArn (see the README)."
                return self.page("error.html", status=503, session=session, message=message)
            state = secrets.token_urlsafe(24)
            verifier, challenge = pkce_pair()
            flight = SignIn(state, verifier, safe_next(request.query.get("next")), self._epoch() + SIGN_IN_SECONDS)
            cookie = cookie_header(
                SIGN_IN_COOKIE, signer.sign_in_cookie(flight), secure=secure, max_age=SIGN_IN_SECONDS
            )
            return redirect(self._oauth().authorize_redirect(self._callback_url(request), state, challenge), [cookie])
        if action == "callback" and request.method == "GET":
            started = signer.read_sign_in(read_cookie(request.cookies, SIGN_IN_COOKIE), self._epoch())
            clear = clear_cookie_header(SIGN_IN_COOKIE, secure=secure)
            if started is None:
                raise SignInError("This sign-in has expired or was started elsewhere; sign in again.")
            if not secrets.compare_digest(request.query.get("state", ""), started.state):
                raise SignInError("The sign-in answer does not match the sign-in started here; sign in again.")
            if request.query.get("error") or not request.query.get("code"):
                raise SignInError("Discord did not approve the sign-in.")
            member = self._oauth().sign_in(request.query["code"], started.verifier, self._callback_url(request))
            session_id = secrets.token_urlsafe(12)
            by_role: dict[str, str] = {}
            if self._roles is not None and member.other_guilds:
                by_role = self._roles().at_sign_in(session_id, member.user_id, member.other_guilds)
            new = new_session(
                member.user_id, member.user_name, member.guilds, self._epoch(), by_role=by_role, session_id=session_id
            )
            cookie = cookie_header(SESSION_COOKIE, signer.session_cookie(new), secure=secure, max_age=SESSION_SECONDS)
            return redirect(safe_next(started.next_path), [cookie, clear])
        if action == "logout" and request.method == "POST":
            if session is not None and not signer.check_csrf(session, request.form.get("csrf")):
                raise AccessDeniedError("The form has expired; reload the page and try again.")
            return redirect(f"{BASE}?signed_out=1", [clear_cookie_header(SESSION_COOKIE, secure=secure)])
        return self.page("error.html", status=404, session=session, message="No such page.")

    def _role_allows(self, session: Session, guild_id: str) -> bool:
        """A guild read through a viewer role: does the member still hold one (web.roles caches the answer)?"""
        if self._roles is None:
            return False
        return self._roles().allowed(session.session_id, guild_id, session.user_id)

    def _callback_url(self, request: Request) -> str:
        return f"{request.origin}{BASE}/auth/callback"

    # -- a guild's pages

    def _guild_page(self, guild_id: str, rest: list[str], request: Request, session: Session) -> Answer:
        reader = self._reader()
        now = self.now()
        retention = reads.retention_days(reader, guild_id, self.default_retention_days)
        common: dict[str, Any] = {
            "session": session,
            "guild_id": guild_id,
            "guild_name": session.guilds.get(guild_id, guild_id),
            "retention_days": retention,
            "today": now.date(),
            "export_formats": EXPORT_FORMATS if self._exports is not None else (),
        }
        if not rest:
            overview = reads.overview(reader, guild_id, now)
            return self.page(
                "overview.html", tab="overview", overview=overview, names=reads.names(reader, guild_id), **common
            )
        if rest == ["feed"] or rest == ["search"]:
            filters = _filters(request.query)
            beyond = _beyond_hot(filters.first, now.date(), retention)
            archive_page = None
            wanted = rest == ["feed"] or filters.text is not None
            if beyond and wanted and filters.first is not None and self._archive is not None:
                from guildlog.web.archive import feed_from_rows, feed_query

                bound = feed_query(guild_id, filters, filters.first, filters.last or now.date())
                rows = self._archive_rows(rest[0], bound, request, session, common)
                if isinstance(rows, Answer):
                    return rows
                archive_page = feed_from_rows(rows, _offset(request.query), reads.PAGE_SIZE)
                page = reads.FeedPage(archive_page.items, older=None, newer=None)
            else:
                before, after = _boundary(request.query, "before"), _boundary(request.query, "after")
                page = reads.feed_page(reader, guild_id, filters, before=before, after=after)
            return self.page(
                "feed.html",
                tab=rest[0],
                filters=filters,
                page=page,
                avatars=avatars(reader, self.cdn, guild_id, (str(i.get("user_id") or "") for i in page.items)),
                names=reads.names(reader, guild_id, page.items),
                query=request.query,
                beyond_hot=beyond,
                archive_page=archive_page,
                categories=reads.CATEGORIES,
                **common,
            )
        if len(rest) == 2 and rest[0] == "channel" and _SNOWFLAKE.match(rest[1]):
            day = _day(request.query.get("day")) or now.date()
            beyond = _beyond_hot(day, now.date(), retention)
            if beyond and self._archive is not None:
                from guildlog.web.archive import transcript_from_rows, transcript_query

                bound = transcript_query(guild_id, rest[1], day, day)
                rows = self._archive_rows("transcript", bound, request, session, common)
                if isinstance(rows, Answer):
                    return rows
                messages, cut = transcript_from_rows(rows, rest[1])
                pages = reads.TranscriptPage(messages, cut=cut)
            else:
                before, after = _boundary(request.query, "before"), _boundary(request.query, "after")
                pages = reads.transcript(reader, guild_id, rest[1], day, before=before, after=after)
                messages, cut = pages.messages, pages.cut
            names = reads.names(reader, guild_id)
            names.users = {m.author_id: m.author for m in messages if m.author_id}
            return self.page(
                "transcript.html",
                tab="feed",
                channel_id=rest[1],
                channel_name=names.channels.get(rest[1], rest[1]),
                day=day,
                messages=messages,
                avatars=avatars(reader, self.cdn, guild_id, (m.author_id or "" for m in messages)),
                cut=cut,
                pages=pages,
                names=names,
                beyond_hot=beyond,
                from_archive=beyond and self._archive is not None,
                **common,
            )
        if rest == ["exports"] and request.method == "POST":
            return self._start_export(guild_id, request, session)
        if len(rest) == 2 and rest[0] == "exports" and _EXPORT_ID.match(rest[1]):
            return self._export_status(guild_id, rest[1], request, common)
        if len(rest) == 2 and rest[0] == "member" and _SNOWFLAKE.match(rest[1]):
            record = reads.member_record(reader, guild_id, rest[1], _boundary(request.query, "before"))
            return self.page(
                "member.html",
                tab="feed",
                user_id=rest[1],
                record=record,
                names=reads.names(reader, guild_id, record.page.items),
                **common,
            )
        return self.page("error.html", status=404, session=session, message="No such page.")

    # -- pages past the hot table, read from the archive in the background

    def _archive_rows(
        self, page: str, bound: BoundQuery, request: Request, session: Session, common: dict[str, Any]
    ) -> list[dict[str, Any]] | Answer:
        """The rows of the page's archive query, or the page to show until they are there.

        Without a ticket (`run=`) the query is started and the page redirects to itself with one;
        with a ticket (checked against this page, guild and member) the query's state is asked once.
        """
        from guildlog.errors import QueryError
        from guildlog.web.archive_reads import POLL_SECONDS, read_ticket

        if self._archive is None:
            raise MalformedRequestError("This deployment names no archive query engine.")
        archive = self._archive()
        signer, now = self._signer(), self._epoch()
        kept = {k: v for k, v in request.query.items() if k not in ("run", "at")}
        restart = request.path + (f"?{urlencode(kept)}" if kept else "")
        value = request.query.get("run")
        ticket = None
        if value:
            ticket = read_ticket(
                signer, value, guild_id=common["guild_id"], user_id=session.user_id, page=page,
                parameters=bound.parameters, now=now,
            )  # fmt: skip
        values = {"tab": "search" if page == "search" else "feed", "restart": restart, **common}
        if ticket is None:
            try:
                token = archive.start(signer, bound, guild_id=common["guild_id"], user_id=session.user_id, page=page,
                                      now=now)  # fmt: skip
            except QueryError as exc:
                reason = str(exc.fields.get("reason") or exc.message)
                return self.page("archive_wait.html", status=502, failed=reason, poll=0, **values)
            return redirect(f"{request.path}?{urlencode({**kept, 'run': token})}")
        progress = archive.progress(ticket)
        if progress.state == "running":
            answer = self.page("archive_wait.html", poll=POLL_SECONDS, here=_path_with_query(request), **values)
            answer.headers["retry-after"] = str(POLL_SECONDS)
            return answer
        if progress.state == "failed" or progress.rows is None:
            return self.page("archive_wait.html", status=502, failed=progress.reason, poll=0, **values)
        return progress.rows

    # -- exports started from a page

    def _start_export(self, guild_id: str, request: Request, session: Session) -> Answer:
        """POST /g/{guild}/exports: hand the export to the worker, then show its page (which waits for it)."""
        if self._exports is None:
            raise MalformedRequestError("Exports are not set up for this deployment.")
        if not self._signer().check_csrf(session, request.form.get("csrf")):
            raise AccessDeniedError("The form has expired; reload the page and try again.")
        job = _export_job(guild_id, request.form, session.user_id, self.now().date(), self._epoch())
        self._exports().start(job)
        return redirect(f"{BASE}/g/{guild_id}/exports/{job.export_id}")

    def _export_status(self, guild_id: str, export_id: str, request: Request, common: dict[str, Any]) -> Answer:
        """The export's page: a link once the file is there; until then it reloads itself every few seconds,
        and a reload while nothing changed is answered 304 (If-None-Match), without a page rendered."""
        if self._exports is None:
            raise MalformedRequestError("Exports are not set up for this deployment.")
        status = self._exports().status(guild_id, export_id, self._epoch())
        if status.state == "pending":
            tag = f'W/"{export_id}-pending"'
            headers = {"etag": tag, "cache-control": "private, no-cache", "retry-after": str(EXPORT_POLL_SECONDS)}
            if request.headers.get("if-none-match") == tag:
                return Answer(304, headers=headers)
            answer = self.page("export.html", tab="feed", export=status, poll=EXPORT_POLL_SECONDS, **common)
            answer.headers.update(headers)
            return answer
        return self.page("export.html", tab="feed", export=status, poll=0, **common)

    def _static(self, version: str, name: str) -> Answer:
        if name not in STATIC_FILES:
            return Answer(404, "not found", headers={"content-type": "text/plain"})
        body = resources.files("guildlog.web").joinpath("static", name).read_text(encoding="utf-8")
        # The version is in the URL: a changed file gets a new URL, so the old one may be cached for good.
        cache = "public, max-age=31536000, immutable" if version == static_version() else "no-cache"
        return Answer(200, body, headers={"content-type": STATIC_FILES[name], "cache-control": cache})


def _starts_export(request: Request, parts: list[str]) -> bool:
    return request.method == "POST" and len(parts) == 3 and parts[0] == "g" and parts[2] == "exports"


def _export_job(guild_id: str, form: dict[str, str], user_id: str, today: date, now: int) -> WebExportJob:
    """The export a page's form asks for, checked as `/logs export` checks its options."""
    from guildlog.models.web_export_job import WebExportJob
    from guildlog.services.exports import MAX_EXPORT_DAYS
    from guildlog.web.exports import new_export_id

    output_format = form.get("format") or "json"
    if output_format not in EXPORT_FORMATS:
        raise MalformedRequestError(f"The format is one of {', '.join(EXPORT_FORMATS)}.")
    channel = form.get("channel", "").strip() or None
    if channel is not None and not _SNOWFLAKE.match(channel):
        raise MalformedRequestError("The channel is an id (15 to 21 digits).")
    first = _day(form.get("first")) or today
    last = _day(form.get("last")) or first
    if last < first:
        raise MalformedRequestError("The range ends before it starts.")
    if last > today:
        raise MalformedRequestError("The range ends in the future.")
    if (last - first).days + 1 > MAX_EXPORT_DAYS:
        raise MalformedRequestError(f"An export covers at most {MAX_EXPORT_DAYS} days.")
    if output_format == "dce" and channel is None:
        raise MalformedRequestError("A DiscordChatExporter file is one channel's: filter the feed by a channel first.")
    return WebExportJob.model_validate(
        {"export_id": new_export_id(now), "guild_id": guild_id, "channel_id": channel, "first": first, "last": last,
         "output_format": output_format, "requested_by": user_id}
    )  # fmt: skip


def _path_with_query(request: Request) -> str:
    return request.path + (f"?{urlencode(request.query)}" if request.query else "")


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise MalformedRequestError("A day is written like 2026-11-20.") from None


def _boundary(query: dict[str, str], name: str) -> str | None:
    value = query.get(name)
    if not value:
        return None
    if not reads.FEED_SK.match(value):
        raise MalformedRequestError("That page link is damaged; start again from the feed.")
    return value


def _snowflake(query: dict[str, str], name: str) -> str | None:
    value = query.get(name, "").strip()
    if not value:
        return None
    if not _SNOWFLAKE.match(value):
        raise MalformedRequestError(f"The {name} filter takes an id (15 to 21 digits).")
    return value


def _filters(query: dict[str, str]) -> reads.FeedFilters:
    category = query.get("category") or None
    if category is not None and category not in reads.CATEGORIES:
        raise MalformedRequestError(f"The category is one of {', '.join(reads.CATEGORIES)}.")
    kind = (query.get("kind") or "").strip().lower() or None
    if kind is not None and not _KIND.match(kind):
        raise MalformedRequestError("The kind is an action like create, delete, join or ban.")
    text = (query.get("q") or "").strip() or None
    if text is not None and len(text) > MAX_SEARCH_CHARS:
        raise MalformedRequestError(f"Search for at most {MAX_SEARCH_CHARS} characters.")
    first, last = _day(query.get("from")), _day(query.get("to"))
    if first and last and last < first:
        raise MalformedRequestError("The range ends before it starts.")
    return reads.FeedFilters(
        category=category,
        kind=kind,
        channel=_snowflake(query, "channel"),
        member=_snowflake(query, "member"),
        first=first,
        last=last,
        text=text,
    )


def _offset(query: dict[str, str]) -> int:
    """Where a page of archive rows starts (`at`): a small whole number."""
    value = query.get("at", "0") or "0"
    if not value.isdigit() or len(value) > 6:
        raise MalformedRequestError("That page link is damaged; start again from the feed.")
    return int(value)


def _beyond_hot(first: date | None, today: date, retention_days: int) -> bool:
    return first is not None and (today - first).days >= retention_days


def _when(value: Any) -> str:
    text = str(value or "")
    return f"{text[:10]} {text[11:19]}" if len(text) >= 19 else text
