"""The client keeps its own copy of the job-state vocabulary (it must not import the server):
these tests hold the copy to the original in ``conveyor_events.states``."""

from typing import get_args

from conveyor_client.models import FINISHED_STATES, JobState
from conveyor_events.states import JOB_STATES, TERMINAL


def test_the_clients_state_names_are_the_servers() -> None:
    assert get_args(JobState) == JOB_STATES


def test_the_clients_finished_states_are_the_servers_terminal_states() -> None:
    assert FINISHED_STATES == TERMINAL
