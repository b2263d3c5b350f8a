"""Tests for the pure diff: exactly once, in order, terminal last, resumable."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import pathlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagemaker_watch._core.diff import (
    DiffResult,
    ResumeCursor,
    diff,
    diff_with_anomalies,
)
from sagemaker_watch._core.events import (
    Interrupted,
    JobCompleted,
    JobEnded,
    JobFailed,
    JobObserved,
    JobStopped,
    PrimaryStatusChanged,
    ProgressChanged,
    StatusEntered,
    StatusMessageChanged,
)
from sagemaker_watch._core.snapshot import Snapshot, Transition
from sagemaker_watch._core.status import (
    SECONDARY_OUTCOMES,
    PrimaryStatus,
    SecondaryStatus,
)
from sagemaker_watch._errors import InvalidResumeToken, JobReplaced

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "describe-responses"
T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
ARN = "arn:aws:sagemaker:us-east-1:123456789012:training-job/job-1"


def _response(*transitions, primary="InProgress", created=T0, **extra):
    """A synthetic DescribeTrainingJob response; transitions are (status, message)."""
    history = []
    for index, (status, message) in enumerate(transitions):
        entry = {"Status": status, "StartTime": T0 + dt.timedelta(minutes=index)}
        if message is not None:
            entry["StatusMessage"] = message
        history.append(entry)
    response = {
        "TrainingJobName": "job-1",
        "TrainingJobArn": ARN,
        "TrainingJobStatus": primary,
        "CreationTime": created,
        "SecondaryStatusTransitions": history,
    }
    if history:
        response["SecondaryStatus"] = history[-1]["Status"]
    response.update(extra)
    return response


def _snap(*transitions, seconds=0, **kwargs):
    return Snapshot.from_response(
        _response(*transitions, **kwargs),
        observed_at=T0 + dt.timedelta(hours=1, seconds=seconds),
    )


def _kinds(events):
    return [event.kind for event in events]


def _entered(events):
    return [
        (str(e.status), e.started_at) for e in events if isinstance(e, StatusEntered)
    ]


def test_first_observation_of_a_completed_job():
    """A first look at a finished job yields its whole story, terminal last."""
    raw = json.loads((FIXTURES / "ack_completed.json").read_text())
    snapshot = Snapshot.from_response(raw, observed_at=T0)
    events = diff(None, snapshot)
    assert ["job_observed", *["status_entered"] * 5, "job_completed"] == _kinds(events)
    assert [None, "Starting", "Downloading", "Training", "Uploading"] == [
        e.previous_status for e in events if isinstance(e, StatusEntered)
    ]
    completed = events[-1]
    assert isinstance(completed, JobCompleted)
    assert {
        "train:merror": 0.06942000240087509,
        "validation:merror": 0.07729999721050262,
    } == dict(completed.final_metrics)
    assert all(event.snapshot is snapshot for event in events)
    assert all(T0 == event.at for event in events)


def test_first_observation_while_stopping():
    """Stopping before any Stopping transition: observed, Starting entered, no end."""
    raw = json.loads((FIXTURES / "ack_stopping_secondary_starting.json").read_text())
    events = diff(None, Snapshot.from_response(raw, observed_at=T0))
    assert ["job_observed", "status_entered"] == _kinds(events)
    assert PrimaryStatus.STOPPING == events[0].primary_status
    assert "Launching requested ML instances" == events[1].message


def test_several_transitions_between_polls_are_all_reported():
    """A history that grew by three entries yields three StatusEntered, in order."""
    before = _snap(("Starting", "a"))
    after = _snap(
        ("Starting", "a"),
        ("Downloading", "b"),
        ("Training", "c"),
        ("Interrupted", None),
    )
    events = diff(before, after)
    assert ["status_entered", "status_entered", "interrupted"] == _kinds(events)
    assert isinstance(events[2], Interrupted)
    assert ["Starting", "Downloading", "Training"] == [
        e.previous_status for e in events
    ]


def test_primary_status_may_lead_the_history():
    """Primary Stopping before its transition yields PrimaryStatusChanged alone."""
    before = _snap(("Training", "t"))
    after = _snap(("Training", "t"), primary="Stopping")
    (event,) = diff(before, after)
    assert isinstance(event, PrimaryStatusChanged)
    assert (PrimaryStatus.STOPPING, PrimaryStatus.IN_PROGRESS) == (
        event.status,
        event.previous_status,
    )


def test_message_rewritten_in_place():
    """A rewritten message of the current status yields StatusMessageChanged."""
    before = _snap(("Training", "Downloading image"))
    after = _snap(("Training", "Training in progress"))
    (event,) = diff(before, after)
    assert isinstance(event, StatusMessageChanged)
    assert ("Training", "Training in progress", "Downloading image") == (
        event.status,
        event.message,
        event.previous_message,
    )
    assert () == diff(before, _snap(("Training", None)))


def test_message_rewrite_of_a_status_that_since_ended_comes_first():
    """A rewrite of the last reported entry precedes the entries after it."""
    before = _snap(("Training", "epoch 1"))
    after = _snap(("Training", "epoch 9"), ("Uploading", "u"))
    assert ["status_message_changed", "status_entered"] == _kinds(diff(before, after))


def test_progress_changes():
    """ProgressInfo is reported when first seen and when it changes, not when gone."""
    progress = {"CurrentStep": 1, "TotalStepCountPerEpoch": 10, "MaxEpoch": 2}
    first = _snap(("Training", "t"), ProgressInfo=progress)
    assert ["job_observed", "status_entered", "progress_changed"] == _kinds(
        diff(None, first)
    )
    second = _snap(("Training", "t"), ProgressInfo={**progress, "CurrentStep": 5})
    (event,) = diff(first, second)
    assert isinstance(event, ProgressChanged)
    assert (5, 10, None, 2) == (
        event.current_step,
        event.total_steps_per_epoch,
        event.current_epoch,
        event.max_epoch,
    )
    assert () == diff(second, _snap(("Training", "t")))


def test_failed_and_stopped_outcomes():
    """Failed carries its reason; a stopped spot job carries MaxWaitTimeExceeded."""
    running = _snap(("Training", "t"))
    failed = _snap(
        ("Training", "t"), ("Failed", "f"), primary="Failed", FailureReason="OOM"
    )
    events = diff(running, failed)
    assert ["status_entered", "primary_status_changed", "job_failed"] == _kinds(events)
    assert isinstance(events[-1], JobFailed)
    assert "OOM" == events[-1].failure_reason
    stopped = _snap(
        ("Training", "t"),
        ("Interrupted", "i"),
        ("MaxWaitTimeExceeded", "m"),
        primary="Stopped",
    )
    events = diff(running, stopped)
    assert isinstance(events[-1], JobStopped)
    assert SecondaryStatus.MAX_WAIT_TIME_EXCEEDED == events[-1].reason
    assert isinstance(events[0], Interrupted)


def test_nothing_after_the_terminal_event():
    """Once the terminal event was reported, later changes are ignored and noted."""
    done = _snap(("Training", "t"), ("Completed", "c"), primary="Completed")
    later = _snap(
        ("Training", "t"), ("Completed", "c"), ("Quantum", "q"), primary="Completed"
    )
    result = diff_with_anomalies(done, later)
    assert () == result.events
    assert 1 == len(result.anomalies)
    assert () == diff_with_anomalies(done, done).anomalies


def test_a_change_after_the_end_is_noted_once_however_often_polled():
    """A history changed after the terminal event is noted by one poll, not each."""
    done = _snap(("Training", "t"), ("Completed", "c"), primary="Completed")
    later = _snap(
        ("Training", "t"), ("Completed", "c"), ("Quantum", "q"), primary="Completed"
    )
    cursor = diff_with_anomalies(None, done).cursor
    noted = []
    for snapshot in (
        later,
        later,
        _snap(
            *[("Training", "t"), ("Completed", "c"), ("Quantum", "q")],
            primary="Completed",
        ),
    ):
        result = diff_with_anomalies(cursor, snapshot)
        noted.append(result.anomalies)
        cursor = result.cursor
    assert [("changed_after_end",), (), ()] == noted


def test_unknown_statuses_are_carried():
    """Unknown secondary and primary statuses flow through as-is."""
    before = _snap(("Training", "t"))
    after = _snap(("Training", "t"), ("Quantum", "q"), primary="Archiving")
    events = diff(before, after)
    assert ["Quantum", "Archiving"] == [str(e.status) for e in events]
    assert not events[0].status.is_known


def test_secondary_status_disagreeing_with_history():
    """SecondaryStatus that disagrees with the last transition does not matter."""
    before = _snap(("Starting", "s"), ("Downloading", "d"), SecondaryStatus="Starting")
    after = _snap(("Starting", "s"), ("Downloading", "d"), SecondaryStatus="Training")
    assert () == diff(before, after)


def test_shrinking_history_is_tolerated_and_reported():
    """A shorter history emits nothing, says so, and its regrowth is not repeated."""
    full = _snap(("Starting", "s"), ("Downloading", "d"), ("Training", "t"))
    short = _snap(("Starting", "s"), ("Downloading", "d"))
    result = diff_with_anomalies(full, short)
    assert () == result.events
    assert ("history_shrank",) == result.anomalies
    longer = _snap(
        ("Starting", "s"), ("Downloading", "d"), ("Training", "t"), ("Uploading", "u")
    )
    assert [("Uploading", longer.transitions[3].started_at)] == _entered(
        diff(result.cursor, longer)
    )


def test_rewritten_history_is_tolerated_and_reported():
    """An entry rewritten into another is reported, once, with the entries after it."""
    before = _snap(("Starting", "s"), ("Downloading", "d"))
    after = _snap(("Starting", "s"), ("Training", "t"), ("Uploading", "u"))
    result = diff_with_anomalies(before, after)
    assert ["Training", "Uploading"] == [str(e.status) for e in result.events]
    assert ("history_rewritten",) == result.anomalies
    assert ((), ()) == (
        diff_with_anomalies(result.cursor, after).events,
        diff_with_anomalies(result.cursor, after).anomalies,
    )


def test_replaced_job_raises():
    """A job of the same name created again raises JobReplaced, from a token too."""
    before = _snap(("Training", "t"))
    after = _snap(("Starting", "s"), created=T0 + dt.timedelta(days=1))
    with pytest.raises(JobReplaced) as caught:
        diff(before, after)
    assert f"{ARN} created 2024-05-01T12:00:00.000000Z" == caught.value.previous
    assert f"{ARN} created 2024-05-02T12:00:00.000000Z" == caught.value.current
    token = diff(None, before)[-1].resume_token
    with pytest.raises(JobReplaced):
        diff(ResumeCursor.from_token(token), after)
    other_arn = _snap(("Training", "t"), TrainingJobArn=ARN + "-2")
    with pytest.raises(JobReplaced):
        diff(ResumeCursor.from_token(token), other_arn)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "2.0.AAAAAAAA.0..I..0",
        "1.0.AAAAAAAA.0..I..2",
        "1.0.short.0..I..0",
        "2.AAAA.0.AAAAAAAA.0..I..2",
        "3.AAAA.0.AAAAAAAA.0..I..0",
    ],
)
def test_garbage_tokens_are_rejected(token):
    """Tokens this version did not write raise InvalidResumeToken."""
    with pytest.raises(InvalidResumeToken):
        ResumeCursor.from_token(token)


def test_non_string_token_is_rejected():
    """A token that is not a string raises InvalidResumeToken."""
    with pytest.raises(InvalidResumeToken):
        ResumeCursor.from_token(None)  # type: ignore[arg-type]


def test_token_shape():
    """Tokens are short, URL-safe and round-trip, even for odd primary statuses."""
    for primary in ("InProgress", "Archiving", "A-very-unusual status value"):
        snapshot = _snap(*[("Training", str(i)) for i in range(300)], primary=primary)
        token = ResumeCursor.from_snapshot(snapshot).to_token()
        assert re.fullmatch(r"[A-Za-z0-9._~!-]{1,64}", token), token
        assert token == ResumeCursor.from_token(token).to_token()


def test_cursor_repr_is_short():
    """A cursor's repr shows its job name and token only."""
    cursor = ResumeCursor.from_snapshot(_snap(("Training", "t")))
    assert f"ResumeCursor(job_name='job-1', token={cursor.to_token()!r})" == repr(
        cursor
    )


def test_resuming_after_a_message_change_loses_only_the_old_text():
    """After a resume, StatusMessageChanged cannot know the previous message."""
    before = _snap(("Training", "old"))
    after = _snap(("Training", "new"))
    token = diff(None, before)[-1].resume_token
    (event,) = diff(ResumeCursor.from_token(token), after)
    assert ("new", None) == (event.message, event.previous_message)


def test_diff_result_cursor_matches_the_last_token():
    """The result's cursor is the last event's watermark, or the input's if none."""
    first = _snap(("Starting", "s"))
    result = diff_with_anomalies(None, first)
    assert isinstance(result, DiffResult)
    assert result.events[-1].resume_token == result.cursor.to_token()
    again = diff_with_anomalies(result.cursor, first)
    assert () == again.events
    assert result.cursor == again.cursor


# --- property-based: random timelines, random polls ---------------------------------

#: Statuses met mid-job: none implies an outcome, even under an unknown primary.
KNOWN = [s.value for s in SecondaryStatus if s not in SECONDARY_OUTCOMES]
STATUSES = st.one_of(
    st.sampled_from(KNOWN),
    st.sampled_from(["Interrupted", "Training", "Starting"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzQ", min_size=1, max_size=10),
)
MESSAGES = st.sampled_from(["a", "b", "c", None])
OPS = st.one_of(
    st.tuples(st.just("enter"), STATUSES, MESSAGES),
    st.tuples(st.just("enter"), STATUSES, MESSAGES),
    st.tuples(st.just("rewrite"), MESSAGES),
    st.tuples(
        st.just("primary"), st.sampled_from(["InProgress", "Stopping", "Pausing"])
    ),
    st.tuples(st.just("secondary"), STATUSES),
    st.tuples(st.just("progress"), st.integers(0, 3)),
    st.tuples(st.just("spot"), st.booleans()),
)
OUTCOMES = st.sampled_from(
    [
        ("Completed", ["Uploading", "Completed"]),
        ("Completed", []),
        ("Failed", ["Failed"]),
        ("Stopped", ["Stopping", "Stopped"]),
        ("Stopped", ["MaxRuntimeExceeded"]),
        ("Stopped", ["Interrupted", "MaxWaitTimeExceeded"]),
        ("Stopped", []),
    ]
)


class _Timeline:
    """A scripted job: each step records one moment (a full response)."""

    def __init__(self):
        self.state = _response()
        del self.state["SecondaryStatusTransitions"]
        self.history = []
        self.moments = []

    def record(self):
        state = copy.deepcopy(self.state)
        if self.history:
            state["SecondaryStatusTransitions"] = copy.deepcopy(self.history)
        self.moments.append(state)

    def enter(self, status, message):
        start = T0 + dt.timedelta(minutes=len(self.moments))
        if self.history:
            self.history[-1]["EndTime"] = start
        self.history.append(
            {"Status": status, "StartTime": start, "StatusMessage": message}
        )
        self.state["SecondaryStatus"] = status

    def apply(self, op):
        match op:
            case ("enter", status, message):
                self.enter(status, message)
            case ("rewrite", message) if self.history:
                self.history[-1]["StatusMessage"] = message
            case ("primary", primary):
                self.state["TrainingJobStatus"] = primary
            case ("secondary", status):
                self.state["SecondaryStatus"] = status
            case ("progress", step):
                self.state["ProgressInfo"] = {"CurrentStep": step, "MaxEpoch": 3}
            case ("spot", _):
                self.state["EnableManagedSpotTraining"] = True
        self.record()


@st.composite
def _timelines(draw):
    timeline = _Timeline()
    timeline.record()
    for _ in range(draw(st.integers(0, 30))):
        timeline.apply(draw(OPS))
    primary, final = draw(OUTCOMES)
    split = draw(st.booleans())
    for index, status in enumerate(final):
        timeline.enter(status, draw(MESSAGES))
        if split and index < len(final) - 1:
            timeline.record()
    timeline.state["TrainingJobStatus"] = primary
    timeline.state["FailureReason"] = "boom" if primary == "Failed" else None
    timeline.record()
    count = len(timeline.moments)
    size = draw(st.integers(0, count))
    picks = draw(st.lists(st.integers(0, count - 1), min_size=size, max_size=size))
    polls = sorted({*picks, count - 1}) + draw(st.sampled_from([[], [count - 1]]))
    snapshots = [
        Snapshot.from_response(
            timeline.moments[index], observed_at=T0 + dt.timedelta(days=1, minutes=n)
        )
        for n, index in enumerate(polls)
    ]
    return timeline, snapshots


def _run(previous, snapshots):
    """Diff a chain of observations, returning (events, observation index) pairs."""
    out = []
    for index, snapshot in enumerate(snapshots):
        result = diff_with_anomalies(previous, snapshot)
        assert () == result.anomalies
        if result.events:
            assert result.events[-1].resume_token == result.cursor.to_token()
        assert diff(ResumeCursor.from_snapshot(snapshot), snapshot) == ()
        if isinstance(previous, Snapshot):
            assert result.events == diff(ResumeCursor.from_snapshot(previous), snapshot)
        out.extend((event, index) for event in result.events)
        previous = snapshot
    return out


def _without_previous_message(events):
    return [
        dataclasses.replace(e, previous_message=None)
        if isinstance(e, StatusMessageChanged)
        else e
        for e in events
    ]


@settings(max_examples=1000, deadline=None)
@given(data=_timelines())
def test_random_timelines_are_reported_exactly_once_in_order(data):
    """Every transition is entered once, in order; one terminal event, last."""
    timeline, snapshots = data
    events = [event for event, _ in _run(None, snapshots)]
    final = snapshots[-1]
    expected = [(str(t.status), t.started_at) for t in final.transitions]
    assert expected == _entered(events)
    for event in events:
        if isinstance(event, StatusEntered):
            assert (event.status == "Interrupted") == isinstance(event, Interrupted)
    assert isinstance(events[0], JobObserved)
    assert 1 == sum(isinstance(e, JobObserved) for e in events)
    assert 1 == sum(isinstance(e, JobEnded) for e in events)
    assert isinstance(events[-1], JobEnded)
    assert {
        "Completed": JobCompleted,
        "Failed": JobFailed,
        "Stopped": JobStopped,
    }[timeline.state["TrainingJobStatus"]] is type(events[-1])
    assert () == diff(final, final)
    for event in events:
        assert (
            event.resume_token == ResumeCursor.from_token(event.resume_token).to_token()
        )
        assert len(event.resume_token) <= 64


@settings(max_examples=500, deadline=None)
@given(data=_timelines(), later=st.integers(0, 12))
def test_resuming_from_any_token_yields_exactly_the_rest(data, later):
    """A cursor from any event's token yields exactly the events after that event."""
    _, snapshots = data
    emitted = _run(None, snapshots)
    events = [event for event, _ in emitted]
    for position, (event, index) in enumerate(emitted):
        cursor = ResumeCursor.from_token(event.resume_token)
        rest_here = [e for e, i in emitted[position + 1 :] if i == index]
        assert rest_here == list(diff(cursor, snapshots[index]))
        resume_at = min(len(snapshots) - 1, index + later)
        resumed = [e for e, _ in _run(cursor, snapshots[resume_at:])]
        remainder = events[position + 1 :]
        assert _entered(remainder) == _entered(resumed)
        assert not any(isinstance(e, JobObserved) for e in resumed)
        if remainder:
            assert isinstance(resumed[-1], JobEnded)
            assert 1 == sum(isinstance(e, JobEnded) for e in resumed)
        else:
            assert [] == resumed
        if resume_at == index:
            assert _without_previous_message(remainder) == _without_previous_message(
                resumed
            )


# --- rewritten, reordered and shrinking histories, through cursors ------------------


def _keyed(*entries, primary="InProgress"):
    """A snapshot whose history is (status, minute[, message]) entries.

    The message defaults to one of its own per entry.
    """
    history = [
        {
            "Status": status,
            "StartTime": T0 + dt.timedelta(minutes=minute),
            "StatusMessage": message[0] if message else f"{status} at {minute}",
        }
        for status, minute, *message in entries
    ]
    response = _response(primary=primary)
    response["SecondaryStatusTransitions"] = history
    if history:
        response["SecondaryStatus"] = history[-1]["Status"]
    return Snapshot.from_response(response, observed_at=T0 + dt.timedelta(days=1))


def _chain(*snapshots):
    """Diff observations through cursors, as Watch does: (events, anomalies) each."""
    previous = None
    out = []
    for snapshot in snapshots:
        result = diff_with_anomalies(previous, snapshot)
        out.append((result.events, result.anomalies))
        previous = result.cursor
    return out


def test_entry_rewritten_into_interrupted_is_reported_once_through_a_cursor():
    """Downloading rewritten into Interrupted yields Interrupted and one anomaly."""
    s, d, t, i = (
        ("Starting", 0),
        ("Downloading", 1),
        ("Training", 2),
        ("Interrupted", 1),
    )
    steps = _chain(_keyed(s, d), _keyed(s, d, t), _keyed(s, i, t), _keyed(s, i, t))
    (events, anomalies) = steps[2]
    assert ["interrupted"] == _kinds(events)
    assert ("history_rewritten",) == anomalies
    assert ((), ()) == steps[3]
    assert 1 == _keyed(s, i, t).interruptions


def test_reordered_history_reports_nothing_twice():
    """A reversed history is one anomaly: no message change, no second entry."""
    s, d, t, u = ("Starting", 0), ("Downloading", 1), ("Training", 2), ("Uploading", 3)
    steps = _chain(
        _keyed(s, d, t), _keyed(t, d, s), _keyed(u, t, d, s), _keyed(u, t, d, s)
    )
    assert [((), ("history_reordered",)), ((), ())] == [steps[1], steps[3]]
    (events, anomalies) = steps[2]
    assert [("Uploading", u[1])] == [
        (str(e.status), int((e.started_at - T0).total_seconds() // 60)) for e in events
    ]
    assert ("history_entry_inserted",) == anomalies


def test_history_that_shrinks_and_regrows_differently_loses_nothing():
    """A shrink is noted once; an Interrupted entry in the regrown part is reported."""
    s, d, t = ("Starting", 0), ("Downloading", 1), ("Training", 2)
    i, u = ("Interrupted", 3), ("Uploading", 4)
    steps = _chain(
        _keyed(s, d, t),
        _keyed(s, d),
        _keyed(s, d),
        _keyed(s, d, i),
        _keyed(s, d, i, u),
    )
    assert [((), ("history_shrank",)), ((), ())] == steps[1:3]
    assert (["interrupted"], ()) == (_kinds(steps[3][0]), steps[3][1])
    assert (["status_entered"], ()) == (_kinds(steps[4][0]), steps[4][1])


def test_entry_retimed_in_place_is_not_reported_again():
    """The same status at the same place with another start time is an anomaly only."""
    steps = _chain(
        _keyed(("Starting", 0), ("Downloading", 1, "d")),
        _keyed(("Starting", 0), ("Downloading", 5, "d")),
        _keyed(("Starting", 0), ("Downloading", 5, "d")),
    )
    assert [((), ("history_rewritten",)), ((), ())] == steps[1:]


def test_message_of_the_last_reported_entry_is_followed_when_it_moves():
    """After a reorder, a rewrite of the last reported entry's message is reported."""
    first = _keyed(("Starting", 0), ("Training", 1))
    later = _keyed(("Training", 1, "epoch 2"), ("Starting", 0))
    (_, (events, anomalies)) = _chain(first, later)
    assert [("Training", "epoch 2")] == [(str(e.status), e.message) for e in events]
    assert ("history_reordered",) == anomalies


FRESH = st.integers(0, 2**31)
MUTATIONS = st.one_of(
    st.tuples(st.just("append"), st.booleans()),
    st.tuples(st.just("truncate"), st.integers(1, 3)),
    st.tuples(st.just("swap"), st.integers(0, 20), st.integers(0, 20)),
    st.tuples(st.just("reverse")),
    st.tuples(st.just("drop"), st.integers(0, 20)),
    st.tuples(st.just("insert"), st.integers(0, 20), st.booleans()),
    st.tuples(st.just("restatus"), st.integers(0, 20), st.booleans()),
)


def _mutate(history, op, new_entry):
    """Apply one mutation to a history in place; *new_entry* makes fresh entries."""
    match op:
        case ("append", interrupted):
            history.append(new_entry(interrupted))
        case ("truncate", n):
            del history[max(0, len(history) - n) :]
        case ("swap", a, b) if history:
            a, b = a % len(history), b % len(history)
            history[a], history[b] = history[b], history[a]
        case ("reverse",):
            history.reverse()
        case ("drop", a) if history:
            del history[a % len(history)]
        case ("insert", a, interrupted):
            history.insert(a % (len(history) + 1), new_entry(interrupted))
        case ("restatus", a, interrupted) if history:
            a %= len(history)
            history[a] = (new_entry(interrupted)[0], history[a][1])


@st.composite
def _mutated_histories(draw):
    """Histories of unique (status, minute) entries, mutated in every way."""
    counter = iter(range(1, 10_000))
    interrupted_used = []

    def new_entry(interrupted):
        minute = next(counter)
        if interrupted and not interrupted_used:
            interrupted_used.append(minute)
            return ("Interrupted", minute)
        return (f"Q{minute}", minute)

    history = [new_entry(interrupted=False)]
    polls = [list(history)]
    for _ in range(draw(st.integers(1, 25))):
        _mutate(history, draw(MUTATIONS), new_entry)
        if draw(st.booleans()):
            polls.append(list(history))
    return polls


@settings(max_examples=500, deadline=None)
@given(polls=_mutated_histories())
def test_mutated_histories_report_every_entry_exactly_once(polls):
    """Whatever the server does to the history, each entry is entered exactly once."""
    previous = None
    seen = None
    emitted = []
    for entries in polls:
        snapshot = _keyed(*entries)
        result = diff_with_anomalies(previous, snapshot)
        keys = [(str(t.status), t.started_at) for t in snapshot.transitions]
        new = [
            (str(e.status), e.started_at)
            for e in result.events[1 if seen is None else 0 :]
        ]
        assert all(
            isinstance(e, StatusEntered)
            for e in result.events[1 if seen is None else 0 :]
        )
        assert sorted(new, key=keys.index) == new
        for event in result.events:
            if isinstance(event, StatusEntered):
                assert (event.status == "Interrupted") == isinstance(event, Interrupted)
        emitted.extend(new)
        extended = seen is None or keys[: len(seen)] == seen
        assert (not extended) == bool(result.anomalies)
        assert len(result.anomalies) <= 1
        if result.events:
            assert result.events[-1].resume_token == result.cursor.to_token()
        previous, seen = result.cursor, keys
    observed = {
        (status, T0 + dt.timedelta(minutes=minute))
        for entries in polls
        for status, minute in entries
    }
    assert len(emitted) == len(set(emitted))
    assert observed == set(emitted)


def _fresh_history(snapshot):
    """*snapshot* with its history in a new tuple, which no cache has seen."""
    fresh = (*snapshot.transitions,)  # tuple(t) would hand t itself back
    assert not snapshot.transitions or fresh is not snapshot.transitions
    return dataclasses.replace(snapshot, transitions=fresh)


def _outcomes(snapshots):
    """Each diff of a chain of observations, with what its cursor keeps off-token."""
    previous, out = None, []
    for snapshot in snapshots:
        result = diff_with_anomalies(previous, snapshot)
        cursor = result.cursor
        kept = (cursor.reported, cursor.seen, cursor.last_key)
        out.append((result.events, result.anomalies, cursor, *kept))
        previous = cursor
    return out


@settings(max_examples=300, deadline=None)
@given(data=_timelines(), repeats=st.lists(st.integers(1, 3), min_size=40, max_size=40))
def test_a_history_seen_again_diffs_as_a_fresh_copy_of_it(data, repeats):
    """Polls handing the same history tuple again diff exactly as fresh copies do."""
    _, snapshots = data
    last = snapshots[-1]
    extra = Transition(
        status=SecondaryStatus("Quantum"),
        started_at=T0 + dt.timedelta(days=2),
        ended_at=None,
        message=None,
    )
    changed = dataclasses.replace(last, transitions=(*last.transitions, extra))
    # After the end: the history changes, is polled again, then changes back.
    after = [changed, changed, last, last]
    polls = [s for s, n in zip(snapshots, repeats, strict=False) for _ in range(n)]
    polls += after
    assert _outcomes([_fresh_history(s) for s in polls]) == _outcomes(polls)


@settings(max_examples=300, deadline=None)
@given(polls=_mutated_histories(), repeats=st.lists(st.integers(1, 3), min_size=30))
def test_a_mutated_history_seen_again_diffs_as_a_fresh_copy_of_it(polls, repeats):
    """Rewritten, reordered and shrunk histories, polled again, diff as fresh copies."""
    snapshots = [
        _keyed(*entries)
        for entries, n in zip(polls, repeats, strict=False)
        for _ in range(n)
    ]
    assert _outcomes([_fresh_history(s) for s in snapshots]) == _outcomes(snapshots)


# --- digests and tokens ---------------------------------------------------------------


def test_lone_surrogate_in_a_message_is_digested():
    """A lone surrogate (valid JSON) in a status message neither crashes nor repeats."""
    first = _snap(("Training", "bad \ud800 text"))
    events = diff(None, first)
    assert ["job_observed", "status_entered"] == _kinds(events)
    cursor = diff_with_anomalies(None, first).cursor
    (changed,) = diff(cursor, _snap(("Training", "\udfff")))
    assert "\udfff" == changed.message
    assert () == diff(ResumeCursor.from_token(events[-1].resume_token), first)


def test_token_binds_the_job_name():
    """A token read for another job name raises InvalidResumeToken; its own is fine."""
    token = diff(None, _snap(("Training", "t")))[-1].resume_token
    with pytest.raises(InvalidResumeToken, match="another job"):
        ResumeCursor.from_token(token, job_name="job-2")
    cursor = ResumeCursor.from_token(token, job_name="job-1")
    assert "job-1" == cursor.job_name
    assert token == cursor.to_token()
    assert None is ResumeCursor.from_token(token).job_name


def test_version_one_tokens_are_still_read():
    """A token written by version 1 (no job name) is accepted for any name."""
    token = diff(None, _snap(("Training", "t")))[-1].resume_token
    version, _name, *rest = token.split(".")
    old = ".".join(("1", *rest))
    assert "2" == version
    for name in ("job-1", "job-2", None):
        cursor = ResumeCursor.from_token(old, job_name=name)
        assert () == diff(cursor, _snap(("Training", "t")))
        assert ["status_entered"] == _kinds(
            diff(cursor, _snap(("Training", "t"), ("Uploading", "u")))
        )


def test_entry_revealed_first_in_a_reversed_history_has_its_message_followed():
    """A new entry served at the front is the one whose message rewrites count."""
    s, d = ("Starting", 0), ("Downloading", 1)
    steps = _chain(
        _keyed(s, d),
        _keyed(("Training", 2, "epoch 1"), d, s),
        _keyed(("Training", 2, "epoch 2"), d, s),
    )
    assert ["status_entered"] == _kinds(steps[1][0])
    assert [("Training", "epoch 2")] == [
        (str(e.status), e.message) for e in steps[2][0]
    ]
