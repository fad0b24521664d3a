-- name: time_since_failed_payment
-- question: FE3 Time since the last failed payment (temporal feature): are takeovers closer to a failed payment than legitimate logins?
-- param: day_from date 1970-01-01 | first login day
-- param: day_to date 9999-12-31 | last login day
-- columns: label, since_failed_payment, logins, share_of_label
-- Days from the account's last failed payment (before the login) to the login, in buckets; "none"
-- when there was no failed payment in the 30-day history.
WITH b AS (
    SELECT CASE WHEN label = 1 THEN 'takeover' ELSE 'legit' END AS label,
           CASE WHEN days_since_failed_payment IS NULL THEN '4 none'
                WHEN days_since_failed_payment < 1 THEN '1 under 1 day'
                WHEN days_since_failed_payment < 7 THEN '2 1-7 days'
                ELSE '3 7+ days' END AS since_failed_payment
    FROM training_rows
    WHERE login_date BETWEEN :day_from AND :day_to
)
SELECT label, since_failed_payment, count(*) AS logins,
       count(*) / sum(count(*)) OVER (PARTITION BY label) AS share_of_label
FROM b
GROUP BY label, since_failed_payment
ORDER BY label, since_failed_payment
