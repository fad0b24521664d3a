-- name: flag_rates
-- question: MM3 Real-time suspicious activity flagging (production): what share of live logins does the API flag, by action and day, and how many flagged ones were takeovers?
-- param: day_from date 1970-01-01 | first decided day
-- param: day_to date 9999-12-31 | last decided day
-- columns: decided_date, action, decisions, share, later_takeovers
-- From the decision log (one row per real-time decision) and the labels known since.
SELECT decided_date, action, count(*) AS decisions,
       count(*) / sum(count(*)) OVER (PARTITION BY decided_date) AS share,
       sum(CASE WHEN later_label = 1 THEN 1 ELSE 0 END) AS later_takeovers
FROM decisions_explained
WHERE decided_date BETWEEN :day_from AND :day_to
GROUP BY decided_date, action
ORDER BY decided_date, action
