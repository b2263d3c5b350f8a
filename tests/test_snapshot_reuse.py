"""Snapshot parsing reuses the last parse of a job's history and metrics.

A watcher polls the same job every few seconds and the answer's long lists are
mostly unchanged, so ``Snapshot.from_response`` keeps, per job, the rows it last
read and what it made of them. The key property: with the memo or without it,
every answer gives the same snapshot, exactly (types, signs of zero, ``fold``,
the same error for a malformed answer), whatever came before.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import decimal
import fractions
import gc
import json
import math
import pathlib
import types
import zoneinfo
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagemaker_watch._core.parse_memo import Memo as _Memo
from sagemaker_watch._core.parse_memo import Rows as _Rows
from sagemaker_watch._core.snapshot import Snapshot, _parse
from sagemaker_watch._errors import MalformedResponse

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "describe-responses"
RECORDED = sorted(path.name for path in FIXTURES.glob("*.json"))
OBSERVED = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
ARN = "arn:aws:sagemaker:us-east-1:123456789012:training-job/job-1"
CANARY = "canary-s3cr3t-4f9d"
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


class _UnhashableUTC(dt.tzinfo):
    """UTC as a zone that cannot be hashed, as dateutil's ``tzutc`` cannot."""

    def utcoffset(self, _moment):
        return dt.timedelta(0)

    def dst(self, _moment):
        return dt.timedelta(0)

    def tzname(self, _moment):
        return "UTC"

    def __repr__(self):
        return "_UnhashableUTC()"

    def __eq__(self, other):
        return isinstance(other, _UnhashableUTC)

    __hash__ = None


def _load(name):
    data = json.loads((FIXTURES / name).read_text())
    return data.get("response", data)


def _exact(value):
    """A structure equal for two values only if they are the same, exactly.

    Dataclasses field by field, tuples item by item, anything else by type and
    ``repr`` (which tells ``-0.0`` from ``0.0``, shows ``fold=1`` and the zone).
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value),
            tuple(
                (f.name, _exact(getattr(value, f.name)))
                for f in dataclasses.fields(value)
                if f.name != "raw"
            ),
        )
    if isinstance(value, tuple):
        return tuple(_exact(item) for item in value)
    return (type(value), repr(value))


def _outcome(raw, memo):
    """What parsing *raw* gives: the snapshot exactly, or the error's type and text."""
    try:
        snapshot = _parse(Snapshot, raw, observed_at=OBSERVED, memo=memo)
    except (MalformedResponse, ValueError, TypeError, OverflowError) as error:
        return (type(error), str(error))
    assert dict(raw) == dict(snapshot.raw)
    return _exact(snapshot)


def _assert_same_with_and_without(answers, memo):
    """Each answer gives exactly the same outcome with *memo* as without a memo."""
    for raw in answers:
        assert _outcome(raw, None) == _outcome(raw, memo)


def _job(**members):
    return {
        "TrainingJobName": "job-1",
        "TrainingJobArn": ARN,
        "TrainingJobStatus": "InProgress",
        "CreationTime": dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC),
        **members,
    }


def _row(status, minute, *, ended=True, message=None):
    start = dt.datetime(2024, 5, 1, 12, minute, tzinfo=dt.UTC)
    row = {"Status": status, "StartTime": start}
    if ended:
        row["EndTime"] = start + dt.timedelta(seconds=30)
    if message is not None:
        row["StatusMessage"] = message
    return row


def _metric(name, value, second=0):
    return {
        "MetricName": name,
        "Value": value,
        "Timestamp": dt.datetime(2024, 5, 1, 13, 0, second, tzinfo=dt.UTC),
    }


@pytest.mark.parametrize("name", RECORDED)
def test_every_recorded_response_parses_the_same_with_the_memo(name):
    """Every recorded answer, alone and repeated, parses as it does without a memo."""
    raw = _load(name)
    _assert_same_with_and_without([raw, copy.deepcopy(raw), raw], _Memo())


def test_recorded_responses_in_a_row_under_one_job_parse_the_same():
    """Recorded answers one after another, as if of one job, parse as without a memo."""
    answers = [{**_load(name), "TrainingJobArn": ARN} for name in RECORDED]
    _assert_same_with_and_without(answers + answers[::-1], _Memo())


def _seen(memo, raw):
    """Parse *raw* once with *memo*: a job's first answer is only noted."""
    _parse(Snapshot, copy.deepcopy(raw), observed_at=OBSERVED, memo=memo)
    return memo


def test_an_unchanged_answer_reuses_the_last_parse():
    """An equal answer, received anew, reuses the parsed history and metrics."""
    raw = _job(
        SecondaryStatusTransitions=[_row("Starting", 0), _row("Training", 1)],
        FinalMetricDataList=[_metric("loss", 0.5)],
    )
    memo = _seen(_Memo(), raw)
    first = _parse(Snapshot, raw, observed_at=OBSERVED, memo=memo)
    second = _parse(Snapshot, copy.deepcopy(raw), observed_at=OBSERVED, memo=memo)
    assert first.transitions is second.transitions
    assert first.final_metrics is second.final_metrics


def test_a_first_answer_is_read_as_without_the_memo_and_the_job_noted():
    """A job's first answer is read plainly; its second is kept; its third reuses."""
    memo = _Memo()
    raw = _job(SecondaryStatusTransitions=[_row("Training", 0)])
    states = []
    for _ in range(3):
        _parse(Snapshot, copy.deepcopy(raw), observed_at=OBSERVED, memo=memo)
        entry = memo.get(ARN)
        states.append((type(entry.transitions), type(entry.metrics)))
    assert [(bool, bool), (_Rows, bool), (_Rows, bool)] == states
    assert True is memo.get(ARN).metrics


def test_a_list_not_reusable_is_read_plainly_then_tried_again():
    """A list that could not be reused is read plainly next time, then tried again."""
    memo = _Memo()
    raw = _job(SecondaryStatusTransitions=[_row("Training", 0)])
    odd = _job(SecondaryStatusTransitions=[{**_row("Training", 0), "EndTime": True}])
    tried = []
    for answer in (raw, odd, raw, raw, odd, odd, odd):
        _parse(Snapshot, answer, observed_at=OBSERVED, memo=memo)
        state = memo.get(ARN).transitions
        tried.append(state if isinstance(state, bool) else "rows")
    assert [True, False, True, "rows", False, True, False] == tried


def test_a_grown_history_reuses_the_rows_it_shares():
    """A history grown by one entry, its last one ended, reuses every unchanged row."""
    before = _job(
        SecondaryStatusTransitions=[
            _row("Starting", 0),
            _row("Downloading", 1),
            _row("Training", 2, ended=False, message="Training image download"),
        ],
    )
    after = _job(
        SecondaryStatusTransitions=[
            _row("Starting", 0),
            _row("Downloading", 1),
            _row("Training", 2, message="Training image download"),
            _row("Uploading", 3, ended=False),
        ],
    )
    memo = _seen(_Memo(), before)
    first = _parse(Snapshot, before, observed_at=OBSERVED, memo=memo)
    second = _parse(Snapshot, after, observed_at=OBSERVED, memo=memo)
    assert [True, True, False, False] == [
        old is new
        for old, new in zip((*first.transitions, None), second.transitions, strict=True)
    ]
    assert _outcome(after, None) == _exact(second)


def test_changed_metrics_reuse_the_unchanged_ones():
    """A metric list with one value changed reuses the other metrics' objects."""
    memo = _seen(_Memo(), _job(FinalMetricDataList=[_metric("a", 1.5)]))
    first = _parse(
        Snapshot,
        _job(FinalMetricDataList=[_metric("a", 1.5), _metric("b", 2.5)]),
        observed_at=OBSERVED,
        memo=memo,
    )
    second = _parse(
        Snapshot,
        _job(FinalMetricDataList=[_metric("a", 1.5), _metric("b", 3.5)]),
        observed_at=OBSERVED,
        memo=memo,
    )
    assert first.final_metrics[0] is second.final_metrics[0]
    assert 3.5 == second.final_metrics[1].value


def test_a_response_changed_in_place_is_read_anew():
    """A caller who edits the rows of a response it passed before gets the new rows."""
    memo = _Memo()
    raw = _job(
        SecondaryStatusTransitions=[_row("Training", 0, ended=False)],
        FinalMetricDataList=[_metric("loss", 0.5)],
    )
    _parse(Snapshot, raw, observed_at=OBSERVED, memo=memo)
    raw["SecondaryStatusTransitions"][0]["StatusMessage"] = "half way"
    raw["SecondaryStatusTransitions"].append(_row("Uploading", 1))
    raw["FinalMetricDataList"][0]["Value"] = 0.25
    snapshot = _parse(Snapshot, raw, observed_at=OBSERVED, memo=memo)
    assert ["half way", None] == [t.message for t in snapshot.transitions]
    assert 0.25 == snapshot.final_metrics[0].value


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (1, True),
        (True, 1),
        (0.0, -0.0),
        (0, -0.0),
        (1, decimal.Decimal(1)),
        (1, fractions.Fraction(1)),
        (1.0, complex(1)),
        (
            dt.datetime(2021, 11, 7, 1, 30, tzinfo=NEW_YORK),
            dt.datetime(2021, 11, 7, 1, 30, fold=1, tzinfo=NEW_YORK),
        ),
        (dt.datetime(2021, 1, 1), dt.datetime(2021, 1, 1, fold=1)),  # noqa: DTZ001 - naive on purpose
        (
            dt.datetime(2021, 1, 1, tzinfo=dt.UTC),
            dt.datetime(2021, 1, 1, fold=1, tzinfo=dt.UTC),
        ),
        (
            dt.datetime(2021, 1, 1, tzinfo=dt.UTC),
            dt.datetime(2021, 1, 1, tzinfo=_UnhashableUTC()),
        ),
    ],
    ids=repr,
)
@pytest.mark.parametrize("member", ["StartTime", "EndTime", "Value", "Timestamp"])
def test_equal_values_that_parse_apart_are_read_anew(before, after, member):
    """Values equal under ``==`` that parse differently are never mistaken for reuse."""
    transitions = member in {"StartTime", "EndTime"}

    def answer(value):
        if transitions:
            row = {**_row("Training", 0), member: value}
            return _job(SecondaryStatusTransitions=[row])
        return _job(FinalMetricDataList=[{**_metric("loss", 0.5), member: value}])

    assert before == after
    _assert_same_with_and_without(
        [answer(before), answer(after), answer(before)], _Memo()
    )


class _Row(Mapping):
    """A read-only mapping row, as a caller might pass instead of a dict."""

    def __init__(self, items):
        self._items = dict(items)

    def __getitem__(self, key):
        return self._items[key]

    def __iter__(self):
        return iter(self._items)

    def __len__(self):
        return len(self._items)


class _LyingDict(dict):
    """A dict whose ``get`` disagrees with its contents."""

    def get(self, key, default=None):
        return "Failed" if key == "Status" else super().get(key, default)


class _Str(str):
    """A string subclass, equal to the plain string."""

    __slots__ = ()


class _List(list):
    """A list subclass that yields its items in reverse."""

    def __iter__(self):
        return reversed(list(super().__iter__()))


def test_rows_that_are_not_plain_dicts_parse_as_without_the_memo():
    """Mapping rows, dict subclasses and list subclasses parse as without a memo."""
    row = _row("Training", 0)
    metric = _metric("loss", 0.5)
    answers = [
        _job(SecondaryStatusTransitions=[row], FinalMetricDataList=[metric]),
        _job(
            SecondaryStatusTransitions=[_Row(row)], FinalMetricDataList=[_Row(metric)]
        ),
        _job(
            SecondaryStatusTransitions=[_LyingDict(row)],
            FinalMetricDataList=[_LyingDict(metric)],
        ),
        _job(
            SecondaryStatusTransitions=[{**row, "Status": _Str("Training")}],
            FinalMetricDataList=[{**metric, "MetricName": _Str("loss")}],
        ),
        _job(
            SecondaryStatusTransitions=_List([row, _row("Uploading", 1)]),
            FinalMetricDataList=_List([metric, _metric("acc", 0.9)]),
        ),
        _job(SecondaryStatusTransitions=(row,), FinalMetricDataList=(metric,)),
    ]
    _assert_same_with_and_without(answers + answers[::-1], _Memo())


def test_the_memo_is_bounded_and_forgets_the_oldest_job():
    """Past its size the memo forgets the job parsed least recently."""
    memo = _Memo(size=2)
    for name in "abcb":
        raw = _job(
            TrainingJobArn=f"{ARN}-{name}",
            SecondaryStatusTransitions=[_row("Training", 0)],
        )
        _parse(Snapshot, raw, observed_at=OBSERVED, memo=memo)
    assert 2 == len(memo)
    assert {"a": True, "b": False, "c": False} == {
        name: memo.get(f"{ARN}-{name}") is None for name in "abc"
    }
    assert isinstance(memo.get(f"{ARN}-b").transitions, _Rows)


def test_the_memo_keeps_no_secret_and_no_response():
    """What the memo keeps never reaches Environment, HyperParameters or the answer."""
    memo = _Memo()
    raw = _job(
        Environment={"API_KEY": CANARY},
        HyperParameters={"password": CANARY},
        SecondaryStatusTransitions=[_row("Training", 0)],
        FinalMetricDataList=[_metric("loss", 0.5)],
    )
    _parse(Snapshot, raw, observed_at=OBSERVED, memo=memo)
    seen, stack = set(), [memo]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, type | types.ModuleType | types.FunctionType):
            continue  # code, not data: it reaches every constant in the process
        assert item is not raw
        assert CANARY != item
        stack.extend(gc.get_referents(item))


# Hypothesis: sequences of answers of one job, their rows drawn from a small pool so
# that rows repeat, with members of every type a caller or the wire might send.

#: Values equal under ``==`` (and so in a row's comparison) that parse apart, or
#: might: a twin of a row swaps one of these for another of its group.
_ALIKE = [
    [0, 0.0, -0.0, False],
    [1, 1.0, True, decimal.Decimal(1), fractions.Fraction(1), complex(1)],
    [1_636_263_000, 1_636_263_000.0, decimal.Decimal(1_636_263_000)],
    [dt.datetime(2021, 11, 7, 1, 30), dt.datetime(2021, 11, 7, 1, 30, fold=1)],  # noqa: DTZ001 - naive on purpose
    [
        dt.datetime(2021, 11, 7, 1, 30, tzinfo=NEW_YORK),
        dt.datetime(2021, 11, 7, 1, 30, fold=1, tzinfo=NEW_YORK),
    ],
    [
        dt.datetime(2021, 11, 7, 5, 30, tzinfo=dt.UTC),
        dt.datetime(2021, 11, 7, 5, 30, fold=1, tzinfo=dt.UTC),
        dt.datetime(2021, 11, 7, 6, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        dt.datetime(2021, 11, 7, 0, 30, tzinfo=NEW_YORK),
        dt.datetime(2021, 11, 7, 5, 30, tzinfo=_UnhashableUTC()),
    ],
    ["Training", _Str("Training")],
    ["NaN", _Str("NaN")],
]
_ODD = [2**70, 10**400, math.inf, math.nan, "", "-Infinity", "nope", "1e3"]
_ISO = ["2021-11-07T05:30:00Z", "2021-11-07T05:30:00+00:00", "2021-11-07T01:30:00"]


def _alike(value):
    """The group of ``_ALIKE`` *value* is one of (by type and repr), or ``None``."""
    shape = (type(value), repr(value))
    return next(
        (g for g in _ALIKE if any(shape == (type(m), repr(m)) for m in g)), None
    )


anything = st.one_of(
    st.sampled_from([None, *(v for group in _ALIKE for v in group), *_ODD, *_ISO]),
    st.datetimes(timezones=st.one_of(st.none(), st.just(dt.UTC), st.timezones())),
    st.floats(),
    st.integers(),
    st.text(max_size=3),
    st.lists(st.none(), max_size=1),
)
#: Members a reusable row holds (the first of each alike group among them).
plain_times = st.one_of(
    st.sampled_from([group[0] for group in _ALIKE if type(group[0]) is not str]),
    st.sampled_from([group[0] for group in _ALIKE if type(group[0]) is not str]),
    st.datetimes(timezones=st.just(dt.UTC)),
    st.floats(min_value=0, max_value=2e9),
    st.sampled_from(_ISO),
)
plain_texts = st.one_of(st.none(), st.sampled_from(["", "Training", "NaN", "loss"]))
plain_numbers = st.one_of(
    st.sampled_from([0, 0.0, 1, 1.0, 1_636_263_000]),
    st.floats(),
    st.sampled_from(["NaN", "Infinity", "nope"]),
)
plain_statuses = st.sampled_from(["Starting", "Training", "Quantum"])


@st.composite
def _twin(draw, row):
    """*row* with some alike members swapped for others of their group."""
    twin = dict(row)
    for key, value in row.items():
        group = _alike(value)
        if group is not None and draw(st.booleans()):
            shape = (type(value), repr(value))
            others = [v for v in group if (type(v), repr(v)) != shape]
            twin[key] = draw(st.sampled_from(others))
    return twin


def _rows(required, optional):
    """Plain rows, and odd ones: members missing or of any type, not dicts, junk."""
    keys = {**required, **optional}
    odd = st.fixed_dictionaries({}, optional=dict.fromkeys(keys, anything))
    return st.fixed_dictionaries(required, optional=optional), st.one_of(
        st.fixed_dictionaries({}, optional=keys),
        odd,
        odd.map(_Row),
        odd.map(_LyingDict),
        st.sampled_from([None, "row", 3]),
    )


transition_rows = _rows(
    {"Status": plain_statuses, "StartTime": plain_times},
    {"EndTime": plain_times, "StatusMessage": plain_texts},
)
metric_rows = _rows(
    {"MetricName": plain_texts, "Value": plain_numbers}, {"Timestamp": plain_times}
)


@st.composite
def _lists(draw, rows):
    """A list member's values over answers: rows repeat, sometimes odd ones.

    Returns a strategy for the member in one answer: mostly a list of rows drawn
    from one small pool of plain rows; sometimes with odd rows mixed in, a
    tuple, a list subclass, or not a list at all.
    """
    plain, odd = rows
    pool = draw(st.lists(plain, min_size=1, max_size=4))
    mixed = pool + draw(st.lists(odd, min_size=1, max_size=2))
    picks = st.lists(st.sampled_from(pool), max_size=6)
    some_odd = st.lists(st.sampled_from(mixed), max_size=6)
    return st.one_of(
        *[picks] * 4,
        some_odd,
        picks.map(tuple),
        picks.map(_List),
        st.sampled_from([None, "rows", {"a": 1}]),
    )


@st.composite
def _next_member(draw, member, fresh):
    """The member in the next answer: *fresh*, or *member* with twins swapped in."""
    if type(member) is not list or not draw(st.booleans()):
        return draw(fresh)
    return [
        draw(_twin(row)) if type(row) is dict and draw(st.booleans()) else row
        for row in member
    ]


@st.composite
def answer_sequences(draw):
    """Answers of one job whose histories and metrics share rows, equal or alike."""
    lists = {
        "SecondaryStatusTransitions": draw(_lists(transition_rows)),
        "FinalMetricDataList": draw(_lists(metric_rows)),
    }
    answers, last = [], {}
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        members = {
            key: draw(_next_member(last.get(key), fresh))
            for key, fresh in lists.items()
            if draw(st.integers(0, 3))
        }
        last = members
        answer = _job(**members)
        answers.append(copy.deepcopy(answer) if draw(st.booleans()) else answer)
    return answers


@settings(max_examples=400, deadline=None)
@given(answer_sequences())
def test_any_sequence_of_answers_parses_the_same_with_the_memo(answers):
    """Any answers of one job, in any order, parse exactly as without a memo."""
    _assert_same_with_and_without(answers, _Memo())


@settings(max_examples=200, deadline=None)
@given(answer_sequences(), answer_sequences())
def test_two_jobs_interleaved_parse_the_same_with_the_memo(first, second):
    """Answers of two jobs interleaved in one memo parse exactly as without it."""
    other = [{**answer, "TrainingJobArn": f"{ARN}-2"} for answer in second]
    interleaved = [a for pair in zip(first, other, strict=False) for a in pair]
    _assert_same_with_and_without(interleaved + first + other, _Memo(size=1))


def test_from_response_uses_the_process_memo():
    """``Snapshot.from_response`` reuses the last parse of an unchanged answer."""
    raw = _job(
        TrainingJobArn=f"{ARN}-process",
        SecondaryStatusTransitions=[_row("Training", 0)],
    )
    first, second, third = (
        Snapshot.from_response(copy.deepcopy(raw), observed_at=OBSERVED)
        for _ in range(3)
    )
    assert first.transitions is not second.transitions
    assert second.transitions is third.transitions
