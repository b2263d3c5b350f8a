"""The diff: two observations of a job in, the events between them out (pure)."""

from __future__ import annotations

import collections
import dataclasses
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from .._errors import JobReplaced
from .cursor import (
    ResumeCursor,
    digest,
    history_keys,
    job_name_digest,
    message_digest,
    progress_digest,
)
from .events import (
    Event,
    Interrupted,
    JobCompleted,
    JobFailed,
    JobObserved,
    JobStopped,
    PrimaryStatusChanged,
    ProgressChanged,
    StatusEntered,
    StatusMessageChanged,
)
from .snapshot import Snapshot
from .status import INTERRUPTION_STATUSES, PrimaryStatus, SecondaryStatus

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .cursor import HistoryKey
    from .events import JobEnded
    from .snapshot import Progress

# ResumeCursor lives in cursor.py; the drivers and the tracker import it from here.
__all__ = [
    "CHANGED_AFTER_END",
    "HISTORY_ENTRY_INSERTED",
    "HISTORY_REORDERED",
    "HISTORY_REWRITTEN",
    "HISTORY_SHRANK",
    "DiffResult",
    "ResumeCursor",
    "diff",
    "diff_with_anomalies",
]

#: The kinds of history anomaly ``diff_with_anomalies`` reports.
HISTORY_SHRANK: Final = "history_shrank"
HISTORY_REWRITTEN: Final = "history_rewritten"
HISTORY_REORDERED: Final = "history_reordered"
HISTORY_ENTRY_INSERTED: Final = "history_entry_inserted"
CHANGED_AFTER_END: Final = "changed_after_end"


@dataclass(frozen=True, slots=True, kw_only=True)
class DiffResult:
    """What ``diff_with_anomalies`` found.

    Attributes:
        events: the new events, in order.
        anomalies: what was odd about *current*, as short kinds the caller logs
            (never message text): ``"history_shrank"`` (entries reported before
            are gone from the end), ``"history_rewritten"`` (entries seen before
            were replaced), ``"history_reordered"`` (the same entries in another
            order), ``"history_entry_inserted"`` (a new entry before entries seen
            before), ``"changed_after_end"`` (a change after the terminal event).
            Each is reported once, by the observation that shows it. They never
            stop the diff.
        cursor: the watermark after ``events``. Passing it (rather than the
            snapshot) as the next *previous* keeps exactly-once delivery even
            across anomalies such as a stale, shorter history.
    """

    events: tuple[Event, ...]
    anomalies: tuple[str, ...]
    cursor: ResumeCursor


def diff(
    previous: Snapshot | ResumeCursor | None, current: Snapshot
) -> tuple[Event, ...]:
    """Return the events between *previous* and *current*, in order.

    The same as ``diff_with_anomalies(previous, current).events``; use that to log
    anomalies.
    """
    return diff_with_anomalies(previous, current).events


def diff_with_anomalies(
    previous: Snapshot | ResumeCursor | None, current: Snapshot
) -> DiffResult:
    """Diff two observations of one job: pure, no I/O, no clock.

    The whole ``SecondaryStatusTransitions`` history is compared, so statuses
    passed between two polls are all reported. Order of events:

    1. ``JobObserved``, only when *previous* is ``None`` (it carries the primary
       status, so no ``PrimaryStatusChanged`` follows it).
    2. ``StatusMessageChanged`` if the last reported transition's message was
       rewritten (to something other than ``None``).
    3. One ``StatusEntered`` (``Interrupted`` for a spot interruption) per
       transition not reported yet, in history order.
    4. ``PrimaryStatusChanged`` if the primary status moved.
    5. ``ProgressChanged`` if ``ProgressInfo`` changed (to something).
    6. The terminal event (``JobCompleted``, ``JobFailed``, ``JobStopped``) once,
       when the job's outcome (``Snapshot.outcome``) is known, chosen by it.
       After it, nothing is ever emitted.

    Histories that shrink, are rewritten or reordered are tolerated and never
    lose a transition: an entry (a status and its start time) is reported once,
    wherever it appears in the history, however late; an entry that only moved,
    or kept its place and status with another start time, is not reported
    again. Only a cursor read from a token, in its first diff, falls back to
    counting: the first *n* entries count as reported.

    Args:
        previous: the previous snapshot, a ``ResumeCursor`` (from a token or a
            previous ``DiffResult.cursor``), or ``None`` for a first observation.
        current: the new snapshot.

    Returns:
        The events, the anomalies and the watermark after the events.

    Raises:
        JobReplaced: if *current* is another job of the same name (different ARN
            or creation time).
    """
    anomalies: list[str] = []
    events: list[Event] = []
    keys = history_keys(current)
    if previous is None:
        cursor = _initial_cursor(current)
        events.append(
            JobObserved(
                job_name=current.job_name,
                at=current.observed_at,
                resume_token=cursor.to_token(),
                snapshot=current,
                primary_status=current.primary_status,
                secondary_status=current.secondary_status,
                job_arn=current.job_arn,
                creation_time=current.creation_time,
            )
        )
    else:
        cursor = (
            ResumeCursor.from_snapshot(previous)
            if isinstance(previous, Snapshot)
            else previous
        )
        _check_identity(cursor, current)
        if not cursor.name_digest:
            cursor = dataclasses.replace(
                cursor, name_digest=job_name_digest(current.job_name)
            )
    builder = _Builder(cursor=cursor, current=current, keys=keys, events=events)
    if cursor.ended:
        anomalies.extend(_after_end(cursor, current, keys))
        if cursor.seen is not keys:
            builder.cursor = dataclasses.replace(cursor, seen=keys)
    else:
        anomaly = _history_anomaly(cursor, keys)
        if anomaly is not None:
            anomalies.append(anomaly)
        builder.emit_all()
    return DiffResult(
        events=tuple(builder.events),
        anomalies=tuple(anomalies),
        cursor=builder.cursor,
    )


@dataclass(slots=True, kw_only=True)
class _Builder:
    """Emits events one by one, advancing the watermark after each."""

    cursor: ResumeCursor
    current: Snapshot
    keys: tuple[HistoryKey, ...]
    events: list[Event]

    def emit_all(self) -> None:
        current, keys = self.current, self.keys
        reported = self.cursor.reported
        count = self.cursor.transitions
        if reported is None:
            # Read from a token: only a count is known.
            if 0 < count <= len(keys):
                self._message_changed(count - 1)
            new, retimed = list(range(count, len(keys))), list[int]()
        else:
            last = _last_index(keys, self.cursor.last_key)
            if last is not None:
                self._message_changed(last)
            new, retimed = _unreported(reported, self.cursor.seen or (), keys)
        for position, index in enumerate(new):
            following = new[position + 1] if position + 1 < len(new) else len(keys)
            self._entered(index, covered=following)
        self._remember(new, retimed)
        if digest(str(current.primary_status)) != self.cursor.primary_digest:
            self._primary_changed()
        if (
            current.progress is not None
            and progress_digest(current.progress) != self.cursor.progress_digest
        ):
            self._progress_changed(current.progress)
        if current.is_terminal:
            self._ended()

    def _remember(self, new: list[int], retimed: list[int]) -> None:
        """Record, outside the token, what was reported and what was seen."""
        cursor, keys = self.cursor, self.keys
        reported = cursor.reported
        if reported is not None:
            reported += tuple(keys[index] for index in (*new, *retimed))
        elif len(keys) >= cursor.transitions:
            reported = keys
        last_key = cursor.last_key
        if last_key is None and reported is not None and cursor.transitions:
            last_key = keys[cursor.transitions - 1]
        if (
            reported is cursor.reported
            and keys is cursor.seen
            and last_key is cursor.last_key
        ):
            return  # nothing to remember: no new cursor
        self.cursor = dataclasses.replace(
            cursor, reported=reported, seen=keys, last_key=last_key
        )

    def _advance(self, cursor: ResumeCursor) -> str:
        self.cursor = cursor
        return cursor.to_token()

    def _message_changed(self, index: int) -> None:
        transition = self.current.transitions[index]
        message = transition.message
        if message is None or message_digest(message) == self.cursor.message_digest:
            return
        previous_message = self.cursor.last_message
        token = self._advance(
            dataclasses.replace(
                self.cursor,
                message_digest=message_digest(message),
                last_message=message,
            )
        )
        self.events.append(
            StatusMessageChanged(
                job_name=self.current.job_name,
                at=self.current.observed_at,
                resume_token=token,
                snapshot=self.current,
                status=transition.status,
                message=message,
                previous_message=previous_message,
            )
        )

    def _entered(self, index: int, *, covered: int) -> None:
        """Report entry *index*; entries up to *covered* are then all reported.

        The message followed from now on is this entry's, wherever it sits.
        """
        transitions = self.current.transitions
        transition = transitions[index]
        token = self._advance(
            dataclasses.replace(
                self.cursor,
                transitions=covered,
                message_digest=message_digest(transition.message),
                last_message=transition.message,
                last_key=self.keys[index],
            )
        )
        kind = (
            Interrupted if transition.status in INTERRUPTION_STATUSES else StatusEntered
        )
        self.events.append(
            kind(
                job_name=self.current.job_name,
                at=self.current.observed_at,
                resume_token=token,
                snapshot=self.current,
                status=transition.status,
                previous_status=transitions[index - 1].status if index else None,
                message=transition.message,
                started_at=transition.started_at,
            )
        )

    def _primary_changed(self) -> None:
        previous_status = self.cursor.primary_status
        status = self.current.primary_status
        token = self._advance(
            dataclasses.replace(
                self.cursor, primary_status=status, primary_digest=digest(str(status))
            )
        )
        self.events.append(
            PrimaryStatusChanged(
                job_name=self.current.job_name,
                at=self.current.observed_at,
                resume_token=token,
                snapshot=self.current,
                status=status,
                previous_status=previous_status,
            )
        )

    def _progress_changed(self, progress: Progress) -> None:
        token = self._advance(
            dataclasses.replace(self.cursor, progress_digest=progress_digest(progress))
        )
        self.events.append(
            ProgressChanged(
                job_name=self.current.job_name,
                at=self.current.observed_at,
                resume_token=token,
                snapshot=self.current,
                current_step=progress.current_step,
                total_steps_per_epoch=progress.total_steps_per_epoch,
                current_epoch=progress.current_epoch,
                max_epoch=progress.max_epoch,
            )
        )

    def _ended(self) -> None:
        current = self.current
        token = self._advance(dataclasses.replace(self.cursor, ended=True))
        event: JobEnded
        # By outcome, not primary status: an unknown primary (``completed``) ends
        # the job as its terminal secondary status says.
        if current.outcome == PrimaryStatus.COMPLETED:
            event = JobCompleted(
                job_name=current.job_name,
                at=current.observed_at,
                resume_token=token,
                snapshot=current,
                training_time_seconds=current.training_time_seconds,
                billable_time_seconds=current.billable_time_seconds,
                model_artifacts=current.model_artifacts,
                final_metrics=MappingProxyType(
                    {metric.name: metric.value for metric in current.final_metrics}
                ),
            )
        elif current.outcome == PrimaryStatus.FAILED:
            event = JobFailed(
                job_name=current.job_name,
                at=current.observed_at,
                resume_token=token,
                snapshot=current,
                failure_reason=current.failure_reason,
            )
        else:
            reason = current.stop_reason
            event = JobStopped(
                job_name=current.job_name,
                at=current.observed_at,
                resume_token=token,
                snapshot=current,
                reason=SecondaryStatus.STOPPED if reason is None else reason,
            )
        self.events.append(event)


def _initial_cursor(current: Snapshot) -> ResumeCursor:
    """The watermark right after ``JobObserved``: only the primary status reported."""
    return ResumeCursor(
        job_name=current.job_name,
        name_digest=job_name_digest(current.job_name),
        job_arn=current.job_arn,
        arn_digest=digest(current.job_arn),
        creation_time=current.creation_time,
        transitions=0,
        message_digest=message_digest(None),
        last_message=None,
        primary_status=current.primary_status,
        primary_digest=digest(str(current.primary_status)),
        progress_digest=progress_digest(None),
        ended=False,
        reported=(),
    )


def _check_identity(cursor: ResumeCursor, current: Snapshot) -> None:
    if (
        cursor.arn_digest != digest(current.job_arn)
        or cursor.creation_time != current.creation_time
    ):
        raise JobReplaced(
            current.job_name,
            previous=cursor.describe(),
            current=str(current.identity),
        )


def _last_index(keys: Sequence[HistoryKey], key: HistoryKey | None) -> int | None:
    for index in range(len(keys) - 1, -1, -1):
        if keys[index] == key:
            return index
    return None


def _unreported(
    reported: Sequence[HistoryKey],
    seen: Sequence[HistoryKey],
    keys: Sequence[HistoryKey],
) -> tuple[list[int], list[int]]:
    """Split the entries of *keys* not reported yet into new and retimed ones.

    An entry is reported if its key is among *reported* (as often as it was
    reported). An unmatched entry with the status of the unmatched reported entry
    seen at its place last time is that entry with another start time (retimed);
    the others are new.
    """
    if reported == keys:  # the usual poll: nothing new
        return [], []
    pool = collections.Counter(reported)
    unmatched = []
    for index, key in enumerate(keys):
        if pool[key] > 0:
            pool[key] -= 1
        else:
            unmatched.append(index)
    new, retimed = [], []
    for index in unmatched:
        before = seen[index] if index < len(seen) else None
        if before is not None and before[0] == keys[index][0] and pool[before] > 0:
            pool[before] -= 1
            retimed.append(index)
        else:
            new.append(index)
    return new, retimed


def _history_anomaly(cursor: ResumeCursor, keys: tuple[HistoryKey, ...]) -> str | None:
    """Classify how *keys* departs from the history seen last, if it does."""
    seen = cursor.seen
    if seen is None:
        return HISTORY_SHRANK if len(keys) < cursor.transitions else None
    if keys[: len(seen)] == seen:
        return None
    missing = collections.Counter(seen)
    missing.subtract(keys)
    if any(count > 0 for count in missing.values()):
        return HISTORY_SHRANK if seen[: len(keys)] == keys else HISTORY_REWRITTEN
    budget = collections.Counter(seen)
    survivors = []
    for key in keys:
        if budget[key] > 0:
            budget[key] -= 1
            survivors.append(key)
    return HISTORY_REORDERED if tuple(survivors) != seen else HISTORY_ENTRY_INSERTED


def _after_end(
    cursor: ResumeCursor, current: Snapshot, keys: tuple[HistoryKey, ...]
) -> list[str]:
    grown = (
        len(keys) > cursor.transitions if cursor.seen is None else keys != cursor.seen
    )
    if grown or digest(str(current.primary_status)) != cursor.primary_digest:
        return [CHANGED_AFTER_END]
    return []
