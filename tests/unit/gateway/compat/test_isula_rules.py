"""isula's status words and its output path guard (pure)."""

import pytest

from conveyor_events.states import JOB_STATES, JobStateName
from conveyor_gateway.compat.isula.files import output_path
from conveyor_gateway.compat.isula.states import status_of
from conveyor_gateway.errors import InvalidArtifactPathError


def test_every_job_state_has_one_of_the_real_servers_words() -> None:
    words: dict[JobStateName, str] = {state: status_of(state) for state in JOB_STATES}
    assert set(words.values()) == {"new", "running", "finish", "failed"}
    assert words["queued"] == "new" and words["running"] == "running" and words["assigned"] == "running"
    assert words["succeeded"] == "finish"
    assert words["timed_out"] == words["cancelled"] == words["failed"] == "failed"


@pytest.mark.parametrize("path", ["output.txt", "data/file.txt", "a b/100%.txt", "é/ü.iso"])
def test_paths_inside_the_output_pass(path: str) -> None:
    assert output_path(path) == path


@pytest.mark.parametrize(
    "path",
    [
        "../x",
        "data/../../x",
        "/etc/passwd",
        "C:/windows",
        "..\\x",
        "%2e%2e/x",
        "..%2Fx",
        "%2e%2e%2fx",  # "%252e%252e%252fx" as sent, decoded once by the server: still encoded dots
        "a/%5c..",
        "a//b",
        "./x",
        "",
        "x\x00y",
    ],
)
def test_traversals_and_their_encoded_forms_are_refused(path: str) -> None:
    with pytest.raises(InvalidArtifactPathError):
        output_path(path)
