-- name: login_anomalies
-- question: DM2 Login frequencies and session durations anomalies (pattern detection): which accounts log in far more often, or stay far longer, than the rest?
-- param: day_from date 1970-01-01 | first login day
-- param: day_to date 9999-12-31 | last login day
-- param: top int 20 | how many accounts to list
-- columns: account_id, logins, mean_session_s, z_logins, z_session, takeover_logins
-- Robust z-scores, 0.6745 (x - median) / MAD, of each account's login count (on a log scale,
-- ln(1 + logins): counts are heavy-tailed) and mean session duration over the period; the accounts
-- furthest from the median on either, with their labelled takeover logins.
WITH per AS (
    SELECT account_id, count(*) AS logins, avg(session_duration_s) AS mean_session_s,
           sum(CASE WHEN label = 1 THEN 1 ELSE 0 END) AS takeover_logins
    FROM login_activity WHERE login_date BETWEEN :day_from AND :day_to
    GROUP BY account_id
), mid AS (
    SELECT @quantile(ln(1 + logins), 0.5) AS m_logins, @quantile(mean_session_s, 0.5) AS m_session FROM per
), spread AS (
    SELECT @quantile(abs(ln(1 + p.logins) - mid.m_logins), 0.5) AS d_logins,
           @quantile(abs(p.mean_session_s - mid.m_session), 0.5) AS d_session
    FROM per p CROSS JOIN mid
), z AS (
    SELECT p.account_id, p.logins, p.mean_session_s, p.takeover_logins,
           0.6745 * (ln(1 + p.logins) - mid.m_logins) / NULLIF(spread.d_logins, 0) AS z_logins,
           0.6745 * (p.mean_session_s - mid.m_session) / NULLIF(spread.d_session, 0) AS z_session
    FROM per p CROSS JOIN mid CROSS JOIN spread
)
SELECT account_id, logins, mean_session_s, z_logins, z_session, takeover_logins
FROM z
ORDER BY greatest(abs(coalesce(z_logins, 0)), abs(coalesce(z_session, 0))) DESC, account_id
LIMIT :top
