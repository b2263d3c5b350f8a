"""Histories the server rewrites, reorders or shrinks, through watch() over HTTP."""

from __future__ import annotations

import collections

import pytest
from structlog.testing import capture_logs

import sagemaker_watch as sw
from sagemaker_watch.testing import plain

FINE = sw.PollSchedule(
    min_delay=1, setup_max_delay=5, closing_max_delay=5, max_delay=30
)


def entered(events):
    """The statuses of every StatusEntered (and Interrupted) event, in order."""
    return [str(e.status) for e in events if isinstance(e, sw.StatusEntered)]


def anomalies(logs):
    """The history_anomaly log entries, whole."""
    return [log for log in logs if log["event"] == "sagemaker_watch.history_anomaly"]


def anomaly(kind, job_name="job"):
    """The log entry for one history anomaly of *job_name*."""
    return {
        "event": "sagemaker_watch.history_anomaly",
        "job_name": job_name,
        "anomaly": kind,
        "log_level": "warning",
    }


def history_of(mutate):
    """A mutate function that rewrites only SecondaryStatusTransitions."""

    def rewrite(answer):
        history = answer.get("SecondaryStatusTransitions", [])
        return {**answer, "SecondaryStatusTransitions": mutate(list(history))}

    return rewrite


async def watch_until(events, status):
    """Consume events up to and including the StatusEntered of *status*."""
    seen = []
    async for event in events:
        seen.append(event)
        if isinstance(event, sw.StatusEntered) and event.status == status:
            return seen
    pytest.fail(f"{status} never entered")
    return seen


@pytest.mark.asyncio
async def test_entry_rewritten_into_interrupted_is_reported_once(
    fake_sagemaker, hostile
):
    """Downloading rewritten into Interrupted: one Interrupted event, one warning."""
    fake = fake_sagemaker
    fake.add_job("job", plain())

    def downloading_to_interrupted(history):
        if len(history) >= 3 and history[1]["Status"] == "Downloading":
            history[1] = {**history[1], "Status": "Interrupted"}
        return history

    async with hostile.client() as client:
        events = sw.watch("job", client=client, clock=fake.clock, schedule=FINE)
        with capture_logs() as logs:
            head = await watch_until(events, "Training")
            hostile.rule(
                "DescribeTrainingJob", mutate=history_of(downloading_to_interrupted)
            )
            tail = [event async for event in events]
    interrupted = [e for e in head + tail if isinstance(e, sw.Interrupted)]
    assert ["Interrupted"] == [str(e.status) for e in interrupted]
    assert 1 == tail[-1].snapshot.interruptions
    assert [anomaly("history_rewritten")] == anomalies(logs)
    assert isinstance(tail[-1], sw.JobCompleted)


@pytest.mark.asyncio
async def test_reversed_history_yields_the_same_events_as_a_straight_one(
    fake_sagemaker, hostile
):
    """A history served newest first from mid-watch on changes no event."""
    fake = fake_sagemaker

    def reverse_once_long(history):
        return history[::-1] if len(history) >= 3 else history

    hostile.rule(
        "DescribeTrainingJob", job="reversed", mutate=history_of(reverse_once_long)
    )
    runs = {}
    async with hostile.client() as client:
        for name in ("straight", "reversed"):
            fake.add_job(name, plain())
            with capture_logs() as logs:
                runs[name] = (
                    [
                        event
                        async for event in sw.watch(
                            name, client=client, clock=fake.clock, schedule=FINE, seed=3
                        )
                    ],
                    logs,
                )

    def facts(events):
        return sorted(
            (e.kind, str(getattr(e, "status", "")), str(getattr(e, "message", "")))
            for e in events
        )

    straight, reversed_ = runs["straight"][0], runs["reversed"][0]
    assert facts(straight) == facts(reversed_)
    counts = collections.Counter(entered(reversed_))
    assert {"Starting", "Downloading", "Training", "Uploading", "Completed"} == set(
        counts
    )
    assert {1} == set(counts.values())
    logged = anomalies(runs["reversed"][1])
    assert anomaly("history_reordered", "reversed") == logged[0]
    assert {"history_reordered", "history_entry_inserted"} >= {
        log["anomaly"] for log in logged
    }
    assert [] == anomalies(runs["straight"][1])


@pytest.mark.asyncio
async def test_history_that_shrinks_and_regrows_differently_loses_nothing(
    fake_sagemaker, hostile
):
    """A stale, shorter history is noted once; an Interrupted entry after it is kept."""
    fake = fake_sagemaker
    fake.add_job("job", plain())

    def training_to_interrupted(history):
        if len(history) >= 3:
            history[2] = {**history[2], "Status": "Interrupted"}
        return history

    async with hostile.client() as client:
        events = sw.watch("job", client=client, clock=fake.clock, schedule=FINE)
        with capture_logs() as logs:
            head = await watch_until(events, "Training")
            hostile.rule(
                "DescribeTrainingJob", mutate=history_of(training_to_interrupted)
            )
            hostile.rule(
                "DescribeTrainingJob", mutate=history_of(lambda h: h[:2]), times=2
            )
            tail = [event async for event in events]
    assert ["Starting", "Downloading", "Training"] == entered(head)
    assert ["Interrupted", "Uploading", "Completed"] == entered(tail)
    assert isinstance(
        next(e for e in tail if isinstance(e, sw.StatusEntered)), sw.Interrupted
    )
    assert [anomaly("history_shrank")] == anomalies(logs)


@pytest.mark.asyncio
async def test_lone_surrogate_in_a_status_message_is_carried(fake_sagemaker, hostile):
    """A lone surrogate (valid JSON) in every StatusMessage is carried, no crash."""
    fake = fake_sagemaker
    fake.add_job("job", plain())

    def taint(history):
        return [{**entry, "StatusMessage": "bad \ud800 text"} for entry in history]

    hostile.rule("DescribeTrainingJob", mutate=history_of(taint))
    async with hostile.client() as client:
        events = [
            event
            async for event in sw.watch(
                "job", client=client, clock=fake.clock, schedule=FINE
            )
        ]
    assert isinstance(events[-1], sw.JobCompleted)
    messages = {e.message for e in events if isinstance(e, sw.StatusEntered)}
    assert {"bad \ud800 text"} == messages
    assert 5 == len(entered(events))
