"""EventBridge's "SageMaker Training Job State Change" events, as the fake emits them.

The shape follows the example in the AWS documentation, "Events that Amazon
SageMaker AI sends to Amazon EventBridge", section "Training job state change"
(https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html,
copied in ``tests/fixtures/eventbridge/training-job-state-change.json``): the
envelope (``version`` "0", ``id``, ``detail-type``, ``source`` "aws.sagemaker",
``account``, ``time`` at second precision with ``Z``, ``region``, ``resources``
holding the job's ARN) around a ``detail`` that mirrors ``DescribeTrainingJob``
with timestamps as epoch-milliseconds *strings* (``"1583831889050"``), ``Tags``
as a map rather than a list, and ``FailureReason`` only once the job failed.

The service sends one event per change of the job's status: the documentation
describes the event as "a change in the status of a SageMaker training job" and
warns that it "may send multiple events ... for each state change". The fake
emits exactly one event at each instant where the pair (``TrainingJobStatus``,
``SecondaryStatus``) differs from the last one emitted, starting with the job's
creation (``InProgress``/``Starting``); duplicates, losses and delays are left
to injected faults. ``Deleting`` and warm-pool changes emit nothing.

Everything here is pure: :class:`EventPublisher` computes, on demand, the events
whose instant has come, from the jobs' plans.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import random

    from ._jobs import SimulatedJob

JSON = dict[str, Any]

#: The event's ``detail-type``.
DETAIL_TYPE: Final = "SageMaker Training Job State Change"
#: The event's ``source``.
SOURCE: Final = "aws.sagemaker"

#: The ``DescribeTrainingJob`` members the event's ``detail`` carries, in order
#: (the documented example's, plus ``FailureReason``).
_DETAIL_MEMBERS: Final = (
    "TrainingJobName",
    "TrainingJobArn",
    "TrainingJobStatus",
    "SecondaryStatus",
    "FailureReason",
    "HyperParameters",
    "AlgorithmSpecification",
    "RoleArn",
    "InputDataConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "VpcConfig",
    "StoppingCondition",
)
_TIMES: Final = (
    "CreationTime",
    "TrainingStartTime",
    "TrainingEndTime",
    "LastModifiedTime",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class EventStatistics:
    """What happened to the state-change events so far.

    Attributes:
        emitted: Events of changes while a queue was routed.
        delivered: Messages put in the queue (duplicates count twice).
        dropped: Events a ``drop_event`` fault lost.
        duplicated: Events a ``duplicate_event`` fault sent twice.
        delayed: Events a ``delay_event`` or ``reorder_events`` fault delayed.
    """

    emitted: int
    delivered: int
    dropped: int
    duplicated: int
    delayed: int


def epoch_ms(t: float) -> str:
    """Return POSIX seconds *t* as events write times: epoch milliseconds, a string."""
    return str(round(t * 1000))


def state_change_event(
    describe: JSON,
    *,
    tags: object,
    account_id: str,
    region: str,
    at: float,
    event_id: str,
) -> JSON:
    """Build the EventBridge event of a job from its ``DescribeTrainingJob``.

    Args:
        describe: The job's ``DescribeTrainingJob`` answer at the change (times
            as float seconds, as the fake answers).
        tags: The job's tags, as ``CreateTrainingJob`` took them (a list of
            ``Key``/``Value`` pairs); the event carries them as a map.
        account_id: The envelope's ``account``.
        region: The envelope's ``region``.
        at: The instant of the change, in POSIX seconds.
        event_id: The envelope's ``id``.

    Returns:
        The event, ready for ``json.dumps``.
    """
    detail: JSON = {
        member: describe[member] for member in _DETAIL_MEMBERS if member in describe
    }
    detail.setdefault("VpcConfig", {})
    for member in _TIMES:
        if member in describe:
            detail[member] = epoch_ms(describe[member])
    detail["SecondaryStatusTransitions"] = [
        {
            key: epoch_ms(value) if key in {"StartTime", "EndTime"} else value
            for key, value in entry.items()
        }
        for entry in describe.get("SecondaryStatusTransitions", [])
    ]
    detail["Tags"] = {
        str(tag.get("Key")): str(tag.get("Value", ""))
        for tag in (tags if isinstance(tags, list) else [])
        if isinstance(tag, dict)
    }
    when = dt.datetime.fromtimestamp(int(at), dt.UTC)
    return {
        "version": "0",
        "id": event_id,
        "detail-type": DETAIL_TYPE,
        "source": SOURCE,
        "account": account_id,
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [describe["TrainingJobArn"]],
        "detail": detail,
    }


def _candidates(job: SimulatedJob, since: float) -> list[float]:
    """Every instant at or after *since* where the job's status pair may change.

    The secondary status changes where a transition starts; the primary status at
    creation, at a stop, ``primary_lead`` before a transition (limit stops and
    endings move it early) and at the end. Extra instants cost a lookup, never an
    event: only a real change of the pair emits.
    """
    plan = job.plan
    lead = job.timeline.primary_lead
    # The last transition starts at most *lead* after the primary status ends.
    end = max(plan.terminal_at + lead, since)
    starts = [view.start for view in plan.state(end).transitions]
    instants = {job.created, plan.terminal_at, since, *starts}
    instants.update(start - lead for start in starts)
    return sorted(t for t in instants if t >= max(since, job.created))


class EventPublisher:
    """Computes, as simulated time passes, the state-change events of tracked jobs.

    :meth:`track` a job when it is created (and again after a stop re-plans it),
    then :meth:`publish` returns the events due up to an instant, in order of
    their instants. Each event is computed from the job's ``DescribeTrainingJob``
    at its instant, so it holds what a describe at that moment would show.
    """

    __slots__ = ("_account_id", "_heap", "_last", "_live", "_region", "_rng", "_tick")

    def __init__(self, *, account_id: str, region: str, rng: random.Random) -> None:
        """Track no job yet; *rng* draws the events' ids (seeded: repeatable)."""
        self._account_id = account_id
        self._region = region
        self._rng = rng
        # (instant, tiebreak, job, generation, the job's instants, index of this one)
        self._heap: list[
            tuple[float, int, SimulatedJob, int, tuple[float, ...], int]
        ] = []
        self._live: dict[SimulatedJob, int] = {}
        self._last: dict[SimulatedJob, tuple[str, str]] = {}
        self._tick = itertools.count()

    def track(self, job: SimulatedJob, *, since: float | None = None) -> None:
        """Follow *job*'s current plan from *since* (its creation by default).

        Tracking a job again (after a stop re-planned it) replaces its pending
        instants; the last status pair it emitted is kept.
        """
        generation = self._live.get(job, -1) + 1
        self._live[job] = generation
        instants = tuple(_candidates(job, job.created if since is None else since))
        self._push(job, generation, instants, 0)

    def next_instant(self) -> float | None:
        """Return the earliest instant at which an event may be due, if any."""
        heap = self._heap
        while heap and self._live.get(heap[0][2]) != heap[0][3]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def publish(self, now: float) -> list[tuple[float, SimulatedJob, JSON]]:
        """Return the events due at or before *now*: ``(instant, job, event)`` each."""
        events = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            at, _, job, generation, instants, index = heapq.heappop(heap)
            if self._live.get(job) != generation:
                continue
            self._push(job, generation, instants, index + 1)
            if job.deleting_at is not None:
                continue
            primary, secondary, _, _ = job.plan.summary(at)
            pair = (primary, secondary)
            if self._last.get(job) == pair:
                continue
            self._last[job] = pair
            describe = job.describe(at)
            event_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
            event = state_change_event(
                describe,
                tags=job.request.get("Tags"),
                account_id=self._account_id,
                region=self._region,
                at=at,
                event_id=event_id,
            )
            events.append((at, job, event))
        return events

    def forget(self, job: SimulatedJob) -> None:
        """Stop following *job*: its pending instants are dropped."""
        self._live.pop(job, None)
        self._last.pop(job, None)

    def _push(
        self,
        job: SimulatedJob,
        generation: int,
        instants: tuple[float, ...],
        index: int,
    ) -> None:
        if index < len(instants):
            entry = (
                instants[index],
                next(self._tick),
                job,
                generation,
                instants,
                index,
            )
            heapq.heappush(self._heap, entry)
