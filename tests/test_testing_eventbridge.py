"""The fake's EventBridge "SageMaker Training Job State Change" events, without HTTP."""

from __future__ import annotations

import inspect
import json
import pathlib

import pytest

from sagemaker_watch.testing import (
    EVENT_FAULT_SCENARIOS,
    TIMELINES,
    Fault,
    ManualClock,
    SimulatedSageMaker,
)
from sagemaker_watch.testing._eventbridge import epoch_ms

FIXTURE = (
    pathlib.Path(__file__).parent
    / "fixtures"
    / "eventbridge"
    / "training-job-state-change.json"
)
HORIZON = 3 * 24 * 3600.0


def _service(**kwargs):
    clock = ManualClock()
    return clock, SimulatedSageMaker(clock=clock, events_queue="events", **kwargs)


def _drain(service, clock):
    service.publish_events()
    queue = service.queue("events")
    bodies = []
    while batch := queue.receive(clock.timestamp(), max_messages=10):
        for message in batch:
            bodies.append(json.loads(message["Body"]))
            queue.delete(message["ReceiptHandle"])
    return bodies


def _shape(value):
    """The structure of a JSON value: keys and types, not contents."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def test_envelope_and_detail_follow_the_documented_example():
    """An event has the documented envelope and detail members, typed alike."""
    documented = json.loads(FIXTURE.read_text())
    clock, service = _service()
    service.add_job(
        "kmeans-1",
        "plain",
        HyperParameters={"Hyper": "Parameters"},
        Tags=[{"Key": "team", "Value": "ml"}],
        VpcConfig={},
    )
    clock.advance(HORIZON)
    last = _drain(service, clock)[-1]
    expected_envelope = {
        key: _shape(value) for key, value in documented.items() if key != "detail"
    }
    assert expected_envelope == {
        key: _shape(value) for key, value in last.items() if key != "detail"
    }
    assert set(documented["detail"]) <= set(last["detail"])
    for member in ("CreationTime", "TrainingStartTime", "TrainingEndTime"):
        assert _shape(documented["detail"][member]) == _shape(last["detail"][member])
    assert "SageMaker Training Job State Change" == last["detail-type"]
    assert "aws.sagemaker" == last["source"]
    assert ["arn:aws:sagemaker:us-east-1:123456789012:training-job/kmeans-1"] == last[
        "resources"
    ]
    assert {"team": "ml"} == last["detail"]["Tags"]
    assert {"Hyper": "Parameters"} == last["detail"]["HyperParameters"]
    assert ("Completed", "Completed") == (
        last["detail"]["TrainingJobStatus"],
        last["detail"]["SecondaryStatus"],
    )


def test_times_are_epoch_millisecond_strings_and_the_envelope_time_whole_seconds():
    """Detail times are epoch-ms strings; ``time`` is at second precision with Z."""
    clock, service = _service()
    service.add_job("job", "plain")
    clock.advance(120.5)
    [first, second] = _drain(service, clock)
    describe = service.describe_job("job")
    assert epoch_ms(describe["CreationTime"]) == second["detail"]["CreationTime"]
    assert "2024-05-06T09:30:00Z" == first["time"]
    assert "2024-05-06T09:32:00Z" == second["time"]
    transition = second["detail"]["SecondaryStatusTransitions"][0]
    assert {"Status": "Starting", "StartTime": epoch_ms(describe["CreationTime"])} == {
        key: transition[key] for key in ("Status", "StartTime")
    }


def test_failure_reason_only_once_failed():
    """``FailureReason`` appears in the event of the failure and in no earlier one."""
    clock, service = _service()
    service.add_job("job", "failure")
    clock.advance(HORIZON)
    events = _drain(service, clock)
    reasons = [("FailureReason" in e["detail"]) for e in events]
    assert [False] * (len(events) - 1) + [True] == reasons
    assert (
        service.describe_job("job")["FailureReason"]
        == (events[-1]["detail"]["FailureReason"])
    )


def _pairs_on_a_grid(service, name, start, step=0.25):
    pairs = []
    t = 0.0
    while t <= HORIZON:
        job = service._jobs[name]
        primary, secondary, _, _ = job.plan.summary(start + t)
        if not pairs or pairs[-1] != (primary, secondary):
            pairs.append((primary, secondary))
        if t > job.plan.terminal_at - start + 10:  # the last transition: lead later
            break
        t += step
    return pairs


def _leads():
    for name in sorted(TIMELINES):
        yield name, 0.0
        if "primary_lead" in inspect.signature(TIMELINES[name]).parameters:
            yield name, 7.5


@pytest.mark.parametrize(("name", "lead"), list(_leads()))
def test_one_event_per_status_change_for_each_ready_made_timeline(name, lead):
    """Each timeline emits one event per change of the status pair, at the change."""
    clock, service = _service()
    start = clock.timestamp()
    timeline = TIMELINES[name](primary_lead=lead) if lead else name
    service.add_job("job", timeline)
    clock.advance(HORIZON)
    events = _drain(service, clock)
    expected = _pairs_on_a_grid(service, "job", start)
    actual = [
        (e["detail"]["TrainingJobStatus"], e["detail"]["SecondaryStatus"])
        for e in events
    ]
    assert expected == actual
    assert len({e["id"] for e in events}) == len(events)
    for event in events:
        at = int(event["detail"]["LastModifiedTime"]) / 1000
        pair = (
            event["detail"]["TrainingJobStatus"],
            event["detail"]["SecondaryStatus"],
        )
        job = service._jobs["job"]
        assert pair == job.plan.summary(at)[:2]


def test_a_stop_emits_stopping_at_the_stop():
    """Stopping a job emits ``Stopping`` at the stop, then ``Stopped``, nothing else."""
    clock, service = _service()
    service.add_job("job", "plain")
    clock.advance(200.0)
    service.stop_job("job")
    clock.advance(HORIZON)
    events = _drain(service, clock)
    assert [
        ("InProgress", "Starting"),
        ("InProgress", "Downloading"),
        ("InProgress", "Training"),
        ("Stopping", "Training"),
        ("Stopping", "Stopping"),
        ("Stopped", "Stopped"),
    ] == [
        (e["detail"]["TrainingJobStatus"], e["detail"]["SecondaryStatus"])
        for e in events
    ]


def test_a_stop_with_a_primary_lead_emits_each_change_once():
    """With a primary lead, a stop still emits Stopping once and the end once."""
    clock, service = _service()
    service.add_job("job", TIMELINES["plain"](primary_lead=7.5))
    clock.advance(200.0)
    service.stop_job("job")
    clock.advance(HORIZON)
    pairs = [
        (e["detail"]["TrainingJobStatus"], e["detail"]["SecondaryStatus"])
        for e in _drain(service, clock)
    ]
    assert ("Stopping", "Training") == pairs[3]
    assert ("Stopped", "Stopped") == pairs[-1]
    assert len(set(pairs)) == len(pairs)


def test_a_deleted_job_sent_its_events_and_then_none():
    """Events before DeleteTrainingJob arrive even when read after the job is gone."""
    clock, service = _service()
    service.add_job("job", "plain")
    clock.advance(HORIZON)
    service.call("DeleteTrainingJob", {"TrainingJobName": "job"})
    clock.advance(3600.0)
    assert () == service.job_names()
    assert 5 == len(_drain(service, clock))


def test_events_before_the_route_are_not_sent():
    """Like an EventBridge rule, a route sees only changes after it was made."""
    clock = ManualClock()
    service = SimulatedSageMaker(clock=clock)
    service.add_job("job", "plain")
    clock.advance(150.0)
    service.route_events("events")
    clock.advance(30.0)
    assert [("InProgress", "Training")] == [
        (e["detail"]["TrainingJobStatus"], e["detail"]["SecondaryStatus"])
        for e in _drain(service, clock)
    ]


def test_dropped_and_duplicated_events_are_seeded_and_counted():
    """With 20 % drops and 20 % duplicates the counts are repeatable and add up."""

    def run():
        clock, service = _service(seed=7)
        service.inject_event_faults(
            Fault.drop_event(probability=0.2), Fault.duplicate_event(probability=0.2)
        )
        for i in range(50):
            service.add_job(f"job-{i}", "plain")
        clock.advance(HORIZON)
        messages = len(_drain(service, clock))
        return service.event_statistics(), messages

    (stats, messages), again = run(), run()
    assert (stats, messages) == again
    assert 250 == stats.emitted
    assert stats.emitted - stats.dropped + stats.duplicated == stats.delivered
    assert stats.delivered == messages
    assert 0 < stats.dropped < 100
    assert 0 < stats.duplicated < 100


def test_a_delayed_event_is_invisible_until_its_delay_passed():
    """An event delayed by 30 s is not in the queue 29 s after its change, then is."""
    clock, service = _service()
    service.inject_event_faults(Fault.delay_event(30.0))
    service.add_job("job", "plain")
    clock.advance(29.0)
    assert [] == _drain(service, clock)
    clock.advance(1.0)
    assert ["Starting"] == [
        e["detail"]["SecondaryStatus"] for e in _drain(service, clock)
    ]


def test_reordered_events_overtake_each_other():
    """Random delays up to 10 minutes deliver some of a job's events out of order."""
    clock, service = _service(seed=3)
    service.inject_event_faults(Fault.reorder_events(600.0))
    for i in range(10):
        service.add_job(f"job-{i}", "plain")
    clock.advance(HORIZON)
    events = _drain(service, clock)
    modified = [int(e["detail"]["LastModifiedTime"]) for e in events]
    assert 50 == len(events)
    assert sorted(modified) != modified


def test_event_faults_say_where_they_strike():
    """Event and SQS faults name their service in the repr; negative delays fail."""
    assert "service='events'" in repr(Fault.drop_event())
    assert "service='sqs'" in repr(Fault.sqs_throttle())
    assert "service" not in repr(Fault.throttle())
    with pytest.raises(ValueError, match="negative"):
        Fault.delay_event(-1.0)


@pytest.mark.parametrize("name", sorted(EVENT_FAULT_SCENARIOS))
def test_event_fault_scenarios_strike_only_the_push_path(name):
    """Each push-path scenario holds event or SQS faults only, never SageMaker's."""
    services = {fault.service for fault in EVENT_FAULT_SCENARIOS[name]}
    assert set() == services - {"events", "sqs"}


def test_the_all_dropped_scenario_delivers_nothing():
    """With every event dropped, the queue stays empty and the drops are counted."""
    clock, service = _service()
    service.inject_event_faults(*EVENT_FAULT_SCENARIOS["all_dropped"])
    service.add_job("job", "plain")
    clock.advance(HORIZON)
    assert [] == _drain(service, clock)
    assert (5, 5, 0) == (
        service.event_statistics().emitted,
        service.event_statistics().dropped,
        service.event_statistics().delivered,
    )
