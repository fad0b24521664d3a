"""`ato train` end to end, as the retrain DAG runs it: a training run (ato.model.training_run),
the champion scored on the same test rows, the version registered with its HTML report, and
promoted if asked and better."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ato.features.columns import CATEGORICAL_FEATURES
from ato.model import registry
from ato.model.bundle import load_bundle
from ato.model.evaluation import evaluate_part, test_target
from ato.model.training_run import TrainingRun, train
from ato.monitoring.drift import reference, write_reference
from ato.privacy import key_fingerprint
from ato.progress import Progress
from ato.sensitive.model import train_action_model
from ato.settings import Settings


@dataclass
class TrainResult:
    """A registered version: its run, folder, report, and the promotion verdict (if asked)."""

    run: TrainingRun
    version: str
    folder: Path
    report: Path
    verdict: registry.Verdict | None


def champion_on_test(s: Settings, run: TrainingRun) -> dict[str, Any] | None:
    """The current champion's model scored on this run's test rows, same target and metrics."""
    current = registry.champion(s)
    if current is None:
        return None
    scorer = load_bundle(registry.registry_dir(s) / current)["model"]
    part = run.test.copy()
    part["champion_raw"], _, part["champion_action"] = scorer.score(part)
    target, kind = test_target(part, run.extras["has_truth"])
    return {"version": current, "metrics": evaluate_part(part, target, kind, ("champion",))["champion"]}


def campaigns_with_actions(s: Settings, run: TrainingRun, folder: Path) -> None:
    """Each scorer's campaigns stopped before money moved, counting the action model's stops at the
    money moves as well (`campaigns_stopped_before_money`; login decisions alone:
    `campaigns_stopped_by_login`)."""
    import lightgbm as lgb

    from ato.model.action_stops import money_with_stops
    from ato.model.campaigns import campaigns_stopped
    from ato.model.evaluation import SCORERS
    from ato.sensitive.model import MODEL_FILE

    booster = lgb.Booster(model_file=str(folder / MODEL_FILE))
    money = money_with_stops(s, run.window.test, booster, run.metrics["actions"]["thresholds"])
    for n in SCORERS:
        c = campaigns_stopped(run.test, run.test[f"{n}_action"].to_numpy(), money)
        run.metrics["test"][n]["campaigns_stopped_before_money"] = c.pop("campaigns_stopped_before_money")
        run.metrics["test"][n]["campaigns"] = c


def train_and_register(s: Settings, as_of: date | None = None, promote: bool = False,
                       progress: Progress | None = None, reason: str | None = None, shadow: bool = False) -> TrainResult:
    """Train for night `as_of`, register the version with its report, and promote it if asked
    and it beats the champion (a refusal is a verdict in the result, not an exception; with
    `model.promote_require_live` a new version has no live record yet and is refused). With `shadow`,
    a version not promoted becomes the shadow challenger (`ato shadow`)."""
    from ato.monitoring.shadow import promote as promote_checked
    from ato.report.training import write_training_report

    progress = progress or Progress()
    run = train(s, as_of, progress)
    version = run.version
    run.metrics["version"] = version
    run.metrics["reason"] = reason  # why it ran: a monitoring trigger, the weekly schedule, by hand
    run.metrics["champion_on_same_test"] = champion_on_test(s, run)
    bundle = {
        "version": version, "created_by": registry.code_version(), "seed": s.model.seed,
        "training_window": run.window.as_dict(), "data_hash": run.data_hash, "rows": run.rows,
        "imbalance_method": run.chosen.method, "params": run.chosen.params,
        "scorers": {n: sc.meta() for n, sc in run.scorers.items()},
        "costs": s.costs.model_dump(), "label_maturity_days": s.batch.label_maturity_days, "reason": reason,
        "key_fingerprint": key_fingerprint(s.hmac_key_bytes()),  # the key its training set's hashes were made with
    }

    def save(folder: Path) -> None:
        for sc in run.scorers.values():
            sc.save(folder)
        # What the model was judged on, as serving scores it: the monitor's drift reference.
        model = run.scorers["model"]
        write_reference(folder, reference(run.test, model.features, CATEGORICAL_FEATURES,
                                          run.test["model_p"].to_numpy(), seed=s.model.seed,
                                          actions=run.test["model_action"].to_numpy()))
        with progress.step("action model (gold/action_training_set)"):
            # None without action rows; fitted up to the login test block's end, tested on it
            run.metrics["actions"] = train_action_model(s, folder, until=run.window.test[1])
        if run.metrics["actions"] is not None and run.extras.get("has_truth") and "truth_campaign" in run.test:
            with progress.step("campaigns stopped at the money move (the action model on the test block's actions)"):
                campaigns_with_actions(s, run, folder)

    folder = registry.write_version(s, version, {"bundle.json": bundle, "metrics.json": run.metrics}, save)
    with progress.step("HTML report"):
        report = write_training_report(s, run, folder)
    verdict = None
    if promote:
        try:
            verdict = promote_checked(s, version)
        except registry.PromotionRefused as e:
            verdict = registry.Verdict(False, str(e))
    if shadow and (verdict is None or not verdict.promote) and registry.champion(s) not in (None, version):
        registry.set_challenger(s, version)
    return TrainResult(run, version, folder, report, verdict)
