"""The library's logger and its event names; structlog is never configured here."""

from __future__ import annotations

from typing import Final

import structlog

logger: Final = structlog.get_logger("sagemaker_watch")

POLL_RETRY_SCHEDULED: Final = "sagemaker_watch.poll_retry_scheduled"
POLL_FAILED: Final = "sagemaker_watch.poll_failed"
HISTORY_ANOMALY: Final = "sagemaker_watch.history_anomaly"
JOB_NOT_FOUND_YET: Final = "sagemaker_watch.job_not_found_yet"
FLEET_JOB_LOST: Final = "sagemaker_watch.fleet_job_lost"
FLEET_POLL_FAILED: Final = "sagemaker_watch.fleet_poll_failed"
FLEET_LIST_UNAVAILABLE: Final = "sagemaker_watch.fleet_list_unavailable"
