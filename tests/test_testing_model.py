"""The simulated SageMaker without sockets: every operation, quotas and accounting."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import pathlib
import pkgutil
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sagemaker_watch
import sagemaker_watch.testing
from sagemaker_watch.testing import (
    DEFAULT_QUOTAS,
    TIMELINE_TAG,
    ApiError,
    ManualClock,
    ProgressScript,
    Quota,
    SimulatedSageMaker,
    plain,
    spot_interrupted_once,
)

NOT_FOUND = ("ValidationException", "Requested resource not found.", 400)


@pytest.fixture(name="clock")
def _clock():
    """The simulated time of the service."""
    return ManualClock()


@pytest.fixture(name="service")
def _service(clock):
    """An empty simulated service on a manual clock, with no quotas."""
    return SimulatedSageMaker(clock=clock, quotas={})


def _request(name, **extra):
    return {
        "TrainingJobName": name,
        "RoleArn": "arn:aws:iam::123456789012:role/Role",
        "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/out"},
        "ResourceConfig": {
            "InstanceType": "ml.m5.large",
            "InstanceCount": 1,
            "VolumeSizeInGB": 10,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        **extra,
    }


def _raises(call, *args):
    with pytest.raises(ApiError) as excinfo:
        call(*args)
    return excinfo.value.code, excinfo.value.message, excinfo.value.status


def _statuses(answer):
    return (
        answer["TrainingJobStatus"],
        answer["SecondaryStatus"],
        [t["Status"] for t in answer["SecondaryStatusTransitions"]],
    )


def test_create_then_describe(service, clock):
    """A created job is described with its ARN, request members and float times."""
    answer = service.create_training_job(_request("job"))
    arn = "arn:aws:sagemaker:us-east-1:123456789012:training-job/job"
    assert {"TrainingJobArn": arn} == answer
    described = service.describe_training_job({"TrainingJobName": "job"})
    assert ("InProgress", "Starting", ["Starting"]) == _statuses(described)
    assert arn == described["TrainingJobArn"]
    assert clock.timestamp() == described["CreationTime"]
    assert {"MaxRuntimeInSeconds": 3600} == described["StoppingCondition"]
    assert "ml.m5.large" == described["ResourceConfig"]["InstanceType"]
    assert (
        "s3://bucket/out/job/output/model.tar.gz"
        == (described["ModelArtifacts"]["S3ModelArtifacts"])
    )


def test_create_picks_the_timeline_from_its_tag(service, clock):
    """The timeline tag picks a ready-made timeline; an unknown one is refused."""
    tags = [{"Key": TIMELINE_TAG, "Value": "failure"}]
    service.create_training_job(_request("job", Tags=tags))
    clock.advance(100000)
    assert "Failed" == service.describe_job("job")["TrainingJobStatus"]
    tags = [{"Key": TIMELINE_TAG, "Value": "nope"}]
    code, message, _ = _raises(
        service.create_training_job, _request("other", Tags=tags)
    )
    assert "ValidationException" == code
    assert message.startswith(f"Unknown {TIMELINE_TAG} 'nope'; known: failure, ")


def test_create_validates_the_name(service):
    """A name AWS's pattern refuses is a ValidationException quoting the pattern."""
    code, message, status = _raises(service.create_training_job, _request("-bad"))
    assert ("ValidationException", 400) == (code, status)
    assert (
        "1 validation error detected: Value '-bad' at 'trainingJobName' failed to "
        "satisfy constraint: Member must satisfy regular expression pattern: "
        "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
    ) == message


def test_create_refuses_a_taken_name(service):
    """A second job of the same name is ResourceInUse, naming the ARN."""
    service.create_training_job(_request("job"))
    code, message, _ = _raises(service.create_training_job, _request("job"))
    assert "ResourceInUse" == code
    assert message.endswith(
        "(arn:aws:sagemaker:us-east-1:123456789012:training-job/job)"
    )


@pytest.mark.parametrize(
    ("condition", "spot", "message"),
    [
        (
            None,
            False,
            (
                "1 validation error detected: Value null at 'stoppingCondition' failed "
                "to satisfy constraint: Member must not be null"
            ),
        ),
        (
            {"MaxRuntimeInSeconds": 0},
            False,
            (
                "1 validation error detected: Value '0' at "
                "'stoppingCondition.maxRuntimeInSeconds' failed to satisfy constraint: "
                "Member must have value greater than or equal to 1"
            ),
        ),
        (
            {"MaxRuntimeInSeconds": 0, "MaxWaitTimeInSeconds": 0},
            True,
            (
                "2 validation errors detected: Value '0' at "
                "'stoppingCondition.maxRuntimeInSeconds' failed to satisfy constraint: "
                "Member must have value greater than or equal to 1; Value '0' at "
                "'stoppingCondition.maxWaitTimeInSeconds' failed to satisfy "
                "constraint: Member must have value greater than or equal to 1"
            ),
        ),
        (
            {"MaxRuntimeInSeconds": 100},
            True,
            (
                "Invalid MaxWaitTimeInSeconds. It must be present and be greater "
                "than or equal to MaxRuntimeInSeconds"
            ),
        ),
        (
            {"MaxRuntimeInSeconds": 100, "MaxWaitTimeInSeconds": 50},
            True,
            (
                "Invalid MaxWaitTimeInSeconds. It must be present and be greater "
                "than or equal to MaxRuntimeInSeconds"
            ),
        ),
    ],
)
def test_create_validates_the_stopping_condition(service, condition, spot, message):
    """CreateTrainingJob refuses the StoppingConditions the service refuses."""
    request = _request(
        "job", StoppingCondition=condition, EnableManagedSpotTraining=spot
    )
    assert ("ValidationException", message, 400) == _raises(
        service.create_training_job, request
    )
    assert () == service.job_names()


def test_max_runtime_from_the_request_stops_the_job(service, clock):
    """A job created with MaxRuntimeInSeconds=100 is stopped 100 s into its run."""
    service.create_training_job(
        _request("job", StoppingCondition={"MaxRuntimeInSeconds": 100})
    )
    clock.advance(189)
    assert "Training" == service.describe_job("job")["SecondaryStatus"]
    clock.advance(31)
    answer = service.describe_job("job")
    assert ("Stopped", "MaxRuntimeExceeded") == _statuses(answer)[:2]
    assert 100 == answer["TrainingTimeInSeconds"]
    assert 100 == answer["TrainingEndTime"] - answer["TrainingStartTime"]


def test_max_wait_stops_a_spot_job(service, clock):
    """A spot job still running MaxWaitTimeInSeconds after creation is stopped then."""
    service.add_job(
        "job",
        spot_interrupted_once(),
        StoppingCondition={"MaxRuntimeInSeconds": 900, "MaxWaitTimeInSeconds": 1000},
    )
    clock.advance(1030)
    answer = service.describe_job("job")
    assert ("Stopped", "MaxWaitTimeExceeded") == _statuses(answer)[:2]
    assert 1000 == answer["TrainingEndTime"] - answer["CreationTime"]


def test_describe_missing(service):
    """Describing a job that does not exist is the service's not-found answer."""
    assert NOT_FOUND == _raises(
        service.describe_training_job, {"TrainingJobName": "missing"}
    )
    assert NOT_FOUND == _raises(service.describe_training_job, {})


def test_stop_flow(service, clock):
    """Stop turns the primary Stopping at once, then the job ends Stopped."""
    service.add_job("job", plain())
    clock.advance(500)
    assert {} == service.stop_training_job({"TrainingJobName": "job"})
    assert ("Stopping", "Training") == _statuses(service.describe_job("job"))[:2]
    clock.advance(35)
    assert ("Stopped", "Stopped") == _statuses(service.describe_job("job"))[:2]
    assert (
        "ValidationException",
        "The request was rejected because the training job is in status Stopped.",
        400,
    ) == _raises(service.stop_training_job, {"TrainingJobName": "job"})
    assert NOT_FOUND == _raises(
        service.stop_training_job, {"TrainingJobName": "missing"}
    )


def test_delete_flow(service, clock):
    """Delete refuses a running job; an ended one shows Deleting, then is gone."""
    service.add_job("job", plain())
    assert (
        "ValidationException",
        (
            "The request was rejected because the training job is in status "
            "InProgress. Stop the training job before deleting it."
        ),
        400,
    ) == _raises(service.delete_training_job, {"TrainingJobName": "job"})
    clock.advance(100000)
    assert {} == service.delete_training_job({"TrainingJobName": "job"})
    assert {} == service.delete_training_job({"TrainingJobName": "job"})
    answer = service.describe_job("job")
    assert "Deleting" == answer["TrainingJobStatus"]
    assert clock.timestamp() == answer["LastModifiedTime"]
    listed = service.list_training_jobs({})["TrainingJobSummaries"]
    assert ["Deleting"] == [row["TrainingJobStatus"] for row in listed]
    clock.advance(10)
    assert NOT_FOUND == _raises(
        service.describe_training_job, {"TrainingJobName": "job"}
    )
    assert () == service.job_names()
    service.create_training_job(_request("job"))
    assert ("job",) == service.job_names()


def test_python_side_errors(service, clock):
    """add_job, stop_job, describe_job and delete_job raise Python errors."""
    with pytest.raises(ValueError, match="regular expression"):
        service.add_job("-bad")
    with pytest.raises(ValueError, match="unknown timeline"):
        service.add_job("job", "nope")
    with pytest.raises(KeyError):
        service.stop_job("missing")
    with pytest.raises(KeyError):
        service.describe_job("missing")
    with pytest.raises(KeyError):
        service.delete_job("missing")
    service.add_job("job", "failure")
    clock.advance(100000)
    with pytest.raises(ValueError, match="status Failed"):
        service.stop_job("job")


def test_call_counts_charges_and_answers(clock):
    """call() counts every request, throttles past the quota and answers the rest."""
    service = SimulatedSageMaker(clock=clock)
    assert Quota(per_second=2.0, burst=2.0) == DEFAULT_QUOTAS["ListTrainingJobs"]
    answers = []
    for _ in range(3):
        try:
            answers.append(service.call("ListTrainingJobs", {}))
        except ApiError as exc:
            answers.append((exc.code, exc.message, exc.status))
    assert [
        {"TrainingJobSummaries": []},
        {"TrainingJobSummaries": []},
        ("ThrottlingException", "Rate exceeded", 400),
    ] == answers
    clock.advance(0.5)
    assert {"TrainingJobSummaries": []} == service.call("ListTrainingJobs", {})
    stats = service.statistics()
    assert {"ListTrainingJobs": 4} == dict(stats.requests)
    assert {"ListTrainingJobs": 1} == dict(stats.throttled)
    assert {} == dict(stats.faulted)


def test_call_refuses_an_unknown_operation(service):
    """An operation the service does not have is counted and refused."""
    assert (
        "UnknownOperationException",
        "Unknown operation CreateEndpoint",
        400,
    ) == _raises(service.call, "CreateEndpoint", {})
    assert 1 == service.request_count("CreateEndpoint")
    assert ("UnknownOperationException", "Unknown operation Nope", 400) == _raises(
        service.answer, "Nope", {}
    )


def test_set_quota_on_simulated_time(service, clock):
    """A quota set on an operation refills on simulated time; None lifts it."""
    service.add_job("job")
    service.set_quota("DescribeTrainingJob", per_second=1.0)
    request = {"TrainingJobName": "job"}
    service.call("DescribeTrainingJob", request)
    code, _, _ = _raises(service.call, "DescribeTrainingJob", request)
    assert "ThrottlingException" == code
    clock.advance(1)
    service.call("DescribeTrainingJob", request)
    service.set_quota("DescribeTrainingJob", per_second=None)
    for _ in range(5):
        service.call("DescribeTrainingJob", request)
    assert 8 == service.request_count("DescribeTrainingJob", "job")
    assert {"DescribeTrainingJob": 1} == dict(service.statistics().throttled)


def test_accounting(service):
    """Requests are counted per operation and job, faults recorded, all reset."""
    service.add_job("job")
    service.call("DescribeTrainingJob", {"TrainingJobName": "job"})
    service.receive("DescribeTrainingJob", {"TrainingJobName": "other"})
    service.record_fault("DescribeTrainingJob", throttled=True)
    service.call("ListTrainingJobs", {})
    service.answer("ListTrainingJobs", {})
    assert 3 == service.request_count()
    assert 2 == service.request_count("DescribeTrainingJob")
    assert 1 == service.request_count(job_name="other")
    assert 0 == service.request_count("ListTrainingJobs", "job")
    stats = service.statistics()
    assert {
        ("DescribeTrainingJob", "job"): 1,
        ("DescribeTrainingJob", "other"): 1,
    } == dict(stats.requests_by_job)
    assert {"DescribeTrainingJob": 1} == dict(stats.faulted)
    assert {"DescribeTrainingJob": 1} == dict(stats.throttled)
    service.reset_statistics()
    assert 0 == service.statistics().total


def test_defaults_and_repr(clock):
    """A service knows its region, account and clock, and says so briefly."""
    service = SimulatedSageMaker(
        clock=clock, region="eu-west-1", account_id="111122223333"
    )
    arn = service.add_job("job")
    assert "arn:aws:sagemaker:eu-west-1:111122223333:training-job/job" == arn
    assert ("eu-west-1", "111122223333", clock) == (
        service.region,
        service.account_id,
        service.clock,
    )
    assert f"SimulatedSageMaker(jobs=1, clock={clock!r})" == repr(service)
    assert isinstance(SimulatedSageMaker().clock, ManualClock)
    assert "ApiError('Code', 'message', 503)" == repr(ApiError("Code", "message", 503))


def test_progress_is_a_deprecated_alias():
    """testing.Progress still works, warns, and is no longer exported."""
    with pytest.warns(DeprecationWarning, match="use ProgressScript"):
        alias = sagemaker_watch.testing.Progress
    assert ProgressScript is alias
    assert "Progress" not in sagemaker_watch.testing.__all__
    with pytest.raises(AttributeError):
        _ = sagemaker_watch.testing.Nope


def _defined(module):
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and getattr(value, "__module__", None) == module.__name__
    }


def test_no_name_clashes_with_the_library():
    """No class or function of the kit has the name of one of the library's."""
    library, kit = set(), set()
    for info in pkgutil.walk_packages(sagemaker_watch.__path__, "sagemaker_watch."):
        if info.ispkg or info.name.endswith("__main__"):
            continue
        # An integration imports its engine (an extra): read where it is installed.
        extra = info.name.removeprefix("sagemaker_watch.integrations.")
        if extra != info.name and importlib.util.find_spec(extra) is None:
            continue
        names = _defined(importlib.import_module(info.name))
        (kit if info.name.startswith("sagemaker_watch.testing.") else library).update(
            names
        )
    assert {"ApiError", "ProgressScript", "QuotaBucket"} <= kit
    assert set() == kit & library
    assert set() == set(sagemaker_watch.testing.__all__) & set(sagemaker_watch.__all__)


# The package's __init__ imports the library, so it is not run: a bare package
# module pointing at the real source directory stands in for it.
PROBE = textwrap.dedent(
    """
    import importlib, json, sys, types

    package = types.ModuleType("sagemaker_watch")
    package.__path__ = [sys.argv[1]]
    sys.modules["sagemaker_watch"] = package
    importlib.import_module("sagemaker_watch.testing")
    print(json.dumps(sorted(sys.modules)))
    """
)


def test_kit_is_independent_of_the_library():
    """Importing the kit loads no module of the library, nor any AWS client."""
    spec = importlib.util.find_spec("sagemaker_watch")
    assert spec is not None
    assert spec.submodule_search_locations is not None
    source = next(iter(spec.submodule_search_locations))
    completed = subprocess.run(
        [sys.executable, "-I", "-c", PROBE, source],
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = json.loads(completed.stdout)
    ours = {
        name
        for name in loaded
        if name.startswith("sagemaker_watch.")
        and not name.startswith("sagemaker_watch.testing")
    }
    assert set() == ours
    kit_modules = {
        f"sagemaker_watch.testing.{info.name}"
        for info in pkgutil.iter_modules(sagemaker_watch.testing.__path__)
        if info.name != "pytest_plugin"
    }
    assert {"sagemaker_watch.testing._model", "sagemaker_watch.testing._plan"} <= (
        kit_modules
    )
    assert set() == kit_modules - set(loaded)
    assert [] == [
        name for name in loaded if name.partition(".")[0] in {"botocore", "aiobotocore"}
    ]


def _imported(path):
    """Top-level packages a module imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.partition(".")[0])
    return found


def test_only_the_http_adapter_names_an_aws_client():
    """No kit module but _server imports botocore or aiobotocore, even lazily."""
    package = pathlib.Path(sagemaker_watch.testing.__file__).parent
    clients = {"botocore", "aiobotocore", "types_aiobotocore_sagemaker"}
    importers = sorted(
        path.name for path in package.glob("*.py") if _imported(path) & clients
    )
    assert ["_server.py"] == importers


_JOBS = st.lists(
    st.tuples(
        st.from_regex(r"[a-z0-9]{1,3}(-[a-z0-9]{1,2})?", fullmatch=True),
        st.sampled_from(["plain", "failure", "max_runtime"]),
        st.sampled_from([0.0, 0.0, 30.0, 600.0]),
    ),
    max_size=12,
    unique_by=lambda job: job[0],
)


@settings(max_examples=60, deadline=None)
@given(
    jobs=_JOBS,
    later=st.sampled_from([0.0, 200.0, 100000.0]),
    sort_by=st.sampled_from(["Name", "CreationTime", "Status"]),
    order=st.sampled_from(["Ascending", "Descending"]),
    size=st.integers(min_value=1, max_value=5),
    status=st.sampled_from([None, "InProgress", "Failed", "Stopped"]),
)
def test_paging_with_a_filter_keeps_the_unpaged_order(
    *, jobs, later, sort_by, order, size, status
):
    """Pages of any size, filtered or not, visit exactly the matching jobs in order."""
    clock = ManualClock()
    service = SimulatedSageMaker(clock=clock, quotas={})
    for name, timeline, gap in jobs:
        service.add_job(name, timeline)
        clock.advance(gap)
    clock.advance(later)
    request = {"SortBy": sort_by, "SortOrder": order, "MaxResults": 100}
    if status is not None:
        request["StatusEquals"] = status
    expected = [
        row["TrainingJobName"]
        for row in service.list_training_jobs(request)["TrainingJobSummaries"]
    ]
    request["MaxResults"] = size
    seen, statuses, pages = [], set(), 0
    while pages <= len(jobs):
        answer = service.list_training_jobs(request)
        rows = answer["TrainingJobSummaries"]
        assert len(rows) <= size
        seen += [row["TrainingJobName"] for row in rows]
        statuses |= {row["TrainingJobStatus"] for row in rows}
        pages += 1
        if "NextToken" not in answer:
            break
        request["NextToken"] = answer["NextToken"]
    assert expected == seen
    assert max(1, -(-len(jobs) // size)) == pages
    assert status is None or statuses <= {status}
