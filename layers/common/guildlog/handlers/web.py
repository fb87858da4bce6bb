"""WebFunction's path: the viewer's composition root, built on a container's first request."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from guildlog.web.app import WebApp


@lru_cache(maxsize=1)
def default_web() -> WebApp:
    """The viewer with its adapters; each secret is read when a request first needs it."""
    from guildlog.adapters.hot_reader import HotReader
    from guildlog.adapters.secret_text import SecretText
    from guildlog.handlers.environment import variable
    from guildlog.handlers.interactions import services_clock
    from guildlog.handlers.settings import Settings
    from guildlog.web.avatars import cdn_origin
    from guildlog.web.oauth import DiscordOAuth
    from guildlog.web.sessions import CookieSigner

    settings = Settings.from_env()
    session_key = SecretText(settings.web_session_secret_arn, variable=variable("web_session_secret_arn"))
    client_secret = SecretText(
        settings.oauth_client_secret_arn, variable=variable("oauth_client_secret_arn"), json_key="client_secret"
    )
    reader = HotReader(settings.table_name)
    oauth = DiscordOAuth(
        settings.discord_api_base,
        settings.application_id,
        client_secret.value,
        configured=bool(settings.oauth_client_secret_arn),
    )
    signer: list[CookieSigner] = []
    roles = None
    if settings.bot_token_secret_arn:
        from guildlog.adapters.discord_rest import DiscordRest
        from guildlog.adapters.secrets import BotTokenSecret
        from guildlog.web.roles import ViewerRoles

        bot = DiscordRest(settings.discord_api_base, BotTokenSecret(settings.bot_token_secret_arn).value, attempts=2)
        viewer_roles = ViewerRoles(lambda: reader, lambda: bot, recheck_seconds=settings.web_role_recheck_seconds)
        roles = lambda: viewer_roles  # noqa: E731 - the app takes a factory, like its other parts

    exports = None
    if settings.worker_function:
        from guildlog.web.exports import WebExports

        web_exports = WebExports(settings.bucket_name, settings.worker_function)
        exports = lambda: web_exports  # noqa: E731 - the app takes a factory, like its other parts

    archive = None
    if settings.athena_workgroup and settings.archive_database:
        from guildlog.adapters.athena import AthenaQueryRunner
        from guildlog.web.archive_reads import ArchiveReads

        # Pages past the hot table start a query and answer at once (web.archive_reads): nothing waits here.
        archive_reads = ArchiveReads(AthenaQueryRunner(settings.athena_workgroup, settings.archive_database))
        archive = lambda: archive_reads  # noqa: E731 - the app takes a factory, like its other parts

    def cookie_signer() -> CookieSigner:
        if not signer:
            signer.append(CookieSigner(session_key.value().encode("utf-8")))
        return signer[0]

    return WebApp(
        signer=cookie_signer,
        oauth=lambda: oauth,
        reader=lambda: reader,
        roles=roles,
        exports=exports,
        archive=archive,
        default_retention_days=settings.retention_days,
        cdn=cdn_origin(settings.discord_api_base),
        now=services_clock(settings.now),
    )


def handle(event: dict[str, Any], app: WebApp | None = None) -> dict[str, Any]:
    """Answer one API Gateway HTTP API (payload v2) request with a page, a redirect or a static file."""
    return (app or default_web()).handle(event)
