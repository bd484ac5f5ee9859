"""VirtShell's request signature: the canonical string, the MAC and the Date window (pure parts)."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from conveyor_gateway.compat.virtshell.signing import MAX_SKEW, date_is_fresh, sign, string_to_sign

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def test_the_canonical_string_is_verb_host_md5_type_date_path() -> None:
    canonical = string_to_sign("get", "h:1", "", "application/json", "Sun, 06 Dec 2026 09:00:00 GMT", "/tasks/")
    assert canonical == b"GET\nh:1\n\napplication/json\nSun, 06 Dec 2026 09:00:00 GMT\n/tasks/"


def test_the_signature_is_base64_hmac_sha1() -> None:
    # RFC 2202 test case 2: HMAC-SHA1("Jefe", "what do ya want for nothing?")
    assert sign("Jefe", b"what do ya want for nothing?") == "7/zfauXrL6LSdBbV8YTfnCWafHk="


def test_a_date_within_fifteen_minutes_either_way_is_fresh() -> None:
    assert date_is_fresh(format_datetime(NOW - MAX_SKEW, usegmt=True), NOW)
    assert date_is_fresh(format_datetime(NOW + MAX_SKEW, usegmt=True), NOW)
    assert not date_is_fresh(format_datetime(NOW - MAX_SKEW - timedelta(seconds=1), usegmt=True), NOW)
    assert not date_is_fresh(format_datetime(NOW + timedelta(minutes=16), usegmt=True), NOW)


def test_a_missing_or_zoneless_date_is_not_fresh() -> None:
    assert not date_is_fresh("", NOW)
    assert not date_is_fresh("yesterday", NOW)
    assert not date_is_fresh("Sun, 06 Dec 2026 09:00:00", NOW)
