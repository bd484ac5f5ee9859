"""Job bodies from `conveyor submit` flags and manifest files."""

from typing import Any

import pytest

from conveyor_cli.submission import SubmissionError, build_submission, command_text, manifest_job, parse_env

MANIFEST = """
image: alpine/latest
environment:
  DEPLOY: "no"
  N: 3
tasks:
  - setup: |
      ./configure
  - build: make
artifacts:
  - out/app
project: web
labels: [linux]
"""


def build(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "command": [], "manifest": None, "recipe": None, "artifacts": [], "env": {}, "workdir": None, "fields": {}
    }  # fmt: skip
    return build_submission(**(args | overrides))


def test_one_word_is_a_shell_line_several_are_quoted() -> None:
    assert command_text(["make && make install"]) == "make && make install"
    assert command_text(["echo", "a b", "$HOME"]) == "echo 'a b' '$HOME'"


def test_a_command_with_flags() -> None:
    body = build(command=["make"], env={"A": "1"}, workdir="src", fields={"project": "p", "tags": [], "priority": None})
    assert body == {"command": "make", "env": {"A": "1"}, "workdir": "src", "project": "p"}


def test_artifacts_make_a_command_a_one_task_manifest() -> None:
    body = build(command=["./build.sh"], artifacts=["out/*"], env={"A": "1"})
    assert body == {
        "manifest": {
            "tasks": [{"name": "main", "script": "./build.sh"}],
            "artifacts": ["out/*"],
            "environment": {"A": "1"},
        }
    }


def test_a_builds_sr_ht_manifest() -> None:
    body = manifest_job(MANIFEST, "m.yml")
    assert body == {
        "project": "web", "labels": ["linux"],
        "manifest": {
            "tasks": [{"name": "setup", "script": "./configure\n"}, {"name": "build", "script": "make"}],
            "environment": {"DEPLOY": "no", "N": "3"}, "artifacts": ["out/app"], "image": "alpine/latest",
        },
    }  # fmt: skip
    merged = build(manifest=body, env={"X": "y"}, artifacts=["log.txt"], fields={"project": "flag-wins"})
    assert merged["project"] == "flag-wins"
    assert merged["manifest"]["environment"] == {"DEPLOY": "no", "N": "3", "X": "y"}
    assert merged["manifest"]["artifacts"] == ["out/app", "log.txt"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tasks: []", "non-empty list"),
        ("- a", "a mapping"),
        ("tasks:\n  - a: x\n    b: y", r"tasks\[0\]"),
        ("tasks:\n  - a: x\nsources: [git]", "unsupported key"),
        ("tasks: [", "not valid YAML"),
    ],
)
def test_bad_manifests_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(SubmissionError, match=message):
        manifest_job(text, "m.yml")


def test_exactly_one_payload() -> None:
    with pytest.raises(SubmissionError, match="exactly one"):
        build()
    with pytest.raises(SubmissionError, match="--manifest and --recipe"):
        build(manifest={"manifest": {}}, recipe={"recipe": {}})


def test_env_pairs() -> None:
    assert parse_env(["A=1", "B=x=y", "C="]) == {"A": "1", "B": "x=y", "C": ""}
    with pytest.raises(SubmissionError, match="NAME=value"):
        parse_env(["nope"])
