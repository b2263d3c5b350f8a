"""FleetWatcher with push hints under every event fault, over real HTTP.

Split from test_hints_fleet.py so that the two spread over CI's workers.
"""

from __future__ import annotations

import pytest

import sagemaker_watch as sw
from sagemaker_watch.testing import EVENT_FAULT_SCENARIOS
from test_hints_fleet import (  # the fixtures register by being imported
    _clients,  # noqa: F401
    _fake,  # noqa: F401
    add_jobs,
    assert_every_change_once,
    run_fleet,
)

#: Each event fault with per-job schedules (where hints replace polling), and the
#: commonest one with list sweeps too.
FAULT_CASES = [
    *((scenario, None) for scenario in sorted(EVENT_FAULT_SCENARIOS)),
    ("dropped_and_duplicated", 5.0),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("scenario", "sweep_interval"),
    FAULT_CASES,
    ids=[f"{s}-{'listing' if i else 'per-job'}" for s, i in FAULT_CASES],
)
async def test_each_job_gets_every_change_once_whatever_the_hints_do(
    fake, clients, scenario, sweep_interval
):
    """Dropped, duplicated, late, reordered hints or a failing queue lose nothing."""
    sagemaker, sqs = clients
    fake.inject(*EVENT_FAULT_SCENARIOS[scenario])
    names = add_jobs(fake, 5)
    hints = sw.SqsHints(fake.queue_url("events"), client=sqs, ceiling=120.0)
    by_job, _ = await run_fleet(
        fake,
        sagemaker,
        names,
        hints=hints,
        sweep_interval=sweep_interval,
        list_min_jobs=1,
    )
    assert sorted(names) == sorted(by_job)
    assert_every_change_once(fake, by_job)
