"""Every kind of answer from the fake parses and validates with botocore's own model."""

from __future__ import annotations

import datetime as dt
import json

import aiohttp
import botocore.session
import pytest
import pytest_asyncio
from botocore.parsers import create_parser

from sagemaker_watch.testing import TIMELINES, FakeSageMaker, ManualClock

MODEL = botocore.session.get_session().get_service_model("sagemaker")
PYTHON_TYPES = {
    "structure": dict,
    "list": list,
    "map": dict,
    "string": str,
    "timestamp": dt.datetime,
    "integer": int,
    "long": int,
    "boolean": bool,
    "double": float,
    "float": float,
}


@pytest_asyncio.fixture(name="sim")
async def _sim():
    """A running fake on a manual clock, with no quotas."""
    async with FakeSageMaker(clock=ManualClock(), quotas={}) as fake:
        yield fake


@pytest_asyncio.fixture(name="http")
async def _http():
    """A plain aiohttp session, to see the raw bodies."""
    async with aiohttp.ClientSession() as session:
        yield session


async def _raw(http, sim, operation, body):
    async with http.post(
        sim.endpoint_url,
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"SageMaker.{operation}",
        },
    ) as response:
        return {
            "status_code": response.status,
            "headers": dict(response.headers),
            "body": await response.read(),
        }


def _check(value, shape, path="$"):
    """Assert *value* has *shape*'s Python type and every required member."""
    expected = PYTHON_TYPES[shape.type_name]
    assert isinstance(value, expected), f"{path}: {type(value)} is not {expected}"
    if expected is int:
        assert not isinstance(value, bool), path
    if shape.type_name == "structure":
        missing = set(shape.required_members) - set(value)
        assert not missing, f"{path}: missing {missing}"
        unknown = set(value) - set(shape.members) - {"ResponseMetadata"}
        assert not unknown, f"{path}: not in the model {unknown}"
        for name, member in value.items():
            if name in shape.members:
                _check(member, shape.members[name], f"{path}.{name}")
    elif shape.type_name == "list":
        for i, item in enumerate(value):
            _check(item, shape.member, f"{path}[{i}]")
    elif shape.type_name == "map":
        for key, item in value.items():
            _check(key, shape.key, f"{path}.key")
            _check(item, shape.value, f"{path}[{key}]")


async def _parse_ok(http, sim, operation, body):
    operation_model = MODEL.operation_model(operation)
    raw = await _raw(http, sim, operation, body)
    assert raw["status_code"] == 200, raw["body"]
    assert raw["headers"]["Content-Type"] == "application/x-amz-json-1.1"
    parsed = create_parser("json").parse(raw, operation_model.output_shape)
    if operation_model.output_shape is not None:
        _check(parsed, operation_model.output_shape)
    return parsed


@pytest.mark.asyncio
@pytest.mark.parametrize("timeline", sorted(TIMELINES))
async def test_describe_validates_through_each_lifecycle(sim, http, timeline):
    """Describe answers at many points of every lifecycle fit the output shape."""
    sim.add_job("job", timeline)
    for _ in range(60):
        parsed = await _parse_ok(
            http, sim, "DescribeTrainingJob", {"TrainingJobName": "job"}
        )
        sim.advance(150)
    assert parsed["TrainingJobStatus"] in {"Completed", "Failed", "Stopped"}
    for transition in parsed["SecondaryStatusTransitions"]:
        assert transition["StartTime"].tzinfo is not None


@pytest.mark.asyncio
async def test_describe_validates_with_every_option(sim, http):
    """Describe with warm pool, retries, spot and passthrough members fits the shape."""
    sim.add_job(
        "job",
        "spot_interrupted_once",
        ResourceConfig={
            "InstanceType": "ml.p4d.24xlarge",
            "InstanceCount": 2,
            "VolumeSizeInGB": 100,
            "KeepAlivePeriodInSeconds": 1800,
        },
        RetryStrategy={"MaximumRetryAttempts": 3},
        HyperParameters={"epochs": "3"},
        Environment={"A": "b"},
        VpcConfig={"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
        CheckpointConfig={"S3Uri": "s3://b/ckpt"},
    )
    sim.advance(100000)
    parsed = await _parse_ok(
        http, sim, "DescribeTrainingJob", {"TrainingJobName": "job"}
    )
    assert parsed["WarmPoolStatus"]["Status"] == "Terminated"


@pytest.mark.asyncio
async def test_other_operations_validate(sim, http):
    """Create, List, Stop and Delete answers fit their output shapes."""
    created = await _parse_ok(
        http,
        sim,
        "CreateTrainingJob",
        {
            "TrainingJobName": "made",
            "RoleArn": "arn:aws:iam::123456789012:role/R",
            "OutputDataConfig": {"S3OutputPath": "s3://b/"},
        },
    )
    assert created["TrainingJobArn"].endswith(":training-job/made")
    for name in ("a", "b", "c"):
        sim.add_job(name, "failure")
    sim.advance(200)
    listed = await _parse_ok(http, sim, "ListTrainingJobs", {"MaxResults": 2})
    assert len(listed["TrainingJobSummaries"]) == 2
    assert "NextToken" in listed
    await _parse_ok(http, sim, "StopTrainingJob", {"TrainingJobName": "made"})
    sim.advance(100000)
    listed = await _parse_ok(http, sim, "ListTrainingJobs", {"MaxResults": 100})
    assert len(listed["TrainingJobSummaries"]) == 4
    await _parse_ok(http, sim, "DeleteTrainingJob", {"TrainingJobName": "made"})


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("operation", "body", "code"),
    [
        (
            "DescribeTrainingJob",
            {"TrainingJobName": "nope"},
            "ValidationException",
        ),
        ("StopTrainingJob", {"TrainingJobName": "nope"}, "ValidationException"),
        ("DeleteTrainingJob", {"TrainingJobName": "nope"}, "ValidationException"),
        ("StopTrainingJob", {"TrainingJobName": "done"}, "ValidationException"),
        ("CreateTrainingJob", {"TrainingJobName": "done"}, "ResourceInUse"),
        (
            "CreateTrainingJob",
            {"TrainingJobName": "bad_name"},
            "ValidationException",
        ),
        ("ListTrainingJobs", {"MaxResults": 101}, "ValidationException"),
        ("ListTrainingJobs", {"NextToken": "x"}, "ValidationException"),
    ],
)
async def test_errors_parse_to_their_code(sim, http, operation, body, code):
    """Error answers parse with botocore to the right code, message and status."""
    sim.add_job("done", "failure")
    sim.advance(100000)
    raw = await _raw(http, sim, operation, body)
    parsed = create_parser("json").parse(
        raw, MODEL.operation_model(operation).output_shape
    )
    assert (400, code) == (raw["status_code"], parsed["Error"]["Code"])
    assert parsed["Error"]["Message"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("fault_status", "code"),
    [(503, "ServiceUnavailable"), (500, "InternalFailure")],
)
async def test_injected_errors_parse(sim, http, fault_status, code):
    """Injected 5xx and throttle answers parse to their codes."""
    from sagemaker_watch.testing import Fault  # noqa: PLC0415

    sim.add_job("job")
    sim.inject(Fault.server_error(fault_status, times=1), Fault.throttle(times=1))
    shape = MODEL.operation_model("DescribeTrainingJob").output_shape
    for expected_status, expected_code in [
        (fault_status, code),
        (400, "ThrottlingException"),
    ]:
        raw = await _raw(http, sim, "DescribeTrainingJob", {"TrainingJobName": "job"})
        parsed = create_parser("json").parse(raw, shape)
        assert (expected_status, expected_code) == (
            raw["status_code"],
            parsed["Error"]["Code"],
        )


def _strict(raw):
    """Parse *raw* as RFC 8259 JSON: bare NaN and Infinity are not JSON."""

    def refuse(token):
        raise ValueError(f"not JSON: {token}")

    return json.loads(raw, parse_constant=refuse)


def _timestamps(value, shape, path="$"):
    """Yield (path, raw number) for every Timestamp member in a raw answer."""
    if shape.type_name == "timestamp":
        yield path, value
    elif shape.type_name == "structure":
        for name, member in value.items():
            if name in shape.members:
                yield from _timestamps(member, shape.members[name], f"{path}.{name}")
    elif shape.type_name == "list":
        for i, item in enumerate(value):
            yield from _timestamps(item, shape.member, f"{path}[{i}]")


@pytest.mark.asyncio
async def test_timestamps_carry_milliseconds_like_the_service():
    """Every timestamp on the wire is epoch seconds with at most three decimals."""
    start = dt.datetime(2024, 5, 6, 9, 30, 0, 123456, tzinfo=dt.UTC)
    async with (
        FakeSageMaker(clock=ManualClock(start), quotas={}) as sim,
        aiohttp.ClientSession() as http,
    ):
        sim.add_job("job", "spot_interrupted_once")
        sim.add_job("stopped", "plain")
        shape = MODEL.operation_model("DescribeTrainingJob").output_shape
        seen = []
        for i in range(40):
            if i == 3:
                sim.stop_job("stopped")
            for name in ("stopped", "job"):
                raw = await _raw(
                    http, sim, "DescribeTrainingJob", {"TrainingJobName": name}
                )
                seen += _timestamps(_strict(raw["body"]), shape)
            sim.advance(77.7777)
        listed = await _raw(http, sim, "ListTrainingJobs", {})
        seen += _timestamps(
            _strict(listed["body"]),
            MODEL.operation_model("ListTrainingJobs").output_shape,
        )
    assert 1714987800.123 == _strict(raw["body"])["CreationTime"]
    assert [] == [(path, t) for path, t in seen if round(t, 3) != t]
    assert any(round(t) != t for _, t in seen)


@pytest.mark.asyncio
async def test_final_metric_timestamps_are_whole_seconds(sim, http):
    """Final metrics carry whole-second timestamps, as recorded responses show."""
    sim.advance(0.5)
    sim.add_job("job", "plain")
    sim.advance(100000)
    raw = await _raw(http, sim, "DescribeTrainingJob", {"TrainingJobName": "job"})
    answer = _strict(raw["body"])
    stamps = [m["Timestamp"] for m in answer["FinalMetricDataList"]]
    assert stamps == [float(int(t)) for t in stamps]
    assert all(t <= answer["TrainingEndTime"] for t in stamps)


@pytest.mark.asyncio
async def test_non_finite_metrics_travel_as_strings(sim, http):
    """Non-finite final metrics go out as "NaN"/"Infinity" strings, as AWS sends."""
    from sagemaker_watch.testing import Completed, plain  # noqa: PLC0415

    metrics = (
        ("loss", float("nan")),
        ("grad_norm", float("inf")),
        ("margin", float("-inf")),
        ("accuracy", 0.5),
    )
    timeline = plain()
    sim.add_job(
        "job",
        type(timeline)(
            phases=timeline.phases, outcome=Completed(final_metrics=metrics)
        ),
    )
    sim.advance(100000)
    raw = await _raw(http, sim, "DescribeTrainingJob", {"TrainingJobName": "job"})
    values = [m["Value"] for m in _strict(raw["body"])["FinalMetricDataList"]]
    assert ["NaN", "Infinity", "-Infinity", 0.5] == values
    async with sim.client() as client:
        answer = await client.describe_training_job(TrainingJobName="job")
    assert ["NaN", "Infinity", "-Infinity", 0.5] == [
        m["Value"] for m in answer["FinalMetricDataList"]
    ]
