"""The dashboard's sealed session cookie and CSRF comparison."""

import base64

import pytest

from conveyor_gateway.web.session import csrf_matches, new_session, seal, session_key, unseal

KEY = bytes(range(32))


def test_a_sealed_session_opens_with_its_key_only() -> None:
    session = new_session("cvt_secret", 3600, now=1000.0)
    cookie = seal(KEY, session)
    assert "cvt_secret" not in cookie
    assert unseal(KEY, cookie, now=1001.0) == session
    assert unseal(bytes(32), cookie, now=1001.0) is None


def test_tampered_expired_or_junk_cookies_open_to_nothing() -> None:
    cookie = seal(KEY, new_session("t", 60, now=1000.0))
    flipped = cookie[:-2] + ("A" if cookie[-2] != "A" else "B") + cookie[-1]
    assert unseal(KEY, flipped, now=1001.0) is None
    assert unseal(KEY, cookie, now=1061.0) is None
    for junk in (None, "", "not-base64!", "x" * 5000, base64.urlsafe_b64encode(b"short").decode()):
        assert unseal(KEY, junk) is None


def test_csrf_tokens_are_compared_whole() -> None:
    session = new_session("t", 60)
    assert csrf_matches(session.csrf, session.csrf)
    assert not csrf_matches(session.csrf, None)
    assert not csrf_matches(session.csrf, "")
    assert not csrf_matches(session.csrf, session.csrf[:-1])
    assert new_session("t", 60).csrf != session.csrf


def test_session_keys_from_the_setting() -> None:
    assert session_key(KEY.hex()) == KEY
    assert session_key(base64.urlsafe_b64encode(KEY).decode()) == KEY
    assert len(session_key("a passphrase that is long enough to use")) == 32
    assert session_key("") != session_key("")  # random per process
    with pytest.raises(ValueError, match="CONVEYOR_UI_SESSION_KEY"):
        session_key("short")
