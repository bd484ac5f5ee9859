"""The cluster drill: its tests carry the ``cluster`` mark (``-m "not cluster"`` leaves them out)."""

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/cluster" in str(item.path):
            item.add_marker(pytest.mark.cluster)
