-- top_channels: the channels with the most messages in a guild over a day or a range of days.
-- parameters: guild, from, to
SELECT
    channel_id,
    count(*) AS messages,
    count(DISTINCT user_id) AS members,
    max(occurred_at) AS last_message_at
FROM events
WHERE guild_id = ?
    AND concat(year, '-', month, '-', day) BETWEEN ? AND ?
    AND category = 'message'
    AND action = 'create'
    AND channel_id IS NOT NULL
GROUP BY channel_id
ORDER BY messages DESC, channel_id
LIMIT 25
