"""Training logs in the task log: a deferred task's trigger writes the job's lines.

``logs=True`` on the operator (or trigger): while the task is deferred, the
trigger follows the job's CloudWatch Logs and writes each line into the task's
log once, the status still coming from the shared fleet.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import importlib.util
import os
import pathlib
import re

import pytest
from airflow.sdk._shared.module_loading import import_string
from airflow.sdk.serde import deserialize, serialize
from airflow.utils.state import TaskInstanceState

from sagemaker_watch.cli._text import safe
from sagemaker_watch.integrations.airflow import TrainingJobTrigger
from sagemaker_watch.testing import TIMELINES, spot_interrupted_once

DAG_FILE = pathlib.Path(os.environ["AIRFLOW_HOME"], "dags", "dags.py")
_spec = importlib.util.spec_from_file_location("dags", DAG_FILE)
assert _spec is not None
assert _spec.loader is not None
DAGS = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(DAGS)

#: One logged training log line: "<time> <host> | <message>".
LOG_LINE = re.compile(
    r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (algo-\d+) \| (.*?)"
    r" \[sagemaker_watch\.integrations\.airflow\.TrainingJobTrigger\]"
)


def recreate(trigger):
    """Serialise *trigger* as Airflow stores it, and build it again (a failover)."""
    classpath, kwargs = trigger.serialize()
    return import_string(classpath)(**deserialize(serialize(kwargs)))


def first_event(trigger, *, stop_after=None):
    """Run *trigger* in an event loop of its own; cancel it after *stop_after* s."""

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


def expected_lines(sagemaker, job):
    """What the fake's job wrote, as the task log shows each line (a multiset)."""
    written = sagemaker.portal.call(lambda: sagemaker.fake.written_lines(job))
    shown = collections.Counter()
    for line in written:
        at = dt.datetime.fromtimestamp(line.timestamp / 1000, dt.UTC)
        host = line.stream.split("/", 1)[1].rsplit("-", 1)[0]
        stamp = f"{at:%Y-%m-%dT%H:%M:%S}.{at.microsecond // 1000:03d}Z"
        shown[(stamp, host, safe(line.message))] += 1
    return shown


def printed_lines(output):
    """The training log lines found in the task's output (a multiset)."""
    return collections.Counter(
        match.groups()
        for text in output.splitlines()
        if (match := LOG_LINE.search(text)) is not None
    )


def test_a_failed_jobs_lines_are_in_the_task_log_once_each(sagemaker, capfd):
    """logs=True: every line of every host once, the traceback, then the failure."""
    sagemaker.add_job("noisy", TIMELINES["failure"]())
    run = DAGS.wait_with_logs.test(run_conf={"job": "noisy"})
    out, err = capfd.readouterr()
    output = out + err
    ti = run.get_task_instance("wait")
    expected = expected_lines(sagemaker, "noisy")
    assert TaskInstanceState.FAILED == ti.state
    assert "TrainingJobFailedError" in output
    assert expected
    assert expected == printed_lines(output)
    reason = sagemaker.describe("noisy")["FailureReason"].splitlines()[0]
    last_line = max(i for i, t in enumerate(output.splitlines()) if LOG_LINE.search(t))
    failed_at = min(
        i
        for i, text in enumerate(output.splitlines())
        if "job_failed" in text and reason in text
    )
    assert last_line < failed_at


def test_a_recreated_trigger_prints_no_line_twice(sagemaker, capfd):
    """Failover mid-job, restarts and all: each line once across both triggers."""
    sagemaker.add_job("moved-logs", spot_interrupted_once(training=3600))
    trigger = recreate(
        TrainingJobTrigger("moved-logs", aws_conn_id="sagemaker_fake", logs=True)
    )
    first_event(trigger, stop_after=1.0)
    before = printed_lines("".join(capfd.readouterr()))
    assert before
    assert trigger.logs_resume is not None
    event = first_event(recreate(trigger))
    after = printed_lines("".join(capfd.readouterr()))
    assert "completed" == event.payload["status"]
    assert expected_lines(sagemaker, "moved-logs") == before + after
