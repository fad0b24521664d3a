-- name: device_switchers
-- question: DM3 Frequent device switching accounts (behavioural patterns): are accounts that switch devices often taken over more?
-- param: day_from date 1970-01-01 | first login day
-- param: day_to date 9999-12-31 | last login day
-- columns: switches, accounts, taken_over_accounts, takeover_rate, mean_devices
-- A switch is a successful login from another device than the account's previous successful
-- login; accounts grouped by their number of switches in the period (5 and more together).
WITH seq AS (
    SELECT account_id, device_hash, label,
           LAG(device_hash) OVER (PARTITION BY account_id ORDER BY login_time, event_id) AS prev_device
    FROM login_activity
    WHERE login_date BETWEEN :day_from AND :day_to AND outcome = 'success'
), per AS (
    SELECT account_id, count(DISTINCT device_hash) AS devices,
           sum(CASE WHEN prev_device IS NOT NULL AND prev_device <> device_hash THEN 1 ELSE 0 END) AS n_switches,
           max(CASE WHEN label = 1 THEN 1 ELSE 0 END) AS taken_over
    FROM seq GROUP BY account_id
)
SELECT CASE WHEN n_switches >= 5 THEN '5+' ELSE CAST(n_switches AS STRING) END AS switches,
       count(*) AS accounts,
       sum(taken_over) AS taken_over_accounts,
       sum(taken_over) / count(*) AS takeover_rate,
       avg(devices) AS mean_devices
FROM per
GROUP BY 1
ORDER BY 1
