"""Smoke tests for bench/hints.py: its counting, on a few jobs over real HTTP."""

from __future__ import annotations

import math

import pytest
from bench import hints
from bench.populations import HELD_OUT, TUNING
from bench.schedule_sim import Job, draw, record, watch

import sagemaker_watch as sw


def _job(created: float, *starts: float) -> Job:
    return Job(timeline=None, created=created, starts=starts, terminal=starts[-1])  # type: ignore[arg-type]


def test_tally_counts_every_transition_once():
    """Every transition reported once, in order: nothing missing or repeated."""
    expected = [("Starting", 0.0), ("Training", 60.0), ("Completed", 600.0)]
    assert {"missing": 0, "repeated": 0, "exact": True} == hints.tally(
        expected, list(expected)
    )


def test_tally_tells_a_status_that_comes_back_from_a_repeat():
    """A spot job's second Starting is a transition of its own, not a repeat."""
    expected = [("Starting", 0.0), ("Interrupted", 60.0), ("Starting", 120.0)]
    assert {"missing": 0, "repeated": 0, "exact": True} == hints.tally(
        expected, list(expected)
    )


def test_tally_counts_a_lost_and_a_repeated_transition():
    """A transition never reported is missing; one reported twice is repeated."""
    expected = [("Starting", 0.0), ("Training", 60.0), ("Completed", 600.0)]
    seen = [("Starting", 0.0), ("Starting", 0.0), ("Completed", 600.0)]
    assert {"missing": 1, "repeated": 1, "exact": False} == hints.tally(expected, seen)


def test_percentile_is_the_nearest_rank_as_in_section_1():
    """The 95th percentile of 1..20 is 19, of 1..100 is 95; none is NaN."""
    assert 19 == hints.percentile(range(1, 21), 0.95)
    assert 95 == hints.percentile(range(1, 101), 0.95)
    assert math.isnan(hints.percentile([], 0.95))


def test_ideal_describes_counts_first_looks_transitions_and_rechecks():
    """One first look, one describe per transition, a re-check per ceiling gap."""
    # 0 (first look), 100, 1000 (transitions); 400 and 700 re-checks.
    assert 5 == hints.ideal_describes([_job(0.0, 100.0, 1000.0)], 300.0)
    # A gap of exactly two ceilings needs one re-check between its ends.
    assert 3 == hints.ideal_describes([_job(0.0, 600.0)], 300.0)


@pytest.mark.asyncio
async def test_a_poller_that_misses_nothing_counts_every_transition_once():
    """watch() without hints reports each job's transitions once, in order."""
    jobs = [record(t) for t in draw(HELD_OUT, 3, 5)]
    runs = await hints.watch_all(jobs, 5)
    for i, (job, run) in enumerate(zip(jobs, runs, strict=True)):
        assert {"missing": 0, "repeated": 0, "exact": True} == run.counted
        assert 1 == run.ended
        assert len(job.starts) == len(run.transition)
        calls, _, _ = watch(job, sw.PollSchedule(), 5 * 1_000_003 + i)
        assert calls == run.describes
        assert 0 == run.sqs_calls
    figures = hints.row("default", jobs, runs)
    assert sum(len(j.starts) for j in jobs) * figures[
        "describes_per_transition"
    ] == pytest.approx(figures["describes"], abs=0.01 * figures["describes"])
    assert (0, 0, 3) == (figures["missing"], figures["repeated"], figures["jobs_exact"])


def test_a_fixed_poller_sees_every_transition_within_its_interval():
    """A computed 30 s poller misses nothing and is never more than 30 s late."""
    jobs = [record(t) for t in draw(TUNING, 5, 2)]
    figures = hints.fixed_row("fixed 30 s", 30.0, jobs)
    assert 0 <= figures["transition_p50"] <= figures["transition_max"] <= 30.0
    assert figures["terminal_max"] <= 30.0
    transitions = sum(len(job.starts) for job in jobs)
    assert figures["describes"] / transitions == pytest.approx(
        figures["describes_per_transition"], abs=0.01
    )


@pytest.mark.asyncio
async def test_a_hinted_watch_counts_every_transition_once():
    """watch() with hints reports each transition once, with few describes."""
    jobs = [record(t) for t in draw(TUNING, 2, 3)]
    runs = await hints.watch_all(jobs, 3, hints={"ceiling": 3600.0})
    for job, run in zip(jobs, runs, strict=True):
        assert {"missing": 0, "repeated": 0, "exact": True} == run.counted
        assert 1 == run.ended
        assert run.hints is not None
        assert run.hints["flowing"]
        assert run.sqs_calls >= run.hints["receives"] > 0
        assert len(job.starts) + 1 <= run.describes
        assert hints.ideal_describes([job], 3600.0) <= run.describes


@pytest.mark.asyncio
async def test_dropped_and_duplicated_events_are_counted_not_reported():
    """Under 20 % dropped and duplicated events each transition still comes once."""
    jobs = [record(t) for t in draw(HELD_OUT, 2, 4)]
    faults = hints.EVENT_FAULT_SCENARIOS[hints.FAULTS]
    runs = await hints.watch_all(jobs, 4, hints={}, faults=faults)
    figures = hints.row("faults", jobs, runs)
    assert (0, 0, 2) == (figures["missing"], figures["repeated"], figures["jobs_exact"])
    assert figures["transition_max"] <= hints.DEFAULT_CEILING


@pytest.mark.asyncio
async def test_the_fleet_counts_every_transition_and_renders_the_section():
    """Small fleets with hints miss and repeat nothing; section 9 renders."""
    figures = await hints.fleet(20, 300.0, 1, hints=True)
    assert (0, 0) == (figures["missing_older_than_1h"], figures["repeated"])
    assert figures["transitions_seen"] > 0
    assert figures["sqs_calls"] == sum(figures["sqs_requests"].values())
    stats = figures["hint_statistics"]
    assert figures["sqs_requests"]["ReceiveMessage"] == stats["receives"]
    launched = await hints.fleet(20, 300.0, 1, hints=True, backlog=hints.BACKLOG)
    assert (0, 0) == (launched["missing_older_than_1h"], launched["repeated"])
    assert launched["simulated_seconds"] >= 300
    block = await hints.one_job(TUNING, 1, 1, ceilings=[hints.DEFAULT_CEILING])
    result = {
        "meta": {
            "measured_at": "now",
            "commit": "abc",
            "wall_seconds": 1.0,
            "load_before": [0.0, 0.0, 0.0],
            "load_after": [0.0, 0.0, 0.0],
            "cores": 2,
        },
        "quick": True,
        "seed": 1,
        "tuned_ceiling": hints.DEFAULT_CEILING,
        "tuned_ceiling_met_targets": False,
        "one_job": [block],
        "fleet": {
            "duration": 300.0,
            "rows": [figures, launched],
        },
    }
    text = "\n".join(hints.section(result))
    assert text.startswith("## 9. Push hints")
    assert "| FleetWatcher with hints | 20 |" in text
    assert f"| hints, ceiling {hints.DEFAULT_CEILING:g} s |" in text
    assert "**Created at once**" in text
    assert "**Launched over the 4 hours before**" in text
