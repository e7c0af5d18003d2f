"""A synchronous wrapper of :class:`Session` for applications without asyncio."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Iterator
from typing import Any, Self

from .. import events as ev
from ._session import Session

__all__ = ["SyncSession"]


class SyncSession:
    """Run a :class:`Session` on a background thread; iterate its events synchronously.

    Takes the same arguments as :class:`Session`::

        with SyncSession({"thigh": "sim:thigh", "shank": "sim:shank"}) as session:
            for event in session.events(timeout=30.0):
                print(event)

    Callbacks registered with :meth:`on` run on the background thread.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._args, self._kwargs = args, kwargs
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._callbacks: list[tuple[Any, tuple[type, ...]]] = []
        self.session: Session | None = None

    def on(self, callback: Any, *event_types: type[ev.SessionEvent]) -> Any:
        self._callbacks.append((callback, event_types))
        return callback

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="motiontrack-session", daemon=True)
        self._thread.start()
        self._started.wait()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            self.session = Session(*self._args, **self._kwargs)
            for cb, types in self._callbacks:
                self.session.on(cb, *types)
            self.session.on(self._queue.put)
            await self.session.start()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            self._error = exc
            self._started.set()
            self._queue.put(None)
            return
        self._started.set()
        stop = asyncio.create_task(self._stop.wait())
        done = asyncio.create_task(self.session.wait())
        await asyncio.wait({stop, done}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        done.cancel()
        await self.session.close()
        self._queue.put(None)

    def events(self, timeout: float | None = None) -> Iterator[ev.SessionEvent]:
        """Events until the session ends; stops after ``timeout`` s without one."""
        while True:
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                return
            if item is None:
                return
            yield item

    def close(self) -> None:
        if (
            self._loop is not None
            and self._stop is not None
            and self._thread is not None
            and self._thread.is_alive()
        ):
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(30.0)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
