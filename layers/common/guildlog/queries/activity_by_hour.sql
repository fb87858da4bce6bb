-- activity_by_hour: a guild's events per UTC day and hour, with messages sent and active members.
-- parameters: guild, from, to
SELECT
    substr(occurred_at, 1, 10) AS event_day,
    hour(from_iso8601_timestamp(occurred_at)) AS event_hour,
    count(*) AS events,
    count_if(category = 'message' AND action = 'create') AS messages,
    count(DISTINCT user_id) AS active_members
FROM events
WHERE guild_id = ?
    AND concat(year, '-', month, '-', day) BETWEEN ? AND ?
GROUP BY 1, 2
ORDER BY 1, 2
