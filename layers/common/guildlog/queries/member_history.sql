-- member_history: every message a member wrote or edited in a guild, oldest first, and whether it
-- was deleted within the same days (a single delete or a bulk delete).
-- parameters: guild, user, from, to, guild, from, to, guild, from, to
-- Each read keeps one row per event: an event archived again under another batch_id counts once.
WITH written AS (
    SELECT occurred_at, event_id, action, channel_id, message_id, content, attachments
    FROM (
        SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY batch_id) AS event_copy
        FROM events
        WHERE guild_id = ?
            AND user_id = ?
            AND concat(year, '-', month, '-', day) BETWEEN ? AND ?
            AND event_type IN ('MESSAGE_CREATE', 'MESSAGE_UPDATE')
    ) AS e
    WHERE event_copy = 1
),
deletions AS (
    SELECT message_id, occurred_at AS deleted_at
    FROM events
    WHERE guild_id = ?
        AND concat(year, '-', month, '-', day) BETWEEN ? AND ?
        AND event_type = 'MESSAGE_DELETE'
    UNION ALL
    SELECT bulk.message_id, occurred_at AS deleted_at
    FROM events
    CROSS JOIN UNNEST(CAST(json_extract(details, '$.ids') AS ARRAY(VARCHAR))) AS bulk (message_id)
    WHERE guild_id = ?
        AND concat(year, '-', month, '-', day) BETWEEN ? AND ?
        AND event_type = 'MESSAGE_DELETE_BULK'
)
SELECT
    w.occurred_at,
    w.action,
    w.channel_id,
    w.message_id,
    w.content,
    w.attachments,
    d.deleted_at
FROM written AS w
LEFT JOIN (
    -- A copy of a deletion only repeats the same message id and time: min() keeps one.
    SELECT message_id, min(deleted_at) AS deleted_at FROM deletions GROUP BY message_id
) AS d ON d.message_id = w.message_id
ORDER BY w.occurred_at, w.event_id
