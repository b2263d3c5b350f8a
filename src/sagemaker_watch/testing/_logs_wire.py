"""The fake's CloudWatch Logs endpoint: its JSON 1.1 protocol over the simulated logs.

:class:`FakeSageMaker` hands every ``Logs_20140328.*`` request (content type
``application/x-amz-json-1.1``) to a :class:`LogsWire`, which counts it, charges
it to its operation's quota (``ThrottlingException`` "Rate exceeded", HTTP 400,
when spent), lets a fault armed for ``service="logs"`` answer first, and
otherwise answers from the simulated service
(:class:`~sagemaker_watch.testing.SimulatedSageMaker`, whose ``_logs`` model
holds the streams). Errors are written as the service writes them: a ``__type``
and a ``message``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import anyio

from ._errors import ApiError
from ._logs import LOG_OPERATIONS, job_of

if TYPE_CHECKING:
    import random
    from collections.abc import Awaitable, Callable

    from aiohttp import web

    from ._faults import ArmedFault, Fault
    from ._model import SimulatedSageMaker

JSON = dict[str, Any]

#: The ``X-Amz-Target`` prefix of CloudWatch Logs' operations.
LOGS_TARGET: Final = "Logs_20140328"
#: The members a ``missing_members`` fault drops from each answer.
REQUIRED_OUTPUT: Final = {
    "GetLogEvents": ("events", "nextForwardToken", "nextBackwardToken"),
    "DescribeLogStreams": ("logStreams",),
    "FilterLogEvents": ("events",),
    "DescribeLogGroups": ("logGroups",),
}


class LogsWire:
    """The CloudWatch Logs operations of one fake, on the wire.

    Args:
        service: the simulated service holding the jobs and their logs.
        faults: the fake's armed faults (the same list: injected ones apply).
        rng: the fake's fault dice.
        respond: writes an answer.
        error: writes an :class:`ApiError`.
        fault: writes the answer of a fault that is not an error or a delay.
    """

    def __init__(
        self,
        *,
        service: SimulatedSageMaker,
        faults: list[ArmedFault],
        rng: random.Random,
        respond: Callable[[JSON], web.StreamResponse],
        error: Callable[[ApiError], web.StreamResponse],
        fault: Callable[[web.Request, str, Fault, JSON], Awaitable[web.StreamResponse]],
    ) -> None:
        """Answer from *service*; nothing runs until a request comes."""
        self._service = service
        self._faults = faults
        self._rng = rng
        self._respond = respond
        self._error = error
        self._fault = fault

    def __repr__(self) -> str:
        """Return a short description."""
        return f"LogsWire(service={self._service!r})"

    async def handle(
        self, request: web.Request, operation: str, body: JSON
    ) -> web.StreamResponse:
        """Answer one CloudWatch Logs request (a quota, then a fault armed for it).

        It counts for the job its stream or stream prefix names.
        """
        service = self._service
        job_name = job_of(body)
        service.receive(operation, body, job_name)
        if operation not in LOG_OPERATIONS:
            return self._error(
                ApiError(
                    "UnknownOperationException",
                    f"Unknown operation {LOGS_TARGET}.{operation}",
                )
            )
        try:
            service.charge(operation)
        except ApiError as exc:
            return self._error(exc)
        fault = next(
            (
                f.fault
                for f in self._faults
                if f.fires(operation, job_name, self._rng, "logs")
            ),
            None,
        )
        if fault is not None:
            service.record_fault(
                operation,
                throttled=fault.kind == "error" and fault.code == "ThrottlingException",
            )
            if fault.kind == "error":
                return self._error(ApiError(fault.code, fault.message, fault.status))
            if fault.kind != "slow":
                return await self._fault(request, operation, fault, body)
            await anyio.sleep(fault.seconds)
        try:
            answer = service.answer(operation, body)
        except ApiError as exc:
            return self._error(exc)
        return self._respond(answer)
