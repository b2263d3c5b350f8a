"""A timeline laid out in simulated time: what a job shows at any instant."""

from __future__ import annotations

import bisect
import itertools
import math
import types
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._timelines import (
    BEFORE_TRAINING,
    CONTAINER_DOWN,
    Failed,
    Stopped,
    training_offset,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._timelines import Outcome, Phase, StopReason, Timeline

STOPPING_MESSAGE = "Stopping the training job"
STOPPED_MESSAGES: Mapping[str, str] = types.MappingProxyType(
    {
        "Stopped": "Training job stopped",
        "MaxRuntimeExceeded": (
            "Training job runtime exceeded MaxRuntimeInSeconds provided"
        ),
        "MaxWaitTimeExceeded": "Training job exceeded MaxWaitTimeInSeconds provided",
    }
)
COMPLETED_MESSAGE = "Training job completed"
FAILED_MESSAGE = "Training job failed"

#: Secondary statuses during which spot instances are not billed.
_UNBILLED = BEFORE_TRAINING | {"Interrupted", "Restarting"}


@dataclass(frozen=True, slots=True)
class _Transition:
    status: str
    start: float
    message_times: tuple[float, ...]
    messages: tuple[str, ...]
    nominal: float
    terminal: bool = False
    #: ``(begin, end, seconds)``: the share of steps at the start, at the last
    #: step, and how long after the start the last step comes.
    steps: tuple[float, float, float] = (0.0, 1.0, 0.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class TransitionView:
    """One entry of ``SecondaryStatusTransitions`` as seen at some instant."""

    status: str
    start: float
    end: float | None
    message: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class JobState:
    """What a job looks like at one simulated instant (times are POSIX seconds)."""

    primary: str
    secondary: str
    transitions: tuple[TransitionView, ...]
    last_modified: float
    training_start: float | None
    training_end: float | None
    training_seconds: int | None
    billable_seconds: int | None
    failure_reason: str | None
    final_metrics: tuple[tuple[str, float, float], ...] | None
    progress: tuple[int, int, int, int] | None


class Plan:
    """A timeline pinned to a creation time (and maybe a stop): answers ``state(t)``.

    Built once per job in O(phases); each ``state(t)`` costs O(log phases) plus the
    size of the visible history.
    """

    __slots__ = (
        "_billable_at",
        "_mod_times",
        "_primary",
        "_primary_times",
        "_spot",
        "_starts",
        "_transitions",
        "created",
        "failure_reason",
        "metrics",
        "progress",
        "stopped_by_user",
        "terminal_at",
        "training_start",
    )

    def __init__(
        self,
        timeline: Timeline,
        *,
        created: float,
        stop_at: float | None = None,
        stopping_condition: Mapping[str, object] | None = None,
    ) -> None:
        """Lay *timeline* out from *created*; a user stop at *stop_at* cuts it short.

        *stopping_condition* (the job's ``StoppingCondition``; the timeline's own by
        default) stops the job at its limits.
        """
        self.created = created
        self.stopped_by_user = stop_at is not None
        self.progress = timeline.progress
        self._spot = timeline.spot
        limits = dict(
            timeline.stopping_condition()
            if stopping_condition is None
            else stopping_condition
        )
        lead = timeline.primary_lead
        cut, stopping, outcome, primary_stopping = _ending(
            timeline, created, stop_at, limits
        )
        transitions, at = _lay_out(timeline.phases, created, cut)
        primary: list[tuple[float, str]] = [(created, "InProgress")]
        self.failure_reason: str | None = None
        self.metrics: tuple[tuple[str, float], ...] = ()
        if cut is not None:
            at = cut
        else:
            lead = min(lead, timeline.phases[-1].duration)
        end_phases = at
        if isinstance(outcome, Stopped):
            final_at = at + stopping
            message = STOPPED_MESSAGES[outcome.reason]
            transitions.append(_single("Stopping", at, STOPPING_MESSAGE))
            transitions.append(
                _single(outcome.reason, final_at, message, terminal=True)
            )
            if primary_stopping is None:
                primary_stopping = at - lead
            primary += [(primary_stopping, "Stopping"), (final_at - lead, "Stopped")]
        else:
            status = "Failed" if isinstance(outcome, Failed) else "Completed"
            message = (
                FAILED_MESSAGE if isinstance(outcome, Failed) else COMPLETED_MESSAGE
            )
            if isinstance(outcome, Failed):
                self.failure_reason = outcome.failure_reason
            else:
                self.metrics = outcome.final_metrics
            transitions.append(_single(status, at, message, terminal=True))
            primary.append((at - lead, status))
        self._transitions = tuple(transitions)
        self._starts = tuple(t.start for t in transitions)
        self._primary = tuple(primary)
        self._primary_times = tuple(t for t, _ in primary)
        self.terminal_at = primary[-1][0]
        self.training_start = next(
            (
                t.start
                for t in transitions[:-1]
                if t.status not in BEFORE_TRAINING and t.start < end_phases
            ),
            None,
        )
        self._billable_at = sum(
            min(nxt.start, end_phases) - cur.start
            for cur, nxt in itertools.pairwise(transitions)
            if cur.status not in _UNBILLED and cur.start < end_phases
        )
        self._mod_times = tuple(
            sorted(
                set(self._primary_times)
                | {m for tr in transitions for m in tr.message_times}
            )
        )

    @property
    def terminal_status(self) -> str:
        """The primary status the job ends in."""
        return self._primary[-1][1]

    @property
    def failed_at(self) -> float | None:
        """The instant of the ``Failed`` transition, for a job that fails."""
        return self._transitions[-1].start if self.failure_reason is not None else None

    def container_runs(self) -> tuple[tuple[float, float], ...]:
        """The ``(start, end)`` of each run of the training containers, in order.

        A run begins at the first phase on the instances after ``Starting``, an
        ``Interrupted`` or a ``Restarting`` phase, and ends when the next such
        phase, ``Stopping`` or the outcome begins.
        """
        runs: list[tuple[float, float]] = []
        begin: float | None = None
        for cur, nxt in itertools.pairwise(self._transitions):
            if cur.status in CONTAINER_DOWN:
                if begin is not None and cur.start > begin:
                    runs.append((begin, cur.start))
                begin = None
            elif begin is None:
                begin = cur.start
            if nxt.terminal and begin is not None and nxt.start > begin:
                runs.append((begin, nxt.start))
                begin = None
        return tuple(runs)

    def primary_at(self, t: float) -> str:
        """Return the primary status at simulated time *t*."""
        return self._primary[max(bisect.bisect_right(self._primary_times, t) - 1, 0)][1]

    def summary(self, t: float) -> tuple[str, str, float, float | None]:
        """Return primary, secondary, last modified and end time at *t*, cheaply."""
        t = max(t, self.created)
        k = max(bisect.bisect_right(self._starts, t), 1)
        last_mod = self._mod_times[max(bisect.bisect_right(self._mod_times, t) - 1, 0)]
        end = self.terminal_at if t >= self.terminal_at else None
        return self.primary_at(t), self._transitions[k - 1].status, last_mod, end

    def state(self, t: float) -> JobState:
        """Return the job as seen at simulated time *t* (POSIX seconds)."""
        t = max(t, self.created)
        k = max(bisect.bisect_right(self._starts, t), 1)
        views = []
        for i in range(k):
            tr = self._transitions[i]
            if i + 1 < k:
                end: float | None = self._transitions[i + 1].start
                message = tr.messages[-1]
            else:
                end = tr.start if tr.terminal else None
                j = bisect.bisect_right(tr.message_times, t) - 1
                message = tr.messages[max(j, 0)]
            views.append(
                TransitionView(
                    status=tr.status, start=tr.start, end=end, message=message or None
                )
            )
        primary = self.primary_at(t)
        terminal = t >= self.terminal_at
        last_mod = self._mod_times[max(bisect.bisect_right(self._mod_times, t) - 1, 0)]
        current = self._transitions[k - 1]
        training_start = (
            self.training_start
            if self.training_start is not None and t >= self.training_start
            else None
        )
        training_seconds = billable = None
        if terminal and self.training_start is not None:
            training_seconds = max(
                _whole(self.terminal_at) - _whole(self.training_start), 1
            )
            billable = training_seconds
            if self._spot:
                billable = max(min(int(self._billable_at), training_seconds - 1), 1)
        progress = None
        if (
            self.progress is not None
            and current.status == "Training"
            and primary == "InProgress"
        ):
            total = self.progress.steps_per_epoch * self.progress.max_epoch
            begin, end, until = current.steps
            done = min((t - current.start) / until, 1.0) if until > 0 else 1.0
            fraction = begin + (end - begin) * done
            step = min(int(fraction * total), total - 1)
            progress = (
                self.progress.steps_per_epoch,
                step % self.progress.steps_per_epoch,
                step // self.progress.steps_per_epoch + 1,
                self.progress.max_epoch,
            )
        metrics = None
        if terminal and primary == "Completed" and self.metrics:
            metric_time = float(_whole(self._last_training_end()))
            metrics = tuple((name, value, metric_time) for name, value in self.metrics)
        return JobState(
            primary=primary,
            secondary=current.status,
            transitions=tuple(views),
            last_modified=last_mod,
            training_start=training_start,
            training_end=self.terminal_at if terminal else None,
            training_seconds=training_seconds,
            billable_seconds=billable,
            failure_reason=self.failure_reason if primary == "Failed" else None,
            final_metrics=metrics,
            progress=progress,
        )

    def _last_training_end(self) -> float:
        for cur, nxt in reversed(list(itertools.pairwise(self._transitions))):
            if cur.status == "Training":
                return nxt.start
        return self.terminal_at


def _whole(t: float) -> int:
    """Whole seconds of *t* as the service counts them: at millisecond precision."""
    return math.floor(round(t, 3))


def _single(
    status: str, at: float, message: str, *, terminal: bool = False
) -> _Transition:
    return _Transition(status, at, (at,), (message,), 0.0, terminal)


def _deadline(
    timeline: Timeline, created: float, limits: Mapping[str, object]
) -> tuple[float, StopReason] | None:
    """When and why the job's limits stop it, if they do before it ends.

    A limit outcome (``MaxRuntimeExceeded``, ``MaxWaitTimeExceeded``) runs on until
    a limit stops it, if the job has that limit; otherwise it ends as scripted.
    """
    natural = created + timeline.duration
    outcome = timeline.outcome
    own = outcome.reason if isinstance(outcome, Stopped) else None
    candidates: list[tuple[float, StopReason]] = []
    runtime = limits.get("MaxRuntimeInSeconds")
    offset = training_offset(timeline.phases)
    if isinstance(runtime, int | float) and offset is not None:
        candidates.append((created + offset + runtime, "MaxRuntimeExceeded"))
    wait = limits.get("MaxWaitTimeInSeconds")
    if timeline.spot and isinstance(wait, int | float):
        candidates.append((created + wait, "MaxWaitTimeExceeded"))
    if not candidates:
        return None
    first = min(candidates)
    if first[0] < natural or own in {reason for _, reason in candidates}:
        return first
    return None


def _ending(
    timeline: Timeline,
    created: float,
    stop_at: float | None,
    limits: Mapping[str, object],
) -> tuple[float | None, float, Outcome, float | None]:
    """Where the phases are cut, the stopping time, the outcome, the primary stop."""
    deadline = _deadline(timeline, created, limits)
    stopping = timeline.stopping
    if deadline is not None and (stop_at is None or deadline[0] - stopping < stop_at):
        cut, stopping, outcome = _limit_stop(deadline, created, stopping)
        return cut, stopping, outcome, None
    if stop_at is not None:
        cut = stop_at + max(timeline.primary_lead, timeline.stop_ack)
        return cut, stopping, Stopped(reason="Stopped"), stop_at
    return None, stopping, timeline.outcome, None


def _limit_stop(
    deadline: tuple[float, StopReason], created: float, stopping: float
) -> tuple[float, float, Stopped]:
    """Where the ``Stopping`` transition starts, how long it lasts, and the outcome."""
    at, reason = deadline
    begin = max(at - stopping, created)
    return begin, at - begin, Stopped(reason=reason)


def _lay_out(
    phases: tuple[Phase, ...], created: float, cut: float | None
) -> tuple[list[_Transition], float]:
    """Place *phases* from *created*, dropping what starts at or after *cut*."""
    transitions: list[_Transition] = []
    at = created
    for phase in phases:
        if cut is not None and at >= cut and transitions:
            break
        n = max(len(phase.messages), 1)
        share = phase.duration / n
        times = tuple(at + i * share for i in range(n))
        messages = phase.messages or ("",)
        if cut is not None:
            kept = [i for i, t in enumerate(times) if t < cut] or [0]
            times = tuple(times[i] for i in kept)
            messages = tuple(messages[i] for i in kept)
        until = phase.duration if phase.progress_until is None else phase.progress_until
        transitions.append(
            _Transition(
                phase.status,
                at,
                times,
                messages,
                phase.duration,
                steps=(*phase.progress, until),
            )
        )
        at += phase.duration
    return transitions, at
