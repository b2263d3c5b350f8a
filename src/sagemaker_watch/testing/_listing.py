"""``ListTrainingJobs``: the request's validation, sort keys, keyset pages and filters.

As the service does, a page is cut from the sorted jobs before the filters apply,
so a filtered page can be short, or empty, and still carry a ``NextToken``.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import dataclasses
import json
from typing import TYPE_CHECKING, Any, TypeVar

from ._errors import constraint, validation_error, validation_message

if TYPE_CHECKING:
    from collections.abc import Mapping

JSON = dict[str, Any]
_Item = TypeVar("_Item")

_PRIMARY_STATUSES = (
    "InProgress",
    "Completed",
    "Failed",
    "Stopping",
    "Stopped",
    "Deleting",
)
_LIST_ENUMS: Mapping[str, tuple[str, ...]] = {
    "StatusEquals": _PRIMARY_STATUSES,
    "SortBy": ("Name", "CreationTime", "Status"),
    "SortOrder": ("Ascending", "Descending"),
    "WarmPoolStatusEquals": ("Available", "Terminated", "Reused", "InUse"),
}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ListedJob:
    """One job as ``ListTrainingJobs`` sees it (times are POSIX seconds).

    Attributes:
        name: ``TrainingJobName``.
        arn: ``TrainingJobArn``.
        created: ``CreationTime``.
        primary: ``TrainingJobStatus``, ``Deleting`` included.
        secondary: ``SecondaryStatus``.
        modified: ``LastModifiedTime``.
        end: ``TrainingEndTime``, once the job has ended.
        warm_pool: ``WarmPoolStatus``, for a completed job that keeps one.
    """

    name: str
    arn: str
    created: float
    primary: str
    secondary: str
    modified: float
    end: float | None
    warm_pool: JSON | None

    def row(self) -> JSON:
        """The job's ``TrainingJobSummaries`` entry, timestamps in milliseconds."""
        row: JSON = {
            "TrainingJobName": self.name,
            "TrainingJobArn": self.arn,
            "CreationTime": round(self.created, 3),
        }
        if self.end is not None:
            row["TrainingEndTime"] = round(self.end, 3)
        row["LastModifiedTime"] = round(self.modified, 3)
        row["TrainingJobStatus"] = self.primary
        row["SecondaryStatus"] = self.secondary
        if self.warm_pool is not None:
            row["WarmPoolStatus"] = self.warm_pool
        return row


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ListQuery:
    """A validated ``ListTrainingJobs`` request."""

    max_results: int
    sort_by: str
    sort_order: str
    after_key: tuple[Any, ...] | None
    status_equals: str | None
    name_contains: str
    created_after: float | None
    created_before: float | None
    modified_after: float | None
    modified_before: float | None
    warm_pool_equals: str | None

    @classmethod
    def parse(cls, body: JSON) -> ListQuery:
        """Validate *body* as AWS does, every bad member in one message.

        Raises:
            ApiError: ``ValidationException`` for bad members, a bad timestamp or
                a token written for another sort.
        """
        errors: list[str] = []
        max_results = body.get("MaxResults", 10)
        if not isinstance(max_results, int) or max_results > 100:  # noqa: PLR2004
            errors.append(
                constraint(
                    max_results,
                    "maxResults",
                    "Member must have value less than or equal to 100",
                )
            )
        elif max_results < 1:
            errors.append(
                constraint(
                    max_results,
                    "maxResults",
                    "Member must have value greater than or equal to 1",
                )
            )
        for member, allowed in _LIST_ENUMS.items():
            value = body.get(member)
            if value is not None and value not in allowed:
                field = member[0].lower() + member[1:]
                errors.append(
                    constraint(
                        value,
                        field,
                        f"Member must satisfy enum value set: [{', '.join(allowed)}]",
                    )
                )
        if errors:
            raise validation_error(validation_message(errors))
        sort_by = body.get("SortBy") or "CreationTime"
        sort_order = body.get("SortOrder") or "Ascending"
        return cls(
            max_results=max_results,
            sort_by=sort_by,
            sort_order=sort_order,
            after_key=_read_token(body.get("NextToken"), sort_by, sort_order),
            status_equals=body.get("StatusEquals"),
            name_contains=str(body.get("NameContains") or "").lower(),
            created_after=_time(body, "CreationTimeAfter"),
            created_before=_time(body, "CreationTimeBefore"),
            modified_after=_time(body, "LastModifiedTimeAfter"),
            modified_before=_time(body, "LastModifiedTimeBefore"),
            warm_pool_equals=body.get("WarmPoolStatusEquals"),
        )

    def sort_key(self, name: str, created: float, primary: str) -> tuple[Any, ...]:
        """A job's place in the sort; the name breaks ties, so keys are unique."""
        if self.sort_by == "Name":
            return (name,)
        return (created if self.sort_by == "CreationTime" else primary, name)

    def page(
        self, rows: list[tuple[tuple[Any, ...], _Item]]
    ) -> tuple[list[_Item], str | None]:
        """Sort *rows* by key and cut the page after the token's key (keyset paging).

        Returns:
            The page's items in the requested order, and the ``NextToken`` if
            more keys follow the page's last.
        """
        rows.sort(key=lambda row: row[0])
        keys = [row[0] for row in rows]
        after_key, size = self.after_key, self.max_results
        if self.sort_order == "Ascending":
            start = 0 if after_key is None else bisect.bisect_right(keys, after_key)
            page = rows[start : start + size]
            more = start + size < len(rows)
        else:
            stop = (
                len(rows) if after_key is None else bisect.bisect_left(keys, after_key)
            )
            page = rows[max(stop - size, 0) : stop][::-1]
            more = stop - size > 0
        token = None
        if more and page:
            token = _write_token(page[-1][0], self.sort_by, self.sort_order)
        return [item for _, item in page], token

    def keeps(self, job: ListedJob) -> bool:
        """Whether *job* passes every filter."""
        warm_pool = job.warm_pool
        checks = (
            self.created_after is None or job.created > self.created_after,
            self.created_before is None or job.created < self.created_before,
            not self.name_contains or self.name_contains in job.name.lower(),
            self.status_equals is None or job.primary == self.status_equals,
            self.modified_after is None or job.modified > self.modified_after,
            self.modified_before is None or job.modified < self.modified_before,
            self.warm_pool_equals is None
            or (warm_pool is not None and warm_pool["Status"] == self.warm_pool_equals),
        )
        return all(checks)


def _time(body: JSON, member: str) -> float | None:
    value = body.get(member)
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise validation_error(f"Invalid timestamp for {member}: {value!r}") from None


def _write_token(key: tuple[Any, ...], sort_by: str, sort_order: str) -> str:
    raw = json.dumps({"k": list(key), "b": sort_by, "o": sort_order}).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _read_token(token: object, sort_by: str, sort_order: str) -> tuple[Any, ...] | None:
    if token is None or token == "":
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(str(token).encode()))
        if data["b"] == sort_by and data["o"] == sort_order:
            return tuple(data["k"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        pass
    raise validation_error("Invalid pagination token")
