"""The shipped Prometheus alert rules: valid, tested by promtool (each alert fires in one case and
stays quiet in another), and reading only metrics the API exports."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.unit

RULES = Path(__file__).resolve().parents[2] / "conf" / "prometheus"


def _promtool() -> str:
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: `make setup` installs Debian's prometheus package"
    return tool


def test_promtool_checks_and_tests_the_rules() -> None:
    for args in (["check", "rules", "ato-alerts.yml"], ["test", "rules", "ato-alerts.test.yml"]):
        run = subprocess.run([_promtool(), *args], cwd=RULES, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr


def test_every_alert_has_a_firing_and_a_quiet_case() -> None:
    alerts = [r["alert"] for g in yaml.safe_load((RULES / "ato-alerts.yml").read_text())["groups"] for r in g["rules"]]
    cases = [t for test in yaml.safe_load((RULES / "ato-alerts.test.yml").read_text())["tests"]
             for t in test["alert_rule_test"]]
    for a in alerts:
        mine = [c for c in cases if c["alertname"] == a]
        assert any(c["exp_alerts"] for c in mine), f"{a}: no case fires it"
        assert any(not c["exp_alerts"] for c in mine), f"{a}: no case where it stays quiet"


def test_the_rules_read_only_metrics_the_api_exports() -> None:
    from serving.metrics import Metrics

    exported = {m.name for m in Metrics().registry.collect()}
    text = (RULES / "ato-alerts.yml").read_text()
    used = set(re.findall(r"\bato_[a-z_]+", text))
    # A histogram's series are <name>_bucket; a counter's <name>_total (collect() names drop _total).
    missing = {u for u in used if u not in exported and u.removesuffix("_bucket") not in exported
               and u.removesuffix("_total") not in exported}
    assert not missing, f"rules read metrics the API does not export: {sorted(missing)}"
