"""Tests for the status enums and their constant sets."""

from __future__ import annotations

import copy
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagemaker_watch._core.status import (
    INTERRUPTION_STATUSES,
    SECONDARY_OUTCOMES,
    SHORT_PHASES,
    STOP_REASONS,
    TERMINAL_STATUSES,
    PrimaryStatus,
    SecondaryStatus,
)

BOTOCORE_PRIMARY = [
    "InProgress",
    "Completed",
    "Failed",
    "Stopping",
    "Stopped",
    "Deleting",
]
BOTOCORE_SECONDARY = [
    "Starting",
    "LaunchingMLInstances",
    "PreparingTrainingStack",
    "Downloading",
    "DownloadingTrainingImage",
    "Training",
    "Uploading",
    "Stopping",
    "Stopped",
    "MaxRuntimeExceeded",
    "Completed",
    "Failed",
    "Interrupted",
    "MaxWaitTimeExceeded",
    "Updating",
    "Restarting",
    "Pending",
]


def test_primary_values_match_the_service_model():
    """PrimaryStatus lists exactly botocore's TrainingJobStatus values, in order."""
    assert BOTOCORE_PRIMARY == [str(s) for s in PrimaryStatus]


def test_secondary_values_match_the_service_model():
    """SecondaryStatus lists exactly botocore's SecondaryStatus values, in order."""
    assert BOTOCORE_SECONDARY == [str(s) for s in SecondaryStatus]


def test_member_names_are_upper_snake():
    """Member names are the values in UPPER_SNAKE case."""
    assert "LAUNCHING_ML_INSTANCES" == SecondaryStatus.LAUNCHING_ML_INSTANCES.name
    assert "IN_PROGRESS" == PrimaryStatus.IN_PROGRESS.name


def test_known_values_are_the_members():
    """A known value returns the member itself, which says it is known."""
    status = SecondaryStatus("Training")
    assert status is SecondaryStatus.TRAINING
    assert status.is_known


def test_unknown_value_is_carried():
    """An unknown value becomes a pseudo-member that behaves like its string."""
    status = SecondaryStatus("Quantum")
    assert isinstance(status, SecondaryStatus)
    assert "Quantum" == status
    assert "Quantum" == str(status)
    assert "Quantum" == f"{status}"
    assert hash("Quantum") == hash(status)
    assert SecondaryStatus("Quantum") == status
    assert not status.is_known
    assert status not in list(SecondaryStatus)
    assert 17 == len(SecondaryStatus)


def test_unknown_primary_is_not_terminal():
    """An unknown primary status is carried and is not terminal."""
    status = PrimaryStatus("Archived")
    assert "Archived" == status
    assert status not in TERMINAL_STATUSES


def test_member_name_is_not_a_value():
    """A member's name given as a value is an unknown value, not that member."""
    status = SecondaryStatus("TRAINING")
    assert not status.is_known
    assert SecondaryStatus.TRAINING != status


def test_non_strings_are_rejected():
    """Only strings are carried: other types still raise ValueError."""
    with pytest.raises(ValueError, match="not a valid SecondaryStatus"):
        SecondaryStatus(3)  # type: ignore[arg-type]


def test_pseudo_members_survive_copy_and_pickle():
    """Copying or pickling a pseudo-member gives an equal pseudo-member."""
    status = SecondaryStatus("Quantum")
    assert status == copy.copy(status)
    assert status == copy.deepcopy(status)
    assert status == pickle.loads(pickle.dumps(status))  # noqa: S301 - our own data


@settings(max_examples=300, deadline=None)
@given(text=st.text())
def test_any_text_round_trips(text):
    """Any text is accepted, equals and hashes like itself, and is known iff listed."""
    status = SecondaryStatus(text)
    assert text == status
    assert text == str(status)
    assert hash(text) == hash(status)
    assert {text} == {status}
    assert (text in BOTOCORE_SECONDARY) == status.is_known
    assert PrimaryStatus(text) == text


def test_constant_sets():
    """The terminal, short-phase, interruption and stop-reason sets are documented."""
    assert {"Completed", "Failed", "Stopped"} == set(TERMINAL_STATUSES)
    assert {
        "Starting",
        "LaunchingMLInstances",
        "PreparingTrainingStack",
        "Downloading",
        "DownloadingTrainingImage",
        "Uploading",
        "Stopping",
        "Restarting",
        "Pending",
        "Updating",
    } == set(SHORT_PHASES)
    assert {"Interrupted"} == set(INTERRUPTION_STATUSES)
    assert {"Stopped", "MaxRuntimeExceeded", "MaxWaitTimeExceeded"} == set(STOP_REASONS)
    assert isinstance(TERMINAL_STATUSES, frozenset)


def test_outcome_of_terminal_secondary_statuses():
    """Each terminal secondary status implies a terminal primary status."""
    assert {
        "Completed": "Completed",
        "Failed": "Failed",
        "Stopped": "Stopped",
        "MaxRuntimeExceeded": "Stopped",
        "MaxWaitTimeExceeded": "Stopped",
    } == dict(SECONDARY_OUTCOMES)
    assert set(SECONDARY_OUTCOMES.values()) == set(TERMINAL_STATUSES)
    with pytest.raises(TypeError):
        SECONDARY_OUTCOMES[SecondaryStatus.TRAINING] = PrimaryStatus.FAILED  # type: ignore[index]
