"""Tests for the pure log reader: every line once, in order, resumable, drained."""

from __future__ import annotations

import base64
import collections
import dataclasses
import datetime as dt
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagemaker_watch._core.log_reader import (
    DRAIN_EMPTY,
    LogLine,
    LogReader,
    LogReaderStatistics,
    RawLogEvent,
    StreamRead,
)
from sagemaker_watch._errors import InvalidResumeToken

JOB = "my-job"
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
STREAM_1 = f"{JOB}/algo-1-1700000000"
STREAM_2 = f"{JOB}/algo-2-1700000000"
RESTART = f"{JOB}/algo-1-1700000600"
#: A forward token as the service writes them (shortened).
F1 = "f/1"


def _event(timestamp, message="line", ingestion_time=None):
    """A GetLogEvents event as the source parses it."""
    return RawLogEvent(
        timestamp=timestamp,
        ingestion_time=timestamp + 500 if ingestion_time is None else ingestion_time,
        message=message,
    )


def _ms(moment):
    """*moment* as epoch milliseconds."""
    return (moment - EPOCH) // dt.timedelta(milliseconds=1)


def _reader_with(*streams, now=0.0, **options):
    """A reader that listed *streams* at *now*."""
    reader = LogReader(JOB, **options)
    reader.streams_listed(list(streams), now=now)
    return reader


def _due(reader):
    """The next read's due time and request (a stream must be known)."""
    upcoming = reader.next_read()
    assert upcoming is not None
    return upcoming


# --- the values --------------------------------------------------------------


def test_log_line_to_json_has_its_keys_in_order():
    """A line's JSON form names the event and gives times as ISO 8601 UTC."""
    line = LogLine(
        job_name=JOB,
        stream=STREAM_1,
        host="algo-1",
        timestamp=EPOCH + dt.timedelta(milliseconds=1_700_000_000_123),
        ingested_at=EPOCH + dt.timedelta(milliseconds=1_700_000_000_456),
        message="epoch 1 loss=0.5",
    )
    expected = {
        "event": "log_line",
        "job_name": JOB,
        "stream": STREAM_1,
        "host": "algo-1",
        "timestamp": "2023-11-14T22:13:20.123000Z",
        "ingested_at": "2023-11-14T22:13:20.456000Z",
        "message": "epoch 1 loss=0.5",
    }
    assert list(expected.items()) == list(line.to_json().items())


def test_lines_carry_host_stream_and_times():
    """A delivered line names its stream, its host and both of its times in UTC."""
    reader = _reader_with(STREAM_1)
    _, request = _due(reader)
    reader.read(
        request, [_event(1_700_000_000_123, "hello", 1_700_000_001_000)], "f/1", now=0.0
    )
    expected = [
        LogLine(
            job_name=JOB,
            stream=STREAM_1,
            host="algo-1",
            timestamp=dt.datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=dt.UTC),
            ingested_at=dt.datetime(2023, 11, 14, 22, 13, 21, tzinfo=dt.UTC),
            message="hello",
        )
    ]
    assert expected == reader.take(now=10.0)


@pytest.mark.parametrize(
    ("stream", "host"),
    [
        (f"{JOB}/algo-1-1700000000", "algo-1"),
        (f"{JOB}/algo-12-1700000000", "algo-12"),
        (f"{JOB}/algo-1", "algo-1"),
        (f"{JOB}/custom", "custom"),
    ],
)
def test_host_is_the_stream_name_without_job_and_epoch(stream, host):
    """The host is the part after ``JOB/``, without the container start's epoch."""
    reader = _reader_with(stream)
    _, request = _due(reader)
    reader.read(request, [_event(1000)], "f/1", now=0.0)
    assert [host] == [line.host for line in reader.take(now=0.0, flush=True)]


def test_a_timestamp_out_of_range_is_clamped_not_a_crash():
    """A hostile timestamp far past year 9999 still gives a line."""
    reader = _reader_with(STREAM_1)
    _, request = _due(reader)
    reader.read(request, [_event(10**18, "x", 10**18)], "f/1", now=0.0)
    (line,) = reader.take(now=0.0, flush=True)
    assert dt.datetime.max.replace(tzinfo=dt.UTC) == line.timestamp


def test_bad_options_are_refused():
    """Negative or inverted timings raise ValueError."""
    for options in (
        {"window": -1.0},
        {"active": 0.0},
        {"idle": 1.0, "active": 5.0},
        {"rediscover": (10.0, 5.0)},
        {"window": math.nan},
        {"limit": 0},
    ):
        with pytest.raises(ValueError, match="LogReader"):
            LogReader(JOB, **options)


# --- discovery ---------------------------------------------------------------


def test_the_first_listing_is_due_at_once():
    """A new reader lists at once and knows no stream to read."""
    reader = LogReader(JOB)
    assert reader.listing_due() <= 0.0
    assert reader.next_read() is None


def test_listing_backs_off_while_nothing_new_appears():
    """Listings that find nothing new come 10, 20, 40... then 300 s apart."""
    reader = LogReader(JOB)
    now = 0.0
    reader.streams_listed([STREAM_1], now=now)
    gaps = []
    for _ in range(8):
        gaps.append(reader.listing_due() - now)
        now = reader.listing_due()
        reader.streams_listed([STREAM_1], now=now)
    assert [10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0, 300.0] == gaps


def test_a_new_stream_brings_the_next_listing_sooner():
    """A listing that finds a new stream resets the interval to its minimum."""
    reader = LogReader(JOB)
    for now in (0.0, 10.0, 30.0, 70.0):
        reader.streams_listed([STREAM_1], now=now)
    reader.streams_listed([STREAM_1, STREAM_2], now=150.0)
    assert 160.0 == reader.listing_due()


def test_a_failed_listing_is_retried_with_the_same_backoff():
    """A failed listing is due again after the current interval, which doubles."""
    reader = LogReader(JOB)
    reader.listing_failed(now=0.0)
    assert 10.0 == reader.listing_due()
    reader.listing_failed(now=10.0)
    assert 30.0 == reader.listing_due()


def test_a_status_change_brings_a_listing_now():
    """A secondary status change (a restart may open streams) lists at once."""
    reader = LogReader(JOB)
    for now in (0.0, 10.0, 30.0):
        reader.streams_listed([STREAM_1], now=now)
    reader.status_changed(now=45.0)
    assert 45.0 == reader.listing_due()
    reader.streams_listed([STREAM_1], now=45.0)
    assert 55.0 == reader.listing_due()


def test_streams_are_never_listed_away_and_others_are_ignored():
    """A stream missing from a later listing stays; another job's stream is ignored."""
    reader = _reader_with(STREAM_1, f"{JOB}-2/algo-1-1700000000")
    reader.streams_listed([], now=10.0)
    assert 1 == reader.statistics().streams
    assert STREAM_1 == _due(reader)[1].stream


def test_a_new_stream_after_a_restart_is_read_from_its_head():
    """A stream found by a later listing is read from its head, at once."""
    reader = _reader_with(STREAM_1)
    _, request = _due(reader)
    reader.read(request, [_event(1000)], "f/1", now=0.0)
    reader.streams_listed([STREAM_1, RESTART], now=3.0)
    expected = (3.0, StreamRead(stream=RESTART, token=None, start_time=None))
    assert expected == reader.next_read()


# --- the read schedule -------------------------------------------------------


def test_a_new_stream_is_read_from_its_head_at_once():
    """The first read of a listed stream is by start time from its head, now."""
    reader = _reader_with(STREAM_1, now=7.0)
    assert (7.0, StreamRead(stream=STREAM_1, token=None, start_time=None)) == (
        reader.next_read()
    )


def test_an_active_stream_is_read_every_active_seconds():
    """After a page with lines that was not full, the next read is `active` s later."""
    reader = _reader_with(STREAM_1, active=5.0)
    _, request = _due(reader)
    reader.read(request, [_event(1000)], "f/1", now=0.0)
    assert (5.0, StreamRead(stream=STREAM_1, token=F1, start_time=None)) == (
        reader.next_read()
    )


def test_a_full_page_is_followed_at_once():
    """A page of `limit` events (more may follow) is followed by a read at once."""
    reader = _reader_with(STREAM_1, limit=3)
    _, request = _due(reader)
    reader.read(request, [_event(1000), _event(1001), _event(1002)], "f/1", now=2.0)
    assert (2.0, StreamRead(stream=STREAM_1, token=F1, start_time=None)) == (
        reader.next_read()
    )


def test_a_page_near_a_megabyte_is_full():
    """A page whose events come near GetLogEvents' 1 MB answer is full."""
    reader = _reader_with(STREAM_1)
    _, request = _due(reader)
    reader.read(request, [_event(1000, "x" * 900_000)], "f/1", now=2.0)
    assert 2.0 == _due(reader)[0]


def test_an_empty_page_with_a_new_token_is_followed_at_once():
    """An empty page whose token moved may hide more events: read again at once."""
    reader = _reader_with(STREAM_1)
    _, request = _due(reader)
    reader.read(request, [], "f/1", now=2.0)
    assert (2.0, StreamRead(stream=STREAM_1, token=F1, start_time=None)) == (
        reader.next_read()
    )
    assert 0 == reader.statistics().empty_reads


def test_idle_streams_back_off_to_idle():
    """Empty reads (the same token back) double the interval up to `idle`."""
    reader = _reader_with(STREAM_1, active=5.0, idle=60.0)
    _, request = _due(reader)
    reader.read(request, [_event(1000)], "f/1", now=0.0)
    gaps = []
    now = 0.0
    for _ in range(6):
        due, request = _due(reader)
        gaps.append(due - now)
        now = due
        reader.read(request, [], request.token, now=now)
    assert [5.0, 10.0, 20.0, 40.0, 60.0, 60.0] == gaps
    reader.read(_due(reader)[1], [_event(2000)], "f/2", now=200.0)
    assert 205.0 == _due(reader)[0]


def test_the_earliest_due_stream_is_read_first():
    """next_read gives the stream due first."""
    reader = _reader_with(STREAM_1, STREAM_2)
    _, first = _due(reader)
    reader.read(first, [_event(1000)], "f/1", now=1.0)
    assert STREAM_1 != _due(reader)[1].stream


def test_a_failed_read_is_retried_later():
    """A transient failure retries that stream after a backoff, not at once."""
    reader = _reader_with(STREAM_1, active=5.0)
    _, request = _due(reader)
    reader.read_failed(request, now=1.0)
    assert (6.0, request) == reader.next_read()
    reader.read_failed(request, now=6.0)
    assert (16.0, request) == reader.next_read()


def test_a_missing_stream_is_retried_later():
    """A stream not found (yet) is read again after a backoff."""
    reader = _reader_with(STREAM_1, active=5.0)
    _, request = _due(reader)
    reader.stream_missing(request, now=1.0)
    assert (6.0, request) == reader.next_read()


def test_a_rejected_token_restarts_by_start_time_without_repeats():
    """After a rejected token, lines already read at that millisecond are skipped."""
    reader = _reader_with(STREAM_1)
    _, request = _due(reader)
    reader.read(request, [_event(1000, "a"), _event(2000, "b")], "f/1", now=0.0)
    _, request = _due(reader)
    reader.token_rejected(request, now=5.0)
    restart = StreamRead(stream=STREAM_1, token=None, start_time=2000)
    assert (5.0, restart) == reader.next_read()
    reader.read(restart, [_event(2000, "b"), _event(2000, "c")], "f/2", now=5.0)
    expected = ["a", "b", "c"]
    assert expected == [line.message for line in reader.take(now=0.0, flush=True)]
    assert 1 == reader.statistics().token_restarts
    assert 1 == reader.statistics().duplicates


def test_a_second_rejection_restarts_where_the_first_did():
    """A token refused before its chain read a line restarts where the chain began."""
    reader = _reader_with(STREAM_1)
    _, request = _due(reader)
    reader.read(request, [_event(1000, "a"), _event(2000, "b")], F1, now=0.0)
    reader.token_rejected(_due(reader)[1], now=5.0)
    _, restart = _due(reader)
    reader.read(restart, [], "f/2", now=5.0)
    reader.token_rejected(_due(reader)[1], now=5.0)
    assert (5.0, restart) == reader.next_read()


def test_a_missing_next_token_restarts_by_start_time():
    """An answer without a forward token is continued by start time."""
    reader = _reader_with(STREAM_1)
    _, request = _due(reader)
    reader.read(request, [_event(1000), _event(3000)], None, now=0.0)
    assert StreamRead(stream=STREAM_1, token=None, start_time=3000) == (_due(reader)[1])


def test_a_stale_answer_changes_nothing():
    """An answer to a request that is no longer the stream's next is dropped."""
    reader = _reader_with(STREAM_1)
    _, first = _due(reader)
    reader.read(first, [_event(1000)], "f/1", now=0.0)
    _, second = _due(reader)
    reader.read(first, [_event(1000), _event(2000)], "f/9", now=1.0)
    assert (5.0, second) == reader.next_read()
    assert ["line"] == [line.message for line in reader.take(now=0.0, flush=True)]


def test_equal_lines_at_one_millisecond_stay_two_lines():
    """Two identical lines at the same millisecond are both delivered."""
    reader = _reader_with(STREAM_1)
    _, request = _due(reader)
    reader.read(request, [_event(1000, "x"), _event(1000, "x")], "f/1", now=0.0)
    assert 2 == len(reader.take(now=0.0, flush=True))


def test_equal_lines_split_across_pages_stay_two_lines():
    """Identical lines cut apart by a page boundary are both delivered."""
    reader = _reader_with(STREAM_1)
    _, request = _due(reader)
    reader.read(request, [_event(1000, "x")], "f/1", now=0.0)
    _, request = _due(reader)
    reader.read(request, [_event(1000, "x")], "f/2", now=5.0)
    assert 2 == len(reader.take(now=0.0, flush=True))


# --- the merge ---------------------------------------------------------------


def test_lines_are_held_for_the_window_then_merged_by_timestamp():
    """Lines of two streams read within the window come out in timestamp order."""
    reader = _reader_with(STREAM_1, STREAM_2, window=2.0)
    _, first = _due(reader)
    reader.read(first, [_event(3000, "late host")], "f/1", now=0.0)
    assert [] == reader.take(now=1.0)
    assert 2.0 == reader.next_release()
    _, second = _due(reader)
    reader.read(second, [_event(1000, "early host")], "f/1", now=1.5)
    assert [] == reader.take(now=3.4)
    released = [line.message for line in reader.take(now=3.5)]
    assert ["early host", "late host"] == released
    assert reader.next_release() is None


def test_a_line_read_after_a_later_one_went_out_is_released_anyway():
    """A line older than one already released still goes out, once."""
    reader = _reader_with(STREAM_1, STREAM_2, window=2.0)
    _, first = _due(reader)
    reader.read(first, [_event(3000, "later")], "f/1", now=0.0)
    assert ["later"] == [line.message for line in reader.take(now=2.0)]
    _, second = _due(reader)
    reader.read(second, [_event(1000, "earlier")], "f/1", now=2.5)
    assert ["earlier"] == [line.message for line in reader.take(now=4.5)]


def test_flush_releases_everything_in_order():
    """take(flush=True) releases every buffered line, merged by timestamp."""
    reader = _reader_with(STREAM_1, STREAM_2)
    _, first = _due(reader)
    reader.read(first, [_event(2000, "b"), _event(4000, "d")], "f/1", now=0.0)
    _, second = _due(reader)
    reader.read(second, [_event(1000, "a"), _event(3000, "c")], "f/1", now=0.0)
    messages = [line.message for line in reader.take(now=0.0, flush=True)]
    assert ["a", "b", "c", "d"] == messages


# --- the drain ---------------------------------------------------------------


def _answer_until_finished(reader, lines, now):
    """Serve *lines* (stream -> sorted timestamps) to the reader until it finishes."""
    taken = []
    for _ in range(200):
        if reader.finished():
            return taken, now
        if reader.listing_due() <= now:
            reader.streams_listed(list(lines), now=now)
            continue
        upcoming = reader.next_read()
        release = reader.next_release()
        times = [t for t in (reader.listing_due(), release) if t is not None]
        if upcoming is not None:
            times.append(upcoming[0])
        now = max(now, min(times))
        taken += reader.take(now=now)
        if upcoming is not None and upcoming[0] <= now:
            request = upcoming[1]
            events = [
                _event(t)
                for t in lines[request.stream]
                if request.start_time is None or t >= request.start_time
            ]
            if request.token is not None:
                events = []
            token = "f/end" if request.token is None else request.token
            reader.read(request, events, token, now=now)
    msg = "the reader did not finish"
    raise AssertionError(msg)


def test_the_drain_needs_the_end_a_listing_and_empty_reads():
    """finished() waits for job_ended, a listing after it and DRAIN_EMPTY empties."""
    reader = _reader_with(STREAM_1)
    _, request = _due(reader)
    reader.read(request, [_event(1000)], "f/1", now=0.0)
    assert not reader.finished()
    reader.job_ended(now=1.0)
    assert 1.0 == reader.listing_due()
    assert (1.0, StreamRead(stream=STREAM_1, token=F1, start_time=None)) == (
        reader.next_read()
    )
    assert not reader.finished()
    taken, now = _answer_until_finished(reader, {STREAM_1: [1000]}, 1.0)
    assert [] == [line for line in taken if line.message != "line"]
    assert reader.finished()
    assert reader.next_read() is None
    assert DRAIN_EMPTY <= reader.statistics().empty_reads
    assert 2 <= reader.statistics().listings
    assert now >= 1.0 + 5.0 * (DRAIN_EMPTY - 1)


def test_the_drain_rereads_from_the_head_and_finds_late_lines():
    """A line ingested late behind the token's position is found by the drain."""
    reader = _reader_with(STREAM_1)
    _, request = _due(reader)
    reader.read(request, [_event(2000)], "f/1", now=0.0)
    reader.job_ended(now=1.0)
    taken, _ = _answer_until_finished(reader, {STREAM_1: [1000, 2000]}, 1.0)
    assert [1000, 2000] == sorted(_ms(line.timestamp) for line in taken)
    assert 2 == reader.statistics().lines
    assert 1 == reader.statistics().duplicates


def test_not_finished_while_lines_are_buffered():
    """A drained reader with lines still held is not finished until they are taken."""
    reader = _reader_with(STREAM_1)
    reader.job_ended(now=0.0)
    reader.streams_listed([STREAM_1], now=0.0)
    now = 0.0
    for _ in range(20):
        upcoming = reader.next_read()
        if upcoming is None:
            break
        now = max(now, upcoming[0])
        request = upcoming[1]
        if request.token is None:
            reader.read(request, [_event(1000)], "f/1", now=now)
        else:
            reader.read(request, [], request.token, now=now)
    assert reader.next_read() is None
    assert not reader.finished()
    assert 1 == len(reader.take(now=0.0, flush=True))
    assert reader.finished()


def test_a_stream_that_vanished_in_the_drain_does_not_block_it():
    """A stream not found during the drain counts as drained."""
    reader = _reader_with(STREAM_1)
    reader.job_ended(now=0.0)
    reader.streams_listed([STREAM_1], now=0.0)
    now = 0.0
    for _ in range(10):
        upcoming = reader.next_read()
        if upcoming is None:
            break
        now = max(now, upcoming[0])
        reader.stream_missing(upcoming[1], now=now)
    assert reader.finished()


def test_a_job_with_no_streams_finishes_after_one_listing():
    """A job that wrote no log finishes once a listing after its end found nothing."""
    reader = LogReader(JOB)
    reader.job_ended(now=0.0)
    assert not reader.finished()
    reader.streams_listed([], now=0.0)
    assert reader.finished()


def test_the_lines_so_far_of_a_stream_still_written_end_at_the_cut():
    """Read once to a cut, a stream that never comes back empty is still done."""
    reader = _reader_with(STREAM_1)
    reader.job_ended(now=0.0, ended_ago=math.inf, cut=10_000)
    now, written = 0.0, 0
    while not reader.finished() and now < 600.0:
        due = reader.next_read()
        if due is None:
            reader.streams_listed([STREAM_1], now=now)
            continue
        now = max(now, due[0])
        # Each read finds a second more of lines: the job writes on.
        events = [_event(1000 * written + ms) for ms in range(0, 1000, 250)]
        written += 1
        reader.read(due[1], events, f"f/{written}", now=now)
        reader.take(now=now + 60.0)
        now += 1.0
    assert reader.finished()
    assert written <= 12


def test_a_listing_sent_before_the_end_is_not_the_listing_after_it():
    """A listing in flight when the end is told may miss a stream opened at the end."""
    reader = LogReader(JOB)
    reader.job_ended(now=10.0)
    reader.streams_listed([], now=11.0, sent=9.0)
    assert not reader.finished()
    assert 11.0 == reader.listing_due()
    reader.streams_listed([], now=12.0, sent=11.0)
    assert reader.finished()


# --- statistics and the resume token -----------------------------------------


def test_statistics_count_what_happened():
    """Reads, empty reads, lines, duplicates and listings are counted."""
    reader = _reader_with(STREAM_1)
    _, request = _due(reader)
    reader.read(request, [_event(1000), _event(2000)], "f/1", now=0.0)
    _, request = _due(reader)
    reader.read(request, [], "f/1", now=5.0)
    reader.take(now=0.0, flush=True)
    expected = LogReaderStatistics(
        streams=1,
        lines=2,
        duplicates=0,
        token_restarts=0,
        reads=2,
        empty_reads=1,
        listings=1,
    )
    assert expected == reader.statistics()
    assert "LogReader(job_name='my-job'" in repr(reader)


def test_a_resumed_reader_reads_from_the_last_delivered_millisecond():
    """The token restarts each stream by start time, skipping what was delivered."""
    reader = _reader_with(STREAM_1, STREAM_2)
    _, request = _due(reader)
    reader.read(request, [_event(1000, "a"), _event(2000, "b")], "f/1", now=0.0)
    reader.take(now=0.0, flush=True)
    resumed = LogReader(JOB, resume=reader.resume_token)
    _, first = _due(resumed)
    assert StreamRead(stream=STREAM_1, token=None, start_time=2000) == first
    resumed.stream_missing(first, now=0.0)
    assert (
        StreamRead(stream=STREAM_2, token=None, start_time=None) == (_due(resumed)[1])
    )
    restart = StreamRead(stream=STREAM_1, token=None, start_time=2000)
    resumed = LogReader(JOB, resume=reader.resume_token)
    resumed.read(restart, [_event(2000, "b"), _event(2000, "c")], "f/2", now=0.0)
    assert ["c"] == [line.message for line in resumed.take(now=0.0, flush=True)]


def test_a_token_taken_while_a_late_line_is_held_keeps_it():
    """A late line held below what was delivered is read again after a resume."""
    reader = _reader_with(STREAM_1)
    _, request = _due(reader)
    reader.read(request, [_event(2000, "a")], F1, now=0.0)
    reader.take(now=0.0, flush=True)
    reader.job_ended(now=1.0)
    reader.streams_listed([STREAM_1], now=1.0)
    for now in (1.0, 6.0):
        _, request = _due(reader)
        reader.read(request, [], request.token, now=now)
    _, request = _due(reader)
    assert StreamRead(stream=STREAM_1, token=None, start_time=None) == request
    reader.read(request, [_event(1000, "late"), _event(2000, "a")], "f/3", now=6.0)
    resumed = LogReader(JOB, resume=reader.resume_token)
    _, request = _due(resumed)
    assert 1000 == request.start_time
    resumed.read(request, [_event(1000, "late"), _event(2000, "a")], "f/4", now=0.0)
    assert ["late"] == [line.message for line in resumed.take(now=0.0, flush=True)]


def test_a_token_before_lines_not_handed_out_yet_gives_them_again():
    """Lines taken but still queued by the driver are delivered after a resume."""
    reader = _reader_with(STREAM_1, STREAM_2)
    _, request = _due(reader)
    reader.read(request, [_event(1000, "a"), _event(2000, "b")], F1, now=0.0)
    _, request = _due(reader)
    reader.read(request, [_event(1500, "c"), _event(2000, "d")], F1, now=0.0)
    first, *queued = reader.take(now=0.0, flush=True)
    assert ["a", "c", "b", "d"] == [first.message] + [q.message for q in queued]
    resumed = LogReader(JOB, resume=reader.resume_token_before(queued))
    requests = []
    while (upcoming := resumed.next_read()) is not None and len(requests) < 2:
        requests.append(upcoming[1])
        resumed.stream_missing(upcoming[1], now=0.0)
    expected = [
        StreamRead(stream=STREAM_1, token=None, start_time=2000),
        StreamRead(stream=STREAM_2, token=None, start_time=1500),
    ]
    assert expected == requests
    resumed = LogReader(JOB, resume=reader.resume_token_before(queued))
    _, restart = _due(resumed)
    resumed.read(restart, [_event(2000, "b")], "f/2", now=0.0)
    assert ["b"] == [line.message for line in resumed.take(now=0.0, flush=True)]
    assert reader.resume_token_before([]) == reader.resume_token
    stranger = dataclasses.replace(first, message="not read here")
    assert reader.resume_token == reader.resume_token_before([stranger])


def test_the_drain_waits_for_lines_ingested_after_the_end():
    """With drain=, the pass for late lines starts no sooner than that after the end."""
    reader = _reader_with(STREAM_1, drain=60.0)
    _, request = _due(reader)
    reader.read(request, [_event(1000)], F1, now=0.0)
    reader.job_ended(now=10.0)
    reader.streams_listed([STREAM_1], now=10.0)
    starts = []
    for _ in range(20):
        upcoming = reader.next_read()
        if upcoming is None:
            break
        now, request = upcoming
        if request.token is None:
            starts.append(now)
            reader.read(request, [_event(1000)], "f/2", now=now)
        else:
            reader.read(request, [], request.token, now=now)
    assert [70.0] == starts
    assert reader.next_read() is None


def test_the_resume_token_is_versioned_compact_json_without_messages():
    """The token is URL-safe base 64 of compact JSON that quotes no message."""
    reader = _reader_with(STREAM_1)
    _, request = _due(reader)
    reader.read(request, [_event(1000, "secret=hunter2")], "f/1", now=0.0)
    reader.take(now=0.0, flush=True)
    token = reader.resume_token
    text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    assert "hunter2" not in text
    assert " " not in text
    assert 1 == json.loads(text)["v"]


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not base64!",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(b'{"v": 99}').decode(),
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(b'{"v":1,"j":"abcd","s":[[1,2,3]]}').decode(),
        "2.abcd.1.abcdefgh.1..C..0",
    ],
)
def test_a_bad_resume_token_is_refused(token):
    """Anything that is not a log reader's token raises InvalidResumeToken."""
    with pytest.raises(InvalidResumeToken):
        LogReader(JOB, resume=token)


def test_another_jobs_resume_token_is_refused():
    """A token written for another job raises InvalidResumeToken."""
    token = LogReader("other-job").resume_token
    with pytest.raises(InvalidResumeToken, match="another job"):
        LogReader(JOB, resume=token)


# --- properties --------------------------------------------------------------

STREAMS = [f"{JOB}/algo-{n}-1700000000" for n in (1, 2)] + [RESTART]


@dataclasses.dataclass(frozen=True)
class Written:
    """A line as a host wrote it, with when CloudWatch Logs ingests it."""

    stream: str
    timestamp: int
    ingestion_time: int
    message: str
    index: int


class Service:
    """A model of GetLogEvents and DescribeLogStreams over the written lines.

    Events come sorted by timestamp then arrival (ingestion time, then write
    order); a forward token is the position of the last event returned, so a
    line ingested late behind it is not returned to it, only to a read by start
    time; at the end of a stream the token comes back as sent.
    """

    def __init__(self, lines, created):
        self.lines = {
            stream: sorted(
                (line for line in lines if line.stream == stream), key=self.position
            )
            for stream in created
        }
        self.created = created
        self.tokens = {}
        #: When the reader was first handed each line (by index).
        self.answers = {}

    @staticmethod
    def position(line):
        """Where a line sits in its stream."""
        return (line.timestamp, line.ingestion_time, line.index)

    def listing(self, now):
        """The streams created by *now*."""
        return [name for name, at in self.created.items() if at <= now]

    def get(self, request, now, limit):
        """GetLogEvents: up to *limit* visible events after the request's position."""
        visible = [
            line
            for line in self.lines[request.stream]
            if line.ingestion_time <= now * 1000
        ]
        if request.token is not None:
            _, after = self.tokens[request.token]
        elif request.start_time is not None:
            after = (request.start_time, -1, -1)
        else:
            after = (-1, -1, -1)
        page = [line for line in visible if self.position(line) > after][:limit]
        if not page and request.token is not None:
            token = request.token
        else:
            token = f"f/{len(self.tokens):056d}"
            self.tokens[token] = (
                request.stream,
                self.position(page[-1]) if page else after,
            )
        events = [
            RawLogEvent(
                timestamp=line.timestamp,
                ingestion_time=line.ingestion_time,
                message=line.message,
            )
            for line in page
        ]
        return events, token, page


@st.composite
def _jobs(draw, *, late=True, distinct=False):
    """Streams and the lines their hosts write; equal timestamps and lines occur."""
    streams = draw(st.lists(st.sampled_from(STREAMS), min_size=1, unique=True))
    lines = []
    created = {}
    for stream in streams:
        count = draw(st.integers(0, 12))
        stamps = sorted(
            draw(st.lists(st.integers(0, 40), min_size=count, max_size=count))
        )
        created[stream] = draw(st.integers(0, 20)) / 2.0
        ingested = 0
        for stamp in stamps:
            timestamp = 1_000 * stamp // 2 + 100_000
            delay = draw(st.integers(0, 3_000))
            if late and draw(st.integers(0, 9)) == 0:
                delay += draw(st.integers(5_000, 60_000))
            ingestion = timestamp + delay
            if not late:
                ingestion = ingested = max(ingested, ingestion)
            message = draw(st.sampled_from(["x", "y", "step 3 loss=0.5"]))
            index = len(lines)
            if distinct:
                message = f"{message} #{index}"
            lines.append(Written(stream, timestamp, ingestion, message, index))
            created[stream] = min(created[stream], timestamp / 1000)
    last = max([line.ingestion_time for line in lines] + [0]) / 1000
    end = max(last, *created.values()) + draw(st.integers(0, 30))
    return lines, created, end


def _key(line):
    """What tells delivered lines apart from each other (equal lines count twice)."""
    return (line.stream, _ms(line.timestamp), _ms(line.ingested_at), line.message)


class Driver:
    """The driver's loop, with faults drawn by Hypothesis at every call."""

    def __init__(self, data, service, end, *, resume=False, faults=True, drain=0.0):
        self.data = data
        self.service = service
        self.end = end
        self.resume = resume
        self.faults = faults
        self.options = {"window": 2.0, "active": 5.0, "idle": 60.0, "drain": drain}
        self.reader = LogReader(JOB, **self.options)
        self.now = 0.0
        self.ended = False
        self.listed_after_end = False
        self.delivered = []
        self.queue = []
        self.released_at = []
        self.empties_after_end = collections.defaultdict(list)
        self.ended_at = math.inf
        self.read_times = collections.defaultdict(list)

    def fault(self, weight):
        """Whether to inject a fault this time (about one time in *weight*).

        The simplest draw (0) is no fault, so examples shrink towards none.
        """
        return self.faults and self.data.draw(st.integers(0, weight - 1)) == 1

    def take(self, *, flush=False):
        """Take what the reader releases, noting when."""
        lines = self.reader.take(now=self.now, flush=flush)
        self.released_at += [self.now] * len(lines)
        if not self.resume:
            self.delivered += lines
            return
        # Taken in a batch, handed out a few at a time (a resume loses the rest).
        self.queue += lines
        handed = self.data.draw(st.integers(0, len(self.queue)))
        self.delivered += self.queue[:handed]
        del self.queue[:handed]

    def run(self):
        """Run until the reader finishes; return the lines delivered."""
        for _ in range(3_000):
            if not self.ended and self.now >= self.end:
                self.reader.job_ended(now=self.now)
                self.ended, self.ended_at = True, self.now
            if self.reader.finished():
                assert self.ended
                assert self.listed_after_end
                # Each stream came back with nothing new DRAIN_EMPTY times
                # after the end, or once when the end was long enough ago.
                settled = self.ended_at + max(self.options["drain"], 5.0 * DRAIN_EMPTY)
                for stream in self.reader_streams():
                    times = self.empties_after_end[stream]
                    assert times, stream
                    assert DRAIN_EMPTY <= len(times) or times[-1] >= settled
                return self.delivered + self.queue
            if self.resume and self.fault(40):
                token = self.reader.resume_token_before(self.queue)
                self.queue = []
                self.reader = LogReader(JOB, resume=token, **self.options)
                if self.ended:
                    self.reader.job_ended(now=self.now)
                    self.listed_after_end = False
                continue
            self.step()
        msg = "the reader never finished"
        raise AssertionError(msg)

    def reader_streams(self):
        """The streams the service created and the reader can know of."""
        return list(self.service.listing(self.now))

    def step(self):
        """Advance to the next due thing and do it."""
        upcoming = self.reader.next_read()
        times = [self.reader.listing_due()]
        if upcoming is not None:
            times.append(upcoming[0])
        if (release := self.reader.next_release()) is not None:
            times.append(release)
        if not self.ended:
            times.append(self.end)
        self.now = max(self.now, min(times))
        self.take()
        if self.fault(15):
            self.reader.status_changed(now=self.now)
        if self.reader.listing_due() <= self.now:
            if self.fault(6):
                self.reader.listing_failed(now=self.now)
            else:
                self.reader.streams_listed(self.service.listing(self.now), now=self.now)
                self.listed_after_end = self.ended
            return
        if upcoming is not None and upcoming[0] <= self.now:
            self.answer(upcoming[1])

    def answer(self, request):
        """Make the read *request* asks for, with faults."""
        if self.fault(8):
            self.reader.read_failed(request, now=self.now)
            return
        if request.token is not None and self.fault(8):
            self.reader.token_rejected(request, now=self.now)
            return
        limit = self.data.draw(st.integers(1, 4)) if self.faults else 3
        events, token, page = self.service.get(request, self.now, limit)
        if self.faults:
            # The call took a while: reads of several streams are staggered.
            self.now += self.data.draw(st.integers(0, 6)) / 4
        fresh = any(line.index not in self.service.answers for line in page)
        for line in page:
            self.service.answers.setdefault(line.index, self.now)
        if self.ended and not fresh and token == request.token:
            # Nothing new and the token did not move: the stream's end.
            self.empties_after_end[request.stream].append(self.now)
        self.reader.read(request, events, token, now=self.now)
        if self.fault(8):
            self.reader.read(request, events, token, now=self.now)


def _written_keys(lines):
    """The multiset of written lines, as delivered lines are compared."""
    return collections.Counter(
        (line.stream, line.timestamp, line.ingestion_time, line.message)
        for line in lines
    )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.large_base_example,
        HealthCheck.data_too_large,
    ],
)
@given(job=_jobs(), data=st.data())
def test_every_written_line_is_delivered_exactly_once(job, data):
    """Under page cuts, rejected tokens, failures, duplicates: each line once."""
    lines, created, end = job
    driver = Driver(data, Service(lines, created), end)
    delivered = driver.run()
    assert _written_keys(lines) == collections.Counter(map(_key, delivered))


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.large_base_example,
        HealthCheck.data_too_large,
    ],
)
@given(job=_jobs(), early=st.integers(0, 60), data=st.data())
def test_lines_ingested_within_drain_after_the_end_are_delivered(job, early, data):
    """A job that ends while batches are still on their way: with drain=, each once."""
    lines, created, end = job
    end = max([*created.values(), end - early])
    last = max([line.ingestion_time / 1000 for line in lines] + [end])
    driver = Driver(data, Service(lines, created), end, drain=last - end)
    delivered = driver.run()
    assert _written_keys(lines) == collections.Counter(map(_key, delivered))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.large_base_example,
        HealthCheck.data_too_large,
    ],
)
@given(job=_jobs(late=False), data=st.data())
def test_a_resumed_reader_delivers_exactly_the_rest(job, data):
    """Readers re-created from resume_token at any points deliver each line once."""
    lines, created, end = job
    driver = Driver(data, Service(lines, created), end, resume=True)
    delivered = driver.run()
    assert _written_keys(lines) == collections.Counter(map(_key, delivered))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.large_base_example,
        HealthCheck.data_too_large,
    ],
)
@given(job=_jobs(distinct=True), data=st.data())
def test_lines_read_within_the_window_come_out_in_timestamp_order(job, data):
    """Two lines come out of timestamp order only if read a window or more apart."""
    lines, created, end = job
    service = Service(lines, created)
    driver = Driver(data, service, end)
    delivered = driver.run()
    index = {line.message: line.index for line in lines}
    read_at = [service.answers[index[line.message]] for line in delivered]
    for later in range(len(delivered)):
        for earlier in range(later):
            if delivered[later].timestamp < delivered[earlier].timestamp:
                assert read_at[later] - read_at[earlier] >= 2.0
                assert read_at[later] >= driver.released_at[earlier]


@settings(max_examples=60, deadline=None)
@given(
    answers=st.lists(st.booleans(), min_size=1, max_size=12),
)
def test_next_reads_back_off_while_empty_and_tighten_with_lines(answers):
    """An empty read never brings the next read sooner; a read with lines does."""
    reader = _reader_with(STREAM_1, active=5.0, idle=60.0)
    now = 0.0
    previous_gap = None
    stamp = 1000
    for has_lines in answers:
        due, request = _due(reader)
        now = due
        if has_lines:
            stamp += 1
            reader.read(request, [_event(stamp)], f"f/{stamp}", now=now)
            assert 5.0 == _due(reader)[0] - now
            previous_gap = None
            continue
        reader.read(request, [], request.token, now=now)
        gap = _due(reader)[0] - now
        assert 5.0 <= gap <= 60.0
        if previous_gap is not None:
            assert min(60.0, 2 * previous_gap) == gap
        previous_gap = gap


def test_idle_streams_are_read_less_often_than_active_ones():
    """Over ten minutes, an idle stream is read a fraction as often as an active one."""
    reader = _reader_with(STREAM_1, STREAM_2, active=5.0, idle=60.0)
    reads = collections.Counter()
    now = 0.0
    stamp = 1000
    while now < 600.0:
        due, request = _due(reader)
        now = max(now, due)
        reads[request.stream] += 1
        if request.stream == STREAM_1:
            stamp += 1
            reader.read(request, [_event(stamp)], f"f/{stamp}", now=now)
        else:
            reader.read(request, [], request.token or "f/0", now=now)
    assert reads[STREAM_2] * 5 < reads[STREAM_1]
