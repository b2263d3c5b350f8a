"""The library's logger and its event names; structlog is never configured here.

structlog (and rich, which its console renderer imports) loads at the first line
logged, not with the library: most runs log nothing.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Final, cast

if TYPE_CHECKING:
    from structlog.typing import FilteringBoundLogger

POLL_RETRY_SCHEDULED: Final = "sagemaker_watch.poll_retry_scheduled"
POLL_FAILED: Final = "sagemaker_watch.poll_failed"
HISTORY_ANOMALY: Final = "sagemaker_watch.history_anomaly"
JOB_NOT_FOUND_YET: Final = "sagemaker_watch.job_not_found_yet"
FLEET_JOB_LOST: Final = "sagemaker_watch.fleet_job_lost"
FLEET_POLL_FAILED: Final = "sagemaker_watch.fleet_poll_failed"
FLEET_LIST_UNAVAILABLE: Final = "sagemaker_watch.fleet_list_unavailable"
HINTS_FLOWING: Final = "sagemaker_watch.hints_flowing"
HINTS_FALLBACK: Final = "sagemaker_watch.hints_fallback"
HINTS_RECEIVE_FAILED: Final = "sagemaker_watch.hints_receive_failed"
HINTS_DELETE_FAILED: Final = "sagemaker_watch.hints_delete_failed"
HINT_NOT_READ: Final = "sagemaker_watch.hint_not_read"
LOGS_CALL_FAILED: Final = "sagemaker_watch.logs_call_failed"


@functools.cache
def _structlog_logger() -> FilteringBoundLogger:
    """Return structlog's ``sagemaker_watch`` logger (a proxy reading the config)."""
    import structlog  # noqa: PLC0415 - about 80 ms with rich: at the first line

    return cast("FilteringBoundLogger", structlog.get_logger("sagemaker_watch"))


class _Logger:
    """Stands for structlog's logger; imports structlog at the first call."""

    __slots__ = ()

    def __getattr__(self, name: str) -> object:
        return getattr(_structlog_logger(), name)

    def __repr__(self) -> str:
        return "<sagemaker_watch logger (structlog, loaded on first use)>"


logger: Final = cast("FilteringBoundLogger", _Logger())
