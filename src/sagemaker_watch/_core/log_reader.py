"""Training logs: which stream to read next, and every line once, in order.

Pure, like ``hints`` and ``planner``: no I/O, no clock object, no anyio,
aiobotocore or structlog; the driver passes ``now`` (monotonic seconds) in, makes
the calls ``LogReader`` asks for and hands their answers back.

SageMaker's training containers log to CloudWatch Logs, group
``/aws/sagemaker/TrainingJobs``, one stream per host and container start named
``JOB/algo-N-EPOCH`` (EPOCH: the start's Unix seconds), so a restart after a
spot interruption or a retry opens new streams (the group and the ``JOB/``
prefix are what the SageMaker Python SDK's ``logs_for_job`` reads). The reader
lists them (DescribeLogStreams, prefix ``JOB/``) for the job's whole life, less
and less often while none appears, and keeps the list.

Each stream is read with GetLogEvents (``startFromHead``) by forward token. An
answer holds at most 10,000 events or 1 MB, and at the end of a stream the
service gives back the token it was sent (GetLogEvents in the CloudWatch Logs
API Reference:
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogEvents.html),
so a full page is followed at once, and so is an empty page whose token moved
(it may still hide more events), ``MAX_GAPS`` times in a row at most.
A stream with lines is read every ``active`` seconds, a quiet one less and less
often up to every ``idle`` seconds. A token that expired (after 24 hours) or was
refused is replaced by a read by start time from the last millisecond the
stream's reads reached.

Exactly once: a line is known by its timestamp, ingestion time and message and
by how many equal lines came before it at that millisecond in the stream (its
occurrence), counted along each chain of reads; two equal lines at one
millisecond are two lines, and a re-read that overlaps what was read (a restart
by start time, an answer given twice) delivers nothing twice. Lines are held for
``window`` seconds after they are read and released merged across streams by
(timestamp, stream, arrival): two lines read within the window of each other
come out in timestamp order; a line read later than that behind one already
released still comes out, late but once.

The drain: when the job ends every stream is read at once, until it has come
back empty ``DRAIN_EMPTY`` times in a row, ``active`` seconds apart; one more
listing must run (a last restart may have opened streams). A line ingested late
with a timestamp before a token's position is never returned to that token
(only a read by start time finds it), so each stream is then re-read once from
its head (or from where a resumed reader began), deduplicated, up to its end:
such lines are delivered late but once. The price is one more pass over each
stream at the end (a page per 10,000 lines), and a line ingested later than that
pass is missed: ``drain=`` holds the pass back that many seconds after the end
(a container's agent sends its last batch when the container stops, so the
default is 0).

The resume token holds, per known stream, the millisecond its delivered lines
reached and digests of those delivered at and after it (not their text), so a
reader made from it re-reads each stream by start time from there and delivers
only what followed. What the token cannot know: a line ingested late behind that
millisecond before the resume, and not yet read, is not delivered by the new
reader. A driver that takes lines in batches and hands them out one at a time
asks ``resume_token_before(queued)``. Memory: one digest per line read, per
stream, for the job's life.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import heapq
import json
import math
import re
from typing import TYPE_CHECKING, ClassVar, Final, NamedTuple, TypeAlias

from .._errors import InvalidResumeToken
from .cursor import job_name_digest
from .snapshot import _iso

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

#: A host's stream read empty this many times in a row or fewer is still read
#: within the window when another host of its container start has lines.
PULL_QUIET: Final = 2
#: Empty reads in a row, ``active`` seconds apart, that end a stream's drain.
DRAIN_EMPTY: Final = 2
#: GetLogEvents' largest page, in events (its ``limit``'s maximum).
MAX_PAGE_EVENTS: Final = 10_000
#: A page whose events come to this many bytes is full: GetLogEvents answers at
#: most 1 MB, counting each event as its message's UTF-8 bytes plus 26, and an
#: event may be up to 256 KB, so a page can stop this far short of 1 MB.
FULL_PAGE_BYTES: Final = 1_048_576 - 262_144
#: Empty pages with a new token read at once in a row, before backing off.
MAX_GAPS: Final = 3

_EVENT_OVERHEAD: Final = 26
_TOKEN_VERSION: Final = 1
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MILLISECOND: Final = dt.timedelta(milliseconds=1)
_LATEST: Final = dt.datetime.max.replace(tzinfo=dt.UTC)
_EARLIEST: Final = dt.datetime.min.replace(tzinfo=dt.UTC)
_HOST: Final = re.compile(r"(?P<host>.+)-[0-9]{9,}")
_DIGEST_MAX: Final = 2**64

#: A line's identity in its stream, but for its occurrence: (timestamp, digest).
_Key: TypeAlias = "tuple[int, int]"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LogLine:
    """One line a training job's container wrote, as CloudWatch Logs holds it.

    Attributes:
        job_name: the training job's name.
        stream: the log stream, like ``"my-job/algo-1-1700000000"``.
        host: the host that wrote it, like ``"algo-1"``: the stream's name
            after ``JOB/`` without the container start's epoch.
        timestamp: the line's own time (UTC, to the millisecond).
        ingested_at: when CloudWatch Logs received it (UTC).
        message: the line as written; it may hold secrets and control
            characters, so print it with care.
    """

    #: The stable name of a line in JSON (``"event"`` key).
    kind: ClassVar[str] = "log_line"

    job_name: str
    stream: str
    host: str
    timestamp: dt.datetime
    ingested_at: dt.datetime
    message: str

    def to_json(self) -> dict[str, object]:
        """Return the line as a flat JSON object.

        Keys, in order: ``"event"`` (``"log_line"``), ``"job_name"``,
        ``"stream"``, ``"host"``, ``"timestamp"``, ``"ingested_at"`` (ISO 8601
        UTC, like events' ``"at"``: ``"2023-11-14T22:13:20.123000Z"``) and
        ``"message"``. These keys are a public contract.
        """
        return {
            "event": self.kind,
            "job_name": self.job_name,
            "stream": self.stream,
            "host": self.host,
            "timestamp": _iso(self.timestamp),
            "ingested_at": _iso(self.ingested_at),
            "message": self.message,
        }


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RawLogEvent:
    """One event of a GetLogEvents answer, as the source parsed it."""

    #: The line's time, epoch milliseconds.
    timestamp: int
    #: When CloudWatch Logs received it, epoch milliseconds.
    ingestion_time: int
    #: The line as written.
    message: str = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StreamRead:
    """The next GetLogEvents call for one stream (always ``startFromHead``)."""

    #: The stream's name.
    stream: str
    #: The forward token to pass as ``nextToken``; ``None``: read by start time.
    token: str | None
    #: Epoch milliseconds for ``startTime`` when there is no token; ``None``:
    #: from the stream's head.
    start_time: int | None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class LogReaderStatistics:
    """What a ``LogReader`` did so far."""

    #: Streams known.
    streams: int
    #: Lines released by ``take``.
    lines: int
    #: Lines read again and dropped (overlapping reads, answers given twice).
    duplicates: int
    #: Reads restarted by start time after a token was refused or missing.
    token_restarts: int
    #: Answers handed to ``read``.
    reads: int
    #: Answers that found a stream's end (no events, the same token back).
    empty_reads: int
    #: Listings handed to ``streams_listed``.
    listings: int


class _Stage:
    """Where a stream is in its life (plain ints: compared often)."""

    FOLLOWING: Final = 0  # the job runs
    DRAINING: Final = 1  # the job ended: read to the end, DRAIN_EMPTY times
    REREADING: Final = 2  # the pass from the head for lines ingested late
    DONE: Final = 3


@dataclasses.dataclass(slots=True, kw_only=True)
class _Stream:
    """One stream's cursor, schedule and what was read of it."""

    name: str
    host: str
    request: StreamRead
    due: float
    stage: int = _Stage.FOLLOWING
    #: The timestamp the current chain of reads reached, and the occurrences
    #: it counted there, per key.
    position: int | None = None
    chain: dict[_Key, int] = dataclasses.field(default_factory=dict)
    #: Where the current chain began (its read by start time; None: the head).
    origin: int | None = None
    #: Lines before this timestamp were delivered before a resume.
    floor: int | None = None
    #: Occurrences read (buffered or delivered), per key.
    seen: dict[_Key, int] = dataclasses.field(default_factory=dict)
    #: Lines buffered, per key.
    buffered: dict[_Key, int] = dataclasses.field(default_factory=dict)
    #: The latest timestamp delivered, and the lines delivered at it per digest.
    delivered_max: int | None = None
    at_max: dict[int, int] = dataclasses.field(default_factory=dict)
    quiet: int = 0  # empty reads in a row
    misses: int = 0  # failed reads or stream not found, in a row
    gaps: int = 0  # empty pages with a new token, in a row
    empties: int = 0  # drain: empty reads in a row, `active` apart
    last_empty: float = -math.inf
    #: The container start the stream belongs to (its name's last part).
    epoch: str = ""


class _Held(NamedTuple):
    """A buffered line, ordered for release.

    ``arrival`` is unique: a comparison stops there, before the other fields.
    """

    timestamp: int
    stream: str
    arrival: int
    read_at: float
    key: _Key
    line: LogLine


class LogReader:
    """One training job's log: what to list and read next, and each line once.

    Sans-I/O: the driver asks ``listing_due()`` and ``next_read()`` when to
    call DescribeLogStreams and GetLogEvents, makes the call, and reports the
    answer (``streams_listed``, ``read``) or the failure (``listing_failed``,
    ``read_failed``, ``token_rejected``, ``stream_missing``); it reports the
    job's secondary status changes (``status_changed``) and its end
    (``job_ended``), takes lines with ``take`` when ``next_release()`` comes,
    and stops when ``finished()``. One read per stream at a time: an answer to a
    request that is no longer the stream's next is dropped (its lines are read
    again by the current one).
    """

    def __init__(
        self,
        job_name: str,
        *,
        window: float = 2.0,
        active: float = 5.0,
        idle: float = 60.0,
        rediscover: tuple[float, float] = (10.0, 300.0),
        resume: str | None = None,
        limit: int = MAX_PAGE_EVENTS,
        drain: float = 0.0,
    ) -> None:
        """Start reading *job_name*'s log, or resume after a ``resume_token``.

        Args:
            job_name: the training job.
            window: seconds a line is held after it is read, so that lines of
                other streams read meanwhile are merged before it.
            active: seconds between reads of a stream that had lines, and
                between the drain's empty reads.
            idle: the longest interval between reads of a quiet stream.
            rediscover: the shortest and longest interval between listings.
            resume: a ``resume_token`` of a reader of the same job: deliver only
                the lines after those it had delivered.
            limit: the ``limit`` GetLogEvents is called with: a page of this
                many events is full, and the next is read at once.
            drain: the least seconds from the job's end to the pass that
                finds lines ingested late (0: as soon as every stream came
                back empty ``DRAIN_EMPTY`` times): a line ingested later than
                that behind a token's position is missed.

        Raises:
            ValueError: a timing is negative, not finite, or out of order.
            InvalidResumeToken: *resume* is not a log reader's token, or
                belongs to another job.
        """
        low, high = rediscover
        if not (
            0.0 <= window < math.inf
            and 0.0 < active <= idle < math.inf
            and 0.0 < low <= high < math.inf
            and 0.0 <= drain < math.inf
            and limit >= 1
        ):
            msg = (
                "LogReader needs 0 <= window, 0 < active <= idle, "
                "0 < rediscover[0] <= rediscover[1], 0 <= drain, all finite, "
                "and limit >= 1"
            )
            raise ValueError(msg)
        self._job_name = job_name
        self._prefix = f"{job_name}/"
        self._window = window
        self._active = active
        self._idle = idle
        self._rediscover = (low, high)
        self._limit = limit
        self._drain = drain
        self._ended_at = math.inf
        self._end_told = math.inf
        self._cut: int | None = None
        self._streams: dict[str, _Stream] = {}
        self._held: list[_Held] = []
        self._arrivals = 0
        self._listing_due = -math.inf
        self._listing_next = low
        self._ended = False
        self._listed_since_end = False
        self._lines = 0
        self._duplicates = 0
        self._token_restarts = 0
        self._reads = 0
        self._empty_reads = 0
        self._listings = 0
        if resume is not None:
            self._resume(resume)

    def __repr__(self) -> str:
        """Return a short description: the job, its streams and lines held."""
        return (
            f"LogReader(job_name={self._job_name!r}, streams={len(self._streams)}, "
            f"held={len(self._held)})"
        )

    # --- discovery ---------------------------------------------------------

    def listing_due(self) -> float:
        """Return when the next listing (DescribeLogStreams) is due."""
        return self._listing_due

    def streams_listed(
        self, names: Sequence[str], *, now: float, sent: float | None = None
    ) -> None:
        """Take a listing's stream names (all pages): new ones are read at once.

        Streams already known are kept even when a listing leaves them out;
        names of another job (not ``JOB/...``) are ignored. The next listing
        comes ``rediscover[0]`` seconds after one that found a new stream, and
        twice as late as the last each time nothing new appears, up to
        ``rediscover[1]``. *sent*: when the listing's first request went out
        (default *now*): one sent before ``job_ended`` was told may have missed
        a stream opened at the end, so the end's own listing is still due.
        """
        self._listings += 1
        if self._ended and (now if sent is None else sent) >= self._end_told:
            self._listed_since_end = True
        found = False
        for name in names:
            if name.startswith(self._prefix) and name not in self._streams:
                self._add(name, due=now)
                found = True
        low, high = self._rediscover
        if self._ended and not self._listed_since_end:
            self._listing_due = now
        elif found:
            self._listing_due = now + low
            self._listing_next = min(high, 2 * low)
        else:
            self._listing_due = now + self._listing_next
            self._listing_next = min(high, 2 * self._listing_next)

    def listing_failed(self, *, now: float) -> None:
        """A listing failed: try again later, with the same backoff."""
        self._listing_due = now + self._listing_next
        self._listing_next = min(self._rediscover[1], 2 * self._listing_next)

    def status_changed(self, *, now: float) -> None:
        """The job changed secondary status (a restart may open streams): list now."""
        self._listing_due = now
        self._listing_next = self._rediscover[0]

    # --- reading -----------------------------------------------------------

    def next_read(self) -> tuple[float, StreamRead] | None:
        """Return the earliest due read and when it is due.

        ``None`` when no stream is known, or every stream is drained.
        """
        best: _Stream | None = None
        for stream in self._streams.values():
            if stream.stage != _Stage.DONE and (
                best is None or (stream.due, stream.name) < (best.due, best.name)
            ):
                best = stream
        return None if best is None else (best.due, best.request)

    def read(
        self,
        request: StreamRead,
        events: Sequence[RawLogEvent],
        next_token: str | None,
        *,
        now: float,
    ) -> None:
        """Take a stream's answer: buffer its new lines, schedule the next read.

        Lines read before are dropped, as a multiset: two equal lines at one
        millisecond stay two lines. The next read is due at once after a full
        page (``limit`` events or near 1 MB) or an empty page whose token moved,
        ``active`` seconds after a page with lines, and twice as late each time
        a read finds the stream's end, up to ``idle`` seconds.

        Args:
            request: the request answered, as ``next_read`` gave it.
            events: the answer's events, in order.
            next_token: the answer's ``nextForwardToken``.
            now: the monotonic time the answer came.
        """
        self._reads += 1
        stream = self._streams.get(request.stream)
        if stream is None or stream.stage == _Stage.DONE or request != stream.request:
            self._duplicates += len(events)
            return
        if request.token is None:
            self._new_chain(stream, request.start_time)
        arrivals = self._arrivals
        for event in events:
            self._take_in(stream, event, now)
        fresh = self._arrivals > arrivals
        stream.misses = 0
        if next_token is None:
            # Nothing to continue with: go on by start time from where we are.
            if events:
                self._token_restarts += 1
            stream.request = self._restart(stream)
        else:
            stream.request = StreamRead(
                stream=stream.name, token=next_token, start_time=None
            )
        moved = next_token != request.token
        if (
            self._cut is not None
            and stream.stage in {_Stage.DRAINING, _Stage.REREADING}
            and any(event.timestamp >= self._cut for event in events)
        ):
            stream.stage = _Stage.DONE  # past the cut: the lines so far are in
        elif fresh or (events and moved and _full(events, self._limit)):
            self._had_lines(stream, events, moved=moved, now=now)
        elif next_token is not None and moved:
            # Nothing new, but the token moved (an empty page before more
            # lines, or lines read before, as after a read by time): go on
            # with it at once, a few times in a row at most.
            stream.gaps += 1
            stream.due = now if stream.gaps <= MAX_GAPS else now + self._quiet(stream)
        else:
            self._at_end(stream, now)

    def read_failed(self, request: StreamRead, *, now: float) -> None:
        """A transient failure: read that stream again later, backing off."""
        stream = self._current(request)
        if stream is not None:
            stream.misses += 1
            stream.due = now + self._backoff(stream.misses - 1)

    def token_rejected(self, request: StreamRead, *, now: float) -> None:
        """The token expired or was refused: read on by start time, at once.

        The read starts at the last millisecond the stream's reads reached;
        what was read there already is skipped: nothing lost, nothing twice.
        """
        stream = self._current(request)
        if stream is not None:
            self._token_restarts += 1
            stream.request = self._restart(stream)
            stream.due = now

    def stream_missing(self, request: StreamRead, *, now: float) -> None:
        """The stream was not found (not created yet, or gone): try later.

        In the drain a missing stream counts as one found empty.
        """
        stream = self._current(request)
        if stream is None:
            return
        if stream.stage == _Stage.FOLLOWING:
            stream.misses += 1
            stream.due = now + self._backoff(stream.misses - 1)
        else:
            self._at_end(stream, now)

    # --- the end -----------------------------------------------------------

    def job_ended(
        self, *, now: float, ended_ago: float = 0.0, cut: int | None = None
    ) -> None:
        """The job reached a terminal status: list once more and drain every stream.

        *ended_ago*: how long before *now* the job ended (its end time as the
        service gives it, against when the answer came). A job that ended
        longer ago than ``drain`` (and the drain's pace) has all its lines in:
        one empty read per stream then ends its drain.

        *cut*: epoch milliseconds, for the lines so far of a job that runs on
        (``follow=False``): a stream is done once a read shows a line stamped
        at or after it, as a stream still written may never come back empty.
        """
        if cut is not None:
            self._cut = cut if self._cut is None else min(self._cut, cut)
        if not self._ended:
            self._end_told = now
        self._ended = True
        self._ended_at = min(self._ended_at, now - max(0.0, ended_ago))
        self._listed_since_end = False
        self._listing_due = now
        self._listing_next = self._rediscover[0]
        for stream in self._streams.values():
            if stream.stage == _Stage.FOLLOWING:
                self._start_drain(stream, now)

    def finished(self) -> bool:
        """Whether the job ended, was listed since, all drained and taken."""
        return (
            self._ended
            and self._listed_since_end
            and not self._held
            and all(s.stage == _Stage.DONE for s in self._streams.values())
        )

    # --- output ------------------------------------------------------------

    def take(self, *, now: float, flush: bool = False) -> list[LogLine]:
        """Return the lines whose hold has passed, merged in timestamp order.

        Lines go out in (timestamp, stream, arrival) order, each once its
        ``window`` since it was read has passed and every line before it in
        that order has gone; *flush* releases them all (at the end or on close).
        """
        released: list[LogLine] = []
        held = self._held
        while held and (flush or held[0].read_at + self._window <= now):
            item = heapq.heappop(held)
            self._delivered(item)
            released.append(item.line)
        return released

    def next_release(self) -> float | None:
        """Return when the next buffered line may go, or ``None`` if none is held."""
        return self._held[0].read_at + self._window if self._held else None

    @property
    def resume_token(self) -> str:
        """The state after the lines taken so far, as an opaque string.

        A reader made with it (``resume=``) reads each known stream by start
        time from the millisecond its delivered lines reached (or from an
        earlier line still held) and skips the lines delivered from there.
        Versioned: URL-safe base 64 of compact JSON holding a digest of the job
        name and, per stream, its name, that millisecond and digests of those
        lines (never their text).
        """
        return self.resume_token_before(())

    def resume_token_before(self, pending: Iterable[LogLine]) -> str:
        """The ``resume_token`` as if *pending* had not been taken yet.

        For a driver that takes lines in batches and hands them out one by
        one: *pending* are the lines taken from this reader and not handed out
        yet; a reader made with the token delivers them again.
        """
        queued: dict[str, dict[_Key, int]] = {}
        for line in pending:
            stream = self._streams.get(line.stream)
            key = _line_key(line)
            if stream is not None and key in stream.seen:  # else not from here
                counts = queued.setdefault(line.stream, {})
                counts[key] = counts.get(key, 0) + 1
        streams: list[list[object]] = []
        for name in sorted(self._streams):
            stream = self._streams[name]
            waiting = queued.get(name, {})
            start = stream.delivered_max
            held = [ts for ts, _ in stream.buffered] + [ts for ts, _ in waiting]
            if start is not None and held and min(held) <= start:
                start = min(held)
            entries: list[list[int]] = []
            if start is not None and start == stream.delivered_max and not waiting:
                entries = [
                    [0, digest, count] for digest, count in stream.at_max.items()
                ]
            elif start is not None:
                for key, count in stream.seen.items():
                    left = count - stream.buffered.get(key, 0) - waiting.get(key, 0)
                    if key[0] >= start and left > 0:
                        entries.append([key[0] - start, key[1], left])
            streams.append([name, start, sorted(entries)])
        body = {"v": _TOKEN_VERSION, "j": job_name_digest(self._job_name), "s": streams}
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        raw = text.encode("utf-8", "surrogatepass")
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    def statistics(self) -> LogReaderStatistics:
        """Return what the reader did so far."""
        return LogReaderStatistics(
            streams=len(self._streams),
            lines=self._lines,
            duplicates=self._duplicates,
            token_restarts=self._token_restarts,
            reads=self._reads,
            empty_reads=self._empty_reads,
            listings=self._listings,
        )

    # --- inside ------------------------------------------------------------

    def _add(self, name: str, *, due: float) -> _Stream:
        rest = name.removeprefix(self._prefix)
        match = _HOST.fullmatch(rest)
        stream = _Stream(
            name=name,
            host=match["host"] if match else rest,
            request=StreamRead(stream=name, token=None, start_time=None),
            due=due,
            epoch=rest.rpartition("-")[2] if match else rest,
        )
        self._streams[name] = stream
        if self._ended:
            self._start_drain(stream, due)
        return stream

    def _current(self, request: StreamRead) -> _Stream | None:
        """The stream *request* is the next read of, or ``None`` (stale)."""
        stream = self._streams.get(request.stream)
        if stream is None or stream.stage == _Stage.DONE or request != stream.request:
            return None
        return stream

    def _restart(self, stream: _Stream) -> StreamRead:
        """A read by start time from where the stream's current chain reached."""
        start = stream.origin if stream.position is None else stream.position
        self._new_chain(stream, start)
        return StreamRead(stream=stream.name, token=None, start_time=start)

    @staticmethod
    def _new_chain(stream: _Stream, start: int | None) -> None:
        stream.position, stream.chain, stream.origin = None, {}, start

    def _take_in(self, stream: _Stream, event: RawLogEvent, now: float) -> None:
        """Count *event* along the stream's chain; buffer it if it is new."""
        timestamp = event.timestamp
        key = (timestamp, _digest(event.ingestion_time, event.message))
        if timestamp != stream.position:
            stream.position, stream.chain = timestamp, {}
        occurrence = stream.chain.get(key, 0)
        stream.chain[key] = occurrence + 1
        if (
            stream.floor is not None and timestamp < stream.floor
        ) or occurrence < stream.seen.get(key, 0):
            self._duplicates += 1
            return
        stream.seen[key] = occurrence + 1
        stream.buffered[key] = stream.buffered.get(key, 0) + 1
        line = LogLine(
            job_name=self._job_name,
            stream=stream.name,
            host=stream.host,
            timestamp=_datetime(timestamp),
            ingested_at=_datetime(event.ingestion_time),
            message=event.message,
        )
        self._arrivals += 1
        heapq.heappush(
            self._held,
            _Held(
                timestamp=timestamp,
                stream=stream.name,
                arrival=self._arrivals,
                read_at=now,
                key=key,
                line=line,
            ),
        )

    def _had_lines(
        self, stream: _Stream, events: Sequence[RawLogEvent], *, moved: bool, now: float
    ) -> None:
        stream.gaps = stream.quiet = 0
        # The other hosts of the same container start that had lines lately
        # are read within the window too (one in a short backoff would be
        # read late, and its lines of the same moments handed out after
        # these): the merge holds. Hosts long quiet keep their backoff.
        pull = now + self._window / 2
        for other in self._streams.values():
            if (
                other is not stream
                and other.epoch == stream.epoch
                and other.stage != _Stage.DONE
                and other.due > pull
                and other.quiet <= PULL_QUIET
                and not other.misses
            ):
                other.due = pull
        if stream.stage == _Stage.DRAINING:
            stream.empties = 0
        if moved and (_full(events, self._limit) or stream.stage == _Stage.REREADING):
            stream.due = now
        else:
            stream.due = now + self._active

    def _at_end(self, stream: _Stream, now: float) -> None:
        """The stream came back empty with the same token: its end, for now."""
        self._empty_reads += 1
        stream.gaps = 0
        if stream.stage == _Stage.FOLLOWING:
            stream.quiet += 1
            stream.due = now + self._quiet(stream)
        elif stream.stage == _Stage.DRAINING:
            if now >= stream.last_empty + self._active or not stream.empties:
                stream.empties += 1
                stream.last_empty = now
            late_pass = self._ended_at + self._drain
            settled = now >= self._ended_at + max(
                self._drain, self._active * DRAIN_EMPTY
            )
            needed = 1 if settled else DRAIN_EMPTY
            if stream.empties >= needed and now >= late_pass:
                stream.stage = _Stage.REREADING
                stream.request = StreamRead(
                    stream=stream.name, token=None, start_time=stream.floor
                )
                self._new_chain(stream, stream.floor)
                stream.due = now
            elif stream.empties >= needed:
                stream.due = min(late_pass, now + self._idle)
            else:
                stream.due = stream.last_empty + self._active
        else:
            stream.stage = _Stage.DONE

    def _start_drain(self, stream: _Stream, now: float) -> None:
        stream.stage = _Stage.DRAINING
        stream.empties = 0
        stream.last_empty = -math.inf
        stream.due = now

    def _quiet(self, stream: _Stream) -> float:
        return self._backoff(stream.quiet)

    def _backoff(self, doublings: int) -> float:
        return min(self._idle, self._active * 2.0 ** min(doublings, 64))

    def _delivered(self, item: _Held) -> None:
        self._lines += 1
        stream = self._streams[item.stream]
        left = stream.buffered[item.key] - 1
        if left:
            stream.buffered[item.key] = left
        else:
            del stream.buffered[item.key]
        timestamp, digest = item.key
        if stream.delivered_max is None or timestamp > stream.delivered_max:
            stream.delivered_max = timestamp
            stream.at_max = {digest: 1}
        elif timestamp == stream.delivered_max:
            stream.at_max[digest] = stream.at_max.get(digest, 0) + 1

    def _resume(self, token: str) -> None:
        streams = _read_token(token, self._job_name)
        for name, start, entries in streams:
            stream = self._add(name, due=-math.inf)
            if start is None:
                continue
            stream.floor = stream.origin = start
            stream.request = StreamRead(stream=name, token=None, start_time=start)
            latest = start
            for offset, digest, count in entries:
                stream.seen[start + offset, digest] = count
                latest = max(latest, start + offset)
            stream.delivered_max = latest
            stream.at_max = {
                digest: count
                for offset, digest, count in entries
                if start + offset == latest
            }


def _digest(ingestion_time: int, message: str) -> int:
    """A line's 64-bit digest (with its timestamp, what tells lines apart)."""
    text = f"{ingestion_time}\n{message}".encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def _line_key(line: LogLine) -> _Key:
    """The key a delivered line was read under."""
    timestamp = (line.timestamp - _EPOCH) // _MILLISECOND
    ingestion_time = (line.ingested_at - _EPOCH) // _MILLISECOND
    return (timestamp, _digest(ingestion_time, line.message))


def _full(events: Sequence[RawLogEvent], limit: int) -> bool:
    """Whether a page is as large as GetLogEvents makes them (more may follow)."""
    return len(events) >= limit or _page_bytes(events) >= FULL_PAGE_BYTES


def _page_bytes(events: Sequence[RawLogEvent]) -> int:
    """A page's size as GetLogEvents counts it (characters stand in for bytes)."""
    return sum(len(event.message) + _EVENT_OVERHEAD for event in events)


def _datetime(milliseconds: int) -> dt.datetime:
    """Epoch milliseconds as a UTC datetime, clamped to what datetime holds."""
    try:
        return _EPOCH + dt.timedelta(milliseconds=milliseconds)
    except OverflowError:
        return _LATEST if milliseconds > 0 else _EARLIEST


_NOT_OURS: Final = "not a sagemaker-watch log resume token (or from another version)"


def _read_token(
    token: str, job_name: str
) -> list[tuple[str, int | None, list[tuple[int, int, int]]]]:
    """A resume token's streams: (name, start, [(offset, digest, count)])."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw.decode("utf-8", "surrogatepass"))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidResumeToken(_NOT_OURS) from exc
    if (
        not isinstance(body, dict)
        or body.get("v") != _TOKEN_VERSION
        or not isinstance(body.get("j"), str)
        or not isinstance(body.get("s"), list)
    ):
        raise InvalidResumeToken(_NOT_OURS)
    if body["j"] != job_name_digest(job_name):
        msg = f"log resume token is for another job, not {job_name!r}"
        raise InvalidResumeToken(msg)
    streams = []
    for item in body["s"]:
        if not (
            isinstance(item, list)
            and len(item) == 3  # noqa: PLR2004 (name, start, entries)
            and isinstance(item[0], str)
            and item[0].startswith(f"{job_name}/")
            and (item[1] is None or _is_int(item[1]))
            and isinstance(item[2], list)
            and (item[1] is not None or not item[2])
        ):
            raise InvalidResumeToken(_NOT_OURS)
        entries = []
        for entry in item[2]:
            if not (
                isinstance(entry, list)
                and len(entry) == 3  # noqa: PLR2004 (offset, digest, count)
                and all(_is_int(number) for number in entry)
                and entry[0] >= 0
                and 0 <= entry[1] < _DIGEST_MAX
                and entry[2] >= 1
            ):
                raise InvalidResumeToken(_NOT_OURS)
            entries.append((entry[0], entry[1], entry[2]))
        streams.append((item[0], item[1], entries))
    return streams


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
