"""The command line's exits: closed pipes, bad values, odd endpoints, surprises."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import anyio
import anyio.to_thread
import pytest
import pytest_asyncio

import sagemaker_watch as sw
from hostile import HostileServer
from sagemaker_watch.cli._problems import ExitCode, problem, setup
from sagemaker_watch.cli._text import Outcome
from sagemaker_watch.testing import FakeSageMaker, plain
from test_cli import FAST, child_env, cli, run


@pytest_asyncio.fixture(name="fake")
async def _fake():
    """A fake SageMaker on compressed time (200 simulated seconds per second)."""
    async with FakeSageMaker(speed=200) as fake:
        yield fake


def read_then_close(args, env, *, lines):
    """Run the CLI into a pipe, read *lines* lines, close the pipe; return the end."""
    proc = subprocess.Popen(
        cli(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    try:
        got = [proc.stdout.readline() for _ in range(lines)]
        proc.stdout.close()
        code = proc.wait(timeout=30)
        err = proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    return code, got, err


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("args", "lines"),
    [
        (("demo", "--json"), 2),
        (("demo",), 3),
        (("demo", "--copies", "20", "--speed", "400"), 1),
    ],
)
async def test_a_pipe_closed_early_exits_141_quietly(args, lines):
    """`demo | head` ends with 141 (SIGPIPE's code) and nothing on stderr."""
    code, got, err = await anyio.to_thread.run_sync(
        lambda: read_then_close(args, child_env(), lines=lines)
    )
    assert lines == len([line for line in got if line])
    assert (141, "") == (code, err)


@pytest.mark.asyncio
async def test_watch_json_into_a_closed_pipe_exits_141_quietly(fake):
    """`watch JOB --json | head -n 2` against an endpoint exits 141, stderr empty."""
    fake.add_job("long", plain(starting=5, downloading=5, training=2000))
    args = ("watch", "long", "--json", *FAST)
    code, got, err = await anyio.to_thread.run_sync(
        lambda: read_then_close(args, child_env(fake), lines=2)
    )
    assert 2 == len(got)
    assert (141, "") == (code, err)


def run_into_full(args):
    """Run the CLI with stdout on /dev/full; return its exit code and stderr."""
    with Path("/dev/full").open("wb") as full:
        result = subprocess.run(
            cli(*args),
            env=child_env(),
            stdout=full,
            stderr=subprocess.PIPE,
            check=False,
            timeout=30,
        )
    return result.returncode, result.stderr.decode()


@pytest.mark.asyncio
async def test_wait_into_a_pipe_closed_before_its_line_exits_141(fake):
    """`wait` whose reader has gone when its one line comes exits 141, quietly."""
    fake.add_job("short", plain(starting=5, downloading=5, training=10))
    code, got, err = await anyio.to_thread.run_sync(
        lambda: read_then_close(("wait", "short", *FAST), child_env(fake), lines=0)
    )
    assert ([], 141, "") == (got, code, err)


@pytest.mark.asyncio
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
async def test_an_unexpected_error_exits_70_with_one_line_pointing_to_v():
    """A surprise (stdout on a full device) exits 70: one line, traceback with -v."""
    results = []
    for verbose in ((), ("-v",)):
        args = (*verbose, "demo", "--json")
        results.append(await anyio.to_thread.run_sync(run_into_full, args))
    (code, err), (verbose_code, verbose_err) = results

    assert (70, 70) == (code, verbose_code)
    expected = (
        "sagemaker-watch: unexpected error (OSError: [Errno 28] No space left on "
        "device); run `sagemaker-watch -v ...` to see the traceback\n"
    )
    assert expected == err
    assert "Traceback (most recent call last):\n" in verbose_err
    assert verbose_err.endswith(
        "sagemaker-watch: unexpected error (OSError: [Errno 28] No space left on "
        "device)\n"
    )
    assert "Exception ignored" not in err + verbose_err


BAD_SECONDS = [
    ("wait", "job-1", "--grace", "nan"),
    ("wait", "job-1", "--retry-for", "nan"),
    ("wait", "job-1", "--timeout", "nan"),
    ("wait", "job-1", "--timeout", "inf"),
    ("wait", "job-1", "--min-delay", "nan"),
    ("wait", "job-1", "--max-delay", "inf"),
    ("watch", "job-1", "--grace", "-inf"),
    ("watch", "job-1", "--retry-for", "-1"),
    ("watch", "job-1", "--min-delay", "0"),
    ("watch", "job-1", "--max-delay", "-2"),
    ("demo", "--speed", "nan"),
    ("demo", "--speed", "inf"),
    ("simulate", "--speed", "nan"),
]


@pytest.mark.asyncio
@pytest.mark.parametrize("args", BAD_SECONDS, ids=" ".join)
async def test_a_number_that_is_not_finite_or_in_range_is_a_usage_error(args):
    """NaN, infinities and out-of-range numbers exit 2 with one line naming them."""
    done = await run(*args, env=child_env(AWS_REGION="us-east-1"), limit=15)
    option, value = args[-2:]
    assert (2, "") == (done.code, done.out)
    assert 1 == len(done.err.splitlines())
    assert f"Invalid value for '{option}': {value!r} is not a finite number" in (
        done.err
    )


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("url", "where"),
    [
        ("htp://127.0.0.1:1", "--endpoint-url"),
        ("http://", "--endpoint-url"),
        ("127.0.0.1:8080", "--endpoint-url"),
        ("htp://127.0.0.1:1", "AWS_ENDPOINT_URL_SAGEMAKER"),
        ("ftp://127.0.0.1:1", "AWS_ENDPOINT_URL"),
    ],
)
async def test_a_bad_endpoint_url_is_a_usage_error_at_once(url, where):
    """An endpoint URL without http(s) and a host exits 2 at once, naming it."""
    env = child_env(AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID="x")
    env["AWS_SECRET_ACCESS_KEY"] = "y"  # noqa: S105 - a dummy credential
    args = ["wait", "job-1"]
    if where == "--endpoint-url":
        args += ["--endpoint-url", url]
    else:
        env[where] = url
    done = await run(*args, env=env, limit=15)
    # Exit 2 with the usage line, not 6 "cannot reach": no request was retried.
    assert (2, "") == (done.code, done.out)
    assert 1 == len(done.err.splitlines())
    assert f"{where} {url!r} is not an http:// or https:// URL with a host" in (
        done.err
    )


@pytest.mark.asyncio
async def test_a_replaced_job_exits_4_saying_what_happened(fake):
    """A job deleted and created again under its name mid-watch exits 4, not 6."""
    fake.add_job("twice", plain(training=100_000))
    answers = 0

    def recreate(answer):
        nonlocal answers
        answers += 1
        if answers > 2:
            answer["CreationTime"] += 1000
        return answer

    async with HostileServer(upstream=fake.endpoint_url) as server:
        server.rule("DescribeTrainingJob", mutate=recreate)
        env = child_env(None, **server.environ())
        done = await run("watch", "twice", *FAST, env=env)
    expected = (
        "sagemaker-watch: twice: the job was deleted and created again under the "
        "same name while it was watched; run the command again to watch the new one"
    )
    assert (4, [expected]) == (done.code, done.err.splitlines())


def test_every_exit_code_is_in_the_docs_table():
    """docs/cli.md's exit-code table lists every ExitCode value, and no other."""
    text = (Path(__file__).parent.parent / "docs" / "cli.md").read_text()
    table = text.split("## Exit codes", 1)[1].split("\n\n", 2)[1]
    cells = [line.split("|")[1].strip() for line in table.splitlines()]
    codes = {int(cell) for cell in cells if cell.isdigit()}
    assert {int(code) for code in ExitCode} == codes
    assert os.EX_SOFTWARE == ExitCode.SOFTWARE


@pytest.mark.asyncio
async def test_a_malformed_region_is_a_usage_error_about_the_region():
    """A region botocore cannot read exits 2 and asks for a region, not an endpoint."""
    env = child_env(AWS_ACCESS_KEY_ID="x")
    env["AWS_SECRET_ACCESS_KEY"] = "y"  # noqa: S105 - a dummy credential
    done = await run("wait", "job-1", "--region", "bad region!", env=env, limit=15)
    assert (2, "") == (done.code, done.out)
    expected = (
        "sagemaker-watch: error: invalid AWS region 'bad region!'; "
        "pass --region like us-east-1"
    )
    assert [expected] == done.err.splitlines()


@pytest.mark.asyncio
async def test_a_bad_endpoint_in_the_config_file_is_a_usage_error(tmp_path):
    """An endpoint_url in ~/.aws/config without http(s) exits 2 naming the setting."""
    config = tmp_path / "config"
    config.write_text(
        "[default]\nregion = us-east-1\nservices = odd\n\n"
        "[services odd]\nsagemaker =\n  endpoint_url = htp://127.0.0.1:1\n"
    )
    env = child_env(AWS_ACCESS_KEY_ID="x", AWS_CONFIG_FILE=str(config))
    env["AWS_SECRET_ACCESS_KEY"] = "y"  # noqa: S105 - a dummy credential
    done = await run("wait", "job-1", env=env, limit=15)
    assert (2, "") == (done.code, done.out)
    assert 1 == len(done.err.splitlines())
    assert "check endpoint_url in the AWS config file" in done.err
    assert "None" not in done.err


@pytest.mark.asyncio
async def test_an_unknown_profile_exits_6_naming_it(tmp_path):
    """A profile in no config file exits 6 naming the profile, before any request."""
    config = tmp_path / "config"
    config.write_text("[profile other]\nregion = eu-west-1\n")
    env = child_env(AWS_CONFIG_FILE=str(config), AWS_REGION="us-east-1")
    done = await run("wait", "job-1", "--profile", "nope", env=env, limit=15)
    assert (6, "") == (done.code, done.out)
    assert 1 == len(done.err.splitlines())
    assert "'nope' could not be found" in done.err
    assert "pass an existing --profile or fix AWS_PROFILE" in done.err


@pytest.mark.asyncio
async def test_partial_credentials_exit_6_asking_for_credentials():
    """An access key without its secret is a credentials problem: exit 6, advice."""
    env = child_env(AWS_REGION="us-east-1", AWS_ACCESS_KEY_ID="only-the-key")
    done = await run("wait", "job-1", env=env, limit=15)
    assert (6, "") == (done.code, done.out)
    assert 1 == len(done.err.splitlines())
    assert "no usable AWS credentials" in done.err
    assert "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in done.err


@pytest.mark.asyncio
async def test_rejected_credentials_exit_6_at_once_saying_so():
    """Credentials AWS does not recognise exit 6 with one line, nothing retried."""
    body = {"__type": "UnrecognizedClientException", "message": "bad token"}
    async with HostileServer() as server:
        server.rule("DescribeTrainingJob", body=json.dumps(body).encode(), status=400)
        env = child_env(None, **server.environ())
        done = await run("wait", "job-1", *FAST, env=env)
        requests = server.count("DescribeTrainingJob")
    assert (6, "") == (done.code, done.out)
    assert 1 == len(done.err.splitlines())
    assert "AWS rejected the credentials" in done.err
    assert "UnrecognizedClientException" in done.err
    assert 1 == requests


@pytest.mark.asyncio
async def test_an_unreadable_json_answer_is_one_line_naming_the_endpoint():
    """JSON that is not SageMaker's answer ends with one line naming the endpoint."""
    async with HostileServer() as server:
        server.rule("DescribeTrainingJob", body=json.dumps(["not", "it"]).encode())
        env = child_env(None, **server.environ())
        done = await run("wait", "job-1", "--grace", "0.5", env=env)
    assert (6, "") == (done.code, done.out)
    assert 1 == len(done.err.splitlines())
    assert (
        f"sagemaker-watch: the endpoint at {server.endpoint_url} did not answer like "
        "SageMaker (an unreadable answer: "
    ) in done.err


ADVICE_ENDPOINT = "check --endpoint-url or AWS_ENDPOINT_URL_SAGEMAKER"
JOB_PROBLEMS = [
    (
        sw.TrainingJobNotFound("job-1"),
        Outcome.NOT_FOUND,
        (
            "job-1: no such training job in us-east-1; check the name, --region and "
            "--profile"
        ),
    ),
    (
        sw.NotSageMaker(
            "gave up after retries: the endpoint answered text/html",
            job_name="job-1",
            code="MalformedResponse",
            http_status=502,
            content_type="text/html",
            endpoint_url="http://proxy:8080",
        ),
        Outcome.ERROR,
        (
            "the endpoint at http://proxy:8080 did not answer like SageMaker "
            f"(HTTP 502, text/html); {ADVICE_ENDPOINT}"
        ),
    ),
    (
        sw.NotSageMaker(
            "gave up after retries: not a DescribeTrainingJob answer",
            job_name="job-1",
            code="MalformedResponse",
            http_status=None,
            content_type=None,
            endpoint_url=None,
        ),
        Outcome.ERROR,
        (
            "the endpoint at https://client.example did not answer like SageMaker (an "
            "unreadable answer: MalformedResponse: gave up after retries: not a "
            f"DescribeTrainingJob answer); {ADVICE_ENDPOINT}"
        ),
    ),
    (
        sw.EndpointUnreachable(
            "gave up after retries: cannot reach http://127.0.0.1:9",
            job_name="job-1",
            code="EndpointConnectionError",
            endpoint_url="http://127.0.0.1:9",
        ),
        Outcome.ERROR,
        (
            "cannot reach SageMaker at http://127.0.0.1:9 (EndpointConnectionError) "
            f"(retried for 15s); {ADVICE_ENDPOINT}, --region and the network"
        ),
    ),
    (
        sw.CredentialsRejected(
            "AWS rejected the credentials", job_name="job-1", code="ExpiredToken"
        ),
        Outcome.ERROR,
        "ExpiredToken: AWS rejected the credentials; refresh or replace them",
    ),
    (
        sw.CredentialsError(
            "no usable AWS credentials", job_name="job-1", code="NoCredentialsError"
        ),
        Outcome.ERROR,
        (
            "NoCredentialsError: no usable AWS credentials; set AWS_PROFILE (after "
            "`aws sso login` for SSO) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        ),
    ),
    (
        sw.AccessDenied(operation="DescribeTrainingJob", job_name="job-1"),
        Outcome.ERROR,
        (
            "AccessDenied: access denied to DescribeTrainingJob on 'job-1'; the "
            "credentials need sagemaker:DescribeTrainingJob"
        ),
    ),
    (
        sw.RetriesExhausted(
            "gave up after retries: Service Unavailable",
            job_name="job-1",
            code="ServiceUnavailable",
        ),
        Outcome.ERROR,
        (
            "job-1: SageMaker kept failing (retried for 15s): ServiceUnavailable: gave "
            "up after retries: Service Unavailable"
        ),
    ),
    (
        sw.ServiceError("bad name", job_name="job-1", code="ValidationException"),
        Outcome.ERROR,
        "job-1: SageMaker refused the request: ValidationException: bad name",
    ),
]


@pytest.mark.parametrize(
    ("error", "outcome", "expected"),
    JOB_PROBLEMS,
    ids=[type(case[0]).__name__ for case in JOB_PROBLEMS],
)
def test_each_library_error_is_one_line_of_advice_chosen_by_its_class(
    error, outcome, expected
):
    """Each error class (checked most specific first) gets its own diagnosis."""
    result = problem(
        "job-1",
        error,
        region="us-east-1",
        endpoint_url="https://client.example",
        retried_for=15.0,
    )
    assert (outcome, expected) == (result.outcome, result.problem)


SETUP_PROBLEMS = [
    (sw.NoRegion(), ExitCode.AWS_ERROR, "no AWS region configured; pass --region or "),
    (sw.NoRegion("mars-1 "), ExitCode.USAGE, "invalid AWS region 'mars-1 '; pass "),
    (sw.ProfileNotFound("dev"), ExitCode.AWS_ERROR, "the AWS profile 'dev' could not "),
    (
        sw.InvalidEndpoint(scheme="htp", host=None),
        ExitCode.USAGE,
        (
            "the endpoint URL is not http or https with a host (scheme 'htp', "
            "no host); check endpoint_url in the AWS config file"
        ),
    ),
    (
        sw.CredentialsError("no usable AWS credentials", job_name=None, code="X"),
        ExitCode.AWS_ERROR,
        "X: no usable AWS credentials; set AWS_PROFILE",
    ),
    (
        sw.ConfigurationError("something else", code="UnknownServiceError"),
        ExitCode.AWS_ERROR,
        "cannot set up AWS: UnknownServiceError: something else",
    ),
]


@pytest.mark.parametrize(
    ("error", "code", "start"),
    SETUP_PROBLEMS,
    ids=[type(case[0]).__name__ for case in SETUP_PROBLEMS],
)
def test_each_setup_error_is_one_line_and_an_exit_code_chosen_by_its_class(
    error, code, start
):
    """A client that cannot be set up: advice and exit code follow the error class."""
    problem = setup(error)
    assert code == problem.code
    assert str(problem).startswith(start)
