"""The simulated SageMaker: training jobs, timelines, listing and quotas, no sockets.

:class:`SimulatedSageMaker` answers ``CreateTrainingJob``, ``DescribeTrainingJob``,
``ListTrainingJobs``, ``StopTrainingJob`` and ``DeleteTrainingJob`` as functions of
a request dict and the simulated time: each returns the answer dict or raises
:class:`ApiError`, the error the service would send. The HTTP adapter
(:class:`~sagemaker_watch.testing.FakeSageMaker`) puts it on the wire.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import dataclasses
import json
import math
import re
import types
from collections import Counter
from typing import TYPE_CHECKING, Any, Final, Protocol

from ._clocks import ManualClock
from ._timelines import DEFAULT_MAX_RUNTIME, TIMELINES, JobState, Plan, Timeline

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

JSON = dict[str, Any]

#: The tag that picks a ready-made timeline for a job created over the API.
TIMELINE_TAG = "sagemaker-watch:timeline"
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

_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_NOT_FOUND = "Requested resource not found."
_PRIMARY_STATUSES = (
    "InProgress",
    "Completed",
    "Failed",
    "Stopping",
    "Stopped",
    "Deleting",
)
_LIST_ENUMS: Mapping[str, tuple[str, ...]] = {
    "StatusEquals": _PRIMARY_STATUSES,
    "SortBy": ("Name", "CreationTime", "Status"),
    "SortOrder": ("Ascending", "Descending"),
    "WarmPoolStatusEquals": ("Available", "Terminated", "Reused", "InUse"),
}
_PASSTHROUGH = (
    "VpcConfig",
    "CheckpointConfig",
    "DebugHookConfig",
    "ExperimentConfig",
    "DebugRuleConfigurations",
    "TensorBoardOutputConfig",
    "ProfilerConfig",
    "ProfilerRuleConfigurations",
    "RemoteDebugConfig",
    "InfraCheckConfig",
)
_BEFORE_WARM_POOL = (
    "HyperParameters",
    "AlgorithmSpecification",
    "RoleArn",
    "InputDataConfig",
    "OutputDataConfig",
    "ResourceConfig",
)
_FLAGS = (
    "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption",
    "EnableManagedSpotTraining",
)
_PROGRESS_MEMBERS = (
    "TotalStepCountPerEpoch",
    "CurrentStep",
    "CurrentEpoch",
    "MaxEpoch",
)


class ApiError(Exception):
    """An error answer of the simulated service, as AWS sends it.

    Attributes:
        code: The ``__type``, such as ``"ValidationException"``.
        message: The ``message``.
        status: The HTTP status.
    """

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        """Build the error from its *code*, *message* and HTTP *status*."""
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def __repr__(self) -> str:
        """Return ``ApiError('Code', 'message', status)``."""
        return f"ApiError({self.code!r}, {self.message!r}, {self.status})"


def _validation(message: str) -> ApiError:
    return ApiError("ValidationException", message)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Quota:
    """A per-operation request quota: a token bucket refilled on SIMULATED time.

    Attributes:
        per_second: Sustained requests per simulated second.
        burst: Requests allowed at once from a full bucket.
    """

    per_second: float
    burst: float = 1.0

    def __post_init__(self) -> None:
        """Reject empty quotas (use ``None`` to disable a quota instead)."""
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError("per_second must be positive and burst at least 1")


#: Quotas a new fake enforces unless told otherwise.
DEFAULT_QUOTAS: Mapping[str, Quota] = types.MappingProxyType(
    {"ListTrainingJobs": Quota(per_second=2.0, burst=2.0)}
)


class QuotaBucket:
    """The state of one :class:`Quota`: tokens left, refilled on simulated time."""

    __slots__ = ("_last", "_tokens", "quota")

    def __init__(self, quota: Quota, now: float) -> None:
        """Start full at simulated time *now*."""
        self.quota = quota
        self._tokens = quota.burst
        self._last = now

    def take(self, now: float) -> bool:
        """Take one token at simulated time *now*; return False when throttled."""
        elapsed = max(now - self._last, 0.0)
        self._last = max(now, self._last)
        self._tokens = min(
            self.quota.burst, self._tokens + elapsed * self.quota.per_second
        )
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FakeStatistics:
    """Requests a fake SageMaker has received, counted when they arrive.

    Attributes:
        requests: Requests per operation, faulted and throttled ones included.
        requests_by_job: Requests per ``(operation, job name)``.
        faulted: Requests per operation answered by an injected fault.
        throttled: Requests per operation answered ``ThrottlingException``, by a
            quota or by an injected throttle.
    """

    requests: Mapping[str, int]
    requests_by_job: Mapping[tuple[str, str], int]
    faulted: Mapping[str, int]
    throttled: Mapping[str, int]

    @property
    def total(self) -> int:
        """All requests received."""
        return sum(self.requests.values())

    def __repr__(self) -> str:
        """Return ``FakeStatistics(total=..., faulted=..., throttled=...)``."""
        return (
            f"FakeStatistics(total={self.total}, "
            f"faulted={sum(self.faulted.values())}, "
            f"throttled={sum(self.throttled.values())})"
        )


class _Accounting:
    """Mutable counters behind :class:`FakeStatistics`."""

    __slots__ = ("by_job", "faulted", "requests", "throttled")

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.by_job: Counter[tuple[str, str]] = Counter()
        self.faulted: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()

    def snapshot(self) -> FakeStatistics:
        return FakeStatistics(
            requests=types.MappingProxyType(dict(self.requests)),
            requests_by_job=types.MappingProxyType(dict(self.by_job)),
            faulted=types.MappingProxyType(dict(self.faulted)),
            throttled=types.MappingProxyType(dict(self.throttled)),
        )


class SimulatedTime(Protocol):
    """The simulated time the service reads, such as a :class:`ManualClock`."""

    def timestamp(self) -> float:
        """Return the simulated time, in seconds since the epoch."""
        ...


class _Job:
    __slots__ = ("arn", "created", "deleting_at", "name", "plan", "request", "timeline")

    def __init__(
        self, name: str, arn: str, timeline: Timeline, request: JSON, created: float
    ) -> None:
        self.name = name
        self.arn = arn
        self.timeline = timeline
        self.request = request
        self.created = created
        self.plan = self.replan()
        self.deleting_at: float | None = None

    def replan(self, stop_at: float | None = None) -> Plan:
        """Lay the timeline out under the request's ``StoppingCondition``."""
        return Plan(
            self.timeline,
            created=self.created,
            stop_at=stop_at,
            stopping_condition=self.request.get("StoppingCondition") or {},
        )


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

        Raises:
            ValueError: If *default_timeline* names no ready-made timeline.
        """
        self._clock: SimulatedTime = clock if clock is not None else ManualClock()
        self._region = region
        self._account_id = account_id
        self._default_timeline = _resolve(default_timeline)
        self._jobs: dict[str, _Job] = {}
        self._quotas: dict[str, Quota] = {
            op: q for op, q in quotas.items() if q is not None
        }
        self._buckets: dict[str, QuotaBucket] = {}
        self._accounting = _Accounting()
        self._operations: Mapping[str, Callable[[JSON], JSON]] = {
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
        self.receive(operation, request)
        if operation not in self._operations:
            raise ApiError(
                "UnknownOperationException", f"Unknown operation {operation}"
            )
        self.charge(operation)
        return self.answer(operation, request)

    def receive(self, operation: str, request: JSON) -> None:
        """Count a request that arrived, whatever answers it."""
        acc = self._accounting
        acc.requests[operation] += 1
        job_name = request.get("TrainingJobName")
        if isinstance(job_name, str):
            acc.by_job[operation, job_name] += 1

    def charge(self, operation: str) -> None:
        """Take one token from *operation*'s quota, if it has one.

        Raises:
            ApiError: ``ThrottlingException`` (counted as throttled) when the
                quota is spent.
        """
        quota = self._quotas.get(operation)
        if quota is None:
            return
        now = self._now()
        bucket = self._buckets.get(operation)
        if bucket is None:
            bucket = self._buckets[operation] = QuotaBucket(quota, now)
        if not bucket.take(now):
            self._accounting.throttled[operation] += 1
            raise ApiError("ThrottlingException", "Rate exceeded")

    def record_fault(self, operation: str, *, throttled: bool = False) -> None:
        """Count a request that an injected fault answered (and if it throttled)."""
        self._accounting.faulted[operation] += 1
        if throttled:
            self._accounting.throttled[operation] += 1

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
        tags = request.get("Tags") or []
        timeline = self._default_timeline
        for tag in tags:
            if isinstance(tag, dict) and tag.get("Key") == TIMELINE_TAG:
                factory = TIMELINES.get(str(tag.get("Value")))
                if factory is None:
                    raise _validation(
                        f"Unknown {TIMELINE_TAG} {tag.get('Value')!r}; "
                        f"known: {', '.join(sorted(TIMELINES))}"
                    )
                timeline = factory()
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
            raise _validation(_NOT_FOUND)
        return self._describe(job, self._now())

    def list_training_jobs(self, request: JSON) -> JSON:
        """Answer ``ListTrainingJobs``: sort, cut the page, then filter it.

        As the service does, ``MaxResults`` cuts the page before the filters
        apply, so a filtered page can be short or empty and still carry a
        ``NextToken``.

        Raises:
            ApiError: ``ValidationException`` for bad members or a token written
                for another sort.
        """
        query = _ListQuery.parse(request)
        self._purge()
        now = self._now()
        rows: list[tuple[tuple[Any, ...], _Job, tuple[str, str, float, float | None]]]
        rows = []
        for job in self._jobs.values():
            summary = job.plan.summary(now)
            primary = "Deleting" if job.deleting_at is not None else summary[0]
            key: tuple[Any, ...] = (
                (job.name,)
                if query.sort_by == "Name"
                else (
                    job.created if query.sort_by == "CreationTime" else primary,
                    job.name,
                )
            )
            rows.append((key, job, summary))
        page, token = _page(rows, query)
        answer: JSON = {
            "TrainingJobSummaries": [
                row
                for _, job, summary in page
                if (row := self._summary(job, summary, now, query)) is not None
            ]
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
            raise _validation(_NOT_FOUND)
        if job.deleting_at is None:
            now = self._now()
            status = job.plan.primary_at(now)
            if status in {"InProgress", "Stopping"}:
                raise _validation(
                    "The request was rejected because the training job is in status "
                    f"{status}. Stop the training job before deleting it."
                )
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
                name, _resolve(timeline or self._default_timeline), dict(request)
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
            if exc.message == _NOT_FOUND:
                raise KeyError(name) from None
            raise ValueError(exc.message) from None

    def delete_job(self, name: str) -> None:
        """Forget a job at once, whatever its state, so its name can be reused.

        Raises:
            KeyError: If there is no such job.
        """
        self._purge()
        del self._jobs[name]

    def describe_job(self, name: str) -> JSON:
        """Return what ``DescribeTrainingJob`` would answer now.

        Raises:
            KeyError: If there is no such job.
        """
        job = self._lookup(name)
        if job is None:
            raise KeyError(name)
        return self._describe(job, self._now())

    def job_names(self) -> tuple[str, ...]:
        """Return the names of all jobs, in creation order."""
        self._purge()
        return tuple(self._jobs)

    # -- quotas and accounting -------------------------------------------------------

    def set_quota(
        self, operation: str, *, per_second: float | None, burst: float = 1.0
    ) -> None:
        """Set *operation*'s request quota, on simulated time; ``None`` disables it."""
        self._buckets.pop(operation, None)
        if per_second is None:
            self._quotas.pop(operation, None)
        else:
            self._quotas[operation] = Quota(per_second=per_second, burst=burst)

    def statistics(self) -> FakeStatistics:
        """Return the requests received so far, per operation and per job."""
        return self._accounting.snapshot()

    def request_count(
        self, operation: str | None = None, job_name: str | None = None
    ) -> int:
        """Return how many requests arrived for *operation* and *job_name*.

        ``None`` for either means any.
        """
        acc = self._accounting
        if job_name is None:
            if operation is None:
                return sum(acc.requests.values())
            return acc.requests[operation]
        return sum(
            count
            for (op, name), count in acc.by_job.items()
            if name == job_name and operation in {None, op}
        )

    def reset_statistics(self) -> None:
        """Set every request counter back to zero."""
        self._accounting = _Accounting()

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
            del self._jobs[name]

    def _lookup(self, name: object) -> _Job | None:
        if not isinstance(name, str):
            return None
        job = self._jobs.get(name)
        if (
            job is not None
            and job.deleting_at is not None
            and self._now() >= job.deleting_at + DELETING_SECONDS
        ):
            del self._jobs[name]
            return None
        return job

    def _defaults(self, timeline: Timeline) -> JSON:
        bucket = f"s3://sagemaker-{self.region}-{self.account_id}"
        stopping: JSON = timeline.stopping_condition()
        request: JSON = {
            "RoleArn": f"arn:aws:iam::{self.account_id}:role/service-role/"
            "AmazonSageMaker-ExecutionRole-20240101T000000",
            "AlgorithmSpecification": {
                "TrainingImage": f"763104351884.dkr.ecr.{self.region}.amazonaws.com/"
                "pytorch-training:2.2.0-gpu-py310",
                "TrainingInputMode": "File",
                "EnableSageMakerMetricsTimeSeries": False,
            },
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": f"{bucket}/datasets/train",
                            "S3DataDistributionType": "FullyReplicated",
                        }
                    },
                    "CompressionType": "None",
                    "RecordWrapperType": "None",
                }
            ],
            "OutputDataConfig": {"KmsKeyId": "", "S3OutputPath": f"{bucket}/"},
            "ResourceConfig": {
                "InstanceType": "ml.g5.2xlarge",
                "InstanceCount": 1,
                "VolumeSizeInGB": 30,
            },
            "StoppingCondition": stopping,
            "EnableNetworkIsolation": False,
            "EnableInterContainerTrafficEncryption": False,
            "EnableManagedSpotTraining": timeline.spot,
        }
        if timeline.retry_attempts is not None:
            request["RetryStrategy"] = {"MaximumRetryAttempts": timeline.retry_attempts}
        return request

    def _create(self, name: object, timeline: Timeline, request: JSON) -> str:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise _validation(
                f"1 validation error detected: Value '{name}' at 'trainingJobName' "
                "failed to satisfy constraint: Member must satisfy regular expression "
                "pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
            )
        arn = self._arn(name)
        if self._lookup(name) is not None:
            raise ApiError(
                "ResourceInUse",
                "Training job names must be unique within an AWS account and region, "
                f"and a training job with this name already exists ({arn})",
            )
        spot = bool(request.get("EnableManagedSpotTraining", timeline.spot))
        if spot != timeline.spot:
            timeline = dataclasses.replace(timeline, spot=spot)
        merged = self._defaults(timeline)
        merged.update({k: v for k, v in request.items() if k != "TrainingJobName"})
        _check_stopping_condition(merged.get("StoppingCondition"), spot=spot)
        now = round(self._now(), 3)
        self._jobs[name] = _Job(name, arn, timeline, merged, now)
        return arn

    def _stop(self, name: object) -> None:
        job = self._lookup(name)
        if job is None:
            raise _validation(_NOT_FOUND)
        now = self._now()
        status = "Deleting" if job.deleting_at is not None else job.plan.primary_at(now)
        if status != "InProgress":
            raise _validation(
                "The request was rejected because the training job is in status "
                f"{status}."
            )
        job.plan = job.replan(stop_at=round(now, 3))

    def _describe(self, job: _Job, now: float) -> JSON:
        state = job.plan.state(now)
        request = job.request
        output = request.get("OutputDataConfig") or {}
        s3 = str(output.get("S3OutputPath", "s3://bucket/")).rstrip("/")
        answer: JSON = {
            "TrainingJobName": job.name,
            "TrainingJobArn": job.arn,
            "ModelArtifacts": {
                "S3ModelArtifacts": f"{s3}/{job.name}/output/model.tar.gz"
            },
            "TrainingJobStatus": "Deleting"
            if job.deleting_at is not None
            else state.primary,
            "SecondaryStatus": state.secondary,
        }
        if state.failure_reason is not None:
            answer["FailureReason"] = state.failure_reason
        _copy(answer, request, _BEFORE_WARM_POOL)
        warm_pool = _warm_pool(request, state.primary, job.plan.terminal_at, now)
        changed = 0.0
        if warm_pool is not None:
            changed = warm_pool.pop("_changed")
            answer["WarmPoolStatus"] = warm_pool
        answer["StoppingCondition"] = request.get("StoppingCondition") or {}
        answer["CreationTime"] = _ms(job.created)
        if state.training_start is not None:
            answer["TrainingStartTime"] = _ms(state.training_start)
        if state.training_end is not None:
            answer["TrainingEndTime"] = _ms(state.training_end)
        answer["LastModifiedTime"] = _ms(
            max(state.last_modified, job.deleting_at or 0.0, changed)
        )
        answer["SecondaryStatusTransitions"] = _transitions(state)
        if state.final_metrics is not None:
            answer["FinalMetricDataList"] = [
                {"MetricName": name, "Value": _float(value), "Timestamp": _ms(at)}
                for name, value, at in state.final_metrics
            ]
        for member in _FLAGS:
            answer[member] = bool(request.get(member, False))
        _copy(answer, request, _PASSTHROUGH)
        if state.training_seconds is not None:
            answer["TrainingTimeInSeconds"] = state.training_seconds
            answer["BillableTimeInSeconds"] = state.billable_seconds
        answer["ProfilingStatus"] = (
            "Enabled" if "ProfilerConfig" in request else "Disabled"
        )
        _copy(answer, request, ("Environment", "RetryStrategy"))
        if state.progress is not None:
            answer["ProgressInfo"] = dict(
                zip(_PROGRESS_MEMBERS, state.progress, strict=True)
            )
        return answer

    def _summary(
        self,
        job: _Job,
        summary: tuple[str, str, float, float | None],
        now: float,
        query: _ListQuery,
    ) -> JSON | None:
        """One job's summary, or ``None`` if the query's filters leave it out."""
        primary, secondary, modified, end = summary
        if job.deleting_at is not None:
            primary = "Deleting"
            modified = max(modified, job.deleting_at)
        warm_pool = _warm_pool(job.request, primary, job.plan.terminal_at, now)
        if warm_pool is not None:
            modified = max(modified, warm_pool.pop("_changed"))
        if not query.keeps(job, primary, modified, warm_pool):
            return None
        row: JSON = {
            "TrainingJobName": job.name,
            "TrainingJobArn": job.arn,
            "CreationTime": _ms(job.created),
        }
        if end is not None:
            row["TrainingEndTime"] = _ms(end)
        row["LastModifiedTime"] = _ms(modified)
        row["TrainingJobStatus"] = primary
        row["SecondaryStatus"] = secondary
        if warm_pool is not None:
            row["WarmPoolStatus"] = warm_pool
        return row


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class _ListQuery:
    """A validated ``ListTrainingJobs`` request."""

    max_results: int
    sort_by: str
    sort_order: str
    after_key: tuple[Any, ...] | None
    status_equals: str | None
    name_contains: str
    created_after: float | None
    created_before: float | None
    modified_after: float | None
    modified_before: float | None
    warm_pool_equals: str | None

    @classmethod
    def parse(cls, body: JSON) -> _ListQuery:
        """Validate *body* as AWS does, every bad member in one message."""
        errors: list[str] = []
        max_results = body.get("MaxResults", 10)
        if not isinstance(max_results, int) or max_results > 100:  # noqa: PLR2004
            errors.append(
                _constraint(
                    max_results,
                    "maxResults",
                    "Member must have value less than or equal to 100",
                )
            )
        elif max_results < 1:
            errors.append(
                _constraint(
                    max_results,
                    "maxResults",
                    "Member must have value greater than or equal to 1",
                )
            )
        for member, allowed in _LIST_ENUMS.items():
            value = body.get(member)
            if value is not None and value not in allowed:
                field = member[0].lower() + member[1:]
                errors.append(
                    _constraint(
                        value,
                        field,
                        f"Member must satisfy enum value set: [{', '.join(allowed)}]",
                    )
                )
        if errors:
            raise _validation(_validation_message(errors))
        sort_by = body.get("SortBy") or "CreationTime"
        sort_order = body.get("SortOrder") or "Ascending"
        return cls(
            max_results=max_results,
            sort_by=sort_by,
            sort_order=sort_order,
            after_key=_read_token(body.get("NextToken"), sort_by, sort_order),
            status_equals=body.get("StatusEquals"),
            name_contains=str(body.get("NameContains") or "").lower(),
            created_after=_time(body, "CreationTimeAfter"),
            created_before=_time(body, "CreationTimeBefore"),
            modified_after=_time(body, "LastModifiedTimeAfter"),
            modified_before=_time(body, "LastModifiedTimeBefore"),
            warm_pool_equals=body.get("WarmPoolStatusEquals"),
        )

    def keeps(
        self, job: _Job, primary: str, modified: float, warm_pool: JSON | None
    ) -> bool:
        """Whether *job* passes every filter."""
        checks = (
            self.created_after is None or job.created > self.created_after,
            self.created_before is None or job.created < self.created_before,
            not self.name_contains or self.name_contains in job.name.lower(),
            self.status_equals is None or primary == self.status_equals,
            self.modified_after is None or modified > self.modified_after,
            self.modified_before is None or modified < self.modified_before,
            self.warm_pool_equals is None
            or (warm_pool is not None and warm_pool["Status"] == self.warm_pool_equals),
        )
        return all(checks)


def _page(
    rows: list[tuple[tuple[Any, ...], _Job, tuple[str, str, float, float | None]]],
    query: _ListQuery,
) -> tuple[
    list[tuple[tuple[Any, ...], _Job, tuple[str, str, float, float | None]]],
    str | None,
]:
    """Sort *rows* by key and cut the page after the token's key (keyset paging).

    The page is cut before any filter applies, as the service does: a filtered
    page can be short, or empty, and still carry a ``NextToken``.
    """
    rows.sort(key=lambda row: row[0])
    keys = [row[0] for row in rows]
    after_key, size = query.after_key, query.max_results
    if query.sort_order == "Ascending":
        start = 0 if after_key is None else bisect.bisect_right(keys, after_key)
        page = rows[start : start + size]
        more = start + size < len(rows)
    else:
        stop = len(rows) if after_key is None else bisect.bisect_left(keys, after_key)
        page = rows[max(stop - size, 0) : stop][::-1]
        more = stop - size > 0
    token = None
    if more and page:
        token = _write_token(page[-1][0], query.sort_by, query.sort_order)
    return page, token


def _float(value: float) -> float | str:
    """A ``Float`` member as JSON protocols send it: non-finite values as strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def _constraint(value: object, member: str, constraint: str) -> str:
    return f"Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"


def _ms(t: float) -> float:
    """A timestamp at the service's precision: milliseconds."""
    return round(t, 3)


def _check_stopping_condition(condition: object, *, spot: bool) -> None:
    """Reject what CreateTrainingJob rejects in a ``StoppingCondition``."""
    if not isinstance(condition, dict):
        raise _validation(
            "1 validation error detected: Value null at 'stoppingCondition' failed "
            "to satisfy constraint: Member must not be null"
        )
    errors = [
        f"Value '{value}' at 'stoppingCondition.{member[0].lower()}{member[1:]}' "
        "failed to satisfy constraint: Member must have value greater than or "
        "equal to 1"
        for member in ("MaxRuntimeInSeconds", "MaxWaitTimeInSeconds")
        if (value := condition.get(member)) is not None
        and not (isinstance(value, int) and value >= 1)
    ]
    if errors:
        raise _validation(_validation_message(errors))
    runtime = condition.get("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME)
    wait = condition.get("MaxWaitTimeInSeconds")
    if spot and (wait is None or wait < runtime):
        raise _validation(
            "Invalid MaxWaitTimeInSeconds. It must be present and be greater than "
            "or equal to MaxRuntimeInSeconds"
        )


def _validation_message(errors: list[str]) -> str:
    """AWS's form: ``N validation error(s) detected: ...; ...``."""
    noun = "error" if len(errors) == 1 else "errors"
    return f"{len(errors)} validation {noun} detected: {'; '.join(errors)}"


def _resolve(timeline: Timeline | str) -> Timeline:
    if isinstance(timeline, Timeline):
        return timeline
    factory = TIMELINES.get(timeline)
    if factory is None:
        raise ValueError(
            f"unknown timeline {timeline!r}; known: {', '.join(sorted(TIMELINES))}"
        )
    return factory()


def _copy(answer: JSON, request: JSON, members: tuple[str, ...]) -> None:
    for member in members:
        if member in request:
            answer[member] = request[member]


def _transitions(state: JobState) -> list[JSON]:
    transitions = []
    for view in state.transitions:
        entry: JSON = {"Status": view.status, "StartTime": _ms(view.start)}
        if view.end is not None:
            entry["EndTime"] = _ms(view.end)
        if view.message is not None:
            entry["StatusMessage"] = view.message
        transitions.append(entry)
    return transitions


def _time(body: JSON, member: str) -> float | None:
    value = body.get(member)
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _validation(f"Invalid timestamp for {member}: {value!r}") from None


def _warm_pool(
    request: JSON, primary: str, terminal_at: float, now: float
) -> JSON | None:
    keep = (request.get("ResourceConfig") or {}).get("KeepAlivePeriodInSeconds")
    if not keep or primary != "Completed":
        return None
    if now < terminal_at + keep:
        return {"Status": "Available", "_changed": terminal_at}
    return {
        "Status": "Terminated",
        "ResourceRetainedBillableTimeInSeconds": int(keep),
        "_changed": terminal_at + keep,
    }


def _write_token(key: tuple[Any, ...], sort_by: str, sort_order: str) -> str:
    raw = json.dumps({"k": list(key), "b": sort_by, "o": sort_order}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _read_token(token: object, sort_by: str, sort_order: str) -> tuple[Any, ...] | None:
    if token is None or token == "":
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(str(token).encode()))
        if data["b"] == sort_by and data["o"] == sort_order:
            return tuple(data["k"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        pass
    raise _validation("Invalid pagination token")
