"""Training logs: ``logs()``, every line of a job's hosts once, and its settings.

``logs("my-job")`` follows the job's CloudWatch Logs streams
(``/aws/sagemaker/TrainingJobs``, ``JOB/algo-N-EPOCH``: one per host and per
container start) while the job runs, and drains them after it ends, so its last
lines (a failed job's traceback) are never lost. It is a ``Watch`` that also
reads logs: the job's status comes from the same describes and tracker as
``watch()``'s, which tell the reader when to look for new streams (a restart)
and when to drain. What to read when is the pure ``_core/log_reader.py``'s;
the calls are ``_io/logs.py``'s; the follower that joins them is
``_log_follow.py``'s.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any, Generic, Literal, Self, TypeVar, overload

from .._core.events import Event
from .._core.log_reader import LogLine
from .._io.logs import DESCRIBE_LOG_STREAMS, GET_LOG_EVENTS
from .._io.ratelimit import Rate, RateBudget
from .watch import Watch

if TYPE_CHECKING:
    from types import TracebackType

    from types_aiobotocore_sagemaker import SageMakerClient

    from .._core.log_reader import LogReaderStatistics
    from .._core.schedule import PollSchedule
    from .._core.snapshot import Snapshot
    from .._core.tracker import RetryPolicy
    from .._io.clock import Clock
    from .hints import SqsHints
else:
    SageMakerClient = Any

__all__ = ["CloudWatchLogs", "Logs", "logs"]

#: An aiobotocore CloudWatch Logs client.
LogsClient = Any

ItemT = TypeVar("ItemT", LogLine, Event | LogLine)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CloudWatchLogs:
    """Where to read training logs, and how: pass it as ``settings=`` to ``logs()``.

    Attributes:
        client: a caller-owned aiobotocore CloudWatch Logs client, never closed
            here; without one, ``logs()`` opens its own when entered, in the
            job's region (*region*, else the SageMaker client's).
        region: the region of a client ``logs()`` opens.
        profile: the AWS profile of a client ``logs()`` opens.
        window: seconds each line is held before it is handed out, so that
            lines of several hosts read a little apart come out in time order
            (lines read further apart come out once, but late).
        active: seconds between two reads of a stream that had new lines.
        idle: the most seconds between two reads of a stream that had none
            (the wait doubles from *active* while a stream stays quiet).
        drain: after the job ends, each stream is read until it comes back
            empty twice, then once more from its start, at least this many
            seconds after the end: lines ingested that late (a host's last
            batch, which the CloudWatch agent sends every 5 s) are still
            handed out. A job that ended longer ago is read once to its end.
        read_rate: ``GetLogEvents`` requests per second at most (the account's
            quota is shared by every tool: keep it well under).
        list_rate: ``DescribeLogStreams`` requests per second at most.

    One ``CloudWatchLogs`` is one budget: every ``logs()`` given the same
    instance shares its *read_rate* and *list_rate* (a throttle slows them
    all, as in a fleet), so following 50 jobs with one instance stays within
    5 requests per second in all. Separate instances have separate budgets.
    """

    client: LogsClient | None = dataclasses.field(
        default=None, repr=False, compare=False
    )
    region: str | None = None
    profile: str | None = None
    window: float = 5.0
    active: float = 5.0
    idle: float = 60.0
    drain: float = 10.0
    read_rate: float = 4.0
    list_rate: float = 1.0
    _budgets: dict[int, RateBudget] = dataclasses.field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        """Check the settings.

        Raises:
            ValueError: a setting out of range.
        """
        for name in ("window", "active", "idle", "drain", "read_rate", "list_rate"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                msg = f"{name} must be a finite number >= 0, not {value!r}"
                raise ValueError(msg)
        for name in ("active", "read_rate", "list_rate"):
            if not getattr(self, name) > 0:
                msg = f"{name} must be more than 0"
                raise ValueError(msg)
        if self.idle < self.active:
            msg = f"idle ({self.idle!r}) must be at least active ({self.active!r})"
            raise ValueError(msg)

    def budget(self, clock: Clock) -> RateBudget:
        """The rate budget every ``logs()`` with these settings shares (made once).

        Budgets run on a clock: one per clock (the first one made for a clock
        is the one its followers share).
        """
        budget = self._budgets.get(id(clock))
        if budget is None:
            budget = self._budgets[id(clock)] = RateBudget(
                {
                    GET_LOG_EVENTS: Rate(per_second=self.read_rate),
                    DESCRIBE_LOG_STREAMS: Rate(per_second=self.list_rate),
                },
                clock=clock,
            )
        return budget


class Logs(Generic[ItemT]):
    """The log lines of one training job, each once, in time order (``logs()``).

    Iterate it with ``async for``: each item is a ``LogLine`` (with
    ``events=True``, the job's events too, in the order they happened: the
    terminal event comes last, after the job's last lines). It ends once the
    job has ended and its streams have been drained. Use it as ``async with``
    unless both clients (SageMaker's, CloudWatch Logs') are the caller's.
    """

    def __init__(self, watch: Watch, *, events: bool) -> None:
        """Wrap *watch* (made with logs settings); ``logs()`` makes them."""
        self._watch = watch
        self._events = events

    def __repr__(self) -> str:
        """Return a short description."""
        return f"Logs({self._watch.job_name!r})"

    @property
    def job_name(self) -> str:
        """The training job's name."""
        return self._watch.job_name

    @property
    def last_snapshot(self) -> Snapshot | None:
        """The job's most recent snapshot, or ``None`` before the first describe."""
        return self._watch.last_snapshot

    @property
    def resume_token(self) -> str | None:
        """A token for ``logs(..., resume=)``: only the lines after those handed out.

        ``None`` before the watch is entered (or iterated, with caller's clients).
        """
        follower = self._watch.log_follower
        if follower is None:
            return None
        # Lines taken from the reader but not handed out yet come again.
        queued = [item for item in self._watch.pending if isinstance(item, LogLine)]
        return follower.reader.resume_token_before(queued)

    def statistics(self) -> LogReaderStatistics | None:
        """What the reader did so far (``None`` before entering)."""
        follower = self._watch.log_follower
        return None if follower is None else follower.reader.statistics()

    async def __aenter__(self) -> Self:
        """Open the clients the caller did not give (closed on exit)."""
        await self._watch.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close what ``async with`` opened (shielded)."""
        await self._watch.__aexit__(exc_type, exc, tb)

    def __aiter__(self) -> Self:
        """Return this iterator."""
        return self

    async def __anext__(self) -> ItemT:
        """Return the next line (or event, with ``events=True``).

        Raises:
            UsageError: a client must be opened: use ``async with``.
            WaitTimeout: *timeout* ran out first.
            AccessDenied: CloudWatch Logs refused ``DescribeLogStreams`` or
                ``GetLogEvents`` (or SageMaker ``DescribeTrainingJob``).
        """
        while True:
            item = await self._watch.next_item()
            if self._events or isinstance(item, LogLine):
                return item  # type: ignore[return-value]


@overload
def logs(
    job_name: str,
    *,
    events: Literal[False] = False,
    follow: bool = True,
    settings: CloudWatchLogs | None = None,
    client: SageMakerClient | None = None,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    schedule: PollSchedule | None = None,
    retry: RetryPolicy | None = None,
    clock: Clock | None = None,
    seed: int | None = None,
    timeout: float | None = None,
    resume: str | None = None,
    hints: SqsHints | None = None,
) -> Logs[LogLine]: ...


@overload
def logs(
    job_name: str,
    *,
    events: Literal[True],
    follow: bool = True,
    settings: CloudWatchLogs | None = None,
    client: SageMakerClient | None = None,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    schedule: PollSchedule | None = None,
    retry: RetryPolicy | None = None,
    clock: Clock | None = None,
    seed: int | None = None,
    timeout: float | None = None,
    resume: str | None = None,
    hints: SqsHints | None = None,
) -> Logs[Event | LogLine]: ...


def logs(
    job_name: str,
    *,
    events: bool = False,
    follow: bool = True,
    settings: CloudWatchLogs | None = None,
    client: SageMakerClient | None = None,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    schedule: PollSchedule | None = None,
    retry: RetryPolicy | None = None,
    clock: Clock | None = None,
    seed: int | None = None,
    timeout: float | None = None,
    resume: str | None = None,
    hints: SqsHints | None = None,
) -> Logs[LogLine] | Logs[Event | LogLine]:
    """Follow one training job's logs: every line of every host, once, in time order.

    ::

        async with sw.logs("my-job") as lines:
            async for line in lines:
                print(line.host, line.message)

    Lines come from every stream of the job (one per host, and new ones after
    a restart), merged by timestamp; the iteration ends once the job has ended
    and its streams came back empty past the end, so the last lines are never
    lost. The job's status comes from ``DescribeTrainingJob``, on the watch's
    schedule. Lines are handed to the caller only: the library never logs them.

    Args:
        job_name: the training job's name, or its ARN.
        events: also yield the job's events (``watch()``'s), interleaved; the
            terminal event comes after the job's last lines.
        follow: ``False``: hand out the lines there are when the job is first
            described (each stream read to its end once) and stop, whether
            the job runs on or not.
        settings: how to read the logs (``CloudWatchLogs``); the defaults
            otherwise.
        client: a caller-owned aiobotocore SageMaker client, never closed here.
        region: the AWS region, when no *client* is given.
        profile: the AWS profile, when no *client* is given.
        endpoint_url: the SageMaker endpoint, when no *client* is given.
        schedule: when to describe the job (``watch()``'s).
        retry: how each describe retries transient errors.
        clock: the source of time (the fake SageMaker's clock in tests).
        seed: seeds the schedule's jitter.
        timeout: seconds to follow at most; then ``WaitTimeout``.
        resume: a ``Logs.resume_token``: only the lines after those handed out
            when it was taken.
        hints: push hints for the describes (``watch()``'s).

    Returns:
        A ``Logs``: enter it with ``async with`` and iterate it.

    Raises:
        InvalidJobName: at once, for a name SageMaker would reject.
        InvalidResumeToken: at once, for a *resume* that cannot be read or is
            another job's.
    """
    watch = Watch(
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
        hints=hints,
    )
    watch.read_logs(
        settings if settings is not None else CloudWatchLogs(),
        resume=resume,
        follow=follow,
    )
    if events:
        return Logs[Event | LogLine](watch, events=True)
    return Logs[LogLine](watch, events=False)
