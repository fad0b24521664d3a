-- name: weekly_traffic
-- question: MM2 Model effectiveness with new data (model validation): what does each new week bring (logins, takeovers, attack types) that the model is scored on?
-- param: day_from date 1970-01-01 | first login day
-- param: day_to date 9999-12-31 | last login day
-- columns: week, logins, takeovers, takeover_rate, attack_types
-- Labelled logins per ISO week (Monday first); the report scores the champion on each week's rows.
SELECT @week_start(login_date) AS week, count(*) AS logins,
       sum(CASE WHEN label = 1 THEN 1 ELSE 0 END) AS takeovers,
       sum(CASE WHEN label = 1 THEN 1 ELSE 0 END) / count(*) AS takeover_rate,
       count(DISTINCT attack_type) AS attack_types
FROM training_rows
WHERE login_date BETWEEN :day_from AND :day_to
GROUP BY 1
ORDER BY 1
