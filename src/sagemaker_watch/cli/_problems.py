"""What the command line says about a problem: one line of advice and an exit code.

A library error becomes a ``JobResult`` (``problem``) or a ``CliError`` (``setup``);
the exit status of several results is that of the worst (``exit_code``).
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import sagemaker_watch as sw

from ._render import JobResult, Outcome

if TYPE_CHECKING:
    from collections.abc import Sequence


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

_CONNECTION_CODES = frozenset(
    {
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ConnectionClosedError",
        "ReadTimeoutError",
        "ProxyConnectionError",
        "SSLError",
        "ClientConnectorError",
        "ServerDisconnectedError",
        "TimeoutError",
    }
)
_CREDENTIAL_CODES = frozenset(
    {
        "NoCredentialsError",
        "PartialCredentialsError",
        "CredentialRetrievalError",
        "NoAuthTokenError",
        "SSOTokenLoadError",
        "TokenRetrievalError",
        "UnauthorizedSSOTokenError",
    }
)
_REJECTED_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
    }
)
_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException"})


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


def _not_sagemaker(error: sw.ServiceError, endpoint_url: str | None) -> str | None:
    """Say so if *error* shows an endpoint that does not speak SageMaker's JSON."""
    where = f"the endpoint at {endpoint_url or '?'} did not answer like SageMaker"
    advice = "check --endpoint-url or AWS_ENDPOINT_URL_SAGEMAKER"
    response = getattr(error.__cause__, "response", None)
    metadata = (
        response.get("ResponseMetadata", {}) if isinstance(response, dict) else {}
    )
    headers = metadata.get("HTTPHeaders") or {}
    content_type = str(headers.get("content-type", "")).partition(";")[0].strip()
    if content_type and "json" not in content_type:
        status = metadata.get("HTTPStatusCode", "?")
        return f"{where} (HTTP {status}, {content_type}); {advice}"
    if error.code == "MalformedResponse":
        return f"{where} (an unreadable answer: {error.__cause__ or error}); {advice}"
    return None


def _service_problem(  # noqa: PLR0911 - one diagnosis per kind of failure
    job_name: str,
    error: sw.ServiceError,
    *,
    endpoint_url: str | None,
    retried_for: float | None,
) -> str:
    code = error.code
    cause = str(error.__cause__) if error.__cause__ is not None else str(error)
    not_sagemaker = _not_sagemaker(error, endpoint_url)
    if not_sagemaker is not None:
        return not_sagemaker
    if code in _CREDENTIAL_CODES:
        return (
            f"no usable AWS credentials ({cause}); set AWS_PROFILE (after "
            "`aws sso login` for SSO) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    if code in _REJECTED_CODES:
        return f"AWS rejected the credentials ({code}); refresh or replace them"
    if code in _DENIED_CODES:
        return (
            f"access denied ({code}) to {job_name}; the credentials need "
            "sagemaker:DescribeTrainingJob"
        )
    if isinstance(error, sw.RetriesExhausted):
        retried = f" (retried for {retried_for:g}s)" if retried_for is not None else ""
        if code in _CONNECTION_CODES:
            return (
                f"cannot reach SageMaker: {cause}{retried}; check "
                "--endpoint-url or AWS_ENDPOINT_URL_SAGEMAKER, --region and the "
                "network"
            )
        return f"{job_name}: SageMaker kept failing ({code}) after retries: {cause}"
    return f"{job_name}: SageMaker refused the request: {error}"


def setup(error: sw.ServiceError) -> CliError:
    """Say what to do about a client that could not be set up.

    The source names botocore's error in ``error.code``, so the CLI needs no
    botocore import to tell them apart.
    """
    cause = error.__cause__ if error.__cause__ is not None else error
    code = error.code
    if code == "NoRegionError":
        return CliError(
            "no AWS region configured; pass --region or set AWS_REGION",
            ExitCode.AWS_ERROR,
        )
    if code == "ProfileNotFound":
        return CliError(
            f"{cause}; pass an existing --profile or fix AWS_PROFILE",
            ExitCode.AWS_ERROR,
        )
    if code == "InvalidRegionError":
        return CliError(f"{cause}; pass --region like us-east-1", ExitCode.USAGE)
    if code == "InvalidEndpoint":
        # Option and environment were checked up front: the config file is left.
        return CliError(
            f"{cause}; check endpoint_url in the AWS config file, or pass "
            "--endpoint-url like https://host[:port]",
            ExitCode.USAGE,
        )
    if isinstance(cause, ValueError):
        return CliError(
            f"{cause}; pass --endpoint-url like https://host[:port]", ExitCode.USAGE
        )
    return CliError(f"cannot set up AWS: {cause}", ExitCode.AWS_ERROR)
