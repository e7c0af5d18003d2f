"""The bounded event queue between a session's processing and its consumer."""

from __future__ import annotations

import asyncio
import collections

from .. import events as ev

__all__ = ["Channel"]


class Channel:
    """Bounded event queue that never blocks the producer.

    When full, the oldest :class:`AngleUpdate` is discarded (else the oldest event that is
    not a rep or calibration event); the count is delivered as :class:`EventsDropped`
    ahead of the next event the consumer reads.
    """

    _KEEP = (
        ev.RepCompleted,
        ev.RepInterrupted,
        ev.CalibrationDone,
        ev.CalibrationFailed,
        ev.CalibrationPrompt,
        ev.SessionEnded,
        ev.SessionStarted,
        ev.SessionWarning,
    )

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self.items: collections.deque[ev.SessionEvent] = collections.deque()
        self.ready = asyncio.Event()
        self.closed = False
        self.pending_drops = 0
        self.total_dropped = 0

    def put(self, item: ev.SessionEvent) -> None:
        if self.closed:
            return
        if len(self.items) >= self.maxsize:
            victim = next(
                (
                    i
                    for i, x in enumerate(self.items)
                    if isinstance(x, (ev.AngleUpdate, ev.OrientationUpdate))
                ),
                None,
            )
            if victim is None:
                victim = next(
                    (i for i, x in enumerate(self.items) if not isinstance(x, self._KEEP)), None
                )
            if victim is not None:
                del self.items[victim]
                self.pending_drops += 1
                self.total_dropped += 1
            elif isinstance(item, (ev.AngleUpdate, ev.OrientationUpdate)):
                self.pending_drops += 1
                self.total_dropped += 1
                return
        self.items.append(item)
        self.ready.set()

    def close(self) -> None:
        self.closed = True
        self.ready.set()

    async def get(self) -> ev.SessionEvent:
        while True:
            if self.pending_drops and self.items:
                n, self.pending_drops = self.pending_drops, 0
                return ev.EventsDropped(t=self.items[0].t, count=n, total=self.total_dropped)
            if self.items:
                return self.items.popleft()
            if self.closed:
                raise EOFError
            self.ready.clear()
            await self.ready.wait()
