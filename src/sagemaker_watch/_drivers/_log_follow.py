"""One job's training logs for a driver: list streams, read them, within a budget.

A ``LogFollower`` joins the CloudWatch Logs calls (``_io/logs.py``) and the pure
reader of one job's streams (``_core/log_reader.py``, which decides what to read
when, deduplicates, merges and drains) for a driver: ``watch()`` runs its calls
while it waits for its next describe, and tells it when the job changed status
or ended. Every call takes a token of the driver's rate budget first (its own,
or a fleet's, shared by every job followed). Lines are handed to the caller and
never logged: a line can hold anything. ``tell_follower`` (what a describe
showed) and ``open_logs_client`` are shared by ``watch()`` and the fleet.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Final

from .._core.events import Event, JobEnded, PrimaryStatusChanged, StatusEntered
from .._core.log_reader import LogReader
from .._errors import ServiceError
from .._io.client import ClientOptions, logs_client
from .._io.logging import LOGS_CALL_FAILED, logger
from .._io.logs import LogsFailure, LogsFailureKind, LogsSource

if TYPE_CHECKING:
    import contextlib
    from collections.abc import Sequence

    from types_aiobotocore_sagemaker import SageMakerClient

    from .._core.log_reader import LogLine, StreamRead
    from .._core.snapshot import Snapshot
    from .._io.clock import Clock
    from .logs import CloudWatchLogs

#: DescribeLogStreams pages per listing at most (50 streams a page: 5,000 streams).
MAX_LISTING_PAGES: Final = 100
#: The failures that no retry can mend: the follower stops and says why.
_FATAL: Final = frozenset({LogsFailureKind.DENIED, LogsFailureKind.FATAL})


class LogFollower:
    """The training logs of one job, for one driver.

    Attributes:
        job_name: the job whose streams are read.
        reader: what to read when, and the lines read (pure).
    """

    def __init__(
        self,
        job_name: str,
        *,
        source: LogsSource,
        clock: Clock,
        settings: CloudWatchLogs,
        resume: str | None = None,
    ) -> None:
        """Prepare to follow *job_name*; nothing is sent yet.

        Raises:
            InvalidResumeToken: *resume* cannot be read or is another job's.
        """
        self.job_name = job_name
        self._source = source
        self._clock = clock
        self.reader = LogReader(
            job_name,
            window=settings.window,
            active=settings.active,
            idle=settings.idle,
            drain=settings.drain,
            resume=resume,
        )

    def ready(self, now: float) -> bool:
        """Whether lines may be taken now."""
        release = self.reader.next_release()
        return release is not None and release <= now

    def next_due(self) -> float:
        """When the next call (or release of lines) is due, on the clock."""
        due = self.reader.listing_due()
        read = self.reader.next_read()
        if read is not None:
            due = min(due, read[0])
        release = self.reader.next_release()
        if release is not None:
            due = min(due, release)
        return due

    def take(self, *, flush: bool = False) -> list[LogLine]:
        """The lines whose reordering window has passed (all with *flush*)."""
        return self.reader.take(now=self._clock.monotonic(), flush=flush)

    @property
    def finished(self) -> bool:
        """Whether the job ended and its streams were drained."""
        return self.reader.finished()

    async def work(self, until: float) -> None:
        """Make the calls due before *until*, then return (at once if lines are ready).

        Raises:
            AccessDenied, CredentialsRejected, ServiceError: CloudWatch Logs
                refused the credentials or the call (``logs:DescribeLogStreams``
                and ``logs:GetLogEvents`` are needed), or another error no
                retry mends.
        """
        while True:
            now = self._clock.monotonic()
            if self.ready(now) or self.finished:
                return
            if self.reader.listing_due() <= now:
                await self._list()
                continue
            read = self.reader.next_read()
            if read is not None and read[0] <= now:
                await self._read(read[1])
                continue
            due = min(self.next_due(), until)
            if due <= now or not math.isfinite(due):
                return
            await self._clock.sleep(due - now)

    async def _list(self) -> None:
        """List the job's streams, every page, and tell the reader."""
        names: list[str] = []
        token: str | None = None
        sent = self._clock.monotonic()
        for _ in range(MAX_LISTING_PAGES):
            page = await self._source.list_streams(self.job_name, token=token)
            if isinstance(page, LogsFailure):
                if page.kind is LogsFailureKind.NOT_FOUND:
                    # The log group appears with the first job of the account.
                    break
                self._failed("DescribeLogStreams", page)
                self.reader.listing_failed(now=self._clock.monotonic())
                return
            names.extend(page.names)
            if page.next_token is None or page.next_token == token:
                break
            token = page.next_token
        self.reader.streams_listed(names, now=self._clock.monotonic(), sent=sent)

    async def _read(self, request: StreamRead) -> None:
        """Read one stream once and tell the reader what came back."""
        page = await self._source.read(request)
        now = self._clock.monotonic()
        if not isinstance(page, LogsFailure):
            self.reader.read(request, page.events, page.next_token, now=now)
        elif page.kind is LogsFailureKind.TOKEN_REJECTED:
            self.reader.token_rejected(request, now=now)
        elif page.kind is LogsFailureKind.NOT_FOUND:
            self.reader.stream_missing(request, now=now)
        else:
            self._failed("GetLogEvents", page)
            self.reader.read_failed(request, now=now)

    def _failed(self, operation: str, failure: LogsFailure) -> None:
        """Raise a failure no retry mends; log the others (throttles quietly)."""
        if failure.kind in _FATAL:
            if failure.error is not None:
                raise failure.error
            raise ServiceError(failure.message, job_name=self.job_name, code="Fatal")
        if failure.kind is not LogsFailureKind.THROTTLED:
            logger.info(
                LOGS_CALL_FAILED,
                job_name=self.job_name,
                operation=operation,
                error=failure.code or failure.kind.name.lower(),
            )


def open_logs_client(
    settings: CloudWatchLogs,
    options: ClientOptions,
    *,
    sagemaker: SageMakerClient | None,
) -> contextlib.AbstractAsyncContextManager[Any]:
    """A CloudWatch Logs client for *settings* (``watch()``'s and the fleet's).

    In the settings' region and profile, else those of the SageMaker client's
    *options*; without a region, in the region of the *sagemaker* client.
    """
    return logs_client(
        ClientOptions(
            region=settings.region or options.region,
            profile=settings.profile or options.profile,
            verify=options.verify,
            botocore_config=options.botocore_config,
        ),
        job_region=sagemaker.meta.region_name if sagemaker is not None else None,
    )


def tell_follower(
    follower: LogFollower,
    events: Sequence[Event],
    *,
    finished: bool,
    now: float,
    snapshot: Snapshot | None = None,
) -> tuple[list[Event], list[Event]]:
    """Tell a job's log follower what a describe showed (``watch()``'s and the fleet's).

    A status change may mean a restart with new streams: they are looked for
    at once. When the job *finished*, its streams are drained, and its terminal
    events are held back until they are, so that they come after its last lines.

    Args:
        follower: the job's log follower.
        events: the events the describe gave.
        finished: whether the job ended with this describe.
        now: the monotonic time of the answer.
        snapshot: the snapshot that showed the end (how long ago the job ended
            says how long to drain); ``None``: it just ended.

    Returns:
        The events to hand out now, and the terminal events held back.
    """
    if any(isinstance(e, StatusEntered | PrimaryStatusChanged) for e in events):
        follower.reader.status_changed(now=now)
    if not finished:
        return list(events), []
    follower.reader.job_ended(
        now=now, ended_ago=0.0 if snapshot is None else _ended_ago(snapshot)
    )
    held: list[Event] = [e for e in events if isinstance(e, JobEnded)]
    return [e for e in events if not isinstance(e, JobEnded)], held


def _ended_ago(snapshot: Snapshot) -> float:
    """Seconds from the job's end (the service's time) to the answer that showed it."""
    end = snapshot.training_end_time or snapshot.last_modified_time
    if end is None:
        return 0.0
    return max(0.0, (snapshot.observed_at - end).total_seconds())
