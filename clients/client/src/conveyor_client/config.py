"""Where the API is and which token to send: flags, then environment, then the config file.

Everything here but `load_config_file` is pure.
"""

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import ConveyorError

DEFAULT_URL = "http://127.0.0.1:8080"


class ConfigError(ConveyorError):
    """The config file cannot be read or holds a wrong value; the message names the file."""


@dataclass(frozen=True, kw_only=True)
class ClientConfig:
    """The resolved connection settings and where each came from (for error messages)."""

    url: str
    token: str | None
    url_source: str
    token_source: str | None


def config_path(environ: Mapping[str, str], home: Path) -> Path:
    """``$CONVEYOR_CONFIG``, else ``$XDG_CONFIG_HOME/conveyor/config.toml``, else ``~/.config/conveyor/config.toml``."""
    explicit = environ.get("CONVEYOR_CONFIG", "")
    if explicit:
        return Path(explicit).expanduser()
    base = environ.get("XDG_CONFIG_HOME", "") or str(home / ".config")
    return Path(base) / "conveyor" / "config.toml"


def parse_config_file(text: str, path: Path) -> dict[str, str]:
    """The ``url`` and ``token`` keys of a TOML config file (other keys are left for later)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    values: dict[str, str] = {}
    for key in ("url", "token"):
        if key in data:
            if not isinstance(data[key], str):
                raise ConfigError(f'{path}: `{key}` must be a string, e.g. {key} = "..."')
            values[key] = data[key]
    return values


def load_config_file(path: Path) -> dict[str, str]:
    """Read the config file; a missing file is an empty config."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc}") from exc
    return parse_config_file(text, path)


def resolve_config(
    *, url: str | None, token: str | None, environ: Mapping[str, str], file_values: Mapping[str, str], file: Path
) -> ClientConfig:
    """Pick each setting from the flag, else the environment, else the config file, else the default."""
    if url:
        picked_url, url_source = url, "--url"
    elif environ.get("CONVEYOR_URL"):
        picked_url, url_source = environ["CONVEYOR_URL"], "CONVEYOR_URL"
    elif file_values.get("url"):
        picked_url, url_source = file_values["url"], str(file)
    else:
        picked_url, url_source = DEFAULT_URL, "the default"
    picked_token: str | None
    if token:
        picked_token, token_source = token, "--token"
    elif environ.get("CONVEYOR_TOKEN"):
        picked_token, token_source = environ["CONVEYOR_TOKEN"], "CONVEYOR_TOKEN"
    elif file_values.get("token"):
        picked_token, token_source = file_values["token"], str(file)
    else:
        picked_token, token_source = None, None
    if not picked_url.startswith(("http://", "https://")):
        raise ConfigError(f"the API URL from {url_source} must start with http:// or https://, got {picked_url!r}")
    return ClientConfig(
        url=picked_url.rstrip("/"), token=picked_token, url_source=url_source, token_source=token_source
    )


def load_config(*, url: str | None = None, token: str | None = None) -> ClientConfig:
    """Resolve the settings of this process: flags given here, the environment, the config file."""
    path = config_path(os.environ, Path.home())
    return resolve_config(url=url, token=token, environ=os.environ, file_values=load_config_file(path), file=path)
