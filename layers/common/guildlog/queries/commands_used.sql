-- commands_used: slash commands used in a guild over a day or a range of days, by command.
-- parameters: guild, from, to
SELECT
    json_extract_scalar(details, '$.command') AS command,
    count(*) AS uses,
    count(DISTINCT user_id) AS members,
    max(occurred_at) AS last_used_at
FROM events
WHERE guild_id = ?
    AND concat(year, '-', month, '-', day) BETWEEN ? AND ?
    AND category = 'command'
    AND action = 'command'
GROUP BY 1
ORDER BY uses DESC, command
