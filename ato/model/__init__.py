"""Model training, evaluation, baselines and the registry."""
