"""Tests for events: the JSON contract, reprs and secrets."""

from __future__ import annotations

import datetime as dt
import json
from types import MappingProxyType

import pytest

from sagemaker_watch._core.events import (
    Event,
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
from sagemaker_watch._core.snapshot import Snapshot
from sagemaker_watch._core.status import PrimaryStatus, SecondaryStatus

CANARY = "canary-s3cr3t-77aa"
AT = dt.datetime(2026, 11, 24, 15, 16, 53, 123000, tzinfo=dt.UTC)
STARTED = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)
TOKEN = "tok"  # noqa: S105 - a resume token, not a password


@pytest.fixture(name="snapshot")
def _snapshot():
    return Snapshot.from_response(
        {
            "TrainingJobName": "job-1",
            "TrainingJobArn": "arn:aws:sagemaker:us-east-1:1:training-job/job-1",
            "TrainingJobStatus": "InProgress",
            "CreationTime": STARTED,
            "Environment": {"TOKEN": CANARY},
            "HyperParameters": {"secret": CANARY},
        },
        observed_at=AT,
    )


@pytest.fixture(name="events")
def _events(snapshot):
    base = {"job_name": "job-1", "at": AT, "resume_token": TOKEN, "snapshot": snapshot}
    return [
        JobObserved(
            **base,
            primary_status=PrimaryStatus.IN_PROGRESS,
            secondary_status=None,
            job_arn="arn:x",
            creation_time=STARTED,
        ),
        StatusEntered(
            **base,
            status=SecondaryStatus.TRAINING,
            previous_status=SecondaryStatus.DOWNLOADING,
            message="Training in progress",
            started_at=STARTED,
        ),
        Interrupted(
            **base,
            status=SecondaryStatus.INTERRUPTED,
            previous_status=SecondaryStatus.TRAINING,
            message=None,
            started_at=STARTED,
        ),
        StatusMessageChanged(
            **base,
            status=SecondaryStatus("Quantum"),
            message="new",
            previous_message="old",
        ),
        PrimaryStatusChanged(
            **base,
            status=PrimaryStatus.STOPPING,
            previous_status=PrimaryStatus.IN_PROGRESS,
        ),
        ProgressChanged(
            **base,
            current_step=1,
            total_steps_per_epoch=10,
            current_epoch=0,
            max_epoch=3,
        ),
        JobCompleted(
            **base,
            training_time_seconds=100,
            billable_time_seconds=40,
            model_artifacts="s3://b/model.tar.gz",
            final_metrics=MappingProxyType({"loss": 0.5}),
        ),
        JobFailed(**base, failure_reason="AlgorithmError: boom"),
        JobStopped(**base, reason=SecondaryStatus.MAX_RUNTIME_EXCEEDED),
    ]


EXPECTED_KEYS = {
    "job_observed": ["primary_status", "secondary_status", "job_arn", "creation_time"],
    "status_entered": ["status", "previous_status", "message", "started_at"],
    "interrupted": ["status", "previous_status", "message", "started_at"],
    "status_message_changed": ["status", "message", "previous_message"],
    "primary_status_changed": ["status", "previous_status"],
    "progress_changed": [
        "current_step",
        "total_steps_per_epoch",
        "current_epoch",
        "max_epoch",
    ],
    "job_completed": [
        "training_time_seconds",
        "billable_time_seconds",
        "model_artifacts",
        "final_metrics",
    ],
    "job_failed": ["failure_reason"],
    "job_stopped": ["reason"],
}


def test_json_keys_are_the_contract(events):
    """Each event's JSON keys are event, job_name, at, its fields, resume_token."""
    for event in events:
        document = event.to_json()
        own = EXPECTED_KEYS[document["event"]]
        assert ["event", "job_name", "at", *own, "resume_token"] == list(document)


def test_json_values_are_plain(events):
    """Enums become strings, datetimes ISO 8601 UTC with Z, and it all dumps."""
    documents = [event.to_json() for event in events]
    assert {
        "event": "status_entered",
        "job_name": "job-1",
        "at": "2026-11-24T15:16:53.123000Z",
        "status": "Training",
        "previous_status": "Downloading",
        "message": "Training in progress",
        "started_at": "2026-11-24T15:00:00.000000Z",
        "resume_token": "tok",
    } == documents[1]
    assert {"loss": 0.5} == documents[6]["final_metrics"]
    assert "Quantum" == documents[3]["status"]
    assert None is documents[0]["secondary_status"]
    assert type(documents[8]["reason"]) is str
    assert documents == json.loads(json.dumps(documents))


def test_non_utc_times_are_written_in_utc(snapshot):
    """A datetime in another zone is written as the same moment in UTC."""
    event = JobFailed(
        job_name="job-1",
        at=dt.datetime(2026, 1, 1, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        resume_token=TOKEN,
        snapshot=snapshot,
        failure_reason=None,
    )
    assert "2026-01-01T00:00:00.000000Z" == event.to_json()["at"]


def test_kinds_and_hierarchy():
    """Interrupted is a StatusEntered; the outcomes are JobEnded; names are stable."""
    assert issubclass(Interrupted, StatusEntered)
    assert all(issubclass(c, JobEnded) for c in (JobCompleted, JobFailed, JobStopped))
    assert all(
        issubclass(c, Event)
        for c in (
            JobObserved,
            StatusMessageChanged,
            PrimaryStatusChanged,
            ProgressChanged,
        )
    )
    assert "interrupted" == Interrupted.kind


def test_snapshot_and_secrets_stay_out(events):
    """No repr or JSON of an event shows the snapshot or its secrets."""
    for event in events:
        assert CANARY not in repr(event)
        assert CANARY not in json.dumps(event.to_json())
        assert "snapshot" not in event.to_json()


def test_short_repr(events):
    """The repr shows the job name and the event's own fields as plain values."""
    assert "JobStopped(job_name='job-1', reason='MaxRuntimeExceeded')" == repr(
        events[8]
    )
    assert "final_metrics={'loss': 0.5}" in repr(events[6])


def test_events_are_frozen_hashable_and_compare_without_snapshot(events, snapshot):
    """Events are immutable, hashable, and equal regardless of their snapshot."""
    other = Snapshot.from_response(dict(snapshot.raw), observed_at=STARTED)
    failed = events[7]
    same = JobFailed(
        job_name="job-1",
        at=AT,
        resume_token=TOKEN,
        snapshot=other,
        failure_reason="AlgorithmError: boom",
    )
    assert failed == same
    assert len(events) == len(set(events))
    with pytest.raises(AttributeError):
        failed.failure_reason = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        (float("-inf"), "-Infinity"),
        (1e308, 1e308),
    ],
)
def test_non_finite_metrics_are_strict_json(snapshot, value, expected):
    """Non-finite metric values become the wire's strings; strict JSON always works."""
    event = JobCompleted(
        job_name="job-1",
        at=AT,
        resume_token=TOKEN,
        snapshot=snapshot,
        training_time_seconds=None,
        billable_time_seconds=None,
        model_artifacts=None,
        final_metrics=MappingProxyType({"loss": value}),
    )
    document = json.loads(json.dumps(event.to_json(), allow_nan=False))
    assert {"loss": expected} == document["final_metrics"]


def test_every_event_dumps_as_strict_json(events):
    """No event's JSON needs NaN or Infinity: allow_nan=False always works."""
    for event in events:
        assert event.to_json() == json.loads(
            json.dumps(event.to_json(), allow_nan=False)
        )


def test_job_lost_is_an_event_with_flat_json(snapshot):
    """JobLost is an Event whose JSON names the error and the last resume token."""
    from sagemaker_watch._core.events import JobLost  # noqa: PLC0415 - under test
    from sagemaker_watch._errors import TrainingJobNotFound  # noqa: PLC0415

    lost = JobLost(
        job_name="job-1",
        at=AT,
        resume_token=TOKEN,
        snapshot=snapshot,
        error=TrainingJobNotFound("job-1"),
    )
    assert isinstance(lost, Event)
    assert {
        "event": "job_lost",
        "job_name": "job-1",
        "at": "2026-11-24T15:16:53.123000Z",
        "error": "TrainingJobNotFound",
        "message": "training job 'job-1' was not found",
        "resume_token": TOKEN,
    } == json.loads(json.dumps(lost.to_json(), allow_nan=False))
    assert "JobLost(job_name='job-1', error=TrainingJobNotFound)" == repr(lost)


def test_job_lost_before_any_event_has_no_token_and_no_snapshot():
    """A job lost before anything was reported carries null token and no snapshot."""
    from sagemaker_watch._core.events import JobLost  # noqa: PLC0415 - under test
    from sagemaker_watch._errors import TrainingJobNotFound  # noqa: PLC0415

    lost = JobLost(
        job_name="ghost",
        at=AT,
        resume_token=None,
        snapshot=None,
        error=TrainingJobNotFound("ghost"),
    )
    assert lost.to_json()["resume_token"] is None
    assert lost.snapshot is None
    assert CANARY not in json.dumps(lost.to_json())
