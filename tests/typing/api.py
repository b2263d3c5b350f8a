"""Type-checked from the user's side: mypy --strict must accept this file as is."""

from __future__ import annotations

from typing import TYPE_CHECKING, assert_type

import anyio

import sagemaker_watch as sw

if TYPE_CHECKING:
    from types_aiobotocore_sagemaker import SageMakerClient


async def users_code(client: SageMakerClient) -> None:
    """The README's uses, with the types a user's checker infers."""
    snapshot = await sw.wait_until_complete("my-job", client=client, timeout=3600.0)
    assert_type(snapshot, sw.Snapshot)
    assert_type(snapshot.primary_status, sw.PrimaryStatus)
    assert_type(snapshot.failure_reason, str | None)

    terminal = await sw.wait_until_terminal("my-job", client=client)
    assert_type(terminal.is_terminal, bool)
    sw.raise_for_outcome(terminal)

    await sw.wait_for_status("my-job", sw.SecondaryStatus.TRAINING, client=client)

    schedule = sw.PollSchedule(min_delay=5, max_delay=60)
    async with sw.watch("my-job", client=client, schedule=schedule) as events:
        async for event in events:
            assert_type(event, sw.Event)
            assert_type(event.to_json(), dict[str, sw.JSON])
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
