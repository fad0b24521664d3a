"""Sensitive actions (payments, account changes) in the batch layer: the events each account folds
(`events`), the training rows `gold/action_training_set` (`rows`) and the action model (`model`).
The feature definition itself is `ato.features.actions`."""
