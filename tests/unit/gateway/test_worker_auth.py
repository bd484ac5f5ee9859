"""Worker credentials: Basic header parsing, secret comparison, and the authenticator's cache."""

import base64
import hashlib
import hmac

import pytest

from conveyor_gateway.core.worker_auth import (
    Credentials,
    StoredSecret,
    WorkerAuthenticator,
    hash_secret,
    parse_basic,
    secret_matches,
)
from conveyor_gateway.errors import UnauthenticatedError

WORKER_ID = "0190c5a8-7b1e-7c3d-9a4b-1f2e3d4c5b6a"
SECRET = "s3cret-token_value"


def basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


def stored(secret: str = SECRET, *, is_deleted: bool = False) -> StoredSecret:
    return StoredSecret(secret_hash=hash_secret(secret), is_deleted=is_deleted)


class FakeSecrets:
    """An in-memory SecretSource that counts lookups."""

    def __init__(self, secrets: dict[str, StoredSecret]) -> None:
        self.secrets = secrets
        self.lookups = 0

    async def secret_of(self, worker_id: str) -> StoredSecret | None:
        self.lookups += 1
        return self.secrets.get(worker_id)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_hash_is_sha256_hex() -> None:
    assert hash_secret(SECRET) == hashlib.sha256(SECRET.encode()).hexdigest()


def test_good_header_parses() -> None:
    creds = parse_basic(basic(f"{WORKER_ID}:{SECRET}"))
    assert (creds.worker_id, creds.secret) == (WORKER_ID, SECRET)


def test_scheme_is_case_insensitive_and_id_canonical() -> None:
    creds = parse_basic("basic " + base64.b64encode(f"{WORKER_ID.upper()}:{SECRET}".encode()).decode())
    assert creds.worker_id == WORKER_ID


def test_secret_may_contain_colons() -> None:
    assert parse_basic(basic(f"{WORKER_ID}:a:b")).secret == "a:b"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Basic",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),  # not UTF-8
        basic(f"{WORKER_ID}{SECRET}"),  # missing colon
        basic(f"{WORKER_ID}:"),  # empty secret
        basic(f"worker-1:{SECRET}"),  # user is not a worker id
        "Bearer " + base64.b64encode(f"{WORKER_ID}:{SECRET}".encode()).decode(),  # wrong scheme
        "Basic " + "A" * 2000,
    ],
)
def test_bad_headers_are_refused(header: str | None) -> None:
    with pytest.raises(UnauthenticatedError) as info:
        parse_basic(header)
    assert SECRET not in info.value.detail
    assert info.value.headers == (("WWW-Authenticate", 'Basic realm="conveyor-workers"'),)


def test_secret_never_in_repr() -> None:
    assert SECRET not in repr(Credentials(worker_id=WORKER_ID, secret=SECRET))


def test_right_secret_matches() -> None:
    assert secret_matches(SECRET, stored())


def test_wrong_secret_does_not_match() -> None:
    assert not secret_matches("guess", stored())


def test_deleted_worker_does_not_match() -> None:
    assert not secret_matches(SECRET, stored(is_deleted=True))


def test_unknown_worker_does_not_match_and_still_compares(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown worker costs one hash and one constant-time compare, like a wrong secret."""
    compared: list[tuple[bytes, bytes]] = []

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return False

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert not secret_matches(SECRET, None)
    assert not secret_matches("guess", stored())
    assert len(compared) == 2
    assert [len(b) for _, b in compared] == [64, 64]  # same work either way


async def test_authenticate_returns_worker_id() -> None:
    auth = WorkerAuthenticator(FakeSecrets({WORKER_ID: stored()}))
    assert await auth.authenticate(basic(f"{WORKER_ID}:{SECRET}")) == WORKER_ID


@pytest.mark.parametrize(
    ("secrets", "secret"),
    [({WORKER_ID: stored()}, "wrong"), ({}, SECRET), ({WORKER_ID: stored(is_deleted=True)}, SECRET)],
    ids=["wrong-secret", "unknown-worker", "deleted-worker"],
)
async def test_authenticate_refuses_with_one_message(secrets: dict[str, StoredSecret], secret: str) -> None:
    auth = WorkerAuthenticator(FakeSecrets(secrets))
    with pytest.raises(UnauthenticatedError) as info:
        await auth.authenticate(basic(f"{WORKER_ID}:{secret}"))
    assert info.value.detail == "wrong worker id or secret"


async def test_hits_are_cached_until_the_ttl() -> None:
    source, clock = FakeSecrets({WORKER_ID: stored()}), Clock()
    auth = WorkerAuthenticator(source, ttl_s=5.0, clock=clock)
    header = basic(f"{WORKER_ID}:{SECRET}")
    await auth.authenticate(header)
    await auth.authenticate(header)
    assert source.lookups == 1
    source.secrets[WORKER_ID] = stored(is_deleted=True)
    clock.now += 5.1
    with pytest.raises(UnauthenticatedError):
        await auth.authenticate(header)
    assert source.lookups == 2


async def test_forget_drops_the_cached_entry_and_the_accepted_header() -> None:
    source = FakeSecrets({WORKER_ID: stored()})
    auth = WorkerAuthenticator(source, ttl_s=60.0, clock=Clock())
    header = basic(f"{WORKER_ID}:{SECRET}")
    await auth.authenticate(header)
    source.secrets[WORKER_ID] = stored(is_deleted=True)
    auth.forget(WORKER_ID)
    assert not auth._accepted  # the header is checked against the store again, not recognised
    with pytest.raises(UnauthenticatedError):
        await auth.authenticate(header)


async def test_misses_are_not_cached() -> None:
    source = FakeSecrets({})
    auth = WorkerAuthenticator(source, clock=Clock())
    header = basic(f"{WORKER_ID}:{SECRET}")
    with pytest.raises(UnauthenticatedError):
        await auth.authenticate(header)
    source.secrets[WORKER_ID] = stored()  # the projection applied the registration meanwhile
    assert await auth.authenticate(header) == WORKER_ID


async def test_an_accepted_header_is_recognised_until_the_ttl_then_checked_again() -> None:
    source, clock = FakeSecrets({WORKER_ID: stored()}), Clock()
    auth = WorkerAuthenticator(source, ttl_s=5.0, clock=clock)
    header = basic(f"{WORKER_ID}:{SECRET}")
    assert await auth.authenticate(header) == WORKER_ID
    source.secrets[WORKER_ID] = stored("rotated")  # the stored hash changes under the cache
    clock.now += 4.9
    assert await auth.authenticate(header) == WORKER_ID  # within the ttl, as before
    clock.now += 0.2
    with pytest.raises(UnauthenticatedError):
        await auth.authenticate(header)
    assert source.lookups == 2


async def test_a_wrong_secret_is_refused_while_the_right_one_is_cached() -> None:
    auth = WorkerAuthenticator(FakeSecrets({WORKER_ID: stored()}), clock=Clock())
    assert await auth.authenticate(basic(f"{WORKER_ID}:{SECRET}")) == WORKER_ID
    for header in (basic(f"{WORKER_ID}:{SECRET}x"), basic(f"{WORKER_ID}:"), "", None):
        with pytest.raises(UnauthenticatedError):
            await auth.authenticate(header)


async def test_the_accepted_headers_hold_no_secret() -> None:
    auth = WorkerAuthenticator(FakeSecrets({WORKER_ID: stored()}), clock=Clock())
    await auth.authenticate(basic(f"{WORKER_ID}:{SECRET}"))
    assert all(SECRET.encode() not in key and len(key) == 32 for key in auth._accepted)
