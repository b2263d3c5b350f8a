"""The simulated SageMaker: the jobs it holds and the operations it answers, no sockets.

:class:`SimulatedSageMaker` answers ``CreateTrainingJob``, ``DescribeTrainingJob``,
``ListTrainingJobs``, ``StopTrainingJob`` and ``DeleteTrainingJob`` as functions of
a request dict and the simulated time: each returns the answer dict or raises
:class:`ApiError`, the error the service would send. The HTTP adapter
(:class:`~sagemaker_watch.testing.FakeSageMaker`) puts it on the wire.

The concerns it draws on live beside it: ``_quotas`` (quotas and request
accounting), ``_validation`` (what a create refuses), ``_listing`` (list requests,
pages and filters), ``_jobs`` (a job and its answers), ``_plan`` (a timeline in
simulated time), ``_eventbridge`` (the state-change events of each job) and
``_sqs`` (the queues those events are published into).
"""

from __future__ import annotations

import dataclasses
import json
import random
from typing import TYPE_CHECKING, Any, Final, Protocol

from ._clocks import ManualClock
from ._errors import NOT_FOUND, ApiError, validation_error
from ._eventbridge import EventPublisher, EventStatistics
from ._faults import ArmedFault
from ._jobs import SimulatedJob, default_request
from ._listing import ListQuery
from ._logs import DEFAULT_TOKEN_TTL, LOG_OPERATIONS, SimulatedLogs, job_of
from ._quotas import DEFAULT_QUOTAS, RequestMeter
from ._sqs import DEFAULT_VISIBILITY_TIMEOUT, SimulatedQueue
from ._validation import (
    check_name,
    check_stopping_condition,
    name_in_use,
    resolve_timeline,
    tagged_timeline,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from ._faults import Fault
    from ._logs import WrittenLine
    from ._quotas import FakeStatistics, Quota
    from ._timelines import Timeline

JSON = dict[str, Any]

#: Simulated seconds a deleted job shows ``Deleting`` before it is gone.
DELETING_SECONDS = 10.0
#: The operations the simulated service answers.
OPERATIONS: Final = (
    "CreateTrainingJob",
    "DescribeTrainingJob",
    "ListTrainingJobs",
    "StopTrainingJob",
    "DeleteTrainingJob",
)


class SimulatedTime(Protocol):
    """The simulated time the service reads, such as a :class:`ManualClock`."""

    def timestamp(self) -> float:
        """Return the simulated time, in seconds since the epoch."""
        ...


class SimulatedSageMaker:
    """The simulated SageMaker service for training jobs, without any transport.

    Each operation is a method taking the request dict (the JSON body AWS
    receives) that returns the answer dict or raises :class:`ApiError`, at the
    simulated time of *clock*. :meth:`call` is the whole path of one request:
    it is counted, charged to its operation's quota, then answered. Jobs follow
    scripted :class:`~sagemaker_watch.testing.Timeline` s; timestamps in answers
    are float seconds, as the JSON protocol sends them.

    Example::

        service = SimulatedSageMaker(clock=ManualClock())
        service.add_job("my-job", "plain")
        service.call("DescribeTrainingJob", {"TrainingJobName": "my-job"})
    """

    def __init__(
        self,
        *,
        clock: SimulatedTime | None = None,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        default_timeline: Timeline | str = "plain",
        quotas: Mapping[str, Quota | None] = DEFAULT_QUOTAS,
        events_queue: str | None = None,
        seed: int = 0,
        log_token_ttl: float = DEFAULT_TOKEN_TTL,
    ) -> None:
        """Build an empty service.

        Args:
            clock: The simulated time; a fresh :class:`ManualClock` by default.
            region: The region in ARNs.
            account_id: The account in ARNs.
            default_timeline: The timeline of jobs created without a
                ``sagemaker-watch:timeline`` tag: a :class:`Timeline` or the name
                of a ready-made one.
            quotas: Request quotas per operation; ``None`` values disable one.
            events_queue: The name of a queue to create and to publish every
                job's EventBridge state-change events into (see
                :meth:`route_events`); ``None`` publishes nowhere.
            seed: Seeds event ids, the dice of event faults and the ingestion
                delays of log lines.
            log_token_ttl: Simulated seconds a CloudWatch Logs token stays valid
                (24 hours, as the service documents).

        Raises:
            ValueError: If *default_timeline* names no ready-made timeline.
        """
        self._clock: SimulatedTime = clock if clock is not None else ManualClock()
        self._region = region
        self._account_id = account_id
        self._default_timeline = resolve_timeline(default_timeline)
        self._jobs: dict[str, SimulatedJob] = {}
        self._meter = RequestMeter(quotas)
        self._publisher = EventPublisher(
            account_id=account_id,
            region=region,
            rng=random.Random(seed),  # noqa: S311 - event ids, not crypto
        )
        self._event_rng = random.Random(seed + 1)  # noqa: S311 - fault dice
        self._event_faults: list[ArmedFault] = []
        self._queues: dict[str, SimulatedQueue] = {}
        self._events_to: str | None = None
        self._event_counts = dict.fromkeys(
            ("emitted", "delivered", "dropped", "duplicated", "delayed"), 0
        )
        self._logs = SimulatedLogs(
            jobs=self._jobs,
            seed=seed,
            region=region,
            account_id=account_id,
            token_ttl=log_token_ttl,
        )
        if events_queue is not None:
            self.route_events(events_queue)
        self._operations: Mapping[str, Callable[[JSON], JSON]] = {
            **{op: self._log_operation(op) for op in LOG_OPERATIONS},
            "CreateTrainingJob": self.create_training_job,
            "DescribeTrainingJob": self.describe_training_job,
            "ListTrainingJobs": self.list_training_jobs,
            "StopTrainingJob": self.stop_training_job,
            "DeleteTrainingJob": self.delete_training_job,
        }

    @property
    def clock(self) -> SimulatedTime:
        """The simulated time the service answers at."""
        return self._clock

    @property
    def region(self) -> str:
        """The region in ARNs."""
        return self._region

    @property
    def account_id(self) -> str:
        """The account in ARNs."""
        return self._account_id

    def __repr__(self) -> str:
        """Return ``SimulatedSageMaker(jobs=..., clock=...)``."""
        return f"SimulatedSageMaker(jobs={len(self._jobs)}, clock={self._clock!r})"

    # -- one request, as the wire delivers it ------------------------------------

    def call(self, operation: str, request: JSON) -> JSON:
        """Receive, charge and answer one request, as the service does.

        Args:
            operation: The operation name, such as ``"DescribeTrainingJob"``.
            request: The request members.

        Returns:
            The answer members.

        Raises:
            ApiError: ``UnknownOperationException``, ``ThrottlingException`` when
                the operation's quota is spent, or the operation's own error.
        """
        self.receive(
            operation, request, job_of(request) if operation in LOG_OPERATIONS else None
        )
        if operation not in self._operations:
            raise ApiError(
                "UnknownOperationException", f"Unknown operation {operation}"
            )
        self.charge(operation)
        return self.answer(operation, request)

    def receive(
        self, operation: str, request: JSON, job_name: str | None = None
    ) -> None:
        """Count a request that arrived, whatever answers it.

        It counts for *job_name*, or else for the ``TrainingJobName`` it names.
        """
        self._meter.receive(operation, request, job_name)

    def charge(self, operation: str) -> None:
        """Take one token from *operation*'s quota, if it has one.

        Raises:
            ApiError: ``ThrottlingException`` (counted as throttled) when the
                quota is spent.
        """
        self._meter.charge(operation, self._now())

    def record_fault(self, operation: str, *, throttled: bool = False) -> None:
        """Count a request that an injected fault answered (and if it throttled)."""
        self._meter.record_fault(operation, throttled=throttled)

    def answer(self, operation: str, request: JSON) -> JSON:
        """Answer *request* to *operation*, neither counted nor charged.

        Raises:
            ApiError: ``UnknownOperationException`` or the operation's own error.
        """
        handler = self._operations.get(operation)
        if handler is None:
            raise ApiError(
                "UnknownOperationException", f"Unknown operation {operation}"
            )
        return handler(request)

    # -- the operations -----------------------------------------------------------

    def create_training_job(self, request: JSON) -> JSON:
        """Answer ``CreateTrainingJob``: validate, then start the job's timeline.

        A ``sagemaker-watch:timeline`` tag picks a ready-made timeline; request
        members replace the realistic defaults.

        Raises:
            ApiError: ``ValidationException`` for a bad name, tag or
                ``StoppingCondition``; ``ResourceInUse`` for a taken name.
        """
        timeline = tagged_timeline(request.get("Tags") or [], self._default_timeline)
        return {
            "TrainingJobArn": self._create(
                request.get("TrainingJobName"), timeline, request
            )
        }

    def describe_training_job(self, request: JSON) -> JSON:
        """Answer ``DescribeTrainingJob`` with the job as it is now.

        Raises:
            ApiError: ``ValidationException`` "Requested resource not found."
        """
        job = self._lookup(request.get("TrainingJobName"))
        if job is None:
            raise validation_error(NOT_FOUND)
        return job.describe(self._now())

    def list_training_jobs(self, request: JSON) -> JSON:
        """Answer ``ListTrainingJobs``: sort, cut the page, then filter it.

        As the service does, ``MaxResults`` cuts the page before the filters
        apply, so a filtered page can be short or empty and still carry a
        ``NextToken``.

        Raises:
            ApiError: ``ValidationException`` for bad members or a token written
                for another sort.
        """
        query = ListQuery.parse(request)
        self._purge()
        now = self._now()
        # Only a sort by status needs every job's state; otherwise the page's
        # jobs alone are summarised (a sweep of 10,000 jobs reads 100 pages).
        by_status = query.sort_by == "Status"
        rows = []
        for job in self._jobs.values():
            primary = ""
            if by_status:
                primary = (
                    "Deleting"
                    if job.deleting_at is not None
                    else job.plan.primary_at(max(now, job.created))
                )
            rows.append((query.sort_key(job.name, job.created, primary), job))
        page, token = query.page(rows)
        listed = (job.listed(job.plan.summary(now), now) for job in page)
        answer: JSON = {
            "TrainingJobSummaries": [row.row() for row in listed if query.keeps(row)]
        }
        if token is not None:
            answer["NextToken"] = token
        return answer

    def stop_training_job(self, request: JSON) -> JSON:
        """Answer ``StopTrainingJob``: the job turns ``Stopping`` at once.

        Raises:
            ApiError: ``ValidationException`` if the job is missing or not in
                progress.
        """
        self._stop(request.get("TrainingJobName"))
        return {}

    def delete_training_job(self, request: JSON) -> JSON:
        """Answer ``DeleteTrainingJob``: the job shows ``Deleting``, then is gone.

        Raises:
            ApiError: ``ValidationException`` if the job is missing, in progress
                or stopping.
        """
        job = self._lookup(request.get("TrainingJobName"))
        if job is None:
            raise validation_error(NOT_FOUND)
        if job.deleting_at is None:
            now = self._now()
            status = job.plan.primary_at(now)
            if status in {"InProgress", "Stopping"}:
                raise validation_error(
                    "The request was rejected because the training job is in status "
                    f"{status}. Stop the training job before deleting it."
                )
            self.publish_events()
            job.deleting_at = round(now, 3)
        return {}

    # -- jobs from Python ----------------------------------------------------------

    def add_job(
        self,
        name: str,
        timeline: Timeline | str | None = None,
        **request: object,
    ) -> str:
        """Create a job at the current simulated time, uncounted and unthrottled.

        Args:
            name: The training job name.
            timeline: A :class:`Timeline`, the name of a ready-made one, or
                ``None`` for the default.
            **request: ``CreateTrainingJob`` request members replacing the
                realistic defaults.

        Returns:
            The job's ARN.

        Raises:
            ValueError: If the name is invalid or taken.
        """
        try:
            return self._create(
                name,
                resolve_timeline(timeline or self._default_timeline),
                dict(request),
            )
        except ApiError as exc:
            raise ValueError(exc.message) from None

    def stop_job(self, name: str) -> None:
        """Stop a job in progress, as ``StopTrainingJob`` does.

        Raises:
            KeyError: If there is no such job.
            ValueError: If the job is not in progress.
        """
        try:
            self._stop(name)
        except ApiError as exc:
            if exc.message == NOT_FOUND:
                raise KeyError(name) from None
            raise ValueError(exc.message) from None

    def delete_job(self, name: str) -> None:
        """Forget a job at once, whatever its state, so its name can be reused.

        Raises:
            KeyError: If there is no such job.
        """
        self.publish_events()
        self._purge()
        job = self._jobs.pop(name)
        self._publisher.forget(job)

    def describe_job(self, name: str) -> JSON:
        """Return what ``DescribeTrainingJob`` would answer now.

        Raises:
            KeyError: If there is no such job.
        """
        job = self._lookup(name)
        if job is None:
            raise KeyError(name)
        return job.describe(self._now())

    def job_names(self) -> tuple[str, ...]:
        """Return the names of all jobs, in creation order."""
        self._purge()
        return tuple(self._jobs)

    # -- quotas and accounting -------------------------------------------------------

    def set_quota(
        self, operation: str, *, per_second: float | None, burst: float = 1.0
    ) -> None:
        """Set *operation*'s request quota, on simulated time; ``None`` disables it."""
        self._meter.set_quota(operation, per_second=per_second, burst=burst)

    def statistics(self) -> FakeStatistics:
        """Return the requests received so far, per operation and per job."""
        return self._meter.statistics()

    def request_count(
        self, operation: str | None = None, job_name: str | None = None
    ) -> int:
        """Return how many requests arrived for *operation* and *job_name*.

        ``None`` for either means any.
        """
        return self._meter.request_count(operation, job_name)

    def reset_statistics(self) -> None:
        """Set every request counter back to zero."""
        self._meter.reset()

    # -- CloudWatch Logs --------------------------------------------------------------

    def written_lines(self, name: str) -> tuple[WrittenLine, ...]:
        """Return every log line job *name* wrote so far, in write order.

        The ground truth of the job's CloudWatch Logs: each line's stream,
        timestamp, ingestion time (maybe still to come) and message.

        Raises:
            KeyError: If there is no such job.
        """
        self._purge()
        return self._logs.written_lines(name, self._now())

    def expire_log_tokens(self) -> None:
        """Reject every CloudWatch Logs token issued so far, as expired ones are."""
        self._logs.expire_tokens()

    def _log_operation(self, operation: str) -> Callable[[JSON], JSON]:
        def answer(request: JSON) -> JSON:
            self._purge()
            return self._logs.answer(operation, request, self._now())

        return answer

    # -- EventBridge events into SQS queues --------------------------------------

    def create_queue(
        self, name: str, *, visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT
    ) -> SimulatedQueue:
        """Create the SQS queue *name* (or return it, if it exists).

        Args:
            name: The queue's name.
            visibility_timeout: Seconds a received message stays hidden.

        Returns:
            The queue.
        """
        queue = self._queues.get(name)
        if queue is None:
            queue = SimulatedQueue(
                name,
                account_id=self.account_id,
                region=self.region,
                visibility_timeout=visibility_timeout,
            )
            self._queues[name] = queue
        return queue

    def queue(self, name: str) -> SimulatedQueue:
        """Return the SQS queue *name*.

        Raises:
            KeyError: If there is no such queue.
        """
        return self._queues[name]

    def route_events(self, name: str | None) -> None:
        """Publish every job's state-change events into queue *name* from now on.

        The queue is created if needed; ``None`` stops publishing. Events of
        changes before the call are not sent: like an EventBridge rule, the route
        sees changes from its creation.
        """
        self.publish_events()
        if name is not None:
            self.create_queue(name)
        self._events_to = name

    def publish_events(self) -> int:
        """Deliver the events of every change up to now; return how many arrived.

        Each message becomes visible at the instant of its change (later, under
        a delay fault), so reading a queue after the clock jumped shows exactly
        what SQS would hold. The fake calls this before every SQS request; call
        it yourself to inspect a :meth:`queue` directly.
        """
        events = self._publisher.publish(self._now())
        queue = self._queues.get(self._events_to) if self._events_to else None
        delivered = 0
        for at, job, event in events:
            if queue is None:
                continue
            self._event_counts["emitted"] += 1
            times = self._apply_event_faults(at, job)
            body = json.dumps(event, separators=(",", ":"))
            for when in times:
                queue.send(body, at=when)
            delivered += len(times)
        self._event_counts["delivered"] += delivered
        return delivered

    def next_event_instant(self) -> float | None:
        """Return the earliest instant at which a change may publish an event."""
        return self._publisher.next_instant() if self._events_to else None

    def inject_event_faults(self, *faults: Fault) -> None:
        """Arm faults on the delivery of events (``Fault.drop_event`` and kin)."""
        self._event_faults.extend(ArmedFault(fault) for fault in faults)

    def clear_event_faults(self) -> None:
        """Disarm every fault on the delivery of events."""
        self._event_faults.clear()

    def event_statistics(self) -> EventStatistics:
        """Return what happened to the state-change events so far."""
        return EventStatistics(**self._event_counts)

    def _apply_event_faults(self, at: float, job: SimulatedJob) -> list[float]:
        times = [at]
        for armed in self._event_faults:
            if not armed.fires("PutEvents", job.name, self._event_rng, "events"):
                continue
            fault = armed.fault
            if fault.kind == "drop_event":
                times = []
                self._event_counts["dropped"] += 1
            elif fault.kind == "duplicate_event" and times:
                times.append(times[-1])
                self._event_counts["duplicated"] += 1
            elif fault.kind in {"delay_event", "reorder_events"}:
                extra = (
                    fault.seconds
                    if fault.kind == "delay_event"
                    else self._event_rng.uniform(0.0, fault.seconds)
                )
                times = [t + extra for t in times]
                self._event_counts["delayed"] += 1
        return times

    # -- internals -----------------------------------------------------------------

    def _now(self) -> float:
        return self._clock.timestamp()

    def _arn(self, name: str) -> str:
        where = f"{self.region}:{self.account_id}"
        return f"arn:aws:sagemaker:{where}:training-job/{name.lower()}"

    def _purge(self) -> None:
        now = self._now()
        gone = [
            name
            for name, job in self._jobs.items()
            if job.deleting_at is not None and now >= job.deleting_at + DELETING_SECONDS
        ]
        for name in gone:
            self._publisher.forget(self._jobs.pop(name))

    def _lookup(self, name: object) -> SimulatedJob | None:
        if not isinstance(name, str):
            return None
        job = self._jobs.get(name)
        if (
            job is not None
            and job.deleting_at is not None
            and self._now() >= job.deleting_at + DELETING_SECONDS
        ):
            self._publisher.forget(self._jobs.pop(name))
            return None
        return job

    def _create(self, name: object, timeline: Timeline, request: JSON) -> str:
        name = check_name(name)
        arn = self._arn(name)
        if self._lookup(name) is not None:
            raise name_in_use(arn)
        spot = bool(request.get("EnableManagedSpotTraining", timeline.spot))
        if spot != timeline.spot:
            timeline = dataclasses.replace(timeline, spot=spot)
        merged = default_request(
            timeline, region=self.region, account_id=self.account_id
        )
        merged.update({k: v for k, v in request.items() if k != "TrainingJobName"})
        check_stopping_condition(merged.get("StoppingCondition"), spot=spot)
        now = round(self._now(), 3)
        job = SimulatedJob(name, arn, timeline, merged, now)
        self._jobs[name] = job
        self._publisher.track(job)
        return arn

    def _stop(self, name: object) -> None:
        job = self._lookup(name)
        if job is None:
            raise validation_error(NOT_FOUND)
        now = self._now()
        status = job.primary_at(now)
        if status != "InProgress":
            raise validation_error(
                "The request was rejected because the training job is in status "
                f"{status}."
            )
        self.publish_events()
        job.plan = job.replan(stop_at=round(now, 3))
        self._publisher.track(job, since=round(now, 3))
