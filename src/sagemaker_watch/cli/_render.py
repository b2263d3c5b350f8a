"""Show the events of watched jobs: a live table, plain log lines, or JSON lines.

Training log lines (``logs``, ``watch --logs``) go the same ways: a plain line
each (above the live table on a terminal), or a JSON object each. The words
come from ``_text``. Text from the service (statuses, messages, FailureReason,
error messages, and log lines above all) is untrusted: every human-readable
output passes it through ``safe`` at one place (``LineRenderer.event`` and
``.line``, ``LiveRenderer.table`` and ``.line``, ``one_line`` for stderr and
``wait``'s line), so no control character reaches a terminal. ``--json`` is
ASCII-only JSON and needs nothing: it is the only output where log lines are
printed as written (JSON-escaped).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, Self

from rich.live import Live
from rich.table import Table
from rich.text import Text

from ._text import (
    JobResult,
    Outcome,
    describe,
    duration,
    end_time,
    event_line,
    hints_state,
    log_line,
    one_line,
    safe,
    safe_cell,
    times,
)

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Sequence
    from types import TracebackType
    from typing import TextIO

    from rich.console import Console

    import sagemaker_watch as sw


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

    def line(self, line: sw.LogLine) -> None:
        """Show one line of a job's training logs."""
        ...

    def result(self, result: JobResult) -> None:
        """Show how a job's watch ended."""
        ...

    def tick(self) -> None:
        """Refresh whatever shows elapsed time."""
        ...

    def hints(self, statistics: sw.HintStatistics) -> None:
        """Note what the push hints are doing (the live view says it)."""
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
    """Shared by the line and JSON renderers: problems go to stderr at once.

    With *events* false, only log lines are shown (``logs``); with *jobs*, a
    plain log line names its job (the lines of several jobs).
    """

    def __init__(
        self, out: TextIO, err: TextIO, *, events: bool = True, jobs: bool = False
    ) -> None:
        self._out = out
        self._problems = _Problems(err)
        self._events = events
        self._jobs = jobs

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

    def hints(self, statistics: sw.HintStatistics) -> None:
        """Nothing shows the hints (-v logs them)."""

    def _write(self, line: str) -> None:
        print(line, file=self._out, flush=True)


class LineRenderer(_StreamRenderer):
    """One plain line per event, for CI logs and pipes."""

    def event(self, event: sw.Event) -> None:
        """Write ``<time> <job> <kind> <detail>``, control characters escaped."""
        if self._events:
            self._write(safe(event_line(event)))

    def line(self, line: sw.LogLine) -> None:
        """Write ``<time> [<job>] <host> | <message>``, control characters escaped."""
        self._write(safe(log_line(line, job=self._jobs)))


class JsonRenderer(_StreamRenderer):
    """One JSON object per event: exactly ``json.dumps(event.to_json())``."""

    def event(self, event: sw.Event) -> None:
        """Write the event's JSON object on one line."""
        if self._events:
            self._write(json.dumps(event.to_json()))

    def line(self, line: sw.LogLine) -> None:
        """Write the log line's JSON object on one line: its message as written."""
        self._write(json.dumps(line.to_json()))


class NullRenderer(_StreamRenderer):
    """Shows no events, only problems (for ``wait``)."""

    def event(self, event: sw.Event) -> None:
        """Show nothing."""

    def line(self, line: sw.LogLine) -> None:
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
        self._hints: str | None = None
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

    def line(self, line: sw.LogLine) -> None:
        """Print the log line above the table (with its job's name if several)."""
        shown = log_line(line, job=len(self._rows) > 1)
        self._console.print(Text(safe(shown)))

    def result(self, result: JobResult) -> None:
        """Remember how the job's watch ended."""
        row = self._rows[result.job_name]
        row.result = result
        if result.snapshot is not None:
            row.snapshot = result.snapshot
        self._problems.add(result, hold=True)

    def hints(self, statistics: sw.HintStatistics) -> None:
        """Say in the table's last line whether hints flow."""
        self._hints = hints_state(statistics)

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
        if self._hints is not None:
            text.append(f" · {self._hints}", style="dim")
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
        end = end_time(snapshot) if ended else now
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
