"""What `subscribe` asks NATS for (pure): the subjects of the aggregates its types can hold, and a
refusal when a project filter could match nothing."""

import pytest

from conveyor_client.subscriber import Start, subscribe


class _NoBus:
    """Stands in for a NATS client: building a subscription does no I/O."""

    def jetstream(self) -> None:
        return None


@pytest.mark.parametrize(
    ("types", "projects", "subjects"),
    [
        ((), (), ["conveyor.ev.>"]),
        (("job.succeeded", "job.*"), (), ["conveyor.ev.job.>"]),
        (("worker.*", "job.failed"), (), ["conveyor.ev.job.>", "conveyor.ev.worker.>"]),
        ((), ("web",), ["conveyor.ev.job.>", "conveyor.ev.progress.>", "conveyor.ev.access.>"]),
        (("job.failed", "worker.deleted"), ("web",), ["conveyor.ev.job.>"]),
    ],
)
def test_the_consumer_reads_only_the_aggregates_its_filters_can_match(
    types: tuple[str, ...], projects: tuple[str, ...], subjects: list[str]
) -> None:
    subscription = subscribe(_NoBus(), "s", types=types, projects=projects)  # type: ignore[arg-type]
    assert subscription.subjects == subjects


def test_a_project_filter_with_no_job_types_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="projects"):
        subscribe(_NoBus(), "s", types=["worker.*"], projects=["web"])  # type: ignore[arg-type]


def test_a_start_says_where_a_new_consumer_begins() -> None:
    assert Start.after(41).config() == {"deliver_policy": "by_start_sequence", "opt_start_seq": 42}
    assert Start.new().config() == {"deliver_policy": "new"}
    assert Start.beginning().config() == {"deliver_policy": "all"}
