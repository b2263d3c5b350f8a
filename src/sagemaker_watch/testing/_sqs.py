"""A simulated Amazon SQS standard queue on simulated time, without any transport.

:class:`SimulatedQueue` keeps messages as SQS does: each has a ``MessageId``, a
``Body`` and its ``MD5OfBody``, becomes visible at the instant it was sent (which
may be later than the change it reports, when a fault delays it), and once
received hides for the visibility timeout (30 s by default) under a fresh
``ReceiptHandle``; unless deleted with its latest handle it comes back after
that. Deleting with an older handle succeeds without deleting, as SQS documents.
The HTTP side (SQS's JSON 1.0 protocol, long polling) lives in
:class:`~sagemaker_watch.testing.FakeSageMaker`.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import uuid
from dataclasses import dataclass
from typing import Any, Final

from ._errors import ApiError

JSON = dict[str, Any]

#: The default ``VisibilityTimeout`` of a queue, in seconds.
DEFAULT_VISIBILITY_TIMEOUT: Final = 30.0
#: The most messages one ``ReceiveMessage`` returns.
MAX_MESSAGES: Final = 10
#: The longest ``WaitTimeSeconds`` of a long poll.
MAX_WAIT_SECONDS: Final = 20
#: Error codes as SQS's JSON protocol writes them (``__type``) and the legacy query
#: code it adds in the ``x-amzn-query-error`` header.
QUERY_CODES: Final = {
    "QueueDoesNotExist": "AWS.SimpleQueueService.NonExistentQueue",
    "ReceiptHandleIsInvalid": "ReceiptHandleIsInvalid",
    "RequestThrottled": "RequestThrottled",
    "InvalidParameterValue": "InvalidParameterValue",
    "EmptyBatchRequest": "AWS.SimpleQueueService.EmptyBatchRequest",
    "TooManyEntriesInBatchRequest": (
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    ),
    "BatchEntryIdsNotDistinct": "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
}
_SYSTEM_ATTRIBUTES: Final = (
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
)
_HANDLE_PREFIX: Final = "AQEBfake"


def invalid_parameter(message: str) -> ApiError:
    """Return SQS's ``InvalidParameterValue`` error with *message*."""
    return ApiError("InvalidParameterValue", message)


@dataclass(slots=True, kw_only=True)
class _Message:
    message_id: str
    body: str
    md5: str
    sent: float
    visible_at: float
    order: int
    receive_count: int = 0
    first_receive: float | None = None
    handle: str | None = None
    version: int = 0


def _ms(t: float) -> str:
    return str(round(t * 1000))


class SimulatedQueue:
    """One simulated SQS standard queue, answering as functions of simulated time.

    Messages come out in the order they became visible (a standard queue only
    tries to keep order; here delays are the only thing that reorders).

    Example::

        queue = SimulatedQueue("events", account_id="123456789012", region="us-east-1")
        queue.send("{}", at=0.0)
        [message] = queue.receive(now=1.0)
        queue.delete(message["ReceiptHandle"])
    """

    __slots__ = (
        "_handles",
        "_messages",
        "_order",
        "_ready",
        "account_id",
        "name",
        "region",
        "visibility_timeout",
    )

    def __init__(
        self,
        name: str,
        *,
        account_id: str,
        region: str,
        visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT,
    ) -> None:
        """Create an empty queue.

        Args:
            name: The queue's name, the last segment of its URL.
            account_id: The owning account, in its URL and ARN.
            region: The region in its ARN.
            visibility_timeout: Seconds a received message stays hidden.
        """
        self.name = name
        self.account_id = account_id
        self.region = region
        self.visibility_timeout = visibility_timeout
        self._messages: dict[str, _Message] = {}
        # (visible_at, order, message id, version): stale entries are skipped.
        self._ready: list[tuple[float, int, str, int]] = []
        self._handles = itertools.count(1)
        self._order = itertools.count()

    @property
    def arn(self) -> str:
        """The queue's ARN."""
        return f"arn:aws:sqs:{self.region}:{self.account_id}:{self.name}"

    def __repr__(self) -> str:
        """Return ``SimulatedQueue(name, messages=...)``."""
        return f"SimulatedQueue({self.name!r}, messages={len(self._messages)})"

    def __len__(self) -> int:
        """Return how many messages the queue holds, visible or not."""
        return len(self._messages)

    def send(self, body: str, *, at: float) -> str:
        """Put a message with *body* in the queue, visible from *at*; return its id."""
        message_id = str(uuid.uuid4())
        message = _Message(
            message_id=message_id,
            body=body,
            md5=hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - SQS's digest
            sent=at,
            visible_at=at,
            order=next(self._order),
        )
        self._messages[message_id] = message
        self._schedule(message)
        return message_id

    def _schedule(self, message: _Message) -> None:
        entry = (message.visible_at, message.order, message.message_id, message.version)
        heapq.heappush(self._ready, entry)

    def _head(self) -> tuple[float, int, str, int] | None:
        """The earliest live entry of the ready heap, stale ones dropped."""
        ready = self._ready
        while ready:
            _, _, message_id, version = ready[0]
            message = self._messages.get(message_id)
            if message is not None and message.version == version:
                return ready[0]
            heapq.heappop(ready)
        return None

    def next_visible(self, now: float) -> float | None:
        """Return when the next hidden message becomes visible, if one will."""
        head = self._head()
        return None if head is None or head[0] <= now else head[0]

    def receive(
        self,
        now: float,
        *,
        max_messages: int = 1,
        visibility_timeout: float | None = None,
        attribute_names: tuple[str, ...] = (),
    ) -> list[JSON]:
        """Receive up to *max_messages* visible messages, hiding each for a while.

        Args:
            now: The simulated instant, in POSIX seconds.
            max_messages: ``MaxNumberOfMessages``, 1 to 10.
            visibility_timeout: Seconds to hide them; the queue's by default.
            attribute_names: System attributes to return (``"All"`` for all).

        Returns:
            The messages, as ``ReceiveMessage`` lists them.

        Raises:
            ApiError: ``InvalidParameterValue`` for a count out of range.
        """
        if not 1 <= max_messages <= MAX_MESSAGES:
            raise invalid_parameter(
                f"Value {max_messages} for parameter MaxNumberOfMessages is invalid. "
                "Reason: Must be between 1 and 10, if provided."
            )
        hide = (
            self.visibility_timeout
            if visibility_timeout is None
            else visibility_timeout
        )
        visible: list[_Message] = []
        while len(visible) < max_messages:
            head = self._head()
            if head is None or head[0] > now:
                break
            heapq.heappop(self._ready)
            visible.append(self._messages[head[2]])
        wanted = set(attribute_names)
        if "All" in wanted:
            wanted.update(_SYSTEM_ATTRIBUTES)
        answers = []
        for message in visible:
            message.receive_count += 1
            if message.first_receive is None:
                message.first_receive = now
            message.visible_at = now + hide
            message.version += 1
            self._schedule(message)
            message.handle = (
                f"{_HANDLE_PREFIX}/{message.message_id}/{next(self._handles)}"
            )
            answer: JSON = {
                "MessageId": message.message_id,
                "ReceiptHandle": message.handle,
                "MD5OfBody": message.md5,
                "Body": message.body,
            }
            attributes = {
                "SentTimestamp": _ms(message.sent),
                "ApproximateReceiveCount": str(message.receive_count),
                "ApproximateFirstReceiveTimestamp": _ms(message.first_receive),
            }
            chosen = {k: v for k, v in attributes.items() if k in wanted}
            if chosen:
                answer["Attributes"] = chosen
            answers.append(answer)
        return answers

    def delete(self, handle: object) -> None:
        """Delete the message received under *handle*, if that is its latest handle.

        Raises:
            ApiError: ``ReceiptHandleIsInvalid`` for a handle the queue never issued.
        """
        if not isinstance(handle, str) or not handle.startswith(f"{_HANDLE_PREFIX}/"):
            raise ApiError(
                "ReceiptHandleIsInvalid",
                f'The input receipt handle "{handle}" is not a valid receipt handle.',
            )
        message_id = handle.split("/")[1]
        message = self._messages.get(message_id)
        if message is not None and message.handle == handle:
            del self._messages[message_id]

    def delete_batch(self, entries: object) -> JSON:
        """Answer ``DeleteMessageBatch`` for *entries* (``Id`` and ``ReceiptHandle``).

        Raises:
            ApiError: For an empty batch, more than 10 entries or repeated ids.
        """
        if not isinstance(entries, list) or not entries:
            raise ApiError(
                "EmptyBatchRequest",
                "There should be at least one DeleteMessageBatchRequestEntry in the "
                "request.",
            )
        if len(entries) > MAX_MESSAGES:
            raise ApiError(
                "TooManyEntriesInBatchRequest",
                f"Maximum number of entries per request are 10. You have sent "
                f"{len(entries)}.",
            )
        ids = [
            entry.get("Id") if isinstance(entry, dict) else None for entry in entries
        ]
        if len(set(ids)) != len(ids):
            raise ApiError(
                "BatchEntryIdsNotDistinct",
                "Two or more batch entries have the same Id.",
            )
        successful: list[JSON] = []
        failed: list[JSON] = []
        for entry_id, entry in zip(ids, entries, strict=True):
            try:
                self.delete(
                    entry.get("ReceiptHandle") if isinstance(entry, dict) else None
                )
            except ApiError as exc:
                failed.append(
                    {
                        "Id": entry_id,
                        "SenderFault": True,
                        "Code": exc.code,
                        "Message": exc.message,
                    }
                )
            else:
                successful.append({"Id": entry_id})
        return {"Successful": successful, "Failed": failed}

    def attributes(self, names: object, now: float) -> JSON:
        """Answer ``GetQueueAttributes`` for *names* (``"All"`` for all it knows)."""
        known = {
            "ApproximateNumberOfMessages": str(
                sum(m.visible_at <= now for m in self._messages.values())
            ),
            "ApproximateNumberOfMessagesNotVisible": str(
                sum(
                    m.visible_at > now and m.handle is not None
                    for m in self._messages.values()
                )
            ),
            "ApproximateNumberOfMessagesDelayed": str(
                sum(
                    m.visible_at > now and m.handle is None
                    for m in self._messages.values()
                )
            ),
            "VisibilityTimeout": str(int(self.visibility_timeout)),
            "QueueArn": self.arn,
        }
        wanted = set(names) if isinstance(names, list) else set()
        if "All" in wanted:
            return {"Attributes": known}
        return {"Attributes": {k: v for k, v in known.items() if k in wanted}}
