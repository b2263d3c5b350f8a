"""Training job names and ARNs, checked before any request is sent."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, TypeVar

from .._errors import InvalidJobName

#: SageMaker's TrainingJobName pattern, from the service model. It allows runs of
#: hyphens (``a--b``), so it does not bound the length by itself.
JOB_NAME_PATTERN: Final = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")

#: SageMaker's TrainingJobName length limit, from the service model.
JOB_NAME_MAX_LENGTH: Final = 63

#: SageMaker's TrainingJobArn pattern, from the service model (botocore's
#: ``sagemaker/2017-07-24/service-2.json``, shape ``TrainingJobArn``). Its region
#: part may be empty; the name part is TrainingJobName's pattern.
JOB_ARN_PATTERN: Final = re.compile(
    r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:training-job/"
    r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
)

#: SageMaker's TrainingJobArn length limit, from the service model.
JOB_ARN_MAX_LENGTH: Final = 256

_ARN_FORM: Final = "arn:PARTITION:sagemaker:REGION:ACCOUNT:training-job/NAME"
_PARTITION: Final = re.compile(r"aws[a-z\-]*")
_REGION: Final = re.compile(r"[a-z0-9\-]*")
_ACCOUNT: Final = re.compile(r"[0-9]{12}")
_ARN_PARTS: Final = 6

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True, kw_only=True)
class JobRef:
    """A training job as the caller gave it: by name, or by ARN.

    Requests and events use ``name``; an ARN's other parts are kept to check the
    region against the client's before any request.
    """

    #: The job's name: what DescribeTrainingJob takes and events carry.
    name: str
    #: The ARN given, or ``None`` for a name.
    arn: str | None = None
    #: The ARN's partition (``aws``, ``aws-cn``, ...), or ``None``.
    partition: str | None = None
    #: The ARN's region, or ``None`` for a name or an ARN whose region is empty.
    region: str | None = None
    #: The ARN's 12-digit account, or ``None`` for a name.
    account_id: str | None = None

    def check_region(self, client_region: str | None) -> None:
        """Raise if this ARN names a region other than the client's.

        DescribeTrainingJob looks in the client's region only, so an ARN from
        another region would be answered "not found" after the grace period.
        Nothing is checked for a name, an ARN with an empty region, or a client
        whose region is unknown (``None``).

        Raises:
            InvalidJobName: the ARN's region is not *client_region*.
        """
        if self.region is None or not client_region or self.region == client_region:
            return
        raise _rejected(
            self.arn,
            f"training job ARN {self.arn!r} is in region {self.region!r}, but the "
            f"client calls region {client_region!r}, where DescribeTrainingJob "
            f"cannot find it; use a client for {self.region!r} (region= in "
            "Python, --region on the command line)",
        )


def validate_job_name(job_name: object) -> str:
    """Return *job_name* if SageMaker would accept it as a TrainingJobName.

    Names only: ``parse_job`` also takes an ARN.

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


def parse_job(job: object) -> JobRef:
    """Read a training job's name, or its ARN, exactly as strictly as SageMaker.

    An ARN (``arn:aws:sagemaker:us-east-1:123456789012:training-job/my-job``, in
    any partition) must match the service model's TrainingJobArn pattern, be at
    most 256 characters, and end in a name DescribeTrainingJob accepts.

    SageMaker writes the name into the ARN in lower case: the ARN of a job named
    ``My-Job`` ends in ``my-job``, and that is the name asked for.

    Returns:
        The job's name, with the ARN's parts when an ARN was given.

    Raises:
        InvalidJobName: for a name or an ARN that SageMaker would reject, saying
            what is wrong (the input is quoted with ``repr``, so control
            characters never reach a terminal raw).
    """
    if isinstance(job, str) and ":" in job:
        return _parse_arn(job)
    return JobRef(name=validate_job_name(job))


def lookup_name(job: _T, *, region: str | None = None) -> _T | str:
    """Return the name inside a valid training job ARN; anything else unchanged.

    For lookups that never raise on a bad name (``job in fleet``, ``remove``).
    An ARN from another region than *region* (when given) is left unchanged
    too: it names no job the client can see.
    """
    if isinstance(job, str) and ":" in job:
        try:
            ref = _parse_arn(job)
            ref.check_region(region)
        except InvalidJobName:
            return job
        return ref.name
    return job


def _parse_arn(arn: str) -> JobRef:
    if len(arn) <= JOB_ARN_MAX_LENGTH and JOB_ARN_PATTERN.fullmatch(arn):
        _, partition, _, region, account_id, resource = arn.split(":")
        name = resource.removeprefix("training-job/")
        if len(name) <= JOB_NAME_MAX_LENGTH:
            return JobRef(
                name=name,
                arn=arn,
                partition=partition,
                region=region or None,
                account_id=account_id,
            )
    raise _rejected(
        arn,
        f"invalid training job ARN {arn!r}: {_arn_problem(arn)} (expected {_ARN_FORM})",
    )


def _arn_problem(arn: str) -> str:  # noqa: PLR0911 - one diagnosis per part
    """Say what is wrong with an ARN that does not match the pattern."""
    if len(arn) > JOB_ARN_MAX_LENGTH:
        return f"longer than {JOB_ARN_MAX_LENGTH} characters"
    parts = arn.split(":", _ARN_PARTS - 1)
    if len(parts) < _ARN_PARTS:
        return "not six ':'-separated parts"
    prefix, partition, service, region, account_id, resource = parts
    if prefix != "arn":
        return f"it starts {prefix!r}, not 'arn' (lower case)"
    if not _PARTITION.fullmatch(partition):
        return f"partition {partition!r} is not aws, aws-cn, aws-us-gov, ..."
    if service != "sagemaker":
        return f"service {service!r} is not 'sagemaker'"
    if not _REGION.fullmatch(region):
        return f"region {region!r} is not lower-case letters, digits and hyphens"
    if not _ACCOUNT.fullmatch(account_id):
        return f"account {account_id!r} is not 12 digits"
    kind, slash, name = resource.partition("/")
    if kind != "training-job" or not slash:
        return f"resource {kind!r} is not a 'training-job/NAME'"
    return (
        f"job name {name!r} is not 1-63 letters, digits and hyphens, starting "
        "and ending with a letter or digit"
    )


def _rejected(job: object, message: str) -> InvalidJobName:
    """Return ``InvalidJobName`` for *job* with *message* in place of the default."""
    return InvalidJobName(job, reason=message)
