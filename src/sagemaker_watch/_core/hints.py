"""Push hints: EventBridge training job events read from SQS, and their coalescing.

Pure, like ``planner`` and ``sweeps``: no I/O, no clock object, no anyio,
aiobotocore or structlog. A hint only says "look at job X now": the describe
that follows stays the only source of truth, so a duplicated, reordered, stale
or forged hint costs at most one describe and never changes what a user sees.

``read_hint`` reads one SQS message (a dict from ``ReceiveMessage``'s
``Messages``). Its ``Body`` is an EventBridge event, or, when the rule targets an
SNS topic that feeds the queue without raw delivery, an SNS notification whose
``Message`` is that event. The event is SageMaker's "SageMaker Training Job
State Change" (source ``aws.sagemaker``), documented in "Events that Amazon
SageMaker AI sends to Amazon EventBridge":
https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html
(the earlier revision of that page, with the same envelope and ISO 8601 times:
https://github.com/awsdocs/amazon-sagemaker-developer-guide, file
``doc_source/automating-sagemaker-with-eventbridge.md``). The envelope's
``time`` is an ISO 8601 string to the second; the ``detail`` is the job as
DescribeTrainingJob would show it, with its times as epoch-millisecond strings
today (ISO 8601 strings in the earlier revision; both are read, and numbers
too), and it also carries ``HyperParameters`` and ``Tags``. So the body is
never logged, printed or quoted: what ``read_hint`` returns holds only the
job's name, its claimed statuses and two times, each checked against a strict
shape, or a fixed reason.

``HintCoalescer`` takes hints as they arrive and the driver's describes and
snapshots, and says which jobs to describe and when: several hints for one job
within ``window`` seconds give one describe, and a hint that the last snapshot
already shows gives none.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from .names import JOB_NAME_MAX_LENGTH, JOB_NAME_PATTERN
from .status import PrimaryStatus, SecondaryStatus

if TYPE_CHECKING:
    from collections.abc import Container

    from .sweeps import Seen

#: The EventBridge ``source`` of SageMaker's events.
EVENT_SOURCE: Final = "aws.sagemaker"
#: The EventBridge ``detail-type`` of a training job's state change.
EVENT_DETAIL_TYPE: Final = "SageMaker Training Job State Change"
#: The longest message body read, in characters: SQS's largest message (1 MiB).
#: EventBridge events are at most 256 KB, so a longer body is not one.
MAX_BODY_CHARS: Final = 1024 * 1024
#: How long a status value may be; SageMaker's longest is 26 characters.
MAX_STATUS_CHARS: Final = 64
#: The longest ``MessageId`` kept (SQS's are 36-character UUIDs; 100 at most).
MAX_MESSAGE_ID_CHARS: Final = 128
#: The default coalescing window, in seconds (``HintCoalescer.window``).
DEFAULT_WINDOW: Final = 1.0
#: Distinct pending claims kept per job; past this many, only a describe clears
#: them (``HintCoalescer``).
MAX_PENDING_CLAIMS: Final = 8

_STATUS: Final = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_EPOCH_DIGITS: Final = re.compile(r"[0-9]{1,16}(?:\.[0-9]{1,9})?")
#: Epoch values at or above this are milliseconds (as events send them), below
#: it seconds (as DescribeTrainingJob's JSON does): 1e11 seconds is the year
#: 5138, 1e11 milliseconds is 1973.
_MILLISECONDS_FROM: Final = 1e11
_MILLISECONDS: Final = 1000.0


class NotAHintReason(enum.StrEnum):
    """Why an SQS message is not a hint; a fixed set that quotes nothing of it."""

    NOT_A_MESSAGE = "not_a_message"
    TOO_LARGE = "too_large"
    NOT_JSON = "not_json"
    NOT_AN_EVENT = "not_an_event"
    WRONG_SOURCE = "wrong_source"
    WRONG_DETAIL_TYPE = "wrong_detail_type"
    NO_DETAIL = "no_detail"
    BAD_JOB_NAME = "bad_job_name"
    BAD_STATUS = "bad_status"


_EXPLANATIONS: Final[Mapping[NotAHintReason, str]] = {
    NotAHintReason.NOT_A_MESSAGE: "not an SQS message with a string Body",
    NotAHintReason.TOO_LARGE: f"body longer than {MAX_BODY_CHARS} characters",
    NotAHintReason.NOT_JSON: "body is not JSON (or nested too deeply)",
    NotAHintReason.NOT_AN_EVENT: "body is not an EventBridge event or SNS notice",
    NotAHintReason.WRONG_SOURCE: f"event source is not {EVENT_SOURCE}",
    NotAHintReason.WRONG_DETAIL_TYPE: f"event detail-type is not {EVENT_DETAIL_TYPE}",
    NotAHintReason.NO_DETAIL: "event has no detail object",
    NotAHintReason.BAD_JOB_NAME: "TrainingJobName missing or not a valid job name",
    NotAHintReason.BAD_STATUS: "TrainingJobStatus or SecondaryStatus malformed",
}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Hint:
    """One training job state change event: "describe this job now".

    Every field but the SQS ones comes from the message body and is only a
    claim: the describe it prompts is the truth. ``modified_at`` orders a job's
    events (see ``read_hint``); ``sent_at`` is kept to measure how late hints
    arrive.
    """

    #: The job the event is about (a name SageMaker would accept).
    job_name: str
    #: The ``TrainingJobStatus`` the event claims; unknown values carried.
    primary_status: PrimaryStatus
    #: The ``SecondaryStatus`` the event claims, or ``None`` when absent.
    secondary_status: SecondaryStatus | None
    #: The detail's ``LastModifiedTime`` (UTC, to the millisecond), or ``None``.
    modified_at: dt.datetime | None
    #: The envelope's ``time`` (UTC, to the second), or ``None``.
    sent_at: dt.datetime | None
    #: The SQS ``MessageId``, or ``None`` when the message has none.
    message_id: str | None
    #: The SQS ``ReceiptHandle`` that deletes the message, or ``None``.
    receipt_handle: str | None = dataclasses.field(default=None, repr=False)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class NotAHint:
    """An SQS message that is not a hint: delete it, and log only ``reason``.

    Nothing of the body is kept: the body may carry ``HyperParameters`` and
    ``Tags``, and a message that is not what we expect may carry anything.
    """

    #: Why the message is not a hint.
    reason: NotAHintReason
    #: The SQS ``MessageId``, or ``None`` when the message has none.
    message_id: str | None
    #: The SQS ``ReceiptHandle`` that deletes the message, or ``None``.
    receipt_handle: str | None = dataclasses.field(default=None, repr=False)

    def __str__(self) -> str:
        """Return a one-line explanation, quoting nothing of the message."""
        return f"not a training job hint: {_EXPLANATIONS[self.reason]}"


def read_hint(message: object) -> Hint | NotAHint:
    """Read one SQS message as a training job hint.

    Never raises, whatever the message holds: anything that is not a
    well-formed "SageMaker Training Job State Change" event (directly, or in an
    SNS notification) gives a ``NotAHint`` with a fixed reason. The job name
    must be one SageMaker accepts and the statuses letters and digits (an
    unknown value is carried); an unreadable time is ``None``, which only keeps
    the hint from being judged stale.

    A job's events are ordered by the detail's ``LastModifiedTime``, not the
    envelope's ``time``: it is to the millisecond where ``time`` is to the
    second (a job passes several statuses within one second), and it is the
    same clock as the ``LastModifiedTime`` of the DescribeTrainingJob answers,
    so a hint can be compared with the last snapshot. ``time`` is when the event
    was sent, truncated: a change at ``12:26:13.5`` is sent as ``12:26:13``,
    earlier than a snapshot of ``12:26:13.2`` that it is newer than.

    Args:
        message: one entry of ``ReceiveMessage``'s ``Messages``.

    Returns:
        The hint, or why the message is not one; both carry the message's
        ``MessageId`` and ``ReceiptHandle`` so that it can be deleted.
    """
    if not isinstance(message, Mapping):
        return NotAHint(reason=NotAHintReason.NOT_A_MESSAGE, message_id=None)
    message_id = _message_id(message.get("MessageId"))
    receipt_handle = _optional_str(message.get("ReceiptHandle"))
    read = _read_body(message.get("Body"))
    if isinstance(read, NotAHintReason):
        return NotAHint(
            reason=read, message_id=message_id, receipt_handle=receipt_handle
        )
    return dataclasses.replace(
        read, message_id=message_id, receipt_handle=receipt_handle
    )


def _read_body(body: object) -> Hint | NotAHintReason:
    if not isinstance(body, str):
        return NotAHintReason.NOT_A_MESSAGE
    event = _json_object(body)
    if isinstance(event, NotAHintReason):
        return event
    if event.get("Type") == "Notification" and "Message" in event:
        event = _json_object(event["Message"])
        if isinstance(event, NotAHintReason):
            return event
    return _read_event(event)


def _json_object(text: object) -> dict[str, object] | NotAHintReason:
    if not isinstance(text, str):
        return NotAHintReason.NOT_AN_EVENT
    if len(text) > MAX_BODY_CHARS:
        return NotAHintReason.TOO_LARGE
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        # ValueError covers JSONDecodeError and integers too long to convert.
        return NotAHintReason.NOT_JSON
    return value if isinstance(value, dict) else NotAHintReason.NOT_AN_EVENT


def _read_event(event: dict[str, object]) -> Hint | NotAHintReason:
    if event.get("source") != EVENT_SOURCE:
        return NotAHintReason.WRONG_SOURCE
    if event.get("detail-type") != EVENT_DETAIL_TYPE:
        return NotAHintReason.WRONG_DETAIL_TYPE
    detail = event.get("detail")
    if not isinstance(detail, dict):
        return NotAHintReason.NO_DETAIL
    job_name = detail.get("TrainingJobName")
    if not (
        isinstance(job_name, str)
        and len(job_name) <= JOB_NAME_MAX_LENGTH
        and JOB_NAME_PATTERN.fullmatch(job_name)
    ):
        return NotAHintReason.BAD_JOB_NAME
    primary = _status(detail.get("TrainingJobStatus"))
    raw_secondary = detail.get("SecondaryStatus")
    secondary = _status(raw_secondary)
    if primary is None or (raw_secondary is not None and secondary is None):
        return NotAHintReason.BAD_STATUS
    return Hint(
        job_name=job_name,
        primary_status=PrimaryStatus(primary),
        secondary_status=None if secondary is None else SecondaryStatus(secondary),
        modified_at=_time(detail.get("LastModifiedTime")),
        sent_at=_time(event.get("time")),
        message_id=None,
    )


def _status(value: object) -> str | None:
    """Return *value* if it is shaped like a status value, else ``None``."""
    if (
        isinstance(value, str)
        and len(value) <= MAX_STATUS_CHARS
        and _STATUS.fullmatch(value) is not None
    ):
        return value
    return None


def _message_id(value: object) -> str | None:
    """SQS's ``MessageId`` if short and printable (it is logged), else ``None``."""
    if (
        isinstance(value, str)
        and len(value) <= MAX_MESSAGE_ID_CHARS
        and value.isprintable()
    ):
        return value
    return None


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _time(value: object) -> dt.datetime | None:
    """Read an event time: epoch milliseconds (number or digits) or ISO 8601."""
    if isinstance(value, str):
        if _EPOCH_DIGITS.fullmatch(value):
            return _epoch(float(value))
        try:
            moment = dt.datetime.fromisoformat(value)
            return (
                moment.replace(tzinfo=dt.UTC)
                if moment.tzinfo is None
                else moment.astimezone(dt.UTC)
            )
        except (OverflowError, ValueError):
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return _epoch(float(value))


def _epoch(value: float) -> dt.datetime | None:
    if not math.isfinite(value) or value < 0:
        return None
    seconds = value / _MILLISECONDS if value >= _MILLISECONDS_FROM else value
    try:
        return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


class HintVerdict(enum.StrEnum):
    """What ``HintCoalescer.offer`` made of one hint."""

    #: A describe of the job is due now (``take_due`` returns it).
    DUE = "due"
    #: A describe is due once the window since the last one has passed.
    DEFERRED = "deferred"
    #: A describe was already pending for the job: this hint joins it.
    COALESCED = "coalesced"
    #: The last snapshot already shows what the hint claims: no describe.
    STALE = "stale"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CoalescerStatistics:
    """What a ``HintCoalescer`` has done, by verdict and by describe."""

    due: int
    deferred: int
    coalesced: int
    stale: int
    #: Describes handed out by ``take_due``.
    describes: int
    #: Jobs with a describe pending now.
    pending: int


@dataclasses.dataclass(slots=True)
class _Claim:
    modified_at: dt.datetime
    primary_status: PrimaryStatus
    secondary_status: SecondaryStatus | None


@dataclasses.dataclass(slots=True)
class _JobHints:
    seen: _Claim | None = None
    described_at: float | None = None
    pending_since: float | None = None
    #: When the last hint still pending arrived: a describe sent before it does
    #: not cover it.
    last_arrival: float | None = None
    claims: list[_Claim] = dataclasses.field(default_factory=list)
    #: A pending hint that no snapshot can show covered (no time, or too many).
    uncoverable: bool = False


class HintCoalescer:
    """Turn hints into describes: at most one per job per window, none missed.

    Times (*now*, *at*) are float seconds on the driver's monotonic clock; the
    hints' and snapshots' ``LastModifiedTime`` are on the service's clock and
    are only compared with each other. The driver:

    * ``offer(hint, now=...)`` for each hint about a job it watches;
    * ``take_due(now)`` to learn which jobs to describe (and ``next_due()`` for
      when to ask again), which counts as sending those describes;
    * ``described(job_name, at=...)`` for every other describe it sends (its
      poll schedule), which covers the hints that arrived before it;
    * ``observed(job_name, snapshot)`` for each snapshot, which makes older
      hints stale and clears pending ones it already shows;
    * ``forget(job_name)`` when it stops watching a job (a few fields are kept
      per job offered, described or observed until then; hints about jobs the
      driver does not watch should not be offered at all).

    A hint is due at once when no describe of its job (of any kind) was sent in
    the last ``window`` seconds, else when that window ends. It is covered (no describe
    of its own) by a describe sent after it arrived, or by a snapshot that
    shows it: a later ``LastModifiedTime``, or the same one with the same
    statuses. A hint without ``modified_at`` is covered only by a describe.
    """

    __slots__ = ("_counts", "_describes", "_jobs", "_pending", "window")

    def __init__(self, *, window: float = DEFAULT_WINDOW) -> None:
        """Coalesce hints for one job within *window* seconds into one describe.

        Raises:
            ValueError: *window* is negative or not finite.
        """
        if not (math.isfinite(window) and window >= 0):
            msg = f"window must be a finite number of seconds >= 0, not {window!r}"
            raise ValueError(msg)
        #: The shortest time between two describes of one job that hints cause.
        self.window = window
        self._jobs: dict[str, _JobHints] = {}
        #: The jobs with a describe pending: what ``take_due`` looks through.
        self._pending: dict[str, _JobHints] = {}
        self._counts = dict.fromkeys(HintVerdict, 0)
        self._describes = 0

    def __repr__(self) -> str:
        """Return a short description."""
        return (
            f"HintCoalescer(window={self.window!r}, jobs={len(self._jobs)}, "
            f"pending={len(self._pending)})"
        )

    def offer(self, hint: Hint, *, now: float) -> HintVerdict:
        """Take one hint, received at *now*; say what it makes due."""
        job = self._jobs.setdefault(hint.job_name, _JobHints())
        verdict = self._verdict(job, hint, now)
        if job.pending_since is not None:
            self._pending[hint.job_name] = job
        self._counts[verdict] += 1
        return verdict

    def _verdict(self, job: _JobHints, hint: Hint, now: float) -> HintVerdict:
        claim = (
            None
            if hint.modified_at is None
            else _Claim(
                modified_at=_to_millisecond(hint.modified_at),
                primary_status=hint.primary_status,
                secondary_status=hint.secondary_status,
            )
        )
        if claim is not None and job.seen is not None and _shows(job.seen, claim):
            return HintVerdict.STALE
        if claim is None or len(job.claims) >= MAX_PENDING_CLAIMS:
            job.uncoverable = True
        elif claim not in job.claims:
            job.claims.append(claim)
        if job.last_arrival is None or now > job.last_arrival:
            job.last_arrival = now
        if job.pending_since is not None:
            return HintVerdict.COALESCED
        job.pending_since = now
        return HintVerdict.DUE if self._due_at(job) <= now else HintVerdict.DEFERRED

    def next_due(self, *, busy: Container[str] = ()) -> float | None:
        """When the next describe is due (maybe in the past), or ``None``.

        Jobs in *busy* (a describe of theirs in flight) are left out: the
        answer may show what their hints claim.
        """
        return min(
            (
                self._due_at(job)
                for name, job in self._pending.items()
                if name not in busy
            ),
            default=None,
        )

    def take_due(self, now: float, *, busy: Container[str] = ()) -> tuple[str, ...]:
        """The jobs to describe now, counted as described at *now*.

        Jobs in *busy* stay pending: a describe of theirs in flight was sent
        before their hint arrived, so only its snapshot can cover the hint.
        """
        due = tuple(
            name
            for name, job in self._pending.items()
            if name not in busy and self._due_at(job) <= now
        )
        for name in due:
            self._sent(name, self._jobs[name], now)
        self._describes += len(due)
        return due

    def described(self, job_name: str, *, at: float) -> None:
        """Note a describe of *job_name* sent at *at* for another reason."""
        self._sent(job_name, self._jobs.setdefault(job_name, _JobHints()), at)

    def observed(self, job_name: str, snapshot: Seen) -> None:
        """Note a snapshot of *job_name*: older hints are stale from now on."""
        if snapshot.last_modified_time is None:
            return
        job = self._jobs.setdefault(job_name, _JobHints())
        seen = _Claim(
            modified_at=_to_millisecond(snapshot.last_modified_time),
            primary_status=snapshot.primary_status,
            secondary_status=snapshot.secondary_status,
        )
        if job.seen is None or seen.modified_at >= job.seen.modified_at:
            job.seen = seen
        job.claims = [claim for claim in job.claims if not _shows(seen, claim)]
        if job.pending_since is not None and not job.claims and not job.uncoverable:
            job.pending_since = job.last_arrival = None
            del self._pending[job_name]

    def pending(self, job_name: str) -> bool:
        """Whether a hint about *job_name* waits for a describe."""
        return job_name in self._pending

    def pending_jobs(self) -> Container[str]:
        """The jobs a hint waits on (a read-only view, not a copy)."""
        return self._pending.keys()

    def forget(self, job_name: str) -> None:
        """Drop what is known of *job_name* (no longer watched)."""
        self._jobs.pop(job_name, None)
        self._pending.pop(job_name, None)

    def statistics(self) -> CoalescerStatistics:
        """Return the counts so far."""
        return CoalescerStatistics(
            due=self._counts[HintVerdict.DUE],
            deferred=self._counts[HintVerdict.DEFERRED],
            coalesced=self._counts[HintVerdict.COALESCED],
            stale=self._counts[HintVerdict.STALE],
            describes=self._describes,
            pending=len(self._pending),
        )

    def _due_at(self, job: _JobHints) -> float:
        since = job.pending_since if job.pending_since is not None else math.inf
        if job.described_at is None:
            return since
        return max(since, job.described_at + self.window)

    def _sent(self, job_name: str, job: _JobHints, at: float) -> None:
        if job.described_at is None or at > job.described_at:
            job.described_at = at
        if job.last_arrival is not None and job.last_arrival <= at:
            job.pending_since = job.last_arrival = None
            job.claims = []
            job.uncoverable = False
            self._pending.pop(job_name, None)


def _to_millisecond(moment: dt.datetime) -> dt.datetime:
    """Round to the millisecond, the service's precision.

    A snapshot's time went through a float of epoch seconds and an event's
    through epoch milliseconds: the same instant may differ by a microsecond.
    """
    milliseconds = round(moment.microsecond / 1000) * 1000
    try:
        return moment.replace(microsecond=0) + dt.timedelta(microseconds=milliseconds)
    except OverflowError:  # the last millisecond of year 9999
        return moment


def _shows(seen: _Claim, claim: _Claim) -> bool:
    """Whether a snapshot (*seen*) already shows what a hint (*claim*) says.

    The same rule as ``sweeps.covers``: a later hint is news; one as old is
    news only if its statuses differ (a missing secondary status agrees).
    """
    if claim.modified_at > seen.modified_at:
        return False
    return seen.modified_at > claim.modified_at or (
        claim.primary_status == seen.primary_status
        and claim.secondary_status in {None, seen.secondary_status}
    )
