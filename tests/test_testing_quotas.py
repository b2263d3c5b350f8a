"""The kit's quotas and request accounting, on their own: no service, no sockets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagemaker_watch.testing import ApiError, Quota
from sagemaker_watch.testing._quotas import QuotaBucket, RequestMeter


def test_quota_refuses_empty_buckets():
    """A quota needs a positive rate and room for one request."""
    with pytest.raises(ValueError, match="per_second must be positive"):
        Quota(per_second=0)
    with pytest.raises(ValueError, match="burst at least 1"):
        Quota(per_second=1.0, burst=0.5)


def test_bucket_spends_its_burst_then_refills_on_simulated_time():
    """A full bucket grants its burst at once, then one token per 1/rate seconds."""
    bucket = QuotaBucket(Quota(per_second=2.0, burst=3.0), now=100.0)
    assert [True, True, True, False] == [bucket.take(100.0) for _ in range(4)]
    assert [False, True, False] == [
        bucket.take(100.25),
        bucket.take(100.5),
        bucket.take(100.5),
    ]
    assert [True, True, True, False] == [bucket.take(1000.0) for _ in range(4)]


def test_bucket_gains_nothing_when_time_goes_back():
    """A time earlier than the last one seen refills nothing and moves nothing."""
    bucket = QuotaBucket(Quota(per_second=1.0), now=50.0)
    assert bucket.take(50.0)
    assert not bucket.take(10.0)
    assert not bucket.take(50.5)
    assert bucket.take(51.0)


@settings(max_examples=200, deadline=None)
@given(
    rate=st.sampled_from([0.5, 1.0, 2.0, 10.0]),
    burst=st.sampled_from([1.0, 2.0, 5.0]),
    gaps=st.lists(st.floats(min_value=0, max_value=3), max_size=60),
)
def test_bucket_never_grants_more_than_burst_plus_rate_times_time(rate, burst, gaps):
    """Over any run of requests, grants stay within burst + rate * elapsed."""
    bucket = QuotaBucket(Quota(per_second=rate, burst=burst), now=0.0)
    now, granted = 0.0, 0
    for gap in gaps:
        now += gap
        granted += bucket.take(now)
        assert granted <= burst + rate * now + 1e-9


def test_meter_counts_per_operation_and_per_job():
    """Every request is counted by operation, and by job when it names one."""
    meter = RequestMeter({})
    meter.receive("DescribeTrainingJob", {"TrainingJobName": "a"})
    meter.receive("DescribeTrainingJob", {"TrainingJobName": "b"})
    meter.receive("StopTrainingJob", {"TrainingJobName": "a"})
    meter.receive("ListTrainingJobs", {})
    meter.receive("DescribeTrainingJob", {"TrainingJobName": 7})
    assert (5, 3, 2, 1, 0) == (
        meter.request_count(),
        meter.request_count("DescribeTrainingJob"),
        meter.request_count(job_name="a"),
        meter.request_count("StopTrainingJob", "a"),
        meter.request_count("ListTrainingJobs", "a"),
    )
    stats = meter.statistics()
    assert {
        ("DescribeTrainingJob", "a"): 1,
        ("DescribeTrainingJob", "b"): 1,
        ("StopTrainingJob", "a"): 1,
    } == dict(stats.requests_by_job)
    assert "FakeStatistics(total=5, faulted=0, throttled=0)" == repr(stats)


def test_meter_throttles_past_the_quota_and_counts_it():
    """A spent quota raises ThrottlingException and counts the request throttled."""
    meter = RequestMeter({"ListTrainingJobs": Quota(per_second=1.0), "Other": None})
    meter.charge("ListTrainingJobs", 0.0)
    with pytest.raises(ApiError) as excinfo:
        meter.charge("ListTrainingJobs", 0.5)
    assert ("ThrottlingException", "Rate exceeded", 400) == (
        excinfo.value.code,
        excinfo.value.message,
        excinfo.value.status,
    )
    meter.charge("ListTrainingJobs", 1.0)
    for _ in range(10):
        meter.charge("Other", 0.0)
        meter.charge("DescribeTrainingJob", 0.0)
    assert {"ListTrainingJobs": 1} == dict(meter.statistics().throttled)


def test_meter_records_faults():
    """Injected faults are counted, and as throttles when they throttled."""
    meter = RequestMeter({})
    meter.record_fault("DescribeTrainingJob")
    meter.record_fault("DescribeTrainingJob", throttled=True)
    stats = meter.statistics()
    assert ({"DescribeTrainingJob": 2}, {"DescribeTrainingJob": 1}) == (
        dict(stats.faulted),
        dict(stats.throttled),
    )


def test_set_quota_starts_a_full_bucket_and_none_lifts_it():
    """Setting a quota replaces the spent bucket with a full one; None removes it."""
    meter = RequestMeter({"ListTrainingJobs": Quota(per_second=1.0)})
    meter.charge("ListTrainingJobs", 0.0)
    meter.set_quota("ListTrainingJobs", per_second=1.0, burst=2.0)
    meter.charge("ListTrainingJobs", 0.0)
    meter.charge("ListTrainingJobs", 0.0)
    with pytest.raises(ApiError):
        meter.charge("ListTrainingJobs", 0.0)
    meter.set_quota("ListTrainingJobs", per_second=None)
    for _ in range(10):
        meter.charge("ListTrainingJobs", 0.0)
    with pytest.raises(ValueError, match="per_second must be positive"):
        meter.set_quota("ListTrainingJobs", per_second=0.0)


def test_reset_zeroes_the_counters_but_keeps_the_buckets():
    """After a reset nothing is counted, and a spent bucket is still spent."""
    meter = RequestMeter({"ListTrainingJobs": Quota(per_second=1.0)})
    meter.receive("ListTrainingJobs", {})
    meter.charge("ListTrainingJobs", 0.0)
    meter.reset()
    assert 0 == meter.statistics().total
    with pytest.raises(ApiError):
        meter.charge("ListTrainingJobs", 0.0)
    assert {"ListTrainingJobs": 1} == dict(meter.statistics().throttled)
