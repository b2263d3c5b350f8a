"""FakeSageMaker: an aiohttp server speaking SageMaker's JSON 1.1 protocol."""

from __future__ import annotations

import base64
import binascii
import bisect
import contextlib
import dataclasses
import itertools
import json
import math
import random
import re
import socket
from typing import TYPE_CHECKING, Any, Self

import anyio
from aiohttp import web

from ._clocks import ManualClock, ScaledClock
from ._faults import (
    DEFAULT_QUOTAS,
    Accounting,
    ArmedFault,
    FakeStatistics,
    Fault,
    Quota,
    TokenBucket,
)
from ._timelines import DEFAULT_MAX_RUNTIME, TIMELINES, JobState, Plan, Timeline

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Mapping
    from types import TracebackType

    from aiobotocore.config import AioConfig
    from types_aiobotocore_sagemaker import SageMakerClient

JSON = dict[str, Any]

#: The tag that picks a ready-made timeline for a job created over the API.
TIMELINE_TAG = "sagemaker-watch:timeline"
#: Simulated seconds a deleted job shows ``Deleting`` before it is gone.
DELETING_SECONDS = 10.0

_REQUEST_ID = "fa4e0000-0000-4000-8000-"
_CONTENT_TYPE = "application/x-amz-json-1.1"
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
_REQUIRED_OUTPUT: Mapping[str, tuple[str, ...]] = {
    "CreateTrainingJob": ("TrainingJobArn",),
    "DescribeTrainingJob": (
        "TrainingJobName",
        "TrainingJobArn",
        "ModelArtifacts",
        "TrainingJobStatus",
        "SecondaryStatus",
        "StoppingCondition",
        "CreationTime",
    ),
    "ListTrainingJobs": ("TrainingJobSummaries",),
}


class ServiceError(Exception):
    """An AWS error answer: HTTP *status*, ``__type`` *code* and *message*."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        """Build the error."""
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def _validation(message: str) -> ServiceError:
    return ServiceError("ValidationException", message)


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


class FakeSageMaker:
    """An embedded fake Amazon SageMaker for training jobs, on a real HTTP server.

    It answers ``CreateTrainingJob``, ``DescribeTrainingJob``, ``ListTrainingJobs``,
    ``StopTrainingJob`` and ``DeleteTrainingJob`` over SageMaker's JSON 1.1 wire
    protocol, so a stock aiobotocore client pointed at :attr:`endpoint_url` works
    unchanged (signatures are not checked). Jobs follow scripted
    :class:`Timeline` s on a simulated clock; faults and quotas are injectable and
    every request is counted.

    ``async with`` starts the server (waits for the socket to listen) and closing
    stops it (waits, shielded, for in-flight answers up to half a second). A
    closed fake cannot be entered again.

    Example::

        async with FakeSageMaker(clock=ManualClock()) as fake:
            fake.add_job("my-job", "plain")
            async with fake.client() as client:
                await client.describe_training_job(TrainingJobName="my-job")
    """

    def __init__(
        self,
        *,
        speed: float | None = None,
        clock: ManualClock | ScaledClock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        default_timeline: Timeline | str = "plain",
        quotas: Mapping[str, Quota | None] = DEFAULT_QUOTAS,
        seed: int = 0,
    ) -> None:
        """Configure the fake; nothing listens until ``async with``.

        Args:
            speed: Simulated seconds per real second (a :class:`ScaledClock`);
                the default when no *clock* is given is ``1.0``.
            clock: The simulated clock, such as a :class:`ManualClock`; excludes
                *speed*.
            host: The address to listen on.
            port: The port to listen on; ``0`` lets the OS choose.
            region: The region in ARNs and in :meth:`client`.
            account_id: The account in ARNs.
            default_timeline: The timeline of jobs created over the API without a
                ``sagemaker-watch:timeline`` tag: a :class:`Timeline` or the name
                of a ready-made one.
            quotas: Request quotas per operation; ``None`` values disable one.
            seed: Seeds the randomness of probabilistic faults.

        Raises:
            ValueError: If both *speed* and *clock* are given.
        """
        if speed is not None and clock is not None:
            raise ValueError("give speed or clock, not both")
        self._clock: ManualClock | ScaledClock = (
            clock if clock is not None else ScaledClock(speed=speed or 1.0)
        )
        self._host = host
        self._port = port
        self.region = region
        self.account_id = account_id
        self._default_timeline = _resolve(default_timeline)
        self._rng = random.Random(seed)  # noqa: S311 - fault dice, not crypto
        self._jobs: dict[str, _Job] = {}
        self._faults: list[ArmedFault] = []
        self._quotas: dict[str, Quota] = {
            op: q for op, q in quotas.items() if q is not None
        }
        self._buckets: dict[str, TokenBucket] = {}
        self._accounting = Accounting()
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._state = "new"
        self._request_ids = itertools.count(1)
        self._handlers: dict[str, Callable[[JSON], JSON]] = {
            "CreateTrainingJob": self._op_create,
            "DescribeTrainingJob": self._op_describe,
            "ListTrainingJobs": self._op_list,
            "StopTrainingJob": self._op_stop,
            "DeleteTrainingJob": self._op_delete,
        }

    # -- lifecycle ---------------------------------------------------------------

    async def __aenter__(self) -> Self:
        """Start listening; waits until the socket is bound and served.

        Raises:
            RuntimeError: If the fake was already entered or closed.
        """
        if self._state != "new":
            raise RuntimeError(f"cannot enter a FakeSageMaker that is {self._state}")
        self._state = "open"
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_post("/", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((self._host, self._port))
            site = web.SockSite(runner, sock)
            await site.start()
        except BaseException:
            sock.close()
            with anyio.CancelScope(shield=True):
                await runner.cleanup()
            self._state = "closed"
            raise
        self._runner = runner
        host, port = sock.getsockname()[:2]
        self._url = f"http://{host}:{port}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server; waits, shielded from cancellation, for it to close."""
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the server (idempotent); shielded from cancellation."""
        self._state = "closed"
        self._url = None
        runner, self._runner = self._runner, None
        if runner is not None:
            with anyio.CancelScope(shield=True):
                await runner.cleanup()

    @property
    def endpoint_url(self) -> str:
        """The server's URL, such as ``http://127.0.0.1:49152``.

        Raises:
            RuntimeError: If the server is not running.
        """
        if self._url is None or self._state != "open":
            raise RuntimeError("the FakeSageMaker is not running")
        return self._url

    @property
    def clock(self) -> ManualClock | ScaledClock:
        """The simulated clock; it satisfies ``sagemaker_watch``'s ``Clock``."""
        return self._clock

    def advance(self, seconds: float) -> None:
        """Move a :class:`ManualClock` forward by *seconds*.

        Raises:
            TypeError: If the fake runs on a scaled clock.
        """
        if not isinstance(self._clock, ManualClock):
            raise TypeError("advance() needs a FakeSageMaker(clock=ManualClock())")
        self._clock.advance(seconds)

    def environ(self) -> dict[str, str]:
        """Return environment variables that point a default client at this fake."""
        return {
            "AWS_ENDPOINT_URL_SAGEMAKER": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }

    @contextlib.asynccontextmanager
    async def client(
        self, *, config: AioConfig | None = None
    ) -> AsyncIterator[SageMakerClient]:
        """Yield an aiobotocore SageMaker client for this fake, closed on exit.

        It uses dummy credentials and makes a single attempt per call, so tests
        see faults directly; pass *config* (merged over that) to retry.

        Args:
            config: Extra botocore configuration.
        """
        from aiobotocore.config import AioConfig  # noqa: PLC0415 - load lazily
        from aiobotocore.session import get_session  # noqa: PLC0415 - load lazily

        merged = AioConfig(retries={"mode": "standard", "total_max_attempts": 1})
        if config is not None:
            merged = merged.merge(config)
        session = get_session()
        async with session.create_client(
            "sagemaker",
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - a dummy for the fake
            config=merged,
        ) as client:
            yield client

    # -- jobs from Python ----------------------------------------------------------

    def add_job(
        self,
        name: str,
        timeline: Timeline | str | None = None,
        **request: object,
    ) -> str:
        """Create a job at the current simulated time without going through HTTP.

        Args:
            name: The training job name.
            timeline: A :class:`Timeline`, the name of a ready-made one, or
                ``None`` for the fake's default.
            **request: ``CreateTrainingJob`` request members (``HyperParameters``,
                ``EnableManagedSpotTraining``, ``ResourceConfig``, ...) replacing
                the fake's realistic defaults.

        Returns:
            The job's ARN.

        Raises:
            ValueError: If the name is invalid or taken.
        """
        try:
            return self._create(
                name, _resolve(timeline or self._default_timeline), dict(request)
            )
        except ServiceError as exc:
            raise ValueError(exc.message) from None

    def stop_job(self, name: str) -> None:
        """Stop a job in progress, as ``StopTrainingJob`` does.

        Raises:
            KeyError: If there is no such job.
            ValueError: If the job is not in progress.
        """
        try:
            self._stop(name)
        except ServiceError as exc:
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
        """Return what ``DescribeTrainingJob`` would answer now (timestamps as floats).

        Raises:
            KeyError: If there is no such job.
        """
        job = self._lookup(name)
        if job is None:
            raise KeyError(name)
        return self._describe(job, self._clock.timestamp())

    def job_names(self) -> tuple[str, ...]:
        """Return the names of all jobs, in creation order."""
        self._purge()
        return tuple(self._jobs)

    # -- faults, quotas, accounting ------------------------------------------------

    def inject(self, *faults: Fault) -> None:
        """Arm *faults*; the first one matching a request answers it."""
        self._faults.extend(ArmedFault(fault) for fault in faults)

    def clear_faults(self) -> None:
        """Disarm every injected fault."""
        self._faults.clear()

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
        self._accounting = Accounting()

    def __repr__(self) -> str:
        """Return ``FakeSageMaker(url, jobs=..., clock=...)``."""
        where = self._url or self._state
        return f"FakeSageMaker({where}, jobs={len(self._jobs)}, clock={self._clock!r})"

    # -- HTTP ----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        target = request.headers.get("X-Amz-Target", "")
        prefix, _, operation = target.partition(".")
        body = _parse_body(await request.read())
        if body is None:
            return self._error(
                ServiceError("SerializationException", "Invalid JSON body")
            )
        job_name = body.get("TrainingJobName")
        job_name = job_name if isinstance(job_name, str) else None
        acc = self._accounting
        acc.requests[operation] += 1
        if job_name is not None:
            acc.by_job[operation, job_name] += 1
        handler = self._handlers.get(operation) if prefix == "SageMaker" else None
        if handler is None:
            return self._error(
                ServiceError("UnknownOperationException", f"Unknown operation {target}")
            )
        if not self._take_token(operation):
            acc.throttled[operation] += 1
            return self._error(ServiceError("ThrottlingException", "Rate exceeded"))
        fault = next(
            (f.fault for f in self._faults if f.fires(operation, job_name, self._rng)),
            None,
        )
        if fault is not None:
            acc.faulted[operation] += 1
            if fault.kind != "slow":
                return await self._fault(request, operation, fault, handler, body)
            await anyio.sleep(fault.seconds)
        try:
            answer = handler(body)
        except ServiceError as exc:
            return self._error(exc)
        return self._respond(answer)

    def _take_token(self, operation: str) -> bool:
        quota = self._quotas.get(operation)
        if quota is None:
            return True
        now = self._clock.timestamp()
        bucket = self._buckets.get(operation)
        if bucket is None:
            bucket = self._buckets[operation] = TokenBucket(quota, now)
        return bucket.take(now)

    async def _fault(
        self,
        request: web.Request,
        operation: str,
        fault: Fault,
        handler: Callable[[JSON], JSON],
        body: JSON,
    ) -> web.StreamResponse:
        if fault.kind == "error":
            if fault.code == "ThrottlingException":
                self._accounting.throttled[operation] += 1
            return self._error(ServiceError(fault.code, fault.message, fault.status))
        if fault.kind == "drop_connection":
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        try:
            answer = handler(body)
        except ServiceError as exc:
            answer = {"__type": exc.code, "message": exc.message}
        if fault.kind == "malformed":
            return self._malformed(operation, fault, answer)
        payload = json.dumps(answer).encode()
        response = web.StreamResponse(status=200, headers=self._headers())
        response.content_length = len(payload)
        await response.prepare(request)
        await response.write(payload[: len(payload) // 2])
        if request.transport is not None:
            request.transport.close()
        return response

    def _malformed(self, operation: str, fault: Fault, answer: JSON) -> web.Response:
        if fault.malformed == "not_json":
            return self._respond_bytes(b"<html><body>502 Bad Gateway</body></html>")
        if fault.malformed == "cut_json":
            payload = json.dumps(answer).encode()
            return self._respond_bytes(payload[: len(payload) // 2])
        for member in _REQUIRED_OUTPUT.get(operation, ()):
            answer.pop(member, None)
        return self._respond(answer)

    def _headers(self) -> dict[str, str]:
        return {
            "Content-Type": _CONTENT_TYPE,
            "x-amzn-RequestId": f"{_REQUEST_ID}{next(self._request_ids):012d}",
        }

    def _respond(self, answer: JSON) -> web.Response:
        payload = json.dumps(answer, separators=(",", ":"), allow_nan=False)
        return self._respond_bytes(payload.encode())

    def _respond_bytes(self, payload: bytes, status: int = 200) -> web.Response:
        return web.Response(status=status, body=payload, headers=self._headers())

    def _error(self, exc: ServiceError) -> web.Response:
        payload = json.dumps({"__type": exc.code, "message": exc.message}).encode()
        return self._respond_bytes(payload, exc.status)

    # -- the model -------------------------------------------------------------------

    def _arn(self, name: str) -> str:
        where = f"{self.region}:{self.account_id}"
        return f"arn:aws:sagemaker:{where}:training-job/{name.lower()}"

    def _purge(self) -> None:
        now = self._clock.timestamp()
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
            and self._clock.timestamp() >= job.deleting_at + DELETING_SECONDS
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
            raise ServiceError(
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
        now = round(self._clock.timestamp(), 3)
        self._jobs[name] = _Job(name, arn, timeline, merged, now)
        return arn

    def _stop(self, name: object) -> None:
        job = self._lookup(name)
        if job is None:
            raise _validation(_NOT_FOUND)
        now = self._clock.timestamp()
        status = "Deleting" if job.deleting_at is not None else job.plan.primary_at(now)
        if status != "InProgress":
            raise _validation(
                "The request was rejected because the training job is in status "
                f"{status}."
            )
        job.plan = job.replan(stop_at=round(now, 3))

    def _op_create(self, body: JSON) -> JSON:
        tags = body.get("Tags") or []
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
            "TrainingJobArn": self._create(body.get("TrainingJobName"), timeline, body)
        }

    def _op_describe(self, body: JSON) -> JSON:
        job = self._lookup(body.get("TrainingJobName"))
        if job is None:
            raise _validation(_NOT_FOUND)
        return self._describe(job, self._clock.timestamp())

    def _op_stop(self, body: JSON) -> JSON:
        self._stop(body.get("TrainingJobName"))
        return {}

    def _op_delete(self, body: JSON) -> JSON:
        job = self._lookup(body.get("TrainingJobName"))
        if job is None:
            raise _validation(_NOT_FOUND)
        if job.deleting_at is None:
            now = self._clock.timestamp()
            status = job.plan.primary_at(now)
            if status in {"InProgress", "Stopping"}:
                raise _validation(
                    "The request was rejected because the training job is in status "
                    f"{status}. Stop the training job before deleting it."
                )
            job.deleting_at = round(now, 3)
        return {}

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

    def _op_list(self, body: JSON) -> JSON:
        query = _ListQuery.parse(body)
        self._purge()
        now = self._clock.timestamp()
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


def _parse_body(raw: bytes) -> JSON | None:
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


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
