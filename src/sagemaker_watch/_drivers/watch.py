"""The poll loop: describe, build a snapshot, diff, emit, ask the schedule, sleep."""

from __future__ import annotations

import collections
import contextlib
import math
import random
from typing import TYPE_CHECKING, Any, Self

import anyio

from .._core.diff import ResumeCursor, diff_with_anomalies
from .._core.events import Event, ProgressChanged
from .._core.names import validate_job_name
from .._core.schedule import PollSchedule, PollState, next_delay
from .._io.clock import Clock, SystemClock
from .._io.logging import HISTORY_ANOMALY, logger
from .._io.retry import RetryPolicy
from .._io.source import AioBotocoreSource, ClientOptions, default_client

if TYPE_CHECKING:
    from types import TracebackType

    from types_aiobotocore_sagemaker import SageMakerClient

    from .._core.snapshot import Snapshot
else:
    SageMakerClient = Any


class Watch:
    """The events of one training job, exactly once and in order.

    Iterate it with ``async for``; it ends after the terminal event (``JobCompleted``,
    ``JobFailed`` or ``JobStopped``). Every step that waits (the describe call, the
    sleep between polls) can be cancelled by any cancel scope, and a cancelled or
    abandoned watch leaves nothing behind.

    Who owns the client: a client passed as *client* is the caller's and is never
    closed. Without one, ``async with watch(...) as events:`` opens one client for
    the whole block and closes it on exit; plain ``async for`` opens a client for
    each poll and closes it before the event is handed over, so breaking out of
    the loop early leaves no client, socket or task open.
    """

    def __init__(
        self,
        job_name: str,
        *,
        client: SageMakerClient | None = None,
        schedule: PollSchedule | None = None,
        resume: str | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        seed: int | None = None,
        region: str | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
        deadline: float | None = None,
    ) -> None:
        """Prepare a watch; nothing is sent until the first event is awaited.

        Raises:
            InvalidJobName: before any request, if SageMaker would reject the name.
            InvalidResumeToken: if *resume* cannot be read or is for another job.
        """
        self.job_name = validate_job_name(job_name)
        self._client = client
        self._schedule = schedule if schedule is not None else PollSchedule()
        self._retry = retry if retry is not None else RetryPolicy()
        self._clock = clock if clock is not None else SystemClock()
        self._rng = random.Random(seed)  # noqa: S311 - jitter, not security
        self._client_options = ClientOptions(
            region=region, profile=profile, endpoint_url=endpoint_url
        )
        self._deadline = deadline
        self._previous: Snapshot | ResumeCursor | None = (
            None
            if resume is None
            else ResumeCursor.from_token(resume, job_name=self.job_name)
        )
        self._last: Snapshot | None = None
        self._pending: collections.deque[Event] = collections.deque()
        self._state = PollState()
        self._next_delay: float | None = None
        self._finished = False
        self._exit_stack: contextlib.AsyncExitStack | None = None
        self._source = AioBotocoreSource(
            client,
            retry=self._retry,
            clock=self._clock,
            rng=self._rng,
            client_options=self._client_options,
        )

    def __repr__(self) -> str:
        """Return a short description."""
        return f"Watch({self.job_name!r}, finished={self._finished})"

    @property
    def last_snapshot(self) -> Snapshot | None:
        """The most recent snapshot observed, or ``None`` before the first poll."""
        return self._last

    async def __aenter__(self) -> Self:
        """Open a client for the block unless the caller gave one (waits)."""
        if self._exit_stack is not None:
            msg = "this watch was already entered; create a new one"
            raise RuntimeError(msg)
        self._exit_stack = contextlib.AsyncExitStack()
        if self._client is None:
            self._source.client = await self._exit_stack.enter_async_context(
                default_client(self._client_options)
            )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the client this block opened (shielded from cancellation)."""
        self._finished = True
        stack = self._exit_stack
        if self._client is None:
            self._source.client = None
        if stack is not None:
            with anyio.CancelScope(shield=True):
                await stack.aclose()

    def __aiter__(self) -> Self:
        """Return this watch: it is its own iterator."""
        return self

    async def __anext__(self) -> Event:
        """Return the next event, polling and sleeping as the schedule says."""
        while not self._pending:
            if self._finished:
                raise StopAsyncIteration
            if self._next_delay is not None:
                await self._clock.sleep(self._next_delay)
                self._next_delay = None
            self._observe(
                await self._source.describe(self.job_name, seen=self._last is not None)
            )
        return self._pending.popleft()

    def _observe(self, snapshot: Snapshot) -> None:
        result = diff_with_anomalies(self._previous, snapshot)
        for anomaly in result.anomalies:
            logger.warning(HISTORY_ANOMALY, job_name=self.job_name, anomaly=anomaly)
        self._previous, self._last = result.cursor, snapshot
        self._pending.extend(result.events)
        remaining = self._remaining()
        if snapshot.is_terminal or remaining == 0:
            # diff() reports the terminal event exactly once: now, or before.
            # At the deadline no further poll is made; the caller sees the end.
            self._finished = True
            return
        # Progress ticks all through Training; only a status or message change
        # brings the schedule back to its floor, or Training would poll at it.
        throttled = self._source.take_throttled()
        delay, self._state = next_delay(
            self._schedule,
            self._state,
            changed=any(
                not isinstance(event, ProgressChanged) for event in result.events
            ),
            phase=snapshot.secondary_status,
            throttled=throttled,
            remaining=remaining,
            rng=self._rng,
        )
        self._next_delay = delay

    def _remaining(self) -> float | None:
        remaining = math.inf
        if self._deadline is not None:
            remaining = self._deadline - self._clock.monotonic()
        if isinstance(self._clock, SystemClock):
            remaining = min(
                remaining, anyio.current_effective_deadline() - anyio.current_time()
            )
        return max(0.0, remaining) if math.isfinite(remaining) else None


def watch(
    job_name: str,
    *,
    client: SageMakerClient | None = None,
    schedule: PollSchedule | None = None,
    resume: str | None = None,
    retry: RetryPolicy | None = None,
    clock: Clock | None = None,
    seed: int | None = None,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
) -> Watch:
    """Watch one training job: an async iterator of typed events.

    ::

        async for event in watch("my-job"):
            print(event.to_json())

    Args:
        job_name: the training job's name.
        client: a caller-owned aiobotocore SageMaker client, never closed here.
            Without one, a client is made from the standard credential chain.
        schedule: when to poll; the default is ``PollSchedule()``.
        resume: an event's ``resume_token``: emit only what came after that event.
        retry: how each poll retries transient errors; ``RetryPolicy()`` by default.
        clock: the source of time (the fake SageMaker's clock in tests).
        seed: seeds the jitter, for reproducible schedules.
        region: the AWS region, when no *client* is given.
        profile: the AWS profile, when no *client* is given.
        endpoint_url: the SageMaker endpoint, when no *client* is given.

    Returns:
        A ``Watch``: iterate it, optionally inside ``async with``.

    Raises:
        InvalidJobName: at once, if SageMaker would reject the name.
        InvalidResumeToken: at once, if *resume* cannot be read or was written
            for another job.
    """
    return Watch(
        job_name,
        client=client,
        schedule=schedule,
        resume=resume,
        retry=retry,
        clock=clock,
        seed=seed,
        region=region,
        profile=profile,
        endpoint_url=endpoint_url,
    )
