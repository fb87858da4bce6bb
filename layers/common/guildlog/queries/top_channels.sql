-- top_channels: the channels with the most messages in a guild over a day or a range of days.
-- parameters: guild, from, to
SELECT
    channel_id,
    count(*) AS messages,
    count(DISTINCT user_id) AS members,
    max(occurred_at) AS last_message_at
FROM (
    -- One row per event: an event archived again under another batch_id counts once.
    SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY batch_id) AS event_copy
    FROM events
    WHERE guild_id = ?
        AND concat(year, '-', month, '-', day) BETWEEN ? AND ?
        AND category = 'message'
        AND action = 'create'
        AND channel_id IS NOT NULL
) AS e
WHERE event_copy = 1
GROUP BY channel_id
ORDER BY messages DESC, channel_id
LIMIT 25
