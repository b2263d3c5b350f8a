"""A canary secret in Environment and HyperParameters never leaks anywhere."""

from __future__ import annotations

import json
import logging

import pytest
from structlog.testing import capture_logs

import sagemaker_watch as sw
from sagemaker_watch.testing import FakeSageMaker, Fault, ManualClock

CANARY = "CANARY-SECRET-7f3a9c"
SECRET_MEMBERS = {
    "HyperParameters": {"api_key": CANARY, "epochs": "10"},
    "Environment": {"HF_TOKEN": CANARY, "MODE": "train"},
}


def _texts_of(events, errors):
    """Every string a user could print or log of these events and errors."""
    for event in events:
        yield repr(event)
        yield str(event)
        yield json.dumps(event.to_json())
        yield repr(event.snapshot)
        yield str(event.snapshot)
        yield repr(event.snapshot.transitions)
    for error in errors:
        yield repr(error)
        yield str(error)
        snapshot = getattr(error, "snapshot", None)
        yield repr(snapshot)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "lifecycle", ["plain", "failure", "max_runtime", "spot_interrupted_once"]
)
async def test_canary_never_appears_in_events_snapshots_errors_or_logs(
    lifecycle, caplog
):
    """Watch and wait with faults and retries; no output carries the canary."""
    caplog.set_level(logging.DEBUG, logger="sagemaker_watch")
    errors: list[BaseException] = []
    async with FakeSageMaker(clock=ManualClock()) as fake, fake.client() as client:
        fake.add_job("job", lifecycle, **SECRET_MEMBERS)
        fake.inject(
            Fault.malformed_body("missing_members", times=2),
            Fault.throttle(times=2),
            Fault.truncated(times=1),
        )
        with capture_logs() as logs:
            events = [e async for e in sw.watch("job", client=client, clock=fake.clock)]
            try:
                await sw.wait_until_complete("job", client=client, clock=fake.clock)
            except sw.SageMakerWatchError as exc:
                errors.append(exc)
            try:
                await sw.wait_until_complete(
                    "job", client=client, clock=fake.clock, timeout=0
                )
            except sw.SageMakerWatchError as exc:
                errors.append(exc)
    assert CANARY in json.dumps(events[-1].snapshot.raw["HyperParameters"])
    assert logs
    outputs = [*_texts_of(events, errors), repr(logs), caplog.text]
    assert [] == [text for text in outputs if CANARY in text]
