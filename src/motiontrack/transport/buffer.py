"""A bounded buffer between notification callbacks and a possibly slow consumer.

Producers (bleak notification callbacks, on the event loop) never wait: when the
buffer is full the *oldest* sample batch is discarded and counted, and the
consumer receives one :class:`~motiontrack.transport.events.BufferOverflow`
before the next item. Control events (gaps, link changes, status) are never
discarded; they travel in order with the samples.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable

from .events import BufferOverflow, SampleBatch, TransportEvent

__all__ = ["EventBuffer"]


class EventBuffer:
    """Bounded FIFO of transport events; ``put`` never blocks, ``get`` awaits.

    Parameters
    ----------
    max_batches : int
        Capacity for :class:`SampleBatch` items (control events are not counted).

    Attributes
    ----------
    event_tap : callable, optional
        ``event_tap(event)`` is called with every control event put (gaps, link
        changes, status; not sample batches) as it is put, e.g. by a test bench that
        watches the links while an application consumes the buffer. It must be quick and
        must not raise.
    """

    def __init__(self, max_batches: int) -> None:
        self.max_batches = int(max_batches)
        self._order = itertools.count()
        self._samples: deque[tuple[int, SampleBatch]] = deque()
        self._events: deque[tuple[int, TransportEvent]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._pending_packets = 0
        self._pending_samples = 0
        #: Totals since creation.
        self.dropped_packets = 0
        self.dropped_samples = 0
        self.high_water = 0
        self._closed = False
        self.event_tap: Callable[[TransportEvent], None] | None = None

    def __len__(self) -> int:
        return len(self._samples) + len(self._events)

    def put(self, item: TransportEvent) -> None:
        """Append ``item``; discard the oldest sample batch if full. Never blocks."""
        if self._closed:
            return
        if isinstance(item, SampleBatch):
            if len(self._samples) >= self.max_batches:
                _, old = self._samples.popleft()
                self._pending_packets += 1
                self._pending_samples += old.n_samples
                self.dropped_packets += 1
                self.dropped_samples += old.n_samples
            self._samples.append((next(self._order), item))
            self.high_water = max(self.high_water, len(self._samples))
        else:
            self._events.append((next(self._order), item))
            if self.event_tap is not None:
                self.event_tap(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def get_nowait(self) -> TransportEvent | None:
        """Next item, or None when empty."""
        if self._pending_packets:
            overflow = BufferOverflow(
                dropped_packets=self._pending_packets, dropped_samples=self._pending_samples
            )
            self._pending_packets = self._pending_samples = 0
            return overflow
        if self._samples and (not self._events or self._samples[0][0] < self._events[0][0]):
            return self._samples.popleft()[1]
        if self._events:
            return self._events.popleft()[1]
        return None

    async def get(self) -> TransportEvent:
        """Wait for the next item. Raises :class:`EOFError` once closed and drained."""
        while True:
            item = self.get_nowait()
            if item is not None:
                return item
            if self._closed:
                raise EOFError("event buffer closed")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def close(self) -> None:
        """No more items; a waiting ``get`` wakes up (and raises once drained)."""
        self._closed = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
