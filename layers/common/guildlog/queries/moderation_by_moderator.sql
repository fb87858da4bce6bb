-- moderation_by_moderator: audit-log moderation actions in a guild per moderator and action over a
-- day or a range of days (kicks, bans, timeouts and role changes, moves, message deletions, automod).
-- parameters: guild, from, to
SELECT
    actor_id AS moderator_id,
    action,
    count(*) AS actions,
    count(DISTINCT target_id) AS targets,
    min(occurred_at) AS first_at,
    max(occurred_at) AS last_at
FROM (
    -- One row per event: an event archived again under another batch_id counts once.
    SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY batch_id) AS event_copy
    FROM events
    WHERE guild_id = ?
        AND concat(year, '-', month, '-', day) BETWEEN ? AND ?
        AND event_type = 'GUILD_AUDIT_LOG_ENTRY_CREATE'
        AND actor_id IS NOT NULL
        AND action IN (
            'auto_moderation_block_message',
            'auto_moderation_user_communication_disabled',
            'member_ban_add',
            'member_ban_remove',
            'member_disconnect',
            'member_kick',
            'member_move',
            'member_prune',
            'member_role_update',
            'member_update',
            'message_bulk_delete',
            'message_delete'
        )
) AS e
WHERE event_copy = 1
GROUP BY actor_id, action
ORDER BY actions DESC, moderator_id, action
