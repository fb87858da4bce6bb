-- joins_and_leaves: members joining and leaving a guild over a day or a range of days (a removal the
-- audit log names as a kick or a ban reads kick or ban, not leave).
-- parameters: guild, from, to
SELECT
    occurred_at,
    coalesce(json_extract_scalar(details, '$.removed_by.action'), action) AS action,
    user_id,
    user_name,
    json_extract_scalar(details, '$.username') AS username
FROM (
    -- One row per event: an event archived again under another batch_id is listed once.
    SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY batch_id) AS event_copy
    FROM events
    WHERE guild_id = ?
        AND concat(year, '-', month, '-', day) BETWEEN ? AND ?
        AND category = 'member'
        AND action IN ('join', 'leave')
) AS e
WHERE event_copy = 1
ORDER BY occurred_at, event_id
