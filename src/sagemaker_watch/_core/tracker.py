"""The per-job tracker: what happened in, events and what to do next out (pure).

A ``JobTracker`` is fed what a driver saw (a snapshot, or a classified failure,
and the time on the driver's monotonic clock) and answers with a ``Step``: the
events to emit, the delay until the next poll, whether the job is finished or
lost, and the log decisions to report. It is the one place where retries, the
not-found grace, the throttle stretch and the poll schedule are decided; it does
no I/O, owns no clock and no task, and draws randomness from the injected
``random.Random``. In the manner of h11, drivers (``watch()``, the waiters, the
fleet) own the sockets, the sleeps and the concurrency.
"""

from __future__ import annotations

import dataclasses
import math
from enum import Enum
from typing import TYPE_CHECKING

from .._errors import JobReplaced
from .diff import ResumeCursor, diff_with_anomalies
from .events import Event, ProgressChanged
from .schedule import PollSchedule, PollState, next_delay

if TYPE_CHECKING:
    import random

    from .snapshot import Snapshot


_MAX_EXPONENT = 1000


class ErrorKind(Enum):
    """How a failed call is handled."""

    THROTTLED = "throttled"
    TRANSIENT = "transient"
    NOT_FOUND = "not_found"
    FATAL = "fatal"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How one poll retries transient errors before giving up.

    Transient errors are 5xx answers, dropped connections, timeouts and malformed
    bodies. Waits grow exponentially from *initial_delay* to *max_delay* with full
    jitter; a poll gives up after *max_attempts* attempts or once *max_elapsed*
    seconds have passed since its first failure, whichever comes first. Each
    attempt is cut after *attempt_timeout* seconds of real time (a body trickled
    byte by byte would otherwise hold it forever) and counts as transient. No wait
    reaches past *max_elapsed*, so on a real clock a poll that keeps failing ends
    within *max_elapsed* plus twice *attempt_timeout* seconds.

    Throttling is back-pressure, not failure: a throttled attempt is retried for
    as long as throttling lasts, and counts toward neither *max_attempts* nor
    *max_elapsed* (nor resets them). The waits between throttled attempts grow
    with full jitter from *initial_delay* to *max_delay* as well, counted over
    the throttles since the last successful answer. Bound a watch with its
    *timeout* or a cancel scope.

    The defaults ride out about fifteen minutes of continuous failure (a
    regional hiccup) without giving up on a job that may train for days, while
    an unreachable endpoint still fails within that bound.

    Args:
        max_attempts: attempts per poll, including the first (an ``int`` >= 1);
            ``None`` for no limit.
        max_elapsed: seconds from the first failure after which no retry starts;
            ``None`` (or ``math.inf``) for no limit. One of *max_attempts* and
            *max_elapsed* must be bounded.
        initial_delay: the first wait's ceiling, in seconds.
        max_delay: the ceiling of any single wait, in seconds.
        not_found_grace: how long "not found" is retried for a job never seen yet,
            in seconds (a job is not always visible right after it was created).
        unseen_max_elapsed: for a job never seen (no snapshot yet, and not
            resumed from a token), seconds from the first failure after which no
            transient retry starts, in place of *max_elapsed*; ``None`` leaves
            *max_elapsed* in charge. A mistyped name or an unreachable endpoint is
            then reported quickly, while a job seen once still rides out long
            outages. "Not found" keeps *not_found_grace*.
        attempt_timeout: the real-time bound of one attempt, in seconds (finite,
            > 0); an attempt still running then is abandoned and retried.

    Raises:
        ValueError: a setting that never stops, never waits, or is not a number.
    """

    max_attempts: int | None = 60
    max_elapsed: float | None = 900.0
    initial_delay: float = 1.0
    max_delay: float = 30.0
    not_found_grace: float = 30.0
    attempt_timeout: float = 60.0
    unseen_max_elapsed: float | None = None

    def __post_init__(self) -> None:
        """Reject settings that would never stop, never wait, or are not numbers."""
        attempts = self.max_attempts
        if attempts is not None and (
            isinstance(attempts, bool) or not isinstance(attempts, int)
        ):
            msg = f"max_attempts must be an int >= 1 or None, not {attempts!r}"
            raise ValueError(msg)
        if attempts is not None and attempts < 1:
            msg = f"max_attempts must be at least 1, not {attempts}"
            raise ValueError(msg)
        for name in ("initial_delay", "max_delay", "not_found_grace"):
            _check_number(name, getattr(self, name), finite=True)
        if self.max_elapsed is not None:
            _check_number("max_elapsed", self.max_elapsed, finite=False)
        if self.unseen_max_elapsed is not None:
            _check_number("unseen_max_elapsed", self.unseen_max_elapsed, finite=True)
        _check_number("attempt_timeout", self.attempt_timeout, finite=True)
        if self.attempt_timeout == 0:
            msg = "attempt_timeout must be > 0, not 0"
            raise ValueError(msg)
        if attempts is None and (
            self.max_elapsed is None or math.isinf(self.max_elapsed)
        ):
            msg = (
                "a RetryPolicy needs a finite max_attempts or max_elapsed, "
                "or it never stops"
            )
            raise ValueError(msg)
        if self.initial_delay > self.max_delay:
            msg = "initial_delay must not exceed max_delay"
            raise ValueError(msg)

    @classmethod
    def none(cls) -> RetryPolicy:
        """Return a policy that never retries: every transient error is final."""
        return cls(max_attempts=1, max_elapsed=None, not_found_grace=0.0)

    def wait_for(self, attempt: int, rng: random.Random) -> float:
        """Return the wait after failed *attempt* (1-based): full jitter, capped."""
        # The exponent is bounded: 2.0 ** 1024 raises, an overflowing product is inf.
        cap = min(
            self.max_delay, self.initial_delay * 2.0 ** min(attempt - 1, _MAX_EXPONENT)
        )
        return rng.uniform(0.0, cap)


def _check_number(name: str, value: object, *, finite: bool) -> None:
    """Raise ``ValueError`` unless *value* is a real number >= 0 (and finite)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or math.isnan(value)
        or value < 0
        or (finite and math.isinf(value))
    ):
        kind = "a finite number" if finite else "a number"
        msg = f"{name} must be {kind} >= 0, not {value!r}"
        raise ValueError(msg)


def retry_delay(
    policy: RetryPolicy, *, attempt: int, elapsed: float, rng: random.Random
) -> float | None:
    """Return the wait before retrying after failed *attempt*, or ``None`` to stop.

    The one retry rule: stop after ``max_attempts`` attempts or once ``max_elapsed``
    seconds have elapsed; otherwise a full-jitter wait, never reaching past
    ``max_elapsed``. Draws from *rng* only when it retries.
    """
    max_attempts = math.inf if policy.max_attempts is None else policy.max_attempts
    max_elapsed = math.inf if policy.max_elapsed is None else policy.max_elapsed
    if attempt >= max_attempts or elapsed >= max_elapsed:
        return None
    delay = policy.wait_for(attempt, rng)
    return max(0.0, min(delay, max_elapsed - elapsed))


def retryable(
    policy: RetryPolicy, kind: ErrorKind, *, seen: bool, elapsed: float
) -> bool:
    """Whether a failure of *kind* may be retried at all (the policy then decides).

    Throttled and transient failures may (throttles are not limited by the
    policy, see ``JobTracker.failed``); "not found" only for a job never seen,
    while *elapsed* is within the policy's grace; fatal never.
    """
    if kind is ErrorKind.NOT_FOUND:
        return not seen and elapsed < policy.not_found_grace
    return kind in {ErrorKind.THROTTLED, ErrorKind.TRANSIENT}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RetryScheduled:
    """A failed attempt that will be retried: what the driver logs.

    Attributes:
        attempt: the failed attempt's number in this poll (1-based).
        delay: seconds until the retry.
        kind: the failure's kind; ``NOT_FOUND`` means "not visible yet".
        error: the error that would have been raised on giving up.
    """

    attempt: int
    delay: float
    kind: ErrorKind
    error: Exception


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """What a tracker decided after one observation.

    Attributes:
        events: the events to emit, in order.
        anomalies: history anomalies to log (short kinds, see ``DiffResult``).
        delay: seconds until the next poll, or ``None`` when finished or lost.
        finished: the job reached a terminal status, or the deadline passed.
        lost: the error to raise: the job cannot be followed any further.
        retry: set when this step retries a failed attempt.
    """

    events: tuple[Event, ...] = ()
    anomalies: tuple[str, ...] = ()
    delay: float | None = None
    finished: bool = False
    lost: Exception | None = None
    retry: RetryScheduled | None = None


class JobTracker:
    """One job's state machine: fed observations, it answers with ``Step``s.

    Small and passive (a dozen slots, no task, no clock), so a fleet can hold
    thousands and drive each when it is due. Feed it with ``snapshot()`` after a
    successful describe and ``failed()`` after a failed one, passing the driver's
    monotonic time; wait ``Step.delay`` seconds before the next describe. After a
    finishing or losing step it accepts nothing more.
    """

    __slots__ = (
        "_attempts",
        "_failing_since",
        "_failures",
        "_finished",
        "_last",
        "_last_failure",
        "_previous",
        "_retry",
        "_rng",
        "_schedule",
        "_seen",
        "_state",
        "_throttled",
        "_throttles",
        "job_name",
    )

    def __init__(
        self,
        job_name: str,
        *,
        schedule: PollSchedule | None = None,
        retry: RetryPolicy | None = None,
        rng: random.Random,
        resume: ResumeCursor | None = None,
    ) -> None:
        """Start tracking *job_name*, after *resume* if given."""
        self.job_name = job_name
        self._schedule = schedule if schedule is not None else PollSchedule()
        self._retry = retry if retry is not None else RetryPolicy()
        self._rng = rng
        self._previous: Snapshot | ResumeCursor | None = resume
        self._last: Snapshot | None = None
        self._seen = resume is not None
        self._state = PollState()
        self._attempts = 0
        self._failures = 0
        self._throttles = 0
        self._failing_since: float | None = None
        self._last_failure: float | None = None
        self._throttled = False
        self._finished = False

    def __repr__(self) -> str:
        """Return a short description."""
        return f"JobTracker({self.job_name!r}, finished={self._finished})"

    @property
    def last_snapshot(self) -> Snapshot | None:
        """The most recent snapshot fed, or ``None`` before the first."""
        return self._last

    @property
    def finished(self) -> bool:
        """Whether a step finished or lost the job; nothing more is accepted then."""
        return self._finished

    def snapshot(
        self, snapshot: Snapshot, *, now: float, remaining: float | None = None
    ) -> Step:
        """Feed a successful describe's *snapshot*, seen at monotonic time *now*.

        Args:
            snapshot: what the describe returned.
            now: the driver's monotonic time: the schedule places the changes
                it expects (a limit, the last step) on it.
            remaining: seconds until the driver's deadline, or ``None``: the
                delay never exceeds it, and at 0 the job is finished.

        Returns:
            The events (exactly once, in order), then the delay, or finished (a
            terminal status or no time left), or lost (``JobReplaced``).

        Raises:
            RuntimeError: the tracker already finished.
        """
        self._check_open()
        self._attempts = self._failures = self._throttles = 0
        self._failing_since = self._last_failure = None
        try:
            result = diff_with_anomalies(self._previous, snapshot)
        except JobReplaced as error:
            self._finished = True
            return Step(lost=error)
        self._previous, self._last = result.cursor, snapshot
        self._seen = True
        if snapshot.is_terminal or remaining == 0:
            # diff() reports the terminal event exactly once: now, or before.
            self._finished = True
            return Step(events=result.events, anomalies=result.anomalies, finished=True)
        throttled, self._throttled = self._throttled, False
        # Progress ticks all through Training; only a status or message change
        # brings the schedule back to its floor, or Training would poll at it.
        delay, self._state = next_delay(
            self._schedule,
            self._state,
            changed=any(not isinstance(e, ProgressChanged) for e in result.events),
            phase=snapshot.secondary_status,
            throttled=throttled,
            remaining=remaining,
            rng=self._rng,
            snapshot=snapshot,
            now=now,
        )
        return Step(events=result.events, anomalies=result.anomalies, delay=delay)

    def failed(self, kind: ErrorKind, error: Exception, *, now: float) -> Step:
        """Feed a failed describe, classified as *kind*, that ended at *now*.

        Throttled attempts are retried for as long as they last, after waits
        that grow over the throttles since the last success; they neither use
        up nor reset the policy's attempts, and the time until a throttled
        answer does not count toward *max_elapsed*. Transient failures are
        retried by the policy (attempts and elapsed time counted from this
        poll's first failure; *unseen_max_elapsed* for a job never seen); "not
        found" only while the job was never seen and the grace period lasts;
        fatal never.

        Returns:
            A retry (its delay and ``retry`` set), or lost with *error*.

        Raises:
            RuntimeError: the tracker already finished.
        """
        self._check_open()
        self._attempts += 1
        previous, self._last_failure = self._last_failure, now
        if kind is ErrorKind.THROTTLED:
            self._throttled = True
            self._throttles += 1
            if self._failing_since is not None and previous is not None:
                # Time spent reaching a throttled answer is not failing time.
                self._failing_since += max(0.0, now - previous)
            return self._retry_after(
                self._retry.wait_for(self._throttles, self._rng), kind, error
            )
        if self._failing_since is None:
            self._failing_since = now
        self._failures += 1
        elapsed = max(0.0, now - self._failing_since)
        policy = self._retry
        if (
            not self._seen
            and kind is not ErrorKind.NOT_FOUND
            and policy.unseen_max_elapsed is not None
        ):
            policy = dataclasses.replace(policy, max_elapsed=policy.unseen_max_elapsed)
        delay = (
            retry_delay(policy, attempt=self._failures, elapsed=elapsed, rng=self._rng)
            if retryable(policy, kind, seen=self._last is not None, elapsed=elapsed)
            else None
        )
        if delay is None:
            self._finished = True
            return Step(lost=error)
        return self._retry_after(delay, kind, error)

    def _retry_after(self, delay: float, kind: ErrorKind, error: Exception) -> Step:
        return Step(
            delay=delay,
            retry=RetryScheduled(
                attempt=self._attempts, delay=delay, kind=kind, error=error
            ),
        )

    def _check_open(self) -> None:
        if self._finished:
            msg = f"the tracker of {self.job_name!r} has finished"
            raise RuntimeError(msg)
