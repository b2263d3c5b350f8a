"""Quotas and request accounting: what each request costs and who counts it."""

from __future__ import annotations

import dataclasses
import types
from collections import Counter
from typing import TYPE_CHECKING, Any

from ._errors import ApiError

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Quota:
    """A per-operation request quota: a token bucket refilled on SIMULATED time.

    Attributes:
        per_second: Sustained requests per simulated second.
        burst: Requests allowed at once from a full bucket.
    """

    per_second: float
    burst: float = 1.0

    def __post_init__(self) -> None:
        """Reject empty quotas (use ``None`` to disable a quota instead)."""
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError("per_second must be positive and burst at least 1")


#: Quotas a new fake enforces unless told otherwise. CloudWatch Logs' are its
#: documented defaults per account and region ("CloudWatch Logs quotas",
#: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html):
#: GetLogEvents 25 transactions per second, DescribeLogStreams,
#: DescribeLogGroups and FilterLogEvents 5 (FilterLogEvents' 5 also in the
#: knowledge center's "How do I determine throttling in my CloudWatch logs?").
DEFAULT_QUOTAS: Mapping[str, Quota] = types.MappingProxyType(
    {
        "ListTrainingJobs": Quota(per_second=2.0, burst=2.0),
        "GetLogEvents": Quota(per_second=25.0, burst=25.0),
        "DescribeLogStreams": Quota(per_second=5.0, burst=5.0),
        "DescribeLogGroups": Quota(per_second=5.0, burst=5.0),
        "FilterLogEvents": Quota(per_second=5.0, burst=5.0),
    }
)


class QuotaBucket:
    """The state of one :class:`Quota`: tokens left, refilled on simulated time."""

    __slots__ = ("_last", "_tokens", "quota")

    def __init__(self, quota: Quota, now: float) -> None:
        """Start full at simulated time *now*."""
        self.quota = quota
        self._tokens = quota.burst
        self._last = now

    def take(self, now: float) -> bool:
        """Take one token at simulated time *now*; return False when throttled."""
        elapsed = max(now - self._last, 0.0)
        self._last = max(now, self._last)
        self._tokens = min(
            self.quota.burst, self._tokens + elapsed * self.quota.per_second
        )
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class FakeStatistics:
    """Requests a fake SageMaker has received, counted when they arrive.

    Attributes:
        requests: Requests per operation, faulted and throttled ones included.
        requests_by_job: Requests per ``(operation, job name)``.
        faulted: Requests per operation answered by an injected fault.
        throttled: Requests per operation answered ``ThrottlingException``, by a
            quota or by an injected throttle.
    """

    requests: Mapping[str, int]
    requests_by_job: Mapping[tuple[str, str], int]
    faulted: Mapping[str, int]
    throttled: Mapping[str, int]

    @property
    def total(self) -> int:
        """All requests received."""
        return sum(self.requests.values())

    def __repr__(self) -> str:
        """Return ``FakeStatistics(total=..., faulted=..., throttled=...)``."""
        return (
            f"FakeStatistics(total={self.total}, "
            f"faulted={sum(self.faulted.values())}, "
            f"throttled={sum(self.throttled.values())})"
        )


class _Counters:
    """Mutable counters behind :class:`FakeStatistics`."""

    __slots__ = ("by_job", "faulted", "requests", "throttled")

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.by_job: Counter[tuple[str, str]] = Counter()
        self.faulted: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()


class RequestMeter:
    """Counts the requests that arrive and charges each to its operation's quota.

    Buckets start full when an operation is first charged; setting a quota
    starts its bucket afresh; resetting the counters leaves the buckets alone.
    """

    __slots__ = ("_buckets", "_counters", "_quotas")

    def __init__(self, quotas: Mapping[str, Quota | None]) -> None:
        """Enforce *quotas* per operation; ``None`` values disable one."""
        self._quotas: dict[str, Quota] = {
            op: q for op, q in quotas.items() if q is not None
        }
        self._buckets: dict[str, QuotaBucket] = {}
        self._counters = _Counters()

    def receive(
        self,
        operation: str,
        request: Mapping[str, Any],
        job_name: str | None = None,
    ) -> None:
        """Count a request that arrived, whatever answers it.

        It counts for *job_name*, or else for the ``TrainingJobName`` it names.
        """
        counters = self._counters
        counters.requests[operation] += 1
        if job_name is None:
            job_name = request.get("TrainingJobName")
        if isinstance(job_name, str):
            counters.by_job[operation, job_name] += 1

    def charge(self, operation: str, now: float) -> None:
        """Take one token from *operation*'s quota at simulated time *now*, if any.

        Raises:
            ApiError: ``ThrottlingException`` (counted as throttled) when the
                quota is spent.
        """
        quota = self._quotas.get(operation)
        if quota is None:
            return
        bucket = self._buckets.get(operation)
        if bucket is None:
            bucket = self._buckets[operation] = QuotaBucket(quota, now)
        if not bucket.take(now):
            self._counters.throttled[operation] += 1
            raise ApiError("ThrottlingException", "Rate exceeded")

    def record_fault(self, operation: str, *, throttled: bool = False) -> None:
        """Count a request that an injected fault answered (and if it throttled)."""
        self._counters.faulted[operation] += 1
        if throttled:
            self._counters.throttled[operation] += 1

    def set_quota(
        self, operation: str, *, per_second: float | None, burst: float = 1.0
    ) -> None:
        """Set *operation*'s quota, starting a full bucket; ``None`` disables it."""
        self._buckets.pop(operation, None)
        if per_second is None:
            self._quotas.pop(operation, None)
        else:
            self._quotas[operation] = Quota(per_second=per_second, burst=burst)

    def statistics(self) -> FakeStatistics:
        """Return the requests counted so far, per operation and per job."""
        counters = self._counters
        return FakeStatistics(
            requests=types.MappingProxyType(dict(counters.requests)),
            requests_by_job=types.MappingProxyType(dict(counters.by_job)),
            faulted=types.MappingProxyType(dict(counters.faulted)),
            throttled=types.MappingProxyType(dict(counters.throttled)),
        )

    def request_count(
        self, operation: str | None = None, job_name: str | None = None
    ) -> int:
        """Return how many requests arrived for *operation* and *job_name*.

        ``None`` for either means any.
        """
        counters = self._counters
        if job_name is None:
            if operation is None:
                return sum(counters.requests.values())
            return counters.requests[operation]
        return sum(
            count
            for (op, name), count in counters.by_job.items()
            if name == job_name and operation in {None, op}
        )

    def reset(self) -> None:
        """Set every counter back to zero (the quotas' buckets are kept)."""
        self._counters = _Counters()
