"""Managers (register, login, sessions, roles, promote), the permission matrix of the document's
"Projects" section, rate limits, pausing, and bad input answered in task_tracker's shape with
nothing stored — through the façade, against the real NATS and PostgreSQL."""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from conveyor_gateway.compat import task_tracker

from .drone import PREFIX, UA, Drone, make_worker, post, until
from .test_drone_flow import create_project, grant, jobs_of


@pytest.fixture
async def browsers(anonymous: httpx.AsyncClient) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Two more clients of the same gateway, each with a cookie jar of its own (managers' browsers)."""
    async with (
        httpx.AsyncClient(base_url=anonymous.base_url, timeout=10) as one,
        httpx.AsyncClient(base_url=anonymous.base_url, timeout=10) as two,
    ):
        yield one, two


async def call(http: httpx.AsyncClient, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    r = await (http.get(PREFIX + path) if body is None else post(http, path, body, UA))
    return r.status_code, (r.json() if r.content else {})


async def test_managers_sessions_and_the_permission_matrix(
    api: httpx.AsyncClient, anonymous: httpx.AsyncClient, browsers: tuple[httpx.AsyncClient, httpx.AsyncClient]
) -> None:
    alice, bob = browsers
    assert await call(alice, "/register", {"username": "al", "password": "longenough"}) == (
        400,
        {"ok": False, "message": "Invalid register request"},
    )
    status, body = await call(alice, "/register", {"username": "alice", "password": "correct horse"})
    assert status == 200 and body["content"]["manager"]["username"] == "alice"
    assert "tt" in alice.cookies
    # The session's token manages projects only: no native jobs for a self-registered manager.
    session = {"Authorization": f"Bearer {alice.cookies['tt']}"}
    assert (await alice.get("/v1/jobs", headers=session)).status_code == 403
    assert (await call(bob, "/register", {"username": "alice", "password": "whatever1"}))[0] == 400
    assert (await call(bob, "/login", {"username": "alice", "password": "wrong pass"}))[0] == 403
    assert (await call(bob, "/register", {"username": "bob", "password": "bobs password"}))[0] == 200
    status, body = await call(alice, "/account")
    assert body["content"]["logged_in"] is True and body["content"]["manager"]["tracker_admin"] is False
    alice_id, bob_id = body["content"]["manager"]["id"], (await call(bob, "/account"))[1]["content"]["manager"]["id"]

    # Only an admin creates public projects; hidden and public together is invalid.
    assert (await call(alice, "/project/create", {"name": "pub", "public": True}))[1]["ok"] is False
    assert (await call(alice, "/project/create", {"name": "x", "public": True, "hidden": True}))[1] == {
        "ok": False,
        "message": "Invalid project",
    }
    status, body = await call(alice, "/project/create", {"name": "hid", "hidden": True})
    hidden = body["content"]["id"]
    private = (await call(alice, "/project/create", {"name": "priv"}))[1]["content"]["id"]
    public = await create_project(api, name="pub", public=True)

    # R: everyone reads public and private projects; hidden ones only a manager with READ.
    assert (await call(bob, f"/project/get/{private}"))[0] == 200
    assert (await call(bob, f"/project/get/{hidden}"))[0] == 404
    assert hidden not in [p["id"] for p in (await call(bob, "/project/list"))[1]["content"]["projects"]]
    assert hidden in [p["id"] for p in (await call(alice, "/project/list"))[1]["content"]["projects"]]
    assert (await call(bob, f"/manager/set_role_for_project/{hidden}", {"manager": bob_id, "role": 1}))[0] == 404
    assert (await call(alice, f"/manager/set_role_for_project/{hidden}", {"manager": bob_id, "role": 1}))[1] == {
        "ok": True
    }
    assert (await call(bob, f"/project/get/{hidden}"))[1]["content"]["project"]["hidden"] is True
    roles = (await call(alice, f"/manager/list_for_project/{hidden}"))[1]["content"]["managers"]
    assert {(m["manager"]["id"], m["role"]) for m in roles} == {(alice_id, 31), (bob_id, 1)}
    assert (await call(bob, f"/project/secret/{hidden}"))[0] == 403  # READ is not SECRET

    # A and S for workers: public assigns to all, submits only with a grant; private and hidden
    # assign only with ASSIGN; hidden projects are never readable by a worker.
    w = await make_worker(anonymous, "w")
    submitter = await make_worker(anonymous, "s")
    for project in (public, private, hidden):
        await grant_by(alice if project != public else api, submitter, project)
        assert (await submitter.submit(project, f"task of {project}")).json() == {"ok": True}
    assert (await w.submit(public, "no grant")).json() == {"ok": False, "message": "unauthorized task submit"}
    assert (await w.fetch_task(public) or {}).get("recipe") == f"task of {public}"
    assert await w.fetch_task(private) is None and await w.fetch_task(hidden) is None
    asked = await w.post("/project/request_access", {"assign": True, "submit": False, "project": hidden})
    assert asked.json() == {"ok": True}
    access = (await call(alice, f"/project/access_list/{hidden}"))[1]["content"]["accesses"]
    assert [(a["worker"]["id"], a["request"], a["assign"]) for a in access if a["worker"]["id"] == w.id] == [
        (w.id, True, True)
    ]
    assert (await call(bob, f"/project/accept_request/{hidden}/{w.id}", {}))[0] == 403  # READ only
    assert (await call(alice, f"/project/accept_request/{hidden}/{w.id}", {}))[1] == {"ok": True}
    assert (await w.fetch_task(hidden) or {}).get("recipe") == f"task of {hidden}"
    assert (await w.get(f"/project/get/{hidden}")).status_code == 404

    # Promote and demote: GET as the server had them, but an admin's session only.
    assert (await call(alice, f"/manager/promote/{bob_id}"))[0] == 403
    cross = await api.get(f"{PREFIX}/manager/promote/{bob_id}", headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    assert (await api.get(f"{PREFIX}/manager/promote/{bob_id}")).json() == {"ok": True}
    assert (await call(bob, "/account"))[1]["content"]["manager"]["tracker_admin"] is True

    async def public_created() -> bool:  # once the gateway's token cache (2 s) sees the promotion
        return bool((await call(bob, "/project/create", {"name": "pub2", "public": True}))[1]["ok"])

    assert await until(public_created)
    assert (await api.get(f"{PREFIX}/manager/demote/{bob_id}")).json() == {"ok": True}

    # Logout ends the session everywhere (its token is revoked).
    old = dict(alice.cookies)
    assert (await alice.get(f"{PREFIX}/logout")).status_code == 204
    assert (await call(alice, "/account"))[1]["content"] == {"logged_in": False}
    async with httpx.AsyncClient(base_url=alice.base_url, cookies=old, timeout=10) as stolen:
        assert (await call(stolen, "/account"))[1]["content"] == {"logged_in": False}
    status, body = await call(alice, "/login", {"username": "alice", "password": "correct horse"})
    assert status == 200 and body["content"]["manager"]["id"] == alice_id


async def grant_by(manager: httpx.AsyncClient, drone: Drone, project: int) -> None:
    await grant(manager, drone, project, assign=True, submit=True)


async def test_bad_input_rate_limits_and_pausing(api: httpx.AsyncClient, anonymous: httpx.AsyncClient) -> None:
    limited = await create_project(api, name="slow", public=True, assign_rate=0.2)
    w = await make_worker(anonymous, "w")
    await grant(api, w, limited, assign=True, submit=True)

    # Malformed or invalid bodies, unknown ids and bad credentials: the seed's shape, nothing stored.
    for body in (b"{", b"[1]", b'{"project": "one"}', b""):
        r = await w.post("/task/submit", body)
        assert (r.status_code, r.json()) == (400, {"ok": False, "message": "Could not parse request"})
    assert (await w.submit(limited, "")).json() == {"ok": False, "message": "Invalid task"}
    assert (await w.submit(999_999, "x")).status_code == 404
    assert await jobs_of(api, "slow") == []
    stranger = Drone(anonymous, w.id, "d3Jvbmc=")
    assert (await stranger.get(f"/task/get/{limited}")).json() == {"ok": False, "message": "invalid secret"}
    assert (await stranger.get(f"/task/get/{limited}")).status_code == 403
    assert (await stranger.submit(limited, "x")).status_code == 401
    nobody = await anonymous.post(f"{PREFIX}/task/submit", content=b"{}")
    assert (nobody.status_code, nobody.json()["message"]) == (401, "worker id not specified")
    assert (await w.get("/task/get/abc")).json() == {"ok": False, "message": "Invalid project id"}
    assert (await w.get("/task/get/424242")).status_code == 404
    assert (await anonymous.get(f"{PREFIX}/worker/get/424242")).status_code == 404
    assert (await anonymous.get(f"{PREFIX}/no/such/path")).json() == {"ok": False, "message": "Not found"}
    assert await jobs_of(api, "slow") == []

    # curl -d sends the form content type: the body is JSON all the same.
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    form_body = json.dumps({"project": limited, "recipe": "one", "max_retries": 3})
    assert (await w.post("/task/submit", form_body.encode(), **form)).json() == {"ok": True}
    assert (await w.submit(limited, "two")).json() == {"ok": True}
    assert (await w.post("/worker/update", {"alias": "another alias"})).json() == {"ok": True}
    got = (await w.get(f"/worker/get/{w.id}")).json()["content"]["worker"]
    assert got == {"id": w.id, "created": got["created"], "alias": "another-alias", "paused": False}

    # The assignment rate: one token, then 429 with the delay until the next.
    assert await w.fetch_task(limited) is not None
    limited_answer = await w.get(f"/task/get/{limited}")
    assert limited_answer.status_code == 429
    assert limited_answer.json()["message"] == "Too many requests"
    assert 0 < limited_answer.json()["rate_limit_delay"] <= 5

    # A paused worker is told so; stats list it.
    paused = await api.post(f"{PREFIX}/worker/set_paused", content=json.dumps({"worker": w.id, "paused": True}))
    assert paused.json() == {"ok": True}
    r = await w.get(f"/task/get/{limited}")
    assert (r.status_code, r.json()) == (400, {"ok": False, "message": "A manager has paused you"})
    stats = (await anonymous.get(f"{PREFIX}/worker/stats")).json()["content"]["stats"]
    assert {"alias": "another-alias", "closed_task_count": 0, "paused": True, "id": w.id} in stats
    await every_path_answers_junk_in_the_envelope(anonymous)


async def every_path_answers_junk_in_the_envelope(anonymous: httpx.AsyncClient) -> None:
    """Every route, every method, junk bodies, ids and credentials: never a 5xx, always the envelope."""
    w = await make_worker(anonymous, "fuzz")
    bodies = [
        b"",
        b"{",
        b"[]",
        b"null",
        b'{"project": -1, "task_id": 99999999999999999999}',
        b'{"requests": [{}]}',
        b'{"username": "x", "password": 1}',
        b'{"worker": "1", "paused": "yes"}',
        "\u00e9\x00".encode(),
    ]
    headers = [
        {},
        {"X-Worker-Id": "abc", "X-Secret": "%%%"},
        {"X-Worker-Id": str(w.id), "X-Secret": "AAAA"},
        {"X-Worker-Id": str(w.id), "X-Secret": w.secret},
        {"Authorization": "Bearer cvy_nope"},
    ]
    ids = ["0", "-1", "abc", "99999999999999999999", "1"]
    calls = 0
    for route in task_tracker.app.routes:
        assert isinstance(route, Route)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            for i in (calls, calls + 1):  # two junk bodies per path, rotating bodies, ids and credentials
                calls += 1
                body = bodies[i % len(bodies)]
                value = ids[i % len(ids)]
                path = route.path.replace("{id}", value).replace("{wid}", ids[-1 - i % len(ids)])
                path = path.replace("{project}", value)
                data = body if method == "POST" else None
                r = await anonymous.request(method, PREFIX + path, content=data, headers=headers[i % len(headers)])
                assert r.status_code < 500, (method, path, body, r.text)
                if r.status_code != 204:
                    assert isinstance(r.json()["ok"], bool), (method, path, r.text)
