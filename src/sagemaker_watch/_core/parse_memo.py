"""The parse memo: a job's lists, as last read, so an unchanged row is not read again.

Why it exists: a watcher asks about the same job every few seconds, and the
answer's long lists (``SecondaryStatusTransitions``, ``FinalMetricDataList``) are
mostly what they were last time. Reading them was most of the library's own work
per poll. ``Snapshot.from_response`` therefore keeps, per job, the members each
list's parse reads (column by column) and what each row gave, and takes a row
equal to the one at its place last time from there instead of reading it again.

Why it is safe: a list is only reused when equal rows cannot parse differently
(``Memo`` says when and why), so the snapshot is exactly what
a full parse gives, whatever the job's answers were before, and a malformed
answer fails exactly as it always did. Only the members a parse reads are kept
(they are immutable values copied out of the answer), never the answer itself:
no ``Environment`` or ``HyperParameters`` is held here.

Pure: no I/O and no clock; the one piece of shared state, ``MEMO``, is guarded by
a lock.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
import threading
from dataclasses import dataclass
from itertools import compress, repeat
from typing import TYPE_CHECKING, Final, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

    from .snapshot import Metric, Transition

_T = TypeVar("_T")

#: The member types whose equal values a row's parse always reads alike.
_PLAIN: Final = frozenset({str, int, float, dt.datetime, type(None)})
_DICTS: Final = frozenset({dict})
_FIXED_ZONES: Final = frozenset({type(None), dt.timezone})
_FOLD: Final = operator.attrgetter("fold")
_ZONE: Final = operator.attrgetter("tzinfo")


@dataclass(frozen=True, slots=True, kw_only=True)
class RowSpec:
    """Which members of a list's entries its parse reads, and where to look closer.

    ``keys`` are the members, in the order the row reader unpacks them;
    ``times`` the positions of timestamps (no ``fold=1``, no zone but a fixed
    offset); ``signed`` the positions of numbers whose ``-0.0`` the parse keeps.
    """

    keys: tuple[str, ...]
    times: tuple[int, ...]
    signed: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Rows(Generic[_T]):
    """A list as last read: its columns, what each row gave (``None``: skipped).

    Columns, not rows: an unchanged list is then compared without building a
    tuple per row (which the garbage collector would then walk).
    """

    columns: tuple[tuple[object, ...], ...]
    items: tuple[_T | None, ...]
    parsed: tuple[_T, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Parsed:
    """A job's last answer as the memo keeps it, list by list.

    A list's rows if it was reusable; otherwise whether to try the next one
    (``True``) or read it plainly (``False``: it was tried and was not).
    """

    transitions: Rows[Transition] | bool
    metrics: Rows[Metric] | bool


class Memo:
    """The last parse of each job's lists, by job ARN, for the most recent jobs.

    A watcher asks about the same job every few seconds and the answer's long
    lists (the history, the final metrics) are mostly what they were; reading
    them was most of the library's work per poll. So the memo keeps, per job,
    the members each list's parse reads (column by column) and what each row
    gave, and a row equal to the one at its place last time is not read again.
    A job's first answer is read as without a memo (a fleet larger than the
    memo, whose jobs come round after being forgotten, pays nothing for it);
    from its second on, the lists are kept and reused.

    Equal rows must give the same result exactly, so a list is only reused when
    its parse cannot tell equal values apart: a list or tuple of plain dicts
    whose members are ``str``, ``int``, ``float``, ``datetime`` or ``None`` (not
    ``True``, which equals 1 but is no timestamp, nor ``Decimal``); timestamps
    without a zone or with a fixed offset, never ``fold=1`` (within one zone
    ``==`` ignores both, but they move the instant); no metric value ``-0.0``.
    Anything else is read as always. The members are copied out of the answer
    (they are immutable), so a caller who edits a response it passed before is
    read anew; the memo keeps no other member of the answer.

    Thread-safe: a lock guards the table (the blocking API parses in threads).
    """

    __slots__ = ("_entries", "_lock", "_size")

    def __init__(self, size: int = 1024) -> None:
        self._entries: dict[str, Parsed] = {}
        self._lock = threading.Lock()
        self._size = size

    def __repr__(self) -> str:
        return f"Memo(jobs={len(self)}, size={self._size})"

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, job_arn: str) -> Parsed | None:
        with self._lock:
            return self._entries.get(job_arn)

    def put(self, job_arn: str, parsed: Parsed) -> None:
        with self._lock:
            self._entries.pop(job_arn, None)
            self._entries[job_arn] = parsed
            while len(self._entries) > self._size:
                del self._entries[next(iter(self._entries))]


#: The process's memo, used by ``Snapshot.from_response``.
MEMO: Final = Memo()


def reuse(
    value: object,
    spec: RowSpec,
    *,
    state: Rows[_T] | bool,
    read_row: Callable[[int, tuple[object, ...]], _T | None],
) -> Rows[_T] | bool:
    """What the memo keeps of one list after this answer (see ``Parsed``).

    ``True`` and ``False`` mean the caller reads *value* plainly. A job's first
    answer (``False``) and every other answer of a list that was not reusable
    pay nothing for the memo: only a job asked about again, whose list may be
    reusable, pays for the checks.
    """
    if state is False:
        return True
    rows = _reread(value, spec, state if isinstance(state, Rows) else None, read_row)
    return False if rows is None else rows


def _reread(
    value: object,
    spec: RowSpec,
    last: Rows[_T] | None,
    read_row: Callable[[int, tuple[object, ...]], _T | None],
) -> Rows[_T] | None:
    """Read *value* row by row, reusing *last*'s rows; ``None`` if not reusable."""
    columns = _plain_columns(value, spec)
    if columns is None:
        return None
    if last is not None and last.columns == columns:
        return last
    before = () if last is None else tuple(zip(*last.columns, strict=True))
    gave = () if last is None else last.items
    items = tuple(
        gave[index]
        if index < len(before) and before[index] == row
        else read_row(index, row)
        for index, row in enumerate(zip(*columns, strict=True))
    )
    return Rows(
        columns=columns,
        items=items,
        parsed=tuple(item for item in items if item is not None),
    )


def _plain_columns(
    value: object, spec: RowSpec
) -> tuple[tuple[object, ...], ...] | None:
    """The members *spec* reads from the entries of *value*, key by key.

    ``None`` when equal rows of *value* might not parse alike (see ``Memo``). The
    checks run over whole columns in C: they are the cost of every reuse.
    """
    if type(value) is not list and type(value) is not tuple:
        return None
    if not value:
        return ((),) * len(spec.keys)
    if set(map(type, value)) != _DICTS:
        return None
    columns = tuple(tuple(map(dict.get, value, repeat(key))) for key in spec.keys)
    kinds = [set(map(type, column)) for column in columns]
    if (
        not all(map(_PLAIN.issuperset, kinds))
        or any(_zoned(columns[index], kinds[index]) for index in spec.times)
        or any(_negative_zero(columns[index], kinds[index]) for index in spec.signed)
    ):
        return None
    return columns


def _zoned(column: tuple[object, ...], kinds: set[type]) -> bool:
    """Whether a timestamp has ``fold=1`` or a zone other than a fixed offset."""
    if dt.datetime not in kinds:
        return False
    stamps = (
        column
        if len(kinds) == 1
        else tuple(compress(column, map(isinstance, column, repeat(dt.datetime))))
    )
    if any(map(_FOLD, stamps)):
        return True
    # By type: a zone need not be hashable (dateutil's tzutc is not).
    return not set(map(type, map(_ZONE, stamps))) <= _FIXED_ZONES


def _negative_zero(column: tuple[object, ...], kinds: set[type]) -> bool:
    if float not in kinds:
        return False
    zeros = compress(column, map(operator.eq, column, repeat(0)))
    return any(math.copysign(1, number) < 0 for number in zeros)  # type: ignore[arg-type]
