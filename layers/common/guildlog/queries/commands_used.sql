-- commands_used: slash commands used in a guild over a day or a range of days, by command.
-- parameters: guild, from, to
SELECT
    json_extract_scalar(details, '$.command') AS command,
    count(*) AS uses,
    count(DISTINCT user_id) AS members,
    max(occurred_at) AS last_used_at
FROM (
    -- One row per event: an event archived again under another batch_id counts once.
    SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY batch_id) AS event_copy
    FROM events
    WHERE guild_id = ?
        AND concat(year, '-', month, '-', day) BETWEEN ? AND ?
        AND category = 'command'
        AND action = 'command'
) AS e
WHERE event_copy = 1
GROUP BY 1
ORDER BY uses DESC, command
