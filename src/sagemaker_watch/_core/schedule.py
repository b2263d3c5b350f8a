"""The poll schedule: how long to wait before the next DescribeTrainingJob (pure)."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from .status import CLOSING_PHASES, SETUP_PHASES, PrimaryStatus

if TYPE_CHECKING:
    import datetime as dt
    import random

    from .snapshot import Snapshot
    from .status import SecondaryStatus

#: The shortest delay a schedule accepts, in seconds. A DescribeTrainingJob round
#: trip takes tens of milliseconds, so anything shorter only spins; 10 ms still
#: lets compressed-time tests (the CLI's use 50 ms) run quickly.
MIN_DELAY_FLOOR: Final = 0.01
#: While a change is expected in *t* seconds, wait at most this share of *t*: the
#: polls close in on an estimate that sharpens as it nears.
APPROACH: Final = 0.5
#: How long after an expected change the closing cadence is kept while it has not
#: come (a final evaluation after the last step, a slow stop); then the phase's
#: own ceiling again.
OVERDUE_WINDOW: Final = 300.0
#: The shortest stretch of ``ProgressInfo`` readings a rate is estimated from.
RATE_BASELINE: Final = 20.0
#: Jobs that fail mostly fail soon after Training begins (a script error, out of
#: memory at the first batch): its first minutes are polled like setup.
EARLY_TRAINING = 600.0
#: A limit in ``StoppingCondition`` acts at its instant; poll this long after it.
LIMIT_SETTLE: Final = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PollSchedule:
    """When to poll: backoff reset by every change, ceilings per phase, anticipation.

    After a change the delay grows from ``min_delay`` by ``multiplier`` per
    unchanged poll (Smithy's waiter rule, ``cap = min(ceiling, min_delay *
    multiplier ** (n - 1))``), then jitter draws it uniformly from ``[cap - jitter *
    (cap - min_delay), cap]``. The ceiling depends on what the job waits for:

    * ``setup_max_delay`` in the phases that set a job up (Starting, Downloading,
      Interrupted, ...: ``SETUP_PHASES``) and before any secondary status: what
      follows them is another step;
    * ``closing_max_delay`` in the phases an outcome follows (Uploading, Stopping,
      and the primary status Stopping: ``CLOSING_PHASES``);
    * ``max_delay`` in Training and in statuses this version does not know.

    With ``anticipate`` (the default) the schedule also reads what each answer
    says about the next change and is polling when it comes: the job's
    ``StoppingCondition`` (``MaxRuntimeInSeconds`` from ``TrainingStartTime``,
    ``MaxWaitTimeInSeconds`` from ``CreationTime`` for spot jobs) stops it at a
    known instant, and a job that reports ``ProgressInfo`` reaches its last step
    at a rate seen over successive answers. While such a change is expected in
    *t* seconds the delay is at most half of *t* (never below the closing
    ceiling, and polling just after a limit's instant); once due and not yet
    come, the closing ceiling holds for up to five minutes. After a throttling
    error the delay is stretched by ``throttle_multiplier`` per consecutive
    throttled poll, up to ``throttle_max_delay``, and relaxes one step per
    unthrottled poll.

    What the defaults cost in a long Training phase (``tests/test_schedule.py``
    checks these figures by simulation): the delay is uniform in [48.4, 60] s,
    about **66 calls per hour** (a fixed 60 s poller makes 60, the SageMaker
    Python SDK's 5 s poller 720), and a change there is noticed **27 s** later on
    average (a fixed 60 s poller: 30 s). ``jitter=0.5`` costs 79 calls per hour
    to notice 4 s sooner, Smithy's full jitter (``jitter=1``) 116 to notice 7 s
    sooner. Over whole jobs, measured on populations of realistic jobs
    (``bench/populations.py``; figures in BENCHMARKS.md and README), the defaults
    make fewer calls than the schedule before them and notice changes and
    outcomes sooner than a fixed poller making as many calls, at the median and
    at p95.

    Attributes:
        min_delay: the floor, and the first delay after a change (2 s).
        max_delay: the ceiling in Training and unknown statuses (60 s).
        setup_max_delay: the ceiling in the phases that set a job up (20 s).
        closing_max_delay: the ceiling where an outcome follows (8 s).
        multiplier: the growth factor per unchanged poll (2).
        jitter: the fraction of ``[min_delay, cap]`` drawn from (0.2): enough to
            keep watchers from polling in lockstep, while keeping the ceilings'
            cadence (and the worst delay close to the ceiling).
        anticipate: read ``StoppingCondition`` and ``ProgressInfo`` to be polling
            when the job's next change is due (True).
        throttle_multiplier: the stretch per consecutive throttled poll (2).
        throttle_max_delay: the most a throttled poll waits (300 s).
        short_phase_max_delay: deprecated: sets both ``setup_max_delay`` and
            ``closing_max_delay``, as the single short-phase ceiling did.

    Raises:
        ValueError: if a delay is not finite or is below ``MIN_DELAY_FLOOR``
            (10 ms: shorter delays poll in a tight loop), if *min_delay* exceeds
            *max_delay*, if a multiplier is below 1 or *jitter* is outside
            ``[0, 1]``. The phase ceilings are clamped into ``[min_delay,
            max_delay]`` and *throttle_max_delay* raised to at least *max_delay*,
            so ``PollSchedule(min_delay=30)`` or ``PollSchedule(max_delay=5)``
            mean what they say.
    """

    min_delay: float = 2.0
    max_delay: float = 60.0
    setup_max_delay: float = 20.0
    closing_max_delay: float = 8.0
    multiplier: float = 2.0
    jitter: float = 0.2
    anticipate: bool = True
    throttle_multiplier: float = 2.0
    throttle_max_delay: float = 300.0
    short_phase_max_delay: float | None = None

    def __post_init__(self) -> None:
        """Check the settings."""
        if self.short_phase_max_delay is not None:
            warnings.warn(
                "PollSchedule(short_phase_max_delay=) is deprecated: set "
                "setup_max_delay (Starting, Downloading, ...) and closing_max_delay "
                "(Uploading, Stopping)",
                DeprecationWarning,
                stacklevel=3,
            )
            object.__setattr__(self, "setup_max_delay", self.short_phase_max_delay)
            object.__setattr__(self, "closing_max_delay", self.short_phase_max_delay)
        delays = (
            self.min_delay,
            self.setup_max_delay,
            self.closing_max_delay,
            self.max_delay,
            self.throttle_max_delay,
        )
        if not all(math.isfinite(d) and d >= MIN_DELAY_FLOOR for d in delays):
            msg = (
                f"delays must be finite and at least {MIN_DELAY_FLOOR} s "
                f"(shorter ones poll in a tight loop): {self!r}"
            )
            raise ValueError(msg)
        if self.min_delay > self.max_delay:
            msg = f"need min_delay <= max_delay: {self!r}"
            raise ValueError(msg)
        # The phase ceilings follow the two a caller sets most: a schedule with
        # min_delay=30 or max_delay=5 is meant, not a contradiction.
        for name in ("setup_max_delay", "closing_max_delay"):
            value = min(max(getattr(self, name), self.min_delay), self.max_delay)
            object.__setattr__(self, name, value)
        throttle = max(self.throttle_max_delay, self.max_delay)
        object.__setattr__(self, "throttle_max_delay", throttle)
        multipliers = (self.multiplier, self.throttle_multiplier)
        if not all(math.isfinite(m) and m >= 1 for m in multipliers):
            msg = f"multipliers must be finite and at least 1: {self!r}"
            raise ValueError(msg)
        if not 0 <= self.jitter <= 1:
            msg = f"jitter must be between 0 and 1: {self!r}"
            raise ValueError(msg)

    @classmethod
    def fixed(cls, seconds: float) -> PollSchedule:
        """Return a schedule that always waits *seconds*: no growth, jitter or stretch.

        For comparison with other pollers: the SageMaker Python SDK polls every
        5 s, Airflow's operator every 30 s, botocore's ``training_job_completed``
        waiter every 120 s.
        """
        return cls(
            min_delay=seconds,
            max_delay=seconds,
            setup_max_delay=seconds,
            closing_max_delay=seconds,
            multiplier=1.0,
            jitter=0.0,
            anticipate=False,
            throttle_multiplier=1.0,
            throttle_max_delay=seconds,
        )

    def ceiling(
        self, phase: SecondaryStatus | None, primary: PrimaryStatus | None = None
    ) -> float:
        """Return the longest unthrottled delay in *phase* (and *primary* status)."""
        if primary == PrimaryStatus.STOPPING or phase in CLOSING_PHASES:
            return self.closing_max_delay
        if phase is None or phase in SETUP_PHASES:
            return self.setup_max_delay
        return self.max_delay


@dataclass(frozen=True, slots=True, kw_only=True)
class PollState:
    """What the schedule remembers between polls.

    Attributes:
        attempt: polls since the last change (0 before the first poll).
        throttle_level: consecutive throttled polls, relaxed one per clean poll.
        progress_phase: when the Training phase whose ``ProgressInfo`` is being
            read began (``None`` when none is).
        progress_since: the monotonic time of the first reading in that phase.
        progress_steps: the steps done at that reading.
        expected: the monotonic time of the next expected change, if any.
    """

    attempt: int = 0
    throttle_level: int = 0
    progress_phase: dt.datetime | None = None
    progress_since: float = 0.0
    progress_steps: int = 0
    expected: float | None = None


def next_delay(
    schedule: PollSchedule,
    state: PollState,
    *,
    changed: bool,
    phase: SecondaryStatus | None,
    throttled: bool,
    remaining: float | None,
    rng: random.Random,
    snapshot: Snapshot | None = None,
    now: float | None = None,
) -> tuple[float, PollState]:
    """Return how long to wait before the next poll, and the new state.

    Pure: the only randomness is one draw from *rng*, so a seeded generator gives
    a reproducible schedule.

    Args:
        schedule: the settings.
        state: the state returned by the previous call (``PollState()`` at first).
        changed: whether the last poll produced any event; resets the backoff.
        phase: the current secondary status; it picks the ceiling.
        throttled: whether the last poll was throttled; stretches the delay.
        remaining: seconds until the caller's deadline, or ``None``; the delay
            never exceeds it (nor goes below 0).
        rng: the random generator for jitter.
        snapshot: the last answer, read for the primary status and, with
            ``anticipate``, for the changes it lets the schedule expect.
        now: the monotonic time of *snapshot*; needed to anticipate.

    Returns:
        The delay in seconds and the state to pass next time.
    """
    attempt = 1 if changed else state.attempt + 1
    primary = None if snapshot is None else snapshot.primary_status
    ceiling = schedule.ceiling(phase, primary)
    began = (
        _phase_start(snapshot)
        if schedule.anticipate and snapshot is not None and phase == "Training"
        else None
    )
    if (
        began is not None
        and snapshot is not None
        and (snapshot.observed_at - began).total_seconds() < EARLY_TRAINING
    ):
        ceiling = min(ceiling, schedule.setup_max_delay)
    cap = ceiling
    if schedule.multiplier > 1:
        # Smithy's attemptCeiling: past it the cap is the ceiling (and no overflow).
        steps = math.log(ceiling / schedule.min_delay) / math.log(schedule.multiplier)
        if attempt - 1 <= steps:
            cap = min(
                ceiling, schedule.min_delay * schedule.multiplier ** (attempt - 1)
            )
    else:
        cap = schedule.min_delay
    spread = schedule.jitter * (cap - schedule.min_delay)
    delay = cap - rng.uniform(0.0, spread)
    new = PollState(attempt=attempt)
    if schedule.anticipate and snapshot is not None and now is not None:
        delay, new = _anticipate(
            schedule,
            state,
            changed=changed,
            snapshot=snapshot,
            now=now,
            delay=delay,
            began=began,
        )

    level = state.throttle_level + 1 if throttled else max(0, state.throttle_level - 1)
    level = min(level, _max_throttle_level(schedule))
    if level:
        stretched = delay * schedule.throttle_multiplier**level
        delay = min(max(stretched, delay), schedule.throttle_max_delay)
    if remaining is not None:
        delay = min(delay, max(0.0, remaining))
    return delay, PollState(
        attempt=attempt,
        throttle_level=level,
        progress_phase=new.progress_phase,
        progress_since=new.progress_since,
        progress_steps=new.progress_steps,
        expected=new.expected,
    )


def _anticipate(
    schedule: PollSchedule,
    old: PollState,
    *,
    changed: bool,
    snapshot: Snapshot,
    now: float,
    delay: float,
    began: dt.datetime | None,
) -> tuple[float, PollState]:
    """Shorten *delay* to be polling when the job's next change is expected.

    *began* is when the current Training phase began (``None`` outside Training).
    Returns the delay and the state's anticipation fields (the caller sets the
    rest).
    """
    progress_phase, since, done, eta = _progress(old, snapshot, now, began)
    limit = _limit(snapshot, now)
    if not changed and old.expected is not None and old.expected <= now:
        # Due and not come (the tail after the last step, a slow stop): count the
        # overdue window from when it first came due, not from a fresh estimate.
        expected: float | None = old.expected
    else:
        expected = min((t for t in (eta, limit) if t is not None), default=None)
    if expected is not None:
        ahead = expected - now
        if ahead > 0:
            delay = min(delay, max(schedule.closing_max_delay, ahead * APPROACH))
            if expected == limit:
                delay = min(delay, ahead + LIMIT_SETTLE)
        elif -ahead < OVERDUE_WINDOW:
            delay = min(delay, schedule.closing_max_delay)
    return delay, PollState(
        progress_phase=progress_phase,
        progress_since=since,
        progress_steps=done,
        expected=expected,
    )


def _progress(
    old: PollState, snapshot: Snapshot, now: float, phase: dt.datetime | None
) -> tuple[dt.datetime | None, float, int, float | None]:
    """Read ``ProgressInfo``: the reading's anchor, and when the last step is due.

    *phase* is when the current Training phase began: the readings of one phase
    give its rate.
    """
    progress = snapshot.progress
    if progress is None or phase is None:
        return None, 0.0, 0, None
    per_epoch = progress.total_steps_per_epoch
    epoch, step, epochs = (
        progress.current_epoch,
        progress.current_step,
        progress.max_epoch,
    )
    if not per_epoch or epoch is None or step is None or not epochs:
        return None, 0.0, 0, None
    done = (epoch - 1) * per_epoch + step
    total = epochs * per_epoch
    if old.progress_phase != phase or done < old.progress_steps:
        return phase, now, done, None
    elapsed = now - old.progress_since
    climbed = done - old.progress_steps
    if elapsed < RATE_BASELINE or climbed <= 0:
        return phase, old.progress_since, old.progress_steps, None
    eta = now + max(total - done, 0) * elapsed / climbed
    return phase, old.progress_since, old.progress_steps, eta


def _phase_start(snapshot: Snapshot) -> dt.datetime | None:
    """When the current secondary status began: its latest transition's start.

    Not simply the last transition: a history may come in any order.
    """
    return max(
        (
            t.started_at
            for t in snapshot.transitions
            if t.status == snapshot.secondary_status
        ),
        default=None,
    )


def _limit(snapshot: Snapshot, now: float) -> float | None:
    """When the job's ``StoppingCondition`` stops it, on the monotonic clock."""
    deadlines = []
    if snapshot.max_runtime_seconds and snapshot.training_start_time is not None:
        deadlines.append(
            (snapshot.training_start_time - snapshot.observed_at).total_seconds()
            + snapshot.max_runtime_seconds
        )
    if snapshot.managed_spot and snapshot.max_wait_seconds:
        deadlines.append(
            (snapshot.creation_time - snapshot.observed_at).total_seconds()
            + snapshot.max_wait_seconds
        )
    if not deadlines or snapshot.primary_status != PrimaryStatus.IN_PROGRESS:
        return None
    return now + min(deadlines)


def _max_throttle_level(schedule: PollSchedule) -> int:
    """The level past which stretching cannot grow the delay any more."""
    if schedule.throttle_multiplier <= 1:
        return 1
    ratio = schedule.throttle_max_delay / schedule.min_delay
    return max(1, math.ceil(math.log(ratio) / math.log(schedule.throttle_multiplier)))
