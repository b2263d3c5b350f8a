"""The UTC timestamp parser of the clients the library creates.

botocore's default parser reads every timestamp through dateutil's local time zone;
ours reads epoch seconds straight to UTC and hands anything else to botocore's. The
snapshots must not tell them apart: every recorded answer, in its recorded form and
in the wire's epoch form, the fake's answers and a large answer are read by a
plain aiobotocore client (botocore's parser) and by ``sagemaker_client`` over real
HTTP, with the process in a time zone far from UTC.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import pathlib
import re
import time

import botocore.utils
import pytest
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

import sagemaker_watch as sw
from sagemaker_watch._io.client import _utc_timestamp
from sagemaker_watch._io.logging import POLL_RETRY_SCHEDULED
from sagemaker_watch._io.source import AioBotocoreSource

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "describe-responses"
RECORDED = sorted(path.name for path in FIXTURES.glob("*.json"))
OBSERVED = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)

#: Local zones for the comparisons: west of UTC with summer time, and a half hour.
ZONES = ("America/New_York", "Asia/Kolkata")

_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?")


@contextlib.contextmanager
def _local_zone(name):
    """Run the block with the process's local time zone set to *name*."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def _outcome(parse, value):
    """What *parse* makes of *value*: the datetime, or the type of its error."""
    try:
        return parse(value)
    except Exception as error:  # noqa: BLE001 - the error's type is the outcome
        return type(error)


@given(
    st.one_of(
        st.floats(min_value=0, max_value=2**34, allow_nan=False),
        st.integers(min_value=-(2**31), max_value=2**34),
    )
)
def test_epoch_seconds_are_the_same_instant_in_utc(seconds):
    """An epoch number reads as botocore's instant, timezone-aware UTC."""
    with _local_zone(ZONES[0]):  # tzlocal datetimes mean the zone they compare in
        expected = botocore.utils.parse_timestamp(seconds)
        actual = _utc_timestamp(seconds)
        assert (expected, dt.UTC) == (actual, actual.tzinfo)


#: Values the wire should never carry, and strings: botocore's parser decides.
ODD_VALUES = {
    "epoch_1e12": 1e12,
    "epoch_1e20": 1e20,
    "epoch_minus_1e20": -1e20,
    "int_10e30": 10**30,
    "nan": math.nan,
    "infinity": math.inf,
    "true": True,
    "not_a_date": "yesterday",
    "empty": "",
    "none": None,
    "list": [1.7e9],
    "iso_utc": "2021-10-12T05:49:40.493Z",
    "iso_naive": "2022-02-16T17:50:44.000",
    "iso_offset": "2021-10-12T07:49:40+02:00",
    "rfc822": "Tue, 12 Oct 2021 05:49:40 GMT",
    "epoch_string": "1634017780.493",
}


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("value", sorted(ODD_VALUES))
def test_anything_else_reads_or_fails_as_botocore_reads_it(value, zone):
    """Strings, non-numbers and numbers out of range get botocore's own answer."""
    with _local_zone(zone):
        expected = _outcome(botocore.utils.parse_timestamp, ODD_VALUES[value])
        actual = _outcome(_utc_timestamp, ODD_VALUES[value])
        assert expected == actual


def _epoch(text):
    """An ISO string as epoch seconds (a naive one taken as UTC, as Snapshot does)."""
    moment = dt.datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()


def _as_wire(value):
    """The recorded answer as the service sends it: ISO strings as epoch seconds."""
    if isinstance(value, dict):
        return {key: _as_wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_wire(item) for item in value]
    if isinstance(value, str) and _ISO.fullmatch(value):
        return _epoch(value)
    return value


def _large_answer():
    """A large DescribeTrainingJob answer: 60 transitions and 100 final metrics."""
    start = 1_700_000_000.123456
    transitions = [
        {
            "Status": "Training" if i % 2 else "Interrupted",
            "StartTime": start + 61.7 * i,
            "EndTime": start + 61.7 * (i + 1),
            "StatusMessage": f"step {i}",
        }
        for i in range(60)
    ]
    return {
        "TrainingJobName": "large",
        "TrainingJobArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/large",
        "TrainingJobStatus": "InProgress",
        "SecondaryStatus": "Training",
        "CreationTime": start - 0.000_000_4,
        "LastModifiedTime": start + 3702.999_999_5,
        "TrainingStartTime": start + 1.5,
        "SecondaryStatusTransitions": transitions,
        "FinalMetricDataList": [
            {"MetricName": f"m{i}", "Value": i / 7, "Timestamp": start + i / 3}
            for i in range(100)
        ],
        "HyperParameters": {f"h{i}": "x" * 200 for i in range(100)},
        "AlgorithmSpecification": {"TrainingInputMode": "File"},
        "RoleArn": "arn:aws:iam::123456789012:role/r",
        "ResourceConfig": {
            "InstanceType": "ml.m5.large",
            "InstanceCount": 1,
            "VolumeSizeInGB": 1,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
    }


def _answers():
    """Every answer to compare: recorded (as recorded and as wire) and large."""
    answers = {}
    for name in RECORDED:
        data = json.loads((FIXTURES / name).read_text())
        recorded = data.get("response", data)  # one file wraps it with a note
        answers[f"{name}:recorded"] = recorded
        answers[f"{name}:wire"] = _as_wire(recorded)
    answers["large"] = _large_answer()
    return answers


ANSWERS = _answers()


def _without_metadata(raw):
    """The parsed answer without ResponseMetadata (headers such as Date differ)."""
    return {key: value for key, value in raw.items() if key != "ResponseMetadata"}


@contextlib.asynccontextmanager
async def _two_clients(server, monkeypatch):
    """A plain aiobotocore client (botocore's parser) and ours, for *server*.

    *server* is the fake or the hostile endpoint: both offer ``client()`` and
    ``environ()``.
    """
    for key, value in server.environ().items():
        monkeypatch.setenv(key, value)
    async with server.client() as theirs, sw.sagemaker_client() as ours:
        yield theirs, ours


async def _read_both(clients, name):
    """The mismatches between the two clients' readings of job *name*, if any."""
    theirs, ours = clients
    expected = _without_metadata(
        await theirs.describe_training_job(TrainingJobName=name)
    )
    actual = _without_metadata(await ours.describe_training_job(TrainingJobName=name))
    mismatches = []
    if expected != actual:
        mismatches.append("raw")
    if sw.Snapshot.from_response(
        expected, observed_at=OBSERVED
    ) != sw.Snapshot.from_response(actual, observed_at=OBSERVED):
        mismatches.append("snapshot")
    return mismatches


@pytest.mark.asyncio
@pytest.mark.parametrize("zone", ZONES)
async def test_snapshots_are_identical_with_either_parser(hostile, monkeypatch, zone):
    """Every recorded answer gives the same snapshot and instants through both."""
    for name, answer in ANSWERS.items():
        hostile.rule("DescribeTrainingJob", job=name, body=json.dumps(answer).encode())
    with _local_zone(zone):  # tzlocal datetimes mean the zone they compare in
        async with _two_clients(hostile, monkeypatch) as clients:
            mismatches = {name: await _read_both(clients, name) for name in ANSWERS}
    assert {name: [] for name in ANSWERS} == mismatches


@pytest.mark.asyncio
async def test_the_fakes_answers_are_identical_through_a_whole_lifecycle(
    fake_sagemaker, monkeypatch
):
    """At every phase of a spot-interrupted job, both parsers read the same."""
    fake_sagemaker.add_job("job", "spot_interrupted_once")
    mismatches = []
    with _local_zone(ZONES[0]):
        async with _two_clients(fake_sagemaker, monkeypatch) as clients:
            while fake_sagemaker.describe_job("job")["TrainingJobStatus"] not in {
                "Completed",
                "Failed",
                "Stopped",
            }:
                mismatches.append(await _read_both(clients, "job"))
                fake_sagemaker.clock.advance(120)
            mismatches.append(await _read_both(clients, "job"))
    assert len(mismatches) > 3
    assert [[]] * len(mismatches) == mismatches


def _zones_of(raw):
    """The tzinfo of the answer's CreationTime and first transition's StartTime."""
    first = raw["SecondaryStatusTransitions"][0]["StartTime"]
    return raw["CreationTime"].tzinfo, first.tzinfo


@pytest.mark.asyncio
async def test_sagemaker_client_reads_timestamps_in_utc(sim, monkeypatch):
    """The client ``sagemaker_client`` opens answers UTC; a caller's keeps tzlocal."""
    fake, theirs = sim
    fake.add_job("job", "plain")
    for key, value in fake.environ().items():
        monkeypatch.setenv(key, value)
    with _local_zone(ZONES[0]):
        async with sw.sagemaker_client() as ours:
            mine = await ours.describe_training_job(TrainingJobName="job")
        caller = await theirs.describe_training_job(TrainingJobName="job")
    assert (dt.UTC, dt.UTC) == _zones_of(mine)
    assert dt.UTC is not caller["CreationTime"].tzinfo


@pytest.mark.asyncio
async def test_watch_and_the_fleet_read_with_their_own_client_in_utc(
    fake_sagemaker, monkeypatch
):
    """watch() and FleetWatcher opening their own client get UTC timestamps."""
    fake_sagemaker.add_job("job", "plain")
    for key, value in fake_sagemaker.environ().items():
        monkeypatch.setenv(key, value)
    async with sw.watch("job", clock=fake_sagemaker.clock) as events:
        await anext(events)
        watched = events.last_snapshot.raw
    source = AioBotocoreSource(None, clock=fake_sagemaker.clock)
    described = await source.describe_once("job")
    assert (dt.UTC, dt.UTC) == _zones_of(watched)
    assert (dt.UTC, dt.UTC) == _zones_of(described.raw)


BAD_TIMES = {"epoch_1e12": 1e12, "epoch_1e20": 1e20, "nan": math.nan, "text": "soon"}


@pytest.mark.asyncio
@pytest.mark.parametrize("value", sorted(BAD_TIMES))
@pytest.mark.parametrize("member", ["CreationTime", "TrainingEndTime"])
async def test_a_timestamp_botocore_rejects_is_still_malformed_and_retried(
    fake_sagemaker, hostile, monkeypatch, member, value
):
    """Through watch()'s own client, a bad timestamp is a MalformedResponse, retried."""
    fake_sagemaker.add_job("job", "plain")

    def mutate(answer):
        return json.dumps({**answer, member: BAD_TIMES[value]}).encode()

    hostile.rule("DescribeTrainingJob", mutate=mutate, times=2)
    for key, setting in hostile.environ().items():
        monkeypatch.setenv(key, setting)
    with capture_logs() as logs:
        async with sw.watch("job", clock=fake_sagemaker.clock) as events:
            await anext(events)
            snapshot = events.last_snapshot
    retried = [log["error"] for log in logs if log["event"] == POLL_RETRY_SCHEDULED]
    assert "job" == snapshot.job_name
    assert 3 == hostile.count("DescribeTrainingJob")
    assert ["MalformedResponse", "MalformedResponse"] == retried
