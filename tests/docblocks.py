"""Read the fenced blocks of our Markdown, their docs-test markers and shown output.

The conventions are described in ``tests/test_docs.py``, which runs the blocks.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

#: Blocks that are run: complete Python programs and shell sessions.
RUNNABLE = frozenset({"python", "console"})
#: Blocks that, right after a runnable one, show what it prints.
OUTPUT = frozenset({"json", "text", "output"})
#: Labels that look like code we run but would be passed over: use a runnable one.
MISLABELLED = frozenset(
    {"py", "python3", "pycon", "bash", "sh", "shell", "shell-session", "zsh"}
)

_FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)")
_MARKER = re.compile(r"^\s*<!--\s*docs-test:(?P<body>.*?)-->\s*$")
_SKIP = re.compile(r'^skip\s+reason="(?P<reason>[^"]*)"$')

#: What legitimately varies between runs, and what it becomes before comparing.
NORMALISE: tuple[tuple[re.Pattern[str], str], ...] = (
    # Times of day: event times and job timestamps follow the clocks.
    (
        re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?"),
        "<time>",
    ),
    # Resume tokens: they encode times and a digest of the history.
    (re.compile(r'("resume_token": )"[^"]*"'), r'\1"<token>"'),
    (re.compile(r"(resume_token=|resume=)'[^']*'"), r"\1'<token>'"),
    # Ports of the fake SageMaker (the OS picks them).
    (re.compile(r"http://127\.0\.0\.1:\d+"), "http://127.0.0.1:<port>"),
    # Trailing spaces.
    (re.compile(r"[ \t]+$", re.MULTILINE), ""),
)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Marker:
    """One ``<!-- docs-test: ... -->`` comment."""

    path: Path
    line: int
    body: str
    block: Block | None

    @property
    def where(self) -> str:
        """Return ``file:line``."""
        return f"{self.path.name}:{self.line}"


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Block:
    """One fenced block: where it opens, its label, its text, what is said of it."""

    path: Path
    line: int
    lang: str
    text: str
    markers: tuple[str, ...] = ()
    output: Block | None = None

    @property
    def where(self) -> str:
        """Return ``file:line`` of the opening fence."""
        return f"{self.path.name}:{self.line}"

    @property
    def skip_reason(self) -> str | None:
        """Return the reason of a skip marker, or ``None`` if the block runs."""
        for body in self.markers:
            match = _SKIP.match(body)
            if match:
                return match["reason"]
        return None

    @property
    def excerpt(self) -> bool:
        """Return whether the shown output is an excerpt, not all of it."""
        return "excerpt" in self.markers

    @property
    def notebook(self) -> bool:
        """Return whether the block is a notebook cell, with top-level ``await``."""
        return "notebook" in self.markers

    @property
    def pytest(self) -> bool:
        """Return whether the block is a test module, run by pytest."""
        return "pytest" in self.markers


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """One ``$ `` command of a console block and the lines shown after it."""

    line: int
    command: str
    shown: tuple[str, ...]


def parse(path: Path) -> tuple[list[Block], list[Marker]]:
    """Return every fenced block of *path*, outputs attached, and every marker."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    markers: list[Marker] = []
    pending: list[tuple[int, str]] = []
    gap_only_blank = False
    index = 0
    while index < len(lines):
        line = lines[index]
        marker = _MARKER.match(line)
        if marker:
            pending.append((index + 1, " ".join(marker["body"].split())))
            index += 1
            continue
        fence = _FENCE.match(line)
        if not fence:
            if line.strip():
                gap_only_blank = False
                markers.extend(_loose(path, pending))
                pending = []
            index += 1
            continue
        close = fence["fence"]
        body: list[str] = []
        index += 1
        while index < len(lines) and not (
            lines[index].startswith(close) and not lines[index].strip(close[0])
        ):
            body.append(lines[index])
            index += 1
        index += 1
        block = Block(
            path=path,
            line=_opening(index, body),
            lang=fence["lang"].lower(),
            text="\n".join(body) + "\n",
            markers=tuple(body_ for _, body_ in pending),
        )
        previous = blocks[-1] if blocks else None
        if (
            gap_only_blank
            and previous is not None
            and previous.lang in RUNNABLE
            and previous.output is None
            and block.lang in OUTPUT
        ):
            blocks[-1] = dataclasses.replace(previous, output=block)
        blocks.append(block)
        markers.extend(
            Marker(path=path, line=number, body=text, block=block)
            for number, text in pending
        )
        pending = []
        gap_only_blank = True
    markers.extend(_loose(path, pending))
    return blocks, markers


def _opening(after_close: int, body: list[str]) -> int:
    """Return the 1-based line of the opening fence, from the index after closing."""
    return after_close - len(body) - 1


def _loose(path: Path, pending: list[tuple[int, str]]) -> list[Marker]:
    return [
        Marker(path=path, line=number, body=text, block=None)
        for number, text in pending
    ]


def commands(block: Block) -> list[Command]:
    """Split a console block into ``$ `` commands and the lines shown after each.

    Raises:
        ValueError: If a line comes before the first command.
    """
    result: list[Command] = []
    lines = block.text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.startswith("$ "):
            if not line.strip() and not result:
                index += 1
                continue
            msg = f"{block.where}: {line!r} comes before any '$ ' command"
            raise ValueError(msg)
        number = block.line + 1 + index
        command = [line[2:]]
        while command[-1].endswith("\\") and index + 1 < len(lines):
            index += 1
            command.append(lines[index])
        index += 1
        shown: list[str] = []
        while index < len(lines) and not lines[index].startswith("$ "):
            shown.append(lines[index])
            index += 1
        while shown and not shown[-1].strip():
            shown.pop()
        result.append(
            Command(line=number, command="\n".join(command), shown=tuple(shown))
        )
    return result


def normalise(text: str) -> list[str]:
    """Return *text*'s lines with what legitimately varies replaced (``NORMALISE``)."""
    for pattern, replacement in NORMALISE:
        text = pattern.sub(replacement, text)
    lines = text.splitlines()
    while lines and not lines[-1]:
        lines.pop()
    return lines


def mismatch(shown: str, printed: str, *, excerpt: bool) -> str | None:
    """Compare printed output with what the docs show; return why not, or ``None``.

    With *excerpt*, the shown lines must appear in the printed ones in order, with
    other lines allowed between; otherwise the two must be equal.
    """
    want = normalise(shown)
    got = normalise(printed)
    if excerpt:
        rest = iter(got)
        missing = [line for line in want if not any(line == have for have in rest)]
        if not missing:
            return None
        first = missing[0]
        return f"shown line not printed (in order): {first!r}\nprinted:\n" + "\n".join(
            got
        )
    if want == got:
        return None
    return "shown:\n" + "\n".join(want) + "\nprinted:\n" + "\n".join(got)
