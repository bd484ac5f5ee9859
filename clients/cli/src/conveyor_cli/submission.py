"""Job bodies from ``conveyor submit`` flags and files (builds.sr.ht-style manifests, recipe JSON). Pure."""

import json
import shlex
from collections.abc import Sequence
from typing import Any

import yaml

MANIFEST_JOB_KEYS = ("project", "title", "note", "tags", "labels", "priority", "timeout_s", "max_retries")
MANIFEST_KEYS = ("image", "environment", "tasks", "artifacts")


class SubmissionError(ValueError):
    """The flags or the file do not make a job; the message says which and why."""


def command_text(words: Sequence[str]) -> str:
    """One word is a shell command as written (``'make && make test'``); several are quoted and joined."""
    if len(words) == 1:
        return words[0]
    return shlex.join(words)


def parse_env(pairs: Sequence[str]) -> dict[str, str]:
    """``NAME=value`` pairs from ``--env``."""
    env = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SubmissionError(f"--env {pair!r}: expected NAME=value")
        env[name] = value
    return env


def manifest_job(text: str, source: str) -> dict[str, Any]:
    """A job body from a builds.sr.ht-style YAML manifest.

    ``tasks`` is a list of one-key mappings (``- build: make``); ``environment``, ``artifacts`` and
    ``image`` as in builds.sr.ht; the job keys ``project``, ``title``, ``note``, ``tags``,
    ``labels``, ``priority``, ``timeout_s`` and ``max_retries`` may sit beside them.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SubmissionError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SubmissionError(f"{source}: a manifest is a mapping with at least `tasks`")
    unknown = sorted(set(data) - set(MANIFEST_KEYS) - set(MANIFEST_JOB_KEYS))
    if unknown:
        known = ", ".join((*MANIFEST_KEYS, *MANIFEST_JOB_KEYS))
        raise SubmissionError(f"{source}: unsupported key(s) {', '.join(unknown)}; a manifest may hold {known}")
    tasks = data.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        raise SubmissionError(f"{source}: `tasks` must be a non-empty list such as `- build: make`")
    manifest: dict[str, Any] = {"tasks": [_task(task, index, source) for index, task in enumerate(tasks)]}
    for key in ("environment", "artifacts", "image"):
        if key in data:
            manifest[key] = data[key]
    if "environment" in manifest:
        manifest["environment"] = {str(k): str(v) for k, v in (manifest["environment"] or {}).items()}
    job = {key: data[key] for key in MANIFEST_JOB_KEYS if key in data}
    return {**job, "manifest": manifest}


def _task(task: Any, index: int, source: str) -> dict[str, str]:
    if isinstance(task, dict) and len(task) == 1:
        [(name, script)] = task.items()
        return {"name": str(name), "script": str(script)}
    raise SubmissionError(f"{source}: tasks[{index}] must be one `name: script` pair")


def recipe_job(text: str, source: str) -> dict[str, Any]:
    """A job body whose payload is the recipe read from ``source`` (any JSON)."""
    try:
        return {"recipe": json.loads(text)}
    except json.JSONDecodeError as exc:
        raise SubmissionError(f"{source}: not valid JSON: {exc}") from exc


def build_submission(
    *,
    command: Sequence[str],
    manifest: dict[str, Any] | None,
    recipe: dict[str, Any] | None,
    artifacts: Sequence[str],
    env: dict[str, str],
    workdir: str | None,
    fields: dict[str, Any],
) -> dict[str, Any]:
    """The ``POST /v1/jobs`` body: one payload, then the flags given (flags win over manifest keys).

    ``--artifact`` patterns with a command make it a one-task manifest, since only manifests
    collect artifacts.
    """
    given = [name for name, value in (("a command", command), ("--manifest", manifest), ("--recipe", recipe)) if value]
    if len(given) != 1:
        raise SubmissionError(
            "give exactly one of: a command (conveyor submit -- make test), --manifest FILE, --recipe FILE"
            + (f"; got {' and '.join(given)}" if given else "")
        )
    body: dict[str, Any]
    if command:
        text = command_text(command)
        if artifacts:
            task: dict[str, Any] = {"name": "main", "script": text}
            body = {"manifest": {"tasks": [task], "artifacts": list(artifacts), "environment": env}}
            if workdir:
                raise SubmissionError(
                    "--workdir cannot be combined with --artifact (artifacts are collected from the job's directory)"
                )
        else:
            body = {"command": text, "env": env}
            if workdir:
                body["workdir"] = workdir
    else:
        body = dict(manifest or recipe or {})
        if (env or workdir) and recipe:
            raise SubmissionError("--env and --workdir apply to commands and manifests, not recipes")
        if manifest and env:
            body["manifest"] = {**body["manifest"], "environment": {**body["manifest"].get("environment", {}), **env}}
        if manifest and artifacts:
            body["manifest"]["artifacts"] = [*body["manifest"].get("artifacts", []), *artifacts]
    body.update({key: value for key, value in fields.items() if value not in (None, [], "")})
    return body
