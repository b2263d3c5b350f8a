"""The resume cursor: how much of a job's history was reported, and its token.

The diff (``diff.py``) decides which events lie between two observations; this
module holds the watermark it advances after each event (``ResumeCursor``), the
keys it tells history entries apart by, and the versioned token format a cursor
is written to and read from (an event's ``resume_token``). Digests, not text:
a token never carries a job's ARN, status message or progress (pure).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, TypeAlias

from .._errors import InvalidResumeToken
from .snapshot import _iso
from .status import PrimaryStatus, SecondaryStatus

if TYPE_CHECKING:
    from .snapshot import Progress, Snapshot, Transition

#: What tells two history entries apart: the status and when it started.
HistoryKey: TypeAlias = "tuple[SecondaryStatus, dt.datetime]"

_VERSION: Final = "2"
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
    r"(?:1|2\.(?P<name>[A-Za-z0-9_-]{4}))"
    rf"\.(?P<created>-?[0-9a-z]{{1,14}})\.(?P<arn>{_DIGEST})"
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
    made from a snapshot (no ARN or message text, nor the history entries that were
    reported), which only shows in ``StatusMessageChanged.previous_message`` being
    ``None`` after a resume, and in the first poll after a resume not being able
    to tell a rewritten history from a grown one.

    A cursor from a snapshot or a diff also remembers, outside its token and its
    equality, which history entries (status and start time) were reported and
    the history last seen: that is how the diff tells a history that was
    rewritten, reordered or shrank from one that grew, and reports each entry
    exactly once.

    Token format (version 2), fields joined by ``.``, all URL-safe, usually about
    50 and at most 64 characters::

        2.<name>.<created>.<arn>.<count>.<message>.<primary>.<progress>.<ended>

    ``name`` is a 4-character BLAKE2b digest of the job name in URL-safe base 64,
    so a token given for another job is refused (a mistake check, not security);
    ``created`` is the creation time in microseconds since the epoch in base 36;
    ``arn``, ``message`` and ``progress`` are 8-character BLAKE2b digests in
    URL-safe base 64 (empty for no message or no progress); ``count`` is the
    number of transitions reported, in base 36; ``primary`` is a one-letter code
    for a known primary status, ``~Value`` for a short unknown one, ``!digest``
    otherwise; ``ended`` is ``1`` once the terminal event was emitted. The format
    is versioned, not a stable interface: treat tokens as opaque. Version-1
    tokens (the same without ``name``) are still read; they cannot be checked
    against the job name.
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
    name_digest: str = ""
    reported: tuple[tuple[SecondaryStatus, dt.datetime], ...] | None = field(
        default=None, compare=False
    )
    seen: tuple[tuple[SecondaryStatus, dt.datetime], ...] | None = field(
        default=None, compare=False
    )
    last_key: tuple[SecondaryStatus, dt.datetime] | None = field(
        default=None, compare=False
    )

    def __repr__(self) -> str:
        """Return a short description: the job name (if known) and the token."""
        return f"ResumeCursor(job_name={self.job_name!r}, token={self.to_token()!r})"

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot) -> ResumeCursor:
        """Return the watermark after every event *snapshot* holds was reported."""
        last = snapshot.transitions[-1].message if snapshot.transitions else None
        keys = history_keys(snapshot)
        return cls(
            job_name=snapshot.job_name,
            name_digest=job_name_digest(snapshot.job_name),
            job_arn=snapshot.job_arn,
            arn_digest=digest(snapshot.job_arn),
            creation_time=snapshot.creation_time,
            transitions=len(snapshot.transitions),
            message_digest=message_digest(last),
            last_message=last,
            primary_status=snapshot.primary_status,
            primary_digest=digest(str(snapshot.primary_status)),
            progress_digest=progress_digest(snapshot.progress),
            ended=snapshot.is_terminal,
            reported=keys,
            seen=keys,
            last_key=keys[-1] if keys else None,
        )

    @classmethod
    def from_token(cls, token: str, *, job_name: str | None = None) -> ResumeCursor:
        """Read an event's ``resume_token``.

        Args:
            token: the token.
            job_name: the job it is meant for; if given, a token written for
                another job is refused (version-1 tokens cannot be checked).

        Raises:
            InvalidResumeToken: if *token* is not a token this version wrote,
                or was written for a job other than *job_name*.
        """
        match = _TOKEN.fullmatch(token) if isinstance(token, str) else None
        if match is None:
            msg = "not a sagemaker-watch resume token (or from another version)"
            raise InvalidResumeToken(msg)
        name_digest = match["name"] or ""
        if job_name is not None:
            if name_digest and name_digest != job_name_digest(job_name):
                msg = f"resume token is for another job, not {job_name!r}"
                raise InvalidResumeToken(msg)
            name_digest = job_name_digest(job_name)
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
            job_name=job_name,
            name_digest=name_digest,
            job_arn=None,
            arn_digest=match["arn"],
            creation_time=created,
            transitions=int(match["transitions"], 36),
            message_digest=match["message"],
            last_message=None,
            primary_status=primary,
            primary_digest=(
                primary_code[1:] if primary is None else digest(str(primary))
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
        version = (_VERSION, self.name_digest) if self.name_digest else ("1",)
        return ".".join(
            (
                *version,
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


class _KeysOfLastHistory:
    """``history_keys``, kept for the history seen last.

    The snapshot parser hands an unchanged history back as the same tuple, so a
    poll that changed nothing builds no keys (one entry: a fleet's jobs in turn
    just miss).
    """

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last: tuple[tuple[Transition, ...], tuple[HistoryKey, ...]] = ((), ())

    def __call__(self, snapshot: Snapshot) -> tuple[HistoryKey, ...]:
        transitions = snapshot.transitions
        seen, keys = self.last  # one read: another thread may replace it
        if transitions is seen:
            return keys
        keys = tuple((t.status, t.started_at) for t in transitions)
        self.last = (transitions, keys)
        return keys


history_keys: Final = _KeysOfLastHistory()


@functools.lru_cache(maxsize=4096)
def digest(text: str) -> str:
    """*text* as an 8-character BLAKE2b digest in URL-safe base 64."""
    # surrogatepass: a lone surrogate is valid JSON, so it can reach us.
    raw = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=6)
    return base64.urlsafe_b64encode(raw.digest()).decode()


@functools.lru_cache(maxsize=4096)
def job_name_digest(job_name: str) -> str:
    """The 4-character digest a version-2 token carries of the job's name."""
    raw = hashlib.blake2b(job_name.encode("utf-8", "surrogatepass"), digest_size=3)
    return base64.urlsafe_b64encode(raw.digest()).decode()


def message_digest(message: str | None) -> str:
    """A status message's digest; empty for no message."""
    return "" if message is None else digest(message)


def progress_digest(progress: Progress | None) -> str:
    """The digest of ``ProgressInfo``'s four numbers; empty for no progress."""
    if progress is None:
        return ""
    return digest(
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
