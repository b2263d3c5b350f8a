"""The renderers' text handling: service text is made safe for a terminal."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from rich.console import Console
from rich.text import Text

from sagemaker_watch import Snapshot
from sagemaker_watch.cli._text import Outcome, one_line, outcome_of, safe, safe_cell


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
        ("\x1b[2J", "\\x1b[2J"),
        ("a\x9b31mb", "a\\x9b31mb"),
        ("del\x7f", "del\\x7f"),
        ("lone \ud800", "lone \\ud800"),
        ("tab\there\r\n", "tab\\there\\r\\n"),
        ("\x00\x85", "\\x00\\x85"),
        ("plain é ü 日本 █…", "plain é ü 日本 █…"),
    ],
)
def test_safe_shows_each_control_character_as_an_escape(raw, shown):
    """C0, C1, DEL and lone surrogates become visible escapes; the rest stays."""
    assert shown == safe(raw)


def test_safe_keeps_newlines_only_when_asked():
    """With newlines=True a newline stays and every other control is escaped."""
    assert "a\nb\\x1b" == safe("a\nb\x1b", newlines=True)


def test_one_line_collapses_whitespace_and_cuts_long_text():
    """one_line joins lines with single spaces, escapes, and cuts at the limit."""
    assert "a b \\x1bc" == one_line("a\n\n b\t\x1bc")
    cut = one_line("x" * 500, limit=20)
    assert ("x" * 19 + "…", 20) == (cut, len(cut))


def test_safe_text_encodes_as_utf8():
    """Whatever the service sent, the safe text can be written as UTF-8."""
    every = "".join(map(chr, range(0x100))) + "\ud800\udfff"
    assert safe(every).encode("utf-8")


def test_safe_cell_keeps_styles_and_never_reads_markup():
    """A styled cell keeps each part's style; a str cell is literal, not markup."""
    cell = Text("Failed", style="red")
    cell.append("/Odd\x1b[2J", style="default")
    made = safe_cell(cell)
    assert "Failed/Odd\\x1b[2J" == made.plain
    assert ("red", [("default", 6, 17)]) == (
        made.style,
        [(str(s.style), s.start, s.end) for s in made.spans],
    )
    assert "[bold]x[/bold]" == safe_cell("[bold]x[/bold]").plain


def test_rendered_table_cell_carries_no_escape_character():
    """A cell drawn by rich after safe_cell holds no ESC of the service's own."""
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=80, color_system=None)
    console.print(safe_cell("msg \x1b]0;pwned\x07 \x9b2J"))
    assert "msg \\x1b]0;pwned\\x07 \\x9b2J\n" == out.getvalue()


@pytest.mark.parametrize(
    ("primary", "secondary", "expected"),
    [
        ("failed", "Failed", Outcome.FAILED),
        ("stopped", "MaxRuntimeExceeded", Outcome.STOPPED),
        ("completed", "Completed", Outcome.COMPLETED),
        ("Failed", "Failed", Outcome.FAILED),
    ],
)
def test_outcome_follows_the_snapshot_outcome(primary, secondary, expected):
    """An unknown primary status ends by its terminal secondary, as in the library."""
    snapshot = Snapshot.from_response(
        {
            "TrainingJobName": "job",
            "TrainingJobArn": "arn:aws:sagemaker:us-east-1:1:training-job/job",
            "TrainingJobStatus": primary,
            "SecondaryStatus": secondary,
            "CreationTime": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        },
        observed_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    assert expected == outcome_of(snapshot)
