"""Serving refuses a pseudonymization key other than the one the published snapshot and the
champion were made with (its IP and device hashes would silently never match theirs), at start
and at reload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ato.online.decide.models import Models
from ato.online.key_check import KeyMismatch
from ato.privacy import key_fingerprint
from ato.settings import Settings
from tests.api.builders import api_settings, build_app, serve
from tests.builders import make_score_request

pytestmark = [pytest.mark.unit, pytest.mark.anyio]
OTHER_KEY = b"another-deployment-key-of-32-bytes!!"


def publish_manifest(s: Settings, as_of: str, key: bytes) -> None:
    """The pointer and manifest a publish leaves (the tables themselves do not matter here)."""
    root = Path(s.online.snapshot_dir)
    (root / "snapshots" / as_of).mkdir(parents=True, exist_ok=True)
    (root / "snapshots" / as_of / "manifest.json").write_text(json.dumps(
        {"as_of": as_of, "rows": {}, "files": {}, "key_fingerprint": key_fingerprint(key)}))
    (root / "CURRENT").write_text(json.dumps({"as_of": as_of, "path": f"snapshots/{as_of}"}))


def champion_bundle(s: Settings, key: bytes) -> None:
    folder = Path(s.paths.models) / "v1"
    folder.mkdir(parents=True)
    (folder / "bundle.json").write_text(json.dumps({"scorers": {}, "key_fingerprint": key_fingerprint(key)}))
    (Path(s.paths.models) / "champion").write_text(json.dumps({"version": "v1"}))


async def test_serving_refuses_to_start_with_another_key_than_the_snapshot(tmp_path: Path, models: Models) -> None:
    s = api_settings(tmp_path)
    publish_manifest(s, "2026-08-05", OTHER_KEY)
    with pytest.raises(KeyMismatch, match=r"is not the key snapshot 2026-08-05 \(key fingerprint [0-9a-f]{16}\) "
                                          r"was made with.*Start serving with the batch layer's key"):
        async with serve(build_app(s, models)):
            pass
    publish_manifest(s, "2026-08-05", s.hmac_key_bytes())  # the same key: starts and answers
    async with serve(build_app(s, models)) as c:
        assert (await c.post("/v1/score", json=make_score_request())).status_code == 200


async def test_serving_refuses_a_champion_made_under_another_key(tmp_path: Path, models: Models) -> None:
    s = api_settings(tmp_path)
    champion_bundle(s, OTHER_KEY)
    with pytest.raises(KeyMismatch, match="champion v1"):
        async with serve(build_app(s, models)):
            pass


async def test_a_snapshot_published_under_another_key_is_not_picked_up(tmp_path: Path, models: Models) -> None:
    s = api_settings(tmp_path)
    app = build_app(s, models)
    async with serve(app) as c:
        publish_manifest(s, "2026-08-06", OTHER_KEY)
        with pytest.raises(KeyMismatch):
            await app.state.rt.reload()
        assert (await c.post("/v1/score", json=make_score_request())).status_code == 200


async def test_during_a_rotation_serving_hashes_with_the_snapshots_key_then_switches(tmp_path: Path,
                                                                                     models: Models) -> None:
    """ATO_HMAC_KEY is the new key, ATO_HMAC_KEY_PREVIOUS the old one: while the published snapshot
    is the old key's, requests are hashed with the old key (they match the snapshot); the first
    snapshot made under the new key switches serving to it at the next reload. A snapshot made
    under neither is still refused."""
    from ato.privacy import pseudonymize
    from serving.app import create_app
    from tests.api.builders import API_KEY, tiny_store
    from tests.api.test_chain import audit

    new = b"the-new-deployment-key-of-32-bytes!!"
    s = api_settings(tmp_path, ATO_HMAC_KEY=new.decode(), ATO_HMAC_KEY_PREVIOUS=OTHER_KEY.decode())
    assert list(s.hmac_keys()) == [key_fingerprint(new), key_fingerprint(OTHER_KEY)]
    publish_manifest(s, "2026-08-05", OTHER_KEY)
    app = create_app(s, models=models, store=tiny_store(s), api_keys={API_KEY})
    chars = s.privacy.hash_hex_chars
    async with serve(app) as c:
        assert (await c.post("/v1/score", json=make_score_request(ip="20.0.1.7"))).status_code == 200
        publish_manifest(s, "2026-08-06", new)
        assert "key of snapshot 2026-08-06" in await app.state.rt.reload()
        assert (await c.post("/v1/score", json=make_score_request(ip="20.0.1.7"))).status_code == 200
        publish_manifest(s, "2026-08-07", b"a-third-key-nobody-here-holds-32-bytes")
        with pytest.raises(KeyMismatch, match="ATO_HMAC_KEY_PREVIOUS"):
            await app.state.rt.reload()
    before, after = (x["ip_hash"] for x in audit(s))
    assert before == pseudonymize(OTHER_KEY, "20.0.1.7", chars)
    assert after == pseudonymize(new, "20.0.1.7", chars)


def test_a_previous_key_is_held_to_the_same_rules(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ATO_HMAC_KEY_PREVIOUS"):
        api_settings(tmp_path, ATO_HMAC_KEY_PREVIOUS="short")
    with pytest.raises(ValueError, match="same key"):
        api_settings(tmp_path, ATO_HMAC_KEY=OTHER_KEY.decode(), ATO_HMAC_KEY_PREVIOUS=OTHER_KEY.decode())
