"""Smoke tests for bench/logs.py: its counting, both readers, its report."""

from __future__ import annotations

import dataclasses

import pytest
from bench import logs

from sagemaker_watch.testing import LogScript, spot_interrupted_once


def _followed(written, delivered, ended_at):
    """A Followed with *written* ``(stream, ms, message, ingestion ms)`` lines."""
    run = logs.Followed(ended_at=ended_at)
    run.written = list(written)
    run.delivered = list(delivered)
    return run


def test_score_counts_lost_duplicated_and_lines_ingested_after_the_end():
    """Equal lines count as many as written; a line ingested after the end is told."""
    written = [
        ("j/algo-1-1", 1000, "a", 2000),
        ("j/algo-1-1", 1000, "a", 2000),
        ("j/algo-1-1", 3000, "b", 4000),
        ("j/algo-1-1", 5000, "c", 90_000),
    ]
    delivered = [
        ("j/algo-1-1", 1000, "a", 2000, 5.0),
        ("j/algo-1-1", 1000, "a", 2000, 5.0),
        ("j/algo-1-1", 1000, "a", 2000, 15.0),
    ]
    figures = logs.score(_followed(written, delivered, ended_at=60.0))
    assert (2, 1, 1) == (
        figures["lost"],
        figures["lost_after_end"],
        figures["duplicated"],
    )
    assert [3.0, 3.0, 13.0] == figures["delays"]


def test_draws_are_reproducible_and_short_jobs_are_small():
    """The same seed draws the same jobs; --quick draws 1-2 hosts."""
    assert logs.draw(logs.TUNING, 5, 3) == logs.draw(logs.TUNING, 5, 3)
    assert logs.draw(logs.TUNING, 5, 3) != logs.draw(logs.TUNING, 5, 4)
    assert {1, 2} >= {job.hosts for job in logs.draw(logs.HELD_OUT, 8, 1, short=True)}


@pytest.mark.asyncio
async def test_the_sdk_pattern_repeats_a_restarts_first_streams_and_ours_does_not():
    """After a spot restart the SDK pattern prints some lines twice; sw.logs() once.

    Two hosts: the SDK lists ``limit=2`` streams by name first (``algo-1``'s
    two), then all four, so it reads ``algo-1``'s new stream twice.
    """
    timeline = spot_interrupted_once(
        starting=30, downloading=20, training=120, interrupted=60, uploading=20
    )
    job = logs.LogJob(
        name="bench-logs-spot",
        kind="spot_interrupted_once",
        hosts=2,
        timeline=dataclasses.replace(timeline, logs=LogScript(interval=10.0)),
    )
    sdk = await logs.follow_one(job, "sdk", seed=1, faults=False)
    ours = await logs.follow_one(job, "ours", seed=1, faults=False)
    sdk_figures, ours_figures = logs.score(sdk), logs.score(ours)
    assert sdk_figures["duplicated"] > 0
    assert (0, 0) == (ours_figures["lost"], ours_figures["duplicated"])
    assert sdk.calls["DescribeLogStreams"] > ours.calls["DescribeLogStreams"]


@pytest.mark.asyncio
async def test_both_readers_under_faults_and_the_section_renders(tmp_path):
    """A short job under faults, each reader; section 10 renders and replaces itself."""
    job = logs.draw(logs.TUNING, 1, 1, short=True)[0]
    runs = {
        reader: await logs.follow_one(job, reader, seed=7) for reader in ("sdk", "ours")
    }
    rows = [
        logs.row("SDK logs_for_job pattern", [job], [runs["sdk"]]),
        {**logs.row("sw.logs() (defaults)", [job], [runs["ours"]]), "settings": {}},
    ]
    assert 0 == rows[1]["duplicated"]
    assert rows[0]["written"] == rows[1]["written"] > 0
    assert rows[0]["calls_per_job_minute"] > rows[1]["calls_per_job_minute"] > 0
    block = {
        "population": "tuning",
        "seed": 1,
        "kinds": {job.kind: 1},
        "hosts": {"1": 1},
        "rows": rows,
    }
    rates = {
        "requests_per_second": 1.0,
        "peak_10s": 2.0,
        "peak_60s": 1.5,
        "simulated_seconds": 600.0,
    }
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
        "command": "python -m nox -s bench_logs -- --quick",
        "faults": {"throttle": 0.05, "server_error": 0.03, "expire_every": 600.0},
        "tuned": {},
        "populations": [block, {**block, "population": "held-out"}],
        "at_once": {"jobs": 1, "rows": [{**r, **rates} for r in rows]},
    }
    text = "\n".join(logs.section(result))
    assert text.startswith(logs.HEADING)
    assert "| SDK logs_for_job pattern | 1 |" in text
    assert "| sw.logs() (defaults) | 1 |" in text
    assert "`python -m nox -s bench_logs -- --quick`" in text
    path = tmp_path / "BENCHMARKS.md"
    path.write_text(
        "# Benchmarks\n\n## 9. Before\n\ntext\n\n"
        + logs.HEADING
        + "\n\nSTALE SECTION\n"
    )
    logs.write_section(result, path)
    written = path.read_text()
    assert written.startswith("# Benchmarks\n\n## 9. Before\n\ntext\n\n" + logs.HEADING)
    assert "STALE SECTION" not in written
    assert 1 == written.count(logs.HEADING)
