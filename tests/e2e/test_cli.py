"""The `conveyor` command against the real stack: human and --json output, errors with their fix."""

import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from .conftest import CliResult
from .test_worker_agent import StartWorker

Conveyor = Callable[..., Awaitable[CliResult]]
UNKNOWN_JOB = "0190c5a8-7b1e-7000-8000-000000000999"


@pytest.mark.usefixtures("log_collector")
async def test_a_shell_job_from_the_cli_runs_streams_and_keeps_its_artifact(
    api: httpx.AsyncClient, conveyor: Conveyor, start_worker: StartWorker
) -> None:
    await start_worker()
    lines = "".join(f"echo line {i}; " for i in range(200))
    script = f"{lines} head -c 300000 /dev/urandom > out.bin; sha256sum out.bin | cut -c1-64 > out.sha"
    ran = await conveyor("submit", "--follow", "--artifact", "out.*", "--title", "cli job", "--", "sh", "-c", script)
    assert ran.status == 0, ran.stderr
    numbered = "".join(f"line {i}\n" for i in range(200))
    artifacts = "conveyor worker: artifact out.bin (300000 bytes)\nconveyor worker: artifact out.sha (65 bytes)\n"
    # --artifact makes the command a one-task manifest: the job's log opens with the task's header.
    assert ran.stdout == "--- task 1/1: main\n" + numbered + artifacts
    assert "submitted; following it" in ran.stderr and "succeeded" in ran.stderr
    job_id = ran.stderr.split()[1]
    listed = {item["path"]: item for item in (await api.get(f"/v1/jobs/{job_id}/artifacts")).json()["items"]}
    assert set(listed) == {"out.bin", "out.sha"}
    blob = (await api.get(f"/v1/jobs/{job_id}/artifacts/out.bin")).content
    digest = (await api.get(f"/v1/jobs/{job_id}/artifacts/out.sha")).text.strip()
    assert len(blob) == 300000 and hashlib.sha256(blob).hexdigest() == digest == listed["out.bin"]["sha256"]
    log = await conveyor("logs", job_id)
    assert (log.status, log.stdout) == (0, ran.stdout)


@pytest.mark.usefixtures("log_collector")
async def test_submit_follow_json_prints_the_final_job_and_fails_with_the_job(
    conveyor: Conveyor, start_worker: StartWorker
) -> None:
    await start_worker()
    ran = await conveyor("submit", "--follow", "--json", "--max-retries", "0", "echo oops >&2; exit 4")
    assert ran.status == 1
    final = ran.json()
    assert (final["state"], final["exit_code"]) == ("failed", 4)
    assert "oops" in ran.stderr  # with --json the log goes to stderr, the document to stdout


async def test_jobs_commands_print_tables_and_json(api: httpx.AsyncClient, conveyor: Conveyor) -> None:
    submitted = await conveyor("submit", "--json", "--project", "cli", "--tag", "nightly", "--", "make", "-j4")
    assert submitted.status == 0, submitted.stderr
    job = submitted.json()
    assert (job["project"], job["tags"], job["payload"]["command"]) == ("cli", ["nightly"], "make -j4")
    human = await conveyor("submit", "--project", "cli", "--title", "second", "true")
    assert human.status == 0 and "submitted" in human.stdout and "second" in human.stdout

    table = await conveyor("jobs", "ls", "--project", "cli")
    assert table.status == 0
    assert "STATE" in table.stdout and job["id"] in table.stdout and "make -j4" in table.stdout
    assert "\x1b[" not in table.stdout  # no colours when not a terminal
    listed = (await conveyor("jobs", "ls", "--project", "cli", "--json")).json()
    assert [item["title"] for item in listed["items"]] == ["second", ""]

    shown = await conveyor("jobs", "show", job["id"])
    assert "state" in shown.stdout and "queued" in shown.stdout and "cli" in shown.stdout
    assert (await conveyor("jobs", "show", job["id"], "--json")).json()["id"] == job["id"]
    explained = await conveyor("jobs", "explain", job["id"])
    assert "no_matching_worker" in explained.stdout or "ready" in explained.stdout
    assert (await conveyor("jobs", "explain", job["id"], "--json")).json()["job_id"] == job["id"]

    paused = await conveyor("jobs", "pause", job["id"], "--json")
    assert paused.json()["paused"] is True
    assert "resume requested" in (await conveyor("jobs", "resume", job["id"])).stdout
    cancelled = await conveyor("jobs", "cancel", job["id"], "--reason", "not today")
    assert cancelled.status == 0 and "cancelled" in cancelled.stdout
    again = await conveyor("jobs", "cancel", job["id"])
    assert again.status == 1 and "409" in again.stderr
    restarted = await conveyor("jobs", "restart", job["id"], "--json")
    assert restarted.json()["state"] in ("queued", "submitted")


async def test_workers_commands_print_tables_and_json(conveyor: Conveyor, start_worker: StartWorker) -> None:
    worker = await start_worker("--label", "linux", "--capacity", "3", name="builder-7")
    wid = await worker.registered()
    table = await conveyor("workers", "ls")
    assert table.status == 0 and "builder-7" in table.stdout and "0/3" in table.stdout and "linux" in table.stdout
    assert [w["name"] for w in (await conveyor("workers", "ls", "--json")).json()["items"]] == ["builder-7"]
    shown = await conveyor("workers", "show", wid)
    assert "capacity" in shown.stdout and "builder-7" in shown.stdout
    assert (await conveyor("workers", "drain", wid, "--json")).json()["mode"] == "draining"
    assert "paused" in (await conveyor("workers", "pause", wid)).stdout
    assert (await conveyor("workers", "resume", wid, "--json")).json()["mode"] == "active"


async def test_errors_say_how_to_fix_them(conveyor: Conveyor, api: httpx.AsyncClient, tmp_path: Path) -> None:
    unknown = await conveyor("jobs", "show", UNKNOWN_JOB)
    assert unknown.status == 1
    assert "404" in unknown.stderr and "conveyor jobs ls" in unknown.stderr
    nowhere = await conveyor("jobs", "ls", "--url", "http://127.0.0.1:9")
    assert nowhere.status == 1 and "cannot reach the Conveyor API at http://127.0.0.1:9" in nowhere.stderr
    assert "CONVEYOR_URL" in nowhere.stderr
    invalid = await conveyor("submit", "--priority", "5000", "true")
    assert invalid.status == 1 and "/priority" in invalid.stderr
    recipe = tmp_path / "recipe.json"
    recipe.write_text('{"frames": [1, 2]}')
    both = await conveyor("submit", "--recipe", str(recipe), "true")
    assert both.status == 2 and "exactly one" in both.stderr


async def test_configuration_flags_beat_environment_beat_the_file(
    conveyor: Conveyor, api: httpx.AsyncClient, api_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'url = "{api_url}"\n')
    env = {"CONVEYOR_URL": "", "CONVEYOR_CONFIG": str(config)}
    assert (await conveyor("jobs", "ls", "--json", env=env)).status == 0  # from the file
    env["CONVEYOR_URL"] = "http://127.0.0.1:9"  # the environment beats the file
    assert (await conveyor("jobs", "ls", env=env)).status == 1
    assert (await conveyor("jobs", "ls", "--url", api_url, env=env)).status == 0  # the flag beats both


async def test_help_is_complete(conveyor: Conveyor) -> None:
    top = await conveyor("--help")
    for command in ("submit", "jobs", "logs", "workers", "projects", "hooks", "tokens", "worker", "dev"):
        assert command in top.stdout
    for words in (("submit",), ("jobs", "ls"), ("jobs", "cancel"), ("logs",), ("workers", "drain"), ("worker",)):
        shown = await conveyor(*words, "--help")
        assert shown.status == 0 and "--url" in shown.stdout, words


@pytest.mark.usefixtures("log_collector")
async def test_a_manifest_file_submitted_and_shown_task_by_task(
    conveyor: Conveyor, start_worker: StartWorker, tmp_path: Path
) -> None:
    await start_worker()
    manifest = tmp_path / "build.yml"
    manifest.write_text(
        "environment:\n  WHO: world\ntasks:\n  - greet: echo hello $WHO\n  - build: |\n      echo building\n"
        "      complete-build\n  - deploy: echo deploying\n"
    )
    ran = await conveyor("submit", "--manifest", str(manifest), "--follow", "--json")
    assert ran.status == 0, ran.stderr
    job = ran.json()
    assert [(t["name"], t["state"]) for t in job["tasks"]] == [
        ("greet", "succeeded"), ("build", "succeeded"), ("deploy", "skipped")
    ]  # fmt: skip
    assert "hello world\n" in ran.stderr and "deploying" not in ran.stderr
    shown = await conveyor("jobs", "show", job["id"])
    assert "task greet" in shown.stdout and "task deploy" in shown.stdout and "skipped" in shown.stdout
    only_build = await conveyor("logs", job["id"], "--task", "build")
    assert only_build.stdout == "building\n"
