-- name: daily_value
-- question: BI3 ROI of fraud detection investment (ROI calculation): what did the deployed model save each day, against the rules, in the cost table's money?
-- param: day_from date 1970-01-01 | first decided day
-- param: day_to date 9999-12-31 | last decided day
-- columns: decided_date, decisions, losses_prevented, friction_cost, net_benefit, rules_net_benefit, net_benefit_vs_rules
-- The monitor step's business metrics per decided day (conf/model.yaml `cost`); the report adds the
-- model-vs-rules ROI on the test days with a bootstrap interval.
SELECT decided_date, decisions, losses_prevented, friction_cost, net_benefit,
       rules_losses_prevented - rules_friction_cost AS rules_net_benefit, net_benefit_vs_rules
FROM daily_business
WHERE decided_date BETWEEN :day_from AND :day_to
ORDER BY decided_date
