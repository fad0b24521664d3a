"""Settings of the model: sections `model` (training window, folds, search, imbalance handling,
calibration, thresholds and budgets, promotion, rules) and `cost` (what each action costs) of
`ato.settings.Settings`, kept apart so that module stays one screen of loading logic."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ato.conf_section import Section

Imbalance = Literal["none", "class_weight", "smote_nc"]
IMBALANCE_METHODS: tuple[Imbalance, ...] = ("none", "class_weight", "smote_nc")
CalibrationMethod = Literal["platt", "isotonic_interp", "isotonic"]
CALIBRATION_METHODS: tuple[CalibrationMethod, ...] = ("platt", "isotonic_interp", "isotonic")


class ModelConf(Section):
    train_days: int = Field(14, ge=2, description="Login days the final model trains on (the oldest part of the window).")
    val_days: int = Field(7, ge=1, description="Next days: early stopping, imbalance/search choice, calibration, thresholds.")
    test_days: int = Field(10, ge=1, description="Last days: never touched until the final evaluation.")
    folds: int = Field(2, ge=1, description="Rolling-origin folds for choosing imbalance handling and parameters.")
    seed: int = Field(7, description="Seed of every random choice (search, SMOTE, LightGBM): same data -> same model.")
    search_trials: int = Field(6, ge=1, description="Hyperparameter sets tried (the first is the default set).")
    imbalance: list[Imbalance] = Field(
        default_factory=lambda: list(IMBALANCE_METHODS),
        description="Rebalancing methods compared on validation PR-AUC; the best one is used.")
    smote_ratio: float = Field(0.05, gt=0, le=1, description="SMOTE-NC: minority/majority ratio after oversampling.")
    monotone: bool = Field(True, description="Risk signals (new device/country, travel speed, reputation, accounts per IP) may only raise the score.")
    refit_on_val: bool = Field(
        False, description="After choosing, fit the served boosters again on the training and validation days "
        "together (same parameters and rounds); calibration and tiers stay those of the out-of-sample validation "
        "scores, carried over by rank on the test days' successful logins, and test leaves out accounts with a "
        "takeover in validation. A new tactic then reaches the served model val_days sooner; validation metrics "
        "become in-sample.")
    drop_features: list[str] = Field(default_factory=list, description="Features the main model leaves out "
                                     "(an ablation: e.g. ATO_MODEL__DROP_FEATURES=ring_size,ring_labelled_share measures what rings add).")

    @property
    def training_window_days(self) -> int:
        """Matured login days one training run reads: train, then validation, then test."""
        return self.train_days + self.val_days + self.test_days

    @field_validator("drop_features", mode="before")
    @classmethod
    def _known(cls, v: object) -> list[str]:
        from ato.features.columns import FEATURES

        v = [x.strip() for x in v.split(",") if x.strip()] if isinstance(v, str) else list(v)  # type: ignore[call-overload]
        unknown = sorted(set(v) - set(FEATURES))
        if unknown:
            raise ValueError(f"unknown features {unknown}; see ato/features/columns.py")
        return v

    max_rounds: int = Field(600, ge=10, description="Boosting rounds cap (early stopping usually ends sooner).")
    early_stopping_rounds: int = Field(40, ge=5, description="Stop when validation average precision stalls this long.")
    max_false_lock_rate: float = Field(0.001, ge=0, le=1, description="Lock threshold raised until validation false locks are at most this share of legit logins.")
    stepup_budget: float | None = Field(
        0.01, ge=0, le=1, description="Share of successful legit logins the operator accepts to challenge (failed "
        "logins challenge no customer): the step-up threshold is set on validation to spend it (any action but allow "
        "counts). None: the step-up threshold is cost-based.")
    action_budget: float = Field(
        0.01, gt=0, le=1, description="Share of validation's legit sensitive actions (payments, account changes) the "
        "action model may challenge: its step-up threshold spends it; review at a tenth, lock at a hundredth of it.")
    calibrators: list[CalibrationMethod] = Field(
        default_factory=lambda: list(CALIBRATION_METHODS),
        description="Calibrators compared on validation log-loss (time-ordered halves of each fold's validation "
        "block); the best one is used. The first is used when no fold can compare them.")
    promote_min_pr_auc_gain: float = Field(0.0, description="A challenger must beat the champion's test PR-AUC by more than this.")
    promote_max_recall_drop: float = Field(0.02, ge=0, description="... and may lose at most this much recall at 1% step-up.")
    promote_require_live: bool = Field(False, description="`ato promote` also requires that the version, scored in "
                                                          "shadow, was not worse than the champion on live traffic "
                                                          "(gold/shadow_daily; same as `ato promote --require-live`).")
    live_min_takeovers: int = Field(10, ge=1, description="Live comparison: labelled takeovers among the shadowed "
                                                          "decisions needed before it can say 'not worse'.")
    live_max_recall_drop: float = Field(0.02, ge=0, le=1, description="Live comparison: recall of challenges the shadow "
                                                                      "may lose against the champion (and its net "
                                                                      "benefit, conf costs, must not be lower).")
    rules: str = Field("conf/rules.yaml", description="Analyst rules: the last resort of the decision chain and a baseline.")
    freeman_alpha: float = Field(1.0, gt=0, description="Freeman et al. RBA baseline: smoothing of a user's history towards the population.")


class CostConf(Section):
    """Expected cost of each action, in one currency unit; thresholds minimise their sum."""

    missed_ato: float = Field(500.0, gt=0, description="A takeover let through (losses, support, churn).")
    mfa_friction: float = Field(1.0, ge=0, description="A legitimate user challenged with MFA.")
    false_lock: float = Field(40.0, ge=0, description="A legitimate user locked out (support call, lost business).")
    review: float = Field(8.0, ge=0, description="An analyst reviewing one login.")
    mfa_stops: float = Field(0.85, ge=0, le=1, description="Share of takeovers a step-up stops (SIM swap, phished OTP get through).")
    review_stops: float = Field(0.9, ge=0, le=1, description="Share of takeovers a manual review stops.")
    lock_stops: float = Field(1.0, ge=0, le=1, description="Share of takeovers a temporary lock stops.")
    model_running_per_day: float = Field(
        50.0, ge=0, description="What running the model costs per day over the rules (serving, nightly training, "
                                "a share of the team): the investment in `ato insights`' ROI.")
