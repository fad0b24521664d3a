"""The insights report's model answers, as named functions over the champion and the gold training
set: importance by feature group (behavioural vs static), effectiveness week by week, a comparison
of five models on the champion's own test days, candidate rules mined from the strongest features,
and the cost of the model's and the rules' actions per test day (the ROI's input)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from ato.analyst import stats
from ato.features.columns import (
    ACCOUNT_FEATURES,
    CATEGORICAL_FEATURES,
    ENTITY_FEATURES,
    RING_FEATURES,
    SIGNAL_FEATURES,
)
from ato.features.request import REQUEST_FEATURES
from ato.features.speed import SPEED_FEATURES
from ato.settings import Settings

BUDGET = 0.01  # the step-up budget the comparison holds every model to: 1 % of legitimate logins
GROUPS: tuple[tuple[str, bool, tuple[str, ...]], ...] = (  # (group, behavioural?, features)
    ("account behaviour, 30 days", True, tuple(f for f in ACCOUNT_FEATURES if f not in RING_FEATURES)),
    ("IP and device history, 30 days", True,
     (*(f"ip_{c}" for c in ENTITY_FEATURES), *(f"device_{c}" for c in ENTITY_FEATURES))),
    ("velocity, 5 min to 24 h", True, tuple(SPEED_FEATURES)),
    ("this login against habits (new device, travel, hour)", True, REQUEST_FEATURES),
    ("fraud ring", True, RING_FEATURES),
    ("static attributes (channel, client, IP reputation)", False, (*SIGNAL_FEATURES, *CATEGORICAL_FEATURES)),
)
INTERPRETABILITY = {
    "LightGBM (champion)": "low alone; per-decision reasons from SHAP contributions, monotone where set",
    "random forest": "low: hundreds of trees, importances only",
    "logistic regression": "high: one signed weight per feature",
    "rules (conf/rules.yaml)": "highest: each decision names the rule that fired",
    "Freeman RBA": "high: a likelihood ratio per login attribute (IP, ASN, country, client)",
}


@dataclass(frozen=True)
class Champion:
    version: str
    window: dict[str, tuple[date, date]]  # train, val, test
    scorer: Any  # ato.model.bundle.Scorer
    metrics: dict[str, Any]


def champion(s: Settings) -> Champion | None:
    """The promoted model and its training windows, or None before the first promotion."""
    from ato.model.bundle import load_bundle
    from ato.model.registry import champion as champion_version
    from ato.model.registry import metrics, registry_dir

    version = champion_version(s)
    if version is None:
        return None
    m = metrics(s, version)
    window = {k: (date.fromisoformat(v[0]), date.fromisoformat(v[1])) for k, v in m["window"].items()}
    return Champion(version, window, load_bundle(registry_dir(s) / version)["model"], m)


def group_of(feature: str) -> tuple[str, bool]:
    for name, behavioural, features in GROUPS:
        if feature in features:
            return name, behavioural
    return "other", True


def importance_by_group(scorer: Any) -> pd.DataFrame:
    """The booster's total gain per feature group, as shares, with each group's strongest feature."""
    gain = np.asarray(scorer.booster.feature_importance(importance_type="gain"), dtype=float)
    df = pd.DataFrame({"feature": scorer.features, "gain": gain})
    df[["group", "behavioural"]] = [group_of(f) for f in df["feature"]]
    top = df.sort_values("gain", ascending=False).groupby("group", sort=False).head(1).set_index("group")["feature"]
    out = df.groupby(["group", "behavioural"], as_index=False).agg(features=("feature", "size"), gain=("gain", "sum"))
    out["gain_share"] = out["gain"] / out["gain"].sum()
    out["strongest_feature"] = out["group"].map(top)
    return out.sort_values("gain_share", ascending=False, ignore_index=True)


def labelled_rows(s: Settings, first: date, last: date) -> pd.DataFrame:
    """Training rows of [first, last] with `label` the evaluation target training uses (matured
    labels; ambiguous ones, of weight 0, left out)."""
    from ato.model.data import load_training_rows
    from ato.model.evaluation import label_target

    df = load_training_rows(s, first, last)
    df["label"] = label_target(df)
    return df[df["label"] >= 0].reset_index(drop=True)


def _metrics(y: np.ndarray, score: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import roc_auc_score

    if not 0 < int(y.sum()) < len(y):  # one class only: no ranking to measure
        return dict.fromkeys(("pr_auc", "recall_at_1pct", "f1_at_1pct", "roc_auc", "legit_flagged"), float("nan"))
    recall, flagged = stats.recall_at_budget(y, score, BUDGET)
    tp, fp = recall * int(y.sum()), flagged * int((y == 0).sum())  # the flagged takeovers and legit logins
    precision = tp / (tp + fp) if tp + fp else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pr_auc": stats.pr_auc(y, score), "recall_at_1pct": recall, "f1_at_1pct": f1,
            "roc_auc": float(roc_auc_score(y, score)), "legit_flagged": flagged}


def weekly_effectiveness(s: Settings, champ: Champion, last: date | None = None) -> pd.DataFrame:
    """The champion scored on every labelled login from its first training day to `last` (default:
    the test window's end), per ISO week: PR-AUC and recall at 1 % of legitimate logins, and which
    part of the model's life the week was (train, validation, test, after: new data)."""
    first, end = champ.window["train"][0], last or champ.window["test"][1]
    df = labelled_rows(s, first, end)
    df["score"] = champ.scorer.raw(df)
    df["week"] = pd.to_datetime(df["login_date"]).dt.to_period("W-SUN").dt.start_time.dt.date

    def part(d: date) -> str:
        for name in ("train", "val", "test"):
            if d <= champ.window[name][1]:
                return {"val": "validation"}.get(name, name)
        return "after (new data)"

    out = []
    for week, g in df.groupby("week"):
        y = g["label"].to_numpy()
        m = _metrics(y, g["score"].to_numpy())
        out.append({"week": week, "part": part(max(g["login_date"])), "logins": len(g), "takeovers": int(y.sum()),
                    "pr_auc": m.get("pr_auc"), "recall_at_1pct": m.get("recall_at_1pct")})
    return pd.DataFrame(out)


def _baselines(X_train: np.ndarray, y_train: np.ndarray, seed: int) -> dict[str, Any]:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    lr = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                       LogisticRegression(class_weight="balanced", max_iter=2000, C=0.1))
    rf = make_pipeline(SimpleImputer(strategy="median"), RandomForestClassifier(
        n_estimators=200, min_samples_leaf=5, max_features="sqrt", class_weight="balanced_subsample", n_jobs=2,
        random_state=seed))
    return {"logistic regression": lr.fit(X_train, y_train), "random forest": rf.fit(X_train, y_train)}


@dataclass(frozen=True)
class Comparison:
    table: pd.DataFrame  # one row per model: the metrics and the interpretability trade-off
    test: pd.DataFrame  # the test rows with each model's score, the champion's and the rules' actions
    train: pd.DataFrame  # the labelled rows of the training days (candidate rules are mined on them)
    train_rows: int  # those the logistic regression and the forest fit on


def compare_models(s: Settings, champ: Champion, legit_sample: int = 60_000) -> Comparison:
    """Five models scored on the champion's test days: the champion as registered; a logistic
    regression and a random forest fit on its training days (every takeover and up to
    `legit_sample` legitimate logins, the same encoded features); the analysts' rules; Freeman's
    risk-based authentication (history before the validation days). Ranking metrics need no
    calibration; recall and F1 are at 1 % of legitimate test logins flagged, for every model."""
    from ato.model.baselines import HISTORY_DAYS, rules_block
    from ato.model.data import load_silver_logins
    from ato.model.freeman import LOGIN_COLUMNS, freeman_scores

    (t0, t1), (v0, _), (s0, s1) = champ.window["train"], champ.window["val"], champ.window["test"]
    train, test = labelled_rows(s, t0, t1), labelled_rows(s, s0, s1)
    rng = np.random.default_rng(s.model.seed)
    legit = np.flatnonzero(train["label"].to_numpy() == 0)
    keep = np.sort(np.concatenate([np.flatnonzero(train["label"].to_numpy() == 1),
                                   rng.choice(legit, size=min(legit_sample, len(legit)), replace=False)]))
    sc = champ.scorer
    fitted = _baselines(sc.matrix(train.iloc[keep]), train["label"].to_numpy()[keep], s.model.seed)
    raw, _, action = sc.score(test)
    test = test.assign(**{"LightGBM (champion)": raw, "model_action": action})
    X_test = sc.matrix(test)
    for name, clf in fitted.items():
        test[name] = clf.predict_proba(X_test)[:, 1]
    rules_block(s, test)
    test["rules (conf/rules.yaml)"] = test["rules_raw"]
    logins = load_silver_logins(s, t0 - timedelta(days=HISTORY_DAYS), s1, LOGIN_COLUMNS)
    fr = freeman_scores(logins, global_until=pd.Timestamp(v0, tz="UTC"), alpha=s.model.freeman_alpha)
    test["Freeman RBA"] = test["event_id"].map(dict(zip(fr["event_id"], fr["freeman_score"], strict=True))).fillna(0.0)
    y = test["label"].to_numpy()
    rows = [{"model": name, **_metrics(y, test[name].to_numpy(dtype=float)), "interpretability": text}
            for name, text in INTERPRETABILITY.items()]
    return Comparison(pd.DataFrame(rows), test, train, len(keep))


def daily_costs(s: Settings, test: pd.DataFrame) -> pd.DataFrame:
    """Per test day, the realised cost (conf `costs`) of the champion's actions and of the rules'."""
    from ato.model.tiers import total_cost

    out = []
    for day, g in test.groupby("login_date"):
        y = g["label"].to_numpy()
        out.append({"day": day, "logins": len(g), "takeovers": int(y.sum()),
                    "model_cost": total_cost(g["model_action"].to_numpy(), y, s.costs),
                    "rules_cost": total_cost(g["rules_action"].to_numpy(), y, s.costs)})
    return pd.DataFrame(out)


def strongest_numeric(scorer: Any, n: int) -> list[str]:
    """The champion's `n` numeric features of highest total gain."""
    gain = scorer.booster.feature_importance(importance_type="gain")
    order = np.argsort(gain)[::-1]
    return [scorer.features[i] for i in order if scorer.features[i] not in CATEGORICAL_FEATURES][:n]


def mine_rules(train: pd.DataFrame, test: pd.DataFrame, features: list[str], friction: float = 0.01) -> pd.DataFrame:
    """For each of `features` (numeric), the lowest threshold whose `feature > threshold` flags at
    most `friction` of the legitimate training logins, kept when it catches a training takeover;
    its catch and friction on the test rows."""
    out = []
    for f in features:
        x_tr = pd.to_numeric(train[f], errors="coerce").to_numpy(dtype=float)
        legit = np.nan_to_num(x_tr[train["label"].to_numpy() == 0], nan=-np.inf)
        if not len(legit):
            continue
        thr = float(np.sort(legit)[::-1][int(np.floor(friction * len(legit)))])
        x = np.nan_to_num(pd.to_numeric(test[f], errors="coerce").to_numpy(dtype=float), nan=-np.inf)
        if not (x_tr[train["label"].to_numpy() == 1] > thr).any():
            continue  # no threshold within the friction catches anything (e.g. a flag most logins carry)
        y = test["label"].to_numpy()
        hit = x > thr
        out.append({"rule": f"{f} > {thr:g}", "catch": float(hit[y == 1].mean()) if (y == 1).any() else None,
                    "friction": float(hit[y == 0].mean()) if (y == 0).any() else None,
                    "takeovers_caught": int((hit & (y == 1)).sum()), "legit_flagged": int((hit & (y == 0)).sum())})
    return pd.DataFrame(out)
