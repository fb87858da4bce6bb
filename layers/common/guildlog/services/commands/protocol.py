"""Discord's interaction numbers (Interactions reference). Stdlib only: the PING path imports this."""

from __future__ import annotations

# Interaction types: what Discord sends.
PING = 1
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
APPLICATION_COMMAND_AUTOCOMPLETE = 4
MODAL_SUBMIT = 5
INTERACTION_TYPES = frozenset(
    {PING, APPLICATION_COMMAND, MESSAGE_COMPONENT, APPLICATION_COMMAND_AUTOCOMPLETE, MODAL_SUBMIT}
)

# Interaction callback types: what we answer.
PONG = 1
CHANNEL_MESSAGE_WITH_SOURCE = 4
# "Thinking…": the answer follows by editing @original (WorkerFunction), within the token's 15 minutes.
DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE = 5
# A button click whose new page follows by editing the message.
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
APPLICATION_COMMAND_AUTOCOMPLETE_RESULT = 8

# Application command types and option types.
CHAT_INPUT = 1
SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2
STRING = 3
INTEGER = 4
BOOLEAN = 5
USER = 6
CHANNEL = 7
ROLE = 8

# Component types and button styles.
ACTION_ROW = 1
BUTTON = 2
SECONDARY = 2

# Channel types offered by channel options: text, announcement, threads, forum, voice, stage.
GUILD_TEXT = 0
GUILD_VOICE = 2
GUILD_CATEGORY = 4
GUILD_ANNOUNCEMENT = 5
ANNOUNCEMENT_THREAD = 10
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
GUILD_STAGE_VOICE = 13
GUILD_FORUM = 15
LOGGED_CHANNEL_TYPES = (
    GUILD_TEXT,
    GUILD_VOICE,
    GUILD_ANNOUNCEMENT,
    ANNOUNCEMENT_THREAD,
    PUBLIC_THREAD,
    PRIVATE_THREAD,
    GUILD_STAGE_VOICE,
    GUILD_FORUM,
)

# Message flags.
EPHEMERAL = 1 << 6

# Permission bits (a member's `permissions` is their total in the channel, as a decimal string).
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5

# Installation context: the commands exist in servers only (no DMs, no user installs).
CONTEXT_GUILD = 0
INSTALL_GUILD = 0

# An interaction token is valid this long after the interaction was created.
TOKEN_LIFETIME_SECONDS = 15 * 60
# Discord's limits that shape our answers.
MAX_CONTENT_CHARS = 2000
MAX_CUSTOM_ID_CHARS = 100
