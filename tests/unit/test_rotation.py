"""Key rotation without a JVM: the two keys' ids, and what the nightly summary says of a rotation
night (the re-hashing itself: tests/spark/test_rotation.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ato.cli.summaries import print_nightly
from ato.nightly import NightlySummary
from ato.privacy import key_fingerprint
from ato.privacy.rotation import Rehash
from tests.conftest import TEST_KEY, make_settings

pytestmark = pytest.mark.unit
NEW = "a-new-key-after-the-rotation-32-bytes!"


def test_the_current_key_comes_first_and_each_has_its_id(tmp_path: Path) -> None:
    assert list(make_settings(tmp_path).hmac_keys()) == [key_fingerprint(TEST_KEY.encode())]
    both = make_settings(tmp_path, ATO_HMAC_KEY=NEW, ATO_HMAC_KEY_PREVIOUS=TEST_KEY).hmac_keys()
    assert list(both.items()) == [(key_fingerprint(NEW.encode()), NEW.encode()),
                                  (key_fingerprint(TEST_KEY.encode()), TEST_KEY.encode())]


def test_the_summary_names_the_rehashed_days_and_those_bronze_no_longer_held(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # one table row per line
    plan = Rehash({"logins": [date(2026, 8, 2), date(2026, 8, 3)], "payments": []}, {"logins": [date(2026, 8, 1)]})
    assert plan.all_days == {date(2026, 8, 2), date(2026, 8, 3)}
    s = NightlySummary(["2026-08-03"], ["aggregates"], rehash=plan.as_dict())
    assert s.rehash == {"rehashed": {"logins": ["2026-08-02", "2026-08-03"]}, "not_rehashed": {"logins": ["2026-08-01"]}}
    print_nightly(s, [])
    out = " ".join(capsys.readouterr().out.split())
    assert "key rotation, rehashed: logins 2026-08-02 .. 2026-08-03" in out
    assert "not_rehashed: logins 2026-08-01" in out
