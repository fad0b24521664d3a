from pathlib import Path

import pytest

from ato.settings import CONF_DIR, SettingsError, load_settings

pytestmark = pytest.mark.unit


def test_defaults_from_conf_and_env_overrides() -> None:
    s = load_settings(environ={"ATO_LAKE_ROOT": "/x/lake", "ATO_SPARK__SHUFFLE_PARTITIONS": "3"})
    assert s.paths.lake_root == "/x/lake"
    assert s.spark.shuffle_partitions == 3
    assert s.table_path("bronze", "logins") == "/x/lake/bronze/logins"


def test_cluster_overlay_switches_paths_and_master() -> None:
    s = load_settings(environ={"ATO_ENV": "cluster"})
    assert s.spark.master == "yarn"
    assert s.paths.lake_root.startswith("s3a://")


def test_wrong_value_names_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text("spark:\n  shuffle_partitions: zero\n")
    with pytest.raises(SettingsError) as e:
        load_settings(tmp_path, environ={})
    assert str(tmp_path / "settings.yaml") in str(e.value)
    assert "spark.shuffle_partitions" in str(e.value)


def test_unknown_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text("paths:\n  lake_rot: typo\n")
    with pytest.raises(SettingsError, match=r"paths\.lake_rot"):
        load_settings(tmp_path, environ={})


def test_env_value_error_names_environment() -> None:
    with pytest.raises(SettingsError, match=r"environment: ingest\.max_quarantine_fraction"):
        load_settings(environ={"ATO_INGEST__MAX_QUARANTINE_FRACTION": "2"})


def test_production_refuses_placeholder_key(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text((CONF_DIR / "settings.yaml").read_text())
    (tmp_path / "production.yaml").write_text("env: production\n")
    with pytest.raises(SettingsError, match="real HMAC key"):
        load_settings(tmp_path, environ={"ATO_ENV": "production"})
    ok = load_settings(tmp_path, environ={"ATO_ENV": "production", "ATO_HMAC_KEY": "s3cret"})
    assert ok.hmac_key_bytes() == b"s3cret"
