"""The worker's credentials file: only its user can read it; another API's credentials are not used."""

import stat
from pathlib import Path

import pytest

from conveyor_client.models import WorkerCredentials
from conveyor_worker.credentials import CredentialsError, load_credentials, save_credentials


def test_saved_credentials_are_private_and_bound_to_their_api(tmp_path: Path) -> None:
    path = tmp_path / "state" / "worker.json"
    creds = WorkerCredentials(id="W", secret="s3cret", name="n")
    save_credentials(path, "http://a:8080", creds)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_credentials(path, "http://a:8080/") == creds
    assert load_credentials(path, "http://b:8080") is None
    assert load_credentials(tmp_path / "missing.json", "http://a:8080") is None


def test_a_damaged_file_says_how_to_recover(tmp_path: Path) -> None:
    path = tmp_path / "worker.json"
    path.write_text("{")
    with pytest.raises(CredentialsError, match="delete it"):
        load_credentials(path, "http://a")
