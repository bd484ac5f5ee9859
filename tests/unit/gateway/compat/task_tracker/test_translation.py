"""The task_tracker façade's pure translation: hashing, bodies, envelope, names and views."""

from datetime import UTC, datetime

import msgspec
import pytest

from conveyor_gateway.compat.task_tracker.auth import canonical_secret, parse_worker_id
from conveyor_gateway.compat.task_tracker.envelope import TtError, envelope
from conveyor_gateway.compat.task_tracker.managers import bits_of_roles, roles_of_bits
from conveyor_gateway.compat.task_tracker.projects import project_name, visibility_of
from conveyor_gateway.compat.task_tracker.siphash import siphash24, unique_string_hash
from conveyor_gateway.compat.task_tracker.tasks import dedupe_key, submission
from conveyor_gateway.compat.task_tracker.views import git_repo_of, project_view, recipe_text, status_of, task_view
from conveyor_gateway.compat.task_tracker.wire import BulkSubmit, LogLine, SubmitTask, decode
from conveyor_gateway.compat.task_tracker.workers import alias_name
from conveyor_gateway.core.bodies import JobView, RecipeView
from conveyor_gateway.core.numbered import NumberedProject
from conveyor_gateway.core.project_access import ProjectDoc

_KEY = bytes(range(16))
_K0, _K1 = int.from_bytes(_KEY[:8], "little"), int.from_bytes(_KEY[8:], "little")


def test_siphash_matches_the_reference_vectors() -> None:
    # The SipHash paper's test vectors (key 00..0f, message 00..len-1).
    assert siphash24(_K0, _K1, b"") == 0x726FDB47DD0E0E31
    assert siphash24(_K0, _K1, bytes(range(8))) == 0x93F5F5799A932462
    assert siphash24(_K0, _K1, bytes(range(15))) == 0xA129CA6149BE45E5


def test_unique_string_becomes_a_signed_64_bit_key() -> None:
    value = unique_string_hash("abc")
    assert -(2**63) <= value < 2**63
    assert value == unique_string_hash("abc") != unique_string_hash("abd")
    assert dedupe_key(SubmitTask(unique_string="abc")) == f"tt:{value}"
    assert dedupe_key(SubmitTask(hash_u64=42)) == dedupe_key(SubmitTask(hash64=42)) == "tt:42"
    assert dedupe_key(SubmitTask()) is None  # 0: no hash, as the server stored NULL


def test_bodies_decode_as_go_did() -> None:
    ask = decode(b'{"project": 1, "recipe": "r", "unique_str": "ignored", "level": 5}', SubmitTask)
    assert (ask.project, ask.recipe, ask.unique_string, ask.verification_count) == (1, "r", "", 0)
    for bad in (b"", b"{", b"[]", b'{"project": "1"}', b'{"project": 1e99}', b'{"hash_u64": 18446744073709551615}'):
        with pytest.raises(TtError) as caught:
            decode(bad, SubmitTask)
        assert (caught.value.status, caught.value.message) == (400, "Could not parse request")
    assert decode(b'{"requests": [{"project": 2, "recipe": "x"}]}', BulkSubmit).requests == [
        SubmitTask(project=2, recipe="x")
    ]


def test_log_lines_take_the_go_clients_key_too() -> None:
    assert decode(b'{"scope": "s", "Message": "from go", "timestamp": 1}', LogLine).text == "from go"
    assert decode(b'{"scope": "s", "message": "from python", "timestamp": 1}', LogLine).text == "from python"


def test_a_task_becomes_a_recipe_job() -> None:
    sub = submission(SubmitTask(project=1, recipe='{"a": 1}', max_retries=3, priority=30000, max_assign_time=0,
                                verification_count=0, hash_u64=9), "web")  # fmt: skip
    assert msgspec.json.decode(bytes(sub.recipe)) == '{"a": 1}'  # the string, byte for byte
    assert (sub.project, sub.max_retries, sub.priority, sub.lease_s, sub.verification) == ("web", 2, 1000, 3600, 1)
    assert sub.dedupe_key == "tt:9"
    assert submission(SubmitTask(recipe="x", max_assign_time=2, max_retries=0), "p").lease_s == 5


def test_envelope_leaves_empty_fields_out() -> None:
    assert envelope(True) == {"ok": True}
    assert envelope(False, message="No task available") == {"ok": False, "message": "No task available"}
    assert envelope(False, message="Too many requests", rate_limit_delay=0.5) == {
        "ok": False,
        "message": "Too many requests",
        "rate_limit_delay": 0.5,
    }
    assert envelope(True, content={"updated": False}) == {"ok": True, "content": {"updated": False}}


def test_names_and_headers() -> None:
    assert alias_name("some alias") == "some-alias"
    assert alias_name("") == alias_name("  ") == alias_name("../") == "default_alias"
    assert project_name("My project") == "My-project"
    assert visibility_of(True, False) == "public"
    assert visibility_of(False, True) == "hidden"
    assert visibility_of(False, False) == "private"
    assert parse_worker_id(" 12 ") == 12
    for bad in ("x", "0", "-1", str(2**63)):
        with pytest.raises(TtError):
            parse_worker_id(bad)
    secret = "ftZVO4w9Fc7bDuOISRaJL9P92ijkfvNah1Ldgc0a9f8="
    assert canonical_secret(secret) == canonical_secret(secret.rstrip("=")) == secret
    assert canonical_secret("%%%") == "%%%"


def _job(state: str, payload: object, attempts: int = 1) -> JobView:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    doc = {"id": "0190a0a0-0000-7000-8000-000000000001", "state": state, "project": "web", "owner": "o",
           "title": "", "note": "", "tags": [], "labels": [], "priority": 3, "payload": payload, "parent_id": None,
           "depends_on": [], "max_retries": 2, "attempts": attempts, "timeout_s": None, "lease_s": 60,
           "dedupe_key": None, "execute": True, "paused": False, "cancel_requested": False, "progress": None,
           "progress_pattern": None, "url": None, "verification": 2, "reason": "", "created_at": now,
           "updated_at": now, "version": 4}  # fmt: skip
    return msgspec.convert(doc, JobView)


def _project(seq: int, visibility: str) -> NumberedProject:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    doc = ProjectDoc(id="p", name="web", owner="o", priority=9, visibility=visibility, paused=False, motd="",
                     version="v", clone_url="", chain_target="", secret="s", webhook_secret="w", created_at=now,
                     updated_at=now, last_seq=1, assign_rate=2.0)  # fmt: skip
    return NumberedProject(doc=doc, seq=seq, chain_seq=0)


def test_views_speak_task_tracker() -> None:
    job = _job("assigned", {"kind": "recipe", "recipe": "text"}, attempts=2)
    view = task_view(job, 17, 3, _project(5, "hidden"))
    assert {k: view[k] for k in ("id", "assignee", "retries", "max_retries", "status", "recipe")} == {
        "id": 17, "assignee": 3, "retries": 1, "max_retries": 3, "status": 1, "recipe": "text",
    }  # fmt: skip
    assert view["project"]["hidden"] is True and view["project"]["public"] is False
    assert view["project"]["assign_rate"] == 2.0 and view["project"]["id"] == 5
    assert project_view(_project(1, "public"))["public"] is True
    assert recipe_text(_job("queued", {"kind": "recipe", "recipe": {"a": [1]}})) == '{"a": [1]}'
    assert status_of(_job("failed", None)) == 2 and status_of(_job("queued", None)) == 1
    assert isinstance(job.payload, RecipeView)


def test_roles_and_repositories() -> None:
    assert roles_of_bits(31) == ("read", "edit", "manage_access", "secret", "maintenance")
    assert roles_of_bits(1 | 8) == ("read", "secret")
    assert bits_of_roles(["read", "secret", "read"]) == 9
    assert git_repo_of("http://github.com/test/test") == "test/test"
    assert git_repo_of("https://git.example.com/group/sub/repo.git") == "sub/repo"
    assert git_repo_of("git@github.com:owner/name.git") == "owner/name"
    assert git_repo_of("") == git_repo_of("http://host/") == ""
