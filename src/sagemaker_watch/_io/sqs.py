"""The only module that calls SQS: receive push hints, delete what was handled.

``SqsQueue`` wraps a caller-owned aiobotocore SQS client and one queue URL, in the
manner of ``source``: each call is ONE attempt, bounded in time, and a failure
comes back as a classified ``CallFailed`` (``failures`` sorts SQS's codes:
``RequestThrottled`` is throttled, 5xx transient, no such queue or access denied
fatal), never as a raw botocore or transport exception. Retrying is the caller's
decision.

``receive`` is one ``ReceiveMessage`` long poll; every message is read by
``_core.hints.read_hint`` into a ``Hint`` or a ``NotAHint``. ``delete`` removes
handled messages with ``DeleteMessageBatch``, ten at a time. A batch entry SQS
refuses (its ``Failed`` list: a receipt handle that expired or is unknown) is
counted, not returned: the message then comes back after its visibility timeout
and is read again as a duplicate hint, which costs at most one describe, or is
already gone. Only a whole call failing is a ``CallFailed``.

Message bodies carry the job's ``HyperParameters`` and ``Tags``: nothing here keeps,
logs or quotes one. ``read_hint`` keeps only checked fields, receipt handles are
out of every repr, and errors name SQS's codes, never an answer's body.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import types
from typing import TYPE_CHECKING, Any, Final

from .._core.hints import Hint, NotAHint, read_hint
from .._core.tracker import ErrorKind
from .._errors import MalformedResponse
from .client import endpoint_origin, require_asyncio
from .failures import (
    PARSER_ERRORS,
    call_errors,
    check_content_type,
    classify,
    give_up_error,
    is_parser_failure,
)
from .retry import call_within
from .source import CallFailed

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

#: No stubs for aiobotocore's SQS client are installed (types-aiobotocore[sqs]).
SqsClient = Any

__all__ = ["SqsQueue", "SqsStatistics"]

#: SQS's longest long poll, in seconds (``WaitTimeSeconds``).
MAX_WAIT_SECONDS: Final = 20
#: The most messages one ``ReceiveMessage`` returns, and entries one batch holds.
MAX_BATCH: Final = 10
#: How much longer than the long poll one receive may take before it is abandoned.
ATTEMPT_MARGIN: Final = 10.0


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class SqsStatistics:
    """Counters of one ``SqsQueue``; nothing of any message body.

    Attributes:
        receives: ``ReceiveMessage`` calls made, failed ones included.
        deletes: ``DeleteMessageBatch`` calls made, failed ones included.
        messages: messages received.
        hints: messages read as hints.
        not_hints: messages that were not hints, by ``NotAHintReason`` value.
        deleted: batch entries SQS reported deleted.
        delete_failures: batch entries SQS refused, by its error code (harmless:
            the message comes back as a duplicate, or is already gone).
        throttles: calls SQS throttled.
        errors: calls that failed otherwise.
    """

    receives: int
    deletes: int
    messages: int
    hints: int
    not_hints: Mapping[str, int]
    deleted: int
    delete_failures: Mapping[str, int]
    throttles: int
    errors: int


class SqsQueue:
    """One SQS queue of push hints over an aiobotocore SQS client (never closed here).

    Example::

        queue = SqsQueue(client, queue_url)
        received = await queue.receive()
        if not isinstance(received, CallFailed):
            ...  # describe the hinted jobs
            await queue.delete(received)
    """

    def __init__(
        self,
        client: SqsClient,
        queue_url: str,
        *,
        wait_seconds: int = MAX_WAIT_SECONDS,
        max_messages: int = MAX_BATCH,
        attempt_timeout: float | None = None,
    ) -> None:
        """Read *queue_url* through *client*.

        Args:
            client: an aiobotocore SQS client, owned by the caller.
            queue_url: the queue's URL.
            wait_seconds: ``WaitTimeSeconds`` of each receive, 0 to 20.
            max_messages: ``MaxNumberOfMessages`` of each receive, 1 to 10.
            attempt_timeout: the real-time bound of one call, longer than the long
                poll; ``None`` for *wait_seconds* plus ``ATTEMPT_MARGIN``.

        Raises:
            ValueError: a setting out of range.
        """
        if not 0 <= wait_seconds <= MAX_WAIT_SECONDS:
            msg = f"SqsQueue wait_seconds must be 0 to {MAX_WAIT_SECONDS}"
            raise ValueError(msg)
        if not 1 <= max_messages <= MAX_BATCH:
            msg = f"SqsQueue max_messages must be 1 to {MAX_BATCH}"
            raise ValueError(msg)
        if attempt_timeout is None:
            attempt_timeout = wait_seconds + ATTEMPT_MARGIN
        if not attempt_timeout > wait_seconds:
            msg = "SqsQueue attempt_timeout must exceed wait_seconds (the long poll)"
            raise ValueError(msg)
        self.client = client
        self.queue_url = queue_url
        self.wait_seconds = wait_seconds
        self.max_messages = max_messages
        self.attempt_timeout = float(attempt_timeout)
        self._receives = 0
        self._deletes = 0
        self._messages = 0
        self._hints = 0
        self._not_hints: collections.Counter[str] = collections.Counter()
        self._deleted = 0
        self._delete_failures: collections.Counter[str] = collections.Counter()
        self._throttles = 0
        self._errors = 0

    def __repr__(self) -> str:
        """Return a short description (the queue's origin, never its whole URL)."""
        return (
            f"SqsQueue({endpoint_origin(self.queue_url) or '?'}, "
            f"receives={self._receives}, messages={self._messages})"
        )

    def statistics(self) -> SqsStatistics:
        """Return the counters so far."""
        return SqsStatistics(
            receives=self._receives,
            deletes=self._deletes,
            messages=self._messages,
            hints=self._hints,
            not_hints=types.MappingProxyType(dict(self._not_hints)),
            deleted=self._deleted,
            delete_failures=types.MappingProxyType(dict(self._delete_failures)),
            throttles=self._throttles,
            errors=self._errors,
        )

    async def receive(
        self, *, wait_seconds: int | None = None
    ) -> list[Hint | NotAHint] | CallFailed:
        """Long-poll the queue once; read each message as a hint, or say why not.

        One ``ReceiveMessage`` (``WaitTimeSeconds``, ``MaxNumberOfMessages``),
        no retry; it returns as soon as messages are visible, or empty after the
        wait. Never raises its errors: a failure comes back classified.

        Args:
            wait_seconds: this poll's ``WaitTimeSeconds`` if shorter than the
                queue's (a watcher whose next describe is due sooner).

        Raises:
            UnsupportedEventLoop: not running under asyncio (raised at once).
        """
        require_asyncio()
        self._receives += 1
        request = {
            "QueueUrl": self.queue_url,
            "WaitTimeSeconds": self.wait_seconds
            if wait_seconds is None
            else max(0, min(self.wait_seconds, wait_seconds)),
            "MaxNumberOfMessages": self.max_messages,
        }
        try:
            response = await call_within(
                lambda: self._call("receive_message", request),
                seconds=self.attempt_timeout,
            )
            messages = response.get("Messages", [])
            if not isinstance(messages, list):
                msg = "ReceiveMessage answer whose Messages is not a list"
                raise MalformedResponse(msg)
        except call_errors() as error:
            return self._failed(error)
        results = [read_hint(message) for message in messages]
        self._messages += len(results)
        for result in results:
            if isinstance(result, Hint):
                self._hints += 1
            else:
                self._not_hints[result.reason.value] += 1
        return results

    async def delete(self, handled: Sequence[Hint | NotAHint]) -> CallFailed | None:
        """Delete the messages of *handled*, ten per ``DeleteMessageBatch``.

        Entries without a receipt handle are skipped; with none left, no call is
        made. Entries SQS refuses are counted in ``delete_failures``, not
        returned (see the module's docstring). A call that fails stops here and
        comes back classified; the messages not deleted return after their
        visibility timeout, as duplicate hints.

        Raises:
            UnsupportedEventLoop: not running under asyncio (raised at once).
        """
        require_asyncio()
        handles = list(
            dict.fromkeys(h.receipt_handle for h in handled if h.receipt_handle)
        )
        for start in range(0, len(handles), MAX_BATCH):
            batch = handles[start : start + MAX_BATCH]
            self._deletes += 1
            request = {
                "QueueUrl": self.queue_url,
                "Entries": [
                    {"Id": str(i), "ReceiptHandle": handle}
                    for i, handle in enumerate(batch)
                ],
            }
            try:
                response = await call_within(
                    functools.partial(self._call, "delete_message_batch", request),
                    seconds=self.attempt_timeout,
                )
            except call_errors() as error:
                return self._failed(error)
            self._count_deleted(response)
        return None

    def _count_deleted(self, response: Any) -> None:  # noqa: ANN401 - botocore answers are untyped dicts
        """Count a ``DeleteMessageBatch`` answer's successes and refusals."""
        successful = response.get("Successful")
        failed = response.get("Failed")
        self._deleted += len(successful) if isinstance(successful, list) else 0
        for entry in failed if isinstance(failed, list) else ():
            code = entry.get("Code") if isinstance(entry, dict) else None
            self._delete_failures[
                code if isinstance(code, str) and code.isprintable() else "?"
            ] += 1

    async def _call(self, operation: str, request: dict[str, Any]) -> Any:  # noqa: ANN401 - botocore answers are untyped dicts
        """Make one call; raise ``MalformedResponse`` for an answer we cannot read."""
        try:
            response = await getattr(self.client, operation)(**request)
        except PARSER_ERRORS as error:
            if not is_parser_failure(error):
                raise
            msg = f"botocore could not parse the SQS answer ({type(error).__name__})"
            raise MalformedResponse(msg) from error
        check_content_type(response)
        if not isinstance(response, dict):
            msg = "SQS answer that is not a JSON object"
            raise MalformedResponse(msg)
        return response

    def _failed(self, error: BaseException) -> CallFailed:
        kind = classify(error)
        if kind is ErrorKind.THROTTLED:
            self._throttles += 1
        else:
            self._errors += 1
        mapped = give_up_error(
            error, kind, job_name=None, endpoint=endpoint_origin(self.queue_url)
        )
        mapped.__cause__, mapped.__suppress_context__ = error, True
        return CallFailed(kind=kind, error=mapped)
