"""One watcher's push hints: receive, read, offer, delete, and whether they flow.

A ``HintFeed`` joins the SQS calls (``_io/sqs.py``), the coalescer of hints into
describes (``_core/hints.py``) and the decision whether hints are trusted
(``_core/hint_mode.py``) for one driver: ``watch()`` long-polls the queue while
it waits for its next describe; a fleet runs ``receive`` in a task of its own.
The driver asks ``coalescer`` which jobs are due, tells it of every describe
and snapshot, and calls ``missed`` when a describe finds a change no hint had
announced. Every message received is deleted once read: hints about watched
jobs are offered, the others (other jobs, not training job events) are only
counted, and a message's body is never logged.
"""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Final

import anyio

from .._core.events import JobEnded, PrimaryStatusChanged, StatusEntered
from .._core.hint_mode import HintMode, HintState
from .._core.hints import Hint, HintCoalescer
from .._core.tracker import ErrorKind
from .._io.client import ClientOptions, sqs_client
from .._io.failures import error_code
from .._io.logging import (
    HINT_NOT_READ,
    HINTS_DELETE_FAILED,
    HINTS_FALLBACK,
    HINTS_FLOWING,
    HINTS_RECEIVE_FAILED,
    logger,
)
from .._io.source import CallFailed
from .._io.sqs import SqsQueue
from .hints import HintStatistics

if TYPE_CHECKING:
    import contextlib
    from collections.abc import Callable, Iterable

    from .._core.events import Event
    from .._core.snapshot import Snapshot
    from .._io.clock import Clock
    from .hints import SqsClient, SqsHints

#: Real seconds a delete may go on after its watcher was cancelled.
DELETE_GRACE: Final = 5.0
#: The events a state-change event announces (a progress or message change is not one).
ANNOUNCED = (StatusEntered, PrimaryStatusChanged, JobEnded)


def announced(events: Iterable[Event]) -> bool:
    """Whether *events* hold a change that SageMaker sends an event for."""
    return any(isinstance(event, ANNOUNCED) for event in events)


class HintFeed:
    """The hints of one SQS queue, for one watcher.

    Attributes:
        queue: the SQS calls.
        coalescer: which jobs hints make due, and when.
        mode: whether hints are trusted now.
        confirmed_at: when the last receive that found the queue drained
            came back: a long poll asks every SQS server, so a job with no
            hint pending was unchanged then, as far as the queue knows
            (``None`` before one).
        retry_delay: seconds before the next receive after a failed one.
        drained: whether the last receive came back with less than a batch.
    """

    def __init__(
        self,
        settings: SqsHints,
        *,
        client: SqsClient,
        clock: Clock,
        watched: Callable[[str], bool],
    ) -> None:
        """Read *settings*' queue through *client*, offering hints *watched* says."""
        self.settings = settings
        self.queue = SqsQueue(
            client,
            settings.queue_url,
            wait_seconds=settings.wait_seconds,
            max_messages=settings.max_messages,
        )
        self.coalescer = HintCoalescer(window=settings.window)
        self.mode = HintMode(ceiling=settings.ceiling, silence=settings.silence)
        self.confirmed_at: float | None = None
        self.retry_delay = 0.0
        self.drained = True
        self._clock = clock
        self._watched = watched
        self._unwatched = 0
        self._hinted_describes = 0

    def __repr__(self) -> str:
        """Return a short description."""
        return f"HintFeed({self.queue!r}, state={self.mode.state.value!r})"

    async def receive(self, *, wait_seconds: int | None = None) -> HintState | None:
        """Receive once, offer what concerns watched jobs, delete what was read.

        Returns:
            The hints' new state if it changed (logged here), else ``None``.
        """
        received = await self.queue.receive(wait_seconds=wait_seconds)
        now = self._clock.monotonic()
        if isinstance(received, CallFailed):
            change, self.retry_delay = self.mode.failed()
            log = logger.debug if received.kind is ErrorKind.THROTTLED else logger.info
            code = error_code(received.error)
            log(HINTS_RECEIVE_FAILED, error=code, delay=round(self.retry_delay, 3))
            return self._log(change, error=code)
        self.retry_delay = 0.0
        hints = 0
        for item in received:
            if not isinstance(item, Hint):
                logger.info(
                    HINT_NOT_READ, reason=item.reason.value, message_id=item.message_id
                )
                continue
            hints += 1
            if self._watched(item.job_name):
                self.coalescer.offer(item, now=now)
            else:
                self._unwatched += 1
        self.drained = len(received) < self.queue.max_messages
        if self.drained:
            self.confirmed_at = now
        change = self.mode.received(hints=hints, now=now)
        if received:
            failed = None
            # Shielded, briefly: a watcher closing now still deletes what it
            # read, instead of leaving it to come back as duplicates.
            with anyio.move_on_after(DELETE_GRACE, shield=True):
                failed = await self.queue.delete(received)
            if failed is not None:
                logger.info(HINTS_DELETE_FAILED, error=error_code(failed.error))
        return self._log(change)

    def next_receive(self) -> float:
        """Seconds to wait before the next receive of a fleet's feed."""
        if self.retry_delay:
            return self.retry_delay
        return self.settings.pace if self.drained else 0.0

    def sent_for_hint(self) -> None:
        """Count a describe sent because a hint made its job due."""
        self._hinted_describes += 1

    def observed(
        self,
        job_name: str,
        snapshot: Snapshot,
        events: Iterable[Event],
        *,
        for_hint: bool,
        first: bool,
        now: float,
    ) -> bool:
        """Tell the feed of a snapshot and its events; return whether to re-plan.

        The snapshot covers the hints it shows. Its changes were announced if
        a hint caused the describe, or one arrived while it was in flight
        (still pending now); else they were missed. Either tells ``mode``,
        which may change how often jobs are re-checked, or stop trusting hints
        (logged): then the driver re-plans its jobs.
        """
        unannounced = not for_hint and not self.coalescer.pending(job_name)
        self.coalescer.observed(job_name, snapshot)
        if first or not announced(events):
            return False
        if not unannounced:
            return self.mode.announced()
        recheck = self.mode.recheck
        changed = self._log(self.mode.missed(now=now)) is not None
        return changed or recheck != self.mode.recheck

    def statistics(self) -> HintStatistics:
        """Return the counters so far."""
        queue = self.queue.statistics()
        coalescer = self.coalescer.statistics()
        return HintStatistics(
            state=self.mode.state.value,
            flowing=self.mode.flowing,
            fallbacks=self.mode.fallbacks,
            receives=queue.receives,
            deletes=queue.deletes,
            messages=queue.messages,
            hints=queue.hints,
            not_hints=types.MappingProxyType(dict(queue.not_hints)),
            unwatched=self._unwatched,
            stale=coalescer.stale,
            coalesced=coalescer.coalesced,
            hinted_describes=self._hinted_describes,
            missed=self.mode.missed_changes,
            throttles=queue.throttles,
            errors=queue.errors,
        )

    def _log(
        self, change: HintState | None, *, error: str | None = None
    ) -> HintState | None:
        """Log a change of state: back on hints, or a fall-back (why, and the code)."""
        if change is HintState.FLOWING:
            logger.info(HINTS_FLOWING, fallbacks=self.mode.fallbacks)
        elif change is not None:
            detail = {} if error is None else {"error": error}
            logger.warning(
                HINTS_FALLBACK,
                reason=change.value,
                fallbacks=self.mode.fallbacks,
                **detail,
            )
        return change


async def open_feed(
    settings: SqsHints,
    stack: contextlib.AsyncExitStack,
    *,
    options: ClientOptions,
    clock: Clock,
    watched: Callable[[str], bool],
) -> HintFeed:
    """Return a feed for *settings*, opening its SQS client on *stack* if needed.

    A client the feed opens takes the settings' region and profile, else the
    watcher's (*options*), and the watcher's ``verify`` and botocore config.

    Raises:
        InvalidEndpoint, NoRegion, ConfigurationError, CredentialsError: the
            SQS client cannot be set up (see ``_io.client.sqs_client``).
    """
    client = settings.client
    if client is None:
        client = await stack.enter_async_context(
            sqs_client(
                ClientOptions(
                    region=settings.region or options.region,
                    profile=settings.profile or options.profile,
                    verify=options.verify,
                    botocore_config=options.botocore_config,
                ),
                queue_url=settings.queue_url,
            )
        )
    return HintFeed(settings, client=client, clock=clock, watched=watched)
