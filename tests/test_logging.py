"""Tests for the library's logging: namespaced, silent on import."""

from __future__ import annotations

import subprocess
import sys

import pytest
from structlog.testing import capture_logs

import sagemaker_watch as sw
from sagemaker_watch._io import logging as _logging
from sagemaker_watch.testing import Fault, plain


def test_importing_the_library_configures_no_logging():
    """Importing sagemaker_watch leaves structlog and stdlib logging unconfigured."""
    code = (
        "import logging, structlog, sagemaker_watch, sagemaker_watch.testing;"
        "print(structlog.is_configured(), logging.getLogger().handlers)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "False []\n" == out


def test_event_names_are_namespaced_constants():
    """Every log event name is a sagemaker_watch.* snake_case constant."""
    names = [v for k, v in vars(_logging).items() if k.isupper() and isinstance(v, str)]
    assert names
    for name in names:
        prefix, _, rest = name.partition(".")
        assert ("sagemaker_watch", True) == (prefix, rest.replace("_", "").isalpha())


def _not_found_yet(logs):
    """The ``job_not_found_yet`` lines of *logs*, in order."""
    return [entry for entry in logs if entry["event"].endswith("job_not_found_yet")]


def _expected_not_found_yet(lines):
    """What each not-found line must be: job, attempt, delay, the code, no body."""
    return [
        {
            "event": "sagemaker_watch.job_not_found_yet",
            "log_level": "info",
            "job_name": "ghost",
            "attempt": attempt,
            "delay": line["delay"],
            "error": "ValidationException",
        }
        for attempt, line in enumerate(lines, start=1)
    ]


@pytest.mark.asyncio
async def test_watch_logs_each_not_found_retry_during_the_grace(sim):
    """watch() logs job_not_found_yet once per retry of a job not visible yet."""
    fake, client = sim
    with capture_logs() as logs, pytest.raises(sw.TrainingJobNotFound):
        async for _ in sw.watch("ghost", client=client, clock=fake.clock, seed=7):
            pass
    lines = _not_found_yet(logs)
    assert len(lines) > 1
    assert _expected_not_found_yet(lines) == lines


@pytest.mark.asyncio
async def test_the_fleet_logs_not_found_retries_as_watch_does(sim):
    """A fleet job not found yet logs the same job_not_found_yet lines as watch()."""
    fake, client = sim
    with capture_logs() as watch_logs, pytest.raises(sw.TrainingJobNotFound):
        async for _ in sw.watch("ghost", client=client, clock=fake.clock, seed=7):
            pass
    with capture_logs() as fleet_logs:
        async with sw.FleetWatcher(
            client=client, clock=fake.clock, seed=7, sweep_interval=None
        ) as fleet:
            with pytest.raises(sw.TrainingJobNotFound):
                await fleet.wait_until_terminal("ghost")
    lines = _not_found_yet(fleet_logs)
    assert _expected_not_found_yet(lines) == lines
    assert _not_found_yet(watch_logs) == lines


@pytest.mark.asyncio
async def test_the_fleet_logs_each_retry_with_its_delay_and_error(sim):
    """fleet_poll_failed names the error and the delay, as poll_retry_scheduled does.

    A transient error is logged at info, a throttle at debug (a throttling storm
    over many jobs is the budget's business, not a line per job at info).
    """
    fake, client = sim
    fake.add_job("job", plain(training=60))
    fake.inject(
        Fault.error(
            "InternalFailure",
            "try again",
            status=500,
            operation="DescribeTrainingJob",
            times=1,
        ),
        Fault.throttle(operation="DescribeTrainingJob", times=1),
    )
    with capture_logs() as logs:
        async with sw.FleetWatcher(
            client=client, clock=fake.clock, seed=7, sweep_interval=None
        ) as fleet:
            await fleet.wait_until_terminal("job")
    name = "sagemaker_watch.fleet_poll_failed"
    failed = [log for log in logs if log["event"] == name]
    assert ["debug", "info"] == sorted(log["log_level"] for log in failed)
    for log in failed:
        assert {"job_name", "attempt", "delay", "error"} <= set(log)
        assert log["delay"] > 0
        assert log["attempt"] >= 1
    assert {"InternalFailure", "ThrottlingException"} == {
        log["error"] for log in failed
    }
