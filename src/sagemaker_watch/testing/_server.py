"""FakeSageMaker: the simulated SageMaker on a real HTTP server, with fault injection.

The adapter speaks SageMaker's JSON 1.1 protocol (``X-Amz-Target`` dispatch, AWS
error bodies) and injects faults; every answer comes from a
:class:`~sagemaker_watch.testing.SimulatedSageMaker`. SQS requests
(``AmazonSQS.*``) go to ``_sqs_wire`` and CloudWatch Logs requests
(``Logs_20140328.*``) to ``_logs_wire``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import random
import socket
from typing import TYPE_CHECKING, Any, Self

import anyio
from aiohttp import web

from ._clocks import ManualClock, ScaledClock
from ._errors import ApiError
from ._faults import ArmedFault, Fault
from ._logs import DEFAULT_TOKEN_TTL
from ._logs_wire import LOGS_TARGET, REQUIRED_OUTPUT, LogsWire
from ._model import OPERATIONS, SimulatedSageMaker
from ._quotas import DEFAULT_QUOTAS
from ._sqs import DEFAULT_VISIBILITY_TIMEOUT
from ._sqs_wire import SqsWire

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Mapping
    from types import TracebackType

    from aiobotocore.client import AioBaseClient
    from aiobotocore.config import AioConfig
    from types_aiobotocore_sagemaker import SageMakerClient

    from ._logs import WrittenLine
    from ._quotas import FakeStatistics, Quota
    from ._timelines import Timeline

JSON = dict[str, Any]

_REQUEST_ID = "fa4e0000-0000-4000-8000-"
_CONTENT_TYPE = "application/x-amz-json-1.1"
_CHANGING = frozenset({"CreateTrainingJob", "StopTrainingJob", "DeleteTrainingJob"})
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
    **REQUIRED_OUTPUT,
}


class FakeSageMaker:
    """An embedded fake Amazon SageMaker for training jobs, on a real HTTP server.

    It answers ``CreateTrainingJob``, ``DescribeTrainingJob``, ``ListTrainingJobs``,
    ``StopTrainingJob`` and ``DeleteTrainingJob`` over SageMaker's JSON 1.1 wire
    protocol, so a stock aiobotocore client pointed at :attr:`endpoint_url` works
    unchanged (signatures are not checked). With *events_queue* it also serves
    an SQS queue over SQS's JSON 1.0 protocol at :meth:`queue_url` (a stock
    aiobotocore SQS client at the same endpoint works: ``ReceiveMessage`` with
    long polling on the simulated clock, ``DeleteMessage``, ``DeleteMessageBatch``,
    ``GetQueueUrl``, ``GetQueueAttributes``, ``SendMessage``, ``CreateQueue``) and
    publishes into it every job's EventBridge "SageMaker Training Job State
    Change" events, each visible from the simulated instant of its change. SQS
    requests are counted in :meth:`statistics` under their operation names.

    It also serves the jobs' training logs over CloudWatch Logs' JSON 1.1
    protocol (a stock aiobotocore ``logs`` client at the same endpoint works,
    see :meth:`logs_client`): ``DescribeLogStreams``, ``GetLogEvents``,
    ``FilterLogEvents`` and ``DescribeLogGroups`` on the log group
    ``/aws/sagemaker/TrainingJobs``, each job writing as its timeline's
    :class:`LogScript` says; :meth:`written_lines` is the ground truth.

    The answers come from a :class:`SimulatedSageMaker` (:attr:`service`): jobs
    follow scripted :class:`Timeline` s on a simulated clock, quotas are enforced
    and every request is counted; faults are injected here, on the wire.

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
        events_queue: str | None = None,
        log_token_ttl: float = DEFAULT_TOKEN_TTL,
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
            seed: Seeds the randomness of probabilistic faults, and of the
                ingestion of log lines.
            events_queue: The name of an SQS queue, served at
                :meth:`queue_url`, into which every job's EventBridge
                "SageMaker Training Job State Change" events are published, as
                a rule routing them to SQS would; ``None`` publishes nowhere.
            log_token_ttl: Simulated seconds a CloudWatch Logs ``nextToken``
                stays valid (24 hours, as the service documents); an expired
                one is answered ``InvalidParameterException``.

        Raises:
            ValueError: If both *speed* and *clock* are given.
        """
        if speed is not None and clock is not None:
            raise ValueError("give speed or clock, not both")
        self._clock: ManualClock | ScaledClock = (
            clock if clock is not None else ScaledClock(speed=speed or 1.0)
        )
        self._service = SimulatedSageMaker(
            clock=self._clock,
            region=region,
            account_id=account_id,
            default_timeline=default_timeline,
            quotas=quotas,
            events_queue=events_queue,
            seed=seed,
            log_token_ttl=log_token_ttl,
        )
        self._host = host
        self._port = port
        self._rng = random.Random(seed)  # noqa: S311 - fault dice, not crypto
        self._faults: list[ArmedFault] = []
        self._sqs = SqsWire(
            service=self._service,
            clock=self._clock,
            faults=self._faults,
            rng=self._rng,
            account_id=account_id,
            queue_url=self.queue_url,
            headers=self._headers,
        )
        self._logs = LogsWire(
            service=self._service,
            faults=self._faults,
            rng=self._rng,
            respond=self._respond,
            error=self._error,
            fault=self._fault,
        )
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._state = "new"
        self._request_ids = itertools.count(1)

    @property
    def service(self) -> SimulatedSageMaker:
        """The simulated service behind the wire, to drive or inspect without HTTP."""
        return self._service

    @property
    def region(self) -> str:
        """The region in ARNs and in :meth:`client`."""
        return self._service.region

    @property
    def account_id(self) -> str:
        """The account in ARNs."""
        return self._service.account_id

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
        """Return environment variables that point default clients at this fake.

        SageMaker's, SQS's and CloudWatch Logs': an AWS queue URL of this
        fake's account and region
        (``https://sqs.us-east-1.amazonaws.com/123456789012/NAME``) then reaches
        its queue ``NAME``, as :meth:`queue_url` does.
        """
        return {
            "AWS_ENDPOINT_URL_SAGEMAKER": self.endpoint_url,
            "AWS_ENDPOINT_URL_SQS": self.endpoint_url,
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": self.endpoint_url,
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
        async with self._service_client("sagemaker", config) as client:
            yield client

    @contextlib.asynccontextmanager
    async def _service_client(
        self, service: str, config: AioConfig | None
    ) -> AsyncIterator[Any]:
        """A stock aiobotocore *service* client for this fake: dummy keys, 1 attempt."""
        from aiobotocore.config import AioConfig  # noqa: PLC0415 - load lazily
        from aiobotocore.session import get_session  # noqa: PLC0415 - load lazily

        merged = AioConfig(retries={"mode": "standard", "total_max_attempts": 1})
        if config is not None:
            merged = merged.merge(config)
        async with get_session().create_client(  # type: ignore[call-overload]
            service,
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
        arn = self._service.add_job(name, timeline, **request)
        self._wake()
        return arn

    def stop_job(self, name: str) -> None:
        """Stop a job in progress, as ``StopTrainingJob`` does.

        Raises:
            KeyError: If there is no such job.
            ValueError: If the job is not in progress.
        """
        self._service.stop_job(name)
        self._wake()

    def delete_job(self, name: str) -> None:
        """Forget a job at once, whatever its state, so its name can be reused.

        Raises:
            KeyError: If there is no such job.
        """
        self._service.delete_job(name)

    def describe_job(self, name: str) -> JSON:
        """Return what ``DescribeTrainingJob`` would answer now (timestamps as floats).

        Raises:
            KeyError: If there is no such job.
        """
        return self._service.describe_job(name)

    def job_names(self) -> tuple[str, ...]:
        """Return the names of all jobs, in creation order."""
        return self._service.job_names()

    # -- faults, quotas, accounting ------------------------------------------------

    def inject(self, *faults: Fault) -> None:
        """Arm *faults*; the first one matching a request answers it.

        Faults on the event path (``service="events"``) go to the simulated
        service, where every matching one applies to each event.
        """
        self._faults.extend(
            ArmedFault(fault) for fault in faults if fault.service != "events"
        )
        self._service.inject_event_faults(
            *(fault for fault in faults if fault.service == "events")
        )

    def clear_faults(self) -> None:
        """Disarm every injected fault, on the event path too."""
        self._faults.clear()
        self._service.clear_event_faults()

    # -- SQS -----------------------------------------------------------------------

    def create_queue(
        self, name: str, *, visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT
    ) -> str:
        """Create the SQS queue *name* (if needed) and return its URL.

        Raises:
            RuntimeError: If the server is not running.
        """
        self._service.create_queue(name, visibility_timeout=visibility_timeout)
        return self.queue_url(name)

    def route_events(self, name: str | None) -> None:
        """Publish every job's state-change events into queue *name* from now on.

        ``None`` stops publishing; see :meth:`SimulatedSageMaker.route_events`.
        """
        self._service.route_events(name)

    def queue_url(self, name: str) -> str:
        """Return the URL of queue *name*: ``{endpoint_url}/{account_id}/{name}``.

        Raises:
            RuntimeError: If the server is not running.
        """
        return f"{self.endpoint_url}/{self.account_id}/{name}"

    @contextlib.asynccontextmanager
    async def sqs_client(
        self, *, config: AioConfig | None = None
    ) -> AsyncIterator[AioBaseClient]:
        """Yield an aiobotocore SQS client for this fake's queues, closed on exit.

        Like :meth:`client`: dummy credentials, one attempt per call unless
        *config* says otherwise.
        """
        async with self._service_client("sqs", config) as client:
            yield client

    # -- CloudWatch Logs ---------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def logs_client(
        self, *, config: AioConfig | None = None
    ) -> AsyncIterator[AioBaseClient]:
        """Yield an aiobotocore CloudWatch Logs client for this fake, closed on exit.

        Like :meth:`client`: dummy credentials, one attempt per call unless
        *config* says otherwise.
        """
        async with self._service_client("logs", config) as client:
            yield client

    def written_lines(self, job_name: str) -> tuple[WrittenLine, ...]:
        """Return every log line *job_name* wrote so far, in write order.

        The ground truth for tests and benchmarks: each line's stream,
        timestamp and message, and when CloudWatch Logs ingests it (maybe
        still to come).

        Raises:
            KeyError: If there is no such job.
        """
        return self._service.written_lines(job_name)

    def expire_log_tokens(self) -> None:
        """Reject every CloudWatch Logs token issued so far, as expired ones are.

        From now on each is answered ``InvalidParameterException`` "The
        specified nextToken is invalid."; tokens issued later are valid.
        """
        self._service.expire_log_tokens()

    def set_quota(
        self, operation: str, *, per_second: float | None, burst: float = 1.0
    ) -> None:
        """Set *operation*'s request quota, on simulated time; ``None`` disables it."""
        self._service.set_quota(operation, per_second=per_second, burst=burst)

    def statistics(self) -> FakeStatistics:
        """Return the requests received so far, per operation and per job."""
        return self._service.statistics()

    def request_count(
        self, operation: str | None = None, job_name: str | None = None
    ) -> int:
        """Return how many requests arrived for *operation* and *job_name*.

        ``None`` for either means any.
        """
        return self._service.request_count(operation, job_name)

    def reset_statistics(self) -> None:
        """Set every request counter back to zero."""
        self._service.reset_statistics()

    def __repr__(self) -> str:
        """Return ``FakeSageMaker(url, jobs=..., clock=...)``."""
        where = self._url or self._state
        jobs = len(self._service.job_names())
        return f"FakeSageMaker({where}, jobs={jobs}, clock={self._clock!r})"

    # -- HTTP ----------------------------------------------------------------------

    async def _handle(  # noqa: PLR0911 - one return per outcome on the wire
        self, request: web.Request
    ) -> web.StreamResponse:
        target = request.headers.get("X-Amz-Target", "")
        prefix, _, operation = target.partition(".")
        body = _parse_body(await request.read())
        if body is None:
            return self._error(ApiError("SerializationException", "Invalid JSON body"))
        if prefix == "AmazonSQS":
            return await self._sqs.handle(operation, body)
        if prefix == LOGS_TARGET:
            return await self._logs.handle(request, operation, body)
        service = self._service
        service.receive(operation, body)
        if prefix != "SageMaker" or operation not in OPERATIONS:
            return self._error(
                ApiError("UnknownOperationException", f"Unknown operation {target}")
            )
        try:
            service.charge(operation)
        except ApiError as exc:
            return self._error(exc)
        job_name = body.get("TrainingJobName")
        job_name = job_name if isinstance(job_name, str) else None
        fault = next(
            (f.fault for f in self._faults if f.fires(operation, job_name, self._rng)),
            None,
        )
        if fault is not None:
            service.record_fault(
                operation,
                throttled=fault.kind == "error" and fault.code == "ThrottlingException",
            )
            if fault.kind != "slow":
                return await self._fault(request, operation, fault, body)
            await anyio.sleep(fault.seconds)
        try:
            answer = service.answer(operation, body)
        except ApiError as exc:
            return self._error(exc)
        if operation in _CHANGING:
            self._wake()
        return self._respond(answer)

    def _wake(self) -> None:
        """Wake SQS long polls: a job was created or stopped; events may come sooner."""
        self._sqs.wake()

    async def _fault(
        self,
        request: web.Request,
        operation: str,
        fault: Fault,
        body: JSON,
    ) -> web.StreamResponse:
        if fault.kind == "error":
            return self._error(ApiError(fault.code, fault.message, fault.status))
        if fault.kind == "drop_connection":
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)
        try:
            answer = self._service.answer(operation, body)
        except ApiError as exc:
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

    def _headers(self, content_type: str = _CONTENT_TYPE) -> dict[str, str]:
        return {
            "Content-Type": content_type,
            "x-amzn-RequestId": f"{_REQUEST_ID}{next(self._request_ids):012d}",
        }

    def _respond(self, answer: JSON) -> web.Response:
        payload = json.dumps(answer, separators=(",", ":"), allow_nan=False)
        return self._respond_bytes(payload.encode())

    def _respond_bytes(self, payload: bytes, status: int = 200) -> web.Response:
        return web.Response(status=status, body=payload, headers=self._headers())

    def _error(self, exc: ApiError) -> web.Response:
        payload = json.dumps({"__type": exc.code, "message": exc.message}).encode()
        return self._respond_bytes(payload, exc.status)


def _parse_body(raw: bytes) -> JSON | None:
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
