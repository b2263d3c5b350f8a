"""The time bound of one attempt, and the retry settings the drivers pass on.

There is no retry loop here: each call is one attempt, and the core tracker
(``JobTracker``, with the pure ``RetryPolicy`` and ``retry_delay``) decides
whether and when to try again, for ``watch()``, the waiters and the fleet alike.
``RetryPolicy`` is re-exported for the drivers that import it from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import anyio

from .._core.tracker import RetryPolicy

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["RetryPolicy", "call_within"]

T = TypeVar("T")


async def call_within(fn: Callable[[], Awaitable[T]], *, seconds: float) -> T:
    """Await ``fn()``, abandoning it after *seconds* of real time.

    Raises:
        TimeoutError: *fn* was still running after *seconds*; it was cancelled.
    """
    with anyio.move_on_after(seconds) as scope:
        return await fn()
    if scope.cancelled_caught:
        msg = f"the attempt took longer than {seconds:g}s"
        raise TimeoutError(msg)
    msg = "unreachable: the attempt neither returned nor timed out"  # pragma: no cover
    raise AssertionError(msg)  # pragma: no cover
