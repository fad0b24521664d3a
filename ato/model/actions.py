"""The decisions a login can get, from mildest to most severe: shared by rules, tiers and serving."""

from __future__ import annotations

ACTIONS: tuple[str, ...] = ("allow", "step_up_mfa", "manual_review", "temporary_lock")
# Action -> rank; a higher rank wins when several sources (rules, model tiers) disagree.
SEVERITY: dict[str, int] = {a: i for i, a in enumerate(ACTIONS)}
