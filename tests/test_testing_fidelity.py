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
