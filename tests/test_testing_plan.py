"""A timeline laid out in simulated time (the kit's Plan), read directly: no service."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagemaker_watch.testing import (
    TIMELINES,
    Phase,
    ProgressScript,
    Timeline,
    plain,
    spot_interrupted_once,
)
from sagemaker_watch.testing._plan import Plan

T0 = 1_700_000_000.0


def _last(plan, t):
    view = plan.state(t).transitions[-1]
    return view.status, view.message


def test_messages_are_rewritten_in_place():
    """A phase's messages share its time and replace each other on one transition."""
    plan = Plan(plain(starting=90, downloading=30, training=60), created=T0)
    assert [
        ("Starting", "Starting the training job"),
        ("Starting", "Launching requested ML instances"),
        ("Starting", "Preparing the instances for training"),
        ("Downloading", "Downloading input data"),
        ("Training", "Downloading the training image"),
        ("Training", "Training image download completed. Training in progress."),
    ] == [_last(plan, T0 + t) for t in (0, 30, 89, 90, 120, 150)]
    assert 1 == len(plan.state(T0 + 89).transitions)


def test_history_entries_end_where_the_next_starts():
    """Closed entries end at the next one's start; the open one has no end."""
    plan = Plan(plain(starting=100, downloading=50), created=T0)
    views = plan.state(T0 + 160).transitions
    assert [
        ("Starting", T0, T0 + 100),
        ("Downloading", T0 + 100, T0 + 150),
        ("Training", T0 + 150, None),
    ] == [(v.status, v.start, v.end) for v in views]
    assert "Preparing the instances for training" == views[0].message


def test_the_primary_status_leads_the_history():
    """With a lead, primary turns Completed before the Completed entry appears."""
    timeline = plain(starting=100, downloading=50, training=300, uploading=30)
    plan = Plan(Timeline(phases=timeline.phases, primary_lead=10), created=T0)
    early = plan.state(T0 + 475)
    assert ("Completed", "Uploading", None) == (
        early.primary,
        early.secondary,
        early.transitions[-1].end,
    )
    late = plan.state(T0 + 480)
    assert ("Completed", "Completed") == (late.primary, late.secondary)
    assert T0 + 470 == plan.terminal_at


def test_completion_details():
    """A completed job has its training window, billed time and whole-second metrics."""
    plan = Plan(
        plain(starting=100, downloading=50, training=300, uploading=30), created=T0
    )
    running = plan.state(T0 + 10)
    assert (None, None, None, None) == (
        running.training_start,
        running.training_end,
        running.training_seconds,
        running.final_metrics,
    )
    done = plan.state(T0 + 1000)
    assert (T0 + 100, T0 + 480, 380, 380) == (
        done.training_start,
        done.training_end,
        done.training_seconds,
        done.billable_seconds,
    )
    assert (
        ("train:loss", 0.0421, T0 + 450),
        ("validation:accuracy", 0.9712, T0 + 450),
    ) == done.final_metrics
    assert done.failure_reason is None


def test_spot_bills_only_the_time_on_instances():
    """A spot job is not billed while starting or interrupted, so it bills less."""
    plan = Plan(spot_interrupted_once(), created=T0)
    done = plan.state(T0 + 100_000)
    assert done.training_seconds is not None
    assert done.billable_seconds is not None
    assert done.training_seconds - 600 - 150 == done.billable_seconds


def test_progress_counts_steps_through_training():
    """ProgressInfo counts steps and epochs through a Training phase only."""
    timeline = Timeline(
        phases=(
            Phase(status="Starting", duration=100),
            Phase(status="Training", duration=1000),
            Phase(status="Uploading", duration=10),
        ),
        progress=ProgressScript(steps_per_epoch=100, max_epoch=10),
    )
    plan = Plan(timeline, created=T0)
    assert [
        None,
        (100, 0, 1, 10),
        (100, 50, 6, 10),
        (100, 99, 6, 10),
        (100, 99, 10, 10),
        None,
    ] == [plan.state(T0 + t).progress for t in (50, 100, 650, 699.9, 1099.99, 1100)]
    quiet = Plan(Timeline(phases=timeline.phases, progress=None), created=T0)
    assert quiet.state(T0 + 650).progress is None


def test_a_phase_names_its_share_of_the_steps_and_its_tail():
    """A Training phase climbs from its first to its last share, then holds."""
    timeline = Timeline(
        phases=(
            Phase(status="Starting", duration=100),
            Phase(
                status="Training",
                duration=600,
                progress=(0.25, 0.75),
                progress_until=500,
            ),
        ),
        progress=ProgressScript(steps_per_epoch=100, max_epoch=4),
    )
    plan = Plan(timeline, created=T0)
    # 400 steps: 100 at the start, +200 over 500 s, then held at 300 for 100 s.
    assert [
        (100, 0, 2, 4),
        (100, 0, 3, 4),
        (100, 0, 4, 4),
        (100, 0, 4, 4),
    ] == [plan.state(T0 + t).progress for t in (100, 350, 600, 699)]


@pytest.mark.parametrize(
    "progress", [(-0.1, 0.5), (0.6, 0.5), (0.0, 1.5)], ids=["below", "back", "above"]
)
def test_a_progress_share_outside_zero_to_one_is_rejected(progress):
    """A phase's progress share must run forward inside [0, 1]."""
    with pytest.raises(ValueError, match="progress"):
        Phase(status="Training", duration=60, progress=progress)


def test_a_user_stop_turns_primary_at_once_and_the_history_later():
    """Stopping shows at once; its entry follows stop_ack later, Stopped after that."""
    timeline = plain()
    stop_at = T0 + 500
    plan = Plan(timeline, created=T0, stop_at=stop_at)
    assert plan.stopped_by_user
    acked = stop_at + timeline.stop_ack
    assert [
        ("InProgress", "Training"),
        ("Stopping", "Training"),
        ("Stopping", "Stopping"),
        ("Stopped", "Stopped"),
    ] == [
        (plan.state(t).primary, plan.state(t).secondary)
        for t in (stop_at - 1, stop_at, acked, acked + timeline.stopping)
    ]
    assert ("Stopped", acked + timeline.stopping) == (
        plan.terminal_status,
        plan.terminal_at,
    )


def test_a_stop_waits_for_a_longer_primary_lead():
    """When the primary lead outlasts stop_ack, the Stopping entry waits for it."""
    timeline = plain(primary_lead=20)
    plan = Plan(timeline, created=T0, stop_at=T0 + 10)
    assert [("Stopping", "Starting"), ("Stopping", "Stopping")] == [
        (plan.state(t).primary, plan.state(t).secondary) for t in (T0 + 29, T0 + 30)
    ]


def test_a_lead_longer_than_the_last_phase_is_cut_to_it():
    """The primary status never leads by more than the last phase lasts."""
    timeline = plain(starting=100, downloading=50, training=300, uploading=30)
    plan = Plan(Timeline(phases=timeline.phases, primary_lead=100), created=T0)
    assert ("InProgress", "Completed") == (
        plan.primary_at(T0 + 449),
        plan.primary_at(T0 + 450),
    )


def test_the_runtime_limit_stops_the_job_exactly_at_the_limit():
    """MaxRuntimeInSeconds counts from TrainingStartTime; Stopped lands on it."""
    plan = Plan(
        plain(starting=100),
        created=T0,
        stopping_condition={"MaxRuntimeInSeconds": 600},
    )
    assert ("Stopped", T0 + 700) == (plan.terminal_status, plan.terminal_at)
    assert "MaxRuntimeExceeded" == plan.state(T0 + 700).secondary
    assert "Stopping" == plan.state(T0 + 700 - plain().stopping).secondary


_NAMES = sorted(TIMELINES)


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(_NAMES),
    times=st.lists(st.floats(min_value=-10, max_value=20_000), min_size=2),
    stop=st.none() | st.floats(min_value=0, max_value=5_000),
)
def test_summary_agrees_with_state_and_history_only_grows(name, times, stop):
    """summary(t) is state(t) in brief, and later states extend earlier histories."""
    plan = Plan(
        TIMELINES[name](), created=T0, stop_at=None if stop is None else T0 + stop
    )
    final = plan.state(T0 + 10**7)
    edges = {plan.terminal_at, *(view.start for view in final.transitions)}
    previous = None
    for t in sorted({*(T0 + dt for dt in times), *edges}):
        state = plan.state(t)
        assert (
            state.primary,
            state.secondary,
            state.last_modified,
            state.training_end,
        ) == plan.summary(t)
        assert state.primary == plan.primary_at(max(t, T0))
        if previous is not None:
            starts = [(v.status, v.start) for v in previous.transitions]
            assert starts == [
                (v.status, v.start) for v in state.transitions[: len(starts)]
            ]
            assert previous.last_modified <= state.last_modified
        previous = state


@pytest.mark.parametrize("name", _NAMES)
def test_every_ready_made_timeline_ends_in_its_terminal_status(name):
    """Long after creation, primary and the last history entry agree on the end."""
    plan = Plan(TIMELINES[name](), created=T0)
    state = plan.state(T0 + 1_000_000)
    assert plan.terminal_status == state.primary
    assert state.transitions[-1].end == state.transitions[-1].start
    assert plan.terminal_at == state.training_end
