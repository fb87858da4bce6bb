-- message_edits: each edit of a message in a guild over a day or a range of days, with the content
-- before and after it (earlier versions are looked up from lookback_from on).
-- parameters: guild, lookback_from, to, from, to
WITH versions AS (
    SELECT
        occurred_at,
        event_id,
        event_type,
        channel_id,
        message_id,
        user_id,
        user_name,
        content,
        lag(content) OVER (PARTITION BY message_id ORDER BY occurred_at, event_id) AS previous_content
    FROM (
        -- One row per event: an event archived again under another batch_id is one version.
        SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY batch_id) AS event_copy
        FROM events
        WHERE guild_id = ?
            AND concat(year, '-', month, '-', day) BETWEEN ? AND ?
            AND event_type IN ('MESSAGE_CREATE', 'MESSAGE_UPDATE')
            AND content IS NOT NULL
    ) AS e
    WHERE event_copy = 1
)
SELECT
    occurred_at AS edited_at,
    channel_id,
    message_id,
    user_id,
    user_name,
    previous_content AS before,
    content AS after
FROM versions
WHERE event_type = 'MESSAGE_UPDATE'
    AND substr(occurred_at, 1, 10) BETWEEN ? AND ?
ORDER BY edited_at, message_id, event_id
