-- name: decisions_to_explain
-- question: MS2 Explaining complex models to non-technical stakeholders (model explanation): which decisions, with their reasons, would we walk a stakeholder through?
-- param: top int 5 | how many decisions
-- columns: decision_id, decided_at, account_id, action, risk_score, reasons, guardrails, fallback_level, later_label
-- The highest-risk challenged decisions first (then the highest-risk allowed ones).
SELECT decision_id, decided_at, account_id, action, risk_score, reasons, guardrails, fallback_level, later_label
FROM decisions_explained
ORDER BY CASE WHEN action <> 'allow' THEN 0 ELSE 1 END, risk_score DESC, decision_id
LIMIT :top
