"""Which category and action each gateway dispatch type belongs to (ARCHITECTURE.md, "Event categories")."""

from __future__ import annotations

# t -> (category, action). Anything not listed is category "other", action = t lower-cased:
# still archived raw and still logged, because Discord adds dispatch types without notice.
DISPATCH_TYPES: dict[str, tuple[str, str]] = {
    # message
    "MESSAGE_CREATE": ("message", "create"),
    "MESSAGE_UPDATE": ("message", "update"),
    "MESSAGE_DELETE": ("message", "delete"),
    "MESSAGE_DELETE_BULK": ("message", "bulk_delete"),
    "MESSAGE_REACTION_ADD": ("message", "reaction_add"),
    "MESSAGE_REACTION_REMOVE": ("message", "reaction_remove"),
    "MESSAGE_REACTION_REMOVE_ALL": ("message", "reaction_remove_all"),
    "MESSAGE_REACTION_REMOVE_EMOJI": ("message", "reaction_remove_emoji"),
    "MESSAGE_POLL_VOTE_ADD": ("message", "poll_vote_add"),
    "MESSAGE_POLL_VOTE_REMOVE": ("message", "poll_vote_remove"),
    "CHANNEL_PINS_UPDATE": ("message", "pins_update"),
    # member
    "GUILD_MEMBER_ADD": ("member", "join"),
    "GUILD_MEMBER_REMOVE": ("member", "leave"),
    "GUILD_MEMBER_UPDATE": ("member", "update"),
    # moderation
    "GUILD_BAN_ADD": ("moderation", "ban"),
    "GUILD_BAN_REMOVE": ("moderation", "unban"),
    "GUILD_AUDIT_LOG_ENTRY_CREATE": ("moderation", "audit_log"),
    "AUTO_MODERATION_ACTION_EXECUTION": ("moderation", "automod_action"),
    "AUTO_MODERATION_RULE_CREATE": ("moderation", "automod_rule_create"),
    "AUTO_MODERATION_RULE_UPDATE": ("moderation", "automod_rule_update"),
    "AUTO_MODERATION_RULE_DELETE": ("moderation", "automod_rule_delete"),
    # server
    "GUILD_CREATE": ("server", "guild_available"),
    "GUILD_UPDATE": ("server", "guild_update"),
    "GUILD_DELETE": ("server", "guild_unavailable"),
    "CHANNEL_CREATE": ("server", "channel_create"),
    "CHANNEL_UPDATE": ("server", "channel_update"),
    "CHANNEL_DELETE": ("server", "channel_delete"),
    "THREAD_CREATE": ("server", "thread_create"),
    "THREAD_UPDATE": ("server", "thread_update"),
    "THREAD_DELETE": ("server", "thread_delete"),
    "THREAD_LIST_SYNC": ("server", "thread_list_sync"),
    "THREAD_MEMBER_UPDATE": ("server", "thread_member_update"),
    "THREAD_MEMBERS_UPDATE": ("server", "thread_members_update"),
    "GUILD_ROLE_CREATE": ("server", "role_create"),
    "GUILD_ROLE_UPDATE": ("server", "role_update"),
    "GUILD_ROLE_DELETE": ("server", "role_delete"),
    "INVITE_CREATE": ("server", "invite_create"),
    "INVITE_DELETE": ("server", "invite_delete"),
    "GUILD_EMOJIS_UPDATE": ("server", "emojis_update"),
    "GUILD_STICKERS_UPDATE": ("server", "stickers_update"),
    "GUILD_SOUNDBOARD_SOUND_CREATE": ("server", "soundboard_sound_create"),
    "GUILD_SOUNDBOARD_SOUND_UPDATE": ("server", "soundboard_sound_update"),
    "GUILD_SOUNDBOARD_SOUND_DELETE": ("server", "soundboard_sound_delete"),
    "GUILD_SOUNDBOARD_SOUNDS_UPDATE": ("server", "soundboard_sounds_update"),
    "WEBHOOKS_UPDATE": ("server", "webhooks_update"),
    "GUILD_INTEGRATIONS_UPDATE": ("server", "integrations_update"),
    "INTEGRATION_CREATE": ("server", "integration_create"),
    "INTEGRATION_UPDATE": ("server", "integration_update"),
    "INTEGRATION_DELETE": ("server", "integration_delete"),
    "GUILD_SCHEDULED_EVENT_CREATE": ("server", "scheduled_event_create"),
    "GUILD_SCHEDULED_EVENT_UPDATE": ("server", "scheduled_event_update"),
    "GUILD_SCHEDULED_EVENT_DELETE": ("server", "scheduled_event_delete"),
    "GUILD_SCHEDULED_EVENT_USER_ADD": ("server", "scheduled_event_user_add"),
    "GUILD_SCHEDULED_EVENT_USER_REMOVE": ("server", "scheduled_event_user_remove"),
    "STAGE_INSTANCE_CREATE": ("server", "stage_instance_create"),
    "STAGE_INSTANCE_UPDATE": ("server", "stage_instance_update"),
    "STAGE_INSTANCE_DELETE": ("server", "stage_instance_delete"),
    # voice
    "VOICE_STATE_UPDATE": ("voice", "state"),
    "VOICE_SERVER_UPDATE": ("voice", "server_update"),
    "VOICE_CHANNEL_STATUS_UPDATE": ("voice", "channel_status_update"),
    "VOICE_CHANNEL_START_TIME_UPDATE": ("voice", "channel_start_time_update"),
    "VOICE_CHANNEL_EFFECT_SEND": ("voice", "channel_effect"),
    # command
    "INTERACTION_CREATE": ("command", "interaction"),
    "APPLICATION_COMMAND_PERMISSIONS_UPDATE": ("command", "permissions_update"),
    # relay: Discord's session events and the relay's own (GUILDLOG_*)
    "READY": ("relay", "ready"),
    "RESUMED": ("relay", "resumed"),
    "GUILDLOG_CONNECT": ("relay", "connect"),
    "GUILDLOG_RESUME": ("relay", "resume"),
    "GUILDLOG_DISCONNECT": ("relay", "disconnect"),
    "GUILDLOG_GAP": ("relay", "gap"),
    "GUILDLOG_HEARTBEAT": ("relay", "heartbeat"),
}


def classify(event_type: str) -> tuple[str, str]:
    """(category, action) for a dispatch type; unknown types are ("other", the type lower-cased)."""
    return DISPATCH_TYPES.get(event_type, ("other", event_type.lower()))
