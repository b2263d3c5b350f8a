"""Waiters: thin functions over one ``Watch`` that resolve on an outcome."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._core.events import JobEnded, StatusEntered
from .._core.status import PrimaryStatus, SecondaryStatus, wanted_statuses
from .._errors import (
    StatusNotReached,
    TrainingJobFailed,
    TrainingJobStopped,
    WaitTimeout,
)
from .watch import Watch

if TYPE_CHECKING:
    from collections.abc import Collection

    from types_aiobotocore_sagemaker import SageMakerClient

    from .._core.schedule import PollSchedule
    from .._core.snapshot import Snapshot
    from .._core.tracker import RetryPolicy
    from .._io.clock import Clock
    from .hints import SqsHints
else:
    SageMakerClient = Any


async def wait_until_terminal(
    job_name: str,
    *,
    client: SageMakerClient | None = None,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    schedule: PollSchedule | None = None,
    retry: RetryPolicy | None = None,
    clock: Clock | None = None,
    seed: int | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 - WaitTimeout carries the last snapshot
    resume: str | None = None,
    hints: SqsHints | None = None,
) -> Snapshot:
    """Wait until the job is Completed, Failed or Stopped; never raise on the outcome.

    Takes the same keywords as ``watch()``; without *client*, the waiter opens its
    own client (from *region*, *profile*, *endpoint_url* and the standard chain)
    and closes it before returning.

    Args:
        job_name: the training job's name, or its ARN (reduced to the name, as
            in ``watch()``).
        client: a caller-owned aiobotocore SageMaker client, never closed here.
        region: the AWS region, when no *client* is given.
        profile: the AWS profile, when no *client* is given.
        endpoint_url: the SageMaker endpoint, when no *client* is given.
        schedule: when to poll; ``PollSchedule()`` by default.
        retry: how each poll retries transient errors.
        clock: the source of time (the fake SageMaker's clock in tests).
        seed: seeds the jitter.
        timeout: seconds to wait at most; ``None`` waits as long as the job runs.
            A surrounding cancel scope works too, but only this raises
            ``WaitTimeout`` with the last snapshot.
        resume: an event's ``resume_token``: only what came after it counts
            (a job that had already ended answers from one poll).
        hints: push hints (``SqsHints``), as for ``watch()``.

    Returns:
        The final snapshot.

    Raises:
        WaitTimeout: *timeout* ran out; ``.snapshot`` is the last one seen.
        TrainingJobNotFound: there is no such job.
        InvalidJobName: before any request, for a name or ARN SageMaker would
            reject, or an ARN from another region than the client's.
        ServiceError: a fatal AWS error, or transient ones that outlasted *retry*.
    """
    return await _until(
        Watch(
            job_name,
            client=client,
            region=region,
            profile=profile,
            endpoint_url=endpoint_url,
            schedule=schedule,
            retry=retry,
            clock=clock,
            seed=seed,
            timeout=timeout,
            resume=resume,
            hints=hints,
        ),
        wanted=None,
    )


async def wait_until_complete(
    job_name: str,
    *,
    client: SageMakerClient | None = None,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    schedule: PollSchedule | None = None,
    retry: RetryPolicy | None = None,
    clock: Clock | None = None,
    seed: int | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 - WaitTimeout carries the last snapshot
    resume: str | None = None,
    hints: SqsHints | None = None,
) -> Snapshot:
    """Wait until the job is Completed; raise if it ends any other way.

    Takes the same keywords as ``wait_until_terminal`` (and ``watch()``).

    Returns:
        The final snapshot of the Completed job.

    Raises:
        TrainingJobFailed: the job failed; ``.failure_reason`` says why.
        TrainingJobStopped: the job was stopped; ``.reason`` says how
            (``"Stopped"``, ``"MaxRuntimeExceeded"``, ``"MaxWaitTimeExceeded"``, ...).
        WaitTimeout: *timeout* ran out; ``.snapshot`` is the last one seen.
        TrainingJobNotFound: there is no such job.
        InvalidJobName: before any request, for a name or ARN SageMaker would
            reject, or an ARN from another region than the client's.
        ServiceError: a fatal AWS error, or transient ones that outlasted *retry*.
    """
    snapshot = await wait_until_terminal(
        job_name,
        client=client,
        region=region,
        profile=profile,
        endpoint_url=endpoint_url,
        schedule=schedule,
        retry=retry,
        clock=clock,
        seed=seed,
        timeout=timeout,
        resume=resume,
        hints=hints,
    )
    return snapshot.raise_for_outcome()


async def wait_for_status(
    job_name: str,
    status: SecondaryStatus | str | Collection[SecondaryStatus | str],
    *,
    client: SageMakerClient | None = None,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    schedule: PollSchedule | None = None,
    retry: RetryPolicy | None = None,
    clock: Clock | None = None,
    seed: int | None = None,
    timeout: float | None = None,  # noqa: ASYNC109 - WaitTimeout carries the last snapshot
    resume: str | None = None,
    hints: SqsHints | None = None,
) -> Snapshot:
    """Wait until the job has entered *status* (a secondary status, or several).

    A status already in the job's history counts: asking for ``Training`` about a
    job that is training, or has trained, returns at once. With *resume*, only
    statuses entered after the token's event count. Takes the same keywords as
    ``wait_until_terminal`` (and ``watch()``).

    Returns:
        The snapshot in which the status was first seen.

    Raises:
        TrainingJobFailed: the job failed before entering *status*.
        TrainingJobStopped: the job was stopped before entering *status*.
        StatusNotReached: the job completed without ever entering *status*.
        WaitTimeout: *timeout* ran out; ``.snapshot`` is the last one seen.
        TrainingJobNotFound: there is no such job.
        InvalidJobName: before any request, for a name or ARN SageMaker would
            reject, or an ARN from another region than the client's.
        ValueError: before any request, if *status* is an empty collection.
    """
    wanted = wanted_statuses(status)
    return await _until(
        Watch(
            job_name,
            client=client,
            region=region,
            profile=profile,
            endpoint_url=endpoint_url,
            schedule=schedule,
            retry=retry,
            clock=clock,
            seed=seed,
            timeout=timeout,
            resume=resume,
            hints=hints,
        ),
        wanted=wanted,
    )


def raise_for_outcome(snapshot: Snapshot) -> None:
    """Raise ``TrainingJobFailed`` or ``TrainingJobStopped`` for such a snapshot.

    Deprecated as ``sagemaker_watch.raise_for_outcome``: use
    ``Snapshot.raise_for_outcome()``, which also refuses a snapshot of a job
    still running. This one returns ``None`` for it, as it always did.
    """
    if snapshot.outcome == PrimaryStatus.FAILED:
        raise TrainingJobFailed(snapshot)
    if snapshot.outcome == PrimaryStatus.STOPPED:
        raise TrainingJobStopped(snapshot)


async def _until(
    events: Watch, *, wanted: frozenset[SecondaryStatus] | None
) -> Snapshot:
    """Watch until one of *wanted* is entered, or (``None``) until the job ends.

    The waiters' one loop; the watch's own *timeout* raises ``WaitTimeout``.
    """
    async with events:
        async for event in events:
            if isinstance(event, JobEnded):
                break
            if (
                wanted is not None
                and isinstance(event, StatusEntered)
                and event.status in wanted
            ):
                return event.snapshot
    last = events.last_snapshot
    if last is None or not last.is_terminal:
        # The caller's cancel-scope deadline came first: the watch polled at it.
        raise WaitTimeout(events.job_name, timeout=0.0, snapshot=last)
    if wanted is None:
        return last
    last.raise_for_outcome()
    raise StatusNotReached(last, wanted=sorted(wanted))
