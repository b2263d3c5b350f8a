"""What the command line says about a problem: one line of advice and an exit code.

A library error becomes a ``JobResult`` (``problem``) or a ``CliError`` (``setup``);
the exit status of several results is that of the worst (``exit_code``).
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import sagemaker_watch as sw

from ._text import JobResult, Outcome

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


class ExitCode(enum.IntEnum):
    """The process's exit status; stable and documented in ``docs/cli.md``."""

    COMPLETED = 0
    FAILED = 1
    USAGE = 2
    STOPPED = 3
    NOT_FOUND = 4
    TIMEOUT = 5
    AWS_ERROR = 6
    #: An unexpected error (a bug, or a failure nothing foresaw): EX_SOFTWARE.
    SOFTWARE = 70
    INTERRUPTED = 130
    #: Stdout was closed early (``| head``): 128 + SIGPIPE, as a shell reports.
    PIPE_CLOSED = 141
    TERMINATED = 143


class CliError(Exception):
    """A problem that ends the command: one line for stderr and an exit code."""

    def __init__(self, message: str, code: ExitCode) -> None:
        """Build the error; *message* says what went wrong and what to do."""
        super().__init__(message)
        self.code = code


_EXIT_CODES = {
    Outcome.COMPLETED: ExitCode.COMPLETED,
    Outcome.STOPPED: ExitCode.STOPPED,
    Outcome.FAILED: ExitCode.FAILED,
    Outcome.TIMEOUT: ExitCode.TIMEOUT,
    Outcome.NOT_FOUND: ExitCode.NOT_FOUND,
    Outcome.ERROR: ExitCode.AWS_ERROR,
}
#: Outcomes from best to worst: with several jobs, the worst one sets the exit code.
_SEVERITY = tuple(Outcome)


def exit_code(results: Sequence[JobResult], *, allow_stopped: bool = False) -> ExitCode:
    """Return the exit code of the worst outcome among *results*."""
    outcomes = [
        Outcome.COMPLETED
        if allow_stopped and result.outcome is Outcome.STOPPED
        else result.outcome
        for result in results
    ]
    worst = max(outcomes, key=_SEVERITY.index, default=Outcome.COMPLETED)
    return _EXIT_CODES[worst]


def problem(
    job_name: str,
    error: sw.SageMakerWatchError,
    *,
    region: str | None,
    endpoint_url: str | None,
    retried_for: float | None,
) -> JobResult:
    """Turn a library error into a result with one line of diagnosis and advice.

    Args:
        job_name: the job the error ended.
        error: what the library raised or reported.
        region: the client's region, for "no such job in REGION".
        endpoint_url: the client's endpoint, for "the endpoint at URL ...".
        retried_for: how long the job's polls retried before giving up, if known.

    Returns:
        The job's result: not found, or an AWS error.
    """
    if isinstance(error, sw.TrainingJobNotFound):
        where = f" in {region}" if region else ""
        return JobResult(
            job_name=job_name,
            outcome=Outcome.NOT_FOUND,
            snapshot=None,
            problem=f"{job_name}: no such training job{where}; "
            "check the name, --region and --profile",
        )
    if isinstance(error, sw.JobReplaced):
        return JobResult(
            job_name=job_name,
            outcome=Outcome.NOT_FOUND,
            snapshot=None,
            problem=f"{job_name}: the job was deleted and created again under the "
            "same name while it was watched; run the command again to watch the "
            "new one",
        )
    snapshot = getattr(error, "snapshot", None)
    message = f"{job_name}: {error}"
    if isinstance(error, sw.ServiceError):
        message = _service_problem(
            job_name, error, endpoint_url=endpoint_url, retried_for=retried_for
        )
    return JobResult(
        job_name=job_name, outcome=Outcome.ERROR, snapshot=snapshot, problem=message
    )


def _service_problem(  # noqa: PLR0911 - one diagnosis per kind of failure
    job_name: str,
    error: sw.ServiceError,
    *,
    endpoint_url: str | None,
    retried_for: float | None,
) -> str:
    """Diagnose a failed call by the class of *error* and its attributes."""
    retried = f" (retried for {retried_for:g}s)" if retried_for is not None else ""
    if isinstance(error, sw.NotSageMaker):
        where = error.endpoint_url or endpoint_url or "?"
        answer = (
            f"HTTP {error.http_status or '?'}, {error.content_type}"
            if error.content_type
            else f"an unreadable answer: {error}"
        )
        return (
            f"the endpoint at {where} did not answer like SageMaker ({answer}); "
            "check --endpoint-url or AWS_ENDPOINT_URL_SAGEMAKER"
        )
    if isinstance(error, sw.EndpointUnreachable):
        where = error.endpoint_url or endpoint_url or "?"
        return (
            f"cannot reach SageMaker at {where} ({error.code}){retried}; check "
            "--endpoint-url or AWS_ENDPOINT_URL_SAGEMAKER, --region and the network"
        )
    if isinstance(error, sw.CredentialsRejected):
        return f"{error}; refresh or replace them"
    if isinstance(error, sw.CredentialsError):
        return _NO_CREDENTIALS.format(error=error)
    if isinstance(error, sw.AccessDenied):
        service = "logs" if error.operation in _LOGS_OPERATIONS else "sagemaker"
        return f"{error}; the credentials need {service}:{error.operation}"
    if isinstance(error, sw.RetriesExhausted):
        return f"{job_name}: SageMaker kept failing{retried}: {error}"
    return f"{job_name}: SageMaker refused the request: {error}"


#: The CloudWatch Logs operations training logs need (``logs:`` permissions).
_LOGS_OPERATIONS = frozenset({"DescribeLogStreams", "GetLogEvents"})

_NO_CREDENTIALS = (
    "{error}; set AWS_PROFILE (after `aws sso login` for SSO) or "
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)


def logs_refused(refused: Mapping[str, sw.SageMakerWatchError]) -> list[str]:
    """Say which jobs were watched without their training logs, and why.

    Jobs refused alike share one line (fifty jobs without ``logs:`` permissions
    are one line), which says what the credentials need.
    """
    jobs: dict[str, list[str]] = {}
    for name, error in refused.items():
        if isinstance(error, sw.AccessDenied):
            why = (
                f"access denied to {error.operation}; the credentials need "
                f"logs:{error.operation}"
            )
        elif isinstance(error, sw.ServiceError):
            why = _service_problem(name, error, endpoint_url=None, retried_for=None)
        else:
            why = str(error)
        jobs.setdefault(why, []).append(name)
    return [
        f"{', '.join(names)}: training logs not read, watched without them: {why}"
        for why, names in jobs.items()
    ]


def setup(error: sw.ServiceError) -> CliError:
    """Say what to do about a client that could not be set up.

    The endpoint given by option or environment was checked before: an invalid
    one here comes from the AWS config file.
    """
    if isinstance(error, sw.NoRegion):
        if error.region is None:
            return CliError(
                "no AWS region configured; pass --region or set AWS_REGION",
                ExitCode.AWS_ERROR,
            )
        return CliError(
            f"invalid AWS region {error.region!r}; pass --region like us-east-1",
            ExitCode.USAGE,
        )
    if isinstance(error, sw.ProfileNotFound):
        return CliError(
            f"the AWS profile {error.profile!r} could not be found; pass an "
            "existing --profile or fix AWS_PROFILE",
            ExitCode.AWS_ERROR,
        )
    if isinstance(error, sw.InvalidEndpoint):
        host = f"host {error.host!r}" if error.host else "no host"
        return CliError(
            f"the endpoint URL is not http or https with a host (scheme "
            f"{error.scheme!r}, {host}); check endpoint_url in the AWS config file, "
            "or pass --endpoint-url like https://host[:port]",
            ExitCode.USAGE,
        )
    if isinstance(error, sw.CredentialsError):
        return CliError(_NO_CREDENTIALS.format(error=error), ExitCode.AWS_ERROR)
    return CliError(f"cannot set up AWS: {error}", ExitCode.AWS_ERROR)


def hints_setup(error: sw.ServiceError) -> CliError:
    """Say what to do about an SQS client for ``--sqs-queue-url`` that failed to set up.

    The queue URL was checked before: an invalid endpoint here is the one the
    environment or the AWS config file gives an AWS queue URL.
    """
    if isinstance(error, sw.InvalidEndpoint):
        host = f"host {error.host!r}" if error.host else "no host"
        return CliError(
            f"the SQS endpoint URL is not http or https with a host (scheme "
            f"{error.scheme!r}, {host}); check AWS_ENDPOINT_URL_SQS, "
            "AWS_ENDPOINT_URL and endpoint_url in the AWS config file",
            ExitCode.USAGE,
        )
    problem = setup(error)
    return CliError(f"cannot read --sqs-queue-url: {problem}", problem.code)


def logs_setup(error: sw.ServiceError) -> CliError:
    """Say what to do about a CloudWatch Logs client (``--logs``) that failed to set up.

    The SageMaker client opened: an invalid endpoint here is the one the
    environment or the AWS config file gives CloudWatch Logs.
    """
    if isinstance(error, sw.InvalidEndpoint):
        host = f"host {error.host!r}" if error.host else "no host"
        return CliError(
            f"the CloudWatch Logs endpoint URL is not http or https with a host "
            f"(scheme {error.scheme!r}, {host}); check "
            "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, AWS_ENDPOINT_URL and endpoint_url "
            "in the AWS config file",
            ExitCode.USAGE,
        )
    problem = setup(error)
    return CliError(f"cannot read the training logs: {problem}", problem.code)
