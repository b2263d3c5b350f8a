"""Push hints for ``watch()``, the waiters and ``FleetWatcher``: settings, counters.

``SqsHints`` names the SQS queue an EventBridge rule sends SageMaker's "Training
Job State Change" events to, and how to read it; pass it as ``hints=``. Each
event about a watched job makes that job due for a describe at once: the
describe stays the only source of truth, so a duplicated, reordered, late or
forged hint costs at most one describe and never changes what the user sees.
While hints flow, each job's poll schedule relaxes to a safety re-check every
``ceiling`` seconds (an eighth of it right after a change no event announced,
relaxing back as events announce the changes); when the queue fails or stays
silent through a change, the watcher falls back to its schedule until hints flow again
(``_core/hint_mode.py``). The reading itself is ``_hint_feed.py``'s.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

from .._core.hints import DEFAULT_WINDOW

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["HintStatistics", "SqsHints"]

#: An aiobotocore SQS client (no stubs are installed for it).
SqsClient = Any


@dataclasses.dataclass(frozen=True, slots=True)
class SqsHints:
    """Where to read push hints, and how: pass it as ``hints=``.

    ::

        hints = sw.SqsHints("https://sqs.eu-west-1.amazonaws.com/123456789012/sm-events")
        snapshot = await sw.wait_until_complete("my-job", hints=hints)

    A queue belongs to one watcher (one ``watch()``, one ``FleetWatcher``, one
    CLI process): SQS hands each message to one reader, and the watcher deletes
    every message it receives, including those about jobs it does not watch and
    those that are not training job events. Several watchers need a queue each
    (see docs/hints.md). Message bodies carry the job's ``HyperParameters`` and
    ``Tags``: nothing of a body is ever logged or kept.

    Attributes:
        queue_url: the queue's URL. An AWS URL names its region (which may
            differ from the jobs'); any other URL is the endpoint itself.
        client: a caller-owned aiobotocore SQS client, never closed here;
            without one, the watcher opens its own for the queue URL, with
            *region* and *profile* (else the watcher's), when it is entered.
        region: the region of a client the watcher opens, for a queue URL
            that is not AWS's.
        profile: the AWS profile of a client the watcher opens.
        ceiling: while hints flow, the longest wait between two describes of
            a job (a safety re-check: a lost event delays its change by at
            most this). Right after a change no event announced (events are
            being lost), re-checks come eight times as often, and relax twice
            as long again after each four changes in a row that events
            announced. In a fleet, stretched as the list re-checks are, so
            that re-checks take at most half the describe budget.
        silence: when a describe finds a change that no hint announced and no
            hint arrived for this many seconds, the rule or queue is taken to
            be broken: back to the poll schedule until a hint arrives.
        window: hints for one job within this many seconds give one describe.
        wait_seconds: each ``ReceiveMessage``'s long poll, 1 to 20 seconds (a
            watcher long-polls while it waits; short polls would spin).
        max_messages: each ``ReceiveMessage``'s batch, 1 to 10.
        pace: a fleet waits this many seconds after a receive that found the
            queue drained before the next one, so that messages arriving one
            by one are read (and deleted) in batches.
    """

    queue_url: str
    _: dataclasses.KW_ONLY
    client: SqsClient | None = dataclasses.field(
        default=None, repr=False, compare=False
    )
    region: str | None = None
    profile: str | None = None
    ceiling: float = 3600.0
    silence: float = 600.0
    window: float = DEFAULT_WINDOW
    wait_seconds: int = 20
    max_messages: int = 10
    pace: float = 2.0

    def __post_init__(self) -> None:
        """Check the settings.

        Raises:
            ValueError: a setting out of range.
        """
        if not isinstance(self.queue_url, str) or not self.queue_url:
            msg = f"queue_url must be the queue's URL, not {self.queue_url!r}"
            raise ValueError(msg)
        for name in ("ceiling", "silence", "window", "pace"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                msg = f"{name} must be a finite number of seconds >= 0, not {value!r}"
                raise ValueError(msg)
        if not self.ceiling > 0:
            msg = "ceiling must be more than 0 seconds"
            raise ValueError(msg)
        if not 1 <= self.wait_seconds <= 20:  # noqa: PLR2004 - SQS's limit
            msg = f"wait_seconds must be 1 to 20, not {self.wait_seconds!r}"
            raise ValueError(msg)
        if not 1 <= self.max_messages <= 10:  # noqa: PLR2004 - SQS's limit
            msg = f"max_messages must be 1 to 10, not {self.max_messages!r}"
            raise ValueError(msg)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class HintStatistics:
    """What a watcher's hints have done so far; nothing of any message body.

    Attributes:
        state: why hints are or are not trusted now: ``"starting"`` (no
            receive succeeded yet), ``"flowing"``, ``"queue_failed"``
            (receives keep failing), ``"queue_silent"`` (a change went
            unannounced in a silent queue).
        flowing: whether hints are trusted now (schedules relaxed).
        fallbacks: how many times the watcher fell back to its schedule.
        receives: ``ReceiveMessage`` calls, failed ones included.
        deletes: ``DeleteMessageBatch`` calls, failed ones included.
        messages: messages received.
        hints: messages that were training job events.
        not_hints: messages that were not, by reason (deleted).
        unwatched: hints about jobs the watcher does not watch (deleted).
        stale: hints the last describe already showed (no describe).
        coalesced: hints that joined a describe already due.
        hinted_describes: describes that hints made due.
        missed: changes a describe found that no hint had announced.
        throttles: SQS calls throttled.
        errors: SQS calls that failed otherwise.
    """

    state: str
    flowing: bool
    fallbacks: int
    receives: int
    deletes: int
    messages: int
    hints: int
    not_hints: Mapping[str, int]
    unwatched: int
    stale: int
    coalesced: int
    hinted_describes: int
    missed: int
    throttles: int
    errors: int
