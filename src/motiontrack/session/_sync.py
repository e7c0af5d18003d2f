"""A synchronous wrapper of :class:`Session` for applications without asyncio."""

from __future__ import annotations

import asyncio
import os
import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Self

from .. import events as ev
from ..errors import ConfigurationError
from ..exercise import ExerciseSettings
from ..kinematics import SegmentCalibration
from ..reps import Rep, Template
from ..transport import BleOptions
from ._session import Callback, Session, SensorCalibrations

__all__ = ["SyncSession"]


class SyncSession:
    """Run a :class:`Session` on a background thread; iterate its events synchronously.

    Takes the same arguments as :class:`Session` (``tests/test_typing.py`` checks that the
    two signatures agree)::

        with SyncSession({"thigh": "sim:thigh", "shank": "sim:shank"}) as session:
            for event in session.events(timeout=30.0):
                print(event)
        print(len(session.final_reps()))

    Callbacks registered with :meth:`on` run on the background thread.
    """

    def __init__(
        self,
        sensors: Mapping[str, str],
        *,
        joint: str | None = "knee",
        proximal: str | None = None,
        distal: str | None = None,
        segment: str | None = None,
        exercise: str | None = None,
        calibration: SegmentCalibration | None = None,
        record_to: str | os.PathLike[str] | None = None,
        replay_speed: float = 1.0,
        settings: ExerciseSettings | None = None,
        ble_options: BleOptions | None = None,
        recover: bool = False,
        sensor_calibration: SensorCalibrations | None = None,
        queue_size: int = 2048,
        max_pending_callbacks: int = 256,
        resume: str | None = None,
        lsl: bool = False,
        templates: Sequence[Template | str | os.PathLike[str]] | None = None,
    ) -> None:
        self._kwargs: dict[str, Any] = {
            "joint": joint,
            "proximal": proximal,
            "distal": distal,
            "segment": segment,
            "exercise": exercise,
            "calibration": calibration,
            "record_to": record_to,
            "replay_speed": replay_speed,
            "settings": settings,
            "ble_options": ble_options,
            "recover": recover,
            "sensor_calibration": sensor_calibration,
            "queue_size": queue_size,
            "max_pending_callbacks": max_pending_callbacks,
            "resume": resume,
            "lsl": lsl,
            "templates": templates,
        }
        self._sensors = sensors
        self._queue: queue.Queue[ev.SessionEvent | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._callbacks: list[tuple[Callback, tuple[type[ev.SessionEvent], ...]]] = []
        self.session: Session | None = None

    def on(self, callback: Callback, *event_types: type[ev.SessionEvent]) -> Callback:
        """Call ``callback(event)`` on the background thread (see :meth:`Session.on`);
        register before :meth:`start`."""
        self._callbacks.append((callback, event_types))
        return callback

    def final_reps(self) -> list[Rep]:
        """The session's reps with their extremes over the whole movement
        (:meth:`Session.final_reps`); call after the session ended or was closed."""
        if self.session is None:
            raise ConfigurationError("start the session first (with SyncSession(...) as session)")
        return self.session.final_reps()

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
            self.session = Session(self._sensors, **self._kwargs)
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
