"""The command line against a hostile endpoint: no control character reaches a human."""

from __future__ import annotations

import json
import re

import anyio
import anyio.to_thread
import pytest
import pytest_asyncio

from hostile import HostileServer
from sagemaker_watch.testing import FakeSageMaker, failure, max_runtime
from test_cli import FAST, child_env, run, run_in_pty

#: What a hostile service could put in a string: a title change, a screen wipe, a
#: C1 CSI (U+009B), DEL and a lone surrogate (which cannot even be encoded).
HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x9b31m\x7f\ud800!"
#: Characters no human-readable output may carry (newline aside).
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def poison(answer):
    """Put HOSTILE into every free-text field of a DescribeTrainingJob answer."""
    if answer.get("TrainingJobStatus") == "InProgress":
        answer["SecondaryStatus"] = "Warming" + HOSTILE
    if answer.get("TrainingJobStatus") == "Stopped":
        answer["SecondaryStatus"] = "Halted" + HOSTILE
        for transition in answer["SecondaryStatusTransitions"]:
            if transition["Status"] == "MaxRuntimeExceeded":
                transition["Status"] = "Halted" + HOSTILE
    for transition in answer.get("SecondaryStatusTransitions", []):
        transition["StatusMessage"] = transition.get("StatusMessage", "") + HOSTILE
    if "FailureReason" in answer:
        answer["FailureReason"] = HOSTILE + answer["FailureReason"]
    return answer


def env_for(server):
    """The child's environment pointing at *server*."""
    return child_env(None, **server.environ())


@pytest_asyncio.fixture(name="server")
async def _server():
    """A hostile endpoint poisoning every answer, in front of a fast fake."""
    async with (
        FakeSageMaker(speed=200) as fake,
        HostileServer(upstream=fake.endpoint_url) as server,
    ):
        fake.add_job("bad", failure(starting=600, downloading=100, training=200))
        fake.add_job("halt", max_runtime(starting=600, downloading=100, training=200))
        server.rule("DescribeTrainingJob", mutate=poison)
        yield server


def assert_clean(text):
    """*text* carries no control character, and shows the hostile one visibly."""
    assert None is CONTROL.search(text)
    assert "pwned" in text


@pytest.mark.asyncio
async def test_plain_lines_escape_control_characters(server):
    """Plain lines show escapes instead of the ESC, C1, DEL and surrogate they got."""
    done = await run("watch", "bad", *FAST, env=env_for(server))
    assert 1 == done.code
    assert_clean(done.out)
    assert "Traceback" not in done.err
    assert "Warming\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\x7f\\ud800!" in done.out


@pytest.mark.asyncio
async def test_json_stays_exactly_the_events_json(server):
    """--json is untouched: the hostile text round-trips through json.loads."""
    done = await run("watch", "bad", "--json", *FAST, env=env_for(server))
    assert 1 == done.code
    events = [json.loads(line) for line in done.out.splitlines()]
    assert HOSTILE in events[-1]["failure_reason"]


@pytest.mark.asyncio
async def test_wait_line_escapes_control_characters(server):
    """`wait`'s one line shows the hostile FailureReason escaped, on one line."""
    failed = await run("wait", "bad", *FAST, env=env_for(server))
    stopped = await run("wait", "halt", *FAST, env=env_for(server))
    assert (1, 3) == (failed.code, stopped.code)
    for done in (failed, stopped):
        assert_clean(done.out)
        assert 1 == len(done.out.splitlines())
    assert "Stopped (Halted\\x1b]0;pwned" in stopped.out


@pytest.mark.asyncio
async def test_live_view_draws_no_hostile_sequence(server):
    """On a terminal, the hostile text is drawn escaped: no title change, no wipe."""
    args = ("watch", "bad", *FAST)
    code, drawn = await anyio.to_thread.run_sync(run_in_pty, args, env_for(server))
    assert 1 == code
    for sequence in ("\x1b]0;", "\x1b[2J", "\x9b", "\x7f", "\x07"):
        assert sequence not in drawn
    assert "pwned" in drawn
    assert "Traceback" not in drawn


@pytest.mark.asyncio
async def test_error_message_on_stderr_is_one_clean_line():
    """An AWS error whose message is hostile and multi-line gives one clean line."""
    body = {"__type": "ValidationException", "message": HOSTILE + "\nsecond\nthird"}
    async with HostileServer() as server:
        server.rule("DescribeTrainingJob", body=json.dumps(body).encode(), status=400)
        done = await run("wait", "job-1", *FAST, env=env_for(server))
    assert (6, "") == (done.code, done.out)
    assert 1 == len(done.err.splitlines())
    assert_clean(done.err)
    assert "SageMaker refused the request: ValidationException: " in done.err


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (502, "(HTTP 502, text/html)"),
        (404, "(HTTP 404, text/html)"),
        (200, "(HTTP 200, text/html)"),
    ],
)
async def test_html_answer_is_one_line_naming_the_endpoint(status, expected):
    """A wrong endpoint answering HTML is one stderr line naming it, not the page."""
    page = "<html>\n<head><title>Bad Gateway</title></head>\n" + "<p>x</p>\n" * 20
    async with HostileServer() as server:
        server.rule(
            "DescribeTrainingJob",
            body=page.encode(),
            status=status,
            headers={"Content-Type": "text/html"},
        )
        done = await run("wait", "job-1", "--grace", "0.5", env=env_for(server))
    assert (6, "") == (done.code, done.out)
    assert 1 == len(done.err.splitlines())
    assert (
        f"sagemaker-watch: the endpoint at {server.endpoint_url} did not answer "
        f"like SageMaker {expected}"
    ) in done.err
    assert "check --endpoint-url or AWS_ENDPOINT_URL_SAGEMAKER" in done.err
    assert "<p>" not in done.err


@pytest.mark.asyncio
async def test_verbose_logs_escape_a_hostile_error_code(server):
    """-v retry logs naming a hostile error code show it escaped on stderr."""
    body = {"__type": "Throttling" + HOSTILE, "message": "slow down" + HOSTILE}
    server.rule(
        "DescribeTrainingJob", body=json.dumps(body).encode(), status=503, times=2
    )
    done = await run("-v", "wait", "bad", *FAST, env=env_for(server))
    assert 1 == done.code
    assert "fleet_poll_failed" in done.err
    assert None is CONTROL.search(done.err.replace("\n", ""))
    assert "pwned" in done.err
