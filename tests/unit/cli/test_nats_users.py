"""The dev stack's NATS users: made once, kept owner-only, put into each process's URL."""

from pathlib import Path

from conveyor_cli.nats_users import USERS_FILE, admin_url, stack_passwords, stack_users, with_credentials
from conveyor_events.permissions import SERVICE, SUBSCRIBER


def test_passwords_are_made_once_and_kept_readable_by_the_owner_only(tmp_path: Path) -> None:
    first = stack_passwords(tmp_path)
    assert set(first) == {"gateway", "scheduler", "log-collector", "hook-dispatcher", "admin", "subscriber"}
    assert len(set(first.values())) == len(first)  # each its own
    assert (tmp_path / USERS_FILE).stat().st_mode & 0o077 == 0
    assert stack_passwords(tmp_path) == first  # a restart keeps them


def test_each_user_carries_its_roles_permissions(tmp_path: Path) -> None:
    users = {u.name: u for u in stack_users(stack_passwords(tmp_path))}
    assert users["gateway"].publish == SERVICE.publish
    assert users["subscriber"].publish == SUBSCRIBER.publish
    assert "conveyor.>" in users["subscriber"].deny_publish


def test_urls_carry_credentials_and_the_admin_cli_finds_them(tmp_path: Path) -> None:
    assert with_credentials("nats://127.0.0.1:4222", "gateway", "p-w_1") == "nats://gateway:p-w_1@127.0.0.1:4222"
    assert admin_url("nats://127.0.0.1:4222", tmp_path) == "nats://127.0.0.1:4222"  # no stack here
    password = stack_passwords(tmp_path)["admin"]
    assert admin_url("nats://127.0.0.1:4222", tmp_path) == f"nats://admin:{password}@127.0.0.1:4222"
    assert admin_url("nats://me:pw@127.0.0.1:4222", tmp_path) == "nats://me:pw@127.0.0.1:4222"  # given: kept
