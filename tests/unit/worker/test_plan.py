"""Plans of leased jobs: environment layering, working directory, steps per payload kind."""

import json
from collections.abc import Sequence
from pathlib import Path

import msgspec
import pytest

from conveyor_client.models import CommandPayload, Job, Lease, ManifestPayload, ManifestTask, RecipePayload
from conveyor_worker.plan import Plan, PlanError, build_plan, complete_build_script, direct_argv


def lease(payload: CommandPayload | ManifestPayload | RecipePayload | None, **job: object) -> Lease:
    the_job = msgspec.structs.replace(Job(id="J1", state="assigned", project="p", payload=payload), **job)
    return Lease(lease_id="L1", attempt=2, lease_s=60, job=the_job)


def plan_of(the_lease: Lease, *, recipe_handler: Sequence[str] = (), tools_dir: Path | None = None) -> Plan:
    base = {"PATH": "/usr/bin", "HOME": "/home/w", "SHARED": "worker"}
    return build_plan(
        the_lease,
        base_env=base,
        api_url="http://api",
        worker_id="W1",
        job_dir=Path("/w/J1-2"),
        recipe_handler=recipe_handler,
        tools_dir=tools_dir,
    )


def test_a_command_gets_the_job_env_over_the_worker_env_and_conveyor_vars_last() -> None:
    payload = CommandPayload(command="make", env={"SHARED": "job", "CONVEYOR_JOB_ID": "spoofed"}, workdir="src")
    plan = plan_of(lease(payload, timeout_s=30))
    assert plan.steps[0].argv == ("make",)  # plain words: executed without a shell (issue 21)
    assert plan.steps[0].fallback == ("/bin/sh", "-c", "make")  # ... which runs it if that fails
    assert plan.workdir == Path("/w/J1-2/src")
    assert plan.timeout_s == 30
    env = plan.env
    assert (env["SHARED"], env["HOME"], env["CONVEYOR_JOB_ID"]) == ("job", "/home/w", "J1")
    assert (env["CONVEYOR_ATTEMPT"], env["CONVEYOR_LEASE_ID"], env["CONVEYOR_URL"]) == ("2", "L1", "http://api")
    assert (env["CONVEYOR_WORKER_ID"], env["CONVEYOR_WORKDIR"]) == ("W1", "/w/J1-2/src")


def test_an_absolute_workdir_is_kept() -> None:
    assert plan_of(lease(CommandPayload(command="ls", workdir="/srv"))).workdir == Path("/srv")


def test_a_manifest_runs_each_task_with_set_e_and_complete_build_on_the_path() -> None:
    payload = ManifestPayload(
        tasks=[ManifestTask(name="a", script="x"), ManifestTask(name="b", script="y")],
        environment={"K": "v"}, artifacts=["out/*"],
    )  # fmt: skip
    plan = plan_of(lease(payload), tools_dir=Path("/w/J1-2/.bin"))
    assert [(s.task, s.argv) for s in plan.steps] == [("a", ("/bin/sh", "-ec", "x")), ("b", ("/bin/sh", "-ec", "y"))]
    assert plan.artifacts == ("out/*",) and plan.task_names == ("a", "b")
    assert plan.env["K"] == "v" and plan.env["PATH"].startswith("/w/J1-2/.bin:")
    assert plan.env["CONVEYOR_COMPLETE_FILE"] == "/w/J1-2/.conveyor-complete"
    assert "CONVEYOR_COMPLETE_FILE" in complete_build_script()


def test_a_recipe_goes_to_the_handler_on_stdin_and_in_the_environment() -> None:
    plan = plan_of(lease(RecipePayload(recipe={"frames": [1, 2]})), recipe_handler=("render", "--fast"))
    [step] = plan.steps
    assert step.argv == ("render", "--fast")
    assert json.loads(step.stdin or b"") == json.loads(plan.env["CONVEYOR_RECIPE"]) == {"frames": [1, 2]}


def test_a_recipe_without_a_handler_or_a_job_without_payload_cannot_run() -> None:
    with pytest.raises(PlanError, match="recipe-handler"):
        plan_of(lease(RecipePayload(recipe={})))
    with pytest.raises(PlanError, match="no payload"):
        plan_of(lease(None))


def test_a_job_inherits_none_of_the_workers_configuration_or_database_credentials() -> None:
    worker_env = {
        "PATH": "/usr/bin", "CONVEYOR_TOKEN": "cvy_admin", "CONVEYOR_DATABASE_URL": "postgresql://postgres@db/c",
        "CONVEYOR_NATS_URL": "nats://n:4222", "CONVEYOR_WORKER_CREDENTIALS": "/w/creds.json",
        "DATABASE_URL": "postgresql://u:p@db/x", "PGPASSWORD": "p", "NATS_URL": "nats://n:4222",
    }  # fmt: skip
    for payload in (CommandPayload(command="env"), ManifestPayload(tasks=[ManifestTask(name="t", script="env")])):
        env = build_plan(
            lease(payload), base_env=worker_env, api_url="http://api", worker_id="W1", job_dir=Path("/j")
        ).env
        assert env["PATH"] == "/usr/bin"
        assert not {
            "CONVEYOR_TOKEN",
            "CONVEYOR_DATABASE_URL",
            "CONVEYOR_NATS_URL",
            "CONVEYOR_WORKER_CREDENTIALS",
        } & set(env)
        assert not {"DATABASE_URL", "PGPASSWORD", "NATS_URL"} & set(env)
    # what the submitter gave the job is the job's own
    mine = build_plan(lease(CommandPayload(command="env", env={"PGPASSWORD": "mine"})), base_env=worker_env,
                      api_url="http://api", worker_id="W1", job_dir=Path("/j")).env  # fmt: skip
    assert mine["PGPASSWORD"] == "mine"


@pytest.mark.parametrize(
    ("command", "argv"),
    [
        ("true", ("true",)),
        ("  make -j4 test\t", ("make", "-j4", "test")),
        ("./build.sh --out=dist/x,y@2 50%", ("./build.sh", "--out=dist/x,y@2", "50%")),
        ("echo $HOME", None),  # expansion
        ("ls *.py", None),  # globbing
        ("make && make install", None),
        ("a | b", None),
        ("a > out", None),
        ("echo 'quoted words'", None),
        ("a; b", None),
        ("a\nb", None),
        ("true # comment", None),
        ("~/bin/x", None),
        ("CC=clang make", None),  # an assignment first
        ("cd /tmp", None),  # builtins that act on the shell, or differ from the program of that name
        ("exit 3", None),
        ("echo -e x", None),
        ("", None),
    ],
)
def test_only_plain_words_run_without_a_shell(command: str, argv: tuple[str, ...] | None) -> None:
    assert direct_argv(command) == argv


def test_a_command_that_needs_its_shell_keeps_it() -> None:
    plan = plan_of(lease(CommandPayload(command="make > log 2>&1")))
    assert plan.steps[0].argv == ("/bin/sh", "-c", "make > log 2>&1")
    assert plan.steps[0].fallback is None
