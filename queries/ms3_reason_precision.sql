-- name: reason_precision
-- question: MS3 Trade-offs between model complexity and interpretability: how often is each reason we show a takeover, once labels are known?
-- param: day_from date 1970-01-01 | first decided day
-- param: day_to date 9999-12-31 | last decided day
-- columns: top_reason, decisions, challenged, labelled, takeovers, precision
-- The first reason of each decision (what an analyst or customer is told), with the share of its
-- labelled decisions that were takeovers.
SELECT coalesce(top_reason, '(no reason: low risk)') AS top_reason, count(*) AS decisions,
       sum(CASE WHEN action <> 'allow' THEN 1 ELSE 0 END) AS challenged,
       sum(CASE WHEN later_label IS NOT NULL THEN 1 ELSE 0 END) AS labelled,
       sum(CASE WHEN later_label = 1 THEN 1 ELSE 0 END) AS takeovers,
       sum(CASE WHEN later_label = 1 THEN 1 ELSE 0 END)
         / NULLIF(sum(CASE WHEN later_label IS NOT NULL THEN 1 ELSE 0 END), 0) AS precision
FROM decisions_explained
WHERE decided_date BETWEEN :day_from AND :day_to
GROUP BY 1
ORDER BY decisions DESC, top_reason
