"""Root test configuration: enables the shared fixtures of ``conveyor_testing``, and starts the
longest files first so that, in ``make test``'s two processes, none of them is left running alone
at the end."""

import pytest

pytest_plugins = ["conveyor_testing.plugin"]

# Each over a minute on CI, the rest of the suite well under: they start first, one per process.
LONGEST_FIRST = (
    "tests/e2e/test_openapi_conformance.py",
    "tests/integration/bench/test_bench_smoke.py",
    "tests/cluster/",
)


def _rank(item: pytest.Item) -> int:
    path = item.nodeid
    return next((rank for rank, prefix in enumerate(LONGEST_FIRST) if path.startswith(prefix)), len(LONGEST_FIRST))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: the order within each file, and of the other files, is kept
