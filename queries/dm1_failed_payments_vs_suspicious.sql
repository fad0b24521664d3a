-- name: failed_payments_vs_suspicious
-- question: DM1 Multiple failed payments (SQL, correlation): are accounts with more failed payments more often suspicious?
-- param: as_of date 9999-12-31 | the latest account snapshot on or before this day is used
-- columns: failed_payments_30d, accounts, suspicious_accounts, suspicious_rate
-- One row per number of failed payments in the 30 days before the snapshot; `suspicious` is the
-- account_risk flag (a labelled takeover or a challenged decision in the same 30 days).
WITH day AS (SELECT max(as_of_date) AS d FROM account_risk WHERE as_of_date <= :as_of)
SELECT r.failed_payments_30d,
       count(*) AS accounts,
       sum(CASE WHEN r.suspicious THEN 1 ELSE 0 END) AS suspicious_accounts,
       sum(CASE WHEN r.suspicious THEN 1 ELSE 0 END) / count(*) AS suspicious_rate
FROM account_risk r JOIN day ON r.as_of_date = day.d
GROUP BY r.failed_payments_30d
ORDER BY r.failed_payments_30d
