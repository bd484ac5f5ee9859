"""The coalition façade's pure translations: the worker's tuple literal, environment strings,
loads, priorities, states, and job bodies."""

import ast
from datetime import UTC, datetime

import msgspec
import pytest

from conveyor_gateway.compat.coalition.job_forms import Change, FormError, NewJob, change, submission
from conveyor_gateway.compat.coalition.words import (
    IDLE,
    env_string,
    job_tuple,
    parse_affinity,
    parse_env,
    parse_load,
    py_str,
    scheduler_priority,
    state_word,
)
from conveyor_gateway.core.bodies import CommandView, JobView

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def view(**fields: object) -> JobView:
    base: dict[str, object] = {
        "id": "0190a000-0000-7000-8000-000000000001", "state": "queued", "project": "default", "owner": "u",
        "title": "t", "note": "", "tags": [], "labels": [], "priority": 0, "payload": None, "parent_id": None,
        "depends_on": [], "max_retries": 0, "attempts": 0, "timeout_s": None, "lease_s": 60, "dedupe_key": None,
        "execute": True, "paused": False, "cancel_requested": False, "progress": None, "progress_pattern": None,
        "url": None, "verification": 1, "reason": "", "created_at": NOW, "updated_at": NOW, "version": 1,
    }  # fmt: skip
    return msgspec.convert({**base, **fields}, JobView)


@pytest.mark.parametrize("text", ["", "plain", "it's", "back\\slash", "a\nb\r\tc", "\x00\x1f\x7f", "é ü 日本"])
def test_py_str_evaluates_back_to_the_text(text: str) -> None:
    assert ast.literal_eval(py_str(text)) == text


def test_idle_answer_is_the_stock_worker_tuple() -> None:
    assert ast.literal_eval(IDLE) == (-1, "", "", "", None)


def test_job_tuple_carries_command_dir_user_and_env() -> None:
    payload = CommandView(command="render -f 'shot 1'", workdir="/farm", env={"A": "1", "B": "x=y"})
    job = view(payload=payload, tags=["coalition.user=render"])
    assert ast.literal_eval(job_tuple(42, job)) == (42, "render -f 'shot 1'", "/farm", "render", "A=1\\nB=x=y")


def test_environment_round_trips_through_the_literal_backslash_n() -> None:
    assert parse_env(env_string({"A": "1", "PATH": "/bin"})) == {"A": "1", "PATH": "/bin"}
    assert parse_env("A=1\nB=2\\nC=") == {"A": "1", "B": "2", "C": ""}
    with pytest.raises(ValueError):
        parse_env("novalue")


def test_loads_and_affinities_parse_as_the_worker_sends_them() -> None:
    assert parse_load("[12.0, 4.0]") == 8.0
    assert parse_load("(0.5, 0.25, 0.75)") == 0.5
    assert parse_load("-1") is None
    assert parse_affinity("linux, gpu,linux") == ["linux", "gpu"]
    assert parse_affinity("linux\ngpu\n") == ["linux", "gpu"]


def test_top_level_priority_dominates_the_jobs_own() -> None:
    low_top_high_own = scheduler_priority(10, 255, is_top=False)
    high_top_low_own = scheduler_priority(11, 0, is_top=False)
    assert high_top_low_own > low_top_high_own
    assert scheduler_priority(10, 200, is_top=False) > scheduler_priority(10, 0, is_top=False)
    assert scheduler_priority(0, 0, is_top=False) >= -1000 and scheduler_priority(255, 255, is_top=False) <= 1000


@pytest.mark.parametrize(
    ("state", "paused", "word"),
    [("queued", False, "WAITING"), ("blocked", False, "PENDING"), ("running", False, "WORKING"),
     ("assigned", False, "WORKING"), ("succeeded", False, "FINISHED"), ("timed_out", False, "ERROR"),
     ("pending", False, "PAUSED"), ("queued", True, "PAUSED"), ("succeeded", True, "FINISHED")],
)  # fmt: skip
def test_states_map_to_coalition_words(state: str, paused: bool, word: str) -> None:
    assert state_word(state, paused=paused) == word


def test_a_new_job_becomes_a_submission() -> None:
    new = NewJob(title="frame 1", command="echo", dir="/d", environment="A=1", affinity="linux", priority=300,
                 timeout=10, retry=2, user="bob", state="PAUSED", progress_pattern="#%one")  # fmt: skip
    sub = submission(new, project="default", parent=None, depends_on=[])
    assert (sub.command, sub.workdir, sub.env, sub.labels) == ("echo", "/d", {"A": "1"}, ["linux"])
    assert (sub.timeout_s, sub.max_retries, sub.execute, sub.progress_pattern) == (10, 2, False, "#%one")
    assert "coalition.user=bob" in sub.tags and "coalition.priority=255" in sub.tags
    group = submission(NewJob(title="shot", affinity="gpu"), project="default", parent=None, depends_on=[])
    assert group.group and group.command is None


def test_children_inherit_affinity_and_a_command_job_is_no_parent() -> None:
    parent = view(labels=["linux"], priority=scheduler_priority(50, 50, is_top=True))
    child = submission(NewJob(command="x", affinity="gpu", priority=0), project="p", parent=parent, depends_on=[])
    assert child.labels == ["linux", "gpu"]
    assert child.priority == scheduler_priority(50, 0, is_top=False)
    with pytest.raises(FormError, match="not a group"):
        submission(NewJob(command="x"), project="p", parent=view(payload=CommandView(command="y")), depends_on=[])
    with pytest.raises(FormError):
        submission(NewJob(command="x", affinity="no spaces allowed"), project="p", parent=None, depends_on=[])


def test_attribute_maps_become_edits_and_commands() -> None:
    job = view(payload=CommandView(command="old", workdir="/w"), tags=["coalition.priority=10"])
    got = change(job, {"title": "new", "command": "echo", "priority": 20, "state": "PAUSED"}, top=20, is_top=True)
    assert isinstance(got, Change) and got.edit is not None and got.command == "pause"
    assert (got.edit.title, got.edit.command, got.edit.workdir) == ("new", "echo", "/w")
    assert got.edit.tags is not None and "coalition.priority=20" in got.edit.tags
    assert change(view(state="pending"), {"paused": 0}, top=0, is_top=True).command == "start"
    with pytest.raises(FormError, match="parent"):
        change(job, {"parent": 3}, top=0, is_top=True)
    with pytest.raises(FormError):
        change(job, {"state": "FINISHED"}, top=0, is_top=True)
