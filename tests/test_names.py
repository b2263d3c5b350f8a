"""Tests for job name and ARN validation."""

from __future__ import annotations

import botocore.loaders
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sagemaker_watch as sw
from sagemaker_watch._core.names import (
    JOB_ARN_MAX_LENGTH,
    JOB_ARN_PATTERN,
    JOB_NAME_MAX_LENGTH,
    JOB_NAME_PATTERN,
    JobRef,
    lookup_name,
    parse_job,
    validate_job_name,
)
from sagemaker_watch._errors import InvalidJobName

VALID = st.from_regex(r"\A[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}\Z").filter(
    lambda name: len(name) <= JOB_NAME_MAX_LENGTH
)


@given(VALID)
def test_accepts_every_name_sagemaker_accepts(name):
    """Any name matching SageMaker's pattern comes back unchanged."""
    assert name == validate_job_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "-job",
        "job-",
        "job_name",
        "job name",
        "a" * 64,
        "a" + "-" * 40 + "b" * 40,
        "a" + "-" * 62 + "b",
        "jöb",
        None,
        42,
        b"job",
    ],
)
def test_rejects_names_sagemaker_rejects(name):
    """Bad names raise InvalidJobName, which is also a ValueError, naming the input."""
    with pytest.raises(InvalidJobName) as info:
        validate_job_name(name)
    assert isinstance(info.value, ValueError)
    assert repr(name) in str(info.value)


@given(st.text(max_size=80))
def test_validation_agrees_with_the_service_pattern(text):
    """validate_job_name accepts exactly the strings the pattern fully matches."""
    if JOB_NAME_PATTERN.fullmatch(text) and len(text) <= JOB_NAME_MAX_LENGTH:
        assert text == validate_job_name(text)
    else:
        with pytest.raises(InvalidJobName):
            validate_job_name(text)


def test_the_limit_is_63_characters_hyphens_included():
    """SageMaker's limit is 63 characters; double hyphens are allowed within it."""
    assert 63 == JOB_NAME_MAX_LENGTH
    assert "a" + "-" * 61 + "b" == validate_job_name("a" + "-" * 61 + "b")
    assert "a--b" == validate_job_name("a--b")


def test_error_message_does_not_forbid_double_hyphens():
    """The message states the rule SageMaker applies: hyphens, not single hyphens."""
    with pytest.raises(InvalidJobName) as info:
        validate_job_name("-job")
    assert "single hyphen" not in str(info.value)


# -- ARNs ------------------------------------------------------------------------

ARN = "arn:aws:sagemaker:us-east-1:123456789012:training-job/my-job"

PARTITIONS = st.from_regex(r"\Aaws[a-z\-]{0,12}\Z").filter(
    lambda partition: "\n" not in partition
)
REGIONS = st.from_regex(r"\A[a-z0-9\-]{0,20}\Z").filter(
    lambda region: "\n" not in region
)
ACCOUNTS = st.from_regex(r"\A[0-9]{12}\Z").filter(lambda account: "\n" not in account)
NAMES = VALID.filter(lambda name: "\n" not in name)


@st.composite
def arns(draw):
    """A valid training job ARN built from the pattern's pieces, with the pieces."""
    partition, region = draw(PARTITIONS), draw(REGIONS)
    account, name = draw(ACCOUNTS), draw(NAMES)
    arn = f"arn:{partition}:sagemaker:{region}:{account}:training-job/{name}"
    return arn, partition, region, account, name


@given(arns())
def test_a_valid_arn_comes_back_as_its_name_and_parts(pieces):
    """Any ARN built from the service pattern's pieces reduces to its job name."""
    arn, partition, region, account, name = pieces
    expected = JobRef(
        name=name,
        arn=arn,
        partition=partition,
        region=region or None,
        account_id=account,
    )
    assert expected == parse_job(arn)
    assert name == lookup_name(arn)


@pytest.mark.parametrize(
    "arn",
    [
        ARN,
        "arn:aws-cn:sagemaker:cn-north-1:123456789012:training-job/my-job",
        "arn:aws-us-gov:sagemaker:us-gov-west-1:123456789012:training-job/my-job",
        "arn:aws-iso:sagemaker:us-iso-east-1:123456789012:training-job/my-job",
        "arn:aws-iso-b:sagemaker:us-isob-east-1:123456789012:training-job/my-job",
        "arn:aws:sagemaker::123456789012:training-job/my-job",
    ],
)
def test_arns_of_every_partition_are_accepted(arn):
    """ARNs in every partition, and with the empty region the pattern allows, pass."""
    assert "my-job" == parse_job(arn).name


def test_a_name_is_a_job_ref_without_arn_parts():
    """A plain name parses to itself, with no ARN, region or account."""
    assert JobRef(name="my-job") == parse_job("my-job")


@pytest.mark.parametrize(
    ("arn", "problem"),
    [
        (ARN.replace("arn:", "ARN:"), "starts 'ARN', not 'arn'"),
        (ARN.replace("arn:aws:", "arn:azure:"), "partition 'azure'"),
        (ARN.replace("arn:aws:", "arn:AWS:"), "partition 'AWS'"),
        (ARN.replace(":sagemaker:", ":ec2:"), "service 'ec2' is not 'sagemaker'"),
        (ARN.replace(":sagemaker:", ":SageMaker:"), "service 'SageMaker'"),
        (ARN.replace("us-east-1", "US-EAST-1"), "region 'US-EAST-1'"),
        (ARN.replace("us-east-1", "us_east_1"), "region 'us_east_1'"),
        (ARN.replace("123456789012", "12345678901"), "account '12345678901'"),
        (ARN.replace("123456789012", "1234567890123"), "account '1234567890123'"),
        (ARN.replace("123456789012", "12345678901x"), "account '12345678901x'"),
        (ARN.replace("training-job/", "processing-job/"), "resource 'processing-job'"),
        (ARN.replace("training-job/", "Training-Job/"), "resource 'Training-Job'"),
        (
            ARN.replace("training-job/", "training-job:"),
            "resource 'training-job:my-job'",
        ),
        (ARN.replace("my-job", "my_job"), "job name 'my_job'"),
        (ARN.replace("my-job", "-my-job"), "job name '-my-job'"),
        (ARN.replace("my-job", ""), "job name ''"),
        (ARN.replace("my-job", "my-job/x"), "job name 'my-job/x'"),
        (ARN.replace("my-job", "a" * 64), f"job name '{'a' * 64}'"),
        (ARN.replace("my-job", "a" + "-" * 62 + "b"), "job name 'a---"),
        (ARN + "\n", "job name 'my-job\\n'"),
        (ARN + "\x1b[2J", "job name 'my-job\\x1b[2J'"),
        (" " + ARN, "starts ' arn'"),
        ("arn:aws:sagemaker:us-east-1:123456789012", "not six ':'-separated parts"),
        ("arn:aws:sagemaker:us-east-1:123456789012:my-job", "resource 'my-job'"),
        (
            ARN.replace("us-east-1", "r" * 210),
            "longer than 256 characters",
        ),
    ],
)
def test_malformed_arns_say_what_is_wrong(arn, problem):
    """Each malformed ARN raises InvalidJobName naming the part that is wrong."""
    with pytest.raises(InvalidJobName) as info:
        parse_job(arn)
    message = str(info.value)
    assert problem in message
    assert repr(arn) in message
    assert arn == info.value.job_name
    assert isinstance(info.value, ValueError)
    assert not any(ord(char) < 32 or ord(char) == 127 for char in message)
    assert arn == lookup_name(arn)


MUTATIONS = [
    lambda arn: arn.upper(),
    lambda arn: arn.replace("arn:", "ARN:", 1),
    lambda arn: arn.replace(":sagemaker:", ":sagemakers:", 1),
    lambda arn: arn.replace(":training-job/", ":processing-job/", 1),
    lambda arn: arn.replace(":training-job/", ":training-job//", 1),
    lambda arn: arn + "_",
    lambda arn: arn + "-",
    lambda arn: arn + "\x00",
    lambda arn: arn + "/",
    lambda arn: ":" + arn,
    lambda arn: arn.replace(":", "::", 1),
]


@given(arns(), st.sampled_from(MUTATIONS))
def test_mutated_arns_are_rejected(pieces, mutate):
    """A valid ARN broken in any one of the ways the pattern forbids is rejected."""
    arn = mutate(pieces[0])
    with pytest.raises(InvalidJobName):
        parse_job(arn)


@given(
    st.one_of(
        st.text(max_size=80),
        st.from_regex(JOB_ARN_PATTERN, fullmatch=True),
        arns().map(lambda pieces: pieces[0] + "x" * 200),
        arns().map(lambda pieces: pieces[0].replace("/", "/" + "a-" * 40, 1)),
    )
)
def test_parsing_agrees_with_the_service_patterns(text):
    """parse_job accepts exactly what TrainingJobName or TrainingJobArn accept."""
    name_ok = bool(
        JOB_NAME_PATTERN.fullmatch(text) and len(text) <= JOB_NAME_MAX_LENGTH
    )
    arn_ok = bool(
        JOB_ARN_PATTERN.fullmatch(text)
        and len(text) <= JOB_ARN_MAX_LENGTH
        and len(text.rpartition("/")[2]) <= JOB_NAME_MAX_LENGTH
    )
    if name_ok or arn_ok:
        assert (text if name_ok else text.rpartition("/")[2]) == parse_job(text).name
    else:
        with pytest.raises(InvalidJobName):
            parse_job(text)


def test_the_arn_pattern_is_the_service_models():
    """The pattern and limit are those of botocore's TrainingJobArn shape."""
    shape = _service_shape("TrainingJobArn")
    assert shape["pattern"] == JOB_ARN_PATTERN.pattern
    assert shape["max"] == JOB_ARN_MAX_LENGTH
    name = _service_shape("TrainingJobName")
    assert name["pattern"] == JOB_NAME_PATTERN.pattern
    assert name["max"] == JOB_NAME_MAX_LENGTH


def _service_shape(shape):
    """The shape *shape* of botocore's SageMaker service model."""
    loader = botocore.loaders.create_loader()
    model = loader.load_service_model("sagemaker", "service-2")
    return model["shapes"][shape]


def test_a_name_with_a_slash_is_a_bad_name_not_a_bad_arn():
    """Without a colon the input is read as a name, and the name's rule is stated."""
    with pytest.raises(InvalidJobName) as info:
        parse_job("team/my-job")
    assert str(info.value).startswith("invalid training job name 'team/my-job': ")


def test_validate_job_name_still_takes_names_only():
    """The name check used for creating jobs does not take ARNs."""
    with pytest.raises(InvalidJobName):
        validate_job_name(ARN)


@pytest.mark.parametrize("value", ["my-job", "a:b", "x/y", None, 42, ARN + "\n"])
def test_lookup_leaves_anything_but_a_valid_arn_alone(value):
    """lookup_name never raises: a name or a malformed ARN comes back unchanged."""
    assert value == lookup_name(value)


def test_the_region_of_an_arn_must_be_the_clients():
    """An ARN from another region is refused, naming both regions."""
    ref = parse_job(ARN.replace("us-east-1", "eu-west-1"))
    with pytest.raises(InvalidJobName) as info:
        ref.check_region("us-east-1")
    message = str(info.value)
    assert "'eu-west-1'" in message
    assert "'us-east-1'" in message
    assert ref.arn == info.value.job_name


@pytest.mark.parametrize(
    ("job", "client_region"),
    [
        (ARN, "us-east-1"),
        (ARN, None),
        (ARN, ""),
        ("my-job", "eu-west-1"),
        ("arn:aws:sagemaker::123456789012:training-job/my-job", "eu-west-1"),
    ],
)
def test_the_region_check_passes_when_nothing_disagrees(job, client_region):
    """Names, empty ARN regions and unknown client regions are never refused."""
    parse_job(job).check_region(client_region)


# -- ARNs everywhere a name is taken, over real HTTP against the fake -------------


def _arn_of(fake, name, *, region=None):
    """The ARN of job *name* on *fake* (or in *region*)."""
    return f"arn:aws:sagemaker:{region or fake.region}:123456789012:training-job/{name}"


@pytest.mark.asyncio
async def test_the_waiters_take_an_arn_and_ask_for_the_name(sim):
    """wait_until_complete on an ARN describes the job by its name."""
    fake, client = sim
    fake.add_job("job", "plain")
    snapshot = await sw.wait_until_complete(
        _arn_of(fake, "job"), client=client, clock=fake.clock
    )
    assert sw.PrimaryStatus.COMPLETED == snapshot.primary_status
    assert fake.request_count("DescribeTrainingJob") == fake.request_count(
        "DescribeTrainingJob", "job"
    )
    training = await sw.wait_for_status(
        _arn_of(fake, "job"), "Training", client=client, clock=fake.clock
    )
    assert "job" == training.job_name


@pytest.mark.asyncio
async def test_watch_on_an_arn_emits_events_named_by_the_job(sim):
    """watch(arn) follows the job to its end; its events carry the job's name."""
    fake, client = sim
    fake.add_job("job", "plain")
    watch = sw.watch(_arn_of(fake, "job"), client=client, clock=fake.clock)
    assert "job" == watch.job_name
    events = [e.to_json() async for e in watch]
    assert {"job"} == {event["job_name"] for event in events}
    assert ["Starting", "Downloading", "Training", "Uploading", "Completed"] == [
        event["status"] for event in events if event["event"] == "status_entered"
    ]
    assert "job_completed" == events[-1]["event"]


@pytest.mark.asyncio
async def test_a_resume_token_for_the_name_is_accepted_with_the_arn(sim):
    """A resume token made while watching by name resumes a watch by ARN alike."""
    fake, client = sim
    fake.add_job("job", "plain")
    options = {"client": client, "clock": fake.clock, "seed": 1}
    events = [e async for e in sw.watch("job", **options)]
    token = events[2].resume_token
    by_name = [e async for e in sw.watch("job", resume=token, **options)]
    by_arn = [e async for e in sw.watch(_arn_of(fake, "job"), resume=token, **options)]
    assert _without_times(by_name) == _without_times(by_arn)
    assert "job_completed" == by_arn[-1].to_json()["event"]


def _without_times(events):
    """The events' JSON without the observation times, which differ per run."""
    return [{**e.to_json(), "at": None} for e in events]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "arn",
    [
        ARN.replace("training-job/", "processing-job/"),
        ARN.replace("arn:", "ARN:"),
        ARN.replace("123456789012", "1234"),
        ARN + "\n",
    ],
)
async def test_malformed_arns_are_refused_before_any_request(sim, arn):
    """watch(), the waiters and the fleet refuse a malformed ARN without a call."""
    fake, client = sim
    fake.add_job("my-job", "plain")
    with pytest.raises(sw.InvalidJobName):
        sw.watch(arn, client=client)
    with pytest.raises(sw.InvalidJobName):
        await sw.wait_until_complete(arn, client=client, clock=fake.clock)
    async with sw.FleetWatcher(client=client, clock=fake.clock) as fleet:
        with pytest.raises(sw.InvalidJobName):
            fleet.add(arn)
        with pytest.raises(sw.InvalidJobName):
            await fleet.wait_until_complete(arn)
        assert arn not in fleet
    assert 0 == fake.request_count()


@pytest.mark.asyncio
async def test_an_arn_from_another_region_is_refused_before_any_request(sim):
    """An ARN in eu-west-1 given to a us-east-1 client fails at once, not later."""
    fake, client = sim
    fake.add_job("job", "plain")
    elsewhere = _arn_of(fake, "job", region="eu-west-1")
    with pytest.raises(sw.InvalidJobName, match="'eu-west-1'"):
        sw.watch(elsewhere, client=client)
    with pytest.raises(sw.InvalidJobName, match="'eu-west-1'"):
        await sw.wait_until_terminal(elsewhere, client=client, clock=fake.clock)
    async with sw.FleetWatcher(client=client, clock=fake.clock) as fleet:
        with pytest.raises(sw.InvalidJobName, match="'eu-west-1'"):
            fleet.add(elsewhere)
        assert 0 == fleet.statistics().watching
    assert 0 == fake.request_count()


@pytest.mark.asyncio
async def test_the_region_is_checked_once_an_owned_client_opens(
    fake_sagemaker, monkeypatch
):
    """Without client=, the ARN's region is checked when the client opens."""
    fake = fake_sagemaker
    for key, value in fake.environ().items():
        monkeypatch.setenv(key, value)
    fake.add_job("job", "plain")
    elsewhere = _arn_of(fake, "job", region="eu-west-1")
    with pytest.raises(sw.InvalidJobName, match="'eu-west-1'"):
        await sw.wait_until_complete(elsewhere, clock=fake.clock)
    fleet = sw.FleetWatcher(clock=fake.clock)
    fleet.add(elsewhere)
    with pytest.raises(sw.InvalidJobName, match="'eu-west-1'"):
        async with fleet:
            pass
    snapshot = await sw.wait_until_complete(_arn_of(fake, "job"), clock=fake.clock)
    assert "job" == snapshot.job_name
    assert 0 == fake.request_count("DescribeTrainingJob") - fake.request_count(
        "DescribeTrainingJob", "job"
    )


@pytest.mark.asyncio
async def test_the_fleet_treats_an_arn_and_its_name_as_one_job(sim):
    """add(arn) then add(name) watch one job; lookups take either form."""
    fake, client = sim
    fake.add_job("job", "plain")
    fake.add_job("other", "plain")
    arn = _arn_of(fake, "job")
    async with sw.FleetWatcher(client=client, clock=fake.clock, seed=1) as fleet:
        fleet.add(arn)
        fleet.add("job")
        fleet.add(_arn_of(fake, "other"))
        assert arn in fleet
        assert "job" in fleet
        assert 2 == fleet.statistics().watching
        snapshot = await fleet.wait_until_complete(arn)
        assert "job" == snapshot.job_name
        assert snapshot is fleet.snapshot(arn)
        assert snapshot is fleet.snapshot("job")
        fleet.remove(_arn_of(fake, "other"))
        assert "other" not in fleet
        events = [e async for e in fleet]
    assert {"job", "other"} >= {event.job_name for event in events}


@pytest.mark.asyncio
async def test_the_fleet_resumes_by_arn_from_a_token_made_by_name(sim):
    """fleet.add(arn, resume=token) accepts a token made while watching the name."""
    fake, client = sim
    fake.add_job("job", "plain")
    options = {"client": client, "clock": fake.clock, "seed": 1}
    events = [e async for e in sw.watch("job", **options)]
    token = events[2].resume_token
    by_name = [e async for e in sw.watch("job", resume=token, **options)]
    async with sw.FleetWatcher(client=client, clock=fake.clock, seed=1) as fleet:
        fleet.add(_arn_of(fake, "job"), resume=token)
        by_arn = [e async for e in fleet]
    assert _without_times(by_name) == _without_times(by_arn)


@pytest.mark.asyncio
async def test_fleet_lookups_by_an_arn_of_another_region_find_nothing(sim):
    """in, snapshot() and remove() treat an ARN of another region as no job here."""
    fake, client = sim
    fake.add_job("job", "plain")
    elsewhere = _arn_of(fake, "job", region="eu-west-1")
    async with sw.FleetWatcher(client=client, clock=fake.clock, seed=1) as fleet:
        await fleet.wait_until_complete("job")
        fleet.add("job")
        assert "job" in fleet
        assert elsewhere not in fleet
        with pytest.raises(KeyError):
            fleet.snapshot(elsewhere)
        fleet.remove(elsewhere)
        assert "job" in fleet
        assert fleet.snapshot(_arn_of(fake, "job")) is fleet.snapshot("job")


@pytest.mark.parametrize(
    ("region", "expected"),
    [(None, "my-job"), ("us-east-1", "my-job"), ("eu-west-1", ARN)],
)
def test_lookup_finds_an_arn_only_in_its_region(region, expected):
    """lookup_name gives an ARN's name only when the ARN is in *region* (if given)."""
    assert expected == lookup_name(ARN, region=region)
