"""Connection settings: flags, then environment, then the config file, then the default."""

from pathlib import Path

import pytest

from conveyor_client.config import (
    DEFAULT_URL,
    ClientConfig,
    ConfigError,
    config_path,
    parse_config_file,
    resolve_config,
)

FILE = Path("/home/u/.config/conveyor/config.toml")


def resolve(
    flag_url: str | None = None, flag_token: str | None = None, env: dict[str, str] | None = None, **file: str
) -> ClientConfig:
    return resolve_config(url=flag_url, token=flag_token, environ=env or {}, file_values=file, file=FILE)


def test_precedence() -> None:
    env = {"CONVEYOR_URL": "http://env", "CONVEYOR_TOKEN": "env-token"}
    assert (resolve(env=env, url="http://file").url, resolve(env=env).token) == ("http://env", "env-token")
    flagged = resolve("http://flag/", "flag-token", env, url="http://file", token="file-token")
    assert (flagged.url, flagged.token, flagged.url_source) == ("http://flag", "flag-token", "--url")
    from_file = resolve(url="http://file", token="file-token")
    assert (from_file.url, from_file.token, from_file.token_source) == ("http://file", "file-token", str(FILE))
    default = resolve()
    assert (default.url, default.token) == (DEFAULT_URL, None)


def test_an_empty_environment_variable_does_not_count() -> None:
    assert resolve(env={"CONVEYOR_URL": ""}, url="http://file").url == "http://file"


def test_a_url_without_scheme_is_refused_naming_its_source() -> None:
    with pytest.raises(ConfigError, match="CONVEYOR_URL"):
        resolve(env={"CONVEYOR_URL": "localhost:8080"})


def test_the_file_is_toml_with_string_values() -> None:
    assert parse_config_file('url = "http://x"\ntoken = "t"\nother = 1\n', FILE) == {"url": "http://x", "token": "t"}
    with pytest.raises(ConfigError, match="must be a string"):
        parse_config_file("url = 8080", FILE)
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_config_file("url = ", FILE)


def test_where_the_file_is() -> None:
    home = Path("/home/u")
    assert config_path({}, home) == FILE
    assert config_path({"XDG_CONFIG_HOME": "/xdg"}, home) == Path("/xdg/conveyor/config.toml")
    assert config_path({"CONVEYOR_CONFIG": "/etc/c.toml"}, home) == Path("/etc/c.toml")
