-- name: high_risk_hours
-- question: BI2 Identifying high-risk times for fraudulent activity (time series): at which hours and weekdays are confirmed takeovers most frequent?
-- param: day_from date 1970-01-01 | first login day
-- param: day_to date 9999-12-31 | last login day
-- columns: login_weekday, login_hour, logins, takeovers, takeover_rate
-- Labelled logins by ISO weekday (1 = Monday) and UTC hour.
SELECT login_weekday, login_hour, count(*) AS logins,
       sum(CASE WHEN label = 1 THEN 1 ELSE 0 END) AS takeovers,
       sum(CASE WHEN label = 1 THEN 1 ELSE 0 END) / count(*) AS takeover_rate
FROM login_activity
WHERE label IS NOT NULL AND login_date BETWEEN :day_from AND :day_to
GROUP BY login_weekday, login_hour
ORDER BY login_weekday, login_hour
