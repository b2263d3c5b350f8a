"""Show the events of watched jobs: a live table, plain log lines, or JSON lines.

Everything shown comes from the typed snapshot and event fields; a snapshot's raw
response (which holds ``Environment`` and ``HyperParameters``) is never read here.

Text from the service (statuses, messages, FailureReason, error messages) is
untrusted: every human-readable output passes it through ``safe`` at one place
(``LineRenderer.event``, ``LiveRenderer.table``, ``one_line`` for stderr and
``wait``'s line), so no control character reaches a terminal. ``--json`` is
ASCII-only JSON and needs nothing.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, Self

from rich.live import Live
from rich.table import Table
from rich.text import Span, Text

import sagemaker_watch as sw

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import TracebackType
    from typing import TextIO

    from rich.console import Console


class Outcome(enum.StrEnum):
    """How watching one job ended, from best to worst."""

    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"
    TIMEOUT = "timeout"
    NOT_FOUND = "not_found"
    ERROR = "error"


@dataclass(frozen=True, slots=True, kw_only=True)
class JobResult:
    """The end of one job's watch.

    Attributes:
        job_name: the training job's name.
        outcome: how it ended.
        snapshot: the last snapshot seen, if any.
        problem: for a timeout or an error, one line saying what went wrong and
            what to do about it.
    """

    job_name: str
    outcome: Outcome
    snapshot: sw.Snapshot | None
    problem: str | None = None


def outcome_of(snapshot: sw.Snapshot) -> Outcome:
    """Return the outcome of a terminal snapshot."""
    if snapshot.outcome == sw.PrimaryStatus.FAILED:
        return Outcome.FAILED
    if snapshot.outcome == sw.PrimaryStatus.STOPPED:
        return Outcome.STOPPED
    return Outcome.COMPLETED


#: Characters a terminal may act on, or that cannot be encoded: C0, DEL, C1 and
#: lone surrogates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_UNSAFE_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_LATIN1 = 0xFF
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
#: The longest line said on stderr about one problem.
LINE_LIMIT = 300


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (
        f"\\x{code:02x}" if code <= _LATIN1 else f"\\u{code:04x}"
    )


def safe(text: str, *, newlines: bool = False) -> str:
    r"""Return *text* with every control character shown as a visible escape.

    C0 controls, DEL, C1 controls (U+0080 to U+009F) and lone surrogates become
    ``\x1b``, ``\x9b``, ``\ud800``: the reader sees what the service sent,
    and the terminal acts on none of it. Newlines stay if *newlines* is true.
    """
    return (_UNSAFE_BUT_NEWLINE if newlines else _UNSAFE).sub(_escape, text)


def one_line(text: str, *, limit: int = LINE_LIMIT) -> str:
    """Return *text* safe, on one line (whitespace runs collapsed), cut at *limit*."""
    line = safe(" ".join(text.split()))
    return line if len(line) <= limit else line[: limit - 1] + "…"


def safe_cell(cell: Text | str) -> Text:
    """Return a table cell as ``Text`` (never markup), its text safe, styles kept."""
    if isinstance(cell, str):
        return Text(safe(cell))
    if not _UNSAFE.search(cell.plain):
        return cell
    bounds = sorted({at for span in cell.spans for at in (span.start, span.end)})
    result = Text(style=cell.style, overflow=cell.overflow, no_wrap=cell.no_wrap)
    for piece in cell.divide(bounds):
        shown = safe(piece.plain)
        spans = [Span(0, len(shown), span.style) for span in piece.spans]
        result.append_text(Text(shown, spans=spans))
    return result


def quote(text: str) -> str:
    """Quote *text* on one line, escaping newlines and quotes as JSON does."""
    return json.dumps(text, ensure_ascii=False)


def duration(seconds: float) -> str:
    """Format *seconds* compactly: ``45s``, ``4m05s``, ``1h02m``, ``3d04h``."""
    whole = max(0, int(seconds))
    days, whole = divmod(whole, 86400)
    if days:
        return f"{days}d{whole // 3600:02d}h"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def spot_savings(snapshot: sw.Snapshot) -> float | None:
    """Return ``1 - billable / training`` for a managed spot job, else ``None``."""
    training = snapshot.training_time_seconds
    billable = snapshot.billable_time_seconds
    if not snapshot.managed_spot or not training or billable is None:
        return None
    return 1.0 - billable / training


def times(snapshot: sw.Snapshot) -> str:
    """Return ``training 600s, billable 210s, spot savings 65%`` (what is known)."""
    parts = []
    if snapshot.training_time_seconds is not None:
        parts.append(f"training {snapshot.training_time_seconds}s")
    if snapshot.billable_time_seconds is not None:
        parts.append(f"billable {snapshot.billable_time_seconds}s")
    savings = spot_savings(snapshot)
    if savings is not None:
        parts.append(f"spot savings {savings:.0%}")
    return ", ".join(parts)


def status(snapshot: sw.Snapshot) -> str:
    """Return ``InProgress/Training``: the primary and the secondary status."""
    secondary = snapshot.secondary_status
    if secondary is None or str(secondary) == str(snapshot.primary_status):
        return str(snapshot.primary_status)
    return f"{snapshot.primary_status}/{secondary}"


def _end_time(snapshot: sw.Snapshot) -> dt.datetime:
    if snapshot.training_end_time is not None:
        return snapshot.training_end_time
    if snapshot.transitions:
        return snapshot.transitions[-1].started_at
    return snapshot.observed_at


def describe(result: JobResult, *, quoted: bool = True) -> str:
    """Return a job's outcome on one line, such as ``Stopped (MaxRuntimeExceeded)``."""
    snapshot = result.snapshot
    if result.outcome is Outcome.NOT_FOUND:
        return "not found"
    if result.outcome is Outcome.TIMEOUT:
        return "timed out" + (f"; last seen {status(snapshot)}" if snapshot else "")
    if result.outcome is Outcome.ERROR or snapshot is None:
        return result.problem or str(result.outcome)
    elapsed = duration((_end_time(snapshot) - snapshot.creation_time).total_seconds())
    detail = times(snapshot)
    if result.outcome is Outcome.FAILED:
        reason = snapshot.failure_reason or "no FailureReason given"
        reason = quote(reason) if quoted else " ".join(reason.split())
        return f"Failed after {elapsed}: {reason}"
    if result.outcome is Outcome.STOPPED:
        return f"Stopped ({snapshot.stop_reason}) after {elapsed}" + (
            f" ({detail})" if detail else ""
        )
    return f"Completed in {elapsed}" + (f" ({detail})" if detail else "")


def _at(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def event_detail(event: sw.Event) -> str:  # noqa: PLR0911 - one shape per event type
    """Return the human part of an event's log line (after time, job and kind)."""
    match event:
        case sw.JobObserved():
            secondary = event.secondary_status or "-"
            return f"{event.primary_status}/{secondary}"
        case sw.StatusEntered():
            message = f" {quote(event.message)}" if event.message else ""
            return f"{event.status}{message}"
        case sw.StatusMessageChanged():
            return f"{event.status} {quote(event.message)}"
        case sw.PrimaryStatusChanged():
            return f"{event.previous_status or '?'} -> {event.status}"
        case sw.ProgressChanged():
            return _progress_words(event.current_epoch, event.max_epoch, event)
        case sw.JobCompleted():
            detail = times(event.snapshot)
            return f"Completed{' ' + detail if detail else ''}"
        case sw.JobFailed():
            reason = event.failure_reason or "no FailureReason given"
            return f"Failed {quote(reason)}"
        case sw.JobStopped():
            detail = times(event.snapshot)
            return f"Stopped {event.reason}{' ' + detail if detail else ''}"
    return ""


def _progress_words(
    epoch: int | None, max_epoch: int | None, event: sw.ProgressChanged
) -> str:
    words = []
    if epoch is not None:
        words.append(f"epoch {epoch}/{max_epoch if max_epoch is not None else '?'}")
    if event.current_step is not None:
        total = event.total_steps_per_epoch
        words.append(f"step {event.current_step}/{total if total is not None else '?'}")
    return " ".join(words)


def event_line(event: sw.Event) -> str:
    """Return one plain log line for *event*."""
    detail = event_detail(event)
    line = f"{_at(event.at)} {event.job_name} {event.kind}"
    return f"{line} {detail}" if detail else line


class Renderer(Protocol):
    """Where the engine sends what it sees; used as a context manager."""

    def __enter__(self) -> Self:
        """Start showing."""
        ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop showing and say what is left to say."""
        ...

    def event(self, event: sw.Event) -> None:
        """Show one event."""
        ...

    def result(self, result: JobResult) -> None:
        """Show how a job's watch ended."""
        ...

    def tick(self) -> None:
        """Refresh whatever shows elapsed time."""
        ...


class _Problems:
    """Problem lines for stderr, each said once (many jobs share one bad credential)."""

    def __init__(self, err: TextIO) -> None:
        self._err = err
        self._said: set[str] = set()
        self._held: list[str] = []

    def add(self, result: JobResult, *, hold: bool) -> None:
        if result.problem is None or result.problem in self._said:
            return
        self._said.add(result.problem)
        if hold:
            self._held.append(result.problem)
        else:
            self._say(result.problem)

    def flush(self) -> None:
        for problem in self._held:
            self._say(problem)
        self._held.clear()

    def _say(self, problem: str) -> None:
        print(f"sagemaker-watch: {one_line(problem)}", file=self._err, flush=True)


class _StreamRenderer:
    """Shared by the line and JSON renderers: problems go to stderr at once."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self._out = out
        self._problems = _Problems(err)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._problems.flush()

    def result(self, result: JobResult) -> None:
        self._problems.add(result, hold=False)

    def tick(self) -> None:
        """Nothing shows elapsed time."""

    def _write(self, line: str) -> None:
        print(line, file=self._out, flush=True)


class LineRenderer(_StreamRenderer):
    """One plain line per event, for CI logs and pipes."""

    def event(self, event: sw.Event) -> None:
        """Write ``<time> <job> <kind> <detail>``, control characters escaped."""
        self._write(safe(event_line(event)))


class JsonRenderer(_StreamRenderer):
    """One JSON object per event: exactly ``json.dumps(event.to_json())``."""

    def event(self, event: sw.Event) -> None:
        """Write the event's JSON object on one line."""
        self._write(json.dumps(event.to_json()))


class NullRenderer(_StreamRenderer):
    """Shows no events, only problems (for ``wait``)."""

    def event(self, event: sw.Event) -> None:
        """Show nothing."""


@dataclass(slots=True)
class _Row:
    job_name: str
    snapshot: sw.Snapshot | None = None
    result: JobResult | None = None


_STYLES = {
    Outcome.COMPLETED: "green",
    Outcome.STOPPED: "yellow",
    Outcome.FAILED: "red",
    Outcome.TIMEOUT: "magenta",
    Outcome.NOT_FOUND: "red",
    Outcome.ERROR: "red",
}
_BAR_WIDTH = 10
_NAME_WIDTH = 40
_STATUS_WIDTH = 26
#: Lines the table needs besides its rows: header, summary, a spare.
_CHROME = 3


class LiveRenderer:
    """A live table on the terminal: one compact row per job, refreshed in place."""

    def __init__(
        self,
        console: Console,
        job_names: Sequence[str],
        *,
        now: Callable[[], dt.datetime],
        err: TextIO,
    ) -> None:
        """Prepare a row for each of *job_names*; *now* gives the current time."""
        self._console = console
        self._rows = {name: _Row(name) for name in job_names}
        self._now = now
        self._problems = _Problems(err)
        self._all_rows = False
        self._live = Live(
            console=console,
            auto_refresh=False,
            transient=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )

    def __enter__(self) -> Self:
        """Start the live display."""
        self._live.update(self.table(), refresh=False)
        self._live.start(refresh=True)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Draw the final table, leave it on screen, then print the problems."""
        self._all_rows = True
        try:
            self._live.update(self.table(), refresh=True)
        finally:
            self._live.stop()
        self._problems.flush()

    def event(self, event: sw.Event) -> None:
        """Remember the latest snapshot of the event's job."""
        self._rows[event.job_name].snapshot = event.snapshot

    def result(self, result: JobResult) -> None:
        """Remember how the job's watch ended."""
        row = self._rows[result.job_name]
        row.result = result
        if result.snapshot is not None:
            row.snapshot = result.snapshot
        self._problems.add(result, hold=True)

    def tick(self) -> None:
        """Redraw the table (elapsed times move)."""
        self._live.update(self.table(), refresh=True)

    def table(self) -> Table:
        """Return the table as it should look now."""
        now = self._now()
        table = Table(
            box=None,
            padding=(0, 1),
            pad_edge=False,
            expand=True,
            header_style="bold",
            caption_justify="left",
        )
        name_width = min(max(map(len, self._rows), default=3), _NAME_WIDTH)
        for title, width in (
            ("JOB", name_width),
            ("STATUS", _STATUS_WIDTH),
            ("PHASE", 6),
            ("TOTAL", 6),
            ("INT", 3),
            ("PROGRESS", _BAR_WIDTH + 6),
        ):
            table.add_column(
                title,
                width=width,
                no_wrap=True,
                overflow="ellipsis",
                justify="right" if title in {"PHASE", "TOTAL", "INT"} else "left",
            )
        table.add_column(
            "MESSAGE / OUTCOME",
            ratio=1,
            min_width=20,
            no_wrap=True,
            overflow="ellipsis",
        )
        shown = self._visible_rows()
        for row in shown:
            table.add_row(*map(safe_cell, self._cells(row, now)))
        table.caption = self._summary(len(self._rows) - len(shown))
        return table

    def _visible_rows(self) -> list[_Row]:
        room = max(1, self._console.size.height - _CHROME)
        rows = list(self._rows.values())
        if self._all_rows or len(rows) <= room:
            return rows

        # Too many to show: jobs that went wrong first, then running ones, each
        # in the order given; the summary line counts what is left out.
        def rank(row: _Row) -> int:
            if row.result is None:
                return 1
            return 2 if row.result.outcome is Outcome.COMPLETED else 0

        kept = sorted(rows, key=rank)[:room]
        keep = {row.job_name for row in kept}
        return [row for row in rows if row.job_name in keep]

    def _summary(self, hidden: int) -> Text:
        counts: dict[str, int] = {}
        for row in self._rows.values():
            key = "running" if row.result is None else str(row.result.outcome)
            counts[key] = counts.get(key, 0) + 1
        order = ["running", *(str(outcome) for outcome in Outcome)]
        parts = [
            f"{counts[key]} {key.replace('_', ' ')}" for key in order if counts.get(key)
        ]
        text = Text(f"{len(self._rows)} jobs: " + ", ".join(parts), style="dim")
        if hidden:
            text.append(f" ({hidden} not shown)", style="dim")
        return text

    def _cells(self, row: _Row, now: dt.datetime) -> tuple[Text | str, ...]:
        snapshot = row.snapshot
        if snapshot is None:
            status = Text("waiting", style="dim") if row.result is None else Text("")
            return (row.job_name, status, "", "", "", "", self._outcome_text(row))
        ended = snapshot.is_terminal
        secondary = snapshot.secondary_status
        status = Text(str(snapshot.primary_status), style=self._status_style(row))
        if secondary is not None and str(secondary) != str(snapshot.primary_status):
            status.append(f"/{secondary}", style="default")
        phase = ""
        if not ended and snapshot.transitions:
            phase = duration(
                (now - snapshot.transitions[-1].started_at).total_seconds()
            )
        end = _end_time(snapshot) if ended else now
        total = duration((end - snapshot.creation_time).total_seconds())
        interruptions = str(snapshot.interruptions) if snapshot.interruptions else ""
        return (
            row.job_name,
            status,
            phase,
            total,
            interruptions,
            _bar(snapshot.progress) if not ended else Text(""),
            self._outcome_text(row),
        )

    @staticmethod
    def _status_style(row: _Row) -> str:
        if row.result is not None:
            return _STYLES[row.result.outcome]
        return "cyan"

    @staticmethod
    def _outcome_text(row: _Row) -> Text:
        result, snapshot = row.result, row.snapshot
        if result is not None:
            text = describe(result, quoted=False)
            if snapshot is not None and result.outcome is Outcome.FAILED:
                text = snapshot.failure_reason or "no FailureReason given"
            elif snapshot is not None and result.problem is None:
                text = times(snapshot)
            return Text(" ".join(text.split()), style=_STYLES[result.outcome])
        if snapshot is not None and snapshot.transitions:
            message = snapshot.transitions[-1].message or ""
            return Text(" ".join(message.split()))
        return Text("")


def _bar(progress: sw.Progress | None) -> Text:
    """Return ``██████░░░░ 6/10`` for the epochs, or the steps if that is all."""
    if progress is None:
        return Text("")
    steps = progress.total_steps_per_epoch
    epoch, max_epoch = progress.current_epoch, progress.max_epoch
    step = progress.current_step or 0
    if epoch is not None and max_epoch and steps:
        done = ((epoch - 1) * steps + step) / (max_epoch * steps)
        label = f" {epoch}/{max_epoch}"
    elif steps:
        done = step / steps
        label = f" {step}/{steps}"
    else:
        return Text("")
    done = min(max(done, 0.0), 1.0)
    filled = round(done * _BAR_WIDTH)
    text = Text("█" * filled, style="green")
    text.append("░" * (_BAR_WIDTH - filled), style="dim")
    text.append(label)
    return text
