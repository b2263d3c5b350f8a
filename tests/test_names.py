"""Tests for job name validation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagemaker_watch._core.names import (
    JOB_NAME_MAX_LENGTH,
    JOB_NAME_PATTERN,
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
