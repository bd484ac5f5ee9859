"""Settings from CONVEYOR_* variables."""

import pytest

from conveyor_runtime import BaseSettings, SettingsError, load_settings


class Example(BaseSettings, frozen=True, kw_only=True):
    batch_size: int = 500


def test_defaults_without_environment() -> None:
    settings = load_settings(Example, {})
    assert settings.batch_size == 500
    assert settings.bind == "127.0.0.1"
    assert settings.log_json is None


def test_values_are_converted_from_strings() -> None:
    env = {"CONVEYOR_BATCH_SIZE": "64", "CONVEYOR_LOG_JSON": "true", "CONVEYOR_HTTP_PORT": "9000", "OTHER": "x"}
    settings = load_settings(Example, env)
    assert (settings.batch_size, settings.log_json, settings.http_port) == (64, True, 9000)


def test_empty_values_mean_default() -> None:
    assert load_settings(Example, {"CONVEYOR_BATCH_SIZE": ""}).batch_size == 500


def test_bad_value_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="CONVEYOR_BATCH_SIZE"):
        load_settings(Example, {"CONVEYOR_BATCH_SIZE": "many"})
