"""Tests for the blocking API, over real HTTP against a fake SageMaker on a thread.

The blocking functions are called the way a script calls them, with no event loop
in the test's thread: the fake serves from a loop of its own, on another thread
(``Served``), on a clock both threads can read.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import math
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time

import anyio
import pytest
from anyio.from_thread import start_blocking_portal

import sagemaker_watch as sw
from sagemaker_watch import blocking
from sagemaker_watch._drivers.blocking import _PrivateLoop
from sagemaker_watch._drivers.blocking import _run as blocking_run
from sagemaker_watch.testing import FakeSageMaker, Fault, ManualClock, plain

#: The fake's speed: simulated seconds per real second.
SPEED = 1000
#: A short job: about 100 simulated seconds, a tenth of a real one at SPEED.
SHORT = plain(starting=20, downloading=10, training=60, uploading=10)
#: A job that never ends while a test runs.
ENDLESS = plain(training=10_000_000)
#: What stderr must never hold after an interrupt: tracebacks of other threads and
#: asyncio's complaints about work left behind.
NOISE = (
    "Exception in thread",
    "Task was destroyed",
    "Event loop is closed",
    "Unclosed",
    "Exception ignored",
    "RuntimeWarning",
)


class Served:
    """A ``FakeSageMaker`` on an event loop thread of its own, driven from the test's.

    Every call that touches the simulated service runs on the fake's loop.
    """

    def __init__(self, portal, fake):
        """Wrap a fake entered on *portal*'s loop."""
        self.portal = portal
        self.fake = fake
        self.clock = fake.clock
        self.endpoint_url = fake.endpoint_url

    def add_job(self, name, timeline):
        """Create a job following *timeline*."""
        self.portal.call(self.fake.add_job, name, timeline)

    def inject(self, *faults):
        """Inject *faults* on the wire."""
        self.portal.call(lambda: self.fake.inject(*faults))

    def request_count(self, operation=None, job_name=None):
        """How many requests the fake has received."""
        return self.portal.call(self.fake.request_count, operation, job_name)

    def describe_job(self, name):
        """The job's DescribeTrainingJob answer, read without HTTP."""
        return self.portal.call(self.fake.describe_job, name)

    def advance(self, seconds):
        """Move the fake's manual clock forward."""
        self.portal.call(self.fake.advance, seconds)

    def environ(self):
        """Variables pointing a default client at the fake."""
        return self.portal.call(self.fake.environ)

    def wait_for_requests(self, count, operation="DescribeTrainingJob", within=10.0):
        """Wait (real time) until *count* requests of *operation* have arrived."""
        deadline = time.monotonic() + within
        while self.request_count(operation) < count:
            assert time.monotonic() < deadline, "the request never came"
            time.sleep(0.005)


@contextlib.contextmanager
def serve(fake):
    """Run *fake* on a loop thread of its own; yield it as ``Served``."""
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(fake) as entered,
    ):
        yield Served(portal, entered)


@pytest.fixture(name="served")
def _served(monkeypatch):
    """A fast fake on its own thread; the AWS variables point default clients at it."""
    with serve(FakeSageMaker(speed=SPEED)) as served:
        for key, value in served.environ().items():
            monkeypatch.setenv(key, value)
        yield served


def loop_threads():
    """The blocking API's private loop threads still alive."""
    return [t for t in threading.enumerate() if t.name == "sagemaker-watch-blocking"]


# -- the waiters ---------------------------------------------------------------


def test_wait_until_complete_returns_the_final_snapshot(served):
    """A plain call from a script returns the Completed job's final snapshot."""
    served.add_job("job", SHORT)
    snapshot = blocking.wait_until_complete("job", clock=served.clock)
    assert sw.PrimaryStatus.COMPLETED == snapshot.primary_status
    assert ["Starting", "Downloading", "Training", "Uploading", "Completed"] == [
        str(t.status) for t in snapshot.transitions
    ]
    assert [] == loop_threads()


def test_wait_until_complete_raises_failed_with_the_reason(served):
    """A Failed job raises the async API's TrainingJobFailed, with failure_reason."""
    served.add_job("bad", "failure")
    with pytest.raises(sw.TrainingJobFailed) as info:
        blocking.wait_until_complete("bad", clock=served.clock)
    assert served.describe_job("bad")["FailureReason"] == info.value.failure_reason
    assert sw.PrimaryStatus.FAILED == info.value.snapshot.primary_status
    assert [] == loop_threads()


def test_a_job_arn_works_as_the_async_api_takes_it(served):
    """A job's ARN is accepted wherever its name is, as by the async API."""
    served.add_job("job", SHORT)
    arn = served.describe_job("job")["TrainingJobArn"]
    snapshot = blocking.wait_until_complete(arn, clock=served.clock)
    assert "job" == snapshot.job_name
    with blocking.watch(arn, clock=served.clock) as events:
        assert isinstance(list(events)[-1], sw.JobCompleted)


def test_wait_until_terminal_returns_a_stopped_job_without_raising(served):
    """wait_until_terminal returns the snapshot of a Stopped job, as the async one."""
    served.add_job("stopped", "user_stop")
    snapshot = blocking.wait_until_terminal("stopped", clock=served.clock)
    assert sw.PrimaryStatus.STOPPED == snapshot.primary_status


def test_wait_for_status_returns_when_the_status_is_entered(served):
    """wait_for_status returns the snapshot in which Training was first seen."""
    served.add_job("job", ENDLESS)
    snapshot = blocking.wait_for_status("job", "Training", clock=served.clock)
    assert sw.SecondaryStatus.TRAINING == snapshot.secondary_status


def test_wait_for_status_rejects_an_empty_collection(served):
    """An empty status collection raises ValueError before any request."""
    with pytest.raises(ValueError, match="status"):
        blocking.wait_for_status("job", [], clock=served.clock)
    assert 0 == served.request_count()


def test_timeout_raises_wait_timeout(served):
    """timeout= raises the async API's WaitTimeout, and leaves no thread."""
    served.add_job("long", ENDLESS)
    with pytest.raises(sw.WaitTimeout) as info:
        blocking.wait_until_complete("long", clock=served.clock, timeout=300)
    assert "long" == info.value.job_name
    assert [] == loop_threads()


def test_an_invalid_name_raises_before_any_request(served):
    """A name SageMaker would reject raises InvalidJobName, sending nothing."""
    with pytest.raises(sw.InvalidJobName):
        blocking.wait_until_complete("not a name!", clock=served.clock)
    with pytest.raises(sw.InvalidJobName):
        blocking.watch("not a name!")
    assert 0 == served.request_count()


def test_region_profile_and_endpoint_reach_the_client(served, monkeypatch):
    """endpoint_url=, region= and profile= are used for the client the call opens."""
    monkeypatch.delenv("AWS_ENDPOINT_URL_SAGEMAKER")
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    served.add_job("job", SHORT)
    with pytest.raises(sw.NoRegion):
        blocking.wait_until_complete("job", endpoint_url=served.endpoint_url)
    with pytest.raises(sw.ProfileNotFound):
        blocking.wait_until_complete("job", region="us-east-1", profile="nowhere")
    snapshot = blocking.wait_until_complete(
        "job", region="us-east-1", endpoint_url=served.endpoint_url, clock=served.clock
    )
    assert sw.PrimaryStatus.COMPLETED == snapshot.primary_status


@pytest.mark.parametrize(
    "name",
    ["wait_until_complete", "wait_until_terminal", "wait_for_status", "watch", "Watch"],
)
def test_each_function_takes_the_async_keywords_but_client(name):
    """Each blocking name takes its async twin's parameters, except client=."""
    import inspect  # noqa: PLC0415 - only this test reads signatures

    expected = dict(inspect.signature(getattr(sw, name)).parameters)
    del expected["client"]
    actual = inspect.signature(getattr(blocking, name)).parameters
    assert [(p.name, p.kind, p.default) for p in expected.values()] == [
        (p.name, p.kind, p.default) for p in actual.values()
    ]


# -- where it is called from ----------------------------------------------------


@pytest.mark.asyncio
async def test_works_inside_a_running_event_loop(served):
    """Called inside a running asyncio loop (a notebook cell), it still returns."""
    asyncio.get_running_loop()
    served.add_job("job", SHORT)
    snapshot = blocking.wait_until_complete("job", clock=served.clock)
    assert sw.PrimaryStatus.COMPLETED == snapshot.primary_status
    with blocking.watch("job", clock=served.clock) as events:
        assert isinstance(list(events)[-1], sw.JobCompleted)


def test_calls_from_several_threads_at_once_are_independent(served):
    """Eight threads wait at once, each for its own job, and each gets its outcome."""
    lifecycles = ["plain", "failure", "user_stop", "plain"] * 2
    for number, lifecycle in enumerate(lifecycles):
        served.add_job(f"job-{number}", lifecycle)

    def wait(number):
        try:
            snapshot = blocking.wait_until_complete(f"job-{number}", clock=served.clock)
        except sw.TrainingJobEnded as exc:
            return type(exc).__name__
        return str(snapshot.primary_status)

    with concurrent.futures.ThreadPoolExecutor(len(lifecycles)) as pool:
        outcomes = list(pool.map(wait, range(len(lifecycles))))
    expected = ["Completed", "TrainingJobFailed", "TrainingJobStopped", "Completed"]
    assert expected * 2 == outcomes
    assert [] == loop_threads()


# -- the iterator -----------------------------------------------------------------


def test_watch_yields_exactly_the_events_of_the_async_watch(monkeypatch):
    """The blocking iterator yields the very events ``sw.watch()`` yields."""
    with serve(FakeSageMaker(clock=ManualClock(autojump_threshold=math.inf))) as fake:
        for key, value in fake.environ().items():
            monkeypatch.setenv(key, value)
        for name, lifecycle in [("ok", "spot_interrupted_once"), ("bad", "failure")]:
            fake.add_job(name, lifecycle)
        fake.advance(100_000)

        async def async_events(name):
            async with sw.watch(name, clock=fake.clock) as events:
                return [event async for event in events]

        for name in ("ok", "bad"):
            expected = anyio.run(async_events, name)
            with blocking.watch(name, clock=fake.clock) as events:
                actual = list(events)
            assert expected == actual
            assert [e.to_json() for e in expected] == [e.to_json() for e in actual]


def test_watch_follows_a_running_job_to_its_end(served):
    """On a running job it yields every status in order, then the terminal event."""
    served.add_job("job", SHORT)
    with blocking.watch("job", clock=served.clock) as events:
        seen = list(events)
    entered = [str(e.status) for e in seen if isinstance(e, sw.StatusEntered)]
    assert ["Starting", "Downloading", "Training", "Uploading", "Completed"] == entered
    assert isinstance(seen[-1], sw.JobCompleted)
    assert [] == loop_threads()


def test_a_bare_for_loop_closes_when_exhausted(served):
    """A ``for`` loop without ``with`` cleans up when the events run out."""
    served.add_job("job", SHORT)
    seen = list(blocking.watch("job", clock=served.clock))
    assert isinstance(seen[-1], sw.JobCompleted)
    assert [] == loop_threads()


def test_a_bare_for_loop_closes_when_broken_out_of(served):
    """Breaking out of a bare ``for`` loop closes its loop thread and client."""
    served.add_job("job", ENDLESS)
    events = blocking.watch("job", clock=served.clock)
    for event in events:
        assert isinstance(event, sw.JobObserved)
        assert 1 == len(loop_threads())
        break
    assert [] == loop_threads()
    assert "closed" in repr(events)


def test_with_block_closes_on_break_and_allows_resuming_inside(served):
    """Inside ``with``, a second loop goes on where a broken one stopped."""
    served.add_job("job", SHORT)
    with blocking.watch("job", clock=served.clock) as events:
        first = next(events)
        for _ in events:
            break
        rest = list(events)
        assert [] == loop_threads()
    assert isinstance(first, sw.JobObserved)
    assert isinstance(rest[-1], sw.JobCompleted)
    assert [] == list(events)


def test_leaving_with_early_closes(served):
    """Leaving the ``with`` block before the end closes the loop thread."""
    served.add_job("job", ENDLESS)
    with blocking.watch("job", clock=served.clock) as events:
        next(events)
        assert 1 == len(loop_threads())
    assert [] == loop_threads()
    assert [] == list(events)


def test_watch_raises_the_async_errors_and_closes(served):
    """A watch ending in WaitTimeout raises it from the loop and cleans up."""
    served.add_job("long", ENDLESS)
    with pytest.raises(sw.WaitTimeout) as info:
        list(blocking.watch("long", clock=served.clock, timeout=300))
    assert "long" == info.value.job_name
    assert [] == loop_threads()


def test_next_outside_with_is_a_usage_error(served):
    """``next()`` on a watch never entered raises UsageError, sending nothing."""
    events = blocking.watch("job", clock=served.clock)
    with pytest.raises(sw.UsageError, match=r"with sw\.blocking\.watch"):
        next(events)
    assert 0 == served.request_count()


def test_a_watch_closed_before_use_opens_nothing(served):
    """close() before any use ends the watch: it yields nothing and sends nothing."""
    events = blocking.watch("job", clock=served.clock)
    events.close()
    assert [] == list(events)
    assert 0 == served.request_count()
    assert [] == loop_threads()


def test_a_watch_cannot_be_entered_twice(served):
    """Entering a watch a second time raises UsageError."""
    served.add_job("job", SHORT)
    watch = blocking.watch("job", clock=served.clock)
    with watch:
        pass
    with pytest.raises(sw.UsageError, match="already"), watch:
        pass
    assert "Watch('job'" in repr(watch)


def test_a_client_setup_error_raises_from_with(served, monkeypatch):
    """A set-up error (no region) raises when entering, and leaves no thread."""
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(sw.NoRegion), blocking.watch("job", clock=served.clock):
        pass
    assert [] == loop_threads()


# -- the private loop ------------------------------------------------------------


class ExitingClock:
    """The fake's clock, but its sleep raises SystemExit (as a callback might)."""

    def __init__(self, clock):
        """Read time from *clock*."""
        self._clock = clock

    def now(self):
        """The fake's wall time."""
        return self._clock.now()

    def monotonic(self):
        """The fake's monotonic time."""
        return self._clock.monotonic()

    def deadline_remaining(self):
        """No deadline."""
        return math.inf

    async def sleep(self, seconds):
        """Exit instead of sleeping."""
        raise SystemExit(seconds > 0)


def test_a_base_exception_from_the_work_reaches_the_caller_quietly(served, capfd):
    """SystemExit raised on the loop reaches the caller; the thread ends silently."""
    served.add_job("long", ENDLESS)
    with pytest.raises(SystemExit):
        blocking.wait_until_complete("long", clock=ExitingClock(served.clock))
    assert [] == loop_threads()
    assert ("", "") == capfd.readouterr()


def test_closing_from_the_loop_thread_does_not_wait_for_itself():
    """close() called on the loop's own thread hands the closing to a helper."""
    loop = _PrivateLoop()

    async def close_from_inside():
        loop.close(cancel=True)
        await anyio.sleep_forever()

    with pytest.raises(concurrent.futures.CancelledError):
        loop.call(close_from_inside)
    deadline = time.monotonic() + 5
    while loop_threads():
        assert time.monotonic() < deadline
        time.sleep(0.001)
    loop.close()


def test_watches_left_open_close_at_interpreter_exit(served):
    """A script leaving watches open (entered, or mid-loop) exits at once, quietly."""
    served.add_job("long", ENDLESS)
    code = """
        from sagemaker_watch import blocking
        entered = blocking.watch("long").__enter__()
        print(type(next(entered)).__name__)
        suspended = iter(blocking.watch("long"))
        print(type(next(suspended)).__name__)
    """
    env = {**os.environ, **served.environ()}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-W", "default", "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert (0, "JobObserved\nJobObserved\n", "") == (
        done.returncode,
        done.stdout,
        done.stderr,
    )
    assert time.monotonic() - started < 5


# -- Ctrl-C -------------------------------------------------------------------------


def test_ctrl_c_in_this_thread_cancels_and_reraises_promptly(served):
    """SIGINT while a request is in flight raises KeyboardInterrupt at once, cleanly."""
    if threading.current_thread() is not threading.main_thread():  # pragma: no cover
        pytest.skip("signals reach the main thread only")
    served.add_job("slow", ENDLESS)
    served.inject(Fault.slow(30, operation="DescribeTrainingJob"))
    sent = []

    def interrupt():
        served.wait_for_requests(1)
        sent.append(time.monotonic())
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    threading.Thread(target=interrupt).start()
    with pytest.raises(KeyboardInterrupt):
        blocking.wait_until_complete("slow")
    assert time.monotonic() - sent[0] < 0.5
    assert [] == loop_threads()


def test_ctrl_c_at_any_moment_leaves_no_thread_and_never_hangs(capfd):
    """SIGINT at 300 random moments of a call: it ends at once, leaving nothing."""
    if threading.current_thread() is not threading.main_thread():  # pragma: no cover
        pytest.skip("signals reach the main thread only")
    rng = random.Random(12)
    outcomes = collections.Counter()
    for _ in range(300):
        delay = rng.uniform(0, 0.005)
        interrupter = threading.Thread(
            target=lambda: (
                time.sleep(delay),  # noqa: B023 - run before the next iteration
                signal.pthread_kill(threading.main_thread().ident, signal.SIGINT),
            )
        )
        started = time.monotonic()
        try:
            interrupter.start()
            blocking_run(lambda: anyio.sleep(0.002))
            outcomes["completed"] += 1
            interrupter.join()
        except KeyboardInterrupt:
            outcomes["interrupted"] += 1
        while interrupter.is_alive():
            with contextlib.suppress(KeyboardInterrupt):
                interrupter.join()
        assert time.monotonic() - started < 1
    deadline = time.monotonic() + 5
    while loop_threads():
        assert time.monotonic() < deadline, "a loop thread was left running"
        time.sleep(0.01)
    assert min(outcomes.values()) > 0
    assert ("", "") == capfd.readouterr()


def run_script(served, code, *, ready, within=2.0):
    """Run *code* in a fresh interpreter, SIGINT it once *ready*(its stdout) returns.

    Returns the exit code, stdout, stderr and the seconds from SIGINT to exit.
    """
    env = {**os.environ, **served.environ(), "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        [sys.executable, "-W", "default", "-c", textwrap.dedent(code)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert "waiting\n" == process.stdout.readline()
        ready(process.stdout)
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        try:
            out, err = process.communicate(timeout=10)
        finally:
            process.kill()
        took = time.monotonic() - sent
    assert took < within, f"{took:.2f} s from SIGINT to exit"
    return process.returncode, out, err, took


def test_ctrl_c_in_a_script_exits_like_any_script(served):
    """A script interrupted mid-request dies of SIGINT, with one traceback, its own."""
    served.add_job("slow", ENDLESS)
    served.inject(Fault.slow(30, operation="DescribeTrainingJob"))
    code, out, err, _ = run_script(
        served,
        """
        from sagemaker_watch import blocking
        print("waiting")
        blocking.wait_until_complete("slow")
        """,
        ready=lambda _: served.wait_for_requests(1),
    )
    assert -signal.SIGINT == code
    assert "" == out
    assert 1 == err.count("Traceback (most recent call last)")
    assert err.rstrip().endswith("KeyboardInterrupt")
    assert [] == [noise for noise in NOISE if noise in err]


def test_one_ctrl_c_ends_a_blocking_call_inside_asyncio_run(served):
    """Under asyncio.run, whose first Ctrl-C only cancels its task, one is enough."""
    served.add_job("slow", ENDLESS)
    served.inject(Fault.slow(30, operation="DescribeTrainingJob"))
    code, out, err, _ = run_script(
        served,
        """
        import asyncio
        from sagemaker_watch import blocking

        async def main():
            print("waiting")
            blocking.wait_until_complete("slow")

        asyncio.run(main())
        """,
        ready=lambda _: served.wait_for_requests(1),
    )
    assert -signal.SIGINT == code
    assert "" == out
    assert err.rstrip().endswith("KeyboardInterrupt")
    assert [] == [noise for noise in NOISE if noise in err]


def test_ctrl_c_during_a_watch_leaves_nothing_behind(served):
    """Interrupting a watch between polls closes it before KeyboardInterrupt is seen."""
    served.add_job("long", ENDLESS)
    first = []
    code, out, err, _ = run_script(
        served,
        """
        import gc, sys, threading
        from sagemaker_watch import blocking
        print("waiting")
        try:
            with blocking.watch("long") as events:
                for event in events:
                    print(event.to_json()["event"])
        except KeyboardInterrupt:
            gc.collect()
            print("threads", threading.active_count())
            sys.exit(130)
        """,
        ready=lambda stdout: first.append(stdout.readline()),
    )
    assert 130 == code
    assert ["job_observed\n"] == first
    assert out.endswith("threads 1\n")
    assert "" == err


# -- push hints ----------------------------------------------------------------


def test_the_blocking_waiters_and_watch_take_hints():
    """SqsHints without a client: each call opens an SQS client on its own loop."""
    with (
        serve(FakeSageMaker(speed=SPEED, events_queue="events")) as served,
        pytest.MonkeyPatch.context() as patch,
    ):
        for key, value in served.environ().items():
            patch.setenv(key, value)
        served.add_job("job", SHORT)
        hints = sw.SqsHints(served.portal.call(served.fake.queue_url, "events"))
        snapshot = blocking.wait_until_complete("job", clock=served.clock, hints=hints)
        with blocking.watch("job", clock=served.clock, hints=hints) as events:
            seen = list(events)
    assert sw.PrimaryStatus.COMPLETED == snapshot.primary_status
    assert isinstance(seen[-1], sw.JobCompleted)
    assert [] == loop_threads()


def test_hints_with_a_client_of_another_loop_are_refused():
    """An SQS client belongs to its loop: the blocking API says so before any call."""
    hints = sw.SqsHints("https://sqs.us-east-1.amazonaws.com/1/q", client=object())
    with pytest.raises(sw.UsageError, match="SqsHints without client"):
        blocking.wait_until_complete("job", hints=hints)
    with pytest.raises(sw.UsageError, match="SqsHints without client"):
        blocking.watch("job", hints=hints)
