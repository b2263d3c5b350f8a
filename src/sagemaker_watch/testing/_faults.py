"""Fault injection in the fake SageMaker's HTTP adapter: failures on the wire."""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import random
    from collections.abc import Mapping

FaultKind = Literal[
    "error",
    "drop_connection",
    "slow",
    "truncated",
    "malformed",
    "drop_event",
    "duplicate_event",
    "delay_event",
    "reorder_events",
]
MalformedKind = Literal["not_json", "cut_json", "missing_members"]
#: Where a fault strikes: SageMaker's API, the SQS queue's API, the delivery of
#: EventBridge events into the queue, or CloudWatch Logs' API.
FaultTarget = Literal["sagemaker", "sqs", "events", "logs"]
#: The APIs whose requests a fault on the wire can answer.
WireTarget = Literal["sagemaker", "sqs", "logs"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    """One injected misbehaviour; build it with a classmethod such as :meth:`throttle`.

    A fault matches a request when *operation* (``None``: any) and *job_name*
    (``None``: any, including requests naming no job) both match. It then fires
    *times* times, or on each match with seeded *probability*, or, with neither,
    on every match until :meth:`FakeSageMaker.clear_faults`. The first matching
    fault, in injection order, decides the answer.

    *service* says where it strikes: SageMaker requests (the default), requests
    to the fake's SQS queue (:meth:`sqs_throttle`, :meth:`sqs_server_error`;
    ``operation`` such as ``"ReceiveMessage"``), requests to its CloudWatch
    Logs (``service="logs"``: :meth:`logs_throttle`, :meth:`logs_server_error`,
    and :meth:`error`, :meth:`slow`, :meth:`drop_connection`, :meth:`truncated`
    and :meth:`malformed_body` with ``service="logs"``; ``operation`` such as
    ``"GetLogEvents"``, ``job_name`` the job of the stream named in the
    request), or the delivery of each
    state-change event into the queue (:meth:`drop_event`,
    :meth:`duplicate_event`, :meth:`delay_event`, :meth:`reorder_events`;
    ``job_name`` picks the job). On the event path every matching fault applies,
    not only the first: a drop removes the event, a duplicate delivers it twice,
    delays add up.

    Attributes:
        kind: What happens to the request.
        operation: The operation name, such as ``"DescribeTrainingJob"``.
        job_name: The ``TrainingJobName`` in the request.
        times: How many matching requests fail.
        probability: The chance that each matching request fails.
        status: HTTP status of an ``"error"`` fault.
        code: The ``__type`` of an ``"error"`` fault.
        message: The message of an ``"error"`` fault.
        seconds: The delay of a ``"slow"`` fault, in real seconds.
        malformed: For ``"malformed"``: a body that is not JSON (``"not_json"``),
            the first half of the JSON answer with a truthful Content-Length
            (``"cut_json"``), or JSON lacking the output's required members
            (``"missing_members"``).
        service: Where the fault strikes.
    """

    kind: FaultKind
    operation: str | None = None
    job_name: str | None = None
    times: int | None = None
    probability: float | None = None
    status: int = 400
    code: str = ""
    message: str = ""
    seconds: float = 0.0
    malformed: MalformedKind = "not_json"
    service: FaultTarget = "sagemaker"

    def __post_init__(self) -> None:
        """Reject impossible counts, probabilities and delays."""
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1")
        if self.probability is not None and not 0 <= self.probability <= 1:
            raise ValueError("probability must be between 0 and 1")
        if self.seconds < 0:
            raise ValueError("seconds cannot be negative")

    @classmethod
    def error(
        cls,
        code: str,
        message: str,
        *,
        status: int = 400,
        operation: str | None = None,
        job_name: str | None = None,
        times: int | None = None,
        probability: float | None = None,
        service: WireTarget = "sagemaker",
    ) -> Fault:
        """Answer with the AWS error *code* (``__type``), *message* and HTTP *status*.

        For instance ``Fault.error("ResourceLimitExceeded", "...")`` on
        ``CreateTrainingJob``.
        """
        return cls(
            kind="error",
            code=code,
            message=message,
            status=status,
            operation=operation,
            job_name=job_name,
            times=times,
            probability=probability,
            service=service,
        )

    @classmethod
    def throttle(
        cls,
        *,
        operation: str | None = None,
        job_name: str | None = None,
        times: int | None = None,
        probability: float | None = None,
    ) -> Fault:
        """Answer HTTP 400 ``ThrottlingException``, "Rate exceeded"."""
        return cls.error(
            "ThrottlingException",
            "Rate exceeded",
            operation=operation,
            job_name=job_name,
            times=times,
            probability=probability,
        )

    @classmethod
    def server_error(
        cls,
        status: Literal[500, 503] = 503,
        *,
        operation: str | None = None,
        job_name: str | None = None,
        times: int | None = None,
        probability: float | None = None,
    ) -> Fault:
        """Answer 503 ``ServiceUnavailable`` or 500 ``InternalFailure``."""
        code, message = (
            ("ServiceUnavailable", "Service Unavailable")
            if status == 503  # noqa: PLR2004
            else (
                "InternalFailure",
                "We encountered an internal error. Please try again.",
            )
        )
        return cls.error(
            code,
            message,
            status=status,
            operation=operation,
            job_name=job_name,
            times=times,
            probability=probability,
        )

    @classmethod
    def drop_connection(
        cls,
        *,
        operation: str | None = None,
        job_name: str | None = None,
        times: int | None = None,
        probability: float | None = None,
        service: WireTarget = "sagemaker",
    ) -> Fault:
        """Close the connection without sending any response."""
        return cls(
            kind="drop_connection",
            operation=operation,
            job_name=job_name,
            times=times,
            probability=probability,
            service=service,
        )

    @classmethod
    def slow(
        cls,
        seconds: float,
        *,
        operation: str | None = None,
        job_name: str | None = None,
        times: int | None = None,
        probability: float | None = None,
        service: WireTarget = "sagemaker",
    ) -> Fault:
        """Wait *seconds* of REAL time, then answer normally (to trip read timeouts).

        ``service="sqs"`` slows the fake's SQS requests instead (``operation``
        such as ``"DeleteMessageBatch"``), ``service="logs"`` its CloudWatch
        Logs requests (``operation`` such as ``"GetLogEvents"``).
        """
        return cls(
            kind="slow",
            seconds=seconds,
            operation=operation,
            job_name=job_name,
            times=times,
            probability=probability,
            service=service,
        )

    @classmethod
    def truncated(
        cls,
        *,
        operation: str | None = None,
        job_name: str | None = None,
        times: int | None = None,
        probability: float | None = None,
        service: WireTarget = "sagemaker",
    ) -> Fault:
        """Send the headers and half the body, then close: Content-Length lies."""
        return cls(
            kind="truncated",
            operation=operation,
            job_name=job_name,
            times=times,
            probability=probability,
            service=service,
        )

    @classmethod
    def malformed_body(
        cls,
        kind: MalformedKind = "not_json",
        *,
        operation: str | None = None,
        job_name: str | None = None,
        times: int | None = None,
        probability: float | None = None,
        service: WireTarget = "sagemaker",
    ) -> Fault:
        """Answer HTTP 200 with a body that is not JSON, cut short, or lacks members."""
        return cls(
            kind="malformed",
            malformed=kind,
            operation=operation,
            job_name=job_name,
            times=times,
            probability=probability,
            service=service,
        )

    @classmethod
    def sqs_throttle(
        cls,
        *,
        operation: str | None = None,
        times: int | None = None,
        probability: float | None = None,
    ) -> Fault:
        """Answer an SQS request with HTTP 400 ``RequestThrottled``, as SQS does."""
        return cls(
            kind="error",
            code="RequestThrottled",
            message="Request is throttled.",
            operation=operation,
            times=times,
            probability=probability,
            service="sqs",
        )

    @classmethod
    def sqs_server_error(
        cls,
        status: Literal[500, 503] = 503,
        *,
        operation: str | None = None,
        times: int | None = None,
        probability: float | None = None,
    ) -> Fault:
        """Answer an SQS request 503 ``ServiceUnavailable`` or 500 ``InternalError``."""
        code, message = (
            ("ServiceUnavailable", "Service Unavailable")
            if status == 503  # noqa: PLR2004
            else (
                "InternalError",
                "We encountered an internal error. Please try again.",
            )
        )
        return cls(
            kind="error",
            code=code,
            message=message,
            status=status,
            operation=operation,
            times=times,
            probability=probability,
            service="sqs",
        )

    @classmethod
    def logs_throttle(
        cls,
        *,
        operation: str | None = None,
        job_name: str | None = None,
        times: int | None = None,
        probability: float | None = None,
    ) -> Fault:
        """Answer a CloudWatch Logs request HTTP 400 ``ThrottlingException``.

        With the service's message, "Rate exceeded".
        """
        return cls.error(
            "ThrottlingException",
            "Rate exceeded",
            operation=operation,
            job_name=job_name,
            times=times,
            probability=probability,
            service="logs",
        )

    @classmethod
    def logs_server_error(
        cls,
        status: Literal[500, 503] = 503,
        *,
        operation: str | None = None,
        job_name: str | None = None,
        times: int | None = None,
        probability: float | None = None,
    ) -> Fault:
        """Answer a CloudWatch Logs request with a server error.

        503 ``ServiceUnavailableException`` (the service's error for "the
        service cannot complete the request") or 500 ``InternalFailure``.
        """
        code, message = (
            ("ServiceUnavailableException", "The service cannot complete the request.")
            if status == 503  # noqa: PLR2004
            else (
                "InternalFailure",
                (
                    "The request processing has failed because of an unknown "
                    "error, exception or failure."
                ),
            )
        )
        return cls.error(
            code,
            message,
            status=status,
            operation=operation,
            job_name=job_name,
            times=times,
            probability=probability,
            service="logs",
        )

    @classmethod
    def drop_event(
        cls,
        *,
        job_name: str | None = None,
        times: int | None = None,
        probability: float | None = None,
    ) -> Fault:
        """Lose a state-change event: it never reaches the queue."""
        return cls(
            kind="drop_event",
            job_name=job_name,
            times=times,
            probability=probability,
            service="events",
        )

    @classmethod
    def duplicate_event(
        cls,
        *,
        job_name: str | None = None,
        times: int | None = None,
        probability: float | None = None,
    ) -> Fault:
        """Deliver a state-change event twice (two messages, one event ``id``)."""
        return cls(
            kind="duplicate_event",
            job_name=job_name,
            times=times,
            probability=probability,
            service="events",
        )

    @classmethod
    def delay_event(
        cls,
        seconds: float,
        *,
        job_name: str | None = None,
        times: int | None = None,
        probability: float | None = None,
    ) -> Fault:
        """Deliver a state-change event *seconds* of simulated time after the change."""
        return cls(
            kind="delay_event",
            seconds=seconds,
            job_name=job_name,
            times=times,
            probability=probability,
            service="events",
        )

    @classmethod
    def reorder_events(
        cls,
        seconds: float,
        *,
        job_name: str | None = None,
        times: int | None = None,
        probability: float | None = None,
    ) -> Fault:
        """Delay each event by a seeded random 0 to *seconds*: later ones overtake."""
        return cls(
            kind="reorder_events",
            seconds=seconds,
            job_name=job_name,
            times=times,
            probability=probability,
            service="events",
        )

    def __repr__(self) -> str:
        """Return ``Fault(kind, operation=..., job_name=..., times=...)``."""
        return (
            f"Fault({self.kind!r}, operation={self.operation!r}, "
            f"job_name={self.job_name!r}, times={self.times!r}, "
            f"probability={self.probability!r}"
            + ("" if self.service == "sagemaker" else f", service={self.service!r}")
            + ")"
        )


class ArmedFault:
    """A fault as injected into one fake: it remembers how many times are left."""

    __slots__ = ("fault", "remaining")

    def __init__(self, fault: Fault) -> None:
        """Arm *fault*."""
        self.fault = fault
        self.remaining = fault.times

    def fires(
        self,
        operation: str,
        job_name: str | None,
        rng: random.Random,
        service: FaultTarget = "sagemaker",
    ) -> bool:
        """Return whether this fault answers the request, consuming one use if so."""
        fault = self.fault
        if fault.service != service:
            return False
        if fault.operation is not None and fault.operation != operation:
            return False
        if fault.job_name is not None and fault.job_name != job_name:
            return False
        if self.remaining is not None and self.remaining <= 0:
            return False
        if fault.probability is not None and rng.random() >= fault.probability:
            return False
        if self.remaining is not None:
            self.remaining -= 1
        return True


#: Named fault scenarios: the matrix sagemaker-watch's own tests put every watcher
#: through. Inject one with ``fake.inject(*FAULT_SCENARIOS[name])`` to check that
#: your code reaches the right outcome through it. ``slower_than_read_timeout``
#: needs a client whose read timeout is under 0.3 s.
FAULT_SCENARIOS: Mapping[str, tuple[Fault, ...]] = types.MappingProxyType(
    {
        "throttling_storm": (Fault.throttle(times=40), Fault.throttle(probability=0.5)),
        "5xx_burst": (
            Fault.server_error(503, times=8),
            Fault.server_error(500, times=8),
        ),
        "5xx_sprinkled": (Fault.server_error(503, probability=0.3),),
        "dropped_connections": (Fault.drop_connection(probability=0.3),),
        "slower_than_read_timeout": (Fault.slow(0.3, times=3),),
        "truncated_bodies": (Fault.truncated(probability=0.3),),
        "not_json": (Fault.malformed_body("not_json", probability=0.3),),
        "cut_json": (Fault.malformed_body("cut_json", probability=0.3),),
        "missing_members": (Fault.malformed_body("missing_members", probability=0.3),),
        "expired_credentials": (
            Fault.error(
                "ExpiredTokenException",
                "The security token included in the request is expired",
                times=2,
            ),
        ),
    }
)

#: Named scenarios for the push path: the faults of EventBridge delivery into the
#: queue and of the queue's API. Inject one with
#: ``fake.inject(*EVENT_FAULT_SCENARIOS[name])`` on a fake with an events queue.
EVENT_FAULT_SCENARIOS: Mapping[str, tuple[Fault, ...]] = types.MappingProxyType(
    {
        "dropped_and_duplicated": (
            Fault.drop_event(probability=0.2),
            Fault.duplicate_event(probability=0.2),
        ),
        "all_dropped": (Fault.drop_event(),),
        "late": (Fault.delay_event(120.0),),
        "reordered": (Fault.reorder_events(60.0),),
        "sqs_throttling": (Fault.sqs_throttle(probability=0.5),),
        "sqs_5xx": (
            Fault.sqs_server_error(503, probability=0.2),
            Fault.sqs_server_error(500, probability=0.1),
        ),
        "sqs_down": (Fault.sqs_server_error(503),),
    }
)
