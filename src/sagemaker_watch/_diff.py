"""The diff: two observations of a job in, the events between them out (pure)."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from ._errors import InvalidResumeToken, JobReplaced
from ._events import (
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
from ._snapshot import Snapshot, _iso
from ._status import INTERRUPTION_STATUSES, PrimaryStatus, SecondaryStatus

if TYPE_CHECKING:
    from ._events import JobEnded
    from ._snapshot import Progress, Transition

_VERSION: Final = "1"
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_PRIMARY_CODES: Final = {
    PrimaryStatus.IN_PROGRESS: "I",
    PrimaryStatus.COMPLETED: "C",
    PrimaryStatus.FAILED: "F",
    PrimaryStatus.STOPPING: "s",
    PrimaryStatus.STOPPED: "S",
    PrimaryStatus.DELETING: "D",
}
_CODE_PRIMARIES: Final = {code: status for status, code in _PRIMARY_CODES.items()}
_CARRIED_PRIMARY: Final = re.compile(r"[A-Za-z]{1,12}")
_DIGEST: Final = r"[A-Za-z0-9_-]{8}"
_TOKEN: Final = re.compile(
    rf"{_VERSION}\.(?P<created>-?[0-9a-z]{{1,14}})\.(?P<arn>{_DIGEST})"
    rf"\.(?P<transitions>[0-9a-z]{{1,6}})\.(?P<message>{_DIGEST}|)"
    rf"\.(?P<primary>[{''.join(_CODE_PRIMARIES)}]|~[A-Za-z]{{1,12}}|!{_DIGEST})"
    rf"\.(?P<progress>{_DIGEST}|)\.(?P<ended>[01])"
)


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class ResumeCursor:
    """A watermark: how much of a job's history has been reported as events.

    Every event's ``resume_token`` is the watermark just after that event, and
    ``diff(cursor, current)`` emits exactly the events after it, so a re-created
    watcher neither repeats nor loses an event. A cursor remembers the job's
    identity, how many transitions were reported, hashes of the last reported
    status message and progress, the primary status reported and whether the
    terminal event was emitted. A cursor read from a token knows less than one
    made from a snapshot (no job name, ARN or message text), which only shows in
    ``StatusMessageChanged.previous_message`` being ``None`` after a resume.

    Token format (version 1), fields joined by ``.``, all URL-safe, at most about
    60 characters::

        1.<created>.<arn>.<count>.<message>.<primary>.<progress>.<ended>

    ``created`` is the creation time in microseconds since the epoch in base 36;
    ``arn``, ``message`` and ``progress`` are 8-character BLAKE2b digests in
    URL-safe base 64 (empty for no message or no progress); ``count`` is the
    number of transitions reported, in base 36; ``primary`` is a one-letter code
    for a known primary status, ``~Value`` for a short unknown one, ``!digest``
    otherwise; ``ended`` is ``1`` once the terminal event was emitted. The format
    is versioned, not a stable interface: treat tokens as opaque.
    """

    job_name: str | None
    job_arn: str | None
    arn_digest: str
    creation_time: dt.datetime
    transitions: int
    message_digest: str
    last_message: str | None
    primary_status: PrimaryStatus | None
    primary_digest: str
    progress_digest: str
    ended: bool

    def __repr__(self) -> str:
        """Return a short description: the job name (if known) and the token."""
        return f"ResumeCursor(job_name={self.job_name!r}, token={self.to_token()!r})"

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot) -> ResumeCursor:
        """Return the watermark after every event *snapshot* holds was reported."""
        last = snapshot.transitions[-1].message if snapshot.transitions else None
        return cls(
            job_name=snapshot.job_name,
            job_arn=snapshot.job_arn,
            arn_digest=_digest(snapshot.job_arn),
            creation_time=snapshot.creation_time,
            transitions=len(snapshot.transitions),
            message_digest=_message_digest(last),
            last_message=last,
            primary_status=snapshot.primary_status,
            primary_digest=_digest(str(snapshot.primary_status)),
            progress_digest=_progress_digest(snapshot.progress),
            ended=snapshot.is_terminal,
        )

    @classmethod
    def from_token(cls, token: str) -> ResumeCursor:
        """Read an event's ``resume_token``.

        Raises:
            InvalidResumeToken: if *token* is not a token this version wrote.
        """
        match = _TOKEN.fullmatch(token) if isinstance(token, str) else None
        if match is None:
            msg = "not a sagemaker-watch resume token (or from another version)"
            raise InvalidResumeToken(msg)
        primary_code = match["primary"]
        if primary_code in _CODE_PRIMARIES:
            primary: PrimaryStatus | None = _CODE_PRIMARIES[primary_code]
        elif primary_code.startswith("~"):
            primary = PrimaryStatus(primary_code[1:])
        else:
            primary = None
        try:
            micros = int(match["created"], 36)
            created = _EPOCH + dt.timedelta(microseconds=micros)
        except OverflowError as exc:
            msg = "resume token holds an impossible creation time"
            raise InvalidResumeToken(msg) from exc
        return cls(
            job_name=None,
            job_arn=None,
            arn_digest=match["arn"],
            creation_time=created,
            transitions=int(match["transitions"], 36),
            message_digest=match["message"],
            last_message=None,
            primary_status=primary,
            primary_digest=(
                primary_code[1:] if primary is None else _digest(str(primary))
            ),
            progress_digest=match["progress"],
            ended=match["ended"] == "1",
        )

    def to_token(self) -> str:
        """Return this watermark as a short, URL-safe, opaque string."""
        micros = (self.creation_time - _EPOCH) // dt.timedelta(microseconds=1)
        primary = self.primary_status
        if primary is None:
            primary_code = "!" + self.primary_digest
        elif primary in _PRIMARY_CODES:
            primary_code = _PRIMARY_CODES[primary]
        elif _CARRIED_PRIMARY.fullmatch(primary):
            primary_code = "~" + primary
        else:
            primary_code = "!" + self.primary_digest
        return ".".join(
            (
                _VERSION,
                _base36(micros),
                self.arn_digest,
                _base36(self.transitions),
                self.message_digest,
                primary_code,
                self.progress_digest,
                "1" if self.ended else "0",
            )
        )

    def describe(self) -> str:
        """Return a short human description of the job this cursor belongs to."""
        name = self.job_arn if self.job_arn is not None else "job"
        return f"{name} created {_iso(self.creation_time)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class DiffResult:
    """What ``diff_with_anomalies`` found.

    Attributes:
        events: the new events, in order.
        anomalies: human-readable notes about histories that shrank or were
            rewritten, or changes after the terminal event; the caller logs them.
            They never stop the diff.
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
       when the primary status is terminal. After it, nothing is ever emitted.

    A history that shrank or whose reported entries were rewritten is tolerated:
    the first *n* entries count as reported (*n* = entries reported so far), only
    entries beyond them are emitted, and an anomaly says what happened.

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
    elif isinstance(previous, Snapshot):
        cursor = ResumeCursor.from_snapshot(previous)
        _check_identity(cursor, current)
        anomalies.extend(_rewrites(previous.transitions, current.transitions))
    else:
        cursor = previous
        _check_identity(cursor, current)
    builder = _Builder(cursor=cursor, current=current, events=events)
    if cursor.ended:
        anomalies.extend(_after_end(cursor, current))
    else:
        if len(current.transitions) < cursor.transitions:
            anomalies.append(
                f"transition history shrank from {cursor.transitions} to "
                f"{len(current.transitions)} entries; waiting for it to grow back"
            )
        builder.emit_all(rewritten=bool(anomalies))
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
    events: list[Event]

    def emit_all(self, *, rewritten: bool) -> None:
        current = self.current
        reported = self.cursor.transitions
        if 0 < reported <= len(current.transitions) and not rewritten:
            self._message_changed(current.transitions[reported - 1])
        for index in range(reported, len(current.transitions)):
            self._entered(index)
        if _digest(str(current.primary_status)) != self.cursor.primary_digest:
            self._primary_changed()
        if (
            current.progress is not None
            and _progress_digest(current.progress) != self.cursor.progress_digest
        ):
            self._progress_changed(current.progress)
        if current.is_terminal:
            self._ended()

    def _advance(self, cursor: ResumeCursor) -> str:
        self.cursor = cursor
        return cursor.to_token()

    def _message_changed(self, transition: Transition) -> None:
        message = transition.message
        if message is None or _message_digest(message) == self.cursor.message_digest:
            return
        previous_message = self.cursor.last_message
        token = self._advance(
            dataclasses.replace(
                self.cursor,
                message_digest=_message_digest(message),
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

    def _entered(self, index: int) -> None:
        transitions = self.current.transitions
        transition = transitions[index]
        token = self._advance(
            dataclasses.replace(
                self.cursor,
                transitions=index + 1,
                message_digest=_message_digest(transition.message),
                last_message=transition.message,
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
                self.cursor, primary_status=status, primary_digest=_digest(str(status))
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
            dataclasses.replace(self.cursor, progress_digest=_progress_digest(progress))
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
        if current.primary_status == PrimaryStatus.COMPLETED:
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
        elif current.primary_status == PrimaryStatus.FAILED:
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
        job_arn=current.job_arn,
        arn_digest=_digest(current.job_arn),
        creation_time=current.creation_time,
        transitions=0,
        message_digest=_message_digest(None),
        last_message=None,
        primary_status=current.primary_status,
        primary_digest=_digest(str(current.primary_status)),
        progress_digest=_progress_digest(None),
        ended=False,
    )


def _check_identity(cursor: ResumeCursor, current: Snapshot) -> None:
    if (
        cursor.arn_digest != _digest(current.job_arn)
        or cursor.creation_time != current.creation_time
    ):
        raise JobReplaced(
            current.job_name,
            previous=cursor.describe(),
            current=str(current.identity),
        )


def _rewrites(
    before: tuple[Transition, ...], after: tuple[Transition, ...]
) -> list[str]:
    for index, (old, new) in enumerate(zip(before, after, strict=False)):
        if (old.status, old.started_at) != (new.status, new.started_at):
            note = (
                f"transition {index} was rewritten from {old.status} at "
                f"{_iso(old.started_at)} to {new.status} at "
                f"{_iso(new.started_at)}; not reporting it again"
            )
            return [note]
    return []


def _after_end(cursor: ResumeCursor, current: Snapshot) -> list[str]:
    if (
        len(current.transitions) > cursor.transitions
        or _digest(str(current.primary_status)) != cursor.primary_digest
    ):
        note = (
            "the job changed after its terminal event was reported "
            f"(now {current.primary_status}, {len(current.transitions)} "
            "transitions); ignored"
        )
        return [note]
    return []


def _digest(text: str) -> str:
    raw = hashlib.blake2b(text.encode(), digest_size=6).digest()
    return base64.urlsafe_b64encode(raw).decode()


def _message_digest(message: str | None) -> str:
    return "" if message is None else _digest(message)


def _progress_digest(progress: Progress | None) -> str:
    if progress is None:
        return ""
    return _digest(
        f"{progress.current_step}/{progress.total_steps_per_epoch}/"
        f"{progress.current_epoch}/{progress.max_epoch}"
    )


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    sign = "-" if number < 0 else ""
    number = abs(number)
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return sign + out
