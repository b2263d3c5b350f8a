"""Training job name validation, done before any request is sent."""

from __future__ import annotations

import re

from ._errors import InvalidJobName

#: SageMaker's TrainingJobName pattern, from the service model.
JOB_NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


def validate_job_name(job_name: object) -> str:
    """Return *job_name* if SageMaker would accept it.

    Raises:
        InvalidJobName: if it is not a string matching SageMaker's pattern.
    """
    if not isinstance(job_name, str) or not JOB_NAME_PATTERN.fullmatch(job_name):
        raise InvalidJobName(job_name)
    return job_name
