"""The simulated CloudWatch Logs of training jobs: lines, streams, tokens, no sockets.

SageMaker sends each training job's container output to the log group
``/aws/sagemaker/TrainingJobs``, one stream per host per container start, named
``JOB/algo-N-EPOCH`` (EPOCH: the start's Unix seconds); a restart after a spot
interruption or a retry opens new streams. What each job writes follows its
timeline's :class:`~sagemaker_watch.testing.LogScript` and the fake's seed, so
it is the same on every run: :meth:`SimulatedLogs.written_lines` is the ground
truth a reader's output can be compared with.

:class:`SimulatedLogs` answers ``GetLogEvents``, ``DescribeLogStreams``,
``FilterLogEvents`` and ``DescribeLogGroups`` as functions of the request and
the simulated time, as the real service does (API reference,
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/):

* a line is visible once its ingestion time has come; a stream is listed from
  its creation; the log group exists once a first stream does;
* a stream's events come sorted by timestamp, then by arrival;
* ``GetLogEvents`` pages up to 10,000 events or 1 MB; without a token and
  without ``startFromHead`` it returns the newest events; at the end of a
  stream the forward token comes back equal to the one sent; tokens are
  ``f/`` or ``b/`` and 56 digits, and expire after 24 hours (the
  ``GetLogEventsResponse`` documentation: "The token expires after 24 hours. If
  you have reached the end of the stream, it returns the same token you passed
  in.").

The fake's model of a token, which the service does not document: a token is a
position in one stream (the timestamp and arrival of the last event returned)
plus its issue time. A line ingested late, with a timestamp before a token's
position, is therefore never returned to that token nor to the tokens that
follow it; only a read by ``startTime`` finds it. An expired or unknown token
is answered ``InvalidParameterException`` "The specified nextToken is invalid."
(the service's text for a bad token, boto/boto3#1467; the text for an expired
one is not documented, so the fake sends the same). ``GetLogEvents`` tokens carry
all of that in their digits, so the fake keeps nothing per token.

Simplifications: a deleted job's streams go with it (real ones stay until the
group's retention ends); ``storedBytes`` is always 0 (deprecated for streams);
``FilterLogEvents`` understands plain terms only.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import itertools
import math
import shlex
import struct
import zlib
from typing import TYPE_CHECKING, Any, Final, Literal

from ._errors import ApiError, constraint, validation_message

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from ._jobs import SimulatedJob
    from ._plan import Plan

JSON = dict[str, Any]

#: The log group of SageMaker training jobs.
LOG_GROUP: Final = "/aws/sagemaker/TrainingJobs"
#: The operations of CloudWatch Logs the fake answers.
LOG_OPERATIONS: Final = (
    "DescribeLogGroups",
    "DescribeLogStreams",
    "FilterLogEvents",
    "GetLogEvents",
)
#: Simulated seconds a token stays valid: 24 hours, as the service documents.
DEFAULT_TOKEN_TTL: Final = 86400.0
#: The most events one ``GetLogEvents`` or ``FilterLogEvents`` page holds.
MAX_EVENTS: Final = 10000
#: The most bytes of events one page holds: messages in UTF-8 plus 26 bytes each.
MAX_PAGE_BYTES: Final = 1_048_576
EVENT_OVERHEAD: Final = 26
#: The most streams one ``DescribeLogStreams`` page holds (and its default).
MAX_STREAMS: Final = 50
MAX_GROUPS: Final = 50
#: How late a late batch arrives, in seconds: a seeded uniform draw.
LATE_DELAY: Final = (60.0, 300.0)
#: Seconds before the failure at which a failing job's algo-1 writes its traceback.
TRACEBACK_LEAD: Final = 1.0
TRACEBACK: Final = (
    "Traceback (most recent call last):",
    '  File "/opt/ml/code/train.py", line 212, in <module>',
    "    main()",
    '  File "/opt/ml/code/train.py", line 187, in main',
    "    loss.backward()",
)
INVALID_TOKEN: Final = "The specified nextToken is invalid."  # noqa: S105 - a message
NO_GROUP: Final = "The specified log group does not exist."
NO_STREAM: Final = "The specified log stream does not exist."

_Direction = Literal["f", "b"]
_Key = tuple[int, int]
_START: Final[_Key] = (-1, -1)
_LAST: Final = 2**62
_TOKEN_LENGTH: Final = 58
#: Paging tokens kept before the expired ones are forgotten.
_PRUNE_AT: Final = 10_000
#: Where a token points: a stream position, a page offset, or a filter position.
_Position = _Key | int | tuple[int, str, int]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class WrittenLine:
    """One line a simulated job wrote: the ground truth of its logs.

    Attributes:
        stream: The log stream, such as ``"my-job/algo-1-1714987920"``.
        timestamp: The line's own time, epoch milliseconds.
        ingestion_time: When CloudWatch Logs receives it, epoch milliseconds
            (maybe still to come).
        message: The text.
    """

    stream: str
    timestamp: int
    ingestion_time: int
    message: str


def job_of(request: JSON) -> str | None:
    """The training job a logs request is about: its stream name's first part."""
    for member in ("logStreamName", "logStreamNamePrefix"):
        value = request.get(member)
        if isinstance(value, str) and "/" in value:
            return value.partition("/")[0]
    return None


def _ms(t: float) -> int:
    return round(t * 1000)


def _invalid(message: str) -> ApiError:
    return ApiError("InvalidParameterException", message)


def _not_found(message: str) -> ApiError:
    return ApiError("ResourceNotFoundException", message)


class _Stream:
    """One log stream: its events by (timestamp, arrival), and by arrival."""

    __slots__ = (
        "appears",
        "by_arrival",
        "first_ts",
        "keys",
        "last_ts",
        "lines",
        "messages",
        "name",
    )

    def __init__(self, name: str, appears: int, lines: list[WrittenLine]) -> None:
        self.name = name
        self.appears = appears
        self.lines = lines
        arrival = sorted(range(len(lines)), key=lambda i: (lines[i].ingestion_time, i))
        rank = [0] * len(lines)
        for position, i in enumerate(arrival):
            rank[i] = position
        order = sorted(range(len(lines)), key=lambda i: (lines[i].timestamp, rank[i]))
        #: (timestamp, arrival) of each event, sorted; messages and ingestion alike.
        self.keys: list[_Key] = [(lines[i].timestamp, rank[i]) for i in order]
        self.messages: list[tuple[str, int]] = [
            (lines[i].message, lines[i].ingestion_time) for i in order
        ]
        #: Ingestion times in arrival order, with running min and max timestamps.
        self.by_arrival = [lines[i].ingestion_time for i in arrival]
        self.first_ts = list(
            itertools.accumulate((lines[i].timestamp for i in arrival), min)
        )
        self.last_ts = list(
            itertools.accumulate((lines[i].timestamp for i in arrival), max)
        )

    def visible(self, index: int, now: int) -> bool:
        return self.messages[index][1] <= now

    def summary(self, now: int) -> tuple[int, int, int] | None:
        """First and last event timestamps and last ingestion time, at *now*."""
        n = bisect.bisect_right(self.by_arrival, now)
        if n == 0:
            return None
        return self.first_ts[n - 1], self.last_ts[n - 1], self.by_arrival[n - 1]

    def forward(self, after: _Key, now: int, end: int | None, limit: int) -> list[int]:
        """Indices of the first *limit* visible events after *after*, before *end*."""
        found: list[int] = []
        size = 0
        i = bisect.bisect_right(self.keys, after)
        while i < len(self.keys) and len(found) < limit:
            ts = self.keys[i][0]
            if ts > now or (end is not None and ts >= end):
                break
            if self.visible(i, now):
                size += len(self.messages[i][0].encode()) + EVENT_OVERHEAD
                if size > MAX_PAGE_BYTES and found:
                    break
                found.append(i)
            i += 1
        return found

    def backward(
        self, before: _Key | None, now: int, start: int | None, limit: int
    ) -> list[int]:
        """Indices of the last *limit* visible events before *before*, from *start*."""
        found: list[int] = []
        size = 0
        i = (
            bisect.bisect_left(self.keys, before)
            if before is not None
            else bisect.bisect_right(self.keys, (now, _LAST))
        ) - 1
        while i >= 0 and len(found) < limit:
            ts = self.keys[i][0]
            if start is not None and ts < start:
                break
            if self.visible(i, now):
                size += len(self.messages[i][0].encode()) + EVENT_OVERHEAD
                if size > MAX_PAGE_BYTES and found:
                    break
                found.append(i)
            i -= 1
        found.reverse()
        return found


class _JobLogs:
    """The streams of one job as its current plan lays them out."""

    __slots__ = ("job", "plan", "streams")

    def __init__(self, job: SimulatedJob, seed: int) -> None:
        self.job = job
        self.plan: Plan = job.plan
        self.streams: dict[str, _Stream] = {}
        for name, appears, lines in _write(job, seed):
            self.streams[name] = _Stream(name, appears, lines)


def _hosts(job: SimulatedJob) -> int:
    script = job.timeline.logs
    if script is not None and script.hosts is not None:
        return script.hosts
    config = job.request.get("ResourceConfig")
    count = config.get("InstanceCount") if isinstance(config, dict) else None
    return count if isinstance(count, int) and count >= 1 else 1


def _write(
    job: SimulatedJob, seed: int
) -> Iterator[tuple[str, int, list[WrittenLine]]]:
    """Every stream of *job*: its name, when it appears, and its lines."""
    script = job.timeline.logs
    if script is None:
        return
    plan = job.plan
    runs = plan.container_runs()
    failed_at = plan.failed_at
    progress = job.timeline.progress
    per_epoch = progress.steps_per_epoch if progress is not None else 100
    low, high = script.ingestion_delay
    steps = dict.fromkeys(range(1, _hosts(job) + 1), 0)
    for number, (start, end) in enumerate(runs):
        failing = failed_at is not None and number == len(runs) - 1
        for host in steps:
            name = f"{job.name}/algo-{host}-{math.floor(start)}"
            appears = start + script.stream_delay
            writes: list[tuple[float, str]] = []
            stop = end - TRACEBACK_LEAD if failing and host == 1 else end
            k = 0
            while (t := start + k * script.interval) < stop:
                step = steps[host]
                loss = 2.0 * math.exp(-step / 150) + 0.05
                line = (
                    f"[algo-{host}] epoch {step // per_epoch + 1} step {step} "
                    f"loss={loss:.4f}"
                )
                writes.append((t, line))
                writes.extend(
                    (t, f"[algo-{host}] step {step} gradients synchronised")
                    for _ in range(script.burst - 1)
                )
                steps[host] += 1
                k += 1
            if failing and host == 1:
                reason = plan.failure_reason or ""
                tail = (*TRACEBACK, *reason.splitlines())
                writes.extend(
                    (max(stop, start) + i / 1000, text) for i, text in enumerate(tail)
                )
            delays: dict[int, float] = {}
            lines = []
            for t, text in writes:
                batch = math.floor((t - start) / script.batch + 1e-9)
                if batch not in delays:
                    u, v, w = _dice(f"{seed}:{name}:{batch}")
                    delay = low + (high - low) * u
                    if v < script.late:
                        delay += LATE_DELAY[0] + (LATE_DELAY[1] - LATE_DELAY[0]) * w
                    delays[batch] = delay
                sent = min(start + (batch + 1) * script.batch, end) + delays[batch]
                # The agent flushes what is left when the container stops, and
                # the host is gone soon after: nothing arrives later than that.
                sent = min(sent, end + high)
                lines.append(
                    WrittenLine(
                        stream=name,
                        timestamp=_ms(t),
                        ingestion_time=max(_ms(max(sent, appears)), _ms(t)),
                        message=text,
                    )
                )
            yield name, _ms(appears), lines


@dataclasses.dataclass(slots=True, kw_only=True)
class _Token:
    kind: str
    scope: str
    position: Any
    issued: float


class SimulatedLogs:
    """CloudWatch Logs for the simulated training jobs, answering at simulated time.

    Each operation takes the request dict (the JSON body the service receives)
    and the simulated time, and returns the answer dict or raises
    :class:`~sagemaker_watch.testing.ApiError`.

    Args:
        jobs: The service's jobs by name (the live mapping).
        seed: Seeds every delay of ingestion.
        region: The region in ARNs.
        account_id: The account in ARNs.
        token_ttl: Simulated seconds a token stays valid.
    """

    def __init__(
        self,
        *,
        jobs: Mapping[str, SimulatedJob],
        seed: int = 0,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        token_ttl: float = DEFAULT_TOKEN_TTL,
    ) -> None:
        """Serve the logs of *jobs*; nothing is laid out until asked for."""
        if token_ttl <= 0:
            raise ValueError("token_ttl must be positive")
        self._jobs = jobs
        self._seed = seed
        self._region = region
        self._account_id = account_id
        self.token_ttl = token_ttl
        self._cache: dict[str, _JobLogs] = {}
        self._tokens: dict[str, _Token] = {}
        self._minted: dict[tuple[str, str, _Position], str] = {}
        self._serial = itertools.count(1)
        self._valid_from = 0
        self._generation = 0
        self._stream_numbers: dict[str, int] = {}
        self._group_created: int | None = None

    def __repr__(self) -> str:
        """Return ``SimulatedLogs(jobs=..., tokens=...)``."""
        return f"SimulatedLogs(jobs={len(self._jobs)}, tokens={len(self._tokens)})"

    # -- ground truth --------------------------------------------------------------

    def written_lines(self, job_name: str, now: float) -> tuple[WrittenLine, ...]:
        """Every line *job_name* wrote up to *now*, in write order, ingested or not.

        Raises:
            KeyError: If there is no such job.
        """
        logs = self._logs(job_name)
        if logs is None:
            raise KeyError(job_name)
        cut = _ms(now)
        rows = [
            (line.timestamp, index, seq, line)
            for index, stream in enumerate(logs.streams.values())
            for seq, line in enumerate(stream.lines)
            if line.timestamp <= cut
        ]
        rows.sort(key=lambda row: row[:3])
        return tuple(row[3] for row in rows)

    def expire_tokens(self) -> None:
        """Reject every token issued so far from now on."""
        self._valid_from = next(self._serial)
        self._minted.clear()
        self._tokens.clear()
        self._generation += 1

    # -- the operations ------------------------------------------------------------

    def answer(self, operation: str, request: JSON, now: float) -> JSON:
        """Answer one CloudWatch Logs request at simulated time *now*.

        Raises:
            ApiError: The operation's error, or ``UnknownOperationException``.
        """
        if operation == "GetLogEvents":
            return self.get_log_events(request, now)
        if operation == "DescribeLogStreams":
            return self.describe_log_streams(request, now)
        if operation == "FilterLogEvents":
            return self.filter_log_events(request, now)
        if operation == "DescribeLogGroups":
            return self.describe_log_groups(request, now)
        raise ApiError("UnknownOperationException", f"Unknown operation {operation}")

    def get_log_events(self, request: JSON, now: float) -> JSON:
        """Answer ``GetLogEvents``: one page of one stream's visible events.

        Raises:
            ApiError: ``ResourceNotFoundException`` for a missing group or
                stream; ``InvalidParameterException`` for a bad member or token.
        """
        self._group(request, now)
        name = request.get("logStreamName")
        limit = _limit(request, "limit", MAX_EVENTS)
        start = _int_or_none(request, "startTime")
        end = _int_or_none(request, "endTime")
        stream = self._stream(name, now)
        if stream is None:
            raise _not_found(NO_STREAM)
        cut = _ms(now)
        token = request.get("nextToken")
        if token is not None:
            kind, position = self._redeem_position(token, stream.name, now)
            if kind == "f":
                found = stream.forward(position, cut, end, limit)
                if start is not None:
                    found = [i for i in found if stream.keys[i][0] >= start]
            else:
                found = stream.backward(position, cut, start, limit)
                if end is not None:
                    found = [i for i in found if stream.keys[i][0] < end]
            first = stream.keys[found[0]] if found else position
            last = stream.keys[found[-1]] if found else position
        elif request.get("startFromHead") is True:
            after = (start, -1) if start is not None else _START
            found = stream.forward(after, cut, end, limit)
            first = stream.keys[found[0]] if found else after
            last = stream.keys[found[-1]] if found else after
        else:
            before = (end, -1) if end is not None else None
            found = stream.backward(before, cut, start, limit)
            if start is not None:
                floor: _Key = (start, -1)
            else:
                floor = _START
            first = stream.keys[found[0]] if found else floor
            last = stream.keys[found[-1]] if found else floor
        answer: JSON = {
            "events": [
                {
                    "timestamp": stream.keys[i][0],
                    "message": stream.messages[i][0],
                    "ingestionTime": stream.messages[i][1],
                }
                for i in found
            ]
        }
        if token is not None and not found:
            forward = token if token.startswith("f/") else None
            backward = token if token.startswith("b/") else None
        else:
            forward = backward = None
        answer["nextForwardToken"] = forward or self._mint_position(
            "f", stream.name, last, now
        )
        answer["nextBackwardToken"] = backward or self._mint_position(
            "b", stream.name, first, now
        )
        return answer

    def describe_log_streams(self, request: JSON, now: float) -> JSON:
        """Answer ``DescribeLogStreams``: the group's streams that exist now.

        Raises:
            ApiError: ``ResourceNotFoundException`` for a missing group;
                ``InvalidParameterException`` for a bad member or token.
        """
        self._group(request, now)
        prefix = request.get("logStreamNamePrefix")
        prefix = prefix if isinstance(prefix, str) else ""
        order = request.get("orderBy", "LogStreamName")
        if order not in {"LogStreamName", "LastEventTime"}:
            raise _invalid(
                validation_message(
                    [
                        constraint(
                            order,
                            "orderBy",
                            "Member must satisfy enum value set: "
                            "[LogStreamName, LastEventTime]",
                        )
                    ]
                )
            )
        if order == "LastEventTime" and prefix:
            raise _invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
        descending = request.get("descending") is True
        limit = _limit(request, "limit", MAX_STREAMS)
        cut = _ms(now)
        rows = []
        for stream in self._streams(prefix):
            if stream.appears > cut:
                continue
            summary = stream.summary(cut)
            last = summary[1] if summary is not None else stream.appears
            sort_key = (last, stream.name) if order == "LastEventTime" else stream.name
            rows.append((sort_key, stream, summary))
        rows.sort(key=lambda row: row[0], reverse=descending)
        scope = f"streams:{prefix}:{order}:{descending}"
        skip = 0
        token = request.get("nextToken")
        if token is not None:
            skip = self._redeem(token, ("d",), scope, now).position
        page = rows[skip : skip + limit]
        answer: JSON = {
            "logStreams": [
                self._stream_row(stream, summary) for _, stream, summary in page
            ]
        }
        if skip + limit < len(rows):
            answer["nextToken"] = self._mint("d", scope, skip + limit, now)
        return answer

    def filter_log_events(self, request: JSON, now: float) -> JSON:
        """Answer ``FilterLogEvents``: visible events of many streams, interleaved.

        Events come sorted by timestamp, then stream, then arrival; terms of
        *filterPattern* must all appear (``"quoted phrases"``, ``?any`` of
        several, ``-excluded``); JSON and space-delimited patterns are not
        understood.

        Raises:
            ApiError: ``ResourceNotFoundException`` for a missing group;
                ``InvalidParameterException`` for a bad member or token.
        """
        self._group(request, now)
        names = request.get("logStreamNames")
        prefix = request.get("logStreamNamePrefix")
        if names is not None and prefix is not None:
            raise _invalid(
                "logStreamNames and logStreamNamePrefix are mutually exclusive"
            )
        limit = _limit(request, "limit", MAX_EVENTS)
        start = _int_or_none(request, "startTime")
        end = _int_or_none(request, "endTime")
        matches = _pattern(request.get("filterPattern"))
        if isinstance(names, list):
            streams = [s for s in map(self._stream_or_none, names) if s is not None]
        else:
            streams = list(self._streams(prefix if isinstance(prefix, str) else ""))
        cut = _ms(now)
        scope = f"filter:{start}:{end}:{request.get('filterPattern')}"
        after: tuple[int, str, int] = (-1, "", -1)
        token = request.get("nextToken")
        if token is not None:
            after = self._redeem(token, ("filter",), scope, now).position
        rows: list[tuple[int, str, int, str, int]] = []
        for stream in streams:
            if stream.appears > cut:
                continue
            i = bisect.bisect_left(stream.keys, (start, -1)) if start is not None else 0
            for j in range(i, len(stream.keys)):
                ts, arrival = stream.keys[j]
                if ts > cut or (end is not None and ts >= end):
                    break
                message, ingested = stream.messages[j]
                if (
                    ingested <= cut
                    and (ts, stream.name, arrival) > after
                    and matches(message)
                ):
                    rows.append((ts, stream.name, arrival, message, ingested))
        rows.sort(key=lambda row: row[:3])
        page = rows[:limit]
        answer: JSON = {
            "events": [
                {
                    "logStreamName": name,
                    "timestamp": ts,
                    "message": message,
                    "ingestionTime": ingested,
                    "eventId": _event_id(ts, name, arrival),
                }
                for ts, name, arrival, message, ingested in page
            ],
            "searchedLogStreams": [],
        }
        if len(rows) > limit:
            ts, name, arrival = page[-1][:3]
            answer["nextToken"] = self._mint("filter", scope, (ts, name, arrival), now)
        return answer

    def describe_log_groups(self, request: JSON, now: float) -> JSON:
        """Answer ``DescribeLogGroups``: the training jobs' group, once it exists.

        Raises:
            ApiError: ``InvalidParameterException`` for a bad member.
        """
        _limit(request, "limit", MAX_GROUPS)
        prefix = request.get("logGroupNamePrefix")
        pattern = request.get("logGroupNamePattern")
        created = self._group_creation(_ms(now))
        groups = []
        if (
            created is not None
            and (not isinstance(prefix, str) or LOG_GROUP.startswith(prefix))
            and (not isinstance(pattern, str) or pattern in LOG_GROUP)
        ):
            arn = self._group_arn()
            groups.append(
                {
                    "logGroupName": LOG_GROUP,
                    "creationTime": created,
                    "metricFilterCount": 0,
                    "arn": f"{arn}:*",
                    "storedBytes": 0,
                    "logGroupClass": "STANDARD",
                    "logGroupArn": arn,
                }
            )
        return {"logGroups": groups}

    # -- internals -----------------------------------------------------------------

    def _logs(self, job_name: str) -> _JobLogs | None:
        job = self._jobs.get(job_name)
        if job is None:
            self._cache.pop(job_name, None)
            return None
        cached = self._cache.get(job_name)
        if cached is None or cached.job is not job or cached.plan is not job.plan:
            cached = self._cache[job_name] = _JobLogs(job, self._seed)
        return cached

    def _streams(self, prefix: str) -> Iterator[_Stream]:
        job_name, slash, _ = prefix.partition("/")
        names: Iterable[str] = (
            (job_name,)
            if slash
            else [name for name in self._jobs if name.startswith(prefix)]
        )
        for name in names:
            logs = self._logs(name)
            if logs is not None:
                yield from (
                    s for s in logs.streams.values() if s.name.startswith(prefix)
                )

    def _stream_or_none(self, name: object) -> _Stream | None:
        if not isinstance(name, str):
            return None
        logs = self._logs(name.partition("/")[0])
        return logs.streams.get(name) if logs is not None else None

    def _stream(self, name: object, now: float) -> _Stream | None:
        stream = self._stream_or_none(name)
        if stream is None or stream.appears > _ms(now):
            return None
        return stream

    def _group_creation(self, cut: int) -> int | None:
        if self._group_created is not None and self._group_created <= cut:
            return self._group_created
        first = min(
            (
                _ms(runs[0][0] + job.timeline.logs.stream_delay)
                for job in self._jobs.values()
                if job.timeline.logs is not None and (runs := job.plan.container_runs())
            ),
            default=None,
        )
        if first is None or first > cut:
            return None
        self._group_created = first
        return first

    def _group(self, request: JSON, now: float) -> None:
        name = request.get("logGroupName")
        identifier = request.get("logGroupIdentifier")
        if name is not None and identifier is not None:
            raise _invalid(
                "LogGroup name and LogGroup ARN are mutually exclusive parameters."
            )
        if isinstance(identifier, str):
            name = identifier.removesuffix(":*")
            if name.startswith("arn:"):
                base = self._group_arn().removesuffix(LOG_GROUP)
                name = name.removeprefix(base) if name.startswith(base) else None
        if name != LOG_GROUP or self._group_creation(_ms(now)) is None:
            raise _not_found(NO_GROUP)

    def _group_arn(self) -> str:
        return f"arn:aws:logs:{self._region}:{self._account_id}:log-group:{LOG_GROUP}"

    def _stream_row(
        self, stream: _Stream, summary: tuple[int, int, int] | None
    ) -> JSON:
        row: JSON = {"logStreamName": stream.name, "creationTime": stream.appears}
        if summary is not None:
            row["firstEventTimestamp"], row["lastEventTimestamp"] = summary[:2]
            row["lastIngestionTime"] = summary[2]
        row["arn"] = f"{self._group_arn()}:log-stream:{stream.name}"
        # Deprecated since 2019 and always zero for streams (the API reference).
        row["storedBytes"] = 0
        return row

    def _mint_position(
        self, kind: _Direction, stream: str, position: _Key, now: float
    ) -> str:
        """A ``GetLogEvents`` token: it carries everything, the fake keeps nothing.

        56 digits: the generation (see :meth:`expire_tokens`), the stream's
        number, the position's timestamp and arrival, the issue time (ms) and a
        check.
        """
        number = self._stream_numbers.setdefault(stream, len(self._stream_numbers))
        timestamp, arrival = position
        body = (
            f"{self._generation % 10**4:04d}{number:08d}{timestamp + 1:014d}"
            f"{arrival + 1:09d}{_ms(now):014d}"
        )
        return f"{kind}/{body}{self._check(kind, body):07d}"

    def _redeem_position(
        self, token: object, stream: str, now: float
    ) -> tuple[_Direction, _Key]:
        if not isinstance(token, str) or len(token) != _TOKEN_LENGTH:
            raise _invalid(INVALID_TOKEN)
        kind, body, check = token[0], token[2:51], token[51:]
        if (
            kind not in {"f", "b"}
            or token[1] != "/"
            or not token[2:].isdigit()
            or int(check) != self._check(kind, body)
            or int(body[:4]) != self._generation % 10**4
            or self._stream_numbers.get(stream) != int(body[4:12])
            or _ms(now) - int(body[35:49]) >= self.token_ttl * 1000
        ):
            raise _invalid(INVALID_TOKEN)
        position = (int(body[12:26]) - 1, int(body[26:35]) - 1)
        return ("f" if kind == "f" else "b"), position

    def _check(self, kind: str, body: str) -> int:
        return zlib.crc32(f"{self._seed}:{kind}/{body}".encode()) % 10**7

    def _mint(self, kind: str, scope: str, position: _Position, now: float) -> str:
        key = (kind, scope, position)
        existing = self._minted.get(key)
        if existing is not None:
            entry = self._tokens[existing]
            if now - entry.issued < self.token_ttl:
                return existing
        if len(self._tokens) >= _PRUNE_AT:
            self._prune(now)
        serial = next(self._serial)
        token = f"{kind}/{serial:056d}"
        self._tokens[token] = _Token(
            kind=kind, scope=scope, position=position, issued=now
        )
        self._minted[key] = token
        return token

    def _prune(self, now: float) -> None:
        """Forget the expired paging tokens: they would be refused all the same."""
        self._tokens = {
            token: entry
            for token, entry in self._tokens.items()
            if now - entry.issued < self.token_ttl
        }
        self._minted = {
            key: token for key, token in self._minted.items() if token in self._tokens
        }

    def _redeem(
        self, token: object, kinds: tuple[str, ...], scope: str, now: float
    ) -> _Token:
        entry = self._tokens.get(token) if isinstance(token, str) else None
        if (
            entry is None
            or entry.kind not in kinds
            or entry.scope != scope
            or int(str(token).partition("/")[2]) < self._valid_from
            or now - entry.issued >= self.token_ttl
        ):
            raise _invalid(INVALID_TOKEN)
        return entry


def _dice(key: str) -> tuple[float, float, float]:
    """Three uniform draws in ``[0, 1)`` that are a function of *key* alone."""
    a, b, c = struct.unpack(
        "<3I", hashlib.blake2b(key.encode(), digest_size=12).digest()
    )
    return a / 2**32, b / 2**32, c / 2**32


def _event_id(timestamp: int, stream: str, arrival: int) -> str:
    """A 56-digit ``eventId``, unique per event: time, stream checksum, arrival."""
    return f"{timestamp:020d}{zlib.crc32(stream.encode()):010d}{arrival:026d}"


def _int_or_none(request: JSON, member: str) -> int | None:
    value = request.get(member)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _invalid(
            validation_message(
                [
                    constraint(
                        value,
                        member,
                        "Member must have value greater than or equal to 0",
                    )
                ]
            )
        )
    return value


def _limit(request: JSON, member: str, most: int) -> int:
    value = request.get(member, most)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= most:
        rule = (
            f"Member must have value less than or equal to {most}"
            if isinstance(value, int) and value > most
            else "Member must have value greater than or equal to 1"
        )
        raise _invalid(validation_message([constraint(value, member, rule)]))
    return value


def _pattern(pattern: object) -> Callable[[str], bool]:
    """A predicate on messages for a ``filterPattern`` of plain terms."""
    if not isinstance(pattern, str) or not pattern.strip():
        return lambda _message: True
    try:
        terms = shlex.split(pattern)
    except ValueError:
        terms = pattern.split()
    required = [t for t in terms if not t.startswith(("?", "-"))]
    excluded = [t[1:] for t in terms if t.startswith("-") and len(t) > 1]
    anyof = [t[1:] for t in terms if t.startswith("?") and len(t) > 1]

    def matches(message: str) -> bool:
        return (
            all(t in message for t in required)
            and not any(t in message for t in excluded)
            and (not anyof or any(t in message for t in anyof))
        )

    return matches
