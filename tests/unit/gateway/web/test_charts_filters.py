"""The overview's bars, the time buckets behind them, and the job list's filters (pure)."""

from datetime import UTC, datetime, timedelta

from conveyor_events.states import JOB_STATES
from conveyor_gateway.core.job_counts import Bucket, JobCounts, OverviewCounts, StateCount, fill_buckets
from conveyor_gateway.core.token_auth import Principal
from conveyor_gateway.web.charts import HEIGHT, bars
from conveyor_gateway.web.jobs import job_filter, read_filters

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_buckets_are_filled_in_order_with_empty_ones_between() -> None:
    filled = fill_buckets([(0, 4, 1), (2, 7, 0)], T0, timedelta(minutes=5), 4)
    assert [(b.start - T0, b.finished, b.failed) for b in filled] == [
        (timedelta(0), 4, 1), (timedelta(minutes=5), 0, 0),
        (timedelta(minutes=10), 7, 0), (timedelta(minutes=15), 0, 0),
    ]  # fmt: skip


def test_bars_stack_failures_over_successes_on_one_scale() -> None:
    rects, top = bars([Bucket(start=T0, finished=10, failed=4), Bucket(start=T0, finished=0, failed=0)], "hour")
    assert top == 10
    ok, bad = rects
    assert (ok.kind, bad.kind) == ("ok", "bad")
    assert ok.y + ok.h == HEIGHT and bad.y + bad.h == ok.y  # failed stacked on top
    assert abs(ok.h / bad.h - 6 / 4) < 0.01
    assert "10 finished, 4 failed" in ok.title
    assert bars([], "day") == ([], 1)


def test_filters_from_the_url_keep_the_valid_ones_and_say_what_is_wrong() -> None:
    found, problems = read_filters({"state": "exploded", "project": " web ", "parent": "nope", "q": "frame", "tag": ""})
    assert found == {"project": "web", "q": "frame"}
    assert problems == ["state must be one of " + ", ".join(JOB_STATES), "parent must be a job id"]


def test_a_user_lists_only_what_they_may_read_and_an_admin_everything() -> None:
    user = Principal(user_id="u1", name="u", is_admin=False, scopes=frozenset({"jobs:read"}), token_id="t")
    admin = Principal(user_id="a", name="a", is_admin=True, scopes=frozenset({"admin"}), token_id="t")
    found = {"label": "gpu", "q": "tile"}
    assert job_filter(found, user).viewer == "u1"
    assert job_filter(found, admin).viewer is None
    assert (job_filter(found, user).label, job_filter(found, user).text) == ("gpu", "tile")


class _Counting(JobCounts):
    """JobCounts without a database: counts how often it was asked."""

    def __init__(self) -> None:
        self.calls = 0

    async def queue_by_project_and_state(self, viewer: str | None) -> list[StateCount]:
        self.calls += 1
        return [StateCount(project="web", state="queued", count=self.calls)]

    async def finished_per_bucket(
        self, viewer: str | None, *, since: datetime, width: timedelta, n: int
    ) -> list[Bucket]:
        return fill_buckets([], since, width, n)


async def test_overview_counts_are_kept_a_few_seconds_per_viewer() -> None:
    now = [100.0]
    kept = OverviewCounts(ttl_s=5, clock=lambda: now[0])
    counts = _Counting()
    first = await kept.snapshot(counts, None, T0)
    assert (len(first.hour), len(first.day)) == (12, 24)
    assert (await kept.snapshot(counts, None, T0)).queue[0].count == 1  # kept
    assert (await kept.snapshot(counts, "u1", T0)).queue[0].count == 2  # another viewer counts its own
    now[0] += 6
    assert (await kept.snapshot(counts, None, T0)).queue[0].count == 3  # expired
