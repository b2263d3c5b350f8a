"""A fleet's training logs: one follower per job, one budget, one task of their own.

With ``FleetWatcher(logs=CloudWatchLogs(...))`` every job the fleet watches has
a ``LogFollower`` (``_log_follow.py``: the pure reader of its streams joined to
the CloudWatch Logs calls), and ``FleetLogs`` runs them all:

* **One budget.** Every follower's calls go through one ``LogsSource`` on the
  settings' ``budget(clock)``, the ``RateBudget`` every user of the same
  ``CloudWatchLogs`` shares: 50 jobs stay within *read_rate* + *list_rate*
  requests per second in all, and a throttle slows them all.
* **Never in the describes' way.** The followers run in a task of their own
  (the fleet's scheduler sends the describes, on their own budget and
  in-flight limit); at most *max_in_flight* followers make calls at once, and
  one follower never makes two at once.
* **Told at once.** Each describe's events go through ``observed``: a status
  change makes the follower look for new streams (a restart), the job's end
  starts the drain, and the terminal events are held back until its streams
  are drained (``watch.tell_follower``, shared with ``watch()``), so a job's
  terminal event comes after its last lines.
* **One job's logs never stop the fleet.** A follower refused for good
  (``AccessDenied`` on ``logs:GetLogEvents``, say) stops: a warning names the
  job, the operation's error type and code (never a line, never an answer),
  the lines it read are handed out, and the job's events go on. A lost job's
  follower hands out what it read and stops; a removed job's stops at once.

Lines go to the fleet's stream only, never to the library's logger.
"""

from __future__ import annotations

import collections
import dataclasses
import math
from types import MappingProxyType
from typing import TYPE_CHECKING

from .._core.log_reader import LogLine
from .._errors import SageMakerWatchError
from .._io.logging import LOGS_CALL_FAILED, logger
from .._io.logs import DESCRIBE_LOG_STREAMS, GET_LOG_EVENTS, LogsSource
from ._fleet_stats import FleetLogStatistics
from ._fleet_waiters import Nap
from ._log_follow import LogFollower, tell_follower

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from anyio.abc import TaskGroup

    from .._core.events import Event
    from .._core.snapshot import Snapshot
    from .._io.clock import Clock
    from .logs import CloudWatchLogs


@dataclasses.dataclass(slots=True, eq=False)
class _Followed:
    """One job's follower and what the fleet keeps about it."""

    follower: LogFollower
    #: The terminal events held until the streams are drained.
    held: list[Event] = dataclasses.field(default_factory=list)
    ended: bool = False
    busy: bool = False
    #: Lines put in the stream and not read from it yet (for the resume token).
    unread: collections.deque[LogLine] = dataclasses.field(
        default_factory=collections.deque
    )


class FleetLogs:
    """The training logs of every job a fleet watches, read within one budget.

    Attributes:
        settings: where and how to read (``CloudWatchLogs``).
        source: the CloudWatch Logs calls, on the settings' shared budget.
    """

    def __init__(
        self,
        settings: CloudWatchLogs,
        *,
        clock: Clock,
        max_in_flight: int,
        emit: Callable[[Event | LogLine], None],
        idle: Callable[[], None],
    ) -> None:
        """Read with *settings*; put lines and held events out through *emit*.

        *idle* is called when the last drain ends (the fleet may have nothing
        left to watch).
        """
        self.settings = settings
        self._clock = clock
        self.source = LogsSource(settings.client, budget=settings.budget(clock))
        self._max_in_flight = max_in_flight
        self._emit = emit
        self._idle = idle
        self._followed: dict[str, _Followed] = {}
        self._in_flight = 0
        self._nap = Nap(clock)
        self._task_group: TaskGroup | None = None
        self._lines = 0
        self._stopped = 0
        #: Why a job's follower stopped for good, by job (until it is re-added).
        self.errors: dict[str, SageMakerWatchError] = {}

    def __repr__(self) -> str:
        """Return a short description."""
        return (
            f"FleetLogs(following={len(self._followed)}, in_flight={self._in_flight})"
        )

    # -- lifecycle (the fleet's) -------------------------------------------------

    def start(self, task_group: TaskGroup) -> None:
        """Run the followers in *task_group* (the client must be set)."""
        self._task_group = task_group
        task_group.start_soon(self._run)

    def close(self) -> None:
        """Stop (the fleet cancels the task group)."""
        self._task_group = None

    # -- jobs (the scheduler's) ----------------------------------------------------

    def follow(self, name: str, *, resume: str | None) -> None:
        """Follow *name*'s logs (anew, if it was followed before).

        A job added again while its logs drain hands out the lines read so far
        and its held terminal event first (its later lines come again from
        the new follower, which starts over unless given *resume*).

        Raises:
            InvalidResumeToken: *resume* cannot be read or is another job's.
        """
        follower = LogFollower(
            name,
            source=self.source,
            clock=self._clock,
            settings=self.settings,
            resume=resume,
        )
        self.errors.pop(name, None)
        old = self._followed.pop(name, None)
        if old is not None:
            self._hand_out(old, old.follower.take(flush=True))
            for event in old.held:
                self._emit(event)
        self._followed[name] = _Followed(follower)
        self.poke()

    def observed(
        self,
        name: str,
        events: Sequence[Event],
        *,
        finished: bool,
        snapshot: Snapshot,
    ) -> None:
        """Put a describe's *events* out, after the lines ready; hold the end."""
        followed = self._followed.get(name)
        if followed is None:
            for event in events:
                self._emit(event)
            return
        now_events, held = tell_follower(
            followed.follower,
            events,
            finished=finished,
            now=self._clock.monotonic(),
            snapshot=snapshot,
        )
        self._hand_out(followed, followed.follower.take())
        for event in now_events:
            self._emit(event)
        if finished:
            followed.ended = True
            followed.held = held
        self.poke()

    def lost(self, name: str) -> None:
        """The fleet gave *name* up: hand out the lines read, stop its follower."""
        followed = self._followed.pop(name, None)
        if followed is not None:
            self._hand_out(followed, followed.follower.take(flush=True))
            self._stop_following(followed)

    def removed(self, name: str) -> None:
        """*name* was removed: stop its follower, drop what it read."""
        followed = self._followed.pop(name, None)
        if followed is not None:
            self._stop_following(followed)

    def read(self, item: object) -> None:
        """The stream's reader handed *item* to the caller."""
        if isinstance(item, LogLine):
            followed = self._followed.get(item.job_name)
            if followed is not None and followed.unread:
                if followed.unread[0] is item:
                    followed.unread.popleft()
                else:
                    # A line of an earlier follower of the job (re-added).
                    with_item = [line for line in followed.unread if line is not item]
                    followed.unread = collections.deque(with_item)

    def resume_token(self, name: str) -> str | None:
        """A token for ``add(name, logs_resume=)``: the lines after those read.

        ``None`` if the fleet does not follow *name*'s logs (any more).
        """
        followed = self._followed.get(name)
        if followed is None:
            return None
        return followed.follower.reader.resume_token_before(followed.unread)

    @property
    def draining(self) -> int:
        """How many ended jobs still have lines to read or hand out."""
        return sum(1 for followed in self._followed.values() if followed.ended)

    def statistics(self) -> FleetLogStatistics:
        """Return the log reading figures so far."""
        source = self.source.statistics()
        budget = self.source.budget
        assert budget is not None  # noqa: S101 - always made with one
        return FleetLogStatistics(
            following=len(self._followed),
            stopped=self._stopped,
            calls=source.calls,
            lines=self._lines,
            throttles=source.throttles,
            errors=source.errors,
            rates=MappingProxyType(
                {op: budget.rate(op) for op in (GET_LOG_EVENTS, DESCRIBE_LOG_STREAMS)}
            ),
        )

    # -- the loop ------------------------------------------------------------------

    def poke(self) -> None:
        """Wake the loop: something changed."""
        self._nap.poke()

    async def _run(self) -> None:
        while self._task_group is not None:
            await self._nap.sleep(self._dispatch(self._clock.monotonic()))

    def _dispatch(self, now: float) -> float | None:
        """Start the followers that are due; return how long to sleep (or None)."""
        due = sorted(
            (followed.follower.next_due(), name)
            for name, followed in self._followed.items()
            if not followed.busy
        )
        for at, name in due:
            if at > now:
                return at - now if math.isfinite(at) else None
            if self._in_flight >= self._max_in_flight:
                return None  # an answer pokes
            self._start(name, self._followed[name])
        return None

    def _start(self, name: str, followed: _Followed) -> None:
        followed.busy = True
        self._in_flight += 1
        assert self._task_group is not None  # noqa: S101 - set while running
        self._task_group.start_soon(self._work, name, followed)

    async def _work(self, name: str, followed: _Followed) -> None:
        """Make one follower's due calls, then hand out what is ready."""
        failed: SageMakerWatchError | None = None
        try:
            await followed.follower.work(self._clock.monotonic())
        except SageMakerWatchError as error:
            failed = error
        finally:
            followed.busy = False
            self._in_flight -= 1
            self.poke()
        if self._followed.get(name) is not followed:
            return  # removed, lost or followed anew meanwhile
        if failed is not None:
            self._give_up(name, followed, failed)
            return
        follower = followed.follower
        drained = followed.ended and follower.finished
        self._hand_out(followed, follower.take(flush=drained))
        # Taking the last held lines may be what finishes it: then the end
        # goes out now, not at the follower's next due call.
        drained = followed.ended and follower.finished
        if drained:
            del self._followed[name]
            for event in followed.held:
                self._emit(event)
            self._idle()

    def _give_up(
        self, name: str, followed: _Followed, error: SageMakerWatchError
    ) -> None:
        """A call no retry mends: stop this job's follower, the fleet goes on."""
        del self._followed[name]
        self._stopped += 1
        self.errors[name] = error
        logger.warning(
            LOGS_CALL_FAILED,
            job_name=name,
            error=type(error).__name__,
            code=getattr(error, "code", None),
            follower="stopped",
        )
        self._hand_out(followed, followed.follower.take(flush=True))
        self._stop_following(followed)

    def _stop_following(self, followed: _Followed) -> None:
        """Hand out the held events of a follower that stops; wake an idle fleet."""
        for event in followed.held:
            self._emit(event)
        if followed.ended:
            self._idle()

    def _hand_out(self, followed: _Followed, lines: Sequence[LogLine]) -> None:
        for line in lines:
            self._lines += 1
            followed.unread.append(line)
            self._emit(line)
