from pathlib import Path

import pytest

from ato.settings import CONF_DIR, SettingsError, load_settings

pytestmark = pytest.mark.unit


def test_defaults_from_conf_and_env_overrides() -> None:
    s = load_settings(environ={"ATO_LAKE_ROOT": "/x/lake", "ATO_SPARK__SHUFFLE_PARTITIONS": "3"})
    assert s.paths.lake_root == "/x/lake"
    assert s.spark.shuffle_partitions == 3
    assert s.table_path("bronze", "logins") == "/x/lake/bronze/logins"


def test_small_data_switches_reach_the_session_conf_and_default_to_sparks_own() -> None:
    from ato.spark.session import session_conf

    default = session_conf(load_settings(environ={}))
    assert default["spark.sql.adaptive.enabled"] == "true" and "spark.sql.codegen.wholeStage" not in default
    tiny = session_conf(load_settings(environ={"ATO_SPARK__CODEGEN": "false", "ATO_SPARK__ADAPTIVE": "false"}))
    assert tiny["spark.sql.adaptive.enabled"] == "false"
    assert tiny["spark.sql.codegen.wholeStage"] == "false" and tiny["spark.sql.codegen.factoryMode"] == "NO_CODEGEN"


def test_cluster_overlay_switches_paths_and_master() -> None:
    s = load_settings(environ={"ATO_ENV": "cluster", "ATO_HMAC_KEY": "c" * 32})
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


@pytest.mark.parametrize("env", ["production", "cluster"])
def test_only_local_and_test_settings_may_use_the_development_key(tmp_path: Path, env: str) -> None:
    from ato.settings import DEV_HMAC_KEY

    (tmp_path / "settings.yaml").write_text((CONF_DIR / "settings.yaml").read_text())
    (tmp_path / f"{env}.yaml").write_text(f"env: {env}\n")
    with pytest.raises(SettingsError, match=f"env {env} needs a real HMAC key"):
        load_settings(tmp_path, environ={"ATO_ENV": env})
    with pytest.raises(SettingsError, match=f"env {env} needs a real HMAC key"):
        load_settings(tmp_path, environ={"ATO_ENV": env, "ATO_HMAC_KEY": DEV_HMAC_KEY})
    with pytest.raises(SettingsError, match="has 6 bytes; at least 32"):
        load_settings(tmp_path, environ={"ATO_ENV": env, "ATO_HMAC_KEY": "s3cret"})
    key = "k" * 32
    assert load_settings(tmp_path, environ={"ATO_ENV": env, "ATO_HMAC_KEY": key}).hmac_key_bytes() == key.encode()
    with pytest.warns(UserWarning, match="development key"):  # local: allowed, and said
        assert load_settings(environ={}).hmac_key_bytes() == DEV_HMAC_KEY.encode()


def test_the_cluster_overlay_refuses_to_start_with_the_development_key() -> None:
    with pytest.raises(SettingsError, match="env cluster needs a real HMAC key"):
        load_settings(environ={"ATO_ENV": "cluster", "ATO_HMAC_KEY": ""})
