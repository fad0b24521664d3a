"""Key rotation (ato.privacy.rotation): silver rows carry the id of the key that hashed them; after
ATO_HMAC_KEY changes, the nightly finds the window's days hashed under the old key and rebuilds
them from bronze (the days bronze still holds), and their partials follow."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ato import deltars
from ato.privacy import key_fingerprint, pseudonymize
from ato.privacy.rotation import plan_rehash, stale_days
from ato.spark import gold, lake
from ato.spark.silver import build_silver
from tests.builders import bronze_frame, make_login, make_payment
from tests.conftest import TEST_KEY, make_settings

pytestmark = pytest.mark.spark
D1, D2, D3 = date(2026, 8, 1), date(2026, 8, 2), date(2026, 8, 3)
NEW = "a-new-key-after-the-rotation-32-bytes!"


def silver(s: Any, stream: str, cols: list[str]) -> list[dict[str, Any]]:
    return sorted(deltars.read(s, "silver", stream, cols).to_pylist(), key=lambda r: str(r))


def test_a_rotation_rehashes_the_windows_silver_days_bronze_still_holds(spark: Any, tmp_path: Path) -> None:
    old = make_settings(tmp_path)
    logins = [make_login(event_id=f"l{i}", event_time=f"{d.isoformat()}T10:00:00Z", ip="20.0.1.10", device_id="dev-1")
              for i, d in enumerate((D1, D2, D3))]
    pays = [make_payment(event_id="p1", event_time="2026-08-02T10:05:00Z")]
    for stream, rows in (("logins", logins), ("payments", pays)):
        lake.replace_where(bronze_frame(spark, stream, rows), old.table_path("bronze", stream), "true", ["event_date"])
        build_silver(spark, old, stream, [D1, D2, D3])
    assert stale_days(old, D1, D3) == {}, "nothing to re-hash under the key that made it all"
    assert {r["key_id"] for r in silver(old, "logins", ["key_id"])} == {key_fingerprint(TEST_KEY.encode())}

    new = make_settings(tmp_path, ATO_HMAC_KEY=NEW, ATO_HMAC_KEY_PREVIOUS=TEST_KEY, ATO_BATCH__REBUILD_PARTIALS_DAYS="1")
    assert stale_days(new, D1, D3) == {"logins": [D1, D2, D3], "payments": [D2]}
    assert stale_days(new, D2, D2) == {"logins": [D2], "payments": [D2]}, "only the asked window"
    deltars.delete(new, "bronze", "logins", "event_date = '2026-08-01'")  # retention took day 1's raw logins
    plan = plan_rehash(new, D1, D3)
    assert (plan.days, plan.missing) == ({"logins": [D2, D3], "payments": [D2]}, {"logins": [D1], "payments": []})

    done = gold.rehash_for(spark, new, [D3])
    assert done.all_days == {D2, D3}
    k_old, k_new, n = TEST_KEY.encode(), NEW.encode(), new.privacy.hash_hex_chars
    got = silver(new, "logins", ["event_date", "ip_hash", "device_hash", "key_id"])
    assert got == sorted([
        {"event_date": D1, "ip_hash": pseudonymize(k_old, "20.0.1.10", n), "device_hash": pseudonymize(k_old, "dev-1", n),
         "key_id": key_fingerprint(k_old)},  # bronze no longer holds it: left as it was, and reported
        *({"event_date": d, "ip_hash": pseudonymize(k_new, "20.0.1.10", n), "device_hash": pseudonymize(k_new, "dev-1", n),
           "key_id": key_fingerprint(k_new)} for d in (D2, D3))], key=lambda r: str(r))
    (p,) = silver(new, "payments", ["payee_hash", "key_id"])
    assert p == {"payee_hash": pseudonymize(k_new, "payee_1", n), "key_id": key_fingerprint(k_new)}
    assert stale_days(new, D2, D3) == {} and gold.rehash_for(spark, new, [D3]).all_days == set(), "done once"

    # the re-hashed days' partials are rebuilt even where they exist already
    assert gold.build_partials_for(spark, old, [D3]) == [D1, D2, D3]
    assert gold.build_partials_for(spark, new, [D3]) == [D3], "the latest day only, as any night"
    assert gold.build_partials_for(spark, new, [D3], also={D2, D3}) == [D2, D3]
    ips = {r["event_date"]: r["ip_hash"] for r in deltars.read(new, "gold", "ip_activity_daily", ["event_date", "ip_hash"])
           .to_pylist()}
    assert ips[D2] == ips[D3] == pseudonymize(k_new, "20.0.1.10", n)
