-- activity_by_hour: a guild's events per UTC day and hour, with messages sent and active members.
-- parameters: guild, from, to
SELECT
    substr(occurred_at, 1, 10) AS event_day,
    hour(from_iso8601_timestamp(occurred_at)) AS event_hour,
    count(*) AS events,
    count_if(category = 'message' AND action = 'create') AS messages,
    count(DISTINCT user_id) AS active_members
FROM (
    -- One row per event: an event archived again under another batch_id counts once.
    SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY batch_id) AS event_copy
    FROM events
    WHERE guild_id = ?
        AND concat(year, '-', month, '-', day) BETWEEN ? AND ?
) AS e
WHERE event_copy = 1
GROUP BY 1, 2
ORDER BY 1, 2
