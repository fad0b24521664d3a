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
