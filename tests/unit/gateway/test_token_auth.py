"""API tokens: Bearer parsing, what a stored token proves, scopes, and the authenticator's cache."""

from datetime import UTC, datetime, timedelta

import pytest

from conveyor_gateway.core.identity_reader import TokenRecord
from conveyor_gateway.core.token_auth import Principal, TokenAuthenticator, parse_bearer, principal_of
from conveyor_gateway.errors import TokenRequiredError
from conveyor_identity import SCOPES, TOKEN_PREFIX, hash_token, new_token, unknown_scopes

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TOKEN = "cvy_" + "a" * 43


def record(**changes: object) -> TokenRecord:
    fields: dict[str, object] = {
        "token_id": "t1",
        "user_id": "u1",
        "user_name": "alice",
        "is_admin": False,
        "scopes": ("jobs:read",),
        "expires_at": None,
        "is_revoked": False,
    }
    fields.update(changes)
    return TokenRecord(**fields)  # type: ignore[arg-type]  # the fields above are the struct's


class FakeTokens:
    """An in-memory TokenSource that counts lookups."""

    def __init__(self, records: dict[str, TokenRecord]) -> None:
        self.records = records
        self.lookups = 0

    async def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        self.lookups += 1
        return self.records.get(token_hash)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_new_tokens_are_random_prefixed_and_hashed_with_sha256() -> None:
    a, b = new_token(), new_token()
    assert a != b and a.startswith(TOKEN_PREFIX) and len(a) == len(TOKEN_PREFIX) + 43  # 32 bytes, base64url
    assert len(hash_token(a)) == 64 and hash_token(a) != hash_token(b)


def test_unknown_scopes_are_named() -> None:
    assert unknown_scopes(["jobs:read", "root", "admin", "jobs:*"]) == ["root", "jobs:*"]
    assert unknown_scopes(list(SCOPES)) == []


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer", "Bearer   ", "Token abc", "Bearer " + "x" * 300])
def test_missing_or_malformed_bearer_is_401(header: str | None) -> None:
    with pytest.raises(TokenRequiredError) as caught:
        parse_bearer(header)
    assert dict(caught.value.headers)["WWW-Authenticate"].startswith("Bearer ")
    assert "x" * 20 not in caught.value.detail  # never echoes what was sent


def test_bearer_scheme_is_case_insensitive() -> None:
    assert parse_bearer(f"bearer {TOKEN}") == TOKEN
    assert parse_bearer(f"  Bearer   {TOKEN}  ") == TOKEN


def test_revoked_expired_and_unknown_tokens_prove_nobody() -> None:
    assert principal_of(None, NOW) is None
    assert principal_of(record(is_revoked=True), NOW) is None
    assert principal_of(record(expires_at=NOW), NOW) is None
    assert principal_of(record(expires_at=NOW + timedelta(seconds=1)), NOW) is not None


def principal(*scopes: str, is_admin: bool = False) -> Principal:
    return Principal(user_id="u", name="n", is_admin=is_admin, scopes=frozenset(scopes), token_id="t")


def test_scopes_allow_exactly_what_they_name() -> None:
    reader = principal("jobs:read")
    assert reader.has_scope("jobs:read")
    assert not reader.has_scope("jobs:write") and not reader.has_scope("admin")


def test_admin_scope_counts_only_for_admin_users() -> None:
    assert principal("admin", is_admin=True).has_scope("workers")
    assert not principal("admin", is_admin=False).has_scope("admin")
    assert not principal("admin", is_admin=False).has_scope("workers")
    assert not principal("jobs:read", is_admin=True).has_scope("jobs:write")  # an admin's narrow token stays narrow


async def test_cache_serves_hits_for_the_ttl_then_looks_up_again() -> None:
    source = FakeTokens({hash_token(TOKEN): record()})
    clock = Clock()
    auth = TokenAuthenticator(source, ttl_s=2.0, clock=clock, wall_clock=lambda: NOW)
    for _ in range(5):
        assert (await auth.authenticate(f"Bearer {TOKEN}")).user_id == "u1"
    assert source.lookups == 1
    clock.now += 2.5
    source.records[hash_token(TOKEN)] = record(is_revoked=True)
    with pytest.raises(TokenRequiredError):
        await auth.authenticate(f"Bearer {TOKEN}")
    assert source.lookups == 2


async def test_misses_are_not_cached_and_forget_drops_a_revoked_token_at_once() -> None:
    source = FakeTokens({})
    auth = TokenAuthenticator(source, clock=Clock(), wall_clock=lambda: NOW)
    with pytest.raises(TokenRequiredError):
        await auth.authenticate(f"Bearer {TOKEN}")
    source.records[hash_token(TOKEN)] = record()
    assert (await auth.authenticate(f"Bearer {TOKEN}")).token_id == "t1"  # issued meanwhile: found
    source.records[hash_token(TOKEN)] = record(is_revoked=True)
    auth.forget_token("t1")
    with pytest.raises(TokenRequiredError):
        await auth.authenticate(f"Bearer {TOKEN}")
