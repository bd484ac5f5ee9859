"""The builds.sr.ht manifest, read and checked field by field (pure)."""

import pytest

from conveyor_events.states import JOB_STATES
from conveyor_gateway.compat.buildsrht.errors import BuildsError
from conveyor_gateway.compat.buildsrht.manifest import manifest_yaml, parse_manifest
from conveyor_gateway.compat.buildsrht.states import job_status, task_status
from conveyor_gateway.core.bodies import ManifestTaskView, ManifestView


def _fields(text: str, **kwargs: bool) -> list[str | None]:
    with pytest.raises(BuildsError) as caught:
        parse_manifest(text, **kwargs)
    assert caught.value.status == 400
    return [e.get("field") for e in caught.value.errors]


def test_a_manifest_becomes_tasks_environment_artifacts_labels_and_triggers() -> None:
    manifest = parse_manifest(
        "image: ubuntu/22.04\narch: x86_64\npackages: [gcc]\nenvironment:\n  A: 1\n  L: [x, y]\n  B: true\n"
        "artifacts: [out/a.tar.gz]\ntasks:\n  - build: make\n  - test_it: make check\n"
        "triggers:\n  - action: webhook\n    condition: failure\n    url: https://ci.example/hook\n"
    )
    assert [(t.name, t.script) for t in manifest.body.tasks] == [("build", "make"), ("test_it", "make check")]
    assert manifest.body.environment == {"A": "1", "L": "x y", "B": "true"}
    assert manifest.body.artifacts == ["out/a.tar.gz"] and manifest.body.image == "ubuntu/22.04"
    assert manifest.labels == ("image.ubuntu.22.04", "arch.x86_64")
    assert [(t.action, t.condition, t.url) for t in manifest.triggers] == [
        ("webhook", "failure", "https://ci.example/hook")
    ]


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("image: [unclosed", ["manifest"]),
        ("- a list", ["manifest"]),
        ("", ["manifest"]),
        ("image: a/b\ntasks:\n  - a: " + "x" * 16_384, ["manifest"]),
        ("tasks:\n  - a: b", ["image"]),
        ("image: a/b", ["tasks"]),
        ("image: a/b\ntasks:\n  - Build!: x", ["tasks[0]"]),
        ("image: a/b\ntasks:\n  - a: x\n  - a: y", ["tasks[1]"]),
        ("image: a/b\ntasks:\n  - a: x\n    b: y", ["tasks[0]"]),
        ("image: a/b\nsecrets: [x]\ntasks:\n  - a: x", ["secrets"]),
        ("image: a/b\nshell: true\ntasks:\n  - a: x", ["shell"]),
        ("image: a/b\nbogus: 1\ntasks:\n  - a: x", ["bogus"]),
        ("image: a/b\nartifacts: [x/a, y/a]\ntasks:\n  - a: x", ["artifacts"]),
        ("image: a/b\nenvironment:\n  1X: y\ntasks:\n  - a: x", ["environment"]),
        ("image: a/b\ntasks:\n  - a: x\ntriggers:\n  - {action: webhook, condition: sometimes, url: http://h}",
         ["triggers[0].condition"]),
        ("image: a/b\ntasks:\n  - a: x\ntriggers:\n  - {action: email, condition: always, to: a@b}",
         ["triggers[0].action"]),
        ("image: a/b\ntasks:\n  - a: x\ntriggers:\n  - {action: webhook, condition: always, url: ftp://h}",
         ["triggers[0].url"]),
    ],
)  # fmt: skip
def test_each_problem_names_its_field(text: str, fields: list[str]) -> None:
    assert _fields(text) == fields


def test_every_problem_is_listed_at_once() -> None:
    assert _fields("arch: 'x y'\ntasks:\n  - A: x\n") == ["image", "arch", "tasks[0]"]


def test_email_triggers_pass_when_an_smtp_server_is_configured() -> None:
    trigger_yaml = "  - {action: email, condition: failure, to: Dev <d@x.org>, cc: c@x.org}"
    text = f"image: a/b\ntasks:\n  - a: x\ntriggers:\n{trigger_yaml}"
    [trigger] = parse_manifest(text, email_enabled=True).triggers
    assert (trigger.action, trigger.condition, trigger.to, trigger.cc) == (
        "email",
        "failure",
        "Dev <d@x.org>",
        "c@x.org",
    )


def test_the_stored_manifest_reads_back_as_yaml() -> None:
    view = ManifestView(
        tasks=[ManifestTaskView(name="a", script="make\n")], environment={"K": "v"}, image="alpine/edge"
    )
    back = parse_manifest(manifest_yaml(view, ["image.alpine.edge", "arch.aarch64"]))
    assert back.body.image == "alpine/edge" and back.labels == ("image.alpine.edge", "arch.aarch64")
    assert [(t.name, t.script) for t in back.body.tasks] == [("a", "make\n")] and back.body.environment == {"K": "v"}


def test_states_map_to_sourcehut_words() -> None:
    assert {job_status(s) for s in JOB_STATES} == {"pending", "queued", "running", "success", "failed", "timeout",
                                                     "cancelled"}  # fmt: skip
    assert job_status("timed_out") == "timeout" and job_status("assigned") == "running"
    assert task_status("succeeded") == "success" and task_status("skipped", "failed") == "pending"
    assert task_status("skipped", "succeeded") == "skipped"  # complete-build


def test_sources_are_cloned_by_the_first_task_and_read_back() -> None:
    text = "image: a/b\nsources:\n  - https://git.sr.ht/~u/repo\n  - lib::https://x.org/l.git#v1\ntasks:\n  - a: make\n"
    manifest = parse_manifest(text)
    script = manifest.body.tasks[0].script
    assert "git clone -q --recursive -- 'https://git.sr.ht/~u/repo' repo" in script
    assert "git -C lib checkout -q v1" in script and script.endswith("make")
    view = ManifestView(tasks=[ManifestTaskView(name="a", script=script)], image="a/b")
    back = parse_manifest(manifest_yaml(view, ["image.a.b"]))
    assert back.body.tasks[0].script == script  # the sources come back as sources, not as script
    assert "sources:" in manifest_yaml(view, []) and "git clone" not in manifest_yaml(view, [])


def test_only_git_sources() -> None:
    assert _fields("image: a/b\nsources: [hg+https://x.org/r]\ntasks:\n  - a: x") == ["sources[0]"]
