"""Tests for Snapshot parsing: recorded responses, every timestamp shape, secrets."""

from __future__ import annotations

import datetime as dt
import json
import math
import pathlib

import pytest

import sagemaker_watch
from sagemaker_watch._core.snapshot import JobIdentity, Metric, Progress, Snapshot
from sagemaker_watch._core.status import PrimaryStatus, SecondaryStatus
from sagemaker_watch._errors import MalformedResponse

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "describe-responses"
OBSERVED = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
CANARY = "canary-s3cr3t-4f9d"


def _load(name):
    data = json.loads((FIXTURES / name).read_text())
    return data.get("response", data)


def _minimal(**extra):
    response = {
        "TrainingJobName": "job-1",
        "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/job-1",
        "TrainingJobStatus": "InProgress",
        "CreationTime": dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC),
    }
    response.update(extra)
    return response


@pytest.fixture(name="completed")
def _completed():
    return Snapshot.from_response(_load("ack_completed.json"), observed_at=OBSERVED)


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.name)
def test_every_recorded_response_parses(path):
    """Every recorded response parses into a snapshot with UTC timestamps."""
    raw = _load(path.name)
    snapshot = Snapshot.from_response(raw, observed_at=OBSERVED)
    assert raw["TrainingJobName"] == snapshot.job_name
    assert dt.UTC == snapshot.creation_time.tzinfo
    assert all(t.started_at.tzinfo == dt.UTC for t in snapshot.transitions)


def test_completed_values(completed):
    """The Completed dump gives its statuses, times, metrics and artifacts."""
    assert PrimaryStatus.COMPLETED == completed.primary_status
    assert SecondaryStatus.COMPLETED == completed.secondary_status
    assert ["Starting", "Downloading", "Training", "Uploading", "Completed"] == [
        t.status for t in completed.transitions
    ]
    assert "Downloading input data" == completed.transitions[1].message
    assert (
        dt.datetime(2021, 10, 12, 5, 49, 40, 493000, tzinfo=dt.UTC)
        == completed.creation_time
    )
    assert (159, 159) == (
        completed.training_time_seconds,
        completed.billable_time_seconds,
    )
    assert (
        "s3://source-data-bucket-592697580195-us-west-2/sagemaker/training/output/model.tar.gz"
        == completed.model_artifacts
    )
    assert (
        Metric(
            name="train:merror",
            value=0.06942000240087509,
            timestamp=dt.datetime(2021, 10, 12, 5, 55, 16, tzinfo=dt.UTC),
        )
        == completed.final_metrics[0]
    )
    assert completed.is_terminal
    assert completed.stop_reason is None
    assert not completed.managed_spot
    assert OBSERVED == completed.observed_at


def test_stopping_before_its_transition():
    """Primary Stopping is read while the only transition is still Starting."""
    snapshot = Snapshot.from_response(
        _load("ack_stopping_secondary_starting.json"), observed_at=OBSERVED
    )
    assert PrimaryStatus.STOPPING == snapshot.primary_status
    assert SecondaryStatus.STARTING == snapshot.secondary_status
    assert 1 == len(snapshot.transitions)
    assert SecondaryStatus.STARTING == snapshot.transitions[0].status
    assert "Launching requested ML instances" == snapshot.transitions[0].message
    assert snapshot.transitions[0].ended_at is None
    assert not snapshot.is_terminal


def test_inconsistent_warm_pool_dumps_are_tolerated():
    """Hand-edited warm-pool dumps keep their disagreeing statuses as given."""
    in_use = Snapshot.from_response(
        _load("ack_warmpool_inuse_inconsistent_secondary.json"), observed_at=OBSERVED
    )
    terminated = Snapshot.from_response(
        _load("ack_warmpool_terminated_completed.json"), observed_at=OBSERVED
    )
    assert ("InUse", "Starting", "Downloading") == (
        in_use.warm_pool_status,
        in_use.secondary_status,
        in_use.transitions[-1].status,
    )
    assert ("Terminated", PrimaryStatus.COMPLETED, None) == (
        terminated.warm_pool_status,
        terminated.primary_status,
        terminated.model_artifacts,
    )


def test_python_repr_transcription_reads_naive_times_as_utc():
    """The boto3 repr transcription's naive ISO times are read as UTC."""
    snapshot = Snapshot.from_response(
        _load("readme_completed_hf_distilbert_2inst.json"), observed_at=OBSERVED
    )
    assert "finetune-distilbert-base-cased-2022-02-16-17-13-50" == snapshot.job_name
    assert dt.datetime(2022, 2, 16, 17, 14, 13, 461000, tzinfo=dt.UTC) == (
        snapshot.creation_time
    )
    assert (3031, 3031) == (
        snapshot.training_time_seconds,
        snapshot.billable_time_seconds,
    )
    assert 5 == len(snapshot.transitions)


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC),
        dt.datetime(2024, 5, 1, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        dt.datetime(2024, 5, 1, 12, 0),  # noqa: DTZ001 - naive on purpose
        1714564800,
        1714564800.0,
        "2024-05-01T12:00:00Z",
        "2024-05-01T12:00:00.000+00:00",
        "2024-05-01T12:00:00",
        "1714564800",
    ],
    ids=repr,
)
def test_timestamp_shapes(value):
    """Datetimes, epoch numbers and ISO strings all read as the same UTC moment."""
    snapshot = Snapshot.from_response(
        _minimal(CreationTime=value, LastModifiedTime=value), observed_at=OBSERVED
    )
    expected = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
    assert expected == snapshot.creation_time
    assert expected == snapshot.last_modified_time
    assert dt.UTC == snapshot.creation_time.tzinfo


def test_absent_and_null_members_are_tolerated():
    """Optional members that are absent, null or of the wrong type read as absent."""
    snapshot = Snapshot.from_response(
        _minimal(
            SecondaryStatusTransitions=None,
            FailureReason=None,
            LastModifiedTime="not a time",
            TrainingTimeInSeconds="12",
            ModelArtifacts=["nope"],
            FinalMetricDataList=[{"MetricName": "x"}, "junk", {"Value": 1.0}],
            ProgressInfo=None,
            WarmPoolStatus="Available",
            EnableManagedSpotTraining="yes",
        ),
        observed_at=OBSERVED,
    )
    assert (None, (), None, None, None, (), None, None, False) == (
        snapshot.secondary_status,
        snapshot.transitions,
        snapshot.failure_reason,
        snapshot.last_modified_time,
        snapshot.training_time_seconds,
        snapshot.final_metrics,
        snapshot.progress,
        snapshot.warm_pool_status,
        snapshot.managed_spot,
    )


def test_missing_secondary_status_comes_from_the_last_transition():
    """Without SecondaryStatus, the last transition's status stands in."""
    snapshot = Snapshot.from_response(
        _minimal(
            SecondaryStatusTransitions=[
                {"Status": "Starting", "StartTime": 1714564800},
                {"Status": "Quantum", "StartTime": 1714564860},
            ]
        ),
        observed_at=OBSERVED,
    )
    assert "Quantum" == snapshot.secondary_status


def test_progress_spot_and_wire_shapes():
    """ProgressInfo, managed spot and epoch-float metric times are read."""
    snapshot = Snapshot.from_response(
        _minimal(
            ProgressInfo={
                "CurrentStep": 40,
                "TotalStepCountPerEpoch": 100,
                "CurrentEpoch": 2,
                "MaxEpoch": 5,
            },
            EnableManagedSpotTraining=True,
            FinalMetricDataList=[
                {"MetricName": "loss", "Value": 1, "Timestamp": 1714564800.5}
            ],
            TrainingTimeInSeconds=12.0,
        ),
        observed_at=OBSERVED,
    )
    assert (
        Progress(
            current_step=40, total_steps_per_epoch=100, current_epoch=2, max_epoch=5
        )
        == snapshot.progress
    )
    assert snapshot.managed_spot
    assert (
        Metric(
            name="loss",
            value=1.0,
            timestamp=dt.datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=dt.UTC),
        ),
    ) == snapshot.final_metrics
    assert 12 == snapshot.training_time_seconds


@pytest.mark.parametrize(
    ("condition", "runtime", "wait"),
    [
        ({"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}, 3600, 7200),
        ({"MaxRuntimeInSeconds": 86400}, 86400, None),
        ({"MaxRuntimeInSeconds": "3600", "MaxWaitTimeInSeconds": True}, None, None),
        ({"MaxRuntimeInSeconds": 0, "MaxWaitTimeInSeconds": -5}, None, None),
        ({"MaxRuntimeInSeconds": 1.5}, None, None),
        ("one day", None, None),
        (None, None, None),
    ],
)
def test_stopping_condition_is_read_or_carried_as_absent(condition, runtime, wait):
    """StoppingCondition's limits are read; a limit of the wrong type is absent."""
    snapshot = Snapshot.from_response(
        _minimal(StoppingCondition=condition), observed_at=OBSERVED
    )
    assert (runtime, wait) == (snapshot.max_runtime_seconds, snapshot.max_wait_seconds)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("TrainingJobName", None),
        ("TrainingJobName", ""),
        ("TrainingJobArn", 5),
        ("TrainingJobStatus", None),
        ("CreationTime", None),
        ("CreationTime", "yesterday"),
        ("CreationTime", True),
        ("SecondaryStatusTransitions", "Training"),
        ("SecondaryStatusTransitions", [{"Status": "Training"}]),
        ("SecondaryStatusTransitions", [{"StartTime": 1714564800}]),
        ("SecondaryStatusTransitions", ["Training"]),
    ],
)
def test_malformed_required_members(key, value):
    """A required member missing or of the wrong type raises MalformedResponse."""
    with pytest.raises(MalformedResponse):
        Snapshot.from_response(_minimal(**{key: value}), observed_at=OBSERVED)


def test_absent_required_member():
    """A response without TrainingJobArn raises MalformedResponse."""
    raw = _minimal()
    del raw["TrainingJobArn"]
    with pytest.raises(MalformedResponse, match="TrainingJobArn"):
        Snapshot.from_response(raw, observed_at=OBSERVED)


def test_not_a_mapping():
    """A response that is not a mapping raises MalformedResponse."""
    with pytest.raises(MalformedResponse):
        Snapshot.from_response([], observed_at=OBSERVED)  # type: ignore[arg-type]


def test_secrets_never_reach_repr_or_str():
    """Environment and HyperParameters stay out of repr(), str() and equality."""
    raw = _minimal(
        Environment={"API_KEY": CANARY},
        HyperParameters={"password": CANARY},
    )
    snapshot = Snapshot.from_response(raw, observed_at=OBSERVED)
    assert CANARY not in repr(snapshot)
    assert CANARY not in str(snapshot)
    assert CANARY not in repr([snapshot])
    assert CANARY == snapshot.raw["Environment"]["API_KEY"]
    assert Snapshot.from_response(_minimal(), observed_at=OBSERVED) == snapshot


def test_short_repr(completed):
    """The repr names the job, both statuses and the number of transitions."""
    assert (
        "Snapshot(job_name='xgboost-training-job', primary_status='Completed', "
        "secondary_status='Completed', transitions=5)"
    ) == repr(completed)


def test_raw_is_read_only_and_a_copy():
    """The raw mapping cannot be changed, nor changes with the caller's dict."""
    raw = _minimal()
    snapshot = Snapshot.from_response(raw, observed_at=OBSERVED)
    raw["TrainingJobStatus"] = "Failed"
    assert "InProgress" == snapshot.raw["TrainingJobStatus"]
    with pytest.raises(TypeError):
        snapshot.raw["TrainingJobStatus"] = "Failed"  # type: ignore[index]


def test_identity_tells_reused_names_apart():
    """Two jobs of one name differ in identity by creation time."""
    first = Snapshot.from_response(_minimal(), observed_at=OBSERVED)
    second = Snapshot.from_response(
        _minimal(CreationTime=1714600000), observed_at=OBSERVED
    )
    assert first.identity != second.identity
    assert (
        JobIdentity(job_arn=first.job_arn, creation_time=first.creation_time)
        == first.identity
    )
    assert str(first.identity).endswith("created 2024-05-01T12:00:00.000000Z")


def _transitions(*statuses):
    return [
        {"Status": status, "StartTime": 1714564800 + 60 * index}
        for index, status in enumerate(statuses)
    ]


@pytest.mark.parametrize(
    ("statuses", "secondary", "expected"),
    [
        (("Training", "Stopping", "Stopped"), "Stopped", "Stopped"),
        (
            ("Training", "MaxRuntimeExceeded"),
            "MaxRuntimeExceeded",
            "MaxRuntimeExceeded",
        ),
        (
            ("Training", "Interrupted", "MaxWaitTimeExceeded"),
            "MaxWaitTimeExceeded",
            "MaxWaitTimeExceeded",
        ),
        (("Training", "Stopping"), "MaxPendingTimeExceeded", "MaxPendingTimeExceeded"),
        ((), None, "Stopped"),
    ],
)
def test_stop_reason(statuses, secondary, expected):
    """A Stopped job's reason is its last stop transition, else its secondary status."""
    extra = {"TrainingJobStatus": "Stopped"}
    if secondary is not None:
        extra["SecondaryStatus"] = secondary
    snapshot = Snapshot.from_response(
        _minimal(SecondaryStatusTransitions=_transitions(*statuses), **extra),
        observed_at=OBSERVED,
    )
    assert expected == snapshot.stop_reason
    assert isinstance(snapshot.stop_reason, SecondaryStatus)


def test_interruptions_are_counted():
    """Each Interrupted transition counts as one interruption."""
    snapshot = Snapshot.from_response(
        _minimal(
            SecondaryStatusTransitions=_transitions(
                "Starting",
                "Training",
                "Interrupted",
                "Starting",
                "Training",
                "Interrupted",
                "Training",
            )
        ),
        observed_at=OBSERVED,
    )
    assert 2 == snapshot.interruptions


@pytest.mark.parametrize(
    ("primary", "statuses", "secondary", "expected"),
    [
        ("Completed", ("Training", "Completed"), "Completed", "Completed"),
        ("Failed", ("Training", "Failed"), "Failed", "Failed"),
        ("Stopped", ("Training", "Stopped"), "Stopped", "Stopped"),
        ("Stopped", (), None, "Stopped"),
        ("InProgress", ("Training",), "Training", None),
        ("Stopping", ("Training", "Stopping"), "Stopping", None),
        # A known non-terminal primary status wins over a terminal secondary one.
        ("InProgress", ("Training", "Completed"), "Completed", None),
        ("completed", ("Training", "Completed"), "Completed", "Completed"),
        ("FAILED", ("Training", "Failed"), "Failed", "Failed"),
        ("Halted", ("Training", "Stopped"), "Stopped", "Stopped"),
        ("Halted", ("Training",), "MaxRuntimeExceeded", "Stopped"),
        ("Halted", ("Training",), "MaxWaitTimeExceeded", "Stopped"),
        ("Halted", ("Training",), "Training", None),
        ("Halted", (), None, None),
        ("Halted", ("Training",), "Quantum", None),
    ],
)
def test_outcome(primary, statuses, secondary, expected):
    """The outcome is a terminal primary status, or what an unknown one implies."""
    extra = {"TrainingJobStatus": primary}
    if secondary is not None:
        extra["SecondaryStatus"] = secondary
    snapshot = Snapshot.from_response(
        _minimal(SecondaryStatusTransitions=_transitions(*statuses), **extra),
        observed_at=OBSERVED,
    )
    assert expected == snapshot.outcome
    assert (expected is not None) == snapshot.is_terminal
    if expected is not None:
        assert snapshot.outcome.is_known
    assert primary == snapshot.primary_status


def test_stop_reason_of_an_unknown_primary_that_implies_stopped():
    """An unknown primary status ending in MaxRuntimeExceeded has that stop reason."""
    snapshot = Snapshot.from_response(
        _minimal(
            TrainingJobStatus="stopped",
            SecondaryStatus="MaxRuntimeExceeded",
            SecondaryStatusTransitions=_transitions("Training", "MaxRuntimeExceeded"),
        ),
        observed_at=OBSERVED,
    )
    assert "MaxRuntimeExceeded" == snapshot.stop_reason
    completed = Snapshot.from_response(
        _minimal(TrainingJobStatus="completed", SecondaryStatus="Completed"),
        observed_at=OBSERVED,
    )
    assert completed.stop_reason is None


def test_non_finite_metric_values_as_the_wire_sends_them():
    """The JSON protocol strings for NaN and the infinities become floats."""
    snapshot = Snapshot.from_response(
        _minimal(
            FinalMetricDataList=[
                {"MetricName": "a", "Value": "NaN"},
                {"MetricName": "b", "Value": "Infinity"},
                {"MetricName": "c", "Value": "-Infinity"},
                {"MetricName": "d", "Value": float("nan")},
                {"MetricName": "e", "Value": "1.5"},
                {"MetricName": "f", "Value": "lots"},
                {"MetricName": "g", "Value": True},
            ]
        ),
        observed_at=OBSERVED,
    )
    values = {m.name: m.value for m in snapshot.final_metrics}
    assert ["a", "b", "c", "d"] == list(values)
    assert math.isnan(values["a"])
    assert math.isnan(values["d"])
    assert (math.inf, -math.inf) == (values["b"], values["c"])


def test_lone_surrogates_and_control_characters_are_carried():
    """Text that is valid JSON but not valid UTF-8 or printable is carried as is."""
    text = "\ud800 bell\x07 nul\x00"
    snapshot = Snapshot.from_response(
        _minimal(
            TrainingJobStatus="Failed",
            FailureReason=text,
            SecondaryStatus=text,
            SecondaryStatusTransitions=[
                {"Status": text, "StartTime": 1714564800, "StatusMessage": text}
            ],
        ),
        observed_at=OBSERVED,
    )
    assert text == snapshot.failure_reason
    assert text == snapshot.secondary_status
    assert (text, text) == (
        snapshot.transitions[0].status,
        snapshot.transitions[0].message,
    )


def _ended(primary, *statuses, failure_reason=None):
    extra = {"FailureReason": failure_reason} if failure_reason else {}
    return Snapshot.from_response(
        _minimal(
            TrainingJobStatus=primary,
            SecondaryStatusTransitions=_transitions(*statuses),
            **extra,
        ),
        observed_at=OBSERVED,
    )


def test_raise_for_outcome_returns_a_completed_snapshot_for_chaining():
    """A Completed snapshot is returned as is, so the call chains."""
    snapshot = _ended("Completed", "Training", "Completed")
    assert snapshot is snapshot.raise_for_outcome()


def test_raise_for_outcome_raises_failed_with_the_reason():
    """A Failed snapshot raises TrainingJobFailed carrying it and its reason."""
    snapshot = _ended("Failed", "Training", "Failed", failure_reason="OOM")
    with pytest.raises(sagemaker_watch.TrainingJobFailed) as info:
        snapshot.raise_for_outcome()
    assert ("OOM", snapshot) == (info.value.failure_reason, info.value.snapshot)


@pytest.mark.parametrize(
    ("primary", "last", "reason"),
    [
        ("Stopped", "Stopped", "Stopped"),
        ("Stopped", "MaxRuntimeExceeded", "MaxRuntimeExceeded"),
        ("stopped", "MaxWaitTimeExceeded", "MaxWaitTimeExceeded"),
    ],
)
def test_raise_for_outcome_raises_stopped_with_the_reason(primary, last, reason):
    """A Stopped snapshot, known or implied, raises TrainingJobStopped with a reason."""
    snapshot = _ended(primary, "Training", last)
    with pytest.raises(sagemaker_watch.TrainingJobStopped) as info:
        snapshot.raise_for_outcome()
    assert (reason, snapshot) == (info.value.reason, info.value.snapshot)


def test_raise_for_outcome_judges_an_unknown_primary_by_its_outcome():
    """An unknown primary that implies Completed is returned, not raised."""
    snapshot = _ended("completed", "Training", "Completed")
    assert snapshot is snapshot.raise_for_outcome()


@pytest.mark.parametrize("primary", ["InProgress", "Stopping", "Halted"])
def test_raise_for_outcome_of_a_running_job_is_a_usage_error(primary):
    """A job without an outcome yet raises UsageError (a RuntimeError), not success."""
    snapshot = _ended(primary, "Training")
    with pytest.raises(sagemaker_watch.UsageError, match="has not ended") as info:
        snapshot.raise_for_outcome()
    assert isinstance(info.value, RuntimeError)
    assert isinstance(info.value, sagemaker_watch.SageMakerWatchError)
