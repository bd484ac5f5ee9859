"""Pytest fixtures shared by Conveyor's tests.

Enable them with ``pytest_plugins = ["conveyor_testing.plugin"]`` in the root ``conftest.py``.
"""

__all__: list[str] = []
