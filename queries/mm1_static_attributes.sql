-- name: static_attributes
-- question: MM1 Behavioural patterns and static attributes in models (model building): how much do static attributes alone (channel, device class) separate takeovers?
-- param: day_from date 1970-01-01 | first login day
-- param: day_to date 9999-12-31 | last login day
-- columns: channel, device_class, logins, takeovers, takeover_rate
-- The takeover rate by the login's static attributes; the report sets it beside the model's
-- importance by feature group (behavioural windows vs static attributes, `ato.analyst.answers`).
SELECT channel, coalesce(device_class, 'unknown') AS device_class, count(*) AS logins,
       sum(CASE WHEN label = 1 THEN 1 ELSE 0 END) AS takeovers,
       sum(CASE WHEN label = 1 THEN 1 ELSE 0 END) / count(*) AS takeover_rate
FROM training_rows
WHERE login_date BETWEEN :day_from AND :day_to
GROUP BY channel, coalesce(device_class, 'unknown')
ORDER BY channel, device_class
