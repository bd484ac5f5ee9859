"""The Conveyor worker agent: leases jobs from the API and runs them on this machine."""

from .agent import Agent, WorkerSettings, run_agent

__all__ = ["Agent", "WorkerSettings", "run_agent"]
