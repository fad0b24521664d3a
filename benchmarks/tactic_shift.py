"""The monitoring loop on the tactic-shift world, night by night (README "Tactic-shift world").

1. simulate conf/scenarios/tactic_shift.yaml (with --stable: the same world without the shift)
   into ROOT/all;
2. bootstrap: the spool of the days before the first night arrives, is ingested and backfilled
   (aggregates, training set, gate, actions, publish), and the first champion is trained and promoted;
3. every night D from --first: D's spool files arrive and are ingested; one `ato serve` (kept up
   for the whole run: shadow scoring on, replay clock, reloads every second) scores every login of D
   on snapshot D-1 as the login backend would send it; the nightly steps of D run (decisions,
   monitor, validate, aggregates, training, gate, actions, publish; the report once, for the last
   night); then what the DAGs run
   after `monitor`: `ato monitor check` (a due retrain records its trigger), and when due what
   ato_retrain runs on the asset event, `ato train --date D --shadow --reason <the trigger's
   reasons>`; when a challenger is in shadow, what the nightly's promote_challenger runs first,
   `ato promote --challenger --require-live`.
4. per night: ground-truth recall of the new tactic's takeovers (the answer, the champion's model,
   the shadow), of the other attacks and the legit challenge rate, beside what the monitor saw
   (drifted features, estimated and realised recall, the trigger) -> ROOT/nights.jsonl and a table.

The settings are the defaults except: paths under ROOT, `batch.label_maturity_days` 3 (the world's
takeovers are reported within days: median 2), `model.val_days` and `model.test_days` 3 (the final
model fits the oldest `train_days` of its window, so with the defaults a new tactic would enter the
fit 17 days after it starts, plus the maturity), `monitor.retrain_cooldown_days` --cooldown,
`serving.shadow` on and `model.promote_require_live` on. Everything runs in one process and one
Spark session (the DAG tasks run the same functions, one process each); run it alone.

With --dags, steps 3's nightly, check, retrain and promotion run through Airflow instead: `airflow
dags test ato_nightly D` (every task its own `ato` process), and the scheduler of a project-local
Airflow (ROOT/airflow) runs ato_retrain on the nightly's asset event, with the reason recorded by
the retrain; the day's ingest before the replay stays in-process (the replay reads the day's
logins from bronze).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
KEY = "tactic-shift-key"
if not __package__:  # run as a script: the repository root holds `benchmarks`
    sys.path.insert(0, str(ROOT))
from benchmarks.tactic_shift_numbers import line, monitor_numbers, summary, truth_numbers  # noqa: E402

NIGHT_STEPS = ("decisions", "monitor", "validate", "aggregates", "training", "gate", "actions", "publish")
BOOT_STEPS = ("ingest", "validate", "aggregates", "training", "gate", "actions", "publish")


def environment(root: Path, cooldown: int, refit: bool = False) -> dict[str, str]:
    return {"ATO_MODEL__REFIT_ON_VAL": str(refit).lower(),
        "ATO_LAKE_ROOT": str(root / "lake"), "ATO_SPOOL": str(root / "spool"), "ATO_WORLD_DIR": str(root / "all/world"),
        "ATO_MODEL_DIR": str(root / "models"), "ATO_ONLINE_DIR": str(root / "online"),
        "ATO_SERVING__AUDIT_DIR": str(root / "audit"), "ATO_PATHS__REPORTS": str(root / "reports"),
        "ATO_ENRICH__GEO_DB": str(root / "all/world/ip_geo.csv"), "ATO_BATCH__LABEL_MATURITY_DAYS": "3",
        # the final model fits the oldest train_days of its window: with the default 7 validation and
        # 10 test days a tactic enters the fit only 17 days (+ maturity) after it starts
        "ATO_MODEL__VAL_DAYS": "3", "ATO_MODEL__TEST_DAYS": "3",
        "ATO_MONITOR__RETRAIN_COOLDOWN_DAYS": str(cooldown), "ATO_SERVING__SHADOW": "true",
        "ATO_MODEL__PROMOTE_REQUIRE_LIVE": "true", "ATO_SERVING__CLOCK": "replay", "ATO_SERVING__RELOAD_S": "1",
        "ATO_API_KEYS": KEY, "ATO_HMAC_KEY": os.environ.get("ATO_HMAC_KEY", "tactic-shift-world-key-not-for-production"),
    }


def arrive(root: Path, first: date | None, last: date) -> int:
    """Spool files of days [first, last] (all before `last` when first is None) into ROOT/spool."""
    n = 0
    for f in sorted((root / "all/spool").rglob("*")):
        if not f.is_file():
            continue
        try:
            day = date.fromisoformat(f.stem)
        except ValueError:  # the reputation feed (one file, dated rows): with the first batch
            day = None
        if day is None and first is not None:
            continue
        if day is not None and (day > last or (first is not None and day < first)):
            continue
        dest = root / "spool" / f.relative_to(root / "all/spool")
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, dest)
            n += 1
    return n


class Service:
    """One `ato serve` for the whole run (its speed layer carries over from night to night)."""

    def __init__(self, root: Path, port: int) -> None:
        import httpx

        self.log = root / "serve.log"
        self.proc = subprocess.Popen([sys.executable, "-m", "ato.cli", "serve", "--port", str(port),
                                      "--log-level", "warning"], cwd=ROOT, stdout=self.log.open("ab"),
                                     stderr=subprocess.STDOUT)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": KEY}, timeout=30)
        self.wait(lambda m: True)

    def wait(self, ok: Any, timeout: float = 120) -> dict[str, Any]:
        end = time.monotonic() + timeout
        while True:
            try:
                r = self.client.get("/v1/model")
                if r.status_code == 200 and ok(r.json()):
                    return dict(r.json())
            except Exception:
                pass
            if self.proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError(f"the service did not get ready; see {self.log}")
            time.sleep(0.3)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.client.post(path, json=body)
        r.raise_for_status()
        return dict(r.json())

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


class Dags:
    """Nights through Airflow (--dags): a project-local Airflow under ROOT/airflow whose scheduler
    runs for the whole run, so the nightly's asset event starts ato_retrain as in production;
    ato_nightly itself is paused there (no catch-up) and run night by night with `airflow dags test`."""

    def __init__(self, root: Path) -> None:
        from ato.airflow_local import airflow, airflow_env, scheduler

        self.home = root / "airflow"
        self.home.mkdir(parents=True, exist_ok=True)
        # ato_retrain only on the asset (its weekly schedule moved to 29 February); DAGs paused at
        # creation, ato_retrain then unpaused, so the scheduler never catches up ato_nightly
        self.env = airflow_env(self.home, ATO_RETRAIN_CRON="0 0 29 2 *", ATO_DAG_RETRIES="0",
                               AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True")
        for args in (["db", "migrate"], ["dags", "reserialize"], ["dags", "unpause", "ato_retrain"]):
            airflow(self.env, *args)
        self._scheduler = scheduler(self.home, self.env)
        self._scheduler.__enter__()

    def close(self) -> None:
        self._scheduler.__exit__(None, None, None)

    def night(self, s: Any, day: date, champ: str | None, shadow: str | None) -> dict[str, Any]:
        """`airflow dags test ato_nightly D`, then the ato_retrain run its asset event queued."""
        from ato.airflow_local import dags_test, runs, wait_runs
        from ato.model import registry

        before, known = len(runs(self.home, "ato_retrain")), set(registry.versions(s))
        ok, log = dags_test(self.env, "ato_nightly", day.isoformat(), timeout=5400)
        (self.home / f"nightly-{day}.log").write_text(log)
        if not ok:
            raise RuntimeError(f"ato_nightly {day} failed: see {self.home / f'nightly-{day}.log'}")
        out: dict[str, Any] = {}
        # retrain_check's --json document: the line of the task's output that holds it
        lines = [ln for ln in log.splitlines() if f'"night": "{day}"' in ln and '"retrain": ' in ln and "{" in ln]
        docs = [json.JSONDecoder().raw_decode(ln[ln.index("{"):])[0] for ln in lines]
        checks = [d for d in docs if d.get("night") == day.isoformat() and "retrain" in d]
        out["check"] = checks[-1] if checks else {"reasons": [], "retrain": False, "unparsed": True}
        if shadow is not None and shadow != champ:
            out["promoted" if registry.champion(s) == shadow else "promotion_refused"] = {"version": shadow}
        if out["check"].get("retrain"):
            got = wait_runs(self.home, "ato_retrain", before + 1, timeout_s=5400)
            new = [v for v in registry.versions(s) if v not in known]
            latest = new[-1] if new else None
            out["retrained"] = {"airflow_run": got[-1], "version": latest,
                                "reason": (registry.metrics(s, latest) or {}).get("reason") if latest else None,
                                "shadow": registry.challenger(s) == latest, "promoted": registry.champion(s) == latest}
        return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, help="working folder (default: data/tactic-shift or data/tactic-stable)")
    ap.add_argument("--stable", action="store_true", help="the same world without the shift (the false-alarm check)")
    ap.add_argument("--first", type=int, default=37, help="first night, as a day index of the world (default 37)")
    ap.add_argument("--nights", type=int, default=14, help="nights to run (default 14)")
    ap.add_argument("--cooldown", type=int, default=3, help="monitor.retrain_cooldown_days for the run (default 3)")
    ap.add_argument("--refit", action="store_true", help="model.refit_on_val on (README \"Model\")")
    ap.add_argument("--accounts", type=int, help="override the scenario's accounts (smoke runs)")
    ap.add_argument("--port", type=int, default=8061)
    ap.add_argument("--dags", action="store_true", help="run each night through Airflow: `airflow dags test "
                    "ato_nightly D` (every task its own process), ato_retrain run by the scheduler on the asset event")
    a = ap.parse_args()
    root = (a.root or ROOT / ("data/tactic-stable" if a.stable else "data/tactic-shift")).resolve()
    os.environ.update(environment(root, a.cooldown, a.refit))

    from ato.model import registry
    from ato.model.data import NotEnoughData
    from ato.model.train_and_register import train_and_register
    from ato.monitoring.shadow import compare_live, promote, shadow_rows
    from ato.monitoring.trigger import check_retrain
    from ato.nightly import date_range, run_nightly
    from ato.online.replay.feed import replay_day
    from ato.settings import load_settings
    from ato.simulator.config import load_simulator_config
    from ato.simulator.run import simulate
    from ato.spark.session import get_spark

    cfg = load_simulator_config(ROOT / "conf/scenarios/tactic_shift.yaml",
                                **({"accounts": a.accounts} if a.accounts else {}))
    if a.stable:
        cfg = cfg.model_copy(update={"shift": cfg.shift.model_copy(update={"day": None})})
    start = cfg.start
    first, last = start + timedelta(days=a.first), start + timedelta(days=a.first + a.nights - 1)
    shift_day = None if cfg.shift.day is None else start + timedelta(days=cfg.shift.day)
    s = load_settings()
    t0 = time.perf_counter()
    if not (root / "all/world/login_truth.parquet").exists():
        shutil.rmtree(root, ignore_errors=True)
        print(f"simulating {cfg.accounts} accounts x {cfg.days} days (shift: {shift_day or 'none'}) ...", flush=True)
        simulate(cfg, root / "all/spool", root / "all/world")
    spark = get_spark(s, "ato-tactic-shift")
    nights_file = root / "nights.jsonl"
    done = {json.loads(x)["night"] for x in nights_file.read_text().splitlines()} if nights_file.exists() else set()
    if registry.champion(s) is None:
        arrive(root, None, first - timedelta(days=1))
        print(f"bootstrap: ingest and backfill {start} .. {first - timedelta(days=1)} ...", flush=True)
        run_nightly(s, date_range(start, first - timedelta(days=1)), BOOT_STEPS, spark_factory=lambda: spark)
        res = train_and_register(s, first - timedelta(days=1), promote=True, reason="bootstrap")
        print(f"bootstrap champion {res.version}: {res.verdict}  ({time.perf_counter() - t0:.0f} s)", flush=True)
    svc = Service(root, a.port)
    warm = not done
    dags = Dags(root) if a.dags else None
    try:
        for day in date_range(first, last):
            if day.isoformat() in done:
                continue
            n0 = time.perf_counter()
            row: dict[str, Any] = {"night": day.isoformat(), "shifted": shift_day is not None and day >= shift_day}
            arrive(root, day, day)
            run_nightly(s, [day], ("ingest",), spark_factory=lambda: spark)
            champ, shadow = registry.champion(s), registry.challenger(s)
            want = (champ, shadow if shadow != champ else None, (day - timedelta(days=1)).isoformat())
            svc.wait(lambda m, w=want: (m["model_version"], m["shadow_version"], m["snapshot_as_of"]) == w)
            r0 = time.perf_counter()
            replay_day(svc.post, s, day, lambda b: True, warm_up=warm)
            warm = False
            row["replay_s"] = round(time.perf_counter() - r0, 1)
            if dags is not None:
                row |= dags.night(s, day, champ, shadow)
            else:
                run_nightly(s, [day], NIGHT_STEPS, spark_factory=lambda: spark)
                if shadow is not None and shadow != champ:
                    row["live"] = compare_live(shadow_rows(s, shadow, champ), s)
                    try:
                        row["promoted"] = {"version": shadow, "why": promote(s, shadow).why}
                    except registry.PromotionRefused as e:
                        row["promotion_refused"] = str(e)
                check = check_retrain(s, day)
                row["check"] = check.as_dict()
                if check.retrain:
                    try:
                        res = train_and_register(s, day, promote=True, shadow=True, reason="; ".join(check.reasons))
                    except NotEnoughData as e:  # the retrain task would fail; the champion stays
                        row["retrain_failed"] = str(e)
                    else:
                        row["retrained"] = {"version": res.version,
                                            "promoted": bool(res.verdict and res.verdict.promote),
                                            "why": res.verdict.why if res.verdict else None,
                                            "shadow": registry.challenger(s) == res.version}
            row |= {"champion": champ, "shadow": shadow, **truth_numbers(s, root / "all/world", day),
                    **monitor_numbers(s, day, champ)}
            row["seconds"] = round(time.perf_counter() - n0, 1)
            with nights_file.open("a") as f:
                f.write(json.dumps(row, default=str) + "\n")
            print(line(row), flush=True)
    finally:
        svc.close()
        if dags is not None:
            dags.close()
    report = run_nightly(s, [last], ("report",)).report  # the monitoring time series, champion vs shadow
    summary(nights_file, shift_day, s)
    print(f"nightly report: {report}")
    print(f"\ntotal {time.perf_counter() - t0:.0f} s; nights: {nights_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
