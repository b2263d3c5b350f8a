"""Apache Airflow 3: wait for SageMaker training jobs in deferred tasks, on one fleet.

::

    from sagemaker_watch.integrations.airflow import WaitForTrainingJobOperator

    wait = WaitForTrainingJobOperator(
        task_id="wait_for_training",
        job_name="{{ ti.xcom_pull('train')['Training']['TrainingJobName'] }}",
        aws_conn_id="aws_default",
    )

Installed with ``pip install "sagemaker-watch[airflow]"`` (Airflow 3 and the
amazon provider, whose AWS connection it uses).

* ``WaitForTrainingJobOperator`` defers at once to ``TrainingJobTrigger``; the
  task resumes once, with the outcome: it succeeds on Completed (its XCom is a
  summary of the job), fails with ``TrainingJobFailedError`` carrying the
  FailureReason, with ``TrainingJobStoppedError`` on Stopped unless
  *allow_stopped*, with ``TrainingJobWaitTimeoutError`` after *timeout*, and with
  ``TrainingJobNotFoundError`` for a job that does not exist.
* ``TrainingJobTrigger`` waits as long as the job runs (no attempt cap), rides
  out throttling and transient errors as the library does, logs each status
  transition into the task's log once, and fires one ``TriggerEvent`` whose
  payload's ``"status"`` is ``completed``, ``failed``, ``stopped``,
  ``timed_out``, ``not_found`` or ``error``.
* **Every trigger in one triggerer process shares one fleet** per AWS connection
  (connection id, region, verify, botocore config): one client, one rate budget,
  ``ListTrainingJobs`` change detection. So 500 deferred tasks cost what one
  ``FleetWatcher`` of 500 jobs costs, not 500 pollers. A trigger that is
  cancelled, or moved to another triggerer, leaves its job; the fleet forgets a
  job no trigger waits for, and closes when no trigger is left.
* **Push hints** (``sqs_queue_url``): told the SQS queue an EventBridge rule
  sends SageMaker's "Training Job State Change" events to, the fleet reads it
  (``SqsHints``) and describes a job when an event about it arrives, so each
  change costs about one ``DescribeTrainingJob``; polling relaxes to a safety
  re-check and comes back if the queue fails or stays silent. Triggers on
  different queues get different fleets. **One queue per triggerer process and
  AWS connection** (one fleet): SQS hands each message to one reader, and a
  fleet deletes every message it reads, so two fleets on one queue (two
  triggerers, or two connections) each miss the other's hints, and their jobs
  wait for the safety re-check: slower, never wrong (docs/hints.md).
* Credentials, region and endpoint come from the amazon provider's AWS
  connection (``aws_conn_id``), through ``SageMakerHook``: assumed roles,
  profiles, ``endpoint_url`` in the connection's extra. Region, verify and
  botocore config are serialised with the trigger, so none is lost on deferral.
* **Training logs** (``logs=True``): while the task is deferred, the trigger
  follows the job's CloudWatch Logs (``sagemaker_watch.logs``) and writes each
  line into the task's log (``2024-05-06T09:37:59.006Z algo-1 | message``,
  control characters shown as escapes): every host, every restart, each line
  once, in time order; the job's last lines (a failed job's traceback) come
  before its outcome. The status still comes from the shared fleet; the logs
  reader describes the job on its own schedule, and every trigger of the
  process on one AWS connection shares one CloudWatch Logs client and rate
  budget (``CloudWatchLogs``: 4 ``GetLogEvents`` and 1 ``DescribeLogStreams``
  per second in all). Once the job has ended, the trigger waits for the last
  lines at most ``logs_drain`` seconds before it fires. A logs failure (access
  denied, say) is one warning in the task's log; the wait goes on.
* The trigger's ``serialize()`` carries a resume token once it has seen the job,
  so a trigger re-created from it logs only what followed; a *timeout* is kept
  as an absolute deadline, so a re-created trigger does not start it again.
  With ``logs=True`` it carries a logs resume token too: a trigger re-created
  from it prints only the lines that followed. Airflow stores a trigger's
  keywords when the task defers, though: a triggerer that re-creates it from
  those (after a failover) starts from the job's first line again, so lines
  printed before the failover can appear twice in the task's log (never lost).

Airflow's own shared streams (``BaseEventTrigger.shared_stream_key``) serve
event-driven scheduling; a deferred task's trigger is a ``BaseTrigger``, and the
stream's producer sees only one trigger's arguments (not which jobs the others
wait for), hence a fleet of our own per event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import weakref
from typing import TYPE_CHECKING, Any, ClassVar

import anyio
from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException
from airflow.triggers.base import BaseTrigger, TriggerEvent

from .._core.events import (
    Event,
    JobCompleted,
    JobEnded,
    JobFailed,
    JobLost,
    JobStopped,
    ProgressChanged,
)
from .._core.names import parse_job
from .._drivers.fleet import FleetWatcher
from .._drivers.hints import SqsHints
from .._drivers.logs import CloudWatchLogs, logs
from .._drivers.shared_fleets import OpenedFleet, SharedFleets
from .._errors import ConfigurationError, SageMakerWatchError, TrainingJobNotFound
from .._io.client import (
    ClientOptions,
    client_config,
    default_client,
    sqs_client,
)
from .._io.client import (
    logs_client as logs_client_for,
)
from .._io.clock import Clock, SystemClock
from ..cli._text import event_line, log_line, safe

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Hashable, Mapping

    from airflow.sdk import Context
    from types_aiobotocore_sagemaker import SageMakerClient

__all__ = [
    "TrainingJobFailedError",
    "TrainingJobNotFoundError",
    "TrainingJobStoppedError",
    "TrainingJobTrigger",
    "TrainingJobWaitError",
    "TrainingJobWaitTimeoutError",
    "WaitForTrainingJobOperator",
]

#: The fleets shared by every trigger of this process, one per event loop, AWS
#: connection and SQS queue.
SHARED_FLEETS = SharedFleets()


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _OpenedLogs:
    """The clients and settings the triggers of one AWS connection read logs with."""

    settings: CloudWatchLogs
    client: SageMakerClient


class _SharedLogs:
    """One CloudWatch Logs client and budget per event loop and AWS connection.

    The first trigger of a key in a loop opens the clients in a task of its
    own (they outlive any one trigger); the last one to leave closes them.
    """

    def __init__(self) -> None:
        """Start with nothing open."""
        self._by_loop: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[Hashable, _Shared]
        ] = weakref.WeakKeyDictionary()

    @contextlib.asynccontextmanager
    async def use(
        self,
        key: Hashable,
        open_logs: Callable[[], contextlib.AbstractAsyncContextManager[_OpenedLogs]],
    ) -> AsyncIterator[_OpenedLogs]:
        """Yield the clients shared under *key*, opening them if nobody has."""
        shared_here = self._by_loop.setdefault(asyncio.get_running_loop(), {})
        shared = shared_here.get(key)
        if shared is None:
            shared = shared_here[key] = _Shared(open_logs)
        shared.users += 1
        try:
            yield await asyncio.shield(shared.ready)
        finally:
            shared.users -= 1
            if shared.users == 0:
                if shared_here.get(key) is shared:
                    del shared_here[key]
                with anyio.CancelScope(shield=True):
                    await shared.close()


class _Shared:
    """Clients opened in a task of their own, until ``close()``."""

    def __init__(
        self,
        open_logs: Callable[[], contextlib.AbstractAsyncContextManager[_OpenedLogs]],
    ) -> None:
        loop = asyncio.get_running_loop()
        self.users = 0
        self.ready: asyncio.Future[_OpenedLogs] = loop.create_future()
        self._closing = asyncio.Event()
        self._task = loop.create_task(self._run(open_logs))

    async def _run(
        self,
        open_logs: Callable[[], contextlib.AbstractAsyncContextManager[_OpenedLogs]],
    ) -> None:
        try:
            async with open_logs() as opened:
                self.ready.set_result(opened)
                await self._closing.wait()
        except Exception as exc:  # noqa: BLE001 - handed to the waiting triggers
            if not self.ready.done():
                self.ready.set_exception(exc)

    async def close(self) -> None:
        self._closing.set()
        await self._task
        if not self.ready.cancelled() and self.ready.done():
            self.ready.exception()  # retrieved: no "never retrieved" warning


#: The CloudWatch Logs clients shared by every trigger of this process that
#: follows logs, one per event loop and AWS connection (one rate budget).
SHARED_LOGS = _SharedLogs()


class TrainingJobWaitError(AirflowException):
    """The training job did not complete; ``payload`` is the trigger's outcome."""

    def __init__(self, message: str, payload: Mapping[str, Any]) -> None:
        """Build the error from the trigger's *payload*."""
        super().__init__(message)
        self.payload = dict(payload)
        self.job_name: str | None = payload.get("job_name")


class TrainingJobFailedError(TrainingJobWaitError):
    """The job Failed; ``failure_reason`` is SageMaker's FailureReason."""

    def __init__(self, message: str, payload: Mapping[str, Any]) -> None:
        """Build the error from the trigger's *payload*."""
        super().__init__(message, payload)
        self.failure_reason: str | None = payload.get("failure_reason")


class TrainingJobStoppedError(TrainingJobWaitError):
    """The job was Stopped; ``reason`` is how (Stopped, MaxRuntimeExceeded, ...)."""

    def __init__(self, message: str, payload: Mapping[str, Any]) -> None:
        """Build the error from the trigger's *payload*."""
        super().__init__(message, payload)
        self.reason: str | None = payload.get("stop_reason")


class TrainingJobWaitTimeoutError(TrainingJobWaitError):
    """The wait's *timeout* ran out before the job ended."""


class TrainingJobNotFoundError(TrainingJobWaitError):
    """No training job of that name (after the grace period for new jobs)."""


_ERRORS: dict[str, type[TrainingJobWaitError]] = {
    "failed": TrainingJobFailedError,
    "stopped": TrainingJobStoppedError,
    "timed_out": TrainingJobWaitTimeoutError,
    "not_found": TrainingJobNotFoundError,
    "error": TrainingJobWaitError,
}


class TrainingJobTrigger(BaseTrigger):
    """Wait for one training job in the triggerer, on the process's shared fleet.

    Fires one ``TriggerEvent``; its payload is a JSON object with ``status``
    (``completed``, ``failed``, ``stopped``, ``timed_out``, ``not_found`` or
    ``error``), ``job_name``, ``message`` (one line for the task's log), and
    where known ``job_arn``, ``failure_reason``, ``stop_reason`` (Stopped,
    MaxRuntimeExceeded, MaxWaitTimeExceeded), ``training_time_seconds``,
    ``billable_time_seconds``, ``model_artifacts`` and ``resume_token``.

    Args:
        job_name: the training job's name or ARN.
        aws_conn_id: the amazon provider's AWS connection (credentials, region,
            ``endpoint_url``); ``None`` for the standard credential chain.
        region_name: the AWS region, overriding the connection's.
        verify: whether to verify TLS certificates (or a CA bundle's path).
        botocore_config: botocore ``Config`` keywords, over the library's own
            (botocore's retries off: the library retries).
        deadline: an absolute deadline (POSIX seconds) after which the trigger
            fires ``timed_out``; ``None`` waits as long as the job runs.
        resume: a resume token: log and report only what followed it.
        stop_on_kill: stop the training job when a user kills the task.
        sqs_queue_url: the SQS queue an EventBridge rule sends SageMaker's
            training job state-change events to: the shared fleet describes a
            job when an event about it arrives (push hints, ``SqsHints``),
            read through a client of the same AWS connection. One queue per
            triggerer process and connection: a fleet deletes every message
            it reads, so two fleets on one queue each miss the other's hints
            and wait for the safety re-check. ``None`` polls only.
        logs: write the job's training log lines into the task's log while
            waiting (every host's, each once; see the module's notes).
        logs_resume: a logs resume token: print only the lines after it.
    """

    #: The clock the shared fleets run on (the fake SageMaker's in tests).
    clock: ClassVar[Clock] = SystemClock()
    #: ``FleetWatcher`` keywords for the shared fleets (rates, intervals).
    fleet_options: ClassVar[Mapping[str, Any]] = {}
    #: ``SqsHints`` keywords for the shared fleets' hints (``ceiling``, ...).
    hints_options: ClassVar[Mapping[str, Any]] = {}
    #: ``CloudWatchLogs`` keywords for the shared logs settings (rates, drain).
    logs_options: ClassVar[Mapping[str, Any]] = {}
    #: Seconds the trigger waits for a job's last lines once the job has
    #: ended, before it fires anyway.
    logs_drain: ClassVar[float] = 120.0

    def __init__(
        self,
        job_name: str,
        *,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: Mapping[str, Any] | None = None,
        deadline: float | None = None,
        resume: str | None = None,
        stop_on_kill: bool = False,
        sqs_queue_url: str | None = None,
        logs: bool = False,
        logs_resume: str | None = None,
    ) -> None:
        """Keep what the trigger needs; nothing is sent before ``run()``.

        Raises:
            InvalidJobName: at once, for a name or ARN SageMaker would reject.
            ValueError: at once, for an empty *sqs_queue_url* (or
                ``hints_options`` out of range).
        """
        super().__init__()
        parse_job(job_name)  # raises InvalidJobName
        self._hints = (
            None
            if sqs_queue_url is None
            else SqsHints(sqs_queue_url, **self.hints_options)  # raises ValueError
        )
        self.sqs_queue_url = sqs_queue_url
        self.job_name = job_name
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.verify = verify
        self.botocore_config = dict(botocore_config or {})
        self.deadline = deadline
        self.resume = resume
        self.stop_on_kill = stop_on_kill
        self.logs = logs
        self.logs_resume = logs_resume
        self._ending: str | None = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the class path and keywords that re-create this trigger."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_name": self.job_name,
                "aws_conn_id": self.aws_conn_id,
                "region_name": self.region_name,
                "verify": self.verify,
                "botocore_config": self.botocore_config,
                "deadline": self.deadline,
                "resume": self.resume,
                "stop_on_kill": self.stop_on_kill,
                "sqs_queue_url": self.sqs_queue_url,
                "logs": self.logs,
                "logs_resume": self.logs_resume,
            },
        )

    def _hook(self) -> SageMakerHook:
        return SageMakerHook(
            aws_conn_id=self.aws_conn_id,
            region_name=self.region_name,
            verify=self.verify,
            config=client_config(self.botocore_config),
        )

    def _client_settings(self, service: str = "sagemaker") -> tuple[Any, ClientOptions]:
        """Read the AWS connection (blocking: run it in a thread).

        Returns the connection's aiobotocore session (its credentials: keys, a
        profile, an assumed role) and the client's options.

        Raises:
            ConfigurationError: the connection could not be read or used.
        """
        try:
            hook = self._hook()
            session = hook.get_session(region_name=hook.region_name, deferrable=True)
            endpoint = hook.conn_config.get_service_endpoint_url(service)
            region = hook.region_name
            verify = hook.verify
        except Exception as exc:
            msg = f"AWS connection {self.aws_conn_id!r}: {safe(str(exc))}"
            raise ConfigurationError(msg, code=type(exc).__name__) from exc
        options = ClientOptions(
            region=region,
            endpoint_url=endpoint,
            verify=verify,
            botocore_config=self.botocore_config,
        )
        return session, options

    def _key(self) -> Hashable:
        return (*self._connection_key(), self.sqs_queue_url)

    def _connection_key(self) -> tuple[Hashable, ...]:
        return (
            self.aws_conn_id,
            self.region_name,
            json.dumps(self.verify),
            json.dumps(self.botocore_config, sort_keys=True, default=str),
        )

    @contextlib.asynccontextmanager
    async def _open_logs(self) -> AsyncIterator[_OpenedLogs]:
        """Open the connection's SageMaker and CloudWatch Logs clients, shared."""
        session, options = await anyio.to_thread.run_sync(self._client_settings)
        _, logs_options = await anyio.to_thread.run_sync(self._client_settings, "logs")
        async with contextlib.AsyncExitStack() as stack:
            client = await stack.enter_async_context(
                default_client(options, session=session)
            )
            logs_client = await stack.enter_async_context(
                logs_client_for(
                    logs_options,
                    endpoint_url=logs_options.endpoint_url,
                    session=session,
                )
            )
            settings = CloudWatchLogs(client=logs_client, **self.logs_options)
            yield _OpenedLogs(settings=settings, client=client)

    async def _print_logs(self, done: anyio.Event) -> None:
        """Write the job's log lines into the task's log until they end."""
        name = parse_job(self.job_name).name
        try:
            async with (
                SHARED_LOGS.use(self._connection_key(), self._open_logs) as opened,
                logs(
                    name,
                    settings=opened.settings,
                    client=opened.client,
                    clock=self.clock,
                    resume=self.logs_resume,
                ) as lines,
            ):
                async for line in lines:
                    self.log.info("%s", safe(log_line(line)))
                    self.logs_resume = lines.resume_token
        except Exception as exc:  # noqa: BLE001 - the wait goes on without logs
            detail = safe(str(exc)) if isinstance(exc, SageMakerWatchError) else ""
            self.log.warning(
                "training logs of %s unavailable (%s) %s",
                name,
                type(exc).__name__,
                detail,
            )
        finally:
            done.set()

    @contextlib.asynccontextmanager
    async def _open_fleet(self) -> AsyncIterator[OpenedFleet]:
        """Open the clients (as the library opens its own) and the shared fleet.

        With a queue, its SQS client comes from the same connection's session
        and closes with the fleet.
        """
        clock = self.clock
        session, options = await anyio.to_thread.run_sync(self._client_settings)
        async with contextlib.AsyncExitStack() as stack:
            client = await stack.enter_async_context(
                default_client(options, session=session)
            )
            hints = self._hints
            if hints is not None:
                sqs = await stack.enter_async_context(
                    sqs_client(options, queue_url=hints.queue_url, session=session)
                )
                hints = dataclasses.replace(hints, client=sqs)
            fleet = await stack.enter_async_context(
                FleetWatcher(
                    client=client, clock=clock, hints=hints, **self.fleet_options
                )
            )
            yield OpenedFleet(fleet=fleet, client=client, clock=clock)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Wait for the job on the shared fleet; fire one event with the outcome."""
        outcome: dict[str, Any] | None = None

        async def follow() -> None:
            nonlocal outcome
            outcome = await self._follow()
            tg.cancel_scope.cancel()

        async with anyio.create_task_group() as printing:
            printed = anyio.Event()
            if self.logs:
                printing.start_soon(self._print_logs, printed)
            async with anyio.create_task_group() as tg:
                tg.start_soon(follow)
                if self.deadline is not None:  # on the fleet's clock, like its polls
                    await self.clock.sleep(self.deadline - self.clock.now().timestamp())
                    tg.cancel_scope.cancel()
            if self.logs and self._ending is not None:
                await self._last_lines(printed)
            printing.cancel_scope.cancel()
        if self._ending is not None:
            self.log.info("%s", self._ending)
        if outcome is None:
            outcome = self._payload("timed_out", "the wait's timeout ran out")
        yield TriggerEvent(outcome)

    async def _last_lines(self, printed: anyio.Event) -> None:
        """Wait until the job's last lines are printed, ``logs_drain`` s at most.

        Real seconds, not the clock's: reading the last lines takes requests,
        which a compressed clock does not speed up.
        """
        with anyio.move_on_after(self.logs_drain):
            await printed.wait()

    async def _follow(self) -> dict[str, Any]:
        try:
            async with SHARED_FLEETS.subscribe(
                self._key(), self._open_fleet, self.job_name, resume=self.resume
            ) as events:
                async for event in events:
                    if (payload := self._seen(event)) is not None:
                        return payload
        except TrainingJobNotFound as exc:
            return self._payload("not_found", safe(str(exc)))
        except SageMakerWatchError as exc:
            return self._payload("error", safe(str(exc)), error=type(exc).__name__)
        return self._payload("error", "the job's events ended without an outcome")

    def _seen(self, event: Event) -> dict[str, Any] | None:
        """Log *event* into the task's log; return the outcome if it is one."""
        if isinstance(event, JobLost):
            status = (
                "not_found" if isinstance(event.error, TrainingJobNotFound) else "error"
            )
            return self._payload(
                status, safe(str(event.error)), error=type(event.error).__name__
            )
        self.resume = event.resume_token
        if isinstance(event, JobEnded):  # logged after the job's last lines
            self._ending = safe(event_line(event))
        elif not isinstance(event, ProgressChanged):
            self.log.info("%s", safe(event_line(event)))
        if not isinstance(event, JobEnded):
            return None
        snapshot = event.snapshot
        summary = {
            "job_arn": snapshot.job_arn,
            "training_time_seconds": snapshot.training_time_seconds,
            "billable_time_seconds": snapshot.billable_time_seconds,
            "model_artifacts": snapshot.model_artifacts,
        }
        if isinstance(event, JobCompleted):
            return self._payload("completed", "Completed", **summary)
        if isinstance(event, JobFailed):
            reason = event.failure_reason or "no FailureReason given"
            return self._payload(
                "failed",
                f"Failed: {safe(reason)}",
                failure_reason=event.failure_reason,
                **summary,
            )
        assert isinstance(event, JobStopped)  # noqa: S101 - the three JobEnded kinds
        return self._payload(
            "stopped",
            f"Stopped ({safe(str(event.reason))})",
            stop_reason=str(event.reason),
            **summary,
        )

    def _payload(self, status: str, message: str, **fields: Any) -> dict[str, Any]:  # noqa: ANN401
        return {
            "status": status,
            "job_name": parse_job(self.job_name).name,
            "message": message,
            "resume_token": self.resume,
            **fields,
        }

    async def on_kill(self) -> None:
        """Stop the training job if *stop_on_kill* (a user killed the task)."""
        if not self.stop_on_kill:
            return
        name = parse_job(self.job_name).name
        try:
            session, options = await anyio.to_thread.run_sync(self._client_settings)
            async with default_client(options, session=session) as client:
                await client.stop_training_job(TrainingJobName=name)
        except Exception as exc:  # noqa: BLE001 - logged; the kill goes on
            self.log.warning(
                "could not stop training job %s: %s", name, safe(type(exc).__name__)
            )
        else:
            self.log.info("asked SageMaker to stop training job %s", name)


class WaitForTrainingJobOperator(BaseOperator):
    """Wait for a SageMaker training job in a deferred task, without a worker slot.

    Defers at once to ``TrainingJobTrigger`` (on the triggerer's shared fleet);
    resumes once with the outcome. On Completed it returns a summary (its XCom):
    ``job_name``, ``job_arn``, ``status``, ``training_time_seconds``,
    ``billable_time_seconds`` and ``model_artifacts``.

    Args:
        job_name: the training job's name or ARN (templated).
        aws_conn_id: the amazon provider's AWS connection.
        region_name: the AWS region, overriding the connection's.
        verify: whether to verify TLS certificates (or a CA bundle's path).
        botocore_config: botocore ``Config`` keywords.
        allow_stopped: succeed on a Stopped job too (fail by default).
        timeout: fail with ``TrainingJobWaitTimeoutError`` after this long
            (seconds or a ``timedelta``); ``None`` waits as long as the job runs.
        stop_on_kill: stop the training job when a user kills the task.
        sqs_queue_url: the SQS queue of SageMaker's state-change events, for
            push hints (templated; one queue per triggerer process and
            connection: see ``TrainingJobTrigger``); ``None`` polls only.
        logs: write the job's training log lines into the task's log while
            it is deferred (every host's, each once, the last ones before the
            outcome); off by default.
        **kwargs: ``BaseOperator`` keywords.

    Raises (in the task):
        TrainingJobFailedError: the job failed; ``.failure_reason`` says why.
        TrainingJobStoppedError: the job was stopped (unless *allow_stopped*).
        TrainingJobWaitTimeoutError: *timeout* ran out.
        TrainingJobNotFoundError: there is no such job.
        TrainingJobWaitError: the wait failed otherwise (access denied, say).
    """

    template_fields = ("job_name", "sqs_queue_url")
    ui_color = "#ffcc80"

    def __init__(
        self,
        *,
        job_name: str,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: Mapping[str, Any] | None = None,
        allow_stopped: bool = False,
        timeout: float | dt.timedelta | None = None,
        stop_on_kill: bool = False,
        sqs_queue_url: str | None = None,
        logs: bool = False,
        **kwargs: Any,  # noqa: ANN401 - BaseOperator's
    ) -> None:
        """Configure the wait; nothing is sent before the task runs."""
        super().__init__(**kwargs)
        self.job_name = job_name
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.verify = verify
        self.botocore_config = dict(botocore_config or {})
        self.allow_stopped = allow_stopped
        self.wait_timeout = (
            timeout.total_seconds() if isinstance(timeout, dt.timedelta) else timeout
        )
        self.stop_on_kill = stop_on_kill
        self.sqs_queue_url = sqs_queue_url
        self.logs = logs

    def execute(self, context: Context) -> None:  # noqa: ARG002 - Airflow's signature
        """Defer to ``TrainingJobTrigger`` at once (an invalid name fails here)."""
        deadline = (
            None
            if self.wait_timeout is None
            else TrainingJobTrigger.clock.now().timestamp() + self.wait_timeout
        )
        self.defer(
            trigger=TrainingJobTrigger(
                self.job_name,
                aws_conn_id=self.aws_conn_id,
                region_name=self.region_name,
                verify=self.verify,
                botocore_config=self.botocore_config,
                deadline=deadline,
                stop_on_kill=self.stop_on_kill,
                sqs_queue_url=self.sqs_queue_url,
                logs=self.logs,
            ),
            method_name="execute_complete",
        )

    def execute_complete(
        self,
        context: Context,  # noqa: ARG002 - Airflow's signature
        event: Mapping[str, Any],
    ) -> dict[str, Any]:
        """Resume with the trigger's outcome: return a summary, or raise."""
        status = event.get("status")
        message = f"training job {event.get('job_name')}: {event.get('message')}"
        if status == "completed" or (status == "stopped" and self.allow_stopped):
            self.log.info("%s", message)
            return {
                "job_name": event.get("job_name"),
                "job_arn": event.get("job_arn"),
                "status": "Completed" if status == "completed" else "Stopped",
                "training_time_seconds": event.get("training_time_seconds"),
                "billable_time_seconds": event.get("billable_time_seconds"),
                "model_artifacts": event.get("model_artifacts"),
            }
        raise _ERRORS.get(str(status), TrainingJobWaitError)(message, event)
