"""``motiontrack.Session``: the live driver of the exercise engine, as an async context manager.

The session opens a source (Bluetooth sensors, virtual sensors, or a recording replayed),
feeds each block of samples to :class:`motiontrack.exercise.ExerciseEngine` as it arrives
(off the event loop, so notifications keep flowing), records what it receives, and hands
the engine's events to the application. Everything that turns samples into angles and reps
is the engine's, the same one :func:`motiontrack.analyze` runs.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import inspect
import json
import logging
import math
import os
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, Self

from .. import calibration as scal
from .. import events as ev
from .._kernels import _jit
from ..errors import ConfigurationError
from ..exercise import ExerciseEngine, ExerciseSettings
from ..exercise.regions import REGION_EXERCISES, check_placement
from ..kinematics import SegmentCalibration
from ..recording import RecordingWriter
from ..reps import Rep, Template
from ..transport import (
    BleOptions,
    BufferOverflow,
    Gap,
    LinkEvent,
    LinkState,
    ReplaySource,
    SampleBatch,
    open_source,
)
from . import _warm
from ._channel import Channel
from ._lsl import LslOutlets
from ._templates import LiveTemplates

logger = logging.getLogger(__name__)

__all__ = ["Session"]

Callback = Callable[[ev.SessionEvent], Any]
#: Sensor calibrations by sensor name, or the path of a calibration JSON file.
SensorCalibrations = Mapping[str, scal.SensorCalibration] | str | os.PathLike[str]


class Session:
    """Live tracking of a joint (or one segment): sensors in, typed events out.

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
        ``"seated_knee_extension"``, ``"heel_slide"``, ...), or a body-region exercise
        (:data:`motiontrack.exercise.regions.REGION_EXERCISES`: ``"trunk_flexion"``,
        ``"shoulder_abduction"``, ...): then ``sensors`` is the placement map, keyed by segment
        (``{"chest": "ble:..", "upper_arm": "sim:upper_arm"}``), checked before streaming
        (:class:`~motiontrack.exercise.regions.PlacementError`); ``joint`` is ignored.
    calibration : SegmentCalibration, optional
        A known sensor-to-segment calibration; otherwise the session calibrates itself
        along the session protocol (docs/session-protocol.md), prompting with
        ``CalibrationPrompt`` events ``step="still"`` (stand still with the legs straight:
        0° of flexion), ``"move"`` (take the exercise position, keep still a second,
        exercise), ``"warning"`` (the patient started in the exercise posture: its nominal
        angle is assumed), then ``CalibrationDone``; reps made meanwhile are counted once it
        is done, from the first rest in the exercise posture.
    record_to : str or Path, optional
        Record raw packets, samples, calibration and events to this ``.mtrec`` file (0600).
    replay_speed : float
        For ``replay:`` sources: 1 = real time, 0 = as fast as possible.
    settings : ExerciseSettings, optional
        The same settings :func:`motiontrack.analyze` takes.
    ble_options : motiontrack.transport.BleOptions, optional
    sensor_calibration : mapping or path, optional
        Sensor calibrations (:class:`motiontrack.calibration.SensorCalibration` per sensor
        name, or their JSON file) applied to every block before fusion; recorded with the
        session. Replays apply the ones stored in the recording when none is given.
    queue_size : int
        Events buffered for a slow consumer before angle updates are dropped (counted).
    max_pending_callbacks : int
        ``async`` callbacks in flight before further ones are dropped (counted).
    resume : str, optional
        An engine state saved by :meth:`snapshot`: counting continues where it stopped
        (same sensors and options).
    lsl : bool
        Publish Lab Streaming Layer outlets (raw IMU per sensor, orientations, angles, rep
        markers; :mod:`motiontrack.session._lsl`, needs ``motiontrack[lsl]``), created
        when the session starts; :attr:`lsl` holds them.
    templates : sequence of Template or path, optional
        Also count the reps of these templates (one sensor's; issue 15), reported as
        :class:`~motiontrack.events.TemplateRepCompleted` at most ``max_delay_s + slack_s``
        (0.35 s) of stream time after each rep's end.

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
        if not sensors:
            raise ConfigurationError("a session needs at least one sensor")
        if queue_size < 8 or max_pending_callbacks < 1:
            raise ConfigurationError("queue_size must be >= 8 and max_pending_callbacks >= 1")
        self.settings = settings or ExerciseSettings()
        if exercise in REGION_EXERCISES and segment is None:  # what is worn where, checked now
            check_placement(exercise, list(sensors))
        self.sources = dict(sensors)
        self.joint = None if segment is not None else joint
        if exercise in REGION_EXERCISES and segment is None:
            self.joint = REGION_EXERCISES[exercise].region
        self._engine_args: dict[str, Any] = {
            "joint": self.joint,
            "proximal": proximal,
            "distal": distal,
            "segment": segment,
            "exercise": exercise,
            "calibration": calibration,
            "settings": self.settings,
        }
        if lsl:  # the orientation outlet needs the engine's orientations
            self._engine_args["orientations"] = True
        self._lsl_wanted = lsl
        self.lsl: LslOutlets | None = None
        self.exercise = exercise
        self.record_to = record_to
        self.queue_size = queue_size
        self.max_pending_callbacks = max_pending_callbacks
        self._resume = resume
        self._template_args = list(templates or [])  # issue 15: counted beside the engine
        self.templates: LiveTemplates | None = None
        self._writer: RecordingWriter | None = None
        self._perf0 = time.perf_counter()
        self.source = open_source(
            self.sources,
            options=ble_options,
            raw_tap=self._on_raw if record_to is not None else None,
            replay_speed=replay_speed,
            recover=recover,
            mag=self.settings.magnetometer,  # 9D: the sensors must be asked for it
        )
        self.sensor_calibration = self._load_sensor_calibration(sensor_calibration)
        self.engine: ExerciseEngine | None = None
        self._channel: Channel | None = None
        self._callbacks: list[tuple[Callback, tuple[type, ...]]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pump_task: asyncio.Task[None] | None = None
        # one worker thread for the engine and one for the recorder's syncs: blocks are
        # processed in order, and a burst (a backlog after a reconnection) does not spawn
        # threads (each new thread can cost a malloc arena of its own)
        self._worker: concurrent.futures.ThreadPoolExecutor | None = None
        self._io: concurrent.futures.ThreadPoolExecutor | None = None
        self._sync_task: asyncio.Task[None] | None = None
        self._done: asyncio.Event | None = None
        self.dropped_callbacks = 0
        self.counts: collections.Counter[str] = collections.Counter()
        self._stopping = False
        self._closing: asyncio.Event | None = None
        self.last_t = 0.0
        self._calibration: SegmentCalibration | None = calibration

    def _load_sensor_calibration(self, given: SensorCalibrations | None) -> dict[str, Any]:
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
        (references kept; beyond ``max_pending_callbacks`` in flight they are dropped and
        counted in :attr:`dropped_callbacks`). Returns ``callback`` (usable as a decorator).
        """
        self._callbacks.append((callback, tuple(event_types) or (ev.SessionEvent,)))
        return callback

    def _dispatch(self, event: ev.SessionEvent) -> None:
        for cb, types in self._callbacks:
            if not isinstance(event, types):
                continue
            try:
                if inspect.iscoroutinefunction(cb):
                    if len(self._tasks) >= self.max_pending_callbacks:
                        self.dropped_callbacks += 1
                        continue
                    self._keep(asyncio.get_running_loop().create_task(cb(event)))
                else:
                    res = cb(event)
                    if inspect.isawaitable(res):
                        self._keep(asyncio.ensure_future(res))
            except Exception:
                logger.exception("session callback %r failed", cb)

    def _keep(self, task: asyncio.Future[Any]) -> None:
        self._tasks.add(task)  # type: ignore[arg-type]
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Future[Any]) -> None:
        self._tasks.discard(task)  # type: ignore[arg-type]
        if not task.cancelled() and task.exception() is not None:
            logger.error("async session callback failed", exc_info=task.exception())

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Compile the kernels it needs (first run), connect/open the source, start streaming and
        processing."""
        self._done = asyncio.Event()
        self._channel = Channel(self.queue_size)
        # (a first run: the engine runs the kernels still compiling as Python, _warm)
        self._worker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="motiontrack-engine",
                                                             initializer=_jit.interpret_pending)
        self._io = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="motiontrack-recorder")
        # first run: the filter's streaming kernels compile while the sensors connect; the
        # calibration's and the rep counter's on a background thread while streaming (_warm)
        method = self.settings.fusion_method
        await asyncio.gather(self._run(_warm.foreground, method), self.source.open())
        _warm.start_background(method)
        rates = self.source.rates()
        self.engine = ExerciseEngine(
            rates, sensor_calibration=self.sensor_calibration, **self._engine_args
        )
        if self._template_args:
            self.templates = LiveTemplates(self._template_args, rates)
        if self._resume is not None:
            self.engine.restore(self._resume)
        if self._lsl_wanted:
            e = self.engine
            self.lsl = LslOutlets(rates, e.ref, e.partner, e.joint, e.fs)
            self.on(self.lsl.on_event)
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
        loop = asyncio.get_running_loop()
        self._pump_task = loop.create_task(self._pump())
        if self._writer is not None:
            self._sync_task = loop.create_task(self._sync_loop())

    def _open_writer(self, rates: dict[str, float]) -> None:
        meta = {"joint": self.joint, "exercise": self.exercise, "sources": self.sources}
        self._writer = w = RecordingWriter(self.record_to, meta=meta)  # type: ignore[arg-type]
        for name in self.source.names:
            info = self.source.sensor_info(name)
            config = info.pop("config", None)
            if isinstance(config, str):
                config = bytes.fromhex(config)
            info.pop("config_hex", None)
            address = str(info.pop("address", ""))
            w.add_sensor(name, fs=rates[name], address=address, config=config, **info)
        for name, cal in self.sensor_calibration.items():  # samples are recorded as received
            w.write_calibration(scal.calibration_record(name, cal))

    def _on_raw(self, sensor: str, payload: bytes, at: float) -> None:
        if self._writer is not None and not self._writer.closed:
            self._writer.write_packet(sensor, payload, host_time_s=at - self._perf0)

    async def _sync_loop(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            if self._writer is None or self._writer.closed:
                return
            await asyncio.get_running_loop().run_in_executor(self._io, self._writer.maybe_sync)

    def _host_time(self, b: SampleBatch) -> float:
        """The batch's arrival on the session's host clock (s since the session started, as
        recorded); NaN for a source without host times (a CSV replay)."""
        if self.source.live:
            return float(b.received_at) - self._perf0
        return float(b.received_at)  # the recording's host time already (NaN: none)

    async def _pump(self) -> None:
        assert self.engine is not None
        live = bool(self.source.live)
        try:
            # after close() the source stops streaming and its events end once what it had
            # buffered is delivered: keep going until then, so no received sample is lost
            async for tev in self.source.events():
                if isinstance(tev, SampleBatch):
                    await self._on_batch(tev, live)
                elif isinstance(tev, Gap):
                    if live:  # replays: the engine finds the holes in the data itself
                        self.engine.note_gap_cause(tev.sensor, tev.cause.value)
                elif isinstance(tev, LinkEvent):
                    self._on_link(tev)
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
            for e in self.engine.finish() + (self.templates.finish() if self.templates else []):
                self._emit(e)
            assert self._done is not None
            self._done.set()
            if not self._stopping:  # the source ended (a replay): end the session
                self._keep(asyncio.get_running_loop().create_task(self.close()))

    async def _on_batch(self, b: SampleBatch, live: bool) -> None:
        assert self.engine is not None
        self.counts["samples"] += b.n_samples
        host = self._host_time(b)
        if self.lsl is not None:
            self.lsl.on_batch(b, live)
        if self._writer is not None:
            self._writer.write_samples(
                b.sensor, b.t, b.acc, b.gyr, b.mag, host_time_s=host
            )  # NaN: no host clock
        try:  # processing off the event loop: notifications keep flowing meanwhile
            out = await self._run(self._process, b, host, live)
        except Exception:
            # one bad block must not end a live session: report it as a gap
            logger.exception("processing a block of %s failed", b.sensor)
            self.counts["processing_errors"] += 1
            out = [
                ev.DataGap(
                    t=self.last_t,
                    sensor=b.sensor,
                    start_s=float(b.t[0]),
                    end_s=float(b.t[-1]),
                    missing_samples=b.n_samples,
                    cause="processing_error",
                )
            ]
        for e in out:
            self._emit(e)

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` on the session's engine thread."""
        return await asyncio.get_running_loop().run_in_executor(self._worker, fn, *args)

    def _process(self, b: SampleBatch, host: float, live: bool) -> list[ev.SessionEvent]:
        assert self.engine is not None
        out = self.engine.feed(b.sensor, b.t, b.acc, b.gyr, b.mag, host)
        if self.templates is not None:
            out += self.templates.feed(b.sensor, b.t, b.acc, b.gyr)
        if live and math.isfinite(host):  # stop waiting for a partner that went silent
            out += self.engine.expire(host)
        return out

    def _on_link(self, tev: LinkEvent) -> None:
        if tev.state == LinkState.DISCONNECTED:
            self._emit(ev.SensorDisconnected(t=self.last_t, sensor=tev.sensor, detail=tev.detail))
        elif tev.state == LinkState.RECONNECTED:
            self._emit(
                ev.SensorReconnected(t=self.last_t, sensor=tev.sensor, attempts=tev.attempts)
            )
        elif tev.state == LinkState.GAVE_UP:
            self._emit(
                ev.SensorDisconnected(
                    t=self.last_t, sensor=tev.sensor, detail="gave up reconnecting"
                )
            )

    def _emit(self, event: ev.SessionEvent) -> None:
        self.counts[type(event).__name__] += 1
        if isinstance(event, ev.CalibrationDone):
            self._calibration = event.calibration
        self.last_t = max(self.last_t, float(event.t))
        w = self._writer
        if (
            w is not None
            and not w.closed
            and not isinstance(event, (ev.AngleUpdate, ev.OrientationUpdate))
        ):
            try:
                w.write_event(ev.event_to_dict(event))
                if isinstance(event, ev.CalibrationDone):
                    w.write_calibration(
                        {"kind": "segment", **json.loads(event.calibration.to_json())}
                    )
            except Exception:
                logger.exception("could not record event")
        if self._channel is not None:
            self._channel.put(event)
        self._dispatch(event)

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait until the source ends (replays) or ``timeout`` s pass; True if it ended."""
        if self._done is None:
            raise ConfigurationError("start the session first")
        try:
            await asyncio.wait_for(self._done.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def close(self) -> None:
        """Stop streaming, finish processing, emit :class:`SessionEnded`, close the file."""
        if self._channel is None or self._channel.closed:
            return
        if self._closing is not None:  # closing already (the source ended as the app left
            await self._closing.wait()  # ``async with``): one SessionEnded, wait for it
            return
        self._closing = asyncio.Event()
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
        cut = self.engine.interrupted if self.engine is not None else []
        faulty = ([n for n, s in self.engine.streams.items() if s.tilt.disagrees]
                  if self.engine is not None else [])
        self._emit(ev.SessionEnded(t=self.last_t, rep_count=len(reps),
                                   summary=summary(reps, cut, faulty)))
        me = asyncio.current_task()
        pending = [t for t in self._tasks if t is not me]
        if pending:
            await asyncio.wait(pending, timeout=2.0)
        if self._writer is not None:
            self._writer.close(rep_count=len(reps))
        for pool in (self._worker, self._io):
            if pool is not None:
                pool.shutdown(wait=False)
        self._channel.close()
        self._closing.set()

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
    def reps(self) -> list[Rep]:
        """Reps counted so far (as reported live)."""
        return list(self.engine.reps) if self.engine is not None else []

    def final_reps(self) -> list[Rep]:
        """Reps with their extremes over the whole movement
        (:meth:`motiontrack.exercise.ExerciseEngine.final_reps`)."""
        return self.engine.final_reps() if self.engine is not None else []

    @property
    def interrupted_reps(self) -> list[Rep]:
        """Reps cut by a data gap so far (:class:`motiontrack.events.RepInterrupted`): seen,
        not counted."""
        return list(self.engine.interrupted) if self.engine is not None else []

    def snapshot(self) -> str:
        """The engine's state (JSON) to resume counting after an app restart (``resume=``)."""
        if self.engine is None:
            raise ConfigurationError("start the session first")
        return self.engine.snapshot()

    @property
    def calibration(self) -> SegmentCalibration | None:
        """The sensor-to-segment calibration in use (None until :class:`CalibrationDone`)."""
        return self._calibration

    @property
    def dropped_events(self) -> int:
        return self._channel.total_dropped if self._channel is not None else 0

    @property
    def mid_rep(self) -> bool:
        """True while a repetition is in progress (do not stop a set now)."""
        return self.engine is not None and self.engine.mid_rep


def summary(reps: list[Rep], interrupted: list[Rep] | None = None,
            faulty: list[str] | None = None) -> dict[str, Any]:
    """The ``SessionEnded`` summary of the counted reps (and of those cut by gaps; with
    ``faulty_sensors`` when a sensor's gyroscope and accelerometer disagreed, as
    ``AnalysisResult.faulty_sensors``: its angles and these reps are not to be trusted)."""
    cut = {"interrupted_reps": len(interrupted)} if interrupted else {}
    if faulty:
        cut["faulty_sensors"] = list(faulty)
    if not reps:
        return {"rep_count": 0, **cut}
    roms = [r.rom_deg for r in reps]
    return {
        "rep_count": len(reps),
        **cut,
        "rom_mean_deg": round(sum(roms) / len(roms), 2),
        "rom_max_deg": round(max(roms), 2),
        "min_deg": round(min(r.min_deg for r in reps), 2),
        "max_deg": round(max(r.max_deg for r in reps), 2),
        "duration_mean_s": round(sum(r.duration_s for r in reps) / len(reps), 3),
        "flagged": sum(1 for r in reps if int(r.flags)),
    }
