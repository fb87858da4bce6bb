"""The one error hierarchy. Each subclass names a feature and carries structured fields."""

from __future__ import annotations


class GuildlogError(Exception):
    """Base of every error guildlog raises on purpose."""

    def __init__(self, message: str, **fields: object) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self.fields.items())
        return f"{type(self).__name__}({self.message!r}{extra})"


class SignatureError(GuildlogError):
    """A webhook request whose Ed25519 signature or timestamp does not verify (HTTP 401)."""


class MalformedRequestError(GuildlogError):
    """A request body that is not a valid envelope (HTTP 400, never retried)."""


class RouteNotFoundError(GuildlogError):
    """A request to a path the webhook does not serve (HTTP 404): a function URL answers every path."""


class MethodNotAllowedError(GuildlogError):
    """A request with a method the path does not take (HTTP 405); `allow` names the one it does."""


class PayloadTooLargeError(GuildlogError):
    """A body over the compressed or decompressed cap (HTTP 413)."""


class StorageError(GuildlogError):
    """DynamoDB or S3 did not take the writes after bounded retries (HTTP 5xx, the sender retries)."""


class NormalizationError(GuildlogError):
    """One event could not be normalized; it goes to quarantine with this reason."""


class ConfigurationError(GuildlogError):
    """Missing or invalid settings (environment, flags, files)."""


class UsageError(ConfigurationError):
    """A command line that cannot run as typed: a missing, malformed or conflicting argument, or an
    --out path that cannot be written. The CLI exits 2 for it (1 for every other failure)."""


class RelayError(GuildlogError):
    """The relay could not deliver or read its input."""


class CommandError(GuildlogError):
    """A slash command that cannot be answered as asked (bad option, no permission, nothing found).

    Its message is written for the member who ran the command: it becomes an ephemeral answer.
    """


class DiscordApiError(GuildlogError):
    """Discord's REST API refused a request or could not be reached after bounded retries."""


class DiscordTargetGoneError(DiscordApiError):
    """Discord answered 403 or 404 for a channel or webhook: no access any more, or it is gone.

    Retrying cannot help and every retry counts toward Discord's invalid-request limit, so the
    caller stops using the target until its configuration changes.
    """


class QueryError(GuildlogError):
    """A query that cannot run: unknown name, bad parameters, or Athena/DuckDB refusing it."""


class ExportError(GuildlogError):
    """An export that cannot be built or stored (bad range, unknown format, storage refused)."""


class SetupError(GuildlogError):
    """A `guildlog setup` step that could not be done: which step, why, and how to fix it."""

    def __init__(self, step: str, why: str, fix: str) -> None:
        super().__init__(f"{step}: {why}", step=step, fix=fix)
        self.step, self.why, self.fix = step, why, fix


class SignInError(GuildlogError):
    """The web viewer's sign-in did not complete: a wrong `state`, a refused code, Discord unreachable."""


class AccessDeniedError(GuildlogError):
    """A signed-in member asked for a guild they may not read, or a form without its CSRF token (HTTP 403)."""


class AttachmentCopyError(GuildlogError):
    """A file of a logged message that could not be copied to the archive (`retryable`: worth another try)."""

    def __init__(self, message: str, *, retryable: bool, **fields: object) -> None:
        super().__init__(message, retryable=retryable, **fields)
        self.retryable = retryable
