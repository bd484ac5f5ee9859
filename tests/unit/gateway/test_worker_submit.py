"""The pure parts of workers submitting jobs: who the job belongs to, which projects refuse."""

from conveyor_gateway.core.worker_submit import refused_projects, worker_principal

WORKER = "0190c5a8-7b1e-7c3d-9a4b-1f2e3d4c5b6a"


def test_a_worker_submits_as_worker_owner_and_holds_no_user_rights() -> None:
    principal = worker_principal(WORKER)
    assert principal.user_id == f"worker:{WORKER}" and principal.worker_id == WORKER
    assert principal.has_scope("jobs:write")
    assert not principal.has_scope("admin") and not principal.has_scope("jobs:read")


def test_every_project_without_a_grant_is_refused_once_in_order() -> None:
    assert refused_projects(["b", "a", "b", "c"], {"a"}) == ["b", "c"]
    assert refused_projects(["a", "a"], ["a"]) == []
    assert refused_projects([], []) == []
