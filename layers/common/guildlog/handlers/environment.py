"""The functions' environment variable names: `GUILDLOG_` + the Settings field, upper-cased.

Stdlib only, so the interactions PING path can read its one variable without importing pydantic;
`handlers.settings.Settings` validates the whole environment on the command path.
"""

from __future__ import annotations

PREFIX = "GUILDLOG_"


def variable(field: str) -> str:
    """The environment variable of a Settings field."""
    return PREFIX + field.upper()


DISCORD_PUBLIC_KEY_VARIABLE = variable("discord_public_key")
