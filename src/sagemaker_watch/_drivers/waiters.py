"""Waiters: thin functions over the event stream that resolve on an outcome."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import anyio

from .._core.events import Event, JobEnded, StatusEntered
from .._core.status import PrimaryStatus, SecondaryStatus
from .._errors import (
    StatusNotReached,
    TrainingJobFailed,
    TrainingJobStopped,
    WaitTimeout,
)
from .._io.clock import Clock, SystemClock
from .watch import Watch, _deadline_remaining

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

    from types_aiobotocore_sagemaker import SageMakerClient

    from .._core.schedule import PollSchedule
    from .._core.snapshot import Snapshot
    from .._io.retry import RetryPolicy
else:
    SageMakerClient = Any


async def wait_until_terminal(
    job_name: str,
    *,
    client: SageMakerClient | None = None,
    schedule: PollSchedule | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 - WaitTimeout carries the last snapshot
    retry: RetryPolicy | None = None,
    clock: Clock | None = None,
    seed: int | None = None,
) -> Snapshot:
    """Wait until the job is Completed, Failed or Stopped; never raise on the outcome.

    Args:
        job_name: the training job's name.
        client: a caller-owned aiobotocore SageMaker client, never closed here.
        schedule: when to poll; ``PollSchedule()`` by default.
        timeout: seconds to wait at most; ``None`` waits as long as the job runs.
            A surrounding cancel scope works too, but only this raises
            ``WaitTimeout`` with the last snapshot.
        retry: how each poll retries transient errors.
        clock: the source of time (the fake SageMaker's clock in tests).
        seed: seeds the jitter.

    Returns:
        The final snapshot.

    Raises:
        WaitTimeout: *timeout* ran out; ``.snapshot`` is the last one seen.
        TrainingJobNotFound: there is no such job.
        InvalidJobName: before any request, for a name SageMaker would reject.
        ServiceError: a fatal AWS error, or transient ones that outlasted *retry*.
    """

    def ended(event: Event) -> Snapshot | None:
        return event.snapshot if isinstance(event, JobEnded) else None

    return await _first(
        ended,
        job_name,
        client=client,
        schedule=schedule,
        timeout=timeout,
        retry=retry,
        clock=clock,
        seed=seed,
    )


async def wait_until_complete(
    job_name: str,
    *,
    client: SageMakerClient | None = None,
    schedule: PollSchedule | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 - WaitTimeout carries the last snapshot
    retry: RetryPolicy | None = None,
    clock: Clock | None = None,
    seed: int | None = None,
) -> Snapshot:
    """Wait until the job is Completed; raise if it ends any other way.

    Takes the same arguments as ``wait_until_terminal``.

    Returns:
        The final snapshot of the Completed job.

    Raises:
        TrainingJobFailed: the job failed; ``.failure_reason`` says why.
        TrainingJobStopped: the job was stopped; ``.reason`` says how
            (``"Stopped"``, ``"MaxRuntimeExceeded"``, ``"MaxWaitTimeExceeded"``, ...).
        WaitTimeout: *timeout* ran out; ``.snapshot`` is the last one seen.
        TrainingJobNotFound: there is no such job.
        InvalidJobName: before any request, for a name SageMaker would reject.
        ServiceError: a fatal AWS error, or transient ones that outlasted *retry*.
    """
    snapshot = await wait_until_terminal(
        job_name,
        client=client,
        schedule=schedule,
        timeout=timeout,
        retry=retry,
        clock=clock,
        seed=seed,
    )
    raise_for_outcome(snapshot)
    return snapshot


async def wait_for_status(
    job_name: str,
    status: SecondaryStatus | str | Collection[SecondaryStatus | str],
    *,
    client: SageMakerClient | None = None,
    schedule: PollSchedule | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 - WaitTimeout carries the last snapshot
    retry: RetryPolicy | None = None,
    clock: Clock | None = None,
    seed: int | None = None,
) -> Snapshot:
    """Wait until the job has entered *status* (a secondary status, or several).

    A status already in the job's history counts: asking for ``Training`` about a
    job that is training, or has trained, returns at once.

    Returns:
        The snapshot in which the status was first seen.

    Raises:
        TrainingJobFailed: the job failed before entering *status*.
        TrainingJobStopped: the job was stopped before entering *status*.
        StatusNotReached: the job completed without ever entering *status*.
        WaitTimeout: *timeout* ran out; ``.snapshot`` is the last one seen.
        TrainingJobNotFound: there is no such job.
        InvalidJobName: before any request, for a name SageMaker would reject.
        ValueError: before any request, if *status* is an empty collection.
    """
    wanted = (
        {SecondaryStatus(status)}
        if isinstance(status, str)
        else {SecondaryStatus(s) for s in status}
    )
    if not wanted:
        msg = "wait_for_status needs at least one status to wait for"
        raise ValueError(msg)

    def entered(event: Event) -> Snapshot | None:
        if isinstance(event, StatusEntered) and event.status in wanted:
            return event.snapshot
        if isinstance(event, JobEnded):
            raise_for_outcome(event.snapshot)
            raise StatusNotReached(event.snapshot, wanted=sorted(wanted))
        return None

    return await _first(
        entered,
        job_name,
        client=client,
        schedule=schedule,
        timeout=timeout,
        retry=retry,
        clock=clock,
        seed=seed,
    )


def raise_for_outcome(snapshot: Snapshot) -> None:
    """Raise ``TrainingJobFailed`` or ``TrainingJobStopped`` for such a snapshot.

    Judged by ``snapshot.outcome``, so an unknown primary status (``failed``)
    with a terminal secondary status counts as what that status says.
    """
    if snapshot.outcome == PrimaryStatus.FAILED:
        raise TrainingJobFailed(snapshot)
    if snapshot.outcome == PrimaryStatus.STOPPED:
        raise TrainingJobStopped(snapshot)


async def _first(
    pick: Callable[[Event], Snapshot | None],
    job_name: str,
    *,
    client: SageMakerClient | None,
    schedule: PollSchedule | None,
    timeout: float | None,  # noqa: ASYNC109 - WaitTimeout carries the last snapshot
    retry: RetryPolicy | None,
    clock: Clock | None,
    seed: int | None,
) -> Snapshot:
    """Watch until *pick* returns a snapshot (or raises); the waiters' one loop.

    On a clock that runs on anyio's time, a real-time scope also cuts a request
    hanging past *timeout*; on any clock the watch stops polling at its deadline.
    """
    clock = clock if clock is not None else SystemClock()
    if timeout is not None and not timeout >= 0:
        msg = f"timeout must be a number of seconds >= 0, not {timeout!r}"
        raise ValueError(msg)
    events = Watch(
        job_name,
        client=client,
        schedule=schedule,
        retry=retry,
        clock=clock,
        seed=seed,
        deadline=None if timeout is None else clock.monotonic() + timeout,
    )
    with anyio.move_on_after(math.inf if timeout is None else timeout) as scope:
        if not math.isfinite(_deadline_remaining(clock)):
            # This clock does not run on anyio's time (a simulated one): the
            # watch's own deadline bounds the wait, not a real-time scope.
            scope.deadline = math.inf
        async with events:
            async for event in events:
                if (snapshot := pick(event)) is not None:
                    return snapshot
    raise WaitTimeout(
        events.job_name, timeout=timeout or 0.0, snapshot=events.last_snapshot
    )
