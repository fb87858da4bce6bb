-- deleted_messages: messages deleted in a guild over a day or a range of days, with the last
-- content logged for each (looked up from lookback_from on, so a message written a few days
-- before its deletion still shows what it said), its author and how many versions it had.
-- parameters: guild, from, to, guild, from, to, guild, lookback_from, to
-- Each read keeps one row per event: an event archived again under another batch_id counts once.
WITH deletions AS (
    SELECT message_id, channel_id, occurred_at AS deleted_at, 'delete' AS how
    FROM (
        SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY batch_id) AS event_copy
        FROM events
        WHERE guild_id = ?
            AND concat(year, '-', month, '-', day) BETWEEN ? AND ?
            AND event_type = 'MESSAGE_DELETE'
    ) AS e
    WHERE event_copy = 1
    UNION ALL
    SELECT bulk.message_id, channel_id, occurred_at AS deleted_at, 'bulk_delete' AS how
    FROM (
        SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY batch_id) AS event_copy
        FROM events
        WHERE guild_id = ?
            AND concat(year, '-', month, '-', day) BETWEEN ? AND ?
            AND event_type = 'MESSAGE_DELETE_BULK'
    ) AS e
    CROSS JOIN UNNEST(CAST(json_extract(e.details, '$.ids') AS ARRAY(VARCHAR))) AS bulk (message_id)
    WHERE e.event_copy = 1
),
versions AS (
    SELECT
        message_id,
        max_by(user_id, occurred_at) AS author_id,
        max_by(user_name, occurred_at) AS author_name,
        max_by(content, occurred_at) AS content,
        max_by(attachments, occurred_at) AS attachments,
        min(occurred_at) AS first_seen_at,
        count(*) AS versions
    FROM (
        SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY batch_id) AS event_copy
        FROM events
        WHERE guild_id = ?
            AND concat(year, '-', month, '-', day) BETWEEN ? AND ?
            AND event_type IN ('MESSAGE_CREATE', 'MESSAGE_UPDATE')
            AND content IS NOT NULL
    ) AS e
    WHERE event_copy = 1
    GROUP BY message_id
)
SELECT
    d.deleted_at,
    d.how,
    d.channel_id,
    d.message_id,
    v.author_id,
    v.author_name,
    v.content,
    v.attachments,
    v.first_seen_at,
    coalesce(v.versions, 0) AS versions
FROM deletions AS d
LEFT JOIN versions AS v ON v.message_id = d.message_id
ORDER BY d.deleted_at, d.message_id
