"""A canary secret in Environment and HyperParameters never leaks anywhere."""

from __future__ import annotations

import json
import logging

import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
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


@pytest.mark.asyncio
async def test_no_credential_or_signature_reaches_our_logs(caplog):
    """Retries under every fault log no access key, secret key or signature."""
    caplog.set_level(logging.DEBUG, logger="sagemaker_watch")
    secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"  # noqa: S105 - a canary
    async with FakeSageMaker(clock=ManualClock()) as fake:
        fake.add_job("job", "plain")
        fake.inject(
            Fault.throttle(times=2),
            Fault.error(
                "ExpiredTokenException", "The security token is expired", times=1
            ),
            Fault.drop_connection(times=1),
            Fault.error(
                "AccessDeniedException", "User: arn:aws:iam::1:user/x is not authorized"
            ),
        )
        session = get_session()
        async with session.create_client(
            "sagemaker",
            region_name="us-east-1",
            endpoint_url=fake.endpoint_url,
            aws_access_key_id="AKIAIOSFODNN7CANARY",
            aws_secret_access_key=secret,
            config=AioConfig(retries={"total_max_attempts": 1}),
        ) as client:
            with capture_logs() as logs, pytest.raises(sw.ServiceError) as info:
                await sw.wait_until_complete("job", client=client, clock=fake.clock)
    assert 4 <= len(logs)
    texts = [repr(logs), caplog.text, str(info.value), repr(info.value)]
    for text in texts:
        assert "AKIAIOSFODNN7CANARY" not in text
        assert secret not in text
        assert "Signature=" not in text
