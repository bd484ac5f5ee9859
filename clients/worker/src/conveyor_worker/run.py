"""One leased job from start to finish: plan, processes, output, artifacts, the final report."""

import asyncio
import contextlib
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import structlog

from conveyor_client import ConveyorError, WorkerApi
from conveyor_client.models import Accepted, Job, Lease, TaskResult

from .artifacts import collect_artifacts, upload_artifacts
from .calls import call_until_done
from .decisions import action_after_stop
from .output import OutputBuffer
from .plan import Plan, PlanError, Step, build_plan, complete_build_script
from .process import Finished, JobProcess
from .recipe import RecipeOutputError, follow_up_bodies, parse_outcome
from .reporter import Reporter
from .run_token import mint_run_token
from .sender import LogSender

_log = structlog.get_logger("conveyor_worker.run")
FLUSH_BEFORE_STATE_S = 5.0
LOCAL_TIMEOUT_MARGIN_S = 5.0


@dataclass(frozen=True, kw_only=True)
class RunContext:
    """What every run on this worker shares."""

    api: WorkerApi
    api_url: str
    worker_id: str
    work_root: Path
    worker_secret: str = ""  # keys the run tokens (run_token); "" mints none
    base_env: dict[str, str]
    recipe_handler: tuple[str, ...] = ()
    kill_grace_s: float = 5.0
    output_buffer_bytes: int = 8 * 1024 * 1024
    tools_dir: Path | None = None  # holds `complete-build`, put on every manifest task's PATH
    start_report_after_s: float = 0.25  # a shorter run reports its start with its finish
    reporter: Reporter | None = None  # batches the starts and finishes of every run; None: one call each


def install_tools(work_root: Path) -> Path:
    """Write the helper commands jobs may call (`complete-build`) once, under the work root."""
    tools = work_root / ".conveyor-bin"
    tools.mkdir(parents=True, exist_ok=True)
    helper = tools / "complete-build"
    helper.write_text(complete_build_script())
    helper.chmod(0o755)
    return tools


@dataclass
class _Outcome:
    result: str = "succeeded"
    exit_code: int | None = None
    verification: str | None = None
    tasks: list[TaskResult] = field(default_factory=list)


class JobRun:
    """Runs one lease. `stop` (from a stop order, a lost lease or shutdown) ends it early."""

    def __init__(self, ctx: RunContext, lease: Lease) -> None:
        self.ctx = ctx
        self.lease = lease
        self.lease_id = lease.lease_id
        self.stop_reason: str | None = None
        self._stopped = asyncio.Event()
        self._lease_gone = asyncio.Event()
        self._process: JobProcess | None = None
        self.sender = LogSender(ctx.api, lease.lease_id, OutputBuffer(capacity=ctx.output_buffer_bytes))
        self.job_dir = ctx.work_root / f"{lease.job.id}-{lease.attempt}"
        self._tasks_supported = True
        self.started_at = datetime.now(UTC)  # when the lease was taken up: the run's start

    def stop(self, reason: str) -> None:
        """Stop the run: kills its process tree; the first reason wins."""
        if self.stop_reason is None:
            self.stop_reason = reason
            _log.info("run_stopping", job_id=self.lease.job.id, lease_id=self.lease_id, reason=reason)
        if action_after_stop(reason) == "abandon":
            self._lease_gone.set()  # nothing more to report under this lease: a retrying finish gives up
        self._stopped.set()

    async def execute(self) -> None:
        """Run the job and report it, whatever happens to the gateway meanwhile.

        The start is reported once the run has lasted ``start_report_after_s``; a shorter run
        reports its start time with its finish, which saves a round trip per job.
        """
        job_id = self.lease.job.id
        sending = asyncio.create_task(self.sender.run())
        starting = asyncio.create_task(self._report_start())
        try:
            try:
                outcome = await self._run_plan()
            except OSError as exc:  # e.g. the work directory cannot be made: the job fails, the worker goes on
                _log.exception("run_failed_locally", job_id=job_id)
                self.sender.write(f"conveyor worker: the run failed on this worker: {exc}\n".encode())
                outcome = _Outcome(result="failed")
            if not starting.done():
                starting.cancel()  # the finish carries the start: a start already sent is harmless
            await self._flush_output(sending)
            await self._report(outcome)
            await self._tell_operators()
        finally:
            if not starting.done():
                starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
            self.sender.close()
            if not sending.done():
                sending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sending
            _remove_dir(self.job_dir)

    async def _report_start(self) -> None:
        """Report the start of a run still going after ``start_report_after_s``; a refused lease stops it."""
        await asyncio.sleep(self.ctx.start_report_after_s)
        job_id = self.lease.job.id
        reports = self.ctx.reporter or self.ctx.api
        verdict, _, error = await call_until_done("start", lambda: reports.start(self.lease_id), give_up=self._stopped)
        if verdict == "ok":
            _log.info("run_started", job_id=job_id, lease_id=self.lease_id, attempt=self.lease.attempt)
        elif verdict == "lease_lost":
            _log.warning("run_not_started", job_id=job_id, verdict=verdict, error=str(error))
            self.stop("lease_lost")

    async def _tell_operators(self) -> None:
        """What an operator should know about this run goes to the worker's own log (best effort)."""
        notes = []
        if self.stop_reason in ("lease_lost", "local_timeout"):
            notes.append(("warn", f"run stopped: {self.stop_reason.replace('_', ' ')}"))
        if self.sender.buffer.dropped_total:
            notes.append(("warn", f"{self.sender.buffer.dropped_total} bytes of output dropped: gateway unreachable"))
        scope = f"job {self.lease.job.id} attempt {self.lease.attempt}"
        for level, message in notes:

            async def note(level: str = level, message: str = message) -> None:
                await self.ctx.api.log_message(level, message, scope)

            await call_until_done("worker log", note, max_attempts=2)

    async def _flush_output(self, sending: "asyncio.Task[None]") -> None:
        self.sender.close()
        # The lease is ours for lease_s at most without a heartbeat: do not wait on the log past it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(sending), timeout=self.lease.lease_s)

    def _run_token(self) -> str:
        if not self.ctx.worker_secret:
            return ""
        return mint_run_token(self.ctx.worker_id, self.ctx.worker_secret, self.lease.lease_id)

    async def _run_plan(self) -> _Outcome:
        self.job_dir.mkdir(parents=True, exist_ok=True)
        try:
            plan = build_plan(
                self.lease, base_env=self.ctx.base_env, api_url=self.ctx.api_url, worker_id=self.ctx.worker_id,
                job_dir=self.job_dir, recipe_handler=self.ctx.recipe_handler, tools_dir=self.ctx.tools_dir,
                run_token=self._run_token(),
            )  # fmt: skip
        except PlanError as exc:
            self.sender.write(f"conveyor worker: cannot run this job: {exc}\n".encode())
            return _Outcome(result="failed")
        plan.workdir.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        # The scheduler times the job out and says so in a heartbeat answer; the worker's own timer,
        # a little later, covers a scheduler it cannot reach.
        timer = (
            loop.call_later(plan.timeout_s + LOCAL_TIMEOUT_MARGIN_S, self.stop, "local_timeout")
            if plan.timeout_s
            else None
        )
        try:
            if plan.kind == "manifest":
                outcome = await self._run_manifest(plan)
            elif plan.kind == "recipe":
                outcome = await self._run_recipe(plan)
            else:
                finished = await self._run_step(plan, plan.steps[0])
                outcome = _Outcome(result=_result(finished), exit_code=finished.exit_code)
        finally:
            if timer is not None:
                timer.cancel()
        if self.stop_reason is None and plan.artifacts:
            await self._upload(plan)
        return outcome

    async def _run_step(self, plan: Plan, step: Step) -> Finished:
        self.sender.set_task(step.task)
        argv = step.argv
        while True:
            try:
                self._process = await JobProcess.spawn(
                    argv, env=plan.env, cwd=plan.workdir, stdin=step.stdin, capture_stdout=plan.kind == "recipe"
                )
                break
            except OSError as exc:
                if step.fallback is not None and argv != step.fallback:
                    argv = step.fallback  # not executable as it is: the shell runs it, or says why not
                    continue
                self.sender.write(f"conveyor worker: cannot start {argv[0]}: {exc}\n".encode())
                return Finished(exit_code=127)
        waiting = asyncio.ensure_future(self._process.wait(self.sender.put))
        stopped = asyncio.ensure_future(self._stopped.wait())
        await asyncio.wait([waiting, stopped], return_when=asyncio.FIRST_COMPLETED)
        if not waiting.done():
            await self._process.stop(self.ctx.kill_grace_s)
        stopped.cancel()
        return await waiting

    async def _run_manifest(self, plan: Plan) -> _Outcome:
        outcome = _Outcome()
        complete_file = Path(plan.env["CONVEYOR_COMPLETE_FILE"])
        for index, step in enumerate(plan.steps):
            assert step.task is not None
            if self.stop_reason is not None or outcome.result != "succeeded" or complete_file.exists():  # noqa: ASYNC240 a stat() of a local file
                outcome.tasks.append(TaskResult(name=step.task, state="skipped"))
                await self._task_state(step.task, "skipped")
                continue
            await self._task_state(step.task, "running")
            self.sender.set_task(None)
            self.sender.write(f"--- task {index + 1}/{len(plan.steps)}: {step.task}\n".encode())
            finished = await self._run_step(plan, step)
            self.sender.set_task(None)
            # The task's log is complete before its state says it ended (bounded: the gateway may be down).
            await self.sender.flushed(FLUSH_BEFORE_STATE_S)
            state: Literal["succeeded", "failed"] = (
                "succeeded" if finished.exit_code == 0 and self.stop_reason is None else "failed"
            )
            outcome.tasks.append(TaskResult(name=step.task, state=state, exit_code=finished.exit_code))
            await self._task_state(step.task, state, finished.exit_code)
            outcome.exit_code = finished.exit_code
            if state == "failed":
                outcome.result = "failed"
        return outcome

    async def _task_state(self, task: str, state: str, exit_code: int | None = None) -> None:
        if not self._tasks_supported:
            return
        verdict, _, error = await call_until_done(
            f"task {state}", lambda: self.ctx.api.task_state(self.lease_id, task, state, exit_code),
            give_up=self._stopped, max_attempts=5,
        )  # fmt: skip
        if verdict == "lease_lost":
            self.stop("lease_lost")
        elif verdict == "unsupported":
            self._tasks_supported = False  # an older gateway: the states go with finish
        elif verdict != "ok":
            _log.warning("task_state_not_reported", task=task, state=state, error=str(error))

    async def _run_recipe(self, plan: Plan) -> _Outcome:
        finished = await self._run_step(plan, plan.steps[0])
        if self.stop_reason is not None:
            return _Outcome(result="failed", exit_code=finished.exit_code)
        try:
            parsed = parse_outcome(finished.stdout, finished.exit_code)
        except RecipeOutputError as exc:
            self.sender.write(f"conveyor worker: {exc}\n".encode())
            return _Outcome(result="failed", exit_code=finished.exit_code)
        for line in parsed.log:
            self.sender.write(line.encode() + b"\n")
        job = self.lease.job
        for body in follow_up_bodies(parsed, parent_id=job.id, project=job.project):

            async def submit(body: dict[str, Any] = body) -> Job | Accepted:
                return await self.ctx.api.submit(body)

            verdict, submitted, error = await call_until_done("submit follow-up", submit, give_up=self._stopped)
            if verdict != "ok":
                self.sender.write(f"conveyor worker: follow-up job refused: {error}\n".encode())
                return _Outcome(result="failed", exit_code=finished.exit_code)
            assert submitted is not None
            self.sender.write(f"conveyor worker: submitted follow-up job {submitted.id}\n".encode())
        result = parsed.result or "failed"
        return _Outcome(result=result, exit_code=finished.exit_code, verification=parsed.verification)

    async def _upload(self, plan: Plan) -> None:
        files = collect_artifacts(plan.workdir, plan.artifacts)
        try:
            stored = await upload_artifacts(self.ctx.api, self.lease_id, plan.workdir, files)
        except ConveyorError as exc:
            self.sender.write(f"conveyor worker: artifact upload failed: {exc}\n".encode())
            return
        for item in stored:
            self.sender.write(f"conveyor worker: artifact {item.path} ({item.size} bytes)\n".encode())

    async def _report(self, outcome: _Outcome) -> None:
        if self.sender.lease_lost.is_set():
            self.stop("lease_lost")
        action = action_after_stop(self.stop_reason) if self.stop_reason is not None else "finish"
        if action == "abandon":
            _log.info("run_abandoned", job_id=self.lease.job.id, reason=self.stop_reason)
            return
        result = "skipped" if action == "skip" else outcome.result
        if self.stop_reason == "local_timeout":
            result = "failed"
        await self._finish(result, outcome)

    async def _finish(self, result: str, outcome: _Outcome) -> None:
        reports, lease_id = self.ctx.reporter or self.ctx.api, self.lease_id
        tasks = outcome.tasks if not self._tasks_supported else []

        async def finish() -> object:
            return await reports.finish(
                lease_id, result, exit_code=outcome.exit_code, verification=outcome.verification, tasks=tasks,
                started_at=self.started_at,
            )  # fmt: skip

        # Retried while the gateway is away, until the lease is known to be gone (heartbeats failed
        # past it): then the scheduler has given the job to someone else.
        verdict, _answer, error = await call_until_done("finish", finish, give_up=self._lease_gone)
        _log.info(
            "run_finished", job_id=self.lease.job.id, lease_id=lease_id, result=result, exit_code=outcome.exit_code,
            verdict=verdict, error=str(error) if error else None,
        )  # fmt: skip


def _remove_dir(path: Path) -> None:
    """Remove the run's directory: most runs leave it empty, and one ``rmdir`` is a single system
    call where ``rmtree`` walks it (a no-op job's largest cost on the worker, profiled)."""
    try:
        os.rmdir(path)
    except FileNotFoundError:
        return
    except OSError:
        shutil.rmtree(path, ignore_errors=True)


def _result(finished: Finished) -> str:
    return "succeeded" if finished.exit_code == 0 else "failed"
