"""A recipe handler's answer: result, verification hash, log lines and follow-up jobs. Pure."""

from typing import Any, Literal

import msgspec


class RecipeOutcome(msgspec.Struct, kw_only=True):
    """What a recipe handler prints on stdout as one JSON object.

    ``result`` defaults from the handler's exit status; ``jobs`` are job bodies as for
    ``POST /v1/jobs`` (the worker sets ``parent`` and a ``dedupe_key`` unless given).
    """

    result: Literal["succeeded", "failed"] | None = None
    verification: str | None = None
    log: list[str] = msgspec.field(default_factory=list)
    jobs: list[dict[str, Any]] = msgspec.field(default_factory=list)


class RecipeOutputError(ValueError):
    """The handler's stdout is not the JSON object it must print."""


def parse_outcome(stdout: bytes, exit_code: int) -> RecipeOutcome:
    """The handler's answer; an empty stdout is an answer with nothing but the exit status.

    Raises:
        RecipeOutputError: stdout is not a JSON object of the documented shape.
    """
    text = stdout.strip()
    if not text:
        outcome = RecipeOutcome()
    else:
        try:
            outcome = msgspec.json.decode(text, type=RecipeOutcome)
        except msgspec.DecodeError as exc:
            raise RecipeOutputError(f"the recipe handler's stdout is not the expected JSON object: {exc}") from exc
    if outcome.result is None:
        outcome = msgspec.structs.replace(outcome, result="succeeded" if exit_code == 0 else "failed")
    elif exit_code != 0:
        outcome = msgspec.structs.replace(outcome, result="failed")
    return outcome


def follow_up_bodies(outcome: RecipeOutcome, *, parent_id: str, project: str) -> list[dict[str, Any]]:
    """The follow-up job bodies to submit: ``parent`` is the job, the project defaults to its project,
    and a ``dedupe_key`` derived from the parent makes a retried run submit nothing twice."""
    bodies = []
    for index, job in enumerate(outcome.jobs):
        body = {"project": project, **job, "parent": parent_id}
        body.setdefault("dedupe_key", f"follow-up:{parent_id}:{index}")
        bodies.append(body)
    return bodies
