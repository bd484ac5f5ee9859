"""Root test configuration: enables the shared fixtures of ``conveyor_testing``."""

pytest_plugins = ["conveyor_testing.plugin"]
