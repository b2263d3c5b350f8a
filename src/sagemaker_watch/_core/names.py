"""Training job name validation, done before any request is sent."""

from __future__ import annotations

import re
from typing import Final

from .._errors import InvalidJobName

#: SageMaker's TrainingJobName pattern, from the service model. It allows runs of
#: hyphens (``a--b``), so it does not bound the length by itself.
JOB_NAME_PATTERN: Final = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")

#: SageMaker's TrainingJobName length limit, from the service model.
JOB_NAME_MAX_LENGTH: Final = 63


def validate_job_name(job_name: object) -> str:
    """Return *job_name* if SageMaker would accept it.

    Raises:
        InvalidJobName: if it is not a string of at most 63 characters matching
            SageMaker's pattern.
    """
    if (
        not isinstance(job_name, str)
        or len(job_name) > JOB_NAME_MAX_LENGTH
        or not JOB_NAME_PATTERN.fullmatch(job_name)
    ):
        raise InvalidJobName(job_name)
    return job_name
