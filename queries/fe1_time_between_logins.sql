-- name: time_between_logins
-- question: FE1 Time between consecutive logins (time-delta feature): how does the gap since the account's previous login differ between takeovers and legitimate logins?
-- param: day_from date 1970-01-01 | first login day
-- param: day_to date 9999-12-31 | last login day
-- columns: label, logins, p10_s, p50_s, p90_s, share_under_1min
-- Seconds since the same account's previous login attempt (any outcome), for labelled logins
-- that have a previous one; exact percentiles (linear interpolation).
SELECT CASE WHEN label = 1 THEN 'takeover' ELSE 'legit' END AS label,
       count(*) AS logins,
       @quantile(s_since_prev_login, 0.1) AS p10_s,
       @quantile(s_since_prev_login, 0.5) AS p50_s,
       @quantile(s_since_prev_login, 0.9) AS p90_s,
       sum(CASE WHEN s_since_prev_login < 60 THEN 1 ELSE 0 END) / count(*) AS share_under_1min
FROM login_activity
WHERE label IS NOT NULL AND s_since_prev_login IS NOT NULL AND login_date BETWEEN :day_from AND :day_to
GROUP BY 1
ORDER BY 1
