"""Bootstrap intervals for the evaluation windows: every metric is a ratio num/den of weighted
sums, so one draw reweights campaigns (their takeovers move together) and legit logins, per
window and pooled over windows (sums of the windows' nums and dens). Draw 0 has unit weights:
the point estimate. Pure NumPy, seeded.

Conventions shared with `metrics.bootstrap_positives`: the 1 % step-up threshold is the
budget_threshold of the window's (weighted) legit scores; in PR-AUC (average precision), legit
logins and takeovers tied with a takeover count as ranked ahead of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ato.model.metrics import STEP_UP_BUDGET

ALL = "all"
POS_METRICS = ("decision_recall", "recall_at_1pct_stepup", "pr_auc")
LEGIT_METRICS = ("legit_challenge_rate", "false_lock_rate")
CAMPAIGN_METRIC = "campaigns_stopped_before_money"  # by a login decision or the action model at the money move
LOGIN_CAMPAIGN_METRIC = "campaigns_stopped_by_login"  # by login decisions alone

Key = tuple[str, str, str]  # (scorer, attack type or ALL, metric)


@dataclass(frozen=True)
class ScorerRows:
    """One scorer on one window: takeovers' scores and whether any action but allow was taken,
    legit logins' scores, flags and locks, each campaign's stopped-before-money flag (and by login
    decisions alone), and which legit logins passed the password check (None: all; the challenge
    rate counts only those)."""

    pos_score: np.ndarray
    pos_flag: np.ndarray
    legit_score: np.ndarray
    legit_flag: np.ndarray
    legit_lock: np.ndarray
    camp_stopped: np.ndarray
    legit_success: np.ndarray | None = None
    camp_stopped_login: np.ndarray | None = None


@dataclass(frozen=True)
class WindowRows:
    """One test window: takeovers (attack type, index of their campaign), campaigns' types, scorers."""

    pos_type: np.ndarray
    pos_campaign: np.ndarray
    camp_type: np.ndarray
    scorers: dict[str, ScorerRows]


class _Prepared:
    """Per (window, scorer), computed once: where each legit login falls among the takeovers'
    scores (so a draw's legit weights become "legit logins ranked ahead" with one bincount), the
    top legit scores in descending order (where the 1 % threshold lies), takeovers in score order."""

    TAIL = 0.03  # the threshold is searched among this top share of legit scores first

    def __init__(self, w: WindowRows, types: list[str]) -> None:
        self.w = w
        self.sets = {ALL: np.arange(len(w.pos_type))} | {t: np.flatnonzero(w.pos_type == t) for t in types}
        self.camp_sets = {ALL: np.arange(len(w.camp_type))} | {t: np.flatnonzero(w.camp_type == t) for t in types}
        self.sc: dict[str, dict[str, Any]] = {}
        for name, r in w.scorers.items():
            u = np.unique(r.pos_score)
            n = len(r.legit_score)
            ok = np.ones(n, dtype=bool) if r.legit_success is None else r.legit_success.astype(bool)
            desc = np.argsort(-r.legit_score, kind="stable")
            per_set = {}
            for t, idx in self.sets.items():
                s = r.pos_score[idx]
                o = np.argsort(s, kind="stable")
                per_set[t] = (idx[o], np.searchsorted(s[o], s[o], side="left"))  # positives ascending, first tie
            self.sc[name] = {
                "seg": np.searchsorted(u, r.legit_score, side="right"), "n_seg": len(u) + 1,
                "pos_seg": np.searchsorted(u, r.pos_score, side="left") + 1,
                "desc": desc, "tail": desc[: max(50, int(np.ceil(self.TAIL * n)))],
                "flag": np.flatnonzero(r.legit_flag & ok), "ok": np.flatnonzero(ok), "lock": np.flatnonzero(r.legit_lock),
                "pos_flag": r.pos_flag.astype(float), "sets": per_set}

    def _threshold(self, name: str, wl: np.ndarray, total: float) -> float:
        """budget_threshold of the weighted legit scores: the score at expanded descending position k."""
        p, r = self.sc[name], self.w.scorers[name]
        if len(r.legit_score) == 0:
            return float("inf")
        k = np.floor(STEP_UP_BUDGET * total)
        for idx in (p["tail"], p["desc"]):  # the tail nearly always holds it; else every legit login
            cum = np.cumsum(wl[idx])
            j = int(np.searchsorted(cum, k, side="right"))
            if j < len(idx):
                return float(r.legit_score[idx[j]])
        return float(r.legit_score[p["desc"][-1]])

    def stats(self, wc: np.ndarray, wl: np.ndarray) -> dict[Key, tuple[float, float]]:
        """(num, den) of every metric under campaign weights `wc` and legit weights `wl`."""
        w = self.w
        wp = wc[w.pos_campaign].astype(float)
        wl = wl.astype(float)
        total = float(wl.sum())
        out: dict[Key, tuple[float, float]] = {}
        for name, r in w.scorers.items():
            p = self.sc[name]
            seg_w = np.bincount(p["seg"], weights=wl, minlength=p["n_seg"])
            suffix = np.concatenate([np.cumsum(seg_w[::-1])[::-1], [0.0]])  # legit in segments >= m
            legit_ahead = suffix[p["pos_seg"]]
            caught = (r.pos_score > self._threshold(name, wl, total)).astype(float)
            for t, idx in self.sets.items():
                ws = wp[idx]
                den = float(ws.sum())
                out[(name, t, "decision_recall")] = (_wsum(ws, p["pos_flag"][idx]), den)
                out[(name, t, "recall_at_1pct_stepup")] = (_wsum(ws, caught[idx]), den)
                srt, first = p["sets"][t]
                wsrt = wp[srt]
                cp = np.concatenate([[0.0], np.cumsum(wsrt)])
                tp = cp[-1] - cp[first]
                with np.errstate(invalid="ignore", divide="ignore"):
                    prec = np.where(tp > 0, tp / (tp + legit_ahead[srt]), 0.0)
                out[(name, t, "pr_auc")] = (_wsum(wsrt, prec), den)
                ci = self.camp_sets[t]
                out[(name, t, CAMPAIGN_METRIC)] = (_wsum(wc[ci], r.camp_stopped[ci]), float(wc[ci].sum()))
                if r.camp_stopped_login is not None:
                    out[(name, t, LOGIN_CAMPAIGN_METRIC)] = (_wsum(wc[ci], r.camp_stopped_login[ci]),
                                                             float(wc[ci].sum()))
            out[(name, ALL, "legit_challenge_rate")] = (float(wl[p["flag"]].sum()), float(wl[p["ok"]].sum()))
            out[(name, ALL, "false_lock_rate")] = (float(wl[p["lock"]].sum()), total)
        return out


def _wsum(w: np.ndarray, x: np.ndarray) -> float:
    """Weighted sum without BLAS (small vectors; a dot product's threads only wait on a busy machine)."""
    return float(np.multiply(w, x, dtype=float).sum())


def _draw(rng: np.random.Generator, n: int) -> np.ndarray:
    """Bootstrap counts: how often each of n units is drawn in a resample of size n."""
    return np.bincount(rng.integers(0, n, n), minlength=n) if n else np.zeros(0, dtype=np.int64)


def attack_types(windows: list[WindowRows]) -> list[str]:
    return sorted({str(t) for w in windows for t in w.pos_type})


def bootstrap(windows: list[WindowRows], resamples: int, seed: int, level: float = 0.95) -> dict[str, Any]:
    """Point estimates and `level` percentile intervals per window and pooled:
    {"windows": [{scorer: {type: {metric: {"value", "ci"}}}}], "pooled": {...}}."""
    types = attack_types(windows)
    prepared = [_Prepared(w, types) for w in windows]
    rng = np.random.default_rng(seed)
    per_window: list[dict[Key, np.ndarray]] = [{} for _ in windows]
    for d in range(resamples + 1):
        for i, (w, p) in enumerate(zip(windows, prepared, strict=True)):
            if d == 0:
                wc, wl = np.ones(len(w.camp_type)), np.ones(len(next(iter(w.scorers.values())).legit_score))
            else:
                wc, wl = _draw(rng, len(w.camp_type)), _draw(rng, len(next(iter(w.scorers.values())).legit_score))
            for key, nd in p.stats(wc, wl).items():
                per_window[i].setdefault(key, np.zeros((resamples + 1, 2)))[d] = nd
    pooled: dict[Key, np.ndarray] = {}
    for pw in per_window:
        for key, arr in pw.items():
            pooled[key] = pooled.get(key, 0) + arr
    return {"resamples": resamples, "level": level, "seed": seed, "attack_types": types,
            "windows": [summarise(pw, level) for pw in per_window], "pooled": summarise(pooled, level)}


def summarise(stats: dict[Key, np.ndarray], level: float) -> dict[str, Any]:
    """{scorer: {type: {metric: {"value", "ci", "n"}}}} from (draws+1) x (num, den) arrays."""
    lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
    out: dict[str, Any] = {}
    for (name, t, metric), arr in sorted(stats.items()):
        num, den = arr[:, 0], arr[:, 1]
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
        draws = ratio[1:][~np.isnan(ratio[1:])]
        value = None if np.isnan(ratio[0]) else float(ratio[0])
        ci = [float(np.quantile(draws, lo)), float(np.quantile(draws, hi))] if value is not None and len(draws) else None
        out.setdefault(name, {}).setdefault(t, {})[metric] = {"value": value, "ci": ci, "n": int(den[0])}
    return out
