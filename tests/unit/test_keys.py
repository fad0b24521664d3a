"""API keys: the named form of ATO_API_KEYS (`name:scopes=secret;...`), the plain comma list (every
scope, for compatibility), conf's named hashed keys; errors that name the entry but never a secret."""

from __future__ import annotations

import hashlib

import pytest

from ato.online.keys import ALL_SCOPES, KeyFormatError, KeyRing, parse_env_keys, secret_for
from ato.serving_conf import NamedKeyConf
from ato.settings import SettingsError, load_settings

pytestmark = pytest.mark.unit


def test_named_keys_with_scopes() -> None:
    ring = KeyRing.parse("backend:score,events=s3cr=t==;analyst:feedback=0ther; ops:*=root-key ;")
    assert [(k.name, sorted(k.scopes)) for k in ring.keys] == [
        ("backend", ["events", "score"]), ("analyst", ["feedback"]), ("ops", sorted(ALL_SCOPES))]
    backend = ring.match(b"s3cr=t==")  # '=' inside a secret is fine: the first '=' after the scopes splits
    assert backend is not None and backend.allows("score") and not backend.allows("feedback")
    assert ring.match(b"0ther") is not None and ring.match(b"root-key") is not None
    assert ring.match(b"backend:score,events=s3cr=t==") is None and ring.match(b"") is None


def test_a_plain_list_still_works_with_every_scope() -> None:
    keys = parse_env_keys(" k1, base64key== ,,")
    assert [(k.name, k.scopes) for k in keys] == [("key-1", ALL_SCOPES), ("key-2", ALL_SCOPES)]
    assert keys[1].digest == hashlib.sha256(b"base64key==").digest()
    assert parse_env_keys("") == [] and parse_env_keys("  ") == []


@pytest.mark.parametrize(("value", "problem"), [
    ("backend:score=s1;just-a-secret-42", "entry #2 is not name:scope"),
    ("backend:score,fly=s1", "entry #1 (backend): unknown scope(s) fly"),
    ("a:score=s1;a:events=s2", "duplicate API key name(s): a"),
])
def test_a_malformed_value_is_refused_without_showing_a_secret(value: str, problem: str) -> None:
    with pytest.raises(KeyFormatError) as e:
        KeyRing.parse(value)
    assert problem in str(e.value)
    assert not any(s in str(e.value) for s in ("s1", "s2", "just-a-secret-42"))


def test_named_hashed_keys_in_conf() -> None:
    h = hashlib.sha256(b"from-conf").hexdigest()
    base = load_settings(environ={})
    s = base.model_copy(update={"api": base.api.model_copy(update={
        "keys": [NamedKeyConf(name="analyst", scopes=["feedback"], sha256=h)]})})
    ring = KeyRing.from_settings(s, {"ATO_API_KEYS": "backend:score=b"})
    assert [(k.name, sorted(k.scopes)) for k in ring.keys] == [("backend", ["score"]), ("analyst", ["feedback"])]
    assert ring.match(b"from-conf") is not None
    with pytest.raises(SettingsError, match=r"api\.admin_port is not set"):
        load_settings(environ={"ATO_API__METRICS": "admin_port"})  # the admin port is not set


def test_a_client_picks_the_first_key_with_the_scopes_it_needs() -> None:
    value = "analyst:feedback=a1;backend:score,events=b1;ops:*=o1"
    assert secret_for(value, ("score", "events")) == "b1" and secret_for(value, ("admin",)) == "o1"
    assert secret_for("analyst:feedback=a1", ("score",)) is None
    assert secret_for("k1,k2", ("score",)) == "k1" and secret_for("", ("score",)) is None
