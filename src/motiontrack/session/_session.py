"""``motiontrack.Session``: the live pipeline as an async context manager."""

from __future__ import annotations

import asyncio
import collections
import inspect
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Self

from .. import events as ev
from ..errors import ConfigurationError
from ._pipeline import Pipeline, SessionSettings
from ._sources import BleSource, ReplaySource, open_source

logger = logging.getLogger(__name__)

__all__ = ["Session"]

Callback = Callable[[ev.SessionEvent], Any]


class _Channel:
    """Bounded event queue that never blocks the producer.

    When full, the oldest :class:`AngleUpdate` is discarded (else the oldest event that is
    not a rep or calibration event); the count is delivered as :class:`EventsDropped`
    ahead of the next event the consumer reads.
    """

    _KEEP = (
        ev.RepCompleted,
        ev.CalibrationDone,
        ev.CalibrationFailed,
        ev.CalibrationPrompt,
        ev.SessionEnded,
        ev.SessionStarted,
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
                (i for i, x in enumerate(self.items) if isinstance(x, ev.AngleUpdate)), None
            )
            if victim is None:
                victim = next(
                    (i for i, x in enumerate(self.items) if not isinstance(x, self._KEEP)), None
                )
            if victim is not None:
                del self.items[victim]
                self.pending_drops += 1
                self.total_dropped += 1
            elif isinstance(item, ev.AngleUpdate):
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


class Session:
    """Live knee (or other joint) tracking: sensors in, typed events out.

    Parameters
    ----------
    sensors : mapping name -> source
        ``{"thigh": "ble:AA:BB:..", "shank": "ble:.."}``, virtual sensors
        ``{"thigh": "sim:thigh", "shank": "sim:shank"}`` (streamed through bleak), or a
        recording ``{"thigh": "replay:set1.mtrec", "shank": "replay:set1.mtrec"}``.
    joint : {"knee", "elbow", "hip", "shoulder", "hinge"}
        Joint between ``proximal`` and ``distal`` (default: the two sensors in order).
    segment : str, optional
        Count reps from this one sensor instead of a joint.
    exercise : str, optional
        Rep-counter preset and the exercise's posture (``"squat"``,
        ``"seated_knee_extension"``, ``"heel_slide"``, ...).
    calibration : SegmentCalibration, optional
        A known sensor-to-segment calibration; otherwise the session calibrates itself
        (``settings.calibration``: ``"auto"`` or ``"guided"``), prompting with events
        along the session protocol (docs/session-protocol.md): ``CalibrationPrompt``
        ``step="still"`` (stand still with the legs straight: 0° of flexion), ``"move"``
        (take the exercise position, keep still a second, exercise), ``"warning"`` (the
        patient started in the exercise posture: its nominal angle is assumed), then
        ``CalibrationDone``; reps made meanwhile are counted once it is done, from the
        first rest in the exercise posture. ``SessionSettings(pose=...)`` starts in a given
        posture instead.
    record_to : str or Path, optional
        Record raw packets, samples, calibration and events to this ``.mtrec`` file (0600).
    replay_speed : float
        For ``replay:`` sources: 1 = real time, 0 = as fast as possible.
    settings : SessionSettings, optional
    ble_options : motiontrack.transport.BleOptions, optional
    sensor_calibration : mapping or path, optional
        Sensor calibrations (:class:`motiontrack.calibration.SensorCalibration` per sensor
        name, or their JSON file) applied to every block before fusion; recorded with the
        session. Replays apply the ones stored in the recording when none is given.

    Examples
    --------
    >>> async def main():                                               # doctest: +SKIP
    ...     async with Session({"thigh": "sim:thigh", "shank": "sim:shank"}) as session:
    ...         async for event in session.events():
    ...             if isinstance(event, RepCompleted):
    ...                 print(event.count, round(event.rep.rom_deg))
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
        calibration: Any = None,
        record_to: str | os.PathLike[str] | None = None,
        replay_speed: float = 1.0,
        settings: SessionSettings | None = None,
        ble_options: Any = None,
        recover: bool = False,
        sensor_calibration: Any = None,
    ) -> None:
        if not sensors:
            raise ConfigurationError("a session needs at least one sensor")
        self.settings = settings or SessionSettings()
        self.sources = dict(sensors)
        self.joint = None if segment is not None else joint
        self._pipeline_args = {
            "joint": self.joint,
            "proximal": proximal,
            "distal": distal,
            "segment": segment,
            "exercise": exercise,
            "calibration": calibration,
            "settings": self.settings,
        }
        self.exercise = exercise
        self.record_to = record_to
        self._writer: Any = None
        self._perf0 = time.perf_counter()
        self.source = open_source(
            self.sources,
            options=ble_options,
            raw_tap=self._on_raw if record_to is not None else None,
            replay_speed=replay_speed,
            recover=recover,
        )
        self.sensor_calibration = self._load_sensor_calibration(sensor_calibration)
        self.pipeline: Pipeline | None = None
        self._channel: _Channel | None = None
        self._callbacks: list[tuple[Callback, tuple[type, ...]]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pump_task: asyncio.Task[None] | None = None
        self._sync_task: asyncio.Task[None] | None = None
        self._done = asyncio.Event() if _has_loop() else None
        self.dropped_callbacks = 0
        self.counts: collections.Counter[str] = collections.Counter()
        self._stopping = False
        self.last_t = 0.0
        self._calibration: Any = calibration

    def _load_sensor_calibration(self, given: Any) -> dict[str, Any]:
        from .. import calibration as scal

        if given is None:
            if isinstance(self.source, ReplaySource):
                rec = self.source.recording
                return {
                    c["sensor"]: scal.calibration_from_record(c)
                    for c in rec.calibration
                    if c.get("kind") == scal.RECORD_KIND and c.get("sensor") in self.source.names
                }
            return {}
        cals = dict(given) if isinstance(given, Mapping) else scal.load_calibrations(given)
        unknown = [n for n in cals if n not in self.source.names]
        if unknown and len(unknown) == len(cals):
            raise ConfigurationError(
                f"the sensor calibrations are for {sorted(cals)}, the session has {self.source.names}"
            )
        return {n: c for n, c in cals.items() if n in self.source.names}

    # ------------------------------------------------------------------ callbacks
    def on(self, callback: Callback, *event_types: type[ev.SessionEvent]) -> Callback:
        """Call ``callback(event)`` for every event (or only the given types).

        Plain functions run inline (keep them short); ``async def`` callbacks run as tasks
        (references kept; beyond ``settings.max_pending_callbacks`` in flight they are
        dropped and counted in :attr:`dropped_callbacks`). Returns ``callback`` so it can
        be used as a decorator.
        """
        self._callbacks.append((callback, tuple(event_types) or (ev.SessionEvent,)))
        return callback

    def _dispatch(self, event: ev.SessionEvent) -> None:
        for cb, types in self._callbacks:
            if not isinstance(event, types):
                continue
            try:
                if inspect.iscoroutinefunction(cb):
                    if len(self._tasks) >= self.settings.max_pending_callbacks:
                        self.dropped_callbacks += 1
                        continue
                    task = asyncio.get_running_loop().create_task(cb(event))
                    self._tasks.add(task)
                    task.add_done_callback(self._task_done)
                else:
                    res = cb(event)
                    if inspect.isawaitable(res):
                        task = asyncio.ensure_future(res)
                        self._tasks.add(task)
                        task.add_done_callback(self._task_done)
            except Exception:
                logger.exception("session callback %r failed", cb)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("async session callback failed", exc_info=task.exception())

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Warm up the kernels, connect/open the source, start streaming and processing."""
        from .. import fusion

        self._done = asyncio.Event()
        self._channel = _Channel(self.settings.queue_size)
        await asyncio.to_thread(fusion.warmup)
        await self.source.open()
        rates = self.source.rates()
        use_host = not isinstance(self.source, ReplaySource) or self.source.uses_host_time
        self.pipeline = Pipeline(rates, use_host_time=use_host, **self._pipeline_args)  # type: ignore[arg-type]
        if self.record_to is not None:
            self._open_writer(rates)
        self._perf0 = time.perf_counter()
        self._emit(
            ev.SessionStarted(
                t=0.0,
                sensors=tuple(self.source.names),
                joint=self.joint,
                source=self.source.description,
            )
        )
        self._pump_task = asyncio.get_running_loop().create_task(self._pump())
        if self._writer is not None:
            self._sync_task = asyncio.get_running_loop().create_task(self._sync_loop())

    def _open_writer(self, rates: dict[str, float]) -> None:
        from ..recording import RecordingWriter

        meta = {"joint": self.joint, "exercise": self.exercise, "sources": self.sources}
        self._writer = RecordingWriter(self.record_to, meta=meta)  # type: ignore[arg-type]
        for name in self.source.names:
            info = self.source.sensor_info(name)
            config = info.pop("config", None)
            if isinstance(config, str):
                config = bytes.fromhex(config)
            info.pop("config_hex", None)
            address = str(info.pop("address", ""))
            self._writer.add_sensor(name, fs=rates[name], address=address, config=config, **info)
        from .. import calibration as scal

        for name, cal in self.sensor_calibration.items():  # samples are recorded as received
            self._writer.write_calibration(scal.calibration_record(name, cal))

    def _on_raw(self, sensor: str, payload: bytes, at: float) -> None:
        if self._writer is not None and not self._writer.closed:
            self._writer.write_packet(sensor, payload, host_time_s=at - self._perf0)

    async def _sync_loop(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            if self._writer is None or self._writer.closed:
                return
            await asyncio.to_thread(self._writer.maybe_sync)

    async def _pump(self) -> None:
        from ..transport import BufferOverflow, Gap, LinkEvent, LinkState, SampleBatch

        assert self.pipeline is not None
        pipe = self.pipeline
        try:
            # after close() the source stops streaming and its events end once what it had
            # buffered is delivered: keep going until then, so no received sample is lost
            async for tev in self.source.events():
                if isinstance(tev, SampleBatch):
                    self.counts["samples"] += tev.n_samples
                    if self._writer is not None:
                        self._writer.write_samples(
                            tev.sensor,
                            tev.t,
                            tev.acc,
                            tev.gyr,
                            host_time_s=tev.received_at - self._perf0
                            if isinstance(self.source, BleSource)
                            else tev.received_at,
                        )
                    # processing off the event loop: BLE notifications keep flowing meanwhile
                    acc, gyr = tev.acc, tev.gyr
                    cal = self.sensor_calibration.get(tev.sensor)
                    if cal is not None:
                        acc, gyr, _ = cal.apply(acc, gyr, None)
                    try:
                        out = await asyncio.to_thread(
                            pipe.feed, tev.sensor, tev.t, acc, gyr, tev.received_at
                        )
                    except Exception:
                        # one bad block must not end a live session: report it as a gap
                        logger.exception("processing a block of %s failed", tev.sensor)
                        self.counts["processing_errors"] += 1
                        out = [
                            ev.DataGap(
                                t=self.last_t,
                                sensor=tev.sensor,
                                start_s=float(tev.t[0]),
                                end_s=float(tev.t[-1]),
                                missing_samples=tev.n_samples,
                                cause="processing_error",
                            )
                        ]
                    for e in out:
                        self._emit(e)
                elif isinstance(tev, Gap):
                    self._emit(
                        ev.DataGap(
                            t=self.last_t,
                            sensor=tev.sensor,
                            start_s=tev.start_s,
                            end_s=tev.end_s,
                            missing_samples=tev.missing_samples,
                            cause=tev.cause.value,
                        )
                    )
                elif isinstance(tev, LinkEvent):
                    if tev.state == LinkState.DISCONNECTED:
                        self._emit(
                            ev.SensorDisconnected(
                                t=self.last_t, sensor=tev.sensor, detail=tev.detail
                            )
                        )
                    elif tev.state == LinkState.RECONNECTED:
                        self._emit(
                            ev.SensorReconnected(
                                t=self.last_t, sensor=tev.sensor, attempts=tev.attempts
                            )
                        )
                    elif tev.state == LinkState.GAVE_UP:
                        self._emit(
                            ev.SensorDisconnected(
                                t=self.last_t, sensor=tev.sensor, detail="gave up reconnecting"
                            )
                        )
                elif isinstance(tev, BufferOverflow):
                    self._emit(
                        ev.DataGap(
                            t=self.last_t,
                            sensor="*",
                            start_s=self.last_t,
                            end_s=self.last_t,
                            missing_samples=tev.dropped_samples,
                            cause="buffer_overflow",
                        )
                    )
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.exception("session pipeline failed")
            raise
        finally:
            for e in pipe.flush():
                self._emit(e)
            self._done.set()  # type: ignore[union-attr]
            if not self._stopping:
                # the source ended (a replay): end the session, so `async for` loops finish
                task = asyncio.get_running_loop().create_task(self.close())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def _emit(self, event: ev.SessionEvent) -> None:
        self.counts[type(event).__name__] += 1
        if isinstance(event, ev.CalibrationDone):
            self._calibration = event.calibration
        self.last_t = max(self.last_t, float(event.t))
        if (
            self._writer is not None
            and not isinstance(event, ev.AngleUpdate)
            and not self._writer.closed
        ):
            try:
                self._writer.write_event(ev.event_to_dict(event))
                if isinstance(event, ev.CalibrationDone) and hasattr(event.calibration, "to_json"):
                    import json

                    self._writer.write_calibration(
                        {"kind": "segment", **json.loads(event.calibration.to_json())}
                    )
            except Exception:
                logger.exception("could not record event")
        if self._channel is not None:
            self._channel.put(event)
        self._dispatch(event)

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait until the source ends (replays) or ``timeout`` s pass; True if it ended."""
        assert self._done is not None
        try:
            await asyncio.wait_for(self._done.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def close(self) -> None:
        """Stop streaming, finish processing, emit :class:`SessionEnded`, close the file."""
        if self._channel is None or self._channel.closed:
            return
        self._stopping = True
        await self.source.close()
        if self._pump_task is not None:
            try:
                # let the block in processing finish (a calibration attempt can take a while
                # on a loaded machine): its reps must not be lost
                await asyncio.wait_for(asyncio.shield(self._pump_task), 60.0)
            except (TimeoutError, Exception):  # noqa: BLE001
                self._pump_task.cancel()
                try:
                    await self._pump_task
                except (asyncio.CancelledError, Exception):
                    logger.debug("session pipeline cancelled at close", exc_info=True)
        if self._sync_task is not None:
            self._sync_task.cancel()
        reps = self.final_reps()
        summary = _summary(reps)
        self._emit(ev.SessionEnded(t=self.last_t, rep_count=len(reps), summary=summary))
        me = asyncio.current_task()
        pending = [t for t in self._tasks if t is not me]
        if pending:
            await asyncio.wait(pending, timeout=2.0)
        if self._writer is not None:
            self._writer.close(rep_count=len(reps))
        self._channel.close()

    # ------------------------------------------------------------------ consuming
    async def events(self) -> AsyncIterator[ev.SessionEvent]:
        """Every event in order until the session ends (:class:`SessionEnded` last): a
        replay ends by itself, a live session when :meth:`close` is called (from another
        task, a callback, or by leaving the ``async with`` block)."""
        if self._channel is None:
            raise ConfigurationError("start the session first (async with Session(...) as session)")
        while True:
            try:
                yield await self._channel.get()
            except EOFError:
                return

    @property
    def reps(self) -> list[Any]:
        """Reps counted so far (as reported live)."""
        return list(self.pipeline.reps) if self.pipeline is not None else []

    def final_reps(self) -> list[Any]:
        """Reps with their extremes over the whole movement (see :meth:`Pipeline.final_reps`)."""
        return self.pipeline.final_reps() if self.pipeline is not None else []

    @property
    def calibration(self) -> Any:
        """The sensor-to-segment calibration in use (None until :class:`CalibrationDone`)."""
        return self._calibration

    @property
    def dropped_events(self) -> int:
        return self._channel.total_dropped if self._channel is not None else 0

    @property
    def mid_rep(self) -> bool:
        """True while a repetition is in progress (do not stop a set now)."""
        c = self.pipeline.counter if self.pipeline is not None else None
        if c is None:
            return False
        return c.diagnostics.phase in ("out", "back")


def _summary(reps: list[Any]) -> dict[str, Any]:
    if not reps:
        return {"rep_count": 0}
    roms = [r.rom_deg for r in reps]
    return {
        "rep_count": len(reps),
        "rom_mean_deg": round(sum(roms) / len(roms), 2),
        "rom_max_deg": round(max(roms), 2),
        "min_deg": round(min(r.min_deg for r in reps), 2),
        "max_deg": round(max(r.max_deg for r in reps), 2),
        "duration_mean_s": round(sum(r.duration_s for r in reps) / len(reps), 3),
        "flagged": sum(1 for r in reps if int(r.flags)),
    }


def _has_loop() -> bool:
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False
