"""Discord interactions as Discord sends them (only what guildlog reads; everything else is ignored).

Inbound and Discord's: `extra="ignore"`, because Discord adds fields every month. Snowflakes stay
strings. Not imported by the PING path.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

SNOWFLAKE = r"^[0-9]{15,21}$"


class _Discord(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def _snowflake_text(value: Any) -> Any:
    # Some libraries and older payloads send snowflakes as numbers; they are strings here.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class User(_Discord):
    id: str = Field(pattern=SNOWFLAKE)
    username: str | None = None
    global_name: str | None = None

    _id = field_validator("id", mode="before")(_snowflake_text)

    @property
    def display(self) -> str:
        return self.global_name or self.username or self.id


class Member(_Discord):
    user: User | None = None
    nick: str | None = None
    # The member's total permissions in the channel the interaction came from, as a decimal string.
    permissions: str | None = None


class ResolvedChannel(_Discord):
    id: str = Field(pattern=SNOWFLAKE)
    name: str | None = None
    type: int | None = None
    guild_id: str | None = None

    _id = field_validator("id", "guild_id", mode="before")(_snowflake_text)


class Resolved(_Discord):
    users: dict[str, User] = Field(default_factory=dict)
    members: dict[str, dict[str, Any]] = Field(default_factory=dict)
    channels: dict[str, ResolvedChannel] = Field(default_factory=dict)


class CommandOption(_Discord):
    name: str
    # Lax: kord's fixtures carry a sub-command's type as the string "1".
    type: int
    value: Any = None
    options: list[CommandOption] | None = None
    focused: bool | None = None


class InteractionData(_Discord):
    """`data` of an application command (name, options) or of a component (custom_id)."""

    id: str | None = None
    name: str | None = None
    type: int | None = None
    options: list[CommandOption] | None = None
    resolved: Resolved | None = None
    target_id: str | None = None
    custom_id: str | None = Field(default=None, max_length=100)
    component_type: int | None = None

    _id = field_validator("id", "target_id", mode="before")(_snowflake_text)


class InteractionMessage(_Discord):
    """The message a component belongs to (button clicks)."""

    id: str
    flags: int | None = None

    _id = field_validator("id", mode="before")(_snowflake_text)


class Interaction(_Discord):
    """One interaction (Interactions → Receiving and Responding)."""

    id: str = Field(pattern=SNOWFLAKE)
    # Discord always sends it; the docs' first example does not, and only a follow-up needs it.
    application_id: str | None = Field(default=None, pattern=SNOWFLAKE)
    type: int
    token: str = Field(min_length=1, max_length=1000)
    version: int | None = None
    guild_id: str | None = Field(default=None, pattern=SNOWFLAKE)
    channel_id: str | None = Field(default=None, pattern=SNOWFLAKE)
    member: Member | None = None
    user: User | None = None
    data: InteractionData | None = None
    message: InteractionMessage | None = None
    locale: str | None = None
    app_permissions: str | None = None

    _id = field_validator("id", "application_id", "guild_id", "channel_id", mode="before")(_snowflake_text)

    @property
    def requester(self) -> User | None:
        """Who ran the command or clicked: the member's user in a server, `user` in a DM (never in
        a server: there only the member carries the permissions that go with the person)."""
        if self.member is not None and self.member.user is not None:
            return self.member.user
        return None if self.guild_id else self.user

    @property
    def permissions(self) -> int:
        """The member's permission bits in the channel; 0 when Discord sent none (a DM)."""
        raw = self.member.permissions if self.member is not None else None
        # int() reads full-width and other scripts' digits too; Discord sends ASCII digits only.
        if raw is None or not (raw.isascii() and raw.isdigit()):
            return 0
        return int(raw)
