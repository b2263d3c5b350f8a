"""HintMode: when push hints are trusted, and what that does to a job's next delay."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagemaker_watch._core.hint_mode import (
    FAILURES_TO_FALL_BACK,
    RELAX_AFTER,
    RETRY_CAP,
    TIGHTEN,
    HintMode,
    HintState,
)


def flowing(**options):
    """A mode whose first receive succeeded at t=0."""
    mode = HintMode(**({"ceiling": 300.0, "silence": 600.0} | options))
    assert HintState.FLOWING == mode.received(hints=0, now=0.0)
    return mode


def test_hints_are_not_trusted_before_a_receive_succeeds():
    """A new mode polls on the schedule; the first success makes hints flow."""
    mode = HintMode(ceiling=300.0, silence=600.0)
    assert (HintState.STARTING, False) == (mode.state, mode.flowing)
    assert 5.0 == mode.delay(5.0)
    assert HintState.FLOWING == mode.received(hints=0, now=1.0)
    assert 300.0 == mode.delay(5.0)
    assert mode.received(hints=2, now=2.0) is None  # no change, nothing to log


def test_the_ceiling_never_shortens_a_longer_delay():
    """While flowing, a delay longer than the ceiling is kept."""
    assert 900.0 == flowing().delay(900.0)


def test_one_failed_receive_is_not_a_fall_back_two_are():
    """A lone failure keeps hints; FAILURES_TO_FALL_BACK in a row fall back."""
    mode = flowing()
    changes = [mode.failed()[0] for _ in range(FAILURES_TO_FALL_BACK)]
    assert [None] * (FAILURES_TO_FALL_BACK - 1) + [HintState.QUEUE_FAILED] == changes
    assert (False, 1) == (mode.flowing, mode.fallbacks)
    assert 5.0 == mode.delay(5.0)
    assert HintState.FLOWING == mode.received(hints=0, now=10.0)
    assert mode.flowing


def test_a_success_between_failures_resets_the_count():
    """Failures must be in a row to fall back."""
    mode = flowing()
    for _ in range(5):
        assert mode.failed()[0] is None
        assert mode.received(hints=0, now=1.0) is None
    assert mode.flowing


def test_retry_waits_double_up_to_the_cap():
    """1, 2, 4, ... seconds between failed receives, never more than RETRY_CAP."""
    mode = flowing()
    waits = [mode.failed()[1] for _ in range(8)]
    assert [1.0, 2.0, 4.0, 8.0, 16.0, RETRY_CAP, RETRY_CAP, RETRY_CAP] == waits


def test_a_missed_change_in_a_busy_queue_is_only_a_lost_event():
    """Hints arrived recently: an unannounced change does not fall back."""
    mode = flowing(silence=60.0)
    mode.received(hints=3, now=100.0)
    assert mode.missed(now=150.0) is None
    assert (True, 1) == (mode.flowing, mode.missed_changes)


def test_a_missed_change_in_a_silent_queue_falls_back_until_a_hint():
    """No hint for `silence` s, and a change went unannounced: the rule is broken."""
    mode = flowing(silence=60.0)
    assert HintState.QUEUE_SILENT == mode.missed(now=61.0)
    assert (False, 1) == (mode.flowing, mode.fallbacks)
    # Receives that succeed but bring nothing do not prove the rule repaired.
    assert mode.received(hints=0, now=80.0) is None
    assert not mode.flowing
    assert mode.missed(now=90.0) is None  # already fallen back: counted only
    assert HintState.FLOWING == mode.received(hints=1, now=100.0)
    assert (True, 2) == (mode.flowing, mode.missed_changes)


def test_failures_while_silent_keep_the_silent_state():
    """A queue both silent and failing stays silent until a hint."""
    mode = flowing(silence=0.0)
    mode.missed(now=1.0)
    for _ in range(3):
        assert mode.failed()[0] is None
    assert HintState.QUEUE_SILENT == mode.state


def test_failing_from_the_start_is_a_queue_failure():
    """A queue that never answers: queue_failed, with no fallback counted."""
    mode = HintMode(ceiling=300.0, silence=600.0)
    mode.failed()
    assert (HintState.QUEUE_FAILED, None) == (mode.failed()[0], None)
    assert 0 == mode.fallbacks


@pytest.mark.parametrize(
    ("ceiling", "silence"), [(-1.0, 1.0), (1.0, math.nan), (math.inf, 1.0)]
)
def test_times_out_of_range_are_refused(ceiling, silence):
    """Negative, NaN or infinite times are a ValueError."""
    with pytest.raises(ValueError, match="seconds"):
        HintMode(ceiling=ceiling, silence=silence)


@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("received"), st.integers(0, 3)),
            st.tuples(st.just("failed"), st.just(0)),
            st.tuples(st.just("missed"), st.just(0)),
        ),
        max_size=40,
    )
)
def test_fallbacks_count_each_exit_from_flowing(steps):
    """Whatever happens, fallbacks == the times the state left FLOWING."""
    mode = HintMode(ceiling=300.0, silence=10.0)
    exits, now = 0, 0.0
    for action, hints in steps:
        now += 7.0
        before = mode.state
        if action == "received":
            mode.received(hints=hints, now=now)
        elif action == "failed":
            mode.failed()
        else:
            mode.missed(now=now)
        exits += before is HintState.FLOWING and mode.state is not HintState.FLOWING
        assert mode.delay(1.0) == (mode.recheck if mode.flowing else 1.0)
        assert 300.0 / 8 <= mode.recheck <= 300.0
    assert exits == mode.fallbacks


def test_rechecks_tighten_after_a_miss_and_relax_as_changes_are_announced():
    """A miss: re-check TIGHTEN times as often; RELAX_AFTER announced: twice as long."""
    mode = flowing(ceiling=3200.0, silence=1e9)
    assert 3200.0 == mode.delay(5.0)
    mode.missed(now=10.0)
    assert 3200.0 / TIGHTEN == mode.delay(5.0)
    grown = [mode.announced() for _ in range(RELAX_AFTER * 4)]
    assert [False] * (RELAX_AFTER - 1) + [True] == grown[:RELAX_AFTER]
    assert 3 == sum(grown)  # 400 -> 800 -> 1600 -> 3200, then no more
    assert 3200.0 == mode.recheck


def test_a_miss_in_the_middle_of_a_run_starts_it_again():
    """Announced changes must come in a row, with no miss between, to relax."""
    mode = flowing(ceiling=800.0, silence=1e9)
    mode.missed(now=1.0)
    for _ in range(RELAX_AFTER - 1):
        assert not mode.announced()
    mode.missed(now=2.0)
    for _ in range(RELAX_AFTER - 1):
        assert not mode.announced()
    assert 100.0 == mode.recheck
