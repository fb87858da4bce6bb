-- top_members: the members who sent the most messages in a guild over a day or a range of days.
-- parameters: guild, from, to
SELECT
    user_id,
    max_by(user_name, occurred_at) AS user_name,
    count(*) AS messages,
    count(DISTINCT channel_id) AS channels,
    max(occurred_at) AS last_message_at
FROM (
    -- One row per event: an event archived again under another batch_id counts once.
    SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY batch_id) AS event_copy
    FROM events
    WHERE guild_id = ?
        AND concat(year, '-', month, '-', day) BETWEEN ? AND ?
        AND category = 'message'
        AND action = 'create'
        AND user_id IS NOT NULL
) AS e
WHERE event_copy = 1
GROUP BY user_id
ORDER BY messages DESC, user_id
LIMIT 25
