"""A recipe handler's answer and the follow-up jobs made from it."""

import pytest

from conveyor_worker.recipe import RecipeOutcome, RecipeOutputError, follow_up_bodies, parse_outcome


def test_the_answer_is_read_from_stdout() -> None:
    outcome = parse_outcome(b'{"result":"succeeded","verification":"h1","log":["a"],"jobs":[{"command":"x"}]}\n', 0)
    assert outcome == RecipeOutcome(result="succeeded", verification="h1", log=["a"], jobs=[{"command": "x"}])


def test_the_exit_status_decides_when_no_result_is_given_and_a_failure_always_wins() -> None:
    assert parse_outcome(b"", 0).result == "succeeded"
    assert parse_outcome(b"  \n", 3).result == "failed"
    assert parse_outcome(b'{"result":"succeeded"}', 1).result == "failed"


@pytest.mark.parametrize("stdout", [b"not json", b"[1,2]", b'{"result":"maybe"}', b'{"jobs":{}}'])
def test_a_malformed_answer_is_an_error(stdout: bytes) -> None:
    with pytest.raises(RecipeOutputError):
        parse_outcome(stdout, 0)


def test_follow_ups_get_the_parent_its_project_and_a_stable_dedupe_key() -> None:
    outcome = RecipeOutcome(jobs=[{"command": "a"}, {"command": "b", "project": "other", "dedupe_key": "mine"}])
    assert follow_up_bodies(outcome, parent_id="P", project="proj") == [
        {"project": "proj", "command": "a", "parent": "P", "dedupe_key": "follow-up:P:0"},
        {"project": "other", "command": "b", "parent": "P", "dedupe_key": "mine"},
    ]
