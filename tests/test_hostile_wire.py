"""Hostile answers over real HTTP: every one is a Snapshot or a classified failure.

botocore's own parser fails on some answers before the library sees them (timestamps
it cannot convert, members of the wrong JSON type, gzip bytes); others parse but are
odd (an HTML page, lone surrogates, non-finite metrics, a body trickled byte by
byte). Each test drives a real aiobotocore client through ``tests/hostile.py``.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import math

import anyio
import pytest
import pytest_asyncio
from structlog.testing import capture_logs

import sagemaker_watch as sw
from sagemaker_watch._core.tracker import ErrorKind
from sagemaker_watch._io.logging import POLL_RETRY_SCHEDULED
from sagemaker_watch._io.source import AioBotocoreSource, CallFailed, ListPage


@pytest_asyncio.fixture(name="wire")
async def _wire(fake_sagemaker, hostile):
    """The fake SageMaker and the hostile endpoint in front of it."""
    return fake_sagemaker, hostile


#: A marker planted in hostile bodies: it must never reach a message or a log line.
SECRET = "hunter2-body-marker"  # noqa: S105 - a marker, not a password

#: Timestamps botocore's parser cannot convert: its errors are ValueError (year out
#: of range, NaN, unknown string) and RuntimeError (no timezone offset).
BAD_TIMES = {
    "epoch_1e12": 1e12,
    "epoch_1e20": 1e20,
    "nan": math.nan,
    "not_a_date": f"yesterday {SECRET}",
}


def _encode(answer):
    """Encode a JSON answer the way a sloppy server would: NaN as a bare literal."""
    return json.dumps(answer).encode()


def _set(member, value):
    """A mutation that sets one top-level member of the answer."""

    def mutate(answer):
        return _encode({**answer, member: value})

    return mutate


def _set_in_transitions(member, value):
    """A mutation that sets *member* of every SecondaryStatusTransitions entry."""

    def mutate(answer):
        rows = answer.get("SecondaryStatusTransitions") or [
            {"Status": "Starting", "StartTime": answer["CreationTime"]}
        ]
        return _encode(
            {
                **answer,
                "SecondaryStatusTransitions": [{**t, member: value} for t in rows],
            }
        )

    return mutate


def _metric_time(value):
    """A mutation that adds a final metric whose Timestamp is *value*."""
    return _set(
        "FinalMetricDataList",
        [{"MetricName": "loss", "Value": 0.5, "Timestamp": value}],
    )


def _gzip(answer):
    """The answer's JSON, gzip-compressed."""
    return gzip.compress(json.dumps(answer).encode())


#: Each hostile answer botocore's parser fails on, as keyword arguments of a rule.
PARSER_FAILURES = {
    **{
        f"{member}_{name}": {"mutate": _set(member, value)}
        for member in ("CreationTime", "TrainingEndTime")
        for name, value in BAD_TIMES.items()
    },
    **{
        f"transition_StartTime_{name}": {
            "mutate": _set_in_transitions("StartTime", value)
        }
        for name, value in BAD_TIMES.items()
    },
    **{
        f"metric_Timestamp_{name}": {"mutate": _metric_time(value)}
        for name, value in BAD_TIMES.items()
    },
    "body_list": {"body": b"[]"},
    "body_null": {"body": b"null"},
    "body_string": {"body": json.dumps(SECRET).encode()},
    "transitions_object": {
        "mutate": _set("SecondaryStatusTransitions", {"Status": SECRET})
    },
    "progress_string": {"mutate": _set("ProgressInfo", SECRET)},
    "artifacts_list": {"mutate": _set("ModelArtifacts", [SECRET])},
    "gzip_encoded": {"mutate": _gzip, "headers": {"Content-Encoding": "gzip"}},
    "gzip_bytes": {"mutate": _gzip},
}

#: Hostile answers that parse but are not SageMaker's: read as malformed too.
ODD_ANSWERS = {
    "html_page": {
        "body": f"<html><body>{SECRET}</body></html>".encode(),
        "headers": {"Content-Type": "text/html"},
    },
}

HOSTILE = PARSER_FAILURES | ODD_ANSWERS


def _statuses(events):
    return [str(e.status) for e in events if isinstance(e, sw.StatusEntered)]


def _history(fake, name):
    return [t["Status"] for t in fake.describe_job(name)["SecondaryStatusTransitions"]]


async def _first_snapshot(client, clock, **kwargs):
    """The snapshot of watch()'s first successful poll of "job" (retries included)."""
    events = sw.watch("job", client=client, clock=clock, **kwargs)
    await anext(events)
    return events.last_snapshot


def _retry_errors(logs):
    """The error of each retry the driver logged, in order."""
    return [log["error"] for log in logs if log["event"] == POLL_RETRY_SCHEDULED]


def _chain(error):
    """The error and its causes, outermost first."""
    chain = []
    while error is not None:
        chain.append(error)
        error = error.__cause__
    return chain


@pytest.mark.asyncio
@pytest.mark.parametrize("answer", sorted(HOSTILE))
async def test_describe_retries_a_hostile_answer_then_reads_the_good_one(wire, answer):
    """A hostile answer is retried as malformed; the next good one is the snapshot."""
    fake, hostile = wire
    fake.add_job("job", "plain")
    hostile.rule("DescribeTrainingJob", times=2, **HOSTILE[answer])
    async with hostile.client() as client:
        with capture_logs() as logs:
            snapshot = await _first_snapshot(client, fake.clock)
    assert "job" == snapshot.job_name
    assert 3 == hostile.count("DescribeTrainingJob")
    assert ["MalformedResponse", "MalformedResponse"] == _retry_errors(logs)
    assert SECRET not in repr(logs)


#: One hostile answer of each family, for the slower end-to-end tests.
FAMILIES = [
    "CreationTime_epoch_1e20",
    "TrainingEndTime_nan",
    "transition_StartTime_not_a_date",
    "metric_Timestamp_epoch_1e12",
    "body_null",
    "body_string",
    "transitions_object",
    "gzip_encoded",
    "html_page",
]


@pytest.mark.asyncio
@pytest.mark.parametrize("answer", FAMILIES)
async def test_hostile_answers_outlasting_the_policy_are_retries_exhausted(
    wire, answer
):
    """Always hostile: RetriesExhausted, MalformedResponse chained, no body shown."""
    fake, hostile = wire
    fake.add_job("job", "plain")
    hostile.rule("DescribeTrainingJob", **HOSTILE[answer])
    policy = sw.RetryPolicy(max_attempts=3)
    async with hostile.client() as client:
        with pytest.raises(sw.RetriesExhausted) as info:
            await sw.wait_until_complete(
                "job", client=client, clock=fake.clock, retry=policy
            )
    chain = _chain(info.value)
    assert isinstance(info.value, sw.NotSageMaker)
    assert isinstance(chain[1], sw.MalformedResponse)
    assert all(
        SECRET not in str(error) and "\n" not in str(error) for error in chain[:2]
    )
    assert "MalformedResponse" == info.value.code
    assert 3 == hostile.count("DescribeTrainingJob")


@pytest.mark.asyncio
async def test_html_from_a_wrong_endpoint_gets_a_one_line_message(wire):
    """An HTML page says which content type came back, and nothing of the page."""
    _fake, hostile = wire
    hostile.rule("DescribeTrainingJob", **ODD_ANSWERS["html_page"])
    async with hostile.client() as client:
        with pytest.raises(sw.RetriesExhausted) as info:
            await sw.wait_until_complete(
                "job", client=client, retry=sw.RetryPolicy.none()
            )
    assert "the endpoint answered text/html, not SageMaker JSON (HTTP 200)" == str(
        info.value.__cause__
    )


@pytest.mark.asyncio
async def test_an_html_error_page_is_not_quoted_in_the_error(wire):
    """A 403 HTML page from a proxy is a ServiceError that quotes none of the page."""
    _fake, hostile = wire
    hostile.rule("DescribeTrainingJob", status=403, **ODD_ANSWERS["html_page"])
    async with hostile.client() as client:
        with pytest.raises(sw.ServiceError) as info:
            await sw.wait_until_complete("job", client=client)
    assert 1 == hostile.count("DescribeTrainingJob")
    assert isinstance(info.value, sw.NotSageMaker)
    assert (403, "text/html") == (info.value.http_status, info.value.content_type)
    assert "403: the endpoint answered text/html, not SageMaker JSON (HTTP 403)" == (
        str(info.value)
    )


@pytest.mark.asyncio
@pytest.mark.parametrize("answer", sorted(HOSTILE))
async def test_describe_once_classifies_a_hostile_answer(wire, answer):
    """describe_once returns a transient CallFailed, never a raw parser error."""
    fake, hostile = wire
    fake.add_job("job", "plain")
    hostile.rule("DescribeTrainingJob", times=1, **HOSTILE[answer])
    async with hostile.client() as client:
        source = AioBotocoreSource(client, clock=fake.clock)
        failed = await source.describe_once("job")
        snapshot = await source.describe_once("job")
    assert isinstance(failed, CallFailed)
    assert ErrorKind.TRANSIENT == failed.kind
    assert isinstance(failed.error, sw.RetriesExhausted)
    assert isinstance(failed.error.__cause__, sw.MalformedResponse)
    assert isinstance(snapshot, sw.Snapshot)


@pytest.mark.asyncio
@pytest.mark.parametrize("value", sorted(BAD_TIMES))
@pytest.mark.parametrize("member", ["CreationTime", "LastModifiedTime"])
async def test_list_changed_classifies_a_summary_timestamp_botocore_rejects(
    wire, member, value
):
    """A ListTrainingJobs summary with a bad timestamp is a transient CallFailed."""
    fake, hostile = wire
    fake.add_job("job", "plain")

    def mutate(answer):
        rows = [{**r, member: BAD_TIMES[value]} for r in answer["TrainingJobSummaries"]]
        return _encode({**answer, "TrainingJobSummaries": rows})

    hostile.rule("ListTrainingJobs", mutate=mutate, times=1)
    since = fake.clock.now() - dt.timedelta(days=1)
    async with hostile.client() as client:
        source = AioBotocoreSource(client, clock=fake.clock)
        failed = await source.list_changed(modified_after=since)
        page = await source.list_changed(modified_after=since)
    assert isinstance(failed, CallFailed)
    assert ErrorKind.TRANSIENT == failed.kind
    assert isinstance(failed.error.__cause__, sw.MalformedResponse)
    assert SECRET not in str(failed.error)
    assert isinstance(page, ListPage)
    assert ["job"] == [s.job_name for s in page.summaries]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "answer",
    ["CreationTime_epoch_1e20", "body_null", "gzip_encoded", "html_page"],
)
async def test_watch_recovers_from_hostile_polls(wire, answer):
    """watch() rides out hostile polls and yields every transition once, in order."""
    fake, hostile = wire
    fake.add_job("job", "spot_interrupted_once")
    hostile.rule("DescribeTrainingJob", times=4, **HOSTILE[answer])
    async with hostile.client() as client:
        events = [e async for e in sw.watch("job", client=client, clock=fake.clock)]
    assert _history(fake, "job") == _statuses(events)
    assert isinstance(events[-1], sw.JobCompleted)
    assert 1 == sum(isinstance(e, sw.JobEnded) for e in events)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "answer",
    ["transition_StartTime_nan", "body_list", "progress_string", "gzip_bytes"],
)
async def test_wait_until_complete_recovers_from_hostile_polls(wire, answer):
    """wait_until_complete rides out hostile polls mid-job and returns the end."""
    fake, hostile = wire
    fake.add_job("job", "plain")
    async with hostile.client() as client:
        first = await sw.wait_for_status(
            "job", "Training", client=client, clock=fake.clock
        )
        hostile.rule("DescribeTrainingJob", times=5, **HOSTILE[answer])
        final = await sw.wait_until_complete("job", client=client, clock=fake.clock)
    assert "Training" == first.secondary_status
    assert "Completed" == final.primary_status
    assert 0 == sum(rule.times - rule.used for rule in hostile.rules if rule.times)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "text",
    ["\ud800", "lone \udfff low", "bell\x07 nul\x00 esc\x1b del\x7f", "\u2028\u2029"],
)
async def test_surrogates_and_control_characters_are_carried_as_is(wire, text):
    """Lone surrogates and control characters (valid JSON) parse into the snapshot."""
    fake, hostile = wire
    fake.add_job("job", "failure")
    fake.advance(10 * 3600)

    def mutate(answer):
        rows = [
            {**t, "StatusMessage": text} for t in answer["SecondaryStatusTransitions"]
        ]
        return _encode(
            {
                **answer,
                "FailureReason": text,
                "SecondaryStatusTransitions": rows,
                "WarmPoolStatus": {"Status": text},
            }
        )

    hostile.rule("DescribeTrainingJob", mutate=mutate)
    async with hostile.client() as client:
        snapshot = await _first_snapshot(client, fake.clock)
        once = await AioBotocoreSource(client, clock=fake.clock).describe_once("job")
    assert text == snapshot.failure_reason
    assert {text} == {t.message for t in snapshot.transitions}
    assert text == snapshot.warm_pool_status
    assert snapshot == once


@pytest.mark.asyncio
async def test_non_finite_metric_values_are_carried(wire):
    """FinalMetricDataList values sent as "NaN" and "Infinity" reach the snapshot."""
    fake, hostile = wire
    fake.add_job("job", "plain")
    metrics = [
        {"MetricName": "nan", "Value": "NaN", "Timestamp": 1.7e9},
        {"MetricName": "inf", "Value": "Infinity"},
        {"MetricName": "ninf", "Value": "-Infinity"},
        {"MetricName": "bare", "Value": math.nan},
        {"MetricName": "plain", "Value": 0.25},
    ]
    hostile.rule("DescribeTrainingJob", mutate=_set("FinalMetricDataList", metrics))
    async with hostile.client() as client:
        snapshot = await AioBotocoreSource(client, clock=fake.clock).describe_once(
            "job"
        )
    assert isinstance(snapshot, sw.Snapshot)
    values = {m.name: m.value for m in snapshot.final_metrics}
    assert ["nan", "inf", "ninf", "bare", "plain"] == list(values)
    assert math.isnan(values["nan"])
    assert math.isnan(values["bare"])
    assert (math.inf, -math.inf, 0.25) == (
        values["inf"],
        values["ninf"],
        values["plain"],
    )


TRICKLE = {"trickle": 2.0, "times": 1}


def _fast():
    """A policy whose attempts are cut after 0.3 s and retried without a wait."""
    return sw.RetryPolicy(attempt_timeout=0.3, initial_delay=0.0, max_delay=0.0)


@pytest.mark.asyncio
async def test_a_trickled_body_times_out_and_the_poll_is_retried(wire):
    """One byte every 2 s: the attempt is cut at attempt_timeout and retried."""
    fake, hostile = wire
    fake.add_job("job", "plain")
    hostile.rule("DescribeTrainingJob", **TRICKLE)
    async with hostile.client() as client:
        with capture_logs() as logs:
            snapshot = await _first_snapshot(client, fake.clock, retry=_fast())
    assert "job" == snapshot.job_name
    assert 2 == hostile.count("DescribeTrainingJob")
    assert ["TimeoutError"] == _retry_errors(logs)


@pytest.mark.asyncio
async def test_a_trickled_body_is_a_transient_failure_of_one_call(wire):
    """describe_once and list_changed give up on a trickle after attempt_timeout."""
    fake, hostile = wire
    fake.add_job("job", "plain")
    hostile.rule("DescribeTrainingJob", **TRICKLE)
    hostile.rule("ListTrainingJobs", **TRICKLE)
    since = fake.clock.now() - dt.timedelta(days=1)
    async with hostile.client() as client:
        source = AioBotocoreSource(client, clock=fake.clock, retry=_fast())
        described = await source.describe_once("job")
        listed = await source.list_changed(modified_after=since)
    for failed in (described, listed):
        assert isinstance(failed, CallFailed)
        assert ErrorKind.TRANSIENT == failed.kind
        assert isinstance(failed.error.__cause__, TimeoutError)


@pytest.mark.asyncio
async def test_a_watch_through_a_trickle_still_ends(wire):
    """A watch whose first poll trickles recovers and reaches the end."""
    fake, hostile = wire
    fake.add_job("job", "plain")
    hostile.rule("DescribeTrainingJob", **TRICKLE)
    async with hostile.client() as client:
        events = [
            e
            async for e in sw.watch(
                "job", client=client, clock=fake.clock, retry=_fast()
            )
        ]
    assert _history(fake, "job") == _statuses(events)
    assert isinstance(events[-1], sw.JobCompleted)


NOT_FOUND_BODIES = {
    "moto": "Could not find training job 'job'",
    "service": "Requested resource not found.",
    "other": "Training job job does not exist.",
}


@pytest.mark.asyncio
@pytest.mark.parametrize("message", sorted(NOT_FOUND_BODIES))
async def test_validation_exception_meaning_not_found_is_not_found(wire, message):
    """A 400 ValidationException saying "not found" in any wording: not found."""
    fake, hostile = wire
    body = {"__type": "ValidationException", "message": NOT_FOUND_BODIES[message]}
    hostile.rule("DescribeTrainingJob", body=_encode(body), status=400)
    async with hostile.client() as client:
        with pytest.raises(sw.TrainingJobNotFound):
            await sw.wait_until_complete("job", client=client, clock=fake.clock)
        failed = await AioBotocoreSource(client).describe_once("job")
    assert isinstance(failed, CallFailed)
    assert ErrorKind.NOT_FOUND == failed.kind
    assert isinstance(failed.error, sw.TrainingJobNotFound)


@pytest.mark.asyncio
async def test_other_validation_exceptions_stay_fatal(wire):
    """A ValidationException about the request itself is a fatal ServiceError."""
    fake, hostile = wire
    body = {
        "__type": "ValidationException",
        "message": "1 validation error detected: Value at 'trainingJobName' failed",
    }
    hostile.rule("DescribeTrainingJob", body=_encode(body), status=400)
    async with hostile.client() as client:
        with pytest.raises(sw.ServiceError) as info:
            await sw.wait_until_complete("job", client=client, clock=fake.clock)
    assert not isinstance(info.value, sw.RetriesExhausted)
    assert "ValidationException" == info.value.code
    assert 1 == hostile.count("DescribeTrainingJob")


def _lowercase_primary(answer):
    """A mutation that writes TrainingJobStatus in lower case (an unknown value)."""
    return _encode({**answer, "TrainingJobStatus": answer["TrainingJobStatus"].lower()})


@pytest.mark.asyncio
async def test_an_unknown_but_plainly_terminal_primary_status_ends_the_watch(wire):
    """Primary "completed" with a Completed history ends the watch, JobCompleted."""
    fake, hostile = wire
    fake.add_job("job", "plain")
    hostile.rule("DescribeTrainingJob", mutate=_lowercase_primary)
    async with hostile.client() as client:
        with anyio.fail_after(30):
            events = [e async for e in sw.watch("job", client=client, clock=fake.clock)]
    assert _history(fake, "job") == _statuses(events)
    assert isinstance(events[-1], sw.JobCompleted)
    assert "completed" == events[-1].snapshot.primary_status


@pytest.mark.asyncio
async def test_an_unknown_but_plainly_failed_primary_status_fails_the_wait(wire):
    """Primary "failed" with a Failed history: wait_until_complete raises Failed."""
    fake, hostile = wire
    fake.add_job("job", "failure")
    hostile.rule("DescribeTrainingJob", mutate=_lowercase_primary)
    async with hostile.client() as client:
        with anyio.fail_after(30), pytest.raises(sw.TrainingJobFailed) as info:
            await sw.wait_until_complete("job", client=client, clock=fake.clock)
    assert fake.describe_job("job")["FailureReason"] == info.value.failure_reason
