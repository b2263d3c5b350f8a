"""The Airflow integration in real Airflow: dag.test() defers and runs the trigger.

Each DAG in ``dags.py`` runs through Airflow's own machinery (the Task SDK's
in-process supervisor, a SQLite metadata database, the trigger re-created from
its serialised keywords), against the fake SageMaker behind an Airflow AWS
connection whose ``endpoint_url`` points at it.
"""

from __future__ import annotations

import asyncio
import collections
import importlib.util
import os
import pathlib
import re

import pytest
from airflow.sdk._shared.module_loading import import_string
from airflow.sdk.serde import deserialize, serialize
from airflow.utils.state import TaskInstanceState

from docblocks import parse
from sagemaker_watch.integrations.airflow import (
    SHARED_FLEETS,
    TrainingJobTrigger,
    WaitForTrainingJobOperator,
)
from sagemaker_watch.testing import TIMELINES, Fault, plain

#: The DAG file, as Airflow's dag bundle sees it (conftest put it there).
DAG_FILE = pathlib.Path(os.environ["AIRFLOW_HOME"], "dags", "dags.py")
_spec = importlib.util.spec_from_file_location("dags", DAG_FILE)
assert _spec is not None
assert _spec.loader is not None
DAGS = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(DAGS)

#: One logged event line: "<time> <job> <kind> <detail>".
LINE = re.compile(r"(\S+Z) (\S+) (status_entered|interrupted|job_\w+) ?(.*?) \[")


def run_dag(dag, job, capfd):
    """Run *dag* for *job* with dag.test(); return the task's state and output."""
    run = dag.test(run_conf={"job": job})
    out, err = capfd.readouterr()
    ti = run.get_task_instance("wait")
    return ti, out + err


def logged(output, job):
    """The (kind, detail) of each event line the trigger logged for *job*."""
    return [
        (kind, detail)
        for _at, name, kind, detail in LINE.findall(output)
        if name == job
    ]


def history(sagemaker, job):
    """The statuses the fake's job went through."""
    answer = sagemaker.describe(job)
    return [t["Status"] for t in answer["SecondaryStatusTransitions"]]


def entered(lines):
    """The statuses the logged status_entered / interrupted lines name."""
    return [
        detail.split(" ", 1)[0]
        for kind, detail in lines
        if kind in {"status_entered", "interrupted"}
    ]


def test_a_completed_job_succeeds_and_logs_each_transition_once(sagemaker, capfd):
    """Completed: the task succeeds, its XCom is the summary, each status once."""
    sagemaker.add_job("done", TIMELINES["spot_interrupted_once"]())
    ti, output = run_dag(DAGS.wait, "done", capfd)
    assert TaskInstanceState.SUCCESS == ti.state
    lines = logged(output, "done")
    assert history(sagemaker, "done") == entered(lines)
    assert "job_completed" == lines[-1][0]
    summary = ti.xcom_pull(task_ids="wait")
    assert "done" == summary["job_name"]
    assert "Completed" == summary["status"]
    assert summary["job_arn"].endswith(":training-job/done")


def test_a_failed_job_fails_the_task_with_its_failure_reason(sagemaker, capfd):
    """Failed: the task fails with TrainingJobFailedError carrying the reason."""
    sagemaker.add_job("broken", TIMELINES["failure"]())
    ti, output = run_dag(DAGS.wait, "broken", capfd)
    reason = sagemaker.describe("broken")["FailureReason"].splitlines()[0]
    assert TaskInstanceState.FAILED == ti.state
    assert "TrainingJobFailedError" in output
    assert reason in output
    assert history(sagemaker, "broken") == entered(logged(output, "broken"))


def test_a_stopped_job_fails_the_task_unless_stopped_is_allowed(sagemaker, capfd):
    """Stopped (MaxRuntimeExceeded): fails by default, succeeds with allow_stopped."""
    sagemaker.add_job("slow", TIMELINES["max_runtime"]())
    ti, output = run_dag(DAGS.wait, "slow", capfd)
    assert TaskInstanceState.FAILED == ti.state
    assert "TrainingJobStoppedError" in output
    assert "MaxRuntimeExceeded" in output
    ti, _ = run_dag(DAGS.wait_allow_stopped, "slow", capfd)
    assert TaskInstanceState.SUCCESS == ti.state
    assert "Stopped" == ti.xcom_pull(task_ids="wait")["status"]


def test_a_job_of_hours_is_waited_for_to_its_end(sagemaker, capfd):
    """Six hours of training: no give-up at 30 minutes (the provider's default)."""
    sagemaker.add_job("long", plain(training=6 * 3600))
    ti, output = run_dag(DAGS.wait, "long", capfd)
    answer = sagemaker.describe("long")
    took = answer["TrainingEndTime"] - answer["TrainingStartTime"]
    assert TaskInstanceState.SUCCESS == ti.state
    assert took >= 6 * 3600
    assert history(sagemaker, "long") == entered(logged(output, "long"))


def test_the_timeout_fails_the_task_with_a_typed_error(sagemaker, capfd):
    """timeout=1 h on a six-hour job: TrainingJobWaitTimeoutError, on time."""
    sagemaker.add_job("endless", plain(training=6 * 3600))
    ti, output = run_dag(DAGS.wait_an_hour, "endless", capfd)
    assert TaskInstanceState.FAILED == ti.state
    assert "TrainingJobWaitTimeoutError" in output
    assert "InProgress" == sagemaker.describe("endless")["TrainingJobStatus"]


def test_a_job_that_does_not_exist_fails_the_task_as_not_found(sagemaker, capfd):
    """No such job: TrainingJobNotFoundError, after the grace for new jobs."""
    ti, output = run_dag(DAGS.wait, "missing", capfd)
    assert sagemaker.request_count("DescribeTrainingJob", "missing") > 1
    assert TaskInstanceState.FAILED == ti.state
    assert "TrainingJobNotFoundError" in output


def test_an_invalid_name_fails_the_task_before_any_request(sagemaker, capfd):
    """A name SageMaker would reject fails in execute(), before deferring."""
    ti, output = run_dag(DAGS.wait, "not a name", capfd)
    assert TaskInstanceState.FAILED == ti.state
    assert "InvalidJobName" in output
    assert 0 == sagemaker.request_count()


def recreate(trigger):
    """Serialise *trigger* as Airflow stores it, and build it again (a failover)."""
    classpath, kwargs = trigger.serialize()
    stored = serialize(kwargs)
    return import_string(classpath)(**deserialize(stored))


def first_event(trigger, *, stop_after=None):
    """Run *trigger* in an event loop of its own, as a triggerer does.

    With *stop_after* real seconds, cancel it then (the triggerer died).
    """

    async def main():
        runs = trigger.run()
        try:
            if stop_after is None:
                return await anext(runs)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(anext(runs), stop_after)
            return None
        finally:
            await runs.aclose()

    return asyncio.run(main())


def test_a_trigger_recreated_mid_job_logs_no_transition_twice(sagemaker, capfd):
    """Failover: the re-created trigger reaches the outcome, no line repeated."""
    sagemaker.add_job("moved", plain(training=4 * 3600))
    trigger = TrainingJobTrigger("moved", aws_conn_id="sagemaker_fake")
    first_event(trigger, stop_after=1.0)  # an hour into the job, simulated
    before = logged("".join(capfd.readouterr()), "moved")
    assert trigger.resume is not None
    assert "Training" in entered(before)
    event = first_event(recreate(trigger))
    after = logged("".join(capfd.readouterr()), "moved")
    assert "completed" == event.payload["status"]
    assert after
    assert history(sagemaker, "moved") == entered(before + after)
    assert [] == [line for line in before if line in after]


def test_on_kill_stops_the_job_only_when_asked(sagemaker):
    """stop_on_kill=True: a user's kill stops the training job; off by default."""
    sagemaker.add_job("kill-me", plain(training=3600))
    sagemaker.add_job("keep-me", plain(training=3600))
    asyncio.run(TrainingJobTrigger("keep-me", aws_conn_id="sagemaker_fake").on_kill())
    asyncio.run(
        TrainingJobTrigger(
            "kill-me", aws_conn_id="sagemaker_fake", stop_on_kill=True
        ).on_kill()
    )
    assert 0 == sagemaker.request_count("StopTrainingJob", "keep-me")
    assert 1 == sagemaker.request_count("StopTrainingJob", "kill-me")
    assert sagemaker.describe("kill-me")["TrainingJobStatus"] in {"Stopping", "Stopped"}


def test_many_deferred_tasks_share_one_fleet_and_its_budget(sagemaker):
    """60 triggers in one triggerer loop, 30 % of describes throttled: one fleet.

    Every outcome is right, no throttle reaches a task, describes stay within the
    fleet's budget; the 10 triggers cancelled early (tasks cleared, or moved to
    another triggerer) leave their jobs, and nothing is left once all are done.
    """
    names = [f"many-{i:02d}" for i in range(60)]
    cancelled = set(names[:10])
    lifecycles = ["plain", "failure", "spot_interrupted_once", "max_runtime"]
    for i, name in enumerate(names):
        sagemaker.add_job(name, TIMELINES[lifecycles[i % len(lifecycles)]]())
    sagemaker.portal.call(
        lambda: sagemaker.fake.inject(
            Fault.throttle(operation="DescribeTrainingJob", probability=0.3)
        )
    )
    triggers = {
        name: recreate(TrainingJobTrigger(name, aws_conn_id="sagemaker_fake"))
        for name in names
    }
    fleets, forgotten, left = [], [], []

    async def main():
        start = sagemaker.clock.now()
        runs = {
            name: asyncio.ensure_future(anext(trigger.run()))
            for name, trigger in triggers.items()
        }
        await asyncio.sleep(0.2)
        for name in cancelled:
            runs.pop(name).cancel()
        await asyncio.sleep(0.05)
        (fleet,) = SHARED_FLEETS.fleets().values()
        forgotten.extend(name for name in cancelled if name not in fleet)
        while not all(run.done() for run in runs.values()):
            fleets.append(len(SHARED_FLEETS.fleets()))
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.05)
        left.append(SHARED_FLEETS.fleets())
        events = [run.result() for run in runs.values()]
        return events, (sagemaker.clock.now() - start).total_seconds()

    events, took = asyncio.run(main())
    outcomes = collections.Counter(event.payload["status"] for event in events)
    describes = sagemaker.request_count("DescribeTrainingJob")
    finished = len(names) - len(cancelled)
    assert finished == sum(outcomes.values())
    assert {"completed", "failed", "stopped"} == set(outcomes)
    outcome_of = {
        "plain": "completed",
        "spot_interrupted_once": "completed",
        "failure": "failed",
        "max_runtime": "stopped",
    }
    expected = {name: outcome_of[lifecycles[i % 4]] for i, name in enumerate(names)}
    assert [expected[e.payload["job_name"]] for e in events] == [
        e.payload["status"] for e in events
    ]
    assert 1 == max(fleets)
    assert sorted(cancelled) == sorted(forgotten)
    assert [{}] == left
    assert sagemaker.request_count("ListTrainingJobs") > 0
    # The fleet's describe budget (10/s) bounds what 60 waits cost, and listing
    # keeps it far below one poller per task (the provider's: one per 30 s each).
    assert describes <= 10 * took
    assert describes < len(names) * took / 30


def test_the_operator_takes_the_providers_keywords():
    """aws_conn_id, region_name, verify, botocore_config reach the trigger."""
    operator = WaitForTrainingJobOperator(
        task_id="t",
        job_name="arn:aws:sagemaker:eu-west-1:123456789012:training-job/j",
        aws_conn_id="c",
        region_name="eu-west-1",
        verify=False,
        botocore_config={"read_timeout": 5},
    )
    assert "c" == operator.aws_conn_id
    trigger = TrainingJobTrigger(
        operator.job_name,
        aws_conn_id="c",
        region_name="eu-west-1",
        verify=False,
        botocore_config={"read_timeout": 5},
    )
    again = recreate(trigger)
    assert trigger.serialize() == again.serialize()
    assert "eu-west-1" == again.region_name
    assert {"read_timeout": 5} == again.botocore_config


def readme_dag():
    """The README's Airflow DAG: the python block its skip marker sends here."""
    blocks, _ = parse(pathlib.Path(__file__).parents[2] / "README.md")
    (block,) = [
        b
        for b in blocks
        if b.lang == "python" and "tests/airflow_integration" in (b.skip_reason or "")
    ]
    return block.text


def test_the_readmes_dag_runs_in_airflow(sagemaker, capfd, monkeypatch):
    """The README's DAG, as written, waits for my-job in dag.test()."""
    sagemaker.add_job("my-job", plain(training=3600))
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT", os.environ["AIRFLOW_CONN_SAGEMAKER_FAKE"]
    )
    path = DAG_FILE.with_name("readme_dag.py")
    path.write_text(readme_dag(), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("readme_dag", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run = module.dag.test()
    capfd.readouterr()
    ti = run.get_task_instance("wait_for_training")
    assert TaskInstanceState.SUCCESS == ti.state
    assert "my-job" == ti.xcom_pull(task_ids="wait_for_training")["job_name"]


def test_a_connection_that_cannot_work_is_a_typed_outcome(sagemaker):
    """No region, or a botocore setting it rejects: an error event, no traceback."""
    missing = first_event(TrainingJobTrigger("j", aws_conn_id="no_such_connection"))
    bad = first_event(
        TrainingJobTrigger(
            "j", aws_conn_id="sagemaker_fake", botocore_config={"no_such_key": 1}
        )
    )
    assert "error" == missing.payload["status"]
    assert "NoRegion" == missing.payload["error"]
    assert "error" == bad.payload["status"]
    assert "ConfigurationError" == bad.payload["error"]
    assert "no_such_key" in bad.payload["message"]
    assert 0 == sagemaker.request_count()


def test_the_fake_is_reached_through_the_connections_endpoint(sagemaker):
    """The client is the connection's: its endpoint_url and region, our retries off."""
    sagemaker.add_job("j", plain(training=60))
    event = first_event(TrainingJobTrigger("j", aws_conn_id="sagemaker_fake"))
    assert "completed" == event.payload["status"]
    assert event.payload["job_arn"].startswith("arn:aws:sagemaker:us-east-1:")
    assert sagemaker.request_count("DescribeTrainingJob", "j") >= 1
