"""The analyst rules: parsing, load-time validation, missing values, and frame == row scoring."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ato.features.columns import CATEGORICAL_FEATURES, FEATURES
from ato.model.actions import ACTIONS
from ato.model.rule_conditions import Condition, parse_condition
from ato.model.rules import Rule, RulesError, RuleSet, load_rules

pytestmark = pytest.mark.unit

SHIPPED = Path(__file__).resolve().parents[2] / "conf" / "rules.yaml"
MISSING = [None, float("nan"), np.nan, np.float32("nan"), pd.NA]


def _rule(name: str, when: list[str], action: str = "step_up_mfa", score: float = 0.5) -> Rule:
    return Rule(name, tuple(parse_condition(w) for w in when), action, score, f"reason of {name}")


def _write(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "rules.yaml"
    p.write_text(body)
    return p


ONE_RULE = """rules:
  - name: {name}
    when: {when}
    action: {action}
    score: {score}
    reason: "why"
"""


@pytest.mark.parametrize(("text", "feature", "op", "value", "yes", "no"), [
    ("ip_accounts_1h > 10", "ip_accounts_1h", ">", 10, [11, 10.5, "12"], [10, 3]),
    ("ip_accounts_1h>=10", "ip_accounts_1h", ">=", 10, [10, 11.0, np.int64(10)], [9.99]),
    ("ip_rep_score < 0.2", "ip_rep_score", "<", 0.2, [0.1, 0], [0.2, 1]),
    ("hour_deviation <= -1.5", "hour_deviation", "<=", -1.5, [-1.5, -3], [-1.4, 0]),
    ("new_device == 1", "new_device", "==", 1, [1, 1.0, True], [0, 2]),
    ("new_device != 1", "new_device", "!=", 1, [0, 0.5], [1, 1.0]),
    ("outcome == 'success'", "outcome", "==", "success", ["success", np.str_("success")], ["bad_password", 1]),
    ('outcome != "success"', "outcome", "!=", "success", ["locked", 3], ["success"]),
    ("ip_rep_category in ['tor', 'botnet']", "ip_rep_category", "in", ("tor", "botnet"), ["tor", "botnet"],
     ["hosting", "", 1]),
    ("ip_rep_category not   in ['tor']", "ip_rep_category", "not in", ("tor",), ["proxy", "hosting"], ["tor"]),
    ("ua_major in [1, 2.5]", "ua_major", "in", (1, 2.5), [1, 1.0, 2.5], [2, 3]),
    ("ua_major not in [1, 2]", "ua_major", "not in", (1, 2), [3, 0], [1, 2.0]),
    ("outcome in ('locked', \"bad_mfa\")", "outcome", "in", ("locked", "bad_mfa"), ["locked", "bad_mfa"], ["x"]),
])
def test_parses_every_operator(text: str, feature: str, op: str, value: object, yes: list[object],
                               no: list[object]) -> None:
    c = parse_condition(text)
    assert (c.feature, c.op, c.value) == (feature, op, value)
    assert all(c.holds(v) for v in yes), [v for v in yes if not c.holds(v)]
    assert not any(c.holds(v) for v in no), [v for v in no if c.holds(v)]
    assert parse_condition(str(c)) == c  # str() writes the condition back in the file's syntax


@pytest.mark.parametrize("text", ["ip_accounts_1h > 1", "ip_accounts_1h != 1", "outcome != 'x'",
                                  "outcome not in ['x']", "ua_major not in [1]", "new_ip <= 5"])
def test_missing_values_never_hold(text: str) -> None:
    c = parse_condition(text)
    assert not any(c.holds(v) for v in MISSING)


@pytest.mark.parametrize(("text", "problem"), [
    ("ip_acounts_1h >= 10", "unknown feature 'ip_acounts_1h' (did you mean 'ip_accounts_1h'?)"),
    ("ip_accounts_1h => 10", "unknown operator '=>'"),
    ("ip_accounts_1h = 10", "unknown operator '='"),
    ("outcome is 'success'", "unknown operator 'is'"),
    ("ip_accounts_1h >=", "cannot parse"),
    (">= 10", "cannot parse"),
    ("outcome == success", "cannot read the value 'success'"),
    ("ip_accounts_1h >= 10 and outcome == 'success'", "cannot read the value"),
    ("ip_rep_category in [tor, botnet]", "cannot read the value"),
    ("ip_rep_category in 'tor'", "needs a non-empty list"),
    ("ip_rep_category in []", "needs a non-empty list"),
    ("outcome > 'a'", "is categorical"),
    ("outcome == 1", "is categorical: the value must be a quoted string"),
    ("ip_accounts_1h >= '10'", "is numeric: the value must be a number"),
    ("new_device == True", "must be a number"),
    ("ua_major in [1, 'x']", "each a number"),
    ("ip_accounts_1h >= __import__('os')", "cannot read the value"),
])
def test_bad_conditions_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match="condition") as e:
        parse_condition(text)
    assert problem in str(e.value)


@pytest.mark.parametrize(("name", "when", "action", "score", "problem"), [
    ("r1", '["ip_acounts_1h >= 10"]', "temporary_lock", 0.9, "unknown feature 'ip_acounts_1h'"),
    ("r1", '["ip_accounts_1h ~ 10"]', "temporary_lock", 0.9, "unknown operator '~'"),
    ("r1", '["ip_accounts_1h >= ten"]', "temporary_lock", 0.9, "cannot read the value"),
    ("r1", '["ip_accounts_1h"]', "temporary_lock", 0.9, "cannot parse"),
    ("r1", '["ip_accounts_1h >= 10"]', "lock", 0.9, "unknown action 'lock'"),
    ("r1", '["ip_accounts_1h >= 10"]', "temporary_lock", 1.5, "score must be a number in [0, 1]"),
    ("r1", '["ip_accounts_1h >= 10"]', "temporary_lock", -0.1, "score must be a number in [0, 1]"),
    ("r1", '["ip_accounts_1h >= 10"]', "temporary_lock", "high", "score must be a number in [0, 1]"),
    ("r1", "[]", "temporary_lock", 0.9, "'when' is empty"),
    ("r1", '"ip_accounts_1h >= 10"', "temporary_lock", 0.9, "'when' must be a list"),
])
def test_load_errors_name_file_rule_and_problem(tmp_path: Path, name: str, when: str, action: str,
                                                 score: object, problem: str) -> None:
    path = _write(tmp_path, ONE_RULE.format(name=name, when=when, action=action, score=score))
    with pytest.raises(RulesError) as e:
        load_rules(path)
    msg = str(e.value)
    assert str(path) in msg and "rule 'r1'" in msg and problem in msg, msg


def test_duplicate_names_and_bad_layout_are_rejected(tmp_path: Path) -> None:
    rule = ONE_RULE.format(name="twice", when='["new_ip == 1"]', action="allow", score=0.1).removeprefix("rules:\n")
    with pytest.raises(RulesError, match=r"rules\.yaml: duplicate rule name\(s\): twice"):
        load_rules(_write(tmp_path, "rules:\n" + rule + rule))
    for body, problem in [("rules: []\n", "non-empty list"), ("rule:\n  - x\n", "top-level key 'rules:'"),
                          ("rules:\n  - just text\n", "rule #1: a rule must be a mapping"),
                          ("rules: [\n", "not valid YAML"),
                          ("rules:\n  - {name: a, when: ['new_ip == 1'], action: allow, score: 0.1}\n",
                           "rule 'a' (#1): missing key(s): reason"),
                          ("rules:\n  - {name: a, when: ['new_ip == 1'], action: allow, score: 0.1, reason: x, "
                           "reasons: y}\n", "unknown key(s): reasons")]:
        with pytest.raises(RulesError) as e:
            load_rules(_write(tmp_path, body))
        assert problem in str(e.value) and str(tmp_path) in str(e.value)


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(ValueError, match="unknown feature"):
        Condition("nope", ">", 1)
    with pytest.raises(ValueError, match="duplicate"):
        RuleSet((_rule("a", ["new_ip == 1"]), _rule("a", ["new_device == 1"])))


def test_shipped_rules_load_and_read_only_known_features() -> None:
    rs = load_rules(SHIPPED)
    assert 10 <= len(rs.rules) <= 14
    assert rs.features <= set(FEATURES)
    assert rs.source == SHIPPED
    assert {r.action for r in rs.rules} <= set(ACTIONS) - {"allow"}
    assert all(r.reason and 0 < r.score <= 1 for r in rs.rules)
    stuffed = rs.score_row({"ip_accounts_1h": 40, "outcome": "success"})
    assert stuffed.action == "temporary_lock" and stuffed.rules[0] == "stuffing_ip_success"
    assert rs.score_row({"ip_accounts_1h": 40, "outcome": "bad_password"}).action == "allow"


def test_max_score_most_severe_action_and_reasons_by_score() -> None:
    rs = RuleSet((
        _rule("review", ["new_device == 1"], "manual_review", 0.4),
        _rule("lock_low", ["new_ip == 1"], "temporary_lock", 0.3),
        _rule("mfa_high", ["outcome == 'success'"], "step_up_mfa", 0.8),
        _rule("never", ["new_country == 1"], "temporary_lock", 1.0),
    ))
    d = rs.score_row({"new_device": 1, "new_ip": 1.0, "outcome": "success", "new_country": 0})
    assert (d.score, d.action) == (0.8, "temporary_lock")
    assert d.rules == ["mfa_high", "review", "lock_low"]
    assert d.reasons == [f"reason of {n}" for n in d.rules]
    none = rs.score_row({})
    assert (none.score, none.action, none.reasons, none.rules) == (0.0, "allow", [], [])
    assert rs.features == {"new_device", "new_ip", "outcome", "new_country"}


def _random_frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    def with_missing(values: np.ndarray, missing: object) -> np.ndarray:
        out = values.astype(object)
        out[rng.random(n) < 0.15] = missing
        return out

    df = pd.DataFrame({
        "ip_accounts_1h": rng.integers(0, 20, n).astype(float),
        "ip_rep_score": rng.random(n).round(1),
        "new_device": with_missing(rng.integers(0, 2, n), None),  # object column: ints and None
        "ua_major": pd.array(rng.integers(0, 4, n), dtype="Int64"),
        "outcome": with_missing(rng.choice(["success", "bad_password", "locked"], n), None),
        "ip_rep_category": pd.Categorical(with_missing(rng.choice(["tor", "botnet", "hosting"], n), np.nan)),
        "ua_family": pd.array(with_missing(rng.choice(["script", "chrome"], n), pd.NA), dtype="string"),
    })
    df.loc[rng.random(n) < 0.15, ["ip_accounts_1h", "ip_rep_score"]] = np.nan
    df.loc[rng.random(n) < 0.1, "ua_major"] = pd.NA
    return df


def test_score_frame_equals_score_row_on_random_frames() -> None:
    rng = np.random.default_rng(7)
    rs = RuleSet((
        _rule("a", ["ip_accounts_1h >= 10", "outcome == 'success'"], "temporary_lock", 0.9),
        _rule("b", ["ip_rep_category in ['tor', 'botnet']", "new_device != 0"], "manual_review", 0.7),
        _rule("c", ["ip_rep_score > 0.5", "outcome != 'success'"], "step_up_mfa", 0.7),
        _rule("d", ["ip_rep_category not in ['tor']", "ua_major not in [1, 2]"], "step_up_mfa", 0.3),
        _rule("e", ["ua_family == 'script'", "ip_accounts_1h < 5"], "manual_review", 0.5),
        _rule("f", ["ua_major <= 1", "ip_rep_score != 0.5", "outcome in ['locked']"], "temporary_lock", 0.2),
        _rule("g", ["ip_accounts_1h > 100"], "temporary_lock", 1.0),  # never fires
    ))
    df = _random_frame(rng, 400)
    got = rs.score_frame(df)
    assert got.fired.shape == (400, 7) and np.asarray(got.fired.any(axis=0))[:6].all()
    records = df.to_dict("records")
    for i, row in enumerate(records):
        want = rs.score_row(row)
        assert got.score[i] == want.score and got.action[i] == want.action, (i, row)
        assert got.reasons(i) == want.reasons and [r.name for r in got.matched(i)] == want.rules
    # Rows given as sparse dicts (serving: missing keys) agree with the frame too.
    sparse = [{k: v for k, v in row.items() if not (v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)))}
              for row in records]
    assert [rs.score_row(r).score for r in sparse] == got.score.tolist()


def test_shipped_rules_frame_equals_row() -> None:
    rs = load_rules(SHIPPED)
    rng = np.random.default_rng(11)
    n = 300
    cols: dict[str, object] = {}
    for f in sorted(rs.features):
        if f in CATEGORICAL_FEATURES:
            pool = {"outcome": ["success", "bad_password"], "ip_rep_category": ["tor", "botnet", "hosting", "proxy"]}
            cols[f] = rng.choice(pool.get(f, ["script", "chrome"]), n).astype(object)
        else:
            cols[f] = rng.choice([0.0, 1.0, 0.5, 0.8, 3.0, 5.0, 10.0, 30.0, 60.0, 600.0, 2000.0, np.nan], n)
    df = pd.DataFrame(cols)
    got = rs.score_frame(df)
    assert got.fired.any()
    for i, row in enumerate(df.to_dict("records")):
        d = rs.score_row(row)
        assert (got.score[i], got.action[i], got.reasons(i)) == (d.score, d.action, d.reasons)


def test_frame_needs_the_rule_columns_unless_told_they_may_be_missing() -> None:
    rs = RuleSet((_rule("a", ["new_ip == 1"]), _rule("b", ["outcome == 'success'"], "manual_review", 0.6)))
    df = pd.DataFrame({"outcome": ["success", "locked"]})
    with pytest.raises(ValueError, match="new_ip"):
        rs.score_frame(df)
    got = rs.score_frame(df, missing_ok=True)
    assert got.score.tolist() == [0.6, 0.0] and got.action.tolist() == ["manual_review", "allow"]
    assert got.fired.tolist() == [[False, True], [False, False]]
    empty = rs.score_frame(df.iloc[:0], missing_ok=True)
    assert empty.score.shape == (0,) and empty.fired.shape == (0, 2)
