"""The Airflow trigger on push hints: SageMaker's events through SQS, in real Airflow.

The fake SageMaker publishes each job's EventBridge state-change events into an
SQS queue it serves; a deferred task told that queue (``sqs_queue_url``) waits
on a shared fleet reading it, and describes its job about once per change.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.util
import os
import pathlib
import re
import shutil

import pytest
from airflow.sdk._shared.module_loading import import_string
from airflow.sdk.exceptions import TaskDeferred
from airflow.sdk.serde import deserialize, serialize
from airflow.utils.state import TaskInstanceState

from sagemaker_watch.integrations.airflow import (
    SHARED_FLEETS,
    TrainingJobTrigger,
    WaitForTrainingJobOperator,
)
from sagemaker_watch.testing import plain, spot_interrupted_once

#: This folder's DAGs, copied where Airflow's dag bundle looks (beside dags.py).
DAG_FILE = pathlib.Path(os.environ["AIRFLOW_HOME"], "dags", "dags_hints.py")
shutil.copy(pathlib.Path(__file__).with_name("dags_hints.py"), DAG_FILE)
_spec = importlib.util.spec_from_file_location("dags_hints", DAG_FILE)
assert _spec is not None
assert _spec.loader is not None
DAGS = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(DAGS)

#: One logged event line: "<time> <job> <kind> <detail>".
LINE = re.compile(r"(\S+Z) (\S+) (status_entered|interrupted|job_\w+) ?(.*?) \[")


def events_queue(sagemaker, name="events"):
    """Route the fake's EventBridge events into SQS queue *name*; return its URL."""
    sagemaker.portal.call(lambda: sagemaker.fake.route_events(name))
    return sagemaker.portal.call(lambda: sagemaker.fake.queue_url(name))


def run_dag(dag, capfd, **conf):
    """Run *dag* with dag.test() and *conf*; return the task and its output."""
    run = dag.test(run_conf=conf)
    out, err = capfd.readouterr()
    return run.get_task_instance("wait"), out + err


def logged(output, job):
    """The (kind, detail) of each event line the trigger logged for *job*."""
    return [
        (kind, detail)
        for _at, name, kind, detail in LINE.findall(output)
        if name == job
    ]


def unquoted(lines):
    """*lines* without their quoted status messages."""
    return [(kind, detail.split(' "', 1)[0]) for kind, detail in lines]


def recreate(trigger):
    """Serialise *trigger* as Airflow stores it, and build it again (a failover)."""
    classpath, kwargs = trigger.serialize()
    return import_string(classpath)(**deserialize(serialize(kwargs)))


def first_event(trigger):
    """Run *trigger* in an event loop of its own, as a triggerer does."""

    async def main():
        runs = trigger.run()
        try:
            return await anext(runs)
        finally:
            await runs.aclose()

    return asyncio.run(main())


def slow_spot_job():
    """A spot job interrupted once, 90 minutes in each Starting; it completes."""
    timeline = spot_interrupted_once(starting=5400)
    return dataclasses.replace(timeline, max_runtime=24 * 3600)


def test_a_hinted_wait_ends_as_a_polled_one_with_fewer_describes(sagemaker, capfd):
    """With the queue and without: same outcome and log lines, fewer describes.

    The jobs start slowly (90 simulated minutes in each Starting) so that each
    task's trigger, deferred within about a real second of the job's creation
    once Airflow is warm, first sees its job in Starting and then each change.
    A line's status message is the one of the describe that saw the status, so
    lines are compared without it (the message changes within a status).
    """
    sagemaker.add_job("warm-up", plain(training=60))
    run_dag(DAGS.wait_polled, capfd, job="warm-up")  # Airflow's first run is slow
    url = events_queue(sagemaker)
    sagemaker.add_job("hinted", slow_spot_job())
    hinted, hinted_output = run_dag(DAGS.wait_hinted, capfd, job="hinted", queue=url)
    sagemaker.portal.call(lambda: sagemaker.fake.route_events(None))
    sagemaker.add_job("polled", slow_spot_job())
    polled, polled_output = run_dag(DAGS.wait_polled, capfd, job="polled")
    polled_lines = unquoted(logged(polled_output, "polled"))
    assert TaskInstanceState.SUCCESS == polled.state
    assert TaskInstanceState.SUCCESS == hinted.state
    assert ("job_observed", "InProgress/Starting") == polled_lines[0]
    assert "job_completed" == polled_lines[-1][0]
    assert polled_lines == unquoted(logged(hinted_output, "hinted"))
    summary = hinted.xcom_pull(task_ids="wait")
    assert "Completed" == summary["status"]
    assert summary["job_arn"].endswith(":training-job/hinted")
    assert sagemaker.request_count("DeleteMessageBatch") > 0
    hinted_describes = sagemaker.request_count("DescribeTrainingJob", "hinted")
    polled_describes = sagemaker.request_count("DescribeTrainingJob", "polled")
    assert hinted_describes * 3 < polled_describes


def test_the_queue_url_survives_deferral_and_serialisation(sagemaker):  # noqa: ARG001 - Airflow's environment
    """The operator hands sqs_queue_url to its trigger; serialize() round-trips it."""
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/sm-events"
    operator = WaitForTrainingJobOperator(
        task_id="t", job_name="j", aws_conn_id="c", sqs_queue_url=url
    )
    assert "sqs_queue_url" in operator.template_fields
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute({})
    trigger = deferred.value.trigger
    again = recreate(trigger)
    assert url == trigger.sqs_queue_url
    assert url == again.sqs_queue_url
    assert trigger.serialize() == again.serialize()
    assert again.serialize()[1]["sqs_queue_url"] == url
    assert None is recreate(TrainingJobTrigger("j")).sqs_queue_url


def test_triggers_on_different_queues_do_not_share_a_fleet(sagemaker):
    """Two queues, three triggers: one fleet per queue, each reading its own queue.

    Once the triggers fired, the fleets are closed with their SQS clients: no
    receive follows, and the loop reports nothing left open at its end.
    """
    url = events_queue(sagemaker)
    other = sagemaker.portal.call(lambda: sagemaker.fake.create_queue("other"))
    queues = {"a-1": url, "a-2": url, "b-1": other}
    for name in queues:
        sagemaker.add_job(name, plain(training=3600))
    triggers = [
        recreate(
            TrainingJobTrigger(name, aws_conn_id="sagemaker_fake", sqs_queue_url=q)
        )
        for name, q in queues.items()
    ]
    seen, left, receives, loop_errors = [], [], [], []

    async def main():
        asyncio.get_running_loop().set_exception_handler(
            lambda _loop, context: loop_errors.append(context["message"])
        )
        runs = [asyncio.ensure_future(anext(t.run())) for t in triggers]
        async with asyncio.timeout(10):  # both fleets run, one has read events
            while seen != [(1, False), (2, True)]:
                await asyncio.sleep(0.01)
                stats = [f.statistics() for f in SHARED_FLEETS.fleets().values()]
                seen[:] = sorted((s.watching, s.hints.messages > 0) for s in stats)
        events = await asyncio.gather(*runs)
        await asyncio.sleep(0.05)
        left.append(SHARED_FLEETS.fleets())
        receives.append(sagemaker.request_count("ReceiveMessage"))
        await asyncio.sleep(0.2)
        receives.append(sagemaker.request_count("ReceiveMessage"))
        return events

    events = asyncio.run(main())
    assert ["completed"] * 3 == [event.payload["status"] for event in events]
    assert [(1, False), (2, True)] == seen  # nothing is sent to the other queue
    assert [{}] == left
    assert [] == loop_errors
    assert receives[0] == receives[1]


def test_a_queue_url_that_is_not_one_is_a_typed_outcome(sagemaker, monkeypatch):
    """An empty URL or bad hints_options fail at once; ftp:// is an error event."""
    with pytest.raises(ValueError, match="queue_url"):
        TrainingJobTrigger("j", aws_conn_id="sagemaker_fake", sqs_queue_url="")
    with monkeypatch.context() as patched:
        patched.setattr(TrainingJobTrigger, "hints_options", {"ceiling": 0})
        with pytest.raises(ValueError, match="ceiling"):
            TrainingJobTrigger("j", sqs_queue_url="http://127.0.0.1:1/0/q")
    event = first_event(
        TrainingJobTrigger(
            "j", aws_conn_id="sagemaker_fake", sqs_queue_url="ftp://example.com/q"
        )
    )
    assert "error" == event.payload["status"]
    assert "InvalidEndpoint" == event.payload["error"]
    assert 0 == sagemaker.request_count()
