-- joins_and_leaves: members joining and leaving a guild over a day or a range of days (a removal the
-- audit log names as a kick or a ban reads kick or ban, not leave).
-- parameters: guild, from, to
SELECT
    occurred_at,
    coalesce(json_extract_scalar(details, '$.removed_by.action'), action) AS action,
    user_id,
    user_name,
    json_extract_scalar(details, '$.username') AS username
FROM events
WHERE guild_id = ?
    AND concat(year, '-', month, '-', day) BETWEEN ? AND ?
    AND category = 'member'
    AND action IN ('join', 'leave')
ORDER BY occurred_at, event_id
