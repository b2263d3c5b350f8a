"""The command line with push hints (--sqs-queue-url), as a real process over HTTP.

The fake runs on compressed time and publishes each job's EventBridge events
into its SQS queue "events"; the CLI reads them as the library's fleet does.
What the CLI prints and its exit code are those of a watch without hints: the
hints only make it describe less, and no message body is ever printed.
"""

from __future__ import annotations

import json
import re
import signal

import anyio
import anyio.to_thread
import pytest
import pytest_asyncio

import sagemaker_watch as sw
from sagemaker_watch.cli._problems import ExitCode, hints_setup
from sagemaker_watch.cli._text import hints_state
from sagemaker_watch.testing import FakeSageMaker, failure, plain
from test_cli import (
    FAST,
    LINE,
    child_env,
    drain,
    final_table,
    plain_text,
    read_until,
    run,
    run_in_pty,
    started,
)

CANARY = "canary-77d1-message-body-secret"


@pytest_asyncio.fixture(name="fake")
async def _fake():
    """A fake on compressed time (200x), publishing events into queue "events"."""
    async with FakeSageMaker(speed=200, events_queue="events") as fake:
        yield fake


def hinted(fake, *extra):
    """The options that make the CLI read the fake's queue."""
    return ("--sqs-queue-url", fake.queue_url("events"), *extra)


def history(fake, name):
    """The job's secondary statuses, in order, as the service has them."""
    return [t["Status"] for t in fake.describe_job(name)["SecondaryStatusTransitions"]]


def ok_run():
    """A plain job of 1,320 simulated seconds (6.6 real at 200x).

    Its first status lasts longer than the CLI takes to start (about 400
    simulated seconds), so that the CLI sees every change happen.
    """
    return plain(starting=600, downloading=60, training=600, uploading=60)


def bad_run():
    """A job that fails after 1,060 simulated seconds, first seen Starting."""
    return failure(starting=600, downloading=60, training=400)


def long_run():
    """A plain job of about 2,500 simulated seconds: 12.5 real seconds at 200x."""
    return plain(starting=600, downloading=60, training=1800, uploading=60)


def entered(events, name):
    """The statuses *name*'s status_entered events showed, in order."""
    return [
        event["status"]
        for event in events
        if event["job_name"] == name and event["event"] == "status_entered"
    ]


@pytest.mark.asyncio
async def test_watch_with_hints_prints_each_transition_once_and_exits_by_outcome(
    fake,
):
    """Each status of each job appears once, in order; the worst outcome exits 1."""
    fake.add_job("ok-job", ok_run())
    fake.add_job("bad-job", bad_run())
    done = await run(
        "watch",
        "ok-job",
        "bad-job",
        "--json",
        *hinted(fake),
        *FAST,
        env=child_env(fake),
    )
    assert 1 == done.code
    events = [json.loads(line) for line in done.out.splitlines()]
    for name, last in (("ok-job", "job_completed"), ("bad-job", "job_failed")):
        assert history(fake, name) == entered(events, name)
        kinds = [event["event"] for event in events if event["job_name"] == name]
        assert last == kinds[-1]
        assert 1 == kinds.count(last)
    assert 0 < fake.request_count("ReceiveMessage")
    assert "" == done.err


@pytest.mark.asyncio
async def test_wait_with_hints_prints_the_outcome_and_exits_with_its_code(fake):
    """`wait --sqs-queue-url` says how the job ended and exits 0 for Completed."""
    fake.add_job("done", ok_run())
    done = await run("wait", "done", *hinted(fake), *FAST, env=child_env(fake))
    assert 0 == done.code
    assert done.out.startswith("done Completed in ")
    assert 1 == len(done.out.splitlines())
    assert 0 < fake.request_count("ReceiveMessage")


@pytest.mark.asyncio
async def test_hints_cost_fewer_describes_than_polling_on_the_same_timeline(fake):
    """Two jobs, one lifecycle: the hinted watch describes far less, prints the same."""
    fake.add_job("polled", long_run())
    fake.add_job("pushed", long_run())
    env = child_env(fake)
    done = {}

    async def one(name, *extra):
        done[name] = await run("watch", name, "--json", *extra, *FAST, env=env)

    async with anyio.create_task_group() as tg:
        tg.start_soon(one, "polled")
        tg.start_soon(one, "pushed", *hinted(fake))

    assert (0, 0) == (done["polled"].code, done["pushed"].code)
    for name in ("polled", "pushed"):
        events = [json.loads(line) for line in done[name].out.splitlines()]
        assert history(fake, name) == entered(events, name)
    polled = fake.request_count("DescribeTrainingJob", "polled")
    pushed = fake.request_count("DescribeTrainingJob", "pushed")
    assert 2 * pushed < polled, (pushed, polled)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "url",
    [
        "ftp://x",
        "http://",
        "sqs.us-east-1.amazonaws.com/123456789012/events",
        "https://sqs.us-east-1.amazonaws.com",
        "http://127.0.0.1:99999/1/events",
    ],
)
@pytest.mark.parametrize("command", ["watch", "wait"])
async def test_a_queue_url_that_cannot_work_is_a_usage_error_at_once(
    fake, url, command
):
    """A queue URL that is not http(s) with a host and a path exits 2, one line."""
    done = await run(command, "job-1", "--sqs-queue-url", url, env=child_env(fake))
    assert (2, "") == (done.code, done.out)
    assert 1 == len(done.err.splitlines())
    assert f"--sqs-queue-url {url!r} is not an http:// or https:// URL" in done.err
    assert "docs/hints.md" in done.err
    assert "Traceback" not in done.err
    assert 0 == fake.request_count()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--hints-ceiling", "60"), "--hints-ceiling needs --sqs-queue-url"),
        (
            ("--sqs-queue-url", "http://127.0.0.1:1/1/q", "--hints-ceiling", "0"),
            "Invalid value for '--hints-ceiling': '0' is not a finite number > 0",
        ),
        (
            ("--sqs-queue-url", "http://127.0.0.1:1/1/q", "--hints-ceiling", "nan"),
            "Invalid value for '--hints-ceiling': 'nan' is not a finite number > 0",
        ),
    ],
)
async def test_a_ceiling_without_a_queue_or_out_of_range_is_a_usage_error(
    fake, args, message
):
    """--hints-ceiling needs a queue and a finite number of seconds above 0."""
    done = await run("watch", "job-1", *args, env=child_env(fake))
    assert (2, "") == (done.code, done.out)
    assert 1 == len(done.err.splitlines())
    assert message in done.err
    assert 0 == fake.request_count()


@pytest.mark.asyncio
async def test_a_bad_sqs_endpoint_in_the_environment_is_one_line_exit_2(fake):
    """An AWS queue URL with a broken AWS_ENDPOINT_URL_SQS: one line naming it."""
    env = child_env(fake, AWS_ENDPOINT_URL_SQS="ftp://nowhere")
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/events"
    fake.add_job("job-1", plain(training=100_000))
    done = await run("watch", "job-1", "--sqs-queue-url", url, *FAST, env=env)
    assert (2, "") == (done.code, done.out)
    assert 1 == len(done.err.splitlines()), done.err
    assert "the SQS endpoint URL is not http or https with a host" in done.err
    assert "AWS_ENDPOINT_URL_SQS" in done.err
    assert "Traceback" not in done.err


@pytest.mark.asyncio
async def test_a_queue_that_fails_falls_back_to_polling_and_says_so(fake):
    """A queue that does not exist: one warning, the job is polled to its end."""
    fake.add_job("job-1", long_run())
    url = fake.queue_url("no-such-queue")
    done = await run(
        "watch", "job-1", "--sqs-queue-url", url, *FAST, env=child_env(fake)
    )
    assert 0 == done.code
    assert history(fake, "job-1") == [
        match.group(3).split('"')[0].strip()
        for match in map(LINE.match, done.out.splitlines())
        if match and match.group(2) == "status_entered"
    ]
    (warning,) = done.err.splitlines()
    assert "sagemaker_watch.hints_fallback" in warning
    assert "reason=queue_failed" in warning


@pytest.mark.asyncio
async def test_verbose_shows_what_the_hints_did(fake):
    """-v ends with one line of the hints' state and counters."""
    fake.add_job("job-1", ok_run())
    done = await run(
        "-v", "watch", "job-1", "--json", *hinted(fake), *FAST, env=child_env(fake)
    )
    assert 0 == done.code
    (summary,) = [
        line
        for line in done.err.splitlines()
        if "sagemaker_watch.hints_summary" in line
    ]
    assert "state=flowing" in summary
    assert "fallbacks=0" in summary
    assert "hinted_describes=" in summary
    assert "hints_summary" not in done.out


@pytest.mark.asyncio
async def test_the_live_view_says_whether_hints_flow(fake):
    """On a terminal the table's last line says hints flow, or that it polls."""
    fake.add_job("live-1", long_run())
    args = ("watch", "live-1", *FAST)
    env = child_env(fake)
    async with anyio.create_task_group() as tg:
        drawn = {}

        async def one(key, *extra):
            drawn[key] = await anyio.to_thread.run_sync(
                run_in_pty, (*args, *extra), env
            )

        tg.start_soon(one, "flowing", *hinted(fake))
        tg.start_soon(
            one, "failing", "--sqs-queue-url", fake.queue_url("no-such-queue")
        )
        tg.start_soon(one, "plain")
    captions = {
        key: final_table(plain_text(text))[2].strip()
        for key, (_, text) in drawn.items()
    }
    assert {0} == {code for code, _ in drawn.values()}
    assert {
        "flowing": "1 jobs: 1 completed · hints: flowing",
        "failing": "1 jobs: 1 completed · hints: queue failing, polling",
        "plain": "1 jobs: 1 completed",
    } == captions


@pytest.mark.asyncio
async def test_no_message_body_reaches_stdout_or_stderr(fake):
    """Bodies with a canary (the job's events, strangers' messages): never printed.

    Each job runs on past each run's two seconds, so that each run reads its
    job's events and the strangers' messages sent before it started.
    """
    secrets = {
        "HyperParameters": {"token": CANARY},
        "Tags": [{"Key": "k", "Value": CANARY}],
    }
    strangers = (
        CANARY,
        json.dumps({"source": "not.sagemaker", "detail": CANARY}),
        json.dumps({"source": "aws.sagemaker", "detail": {"x": CANARY}}),
    )
    runs = {
        "secret-1": ("watch", "secret-1", "--json"),
        "secret-2": ("watch", "secret-2"),
        "secret-3": ("wait", "secret-3"),
    }
    env = child_env(fake)
    outputs = []
    async with fake.sqs_client() as sqs:
        for name, args in runs.items():
            fake.add_job(name, plain(training=100_000), **secrets)
            for body in strangers:
                await sqs.send_message(
                    QueueUrl=fake.queue_url("events"), MessageBody=body
                )
            outputs.append(
                await run("-vv", *args, "--timeout", "2", *hinted(fake), *FAST, env=env)
            )
    assert [5, 5, 5] == [done.code for done in outputs]
    assert all("sagemaker_watch.hint_not_read" in done.err for done in outputs)
    assert all(re.search(r"hints_summary .* hints=[1-9]", d.err) for d in outputs)
    assert all(CANARY not in done.out + done.err for done in outputs)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("signum", "expected"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)]
)
async def test_a_signal_ends_a_hinted_watch_cleanly(fake, signum, expected):
    """SIGINT exits 130 and SIGTERM 143 in the middle of the queue's long polls."""
    fake.add_job("long", plain(training=100_000))
    process = await started("watch", "long", *hinted(fake), *FAST, env=child_env(fake))
    async with process:
        await read_until(process.stdout, b"long status_entered")
        with anyio.fail_after(10):
            while 2 > fake.request_count("ReceiveMessage"):  # noqa: ASYNC110 - the fake has no event to wait on
                await anyio.sleep(0.05)
        process.send_signal(signum)
        with anyio.fail_after(10):
            code = await process.wait()
        err = await drain(process.stderr)
    assert (expected, "") == (code, err)


SETUP_PROBLEMS = [
    (
        sw.InvalidEndpoint(scheme="ftp", host="nowhere"),
        ExitCode.USAGE,
        (
            "the SQS endpoint URL is not http or https with a host (scheme 'ftp', host "
            "'nowhere'); check AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL and endpoint_url "
            "in the AWS config file"
        ),
    ),
    (
        sw.NoRegion(),
        ExitCode.AWS_ERROR,
        (
            "cannot read --sqs-queue-url: no AWS region configured; pass --region or "
            "set AWS_REGION"
        ),
    ),
    (
        sw.ProfileNotFound("dev"),
        ExitCode.AWS_ERROR,
        (
            "cannot read --sqs-queue-url: the AWS profile 'dev' could not be found; "
            "pass an existing --profile or fix AWS_PROFILE"
        ),
    ),
    (
        sw.CredentialsError("no usable AWS credentials", job_name=None, code="X"),
        ExitCode.AWS_ERROR,
        "cannot read --sqs-queue-url: X: no usable AWS credentials; set AWS_PROFILE",
    ),
]


@pytest.mark.parametrize(
    ("error", "code", "start"),
    SETUP_PROBLEMS,
    ids=[type(case[0]).__name__ for case in SETUP_PROBLEMS],
)
def test_an_sqs_client_that_cannot_be_set_up_is_one_line_and_an_exit_code(
    error, code, start
):
    """The hints' SQS client failing to set up: advice and code by error class."""
    problem = hints_setup(error)
    assert code == problem.code
    assert str(problem).startswith(start)
    assert "\n" not in str(problem)


@pytest.mark.asyncio
async def test_hints_ceiling_sets_the_safety_recheck_while_hints_flow(fake):
    """An empty queue that answers: the schedule gives way to --hints-ceiling."""
    quiet = {name: fake.create_queue(name) for name in ("quiet-a", "quiet-b")}
    fake.add_job("checked", plain(training=100_000))
    fake.add_job("relaxed", plain(training=100_000))
    env = child_env(fake)
    done = {}

    async def one(name, url, *extra):
        args = ("watch", name, "--sqs-queue-url", url, "--timeout", "3", *extra)
        done[name] = await run(*args, *FAST, env=env)

    async with anyio.create_task_group() as tg:
        tg.start_soon(one, "checked", quiet["quiet-a"], "--hints-ceiling", "0.2")
        tg.start_soon(one, "relaxed", quiet["quiet-b"])

    assert (5, 5) == (done["checked"].code, done["relaxed"].code)
    checked = fake.request_count("DescribeTrainingJob", "checked")
    relaxed = fake.request_count("DescribeTrainingJob", "relaxed")
    assert 2 * relaxed < checked, (relaxed, checked)


def test_the_hints_state_reads_as_a_few_words():
    """Each state of the hints has its words in the live view's last line."""
    base = {
        "flowing": False,
        "fallbacks": 1,
        "receives": 9,
        "deletes": 2,
        "messages": 5,
        "hints": 5,
        "not_hints": {},
        "unwatched": 0,
        "stale": 0,
        "coalesced": 0,
        "hinted_describes": 4,
        "missed": 1,
        "throttles": 0,
        "errors": 0,
    }
    words = {
        state: hints_state(sw.HintStatistics(state=state, **base))
        for state in ("starting", "flowing", "queue_failed", "queue_silent", "new")
    }
    assert {
        "starting": "hints: starting",
        "flowing": "hints: flowing",
        "queue_failed": "hints: queue failing, polling",
        "queue_silent": "hints: queue silent, polling",
        "new": "hints: new",
    } == words
