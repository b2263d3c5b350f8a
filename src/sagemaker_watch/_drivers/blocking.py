"""The blocking API: the async waiters and watch, run on a private event loop thread.

Each call (or each blocking watch) starts an asyncio loop on a daemon thread of its
own and reaches it through an anyio ``BlockingPortal``; the calling thread only
waits. Nothing is shared between calls, so threads never contend, and nothing
outlives a call: its loop stops and its thread is joined before it returns or
raises. The loop costs about 1.5 ms; the client each call opens, about 165 ms
(as the async API without ``client=`` pays too).

An interrupt (``KeyboardInterrupt``, or any exception raised into the waiting
thread) cancels the async work, waits for it to wind down (the request in
flight is abandoned, the client closed; milliseconds) and is re-raised.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import threading
import weakref
from typing import TYPE_CHECKING, Self, TypeVar

import anyio
from anyio.from_thread import BlockingPortal

from .._errors import UsageError
from . import waiters
from .watch import Watch as AsyncWatch

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Collection, Iterator
    from types import TracebackType

    from .._core.events import Event
    from .._core.schedule import PollSchedule
    from .._core.snapshot import Snapshot
    from .._core.status import SecondaryStatus
    from .._core.tracker import RetryPolicy
    from .._io.clock import Clock
    from .hints import SqsHints

#: The name of each private loop thread.
THREAD_NAME = "sagemaker-watch-blocking"
#: Seconds between wake-ups of a waiting caller. A signal interrupts a blocked
#: wait at once on POSIX; on Windows only when the wait wakes.
_WAKE = 0.1
#: Seconds to wait for a loop interrupted while starting, to stop it.
_STARTUP = 1.0

T = TypeVar("T")


def _result(future: concurrent.futures.Future[T]) -> T:
    """Wait for *future* in short naps, so that Ctrl-C is seen everywhere.

    Called from a coroutine (blocking its event loop), a new cancellation of its
    task also ends the wait, raising ``CancelledError`` there: under
    ``asyncio.run()``, the first Ctrl-C only cancels the main task, which could
    not otherwise run until the wait ended.
    """
    task = _calling_task()
    requests = 0 if task is None else task.cancelling()
    while True:
        try:
            future.exception(timeout=_WAKE)
        except TimeoutError:
            if task is not None and task.cancelling() > requests:
                raise asyncio.CancelledError from None
            continue
        return future.result()


def _calling_task() -> asyncio.Task[object] | None:
    """The asyncio task running in this thread, if any."""
    try:
        return asyncio.current_task()
    except RuntimeError:  # no event loop runs in this thread
        return None


class _PrivateLoop:
    """An asyncio event loop on a daemon thread, reached through a portal.

    ``close()`` stops it and joins the thread; with *cancel*, the tasks still
    running are cancelled first (they clean up, shielded, before the loop ends).
    A daemon thread, so that even a loop that cannot stop never holds the
    interpreter at exit; ``weakref.finalize`` closes what is left open before it.
    """

    def __init__(self) -> None:
        self._closed = False
        self._ready: concurrent.futures.Future[BlockingPortal] = (
            concurrent.futures.Future()
        )
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        try:
            self._thread.start()
            self._portal = _result(self._ready)
        except BaseException:
            # Interrupted while the loop starts (a millisecond): let it start,
            # stop it, and re-raise the interrupt, not what stopping it raised.
            with contextlib.suppress(BaseException):
                self._stop(self._ready.result(timeout=_STARTUP), cancel=True)
            raise

    def _run(self) -> None:
        try:
            anyio.run(self._serve, backend="asyncio")
        except BaseException as exc:  # noqa: BLE001 - reported through the futures
            # Only a loop that never started reports here; else, its calls did.
            with contextlib.suppress(concurrent.futures.InvalidStateError):
                self._ready.set_exception(exc)

    async def _serve(self) -> None:
        async with BlockingPortal() as portal:
            self._ready.set_result(portal)
            await portal.sleep_until_stopped()

    def start(self, func: Callable[[], Awaitable[object]]) -> None:
        """Start *func* as a task that lives until the loop closes."""
        self._portal.start_task_soon(func)

    def call(self, func: Callable[[], Awaitable[T]]) -> T:
        """Run *func* on the loop and return what it returns; raise what it raises.

        An interrupt while waiting cancels the task and is re-raised at once;
        ``close()`` then waits for the task to wind down.
        """
        future = self._portal.start_task_soon(func)
        try:
            return _result(future)
        except BaseException:
            future.cancel()
            raise

    def close(self, *, cancel: bool = False) -> None:
        """Stop the loop and wait for its thread (idempotent).

        From the loop's own thread (a finalizer run by a garbage collection
        there), a helper thread closes it: a thread cannot wait for itself.
        """
        if self._closed:
            return
        self._closed = True
        if threading.current_thread() is self._thread:
            threading.Thread(target=self._shut, args=(cancel,), daemon=True).start()
        else:
            self._shut(cancel)

    def _shut(self, cancel: bool) -> None:  # noqa: FBT001 - a thread's args
        self._stop(self._portal, cancel=cancel)
        while self._thread.is_alive():
            self._thread.join(_WAKE)

    @staticmethod
    def _stop(portal: BlockingPortal, *, cancel: bool) -> None:
        try:
            future = portal.start_task_soon(portal.stop, cancel)
        except RuntimeError:  # stopped already: its loop ended on an error
            return
        _result(future)


def _no_client(hints: SqsHints | None) -> SqsHints | None:
    """Return *hints* unless they carry a client, which belongs to another loop.

    Raises:
        UsageError: *hints* carry an SQS client.
    """
    if hints is not None and hints.client is not None:
        msg = (
            "the blocking API opens its SQS client on its own event loop: pass "
            "SqsHints without client= (an aiobotocore client belongs to its loop)"
        )
        raise UsageError(msg)
    return hints


def _run(func: Callable[[], Awaitable[T]]) -> T:
    """Run *func* on a private loop of its own; the loop is gone when this returns."""
    loop = _PrivateLoop()
    try:
        result = loop.call(func)
    except BaseException:
        loop.close(cancel=True)
        raise
    loop.close()
    return result


def wait_until_terminal(
    job_name: str,
    *,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    schedule: PollSchedule | None = None,
    retry: RetryPolicy | None = None,
    clock: Clock | None = None,
    seed: int | None = None,
    timeout: float | None = None,
    resume: str | None = None,
    hints: SqsHints | None = None,
) -> Snapshot:
    """Wait until the job is Completed, Failed or Stopped; never raise on the outcome.

    ``sagemaker_watch.wait_until_terminal``, blocking: the same keywords but
    *client* (the call opens its own client on its own loop, and closes it
    before returning), the same result and errors. Ctrl-C cancels the wait and
    raises ``KeyboardInterrupt``.

    Args:
        job_name: the training job's name, or its ARN (as in ``watch()``).
        region: the AWS region; the standard chain's by default.
        profile: the AWS profile; the standard chain's by default.
        endpoint_url: the SageMaker endpoint; the standard chain's by default.
        schedule: when to poll; ``PollSchedule()`` by default.
        retry: how each poll retries transient errors.
        clock: the source of time. Its ``sleep`` runs on the call's own loop
            thread: a clock bound to another event loop cannot be used.
        seed: seeds the jitter.
        timeout: seconds to wait at most; ``None`` waits as long as the job runs.
        resume: an event's ``resume_token``: only what came after it counts.
        hints: push hints (``SqsHints``), without a client of theirs: the call
            opens one on its own loop, as for SageMaker.

    Returns:
        The final snapshot.

    Raises:
        WaitTimeout: *timeout* ran out; ``.snapshot`` is the last one seen.
        TrainingJobNotFound: there is no such job.
        InvalidJobName: before any request, for a name SageMaker would reject.
        ServiceError: a fatal AWS error, or transient ones that outlasted *retry*.
    """
    return _run(
        functools.partial(
            waiters.wait_until_terminal,
            job_name,
            region=region,
            profile=profile,
            endpoint_url=endpoint_url,
            schedule=schedule,
            retry=retry,
            clock=clock,
            seed=seed,
            timeout=timeout,
            resume=resume,
            hints=_no_client(hints),
        )
    )


def wait_until_complete(
    job_name: str,
    *,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    schedule: PollSchedule | None = None,
    retry: RetryPolicy | None = None,
    clock: Clock | None = None,
    seed: int | None = None,
    timeout: float | None = None,
    resume: str | None = None,
    hints: SqsHints | None = None,
) -> Snapshot:
    """Wait until the job is Completed; raise if it ends any other way.

    ``sagemaker_watch.wait_until_complete``, blocking; takes the keywords of
    ``wait_until_terminal`` here.

    Returns:
        The final snapshot of the Completed job.

    Raises:
        TrainingJobFailed: the job failed; ``.failure_reason`` says why.
        TrainingJobStopped: the job was stopped; ``.reason`` says how.
        WaitTimeout: *timeout* ran out; ``.snapshot`` is the last one seen.
        TrainingJobNotFound: there is no such job.
        InvalidJobName: before any request, for a name SageMaker would reject.
        ServiceError: a fatal AWS error, or transient ones that outlasted *retry*.
    """
    return wait_until_terminal(
        job_name,
        region=region,
        profile=profile,
        endpoint_url=endpoint_url,
        schedule=schedule,
        retry=retry,
        clock=clock,
        seed=seed,
        timeout=timeout,
        resume=resume,
        hints=_no_client(hints),
    ).raise_for_outcome()


def wait_for_status(
    job_name: str,
    status: SecondaryStatus | str | Collection[SecondaryStatus | str],
    *,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    schedule: PollSchedule | None = None,
    retry: RetryPolicy | None = None,
    clock: Clock | None = None,
    seed: int | None = None,
    timeout: float | None = None,
    resume: str | None = None,
    hints: SqsHints | None = None,
) -> Snapshot:
    """Wait until the job has entered *status* (a secondary status, or several).

    ``sagemaker_watch.wait_for_status``, blocking; takes the keywords of
    ``wait_until_terminal`` here. A status already in the job's history counts.

    Returns:
        The snapshot in which the status was first seen.

    Raises:
        TrainingJobFailed: the job failed before entering *status*.
        TrainingJobStopped: the job was stopped before entering *status*.
        StatusNotReached: the job completed without ever entering *status*.
        WaitTimeout: *timeout* ran out; ``.snapshot`` is the last one seen.
        TrainingJobNotFound: there is no such job.
        InvalidJobName: before any request, for a name SageMaker would reject.
        ValueError: before any request, if *status* is an empty collection.
    """
    return _run(
        functools.partial(
            waiters.wait_for_status,
            job_name,
            status,
            region=region,
            profile=profile,
            endpoint_url=endpoint_url,
            schedule=schedule,
            retry=retry,
            clock=clock,
            seed=seed,
            timeout=timeout,
            resume=resume,
            hints=_no_client(hints),
        )
    )


class Watch:
    """The events of one training job, for a plain ``for`` loop.

    ``sagemaker_watch.Watch``, blocking: the same events, exactly once and in
    order, ending after the terminal event (or with the async watch's error).
    It opens its own client on a loop thread of its own, closed by either of:

    * ``with watch(...) as events:``: the block opens it and closes it on exit,
      however it exits; inside, ``next(events)`` works, and a loop broken out
      of can be followed by another that goes on where it stopped;
    * a bare ``for event in watch(...):``: the loop opens it and closes it when
      the events run out, on an error, and when the loop is left by ``break``
      or ``return`` (when CPython drops the loop's iterator, at once;
      ``with`` is the way that does not depend on it).

    ``next()`` outside either raises ``UsageError``; a watch is entered once.
    Use one watch from one thread at a time.
    """

    def __init__(
        self,
        job_name: str,
        *,
        region: str | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
        schedule: PollSchedule | None = None,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        seed: int | None = None,
        timeout: float | None = None,
        resume: str | None = None,
        hints: SqsHints | None = None,
    ) -> None:
        """Prepare a watch; nothing starts until it is entered or looped over.

        Takes the arguments of ``watch()``.

        Raises:
            InvalidJobName: if SageMaker would reject the name.
            InvalidResumeToken: if *resume* cannot be read or is for another job.
            ValueError: if *timeout* is negative or NaN.
        """
        self._events = AsyncWatch(
            job_name,
            region=region,
            profile=profile,
            endpoint_url=endpoint_url,
            schedule=schedule,
            retry=retry,
            clock=clock,
            seed=seed,
            timeout=timeout,
            resume=resume,
            hints=_no_client(hints),
        )
        self._loop: _PrivateLoop | None = None
        self._close: Callable[[], object] | None = None
        self._closed = False

    def __repr__(self) -> str:
        """Return a short description."""
        state = "closed" if self._closed else "open" if self._loop else "new"
        return f"Watch({self._events.job_name!r}, {state})"

    def __enter__(self) -> Self:
        """Start the loop thread and open the client (waits).

        Raises:
            UsageError: the watch was entered before.
            ConfigurationError: the client cannot be set up (no region, ...).
        """
        if self._loop is not None or self._closed:
            msg = "this watch was already entered; create a new one"
            raise UsageError(msg)
        self._loop = loop = _PrivateLoop()
        self._close = weakref.finalize(self, loop.close, cancel=True)
        entered: concurrent.futures.Future[None] = concurrent.futures.Future()
        events = self._events

        async def hold() -> None:
            try:
                await events.__aenter__()
            except BaseException as exc:
                entered.set_exception(exc)
                raise
            entered.set_result(None)
            try:
                await anyio.sleep_forever()
            finally:
                await events.__aexit__(None, None, None)

        try:
            loop.start(hold)
            _result(entered)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the client and stop the loop thread (waits, milliseconds)."""
        self.close()

    def close(self) -> None:
        """Close the client and stop the loop thread; idempotent."""
        self._closed = True
        if self._close is not None:
            self._close()

    def __iter__(self) -> Iterator[Event]:
        """Return the events: this watch once entered, else a loop that owns it."""
        if self._loop is not None or self._closed:
            return self
        return self._owned()

    def _owned(self) -> Iterator[Event]:
        with self:
            yield from self

    def __next__(self) -> Event:
        """Return the next event, waiting for it.

        Raises:
            UsageError: the watch was neither entered nor iterated by ``for``.
            StopIteration: after the terminal event, or once closed.
        """
        loop = self._loop
        if self._closed:
            raise StopIteration
        if loop is None:
            msg = (
                f"watch({self._events.job_name!r}) opens its own client, so use it "
                "as 'with sw.blocking.watch(...) as events: for event in events:' "
                "or iterate it with a for loop"
            )
            raise UsageError(msg)
        try:
            event = loop.call(self._step)
        except BaseException:
            self.close()
            raise
        if event is None:
            self.close()
            raise StopIteration
        return event

    async def _step(self) -> Event | None:
        try:
            return await anext(self._events)
        except StopAsyncIteration:
            return None


def watch(
    job_name: str,
    *,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    schedule: PollSchedule | None = None,
    retry: RetryPolicy | None = None,
    clock: Clock | None = None,
    seed: int | None = None,
    timeout: float | None = None,
    resume: str | None = None,
    hints: SqsHints | None = None,
) -> Watch:
    """Watch one training job: an iterator of typed events, for plain code.

    ::

        with sw.blocking.watch("my-job") as events:
            for event in events:
                print(event.to_json())

    ``sagemaker_watch.watch``, blocking: the same keywords but *client* (the
    watch opens its own on its own loop thread), the same events and errors.
    A bare ``for`` loop works too; see ``Watch`` for when each closes.
    Ctrl-C while waiting closes the watch and raises ``KeyboardInterrupt``.

    Args:
        job_name: the training job's name, or its ARN (as in ``watch()``).
        region: the AWS region; the standard chain's by default.
        profile: the AWS profile; the standard chain's by default.
        endpoint_url: the SageMaker endpoint; the standard chain's by default.
        schedule: when to poll; ``PollSchedule()`` by default.
        retry: how each poll retries transient errors.
        clock: the source of time. Its ``sleep`` runs on the watch's own loop
            thread: a clock bound to another event loop cannot be used.
        seed: seeds the jitter.
        timeout: seconds to watch at most, from the first use; then the
            iteration raises ``WaitTimeout`` carrying the last snapshot.
        resume: an event's ``resume_token``: emit only what came after that event.
        hints: push hints (``SqsHints``), without a client of theirs: the watch
            opens one on its own loop, as for SageMaker.

    Returns:
        A ``Watch``: enter it with ``with``, or loop over it.

    Raises:
        InvalidJobName: at once, if SageMaker would reject the name.
        InvalidResumeToken: at once, if *resume* cannot be read or was written
            for another job.
        ValueError: at once, if *timeout* is negative or NaN.
    """
    return Watch(
        job_name,
        region=region,
        profile=profile,
        endpoint_url=endpoint_url,
        schedule=schedule,
        retry=retry,
        clock=clock,
        seed=seed,
        timeout=timeout,
        resume=resume,
        hints=_no_client(hints),
    )
