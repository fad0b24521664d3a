-- name: test_days
-- question: MS1 Comparing performance of different models (model comparison): what are the test days every model is compared on?
-- param: day_from date 1970-01-01 | first test day (the report passes the champion's test window)
-- param: day_to date 9999-12-31 | last test day
-- columns: login_date, logins, takeovers, takeover_rate
-- The labelled logins of the test days; the report scores each candidate model on exactly these rows.
SELECT login_date, count(*) AS logins,
       sum(CASE WHEN label = 1 THEN 1 ELSE 0 END) AS takeovers,
       sum(CASE WHEN label = 1 THEN 1 ELSE 0 END) / count(*) AS takeover_rate
FROM training_rows
WHERE login_date BETWEEN :day_from AND :day_to
GROUP BY login_date
ORDER BY login_date
