"""The command line, driven as a real process against the fake SageMaker over HTTP."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import anyio
import anyio.to_thread
import pytest
import pytest_asyncio

from sagemaker_watch.testing import FakeSageMaker, Fault, failure, max_runtime, plain

#: Fast polling for the child process, which sleeps in real time.
FAST = ("--min-delay", "0.05", "--max-delay", "0.2")
CANARY = "CANARY-SECRET-123"
EVENT_KEYS = {"event", "job_name", "at", "resume_token"}
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (\S+) ([a-z_]+)( .*)?$")


@dataclass(frozen=True)
class Done:
    """What a finished child process left behind."""

    code: int
    out: str
    err: str


def short_plain():
    """A plain job of 45 simulated seconds."""
    return plain(starting=5, downloading=5, training=30, uploading=5)


def child_env(fake=None, **extra):
    """The test's (AWS-free) environment, plus the fake's variables and *extra*."""
    env = dict(os.environ)
    if fake is not None:
        env.update(fake.environ())
    env.update(extra)
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    return env


def cli(*args):
    """The command line to run the CLI with *args*."""
    return [sys.executable, "-m", "sagemaker_watch", *args]


async def run(*args, env, limit=30):
    """Run the CLI to its end and return its exit code and outputs."""
    with anyio.fail_after(limit):
        result = await anyio.run_process(cli(*args), env=env, check=False)
    return Done(result.returncode, result.stdout.decode(), result.stderr.decode())


def free_port():
    """A loopback port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_in_pty(args, env, *, deadline=30.0, columns=140, lines=30):
    """Run the CLI on a pseudo-terminal; return its exit code and what it drew."""
    import pty  # noqa: PLC0415 - POSIX only

    master, slave = pty.openpty()
    env = {
        **env,
        "TERM": "xterm-256color",
        "COLUMNS": str(columns),
        "LINES": str(lines),
    }
    proc = subprocess.Popen(
        cli(*args), stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True
    )
    os.close(slave)
    chunks = []
    end = time.monotonic() + deadline
    try:
        while time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = proc.wait(timeout=max(0.1, end - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return code, b"".join(chunks).decode(errors="replace")


def plain_text(drawn):
    """Strip terminal control sequences from *drawn*."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn).replace("\r", "")


def final_table(text):
    """The lines of the last table drawn, from its header on."""
    starts = [match.start() for match in re.finditer(r"JOB +STATUS +PHASE", text)]
    return text[starts[-1] :].splitlines()


@pytest_asyncio.fixture(name="fake")
async def _fake():
    """A fake SageMaker on compressed time (200 simulated seconds per second)."""
    async with FakeSageMaker(speed=200) as fake:
        yield fake


@pytest.mark.asyncio
async def test_version_prints_the_package_version():
    """--version prints the name and version and exits 0."""
    done = await run("--version", env=child_env())
    assert (0, "") == (done.code, done.err)
    assert re.fullmatch(r"sagemaker-watch \d+\.\d+\.\d+\S*\n", done.out)


@pytest.mark.asyncio
async def test_wait_exit_code_names_each_outcome(fake):
    """`wait` exits 0, 1, 3, 4 and 5 for completed, failed, stopped, missing, late."""
    fake.add_job("done", short_plain())
    fake.add_job("broken", failure(starting=5, downloading=5, training=10))
    fake.add_job("too-long", max_runtime(starting=5, downloading=5, training=20))
    fake.add_job("slow", plain(training=100_000))
    env = child_env(fake)
    cases = {
        "done": (),
        "broken": (),
        "too-long": (),
        "absent": ("--grace", "0.2"),
        "slow": ("--timeout", "3"),
    }
    done: dict[str, Done] = {}

    async def one(job, extra):
        done[job] = await run("wait", job, *FAST, *extra, env=env)

    async with anyio.create_task_group() as tg:
        for job, extra in cases.items():
            tg.start_soon(one, job, extra)

    codes = {job: result.code for job, result in done.items()}
    assert {"done": 0, "broken": 1, "too-long": 3, "absent": 4, "slow": 5} == codes
    assert done["done"].out.startswith("done Completed in ")
    assert 'broken Failed after 20s: "AlgorithmError: ' in done["broken"].out
    assert "too-long Stopped (MaxRuntimeExceeded)" in done["too-long"].out
    assert "absent not found\n" == done["absent"].out
    assert "no such training job in us-east-1" in done["absent"].err
    assert done["slow"].out.startswith("slow timed out; last seen InProgress/")
    assert all(1 == len(result.out.splitlines()) for result in done.values())
    assert not any("Traceback" in result.err for result in done.values())


@pytest.mark.asyncio
async def test_allow_stopped_counts_a_stop_as_success(fake):
    """--allow-stopped turns a Stopped outcome into exit 0, as botocore's waiter."""
    fake.add_job("stopped", max_runtime(starting=5, downloading=5, training=20))
    done = await run("wait", "stopped", "--allow-stopped", *FAST, env=child_env(fake))
    assert 0 == done.code
    assert done.out.startswith("stopped Stopped (MaxRuntimeExceeded)")


@pytest.mark.asyncio
async def test_watch_json_is_one_event_object_per_line_and_nothing_else(fake):
    """--json writes exactly the events' JSON, each job ending with its outcome."""
    fake.add_job("job-1", short_plain())
    fake.add_job("job-2", failure(starting=5, downloading=5, training=10))
    done = await run("watch", "job-1", "job-2", "--json", *FAST, env=child_env(fake))

    assert 1 == done.code
    events = [json.loads(line) for line in done.out.splitlines()]
    assert all(EVENT_KEYS <= set(event) for event in events)
    by_job = {
        job: [e["event"] for e in events if e["job_name"] == job]
        for job in ("job-1", "job-2")
    }
    assert "job_observed" == by_job["job-1"][0] == by_job["job-2"][0]
    assert "job_completed" == by_job["job-1"][-1]
    assert "job_failed" == by_job["job-2"][-1]
    assert {"job-1", "job-2"} == {e["job_name"] for e in events}


@pytest.mark.asyncio
async def test_watch_without_a_terminal_writes_one_plain_line_per_event(fake):
    """Off a terminal, each event is one line: time, job, kind, detail."""
    fake.add_job("job-1", short_plain())
    done = await run("watch", "job-1", *FAST, env=child_env(fake))

    assert 0 == done.code
    parsed = [LINE.match(line) for line in done.out.splitlines()]
    assert all(parsed)
    kinds = [match.group(2) for match in parsed if match]
    assert "job_observed" == kinds[0]
    assert "job_completed" == kinds[-1]
    assert (
        ' Training "Training image download completed. Training in progress."'
        in done.out
    )


@pytest.mark.asyncio
async def test_live_view_on_a_terminal_shows_rows_and_outcomes(fake):
    """On a terminal the live table has a row per job and ends with the outcomes."""
    fake.add_job("live-ok", short_plain())
    fake.add_job("live-bad", failure(starting=5, downloading=5, training=10))
    args = ("watch", "live-ok", "live-bad", *FAST)
    code, drawn = await anyio.to_thread.run_sync(run_in_pty, args, child_env(fake))

    text = plain_text(drawn)
    assert 1 == code
    final = "\n".join(final_table(text))
    assert re.search(r"live-ok +Completed", final)
    assert re.search(r"live-bad +Failed .*AlgorithmError", final)
    assert "2 jobs: 1 completed, 1 failed" in final
    assert "\x1b[?25h" in drawn  # the cursor is shown again
    assert "Traceback" not in text


@pytest.mark.asyncio
async def test_secrets_in_the_job_are_printed_in_no_mode(fake):
    """HyperParameters and Environment values never reach stdout or stderr."""
    secrets = {
        "HyperParameters": {"api_key": CANARY},
        "Environment": {"TOKEN": CANARY},
    }
    for name in ("secret-1", "secret-2", "secret-3", "secret-4"):
        fake.add_job(name, short_plain(), **secrets)
    assert CANARY in json.dumps(fake.describe_job("secret-1"))
    env = child_env(fake)
    fake.inject(Fault.server_error(503, times=2))
    outputs = [
        await run("-vv", "watch", "secret-1", "--json", *FAST, env=env),
        await run("-vv", "watch", "secret-2", *FAST, env=env),
        await run("-vv", "wait", "secret-3", *FAST, env=env),
    ]
    code, drawn = await anyio.to_thread.run_sync(
        run_in_pty, ("-vv", "watch", "secret-4", *FAST), env
    )

    assert [0, 0, 0, 0] == [done.code for done in outputs] + [code]
    assert all(CANARY not in done.out + done.err for done in outputs)
    assert "sagemaker_watch.fleet_poll_failed" in outputs[0].err
    assert "fleet_poll_failed" not in outputs[0].out
    assert CANARY not in drawn


@pytest.mark.asyncio
async def test_invalid_job_name_is_a_usage_error_before_any_request(fake):
    """A name SageMaker would reject exits 2 with one line and sends nothing."""
    done = await run("watch", "ok-name", "not_valid!", env=child_env(fake))
    assert (2, "") == (done.code, done.out)
    assert 1 == len(done.err.splitlines())
    assert "invalid training job name 'not_valid!'" in done.err
    assert 0 == fake.request_count()


def arn(fake, name, *, region=None):
    """The ARN of training job *name* on *fake* (or in *region*)."""
    where = f"{region or fake.region}:{fake.account_id}"
    return f"arn:aws:sagemaker:{where}:training-job/{name}"


@pytest.mark.asyncio
async def test_wait_and_watch_take_a_job_arn(fake):
    """An ARN is watched as its job's name; an ARN and its name are one job."""
    fake.add_job("done", short_plain())
    waited = await run("wait", arn(fake, "done"), *FAST, env=child_env(fake))
    assert 0 == waited.code
    assert waited.out.startswith("done Completed in ")
    watched = await run(
        "watch", arn(fake, "done"), "done", "--json", *FAST, env=child_env(fake)
    )
    assert 0 == watched.code
    events = [json.loads(line) for line in watched.out.splitlines()]
    assert {"done"} == {event["job_name"] for event in events}
    assert 1 == [event["event"] for event in events].count("job_completed")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("job", "problem"),
    [
        (
            "arn:aws:sagemaker:us-east-1:123456789012:processing-job/done",
            "resource 'processing-job' is not a 'training-job/NAME'",
        ),
        (
            "ARN:aws:sagemaker:us-east-1:123456789012:training-job/done",
            "it starts 'ARN', not 'arn'",
        ),
        (
            "arn:aws:sagemaker:us-east-1:123456789012:training-job/done\x1b[2J",
            "job name 'done\\x1b[2J'",
        ),
    ],
)
async def test_a_malformed_arn_is_a_usage_error_before_any_request(fake, job, problem):
    """A malformed ARN exits 2 with one line saying what is wrong, sending nothing."""
    done = await run("watch", "done", job, env=child_env(fake))
    assert (2, "") == (done.code, done.out)
    assert 1 == len(done.err.splitlines())
    assert problem in done.err
    assert "\x1b" not in done.err
    assert 0 == fake.request_count()


@pytest.mark.asyncio
async def test_an_arn_from_another_region_is_a_usage_error_before_any_request(fake):
    """An ARN in eu-west-1 on a us-east-1 client exits 2 naming both regions."""
    fake.add_job("done", short_plain())
    elsewhere = arn(fake, "done", region="eu-west-1")
    done = await run("wait", elsewhere, *FAST, env=child_env(fake))
    assert (2, "") == (done.code, done.out)
    assert 1 == len(done.err.splitlines())
    assert "'eu-west-1'" in done.err
    assert "'us-east-1'" in done.err
    assert 0 == fake.request_count()


@pytest.mark.asyncio
async def test_unknown_option_is_a_usage_error_on_one_line():
    """An unknown option exits 2 with one line naming it and where to look."""
    done = await run("wait", "job-1", "--frobnicate", env=child_env())
    assert (2, "") == (done.code, done.out)
    expected = (
        "sagemaker-watch wait: error: No such option '--frobnicate'. "
        "(see 'sagemaker-watch wait --help')"
    )
    assert [expected] == done.err.splitlines()


@pytest.mark.asyncio
async def test_missing_credentials_exit_6_with_advice(fake):
    """With no credentials anywhere, the CLI says so in one line and exits 6."""
    env = child_env(
        AWS_ENDPOINT_URL_SAGEMAKER=fake.endpoint_url, AWS_REGION=fake.region
    )
    done = await run("wait", "job-1", *FAST, env=env)
    assert (6, "") == (done.code, done.out)
    assert 1 == len(done.err.splitlines())
    assert "no usable AWS credentials" in done.err
    assert "AWS_PROFILE" in done.err
    assert "Traceback" not in done.err


@pytest.mark.asyncio
async def test_access_denied_exits_6_naming_the_permission(fake):
    """An AccessDenied answer exits 6 and names the permission to grant."""
    fake.add_job("job-1", short_plain())
    fake.inject(Fault.error("AccessDeniedException", "User is not authorized"))
    done = await run("watch", "job-1", *FAST, env=child_env(fake))
    assert (6, "") == (done.code, done.out)
    assert "sagemaker:DescribeTrainingJob" in done.err


@pytest.mark.asyncio
async def test_missing_region_exits_6_with_advice():
    """With no region configured, the CLI asks for --region and exits 6."""
    done = await run("wait", "job-1", env=child_env())
    assert 6 == done.code
    assert "pass --region or set AWS_REGION" in done.err


@pytest.mark.asyncio
async def test_unreachable_endpoint_gives_up_after_the_grace(fake):
    """A closed loopback port is reported within --grace, exit 6, no traceback."""
    url = f"http://127.0.0.1:{free_port()}"
    env = child_env(fake, AWS_ENDPOINT_URL_SAGEMAKER=url)
    started = time.monotonic()
    done = await run("watch", "job-1", "--grace", "0.5", env=env)
    assert 6 == done.code
    assert time.monotonic() - started < 10
    assert f"cannot reach SageMaker at {url} (" in done.err
    assert "(retried for 0.5s); check --endpoint-url" in done.err
    assert "Traceback" not in done.err


async def started(*args, env):
    """Start the CLI with piped outputs; return the process."""
    return await anyio.open_process(cli(*args), env=env)


async def read_until(stream, needle, *, limit=15):
    """Read *stream* until *needle* appears; return what was read."""
    seen = b""
    with anyio.fail_after(limit):
        while needle not in seen:
            seen += await stream.receive()
    return seen.decode()


async def drain(stream):
    """Read *stream* to its end."""
    chunks = []
    try:
        async for chunk in stream:
            chunks.append(chunk)
    except anyio.EndOfStream:
        pass
    return b"".join(chunks).decode()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("signum", "expected"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)]
)
async def test_signal_ends_watch_cleanly(fake, signum, expected):
    """SIGINT exits 130 and SIGTERM 143, without a traceback."""
    fake.add_job("long", plain(training=100_000))
    process = await started("watch", "long", *FAST, env=child_env(fake))
    async with process:
        await read_until(process.stdout, b"long status_entered")
        process.send_signal(signum)
        with anyio.fail_after(10):
            code = await process.wait()
        err = await drain(process.stderr)
    assert expected == code
    assert "Traceback" not in err


@pytest.mark.asyncio
async def test_simulate_serves_a_scenario_until_interrupted(tmp_path):
    """`simulate` prints exports, serves the scenario's jobs, and exits 0 on SIGINT."""
    scenario = tmp_path / "fleet.toml"
    scenario.write_text(
        '[[jobs]]\nname = "from-file"\ntimeline = "failure"\n'
        "params = { starting = 5, downloading = 5, training = 10 }\n\n"
        '[[jobs]]\nname = "later"\ntimeline = "plain"\nstart = 5\n'
    )
    env = child_env()
    process = await started(
        "simulate", "--speed", "100", "--scenario", str(scenario), env=env
    )
    async with process:
        out = await read_until(process.stdout, b"AWS_DEFAULT_REGION=")
        exports = dict(
            line.removeprefix("export ").split("=", 1)
            for line in out.splitlines()
            if line.startswith("export ")
        )
        assert exports["AWS_ENDPOINT_URL_SAGEMAKER"].startswith("http://127.0.0.1:")
        done = await run("wait", "from-file", *FAST, env={**env, **exports})
        process.send_signal(signal.SIGINT)
        with anyio.fail_after(10):
            code = await process.wait()
        err = await drain(process.stderr)
    assert 1 == done.code
    assert done.out.startswith("from-file Failed")
    assert 0 == code
    assert "Traceback" not in err


@pytest.mark.asyncio
async def test_simulate_stops_on_sigterm_with_exit_0():
    """SIGTERM stops simulate cleanly with exit 0."""
    process = await started("simulate", env=child_env())
    async with process:
        await read_until(process.stdout, b"AWS_DEFAULT_REGION=")
        process.send_signal(signal.SIGTERM)
        with anyio.fail_after(10):
            code = await process.wait()
    assert 0 == code


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[[jobs]]\nname = "a"\ntimeline = "nope"\n', "unknown timeline 'nope'"),
        ('[[jobs]]\nname = "a"\nparams = { bogus = 1 }\n', "bad params for 'plain'"),
        ('[[jobs]]\nname = "bad name"\n', "invalid training job name"),
        ("jobs = 3\n", "expected one or more [[jobs]] tables"),
        ("[[jobs]\n", "is not valid TOML"),
    ],
)
async def test_bad_scenario_file_is_a_usage_error(tmp_path, content, message):
    """A scenario file with a mistake exits 2 naming the mistake."""
    scenario = tmp_path / "bad.toml"
    scenario.write_text(content)
    done = await run("simulate", "--scenario", str(scenario), env=child_env())
    assert 2 == done.code
    assert message in done.err
    assert 1 == len(done.err.splitlines())


@pytest.mark.asyncio
async def test_demo_runs_offline_in_under_30_seconds_and_shows_every_outcome():
    """`demo` needs no AWS, ends within 30 s, exits 0 and shows each job's outcome."""
    started_at = time.monotonic()
    done = await run("demo", env=child_env(), limit=30)
    elapsed = time.monotonic() - started_at

    assert 0 == done.code
    assert elapsed < 30
    outcomes = {
        match.group(1): match.group(2)
        for match in map(LINE.match, done.out.splitlines())
        if match and match.group(2).startswith("job_")
    }
    assert {
        "resnet50-baseline": "job_completed",
        "bert-finetune-spot": "job_completed",
        "llama-lora-oom": "job_failed",
        "vit-large-sweep-07": "job_stopped",
        "gpt2-pretrain-retry": "job_completed",
    } == {job: kind for job, kind in outcomes.items() if kind != "job_observed"}
    assert " interrupted Interrupted " in done.out
    assert " status_entered Restarting " in done.out
    assert "spot savings" in done.out


@pytest.mark.asyncio
async def test_demo_json_and_a_50_job_live_view_stay_well_formed():
    """`demo --json` is pure JSON; 50 jobs on a 30-line terminal end in a full table."""
    done = await run("demo", "--json", "--speed", "400", env=child_env())
    assert 0 == done.code
    assert all(EVENT_KEYS <= set(json.loads(line)) for line in done.out.splitlines())

    code, drawn = await anyio.to_thread.run_sync(
        run_in_pty, ("demo", "--copies", "10", "--speed", "250"), child_env()
    )
    text = plain_text(drawn)
    assert 0 == code
    final = final_table(text)
    assert "50 jobs: 30 completed, 10 stopped, 10 failed" in final[51]
    assert all(len(line) <= 140 for line in final)
    assert "(23 not shown)" in text or "not shown" in text


@pytest.mark.asyncio
async def test_watch_of_many_jobs_sweeps_the_list_on_one_budget(fake):
    """Twelve jobs share one fleet: ListTrainingJobs sweeps, fewer describes."""
    names = [f"many-{i:02d}" for i in range(12)]
    for name in names:
        fake.add_job(name, plain(starting=5, downloading=5, training=600, uploading=5))
    done = await run("watch", *names, "--json", *FAST, env=child_env(fake))
    assert 0 == done.code
    ended = [json.loads(line) for line in done.out.splitlines()]
    assert set(names) == {e["job_name"] for e in ended if e["event"] == "job_completed"}
    assert 0 < fake.request_count("ListTrainingJobs")


@pytest.mark.asyncio
async def test_an_outage_longer_than_the_grace_is_ridden_out_for_a_seen_job(fake):
    """A job seen once rides out errors past --grace, up to --retry-for, exit 0."""
    fake.add_job("steady", plain(starting=5, downloading=5, training=2000, uploading=5))
    args = ("watch", "steady", "--grace", "0.3", "--retry-for", "60", *FAST)
    process = await started(*args, env=child_env(fake))
    async with process:
        await read_until(process.stdout, b"steady status_entered")
        fake.inject(Fault.server_error(503, times=25))
        with anyio.fail_after(30):
            code = await process.wait()
        err = await drain(process.stderr)
    assert (0, "") == (code, err)
    assert 25 < fake.request_count("DescribeTrainingJob", "steady")


@pytest.mark.asyncio
async def test_an_outage_longer_than_retry_for_ends_a_seen_job_with_exit_6(fake):
    """A job seen once and then failing past --retry-for is reported, exit 6."""
    fake.add_job("shaky", plain(starting=5, downloading=5, training=2000, uploading=5))
    args = ("watch", "shaky", "--grace", "0.3", "--retry-for", "1.5", *FAST)
    process = await started(*args, env=child_env(fake))
    async with process:
        await read_until(process.stdout, b"shaky status_entered")
        fake.inject(Fault.server_error(503))
        started_at = time.monotonic()
        with anyio.fail_after(30):
            code = await process.wait()
        err = await drain(process.stderr)
    assert 6 == code
    assert 1.0 < time.monotonic() - started_at < 15
    assert ["sagemaker-watch: shaky: SageMaker kept failing"] == [
        line.partition(" (")[0] for line in err.splitlines()
    ]


def test_grace_and_retry_for_are_two_limits_of_one_retry_policy():
    """--grace bounds the retries of a job not seen yet, --retry-for of one seen."""
    from sagemaker_watch.cli._commands import _settings  # noqa: PLC0415

    settings = _settings(
        min_delay=None, max_delay=None, timeout=None, retry_for=60.0, grace=0.3
    )
    retry = settings.retry
    assert (None, 60.0, 0.3, 0.3) == (
        retry.max_attempts,
        retry.max_elapsed,
        retry.unseen_max_elapsed,
        retry.not_found_grace,
    )
