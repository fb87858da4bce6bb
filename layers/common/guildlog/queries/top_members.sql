-- top_members: the members who sent the most messages in a guild over a day or a range of days.
-- parameters: guild, from, to
SELECT
    user_id,
    max_by(user_name, occurred_at) AS user_name,
    count(*) AS messages,
    count(DISTINCT channel_id) AS channels,
    max(occurred_at) AS last_message_at
FROM events
WHERE guild_id = ?
    AND concat(year, '-', month, '-', day) BETWEEN ? AND ?
    AND category = 'message'
    AND action = 'create'
    AND user_id IS NOT NULL
GROUP BY user_id
ORDER BY messages DESC, user_id
LIMIT 25
