"""Pure access decisions: roles, project visibility, job read/write/submit, push-hook signatures."""

import hashlib
import hmac
from datetime import UTC, datetime

from conveyor_gateway.core.project_access import (
    ALL_ROLES,
    ProjectDoc,
    can_read_job,
    can_see_project,
    can_submit,
    can_write_job,
    effective_roles,
)
from conveyor_gateway.core.token_auth import Principal
from conveyor_gateway.native.hooks.push_hook import signature_matches, signature_of

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def user(user_id: str = "u", *, admin: bool = False, scopes: tuple[str, ...] = ("jobs:read",)) -> Principal:
    return Principal(user_id=user_id, name=user_id, is_admin=admin, scopes=frozenset(scopes), token_id="t")


def project(visibility: str = "private", owner: str = "o") -> ProjectDoc:
    return ProjectDoc(
        id="p", name="p", owner=owner, priority=0, visibility=visibility, paused=False, motd="", version="",
        clone_url="", chain_target="", secret="s", webhook_secret="w", created_at=NOW, updated_at=NOW, last_seq=1,
    )  # fmt: skip


def test_owners_and_admins_hold_every_role_others_what_they_were_granted() -> None:
    assert effective_roles(user("o"), project(), ()) == ALL_ROLES
    assert effective_roles(user(admin=True, scopes=("admin",)), project(), ()) == ALL_ROLES
    assert effective_roles(user(admin=True, scopes=("jobs:read",)), project(), ()) == frozenset()
    assert effective_roles(user(), project(), ("read", "bogus")) == frozenset({"read"})


def test_hidden_projects_exist_only_for_readers() -> None:
    assert can_see_project(project("private"), frozenset())
    assert can_see_project(project("public"), frozenset())
    assert not can_see_project(project("hidden"), frozenset({"edit"}))
    assert can_see_project(project("hidden"), frozenset({"read"}))


def test_job_reads() -> None:
    me = user("me")
    assert can_read_job(me, "me", None, frozenset())  # own job
    assert not can_read_job(me, "them", None, frozenset())  # unclaimed project, another owner
    assert not can_read_job(me, "them", project("private"), frozenset())
    assert can_read_job(me, "them", project("private"), frozenset({"read"}))
    assert can_read_job(me, "them", project("public"), frozenset())
    assert can_read_job(me, "them", None, frozenset(), read=("*",))
    assert can_read_job(me, "them", None, frozenset(), read=("me",))
    assert can_read_job(me, "them", None, frozenset(), write=("me",))


def test_job_writes_and_submissions() -> None:
    me = user("me")
    assert not can_write_job(me, "them", project("public"), frozenset({"read"}))
    assert can_write_job(me, "them", project(), frozenset({"edit"}))
    assert can_write_job(me, "them", None, frozenset(), write=("me",))
    assert can_submit(me, "default", None, frozenset())  # the one open name while no project claims it
    assert not can_submit(me, "nowhere", None, frozenset())  # any other unclaimed name: as a hidden one
    assert not can_submit(me, "secret", project("hidden"), frozenset())
    assert not can_submit(me, "default", project(), frozenset())  # once claimed, "default" is a project
    assert not can_submit(me, "p", project("public"), frozenset({"read"}))
    assert can_submit(me, "p", project(), frozenset({"edit"}))


def test_push_signatures_from_github_and_gogs() -> None:
    body = b'{"after":"abc1234"}'
    digest = hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert signature_of({"x-hub-signature-256": f"sha256={digest}"}) == ("github", digest)
    assert signature_of({"x-gogs-signature": digest.upper()}) == ("gogs", digest)
    assert signature_of({"x-hub-signature": "sha1=00"}) is None
    assert signature_matches(b"k", body, digest)
    assert not signature_matches(b"other", body, digest)
    assert not signature_matches(b"k", body + b" ", digest)
    assert not signature_matches(b"k", body, "zz\u00e9")
