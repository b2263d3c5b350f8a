"""Type-checked from the user's side: mypy --strict must accept this file as is."""

from __future__ import annotations

from typing import TYPE_CHECKING, assert_type

import anyio

import sagemaker_watch as sw

if TYPE_CHECKING:
    from collections.abc import Mapping

    from types_aiobotocore_sagemaker import SageMakerClient


async def users_code(client: SageMakerClient) -> None:
    """The README's uses, with the types a user's checker infers."""
    snapshot = await sw.wait_until_complete("my-job", client=client, timeout=3600.0)
    assert_type(snapshot, sw.Snapshot)
    assert_type(snapshot.primary_status, sw.PrimaryStatus)
    assert_type(snapshot.failure_reason, str | None)

    terminal = await sw.wait_until_terminal("my-job", client=client)
    assert_type(terminal.is_terminal, bool)
    assert_type(terminal.raise_for_outcome(), sw.Snapshot)

    await sw.wait_for_status("my-job", sw.SecondaryStatus.TRAINING, client=client)

    schedule = sw.PollSchedule(min_delay=5, max_delay=60)
    async with sw.watch("my-job", client=client, schedule=schedule) as events:
        async for event in events:
            assert_type(event, sw.Event)
            as_json: Mapping[str, object] = event.to_json()
            assert_type(as_json["event"], object)
            assert_type(event.resume_token, str)
            match event:
                case sw.JobFailed(failure_reason=reason):
                    assert_type(reason, str | None)
                case sw.StatusEntered(status=status):
                    assert_type(status, sw.SecondaryStatus)
                case _:
                    pass

    try:
        await sw.wait_until_complete("my-job")
    except sw.TrainingJobStopped as exc:
        assert_type(exc.reason, str)
        assert_type(exc.snapshot, sw.Snapshot)
    except sw.WaitTimeout as exc:
        assert_type(exc.snapshot, sw.Snapshot | None)

    with anyio.fail_after(10):
        async with sw.sagemaker_client(region="eu-west-1") as own:
            await sw.wait_until_terminal("my-job", client=own)

    snapshot = await sw.wait_until_complete(
        "my-job", region="eu-west-1", profile="ml", timeout=60.0, resume=None
    )
    try:
        async with sw.watch("my-job", endpoint_url="http://127.0.0.1:1") as events:
            async for event in events:
                assert_type(event.snapshot, sw.Snapshot)
    except sw.UsageError as exc:
        assert_type(exc, sw.UsageError)
    except sw.ConfigurationError as exc:
        assert_type(exc.code, str)


async def fleet_code() -> None:
    """A fleet's stream is of events, or of events and log lines with ``logs=``."""
    async with sw.FleetWatcher(logs=sw.CloudWatchLogs()) as logged:
        assert_type(logged, sw.FleetWatcher[sw.Event | sw.LogLine])
        async for item in logged:
            assert_type(item, sw.Event | sw.LogLine)
        assert_type(logged.statistics().logs, sw.FleetLogStatistics | None)
    async with sw.FleetWatcher() as fleet:
        assert_type(fleet, sw.FleetWatcher[sw.Event])
        async for plain in fleet:
            assert_type(plain, sw.Event)


def blocking_code() -> None:
    """The blocking API's uses, with the types a user's checker infers."""
    snapshot = sw.blocking.wait_until_complete("my-job", timeout=3600.0)
    assert_type(snapshot, sw.Snapshot)
    assert_type(sw.blocking.wait_for_status("my-job", "Training"), sw.Snapshot)
    with sw.blocking.watch("my-job", region="eu-west-1") as events:
        assert_type(events, sw.blocking.Watch)
        assert_type(next(events), sw.Event)
        for event in events:
            assert_type(event, sw.Event)
    for event in sw.blocking.watch("my-job"):
        assert_type(event, sw.Event)
