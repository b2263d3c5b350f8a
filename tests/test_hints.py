"""Tests for push hints: reading SQS messages as hints, and coalescing them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import pathlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagemaker_watch._core.hints import (
    DEFAULT_WINDOW,
    EVENT_DETAIL_TYPE,
    EVENT_SOURCE,
    MAX_BODY_CHARS,
    MAX_PENDING_CLAIMS,
    CoalescerStatistics,
    Hint,
    HintCoalescer,
    HintVerdict,
    NotAHint,
    NotAHintReason,
    read_hint,
)
from sagemaker_watch._core.names import JOB_NAME_PATTERN
from sagemaker_watch._core.status import PrimaryStatus, SecondaryStatus

FIXTURE_DIR = pathlib.Path(__file__).parent / "fixtures" / "eventbridge"
FIXTURES = json.loads((FIXTURE_DIR / "hint-examples.json").read_text())
EXAMPLES = {example["name"]: example for example in FIXTURES["examples"]}
CANARY = FIXTURES["canary"]
BASE = EXAMPLES["current-epoch-ms-strings"]["body"]
SERVICE_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
MESSAGE_ID = "d1a7c0de-0000-4000-8000-00000000beef"
RECEIPT = "AQEB-receipt-handle-example=="
EXPLANATIONS = {
    f"not a training job hint: {text}"
    for text in (
        "not an SQS message with a string Body",
        f"body longer than {MAX_BODY_CHARS} characters",
        "body is not JSON (or nested too deeply)",
        "body is not an EventBridge event or SNS notice",
        f"event source is not {EVENT_SOURCE}",
        f"event detail-type is not {EVENT_DETAIL_TYPE}",
        "event has no detail object",
        "TrainingJobName missing or not a valid job name",
        "TrainingJobStatus or SecondaryStatus malformed",
    )
}


def _message(body):
    """An SQS message as ReceiveMessage returns it, around *body*."""
    text = body if isinstance(body, str) else json.dumps(body)
    return {
        "MessageId": MESSAGE_ID,
        "ReceiptHandle": RECEIPT,
        "MD5OfBody": "0" * 32,
        "Body": text,
    }


def _example_message(example):
    return _message(example["body_text"] if "body_text" in example else example["body"])


def _event(**detail):
    """The base event with *detail* members replaced (``None`` drops one)."""
    event = json.loads(json.dumps(BASE))
    for key, value in detail.items():
        if value is None:
            event["detail"].pop(key, None)
        else:
            event["detail"][key] = value
    return event


def _said(result):
    """Everything a result can say about itself: what a log line could hold."""
    return repr(result) + str(result) + repr(dataclasses.asdict(result))


def _time(text):
    return None if text is None else dt.datetime.fromisoformat(text)


# --- reading messages -----------------------------------------------------------


@pytest.mark.parametrize(
    "name", [n for n, e in EXAMPLES.items() if "hint" in e], ids=str
)
def test_each_documented_shape_reads_as_its_hint(name):
    """Every well-formed example gives the hint the fixture expects."""
    example = EXAMPLES[name]
    expected = example["hint"]
    hint = read_hint(_example_message(example))
    assert isinstance(hint, Hint)
    assert (
        Hint(
            job_name=expected["job_name"],
            primary_status=PrimaryStatus(expected["primary_status"]),
            secondary_status=(
                None
                if expected["secondary_status"] is None
                else SecondaryStatus(expected["secondary_status"])
            ),
            modified_at=_time(expected["modified_at"]),
            sent_at=_time(expected["sent_at"]),
            message_id=MESSAGE_ID,
            receipt_handle=RECEIPT,
        )
        == hint
    )


def test_the_documented_example_reads_as_its_hint():
    """The AWS page's example, as copied for the test kit, reads as a hint."""
    path = FIXTURE_DIR / "training-job-state-change.json"
    hint = read_hint(_message(path.read_text()))
    assert (
        Hint(
            job_name="89c96cc8-dded-4739-afcc-6f1dc936701d",
            primary_status=PrimaryStatus.COMPLETED,
            secondary_status=SecondaryStatus.COMPLETED,
            modified_at=dt.datetime(2020, 3, 10, 9, 18, 9, 50000, tzinfo=dt.UTC),
            sent_at=dt.datetime(2018, 10, 6, 12, 26, 13, tzinfo=dt.UTC),
            message_id=MESSAGE_ID,
            receipt_handle=RECEIPT,
        )
        == hint
    )


@pytest.mark.parametrize(
    "name", [n for n, e in EXAMPLES.items() if "reason" in e], ids=str
)
def test_each_hostile_example_is_not_a_hint_for_its_reason(name):
    """Every malformed example gives NotAHint with the fixture's reason."""
    example = EXAMPLES[name]
    result = read_hint(_example_message(example))
    assert (
        NotAHint(
            reason=NotAHintReason(example["reason"]),
            message_id=MESSAGE_ID,
            receipt_handle=RECEIPT,
        )
        == result
    )


@pytest.mark.parametrize("name", sorted(EXAMPLES), ids=str)
def test_no_example_says_its_secrets(name):
    """The canary in HyperParameters, Tags and names never shows in what is read."""
    result = read_hint(_example_message(EXAMPLES[name]))
    assert CANARY not in _said(result)


def test_the_fixture_carries_the_canary_in_every_secret_field():
    """The examples hide the canary where real events carry secrets."""
    detail = BASE["detail"]
    assert CANARY in detail["HyperParameters"].values()
    assert CANARY in detail["Tags"].values()
    assert CANARY in detail["Environment"].values()


def test_unknown_statuses_are_carried():
    """A status this version does not know is carried, not rejected."""
    hint = read_hint(_example_message(EXAMPLES["unknown-statuses"]))
    assert isinstance(hint, Hint)
    assert (False, False) == (
        hint.primary_status.is_known,
        hint.secondary_status is not None and hint.secondary_status.is_known,
    )


def test_the_receipt_handle_is_kept_but_not_shown():
    """Both outcomes carry the receipt handle to delete with, out of repr."""
    hint = read_hint(_message(BASE))
    not_a_hint = read_hint(_message("nonsense"))
    assert (RECEIPT, RECEIPT) == (hint.receipt_handle, not_a_hint.receipt_handle)
    assert RECEIPT not in repr(hint) + repr(not_a_hint) + str(not_a_hint)
    assert MESSAGE_ID in repr(hint)
    assert MESSAGE_ID in repr(not_a_hint)


@pytest.mark.parametrize(
    "message", [None, "Body", 42, ["Body"], {"MessageId": 7}], ids=repr
)
def test_something_other_than_a_message_is_not_a_hint(message):
    """A value that is not an SQS message with a string Body is reported as such."""
    result = read_hint(message)
    assert NotAHintReason.NOT_A_MESSAGE == result.reason
    assert (None, None) == (result.message_id, result.receipt_handle)


def test_a_message_without_a_body_keeps_its_handle():
    """A message with no Body is not a hint, and can still be deleted."""
    result = read_hint({"MessageId": MESSAGE_ID, "ReceiptHandle": RECEIPT})
    assert (
        NotAHint(
            reason=NotAHintReason.NOT_A_MESSAGE,
            message_id=MESSAGE_ID,
            receipt_handle=RECEIPT,
        )
        == result
    )


def test_a_body_larger_than_any_event_is_not_parsed():
    """A body over the size bound is refused before it is parsed."""
    body = json.dumps({**BASE, "padding": "x" * MAX_BODY_CHARS})
    assert NotAHintReason.TOO_LARGE == read_hint(_message(body)).reason


def test_a_body_just_within_the_bound_is_read():
    """A body of exactly the bound is still read."""
    text = json.dumps(BASE)
    body = text[:-1] + " " * (MAX_BODY_CHARS - len(text)) + "}"
    assert MAX_BODY_CHARS == len(body)
    assert isinstance(read_hint(_message(body)), Hint)


@pytest.mark.parametrize(
    "body",
    [
        "[" * 200_000,
        '{"a":' * 200_000,
        "1" * 5000,
        '{"source": ' + "9" * 5000 + "}",
        "",
        "\x00\x1b[2J",
        "NaN",
    ],
    ids=[
        "deep-list",
        "deep-object",
        "long-int",
        "long-int-member",
        "empty",
        "ctl",
        "nan",
    ],
)
def test_hostile_json_is_not_json_or_not_an_event(body):
    """Deep nesting, huge numbers and junk give a reason, never an exception."""
    assert read_hint(_message(body)).reason in {
        NotAHintReason.NOT_JSON,
        NotAHintReason.NOT_AN_EVENT,
    }


def test_an_sns_notification_is_unwrapped_once_only():
    """SNS around SNS around an event is not read as the event."""
    inner = EXAMPLES["sns-wrapped"]["body"]
    outer = {**inner, "Message": json.dumps(inner)}
    assert NotAHintReason.WRONG_SOURCE == read_hint(_message(outer)).reason


def test_a_raw_delivered_event_and_its_sns_notification_agree():
    """The same event reads the same with and without the SNS envelope."""
    raw = read_hint(_message(BASE))
    wrapped = read_hint(_example_message(EXAMPLES["sns-wrapped"]))
    assert raw == wrapped


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1764502021123", dt.datetime(2025, 11, 30, 11, 27, 1, 123000, tzinfo=dt.UTC)),
        (1764502021123, dt.datetime(2025, 11, 30, 11, 27, 1, 123000, tzinfo=dt.UTC)),
        (1764502021, dt.datetime(2025, 11, 30, 11, 27, 1, tzinfo=dt.UTC)),
        ("2025-11-30T11:27:01Z", dt.datetime(2025, 11, 30, 11, 27, 1, tzinfo=dt.UTC)),
        ("2025-11-30T11:27:01", dt.datetime(2025, 11, 30, 11, 27, 1, tzinfo=dt.UTC)),
        (
            "2025-11-30T12:27:01+01:00",
            dt.datetime(2025, 11, 30, 11, 27, 1, tzinfo=dt.UTC),
        ),
        ("0001-01-01T00:00:00+01:00", None),
        ("9999999999999999", None),
        (-1, None),
        (math.inf, None),
        (math.nan, None),
        (True, None),
        ("", None),
        ("1e3", None),
        ([1764502021123], None),
    ],
    ids=repr,
)
def test_event_times_read_every_documented_shape_and_nothing_else(value, expected):
    """LastModifiedTime reads from epoch ms (text or number), seconds and ISO 8601."""
    hint = read_hint(_message(_event(LastModifiedTime=value)))
    assert expected == hint.modified_at


def test_a_name_sagemaker_rejects_is_not_a_hint_even_if_the_arn_is_fine():
    """The name is what a hint names; an invalid one is refused, ARN or not."""
    event = _event(TrainingJobName="bad name")
    assert NotAHintReason.BAD_JOB_NAME == read_hint(_message(event)).reason


# --- hostile input, generated ------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.just(CANARY)
    | st.datetimes().map(dt.datetime.isoformat)
    | st.builds(
        lambda moment, hours: f"{moment.isoformat()}{hours:+03d}:00",
        st.datetimes(),
        st.integers(-23, 23),
    ),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
ENVELOPE_KEYS = st.sampled_from(
    ["source", "detail-type", "detail", "time", "Type", "Message", "id"]
)
DETAIL_KEYS = st.sampled_from(
    [
        "TrainingJobName",
        "TrainingJobStatus",
        "SecondaryStatus",
        "LastModifiedTime",
        "HyperParameters",
        "Tags",
        "FailureReason",
    ]
)


@st.composite
def _mutated_events(draw):
    """The base event with a few members, in the envelope or detail, replaced."""
    event = json.loads(json.dumps(BASE))
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            event[draw(ENVELOPE_KEYS)] = draw(JSON_VALUES)
        elif isinstance(event.get("detail"), dict):
            event["detail"][draw(DETAIL_KEYS)] = draw(JSON_VALUES)
    if draw(st.booleans()):
        event = {"Type": "Notification", "Message": json.dumps(event)}
    return event


BODIES = (
    st.text(max_size=200)
    | JSON_VALUES.map(json.dumps)
    | _mutated_events().map(json.dumps)
    | _mutated_events().map(
        lambda event: json.dumps(event)[: len(json.dumps(event)) // 2]
    )
)
MESSAGES = (
    st.fixed_dictionaries(
        {"Body": BODIES},
        optional={
            "MessageId": st.text(max_size=40),
            "ReceiptHandle": st.text(max_size=40),
        },
    )
    | JSON_VALUES
)


@settings(max_examples=400)
@given(MESSAGES)
def test_read_hint_never_raises_and_gives_only_checked_values(message):
    """Any message gives a Hint with checked fields or a NotAHint, never an error."""
    result = read_hint(message)
    assert isinstance(result, Hint | NotAHint)
    if isinstance(result, Hint):
        assert JOB_NAME_PATTERN.fullmatch(result.job_name)
        assert str(result.primary_status).isalnum()
        assert result.secondary_status is None or str(result.secondary_status).isalnum()
        assert all(
            t is None or t.tzinfo is dt.UTC
            for t in (result.modified_at, result.sent_at)
        )
        coalescer = HintCoalescer()
        coalescer.observed(result.job_name, _seen(0))
        assert isinstance(coalescer.offer(result, now=0.0), HintVerdict)


@settings(max_examples=400)
@given(MESSAGES)
def test_a_not_a_hint_quotes_nothing_of_the_message(message):
    """What NotAHint says is one of the fixed explanations, whatever the body."""
    result = read_hint(message)
    if isinstance(result, NotAHint):
        assert str(result) in EXPLANATIONS
        assert CANARY not in _said(result)


SECRET_FIELDS = st.sampled_from(
    ["HyperParameters", "Tags", "Environment", "FailureReason", "InputDataConfig"]
)


@settings(max_examples=300)
@given(_mutated_events(), SECRET_FIELDS, JSON_VALUES)
def test_a_secret_in_the_detail_never_shows_in_the_result(event, field, noise):
    """A canary in a secret-bearing member never reaches repr or str of the result."""
    secret = "hp-s3cr3t-in-" + field  # a valid job name, if it leaked into one
    if isinstance(event.get("detail"), dict):
        event["detail"][field] = {"token": secret, "noise": noise}
    assert secret not in _said(read_hint(_message(event)))


# --- coalescing ----------------------------------------------------------------------


def _hint(job="job-a", *, at=None, primary="InProgress", secondary="Training"):
    """A hint for *job*, claiming *at* seconds after the service epoch."""
    return Hint(
        job_name=job,
        primary_status=PrimaryStatus(primary),
        secondary_status=None if secondary is None else SecondaryStatus(secondary),
        modified_at=None if at is None else SERVICE_EPOCH + dt.timedelta(seconds=at),
        sent_at=None,
        message_id=None,
    )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Seen:
    """A snapshot, as the coalescer reads one."""

    last_modified_time: dt.datetime | None
    primary_status: PrimaryStatus
    secondary_status: SecondaryStatus | None


def _seen(at, primary="InProgress", secondary="Training"):
    return Seen(
        last_modified_time=(
            None if at is None else SERVICE_EPOCH + dt.timedelta(seconds=at)
        ),
        primary_status=PrimaryStatus(primary),
        secondary_status=None if secondary is None else SecondaryStatus(secondary),
    )


def test_a_first_hint_is_due_at_once_and_described_once():
    """One hint: due now, handed out once, then nothing is pending."""
    coalescer = HintCoalescer()
    assert HintVerdict.DUE == coalescer.offer(_hint(at=10), now=100.0)
    assert 100.0 == coalescer.next_due()
    assert ("job-a",) == coalescer.take_due(100.0)
    assert () == coalescer.take_due(200.0)
    assert coalescer.next_due() is None


def test_hints_arriving_together_give_one_describe():
    """Several hints for one job before its describe join the first."""
    coalescer = HintCoalescer()
    verdicts = [
        coalescer.offer(_hint(at=10), now=100.0),
        coalescer.offer(_hint(at=10), now=100.1),
        coalescer.offer(_hint(at=11, secondary="Uploading"), now=100.2),
    ]
    assert [HintVerdict.DUE, HintVerdict.COALESCED, HintVerdict.COALESCED] == verdicts
    assert ("job-a",) == coalescer.take_due(100.2)


def test_a_hint_within_the_window_waits_for_its_end():
    """A hint soon after a describe is deferred until the window has passed."""
    coalescer = HintCoalescer(window=2.0)
    coalescer.offer(_hint(at=10), now=100.0)
    coalescer.take_due(100.0)
    assert HintVerdict.DEFERRED == coalescer.offer(_hint(at=11), now=100.5)
    assert 102.0 == coalescer.next_due()
    assert () == coalescer.take_due(101.9)
    assert ("job-a",) == coalescer.take_due(102.0)


def test_a_snapshot_that_shows_a_hint_makes_it_stale():
    """A hint no newer than the last snapshot, with its statuses, costs nothing."""
    coalescer = HintCoalescer()
    coalescer.observed("job-a", _seen(20))
    assert HintVerdict.STALE == coalescer.offer(_hint(at=20), now=100.0)
    assert HintVerdict.STALE == coalescer.offer(_hint(at=5, secondary="X"), now=100.0)
    assert HintVerdict.STALE == coalescer.offer(_hint(at=20, secondary=None), now=1.0)
    assert coalescer.next_due() is None


def test_times_are_compared_to_the_millisecond_the_service_keeps():
    """A snapshot time a float rounding away from the event's still shows it."""
    coalescer = HintCoalescer()
    coalescer.observed("job-a", _seen(20.1229994))
    assert HintVerdict.STALE == coalescer.offer(_hint(at=20.123), now=100.0)
    assert HintVerdict.DUE == coalescer.offer(_hint(at=20.124), now=100.0)


def test_the_last_instant_a_datetime_holds_is_still_a_time():
    """A hint at the very end of year 9999 is coalesced, not an overflow."""
    coalescer = HintCoalescer()
    message = _message(_event(LastModifiedTime="9999-12-31T23:59:59.999900Z"))
    coalescer.observed("hint-example-1", _seen(0))
    assert HintVerdict.DUE == coalescer.offer(read_hint(message), now=0.0)


def test_a_hint_as_old_as_the_snapshot_but_other_statuses_is_news():
    """Same LastModifiedTime, other status: the snapshot may predate it; describe."""
    coalescer = HintCoalescer()
    coalescer.observed("job-a", _seen(20))
    assert HintVerdict.DUE == coalescer.offer(
        _hint(at=20, secondary="Uploading"), now=100.0
    )


def test_a_hint_without_a_time_is_never_stale():
    """A hint that does not say when the job changed always gets a describe."""
    coalescer = HintCoalescer()
    coalescer.observed("job-a", _seen(20))
    assert HintVerdict.DUE == coalescer.offer(_hint(at=None), now=100.0)
    coalescer.observed("job-a", _seen(30))
    assert ("job-a",) == coalescer.take_due(100.0)


def test_a_snapshot_that_shows_the_pending_hints_clears_them():
    """An answer arriving after the hints, showing them, saves their describe."""
    coalescer = HintCoalescer(window=5.0)
    coalescer.described("job-a", at=99.0)
    assert HintVerdict.DEFERRED == coalescer.offer(_hint(at=10), now=99.5)
    coalescer.observed("job-a", _seen(10))
    assert () == coalescer.take_due(110.0)
    assert coalescer.next_due() is None


def test_a_snapshot_showing_only_some_pending_hints_keeps_the_describe():
    """A pending hint newer than the snapshot still gets its describe."""
    coalescer = HintCoalescer(window=5.0)
    coalescer.described("job-a", at=99.0)
    coalescer.offer(_hint(at=10), now=99.5)
    coalescer.offer(_hint(at=12, secondary="Uploading"), now=99.6)
    coalescer.observed("job-a", _seen(10))
    assert ("job-a",) == coalescer.take_due(104.0)


def test_an_older_snapshot_arriving_late_does_not_move_back():
    """Snapshots answered out of order: the newest one decides what is stale."""
    coalescer = HintCoalescer()
    coalescer.observed("job-a", _seen(20))
    coalescer.observed("job-a", _seen(10, secondary="Downloading"))
    assert HintVerdict.STALE == coalescer.offer(_hint(at=15), now=100.0)


def test_a_poll_sent_after_a_hint_covers_it():
    """A describe the schedule sent after a hint arrived is its describe."""
    coalescer = HintCoalescer()
    coalescer.offer(_hint(at=None), now=100.0)
    coalescer.described("job-a", at=100.0)
    assert () == coalescer.take_due(200.0)


def test_a_poll_sent_before_a_hint_does_not_cover_it():
    """A describe sent before the hint arrived may predate the change."""
    coalescer = HintCoalescer(window=1.0)
    coalescer.offer(_hint(at=None), now=100.0)
    coalescer.described("job-a", at=99.9)
    assert ("job-a",) == coalescer.take_due(100.9)


def test_a_poll_reported_late_covers_only_the_hints_before_it():
    """A describe sent between two pending hints leaves the later one pending."""
    coalescer = HintCoalescer(window=0.0)
    coalescer.offer(_hint(at=None), now=0.0)
    coalescer.offer(_hint(at=None), now=1.0)
    coalescer.described("job-a", at=0.5)
    assert ("job-a",) == coalescer.take_due(1.0)


def test_many_distinct_pending_claims_are_cleared_only_by_a_describe():
    """Past the claims bound, a snapshot no longer clears the pending describe."""
    coalescer = HintCoalescer(window=5.0)
    coalescer.described("job-a", at=99.0)
    for at in range(MAX_PENDING_CLAIMS + 1):
        coalescer.offer(_hint(at=at), now=99.5)
    coalescer.observed("job-a", _seen(1000))
    assert ("job-a",) == coalescer.take_due(104.0)


def test_jobs_are_coalesced_apart():
    """Hints for two jobs give one describe each."""
    coalescer = HintCoalescer()
    coalescer.offer(_hint("job-a", at=1), now=1.0)
    coalescer.offer(_hint("job-b", at=1), now=1.0)
    coalescer.offer(_hint("job-a", at=2), now=1.0)
    assert ("job-a", "job-b") == coalescer.take_due(1.0)


def test_a_forgotten_job_is_not_described():
    """forget() drops a job's pending describe and what was seen of it."""
    coalescer = HintCoalescer()
    coalescer.offer(_hint(at=1), now=1.0)
    coalescer.forget("job-a")
    coalescer.forget("job-never-seen")
    assert () == coalescer.take_due(10.0)


def test_statistics_count_each_verdict_and_describe():
    """statistics() counts verdicts, describes handed out and pending jobs."""
    coalescer = HintCoalescer()
    coalescer.observed("job-a", _seen(5))
    coalescer.offer(_hint(at=1), now=0.0)
    coalescer.offer(_hint(at=10), now=0.0)
    coalescer.offer(_hint(at=11), now=0.0)
    coalescer.take_due(0.0)
    coalescer.offer(_hint(at=12), now=0.5)
    assert (
        CoalescerStatistics(
            due=1, deferred=1, coalesced=1, stale=1, describes=1, pending=1
        )
        == coalescer.statistics()
    )


def test_the_repr_is_short():
    """repr() shows the window and counts, not the hints."""
    coalescer = HintCoalescer()
    coalescer.offer(_hint(at=1), now=0.0)
    assert "HintCoalescer(window=1.0, jobs=1, pending=1)" == repr(coalescer)
    assert DEFAULT_WINDOW == coalescer.window


@pytest.mark.parametrize("window", [-1.0, math.inf, math.nan])
def test_a_window_must_be_finite_and_not_negative(window):
    """A negative or infinite window is refused at once."""
    with pytest.raises(ValueError, match="window"):
        HintCoalescer(window=window)


# --- coalescing, generated ---------------------------------------------------------

JOBS = st.sampled_from(["job-a", "job-b", "job-c"])
SECONDARIES = st.sampled_from([None, "Training", "Uploading"])
MODIFIED = st.none() | st.integers(0, 8)
OPERATIONS = st.lists(
    st.tuples(st.floats(0, 3), st.just("hint"), JOBS, MODIFIED, SECONDARIES)
    | st.tuples(st.floats(0, 3), st.just("take"), st.none(), st.none(), st.none())
    | st.tuples(
        st.floats(0, 3), st.just("poll"), JOBS, st.sampled_from([0, 1, 3]), st.none()
    )
    | st.tuples(st.floats(0, 3), st.just("seen"), JOBS, st.integers(0, 8), SECONDARIES),
    max_size=40,
)


def _shows(seen, hint):
    """The model's rule: a snapshot shows a hint no newer with its statuses."""
    seen_at, seen_secondary = seen
    hint_at, hint_secondary = hint
    if hint_at is None or hint_at > seen_at:
        return False
    return seen_at > hint_at or hint_secondary in {None, seen_secondary}


class _Run:
    """Drives a coalescer through operations and records what it did."""

    def __init__(self, window):
        self.window = window
        self.coalescer = HintCoalescer(window=window)
        self.news = []  # (job, arrived, claim): hints that were not stale
        self.describes = {}  # job -> [time]
        self.seen = {}  # job -> [(observed, claim)]

    def take(self, now):
        for job in self.coalescer.take_due(now):
            previous = self.describes.setdefault(job, [])
            assert all(now - when >= self.window - 1e-9 for when in previous)
            previous.append(now)

    def step(self, now, kind, job, at, secondary):
        if kind == "take":
            self.take(now)
        elif kind == "poll":  # a describe sent *at* seconds ago, reported now
            self.coalescer.described(job, at=now - at)
            self.describes.setdefault(job, []).append(now - at)
        elif kind == "seen":
            self.coalescer.observed(job, _seen(at, secondary=secondary))
            self.seen.setdefault(job, []).append((now, (at, secondary)))
        else:
            hint = _hint(job, at=at, secondary=secondary)
            claim = (at, secondary)
            verdict = self.coalescer.offer(hint, now=now)
            seen = [s for _, s in self.seen.get(job, [])]
            newest = max(reversed(seen), key=lambda s: s[0], default=None)
            shown = newest is not None and _shows(newest, claim)
            assert shown == (verdict == HintVerdict.STALE)
            if not shown:
                self.news.append((job, now, claim))
        due = self.coalescer.next_due()
        assert due is None or math.isfinite(due)
        assert (due is None) == (0 == self.coalescer.statistics().pending)

    def covered(self, job, arrived, claim):
        return any(when >= arrived for when in self.describes.get(job, [])) or any(
            when >= arrived and _shows(s, claim) for when, s in self.seen.get(job, [])
        )


@settings(max_examples=500)
@given(OPERATIONS, st.sampled_from([0.0, 0.5, 1.0, 2.5]))
def test_coalescing_never_misses_a_hint_and_never_describes_twice_a_window(
    operations, window
):
    """Duplicated, reordered and stale hints: each news hint is covered, one per window.

    Covered means a describe sent at or after the hint arrived, or a snapshot
    observed after it that shows it. Describes the coalescer hands out are at
    least a window after the job's previous describe, and stale hints are stale.
    """
    run = _Run(window)
    now = 0.0
    for step, *operation in operations:
        now += step
        run.step(now, *operation)
    while (due := run.coalescer.next_due()) is not None:
        now = max(now, due)
        run.take(now)
    assert [] == [news for news in run.news if not run.covered(*news)]


def test_a_job_with_a_describe_in_flight_stays_pending_until_it_answers():
    """Busy jobs are neither due nor handed out; their snapshot may cover the hint."""
    coalescer = HintCoalescer()
    coalescer.described("job-a", at=99.0)  # in flight, sent before the hint
    coalescer.offer(_hint(at=10), now=100.5)
    coalescer.offer(_hint("job-b", at=10), now=100.5)
    assert 100.5 == coalescer.next_due(busy={"job-a"})
    assert ("job-b",) == coalescer.take_due(101.0, busy={"job-a"})
    assert coalescer.next_due(busy={"job-a"}) is None
    assert coalescer.pending("job-a")
    coalescer.observed("job-a", _seen(10))  # the answer shows the claim
    assert not coalescer.pending("job-a")
    assert () == coalescer.take_due(102.0)


def test_a_busy_job_whose_answer_lags_is_described_after_it():
    """An answer older than the hint leaves it pending: one more describe."""
    coalescer = HintCoalescer()
    coalescer.described("job-a", at=99.0)
    coalescer.offer(_hint(at=10, secondary="Uploading"), now=100.5)
    coalescer.observed("job-a", _seen(5))
    assert ("job-a",) == coalescer.take_due(101.0)


@pytest.mark.parametrize(
    "message_id", ["\x1b[2Jgone", "a" * 129, 42, "line\nbreak"], ids=repr
)
def test_a_message_id_that_cannot_be_logged_safely_is_dropped(message_id):
    """The id is logged for a message that is not a hint: control characters never."""
    read = read_hint({"MessageId": message_id, "Body": "{}", "ReceiptHandle": "h"})
    assert (None, "h") == (read.message_id, read.receipt_handle)
