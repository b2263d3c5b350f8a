"""The fleet's merged event stream: every job's events through one channel.

The scheduler emits each job's events (and ``IDLE`` whenever no job is left to
watch) into one unbounded memory channel; ``FleetWatcher.events()`` reads it
through an ``Events`` iterator, which ends when the fleet closes or, if asked,
once nothing is left to watch.
"""

from __future__ import annotations

import contextlib
import math
from typing import TYPE_CHECKING, Final, Self

import anyio

from .._core.events import Event

if TYPE_CHECKING:
    from collections.abc import Callable

    from anyio.streams.memory import (
        MemoryObjectReceiveStream,
        MemoryObjectSendStream,
    )


class Idle:
    """The marker put in the stream when no job is left to watch."""


IDLE: Final = Idle()


class Stream:
    """A fleet's event channel: unbounded, opened when the fleet starts.

    Until it is opened (with ``stream=False``, never), what is emitted is dropped.
    """

    __slots__ = ("_receive", "_send")

    def __init__(self) -> None:
        """Start closed: nothing is kept."""
        self._send: MemoryObjectSendStream[Event | Idle] | None = None
        self._receive: MemoryObjectReceiveStream[Event | Idle] | None = None

    def __repr__(self) -> str:
        """Return a short description."""
        return f"Stream(opened={self.opened})"

    @property
    def opened(self) -> bool:
        """Whether the channel was opened (it may be closed since)."""
        return self._receive is not None

    def open(self) -> None:
        """Create the channel: from now on, what is emitted is kept until read."""
        self._send, self._receive = anyio.create_memory_object_stream[Event | Idle](
            math.inf
        )

    def close(self) -> None:
        """Close both ends: readers stop, what is emitted is dropped."""
        if self._send is not None:
            self._send.close()
        if self._receive is not None:
            self._receive.close()

    def emit(self, item: Event | Idle) -> None:
        """Put *item* in the channel, if there is one open."""
        if self._send is not None:
            with contextlib.suppress(anyio.ClosedResourceError):
                self._send.send_nowait(item)

    def reader(self, *, until_idle: bool, watching: Callable[[], int]) -> Events:
        """Return an iterator over the channel (see ``Events``); open it first."""
        assert self._receive is not None  # noqa: S101 - the fleet checks ``opened``
        return Events(self._receive, until_idle=until_idle, watching=watching)


class Events:
    """The merged stream, read from the fleet's memory object stream."""

    def __init__(
        self,
        receive: MemoryObjectReceiveStream[Event | Idle],
        *,
        until_idle: bool,
        watching: Callable[[], int],
    ) -> None:
        """Read *receive*; with *until_idle*, end once ``watching()`` is 0."""
        self._receive = receive
        self._until_idle = until_idle
        self._watching = watching

    def __aiter__(self) -> Self:
        """Return the stream itself."""
        return self

    async def __anext__(self) -> Event:
        """Return the next event; stop when idle (if asked) or closed."""
        while True:
            try:
                item = self._receive.receive_nowait()
            except anyio.WouldBlock:
                if self._until_idle and self._watching() == 0:
                    raise StopAsyncIteration from None
                try:
                    item = await self._receive.receive()
                except (anyio.EndOfStream, anyio.ClosedResourceError):
                    raise StopAsyncIteration from None
            except (anyio.EndOfStream, anyio.ClosedResourceError):
                raise StopAsyncIteration from None
            if isinstance(item, Idle):
                continue
            return item
