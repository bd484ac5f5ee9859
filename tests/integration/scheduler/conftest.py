"""Fixtures of the scheduler tests."""

import pytest

from conveyor_devstack import free_port
from conveyor_scheduler.settings import Settings


@pytest.fixture
def scheduler_settings(nats_url: str, database_url: str) -> Settings:
    """Scheduler settings pointing at this test's servers, health on a free port."""
    return Settings(
        nats_url=nats_url,
        database_url=database_url,
        http_port=free_port(),
        log_json=True,
        events_duplicate_window_s=1.0,
        leader_ttl_s=2,
        leader_poll_s=0.2,
    )
