-- name: geo_dispersion
-- question: FE2 Geographic dispersion of logins (geographic features): do takeovers come from more countries and further away?
-- param: day_from date 1970-01-01 | first login day
-- param: day_to date 9999-12-31 | last login day
-- param: kmh float 900 | a speed above this since the previous login counts as impossible travel
-- columns: label, logins, mean_countries_30d, p50_km, p90_km, share_new_country, share_impossible_travel
-- From the point-in-time training rows: countries seen on the account in the 30 days before the
-- login, kilometres from the previous login's location, and the implied speed.
SELECT CASE WHEN label = 1 THEN 'takeover' ELSE 'legit' END AS label,
       count(*) AS logins,
       avg(distinct_countries_30d) AS mean_countries_30d,
       @quantile(km_since_last_login, 0.5) AS p50_km,
       @quantile(km_since_last_login, 0.9) AS p90_km,
       sum(CASE WHEN new_country = 1 THEN 1 ELSE 0 END) / count(*) AS share_new_country,
       sum(CASE WHEN kmh_since_last_login > :kmh THEN 1 ELSE 0 END) / count(*) AS share_impossible_travel
FROM training_rows
WHERE login_date BETWEEN :day_from AND :day_to
GROUP BY 1
ORDER BY 1
