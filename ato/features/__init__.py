"""Feature definitions shared by the batch layer (Spark applies them per group) and serving
(called on one login at a time). One definition, two executions."""
