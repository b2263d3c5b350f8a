"""The library's logger and its event names; structlog is never configured here."""

from __future__ import annotations

from typing import Final

import structlog

logger: Final = structlog.get_logger("sagemaker_watch")

POLL_RETRY_SCHEDULED: Final = "sagemaker_watch.poll_retry_scheduled"
POLL_FAILED: Final = "sagemaker_watch.poll_failed"
HISTORY_ANOMALY: Final = "sagemaker_watch.history_anomaly"
JOB_NOT_FOUND_YET: Final = "sagemaker_watch.job_not_found_yet"
