"""docs/hints.md: its template, commands, patterns and policy are the right ones.

The page sets up push hints in an AWS account, which no test has. So each piece is
checked against what it must agree with: the event patterns against the events the
test kit publishes over SQS for every shipped lifecycle (with a matcher for the part
of EventBridge's pattern language the page uses), the AWS CLI session by running it
in bash against a stand-in ``aws`` that records each request, and the watcher's IAM
policy against the AWS operations the library's code calls.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from botocore import xform_name
from botocore.session import get_session

import sagemaker_watch as sw
import sagemaker_watch._io.logging as log_names
from docblocks import Block, commands, normalise, parse
from sagemaker_watch._core.hint_mode import HintState
from sagemaker_watch.testing import TIMELINES, FakeSageMaker, ManualClock

ROOT = Path(__file__).parent.parent
DOC = ROOT / "docs" / "hints.md"
BLOCKS, _ = parse(DOC)
#: Long enough for every shipped lifecycle to end.
HORIZON = 7 * 24 * 3600.0
#: What the stand-in ``aws`` answers, by operation.
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/sagemaker-events"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:sagemaker-events"
RULE_ARN = "arn:aws:events:us-east-1:123456789012:rule/sagemaker-watch-hints"
SOURCE = "aws.sagemaker"
DETAIL_TYPE = "SageMaker Training Job State Change"
#: SQS authorises these batch actions by their single action's permission.
BATCH_ACTIONS = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}
#: The IAM prefix of each service whose operations the library may call.
SERVICES = {"sagemaker": "sagemaker", "sqs": "sqs"}
#: Library modules whose AWS calls are not part of watching (named on the page).
NOT_WATCHING = {Path("integrations/airflow.py")}


def _json_blocks() -> list[tuple[Block, Any]]:
    return [(block, json.loads(block.text)) for block in BLOCKS if block.lang == "json"]


def _one(kind: str, found: list[Any]) -> Any:
    assert 1 == len(found), f"docs/hints.md should show one {kind}, shows {len(found)}"
    return found[0]


def _template() -> dict[str, Any]:
    return _one(
        "CloudFormation template",
        [doc for _, doc in _json_blocks() if "AWSTemplateFormatVersion" in doc],
    )


def _watcher_policy() -> dict[str, Any]:
    return _one("IAM policy", [doc for _, doc in _json_blocks() if "Statement" in doc])


def _patterns() -> list[dict[str, Any]]:
    """The event patterns the page shows on their own (the name and tag filters)."""
    return [doc for _, doc in _json_blocks() if "source" in doc]


def _console(containing: str) -> Block:
    return _one(
        f"console session with {containing!r}",
        [b for b in BLOCKS if b.lang == "console" and containing in b.text],
    )


def _resolve(node: Any, parameters: dict[str, str]) -> Any:
    """Resolve ``Ref`` to parameters and ``Fn::If`` on the template's conditions.

    ``Fn::GetAtt`` and ``Ref`` to resources are kept as they are: what they name is
    checked, not resolved.
    """
    template = _template()
    if isinstance(node, list):
        return [_resolve(item, parameters) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"} and node["Ref"] in template["Parameters"]:
        name = node["Ref"]
        return parameters.get(name, template["Parameters"][name].get("Default"))
    if set(node) == {"Fn::If"}:
        condition, then, otherwise = node["Fn::If"]
        chosen = then if _condition(condition, parameters) else otherwise
        return _resolve(chosen, parameters)
    return {key: _resolve(value, parameters) for key, value in node.items()}


def _condition(name: str, parameters: dict[str, str]) -> bool:
    return _evaluate(_template()["Conditions"][name], parameters)


def _evaluate(node: Any, parameters: dict[str, str]) -> Any:
    """Evaluate the condition functions the page's template uses."""
    if isinstance(node, dict) and set(node) == {"Fn::Not"}:
        [inner] = node["Fn::Not"]
        return not _evaluate(inner, parameters)
    if isinstance(node, dict) and set(node) == {"Fn::Equals"}:
        left, right = (_evaluate(side, parameters) for side in node["Fn::Equals"])
        return left == right
    return _resolve(node, parameters)


def _rule_pattern(**parameters: str) -> dict[str, Any]:
    rule = _template()["Resources"]["HintRule"]
    return _resolve(rule["Properties"]["EventPattern"], parameters)


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """Return whether EventBridge's *pattern* matches *event*: exact values, prefixes.

    Each key of the pattern must be in the event; an object recurses; a list of
    values matches a leaf equal to one of them or, for ``{"prefix": ...}``, a string
    leaf starting with it; a leaf that is a list matches if one of its items does.

    Raises:
        ValueError: For a part of the pattern language this matcher lacks, so that
            the page cannot use one unchecked.
    """
    for key, wanted in pattern.items():
        if key not in event:
            return False
        value = event[key]
        if isinstance(wanted, dict):
            if not isinstance(value, dict) or not matches(wanted, value):
                return False
        elif isinstance(wanted, list):
            leaves = value if isinstance(value, list) else [value]
            if not any(_leaf(option, leaf) for option in wanted for leaf in leaves):
                return False
        else:
            msg = f"a pattern's values are lists or objects, not {wanted!r}"
            raise ValueError(msg)  # noqa: TRY004 - the page's pattern is wrong
    return True


def _leaf(option: Any, leaf: Any) -> bool:
    if isinstance(option, dict):
        if set(option) != {"prefix"}:
            msg = f"matcher knows exact values and prefix, not {sorted(option)}"
            raise ValueError(msg)
        return isinstance(leaf, str) and leaf.startswith(option["prefix"])
    return option == leaf


def test_the_matcher_follows_eventbridge_on_the_documented_examples():
    """The matcher agrees with EventBridge's documented prefix and array rules."""
    event = {
        "source": "aws.ec2",
        "time": "2017-10-02T18:43:48Z",
        "resources": ["a", "b"],
    }
    assert matches({"time": [{"prefix": "2017-10-02"}]}, event)
    assert not matches({"time": [{"prefix": "2017-10-03"}]}, event)
    assert matches({"resources": ["b"]}, event)
    assert not matches({"region": ["us-east-1"]}, event)
    assert not matches({"source": ["aws.ec2"], "resources": ["c"]}, event)
    with pytest.raises(ValueError, match="suffix"):
        matches({"source": [{"suffix": "ec2"}]}, event)


@pytest_asyncio.fixture(name="published")
async def _published():
    """The SQS bodies the fake publishes for two jobs of every shipped lifecycle.

    One job of each is named ``team-a-...`` and tagged ``team=a``, the other
    ``team-b-...`` and tagged ``team=b``; each body is read back over HTTP through
    a stock aiobotocore SQS client, as a watcher receives it.
    """
    async with FakeSageMaker(
        clock=ManualClock(), quotas={}, events_queue="events"
    ) as fake:
        for timeline in sorted(TIMELINES):
            for team in ("a", "b"):
                fake.add_job(
                    f"team-{team}-{timeline.replace('_', '-')}",
                    timeline,
                    Tags=[{"Key": "team", "Value": team}],
                )
        fake.advance(HORIZON)
        url = fake.queue_url("events")
        bodies = []
        async with fake.sqs_client() as sqs:
            while messages := (
                await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
            ).get("Messages"):
                bodies.extend(json.loads(message["Body"]) for message in messages)
                await sqs.delete_message_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                        for i, m in enumerate(messages)
                    ],
                )
        yield bodies


def _team(body: dict[str, Any]) -> str:
    return body["detail"]["Tags"]["team"]


def test_the_published_events_cover_every_lifecycle_and_ending(published):
    """The events matched below span every lifecycle, from creation to each ending."""
    names = {body["detail"]["TrainingJobName"] for body in published}
    statuses = {body["detail"]["TrainingJobStatus"] for body in published}
    assert 2 * len(TIMELINES) == len(names)
    assert {"InProgress", "Completed", "Failed", "Stopped"} <= statuses


def test_the_template_rule_matches_every_training_job_event(published):
    """Without a prefix, the template's rule matches every event of every job."""
    pattern = _rule_pattern()
    assert {"source": [SOURCE], "detail-type": [DETAIL_TYPE]} == pattern
    assert [] == [body["id"] for body in published if not matches(pattern, body)]


def test_the_cli_rule_matches_every_training_job_event(published):
    """The pattern ``aws events put-rule`` is given matches every event of every job."""
    pattern = json.loads(_recorded_cli()["put-rule"]["--event-pattern"])
    assert _rule_pattern() == pattern
    assert [] == [body["id"] for body in published if not matches(pattern, body)]


def test_the_template_prefix_matches_only_jobs_with_that_prefix(published):
    """With ``JobNamePrefix``, the template's rule matches exactly that team's jobs."""
    pattern = _rule_pattern(JobNamePrefix="team-b-")
    matched = [body for body in published if matches(pattern, body)]
    assert matched
    assert [b for b in published if _team(b) == "b"] == matched


def test_the_name_and_tag_patterns_match_only_their_jobs(published):
    """The page's name-prefix and tag patterns each match exactly team ``a``'s jobs."""
    patterns = _patterns()
    assert 2 == len(patterns)
    for pattern in patterns:
        assert [SOURCE] == pattern["source"]
        assert [DETAIL_TYPE] == pattern["detail-type"]
        matched = [body for body in published if matches(pattern, body)]
        assert matched
        assert [b for b in published if _team(b) == "a"] == matched


@pytest.mark.parametrize(
    ("source", "detail_type"),
    [
        (SOURCE, "SageMaker Processing Job State Change"),
        (SOURCE, "SageMaker HyperParameter Tuning Job State Change"),
        ("aws.batch", DETAIL_TYPE),
        ("my.forged.source", DETAIL_TYPE),
    ],
)
def test_no_pattern_matches_another_source_or_detail_type(
    published, source, detail_type
):
    """Every pattern on the page refuses an event of another source or detail-type."""
    other = {**published[-1], "source": source, "detail-type": detail_type}
    cli_pattern = json.loads(_recorded_cli()["put-rule"]["--event-pattern"])
    for pattern in (
        _rule_pattern(),
        _rule_pattern(JobNamePrefix="team-a-"),
        cli_pattern,
        *_patterns(),
    ):
        assert not matches(pattern, other)


def test_the_template_creates_an_encrypted_queue_a_rule_and_their_policy():
    """The queue keeps a day, hides 60 s, long-polls, is encrypted; its URL is out."""
    template = _template()
    resources = template["Resources"]
    assert {
        "HintQueue": "AWS::SQS::Queue",
        "HintQueuePolicy": "AWS::SQS::QueuePolicy",
        "HintRule": "AWS::Events::Rule",
    } == {name: resource["Type"] for name, resource in resources.items()}
    assert {
        "QueueName": {"Ref": "QueueName"},
        "MessageRetentionPeriod": 86400,
        "VisibilityTimeout": 60,
        "ReceiveMessageWaitTimeSeconds": 20,
        "SqsManagedSseEnabled": True,
    } == resources["HintQueue"]["Properties"]
    assert {"Ref": "HintQueue"} == template["Outputs"]["QueueUrl"]["Value"]
    assert "sagemaker-events" == template["Parameters"]["QueueName"]["Default"]
    assert "" == template["Parameters"]["JobNamePrefix"]["Default"]


def test_the_template_queue_policy_admits_only_the_rule():
    """EventBridge may send to the queue only for the rule, which targets the queue."""
    resources = _template()["Resources"]
    policy = resources["HintQueuePolicy"]["Properties"]
    assert [{"Ref": "HintQueue"}] == policy["Queues"]
    [statement] = policy["PolicyDocument"]["Statement"]
    assert {
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": {"Fn::GetAtt": ["HintQueue", "Arn"]},
        "Condition": {
            "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["HintRule", "Arn"]}}
        },
    } == {key: value for key, value in statement.items() if key != "Sid"}
    [target] = resources["HintRule"]["Properties"]["Targets"]
    assert {"Fn::GetAtt": ["HintQueue", "Arn"]} == target["Arn"]
    assert "RoleArn" not in target
    assert "ENABLED" == resources["HintRule"]["Properties"]["State"]


STAND_IN_AWS = textwrap.dedent(
    """\
    import json, os, sys

    argv = sys.argv[1:]
    with open(os.environ["AWS_STAND_IN_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(argv) + "\\n")
    answers = {
        "create-queue": {"QueueUrl": QUEUE_URL},
        "get-queue-attributes": {"Attributes": {"QueueArn": QUEUE_ARN}},
        "put-rule": {"RuleArn": RULE_ARN},
        "set-queue-attributes": {},
        "put-targets": {"FailedEntryCount": 0, "FailedEntries": []},
    }
    answer = answers[argv[1]]
    if "--query" in argv:
        for key in argv[argv.index("--query") + 1].split("."):
            answer = answer[key]
        print(answer)
    else:
        print(json.dumps(answer, indent=4))
    """
)


def _recorded_cli() -> dict[str, dict[str, str]]:
    """Run the page's AWS CLI session in bash against a stand-in ``aws``.

    Returns:
        Each operation's options (``--name``: value), after the shell expanded
        them; the commands' printed lines are checked against the page's.
    """
    if shutil.which("jq") is None:
        pytest.skip("the page's AWS CLI session needs jq, which is not installed")
    block = _console("aws events put-rule")
    return _run_session(block)


_CACHE: dict[str, dict[str, dict[str, str]]] = {}


def _run_session(block: Block) -> dict[str, dict[str, str]]:
    if block.where in _CACHE:
        return _CACHE[block.where]
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        stand_in = where / "bin" / "aws"
        stand_in.parent.mkdir()
        stand_in.write_text(
            f"#!{sys.executable}\n"
            f"QUEUE_URL = {QUEUE_URL!r}\nQUEUE_ARN = {QUEUE_ARN!r}\n"
            f"RULE_ARN = {RULE_ARN!r}\n" + STAND_IN_AWS,
            encoding="utf-8",
        )
        stand_in.chmod(0o755)
        log = where / "requests.jsonl"
        steps = commands(block)
        script = "set -euo pipefail\n" + "".join(
            f"echo '@@@ {i}'\n{step.command}\n" for i, step in enumerate(steps)
        )
        env = {
            "PATH": f"{stand_in.parent}{os.pathsep}{os.environ['PATH']}",
            "AWS_STAND_IN_LOG": str(log),
            "HOME": tmp,
        }
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert 0 == done.returncode, done.stderr
        printed = re.split(r"^@@@ \d+\n", done.stdout, flags=re.MULTILINE)[1:]
        assert len(steps) == len(printed)
        for step, out in zip(steps, printed, strict=True):
            if step.shown:
                assert normalise("\n".join(step.shown)) == normalise(out)
        requests = [json.loads(line) for line in log.read_text().splitlines()]
    recorded: dict[str, dict[str, str]] = {}
    for argv in requests:
        service, operation, *rest = argv
        assert operation not in recorded, f"{operation} called twice"
        assert service == {"put-rule": "events", "put-targets": "events"}.get(
            operation, "sqs"
        )
        recorded[operation] = dict(zip(rest[::2], rest[1::2], strict=True))
    _CACHE[block.where] = recorded
    return recorded


def _shorthand(value: str) -> dict[str, str]:
    """Read the AWS CLI's ``Key=value,Key=value`` shorthand (no quoting used)."""
    return dict(item.split("=", 1) for item in value.split(","))


def test_the_cli_session_makes_the_template_requests_in_order():
    """The CLI creates the template's queue, the rule, its policy, then the target."""
    recorded = _recorded_cli()
    assert [
        "create-queue",
        "get-queue-attributes",
        "put-rule",
        "set-queue-attributes",
        "put-targets",
    ] == list(recorded)
    queue = _template()["Resources"]["HintQueue"]["Properties"]
    expected = {
        key: str(value).lower() if isinstance(value, bool) else str(value)
        for key, value in queue.items()
        if key != "QueueName"
    }
    assert expected == _shorthand(recorded["create-queue"]["--attributes"])
    assert "sagemaker-events" == recorded["create-queue"]["--queue-name"]
    assert recorded["put-rule"]["--name"] == recorded["put-targets"]["--rule"]
    target = _shorthand(recorded["put-targets"]["--targets"])
    assert QUEUE_ARN == target["Arn"]


def test_the_cli_queue_policy_names_the_rule_it_created():
    """``set-queue-attributes`` sets the template's policy, naming the new rule."""
    attributes = json.loads(_recorded_cli()["set-queue-attributes"]["--attributes"])
    assert ["Policy"] == list(attributes)
    policy = json.loads(attributes["Policy"])
    template_policy = _template()["Resources"]["HintQueuePolicy"]["Properties"]
    [expected] = template_policy["PolicyDocument"]["Statement"]
    expected = json.loads(
        json.dumps({k: v for k, v in expected.items() if k != "Sid"})
        .replace('{"Fn::GetAtt": ["HintQueue", "Arn"]}', json.dumps(QUEUE_ARN))
        .replace('{"Fn::GetAtt": ["HintRule", "Arn"]}', json.dumps(RULE_ARN))
    )
    assert template_policy["PolicyDocument"]["Version"] == policy["Version"]
    assert [expected] == policy["Statement"]
    assert RULE_ARN == policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"]


def _operations_called() -> dict[Path, set[str]]:
    """The AWS operations each library module calls, as IAM actions.

    An operation is a botocore operation name of a service in ``SERVICES`` that a
    module (the test kit aside) names in a string or calls on a ``client``.
    """
    session = get_session()
    names: dict[str, str] = {}
    for service, prefix in SERVICES.items():
        model = session.get_service_model(service)
        for operation in model.operation_names:
            names[xform_name(operation)] = f"{prefix}:{operation}"
    package = ROOT / "src" / "sagemaker_watch"
    called: dict[Path, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        if relative.parts[0] == "testing":
            continue
        text = path.read_text(encoding="utf-8")
        words = set(re.findall(r"[\"'](\w+)[\"']", text))
        words |= set(re.findall(r"\bclient\.(\w+)\(", text))
        actions = {names[word] for word in words if word in names}
        if actions:
            called[relative] = actions
    return called


def test_the_watcher_policy_grants_exactly_what_the_library_calls():
    """The IAM policy grants what watching calls (DeleteMessageBatch: DeleteMessage)."""
    called = _operations_called()
    watching = {
        BATCH_ACTIONS.get(action, action)
        for path, actions in called.items()
        if path not in NOT_WATCHING
        for action in actions
    }
    granted = set()
    for statement in _watcher_policy()["Statement"]:
        assert "Allow" == statement["Effect"]
        actions = statement["Action"]
        granted |= {actions} if isinstance(actions, str) else set(actions)
    assert {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sagemaker:DescribeTrainingJob",
        "sagemaker:ListTrainingJobs",
    } == watching
    assert watching == granted


def test_calls_outside_watching_are_named_on_the_page():
    """Each AWS action a module outside watching calls is named on the page."""
    called = _operations_called()
    text = DOC.read_text(encoding="utf-8")
    others = sorted(a for path in NOT_WATCHING for a in called.get(path, ()))
    assert ["sagemaker:StopTrainingJob"] == others
    assert [] == [action for action in others if f"`{action}`" not in text]


def test_the_watcher_policy_scopes_the_queue_and_the_jobs():
    """SQS actions are granted on the queue only, describes on training jobs only."""
    resources = {
        action: statement["Resource"]
        for statement in _watcher_policy()["Statement"]
        for action in (
            [statement["Action"]]
            if isinstance(statement["Action"], str)
            else statement["Action"]
        )
    }
    assert QUEUE_ARN == resources["sqs:ReceiveMessage"]
    assert QUEUE_ARN == resources["sqs:DeleteMessage"]
    assert resources["sagemaker:DescribeTrainingJob"].startswith(
        "arn:aws:sagemaker:us-east-1:123456789012:training-job/"
    )
    assert "*" == resources["sagemaker:ListTrainingJobs"]


def test_the_settings_the_page_states_are_the_defaults():
    """Each default the page states for ``SqsHints`` is the library's default."""
    text = " ".join(DOC.read_text(encoding="utf-8").split())
    defaults = {field.name: field.default for field in dataclasses.fields(sw.SqsHints)}
    stated = {
        "ceiling": r"every `ceiling` s, (\d+) by default",
        "silence": r"`silence` s \((\d+)\)",
        "window": r"`window` \((\d+) s\)",
        "pace": r"waits `pace` seconds \((\d+) by default\)",
        "wait_seconds": r"one `ReceiveMessage` per (\d+) s while the queue is empty",
        "max_messages": r"one `ReceiveMessage` per batch of up to (\d+) messages",
    }
    found = {name: re.search(pattern, text) for name, pattern in stated.items()}
    assert [] == [name for name, match in found.items() if match is None]
    assert {name: defaults[name] for name in stated} == {
        name: float(match[1]) for name, match in found.items() if match
    }


def test_the_counters_reasons_and_log_events_the_page_names_exist():
    """The statistics, fallback reasons and hint log events named are the library's."""
    text = DOC.read_text(encoding="utf-8")
    fields = {field.name for field in dataclasses.fields(sw.HintStatistics)}
    named = {"flowing", "state", "fallbacks", "missed", "unwatched", "not_hints"}
    assert named <= fields
    assert [] == [name for name in sorted(named) if f"`{name}`" not in text]
    reasons = set(re.findall(r'reason="(\w+)"', text))
    assert {"queue_failed", "queue_silent"} == reasons
    assert reasons <= {state.value for state in HintState}
    hint_events = {
        value
        for value in vars(log_names).values()
        if isinstance(value, str)
        and re.fullmatch(r"sagemaker_watch\.hints?_\w+", value)
    }
    assert hint_events == set(re.findall(r"`(sagemaker_watch\.hints?_\w+)`", text))


@pytest.fixture(name="moto_url")
def _moto_url():
    """Moto's server mode on a free loopback port, with its EventBridge routing.

    Moto routes events to targets only with ``jsonpath_ng`` installed, which the
    ``moto[sagemaker]`` of the test dependencies does not bring.
    """
    pytest.importorskip(
        "jsonpath_ng", reason="moto's EventBridge needs jsonpath-ng to route events"
    )
    from moto.server import ThreadedMotoServer  # noqa: PLC0415 - optional here

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_moto_eventbridge_routes_what_the_matcher_matches(published, moto_url):
    """Moto's EventBridge, a second implementation, routes each page pattern alike."""
    import boto3  # noqa: PLC0415 - moto's dependency, used only here

    options = {
        "region_name": "us-east-1",
        "endpoint_url": moto_url,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    sqs = boto3.client("sqs", **options)
    events = boto3.client("events", **options)
    patterns = {
        "template": _rule_pattern(),
        "template-prefix": _rule_pattern(JobNamePrefix="team-b-"),
        "cli": json.loads(_recorded_cli()["put-rule"]["--event-pattern"]),
        **{f"page-{i}": pattern for i, pattern in enumerate(_patterns())},
    }
    forged = [
        {**published[0], "detail-type": "SageMaker Processing Job State Change"},
        {**published[0], "source": "my.forged.source"},
    ]
    queues = {}
    for name, pattern in patterns.items():
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        events.put_rule(Name=name, EventPattern=json.dumps(pattern))
        events.put_targets(
            Rule=name, Targets=[{"Id": name, "Arn": arn["Attributes"]["QueueArn"]}]
        )
        queues[name] = url
    sent = [*published, *forged]
    for start in range(0, len(sent), 10):
        answer = events.put_events(
            Entries=[
                {
                    "Source": body["source"],
                    "DetailType": body["detail-type"],
                    "Detail": json.dumps(body["detail"]),
                    "Resources": body["resources"],
                }
                for body in sent[start : start + 10]
            ]
        )
        assert 0 == answer["FailedEntryCount"]
    for name, pattern in patterns.items():
        routed = []
        while messages := sqs.receive_message(
            QueueUrl=queues[name], MaxNumberOfMessages=10
        ).get("Messages"):
            for message in messages:
                routed.append(json.loads(message["Body"])["detail"])
                sqs.delete_message(
                    QueueUrl=queues[name], ReceiptHandle=message["ReceiptHandle"]
                )
        expected = [body["detail"] for body in sent if matches(pattern, body)]
        assert expected, name
        key = functools.partial(json.dumps, sort_keys=True)
        assert sorted(map(key, expected)) == sorted(map(key, routed)), name
    sqs.close()
    events.close()


def test_cfn_lint_passes_the_template():
    """cfn-lint (CloudFormation's resource schemas and rules) finds nothing wrong."""
    api = pytest.importorskip("cfnlint.api", reason="cfn-lint is not installed")
    [block] = [b for b, doc in _json_blocks() if "AWSTemplateFormatVersion" in doc]
    config = api.ManualArgs(regions=["us-east-1", "eu-west-1", "ap-northeast-1"])
    assert [] == [str(match) for match in api.lint(block.text, config=config)]


def test_the_cost_table_follows_from_the_price_it_states():
    """Each row of the cost table is its requests times the stated price per million."""
    text = DOC.read_text(encoding="utf-8")
    [price] = {
        float(match)
        for match in re.findall(r"costs\s+\$(\d+\.\d+) per million requests", text)
    }
    rows = re.findall(
        r"^\|[^|\n]+\| (?:≤ )?([\d,]+)(?: more)? \| (≤ )?\$(\d+\.\d\d) \|$",
        text,
        re.MULTILINE,
    )
    assert 3 == len(rows)
    computed = []
    for requests, at_most, _ in rows:
        dollars = int(requests.replace(",", "")) * price / 1e6
        # An upper bound rounds up to the cent; an estimate to the nearest.
        cents = math.ceil(dollars * 100) if at_most else round(dollars * 100)
        computed.append(f"{cents / 100:.2f}")
    assert [cost for _, _, cost in rows] == computed
    assert f"| {2_592_000 // 20:,} |" in text
