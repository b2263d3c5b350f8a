"""What the kit's CreateTrainingJob refuses, checked alone: no service, no sockets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagemaker_watch.testing import TIMELINE_TAG, ApiError, Timeline, failure, plain
from sagemaker_watch.testing._validation import (
    check_name,
    check_stopping_condition,
    name_in_use,
    resolve_timeline,
    tagged_timeline,
)


def _refusal(call, *args, **kwargs):
    with pytest.raises(ApiError) as excinfo:
        call(*args, **kwargs)
    return excinfo.value.code, excinfo.value.message, excinfo.value.status


@pytest.mark.parametrize(
    "name", ["a", "A1", "a-b", "a--b", "x" * 63, "0-" + "9" * 61, "job-2024-05-06"]
)
def test_names_the_pattern_accepts(name):
    """Letters, digits and inner hyphens, up to 63 characters, are valid names."""
    assert name == check_name(name)


@pytest.mark.parametrize(
    "name", ["", "-a", "a-", "a_b", "a.b", "a b", "x" * 64, "é", None, 7]
)
def test_names_the_pattern_refuses(name):
    """Edge hyphens, other characters, 64 characters and non-strings are refused."""
    assert (
        "ValidationException",
        (
            f"1 validation error detected: Value '{name}' at 'trainingJobName' "
            "failed to satisfy constraint: Member must satisfy regular expression "
            "pattern: "
            "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
        ),
        400,
    ) == _refusal(check_name, name)


@given(st.from_regex(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", fullmatch=True))
def test_every_name_of_the_pattern_is_accepted(name):
    """Any name matching AWS's pattern passes unchanged."""
    assert name == check_name(name)


def test_name_in_use_names_the_arn():
    """A taken name is ResourceInUse, naming the job that holds it."""
    arn = "arn:aws:sagemaker:us-east-1:123456789012:training-job/job"
    error = name_in_use(arn)
    assert ("ResourceInUse", 400) == (error.code, error.status)
    assert error.message.endswith(f"already exists ({arn})")


def test_the_timeline_tag_picks_a_fresh_ready_made_timeline():
    """The tag names a ready-made timeline; other tags and odd entries are ignored."""
    default = plain(training=5)
    tags = [
        "not-a-tag",
        {"Key": "team", "Value": "failure"},
        {"Key": TIMELINE_TAG, "Value": "failure"},
    ]
    assert failure() == tagged_timeline(tags, default)
    assert default is tagged_timeline(tags[:2], default)
    assert default is tagged_timeline([], default)


def test_an_unknown_timeline_tag_is_refused_with_the_known_names():
    """A tag naming no ready-made timeline is a ValidationException listing them."""
    code, message, _ = _refusal(
        tagged_timeline, [{"Key": TIMELINE_TAG, "Value": "nope"}], plain()
    )
    assert "ValidationException" == code
    assert (
        f"Unknown {TIMELINE_TAG} 'nope'; known: failure, max_runtime, plain, "
        "retry_restart, spot_capacity_never, spot_interrupted_once, "
        "spot_interrupted_twice_max_wait, unknown_status, user_stop"
    ) == message


def test_resolve_timeline():
    """A Timeline is itself; a name gives a fresh ready-made one; others fail."""
    custom = Timeline(phases=plain().phases)
    assert custom is resolve_timeline(custom)
    assert failure() == resolve_timeline("failure")
    with pytest.raises(ValueError, match="unknown timeline 'nope'; known: failure, "):
        resolve_timeline("nope")


@pytest.mark.parametrize(
    ("condition", "spot"),
    [
        ({}, False),
        ({"MaxRuntimeInSeconds": 1}, False),
        ({"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 3600}, True),
        ({"MaxWaitTimeInSeconds": 86400}, True),
        ({"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 60}, False),
    ],
)
def test_stopping_conditions_accepted(condition, spot):
    """Limits of a second or more pass; a spot job waits at least its runtime."""
    check_stopping_condition(condition, spot=spot)


@pytest.mark.parametrize(
    ("condition", "spot", "message"),
    [
        (
            None,
            False,
            (
                "1 validation error detected: Value null at 'stoppingCondition' failed "
                "to satisfy constraint: Member must not be null"
            ),
        ),
        (
            {"MaxRuntimeInSeconds": 0, "MaxWaitTimeInSeconds": 1.5},
            False,
            (
                "2 validation errors detected: Value '0' at "
                "'stoppingCondition.maxRuntimeInSeconds' failed to satisfy "
                "constraint: Member must have value greater than or equal to 1; "
                "Value '1.5' at 'stoppingCondition.maxWaitTimeInSeconds' failed to "
                "satisfy constraint: Member must have value greater than or equal to 1"
            ),
        ),
        (
            {"MaxRuntimeInSeconds": 3600},
            True,
            (
                "Invalid MaxWaitTimeInSeconds. It must be present and be greater than "
                "or equal to MaxRuntimeInSeconds"
            ),
        ),
        (
            {"MaxWaitTimeInSeconds": 3600},
            True,
            (
                "Invalid MaxWaitTimeInSeconds. It must be present and be greater than "
                "or equal to MaxRuntimeInSeconds"
            ),
        ),
    ],
)
def test_stopping_conditions_refused(condition, spot, message):
    """A missing condition, limits under a second, or a short spot wait are refused.

    A spot job with no runtime limit is held to the default of one day.
    """
    assert ("ValidationException", message, 400) == _refusal(
        check_stopping_condition, condition, spot=spot
    )
