-- name: candidate_rules
-- question: BI1 Applying findings to reduce fraudulent activity (business application): which simple rules would catch takeovers, at what friction for legitimate users?
-- param: day_from date 1970-01-01 | first login day
-- param: day_to date 9999-12-31 | last login day
-- columns: rule, takeovers_caught, legit_flagged, catch, friction
-- Candidate rules from the signals the model's reasons lean on; catch is the share of takeover
-- logins a rule flags, friction the share of legitimate logins it flags.
WITH t AS (
    SELECT * FROM training_rows WHERE login_date BETWEEN :day_from AND :day_to
), hits AS (
    SELECT 'new device and 3+ failed logins on the account in 1 h' AS rule, label FROM t
    WHERE new_device = 1 AND account_failures_1h >= 3
    UNION ALL SELECT 'IP tried 5+ accounts in 1 h', label FROM t WHERE ip_accounts_1h >= 5
    UNION ALL SELECT 'automation user agent', label FROM t WHERE is_automation_ua = 1
    UNION ALL SELECT 'impossible travel (over 900 km/h)', label FROM t WHERE kmh_since_last_login > 900
    UNION ALL SELECT 'new device and new country', label FROM t WHERE new_device = 1 AND new_country = 1
    UNION ALL SELECT 'IP reputation score 0.5 or more', label FROM t WHERE ip_rep_score >= 0.5
), total AS (
    SELECT sum(CASE WHEN label = 1 THEN 1 ELSE 0 END) AS pos, sum(CASE WHEN label = 0 THEN 1 ELSE 0 END) AS neg
    FROM t
)
SELECT h.rule, sum(CASE WHEN h.label = 1 THEN 1 ELSE 0 END) AS takeovers_caught,
       sum(CASE WHEN h.label = 0 THEN 1 ELSE 0 END) AS legit_flagged,
       sum(CASE WHEN h.label = 1 THEN 1 ELSE 0 END) / NULLIF(max(total.pos), 0) AS catch,
       sum(CASE WHEN h.label = 0 THEN 1 ELSE 0 END) / NULLIF(max(total.neg), 0) AS friction
FROM hits h CROSS JOIN total
GROUP BY h.rule
ORDER BY catch DESC, h.rule
