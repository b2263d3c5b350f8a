"""Fleets shared by every waiter in one event loop, as an orchestrator's process needs.

An Airflow triggerer runs the triggers of hundreds of deferred tasks in one asyncio
loop; each waits on one training job. Polling each on its own costs one poller per
task, and they hit "Rate exceeded" together. Here every waiter whose connection
settings compare equal (the *key*) shares one ``FleetWatcher``: one client, one
rate budget, ``ListTrainingJobs`` change detection. So 500 waiters cost what one
fleet of 500 jobs costs.

How it works:

* ``SharedFleets.subscribe(key, open_fleet, job_name, resume=...)`` is an async
  context manager giving that job's events, exactly once and in order, as
  ``watch()`` would give them from *resume*. The first subscriber of a key in a
  loop starts the fleet (``open_fleet()``, entered in a task of its own, since it
  outlives any one subscriber); the last one to leave closes it. A fleet belongs
  to one event loop: a loop that is closed (``asyncio.run`` per trigger, as
  ``dag.test()`` does) takes nothing of another's.
* One task reads the fleet's merged stream and hands each event to the
  subscribers of its job, keeping the job's events so far: a second subscriber of
  a job already watched gets them replayed (from its *resume* token on), then the
  live ones. A job is added to the fleet by its first subscriber and removed when
  its last one leaves, so the fleet forgets a job no one waits for.
* A subscriber whose *resume* token is neither the first subscriber's nor one of
  the events kept (it comes from a watcher that saw more, or less) cannot be
  served from the shared history: it gets a ``watch()`` of its own, on the shared
  client (the one case that polls apart; without the fleet's push hints, if it
  has any: a queue has one reader).
* If the fleet cannot start (no credentials, say) every subscriber waiting for it
  gets the error; if it stops, their event streams end and the error is raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import anyio

from .._core.events import Event, JobEnded, JobLost
from .._core.names import parse_job
from .._errors import UsageError
from .watch import watch

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Hashable
    from contextlib import AbstractAsyncContextManager

    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
    from types_aiobotocore_sagemaker import SageMakerClient

    from .._io.clock import Clock
    from .fleet import FleetWatcher
else:
    SageMakerClient = Any


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenedFleet:
    """What ``open_fleet`` yields: a running fleet, its client and its clock."""

    fleet: FleetWatcher
    client: SageMakerClient
    clock: Clock


#: Opens a fleet (entered for as long as anyone subscribes) and what it runs on.
OpenFleet: TypeAlias = "Callable[[], AbstractAsyncContextManager[OpenedFleet]]"


class SharedFleets:
    """Fleets shared by key within each event loop.

    ::

        SHARED = SharedFleets()

        async with SHARED.subscribe(key, open_fleet, "my-job") as events:
            async for event in events:
                ...

    Keep one instance per process (a module global); it holds nothing once
    every subscriber has left.
    """

    def __init__(self) -> None:
        """Start empty."""
        self._by_loop: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[Hashable, _Shared]
        ] = weakref.WeakKeyDictionary()

    def __repr__(self) -> str:
        """Return a short description."""
        fleets = sum(len(fleets) for fleets in self._by_loop.values())
        return f"SharedFleets(fleets={fleets})"

    def fleets(self) -> dict[Hashable, FleetWatcher]:
        """Return this loop's running fleets by key (for statistics and tests)."""
        fleets = self._by_loop.get(asyncio.get_running_loop(), {})
        return {
            key: shared.opened.fleet
            for key, shared in fleets.items()
            if shared.opened is not None
        }

    @contextlib.asynccontextmanager
    async def subscribe(
        self,
        key: Hashable,
        open_fleet: OpenFleet,
        job_name: str,
        *,
        resume: str | None = None,
    ) -> AsyncIterator[AsyncIterator[Event]]:
        """Yield *job_name*'s events from the fleet shared under *key*.

        Entering waits for the fleet to start (the first subscriber of *key*
        starts it with *open_fleet*); leaving stops watching the job if no one
        else waits for it, and closes the fleet if no one else uses it (shielded).
        The iterator ends after the job's terminal event or a ``JobLost``.

        Raises:
            InvalidJobName: at once, for a name or ARN SageMaker would reject;
                once the fleet runs, for an ARN of another region than its client's.
            InvalidResumeToken: at once, for a token that cannot be read.
            SageMakerWatchError: what stopped the fleet from starting, or
                stopped it (raised by the iterator).
        """
        job = parse_job(job_name)
        name = job.name
        fleets = self._by_loop.setdefault(asyncio.get_running_loop(), {})
        shared = fleets.get(key)
        if shared is None:
            shared = fleets[key] = _Shared(open_fleet)
        shared.users += 1
        subscriber: _Subscriber | None = None
        try:
            opened = await shared.started()
            job.check_region(opened.client.meta.region_name)
            subscriber = shared.join(name, resume)
            if subscriber is None:  # a resume point the shared history lacks
                async with watch(
                    name, client=opened.client, clock=opened.clock, resume=resume
                ) as events:
                    yield events
            else:
                yield subscriber.events(shared)
        finally:
            if subscriber is not None:
                shared.leave(name, subscriber)
            shared.users -= 1
            if shared.users == 0:
                if fleets.get(key) is shared:
                    del fleets[key]
                with anyio.CancelScope(shield=True):
                    await shared.close()


@dataclass(slots=True, kw_only=True)
class _Subscriber:
    """One subscriber's channel: events go in as the fleet emits them."""

    send: MemoryObjectSendStream[Event]
    receive: MemoryObjectReceiveStream[Event]

    async def events(self, shared: _Shared) -> AsyncIterator[Event]:
        """Yield the job's events until its terminal one (or it is lost)."""
        with self.receive:
            async for event in self.receive:
                yield event
                if isinstance(event, (JobEnded, JobLost)):
                    return
        if shared.error is not None:
            raise shared.error
        msg = "the shared fleet closed while its job was still watched"
        raise UsageError(msg)


@dataclass(slots=True)
class _Jobs:
    """One job's state in a shared fleet: where it began, what it said, who waits."""

    start: str | None
    history: list[Event] = field(default_factory=list)
    subscribers: list[_Subscriber] = field(default_factory=list)


class _Shared:
    """One shared fleet: the task that runs it, and its jobs' subscribers."""

    def __init__(self, open_fleet: OpenFleet) -> None:
        self.users = 0
        self.opened: OpenedFleet | None = None
        self.error: BaseException | None = None
        self.jobs: dict[str, _Jobs] = {}
        self._ready = anyio.Event()
        self._stop = anyio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(open_fleet))

    def __repr__(self) -> str:
        return f"_Shared(users={self.users}, jobs={len(self.jobs)})"

    async def started(self) -> OpenedFleet:
        """Wait until the fleet runs; raise what stopped it from starting."""
        await self._ready.wait()
        if self.opened is None:
            assert self.error is not None  # noqa: S101 - _run sets one or the other
            raise self.error
        return self.opened

    async def _run(self, open_fleet: OpenFleet) -> None:
        try:
            async with open_fleet() as opened:
                self.opened = opened
                self._ready.set()
                async with anyio.create_task_group() as tg:

                    async def dispatch() -> None:
                        await self._dispatch(opened.fleet)
                        tg.cancel_scope.cancel()  # the fleet's stream ended

                    tg.start_soon(dispatch)
                    await self._stop.wait()
                    tg.cancel_scope.cancel()
        except Exception as exc:  # noqa: BLE001 - handed to every subscriber
            self.error = exc
        finally:
            self.opened = None
            self._ready.set()
            for job in self.jobs.values():
                for subscriber in job.subscribers:
                    subscriber.send.close()

    async def _dispatch(self, fleet: FleetWatcher) -> None:
        async for event in fleet.events(until_idle=False):
            job = self.jobs.get(event.job_name)
            if job is None:  # removed meanwhile: its last answers are dropped
                continue
            job.history.append(event)
            for subscriber in job.subscribers:
                subscriber.send.send_nowait(event)

    def join(self, name: str, resume: str | None) -> _Subscriber | None:
        """Subscribe to *name*: add it, or replay what it said since *resume*.

        Returns ``None`` when *resume* is a point the shared history cannot
        serve from.
        """
        assert self.opened is not None  # noqa: S101 - called after started()
        job = self.jobs.get(name)
        if job is None:
            self.opened.fleet.add(name, resume=resume)
            job = self.jobs[name] = _Jobs(start=resume)
            replay: list[Event] = []
        elif resume == job.start:
            replay = job.history
        else:
            tokens = [event.resume_token for event in job.history]
            if resume not in tokens:
                return None
            replay = job.history[tokens.index(resume) + 1 :]
        send, receive = anyio.create_memory_object_stream[Event](math.inf)
        for event in replay:
            send.send_nowait(event)
        subscriber = _Subscriber(send=send, receive=receive)
        job.subscribers.append(subscriber)
        return subscriber

    def leave(self, name: str, subscriber: _Subscriber) -> None:
        """Unsubscribe; the last subscriber of a job removes it from the fleet."""
        subscriber.send.close()
        subscriber.receive.close()
        job = self.jobs.get(name)
        if job is None:
            return
        job.subscribers.remove(subscriber)
        if not job.subscribers:
            del self.jobs[name]
            if self.opened is not None:
                self.opened.fleet.remove(name)

    async def close(self) -> None:
        """Stop the fleet and wait until it closed (its client too)."""
        self._stop.set()
        await asyncio.wait([self._task])
