"""What the CLI says about jobs and events, in words that are safe on a terminal.

Outcomes (``Outcome``, ``JobResult``), durations, statuses, event details and
lines (events' and training logs'), all built from typed snapshot, event and
log line fields (a snapshot's raw response, which holds ``Environment`` and
``HyperParameters``, is never read).
Text from the service is untrusted: ``safe``, ``one_line`` and ``safe_cell``
show every control character as a visible escape.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import re
from dataclasses import dataclass

from rich.text import Span, Text

import sagemaker_watch as sw


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


def end_time(snapshot: sw.Snapshot) -> dt.datetime:
    """Return when the job ended, or the best known stand-in."""
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
    elapsed = duration((end_time(snapshot) - snapshot.creation_time).total_seconds())
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


def log_line(line: sw.LogLine, *, job: bool = False) -> str:
    """Return ``2024-05-06T09:37:59.006Z algo-1 | message`` for a training log line.

    With *job*, the job's name comes before the host (``... my-job algo-1 |
    message``), for the lines of several jobs. The message is as written: pass
    the result through ``safe`` before a terminal sees it.
    """
    moment = line.timestamp.astimezone(dt.UTC)
    millis = moment.microsecond // 1000
    where = f"{line.job_name} {line.host}" if job else line.host
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{millis:03d}Z {where} | {line.message}"


#: What the live view says of the push hints, by ``HintStatistics.state``.
_HINT_STATES = {
    "starting": "hints: starting",
    "flowing": "hints: flowing",
    "queue_failed": "hints: queue failing, polling",
    "queue_silent": "hints: queue silent, polling",
}


def hints_state(statistics: sw.HintStatistics) -> str:
    """Return a few words on whether hints flow, and if not, why."""
    return _HINT_STATES.get(statistics.state, f"hints: {statistics.state}")
