"""The fake SageMaker for the command line: populate it, or serve it standalone."""

from __future__ import annotations

import datetime as dt
import ipaddress
import signal
from typing import TYPE_CHECKING

import anyio

from sagemaker_watch.testing import FakeSageMaker, ScaledClock

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import TextIO

    from ._scenario import ScenarioJob


async def populate(
    fake: FakeSageMaker, jobs: Sequence[ScenarioJob], task_group: anyio.abc.TaskGroup
) -> None:
    """Create *jobs* now, or at their start offset in a task of *task_group*."""
    for entry in jobs:
        if entry.start <= 0:
            fake.add_job(entry.name, entry.timeline)
        else:
            task_group.start_soon(_add_later, fake, entry)


async def _add_later(fake: FakeSageMaker, entry: ScenarioJob) -> None:
    await fake.clock.sleep(entry.start)
    fake.add_job(entry.name, entry.timeline)


def is_loopback(host: str) -> bool:
    """Return whether *host* names only this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def serve(
    *,
    host: str,
    port: int,
    speed: float,
    jobs: Sequence[ScenarioJob],
    out: TextIO,
    err: TextIO,
) -> None:
    """Serve a fake SageMaker until SIGINT or SIGTERM; print how to reach it.

    The endpoint and the environment variables go to *out*, one ``export`` per
    line, so ``grep ^export`` picks them up; the rest goes to *err*.
    """
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with (
            FakeSageMaker(
                # Simulated time starts now, so that a watcher on the real
                # clock sees plausible timestamps (exact at speed 1).
                clock=ScaledClock(speed=speed, start=dt.datetime.now(dt.UTC)),
                host=host,
                port=port,
            ) as fake,
            anyio.create_task_group() as task_group,
        ):
            await populate(fake, jobs, task_group)
            if not is_loopback(host):
                print(
                    f"sagemaker-watch: warning: serving on {host}, beyond this "
                    "machine, with no authentication",
                    file=err,
                    flush=True,
                )
            print(f"# fake SageMaker at {fake.endpoint_url}", file=out)
            for key, value in fake.environ().items():
                print(f"export {key}={value}", file=out)
            out.flush()
            names = ", ".join(entry.name for entry in jobs) or "none"
            print(
                f"Serving at {speed:g}x speed; jobs: {names}.\nPress Ctrl-C to stop.",
                file=err,
                flush=True,
            )
            async for signum in signals:
                print(
                    f"sagemaker-watch: {signal.Signals(signum).name}, stopping",
                    file=err,
                    flush=True,
                )
                break
            task_group.cancel_scope.cancel()
