"""One simulated job read directly: its defaults, describe answer and list view."""

from __future__ import annotations

import math

import pytest

from sagemaker_watch.testing import Completed, Failed, Timeline, plain, retry_restart
from sagemaker_watch.testing._jobs import SimulatedJob, default_request

T0 = 1_700_000_000.0
ARN = "arn:aws:sagemaker:us-east-1:123456789012:training-job/job"


def _job(timeline=None, **members):
    timeline = timeline or plain(starting=100, downloading=50, training=300)
    request = default_request(timeline, region="us-east-1", account_id="123456789012")
    request.update(members)
    return SimulatedJob("job", ARN, timeline, request, T0)


def test_default_request_is_realistic_and_follows_the_timeline():
    """Defaults name the region and account, and carry the timeline's limits."""
    request = default_request(
        retry_restart(), region="eu-west-1", account_id="111122223333"
    )
    assert request["RoleArn"].startswith("arn:aws:iam::111122223333:role/")
    assert (
        "s3://sagemaker-eu-west-1-111122223333/"
        == request["OutputDataConfig"]["S3OutputPath"]
    )
    assert request["AlgorithmSpecification"]["TrainingImage"].startswith(
        "763104351884.dkr.ecr.eu-west-1.amazonaws.com/"
    )
    assert retry_restart().stopping_condition() == request["StoppingCondition"]
    assert {"MaximumRetryAttempts": 2} == request["RetryStrategy"]
    assert request["EnableManagedSpotTraining"] is False
    assert "RetryStrategy" not in default_request(
        plain(), region="eu-west-1", account_id="111122223333"
    )


def test_describe_in_the_service_member_order():
    """A describe answer lists its members in the order the service sends them."""
    answer = _job().describe(T0 + 10)
    assert [
        "TrainingJobName",
        "TrainingJobArn",
        "ModelArtifacts",
        "TrainingJobStatus",
        "SecondaryStatus",
        "AlgorithmSpecification",
        "RoleArn",
        "InputDataConfig",
        "OutputDataConfig",
        "ResourceConfig",
        "StoppingCondition",
        "CreationTime",
        "LastModifiedTime",
        "SecondaryStatusTransitions",
        "EnableNetworkIsolation",
        "EnableInterContainerTrafficEncryption",
        "EnableManagedSpotTraining",
        "ProfilingStatus",
    ] == list(answer)
    assert (
        "s3://sagemaker-us-east-1-123456789012/job/output/model.tar.gz"
        == answer["ModelArtifacts"]["S3ModelArtifacts"]
    )


def test_describe_copies_what_the_request_set():
    """Options the request set come back; flags default to False; profiling shows."""
    answer = _job(
        HyperParameters={"epochs": "3"},
        VpcConfig={"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]},
        ProfilerConfig={"S3OutputPath": "s3://bucket/profile"},
        Environment={"MODE": "fast"},
        EnableNetworkIsolation=True,
    ).describe(T0 + 10)
    assert {"epochs": "3"} == answer["HyperParameters"]
    assert ["subnet-1"] == answer["VpcConfig"]["Subnets"]
    assert ("Enabled", {"MODE": "fast"}) == (
        answer["ProfilingStatus"],
        answer["Environment"],
    )
    assert (True, False) == (
        answer["EnableNetworkIsolation"],
        answer["EnableInterContainerTrafficEncryption"],
    )


def test_describe_times_are_milliseconds():
    """Every timestamp in an answer is rounded to the service's milliseconds."""
    job = SimulatedJob("job", ARN, plain(starting=0.12345), {}, T0 + 0.0004)
    answer = job.describe(T0 + 1)
    assert T0 + 0.0004 == job.created
    assert round(T0 + 0.0004, 3) == answer["CreationTime"]
    assert round(T0 + 0.0004 + 0.12345, 3) == answer["TrainingStartTime"]
    assert [round(T0 + 0.0004, 3), round(T0 + 0.0004 + 0.12345, 3)] == [
        entry["StartTime"] for entry in answer["SecondaryStatusTransitions"]
    ]
    assert (
        round(T0 + 0.0004 + 0.12345, 3)
        == (answer["SecondaryStatusTransitions"][0]["EndTime"])
    )


@pytest.mark.parametrize(
    ("value", "wire"),
    [(math.nan, "NaN"), (math.inf, "Infinity"), (-math.inf, "-Infinity"), (0.5, 0.5)],
)
def test_non_finite_metrics_are_strings(value, wire):
    """A metric value that JSON cannot hold travels as AWS writes it."""
    timeline = Timeline(
        phases=plain().phases, outcome=Completed(final_metrics=(("m", value),))
    )
    answer = _job(timeline).describe(T0 + 100_000)
    assert [wire] == [m["Value"] for m in answer["FinalMetricDataList"]]


def _keep_alive(seconds):
    return {
        "InstanceType": "ml.m5.large",
        "InstanceCount": 1,
        "VolumeSizeInGB": 10,
        "KeepAlivePeriodInSeconds": seconds,
    }


def test_warm_pool_is_available_then_terminated():
    """A kept pool is Available from completion, Terminated after its keep-alive."""
    job = _job(ResourceConfig=_keep_alive(600))
    end = job.plan.terminal_at
    before = job.describe(end - 1)
    assert "WarmPoolStatus" not in before
    available = job.describe(end + 1)
    assert {"Status": "Available"} == available["WarmPoolStatus"]
    assert round(end, 3) == available["LastModifiedTime"]
    terminated = job.describe(end + 600)
    assert {
        "Status": "Terminated",
        "ResourceRetainedBillableTimeInSeconds": 600,
    } == terminated["WarmPoolStatus"]
    assert round(end + 600, 3) == terminated["LastModifiedTime"]
    listed = job.listed(job.plan.summary(end + 600), end + 600)
    assert terminated["WarmPoolStatus"] == listed.warm_pool
    assert end + 600 == listed.modified


def test_no_warm_pool_without_keep_alive_or_completion():
    """Only a completed job that asked for a keep-alive keeps a warm pool."""
    assert "WarmPoolStatus" not in _job().describe(T0 + 100_000)
    failed = _job(
        Timeline(phases=plain().phases, outcome=Failed()),
        ResourceConfig=_keep_alive(600),
    )
    assert "WarmPoolStatus" not in failed.describe(T0 + 100_000)


def test_a_deleting_job_says_so_from_the_delete_on():
    """After a delete, the job shows Deleting, modified at the delete."""
    job = _job()
    job.deleting_at = T0 + 5000.0
    answer = job.describe(T0 + 5001)
    assert ("Deleting", T0 + 5000.0) == (
        answer["TrainingJobStatus"],
        answer["LastModifiedTime"],
    )
    listed = job.listed(job.plan.summary(T0 + 5001), T0 + 5001)
    assert ("Deleting", T0 + 5000.0) == (listed.primary, listed.modified)
    assert "Deleting" == job.primary_at(T0 + 5001)


def test_replan_stops_the_job_at_a_time():
    """A replan with a stop time lays the job out as stopped then."""
    job = _job()
    job.plan = job.replan(stop_at=T0 + 200)
    assert ("Stopping", "Stopped") == (
        job.primary_at(T0 + 200),
        job.plan.terminal_status,
    )
