"""The fleet's merged event stream: every job's events through one channel.

The scheduler emits each job's events (and ``IDLE`` whenever no job is left to
watch) into one unbounded memory channel, and with logs the fleet's log task
its lines; ``FleetWatcher.events()`` reads it through an ``Events`` iterator,
which ends when the fleet closes or, if asked, once nothing is left to watch.
"""

from __future__ import annotations

import contextlib
import math
from typing import TYPE_CHECKING, Final, Generic, Self, TypeVar

import anyio

from .._core.events import Event
from .._core.log_reader import LogLine

if TYPE_CHECKING:
    from collections.abc import Callable

    from anyio.streams.memory import (
        MemoryObjectReceiveStream,
        MemoryObjectSendStream,
    )

#: What the stream hands out: events, and log lines with logs.
ItemT = TypeVar("ItemT", Event, Event | LogLine)


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
        self._send: MemoryObjectSendStream[Event | LogLine | Idle] | None = None
        self._receive: MemoryObjectReceiveStream[Event | LogLine | Idle] | None = None

    def __repr__(self) -> str:
        """Return a short description."""
        return f"Stream(opened={self.opened})"

    @property
    def opened(self) -> bool:
        """Whether the channel was opened (it may be closed since)."""
        return self._receive is not None

    def open(self) -> None:
        """Create the channel: from now on, what is emitted is kept until read."""
        self._send, self._receive = anyio.create_memory_object_stream[
            Event | LogLine | Idle
        ](math.inf)

    def close(self) -> None:
        """Close both ends: readers stop, what is emitted is dropped."""
        if self._send is not None:
            self._send.close()
        if self._receive is not None:
            self._receive.close()

    def emit(self, item: Event | LogLine | Idle) -> None:
        """Put *item* in the channel, if there is one open."""
        if self._send is not None:
            with contextlib.suppress(anyio.ClosedResourceError):
                self._send.send_nowait(item)

    def reader(
        self,
        *,
        until_idle: bool,
        watching: Callable[[], int],
        read: Callable[[object], None] | None = None,
    ) -> Events[Event | LogLine]:
        """Return an iterator over the channel (see ``Events``); open it first."""
        assert self._receive is not None  # noqa: S101 - the fleet checks ``opened``
        return Events(
            self._receive, until_idle=until_idle, watching=watching, read=read
        )


class Events(Generic[ItemT]):
    """The merged stream, read from the fleet's memory object stream.

    Its items are events, and log lines too when the fleet reads logs.
    """

    def __init__(
        self,
        receive: MemoryObjectReceiveStream[Event | LogLine | Idle],
        *,
        until_idle: bool,
        watching: Callable[[], int],
        read: Callable[[object], None] | None = None,
    ) -> None:
        """Read *receive*; with *until_idle*, end once ``watching()`` is 0.

        *read* is told of every item handed out (the fleet's log resume tokens).
        """
        self._receive = receive
        self._until_idle = until_idle
        self._watching = watching
        self._read = read

    def __aiter__(self) -> Self:
        """Return the stream itself."""
        return self

    async def __anext__(self) -> ItemT:
        """Return the next item; stop when idle (if asked) or closed."""
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
            if self._read is not None:
                self._read(item)
            return item  # type: ignore[return-value] # Event | LogLine with logs
