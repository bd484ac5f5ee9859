"""Run tokens: the worker mints what the gateway checks; their shape and their scope."""

import pytest

from conveyor_gateway.bodies import JobSubmission
from conveyor_gateway.errors import ForbiddenError, TokenRequiredError
from conveyor_gateway.run_tokens import follow_up, is_run_token, parse_run_token, run_mac, run_project_refused
from conveyor_gateway.token_auth import Principal
from conveyor_gateway.worker_auth import hash_secret
from conveyor_worker.run_token import mint_run_token

WORKER = "0190c5a8-7b1e-7c3d-9a4b-1f2e3d4c5b6a"
LEASE = "0190c5a8-7b1e-7c3d-9a4b-1f2e3d4c5b6b"
JOB = "0190c5a8-7b1e-7c3d-9a4b-1f2e3d4c5b6c"


def test_the_workers_token_is_the_one_the_gateway_checks() -> None:
    token = mint_run_token(WORKER, "s3cret", LEASE)
    claim = parse_run_token(f"Bearer {token}")
    assert (claim.worker_id, claim.lease_id) == (WORKER, LEASE)
    assert claim.mac == run_mac(hash_secret("s3cret"), WORKER, LEASE)
    assert claim.mac != run_mac(hash_secret("other"), WORKER, LEASE)
    assert claim.mac != run_mac(hash_secret("s3cret"), WORKER, JOB)
    assert is_run_token(f"Bearer {token}") and not is_run_token("Bearer cvy_abc") and not is_run_token(None)


@pytest.mark.parametrize("token", ["cvr_", "cvr_x.y.z", f"cvr_{WORKER}.{LEASE}.abc", f"cvr_{WORKER}.{LEASE}"])
def test_a_malformed_run_token_is_refused_as_unknown(token: str) -> None:
    with pytest.raises(TokenRequiredError):
        parse_run_token(f"Bearer {token}")


def test_a_run_token_submits_only_children_of_its_job_into_its_project() -> None:
    run = Principal(user_id="u", name="u", is_admin=False, scopes=frozenset({"jobs:write"}), token_id="",
                    run_job_id=JOB, run_project="p")  # fmt: skip
    assert follow_up(run, JobSubmission(command="x"), "/parent").parent == JOB
    assert follow_up(run, JobSubmission(command="x"), "/parent").project == "p"  # none given: the job's
    assert follow_up(run, JobSubmission(command="x", project="q"), "/parent").project == "q"  # refused later
    assert follow_up(run, JobSubmission(command="x", parent=JOB), "/parent").parent == JOB
    with pytest.raises(ForbiddenError):
        follow_up(run, JobSubmission(command="x", parent=LEASE), "/parent")
    assert run_project_refused(run, ["p", "q"]) == "q" and run_project_refused(run, ["p"]) is None
    user = Principal(user_id="u", name="u", is_admin=False, scopes=frozenset(), token_id="")
    assert follow_up(user, JobSubmission(command="x"), "/parent").parent is None
