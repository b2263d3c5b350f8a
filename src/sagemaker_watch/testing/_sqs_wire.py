"""The fake's SQS endpoint: SQS's JSON 1.0 protocol over the simulated queues.

:class:`FakeSageMaker` hands every ``AmazonSQS.*`` request to a :class:`SqsWire`,
which answers from the simulated service's queues (``_sqs.SimulatedQueue``),
publishing due state-change events first. A ``ReceiveMessage`` long poll sleeps
on the simulated clock until a message is visible, the next event is due, or its
wait ends; :meth:`SqsWire.wake` cuts the sleep short when a job is created or
stopped. Errors are written as the real service writes them over JSON (a
``__type`` and an ``x-amzn-query-error`` header with the legacy code), so botocore
reports the same codes; faults armed for ``service="sqs"`` answer first.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import urllib.parse
from typing import TYPE_CHECKING, Any, Final

import anyio
from aiohttp import web

from ._errors import ApiError
from ._sqs import MAX_WAIT_SECONDS, QUERY_CODES, invalid_parameter

if TYPE_CHECKING:
    import random
    from collections.abc import Callable

    from ._clocks import ManualClock, ScaledClock
    from ._faults import ArmedFault
    from ._model import SimulatedSageMaker
    from ._sqs import SimulatedQueue

JSON = dict[str, Any]

#: SQS's JSON protocol.
SQS_CONTENT_TYPE: Final = "application/x-amz-json-1.0"


class SqsWire:
    """The SQS operations of one fake, on the wire.

    Args:
        service: the simulated service holding the queues.
        clock: the simulated clock long polls sleep on.
        faults: the fake's armed faults (the same list: injected ones apply).
        rng: the fake's fault dice.
        account_id: the account in queue URLs.
        queue_url: builds a queue's URL from its name.
        headers: builds response headers for a content type.
    """

    def __init__(
        self,
        *,
        service: SimulatedSageMaker,
        clock: ManualClock | ScaledClock,
        faults: list[ArmedFault],
        rng: random.Random,
        account_id: str,
        queue_url: Callable[[str], str],
        headers: Callable[[str], dict[str, str]],
    ) -> None:
        """Answer from *service*'s queues; nothing runs until a request comes."""
        self._service = service
        self._clock = clock
        self._faults = faults
        self._rng = rng
        self._account_id = account_id
        self._queue_url = queue_url
        self._headers = headers
        self._wakeup = anyio.Event()

    def __repr__(self) -> str:
        """Return a short description."""
        return f"SqsWire(account_id={self._account_id!r})"

    def wake(self) -> None:
        """Wake long polls: a job was created or stopped, so events may come sooner."""
        self._wakeup.set()
        self._wakeup = anyio.Event()

    async def handle(self, operation: str, body: JSON) -> web.Response:
        """Answer one SQS request (a fault armed for it first)."""
        self._service.receive(operation, body)
        fault = next(
            (
                f.fault
                for f in self._faults
                if f.fires(operation, None, self._rng, "sqs")
            ),
            None,
        )
        if fault is not None and fault.kind == "error":
            self._service.record_fault(
                operation, throttled=fault.code == "RequestThrottled"
            )
            return self._error(ApiError(fault.code, fault.message, fault.status))
        if fault is not None and fault.kind == "slow":
            await anyio.sleep(fault.seconds)
        try:
            answer = await self._answer(operation, body)
        except ApiError as exc:
            return self._error(exc)
        payload = json.dumps(answer, separators=(",", ":")).encode()
        return web.Response(
            status=200, body=payload, headers=self._headers(SQS_CONTENT_TYPE)
        )

    async def _answer(  # noqa: C901, PLR0911 - one branch per SQS operation
        self, operation: str, body: JSON
    ) -> JSON:
        service = self._service
        service.publish_events()
        if operation == "GetQueueUrl":
            name = body.get("QueueName")
            self._queue(f"/{self._account_id}/{name}")
            return {"QueueUrl": self._queue_url(str(name))}
        if operation == "CreateQueue":
            name = str(body.get("QueueName"))
            timeout = (body.get("Attributes") or {}).get("VisibilityTimeout", 30)
            service.create_queue(name, visibility_timeout=float(timeout))
            return {"QueueUrl": self._queue_url(name)}
        queue = self._queue(body.get("QueueUrl"))
        now = self._clock.timestamp
        if operation == "ReceiveMessage":
            wait = body.get("WaitTimeSeconds", 0)
            if not isinstance(wait, int) or not 0 <= wait <= MAX_WAIT_SECONDS:
                raise invalid_parameter(
                    f"Value {wait} for parameter WaitTimeSeconds is invalid. "
                    "Reason: Must be >= 0 and <= 20, if provided."
                )
            names = tuple(body.get("MessageSystemAttributeNames") or ()) + tuple(
                body.get("AttributeNames") or ()
            )
            deadline = now() + wait
            while True:
                service.publish_events()
                messages = queue.receive(
                    now(),
                    max_messages=body.get("MaxNumberOfMessages", 1),
                    visibility_timeout=body.get("VisibilityTimeout"),
                    attribute_names=names,
                )
                if messages or now() >= deadline:
                    return {"Messages": messages} if messages else {}
                wake = min(
                    t
                    for t in (
                        deadline,
                        service.next_event_instant(),
                        queue.next_visible(now()),
                    )
                    if t is not None
                )
                await self._sleep(max(wake - now(), 0.0))
        if operation == "DeleteMessage":
            queue.delete(body.get("ReceiptHandle"))
            return {}
        if operation == "DeleteMessageBatch":
            return queue.delete_batch(body.get("Entries"))
        if operation == "GetQueueAttributes":
            return queue.attributes(body.get("AttributeNames"), now())
        if operation == "SendMessage":
            text = str(body.get("MessageBody", ""))
            delay = body.get("DelaySeconds", 0)
            message_id = queue.send(text, at=now() + float(delay))
            self.wake()
            return {
                "MessageId": message_id,
                "MD5OfMessageBody": hashlib.md5(text.encode()).hexdigest(),  # noqa: S324 - SQS's digest
            }
        raise ApiError("UnsupportedOperation", f"Unsupported operation {operation}")

    def _queue(self, url: object) -> SimulatedQueue:
        path = urllib.parse.urlsplit(url).path if isinstance(url, str) else ""
        account, _, name = path.strip("/").partition("/")
        if account == self._account_id:
            with contextlib.suppress(KeyError):
                return self._service.queue(name)
        raise ApiError("QueueDoesNotExist", "The specified queue does not exist.", 400)

    async def _sleep(self, seconds: float) -> None:
        """Sleep *seconds* of simulated time, or until a job is created or stopped."""
        wakeup = self._wakeup
        async with anyio.create_task_group() as tg:

            async def sleep() -> None:
                await self._clock.sleep(seconds)
                tg.cancel_scope.cancel()

            async def woken() -> None:
                await wakeup.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(sleep)
            tg.start_soon(woken)

    def _error(self, exc: ApiError) -> web.Response:
        sender = "Receiver" if exc.status >= 500 else "Sender"  # noqa: PLR2004
        headers = self._headers(SQS_CONTENT_TYPE)
        headers["x-amzn-query-error"] = (
            f"{QUERY_CODES.get(exc.code, exc.code)};{sender}"
        )
        payload = json.dumps(
            {"__type": f"com.amazonaws.sqs#{exc.code}", "message": exc.message}
        ).encode()
        return web.Response(status=exc.status, body=payload, headers=headers)
