"""A builds.sr.ht manifest (``.build.yml``) read and checked field by field, then made Conveyor's
(pure): tasks in order, environment, artifacts, the image and arch as worker labels, triggers.

What Conveyor cannot honour is refused with its field rather than silently dropped: ``secrets``,
``oauth``, ``shell: true``, and email triggers when no SMTP server is configured.
"""

import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Final

import yaml

from ...core.bodies import ManifestBody, ManifestTaskBody, ManifestView
from .errors import BuildsError

MAX_MANIFEST_CHARS: Final = 16_384  # sourcehut's limit on POST /api/jobs
_TASK_NAME: Final = re.compile(r"^[a-z0-9_-]+$")
_MAX_TASK_NAME: Final = 64  # Conveyor's task names (sourcehut allows 128)
_IMAGE: Final = re.compile(r"^[a-z0-9][a-z0-9._+-]*(/[a-z0-9._+-]+)?$")
_ARCH: Final = re.compile(r"^[a-z0-9_]+$")
_ENV_NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CONDITIONS: Final = ("always", "success", "failure")
_IGNORED: Final = frozenset({"packages", "repositories"})  # see README: the worker is the image
_SOURCES_START: Final = "# conveyor: clone the manifest's sources (builds.sr.ht)"
_SOURCES_END: Final = "# conveyor: sources cloned"
_SOURCE: Final = "# source: "
_REFUSED: Final = {
    "secrets": "secrets are not supported here: give the values through the worker's environment",
    "oauth": "oauth tokens are not supported here",
}
_KNOWN: Final = frozenset({"image", "arch", "environment", "tasks", "artifacts", "triggers", "shell", "sources"})

Problems = list[tuple[str | None, str]]


@dataclass(frozen=True)
class Trigger:
    """A manifest or job-group trigger: ``webhook`` (``url``) or ``email`` (``to``, ``cc``, ``in_reply_to``)."""

    action: str
    condition: str
    url: str = ""
    to: str = ""
    cc: str = ""
    in_reply_to: str = ""


@dataclass(frozen=True)
class Manifest:
    """A valid manifest, in Conveyor's terms."""

    body: ManifestBody
    labels: tuple[str, ...]
    triggers: tuple[Trigger, ...] = field(default=())


def image_label(image: str) -> str:
    """The worker label a build on ``image`` needs: ``image.alpine.3.18`` for ``alpine/3.18``."""
    return "image." + image.replace("/", ".")


def arch_label(arch: str) -> str:
    """The worker label a build for ``arch`` needs: ``arch.x86_64``."""
    return "arch." + arch


def parse_manifest(text: object, *, email_enabled: bool = False) -> Manifest:
    """The manifest in ``text`` (YAML), or every problem found, each with its field.

    Raises:
        BuildsError: 400 listing the problems (``manifest`` for the text as a whole).
    """
    if not isinstance(text, str) or not text.strip():
        raise BuildsError(400, "manifest is required (a YAML document)", "manifest")
    if len(text) > MAX_MANIFEST_CHARS:
        raise BuildsError(400, f"manifest must be less than {MAX_MANIFEST_CHARS} characters", "manifest")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise BuildsError(400, f"manifest is not valid YAML: {str(exc).splitlines()[0]}", "manifest") from None
    if not isinstance(doc, dict):
        raise BuildsError(400, "manifest must be a YAML mapping", "manifest")
    problems: Problems = []
    manifest = _read(doc, problems, email_enabled=email_enabled)
    if problems or manifest is None:
        raise BuildsError.of(400, problems or [("manifest", "invalid manifest")])
    return manifest


def _read(doc: dict[Any, Any], problems: Problems, *, email_enabled: bool) -> Manifest | None:
    for key in doc:
        if key in _REFUSED:
            problems.append((str(key), _REFUSED[key]))
        elif key not in _KNOWN and key not in _IGNORED:
            problems.append((str(key), f"unknown manifest field {key!r}"))
    if doc.get("shell") not in (None, False):
        problems.append(("shell", "shell access is not supported here (no VM per build)"))
    image = doc.get("image")
    if not isinstance(image, str) or not _IMAGE.match(image) or len(image) > 56:
        problems.append(("image", "image is required: a distribution and release, e.g. alpine/edge"))
        image = None
    arch = doc.get("arch")
    if arch is not None and (not isinstance(arch, str) or not _ARCH.match(arch) or len(arch) > 32):
        problems.append(("arch", "arch must be an architecture name, e.g. x86_64"))
        arch = None
    tasks = _tasks(doc.get("tasks"), problems)
    sources = _sources(doc.get("sources"), problems)
    environment = _environment(doc.get("environment"), problems)
    artifacts = _artifacts(doc.get("artifacts"), problems)
    triggers = read_triggers(doc.get("triggers"), problems, "triggers", email_enabled=email_enabled)
    if problems or image is None:
        return None
    labels = (image_label(image), *([arch_label(arch)] if arch else []))
    if sources and tasks:
        tasks[0] = ManifestTaskBody(name=tasks[0].name, script=clone_script(sources) + tasks[0].script)
    body = ManifestBody(tasks=tasks, environment=environment, artifacts=artifacts, image=image)
    return Manifest(body=body, labels=labels, triggers=triggers)


def _tasks(raw: object, problems: Problems) -> list[ManifestTaskBody]:
    if not isinstance(raw, list) or not raw:
        problems.append(("tasks", "tasks is required: a list of {name: script}"))
        return []
    if len(raw) > 100:
        problems.append(("tasks", "at most 100 tasks"))
    tasks: list[ManifestTaskBody] = []
    for index, item in enumerate(raw):
        where = f"tasks[{index}]"
        if not isinstance(item, dict) or len(item) != 1:
            problems.append((where, "each task is a mapping of one name to its script"))
            continue
        [(name, script)] = item.items()
        if not isinstance(name, str) or not _TASK_NAME.match(name) or len(name) > _MAX_TASK_NAME:
            problems.append((where, f"task name {name!r} must match ^[a-z0-9_-]+$ (at most {_MAX_TASK_NAME} chars)"))
            continue
        if any(t.name == name for t in tasks):
            problems.append((where, f"duplicate task name {name!r}"))
            continue
        if not isinstance(script, str):
            problems.append((where, f"the script of task {name!r} must be a string"))
            continue
        tasks.append(ManifestTaskBody(name=name, script=script))
    return tasks


def _sources(raw: object, problems: Problems) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > 32:
        problems.append(("sources", "sources must be a list of at most 32 repository URLs"))
        return []
    for index, url in enumerate(raw):
        if not isinstance(url, str) or not url or len(url) > 2048 or "\n" in url:
            problems.append((f"sources[{index}]", "a source is a repository URL"))
        elif url.startswith("hg+"):
            problems.append((f"sources[{index}]", "only git sources are cloned here"))
    return [u for u in raw if isinstance(u, str)]


def clone_script(sources: list[str]) -> str:
    """Shell lines, prepended to the first task, that clone each source as builds.sr.ht does
    (``url``, ``url#ref``, ``name::url``) into the build's directory when the worker has git.

    Each URL is also kept in a comment line, so ``manifest_yaml`` gives the ``sources`` back.
    """
    lines = [_SOURCES_START]
    for source in sources:
        name, _, url = source.rpartition("::")
        url, _, ref = url.partition("#")
        name = name or url.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git") or "source"
        lines += [
            _SOURCE + source,
            "if command -v git >/dev/null 2>&1; then",
            f"  git clone -q --recursive -- {shlex.quote(url)} {shlex.quote(name)}",
            *([f"  git -C {shlex.quote(name)} checkout -q {shlex.quote(ref)}"] if ref else []),
            f"else echo {shlex.quote(f'git is not installed on this worker: {url} is not cloned')} >&2; fi",
        ]
    return "\n".join([*lines, _SOURCES_END, ""])


def split_sources(script: str) -> tuple[list[str], str]:
    """The sources a first task's script clones, and the script as the manifest gave it."""
    if not script.startswith(_SOURCES_START + "\n"):
        return [], script
    head, marker, rest = script.partition(_SOURCES_END + "\n")
    if not marker:
        return [], script
    sources = [line.removeprefix(_SOURCE) for line in head.splitlines() if line.startswith(_SOURCE)]
    return sources, rest


def _environment(raw: object, problems: Problems) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(("environment", "environment must be a mapping"))
        return {}
    env: dict[str, str] = {}
    for name, value in raw.items():
        if not isinstance(name, str) or not _ENV_NAME.match(name) or len(name) > 128:
            problems.append(("environment", f"{name!r} is not a variable name"))
        elif isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
            env[name] = " ".join(str(v) for v in value)  # sourcehut makes a shell array of it
        elif isinstance(value, str | int | float | bool):
            env[name] = str(value).lower() if isinstance(value, bool) else str(value)
        else:
            problems.append((f"environment.{name}", "a value is a string or a list of strings"))
    return env


def _artifacts(raw: object, problems: Problems) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(p, str) and p for p in raw):
        problems.append(("artifacts", "artifacts must be a list of paths"))
        return []
    names = [p.rstrip("/").rsplit("/", 1)[-1] for p in raw]
    if len(set(names)) != len(names):
        problems.append(("artifacts", "artifacts must have unique file names"))
    return list(raw)


def read_triggers(raw: object, problems: Problems, where: str, *, email_enabled: bool) -> tuple[Trigger, ...]:
    """Triggers as a manifest, ``POST /api/jobs`` or ``POST /api/job-group`` gives them."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append((where, "triggers must be a list"))
        return ()
    found: list[Trigger] = []
    for index, item in enumerate(raw):
        at = f"{where}[{index}]"
        if not isinstance(item, dict):
            problems.append((at, "a trigger is a mapping"))
            continue
        action, condition = item.get("action"), item.get("condition")
        if condition not in _CONDITIONS:
            problems.append((f"{at}.condition", "condition is one of always, success, failure"))
            continue
        if action == "webhook":
            url = item.get("url")
            if not isinstance(url, str) or not re.match(r"^https?://[^\s/?#@]+[^\s]*$", url) or len(url) > 2048:
                problems.append((f"{at}.url", "url must be an http(s) URL"))
                continue
            found.append(Trigger(action="webhook", condition=condition, url=url))
        elif action == "email":
            if not email_enabled:
                problems.append((f"{at}.action", "email triggers need an SMTP server: none is configured here"))
                continue
            to = item.get("to")
            if not isinstance(to, str) or "@" not in to:
                problems.append((f"{at}.to", "to is required: the recipients"))
                continue
            cc, reply = item.get("cc", ""), item.get("in_reply_to", "")
            found.append(
                Trigger(action="email", condition=condition, to=to, cc=str(cc or ""), in_reply_to=str(reply or ""))
            )
        else:
            problems.append((f"{at}.action", "action is webhook or email"))
    return tuple(found)


def manifest_yaml(body: ManifestView, labels: list[str]) -> str:
    """The manifest as Conveyor stores it, written back as YAML (``GET /api/jobs/:id/manifest``)."""
    doc: dict[str, Any] = {"image": body.image}
    arch = next((label.removeprefix("arch.") for label in labels if label.startswith("arch.")), None)
    if arch:
        doc["arch"] = arch
    if body.environment:
        doc["environment"] = dict(body.environment)
    if body.artifacts:
        doc["artifacts"] = list(body.artifacts)
    tasks = [(t.name, t.script) for t in body.tasks]
    if tasks:
        sources, first = split_sources(tasks[0][1])
        tasks[0] = (tasks[0][0], first)
        if sources:
            doc["sources"] = sources
    doc["tasks"] = [{name: script} for name, script in tasks]
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)
